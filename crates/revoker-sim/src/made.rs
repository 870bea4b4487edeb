//! The events of the simulator's creates, as Atlas's event type list names them
//! (`source/includes/event-types.rst`): each create that succeeded records one event per thing it
//! made, by the credential that sent it (`apiKeyId` + `publicKey`, or a service account as
//! `username` = its client id), from `remoteAddress` 127.0.0.1.
//!
//! | create | event | feed | names what it made by |
//! |---|---|---|---|
//! | `createOrgApiKey` | `API_KEY_CREATED` | organization | `resourceId` (id), `targetPublicKey` |
//! | `addGroupApiKey` | `API_KEY_ADDED_TO_GROUP` | project | `resourceId` (key id), `targetPublicKey` |
//! | `createOrgAccessEntry` | `API_KEY_ACCESS_LIST_ENTRY_ADDED` (one per entry) | organization | `targetPublicKey`, `resourceId`, `whitelistEntry` |
//! | `createOrgServiceAccount` | `SERVICE_ACCOUNT_CREATED`, then `SERVICE_ACCOUNT_SECRET_ADDED` for its first secret | organization | `resourceId` (client-id hex; the secret's id), `raw.clientId` |
//! | `createOrgSecret` | `SERVICE_ACCOUNT_SECRET_ADDED` | organization | `resourceId` (secret id), `raw.clientId` |
//! | `inviteGroupServiceAccount` | `SERVICE_ACCOUNT_ADDED_TO_GROUP` | project | `resourceId` (client-id hex), `raw.clientId` |
//! | `createDatabaseUser` | `MONGODB_USER_ADDED` | project | `database`, `dbUserUsername` |
//!
//! Which event fills which field is not documented; these are the simulator's assumptions, the
//! same revoker's README states.

use serde_json::json;

use super::events::{Actor, Event, Log};
use super::model::{CLIENT_ID_PREFIX, Oid};

/// What a create made, for its events.
#[derive(Clone, Debug)]
pub(super) enum Made {
    OrgKey {
        org: Oid,
        id: Oid,
        public: String,
    },
    Assign {
        org: Oid,
        project: Oid,
        key: Oid,
        public: Option<String>,
    },
    Access {
        org: Oid,
        key: Oid,
        public: Option<String>,
        entries: Vec<String>,
    },
    Account {
        org: Oid,
        client: Oid,
        secret: Oid,
    },
    Secret {
        org: Oid,
        client: Oid,
        secret: Oid,
    },
    Invite {
        org: Oid,
        project: Oid,
        client: Oid,
    },
    DbUser {
        org: Option<Oid>,
        project: Oid,
        database: String,
        username: String,
    },
}

fn event(name: &str, resource_type: &str) -> Event {
    Event {
        event_type_name: name.into(),
        resource_type: Some(resource_type.into()),
        remote_address: Some("127.0.0.1".into()),
        ..Event::default()
    }
}

fn in_project(mut e: Event, org: Option<Oid>, project: Oid) -> (bool, Oid, Event) {
    e.group_id = Some(project.to_string());
    e.org_id = org.map(|o| o.to_string());
    (false, project, e)
}

fn in_org(mut e: Event, org: Oid) -> (bool, Oid, Event) {
    e.org_id = Some(org.to_string());
    (true, org, e)
}

fn account(mut e: Event, client: Oid, resource: String) -> Event {
    e.resource_id = Some(resource);
    e.raw = Some(json!({ "clientId": format!("{CLIENT_ID_PREFIX}{client}") }));
    e
}

impl Made {
    /// Its events: `(organization feed?, scope, event)`.
    fn events(&self) -> Vec<(bool, Oid, Event)> {
        let key = |name, id: &Oid, public: Option<&String>| {
            let mut e = event(name, "API_KEY");
            e.resource_id = Some(id.to_string());
            e.target_public_key = public.cloned();
            e
        };
        let secret = |client: &Oid, secret: &Oid| {
            let e = event("SERVICE_ACCOUNT_SECRET_ADDED", "SERVICE_ACCOUNT_SECRET");
            account(e, *client, secret.to_string())
        };
        match self {
            Made::OrgKey { org, id, public } => {
                vec![in_org(key("API_KEY_CREATED", id, Some(public)), *org)]
            }
            Made::Assign {
                org,
                project,
                key: id,
                public,
            } => vec![in_project(
                key("API_KEY_ADDED_TO_GROUP", id, public.as_ref()),
                Some(*org),
                *project,
            )],
            Made::Access {
                org,
                key: id,
                public,
                entries,
            } => entries
                .iter()
                .map(|entry| {
                    let mut e = key("API_KEY_ACCESS_LIST_ENTRY_ADDED", id, public.as_ref());
                    e.whitelist_entry = Some(entry.clone());
                    in_org(e, *org)
                })
                .collect(),
            Made::Account {
                org,
                client,
                secret: first,
            } => {
                let e = event("SERVICE_ACCOUNT_CREATED", "SERVICE_ACCOUNT");
                vec![
                    in_org(account(e, *client, client.to_string()), *org),
                    in_org(secret(client, first), *org),
                ]
            }
            Made::Secret {
                org,
                client,
                secret: s,
            } => vec![in_org(secret(client, s), *org)],
            Made::Invite {
                org,
                project,
                client,
            } => {
                let e = event("SERVICE_ACCOUNT_ADDED_TO_GROUP", "SERVICE_ACCOUNT");
                let e = account(e, *client, client.to_string());
                vec![in_project(e, Some(*org), *project)]
            }
            Made::DbUser {
                org,
                project,
                database,
                username,
            } => {
                let mut e = event("MONGODB_USER_ADDED", "MONGODB_USER");
                e.database = Some(database.clone());
                e.db_user_username = Some(username.clone());
                vec![in_project(e, *org, *project)]
            }
        }
    }
}

impl Log {
    /// Records the events of what a create made, by `user`; a database user is held from now on.
    pub(super) fn created(&self, made: &Made, user: &Actor) {
        if let Made::DbUser {
            project,
            database,
            username,
            ..
        } = made
        {
            self.add_user(*project, (database.clone(), username.clone()));
        }
        for (org, scope, mut e) in made.events() {
            user.stamp(&mut e);
            self.push(org, scope, e);
        }
    }
}
