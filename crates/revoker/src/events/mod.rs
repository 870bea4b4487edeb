//! What compromised credentials did, from MongoDB's Events API: events as the spec's
//! `EventViewForOrg` / `EventViewForNdsGroup` give them, attributed to the credential that acted,
//! and the sweep of everything those credentials created or widened, to a fixed point (an API key
//! they created is a credential whose own creations are swept too).
//!
//! Attribution (README, "What the documents leave open"): an API key acts as `apiKeyId` (and
//! `publicKey`); a service account as `username` = its client id (the documents say nothing of
//! service-account actors). What an event created is named by `resourceId` (an API key, a service
//! account, a secret), `targetPublicKey` (an API key, by its public key), `dbUserUsername` +
//! `database` (a database user) and `raw.clientId` (a secret's account). Reading is in [`read`];
//! this module decides and never sends.

pub mod read;
pub mod reconcile;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::input::{CLIENT_ID_PREFIX, Kind, ObjectId, Target, parse_client_id};

/// One event, every field optional: an event is read for what it says, and what it does not say
/// is never guessed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub event_type_name: Option<String>,
    #[serde(default)]
    pub org_id: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub api_key_id: Option<String>,
    #[serde(default)]
    pub public_key: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub remote_address: Option<String>,
    #[serde(default)]
    pub target_public_key: Option<String>,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub db_user_username: Option<String>,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub whitelist_entry: Option<String>,
    #[serde(default)]
    pub raw: Option<serde_json::Value>,
}

/// An event and where it was read: the organization, and the project for a project's event.
#[derive(Clone, Debug)]
pub struct Read {
    pub org: ObjectId,
    pub project: Option<ObjectId>,
    pub event: Event,
}

/// A credential as events name their actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Actor {
    /// An API key, by its id (`apiKeyId`).
    ApiKey(ObjectId),
    /// A service account, by the hex part of its client id.
    Account(ObjectId),
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::ApiKey(id) => write!(f, "API key {id}"),
            Actor::Account(id) => write!(f, "service account {CLIENT_ID_PREFIX}{id}"),
        }
    }
}

impl Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Actor {
    /// The credential a row names, if it is one that acts (an API key or a service account).
    pub fn of_target(t: &Target) -> Option<Actor> {
        match t.kind {
            Kind::OrgApiKey | Kind::ProjectApiKey | Kind::GlobalApiKey => {
                Some(Actor::ApiKey(t.key))
            }
            k if k.key_is_client_id() => Some(Actor::Account(t.key)),
            _ => None,
        }
    }
}

/// Who an event says acted, given the public keys known to belong to API keys.
pub fn actor_of(e: &Event, public_keys: &HashMap<String, ObjectId>) -> Option<Actor> {
    if let Some(id) = e
        .api_key_id
        .as_deref()
        .and_then(|k| ObjectId::parse(k.trim()))
    {
        return Some(Actor::ApiKey(id));
    }
    if let Some(id) = e
        .public_key
        .as_deref()
        .and_then(|p| public_keys.get(p.trim()))
    {
        return Some(Actor::ApiKey(*id));
    }
    if e.user_id.is_none() {
        // A service account: no userId, its client id as the username (assumed; README), read
        // in any case as ids are.
        return e
            .username
            .as_deref()
            .and_then(|u| parse_client_id(&u.trim().to_ascii_lowercase()))
            .map(Actor::Account);
    }
    None
}

/// What a credential did, as its events say.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Activity {
    pub events: u64,
    pub by_type: BTreeMap<String, u64>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub addresses: BTreeSet<String>,
    /// For an artifact: the event that created it, and by whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl Activity {
    fn take(&mut self, e: &Event) {
        self.events += 1;
        let name = e
            .event_type_name
            .clone()
            .unwrap_or_else(|| "(no type)".into());
        *self.by_type.entry(name).or_default() += 1;
        if let Some(at) = &e.created {
            // ISO 8601 in UTC compares as text.
            if self.first_seen.as_ref().is_none_or(|f| at < f) {
                self.first_seen = Some(at.clone());
            }
            if self.last_seen.as_ref().is_none_or(|l| at > l) {
                self.last_seen = Some(at.clone());
            }
        }
        if let Some(a) = &e.remote_address {
            self.addresses.insert(a.clone());
        }
    }
}

