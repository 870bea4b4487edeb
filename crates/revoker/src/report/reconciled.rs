//! `REPORT.reconciled.json`: the last `verify --events` of a report, kept beside it (written whole,
//! atomically) so that `report` and the HTML page show it. Like a plan of an existing report it is
//! not part of the report's evidence — `verify --events` changes no byte of the report or its
//! audit record — so it names the report's chain digest it was made against: a report that has
//! grown or changed since is said so, and nothing is claimed of its later rows.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::sidecar;

/// The file's suffix after the report's name.
pub const SUFFIX: &str = ".reconciled.json";

/// One row's verdict.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RowVerdict {
    pub line: u64,
    /// The row as log lines name it.
    pub row: String,
    /// `corroborated`, `uncorroborated`, `deleted_by_another` or `not_found_unexplained`.
    pub verdict: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub why: String,
}

/// A deletion by the runs' credential that no row records.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UnrecordedDeletion {
    pub event_id: String,
    pub event_type: String,
    pub created: String,
    pub what: String,
}

/// What `verify --events` found, as kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reconciled {
    /// When it was made (UTC).
    pub at: String,
    /// The runs' credential (the audit record's).
    pub credential: String,
    /// The window of the runs: first start, last audit record.
    pub window: (String, String),
    /// The report's last chain digest when it was made.
    pub chain: String,
    pub events_read: u64,
    pub rows: Vec<RowVerdict>,
    pub unrecorded: Vec<UnrecordedDeletion>,
    /// Scopes whose events could not be read: the reconciliation is incomplete.
    pub problems: Vec<String>,
}

impl Reconciled {
    fn count(&self, verdict: &str) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }

    /// Whether MongoDB's record agreed: every `done` row corroborated, no unrecorded deletion,
    /// every scope read.
    pub fn agrees(&self) -> bool {
        self.unrecorded.is_empty() && self.problems.is_empty() && self.count("uncorroborated") == 0
    }

    /// The summary line, as `verify --events` prints it and `report` shows it.
    pub fn summary(&self) -> String {
        format!(
            "{} events read between {} and {}: {} corroborated, {} uncorroborated, {} deleted by another, {} unrecorded deletions",
            self.events_read,
            self.window.0,
            self.window.1,
            self.count("corroborated"),
            self.count("uncorroborated"),
            self.count("deleted_by_another"),
            self.unrecorded.len()
        )
    }

    /// The lines after the summary: each row not corroborated, each unrecorded deletion, each
    /// scope not read.
    pub fn details(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .rows
            .iter()
            .filter(|x| x.verdict != "corroborated")
            .map(|x| format!("line {}: {} {}: {}", x.line, x.row, x.verdict, x.why))
            .collect();
        out.extend(self.unrecorded.iter().map(|u| {
            format!(
                "unrecorded: {} {} at {} by the run's credential: {} (no report row)",
                u.event_id, u.event_type, u.created, u.what
            )
        }));
        out.extend(self.problems.iter().map(|p| format!("not read: {p}")));
        out
    }

    /// `report`'s lines: when it was made, against which state of the report, and what it found.
    pub fn report_lines(&self, chain_now: &str) -> Vec<String> {
        let state = if self.chain == chain_now {
            "the report as it is now".to_string()
        } else {
            format!(
                "an earlier state of the report (chain {}); rows written since are not reconciled",
                self.chain
            )
        };
        let mut out = vec![format!(
            "events (verify --events at {}, as {}, against {state}): {}",
            self.at,
            self.credential,
            self.summary()
        )];
        out.extend(self.details().into_iter().map(|l| format!("  {l}")));
        out
    }
}

/// Reads the file beside `report`: `None` when there is none, `Err` when it cannot be read.
pub fn read(report: &Path) -> Option<Result<Reconciled, String>> {
    let path = sidecar(report, SUFFIX);
    let bytes = match crate::fsx::read_bounded(&path, crate::fsx::Links::Refuse, 64 << 20) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(format!("{}: {e}", path.display()))),
    };
    Some(serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display())))
}

/// Writes the file beside `report`, whole or not at all.
pub fn write(report: &Path, r: &Reconciled) -> Result<(), String> {
    let path = sidecar(report, SUFFIX);
    let mut bytes = serde_json::to_vec_pretty(r).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    crate::fsx::write_atomic(&path, &bytes, 0o600)
        .map_err(|e| format!("{}: cannot write the reconciliation: {e}", path.display()))
}
