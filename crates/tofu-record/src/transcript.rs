//! The transcript data model, format `tofu-transcript/1`: what one run observed, field by
//! field. docs/transcript.md explains each field; docs/transcript.schema.json is generated
//! from these types (`cargo xtask codegen`) and a test keeps the two equal.
//!
//! Everything here is an observation. Nothing is filled in from expectations: a failed
//! artifact keeps its entry with an `error`, and absent evidence stays absent.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The format identifier every transcript carries; readers refuse any other.
pub const FORMAT: &str = "tofu-transcript/1";

/// One run of `tofu fetch`: one vantage point, one moment, every artifact it fetched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    /// Always `tofu-transcript/1`.
    pub format: String,
    /// The program that wrote the transcript.
    pub tool: Tool,
    /// When, where from, and by whom the run was made.
    pub run: Run,
    /// The plan the run followed (`tofu fetch --plan`), or null for targets given on the
    /// command line.
    pub plan: Option<PlanRef>,
    /// How the run reached the network, and what the network said about it.
    pub vantage: Vantage,
    /// The public key whose signature (`<transcript>.minisig`) signs this file off. Anyone
    /// can write any key here: the run counts only if the user trusts this key (their own,
    /// one added with `tofu trust add`, or `--trusted-key`), never because it is named here.
    pub signer: Signer,
    /// One entry per thing fetched, in the order they were fetched.
    pub artifacts: Vec<Artifact>,
    /// Where the host's campaign log stood when the run ended, and the host's earlier
    /// attempts at the same plan or targets. Absent in transcripts written before tofu kept
    /// the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<crate::campaign::CampaignRecord>,
}

/// The plan a run followed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRef {
    /// The plan's `name`.
    pub name: String,
    /// SHA-256 (hex) of the plan file's bytes: two runs followed the same plan only if these
    /// are equal.
    pub sha256: String,
}

/// The program that wrote a transcript.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// `tofu`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// Facts about the run itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// A random 128-bit id, as 32 lowercase hex digits; two runs never share one.
    pub id: String,
    /// The operator's note (`--label`), if any.
    pub label: Option<String>,
    /// Local clock (UTC) when the run started.
    pub started_at: DateTime<Utc>,
    /// Local clock (UTC) when the last artifact was done.
    pub finished_at: DateTime<Utc>,
    /// The machine, without naming it.
    pub host: Host,
    /// Each time the run was interrupted (Ctrl-C, a kill, a crash) and continued with
    /// `tofu fetch --resume`, in order. Absent when it never was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interruptions: Vec<Interruption>,
}

/// One interruption of a run and its continuation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interruption {
    /// Local clock (UTC) of the last state the interrupted process saved: nothing after it
    /// was kept.
    pub saved_at: DateTime<Utc>,
    /// Local clock (UTC) when the run was continued.
    pub resumed_at: DateTime<Utc>,
    /// The exit lookup of the continuation, made before it fetched anything: the run may
    /// continue from another network, and then left through both.
    pub exit: ExitEvidence,
}

/// The machine a run was made on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Operating system (`linux`, `macos`, …).
    pub os: String,
    /// CPU architecture (`x86_64`, `aarch64`, …).
    pub arch: String,
    /// SHA-256 of a random salt kept in tofu's config directory and the machine id: stable per
    /// machine and user, but reveals neither the hostname nor the machine id.
    pub fingerprint: String,
}

/// How a run reached the network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vantage {
    /// The transport every connection of the run used.
    pub transport: Transport,
    /// SHA-256 (hex) of the DER of each extra trusted root given with `--ca-cert`.
    pub extra_roots: Vec<String>,
    /// The exit address and country as the network saw them, asked through the same
    /// transport as the downloads, before them.
    pub exit: ExitEvidence,
    /// The same lookups, asked again through the same transport (and isolation) after the
    /// downloads. Absent when no endpoint was asked (`--no-whoami`), and in transcripts
    /// written before tofu asked twice. (The three fields below are left out when absent or
    /// false, so that an older transcript keeps its canonical bytes.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_after: Option<ExitEvidence>,
    /// True when the lookups before and after the downloads both answered and saw different
    /// addresses or countries: the exit changed during the run, and the run left through
    /// both. Always [`exit_changed`]`(exit, exit_after)`; absent when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub exit_changed: bool,
    /// What the lookups' answers speak for: the run's exit, or only their own streams (Tor).
    /// Absent in older transcripts, where [`ExitScope::of`] the transport says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_scope: Option<ExitScope>,
    /// The country the operator says the run was made from (`--country`); recorded apart
    /// from the observed one and never used in its place.
    pub claimed_country: Option<String>,
}

/// For `skip_serializing_if`: a false flag is left out.
fn is_false(flag: &bool) -> bool {
    !*flag
}