/// Something a compromised credential (or one of its artifacts) created or widened.
#[derive(Clone, Debug, Serialize)]
pub struct Artifact {
    /// The row that revokes it.
    pub target: Target,
    pub event_id: String,
    pub event_type: String,
    pub created: String,
    pub by: Actor,
}

impl Artifact {
    /// The `why` of its follow-up row.
    pub fn why(&self) -> String {
        format!(
            "event {} {} by {} at {}",
            self.event_id, self.event_type, self.by, self.created
        )
    }
}

/// Something created that revoker cannot revoke, for a person to remove by hand.
#[derive(Clone, Debug, Serialize)]
pub struct Handover {
    pub event_id: String,
    pub event_type: String,
    pub created: String,
    pub by: Actor,
    pub org: ObjectId,
    pub project: Option<ObjectId>,
    /// What to remove, in words.
    pub what: String,
}

/// A sweep's findings.
#[derive(Debug, Default, Serialize)]
pub struct Sweep {
    /// Each credential's activity: the compromised ones and every credential they created.
    pub activity: BTreeMap<Actor, Activity>,
    pub artifacts: Vec<Artifact>,
    pub handover: Vec<Handover>,
    /// Rows naming the credential the sweep runs as: never listed for revocation (revoking it
    /// would end the sweep's own access), named apart so that the operator decides.
    pub acting: Vec<Artifact>,
    /// Events read (after removing duplicates across scopes).
    pub events_read: u64,
    /// Event ids served twice with different contents: only the first is used.
    pub conflicting: Vec<String>,
}

/// What an event creates, if anything: a row, or words for a person.
enum Made {
    Row(Target, Option<Actor>),
    ByHand(String),
}

