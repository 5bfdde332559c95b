//! The config file (TOML): defaults a user sets once. `--config FILE`, else
//! `${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml` when it exists. Every key is documented
//! in configs/tofu.example.toml, which a test keeps equal to these defaults.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde::Deserialize;

use crate::failure::Hint;
use crate::{Failure, paths};

/// The whole config file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub vantage: VantageConfig,
    pub fetch: FetchConfig,
    pub homebrew: HomebrewConfig,
    pub tor: TorConfig,
}

/// `[tor]`: the embedded Tor client (`--via tor`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TorConfig {
    /// Where the client keeps its state and directory cache; empty for
    /// `${XDG_DATA_HOME:-~/.local/share}/tofu/tor`.
    pub data_dir: PathBuf,
    /// Seconds allowed for bootstrapping (reaching the network and fetching a consensus).
    pub bootstrap_timeout_secs: u64,
    /// C tor's `geoip` file (IPv4) for relay countries; empty for the database built into
    /// tofu.
    pub geoip_ipv4: PathBuf,
    /// C tor's `geoip6` file (IPv6); used together with `geoip_ipv4`.
    pub geoip_ipv6: PathBuf,
    /// arti's own settings, as in an `arti.toml`: how another Tor network (a test network,
    /// bridges) is chosen. Passed through unchanged.
    pub arti: toml::Table,
}

impl Default for TorConfig {
    fn default() -> Self {
        TorConfig {
            data_dir: PathBuf::new(),
            bootstrap_timeout_secs: 180,
            geoip_ipv4: PathBuf::new(),
            geoip_ipv6: PathBuf::new(),
            arti: toml::Table::new(),
        }
    }
}

/// `[homebrew]`: where formulas are resolved.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HomebrewConfig {
    /// The Homebrew JSON API; `brew:FORMULA` reads `<api>/formula/FORMULA.json`. The bottle
    /// registry comes from each formula's `bottle.stable.root_url`.
    pub api: String,
}

impl Default for HomebrewConfig {
    fn default() -> Self {
        // The library's default, as the config writes it: without the final slash.
        let api = tofu_fetch::FetchOptions::default().homebrew_api;
        HomebrewConfig {
            api: api.as_str().trim_end_matches('/').to_owned(),
        }
    }
}

/// `[vantage]`: how the exit address and country are observed.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VantageConfig {
    /// "What is my IP" endpoints answering JSON with `ip` and a country code, asked through
    /// the run's transport before and after the downloads; their answers must agree.
    /// `--whoami` replaces the list for one run.
    pub whoami: Vec<String>,
}

/// `[fetch]`: limits and trust.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    /// Seconds allowed to connect (TCP, proxy and TLS).
    pub connect_timeout_secs: u64,
    /// Longest pause, in seconds, between two reads of a body; a response's headers must
    /// arrive within the connect and read timeouts together.
    pub read_timeout_secs: u64,
    /// The slowest transfer accepted, in bytes a second over `speed_time_secs` (0: off).
    pub speed_limit: u64,
    /// The window of `speed_limit`, in seconds.
    pub speed_time_secs: u64,
    /// Attempts at a body after the first when its transfer drops or stalls.
    pub retries: u32,
    /// Largest body accepted, in bytes.
    pub max_size: u64,
    /// Extra trusted root certificates (PEM files), added to every run's `--ca-cert`.
    pub ca_certs: Vec<PathBuf>,
}

impl Default for VantageConfig {
    fn default() -> Self {
        VantageConfig {
            // Two operators: one endpoint alone could speak for any exit it likes.
            whoami: vec![
                "https://ifconfig.co/json".to_owned(),
                "https://ipinfo.io/json".to_owned(),
            ],
        }
    }
}

impl Default for FetchConfig {
    /// The library's defaults: one source for each, in tofu-fetch.
    fn default() -> Self {
        let client = tofu_fetch::ClientOptions::default();
        FetchConfig {
            connect_timeout_secs: client.connect_timeout.as_secs(),
            read_timeout_secs: client.read_timeout.as_secs(),
            speed_limit: client.speed_limit.bytes_per_sec,
            speed_time_secs: client.speed_limit.window.as_secs(),
            max_size: tofu_fetch::FetchOptions::default().max_size,
            retries: tofu_fetch::DEFAULT_RETRIES,
            ca_certs: Vec::new(),
        }
    }
}

/// Loads the config: an explicit file must exist; the default one may be absent.
pub fn load(explicit: Option<&Path>) -> Result<Config, Failure> {
    let (path, required) = match explicit {
        Some(p) => (p.to_owned(), true),
        None => (paths::config_dir()?.join("config.toml"), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            return Ok(Config::default());
        }
        Err(e) => return Err(anyhow!("cannot read config {}: {e}", path.display()).into()),
    };
    parse(&path, &text)
}

