//! `tofu fetch`: targets → one transport → a transcript, written atomically and signed off.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow};
use chrono::Utc;
use tofu_fetch::oci::{Platforms, Reference};
use tofu_fetch::tor::{Geoip, TorOptions};
use tofu_fetch::{BrewTarget, Client, ClientOptions, FetchOptions, SpeedLimit, Via};
use tofu_record::key::SigningKey;
use tofu_record::redact::redact_url;
use tofu_record::{Host, PlanRef, Run, Signer, Tool, Transcript, Vantage, io, sign};
use url::Url;

use crate::cli::FetchArgs;
use crate::plan::{Source, Target};
use crate::{Exit, Failure, output, paths};

pub fn run(args: FetchArgs, config_path: Option<&Path>) -> Result<Exit, Failure> {
    let config = crate::config::load(config_path)?;
    let (targets, plan) = match &args.plan {
        Some(path) => {
            let plan = crate::plan::load(path).map_err(|e| {
                Failure::new(
                    anyhow!("{e}"),
                    "configs/ holds working plans to start from".to_owned(),
                )
            })?;
            let targets = plan.artifacts.clone();
            let plan_ref = PlanRef {
                name: plan.name.clone(),
                sha256: plan.sha256.clone(),
            };
            (targets, Some(plan_ref))
        }
        None => (
            parse_targets(&args.targets, &parse_platforms(&args.platforms)?)?,
            None,
        ),
    };
    for target in &targets {
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
    // The same ISO 3166-1 check as tor:CC and the exit probes: a made-up code (XX, EU) is
    // refused, not recorded.
    let claimed_country = match &args.country {
        Some(cc) if tofu_record::evidence::is_country_code(cc) => Some(cc.to_ascii_uppercase()),
        Some(cc) => {
            return Err(Failure::new(
                anyhow!("--country {cc:?} is not an ISO 3166-1 alpha-2 country code"),
                "use an ISO 3166-1 alpha-2 code such as DE, CA or JP".to_owned(),
            ));
        }
        None => None,
    };
    let whoami = whoami_endpoints(&args, &config)?;
    let homebrew_api = Url::parse(&format!("{}/", config.homebrew.api.trim_end_matches('/')))
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            Failure::new(
                anyhow!(
                    "[homebrew] api {:?} is not an http(s) URL",
                    config.homebrew.api
                ),
                None,
            )
        })?;
    let sig_path = sign::signature_path(&args.output);
    if !args.force {
        for p in [&args.output, &sig_path] {
            if p.exists() {
                return Err(Failure::new(
                    anyhow!("{} already exists", p.display()),
                    "give another --output (one transcript per run), or pass --force to \
                     replace it"
                        .to_owned(),
                ));
            }
        }
    }
    let via: Via = args.via.parse().map_err(|e| {
        Failure::new(
            anyhow!("--via: {e}"),
            "use direct, socks5h://HOST:PORT, socks5h://USER:PASS@HOST:PORT, iface:NAME, tor, \
             or tor:CC with an ISO 3166-1 country code such as tor:DE"
                .to_owned(),
        )
    })?;
    for warning in via.warnings() {
        output::warn(&warning);
    }
    let signing_key = load_or_create_key(args.key.as_deref())?;
    let config_dir = paths::config_dir()?;
    let fingerprint = tofu_record::host::fingerprint(&config_dir).map_err(|e| {
        Failure::new(
            e,
            "check that tofu's config directory is writable".to_owned(),
        )
    })?;

    let mut ca_certs = config.fetch.ca_certs.clone();
    ca_certs.extend(args.ca_certs.iter().cloned());
    let client_options = ClientOptions {
        connect_timeout: Duration::from_secs(
            args.connect_timeout
                .unwrap_or(config.fetch.connect_timeout_secs),
        ),
        read_timeout: Duration::from_secs(
            args.read_timeout.unwrap_or(config.fetch.read_timeout_secs),
        ),
        speed_limit: SpeedLimit {
            bytes_per_sec: args.speed_limit.unwrap_or(config.fetch.speed_limit),
            window: Duration::from_secs(
                args.speed_time
                    .unwrap_or(config.fetch.speed_time_secs)
                    .max(1),
            ),
        },
        ca_certs,
    };
    let tor_options = match via {
        Via::Tor { .. } => Some(tor_options(&config.tor)?),
        _ => None,
    };
    if let Some(dir) = &args.keep {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --keep directory {}", dir.display()))?;
    }
    let options = FetchOptions {
        max_size: args.max_size.unwrap_or(config.fetch.max_size),
        keep_dir: args.keep.clone(),
    };

    let started_at = Utc::now();
    // Tor relays' cryptography and the downloads' TLS share the runtime: give it both cores.
    let runtime = if matches!(via, Via::Tor { .. }) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .context("cannot start the async runtime")?;
    let (client, exit, artifacts) = runtime.block_on(async {
        let client = Client::connect(via, &client_options, tor_options, output::note)
            .await
            .map_err(transport_failure)?;
        let exit = client.probe_exit(&whoami).await;
        report_exit(&exit, whoami.is_empty());
        let mut artifacts = Vec::new();
        for (index, target) in targets.iter().enumerate() {
            output::note(&format!("fetching {} via {}", target.id, client.via()));
            // Each artifact's streams are isolated from every other's (over Tor: their own
            // circuits).
            let client = client
                .isolated(&format!("artifact-{index}"))
                .map_err(transport_failure)?;
            let mut artifact = match &target.source {
                Source::Urls(urls) => {
                    client
                        .fetch_artifact(target.id.clone(), urls, &options)
                        .await
                }
                Source::Oci(reference, platforms) => {
                    client
                        .fetch_oci(target.id.clone(), reference, platforms, &options)
                        .await
                }
                Source::Homebrew(brew) => {
                    client
                        .fetch_homebrew(target.id.clone(), brew, &homebrew_api, &options)
                        .await
                }
            };
            artifact.tor_exits = client.tor_exits();
            if let Some(error) = &mut artifact.error
                && error.code == tofu_record::ErrorCode::Connect
            {
                let reasons = client.tor_errors();
                if !reasons.is_empty() {
                    error.message = format!("{} (Tor: {})", error.message, reasons.join("; "));
                }
            }
            for reason in client.tor_retries() {
                output::note(&format!(
                    "  Tor: a stream moved to a new circuit ({reason})"
                ));
            }
            for exit in &artifact.tor_exits {
                output::note(&format!("  Tor exit: {}", describe_relay(exit)));
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
                (_, Some(e)) => output::note(&format!("  FAILED ({}): {}", e.code, e.message)),
                (None, None) => {}
            }
            artifacts.push(artifact);
        }
        Ok::<_, Failure>((client, exit, artifacts))
    })?;
    let finished_at = Utc::now();

    let transcript = Transcript {
        format: tofu_record::FORMAT.to_owned(),
        tool: Tool {
            name: "tofu".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        run: Run {
            id: tofu_record::new_run_id().context("cannot read random bytes")?,
            label: args.label.clone(),
            started_at,
            finished_at,
            host: Host {
                os: std::env::consts::OS.to_owned(),
                arch: std::env::consts::ARCH.to_owned(),
                fingerprint,
            },
        },
        plan,
        vantage: Vantage {
            transport: client.record(),
            extra_roots: client.extra_roots().to_vec(),
            exit,
            claimed_country,
        },
        signer: Signer {
            public_key: signing_key.public().to_base64(),
            key_id: signing_key.key_id(),
        },
        artifacts,
    };
    // A transcript we cannot read back is a bug; refuse to sign it.
    transcript
        .check()
        .map_err(|e| anyhow!("internal error: the transcript is invalid: {}", e.0))?;
    let bytes = io::to_canonical_json(&transcript);
    io::write_atomic(&args.output, &bytes, args.force).map_err(|e| Failure::new(e, None))?;
    sign::sign_file(&signing_key, &transcript, &args.output, &bytes, args.force)
        .map_err(|e| Failure::new(e, None))?;

    let failed = transcript
        .artifacts
        .iter()
        .filter(|a| a.error.is_some())
        .count();
    output::note(&format!(
        "wrote {} and {} (signed by key {}); {} of {} target(s) fetched",
        args.output.display(),
        sig_path.display(),
        signing_key.key_id(),
        transcript.artifacts.len() - failed,
        transcript.artifacts.len()
    ));
    Ok(if failed == 0 {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// The embedded Tor client's settings from `[tor]`.
fn tor_options(config: &crate::config::TorConfig) -> Result<TorOptions, Failure> {
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
        (v4, v6) => Geoip::from_files(v4, v6).map_err(|e| {
            Failure::new(
                e,
                "[tor] geoip_ipv4 / geoip_ipv6 name C tor's geoip files; leave them empty for \
                 the database built into tofu"
                    .to_owned(),
            )
        })?,
    };
    Ok(TorOptions {
        state_dir: data_dir.join("state"),
        cache_dir: data_dir.join("cache"),
        arti: config.arti.clone(),
        geoip,
        bootstrap_timeout: Duration::from_secs(config.bootstrap_timeout_secs),
        // Both set by Client::connect, from --via and the run's connect timeout.
        exit_country: None,
        connect_timeout: Duration::ZERO,
    })
}

/// A transport that cannot be set up, with what to do about it.
fn transport_failure(e: tofu_fetch::TransportError) -> Failure {
    use tofu_fetch::tor::TorError;
    let hint = match &e {
        tofu_fetch::TransportError::Tor(TorError::Bootstrap(_)) => Some(
            "check that this machine can reach the Tor network (or the network named in \
             [tor.arti]); raise [tor] bootstrap_timeout_secs on a slow link"
                .to_owned(),
        ),
        tofu_fetch::TransportError::Tor(TorError::State { dir, .. }) => Some(format!(
            "move {} away (or set another [tor] data_dir): tofu starts a fresh one; nothing \
             in it is needed but the guard choices",
            dir.display()
        )),
        tofu_fetch::TransportError::Tor(TorError::Permissions { dir, .. }) => Some(format!(
            "make {} and every directory above it writable by you alone (chmod go-w), or set \
             another [tor] data_dir",
            dir.display()
        )),
        tofu_fetch::TransportError::Tor(TorError::NoExitIn { .. }) => {
            Some("choose another country, or use --via tor for any exit".to_owned())
        }
        tofu_fetch::TransportError::Tor(TorError::Config(_)) => {
            Some("[tor.arti] takes arti's own settings, as in an arti.toml".to_owned())
        }
        _ => None,
    };
    Failure::new(e, hint)
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
            Url::parse(raw)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or_else(|| {
                    Failure::new(
                        anyhow!("whoami endpoint {raw:?} is not an http:// or https:// URL"),
                        None,
                    )
                })
        })
        .collect()
}

