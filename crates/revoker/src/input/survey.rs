//! The first pass over an input: validate the whole file before anything is sent, count what there
//! is to do, and find the rows that appear more than once — and those that name one credential
//! with contradicting cells (an organization key under two organizations), which are invalid on
//! every line: one of the cells is wrong, and which one is not revoker's to guess.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use super::{Entry, Identity, InputError, InputOptions, Kind, ObjectId, Source};

/// What the first pass found.
#[derive(Clone, Debug, Default)]
pub struct Survey {
    /// Rows read (blank lines not counted).
    pub rows: u64,
    /// Valid rows per kind, in the order of [`Kind::ALL`].
    pub per_kind: [u64; Kind::ALL.len()],
    pub invalid: u64,
    /// Later copies of a row already seen in this file.
    pub duplicates: u64,
    /// Valid rows that an earlier run already finished.
    pub already_finished: u64,
    /// Valid rows the exemption list covers: never sent.
    pub exempt: u64,
    /// Distinct projects and organizations among the rows to send.
    pub scopes: u64,
    /// Rows that will be sent: valid, first of their copies, not finished before.
    pub to_send: u64,
    /// Of those, per kind, in the order of [`Kind::ALL`]: what a resume has left, not the input.
    pub send_per_kind: [u64; Kind::ALL.len()],
    /// Distinct projects, and organizations, among the rows to send.
    pub projects: u64,
    pub organizations: u64,
    /// `(offset, line)` of the first row that is not finished, where the second pass can start;
    /// `None` to read from the top (nothing was finished, or the format cannot seek).
    pub start_at: Option<(u64, u64)>,
    /// Identities that occur more than once among the rows to send.
    pub repeated: HashSet<Identity>,
    /// Identities whose rows contradict each other, with the message every such row gets: they
    /// are `invalid` and never sent.
    pub conflicts: Arc<HashMap<Identity, String>>,
    /// `(project, client)` of the `project-service-account-secret` rows to send: that account's
    /// unassignment from that project goes after them, since it leaves them out of the project's
    /// reach (yet alive in the organization).
    pub project_secret_accounts: HashSet<(ObjectId, ObjectId)>,
}

impl Survey {
    /// Valid rows of `kind`.
    pub fn kind_count(&self, kind: Kind) -> u64 {
        self.per_kind[kind.index()]
    }
}

/// Reads the whole input once (and the rows of contradicting identities, when there are any, a
/// second time). `finished` holds identities an earlier run finished (resume), `exempt` the
/// credentials never to send; `on_invalid` sees every invalid row, in order, then the rows of
/// contradicting identities.
pub fn survey(
    source: &Source,
    opts: &InputOptions,
    (finished, exempt): (&HashSet<Identity>, &super::Exemptions),
    on_invalid: &mut dyn FnMut(&Entry),
) -> Result<Survey, InputError> {
    let mut out = Survey::default();
    // 20 bytes a row: the identity of every distinct row to send and a fingerprint of its cells,
    // dropped when the pass ends.
    let mut seen: HashMap<[u32; 4], u32> = HashMap::new();
    let mut contradicted: HashSet<Identity> = HashSet::new();
    let mut scopes: HashSet<ObjectId> = HashSet::new();
    // Until the first row that is not finished, remember where the second pass may start.
    let mut looking = !finished.is_empty();
    source.scan(opts, &mut |entry: Entry| {
        out.rows += 1;
        let id = entry.target.as_ref().ok().map(|t| t.identity());
        let done_before = id.is_some_and(|id| finished.contains(&id));
        if looking && !done_before {
            looking = false;
            out.start_at = entry.offset.map(|offset| (offset, entry.line));
        }
        match (&entry.target, id) {
            (Ok(target), Some(id)) => {
                out.per_kind[target.kind.index()] += 1;
                let cells = target.cells_fingerprint(entry.org);
                if done_before {
                    out.already_finished += 1;
                } else if let Some(first) = seen.insert(words(id), cells) {
                    out.duplicates += 1;
                    out.repeated.insert(id);
                    // An exempt credential is never sent, whichever cell is right: its rows
                    // stay exempt (never handed over) rather than invalid.
                    if first != cells && exempt.covering(target).is_none() {
                        contradicted.insert(id);
                    }
                } else if exempt.covering(target).is_some() {
                    out.exempt += 1;
                } else {
                    out.to_send += 1;
                    out.send_per_kind[target.kind.index()] += 1;
                    if scopes.insert(target.scope) {
                        match target.kind.scope() {
                            crate::vocab::Scope::Project => out.projects += 1,
                            crate::vocab::Scope::Org => out.organizations += 1,
                            crate::vocab::Scope::Global => {}
                        }
                    }
                    if target.kind == Kind::ProjectServiceAccountSecret {
                        out.project_secret_accounts
                            .insert((target.scope, target.key));
                    }
                }
            }
            _ => {
                out.invalid += 1;
                on_invalid(&entry);
            }
        }
        ControlFlow::Continue(())
    })?;
    drop(seen);
    out.scopes = scopes.len() as u64;
    if !contradicted.is_empty() {
        contradictions(source, opts, (&contradicted, exempt), &mut out, on_invalid)?;
    }
    Ok(out)
}

