//! One body over as many attempts as it takes: a connection that drops or stalls is resumed
//! with `Range` + `If-Range` (the first response's strong ETag, else its Last-Modified), and
//! the running digests continue over the appended bytes. Anything that could splice two
//! versions of the file — a `200` to the range request, a `206` that starts elsewhere or
//! carries another validator, a first response with no validator at all — starts the body
//! over from byte 0 instead (digests reset, the keep file truncated). Every attempt is
//! recorded; the attempts are bounded by [`FetchOptions::retries`], with backoff.

use std::time::Duration;

use chrono::Utc;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tofu_record::redact::redact_url;
use tofu_record::{ArtifactError, Attempt, Restart};
use url::Url;

use crate::Partial;
use crate::digest::StreamDigests;
use crate::error::FetchError;
use crate::http::{Exchange, FetchOptions, FinalResponse};
use crate::keep::Keeper;
use crate::openpgp::Scanner;
use crate::transport::Client;

/// How often a kept body reports a checkpoint.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How many of the bytes already held a resumption asks for again, to check that the server
/// continues the same bytes: a range shifted by a lying `Content-Range`, or another version
/// under the same validator, shows there before a single new byte is taken.
const OVERLAP: usize = 4096;

/// What a resumption must match: where the body came from, its validator and its length.
#[derive(Clone, Debug)]
struct Origin {
    url: Url,
    validator: Option<Validator>,
    /// The whole body's declared length.
    total: Option<u64>,
}

/// A response's validator, as `If-Range` takes it: a strong ETag, else Last-Modified.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Validator {
    ETag(HeaderValue),
    LastModified(HeaderValue),
}

impl Validator {
    /// The validator of a response's headers. A weak ETag (`W/…`) cannot be used with
    /// `If-Range` (RFC 9110, 13.1.5), so it falls back to Last-Modified.
    fn of(headers: &HeaderMap) -> Option<Validator> {
        if let Some(etag) = headers.get(header::ETAG)
            && !etag.as_bytes().starts_with(b"W/")
        {
            return Some(Validator::ETag(etag.clone()));
        }
        headers
            .get(header::LAST_MODIFIED)
            .map(|v| Validator::LastModified(v.clone()))
    }

    /// As a checkpoint records it: (`etag` or `last-modified`, value).
    fn to_pair(&self) -> Option<(String, String)> {
        let kind = match self {
            Validator::ETag(_) => "etag",
            Validator::LastModified(_) => "last-modified",
        };
        Some((kind.to_owned(), self.value().to_str().ok()?.to_owned()))
    }

    fn from_pair((kind, value): &(String, String)) -> Option<Validator> {
        let value = HeaderValue::from_str(value).ok()?;
        match kind.as_str() {
            "etag" => Some(Validator::ETag(value)),
            "last-modified" => Some(Validator::LastModified(value)),
            _ => None,
        }
    }

    fn value(&self) -> &HeaderValue {
        match self {
            Validator::ETag(v) | Validator::LastModified(v) => v,
        }
    }

    /// The same kind of validator of `headers` is this one. A response that leaves it out
    /// does not match: nothing then says it is the same version.
    fn matches(&self, headers: &HeaderMap) -> bool {
        let name = match self {
            Validator::ETag(_) => header::ETAG,
            Validator::LastModified(_) => header::LAST_MODIFIED,
        };
        headers.get(name) == Some(self.value())
    }
}

impl Origin {
    fn of(url: &Url, response: &reqwest::Response, total: Option<u64>) -> Origin {
        Origin {
            url: url.clone(),
            validator: Validator::of(response.headers()),
            total,
        }
    }
}

/// `Content-Range: bytes START-END/TOTAL` as (start, end, total); `None` for any other form
/// (`*/TOTAL`, an unknown total, other units, garbage).
fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let value = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (start, end, total) = (number(start)?, number(end)?, number(total)?);
    (start <= end && end < total).then_some((start, end, total))
}

