//! A run bound to a reviewed plan (`run --plan-file`): the rows it may send are exactly those the
//! plan said it will revoke and that a fresh reading of live state still shows as planned. Every
//! other row that reaches the check is held: written with its outcome (`drifted`, or `not_found`
//! when the plan and the fresh reading both show it gone) and never sent.

use std::collections::{HashMap, HashSet};

use crate::input::{Identity, Target};
use crate::vocab::Outcome;

/// The rows a plan-bound run may send, and why each other row is held.
#[derive(Clone, Debug, Default)]
pub struct Bound {
    send: HashSet<Identity>,
    held: HashMap<Identity, (Outcome, String)>,
}

impl Bound {
    pub fn new(send: HashSet<Identity>, held: HashMap<Identity, (Outcome, String)>) -> Bound {
        Bound { send, held }
    }

    /// What holds `target` back, if anything: a row the plan did not decide is held too.
    pub fn held(&self, target: &Target) -> Option<(Outcome, String)> {
        let id = target.identity();
        if self.send.contains(&id) {
            return None;
        }
        Some(self.held.get(&id).cloned().unwrap_or_else(|| {
            (
                Outcome::Drifted,
                "not among the rows the reviewed plan will revoke: never sent".to_string(),
            )
        }))
    }

    /// Rows that may be sent.
    pub fn to_send(&self) -> u64 {
        self.send.len() as u64
    }
}
