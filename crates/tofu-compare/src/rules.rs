//! Diversity rules, judged only from recorded evidence. A rule without the evidence to judge
//! it is unmet, never met.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Serialize;

use tofu_record::evidence::network_prefix;
use tofu_record::{ExitScope, Transcript, Transport};

use crate::Input;

/// The exits a run left through: the addresses and countries the whoami endpoints saw
/// before and after the downloads (both, when the exit changed), and with the embedded Tor
/// client every exit relay its circuits used (the probes' and each artifact's), by the
/// relay's address and its geoip country.
#[derive(Clone, Debug, Default)]
pub(crate) struct RunExits {
    /// Exit addresses.
    pub(crate) ips: BTreeSet<String>,
    /// Their networks (/24 or /48).
    pub(crate) networks: BTreeSet<String>,
    /// Exit countries.
    pub(crate) countries: BTreeSet<String>,
    /// Why the countries are incomplete (an exit relay without a known country, a lookup
    /// without one).
    pub(crate) country_gap: Option<String>,
    /// Why networks and countries are both incomplete (one of the two lookups failed, a
    /// download through Tor without a recorded exit, an exit without a usable address).
    pub(crate) gap: Option<String>,
    /// The whoami endpoints disagreed, before or after the downloads.
    pub(crate) conflict: bool,
}

pub(crate) fn run_exits(t: &Transcript) -> RunExits {
    let mut exits = RunExits::default();
    lookup_exits(&mut exits, &t.vantage);
    interruption_exits(&mut exits, t);
    if t.vantage.exit_scope() == ExitScope::Lookups {
        // The lookups speak only for themselves: every artifact fetched must say which exit
        // carried it; one that does not leaves the run without evidence of where its bytes
        // came from.
        if let Some(a) = t
            .artifacts
            .iter()
            .find(|a| a.ok_content().is_some() && a.tor_exits.is_empty())
        {
            let why = match &t.vantage.transport {
                Transport::Tor { .. } => format!("its artifact {} records no Tor exit", a.id),
                _ => format!(
                    "its artifact {} went through a Tor daemon, whose exits are unknown \
                     without its control port (use --via tor)",
                    a.id
                ),
            };
            exits_gap(&mut exits, why);
        }
    }
    let probe_relays = match &t.vantage.transport {
        Transport::Tor {
            exits: probe_exits, ..
        } => probe_exits.as_slice(),
        _ => &[],
    };
    let relays = probe_relays
        .iter()
        .chain(t.artifacts.iter().flat_map(|a| a.tor_exits.iter()));
    for relay in relays {
        relay_exit(&mut exits, relay);
    }
    exits
}

/// What the whoami lookups saw, before and after the downloads. When only one of the two
/// answered, the exit may have moved unseen: that is a gap, not the other's word alone.
/// (Transcripts written before tofu asked twice have no lookup after, and no gap for it.)
fn lookup_exits(exits: &mut RunExits, vantage: &tofu_record::Vantage) {
    let lookups = [Some(&vantage.exit), vantage.exit_after.as_ref()];
    for lookup in lookups.into_iter().flatten() {
        exits.conflict |= lookup.conflict;
        if let Some(ip) = &lookup.ip {
            exits.ips.insert(ip.clone());
            exits.networks.extend(network_prefix(ip));
        }
        exits.countries.extend(lookup.country.clone());
    }
    let [Some(before), Some(after)] = lookups else {
        return;
    };
    if before.conflict || after.conflict {
        return;
    }
    for (when, this, other) in [("after", after, before), ("before", before, after)] {
        if other.ip.is_some() && this.ip.is_none() {
            exits_gap(
                exits,
                format!(
                    "its exit lookup {when} the downloads gave no address, so the exit may \
                     have changed unseen"
                ),
            );
        }
        if other.country.is_some() && this.country.is_none() {
            exits.country_gap.get_or_insert_with(|| {
                format!(
                    "its exit lookup {when} the downloads gave no country, so the exit may \
                     have changed unseen"
                )
            });
        }
    }
}

