//! `revoker plan`: parses, resolves the settings as `run` does, and hands the plan to
//! [`crate::job::plan`].

use super::Failure;
use super::args::PlanArgs;
use crate::settings::Settings;

fn flags(args: &PlanArgs) -> crate::settings::JobFile {
    let mut job = args.safety.layer(args.connection.layer(args.how.layer()));
    job.input = args.input.clone();
    job.report = args.report.clone();
    job.resume = args.resume.then_some(true);
    job.allow_own_credential = args.allow_own_credential.then_some(true);
    job.ledger = args.ledger.clone().map(crate::settings::LedgerSetting::At);
    job
}

pub(super) async fn command(args: PlanArgs) -> Result<i32, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let settings = Settings::resolve(args.job.as_deref(), flags(&args), &env)?;
    crate::job::plan::plan_command(settings, (args.resume, args.write.as_deref()), args.output)
        .await
}
