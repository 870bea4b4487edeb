//! The Events API and the database users, as the Atlas Administration API documents them.
//!
//! | request | answer |
//! |---|---|
//! | `GET orgs/{o}/events` (`listOrgEvents`), `GET groups/{g}/events` (`listGroupEvents`) | `{links, results, totalCount}`, newest first; `eventType` (repeatable), `minDate`, `maxDate` (ISO 8601, inclusive), `itemsPerPage` (≤ 500), `pageNum`, `includeRaw` |
//! | `GET groups/{g}/databaseUsers` (`listDatabaseUsers`) | `{links, results: [{databaseName, username, groupId, roles}], totalCount}` |
//! | `DELETE groups/{g}/databaseUsers/{databaseName}/{username}` (`deleteDatabaseUser`) | 204; 404 `RESOURCE_NOT_FOUND` when the user is not there (the spec's `notFound`) |
//!
//! Each event is the spec's `EventViewForOrg` / `EventViewForNdsGroup`: `id`, `created`,
//! `eventTypeName`, `orgId` / `groupId`, the actor as `apiKeyId` + `publicKey` (an API key) or
//! `userId` + `username` (a person), `remoteAddress`, and what it targets (`targetPublicKey`,
//! `resourceId`, `resourceType`, `dbUserUsername`, `database`, `whitelistEntry`). Where the
//! documents are silent this simulator assumes (and revoker's README says so): a service account
//! acts as `username` = its client id; a secret's event names the secret in `resourceId` and its
//! account in `raw.clientId`; an API key's assignment and a database user are project events,
//! everything else about keys and accounts an organization's.
//!
//! Every DELETE this simulator carries out records its event, by the credential that sent it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::lists::{ListRequest, missing_scope, page};
use super::model::{CLIENT_ID_PREFIX, Kind, Oid, Seed};
use super::routes::SimAnswer;
use super::state::lock;

/// One event as the API answers it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: String,
    /// ISO 8601 in UTC.
    pub created: String,
    pub event_type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_user_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whitelist_entry: Option<String>,
    /// Sent only with `includeRaw=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<serde_json::Value>,
}

/// Who acted: an API key, a person, or a service account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    ApiKey { id: Oid, public_key: String },
    User { id: Oid, username: String },
    ServiceAccount { client_id: String },
}

impl Actor {
    /// The actor of a credential this simulator authenticated: a client id is a service account,
    /// anything else an API key's public key, whose id [`api_key_id`] derives.
    pub fn of(user: &str) -> Actor {
        if user.starts_with(CLIENT_ID_PREFIX) {
            Actor::ServiceAccount {
                client_id: user.into(),
            }
        } else {
            Actor::ApiKey {
                id: api_key_id(user),
                public_key: user.into(),
            }
        }
    }

    /// [`Actor::of`], with the id of a key this simulator created (its id is not derived).
    pub(super) fn of_key(user: &str, created: Option<Oid>) -> Actor {
        match (Actor::of(user), created) {
            (Actor::ApiKey { public_key, .. }, Some(id)) => Actor::ApiKey { id, public_key },
            (actor, _) => actor,
        }
    }

    pub(super) fn stamp(&self, event: &mut Event) {
        match self {
            Actor::ApiKey { id, public_key } => {
                event.api_key_id = Some(id.to_string());
                event.public_key = Some(public_key.clone());
            }
            Actor::User { id, username } => {
                event.user_id = Some(id.to_string());
                event.username = Some(username.clone());
            }
            Actor::ServiceAccount { client_id } => event.username = Some(client_id.clone()),
        }
    }
}

/// The id this simulator gives the API key whose public key is `public_key` (FNV-1a, spread over
/// 12 bytes): stable, so tests can name it.
pub fn api_key_id(public_key: &str) -> Oid {
    let mut out = [0u8; 12];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, b) in public_key.bytes().chain(*b"apikey").enumerate() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        out[i % 12] ^= (h >> 24) as u8;
    }
    out[0] = 0xa0 | (out[0] & 0x0f);
    Oid::from_bytes(out)
}

/// A database user: `(databaseName, username)`.
pub type DbUser = (String, String);

/// An event and its time in milliseconds.
type Dated = (i64, Event);

/// Everything seeded or recorded: events per organization and per project, and database users.
#[derive(Default)]
pub(super) struct Log {
    /// `(true, org)` or `(false, project)` → `(created in ms, event)`.
    events: Mutex<HashMap<(bool, Oid), Vec<Dated>>>,
    users: Mutex<HashMap<Oid, BTreeSet<DbUser>>>,
    next: AtomicU64,
}

