//! Compares N transcripts: per-artifact verdicts, diversity rules, and one overall verdict.
//! `load` decides which transcripts may be judged and whose runs count (signatures, trusted
//! keys, the same run twice, mixed plans) and is the only module that reads files; the
//! judgement itself is pure. Nothing here opens a socket.
//!
//! A failure is never agreement: an artifact that is absent or failed in any run makes the
//! verdict inconclusive at best, and so does a diversity rule without the evidence to judge it.
//! A run signed by a key the user does not trust is shown but not judged: it counts towards no
//! rule, no run count and no artifact's verdict, so a forger can neither make nor break an
//! agreement, and while it is among the inputs the verdict is never agreement. (An unsigned
//! run let in by `--allow-unsigned` is vouched for by nobody and does count: that is what the
//! flag gives away.)

mod anchors;
mod artifact;
mod attempts;
mod chunks;
mod load;
mod notes;
mod render;
mod rules;
mod status;
mod vouch;

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;
use tofu_record::{Content, Transcript, Transport};

pub use attempts::{Exclusion, HostAttempts, HostLog, MissingAttempt};
pub use chunks::ChunkDiff;
pub use load::{
    LoadError, LoadedRun, LoadedRuns, Signature, TRUST_ADVICE, Trust, Warning, load_run, load_runs,
};
pub use render::{render_html, render_json, render_status, render_status_json, render_text};
pub use rules::{Rule, RuleReport, RuleStatus};
pub use status::{NextRun, Status, status};
pub use vouch::{VouchCell, VouchKind, VouchReport, VouchStatus};

/// One run handed to [`compare`]: a parsed transcript whose signature the caller checked.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    /// How the user named it (the file path).
    pub name: String,
    /// The transcript.
    pub transcript: &'a Transcript,
    /// Who signed it: a trusted key (the run counts), an untrusted one (it is shown, not
    /// judged), or nobody (allowed unsigned; it counts).
    pub signature: Signature,
}

/// What a comparison requires.
#[derive(Clone, Debug)]
pub struct Options {
    /// Fewest runs for an agreement.
    pub min_runs: usize,
    /// Diversity rules that must hold for an agreement.
    pub require: BTreeSet<Rule>,
    /// With `distinct-days`: the fewest hours between the starts of any two runs; None
    /// for calendar dates only.
    pub min_gap_hours: Option<f64>,
    /// Campaign logs to set the runs against (this machine's, when compare runs on one
    /// that made runs).
    pub logs: Vec<HostLog>,
    /// Attempts the user leaves out on purpose, with why.
    pub exclusions: Vec<Exclusion>,
}

/// Fewest runs for an agreement unless the user asks for more: 3TOFU's three.
pub const MIN_RUNS: usize = 3;

/// With `distinct-days`, the fewest hours between two runs' starts unless the user says
/// otherwise: runs at 23:55 and 00:05 UTC have two dates but are minutes apart, and an
/// attacker who controls a host for an hour would see both. 20 hours still lets a daily run
/// drift a few hours earlier each day (09:00, then 06:00 the next day).
pub const MIN_GAP_HOURS: f64 = 20.0;

impl Default for Options {
    fn default() -> Self {
        Options {
            min_runs: MIN_RUNS,
            require: Rule::ALL.into_iter().collect(),
            min_gap_hours: Some(MIN_GAP_HOURS),
            logs: Vec::new(),
            exclusions: Vec::new(),
        }
    }
}

/// The overall verdict. Its exit code is part of the CLI contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Enough runs, every artifact identical in every run, every required rule met.
    Agree,
    /// Some must-match field differs between runs, or what vouches for an artifact (its
    /// publisher's signature, its checksum list) contradicts it.
    Disagree,
    /// Nothing differs, but something is missing: a run, an artifact, or evidence.
    Inconclusive,
}

/// The verdict on one artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactVerdict {
    /// Every run fetched it and all agree.
    Match,
    /// At least two runs fetched different bytes.
    Mismatch,
    /// No two runs differ, but it is absent or failed in at least one run.
    Missing,
}

/// One run as the report shows it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct RunSummary {
    /// 1-based position on the command line: `#1`, `#2`, ….
    pub index: usize,
    /// The file name the user gave.
    pub name: String,
    /// The run id.
    pub run_id: String,
    /// The operator's label.
    pub label: Option<String>,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// The transport, for display.
    pub vantage: String,
    /// The observed exit address, when the endpoints agreed on one.
    pub exit_ip: Option<String>,
    /// Its network (/24 or /48).
    pub exit_network: Option<String>,
    /// The observed exit country.
    pub exit_country: Option<String>,
    /// The country the operator claimed (`--country`), shown apart from the observed one.
    pub claimed_country: Option<String>,
    /// The plan the run followed, as `name (sha256 prefix)`.
    pub plan: Option<String>,
    /// The host fingerprint.
    pub host: String,
    /// Who signed it: `{"trust": "trusted", "name", "key_id"}`, `{"trust": "untrusted",
    /// "key_id"}` (shown, not counted) or `{"trust": "unsigned"}` (allowed and counted).
    pub signer: Signature,
}

/// What one run saw of one artifact.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Cell {
    /// Fetched completely.
    Ok {
        /// The must-match fields.
        content: Content,
        /// Shown, not judged: where the bytes came from.
        final_url: Option<String>,
        /// Shown, not judged: the TLS leaf certificate.
        tls_leaf_sha256: Option<String>,
        /// Shown, not judged: the trust anchor the verification of the body's connection
        /// ended at (null when not recorded).
        tls_anchor: Option<tofu_record::TlsAnchor>,
        /// Must match: fingerprints of every OpenPGP certificate the content holds (each
        /// primary first) and the digest of each part that is not one, empty when the
        /// content is not a key file.
        openpgp_fingerprints: Vec<String>,
    },
    /// Recorded as failed.
    Failed {
        /// The stable error code.
        code: tofu_record::ErrorCode,
        /// The message.
        message: String,
    },
    /// Not in this run's transcript.
    Absent,
}

/// Runs that saw the same content, and runs that failed after verifying the same facts.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Group {
    /// Run indexes (1-based) that fetched it completely.
    pub runs: Vec<usize>,
    /// Runs that failed later, but whose verified facts (a tag's document, checked
    /// manifests, what the Homebrew API declared) are this group's and no other's. They
    /// count towards the group's size: their failure is a gap, their facts are evidence.
    pub failed_runs: Vec<usize>,
    /// What they saw; null for a group of failed runs only, whose facts differ from every
    /// other group's.
    pub content: Option<Content>,
    /// For a Homebrew formula, what the API declared (version, bottle digests): it must
    /// match as well.
    pub detail: Option<String>,
}

impl Group {
    /// Every run in the group: complete ones, then failed ones.
    pub fn members(&self) -> impl Iterator<Item = usize> + '_ {
        self.runs.iter().chain(&self.failed_runs).copied()
    }

    /// The run that stands for the group in diffs: its first complete run, else its first
    /// failed one.
    pub fn representative(&self) -> Option<usize> {
        self.runs.first().or(self.failed_runs.first()).copied()
    }
}

/// The comparison of one artifact across runs.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ArtifactReport {
    /// The artifact id.
    pub id: String,
    /// The verdict.
    pub verdict: ArtifactVerdict,
    /// One cell per run, in run order.
    pub cells: Vec<Cell>,
    /// Runs grouped by the content they saw, largest group first.
    pub groups: Vec<Group>,
    /// On a mismatch, the runs outside the majority group: their vantage points are the
    /// suspicious ones. With no strict majority, every run that fetched it.
    pub odd_runs: Vec<usize>,
    /// On a mismatch, the level where the odd run(s) part from the others: `sha256` for a
    /// file, `tag …`, `index entry …`, `manifest …`, `config …`, `layer …` for an image, or
    /// `error` when a run's bytes contradicted their own digest.
    pub level: Option<String>,
    /// Unified diffs of the must-match fields: a majority run against each odd run.
    pub diffs: Vec<String>,
    /// When image runs asked for different platforms (`oci.platforms`; a formula's bottle
    /// tags): which run asked for which, and what to do. Such runs did not pull one
    /// artifact, so it is never a match.
    pub platform_sets: Option<String>,
    /// On a mismatch, where each odd run's copy parts from the reference run's, from the
    /// chunk digests both recorded (or why they could not be compared). Shown, not judged.
    pub chunk_diffs: Vec<ChunkDiff>,
    /// What vouches for it: the publisher's signature over it and the checksum list that
    /// names it, as the runs checked them. One that contradicts the artifact makes the
    /// verdict disagree; one a counted run could not check makes it inconclusive.
    pub vouches: Vec<VouchReport>,
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Report {
    /// The overall verdict.
    pub verdict: Verdict,
    /// Why the verdict is not `agree`, one line per reason.
    pub reasons: Vec<String>,
    /// The runs, in the order given.
    pub runs: Vec<RunSummary>,
    /// Every artifact id seen in any run, in first-seen order.
    pub artifacts: Vec<ArtifactReport>,
    /// Every diversity rule, required or not.
    pub rules: Vec<RuleReport>,
    /// Findings shown but not judged: clock skew, a TLS root only one run saw, disagreeing
    /// exit endpoints, a claimed country that differs from the observed one.
    pub notes: Vec<String>,
    /// The options the verdict was reached under.
    pub min_runs: usize,
    /// How many unsigned runs were counted because unsigned runs were allowed: the verdict
    /// rests on their word too.
    pub unsigned_counted: usize,
    /// Per host, the attempts its campaign log names, and those not among the runs given.
    pub attempts: Vec<HostAttempts>,
}

