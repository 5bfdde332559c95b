//! One HTTP(S) artifact: redirects followed by hand (each hop recorded, https→http refused,
//! at most [`MAX_REDIRECTS`]), the body streamed once through SHA-256, SHA-512, the chunk
//! digests and an optional keep file, never held in memory whole.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;
use reqwest::header::{self, HeaderMap};
use tofu_record::redact::redact_url;
use tofu_record::{
    ArtifactError, Attempt, Chunks, Content, Fetch, Hop, HttpRecord, OpenPgpKeyring, TlsRecord,
};
use url::Url;

use crate::error::FetchError;
use crate::keep::{Keeper, Kept};
use crate::resume::{Download, Received, content_length};
use crate::transport::Client;

/// The most redirects followed for one artifact.
pub const MAX_REDIRECTS: usize = 10;

/// Response headers recorded in the transcript.
const RECORDED_HEADERS: [header::HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::ETAG,
    header::LAST_MODIFIED,
    header::DATE,
];

/// Per-artifact limits and where to keep payloads.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Largest body accepted, in bytes.
    pub max_size: u64,
    /// Keep payloads in this directory.
    pub keep_dir: Option<PathBuf>,
    /// The Homebrew JSON API, ending in `/`: `brew:FORMULA` reads `<api>formula/FORMULA.json`.
    /// The bottle registry comes from each formula's `bottle.stable.root_url`.
    pub homebrew_api: Url,
    /// Where bodies report their progress, if anywhere.
    pub progress: Option<crate::ProgressSink>,
    /// Attempts at a body after the first, when a transfer drops or stalls.
    pub retries: u32,
    /// The wait before the first retry; it doubles for each further attempt in a row that
    /// brought no new byte.
    pub retry_delay: std::time::Duration,
    /// Where kept bodies report checkpoints, for `--resume` after an interruption.
    pub checkpoints: Option<crate::CheckpointSink>,
    /// The body an interrupted run left on disk, to continue instead of starting over.
    pub resume_from: Option<crate::Partial>,
    /// What to read of the body as it arrives, beyond its digests.
    pub watch: Watch,
}

/// What to read of an artifact's body as it arrives (from its first URL: mirrors must send
/// the same bytes), for other artifacts of the plan to vouch with or for.
#[derive(Clone, Default)]
pub struct Watch {
    /// Hold the body in memory, up to [`crate::HOLD_LIMIT`] bytes: a checksum list, a
    /// signature or a key another artifact is checked with.
    pub hold: bool,
    /// Check these signatures over the body while it downloads.
    pub signatures: Option<std::sync::Arc<crate::openpgp::verify::Signatures>>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("hold", &self.hold)
            .field("signatures", &self.signatures.is_some())
            .finish()
    }
}

/// The largest body held in memory for other artifacts to be checked with.
pub const HOLD_LIMIT: usize = 16 << 20;

/// What was read of a body as it arrived, as [`Watch`] asked.
#[derive(Debug, Default)]
pub struct Watched {
    /// The body, when it was asked for and within [`HOLD_LIMIT`]; `Err` when it was larger.
    pub held: Option<Result<Vec<u8>, TooLarge>>,
    /// The signatures checked over it, when asked.
    pub signatures: Option<Vec<crate::openpgp::verify::Check>>,
}

/// A body larger than [`HOLD_LIMIT`], asked to be held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

/// Attempts at a body after the first, unless told otherwise.
pub const DEFAULT_RETRIES: u32 = 10;

/// Homebrew's own JSON API.
const HOMEBREW_API: &str = "https://formulae.brew.sh/api/";

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            max_size: 64 << 30,
            keep_dir: None,
            homebrew_api: Url::parse(HOMEBREW_API).expect("a constant URL parses"),
            progress: None,
            retries: DEFAULT_RETRIES,
            retry_delay: std::time::Duration::from_secs(1),
            checkpoints: None,
            resume_from: None,
            watch: Watch::default(),
        }
    }
}

