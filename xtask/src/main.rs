//! Developer tasks, run as `cargo xtask <task>`:
//!
//! - `test`: install the test services (Debian packages) when missing, then the format
//!   check, `lint`, clippy with warnings denied, the codegen check and every test. `.ci/run`
//!   calls exactly this. It ends with a smoke run of the benchmarks (`bench --quick`).
//! - `test --fast`: the tier for while you work: format, `lint`, clippy, codegen check, unit
//!   tests (property tests included) and the whole-process CLI tests that start no service
//!   (`crates/tofu/tests/cli`). Installs nothing.
//! - `fuzz --minutes N [--cases C]`: the property tests (every test named `properties::…`)
//!   from fresh random seeds, C cases a property a round (default 5,000), round after round
//!   for N minutes; prints the rounds and cases run. A failure stops it, and proptest keeps
//!   the failing case in the crate's `proptest-regressions/` (commit it).
//! - `lint`: source checks clippy does not make (`lint.rs`): no function body over 70 lines
//!   unless the comment above it says why, with `Long because: …`.
//! - `codegen [--check]`: write (or check) generated files: docs/transcript.schema.json,
//!   the schemas of the commands' `--json` documents in docs/json/,
//!   the hostile catalogue in docs/threat-model.md, the man pages in docs/man/ and the shell
//!   completions in completions/ (from the clap declaration).
//! - `dist [--check-install]`: the Debian package, `target/dist/tofu_VERSION_ARCH.deb`
//!   (`dist.rs`); with `--check-install`, install it with dpkg, use it, remove it. The full
//!   `test` tier does both.
//! - `deps`: only install the test services, and the Python tools that check the CI files
//!   (`pytools.rs`, into `target/pytools`).
//! - `testnet start DIR` / `testnet stop DIR`: a private Tor network of tor daemons on
//!   loopback (3 authorities, 2 relays, a client with a SocksPort); `start` writes
//!   `DIR/tofu.toml` (a tofu config whose `[tor]` table points `--via tor` at the network),
//!   `DIR/arti.toml` (the same for arti itself), `DIR/socks-port` and `DIR/pids`;
//!   `stop` ends every process it started (TERM, then KILL).
//! - `bench [--quick]`: benchmarks against curl, wget, openssl and skopeo, and over the
//!   private Tor network against its C tor client with curl; writes docs/performance.md
//!   (`--quick`: small sizes, for CI).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

mod bench;
mod dist;
mod lint;
mod pytools;
mod transcripts;

/// Programs the tests run (and files they read), and the Debian package of each.
const PROGRAMS: &[(&str, &str)] = &[
    ("nginx", "nginx-light"),
    ("microsocks", "microsocks"),
    ("minisign", "minisign"),
    ("sha256sum", "coreutils"),
    ("gpg", "gnupg"),
    ("ip", "iproute2"),
    ("docker-registry", "docker-registry"),
    ("skopeo", "skopeo"),
    ("tor", "tor"),
    ("hyperfine", "hyperfine"),
    ("curl", "curl"),
    ("dnsmasq", "dnsmasq-base"),
    ("wget", "wget"),
    ("time", "time"),
    ("update-ca-certificates", "ca-certificates"),
    // A real terminal for the progress and completion tests: they read its screen.
    ("tmux", "tmux"),
    // The CI campaign script is checked with it (and actionlint runs it on `run:` steps).
    ("shellcheck", "shellcheck"),
    // The man pages are rendered in a test.
    ("man", "man-db"),
    // The Debian package is built with Debian's tools (`cargo xtask dist`).
    ("dpkg-shlibdeps", "dpkg-dev"),
    ("strip", "binutils"),
    // Real keyrings with many certificates (files, not programs).
    (
        "/usr/share/keyrings/debian-archive-keyring.gpg",
        "debian-archive-keyring",
    ),
    ("/usr/share/keyrings/debian-keyring.gpg", "debian-keyring"),
    // A real browser for `compare --html`: the test opens the page headless.
    ("chromium", "chromium"),
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("test") => test(&root, args.iter().any(|a| a == "--fast")),
        Some("fuzz") => fuzz(&args[1..]),
        Some("deps") => install_missing().and_then(|()| pytools::install_missing(&root)),
        Some("lint") => lint::run(&root),
        Some("codegen") => codegen(&root, args.iter().any(|a| a == "--check")),
        Some("dist") => {
            install_missing()?;
            let deb = dist::build(&root)?;
            if args.iter().any(|a| a == "--check-install") {
                dist::check_install(&deb)?;
            }
            Ok(())
        }
        Some("testnet") => {
            install_missing()?;
            testnet(
                args.get(1).map(String::as_str),
                args.get(2).map(PathBuf::from),
            )
        }
        Some("bench") => {
            install_missing()?;
            bench::run(&root, args.iter().any(|a| a == "--quick"))
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <test [--fast] | fuzz --minutes N [--cases C] | deps | \
                 lint | codegen [--check] | dist [--check-install] | bench [--quick] | \
                 testnet start|stop DIR>"
            );
            std::process::exit(2);
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_owned()
}

