//! What the simulator holds — projects, organizations, their API keys and agent keys, service
//! accounts and their secrets — and the counters `/__sim/stats` reports.
//!
//! An organization API key assigned to projects appears in each of them (`project-api-key`); deleting
//! the key from its organization removes every assignment too, so a later unassignment answers
//! `API_KEY_NOT_FOUND`. Deleting a service account removes its secrets. Unassigning a service account
//! from a project (`project-service-account`) leaves the account and its secrets alive, as the v2
//! spec says, but out of that project's reach. Ops Manager's global keys live in no project or
//! organization: their scope always exists.
//!
//! A project's service account is its organization's (Cloud Manager's "Get All Organization Service
//! Accounts Assigned to One Project"; the v2 spec's `deleteGroupServiceAccount`: "The Service
//! Account will still be a part of the Organization it was created in, and the credentials will
//! remain active until expired or manually revoked"): a project's secret is also in the
//! organization's account, and deleting it by either path deletes it from both. After the
//! unassignment the project path answers 404 (the spec's `notFound`, `RESOURCE_NOT_FOUND`) while
//! the organization path still reaches the secret.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::{CLIENT_ID_PREFIX, GLOBAL, Home, ItemId, Kind, Meta, Oid, Seed};
use crate::truth::{Credential, Deletion, SentDelete, Truth};

/// The organization of a project no seed gave one.
pub const DEFAULT_ORG: Oid = Oid::from_bytes([0x0d, 0xef, 0xa0, 0x17, 0, 0, 0, 0, 0, 0, 0, 0]);

const SHARDS: usize = 32;

/// A collection: one kind of item in one project or organization (for secrets, of one service account).
type Collection = (Kind, Oid, Option<Oid>);

#[derive(Default)]
struct Shard {
    live: HashMap<Collection, HashSet<ItemId>>,
    /// Items this simulator deleted: a DELETE for one of them is a request sent again after done.
    gone: HashSet<(Collection, ItemId)>,
}

/// The simulated organizations and projects.
pub(super) struct World {
    shards: Vec<Mutex<Shard>>,
    projects: HashSet<Oid>,
    orgs: HashSet<Oid>,
    /// Organization API key → the projects it is assigned to.
    assignments: Mutex<HashMap<Oid, HashSet<Oid>>>,
    /// `(organization, client id)` of the system-managed service accounts, which the organization's
    /// list shows only with `includeSystemManaged=true`.
    system_managed: HashSet<(Oid, Oid)>,
    /// What the lists show of an item besides its id, where a seed said.
    meta: HashMap<(Collection, ItemId), Meta>,
    /// Each project's organization, where a seed said ([`DEFAULT_ORG`] otherwise).
    project_orgs: HashMap<Oid, Oid>,
    /// What was destroyed and what was sent, for the ground truth.
    journal: Mutex<Journal>,
    /// What the creates made, with its reach and use.
    pub(super) creates: crate::creates::Creates,
}

#[derive(Default)]
struct Journal {
    deletions: Vec<Deletion>,
    sent: Vec<SentDelete>,
}

/// What a DELETE found.
pub(super) enum Deleted {
    Yes,
    NoSuchScope,
    /// The service account of a secret does not exist.
    NoSuchParent,
    NoSuchItem,
}

fn collection(t: &Seed) -> (Collection, ItemId) {
    let parent = t.kind.is_secret().then_some(t.key);
    ((t.kind, t.scope, parent), t.item())
}

fn shard_of(scope: &Oid) -> usize {
    usize::from(scope.bytes()[11]) % SHARDS
}

