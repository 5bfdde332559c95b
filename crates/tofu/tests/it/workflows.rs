//! The CI campaign files (docs/campaigns.md). The GitHub reusable workflow, and the example
//! caller pointed at it, pass actionlint and jactionlint (with shellcheck on their `run:`
//! steps) and the GitHub workflow schema; the GitLab template and its example pass the GitLab
//! CI schema; each checker fails on a broken copy, so a pass means something. The script both
//! platforms call, ci/tofu-campaign.sh, passes shellcheck and is run for real: runner
//! "machines" (homes with keys of their own) fetch from the test nginx through microsocks
//! exits in distinct countries, and the judge agrees only on what the committed keys signed,
//! one run per runner — and refuses what an attacker would hand it.
//!
//! The checkers live in `target/pytools` (`cargo xtask test` and `cargo xtask deps` install
//! them with pip); shellcheck is a Debian package like the other test programs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tofu_testkit::Microsocks;

use crate::campaign::shift_days;
use crate::support::*;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A checker installed in `target/pytools/bin`; a missing one fails the test, never skips it.
fn pytool(name: &str) -> PathBuf {
    let path = workspace().join("target/pytools/bin").join(name);
    assert!(
        path.is_file(),
        "{name} is not installed at {}: run `cargo xtask test` (or `cargo xtask deps`), which \
         installs it with pip into target/pytools",
        path.display()
    );
    path
}

/// Runs `program ARGS` in `dir`, with shellcheck required (actionlint checks `run:` steps
/// with it only when it is on the PATH).
fn run_checker(program: &Path, args: &[&str], dir: &Path) -> Output {
    tofu_testkit::require_program("shellcheck", "shellcheck");
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()))
}