/// An identity as four words: a hash map of them packs 20 bytes an entry with its fingerprint.
fn words(id: Identity) -> [u32; 4] {
    [
        (id >> 96) as u32,
        (id >> 64) as u32,
        (id >> 32) as u32,
        id as u32,
    ]
}

/// The rows of `contradicted` identities, read again: each identity's message names its lines and
/// cells; its rows leave the counts of rows to send, exempt and duplicates for the invalid ones.
fn contradictions(
    source: &Source,
    opts: &InputOptions,
    (contradicted, exempt): (&HashSet<Identity>, &super::Exemptions),
    out: &mut Survey,
    on_invalid: &mut dyn FnMut(&Entry),
) -> Result<(), InputError> {
    let mut rows: HashMap<Identity, Vec<Entry>> = HashMap::new();
    source.scan(opts, &mut |entry: Entry| {
        if let Ok(t) = &entry.target
            && contradicted.contains(&t.identity())
        {
            rows.entry(t.identity()).or_default().push(entry);
        }
        ControlFlow::Continue(())
    })?;
    let mut conflicts = HashMap::new();
    for (id, entries) in rows {
        let Some(Ok(first)) = entries.first().map(|e| e.target.clone()) else {
            continue;
        };
        if exempt.covering(&first).is_some() {
            out.exempt -= 1;
        } else {
            out.to_send -= 1;
            out.send_per_kind[first.kind.index()] -= 1;
        }
        out.duplicates -= entries.len() as u64 - 1;
        out.repeated.remove(&id);
        out.invalid += entries.len() as u64;
        let message = contradiction(&first, &entries);
        for entry in entries {
            on_invalid(&Entry {
                target: Err(message.clone()),
                ..entry
            });
        }
        conflicts.insert(id, message);
    }
    out.conflicts = Arc::new(conflicts);
    Ok(())
}

/// Lines named in a contradiction's message at most.
const LINES_NAMED: usize = 5;

fn contradiction(first: &super::Target, entries: &[Entry]) -> String {
    let cells: Vec<String> = entries
        .iter()
        .take(LINES_NAMED)
        .map(|e| {
            let t = e.target.as_ref().map_or(*first, |t| *t);
            let mut cell = if first.kind.unassigns() {
                String::new()
            } else {
                format!(" {} {}", first.kind.scope().as_str(), t.scope_text())
            };
            if let Some(org) = e.org {
                cell.push_str(&format!(" org {org}"));
            }
            format!("line {}:{cell}", e.line)
        })
        .collect();
    let more = entries.len().saturating_sub(LINES_NAMED);
    format!(
        "{} {} is named with different cells ({}{}): one credential has one home, so one of them is wrong; none of these lines is sent until the file says one",
        first.kind,
        first.key_text(),
        cells.join("; "),
        if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        }
    )
}
