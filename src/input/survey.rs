//! The first pass over an input: validate the whole file before anything is sent, count what there
//! is to do, and find the rows that appear more than once.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use super::{Entry, Identity, InputError, InputOptions, Kind, Source};

/// What the first pass found.
#[derive(Debug, Default)]
pub struct Survey {
    /// Rows read (blank lines not counted).
    pub rows: u64,
    /// Valid rows per kind, in the order of [`Kind::ALL`].
    pub per_kind: [u64; 2],
    pub invalid: u64,
    /// Later copies of a row already seen in this file.
    pub duplicates: u64,
    /// Valid rows that an earlier run already finished.
    pub already_finished: u64,
    /// Distinct projects among the rows to send.
    pub projects: u64,
    /// Rows that will be sent: valid, first of their copies, not finished before.
    pub to_send: u64,
    /// `(offset, line)` of the first row that is not finished, where the second pass can start;
    /// `None` to read from the top (nothing was finished, or the format cannot seek).
    pub start_at: Option<(u64, u64)>,
    pub dedupe: Dedupe,
}

/// Which rows are later copies of an earlier one. Holds only identities that occur more than once.
#[derive(Debug, Default)]
pub struct Dedupe {
    first_lines: HashMap<Identity, Option<u64>>,
}

impl Dedupe {
    /// For a row on `line`: `Some(first)` if it repeats the row first seen on line `first`, `None` if
    /// it is the first of its copies (or has none).
    pub fn earlier_copy(&mut self, id: &Identity, line: u64) -> Option<u64> {
        let first = self.first_lines.get_mut(id)?;
        match *first {
            Some(first) => Some(first),
            None => {
                *first = Some(line);
                None
            }
        }
    }

    /// Whether `id` occurs more than once in the input.
    pub fn is_repeated(&self, id: &Identity) -> bool {
        self.first_lines.contains_key(id)
    }
}

/// Reads the whole input once. `finished` holds identities an earlier run finished (resume);
/// `on_invalid` sees every invalid row, in order.
pub fn survey(
    source: &Source,
    opts: &InputOptions,
    finished: &HashSet<Identity>,
    on_invalid: &mut dyn FnMut(&Entry),
) -> Result<Survey, InputError> {
    let mut out = Survey::default();
    let mut seen: HashSet<Identity> = HashSet::new();
    let mut projects: HashSet<[u8; 12]> = HashSet::new();
    // Until the first row that is not finished, remember where the second pass may start.
    let mut looking = !finished.is_empty();
    source.scan(opts, &mut |entry: Entry| {
        out.rows += 1;
        let done_before = matches!(&entry.target, Ok(t) if finished.contains(&t.identity()));
        if looking && !done_before {
            looking = false;
            out.start_at = entry.offset.map(|offset| (offset, entry.line));
        }
        match &entry.target {
            Err(_) => {
                out.invalid += 1;
                on_invalid(&entry);
            }
            Ok(target) => {
                let kind = Kind::ALL
                    .iter()
                    .position(|k| *k == target.kind)
                    .unwrap_or(0);
                out.per_kind[kind] += 1;
                let id = target.identity();
                if finished.contains(&id) {
                    out.already_finished += 1;
                } else if !seen.insert(id) {
                    out.duplicates += 1;
                    out.dedupe.first_lines.insert(id, None);
                } else {
                    out.to_send += 1;
                    projects.insert(target.project.bytes());
                }
            }
        }
        ControlFlow::Continue(())
    })?;
    out.projects = projects.len() as u64;
    Ok(out)
}
