//! The plans recorded for a report — the state before a run: `plan` lines of its audit file (a
//! `run --plan`, or `revoker plan` before the report had rows) and `REPORT.plans.jsonl` (plans of a
//! report with rows, which a read-only command keeps out of the evidence). `report` and the page
//! show each one's time, its line's SHA-256 and what it found.

use std::collections::BTreeMap;
use std::path::Path;

use super::audit::{self, AuditRecord};
use super::{ReportError, sidecar};

/// What a plan's fates mean, in an auditor's words, in the order they are told.
const FATES: [(&str, &str); 10] = [
    ("revoke", "existed (to revoke)"),
    ("gone", "already gone"),
    ("cannot", "could not be listed"),
    ("unknown", "listed without proof either way"),
    ("exempt", "exempt"),
    ("own", "the run's own credential"),
    ("invalid", "invalid"),
    ("not_allowed", "of a kind not allowed"),
    ("duplicate", "duplicates"),
    ("finished", "finished earlier"),
];

/// One recorded plan.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PlanView {
    /// The file that holds it.
    pub file: String,
    /// When it was recorded (UTC).
    pub at: String,
    /// The SHA-256 of its line, as `revoker plan` printed it.
    pub digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_sha256: Option<String>,
    pub rows: u64,
    /// Rows per fate, as the plan counted them (`revoke`, `gone`, `cannot`, …).
    pub fates: BTreeMap<String, u64>,
    /// Lists read per answer (`complete`, `gone`, `proves nothing`, `cannot`).
    pub lists: BTreeMap<String, u64>,
    /// The first revocation run recorded after it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_run: Option<String>,
}

impl PlanView {
    /// `12 rows: 5 existed (to revoke) · 2 already gone; 3 lists read: 2 complete · 1 cannot`.
    pub fn summary(&self) -> String {
        let fates: Vec<String> = FATES
            .iter()
            .filter_map(|(f, words)| {
                self.fates
                    .get(*f)
                    .filter(|n| **n > 0)
                    .map(|n| format!("{n} {words}"))
            })
            .collect();
        let listed: u64 = self.lists.values().sum();
        let answers: Vec<String> = self.lists.iter().map(|(a, n)| format!("{n} {a}")).collect();
        format!(
            "{}: {}; {} read{}",
            crate::text::plural(self.rows, "row", "rows"),
            if fates.is_empty() {
                "none decided".to_string()
            } else {
                fates.join(" · ")
            },
            crate::text::plural(listed, "list", "lists"),
            if answers.is_empty() {
                String::new()
            } else {
                format!(": {}", answers.join(" · "))
            }
        )
    }
}

/// Every plan recorded for `report`, oldest first, and the first line of a plans file that does not
/// follow the one before it; `runs` are the report's revocation runs, `(started at, run id)`.
pub fn of(
    report: &Path,
    runs: &[(String, String)],
) -> Result<(Vec<PlanView>, Option<String>), ReportError> {
    let mut plans = Vec::new();
    let mut problem = None;
    for path in [
        audit::path_for(report),
        sidecar(report, audit::PLANS_SUFFIX),
    ] {
        let log = audit::read_at(&path)?;
        if path.to_string_lossy().ends_with(audit::PLANS_SUFFIX)
            && let Some((line, why)) = &log.broken
        {
            problem.get_or_insert(format!("{}:{line}: {why}", path.display()));
        }
        for (record, digest) in log.records.iter().zip(&log.digests) {
            if record.event == "plan" {
                plans.push(view(&path, record, digest, runs));
            }
        }
    }
    plans.sort_by(|a, b| a.at.cmp(&b.at));
    Ok((plans, problem))
}

fn view(path: &Path, r: &AuditRecord, digest: &str, runs: &[(String, String)]) -> PlanView {
    let mut lists: BTreeMap<String, u64> = BTreeMap::new();
    let plan = r.plan.clone().unwrap_or_default();
    for l in &plan.lists {
        let answer = l.answer.split(':').next().unwrap_or_default().trim();
        *lists.entry(answer.to_string()).or_default() += 1;
    }
    let before_run = runs
        .iter()
        .filter(|(at, _)| *at >= r.at)
        .min()
        .map(|(_, id)| id.clone());
    PlanView {
        file: path.display().to_string(),
        at: r.at.clone(),
        digest: digest.to_string(),
        credential: r.credential.clone(),
        input: r.input.clone(),
        input_sha256: r.input_sha256.clone(),
        rows: r.input_rows.unwrap_or_else(|| plan.counts.values().sum()),
        fates: plan.counts,
        lists,
        before_run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_tells_the_fates_in_words_and_the_lists_by_answer() {
        let plan = PlanView {
            rows: 8,
            fates: [("revoke", 5), ("cannot", 2), ("gone", 1)]
                .map(|(f, n)| (f.to_string(), n))
                .into(),
            lists: [("complete", 2), ("cannot", 1)]
                .map(|(a, n)| (a.to_string(), n))
                .into(),
            ..PlanView::default()
        };
        assert_eq!(
            plan.summary(),
            "8 rows: 5 existed (to revoke) · 1 already gone · 2 could not be listed; 3 lists read: 1 cannot · 2 complete"
        );
    }
}