fn text(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// Every name an event gives what it made, for a person to find it by.
fn named_as(e: &Event) -> String {
    let names: Vec<String> = [
        ("resourceId", &e.resource_id),
        ("targetPublicKey", &e.target_public_key),
        ("database", &e.database),
        ("dbUserUsername", &e.db_user_username),
    ]
    .iter()
    .filter_map(|(field, v)| v.as_deref().map(|v| format!("{field} {v:?}")))
    .collect();
    match names.is_empty() {
        true => "no resourceId, targetPublicKey or database user".into(),
        false => names.join(", "),
    }
}

fn target(kind: Kind, scope: ObjectId, key: &str, secret: &str) -> Option<Target> {
    Target::parse(kind.as_str(), &scope.to_string(), key, secret)
}

/// The client id of the account an event is about: `raw.clientId`, else `resourceId` (hex).
fn client_of(e: &Event) -> Option<ObjectId> {
    let raw = e
        .raw
        .as_ref()
        .and_then(|r| r.get("clientId"))
        .and_then(|v| v.as_str());
    raw.and_then(parse_client_id)
        .or_else(|| e.resource_id.as_deref().and_then(ObjectId::parse))
}

/// The API key an event names: `resourceId`, else its `targetPublicKey` as a creation revealed it.
fn key_of(e: &Event, keys: &HashMap<String, ObjectId>) -> Option<ObjectId> {
    e.resource_id
        .as_deref()
        .and_then(ObjectId::parse)
        .or_else(|| {
            e.target_public_key
                .as_deref()
                .and_then(|p| keys.get(p).copied())
        })
}

fn client_text(c: ObjectId) -> String {
    format!("{CLIENT_ID_PREFIX}{c}")
}

/// The row an event makes, and the credential it is when that credential can act; `None` when
/// the event names it in no form revoker reads.
fn made_row(
    r: &Read,
    name: &str,
    keys: &HashMap<String, ObjectId>,
) -> Option<(Target, Option<Actor>)> {
    let e = &r.event;
    let project = r
        .project
        .or_else(|| e.group_id.as_deref().and_then(ObjectId::parse));
    let raw_client = e
        .raw
        .as_ref()
        .and_then(|r| r.get("clientId"))
        .and_then(|v| v.as_str())
        .and_then(parse_client_id);
    let resource = e.resource_id.as_deref().and_then(ObjectId::parse);
    match name {
        "API_KEY_CREATED" => {
            let k = key_of(e, keys)?;
            Some((
                target(Kind::OrgApiKey, r.org, &k.to_string(), "")?,
                Some(Actor::ApiKey(k)),
            ))
        }
        "API_KEY_ADDED_TO_GROUP" => {
            let k = key_of(e, keys)?;
            Some((
                target(Kind::ProjectApiKey, project?, &k.to_string(), "")?,
                None,
            ))
        }
        "SERVICE_ACCOUNT_CREATED" => {
            let c = client_of(e)?;
            let t = target(Kind::ServiceAccount, r.org, &client_text(c), "")?;
            Some((t, Some(Actor::Account(c))))
        }
        "SERVICE_ACCOUNT_SECRET_ADDED" => {
            let (c, secret) = (raw_client?, resource?.to_string());
            let t = match project {
                Some(p) => target(
                    Kind::ProjectServiceAccountSecret,
                    p,
                    &client_text(c),
                    &secret,
                ),
                None => target(Kind::ServiceAccountSecret, r.org, &client_text(c), &secret),
            };
            Some((t?, None))
        }
        "SERVICE_ACCOUNT_ADDED_TO_GROUP" => {
            let t = target(
                Kind::ProjectServiceAccount,
                project?,
                &client_text(client_of(e)?),
                "",
            );
            Some((t?, None))
        }
        "MONGODB_USER_ADDED" => {
            let (db, user) = (e.database.as_deref()?, e.db_user_username.as_deref()?);
            // The row's key is `database/username`, split at the first `/`: a database name
            // holding one would name another user.
            if db.contains('/') {
                return None;
            }
            Some((
                target(Kind::DatabaseUser, project?, &format!("{db}/{user}"), "")?,
                None,
            ))
        }
        _ => None,
    }
}

/// The event types that create a row revoker can revoke.
const MAKES_ROWS: [&str; 6] = [
    "API_KEY_CREATED",
    "API_KEY_ADDED_TO_GROUP",
    "SERVICE_ACCOUNT_CREATED",
    "SERVICE_ACCOUNT_SECRET_ADDED",
    "SERVICE_ACCOUNT_ADDED_TO_GROUP",
    "MONGODB_USER_ADDED",
];

/// What `r`'s event makes; `keys` maps public keys to API key ids as creations revealed them.
fn made(r: &Read, keys: &HashMap<String, ObjectId>) -> Option<Made> {
    let e = &r.event;
    let name = e.event_type_name.as_deref()?;
    if MAKES_ROWS.contains(&name) {
        return Some(match made_row(r, name, keys) {
            Some((t, acts)) => Made::Row(t, acts),
            None => Made::ByHand(format!(
                "{name}: {} (the event does not name it in a form revoker reads)",
                named_as(e)
            )),
        });
    }
    let what = match name {
        "API_KEY_ACCESS_LIST_ENTRY_ADDED" | "API_KEY_WHITELIST_ENTRY_ADDED" => format!(
            "access-list entry {} of API key {} (goes with the key when it is revoked)",
            text(&e.whitelist_entry),
            key_of(e, keys)
                .map_or_else(|| text(&e.target_public_key).to_string(), |k| k.to_string())
        ),
        "API_KEY_ROLES_CHANGED" | "SERVICE_ACCOUNT_ROLES_CHANGED" => format!(
            "roles of {} {} changed",
            text(&e.resource_type),
            text(&e.resource_id)
        ),
        "NETWORK_PERMISSION_ENTRY_ADDED" | "SERVICE_ACCOUNT_ACCESS_LIST_ENTRY_ADDED" => format!(
            "{name}: an IP access-list entry {} (revoker has no kind for it)",
            text(&e.whitelist_entry)
        ),
        _ => return None,
    };
    Some(Made::ByHand(what))
}

/// Public keys of created API keys (so an event naming only `publicKey` is its key's), and each
/// actor's events.
fn index(
    events: &[Read],
    listed: &HashMap<String, ObjectId>,
) -> (HashMap<String, ObjectId>, HashMap<Actor, Vec<usize>>) {
    // The key lists are the server's own word on which key a public key is: they win.
    let mut public_keys: HashMap<String, ObjectId> = listed.clone();
    for r in events {
        if r.event.event_type_name.as_deref() == Some("API_KEY_CREATED")
            && let (Some(p), Some(id)) = (
                &r.event.target_public_key,
                r.event.resource_id.as_deref().and_then(ObjectId::parse),
            )
        {
            public_keys.entry(p.clone()).or_insert(id);
        }
    }
    let mut by_actor: HashMap<Actor, Vec<usize>> = HashMap::new();
    for (i, r) in events.iter().enumerate() {
        if let Some(a) = actor_of(&r.event, &public_keys) {
            by_actor.entry(a).or_default().push(i);
        }
    }
    (public_keys, by_actor)
}

/// The API key id of the credential acting by public key `p`, as the events show it: an actor's
/// `apiKeyId` beside that `publicKey`, or the `resourceId` of its creation.
pub fn acting_key_id(events: &[Read], p: &str) -> Option<ObjectId> {
    events.iter().find_map(|r| {
        let e = &r.event;
        if e.public_key.as_deref() == Some(p) {
            return e.api_key_id.as_deref().and_then(ObjectId::parse);
        }
        (e.event_type_name.as_deref() == Some("API_KEY_CREATED")
            && e.target_public_key.as_deref() == Some(p))
        .then(|| e.resource_id.as_deref().and_then(ObjectId::parse))
        .flatten()
    })
}

/// The events without repeats (one event read from two scopes), and the ids that came with two
/// different contents: which one is true cannot be told, so each is named.
fn distinct(events: Vec<Read>) -> (Vec<Read>, Vec<String>) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<Read> = Vec::new();
    let mut conflicting = BTreeSet::new();
    for r in events {
        match r.event.id.clone() {
            Some(id) => match seen.get(&id) {
                Some(&at) if out[at].event != r.event => {
                    conflicting.insert(id);
                }
                Some(_) => {}
                None => {
                    seen.insert(id, out.len());
                    out.push(r);
                }
            },
            None => out.push(r),
        }
    }
    (out, conflicting.into_iter().collect())
}

