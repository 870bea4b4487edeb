//! The results report: an append-only CSV with one row per input row per run, written by one thread
//! and flushed per row; a tolerant reader that ignores the torn last line a crash may leave; the
//! write-ahead journal of sent rows; the lock that keeps two runs off one report; and the summary.

mod journal;
mod lock;
mod reader;
mod summary;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};

pub use journal::SentJournal;
pub use lock::ReportLock;
pub use reader::{ReportState, read_records, read_state};
pub use summary::{ReportOverview, Summary, summarize_report};
pub use writer::{ReportSink, ReportWriter};

/// The report's columns, in order.
pub const HEADER: [&str; 12] = [
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
];

/// What became of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 200: revoked.
    Done,
    /// 404: the key or project does not exist (already gone).
    NotFound,
    /// Another 4xx that retrying cannot fix.
    Rejected,
    /// Transient errors still failing after the last attempt.
    Failed,
    /// The row itself is bad; nothing was sent.
    Invalid,
    /// Not attempted because the run stopped.
    Skipped,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Done,
        Outcome::NotFound,
        Outcome::Rejected,
        Outcome::Failed,
        Outcome::Invalid,
        Outcome::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::NotFound => "not_found",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
            Outcome::Invalid => "invalid",
            Outcome::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// A finished row is skipped by a resumed run.
    pub fn is_finished(self) -> bool {
        matches!(self, Outcome::Done | Outcome::NotFound)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One report row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub run_id: String,
    pub finished_at: String,
    pub line: u64,
    pub kind: String,
    pub project: String,
    pub key: String,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub error_code: String,
    pub attempts: u32,
    pub duration_ms: u64,
    pub message: String,
}

/// Errors of the report files.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
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
    #[error("{path}: another revoker run (pid {pid}) is using this report; wait for it or stop it")]
    Locked { path: PathBuf, pid: String },
}

impl ReportError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
        move |source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A path beside the report: `PATH.lock`, `PATH.sent`.
fn sidecar(report: &Path, suffix: &str) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
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

/// Keeps a report cell on one line: control characters are written as escapes, so that every record
/// is exactly one line and a torn write can only ever damage the last one.
pub fn one_line(value: &str) -> std::borrow::Cow<'_, str> {
    if value.chars().any(char::is_control) {
        value
            .chars()
            .flat_map(|c| c.escape_default().collect::<Vec<_>>())
            .collect::<String>()
            .into()
    } else {
        value.into()
    }
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
    fn one_line_escapes_control_characters() {
        assert_eq!(one_line("a\nb\r\u{0}"), "a\\nb\\r\\u{0}");
        assert_eq!(one_line("plain é"), "plain é");
    }
}
