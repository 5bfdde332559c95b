//! Manifests and indexes: the raw bytes are hashed as received (never re-serialized), then
//! checked strictly — every SHOULD of the distribution spec is a MUST here: the pinned
//! digest, `Docker-Content-Digest` when present, `Content-Type` against `mediaType`, no
//! ambiguous documents, no schema 1, schema version 2.

use std::collections::BTreeMap;

use serde::Deserialize;
use tofu_record::{OciDescriptor, OciDocument};

use super::error::OciError;
use super::reference::Digest;

pub(super) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(super) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(super) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(super) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// The `Accept` header for manifests: the four types tofu verifies, never schema 1.
pub(super) const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Manifests and indexes larger than this are refused (as containers/image and oras do).
pub(super) const MAX_MANIFEST: usize = 4 << 20;

// Optional fields may be absent, never `null`: the image-spec's schema has no null values,
// and a `"config": null` in an index (or `"manifests": null` in a manifest) is a document
// that can be read two ways.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDocument {
    #[serde(default, deserialize_with = "not_null")]
    schema_version: Option<u64>,
    #[serde(default, deserialize_with = "not_null")]
    media_type: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    manifests: Option<Vec<RawDescriptor>>,
    #[serde(default, deserialize_with = "not_null")]
    config: Option<RawDescriptor>,
    #[serde(default, deserialize_with = "not_null")]
    layers: Option<Vec<RawDescriptor>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default, deserialize_with = "not_null")]
    platform: Option<RawPlatform>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    urls: Vec<String>,
}

#[derive(Deserialize)]
struct RawPlatform {
    architecture: String,
    os: String,
    #[serde(default, deserialize_with = "not_null")]
    variant: Option<String>,
}

/// A field that is present holds a value: `null` is refused (absence is `#[serde(default)]`).
fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A descriptor, its digest parsed.
#[derive(Clone, Debug)]
pub(crate) struct Descriptor {
    pub(crate) record: OciDescriptor,
    pub(crate) digest: Digest,
}

impl Descriptor {
    /// Whether it names an image manifest of a type tofu verifies. The image-spec: an index
    /// entry of a media type the implementation does not know MUST be ignored.
    pub(crate) fn is_image_manifest(&self) -> bool {
        matches!(
            self.record.media_type.as_str(),
            OCI_MANIFEST | DOCKER_MANIFEST
        )
    }
}

/// A checked image manifest: the blobs of one image.
pub(crate) struct Manifest {
    pub(crate) config: Descriptor,
    pub(crate) layers: Vec<Descriptor>,
}

/// What a checked document holds.
pub(super) enum Kind {
    Index(Vec<Descriptor>),
    Manifest(Manifest),
}

/// A checked manifest or index.
pub(super) struct Document {
    pub(super) raw: Vec<u8>,
    pub(super) record: OciDocument,
    pub(super) kind: Kind,
}