/// The acting API key's id: as a key list told it, else as the events show it.
fn own_key_id(
    acting: Option<&reconcile::RunCredential>,
    own_key: Option<ObjectId>,
    events: &[Read],
) -> Option<ObjectId> {
    match acting {
        Some(reconcile::RunCredential::PublicKey(p)) => {
            own_key.or_else(|| acting_key_id(events, p))
        }
        _ => None,
    }
}

/// Whether row `t`, made by event `e`, names the credential the sweep runs as (or a grant of it:
/// its project assignment, its account's secret).
fn is_acting(
    t: &Target,
    e: &Event,
    acting: Option<&reconcile::RunCredential>,
    key_id: Option<ObjectId>,
) -> bool {
    use reconcile::RunCredential;
    match acting {
        Some(RunCredential::PublicKey(p)) => {
            matches!(t.kind, Kind::OrgApiKey | Kind::ProjectApiKey)
                && (e.target_public_key.as_deref() == Some(p.as_str()) || key_id == Some(t.key))
        }
        Some(RunCredential::Account(c)) => t.kind.key_is_client_id() && t.key == *c,
        None => false,
    }
}

/// Sweeps `events` for what `compromised` did, to a fixed point: every credential they created
/// is swept as they are. Only events whose actor is one of those credentials are ever used.
pub fn sweep(compromised: &[Actor], events: Vec<Read>) -> Sweep {
    sweep_as(compromised, events, &Known::default())
}

/// What the key lists told a sweep before it read the events: the id of the API key it runs as,
/// and every listed key's id by its public key.
#[derive(Debug, Default)]
pub struct Known<'a> {
    pub acting: Option<&'a reconcile::RunCredential>,
    pub own_key: Option<ObjectId>,
    pub listed: HashMap<String, ObjectId>,
}

