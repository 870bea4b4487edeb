//! The ledger of a job: the rows it still owes across nights, when each was first owed, how many
//! nights and attempts it has taken and why it is still there; the credentials `select` has seen
//! without a creation date (first seen); and who abandoned which row and why.
//!
//! A row leaves only when a report says it is finished (`done`, `not_found`, `verified`), when
//! an exemption now covers it (recorded, with the exemption's line), or when an operator abandons
//! it by name (recorded with user, host and reason) — never by time.
//!
//! The file is one JSON document rewritten atomically ([`crate::fsx::write_atomic`]: a temporary
//! file beside it, synced, renamed over it; owner-only), not an append-only log: a ledger is a set
//! that shrinks as rows are paid, so a log would need compaction, and a rewrite leaves either the
//! old document or the new one whatever stops the process. Reads never follow a link planted at
//! its name and are bounded.

pub mod clock;
pub mod lock;
pub mod row;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::fsx::{self, Links};
use crate::vocab::{Identity, Outcome, Target};

pub use row::{Abandoned, OwedRow, Seen};

/// A ledger larger than this is not one revoker wrote.
const MAX_BYTES: u64 = 256 << 20;

/// The nights after which an owed row is escalated, unless the job says otherwise.
pub const ESCALATE_AFTER: u32 = 3;

/// What cannot be done with a ledger file.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger {path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("ledger {path}: not a revoker ledger: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("ledger {path}: {reason}")]
    NoSuchRow { path: PathBuf, reason: String },
    #[error("ledger {path}: another revoker{} is using it (its lock {}); run again when it has ended", holder.map(|p| format!(" (pid {p})")).unwrap_or_default(), lock::lock_path(path).display())]
    Locked { path: PathBuf, holder: Option<u32> },
}

impl crate::vocab::ExitCode for LedgerError {
    fn exit_code(&self) -> i32 {
        match self {
            LedgerError::Locked { .. } => crate::vocab::exit::LOCKED,
            _ => crate::vocab::exit::USAGE,
        }
    }
}

/// The ledger document.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
    /// The document's version: 1.
    pub version: u32,
    #[serde(default)]
    pub owed: Vec<OwedRow>,
    #[serde(default)]
    pub first_seen: Vec<Seen>,
    /// Rows that left by a decision rather than by a finished outcome: never removed.
    #[serde(default)]
    pub abandoned: Vec<Abandoned>,
}

