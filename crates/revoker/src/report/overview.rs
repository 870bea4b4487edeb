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
    /// What happened to the rows, in an auditor's words.
    pub plain: Plain,
    /// Every row revoker revoked, in report order.
    #[serde(skip)]
    pub revoked: Vec<Revoked>,
    /// Per project or organization, what happened to its rows.
    pub scopes: Vec<ScopeCounts>,
    /// Every row finishing, in report order.
    #[serde(skip)]
    pub timeline: Vec<Moment>,
    /// Unfinished rows grouped by scope, outcome and reason.
    pub groups: Vec<super::groups::Group>,
    /// Per input the runs read, what is left of it.
    pub left: Vec<super::left::InputLeft>,
    /// The SHA-256 of the audit file's last line: kept elsewhere, it proves the audit file and,
    /// through its chain digest, the report as they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence_digest: Option<String>,
    /// The signature beside the report, as it says (unchecked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<super::signature::SignatureView>,
    /// The plans recorded for the report (the state before a run), oldest first.
    pub plans: Vec<super::plans::PlanView>,
    /// A plans file that cannot be read, or whose lines do not follow each other.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plans_problem: Option<String>,
    /// The last `verify --events` (`REPORT.reconciled.json`), or why it cannot be read (in the
    /// JSON document as `reconciliation` / `reconciliation_problem`).
    #[serde(skip)]
    pub reconciliation: Option<Result<super::reconciled::Reconciled, String>>,
    /// The last sweep of the report's compromised credentials (`REPORT.swept.json`), or why it
    /// cannot be read.
    #[serde(skip)]
    pub swept: Option<Result<super::swept::SweptView, String>>,
    /// What `report` says of those two side files, and their contradictions with the audit
    /// record (exit 5).
    pub side_files: super::side::SideFiles,
}

/// What happened to the rows of a report, over all its runs, in an auditor's words. Every
/// outcome is present, zero included.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Plain {
    /// Distinct rows.
    pub rows: u64,
    /// Revoked by revoker (a run's `done`).
    pub revoked: u64,
    /// Already gone when revoker asked (`not_found`, never `done`).
    pub already_gone: u64,
    /// Confirmed absent afterwards by a complete listing (latest `verified`).
    pub confirmed_absent: u64,
    /// Found still there by a listing (latest `still_present`).
    pub still_present: u64,
    /// Refused by the API (latest `rejected`).
    pub refused: u64,
    /// No usable answer after every attempt (latest `failed`).
    pub failed: u64,
    /// Bad rows; nothing was sent (latest `invalid`).
    pub invalid: u64,
    /// Rows of an input that no run attempted (from the audit record; a resume sends them).
    pub never_attempted: u64,
    /// On an exemption list: never sent, by the operator's choice (latest `exempt`).
    pub exempt: u64,
    /// Changed since the reviewed plan a run applied: never sent (latest `drifted`).
    pub drifted: u64,
}

impl Plain {
    fn count(&mut self, l: &Latest) {
        self.rows += 1;
        if l.ever_done {
            self.revoked += 1;
        } else if l.ever_gone {
            self.already_gone += 1;
        }
        match l.record.outcome {
            Outcome::Verified => self.confirmed_absent += 1,
            Outcome::StillPresent => self.still_present += 1,
            Outcome::Rejected => self.refused += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Invalid => self.invalid += 1,
            Outcome::Skipped => self.never_attempted += 1,
            Outcome::Exempt => self.exempt += 1,
            Outcome::Drifted => self.drifted += 1,
            Outcome::Done | Outcome::NotFound => {}
        }
    }

    /// Rows not finished: they make the exit code 1.
    pub fn left(&self) -> u64 {
        self.still_present
            + self.refused
            + self.failed
            + self.invalid
            + self.never_attempted
            + self.drifted
    }
}

impl ReportOverview {
    /// Whether the report and its audit record are as written.
    pub fn untampered(&self) -> bool {
        self.chain.intact && self.audit_problem.is_none()
    }

    /// Runs that started and never wrote their end: killed, or still going. What they left is
    /// unknown, so the report is not finished.
    pub fn unended(&self) -> Vec<&str> {
        self.runs
            .iter()
            .filter(|r| r.audit.as_ref().is_some_and(|a| a.end.is_none()))
            .map(|r| r.run_id.as_str())
            .collect()
    }

