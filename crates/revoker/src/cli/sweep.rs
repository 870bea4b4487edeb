//! `revoker sweep`: parses, resolves the settings, and hands the sweep to [`crate::job::sweep`].

use super::Failure;
use super::args::SweepArgs;
use crate::job::sweep::{SweepJob, sweep_command};
use crate::settings::Settings;

pub(super) async fn command(args: SweepArgs) -> Result<i32, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let flags = args.connection.layer(crate::settings::JobFile::default());
    let settings = Settings::resolve(args.job.as_deref(), flags, &env)?;
    let job = SweepJob {
        input: args.input,
        report: args.report,
        since: args.since,
        write: args.write,
        handover: args.handover,
    };
    sweep_command(settings, job, args.output).await
}
