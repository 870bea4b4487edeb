//! One owed row, one first sighting, one abandonment: the ledger's records.

use super::Latest;
use super::clock;
use crate::vocab::Target;

/// A row the job still owes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OwedRow {
    pub kind: String,
    /// The project or organization; empty for a global key.
    #[serde(default)]
    pub scope: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret: String,
    /// A project row's organization, when the input named it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub org: String,
    /// When a run of the job was first given the row and did not finish it (RFC 3339).
    pub first_owed: String,
    /// Nights (UTC days with a run) that left the row unfinished.
    #[serde(default)]
    pub nights: u32,
    /// Requests sent for it over all nights.
    #[serde(default)]
    pub attempts: u32,
    /// The outcome that left it owed (`pending` before its first run ended).
    pub last_outcome: String,
    #[serde(default)]
    pub last_reason: String,
    /// The UTC day of the last night counted, and the run whose attempts were counted last.
    #[serde(default)]
    pub last_day: i64,
    #[serde(default)]
    pub last_run: String,
}

impl OwedRow {
    pub fn new(target: &Target, org: Option<String>, now: i64) -> OwedRow {
        OwedRow {
            kind: target.kind.to_string(),
            scope: target.scope_text(),
            key: target.key_text(),
            secret: target.secret_text(),
            org: org.unwrap_or_default(),
            first_owed: clock::text(now),
            nights: 0,
            attempts: 0,
            last_outcome: "pending".into(),
            last_reason: "given to a run that has not ended".into(),
            last_day: i64::MIN,
            last_run: String::new(),
        }
    }

    /// The credential the row names.
    pub fn target(&self) -> Option<Target> {
        Target::parse(&self.kind, &self.scope, &self.key, &self.secret)
    }

    /// The row as `revoker ledger` lists it and `abandon` takes it: `kind/scope/key[/secret]`.
    pub fn name(&self) -> String {
        let mut name = format!("{}/{}/{}", self.kind, self.scope, self.key);
        if !self.secret.is_empty() {
            name.push('/');
            name.push_str(&self.secret);
        }
        name
    }

    /// Whole days since it was first owed.
    pub fn age_days(&self, now: i64) -> i64 {
        clock::parse(&self.first_owed).map_or(0, |t| (now - t).max(0) / 86_400)
    }

    /// Counts tonight (once a UTC day) and what the report says of the row.
    pub(super) fn owed_tonight(&mut self, last: Option<&Latest>, now: i64) {
        let today = clock::day(now);
        if self.last_day != today {
            self.nights += 1;
            self.last_day = today;
        }
        match last {
            Some(l) => {
                if l.run_id != self.last_run {
                    self.attempts = self.attempts.saturating_add(l.attempts);
                    self.last_run = l.run_id.clone();
                }
                self.last_outcome = l.outcome.to_string();
                self.last_reason = l.message.clone();
            }
            // Not attempted tonight (a stop, a refused run): the last answer it had stands.
            None if self.last_outcome == "pending" => {
                self.last_outcome = "not_attempted".into();
                self.last_reason = "no run has sent it yet".into();
            }
            None => {}
        }
    }
}

/// A credential without a creation date, and when this job's selection first saw it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Seen {
    pub kind: String,
    pub key: String,
    pub at: String,
}

impl Seen {
    pub fn new(kind: &str, key: &str, now: i64) -> Seen {
        Seen {
            kind: kind.into(),
            key: key.to_lowercase(),
            at: clock::text(now),
        }
    }

    pub fn at_seconds(&self) -> Option<i64> {
        clock::parse(&self.at)
    }
}

/// A row that left the ledger by a decision: who, on which host, when, and why.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Abandoned {
    pub row: String,
    pub first_owed: String,
    pub nights: u32,
    pub at: String,
    pub user: String,
    pub host: String,
    pub reason: String,
}

impl Abandoned {
    pub fn of(row: &OwedRow, now: i64, (user, host): (&str, &str), reason: &str) -> Abandoned {
        Abandoned {
            row: row.name(),
            first_owed: row.first_owed.clone(),
            nights: row.nights,
            at: clock::text(now),
            user: user.into(),
            host: host.into(),
            reason: reason.into(),
        }
    }
}