    /// What the selections of a policy job's runs could not read (their audit start records):
    /// credentials they should have chosen may be left, so the report is not finished.
    pub fn selection_unread(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for audit in self.runs.iter().filter_map(|r| r.audit.as_ref()) {
            let problems = audit
                .start
                .selection
                .as_ref()
                .and_then(|s| s.get("problems"))
                .and_then(|p| p.as_array());
            for p in problems.into_iter().flatten().filter_map(|p| p.as_str()) {
                if !out.iter().any(|o| o == p) {
                    out.push(p.to_string());
                }
            }
        }
        out
    }

    /// Whether no row is left: every row finished, no input with rows never attempted, every run
    /// ended, every selection read whole.
    pub fn finished(&self) -> bool {
        self.plain.left() == 0
            && self.unended().is_empty()
            && !self.left.iter().any(|l| l.is_open())
            && self.selection_unread().is_empty()
    }
}

/// A row's identity in a report: kind, scope, key, secret, and for invalid rows (whose cells may be
/// anything) their line.
type RowKey = (String, String, String, String, Option<u64>);

/// A distinct row's latest record, with what earlier runs did to it.
struct Latest {
    order: u64,
    record: Record,
    ever_done: bool,
    ever_gone: bool,
    /// When and in how many attempts a run revoked it.
    revoked: Option<(String, u32)>,
}

/// A row revoker revoked: what, where, when, in how many attempts.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Revoked {
    pub line: u64,
    pub kind: String,
    pub project: String,
    pub key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub secret: String,
    pub at: String,
    pub attempts: u32,
}

/// A run being counted from its rows.
struct Acc {
    view: RunView,
    first: Option<jiff::Timestamp>,
    last: Option<jiff::Timestamp>,
    /// The chain digest of the run's last row.
    last_digest: Option<String>,
}

/// What one pass over the report's rows gathers.
#[derive(Default)]
struct Pass {
    runs: Vec<Acc>,
    latest: HashMap<RowKey, Latest>,
    verifier: Verifier,
    timeline: Vec<Moment>,
}

/// One row finishing, for the chart of a report over time.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Moment {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub outcome: Outcome,
    /// Whether the row needed more than one attempt (a 429, a transient error).
    pub retried: bool,
}

/// A project's or organization's rows, counted as [`Plain`] counts the whole report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ScopeCounts {
    /// `project …` or `organization …`.
    pub scope: String,
    pub counts: Plain,
}

fn read_pass(path: &Path) -> Result<Pass, ReportError> {
    let mut pass = Pass::default();
    let mut order = 0u64;
    read_rows(path, &mut |row| {
        pass.verifier
            .row(row.report_line, row.cells.iter().copied(), row.chain);
        let r = row.record;
        if pass.runs.last().is_none_or(|a| a.view.run_id != r.run_id) {
            pass.runs.push(Acc {
                view: RunView {
                    run_id: r.run_id.clone(),
                    command: "run".into(),
                    ..RunView::default()
                },
                first: None,
                last: None,
                last_digest: None,
            });
        }
        if let Some(acc) = pass.runs.last_mut() {
            *acc.view.rows.entry(r.outcome).or_default() += 1;
            acc.last_digest = row.chain.map(str::to_string);
            if let Ok(at) = r.finished_at.parse::<jiff::Timestamp>() {
                pass.timeline.push(Moment {
                    at_ms: at.as_millisecond(),
                    outcome: r.outcome,
                    retried: r.attempts > 1,
                });
                let started = at - jiff::SignedDuration::from_millis(r.duration_ms as i64);
                acc.first = Some(acc.first.map_or(started, |f| f.min(started)));
                acc.last = Some(acc.last.map_or(at, |l| l.max(at)));
            }
        }
        let line = (r.outcome == Outcome::Invalid).then_some(r.line);
        order += 1;
        let key = (
            r.kind.clone(),
            r.project.clone(),
            r.key.clone(),
            r.secret.clone(),
            line,
        );
        let before = pass.latest.get(&key);
        let ever_done = before.is_some_and(|l| l.ever_done) || r.outcome == Outcome::Done;
        let ever_gone = before.is_some_and(|l| l.ever_gone) || r.outcome == Outcome::NotFound;
        let revoked = if r.outcome == Outcome::Done {
            Some((r.finished_at.clone(), r.attempts))
        } else {
            before.and_then(|l| l.revoked.clone())
        };
        pass.latest.insert(
            key,
            Latest {
                order,
                record: r,
                ever_done,
                ever_gone,
                revoked,
            },
        );
    })?;
    Ok(pass)
}

