//! Anonymous bearer tokens: a registry that answers 401 with a `Bearer` challenge names a
//! token endpoint (realm); tofu asks it for a pull-only token — but only a realm on the
//! registry's own host (or Docker Hub's known auth host), over https. A realm elsewhere
//! could point tofu at any address, so it is refused.

use reqwest::header::{self, HeaderMap, HeaderValue};
use tofu_record::redact::{redact_text, redact_url};
use url::Url;

use super::error::OciError;
use crate::transport::Client;

/// A parsed `Bearer` challenge.
pub(super) struct Challenge {
    pub(super) realm: Url,
    pub(super) service: Option<String>,
    pub(super) scope: Option<String>,
}

/// Parses `WWW-Authenticate` values (RFC 7235: several challenges, quoted strings with
/// escapes) and returns the Bearer challenge.
pub(super) fn bearer_challenge(values: &[&str]) -> Result<Challenge, OciError> {
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
                    realm: redact_text(&realm),
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
pub(super) fn check_realm(realm: &Url, registry: &Url) -> Result<(), OciError> {
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
    pub(super) async fn bearer_token(
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
        let body = self
            .read_capped(response, 1 << 20, |limit| OciError::TooLarge {
                what: "token answer",
                limit,
            })
            .await?;
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
pub(super) fn challenges(headers: &HeaderMap) -> Vec<&str> {
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

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A parameter value: URLs (good and bad), tokens, and text with quotes and backslashes.
    fn param_value() -> impl Strategy<Value = String> {
        prop_oneof![
            "https://(auth\\.docker\\.io|127\\.0\\.0\\.1:5000|ghcr\\.io)/token(\\?x=[a-z]{1,4})?",
            "(http|ftp|https)://[a-z0-9.:@\\[\\]]{0,20}(/[ -~]{0,10})?",
            "[a-z:/._-]{0,20}",
            "[ -~]{0,20}",
        ]
    }

    /// A parameter's name, value, and whether it is written bare when it can be.
    type Param = (String, String, bool);

    /// A challenge's scheme and parameters.
    type Written = (String, Vec<Param>);

    /// One challenge: a scheme and parameters with distinct names, values quoted or not.
    fn challenge() -> impl Strategy<Value = Written> {
        let scheme = "(Bearer|bearer|BEARER|Basic|Digest|Negotiate|[A-Za-z][A-Za-z0-9-]{0,8})";
        let name = "(realm|Realm|REALM|service|Service|scope|error|[a-z]{1,6})";
        let params = proptest::collection::vec((name, param_value(), any::<bool>()), 0..5)
            .prop_map(|mut params| {
                let mut seen = std::collections::BTreeSet::new();
                params.retain(|(n, _, _)| seen.insert(n.to_ascii_lowercase()));
                params
            });
        (scheme, params)
    }

    /// RFC 7235 text for challenges: token values bare when they can be, else quoted with
    /// `"` and `\` escaped.
    fn render(challenges: &[Written]) -> String {
        let is_token = |v: &str| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        };
        challenges
            .iter()
            .map(|(scheme, params)| {
                let params: Vec<String> = params
                    .iter()
                    .map(|(name, value, bare)| {
                        if *bare && is_token(value) {
                            format!("{name}={value}")
                        } else {
                            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
                            format!("{name}=\"{escaped}\"")
                        }
                    })
                    .collect();
                if params.is_empty() {
                    scheme.clone()
                } else {
                    format!("{scheme} {}", params.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// URLs a registry or a realm may be: a few schemes, hosts and ports, with or without
    /// credentials.
    fn url() -> impl Strategy<Value = Url> {
        let scheme = prop_oneof![3 => Just("https"), 1 => Just("http"), 1 => Just("ftp")];
        let host = proptest::sample::select(vec![
            "registry-1.docker.io",
            "auth.docker.io",
            "127.0.0.1",
            "127.0.0.2",
            "ghcr.io",
            "GHCR.io",
            "evil.example",
            "[::1]",
            "169.254.169.254",
        ]);
        let port = proptest::option::of(proptest::sample::select(vec![443u16, 80, 5000, 8443]));
        let user = proptest::option::of("[a-z]{1,4}(:[a-z]{1,4})?@");
        (scheme, user, host, port, "(/[a-z0-9._-]{0,8}){0,3}").prop_map(
            |(scheme, user, host, port, path)| {
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                let user = user.unwrap_or_default();
                Url::parse(&format!("{scheme}://{user}{host}{port}{path}")).unwrap()
            },
        )
    }

    proptest! {
        /// `bearer_challenge` never panics on any header values, and its errors are the
        /// typed ones (`Auth`, `TokenRealm`).
        #[test]
        fn challenge_parsing_never_panics(
            values in proptest::collection::vec(any::<String>(), 0..4),
        ) {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            match bearer_challenge(&values) {
                Ok(c) => prop_assert!(!c.realm.as_str().is_empty()),
                Err(OciError::Auth(_) | OciError::TokenRealm { .. }) => {}
                Err(e) => prop_assert!(false, "untyped refusal {:?}", e),
            }
        }

        /// On well-formed challenge lists, the first Bearer challenge decides: its realm
        /// (unescaped, and a URL) is returned with its service and scope; without one, or
        /// without a realm, the answer is refused as `Auth`; a realm that is not a URL is
        /// refused as `TokenRealm`.
        #[test]
        fn first_bearer_challenge_wins(
            challenges in proptest::collection::vec(challenge(), 1..4),
            split in any::<bool>(),
        ) {
            let rendered: Vec<String> = if split {
                challenges.iter().map(|c| render(std::slice::from_ref(c))).collect()
            } else {
                vec![render(&challenges)]
            };
            let values: Vec<&str> = rendered.iter().map(String::as_str).collect();
            let got = bearer_challenge(&values);
            let bearer = challenges.iter().find(|(s, _)| s.eq_ignore_ascii_case("bearer"));
            let param = |params: &[Param], name: &str| {
                params
                    .iter()
                    .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v, _)| v.clone())
            };
            match bearer.map(|(_, params)| (param(params, "realm"), params)) {
                None | Some((None, _)) => {
                    prop_assert!(matches!(got, Err(OciError::Auth(_))), "{:?}", rendered);
                }
                Some((Some(realm), params)) => match Url::parse(&realm) {
                    Ok(url) => {
                        let c = got.unwrap_or_else(|e| panic!("{rendered:?}: {e}"));
                        prop_assert_eq!(c.realm, url);
                        prop_assert_eq!(c.service, param(params, "service"));
                        prop_assert_eq!(c.scope, param(params, "scope"));
                    }
                    Err(_) => {
                        prop_assert!(
                            matches!(got, Err(OciError::TokenRealm { .. })),
                            "{:?}",
                            rendered
                        );
                    }
                },
            }
        }

        /// What `check_realm` accepts is an https realm on the registry's own host and port,
        /// or Docker Hub's auth host for Docker Hub; an https realm with the registry's
        /// origin is always accepted.
        #[test]
        fn realm_acceptance_is_sound(realm in url(), registry in url()) {
            let accepted = check_realm(&realm, &registry).is_ok();
            if accepted {
                prop_assert_eq!(realm.scheme(), "https");
                let hub = registry.host_str() == Some("registry-1.docker.io");
                if hub {
                    prop_assert_eq!(realm.host_str(), Some("auth.docker.io"));
                } else {
                    prop_assert_eq!(realm.scheme(), registry.scheme());
                    prop_assert_eq!(realm.host_str(), registry.host_str());
                    prop_assert_eq!(
                        realm.port_or_known_default(),
                        registry.port_or_known_default()
                    );
                }
            }
            let same_place = realm.host_str() == registry.host_str()
                && realm.port_or_known_default() == registry.port_or_known_default();
            if realm.scheme() == "https" && registry.scheme() == "https" && same_place
                && registry.host_str() != Some("registry-1.docker.io")
            {
                prop_assert!(accepted, "{} refused for {}", realm, registry);
            }
        }
    }
}
