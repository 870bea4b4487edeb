//! One decision for every row before it may be sent: the protected organizations and projects,
//! the exemption list, the credentials the run stands on, and (with `run --plan-file`) the rows
//! the reviewed plan will revoke. `plan`, `run --dry-run`, `validate` and the engine at send time
//! all ask [`Guard::decide_at`], so a row the plan shows exempt or protected is so when the run
//! reaches it, whatever path (project, organization) the row takes to the credential.

mod bound;
mod keys;
mod own;
mod protect;

use std::collections::HashMap;
use std::sync::Arc;

pub use bound::Bound;
pub use keys::{ListedKey, OrgKeys};
pub use own::Own;
pub use protect::{Home, Protect, name_guarded};

use crate::input::{Exemptions, ObjectId, Target};
use crate::vocab::Outcome;

/// What may happen to one valid row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing stops it.
    Send,
    /// On the exemption list: never sent; the report's message names the exemption.
    Exempt(String),
    /// It revokes a credential the run signs in with, and that is not allowed: `invalid`, why.
    Own(String),
    /// It revokes a credential the run signs in with, allowed by name: sent after every other row.
    OwnLast,
    /// It touches a protected organization or project: never sent, and the run is refused.
    Protected(String),
    /// `run --plan-file`: not among the rows the reviewed plan will revoke that still exist as
    /// planned; never sent, written with this outcome and why before the first DELETE.
    Held(Outcome, String),
}

/// The rules a run's rows pass, decided the same way wherever they are asked.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    exempt: Arc<Exemptions>,
    /// Every credential the run signs in with (one per lane).
    owns: Vec<Own>,
    own_allowed: bool,
    protect: Arc<Protect>,
    /// The organization of each project the run learned (for protected organizations).
    /// `None` until asked (`run --dry-run` never asks).
    homes: Option<Arc<HashMap<ObjectId, Home>>>,
    /// With `run --plan-file`: the rows that may be sent.
    bound: Option<Arc<Bound>>,
    /// The organizations' key lists read before sending (`None`: not read, as `--dry-run`).
    keys: Option<Arc<OrgKeys>>,
}

impl Guard {
    pub fn new(exempt: Arc<Exemptions>, owns: Vec<Own>, own_allowed: bool) -> Guard {
        Guard {
            exempt,
            owns,
            own_allowed,
            ..Guard::default()
        }
    }

    /// This guard with protected scopes, judged without asking the API (`run --dry-run`).
    pub fn protecting_offline(mut self, protect: Arc<Protect>) -> Guard {
        self.protect = protect;
        self
    }

    /// This guard with protected scopes, and the organizations of the projects learned (a project
    /// row not among them, without a cell, is refused while anything is protected).
    pub fn protecting(mut self, protect: Arc<Protect>, homes: HashMap<ObjectId, Home>) -> Guard {
        self.protect = protect;
        self.homes = Some(Arc::new(homes));
        self
    }

    /// This guard with the organizations' key lists it read: an organization key with a role in
    /// a protected project is protected too.
    pub fn with_keys(mut self, keys: OrgKeys) -> Guard {
        self.keys = Some(Arc::new(keys));
        self
    }

    /// The organizations' key lists read before sending, when they were.
    pub fn keys(&self) -> Option<&OrgKeys> {
        self.keys.as_deref()
    }

    /// This guard bound to a reviewed plan: only its rows to send may go.
    pub fn bound_to(mut self, bound: Arc<Bound>) -> Guard {
        self.bound = Some(bound);
        self
    }

    /// [`Guard::decide_at`] without an `org` cell.
    pub fn decide(&self, target: &Target) -> Verdict {
        self.decide_at(target, None)
    }

    /// The decision for `target` (`cell`: its row's organization, when the input has one): a
    /// protection first (nothing overrides it), an exemption (never sent, not even last), the
    /// run's own credentials, then a reviewed plan's rows.
    pub fn decide_at(&self, target: &Target, cell: Option<ObjectId>) -> Verdict {
        let home = Protect::home(target, cell, self.homes.as_deref());
        // The API's answer decides, and a cell naming a protected organization refuses as well:
        // whichever of the two is wrong, the row stays unsent.
        let by_cell = cell.and_then(|org| self.protect.covering(target, Home::Org(org)));
        let by_roles = || self.protect.covering_key(target, self.keys.as_deref());
        if let Some(why) = self
            .protect
            .covering(target, home)
            .or(by_cell)
            .or_else(by_roles)
        {
            return Verdict::Protected(why);
        }
        if let Some(line) = self.exempt.covering(target) {
            return Verdict::Exempt(self.exempt.message(line));
        }
        let verdict = match self.owns.iter().find(|o| o.matches(target)) {
            Some(_) if self.own_allowed => Verdict::OwnLast,
            Some(own) => return Verdict::Own(own.refusal()),
            // Not even when allowed: several such rows would all go last, and the first that is
            // the run's own would cut off the rest.
            None => match self.owns.iter().find_map(|o| o.undecided(target)) {
                Some(why) => return Verdict::Own(why),
                None => Verdict::Send,
            },
        };
        match self.bound.as_ref().and_then(|b| b.held(target)) {
            Some((outcome, why)) => Verdict::Held(outcome, why),
            None => verdict,
        }
    }

    pub fn protect(&self) -> &Arc<Protect> {
        &self.protect
    }

    pub fn exemptions(&self) -> &Arc<Exemptions> {
        &self.exempt
    }

    pub fn owns(&self) -> &[Own] {
        &self.owns
    }

    pub fn own_allowed(&self) -> bool {
        self.own_allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Kind, ObjectId, parse_client_id};

    #[test]
    fn an_exemption_wins_over_the_own_credential_and_the_own_credential_over_sending() {
        let client = "mdb_sa_id_0b0b0b0b0b0b0b0b0b0b0b0b";
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("e.csv");
        std::fs::write(&file, format!("key,secret\n{client},{}\n", "0c".repeat(12))).unwrap();
        let exempt = Arc::new(Exemptions::load(&file).unwrap());
        let own = Own::of(Some(client), "service account".into());
        let guard = Guard::new(exempt, vec![own], false);
        let row = |secret: u8| Target {
            kind: Kind::ProjectServiceAccountSecret,
            scope: ObjectId::from_bytes([1; 12]),
            key: parse_client_id(client).unwrap(),
            secret: Some(ObjectId::from_bytes([secret; 12])),
        };
        assert!(matches!(guard.decide(&row(0x0c)), Verdict::Exempt(_)));
        assert!(matches!(guard.decide(&row(0x0d)), Verdict::Own(_)));
        let other = Target {
            kind: Kind::OrgApiKey,
            scope: ObjectId::from_bytes([1; 12]),
            key: ObjectId::from_bytes([9; 12]),
            secret: None,
        };
        assert_eq!(guard.decide(&other), Verdict::Send);
    }
}