/// [`sweep`], run as `acting`: a row naming that credential goes to [`Sweep::acting`], never to
/// the artifacts (its own creations are still swept, so nothing is hidden). `own_key` is the
/// acting API key's id when a key list told it; the events are asked otherwise.
pub fn sweep_as(compromised: &[Actor], events: Vec<Read>, known: &Known<'_>) -> Sweep {
    let (events, conflicting) = distinct(events);
    let acting = known.acting;
    let (public_keys, by_actor) = index(&events, &known.listed);
    let key_id = own_key_id(acting, known.own_key, &events);
    let mut out = Sweep {
        events_read: events.len() as u64,
        conflicting,
        ..Sweep::default()
    };
    let mut queue: VecDeque<Actor> = compromised.iter().copied().collect();
    let mut swept: HashSet<Actor> = HashSet::new();
    let mut rows = HashSet::new();
    while let Some(actor) = queue.pop_front() {
        if !swept.insert(actor) {
            continue;
        }
        let activity = out.activity.entry(actor).or_default();
        let mut found = Vec::new();
        for &i in by_actor.get(&actor).map(Vec::as_slice).unwrap_or(&[]) {
            let r = &events[i];
            activity.take(&r.event);
            if let Some(m) = made(r, &public_keys) {
                found.push((i, m));
            }
        }
        for (i, m) in found {
            let r = &events[i];
            let (event_id, event_type, created) = (
                text(&r.event.id).to_string(),
                text(&r.event.event_type_name).to_string(),
                text(&r.event.created).to_string(),
            );
            match m {
                Made::Row(t, acts) => {
                    if let Some(next) = acts.filter(|a| !swept.contains(a)) {
                        out.activity.entry(next).or_default().created_by =
                            Some(format!("event {event_id} by {actor}"));
                        queue.push_back(next);
                    }
                    if rows.insert(t.identity()) {
                        let own = is_acting(&t, &r.event, acting, key_id);
                        let artifact = Artifact {
                            target: t,
                            event_id,
                            event_type,
                            created,
                            by: actor,
                        };
                        if own {
                            out.acting.push(artifact);
                        } else {
                            out.artifacts.push(artifact);
                        }
                    }
                }
                Made::ByHand(what) => out.handover.push(Handover {
                    event_id,
                    event_type,
                    created,
                    by: actor,
                    org: r.org,
                    project: r.project,
                    what,
                }),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes([n; 12])
    }

    fn ev(id_: u8, name: &str, key: Option<ObjectId>, resource: ObjectId) -> Read {
        Read {
            org: id(1),
            project: None,
            event: Event {
                id: Some(id(200 + id_).to_string()),
                created: Some("2026-11-01T00:00:00Z".into()),
                event_type_name: Some(name.into()),
                api_key_id: key.map(|k| k.to_string()),
                user_id: key.is_none().then(|| id(99).to_string()),
                resource_id: Some(resource.to_string()),
                ..Event::default()
            },
        }
    }

    #[test]
    fn creations_are_swept_to_a_fixed_point_and_others_are_ignored() {
        let events = vec![
            ev(1, "API_KEY_CREATED", Some(id(10)), id(11)),
            ev(2, "API_KEY_CREATED", Some(id(11)), id(12)),
            ev(3, "API_KEY_CREATED", Some(id(12)), id(13)),
            // A person created this one: never listed.
            ev(4, "API_KEY_CREATED", None, id(14)),
            ev(5, "CLUSTER_UPDATED", Some(id(10)), id(15)),
        ];
        let s = sweep(&[Actor::ApiKey(id(10))], events);
        let keys: Vec<ObjectId> = s.artifacts.iter().map(|a| a.target.key).collect();
        assert_eq!(keys, vec![id(11), id(12), id(13)]);
        assert_eq!(s.activity[&Actor::ApiKey(id(10))].events, 2);
        assert!(s.activity[&Actor::ApiKey(id(12))].created_by.is_some());
    }
}
