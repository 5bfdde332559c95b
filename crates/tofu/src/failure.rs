//! Failures the user must act on: what happened, and what to do next. Library errors become
//! a [`Failure`] through `From`, each with the hint its variant calls for, so `?` is enough
//! at the call site; any other error takes its hint with [`Hint::hint`] (rage's style). Every
//! failure exits 2 ([`crate::Exit::Error`]): a failure never looks like a finding.

use tofu_fetch::TransportError;
use tofu_fetch::tor::TorError;
use tofu_record::KeyError;

/// A failure the user must act on: what happened, and what to do next.
#[derive(Debug)]
pub struct Failure {
    /// What happened (rendered with its causes).
    pub error: anyhow::Error,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Failure {
    /// A failure with a hint, or none.
    pub fn new(error: impl Into<anyhow::Error>, hint: impl Into<Option<String>>) -> Failure {
        Failure {
            error: error.into(),
            hint: hint.into(),
        }
    }
}

impl Failure {
    /// The same failure, its error preceded by `context` (`--via: unknown transport …`).
    pub fn context(self, context: &'static str) -> Failure {
        Failure {
            error: self.error.context(context),
            hint: self.hint,
        }
    }
}

/// Gives an error the hint of its call site.
pub trait Hint<T> {
    /// The error of `self`, if any, as a failure with this hint.
    fn hint(self, hint: impl Into<String>) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> Hint<T> for Result<T, E> {
    fn hint(self, hint: impl Into<String>) -> Result<T, Failure> {
        self.map_err(|e| Failure::new(e, Some(hint.into())))
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure::new(error, None)
    }
}

/// A transport that cannot be set up, with what to do about it.
impl From<TransportError> for Failure {
    fn from(e: TransportError) -> Failure {
        let hint = match &e {
            TransportError::UnknownVia(_)
            | TransportError::BadProxy { .. }
            | TransportError::NoInterface(_)
            | TransportError::UnknownCountry(_) => Some(
                "use direct, socks5h://HOST:PORT, socks5h://USER:PASS@HOST:PORT, iface:NAME, \
                 tor, or tor:CC with an ISO 3166-1 country code such as tor:DE"
                    .to_owned(),
            ),
            TransportError::Tor(TorError::Bootstrap(_)) => Some(
                "check that this machine can reach the Tor network (or the network named in \
                 [tor.arti]); raise [tor] bootstrap_timeout_secs on a slow link"
                    .to_owned(),
            ),
            TransportError::Tor(TorError::State { dir, .. }) => Some(format!(
                "move {} away (or set another [tor] data_dir): tofu starts a fresh one; \
                 nothing in it is needed but the guard choices",
                dir.display()
            )),
            TransportError::Tor(TorError::Permissions { dir, .. }) => Some(format!(
                "make {} and every directory above it writable by you alone (chmod go-w), or \
                 set another [tor] data_dir",
                dir.display()
            )),
            TransportError::Tor(TorError::NoExitIn { .. }) => {
                Some("choose another country, or use --via tor for any exit".to_owned())
            }
            TransportError::Tor(TorError::Config(_)) => {
                Some("[tor.arti] takes arti's own settings, as in an arti.toml".to_owned())
            }
            TransportError::Tor(TorError::Geoip { .. }) => Some(
                "[tor] geoip_ipv4 / geoip_ipv6 name C tor's geoip files; leave them empty for \
                 the database built into tofu"
                    .to_owned(),
            ),
            _ => None,
        };
        Failure::new(e, hint)
    }
}

/// A signing key that cannot be used, with what to do about it.
impl From<KeyError> for Failure {
    fn from(e: KeyError) -> Failure {
        let hint = match &e {
            KeyError::Permissions { path, .. } => {
                Some(format!("run: chmod 600 {}", path.display()))
            }
            KeyError::Encrypted(_) => {
                Some("create an unencrypted key with `tofu keygen --key FILE`".to_owned())
            }
            _ => None,
        };
        Failure::new(e, hint)
    }
}

/// A command-line target that is none of the known forms.
impl From<tofu_fetch::TargetError> for Failure {
    fn from(e: tofu_fetch::TargetError) -> Failure {
        use tofu_fetch::TargetError as E;
        let hint = match &e {
            E::Url(_) => "give the full URL, e.g. https://tails.net/tails-signing.key",
            E::Homebrew { .. } => {
                "write brew:FORMULA or brew:FORMULA@BOTTLE_TAG, e.g. brew:wget@arm64_sonoma"
            }
            E::Reference(_) => {
                "a target is an http:// or https:// URL or an image reference such as \
                 debian:bookworm or ghcr.io/homebrew/core/wget:1.24.5"
            }
            E::Platform(_) => {
                "e.g. --platform linux/amd64, --platform linux/arm64/v8, or --platform all"
            }
            _ => return Failure::new(e, None),
        };
        Failure::new(e, Some(hint.to_owned()))
    }
}
