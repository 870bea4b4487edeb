//! `revoker rotate`: parses, resolves the settings, and hands the rotation to
//! [`crate::job::rotate`].

use std::time::Duration;

use super::args::RotateArgs;
use super::{Failure, Output, out};
use crate::job::rotate::{RotateOptions, rotate_command};
use crate::settings::Settings;

pub(super) async fn command(args: RotateArgs) -> Result<i32, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let mut flags = args.connection.layer(crate::settings::JobFile::default());
    flags.protect = (!args.protect.is_empty()).then(|| args.protect.clone());
    let settings = Settings::resolve(args.job.as_deref(), flags, &env)?;
    let opts = RotateOptions {
        input: args.input,
        deliver: args.deliver.parse().map_err(Failure::usage)?,
        cutover: args.cutover.parse().map_err(Failure::usage)?,
        deadline: args.deadline.unwrap_or(Duration::from_secs(7 * 24 * 3600)),
        report: args.report,
        poll: args.poll.unwrap_or(Duration::from_secs(30)),
    };
    let report = opts.report.clone();
    let (rows, code) = rotate_command(settings, opts).await?;
    match args.output {
        Output::Json => out(
            serde_json::json!({ "report": report.display().to_string(), "exit_code": code, "rows": rows }),
        ),
        Output::Text => {
            for r in &rows {
                let new = r.new.as_deref().unwrap_or("-");
                let why = if r.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.message)
                };
                out(format!("{} {} → {new} {}{why}", r.kind, r.old, r.step));
            }
        }
    }
    Ok(code)
}
