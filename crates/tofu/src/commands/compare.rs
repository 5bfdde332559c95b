//! `tofu compare`: load and verify every run, then hand them to tofu-compare; with `--html`,
//! also write the report as a page.

use std::path::{Path, PathBuf};

use anyhow::anyhow;

use crate::cli::CompareArgs;
use crate::commands::{judge_options, load_for_judgement, verdict_exit};
use crate::failure::Hint;
use crate::{ExitCode, Failure, output};

pub fn run(args: CompareArgs) -> Result<ExitCode, Failure> {
    let options = judge_options(&args.judge)?;
    let runs = crate::commands::expand_runs(&args.runs)?;
    if runs.len() < 2 {
        return Err(anyhow!(
            "compare needs two or more runs; {} given",
            runs.len()
        ))
        .hint("give each run's transcript, or the directory that holds them");
    }
    if let Some(html) = &args.html {
        refuse_to_overwrite_a_run(html, &runs)?;
    }
    let loaded = load_for_judgement(&runs, &args.judge)?;
    let report = tofu_compare::compare(&loaded.inputs(), &options);
    // The page first: when it cannot be written, the command fails before printing a report
    // that would look like the whole answer.
    if let Some(html) = &args.html {
        write_html(html, &tofu_compare::render_html(&report))?;
    }
    if args.json {
        output::json(&tofu_compare::render_json(&report));
    } else {
        output::data(&tofu_compare::render_text(&report));
    }
    Ok(verdict_exit(report.verdict))
}

/// `--html` naming one of the runs (or its signature) would replace the evidence with the
/// report: refused before anything is read.
fn refuse_to_overwrite_a_run(html: &Path, runs: &[PathBuf]) -> Result<(), Failure> {
    let Ok(target) = std::fs::canonicalize(html) else {
        // Nothing there yet: it is no run.
        return Ok(());
    };
    for run in runs {
        let signature = tofu_record::sign::signature_path(run);
        for evidence in [run.as_path(), signature.as_path()] {
            if std::fs::canonicalize(evidence).is_ok_and(|p| p == target) {
                return Err(anyhow!(
                    "--html {} is {}, one of the runs being compared",
                    html.display(),
                    evidence.display()
                ))
                .hint("give --html a new file name, such as report.html");
            }
        }
    }
    Ok(())
}

/// Writes the page atomically (a temporary file beside it, then a rename), so no partial
/// page is ever left under the name asked for.
fn write_html(path: &Path, page: &str) -> Result<(), Failure> {
    tofu_record::io::write_atomic(path, page.as_bytes(), true)
        .map_err(|e| anyhow!(e).context("the report page (--html) was not written"))
        .hint(format!(
            "check that the directory of {} exists and that you may write to it, or give \
             --html another path",
            path.display()
        ))
}
