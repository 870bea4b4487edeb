//! The results report and the files kept beside it.
//!
//! - `REPORT` — an append-only CSV with one row per attempted input row per run, written by one
//!   thread and flushed per row; every row carries a SHA-256 digest chained to the previous row's, so
//!   an edited, inserted, reordered or deleted row is found ([`chain`]). The report file itself is the
//!   lock that keeps two runs off it ([`lock`]).
//! - `REPORT.audit.jsonl` — who ran what, when, against which API and input, and how it ended
//!   ([`audit`]).
//! - `REPORT.sent` — the write-ahead journal of rows sent without a definite answer yet ([`journal`]).
//!
//! [`reader`] reads reports tolerantly (a torn last line from a crash is ignored), [`overview`] sums
//! a report up, [`render`] shows it as text or JSON and [`html`] as a page for reviewers.

pub mod audit;
pub mod chain;
pub mod files;
pub mod groups;
pub mod html;
mod journal;
pub mod left;
mod lock;
pub mod metrics;
pub mod overview;
pub mod plans;
mod reader;
pub mod reconciled;
pub mod render;
pub mod side;
pub mod signature;
mod summary;
pub mod swept;
mod writer;

use std::path::{Path, PathBuf};

pub use crate::vocab::Outcome;
pub use journal::SentJournal;
pub use lock::ReportLock;
pub use overview::{ReportOverview, summarize_report};
pub use reader::{ReportState, read_records, read_state};
pub use summary::Summary;
pub use writer::{ReportSink, ReportWriter, Written, chain_of};

/// The report's columns, in order. Reports written before `secret` and `chain` existed have only the
/// first twelve, and those written before `public_key` the first fourteen; they still read and
/// resume (a resumed report keeps its header's columns).
pub const HEADER: [&str; 15] = [
    "run_id",
    "finished_at",
    "line",
    "kind",
    "project",
    "key",
    "outcome",
    "http_status",
    "error_code",
    "attempts",
    "duration_ms",
    "message",
    "secret",
    "chain",
    "public_key",
];

/// Columns of reports written before the chain.
pub const OLD_COLUMNS: usize = 12;

/// Columns of reports written with the chain, before `public_key`.
pub const CHAINED_COLUMNS: usize = 14;

/// The `chain` column: the digest of every other cell of its row (and the row before).
pub const CHAIN: usize = 13;

/// One report row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub run_id: String,
    pub finished_at: String,
    /// The input line of the row.
    pub line: u64,
    pub kind: String,
    /// The project, or for organization-wide kinds the organization.
    pub project: String,
    pub key: String,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub error_code: String,
    pub attempts: u32,
    pub duration_ms: u64,
    pub message: String,
    /// The secret id of a `service-account-secret` row, else empty.
    pub secret: String,
    /// An API key's public key as the run's lists showed it before deletion (events name keys by
    /// it); empty when unknown. Never a private value.
    pub public_key: String,
}

impl Record {
    /// A row of `run_id` for input line `line`, finished now, its cells empty until
    /// [`Record::naming`] or set by hand.
    pub fn new(run_id: &str, line: u64, outcome: Outcome, message: String) -> Record {
        Record {
            run_id: run_id.to_string(),
            finished_at: timestamp(),
            line,
            kind: String::new(),
            project: String::new(),
            key: String::new(),
            outcome,
            http_status: None,
            error_code: String::new(),
            attempts: 0,
            duration_ms: 0,
            message,
            secret: String::new(),
            public_key: String::new(),
        }
    }

    /// The row with `target`'s cells.
    pub fn naming(mut self, target: &crate::input::Target) -> Record {
        self.kind = target.kind.to_string();
        self.project = target.scope_text();
        self.key = target.key_text();
        self.secret = target.secret_text();
        self
    }

    /// The row of an input row that is not a target, its cells as the input had them.
    pub fn of_raw(mut self, raw: crate::input::RawRow) -> Record {
        self.kind = raw.kind;
        self.project = raw.scope;
        self.key = raw.key;
        self.secret = raw.secret;
        self
    }

    /// The row's identity, if its cells name a valid target (invalid rows hold whatever the input had).
    pub fn target(&self) -> Option<crate::input::Target> {
        crate::input::Target::parse(&self.kind, &self.project, &self.key, &self.secret)
    }
}

