//! Every command's `--json`: stdout is one document, valid under its committed schema in
//! docs/json/, whose facts are the command's (checked against the files and the text
//! output); stderr is for people. fetch's summary is checked against a real server in
//! `tests/it/fetch.rs`.

use tofu_testkit::schema::{assert_conforms, violations};

use crate::{Home, assert_exit, stdout};

#[test]
fn compare_and_status_documents_carry_their_verdict() {
    let home = Home::new();
    home.three_runs(|_, _| {});
    let out = home.judge("compare", &["--json"]);
    assert_exit(&out, 0);
    let report = assert_conforms("compare", &stdout(&out));
    assert_eq!(report["format"], "tofu-compare-report/1");
    assert_eq!(report["verdict"], "agree");
    assert_eq!(report["runs"].as_array().unwrap().len(), 3);

    let out = home.judge("status", &["--json"]);
    assert_exit(&out, 0);
    let status = assert_conforms("status", &stdout(&out));
    assert_eq!(status["format"], "tofu-status-report/1");
    assert_eq!(status["report"]["verdict"], "agree");

    // A disagreement is a valid document too, with its verdict and the odd run.
    home.three_runs(|n, t| {
        if n == 2 {
            let content = t.artifacts[0].content.as_mut().unwrap();
            content.sha256 = "ab".repeat(32);
            t.artifacts[0].fetches[0].content = Some(content.clone());
        }
    });
    let out = home.judge("compare", &["--json"]);
    assert_exit(&out, 1);
    let report = assert_conforms("compare", &stdout(&out));
    assert_eq!(report["verdict"], "disagree");
    assert_eq!(report["artifacts"][0]["odd_runs"], serde_json::json!([2]));
}

/// The schemas are not empty promises: a document of another version, or without a field
/// the schema requires, is refused by them.
#[test]
fn the_committed_schemas_refuse_what_they_do_not_describe() {
    let home = Home::new();
    home.three_runs(|_, _| {});
    let out = home.judge("compare", &["--json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(violations("compare", &report).is_empty());

    let mut other_version = report.clone();
    other_version["format"] = "tofu-compare-report/2".into();
    assert!(!violations("compare", &other_version).is_empty());
    let mut no_verdict = report.clone();
    no_verdict.as_object_mut().unwrap().remove("verdict");
    assert!(!violations("compare", &no_verdict).is_empty());
    let mut bad_verdict = report;
    bad_verdict["verdict"] = "probably".into();
    assert!(!violations("compare", &bad_verdict).is_empty());
    // A compare report is no status report.
    let out = home.judge("compare", &["--json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(!violations("status", &report).is_empty());
}

#[test]
fn verify_lists_every_file_with_its_signer_or_its_error() {
    let home = Home::new();
    home.three_runs(|_, _| {});
    // Run 3 changed after signing.
    let path = home.path("run3.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("2026-11-22", "2026-11-23", 1)).unwrap();
    let key = home.public_key();
    let out = home.tofu(&[
        "verify",
        "--json",
        "--trusted-key",
        key.to_str().unwrap(),
        "run1.json",
        "run2.json",
        "run3.json",
    ]);
    assert_exit(&out, 2);
    let report = assert_conforms("verify", &stdout(&out));
    assert_eq!(report["format"], "tofu-verify-report/1");
    let files = report["files"].as_array().unwrap();
    let ok: Vec<bool> = files.iter().map(|f| f["ok"].as_bool().unwrap()).collect();
    assert_eq!(ok, [true, true, false]);
    assert_eq!(files[0]["run_id"], format!("{:032x}", 1));
    assert_eq!(files[0]["signer"]["trust"], "trusted");
    assert_eq!(files[0]["signer"]["key_id"], home.key.key_id());
    let error = &files[2]["error"];
    assert!(
        error["message"].as_str().unwrap().contains("run3.json"),
        "{error}"
    );
    assert!(error["hint"].is_string(), "{error}");
    // The people's message still goes to stderr.
    assert!(
        crate::stderr(&out).contains("error: "),
        "{}",
        crate::stderr(&out)
    );
}

#[test]
fn keygen_and_trust_list_name_the_key_they_made_and_hold() {
    let home = Home::new();
    let out = home.tofu(&["keygen", "--key", "ops.key", "--json"]);
    assert_exit(&out, 0);
    let made = assert_conforms("keygen", &stdout(&out));
    assert_eq!(made["format"], "tofu-keygen-result/1");
    // The public key file holds the key the document names (minisign's second line).
    let file = std::fs::read_to_string(home.path("ops.pub")).unwrap();
    assert_eq!(file.lines().nth(1), made["public_key"].as_str());
    assert!(
        made["public_key_file"]
            .as_str()
            .unwrap()
            .ends_with("ops.pub")
    );
    let key_id = made["key_id"].as_str().unwrap();
    assert!(
        file.contains(&format!("tofu public key {key_id}")),
        "{file}"
    );

    let out = home.tofu(&["trust", "add", "ops", "ops.pub", "--json"]);
    assert_exit(&out, 0);
    let added = assert_conforms("trust-change", &stdout(&out));
    assert_eq!(added["format"], "tofu-trust-change/1");
    assert_eq!(
        (&added["change"], &added["name"], &added["key_id"]),
        (&"added".into(), &"ops".into(), &made["key_id"])
    );
    let out = home.tofu(&["trust", "list", "--json"]);
    assert_exit(&out, 0);
    let list = assert_conforms("trust-list", &stdout(&out));
    assert_eq!(list["format"], "tofu-trust-list/1");
    let keys = list["keys"].as_array().unwrap();
    // This machine's own key first, then the one added.
    assert_eq!(keys.len(), 2, "{list}");
    assert_eq!(keys[0]["own"], true);
    assert_eq!(keys[0]["key_id"], home.key.key_id());
    assert_eq!(keys[1]["name"], "ops");
    assert_eq!(keys[1]["key_id"], key_id);
    assert_eq!(keys[1]["public_key"], made["public_key"]);

    let out = home.tofu(&["trust", "remove", "ops", "--json"]);
    assert_exit(&out, 0);
    let removed = assert_conforms("trust-change", &stdout(&out));
    assert_eq!(removed["change"], "removed");
    assert_eq!(removed["public_key"], made["public_key"]);
    let out = home.tofu(&["trust", "list", "--json"]);
    let list = assert_conforms("trust-list", &stdout(&out));
    assert_eq!(list["keys"].as_array().unwrap().len(), 1, "{list}");
}

#[test]
fn an_empty_campaign_log_is_a_valid_listing() {
    let home = Home::new();
    let out = home.tofu(&["log", "--json"]);
    assert_exit(&out, 0);
    let listing = assert_conforms("log", &stdout(&out));
    assert_eq!(listing["format"], "tofu-log-listing/1");
    assert_eq!(listing["entries"], 0);
}
