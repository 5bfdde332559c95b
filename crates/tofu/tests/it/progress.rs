//! What a person sees while `tofu fetch` runs: the real binary on a real terminal (tmux, its
//! pane captured as the screen shows it), and the same run into a pipe, which must hold no
//! control codes. nginx serves the file at 100 KiB/s, so the live line is on screen for
//! seconds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;

/// The slowly served file: 768 KiB, about 7.5 s at nginx's `limit_rate 100k`.
const SLOW_SIZE: usize = 768 << 10;

/// A world whose nginx also serves `big.bin` slowly, at `/slow/big.bin`.
fn slow_world() -> (World, String) {
    let w = World::new();
    std::fs::write(w.path("www/big.bin"), &payload()[..SLOW_SIZE]).unwrap();
    let url = w.nginx.https_url("slow/big.bin");
    (w, url)
}

/// A tmux server of its own (its socket in the test's directory) running one shell script
/// in a 200×30 pane; killed when dropped.
pub(crate) struct Tmux {
    program: PathBuf,
    socket: PathBuf,
}

impl Tmux {
    /// Starts tofu fetch of `url` in a pane, with `env` (`NAME=value` lines for the
    /// script); the pane stays after tofu exits, with its exit status printed.
    fn fetch(w: &World, url: &str, env: &str) -> Tmux {
        let tofu = env!("CARGO_BIN_EXE_tofu");
        let home = w.home();
        w.configure(&home, "");
        let script = w.path("run.sh");
        std::fs::write(
            &script,
            format!(
                "unset NO_COLOR CLICOLOR CLICOLOR_FORCE XDG_CONFIG_HOME XDG_DATA_HOME\n\
                 export HOME='{home}' ALL_PROXY=socks5h://127.0.0.1:9 \
                 HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9\n\
                 {env}\n\
                 cd '{dir}'\n\
                 '{tofu}' fetch --ca-cert '{ca}' -o run.json '{url}'\n\
                 echo \"tofu exited $?\"\n\
                 sleep 600\n",
                home = home.display(),
                dir = w.dir.path().display(),
                ca = w.ca.root_pem.display(),
            ),
        )
        .unwrap();
        Tmux::start(w, &script)
    }

    /// Starts `sh script` in a pane of a tmux server of its own.
    pub(crate) fn start(w: &World, script: &Path) -> Tmux {
        let tmux = Tmux {
            program: tofu_testkit::require_program("tmux", "tmux"),
            socket: w.path("tmux.sock"),
        };
        let out = tmux
            .command()
            .args(["new-session", "-d", "-x", "200", "-y", "30", "sh"])
            .arg(script)
            .output()
            .unwrap();
        assert_exit(&out, 0);
        tmux
    }

    /// Types `keys` into the pane (tmux key names: `Tab`, `Enter`, `C-u`; anything else is
    /// typed as it is).
    pub(crate) fn send(&self, keys: &[&str]) {
        let out = self
            .command()
            .args(["send-keys", "-t", "0"])
            .args(keys)
            .output()
            .unwrap();
        assert_exit(&out, 0);
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        // A tmux of its own, whatever tmux the tests themselves may run in.
        command
            .env_remove("TMUX")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"]);
        command
    }

    /// The pane as the terminal shows it; with `escapes`, with its colours and attributes
    /// as escape sequences.
    fn capture(&self, escapes: bool) -> String {
        let mut command = self.command();
        command.args(["capture-pane", "-p"]);
        if escapes {
            command.arg("-e");
        }
        let out = command.output().unwrap();
        assert_exit(&out, 0);
        stdout(&out)
    }