impl World {
    pub(super) fn new(targets: impl IntoIterator<Item = Seed>) -> World {
        let shards: Vec<Mutex<Shard>> = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        let mut projects = HashSet::new();
        let mut orgs = HashSet::new();
        let mut assignments: HashMap<Oid, HashSet<Oid>> = HashMap::new();
        let mut system_managed = HashSet::new();
        let mut meta = HashMap::new();
        let mut project_orgs = HashMap::new();
        let insert = |kind: Kind, scope: Oid, parent: Option<Oid>, item: ItemId| {
            lock(&shards[shard_of(&scope)])
                .live
                .entry((kind, scope, parent))
                .or_default()
                .insert(item);
        };
        for t in targets {
            if t.system_managed && t.kind.key_is_client_id() {
                system_managed.insert((t.scope, t.key));
            }
            match t.kind.home() {
                Home::Org => orgs.insert(t.scope),
                Home::Project => projects.insert(t.scope),
                Home::Global => false,
            };
            let (coll, item) = collection(&t);
            if t.meta != Meta::default() {
                meta.insert((coll, item), t.meta);
            }
            if let (Home::Project, Some(org)) = (t.kind.home(), t.meta.org) {
                project_orgs.insert(t.scope, org);
            }
            if t.kind == Kind::ProjectApiKey {
                assignments.entry(t.key).or_default().insert(t.scope);
            }
            if t.kind.is_secret() {
                // A secret's service account exists with it (in the project, for a project's).
                insert(t.kind.account(), t.scope, None, ItemId::Oid(t.key));
            }
            if t.kind == Kind::ProjectServiceAccountSecret {
                // ... and in the project's organization, which owns the account and the secret.
                let org = t.meta.org.unwrap_or(DEFAULT_ORG);
                orgs.insert(org);
                insert(Kind::ServiceAccount, org, None, ItemId::Oid(t.key));
                insert(Kind::ServiceAccountSecret, org, Some(t.key), item);
            }
            insert(coll.0, coll.1, coll.2, item);
        }
        // An organization that owns a project exists, whether or not a seed names it.
        for p in &projects {
            orgs.insert(project_orgs.get(p).copied().unwrap_or(DEFAULT_ORG));
        }
        World {
            shards,
            projects,
            orgs,
            assignments: Mutex::new(assignments),
            system_managed,
            meta,
            project_orgs,
            journal: Mutex::default(),
            creates: Default::default(),
        }
    }

    /// An item of a collection as the ground truth names it.
    fn credential(&self, coll: Collection, item: &ItemId) -> Credential {
        let (kind, scope, parent) = coll;
        let id_text = |id: &Oid| match kind.key_is_client_id() {
            true => format!("{CLIENT_ID_PREFIX}{id}"),
            false => id.to_string(),
        };
        let (key, secret) = match (item, parent) {
            (ItemId::Model(key), _) => (key.to_string(), None),
            (ItemId::Oid(secret), Some(client)) => (id_text(&client), Some(secret.to_string())),
            (ItemId::Oid(id), None) => (id_text(id), None),
        };
        let org = match kind.home() {
            Home::Org => Some(scope),
            Home::Project => Some(
                self.project_orgs
                    .get(&scope)
                    .copied()
                    .unwrap_or(DEFAULT_ORG),
            ),
            Home::Global => None,
        };
        let projects = match (kind, item) {
            (Kind::OrgApiKey, ItemId::Oid(key)) => {
                let mut p: Vec<String> = lock(&self.assignments)
                    .get(key)
                    .map(|set| set.iter().map(Oid::to_string).collect())
                    .unwrap_or_default();
                p.sort();
                p
            }
            _ => Vec::new(),
        };
        Credential {
            kind: kind.name().into(),
            scope: if kind.home() == Home::Global {
                String::new()
            } else {
                scope.to_string()
            },
            org: org.map(|o| o.to_string()),
            key,
            secret,
            projects,
        }
    }

    /// Removes a credential without a request, as another tool deleting it meanwhile would
    /// ([`crate::SimHandle::vanish`]): not journaled as anyone's deletion.
    pub(super) fn vanish(&self, t: &Seed) -> bool {
        let (coll, item) = collection(t);
        lock(&self.shards[shard_of(&coll.1)])
            .live
            .get_mut(&coll)
            .is_some_and(|items| items.remove(&item))
    }

    /// Adds a credential in a scope the world holds ([`crate::SimHandle::appear`]).
    pub(super) fn appear(&self, t: &Seed) {
        let (coll, item) = collection(t);
        lock(&self.shards[shard_of(&coll.1)])
            .live
            .entry(coll)
            .or_default()
            .insert(item);
    }