/// How far the "what is my IP" answers reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExitScope {
    /// The lookups left the way every download did (the same route, interface or proxy), so
    /// their answers describe the run's exit as far as the route decides it.
    Run,
    /// The answers describe only the lookups' own streams: through Tor every circuit may
    /// leave through another exit relay (exit policies per port, a new circuit after ten
    /// minutes). The downloads' exits are those each artifact records in `tor_exits`, and
    /// unknown where it records none.
    Lookups,
}

impl ExitScope {
    /// The scope a transport gives: `lookups` through Tor (the embedded client or a Tor
    /// daemon's SocksPort), else `run`.
    pub fn of(transport: &Transport) -> ExitScope {
        match transport {
            Transport::Tor { .. }
            | Transport::Socks5 {
                tor_daemon: true, ..
            } => ExitScope::Lookups,
            _ => ExitScope::Run,
        }
    }
}

impl Vantage {
    /// The scope of the exit lookups: as recorded, else as the transport implies.
    pub fn exit_scope(&self) -> ExitScope {
        self.exit_scope
            .unwrap_or_else(|| ExitScope::of(&self.transport))
    }
}

/// True when both lookups answered and the addresses, or the countries, the one saw are
/// not those the other saw. Every answer counts, not only agreed ones: a lookup in conflict
/// still says which exits it was shown.
pub fn exit_changed(before: &ExitEvidence, after: Option<&ExitEvidence>) -> bool {
    let Some(after) = after else {
        return false;
    };
    let set = |e: &ExitEvidence, field: fn(&Probe) -> Option<&String>| {
        e.probes
            .iter()
            .filter_map(field)
            .cloned()
            .collect::<std::collections::BTreeSet<String>>()
    };
    let differs = |field: fn(&Probe) -> Option<&String>| {
        let (b, a) = (set(before, field), set(after, field));
        !b.is_empty() && !a.is_empty() && b != a
    };
    differs(|p| p.ip.as_ref()) || differs(|p| p.country.as_ref())
}

/// What "what is my IP" endpoints answered through the run's transport.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitEvidence {
    /// One entry per endpoint asked, in order, failed ones included.
    pub probes: Vec<Probe>,
    /// The exit address every answering endpoint agreed on; null when none answered or they
    /// disagree.
    pub ip: Option<String>,
    /// The exit country (ISO 3166-1 alpha-2, uppercase) every answering endpoint agreed on;
    /// null when none gave one or they disagree.
    pub country: Option<String>,
    /// True when answering endpoints disagree on the address or the country.
    pub conflict: bool,
}

/// One "what is my IP" lookup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// The endpoint asked (redacted).
    pub url: String,
    /// The HTTP status, when a response came.
    pub status: Option<u16>,
    /// The raw answer (at most 4 KiB, invalid UTF-8 replaced).
    pub answer: Option<String>,
    /// The address the answer states.
    pub ip: Option<String>,
    /// The country the answer states (ISO 3166-1 alpha-2, uppercase).
    pub country: Option<String>,
    /// The server's `Date` header, as sent.
    pub server_date: Option<String>,
    /// Local clock (UTC) when the response arrived.
    pub response_at: Option<DateTime<Utc>>,
    /// TLS facts of the connection that carried the answer; null for plain HTTP, for no
    /// answer, and in transcripts from before tofu recorded them.
    #[serde(default)]
    pub tls: Option<TlsRecord>,
    /// Why the lookup gave no evidence, or null.
    pub error: Option<ArtifactError>,
}

/// The way TCP streams were made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Transport {
    /// The operating system's route, with no proxy (environment proxies are ignored).
    Direct,
    /// A SOCKS5 proxy.
    Socks5 {
        /// The proxy URL without credentials, e.g. `socks5h://127.0.0.1:1080`.
        proxy: String,
        /// True for `socks5h` (the proxy resolves names), false when names were resolved
        /// locally (`socks5`), which leaks every name to the local resolver.
        remote_dns: bool,
        /// True when the proxy was given a username and password (never recorded): the
        /// user's own, or random ones made by tofu (`tor_daemon`).
        authenticated: bool,
        /// True when the proxy answered Tor's SOCKS extension (RESOLVE), so it is a Tor
        /// client's SocksPort. Unless the user gave credentials, tofu then gives it random ones
        /// for the run, so that Tor (IsolateSOCKSAuth) keeps the run's streams, exit probes
        /// included, on circuits shared with no other program or run. Absent (false) in older
        /// transcripts.
        #[serde(default)]
        tor_daemon: bool,
    },
    /// Tor, through the client built into tofu (arti). Each artifact, and the exit probes,
    /// used a circuit of their own; `exits` are those of the probes' circuits (before and
    /// after the downloads), and each artifact lists its own in `tor_exits`.
    Tor {
        /// The exit country asked for with `--via tor:CC`, or null for any exit.
        exit_country: Option<String>,
        /// `valid-after` of the consensus the circuits were built from.
        consensus_valid_after: Option<DateTime<Utc>>,
        /// Where relay countries come from: `embedded` (the database built into tofu), or
        /// `file sha256:HEX` for a database given in the config.
        geoip: String,
        /// The exit relays the exit probes' connections used, before and after the downloads.
        exits: Vec<TorRelay>,
    },
    /// Sockets bound to one network interface (e.g. a VPN tunnel).
    Interface {
        /// The interface name, e.g. `wg0`.
        name: String,
        /// Every name the run resolved, asked over the interface itself (never through the
        /// system resolver), and which resolver answered. Absent (empty) in older transcripts.
        #[serde(default)]
        dns: Vec<DnsAnswer>,
    },
}

