//! `cargo xtask dist`: the Debian package, built with Debian's own tools from the release
//! binary and the generated man pages and completions: `dpkg-shlibdeps` computes what it
//! depends on, `dpkg-deb` builds it. `cargo xtask test` then installs it on this machine with
//! `dpkg -i`, runs what a user would, and removes it, checking nothing is left behind.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Builds `target/dist/tofu_VERSION_ARCH.deb`; returns its path.
pub fn build(root: &Path) -> Result<PathBuf> {
    crate::run(Command::new("cargo").args(["build", "--release", "--locked", "-p", "tofu"]))?;
    let version = env!("CARGO_PKG_VERSION");
    let arch = output(Command::new("dpkg").arg("--print-architecture"))?;
    let dist = root.join("target/dist");
    let tree = dist.join(format!("tofu_{version}_{arch}"));
    if tree.exists() {
        std::fs::remove_dir_all(&tree)?;
    }
    let install = |from: &Path, to: &str, mode: u32| -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let target = tree.join(to);
        std::fs::create_dir_all(target.parent().context("a path in the package")?)?;
        std::fs::copy(from, &target)
            .with_context(|| format!("copying {} into the package", from.display()))?;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))?;
        Ok(())
    };
    install(&root.join("target/release/tofu"), "usr/bin/tofu", 0o755)?;
    crate::run(Command::new("strip").arg(tree.join("usr/bin/tofu")))?;
    for page in std::fs::read_dir(root.join("docs/man"))? {
        let page = page?.path();
        let name = page
            .file_name()
            .context("a man page")?
            .to_string_lossy()
            .into_owned();
        let to = format!("usr/share/man/man1/{name}");
        install(&page, &to, 0o644)?;
        // -n: no name or time in the archive, so the package is the same on every build.
        crate::run(Command::new("gzip").args(["-9", "-n"]).arg(tree.join(&to)))?;
    }
    let completions = root.join("completions");
    install(
        &completions.join("tofu.bash"),
        "usr/share/bash-completion/completions/tofu",
        0o644,
    )?;
    install(
        &completions.join("_tofu"),
        "usr/share/zsh/vendor-completions/_tofu",
        0o644,
    )?;
    install(
        &completions.join("tofu.fish"),
        "usr/share/fish/vendor_completions.d/tofu.fish",
        0o644,
    )?;
    install(
        &root.join("README.md"),
        "usr/share/doc/tofu/README.md",
        0o644,
    )?;
    std::fs::write(tree.join("usr/share/doc/tofu/copyright"), copyright())?;
    let depends = shlib_depends(&dist, &tree.join("usr/bin/tofu"))?;
    let control = tree.join("DEBIAN/control");
    std::fs::create_dir_all(control.parent().context("DEBIAN")?)?;
    std::fs::write(&control, control_file(version, &arch, &depends, &tree)?)?;
    let deb = dist.join(format!("tofu_{version}_{arch}.deb"));
    crate::run(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&tree)
            .arg(&deb),
    )?;
    println!("xtask dist: {}", deb.display());
    Ok(deb)
}

/// What the binary needs of the system, as `dpkg-shlibdeps` says (it reads a
/// `debian/control`, which a scratch directory gives it).
fn shlib_depends(dist: &Path, binary: &Path) -> Result<String> {
    let scratch = dist.join("shlibdeps");
    std::fs::create_dir_all(scratch.join("debian"))?;
    std::fs::write(
        scratch.join("debian/control"),
        "Source: tofu\n\nPackage: tofu\nArchitecture: any\n",
    )?;
    let out = output(
        Command::new("dpkg-shlibdeps")
            .current_dir(&scratch)
            .arg("-O")
            .arg(binary),
    )?;
    out.lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .map(str::to_owned)
        .context("dpkg-shlibdeps named no dependency")
}