#[track_caller]
fn assert_clean(out: &Output, what: &str) {
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// The files of `.github/workflows/`, relative to the workspace.
fn workflow_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(workspace().join(".github/workflows"))
        .unwrap()
        .map(|e| {
            format!(
                ".github/workflows/{}",
                e.unwrap().file_name().to_str().unwrap()
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

/// The example caller calls the reusable workflow by commit id, as a team would; here it
/// calls the workspace's own file, so that the linters check its inputs against it.
const REMOTE_CALL: &str = "tofu-3tofu/tofu/.github/workflows/tofu-campaign.yml@TOFU_COMMIT_ID";
const LOCAL_CALL: &str = "./.github/workflows/tofu-campaign.yml";

/// A scratch repository with the workflows and the example caller calling them locally,
/// each `(file, from, to)` of `edits` applied (to break a file on purpose).
fn scratch_repo(dir: &Path, edits: &[(&str, &str, &str)]) -> PathBuf {
    let root = workspace();
    let flows = dir.join(".github/workflows");
    std::fs::create_dir_all(&flows).unwrap();
    // The linters find a project's root by its .git.
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    for file in workflow_files() {
        let name = Path::new(&file).file_name().unwrap();
        std::fs::copy(root.join(&file), flows.join(name)).unwrap();
    }
    let example = std::fs::read_to_string(root.join("docs/examples/github-campaign.yml")).unwrap();
    assert!(example.contains(REMOTE_CALL), "{example}");
    let example = example.replace(REMOTE_CALL, LOCAL_CALL);
    std::fs::write(flows.join("example-campaign.yml"), example).unwrap();
    for (file, from, to) in edits {
        let path = flows.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }
    dir.to_owned()
}

#[test]
fn github_workflows_pass_actionlint_and_jactionlint() {
    let root = workspace();
    let files = workflow_files();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let lint = |program: &Path, edits: &[(&str, &str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        run_checker(program, &[], &scratch_repo(dir.path(), edits))
    };
    for linter in ["actionlint", "jactionlint"] {
        let program = pytool(linter);
        assert_clean(&run_checker(&program, &args, &root), linter);
        assert_clean(&lint(&program, &[]), linter);
        // Each fails on a broken copy: a job that needs one that does not exist, and an
        // example that passes an input the workflow does not have.
        let needs = (
            "tofu-campaign.yml",
            "needs: [prepare, fetch]",
            "needs: [prepare, nosuchjob]",
        );
        let input = (
            "example-campaign.yml",
            "      tor: true\n",
            "      tor: true\n      no-such-input: 1\n",
        );
        for (broken, named) in [(needs, "nosuchjob"), (input, "no-such-input")] {
            let out = lint(&program, &[broken]);
            assert!(
                !out.status.success() && stdout(&out).contains(named),
                "{out:?}"
            );
        }
    }
    // jactionlint's security rules guard the key isolation: a secret looked up by a computed
    // name would hand every secret to every runner's machine.
    let computed = (
        "tofu-campaign.yml",
        "${{ secrets.TOFU_SIGNING_KEY }}",
        "${{ secrets[format('TOFU_KEY_{0}', matrix.runner.name)] }}",
    );
    let out = lint(&pytool("jactionlint"), &[computed]);
    assert!(
        !out.status.success() && stdout(&out).contains("overprovisioned-secrets"),
        "{out:?}"
    );
}

/// Splits a GitLab CI file at its `---` line into the `spec:` header and the jobs, each a
/// file of its own in `dir` (the schema checker reads one document a file).
fn gitlab_documents(file: &Path, dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(file).unwrap();
    let parts: Vec<&str> = text.split("\n---\n").collect();
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let path = dir.join(format!("document-{i}.yml"));
            std::fs::write(&path, part).unwrap();
            path
        })
        .collect()
}

#[test]
fn ci_files_pass_their_schemas() {
    let root = workspace();
    let check = pytool("check-jsonschema");
    let mut github = workflow_files();
    github.push("docs/examples/github-campaign.yml".to_owned());
    let mut args = vec!["--builtin-schema", "vendor.github-workflows"];
    args.extend(github.iter().map(String::as_str));
    let out = run_checker(&check, &args, &root);
    assert_exit(&out, 0);

    let dir = tempfile::tempdir().unwrap();
    let template = root.join("ci/gitlab/tofu-campaign.gitlab-ci.yml");
    let documents = gitlab_documents(&template, dir.path());
    assert_eq!(documents.len(), 2, "a spec: header, then the jobs");
    let mut gitlab: Vec<String> = documents.iter().map(|p| p.display().to_string()).collect();
    gitlab.push(
        root.join("docs/examples/gitlab-ci.yml")
            .display()
            .to_string(),
    );
    let mut args = vec!["--builtin-schema", "vendor.gitlab-ci"];
    args.extend(gitlab.iter().map(String::as_str));
    let out = run_checker(&check, &args, &root);
    assert_exit(&out, 0);

    // A broken copy fails.
    let jobs = std::fs::read_to_string(&documents[1]).unwrap();
    let broken = dir.path().join("broken.yml");
    std::fs::write(&broken, jobs.replace("  when: always", "  when: sometimes")).unwrap();
    let args = [
        "--builtin-schema",
        "vendor.gitlab-ci",
        broken.to_str().unwrap(),
    ];
    let out = run_checker(&check, &args, &root);
    assert_exit(&out, 1);
    assert!(stdout(&out).contains("sometimes"), "{}", stdout(&out));
}

#[test]
fn the_campaign_script_passes_shellcheck() {
    let shellcheck = tofu_testkit::require_program("shellcheck", "shellcheck");
    let out = run_checker(&shellcheck, &["ci/tofu-campaign.sh"], &workspace());
    assert_clean(&out, "shellcheck");
}

/// One CI runner: a machine (its own home) with a key of its own, the secret as the CI
/// secret holds it, and an exit through microsocks from `source`.
struct Runner {
    name: &'static str,
    home: PathBuf,
    secret: String,
    proxy: Microsocks,
}

/// Makes a runner: its key pair (`tofu keygen --key …`, at the home's default key path, where
/// `shift_days` re-signs from), its public key committed to the roster `keys/NAME.pub`, and its
/// secret key as a CI secret holds it — in base64 when `base64`, as GitLab masks it.
fn runner(w: &World, name: &'static str, source: &str, base64: bool) -> Runner {
    let home = w.path(&format!("runner-{name}"));
    w.configure(&home, "");
    let key = home.join(".config/tofu/signing.key");
    assert_exit(
        &w.tofu_in(&home, &["keygen", "--key", key.to_str().unwrap()]),
        0,
    );
    let keys = w.path("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let public = home.join(".config/tofu/signing.pub");
    std::fs::copy(&public, keys.join(format!("{name}.pub"))).unwrap();
    let mut secret = std::fs::read_to_string(&key).unwrap();
    if base64 {
        let out = tofu_testkit::output::run_ok(Command::new("base64").arg("-w0").arg(&key));
        secret = stdout(&out);
    }
    let proxy = Microsocks::start(Some(source.parse().unwrap()), None);
    Runner {
        name,
        home,
        secret,
        proxy,
    }
}

/// `bash ci/tofu-campaign.sh ARGS` in the world's directory, as a CI job runs it: with `home`
/// as its home, the test's tofu as TOFU, the secret (if any) as TOFU_SIGNING_KEY, its own
/// TMPDIR, and environment proxies pointing at a dead port.
fn script(w: &World, home: &Path, secret: Option<&str>, args: &[&str]) -> Output {
    let tmp = w.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(workspace().join("ci/tofu-campaign.sh"))
        .args(args)
        .current_dir(w.dir.path())
        .env("HOME", home)
        .env("TMPDIR", &tmp)
        .env("TOFU", env!("CARGO_BIN_EXE_tofu"))
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("TOFU_SIGNING_KEY")
        .env("ALL_PROXY", "socks5h://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("https_proxy", "http://127.0.0.1:9");
    if let Some(secret) = secret {
        cmd.env("TOFU_SIGNING_KEY", secret);
    }
    cmd.output().unwrap()
}

/// The runner's fetch job: `tofu-campaign.sh fetch` of `url` into `runs/NAME.json`.
fn fetch_job(w: &World, r: &Runner, secret: Option<&str>, url: &str) -> Output {
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    let via = r.proxy.url();
    let args = [
        "fetch",
        "--name",
        r.name,
        "--via",
        &via,
        "--keys",
        "keys",
        "--out",
        "runs",
        "--",
        "--ca-cert",
        &ca,
        url,
    ];
    script(w, &r.home, secret, &args)
}

/// The judge job, from a machine of its own, over the transcripts in `runs`.
fn judge(w: &World, runs: &[&str], extra: &[&str]) -> Output {
    let mut args = vec!["judge", "--keys", "keys", "--report", "report"];
    for dir in runs {
        args.extend(["--runs", dir]);
    }
    args.extend_from_slice(extra);
    script(w, &w.path("judge-machine"), None, &args)
}

/// Three runners leaving from Germany, Canada and Japan (the test whoami's map), each of
/// which fetches `path` with its own key; one's secret is in base64.
fn three_runners(w: &World, path: &str) -> Vec<Runner> {
    let runners = vec![
        runner(w, "fra", "127.0.1.1", false),
        runner(w, "yul", "127.0.2.1", true),
        runner(w, "nrt", "127.0.3.1", false),
    ];
    let url = w.nginx.https_url(path);
    for r in &runners {
        let out = fetch_job(w, r, Some(&r.secret), &url);
        assert_exit(&out, 0);
        // The key is never printed, and no copy of it is left behind.
        for line in r.secret.lines().filter(|l| !l.starts_with("untrusted")) {
            assert!(!stdout(&out).contains(line) && !stderr(&out).contains(line));
        }
        let left: Vec<_> = std::fs::read_dir(w.path("tmp")).unwrap().collect();
        assert!(left.is_empty(), "the script left {left:?}");
    }
    runners
}

const ONE_DAY: &str = "distinct-hosts,distinct-networks,distinct-countries";

#[test]
fn runners_with_their_own_keys_agree_and_the_days_come_from_history() {
    let w = World::new();
    // The pipeline's start, as the workflows pass it.
    let since = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let runners = three_runners(&w, "file.bin");

    // One pipeline, one day: agree on the one-day rules, each run under its runner's name.
    let out = judge(&w, &["runs"], &["--require", ONE_DAY, "--since", &since]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("verdict: AGREE"), "{text}");
    assert!(text.contains("tofu-campaign: AGREE"), "{text}");
    for name in ["fra", "yul", "nrt"] {
        assert!(
            text.contains(&format!("signed by {name} (key")),
            "{name}: {text}"
        );
    }
    // The pipeline's report.json is compare's document, valid under its published schema.
    let report = tofu_testkit::schema::assert_conforms(
        "compare",
        &std::fs::read_to_string(w.path("report/report.json")).unwrap(),
    );
    assert_eq!(report["verdict"], "agree");
    assert_eq!(report["min_runs"], 3);
    let html = std::fs::read_to_string(w.path("report/report.html")).unwrap();
    assert!(html.contains("AGREE"), "the page states the verdict");
    assert!(w.path("report/report.txt").is_file());

    // All four rules on one day's runs: inconclusive, and the report says why.
    let out = judge(&w, &["runs"], &[]);
    assert_exit(&out, 3);
    assert!(stdout(&out).contains("distinct-days"), "{}", stdout(&out));
    assert!(stdout(&out).contains("tofu-campaign: INCONCLUSIVE"));

    // fra's and yul's runs were made on the two days before (as the history of a campaign
    // over days keeps them): now all four rules hold.
    let history = w.path("history");
    std::fs::create_dir_all(&history).unwrap();
    for (r, days) in runners.iter().take(2).zip([-2, -1]) {
        shift_days(&w, &r.home, &format!("runs/{}.json", r.name), days);
        for file in [
            format!("{}.json", r.name),
            format!("{}.json.minisig", r.name),
        ] {
            std::fs::rename(w.path("runs").join(&file), history.join(&file)).unwrap();
        }
    }
    let out = judge(&w, &["runs"], &["--history", "history", "--since", &since]);
    assert_exit(&out, 0);
    let met = format!("{:<19} met", "distinct-days");
    assert!(stdout(&out).contains(&met), "{}", stdout(&out));
    // Runs of earlier days among today's (left behind by an earlier pipeline, or replayed):
    // refused.
    let out = judge(&w, &["runs", "history"], &["--since", &since]);
    assert_refused(&out, 2, "history/fra.json started ");
    assert!(
        stderr(&out).contains("before this pipeline"),
        "{}",
        stderr(&out)
    );
    // The history alone lacks today's runner: never agree without every runner.
    std::fs::remove_dir_all(w.path("runs")).unwrap();
    std::fs::create_dir_all(w.path("runs")).unwrap();
    let out = judge(
        &w,
        &["runs"],
        &["--history", "history", "--require", "none"],
    );
    assert_exit(&out, 3);
    assert!(
        stdout(&out).contains("no transcript from runner(s): nrt"),
        "{}",
        stdout(&out)
    );
}

/// A copy of `runs/` to tamper with, named `name`.
fn copy_runs(w: &World, name: &str) -> PathBuf {
    let dir = w.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(w.path("runs")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

#[track_caller]
fn assert_refused(out: &Output, code: i32, says: &str) {
    assert_exit(out, code);
    assert!(
        stderr(out).contains(says) || stdout(out).contains(says),
        "{says}\n--- stdout\n{}\n--- stderr\n{}",
        stdout(out),
        stderr(out)
    );
    assert!(!stdout(out).contains("tofu-campaign: AGREE"));
}

/// Copies run `from` of `runs/` (transcript and signature) into `dir` as run `to`.
fn offer(w: &World, from: &str, dir: &Path, to: &str) {
    std::fs::create_dir_all(dir).unwrap();
    for ext in [".json", ".json.minisig"] {
        let source = w.path("runs").join(format!("{from}{ext}"));
        std::fs::copy(source, dir.join(format!("{to}{ext}"))).unwrap();
    }
}

#[test]
fn the_judge_counts_only_what_each_runners_own_committed_key_signed() {
    let w = World::new();
    let _runners = three_runners(&w, "file.bin");
    // A stolen key speaks for one run only: fra's transcript offered as yul's is refused.
    offer(&w, "fra", &copy_runs(&w, "as-yul"), "yul");
    let out = judge(&w, &["as-yul"], &["--require", ONE_DAY]);
    let says = "as-yul/yul.json is not signed by runner yul's committed key";
    assert_refused(&out, 2, says);
    // A transcript from a runner not in the roster (whoever made it) is refused.
    offer(&w, "fra", &copy_runs(&w, "stray"), "evil");
    let says = "stray/evil.json is not NAME.json for an expected runner";
    assert_refused(&judge(&w, &["stray"], &[]), 2, says);
    // A runner twice (today's run and an old one) is refused.
    offer(&w, "fra", &w.path("again"), "fra");
    let says = "runner fra has more than one transcript";
    assert_refused(&judge(&w, &["runs", "again"], &[]), 2, says);
    // A link is not a transcript.
    let linked = copy_runs(&w, "linked");
    std::fs::remove_file(linked.join("nrt.json")).unwrap();
    std::os::unix::fs::symlink(w.path("runs/nrt.json"), linked.join("nrt.json")).unwrap();
    let says = "linked/nrt.json is not a plain file";
    assert_refused(&judge(&w, &["linked"], &[]), 2, says);

    // The judge's machine trusts nothing it has: here it trusts an outsider, whose run
    // offered as yul's is refused all the same.
    let outsider = runner(&w, "out", "127.0.4.1", false);
    std::fs::remove_file(w.path("keys/out.pub")).unwrap();
    let public = outsider.home.join(".config/tofu/signing.pub");
    let trust = ["trust", "add", "outsider", public.to_str().unwrap()];
    assert_exit(&w.tofu_in(&w.path("judge-machine"), &trust), 0);
    let forged = copy_runs(&w, "forged").join("yul.json");
    let ca = w.ca.root_pem.to_str().unwrap();
    let url = w.nginx.https_url("file.bin");
    let fetch = [
        "fetch",
        "--ca-cert",
        ca,
        "-o",
        forged.to_str().unwrap(),
        "--force",
        &url,
    ];
    assert_exit(&w.tofu_in(&outsider.home, &fetch), 0);
    let says = "forged/yul.json is not signed by runner yul's committed key";
    assert_refused(&judge(&w, &["forged"], &[]), 2, says);
}

#[test]
fn the_judge_needs_every_runner_of_the_roster_each_with_a_key_of_its_own() {
    let w = World::new();
    let _runners = three_runners(&w, "file.bin");
    // A runner missing: inconclusive, and --min-runs cannot lower the roster's count.
    let short = w.path("short");
    offer(&w, "fra", &short, "fra");
    offer(&w, "yul", &short, "yul");
    let out = judge(&w, &["short"], &["--require", ONE_DAY]);
    assert_refused(&out, 3, "no transcript from runner(s): nrt");
    assert!(stdout(&out).contains("tofu-campaign: INCONCLUSIVE"));
    let out = judge(&w, &["short"], &["--min-runs", "2"]);
    assert_refused(&out, 2, "--min-runs 2 is below the 3 runners");
    // Only fra delivered: nothing to compare, inconclusive.
    offer(&w, "fra", &w.path("alone"), "fra");
    let out = judge(&w, &["alone"], &["--require", ONE_DAY]);
    assert_refused(&out, 3, "INCONCLUSIVE: 1 transcript(s); missing: nrt yul");
    // Two runners sharing one key in the roster: refused, whichever signed what.
    std::fs::copy(w.path("keys/fra.pub"), w.path("keys/ams.pub")).unwrap();
    offer(&w, "fra", &copy_runs(&w, "shared"), "ams");
    let out = judge(&w, &["shared"], &["--require", ONE_DAY]);
    assert_refused(
        &out,
        2,
        "cannot trust keys/fra.pub for runner fra (is it another runner's key too?)",
    );
}

#[test]
fn a_runner_that_saw_other_bytes_makes_the_pipeline_fail() {
    let w = World::new();
    // /targeted/ serves one flipped byte to connections from 127.0.0.1: the third runner
    // leaves from there (its network lies to it).
    let runners = vec![
        runner(&w, "fra", "127.0.1.1", false),
        runner(&w, "yul", "127.0.2.1", false),
        runner(&w, "lax", "127.0.0.1", false),
    ];
    let url = w.nginx.https_url("targeted/file.bin");
    for r in &runners {
        assert_exit(&fetch_job(&w, r, Some(&r.secret), &url), 0);
    }
    let out = judge(&w, &["runs"], &["--require", ONE_DAY]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("verdict: DISAGREE"), "{text}");
    assert!(text.contains("tofu-campaign: DISAGREE"), "{text}");
    assert_eq!(w.read_json("report/report.json")["verdict"], "disagree");
}

#[test]
fn a_fetch_job_without_its_own_key_fails_by_name() {
    let w = World::new();
    let fra = runner(&w, "fra", "127.0.1.1", false);
    let yul = runner(&w, "yul", "127.0.2.1", false);
    let url = w.nginx.https_url("file.bin");
    // No secret given to the job.
    let out = fetch_job(&w, &fra, None, &url);
    assert_refused(&out, 2, "TOFU_SIGNING_KEY is empty");
    // Not a key: refused, and never echoed.
    let out = fetch_job(&w, &fra, Some("hunter2-not-a-key"), &url);
    assert_refused(
        &out,
        2,
        "neither a minisign secret key file nor one in base64",
    );
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
    // Another runner's key: the transcript is made, but the job fails and says why.
    let out = fetch_job(&w, &fra, Some(&yul.secret), &url);
    assert_refused(
        &out,
        2,
        "runs/fra.json is not signed by the committed key keys/fra.pub",
    );
    // A runner name that is no file or secret name.
    let bad = Runner {
        name: "../fra",
        ..fra
    };
    let out = fetch_job(&w, &bad, Some(&yul.secret), &url);
    assert_refused(&out, 2, "--name must be 1-32 of a-z, 0-9, _");
    let left: Vec<_> = std::fs::read_dir(w.path("tmp")).unwrap().collect();
    assert!(left.is_empty(), "the script left {left:?}");
}
