//! The side files beside a report — `REPORT.reconciled.json` (`verify --events`) and
//! `REPORT.swept.json` (a sweep) — are not evidence: neither the chain nor the signature covers
//! them, and anyone who can write the folder can write them. `report` says so, checks what the
//! audit record can check, and refuses a file that contradicts it (exit 5): a reconciliation must
//! name the runs' own credential, the first run's start as its window, and a chain digest the
//! report had; a sweep is the one a job's start line recorded by SHA-256, or is said to be
//! recorded by no run.

use std::collections::BTreeSet;
use std::path::Path;

use super::audit::AuditLog;
use super::reconciled::Reconciled;
use super::swept::SweptView;

/// A credential as the audit record and a reconciliation name it (`API key …`, `service account
/// mdb_sa_id_…`), compared without case or surrounding spaces.
fn same_credential(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// What `report` says of the side files, and what in them contradicts the audit record.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct SideFiles {
    /// One line per side file present: unsigned, and what was checked.
    pub notes: Vec<String>,
    /// Contradictions with the audit record: `report` exits 5.
    pub problems: Vec<String>,
}

/// The run starts of the audit record (`command` = `run`).
fn run_starts(log: &AuditLog) -> impl Iterator<Item = &super::audit::AuditRecord> {
    log.records
        .iter()
        .filter(|r| r.event == "start" && r.command == "run")
}

/// What in reconciliation `r` contradicts the audit record.
fn reconciliation_problems(r: &Reconciled, log: &AuditLog, chain_now: &str) -> Vec<String> {
    let mut out = Vec::new();
    let credentials: BTreeSet<String> = run_starts(log)
        .filter_map(|s| s.credential.clone())
        .collect();
    let agrees = credentials
        .iter()
        .any(|c| same_credential(c, &r.credential));
    if !agrees {
        let runs: Vec<&str> = credentials.iter().map(String::as_str).collect();
        out.push(format!(
            "it names the credential {:?}, but the runs signed in as {}",
            r.credential,
            if runs.is_empty() {
                "no recorded credential".to_string()
            } else {
                runs.join(", ")
            }
        ));
    }
    if let Some(first) = run_starts(log).map(|s| s.at.as_str()).min()
        && r.window.0 != first
    {
        out.push(format!(
            "its window starts at {:?}, but the first run started at {first}",
            r.window.0
        ));
    }
    let chains: BTreeSet<&str> = log
        .records
        .iter()
        .flat_map(|x| [x.chain.as_deref(), x.chain_before.as_deref()])
        .flatten()
        .chain([chain_now])
        .collect();
    if !chains.contains(r.chain.as_str()) {
        out.push(format!(
            "it was made against the chain digest {:?}, which the report never had",
            r.chain
        ));
    }
    out
}

/// The verdicts `verify --events` gives a row.
const VERDICTS: [&str; 4] = [
    "corroborated",
    "uncorroborated",
    "deleted_by_another",
    "not_found_unexplained",
];

/// What in the reconciliation's rows contradicts the report: a line that is not a `done` or
/// `not_found` row of the credential it names, a verdict `verify --events` never gives, or a
/// corroboration without its event. At most three are named, then how many more.
fn row_problems(r: &Reconciled, report: &Path) -> Vec<String> {
    use std::collections::HashMap;
    let mut rows: HashMap<u64, String> = HashMap::new();
    let read = super::read_records(report, &mut |rec| {
        if matches!(rec.outcome, super::Outcome::Done | super::Outcome::NotFound)
            && let Some(t) = rec.target()
        {
            rows.insert(rec.line, t.to_string());
        }
    });
    if let Err(e) = read {
        return vec![format!(
            "its rows cannot be checked against the report: {e}"
        )];
    }
    let mut out: Vec<String> = r
        .rows
        .iter()
        .filter_map(|x| {
            if rows.get(&x.line) != Some(&x.row) {
                Some(format!(
                    "line {} is no done or not_found row of {}",
                    x.line, x.row
                ))
            } else if !VERDICTS.contains(&x.verdict.as_str()) {
                Some(format!(
                    "line {} has the verdict {:?}, which verify --events never gives",
                    x.line, x.verdict
                ))
            } else if x.verdict == "corroborated" && x.event_id.is_none() {
                Some(format!("line {} is corroborated by no event", x.line))
            } else {
                None
            }
        })
        .collect();
    if out.len() > 3 {
        let more = out.len() - 3;
        out.truncate(3);
        out.push(format!("{more} more rows like these"));
    }
    out
}

/// Which run's start line recorded sweep `s` (by its SHA-256), and the last run that recorded one.
fn sweep_recorded_by(s: &SweptView, log: &AuditLog) -> (Option<String>, Option<String>) {
    let mut by = None;
    let mut last = None;
    for start in run_starts(log) {
        let Some(recorded) = start
            .selection
            .as_ref()
            .and_then(|v| v.get("sweep"))
            .and_then(|v| v.get("file_sha256"))
            .and_then(|v| v.as_str())
        else {
            continue;
        };
        if recorded.eq_ignore_ascii_case(&s.sha256) {
            by = Some(start.run_id.clone());
        }
        last = Some(start.run_id.clone());
    }
    (by, last)
}

/// Checks the side files beside `report` against its audit record.
pub fn check(
    report: &Path,
    log: &AuditLog,
    chain_now: &str,
    reconciled: Option<&Reconciled>,
    swept: Option<&SweptView>,
) -> SideFiles {
    let mut out = SideFiles::default();
    let name = |suffix| super::sidecar(report, suffix).display().to_string();
    if let Some(r) = reconciled {
        let file = name(super::reconciled::SUFFIX);
        let mut problems = reconciliation_problems(r, log, chain_now);
        problems.extend(row_problems(r, report));
        if problems.is_empty() {
            out.notes.push(format!(
                "{file}: an unsigned side file (neither the chain nor the signature covers it); its credential, window and chain digest agree with the audit record"
            ));
        }
        out.problems.extend(
            problems
                .into_iter()
                .map(|p| format!("{file}: DISAGREES with the audit record: {p}")),
        );
    }
    if let Some(s) = swept {
        let file = name(super::swept::SUFFIX);
        let note = match sweep_recorded_by(s, log) {
            (Some(run), _) => format!(
                "{file}: an unsigned side file; it is the sweep run {run} recorded at its start (SHA-256 {})",
                s.sha256
            ),
            (None, Some(run)) => format!(
                "{file}: an unsigned side file, NOT the sweep run {run} recorded at its start (made since by `revoker sweep --report`, or edited): what it says is not evidence"
            ),
            (None, None) => format!(
                "{file}: an unsigned side file recorded by no run (`revoker sweep --report` makes it): what it says is not evidence"
            ),
        };
        out.notes.push(note);
    }
    out
}
