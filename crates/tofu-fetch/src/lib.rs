//! Everything in tofu that touches the network: transports (direct, SOCKS5, a bound
//! interface, the embedded Tor client), HTTP(S) downloads with streaming digests and a speed
//! limit, OCI registry pulls, Homebrew bottles through the Homebrew API, exit probes, and what
//! they observed as tofu-record types. No other tofu crate opens a socket.

mod artifact;
pub mod checksums;
mod digest;
mod dns;
mod error;
mod homebrew;
mod http;
#[cfg(test)]
mod json_mutation;
mod keep;
pub mod oci;
pub mod openpgp;
mod progress;
mod resume;
mod target;
mod tls;
pub mod tor;
mod transport;
mod vantage;

pub use error::{Explained, FetchError, TransportError};
pub use homebrew::BrewTarget;
pub use http::{
    DEFAULT_RETRIES, FetchOptions, HOLD_LIMIT, MAX_REDIRECTS, TooLarge, Watch, Watched,
};
pub use progress::{CheckpointSink, Checkpoints, Partial, Progress, ProgressSink};
pub use target::{Fetched, Source, Target, TargetError, http_url};
pub use transport::{Client, ClientOptions, Route, SpeedLimit, Via};