/// One fetch, what its body holds when it is an OpenPGP key file, and with `--keep` the
/// complete body under its temporary name, for the artifact to place or drop.
pub(crate) struct Fetched {
    pub(crate) fetch: Fetch,
    pub(crate) keyring: Option<OpenPgpKeyring>,
    pub(crate) watched: Watched,
    pub(crate) kept: Option<Kept>,
}

impl Client {
    /// Fetches one URL and returns what was observed. Never fails: a failure is recorded in
    /// the fetch's `error`, with whatever HTTP facts were seen.
    pub(crate) async fn fetch_url(
        &self,
        url: &Url,
        index: usize,
        options: &FetchOptions,
    ) -> Fetched {
        let mut fetch = Fetch {
            url: redact_url(url),
            content: None,
            http: None,
            kept_as: None,
            error: None,
            chunks: None,
        };
        let mut exchange = Exchange {
            hops: Vec::new(),
            record: None,
            started_at: Utc::now(),
            clock: Instant::now(),
            attempts: Vec::new(),
        };
        let mut keyring = None;
        let mut kept = None;
        let mut watched = Watched::default();
        match self.exchange(url, index, options, &mut exchange).await {
            Ok(body) => {
                fetch.content = Some(body.content);
                fetch.chunks = Some(body.chunks);
                kept = body.kept;
                keyring = body.keyring;
                watched = body.watched;
            }
            Err(e) => {
                fetch.error = Some(ArtifactError::from(&e));
            }
        }
        fetch.http = exchange.into_record().map(Box::new);
        Fetched {
            fetch,
            keyring,
            watched,
            kept,
        }
    }

    /// One download: the final response's head (recorded in `exchange`), then the body,
    /// streamed through the digests, the size and speed limits and `--keep` (named after
    /// `url`, the URL asked for, not the one redirected to), resumed as often as
    /// [`FetchOptions::retries`] allows when the transfer drops or stalls.
    async fn exchange(
        &self,
        url: &Url,
        index: usize,
        options: &FetchOptions,
        exchange: &mut Exchange,
    ) -> Result<Body, FetchError> {
        let label = (body_label(url), index);
        let resume = options
            .resume_from
            .as_ref()
            .filter(|p| p.url_index == index);
        let mut download = match (resume, &options.keep_dir) {
            (Some(partial), Some(dir)) => {
                let keeper = Keeper::reopen(dir, &partial.file, url)?;
                let mut download =
                    Download::continuing(self, options, label, (url, partial), keeper);
                download.run_continuing(partial, exchange).await?;
                download
            }
            _ => {
                let (response, declared, current) =
                    self.final_response(url, options, exchange).await?;
                let keeper = match &options.keep_dir {
                    Some(dir) => Some(Keeper::create(dir, url)?),
                    None => None,
                };
                let first = (&current, &response, declared);
                let mut download = Download::first(self, options, label, first, keeper);
                download.run(response, exchange).await?;
                download
            }
        };
        let kept = download.keeper.take().map(Keeper::finish).transpose()?;
        let Received {
            digests, watched, ..
        } = download.received;
        let (content, chunks) = digests.finish();
        Ok(Body {
            content,
            chunks,
            kept,
            keyring: watched.scanner.finish(),
            watched: Watched {
                held: watched.held,
                signatures: watched.signatures.map(|s| s.finish()),
            },
        })
    }

    /// Follows redirects to the final response and records it; refuses anything but
    /// `200 OK` and a declared length over the limit. Returns the response, its declared
    /// length and its URL.
    async fn final_response(
        &self,
        url: &Url,
        options: &FetchOptions,
        exchange: &mut Exchange,
    ) -> Result<(reqwest::Response, Option<u64>, Url), FetchError> {
        let (response, current) = self
            .get_following(url, &HeaderMap::new(), None, &mut exchange.hops)
            .await?;
        exchange.record = Some(FinalResponse::of(self, &current, &response));
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Status {
                status: response.status().as_u16(),
            });
        }
        let declared = content_length(response.headers());
        if declared.is_some_and(|d| d > options.max_size) {
            return Err(FetchError::SizeLimit {
                limit: options.max_size,
            });
        }
        Ok((response, declared, current))
    }
}