    /// The ground truth: every credential held now, and the journal.
    pub(crate) fn truth(&self) -> Truth {
        let mut held = Vec::new();
        for shard in &self.shards {
            let live: Vec<(Collection, Vec<ItemId>)> = lock(shard)
                .live
                .iter()
                .map(|(coll, items)| (*coll, items.iter().copied().collect()))
                .collect();
            for (coll, items) in live {
                held.extend(items.iter().map(|item| self.credential(coll, item)));
            }
        }
        held.sort();
        let journal = lock(&self.journal);
        Truth {
            credentials: held,
            deletions: journal.deletions.clone(),
            deletes_sent: journal.sent.clone(),
            database_users: Vec::new(),
        }
    }

    /// Records a DELETE an authenticated credential sent, and what it was answered.
    pub(crate) fn record_sent(&self, by: &str, path: &str, status: Option<u16>) {
        let (at, at_ms) = crate::truth::now();
        lock(&self.journal).sent.push(SentDelete {
            at,
            at_ms,
            by: by.into(),
            path: path.into(),
            status,
        });
    }

    /// What the lists show of `item` of a collection besides its id.
    pub(super) fn meta(&self, kind: Kind, scope: &Oid, parent: Option<Oid>, item: &ItemId) -> Meta {
        self.meta
            .get(&((kind, *scope, parent), *item))
            .copied()
            .unwrap_or_default()
    }

    /// The organization of a project this simulator has.
    pub(super) fn project_org(&self, project: &Oid) -> Option<Oid> {
        self.projects.contains(project).then(|| {
            self.project_orgs
                .get(project)
                .copied()
                .unwrap_or(DEFAULT_ORG)
        })
    }

    /// The projects of an organization, sorted.
    pub(super) fn org_projects(&self, org: &Oid) -> Vec<Oid> {
        let mut out: Vec<Oid> = self
            .projects
            .iter()
            .filter(|p| self.project_org(p).as_ref() == Some(org))
            .copied()
            .collect();
        out.sort();
        out
    }

    /// Whether `key` is an API key of `org`: one of its own, or one assigned to one of its
    /// projects (every project API key is an organization's key).
    pub(super) fn org_has_key(&self, org: &Oid, key: &Oid) -> bool {
        self.has((Kind::OrgApiKey, *org, None), ItemId::Oid(*key))
            || lock(&self.assignments).get(key).is_some_and(|projects| {
                projects
                    .iter()
                    .any(|p| self.project_org(p).as_ref() == Some(org))
            })
    }

    /// The projects API key `key` is assigned to (has a role in), sorted.
    pub(super) fn key_projects(&self, key: &Oid) -> Vec<Oid> {
        lock(&self.assignments)
            .get(key)
            .map(|p| {
                let mut v: Vec<Oid> = p.iter().copied().collect();
                v.sort();
                v
            })
            .unwrap_or_default()
    }

    /// What a project row of API key `key` said of it (the first such row, by project).
    pub(super) fn key_meta(&self, key: &Oid) -> Meta {
        self.key_projects(key)
            .iter()
            .map(|p| self.meta(Kind::ProjectApiKey, p, None, &ItemId::Oid(*key)))
            .find(|m| *m != Meta::default())
            .unwrap_or_default()
    }

    /// Whether an organization exists: one a seed named, or one a project belongs to.
    pub(super) fn org_exists(&self, org: &Oid) -> bool {
        self.orgs.contains(org)
            || self
                .projects
                .iter()
                .any(|p| self.project_org(p).as_ref() == Some(org))
    }

    pub(super) fn scope_exists(&self, kind: Kind, scope: &Oid) -> bool {
        match kind.home() {
            Home::Org => self.orgs.contains(scope),
            Home::Project => self.projects.contains(scope),
            Home::Global => *scope == GLOBAL,
        }
    }

    /// Removes an item a request deleted; `stats` counts a request for one already deleted.
    fn remove(&self, coll: Collection, item: ItemId, stats: Option<&Counters>) -> bool {
        let mut shard = lock(&self.shards[shard_of(&coll.1)]);
        let removed = shard
            .live
            .get_mut(&coll)
            .is_some_and(|set| set.remove(&item));
        if let Some(stats) = stats {
            if removed {
                shard.gone.insert((coll, item));
            } else if shard.gone.contains(&(coll, item)) {
                stats.repeat_deletes.fetch_add(1, Ordering::Relaxed);
            }
        }
        removed
    }

