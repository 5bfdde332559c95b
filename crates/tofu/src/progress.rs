//! What a person sees while `tofu fetch` runs. On a terminal: a live line for the body being
//! downloaded (name, bytes, total, rate, ETA) and a bar for Tor's bootstrap, drawn by
//! indicatif. On a pipe, a file, `TERM=dumb`: no control codes at all, only a plain line now
//! and then. With `--quiet`: nothing.
//!
//! The display is one per process, like stderr itself: [`crate::output`] writes its lines
//! through [`suspend`], so a note printed while a bar is live never lands in the middle of it.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressStyle};
use tofu_fetch::tor::Bootstrap;
use tofu_fetch::{Progress, ProgressSink};

use crate::output;

/// How many characters of a body's name a line shows.
const LABEL_WIDTH: usize = 40;
/// On a pipe, the longest silence during a body before a plain line says how far it got.
const PLAIN_INTERVAL: Duration = Duration::from_secs(30);
/// How often a live line is redrawn when no bytes arrive, so a stall shows in rate and ETA.
const TICK: Duration = Duration::from_millis(250);

/// Where progress goes, decided once from the command line, stderr and the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// stderr is a terminal: live lines, in colour unless `NO_COLOR` is set.
    Live { colour: bool },
    /// stderr is a pipe, a file or a dumb terminal: plain lines, no control codes.
    Plain,
    /// `--quiet`: no progress at all.
    Quiet,
}

impl Mode {
    /// The mode for this process: `quiet` wins, then whether stderr is a terminal that
    /// understands control codes (`TERM=dumb` does not), then `NO_COLOR`.
    pub fn detect(quiet: bool) -> Mode {
        let term = std::env::var_os("TERM");
        let no_color = std::env::var_os("NO_COLOR");
        Mode::decide(
            quiet,
            std::io::stderr().is_terminal(),
            term.as_deref().and_then(|t| t.to_str()),
            no_color.is_some_and(|v| !v.is_empty()),
        )
    }

    fn decide(quiet: bool, tty: bool, term: Option<&str>, no_color: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if !tty || term == Some("dumb") {
            Mode::Plain
        } else {
            Mode::Live { colour: !no_color }
        }
    }
}

static DISPLAY: OnceLock<Arc<Display>> = OnceLock::new();

/// Sets up this process's display in `mode`; returns where downloads report progress (none
/// when quiet). Called once, before anything is fetched.
pub fn install(mode: Mode) -> Option<ProgressSink> {
    let display = DISPLAY.get_or_init(|| {
        Arc::new(match mode {
            Mode::Live { colour } => Display::Live(Live {
                multi: MultiProgress::new(),
                colour,
                body: Mutex::new(None),
                tor: Mutex::new(None),
            }),
            Mode::Plain => Display::Plain(Mutex::new(Plain::default())),
            Mode::Quiet => Display::Quiet,
        })
    });
    match **display {
        Display::Quiet => None,
        _ => Some(ProgressSink(Arc::clone(display) as Arc<dyn Progress>)),
    }
}

/// Runs `write` (which writes to stderr) with any live line taken off the screen, and draws
/// it again after.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    match DISPLAY.get().map(|d| &**d) {
        Some(Display::Live(live)) => live.multi.suspend(write),
        _ => write(),
    }
}

/// Takes every live line off the screen: the run is over, or failed.
pub fn finish() {
    if let Some(Display::Live(live)) = DISPLAY.get().map(|d| &**d) {
        for slot in [&live.body, &live.tor] {
            if let Some(bar) = lock(slot).take() {
                bar.finish_and_clear();
            }
        }
    }
}

