//! The creates a compromised credential may use to widen its reach that a rotation does not
//! need: `createOrgServiceAccount`, `inviteGroupServiceAccount` and `createDatabaseUser`, answered
//! as the Atlas Administration API v2 documents them. Their events are [`crate::made`]'s.

use serde_json::{Value, json};

use super::creates::Served;
use super::made::Made;
use super::model::{CLIENT_ID_PREFIX, ItemId, Kind, Oid};
use super::routes::SimAnswer;
use super::state::World;

fn bad(detail: &str) -> SimAnswer {
    SimAnswer::error(400, "INVALID_ATTRIBUTE", detail.into(), "Bad Request")
}

fn body_of(body: &[u8]) -> Result<Value, SimAnswer> {
    serde_json::from_slice(body).map_err(|_| bad("The request body is not JSON."))
}

fn text<'a>(body: &'a Value, field: &str) -> Result<&'a str, SimAnswer> {
    body[field]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad(&format!("{field} is required.")))
}

/// `createOrgServiceAccount`: the account and its first secret (its value in the answer, once).
pub(super) fn account(world: &World, org: Oid, body: &[u8]) -> Result<Served, SimAnswer> {
    let body = body_of(body)?;
    let (name, description) = (text(&body, "name")?, text(&body, "description")?);
    if body["roles"].as_array().is_none_or(Vec::is_empty) {
        return Err(bad("roles must name at least one role."));
    }
    let client = Oid::from_bytes(rand::random::<[u8; 12]>());
    let hours = json!({ "secretExpiresAfterHours": body["secretExpiresAfterHours"] });
    let (secret, answer) = world
        .creates
        .create_secret(&client, hours.to_string().as_bytes())?;
    world.add_item(Kind::ServiceAccount, org, None, ItemId::Oid(client));
    world.add_item(
        Kind::ServiceAccountSecret,
        org,
        Some(client),
        ItemId::Oid(secret),
    );
    let answer = json!({
        "clientId": format!("{CLIENT_ID_PREFIX}{client}"),
        "name": name,
        "description": description,
        "createdAt": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "roles": body["roles"],
        "secrets": [answer.json.unwrap_or_default()],
    });
    let made = Made::Account {
        org,
        client,
        secret,
    };
    Ok((SimAnswer::json(201, answer), Some(made)))
}

/// `inviteGroupServiceAccount`: an account of the project's organization assigned to it.
pub(super) fn invite(world: &World, project: Oid, client: Oid) -> Result<Served, SimAnswer> {
    let Some(org) = world.project_org(&project) else {
        return Err(super::lists::missing_scope(
            Kind::ProjectServiceAccount,
            &project,
        ));
    };
    if !world.service_account(Kind::ServiceAccount, &org, &client) {
        return Err(super::routes::not_found(&format!(
            "service account {CLIENT_ID_PREFIX}{client}"
        )));
    }
    world.add_item(
        Kind::ProjectServiceAccount,
        project,
        None,
        ItemId::Oid(client),
    );
    let answer = json!({ "clientId": format!("{CLIENT_ID_PREFIX}{client}"), "roles": [] });
    let made = Made::Invite {
        org,
        project,
        client,
    };
    Ok((SimAnswer::json(200, answer), Some(made)))
}

/// `createDatabaseUser`: held from now on (by the events log, which lists and deletes them).
pub(super) fn db_user(world: &World, project: Oid, body: &[u8]) -> Result<Served, SimAnswer> {
    let Some(org) = world.project_org(&project) else {
        return Err(super::lists::missing_scope(Kind::ProjectApiKey, &project));
    };
    let body = body_of(body)?;
    let (database, username) = (text(&body, "databaseName")?, text(&body, "username")?);
    if body["roles"].as_array().is_none_or(Vec::is_empty) {
        return Err(bad("roles must name at least one role."));
    }
    let answer = json!({
        "databaseName": database,
        "username": username,
        "groupId": project.to_string(),
        "roles": body["roles"],
    });
    let made = Made::DbUser {
        org: Some(org),
        project,
        database: database.into(),
        username: username.into(),
    };
    Ok((SimAnswer::json(201, answer), Some(made)))
}
