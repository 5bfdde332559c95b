//! Where two copies of an artifact differ, from the chunk digests each run recorded: how many
//! chunks differ and the first differing byte range. One chunk of thousands points at a
//! targeted injection; every chunk at another version. Shown beside the verdict, never part
//! of it: the lists are someone else's word, believed only once they fit the content.

use schemars::JsonSchema;
use serde::Serialize;
use tofu_record::{Artifact, Chunks, Content, Fetch};

use crate::Group;
use crate::artifact::{ById, artifact_of};

/// Where one odd run's copy parts from the reference run's, chunk by chunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ChunkDiff {
    /// The odd run (1-based).
    pub run: usize,
    /// The run it is set against: the first run of the majority (or first) group.
    pub reference: usize,
    /// The chunk size both lists use, when they were compared.
    pub chunk_size: Option<u64>,
    /// Chunks in the longer of the two lists, when they were compared.
    pub chunks: Option<u64>,
    /// Chunks that differ, over the chunks both lists hold, when they were compared.
    pub differing: Option<u64>,
    /// The first differing chunk's bytes, `[first, last]` (both inclusive), when one differs.
    pub first_range: Option<[u64; 2]>,
    /// The finding for people, e.g. `1 of 2,048 chunks differs: bytes 548,405,248–549,453,823`,
    /// or why the lists could not be compared.
    pub message: String,
}

