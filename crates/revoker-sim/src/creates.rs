//! The creates a rotation needs, as the Atlas Administration API v2 documents them, and what a
//! created credential may reach:
//!
//! | request | operationId | answer |
//! |---|---|---|
//! | `POST orgs/{o}/apiKeys` `{desc, roles}` | `createOrgApiKey` | 200 `ApiKeyUserDetails`: `id`, `desc`, `publicKey`, `privateKey` (unredacted this once), `roles` |
//! | `POST groups/{g}/apiKeys/{k}` `[{roles}]` | `addGroupApiKey` | 204 |
//! | `POST orgs/{o}/apiKeys/{k}/accessList` `[{ipAddress} or {cidrBlock}]` | `createOrgAccessEntry` | 200 `PaginatedApiUserAccessListResponse` |
//! | `POST orgs/{o}/serviceAccounts/{c}/secrets` `{secretExpiresAfterHours}` | `createOrgSecret` | 201 `ServiceAccountSecret` with `secret` (only this once) |
//! | `POST orgs/{o}/serviceAccounts` `{name, description, roles, secretExpiresAfterHours}` | `createOrgServiceAccount` | 201 `OrgServiceAccount`: `clientId`, `secrets[0].secret` (only this once) |
//! | `POST groups/{g}/serviceAccounts/{c}:invite` `{roles}` | `inviteGroupServiceAccount` | 200 `GroupServiceAccount` |
//! | `POST groups/{g}/databaseUsers` `{databaseName, username, roles, …}` | `createDatabaseUser` | 201 `CloudDatabaseUser` (no password) |
//!
//! Each create that succeeds records its events ([`crate::made`]).
//!
//! A created key lives in the world's collections like a seeded one (so the lists and DELETEs
//! reach it) and here with its reach: its organization roles, each project's roles, its access
//! list. Its roles show in the lists as `CloudAccessRoleAssignment`s (`orgId` or `groupId`, and
//! `roleName`). It authenticates by digest from its creation until it is deleted, and every request
//! it signs stamps `lastUsed` (and `count`, `lastUsedAddress`) on the access-list entries that
//! cover the caller (always 127.0.0.1 here): the only use the API shows of a key (API keys carry
//! no dates; `UserAccessListResponse` does). A created secret's use is its `lastUsedAt`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::{Value, json};

use super::auth::Digest;
use super::made::Made;
use super::routes::{Route, SimAnswer};
use super::state::{World, lock};
use crate::model::{CLIENT_ID_PREFIX, ItemId, Kind, ModelKey, Oid, Seed};

/// The address every request comes from.
const CALLER: [u8; 4] = [127, 0, 0, 1];

/// One access-list entry and its use.
#[derive(Clone, Debug)]
struct Entry {
    /// `ipAddress` or `cidrBlock`, as given.
    pub value: String,
    pub cidr: bool,
    pub created: i64,
    pub last_used: Option<i64>,
    pub count: u64,
}

/// A created organization API key and its reach.
#[derive(Clone, Debug)]
struct KeyReach {
    pub org: Oid,
    pub desc: String,
    pub public: String,
    pub roles: Vec<String>,
    pub projects: BTreeMap<Oid, Vec<String>>,
    pub access: Vec<Entry>,
}

#[derive(Default)]
struct Inner {
    keys: HashMap<Oid, KeyReach>,
    by_public: HashMap<String, Oid>,
    /// `(client, secret)` → (its value, `lastUsedAt`).
    secrets: HashMap<(Oid, Oid), (String, Option<i64>)>,
    /// `(client, secret)` → (`createdAt`, `expiresAt`) as the create answered them.
    secret_dates: HashMap<(Oid, Oid), (i64, i64)>,
    /// Created AI model keys by `apiKeyId`.
    models: HashMap<ModelKey, CreatedModel>,
    /// Created agent API keys: `desc`.
    agents: HashMap<Oid, String>,
}

/// A created AI model key (`createGroupModelKey`).
#[derive(Clone, Debug)]
struct CreatedModel {
    name: String,
    cloud: String,
    geography: String,
    secret: String,
    created: i64,
    last_used: Option<i64>,
}

