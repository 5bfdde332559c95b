//! Redaction of secrets in URLs before they reach a transcript, a log or an error: any
//! userinfo (a token often rides in the username alone), and the values of parameters whose
//! names say they carry credentials or signatures (signed CDN links, tokens), in the query,
//! the fragment (OAuth's implicit flow puts `access_token` there) and `;` path parameters.
//! Everything else stays, because the path and the ordinary query are part of what
//! identifies an artifact.
//!
//! Names are compared by their words, so one entry covers every spelling: `accessToken`,
//! `access-token`, `ACCESS_TOKEN` and `__access_token__` are all `access token`.

use url::Url;
use url::form_urlencoded;

/// The text that replaces a secret.
pub const REDACTED: &str = "REDACTED";

/// Parameter names whose values are secrets, as their words joined in lowercase
/// (`Key-Pair-Id` is `keypairid`). A name matches when all its words, or its last word,
/// are one of these: `token` covers `upload_token` and `hdnts` is Akamai's whole name.
const SECRET_NAMES: &[&str] = &[
    // Generic credentials.
    "auth",
    "authorization",
    "code",
    "credential",
    "credentials",
    "jwt",
    "key",
    "accesskey",
    "apikey",
    "privatekey",
    "secretkey",
    "pass",
    "passwd",
    "password",
    "pwd",
    "secret",
    "token",
    // Session cookies that servers put in URLs.
    "jsessionid",
    "phpsessid",
    "sessionid",
    // Signed links: CloudFront (`Signature`, `Key-Pair-Id`, `Policy`, `Expires`), Akamai
    // (`hdnts`, `hdnea`, `__token__`, `__gda__`), Azure SAS (`sig`, `se`, `sp`, `st`, `sv`),
    // and others' `hmac`, `verify`.
    "expires",
    "gda",
    "hdnea",
    "hdnts",
    "hmac",
    "keypairid",
    "policy",
    "se",
    "sig",
    "signature",
    "sp",
    "st",
    "sv",
    "verify",
];

/// Endings of a name written as one lowercase word (`accesstoken`, `clientsecret`), whose
/// words cannot be told apart. Only endings that no ordinary word has.
const SECRET_ENDINGS: &[&str] = &[
    "credential",
    "credentials",
    "password",
    "secret",
    "signature",
    "token",
];

/// Families whose every parameter is part of a signature or a credential (AWS SigV4's
/// `X-Amz-*`, Google's `X-Goog-*`, Azure's `x-ms-*`), as the joined first words.
const SECRET_FAMILIES: &[&str] = &["xamz", "xgoog", "xms"];

/// The words of a parameter name, lowercase: split at every non-alphanumeric character
/// and where camelCase starts a word (`XAmzSignature` is `x amz signature`, `ACCESS_TOKEN`
/// is `access token`).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            words.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
            continue;
        }
        let starts_word = c.is_uppercase()
            && i > 0
            && (chars[i - 1].is_lowercase()
                || chars[i - 1].is_numeric()
                || (chars[i - 1].is_uppercase()
                    && chars.get(i + 1).is_some_and(|n| n.is_lowercase())));
        if starts_word && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.extend(c.to_lowercase());
    }
    words.extend((!word.is_empty()).then_some(word));
    words
}

/// Whether a parameter with this (decoded) name carries a secret.
fn is_secret_param(name: &str) -> bool {
    let words = words(name);
    let joined = words.concat();
    let last = words.last().map_or("", String::as_str);
    let family = |f: &&str| {
        // Words, not the joined name, so that `xmsize` is not Azure's.
        let mut prefix = String::new();
        words.iter().any(|w| {
            prefix.push_str(w);
            prefix == *f
        })
    };
    SECRET_NAMES.contains(&joined.as_str())
        || SECRET_NAMES.contains(&last)
        || SECRET_ENDINGS.iter().any(|e| joined.ends_with(e))
        || SECRET_FAMILIES.iter().any(family)
}

/// `raw` (a query, a fragment or a segment's `;` parameters, still percent-encoded) with the
/// value of every secret `name=value` replaced. Pairs are split at `&` and at `;`, the older
/// separator; everything that is not a secret value is kept byte for byte.
fn redact_pairs(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for piece in raw.split_inclusive(['&', ';']) {
        let (pair, separator) = match piece.strip_suffix(['&', ';']) {
            Some(pair) => (pair, &piece[pair.len()..]),
            None => (piece, ""),
        };
        match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() && is_secret_param(&decoded(name)) => {
                out.push_str(name);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(pair),
        }
        out.push_str(separator);
    }
    out
}

