//! The list endpoints, as MongoDB documents them:
//!
//! | request | answer |
//! |---|---|
//! | `GET groups/{p}/apiKeys`, `GET orgs/{o}/apiKeys` | `{links, results: [{id, desc, roles}], totalCount}` |
//! | `GET orgs/{o}/serviceAccounts` | the same with `clientId`; system-managed accounts only with `includeSystemManaged=true` |
//! | `GET groups/{p}/agentapikeys` | a bare array of `{_id, desc, key, createdTime, createdBy}`, no paging |
//! | `GET orgs/{o}/serviceAccounts/{clientId}` | one account, its `secrets[]` with `id`, `createdAt`, `expiresAt` |
//! | `GET groups/{p}/serviceAccounts` (v2) | as the organization's, for the accounts assigned to the project |
//! | `GET groups/{p}/serviceAccounts/{clientId}` (v2) | one account assigned to the project, its `secrets[]` |
//! | `GET groups/{p}/aiModelApiKeys` (v2) | `{links, results: [{apiKeyId, name, createdAt, lastUsedAt, …}], totalCount}` |
//! | `GET admin/apiKeys` (Ops Manager) | `{links, results: [{id, desc, publicKey, roles}], totalCount}` |
//!
//! Pages count from 1 (`pageNum`), hold `itemsPerPage` (default 100, at most 500), and link the next
//! page while there is one. `--list-fault` makes them mislead in the ways a client must notice.

use serde_json::json;

use super::ListFault;
use super::model::{CLIENT_ID_PREFIX, ItemId, Kind, Oid};
use super::routes::{SimAnswer, not_found};
use super::state::World;

/// What a list request asked for.
pub(super) struct ListRequest<'a> {
    pub kind: Kind,
    pub scope: Oid,
    /// The service account, for `GET orgs/{o}/serviceAccounts/{clientId}`.
    pub parent: Option<Oid>,
    pub page: Option<&'a str>,
    pub per_page: Option<&'a str>,
    pub include_system_managed: bool,
    pub self_url: &'a str,
}

pub(super) fn missing_scope(kind: Kind, scope: &Oid) -> SimAnswer {
    if kind.is_org_wide() {
        SimAnswer::error(
            404,
            "ORG_NOT_FOUND",
            format!("No organization with ID {scope} exists."),
            "Not Found",
        )
    } else {
        SimAnswer::error(
            404,
            "GROUP_NOT_FOUND",
            format!("No group with ID {scope} exists."),
            "Not Found",
        )
    }
}

/// The answer to a list request.
pub(super) fn list(
    world: &World,
    req: &ListRequest<'_>,
    fault: Option<ListFault>,
    padding: usize,
) -> SimAnswer {
    if fault == Some(ListFault::NoServiceAccounts) && req.kind.key_is_client_id() {
        return not_found(req.self_url);
    }
    if fault == Some(ListFault::ApiKeyNotFound) {
        return SimAnswer::error(
            400,
            "API_KEY_NOT_FOUND",
            "No API key with ID 000000000000000000000000 exists.".into(),
            "Bad Request",
        );
    }
    if !world.scope_exists(req.kind, &req.scope) {
        return missing_scope(req.kind, &req.scope);
    }
    match (req.kind, req.parent) {
        (kind, Some(client)) if kind.is_secret() => account(world, req, client, fault),
        (Kind::AgentApiKey, _) => agent_keys(world, req, padding),
        _ => paged(world, req, fault, padding),
    }
}

/// The text of an item as the API writes it in `kind`'s lists.
fn text(kind: Kind, item: &ItemId) -> String {
    match item {
        ItemId::Model(key) => key.to_string(),
        ItemId::Oid(id) if kind.key_is_client_id() && !kind.is_secret() => {
            format!("{CLIENT_ID_PREFIX}{id}")
        }
        ItemId::Oid(id) => id.to_string(),
    }
}

