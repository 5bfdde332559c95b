//! A real OCI registry on loopback: Debian's docker-registry (distribution 2.8) with bearer
//! token auth, fronted by nginx over TLS, which also serves the token endpoint on the same
//! origin; blob GETs are redirected to a "CDN" (nginx on a second loopback address) serving
//! the registry's storage. Tokens are real ES256 JWTs signed at start-up by a key the registry
//! trusts. Content is pushed with skopeo from layouts the tests build.
//!
//! A front can lie: it stands between tofu and an honest backend and alters one thing, each
//! way a registry can lie. Each front has its own backend process (same storage), so the
//! registry's own challenge names the front's token endpoint.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

use crate::output::run_ok;
use crate::process::{Guard, free_port, require_program, wait_for_port};
use crate::{Nginx, TestCa};

const SERVICE: &str = "tofu-test-registry";
const ISSUER: &str = "tofu-test-issuer";

/// How a front lies. `repo` paths are repository names, digests `sha256:…`.
#[derive(Clone, Debug)]
pub enum RegistryLie {
    /// An honest front.
    None,
    /// Answers a pinned manifest digest with another manifest (and claims the pinned digest
    /// in `Docker-Content-Digest`).
    SubstitutePinned {
        repo: String,
        pinned: String,
        served: String,
    },
    /// Serves the tag's manifest with a `Docker-Content-Digest` that is not its digest.
    WrongDigestHeader { repo: String, tag: String },
    /// Serves a manifest with this `Content-Type` instead of its own.
    WrongContentType {
        repo: String,
        reference: String,
        content_type: String,
    },
    /// Serves these bytes as the blob (one byte different, longer, or shorter).
    ReplaceBlob {
        repo: String,
        digest: String,
        bytes: Vec<u8>,
    },
    /// Serves these (possibly honest) bytes at this path (e.g. `/v2/REPO/manifests/TAG` or
    /// `/v2/REPO/blobs/DIGEST`) with this `Content-Type`: the first 400 bytes (the headers)
    /// at once, the rest at 100 bytes a second.
    Trickle {
        path: String,
        bytes: Vec<u8>,
        content_type: String,
    },
    /// Names a token endpoint on another host.
    RealmElsewhere,
    /// Serves an oversized document for the tag's manifest.
    OversizedManifest { repo: String, tag: String },
    /// Serves this document with this `Content-Type` for a manifest reference.
    ServeDocument {
        repo: String,
        reference: String,
        body: String,
        content_type: String,
    },
    /// Serves another tag's (valid, self-consistent) manifest for a tag: the targeted lie only
    /// a comparison can catch.
    MoveTag {
        repo: String,
        tag: String,
        to: String,
    },
    /// Answers every request whose path starts with `prefix` (e.g. `/v2/REPO/blobs/`) with
    /// this status and no body: a registry that fails, after whatever it served before.
    Fail { prefix: String, status: u16 },
    /// Tells each of these lies (their paths must differ, and at most one may serve a file):
    /// e.g. a moved tag, then a 500 on every blob.
    Several(Vec<RegistryLie>),
}

/// The registry's storage, token and CDN; fronts are started from it.
pub struct Registry {
    dir: tempfile::TempDir,
    /// The JWT granting pull and push on every test repository.
    pub token: String,
    /// The CDN blob redirects lead to (on 127.0.0.2).
    pub cdn: Nginx,
    ca_root: PathBuf,
    honest_backend: (u16, Guard),
}

/// One front: nginx over TLS on 127.0.0.1 before its own backend registry.
pub struct Front {
    /// The port of `https://127.0.0.1:PORT`.
    pub port: u16,
    /// The nginx in front (its access log shows what tofu asked).
    pub nginx: Nginx,
    _backend: Guard,
}

impl Front {
    /// `127.0.0.1:PORT/repo:tag` or `…@sha256:…`.
    pub fn reference(&self, repo_and_ref: &str) -> String {
        format!("127.0.0.1:{}/{repo_and_ref}", self.port)
    }
}

