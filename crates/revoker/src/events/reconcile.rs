//! `verify --events`: a report's rows against MongoDB's own record, both ways, within the window
//! of its runs. Each `done` row is `corroborated` by its deletion event by the run's credential, or
//! `uncorroborated` with the reason; each deletion event by that credential in the window that no
//! row claims is named; each `not_found` row gets the deletion event of whoever deleted it first.
//!
//! A deletion event (names assumed where the documents are silent; README): `API_KEY_DELETED`
//! (an organization's key), `API_KEY_REMOVED_FROM_GROUP` (a project's assignment),
//! `SERVICE_ACCOUNT_DELETED`, `SERVICE_ACCOUNT_REMOVED_FROM_GROUP`, `SERVICE_ACCOUNT_SECRET_DELETED`,
//! `MONGODB_USER_DELETED`, `AGENT_API_KEY_DELETED`, `AI_MODEL_API_KEY_DELETED`.

use std::collections::HashSet;

use serde::Serialize;

use super::{Event, Read};
use crate::input::{CLIENT_ID_PREFIX, Kind, ObjectId, Target, parse_client_id};

/// The event types that record a deletion.
pub const DELETIONS: [&str; 8] = [
    "API_KEY_DELETED",
    "API_KEY_REMOVED_FROM_GROUP",
    "SERVICE_ACCOUNT_DELETED",
    "SERVICE_ACCOUNT_REMOVED_FROM_GROUP",
    "SERVICE_ACCOUNT_SECRET_DELETED",
    "MONGODB_USER_DELETED",
    "AGENT_API_KEY_DELETED",
    "AI_MODEL_API_KEY_DELETED",
];

/// The credential a run acted as, as the audit record names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunCredential {
    /// `API key PUBLIC`.
    PublicKey(String),
    /// `service account mdb_sa_id_…`.
    Account(ObjectId),
}

impl RunCredential {
    /// Reads the audit record's `credential`.
    pub fn parse(text: &str) -> Option<RunCredential> {
        if let Some(p) = text.strip_prefix("API key ") {
            return Some(RunCredential::PublicKey(p.trim().to_string()));
        }
        text.strip_prefix("service account ")
            .and_then(|c| parse_client_id(c.trim()))
            .map(RunCredential::Account)
    }

    /// Whether the event names this credential as its actor.
    pub fn acted(&self, e: &Event) -> bool {
        match self {
            RunCredential::PublicKey(p) => e.public_key.as_deref() == Some(p.as_str()),
            RunCredential::Account(c) => {
                e.user_id.is_none() && e.username.as_deref().and_then(parse_client_id) == Some(*c)
            }
        }
    }
}

/// A report row to reconcile.
#[derive(Clone, Debug)]
pub struct Row {
    pub target: Target,
    pub line: u64,
    /// `done` (the run says it deleted it) or `not_found` (someone had).
    pub done: bool,
    /// An API key's public key as the report recorded it (the `public_key` column), if it did.
    pub public_key: Option<String>,
}

/// What the record says of one row.
#[derive(Clone, Debug, Serialize)]
pub struct Reconciled {
    pub row: Target,
    pub line: u64,
    /// `corroborated`, `uncorroborated`, `deleted_by_another` or `not_found_unexplained`.
    pub verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub why: String,
}

/// A deletion by the run's credential that no row claims.
#[derive(Clone, Debug, Serialize)]
pub struct Unrecorded {
    pub event_id: String,
    pub event_type: String,
    pub created: String,
    pub what: String,
}

/// The reconciliation.
#[derive(Debug, Default, Serialize)]
pub struct Reconciliation {
    pub rows: Vec<Reconciled>,
    pub unrecorded: Vec<Unrecorded>,
    pub window: (String, String),
    pub events_read: u64,
}

impl Reconciliation {
    /// Whether MongoDB's record agrees: every done row corroborated, nothing unrecorded.
    pub fn agrees(&self) -> bool {
        self.unrecorded.is_empty() && self.rows.iter().all(|r| r.verdict != "uncorroborated")
    }
}

fn id_is(v: &Option<String>, id: &ObjectId) -> bool {
    v.as_deref().and_then(ObjectId::parse).as_ref() == Some(id)
}

/// Whether `r` records the deletion of `row`: by id, or for an API key whose public key the report
/// recorded, by the event's `targetPublicKey` when it names no id.
pub fn deletes_row(r: &Read, row: &Row) -> bool {
    if deletes(r, &row.target) {
        return true;
    }
    let e = &r.event;
    let named = match (&row.public_key, &e.target_public_key) {
        (Some(p), Some(q)) => !p.is_empty() && p == q,
        _ => false,
    };
    named && e.resource_id.is_none() && deletes(&by_key_id(r, row.target.key), &row.target)
}

