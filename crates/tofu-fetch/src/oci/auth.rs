//! Anonymous bearer tokens: a registry that answers 401 with a `Bearer` challenge names a
//! token endpoint (realm); tofu asks it for a pull-only token — but only a realm on the
//! registry's own host (or Docker Hub's known auth host), over https. A realm elsewhere
//! could point tofu at any address, so it is refused.

use reqwest::header::{self, HeaderMap, HeaderValue};
use tofu_record::redact::redact_url;
use url::Url;

use super::error::OciError;
use crate::transport::Client;

/// A parsed `Bearer` challenge.
pub(crate) struct Challenge {
    pub(crate) realm: Url,
    pub(crate) service: Option<String>,
    pub(crate) scope: Option<String>,
}

/// Parses `WWW-Authenticate` values (RFC 7235: several challenges, quoted strings with
/// escapes) and returns the Bearer challenge.
pub(crate) fn bearer_challenge(values: &[&str]) -> Result<Challenge, OciError> {
    let mut schemes = Vec::new();
    for value in values {
        let challenges = http_auth::parse_challenges(value)
            .map_err(|e| OciError::Auth(format!("unparsable WWW-Authenticate: {e}")))?;
        for c in challenges {
            if c.scheme.eq_ignore_ascii_case("bearer") {
                let param = |name: &str| {
                    c.params
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.to_unescaped())
                };
                let realm = param("realm")
                    .ok_or_else(|| OciError::Auth("a Bearer challenge without realm".to_owned()))?;
                let realm = Url::parse(&realm).map_err(|e| OciError::TokenRealm {
                    realm: realm.clone(),
                    why: format!("not a URL: {e}"),
                })?;
                return Ok(Challenge {
                    realm,
                    service: param("service"),
                    scope: param("scope"),
                });
            }
            schemes.push(c.scheme.to_owned());
        }
    }
    Err(OciError::Auth(format!(
        "it offers {} but no anonymous Bearer token",
        if schemes.is_empty() {
            "nothing".to_owned()
        } else {
            schemes.join(", ")
        }
    )))
}

/// The realm must be https on the registry's host, or Docker Hub's auth host for Docker Hub.
pub(crate) fn check_realm(realm: &Url, registry: &Url) -> Result<(), OciError> {
    let refuse = |why: String| OciError::TokenRealm {
        realm: redact_url(realm),
        why,
    };
    if realm.scheme() != "https" {
        return Err(refuse("the token endpoint is not https".to_owned()));
    }
    let (realm_host, registry_host) = (realm.host_str(), registry.host_str());
    let allowed = match registry_host {
        Some("registry-1.docker.io") => realm_host == Some("auth.docker.io"),
        _ => realm.origin() == registry.origin(),
    };
    if !allowed {
        return Err(refuse(format!(
            "it is on {}, not on the registry {}",
            realm.host_str().unwrap_or("?"),
            registry.host_str().unwrap_or("?")
        )));
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
}

impl Client {
    /// Asks the realm for an anonymous pull token for `repository`.
    pub(crate) async fn bearer_token(
        &self,
        challenge: &Challenge,
        repository: &str,
    ) -> Result<HeaderValue, OciError> {
        let mut url = challenge.realm.clone();
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = &challenge.service {
                query.append_pair("service", service);
            }
            let scope = challenge
                .scope
                .clone()
                .unwrap_or_else(|| format!("repository:{repository}:pull"));
            query.append_pair("scope", &scope);
        }
        let realm = redact_url(&challenge.realm);
        let token_err = |why: String| OciError::Token {
            realm: realm.clone(),
            why,
        };
        let mut hops = Vec::new();
        let (response, _) = self
            .get_following(&url, &HeaderMap::new(), None, &mut hops)
            .await?;
        if !response.status().is_success() {
            return Err(token_err(format!("it answered {}", response.status())));
        }
        let body = super::read_capped(response, 1 << 20, "token answer").await?;
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| token_err(format!("the answer is not token JSON: {e}")))?;
        let token = answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| token_err("the answer holds no token".to_owned()))?;
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| token_err("the token is not a valid header value".to_owned()))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// Every `WWW-Authenticate` value of a response.
pub(crate) fn challenges(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_and_realms() {
        let c = bearer_challenge(&[
            r#"Basic realm="x", Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull""#,
        ])
        .unwrap();
        assert_eq!(c.realm.as_str(), "https://auth.docker.io/token");
        assert_eq!(c.service.as_deref(), Some("registry.docker.io"));
        assert_eq!(c.scope.as_deref(), Some("repository:library/debian:pull"));
        assert!(matches!(
            bearer_challenge(&[r#"Basic realm="registry""#]),
            Err(OciError::Auth(_))
        ));
        let hub = Url::parse("https://registry-1.docker.io/v2/").unwrap();
        assert!(check_realm(&c.realm, &hub).is_ok());
        let local = Url::parse("https://127.0.0.1:5000/v2/").unwrap();
        assert!(check_realm(&Url::parse("https://127.0.0.1:5000/token").unwrap(), &local).is_ok());
        for bad in [
            "https://127.0.0.2:5000/token",
            "http://127.0.0.1:5000/token",
            "https://169.254.169.254/",
        ] {
            assert!(
                check_realm(&Url::parse(bad).unwrap(), &local).is_err(),
                "{bad}"
            );
        }
    }
}