/// Builds every test and binary (also what `bench --quick` runs, so the same features).
pub(crate) const TEST_BUILD: &[&str] = &["test", "--workspace", "--all-targets", "--no-run"];

/// The seed of the property tests in `cargo xtask test`: CI runs the same cases every time,
/// so a red run always means a changed tree (`cargo xtask fuzz` explores beyond them).
/// PROPTEST_RNG_SEED in the environment replaces it.
const PROPTEST_SEED: &str = "20261130";

fn test(root: &Path, fast: bool) -> Result<()> {
    if !fast {
        install_missing()?;
        pytools::install_missing(root)?;
    }
    run(Command::new("cargo").args(["fmt", "--all", "--check"]))
        .context("formatting differs: run `cargo fmt --all`")?;
    // Before clippy: it needs no build, so it fails fast.
    lint::run(root)?;
    run(Command::new("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    codegen(root, true)?;
    let (passed, failed) = if fast {
        // Unit tests, the pure integration tests of the libraries, and the CLI tests that
        // start no service.
        let mut total = (0, 0);
        for args in [
            &["test", "--workspace", "--lib", "--bins"][..],
            &[
                "test",
                "-p",
                "tofu-record",
                "-p",
                "tofu-compare",
                "--test",
                "it",
            ],
            &["test", "-p", "tofu", "--test", "cli"],
        ] {
            let (p, f) = run_tests(args)?;
            total = (total.0 + p, total.1 + f);
        }
        total
    } else {
        let (passed, failed) = run_tests(&["test", "--workspace", "--all-targets"])?;
        // Benchmarks are not timed tests: this only keeps the harness working.
        bench::run(root, true)
            .context("the benchmark smoke run (cargo xtask bench --quick) failed")?;
        let deb = dist::build(root).context("cargo xtask dist failed")?;
        dist::check_install(&deb).context("the Debian package failed its install check")?;
        (passed, failed)
    };
    println!("xtask test: all checks passed");
    println!("{passed} passed, {failed} failed");
    Ok(())
}

/// Runs the property tests from random seeds until `--minutes N` are over.
fn fuzz(args: &[String]) -> Result<()> {
    let value = |flag: &str| -> Result<Option<u64>> {
        match args.iter().position(|a| a == flag) {
            None => Ok(None),
            Some(i) => args
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .map(Some)
                .with_context(|| format!("{flag} needs a whole number")),
        }
    };
    let Some(minutes) = value("--minutes")? else {
        bail!("usage: cargo xtask fuzz --minutes N [--cases C]");
    };
    let cases = value("--cases")?.unwrap_or(5_000);
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_secs(minutes.saturating_mul(60));
    let (mut rounds, mut properties) = (0u64, 0u64);
    while rounds == 0 || std::time::Instant::now() < deadline {
        let mut cmd = Command::new("cargo");
        cmd.args(["test", "--workspace", "--all-targets", "properties::"])
            .env("PROPTEST_CASES", cases.to_string())
            .env_remove("PROPTEST_RNG_SEED");
        let (passed, _) = run_test_command(cmd)?;
        rounds += 1;
        properties += passed;
        println!(
            "xtask fuzz: round {rounds}: {passed} property tests × {cases} cases passed \
             ({} cases so far)",
            properties * cases
        );
    }
    println!(
        "xtask fuzz: {rounds} round(s), {} cases, no failure",
        properties * cases
    );
    Ok(())
}

/// Runs `cargo ARGS`, echoing its output, and adds up the per-binary results.
fn run_tests(args: &[&str]) -> Result<(u64, u64)> {
    let mut cmd = Command::new("cargo");
    cmd.args(args);
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        cmd.env("PROPTEST_RNG_SEED", PROPTEST_SEED);
    }
    run_test_command(cmd)
}

/// Runs a `cargo test` command, echoing its output, and adds up the per-binary results so
/// the run ends with one total line.
fn run_test_command(mut cmd: Command) -> Result<(u64, u64)> {
    use std::io::{BufRead, BufReader};
    cmd.stdout(std::process::Stdio::piped());
    eprintln!("xtask: running {cmd:?}");
    let mut child = cmd.spawn().context("cannot start cargo test")?;
    let stdout = child.stdout.take().context("cargo test has no stdout")?;
    let (mut passed, mut failed) = (0, 0);
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            passed += count_before(rest, " passed");
            failed += count_before(rest, " failed");
        }
    }
    let status = child.wait()?;
    if !status.success() || failed > 0 {
        println!("{passed} passed, {failed} failed");
        bail!("cargo test failed: {status}");
    }
    if passed == 0 {
        bail!("cargo test ran no test");
    }
    Ok((passed, failed))
}

