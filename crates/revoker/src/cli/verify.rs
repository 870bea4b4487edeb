//! `revoker verify REPORT`: parses, resolves the settings, and hands the verification to
//! [`crate::job::verify`].

use super::args::VerifyArgs;
use super::{Failure, Output, out};
use crate::job::verify::verify_command;
use crate::settings::Settings;

pub(super) async fn command(args: VerifyArgs) -> Result<i32, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let flags = args.connection.layer(crate::settings::JobFile::default());
    let settings = Settings::resolve(args.job.as_deref(), flags, &env)?;
    if args.events {
        return crate::job::reconcile::events_command(settings, &args.report, args.output).await;
    }
    let (verification, code) = verify_command(settings, &args.report).await?;
    if args.output == Output::Json {
        out(serde_json::json!({
            "report": crate::report::canonical(&args.report).display().to_string(),
            "exit_code": code,
            "verification": verification,
        }));
    }
    Ok(code)
}
