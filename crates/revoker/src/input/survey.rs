//! The first pass over an input: validate the whole file before anything is sent, count what there
//! is to do, and find the rows that appear more than once.

use std::collections::HashSet;
use std::ops::ControlFlow;

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
    /// `(offset, line)` of the first row that is not finished, where the second pass can start;
    /// `None` to read from the top (nothing was finished, or the format cannot seek).
    pub start_at: Option<(u64, u64)>,
    /// Identities that occur more than once among the rows to send.
    pub repeated: HashSet<Identity>,
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

/// Reads the whole input once. `finished` holds identities an earlier run finished (resume),
/// `exempt` the credentials never to send; `on_invalid` sees every invalid row, in order.
pub fn survey(
    source: &Source,
    opts: &InputOptions,
    (finished, exempt): (&HashSet<Identity>, &super::Exemptions),
    on_invalid: &mut dyn FnMut(&Entry),
) -> Result<Survey, InputError> {
    let mut out = Survey::default();
    // 16 bytes a row: the identities of every distinct row to send, dropped when the pass ends.
    let mut seen: HashSet<Identity> = HashSet::new();
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
                if done_before {
                    out.already_finished += 1;
                } else if !seen.insert(id) {
                    out.duplicates += 1;
                    out.repeated.insert(id);
                } else if exempt.covering(target).is_some() {
                    out.exempt += 1;
                } else {
                    out.to_send += 1;
                    scopes.insert(target.scope);
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
    out.scopes = scopes.len() as u64;
    Ok(out)
}
