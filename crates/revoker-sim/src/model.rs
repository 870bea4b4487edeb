//! The simulator's own vocabulary, written from MongoDB's API reference and shared with nothing in
//! revoker: an oracle that borrowed revoker's model of ids, kinds and paths would agree with its
//! mistakes.
//!
//! Ids are MongoDB ObjectIds (24 hexadecimal digits); a service account's client id is
//! `mdb_sa_id_` followed by one; an AI model API key's id is a string the Atlas v2 spec gives no
//! pattern (its example `a86r5kwrfsk5r5ku5tgvhmpj`). The kinds are the credentials the API can
//! delete, each living in a project (a "group" in the paths), an organization, or (Ops Manager's
//! global keys) neither.

use std::fmt;

/// A MongoDB Oid: 12 bytes written as 24 hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid([u8; 12]);

impl Oid {
    pub const fn from_bytes(bytes: [u8; 12]) -> Oid {
        Oid(bytes)
    }

    pub fn bytes(&self) -> [u8; 12] {
        self.0
    }

    /// Exactly 24 hexadecimal digits, either case; anything else is not an id.
    pub fn parse(text: &str) -> Option<Oid> {
        let digits = text.as_bytes();
        if digits.len() != 24 {
            return None;
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        };
        let mut bytes = [0u8; 12];
        for (i, pair) in digits.chunks(2).enumerate() {
            bytes[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
        }
        Some(Oid(bytes))
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

/// An AI model API key's id, not an Oid. The Atlas spec (`AiModelApiKeyResponse.apiKeyId`,
/// `deleteGroupModelKey`'s `apiKeyId` path parameter) types it `string` with no pattern; its
/// example `a86r5kwrfsk5r5ku5tgvhmpj` is 24 letters and digits. The simulator takes 1 to 64 letters,
/// digits, `-`, `.`, `_` and `~` (the first a letter or digit), so that seeds can hold ids of
/// another shape than the example's, as a real project may. Compared byte for byte, case included: not hex, so
/// `deleteGroupModelKey` with the id in another case names no key and answers 404.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelKey {
    len: u8,
    bytes: [u8; 64],
}

impl ModelKey {
    pub fn parse(text: &str) -> Option<ModelKey> {
        let raw = text.as_bytes();
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw[0].is_ascii_alphanumeric()
            && raw
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !ok {
            return None;
        }
        let mut bytes = [0u8; 64];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(ModelKey {
            len: raw.len() as u8,
            bytes,
        })
    }
}

impl fmt::Display for ModelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("?"))
    }
}

impl fmt::Debug for ModelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModelKey({self})")
    }
}

/// One item of a collection: an Oid, or an AI model API key's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemId {
    Oid(Oid),
    Model(ModelKey),
}

/// Where a kind lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Home {
    Project,
    Org,
    /// Ops Manager itself (`admin/apiKeys`).
    Global,
}

/// The scope of a global key: there is none, and all of them share this one.
pub const GLOBAL: Oid = Oid([0; 12]);

/// The prefix of every service account's client id.
pub const CLIENT_ID_PREFIX: &str = "mdb_sa_id_";

/// A service account's client id (`mdb_sa_id_` + an Oid), as the id inside it.
pub fn parse_client_id(text: &str) -> Option<Oid> {
    Oid::parse(text.strip_prefix(CLIENT_ID_PREFIX)?)
}