/// A body received completely.
struct Body {
    content: Content,
    chunks: Chunks,
    kept: Option<Kept>,
    keyring: Option<OpenPgpKeyring>,
    watched: Watched,
}

/// What an exchange has seen so far, kept even when it fails.
pub(crate) struct Exchange {
    hops: Vec<Hop>,
    /// The head of the response the body kept began with.
    pub(crate) record: Option<FinalResponse>,
    pub(crate) started_at: chrono::DateTime<Utc>,
    clock: Instant,
    pub(crate) attempts: Vec<Attempt>,
}

/// The facts of a final response's head.
pub(crate) struct FinalResponse {
    response_at: chrono::DateTime<Utc>,
    final_url: String,
    status: u16,
    headers: BTreeMap<String, String>,
    tls: Option<TlsRecord>,
}

impl FinalResponse {
    pub(crate) fn of(client: &Client, url: &Url, response: &reqwest::Response) -> FinalResponse {
        FinalResponse {
            response_at: Utc::now(),
            final_url: redact_url(url),
            status: response.status().as_u16(),
            headers: recorded_headers(response.headers()),
            tls: client.tls_record(url, response),
        }
    }
}

impl Exchange {
    /// Records the request of a continued download as the exchange's only hop, when it has
    /// none (it asked the artifact's URL again, with a range).
    pub(crate) fn note_hop(&mut self, url: &Url, status: u16) {
        if self.hops.is_empty() {
            self.hops.push(Hop {
                url: redact_url(url),
                status,
                location: None,
            });
        }
    }

    fn into_record(self) -> Option<HttpRecord> {
        if self.hops.is_empty() {
            return None;
        }
        let duration_ms = u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (final_url, status, headers, tls, response_at) = match self.record {
            Some(r) => (r.final_url, r.status, r.headers, r.tls, Some(r.response_at)),
            // Stopped in the redirect chain: the last hop is where it ended.
            None => {
                let last = self.hops.last().expect("hops is not empty");
                (last.url.clone(), last.status, BTreeMap::new(), None, None)
            }
        };
        Some(HttpRecord {
            hops: self.hops,
            final_url,
            status,
            headers,
            tls,
            started_at: self.started_at,
            response_at,
            duration_ms,
            attempts: self.attempts,
        })
    }
}

/// What a progress display calls the body of `url`: its last path segment, else its host.
fn body_label(url: &Url) -> String {
    url.path_segments()
        .and_then(|mut segments| segments.next_back())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| url.host_str().unwrap_or_default().to_owned())
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

fn recorded_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    RECORDED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(name)?;
            Some((
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ))
        })
        .collect()
}