/// The chunk findings of each odd run that holds content against the reference run, the
/// first run of the first group (none when it has no content).
pub(crate) fn chunk_diffs(
    id: &str,
    by_id: &[ById<'_>],
    groups: &[Group],
    odd: &[usize],
) -> Vec<ChunkDiff> {
    let Some(first) = groups.first() else {
        return Vec::new();
    };
    let Some(reference_content) = &first.content else {
        return Vec::new();
    };
    let Some(reference) = first.runs.first().copied() else {
        return Vec::new();
    };
    let Some(reference_fetch) =
        artifact_of(by_id, id, reference).and_then(|a| fetch_with(a, |c| c == reference_content))
    else {
        return Vec::new();
    };
    odd.iter()
        .filter(|&&run| run != reference)
        .filter_map(|&run| {
            let fetch = artifact_of(by_id, id, run)
                .and_then(|a| fetch_with(a, |c| c != reference_content))?;
            Some(locate(run, reference, reference_fetch, fetch))
        })
        .collect()
}

/// The first fetch of `artifact` whose content passes `wanted`.
fn fetch_with(artifact: &Artifact, wanted: impl Fn(&Content) -> bool) -> Option<&Fetch> {
    artifact
        .fetches
        .iter()
        .find(|f| f.content.as_ref().is_some_and(&wanted))
}

/// One odd run's fetch against the reference run's.
fn locate(run: usize, reference: usize, a: &Fetch, b: &Fetch) -> ChunkDiff {
    let not_compared = |message: String| ChunkDiff {
        run,
        reference,
        chunk_size: None,
        chunks: None,
        differing: None,
        first_range: None,
        message,
    };
    let ((ca, la), (cb, lb)) = match (believed(reference, a), believed(run, b)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => return not_compared(e),
    };
    if la.size != lb.size {
        return not_compared(format!(
            "chunk lists not compared: run #{reference} used chunks of {} bytes, run #{run} of \
             {} bytes",
            grouped(la.size),
            grouped(lb.size)
        ));
    }
    let found = compare_lists(la, lb, ca.size.max(cb.size));
    ChunkDiff {
        run,
        reference,
        chunk_size: Some(la.size),
        chunks: Some(found.total),
        differing: Some(found.differing),
        first_range: found.first,
        message: describe(&found, ca.size, cb.size),
    }
}

/// A fetch's content and chunk list, once the list fits the content; else why it is ignored.
fn believed(run: usize, fetch: &Fetch) -> Result<(&Content, &Chunks), String> {
    let content = fetch
        .content
        .as_ref()
        .expect("only fetches with content are located");
    let Some(chunks) = &fetch.chunks else {
        return Err(format!(
            "run #{run} recorded no chunk digests (an older tofu): the differing bytes cannot \
             be located"
        ));
    };
    match chunks.check(content.size) {
        Ok(()) => Ok((content, chunks)),
        Err(e) => Err(format!(
            "run #{run}'s chunk list does not fit its content and is ignored: {}",
            e.0
        )),
    }
}

/// What two lists of one chunk size show.
struct Found {
    /// Entries in the longer list.
    total: u64,
    /// Entries both lists hold.
    common: u64,
    /// Differing entries among those.
    differing: u64,
    /// The first differing chunk's bytes, both ends inclusive.
    first: Option<[u64; 2]>,
}

/// Compares two consistent lists of one chunk size, over the entries both hold; `size` is the
/// larger content size, which ends the last chunk.
fn compare_lists(a: &Chunks, b: &Chunks, size: u64) -> Found {
    let mut differing = 0u64;
    let mut first = None;
    for (i, (x, y)) in (0u64..).zip(a.sha256.iter().zip(&b.sha256)) {
        if x != y {
            differing += 1;
            if first.is_none() {
                let (start, end) = a.range(i, size);
                first = Some([start, end.saturating_sub(1)]);
            }
        }
    }
    Found {
        total: a.sha256.len().max(b.sha256.len()) as u64,
        common: a.sha256.len().min(b.sha256.len()) as u64,
        differing,
        first,
    }
}

/// `1 of 2,048 chunks differs: bytes 548,405,248–549,453,823`, `all 2,048 chunks differ`,
/// and, for copies of different sizes, the sizes and what the shared chunks show.
fn describe(found: &Found, size_a: u64, size_b: u64) -> String {
    let range = |r: [u64; 2]| format!("bytes {}–{}", grouped(r[0]), grouped(r[1]));
    if size_a != size_b {
        let over = match (found.differing, found.first) {
            (0, _) | (_, None) => format!(
                "none of the {} chunks both hold differs: the shorter copy is a prefix of the \
                 longer, chunk by chunk",
                grouped(found.common)
            ),
            (n, Some(r)) => format!(
                "{} of the {} chunks both hold {}, the first {}",
                grouped(n),
                grouped(found.common),
                if n == 1 { "differs" } else { "differ" },
                range(r)
            ),
        };
        return format!(
            "sizes differ ({} and {} bytes); {over}",
            grouped(size_a),
            grouped(size_b)
        );
    }
    match (found.differing, found.first) {
        // Same size, other content, yet every chunk digest equal: the lists cannot be right.
        (0, _) | (_, None) => "no chunk digest differs though the contents do: the chunk lists \
                               do not describe these contents"
            .to_owned(),
        (n, Some(_)) if n == found.total && n > 1 => {
            format!("all {} chunks differ", grouped(n))
        }
        (1, Some(r)) => format!("1 of {} chunks differs: {}", grouped(found.total), range(r)),
        (n, Some(r)) => format!(
            "{} of {} chunks differ, the first {}",
            grouped(n),
            grouped(found.total),
            range(r)
        ),
    }
}

/// `2048` as `2,048`.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    /// A fetch of `size` bytes whose chunk list (chunks of `chunk` bytes) holds `digests`,
    /// one hex digit repeated per chunk.
    fn fetch(size: u64, chunk: u64, digests: &[char]) -> Fetch {
        Fetch {
            url: "https://example.test/a.iso".to_owned(),
            content: Some(Content {
                size,
                sha256: format!("{size:064x}"),
                sha512: "0".repeat(128),
            }),
            http: None,
            kept_as: None,
            error: None,
            chunks: Some(Chunks {
                size: chunk,
                sha256: digests.iter().map(|d| d.to_string().repeat(64)).collect(),
            }),
        }
    }

    #[test]
    fn one_chunk_of_many_is_named_with_its_bytes() {
        let mut b = vec!['a'; 2048];
        let a = fetch(2048 * MIB, MIB, &b);
        b[523] = 'b';
        let found = locate(2, 1, &a, &fetch(2048 * MIB, MIB, &b));
        assert_eq!(
            found.message,
            "1 of 2,048 chunks differs: bytes 548,405,248–549,453,823"
        );
        assert_eq!(found.first_range, Some([548_405_248, 549_453_823]));
        assert_eq!((found.differing, found.chunks), (Some(1), Some(2048)));
        assert_eq!((found.run, found.reference), (2, 1));
    }

    #[test]
    fn all_chunks_differ_in_another_version() {
        let found = locate(
            3,
            1,
            &fetch(3 * MIB, MIB, &['a', 'b', 'c']),
            &fetch(3 * MIB, MIB, &['d', 'e', 'f']),
        );
        assert_eq!(found.message, "all 3 chunks differ");
        assert_eq!(found.first_range, Some([0, MIB - 1]));
        let some = locate(
            3,
            1,
            &fetch(3 * MIB, MIB, &['a', 'b', 'c']),
            &fetch(3 * MIB, MIB, &['a', 'e', 'f']),
        );
        assert_eq!(
            some.message,
            "2 of 3 chunks differ, the first bytes 1,048,576–2,097,151"
        );
    }

    #[test]
    fn copies_of_different_sizes_are_located_over_the_chunks_both_hold() {
        // One byte appended: the short last chunk differs, nothing before it.
        let found = locate(
            2,
            1,
            &fetch(2 * MIB + 10, MIB, &['a', 'b', 'c']),
            &fetch(2 * MIB + 11, MIB, &['a', 'b', 'd']),
        );
        assert_eq!(
            found.message,
            "sizes differ (2,097,162 and 2,097,163 bytes); 1 of the 3 chunks both hold differs, \
             the first bytes 2,097,152–2,097,162"
        );
        // A truncated copy whose chunks all match the start of the longer one.
        let prefix = locate(
            2,
            1,
            &fetch(3 * MIB, MIB, &['a', 'b', 'c']),
            &fetch(2 * MIB, MIB, &['a', 'b']),
        );
        assert!(
            prefix
                .message
                .contains("none of the 2 chunks both hold differs")
        );
        assert_eq!(prefix.first_range, None);
    }

    #[test]
    fn an_inconsistent_list_is_ignored_with_a_note() {
        let good = fetch(3 * MIB, MIB, &['a', 'b', 'c']);
        // One entry short of its content.
        let short = fetch(3 * MIB, MIB, &['a', 'b']);
        let found = locate(2, 1, &good, &short);
        assert!(
            found
                .message
                .starts_with("run #2's chunk list does not fit")
        );
        assert_eq!((found.chunk_size, found.differing), (None, None));
        // A chunk size that is not a power of two, on the reference's side.
        let odd_size = fetch(3 * MIB, 3 * MIB / 2, &['a', 'b']);
        assert!(
            locate(2, 1, &odd_size, &good)
                .message
                .starts_with("run #1's chunk list does not fit")
        );
        // Malformed hex.
        let mut bad = good.clone();
        bad.chunks.as_mut().unwrap().sha256[0] = "<script>".to_owned();
        assert!(locate(2, 1, &good, &bad).message.contains("hex"));
        // No list at all (an older tofu), and lists of other chunk sizes.
        let mut none = good.clone();
        none.chunks = None;
        assert!(
            locate(2, 1, &good, &none)
                .message
                .contains("no chunk digests")
        );
        let coarse = fetch(4097 * MIB, 2 * MIB, &['a'; 2049]);
        let fine = fetch(4096 * MIB, MIB, &['a'; 4096]);
        assert!(
            locate(2, 1, &fine, &coarse)
                .message
                .contains("not compared")
        );
    }

    #[test]
    fn equal_lists_for_other_contents_are_not_believed() {
        let found = locate(2, 1, &fetch(MIB, MIB, &['a']), &fetch(MIB, MIB, &['a']));
        assert!(found.message.contains("do not describe these contents"));
        assert_eq!(found.first_range, None);
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(548_405_248), "548,405,248");
    }
}
