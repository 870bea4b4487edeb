//! Rows that occur more than once in the input: the first copy is sent, later copies take its
//! outcome. Per repeated identity only its id and a compact slot are kept (40 bytes, in sorted
//! arrays), so an input where every row appears twice costs no more memory than one of distinct
//! rows.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::input::Identity;
use crate::report::{Outcome, Record};

/// The outcome of the first copy, as its later copies report it.
#[derive(Clone, Debug)]
pub(crate) struct Settled {
    first_line: u64,
    outcome: Outcome,
    status: Option<u16>,
    code: Box<str>,
}

impl Settled {
    pub(crate) fn of(record: &Record) -> Settled {
        Settled {
            first_line: record.line,
            outcome: record.outcome,
            status: record.http_status,
            code: record.error_code.as_str().into(),
        }
    }

    /// The report row of the copy on `line`, built on `template` (its run, time and cells).
    pub(crate) fn copy(&self, mut template: Record, line: u64) -> Record {
        template.line = line;
        template.outcome = self.outcome;
        template.http_status = self.status;
        template.error_code = self.code.to_string();
        template.attempts = 0;
        template.duration_ms = 0;
        template.message = format!("duplicate of line {}: sent once", self.first_line);
        template
    }
}

/// Where the first copy of a repeated identity is. Kept per repeated identity for the whole run,
/// so it is small: 16 bytes beside the identity's 16, in sorted arrays rather than a hash map.
#[derive(Clone, Copy)]
enum Slot {
    /// Not read yet.
    Unsent,
    /// Sent; later copies wait in [`Copies::waiting`].
    InFlight,
    /// Its outcome, compactly: the error code is an index into [`Table::codes`].
    Settled {
        first_line: u64,
        status: Option<u16>,
        outcome: Outcome,
        code: u16,
    },
}

/// What to do with a row of a repeated identity, as the second pass reads it.
pub(crate) enum Seen {
    /// Not repeated: just send it.
    Unique,
    /// The first copy: send it, and settle its copies.
    First,
    /// A later copy whose first copy has its outcome: report it now.
    CopyNow(Settled),
    /// A later copy waiting for its first copy's outcome.
    CopyLater,
}

struct Table {
    /// The repeated identities, sorted; `slots[i]` belongs to `ids[i]`.
    ids: Box<[Identity]>,
    slots: Box<[Slot]>,
    /// The error codes seen, each once (a run meets a handful).
    codes: Vec<Box<str>>,
    /// The lines of copies read while their first copy was in flight (a few at a time).
    waiting: std::collections::HashMap<Identity, Vec<u64>>,
}

impl Table {
    fn code_index(&mut self, code: &str) -> u16 {
        if let Some(i) = self.codes.iter().position(|c| &**c == code) {
            return i as u16;
        }
        // More distinct codes than a u16 counts would be a hostile server: its copies then carry
        // no code (index 0, the empty one) rather than another row's.
        if self.codes.len() > usize::from(u16::MAX) {
            return 0;
        }
        self.codes.push(code.into());
        (self.codes.len() - 1) as u16
    }
}

pub(crate) struct Copies {
    table: Mutex<Table>,
}

impl Copies {
    pub(crate) fn new(repeated: HashSet<Identity>) -> Copies {
        let mut ids: Vec<Identity> = repeated.into_iter().collect();
        ids.sort_unstable();
        let slots = vec![Slot::Unsent; ids.len()].into_boxed_slice();
        Copies {
            table: Mutex::new(Table {
                ids: ids.into_boxed_slice(),
                slots,
                codes: vec!["".into()],
                waiting: std::collections::HashMap::new(),
            }),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn seen(&self, id: Identity, line: u64) -> Seen {
        let mut table = self.table();
        let Ok(i) = table.ids.binary_search(&id) else {
            return Seen::Unique;
        };
        match table.slots[i] {
            Slot::Unsent => {
                table.slots[i] = Slot::InFlight;
                Seen::First
            }
            Slot::InFlight => {
                table.waiting.entry(id).or_default().push(line);
                Seen::CopyLater
            }
            Slot::Settled {
                first_line,
                status,
                outcome,
                code,
            } => Seen::CopyNow(Settled {
                first_line,
                outcome,
                status,
                code: table
                    .codes
                    .get(usize::from(code))
                    .cloned()
                    .unwrap_or_default(),
            }),
        }
    }

    /// Records the first copy's outcome; answers the lines of the copies that waited for it.
    pub(crate) fn settle(&self, id: Identity, settled: Settled) -> Vec<u64> {
        let mut table = self.table();
        let Ok(i) = table.ids.binary_search(&id) else {
            return Vec::new();
        };
        let code = table.code_index(&settled.code);
        table.slots[i] = Slot::Settled {
            first_line: settled.first_line,
            status: settled.status,
            outcome: settled.outcome,
            code,
        };
        table.waiting.remove(&id).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(line: u64, outcome: Outcome, code: &str) -> Record {
        Record {
            run_id: "r".into(),
            finished_at: "t".into(),
            line,
            kind: "project-api-key".into(),
            project: String::new(),
            key: String::new(),
            outcome,
            http_status: Some(400),
            error_code: code.into(),
            attempts: 1,
            duration_ms: 1,
            message: String::new(),
            secret: String::new(),
            public_key: String::new(),
        }
    }

    #[test]
    fn the_first_copy_is_sent_and_the_others_take_its_outcome() {
        let copies = Copies::new([7u128, 9].into_iter().collect());
        assert!(matches!(copies.seen(1, 2), Seen::Unique));
        assert!(matches!(copies.seen(7, 3), Seen::First));
        assert!(matches!(copies.seen(7, 4), Seen::CopyLater));
        assert!(matches!(copies.seen(7, 5), Seen::CopyLater));
        let first = record(3, Outcome::NotFound, "API_KEY_NOT_FOUND");
        assert_eq!(copies.settle(7, Settled::of(&first)), vec![4, 5]);
        let Seen::CopyNow(settled) = copies.seen(7, 6) else {
            panic!("the outcome is known")
        };
        let copy = settled.copy(record(0, Outcome::Failed, ""), 6);
        assert_eq!(
            (
                copy.line,
                copy.outcome,
                copy.http_status,
                copy.error_code.as_str()
            ),
            (6, Outcome::NotFound, Some(400), "API_KEY_NOT_FOUND")
        );
        assert_eq!(copy.message, "duplicate of line 3: sent once");
        assert!(matches!(copies.seen(9, 8), Seen::First));
        assert!(
            copies
                .settle(9, Settled::of(&record(8, Outcome::Done, "")))
                .is_empty()
        );
    }

    #[test]
    fn a_repeated_identity_costs_its_id_and_a_small_slot() {
        assert!(
            std::mem::size_of::<Slot>() <= 24,
            "{}",
            std::mem::size_of::<Slot>()
        );
    }
}