/// Compares the runs. Callers must refuse duplicate runs before this (the same run given
/// twice is not a second vantage point); this function also refuses to count them.
pub fn compare(inputs: &[Input<'_>], options: &Options) -> Report {
    let runs: Vec<RunSummary> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| summarize(i + 1, input))
        .collect();
    let counts: Vec<bool> = inputs.iter().map(|i| i.signature.counts()).collect();
    let counted = counted(inputs);
    let by_id = artifact::index(inputs);
    let mut artifacts: Vec<ArtifactReport> = artifact_ids(inputs)
        .into_iter()
        .map(|id| artifact::compare_artifact(id, &by_id, &counts, &runs))
        .collect();
    vouch::summarize(&mut artifacts);
    let rules = rules::judge(&counted, &options.require, options.min_gap_hours);

    let mut reasons = untrusted_reasons(&runs);
    reasons.extend(run_count_reasons(&counted, options));
    if artifacts.is_empty() {
        reasons.push("no artifact to compare".to_owned());
    }
    reasons.extend(artifact_reasons(&artifacts, &runs));
    for a in &artifacts {
        for v in a.vouches.iter().filter(|v| v.status != VouchStatus::Holds) {
            reasons.push(format!("{}: {}", a.id, v.summary));
        }
    }
    for rule in &rules {
        if rule.required && rule.status != RuleStatus::Met {
            reasons.push(format!("{} is unmet: {}", rule.rule, rule.message));
        }
    }
    let logged = attempts::judge(
        &counted,
        inputs,
        &artifacts,
        &options.logs,
        &options.exclusions,
    );
    reasons.extend(logged.disagreeing.iter().cloned());
    reasons.extend(logged.broken.iter().cloned());
    let verdict = verdict_of(&artifacts, &logged, &reasons);
    let mut notes = notes::collect(inputs, &artifacts);
    notes.extend(logged.notes);
    let unsigned_counted = inputs
        .iter()
        .filter(|i| matches!(i.signature, Signature::Unsigned { .. }))
        .count();
    Report {
        verdict,
        reasons,
        runs,
        artifacts,
        rules,
        notes,
        min_runs: options.min_runs,
        unsigned_counted,
        attempts: logged.hosts,
    }
}

/// The runs that count towards agreement, each with its 1-based number in the report.
pub(crate) fn counted<'i, 'a>(inputs: &'i [Input<'a>]) -> Vec<(usize, &'i Input<'a>)> {
    inputs
        .iter()
        .enumerate()
        .filter(|(_, input)| input.signature.counts())
        .map(|(i, input)| (i + 1, input))
        .collect()
}

/// One reason per run signed by a key the user does not trust: it is not counted, and
/// how to trust it if it is an operator's.
fn untrusted_reasons(runs: &[RunSummary]) -> Vec<String> {
    runs.iter()
        .filter_map(|r| match &r.signer {
            Signature::Untrusted { key_id } => Some(format!(
                "run #{} ({}) is signed by key {key_id}, which you do not trust: it is shown, \
                 not counted; {TRUST_ADVICE}",
                r.index, r.name
            )),
            Signature::Trusted { .. } | Signature::Unsigned { .. } => None,
        })
        .collect()
}

/// Every artifact id seen in any run, in first-seen order.
fn artifact_ids<'a>(inputs: &[Input<'a>]) -> Vec<&'a str> {
    let mut ids: Vec<&str> = Vec::new();
    let mut seen = BTreeSet::new();
    for input in inputs {
        for artifact in &input.transcript.artifacts {
            if seen.insert(artifact.id.as_str()) {
                ids.push(&artifact.id);
            }
        }
    }
    ids
}

