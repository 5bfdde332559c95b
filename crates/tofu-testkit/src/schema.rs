//! The commands' `--json` documents against their committed schemas (`docs/json/`): a
//! document a command prints must be valid under the schema the project publishes for it.

use std::path::PathBuf;

/// The committed schema `docs/json/NAME.schema.json`, parsed.
pub fn committed(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/json")
        .join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every way `document` breaks the committed schema `name`, one line each; empty when it is
/// valid.
pub fn violations(name: &str, document: &serde_json::Value) -> Vec<String> {
    let schema = committed(name);
    let validator = jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("docs/json/{name}.schema.json is no usable schema: {e}"));
    validator
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
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/json");
    let name = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| {
            let file = entry.ok()?.file_name().to_string_lossy().into_owned();
            file.strip_suffix(".schema.json").map(str::to_owned)
        })
        .find(|name| committed(name)["properties"]["format"]["const"] == format)
        .unwrap_or_else(|| panic!("no schema in docs/json/ is for format {format:?}:\n{text}"));
    assert_conforms(&name, text)
}