/// What was created, and its use.
#[derive(Default)]
pub(super) struct Creates {
    inner: Mutex<Inner>,
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn random_oid() -> Oid {
    Oid::from_bytes(rand::random::<[u8; 12]>())
}

/// What a created key's private key looks like (a UUID, as Atlas shows them).
fn private_key() -> String {
    let b = rand::random::<u128>();
    let h = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn bad(detail: &str) -> SimAnswer {
    SimAnswer::error(400, "INVALID_ATTRIBUTE", detail.into(), "Bad Request")
}

fn roles_of(value: &Value) -> Option<Vec<String>> {
    let roles: Vec<String> = value
        .as_array()?
        .iter()
        .map(|r| r.as_str().map(str::to_string))
        .collect::<Option<_>>()?;
    (!roles.is_empty()).then_some(roles)
}

fn covers(entry: &Entry) -> bool {
    let caller = u32::from_be_bytes(CALLER);
    let (addr, bits) = match entry.value.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().unwrap_or(33)),
        None => (entry.value.as_str(), 32),
    };
    let Ok(ip) = addr.parse::<std::net::Ipv4Addr>() else {
        return false;
    };
    if bits > 32 {
        return false;
    }
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    u32::from(ip) & mask == caller & mask
}

fn entry_json(org: &Oid, key: &Oid, e: &Entry) -> Value {
    let mut v = json!({
        "created": super::lists::time(e.created),
        "links": [{"rel": "self", "href": format!("/api/atlas/v2/orgs/{org}/apiKeys/{key}/accessList/{}", e.value.replace('/', "%2F"))}],
    });
    v[if e.cidr { "cidrBlock" } else { "ipAddress" }] = json!(e.value);
    if let Some(used) = e.last_used {
        v["lastUsed"] = json!(super::lists::time(used));
        v["lastUsedAddress"] = json!("127.0.0.1");
        v["count"] = json!(e.count);
    }
    v
}

impl Creates {
    /// `createOrgApiKey`: the key, its private key in the answer and the digest users.
    pub(super) fn create_org_key(
        &self,
        org: Oid,
        body: &[u8],
    ) -> Result<(Oid, String, String, SimAnswer), SimAnswer> {
        let body: Value =
            serde_json::from_slice(body).map_err(|_| bad("The request body is not JSON."))?;
        let desc = body["desc"]
            .as_str()
            .ok_or_else(|| bad("desc is required."))?;
        if desc.is_empty() || desc.len() > 250 {
            return Err(bad("desc must be 1 to 250 characters."));
        }
        let roles =
            roles_of(&body["roles"]).ok_or_else(|| bad("roles must name at least one role."))?;
        let id = random_oid();
        let public = format!("{:08x}", rand::random::<u32>());
        let private = private_key();
        let answer = json!({
            "id": id.to_string(),
            "desc": desc,
            "publicKey": public,
            "privateKey": private,
            "roles": roles.iter().map(|r| json!({"orgId": org.to_string(), "roleName": r})).collect::<Vec<_>>(),
            "links": [],
        });
        let mut inner = lock(&self.inner);
        inner.by_public.insert(public.clone(), id);
        inner.keys.insert(
            id,
            KeyReach {
                org,
                desc: desc.into(),
                public: public.clone(),
                roles,
                projects: BTreeMap::new(),
                access: Vec::new(),
            },
        );
        Ok((id, public, private, SimAnswer::json(200, answer)))
    }

