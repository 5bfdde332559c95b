//! `tofu fetch`: targets → one transport → a transcript, written atomically and signed off.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use tofu_fetch::oci::Platforms;
use tofu_fetch::tor::{Geoip, TorOptions};
use tofu_fetch::{
    Client, ClientOptions, FetchOptions, Fetched, Route, Source, SpeedLimit, Target, Via,
};
use tofu_record::ExitEvidence;
use tofu_record::evidence::Country;
use tofu_record::key::SigningKey;
use tofu_record::redact::{redact_text, redact_url};
use tofu_record::{
    Artifact, ExitScope, Host, PlanRef, Run, Signer, Tool, Transcript, Vantage, io, sign,
};
use url::Url;

use crate::campaign_log::RunLog;
use crate::cli::FetchArgs;
use crate::config::Config;
use crate::failure::Hint;
use crate::journal::{self, Journal};
use crate::{ExitCode, Failure, output, paths, progress};
use std::sync::Arc;

/// `tofu fetch`, ripgrep-style: resolve every argument (all checks before the network),
/// observe over the transport, assemble the transcript, write and sign it.
pub fn run(args: FetchArgs, config_path: Option<&Path>) -> Result<ExitCode, Failure> {
    if args.quiet {
        output::set_quiet();
    }
    let progress = progress::install(progress::Mode::detect(args.quiet));
    let config = crate::config::load(config_path)?;
    let resolved = resolve(&args, &config, progress)?;
    let journal = open_journal(&args, &resolved)?;
    let log = begin_log(&args, &resolved, &journal.state().run_id)?;
    let observed = observe(&resolved, &journal);
    // Whatever happened, no live line stays on the screen under what follows.
    progress::finish();
    let observed = match observed {
        Ok(observed) => observed,
        Err(e) => {
            log.ended_early();
            return Err(e);
        }
    };
    let mut transcript = assemble(&args, &resolved, observed, &journal.state())?;
    transcript.campaign = Some(log.finish(&transcript)?);
    let code = write(&args, &resolved.signing_key, &transcript)?;
    journal.remove();
    Ok(code)
}

/// The run's entry in this host's campaign log: what it fetches, from where, and its name
/// for people (the plan's, or its first target's).
fn begin_log(args: &FetchArgs, resolved: &Resolved, run_id: &str) -> Result<RunLog, Failure> {
    let name = match &resolved.plan {
        Some(plan) => plan.name.clone(),
        None => match resolved.targets.as_slice() {
            [one] => one.id.clone(),
            [first, rest @ ..] => format!("{} and {} more", first.id, rest.len()),
            [] => String::new(),
        },
    };
    let run = crate::campaign_log::Run {
        run_id: run_id.to_owned(),
        host: resolved.fingerprint.clone(),
        campaign: resolved.campaign.clone(),
        name,
        via: redact_text(&args.via),
    };
    RunLog::begin(Arc::clone(&resolved.signing_key), run, args.resume)
}

/// The run's journal: the interrupted run's, checked, with `--resume`; else a new one. A
/// journal left by an interrupted run is never overwritten by a new run.
fn open_journal(args: &FetchArgs, resolved: &Resolved) -> Result<Arc<Journal>, Failure> {
    let path = journal::path_for(&args.output);
    let key = Arc::clone(&resolved.signing_key);
    if args.resume {
        let journal = Journal::resume(path, key, &resolved.command)?;
        let state = journal.state();
        output::note(&format!(
            "continuing run {} (started {}, interrupted after {}): {} of {} target(s) done",
            state.run_id,
            state
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            state
                .saved_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            state.done.len(),
            resolved.targets.len()
        ));
        return Ok(Arc::new(journal));
    }
    if path.exists() {
        if !args.force {
            return Err(anyhow!(
                "an interrupted run left its journal at {}",
                path.display()
            ))
            .hint(format!(
                "continue that run with the same arguments and --resume, or start a new run \
                 with --force (or remove {})",
                path.display()
            ));
        }
        output::warn(&format!(
            "--force: starting a new run; the interrupted run's journal {} will be replaced",
            path.display()
        ));
    }
    let run_id = tofu_record::new_run_id().context("cannot read random bytes")?;
    Ok(Arc::new(Journal::new(
        path,
        key,
        resolved.command.clone(),
        run_id,
    )))
}