impl Client {
    /// GETs `url` with `headers`, following redirects by hand: each hop is recorded, https →
    /// http is refused, at most [`MAX_REDIRECTS`]. `authorization` goes only to the origin
    /// (scheme, host, port) of `url`: it is dropped on any hop that leaves it, and never
    /// comes back. Returns the final response (whatever its status) and its URL.
    pub(crate) async fn get_following(
        &self,
        url: &Url,
        headers: &HeaderMap,
        authorization: Option<&header::HeaderValue>,
        hops: &mut Vec<Hop>,
    ) -> Result<(reqwest::Response, Url), FetchError> {
        let origin = url.origin();
        let mut current = url.clone();
        let mut redirects = 0;
        let mut left_origin = false;
        loop {
            left_origin |= current.origin() != origin;
            let mut request = self
                .http
                .get(current.clone())
                .headers(headers.clone())
                .header(header::ACCEPT_ENCODING, "identity");
            if let Some(auth) = authorization
                && !left_origin
            {
                request = request.header(header::AUTHORIZATION, auth.clone());
            }
            let response = self.send(request).await?;
            let status = response.status();
            if !is_redirect(status.as_u16()) {
                hops.push(Hop {
                    url: redact_url(&current),
                    status: status.as_u16(),
                    location: None,
                });
                return Ok((response, current));
            }
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    FetchError::BadRedirect(format!("{status} without a readable Location"))
                })?;
            // An unparsable Location is not echoed: it may be a signed URL.
            let next = current.join(location).map_err(|e| {
                FetchError::BadRedirect(format!(
                    "unparsable Location ({} bytes): {e}",
                    location.len()
                ))
            })?;
            hops.push(Hop {
                url: redact_url(&current),
                status: status.as_u16(),
                location: Some(redact_url(&next)),
            });
            if current.scheme() == "https" && next.scheme() == "http" {
                return Err(FetchError::InsecureRedirect {
                    to: redact_url(&next),
                });
            }
            if !matches!(next.scheme(), "http" | "https") {
                return Err(FetchError::BadRedirect(format!(
                    "Location uses the {}: scheme",
                    next.scheme()
                )));
            }
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(FetchError::TooManyRedirects(MAX_REDIRECTS));
            }
            current = next;
        }
    }
}

impl Client {
    /// Sends a request and waits for the whole response head: connecting (TCP, proxy, Tor
    /// circuit, TLS) and the head together get the connect and read timeouts, however the
    /// server trickles its headers.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, FetchError> {
        let limit = self.head_deadline();
        match tokio::time::timeout(limit, request.send()).await {
            Ok(result) => result
                .map_err(|e| FetchError::from_reqwest_via(e, self.proxy_authority().as_deref())),
            Err(_) => Err(FetchError::Timeout(crate::error::Explained::plain(
                format!("no complete response head within {} s", limit.as_secs()),
            ))),
        }
    }

    /// The most a response head may take, connecting included.
    pub(crate) fn head_deadline(&self) -> std::time::Duration {
        self.options
            .connect_timeout
            .saturating_add(self.options.read_timeout)
    }

    /// The speed check of one body.
    pub(crate) fn pace(&self) -> Pace {
        let now = tokio::time::Instant::now();
        Pace {
            limit: self.options.speed_limit,
            started: now,
            buckets: std::collections::VecDeque::new(),
            in_window: 0,
            tick: Box::pin(tokio::time::sleep_until(now + Pace::TICK)),
        }
    }
}

