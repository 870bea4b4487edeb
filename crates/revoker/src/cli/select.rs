//! `revoker select`: parses, resolves the settings, merges the flags' rule into the job's policy,
//! and hands the selection to [`crate::job::select`].

use super::Failure;
use super::args::SelectArgs;
use crate::settings::Settings;

pub(super) async fn command(args: SelectArgs) -> Result<i32, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let mut flags = args.connection.layer(crate::settings::JobFile::default());
    flags.protect = (!args.protect.is_empty()).then(|| args.protect.clone());
    let settings = Settings::resolve(args.job.as_deref(), flags, &env)?;
    let mut policy = settings.values.select.clone().unwrap_or_default();
    policy.orgs.extend(args.orgs.iter().copied());
    policy.projects.extend(args.projects.iter().copied());
    policy.every_project |= args.every_project;
    policy.include_system_managed |= args.include_system_managed;
    if let Some(rule) = args.rule() {
        policy.rule.push(rule);
    }
    crate::job::select::select_command(settings, policy, args.write.clone(), args.output).await
}
