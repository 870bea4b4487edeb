//! What the simulator holds: the keys, the projects, and the counters `/__sim/stats` reports.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::input::{Identity, Kind, ObjectId, Target};

const SHARDS: usize = 32;

#[derive(Default)]
struct Shard {
    live: HashSet<Identity>,
    /// Keys this simulator deleted: a DELETE for one of them is a request sent again after done.
    gone: HashSet<Identity>,
}

/// Keys per project and kind, sharded so that concurrent requests rarely wait on one another.
pub(super) struct Keys {
    shards: Vec<Mutex<Shard>>,
    projects: HashSet<[u8; 12]>,
}

/// What a DELETE found.
pub(super) enum Deleted {
    Yes,
    NoSuchProject,
    NoSuchKey,
}

impl Keys {
    pub(super) fn new(targets: impl IntoIterator<Item = Target>) -> Keys {
        let shards: Vec<Mutex<Shard>> = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        let mut projects = HashSet::new();
        for t in targets {
            projects.insert(t.project.bytes());
            let id = t.identity();
            lock(&shards[shard_of(&id)]).live.insert(id);
        }
        Keys { shards, projects }
    }

    pub(super) fn delete(&self, target: &Target, stats: &Counters) -> Deleted {
        if !self.projects.contains(&target.project.bytes()) {
            return Deleted::NoSuchProject;
        }
        let id = target.identity();
        let mut shard = lock(&self.shards[shard_of(&id)]);
        if shard.live.remove(&id) {
            shard.gone.insert(id);
            Deleted::Yes
        } else {
            if shard.gone.contains(&id) {
                stats.repeat_deletes.fetch_add(1, Ordering::Relaxed);
            }
            Deleted::NoSuchKey
        }
    }

    pub(super) fn project_exists(&self, project: &ObjectId) -> bool {
        self.projects.contains(&project.bytes())
    }

    /// The live keys of one kind in one project, sorted.
    pub(super) fn list(&self, project: &ObjectId, kind: Kind) -> Vec<ObjectId> {
        let probe = Target {
            kind,
            project: *project,
            key: *project,
        }
        .identity();
        let mut out: Vec<ObjectId> = Vec::new();
        for shard in &self.shards {
            for id in &lock(shard).live {
                if id[..13] == probe[..13] {
                    let mut key = [0u8; 12];
                    key.copy_from_slice(&id[13..]);
                    out.push(ObjectId::from_bytes(key));
                }
            }
        }
        out.sort();
        out
    }

    /// How many keys are still there.
    pub(super) fn remaining(&self) -> usize {
        self.shards.iter().map(|s| lock(s).live.len()).sum()
    }
}

fn shard_of(id: &Identity) -> usize {
    usize::from(id[24]) % SHARDS
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
}

/// The counters as `GET /__sim/stats` answers them. The first six keys are a stable contract.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// API requests received, digest challenges included.
    pub requests: u64,
    /// Answers per HTTP status (as sent on the wire, so enveloped answers count as 200).
    pub by_status: BTreeMap<String, u64>,
    /// 401 challenges issued.
    pub challenges: u64,
    /// Keys deleted.
    pub deleted: u64,
    /// DELETEs answered 404.
    pub not_found: u64,
    /// Most requests being handled at once.
    pub peak_in_flight: u64,
    /// DELETEs of a key this simulator had already deleted.
    #[serde(default)]
    pub repeat_deletes: u64,
    /// Requests from an API key that arrived while a `Retry-After` it was sent had not yet passed
    /// (allowing 250 ms for requests already on the wire).
    #[serde(default)]
    pub early_requests: u64,
    /// Connections closed without an answer (resets and lost answers).
    #[serde(default)]
    pub resets: u64,
    /// Keys still there.
    #[serde(default)]
    pub remaining: u64,
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
        ] {
            c.store(0, Ordering::Relaxed);
        }
        lock(&self.by_status).clear();
    }
}
