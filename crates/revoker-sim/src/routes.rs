//! The API's endpoints, on both APIs, answering as MongoDB documents them.
//!
//! | request | v1.0 success | v2 success | not there |
//! |---|---|---|---|
//! | `DELETE groups/{p}/apiKeys/{k}` | 200 | 204 | 400 `API_KEY_NOT_FOUND` |
//! | `DELETE groups/{p}/agentapikeys/{k}` | 200 | (no such endpoint) | 404 `AGENT_API_KEY_NOT_FOUND` |
//! | `DELETE orgs/{o}/apiKeys/{k}` | 200 | 204 | 400 `API_KEY_NOT_FOUND` |
//! | `DELETE orgs/{o}/serviceAccounts/{c}` | 204 | 204 | 404 `RESOURCE_NOT_FOUND` |
//! | `DELETE orgs/{o}/serviceAccounts/{c}/secrets/{s}` | 204 | 204 | 404 `RESOURCE_NOT_FOUND` |
//! | `DELETE groups/{p}/serviceAccounts/{c}` | 204 | 204 | 404 `RESOURCE_NOT_FOUND` |
//! | `DELETE groups/{p}/serviceAccounts/{c}/secrets/{s}` | 204 | 204 | 404 `RESOURCE_NOT_FOUND` |
//! | `DELETE groups/{p}/aiModelApiKeys/{k}` (Accept 2025-03-12) | (no such endpoint) | 204 | 404 `RESOURCE_NOT_FOUND` |
//! | `DELETE admin/apiKeys/{k}` (Ops Manager) | 204 | (no such endpoint) | 400 `API_KEY_NOT_FOUND` |
//! | `DELETE orgs/{o}/mcpConfigs/{c}/secrets/{s}` (Accept 2025-03-12) | (no such endpoint) | 204 | 404 `RESOURCE_NOT_FOUND` |
//! | `DELETE groups/{p}/mcpConfigs/{c}/secrets/{s}` (Accept 2025-03-12) | (no such endpoint) | 204 | 404 `RESOURCE_NOT_FOUND` |
//!
//! Project service accounts on v1.0 follow Cloud Manager's reference: "Unassign One Service Account
//! from One Project" (`delete-one-service-account-in-one-project`), "Delete a Project Service
//! Account Secret" (`delete-project-sa-secret`), each `204 No Content` with `Accept:
//! application/json`, and their lists ("Get All Organization Service Accounts Assigned to One
//! Project", "Get One Project Service Account"); on v2, the spec's `deleteGroupServiceAccount` and
//! `deleteGroupSecret`.
//!
//! An unknown project answers 404 `GROUP_NOT_FOUND`, an unknown organization 404 `ORG_NOT_FOUND`.
//! On v2 a request without the versioned `Accept` its resource needs answers 406.

use hyper::Method;
use serde_json::json;

use super::body::SimBody;
use super::state::{Deleted, World};
use crate::model::{GLOBAL, Kind, ModelKey, Oid, Seed, parse_client_id};

/// An answer before envelope and framing.
pub(super) struct SimAnswer {
    pub status: u16,
    pub json: Option<serde_json::Value>,
    /// A list of results: with `envelope=true` the object itself takes the `status` field, where
    /// any other answer is wrapped in `{status, content}`.
    pub list: bool,
    pub headers: Vec<(hyper::header::HeaderName, String)>,
    /// Written as is, never enveloped (digest challenges, broken bodies).
    pub raw: Option<SimBody>,
}

impl SimAnswer {
    pub(super) fn json(status: u16, json: serde_json::Value) -> SimAnswer {
        SimAnswer {
            status,
            json: Some(json),
            list: false,
            headers: Vec::new(),
            raw: None,
        }
    }

    pub(super) fn empty(status: u16) -> SimAnswer {
        SimAnswer {
            status,
            json: None,
            list: false,
            headers: Vec::new(),
            raw: None,
        }
    }

    /// The API's error document.
    pub(super) fn error(status: u16, code: &str, detail: String, reason: &str) -> SimAnswer {
        SimAnswer::json(
            status,
            json!({ "detail": detail, "error": status, "errorCode": code, "parameters": [], "reason": reason }),
        )
    }
}

/// Which API a request was sent to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavour {
    /// Cloud Manager / Ops Manager, `/api/public/v1.0`.
    V1,
    /// Atlas Administration API, `/api/atlas/v2`.
    V2,
}

