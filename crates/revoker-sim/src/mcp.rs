//! MCP configuration secrets (Atlas v2 only), as the spec's "Remote MCP Configurations" tag
//! documents them, every request with `Accept: application/vnd.atlas.2025-03-12+json`:
//!
//! | request | answer |
//! |---|---|
//! | `GET orgs/{o}/mcpConfigs`, `GET groups/{p}/mcpConfigs` | `{links, results: [{mcpConfigId, mcpConfigName, clientId, egressClientId, roles}], totalCount}` (`listOrgMcpConfigs`, `listGroupMcpConfigs`) |
//! | `GET …/mcpConfigs/{c}/secrets` | `{links, results: [{id, createdAt, expiresAt, lastUsedAt, maskedSecretValue}], totalCount}` (`listOrgMcpSecrets`, `listGroupMcpSecrets`: `PaginatedMcpConfigSecret` of `ServiceAccountSecret`); 404 `RESOURCE_NOT_FOUND` for a configuration that is not there |
//! | `DELETE …/mcpConfigs/{c}/secrets/{s}` | 204; 404 `RESOURCE_NOT_FOUND` for a configuration or secret that is not there (`deleteOrgMcpSecret`, `deleteGroupMcpSecret`) |
//!
//! The spec gives `mcpConfigId` two patterns: 24 hex digits in every path parameter, a UUID in
//! `OrgMcpConfigResponse`/`GroupMcpConfigResponse`. The simulator's configurations have ids the
//! paths take (24 hex digits), so that a listed id can be sent back.

use hyper::Method;
use serde_json::json;

use super::hostile::DatedList;
use super::lists::{ListRequest, page_of};
use super::model::{ItemId, Kind, Oid};
use super::routes::{Route, SimAnswer, delete_of, list_of, not_found};
use super::state::World;

/// Whether `kind` is one of the MCP collections.
pub(super) fn is_mcp(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::OrgMcpSecret | Kind::ProjectMcpSecret | Kind::OrgMcpConfig | Kind::ProjectMcpConfig
    )
}

/// The route of a v2 path under `…/mcpConfigs`.
pub(super) fn route(method: &Method, parts: &[&str]) -> Route {
    let org = parts.first() == Some(&"orgs");
    let (secret, config) = if org {
        (Kind::OrgMcpSecret, Kind::OrgMcpConfig)
    } else {
        (Kind::ProjectMcpSecret, Kind::ProjectMcpConfig)
    };
    match (method, parts) {
        (&Method::GET, [_, s, "mcpConfigs"]) => list_of(config, Some(s), None),
        (&Method::GET, [_, s, "mcpConfigs", c, "secrets"]) => list_of(secret, Some(s), Some(c)),
        (&Method::DELETE, [_, s, "mcpConfigs", c, "secrets", k]) => {
            delete_of(secret, Some(s), c, Some(k))
        }
        _ => Route::Answer(not_found(&format!("/{}", parts.join("/")))),
    }
}

/// The answer to a list of MCP configurations or of one configuration's secrets.
pub(super) fn list(world: &World, req: &ListRequest<'_>) -> SimAnswer {
    match req.parent {
        Some(config) => secrets(world, req, config),
        None => configs(world, req),
    }
}

fn configs(world: &World, req: &ListRequest<'_>) -> SimAnswer {
    let items = world.list(req.kind, &req.scope, None);
    page_of(req, items.len(), "mcpConfigId", &mut |skip, take| {
        items
            .iter()
            .skip(skip)
            .take(take)
            .map(|id| {
                let ItemId::Oid(c) = id else {
                    return json!({});
                };
                json!({
                    "mcpConfigId": c.to_string(),
                    "mcpConfigName": format!("simulated MCP configuration {c}"),
                    "clientId": format!("mdb_sa_id_{c}"),
                    "egressClientId": format!("mdb_sa_id_{c}"),
                    "roles": [],
                })
            })
            .collect()
    })
}

fn secrets(world: &World, req: &ListRequest<'_>, config: Oid) -> SimAnswer {
    let home = req.kind.account();
    if !world
        .list(home, &req.scope, None)
        .contains(&ItemId::Oid(config))
    {
        return not_found(&format!("MCP configuration {config}"));
    }
    let items = world.list(req.kind, &req.scope, Some(config));
    let date = |seconds, index| req.date(DatedList::Secrets, seconds, index);
    page_of(req, items.len(), "id", &mut |skip, take| {
        items
            .iter()
            .enumerate()
            .skip(skip)
            .take(take)
            .map(|(i, s)| {
                let meta = world.meta(req.kind, &req.scope, Some(config), s);
                let mut secret = json!({
                    "id": req.id(req.kind, s),
                    "createdAt": date(meta.created.unwrap_or(1_767_225_600), i),
                    "expiresAt": date(meta.expires.unwrap_or(1_798_761_600), i),
                    "maskedSecretValue": "mdb_sa_sk_…",
                });
                if let Some(used) = meta.last_used {
                    secret["lastUsedAt"] = date(used, i);
                }
                secret
            })
            .collect()
    })
}
