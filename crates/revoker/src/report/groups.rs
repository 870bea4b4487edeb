//! Unfinished rows grouped: one group per project (or organization), outcome and reason, with the
//! count and the first few input lines. The report has every row; a cron mail or a terminal needs
//! one line per problem, not one per key. The engine fills [`Groups`] as rows finish; `report`
//! builds the same groups from the report's latest outcomes; [`Group::line`] renders one.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Outcome, Record};

/// Input lines named per group; the rest are counted.
pub const LINES_SHOWN: usize = 5;

/// One problem: the rows of one scope that ended the same way for the same reason.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Group {
    /// `project …` or `organization …`.
    pub scope: String,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub error_code: String,
    pub count: u64,
    /// The first input lines of the group, ascending.
    pub lines: Vec<u64>,
    /// The first row's message, clipped.
    pub detail: String,
}

/// `line 3, 7 and 9` / `lines 3, 7, 9, 12, 15 and 23 more`.
pub fn lines_text(lines: &[u64], total: u64) -> String {
    let shown: Vec<String> = lines.iter().map(u64::to_string).collect();
    let more = total.saturating_sub(lines.len() as u64);
    let word = if total == 1 { "line" } else { "lines" };
    if more > 0 {
        format!("{word} {} and {more} more", shown.join(", "))
    } else {
        format!("{word} {}", shown.join(", "))
    }
}

impl Group {
    /// `rejected: 28 rows of project …: HTTP 403 CODE (detail) — lines 3, 9 and 26 more`.
    pub fn line(&self) -> String {
        let rows = if self.count == 1 { "row" } else { "rows" };
        let reason = match (self.http_status, self.error_code.as_str()) {
            (Some(status), "") => format!("HTTP {status}"),
            (Some(status), code) => format!("HTTP {status} {code}"),
            (None, code) if !code.is_empty() => code.to_string(),
            (None, _) if self.outcome == Outcome::Failed => "no answer".to_string(),
            // No answer to read: the row was never sent (no credential of the run could).
            (None, _) if self.outcome == Outcome::Rejected => "not sent".to_string(),
            (None, _) => self.outcome.meaning().to_string(),
        };
        let detail = if self.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.detail)
        };
        format!(
            "{}: {} {rows} of {}: {reason}{detail} — {}",
            self.outcome,
            self.count,
            self.scope,
            lines_text(&self.lines, self.count)
        )
    }
}

/// `project` or `organization`, for a row's kind as written in the report.
fn scope_word(kind: &str) -> &'static str {
    crate::input::Kind::parse(kind).map_or("project", |k| k.scope().as_str())
}

type Key = (String, Outcome, Option<u16>, String);

/// Groups being counted, safe to share between the rows of a run.
#[derive(Default)]
pub struct Groups {
    groups: Mutex<BTreeMap<Key, Group>>,
}

impl Groups {
    /// Counts `record` when its outcome is among `outcomes`.
    pub fn add(&self, record: &Record, outcomes: &[Outcome]) {
        if !outcomes.contains(&record.outcome) {
            return;
        }
        let scope = format!("{} {}", scope_word(&record.kind), record.project);
        let key = (
            scope.clone(),
            record.outcome,
            record.http_status,
            record.error_code.clone(),
        );
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let group = groups.entry(key).or_insert_with(|| Group {
            scope,
            outcome: record.outcome,
            http_status: record.http_status,
            error_code: record.error_code.clone(),
            count: 0,
            lines: Vec::new(),
            detail: crate::text::clip(&record.message, 160),
        });
        group.count += 1;
        // The first lines of the input, whatever order the rows finished in.
        if group.lines.len() < LINES_SHOWN || group.lines.last().is_some_and(|l| record.line < *l) {
            let at = group.lines.partition_point(|l| *l < record.line);
            group.lines.insert(at, record.line);
            group.lines.truncate(LINES_SHOWN);
        }
    }

    /// The groups, most rows first.
    pub fn into_sorted(self) -> Vec<Group> {
        let groups = self.groups.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<Group> = groups.into_values().collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.count));
        out
    }

    /// The groups so far, most rows first, leaving them in place.
    pub fn sorted(&self) -> Vec<Group> {
        let groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        Groups {
            groups: Mutex::new(groups.clone()),
        }
        .into_sorted()
    }
}

/// Groups of every row in `rows` whose outcome is among `outcomes`.
pub fn of<'a>(rows: impl IntoIterator<Item = &'a Record>, outcomes: &[Outcome]) -> Vec<Group> {
    let groups = Groups::default();
    for r in rows {
        groups.add(r, outcomes);
    }
    groups.into_sorted()
}
