//! `tofu status`: where a campaign stands, and what the next run must differ in.

use crate::cli::StatusArgs;
use crate::commands::{judge_options, load_for_judgement, verdict_exit};
use crate::{ExitCode, Failure, output};

pub fn run(args: StatusArgs) -> Result<ExitCode, Failure> {
    let options = judge_options(&args.judge)?;
    let runs = crate::commands::expand_runs(&args.runs)?;
    let loaded = load_for_judgement(&runs, &args.judge)?;
    let status = tofu_compare::status(&loaded.inputs(), &options);
    if args.json {
        output::json(&tofu_compare::render_status_json(&status));
    } else {
        output::data(&tofu_compare::render_status(&status));
    }
    Ok(verdict_exit(status.report.verdict))
}
