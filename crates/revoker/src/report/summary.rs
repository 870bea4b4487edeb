//! The summary of a run, printed at its end: counts per outcome, rows not attempted, requests,
//! retries, 429s, time and rate, and the report's chain digest.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::Outcome;

/// Figures of one run.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub run_id: String,
    /// Report rows written by this run, per outcome; in JSON every outcome a run writes, zero
    /// included, so that the schema never depends on what happened (never `skipped`).
    #[serde(serialize_with = "every_outcome")]
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Rows an earlier run had finished, not sent again.
    pub already_finished: u64,
    /// Rows this run did not attempt because it stopped; they are not in the report, and a resumed
    /// run sends them.
    pub not_attempted: u64,
    /// HTTP requests sent, digest challenges included.
    pub requests: u64,
    /// Attempts after the first, over all rows.
    pub retries: u64,
    /// 429 answers.
    pub throttled: u64,
    /// Requests to the OAuth token endpoint.
    pub token_requests: u64,
    pub elapsed_ms: u64,
    /// The report's chain digest after this run's last row.
    pub chain: String,
}

fn every_outcome<S: serde::Serializer>(
    outcomes: &BTreeMap<Outcome, u64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(None)?;
    // A run never writes `skipped` (only reports of old revokers have it).
    for o in Outcome::ALL.into_iter().filter(|o| *o != Outcome::Skipped) {
        map.serialize_entry(o.as_str(), &outcomes.get(&o).copied().unwrap_or(0))?;
    }
    map.end()
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
            .filter(|o| !o.is_settled())
            .map(|o| self.count(*o))
            .sum::<u64>()
            + self.not_attempted
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

    /// Every row was already gone: nothing revoked, nothing left. A stale export looks like this.
    pub fn all_already_gone(&self) -> bool {
        self.count(Outcome::Done) == 0
            && self.count(Outcome::NotFound) > 0
            && self.unfinished() == 0
    }

    /// `done 3 · not_found 1 · …` over the outcomes a run writes (`skipped` only where an old row
    /// has it).
    pub fn counts_line(&self) -> String {
        Outcome::RUN
            .iter()
            .filter(|o| {
                !matches!(o, Outcome::Skipped | Outcome::Exempt | Outcome::Drifted)
                    || self.count(**o) > 0
            })
            .map(|o| format!("{o} {}", self.count(*o)))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elapsed = Duration::from_millis(self.elapsed_ms).as_secs_f64();
        writeln!(
            f,
            "run {}: {} in {elapsed:.1} s ({:.0} rows/s)",
            self.run_id,
            crate::text::plural(self.rows(), "row", "rows"),
            self.rate()
        )?;
        writeln!(f, "  {}", self.counts_line())?;
        if self.not_attempted > 0 {
            writeln!(
                f,
                "  not attempted (the run stopped; not in the report, --resume sends them): {}",
                self.not_attempted
            )?;
        }
        if self.already_finished > 0 {
            writeln!(
                f,
                "  already finished by earlier runs (not sent again): {}",
                self.already_finished
            )?;
        }
        write!(
            f,
            "  requests {} · retries {} · 429s {}",
            self.requests, self.retries, self.throttled
        )?;
        if self.token_requests > 0 {
            write!(f, " · token requests {}", self.token_requests)?;
        }
        if !self.chain.is_empty() {
            write!(f, "\n  report chain digest: {}", self.chain)?;
        }
        Ok(())
    }
}