/// SHA-256 of what decides what a run fetches and how: a journal is continued only by the
/// same command.
fn command_digest(args: &FetchArgs, plan: Option<&PlanRef>) -> String {
    let described = format!(
        "{:?}\n{:?}\n{}\n{:?}\n{:?}",
        args.targets, plan, args.via, args.keep, args.platforms
    );
    tofu_record::digest::sha256_hex(described.as_bytes())
}

/// Everything a run needs, checked before anything is asked of the network.
struct Resolved {
    targets: Vec<Target>,
    /// How the plan's artifacts vouch for each other (nothing without a plan).
    vouches: crate::vouch::Vouches,
    plan: Option<PlanRef>,
    claimed_country: Option<Country>,
    whoami: Vec<Url>,
    transport: Transport,
    client_options: ClientOptions,
    fetch_options: FetchOptions,
    signing_key: Arc<SigningKey>,
    fingerprint: String,
    /// What a journal of this command is made by ([`command_digest`]).
    command: String,
    /// What the run fetches, as the campaign log groups attempts: `plan:<sha256>` or
    /// `targets:<sha256 of the target ids>`.
    campaign: String,
}

/// How the run's client is built: `--via`, with `[tor]` for the embedded Tor client.
enum Transport {
    Route(Route),
    Tor(TorOptions),
}

/// What the run saw over its transport.
struct Observed {
    client: Client,
    exit_evidence: tofu_record::ExitEvidence,
    /// The same lookups after the downloads; None when none was asked.
    exit_after: Option<tofu_record::ExitEvidence>,
    artifacts: Vec<Artifact>,
    finished_at: DateTime<Utc>,
}

/// Reads and checks every argument and setting, loads the key, and refuses to overwrite a
/// transcript: a run that cannot be recorded does not start.
fn resolve(
    args: &FetchArgs,
    config: &Config,
    progress: Option<tofu_fetch::ProgressSink>,
) -> Result<Resolved, Failure> {
    let (targets, plan, vouches) = targets(args)?;
    warn_plain_http(&targets);
    // The same ISO 3166-1 check as tor:CC and the exit probes: a made-up code (XX, EU) is
    // refused, not recorded.
    let claimed_country = match &args.country {
        Some(cc) => Some(
            Country::parse(cc)
                .ok_or_else(|| {
                    anyhow!("--country {cc:?} is not an ISO 3166-1 alpha-2 country code")
                })
                .hint("use an ISO 3166-1 alpha-2 code such as DE, CA or JP")?,
        ),
        None => None,
    };
    let whoami = whoami_endpoints(args, config)?;
    let homebrew_api =
        tofu_fetch::http_url(&format!("{}/", config.homebrew.api.trim_end_matches('/')))
            .ok_or_else(|| {
                anyhow!(
                    "[homebrew] api {:?} is not an http(s) URL",
                    redact_text(&config.homebrew.api)
                )
            })?;
    refuse_to_overwrite(args)?;
    let via: Via = args
        .via
        .parse()
        .map_err(|e: tofu_fetch::TransportError| Failure::from(e).context("--via"))?;
    for warning in via.warnings() {
        output::warn(&warning);
    }
    let transport = match via {
        Via::Tor { country } => Transport::Tor(tor_options(&config.tor, country)?),
        Via::Route(route) => Transport::Route(route),
    };
    let dns = dns_servers(&args.dns, &transport)?;
    let signing_key = load_or_create_key(args.key.as_deref())?;
    let fingerprint = tofu_record::host::fingerprint(&paths::config_dir()?)
        .hint("check that tofu's config directory is writable")?;
    if let Some(dir) = &args.keep {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --keep directory {}", dir.display()))?;
    }
    let command = command_digest(args, plan.as_ref());
    let campaign = campaign_key(&targets, plan.as_ref());
    Ok(Resolved {
        campaign,
        targets,
        vouches,
        plan,
        claimed_country,
        whoami,
        transport,
        client_options: client_options(args, config, dns),
        fetch_options: FetchOptions {
            max_size: args.max_size.unwrap_or(config.fetch.max_size),
            keep_dir: args.keep.clone(),
            homebrew_api,
            progress,
            retries: args.retries.unwrap_or(config.fetch.retries),
            ..FetchOptions::default()
        },
        signing_key: Arc::new(signing_key),
        fingerprint,
        command,
    })
}