/// A name resolved during a run bound to an interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsAnswer {
    /// The name asked for, e.g. `cdimage.debian.org`.
    pub name: String,
    /// The resolver that answered, `IP:PORT`, reached over the interface.
    pub resolver: String,
    /// The addresses it gave, in its order.
    pub addresses: Vec<String>,
}

/// A Tor relay that served as the exit of a circuit, as the consensus describes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TorRelay {
    /// RSA identity fingerprint, 40 uppercase hex digits.
    pub rsa_identity: String,
    /// ed25519 identity, base64, when known.
    pub ed25519_identity: Option<String>,
    /// The relay's ORPort addresses (`IP:PORT`).
    pub addresses: Vec<String>,
    /// Its nickname in the consensus, when known.
    pub nickname: Option<String>,
    /// The country of its first address (ISO 3166-1 alpha-2) by the geoip database named in
    /// the transport, or null when the database has none.
    pub country: Option<String>,
}

/// The key that signs a transcript off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signer {
    /// The minisign public key, base64, as in the second line of a `.pub` file.
    pub public_key: String,
    /// Its key id, 16 uppercase hex digits, as `minisign` prints it.
    pub key_id: String,
}

/// One thing fetched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// Stable identity that lines artifacts up across runs: the plan's id, else the URL
    /// (credentials and signed query strings redacted).
    pub id: String,
    /// The artifact's content: present only when every fetch of it (every mirror) succeeded
    /// and all delivered the same bytes.
    pub content: Option<Content>,
    /// One fetch per URL (a plan may list mirrors on distinct domains), in order.
    pub fetches: Vec<Fetch>,
    /// In transcripts written before tofu read whole key files: the first OpenPGP
    /// certificate the content held. Newer transcripts set it null and record `keyring`.
    pub openpgp: Option<OpenPgpCert>,
    /// When the content is an OpenPGP key file (binary, or armored): every certificate it
    /// holds and every part that is not one, in file order. Absent for anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyring: Option<OpenPgpKeyring>,
    /// The plan's `signature`: a detached OpenPGP signature over this artifact, checked by
    /// the run. Absent when the plan names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::SignatureRecord>,
    /// The plan's `checksums`: a checksum list that must name this artifact's digest,
    /// checked by the run. Absent when the plan names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksums: Option<crate::ChecksumRecord>,
    /// For an image pulled from an OCI registry: what the registry served, level by level.
    /// The artifact's `content` is then that of the top document (index or manifest) the
    /// reference resolved to.
    pub oci: Option<Box<OciRecord>>,
    /// For a Homebrew formula: what the Homebrew API declared, checked against the bottle
    /// index (`oci`) and the bottles.
    pub homebrew: Option<Box<HomebrewRecord>>,
    /// Why the artifact failed (a fetch failed, or mirrors disagreed), or null.
    pub error: Option<ArtifactError>,
    /// With `--via tor`: the exit relay of each circuit this artifact's connections used
    /// (usually one); empty for other transports (and absent in transcripts written before
    /// tofu had Tor).
    #[serde(default)]
    pub tor_exits: Vec<TorRelay>,
}

impl Artifact {
    /// The content, only when the artifact was fetched completely.
    pub fn ok_content(&self) -> Option<&Content> {
        match (&self.content, &self.error) {
            (Some(content), None) => Some(content),
            _ => None,
        }
    }
}

/// One download of an artifact from one URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fetch {
    /// The URL asked for (redacted).
    pub url: String,
    /// Size and digests of the bytes received; absent when this fetch failed.
    pub content: Option<Content>,
    /// What the HTTP exchange looked like (present when any response was received).
    pub http: Option<Box<HttpRecord>>,
    /// Name of the payload file under `--keep DIR`, when kept.
    pub kept_as: Option<String>,
    /// Why this fetch failed, or null.
    pub error: Option<ArtifactError>,
    /// SHA-256 of each fixed-size chunk of the bytes received, to show where two copies
    /// differ; absent when this fetch failed, for images and formulas, and in transcripts
    /// written before tofu recorded chunks. Shown, never judged: `content` is what must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<Chunks>,
}

