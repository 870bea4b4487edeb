//! Starting at the right pace. Before its first DELETE a run knows, where it can, the buckets that
//! limit it: the ones the Atlas Administration API publishes (`GET /rateLimits`, Accept
//! `application/vnd.atlas.2025-03-12+json`: endpoint sets with `endpoints[{method, path}]`,
//! `scope`, and `capacity`, `refillRate`, `refillDurationSeconds` each as `{value}`), else what an
//! earlier run learned, kept in `revoker-limits.json` beside the reports:
//!
//! ```json
//! {"version": 1, "entries": [{"base_url": "https://cloud.mongodb.com/api/atlas/v2",
//!   "credential": "API key abcdefgh", "endpoint_set": "revoke", "scope": "project",
//!   "refill_per_second": 10.0, "capacity": 10.0, "learned_at": "2026-12-01T02:15:09Z",
//!   "source": "learned"}]}
//! ```
//!
//! One entry per base URL, credential (its public identity), endpoint set and kind of scope
//! (`project`, `organization`, or `user` for a bucket of the whole credential). An entry is saved
//! again only when the run observed its bucket (a 429, rate-limit headers), so that a bucket a
//! run merely started from keeps its age. Entries older than [`FRESH_FOR`] are ignored and dropped; a 429 still overrides any of them at once; `--forget-limits`
//! drops this base URL's and credential's entries before the run; a missing or unreadable file is a
//! warning, never an error. Only the run's DELETEs are paced by them: lists have buckets of their own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::{Api, ListShape, ListSpec};
use crate::engine::{Context, Known, Starts};
use crate::input::Kind;
use crate::settings::Settings;

/// The state file's name, in the reports' folder.
pub const STATE_FILE: &str = "revoker-limits.json";

/// How long a learned bucket is trusted: a week of nightly runs.
pub const FRESH_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

const RATE_LIMITS_ACCEPT: &str = "application/vnd.atlas.2025-03-12+json";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct State {
    version: u32,
    entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Entry {
    base_url: String,
    credential: String,
    endpoint_set: String,
    /// `project`, `organization` or `user`.
    scope: String,
    refill_per_second: f64,
    capacity: f64,
    learned_at: String,
    /// `learned` (from a run's 429s or headers) or `published` (`GET /rateLimits`).
    source: String,
}

/// The state file beside `report`.
pub fn state_path(report: &Path) -> PathBuf {
    report
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from(STATE_FILE), |d| d.join(STATE_FILE))
}

/// A limits file holds a few entries per server and credential; anything larger is not one.
const MAX_STATE_BYTES: u64 = 1 << 20;

