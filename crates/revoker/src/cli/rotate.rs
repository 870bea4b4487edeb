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
    let job = settings.values.rotate.clone().unwrap_or_default();
    let needed = |what: &str| {
        Failure::usage(format!(
            "rotate needs --{what} (or {what} under the job file's [rotate])"
        ))
    };
    let deliver = args
        .deliver
        .or(job.deliver)
        .ok_or_else(|| needed("deliver"))?;
    let cutover = args.cutover.or(job.cutover);
    let opts = RotateOptions {
        input: args.input.or(job.input).ok_or_else(|| needed("input"))?,
        deliver: deliver.parse().map_err(Failure::usage)?,
        cutover: cutover
            .as_deref()
            .unwrap_or("after-use")
            .parse()
            .map_err(Failure::usage)?,
        deadline: args
            .deadline
            .or(job.deadline)
            .unwrap_or(Duration::from_secs(7 * 24 * 3600)),
        report: args
            .report
            .or(job.report)
            .unwrap_or_else(|| "rotation.csv".into()),
        poll: args.poll.or(job.poll).unwrap_or(Duration::from_secs(30)),
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