/// A read that is not a kind's list: what a selection or a router asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Read {
    /// `GET groups/{p}`: the project, with its `orgId`.
    Project,
    /// `GET orgs/{o}/groups`: the organization's projects.
    OrgProjects,
    /// `GET orgs/{o}/apiKeys/{k}/accessList`.
    AccessList,
    /// `GET rateLimits` (v2): the endpoint sets and their buckets.
    RateLimits,
    /// `GET orgs/{o}`: the organization, with its name.
    Org,
}

/// An API path, parsed.
pub(super) enum Route {
    Delete(Box<Seed>),
    /// A list: its kind, scope, and for secrets the service account (`GET serviceAccounts/{c}`).
    List(Kind, Oid, Option<Oid>),
    /// Another read, of a project or organization (and for an access list, its key).
    Read(Read, Oid, Option<Oid>),
    Root,
    Answer(SimAnswer),
    /// `GET orgs/{o}/events` (`true`) or `GET groups/{g}/events` (`false`).
    Events(bool, Oid),
    /// `GET groups/{g}/databaseUsers`.
    DbUsers(Oid),
    /// `DELETE groups/{g}/databaseUsers/{databaseName}/{username}`, the names decoded.
    DeleteDbUser(Oid, String, String),
    /// A create of [`crate::creates`], with its body.
    Create(crate::creates::Create, Vec<u8>),
}

pub(super) fn not_found(path: &str) -> SimAnswer {
    SimAnswer::error(
        404,
        "RESOURCE_NOT_FOUND",
        format!("Cannot find resource {path}."),
        "Not Found",
    )
}

fn invalid(what: &str, text: &str) -> SimAnswer {
    SimAnswer::error(
        400,
        "INVALID_PARAMETER",
        format!("Invalid {what}identifier {text}."),
        "Bad Request",
    )
}

/// The project or organization in a path, or the 404 of an id that is none.
pub(super) fn scope_id(text: &str, kind: Kind) -> Result<Oid, SimAnswer> {
    Oid::parse(text).ok_or_else(|| match kind.is_org_wide() {
        false => SimAnswer::error(
            404,
            "INVALID_GROUP_ID",
            format!("An invalid group ID {text} was specified."),
            "Not Found",
        ),
        true => SimAnswer::error(
            404,
            "INVALID_ORG_ID",
            format!("An invalid organization ID {text} was specified."),
            "Not Found",
        ),
    })
}

fn client_or_key(text: &str, kind: Kind) -> Result<Oid, SimAnswer> {
    let parsed = if kind.key_is_client_id() {
        parse_client_id(text)
    } else {
        Oid::parse(text)
    };
    parsed.ok_or_else(|| invalid("", text))
}

/// The credential a DELETE names, or the answer to a path that names none.
pub(super) fn delete_of(kind: Kind, scope: Option<&str>, key: &str, secret: Option<&str>) -> Route {
    let target = (|| {
        let scope = match scope {
            Some(text) => scope_id(text, kind)?,
            None => GLOBAL,
        };
        if kind == Kind::AiModelApiKey {
            let model = ModelKey::parse(key).ok_or_else(|| invalid("API key ", key))?;
            return Ok(Seed::model(scope, model));
        }
        let secret = match secret {
            Some(s) => Some(Oid::parse(s).ok_or_else(|| invalid("secret ", s))?),
            None => None,
        };
        Ok(Seed::new(kind, scope, client_or_key(key, kind)?, secret))
    })();
    match target {
        Ok(t) => Route::Delete(Box::new(t)),
        Err(answer) => Route::Answer(answer),
    }
}

pub(super) fn list_of(kind: Kind, scope: Option<&str>, parent: Option<&str>) -> Route {
    let scope = match scope.map(|s| scope_id(s, kind)) {
        Some(Err(a)) => return Route::Answer(a),
        Some(Ok(scope)) => scope,
        None => GLOBAL,
    };
    match parent.map(|p| client_or_key(p, kind.account())) {
        None => Route::List(kind, scope, None),
        Some(Ok(client)) => Route::List(kind, scope, Some(client)),
        Some(Err(a)) => Route::Answer(a),
    }
}

fn read_of(read: Read, kind: Kind, scope: &str, key: Option<&str>) -> Route {
    let scope = match scope_id(scope, kind) {
        Ok(scope) => scope,
        Err(a) => return Route::Answer(a),
    };
    match key.map(|k| client_or_key(k, kind)) {
        None => Route::Read(read, scope, None),
        Some(Ok(key)) => Route::Read(read, scope, Some(key)),
        Some(Err(a)) => Route::Answer(a),
    }
}

