//! `tofu compare --html` on a real disagreement, opened in a real browser: three runs from
//! three homes, networks, countries and days, the third diverted to an impostor that serves
//! one flipped byte; the page is rendered by Debian's Chromium, headless, to PNG (light and
//! dark), to PDF (print), and to its DOM, with no console message allowed.
//!
//! With `TOFU_DOCS_SCREENSHOTS=1` the test also copies its screenshots to docs/ (see
//! docs/report.md): the pictures there are of this disagreement.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tofu_testkit::{Lie, LyingProxy, Microsocks};

use crate::campaign::shift_days;
use crate::support::*;

/// Exit lookups answered honestly (with the caller's address), as the genuine server does.
const HONEST_WHOAMI: &str = r#"location = /whoami-too {
            default_type application/json;
            return 200 '{"country_code":"$whoami_country","ip":"$remote_addr"}';
        }"#;

/// Three runs of `file.bin`, each from its own home (host), through its own exit (network
/// and country) on its own day, the third through a proxy that diverts every connection to
/// the impostor. The test's home trusts each home's key. Returns the run file names.
fn disagreement(w: &World, liar: &LyingProxy) -> Vec<String> {
    let de = Microsocks::start(Some(IpAddr::from([127, 0, 1, 1])), None);
    let ca = Microsocks::start(Some(IpAddr::from([127, 0, 2, 1])), None);
    let url = w.nginx.https_url("file.bin");
    let ca_pem = w.ca.root_pem.to_str().unwrap().to_owned();
    let vantages = [
        (de.url(), "day 1: laptop, home ISP"),
        (ca.url(), "day 2: VM behind a VPN"),
        (liar.url(), "day 3: hotel wifi"),
    ];
    let mut names = Vec::new();
    for (i, (via, label)) in vantages.iter().enumerate() {
        let home = w.path(&format!("home-{i}"));
        let name = format!("run{}.json", i + 1);
        let args = [
            "fetch",
            "--ca-cert",
            &ca_pem,
            "--via",
            via,
            "--label",
            label,
            "-o",
            &name,
            &url,
        ];
        assert_exit(&w.tofu_in(&home, &args), 0);
        if i > 0 {
            shift_days(w, &home, &name, i as i64);
        }
        let public = home.join(".config/tofu/signing.pub");
        let name_of_key = format!("machine-{}", i + 1);
        let trust = ["trust", "add", &name_of_key, public.to_str().unwrap()];
        assert_exit(&w.tofu(&trust), 0);
        names.push(name);
    }
    names
}

