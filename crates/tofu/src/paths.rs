//! Where tofu keeps its files: `${XDG_CONFIG_HOME:-$HOME/.config}/tofu` (config, key) and
//! `${XDG_DATA_HOME:-$HOME/.local/share}/tofu` (the Tor client's state).

use std::path::PathBuf;

use crate::Failure;

/// tofu's config directory (not created here).
pub fn config_dir() -> Result<PathBuf, Failure> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(xdg) = from_env("XDG_CONFIG_HOME").filter(|p| p.is_absolute()) {
        return Ok(xdg.join("tofu"));
    }
    if let Some(home) = from_env("HOME") {
        return Ok(home.join(".config").join("tofu"));
    }
    Err(Failure::new(
        anyhow::anyhow!("neither XDG_CONFIG_HOME nor HOME is set"),
        "set HOME, or pass --key FILE".to_owned(),
    ))
}

/// tofu's data directory, `${XDG_DATA_HOME:-$HOME/.local/share}/tofu` (not created here).
pub fn data_dir() -> Result<PathBuf, Failure> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(xdg) = from_env("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Ok(xdg.join("tofu"));
    }
    if let Some(home) = from_env("HOME") {
        return Ok(home.join(".local").join("share").join("tofu"));
    }
    Err(Failure::new(
        anyhow::anyhow!("neither XDG_DATA_HOME nor HOME is set"),
        "set HOME, or set [tor] data_dir in the config".to_owned(),
    ))
}

/// The default signing key.
pub fn default_key() -> Result<PathBuf, Failure> {
    Ok(config_dir()?.join("signing.key"))
}
