//! A verification: list what still exists and record, for every finished row of a report, whether
//! its key is gone; its own run in the report and the audit record.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;

use crate::engine;
use crate::figures::Figures;
use crate::job::Failure;
use crate::report::audit::{self, AuditRecord};
use crate::report::{Outcome, ReportWriter, Summary};
use crate::settings::Settings;
use crate::ui::console;
use crate::verify::{self, Verification};
use crate::vocab::exit;

/// Verifies the finished rows of `report` (which the caller has locked), appending a verification
/// run to it and to its audit record. Answers what was found and the exit code.
pub async fn verify_report(
    settings: &Settings,
    report: &Path,
    ctx: &Arc<engine::Context>,
) -> Result<(Verification, i32), Failure> {
    let claims = verify::claims(report)?;
    let writer = ReportWriter::open(report)?;
    let run_id = crate::report::new_run_id();
    let found = settings.credential.as_ref().map_err(Failure::usage)?;
    let mut start = AuditRecord::start(
        &run_id,
        "verify",
        found.credential.public_identity(),
        settings.base_url.to_string(),
        settings.api.to_string(),
        writer.chain.clone(),
    );
    audit::append(report, &mut start)?;
    let (sink, thread) = writer.spawn()?;
    let figures = ctx.client().figures().clone();
    let requests_before = Figures::get(&figures.requests);
    let verification = verify::verify(ctx.clone(), claims, &run_id, &sink).await;
    drop(sink);
    let written = thread
        .join()
        .map_err(|_| Failure::usage("the report writer thread panicked"))?
        .context("writing the report failed")?;
    let stopped = ctx.stop().reason();
    let code = verify::exit_code(&verification, stopped.as_ref());
    let mut summary = Summary {
        run_id: run_id.clone(),
        requests: Figures::get(&figures.requests) - requests_before,
        elapsed_ms: verification.elapsed_ms,
        chain: written.chain.clone(),
        ..Summary::default()
    };
    for (outcome, n) in [
        (Outcome::Verified, verification.verified),
        (Outcome::StillPresent, verification.still_present),
    ] {
        if n > 0 {
            summary.outcomes.insert(outcome, n);
        }
    }
    let mut end = super::run::end_record(
        &run_id,
        "verify",
        &summary,
        written.rows,
        code,
        stopped.as_ref(),
    );
    audit::append(report, &mut end)?;

    let c = console();
    let mut text = String::new();
    if let Some(reason) = &stopped {
        text.push_str(&format!("revoker: stopped: {reason}\n"));
    }
    text.push_str(&format!(
        "verify {run_id}: {} finished rows checked with {} list requests in {:.1} s: {} confirmed gone, {} still present",
        verification.rows,
        verification.pages,
        verification.elapsed_ms as f64 / 1000.0,
        verification.verified,
        verification.still_present,
    ));
    for (line, target) in verification.present.iter().take(20) {
        text.push_str(&format!("\n  still present: line {line}: {target}"));
    }
    if verification.present.len() > 20 {
        text.push_str(&format!(
            "\n  … and {} more (revoker report {} lists them all)",
            verification.present.len() - 20,
            report.display()
        ));
    }
    for u in &verification.unverified {
        text.push_str(&format!(
            "\n  not verified: {} rows of {}: {}",
            u.rows, u.list, u.reason
        ));
    }
    if verification.still_present > 0 {
        text.push_str(
            "\n  a resumed run (revoker run … --resume) sends the rows still present again",
        );
    }
    text.push_str(&format!("\n  report chain digest: {}", written.chain));
    c.emit(
        if code == exit::OK { "INFO" } else { "WARN" },
        "revoker::verify",
        &text,
        serde_json::json!({
            "run_id": run_id,
            "rows": verification.rows,
            "verified": verification.verified,
            "still_present": verification.still_present,
            "list_requests": verification.pages,
            "chain": written.chain,
            "exit_code": code,
        }),
    );
    Ok((verification, code))
}
