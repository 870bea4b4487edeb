//! Which API a base URL names, and, per API and kind, the revoke endpoint, the list endpoint used for
//! verification and the `Accept` header each needs.
//!
//! | kind | path under the base URL | v1.0 `Accept` | Atlas v2 `Accept` |
//! |---|---|---|---|
//! | project-api-key | `groups/{p}/apiKeys/{k}` | `application/json` | `vnd.atlas.2023-01-01` |
//! | agent-api-key | `groups/{p}/agentapikeys/{k}` | `application/json` | (none: no agent keys) |
//! | org-api-key | `orgs/{o}/apiKeys/{k}` | `application/json` | `vnd.atlas.2023-01-01` |
//! | service-account | `orgs/{o}/serviceAccounts/{clientId}` | `application/json` | `vnd.atlas.2024-08-05` |
//! | service-account-secret | `…/serviceAccounts/{clientId}/secrets/{secretId}` | `application/json` | `vnd.atlas.2024-08-05` |
//! | project-service-account | `groups/{p}/serviceAccounts/{clientId}` | `application/json` | `vnd.atlas.2024-08-05` |
//! | project-service-account-secret | `groups/{p}/serviceAccounts/{clientId}/secrets/{secretId}` | `application/json` | `vnd.atlas.2024-08-05` |
//! | ai-model-api-key | `groups/{p}/aiModelApiKeys/{apiKeyId}` | (none) | `vnd.atlas.2025-03-12` |
//! | global-api-key | `admin/apiKeys/{id}` (Ops Manager) | `application/json` | (none) |
//! | org-mcp-secret | `orgs/{o}/mcpConfigs/{mcpConfigId}/secrets/{secretId}` | (none) | `vnd.atlas.2025-03-12` |
//! | project-mcp-secret | `groups/{p}/mcpConfigs/{mcpConfigId}/secrets/{secretId}` | (none) | `vnd.atlas.2025-03-12` |

use std::fmt;

use url::Url;

use super::ApiError;
use crate::input::{Kind, ObjectId, Target};

/// The path a Cloud Manager or Ops Manager base URL ends in.
pub const CLOUD_MANAGER_PATH: &str = "/api/public/v1.0";
/// The path an Atlas Administration API base URL ends in.
pub const ATLAS_PATH: &str = "/api/atlas/v2";
/// Cloud Manager's public API.
pub const DEFAULT_BASE_URL: &str = "https://cloud.mongodb.com/api/public/v1.0";
/// The Atlas Administration API (v2).
pub const ATLAS_BASE_URL: &str = "https://cloud.mongodb.com/api/atlas/v2";

const ATLAS_KEYS: &str = "application/vnd.atlas.2023-01-01+json";
const ATLAS_SERVICE_ACCOUNTS: &str = "application/vnd.atlas.2024-08-05+json";
const ATLAS_AI_MODELS: &str = "application/vnd.atlas.2025-03-12+json";
/// `deleteOrgMcpSecret`, `deleteGroupMcpSecret` and their lists answer this version alone.
const ATLAS_MCP: &str = "application/vnd.atlas.2025-03-12+json";
const JSON: &str = "application/json";

/// Largest page a list endpoint serves.
pub const ITEMS_PER_PAGE: usize = 500;

/// The API behind a base URL.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Api {
    /// Cloud Manager or Ops Manager, `…/api/public/v1.0`.
    CloudManager,
    /// The Atlas Administration API, `…/api/atlas/v2`.
    Atlas,
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Api::CloudManager => "Cloud Manager / Ops Manager API v1.0",
            Api::Atlas => "Atlas Administration API v2",
        })
    }
}

/// How a list endpoint answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListShape {
    /// `{links, results: [{<id_field>…}], totalCount}`, paged with `pageNum` and `itemsPerPage`.
    Paged { id_field: &'static str },
    /// A bare JSON array of `{_id (or id), …}`, not paged (agent API keys).
    BareArray,
    /// One service account, its secrets in `secrets[].id`.
    Secrets,
}

/// One list to read for verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSpec {
    pub url: Url,
    pub accept: &'static str,
    pub shape: ListShape,
}

/// The base URLs a URL without an API path was likely meant as: its root (the path before any
/// `/api`) with each API's path.
fn near(base: &Url) -> String {
    let mut root = base.clone();
    let path = base.path();
    let kept = path.find("/api").map_or(path, |i| &path[..i]);
    root.set_path(kept.trim_end_matches('/'));
    root.set_query(None);
    root.set_fragment(None);
    let root = root.as_str().trim_end_matches('/').to_string();
    format!("{root}{CLOUD_MANAGER_PATH} (Cloud Manager, Ops Manager) or {root}{ATLAS_PATH} (Atlas)")
}

