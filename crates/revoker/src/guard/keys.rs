//! What the organizations' API key lists said when the run read them before sending (the own
//! credential's guard reads them): each listed key's `publicKey` and the projects it has a role
//! in (`roles[].groupId`: an organization key assigned to a project), and which lists were read
//! whole. A key missing from a list read in part may be on the rest.

use std::collections::{BTreeSet, HashMap};

use crate::input::ObjectId;

/// One key as its organization's list showed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListedKey {
    pub public_key: Option<String>,
    /// The projects it has a role in.
    pub projects: Vec<ObjectId>,
}

/// The organizations' key lists read before sending.
#[derive(Clone, Debug, Default)]
pub struct OrgKeys {
    listed: HashMap<(ObjectId, ObjectId), ListedKey>,
    /// Each listed key's public key, by id alone (for project rows, whose organization is not
    /// always known).
    public: HashMap<ObjectId, String>,
    whole: BTreeSet<ObjectId>,
}

impl OrgKeys {
    /// Records `key` as listed by organization `org`.
    pub fn add(&mut self, org: ObjectId, key: ObjectId, listed: ListedKey) {
        if let Some(p) = &listed.public_key {
            self.public.entry(key).or_insert_with(|| p.clone());
        }
        self.listed.insert((org, key), listed);
    }

    /// Records that `org`'s list was read whole (or that none of its rows can revoke anything).
    pub fn read_whole(&mut self, org: ObjectId) {
        self.whole.insert(org);
    }

    /// Key `key` as `org`'s list showed it.
    pub fn get(&self, org: &ObjectId, key: &ObjectId) -> Option<&ListedKey> {
        self.listed.get(&(*org, *key))
    }

    /// Whether `org`'s list was read whole.
    pub fn whole(&self, org: &ObjectId) -> bool {
        self.whole.contains(org)
    }

    /// The public key of `key` in whichever list showed it (a key id names one key).
    pub fn public_key_of(&self, key: &ObjectId) -> Option<&str> {
        self.public.get(key).map(String::as_str)
    }
}
