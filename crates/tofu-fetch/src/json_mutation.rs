//! For property tests: JSON documents changed one value at a time, so that a parser is fed
//! inputs one edit away from valid ones.

use serde_json::Value;

/// JSON pointers to every value inside `v`.
pub(crate) fn pointers(v: &Value, here: &str, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match v {
        Value::Object(m) => m.iter().map(|(k, c)| (format!("{here}/{k}"), c)).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("{here}/{i}"), c))
            .collect(),
        _ => Vec::new(),
    };
    for (p, c) in children {
        out.push(p.clone());
        pointers(c, &p, out);
    }
}

/// Removes (None) or replaces the value at the `pick`-th pointer (modulo their number).
pub(crate) fn mutate(doc: &mut Value, pick: usize, replacement: Option<Value>) {
    let mut all = Vec::new();
    pointers(doc, "", &mut all);
    if all.is_empty() {
        return;
    }
    let target = &all[pick % all.len()];
    match replacement {
        Some(v) => {
            if let Some(slot) = doc.pointer_mut(target) {
                *slot = v;
            }
        }
        None => {
            let Some((parent, key)) = target.rsplit_once('/') else {
                return;
            };
            match doc.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(key);
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = key.parse::<usize>() {
                        a.remove(i);
                    }
                }
                _ => {}
            }
        }
    }
}