impl Route {
    /// Parses the path after the API prefix. Agent and global keys are v1.0's; AI model keys are
    /// v2's; project service accounts are both APIs' (Cloud Manager documents them too).
    pub(super) fn parse(flavour: Flavour, method: &Method, full_path: &str, rest: &str) -> Route {
        let parts: Vec<&str> = rest
            .trim_matches('/')
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        let (v1, v2) = (flavour == Flavour::V1, flavour == Flavour::V2);
        if let Some(route) = super::events_route::parse(flavour, method, &parts) {
            return route;
        }
        let del = delete_of;
        if method == Method::POST
            && let Some(route) = crate::creates::parse(v2, parts.as_slice())
        {
            return route;
        }
        match (method, parts.as_slice()) {
            (&Method::GET, []) => Route::Root,
            (&Method::DELETE, ["groups", p, "apiKeys", k]) => {
                del(Kind::ProjectApiKey, Some(p), k, None)
            }
            (&Method::DELETE, ["groups", p, "agentapikeys", k]) if v1 => {
                del(Kind::AgentApiKey, Some(p), k, None)
            }
            (&Method::DELETE, ["groups", p, "serviceAccounts", c]) => {
                del(Kind::ProjectServiceAccount, Some(p), c, None)
            }
            (&Method::DELETE, ["groups", p, "serviceAccounts", c, "secrets", s]) => {
                del(Kind::ProjectServiceAccountSecret, Some(p), c, Some(s))
            }
            (&Method::DELETE, ["groups", p, "aiModelApiKeys", k]) if v2 => {
                del(Kind::AiModelApiKey, Some(p), k, None)
            }
            (_, ["orgs" | "groups", _, "mcpConfigs", ..]) if v2 => {
                crate::mcp::route(method, &parts)
            }
            (&Method::DELETE, ["admin", "apiKeys", k]) if v1 => {
                del(Kind::GlobalApiKey, None, k, None)
            }
            (&Method::DELETE, ["orgs", o, "apiKeys", k]) => del(Kind::OrgApiKey, Some(o), k, None),
            (&Method::DELETE, ["orgs", o, "serviceAccounts", c]) => {
                del(Kind::ServiceAccount, Some(o), c, None)
            }
            (&Method::DELETE, ["orgs", o, "serviceAccounts", c, "secrets", s]) => {
                del(Kind::ServiceAccountSecret, Some(o), c, Some(s))
            }
            (&Method::GET, ["groups", p, "apiKeys"]) => list_of(Kind::ProjectApiKey, Some(p), None),
            (&Method::GET, ["groups", p, "agentapikeys"]) if v1 => {
                list_of(Kind::AgentApiKey, Some(p), None)
            }
            (&Method::GET, ["groups", p, "serviceAccounts"]) => {
                list_of(Kind::ProjectServiceAccount, Some(p), None)
            }
            (&Method::GET, ["groups", p, "serviceAccounts", c]) => {
                list_of(Kind::ProjectServiceAccountSecret, Some(p), Some(c))
            }
            (&Method::GET, ["groups", p, "aiModelApiKeys"]) if v2 => {
                list_of(Kind::AiModelApiKey, Some(p), None)
            }
            (&Method::GET, ["admin", "apiKeys"]) if v1 => list_of(Kind::GlobalApiKey, None, None),
            (&Method::GET, ["groups", p]) => read_of(Read::Project, Kind::ProjectApiKey, p, None),
            (&Method::GET, ["rateLimits"]) if v2 => Route::Read(Read::RateLimits, GLOBAL, None),
            (&Method::GET, ["orgs", o]) => read_of(Read::Org, Kind::OrgApiKey, o, None),
            (&Method::GET, ["orgs", o, "groups"]) => {
                read_of(Read::OrgProjects, Kind::OrgApiKey, o, None)
            }
            (&Method::GET, ["orgs", o, "apiKeys", k, "accessList"]) => {
                read_of(Read::AccessList, Kind::OrgApiKey, o, Some(k))
            }
            (&Method::GET, ["orgs", o, "apiKeys"]) => list_of(Kind::OrgApiKey, Some(o), None),
            (&Method::GET, ["orgs", o, "serviceAccounts"]) => {
                list_of(Kind::ServiceAccount, Some(o), None)
            }
            (&Method::GET, ["orgs", o, "serviceAccounts", c]) => {
                list_of(Kind::ServiceAccountSecret, Some(o), Some(c))
            }
            (_, ["groups" | "orgs" | "admin", _, ..])
                if method != Method::GET && method != Method::DELETE =>
            {
                Route::Answer(SimAnswer::error(
                    405,
                    "METHOD_NOT_ALLOWED",
                    format!("Method {method} is not allowed here."),
                    "Method Not Allowed",
                ))
            }
            _ => Route::Answer(not_found(full_path)),
        }
    }