    /// `addGroupApiKey`: the roles in `project` of a created key of `org`.
    pub(super) fn assign(&self, key: &Oid, project: Oid, body: &[u8]) -> Result<(), SimAnswer> {
        let body: Value =
            serde_json::from_slice(body).map_err(|_| bad("The request body is not JSON."))?;
        let roles: Vec<String> = body
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| roles_of(&r["roles"]))
                    .flatten()
                    .collect()
            })
            .unwrap_or_default();
        if roles.is_empty() {
            return Err(bad("roles must name at least one role."));
        }
        let mut inner = lock(&self.inner);
        let reach = inner.keys.get_mut(key).ok_or_else(|| not_found_key(key))?;
        let mut roles = roles;
        roles.sort();
        roles.dedup();
        reach.projects.insert(project, roles);
        Ok(())
    }

    /// The organization of a created key.
    pub(super) fn org_of(&self, key: &Oid) -> Option<Oid> {
        lock(&self.inner).keys.get(key).map(|k| k.org)
    }

    /// `createOrgAccessEntry`: entries added (an entry already there is kept as it was).
    pub(super) fn add_access(&self, org: &Oid, key: &Oid, body: &[u8]) -> SimAnswer {
        let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
            return bad("The request body must be a list of access-list entries.");
        };
        let mut inner = lock(&self.inner);
        let Some(reach) = inner.keys.get_mut(key).filter(|k| k.org == *org) else {
            return not_found_key(key);
        };
        for item in &items {
            let (value, cidr) = match (item["ipAddress"].as_str(), item["cidrBlock"].as_str()) {
                (Some(ip), None) => (ip, false),
                (None, Some(block)) => (block, true),
                _ => return bad("Each entry needs exactly one of ipAddress and cidrBlock."),
            };
            if !reach.access.iter().any(|e| e.value == value) {
                reach.access.push(Entry {
                    value: value.into(),
                    cidr,
                    created: now(),
                    last_used: None,
                    count: 0,
                });
            }
        }
        let results: Vec<Value> = reach
            .access
            .iter()
            .map(|e| entry_json(org, key, e))
            .collect();
        SimAnswer::json(
            200,
            json!({"links": [], "results": results, "totalCount": results.len()}),
        )
    }

    /// A created key's access list as `listOrgAccessEntries` gives it, `None` for another key.
    pub(super) fn access_list(&self, org: &Oid, key: &Oid) -> Option<Vec<Value>> {
        let inner = lock(&self.inner);
        let reach = inner.keys.get(key)?;
        Some(
            reach
                .access
                .iter()
                .map(|e| entry_json(org, key, e))
                .collect(),
        )
    }

    /// A created key as a list shows it: `desc`, `publicKey`, `roles` (the organization's and
    /// every project's).
    pub(super) fn listed(&self, key: &Oid) -> Option<(String, String, Value)> {
        let inner = lock(&self.inner);
        let reach = inner.keys.get(key)?;
        let mut roles: Vec<Value> = reach
            .roles
            .iter()
            .map(|r| json!({"orgId": reach.org.to_string(), "roleName": r}))
            .collect();
        for (project, names) in &reach.projects {
            roles.extend(
                names
                    .iter()
                    .map(|r| json!({"groupId": project.to_string(), "roleName": r})),
            );
        }
        Some((
            reach.desc.clone(),
            reach.public.clone(),
            Value::Array(roles),
        ))
    }

    /// A request signed by `user`: stamps the access-list entries of a created key that cover
    /// the caller.
    pub(super) fn used(&self, user: &str) {
        let mut inner = lock(&self.inner);
        let Some(key) = inner.by_public.get(user).copied() else {
            return;
        };
        if let Some(reach) = inner.keys.get_mut(&key) {
            let at = now();
            for e in reach.access.iter_mut().filter(|e| covers(e)) {
                e.last_used = Some(at);
                e.count += 1;
            }
        }
    }

    /// The id of the key created here whose public key is `public`.
    pub(super) fn id_of(&self, public: &str) -> Option<Oid> {
        lock(&self.inner).by_public.get(public).copied()
    }

    /// A created key's public key, if it was created here.
    pub(super) fn public_of(&self, key: &Oid) -> Option<String> {
        lock(&self.inner).keys.get(key).map(|k| k.public.clone())
    }

    /// A deleted key, or its unassignment from a project.
    pub(super) fn forget(&self, key: &Oid, project: Option<&Oid>) {
        let mut inner = lock(&self.inner);
        match project {
            Some(p) => {
                if let Some(reach) = inner.keys.get_mut(key) {
                    reach.projects.remove(p);
                }
            }
            None => {
                if let Some(reach) = inner.keys.remove(key) {
                    inner.by_public.remove(&reach.public);
                }
            }
        }
    }

    /// `createOrgSecret`: a new secret of `client`, its value in the answer this once.
    pub(super) fn create_secret(
        &self,
        client: &Oid,
        body: &[u8],
    ) -> Result<(Oid, SimAnswer), SimAnswer> {
        let body: Value =
            serde_json::from_slice(body).map_err(|_| bad("The request body is not JSON."))?;
        let hours = body["secretExpiresAfterHours"]
            .as_i64()
            .ok_or_else(|| bad("secretExpiresAfterHours is required."))?;
        // The spec: "The minimum and maximum allowed expiration times are subject to change";
        // Atlas documents 8 hours to 365 days.
        if !(8..=8760).contains(&hours) {
            return Err(bad("secretExpiresAfterHours must be from 8 to 8760."));
        }
        let id = random_oid();
        let value = format!("mdb_sa_sk_{:040x}", rand::random::<u128>());
        let created = now();
        let answer = json!({
            "id": id.to_string(),
            "createdAt": super::lists::time(created),
            "expiresAt": super::lists::time(created + hours * 3600),
            "maskedSecretValue": format!("mdb_sa_sk_…{}", &value[value.len() - 4..]),
            "secret": value,
        });
        let mut inner = lock(&self.inner);
        inner.secrets.insert((*client, id), (value, None));
        inner
            .secret_dates
            .insert((*client, id), (created, created + hours * 3600));
        Ok((id, SimAnswer::json(201, answer)))
    }

    /// A created secret's `lastUsedAt`, if it was used.
    pub(super) fn secret_used(&self, client: &Oid, secret: &Oid) -> Option<i64> {
        lock(&self.inner)
            .secrets
            .get(&(*client, *secret))
            .and_then(|s| s.1)
    }

    /// A created secret's `createdAt` and `expiresAt`, as its create answered them.
    pub(super) fn secret_dates(&self, client: &Oid, secret: &Oid) -> Option<(i64, i64)> {
        lock(&self.inner)
            .secret_dates
            .get(&(*client, *secret))
            .copied()
    }

    /// A deleted secret no longer logs in.
    pub(super) fn forget_secret(&self, client: &Oid, secret: &Oid) {
        lock(&self.inner).secrets.remove(&(*client, *secret));
    }
}

