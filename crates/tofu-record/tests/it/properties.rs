//! Transcript reading over hostile input: arbitrary bytes, arbitrary JSON, and the golden
//! transcript with any one value replaced or removed. Never a panic; every refusal is a typed
//! error that names the file (and, for JSON errors, a line and column that exist); whatever
//! is accepted keeps the model's rules, and its canonical bytes are a fixed point.

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;
use tofu_record::{ReadError, io};

fn golden() -> Value {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/run-direct.json"
    ));
    let bytes = std::fs::read(path).expect("the golden transcript is in tests/fixtures");
    serde_json::from_slice(&bytes).expect("the golden transcript is JSON")
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::from),
        Just(Value::from("tofu-transcript/1")),
        Just(Value::from("ab".repeat(32))),
        Just(Value::from("2026-11-22T05:18:00Z")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every path (object keys and array indexes) in `value`.
fn paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                prefix.push(k.clone());
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                prefix.push(i.to_string());
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// The golden transcript with the value at one path replaced (Some) or removed (None).
fn mutated() -> impl Strategy<Value = Value> {
    let base = golden();
    let mut all = Vec::new();
    paths(&base, &mut Vec::new(), &mut all);
    (proptest::sample::select(all), proptest::option::of(json())).prop_map(move |(path, new)| {
        let mut doc = base.clone();
        let (last, parents) = path.split_last().expect("paths are not empty");
        let mut at = &mut doc;
        for key in parents {
            at = match at {
                Value::Array(items) => &mut items[key.parse::<usize>().expect("an index")],
                other => &mut other[key.as_str()],
            };
        }
        match (at, new) {
            (Value::Object(map), None) => {
                map.remove(last);
            }
            (Value::Object(map), Some(v)) => {
                map.insert(last.clone(), v);
            }
            (Value::Array(items), new) => {
                let i = last.parse::<usize>().expect("an index");
                match new {
                    Some(v) => items[i] = v,
                    None => {
                        items.remove(i);
                    }
                }
            }
            _ => unreachable!("a path's parent is an object or an array"),
        }
        doc
    })
}

/// Checks what any outcome of `io::parse` must hold.
fn judge(bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = Path::new("run.json");
    match io::parse(path, bytes) {
        Ok(t) => {
            prop_assert!(t.check().is_ok());
            let canonical = io::to_canonical_json(&t);
            let again = io::parse(path, &canonical).expect("canonical bytes parse");
            prop_assert_eq!(&again, &t);
            prop_assert_eq!(io::to_canonical_json(&again), canonical);
        }
        Err(e) => {
            prop_assert!(e.to_string().starts_with("run.json"), "{}", e);
            if let ReadError::Malformed { line, column, .. } = e {
                // A place inside the bytes: an existing line, and a column no further than
                // one past its end (serde_json counts 0 for "before the first character").
                let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
                prop_assert!(
                    line >= 1 && line <= lines.len().max(1),
                    "line {} of {}",
                    line,
                    lines.len()
                );
                let width = lines.get(line - 1).map_or(0, |l| l.len());
                prop_assert!(column <= width + 1, "column {} of {}", column, width);
            }
        }
    }
    Ok(())
}

proptest! {
    /// Arbitrary bytes.
    #[test]
    fn any_bytes_are_a_transcript_or_a_typed_error(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        judge(&bytes)?;
    }

    /// Arbitrary JSON documents.
    #[test]
    fn any_json_is_a_transcript_or_a_typed_error(doc in json()) {
        judge(&serde_json::to_vec(&doc).unwrap())?;
    }

    /// The golden transcript with one value replaced or removed: usually refused, and when
    /// accepted, canonical.
    #[test]
    fn a_changed_transcript_is_refused_or_canonical(doc in mutated()) {
        judge(&serde_json::to_vec_pretty(&doc).unwrap())?;
    }

    /// Cut short anywhere: refused, with a position inside the bytes.
    #[test]
    fn a_cut_transcript_is_refused(cut in 0usize..4096) {
        let bytes = serde_json::to_vec_pretty(&golden()).unwrap();
        let cut = cut.min(bytes.len().saturating_sub(2));
        prop_assert!(io::parse(Path::new("run.json"), &bytes[..cut]).is_err());
        judge(&bytes[..cut])?;
    }
}
