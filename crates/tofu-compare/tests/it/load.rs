//! The trust policy as a library user meets it: transcripts written and signed here from the
//! golden fixture, then loaded with and without pinned keys.

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

fn pinned(key: &SigningKey) -> Trust {
    Trust {
        keys: vec![key.public().clone()],
        allow_unsigned: false,
    }
}

#[test]
fn a_signature_counts_for_who_made_it_only_with_a_pinned_key() {
    let runs = Runs::new();
    let path = runs.run("run1.json", 1, |_| {});
    let key_id = runs.key.key_id();

    let run = load_run(&path, &Trust::default()).expect("loads");
    assert_eq!(
        run.signature,
        Signature::SelfNamed {
            key_id: key_id.clone()
        }
    );
    let run = load_run(&path, &pinned(&runs.key)).expect("loads");
    assert_eq!(
        run.signature,
        Signature::Pinned {
            key_id: key_id.clone()
        }
    );
    assert_eq!(run.input().signed_by.as_deref(), Some(key_id.as_str()));

    let stranger = SigningKey::generate().expect("a key");
    match load_run(&path, &pinned(&stranger)) {
        Err(LoadError::Untrusted { key_id: named, .. }) => assert_eq!(named, key_id),
        other => panic!("a run by an unpinned key was let in: {other:?}"),
    }
}

#[test]
fn an_unsigned_run_is_let_in_only_when_allowed_and_said_so() {
    let runs = Runs::new();
    let signed = runs.run("run1.json", 1, |_| {});
    let second = runs.unsigned("run2.json", 2);
    let third = runs.unsigned("run3.json", 3);
    let paths = [third.clone(), signed, second.clone()];

    match load_runs(&paths, &Trust::default(), false) {
        Err(LoadError::Unsigned { path, .. }) => assert_eq!(path, third),
        other => panic!("an unsigned run was let in: {other:?}"),
    }
    let allow = Trust {
        allow_unsigned: true,
        ..Trust::default()
    };
    let loaded = load_runs(&paths, &allow, false).expect("loads");
    assert_eq!(loaded.runs[0].signed_by(), None);
    // In the order of the runs, then the one about the self-named keys.
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
            Warning::SelfNamedKeys,
        ]
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
    let first = runs.run("run1.json", 1, |_| {});
    let again = runs.run("again.json", 1, |_| {});
    let other = runs.run("run2.json", 2, |_| {});
    let error = load_runs(
        &[first.clone(), other.clone(), again],
        &Trust::default(),
        false,
    )
    .expect_err("refused");
    assert!(matches!(error, LoadError::SameRun { .. }), "{error}");

    let planned = runs.run("run3.json", 3, |t| {
        t.plan = Some(PlanRef {
            name: "keys".to_owned(),
            sha256: "cd".repeat(32),
        });
    });
    let paths = [first, other, planned];
    let error = load_runs(&paths, &Trust::default(), false).expect_err("refused");
    let message = error.to_string();
    assert!(
        message.starts_with("the runs are not of one audit: ")
            && message.contains("run1.json followed no plan, but ")
            && message.ends_with("run3.json followed plan \"keys\" (sha256 cdcdcdcdcdcd)"),
        "{message}"
    );
    assert_eq!(
        load_runs(&paths, &Trust::default(), true)
            .expect("loads")
            .runs
            .len(),
        3
    );
}
