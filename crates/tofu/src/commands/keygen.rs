//! `tofu keygen`: create the signing key explicitly.

use tofu_record::key::SigningKey;

use crate::cli::KeygenArgs;
use crate::{Exit, Failure, output, paths};

pub fn run(args: KeygenArgs) -> Result<Exit, Failure> {
    let path = match args.key {
        Some(p) => p,
        None => paths::default_key()?,
    };
    let key = SigningKey::generate().map_err(|e| Failure::new(e, None))?;
    let pub_path = key.save(&path, args.force).map_err(|e| {
        let hint = matches!(e, tofu_record::KeyError::Exists(_))
            .then(|| "keep the existing key, or pass --force to replace it".to_owned());
        Failure::new(e, hint)
    })?;
    output::note(&format!(
        "created signing key {} (key id {}); public key: {}",
        path.display(),
        key.key_id(),
        pub_path.display()
    ));
    Ok(Exit::Success)
}
