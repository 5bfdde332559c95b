//! The trust policy as a library user meets it: transcripts written and signed here from the
//! golden fixture, then loaded with and without their signer's key trusted.

use std::path::{Path, PathBuf};

use tofu_compare::{LoadError, Signature, Trust, Warning, load_run, load_runs};
use tofu_record::key::SigningKey;
use tofu_record::{PlanRef, Transcript, io, sign};

/// A directory of runs signed by one key.
struct Runs {
    dir: tempfile::TempDir,
    key: SigningKey,
}

impl Runs {
    fn new() -> Runs {
        Runs {
            dir: tempfile::tempdir().expect("a temporary directory"),
            key: SigningKey::generate().expect("a key"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes and signs run number `n` (its own run id) as `name`, changed by `edit`.
    fn run(&self, name: &str, n: u8, edit: impl FnOnce(&mut Transcript)) -> PathBuf {
        let fixture = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/run-direct.json"
        ));
        let (mut t, _) = io::read(fixture).expect("the golden fixture");
        t.run.id = format!("{n:02x}").repeat(16);
        t.signer.public_key = self.key.public().to_base64();
        t.signer.key_id = self.key.key_id();
        edit(&mut t);
        let bytes = io::to_canonical_json(&t);
        let path = self.path(name);
        io::write_atomic(&path, &bytes, false).expect("written");
        sign::sign_file(&self.key, &t, &path, &bytes, false).expect("signed");
        path
    }

    fn unsigned(&self, name: &str, n: u8) -> PathBuf {
        let path = self.run(name, n, |_| {});
        std::fs::remove_file(sign::signature_path(&path)).expect("removed");
        path
    }
}

fn trusting(name: &str, key: &SigningKey) -> Trust {
    let mut trust = Trust::default();
    trust.trust(name, key.public().clone());
    trust
}

#[test]
fn a_run_counts_only_when_a_trusted_key_signed_it() {
    let runs = Runs::new();
    let path = runs.run("run1.json", 1, |_| {});
    let key_id = runs.key.key_id();

    // The key the transcript names verifies the file, but nobody trusts it.
    let run = load_run(&path, &Trust::default()).expect("loads");
    assert_eq!(
        run.signature,
        Signature::Untrusted {
            key_id: key_id.clone()
        }
    );
    assert!(!run.input().signature.counts());
    assert!(matches!(
        run.trusted(),
        Err(LoadError::Untrusted { key_id: named, .. }) if named == key_id
    ));

    let run = load_run(&path, &trusting("alice", &runs.key)).expect("loads");
    let trusted = Signature::Trusted {
        name: "alice".to_owned(),
        key_id: key_id.clone(),
    };
    assert_eq!(run.signature, trusted);
    assert!(run.input().signature.counts());
    assert_eq!(run.trusted().expect("trusted").signature, trusted);

    // Trusting someone else changes nothing for this run; a key keeps its first name.
    let stranger = SigningKey::generate().expect("a key");
    let mut trust = trusting("bob", &stranger);
    assert_eq!(
        load_run(&path, &trust).expect("loads").signature,
        Signature::Untrusted {
            key_id: key_id.clone()
        }
    );
    trust.trust("alice", runs.key.public().clone());
    trust.trust("again", runs.key.public().clone());
    assert_eq!(trust.name_of(runs.key.public()), Some("alice"));

    // --trusted-key files are named by their stem.
    let pub_file = runs.path("carol.pub");
    std::fs::write(&pub_file, runs.key.public().to_base64()).expect("written");
    let mut trust = Trust::default();
    trust.trust_files(&[pub_file]).expect("a key file");
    assert_eq!(
        load_run(&path, &trust).expect("loads").signature,
        Signature::Trusted {
            name: "carol".to_owned(),
            key_id,
        }
    );
    let missing = runs.path("nope.pub");
    assert!(matches!(
        Trust::default().trust_files(&[missing]),
        Err(LoadError::TrustedKey(_))
    ));
}

#[test]
fn a_transcript_signed_again_by_another_key_is_untrusted_or_bad() {
    let runs = Runs::new();
    let trust = trusting("alice", &runs.key);
    // A forger edits the digests, names a fresh key of their own and signs with it.
    let forger = SigningKey::generate().expect("a key");
    let path = runs.run("run1.json", 1, |t| {
        t.run.label = Some("forged".to_owned());
    });
    let (mut t, _) = io::read(&path).expect("read");
    t.signer.public_key = forger.public().to_base64();
    t.signer.key_id = forger.key_id();
    let bytes = io::to_canonical_json(&t);
    io::write_atomic(&path, &bytes, true).expect("written");
    sign::sign_file(&forger, &t, &path, &bytes, true).expect("signed");
    assert_eq!(
        load_run(&path, &trust).expect("loads").signature,
        Signature::Untrusted {
            key_id: forger.key_id()
        }
    );
    // Naming the trusted key while signing with another is a bad signature.
    t.signer.public_key = runs.key.public().to_base64();
    t.signer.key_id = runs.key.key_id();
    let bytes = io::to_canonical_json(&t);
    io::write_atomic(&path, &bytes, true).expect("written");
    sign::sign_file(&forger, &t, &path, &bytes, true).expect("signed");
    assert!(matches!(
        load_run(&path, &trust),
        Err(LoadError::BadSignature { .. })
    ));
}

#[test]
fn an_unsigned_run_is_let_in_only_when_allowed_and_said_so() {
    let runs = Runs::new();
    let signed = runs.run("run1.json", 1, |_| {});
    let second = runs.unsigned("run2.json", 2);
    let third = runs.unsigned("run3.json", 3);
    let paths = [third.clone(), signed.clone(), second.clone()];

    let trust = trusting("alice", &runs.key);
    match load_runs(&paths, &trust, false) {
        Err(LoadError::Unsigned { path, .. }) => assert_eq!(path, third),
        other => panic!("an unsigned run was let in: {other:?}"),
    }
    let mut allow = trust;
    allow.allow_unsigned = true;
    let loaded = load_runs(&paths, &allow, false).expect("loads");
    // It names the trusted key, but nothing proves that: it is shown as unsigned.
    assert_eq!(
        loaded.runs[0].signature,
        Signature::Unsigned {
            missing: sign::signature_path(&third)
        }
    );
    assert!(loaded.runs[0].signature.counts());
    assert_eq!(loaded.runs[0].signature.to_string(), "UNSIGNED");
    // In the order of the runs.
    assert_eq!(
        loaded.warnings,
        [
            Warning::Unsigned {
                path: third.clone(),
                missing: sign::signature_path(&third),
            },
            Warning::Unsigned {
                path: second.clone(),
                missing: sign::signature_path(&second),
            },
        ]
    );
    // A run by a key nobody trusts is let in, with a warning naming its key.
    let loaded = load_runs(std::slice::from_ref(&signed), &Trust::default(), false).expect("loads");
    assert_eq!(
        loaded.warnings,
        [Warning::Untrusted {
            path: signed,
            key_id: runs.key.key_id(),
        }]
    );
    assert!(
        loaded.warnings[0]
            .to_string()
            .contains("tofu trust add NAME KEY.pub")
    );
}

#[test]
fn the_first_refusal_in_command_line_order_is_reported() {
    let runs = Runs::new();
    let good = runs.run("run1.json", 1, |_| {});
    let garbage = runs.path("garbage.json");
    std::fs::write(&garbage, "{").expect("written");
    let missing = runs.path("missing.json");
    let tampered = runs.run("run4.json", 4, |_| {});
    let text = std::fs::read_to_string(&tampered).expect("read");
    std::fs::write(&tampered, text.replace("\"label\"", " \"label\"")).expect("written");

    let order = [
        good.clone(),
        garbage.clone(),
        missing.clone(),
        tampered.clone(),
    ];
    let error = load_runs(&order, &Trust::default(), false).expect_err("refused");
    assert!(error.to_string().contains("garbage.json:1:"), "{error}");
    let order = [good.clone(), tampered.clone(), garbage];
    match load_runs(&order, &Trust::default(), false) {
        Err(LoadError::BadSignature { path, .. }) => assert_eq!(path, tampered),
        other => panic!("a changed run was let in: {other:?}"),
    }
    let order = [missing, good];
    assert!(matches!(
        load_runs(&order, &Trust::default(), false),
        Err(LoadError::Read(_))
    ));
}

#[test]
fn the_same_run_twice_and_mixed_plans_are_refused() {
    let runs = Runs::new();
    let trust = trusting("alice", &runs.key);
    let first = runs.run("run1.json", 1, |_| {});
    let again = runs.run("again.json", 1, |_| {});
    let other = runs.run("run2.json", 2, |_| {});
    let error = load_runs(
        &[first.clone(), other.clone(), again.clone()],
        &trust,
        false,
    )
    .expect_err("refused");
    assert!(matches!(error, LoadError::SameRun { .. }), "{error}");
    // Runs nobody trusts are shown, not judged: a forged copy of a run id (or of another
    // plan) signed by an unknown key does not stop the judgement of the others.
    let loaded = load_runs(
        &[first.clone(), other.clone(), again],
        &Trust::default(),
        false,
    )
    .expect("untrusted runs are not judged");
    assert_eq!(loaded.runs.len(), 3);

    let planned = runs.run("run3.json", 3, |t| {
        t.plan = Some(PlanRef {
            name: "keys".to_owned(),
            sha256: "cd".repeat(32),
        });
    });
    let paths = [first, other, planned];
    let error = load_runs(&paths, &trust, false).expect_err("refused");
    let message = error.to_string();
    assert!(
        message.starts_with("the runs are not of one audit: ")
            && message.contains("run1.json followed no plan, but ")
            && message.ends_with("run3.json followed plan \"keys\" (sha256 cdcdcdcdcdcd)"),
        "{message}"
    );
    assert_eq!(
        load_runs(&paths, &trust, true).expect("loads").runs.len(),
        3
    );
}
