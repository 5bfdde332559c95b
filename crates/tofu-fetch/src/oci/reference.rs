//! OCI references (`debian:bookworm`, `ghcr.io/homebrew/core/wget:1.24.5`,
//! `127.0.0.1:5000/x/y@sha256:…`), parsed and normalized the way docker and skopeo do: a
//! first component that holds `.` or `:` or is `localhost` is a registry, else the registry is
//! `docker.io`, whose one-component names gain `library/`; no tag and no digest means
//! `latest`; with both, the digest wins.

use std::fmt;

/// A content digest, `sha256:<64 hex>` or `sha512:<128 hex>`, lowercase.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

/// A digest algorithm tofu verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    const ALL: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

    /// Everything tofu knows of an algorithm, in this one place: its name in `alg:hex` (and
    /// in an image layout's `blobs/alg/`), and ring's implementation, whose output length
    /// also gives the digest's hex length.
    fn spec(self) -> (&'static str, &'static ring::digest::Algorithm) {
        match self {
            Algorithm::Sha256 => ("sha256", &ring::digest::SHA256),
            Algorithm::Sha512 => ("sha512", &ring::digest::SHA512),
        }
    }

    /// The registered name: `sha256`, `sha512`.
    pub fn name(self) -> &'static str {
        self.spec().0
    }

    /// The algorithm registered under `name`, if tofu verifies it.
    fn named(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The length of a digest's hex part.
    fn hex_len(self) -> usize {
        self.spec().1.output_len() * 2
    }

    /// A hasher for a stream.
    pub(crate) fn context(self) -> ring::digest::Context {
        ring::digest::Context::new(self.spec().1)
    }

    /// The lowercase hex digest of `bytes`.
    fn hex_of(self, bytes: &[u8]) -> String {
        hex::encode(ring::digest::digest(self.spec().1, bytes))
    }
}

impl Digest {
    /// Parses `alg:hex` strictly (registered algorithms only, lowercase hex of the right
    /// length).
    pub fn parse(text: &str) -> Result<Digest, String> {
        let (alg, hex) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?} is not a digest (expected sha256:<hex>)"))?;
        let algorithm =
            Algorithm::named(alg).ok_or_else(|| format!("unsupported digest algorithm {alg:?}"))?;
        if hex.len() != algorithm.hex_len()
            || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(format!("{text:?} is not a well-formed {alg} digest"));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The digest of `bytes` with this digest's algorithm.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.algorithm.hex_of(bytes) == self.hex
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex part.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest {
            algorithm: Algorithm::Sha256,
            hex: Algorithm::Sha256.hex_of(bytes),
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

/// A normalized image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The registry as named: `docker.io`, `ghcr.io`, `127.0.0.1:5000`.
    pub registry: String,
    /// The repository path: `library/debian`, `homebrew/core/wget`.
    pub repository: String,
    /// The tag, when the reference has one and no digest.
    pub tag: Option<String>,
    /// The pinned digest.
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalizes a reference.
    pub fn parse(text: &str) -> Result<Reference, String> {
        let bad = |why: &str| format!("{text:?} is not an image reference: {why}");
        if text.is_empty() || text.len() > 512 || text.contains("://") {
            return Err(bad("expected [REGISTRY/]REPOSITORY[:TAG][@DIGEST]"));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, d)) => (rest, Some(Digest::parse(d).map_err(|e| bad(&e))?)),
            None => (text, None),
        };
        // A tag is after the last ':' that comes after the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag
            && !valid_tag(tag)
        {
            return Err(bad(&format!("{tag:?} is not a valid tag")));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (first.to_owned(), path.to_owned())
            }
            _ => ("docker.io".to_owned(), name.to_owned()),
        };
        if !valid_registry(&registry) {
            return Err(bad(&format!(
                "{registry:?} is not a valid registry (HOST[:PORT])"
            )));
        }
        let registry = canonical_registry(&registry).to_owned();
        let repository = if registry == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if !valid_repository(&repository) {
            return Err(bad(&format!(
                "{repository:?} is not a valid repository (lowercase letters, digits, \
                 separators)"
            )));
        }
        // docker's limit on the whole name; it also keeps the printed form (which may add
        // `docker.io/library/` or `:latest`) within the 512 bytes parsed above.
        if registry.len() + 1 + repository.len() > 255 {
            return Err(bad("the name REGISTRY/REPOSITORY is longer than 255 bytes"));
        }
        let tag = match (&digest, tag) {
            (Some(_), _) => None,
            (None, Some(t)) => Some(t.to_owned()),
            (None, None) => Some("latest".to_owned()),
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The host the registry API is reached at: Docker Hub's is `registry-1.docker.io`.
    pub fn api_host(&self) -> &str {
        if self.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }

    /// The tag or digest to ask the manifest endpoint for.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_owned(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(d) = &self.digest {
            write!(f, "@{d}")
        } else {
            write!(f, ":{}", self.tag.as_deref().unwrap_or("latest"))
        }
    }
}

