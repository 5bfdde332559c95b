//! `cargo xtask bench [--quick]`: tofu against the tools people use today, side by side in
//! one run, on real services on loopback (Tor: a private network of tor daemons there), timed with hyperfine (medians over several rounds)
//! and /usr/bin/time (peak memory). The full run writes docs/performance.md; `--quick` runs
//! every case at small sizes, once, with the debug binary, to keep the harness working (CI).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use tofu_testkit::{LayoutBuilder, Nginx, Registry, RegistryLie, TestCa, TorNet};

/// How big each case is, and how many rounds hyperfine times.
struct Sizes {
    file: u64,
    rss: Vec<u64>,
    layers: usize,
    layer_size: usize,
    compare_artifacts: usize,
    /// The file fetched through the private Tor network.
    tor_file: u64,
    runs: u32,
}

impl Sizes {
    /// The sizes of the full run, or with `quick` the small ones of the smoke run.
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                file: 8 << 20,
                rss: vec![1 << 20, 8 << 20],
                layers: 2,
                layer_size: 1 << 20,
                compare_artifacts: 500,
                tor_file: 4 << 20,
                runs: 1,
            }
        } else {
            Sizes {
                file: 2 << 30,
                rss: vec![64 << 20, 1 << 30, 2 << 30],
                layers: 4,
                layer_size: 64 << 20,
                compare_artifacts: 50_000,
                tor_file: 256 << 20,
                runs: 5,
            }
        }
    }
}

/// The figures and peak memory the targets are judged on.
struct Measured {
    /// The size of the large file, in bytes.
    file_bytes: u64,
    /// The large-file cases, in table order: openssl -sha256, tofu, curl | tee | sha256sum,
    /// wget, curl -o (no hash), openssl -sha512; with their CPU time and nginx's.
    file: Vec<Row>,
    /// The cores the cases share.
    cores: usize,
    /// The highest peak RSS of `tofu fetch --keep` over the sizes, in MiB.
    max_rss_mib: f64,
    /// The image cases: skopeo, tofu.
    oci_times: Vec<f64>,
    /// The compare cases: many artifacts, one artifact, minisign on the many.
    compare_times: Vec<f64>,
    /// The size of the three large runs together, in bytes.
    compare_bytes: u64,
    /// How many artifacts each large run has.
    compare_artifacts: usize,
    /// The Tor cases: curl via C tor, tofu via tor, each on the large and the small file.
    tor_times: Vec<f64>,
}

/// Runs every case, section by section, and writes the report to docs/performance.md (with
/// `quick`, prints it only).
pub fn run(root: &Path, quick: bool) -> Result<()> {
    let sizes = Sizes::new(quick);
    let tofu = build_tofu(root, quick)?;
    let work = tempfile::tempdir()?;
    let bench = Bench::new(work.path(), tofu, sizes)?;
    let mut report = bench.header()?;
    let (nginx, www) = bench.serve_files()?;
    let file_rows = bench.large_file(&nginx, &www, &mut report)?;
    let max_rss_mib = bench.peak_memory(&nginx, &mut report)?;
    let oci_times = bench.image(&mut report)?;
    let (compare_times, compare_bytes) = bench.compare(&mut report)?;
    // Last, so that the network's daemons (idle, but voting every few seconds) run during no
    // other section.
    let tor_times = bench.tor(&mut report)?;
    let measured = Measured {
        file_bytes: bench.sizes.file,
        file: file_rows,
        cores: cores(),
        max_rss_mib,
        oci_times,
        compare_times,
        compare_bytes,
        compare_artifacts: bench.sizes.compare_artifacts,
        tor_times,
    };
    write_targets(&mut report, &measured)?;
    if quick {
        println!("{report}");
        println!("xtask bench --quick: every case ran");
    } else {
        std::fs::write(root.join("docs/performance.md"), &report)?;
        println!("{report}");
        println!("wrote docs/performance.md");
    }
    Ok(())
}

/// Builds tofu and returns the path of its binary: a release build for the full run.
fn build_tofu(root: &Path, quick: bool) -> Result<PathBuf> {
    // The smoke run only keeps the harness working, and its figures are not kept: it uses
    // the debug binary that the tests build (the same command, so the same features: nothing
    // is compiled again after `cargo xtask test`), so CI does not compile the whole tree a
    // second time in release mode (about half of its time).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(if quick {
        crate::run(Command::new("cargo").args(crate::TEST_BUILD))?;
        target.join("debug/tofu")
    } else {
        crate::run(Command::new("cargo").args(["build", "--release", "-p", "tofu"]))?;
        target.join("release/tofu")
    })
}

