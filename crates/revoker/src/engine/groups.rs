//! Refused and failed rows, grouped for the log: one line per project (or organization) and reason,
//! with the count and the first few input lines. The report has every row; a cron mail needs one line
//! per problem, not one per key.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::report::{Outcome, Record};

/// Input lines named per group; the rest are counted.
const LINES_SHOWN: usize = 5;

#[derive(Default)]
struct Group {
    count: u64,
    lines: Vec<u64>,
    detail: String,
}

/// The groups of one run.
#[derive(Default)]
pub struct Groups {
    groups: Mutex<BTreeMap<(String, Outcome, String), Group>>,
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

impl Groups {
    /// Counts a rejected or failed row.
    pub fn add(&self, scope_word: &str, record: &Record) {
        if !matches!(record.outcome, Outcome::Rejected | Outcome::Failed) {
            return;
        }
        let reason = match (record.http_status, record.error_code.as_str()) {
            (Some(status), "") => format!("HTTP {status}"),
            (Some(status), code) => format!("HTTP {status} {code}"),
            (None, _) => "no answer".to_string(),
        };
        let key = (
            format!("{scope_word} {}", record.project),
            record.outcome,
            reason,
        );
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let group = groups.entry(key).or_default();
        group.count += 1;
        if group.lines.len() < LINES_SHOWN {
            group.lines.push(record.line);
        }
        if group.detail.is_empty() {
            group.detail = crate::text::clip(&record.message, 160);
        }
    }

    /// One line per group, most rows first.
    pub fn lines(&self) -> Vec<String> {
        let groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<(u64, String)> = groups
            .iter()
            .map(|((scope, outcome, reason), g)| {
                let rows = if g.count == 1 { "row" } else { "rows" };
                let mut lines = g.lines.clone();
                lines.sort_unstable();
                (
                    g.count,
                    format!(
                        "{outcome}: {} {rows} of {scope}: {reason} ({}) — {}",
                        g.count,
                        g.detail,
                        lines_text(&lines, g.count)
                    ),
                )
            })
            .collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.0));
        out.into_iter().map(|(_, line)| line).collect()
    }
}
