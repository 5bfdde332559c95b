//! The JSON documents tofu's commands print with `--json`: one shape per command, each named
//! and versioned by its first field, `format` (`tofu-compare-report/1`), and each with a
//! JSON Schema generated from its types (`docs/json/*.schema.json`, kept current by
//! `cargo xtask codegen`).
//!
//! A version changes when a field is removed or renamed, or when a value changes meaning; a
//! field added leaves it as it is, so a reader must ignore fields it does not know.

use schemars::JsonSchema;
use serde::Serialize;

/// A command's `--json` output.
pub trait Document: Serialize + JsonSchema {
    /// Its name and version, the value of its `format` field: `tofu-COMMAND-THING/N`.
    const FORMAT: &'static str;
    /// The schema's file name in `docs/json/`, without `.schema.json`.
    const SCHEMA_FILE: &'static str;
}

/// The document with its `format` first.
#[derive(Serialize)]
struct Versioned<'a, T> {
    format: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

/// The document as pretty JSON with its `format` field first, and a final newline.
pub fn to_json<T: Document>(document: &T) -> String {
    let versioned = Versioned {
        format: T::FORMAT,
        body: document,
    };
    let mut text =
        serde_json::to_string_pretty(&versioned).expect("a document is plain data and serializes");
    text.push('\n');
    text
}

/// The document's JSON Schema: its types' schema, with `format` required to be exactly
/// [`Document::FORMAT`].
pub fn schema<T: Document>() -> String {
    let mut schema = serde_json::to_value(schemars::schema_for!(T)).expect("a schema serializes");
    let object = schema
        .as_object_mut()
        .expect("a struct's schema is an object");
    object.insert(
        "$id".to_owned(),
        format!("{}.schema.json", T::SCHEMA_FILE).into(),
    );
    if let Some(properties) = object.get_mut("properties").and_then(|p| p.as_object_mut()) {
        properties.insert(
            "format".to_owned(),
            serde_json::json!({
                "description": "The document's name and version; a reader refuses a version it does not know.",
                "const": T::FORMAT,
            }),
        );
    }
    let required = object
        .entry("required")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    if let Some(list) = required.as_array_mut() {
        list.insert(0, "format".into());
    }
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document for the tests.
    #[derive(Serialize, JsonSchema)]
    struct Example {
        /// A field.
        count: u32,
    }

    impl Document for Example {
        const FORMAT: &'static str = "tofu-example/1";
        const SCHEMA_FILE: &'static str = "example";
    }

    #[test]
    fn the_format_comes_first_and_the_schema_requires_it() {
        let text = to_json(&Example { count: 3 });
        assert!(
            text.starts_with("{\n  \"format\": \"tofu-example/1\",\n  \"count\": 3"),
            "{text}"
        );
        let schema: serde_json::Value = serde_json::from_str(&schema::<Example>()).unwrap();
        assert_eq!(schema["properties"]["format"]["const"], "tofu-example/1");
        assert_eq!(schema["required"][0], "format");
        assert_eq!(schema["required"][1], "count");
        assert_eq!(schema["$id"], "example.schema.json");
    }
}