/// The state file, read as a side file: a link, a FIFO or a file too large is a warning, never a
/// wait (the run holds its report's lock meanwhile).
fn read_state(path: &Path) -> State {
    use crate::fsx::{Links, read_bounded};
    match read_bounded(path, Links::Refuse, MAX_STATE_BYTES) {
        Ok(text) => serde_json::from_slice(&text).unwrap_or_else(|e| {
            tracing::warn!(
                "{}: not a limits file ({e}); starting without it",
                path.display()
            );
            State::default()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
        Err(e) => {
            tracing::warn!("{}: cannot read ({e}); starting without it", path.display());
            State::default()
        }
    }
}

fn fresh(entry: &Entry, now: jiff::Timestamp) -> bool {
    entry
        .learned_at
        .parse::<jiff::Timestamp>()
        .ok()
        .and_then(|at| now.duration_since(at).try_into().ok())
        .is_some_and(|age: Duration| age < FRESH_FOR)
}

/// What a run starts at, per kind of scope and for the whole credential.
#[derive(Debug, Default)]
pub struct Start {
    pub starts: Starts,
    pub user: Option<Known>,
    /// Where each came from, for the log.
    pub said: Vec<String>,
}

impl Start {
    fn take(&mut self, scope: &str, k: Known, from: &str) {
        let slot = match scope {
            "project" => &mut self.starts.project,
            "organization" => &mut self.starts.org,
            "user" => &mut self.user,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(k);
            self.said.push(format!(
                "{scope}: {} per second, capacity {} ({from})",
                k.refill_per_second, k.capacity
            ));
        }
    }
}

/// Sets the pace `ctx` starts at: the published buckets, else the fresh entries of the state file.
/// Answers what it starts at, in words (empty when nothing is known before the first request).
pub async fn start(
    ctx: &Arc<Context>,
    settings: &Settings,
    report: &Path,
    kinds: &[Kind],
    forget: bool,
) -> Vec<String> {
    let path = state_path(report);
    let identity = ctx.client().identity().to_string();
    let base = settings.base_url.to_string();
    if forget {
        let mut state = read_state(&path);
        let before = state.entries.len();
        state
            .entries
            .retain(|e| !(e.base_url == base && e.credential == identity));
        if state.entries.len() != before {
            write_state(&path, &state);
        }
        tracing::info!(
            "forgot the limits of {identity} at {base} ({})",
            path.display()
        );
    }
    let mut start = Start::default();
    if ctx.client().api() == Api::Atlas {
        for (scope, k, set) in published(ctx, settings, kinds).await {
            start.take(&scope, k, &format!("published: {set}"));
        }
    }
    let now = jiff::Timestamp::now();
    for e in read_state(&path).entries {
        if e.base_url == base && e.credential == identity && fresh(&e, now) {
            let k = Known {
                refill_per_second: e.refill_per_second,
                capacity: e.capacity,
            };
            start.take(&e.scope, k, &format!("{} {}", e.source, e.learned_at));
        }
    }
    if !start.said.is_empty() {
        tracing::info!("{identity} starts at {}", start.said.join("; "));
    }
    ctx.pacer.start_at(start.starts, start.user);
    start.said
}

/// Keeps what the run knows of its buckets for the next run.
pub fn save(ctx: &Arc<Context>, settings: &Settings, report: &Path) {
    let (starts, user) = ctx.pacer.learned();
    let identity = ctx.client().identity().to_string();
    let base = settings.base_url.to_string();
    let at = jiff::Timestamp::now().to_string();
    let learned: Vec<Entry> = [
        ("project", starts.project),
        ("organization", starts.org),
        ("user", user),
    ]
    .into_iter()
    .filter_map(|(scope, k)| {
        k.map(|k| Entry {
            base_url: base.clone(),
            credential: identity.clone(),
            endpoint_set: "revoke".into(),
            scope: scope.into(),
            refill_per_second: k.refill_per_second,
            capacity: k.capacity,
            learned_at: at.clone(),
            source: "learned".into(),
        })
    })
    .collect();
    if learned.is_empty() {
        return;
    }
    let path = state_path(report);
    let mut state = read_state(&path);
    let now = jiff::Timestamp::now();
    state.version = 1;
    state.entries.retain(|e| {
        fresh(e, now)
            && !learned.iter().any(|l| {
                l.base_url == e.base_url && l.credential == e.credential && l.scope == e.scope
            })
    });
    state.entries.extend(learned);
    write_state(&path, &state);
}

fn write_state(path: &Path, state: &State) {
    let bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
    if let Err(e) = crate::fsx::write_atomic(path, &bytes, 0o600) {
        tracing::warn!("cannot keep the limits in {}: {e}", path.display());
    }
}

/// An endpoint set of `GET /rateLimits`.
#[derive(Deserialize, Debug, Default)]
struct EndpointSet {
    #[serde(default, rename = "endpointSetId")]
    id: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    endpoints: Vec<Endpoint>,
    #[serde(default)]
    capacity: Option<Value>,
    #[serde(default, rename = "refillRate")]
    refill_rate: Option<Value>,
    #[serde(default, rename = "refillDurationSeconds")]
    refill_seconds: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
struct Endpoint {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
struct Value {
    #[serde(default)]
    value: Option<f64>,
}

/// A path with its ids (or `{placeholders}`) as `*`, from the API's version on: what endpoint
/// paths are compared by.
fn shape(path: &str) -> String {
    let from = path.find("/api/atlas/v2").unwrap_or(0);
    path[from..]
        .split('/')
        .map(|s| {
            if s.starts_with('{')
                || crate::input::ObjectId::parse(s).is_some()
                || s.starts_with("mdb_sa_id_")
            {
                "*"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Pages of endpoint sets: each asked once, outside the run's retries and breakers, since the
/// endpoint is optional (Cloud Manager has none; a credential may not read it) and no answer of it
/// may stop a run.
async fn endpoint_sets(ctx: &Context, spec: &ListSpec) -> Result<Vec<EndpointSet>, String> {
    let mut out = Vec::new();
    for page in 1..=10 {
        let reply = ctx.client().list_page(spec, page).await;
        if !matches!(reply.answer, crate::api::Answer::Done { .. }) {
            return Err(reply.answer.described());
        }
        let p: crate::select::read::PageOf<EndpointSet> =
            serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
        let (n, next) = (p.results.len(), p.next());
        out.extend(p.results);
        if n == 0 || !next {
            break;
        }
    }
    Ok(out)
}

/// The buckets `GET /rateLimits` publishes for the run's DELETEs: `(scope, bucket, set id)`. Any
/// answer but a list of endpoint sets (403, 404, an older server) is no knowledge, only a note.
async fn published(
    ctx: &Arc<Context>,
    settings: &Settings,
    kinds: &[Kind],
) -> Vec<(String, Known, String)> {
    // Asked as every other request of the run is, so that the answer is read as it was asked: an
    // `--envelope` run gets (and reads) the list object with its `status`.
    let spec = ListSpec {
        url: crate::api::url_of(&settings.base_url, &["rateLimits"], ctx.client().envelope()),
        accept: RATE_LIMITS_ACCEPT,
        shape: ListShape::Paged {
            id_field: "endpointSetId",
        },
    };
    let sets = match endpoint_sets(ctx, &spec).await {
        Ok(sets) => sets,
        Err(why) => {
            tracing::info!("no published rate limits ({why}); the run learns them as it goes");
            return Vec::new();
        }
    };
    let ours: Vec<String> = kinds
        .iter()
        .map(|k| shape(&settings.api.revoke_pattern(&settings.base_url, *k, false)))
        .collect();
    let mut out = Vec::new();
    for set in sets {
        let ours_in_set = set.endpoints.iter().any(|e| {
            e.method
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("DELETE"))
                && e.path.as_deref().is_some_and(|p| ours.contains(&shape(p)))
        });
        let scope = set.scope.as_deref().unwrap_or("").to_ascii_lowercase();
        let scope = if scope.contains("group") || scope.contains("project") {
            "project"
        } else if scope.contains("org") {
            "organization"
        } else if scope.contains("user") {
            "user"
        } else {
            continue;
        };
        let value = |v: &Option<Value>| v.as_ref().and_then(|v| v.value).filter(|v| *v > 0.0);
        let (Some(capacity), Some(refill), Some(seconds)) = (
            value(&set.capacity),
            value(&set.refill_rate),
            value(&set.refill_seconds),
        ) else {
            continue;
        };
        if ours_in_set {
            let k = Known {
                refill_per_second: refill / seconds,
                capacity,
            };
            out.push((scope.to_string(), k, set.id.clone().unwrap_or_default()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_paths_compare_by_shape() {
        assert_eq!(
            shape("/api/atlas/v2/groups/{groupId}/apiKeys/{apiUserId}"),
            shape(
                "/prefix/api/atlas/v2/groups/5e5e5e5e5e5e5e5e5e5e5e5e/apiKeys/6a6a6a6a6a6a6a6a6a6a6a6a"
            )
        );
        let old = Entry {
            base_url: "b".into(),
            credential: "c".into(),
            endpoint_set: "revoke".into(),
            scope: "project".into(),
            refill_per_second: 1.0,
            capacity: 1.0,
            learned_at: "2026-01-01T00:00:00Z".into(),
            source: "learned".into(),
        };
        let now: jiff::Timestamp = "2026-01-08T00:00:01Z".parse().unwrap();
        assert!(!fresh(&old, now));
        let now: jiff::Timestamp = "2026-01-07T23:59:59Z".parse().unwrap();
        assert!(fresh(&old, now));
    }
}