    /// Captures the pane until `done` holds of it, for at most 60 s.
    pub(crate) fn wait_for(
        &self,
        escapes: bool,
        what: &str,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let pane = self.capture(escapes);
            if done(&pane) {
                return pane;
            }
            assert!(Instant::now() < deadline, "no {what} on screen:\n{pane}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
    }
}

/// The live line of big.bin: its name, bytes of its total, a rate and an ETA.
fn live_line(pane: &str) -> Option<&str> {
    pane.lines().find(|l| {
        l.contains("big.bin")
            && l.contains(" / 768.00 KiB")
            && l.contains("/s")
            && l.contains("ETA")
    })
}

#[test]
fn a_terminal_shows_a_live_line_then_the_outcome() {
    let (w, url) = slow_world();
    let tmux = Tmux::fetch(&w, &url, "export TERM=xterm-256color");
    // The line is drawn before the first byte; then bytes arrive, at a rate.
    let pane = tmux.wait_for(false, "moving live line", |p| {
        live_line(p).is_some_and(|l| !l.contains(" 0 B / ") && l.contains("KiB/s"))
    });
    let line = live_line(&pane).unwrap();
    eprintln!("the screen:\n{pane}");
    assert!(!line.contains("768.00 KiB / "), "{line}");
    // On a terminal that can show colour, the bar has it.
    let coloured = tmux.wait_for(true, "coloured live line", |p| live_line(p).is_some());
    assert!(coloured.contains("\u{1b}["), "{coloured:?}");

    let pane = tmux.wait_for(false, "exit", |p| p.contains("tofu exited"));
    assert!(pane.contains("tofu exited 0"), "{pane}");
    assert!(
        pane.contains(&format!("  ok: {SLOW_SIZE} bytes, sha256 ")),
        "{pane}"
    );
    // The live line was taken away, not left above the outcome.
    assert!(live_line(&pane).is_none(), "{pane}");
    assert!(!pane.contains("ETA"), "{pane}");
}

#[test]
fn no_color_keeps_the_live_line_and_drops_every_colour() {
    let (w, url) = slow_world();
    let tmux = Tmux::fetch(&w, &url, "export TERM=xterm-256color NO_COLOR=1");
    let pane = tmux.wait_for(true, "live line", |p| live_line(p).is_some());
    assert!(!pane.contains('\u{1b}'), "{pane:?}");
    let pane = tmux.wait_for(false, "exit", |p| p.contains("tofu exited"));
    assert!(pane.contains("tofu exited 0"), "{pane}");
}

/// Bytes of `text` that a terminal would act on: every control character but newline.
fn control_bytes(text: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    text.chars()
        .filter(|c| c.is_control() && *c != '\n')
        .map(|c| c as u32 as u8)
        .collect()
}

#[test]
fn a_pipe_gets_plain_lines_without_a_control_byte() {
    let (w, url) = slow_world();
    let out = w.fetch("run.json", &[], &url);
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert_eq!(control_bytes(&out.stderr), b"", "{err:?}");
    // A line now and then: one per quarter of the total at most, the last left to "ok".
    let plain = err
        .lines()
        .filter(|l| l.starts_with("  big.bin: ") && l.contains(" of 768.00 KiB ("))
        .count();
    assert!((1..=3).contains(&plain), "{err}");
    assert!(err.contains(&format!("  ok: {SLOW_SIZE} bytes")), "{err}");
}

#[test]
fn a_dumb_terminal_is_treated_as_a_pipe() {
    let (w, url) = slow_world();
    let tmux = Tmux::fetch(&w, &url, "export TERM=dumb");
    let pane = tmux.wait_for(true, "exit", |p| p.contains("tofu exited"));
    assert!(pane.contains("tofu exited 0"), "{pane}");
    assert!(!pane.contains('\u{1b}'), "{pane:?}");
    assert!(pane.contains(" of 768.00 KiB ("), "{pane}");
    assert!(!pane.contains("ETA"), "{pane}");
}

#[test]
fn quiet_keeps_failures_and_drops_notes() {
    let w = World::new();
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    let good = w.nginx.https_url("file.bin");
    let missing = w.nginx.https_url("no-such-file");
    let out = w.tofu(&[
        "fetch",
        "-q",
        "--ca-cert",
        &ca,
        "-o",
        "run.json",
        &good,
        &missing,
    ]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("FAILED"), "{err}");
    for note in ["fetching", "ok:", "wrote", "%)"] {
        assert!(!err.contains(note), "{note:?} in {err}");
    }
    assert_eq!(control_bytes(&out.stderr), b"", "{err:?}");
    // Quiet changes what is said, not what is recorded.
    let t = w.read_json("run.json");
    assert_eq!(t["artifacts"].as_array().unwrap().len(), 2);
}

/// The tests above read the pane a person would; this keeps their helper honest.
#[test]
fn the_live_line_matcher_needs_every_part() {
    let line = "  big.bin  [====>   ] 200.00 KiB / 768.00 KiB   100.00 KiB/s  ETA 6s";
    assert!(live_line(line).is_some());
    assert!(live_line(&line.replace("ETA", "")).is_none());
    assert!(live_line(&line.replace("KiB/s", "KiB")).is_none());
}