/// Reports Tor's bootstrap: a bar on a terminal, a line per ten percent (and every time it
/// is stuck) elsewhere. Its signature is the one `Tor::start` takes.
pub fn tor_bootstrap(event: Bootstrap<'_>) {
    let display = DISPLAY.get().map(|d| &**d);
    match (event, display) {
        (_, Some(Display::Quiet)) => {}
        (Bootstrap::Done { summary }, _) => {
            if let Some(Display::Live(live)) = display
                && let Some(bar) = lock(&live.tor).take()
            {
                bar.finish_and_clear();
            }
            output::note(&format!("Tor bootstrap: {summary}"));
        }
        (
            Bootstrap::Status {
                fraction, status, ..
            },
            Some(Display::Live(live)),
        ) => {
            live.tor_status(fraction, status);
        }
        (
            Bootstrap::Status {
                fraction,
                status,
                blocked,
            },
            plain,
        ) => {
            let step = (fraction.clamp(0.0, 1.0) * 10.0) as u32;
            let news = match plain {
                Some(Display::Plain(p)) => lock(p).tor_step.replace(step) != Some(step),
                _ => true,
            };
            if news || blocked {
                output::note(&format!("Tor bootstrap: {status}"));
            }
        }
    }
}

/// The process's display.
enum Display {
    Live(Live),
    Plain(Mutex<Plain>),
    Quiet,
}

/// indicatif's lines: the current body's and Tor's bootstrap.
struct Live {
    multi: MultiProgress,
    colour: bool,
    body: Mutex<Option<ProgressBar>>,
    tor: Mutex<Option<ProgressBar>>,
}

/// What the plain display remembers between lines.
#[derive(Default)]
struct Plain {
    body: Option<PlainBody>,
    /// The last tenth of Tor's bootstrap that was reported.
    tor_step: Option<u32>,
}

impl Progress for Display {
    fn body_started(&self, label: &str, offset: u64, total: Option<u64>) {
        let label = bounded_label(label);
        match self {
            Display::Live(live) => live.body_started(label, offset, total),
            Display::Plain(plain) => {
                if offset > 0 {
                    output::note(&format!("  {label}: resuming at {}", amount(offset, total)));
                }
                lock(plain).body = Some(PlainBody::new(label, offset, total, Instant::now()));
            }
            Display::Quiet => {}
        }
    }

    fn body_advanced(&self, bytes: u64) {
        match self {
            Display::Live(live) => {
                if let Some(bar) = &*lock(&live.body) {
                    bar.inc(bytes);
                }
            }
            Display::Plain(plain) => {
                let line = lock(plain)
                    .body
                    .as_mut()
                    .and_then(|b| b.advance(bytes, Instant::now()));
                if let Some(line) = line {
                    output::note(&line);
                }
            }
            Display::Quiet => {}
        }
    }

    fn retrying(&self, reason: &str) {
        let label = match self {
            Display::Live(live) => lock(&live.body).as_ref().map(ProgressBar::message),
            Display::Plain(plain) => lock(plain).body.as_ref().map(|b| b.label.clone()),
            Display::Quiet => return,
        };
        let label = label.unwrap_or_else(|| "download".to_owned());
        output::note(&format!("  {label}: retrying: {reason}"));
    }

    fn body_finished(&self) {
        match self {
            Display::Live(live) => {
                if let Some(bar) = lock(&live.body).take() {
                    bar.finish_and_clear();
                }
            }
            Display::Plain(plain) => lock(plain).body = None,
            Display::Quiet => {}
        }
    }
}