    /// The project or organization the request is about, for its rate limit and its refusals.
    pub(super) fn scope(&self) -> Option<(Kind, Oid)> {
        match self {
            Route::Delete(t) => Some((t.kind, t.scope)),
            Route::List(kind, scope, _) => Some((*kind, *scope)),
            Route::Read(Read::Project, scope, _) => Some((Kind::ProjectApiKey, *scope)),
            Route::Read(Read::RateLimits, ..) => None,
            Route::Read(_, scope, _) => Some((Kind::OrgApiKey, *scope)),
            Route::Events(true, scope) => Some((Kind::OrgApiKey, *scope)),
            Route::Events(false, scope)
            | Route::DbUsers(scope)
            | Route::DeleteDbUser(scope, ..) => Some((Kind::ProjectApiKey, *scope)),
            Route::Create(create, _) => Some(create.scope()),
            _ => None,
        }
    }

    /// The version date a v2 request must ask for.
    fn version(&self) -> &'static str {
        let kind = match self {
            Route::Delete(seed) => seed.kind,
            Route::List(kind, ..) => *kind,
            Route::Read(Read::RateLimits, ..) => return "2025-03-12",
            Route::Create(create, _) => create.scope().0,
            _ => return "2023-01-01",
        };
        match kind {
            Kind::AiModelApiKey => "2025-03-12",
            k if crate::mcp::is_mcp(k) => "2025-03-12",
            k if k.key_is_client_id() => "2024-08-05",
            _ => "2023-01-01",
        }
    }

    /// On v2, the 406 of a request whose `Accept` does not ask for a version of its resource.
    pub(super) fn refuse_accept(
        &self,
        flavour: Flavour,
        accept: Option<&str>,
    ) -> Option<SimAnswer> {
        if flavour == Flavour::V1 || matches!(self, Route::Answer(_)) {
            return None;
        }
        let needed = self.version();
        let asked = accept.unwrap_or("").split(',').find_map(|part| {
            let date = part.trim().strip_prefix("application/vnd.atlas.")?;
            let date = date.split(['+', ';']).next()?;
            (date.len() == 10).then(|| date.to_string())
        });
        match asked {
            Some(date) if date.as_str() >= needed => None,
            Some(date) => Some(SimAnswer::error(
                406,
                "INVALID_VERSION_DATE",
                format!("This resource has no version on or before {date}; its first is {needed}."),
                "Not Acceptable",
            )),
            None => Some(SimAnswer::error(
                406,
                "INVALID_ACCEPT_HEADER",
                format!(
                    "The Atlas Administration API needs a versioned Accept header, e.g. application/vnd.atlas.{needed}+json."
                ),
                "Not Acceptable",
            )),
        }
    }
}

/// What a request about a project or organization of the other API answers, as the Atlas
/// Administration API's error-code reference words it: on v2 (the scope is Cloud Manager's)
/// `NOT_ATLAS_GROUP` "Group %s is not an Atlas group; use the Cloud Manager Public API at
/// /api/public/v1.0 to access it." and `NOT_ATLAS_ORG`; on v1.0 (the scope is Atlas's)
/// `ATLAS_GROUP` "Group %s is an Atlas group; use the Atlas Public API at /api/atlas/v1.0 to access
/// it." and `EXPECTED_NON_ATLAS_ORG` "The organization with id %s is an Atlas organization.". All 404.
pub(super) fn other_api(flavour: Flavour, kind: Kind, scope: &Oid) -> SimAnswer {
    let (code, detail) = match (flavour, kind.is_org_wide()) {
        (Flavour::V2, false) => (
            "NOT_ATLAS_GROUP",
            format!(
                "Group {scope} is not an Atlas group; use the Cloud Manager Public API at /api/public/v1.0 to access it."
            ),
        ),
        (Flavour::V2, true) => (
            "NOT_ATLAS_ORG",
            format!(
                "Organization {scope} is not an Atlas organization; use the Cloud Manager Public API at /api/public/v1.0 to access it."
            ),
        ),
        (Flavour::V1, false) => (
            "ATLAS_GROUP",
            format!(
                "Group {scope} is an Atlas group; use the Atlas Public API at /api/atlas/v1.0 to access it."
            ),
        ),
        (Flavour::V1, true) => (
            "EXPECTED_NON_ATLAS_ORG",
            format!("The organization with id {scope} is an Atlas organization."),
        ),
    };
    SimAnswer::error(404, code, detail, "Not Found")
}