impl Ledger {
    /// Reads the ledger at `path`; an absent file is an empty ledger.
    pub fn load(path: &Path) -> Result<Ledger, LedgerError> {
        let bytes = match fsx::read_bounded(path, Links::Refuse, MAX_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Ledger {
                    version: 1,
                    ..Ledger::default()
                });
            }
            Err(cause) => {
                return Err(LedgerError::Io {
                    path: path.to_path_buf(),
                    cause,
                });
            }
        };
        let ledger: Ledger =
            serde_json::from_slice(&bytes).map_err(|e| LedgerError::Malformed {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        for r in &ledger.owed {
            if r.target().is_none() {
                return Err(LedgerError::Malformed {
                    path: path.to_path_buf(),
                    reason: format!("row {} does not name a credential", r.name()),
                });
            }
        }
        Ok(ledger)
    }

    /// Reads the ledger to change it: this process holds its lock from now until it exits.
    pub fn load_to_change(path: &Path) -> Result<Ledger, LedgerError> {
        lock::hold(path)?;
        Ledger::load(path)
    }

    /// Writes the whole ledger at once, owner-only.
    pub fn save(&self, path: &Path) -> Result<(), LedgerError> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| LedgerError::Malformed {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        text.push('\n');
        fsx::write_atomic(path, text.as_bytes(), fsx::PRIVATE).map_err(|cause| LedgerError::Io {
            path: path.to_path_buf(),
            cause,
        })
    }

    /// The owed rows' identities, in this process's hashing.
    pub fn identities(&self) -> HashSet<Identity> {
        self.owed
            .iter()
            .filter_map(|r| r.target().map(|t| t.identity()))
            .collect()
    }

    /// Records `rows` as owed from `now` unless already owed: before anything is sent, so that a
    /// run killed at any point leaves every row it was given in the ledger.
    pub fn owe(&mut self, rows: impl IntoIterator<Item = (Target, Option<String>)>, now: i64) {
        let mut have = self.identities();
        for (target, org) in rows {
            if have.insert(target.identity()) {
                self.owed.push(OwedRow::new(&target, org, now));
            }
        }
    }

    /// Settles the owed rows against the latest outcome of each row in a report: finished rows
    /// leave, exempt rows leave with a record, the rest stay with this night counted.
    pub fn settle(&mut self, latest: &HashMap<Identity, Latest>, now: i64) -> Settled {
        let mut settled = Settled::default();
        let mut kept = Vec::with_capacity(self.owed.len());
        for mut row in std::mem::take(&mut self.owed) {
            let last = row.target().and_then(|t| latest.get(&t.identity()));
            match last {
                Some(l) if l.outcome.is_finished() => settled.paid += 1,
                Some(l) if l.outcome == Outcome::Exempt => {
                    settled.exempted += 1;
                    let reason = format!("exempt: {}", l.message);
                    self.abandoned
                        .push(Abandoned::of(&row, now, ("revoker", "-"), &reason));
                }
                _ => {
                    row.owed_tonight(last, now);
                    kept.push(row);
                }
            }
        }
        self.owed = kept;
        settled
    }

    /// Rows owed for more than `after` nights, the oldest first.
    pub fn escalated(&self, after: u32) -> Vec<&OwedRow> {
        let mut rows: Vec<&OwedRow> = self.owed.iter().filter(|r| r.nights > after).collect();
        rows.sort_by(|a, b| {
            (a.first_owed.as_str(), a.name()).cmp(&(b.first_owed.as_str(), b.name()))
        });
        rows
    }

    /// Owed rows per age in whole days.
    pub fn by_age(&self, now: i64) -> std::collections::BTreeMap<i64, u64> {
        let mut ages = std::collections::BTreeMap::new();
        for r in &self.owed {
            *ages.entry(r.age_days(now)).or_insert(0) += 1;
        }
        ages
    }

    /// Takes the rows `names` name out of the ledger, each recorded with who and why. A name is a
    /// row as `revoker ledger` lists it (`kind/scope/key[/secret]`), or a key that names exactly
    /// one owed row. Nothing changes unless every name matches.
    pub fn abandon(
        &mut self,
        path: &Path,
        names: &[String],
        (user, host): (&str, &str),
        reason: &str,
        now: i64,
    ) -> Result<Vec<String>, LedgerError> {
        let mut chosen: HashSet<usize> = HashSet::new();
        for name in names {
            let hits: Vec<usize> = self
                .owed
                .iter()
                .enumerate()
                .filter(|(_, r)| r.name() == *name)
                .map(|(i, _)| i)
                .collect();
            let hits = if hits.is_empty() {
                self.owed
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.key.eq_ignore_ascii_case(name))
                    .map(|(i, _)| i)
                    .collect()
            } else {
                hits
            };
            match hits.as_slice() {
                [one] => {
                    chosen.insert(*one);
                }
                [] => {
                    return Err(LedgerError::NoSuchRow {
                        path: path.to_path_buf(),
                        reason: format!("{name} is not owed (revoker ledger lists what is)"),
                    });
                }
                many => {
                    let rows: Vec<String> = many.iter().map(|i| self.owed[*i].name()).collect();
                    return Err(LedgerError::NoSuchRow {
                        path: path.to_path_buf(),
                        reason: format!(
                            "{name} names {} rows ({}): name each as kind/scope/key",
                            many.len(),
                            rows.join(", ")
                        ),
                    });
                }
            }
        }
        let mut gone = Vec::new();
        let mut kept = Vec::new();
        for (i, row) in std::mem::take(&mut self.owed).into_iter().enumerate() {
            if chosen.contains(&i) {
                gone.push(row.name());
                self.abandoned
                    .push(Abandoned::of(&row, now, (user, host), reason));
            } else {
                kept.push(row);
            }
        }
        self.owed = kept;
        Ok(gone)
    }

    /// When this ledger first saw `key` (a credential without a creation date), recording `now`
    /// when it had not.
    pub fn first_seen(&mut self, kind: &str, key: &str, now: i64) -> i64 {
        if let Some(s) = self
            .first_seen
            .iter()
            .find(|s| s.kind == kind && s.key.eq_ignore_ascii_case(key))
        {
            return s.at_seconds().unwrap_or(now);
        }
        self.first_seen.push(Seen::new(kind, key, now));
        now
    }
}