/// `r` as if it named `key` as its `resourceId`.
fn by_key_id(r: &Read, key: ObjectId) -> Read {
    let mut r = r.clone();
    r.event.resource_id = Some(key.to_string());
    r
}

/// Whether `r` records the deletion of `t`, by the id it names.
pub fn deletes(r: &Read, t: &Target) -> bool {
    let e = &r.event;
    let name = e.event_type_name.as_deref().unwrap_or("");
    let in_project = r.project == Some(t.scope);
    let in_org = r.project.is_none() && r.org == t.scope;
    match t.kind {
        Kind::OrgApiKey => name == "API_KEY_DELETED" && in_org && id_is(&e.resource_id, &t.key),
        Kind::ProjectApiKey => {
            name == "API_KEY_REMOVED_FROM_GROUP" && in_project && id_is(&e.resource_id, &t.key)
        }
        Kind::ServiceAccount => {
            name == "SERVICE_ACCOUNT_DELETED" && in_org && id_is(&e.resource_id, &t.key)
        }
        Kind::ProjectServiceAccount => {
            name == "SERVICE_ACCOUNT_REMOVED_FROM_GROUP"
                && in_project
                && id_is(&e.resource_id, &t.key)
        }
        // An MCP configuration's secret is its ingress service account's: assumed recorded as
        // that account's secret deletion (no document names an MCP event type).
        Kind::ServiceAccountSecret
        | Kind::ProjectServiceAccountSecret
        | Kind::OrgMcpSecret
        | Kind::ProjectMcpSecret => {
            let scoped = if t.kind.is_org_wide() {
                in_org
            } else {
                in_project
            };
            name == "SERVICE_ACCOUNT_SECRET_DELETED"
                && scoped
                && t.secret.is_some_and(|s| id_is(&e.resource_id, &s))
        }
        Kind::DatabaseUser => {
            let named = format!(
                "{}/{}",
                e.database.as_deref().unwrap_or(""),
                e.db_user_username.as_deref().unwrap_or("")
            );
            name == "MONGODB_USER_DELETED" && in_project && named == t.key_text()
        }
        Kind::AgentApiKey => {
            name == "AGENT_API_KEY_DELETED" && in_project && id_is(&e.resource_id, &t.key)
        }
        Kind::AiModelApiKey => {
            name == "AI_MODEL_API_KEY_DELETED"
                && in_project
                && e.resource_id.as_deref() == Some(t.key_text().as_str())
        }
        Kind::GlobalApiKey => false,
    }
}

fn in_window(e: &Event, window: &(String, String)) -> bool {
    // ISO 8601 in UTC, milliseconds or not: compared as instants.
    let at = |t: &str| t.parse::<jiff::Timestamp>().ok();
    match (
        e.created.as_deref().and_then(at),
        at(&window.0),
        at(&window.1),
    ) {
        (Some(t), Some(a), Some(b)) => a <= t && t <= b,
        _ => false,
    }
}

fn one(row: &Row, events: &[Read], who: &RunCredential, window: &(String, String)) -> Reconciled {
    let matching: Vec<&Read> = events.iter().filter(|r| deletes_row(r, row)).collect();
    let ours = matching
        .iter()
        .find(|r| who.acted(&r.event) && in_window(&r.event, window));
    let first = matching
        .iter()
        .min_by(|a, b| a.event.created.cmp(&b.event.created));
    let made = |verdict, r: Option<&&Read>, why: String| Reconciled {
        row: row.target,
        line: row.line,
        verdict,
        event_id: r.and_then(|r| r.event.id.clone()),
        why,
    };
    let actor = |r: &Read| {
        r.event
            .public_key
            .clone()
            .or_else(|| r.event.username.clone())
            .unwrap_or_else(|| "someone the event does not name".into())
    };
    match (row.done, ours, first) {
        (true, Some(r), _) => made(
            "corroborated",
            Some(r),
            "deletion event by the run's credential in the run's window".into(),
        ),
        (true, None, Some(r)) => made(
            "uncorroborated",
            Some(r),
            format!(
                "the deletion event names {}, not the run's credential, or falls outside the window",
                actor(r)
            ),
        ),
        (true, None, None) => made(
            "uncorroborated",
            None,
            "no deletion event of it was read".into(),
        ),
        (false, _, Some(r)) => made(
            "deleted_by_another",
            Some(r),
            format!(
                "deleted first by {} at {}{}",
                actor(r),
                r.event.created.as_deref().unwrap_or("?"),
                if in_window(&r.event, window) {
                    ""
                } else {
                    " (before the window)"
                }
            ),
        ),
        (false, _, None) => made(
            "not_found_unexplained",
            None,
            "no deletion event of it was read".into(),
        ),
    }
}