impl Registry {
    /// Starts the storage, the token signer and the CDN, and an honest backend for pushes.
    pub fn start(ca: &TestCa, repositories: &[&str]) -> Registry {
        require_program("docker-registry", "docker-registry");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data/docker/registry/v2")).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.path().join("token.crt"), cert.pem()).unwrap();
        let token = sign_token(&key, repositories);
        let body = serde_json::json!({"token": token, "access_token": token, "expires_in": 7200});
        std::fs::write(dir.path().join("token.json"), body.to_string()).unwrap();

        let cdn = Nginx::start_at(None, "127.0.0.2", &dir.path().join("data"), ca, |_, _| {
            String::new()
        });
        let port = free_port();
        let backend = start_backend(dir.path(), port, "https://127.0.0.1:1/token", &cdn);
        Registry {
            token,
            cdn,
            ca_root: ca.root_pem.clone(),
            honest_backend: (port, backend),
            dir,
        }
    }

    /// Pushes `oci:LAYOUT:TAG` to `repo:TAG` with skopeo (`--all --preserve-digests`).
    pub fn push(&self, layout: &Path, tag: &str, repo: &str) {
        let dest = format!("docker://127.0.0.1:{}/{repo}:{tag}", self.honest_backend.0);
        run_ok(
            self.skopeo()
                .args([
                    "copy",
                    "--all",
                    "--preserve-digests",
                    "--dest-tls-verify=false",
                ])
                .args(["--dest-registry-token", &self.token])
                .arg(format!("oci:{}:{tag}", layout.display()))
                .arg(&dest),
        );
    }

    /// `skopeo inspect --raw` of `repo:ref` on the honest backend: the bytes it serves.
    pub fn skopeo_raw(&self, repo_and_ref: &str) -> Vec<u8> {
        let src = format!(
            "docker://127.0.0.1:{}/{repo_and_ref}",
            self.honest_backend.0
        );
        run_ok(
            self.skopeo()
                .args([
                    "inspect",
                    "--raw",
                    "--tls-verify=false",
                    "--registry-token",
                    &self.token,
                ])
                .arg(&src),
        )
        .stdout
    }

    /// skopeo, with its home, policy and caches inside the fixture directory.
    pub fn skopeo(&self) -> Command {
        let home = self.dir.path().join("skopeo-home");
        std::fs::create_dir_all(&home).unwrap();
        let policy = home.join("policy.json");
        std::fs::write(
            &policy,
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        let mut cmd = Command::new(require_program("skopeo", "skopeo"));
        cmd.env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &home)
            .env("XDG_CONFIG_HOME", &home)
            .env("XDG_DATA_HOME", &home)
            .arg("--policy")
            .arg(&policy)
            .arg("--tmpdir")
            .arg(&home)
            .stdin(Stdio::null());
        cmd
    }

    /// The test CA's root, for `--ca-cert`.
    pub fn ca_root(&self) -> &Path {
        &self.ca_root
    }

    /// Starts a front (and its backend) that tells `lie`.
    pub fn front(&self, ca: &TestCa, lie: &RegistryLie) -> Front {
        let backend_port = free_port();
        let dir = self.dir.path().to_owned();
        let lie_dir = tempfile::Builder::new()
            .prefix("lie")
            .tempdir_in(&dir)
            .unwrap()
            .keep();
        let backend = format!("http://127.0.0.1:{backend_port}");
        let token_json = dir.join("token.json");
        let lie_config = lie_locations(lie, &backend, &lie_dir);
        let nginx = Nginx::start(&dir.join("empty"), ca, |_, _| {
            format!(
                r#"
        client_max_body_size 0;
        location = /token {{ default_type application/json; alias {token}; }}
        {lie_config}
        location /v2/ {{
            proxy_pass {backend};
            proxy_buffering off;
        }}"#,
                token = token_json.display(),
            )
        });
        let realm = format!("https://127.0.0.1:{}/token", nginx.https_port);
        let guard = start_backend(&dir, backend_port, &realm, &self.cdn);
        Front {
            port: nginx.https_port,
            nginx,
            _backend: guard,
        }
    }
}