/// Counts each credential's latest row: in all, per project or organization, the revoked, and
/// those not settled yet; in the report's order.
fn count_latest(overview: &mut ReportOverview, mut rows: Vec<Latest>) {
    rows.sort_by_key(|l| l.order);
    let mut scopes: BTreeMap<String, Plain> = BTreeMap::new();
    for l in rows {
        overview.plain.count(&l);
        let word =
            crate::input::Kind::parse(&l.record.kind).map_or("project", |k| k.scope().as_str());
        scopes
            .entry(format!("{word} {}", l.record.project))
            .or_default()
            .count(&l);
        if let Some((at, attempts)) = &l.revoked {
            let r = &l.record;
            overview.revoked.push(Revoked {
                line: r.line,
                kind: r.kind.clone(),
                project: r.project.clone(),
                key: r.key.clone(),
                secret: r.secret.clone(),
                at: at.clone(),
                attempts: *attempts,
            });
        }
        *overview.latest.entry(l.record.outcome).or_default() += 1;
        if !l.record.outcome.is_settled() {
            overview.unfinished.push(l.record.clone());
        }
        overview.rows.push(l.record);
    }
    overview.scopes = scopes
        .into_iter()
        .map(|(scope, counts)| ScopeCounts { scope, counts })
        .collect();
}

/// Reads a report (and its audit record) and sums it up per run and over all runs.
pub fn summarize_report(path: &Path) -> Result<ReportOverview, ReportError> {
    let pass = read_pass(path)?;
    let log = audit::read(path)?;
    let audit_runs = log.runs();
    let mut overview = ReportOverview {
        report: path.to_path_buf(),
        ..ReportOverview::default()
    };
    let last_digests: HashMap<String, Option<String>> = pass
        .runs
        .iter()
        .map(|a| (a.view.run_id.clone(), a.last_digest.clone()))
        .collect();
    overview.runs = run_views(pass.runs, &audit_runs);
    let revocations: Vec<(String, String)> = overview
        .runs
        .iter()
        .filter(|v| v.command == "run")
        .filter_map(|v| Some((v.started_at.clone()?, v.run_id.clone())))
        .collect();
    (overview.plans, overview.plans_problem) =
        super::plans::of(path, &revocations).unwrap_or_else(|e| (Vec::new(), Some(e.to_string())));
    count_latest(&mut overview, pass.latest.into_values().collect());
    overview.timeline = pass.timeline;
    overview.groups = super::groups::of(
        &overview.unfinished,
        &[
            Outcome::Rejected,
            Outcome::Failed,
            Outcome::Invalid,
            Outcome::StillPresent,
            Outcome::Skipped,
        ],
    );
    overview.left = super::left::per_input(&audit_runs);
    overview.plain.never_attempted += overview
        .left
        .iter()
        .filter_map(|l| l.not_attempted)
        .sum::<u64>();
    overview.chain = chain_status(&pass.verifier, &audit_runs);
    overview.reconciliation = super::reconciled::read(path);
    overview.swept = super::swept::read(path);
    overview.side_files = super::side::check(
        path,
        &log,
        &overview.chain.last,
        overview
            .reconciliation
            .as_ref()
            .and_then(|r| r.as_ref().ok()),
        overview.swept.as_ref().and_then(|r| r.as_ref().ok()),
    );
    // Every revoker that writes the chain writes an audit record: a chained report without one
    // has lost the record of what its runs never attempted.
    let missing = (pass.verifier.checked > 0 && log.records.is_empty()).then(|| {
        format!(
            "{}: the audit record is missing, so the rows its runs never attempted cannot be counted",
            audit::path_for(path).display()
        )
    });
    overview.audit_problem = log
        .broken
        .as_ref()
        .map(|(line, why)| format!("{}:{line}: {why}", audit::path_for(path).display()))
        .or(missing)
        .or_else(|| end_records_disagree(&overview.runs, &last_digests));
    overview.evidence_digest = log.digests.last().cloned();
    let run_ids: Vec<String> = audit_runs.iter().map(|(s, _)| s.run_id.clone()).collect();
    overview.signature = super::signature::view(path, &run_ids);
    overview.verification = last_verification(&overview.runs);
    overview.last_input = log.last_run_start().cloned();
    Ok(overview)
}

