//! `tofu trust add|list|remove`: the operators whose runs count, kept in the trusted-keys
//! store of the config directory; and the trust that `verify`, `compare` and `status` judge
//! under: this machine's own key, the store, and `--trusted-key` for one call.

use std::path::{Path, PathBuf};

use tofu_compare::Trust;
use tofu_record::key::{self, PublicKey};
use tofu_record::trusted::TrustedKeys;

use crate::cli::{TrustAction, TrustArgs};
use crate::documents::{Change, TrustChange, TrustList, TrustedKey};
use crate::failure::Hint;
use crate::{ExitCode, Failure, output, paths};

/// How this machine's own key is shown when it was not added under a name.
pub const OWN_KEY: &str = "this machine";

pub fn run(args: TrustArgs) -> Result<ExitCode, Failure> {
    let dir = paths::config_dir()?;
    let store_path = paths::trusted_keys(&dir);
    let mut store = TrustedKeys::load(&store_path)?;
    match args.action {
        TrustAction::Add { name, key, json } => {
            let key = parse_key(&key)?;
            let key_id = key::key_id(&key);
            let public_key = key.to_base64();
            store.add(&name, key)?;
            store.save(&store_path)?;
            if json {
                crate::documents::print(&TrustChange {
                    change: Change::Added,
                    name: name.clone(),
                    key_id: key_id.clone(),
                    public_key,
                });
            }
            output::note(&format!(
                "trusted {name}: key {key_id}; runs it signed now count"
            ));
        }
        TrustAction::Remove { name, json } => {
            let removed = store.remove(&name)?;
            store.save(&store_path)?;
            if json {
                crate::documents::print(&TrustChange {
                    change: Change::Removed,
                    name: name.clone(),
                    key_id: removed.key_id(),
                    public_key: removed.key.to_base64(),
                });
            }
            output::note(&format!(
                "no longer trusted: {name} (key {}); runs it signed are shown, not counted",
                removed.key_id()
            ));
        }
        TrustAction::List { json } => list(&store, own_key(&dir)?, json),
    }
    Ok(ExitCode::Success)
}

/// A public key given as a file (minisign `.pub`, or one base64 line), or as the base64 key
/// itself when no such file exists.
fn parse_key(given: &str) -> Result<PublicKey, Failure> {
    let path = Path::new(given);
    if path.exists() {
        return Ok(key::load_public_key(path)?);
    }
    key::parse_public_key(given)
        .map_err(|_| anyhow::anyhow!("{given:?} is neither a file nor a minisign public key"))
        .hint("give the operator's signing.pub file, or the base64 line in it")
}

/// Prints the trusted keys: this machine's own first when it has no name in the store.
fn list(store: &TrustedKeys, own: Option<PublicKey>, json: bool) {
    let mut listed: Vec<TrustedKey> = Vec::new();
    if let Some(own) = own.as_ref().filter(|k| store.name_of(k).is_none()) {
        listed.push(TrustedKey {
            name: OWN_KEY.to_owned(),
            key_id: key::key_id(own),
            public_key: own.to_base64(),
            own: true,
        });
    }
    listed.extend(store.keys().map(|k| TrustedKey {
        name: k.name.clone(),
        key_id: k.key_id(),
        public_key: k.key.to_base64(),
        own: own.as_ref() == Some(&k.key),
    }));
    if json {
        crate::documents::print(&TrustList { keys: listed });
        return;
    }
    if listed.is_empty() {
        output::note("no trusted keys yet; add an operator's with `tofu trust add NAME KEY.pub`");
    }
    let width = listed.iter().map(|l| l.name.len()).max().unwrap_or(0);
    let mut text = String::new();
    for l in &listed {
        let mark = if l.own { "  (this machine's key)" } else { "" };
        text.push_str(&format!("{:<width$}  {}{mark}\n", l.name, l.key_id));
    }
    output::data(&text);
}

/// This machine's own public key (`signing.pub` beside the default signing key), if there
/// is one.
fn own_key(config_dir: &Path) -> Result<Option<PublicKey>, Failure> {
    let path = key::public_path_for(&config_dir.join(paths::SIGNING_KEY));
    if !path.exists() {
        return Ok(None);
    }
    // Trusted with no step, so kept to the same rule as the store: nobody else may change it.
    tofu_record::trusted::check_not_shared(&path)?;
    Ok(Some(key::load_public_key(&path)?))
}

/// The trust a judgement runs under: this machine's own key (under its name in the store, or
/// as "this machine"), every key of the store, and `extra` (`--trusted-key`) for this call.
/// Without a config directory (no HOME), only `extra` is trusted.
pub fn judgement_trust(extra: &[PathBuf], allow_unsigned: bool) -> Result<Trust, Failure> {
    let mut trust = Trust::new(allow_unsigned);
    if let Ok(dir) = paths::config_dir() {
        let store = TrustedKeys::load(&paths::trusted_keys(&dir))?;
        for k in store.keys() {
            trust.trust(&k.name, k.key.clone());
        }
        if let Some(own) = own_key(&dir)? {
            trust.trust(OWN_KEY, own);
        }
    }
    trust.trust_files(extra)?;
    Ok(trust)
}