/// In "ok. 20 passed; 0 failed; …", the number before `label`.
fn count_before(text: &str, label: &str) -> u64 {
    text.split(';')
        .find_map(|part| {
            let part = part
                .trim()
                .trim_start_matches("ok. ")
                .trim_start_matches("FAILED. ");
            part.strip_suffix(label.trim_start())
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn testnet(action: Option<&str>, dir: Option<PathBuf>) -> Result<()> {
    let Some(dir) = dir else {
        bail!("usage: cargo xtask testnet start|stop DIR");
    };
    let pids_file = dir.join("pids");
    match action {
        Some("start") => {
            if pids_file.exists() {
                bail!("{} exists: stop that network first", pids_file.display());
            }
            let net = tofu_testkit::TorNet::start_in(&dir, 3, 2, true);
            std::fs::write(dir.join("arti.toml"), net.arti_toml())?;
            std::fs::write(dir.join("tofu.toml"), net.tofu_toml())?;
            let port = net.socks_port.context("the client has a SocksPort")?;
            std::fs::write(dir.join("socks-port"), format!("{port}\n"))?;
            let pids = net.detach();
            let text: String = pids.iter().map(|p| format!("{p}\n")).collect();
            std::fs::write(&pids_file, text)?;
            println!(
                "private Tor network up: {} processes; SOCKS at 127.0.0.1:{port}; \
                 tofu --config {} fetch --via tor …",
                pids.len(),
                dir.join("tofu.toml").display()
            );
            Ok(())
        }
        Some("stop") => {
            let text = std::fs::read_to_string(&pids_file)
                .with_context(|| format!("no network started in {}", dir.display()))?;
            let mut stuck = Vec::new();
            for pid in text.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
                if !tofu_testkit::stop_pid(pid) {
                    stuck.push(pid);
                }
            }
            std::fs::remove_file(&pids_file)?;
            if !stuck.is_empty() {
                bail!("processes {stuck:?} did not stop");
            }
            println!("private Tor network stopped");
            Ok(())
        }
        _ => bail!("usage: cargo xtask testnet start|stop DIR"),
    }
}

/// Whether `program` is on the PATH (or in sbin); a path is a file that must exist.
fn installed(program: &str) -> bool {
    if program.starts_with('/') {
        return Path::new(program).is_file();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|dir| dir.join(program).is_file())
}

/// Installs Debian `packages` with apt-get when run as root; otherwise says what to run.
pub(crate) fn apt_install(packages: &[&str]) -> Result<()> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let list = packages.join(" ");
    if !is_root {
        bail!(
            "the tests need Debian packages that are missing: {list}\n\
             hint: run `sudo apt-get install -y {list}`, then `cargo xtask test` again"
        );
    }
    eprintln!("xtask: installing {list}");
    run(Command::new("apt-get")
        .arg("update")
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn install_missing() -> Result<()> {
    let missing: Vec<&str> = PROGRAMS
        .iter()
        .filter(|(program, _)| !installed(program))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)?;
    let still: Vec<&str> = PROGRAMS
        .iter()
        .filter(|(program, _)| !installed(program))
        .map(|(program, _)| *program)
        .collect();
    if !still.is_empty() {
        bail!("still missing after apt-get install: {}", still.join(", "));
    }
    Ok(())
}

fn codegen(root: &Path, check: bool) -> Result<()> {
    man_and_completions(root, check)?;
    command_schemas(root, check)?;
    generated(
        root,
        check,
        "docs/transcript.schema.json",
        &tofu_record::json_schema(),
        "the transcript types",
    )?;
    let path = root.join("docs/threat-model.md");
    let doc =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let want = tofu_testkit::hostile::with_table(&doc)
        .with_context(|| format!("{} has no hostile catalogue markers", path.display()))?;
    generated(
        root,
        check,
        "docs/threat-model.md",
        &want,
        "the hostile catalogue",
    )
}

/// The man pages (`docs/man/tofu.1`, and `tofu-COMMAND.1` for each subcommand) and the
/// completion scripts (`completions/`: bash, zsh, fish), from the clap declaration.
fn man_and_completions(root: &Path, check: bool) -> Result<()> {
    let mut cmd = tofu::command();
    cmd.build();
    let mut pages = vec![("tofu".to_owned(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        // clap takes a name that lives as long as the program (this one runs once).
        let name: &'static str = Box::leak(format!("tofu-{}", sub.get_name()).into_boxed_str());
        pages.push((name.to_owned(), sub.clone().name(name)));
    }
    for (name, page) in pages {
        let mut roff = Vec::new();
        clap_mangen::Man::new(page).render(&mut roff)?;
        let text = String::from_utf8(roff)?;
        generated(
            root,
            check,
            &format!("docs/man/{name}.1"),
            &text,
            "the command line",
        )?;
    }
    use clap_complete::Shell;
    for (shell, file) in [
        (Shell::Bash, "completions/tofu.bash"),
        (Shell::Zsh, "completions/_tofu"),
        (Shell::Fish, "completions/tofu.fish"),
    ] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut tofu::command(), "tofu", &mut script);
        let text = String::from_utf8(script)?;
        generated(root, check, file, &text, "the command line")?;
    }
    Ok(())
}

/// The schema of every command's `--json` document, in docs/json/; with `check`, a schema
/// there that no command prints any more fails too.
fn command_schemas(root: &Path, check: bool) -> Result<()> {
    let schemas = tofu::json_schemas();
    for (name, schema) in &schemas {
        generated(
            root,
            check,
            &format!("docs/json/{name}"),
            schema,
            "the commands' JSON documents",
        )?;
    }
    let dir = root.join("docs/json");
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".schema.json") && !schemas.iter().any(|(n, _)| *n == name) {
            bail!(
                "docs/json/{name} is no command's document any more\nhint: delete it, and say \
                 so in docs/json.md"
            );
        }
    }
    Ok(())
}

/// Writes `want` to `file`, or with `check` fails when the file differs.
fn generated(root: &Path, check: bool, file: &str, want: &str, source: &str) -> Result<()> {
    let path = root.join(file);
    if check {
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            bail!(
                "{} is out of date with {source}\nhint: run `cargo xtask codegen`",
                path.display()
            );
        }
    } else {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, want).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}