/// Parses config text, naming the file and line of any problem.
pub fn parse(path: &Path, text: &str) -> Result<Config, Failure> {
    toml::from_str(text)
        .map_err(|e| anyhow!("{}", crate::toml_error::describe(path, text, &e)))
        .hint("configs/tofu.example.toml lists every key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
    }

    #[test]
    fn the_example_config_documents_exactly_the_defaults() {
        let path = configs_dir().join("tofu.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = parse(&path, &text).unwrap_or_else(|f| panic!("{:#}", f.error));
        assert_eq!(parsed, Config::default());
        // Every key of the defaults appears in the example.
        for key in [
            "whoami",
            "connect_timeout_secs",
            "read_timeout_secs",
            "speed_limit",
            "speed_time_secs",
            "retries",
            "max_size",
            "ca_certs",
            "data_dir",
            "bootstrap_timeout_secs",
            "geoip_ipv4",
            "geoip_ipv6",
        ] {
            assert!(
                text.contains(&format!("\n{key} = ")),
                "{key} is not documented"
            );
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_file_and_line() {
        let err = parse(
            Path::new("c.toml"),
            "[vantage]\nwhoami = []\n[fetch]\nmax_sise = 3\n",
        )
        .unwrap_err();
        let text = format!("{:#}", err.error);
        assert!(text.starts_with("c.toml:4:"), "{text}");
        assert!(text.contains("max_sise"), "{text}");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Config-shaped TOML: the config's tables and keys (and strangers) with values of the
    /// right and wrong types.
    fn config_text() -> impl Strategy<Value = String> {
        let table = prop_oneof![
            Just("vantage"),
            Just("fetch"),
            Just("homebrew"),
            Just("tor"),
            Just("tor.arti"),
            Just("nonsense"),
        ];
        let key = prop_oneof![
            Just("whoami"),
            Just("connect_timeout_secs"),
            Just("read_timeout_secs"),
            Just("speed_limit"),
            Just("speed_time_secs"),
            Just("retries"),
            Just("max_size"),
            Just("ca_certs"),
            Just("api"),
            Just("data_dir"),
            Just("bootstrap_timeout_secs"),
            Just("geoip_ipv4"),
            Just("stranger"),
        ];
        let value = prop_oneof![
            "[0-9]{1,20}",
            Just("-1".to_owned()),
            Just("\"x\"".to_owned()),
            Just("[\"https://ifconfig.co/json\"]".to_owned()),
            Just("[]".to_owned()),
            Just("true".to_owned()),
            any::<String>().prop_map(|s| format!("{s:?}")),
        ];
        proptest::collection::vec((table, proptest::collection::vec((key, value), 0..4)), 0..4)
            .prop_map(|tables| {
                tables
                    .into_iter()
                    .map(|(t, pairs)| {
                        let body: String = pairs
                            .into_iter()
                            .map(|(k, v)| format!("{k} = {v}\n"))
                            .collect();
                        format!("[{t}]\n{body}")
                    })
                    .collect()
            })
    }

    proptest! {
        /// Any text: a config or an error that names the file (and a hint), never a panic.
        #[test]
        fn any_text_is_a_config_or_an_error_naming_the_file(text in any::<String>()) {
            if let Err(f) = parse(Path::new("c.toml"), &text) {
                let message = format!("{:#}", f.error);
                prop_assert!(message.starts_with("c.toml"), "{}", message);
            }
        }

        /// Config-shaped text: unknown keys and wrong types are errors with the file and line;
        /// what parses differs from the defaults only in keys the text names.
        #[test]
        fn config_shaped_text_is_checked_strictly(text in config_text()) {
            match parse(Path::new("c.toml"), &text) {
                Err(f) => {
                    let message = format!("{:#}", f.error);
                    prop_assert!(message.starts_with("c.toml"), "{}", message);
                }
                Ok(config) => {
                    // `[tor.arti]` is arti's, passed through and checked by arti; every
                    // other table is tofu's, and strict.
                    let mut section = "";
                    for line in text.lines() {
                        if line.starts_with('[') {
                            section = line;
                        } else if line.starts_with("stranger") {
                            prop_assert_eq!(section, "[tor.arti]", "{}", text);
                        }
                    }
                    prop_assert!(!text.contains("[nonsense]"), "{}", text);
                    if !text.contains("speed_limit") {
                        prop_assert_eq!(config.fetch.speed_limit, FetchConfig::default().speed_limit);
                    }
                    if !text.contains("max_size") {
                        prop_assert_eq!(config.fetch.max_size, FetchConfig::default().max_size);
                    }
                }
            }
        }
    }
}