    /// A created item joins its collection; an API key assigned to a project is recorded as its
    /// seeded assignments are.
    pub(super) fn add_item(&self, kind: Kind, scope: Oid, parent: Option<Oid>, item: ItemId) {
        lock(&self.shards[shard_of(&scope)])
            .live
            .entry((kind, scope, parent))
            .or_default()
            .insert(item);
        if let (Kind::ProjectApiKey, ItemId::Oid(key)) = (kind, item) {
            lock(&self.assignments)
                .entry(key)
                .or_default()
                .insert(scope);
        }
    }

    fn has(&self, coll: Collection, item: ItemId) -> bool {
        lock(&self.shards[shard_of(&coll.1)])
            .live
            .get(&coll)
            .is_some_and(|set| set.contains(&item))
    }

    #[cfg(test)]
    pub(super) fn delete(&self, target: &Seed, stats: &Counters) -> Deleted {
        self.delete_as(target, stats, None)
    }

    /// Deletes `target`; with an actor (`by`, `path`), the ground truth records what it destroyed.
    pub(super) fn delete_as(
        &self,
        target: &Seed,
        stats: &Counters,
        actor: Option<(&str, &str)>,
    ) -> Deleted {
        let mut destroyed = Vec::new();
        let deleted = self.destroy(target, stats, &mut destroyed);
        if let (Some((by, path)), false) = (actor, destroyed.is_empty()) {
            let (coll, item) = collection(target);
            let (at, at_ms) = crate::truth::now();
            let target = self.credential(coll, &item);
            lock(&self.journal).deletions.push(Deletion {
                at,
                at_ms,
                by: by.into(),
                path: path.into(),
                target,
                destroyed,
            });
        }
        deleted
    }

    fn destroy(&self, target: &Seed, stats: &Counters, destroyed: &mut Vec<Credential>) -> Deleted {
        if !self.scope_exists(target.kind, &target.scope) {
            return Deleted::NoSuchScope;
        }
        if target.kind.is_secret()
            && !self.has(
                (target.kind.account(), target.scope, None),
                ItemId::Oid(target.key),
            )
        {
            return Deleted::NoSuchParent;
        }
        let (coll, item) = collection(target);
        // Named before it goes, while its assignments are still known.
        let named = self.credential(coll, &item);
        if !self.remove(coll, item, Some(stats)) {
            return Deleted::NoSuchItem;
        }
        destroyed.push(named);
        match target.kind {
            Kind::ProjectApiKey => {
                if let Some(projects) = lock(&self.assignments).get_mut(&target.key) {
                    projects.remove(&target.scope);
                }
            }
            Kind::OrgApiKey => {
                // The key is gone from every project it was assigned to.
                let projects = lock(&self.assignments)
                    .remove(&target.key)
                    .unwrap_or_default();
                let mut projects: Vec<Oid> = projects.into_iter().collect();
                projects.sort();
                for project in projects {
                    let coll = (Kind::ProjectApiKey, project, None);
                    let item = ItemId::Oid(target.key);
                    if self.remove(coll, item, None) {
                        destroyed.push(self.credential(coll, &item));
                    }
                }
            }
            Kind::ServiceAccount => {
                let coll = (Kind::ServiceAccountSecret, target.scope, Some(target.key));
                let secrets = lock(&self.shards[shard_of(&target.scope)])
                    .live
                    .remove(&coll)
                    .unwrap_or_default();
                let mut secrets: Vec<ItemId> = secrets.into_iter().collect();
                secrets.sort();
                destroyed.extend(secrets.iter().map(|s| self.credential(coll, s)));
            }
            Kind::ServiceAccountSecret => {
                // The same secret, as every project of the organization reaches it.
                for project in self.org_projects(&target.scope) {
                    let coll = (Kind::ProjectServiceAccountSecret, project, Some(target.key));
                    self.remove(coll, item, None);
                }
            }
            Kind::ProjectServiceAccountSecret => {
                if let Some(org) = self.project_org(&target.scope) {
                    let coll = (Kind::ServiceAccountSecret, org, Some(target.key));
                    self.remove(coll, item, None);
                }
            }
            _ => {}
        }
        Deleted::Yes
    }