/// A percent- and `+`-encoded name, decoded as a form would be.
fn decoded(name: &str) -> String {
    form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

/// A path with the secrets of its segments' `;` parameters (`/f.iso;jsessionid=…`) replaced.
fn redact_path(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.split_once(';') {
            Some((head, params)) => format!("{head};{}", redact_pairs(params)),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The URL with its userinfo and its secret parameter values replaced by `REDACTED`. Any
/// userinfo is replaced, a username alone too: `https://TOKEN@host/` is a common way to
/// pass a token.
pub fn redact_url(url: &Url) -> String {
    let mut out = url.clone();
    if !url.username().is_empty() || url.password().is_some() {
        // Only URLs without a host (which have no userinfo either) refuse these.
        let _ = out.set_username(REDACTED);
        if url.password().is_some() {
            let _ = out.set_password(Some(REDACTED));
        }
    }
    let path = redact_path(url.path());
    if path != url.path() {
        out.set_path(&path);
    }
    if let Some(query) = url.query() {
        out.set_query(Some(&redact_pairs(query)));
    }
    if let Some(fragment) = url.fragment() {
        out.set_fragment(Some(&redact_pairs(fragment)));
    }
    out.to_string()
}

/// Text that was meant to be a URL, for an error that must say which: as it was when it holds
/// no secret; [`redact_url`] when it parses and does; else the same rules applied to its
/// parts as best they can be found (whatever precedes the last `@` of the authority is
/// userinfo).
pub fn redact_text(raw: &str) -> String {
    if let Ok(url) = Url::parse(raw) {
        let redacted = redact_url(&url);
        // The user's own spelling, not the parser's normal form, when nothing was hidden.
        return if redacted == url.as_str() {
            raw.to_owned()
        } else {
            redacted
        };
    }
    let (rest, fragment) = split_keep(raw, '#');
    let (rest, query) = split_keep(rest, '?');
    let (scheme, after) = match rest.split_once("://") {
        Some((scheme, after)) => (format!("{scheme}://"), after),
        None => (String::new(), rest),
    };
    let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("{REDACTED}@{host}"),
        None => authority.to_owned(),
    };
    let mut out = format!("{scheme}{authority}{}", redact_path(path));
    for (mark, part) in [('?', query), ('#', fragment)] {
        if let Some(part) = part {
            out.push(mark);
            out.push_str(&redact_pairs(part));
        }
    }
    out
}

/// Free text a person wrote (a run's `--label`), with each word that names a URL redacted as
/// [`redact_text`] does: `fra via socks5h://u:p@h:1080, job 7` keeps its words and loses the
/// password (as `REDACTED:REDACTED`). Words are split at whitespace, which is kept as it was.
pub fn redact_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive(char::is_whitespace) {
        if !piece.contains("://") {
            out.push_str(piece);
            continue;
        }
        // The word, then what follows the URL: a comma or full stop is the sentence's, and
        // the whitespace after it stays as it was.
        let word = piece.trim_end_matches(char::is_whitespace);
        let url = word.trim_end_matches([',', '.', ';', ')']);
        out.push_str(&redact_text(url));
        out.push_str(&piece[url.len()..]);
    }
    out
}

/// `s` before the first `mark`, and what follows it if it is there.
fn split_keep(s: &str, mark: char) -> (&str, Option<&str>) {
    match s.split_once(mark) {
        Some((before, after)) => (before, Some(after)),
        None => (s, None),
    }
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

    fn red(url: &str) -> String {
        redact_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        assert_eq!(
            red("https://user:hunter2@cdn.example/f.iso?version=3&X-Amz-Signature=abc&token=t0k"),
            "https://REDACTED:REDACTED@cdn.example/f.iso?version=3&X-Amz-Signature=REDACTED&token=REDACTED"
        );
        assert_eq!(red("https://e.example/a?b=1"), "https://e.example/a?b=1");
        assert_eq!(
            without_credentials(&Url::parse("socks5h://u:p@127.0.0.1:1080").unwrap()),
            "socks5h://127.0.0.1:1080"
        );
    }

    #[test]
    fn a_username_alone_is_a_secret_too() {
        assert_eq!(
            red("https://ghp_abc123@github.com/o/r.git"),
            "https://REDACTED@github.com/o/r.git"
        );
        assert_eq!(
            red("https://:pw@e.example/"),
            "https://REDACTED:REDACTED@e.example/"
        );
    }

    #[test]
    fn every_spelling_of_a_secret_name_is_redacted() {
        let names = [
            // One name, every case and separator.
            "access_token",
            "accessToken",
            "AccessToken",
            "access-token",
            "ACCESS_TOKEN",
            "accesstoken",
            "__access_token__",
            "id_token",
            "refreshToken",
            "client_secret",
            "clientSecret",
            "api_key",
            "apiKey",
            "x-api-key",
            "password",
            "jwt",
            "JWT",
            // Akamai.
            "hdnts",
            "hdnea",
            "__token__",
            "__gda__",
            // CloudFront.
            "Signature",
            "Key-Pair-Id",
            "Policy",
            "Expires",
            // AWS SigV4, Google, Azure.
            "X-Amz-Signature",
            "x-amz-security-token",
            "X-Amz-Credential",
            "X-Amz-Date",
            "XAmzSignature",
            "X-Goog-Signature",
            "x-ms-blob-type",
            "sig",
            "se",
            "sv",
            // Session ids.
            "jsessionid",
            "JSESSIONID",
        ];
        for name in names {
            let url = format!("https://e.example/f?v=1&{name}=s3cr3t&arch=amd64");
            let got = red(&url);
            assert!(!got.contains("s3cr3t"), "{name}: {got}");
            assert!(got.contains(&format!("{name}=REDACTED")), "{name}: {got}");
            assert!(
                got.contains("v=1") && got.contains("arch=amd64"),
                "{name}: {got}"
            );
        }
    }

    #[test]
    fn ordinary_names_stay_visible() {
        for name in [
            "version",
            "v",
            "arch",
            "os",
            "file",
            "filename",
            "release",
            "mirror",
            "token_type",
            "tokens_left",
            "keyring",
            "monkey",
            "policy_name",
            "xmsize",
            "signed",
            "expires_in",
            "session",
            "id",
            "download",
        ] {
            let url = format!("https://e.example/f?{name}=visible");
            assert_eq!(red(&url), url, "{name}");
        }
    }

    #[test]
    fn urls_in_free_text_lose_their_secrets_and_the_words_stay() {
        assert_eq!(
            redact_words("fra via socks5h://alice:s3cr3t@10.0.0.1:1080, job 7"),
            "fra via socks5h://REDACTED:REDACTED@10.0.0.1:1080, job 7"
        );
        assert_eq!(
            redact_words("laptop,\thome ISP (see https://e.example/r?token=s3cr3t)."),
            "laptop,\thome ISP (see https://e.example/r?token=REDACTED)."
        );
        assert_eq!(
            redact_words("ops@example.org, office"),
            "ops@example.org, office"
        );
        assert_eq!(redact_words(""), "");
    }

    #[test]
    fn fragments_path_parameters_and_semicolons_are_redacted() {
        assert_eq!(
            red("https://e.example/cb#access_token=s3cr3t&token_type=bearer&expires_in=3600"),
            "https://e.example/cb#access_token=REDACTED&token_type=bearer&expires_in=3600"
        );
        assert_eq!(
            red("https://e.example/a#section-2"),
            "https://e.example/a#section-2"
        );
        assert_eq!(
            red("https://e.example/d;jsessionid=s3cr3t/f.iso;v=2"),
            "https://e.example/d;jsessionid=REDACTED/f.iso;v=2"
        );
        assert_eq!(
            red("https://e.example/f?v=1;token=s3cr3t"),
            "https://e.example/f?v=1;token=REDACTED"
        );
        // Encoded names are matched decoded; untouched parts keep their encoding.
        assert_eq!(
            red("https://e.example/f?q=a%20b&access%5Ftoken=s3cr3t&x=%2F"),
            "https://e.example/f?q=a%20b&access%5Ftoken=REDACTED&x=%2F"
        );
    }

    #[test]
    fn text_that_is_not_a_url_is_redacted_as_well_as_it_can_be() {
        assert_eq!(
            redact_text("https://tok:pw@/f?accessToken=s3cr3t&v=1#jwt=s3cr3t"),
            "https://REDACTED@/f?accessToken=REDACTED&v=1#jwt=REDACTED"
        );
        assert_eq!(
            redact_text("https://ghp_x@e.example/r"),
            "https://REDACTED@e.example/r"
        );
        assert_eq!(redact_text("not a url"), "not a url");
        // Nothing hidden: the text as given, not the parser's normal form.
        assert_eq!(redact_text("ftp://E.example"), "ftp://E.example");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// What must never come out: alphanumeric, so that no encoding changes it.
        const HIDDEN: &str = "Zq9HiddenMarker";
        /// What must come out: a marker in an ordinary parameter or in the path.
        const SHOWN: &str = "Zq9ShownMarker";

        /// Names of secrets as lists of words, spelt in every style below.
        const SECRET_WORDS: &[&[&str]] = &[
            &["access", "token"],
            &["token"],
            &["jwt"],
            &["hdnts"],
            &["signature"],
            &["key", "pair", "id"],
            &["policy"],
            &["x", "amz", "signature"],
            &["x", "amz", "security", "token"],
            &["x", "goog", "credential"],
            &["api", "key"],
            &["client", "secret"],
            &["refresh", "token"],
            &["password"],
            &["sig"],
        ];
        const ORDINARY: &[&str] = &["version", "arch", "os", "release", "file", "channel", "v"];

        fn spell(words: &[&str], style: u8) -> String {
            let cap = |w: &str| w[..1].to_uppercase() + &w[1..];
            match style {
                0 => words.join("_"),
                1 => words.join("-"),
                2 => words.join("_").to_uppercase(),
                3 => words.iter().map(|w| cap(w)).collect::<Vec<_>>().join("-"),
                4 => words[0].to_owned() + &words[1..].iter().map(|w| cap(w)).collect::<String>(),
                5 => words.iter().map(|w| cap(w)).collect(),
                6 => format!("__{}__", words.join("_")),
                _ => words.concat(),
            }
        }

        /// Where the hidden marker goes, and the URL's other parts.
        #[derive(Debug, Clone)]
        enum Spot {
            User,
            Password,
            UserBeforePassword,
            Query(String),
            Fragment(String),
            PathParam(String),
        }

        fn spot() -> impl Strategy<Value = Spot> {
            let name = (proptest::sample::select(SECRET_WORDS), 0u8..8)
                .prop_map(|(words, style)| spell(words, style));
            prop_oneof![
                Just(Spot::User),
                Just(Spot::Password),
                Just(Spot::UserBeforePassword),
                name.clone().prop_map(Spot::Query),
                name.clone().prop_map(Spot::Fragment),
                name.prop_map(Spot::PathParam),
            ]
        }

        /// A URL with `HIDDEN` at `spot`, `SHOWN` in an ordinary parameter or the path, and
        /// ordinary parameters around them.
        fn build(spot: &Spot, around: &[(&str, String)], shown_in_path: bool) -> String {
            let secret = format!("{HIDDEN}x");
            let userinfo = match spot {
                Spot::User => format!("{secret}@"),
                Spot::Password => format!("user:{secret}@"),
                Spot::UserBeforePassword => format!("{secret}:pw@"),
                _ => String::new(),
            };
            let mut pairs: Vec<String> = around.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let path_param = match spot {
                Spot::PathParam(name) => format!(";{name}={secret}"),
                _ => String::new(),
            };
            if let Spot::Query(name) = spot {
                pairs.insert(pairs.len() / 2, format!("{name}={secret}"));
            }
            let shown = if shown_in_path {
                format!("/{SHOWN}")
            } else {
                pairs.push(format!("release={SHOWN}"));
                String::new()
            };
            let fragment = match spot {
                Spot::Fragment(name) => format!("#{name}={secret}&token_type=bearer"),
                _ => String::new(),
            };
            format!(
                "https://{userinfo}cdn.example:8443/dist{shown}/f.iso{path_param}?{}{fragment}",
                pairs.join("&")
            )
        }

        proptest! {
            #[test]
            fn a_secret_anywhere_in_a_url_is_redacted_and_the_rest_is_not(
                spot in spot(),
                around in proptest::collection::vec(
                    (proptest::sample::select(ORDINARY), "[a-z0-9.]{1,8}"), 0..4),
                shown_in_path in any::<bool>(),
            ) {
                let url = build(&spot, &around.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>(), shown_in_path);
                let got = redact_url(&Url::parse(&url).unwrap());
                prop_assert!(!got.contains(HIDDEN), "{url} → {got}");
                prop_assert!(got.contains(SHOWN), "{url} → {got}");
                prop_assert!(got.contains("cdn.example:8443/dist"), "{url} → {got}");
                for (k, v) in &around {
                    prop_assert!(got.contains(&format!("{k}={v}")), "{url} → {got}");
                }
                // The same when the text does not parse as a URL (here, without a host).
                let broken = url.replace("cdn.example:8443", "");
                let got = redact_text(&broken);
                prop_assert!(!got.contains(HIDDEN), "{broken} → {got}");
                prop_assert!(got.contains(SHOWN), "{broken} → {got}");
            }
        }
    }
}