fn control_file(version: &str, arch: &str, depends: &str, tree: &Path) -> Result<String> {
    let size_kib = du_kib(tree)?;
    Ok(format!(
        "Package: tofu\n\
         Version: {version}\n\
         Architecture: {arch}\n\
         Maintainer: tofu developers <tofu@tofu-3tofu.invalid>\n\
         Installed-Size: {size_kib}\n\
         Depends: {depends}\n\
         Section: utils\n\
         Priority: optional\n\
         Homepage: {homepage}\n\
         Description: triple trust on first use for downloads nobody signed\n \
         tofu fetches an artifact (a file, a container image, a Homebrew bottle) from\n \
         several vantage points (direct, a proxy or VPN, Tor built in) on several days,\n \
         writes a signed transcript of each run, and says agree only when every run saw\n \
         the same bytes.\n",
        homepage = env!("CARGO_PKG_REPOSITORY"),
    ))
}

/// The size of the files under `dir`, in KiB, as `Installed-Size` wants it.
fn du_kib(dir: &Path) -> Result<u64> {
    fn bytes(dir: &Path) -> Result<u64> {
        let mut total = 0;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            total += if meta.is_dir() {
                bytes(&entry.path())?
            } else {
                meta.len()
            };
        }
        Ok(total)
    }
    Ok(bytes(dir)?.div_ceil(1024))
}

/// The package's `copyright` file, from the workspace's license (as Cargo declares it).
fn copyright() -> String {
    format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
         Upstream-Name: tofu\n\
         Source: {}\n\n\
         Files: *\nCopyright: the tofu developers\nLicense: {}\n",
        env!("CARGO_PKG_REPOSITORY"),
        env!("CARGO_PKG_LICENSE"),
    )
}

/// Installs `deb` with `dpkg -i`, runs `tofu --version`, `man tofu` and the installed bash
/// completion as a user would, removes it with `dpkg -r`, and checks every file it
/// installed is gone. Refuses to touch a tofu package already installed.
pub fn check_install(deb: &Path) -> Result<()> {
    if tofu_installed()? {
        bail!("a tofu package is installed already: remove it (dpkg -r tofu) to test this one");
    }
    let listed = output(Command::new("dpkg-deb").arg("-c").arg(deb))?;
    crate::run(Command::new("dpkg").arg("-i").arg(deb))?;
    let checked = installed_works();
    crate::run(Command::new("dpkg").args(["-r", "tofu"]))?;
    checked?;
    let left: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|p| !p.ends_with('/'))
        .map(|p| p.trim_start_matches('.'))
        .filter(|p| Path::new(p).exists())
        .collect();
    if !left.is_empty() {
        bail!("dpkg -r tofu left files behind: {left:?}");
    }
    if tofu_installed()? {
        bail!("dpkg -r tofu left the package installed");
    }
    println!(
        "xtask dist: {} installs, works and removes cleanly",
        deb.display()
    );
    Ok(())
}

/// Whether dpkg knows a tofu package on this machine.
fn tofu_installed() -> Result<bool> {
    Ok(Command::new("dpkg")
        .args(["-s", "tofu"])
        .output()?
        .status
        .success())
}

/// What a user does first with the installed package.
fn installed_works() -> Result<()> {
    let version = output(Command::new("/usr/bin/tofu").arg("--version"))?;
    let want = format!("tofu {}", env!("CARGO_PKG_VERSION"));
    if version.trim() != want {
        bail!("/usr/bin/tofu --version says {version:?}, not {want:?}");
    }
    let page = output(
        Command::new("man")
            .env("MANWIDTH", "80")
            .args(["tofu-fetch"]),
    )?;
    if !page.contains("tofu-fetch") || !page.contains("--via") {
        bail!("man tofu-fetch does not show the installed page:\n{page}");
    }
    output(Command::new("man").args(["-w", "tofu"]))?;
    // The completion bash-completion loads for `tofu`, sourced and asked as bash would.
    let completed = output(Command::new("bash").args([
        "-c",
        "source /usr/share/bash-completion/completions/tofu && \
         COMP_WORDS=(tofu com) COMP_CWORD=1 && _tofu tofu com tofu && \
         printf '%s\\n' \"${COMPREPLY[@]}\"",
    ]))?;
    if !completed.lines().any(|l| l == "compare") || !completed.lines().any(|l| l == "completions")
    {
        bail!("the installed bash completion does not complete `tofu com`: {completed:?}");
    }
    Ok(())
}

/// A command's stdout, trimmed of its last newline; its failure with stderr.
fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
}
