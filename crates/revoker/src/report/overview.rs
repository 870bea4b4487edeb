//! Everything `revoker report` tells about a report: each run (from its audit record, else from its
//! rows), the latest outcome of every row, the rows not finished, the last verification, and whether
//! the chain of digests and the audit records still hold.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::audit::{self, AuditRecord};
use super::chain::Verifier;
use super::reader::read_rows;
use super::{Outcome, Record, ReportError};

/// One run as the report and its audit record tell it.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RunView {
    pub run_id: String,
    /// `run` or `verify`; `run` for runs without an audit record.
    pub command: String,
    /// Report rows per outcome, counted from the report.
    pub rows: BTreeMap<Outcome, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    pub elapsed_ms: u64,
    /// The audit record's start and end lines, when the run has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditView>,
}

/// The audit record of a run, both lines.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AuditView {
    pub start: AuditRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<AuditRecord>,
}

/// What the chain of digests says.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ChainStatus {
    /// Every chained row matched, and every run's recorded final digest is in the report.
    pub intact: bool,
    pub rows_checked: u64,
    /// Rows written before the chain existed, not checked.
    pub rows_unchained: u64,
    /// The last digest of the report.
    pub last: String,
    /// The first report line that does not match, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The last verification of the report.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct VerificationView {
    pub run_id: String,
    pub at: String,
    pub verified: u64,
    pub still_present: u64,
}

/// A row's latest outcome, for `report --json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LatestRow {
    pub line: u64,
    pub kind: String,
    pub project: String,
    pub key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub secret: String,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub error_code: String,
    pub message: String,
    pub run_id: String,
    pub finished_at: String,
}

impl From<&Record> for LatestRow {
    fn from(r: &Record) -> LatestRow {
        LatestRow {
            line: r.line,
            kind: r.kind.clone(),
            project: r.project.clone(),
            key: r.key.clone(),
            secret: r.secret.clone(),
            outcome: r.outcome,
            http_status: r.http_status,
            error_code: r.error_code.clone(),
            message: r.message.clone(),
            run_id: r.run_id.clone(),
            finished_at: r.finished_at.clone(),
        }
    }
}

/// Everything `revoker report` tells about a report file.
#[derive(Debug, Default, serde::Serialize)]
pub struct ReportOverview {
    pub report: PathBuf,
    /// Each run, oldest first.
    pub runs: Vec<RunView>,
    /// Per outcome, the latest outcome of every distinct row over all runs.
    pub latest: BTreeMap<Outcome, u64>,
    /// Rows whose latest outcome is not finished, in report order.
    #[serde(skip)]
    pub unfinished: Vec<Record>,
    /// Every distinct row's latest outcome, in report order.
    #[serde(skip)]
    pub rows: Vec<Record>,
    pub chain: ChainStatus,
    /// The first audit line that does not follow the one before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_problem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationView>,
    /// The input of the last revocation run, from its audit record.
    #[serde(skip)]
    pub last_input: Option<AuditRecord>,
}

impl ReportOverview {
    /// Whether the report and its audit record are as written.
    pub fn untampered(&self) -> bool {
        self.chain.intact && self.audit_problem.is_none()
    }
}

/// A row's identity in a report: kind, scope, key, secret, and for invalid rows (whose cells may be
/// anything) their line.
type RowKey = (String, String, String, String, Option<u64>);