fn valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && tag.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The name a registry is recorded under: Docker Hub's API host is `docker.io`.
pub(crate) fn canonical_registry(host: &str) -> &str {
    if host == "index.docker.io" {
        "docker.io"
    } else {
        host
    }
}

/// docker's `domain`: `HOST[:PORT]`, the host dot-separated labels of letters, digits and
/// inner `-`, or a bracketed IPv6 address.
fn valid_registry(registry: &str) -> bool {
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) if !host.starts_with('[') || host.ends_with(']') => (host, Some(port)),
        _ => (registry, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        }),
    };
    port_ok && host_ok
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` components joined by `/`.
fn valid_repository(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 255
        && path.split('/').all(|component| {
            let b = component.as_bytes();
            let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            !b.is_empty()
                && alnum(&b[0])
                && alnum(&b[b.len() - 1])
                && b.iter()
                    .all(|c| alnum(c) || matches!(c, b'.' | b'_' | b'-'))
                && !component.contains("..")
                && !component.contains("___")
                && !component.contains("._")
                && !component.contains("_.")
                && !component.contains(".-")
                && !component.contains("-.")
                && !component.contains("_-")
                && !component.contains("-_")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_docker() {
        let cases = [
            ("debian", "docker.io/library/debian:latest"),
            ("debian:bookworm", "docker.io/library/debian:bookworm"),
            (
                "docker.io/library/debian:bookworm",
                "docker.io/library/debian:bookworm",
            ),
            ("index.docker.io/debian", "docker.io/library/debian:latest"),
            ("user/repo:1", "docker.io/user/repo:1"),
            (
                "ghcr.io/homebrew/core/wget:1.24.5",
                "ghcr.io/homebrew/core/wget:1.24.5",
            ),
            ("localhost/x", "localhost/x:latest"),
            ("127.0.0.1:5000/x/y:v1", "127.0.0.1:5000/x/y:v1"),
        ];
        for (input, want) in cases {
            assert_eq!(
                Reference::parse(input).unwrap().to_string(),
                want,
                "{input}"
            );
        }
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("127.0.0.1:5000/x/y:tag@{d}")).unwrap();
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/x/y@{d}"));
        assert_eq!(r.manifest_ref(), d);
        assert_eq!(
            Reference::parse("debian").unwrap().api_host(),
            "registry-1.docker.io"
        );
        for bad in [
            "",
            "Debian",
            "https://example.com/x",
            "x@sha256:abc",
            "x@md5:0123",
            "x:bad tag",
            "x/-y",
            &format!("x@sha256:{}", "A".repeat(64)),
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn digests_verify_bytes() {
        let d = Digest::sha256_of(b"abc");
        assert!(d.matches(b"abc"));
        assert!(!d.matches(b"abd"));
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Digest-like strings: valid ones, and ones a character or an algorithm away from valid.
    fn near_digest() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(|b| format!("sha256:{}", hex::encode(b))),
            any::<[u8; 64]>().prop_map(|b| format!("sha512:{}", hex::encode(b))),
            "(sha256|sha512|sha384|md5|SHA256|sha256 |)(:|::|@|)[0-9a-fA-F]{62,66}",
            "(sha256|sha512):[0-9a-f]{120,130}",
            "sha256:[0-9a-f]{0,63}[g-zA-F:/ ][0-9a-f]{0,63}",
        ]
    }

    /// Reference-like strings: an optional registry, a path and a tag or digest, each valid
    /// or nearly so.
    fn near_reference() -> impl Strategy<Value = String> {
        let registry = prop_oneof![
            Just(String::new()),
            "(localhost|docker\\.io|index\\.docker\\.io|ghcr\\.io)/",
            "(127\\.0\\.0\\.1:5000|\\[::1\\]:5000|localhost:5000)/",
            "[a-zA-Z0-9-]{1,8}(\\.[a-zA-Z0-9-]{0,8}){0,2}(:[0-9a-z]{0,6})?/",
            "[ -~]{1,6}[.:][ -~]{0,6}/",
        ];
        let path = prop_oneof![
            3 => "[a-z0-9]{1,8}((\\.|_|__|-{1,2})[a-z0-9]{1,5}){0,2}(/[a-z0-9]{1,8}){0,2}",
            1 => "[a-z0-9]{1,10}([._-]{1,3}[a-zA-Z0-9]{0,5}){0,2}(/[a-z0-9._-]{0,10}){0,3}",
        ];
        let suffix = prop_oneof![
            Just(String::new()),
            ":[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}",
            ":[A-Za-z0-9_.-]{1,20}",
            ":[ -~]{0,5}",
            any::<[u8; 32]>().prop_map(|b| format!("@sha256:{}", hex::encode(b))),
            (":[a-z0-9]{1,5}", any::<[u8; 32]>())
                .prop_map(|(t, b)| format!("{t}@sha256:{}", hex::encode(b))),
            near_digest().prop_map(|d| format!("@{d}")),
        ];
        (registry, path, suffix).prop_map(|(r, p, s)| format!("{r}{p}{s}"))
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, matched by hand (independently of the parser).
    fn component_matches_grammar(component: &str) -> bool {
        let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        let mut rest = component;
        loop {
            let word = rest.find(|c: char| !alnum(c)).unwrap_or(rest.len());
            if word == 0 {
                return false;
            }
            rest = &rest[word..];
            if rest.is_empty() {
                return true;
            }
            let sep = rest.find(alnum).unwrap_or(rest.len());
            let separator = &rest[..sep];
            if !matches!(separator, "." | "_" | "__") && !separator.bytes().all(|b| b == b'-') {
                return false;
            }
            rest = &rest[sep..];
        }
    }

    /// docker's `domain`: `host[:port]`, a host being dot-separated `[A-Za-z0-9-]` labels
    /// that neither start nor end with `-`, or a bracketed IPv6 address.
    fn registry_matches_grammar(registry: &str) -> bool {
        let port_ok = |port: &str| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        let label_ok = |label: &str| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if let Some(rest) = registry.strip_prefix('[') {
            return rest.split_once(']').is_some_and(|(v6, after)| {
                v6.parse::<std::net::Ipv6Addr>().is_ok()
                    && (after.is_empty() || after.strip_prefix(':').is_some_and(port_ok))
            });
        }
        let (host, port) = match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        };
        host.split('.').all(label_ok) && port.is_none_or(port_ok)
    }

    /// What every accepted reference satisfies, checked against the documented grammar.
    fn assert_sound(text: &str, r: &Reference) {
        assert!(
            r.tag.is_some() != r.digest.is_some(),
            "{text:?}: exactly one of tag and digest"
        );
        if let Some(tag) = &r.tag {
            assert!(tag.len() <= 128, "{text:?}: tag {tag:?} too long");
            let mut chars = tag.chars();
            assert!(
                chars
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                    && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)),
                "{text:?}: tag {tag:?} is not [A-Za-z0-9_][A-Za-z0-9_.-]*"
            );
        }
        assert!(
            !r.repository.is_empty() && r.repository.split('/').all(component_matches_grammar),
            "{text:?}: repository {:?} breaks the grammar",
            r.repository
        );
        assert!(
            registry_matches_grammar(&r.registry),
            "{text:?}: registry {:?} is not HOST[:PORT]",
            r.registry
        );
        assert_ne!(r.registry, "index.docker.io", "{text:?}: not normalized");
        if r.registry == "docker.io" {
            assert!(r.repository.contains('/'), "{text:?}: no library/ prefix");
        }
        assert_eq!(
            r.manifest_ref(),
            match &r.digest {
                Some(d) => d.to_string(),
                None => r.tag.clone().unwrap_or_default(),
            }
        );
    }

    proptest! {
        /// `Digest::parse` never panics, and what it accepts has the hex length of its
        /// algorithm, is lowercase hex, and prints back exactly as given.
        #[test]
        fn digest_acceptance_is_sound(text in prop_oneof![any::<String>(), near_digest()]) {
            if let Ok(d) = Digest::parse(&text) {
                let want = match d.algorithm() {
                    Algorithm::Sha256 => 64,
                    Algorithm::Sha512 => 128,
                };
                prop_assert_eq!(d.hex().len(), want);
                prop_assert!(d.hex().bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
                prop_assert_eq!(d.to_string(), text);
            }
        }

        /// Every well-formed digest parses, and printing then parsing gives it back.
        #[test]
        fn digest_round_trips(sha512 in any::<bool>(), hex in any::<[u8; 64]>().prop_map(hex::encode)) {
            let (alg, hex) = if sha512 { ("sha512", &hex[..]) } else { ("sha256", &hex[..64]) };
            let d = Digest::parse(&format!("{alg}:{hex}")).unwrap();
            prop_assert_eq!(d.hex(), hex);
            prop_assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        }

        /// A digest with one uppercase or non-hex character, or one character too many or
        /// too few, is refused.
        #[test]
        fn digest_refuses_near_misses(
            hex in any::<[u8; 32]>().prop_map(hex::encode),
            at in 0usize..64,
            bad in "[A-Fg-z:/ ]",
            longer in any::<bool>(),
        ) {
            let mut wrong = hex.clone();
            wrong.replace_range(at..=at, &bad);
            let wrong = format!("sha256:{wrong}");
            prop_assert!(Digest::parse(&wrong).is_err());
            let resized = if longer { format!("{hex}0") } else { hex[1..].to_owned() };
            let resized = format!("sha256:{resized}");
            prop_assert!(Digest::parse(&resized).is_err());
        }

        /// `sha256_of` gives a digest that matches its bytes, no other bytes, and round trips.
        #[test]
        fn sha256_of_matches_its_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            other in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let d = Digest::sha256_of(&bytes);
            prop_assert!(d.matches(&bytes));
            prop_assert_eq!(d.matches(&other), bytes == other);
            prop_assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        }

        /// `Reference::parse` never panics on any string, and what it accepts satisfies the
        /// grammar (registry `HOST[:PORT]`, repository components, tag) and normalization.
        #[test]
        fn reference_acceptance_is_sound_on_any_string(text in any::<String>()) {
            if let Ok(r) = Reference::parse(&text) {
                assert_sound(&text, &r);
            }
        }

        /// The same on near-valid references, where most inputs get past the first checks.
        #[test]
        fn reference_acceptance_is_sound_near_valid(text in near_reference()) {
            if let Ok(r) = Reference::parse(&text) {
                assert_sound(&text, &r);
            }
        }

        /// The printed form of a parsed reference parses to the same reference, and prints
        /// the same again: normalization is idempotent.
        #[test]
        fn reference_round_trips(text in near_reference()) {
            if let Ok(r) = Reference::parse(&text) {
                let printed = r.to_string();
                let again = Reference::parse(&printed)
                    .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}: {e}"));
                prop_assert_eq!(again.to_string(), printed);
                prop_assert_eq!(again, r);
            }
        }

        /// Long names near the 512-byte input limit: whatever is accepted still prints as a
        /// reference that parses back (the printed form adds `:latest` or `docker.io/`).
        #[test]
        fn long_references_round_trip(
            path in "[a-z]{1,60}(/[a-z]{1,60}){0,4}",
            len in 490usize..=512,
            explicit in any::<bool>(),
        ) {
            let text = if explicit {
                let pad = len.saturating_sub(path.len() + 5).max(1);
                format!("r{}.io/{path}", "x".repeat(pad))
            } else {
                let pad = len.saturating_sub(path.len() + 1).max(1);
                format!("{path}:{}", "t".repeat(pad.min(128)))
            };
            if let Ok(r) = Reference::parse(&text) {
                let printed = r.to_string();
                prop_assert_eq!(Reference::parse(&printed).ok(), Some(r), "{}", printed);
            }
        }

        /// A reference built from valid parts parses to exactly those parts.
        #[test]
        fn reference_from_parts(
            registry in prop_oneof![
                "(ghcr\\.io|quay\\.io|r[a-z]{0,5}\\.example)",
                "(127\\.0\\.0\\.1:5000|localhost:5000|\\[::1\\]:5000)",
            ],
            path in "[a-z0-9]{1,5}((\\.|_|__|-{1,3})[a-z0-9]{1,5}){0,2}(/[a-z0-9]{1,5}){0,2}",
            tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}",
            digest in proptest::option::of(any::<[u8; 32]>().prop_map(hex::encode)),
        ) {
            let digest = digest.map(|h| format!("sha256:{h}"));
            let text = match &digest {
                Some(d) => format!("{registry}/{path}:{tag}@{d}"),
                None => format!("{registry}/{path}:{tag}"),
            };
            let r = Reference::parse(&text).unwrap();
            prop_assert_eq!(&r.registry, &registry);
            prop_assert_eq!(&r.repository, &path);
            prop_assert_eq!(r.digest.as_ref().map(Digest::to_string), digest.clone());
            let want_tag = if digest.is_some() { None } else { Some(tag.as_str()) };
            prop_assert_eq!(r.tag.as_deref(), want_tag);
        }
    }
}
