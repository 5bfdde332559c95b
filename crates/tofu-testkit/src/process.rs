//! Child processes that are always stopped (TERM, then KILL), ports, and readiness.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

/// The path of an installed program, or a panic that says how to get it.
pub fn require_program(name: &str, package: &str) -> PathBuf {
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from);
    for dir in std::env::split_paths(&dirs).chain(extra) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "test service {name:?} is not installed: run `cargo xtask test` (it installs the \
         Debian package {package:?}), or `apt-get install {package}`"
    );
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections at `addr`; panics after 10 s.
pub fn wait_for_port(addr: SocketAddr, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening on {addr}: {status}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{what} did not listen on {addr} within 10 s");
}

/// A child process stopped on drop: SIGTERM, up to 5 s, then SIGKILL.
pub(crate) struct Guard(pub(crate) Child);

impl Guard {
    /// Lets the process outlive the guard; returns its pid.
    pub(crate) fn into_pid(self) -> u32 {
        let pid = self.0.id();
        std::mem::forget(self);
        pid
    }
}

/// Stops a process by pid: SIGTERM, up to 5 s, then SIGKILL. Returns whether it is gone.
pub fn stop_pid(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    let alive = || {
        // SAFETY: signal 0 only asks whether the process exists.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(pid, 0) == 0
        }
    };
    // SAFETY: signalling a process this tool started and recorded.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !alive() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: as above; tor can hang after SIGTERM.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    std::thread::sleep(Duration::from_millis(100));
    !alive()
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.0.try_wait() {
            return;
        }
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: sending a signal to our own child, whose pid we hold.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
