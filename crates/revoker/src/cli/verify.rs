//! `revoker verify REPORT` (and `revoker run --verify`): list what still exists and record, for every
//! finished row of the report, whether its key is gone.

use std::sync::Arc;

use super::args::VerifyArgs;
use super::{Failure, Output, out};
use crate::api::Client;
use crate::engine::{self, StopFlag};
use crate::figures::Figures;
use crate::job::verify::verify_report;
use crate::report::ReportLock;
use crate::settings::Settings;

pub(super) async fn command(args: VerifyArgs) -> Result<i32, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let flags = args.connection.layer(crate::settings::JobFile::default());
    let settings = Settings::resolve(args.job.as_deref(), flags, &env)?;
    let found = settings.credential.as_ref().map_err(Failure::usage)?;
    if !args.report.exists() {
        return Err(Failure::usage(format!(
            "{}: no such report",
            args.report.display()
        )));
    }
    let report = crate::report::canonical(&args.report);
    let _lock = ReportLock::acquire(&report, false)?;
    let client = Arc::new(Client::new(
        &settings.api_config(found),
        Arc::new(Figures::default()),
    )?);
    let stop = StopFlag::default();
    let ctx = Arc::new(engine::Context::new(
        client,
        settings.engine_config(),
        stop.clone(),
        1,
    ));
    let signals = tokio::spawn({
        let stop = stop.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.request(engine::StopReason::Interrupted);
            }
        }
    });
    let (verification, code) = verify_report(&settings, &report, &ctx).await?;
    signals.abort();
    if args.output == Output::Json {
        out(serde_json::json!({
            "report": report.display().to_string(),
            "exit_code": code,
            "verification": verification,
        }));
    }
    Ok(code)
}