/// The most secrets a service account holds at once: Atlas keeps an old secret beside its
/// replacement only (the Terraform provider's "Service Account Secret Rotation" guide calls the
/// old one "the second slot").
pub(super) const MAX_SECRETS: usize = 2;

impl Creates {
    /// A login at the token endpoint with a created secret's value: stamps its `lastUsedAt`.
    pub(super) fn secret_login(&self, client: &Oid, value: &str) -> bool {
        let mut inner = lock(&self.inner);
        let found = inner
            .secrets
            .iter_mut()
            .find(|((c, _), (v, _))| c == client && v == value);
        match found {
            Some((_, (_, used))) => {
                *used = Some(now());
                true
            }
            None => false,
        }
    }

    /// `createGroupModelKey`: a new key, its secret in the answer this once.
    pub(super) fn create_model(
        &self,
        project: &Oid,
        body: &[u8],
    ) -> Result<(ModelKey, SimAnswer), SimAnswer> {
        let body: Value =
            serde_json::from_slice(body).map_err(|_| bad("The request body is not JSON."))?;
        let field = |name: &str| {
            body[name]
                .as_str()
                .filter(|v| !v.is_empty() && v.len() <= 250)
                .map(str::to_string)
                .ok_or_else(|| bad(&format!("{name} is required.")))
        };
        let (name, cloud, geography) = (field("name")?, field("cloud")?, field("geography")?);
        let text: String = (0..24)
            .map(|_| {
                let n = rand::random::<u8>() % 36;
                char::from_digit(u32::from(n), 36).unwrap_or('a')
            })
            .collect();
        let id = ModelKey::parse(&text).ok_or_else(|| bad("no id"))?;
        let secret = format!("al-{:032x}", rand::random::<u128>());
        let created = now();
        let model = CreatedModel {
            name,
            cloud,
            geography,
            secret: secret.clone(),
            created,
            last_used: None,
        };
        let mut answer = model_json(project, &id, &model);
        answer["secret"] = json!(secret);
        lock(&self.inner).models.insert(id, model);
        Ok((id, SimAnswer::json(201, answer)))
    }

    /// A created model key as `listGroupModelKeys` shows it.
    pub(super) fn model_listed(&self, project: &Oid, id: &ModelKey) -> Option<Value> {
        let inner = lock(&self.inner);
        inner.models.get(id).map(|m| model_json(project, id, m))
    }

    /// A request to the embedding service with a created model key's secret: stamps its use.
    pub(super) fn model_used(&self, secret: &str) -> bool {
        let mut inner = lock(&self.inner);
        match inner.models.values_mut().find(|m| m.secret == secret) {
            Some(m) => {
                m.last_used = Some(now());
                true
            }
            None => false,
        }
    }

