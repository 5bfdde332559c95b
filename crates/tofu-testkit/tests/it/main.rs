//! The testkit's own servers checked against independent clients: the flaky server with the
//! real `curl`, and cutting a Tor circuit with `curl` through the private network's C tor
//! client.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod flaky;
mod tor;