impl Api {
    /// The API a base URL names, by the end of its path. A path that names neither, or names one
    /// twice (`MCLI_OPS_MANAGER_URL` set to the API URL rather than the root), is an error: sent on,
    /// every answer would be a 404 that is not the API's.
    pub fn of(base: &Url) -> Result<Api, ApiError> {
        let path = base.path().trim_end_matches('/');
        for (suffix, api) in [
            (CLOUD_MANAGER_PATH, Api::CloudManager),
            (ATLAS_PATH, Api::Atlas),
        ] {
            if let Some(before) = path.strip_suffix(suffix) {
                if before.contains(CLOUD_MANAGER_PATH) || before.contains(ATLAS_PATH) {
                    return Err(ApiError::DoubledPath(base.to_string()));
                }
                return Ok(api);
            }
        }
        Err(ApiError::UnknownApi(base.to_string(), near(base)))
    }

    /// The base URL of this API at `root` (an Ops Manager root such as `https://om:8080/`).
    pub fn base_at(self, root: &str) -> String {
        let root = root.trim().trim_end_matches('/');
        match self {
            Api::CloudManager => format!("{root}{CLOUD_MANAGER_PATH}"),
            Api::Atlas => format!("{root}{ATLAS_PATH}"),
        }
    }

    /// The base URL without the API's path: where `api/oauth/token` lives.
    pub fn root(self, base: &Url) -> Url {
        let suffix = match self {
            Api::CloudManager => CLOUD_MANAGER_PATH,
            Api::Atlas => ATLAS_PATH,
        };
        let mut root = base.clone();
        let path = base.path().trim_end_matches('/');
        root.set_path(path.strip_suffix(suffix).unwrap_or(""));
        root.set_query(None);
        root
    }

    pub fn has_agent_keys(self) -> bool {
        self == Api::CloudManager
    }

    /// Whether rows of `kind` can be sent to this API.
    pub fn supports(self, kind: Kind) -> bool {
        match self {
            Api::CloudManager => kind.on_cloud_manager(),
            Api::Atlas => kind.on_atlas(),
        }
    }