/// What the run fetches, as the campaign log groups attempts: `plan:<sha256 of the plan>`,
/// or `targets:<sha256 of the target ids, one per line>`.
fn campaign_key(targets: &[Target], plan: Option<&PlanRef>) -> String {
    match plan {
        Some(plan) => format!("plan:{}", plan.sha256),
        None => {
            let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
            let digest = tofu_record::digest::sha256_hex(ids.join("\n").as_bytes());
            format!("targets:{digest}")
        }
    }
}

/// The targets: the plan's, or the command line's; with the plan's name and digest, and
/// how its artifacts vouch for each other.
fn targets(
    args: &FetchArgs,
) -> Result<(Vec<Target>, Option<PlanRef>, crate::vouch::Vouches), Failure> {
    let Some(path) = &args.plan else {
        let platforms = Platforms::parse(&args.platforms)?;
        let targets = parse_targets(&args.targets, &platforms)?;
        return Ok((targets, None, crate::vouch::Vouches::default()));
    };
    let plan = crate::plan::load(path).hint("configs/ holds working plans to start from")?;
    let plan_ref = PlanRef {
        name: plan.name,
        sha256: plan.sha256,
    };
    Ok((plan.artifacts, Some(plan_ref), plan.vouches))
}

/// Says which URLs are plain http: anyone on the path can alter them.
fn warn_plain_http(targets: &[Target]) {
    for target in targets {
        let Source::Urls(urls) = &target.source else {
            continue;
        };
        for url in urls.iter().filter(|u| u.scheme() == "http") {
            output::warn(&format!(
                "{} is plain http: anyone on the path can alter it; only comparing runs from \
                 different vantage points will tell",
                redact_url(url)
            ));
        }
    }
}

/// Refuses to replace a transcript or its signature unless `--force`.
fn refuse_to_overwrite(args: &FetchArgs) -> Result<(), Failure> {
    if args.force {
        return Ok(());
    }
    for p in [&args.output, &sign::signature_path(&args.output)] {
        if p.exists() {
            return Err(anyhow!("{} already exists", p.display())).hint(
                "give another --output (one transcript per run), or pass --force to replace it",
            );
        }
    }
    Ok(())
}

/// The client's limits: the command line's, else the config's.
fn client_options(args: &FetchArgs, config: &Config, dns: Vec<SocketAddr>) -> ClientOptions {
    let fetch = &config.fetch;
    let mut ca_certs = fetch.ca_certs.clone();
    ca_certs.extend(args.ca_certs.iter().cloned());
    ClientOptions {
        connect_timeout: Duration::from_secs(
            args.connect_timeout.unwrap_or(fetch.connect_timeout_secs),
        ),
        read_timeout: Duration::from_secs(args.read_timeout.unwrap_or(fetch.read_timeout_secs)),
        speed_limit: SpeedLimit {
            bytes_per_sec: args.speed_limit.unwrap_or(fetch.speed_limit),
            window: Duration::from_secs(args.speed_time.unwrap_or(fetch.speed_time_secs).max(1)),
        },
        ca_certs,
        dns,
    }
}

