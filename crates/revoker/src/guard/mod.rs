//! One decision for every row before it may be sent: the exemption list, then the credentials the
//! run stands on. `plan`, `run --dry-run`, `validate` and the engine at send time all ask
//! [`Guard::decide`], so a row the plan shows exempt is exempt when the run reaches it, whatever
//! path (project, organization) the row takes to the credential.

mod own;

use std::sync::Arc;

pub use own::Own;

use crate::input::{Exemptions, Target};

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
}

/// The rules a run's rows pass, decided the same way wherever they are asked.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    exempt: Arc<Exemptions>,
    /// Every credential the run signs in with (one per lane).
    owns: Vec<Own>,
    own_allowed: bool,
}

impl Guard {
    pub fn new(exempt: Arc<Exemptions>, owns: Vec<Own>, own_allowed: bool) -> Guard {
        Guard {
            exempt,
            owns,
            own_allowed,
        }
    }

    /// The decision for `target`: an exemption first (an exempt row is never sent, not even
    /// last), then the run's own credentials.
    pub fn decide(&self, target: &Target) -> Verdict {
        if let Some(line) = self.exempt.covering(target) {
            return Verdict::Exempt(self.exempt.message(line));
        }
        match self.owns.iter().find(|o| o.matches(target)) {
            Some(_) if self.own_allowed => return Verdict::OwnLast,
            Some(own) => return Verdict::Own(own.refusal()),
            None => {}
        }
        match self.owns.iter().find_map(|o| o.undecided(target)) {
            Some(_) if self.own_allowed => Verdict::OwnLast,
            Some(why) => Verdict::Own(why),
            None => Verdict::Send,
        }
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
