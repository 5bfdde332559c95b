//! `tofu compare`: load and verify every run, then hand them to tofu-compare.

use crate::cli::CompareArgs;
use crate::commands::{judge_options, load_for_judgement, verdict_exit};
use crate::{ExitCode, Failure, output};

pub fn run(args: CompareArgs) -> Result<ExitCode, Failure> {
    let options = judge_options(&args.judge)?;
    let loaded = load_for_judgement(&args.runs, &args.judge)?;
    let report = tofu_compare::compare(&loaded.inputs(), &options);
    if args.json {
        output::json(&tofu_compare::render_json(&report));
    } else {
        output::data(&tofu_compare::render_text(&report));
    }
    Ok(verdict_exit(report.verdict))
}