/// `--dns`: the resolvers asked over the interface of `--via iface:NAME`, as IP or IP:PORT.
fn dns_servers(given: &[String], transport: &Transport) -> Result<Vec<SocketAddr>, Failure> {
    if given.is_empty() {
        return Ok(Vec::new());
    }
    if !matches!(transport, Transport::Route(Route::Interface(_))) {
        return Err(anyhow!("--dns applies only to --via iface:NAME")).hint(
            "a direct run uses the system resolver; socks5h:// and tor resolve names at the \
             far end",
        );
    }
    given
        .iter()
        .map(|text| {
            let text = text.trim();
            text.parse::<IpAddr>()
                .map(|ip| SocketAddr::new(ip, 53))
                .or_else(|_| text.parse::<SocketAddr>())
                .map_err(|_| anyhow!("--dns {text:?} is not an IP address or IP:PORT"))
                .hint("give the resolver reached over the interface, e.g. --dns 10.8.0.1")
        })
        .collect()
}

/// Builds the transport, probes the exit, and fetches every target on streams of its own.
fn observe(resolved: &Resolved, journal: &Arc<Journal>) -> Result<Observed, Failure> {
    // Tor relays' cryptography and the downloads' TLS share the runtime: give it both cores.
    let runtime = match resolved.transport {
        Transport::Tor(_) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
        Transport::Route(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
    .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let options = &resolved.client_options;
        let client = match &resolved.transport {
            Transport::Tor(tor) => {
                Client::connect_tor(tor.clone(), options, progress::tor_bootstrap).await?
            }
            Transport::Route(route) => Client::connect(route.clone(), options).await?,
        };
        let lookup = client.probe_exit(&resolved.whoami).await;
        report_exit_evidence(&lookup, resolved.whoami.is_empty());
        warn_exit_scope(&client.record());
        let exit_evidence = journal_exit(journal, lookup);
        let artifacts = fetch_targets(resolved, &client, journal).await?;
        // Asked again, the same way: an exit that moved during the downloads shows, and the
        // run is then counted as leaving through both.
        let exit_after = if resolved.whoami.is_empty() {
            None
        } else {
            let after = client.probe_exit(&resolved.whoami).await;
            report_exit_after(&exit_evidence, &after);
            Some(after)
        };
        Ok(Observed {
            client,
            exit_evidence,
            exit_after,
            artifacts,
            finished_at: Utc::now(),
        })
    })
}

/// The run's exit lookup before the downloads: this one, saved in the journal; or, when
/// continuing an interrupted run, the first invocation's, with this one recorded as the
/// continuation's.
fn journal_exit(journal: &Journal, lookup: ExitEvidence) -> ExitEvidence {
    match journal.state().exit {
        Some(first) => {
            journal.update(|s| {
                s.interruptions.push(tofu_record::Interruption {
                    saved_at: s.saved_at,
                    resumed_at: Utc::now(),
                    exit: lookup,
                });
            });
            first
        }
        None => {
            journal.update(|s| s.exit = Some(lookup.clone()));
            lookup
        }
    }
}

/// Fetches every target in order, each on streams of its own; a target the interrupted run
/// had done is taken from the journal, and the one it was keeping continues from its
/// checkpoint. The journal is saved after each.
async fn fetch_targets(
    resolved: &Resolved,
    client: &Client,
    journal: &Arc<Journal>,
) -> Result<Vec<Artifact>, Failure> {
    let state = journal.state();
    let mut checker = crate::vouch::Checker::new(&resolved.vouches, journal.held());
    let mut artifacts = Vec::with_capacity(resolved.targets.len());
    for (index, target) in resolved.targets.iter().enumerate() {
        if let Some(done) = state.done.get(index) {
            if done.id != target.id {
                return Err(anyhow!("the journal's artifact {index} is not {}", target.id).into());
            }
            output::note(&format!("{}: fetched before the interruption", target.id));
            artifacts.push(done.clone());
            continue;
        }
        let mut options = resolved.fetch_options.clone();
        let sink: Arc<dyn tofu_fetch::Checkpoints> = Arc::<Journal>::clone(journal);
        options.checkpoints = Some(tofu_fetch::CheckpointSink(sink));
        if let Some((i, partial)) = &state.partial
            && *i == index
        {
            output::note(&format!(
                "{}: continuing from the {} bytes kept before the interruption",
                target.id, partial.offset
            ));
            options.resume_from = Some(partial.clone());
        }
        let (watch, pending) = checker.watch(&target.id);
        options.watch = watch;
        output::note(&format!("fetching {} via {}", target.id, client.via()));
        // Each target's streams are isolated from every other's (over Tor: their own
        // circuits, and so their own exits in the transcript).
        let mut fetched = client
            .isolated(&format!("artifact-{index}"))?
            .fetch(target, &options)
            .await;
        let held = checker.record(&mut fetched, pending);
        report_artifact(&fetched);
        journal.done(fetched.artifact.clone(), held);
        artifacts.push(fetched.artifact);
    }
    Ok(artifacts)
}

