//! What to fetch: a target (an id and where it comes from), parsed from the command line or
//! built by a plan, and [`Client::fetch`], which turns one into a complete artifact.

use tofu_record::redact::{redact_text, redact_url};
use tofu_record::{Artifact, ErrorCode};
use url::Url;

use crate::homebrew::BrewTarget;
use crate::http::FetchOptions;
use crate::oci::{Platforms, Reference};
use crate::tor::Streams;
use crate::transport::Client;

/// One artifact to fetch: an id and where it comes from.
#[derive(Clone, Debug)]
pub struct Target {
    /// The artifact's id in the transcript, unique within a run.
    pub id: String,
    /// Where it comes from.
    pub source: Source,
}

/// Where an artifact comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A file at these URLs (mirrors; all must agree).
    Urls(Vec<Url>),
    /// An image, and the platforms to pull.
    Oci(Reference, Platforms),
    /// A Homebrew formula's bottles.
    Homebrew(BrewTarget),
}

/// A command-line target that is none of the known forms.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// It starts like a URL but does not parse as one with a host (shown redacted).
    #[error("{0:?} is not a valid URL")]
    Url(String),
    /// `brew:…` that is not `FORMULA[@BOTTLE_TAG]`.
    #[error("{target:?}: {reason}")]
    Homebrew { target: String, reason: String },
    /// Neither a URL nor `brew:` nor an image reference.
    #[error("{0}")]
    Reference(String),
    /// A `--platform` that is not `all` or `os/arch[/variant]`.
    #[error("--platform {0:?} is not os/arch[/variant]")]
    Platform(String),
}

/// `raw` as an http:// or https:// URL (with a host, as the url crate requires of both), or
/// None: the one check every URL a user or a plan gives goes through.
pub fn http_url(raw: &str) -> Option<Url> {
    Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

impl Target {
    /// A target as given on the command line: an http(s) URL is a file, `brew:FORMULA[@TAG]`
    /// a formula's bottles, anything else an image reference (pulled for `platforms`).
    pub fn parse(raw: &str, platforms: &Platforms) -> Result<Target, TargetError> {
        if raw.starts_with("http://") || raw.starts_with("https://") {
            let url = http_url(raw).ok_or_else(|| TargetError::Url(redact_text(raw)))?;
            return Ok(Target {
                id: redact_url(&url),
                source: Source::Urls(vec![url]),
            });
        }
        if let Some(spec) = raw.strip_prefix("brew:") {
            let brew = BrewTarget::parse(spec).map_err(|reason| TargetError::Homebrew {
                target: raw.to_owned(),
                reason,
            })?;
            return Ok(Target {
                id: raw.to_owned(),
                source: Source::Homebrew(brew),
            });
        }
        let reference = Reference::parse(raw).map_err(TargetError::Reference)?;
        Ok(Target {
            id: reference.to_string(),
            source: Source::Oci(reference, platforms.clone()),
        })
    }
}

impl Platforms {
    /// `--platform` values (or a plan's `platforms`): `all`, or `os/arch[/variant]`
    /// (several); linux/amd64 when none.
    pub fn parse(raw: &[String]) -> Result<Platforms, TargetError> {
        if raw.is_empty() {
            return Ok(Platforms::default_selection());
        }
        if raw.iter().any(|p| p == "all") {
            return Ok(Platforms::All);
        }
        for p in raw {
            let parts: Vec<&str> = p.split('/').collect();
            let ok = (2..=3).contains(&parts.len())
                && parts.iter().all(|x| {
                    !x.is_empty()
                        && x.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
                });
            if !ok {
                return Err(TargetError::Platform(p.clone()));
            }
        }
        Ok(Platforms::Only(raw.to_vec()))
    }
}

/// A fetched target: the complete artifact, and what Tor saw of its streams (empty for other
/// transports), for progress reports.
#[derive(Debug)]
pub struct Fetched {
    /// The artifact, as the transcript records it.
    pub artifact: Artifact,
    /// What was read of the body as [`FetchOptions::watch`] asked (of a file artifact that
    /// was fetched completely; nothing otherwise).
    pub watched: crate::Watched,
    /// Over the embedded Tor client: the exits, circuits, retries and failures of the
    /// artifact's streams.
    pub tor: Streams,
}

impl Client {
    /// Fetches a target on this client's streams and returns the complete artifact: content
    /// or error, the evidence of every request, and the Tor exits this client's streams used.
    /// Why Tor could not open a stream is added to a connect error's message. Give each
    /// target a client of its own ([`Client::isolated`]) so that, over Tor, its circuits are
    /// its own and so are the exits recorded with it.
    pub async fn fetch(&self, target: &Target, options: &FetchOptions) -> Fetched {
        let id = target.id.clone();
        let (mut artifact, watched) = match &target.source {
            Source::Urls(urls) => self.fetch_artifact(id, urls, options).await,
            Source::Oci(reference, platforms) => (
                self.fetch_oci(id, reference, platforms, options).await,
                crate::Watched::default(),
            ),
            Source::Homebrew(brew) => (
                self.fetch_homebrew(id, brew, options).await,
                crate::Watched::default(),
            ),
        };
        let tor = self.tor_streams();
        artifact.tor_exits = tor.exits.clone();
        if let Some(error) = &mut artifact.error
            && error.code == ErrorCode::Connect
            && !tor.errors.is_empty()
        {
            error.message = format!("{} (Tor: {})", error.message, tor.errors.join("; "));
        }
        Fetched {
            artifact,
            watched,
            tor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms() {
        let parse = |raw: &[&str]| {
            Platforms::parse(&raw.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(parse(&[]).unwrap(), Platforms::default_selection());
        assert_eq!(parse(&["linux/arm64", "all"]).unwrap(), Platforms::All);
        assert_eq!(
            parse(&["linux/arm64/v8"]).unwrap(),
            Platforms::Only(vec!["linux/arm64/v8".to_owned()])
        );
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d", "linux/amd 64"] {
            assert!(
                matches!(parse(&[bad]), Err(TargetError::Platform(p)) if p == bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn targets() {
        let all = Platforms::All;
        let t = Target::parse("https://user:pw@example.test/a.iso", &all).unwrap();
        assert!(matches!(t.source, Source::Urls(ref u) if u.len() == 1));
        assert!(!t.id.contains("pw"), "{}", t.id);
        let t = Target::parse("brew:wget@arm64_sonoma", &all).unwrap();
        assert_eq!(t.id, "brew:wget@arm64_sonoma");
        assert!(matches!(t.source, Source::Homebrew(_)));
        let t = Target::parse("debian:bookworm", &all).unwrap();
        assert_eq!(t.id, "docker.io/library/debian:bookworm");
        assert!(matches!(t.source, Source::Oci(_, Platforms::All)));
        assert!(matches!(
            Target::parse("https://", &all),
            Err(TargetError::Url(_))
        ));
        // A URL that does not parse is echoed without its secrets.
        let e = Target::parse("https://ghp_s3cr3t@/f?accessToken=s3cr3t", &all).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#""https://REDACTED@/f?accessToken=REDACTED" is not a valid URL"#
        );
        assert!(matches!(
            Target::parse("brew:", &all),
            Err(TargetError::Homebrew { .. })
        ));
        assert!(matches!(
            Target::parse("Not A Reference", &all),
            Err(TargetError::Reference(_))
        ));
    }
}
