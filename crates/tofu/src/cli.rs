//! The command line, declared: these structs and their doc comments are the help text.

use std::path::PathBuf;

use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};

/// `--via`: any string (tofu_fetch parses it, with its own messages), completed from the
/// forms it takes.
#[derive(Clone)]
struct ViaForms;

impl TypedValueParser for ViaForms {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let forms = ["direct", "tor", "tor:", "socks5h://", "socks5://", "iface:"];
        Some(Box::new(forms.into_iter().map(PossibleValue::new)))
    }
}

/// Triple trust on first use: fetch the same artifact from several vantage points on several
/// days, sign each run's transcript, and trust the artifact only if every run agrees.
#[derive(Debug, Parser)]
#[command(name = "tofu", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Read defaults from this TOML file instead of
    /// ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists
    /// every key).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Under each error, and under each target that failed, show the chain of causes it was
    /// read from (the libraries' own words).
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch targets over one transport and write a signed transcript of what was seen.
    ///
    /// Exit status: 0 when every target was fetched (and vouched for, as the plan says), 1
    /// when any failed or what should vouch for one did not (recorded in the transcript,
    /// which is still written and signed), 2 for usage errors.
    Fetch(Box<FetchArgs>),
    /// Check the format and signature of transcripts, and say who signed each.
    ///
    /// Exit status: 0 when every file verifies and was signed by a key you trust, 2 otherwise
    /// (a signature by a key you do not trust, too: it proves nothing about who made the run).
    Verify(VerifyArgs),
    /// Compare transcripts of the same artifacts from different runs.
    ///
    /// Exit status: 0 agree (enough runs, every artifact identical, every required diversity
    /// rule met), 1 disagree (some run saw different bytes, a publisher's signature or
    /// checksum list contradicts an artifact, or an attempt left out saw other bytes), 3
    /// inconclusive (nothing differs but something is missing, failed, too few runs, a rule is
    /// unmet, a check could not be made, a campaign log does not hold, or a run is signed by a
    /// key you do not trust), 2 unusable input.
    Compare(CompareArgs),
    /// Show where a campaign stands: what agrees so far, which rules are unmet, and what the
    /// next run must differ in.
    ///
    /// Exit status: as `compare` (0 when the campaign is complete and agrees).
    Status(StatusArgs),
    /// Create the signing key that signs transcripts off.
    Keygen(KeygenArgs),
    /// Trust other operators' keys, once, by name (like ssh's known_hosts).
    ///
    /// Only runs signed by a key you trust count in compare and status; a run signed by any
    /// other key is shown, never counted. Your own key (signing.pub beside the default signing
    /// key) is trusted without this step. The keys live in
    /// ${XDG_CONFIG_HOME:-~/.config}/tofu/trusted-keys, one `NAME KEY` line each.
    Trust(TrustArgs),
    /// List this machine's campaign log: every attempt `tofu fetch` made, by campaign, with
    /// its outcome and digests — those that failed, were interrupted or were left out of a
    /// comparison too.
    ///
    /// Every entry's signature and its place in the hash chain are checked; an entry removed
    /// or changed is named. Exit status: 0 when the log holds, 2 when it does not (or cannot
    /// be read).
    Log(LogArgs),
    /// Print a completion script for SHELL on stdout.
    ///
    /// bash: `tofu completions bash > ~/.local/share/bash-completion/completions/tofu`;
    /// zsh: into a directory of your $fpath as `_tofu`; fish: into
    /// ~/.config/fish/completions/tofu.fish. The Debian package installs them.
    Completions {
        /// The shell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Read this log instead of this machine's (another machine's campaign.log, copied; its
    /// entries must be signed by keys you trust).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Print the log as JSON (docs/json/log.schema.json).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// What to fetch: http:// or https:// URLs, and image references such as
    /// debian:bookworm, ghcr.io/homebrew/core/wget:1.24.5 or REGISTRY/REPO@sha256:… (or give
    /// --plan).
    #[arg(
        value_name = "TARGET",
        required_unless_present = "plan",
        conflicts_with = "plan"
    )]
    pub targets: Vec<String>,

    /// Fetch the artifacts of this plan (TOML; see configs/). Its name and digest are
    /// recorded, so compare can tell runs of different plans apart.
    #[arg(long, value_name = "FILE.toml")]
    pub plan: Option<PathBuf>,

    /// Where to write the transcript; its signature goes to RUN.json.minisig.
    #[arg(short = 'o', long = "output", value_name = "RUN.json")]
    pub output: PathBuf,

    /// Replace an existing transcript (and its signature) at --output, and start a new run
    /// over an interrupted one's journal.
    #[arg(long)]
    pub force: bool,

    /// Continue the run an interrupted `tofu fetch` with the same arguments left behind
    /// (its journal is RUN.json.resume): the same run id, the targets it had done, and with
    /// --keep the file it was downloading, checked against its last checkpoint and continued
    /// where it stopped. The interruption is recorded in the transcript.
    #[arg(long)]
    pub resume: bool,

    /// No progress and no notes on stderr: only warnings, errors and the targets that
    /// failed. (On a terminal, progress is a live line; on a pipe or a file, a plain line
    /// now and then; NO_COLOR turns colour off.)
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// How to reach the network: direct, socks5h://[USER:PASS@]HOST:PORT (the proxy resolves
    /// names), socks5://… (names resolved locally: leaks DNS), iface:NAME (bind to a network
    /// interface such as a VPN tunnel; names are resolved over it too, see --dns), tor (the Tor client built into tofu), or tor:CC (an
    /// exit in country CC). Proxy environment variables are ignored.
    #[arg(long, value_name = "VIA", default_value = "direct", value_parser = ViaForms)]
    pub via: String,

    /// With --via iface:NAME: ask this DNS resolver, IP or IP:PORT, over the interface
    /// (repeatable, asked in order) [default: the resolvers of /etc/resolv.conf, still asked
    /// over the interface]. Which resolver answered each name is recorded.
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<String>,

    /// For images: pull this platform, os/arch[/variant] (repeatable), or all. Default:
    /// linux/amd64 on every machine, so runs from different hosts line up. Every index entry
    /// is recorded either way.
    #[arg(long = "platform", value_name = "PLATFORM")]
    pub platforms: Vec<String>,

    /// A note about this run, recorded in the transcript (e.g. "laptop, home ISP").
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,

    /// The country you say this run is made from (ISO 3166-1 alpha-2, e.g. DE). Recorded as
    /// claimed, beside the observed one; it never replaces it.
    #[arg(long, value_name = "CC")]
    pub country: Option<String>,

    /// Ask this "what is my IP" endpoint for the exit address and country, before and after
    /// the downloads (repeatable; replaces the config's [vantage] whoami list for this run;
    /// give two or more run by different operators). It must answer JSON with "ip" and
    /// "country_iso" (or "country_code", or a two-letter "country").
    #[arg(long = "whoami", value_name = "URL")]
    pub whoami: Vec<String>,

    /// Do not ask any "what is my IP" endpoint: the run then records no exit evidence, and
    /// compare cannot show distinct networks or countries for it.
    #[arg(long, conflicts_with = "whoami")]
    pub no_whoami: bool,

    /// Keep the payloads in this directory (created if missing), named from the URL asked for
    /// (not where it redirected), only once complete and verified; nothing there is replaced.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,

    /// Trust this PEM root certificate too (repeatable); its fingerprint is recorded.
    #[arg(long = "ca-cert", value_name = "PEM")]
    pub ca_certs: Vec<PathBuf>,

    /// Refuse bodies larger than this many bytes [default: 64 GiB, or the config's].
    #[arg(long, value_name = "BYTES")]
    pub max_size: Option<u64>,

    /// Seconds allowed to connect: TCP, proxy and TLS [default: 30, or the config's].
    #[arg(long, value_name = "SECS")]
    pub connect_timeout: Option<u64>,

    /// Longest pause, in seconds, between two reads of a body; a response's headers must
    /// arrive within the connect and read timeouts together [default: 60, or the config's].
    #[arg(long, value_name = "SECS")]
    pub read_timeout: Option<u64>,

    /// The slowest transfer accepted, in bytes a second on average over --speed-time: a
    /// body slower than that has stalled and fails (as curl's --speed-limit); 0 turns the
    /// check off [default: 1024, or the config's].
    #[arg(long, value_name = "BYTES")]
    pub speed_limit: Option<u64>,

    /// The window of --speed-limit, in seconds [default: 60, or the config's].
    #[arg(long, value_name = "SECS")]
    pub speed_time: Option<u64>,

    /// Attempts at a file after the first when its transfer drops, stalls or times out: each
    /// resumes where the last ended (Range + If-Range), or starts over from byte 0 when the
    /// server cannot show it is the same version; 0 gives up at the first failure
    /// [default: 10, or the config's].
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,

    /// Sign with this minisign secret key instead of the default
    /// (${XDG_CONFIG_HOME:-~/.config}/tofu/signing.key, created on first use).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Print a summary as JSON on stdout once the transcript is written: its path, and each
    /// target's outcome, digests and error code (docs/json/fetch.schema.json).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Transcripts to check, or directories of them (each stands for its *.json files); each
    /// needs RUN.json.minisig beside it.
    #[arg(value_name = "RUN.json", required = true)]
    pub runs: Vec<PathBuf>,

    /// Trust this public key too, for this call only (repeatable; minisign .pub file, shown
    /// by its file name).
    #[arg(long = "trusted-key", value_name = "PUB")]
    pub trusted_keys: Vec<PathBuf>,

    /// Print the result of every file as JSON (docs/json/verify.schema.json).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Transcripts of the runs, two or more: files, directories (each stands for its *.json
    /// files, as a campaign collects them), or quoted patterns such as 'runs/*.json'.
    #[arg(value_name = "RUN.json", required = true)]
    pub runs: Vec<PathBuf>,

    #[command(flatten)]
    pub judge: JudgeArgs,

    /// Print the report as JSON (docs/json/compare.schema.json).
    #[arg(long)]
    pub json: bool,

    /// Also write the report as one self-contained HTML page to FILE (no script, nothing
    /// fetched when it is opened; light and dark mode, and print). An existing FILE is
    /// replaced; the exit status is still the verdict's.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Transcripts of the campaign's runs so far (one or more), or directories of them.
    #[arg(value_name = "RUN.json", required = true)]
    pub runs: Vec<PathBuf>,

    #[command(flatten)]
    pub judge: JudgeArgs,

    /// Print the status as JSON (docs/json/status.schema.json).
    #[arg(long)]
    pub json: bool,
}

