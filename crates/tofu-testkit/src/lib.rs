//! Real test services on loopback, started and stopped by the project's own code: nginx
//! serving HTTP and HTTPS with a certificate authority made for each test run, microsocks
//! as an honest SOCKS5 proxy, and a lying SOCKS5 proxy that alters what it relays for one
//! vantage point — the "targeted lie" tofu exists to catch. A flaky HTTP server breaks
//! downloads for resume tests, and the private Tor network can lose a node mid-stream.
//!
//! A service that is not installed makes the test fail loudly with what to install;
//! `cargo xtask test` installs them all.

#![allow(clippy::unwrap_used, clippy::print_stderr)]
// Test services open sockets of their own: they are the network under test, not tofu.
#![allow(clippy::disallowed_methods)]

mod ca;
pub mod flaky;
mod gpg;
pub mod hostile;
mod layout;
mod lying_proxy;
mod netns;
pub mod output;
mod process;
mod registry;
pub mod schema;
mod services;
mod tmpfs;
mod tornet;

pub use ca::{TestCa, self_signed_der};
pub use flaky::{Flaky, Request, Version};
pub use gpg::Gpg;
pub use hostile::{CATALOGUE, Hostile};
pub use layout::{Blob, Bottle, LayoutBuilder, descriptor};
pub use lying_proxy::{Lie, LyingProxy};
pub use netns::Netns;
pub use process::{free_port, require_program, stop_pid, wait_for_port};
pub use registry::{Front, Registry, RegistryLie};
pub use services::{Dnsmasq, Microsocks, Nginx, WHOAMI_COUNTRIES};
pub use tmpfs::Tmpfs;
pub use tornet::{Node, TorNet, country_of};