/// Why the counted runs are too few: the same run given twice counts once, and fewer
/// distinct runs than `min_runs` prove nothing.
fn run_count_reasons(counted: &[(usize, &Input<'_>)], options: &Options) -> Vec<String> {
    let mut reasons = Vec::new();
    let distinct_runs: BTreeSet<&str> = counted
        .iter()
        .map(|(_, i)| i.transcript.run.id.as_str())
        .collect();
    if distinct_runs.len() < counted.len() {
        reasons.push("the same run was given more than once; it counts once".to_owned());
    }
    if distinct_runs.len() < options.min_runs {
        reasons.push(format!(
            "only {} distinct counted run(s); at least {} are required (--min-runs)",
            distinct_runs.len(),
            options.min_runs
        ));
    }
    reasons
}

/// One reason per artifact that is not a match: where it differs and which runs are odd
/// (and which of them failed after verifying what differs), or which runs lack it, or that
/// the runs pulled different platforms.
fn artifact_reasons(artifacts: &[ArtifactReport], runs: &[RunSummary]) -> Vec<String> {
    let mut reasons = Vec::new();
    for a in artifacts {
        match a.verdict {
            ArtifactVerdict::Match => {}
            ArtifactVerdict::Mismatch => {
                let level = a
                    .level
                    .as_ref()
                    .map(|l| format!(" at {l}"))
                    .unwrap_or_default();
                let failed = failed_odd_runs(a);
                let failed = if failed.is_empty() {
                    String::new()
                } else {
                    let failed: Vec<String> = failed.iter().map(|r| format!("#{r}")).collect();
                    format!(
                        " ({} failed later, but had already verified what differs: a \
                         disagreement, not a gap)",
                        failed.join(", ")
                    )
                };
                reasons.push(format!(
                    "{}: differs{level}; odd run(s) {}{failed}",
                    a.id,
                    artifact::run_list(&a.odd_runs, runs)
                ));
            }
            ArtifactVerdict::Missing => {
                let which = missing_in(a, runs);
                if !which.is_empty() {
                    reasons.push(format!(
                        "{}: absent or failed in run(s) {}",
                        a.id,
                        artifact::run_list(&which, runs)
                    ));
                }
                if let Some(platforms) = &a.platform_sets {
                    reasons.push(format!("{}: {platforms}", a.id));
                }
                // A missing artifact always says why, so it can never leave the reasons
                // empty (and the verdict agree).
                if which.is_empty() && a.platform_sets.is_none() {
                    reasons.push(format!("{}: not seen complete in every counted run", a.id));
                }
            }
        }
    }
    reasons
}

/// Disagree when runs saw different bytes, what vouches for an artifact contradicts it, or
/// an attempt left out saw other bytes; else agree when nothing stands in the way.
fn verdict_of(
    artifacts: &[ArtifactReport],
    logged: &attempts::Judged,
    reasons: &[String],
) -> Verdict {
    let contradicted = |a: &ArtifactReport| {
        a.verdict == ArtifactVerdict::Mismatch
            || a.vouches
                .iter()
                .any(|v| v.status == VouchStatus::Contradicted)
    };
    if !logged.disagreeing.is_empty() || artifacts.iter().any(contradicted) {
        Verdict::Disagree
    } else if reasons.is_empty() {
        Verdict::Agree
    } else {
        Verdict::Inconclusive
    }
}

/// The runs in which the artifact is absent or failed.
fn missing_in(a: &ArtifactReport, runs: &[RunSummary]) -> Vec<usize> {
    a.cells
        .iter()
        .zip(runs)
        .filter(|(c, r)| r.signer.counts() && !matches!(c, Cell::Ok { .. }))
        .map(|(_, r)| r.index)
        .collect()
}

/// The odd runs of a mismatch that failed with no sign of tampering: what they verified
/// before failing is what differs.
pub(crate) fn failed_odd_runs(a: &ArtifactReport) -> Vec<usize> {
    a.odd_runs
        .iter()
        .copied()
        .filter(|&r| {
            matches!(a.cells.get(r - 1), Some(Cell::Failed { code, .. }) if !code.is_integrity())
        })
        .collect()
}

/// The values, comma-separated; None when there are none.
fn joined(values: &std::collections::BTreeSet<String>) -> Option<String> {
    (!values.is_empty()).then(|| values.iter().cloned().collect::<Vec<_>>().join(", "))
}

/// One run as the report shows it: its vantage, exits, plan, host and signer.
fn summarize(index: usize, input: &Input<'_>) -> RunSummary {
    let t = input.transcript;
    let exits = rules::run_exits(t);
    RunSummary {
        index,
        name: input.name.clone(),
        run_id: t.run.id.clone(),
        label: t.run.label.clone(),
        started_at: t
            .run
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        vantage: describe_transport(&t.vantage.transport),
        exit_ip: joined(&exits.ips),
        exit_network: joined(&exits.networks),
        exit_country: joined(&exits.countries),
        claimed_country: t.vantage.claimed_country.clone(),
        plan: t
            .plan
            .as_ref()
            .map(|p| format!("{} ({})", p.name, p.sha256.get(..12).unwrap_or(&p.sha256))),
        host: t.run.host.fingerprint.clone(),
        signer: input.signature.clone(),
    }
}

/// `iface:NAME`, and the resolvers that answered over it: `iface:wg0 (DNS 10.8.0.1:53)`.
fn describe_interface(name: &str, dns: &[tofu_record::DnsAnswer]) -> String {
    let mut resolvers: Vec<&str> = dns.iter().map(|a| a.resolver.as_str()).collect();
    resolvers.sort_unstable();
    resolvers.dedup();
    if resolvers.is_empty() {
        format!("iface:{name}")
    } else {
        format!("iface:{name} (DNS {})", resolvers.join(", "))
    }
}

/// A one-line description of a transport.
pub fn describe_transport(transport: &Transport) -> String {
    match transport {
        Transport::Direct => "direct".to_owned(),
        Transport::Socks5 {
            proxy, tor_daemon, ..
        } => {
            if *tor_daemon {
                format!("{proxy} (Tor)")
            } else {
                proxy.clone()
            }
        }
        Transport::Interface { name, dns } => describe_interface(name, dns),
        Transport::Tor {
            exit_country: None, ..
        } => "tor".to_owned(),
        Transport::Tor {
            exit_country: Some(cc),
            ..
        } => format!("tor:{cc}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tofu_record::Transcript;

    /// A transcript of one run: `day` of November 2026, a host, and artifacts given as
    /// (id, Some(digest byte) | None for failed).
    fn run(n: u8, day: u32, host: &str, artifacts: &[(&str, Option<u8>)]) -> Transcript {
        let artifacts: Vec<serde_json::Value> = artifacts
            .iter()
            .map(|(id, digest)| {
                let (content, error) = match digest {
                    Some(b) => (
                        serde_json::json!({
                            "size": 10,
                            "sha256": format!("{b:02x}").repeat(32),
                            "sha512": format!("{b:02x}").repeat(64),
                        }),
                        serde_json::Value::Null,
                    ),
                    None => (
                        serde_json::Value::Null,
                        serde_json::json!({"code": "connect", "message": "refused"}),
                    ),
                };
                serde_json::json!({
                    "id": id, "content": content, "openpgp": null, "error": error,
                    "fetches": [{
                        "url": id, "content": content, "http": null, "kept_as": null,
                        "error": error,
                    }],
                })
            })
            .collect();
        let t: Transcript = serde_json::from_value(serde_json::json!({
            "format": tofu_record::FORMAT,
            "tool": {"name": "tofu", "version": "0"},
            "run": {
                "id": format!("{n:02x}").repeat(16),
                "label": null,
                "started_at": format!("2026-11-{day:02}T12:00:00Z"),
                "finished_at": format!("2026-11-{day:02}T12:01:00Z"),
                "host": {"os": "linux", "arch": "x86_64", "fingerprint": host},
            },
            "plan": null,
            "vantage": {
                "transport": {"kind": "direct"},
                "extra_roots": [],
                "exit": {"probes": [], "ip": null, "country": null, "conflict": false},
                "claimed_country": null,
            },
            "signer": {"public_key": "x", "key_id": "y"},
            "artifacts": artifacts,
        }))
        .unwrap();
        t.check().unwrap();
        t
    }

    /// The runs as compare's inputs, named `run1.json`, … and signed by this machine's key.
    fn trusted_inputs(runs: &[Transcript]) -> Vec<Input<'_>> {
        runs.iter()
            .enumerate()
            .map(|(i, t)| Input {
                name: format!("run{}.json", i + 1),
                transcript: t,
                signature: Signature::Trusted {
                    name: "this machine".into(),
                    key_id: "K".into(),
                },
            })
            .collect()
    }

    fn report(runs: &[Transcript], require: &[Rule]) -> Report {
        let inputs = trusted_inputs(runs);
        compare(
            &inputs,
            &Options {
                min_runs: 3,
                require: require.iter().copied().collect(),
                min_gap_hours: None,
                ..Options::default()
            },
        )
    }

    /// Gives run `t` an exit in `ip`/`cc`, seen by two endpoints (so that no note says the
    /// exit rests on one) whose answers were verified through an anchor with key `spki` (a
    /// hex byte, repeated) from `source`.
    fn exit_through(t: &mut Transcript, ip: &str, cc: &str, spki: u8, source: &str) {
        let anchor = serde_json::json!({
            "subject": format!("CN=root {spki}"),
            "spki_sha256": format!("{spki:02x}").repeat(32),
            "source": source,
        });
        let probe = |url: &str| {
            serde_json::from_value(serde_json::json!({
                "url": url, "status": 200, "answer": null, "ip": ip,
                "country": cc, "server_date": null, "response_at": null, "error": null,
                "tls": {"version": null, "leaf_cert_sha256": null, "chain_sha256": [],
                        "leaf_spki_sha256": null, "chain_root_issuer": "CN=root 1",
                        "anchor": anchor},
            }))
            .unwrap()
        };
        t.vantage.exit.probes = vec![
            probe("https://whoami.example/"),
            probe("https://whoami-too.example/"),
        ];
        t.vantage.exit.ip = Some(ip.to_owned());
        t.vantage.exit.country = Some(cc.to_owned());
    }

    #[test]
    fn a_lookup_through_a_root_no_other_run_saw_is_noted_and_fails_closed() {
        let mut runs = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(1))]),
            run(3, 22, "h3", &[("a", Some(1))]),
        ];
        exit_through(&mut runs[0], "192.0.2.1", "DE", 1, "ca-cert");
        exit_through(&mut runs[1], "198.51.100.1", "FR", 2, "ca-cert");
        exit_through(&mut runs[2], "203.0.113.1", "JP", 1, "ca-cert");
        let r = report(&runs, &Rule::ALL);
        assert_eq!(r.verdict, Verdict::Inconclusive, "{:?}", r.reasons);
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        assert!(
            r.notes[0].starts_with(
                "run #2's exit lookup https://whoami.example/ went through a TLS root no \
                 other run's lookup saw: CN=root 2 (SPKI sha256 0202020202020202…, from --ca-cert)"
            ),
            "{:?}",
            r.notes
        );
        for rule in ["distinct-networks", "distinct-countries"] {
            assert!(
                r.reasons.iter().any(|m| m.starts_with(&format!(
                    "{rule} is unmet: run #2: its exit lookup https://whoami.example/ went \
                     through a --ca-cert root"
                ))),
                "{rule}: {:?}",
                r.reasons
            );
        }
        // A platform root no other run saw is noted only: endpoints behind CDNs chain to
        // different public roots.
        exit_through(&mut runs[1], "198.51.100.1", "FR", 2, "platform");
        let r = report(&runs, &[Rule::DistinctNetworks, Rule::DistinctCountries]);
        assert_eq!(r.verdict, Verdict::Agree, "{:?}", r.reasons);
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        // The same root everywhere: nothing to note, the rules hold.
        exit_through(&mut runs[1], "198.51.100.1", "FR", 1, "ca-cert");
        let r = report(&runs, &[Rule::DistinctNetworks, Rule::DistinctCountries]);
        assert_eq!(r.verdict, Verdict::Agree, "{:?}", r.reasons);
        assert!(r.notes.is_empty(), "{:?}", r.notes);
    }

    /// A lookup through a `--ca-cert` root is suspect even when no other run's lookup recorded
    /// an anchor at all (plain-http endpoints, older transcripts), and a lookup after the
    /// downloads is checked like the one before.
    #[test]
    fn a_lone_ca_cert_lookup_counts_for_nothing_even_when_no_other_run_recorded_a_root() {
        let mut runs = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(1))]),
            run(3, 22, "h3", &[("a", Some(1))]),
        ];
        exit_through(&mut runs[0], "192.0.2.1", "DE", 1, "ca-cert");
        exit_through(&mut runs[1], "198.51.100.1", "FR", 2, "ca-cert");
        exit_through(&mut runs[2], "203.0.113.1", "JP", 1, "ca-cert");
        for i in [0, 2] {
            for probe in &mut runs[i].vantage.exit.probes {
                probe.tls = None;
            }
        }
        let rules = [Rule::DistinctNetworks, Rule::DistinctCountries];
        let r = report(&runs, &rules);
        assert_eq!(r.verdict, Verdict::Inconclusive, "{:?}", r.reasons);
        assert!(
            r.reasons.iter().any(|m| m.contains(
                "run #2: its exit lookup https://whoami.example/ went \
                                     through a --ca-cert root"
            )),
            "{:?}",
            r.reasons
        );
        // Run 2's first lookup is clean; the one after the downloads was answered through the
        // lone root.
        let after = runs[1].vantage.exit.clone();
        for probe in &mut runs[1].vantage.exit.probes {
            probe.tls = None;
        }
        runs[1].vantage.exit_after = Some(after);
        let r = report(&runs, &rules);
        assert_eq!(r.verdict, Verdict::Inconclusive, "{:?}", r.reasons);
        assert!(
            r.reasons.iter().any(|m| m.contains(
                "its exit lookup after the downloads https://whoami.example/ went through a \
                 --ca-cert root"
            )),
            "{:?}",
            r.reasons
        );
        // Without it, the three exits count.
        runs[1].vantage.exit_after = None;
        let r = report(&runs, &rules);
        assert_eq!(r.verdict, Verdict::Agree, "{:?}", r.reasons);
    }

    #[test]
    fn agreement_needs_every_required_rule() {
        let runs = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(1))]),
            run(3, 22, "h3", &[("a", Some(1))]),
        ];
        let r = report(&runs, &[Rule::DistinctDays, Rule::DistinctHosts]);
        assert_eq!(r.verdict, Verdict::Agree, "{:?}", r.reasons);
        assert!(r.reasons.is_empty());
        // Without evidence for networks, the default rules cannot all hold.
        let r = report(&runs, &Rule::ALL);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert!(r.reasons.iter().any(|m| m.contains("distinct-networks")));
        let network = r
            .rules
            .iter()
            .find(|x| x.rule == Rule::DistinctNetworks)
            .unwrap();
        assert_eq!(network.status, RuleStatus::NoEvidence);
    }

    /// Sets a run's observed exit (as whoami endpoints saw it).
    fn observed(t: &mut Transcript, ip: &str, cc: &str) {
        t.vantage.exit.ip = Some(ip.to_owned());
        t.vantage.exit.country = Some(cc.to_owned());
    }

    fn relay(ip: &str, cc: Option<&str>) -> tofu_record::TorRelay {
        tofu_record::TorRelay {
            rsa_identity: "AB".repeat(20),
            ed25519_identity: None,
            addresses: vec![format!("{ip}:9001")],
            nickname: None,
            country: cc.map(str::to_owned),
        }
    }

    #[test]
    fn a_tor_run_counts_every_exit_it_used() {
        let mut runs = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(1))]),
            run(3, 22, "h3", &[("a", Some(1))]),
        ];
        observed(&mut runs[0], "198.51.100.7", "DE");
        observed(&mut runs[1], "203.0.113.9", "CA");
        // Run 3 is a Tor run: its probes saw one exit, its artifact used another.
        observed(&mut runs[2], "192.0.2.10", "SE");
        runs[2].vantage.transport = Transport::Tor {
            exit_country: None,
            consensus_valid_after: None,
            geoip: "embedded".into(),
            exits: vec![relay("192.0.2.10", Some("SE"))],
        };
        runs[2].artifacts[0].tor_exits = vec![relay("198.51.100.200", Some("NL"))];
        let rules = [Rule::DistinctNetworks, Rule::DistinctCountries];
        let r = report(&runs, &rules);
        // The artifact's exit shares run 1's network, though its probes did not.
        let networks = &r.rules[2];
        assert_eq!(networks.status, RuleStatus::Unmet);
        assert_eq!(
            networks.message,
            "runs #1, #3 share the exit network 198.51.100.0/24"
        );
        assert_eq!(r.rules[3].status, RuleStatus::Met, "{}", r.rules[3].message);
        assert_eq!(r.runs[2].vantage, "tor");
        assert_eq!(r.runs[2].exit_country.as_deref(), Some("NL, SE"));

        // An exit relay of unknown country leaves the countries without evidence.
        runs[2].artifacts[0].tor_exits = vec![relay("192.0.2.99", None)];
        let r = report(&runs, &rules);
        assert_eq!(r.rules[2].status, RuleStatus::Met, "{}", r.rules[2].message);
        assert_eq!(r.rules[3].status, RuleStatus::NoEvidence);
        assert!(
            r.rules[3].message.contains("has no known country"),
            "{}",
            r.rules[3].message
        );
        assert_eq!(r.verdict, Verdict::Inconclusive);

        // A download over Tor that records no exit leaves the run without network evidence.
        runs[2].artifacts[0].tor_exits.clear();
        let r = report(&runs, &rules);
        for rule in &r.rules[2..] {
            assert_eq!(rule.status, RuleStatus::NoEvidence, "{}", rule.message);
            assert!(
                rule.message.contains("records no Tor exit"),
                "{}",
                rule.message
            );
        }
    }

    /// A lookup whose one probe answered `ip` and `cc` (or failed, for `None`).
    fn lookup(answer: Option<(&str, &str)>) -> tofu_record::ExitEvidence {
        tofu_record::ExitEvidence {
            probes: vec![tofu_record::Probe {
                url: "https://whoami.example/".into(),
                status: None,
                answer: None,
                ip: answer.map(|(ip, _)| ip.to_owned()),
                country: answer.map(|(_, cc)| cc.to_owned()),
                server_date: None,
                response_at: None,
                tls: None,
                error: None,
            }],
            ip: answer.map(|(ip, _)| ip.to_owned()),
            country: answer.map(|(_, cc)| cc.to_owned()),
            conflict: false,
        }
    }

    /// Three runs whose lookups, before and after, saw DE, CA and JP exits.
    fn three_exits() -> [Transcript; 3] {
        let mut runs = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(1))]),
            run(3, 22, "h3", &[("a", Some(1))]),
        ];
        let exits = [
            ("198.51.100.7", "DE"),
            ("203.0.113.9", "CA"),
            ("192.0.2.10", "JP"),
        ];
        for (t, exit) in runs.iter_mut().zip(exits) {
            t.vantage.exit = lookup(Some(exit));
            t.vantage.exit_after = Some(lookup(Some(exit)));
        }
        runs
    }

    #[test]
    fn an_exit_that_moved_counts_both_and_a_failed_second_lookup_is_a_gap() {
        let rules = [Rule::DistinctNetworks, Rule::DistinctCountries];
        let mut runs = three_exits();
        assert_eq!(report(&runs, &rules).verdict, Verdict::Agree);
        // Run 3's exit moved to run 2's network and country during the downloads.
        runs[2].vantage.exit_after = Some(lookup(Some(("203.0.113.50", "CA"))));
        runs[2].vantage.exit_changed = true;
        runs[2].check().unwrap();
        let r = report(&runs, &rules);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(
            r.rules[2].message,
            "runs #2, #3 share the exit network 203.0.113.0/24"
        );
        assert_eq!(r.rules[3].message, "runs #2, #3 share the exit country CA");
        assert_eq!(
            r.runs[2].exit_ip.as_deref(),
            Some("192.0.2.10, 203.0.113.50")
        );
        assert!(
            r.notes.iter().any(|n| n.starts_with(
                "run #3: the exit changed during the run: before the downloads 192.0.2.10 JP"
            ) && n.contains("after them 203.0.113.50 CA")),
            "{:?}",
            r.notes
        );

        // A lookup after the downloads that gave nothing: the exit may have moved unseen.
        runs[2].vantage.exit_after = Some(lookup(None));
        runs[2].vantage.exit_changed = false;
        let r = report(&runs, &rules);
        for rule in &r.rules[2..] {
            assert_eq!(rule.status, RuleStatus::NoEvidence, "{}", rule.message);
            assert_eq!(
                rule.message,
                "run #3: its exit lookup after the downloads gave no address, so the exit \
                 may have changed unseen"
            );
        }
        // So does one before them that gave nothing.
        runs[2].vantage.exit = lookup(None);
        runs[2].vantage.exit_after = Some(lookup(Some(("192.0.2.10", "JP"))));
        let r = report(&runs, &rules);
        assert!(
            r.rules[2]
                .message
                .contains("lookup before the downloads gave no address")
        );

        // A transcript from before tofu asked twice keeps its one lookup, with no gap.
        runs[2].vantage.exit = lookup(Some(("192.0.2.10", "JP")));
        runs[2].vantage.exit_after = None;
        assert_eq!(report(&runs, &rules).verdict, Verdict::Agree);
    }

    #[test]
    fn a_run_continued_elsewhere_after_an_interruption_left_through_both_exits() {
        let rules = [Rule::DistinctNetworks, Rule::DistinctCountries];
        let mut runs = three_exits();
        let resumed_at = runs[2].run.started_at + chrono::Duration::minutes(5);
        runs[2].run.interruptions.push(tofu_record::Interruption {
            saved_at: runs[2].run.started_at,
            resumed_at,
            exit: lookup(Some(("203.0.113.50", "CA"))),
        });
        let r = report(&runs, &rules);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(
            r.rules[2].message,
            "runs #2, #3 share the exit network 203.0.113.0/24"
        );
        assert_eq!(r.rules[3].message, "runs #2, #3 share the exit country CA");
        assert!(
            r.notes
                .iter()
                .any(|n| n.starts_with("run #3 was interrupted after")
                    && n.ends_with("its exit then: 203.0.113.50 CA")),
            "{:?}",
            r.notes
        );
        // A continuation whose lookup gave nothing leaves the run's exit unknown.
        runs[2].run.interruptions[0].exit = lookup(None);
        let r = report(&runs, &rules);
        assert_eq!(
            r.rules[2].status,
            RuleStatus::NoEvidence,
            "{}",
            r.rules[2].message
        );
        assert!(
            r.rules[2]
                .message
                .contains("continued after an interruption")
        );
        assert_eq!(r.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn the_downloads_exits_through_a_tor_daemon_are_unknown() {
        let rules = [Rule::DistinctNetworks, Rule::DistinctCountries];
        let mut runs = three_exits();
        runs[1].vantage.transport = Transport::Socks5 {
            proxy: "socks5h://127.0.0.1:9050".into(),
            remote_dns: true,
            authenticated: true,
            tor_daemon: true,
        };
        let r = report(&runs, &rules);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        for rule in &r.rules[2..] {
            assert_eq!(rule.status, RuleStatus::NoEvidence, "{}", rule.message);
            assert_eq!(
                rule.message,
                "run #2: its artifact a went through a Tor daemon, whose exits are unknown \
                 without its control port (use --via tor)"
            );
        }
        // Each download's exit, once recorded, is evidence again.
        runs[1].artifacts[0].tor_exits = vec![relay("203.0.113.77", Some("CA"))];
        assert_eq!(report(&runs, &rules).verdict, Verdict::Agree);
    }

    #[test]
    fn an_exit_resting_on_one_endpoint_is_noted() {
        let mut runs = three_exits();
        let r = report(&runs, &[]);
        assert!(
            r.notes.iter().any(|n| n.starts_with(
                "run #1: its exit rests on one endpoint's answer (https://whoami.example/)"
            )),
            "{:?}",
            r.notes
        );
        for t in &mut runs {
            let second = t.vantage.exit.probes[0].clone();
            t.vantage.exit.probes.push(second.clone());
            t.vantage.exit_after.as_mut().unwrap().probes.push(second);
        }
        assert!(report(&runs, &[]).notes.is_empty());
    }

    #[test]
    fn a_shared_day_or_host_is_named() {
        let runs = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 20, "h1", &[("a", Some(1))]),
            run(3, 22, "h3", &[("a", Some(1))]),
        ];
        let r = report(&runs, &[Rule::DistinctDays, Rule::DistinctHosts]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        let days = &r.rules[0];
        assert_eq!(days.status, RuleStatus::Unmet);
        assert_eq!(days.message, "runs #1, #2 share the UTC date 2026-11-20");
        assert!(
            r.rules[1]
                .message
                .contains("runs #1, #2 share the host fingerprint h1")
        );
    }

    #[test]
    fn the_odd_run_is_named_and_a_tie_names_everyone() {
        let runs = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(2))]),
            run(3, 22, "h3", &[("a", Some(1))]),
        ];
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Disagree);
        assert_eq!(r.artifacts[0].odd_runs, [2]);
        assert_eq!(r.artifacts[0].groups[0].runs, [1, 3]);
        assert_eq!(r.artifacts[0].diffs.len(), 1);
        assert!(r.artifacts[0].diffs[0].contains("-sha256: 0101"));
        assert!(r.artifacts[0].diffs[0].contains("+sha256: 0202"));

        let tie = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(2))]),
        ];
        let r = report(&tie, &[]);
        assert_eq!(r.verdict, Verdict::Disagree);
        assert_eq!(r.artifacts[0].odd_runs, [1, 2]);
    }

    #[test]
    fn failures_and_gaps_are_never_agreement() {
        let runs = [
            run(1, 20, "h1", &[("a", Some(1)), ("b", Some(5))]),
            run(2, 21, "h2", &[("a", None), ("b", Some(5))]),
            run(3, 22, "h3", &[("b", Some(5))]),
        ];
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(r.artifacts[0].verdict, ArtifactVerdict::Missing);
        assert!(matches!(r.artifacts[0].cells[1], Cell::Failed { .. }));
        assert!(matches!(r.artifacts[0].cells[2], Cell::Absent));
        assert_eq!(r.artifacts[1].verdict, ArtifactVerdict::Match);

        // A mismatch elsewhere outranks the gap.
        let runs = [
            run(1, 20, "h1", &[("a", Some(1)), ("b", Some(5))]),
            run(2, 21, "h2", &[("a", None), ("b", Some(6))]),
            run(3, 22, "h3", &[("b", Some(5))]),
        ];
        assert_eq!(report(&runs, &[]).verdict, Verdict::Disagree);

        // No artifacts at all, or too few runs: inconclusive.
        let empty = [
            run(1, 20, "h1", &[]),
            run(2, 21, "h2", &[]),
            run(3, 22, "h3", &[]),
        ];
        assert_eq!(report(&empty, &[]).verdict, Verdict::Inconclusive);
        let two = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(1))]),
        ];
        let r = report(&two, &[]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert!(r.reasons[0].contains("--min-runs"));
        // The same run twice counts once.
        let same = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(1, 20, "h1", &[("a", Some(1))]),
            run(3, 22, "h3", &[("a", Some(1))]),
        ];
        assert_eq!(report(&same, &[]).verdict, Verdict::Inconclusive);
    }

    /// Three identical runs of a list `sums` signed by `sums.sig`, whose signature record in
    /// each run is made by `signature` (run number → record, None for no record).
    fn signed_runs(signature: impl Fn(u8) -> Option<serde_json::Value>) -> Vec<Transcript> {
        (1..=3)
            .map(|n| {
                let mut t = run(
                    n,
                    19 + u32::from(n),
                    &format!("h{n}"),
                    &[("sums", Some(1)), ("sums.sig", Some(2))],
                );
                t.artifacts[0].signature = signature(n).map(|v| serde_json::from_value(v).unwrap());
                t
            })
            .collect()
    }

    fn signature_record(outcome: &str, signer: &str) -> serde_json::Value {
        serde_json::json!({
            "signature": "sums.sig", "signature_sha256": "00".repeat(32),
            "signed_by": {"artifact": "key", "fingerprint": null, "key_file_sha256": null},
            "checks": [{"outcome": outcome, "signer": signer, "key": signer,
                        "created_at": null, "hash": "SHA256", "detail": "why"}],
            "unchecked": null,
        })
    }

    #[test]
    fn a_signature_stands_beside_the_verdict_and_can_only_take_agreement_away() {
        let valid = signed_runs(|_| Some(signature_record("valid", "AA")));
        let r = report(&valid, &[]);
        assert_eq!(r.verdict, Verdict::Agree, "{:?}", r.reasons);
        let v = &r.artifacts[0].vouches[0];
        assert_eq!(
            (v.status, &v.signers[..]),
            (VouchStatus::Holds, &["AA".to_owned()][..])
        );
        assert!(
            v.summary
                .starts_with("signed (sums.sig) by AA (keys from key"),
            "{}",
            v.summary
        );

        // One run's signature is bad: the same bytes everywhere, and still no agreement.
        let bad =
            signed_runs(|n| Some(signature_record(if n == 2 { "bad" } else { "valid" }, "AA")));
        let r = report(&bad, &[]);
        assert_eq!(r.verdict, Verdict::Disagree);
        assert!(
            r.reasons
                .iter()
                .any(|x| x.contains("run #2: signature 1 is bad")),
            "{:?}",
            r.reasons
        );

        // The runs' valid signatures are by different certificates.
        let two =
            signed_runs(|n| Some(signature_record("valid", if n == 3 { "BB" } else { "AA" })));
        let r = report(&two, &[]);
        assert_eq!(r.verdict, Verdict::Disagree);
        assert!(
            r.reasons
                .iter()
                .any(|x| x.contains("by different certificates: AA, BB")),
            "{:?}",
            r.reasons
        );

        // One run pinned the certificate (another plan, let in with --allow-mixed-plans),
        // the others took any key of the file: that is no agreement on who may sign.
        let mixed = signed_runs(|n| {
            let mut record = signature_record("valid", "AA");
            if n == 2 {
                record["signed_by"]["fingerprint"] = "AA".into();
            }
            Some(record)
        });
        let r = report(&mixed, &[]);
        assert_eq!(r.verdict, Verdict::Disagree);
        assert!(
            r.reasons.iter().any(|x| x.contains(
                "run #2: checked it with certificate AA of \"key\", not the keys of \"key\""
            )),
            "{:?}",
            r.reasons
        );

        // A run that did not check it (an older tofu, another plan) leaves it open.
        let unchecked = signed_runs(|n| (n != 1).then(|| signature_record("valid", "AA")));
        let r = report(&unchecked, &[]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert!(
            r.reasons
                .iter()
                .any(|x| x.contains("run #1: did not check it")),
            "{:?}",
            r.reasons
        );

        // A signature by no key given, alone, does not vouch.
        let stranger = signed_runs(|_| Some(signature_record("no-key", "")));
        assert_eq!(report(&stranger, &[]).verdict, Verdict::Disagree);

        // A run not counted (untrusted signer) takes no part.
        let mut shown =
            signed_runs(|n| Some(signature_record(if n == 3 { "bad" } else { "valid" }, "AA")));
        shown.push(shown[2].clone());
        shown[2] = signed_runs(|_| Some(signature_record("valid", "AA"))).remove(2);
        let mut inputs = trusted_inputs(&shown);
        inputs[3].signature = Signature::Untrusted { key_id: "X".into() };
        let r = compare(
            &inputs,
            &Options {
                min_runs: 3,
                require: BTreeSet::new(),
                min_gap_hours: None,
                ..Options::default()
            },
        );
        // Inconclusive for the untrusted run alone, never disagree for what it says.
        assert_eq!(r.verdict, Verdict::Inconclusive, "{:?}", r.reasons);
        assert!(
            !r.reasons.iter().any(|x| x.contains("is bad")),
            "{:?}",
            r.reasons
        );
        let cells = &r.artifacts[0].vouches[0].cells;
        assert_eq!(cells[3].as_ref().unwrap().status, VouchStatus::Contradicted);
    }

    #[test]
    fn a_skewed_clock_is_noted_not_judged() {
        let mut runs = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(1))]),
            run(3, 22, "h3", &[("a", Some(1))]),
        ];
        runs[1].vantage.exit.probes.push(tofu_record::Probe {
            url: "https://whoami.example/".into(),
            status: Some(200),
            answer: None,
            ip: None,
            country: None,
            server_date: Some("Sat, 21 Nov 2026 12:10:00 GMT".into()),
            response_at: Some(runs[1].run.started_at),
            tls: None,
            error: None,
        });
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Agree);
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        assert!(
            r.notes[0].starts_with("run #2: the local clock is 600 s behind"),
            "{:?}",
            r.notes
        );
    }

    /// An image of one linux/amd64 manifest: the top document made of `top`; with
    /// `manifest`, the manifest (and a layer) made of it; with `failed`, failed with that code
    /// after recording what it has; pulled for `platforms`; with `bottle_sha`, a Homebrew
    /// formula whose API declared that bottle digest.
    fn image(
        top: Option<u8>,
        manifest: Option<u8>,
        failed: Option<&str>,
        platforms: &[&str],
        bottle_sha: Option<u8>,
    ) -> tofu_record::Artifact {
        let digest = |b: u8| format!("sha256:{}", format!("{b:02x}").repeat(32));
        let descriptor = |b: u8| {
            serde_json::json!({
                "digest": digest(b), "size": 10, "platform": null, "annotations": {},
                "media_type": "application/vnd.oci.image.layer.v1.tar+gzip", "urls": [],
            })
        };
        let manifests: Vec<serde_json::Value> = manifest
            .into_iter()
            .map(|m| {
                serde_json::json!({
                    "platform": "linux/amd64",
                    "document": {
                        "digest": digest(m), "size": 500, "docker_content_digest": null,
                        "media_type": "application/vnd.oci.image.manifest.v1+json",
                    },
                    "config": descriptor(m + 10), "layers": [descriptor(m + 20)],
                })
            })
            .collect();
        let (content, error) = match (failed, top) {
            (Some(code), _) => (
                serde_json::Value::Null,
                serde_json::json!({"code": code, "message": "it failed"}),
            ),
            (None, Some(b)) => (
                serde_json::json!({
                    "size": 300, "sha256": format!("{b:02x}").repeat(32),
                    "sha512": format!("{b:02x}").repeat(64),
                }),
                serde_json::Value::Null,
            ),
            (None, None) => unreachable!("a complete image has a top document"),
        };
        let homebrew = bottle_sha.map(|sha| {
            serde_json::json!({
                "formula": "wget", "api_url": "https://formulae.test/api/formula/wget.json",
                "version": "1.24.5", "revision": 0, "rebuild": 0, "image_tag": "1.24.5",
                "root_url": "https://ghcr.test/v2/homebrew/core",
                "bottles": [{
                    "tag": "x86_64_linux", "sha256": format!("{sha:02x}").repeat(32),
                    "ref_name": "1.24.5.x86_64_linux", "manifest": null,
                    "file_name": "wget--1.24.5.x86_64_linux.bottle.tar.gz",
                }],
            })
        });
        serde_json::from_value(serde_json::json!({
            "id": "img", "content": content, "fetches": [], "openpgp": null,
            "oci": {
                "reference": "registry.test/x/y:1", "registry_host": "registry.test",
                "accept": "application/vnd.oci.image.index.v1+json", "token_realm": null,
                "platforms": platforms,
                "top": {
                    "digest": top.map(digest).unwrap_or_default(), "size": 300,
                    "media_type": "application/vnd.oci.image.index.v1+json",
                    "docker_content_digest": null,
                },
                "index_entries": [], "manifests": manifests, "redirect_hosts": [],
            },
            "homebrew": homebrew, "error": error, "tor_exits": [],
        }))
        .unwrap()
    }

    /// Three runs on three days, each holding one artifact.
    fn image_runs(artifacts: [tofu_record::Artifact; 3]) -> Vec<Transcript> {
        artifacts
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                let n = u8::try_from(i).unwrap() + 1;
                let mut t = run(n, 19 + u32::from(n), &format!("h{n}"), &[]);
                t.artifacts.push(a);
                t.check().unwrap();
                t
            })
            .collect()
    }

    fn status_of(runs: &[Transcript]) -> Status {
        let inputs = trusted_inputs(runs);
        let options = Options {
            require: BTreeSet::new(),
            ..Options::default()
        };
        status(&inputs, &options)
    }

    #[test]
    fn a_run_that_failed_after_verifying_another_tag_disagrees() {
        let amd64 = &["linux/amd64"];
        let runs = image_runs([
            image(Some(1), Some(3), None, amd64, None),
            image(Some(1), Some(3), None, amd64, None),
            // A registry that served its own index, then a 500 on a layer.
            image(Some(2), Some(4), Some("http-status"), amd64, None),
        ]);
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Disagree, "{:?}", r.reasons);
        let a = &r.artifacts[0];
        assert_eq!(a.odd_runs, [3]);
        assert_eq!(a.level.as_deref(), Some("tag"));
        assert_eq!(a.groups[1].failed_runs, [3]);
        assert!(a.groups[1].content.is_none());
        assert!(
            r.reasons[0]
                .contains("differs at tag; odd run(s) #3 (run3.json, direct) (#3 failed later"),
            "{:?}",
            r.reasons
        );
        let advice = status_of(&runs).next_run.advice;
        assert!(
            advice
                .iter()
                .any(|l| l.contains("img: run(s) #3 disagree with the others at tag")),
            "{advice:?}"
        );
        assert!(
            advice
                .iter()
                .any(|l| l.contains("#3 failed, but only after verifying")),
            "{advice:?}"
        );
        assert!(
            !advice.iter().any(|l| l.contains("fetch it again")),
            "{advice:?}"
        );

        // The genuine index, then the same 500: a gap, not a difference, and status says to
        // fetch it again.
        let runs = image_runs([
            image(Some(1), Some(3), None, amd64, None),
            image(Some(1), Some(3), None, amd64, None),
            image(Some(1), Some(3), Some("http-status"), amd64, None),
        ]);
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Inconclusive, "{:?}", r.reasons);
        assert_eq!(r.artifacts[0].verdict, ArtifactVerdict::Missing);
        assert_eq!(r.artifacts[0].groups[0].runs, [1, 2]);
        assert_eq!(r.artifacts[0].groups[0].failed_runs, [3]);
        let advice = status_of(&runs).next_run.advice;
        assert!(
            advice
                .iter()
                .any(|l| l.contains("img: absent or failed in some run; fetch it again")),
            "{advice:?}"
        );
    }

    #[test]
    fn a_failed_run_is_judged_only_on_the_levels_it_holds() {
        let amd64 = &["linux/amd64"];
        // Run 3 failed after the tag, before any manifest: it saw less, not something else.
        let runs = image_runs([
            image(Some(1), Some(3), None, amd64, None),
            image(Some(1), Some(3), None, amd64, None),
            image(Some(1), None, Some("http-status"), amd64, None),
        ]);
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Inconclusive, "{:?}", r.reasons);
        // Same tag, another manifest: the manifest is where they part.
        let runs = image_runs([
            image(Some(1), Some(3), None, amd64, None),
            image(Some(1), Some(5), Some("timeout"), amd64, None),
            image(Some(1), Some(3), None, amd64, None),
        ]);
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Disagree);
        assert_eq!(r.artifacts[0].odd_runs, [2]);
        assert_eq!(
            r.artifacts[0].level.as_deref(),
            Some("manifest linux/amd64")
        );
        // Every run failed: their facts still disagree, and the odd one is named.
        let runs = image_runs([
            image(Some(1), None, Some("http-status"), amd64, None),
            image(Some(2), None, Some("http-status"), amd64, None),
            image(Some(1), None, Some("timeout"), amd64, None),
        ]);
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Disagree);
        assert_eq!(r.artifacts[0].odd_runs, [2]);
        assert_eq!(r.artifacts[0].level.as_deref(), Some("tag"));
        // Runs whose facts share no level with the first group still differ from each
        // other: run 1 holds only what the Homebrew API declared, runs 2 and 3 two tags.
        let tags = &["x86_64_linux"];
        let runs = image_runs([
            image(None, None, Some("http-status"), tags, Some(7)),
            image(Some(1), None, Some("timeout"), tags, None),
            image(Some(2), None, Some("timeout"), tags, None),
        ]);
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Disagree, "{:?}", r.reasons);
        assert!(r.artifacts[0].odd_runs.contains(&3));
        // A run that failed before verifying anything proves nothing either way.
        let runs = image_runs([
            image(Some(1), Some(3), None, amd64, None),
            image(None, None, Some("connect"), amd64, None),
            image(Some(1), Some(3), None, amd64, None),
        ]);
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert!(
            r.artifacts[0]
                .groups
                .iter()
                .all(|g| g.failed_runs.is_empty())
        );
    }

    #[test]
    fn a_failed_run_whose_homebrew_api_named_another_bottle_disagrees() {
        let tags = &["x86_64_linux"];
        // Run 2's API named another digest; its registry then failed before the index.
        let runs = image_runs([
            image(Some(1), Some(3), None, tags, Some(7)),
            image(None, None, Some("http-status"), tags, Some(8)),
            image(Some(1), Some(3), None, tags, Some(7)),
        ]);
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Disagree, "{:?}", r.reasons);
        assert_eq!(r.artifacts[0].odd_runs, [2]);
        assert_eq!(
            r.artifacts[0].level.as_deref(),
            Some("homebrew bottle x86_64_linux")
        );
        // The same declaration, then the same failure: inconclusive.
        let runs = image_runs([
            image(Some(1), Some(3), None, tags, Some(7)),
            image(None, None, Some("http-status"), tags, Some(7)),
            image(Some(1), Some(3), None, tags, Some(7)),
        ]);
        assert_eq!(report(&runs, &[]).verdict, Verdict::Inconclusive);
    }

    #[test]
    fn runs_of_different_platform_sets_are_never_one_artifact() {
        let runs = image_runs([
            image(Some(1), Some(3), None, &["linux/amd64"], None),
            image(Some(1), Some(3), None, &["all"], None),
            image(Some(1), Some(3), None, &["linux/amd64"], None),
        ]);
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(r.artifacts[0].verdict, ArtifactVerdict::Missing);
        assert_eq!(
            r.reasons,
            [
                "img: runs pulled different platform sets: #1 linux/amd64, #2 all, \
              #3 linux/amd64; pull the same --platform in every run"
            ]
        );
        let advice = status_of(&runs).next_run.advice;
        assert!(
            advice
                .iter()
                .any(|l| l.contains("pull the same --platform")),
            "{advice:?}"
        );
        assert!(
            !advice.iter().any(|l| l.contains("fetch it again")),
            "{advice:?}"
        );
        // The order of platforms is not a difference; a differing tag still is.
        let runs = image_runs([
            image(
                Some(1),
                Some(3),
                None,
                &["linux/amd64", "linux/arm64"],
                None,
            ),
            image(
                Some(1),
                Some(3),
                None,
                &["linux/arm64", "linux/amd64"],
                None,
            ),
            image(
                Some(1),
                Some(3),
                None,
                &["linux/amd64", "linux/arm64"],
                None,
            ),
        ]);
        assert_eq!(report(&runs, &[]).verdict, Verdict::Agree);
        let runs = image_runs([
            image(Some(1), Some(3), None, &["linux/amd64"], None),
            image(Some(2), Some(3), None, &["all"], None),
            image(Some(1), Some(3), None, &["linux/amd64"], None),
        ]);
        assert_eq!(report(&runs, &[]).verdict, Verdict::Disagree);
    }

    #[test]
    fn two_dates_minutes_apart_are_not_two_days() {
        let mut runs = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(1))]),
            run(3, 23, "h3", &[("a", Some(1))]),
        ];
        runs[0].run.started_at = "2026-11-20T23:55:00Z".parse().unwrap();
        runs[1].run.started_at = "2026-11-21T00:05:00Z".parse().unwrap();
        let inputs = trusted_inputs(&runs);
        let days_only = |gap| Options {
            require: [Rule::DistinctDays].into(),
            min_gap_hours: gap,
            ..Options::default()
        };
        // The default asks for MIN_GAP_HOURS.
        let r = compare(&inputs, &days_only(Options::default().min_gap_hours));
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(r.rules[0].status, RuleStatus::Unmet);
        assert_eq!(
            r.rules[0].message,
            "runs #1 and #2 started 10 min apart (2026-11-20T23:55:00Z and \
             2026-11-21T00:05:00Z); distinct days need at least 20 h between any two runs' \
             starts (--min-gap; 0 for calendar dates only)"
        );
        // Calendar dates only (--min-gap 0): met.
        let r = compare(&inputs, &days_only(None));
        assert_eq!(r.verdict, Verdict::Agree, "{:?}", r.reasons);
        // Status says when the next run may start.
        let s = status(&inputs[..2], &days_only(Some(MIN_GAP_HOURS)));
        assert_eq!(
            s.next_run.not_before.as_deref(),
            Some("2026-11-21T20:05:00Z")
        );
    }

    #[test]
    fn a_mirror_that_completed_in_a_failed_run_counts() {
        let mut runs = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(1))]),
            run(3, 22, "h3", &[("a", None)]),
        ];
        // Run 3: its first mirror delivered other bytes, its second failed.
        let other = run(9, 22, "h9", &[("a", Some(2))]).artifacts[0].fetches[0].clone();
        let failed = runs[2].artifacts[0].fetches[0].clone();
        runs[2].artifacts[0].fetches = vec![other, failed];
        runs[2].check().unwrap();
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Disagree, "{:?}", r.reasons);
        assert_eq!(r.artifacts[0].odd_runs, [3]);
        // The same bytes from the mirror that completed: a gap only.
        let same = runs[0].artifacts[0].fetches[0].clone();
        runs[2].artifacts[0].fetches[0] = same;
        assert_eq!(report(&runs, &[]).verdict, Verdict::Inconclusive);
    }

    #[test]
    fn formulas_pulled_for_other_bottle_tags_are_inconclusive_not_different() {
        // Runs 1 and 3 asked for every bottle (two), run 2 for x86_64_linux only.
        let both = |sha: u8| {
            let mut a = image(
                Some(1),
                Some(3),
                None,
                &["arm64_sonoma", "x86_64_linux"],
                Some(sha),
            );
            let brew = a.homebrew.as_mut().unwrap();
            let mut arm = brew.bottles[0].clone();
            arm.tag = "arm64_sonoma".into();
            arm.sha256 = "09".repeat(32);
            brew.bottles.insert(0, arm);
            a
        };
        let one = |sha: u8| image(Some(1), Some(3), None, &["x86_64_linux"], Some(sha));
        let runs = image_runs([both(7), one(7), both(7)]);
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Inconclusive, "{:?}", r.reasons);
        assert_eq!(
            r.reasons,
            [
                "img: runs pulled different bottle tags: #1 arm64_sonoma+x86_64_linux, \
              #2 x86_64_linux, #3 arm64_sonoma+x86_64_linux; fetch the same \
              brew:FORMULA[@TAG] in every run"
            ]
        );
        // Another digest for the bottle both hold is still a difference.
        let runs = image_runs([both(7), one(8), both(7)]);
        let r = report(&runs, &[]);
        assert_eq!(r.verdict, Verdict::Disagree);
        assert_eq!(r.artifacts[0].odd_runs, [2]);
        assert_eq!(
            r.artifacts[0].level.as_deref(),
            Some("homebrew bottle x86_64_linux")
        );
    }

    /// A transcript's strings cannot start a line of their own in the text report or the
    /// status: a newline in an artifact id, an error message or a label is shown escaped, so
    /// no one can paint a fake verdict above the real one.
    #[test]
    fn a_hostile_newline_in_a_transcript_stays_on_its_line() {
        let fake = "x\nverdict: AGREE\r\n  - fine";
        let mut runs = [
            run(1, 20, "h1", &[("a", Some(1)), (fake, Some(2))]),
            run(2, 21, "h2", &[("a", None), (fake, Some(2))]),
            run(3, 22, "h3", &[("a", Some(1)), (fake, Some(2))]),
        ];
        runs[1].artifacts[0].error.as_mut().unwrap().message = fake.to_owned();
        runs[1].artifacts[0].fetches[0].error = runs[1].artifacts[0].error.clone();
        runs[1].run.label = Some(fake.to_owned());
        let r = report(&runs, &Rule::ALL);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        let text = render_text(&r);
        let status = render_status(&status_of(&runs));
        for out in [&text, &status] {
            let verdicts: Vec<&str> = out.lines().filter(|l| l.starts_with("verdict:")).collect();
            assert_eq!(verdicts.len(), 1, "{out}");
            assert!(verdicts[0].starts_with("verdict: INCONCLUSIVE"), "{out}");
            assert!(!out.contains('\r'), "{out}");
        }
        assert!(text.contains("x\\nverdict: AGREE\\r\\n  - fine"), "{text}");
    }

    /// What the HTML page must never hold: a script, anything it would fetch, a stylesheet
    /// or font from elsewhere.
    fn assert_self_contained(html: &str) {
        for forbidden in [
            "<script",
            "<link",
            "<iframe",
            "<img",
            "<object",
            "<embed",
            "src=\"",
            "href=\"http",
            "@import",
            "url(",
        ] {
            assert!(!html.contains(forbidden), "{forbidden} in {html}");
        }
        assert!(
            html.contains(
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
                 style-src 'unsafe-inline'; img-src data:;"
            ),
            "{html}"
        );
    }

    #[test]
    fn html_report_shows_the_verdict_each_run_the_matrix_and_the_rules() {
        let runs = [
            run(1, 20, "h1", &[("a", Some(1)), ("b", Some(5))]),
            run(2, 21, "h2", &[("a", Some(1)), ("b", None)]),
            run(3, 22, "h3", &[("a", Some(9)), ("b", Some(5))]),
        ];
        let r = report(&runs, &[Rule::DistinctDays]);
        assert_eq!(r.verdict, Verdict::Disagree);
        let html = render_html(&r);
        assert_self_contained(&html);
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.ends_with("</html>\n"), "{html}");
        assert!(html.contains("<title>tofu compare: DISAGREE</title>"));
        assert_eq!(html.matches("<h2 id=\"verdict\">").count(), 1);
        assert!(html.contains("<h2 id=\"verdict\">\u{2717} Verdict: DISAGREE</h2>"));
        // Every reason of the text report, word for word.
        for reason in &r.reasons {
            assert!(html.contains(&format!("<li>{reason}</li>")), "{reason}");
        }
        // Each run with its vantage, day and signer.
        for (i, run) in r.runs.iter().enumerate() {
            assert!(html.contains(&format!("<code>run{}.json</code>", i + 1)));
            assert!(html.contains(&format!(">{}</td>", run.started_at)));
        }
        assert_eq!(
            html.matches("\u{2713} signed by this machine (key K)</td>")
                .count(),
            3
        );
        // The matrix: a agrees in #1 and #2 (group A) and differs in #3 (group B); b is
        // missing in #2 and agrees elsewhere.
        let row = |id: &str| {
            let start = html.find(&format!("<code>{id}</code></a></th>")).unwrap();
            html[start..start + html[start..].find("</tr>").unwrap()].to_owned()
        };
        let a = row("a");
        assert_eq!(
            a.matches("<td class=\"agree\">\u{2713} agrees").count(),
            2,
            "{a}"
        );
        assert_eq!(
            a.matches("<td class=\"differ\">\u{2717} differs").count(),
            1,
            "{a}"
        );
        assert!(a.contains("differs <span class=\"badge\">B</span>"), "{a}");
        assert!(
            a.contains("MISMATCH<span class=\"detail\">odd: #3</span>"),
            "{a}"
        );
        let b = row("b");
        assert_eq!(b.matches("\u{2713} agrees").count(), 2, "{b}");
        assert!(
            b.contains("\u{2205} missing<span class=\"detail\">failed: connect</span>"),
            "{b}"
        );
        assert!(b.contains("\u{2205} MISSING"), "{b}");
        // The rules with their evidence, required or not.
        for rule in &r.rules {
            assert!(html.contains(&format!("<code>{}</code>", rule.rule)));
            assert!(html.contains(&format!("{}</td></tr>", rule.message)));
        }
        assert!(
            html.contains("<td class=\"agree\">\u{2713} met</td>"),
            "{html}"
        );
        assert_eq!(html.matches("not required").count(), 3);
        // The diff of the must-match fields, line by line.
        assert!(html.contains("<span class=\"del\">-sha256: 0101"), "{html}");
        assert!(html.contains("<span class=\"add\">+sha256: 0909"), "{html}");
        // The same report, rendered twice, is the same page.
        assert_eq!(html, render_html(&r));
    }

    #[test]
    fn html_report_marks_an_untrusted_run_not_counted() {
        let runs = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(1))]),
            run(3, 22, "h3", &[("a", Some(9))]),
        ];
        let mut inputs = trusted_inputs(&runs);
        inputs[2].signature = Signature::Untrusted {
            key_id: "F00".into(),
        };
        let r = compare(&inputs, &Options::default());
        assert_eq!(r.verdict, Verdict::Inconclusive);
        let html = render_html(&r);
        assert!(html.contains("<h2 id=\"verdict\">? Verdict: INCONCLUSIVE</h2>"));
        assert!(
            html.contains("<td class=\"uncounted\">\u{2298} not counted"),
            "{html}"
        );
        assert!(
            html.contains("\u{2298} signed by UNTRUSTED key F00 (not counted)</td>"),
            "{html}"
        );
    }

    /// Markup in any string of a transcript stays text: an artifact id, a label, an error
    /// message.
    #[test]
    fn html_report_escapes_every_transcript_string() {
        let evil = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>&amp;\n\u{1b}[2J";
        let mut runs = [
            run(1, 20, "h1", &[(evil, Some(1))]),
            run(2, 21, "h2", &[(evil, None)]),
            run(3, 22, "h3", &[(evil, Some(1))]),
        ];
        runs[1].artifacts[0].error.as_mut().unwrap().message = evil.to_owned();
        runs[1].artifacts[0].fetches[0].error = runs[1].artifacts[0].error.clone();
        runs[0].run.label = Some(evil.to_owned());
        let r = report(&runs, &[]);
        let html = render_html(&r);
        assert_self_contained(&html);
        assert!(!html.contains('\u{1b}'), "{html}");
        let shown = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&gt;&lt;img src=x \
                     onerror=alert(1)&gt;&amp;amp;\\n\\u{1b}[2J";
        // The id (matrix, article), the label, the message, and the reason naming the id.
        assert!(html.matches(shown).count() >= 5, "{html}");
        assert_eq!(html.matches("<h2 id=\"verdict\">").count(), 1);
    }

    #[test]
    fn text_report_shows_the_table_rules_and_verdict() {
        let runs = [
            run(1, 20, "h1", &[("a", Some(1))]),
            run(2, 21, "h2", &[("a", Some(1))]),
            run(3, 22, "h3", &[("a", Some(9))]),
        ];
        let text = render_text(&report(&runs, &[Rule::DistinctDays]));
        assert!(text.contains("MISMATCH  odd: #3"), "{text}");
        assert!(text.contains("distinct-days       met"), "{text}");
        assert!(text.contains("(not required)"), "{text}");
        assert!(text.contains("verdict: DISAGREE"), "{text}");
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&report(&runs, &[]))).unwrap();
        assert_eq!(json["verdict"], "disagree");
    }
}