/// What an agreement requires; shared by compare and status.
#[derive(Debug, Args)]
pub struct JudgeArgs {
    /// Fewest distinct runs needed to agree.
    #[arg(long, value_name = "N", default_value_t = tofu_compare::MIN_RUNS as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub min_runs: u64,

    /// Diversity rules that must hold, comma-separated: distinct-days, distinct-hosts,
    /// distinct-networks, distinct-countries; or none. Default: all four. A rule without
    /// evidence in the transcripts is unmet.
    #[arg(long, value_name = "RULES")]
    pub require: Option<String>,

    /// Trust this public key too, for this call only (repeatable; minisign .pub file, shown
    /// by its file name). Your own key and those added with `tofu trust add` are trusted
    /// always; a run signed by any other key is shown but never counted.
    #[arg(long = "trusted-key", value_name = "PUB")]
    pub trusted_keys: Vec<PathBuf>,

    /// Count transcripts without a signature file (a bad signature is still refused); they
    /// are shown as unsigned, and the verdict says how many were counted.
    #[arg(long)]
    pub allow_unsigned: bool,

    /// With distinct-days: the fewest hours between the starts of any two runs. Two UTC
    /// dates alone are not two days (23:55 and 00:05 are ten minutes apart); 20 hours still
    /// lets a daily run drift a few hours earlier. 0: distinct calendar dates only.
    #[arg(long, value_name = "HOURS", default_value_t = tofu_compare::MIN_GAP_HOURS)]
    pub min_gap: f64,