/// Debian's Chromium, headless, on `page` with `args`, bounded by a timeout. Console messages
/// are logged to stderr (`--enable-logging=stderr`), where [`assert_no_console_message`]
/// reads them.
pub(crate) fn chromium(dir: &Path, page: &Path, args: &[&str]) -> Output {
    let chromium = tofu_testkit::require_program("chromium", "chromium");
    let profile = tempfile::tempdir_in(dir).unwrap();
    let out = Command::new("timeout")
        .args(["--kill-after=10", "120"])
        .arg(chromium)
        // As root Chromium refuses to start with its sandbox; the page is this test's own.
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        // Nothing but the page: no update, sync or other background traffic.
        .args([
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .current_dir(dir)
        .output()
        .unwrap();
    assert_ne!(code(&out), 124, "chromium timed out:\n{}", stderr(&out));
    assert_exit(&out, 0);
    out
}

/// The page said nothing on the console: no error, no refused load (a Content-Security-Policy
/// violation is a console message), no uncaught exception.
#[track_caller]
pub(crate) fn assert_no_console_message(out: &Output) {
    let log = stderr(out);
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
}

/// A PNG's width and height, after checking its signature and that its first chunk is IHDR.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is no PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR", "{}", path.display());
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// A screenshot of `page` at `WIDTH` × `HEIGHT`, with `extra` flags; returns its path.
fn screenshot(w: &World, page: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let png = w.path(name);
    let mut args = vec![format!("--screenshot={}", png.display())];
    args.push(format!("--window-size={WIDTH},{HEIGHT}"));
    args.push("--hide-scrollbars".to_owned());
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = chromium(w.dir.path(), page, &args);
    assert_no_console_message(&out);
    assert_eq!(png_size(&png), (WIDTH, HEIGHT));
    png
}

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 2150;

#[test]
fn a_real_disagreement_renders_in_chromium() {
    let w = World::new();
    let evil = impostor(&w, HONEST_WHOAMI);
    let liar = LyingProxy::start(Lie::Divert(SocketAddr::from((
        [127, 0, 0, 1],
        evil.https_port,
    ))));
    let runs = disagreement(&w, &liar);
    let mut args = vec!["compare", "--html", "report.html"];
    args.extend(runs.iter().map(String::as_str));

    // The verdict's exit code and the terminal report, as without --html.
    let out = w.tofu(&args);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("verdict: DISAGREE"), "{text}");
    let page = w.path("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for rule in [
        "distinct-days",
        "distinct-hosts",
        "distinct-networks",
        "distinct-countries",
    ] {
        assert!(
            html.contains(&format!(
                "<code>{rule}</code></th><td>required</td><td class=\"agree\">\u{2713} met"
            )),
            "{rule}: {html}"
        );
    }
    assert!(
        html.contains("first differing bytes <strong class=\"nowrap\">0\u{2013}1,048,575</strong>"),
        "{html}"
    );
    // No temporary file is left beside the page.
    let left: Vec<String> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".part"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // What the browser made of it: the verdict and each run, and no element it would run.
    let out = chromium(w.dir.path(), &page, &["--dump-dom"]);
    assert_no_console_message(&out);
    let dom = stdout(&out);
    assert!(dom.contains("\u{2717} Verdict: DISAGREE"), "{dom}");
    assert!(dom.contains("\u{2717} differs"), "{dom}");
    for (i, name) in runs.iter().enumerate() {
        assert!(dom.contains(&format!("<code>{name}</code>")), "{dom}");
        assert!(dom.contains(&format!("machine-{}", i + 1)), "{dom}");
    }
    assert!(!dom.contains("<script"), "{dom}");

    // Light and dark screenshots: real pictures of the page, each far from a blank page's.
    let blank = w.path("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><title>blank</title>").unwrap();
    let blank = std::fs::metadata(screenshot(&w, &blank, "blank.png", &[]))
        .unwrap()
        .len();
    let light = screenshot(&w, &page, "report.png", &[]);
    let dark = screenshot(&w, &page, "report-dark.png", &["--force-dark-mode"]);
    for png in [&light, &dark] {
        let size = std::fs::metadata(png).unwrap().len();
        assert!(
            size > 10 * blank,
            "{}: {size} bytes, a blank page {blank}",
            png.display()
        );
    }
    assert_ne!(
        std::fs::read(&light).unwrap(),
        std::fs::read(&dark).unwrap()
    );

    // On paper: a PDF, with no console message either.
    let pdf = w.path("report.pdf");
    let print = format!("--print-to-pdf={}", pdf.display());
    let out = chromium(w.dir.path(), &page, &[&print, "--no-pdf-header-footer"]);
    assert_no_console_message(&out);
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(
        bytes.starts_with(b"%PDF-") && bytes.len() > 10_000,
        "{}",
        bytes.len()
    );

    if std::env::var_os("TOFU_DOCS_SCREENSHOTS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
        std::fs::copy(&light, docs.join("compare-report.png")).unwrap();
        std::fs::copy(&dark, docs.join("compare-report-dark.png")).unwrap();
    }
}

/// A label holding markup is shown as text in the browser, and runs nothing.
#[test]
fn markup_in_a_transcript_stays_text_in_chromium() {
    let w = World::new();
    let url = w.nginx.https_url("file.bin");
    let evil = "<script>document.title='owned'</script><img src=x onerror=alert(1)>";
    assert_exit(&w.fetch("run1.json", &["--label", evil], &url), 0);
    assert_exit(&w.fetch("run2.json", &[], &url), 0);
    let out = w.tofu(&[
        "compare",
        "--min-runs",
        "2",
        "--require",
        "none",
        "--html",
        "report.html",
        "run1.json",
        "run2.json",
    ]);
    assert_exit(&out, 0);
    let out = chromium(w.dir.path(), &w.path("report.html"), &["--dump-dom"]);
    assert_no_console_message(&out);
    let dom = stdout(&out);
    assert!(dom.contains("<title>tofu compare: AGREE</title>"), "{dom}");
    assert!(dom.contains("\u{2713} Verdict: AGREE"), "{dom}");
    assert!(
        dom.contains("&lt;script&gt;document.title='owned'&lt;/script&gt;&lt;img src=x"),
        "{dom}"
    );
    assert!(!dom.contains("<script") && !dom.contains("<img"), "{dom}");
}

/// A page that cannot be written is an error that says what to do, and leaves nothing
/// behind; a page that would replace a run is refused before anything is read.
#[test]
fn a_page_that_cannot_be_written_is_an_error() {
    let w = World::new();
    let url = w.nginx.https_url("file.bin");
    assert_exit(&w.fetch("run1.json", &[], &url), 0);
    assert_exit(&w.fetch("run2.json", &[], &url), 0);
    let compare = |html: &str| {
        w.compare_bytes_only(&["--min-runs", "2", "--html", html, "run1.json", "run2.json"])
    };

    let out = compare("no-such-dir/report.html");
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains(
            "error: the report page (--html) was not written: cannot write no-such-dir/report.html"
        ),
        "{err}"
    );
    assert!(
        err.contains("hint: check that the directory of no-such-dir/report.html exists"),
        "{err}"
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(!w.path("no-such-dir").exists());

    let before = std::fs::read(w.path("run1.json")).unwrap();
    for evidence in ["run1.json", "run1.json.minisig"] {
        let out = compare(evidence);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.contains("one of the runs being compared"), "{err}");
        assert!(err.contains("hint: give --html a new file name"), "{err}");
    }
    assert_eq!(std::fs::read(w.path("run1.json")).unwrap(), before);

    // An existing page is replaced whole, and the exit code is the verdict's.
    std::fs::write(w.path("report.html"), "old").unwrap();
    let out = compare("report.html");
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("verdict: AGREE"));
    let page = std::fs::read_to_string(w.path("report.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
}