/// A credential the API can delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `groups/{groupId}/apiKeys/{apiUserId}`: an organization key's assignment to a project.
    ProjectApiKey,
    /// `groups/{groupId}/agentapikeys/{agentApiKeyId}` (Cloud Manager / Ops Manager only).
    AgentApiKey,
    /// `orgs/{orgId}/apiKeys/{apiUserId}`: the key itself.
    OrgApiKey,
    /// `orgs/{orgId}/serviceAccounts/{clientId}`.
    ServiceAccount,
    /// `orgs/{orgId}/serviceAccounts/{clientId}/secrets/{secretId}`.
    ServiceAccountSecret,
    /// `groups/{groupId}/serviceAccounts/{clientId}` (v2): the account's assignment to a project.
    ProjectServiceAccount,
    /// `groups/{groupId}/serviceAccounts/{clientId}/secrets/{secretId}` (v2).
    ProjectServiceAccountSecret,
    /// `groups/{groupId}/aiModelApiKeys/{apiKeyId}` (v2).
    AiModelApiKey,
    /// `admin/apiKeys/{apiKeyId}` (Ops Manager, v1.0).
    GlobalApiKey,
    /// `orgs/{orgId}/mcpConfigs/{mcpConfigId}/secrets/{secretId}` (v2, `deleteOrgMcpSecret`).
    OrgMcpSecret,
    /// `groups/{groupId}/mcpConfigs/{mcpConfigId}/secrets/{secretId}` (v2, `deleteGroupMcpSecret`).
    ProjectMcpSecret,
    /// `orgs/{orgId}/mcpConfigs/{mcpConfigId}`: an organization's MCP configuration, the home of
    /// its secrets (listed, never deleted by the simulator's callers).
    OrgMcpConfig,
    /// `groups/{groupId}/mcpConfigs/{mcpConfigId}`: a project's MCP configuration.
    ProjectMcpConfig,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::ProjectApiKey,
        Kind::AgentApiKey,
        Kind::OrgApiKey,
        Kind::ServiceAccount,
        Kind::ServiceAccountSecret,
        Kind::ProjectServiceAccount,
        Kind::ProjectServiceAccountSecret,
        Kind::AiModelApiKey,
        Kind::GlobalApiKey,
        Kind::OrgMcpSecret,
        Kind::ProjectMcpSecret,
        Kind::OrgMcpConfig,
        Kind::ProjectMcpConfig,
    ];

    /// The name a seed file uses.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ProjectApiKey => "project-api-key",
            Kind::AgentApiKey => "agent-api-key",
            Kind::OrgApiKey => "org-api-key",
            Kind::ServiceAccount => "service-account",
            Kind::ServiceAccountSecret => "service-account-secret",
            Kind::ProjectServiceAccount => "project-service-account",
            Kind::ProjectServiceAccountSecret => "project-service-account-secret",
            Kind::AiModelApiKey => "ai-model-api-key",
            Kind::GlobalApiKey => "global-api-key",
            Kind::OrgMcpSecret => "org-mcp-secret",
            Kind::ProjectMcpSecret => "project-mcp-secret",
            Kind::OrgMcpConfig => "org-mcp-config",
            Kind::ProjectMcpConfig => "project-mcp-config",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Where it lives.
    pub fn home(self) -> Home {
        match self {
            Kind::OrgApiKey
            | Kind::ServiceAccount
            | Kind::ServiceAccountSecret
            | Kind::OrgMcpSecret
            | Kind::OrgMcpConfig => Home::Org,
            Kind::GlobalApiKey => Home::Global,
            _ => Home::Project,
        }
    }

    /// Whether it lives in an organization (`orgs/{orgId}/…`).
    pub fn is_org_wide(self) -> bool {
        self.home() == Home::Org
    }

    /// Whether its key is a service account's client id rather than an Oid.
    pub fn key_is_client_id(self) -> bool {
        matches!(
            self,
            Kind::ServiceAccount
                | Kind::ServiceAccountSecret
                | Kind::ProjectServiceAccount
                | Kind::ProjectServiceAccountSecret
        )
    }

    /// Whether it is a secret of a service account or of an MCP configuration (the row names the
    /// secret's id).
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            Kind::ServiceAccountSecret
                | Kind::ProjectServiceAccountSecret
                | Kind::OrgMcpSecret
                | Kind::ProjectMcpSecret
        )
    }

    /// Whether it is an MCP configuration's secret.
    pub fn is_mcp_secret(self) -> bool {
        matches!(self, Kind::OrgMcpSecret | Kind::ProjectMcpSecret)
    }

    /// The service account (or MCP configuration) a secret belongs to, in the same project or
    /// organization.
    pub fn account(self) -> Kind {
        match self {
            Kind::ProjectServiceAccountSecret => Kind::ProjectServiceAccount,
            Kind::OrgMcpSecret => Kind::OrgMcpConfig,
            Kind::ProjectMcpSecret => Kind::ProjectMcpConfig,
            _ => Kind::ServiceAccount,
        }
    }
}

/// A short text (a name or a description) kept inline, so that a [`Seed`] stays `Copy`; longer
/// texts are cut at 48 bytes, on a character boundary.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label([u8; 48], u8);

impl Label {
    pub fn new(text: &str) -> Label {
        let mut end = text.len().min(48);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; 48];
        bytes[..end].copy_from_slice(&text.as_bytes()[..end]);
        Label(bytes, end as u8)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0[..usize::from(self.1)]).unwrap_or("")
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// What the lists show of a credential besides its id, as the API documents the fields; times are
/// Unix seconds (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Meta {
    /// `createdAt` (secrets, service accounts, AI model keys), `createdTime` (agent keys), an
    /// access-list entry's `created` (API keys).
    pub created: Option<i64>,
    /// A secret's `expiresAt`.
    pub expires: Option<i64>,
    /// `lastUsedAt` (secrets, AI model keys); an API key's access-list `lastUsed`.
    pub last_used: Option<i64>,
    /// A service account's or AI model key's `name`, an API key's `desc`.
    pub name: Option<Label>,
    /// The organization of a project row's project (`GET /groups/{id}` → `orgId`).
    pub org: Option<Oid>,
    /// An API key without access-list entries.
    pub no_access_list: bool,
    /// The API key the simulator's own credential is: its `publicKey` is the credential's.
    pub caller: bool,
    /// An agent key's `createdTime` as Cloud Manager's field table gives it (an ISO 8601 string)
    /// rather than as its example body shows it (epoch milliseconds).
    pub iso_created: bool,
    /// An API key's `publicKey` (default: derived from its id, [`crate::values`]).
    pub public_key: Option<crate::values::PublicKey>,
    /// An API key's private key (listed redacted), or a service account secret's or AI model
    /// key's value (listed masked); default: derived from its id. One field: a credential has
    /// one secret, and seeds stay small.
    pub secret: Option<crate::values::Value>,
}