/// A Homebrew formula resolved through the Homebrew API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HomebrewRecord {
    /// The formula name.
    pub formula: String,
    /// The API document asked (redacted).
    pub api_url: String,
    /// `versions.stable`.
    pub version: String,
    /// `revision`.
    pub revision: u64,
    /// `bottle.stable.rebuild`.
    pub rebuild: u64,
    /// The image tag: version, `_revision` when non-zero, `-rebuild` when non-zero.
    pub image_tag: String,
    /// `bottle.stable.root_url`.
    pub root_url: String,
    /// Each bottle asked for, in tag order.
    pub bottles: Vec<HomebrewBottle>,
}

/// One bottle: what the API declares and where the index has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HomebrewBottle {
    /// The bottle tag, e.g. `arm64_sonoma`, `x86_64_linux`.
    pub tag: String,
    /// The API's sha256 of the bottle (the OCI layer digest).
    pub sha256: String,
    /// The index entry's `org.opencontainers.image.ref.name` looked for.
    pub ref_name: String,
    /// The manifest digest of the matching index entry, once found.
    pub manifest: Option<String>,
    /// The bottle's Homebrew file name (`--keep` uses it).
    pub file_name: String,
}

/// An image pulled from an OCI registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OciRecord {
    /// The normalized reference, e.g. `docker.io/library/debian:bookworm`.
    pub reference: String,
    /// The registry host actually contacted, e.g. `registry-1.docker.io`.
    pub registry_host: String,
    /// The `Accept` header sent for manifests.
    pub accept: String,
    /// The token endpoint used (redacted), when the registry asked for one.
    pub token_realm: Option<String>,
    /// The platforms asked for (`linux/amd64`, …, or `all`).
    pub platforms: Vec<String>,
    /// The document the reference resolved to.
    pub top: OciDocument,
    /// Every entry of the top document when it is an index, selected or not.
    pub index_entries: Vec<OciDescriptor>,
    /// Each image manifest pulled (the top one, or the selected index entries), with its
    /// config and layers.
    pub manifests: Vec<OciManifest>,
    /// Every host a blob request was redirected to (signed query strings are not kept).
    pub redirect_hosts: Vec<String>,
}

/// A manifest or index as served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OciDocument {
    /// sha256 of the raw bytes.
    pub digest: String,
    /// Size of the raw bytes.
    pub size: u64,
    /// The `Content-Type` served (parameters removed).
    pub media_type: String,
    /// The `Docker-Content-Digest` header as received, if any (verified against the bytes).
    pub docker_content_digest: Option<String>,
}

/// A descriptor: what a parent document says about a child.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OciDescriptor {
    /// `sha256:…`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub media_type: String,
    /// `os/arch[/variant]`, when the descriptor names a platform.
    pub platform: Option<String>,
    /// Annotations, sorted.
    pub annotations: BTreeMap<String, String>,
    /// Foreign URLs the descriptor lists: recorded, never followed.
    pub urls: Vec<String>,
}

/// One image manifest and what it points to, every digest verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OciManifest {
    /// `os/arch[/variant]` from the index entry, when pulled through an index.
    pub platform: Option<String>,
    /// The manifest document.
    pub document: OciDocument,
    /// The config blob.
    pub config: OciDescriptor,
    /// The layer blobs, in order.
    pub layers: Vec<OciDescriptor>,
}

/// An OpenPGP key file read whole: a keyring of many certificates, or one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenPgpKeyring {
    /// How the file is encoded: `binary` packets, or `armor` (ASCII armor blocks).
    pub encoding: String,
    /// Every part of the file in order: each certificate (a public-key packet and the
    /// packets up to the next key), and each run of bytes that is not one.
    pub parts: Vec<OpenPgpPart>,
}

impl OpenPgpKeyring {
    /// The certificates that were read.
    pub fn certificates(&self) -> impl Iterator<Item = &OpenPgpCert> {
        self.parts.iter().filter_map(|p| p.certificate.as_ref())
    }
}

/// One part of a key file: a certificate, or bytes that could not be read as one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenPgpPart {
    /// The armor block it is in (from 0), null in a binary file.
    pub block: Option<u64>,
    /// Where its bytes start: in the file, or for armor in the block's decoded bytes.
    pub offset: u64,
    /// How many bytes it spans.
    pub length: u64,
    /// SHA-256 of those bytes, lowercase hex.
    pub sha256: String,
    /// The certificate, when the bytes hold one that could be read.
    pub certificate: Option<OpenPgpCert>,
    /// Why the bytes are not a certificate that could be read (a secret key, a packet that
    /// does not parse, bytes outside any packet…), or null.
    pub error: Option<String>,
}

/// An OpenPGP certificate (public key), as `gpg --with-fingerprint` would show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenPgpCert {
    /// The primary key.
    pub primary: OpenPgpKey,
    /// Every subkey, in file order.
    pub subkeys: Vec<OpenPgpKey>,
    /// Every user ID, in file order.
    pub user_ids: Vec<String>,
    /// User IDs the key itself revoked (a verified self-signature of type 0x30).
    #[serde(default)]
    pub revoked_user_ids: Vec<String>,
    /// Packets of the certificate that could not be read and are in none of the fields
    /// above (e.g. a subkey of an algorithm the reader does not know), as a sentence; null
    /// when every packet was read.
    #[serde(default)]
    pub unread: Option<String>,
}