/// The nginx locations of a front that tells `lie`: in front of `backend`, with what the lie
/// serves itself written into `dir`.
fn lie_locations(lie: &RegistryLie, backend: &str, dir: &Path) -> String {
    match lie {
        RegistryLie::None => String::new(),
        RegistryLie::SubstitutePinned { .. }
        | RegistryLie::WrongDigestHeader { .. }
        | RegistryLie::WrongContentType { .. }
        | RegistryLie::RealmElsewhere
        | RegistryLie::MoveTag { .. } => proxied_lie(lie, backend),
        RegistryLie::ReplaceBlob { .. }
        | RegistryLie::Trickle { .. }
        | RegistryLie::OversizedManifest { .. }
        | RegistryLie::ServeDocument { .. } => served_lie(lie, dir),
        // `^~`: the prefix wins over the regular expressions of other lies.
        RegistryLie::Fail { prefix, status } => format!(
            r#"location ^~ {prefix} {{
            return {status};
        }}"#
        ),
        RegistryLie::Several(lies) => lies
            .iter()
            .map(|l| lie_locations(l, backend, dir))
            .collect::<Vec<_>>()
            .join("\n        "),
    }
}

/// The locations of a lie told about what the backend serves: another manifest, a wrong
/// header, a moved tag, a token realm elsewhere.
fn proxied_lie(lie: &RegistryLie, backend: &str) -> String {
    match lie {
        RegistryLie::SubstitutePinned { repo, pinned, served } => format!(
            r#"location = /v2/{repo}/manifests/{pinned} {{
            proxy_pass {backend}/v2/{repo}/manifests/{served};
            proxy_hide_header Docker-Content-Digest;
            add_header Docker-Content-Digest {pinned} always;
        }}"#
        ),
        RegistryLie::WrongDigestHeader { repo, tag } => format!(
            r#"location = /v2/{repo}/manifests/{tag} {{
            proxy_pass {backend};
            proxy_hide_header Docker-Content-Digest;
            add_header Docker-Content-Digest sha256:{zeros} always;
        }}"#,
            zeros = "0".repeat(64)
        ),
        RegistryLie::WrongContentType {
            repo,
            reference,
            content_type,
        } => format!(
            r#"location = /v2/{repo}/manifests/{reference} {{
            proxy_pass {backend};
            proxy_hide_header Content-Type;
            default_type {content_type};
        }}"#
        ),
        RegistryLie::RealmElsewhere => r#"location = /v2/ {
            proxy_pass BACKEND;
            proxy_hide_header WWW-Authenticate;
            add_header WWW-Authenticate 'Bearer realm="https://127.0.0.2:1/token",service="tofu-test-registry"' always;
        }"#
        .replace("BACKEND", backend)
            + &format!(
                r#"
        location ~ ^/v2/.+/manifests/ {{
            proxy_pass {backend};
            proxy_hide_header WWW-Authenticate;
            add_header WWW-Authenticate 'Bearer realm="https://127.0.0.2:1/token",service="tofu-test-registry"' always;
        }}"#
            ),
        RegistryLie::MoveTag { repo, tag, to } => format!(
            r#"location = /v2/{repo}/manifests/{tag} {{
            proxy_pass {backend}/v2/{repo}/manifests/{to};
        }}"#
        ),
        _ => unreachable!("lie_locations sends only the proxied lies here"),
    }
}