/// Says on stderr what the exit probes found.
fn report_exit(exit: &tofu_record::Exit, skipped: bool) {
    if skipped {
        output::warn("no whoami endpoint asked (--no-whoami): this run records no exit evidence");
        return;
    }
    for probe in &exit.probes {
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
    if exit.conflict {
        output::warn("the exit endpoints disagree; both answers are recorded");
    }
}

/// `--platform` values: `all`, or `os/arch[/variant]` (repeatable); linux/amd64 when none.
pub(crate) fn parse_platforms(raw: &[String]) -> Result<Platforms, Failure> {
    if raw.is_empty() {
        return Ok(Platforms::default_selection());
    }
    if raw.iter().any(|p| p == "all") {
        return Ok(Platforms::All);
    }
    for p in raw {
        let parts: Vec<&str> = p.split('/').collect();
        let ok = (2..=3).contains(&parts.len())
            && parts.iter().all(|x| {
                !x.is_empty()
                    && x.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
            });
        if !ok {
            return Err(Failure::new(
                anyhow!("--platform {p:?} is not os/arch[/variant]"),
                "e.g. --platform linux/amd64, --platform linux/arm64/v8, or --platform all"
                    .to_owned(),
            ));
        }
    }
    Ok(Platforms::Only(raw.to_vec()))
}

/// Every target, parsed once: an http(s) URL is a file, anything else an image reference;
/// each at most once.
fn parse_targets(raw: &[String], platforms: &Platforms) -> Result<Vec<Target>, Failure> {
    let mut seen = BTreeSet::new();
    let mut targets = Vec::new();
    for target in raw {
        let parsed = if target.starts_with("http://") || target.starts_with("https://") {
            let url = Url::parse(target)
                .ok()
                .filter(|u| u.host_str().is_some())
                .ok_or_else(|| {
                    Failure::new(
                        anyhow!("{target:?} is not a valid URL"),
                        "give the full URL, e.g. https://tails.net/tails-signing.key".to_owned(),
                    )
                })?;
            Target {
                id: redact_url(&url),
                source: Source::Urls(vec![url]),
            }
        } else if let Some(spec) = target.strip_prefix("brew:") {
            let brew = BrewTarget::parse(spec).map_err(|e| {
                Failure::new(
                    anyhow!("{target:?}: {e}"),
                    "write brew:FORMULA or brew:FORMULA@BOTTLE_TAG, e.g. brew:wget@arm64_sonoma"
                        .to_owned(),
                )
            })?;
            Target {
                id: target.clone(),
                source: Source::Homebrew(brew),
            }
        } else {
            let reference = Reference::parse(target).map_err(|e| {
                Failure::new(
                    anyhow!("{e}"),
                    "a target is an http:// or https:// URL or an image reference such as \
                     debian:bookworm or ghcr.io/homebrew/core/wget:1.24.5"
                        .to_owned(),
                )
            })?;
            Target {
                id: reference.to_string(),
                source: Source::Oci(reference, platforms.clone()),
            }
        };
        if !seen.insert(parsed.id.clone()) {
            return Err(Failure::new(
                anyhow!("{} is given twice", parsed.id),
                "give each target once".to_owned(),
            ));
        }
        targets.push(parsed);
    }
    Ok(targets)
}

fn load_or_create_key(explicit: Option<&Path>) -> Result<SigningKey, Failure> {
    let key_hint = |e: &tofu_record::KeyError| match e {
        tofu_record::KeyError::Permissions { path, .. } => {
            Some(format!("run: chmod 600 {}", path.display()))
        }
        tofu_record::KeyError::Encrypted(_) => {
            Some("create an unencrypted key with `tofu keygen --key FILE`".to_owned())
        }
        _ => None,
    };
    if let Some(path) = explicit {
        return SigningKey::load(path).map_err(|e| {
            let hint = key_hint(&e).or_else(|| {
                Some(format!(
                    "create it with `tofu keygen --key {}`",
                    path.display()
                ))
            });
            Failure::new(e, hint)
        });
    }
    let path = paths::default_key()?;
    if path.exists() {
        return SigningKey::load(&path).map_err(|e| {
            let hint = key_hint(&e);
            Failure::new(e, hint)
        });
    }
    let signing_key = SigningKey::generate().map_err(|e| Failure::new(e, None))?;
    let pub_path = signing_key
        .save(&path, false)
        .map_err(|e| Failure::new(e, None))?;
    output::note(&format!(
        "created signing key {} (key id {}); share {} with whoever compares your runs",
        path.display(),
        signing_key.key_id(),
        pub_path.display()
    ));
    Ok(signing_key)
}