/// One OpenPGP key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenPgpKey {
    /// The fingerprint, uppercase hex.
    pub fingerprint: String,
    /// The public-key algorithm, e.g. `EdDSA`, `RSA`.
    pub algorithm: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry time from the self-signatures, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Set when the key carries a revocation its primary key signed (verified).
    #[serde(default)]
    pub revoked: Option<OpenPgpRevocation>,
    /// A subkey that no binding signature of the primary key vouches for (gpg lists it as
    /// invalid): anyone can append such a subkey to a certificate. Always false for the
    /// primary key.
    #[serde(default)]
    pub unbound: bool,
}

/// A revocation of a key, signed by the certificate's primary key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenPgpRevocation {
    /// When the revocation was made.
    pub created_at: Option<DateTime<Utc>>,
    /// The reason code (RFC 9580 5.2.3.31: 0 none given, 1 superseded, 2 compromised,
    /// 3 retired), when given.
    pub reason_code: Option<u8>,
    /// The reason, as the key's owner wrote it (at most 200 characters).
    pub reason: Option<String>,
}

/// The bytes received: the fields that must match in every run.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Content {
    /// Number of bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// SHA-512, lowercase hex.
    pub sha512: String,
}

/// SHA-256 of each fixed-size chunk of a body, in order. The chunk size is a power of two of
/// at least 1 MiB, the smallest that keeps the list within 4,096 entries for the declared
/// length (1 MiB when no length was declared); the last chunk may be shorter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chunks {
    /// Bytes in each chunk but the last.
    pub size: u64,
    /// SHA-256 of each chunk, lowercase hex: `ceil(content.size / size)` entries.
    pub sha256: Vec<String>,
}

impl Chunks {
    /// The smallest chunk size, 1 MiB: smaller chunks would locate a change more finely
    /// than anyone needs, at the cost of a longer list.
    pub const MIN_SIZE: u64 = 1 << 20;
    /// The most entries a list holds when the length was declared.
    pub const TARGET_ENTRIES: u64 = 4096;
    /// The largest chunk size anyone could need (2^64 bytes in 4096 chunks): bounds what a
    /// transcript may claim.
    const MAX_SIZE: u64 = 1 << 52;

    /// The chunk size for a body of `expected` bytes (its declared length), or of unknown
    /// length: the list then grows with the body, bounded by the size limit.
    pub fn size_for(expected: Option<u64>) -> u64 {
        match expected {
            None => Chunks::MIN_SIZE,
            Some(len) => len
                .div_ceil(Chunks::TARGET_ENTRIES)
                .checked_next_power_of_two()
                .unwrap_or(Chunks::MAX_SIZE)
                .clamp(Chunks::MIN_SIZE, Chunks::MAX_SIZE),
        }
    }

    /// Checks that the list can describe `content_size` bytes: a power-of-two chunk size
    /// within bounds (never larger than [`Chunks::size_for`] that length would choose), one
    /// entry per chunk, each 64 lowercase hex digits. A list from a transcript is someone
    /// else's word: compare believes it only after this.
    pub fn check(&self, content_size: u64) -> Result<(), Invalid> {
        let largest = Chunks::size_for(Some(content_size));
        if !self.size.is_power_of_two() || self.size < Chunks::MIN_SIZE || self.size > largest {
            return Err(Invalid(format!(
                "chunk size {} is not a power of two from {} to {largest}",
                self.size,
                Chunks::MIN_SIZE
            )));
        }
        let expected = content_size.div_ceil(self.size);
        if self.sha256.len() as u64 != expected {
            return Err(Invalid(format!(
                "{} chunk digests for {content_size} bytes in chunks of {}, expected {expected}",
                self.sha256.len(),
                self.size
            )));
        }
        if let Some(bad) = self.sha256.iter().position(|d| !is_hex(d, 64)) {
            return Err(Invalid(format!(
                "chunk digest {} is not 64 lowercase hex digits",
                bad + 1
            )));
        }
        Ok(())
    }

    /// Bytes `start..end` (end exclusive) of chunk `index` (0-based) of a body of
    /// `content_size` bytes.
    pub fn range(&self, index: u64, content_size: u64) -> (u64, u64) {
        let start = index.saturating_mul(self.size).min(content_size);
        (start, start.saturating_add(self.size).min(content_size))
    }
}