/// The declared length of a response's body.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Whether another attempt may get further after `error`: a dropped, stalled or timed-out
/// transfer, a refused or failed connection, a server error. A certificate, a size limit, a
/// redirect refused or a disk error would be the same again.
fn resumable(error: &FetchError) -> bool {
    match error {
        FetchError::Truncated { .. }
        | FetchError::Stalled { .. }
        | FetchError::Timeout(_)
        | FetchError::Http(_)
        | FetchError::Connect(_) => true,
        FetchError::Status { status } => *status >= 500 || matches!(status, 408 | 429),
        _ => false,
    }
}

/// The bytes of the body held so far.
pub(crate) struct Received {
    pub(crate) digests: StreamDigests,
    /// What is read of the body as it arrives, for the artifact's first URL (mirrors must
    /// send the same bytes).
    pub(crate) watched: Watching,
    /// The last [`OVERLAP`] bytes held (fewer when fewer are).
    tail: Vec<u8>,
}

/// What is read of a body as it arrives, beyond its digests.
pub(crate) struct Watching {
    /// Reads the body as an OpenPGP key file, when it begins like one.
    pub(crate) scanner: Scanner,
    /// The body itself, while it is within [`crate::HOLD_LIMIT`], when asked to hold it.
    pub(crate) held: Option<Result<Vec<u8>, crate::TooLarge>>,
    /// Signatures checked over the body, when asked.
    pub(crate) signatures: Option<crate::openpgp::verify::Streamed>,
}

impl Received {
    /// Bytes to come, `expected` of them when known, of the artifact's URL `url_index`: the
    /// first is watched as `options.watch` asks and read as a key file should it be one.
    fn new(expected: Option<u64>, options: &FetchOptions, url_index: usize) -> Received {
        let watch = &options.watch;
        let first = url_index == 0;
        Received {
            // The expected length chooses the size of the chunk digests' chunks.
            digests: StreamDigests::new(expected),
            watched: Watching {
                scanner: if first {
                    Scanner::new()
                } else {
                    Scanner::off()
                },
                held: (first && watch.hold).then(|| Ok(Vec::new())),
                signatures: watch
                    .signatures
                    .as_ref()
                    .filter(|_| first)
                    .map(|s| crate::openpgp::verify::Streamed::start(std::sync::Arc::clone(s))),
            },
            tail: Vec::with_capacity(2 * OVERLAP),
        }
    }

    pub(crate) fn size(&self) -> u64 {
        self.digests.size()
    }

    pub(crate) fn take(&mut self, chunk: &bytes::Bytes) {
        self.digests.update(chunk);
        if chunk.len() >= OVERLAP {
            self.tail.clear();
            self.tail.extend_from_slice(&chunk[chunk.len() - OVERLAP..]);
        } else {
            self.tail.extend_from_slice(chunk);
            if self.tail.len() > OVERLAP {
                self.tail.drain(..self.tail.len() - OVERLAP);
            }
        }
        self.watched.feed(chunk);
    }
}

impl Watching {
    fn feed(&mut self, chunk: &bytes::Bytes) {
        self.scanner.feed(chunk);
        if let Some(Ok(bytes)) = &mut self.held {
            if bytes.len() + chunk.len() > crate::HOLD_LIMIT {
                self.held = Some(Err(crate::TooLarge));
            } else {
                bytes.extend_from_slice(chunk);
            }
        }
        if let Some(signatures) = &mut self.signatures {
            signatures.feed(chunk);
        }
    }
}

/// The record of an attempt that got no body to read.
fn failed_attempt(started_at: chrono::DateTime<Utc>, offset: u64, e: &FetchError) -> Attempt {
    Attempt {
        started_at,
        offset,
        restart: None,
        status: match e {
            FetchError::Status { status } => Some(*status),
            _ => None,
        },
        url: None,
        tls: None,
        tor_exit: None,
        received: 0,
        error: Some(ArtifactError::from(e)),
    }
}

/// A response to read, the first bytes of its body already read (past the overlap), and why
/// the download restarted, if it did.
type Asked = (reqwest::Response, bytes::Bytes, Option<Restart>);

/// One body being downloaded, over its attempts.
pub(crate) struct Download<'a> {
    client: &'a Client,
    options: &'a FetchOptions,
    label: String,
    origin: Origin,
    pub(crate) received: Received,
    pub(crate) keeper: Option<Keeper>,
    /// Attempts that ended short so far.
    failures: u32,
    /// Attempts in a row that ended short without a new byte: the backoff doubles with
    /// each.
    fruitless: u32,
    /// Which URL of the artifact this body is from.
    url_index: usize,
    last_checkpoint: std::time::Instant,
}

