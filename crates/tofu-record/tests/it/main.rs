//! The transcript contract: the committed JSON Schema is the one the types generate, a
//! golden transcript (tests/fixtures) still parses, re-serializes to the same bytes, and
//! its signature verifies — so a format change cannot slip in unnoticed.

use std::path::Path;

mod properties;

use tofu_record::{io, key, sign};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn committed_schema_matches_the_types() {
    let committed = std::fs::read_to_string(root().join("docs/transcript.schema.json")).unwrap();
    assert!(
        committed == tofu_record::json_schema(),
        "docs/transcript.schema.json is stale: run `cargo xtask codegen`"
    );
}

#[test]
fn golden_transcript_is_canonical_and_its_signature_verifies() {
    let path = root().join("tests/fixtures/run-direct.json");
    let (transcript, bytes) = io::read(&path).unwrap();
    assert_eq!(io::to_canonical_json(&transcript), bytes);
    let operator = key::load_public_key(&root().join("tests/fixtures/operator.pub")).unwrap();
    assert_eq!(sign::signer_key(&transcript).unwrap(), operator);
    let verified = sign::verify_file(&transcript, &path, &bytes, &operator).unwrap();
    assert_eq!(verified.key_id, transcript.signer.key_id);

    // One changed byte anywhere breaks the signature.
    let mut tampered = bytes.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    let sig = std::fs::read_to_string(sign::signature_path(&path)).unwrap();
    assert!(sign::verify(&transcript, &tampered, &sig, &operator).is_err());
}

#[test]
fn sign_and_verify_round_trip_and_the_comment_binds_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (mut transcript, _) = io::read(&root().join("tests/fixtures/run-direct.json")).unwrap();
    let signing = key::SigningKey::generate().unwrap();
    transcript.signer.public_key = signing.public().to_base64();
    transcript.signer.key_id = signing.key_id();
    let bytes = io::to_canonical_json(&transcript);
    let path = dir.path().join("run.json");
    io::write_atomic(&path, &bytes, false).unwrap();
    sign::sign_file(&signing, &transcript, &path, &bytes, false).unwrap();
    let (read_back, read_bytes) = io::read(&path).unwrap();
    sign::verify_file(&read_back, &path, &read_bytes, signing.public()).unwrap();

    // The same bytes presented as another run: the trusted comment no longer matches.
    let mut other = read_back.clone();
    other.run.id = "0".repeat(32);
    assert!(matches!(
        sign::verify_file(&other, &path, &read_bytes, signing.public()),
        Err(tofu_record::VerifyError::CommentMismatch { .. })
    ));
}

#[test]
fn structural_rules_are_enforced() {
    let path = root().join("tests/fixtures/run-direct.json");
    let (t, _) = io::read(&path).unwrap();
    let mut dup = t.clone();
    dup.artifacts.push(dup.artifacts[0].clone());
    assert!(dup.check().unwrap_err().0.contains("appears twice"));
    let mut both = t.clone();
    both.artifacts[0].error = Some(tofu_record::ArtifactError {
        code: tofu_record::ErrorCode::Connect,
        message: "y".into(),
        causes: Vec::new(),
    });
    assert!(both.check().is_err());
    let mut bad_digest = t.clone();
    bad_digest.artifacts[0].content.as_mut().unwrap().sha256 = "ABC".into();
    assert!(bad_digest.check().is_err());
}

/// What is wrong with bytes that do not parse is named by the first thing wrong in the order
/// syntax, format id, shape: a complete transcript of another format is that format, not a
/// shape error; a syntax error anywhere wins over a shape error before it.
#[test]
fn parse_errors_name_syntax_then_format_then_shape() {
    let path = root().join("tests/fixtures/run-direct.json");
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let named = |text: &str| io::parse(Path::new("x.json"), text.as_bytes()).unwrap_err();
    let current = format!("\"format\": \"{}\"", tofu_record::FORMAT);
    assert!(
        text.contains(&current),
        "the golden transcript names its format"
    );

    // The whole shape, with another format id.
    let other = text.replacen(&current, "\"format\": \"tofu-transcript/9\"", 1);
    let err = named(&other);
    assert!(
        matches!(err, tofu_record::ReadError::UnknownFormat { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("tofu-transcript/9"), "{err}");

    // An unknown field first, a syntax error at the very end: the syntax error is named.
    let inner = text
        .trim()
        .strip_prefix('{')
        .unwrap()
        .strip_suffix('}')
        .unwrap();
    let both = format!("{{\"bogus\":1,{inner}");
    let err = named(&format!("{both},]"));
    assert!(
        matches!(err, tofu_record::ReadError::Malformed { .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("bogus"), "{err}");

    // The right format and syntax, the wrong shape: the shape error, at its place.
    let err = named(&format!("{both}}}"));
    assert!(err.to_string().contains("bogus"), "{err}");
    assert!(
        matches!(err, tofu_record::ReadError::Malformed { line: 1, .. }),
        "{err}"
    );
}