/// The HTTP exchange of one artifact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpRecord {
    /// Every response in order: each redirect, then the final one.
    pub hops: Vec<Hop>,
    /// The URL the body came from (redacted).
    pub final_url: String,
    /// Status of the final response.
    pub status: u16,
    /// Selected headers of the final response (lowercase names): content-type,
    /// content-length, etag, last-modified, date.
    pub headers: BTreeMap<String, String>,
    /// TLS facts of the final connection; null for plain HTTP.
    pub tls: Option<TlsRecord>,
    /// Local clock (UTC) when the first request was sent.
    pub started_at: DateTime<Utc>,
    /// Local clock (UTC) when the final response's headers arrived: set beside the server's
    /// `date` header, it shows the clock skew between the two.
    pub response_at: Option<DateTime<Utc>>,
    /// Milliseconds from the first request to the last body byte.
    pub duration_ms: u64,
    /// Every attempt at the body, in order: the first request's, then each resumption after
    /// a connection dropped or stalled. Empty in transcripts older than resumption and when
    /// no final response was reached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
}

/// One attempt at a body: the first request, or a resumption with `Range` + `If-Range`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    /// Local clock (UTC) when the attempt's request was sent.
    pub started_at: DateTime<Utc>,
    /// The byte it asked to start at: 0 for the first request, else the bytes already held.
    pub offset: u64,
    /// Why the bytes already held were thrown away and this attempt's body started from
    /// byte 0, or null when it continued from `offset`.
    pub restart: Option<Restart>,
    /// Status of the attempt's final response; null when none came.
    pub status: Option<u16>,
    /// The URL its body came from (redacted); null when no response came.
    pub url: Option<String>,
    /// TLS facts of the attempt's connection; null for plain HTTP or when none was made.
    pub tls: Option<TlsRecord>,
    /// Over the embedded Tor client: the exit relay of the attempt's stream (RSA identity),
    /// when known. Every exit is also in the artifact's `tor_exits`.
    pub tor_exit: Option<String>,
    /// Body bytes this attempt received.
    pub received: u64,
    /// How the attempt ended short, or null when it completed the body.
    pub error: Option<ArtifactError>,
}

/// Why a resumption started over from byte 0: never are two versions of a file spliced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// The server answered the range request with the whole body (`200`), as it may when
    /// the file changed (`If-Range` did not match) or when it does not do ranges.
    RangeIgnored,
    /// A `206` whose `Content-Range` did not start where asked, or named another length.
    WrongRange,
    /// A `206` whose validator (ETag or Last-Modified) is not the first response's: another
    /// version of the file.
    ValidatorChanged,
    /// The first response had no strong ETag and no Last-Modified: a range of it could come
    /// from another version, so the body is asked for whole again.
    NoValidator,
    /// The resumed range is asked to start a little before the bytes held, and those
    /// overlapping bytes were not the ones held: the server shifted the range, or sent
    /// another version under the same validator.
    OverlapDiffers,
    /// Continuing an interrupted run (`tofu fetch --resume`): the partial file on disk was
    /// not what the interrupted process's last checkpoint vouched for (its length or its
    /// SHA-256), so none of it is used.
    PartialChanged,
}

/// One HTTP response on the way to the body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hop {
    /// The URL requested (redacted).
    pub url: String,
    /// The status answered.
    pub status: u16,
    /// The `Location` answered, resolved against `url` (redacted); null on the last hop.
    pub location: Option<String>,
}

/// TLS facts of one connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsRecord {
    /// Negotiated protocol version, e.g. `TLSv1.3`, when known.
    pub version: Option<String>,
    /// SHA-256 (hex) of the DER of the server's leaf certificate.
    pub leaf_cert_sha256: Option<String>,
    /// SHA-256 (hex) of the DER of every certificate the server sent, leaf first.
    pub chain_sha256: Vec<String>,
    /// SHA-256 (hex) of the leaf certificate's SubjectPublicKeyInfo: stays the same across
    /// certificate renewals that keep the key.
    pub leaf_spki_sha256: Option<String>,
    /// The issuer of the last certificate the server sent (RFC 4514), as sent: a name any
    /// server can copy, so not evidence of the root; `anchor` is.
    pub chain_root_issuer: Option<String>,
    /// The trust anchor the verification of this connection's chain ended at; null when
    /// not known (a transcript from before tofu recorded it).
    #[serde(default)]
    pub anchor: Option<TlsAnchor>,
}

/// The trusted root a verified chain ended at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsAnchor {
    /// The root's subject (RFC 4514).
    pub subject: String,
    /// SHA-256 (hex) of the root's SubjectPublicKeyInfo (DER): what identifies the root, since
    /// anyone can make a certificate with the same subject but not with the same key.
    pub spki_sha256: String,
    /// Where the root came from: `platform` (the system's trust store) or `ca-cert` (a file
    /// given with `--ca-cert` or `[fetch] ca_certs`).
    pub source: AnchorSource,
}

/// Where a trusted root came from.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum AnchorSource {
    /// The system's trust store.
    Platform,
    /// A file the user gave (`--ca-cert`, `[fetch] ca_certs`).
    CaCert,
}