    /// Cloud Manager's "Create One Agent API Key" (`POST /groups/{GROUP-ID}/agentapikeys`
    /// `{desc}`): `_id`, `desc`, `key` (whole this once), `createdTime`, `createdBy`.
    pub(super) fn create_agent(&self, body: &[u8]) -> Result<(Oid, SimAnswer), SimAnswer> {
        let body: Value =
            serde_json::from_slice(body).map_err(|_| bad("The request body is not JSON."))?;
        let desc = body["desc"].as_str().unwrap_or_default().to_string();
        let id = random_oid();
        let answer = json!({
            "_id": id.to_string(),
            "desc": desc,
            "key": format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>()),
            "createdTime": now() * 1000,
            "createdBy": "PUBLIC_API",
            "createdIpAddr": "127.0.0.1",
        });
        lock(&self.inner).agents.insert(id, desc);
        Ok((id, SimAnswer::json(200, answer)))
    }

    /// A created agent key's `desc`.
    pub(super) fn agent_desc(&self, id: &Oid) -> Option<String> {
        lock(&self.inner).agents.get(id).cloned()
    }

    /// A deleted model key no longer authenticates.
    pub(super) fn forget_model(&self, id: &ModelKey) {
        lock(&self.inner).models.remove(id);
    }
}

fn model_json(project: &Oid, id: &ModelKey, m: &CreatedModel) -> Value {
    let mut v = json!({
        "apiKeyId": id.to_string(),
        "name": m.name,
        "cloud": m.cloud,
        "geography": m.geography,
        "createdAt": super::lists::time(m.created),
        "groupId": project.to_string(),
        "status": "ACTIVE",
        "maskedSecret": format!("al-****{}", &m.secret[m.secret.len() - 4..]),
    });
    if let Some(used) = m.last_used {
        v["lastUsedAt"] = json!(super::lists::time(used));
    }
    v
}

fn not_found_key(key: &Oid) -> SimAnswer {
    SimAnswer::error(
        404,
        "API_KEY_NOT_FOUND",
        format!("No API key with ID {key} exists."),
        "Not Found",
    )
}

/// A create request, parsed.
#[derive(Clone, Copy, Debug)]
pub(super) enum Create {
    /// `createOrgApiKey`.
    OrgKey(Oid),
    /// `addGroupApiKey`: project, key.
    Assign(Oid, Oid),
    /// `createOrgAccessEntry`: organization, key.
    Access(Oid, Oid),
    /// `createOrgSecret`: organization, service account.
    OrgSecret(Oid, Oid),
    /// `createOrgServiceAccount`: organization.
    Account(Oid),
    /// `inviteGroupServiceAccount`: project, service account.
    Invite(Oid, Oid),
    /// `createDatabaseUser`: project.
    DbUser(Oid),
    /// `createGroupSecret`: project, service account.
    GroupSecret(Oid, Oid),
    /// `createGroupModelKey`: project.
    ModelKey(Oid),
    /// Cloud Manager's agent API key create (v1.0): project.
    AgentKey(Oid),
}

impl Create {
    /// The kind and scope it acts in, for its rate limit, refusals and `Accept` version.
    pub(super) fn scope(&self) -> (Kind, Oid) {
        match *self {
            Create::OrgKey(org) | Create::Access(org, _) => (Kind::OrgApiKey, org),
            Create::Assign(project, _) => (Kind::ProjectApiKey, project),
            Create::OrgSecret(org, _) => (Kind::ServiceAccountSecret, org),
            Create::Account(org) => (Kind::ServiceAccount, org),
            Create::Invite(project, _) => (Kind::ProjectServiceAccount, project),
            Create::DbUser(project) => (Kind::ProjectApiKey, project),
            Create::GroupSecret(project, _) => (Kind::ProjectServiceAccountSecret, project),
            Create::ModelKey(project) => (Kind::AiModelApiKey, project),
            Create::AgentKey(project) => (Kind::AgentApiKey, project),
        }
    }
}