/// The location of a lie served from a file: a replaced blob, an oversized index, any
/// document, or honest bytes a trickle at a time.
fn served_lie(lie: &RegistryLie, dir: &Path) -> String {
    match lie {
        RegistryLie::ReplaceBlob {
            repo,
            digest,
            bytes,
        } => serve_file(
            dir,
            &format!("/v2/{repo}/blobs/{digest}"),
            bytes,
            "application/octet-stream",
            "",
        ),
        RegistryLie::Trickle {
            path,
            bytes,
            content_type,
        } => serve_file(
            dir,
            path,
            bytes,
            content_type,
            "limit_rate_after 400; limit_rate 100;",
        ),
        RegistryLie::OversizedManifest { repo, tag } => {
            let mut big = String::from(r#"{"schemaVersion":2,"manifests":[],"padding":""#);
            big.push_str(&" ".repeat(5 << 20));
            big.push_str("\"}");
            serve_file(
                dir,
                &format!("/v2/{repo}/manifests/{tag}"),
                big.as_bytes(),
                "application/vnd.oci.image.index.v1+json",
                "",
            )
        }
        RegistryLie::ServeDocument {
            repo,
            reference,
            body,
            content_type,
        } => serve_file(
            dir,
            &format!("/v2/{repo}/manifests/{reference}"),
            body.as_bytes(),
            content_type,
            "",
        ),
        _ => unreachable!("lie_locations sends only the served lies here"),
    }
}

/// An nginx location that answers `path` with `bytes` (written into `dir`) as
/// `content_type`, with `directives` (e.g. a rate limit) added.
fn serve_file(
    dir: &Path,
    path: &str,
    bytes: &[u8],
    content_type: &str,
    directives: &str,
) -> String {
    let file = dir.join("served");
    std::fs::write(&file, bytes).unwrap();
    format!(
        r#"location = {path} {{
            default_type {content_type};
            {directives}
            alias {};
        }}"#,
        file.display()
    )
}

/// Starts docker-registry on 127.0.0.1:`port` with token auth at `realm` and blob
/// redirects to the CDN.
fn start_backend(dir: &Path, port: u16, realm: &str, cdn: &Nginx) -> Guard {
    let config = dir.join(format!("registry-{port}.yml"));
    std::fs::write(
        &config,
        format!(
            r#"version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {data}
  delete:
    enabled: true
  redirect:
    disable: false
middleware:
  storage:
    - name: redirect
      options:
        baseurl: https://127.0.0.2:{cdn_port}/
http:
  addr: 127.0.0.1:{port}
auth:
  token:
    realm: {realm}
    service: {SERVICE}
    issuer: {ISSUER}
    rootcertbundle: {cert}
"#,
            data = dir.join("data").display(),
            cdn_port = cdn.https_port,
            cert = dir.join("token.crt").display(),
        ),
    )
    .unwrap();
    // The registry logs every 404 of skopeo's existence checks as an error: keep its log in
    // the fixture directory rather than in the test output.
    let log = std::fs::File::create(dir.join(format!("registry-{port}.log"))).unwrap();
    let mut child = Command::new(require_program("docker-registry", "docker-registry"))
        .arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_for_port(
        SocketAddr::from(([127, 0, 0, 1], port)),
        &mut child,
        "docker-registry",
    );
    Guard(child)
}

/// An ES256 JWT the registry accepts: `kid` is the libtrust id of the signing key.
fn sign_token(key: &rcgen::KeyPair, repositories: &[&str]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "kid": libtrust_kid(&rcgen::PublicKeyData::subject_public_key_info(key))});
    let access: Vec<serde_json::Value> = repositories
        .iter()
        .map(|r| serde_json::json!({"type": "repository", "name": r, "actions": ["pull", "push"]}))
        .collect();
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": "", "aud": SERVICE,
        "exp": now + 7200, "nbf": now - 60, "iat": now,
        "jti": hex::encode(ring::digest::digest(&ring::digest::SHA256, now.to_string().as_bytes())),
        "access": access,
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let rng = ring::rand::SystemRandom::new();
    let signer =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.serialize_der(), &rng)
            .unwrap();
    let sig = signer.sign(&rng, input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// libtrust's key id: base32 of the first 30 bytes of SHA-256(SPKI DER), in groups of four.
fn libtrust_kid(spki_der: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = ring::digest::digest(&ring::digest::SHA256, spki_der);
    let bytes = &digest.as_ref()[..30];
    let mut bits: u64 = 0;
    let mut nbits = 0;
    let mut out = String::new();
    for &b in bytes {
        bits = (bits << 8) | u64::from(b);
        nbits += 8;
        while nbits >= 5 {
            nbits -= 5;
            out.push(ALPHABET[((bits >> nbits) & 31) as usize] as char);
        }
    }
    out.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":")
}
