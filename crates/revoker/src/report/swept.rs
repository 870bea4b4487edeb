//! `REPORT.swept.json`: the last sweep of a report's compromised credentials (`sweep --report
//! REPORT`, or a job's `[sweep]` beside the report it starts), kept beside it whole so that
//! `report` and the HTML page show what those credentials did. Like the reconciliation it is not
//! part of the report's evidence: it says when it was made and over which window, and claims
//! nothing of events outside it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::sidecar;

/// The file's suffix after the report's name.
pub const SUFFIX: &str = ".swept.json";

/// One credential's activity in the window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivityView {
    pub events: u64,
    pub by_type: BTreeMap<String, u64>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub addresses: Vec<String>,
    /// For a credential a compromised one made: the event that made it, and by whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// What a sweep found, as kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweptView {
    /// When it was made (UTC).
    pub at: String,
    /// The credential it read with.
    pub acting_as: String,
    /// Events were read from this instant to `at`.
    pub since: String,
    pub events_read: u64,
    pub scopes: u64,
    pub requests: u64,
    /// Each credential's activity, by its name.
    pub activity: BTreeMap<String, ActivityView>,
    /// The follow-up rows: `(row, why)`.
    pub follow_up: Vec<(String, String)>,
    /// What a person must remove: `(what, event)`.
    pub handover: Vec<(String, String)>,
    /// Scopes whose events could not be read: the sweep is incomplete.
    pub problems: Vec<String>,
    /// The SHA-256 of the file as read (not in the file): a job's start line records the sweep it
    /// made by this digest, which `report` checks.
    #[serde(skip)]
    pub sha256: String,
}

impl SweptView {
    /// The summary line.
    pub fn summary(&self) -> String {
        format!(
            "sweep at {} as {}: {} events of {} organizations and projects since {}: {} credentials active, {} follow-up rows, {} to hand over{}",
            self.at,
            self.acting_as,
            self.events_read,
            self.scopes,
            self.since,
            self.activity.len(),
            self.follow_up.len(),
            self.handover.len(),
            if self.problems.is_empty() {
                String::new()
            } else {
                format!(", {} scopes NOT READ (incomplete)", self.problems.len())
            }
        )
    }

    /// One line per credential's activity.
    pub fn activity_lines(&self) -> Vec<String> {
        self.activity
            .iter()
            .map(|(who, a)| {
                let types: Vec<String> =
                    a.by_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
                format!(
                    "{who}: {} events{} ({}), first {}, last {}, from {}",
                    a.events,
                    a.created_by
                        .as_ref()
                        .map(|c| format!(", created by {c}"))
                        .unwrap_or_default(),
                    types.join(", "),
                    a.first_seen.as_deref().unwrap_or("-"),
                    a.last_seen.as_deref().unwrap_or("-"),
                    if a.addresses.is_empty() {
                        "-".to_string()
                    } else {
                        a.addresses.join(" ")
                    }
                )
            })
            .collect()
    }

    /// `report`'s lines: the summary, each credential's activity, what is left to a person.
    pub fn report_lines(&self) -> Vec<String> {
        let mut out = vec![self.summary()];
        out.extend(self.activity_lines().into_iter().map(|l| format!("  {l}")));
        out.extend(
            self.handover
                .iter()
                .map(|(what, event)| format!("  hand over: {what} ({event})")),
        );
        out.extend(self.problems.iter().map(|p| format!("  not read: {p}")));
        out
    }
}

/// The SHA-256 of the file's bytes, as a job's start line records it.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// Reads the file beside `report`: `None` when there is none, `Err` when it cannot be read.
pub fn read(report: &Path) -> Option<Result<SweptView, String>> {
    let path = sidecar(report, SUFFIX);
    let bytes = match crate::fsx::read_bounded(&path, crate::fsx::Links::Refuse, 64 << 20) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(format!("{}: {e}", path.display()))),
    };
    let view = serde_json::from_slice::<SweptView>(&bytes).map(|v| SweptView {
        sha256: sha256(&bytes),
        ..v
    });
    Some(view.map_err(|e| format!("{}: {e}", path.display())))
}

/// Writes the file beside `report`, whole or not at all; answers its SHA-256.
pub fn write(report: &Path, s: &SweptView) -> Result<String, String> {
    let path = sidecar(report, SUFFIX);
    let mut bytes = serde_json::to_vec_pretty(s).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    crate::fsx::write_atomic(&path, &bytes, 0o600)
        .map_err(|e| format!("{}: cannot write the sweep: {e}", path.display()))?;
    Ok(sha256(&bytes))
}
