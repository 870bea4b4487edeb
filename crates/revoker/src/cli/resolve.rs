//! `revoker resolve`: parses, resolves the settings, and hands the findings to
//! [`crate::job::resolve`].

use super::Failure;
use super::args::ResolveArgs;
use crate::settings::Settings;

pub(super) async fn command(args: ResolveArgs) -> Result<i32, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let flags = args.connection.layer(crate::settings::JobFile::default());
    let settings = Settings::resolve(args.job.as_deref(), flags, &env)?;
    let mut orgs = settings.values.findings_orgs.clone();
    orgs.extend(args.orgs.iter().copied());
    orgs.sort();
    orgs.dedup();
    crate::job::resolve::resolve_command(
        settings,
        args.files,
        orgs,
        args.write,
        args.output,
        args.validate_leaked,
    )
    .await
}
