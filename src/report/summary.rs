//! The summary of a run: counts per outcome, requests, retries, 429s, time and rate.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use super::{Outcome, Record, ReportError, read_records};

/// Figures of one run, printed at its end and by `revoker report`.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub run_id: String,
    /// Report rows written by this run, per outcome.
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Rows an earlier run had finished, not sent again.
    pub already_finished: u64,
    /// HTTP requests sent, digest challenges included (`None` when read back from a report, which
    /// does not record them).
    pub requests: Option<u64>,
    /// Attempts after the first, over all rows.
    pub retries: u64,
    /// 429 answers (`None` when read back from a report).
    pub throttled: Option<u64>,
    pub elapsed_ms: u64,
}

impl Summary {
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.outcomes.get(&outcome).copied().unwrap_or(0)
    }

    pub fn rows(&self) -> u64 {
        self.outcomes.values().sum()
    }

    /// Rows not finished: they make the exit code 1.
    pub fn unfinished(&self) -> u64 {
        Outcome::ALL
            .iter()
            .filter(|o| !o.is_finished())
            .map(|o| self.count(*o))
            .sum()
    }

    /// Rows that got a final answer from the server per second of run time.
    pub fn rate(&self) -> f64 {
        let answered = self.count(Outcome::Done)
            + self.count(Outcome::NotFound)
            + self.count(Outcome::Rejected)
            + self.count(Outcome::Failed);
        if self.elapsed_ms == 0 {
            0.0
        } else {
            answered as f64 * 1000.0 / self.elapsed_ms as f64
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elapsed = Duration::from_millis(self.elapsed_ms).as_secs_f64();
        writeln!(
            f,
            "run {}: {} rows in {elapsed:.1} s ({:.0} rows/s)",
            self.run_id,
            self.rows(),
            self.rate()
        )?;
        let counts: Vec<String> = Outcome::ALL
            .iter()
            .map(|o| format!("{o} {}", self.count(*o)))
            .collect();
        writeln!(f, "  {}", counts.join(" · "))?;
        if self.already_finished > 0 {
            writeln!(
                f,
                "  already finished by earlier runs (not sent again): {}",
                self.already_finished
            )?;
        }
        match (self.requests, self.throttled) {
            (Some(requests), Some(throttled)) => {
                write!(
                    f,
                    "  requests {requests} · retries {} · 429s {throttled}",
                    self.retries
                )
            }
            _ => write!(f, "  retries {}", self.retries),
        }
    }
}

/// Everything `revoker report` tells about a report file.
#[derive(Debug, Default, serde::Serialize)]
pub struct ReportOverview {
    /// Each run, oldest first.
    pub runs: Vec<Summary>,
    /// Per outcome, the latest outcome of every distinct row over all runs.
    pub latest: BTreeMap<Outcome, u64>,
    /// Rows whose latest outcome is not finished, in report order.
    #[serde(skip)]
    pub unfinished: Vec<Record>,
}

/// A row's identity in a report: kind, project, key, and for invalid rows (whose cells may be
/// anything) their line.
type RowKey = (String, String, String, Option<u64>);

/// Reads a report and sums it up per run and over all runs.
pub fn summarize_report(path: &Path) -> Result<ReportOverview, ReportError> {
    let mut runs: Vec<(Summary, Option<jiff::Timestamp>, Option<jiff::Timestamp>)> = Vec::new();
    // Latest record per row; invalid rows have no identity, so they are told apart by line and text.
    let mut latest: HashMap<RowKey, (u64, Record)> = HashMap::new();
    let mut order = 0u64;
    read_records(path, &mut |r| {
        if runs.last().is_none_or(|(s, _, _)| s.run_id != r.run_id) {
            runs.push((
                Summary {
                    run_id: r.run_id.clone(),
                    ..Summary::default()
                },
                None,
                None,
            ));
        }
        if let Some((summary, first, last)) = runs.last_mut() {
            *summary.outcomes.entry(r.outcome).or_default() += 1;
            summary.retries += u64::from(r.attempts.saturating_sub(1));
            if let Ok(at) = r.finished_at.parse::<jiff::Timestamp>() {
                let started = at - jiff::SignedDuration::from_millis(r.duration_ms as i64);
                *first = Some(first.map_or(started, |f| f.min(started)));
                *last = Some(last.map_or(at, |l| l.max(at)));
            }
        }
        let line = (r.outcome == Outcome::Invalid).then_some(r.line);
        order += 1;
        latest.insert(
            (r.kind.clone(), r.project.clone(), r.key.clone(), line),
            (order, r),
        );
    })?;
    let mut overview = ReportOverview::default();
    for (mut summary, first, last) in runs {
        if let (Some(first), Some(last)) = (first, last) {
            summary.elapsed_ms = (last - first).get_milliseconds().max(0) as u64;
        }
        overview.runs.push(summary);
    }
    let mut rows: Vec<(u64, Record)> = latest.into_values().collect();
    rows.sort_by_key(|(order, _)| *order);
    for (_, record) in rows {
        *overview.latest.entry(record.outcome).or_default() += 1;
        if !record.outcome.is_finished() {
            overview.unfinished.push(record);
        }
    }
    Ok(overview)
}
