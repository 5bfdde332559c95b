//! A test world: a temporary home for tofu (its key and salt), a docroot served by nginx
//! over HTTP and HTTPS with a fresh CA, and helpers to run the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tofu_testkit::{Lie, LyingProxy, Nginx, TestCa};

/// The payload most tests fetch: 3 MiB + 17 bytes of a fixed pseudo-random pattern.
pub fn payload() -> Vec<u8> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..(3 << 20) + 17)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// A secret that tests put into URLs and redirects: it must reach no transcript, signature,
/// stdout or stderr.
pub const SECRET: &str = "Zq9HiddenMarker";

pub struct World {
    pub dir: tempfile::TempDir,
    pub ca: TestCa,
    pub nginx: Nginx,
}

impl World {
    /// nginx serving `file.bin` (the payload), with redirect locations for tests.
    pub fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let www = dir.path().join("www");
        std::fs::create_dir_all(&www).unwrap();
        std::fs::write(www.join("file.bin"), payload()).unwrap();
        // Another artifact, which /A.iso redirects to: `--keep` must not name A after it.
        std::fs::write(www.join("B.iso"), b"the B artifact").unwrap();
        // What /targeted/ serves to the private Tor network's exits: one byte differs.
        let mut tampered = payload();
        tampered[1000] ^= 0x20;
        std::fs::create_dir_all(www.join("tampered")).unwrap();
        std::fs::write(www.join("tampered/file.bin"), tampered).unwrap();
        let ca = TestCa::generate(dir.path(), "tofu test CA");
        let www_path = www.display().to_string();
        let nginx = Nginx::start(&www, &ca, |http, https| {
            format!(
                r#"
        location /mirror/ {{ alias {www_path}/; }}
        # The bytes are altered for connections from 127.0.0.1, which is where the private
        # Tor network's exits connect from (tor ignores OutboundBindAddress towards
        # loopback): a lying exit, or a server that singles out Tor users. Honest runs reach
        # it from another loopback address (a SOCKS proxy bound there).
        if ($remote_addr = "127.0.0.1") {{
            rewrite ^/targeted/(.*)$ /tampered/$1 last;
        }}
        location /targeted/ {{ alias {www_path}/; }}
        location /slow/ {{ alias {www_path}/; limit_rate 100k; }}
        location = /whoami-liar {{
            default_type application/json;
            return 200 '{{"ip":"198.51.100.7","country_iso":"FR"}}';
        }}
        location = /whoami-garbage {{ return 200 'hello, I am not JSON'; }}
        # A second "what is my IP" endpoint, in another operator's shape (country_code):
        # runs ask two, as tofu's default list does.
        location = /whoami-too {{
            default_type application/json;
            return 200 '{{"country_code":"$whoami_country","ip":"$remote_addr"}}';
        }}
        location = /r1 {{ return 302 /r2; }}
        location = /r2 {{ return 301 /r3; }}
        location = /r3 {{ return 307 /file.bin; }}
        location = /loop {{ return 302 /loop; }}
        location = /A.iso {{ return 302 /B.iso; }}
        location = /downgrade {{ return 302 http://127.0.0.1:{http}/file.bin; }}
        location = /self-https {{ return 302 https://127.0.0.1:{https}/file.bin; }}
        location = /weird-scheme {{ return 302 file:///etc/passwd; }}
        # A signed link, as a CDN hands out: its secrets must never be recorded.
        location = /signed {{
            return 302 /file.bin?version=1&X-Amz-Signature={SECRET}s&Key-Pair-Id={SECRET}k;
        }}
        "#
            )
        });
        World { dir, ca, nginx }
    }

    /// Writes this world's config (two whoami endpoints that agree) plus `extra` (e.g. a
    /// `[tor]` table) into `home`.
    pub fn configure(&self, home: &Path, extra: &str) {
        let config = home.join(".config/tofu/config.toml");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(
            &config,
            format!(
                "[vantage]\nwhoami = [\"{}\", \"{}\"]\n{extra}",
                self.nginx.https_url("whoami"),
                self.nginx.https_url("whoami-too")
            ),
        )
        .unwrap();
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs tofu with this world's home; environment proxies point at a dead port, so a
    /// test passes only if tofu ignores them.
    pub fn tofu(&self, args: &[&str]) -> Output {
        self.tofu_in(&self.home(), args)
    }

    /// Runs tofu with `home` as its home. A config there points the exit probe at the test
    /// nginx's whoami service, so no test ever asks a public endpoint.
    pub fn tofu_in(&self, home: &Path, args: &[&str]) -> Output {
        if !home.join(".config/tofu/config.toml").exists() {
            self.configure(home, "");
        }
        self.command(home).args(args).output().unwrap()
    }

    /// The tofu command with `home` as its home and dead environment proxies, not started.
    pub fn command(&self, home: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tofu"));
        command
            .current_dir(self.dir.path())
            .env("HOME", home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env("ALL_PROXY", "socks5h://127.0.0.1:9")
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .env("https_proxy", "http://127.0.0.1:9")
            .env("http_proxy", "http://127.0.0.1:9");
        command
    }

    /// `tofu fetch --ca-cert CA -o OUT [extra…] URL`.
    pub fn fetch(&self, out: &str, extra: &[&str], url: &str) -> Output {
        let ca = self.ca.root_pem.to_str().unwrap().to_owned();
        let mut args = vec!["fetch", "--ca-cert", &ca, "-o", out];
        args.extend_from_slice(extra);
        args.push(url);
        self.tofu(&args)
    }

    /// `tofu compare --require none ARGS…`: the verdict on the bytes alone, no diversity rule.
    pub fn compare_bytes_only(&self, args: &[&str]) -> Output {
        let mut all = vec!["compare", "--require", "none"];
        all.extend_from_slice(args);
        self.tofu(&all)
    }

    pub fn read_json(&self, name: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.path(name)).unwrap()).unwrap()
    }

    pub fn pub_key(&self) -> PathBuf {
        self.home().join(".config/tofu/signing.pub")
    }
}

pub use tofu_testkit::output::{assert_exit, code, stderr, stdout};

/// An impostor server with a certificate from the same trusted CA (an attacker holding one
/// CA in the victim's root store), serving `file.bin` with one byte flipped under the same
/// path; `extra` is more nginx configuration for its server block.
pub fn impostor(w: &World, extra: &'static str) -> Nginx {
    let www = w.path("impostor-www");
    std::fs::create_dir_all(&www).unwrap();
    let mut evil = payload();
    evil[1_000_000] ^= 0x20;
    std::fs::write(www.join("file.bin"), evil).unwrap();
    Nginx::start(&www, &w.ca, move |_, _| extra.to_owned())
}

/// The first artifact of a transcript.
pub fn artifact(transcript: &Value) -> &Value {
    &transcript["artifacts"][0]
}

/// The first fetch of the first artifact.
pub fn fetch0(transcript: &Value) -> &Value {
    &transcript["artifacts"][0]["fetches"][0]
}

/// Output of an independent tool, e.g. `sha256sum FILE`, first word.
pub fn tool_digest(tool: &str, file: &Path) -> String {
    let out = tofu_testkit::output::run_ok(Command::new(tool).arg(file));
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// `sha256sum` of bytes (written to a temporary file first).
pub fn tool_digest_bytes(bytes: &[u8]) -> String {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    tool_digest("sha256sum", file.path())
}

/// `minisign -Vm FILE -p PUB` succeeds.
pub fn minisign_verifies(file: &Path, public: &Path) -> bool {
    let program = tofu_testkit::require_program("minisign", "minisign");
    Command::new(program)
        .args(["-Vm"])
        .arg(file)
        .arg("-p")
        .arg(public)
        .output()
        .unwrap()
        .status
        .success()
}

/// Runs 1 and 2 fetch the world's file honestly into `run1.json` and `run2.json`; run 3's
/// connection is diverted to an impostor holding a certificate from `rogue`, a CA only run 3's
/// machine trusts (`--ca-cert`), which serves the genuine bytes (`run3.json`). Returns the
/// impostor, whose certificate the caller may check.
pub fn third_run_intercepted(w: &World, rogue: &TestCa) -> Nginx {
    let impostor = Nginx::start(&w.path("www"), rogue, |_, _| String::new());
    let liar = LyingProxy::start(Lie::Divert(std::net::SocketAddr::from((
        [127, 0, 0, 1],
        impostor.https_port,
    ))));
    let url = w.nginx.https_url("file.bin");
    assert_exit(&w.fetch("run1.json", &[], &url), 0);
    assert_exit(&w.fetch("run2.json", &[], &url), 0);
    let rogue_pem = rogue.root_pem.to_str().unwrap();
    let out = w.fetch(
        "run3.json",
        &["--via", &liar.url(), "--ca-cert", rogue_pem],
        &url,
    );
    assert_exit(&out, 0);
    impostor
}

/// A command's `--json` document: stdout is one JSON document, valid under the committed
/// schema its `format` names (docs/json/).
pub fn json_of(out: &Output) -> serde_json::Value {
    if serde_json::from_slice::<serde_json::Value>(&out.stdout).is_err() {
        panic!("stdout is not JSON: {}\n{}", stdout(out), stderr(out));
    }
    tofu_testkit::schema::assert_document(&stdout(out))
}
