//! Where two copies differ: two runs of a 1 GiB file, one byte flipped before the second.
//! compare must name exactly the chunk, and its byte range, that holds the flipped byte.

use std::io::{Seek, SeekFrom, Write};
use std::process::Command;

use crate::support::*;

/// 1 GiB: 1,024 chunks of 1 MiB.
const SIZE: u64 = 1 << 30;
/// The flipped byte: inside chunk 523, which spans bytes 548,405,248–549,453,823.
const FLIPPED: u64 = 548_405_248 + 12_345;

/// SHA-256 of chunk `index` (1 MiB) of `file`, by `dd | sha256sum`.
fn chunk_by_dd(file: &std::path::Path, index: u64) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "dd if='{}' bs=1M skip={index} count=1 status=none | sha256sum",
            file.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).split_whitespace().next().unwrap().to_owned()
}

#[test]
fn a_flipped_byte_in_1_gib_is_located_to_its_chunk() {
    let w = World::new();
    // A sparse file: 1 GiB of zeros that take no disk until the flipped byte is written.
    let big = w.path("www/big.bin");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(SIZE).unwrap();
    let url = w.nginx.http_url("big.bin");
    let started = std::time::Instant::now();
    assert_exit(&w.fetch("run1.json", &[], &url), 0);
    let mut file = std::fs::OpenOptions::new().write(true).open(&big).unwrap();
    file.seek(SeekFrom::Start(FLIPPED)).unwrap();
    file.write_all(&[0x01]).unwrap();
    drop(file);
    assert_exit(&w.fetch("run2.json", &[], &url), 0);
    eprintln!("two fetches of 1 GiB: {:?}", started.elapsed());

    // Each transcript holds 1,024 chunk digests; the second run's chunk 523 is what dd and
    // sha256sum make of those bytes, and its neighbours are unchanged.
    let index = FLIPPED >> 20;
    let chunks = |name: &str| fetch0(&w.read_json(name))["chunks"].clone();
    let (one, two) = (chunks("run1.json"), chunks("run2.json"));
    assert_eq!(two["size"], 1 << 20);
    assert_eq!(two["sha256"].as_array().unwrap().len(), 1024);
    assert_eq!(two["sha256"][index as usize], chunk_by_dd(&big, index));
    assert_ne!(one["sha256"][index as usize], two["sha256"][index as usize]);
    assert_eq!(
        one["sha256"][index as usize + 1],
        two["sha256"][index as usize + 1]
    );

    let start = index << 20;
    assert_eq!((start, start + (1 << 20) - 1), (548_405_248, 549_453_823));
    let out = w.compare_bytes_only(&["run1.json", "run2.json"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    let expected = "1 of 1,024 chunks differs: bytes 548,405,248–549,453,823";
    assert!(text.contains(expected), "{text}");

    let out = w.compare_bytes_only(&["--json", "run1.json", "run2.json"]);
    let report: serde_json::Value = json_of(&out);
    // Two runs, no majority: every run is odd, and the second is set against the first.
    let found = &report["artifacts"][0]["chunk_diffs"][0];
    assert_eq!(found["run"], 2);
    assert_eq!(found["reference"], 1);
    assert_eq!(found["differing"], 1);
    assert_eq!(found["chunks"], 1024);
    assert_eq!(
        found["first_range"],
        serde_json::json!([start, start + (1 << 20) - 1])
    );
    eprintln!("with the comparisons: {:?}", started.elapsed());
}
