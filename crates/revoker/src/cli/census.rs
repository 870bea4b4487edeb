//! `revoker census`: parses, resolves the settings, and hands the census to
//! [`crate::job::census`].

use super::Failure;
use super::args::CensusArgs;
use crate::census::read::Scope;
use crate::settings::Settings;

pub(super) async fn command(args: CensusArgs) -> Result<i32, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let flags = args.connection.layer(crate::settings::JobFile::default());
    let settings = Settings::resolve(args.job.as_deref(), flags, &env)?;
    let scope = Scope {
        orgs: args.orgs.clone(),
        every_project: args.every_project,
    };
    crate::job::census::census_command(settings, scope, args.write.clone(), args.output).await
}
