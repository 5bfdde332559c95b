//! gpg in a home of its own, for tests that make real keys and signatures and check tofu's
//! reading of them against gpg's.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A gpg home directory (mode 0700) under a test's directory, no passphrases.
#[derive(Debug)]
pub struct Gpg {
    pub home: PathBuf,
}

impl Gpg {
    /// A new home `dir/name`.
    pub fn new(dir: &Path, name: &str) -> Gpg {
        use std::os::unix::fs::PermissionsExt;
        let home = dir.join(name);
        std::fs::create_dir_all(&home).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        Gpg { home }
    }

    /// gpg with this home, in batch mode, and `args`; not started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(crate::require_program("gpg", "gnupg"));
        command.arg("--homedir").arg(&self.home).args([
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        command.args(args);
        command
    }

    /// Runs gpg with `args`, which must succeed; its stdout.
    pub fn run(&self, args: &[&str]) -> Vec<u8> {
        crate::output::run_ok(&mut self.command(args)).stdout
    }

    /// Runs gpg with `input` on its command channel (for `--edit-key`).
    pub fn run_with_commands(&self, args: &[&str], input: &str) {
        let mut child = self
            .command(&["--command-fd", "0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "gpg {args:?}");
    }

    /// Makes an ed25519 signing key for `uid` that expires in `expiry` (gpg's notation,
    /// e.g. `2y`), with `extra` options first (e.g. `--faked-system-time`); its fingerprint.
    pub fn generate(&self, uid: &str, expiry: &str, extra: &[&str]) -> String {
        let mut args = extra.to_vec();
        args.extend(["--quick-gen-key", uid, "ed25519", "sign", expiry]);
        self.run(&args);
        self.fingerprint(uid)
    }

    /// The primary key fingerprint of the key with `uid`.
    pub fn fingerprint(&self, uid: &str) -> String {
        let listing = self.run(&["--with-colons", "--list-keys", uid]);
        let text = String::from_utf8_lossy(&listing);
        let fpr = text.lines().find(|l| l.starts_with("fpr:")).unwrap();
        fpr.split(':').nth(9).unwrap().to_owned()
    }

    /// Signs `data` with the key `fpr` into the detached signature `out`, with `extra`
    /// options first (e.g. `--armor`, `--faked-system-time`).
    pub fn sign(&self, fpr: &str, data: &Path, out: &Path, extra: &[&str]) {
        let mut args = extra.to_vec();
        args.extend(["--yes", "--detach-sign", "-u", fpr, "-o"]);
        args.extend([out.to_str().unwrap(), data.to_str().unwrap()]);
        self.run(&args);
    }

    /// Revokes the key `fpr` with the revocation certificate gpg stored when it made the
    /// key (armored behind a `:` so that it is not imported by mistake).
    pub fn revoke(&self, fpr: &str) {
        let stored = self.home.join(format!("openpgp-revocs.d/{fpr}.rev"));
        let text = std::fs::read_to_string(stored).unwrap();
        let certificate = self.home.join("revocation.asc");
        std::fs::write(&certificate, text.replace(":-----BEGIN", "-----BEGIN")).unwrap();
        self.run(&["--import", certificate.to_str().unwrap()]);
    }

    /// gpg's status word for checking `signature` over `data`: GOODSIG, BADSIG, ERRSIG,
    /// EXPKEYSIG, REVKEYSIG, EXPSIG, or NONE.
    pub fn status(&self, signature: &Path, data: &Path) -> String {
        let out = self
            .command(&["--status-fd", "1", "--verify"])
            .arg(signature)
            .arg(data)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let words = [
            "GOODSIG",
            "BADSIG",
            "ERRSIG",
            "EXPKEYSIG",
            "REVKEYSIG",
            "EXPSIG",
        ];
        text.lines()
            .filter_map(|l| l.strip_prefix("[GNUPG:] "))
            .filter_map(|l| l.split_whitespace().next())
            .find(|w| words.contains(w))
            .unwrap_or("NONE")
            .to_owned()
    }
}