/// What the bytes must be: pinned by the user's reference, or described by a parent.
pub(super) enum Expected<'a> {
    Nothing,
    Pinned(&'a Digest),
    Described(&'a Descriptor),
}

/// Checks a manifest response's bytes and headers; see the module comment. The order is
/// the point: first whether these are the bytes asked for, then what they are.
pub(super) fn check(
    raw: Vec<u8>,
    content_type: Option<&str>,
    docker_content_digest: Option<&str>,
    expected: Expected<'_>,
) -> Result<Document, OciError> {
    let digest = Digest::sha256_of(&raw);
    let content_type = served_type(content_type);
    let header = docker_content_digest
        .map(str::trim)
        .filter(|h| !h.is_empty());
    check_identity(&raw, &digest, header, &expected)?;
    // Only once the bytes are the ones asked for does their kind matter.
    if content_type.starts_with("application/vnd.docker.distribution.manifest.v1") {
        return Err(OciError::Schema1);
    }
    if let Expected::Described(desc) = &expected {
        check_described(&raw, &content_type, desc)?;
    }
    let doc = parse(&raw, &content_type)?;
    let kind = kind(doc, content_type.clone())?;
    Ok(Document {
        record: OciDocument {
            digest: digest.to_string(),
            size: raw.len() as u64,
            media_type: content_type,
            docker_content_digest: header.map(str::to_owned),
        },
        raw,
        kind,
    })
}

/// The served `Content-Type` without parameters, lowercase (the spec: ignore parameters).
fn served_type(content_type: Option<&str>) -> String {
    content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Are these the bytes asked for: the pin (the user's, or a parent's descriptor), then the
/// registry's own `Docker-Content-Digest`, which may be absent but never wrong.
fn check_identity(
    raw: &[u8],
    digest: &Digest,
    header: Option<&str>,
    expected: &Expected<'_>,
) -> Result<(), OciError> {
    // The pin first: a substituted document is the worst lie, whatever else it gets wrong.
    let pinned = match expected {
        Expected::Nothing => None,
        Expected::Pinned(d) => Some(*d),
        Expected::Described(desc) => Some(&desc.digest),
    };
    if let Some(pin) = pinned
        && !pin.matches(raw)
    {
        return Err(OciError::DigestMismatch {
            expected: pin.to_string(),
            found: digest.to_string(),
        });
    }
    if let Some(header) = header {
        let claimed = Digest::parse(header).map_err(|e| OciError::DigestHeaderMismatch {
            header: header.to_owned(),
            found: format!("(unusable header: {e}) {digest}"),
        })?;
        if !claimed.matches(raw) {
            return Err(OciError::DigestHeaderMismatch {
                header: header.to_owned(),
                found: digest.to_string(),
            });
        }
    }
    Ok(())
}

/// A child document must be what its parent's descriptor says: that size, that media type.
fn check_described(raw: &[u8], content_type: &str, desc: &Descriptor) -> Result<(), OciError> {
    if desc.record.size != raw.len() as u64 {
        return Err(OciError::DescriptorMismatch {
            what: format!("manifest {}", desc.record.digest),
            detail: format!(
                "{} bytes, the descriptor says {}",
                raw.len(),
                desc.record.size
            ),
        });
    }
    if desc.record.media_type != content_type {
        return Err(OciError::ContentTypeMismatch {
            content_type: content_type.to_owned(),
            media_type: desc.record.media_type.clone(),
        });
    }
    Ok(())
}

/// The JSON, read one way only: schema version 2, not both an index and a manifest, and a
/// `mediaType` (when present) that is the served type.
fn parse(raw: &[u8], content_type: &str) -> Result<RawDocument, OciError> {
    let doc: RawDocument = serde_json::from_slice(raw)
        .map_err(|e| OciError::BadManifest(format!("not JSON of a manifest: {e}")))?;
    match doc.schema_version {
        Some(2) => {}
        Some(1) => return Err(OciError::Schema1),
        other => {
            return Err(OciError::BadManifest(format!(
                "schemaVersion is {other:?}, expected 2"
            )));
        }
    }
    if doc.manifests.is_some() && (doc.layers.is_some() || doc.config.is_some()) {
        return Err(OciError::Ambiguous);
    }
    if let Some(media_type) = &doc.media_type
        && media_type != content_type
    {
        return Err(OciError::ContentTypeMismatch {
            content_type: content_type.to_owned(),
            media_type: media_type.clone(),
        });
    }
    Ok(doc)
}

/// An index or an image manifest, as its fields and its served type both say, with every
/// descriptor checked.
fn kind(doc: RawDocument, content_type: String) -> Result<Kind, OciError> {
    match (doc.manifests, doc.config, doc.layers) {
        (Some(manifests), None, None) => {
            if !matches!(content_type.as_str(), OCI_INDEX | DOCKER_LIST) {
                return Err(OciError::ContentTypeMismatch {
                    content_type,
                    media_type: "an index".to_owned(),
                });
            }
            Ok(Kind::Index(
                manifests
                    .into_iter()
                    .map(descriptor)
                    .collect::<Result<_, _>>()?,
            ))
        }
        // `layers` is REQUIRED in an image manifest (image-spec; Docker's schema 2 too).
        (None, Some(config), Some(layers)) => {
            if !matches!(content_type.as_str(), OCI_MANIFEST | DOCKER_MANIFEST) {
                return Err(OciError::ContentTypeMismatch {
                    content_type,
                    media_type: "an image manifest".to_owned(),
                });
            }
            Ok(Kind::Manifest(Manifest {
                config: descriptor(config)?,
                layers: layers
                    .into_iter()
                    .map(descriptor)
                    .collect::<Result<_, _>>()?,
            }))
        }
        _ => Err(OciError::BadManifest(
            "neither an index (manifests) nor an image manifest (config, layers)".to_owned(),
        )),
    }
}

fn descriptor(raw: RawDescriptor) -> Result<Descriptor, OciError> {
    let digest = Digest::parse(&raw.digest).map_err(OciError::BadManifest)?;
    if !valid_media_type(&raw.media_type) {
        return Err(OciError::BadManifest(format!(
            "descriptor {}: {:?} is not a media type (RFC 6838 type/subtype)",
            raw.digest, raw.media_type
        )));
    }
    // The image-spec's size is an int64.
    if i64::try_from(raw.size).is_err() {
        return Err(OciError::BadManifest(format!(
            "descriptor {}: size {} is out of range",
            raw.digest, raw.size
        )));
    }
    // The platform is recorded as `os/arch[/variant]`: a part that is empty or holds `/`
    // would make that string read differently.
    if let Some(p) = &raw.platform {
        let parts = [Some(&p.os), Some(&p.architecture), p.variant.as_ref()];
        if parts
            .into_iter()
            .flatten()
            .any(|s| s.is_empty() || s.contains('/'))
        {
            return Err(OciError::BadManifest(format!(
                "descriptor {}: platform {:?}/{:?}/{:?} has an empty part or a '/'",
                raw.digest, p.os, p.architecture, p.variant
            )));
        }
    }
    let platform = raw.platform.map(|p| match p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
        None => format!("{}/{}", p.os, p.architecture),
    });
    Ok(Descriptor {
        digest,
        record: OciDescriptor {
            digest: raw.digest,
            size: raw.size,
            media_type: raw.media_type,
            platform,
            annotations: raw.annotations,
            urls: raw.urls,
        },
    })
}

/// The image-spec's descriptor media type:
/// `^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`.
fn valid_media_type(media_type: &str) -> bool {
    let part = |p: &str| {
        let b = p.as_bytes();
        (1..=127).contains(&b.len())
            && b[0].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(c))
    };
    media_type
        .split_once('/')
        .is_some_and(|(t, sub)| part(t) && part(sub))
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::json_mutation::{mutate, pointers};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    const TYPES: [&str; 4] = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

    /// The image-spec's media type pattern, matched by hand:
    /// `^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`.
    fn spec_media_type(text: &str) -> bool {
        let mut parts = text.split('/');
        let part = |p: Option<&str>| {
            p.is_some_and(|p| {
                (1..=127).contains(&p.len())
                    && p.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
            })
        };
        part(parts.next()) && part(parts.next()) && parts.next().is_none()
    }

    /// A descriptor as JSON: a real media type, a digest, a size, maybe a platform and
    /// annotations.
    fn descriptor_json() -> impl Strategy<Value = Value> {
        let media_type = proptest::sample::select(vec![
            "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.in-toto+json",
        ]);
        let platform = proptest::option::of((
            "(linux|windows|darwin)",
            "(amd64|arm64|arm|s390x)",
            proptest::option::of("v[5-8]"),
        ));
        let annotations = proptest::collection::btree_map("[a-z.]{1,12}", "[ -~]{0,12}", 0..3);
        let hex = any::<[u8; 32]>().prop_map(hex::encode);
        (media_type, hex, 0u64..1 << 40, platform, annotations).prop_map(
            |(media_type, hex, size, platform, annotations)| {
                let mut d = json!({
                    "mediaType": media_type,
                    "digest": format!("sha256:{hex}"),
                    "size": size,
                });
                if let Some((os, architecture, variant)) = platform {
                    d["platform"] = json!({"os": os, "architecture": architecture});
                    if let Some(v) = variant {
                        d["platform"]["variant"] = json!(v);
                    }
                }
                if !annotations.is_empty() {
                    d["annotations"] = json!(annotations);
                }
                d
            },
        )
    }

    /// A valid index or image manifest as JSON, with the Content-Type it is served with.
    fn valid_document() -> impl Strategy<Value = (Value, &'static str)> {
        (
            proptest::sample::select(TYPES.to_vec()),
            descriptor_json(),
            proptest::collection::vec(descriptor_json(), 0..4),
            any::<bool>(),
        )
            .prop_map(|(content_type, first, rest, with_media_type)| {
                let mut doc = if matches!(content_type, OCI_INDEX | DOCKER_LIST) {
                    let mut manifests = vec![first];
                    manifests.extend(rest);
                    json!({"schemaVersion": 2, "manifests": manifests})
                } else {
                    json!({"schemaVersion": 2, "config": first, "layers": rest})
                };
                if with_media_type {
                    doc["mediaType"] = json!(content_type);
                }
                (doc, content_type)
            })
    }

    /// JSON pointers to the descriptors of a valid document.
    fn descriptor_pointers(doc: &Value) -> Vec<String> {
        let mut all = Vec::new();
        pointers(doc, "", &mut all);
        all.retain(|p| {
            p == "/config"
                || ["/manifests/", "/layers/"].iter().any(|list| {
                    p.strip_prefix(list)
                        .is_some_and(|i| i.bytes().all(|b| b.is_ascii_digit()))
                })
        });
        all
    }

    /// Replacement values: wrong types, empty and foreign strings, out-of-range numbers.
    fn junk() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            Just(json!("")),
            Just(json!(1)),
            Just(json!(-1)),
            Just(json!(1.5)),
            Just(json!(u64::MAX)),
            Just(json!(true)),
            Just(json!([])),
            Just(json!({})),
            Just(json!("linux/amd64")),
            Just(json!(
                "application/vnd.docker.distribution.manifest.v1+json"
            )),
            Just(json!(format!("sha256:{}", "A".repeat(64)))),
            proptest::sample::select(TYPES.to_vec()).prop_map(|t| json!(t)),
            "[ -~]{0,12}".prop_map(|t| json!(t)),
        ]
    }

    /// A valid document mutated by one or two removals or replacements, with its
    /// Content-Type.
    fn mutated_document() -> impl Strategy<Value = (Vec<u8>, &'static str)> {
        (
            valid_document(),
            proptest::collection::vec((any::<usize>(), proptest::option::of(junk())), 1..3),
        )
            .prop_map(|((mut doc, content_type), edits)| {
                for (pick, replacement) in edits {
                    mutate(&mut doc, pick, replacement);
                }
                (serde_json::to_vec(&doc).unwrap(), content_type)
            })
    }

    /// What every accepted document satisfies, read off its bytes independently.
    fn assert_sound(raw: &[u8], content_type: Option<&str>, doc: &Document) {
        assert_eq!(doc.raw, raw);
        assert_eq!(doc.record.digest, Digest::sha256_of(raw).to_string());
        assert_eq!(doc.record.size, raw.len() as u64);
        let media_type = doc.record.media_type.as_str();
        assert!(TYPES.contains(&media_type), "{media_type}");
        let served = content_type
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default();
        assert!(served.trim().eq_ignore_ascii_case(media_type));
        let json: Value = serde_json::from_slice(raw).unwrap();
        assert_eq!(json["schemaVersion"], json!(2));
        if let Some(declared) = json.get("mediaType") {
            assert_eq!(declared, &json!(media_type));
        }
        let descriptors: Vec<(&Value, &Descriptor)> = match &doc.kind {
            Kind::Index(entries) => {
                assert!(matches!(media_type, OCI_INDEX | DOCKER_LIST));
                assert!(json.get("config").is_none() && json.get("layers").is_none());
                let listed = json["manifests"].as_array().unwrap();
                assert_eq!(listed.len(), entries.len());
                listed.iter().zip(entries).collect()
            }
            Kind::Manifest(Manifest { config, layers }) => {
                assert!(matches!(media_type, OCI_MANIFEST | DOCKER_MANIFEST));
                assert!(json.get("manifests").is_none());
                let listed = json["layers"]
                    .as_array()
                    .expect("an image manifest has layers");
                assert_eq!(listed.len(), layers.len());
                std::iter::once((&json["config"], config))
                    .chain(listed.iter().zip(layers))
                    .collect()
            }
        };
        for (json, d) in descriptors {
            let media_type = json["mediaType"]
                .as_str()
                .expect("a descriptor has mediaType");
            assert!(spec_media_type(media_type), "media type {media_type:?}");
            assert_eq!(d.record.media_type, media_type);
            let digest = json["digest"].as_str().expect("a descriptor has digest");
            assert_eq!(d.record.digest, digest);
            assert_eq!(d.digest.to_string(), digest);
            let size = json["size"]
                .as_i64()
                .expect("a descriptor's size is an int64");
            assert!(size >= 0);
            assert_eq!(d.record.size, size as u64);
            match json.get("platform") {
                None => assert_eq!(d.record.platform, None),
                Some(p) => {
                    let printed = d.record.platform.as_deref().unwrap();
                    let mut want = vec![
                        p["os"].as_str().unwrap(),
                        p["architecture"].as_str().unwrap(),
                    ];
                    want.extend(p.get("variant").and_then(Value::as_str));
                    let parts: Vec<&str> = printed.split('/').collect();
                    assert_eq!(parts, want, "platform {printed:?} does not read back");
                }
            }
        }
    }

    /// Content-Type values: the four, with parameters or other case, schema 1, junk, none.
    fn content_type() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(prop_oneof![
            proptest::sample::select(TYPES.to_vec()).prop_map(str::to_owned),
            proptest::sample::select(TYPES.to_vec())
                .prop_map(|t| format!(" {} ; charset=utf-8", t.to_ascii_uppercase())),
            Just("application/vnd.docker.distribution.manifest.v1+prettyjws".to_owned()),
            any::<String>(),
        ])
    }

    fn check_nothing(raw: &[u8], content_type: Option<&str>) -> Result<Document, OciError> {
        check(raw.to_vec(), content_type, None, Expected::Nothing)
    }

    proptest! {
        /// `check` never panics on any bytes, Content-Type and Docker-Content-Digest, and
        /// what it accepts is sound.
        #[test]
        fn never_panics_on_bytes(
            raw in proptest::collection::vec(any::<u8>(), 0..4096),
            content_type in content_type(),
            header in proptest::option::of(prop_oneof!["sha256:[0-9a-f]{64}", any::<String>()]),
        ) {
            let (ct, dcd) = (content_type.as_deref(), header.as_deref());
            if let Ok(doc) = check(raw.clone(), ct, dcd, Expected::Nothing) {
                assert_sound(&raw, content_type.as_deref(), &doc);
            }
        }

        /// Valid documents are accepted, with every descriptor, also when pinned by their
        /// digest and announced by a matching Docker-Content-Digest.
        #[test]
        fn valid_documents_are_accepted((doc, content_type) in valid_document()) {
            let raw = serde_json::to_vec(&doc).unwrap();
            let pin = Digest::sha256_of(&raw);
            let header = pin.to_string();
            let got = check(raw.clone(), Some(content_type), Some(&header), Expected::Pinned(&pin))
                .unwrap_or_else(|e| panic!("{e}: {doc}"));
            assert_sound(&raw, Some(content_type), &got);
        }

        /// Near-valid documents (fields dropped, replaced by other types or values) never
        /// panic `check`, and whatever it accepts is sound: required fields present, media
        /// types per the image-spec, sizes int64, platforms that read back.
        #[test]
        fn mutated_documents_are_sound((raw, content_type) in mutated_document()) {
            if let Ok(doc) = check_nothing(&raw, Some(content_type)) {
                assert_sound(&raw, Some(content_type), &doc);
            }
        }

        /// A descriptor whose mediaType breaks the image-spec's pattern is refused.
        #[test]
        fn bad_descriptor_media_types_are_refused(
            (mut doc, content_type) in valid_document(),
            pick in any::<usize>(),
            bad in prop_oneof![
                Just(String::new()),
                "[a-z]{1,10}",
                "[a-z]{1,5}/",
                "/[a-z]{1,5}",
                "[a-z]{1,5}/[a-z]{1,5}/[a-z]{1,5}",
                "[-.+_][a-z]{0,5}/[a-z]{1,5}",
                "[a-z]{1,5} /[a-z]{1,5}",
                "[a-z]{1,5}/[a-z]{1,5};[a-z]=[a-z]",
                "[a-z]{128}/[a-z]{1,5}",
                any::<String>(),
            ],
        ) {
            prop_assume!(!spec_media_type(&bad));
            let slots = descriptor_pointers(&doc);
            doc.pointer_mut(&slots[pick % slots.len()]).unwrap()["mediaType"] = json!(bad);
            let raw = serde_json::to_vec(&doc).unwrap();
            prop_assert!(check_nothing(&raw, Some(content_type)).is_err(), "{} accepted", doc);
        }

        /// A descriptor without digest, size or mediaType is refused, with serde_json's
        /// position in the message.
        #[test]
        fn descriptors_missing_a_field_are_refused(
            (mut doc, content_type) in valid_document(),
            pick in any::<usize>(),
            field in proptest::sample::select(vec!["digest", "size", "mediaType"]),
        ) {
            let slots = descriptor_pointers(&doc);
            let descriptor = doc.pointer_mut(&slots[pick % slots.len()]).unwrap();
            descriptor.as_object_mut().unwrap().remove(field);
            let raw = serde_json::to_vec(&doc).unwrap();
            match check_nothing(&raw, Some(content_type)) {
                Err(OciError::BadManifest(m)) => {
                    prop_assert!(m.contains(" line ") && m.contains(" column "), "{}", m);
                }
                other => prop_assert!(false, "{} gave {:?}", doc, other.map(|d| d.record)),
            }
        }

        /// A descriptor size beyond int64, or a platform part that is empty or holds `/`
        /// (so that `os/arch[/variant]` would read differently), is refused.
        #[test]
        fn out_of_range_descriptor_fields_are_refused(
            (doc, content_type) in valid_document(),
            pick in any::<usize>(),
            size in (i64::MAX as u64 + 1)..=u64::MAX,
            part in proptest::sample::select(vec!["os", "architecture", "variant"]),
            bad_part in "(|/|[a-z]{0,4}/[a-z]{0,4})",
        ) {
            let slots = descriptor_pointers(&doc);
            let slot = &slots[pick % slots.len()];
            let mut big = doc.clone();
            big.pointer_mut(slot).unwrap()["size"] = json!(size);
            let mut bad_platform = doc.clone();
            let platform = &mut bad_platform.pointer_mut(slot).unwrap()["platform"];
            *platform = json!({"os": "linux", "architecture": "arm64"});
            platform[part] = json!(bad_part);
            for doc in [big, bad_platform] {
                let raw = serde_json::to_vec(&doc).unwrap();
                prop_assert!(check_nothing(&raw, Some(content_type)).is_err(), "{} accepted", doc);
            }
        }

        /// A document whose mediaType is empty, foreign, or another of the four types than
        /// its Content-Type is refused.
        #[test]
        fn foreign_document_media_types_are_refused(
            (mut doc, content_type) in valid_document(),
            media_type in prop_oneof![
                Just(String::new()),
                proptest::sample::select(TYPES.to_vec()).prop_map(str::to_owned),
                "application/vnd\\.[a-z.]{1,20}\\+json",
                any::<String>(),
            ],
        ) {
            // The served type itself becomes the empty string: always foreign.
            let media_type = if media_type == content_type { String::new() } else { media_type };
            doc["mediaType"] = json!(media_type);
            let raw = serde_json::to_vec(&doc).unwrap();
            prop_assert!(check_nothing(&raw, Some(content_type)).is_err());
        }

        /// The bytes must be the ones asked for: a wrong pin, a wrong Docker-Content-Digest,
        /// or a size other than the parent descriptor's is refused with its own error.
        #[test]
        fn wrong_digests_and_sizes_are_refused(
            (doc, content_type) in valid_document(),
            other in any::<[u8; 32]>().prop_map(hex::encode),
            delta in 1u64..1000,
        ) {
            let raw = serde_json::to_vec(&doc).unwrap();
            let wrong = Digest::parse(&format!("sha256:{other}")).unwrap();
            prop_assume!(!wrong.matches(&raw));
            let pinned = check(raw.clone(), Some(content_type), None, Expected::Pinned(&wrong));
            let refused = matches!(pinned, Err(OciError::DigestMismatch { .. }));
            prop_assert!(refused, "{:?}", pinned.map(|d| d.record));
            let header = wrong.to_string();
            let announced =
                check(raw.clone(), Some(content_type), Some(&header), Expected::Nothing);
            let refused = matches!(announced, Err(OciError::DigestHeaderMismatch { .. }));
            prop_assert!(refused, "{:?}", announced.map(|d| d.record));
            let parent = Descriptor {
                digest: Digest::sha256_of(&raw),
                record: tofu_record::OciDescriptor {
                    digest: Digest::sha256_of(&raw).to_string(),
                    size: raw.len() as u64 + delta,
                    media_type: content_type.to_owned(),
                    platform: None,
                    annotations: BTreeMap::new(),
                    urls: Vec::new(),
                },
            };
            let described = check(raw, Some(content_type), None, Expected::Described(&parent));
            let refused = matches!(described, Err(OciError::DescriptorMismatch { .. }));
            prop_assert!(refused, "{:?}", described.map(|d| d.record));
        }

        /// Bytes that are not JSON are refused as `BadManifest` carrying serde_json's line
        /// and column.
        #[test]
        fn non_json_is_refused_with_a_position(
            raw in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..512),
                mutated_document().prop_map(|(mut raw, _)| { raw.truncate(raw.len() / 2); raw }),
            ],
            content_type in proptest::sample::select(TYPES.to_vec()),
        ) {
            prop_assume!(serde_json::from_slice::<Value>(&raw).is_err());
            match check_nothing(&raw, Some(content_type)) {
                Err(OciError::BadManifest(m)) => {
                    prop_assert!(m.contains(" line ") && m.contains(" column "), "{}", m);
                }
                other => prop_assert!(false, "{:?}", other.map(|d| d.record)),
            }
        }
    }
}