    /// The `Accept` header for `kind`'s endpoints: Atlas v2 answers 406 without its versioned type.
    pub fn accept(self, kind: Kind) -> &'static str {
        match (self, kind) {
            (Api::CloudManager, _) => JSON,
            (
                Api::Atlas,
                Kind::ServiceAccount
                | Kind::ServiceAccountSecret
                | Kind::ProjectServiceAccount
                | Kind::ProjectServiceAccountSecret,
            ) => ATLAS_SERVICE_ACCOUNTS,
            (Api::Atlas, Kind::AiModelApiKey) => ATLAS_AI_MODELS,
            (Api::Atlas, Kind::OrgMcpSecret | Kind::ProjectMcpSecret) => ATLAS_MCP,
            (Api::Atlas, _) => ATLAS_KEYS,
        }
    }

    /// The URL that revokes `target`. Ids are pushed as path segments, so they are percent-encoded
    /// even though validation already allows only hex digits.
    pub fn revoke_url(self, base: &Url, target: &Target, envelope: bool) -> Url {
        let scope = target.scope.to_string();
        let key = target.key_text();
        let secret = target.secret_text();
        let segments: Vec<&str> = match target.kind {
            Kind::ProjectApiKey => vec!["groups", &scope, "apiKeys", &key],
            Kind::AgentApiKey => vec!["groups", &scope, "agentapikeys", &key],
            Kind::OrgApiKey => vec!["orgs", &scope, "apiKeys", &key],
            Kind::ServiceAccount => vec!["orgs", &scope, "serviceAccounts", &key],
            Kind::ServiceAccountSecret => {
                vec!["orgs", &scope, "serviceAccounts", &key, "secrets", &secret]
            }
            Kind::ProjectServiceAccount => vec!["groups", &scope, "serviceAccounts", &key],
            Kind::ProjectServiceAccountSecret => {
                vec![
                    "groups",
                    &scope,
                    "serviceAccounts",
                    &key,
                    "secrets",
                    &secret,
                ]
            }
            Kind::AiModelApiKey => vec!["groups", &scope, "aiModelApiKeys", &key],
            Kind::GlobalApiKey => vec!["admin", "apiKeys", &key],
            // `databaseName/username`: two path segments, each percent-encoded (an OIDC or x.509
            // username may hold `/`, `=` or `,`).
            Kind::DatabaseUser => {
                let (db, user) = key.split_once('/').unwrap_or((&key, ""));
                vec!["groups", &scope, "databaseUsers", db, user]
            }
            Kind::OrgMcpSecret => vec!["orgs", &scope, "mcpConfigs", &key, "secrets", &secret],
            Kind::ProjectMcpSecret => {
                vec!["groups", &scope, "mcpConfigs", &key, "secrets", &secret]
            }
        };
        url_of(base, &segments, envelope)
    }

    /// The revoke request of `kind` as a pattern: its URL with the ids written `{groupId}` or
    /// `{orgId}`, `{id}` and `{secretId}`.
    pub fn revoke_pattern(self, base: &Url, kind: Kind, envelope: bool) -> String {
        let key = match kind {
            Kind::AiModelApiKey => "modelkeypattern000000000".to_string(),
            Kind::DatabaseUser => "admin/patternuser".to_string(),
            k if k.key_is_client_id() => {
                format!("{}{}", crate::input::CLIENT_ID_PREFIX, "6a".repeat(12))
            }
            _ => "6a".repeat(12),
        };
        let scope = if kind.scope() == crate::input::Scope::Global {
            String::new()
        } else {
            "5e".repeat(12)
        };
        let secret = "7b".repeat(12);
        let Some(t) = Target::parse(kind.as_str(), &scope, &key, &secret) else {
            return String::new();
        };
        let placeholder = if kind.is_org_wide() {
            "{orgId}"
        } else {
            "{groupId}"
        };
        let url = self.revoke_url(base, &t, envelope).to_string();
        let url = if scope.is_empty() {
            url
        } else {
            url.replace(&scope, placeholder)
        };
        if kind == Kind::DatabaseUser {
            return url.replace("admin/patternuser", "{databaseName}/{username}");
        }
        url.replace(&t.key_text(), "{id}")
            .replace(&secret, "{secretId}")
    }

    /// The list that shows whether rows of `kind` in `scope` still exist. `client` is the service
    /// account whose secrets are listed (the service-account secret kinds), or the MCP
    /// configuration whose secrets are listed (the MCP secret kinds: `listOrgMcpSecrets`,
    /// `listGroupMcpSecrets`, a `PaginatedMcpConfigSecret` of `ServiceAccountSecret` by `id`).
    pub fn list(
        self,
        base: &Url,
        kind: Kind,
        scope: &ObjectId,
        client: Option<&str>,
        envelope: bool,
    ) -> ListSpec {
        let scope = scope.to_string();
        let owner = if kind.is_org_wide() { "orgs" } else { "groups" };
        let (segments, shape): (Vec<&str>, ListShape) = match kind {
            Kind::ProjectApiKey => (
                vec!["groups", &scope, "apiKeys"],
                ListShape::Paged { id_field: "id" },
            ),
            Kind::AgentApiKey => (vec!["groups", &scope, "agentapikeys"], ListShape::BareArray),
            Kind::OrgApiKey => (
                vec!["orgs", &scope, "apiKeys"],
                ListShape::Paged { id_field: "id" },
            ),
            Kind::ServiceAccount => (
                vec!["orgs", &scope, "serviceAccounts"],
                ListShape::Paged {
                    id_field: "clientId",
                },
            ),
            Kind::ServiceAccountSecret => (
                vec!["orgs", &scope, "serviceAccounts", client.unwrap_or("")],
                ListShape::Secrets,
            ),
            Kind::ProjectServiceAccount => (
                vec!["groups", &scope, "serviceAccounts"],
                ListShape::Paged {
                    id_field: "clientId",
                },
            ),
            Kind::ProjectServiceAccountSecret => (
                vec!["groups", &scope, "serviceAccounts", client.unwrap_or("")],
                ListShape::Secrets,
            ),
            Kind::AiModelApiKey => (
                vec!["groups", &scope, "aiModelApiKeys"],
                ListShape::Paged {
                    id_field: "apiKeyId",
                },
            ),
            Kind::GlobalApiKey => (
                vec!["admin", "apiKeys"],
                ListShape::Paged { id_field: "id" },
            ),
            Kind::DatabaseUser => (
                vec!["groups", &scope, "databaseUsers"],
                ListShape::Paged {
                    id_field: DB_USER_ID,
                },
            ),
            Kind::OrgMcpSecret | Kind::ProjectMcpSecret => (
                vec![owner, &scope, "mcpConfigs", client.unwrap_or(""), "secrets"],
                ListShape::Paged { id_field: "id" },
            ),
        };
        let mut url = url_of(base, &segments, envelope);
        if matches!(kind, Kind::ServiceAccount | Kind::ProjectServiceAccount) {
            // Atlas leaves system-managed accounts out of the list unless asked: without this, one
            // that still exists would read as gone.
            url.query_pairs_mut()
                .append_pair("includeSystemManaged", "true");
        }
        ListSpec {
            url,
            accept: self.accept(kind),
            shape,
        }
    }
}