/// A run continued after an interruption (`tofu fetch --resume`) may have continued from
/// another network: each continuation's lookup is one more exit of the run, and one that
/// gave no answer, where the first lookup did, leaves the exit unknown for the rest.
fn interruption_exits(exits: &mut RunExits, t: &Transcript) {
    for interruption in &t.run.interruptions {
        let lookup = &interruption.exit;
        exits.conflict |= lookup.conflict;
        if let Some(ip) = &lookup.ip {
            exits.ips.insert(ip.clone());
            exits.networks.extend(network_prefix(ip));
        } else if t.vantage.exit.ip.is_some() && !lookup.conflict {
            exits_gap(
                exits,
                "its exit lookup when it was continued after an interruption gave no address, \
                 so the rest of the run may have left elsewhere"
                    .to_owned(),
            );
        }
        if let Some(country) = &lookup.country {
            exits.countries.insert(country.clone());
        } else if t.vantage.exit.country.is_some() && !lookup.conflict {
            exits.country_gap.get_or_insert_with(|| {
                "its exit lookup when it was continued after an interruption gave no \
                 country"
                    .to_owned()
            });
        }
    }
}

/// One Tor exit relay: its address's network and its geoip country.
fn relay_exit(exits: &mut RunExits, relay: &tofu_record::TorRelay) {
    let ip = relay
        .addresses
        .first()
        .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
        .map(|a| a.ip().to_string());
    match ip.as_deref().and_then(network_prefix) {
        Some(network) => {
            exits.networks.insert(network);
            exits.ips.extend(ip);
        }
        None => exits_gap(
            exits,
            format!(
                "its exit relay ${} has no usable address",
                relay.rsa_identity
            ),
        ),
    }
    match &relay.country {
        Some(cc) => {
            exits.countries.insert(cc.clone());
        }
        None => {
            exits.country_gap.get_or_insert_with(|| {
                format!(
                    "its exit relay ${} has no known country",
                    relay.rsa_identity
                )
            });
        }
    }
}

fn exits_gap(exits: &mut RunExits, why: String) {
    exits.gap.get_or_insert(why);
}

/// A diversity rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Every run started on a different UTC date.
    DistinctDays,
    /// Every run came from a different host (by host fingerprint).
    DistinctHosts,
    /// Every run left from a different network (observed exit IP prefix).
    DistinctNetworks,
    /// Every run left from a different country (observed).
    DistinctCountries,
}

impl Rule {
    /// Every rule, in the order reports show them.
    pub const ALL: [Rule; 4] = [
        Rule::DistinctDays,
        Rule::DistinctHosts,
        Rule::DistinctNetworks,
        Rule::DistinctCountries,
    ];

    /// The kebab-case name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Rule::DistinctDays => "distinct-days",
            Rule::DistinctHosts => "distinct-hosts",
            Rule::DistinctNetworks => "distinct-networks",
            Rule::DistinctCountries => "distinct-countries",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Rule {
    type Err = String;

    fn from_str(s: &str) -> Result<Rule, String> {
        Rule::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown rule {s:?}; the rules are {}, or none",
                    Rule::ALL.map(Rule::name).join(", ")
                )
            })
    }
}

/// Whether a rule holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RuleStatus {
    /// The evidence shows it holds.
    Met,
    /// The evidence shows it does not hold.
    Unmet,
    /// The transcripts lack the evidence to judge it; counts as unmet.
    NoEvidence,
}

/// The judgement of one rule.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct RuleReport {
    /// The rule.
    pub rule: Rule,
    /// Whether the verdict depends on it.
    pub required: bool,
    /// The judgement.
    pub status: RuleStatus,
    /// What the evidence shows: which runs share which value, or what is missing.
    pub message: String,
}

