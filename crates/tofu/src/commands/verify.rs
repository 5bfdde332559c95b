//! `tofu verify`: format and signature check, one line per file.

use tofu_compare::{Signature, Trust};

use crate::cli::VerifyArgs;
use crate::{ExitCode, Failure, output};

pub fn run(args: VerifyArgs) -> Result<ExitCode, Failure> {
    // verify never lets an unsigned run pass.
    let trust = Trust::load(&args.trusted_keys, false)?;
    let mut exit = ExitCode::Success;
    for path in &args.runs {
        match tofu_compare::load_run(path, &trust) {
            Ok(run) => {
                let t = &run.transcript;
                let failed = t.artifacts.iter().filter(|a| a.error.is_some()).count();
                let trust = match run.signature {
                    Signature::Pinned { .. } => "a trusted key",
                    Signature::SelfNamed { .. } | Signature::Unsigned { .. } => {
                        "a key not pinned with --trusted-key"
                    }
                };
                output::data(&format!(
                    "ok: {}: run {} started {}, {} artifact(s), {} failed; signature by key {} ({trust})\n",
                    path.display(),
                    t.run.id,
                    t.run
                        .started_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    t.artifacts.len(),
                    failed,
                    run.signed_by().unwrap_or("?"),
                ));
            }
            Err(error) => {
                let failure = Failure::from(error);
                output::error(&failure.message(), failure.hint.as_deref());
                exit = ExitCode::Error;
            }
        }
    }
    Ok(exit)
}