/// Says on stderr how one target went: Tor's retries and exits, then the outcome.
fn report_artifact(fetched: &Fetched) {
    for reason in &fetched.tor.retries {
        output::note(&format!(
            "  Tor: a stream moved to a new circuit ({reason})"
        ));
    }
    let artifact = &fetched.artifact;
    for relay in &artifact.tor_exits {
        output::note(&format!("  Tor exit: {}", describe_relay(relay)));
    }
    let kept: Vec<&str> = artifact
        .fetches
        .iter()
        .filter_map(|f| f.kept_as.as_deref())
        .collect();
    match (&artifact.content, &artifact.error) {
        (Some(c), None) => output::note(&format!(
            "  ok: {} bytes, sha256 {}{}",
            c.size,
            c.sha256,
            if kept.is_empty() {
                String::new()
            } else {
                format!(", kept as {}", kept.join(", "))
            }
        )),
        (_, Some(e)) => {
            output::failure_note(&format!("  FAILED ({}): {}", e.code, e.message));
            if output::verbose() {
                for cause in &e.causes {
                    output::failure_note(&format!("    caused by: {cause}"));
                }
            }
        }
        (None, None) => {}
    }
    for line in crate::vouch::describe(artifact) {
        match line {
            Ok(line) => output::note(&format!("  {line}")),
            Err(line) => output::failure_note(&format!("  {line}")),
        }
    }
}