/// Errors of the report files.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "{path}: the report already exists; pass --resume to continue that run, or choose another --report path"
    )]
    Exists { path: PathBuf },
    #[error("{path}:{line}: {reason}")]
    Malformed {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("{path}: another revoker run{} is using this report; wait for it or stop it", holder.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked { path: PathBuf, holder: Option<u32> },
    #[error(
        "{path}: no such report, so there is nothing to resume; drop --resume to start a new one"
    )]
    NothingToResume { path: PathBuf },
    #[error("{path}: refusing to write over {what}; choose another path")]
    WouldOverwrite { path: PathBuf, what: String },
}

impl ReportError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
        move |cause| ReportError::Io {
            path: path.to_path_buf(),
            cause,
        }
    }
}

impl crate::vocab::ExitCode for ReportError {
    /// 4 when another run holds the report, else 2.
    fn exit_code(&self) -> i32 {
        match self {
            ReportError::Locked { .. } => crate::vocab::exit::LOCKED,
            _ => crate::vocab::exit::USAGE,
        }
    }
}

/// A path beside the report: `PATH.sent`, `PATH.audit.jsonl`.
pub fn sidecar(report: &Path, suffix: &str) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The report's path with symbolic links resolved (the file itself when it exists, else its folder),
/// so that two names for one report are one report.
pub fn canonical(report: &Path) -> PathBuf {
    if let Ok(path) = std::fs::canonicalize(report) {
        return path;
    }
    let dir = report
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (std::fs::canonicalize(dir), report.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => report.to_path_buf(),
    }
}

/// Refuses to write `out` when it is the report, one of its side files, or the input: the files a
/// resume and the evidence depend on.
pub fn refuse_overwrite(
    out: &Path,
    report: &Path,
    input: Option<&Path>,
) -> Result<(), ReportError> {
    files::refuse_protected(out, &files::protected(report, input))
}

/// Cells that a spreadsheet would run as a formula get a leading `'`; so does a cell that already
/// begins with `'`, so that [`unescape_cell`] restores every value exactly.
pub fn escape_cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\'') => format!("'{value}").into(),
        _ => value.into(),
    }
}

/// Undoes [`escape_cell`].
pub fn unescape_cell(value: &str) -> &str {
    value.strip_prefix('\'').unwrap_or(value)
}

/// A new run id: the start time and a random suffix, e.g. `20261124T172600Z-3fa9`.
pub fn new_run_id() -> String {
    let now = jiff::Timestamp::now();
    format!(
        "{}-{:04x}",
        now.strftime("%Y%m%dT%H%M%SZ"),
        rand::random::<u16>()
    )
}

/// Now, as written in `finished_at`.
pub fn timestamp() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The report path when none is given: beside the input, `INPUT.report.csv`.
pub fn default_report_path(input: &Path) -> Option<PathBuf> {
    if input.as_os_str() == "-" {
        return None;
    }
    let mut name = input.as_os_str().to_owned();
    name.push(".report.csv");
    Some(PathBuf::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_round_trip() {
        for value in [
            "=1+2", "+1", "-x", "@SUM(A1)", "'quoted", "''", "plain", "", "\tx",
        ] {
            let escaped = escape_cell(value);
            assert!(
                !escaped.starts_with(['=', '+', '-', '@']),
                "{value:?} escaped to {escaped:?}"
            );
            assert_eq!(unescape_cell(&escaped), value);
        }
    }

    #[test]
    fn the_report_and_its_side_files_are_never_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.csv");
        std::fs::write(&report, "x").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&report, &link).unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "x").unwrap();
        for (out, what) in [
            (report.clone(), "the report"),
            (link, "the report"),
            (dir.path().join("r.csv.sent"), "the report's journal"),
            (
                dir.path().join("./r.csv.audit.jsonl"),
                "the report's audit record",
            ),
            (input.clone(), "the input"),
        ] {
            let err = refuse_overwrite(&out, &report, Some(&input)).unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
        }
        assert!(refuse_overwrite(&dir.path().join("left.csv"), &report, Some(&input)).is_ok());
    }
}
