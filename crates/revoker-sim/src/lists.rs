//! The list endpoints, as MongoDB documents them:
//!
//! | request | answer |
//! |---|---|
//! | `GET groups/{p}/apiKeys`, `GET orgs/{o}/apiKeys` | `{links, results: [{id, desc, publicKey, roles}], totalCount}`; an organization key's `roles` hold a `{groupId, roleName}` for each project it is assigned to (Atlas `ApiKeyUserDetails.roles[].groupId`, Cloud Manager the same) |
//! | `GET orgs/{o}/serviceAccounts` | the same with `clientId`; system-managed accounts only with `includeSystemManaged=true` |
//! | `GET groups/{p}/agentapikeys` | a bare array of `{_id, desc, key, createdTime, createdBy}`, no paging; `createdTime` in epoch milliseconds as the example body shows it, or an ISO 8601 string as the field table ("Agent API Keys" response documents) gives it |
//! | `GET orgs/{o}/serviceAccounts/{clientId}` | one account, its `secrets[]` with `id`, `createdAt`, `expiresAt`, `lastUsedAt` once used |
//! | `GET groups/{p}/serviceAccounts` (v2) | as the organization's, for the accounts assigned to the project (`listGroupServiceAccounts`: `GroupServiceAccount` has `createdAt` and `secrets[]` of `ServiceAccountSecret`, with `createdAt`, `expiresAt`, `lastUsedAt`) |
//! | `GET groups/{p}/serviceAccounts/{clientId}` (v2) | one account assigned to the project, its `secrets[]` |
//! | `GET groups/{p}/aiModelApiKeys` (v2) | `{links, results: [{apiKeyId, name, createdAt, lastUsedAt, …}], totalCount}`; `apiKeyId` a string without a pattern (`listGroupModelKeys`, `AiModelApiKeyResponse`) |
//! | `GET admin/apiKeys` (Ops Manager) | `{links, results: [{id, desc, publicKey, roles}], totalCount}` |
//!
//! Pages count from 1 (`pageNum`), hold `itemsPerPage` (default 100, at most 500), and link the next
//! page while there is one. `--list-fault` makes them mislead in the ways a client must notice.

use serde_json::json;

use super::ListFault;
use super::hostile::{DatedList, Hostile};
use super::model::{CLIENT_ID_PREFIX, ItemId, Kind, Meta, Oid};
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
    /// The public key of the simulator's credential, for the `publicKey` of the caller's own key.
    pub caller: &'a str,
    /// The list faults in force (`--list-fault` and the hostile ones).
    pub faults: &'a [ListFault],
    /// The hostile switches, for the form of dates.
    pub hostile: &'a Hostile,
}

