//! The commands' `--json` documents against their committed schemas (`docs/json/`): a
//! document a command prints must be valid under the schema the project publishes for it.
//! The schemas are read and compiled once per test process.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One committed schema, compiled.
struct Committed {
    /// The `format` its documents carry.
    format: String,
    validator: jsonschema::Validator,
}

/// Every schema of `docs/json/`, by name (`compare` for `compare.schema.json`).
fn committed() -> &'static BTreeMap<String, Committed> {
    static SCHEMAS: OnceLock<BTreeMap<String, Committed>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/json");
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        entries
            .filter_map(|entry| {
                let path = entry.unwrap().path();
                let file = path.file_name()?.to_str()?.to_owned();
                let name = file.strip_suffix(".schema.json")?.to_owned();
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                let schema: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let validator = jsonschema::validator_for(&schema)
                    .unwrap_or_else(|e| panic!("docs/json/{file} is no usable schema: {e}"));
                let format = schema["properties"]["format"]["const"]
                    .as_str()
                    .unwrap_or_else(|| panic!("docs/json/{file} names no format"))
                    .to_owned();
                Some((name, Committed { format, validator }))
            })
            .collect()
    })
}

/// Every way `document` breaks the committed schema `name`, one line each; empty when it is
/// valid.
pub fn violations(name: &str, document: &serde_json::Value) -> Vec<String> {
    let schema = committed()
        .get(name)
        .unwrap_or_else(|| panic!("no docs/json/{name}.schema.json"));
    schema
        .validator
        .iter_errors(document)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect()
}

/// `text` (a command's whole stdout) parsed, after checking that it is one JSON document,
/// valid under the committed schema `name`.
pub fn assert_conforms(name: &str, text: &str) -> serde_json::Value {
    let document: serde_json::Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{text}"));
    let problems = violations(name, &document);
    assert!(
        problems.is_empty(),
        "the output breaks docs/json/{name}.schema.json:\n{}\n{text}",
        problems.join("\n")
    );
    document
}

/// `text` (a command's whole stdout) parsed, after checking that it is one JSON document
/// whose `format` names a committed schema (the one whose `format` is that constant), and
/// that it is valid under it.
pub fn assert_document(text: &str) -> serde_json::Value {
    let document: serde_json::Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{text}"));
    let format = document["format"].as_str().unwrap_or_default();
    let name = committed()
        .iter()
        .find(|(_, schema)| schema.format == format)
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| panic!("no schema in docs/json/ is for format {format:?}:\n{text}"));
    assert_conforms(&name, text)
}