impl<'a> Download<'a> {
    fn new(
        client: &'a Client,
        options: &'a FetchOptions,
        label: (String, usize),
        origin: Origin,
        keeper: Option<Keeper>,
    ) -> Download<'a> {
        let total = origin.total;
        Download {
            client,
            options,
            label: label.0,
            origin,
            received: Received::new(total, options, label.1),
            keeper,
            failures: 0,
            fruitless: 0,
            url_index: label.1,
            last_checkpoint: std::time::Instant::now(),
        }
    }

    /// A download that begins with the first response of `url`.
    pub(crate) fn first(
        client: &'a Client,
        options: &'a FetchOptions,
        label: (String, usize),
        response: (&Url, &reqwest::Response, Option<u64>),
        keeper: Option<Keeper>,
    ) -> Download<'a> {
        let (url, response, total) = response;
        Download::new(
            client,
            options,
            label,
            Origin::of(url, response, total),
            keeper,
        )
    }

    /// A download that continues the body an interrupted run left in `keeper`'s file, as
    /// its checkpoint `partial` describes it, from the artifact's URL `url`.
    pub(crate) fn continuing(
        client: &'a Client,
        options: &'a FetchOptions,
        label: (String, usize),
        (url, partial): (&Url, &Partial),
        keeper: Keeper,
    ) -> Download<'a> {
        let origin = Origin {
            url: url.clone(),
            validator: partial.validator.as_ref().and_then(Validator::from_pair),
            total: partial.total,
        };
        Download::new(client, options, label, origin, Some(keeper))
    }

    /// Reads the body of `response`, the first attempt's, then resumes it until it is
    /// complete or an attempt fails in a way another would not mend, or the retries are spent.
    /// Every attempt goes into `exchange`.
    pub(crate) async fn run(
        &mut self,
        response: reqwest::Response,
        exchange: &mut Exchange,
    ) -> Result<(), FetchError> {
        let attempt = self.attempt_record(exchange.started_at, 0, None, &response);
        self.read_attempts((response, bytes::Bytes::new(), attempt), exchange)
            .await
    }

    /// Continues a body from the partial file: checks the bytes on disk against the
    /// checkpoint (`prefix_sha256` of its first `offset` bytes) and asks for the rest, or
    /// starts over when they are not what it vouched for; then as [`Download::run`].
    pub(crate) async fn run_continuing(
        &mut self,
        partial: &Partial,
        exchange: &mut Exchange,
    ) -> Result<(), FetchError> {
        let restart = self.restore(partial)?;
        let started_at = Utc::now();
        let offset = self.received.size();
        let asked = match restart {
            None => self.ask(exchange).await,
            Some(why) => self.restart(why, exchange).await,
        };
        let next = match asked {
            Ok((response, first, why)) => {
                let attempt = self.attempt_record(started_at, offset, restart.or(why), &response);
                if exchange.record.is_none() {
                    exchange.record =
                        Some(FinalResponse::of(self.client, response.url(), &response));
                }
                exchange.note_hop(response.url(), response.status().as_u16());
                (response, first, attempt)
            }
            Err(e) => {
                exchange
                    .attempts
                    .push(failed_attempt(started_at, offset, &e));
                self.again(e, exchange).await?
            }
        };
        self.read_attempts(next, exchange).await
    }

    /// Reads the bytes the partial file holds back through the digests: all of them when
    /// its first `offset` bytes hash to the checkpoint's `prefix_sha256` (the file is then
    /// cut to `offset`), else none (the file is emptied), with the reason.
    fn restore(&mut self, partial: &Partial) -> Result<Option<Restart>, FetchError> {
        let keeper = self
            .keeper
            .as_mut()
            .expect("a continued download has its file");
        let mut received = Received::new(partial.total, self.options, self.url_index);
        let read = keeper.read_prefix(partial.offset, |piece| {
            received.take(&bytes::Bytes::copy_from_slice(piece));
        })?;
        if read == partial.offset && received.digests.sha256_so_far() == partial.prefix_sha256 {
            keeper.truncate_to(partial.offset)?;
            self.received = received;
            return Ok(None);
        }
        keeper.restart()?;
        self.received = Received::new(partial.total, self.options, self.url_index);
        Ok(Some(Restart::PartialChanged))
    }

    /// Reads attempt after attempt, starting with `next`, until the body is complete or no
    /// attempt may follow.
    async fn read_attempts(
        &mut self,
        next: (reqwest::Response, bytes::Bytes, Attempt),
        exchange: &mut Exchange,
    ) -> Result<(), FetchError> {
        let (mut response, mut first, mut attempt) = next;
        loop {
            let offset = self.received.size();
            self.progress(|p| p.body_started(&self.label, offset, self.origin.total));
            let outcome = self.read(&mut response, first).await;
            self.progress(|p| p.body_finished());
            attempt.received = self.received.size() - offset;
            attempt.error = outcome.as_ref().err().map(ArtifactError::from);
            exchange.attempts.push(attempt);
            let error = match outcome {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            self.fruitless = if self.received.size() > offset {
                0
            } else {
                self.fruitless + 1
            };
            (response, first, attempt) = self.again(error, exchange).await?;
        }
    }

    fn progress(&self, f: impl FnOnce(&dyn crate::Progress)) {
        if let Some(sink) = &self.options.progress {
            f(sink.0.as_ref());
        }
    }

    /// After `error`, waits and asks again until a response with a body to read comes, and
    /// returns it with its attempt's record; fails with the last error when no attempt may
    /// follow.
    async fn again(
        &mut self,
        mut error: FetchError,
        exchange: &mut Exchange,
    ) -> Result<(reqwest::Response, bytes::Bytes, Attempt), FetchError> {
        loop {
            if !resumable(&error) || self.failures >= self.options.retries {
                return Err(error);
            }
            self.failures += 1;
            let wait = self.backoff();
            let reason = format!(
                "attempt {} of {} ended at byte {}: {error}; trying again in {} s",
                self.failures,
                self.options.retries.saturating_add(1),
                self.received.size(),
                wait.as_secs_f32()
            );
            self.progress(|p| p.retrying(&reason));
            tokio::time::sleep(wait).await;
            let started_at = Utc::now();
            let offset = self.received.size();
            match self.ask(exchange).await {
                Ok((response, first, restart)) => {
                    let attempt = self.attempt_record(started_at, offset, restart, &response);
                    return Ok((response, first, attempt));
                }
                Err(e) => {
                    exchange
                        .attempts
                        .push(failed_attempt(started_at, offset, &e));
                    self.fruitless += 1;
                    error = e;
                }
            }
        }
    }

    /// The wait before the next attempt: the retry delay, doubled for each attempt in a row
    /// that brought nothing, at most [`MAX_BACKOFF`].
    fn backoff(&self) -> Duration {
        let doublings = self.fruitless.saturating_sub(1).min(16);
        self.options
            .retry_delay
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF)
    }

    /// One resumption: the rest of the body from the bytes held, when the server can show it
    /// is the same version (its validator, an honest `Content-Range`, and the overlap: the
    /// range starts up to [`OVERLAP`] bytes early, and those must be the bytes held); else
    /// the whole body again, from byte 0. Returns the response whose body is to be read, the
    /// part of it already read past the overlap, and why the download restarted, if it did.
    async fn ask(&mut self, exchange: &mut Exchange) -> Result<Asked, FetchError> {
        let held = self.received.size();
        let Some(validator) = self.origin.validator.clone() else {
            return self.restart(Restart::NoValidator, exchange).await;
        };
        let overlap = self.received.tail.len() as u64;
        let from = held - overlap;
        let mut headers = HeaderMap::new();
        let range = HeaderValue::from_str(&format!("bytes={from}-"))
            .expect("a byte range is a valid header value");
        headers.insert(header::RANGE, range);
        headers.insert(header::IF_RANGE, validator.value().clone());
        let (mut response, url) = self
            .client
            .get_following(&self.origin.url, &headers, None, &mut Vec::new())
            .await?;
        let status = response.status().as_u16();
        match status {
            206 => {}
            200 => {
                self.start_over(&url, &response, exchange)?;
                return Ok((response, bytes::Bytes::new(), Some(Restart::RangeIgnored)));
            }
            416 => return self.restart(Restart::WrongRange, exchange).await,
            _ => return Err(FetchError::Status { status }),
        }
        let range = content_range(response.headers());
        if range.is_none_or(|(start, end, total)| {
            start != from || end + 1 != total || self.origin.total.is_some_and(|t| t != total)
        }) {
            return self.restart(Restart::WrongRange, exchange).await;
        }
        if !validator.matches(response.headers()) {
            return self.restart(Restart::ValidatorChanged, exchange).await;
        }
        match self.overlap(&mut response).await? {
            Some(rest) => {
                self.origin.total = range.map(|(_, _, total)| total);
                Ok((response, rest, None))
            }
            None => self.restart(Restart::OverlapDiffers, exchange).await,
        }
    }

    /// Reads the overlap at the start of a resumed body and checks it against the tail held:
    /// the bytes past it when it matches, None when it does not.
    async fn overlap(
        &self,
        response: &mut reqwest::Response,
    ) -> Result<Option<bytes::Bytes>, FetchError> {
        let tail = &self.received.tail;
        let mut seen = 0;
        let mut pace = self.client.pace();
        while seen < tail.len() {
            let Some(chunk) = pace
                .chunk(response)
                .await?
                .map_err(FetchError::from_reqwest)?
            else {
                return Err(FetchError::Truncated {
                    received: self.received.size() - (tail.len() - seen) as u64,
                    declared: self.origin.total.unwrap_or_default(),
                });
            };
            let n = chunk.len().min(tail.len() - seen);
            if chunk[..n] != tail[seen..seen + n] {
                return Ok(None);
            }
            seen += n;
            if seen == tail.len() {
                return Ok(Some(chunk.slice(n..)));
            }
        }
        Ok(Some(bytes::Bytes::new()))
    }

    /// Asks for the whole body again (no range), and starts over with it.
    async fn restart(
        &mut self,
        why: Restart,
        exchange: &mut Exchange,
    ) -> Result<Asked, FetchError> {
        let (response, url) = self
            .client
            .get_following(&self.origin.url, &HeaderMap::new(), None, &mut Vec::new())
            .await?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FetchError::Status { status });
        }
        self.start_over(&url, &response, exchange)?;
        Ok((response, bytes::Bytes::new(), Some(why)))
    }

    /// Throws away the bytes held and makes `response` (a `200`) the one the body starts
    /// with: its validator and length are what later resumptions must match, and its head
    /// is the one the transcript records for the body.
    fn start_over(
        &mut self,
        url: &Url,
        response: &reqwest::Response,
        exchange: &mut Exchange,
    ) -> Result<(), FetchError> {
        let total = content_length(response.headers());
        if total.is_some_and(|t| t > self.options.max_size) {
            return Err(FetchError::SizeLimit {
                limit: self.options.max_size,
            });
        }
        self.origin = Origin::of(url, response, total);
        self.received = Received::new(total, self.options, self.url_index);
        if let Some(keeper) = self.keeper.as_mut() {
            keeper.restart()?;
        }
        exchange.record = Some(FinalResponse::of(self.client, url, response));
        Ok(())
    }

    fn attempt_record(
        &self,
        started_at: chrono::DateTime<Utc>,
        offset: u64,
        restart: Option<Restart>,
        response: &reqwest::Response,
    ) -> Attempt {
        let url = response.url();
        Attempt {
            started_at,
            offset,
            restart,
            status: Some(response.status().as_u16()),
            url: Some(redact_url(url)),
            tls: self.client.tls_record(url, response),
            tor_exit: self
                .client
                .tor_streams()
                .last_exit
                .map(|relay| relay.rsa_identity),
            received: 0,
            error: None,
        }
    }

    /// Streams the body of `response` onto the bytes held, `first` (its start, already
    /// read) first: through the digests, into the keep file, at most the size limit, no
    /// slower than the speed limit. A body that ends short of the declared length is a
    /// truncation.
    async fn read(
        &mut self,
        response: &mut reqwest::Response,
        first: bytes::Bytes,
    ) -> Result<(), FetchError> {
        if !first.is_empty() {
            self.take(&first)?;
        }
        let mut pace = self.client.pace();
        loop {
            let chunk = match pace.chunk(response).await? {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                // A body cut short of its declared length is a truncation, whatever the
                // transport reports.
                Err(e)
                    if !e.is_timeout()
                        && self.origin.total.is_some_and(|t| self.received.size() < t) =>
                {
                    return Err(FetchError::Truncated {
                        received: self.received.size(),
                        declared: self.origin.total.unwrap_or_default(),
                    });
                }
                Err(e) => return Err(FetchError::from_reqwest(e)),
            };
            self.take(&chunk)?;
        }
        match self.origin.total {
            Some(declared) if declared != self.received.size() => Err(FetchError::Truncated {
                received: self.received.size(),
                declared,
            }),
            _ => Ok(()),
        }
    }

    /// One chunk of the body: counted against the size limit, hashed, kept, reported.
    fn take(&mut self, chunk: &bytes::Bytes) -> Result<(), FetchError> {
        let max_size = self.options.max_size;
        if self.received.size() + chunk.len() as u64 > max_size {
            return Err(FetchError::SizeLimit { limit: max_size });
        }
        self.received.take(chunk);
        if let Some(k) = self.keeper.as_mut() {
            k.write(chunk)?;
        }
        self.progress(|p| p.body_advanced(chunk.len() as u64));
        if self.last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Tells the checkpoint sink how far the kept file is, once its bytes are on disk.
    fn checkpoint(&mut self) -> Result<(), FetchError> {
        self.last_checkpoint = std::time::Instant::now();
        let (Some(sink), Some(keeper)) = (&self.options.checkpoints, &self.keeper) else {
            return Ok(());
        };
        keeper.sync()?;
        sink.0.save(&Partial {
            url_index: self.url_index,
            file: keeper.file_name(),
            offset: self.received.size(),
            prefix_sha256: self.received.digests.sha256_so_far(),
            validator: self.origin.validator.as_ref().and_then(Validator::to_pair),
            total: self.origin.total,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn content_ranges_are_read_strictly() {
        let cr = |v: &str| content_range(&headers(&[("content-range", v)]));
        assert_eq!(cr("bytes 100-199/200"), Some((100, 199, 200)));
        assert_eq!(cr("bytes 0-0/1"), Some((0, 0, 1)));
        for bad in [
            "bytes */200",
            "bytes 100-199/*",
            "bytes 100-99/200",
            "bytes 100-200/200",
            "bytes -5-199/200",
            "bytes +1-199/200",
            "items 0-1/2",
            "bytes 0-1/2/3",
            "bytes 99999999999999999999-1/2",
            "",
        ] {
            assert_eq!(cr(bad), None, "{bad}");
        }
        assert_eq!(content_range(&HeaderMap::new()), None);
    }

    #[test]
    fn the_validator_is_a_strong_etag_else_last_modified() {
        let lm = "Mon, 30 Nov 2026 10:00:00 GMT";
        let v = Validator::of(&headers(&[("etag", "\"a\""), ("last-modified", lm)]));
        assert_eq!(v, Some(Validator::ETag(HeaderValue::from_static("\"a\""))));
        let v = Validator::of(&headers(&[("etag", "W/\"a\""), ("last-modified", lm)]));
        assert_eq!(
            v,
            Some(Validator::LastModified(HeaderValue::from_static(lm)))
        );
        assert_eq!(Validator::of(&headers(&[("etag", "W/\"a\"")])), None);
        let v = v.unwrap();
        assert!(v.matches(&headers(&[("last-modified", lm)])));
        // Another validator kind, or none, is not the same version.
        assert!(!v.matches(&headers(&[("etag", "\"a\"")])));
        assert!(!v.matches(&HeaderMap::new()));
    }

    #[test]
    fn only_transfer_failures_are_resumed() {
        assert!(resumable(&FetchError::Truncated {
            received: 1,
            declared: 2
        }));
        assert!(resumable(&FetchError::Status { status: 503 }));
        assert!(resumable(&FetchError::Status { status: 429 }));
        assert!(!resumable(&FetchError::Status { status: 404 }));
        assert!(!resumable(&FetchError::Tls(
            crate::error::Explained::plain("bad certificate")
        )));
        assert!(!resumable(&FetchError::SizeLimit { limit: 1 }));
    }
}
