//! One artifact from one or more URLs. A plan may list mirrors on distinct domains: every
//! one is fetched, and the artifact has content only when all delivered the same bytes. A
//! disagreement between mirrors inside one run is a finding, recorded as `mirror-mismatch`.
//! With `--keep`, payloads get their final names only here, once the artifact has content:
//! a failed or disputed artifact keeps nothing.

use tofu_record::{Artifact, ArtifactError, ErrorCode, Fetch};
use url::Url;

use crate::http::{FetchOptions, Watched};
use crate::keep::Kept;
use crate::transport::Client;

impl Client {
    /// Fetches every URL of an artifact and records each fetch. Never fails: failures are
    /// in the artifact's and the fetches' `error`.
    pub(crate) async fn fetch_artifact(
        &self,
        id: String,
        urls: &[Url],
        options: &FetchOptions,
    ) -> (Artifact, Watched) {
        let mut fetches = Vec::with_capacity(urls.len());
        let mut kept = Vec::with_capacity(urls.len());
        let mut keyring = None;
        let mut watched = Watched::default();
        for (index, url) in urls.iter().enumerate() {
            let fetched = self.fetch_url(url, index, options).await;
            if index == 0 {
                keyring = fetched.keyring;
                watched = fetched.watched;
            }
            fetches.push(fetched.fetch);
            kept.push(fetched.kept);
        }
        let (mut content, mut error) = combine(&fetches);
        // Unplaced, the temporary files of a failed artifact are removed when `kept` drops.
        if content.is_some()
            && let Err(e) = place(&mut fetches, kept)
        {
            (content, error) = (None, Some(e));
        }
        // What the body holds is only told of an artifact that has it.
        let keyring = keyring.filter(|_| content.is_some());
        if content.is_none() {
            watched = Watched::default();
        }
        let artifact = Artifact {
            tor_exits: Vec::new(),
            id,
            content,
            fetches,
            openpgp: None,
            keyring,
            oci: None,
            homebrew: None,
            error,
            signature: None,
            checksums: None,
        };
        (artifact, watched)
    }
}

/// Gives each complete payload its final name, recorded as its fetch's `kept_as`. When one
/// cannot be placed, the artifact fails with `keep` and the ones already placed are removed
/// again: a failed artifact leaves nothing under a final name.
fn place(fetches: &mut [Fetch], kept: Vec<Option<Kept>>) -> Result<(), ArtifactError> {
    let mut placed = Vec::new();
    for (fetch, kept) in fetches.iter_mut().zip(kept) {
        let Some(kept) = kept else { continue };
        let dir = kept.dir().to_owned();
        match kept.place() {
            Ok(name) => {
                placed.push(dir.join(&name));
                fetch.kept_as = Some(name);
            }
            Err(e) => {
                let error = ArtifactError::from(&e);
                // A fetch is complete or failed, never both (Transcript::check): this one
                // failed at its last step, keeping.
                fetch.content = None;
                fetch.chunks = None;
                fetch.error = Some(error.clone());
                for path in placed {
                    // Best effort: the error below already fails the artifact.
                    let _ = std::fs::remove_file(path);
                }
                for fetch in fetches.iter_mut() {
                    fetch.kept_as = None;
                }
                return Err(error);
            }
        }
    }
    Ok(())
}

/// The artifact's outcome from its fetches.
fn combine(fetches: &[Fetch]) -> (Option<tofu_record::Content>, Option<ArtifactError>) {
    if let [only] = fetches {
        return (only.content.clone(), only.error.clone());
    }
    let failed: Vec<(&Fetch, &ArtifactError)> = fetches
        .iter()
        .filter_map(|f| f.error.as_ref().map(|e| (f, e)))
        .collect();
    if let [(_, first), ..] = failed[..] {
        // The code of the first failure, so scripts see why; the message names each one.
        let detail: Vec<String> = failed
            .iter()
            .map(|(f, e)| format!("{}: {}", f.url, e.message))
            .collect();
        return (
            None,
            Some(ArtifactError {
                code: first.code,
                message: format!(
                    "{} of {} mirrors failed: {}",
                    failed.len(),
                    fetches.len(),
                    detail.join("; ")
                ),
                causes: Vec::new(),
            }),
        );
    }
    let first = fetches[0].content.clone();
    if fetches.iter().all(|f| f.content == first) {
        return (first, None);
    }
    let detail: Vec<String> = fetches
        .iter()
        .filter_map(|f| {
            f.content
                .as_ref()
                .map(|c| format!("{} gave {} bytes, sha256 {}", f.url, c.size, c.sha256))
        })
        .collect();
    (
        None,
        Some(ArtifactError {
            code: ErrorCode::MirrorMismatch,
            message: format!("mirrors disagree: {}", detail.join("; ")),
            causes: Vec::new(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keep::Keeper;

    /// A payload that cannot be placed fails its fetch and its artifact, and the fetch is
    /// then failed only (no content beside the error: a transcript allows one or the other).
    #[test]
    fn a_payload_that_cannot_be_placed_fails_its_fetch_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let url = Url::parse("https://example.test/a.iso").unwrap();
        // Every name the payload could take is a file already.
        std::fs::write(dir.path().join("a.iso"), b"mine").unwrap();
        for n in 1..1000 {
            std::fs::write(dir.path().join(format!("a.iso.{n}")), b"mine").unwrap();
        }
        let mut keeper = Keeper::create(dir.path(), &url).unwrap();
        keeper.write(b"payload").unwrap();
        let kept = keeper.finish().unwrap();
        let content = tofu_record::Content {
            size: 7,
            sha256: "0".repeat(64),
            sha512: "0".repeat(128),
        };
        let mut fetches = vec![Fetch {
            url: url.to_string(),
            content: Some(content),
            http: None,
            kept_as: None,
            error: None,
            chunks: None,
        }];
        let error = place(&mut fetches, vec![Some(kept)]).unwrap_err();
        assert_eq!(error.code, ErrorCode::Keep);
        assert!(fetches[0].content.is_none() && fetches[0].error.is_some());
        assert_eq!(fetches[0].kept_as, None);
        assert_eq!(std::fs::read(dir.path().join("a.iso")).unwrap(), b"mine");
    }
}