/// The route of a `POST` this module answers (Atlas v2 only), if it is one.
pub(super) fn parse(v2: bool, parts: &[&str]) -> Option<Route> {
    let id = |text: &str| Oid::parse(text);
    if !v2 {
        return match parts {
            ["groups", g, "agentapikeys"] => {
                Some(Route::Create(Create::AgentKey(id(g)?), Vec::new()))
            }
            _ => None,
        };
    }
    let create = match parts {
        ["orgs", o, "apiKeys"] => Create::OrgKey(id(o)?),
        ["groups", g, "apiKeys", k] => Create::Assign(id(g)?, id(k)?),
        ["orgs", o, "apiKeys", k, "accessList"] => Create::Access(id(o)?, id(k)?),
        ["orgs", o, "serviceAccounts", c, "secrets"] => {
            Create::OrgSecret(id(o)?, crate::model::parse_client_id(c)?)
        }
        ["orgs", o, "serviceAccounts"] => Create::Account(id(o)?),
        ["groups", g, "serviceAccounts", c] => Create::Invite(
            id(g)?,
            crate::model::parse_client_id(c.strip_suffix(":invite")?)?,
        ),
        ["groups", g, "databaseUsers"] => Create::DbUser(id(g)?),
        ["groups", g, "serviceAccounts", c, "secrets"] => {
            Create::GroupSecret(id(g)?, crate::model::parse_client_id(c)?)
        }
        ["groups", g, "aiModelApiKeys"] => Create::ModelKey(id(g)?),
        _ => return None,
    };
    Some(Route::Create(create, Vec::new()))
}

/// What a create answers and, when it made something, what (for its events).
pub(super) type Served = (SimAnswer, Option<Made>);

/// The answer to a create that reached the data, and what it made.
pub(super) fn serve(world: &World, digest: &Digest, create: Create, body: &[u8]) -> Served {
    let result = match create {
        Create::OrgKey(org) if world.scope_exists(Kind::OrgApiKey, &org) => {
            org_key(world, digest, org, body)
        }
        Create::Assign(project, key) => assign(world, project, key, body),
        Create::Access(org, key) if world.scope_exists(Kind::OrgApiKey, &org) => {
            let answer = world.creates.add_access(&org, &key, body);
            let made = (answer.status == 200).then(|| Made::Access {
                org,
                key,
                public: world.creates.public_of(&key),
                entries: entries_of(body),
            });
            Ok((answer, made))
        }
        Create::OrgSecret(org, client) => org_secret(world, org, client, body),
        Create::Account(org) if world.scope_exists(Kind::OrgApiKey, &org) => {
            super::made_creates::account(world, org, body)
        }
        Create::Invite(project, client) => super::made_creates::invite(world, project, client),
        Create::DbUser(project) => super::made_creates::db_user(world, project, body),
        Create::GroupSecret(project, client) => group_secret(world, project, client, body),
        Create::ModelKey(project) => match world.project_org(&project) {
            None => Err(super::lists::missing_scope(Kind::AiModelApiKey, &project)),
            Some(_) => world
                .creates
                .create_model(&project, body)
                .map(|(id, answer)| {
                    world.add_item(Kind::AiModelApiKey, project, None, ItemId::Model(id));
                    (answer, None)
                }),
        },
        Create::AgentKey(project) => match world.project_org(&project) {
            None => Err(super::lists::missing_scope(Kind::AgentApiKey, &project)),
            Some(_) => world.creates.create_agent(body).map(|(id, answer)| {
                world.add_item(Kind::AgentApiKey, project, None, ItemId::Oid(id));
                (answer, None)
            }),
        },
        Create::OrgKey(org) | Create::Access(org, _) | Create::Account(org) => {
            Err(super::lists::missing_scope(Kind::OrgApiKey, &org))
        }
    };
    result.unwrap_or_else(|refusal| (refusal, None))
}

/// The entries a `createOrgAccessEntry` body names.
fn entries_of(body: &[u8]) -> Vec<String> {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| i["ipAddress"].as_str().or(i["cidrBlock"].as_str()))
        .map(str::to_string)
        .collect()
}

fn org_key(world: &World, digest: &Digest, org: Oid, body: &[u8]) -> Result<Served, SimAnswer> {
    let (id, public, private, answer) = world.creates.create_org_key(org, body)?;
    world.add_item(Kind::OrgApiKey, org, None, ItemId::Oid(id));
    digest.add(&public, &private);
    Ok((answer, Some(Made::OrgKey { org, id, public })))
}