/// Reconciles `rows` with `events`; `who` is the runs' credential, `window` their span.
pub fn reconcile(
    rows: &[Row],
    events: &[Read],
    who: &RunCredential,
    window: (String, String),
) -> Reconciliation {
    let mut seen = HashSet::new();
    let events: Vec<Read> = events
        .iter()
        .filter(|r| r.event.id.as_ref().is_none_or(|id| seen.insert(id.clone())))
        .cloned()
        .collect();
    let reconciled: Vec<Reconciled> = rows.iter().map(|r| one(r, &events, who, &window)).collect();
    let unrecorded = events
        .iter()
        .filter(|r| {
            DELETIONS.contains(&r.event.event_type_name.as_deref().unwrap_or(""))
                && who.acted(&r.event)
                && in_window(&r.event, &window)
                && !rows.iter().any(|row| deletes_row(r, row))
        })
        .map(|r| Unrecorded {
            event_id: r.event.id.clone().unwrap_or_default(),
            event_type: r.event.event_type_name.clone().unwrap_or_default(),
            created: r.event.created.clone().unwrap_or_default(),
            what: describe(r),
        })
        .collect();
    Reconciliation {
        rows: reconciled,
        unrecorded,
        window,
        events_read: events.len() as u64,
    }
}

/// What a deletion event names, in words.
fn describe(r: &Read) -> String {
    let e = &r.event;
    let scope = match r.project {
        Some(p) => format!("project {p}"),
        None => format!("organization {}", r.org),
    };
    let what = match (&e.db_user_username, &e.resource_id) {
        (Some(u), _) => format!("database user {}/{u}", e.database.as_deref().unwrap_or("?")),
        (None, Some(id))
            if e.event_type_name.as_deref().is_some_and(|n| {
                n.starts_with("SERVICE_ACCOUNT_DELETED") || n.starts_with("SERVICE_ACCOUNT_REMOVED")
            }) =>
        {
            format!("{CLIENT_ID_PREFIX}{id}")
        }
        (None, Some(id)) => id.clone(),
        (None, None) => match &e.target_public_key {
            Some(p) => format!("the API key with public key {p}"),
            None => "(unnamed)".into(),
        },
    };
    format!("{what} in {scope}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes([n; 12])
    }

    #[test]
    fn an_event_naming_a_key_only_by_its_public_key_corroborates_the_row_that_recorded_it() {
        let org = id(1);
        let row = |key: u8, public: Option<&str>| Row {
            target: Target::parse("org-api-key", &org.to_string(), &id(key).to_string(), "")
                .expect("row"),
            line: u64::from(key),
            done: true,
            public_key: public.map(str::to_string),
        };
        let deleted = |n: u8, target_public: &str| Read {
            org,
            project: None,
            event: Event {
                id: Some(format!("e{n}")),
                created: Some("2026-12-01T10:00:00Z".into()),
                event_type_name: Some("API_KEY_DELETED".into()),
                public_key: Some("RUNNER".into()),
                api_key_id: Some(id(9).to_string()),
                target_public_key: Some(target_public.into()),
                ..Event::default()
            },
        };
        let rows = [row(2, Some("PUB2")), row(3, None)];
        let events = [deleted(1, "PUB2"), deleted(2, "PUB3")];
        let window = ("2026-12-01T09:00:00Z".into(), "2026-12-01T11:00:00Z".into());
        let who = RunCredential::PublicKey("RUNNER".into());
        let r = reconcile(&rows, &events, &who, window);
        let verdicts: Vec<(&str, Option<&str>)> = r
            .rows
            .iter()
            .map(|x| (x.verdict, x.event_id.as_deref()))
            .collect();
        // Row 3 recorded no public key: the event naming PUB3 is not its, and is unrecorded.
        assert_eq!(
            verdicts,
            vec![("corroborated", Some("e1")), ("uncorroborated", None)]
        );
        assert_eq!(r.unrecorded.len(), 1);
        assert_eq!(
            r.unrecorded[0].what,
            format!("the API key with public key PUB3 in organization {org}")
        );
    }
}