impl Live {
    /// A new live line for a body, replacing the last one; a resumed attempt starts at
    /// `offset`, and its rate counts only what arrives from now on.
    fn body_started(&self, label: String, offset: u64, total: Option<u64>) {
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(self.style(BODY, BODY_COLOUR)),
            None => ProgressBar::no_length().with_style(self.style(SPINNER, SPINNER_COLOUR)),
        };
        let bar = self.multi.add(bar.with_message(label));
        if offset > 0 {
            bar.set_position(offset);
            bar.reset_eta();
        }
        bar.enable_steady_tick(TICK);
        if let Some(old) = lock(&self.body).replace(bar) {
            old.finish_and_clear();
        }
    }

    /// Moves Tor's bootstrap bar to `fraction`, with arti's words beside it.
    fn tor_status(&self, fraction: f32, status: &str) {
        let mut slot = lock(&self.tor);
        let bar = slot.get_or_insert_with(|| {
            let bar = ProgressBar::new(1000).with_style(self.style(TOR, TOR_COLOUR));
            let bar = self.multi.add(bar);
            bar.enable_steady_tick(TICK);
            bar
        });
        bar.set_position((f64::from(fraction.clamp(0.0, 1.0)) * 1000.0) as u64);
        bar.set_message(output::escape(status).into_owned());
    }

    fn style(&self, plain: &str, colour: &str) -> ProgressStyle {
        let template = if self.colour { colour } else { plain };
        ProgressStyle::with_template(template)
            .expect("the templates are constants, checked by the unit tests")
            .progress_chars("=> ")
            .tick_chars("|/-\\ ")
    }
}

/// A body with a known total: name, bar, bytes of total, rate, time left.
const BODY: &str = concat!(
    "  {msg:40} [{bar:24}] {bytes:>10} / {total_bytes:<10}",
    "  {binary_bytes_per_sec:>12}  ETA {eta}"
);
const BODY_COLOUR: &str = concat!(
    "  {msg:40} [{bar:24.cyan/blue}] {bytes:>10} / {total_bytes:<10}",
    "  {binary_bytes_per_sec:>12}  ETA {eta}"
);
/// A body of unknown length: name, bytes so far, rate, time taken.
const SPINNER: &str = "  {spinner} {msg:40} {bytes:>10}  {binary_bytes_per_sec:>12}  {elapsed}";
const SPINNER_COLOUR: &str =
    "  {spinner:.cyan} {msg:40} {bytes:>10}  {binary_bytes_per_sec:>12}  {elapsed}";
/// Tor's bootstrap.
const TOR: &str = "Tor bootstrap [{bar:30}] {percent:>3}%  {wide_msg}";
const TOR_COLOUR: &str = "Tor bootstrap [{bar:30.magenta/blue}] {percent:>3}%  {wide_msg}";

/// Where a body is, for the plain display, which speaks at each quarter of a known total
/// and after [`PLAIN_INTERVAL`] of silence.
struct PlainBody {
    label: String,
    done: u64,
    total: Option<u64>,
    /// Quarters of the total already reported.
    quarters: u64,
    last_line: Instant,
}

impl PlainBody {
    fn new(label: String, offset: u64, total: Option<u64>, now: Instant) -> PlainBody {
        let mut body = PlainBody {
            label,
            done: offset,
            total,
            quarters: 0,
            last_line: now,
        };
        body.quarters = body.quarter();
        body
    }

    fn quarter(&self) -> u64 {
        match self.total {
            Some(total) if total > 0 => (u128::from(self.done) * 4 / u128::from(total)) as u64,
            _ => 0,
        }
    }

    /// Counts `bytes` more; returns the line to print, if one is due. The last quarter is
    /// never announced: the outcome line follows it.
    fn advance(&mut self, bytes: u64, now: Instant) -> Option<String> {
        self.done = self.done.saturating_add(bytes);
        let quarter = self.quarter();
        let new_quarter = quarter > self.quarters && quarter < 4;
        self.quarters = self.quarters.max(quarter);
        if !new_quarter && now.duration_since(self.last_line) < PLAIN_INTERVAL {
            return None;
        }
        self.last_line = now;
        Some(format!(
            "  {}: {}",
            self.label,
            amount(self.done, self.total)
        ))
    }
}

/// `done` bytes, as a person reads them: "768.00 KiB of 3.00 MiB (25%)", or "1.50 MiB".
fn amount(done: u64, total: Option<u64>) -> String {
    match total {
        Some(total) if total > 0 => format!(
            "{} of {} ({}%)",
            HumanBytes(done),
            HumanBytes(total),
            u128::from(done.min(total)) * 100 / u128::from(total)
        ),
        _ => format!("{} so far", HumanBytes(done)),
    }
}

