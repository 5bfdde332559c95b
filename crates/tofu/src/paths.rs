//! Where tofu keeps its files: `${XDG_CONFIG_HOME:-$HOME/.config}/tofu` (config, key,
//! trusted keys) and `${XDG_DATA_HOME:-$HOME/.local/share}/tofu` (the Tor client's state).

use std::path::PathBuf;

use crate::Failure;
use crate::failure::Hint;

/// tofu's config directory (not created here).
pub fn config_dir() -> Result<PathBuf, Failure> {
    xdg_dir(
        "XDG_CONFIG_HOME",
        &[".config"],
        "set HOME, or pass --key FILE",
    )
}

/// tofu's data directory, `${XDG_DATA_HOME:-$HOME/.local/share}/tofu` (not created here).
pub fn data_dir() -> Result<PathBuf, Failure> {
    xdg_dir(
        "XDG_DATA_HOME",
        &[".local", "share"],
        "set HOME, or set [tor] data_dir in the config",
    )
}

/// `$VAR/tofu` when VAR is an absolute path, else `$HOME/<under…>/tofu`.
fn xdg_dir(var: &str, under: &[&str], hint: &str) -> Result<PathBuf, Failure> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(xdg) = from_env(var).filter(|p| p.is_absolute()) {
        return Ok(xdg.join("tofu"));
    }
    if let Some(home) = from_env("HOME") {
        return Ok(under.iter().fold(home, |p, part| p.join(part)).join("tofu"));
    }
    Err(anyhow::anyhow!("neither {var} nor HOME is set")).hint(hint)
}

/// The default signing key's file name in the config directory.
pub const SIGNING_KEY: &str = "signing.key";

/// The default signing key.
pub fn default_key() -> Result<PathBuf, Failure> {
    Ok(config_dir()?.join(SIGNING_KEY))
}

/// The trusted-keys store: other operators' public keys, by name (`tofu trust`).
pub fn trusted_keys(config_dir: &std::path::Path) -> PathBuf {
    config_dir.join("trusted-keys")
}