/// Why an artifact failed. The code is stable; scripts may match it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactError {
    /// Stable kebab-case code, e.g. `http-status`, `truncated`, `insecure-redirect`.
    pub code: crate::ErrorCode,
    /// What happened, for people: one line in their words (`connection refused by
    /// 127.0.0.1:9050`, `cannot resolve tails.net: …`).
    pub message: String,
    /// The chain of causes the message was read from, outermost first, as the libraries
    /// worded them (`tofu fetch -v` shows them); absent when the message is all there is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
}

/// A structural problem that makes a transcript unusable even though it parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Transcript {
    /// Checks what the types cannot: unique artifact ids, well-formed digests, and that each
    /// artifact is either complete or failed, never both or neither.
    pub fn check(&self) -> Result<(), Invalid> {
        if self.format != FORMAT {
            return Err(Invalid(format!(
                "format is {:?}, expected {FORMAT:?}",
                self.format
            )));
        }
        if !is_hex(&self.run.id, 32) {
            return Err(Invalid(format!(
                "run.id {:?} is not 32 hex digits",
                self.run.id
            )));
        }
        if let Some(plan) = &self.plan
            && !is_hex(&plan.sha256, 64)
        {
            return Err(Invalid(format!(
                "plan.sha256 {:?} is not 64 hex digits",
                plan.sha256
            )));
        }
        self.vantage.check()?;
        let mut seen = std::collections::BTreeSet::new();
        for artifact in &self.artifacts {
            let name = &artifact.id;
            if !seen.insert(name.as_str()) {
                return Err(Invalid(format!("artifact id {name:?} appears twice")));
            }
            // A complete artifact shows how it was fetched; a failed one may have failed
            // before anything was asked.
            if artifact.error.is_none()
                && artifact.fetches.is_empty()
                && artifact.oci.is_none()
                && artifact.homebrew.is_none()
            {
                return Err(Invalid(format!("artifact {name:?} has no fetch")));
            }
            check_outcome(name, artifact.content.as_ref(), artifact.error.as_ref())?;
            for fetch in &artifact.fetches {
                check_outcome(name, fetch.content.as_ref(), fetch.error.as_ref())?;
                // An artifact's content stands for every fetch of it.
                if artifact.content.is_some() && fetch.content != artifact.content {
                    return Err(Invalid(format!(
                        "artifact {name:?} has content that its fetch of {} does not share",
                        fetch.url
                    )));
                }
            }
        }
        Ok(())
    }
}