/// Reads a report (and its audit record) and sums it up per run and over all runs.
pub fn summarize_report(path: &Path) -> Result<ReportOverview, ReportError> {
    struct Acc {
        view: RunView,
        first: Option<jiff::Timestamp>,
        last: Option<jiff::Timestamp>,
    }
    let mut runs: Vec<Acc> = Vec::new();
    let mut latest: HashMap<RowKey, (u64, Record)> = HashMap::new();
    let mut verifier = Verifier::default();
    let mut order = 0u64;
    read_rows(path, &mut |row| {
        verifier.row(row.report_line, row.cells.iter().copied(), row.chain);
        let r = row.record;
        if runs.last().is_none_or(|a| a.view.run_id != r.run_id) {
            runs.push(Acc {
                view: RunView {
                    run_id: r.run_id.clone(),
                    command: "run".into(),
                    ..RunView::default()
                },
                first: None,
                last: None,
            });
        }
        if let Some(acc) = runs.last_mut() {
            *acc.view.rows.entry(r.outcome).or_default() += 1;
            if let Ok(at) = r.finished_at.parse::<jiff::Timestamp>() {
                let started = at - jiff::SignedDuration::from_millis(r.duration_ms as i64);
                acc.first = Some(acc.first.map_or(started, |f| f.min(started)));
                acc.last = Some(acc.last.map_or(at, |l| l.max(at)));
            }
        }
        let line = (r.outcome == Outcome::Invalid).then_some(r.line);
        order += 1;
        latest.insert(
            (
                r.kind.clone(),
                r.project.clone(),
                r.key.clone(),
                r.secret.clone(),
                line,
            ),
            (order, r),
        );
    })?;
    let log = audit::read(path)?;
    let mut overview = ReportOverview {
        report: path.to_path_buf(),
        ..ReportOverview::default()
    };
    let audit_runs = log.runs();
    for acc in runs {
        let mut view = acc.view;
        if let (Some(first), Some(last)) = (acc.first, acc.last) {
            view.elapsed_ms = last
                .duration_since(first)
                .as_millis()
                .try_into()
                .unwrap_or(0);
            view.started_at = Some(first.to_string());
            view.ended_at = Some(last.to_string());
        }
        if let Some((start, end)) = audit_runs.iter().find(|(s, _)| s.run_id == view.run_id) {
            attach(&mut view, start, *end);
        }
        overview.runs.push(view);
    }
    // Runs that wrote no row still have their audit record (a run that found nothing to send).
    for (start, end) in &audit_runs {
        if !overview.runs.iter().any(|v| v.run_id == start.run_id) {
            let mut view = RunView {
                run_id: start.run_id.clone(),
                ..RunView::default()
            };
            attach(&mut view, start, *end);
            overview.runs.push(view);
        }
    }
    overview
        .runs
        .sort_by(|a, b| a.started_at.cmp(&b.started_at));

    let mut rows: Vec<(u64, Record)> = latest.into_values().collect();
    rows.sort_by_key(|(order, _)| *order);
    for (_, record) in rows {
        *overview.latest.entry(record.outcome).or_default() += 1;
        if !record.outcome.is_finished() {
            overview.unfinished.push(record.clone());
        }
        overview.rows.push(record);
    }

    overview.chain = ChainStatus {
        intact: verifier.broken.is_none(),
        rows_checked: verifier.checked,
        rows_unchained: verifier.unchained,
        last: verifier.last().to_string(),
        first_bad_line: verifier.broken.as_ref().map(|b| b.0),
        problem: verifier.broken.as_ref().map(|b| b.1.clone()),
    };
    if overview.chain.intact {
        // Rows cut off the end leave the chain intact; the audit records' final digests do not.
        for (start, end) in &audit_runs {
            let Some(end) = end else { continue };
            if let (Some(digest), Some(written)) = (&end.chain, end.rows_written)
                && written > 0
                && !verifier.seen.contains_key(digest)
            {
                overview.chain.intact = false;
                overview.chain.problem = Some(format!(
                    "run {} recorded {written} rows ending at chain digest {digest}, which the report does not contain: rows were deleted or the report was replaced",
                    start.run_id
                ));
                break;
            }
        }
    }
    overview.audit_problem = log
        .broken
        .as_ref()
        .map(|(line, why)| format!("{}:{line}: {why}", audit::path_for(path).display()));
    overview.verification = overview
        .runs
        .iter()
        .rev()
        .find(|r| r.command == "verify")
        .map(|r| VerificationView {
            run_id: r.run_id.clone(),
            at: r
                .ended_at
                .clone()
                .or(r.started_at.clone())
                .unwrap_or_default(),
            verified: r.rows.get(&Outcome::Verified).copied().unwrap_or(0),
            still_present: r.rows.get(&Outcome::StillPresent).copied().unwrap_or(0),
        });
    overview.last_input = log.last_run_start().cloned();
    Ok(overview)
}

fn attach(view: &mut RunView, start: &AuditRecord, end: Option<&AuditRecord>) {
    view.command = start.command.clone();
    view.started_at = Some(start.at.clone());
    if let Some(end) = end {
        view.ended_at = Some(end.at.clone());
        if let Some(ms) = end.elapsed_ms {
            view.elapsed_ms = ms;
        }
    }
    view.audit = Some(AuditView {
        start: start.clone(),
        end: end.cloned(),
    });
}