/// The pseudo id field of a database user: its `databaseName` and `username` joined by `/`.
pub const DB_USER_ID: &str = "databaseName/username";
impl Api {
    /// The list of an organization's or a project's MCP configurations (`listOrgMcpConfigs`,
    /// `listGroupMcpConfigs`: `{links, results: [{mcpConfigId, mcpConfigName, clientId, …}],
    /// totalCount}`), from which each configuration's secrets are listed.
    pub fn mcp_configs(self, base: &Url, kind: Kind, scope: &ObjectId, envelope: bool) -> ListSpec {
        let scope = scope.to_string();
        let owner = if kind.is_org_wide() { "orgs" } else { "groups" };
        ListSpec {
            url: url_of(base, &[owner, &scope, "mcpConfigs"], envelope),
            accept: self.accept(kind),
            shape: ListShape::Paged {
                id_field: "mcpConfigId",
            },
        }
    }
}

/// `base` with `segments` pushed as path segments (percent-encoded), and `envelope=true` when asked.
pub fn url_of(base: &Url, segments: &[&str], envelope: bool) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    if envelope {
        url.set_query(Some("envelope=true"));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn the_path_names_the_api() {
        assert_eq!(
            Api::of(&url("https://cloud.mongodb.com/api/public/v1.0")).unwrap(),
            Api::CloudManager
        );
        assert_eq!(
            Api::of(&url("https://om.example.com:8080/prefix/api/public/v1.0/")).unwrap(),
            Api::CloudManager
        );
        assert_eq!(
            Api::of(&url("https://cloud.mongodb.com/api/atlas/v2")).unwrap(),
            Api::Atlas
        );
        for wrong in [
            "https://cloud.mongodb.com",
            "https://cloud.mongodb.com/api/public/v1",
            "https://cloud.mongodb.com/api/atlas/v1.0",
        ] {
            assert!(
                matches!(Api::of(&url(wrong)), Err(ApiError::UnknownApi(..))),
                "{wrong}"
            );
        }
        assert!(matches!(
            Api::of(&url(
                "https://om.example.com/api/public/v1.0/api/public/v1.0"
            )),
            Err(ApiError::DoubledPath(_))
        ));
        assert_eq!(
            Api::CloudManager
                .root(&url("https://om.example.com:8080/x/api/public/v1.0"))
                .as_str(),
            "https://om.example.com:8080/x"
        );
        assert_eq!(
            Api::Atlas
                .root(&url("https://cloud.mongodb.com/api/atlas/v2"))
                .as_str(),
            "https://cloud.mongodb.com/"
        );
    }

    #[test]
    fn endpoints_per_kind_and_api() {
        let base = url("https://cloud.mongodb.com/api/atlas/v2");
        let scope = ObjectId::parse("5f1b2c3d4e5f6a7b8c9d0e1f").unwrap();
        let key = ObjectId::parse("aaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
        let secret = ObjectId::parse("bbbbbbbbbbbbbbbbbbbbbbbb").unwrap();
        let t = |kind, secret| Target {
            kind,
            scope,
            key,
            secret,
        };
        assert_eq!(
            Api::Atlas
                .revoke_url(&base, &t(Kind::ServiceAccountSecret, Some(secret)), false)
                .as_str(),
            "https://cloud.mongodb.com/api/atlas/v2/orgs/5f1b2c3d4e5f6a7b8c9d0e1f/serviceAccounts/mdb_sa_id_aaaaaaaaaaaaaaaaaaaaaaaa/secrets/bbbbbbbbbbbbbbbbbbbbbbbb"
        );
        assert_eq!(
            Api::CloudManager
                .revoke_url(
                    &url("https://cloud.mongodb.com/api/public/v1.0"),
                    &t(Kind::AgentApiKey, None),
                    true
                )
                .as_str(),
            "https://cloud.mongodb.com/api/public/v1.0/groups/5f1b2c3d4e5f6a7b8c9d0e1f/agentapikeys/aaaaaaaaaaaaaaaaaaaaaaaa?envelope=true"
        );
        assert_eq!(
            Api::Atlas.accept(Kind::OrgApiKey),
            "application/vnd.atlas.2023-01-01+json"
        );
        assert_eq!(
            Api::Atlas.accept(Kind::ServiceAccount),
            "application/vnd.atlas.2024-08-05+json"
        );
        assert_eq!(
            Api::CloudManager.accept(Kind::ServiceAccount),
            "application/json"
        );
        assert!(!Api::Atlas.supports(Kind::AgentApiKey));
        let list = Api::Atlas.list(&base, Kind::ServiceAccount, &scope, None, false);
        assert_eq!(
            list.url.as_str(),
            "https://cloud.mongodb.com/api/atlas/v2/orgs/5f1b2c3d4e5f6a7b8c9d0e1f/serviceAccounts?includeSystemManaged=true"
        );
        assert_eq!(
            list.shape,
            ListShape::Paged {
                id_field: "clientId"
            }
        );
    }
}