/// The transcript of the run, checked: one we could not read back is a bug, never signed.
fn assemble(
    args: &FetchArgs,
    resolved: &Resolved,
    observed: Observed,
    state: &journal::State,
) -> Result<Transcript, Failure> {
    let transport = observed.client.record();
    let transcript = Transcript {
        format: tofu_record::FORMAT.to_owned(),
        tool: Tool {
            name: "tofu".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        run: Run {
            id: state.run_id.clone(),
            // A label may quote a --via with its password: never recorded.
            label: args.label.as_deref().map(tofu_record::redact::redact_words),
            started_at: state.started_at,
            finished_at: observed.finished_at,
            host: Host {
                os: std::env::consts::OS.to_owned(),
                arch: std::env::consts::ARCH.to_owned(),
                fingerprint: resolved.fingerprint.clone(),
            },
            interruptions: state.interruptions.clone(),
        },
        plan: resolved.plan.clone(),
        vantage: Vantage {
            exit_changed: tofu_record::exit_changed(
                &observed.exit_evidence,
                observed.exit_after.as_ref(),
            ),
            exit_scope: Some(ExitScope::of(&transport)),
            transport,
            extra_roots: observed.client.extra_roots().to_vec(),
            exit: observed.exit_evidence,
            exit_after: observed.exit_after,
            claimed_country: resolved
                .claimed_country
                .as_ref()
                .map(|c| c.as_str().to_owned()),
        },
        signer: Signer {
            public_key: resolved.signing_key.public().to_base64(),
            key_id: resolved.signing_key.key_id(),
        },
        artifacts: observed.artifacts,
        campaign: None,
    };
    transcript
        .check()
        .map_err(|e| anyhow!("internal error: the transcript is invalid: {}", e.0))?;
    Ok(transcript)
}

/// Writes the transcript and its signature atomically, and says how many targets failed.
fn write(
    args: &FetchArgs,
    signing_key: &SigningKey,
    transcript: &Transcript,
) -> Result<ExitCode, Failure> {
    let bytes = io::to_canonical_json(transcript);
    io::write_atomic(&args.output, &bytes, args.force).map_err(anyhow::Error::from)?;
    sign::sign_file(signing_key, transcript, &args.output, &bytes, args.force)
        .map_err(anyhow::Error::from)?;
    let summary = crate::documents::FetchSummary::new(&args.output, transcript);
    if args.json {
        crate::documents::print(&summary);
    }
    output::note(&format!(
        "wrote {} and {} (signed by key {}); {} of {} target(s) fetched{}",
        args.output.display(),
        sign::signature_path(&args.output).display(),
        signing_key.key_id(),
        summary.fetched,
        summary.artifacts.len(),
        match summary.not_vouched {
            0 => String::new(),
            n => format!("; {n} not vouched for as the plan says"),
        }
    ));
    Ok(if summary.failed == 0 && summary.not_vouched == 0 {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}

/// The embedded Tor client's settings from `[tor]`, with the exit country of `--via tor:CC`.
fn tor_options(
    config: &crate::config::TorConfig,
    exit_country: Option<Country>,
) -> Result<TorOptions, Failure> {
    let data_dir = if config.data_dir.as_os_str().is_empty() {
        paths::data_dir()?.join("tor")
    } else {
        config.data_dir.clone()
    };
    fn file(p: &Path) -> Option<&Path> {
        (!p.as_os_str().is_empty()).then_some(p)
    }
    let geoip = match (file(&config.geoip_ipv4), file(&config.geoip_ipv6)) {
        (None, None) => Geoip::embedded(),
        (v4, v6) => Geoip::from_files(v4, v6).map_err(tofu_fetch::TransportError::Tor)?,
    };
    Ok(TorOptions {
        state_dir: data_dir.join("state"),
        cache_dir: data_dir.join("cache"),
        arti: config.arti.clone(),
        geoip,
        bootstrap_timeout: Duration::from_secs(config.bootstrap_timeout_secs),
        exit_country,
    })
}

/// A Tor relay for the terminal: nickname, fingerprint, address, country.
fn describe_relay(relay: &tofu_record::TorRelay) -> String {
    format!(
        "{} ${} {} {}",
        relay.nickname.as_deref().unwrap_or("(unnamed)"),
        relay.rsa_identity,
        relay
            .addresses
            .first()
            .map(String::as_str)
            .unwrap_or("(no address)"),
        relay.country.as_deref().unwrap_or("(no country)")
    )
}

/// The "what is my IP" endpoints of this run: --whoami, else the config's list; none with
/// --no-whoami.
fn whoami_endpoints(args: &FetchArgs, config: &crate::config::Config) -> Result<Vec<Url>, Failure> {
    if args.no_whoami {
        return Ok(Vec::new());
    }
    let list = if args.whoami.is_empty() {
        &config.vantage.whoami
    } else {
        &args.whoami
    };
    list.iter()
        .map(|raw| {
            tofu_fetch::http_url(raw).ok_or_else(|| {
                anyhow!(
                    "whoami endpoint {:?} is not an http:// or https:// URL",
                    redact_text(raw)
                )
                .into()
            })
        })
        .collect()
}

/// Says on stderr what the exit probes found.
fn report_exit_evidence(evidence: &tofu_record::ExitEvidence, skipped: bool) {
    if skipped {
        output::warn("no whoami endpoint asked (--no-whoami): this run records no exit evidence");
        return;
    }
    for probe in &evidence.probes {
        match (&probe.ip, &probe.error) {
            (Some(ip), _) => output::note(&format!(
                "exit seen by {}: {ip} {}",
                probe.url,
                probe.country.as_deref().unwrap_or("(no country)")
            )),
            (None, Some(e)) => output::warn(&format!(
                "exit lookup {} failed ({}): {}; the run records no exit evidence from it",
                probe.url, e.code, e.message
            )),
            (None, None) => {}
        }
    }
    if evidence.conflict {
        output::warn("the exit endpoints disagree; both answers are recorded");
    }
}

/// Says on stderr what the lookup after the downloads found: the exit it saw when it moved,
/// or that it failed (the run's network evidence is then incomplete).
fn report_exit_after(before: &ExitEvidence, after: &ExitEvidence) {
    let seen = |e: &ExitEvidence| {
        let answers: BTreeSet<String> = e
            .probes
            .iter()
            .filter_map(|p| {
                let ip = p.ip.as_ref()?;
                Some(format!(
                    "{ip} {}",
                    p.country.as_deref().unwrap_or("(no country)")
                ))
            })
            .collect();
        answers.into_iter().collect::<Vec<_>>().join(", ")
    };
    let answered = |e: &ExitEvidence| e.probes.iter().any(|p| p.ip.is_some());
    if !answered(after) && !answered(before) {
        output::warn("the exit lookup after the downloads gave no address either");
    } else if !answered(after) {
        let why: Vec<String> = after
            .probes
            .iter()
            .filter_map(|p| {
                p.error
                    .as_ref()
                    .map(|e| format!("{}: {}", p.url, e.message))
            })
            .collect();
        output::warn(&format!(
            "the exit lookup after the downloads gave no address ({}): the exit may have \
             changed unseen, so compare counts this run's networks and countries as missing \
             evidence",
            why.join("; ")
        ));
    } else if tofu_record::exit_changed(before, Some(after)) {
        output::warn(&format!(
            "the exit changed during the run: before the downloads {}, after them {}; both \
             are recorded and the run counts as leaving through both",
            seen(before),
            seen(after)
        ));
    } else {
        output::note(&format!("exit after the downloads: {}", seen(after)));
    }
}

/// Warns when the exit lookups cannot speak for the downloads: through a Tor daemon's
/// SocksPort each download may leave through another exit, and tofu cannot see which.
fn warn_exit_scope(transport: &tofu_record::Transport) {
    if let tofu_record::Transport::Socks5 {
        tor_daemon: true, ..
    } = transport
    {
        output::warn(
            "this proxy is a Tor daemon: each download may leave through another exit than the \
             exit lookups (exit policies, new circuits), and without its control port tofu \
             cannot see which; compare counts this run's networks and countries as missing \
             evidence. Use --via tor to record each download's exit",
        );
    }
}

/// Every target, parsed once: an http(s) URL is a file, `brew:` a formula's bottles,
/// anything else an image reference; each at most once.
fn parse_targets(raw: &[String], platforms: &Platforms) -> Result<Vec<Target>, Failure> {
    let mut seen = BTreeSet::new();
    let mut targets = Vec::new();
    for target in raw {
        let parsed = Target::parse(target, platforms)?;
        if !seen.insert(parsed.id.clone()) {
            return Err(anyhow!("{} is given twice", parsed.id)).hint("give each target once");
        }
        targets.push(parsed);
    }
    Ok(targets)
}

/// The signing key: `--key FILE`, else the default one, created on first use.
fn load_or_create_key(explicit: Option<&Path>) -> Result<SigningKey, Failure> {
    if let Some(path) = explicit {
        return SigningKey::load(path).map_err(|e| {
            Failure::from(e).or_hint(format!(
                "create it with `tofu keygen --key {}`",
                path.display()
            ))
        });
    }
    let path = paths::default_key()?;
    if path.exists() {
        return Ok(SigningKey::load(&path)?);
    }
    let signing_key = SigningKey::generate()?;
    let pub_path = signing_key.save(&path, false)?;
    output::note(&format!(
        "created signing key {} (key id {}); share {} with whoever compares your runs",
        path.display(),
        signing_key.key_id(),
        pub_path.display()
    ));
    Ok(signing_key)
}
