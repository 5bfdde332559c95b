//! Whole-process tests of the `tofu` binary against real services on loopback: nginx with a
//! per-run CA, microsocks, and the lying proxy from tofu-testkit. Independent tools
//! (`sha256sum`, `sha512sum`, `minisign`) cross-check what tofu records.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod anchor;
mod bad_input;
mod campaign;
mod chunks;
mod crash;
mod fetch;
mod homebrew;
mod hostile;
mod html;
mod keyring;
mod lie;
mod log;
mod oci;
mod openpgp;
mod plans;
mod progress;
mod resume;
mod shell;
mod support;
mod tor;
mod trust;
mod vouch;
mod workflows;