    /// The live items of a collection, sorted.
    pub(super) fn list(&self, kind: Kind, scope: &Oid, parent: Option<Oid>) -> Vec<ItemId> {
        let mut out: Vec<ItemId> = lock(&self.shards[shard_of(scope)])
            .live
            .get(&(kind, *scope, parent))
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Whether a service account is system-managed.
    pub(super) fn is_system_managed(&self, org: &Oid, client: &Oid) -> bool {
        self.system_managed.contains(&(*org, *client))
    }

    /// Whether a service account exists in an organization (`Kind::ServiceAccount`) or is assigned to
    /// a project (`Kind::ProjectServiceAccount`).
    pub(super) fn service_account(&self, kind: Kind, scope: &Oid, client: &Oid) -> bool {
        self.has((kind, *scope, None), ItemId::Oid(*client))
    }

    /// How many items are still there.
    pub(super) fn remaining(&self) -> usize {
        self.shards
            .iter()
            .map(|s| lock(s).live.values().map(HashSet::len).sum::<usize>())
            .sum()
    }
}

/// A poisoned lock only means another request panicked; the sets it guards are still consistent.
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Live counters.
#[derive(Default)]
pub(super) struct Counters {
    pub requests: AtomicU64,
    pub by_status: Mutex<BTreeMap<u16, u64>>,
    pub challenges: AtomicU64,
    pub deleted: AtomicU64,
    pub not_found: AtomicU64,
    pub in_flight: AtomicU64,
    pub peak_in_flight: AtomicU64,
    pub repeat_deletes: AtomicU64,
    pub early_requests: AtomicU64,
    pub resets: AtomicU64,
    pub lists: AtomicU64,
    pub deletes: AtomicU64,
    pub project_reads: AtomicU64,
    pub rate_limit_reads: AtomicU64,
    pub token_requests: AtomicU64,
    pub tokens_issued: AtomicU64,
    pub token_revokes: AtomicU64,
}

/// The counters as `GET /__sim/stats` answers them. The first six keys are a stable contract.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// API requests received, digest challenges included (token requests are counted apart).
    pub requests: u64,
    /// Answers per HTTP status (as sent on the wire, so enveloped answers count as 200).
    pub by_status: BTreeMap<String, u64>,
    /// 401 challenges issued.
    pub challenges: u64,
    /// Items deleted.
    pub deleted: u64,
    /// DELETEs of items that were not there.
    pub not_found: u64,
    /// Most requests being handled at once.
    pub peak_in_flight: u64,
    /// DELETEs of an item this simulator had already deleted.
    #[serde(default)]
    pub repeat_deletes: u64,
    /// Requests that arrived while a `Retry-After` sent for their bucket had not yet passed
    /// (allowing 250 ms for requests already on the wire).
    #[serde(default)]
    pub early_requests: u64,
    /// Connections closed without an answer (resets and lost answers).
    #[serde(default)]
    pub resets: u64,
    /// Items still there.
    #[serde(default)]
    pub remaining: u64,
    /// GETs of list endpoints answered.
    #[serde(default)]
    pub lists: u64,
    /// DELETEs of credentials answered (authenticated, past any fault), whatever they found.
    #[serde(default)]
    pub deletes: u64,
    /// `GET /groups/{id}` answered (a project's organization asked).
    #[serde(default)]
    pub project_reads: u64,
    /// `GET /rateLimits` asked (Atlas v2).
    #[serde(default)]
    pub rate_limit_reads: u64,
    /// Requests to the OAuth token endpoint.
    #[serde(default)]
    pub token_requests: u64,
    /// Access tokens issued.
    #[serde(default)]
    pub tokens_issued: u64,
    /// Access tokens revoked.
    #[serde(default)]
    pub token_revokes: u64,
}

impl Stats {
    /// Answers with `status`.
    pub fn status(&self, status: u16) -> u64 {
        self.by_status
            .get(&status.to_string())
            .copied()
            .unwrap_or(0)
    }
}