/// One credential the simulator holds when it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Seed {
    pub kind: Kind,
    /// The project or organization.
    pub scope: Oid,
    /// The key's id; for service accounts, the id inside the client id.
    pub key: Oid,
    /// A service-account secret's id.
    pub secret: Option<Oid>,
    /// An AI model API key's id (`key` is then unused).
    pub model_key: Option<ModelKey>,
    /// A system-managed service account, which `GET orgs/{o}/serviceAccounts` lists only with
    /// `includeSystemManaged=true`.
    pub system_managed: bool,
    /// Dates, names and the like.
    pub meta: Meta,
}

impl Seed {
    pub fn new(kind: Kind, scope: Oid, key: Oid, secret: Option<Oid>) -> Seed {
        Seed {
            kind,
            scope,
            key,
            secret,
            model_key: None,
            system_managed: false,
            meta: Meta::default(),
        }
    }

    /// An AI model API key of a project.
    pub fn model(project: Oid, key: ModelKey) -> Seed {
        Seed {
            model_key: Some(key),
            ..Seed::new(Kind::AiModelApiKey, project, GLOBAL, None)
        }
    }

    /// The item this seed is in its collection.
    pub fn item(&self) -> ItemId {
        match (self.model_key, self.secret) {
            (Some(key), _) => ItemId::Model(key),
            (None, Some(secret)) if self.kind.is_secret() => ItemId::Oid(secret),
            _ => ItemId::Oid(self.key),
        }
    }

    /// The project or organization as a seed file writes it; empty for a global key.
    pub fn scope_text(&self) -> String {
        if self.kind.home() == Home::Global {
            String::new()
        } else {
            self.scope.to_string()
        }
    }

    /// The key as the API writes it.
    pub fn key_text(&self) -> String {
        if let Some(key) = self.model_key {
            key.to_string()
        } else if self.kind.key_is_client_id() {
            format!("{CLIENT_ID_PREFIX}{}", self.key)
        } else {
            self.key.to_string()
        }
    }

    pub fn secret_text(&self) -> String {
        self.secret.map(|s| s.to_string()).unwrap_or_default()
    }

    /// A seed from the texts of a seed file's columns (`kind`, project or org, key, secret).
    pub fn parse(kind: &str, scope: &str, key: &str, secret: &str) -> Result<Seed, String> {
        let kind = Kind::parse(kind).ok_or_else(|| format!("unknown kind {kind:?}"))?;
        let scope = match (kind.home(), scope.trim()) {
            (Home::Global, "") => GLOBAL,
            (_, text) => Oid::parse(text).ok_or_else(|| format!("{scope:?} is not an id"))?,
        };
        if kind == Kind::AiModelApiKey {
            let model = ModelKey::parse(key.trim())
                .ok_or_else(|| format!("{key:?} is not an AI model API key id"))?;
            return Ok(Seed::model(scope, model));
        }
        let key = if kind.key_is_client_id() {
            parse_client_id(key.trim())
        } else {
            Oid::parse(key.trim())
        }
        .ok_or_else(|| format!("{key:?} is not a {} id", kind.name()))?;
        let secret = match (kind.is_secret(), secret.trim()) {
            (true, s) => Some(Oid::parse(s).ok_or_else(|| format!("{s:?} is not a secret id"))?),
            _ => None,
        };
        Ok(Seed::new(kind, scope, key, secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_24_hex_digits() {
        let id = Oid::parse("5E0000000000000000000001").unwrap();
        assert_eq!(id.to_string(), "5e0000000000000000000001");
        assert!(Oid::parse("5e000000000000000000001").is_none());
        assert!(Oid::parse("5e00000000000000000000zz").is_none());
        assert_eq!(
            parse_client_id("mdb_sa_id_5e0000000000000000000001"),
            Some(id)
        );
        assert!(parse_client_id("5e0000000000000000000001").is_none());
    }

    #[test]
    fn seeds_parse_from_their_columns() {
        let s = Seed::parse(
            "service-account-secret",
            "5e0000000000000000000001",
            "mdb_sa_id_5e0000000000000000000002",
            "5e0000000000000000000003",
        )
        .unwrap();
        assert_eq!(s.key_text(), "mdb_sa_id_5e0000000000000000000002");
        assert_eq!(s.secret_text(), "5e0000000000000000000003");
        assert!(Seed::parse("apiKey", "5e0000000000000000000001", "x", "").is_err());
    }
}
