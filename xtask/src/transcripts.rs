//! Signed transcripts made up for the compare benchmark: three runs of N artifacts each.

use std::path::{Path, PathBuf};

use anyhow::Result;
use tofu_record::key::SigningKey;
use tofu_record::{io, sign};

/// The public key that signs the benchmark's runs, written by [`generate`]: compare must
/// trust it (`--trusted-key`), or no run would count.
pub const SIGNER_PUB: &str = "bench-signer.pub";

/// Writes three runs of `n` artifacts and three runs of one, and the signer's public key
/// ([`SIGNER_PUB`]); returns the runs' paths.
pub fn generate(dir: &Path, n: usize) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let key = SigningKey::generate()?;
    std::fs::write(
        dir.join(SIGNER_PUB),
        format!("{}\n", key.public().to_base64()),
    )?;
    let mut big = Vec::new();
    let mut small = Vec::new();
    for run in 0..3u8 {
        big.push(write_run(dir, &key, &format!("big{run}.json"), run, n)?);
        small.push(write_run(dir, &key, &format!("small{run}.json"), run, 1)?);
    }
    Ok((big, small))
}

fn write_run(dir: &Path, key: &SigningKey, name: &str, run: u8, n: usize) -> Result<PathBuf> {
    let artifacts: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let sha256 = format!("{:064x}", i);
            let sha512 = format!("{:0128x}", i);
            let content = serde_json::json!({"size": i, "sha256": sha256, "sha512": sha512});
            let url = format!("https://mirror.example/files/{i}.bin");
            serde_json::json!({
                "id": url, "content": content, "openpgp": null, "oci": null, "homebrew": null,
                "error": null,
                "fetches": [{"url": url, "content": content, "http": null, "kept_as": null, "error": null}],
            })
        })
        .collect();
    let transcript: tofu_record::Transcript = serde_json::from_value(serde_json::json!({
        "format": tofu_record::FORMAT,
        "tool": {"name": "tofu", "version": "bench"},
        "run": {
            "id": format!("{run:02x}").repeat(16), "label": null,
            "started_at": format!("2026-11-2{run}T12:00:00Z"),
            "finished_at": format!("2026-11-2{run}T12:30:00Z"),
            "host": {"os": "linux", "arch": "x86_64", "fingerprint": format!("host{run}")},
        },
        "plan": null,
        "vantage": {
            "transport": {"kind": "direct"}, "extra_roots": [], "claimed_country": null,
            "exit": {"probes": [], "ip": format!("198.51.{run}.1"), "country": null, "conflict": false},
        },
        "signer": {"public_key": key.public().to_base64(), "key_id": key.key_id()},
        "artifacts": artifacts,
    }))?;
    let path = dir.join(name);
    let bytes = io::to_canonical_json(&transcript);
    io::write_atomic(&path, &bytes, true)?;
    sign::sign_file(key, &transcript, &path, &bytes, true)?;
    Ok(path)
}
