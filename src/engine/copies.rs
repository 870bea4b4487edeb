//! Rows that occur more than once in the input: the first copy is sent, later copies take its
//! outcome. Only what a copy's report row needs is kept (a few dozen bytes per repeated row), so an
//! input where every row appears twice costs no more memory than one of distinct rows.

use std::collections::{HashMap, HashSet};
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

enum Slot {
    /// The first copy is on its way; these later lines wait for its outcome.
    Waiting(Vec<u64>),
    Settled(Settled),
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

pub(crate) struct Copies {
    repeated: HashSet<Identity>,
    slots: Mutex<HashMap<Identity, Slot>>,
}

impl Copies {
    pub(crate) fn new(repeated: HashSet<Identity>) -> Copies {
        Copies {
            repeated,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<Identity, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn seen(&self, id: Identity, line: u64) -> Seen {
        if !self.repeated.contains(&id) {
            return Seen::Unique;
        }
        let mut slots = self.slots();
        match slots.get_mut(&id) {
            None => {
                slots.insert(id, Slot::Waiting(Vec::new()));
                Seen::First
            }
            Some(Slot::Waiting(lines)) => {
                lines.push(line);
                Seen::CopyLater
            }
            Some(Slot::Settled(s)) => Seen::CopyNow(s.clone()),
        }
    }

    /// Records the first copy's outcome; answers the lines of the copies that waited for it.
    pub(crate) fn settle(&self, id: Identity, settled: Settled) -> Vec<u64> {
        if !self.repeated.contains(&id) {
            return Vec::new();
        }
        match self.slots().insert(id, Slot::Settled(settled)) {
            Some(Slot::Waiting(lines)) => lines,
            _ => Vec::new(),
        }
    }
}