/// One service account (of an organization, or assigned to a project) and its secrets.
fn account(
    world: &World,
    req: &ListRequest<'_>,
    client: Oid,
    fault: Option<ListFault>,
) -> SimAnswer {
    if !world.service_account(req.kind.account(), &req.scope, &client) {
        return not_found(&format!("service account {CLIENT_ID_PREFIX}{client}"));
    }
    let secrets: Vec<serde_json::Value> = world
        .list(req.kind, &req.scope, Some(client))
        .iter()
        .map(|s| {
            json!({
                "id": text(req.kind, s),
                "createdAt": "2026-01-01T00:00:00Z",
                "expiresAt": "2027-01-01T00:00:00Z",
                "maskedSecretValue": "mdb_sa_sk_…",
            })
        })
        .collect();
    let mut account = json!({
        "clientId": format!("{CLIENT_ID_PREFIX}{client}"),
        "name": "simulated service account",
        "createdAt": "2026-01-01T00:00:00Z",
    });
    if fault != Some(ListFault::NoSecretsField) {
        account["secrets"] = serde_json::Value::Array(secrets);
    }
    SimAnswer::json(200, account)
}

/// Agent API keys: a bare array, no paging.
fn agent_keys(world: &World, req: &ListRequest<'_>, padding: usize) -> SimAnswer {
    let pad = "x".repeat(padding);
    let array: Vec<serde_json::Value> = world
        .list(Kind::AgentApiKey, &req.scope, None)
        .iter()
        .map(|k| {
            json!({
                "_id": text(Kind::AgentApiKey, k),
                "desc": format!("simulated agent key{pad}"),
                "key": "********",
                "createdTime": 1_764_000_000_000u64,
                "createdBy": "PUBLIC_API",
            })
        })
        .collect();
    SimAnswer::json(200, serde_json::Value::Array(array))
}

/// A page of `{links, results, totalCount}`.
fn paged(
    world: &World,
    req: &ListRequest<'_>,
    fault: Option<ListFault>,
    padding: usize,
) -> SimAnswer {
    let number = |v: Option<&str>, default: usize| v.map_or(Ok(default), str::parse::<usize>);
    let (Ok(page), Ok(per_page)) = (number(req.page, 1), number(req.per_page, 100)) else {
        return SimAnswer::error(
            400,
            "INVALID_QUERY_PARAMETER",
            "pageNum and itemsPerPage must be numbers.".into(),
            "Bad Request",
        );
    };
    if page == 0 || per_page == 0 || per_page > 500 {
        return SimAnswer::error(
            400,
            "INVALID_QUERY_PARAMETER",
            "pageNum must be at least 1 and itemsPerPage from 1 to 500.".into(),
            "Bad Request",
        );
    }
    if page > 1 && fault == Some(ListFault::NotFoundAfterFirstPage) {
        return missing_scope(req.kind, &req.scope);
    }
    let mut items = world.list(req.kind, &req.scope, None);
    if req.kind.key_is_client_id() && !req.include_system_managed {
        items.retain(|c| !matches!(c, ItemId::Oid(c) if world.is_system_managed(&req.scope, c)));
    }
    let shown_page = if fault == Some(ListFault::IgnorePageNum) {
        1
    } else {
        page
    };
    let take = if fault == Some(ListFault::ShortPages) {
        (per_page / 2).max(1)
    } else {
        per_page
    };
    let pad = "x".repeat(padding);
    let results: Vec<serde_json::Value> = items
        .iter()
        .skip((shown_page - 1).saturating_mul(per_page))
        .take(take)
        .enumerate()
        .map(|(i, id)| {
            let id_value = if fault == Some(ListFault::UnreadableIds) && i % 2 == 1 {
                json!(i)
            } else {
                json!(text(req.kind, id))
            };
            let field = match req.kind {
                Kind::ServiceAccount | Kind::ProjectServiceAccount => "clientId",
                Kind::AiModelApiKey => "apiKeyId",
                _ => "id",
            };
            let mut item =
                json!({ field: id_value, "desc": format!("simulated{pad}"), "roles": [] });
            if req.kind == Kind::AiModelApiKey {
                item["name"] = json!("simulated model key");
                item["createdAt"] = json!("2026-01-15T16:47:49.855000+00:00");
                item["groupId"] = json!(req.scope.to_string());
            }
            item
        })
        .collect();
    let href = |p: usize| format!("{}?pageNum={p}&itemsPerPage={per_page}", req.self_url);
    let mut links = vec![json!({ "rel": "self", "href": href(page) })];
    let more = page.saturating_mul(per_page) < items.len();
    let next = match fault {
        Some(ListFault::IgnorePageNum) => true,
        Some(ListFault::ShortPages) => false,
        _ => more,
    };
    if next {
        links.push(json!({ "rel": "next", "href": href(page + 1) }));
    }
    let mut answer = SimAnswer::json(
        200,
        json!({ "links": links, "results": results, "totalCount": items.len() }),
    );
    answer.list = true;
    answer
}
