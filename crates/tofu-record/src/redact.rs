//! Redaction of secrets in URLs before they reach a transcript, a log or an error: the
//! password of a URL's userinfo, and the values of query parameters that carry credentials
//! or signatures (signed CDN links, tokens). Everything else stays, because the path and the
//! ordinary query are part of what identifies an artifact.

use url::Url;

/// The text that replaces a secret.
pub const REDACTED: &str = "REDACTED";

/// Query parameter names (lowercase) whose values are secrets, or prefixes thereof.
const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "api_key",
    "apikey",
    "auth",
    "authorization",
    "code",
    "credential",
    "expires",
    "key",
    "key-pair-id",
    "password",
    "policy",
    "se",
    "secret",
    "sig",
    "signature",
    "sp",
    "st",
    "sv",
    "token",
    "verify",
    "x-amz-",
    "x-goog-",
    "x-ms-",
];

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|p| {
        if p.ends_with('-') {
            name.starts_with(p)
        } else {
            name == *p || name.ends_with(&format!("_{p}")) || name.ends_with(&format!("-{p}"))
        }
    })
}

/// The URL with its password and secret query values replaced by `REDACTED`. The username
/// stays visible only when there is no password; with one, both are replaced.
pub fn redact_url(url: &Url) -> String {
    let mut out = url.clone();
    if out.password().is_some() {
        let _ = out.set_username(REDACTED);
        let _ = out.set_password(Some(REDACTED));
    }
    if out.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_param(&k) {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        if pairs.iter().any(|(_, v)| v == REDACTED) {
            out.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    out.to_string()
}

/// The URL without any userinfo at all: for proxies, whose credentials are not recorded.
pub fn without_credentials(url: &Url) -> String {
    let mut out = url.clone();
    let _ = out.set_username("");
    let _ = out.set_password(None);
    out.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        let url = Url::parse(
            "https://user:hunter2@cdn.example/f.iso?version=3&X-Amz-Signature=abc&token=t0k",
        )
        .unwrap();
        let red = redact_url(&url);
        assert!(!red.contains("hunter2") && !red.contains("abc") && !red.contains("t0k"));
        assert!(red.contains("version=3"), "{red}");
        assert!(red.contains("X-Amz-Signature=REDACTED"), "{red}");
        assert_eq!(
            redact_url(&Url::parse("https://e.example/a?b=1").unwrap()),
            "https://e.example/a?b=1"
        );
        assert_eq!(
            without_credentials(&Url::parse("socks5h://u:p@127.0.0.1:1080").unwrap()),
            "socks5h://127.0.0.1:1080"
        );
    }
}
