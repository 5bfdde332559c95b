//! Who signed a run decides whether it counts. The attacker here can edit transcripts and has
//! the standard `minisign` tool: they re-sign a doctored transcript with a fresh key of their
//! own in tofu's trusted-comment format, or fabricate a whole run "from another country".
//! Such runs verify with the key they name, and must still never count until the operator
//! trusts that key by name (`tofu trust add`); `tofu trust remove` undoes it.

use std::path::{Path, PathBuf};
use std::process::Command;

use tofu_record::{Transcript, io, key, sign};

use crate::campaign::campaign;
use crate::support::*;

/// The attacker's minisign key pair, made with the `minisign` tool (no password).
struct Attacker {
    public: PathBuf,
    secret: PathBuf,
}

impl Attacker {
    fn new(w: &World) -> Attacker {
        let (public, secret) = (w.path("attacker.pub"), w.path("attacker.key"));
        let minisign = tofu_testkit::require_program("minisign", "minisign");
        tofu_testkit::output::run_ok(
            Command::new(minisign)
                .args(["-G", "-W", "-p"])
                .arg(&public)
                .arg("-s")
                .arg(&secret),
        );
        Attacker { public, secret }
    }

    fn key_id(&self) -> String {
        key::key_id(&key::load_public_key(&self.public).unwrap())
    }

    /// Rewrites `path` changed by `edit`, naming the attacker's key as signer, and signs it
    /// with `minisign -S` and the trusted comment tofu writes.
    fn forge(&self, path: &Path, edit: impl FnOnce(&mut Transcript)) {
        let (mut t, _) = io::read(path).unwrap();
        edit(&mut t);
        let public = key::load_public_key(&self.public).unwrap();
        t.signer.public_key = public.to_base64();
        t.signer.key_id = key::key_id(&public);
        std::fs::write(path, io::to_canonical_json(&t)).unwrap();
        let minisign = tofu_testkit::require_program("minisign", "minisign");
        tofu_testkit::output::run_ok(
            Command::new(minisign)
                .arg("-S")
                .arg("-s")
                .arg(&self.secret)
                .arg("-m")
                .arg(path)
                .arg("-t")
                .arg(sign::trusted_comment(&t)),
        );
        assert!(minisign_verifies(path, &self.public));
    }
}

#[test]
fn a_transcript_signed_again_with_a_new_key_never_counts() {
    let w = World::new();
    let url = w.nginx.https_url("file.bin");
    for name in ["run1.json", "run2.json", "run3.json"] {
        assert_exit(&w.fetch(name, &[], &url), 0);
    }
    // This machine's own key is trusted with no step: the honest runs agree.
    let out = w.compare_bytes_only(&["run1.json", "run2.json", "run3.json"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("signed by this machine (key "),
        "{}",
        stdout(&out)
    );

    // The attacker swaps run 3's digests for those of their own file and signs it again.
    let attacker = Attacker::new(&w);
    let genuine = tool_digest_bytes(&payload());
    let evil = tool_digest_bytes(b"the attacker's file");
    attacker.forge(&w.path("run3.json"), |t| {
        for a in &mut t.artifacts {
            for content in a
                .content
                .iter_mut()
                .chain(a.fetches.iter_mut().filter_map(|f| f.content.as_mut()))
            {
                assert_eq!(content.sha256, genuine);
                content.sha256 = evil.clone();
            }
        }
    });
    let key_id = attacker.key_id();
    let out = w.compare_bytes_only(&["--json", "run1.json", "run2.json", "run3.json"]);
    // Shown, not judged: neither agreement nor a disagreement the forger could cause.
    assert_exit(&out, 3);
    let report = json_of(&out);
    assert_eq!(
        report["runs"][2]["signer"],
        serde_json::json!({"trust": "untrusted", "key_id": key_id})
    );
    assert_eq!(
        report["artifacts"][0]["cells"][2]["content"]["sha256"],
        evil
    );
    assert_eq!(report["artifacts"][0]["verdict"], "match");
    let reasons = report["reasons"].to_string();
    assert!(
        reasons.contains(&format!(
            "run #3 (run3.json) is signed by key {key_id}, which you do not trust"
        )) && reasons.contains("never from the transcript")
            && reasons.contains("tofu trust add NAME KEY.pub")
            && reasons.contains("only 2 distinct counted run(s)"),
        "{reasons}"
    );
    let out = w.compare_bytes_only(&["run1.json", "run2.json", "run3.json"]);
    assert_exit(&out, 3);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("signed by UNTRUSTED key {key_id} (not counted)")),
        "{text}"
    );
    assert!(
        stderr(&out).contains("tofu trust add NAME KEY.pub"),
        "{}",
        stderr(&out)
    );
    // Even with the run count lowered, a run nobody trusts keeps the verdict from agreement.
    let out = w.compare_bytes_only(&["--min-runs", "2", "run1.json", "run2.json", "run3.json"]);
    assert_exit(&out, 3);
    // verify fails closed on it, naming the key and the command.
    let out = w.tofu(&["verify", "run3.json"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "signed off by key {key_id}, which you do not trust"
        )) && err.contains("hint: the signature is intact"),
        "{err}"
    );
}