/// Watches one body against the client's [`crate::SpeedLimit`], over a sliding window: the
/// bytes of the last `window` seconds, counted in quarter-second buckets (so memory stays a
/// few hundred entries whatever the speed), are judged on every chunk and every tick.
pub(crate) struct Pace {
    limit: crate::SpeedLimit,
    started: tokio::time::Instant,
    /// Bytes received per tick, oldest first, within the last window.
    buckets: std::collections::VecDeque<(tokio::time::Instant, u64)>,
    /// The sum of `buckets`.
    in_window: u64,
    tick: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl Pace {
    const TICK: std::time::Duration = std::time::Duration::from_millis(250);

    /// The next chunk of `response`, or [`FetchError::Stalled`] as soon as the last whole
    /// window held fewer bytes than the limit asks (also while no chunk arrives at all). The
    /// inner result is the transport's, for the caller to judge.
    pub(crate) async fn chunk(
        &mut self,
        response: &mut reqwest::Response,
    ) -> Result<Result<Option<bytes::Bytes>, reqwest::Error>, FetchError> {
        if self.limit.bytes_per_sec == 0 {
            return Ok(response.chunk().await);
        }
        loop {
            tokio::select! {
                biased;
                // Losing this branch to the tick loses nothing: `chunk()` only polls the
                // body for its next frame.
                result = response.chunk() => {
                    // The end of the body, or the transport's own failure, is reported as it
                    // is: only a chunk that arrived is judged for speed.
                    if let Ok(Some(chunk)) = &result {
                        self.note(chunk.len() as u64);
                        self.judge()?;
                    }
                    return Ok(result);
                }
                () = &mut self.tick => {
                    let next = tokio::time::Instant::now() + Self::TICK;
                    self.tick.as_mut().reset(next);
                    self.judge()?;
                }
            }
        }
    }

    fn note(&mut self, bytes: u64) {
        let now = tokio::time::Instant::now();
        self.in_window += bytes;
        match self.buckets.back_mut() {
            Some((at, count)) if now.duration_since(*at) < Self::TICK => *count += bytes,
            _ => self.buckets.push_back((now, bytes)),
        }
    }

    /// Stalled when a whole window has passed since the start and the last window holds
    /// fewer bytes than `bytes_per_sec × window`.
    fn judge(&mut self) -> Result<(), FetchError> {
        let now = tokio::time::Instant::now();
        let window = self.limit.window;
        // A bucket leaves the window only when all of it is older than the window (it is
        // dated by its first byte): lenient by at most one tick.
        while let Some((at, count)) = self.buckets.front().copied()
            && now.duration_since(at) > window + Self::TICK
        {
            self.in_window -= count;
            self.buckets.pop_front();
        }
        if now.duration_since(self.started) < window {
            return Ok(());
        }
        let received = self.in_window;
        let want = self
            .limit
            .bytes_per_sec
            .saturating_mul(window.as_secs().max(1));
        if received < want {
            return Err(FetchError::Stalled {
                received,
                window_secs: window.as_secs(),
                limit: self.limit.bytes_per_sec,
            });
        }
        Ok(())
    }
}

impl Client {
    /// TLS facts of the connection that carried `response`: the certificates its handshake
    /// showed and the anchor its verification ended at (every transport), and the version
    /// where reqwest reports it (it does not through a SOCKS proxy). Null for plain HTTP.
    pub(crate) fn tls_record(&self, url: &Url, response: &reqwest::Response) -> Option<TlsRecord> {
        if url.scheme() != "https" {
            return None;
        }
        // Unknown facts stay null: never those of another connection.
        let chain = self.seen.of(response).unwrap_or_default();
        let version = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.version())
            .map(|v| {
                let name = match v {
                    reqwest::tls::Version::TLS_1_3 => "TLSv1.3",
                    reqwest::tls::Version::TLS_1_2 => "TLSv1.2",
                    reqwest::tls::Version::TLS_1_1 => "TLSv1.1",
                    reqwest::tls::Version::TLS_1_0 => "TLSv1.0",
                    _ => "unknown",
                };
                name.to_owned()
            });
        Some(TlsRecord {
            version,
            leaf_cert_sha256: chain.chain_sha256.first().cloned(),
            chain_sha256: chain.chain_sha256,
            leaf_spki_sha256: chain.leaf_spki_sha256,
            chain_root_issuer: chain.root_issuer,
            anchor: chain.anchor,
        })
    }
}

impl Client {
    /// Reads a whole body, refusing a transfer below the speed limit and more than `cap`
    /// bytes, which `too_large` turns into the caller's error. Registry documents, tokens
    /// and Homebrew API answers all come through here.
    pub(crate) async fn read_capped<E: From<FetchError>>(
        &self,
        mut response: reqwest::Response,
        cap: usize,
        too_large: impl FnOnce(usize) -> E,
    ) -> Result<Vec<u8>, E> {
        let mut pace = self.pace();
        let mut body = Vec::new();
        while let Some(chunk) = pace
            .chunk(&mut response)
            .await?
            .map_err(FetchError::from_reqwest)?
        {
            if body.len() + chunk.len() > cap {
                return Err(too_large(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
