//! A verification: list what still exists and record, for every finished row of a report, whether
//! its key is gone; its own run in the report and in the audit record, signals handled as a run's,
//! and the token it fetched revoked however it ends.

use std::path::Path;
use std::sync::Arc;

use crate::engine::{self, StopFlag};
use crate::figures::Figures;
use crate::job::Failure;
use crate::job::session::{Closed, Session};
use crate::report::audit::AuditRecord;
use crate::report::signature::SigningKey;
use crate::report::{Outcome, ReportLock, Summary};
use crate::settings::Settings;
use crate::ui::console;
use crate::verify::{self, Verification};
use crate::vocab::exit;

/// `revoker verify REPORT`: locks the report, asks the server its runs used, verifies, and revokes
/// the token it fetched. Answers what was found and the exit code.
pub async fn verify_command(
    mut settings: Settings,
    report: &Path,
) -> Result<(Verification, i32), Failure> {
    // A missing credential is said first (a job with a credential per organization may have no
    // default one).
    if settings.org_credentials.is_empty() {
        settings.credential.as_ref().map_err(Failure::usage)?;
    }
    if !report.exists() {
        return Err(Failure::usage(format!(
            "{}: no such report",
            report.display()
        )));
    }
    let report = crate::report::canonical(report);
    let _lock = ReportLock::acquire(&report, false)?;
    if let Ok(log) = crate::report::audit::read(&report) {
        super::server::for_report(&mut settings, &report, &log)?;
    }
    let sign_key = super::acting::load_sign_key(&settings)?;
    super::session::warn_unsigned(&report, sign_key.as_deref());
    let stop = StopFlag::default();
    let signals = super::signals::listen_for_signals(stop.clone());
    let figures = Arc::new(Figures::default());
    let mut lanes = super::lanes::Lanes::build(&settings, &figures, &stop, 1)?;
    // The report's projects, to route their lists as the run routed their rows (read only when
    // there is anything to route).
    let learned = if lanes.routed() {
        let projects: Vec<_> = verify::claims(&report)?
            .iter()
            .filter(|c| c.target.kind.scope() == crate::input::Scope::Project)
            .map(|c| c.target.scope)
            .collect();
        lanes
            .learn_projects(projects, Default::default(), &report)
            .await
    } else {
        Ok(())
    };
    let lanes = Arc::new(lanes);
    let result = match learned {
        Ok(()) => verify_report(&settings, &report, &lanes.readers(), sign_key.as_deref()).await,
        Err(e) => Err(e),
    };
    lanes.finish().await;
    signals.abort();
    result
}

/// Verifies the finished rows of `report` (which the caller has locked) with the client of `ctx`,
/// appending a verification run to it and to its audit record. Answers what was found and the
/// exit code.
pub async fn verify_report(
    settings: &Settings,
    report: &Path,
    readers: &verify::Readers,
    sign_key: Option<&SigningKey>,
) -> Result<(Verification, i32), Failure> {
    let claims = verify::claims(report)?;
    let identity = readers
        .ctxs
        .iter()
        .map(|c| c.client().identity().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let (base_url, api) = (settings.base_url.to_string(), settings.api.to_string());
    let mut session = Session::open(report, "verify", |run_id, chain| {
        AuditRecord::start(run_id, "verify", identity, base_url, api, chain)
    })?;
    let requests_before = readers.requests();
    let sink = session.sink();
    let verification = verify::verify(readers, claims, &session.run_id, &sink).await;
    drop(sink);
    let closed = session.join()?;
    // One refused credential leaves its lists unverified, which the exit code already says.
    let stopped = readers.stopped();
    let code = verify::exit_code(&verification, stopped.as_ref());
    let mut summary = Summary {
        run_id: closed.run_id.clone(),
        requests: readers.requests().saturating_sub(requests_before),
        elapsed_ms: verification.elapsed_ms,
        chain: closed.written.chain.clone(),
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
    let end = closed.end_record(&summary, code, stopped.as_ref());
    let evidence = closed.end(end, sign_key)?;
    print_verification(&closed, &verification, stopped.as_ref(), (code, &evidence));
    Ok((verification, code))
}

fn print_verification(
    closed: &Closed,
    verification: &Verification,
    stopped: Option<&engine::StopReason>,
    (code, evidence): (i32, &str),
) {
    let (run_id, report, written) = (&closed.run_id, &closed.report, &closed.written);
    let c = console();
    let mut text = String::new();
    if let Some(reason) = stopped {
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
            "\n  not verified: {} of {}: {}",
            crate::text::plural(u.rows, "row", "rows"),
            u.list,
            u.reason
        ));
    }
    if verification.still_present > 0 {
        text.push_str(
            "\n  a resumed run (revoker run … --resume) sends the rows still present again",
        );
    }
    text.push_str(&format!("\n  report chain digest: {}", written.chain));
    text.push_str(&format!(
        "\n  evidence digest (keep it elsewhere; revoker report --expect-digest checks it): {evidence}"
    ));
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
            "evidence_digest": evidence,
            "exit_code": code,
        }),
    );
}