    /// Line up runs of different plans (or of no plan) anyway.
    #[arg(long)]
    pub allow_mixed_plans: bool,

    /// Leave out, on purpose, an attempt that a campaign log names but that is not given:
    /// RUN=WHY, RUN being its run id or its first 8 or more digits (repeatable). An attempt
    /// left out that saw other bytes otherwise makes the verdict disagree.
    #[arg(long = "exclude", value_name = "RUN=WHY")]
    pub exclude: Vec<String>,

    /// Set the runs against this campaign log too: another machine's campaign.log, copied
    /// from its data directory (repeatable; its entries must be signed by keys you trust).
    /// This machine's own log is always read.
    #[arg(long = "log", value_name = "FILE")]
    pub logs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the secret key (the public key goes beside it, .key → .pub).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Replace an existing key. Transcripts signed with the old key then need its .pub file.
    #[arg(long)]
    pub force: bool,

    /// Print the key's files, public key and key id as JSON (docs/json/keygen.schema.json).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TrustArgs {
    #[command(subcommand)]
    pub action: TrustAction,
}

#[derive(Debug, Subcommand)]
pub enum TrustAction {
    /// Trust an operator's public key under NAME.
    ///
    /// Get the key from the operator (their signing.pub), never from one of their
    /// transcripts: anyone can write a transcript and name a key of their own in it.
    Add {
        /// A short name for the operator: letters, digits, '.', '_' or '-' (at most 64).
        #[arg(value_name = "NAME")]
        name: String,
        /// Their minisign public key file (signing.pub), or the key itself in base64.
        #[arg(value_name = "KEY.pub")]
        key: String,
        /// Print the key trusted as JSON (docs/json/trust-change.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// List the keys you trust, with their key ids; your own key is marked.
    List {
        /// Print the list as JSON (docs/json/trust-list.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Stop trusting the key named NAME.
    Remove {
        /// The name it was added under.
        #[arg(value_name = "NAME")]
        name: String,
        /// Print the key no longer trusted as JSON (docs/json/trust-change.schema.json).
        #[arg(long)]
        json: bool,
    },
}
