//! `tofu verify`: format and signature check, one line per file saying who signed it. A file
//! signed by a key the user does not trust fails, as a bad one does: its signature proves
//! nothing about who made the run.

use crate::cli::VerifyArgs;
use crate::commands::trust::judgement_trust;
use crate::documents::{Problem, VerifiedFile, VerifyReport};
use crate::{ExitCode, Failure, output};

pub fn run(args: VerifyArgs) -> Result<ExitCode, Failure> {
    // verify never lets an unsigned run pass.
    let trust = judgement_trust(&args.trusted_keys, false)?;
    let mut files = Vec::new();
    for path in &crate::commands::expand_runs(&args.runs)? {
        let file = match tofu_compare::load_run(path, &trust).and_then(|run| run.trusted()) {
            Ok(run) => {
                let t = &run.transcript;
                VerifiedFile {
                    path: path.display().to_string(),
                    ok: true,
                    signer: Some(run.signature.clone()),
                    run_id: Some(t.run.id.clone()),
                    started_at: Some(
                        t.run
                            .started_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    ),
                    artifacts: Some(t.artifacts.len()),
                    failed: Some(t.artifacts.iter().filter(|a| a.error.is_some()).count()),
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
                    signer: None,
                    run_id: None,
                    started_at: None,
                    artifacts: None,
                    failed: None,
                    error: Some(Problem {
                        message: failure.message(),
                        hint: failure.hint,
                    }),
                }
            }
        };
        if !args.json {
            print_line(&file);
        }
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

/// `ok: PATH: run ID started …, N artifact(s), M failed; signed by …`, for a file that
/// verified.
fn print_line(file: &VerifiedFile) {
    if let (Some(run_id), Some(started_at), Some(artifacts), Some(failed), Some(signer)) = (
        &file.run_id,
        &file.started_at,
        file.artifacts,
        file.failed,
        &file.signer,
    ) {
        output::data(&format!(
            "ok: {}: run {run_id} started {started_at}, {artifacts} artifact(s), {failed} \
             failed; {signer}\n",
            file.path,
        ));
    }
}
