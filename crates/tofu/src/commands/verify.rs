//! `tofu verify`: format and signature check, one line per file saying who signed it. A file
//! signed by a key the user does not trust fails, as a bad one does: its signature proves
//! nothing about who made the run.

use crate::cli::VerifyArgs;
use crate::commands::trust::judgement_trust;
use crate::{ExitCode, Failure, output};

pub fn run(args: VerifyArgs) -> Result<ExitCode, Failure> {
    // verify never lets an unsigned run pass.
    let trust = judgement_trust(&args.trusted_keys, false)?;
    let mut exit = ExitCode::Success;
    for path in &crate::commands::expand_runs(&args.runs)? {
        match tofu_compare::load_run(path, &trust).and_then(|run| run.trusted()) {
            Ok(run) => {
                let t = &run.transcript;
                let failed = t.artifacts.iter().filter(|a| a.error.is_some()).count();
                output::data(&format!(
                    "ok: {}: run {} started {}, {} artifact(s), {} failed; {}\n",
                    path.display(),
                    t.run.id,
                    t.run
                        .started_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    t.artifacts.len(),
                    failed,
                    run.signature,
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