/// Judges every rule over the runs that count, each given with its number in the report.
pub(crate) fn judge(
    inputs: &[(usize, &Input<'_>)],
    required: &BTreeSet<Rule>,
    min_gap_hours: Option<f64>,
) -> Vec<RuleReport> {
    Rule::ALL
        .into_iter()
        .map(|rule| {
            let (status, message) = match rule {
                Rule::DistinctDays => {
                    let judged = distinct(inputs, "UTC date", |i| {
                        Ok(i.transcript.run.started_at.date_naive().to_string())
                    });
                    match (judged.0, min_gap_hours) {
                        (RuleStatus::Met, Some(gap)) => min_gap(inputs, gap),
                        _ => judged,
                    }
                }
                Rule::DistinctHosts => distinct(inputs, "host fingerprint", |i| {
                    Ok(i.transcript.run.host.fingerprint.clone())
                }),
                Rule::DistinctNetworks => distinct_sets(inputs, "exit network", |i| {
                    let exits = run_exits(i.transcript);
                    exits_usable(inputs, i, &exits)?;
                    if let Some(gap) = exits.gap {
                        return Err(gap);
                    }
                    if exits.networks.is_empty() {
                        return Err(match &i.transcript.vantage.exit.ip {
                            Some(ip) => format!("its exit address {ip:?} is not an IP"),
                            None => "it records no observed exit address".to_owned(),
                        });
                    }
                    Ok(exits.networks)
                }),
                Rule::DistinctCountries => distinct_sets(inputs, "exit country", |i| {
                    let exits = run_exits(i.transcript);
                    exits_usable(inputs, i, &exits)?;
                    if let Some(gap) = exits.gap.or(exits.country_gap) {
                        return Err(gap);
                    }
                    if exits.countries.is_empty() {
                        return Err("it records no observed exit country".to_owned());
                    }
                    Ok(exits.countries)
                }),
            };
            RuleReport {
                rule,
                required: required.contains(&rule),
                status,
                message,
            }
        })
        .collect()
}

/// Whether a run's exit evidence can count at all: not when its endpoints disagree, nor
/// when a lookup went through a `--ca-cert` root no other run's lookup saw (whoever holds
/// that root could have answered the lookup).
fn exits_usable(
    inputs: &[(usize, &Input<'_>)],
    input: &Input<'_>,
    exits: &RunExits,
) -> Result<(), String> {
    if exits.conflict {
        return Err("its exit endpoints disagree".to_owned());
    }
    match crate::anchors::unverified_exit(inputs, input.transcript) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// Met when every two runs started at least `hours` apart (checked between neighbours in
/// time, which is every pair); unmet names each pair too close, their starts and gap.
fn min_gap(inputs: &[(usize, &Input<'_>)], hours: f64) -> (RuleStatus, String) {
    let mut starts: Vec<(chrono::DateTime<chrono::Utc>, usize)> = inputs
        .iter()
        .map(|(run, input)| (input.transcript.run.started_at, *run))
        .collect();
    starts.sort();
    let at =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let too_close: Vec<String> = starts
        .windows(2)
        .filter_map(|w| {
            let seconds = (w[1].0 - w[0].0).num_seconds();
            (seconds as f64 / 3600.0 < hours).then(|| {
                format!(
                    "runs #{} and #{} started {} apart ({} and {})",
                    w[0].1,
                    w[1].1,
                    span(seconds),
                    at(w[0].0),
                    at(w[1].0)
                )
            })
        })
        .collect();
    if too_close.is_empty() {
        (
            RuleStatus::Met,
            format!("every run has its own UTC date, each at least {hours} h after the previous"),
        )
    } else {
        (
            RuleStatus::Unmet,
            format!(
                "{}; distinct days need at least {hours} h between any two runs' starts \
                 (--min-gap; 0 for calendar dates only)",
                too_close.join("; ")
            ),
        )
    }
}

/// A gap for people: `10 min` under an hour, else hours to a tenth (`23.5 h`).
fn span(seconds: i64) -> String {
    if seconds < 3600 {
        format!("{} min", seconds / 60)
    } else {
        format!("{:.1} h", seconds as f64 / 3600.0)
    }
}

/// Met when every run has a value and no two runs share one.
fn distinct(
    inputs: &[(usize, &Input<'_>)],
    what: &str,
    value: impl Fn(&Input<'_>) -> Result<String, String>,
) -> (RuleStatus, String) {
    distinct_sets(inputs, what, |i| value(i).map(|v| BTreeSet::from([v])))
}

/// Met when every run has at least one value and no value belongs to two runs (a Tor run
/// may have left through several exits).
fn distinct_sets(
    inputs: &[(usize, &Input<'_>)],
    what: &str,
    values: impl Fn(&Input<'_>) -> Result<BTreeSet<String>, String>,
) -> (RuleStatus, String) {
    let mut by_value: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut missing = Vec::new();
    for (run, input) in inputs {
        match values(input) {
            Ok(set) => {
                for v in set {
                    by_value.entry(v).or_default().push(*run);
                }
            }
            Err(why) => missing.push(format!("run #{run}: {why}")),
        }
    }
    if !missing.is_empty() {
        return (RuleStatus::NoEvidence, missing.join("; "));
    }
    let shared: Vec<String> = by_value
        .iter()
        .filter(|(_, runs)| runs.len() > 1)
        .map(|(v, runs)| {
            let runs: Vec<String> = runs.iter().map(|r| format!("#{r}")).collect();
            format!("runs {} share the {what} {v}", runs.join(", "))
        })
        .collect();
    if shared.is_empty() {
        (RuleStatus::Met, format!("every run has its own {what}"))
    } else {
        (RuleStatus::Unmet, shared.join("; "))
    }
}