impl ListRequest<'_> {
    fn has(&self, fault: ListFault) -> bool {
        self.faults.contains(&fault)
    }

    /// A date of `list` as this request's switches write it; `index` is the item's place, so
    /// that `unreadable-dates` spoils every other item.
    pub(super) fn date(&self, list: DatedList, seconds: i64, index: usize) -> serde_json::Value {
        if self.has(ListFault::UnreadableDates) && index % 2 == 1 {
            let at = jiff::Timestamp::from_second(seconds).unwrap_or_default();
            // A date without a time, or a time without an offset: neither is an instant.
            let form = if index % 4 == 1 {
                "%Y-%m-%d"
            } else {
                "%Y-%m-%dT%H:%M:%S"
            };
            return json!(at.strftime(form).to_string());
        }
        self.hostile.date_form(list).write(seconds)
    }

    /// An item's id as this list writes it: ObjectIds in upper case under `upper-case-ids`.
    pub(super) fn id(&self, kind: Kind, item: &ItemId) -> String {
        let plain = text(kind, item);
        match item {
            ItemId::Oid(_) if self.has(ListFault::UpperCaseIds) => {
                match plain.strip_prefix(CLIENT_ID_PREFIX) {
                    Some(hex) => format!("{CLIENT_ID_PREFIX}{}", hex.to_ascii_uppercase()),
                    None => plain.to_ascii_uppercase(),
                }
            }
            _ => plain,
        }
    }
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
pub(super) fn list(world: &World, req: &ListRequest<'_>, padding: usize) -> SimAnswer {
    if req.has(ListFault::NoServiceAccounts) && req.kind.key_is_client_id() {
        return not_found(req.self_url);
    }
    if req.has(ListFault::LyingEmpty) {
        return match req.kind {
            Kind::AgentApiKey => SimAnswer::json(200, json!([])),
            _ => SimAnswer::json(
                200,
                json!({"links": [{"rel": "self", "href": req.self_url}], "results": [], "totalCount": 0}),
            ),
        };
    }
    if req.has(ListFault::HtmlNotFound) {
        return super::server::html(404, "Not Found");
    }
    if req.has(ListFault::ServerError) {
        return SimAnswer::error(
            500,
            "UNEXPECTED_ERROR",
            "Unexpected error.".into(),
            "Internal Server Error",
        );
    }
    if req.has(ListFault::ApiKeyNotFound) {
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
        (kind, _) if super::mcp::is_mcp(kind) => super::mcp::list(world, req),
        (kind, Some(client)) if kind.is_secret() => account(world, req, client),
        (Kind::AgentApiKey, _) => agent_keys(world, req, padding),
        _ => paged(world, req, padding),
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
fn account(world: &World, req: &ListRequest<'_>, client: Oid) -> SimAnswer {
    if !world.service_account(req.kind.account(), &req.scope, &client) {
        return not_found(&format!("service account {CLIENT_ID_PREFIX}{client}"));
    }
    let secrets = secrets_of(world, req, req.kind, client);
    let mut account = json!({
        "clientId": req.id(req.kind.account(), &ItemId::Oid(client)),
        "name": "simulated service account",
        "createdAt": req.date(DatedList::ServiceAccounts, 1_767_225_600, 0),
    });
    if !req.has(ListFault::NoSecretsField) {
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
        .enumerate()
        .map(|(index, k)| {
            let meta = world.meta(Kind::AgentApiKey, &req.scope, None, k);
            let created_desc = match k {
                ItemId::Oid(id) => world.creates.agent_desc(id),
                ItemId::Model(_) => None,
            };
            let desc = created_desc.unwrap_or_else(|| {
                meta.name.map_or_else(
                    || "simulated agent key".to_string(),
                    |l| l.as_str().to_string(),
                )
            });
            let created = meta.created.unwrap_or(1_764_000_000);
            // The example body writes epoch milliseconds; the field table (Cloud Manager,
            // "Agent API Keys" response documents) types it an ISO 8601 string.
            let created = if meta.iso_created {
                json!(time(created))
            } else {
                req.date(DatedList::AgentKeys, created, index)
            };
            json!({
                "_id": req.id(Kind::AgentApiKey, k),
                "desc": format!("{desc}{pad}"),
                "key": "********",
                // Epoch milliseconds, as Cloud Manager's example writes it, unless told.
                "createdTime": created,
                "createdBy": "PUBLIC_API",
            })
        })
        .collect();
    SimAnswer::json(200, serde_json::Value::Array(array))
}

/// RFC 3339 in UTC, as the API writes its dates.
pub(super) fn time(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// A `lastUsedAt` as dated, or with `--list-fault date-only` a bare day (a form the spec never
/// gives: it documents ISO 8601 timestamps in UTC).
fn last_used(req: &ListRequest<'_>, dated: serde_json::Value, seconds: i64) -> serde_json::Value {
    if req.has(ListFault::DateOnly) {
        json!(time(seconds).chars().take(10).collect::<String>())
    } else {
        dated
    }
}

/// The secrets of a service account, with the dates the seeds gave them.
fn secrets_of(
    world: &World,
    req: &ListRequest<'_>,
    kind: Kind,
    client: Oid,
) -> Vec<serde_json::Value> {
    let scope = &req.scope;
    let date = |seconds, index| req.date(DatedList::Secrets, seconds, index);
    world
        .list(kind, scope, Some(client))
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let meta = world.meta(kind, scope, Some(client), s);
            // A secret made through the API is listed with the dates its create answered.
            let made = match s {
                ItemId::Oid(secret) => world.creates.secret_dates(&client, secret),
                ItemId::Model(_) => None,
            };
            let (created, expires) = made.unwrap_or((
                meta.created.unwrap_or(1_767_225_600),
                meta.expires.unwrap_or(1_798_761_600),
            ));
            let mut secret = json!({
                "id": req.id(kind, s),
                "createdAt": date(created, i),
                "expiresAt": date(expires, i),
                "maskedSecretValue": crate::values::masked_secret_value(&crate::values::secret_value(&meta, s)),
            });
            // Absent until the secret is first used, as the spec says.
            let created_use = match s {
                ItemId::Oid(secret) => world.creates.secret_used(&client, secret),
                ItemId::Model(_) => None,
            };
            if let Some(used) = created_use.or(meta.last_used) {
                secret["lastUsedAt"] = last_used(req, date(used, i), used);
            }
            secret
        })
        .collect()
}

/// One item of a paged list, with the fields its kind's list documents.
fn item_json(
    world: &World,
    req: &ListRequest<'_>,
    id: &ItemId,
    pad: &str,
    index: usize,
) -> serde_json::Value {
    let meta = world.meta(req.kind, &req.scope, None, id);
    let name = meta.name.map(|l| l.as_str().to_string());
    match req.kind {
        Kind::ServiceAccount | Kind::ProjectServiceAccount => {
            let ItemId::Oid(client) = id else {
                return json!({});
            };
            let secret_kind = if req.kind == Kind::ServiceAccount {
                Kind::ServiceAccountSecret
            } else {
                Kind::ProjectServiceAccountSecret
            };
            json!({
                "clientId": req.id(req.kind, id),
                "name": name.unwrap_or_else(|| "simulated service account".into()),
                "description": format!("simulated{pad}"),
                "createdAt": req.date(DatedList::ServiceAccounts, meta.created.unwrap_or(1_767_225_600), index),
                "roles": [],
                "secrets": secrets_of(world, req, secret_kind, *client),
            })
        }
        Kind::AiModelApiKey => {
            if let ItemId::Model(m) = id
                && let Some(created) = world.creates.model_listed(&req.scope, m)
            {
                return created;
            }
            let mut item = json!({
                "apiKeyId": req.id(req.kind, id),
                "name": name.unwrap_or_else(|| "simulated model key".into()),
                "createdAt": req.date(DatedList::AiModelKeys, meta.created.unwrap_or(1_767_225_600), index),
                "groupId": req.scope.to_string(),
                "cloud": "ANY",
                "geography": "ANY",
                "status": "ACTIVE",
                "maskedSecret": crate::values::masked_model_secret(&crate::values::model_secret(&meta, id)),
            });
            if let Some(used) = meta.last_used {
                let dated = req.date(DatedList::AiModelKeys, used, index);
                item["lastUsedAt"] = last_used(req, dated, used);
            }
            item
        }
        _ => {
            if let ItemId::Oid(key) = id
                && let Some((desc, public, roles)) = world.creates.listed(key)
            {
                return json!({ "id": req.id(req.kind, id), "desc": desc, "publicKey": public, "roles": roles });
            }
            let public = if meta.caller {
                req.caller.to_string()
            } else {
                crate::values::public_key(&meta, id)
            };
            // A key assigned to projects has a role in each: what tells a client that deleting
            // the organization's key removes it from them.
            let roles: Vec<serde_json::Value> = match (req.kind, id) {
                (Kind::OrgApiKey, ItemId::Oid(key)) => world
                    .key_projects(key)
                    .iter()
                    .map(|p| json!({ "groupId": p.to_string(), "roleName": "GROUP_READ_ONLY" }))
                    .collect(),
                _ => Vec::new(),
            };
            let mut item = json!({
                "id": req.id(req.kind, id),
                "desc": format!("{}{pad}", name.unwrap_or_else(|| "simulated".into())),
                "publicKey": public,
                "roles": roles,
            });
            if !meta.caller {
                let private = crate::values::private_key(&meta, id);
                item["privateKey"] = json!(crate::values::redacted_private_key(&private));
            }
            item
        }
    }
}

/// A page of `{links, results, totalCount}` of `kind`'s items.
fn paged(world: &World, req: &ListRequest<'_>, padding: usize) -> SimAnswer {
    let mut items = world.list(req.kind, &req.scope, None);
    if req.kind.key_is_client_id() && !req.include_system_managed {
        items.retain(|c| !matches!(c, ItemId::Oid(c) if world.is_system_managed(&req.scope, c)));
    }
    let pad = "x".repeat(padding);
    let id_field = match req.kind {
        Kind::ServiceAccount | Kind::ProjectServiceAccount => "clientId",
        Kind::AiModelApiKey => "apiKeyId",
        _ => "id",
    };
    page(req, items.len(), id_field, &mut |skip, take| {
        items
            .iter()
            .enumerate()
            .skip(skip)
            .take(take)
            .map(|(i, id)| item_json(world, req, id, &pad, i))
            .collect()
    })
}

/// `GET orgs/{o}/groups`: the organization's projects.
pub(super) fn org_projects(world: &World, req: &ListRequest<'_>) -> SimAnswer {
    if !world.org_exists(&req.scope) {
        return missing_scope(Kind::OrgApiKey, &req.scope);
    }
    let projects = world.org_projects(&req.scope);
    page(req, projects.len(), "id", &mut |skip, take| {
        projects
            .iter()
            .skip(skip)
            .take(take)
            .map(|p| json!({ "id": p.to_string(), "name": format!("project {p}"), "orgId": req.scope.to_string() }))
            .collect()
    })
}

/// `GET orgs/{o}`: one organization, with its name (Cloud Manager's "Get One Organization",
/// Atlas's `getOrganization`).
pub(super) fn org(world: &World, org: &Oid) -> SimAnswer {
    if !world.org_exists(org) {
        return missing_scope(Kind::OrgApiKey, org);
    }
    SimAnswer::json(
        200,
        json!({ "id": org.to_string(), "name": format!("organization {org}"), "isDeleted": false }),
    )
}

/// `GET groups/{p}`: one project, with its organization.
pub(super) fn project(world: &World, project: &Oid) -> SimAnswer {
    match world.project_org(project) {
        Some(org) => SimAnswer::json(
            200,
            json!({ "id": project.to_string(), "name": format!("project {project}"), "orgId": org.to_string(), "clusterCount": 0 }),
        ),
        None => missing_scope(Kind::ProjectApiKey, project),
    }
}

/// `GET orgs/{o}/apiKeys/{k}/accessList`: the key's one access-list entry (none when a seed said
/// so), `lastUsed` only once a request came from it.
pub(super) fn access_list(world: &World, req: &ListRequest<'_>, key: Oid) -> SimAnswer {
    if !world.org_exists(&req.scope) {
        return missing_scope(Kind::OrgApiKey, &req.scope);
    }
    let item = ItemId::Oid(key);
    if !world.org_has_key(&req.scope, &key) {
        return SimAnswer::error(
            404,
            "API_KEY_NOT_FOUND",
            format!("No API key with ID {key} exists."),
            "Not Found",
        );
    }
    if let Some(results) = world.creates.access_list(&req.scope, &key) {
        let total = results.len();
        return page(req, total, "ipAddress", &mut |skip, take| {
            results.iter().skip(skip).take(take).cloned().collect()
        });
    }
    // The key's own row says what its access list shows, else a project row of it does.
    let mut meta = world.meta(Kind::OrgApiKey, &req.scope, None, &item);
    if meta == Meta::default() {
        meta = world.key_meta(&key);
    }
    let mut entry = json!({
        "cidrBlock": "10.0.0.0/24",
        "ipAddress": "10.0.0.1",
        "created": req.date(DatedList::AccessLists, meta.created.unwrap_or(1_767_225_600), 0),
        "count": 0,
    });
    if let Some(used) = meta.last_used {
        entry["lastUsed"] = req.date(DatedList::AccessLists, used, 0);
        entry["lastUsedAddress"] = json!("10.0.0.1");
        entry["count"] = json!(17);
    }
    let entries = if meta.no_access_list {
        vec![]
    } else {
        vec![entry]
    };
    page(req, entries.len(), "ipAddress", &mut |skip, take| {
        entries.iter().skip(skip).take(take).cloned().collect()
    })
}

/// [`page`], for the lists of other files.
pub(super) fn page_of(
    req: &ListRequest<'_>,
    total: usize,
    id_field: &str,
    items: &mut dyn FnMut(usize, usize) -> Vec<serde_json::Value>,
) -> SimAnswer {
    page(req, total, id_field, items)
}

/// One page of `total` items that `items(skip, take)` renders, paged as documented, misleading as
/// `fault` says.
pub(super) fn page(
    req: &ListRequest<'_>,
    total: usize,
    id_field: &str,
    items: &mut dyn FnMut(usize, usize) -> Vec<serde_json::Value>,
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
    if page > 1 && req.has(ListFault::NotFoundAfterFirstPage) {
        return missing_scope(req.kind, &req.scope);
    }
    let shown_page = if req.has(ListFault::IgnorePageNum) {
        1
    } else {
        page
    };
    // `empty-pages`: the first page is empty, and each later page holds the one before it.
    let shown_page = if req.has(ListFault::EmptyPages) {
        shown_page - 1
    } else {
        shown_page
    };
    let take = if req.has(ListFault::ShortPages) {
        (per_page / 2).max(1)
    } else {
        per_page
    };
    let mut results = match shown_page {
        0 => Vec::new(),
        n => items((n - 1).saturating_mul(per_page), take),
    };
    if req.has(ListFault::UnreadableIds) {
        for (i, item) in results.iter_mut().enumerate() {
            if i % 2 == 1 {
                item[id_field] = json!(i);
            }
        }
    }
    let href = |p: usize| format!("{}?pageNum={p}&itemsPerPage={per_page}", req.self_url);
    let mut links = vec![json!({ "rel": "self", "href": href(page) })];
    let more = shown_page.saturating_mul(per_page) < total;
    let next = if req.has(ListFault::IgnorePageNum) {
        true
    } else if req.has(ListFault::ShortPages) {
        false
    } else {
        more
    };
    let total = if req.has(ListFault::TotalCountLow) {
        total.saturating_sub(1)
    } else if req.has(ListFault::TotalCountHigh) {
        total + 1
    } else {
        total
    };
    if next {
        links.push(json!({ "rel": "next", "href": href(page + 1) }));
    }
    let mut answer = SimAnswer::json(
        200,
        json!({ "links": links, "results": results, "totalCount": total }),
    );
    answer.list = true;
    answer
}