/// What a request on a scope the credential may not use answers, if anything.
pub(super) fn refusal(
    kind: Kind,
    scope: &Oid,
    forbidden: bool,
    not_in_group: bool,
) -> Option<SimAnswer> {
    let org = kind.is_org_wide();
    if not_in_group {
        return Some(if org {
            SimAnswer::error(
                401,
                "USER_CANNOT_ACCESS_ORG",
                format!("The current user cannot access organization {scope}."),
                "Unauthorized",
            )
        } else {
            SimAnswer::error(
                401,
                "NOT_IN_GROUP",
                "Current user is not in the group, or the group does not exist.".into(),
                "Unauthorized",
            )
        });
    }
    if forbidden {
        return Some(if org {
            SimAnswer::error(
                403,
                "ORG_ACCESS_DENIED",
                format!("The API key does not have access to organization {scope}."),
                "Forbidden",
            )
        } else {
            SimAnswer::error(
                403,
                "USER_CANNOT_ACCESS_GROUP",
                format!("The API key does not have access to group {scope}."),
                "Forbidden",
            )
        });
    }
    None
}

/// The answer to a DELETE that reached the data.
pub(super) fn delete(
    world: &World,
    flavour: Flavour,
    target: &Seed,
    stats: &super::state::Counters,
    actor: Option<(&str, &str)>,
) -> (SimAnswer, bool) {
    use std::sync::atomic::Ordering;
    let missing_scope = || {
        if target.kind.is_org_wide() {
            SimAnswer::error(
                404,
                "ORG_NOT_FOUND",
                format!("No organization with ID {} exists.", target.scope),
                "Not Found",
            )
        } else {
            SimAnswer::error(
                404,
                "GROUP_NOT_FOUND",
                format!("No group with ID {} exists.", target.scope),
                "Not Found",
            )
        }
    };
    let answer = match world.delete_as(target, stats, actor) {
        Deleted::Yes => {
            stats.deleted.fetch_add(1, Ordering::Relaxed);
            // v1.0 answers 200 to its API keys' DELETEs, 204 to service accounts' and global keys'.
            let no_content = target.kind.key_is_client_id() || target.kind == Kind::GlobalApiKey;
            return (
                SimAnswer::empty(if flavour == Flavour::V2 || no_content {
                    204
                } else {
                    200
                }),
                true,
            );
        }
        Deleted::NoSuchScope => missing_scope(),
        Deleted::NoSuchParent if target.kind.is_mcp_secret() => {
            not_found(&format!("MCP configuration {}", target.key_text()))
        }
        Deleted::NoSuchParent => not_found(&format!("service account {}", target.key_text())),
        Deleted::NoSuchItem => match target.kind {
            Kind::ProjectApiKey | Kind::OrgApiKey => SimAnswer::error(
                400,
                "API_KEY_NOT_FOUND",
                format!("No API key with ID {} exists.", target.key),
                "Bad Request",
            ),
            Kind::AgentApiKey => SimAnswer::error(
                404,
                "AGENT_API_KEY_NOT_FOUND",
                format!("No agent API key with ID {} exists.", target.key),
                "Not Found",
            ),
            Kind::ServiceAccount | Kind::ProjectServiceAccount => {
                not_found(&format!("service account {}", target.key_text()))
            }
            Kind::ServiceAccountSecret | Kind::ProjectServiceAccountSecret => not_found(&format!(
                "secret {} of service account {}",
                target.secret_text(),
                target.key_text()
            )),
            Kind::AiModelApiKey => not_found(&format!("AI model API key {}", target.key_text())),
            Kind::OrgMcpSecret
            | Kind::ProjectMcpSecret
            | Kind::OrgMcpConfig
            | Kind::ProjectMcpConfig => not_found(&format!(
                "secret {} of MCP configuration {}",
                target.secret_text(),
                target.key_text()
            )),
            // Ops Manager documents no not-found code for global keys; it answers as for the
            // organization's keys (revoker reads any documented 404 as not found too).
            Kind::GlobalApiKey => SimAnswer::error(
                400,
                "API_KEY_NOT_FOUND",
                format!("No API key with ID {} exists.", target.key),
                "Bad Request",
            ),
        },
    };
    stats.not_found.fetch_add(1, Ordering::Relaxed);
    (answer, false)
}

/// The root resource of each API.
pub(super) fn root(flavour: Flavour) -> SimAnswer {
    SimAnswer::json(
        200,
        match flavour {
            Flavour::V1 => {
                json!({ "appName": "MongoDB Cloud Manager (revoker simulator)", "build": env!("CARGO_PKG_VERSION"), "throttling": false, "links": [] })
            }
            Flavour::V2 => {
                json!({ "appName": "MongoDB Atlas (revoker simulator)", "build": env!("CARGO_PKG_VERSION"), "throttling": false })
            }
        },
    )
}
