//! `tofu keygen`: create the signing key explicitly.

use tofu_record::key::SigningKey;

use crate::cli::KeygenArgs;
use crate::{ExitCode, Failure, output, paths};

pub fn run(args: KeygenArgs) -> Result<ExitCode, Failure> {
    let path = match args.key {
        Some(p) => p,
        None => paths::default_key()?,
    };
    let key = SigningKey::generate()?;
    let pub_path = key.save(&path, args.force)?;
    output::note(&format!(
        "created signing key {} (key id {}); public key: {}",
        path.display(),
        key.key_id(),
        pub_path.display()
    ));
    Ok(ExitCode::Success)
}