/// Each run from its rows, with its audit record attached; runs that wrote no row from their audit
/// record alone (a run that found nothing to send); oldest first.
fn run_views(runs: Vec<Acc>, audit_runs: &[(&AuditRecord, Option<&AuditRecord>)]) -> Vec<RunView> {
    let mut views = Vec::new();
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
        views.push(view);
    }
    for (start, end) in audit_runs {
        if !views.iter().any(|v| v.run_id == start.run_id) {
            let mut view = RunView {
                run_id: start.run_id.clone(),
                ..RunView::default()
            };
            attach(&mut view, start, *end);
            views.push(view);
        }
    }
    views.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    views
}

fn chain_status(
    verifier: &Verifier,
    audit_runs: &[(&AuditRecord, Option<&AuditRecord>)],
) -> ChainStatus {
    let mut chain = ChainStatus {
        intact: verifier.broken.is_none(),
        rows_checked: verifier.checked,
        rows_unchained: verifier.unchained,
        last: verifier.last().to_string(),
        first_bad_line: verifier.broken.as_ref().map(|b| b.0),
        problem: verifier.broken.as_ref().map(|b| b.1.clone()),
    };
    if chain.intact {
        // Rows cut off the end leave the chain intact; the audit records' final digests do not.
        for (start, end) in audit_runs {
            let Some(end) = end else { continue };
            if let (Some(digest), Some(written)) = (&end.chain, end.rows_written)
                && written > 0
                && !verifier.seen.contains_key(digest)
            {
                chain.intact = false;
                chain.problem = Some(format!(
                    "run {} recorded {written} rows ending at chain digest {digest}, which the report does not contain: rows were deleted or the report was replaced",
                    start.run_id
                ));
                break;
            }
        }
    }
    chain
}

/// An end record that does not say what its run's rows say: its row count, its counts per
/// outcome, its final digest, or an exit code 0 over rows that are not finished.
fn end_records_disagree(
    runs: &[RunView],
    last_digests: &HashMap<String, Option<String>>,
) -> Option<String> {
    for run in runs {
        let Some(end) = run.audit.as_ref().and_then(|a| a.end.as_ref()) else {
            continue;
        };
        let rows: u64 = run.rows.values().sum();
        let id = &run.run_id;
        if let Some(written) = end.rows_written
            && written != rows
        {
            return Some(format!(
                "run {id}'s end record says it wrote {written} rows; the report has {rows}"
            ));
        }
        if let Some(outcomes) = &end.outcomes {
            for outcome in Outcome::ALL {
                let said = outcomes.get(outcome.as_str()).copied().unwrap_or(0);
                let has = run.rows.get(&outcome).copied().unwrap_or(0);
                if said != has {
                    return Some(format!(
                        "run {id}'s end record counts {said} {outcome} rows; the report has {has}"
                    ));
                }
            }
        }
        if rows > 0
            && let (Some(chain), Some(Some(last))) = (&end.chain, last_digests.get(id))
            && chain != last
        {
            return Some(format!(
                "run {id}'s end record ends at chain digest {chain}; its last row's is {last}"
            ));
        }
        let unfinished = run
            .rows
            .iter()
            .filter(|(o, _)| !o.is_settled())
            .map(|(_, n)| n)
            .sum::<u64>()
            + end.not_attempted.unwrap_or(0);
        if end.exit_code == Some(crate::vocab::exit::OK) && unfinished > 0 {
            return Some(format!(
                "run {id}'s end record says exit code 0, yet {unfinished} of its rows are not finished"
            ));
        }
    }
    None
}

fn last_verification(runs: &[RunView]) -> Option<VerificationView> {
    runs.iter()
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
        })
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