/// A body's name as a line shows it: escaped (it comes from a URL or a registry), and at most
/// [`LABEL_WIDTH`] characters, the middle elided so the start and the extension both show.
fn bounded_label(label: &str) -> String {
    let escaped = output::escape(label);
    let chars: Vec<char> = escaped.chars().collect();
    if chars.len() <= LABEL_WIDTH {
        return escaped.into_owned();
    }
    let tail = (LABEL_WIDTH - 1) / 2;
    let head = LABEL_WIDTH - 1 - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// A lock that a panic elsewhere does not poison for the display.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_follows_quiet_then_the_terminal_then_no_color() {
        assert_eq!(Mode::decide(true, true, Some("xterm"), false), Mode::Quiet);
        assert_eq!(
            Mode::decide(false, false, Some("xterm"), false),
            Mode::Plain
        );
        assert_eq!(Mode::decide(false, true, Some("dumb"), false), Mode::Plain);
        assert_eq!(
            Mode::decide(false, true, None, false),
            Mode::Live { colour: true }
        );
        assert_eq!(
            Mode::decide(false, true, Some("tmux-256color"), true),
            Mode::Live { colour: false }
        );
    }

    #[test]
    fn labels_are_escaped_and_bounded_keeping_both_ends() {
        assert_eq!(bounded_label("file.bin"), "file.bin");
        assert_eq!(bounded_label("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        let long = format!("start-{}-end.iso", "x".repeat(100));
        let bounded = bounded_label(&long);
        assert_eq!(bounded.chars().count(), LABEL_WIDTH);
        assert!(bounded.starts_with("start-xx"), "{bounded}");
        assert!(bounded.ends_with("x-end.iso"), "{bounded}");
        assert!(bounded.contains('…'), "{bounded}");
        // An escape cut in half is still only printable characters.
        let hostile = bounded_label(&"\u{1b}".repeat(50));
        assert!(!hostile.chars().any(char::is_control), "{hostile}");
    }

    #[test]
    fn plain_lines_come_at_each_quarter_and_after_a_silence() {
        let start = Instant::now();
        let mut body = PlainBody::new("f".to_owned(), 0, Some(400), start);
        assert_eq!(body.advance(99, start), None);
        assert_eq!(
            body.advance(1, start).as_deref(),
            Some("  f: 100 B of 400 B (25%)")
        );
        assert_eq!(body.advance(50, start), None);
        assert_eq!(
            body.advance(100, start).as_deref(),
            Some("  f: 250 B of 400 B (62%)")
        );
        assert_eq!(
            body.advance(100, start).as_deref(),
            Some("  f: 350 B of 400 B (87%)")
        );
        // The end is the outcome line's to tell.
        assert_eq!(body.advance(50, start), None);

        let mut unknown = PlainBody::new("g".to_owned(), 0, None, start);
        assert_eq!(
            unknown.advance(1 << 20, start + Duration::from_secs(29)),
            None
        );
        assert_eq!(
            unknown.advance(1 << 20, start + PLAIN_INTERVAL).as_deref(),
            Some("  g: 2.00 MiB so far")
        );
        assert_eq!(unknown.advance(1, start + PLAIN_INTERVAL), None);
    }

    #[test]
    fn a_resumed_body_does_not_announce_quarters_it_already_had() {
        let start = Instant::now();
        let mut body = PlainBody::new("f".to_owned(), 200, Some(400), start);
        assert_eq!(body.advance(50, start), None);
        assert_eq!(
            body.advance(50, start).as_deref(),
            Some("  f: 300 B of 400 B (75%)")
        );
    }

    #[test]
    fn every_template_parses() {
        for template in [BODY, BODY_COLOUR, SPINNER, SPINNER_COLOUR, TOR, TOR_COLOUR] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }
}