impl Vantage {
    /// The exit fields agree with each other and with the transport: `exit_changed` is what
    /// the two lookups show, and a Tor transport never claims the lookups speak for the run.
    fn check(&self) -> Result<(), Invalid> {
        if self.exit_changed != exit_changed(&self.exit, self.exit_after.as_ref()) {
            return Err(Invalid(format!(
                "vantage.exit_changed is {} but the lookups before and after say otherwise",
                self.exit_changed
            )));
        }
        if self.exit_scope == Some(ExitScope::Run)
            && ExitScope::of(&self.transport) != ExitScope::Run
        {
            return Err(Invalid(
                "vantage.exit_scope is run, but through Tor the lookups speak only for \
                 themselves"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

/// Either complete (well-formed content) or failed, never both or neither.
fn check_outcome(
    name: &str,
    content: Option<&Content>,
    error: Option<&ArtifactError>,
) -> Result<(), Invalid> {
    match (content, error) {
        (Some(content), None) => {
            if is_hex(&content.sha256, 64) && is_hex(&content.sha512, 128) {
                Ok(())
            } else {
                Err(Invalid(format!("artifact {name:?} has a malformed digest")))
            }
        }
        (None, Some(_)) => Ok(()),
        (Some(_), Some(_)) => Err(Invalid(format!(
            "artifact {name:?} has both content and an error"
        ))),
        (None, None) => Err(Invalid(format!(
            "artifact {name:?} has neither content nor an error"
        ))),
    }
}

/// A fresh random run id: 128 bits from the OS, as 32 lowercase hex digits.
pub fn new_run_id() -> std::io::Result<String> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex::encode(id))
}

/// True when `s` is exactly `len` lowercase hex digits.
fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The JSON Schema of the transcript, as committed in docs/transcript.schema.json.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Transcript);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lookup whose probes answered `(ip, country)`, or failed for `None`.
    fn lookup(answers: &[Option<(&str, &str)>]) -> ExitEvidence {
        let probes = answers
            .iter()
            .map(|a| Probe {
                url: "https://whoami.example/".into(),
                status: None,
                answer: None,
                ip: a.map(|(ip, _)| ip.to_owned()),
                country: a.map(|(_, cc)| cc.to_owned()),
                server_date: None,
                response_at: None,
                tls: None,
                error: None,
            })
            .collect();
        ExitEvidence {
            probes,
            ip: None,
            country: None,
            conflict: false,
        }
    }

    #[test]
    fn an_exit_changed_only_when_both_lookups_answered_differently() {
        let de = Some(("198.51.100.7", "DE"));
        let ca = Some(("203.0.113.9", "CA"));
        let de_elsewhere = Some(("198.51.100.8", "DE"));
        assert!(!exit_changed(&lookup(&[de]), None));
        assert!(!exit_changed(&lookup(&[de]), Some(&lookup(&[de, de]))));
        assert!(exit_changed(&lookup(&[de]), Some(&lookup(&[ca]))));
        // Another address in the same country is a change too.
        assert!(exit_changed(&lookup(&[de]), Some(&lookup(&[de_elsewhere]))));
        // A failed lookup is missing evidence, not a change (compare makes it a gap).
        assert!(!exit_changed(&lookup(&[de]), Some(&lookup(&[None]))));
        assert!(!exit_changed(&lookup(&[None]), Some(&lookup(&[ca]))));
        // Every answer counts: a lookup in conflict that showed a new exit changed.
        assert!(exit_changed(&lookup(&[de, de]), Some(&lookup(&[de, ca]))));
    }

    #[test]
    fn the_scope_follows_the_transport() {
        let socks = |tor_daemon| Transport::Socks5 {
            proxy: "socks5h://127.0.0.1:9050".into(),
            remote_dns: true,
            authenticated: tor_daemon,
            tor_daemon,
        };
        assert_eq!(ExitScope::of(&Transport::Direct), ExitScope::Run);
        assert_eq!(ExitScope::of(&socks(false)), ExitScope::Run);
        assert_eq!(ExitScope::of(&socks(true)), ExitScope::Lookups);
        let mut vantage = Vantage {
            transport: socks(true),
            extra_roots: Vec::new(),
            exit: lookup(&[Some(("198.51.100.7", "DE"))]),
            exit_after: None,
            exit_changed: false,
            exit_scope: None,
            claimed_country: None,
        };
        // An older transcript's scope is the transport's.
        assert_eq!(vantage.exit_scope(), ExitScope::Lookups);
        assert!(vantage.check().is_ok());
        // A Tor run never claims that its lookups speak for the downloads.
        vantage.exit_scope = Some(ExitScope::Run);
        assert!(vantage.check().is_err());
        vantage.exit_scope = Some(ExitScope::Lookups);
        // exit_changed is what the lookups show, never set by hand.
        vantage.exit_after = Some(lookup(&[Some(("203.0.113.9", "CA"))]));
        assert!(vantage.check().is_err());
        vantage.exit_changed = true;
        assert!(vantage.check().is_ok());
    }

    #[test]
    fn the_chunk_size_keeps_the_list_within_4096_entries() {
        const MIB: u64 = 1 << 20;
        assert_eq!(Chunks::size_for(None), MIB);
        assert_eq!(Chunks::size_for(Some(0)), MIB);
        assert_eq!(Chunks::size_for(Some(1)), MIB);
        assert_eq!(Chunks::size_for(Some(4096 * MIB)), MIB);
        assert_eq!(Chunks::size_for(Some(4096 * MIB + 1)), 2 * MIB);
        assert_eq!(Chunks::size_for(Some(1 << 40)), 256 * MIB);
        assert_eq!(Chunks::size_for(Some(u64::MAX)), 1 << 52);
        for len in [1, MIB, 4096 * MIB - 1, 4096 * MIB + 1, 3 << 33, 1 << 50] {
            let size = Chunks::size_for(Some(len));
            assert!(
                size.is_power_of_two() && len.div_ceil(size) <= 4096,
                "{len}"
            );
        }
    }

    #[test]
    fn a_chunk_list_is_believed_only_when_it_fits_the_content() {
        const MIB: u64 = 1 << 20;
        let list = |size: u64, n: usize| Chunks {
            size,
            sha256: vec!["a".repeat(64); n],
        };
        assert!(list(MIB, 0).check(0).is_ok());
        assert!(list(MIB, 1).check(1).is_ok());
        assert!(list(MIB, 2).check(2 * MIB).is_ok());
        assert!(list(MIB, 3).check(2 * MIB + 1).is_ok());
        // One entry too many or too few.
        assert!(list(MIB, 3).check(2 * MIB).is_err());
        assert!(list(MIB, 1).check(MIB + 1).is_err());
        // Not a power of two, too small, larger than any length needs, or zero.
        assert!(list(MIB + 1, 1).check(MIB).is_err());
        assert!(list(MIB / 2, 2).check(MIB).is_err());
        assert!(list(2 * MIB, 1).check(MIB).is_err());
        assert!(list(0, 0).check(0).is_err());
        // A digest of the wrong length or case.
        let mut bad = list(MIB, 2);
        bad.sha256[1] = "A".repeat(64);
        assert!(bad.check(2 * MIB).is_err());
        bad.sha256[1] = "a".repeat(63);
        assert!(bad.check(2 * MIB).is_err());
        assert_eq!(list(MIB, 3).range(2, 2 * MIB + 5), (2 * MIB, 2 * MIB + 5));
    }
}