/// An ISO 8601 instant in milliseconds, if it is one.
fn millis(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

impl Log {
    pub(super) fn new(events: &[Event], users: &[(Oid, DbUser)]) -> Log {
        let log = Log::default();
        {
            let mut map = lock(&log.events);
            for e in events {
                let scope = match (&e.group_id, &e.org_id) {
                    (Some(g), _) => Oid::parse(g).map(|g| (false, g)),
                    (None, Some(o)) => Oid::parse(o).map(|o| (true, o)),
                    _ => None,
                };
                if let (Some(scope), Some(at)) = (scope, millis(&e.created)) {
                    map.entry(scope).or_default().push((at, e.clone()));
                }
            }
        }
        {
            let mut map = lock(&log.users);
            for (project, user) in users {
                map.entry(*project).or_default().insert(user.clone());
            }
        }
        log
    }

    /// Whether the scope has events or database users seeded (it exists, whatever the world says).
    pub(super) fn knows(&self, org: bool, scope: &Oid) -> bool {
        lock(&self.events).contains_key(&(org, *scope))
            || (!org && lock(&self.users).contains_key(scope))
    }

    /// Holds a database user a create made.
    pub(super) fn add_user(&self, project: Oid, user: DbUser) {
        lock(&self.users).entry(project).or_default().insert(user);
    }

    pub(super) fn push(&self, org: bool, scope: Oid, mut event: Event) {
        let (at, at_ms) = crate::truth::now();
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut id = [0u8; 12];
        id[0] = 0xe7;
        id[4..].copy_from_slice(&n.to_be_bytes());
        event.id = Oid::from_bytes(id).to_string();
        event.created = at;
        lock(&self.events)
            .entry((org, scope))
            .or_default()
            .push((at_ms, event));
    }

    /// Records the event of a DELETE that destroyed `target`, by `user`, from `address`.
    pub(super) fn deleted(&self, target: &Seed, user: &Actor, org_of_project: Option<Oid>) {
        let (name, resource_type, org) = match target.kind {
            Kind::ProjectApiKey => ("API_KEY_REMOVED_FROM_GROUP", "API_KEY", false),
            Kind::OrgApiKey => ("API_KEY_DELETED", "API_KEY", true),
            Kind::AgentApiKey => ("AGENT_API_KEY_DELETED", "AGENT_API_KEY", false),
            Kind::ServiceAccount => ("SERVICE_ACCOUNT_DELETED", "SERVICE_ACCOUNT", true),
            Kind::ProjectServiceAccount => (
                "SERVICE_ACCOUNT_REMOVED_FROM_GROUP",
                "SERVICE_ACCOUNT",
                false,
            ),
            Kind::ServiceAccountSecret => (
                "SERVICE_ACCOUNT_SECRET_DELETED",
                "SERVICE_ACCOUNT_SECRET",
                true,
            ),
            Kind::ProjectServiceAccountSecret => (
                "SERVICE_ACCOUNT_SECRET_DELETED",
                "SERVICE_ACCOUNT_SECRET",
                false,
            ),
            Kind::AiModelApiKey => ("AI_MODEL_API_KEY_DELETED", "AI_MODEL_API_KEY", false),
            // An MCP configuration's secret is one of its ingress service account's secrets; no
            // document names its own event type, so the service account's is assumed.
            Kind::OrgMcpSecret => (
                "SERVICE_ACCOUNT_SECRET_DELETED",
                "SERVICE_ACCOUNT_SECRET",
                true,
            ),
            Kind::ProjectMcpSecret => (
                "SERVICE_ACCOUNT_SECRET_DELETED",
                "SERVICE_ACCOUNT_SECRET",
                false,
            ),
            Kind::GlobalApiKey | Kind::OrgMcpConfig | Kind::ProjectMcpConfig => return,
        };
        let mut event = Event {
            event_type_name: name.into(),
            resource_type: Some(resource_type.into()),
            remote_address: Some("127.0.0.1".into()),
            ..Event::default()
        };
        user.stamp(&mut event);
        let scope = target.scope.to_string();
        if org {
            event.org_id = Some(scope);
        } else {
            event.group_id = Some(scope);
            event.org_id = org_of_project.map(|o| o.to_string());
        }
        event.resource_id = Some(match target.kind {
            k if k.is_secret() => target.secret_text(),
            k if k.key_is_client_id() => target.key.to_string(),
            _ => target.key_text(),
        });
        if target.kind.is_secret() {
            event.raw = Some(json!({ "clientId": target.key_text() }));
        }
        self.push(org, target.scope, event);
    }

    /// `GET orgs/{o}/events` or `GET groups/{g}/events`.
    pub(super) fn list(
        &self,
        org: bool,
        exists: bool,
        req: &ListRequest<'_>,
        query: &str,
    ) -> SimAnswer {
        let kind = if org {
            Kind::OrgApiKey
        } else {
            Kind::ProjectApiKey
        };
        if !exists && !self.knows(org, &req.scope) {
            return missing_scope(kind, &req.scope);
        }
        let (mut types, mut min, mut max, mut raw) = (BTreeSet::new(), None, None, false);
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "eventType" => {
                    types.insert(v.into_owned());
                }
                "minDate" | "maxDate" => {
                    let Some(at) = millis(&v) else {
                        return SimAnswer::error(
                            400,
                            "INVALID_DATE_FORMAT",
                            format!("{k} must be an ISO 8601 date and time."),
                            "Bad Request",
                        );
                    };
                    if k == "minDate" {
                        min = Some(at)
                    } else {
                        max = Some(at)
                    }
                }
                "includeRaw" => raw = v == "true",
                _ => {}
            }
        }
        let mut chosen: Vec<(i64, Event)> = lock(&self.events)
            .get(&(org, req.scope))
            .map(|all| {
                all.iter()
                    .filter(|(at, e)| {
                        (types.is_empty() || types.contains(&e.event_type_name))
                            && min.is_none_or(|m| *at >= m)
                            && max.is_none_or(|m| *at <= m)
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        // Newest first, as the Activity Feed shows them; ties by id, so pages never overlap.
        chosen.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.id.cmp(&a.1.id)));
        page(req, chosen.len(), "id", &mut |skip, take| {
            chosen
                .iter()
                .skip(skip)
                .take(take)
                .map(|(_, e)| {
                    let mut e = e.clone();
                    if !raw {
                        e.raw = None;
                    }
                    serde_json::to_value(e).unwrap_or_default()
                })
                .collect()
        })
    }

    /// `GET groups/{g}/databaseUsers`.
    pub(super) fn users(&self, exists: bool, req: &ListRequest<'_>) -> SimAnswer {
        if !exists && !self.knows(false, &req.scope) {
            return missing_scope(Kind::ProjectApiKey, &req.scope);
        }
        let users: Vec<DbUser> = lock(&self.users)
            .get(&req.scope)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        let group = req.scope.to_string();
        page(req, users.len(), "username", &mut |skip, take| {
            users
                .iter()
                .skip(skip)
                .take(take)
                .map(|(db, name)| json!({ "databaseName": db, "username": name, "groupId": group, "roles": [] }))
                .collect()
        })
    }

    /// `DELETE groups/{g}/databaseUsers/{db}/{user}`; records `MONGODB_USER_DELETED`.
    pub(super) fn delete_user(
        &self,
        exists: bool,
        project: Oid,
        user: DbUser,
        actor: &str,
        org: Option<Oid>,
    ) -> SimAnswer {
        if !exists && !self.knows(false, &project) {
            return missing_scope(Kind::ProjectApiKey, &project);
        }
        let removed = lock(&self.users)
            .get_mut(&project)
            .is_some_and(|set| set.remove(&user));
        if !removed {
            return SimAnswer::error(
                404,
                "RESOURCE_NOT_FOUND",
                format!("Cannot find resource database user {}/{}.", user.0, user.1),
                "Not Found",
            );
        }
        let mut event = Event {
            event_type_name: "MONGODB_USER_DELETED".into(),
            group_id: Some(project.to_string()),
            org_id: org.map(|o| o.to_string()),
            remote_address: Some("127.0.0.1".into()),
            db_user_username: Some(user.1),
            database: Some(user.0),
            resource_type: Some("DATABASE_USER".into()),
            ..Event::default()
        };
        Actor::of(actor).stamp(&mut event);
        self.push(false, project, event);
        SimAnswer::empty(204)
    }

    /// Every database user held now, `(project, databaseName, username)`, sorted: for the ground truth.
    pub fn held_users(&self) -> Vec<(String, String, String)> {
        let mut out: Vec<(String, String, String)> = lock(&self.users)
            .iter()
            .flat_map(|(p, set)| {
                set.iter()
                    .map(move |(d, u)| (p.to_string(), d.clone(), u.clone()))
            })
            .collect();
        out.sort();
        out
    }
}

/// Decodes `%XX` escapes of a path segment; `None` for a broken escape or text that is not UTF-8.
pub(super) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Reads a seed file of events: JSON Lines, one `Event` a line (blank lines skipped).
pub fn read_events(path: &std::path::Path) -> Result<Vec<Event>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_and_broken_ones_are_refused() {
        assert_eq!(percent_decode("CN%3Da%2Fb").as_deref(), Some("CN=a/b"));
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%zz"), None);
    }

    #[test]
    fn api_key_ids_are_stable_and_distinct() {
        assert_eq!(api_key_id("a"), api_key_id("a"));
        assert_ne!(api_key_id("a"), api_key_id("b"));
    }
}
