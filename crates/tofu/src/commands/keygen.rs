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
    if args.json {
        crate::documents::print(&crate::documents::KeygenResult {
            key: path.display().to_string(),
            public_key_file: pub_path.display().to_string(),
            public_key: key.public().to_base64(),
            key_id: key.key_id(),
        });
    }
    output::note(&format!(
        "created signing key {} (key id {}); public key: {}",
        path.display(),
        key.key_id(),
        pub_path.display()
    ));
    Ok(ExitCode::Success)
}
