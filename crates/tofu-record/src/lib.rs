//! The tofu transcript: what one run observed, written canonically and atomically, and
//! signed off with minisign. This crate never touches the network and depends on no other
//! tofu crate.

pub mod campaign;
mod code;
pub mod digest;
pub mod document;
mod error;
pub mod evidence;
pub mod host;
pub mod io;
pub mod key;
pub mod redact;
pub mod sign;
pub mod transcript;
pub mod trusted;
mod vouch;

pub use code::ErrorCode;
pub use error::{
    KeyError, ReadError, SignError, VerifyError, WriteError, error_causes, error_chain,
};
pub use transcript::*;
pub use vouch::*;
