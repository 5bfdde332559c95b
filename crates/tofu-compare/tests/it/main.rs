//! compare and status as a library user sees them.

mod load;
mod properties;

use proptest::strategy::{Strategy, ValueTree};
use serde_json::json;
use tofu_compare::{Options, Verdict};

use crate::properties::{error, inputs, transcript};

/// The case found by hand before the property test (properties.rs) existed: the only run that holds an
/// artifact (its registry answered under another host name) recorded an integrity failure.
/// compare indexed an empty list of groups and panicked.
#[test]
fn a_lone_integrity_failure_is_a_disagreement_not_a_panic() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let base = transcript()
        .new_tree(&mut runner)
        .expect("a transcript")
        .current();
    let honest = |n: u8, day: u32| {
        let mut t = base.clone();
        t.run.id = format!("{n:02x}").repeat(16);
        t.run.started_at = format!("2026-11-{day:02}T12:00:00Z")
            .parse()
            .expect("a date");
        t.artifacts.clear();
        t
    };
    let mut runs = [honest(1, 20), honest(2, 21), honest(3, 22)];
    let lone: tofu_record::Artifact = serde_json::from_value(json!({
        "id": "mirror.test/x/y:1", "content": null, "fetches": [], "openpgp": null,
        "oci": null, "homebrew": null, "error": error("blob-digest-mismatch"),
    }))
    .expect("an artifact");
    runs[2].artifacts.push(lone);
    let inputs = inputs(&runs);
    let report = tofu_compare::compare(&inputs, &Options::default());
    assert_eq!(report.verdict, Verdict::Disagree, "{:?}", report.reasons);
    let a = &report.artifacts[0];
    assert_eq!(a.odd_runs, vec![3]);
    assert_eq!(a.level.as_deref(), Some("error"));
    assert!(
        a.diffs[0].contains("+error: blob-digest-mismatch"),
        "{}",
        a.diffs[0]
    );
    assert!(tofu_compare::render_text(&report).contains("mirror.test/x/y:1"));
}