#[test]
fn a_fabricated_run_from_another_country_counts_only_once_trusted_by_name() {
    let w = World::new();
    // Two honest runs from two machines this operator trusts, in DE and CA.
    let runs = campaign(&w, "run", &[("127.0.1.1", 0), ("127.0.2.1", 1)]);
    // The third "from Japan, on another machine and day" is made up from the second.
    std::fs::copy(w.path(&runs[1]), w.path("run3.json")).unwrap();
    let attacker = Attacker::new(&w);
    attacker.forge(&w.path("run3.json"), |t| {
        t.run.id = "f0".repeat(16);
        t.run.started_at += chrono::Duration::days(1);
        t.run.finished_at += chrono::Duration::days(1);
        t.run.host.fingerprint = "ab".repeat(32);
        t.vantage.exit.ip = Some("127.0.3.1".to_owned());
        t.vantage.exit.country = Some("JP".to_owned());
        // The lookup after the downloads says the same, or the run would count as CA too.
        t.vantage.exit_after = Some(t.vantage.exit.clone());
    });
    let all = [runs[0].as_str(), runs[1].as_str(), "run3.json"];
    let mut args = vec!["compare", "--json"];
    args.extend(all);
    let out = w.tofu(&args);
    assert_exit(&out, 3);
    let report = json_of(&out);
    let countries = &report["rules"][3];
    assert_eq!(countries["rule"], "distinct-countries");
    assert!(
        !countries["message"].to_string().contains("#3"),
        "{countries}"
    );
    assert!(
        report["reasons"]
            .to_string()
            .contains("only 2 distinct counted run(s)"),
        "{}",
        report["reasons"]
    );
    // status asks for a third country still: JP was not counted.
    let mut args = vec!["status"];
    args.extend(all);
    let out = w.tofu(&args);
    assert_exit(&out, 3);
    let text = stdout(&out);
    assert!(
        text.contains("make 1 more run(s)") && text.contains("from a country other than CA, DE"),
        "{text}"
    );
    assert!(text.contains("run #3 (run3.json) is not counted"), "{text}");

    // Were it a real operator's run, trusting their key by name makes it count.
    let public = attacker.public.to_str().unwrap();
    let out = w.tofu(&["trust", "add", "tokyo", public]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains(&attacker.key_id()),
        "{}",
        stderr(&out)
    );
    let listed = stdout(&w.tofu(&["trust", "list"]));
    // (This home has made no run, so it has no key of its own to list.)
    assert!(
        listed.contains(&format!("tokyo  {}\n", attacker.key_id())),
        "{listed}"
    );
    let mut args = vec!["compare"];
    args.extend(all);
    let out = w.tofu(&args);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("signed by tokyo (key {})", attacker.key_id()))
            && text.contains("signed by run-0 (key ")
            && text.contains("distinct-countries  met"),
        "{text}"
    );

    // Removing it undoes that.
    assert_exit(&w.tofu(&["trust", "remove", "tokyo"]), 0);
    assert_exit(&w.tofu(&args), 3);
    assert_exit(&w.tofu(&["trust", "remove", "tokyo"]), 2);
}

#[test]
fn the_trust_store_is_read_strictly() {
    let w = World::new();
    let url = w.nginx.https_url("file.bin");
    assert_exit(&w.fetch("run1.json", &[], &url), 0);
    // This machine's key is listed, marked, with no step.
    let out = w.tofu(&["trust", "list", "--json"]);
    assert_exit(&out, 0);
    let listed = tofu_testkit::schema::assert_conforms("trust-list", &stdout(&out));
    assert_eq!(listed["keys"][0]["name"], "this machine");
    assert_eq!(listed["keys"][0]["own"], true);

    let store = w.home().join(".config/tofu/trusted-keys");
    let key = std::fs::read_to_string(w.pub_key()).unwrap();
    let base64 = key.lines().nth(1).unwrap();
    std::fs::write(&store, format!("# mine\nme {base64}\nbob\n")).unwrap();
    for args in [&["trust", "list"][..], &["verify", "run1.json"]] {
        let out = w.tofu(args);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains("trusted-keys:3: expected NAME KEY") && err.contains("hint: "),
            "{args:?}: {err}"
        );
    }
    // A name that is not plain is refused, and never reaches the terminal raw.
    std::fs::write(&store, format!("m\u{1b}[2Je {base64}\n")).unwrap();
    let err = stderr(&w.tofu(&["trust", "list"]));
    assert!(
        err.contains("trusted-keys:1: \"m\\u{1b}[2Je\" is not a usable name"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "{err}");

    // Named in the store, this machine's key shows under that name.
    std::fs::write(&store, format!("# mine\nme {base64}\n")).unwrap();
    let out = w.tofu(&["verify", "run1.json"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("signed by me (key "),
        "{}",
        stdout(&out)
    );
    let out = w.tofu(&["trust", "add", "again", w.pub_key().to_str().unwrap()]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("is already trusted as me"),
        "{}",
        stderr(&out)
    );

    // A store others may write is refused: they would choose whose runs count.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    let out = w.tofu(&["verify", "run1.json"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("can be changed by group or others (mode 666)") && err.contains("chmod go-w"),
        "{err}"
    );
}
