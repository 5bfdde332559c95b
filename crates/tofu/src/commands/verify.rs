//! `tofu verify`: format and signature check, one line per file.

use crate::cli::VerifyArgs;
use crate::commands::{load_run, load_trusted_keys};
use crate::{Exit, Failure, output};

pub fn run(args: VerifyArgs) -> Result<Exit, Failure> {
    let trusted = load_trusted_keys(&args.trusted_keys)?;
    let mut exit = Exit::Success;
    for path in &args.runs {
        match load_run(path, &trusted, false) {
            Ok(run) => {
                let t = &run.transcript;
                let failed = t.artifacts.iter().filter(|a| a.error.is_some()).count();
                let trust = if run.pinned {
                    "a trusted key"
                } else {
                    "a key not pinned with --trusted-key"
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
                    run.signed_by.as_deref().unwrap_or("?"),
                ));
            }
            Err(failure) => {
                output::error(&format!("{:#}", failure.error), failure.hint.as_deref());
                exit = Exit::Error;
            }
        }
    }
    Ok(exit)
}
