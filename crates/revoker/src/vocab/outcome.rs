//! What became of one row: the vocabulary of the report, the summary, the metrics and the exit code.

use std::fmt;

/// The outcome of one row in one run (a revocation run or a verification).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Any 2xx: revoked.
    Done,
    /// The API says the key, project or organization is not there (already gone).
    NotFound,
    /// A refusal that retrying cannot fix.
    Rejected,
    /// Transient errors still failing after the last attempt.
    Failed,
    /// The row itself is bad; nothing was sent.
    Invalid,
    /// Taken up but not sent because the run stopped.
    Skipped,
    /// Verification listed the project or organization and the key is absent.
    Verified,
    /// Verification found the key still there: a resumed run sends it again.
    StillPresent,
    /// On the run's exemption list: never sent, and a resume keeps it so.
    Exempt,
    /// `run --plan-file`: the plan said it would be revoked, but its state changed since (gone,
    /// reappeared, moved, its list now unreadable), or the plan did not say so: never sent.
    Drifted,
}

impl Outcome {
    pub const ALL: [Outcome; 10] = [
        Outcome::Done,
        Outcome::NotFound,
        Outcome::Rejected,
        Outcome::Failed,
        Outcome::Invalid,
        Outcome::Skipped,
        Outcome::Verified,
        Outcome::StillPresent,
        Outcome::Exempt,
        Outcome::Drifted,
    ];

    /// The outcomes a revocation run writes, in the order summaries show them.
    pub const RUN: [Outcome; 8] = [
        Outcome::Done,
        Outcome::NotFound,
        Outcome::Rejected,
        Outcome::Failed,
        Outcome::Invalid,
        Outcome::Skipped,
        Outcome::Exempt,
        Outcome::Drifted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::NotFound => "not_found",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
            Outcome::Invalid => "invalid",
            Outcome::Skipped => "skipped",
            Outcome::Verified => "verified",
            Outcome::StillPresent => "still_present",
            Outcome::Exempt => "exempt",
            Outcome::Drifted => "drifted",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// A finished row is not sent again by a resumed run.
    pub fn is_finished(self) -> bool {
        matches!(self, Outcome::Done | Outcome::NotFound | Outcome::Verified)
    }

    /// A settled row needs nothing more: finished, or exempt by the operator's choice. Neither is
    /// sent again by a resume, nor makes the exit code 1.
    pub fn is_settled(self) -> bool {
        self.is_finished() || self == Outcome::Exempt
    }

    /// What the outcome tells a reviewer, in plain words.
    pub fn meaning(self) -> &'static str {
        match self {
            Outcome::Done => "revoked by revoker",
            Outcome::NotFound => "already gone when revoker asked",
            Outcome::Rejected => "the API refused; not revoked",
            Outcome::Failed => "no usable answer after every attempt; not revoked",
            Outcome::Invalid => "a bad row; nothing was sent",
            Outcome::Skipped => "not attempted",
            Outcome::Verified => "revoked or already gone, then confirmed absent by listing",
            Outcome::StillPresent => "found still present by listing; a resume sends it again",
            Outcome::Exempt => "on the exemption list; never sent",
            Outcome::Drifted => "changed since the reviewed plan (or not in it); never sent",
        }
    }

    /// Position in [`Outcome::ALL`], for per-outcome counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
