//! A network namespace joined to the host by a veth pair: a second host on this machine,
//! reachable only through one interface. Tests use it to show that `--via iface:NAME` really
//! binds sockets to that interface. Needs root and iproute2; deleted on drop.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::output::run_ok;
use crate::process::require_program;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The namespace, the host-side interface, and the two ends' addresses (link-local, on a
/// link that exists only between the two).
pub struct Netns {
    /// The namespace's name (for `ip netns exec`).
    pub name: String,
    /// The host-side interface (for `--via iface:NAME`).
    pub host_if: String,
    /// The host side's address.
    pub host_addr: String,
    /// The address inside the namespace.
    pub peer_addr: String,
}

impl Netns {
    /// Creates the namespace and the link; panics with the command's output when it cannot.
    pub fn create() -> Netns {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{}{n}", std::process::id() % 100_000);
        let name = format!("tofu-test-{tag}");
        let host_if = format!("tofh{tag}");
        let peer_if = format!("tofp{tag}");
        let third = 1 + (std::process::id() % 200) as u8;
        let subnet = 4 * (n % 60) as u8;
        let host_addr = format!("169.254.{third}.{}", subnet + 1);
        let peer_addr = format!("169.254.{third}.{}", subnet + 2);
        let ns = Netns {
            name: name.clone(),
            host_if: host_if.clone(),
            host_addr: host_addr.clone(),
            peer_addr: peer_addr.clone(),
        };
        ip(&["netns", "add", &name]);
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &peer_if,
        ]);
        ip(&["link", "set", &peer_if, "netns", &name]);
        ip(&["addr", "add", &format!("{host_addr}/30"), "dev", &host_if]);
        ip(&["link", "set", &host_if, "up"]);
        ip(&[
            "netns",
            "exec",
            &name,
            "ip",
            "addr",
            "add",
            &format!("{peer_addr}/30"),
            "dev",
            &peer_if,
        ]);
        ip(&["netns", "exec", &name, "ip", "link", "set", &peer_if, "up"]);
        ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"]);
        ns
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes the veth pair with it.
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn ip(args: &[&str]) {
    // ip says so when the tests do not run as root (network namespaces need it).
    run_ok(Command::new(require_program("ip", "iproute2")).args(args));
}