impl Counters {
    pub(super) fn answered(&self, status: u16) {
        *lock(&self.by_status).entry(status).or_default() += 1;
    }

    pub(super) fn snapshot(&self, remaining: usize) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            requests: get(&self.requests),
            by_status: lock(&self.by_status)
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            challenges: get(&self.challenges),
            deleted: get(&self.deleted),
            not_found: get(&self.not_found),
            peak_in_flight: get(&self.peak_in_flight),
            repeat_deletes: get(&self.repeat_deletes),
            early_requests: get(&self.early_requests),
            resets: get(&self.resets),
            remaining: remaining as u64,
            lists: get(&self.lists),
            deletes: get(&self.deletes),
            project_reads: get(&self.project_reads),
            rate_limit_reads: get(&self.rate_limit_reads),
            token_requests: get(&self.token_requests),
            tokens_issued: get(&self.tokens_issued),
            token_revokes: get(&self.token_revokes),
        }
    }

    pub(super) fn reset(&self) {
        for c in [
            &self.requests,
            &self.challenges,
            &self.deleted,
            &self.not_found,
            &self.peak_in_flight,
            &self.repeat_deletes,
            &self.early_requests,
            &self.resets,
            &self.lists,
            &self.deletes,
            &self.project_reads,
            &self.rate_limit_reads,
            &self.token_requests,
            &self.tokens_issued,
            &self.token_revokes,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        lock(&self.by_status).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> Oid {
        Oid::from_bytes([n; 12])
    }

    #[test]
    fn deleting_an_org_key_removes_its_project_assignments() {
        let t = |kind, scope, key| Seed::new(kind, scope, key, None);
        let world = World::new([
            t(Kind::OrgApiKey, id(1), id(9)),
            t(Kind::ProjectApiKey, id(2), id(9)),
            t(Kind::ProjectApiKey, id(3), id(9)),
        ]);
        let c = Counters::default();
        assert!(matches!(
            world.delete(&t(Kind::OrgApiKey, id(1), id(9)), &c),
            Deleted::Yes
        ));
        assert!(matches!(
            world.delete(&t(Kind::ProjectApiKey, id(2), id(9)), &c),
            Deleted::NoSuchItem
        ));
        assert_eq!(world.remaining(), 0);
    }

    #[test]
    fn deleting_a_service_account_removes_its_secrets() {
        let secret = Seed::new(Kind::ServiceAccountSecret, id(1), id(5), Some(id(6)));
        let world = World::new([secret]);
        assert_eq!(
            world.list(Kind::ServiceAccount, &id(1), None),
            vec![ItemId::Oid(id(5))]
        );
        let c = Counters::default();
        let account = Seed {
            kind: Kind::ServiceAccount,
            secret: None,
            ..secret
        };
        assert!(matches!(world.delete(&account, &c), Deleted::Yes));
        assert!(matches!(world.delete(&secret, &c), Deleted::NoSuchParent));
        assert_eq!(world.remaining(), 0);
    }

    #[test]
    fn unassigning_a_service_account_from_a_project_leaves_its_secrets_unreachable_there() {
        let secret = Seed::new(Kind::ProjectServiceAccountSecret, id(1), id(5), Some(id(6)));
        let world = World::new([secret]);
        let c = Counters::default();
        let assignment = Seed {
            kind: Kind::ProjectServiceAccount,
            secret: None,
            ..secret
        };
        assert!(matches!(world.delete(&assignment, &c), Deleted::Yes));
        assert!(matches!(world.delete(&secret, &c), Deleted::NoSuchParent));
        // The secret itself was not deleted: its organization's account still has it, and
        // deleting it there deletes it everywhere.
        let in_org = Seed::new(Kind::ServiceAccountSecret, DEFAULT_ORG, id(5), Some(id(6)));
        assert_eq!(
            world.list(Kind::ServiceAccountSecret, &DEFAULT_ORG, Some(id(5))),
            vec![ItemId::Oid(id(6))]
        );
        assert!(matches!(world.delete(&in_org, &c), Deleted::Yes));
        assert!(
            world
                .list(Kind::ProjectServiceAccountSecret, &id(1), Some(id(5)))
                .is_empty()
        );
    }
}
