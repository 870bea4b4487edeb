//! `revoker run`: parses, resolves the settings, and hands the run to [`crate::job`].

use super::{Failure, RunArgs, exit, out};
use crate::input::Source;
use crate::job::dry_run::dry_run;
use crate::settings::{Settings, default_report_path, expand_report_path};
use crate::ui::Outputs;

fn flags(args: &RunArgs) -> crate::settings::JobFile {
    let mut job = args.safety.layer(args.connection.layer(args.how.layer()));
    job.plan = args.plan.then_some(true);
    job.plan_file = args.plan_file.clone();
    job.plan_max_age = args.plan_max_age;
    job.plan_public_key = args.plan_public_key.clone();
    job.yes = args.yes.then_some(true);
    job.forget_limits = args.forget_limits.then_some(true);
    job.input = args.input.clone();
    job.findings = args.findings.clone();
    job.findings_orgs = args.findings_orgs.clone();
    job.report = args.report.clone();
    job.resume = args.resume.then_some(true);
    job.new_input = args.new_input.then_some(true);
    job.allow_own_credential = args.allow_own_credential.then_some(true);
    job.metrics_file = args.metrics_file.clone();
    job.ledger = args.ledger.clone().map(crate::settings::LedgerSetting::At);
    job.verify = match (args.verify, args.no_verify) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    job
}

/// The command line as typed, with `--resume` added: the command that continues this run.
/// The command that continues this run: the one typed, with `--resume` unless it resumes
/// already (the flag, or a job file that says `resume = true`).
fn resume_command(job_resumes: bool) -> String {
    let mut words: Vec<String> = std::env::args().collect();
    if !job_resumes && !words.iter().any(|w| w == "--resume") {
        words.push("--resume".into());
    }
    shell_words::join(words)
}

pub(super) async fn command(args: RunArgs) -> Result<i32, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let settings = Settings::resolve(args.job.as_deref(), flags(&args), &env)?;
    if args.print_config {
        let report = settings
            .values
            .report
            .as_deref()
            .map(|t| expand_report_path(t, &settings.job_name, &jiff::Zoned::now()))
            .or_else(|| {
                settings
                    .values
                    .input
                    .as_deref()
                    .and_then(default_report_path)
            });
        out(settings.print(report.as_deref()).trim_end());
        return Ok(exit::OK);
    }
    if args.dry_run {
        let input = settings.values.input.clone().ok_or_else(|| {
            Failure::usage(
                "no input: pass --input PATH (or - for stdin), or set input in the job file",
            )
        })?;
        let source = crate::job::ledger::preview(&settings, Source::open(&input)?)?;
        return dry_run(&settings, &source);
    }
    let resume_hint = Some(resume_command(settings.job_resumes));
    crate::job::run::run(
        settings,
        args.resume,
        Outputs {
            quiet: args.quiet,
            progress_every: args.progress_every,
            output: args.output,
            resume_hint,
            ..Outputs::default()
        },
    )
    .await
}
