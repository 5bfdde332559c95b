//! Failures the user must act on: what happened, and what to do next. Library errors become
//! a [`Failure`] through `From`, each with the hint its variant calls for, so `?` is enough
//! at the call site; any other error takes its hint with [`Hint::hint`] (rage's style). Every
//! failure exits 2 ([`crate::ExitCode::Error`]): a failure never looks like a finding.

use tofu_compare::LoadError;
use tofu_fetch::TransportError;
use tofu_fetch::tor::TorError;
use tofu_record::KeyError;
use tofu_record::trusted::TrustStoreError;

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

    /// The same failure, with `hint` when it has none of its own.
    pub fn or_hint(self, hint: String) -> Failure {
        Failure {
            hint: self.hint.or(Some(hint)),
            ..self
        }
    }

    /// The same failure, its error preceded by `context` (`--via: unknown transport …`).
    pub fn context(self, context: &'static str) -> Failure {
        Failure {
            error: self.error.context(context),
            hint: self.hint,
        }
    }

    /// What happened, as the first line says it: the failure, and its innermost cause when
    /// the failure does not say it already (`cannot write run.json: disk full`). The causes
    /// between the two are for `-v` ([`Failure::causes`]).
    pub fn message(&self) -> String {
        let causes = tofu_record::error_causes(&*self.error);
        match causes.as_slice() {
            [only] => only.clone(),
            [first, .., root] => format!("{first}: {root}"),
            [] => String::new(),
        }
    }

    /// Every cause under the failure, outermost first (a cause whose text an outer one holds
    /// is left out): what `-v` shows. Empty when the first line says them all already.
    pub fn causes(&self) -> Vec<String> {
        let causes = tofu_record::error_causes(&*self.error);
        if causes.len() <= 2 {
            return Vec::new();
        }
        causes.into_iter().skip(1).collect()
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
            KeyError::Exists(_) => {
                Some("keep the existing key, or pass --force to replace it".to_owned())
            }
            _ => None,
        };
        Failure::new(e, hint)
    }
}

/// A run (or a pinned key) that cannot be used, with what to do about it.
impl From<LoadError> for Failure {
    fn from(error: LoadError) -> Failure {
        let hint = match &error {
            LoadError::TrustedKey(_) => {
                "give the operator's minisign public key file (signing.pub)"
            }
            LoadError::Read(_) => "give a transcript written by `tofu fetch`, unmodified",
            LoadError::SignerKey { .. } => "the transcript was altered or not written by tofu",
            LoadError::Untrusted { .. } => {
                return Failure::new(
                    error,
                    format!(
                        "the signature is intact, but nothing says whose key it is; {}",
                        tofu_compare::TRUST_ADVICE
                    ),
                );
            }
            LoadError::Unsigned { .. } => {
                "keep RUN.json.minisig beside RUN.json, or pass --allow-unsigned to accept an \
             unsigned run"
            }
            LoadError::BadSignature { .. } => {
                "the transcript or its signature was changed after signing; do not trust this run"
            }
            LoadError::SameRun { .. } => {
                "the same run given twice is not a second vantage point; give each run once"
            }
            LoadError::MixedPlans { .. } => {
                "compare runs of the same plan file, or pass --allow-mixed-plans"
            }
            // A refusal this binary does not know yet: still refused, without advice.
            _ => return Failure::new(error, None),
        };
        Failure::new(error, hint.to_owned())
    }
}

/// A trusted-keys store that cannot be read or changed, with what to do about it.
impl From<TrustStoreError> for Failure {
    fn from(e: TrustStoreError) -> Failure {
        let hint = match &e {
            TrustStoreError::Malformed { .. } => Some(
                "each line is NAME KEY (a minisign public key in base64) or a # comment; fix \
                 or delete that line"
                    .to_owned(),
            ),
            TrustStoreError::Permissions { path, .. } => {
                Some(format!("run: chmod go-w {}", path.display()))
            }
            TrustStoreError::NameTaken { name, .. } => Some(format!(
                "choose another name, or run `tofu trust remove {name}` first"
            )),
            TrustStoreError::KeyTaken { .. } | TrustStoreError::UnknownName(_) => {
                Some("see `tofu trust list`".to_owned())
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

#[cfg(test)]
mod tests {
    use super::Failure;
    use anyhow::Context;

    #[test]
    fn causes_are_shown_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let key = tofu_record::KeyError::Io {
            path: "k.pub".into(),
            source: io,
        };
        let failure = Failure::from(key);
        assert_eq!(failure.message(), "k.pub: no such file");
        assert!(failure.causes().is_empty());
        let wrapped = Err::<(), _>(std::io::Error::other("disk full"))
            .context("cannot write run.json")
            .unwrap_err();
        assert_eq!(
            Failure::from(wrapped).message(),
            "cannot write run.json: disk full"
        );
        // Three deep: the first line has the failure and its root; -v has every cause.
        let deep = Err::<(), _>(std::io::Error::other("disk full"))
            .context("cannot write run.json.tmp")
            .context("the transcript was not written")
            .unwrap_err();
        let failure = Failure::from(deep);
        assert_eq!(
            failure.message(),
            "the transcript was not written: disk full"
        );
        assert_eq!(failure.causes(), ["cannot write run.json.tmp", "disk full"]);
    }
}
