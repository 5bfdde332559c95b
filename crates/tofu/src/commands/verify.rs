//! `tofu verify`: format and signature check, one line per file saying who signed it. A file
//! signed by a key the user does not trust fails, as a bad one does: its signature proves
//! nothing about who made the run.

use crate::cli::VerifyArgs;
use crate::commands::trust::judgement_trust;
use crate::documents::{Problem, VerifiedFile, VerifiedRun, VerifyReport};
use crate::{ExitCode, Failure, output};

pub fn run(args: VerifyArgs) -> Result<ExitCode, Failure> {
    // verify never lets an unsigned run pass.
    let trust = judgement_trust(&args.trusted_keys, false)?;
    let mut files = Vec::new();
    for path in &crate::commands::expand_runs(&args.runs)? {
        let path = path.as_path();
        let file = match tofu_compare::load_run(path, &trust).and_then(|run| run.trusted()) {
            Ok(run) => {
                let run = VerifiedRun::of(&run);
                if !args.json {
                    output::data(&format!(
                        "ok: {}: run {} started {}, {} artifact(s), {} failed; {}\n",
                        path.display(),
                        run.run_id,
                        run.started_at,
                        run.artifacts,
                        run.failed,
                        run.signer,
                    ));
                }
                VerifiedFile {
                    path: path.display().to_string(),
                    ok: true,
                    run: Some(run),
                    error: None,
                }
            }
            Err(error) => {
                let failure = Failure::from(error);
                // stderr is for people, with or without --json.
                output::failure(&failure);
                VerifiedFile {
                    path: path.display().to_string(),
                    ok: false,
                    run: None,
                    error: Some(Problem {
                        message: failure.message(),
                        hint: failure.hint,
                    }),
                }
            }
        };
        files.push(file);
    }
    let exit = if files.iter().all(|f| f.ok) {
        ExitCode::Success
    } else {
        ExitCode::Error
    };
    if args.json {
        crate::documents::print(&VerifyReport { files });
    }
    Ok(exit)
}