fn assign(world: &World, project: Oid, key: Oid, body: &[u8]) -> Result<Served, SimAnswer> {
    let creates = &world.creates;
    match (world.project_org(&project), creates.org_of(&key)) {
        (None, _) => Err(super::lists::missing_scope(Kind::ProjectApiKey, &project)),
        (Some(org), Some(owner)) if org == owner => {
            creates.assign(&key, project, body)?;
            world.add_item(Kind::ProjectApiKey, project, None, ItemId::Oid(key));
            let made = Made::Assign {
                org,
                project,
                key,
                public: creates.public_of(&key),
            };
            Ok((SimAnswer::empty(204), Some(made)))
        }
        _ => Err(not_found_key(&key)),
    }
}

/// Refuses a third secret of an account ([`MAX_SECRETS`]).
fn secret_room(world: &World, org: &Oid, client: &Oid) -> Result<(), SimAnswer> {
    match world
        .list(Kind::ServiceAccountSecret, org, Some(*client))
        .len()
        >= MAX_SECRETS
    {
        true => Err(SimAnswer::error(
            400,
            "SERVICE_ACCOUNT_SECRET_LIMIT_EXCEEDED",
            format!(
                "Service account {CLIENT_ID_PREFIX}{client} already has {MAX_SECRETS} secrets."
            ),
            "Bad Request",
        )),
        false => Ok(()),
    }
}

fn org_secret(world: &World, org: Oid, client: Oid, body: &[u8]) -> Result<Served, SimAnswer> {
    if !world.service_account(Kind::ServiceAccount, &org, &client) {
        return Err(super::routes::not_found(&format!(
            "service account {CLIENT_ID_PREFIX}{client}"
        )));
    }
    secret_room(world, &org, &client)?;
    let (secret, answer) = world.creates.create_secret(&client, body)?;
    world.add_item(
        Kind::ServiceAccountSecret,
        org,
        Some(client),
        ItemId::Oid(secret),
    );
    // The account's secret is its secret in every project it is assigned to.
    for project in world.org_projects(&org) {
        if world.service_account(Kind::ProjectServiceAccount, &project, &client) {
            let kind = Kind::ProjectServiceAccountSecret;
            world.add_item(kind, project, Some(client), ItemId::Oid(secret));
        }
    }
    let made = Made::Secret {
        org,
        client,
        secret,
    };
    Ok((answer, Some(made)))
}

/// `createGroupSecret`: the account must be assigned to the project; the secret is also the
/// organization's account's.
fn group_secret(
    world: &World,
    project: Oid,
    client: Oid,
    body: &[u8],
) -> Result<Served, SimAnswer> {
    let org = world
        .project_org(&project)
        .ok_or_else(|| super::lists::missing_scope(Kind::ProjectServiceAccountSecret, &project))?;
    if !world.service_account(Kind::ProjectServiceAccount, &project, &client) {
        return Err(super::routes::not_found(&format!(
            "service account {CLIENT_ID_PREFIX}{client}"
        )));
    }
    secret_room(world, &org, &client)?;
    let (secret, answer) = world.creates.create_secret(&client, body)?;
    let kind = Kind::ProjectServiceAccountSecret;
    world.add_item(kind, project, Some(client), ItemId::Oid(secret));
    world.add_item(
        Kind::ServiceAccountSecret,
        org,
        Some(client),
        ItemId::Oid(secret),
    );
    let made = Made::Secret {
        org,
        client,
        secret,
    };
    Ok((answer, Some(made)))
}

/// After a DELETE destroyed `target`: a deleted key no longer authenticates, an unassigned one
/// loses that project's roles, a deleted secret no longer logs in.
pub(super) fn deleted(world: &World, digest: &Digest, target: &Seed) {
    let creates = &world.creates;
    match target.kind {
        Kind::OrgApiKey => {
            if let Some(public) = creates.public_of(&target.key) {
                digest.remove(&public);
            }
            creates.forget(&target.key, None);
        }
        Kind::ProjectApiKey => creates.forget(&target.key, Some(&target.scope)),
        Kind::ServiceAccountSecret | Kind::ProjectServiceAccountSecret => {
            if let Some(secret) = target.secret {
                creates.forget_secret(&target.key, &secret);
            }
        }
        _ => {}
    }
    if let Some(model) = target.model_key {
        creates.forget_model(&model);
    }
}