/// A row's latest outcome in a report, as the ledger needs it.
#[derive(Clone, Debug)]
pub struct Latest {
    pub outcome: Outcome,
    pub message: String,
    pub attempts: u32,
    pub run_id: String,
}

/// What one settlement did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// Rows that left as finished.
    pub paid: u64,
    /// Rows that left because an exemption now covers them.
    pub exempted: u64,
}

/// The owed rows as Prometheus lines: `revoker_owed_rows{job,age_days}` and the escalated count.
pub fn metrics(ledger: &Ledger, job: &str, now: i64, after: u32) -> String {
    let job = job.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::from(
        "# HELP revoker_owed_rows Rows the job's ledger still owes, per age in days since first owed.\n# TYPE revoker_owed_rows gauge\n",
    );
    let ages = ledger.by_age(now);
    if ages.is_empty() {
        out.push_str(&format!(
            "revoker_owed_rows{{job=\"{job}\",age_days=\"0\"}} 0\n"
        ));
    }
    for (age, n) in ages {
        out.push_str(&format!(
            "revoker_owed_rows{{job=\"{job}\",age_days=\"{age}\"}} {n}\n"
        ));
    }
    out.push_str(&format!(
        "# HELP revoker_owed_rows_escalated Rows owed for more than escalate_after nights.\n# TYPE revoker_owed_rows_escalated gauge\nrevoker_owed_rows_escalated{{job=\"{job}\"}} {}\n",
        ledger.escalated(after).len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Kind, ObjectId};

    fn target(n: u8) -> Target {
        Target {
            kind: Kind::ProjectApiKey,
            scope: ObjectId::from_bytes([1; 12]),
            key: ObjectId::from_bytes([n; 12]),
            secret: None,
        }
    }

    fn latest(t: &Target, outcome: Outcome) -> (Identity, Latest) {
        (
            t.identity(),
            Latest {
                outcome,
                message: "why".into(),
                attempts: 2,
                run_id: "r1".into(),
            },
        )
    }

    #[test]
    fn rows_leave_only_when_finished_and_nights_count_once_a_day() {
        let mut l = Ledger::default();
        l.owe([(target(2), None), (target(3), None)], 0);
        l.owe([(target(2), None)], 10);
        assert_eq!(l.owed.len(), 2);
        let report: HashMap<_, _> = [
            latest(&target(2), Outcome::Failed),
            latest(&target(3), Outcome::NotFound),
        ]
        .into();
        let s = l.settle(&report, 0);
        assert_eq!(s.paid, 1);
        assert_eq!(l.owed.len(), 1);
        assert_eq!((l.owed[0].nights, l.owed[0].attempts), (1, 2));
        // The same night again (a resume): one night, the same run's attempts once.
        l.settle(&report, 3600);
        assert_eq!((l.owed[0].nights, l.owed[0].attempts), (1, 2));
        // Four nights later, without a row in the report (never attempted): still owed.
        for night in 1..=4 {
            l.settle(&HashMap::new(), night * 86_400);
        }
        assert_eq!(l.owed[0].nights, 5);
        assert_eq!(
            l.owed[0].last_outcome, "failed",
            "the last answer it had stands"
        );
        assert_eq!(l.escalated(3).len(), 1);
        assert_eq!(
            l.by_age(4 * 86_400).into_iter().collect::<Vec<_>>(),
            [(4, 1)]
        );
    }

    #[test]
    fn abandon_needs_an_unambiguous_name_and_records_who_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.json");
        let mut l = Ledger::default();
        l.owe([(target(2), None), (target(3), None)], 0);
        let name = l.owed[0].name();
        let err = l
            .abandon(&path, &["nope".into()], ("u", "h"), "why", 5)
            .unwrap_err();
        assert!(err.to_string().contains("nope is not owed"), "{err}");
        let gone = l
            .abandon(
                &path,
                std::slice::from_ref(&name),
                ("alice", "box"),
                "project deleted",
                5,
            )
            .unwrap();
        assert_eq!(gone, [name]);
        assert_eq!(l.owed.len(), 1);
        assert_eq!(
            (l.abandoned[0].user.as_str(), l.abandoned[0].reason.as_str()),
            ("alice", "project deleted")
        );
        l.save(&path).unwrap();
        assert_eq!(Ledger::load(&path).unwrap(), l);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_link_at_the_ledgers_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "{\"version\":1}").unwrap();
        let link = dir.path().join("l.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(Ledger::load(&link).is_err());
    }
}
