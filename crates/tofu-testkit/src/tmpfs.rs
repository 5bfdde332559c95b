//! A small tmpfs mounted on a directory, to make a disk fill up for real (ENOSPC). Needs root
//! (as the network namespaces do); unmounted on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::output::run_ok;

/// A mounted tmpfs.
pub struct Tmpfs {
    /// Where it is mounted.
    pub dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` bytes on `dir` (created if missing).
    pub fn mount(dir: &Path, bytes: u64) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        // mount says so when the tests do not run as root.
        run_ok(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o"])
                .arg(format!("size={bytes},mode=0755"))
                .arg("tmpfs")
                .arg(dir),
        );
        Tmpfs {
            dir: dir.to_owned(),
        }
    }

    /// Fills it up: one file takes every free byte.
    pub fn fill(&self) {
        let mut file = std::fs::File::create(self.dir.join("filler")).unwrap();
        let chunk = vec![0u8; 64 << 10];
        use std::io::Write;
        while file.write_all(&chunk).is_ok() {}
        while file.write_all(&chunk[..1]).is_ok() {}
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}