/// What every case of one run shares: the sizes, the tofu binary, a work directory with a
/// HOME for tofu (a config without exit probes) and a CA for the loopback services.
struct Bench<'a> {
    sizes: Sizes,
    tofu: PathBuf,
    /// The work directory (a temporary one, removed after the run).
    w: &'a Path,
    home: PathBuf,
    ca: TestCa,
    /// Where `tofu fetch --keep` keeps what it downloads (removed before each round).
    keep: PathBuf,
}

impl<'a> Bench<'a> {
    /// Prepares tofu's HOME and the CA in the work directory `w`.
    fn new(w: &'a Path, tofu: PathBuf, sizes: Sizes) -> Result<Bench<'a>> {
        let home = w.join("home");
        std::fs::create_dir_all(home.join(".config/tofu"))?;
        std::fs::write(
            home.join(".config/tofu/config.toml"),
            "[vantage]\nwhoami = []\n",
        )?;
        Ok(Bench {
            sizes,
            tofu,
            w,
            home,
            ca: TestCa::generate(w, "bench CA"),
            keep: w.join("keep"),
        })
    }

    /// The report's title and how it was measured.
    fn header(&self) -> Result<String> {
        let mut report = String::new();
        writeln!(report, "# Performance\n")?;
        writeln!(
            report,
            "Measured by `cargo xtask bench` on {}; every case runs against real services on \
             loopback, side by side in one run. Times are hyperfine medians ({} rounds); ratios \
             are against the first row of each table.\n",
            machine(),
            self.sizes.runs
        )?;
        Ok(report)
    }

    /// A shell command: `tofu fetch` of `url` with `extra` options, as a user with the
    /// bench's HOME, trusting the bench CA.
    fn tofu_fetch(&self, extra: &str, url: &str) -> String {
        self.tofu_fetch_as(&self.home, extra, url)
    }

    /// As [`Bench::tofu_fetch`], with `home` as HOME (and so its config and Tor state).
    fn tofu_fetch_as(&self, home: &Path, extra: &str, url: &str) -> String {
        format!(
            "env HOME={} {} fetch --force --ca-cert {} -o {}/run.json {extra} {url}",
            home.display(),
            self.tofu.display(),
            self.ca.root_pem.display(),
            self.w.display()
        )
    }

    /// A shell command: `tofu fetch --keep` of `url` into a fresh keep directory, with
    /// `prefix` (e.g. `/usr/bin/time -f %M`) before tofu.
    fn tofu_keep(&self, prefix: &str, url: &str) -> String {
        format!(
            "rm -rf {k} && {prefix}{}",
            self.tofu_fetch(&format!("--keep {}", self.keep.display()), url),
            k = self.keep.display()
        )
    }

    /// Writes the large file and the peak-memory files into `www` and serves it with nginx
    /// over HTTPS.
    fn serve_files(&self) -> Result<(Nginx, PathBuf)> {
        let www = self.w.join("www");
        std::fs::create_dir_all(&www)?;
        write_random(&www.join("big.bin"), self.sizes.file)?;
        for size in &self.sizes.rss {
            write_random(&www.join(format!("rss-{size}.bin")), *size)?;
        }
        let nginx = Nginx::start(&www, &self.ca, |_, _| String::new());
        Ok((nginx, www))
    }

    /// Section 1: one large file from nginx over HTTPS, tofu against openssl (the hash
    /// alone), curl and wget. Returns the rows, with the CPU time of each case and of nginx.
    fn large_file(&self, nginx: &Nginx, www: &Path, report: &mut String) -> Result<Vec<Row>> {
        let url = nginx.https_url("big.bin");
        let ca_pem = self.ca.root_pem.display();
        let out_file = self.w.join("out.bin");
        let file_cases = vec![
            (
                "openssl dgst -sha256 (file in page cache: the hash limit)".to_owned(),
                format!("openssl dgst -sha256 {}", www.join("big.bin").display()),
            ),
            (
                "tofu fetch --keep (SHA-256 + SHA-512 + write)".to_owned(),
                self.tofu_keep("", &url),
            ),
            (
                "curl | tee FILE | sha256sum".to_owned(),
                format!(
                    "curl -s --cacert {ca_pem} {url} | tee {} | sha256sum",
                    out_file.display()
                ),
            ),
            (
                "wget -O FILE && sha256sum FILE".to_owned(),
                format!(
                    "wget -q --ca-certificate={ca_pem} -O {o} {url} && sha256sum {o}",
                    o = out_file.display()
                ),
            ),
            // The two halves of tofu's limit: receiving and writing (no hash), and SHA-512
            // (its slower hash; SHA-256 runs beside it on another thread).
            (
                "curl -o FILE (receive + write, no hash)".to_owned(),
                format!("curl -s --cacert {ca_pem} -o {} {url}", out_file.display()),
            ),
            (
                "openssl dgst -sha512 (file in page cache)".to_owned(),
                format!("openssl dgst -sha512 {}", www.join("big.bin").display()),
            ),
        ];
        writeln!(
            report,
            "## A {} file from nginx over HTTPS\n",
            human(self.sizes.file)
        )?;
        writeln!(
            report,
            "CPU is per round: the command's own (user + system), and what nginx spent serving \
             it (the files of the two `openssl` rows are read from the page cache: nothing is \
             served).\n"
        )?;
        let (table, rows) = hyperfine_served(&file_cases, self.sizes.runs, self.w, nginx)?;
        report.push_str(&table);
        Ok(rows)
    }

    /// Section 2: the peak memory of `tofu fetch --keep` at each size, which must not grow
    /// with the file. Returns the highest, in MiB.
    fn peak_memory(&self, nginx: &Nginx, report: &mut String) -> Result<f64> {
        writeln!(report, "\n## Peak memory of `tofu fetch --keep`\n")?;
        writeln!(report, "| file size | max RSS |\n|---|---|")?;
        let mut max_rss_mib: f64 = 0.0;
        for size in &self.sizes.rss {
            let url = nginx.https_url(&format!("rss-{size}.bin"));
            let cmd = self.tofu_keep("/usr/bin/time -f %M ", &url);
            let out = Command::new("sh").arg("-c").arg(&cmd).output()?;
            if !out.status.success() {
                bail!("{cmd} failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            let kib: u64 = stderr
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .context("no max RSS from /usr/bin/time")?;
            writeln!(
                report,
                "| {} | {:.1} MiB |",
                human(*size),
                kib as f64 / 1024.0
            )?;
            max_rss_mib = max_rss_mib.max(kib as f64 / 1024.0);
        }
        Ok(max_rss_mib)
    }

    /// Section 3: an image from the loopback registry (token auth, blobs through a CDN
    /// redirect), tofu against skopeo. Returns the medians.
    fn image(&self, report: &mut String) -> Result<Vec<f64>> {
        let w = self.w;
        let repo = "bench/image";
        let registry = Registry::start(&self.ca, &[repo]);
        let mut layout = LayoutBuilder::new(&w.join("layout"));
        let image = layout.image("linux", "amd64", self.sizes.layers, self.sizes.layer_size);
        let index = layout.index(&[("linux/amd64", &image)]);
        layout.tag(&index, "1");
        registry.push(&layout.dir, "1", repo);
        let front = registry.front(&self.ca, &RegistryLie::None);
        let reference = front.reference(&format!("{repo}:1"));
        let certs = w.join("certs");
        std::fs::create_dir_all(&certs)?;
        std::fs::copy(&self.ca.root_pem, certs.join("ca.crt"))?;
        let skopeo_prefix = shell_line(&registry.skopeo());
        let oci_cases = vec![
            (
                format!(
                    "skopeo copy docker://… oci:… ({} layers of {})",
                    self.sizes.layers,
                    human(self.sizes.layer_size as u64)
                ),
                format!(
                    "rm -rf {d} && {skopeo_prefix} copy --src-cert-dir {c} docker://{reference} oci:{d}:1",
                    d = w.join("skopeo-out").display(),
                    c = certs.display()
                ),
            ),
            (
                "tofu fetch --keep".to_owned(),
                self.tofu_keep("", &reference),
            ),
        ];
        writeln!(
            report,
            "\n## An image from the loopback registry (token auth, blobs via a CDN redirect)\n"
        )?;
        let (table, oci_times) = hyperfine(&oci_cases, self.sizes.runs, w)?;
        report.push_str(&table);
        Ok(oci_times)
    }

    /// Section 4: `tofu compare` of many artifacts, and of one (its start-up cost), and
    /// minisign checking the large runs' signatures. Returns the medians and the large runs'
    /// total size in bytes.
    fn compare(&self, report: &mut String) -> Result<(Vec<f64>, u64)> {
        let (big, small) = crate::transcripts::generate(self.w, self.sizes.compare_artifacts)?;
        let signer = self.w.join(crate::transcripts::SIGNER_PUB);
        let compare = |files: &[PathBuf]| {
            format!(
                "{} compare --require none --trusted-key {} {} > /dev/null",
                self.tofu.display(),
                signer.display(),
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        };
        let compare_cases = vec![
            (
                format!(
                    "tofu compare, 3 runs × {} artifacts",
                    self.sizes.compare_artifacts
                ),
                compare(&big),
            ),
            (
                "tofu compare, 3 runs × 1 artifact (start-up cost)".to_owned(),
                compare(&small),
            ),
            // What checking the large runs' signatures costs alone (minisign hashes each
            // file whole with BLAKE2b), one after the other.
            (
                format!(
                    "minisign -V of the 3 runs × {} artifacts (their signatures alone)",
                    self.sizes.compare_artifacts
                ),
                format!(
                    "for f in {}; do minisign -Vqm $f -P {} || exit 1; done",
                    big.iter()
                        .map(|f| f.display().to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                    std::fs::read_to_string(&signer)?.trim()
                ),
            ),
        ];
        writeln!(report, "\n## compare\n")?;
        let (table, compare_times) = hyperfine(&compare_cases, self.sizes.runs.max(3), self.w)?;
        report.push_str(&table);
        let mut bytes = 0;
        for run in &big {
            bytes += std::fs::metadata(run)?.len();
        }
        Ok((compare_times, bytes))
    }

    /// Section 5: one file through the private Tor network (3 authorities, 2 relays, all
    /// exits, on loopback), tofu's embedded client (`--via tor`) against curl through the
    /// network's C tor client, whose SocksPort is up and bootstrapped before timing starts.
    /// tofu starts its client in every round, from the directory cache its earlier rounds
    /// left (as a user's second run does), so its time includes that start: the rows of a
    /// 1 KiB file measure each side's fixed cost, to be told apart from the transfer.
    /// Returns the medians: curl, tofu on the large file, then curl, tofu on the small one.
    fn tor(&self, report: &mut String) -> Result<Vec<f64>> {
        let net = TorNet::start(3, 2, true);
        let port = net
            .socks_port
            .context("the private Tor network started without its C tor client")?;
        let home = self.w.join("home-tor");
        std::fs::create_dir_all(home.join(".config/tofu"))?;
        std::fs::write(
            home.join(".config/tofu/config.toml"),
            format!("[vantage]\nwhoami = []\n{}", net.tofu_toml()),
        )?;
        let www = self.w.join("www-tor");
        std::fs::create_dir_all(&www)?;
        write_random(&www.join("big.bin"), self.sizes.tor_file)?;
        write_random(&www.join("small.bin"), 1 << 10)?;
        let nginx = Nginx::start(&www, &self.ca, |_, _| String::new());
        let curl = |file: &str| {
            format!(
                "curl -s --socks5-hostname 127.0.0.1:{port} --cacert {} -o {} {}",
                self.ca.root_pem.display(),
                self.w.join("out.bin").display(),
                nginx.https_url(file)
            )
        };
        let tofu = |file: &str| {
            let keep = format!("--via tor --keep {}", self.keep.display());
            format!(
                "rm -rf {} && {}",
                self.keep.display(),
                self.tofu_fetch_as(&home, &keep, &nginx.https_url(file))
            )
        };
        let big = human(self.sizes.tor_file);
        let tor_cases = vec![
            (
                format!("curl --socks5-hostname (C tor), {big}"),
                curl("big.bin"),
            ),
            (
                format!("tofu fetch --via tor --keep, {big}"),
                tofu("big.bin"),
            ),
            (
                "curl --socks5-hostname (C tor), 1 KiB".to_owned(),
                curl("small.bin"),
            ),
            (
                "tofu fetch --via tor --keep, 1 KiB".to_owned(),
                tofu("small.bin"),
            ),
        ];
        writeln!(
            report,
            "\n## A {big} file through a private Tor network (3 authorities, 2 relays) on \
             loopback\n"
        )?;
        let (table, tor_times) = hyperfine(&tor_cases, self.sizes.runs.min(3), self.w)?;
        report.push_str(&table);
        Ok(tor_times)
    }
}

/// A command as one shell line: its environment settings, the program and its arguments.
fn shell_line(cmd: &Command) -> String {
    format!(
        "{} {}",
        cmd.get_envs().fold(String::new(), |acc, (k, v)| format!(
            "{acc}{}={} ",
            k.to_string_lossy(),
            v.map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default()
        )),
        std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// The targets section: each target, what was measured, whether it was met; then what the
/// figures behind the missed or derived ones are, and how to reproduce.
fn write_targets(report: &mut String, m: &Measured) -> Result<()> {
    writeln!(
        report,
        "\n## Targets\n\n| target | measured | met |\n|---|---|---|"
    )?;
    for (target, met, measured) in &targets(m) {
        let target = target.replace('|', "\\|");
        writeln!(
            report,
            "| {target} | {measured} | {} |",
            if *met { "yes" } else { "**no**" }
        )?;
    }
    write_explanations(report, m)?;
    writeln!(
        report,
        "\nReproduce with `cargo xtask bench` (about 20 minutes on 2 cores, its release build \
         included)."
    )?;
    Ok(())
}

/// Each target: what it asks, whether it was met, the figure it was judged on.
fn targets(m: &Measured) -> Vec<(&'static str, bool, String)> {
    let f = &m.file_times();
    let (oci, cmp, tor) = (&m.oci_times, &m.compare_times, &m.tor_times);
    let limit = f[4].max(f[5]);
    let ratio = |r: f64, most: f64| (r <= most, format!("{r:.2}×"));
    let row = |target, (met, measured)| (target, met, measured);
    vec![
        row(
            "the large fetch within 1.15× of `openssl dgst -sha256`",
            ratio(f[1] / f[0], 1.15),
        ),
        row(
            "the large fetch within 1.15× of its limit, the slower of `curl -o FILE` and \
             `openssl dgst -sha512`",
            ratio(f[1] / limit, 1.15),
        ),
        row(
            "the large fetch at most 0.6× of curl | tee | sha256sum",
            ratio(f[1] / f[2], 0.6),
        ),
        (
            "peak RSS under 64 MiB at every size",
            m.max_rss_mib < 64.0,
            format!("{:.1} MiB", m.max_rss_mib),
        ),
        row(
            "image pull at most 0.8× of skopeo",
            ratio(oci[1] / oci[0], 0.8),
        ),
        (
            "compare of 3 × 50,000 artifacts under 1 s",
            cmp[0] < 1.0,
            format!("{:.3} s", cmp[0]),
        ),
        (
            "compare of three small transcripts under 20 ms",
            cmp[1] < 0.020,
            format!("{:.1} ms", cmp[1] * 1000.0),
        ),
        row(
            "a fetch over Tor within 1.2× of C tor + curl",
            ratio(tor[1] / tor[0], 1.2),
        ),
    ]
}

/// What the figures behind the targets say: the hash rates that put the first target out of
/// reach, what tofu's limit is made of and what its parts cost on these cores, what compare
/// reads, and how a Tor fetch's time splits into start and transfer.
fn write_explanations(report: &mut String, m: &Measured) -> Result<()> {
    explain_large_fetch(report, m)?;
    explain_cpu(report, m)?;
    explain_compare_and_tor(report, m)
}

/// The hash rates behind the first target, and tofu's limit.
fn explain_large_fetch(report: &mut String, m: &Measured) -> Result<()> {
    let f = &m.file_times();
    let rate = |secs: f64| m.file_bytes as f64 / secs / 1e9;
    writeln!(
        report,
        "\nWhy the first target is out of reach here: these CPUs have SHA extensions, so \
         `openssl dgst -sha256` hashes at {:.2} GB/s while SHA-512, which tofu computes as \
         well, runs at {:.2} GB/s: SHA-512 alone on this file took {:.2} s here, {:.2}× the \
         baseline, before any TLS or disk work — and on the same two cores nginx encrypts, \
         tofu decrypts TLS and writes the file. tofu runs SHA-512 on its own thread so that the \
         two hashes overlap. The target assumed SHA-256 slower than SHA-512, as on CPUs without \
         SHA extensions.",
        rate(f[0]),
        rate(f[5]),
        f[5],
        f[5] / f[0]
    )?;
    writeln!(
        report,
        "\ntofu's own limit: it hashes what it receives while writing it, so it can be no \
         faster than the slower of receiving and writing the file (`curl -o FILE`, {:.2} s) and \
         SHA-512 over it ({:.2} s); it took {:.2} s.",
        f[4], f[5], f[1]
    )?;
    Ok(())
}

/// What the large fetch's parts cost in CPU, against the cores they share.
fn explain_cpu(report: &mut String, m: &Measured) -> Result<()> {
    let f = &m.file_times();
    let c = &m.file;
    // The work tofu cannot avoid, each part as measured by the tool that does only that part:
    // receiving and writing (curl -o, with nginx's encryption), SHA-512, and SHA-256 twice
    // (the file's and its chunks'). The hashes are openssl's user time: their system time is
    // reading the file, which tofu does not do.
    let work = c[4].cpu() + c[5].user + 2.0 * c[0].user;
    let cores = m.cores as f64;
    let floor = work / cores;
    let limit = f[4].max(f[5]);
    writeln!(
        report,
        "\nThat limit assumes each part has a core of its own. Here the parts share {cores}: the \
         work tofu cannot avoid — receiving and writing the file ({:.2} s of CPU for `curl -o`, \
         nginx's encryption included), SHA-512 ({:.2} s) and SHA-256 twice, the file's and its \
         chunk digests' ({:.2} s each) — is {work:.2} s of CPU: about {floor:.2} s on {cores} \
         cores even if the parts overlap perfectly, {:.2}× of the limit. tofu used {:.2} s of CPU per \
         round ({:.2} s itself, {:.2} s nginx's) and took {:.2} s: {:.2}× of that floor. The \
         chunk digests alone are {:.2} s of that work: on a machine with a core to spare they \
         run beside the rest; on {cores} cores they add about {:.2} s.",
        c[4].cpu(),
        c[5].user,
        c[0].user,
        floor / limit,
        c[1].cpu(),
        c[1].user + c[1].system,
        c[1].server_cpu.unwrap_or(0.0),
        f[1],
        f[1] / floor,
        c[0].user,
        c[0].user / cores,
    )?;
    Ok(())
}

/// What compare reads and how fast, and the Tor fetch's start and transfer.
fn explain_compare_and_tor(report: &mut String, m: &Measured) -> Result<()> {
    let cmp = &m.compare_times;
    let mb = m.compare_bytes as f64 / 1e6;
    writeln!(
        report,
        "\ncompare of 3 × {n} artifacts: the three runs are {mb:.0} MB of JSON. tofu compare \
         checks each run's signature, parses and checks it (two runs at a time on {} cores), \
         then judges {n} artifacts across them: {:.2} s, {:.0} MB/s. Checking the signatures \
         alone, minisign took {:.2} s.",
        m.cores,
        cmp[0],
        mb / cmp[0],
        cmp[2],
        n = m.compare_artifacts,
    )?;
    let t = &m.tor_times;
    writeln!(
        report,
        "\nOver Tor, the C tor client is bootstrapped before timing starts, while tofu starts its \
         embedded client in every round (from the directory cache of its earlier rounds; on \
         this test network a consensus is valid for 20 s only, so each round also fetches a \
         fresh one). The 1 KiB rows are that fixed cost: {:.2} s for tofu, {:.2} s for curl. \
         Without it (large minus small file), the transfer took {:.2} s with tofu and {:.2} s \
         with curl: {:.2}×.",
        t[3],
        t[2],
        t[1] - t[3],
        t[0] - t[2],
        (t[1] - t[3]) / (t[0] - t[2])
    )?;
    Ok(())
}

/// One case as hyperfine measured it: wall-clock median, min and max, and mean CPU time per
/// round (user and system, the command's own), plus the server's CPU per round when asked.
struct Row {
    name: String,
    median: f64,
    min: f64,
    max: f64,
    user: f64,
    system: f64,
    server_cpu: Option<f64>,
}

impl Row {
    /// CPU time per round, the command's and its server's.
    fn cpu(&self) -> f64 {
        self.user + self.system + self.server_cpu.unwrap_or(0.0)
    }
}

impl Measured {
    /// The large-file cases' medians, in table order.
    fn file_times(&self) -> Vec<f64> {
        self.file.iter().map(|r| r.median).collect()
    }
}

/// Runs the cases side by side and returns a markdown table with medians and ratios, and the
/// medians in case order.
fn hyperfine(cases: &[(String, String)], runs: u32, dir: &Path) -> Result<(String, Vec<f64>)> {
    let rows = hyperfine_rows(cases, runs, dir)?;
    Ok((table(&rows), rows.iter().map(|r| r.median).collect()))
}

/// As [`hyperfine`], one case at a time, with the CPU time `nginx` spent serving each (the
/// difference of its CPU counters around the case, per round): a markdown table and the rows.
fn hyperfine_served(
    cases: &[(String, String)],
    runs: u32,
    dir: &Path,
    nginx: &Nginx,
) -> Result<(String, Vec<Row>)> {
    let mut rows = Vec::with_capacity(cases.len());
    for case in cases {
        let before = nginx.cpu_seconds();
        let mut row = hyperfine_rows(std::slice::from_ref(case), runs, dir)?
            .pop()
            .context("hyperfine gave no result")?;
        // hyperfine runs one warmup round before the timed ones.
        row.server_cpu = Some((nginx.cpu_seconds() - before) / f64::from(runs + 1));
        rows.push(row);
    }
    Ok((table(&rows), rows))
}

/// One hyperfine run over `cases` (a warmup round each, then `runs` timed rounds).
fn hyperfine_rows(cases: &[(String, String)], runs: u32, dir: &Path) -> Result<Vec<Row>> {
    let json = dir.join("hyperfine.json");
    let mut cmd = Command::new("hyperfine");
    cmd.args([
        "--style",
        "none",
        "--runs",
        &runs.to_string(),
        "--warmup",
        "1",
    ])
    .arg("--export-json")
    .arg(&json);
    for (name, command) in cases {
        cmd.args(["--command-name", name, command]);
    }
    crate::run(&mut cmd)?;
    let results: serde_json::Value = serde_json::from_slice(&std::fs::read(&json)?)?;
    let rows = results["results"].as_array().context("hyperfine results")?;
    let number = |row: &serde_json::Value, key: &str| row[key].as_f64().unwrap_or(f64::NAN);
    Ok(rows
        .iter()
        .map(|row| Row {
            name: row["command"].as_str().unwrap_or("?").to_owned(),
            median: number(row, "median"),
            min: number(row, "min"),
            max: number(row, "max"),
            user: number(row, "user"),
            system: number(row, "system"),
            server_cpu: None,
        })
        .collect())
}

/// The rows as a markdown table, ratios against the first; with CPU columns when the rows
/// have the server's CPU time.
fn table(rows: &[Row]) -> String {
    let served = rows.iter().all(|r| r.server_cpu.is_some());
    let mut table = String::from("| case | median | min | max | ratio |");
    let mut rule = String::from("|---|---|---|---|---|");
    if served {
        table.push_str(" CPU (user + system) | nginx CPU |");
        rule.push_str("---|---|");
    }
    table.push('\n');
    table.push_str(&rule);
    table.push('\n');
    let base = rows.first().map_or(f64::NAN, |r| r.median);
    for row in rows {
        table.push_str(&format!(
            "| {} | {:.3} s | {:.3} s | {:.3} s | {:.2}× |",
            row.name.replace('|', "\\|"),
            row.median,
            row.min,
            row.max,
            row.median / base
        ));
        if let (true, Some(server)) = (served, row.server_cpu) {
            table.push_str(&format!(
                " {:.2} + {:.2} s | {server:.2} s |",
                row.user, row.system
            ));
        }
        table.push('\n');
    }
    table
}

/// `size` bytes of a fast pseudo-random stream (incompressible, not all zeros).
fn write_random(path: &Path, size: u64) -> Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for chunk in buf.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    f.flush()?;
    Ok(())
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}

/// The cores the cases share.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn machine() -> String {
    let cores = cores();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "an unknown CPU".to_owned());
    format!("{cores} cores ({cpu})")
}
