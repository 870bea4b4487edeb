//! The live figures of a run, shared by the API client (requests, challenges, 429s, tokens), the
//! engine (outcomes, retries) and everything that reads them: the progress display, the summary and
//! the metrics file.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::vocab::Outcome;

/// Counters of one run; every field only grows.
#[derive(Debug, Default)]
pub struct Figures {
    /// HTTP requests sent to the API, digest challenges and list pages included (not token requests).
    pub requests: AtomicU64,
    /// Answers that were a digest challenge (401 with a new nonce).
    pub challenges: AtomicU64,
    /// HTTP answers of any status, challenges included: the server is there.
    pub responses: AtomicU64,
    /// 429 answers.
    pub throttled: AtomicU64,
    /// Attempts after the first, over all rows.
    pub retries: AtomicU64,
    /// Requests to the OAuth token endpoint.
    pub token_requests: AtomicU64,
    /// Rows this run has to do (valid, first of their copies, not finished before).
    pub total: AtomicU64,
    /// Rows whose first request went out.
    pub started: AtomicU64,
    /// Report rows written, per outcome in the order of [`Outcome::ALL`].
    pub outcomes: [AtomicU64; Outcome::ALL.len()],
}

impl Figures {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn count(&self, outcome: Outcome) -> u64 {
        Self::get(&self.outcomes[outcome.index()])
    }

    pub fn add_outcome(&self, outcome: Outcome) {
        Self::bump(&self.outcomes[outcome.index()]);
    }

    /// Report rows written so far.
    pub fn written(&self) -> u64 {
        self.outcomes.iter().map(Self::get).sum()
    }
}
