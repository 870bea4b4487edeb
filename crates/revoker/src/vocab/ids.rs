//! The values a row names: the kind of credential, the project or organization it belongs to (none
//! for an Ops Manager global key), the key (an ObjectId, a service account's client id, or an AI
//! model API key's id) and, for a service-account secret, the secret id.

use std::fmt;
use std::hash::BuildHasher;
use std::str::FromStr;
use std::sync::OnceLock;

/// What a row revokes; each kind has its own endpoint on each API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An organization API key's assignment to a project (`/groups/{p}/apiKeys/{k}`).
    ProjectApiKey,
    /// An agent API key of a project (`/groups/{p}/agentapikeys/{k}`); Cloud Manager and Ops Manager only.
    AgentApiKey,
    /// An organization API key itself, gone from every project (`/orgs/{o}/apiKeys/{k}`).
    OrgApiKey,
    /// A service account (`/orgs/{o}/serviceAccounts/{clientId}`).
    ServiceAccount,
    /// One secret of a service account (`/orgs/{o}/serviceAccounts/{clientId}/secrets/{secretId}`).
    ServiceAccountSecret,
    /// A service account's assignment to a project (`/groups/{p}/serviceAccounts/{clientId}`, Atlas
    /// v2): the account and its secrets stay active.
    ProjectServiceAccount,
    /// A service account's secret, through a project
    /// (`/groups/{p}/serviceAccounts/{clientId}/secrets/{secretId}`, Atlas v2): the secret is deleted.
    ProjectServiceAccountSecret,
    /// An AI model (Voyage AI) API key of a project (`/groups/{p}/aiModelApiKeys/{apiKeyId}`, Atlas v2).
    AiModelApiKey,
    /// An Ops Manager global API key (`/admin/apiKeys/{id}`, v1.0 only): no project or organization.
    GlobalApiKey,
    /// A secret of an organization's MCP configuration
    /// (`/orgs/{o}/mcpConfigs/{mcpConfigId}/secrets/{secretId}`, Atlas v2, `deleteOrgMcpSecret`).
    OrgMcpSecret,
    /// A secret of a project's MCP configuration
    /// (`/groups/{p}/mcpConfigs/{mcpConfigId}/secrets/{secretId}`, Atlas v2, `deleteGroupMcpSecret`).
    ProjectMcpSecret,
    /// A database user of a project (`/groups/{p}/databaseUsers/{databaseName}/{username}`, Atlas
    /// v2 `deleteDatabaseUser`); its key is `databaseName/username`. Opt-in: destructive.
    DatabaseUser,
}

/// What a kind's rows are scoped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Project,
    Org,
    /// Ops Manager itself: the row names no project or organization.
    Global,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Project => "project",
            Scope::Org => "organization",
            Scope::Global => "Ops Manager",
        }
    }
}

/// The scope of a row whose kind has none (an Ops Manager global key): every such row shares it.
pub const NO_SCOPE: ObjectId = ObjectId([0; 12]);

/// The prefix of a service account's client id.
pub const CLIENT_ID_PREFIX: &str = "mdb_sa_id_";

impl Kind {
    pub const ALL: [Kind; 12] = [
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
        Kind::DatabaseUser,
    ];

    /// The canonical name, as written in reports.
    pub fn as_str(self) -> &'static str {
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
            Kind::DatabaseUser => "database-user",
        }
    }

    /// Other names exports use, compared as [`Kind::parse`] compares: case, spaces, `_` and `-`
    /// ignored (so `Project API Key`, `projectApiKey` and `project_api_key` are one name).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Kind::ProjectApiKey => &[
                "api-key",
                "programmatic",
                "programmatic-api-key",
                "project-key",
            ],
            Kind::AgentApiKey => &["agent", "agent-key"],
            Kind::OrgApiKey => &["organization-api-key", "organization", "org-key", "org"],
            Kind::ServiceAccount => &["service-account"],
            Kind::ServiceAccountSecret => &["secret", "service-account-secret"],
            Kind::ProjectServiceAccount => &[
                "group-service-account",
                "project-sa",
                "service-account-assignment",
            ],
            Kind::ProjectServiceAccountSecret => &[
                "group-service-account-secret",
                "project-sa-secret",
                "project-secret",
            ],
            Kind::AiModelApiKey => &[
                "ai-model-key",
                "model-api-key",
                "voyage-ai-api-key",
                "voyage-api-key",
                "group-model-key",
            ],
            Kind::GlobalApiKey => &[
                "global-key",
                "global-programmatic-api-key",
                "ops-manager-global-api-key",
                "admin-api-key",
            ],
            Kind::OrgMcpSecret => &[
                "mcp-secret",
                "org-mcp-config-secret",
                "organization-mcp-secret",
                "mcp-config-secret",
            ],
            Kind::ProjectMcpSecret => &[
                "group-mcp-secret",
                "project-mcp-config-secret",
                "group-mcp-config-secret",
            ],
            Kind::DatabaseUser => &["mongodb-user", "database-users"],
        }
    }

    /// A name as compared: lower case, without spaces, `_` or `-`.
    fn folded(text: &str) -> String {
        text.chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-' | '\t'))
            .flat_map(char::to_lowercase)
            .collect()
    }

    /// Parses the canonical name or one of its aliases, ignoring case, spaces, `_`, `-` and
    /// camelCase.
    pub fn parse(text: &str) -> Option<Kind> {
        let text = Kind::folded(text);
        let named = |text: &str| {
            Kind::ALL.into_iter().find(|k| {
                Kind::folded(k.as_str()) == text
                    || k.aliases().iter().any(|a| Kind::folded(a) == text)
            })
        };
        // Plurals as UIs label them: Cloud Manager's "Agent API Keys".
        named(&text).or_else(|| text.strip_suffix('s').and_then(named))
    }

    /// The name nearest to an unknown one, for "did you mean".
    pub fn nearest(text: &str) -> Option<Kind> {
        let folded = Kind::folded(text);
        let text = folded.as_str();
        Kind::ALL
            .into_iter()
            .flat_map(|k| {
                std::iter::once(k.as_str())
                    .chain(k.aliases().iter().copied())
                    .map(move |name| (k, strsim::damerau_levenshtein(text, &Kind::folded(name))))
            })
            .filter(|(_, d)| *d <= 3)
            .min_by_key(|(_, d)| *d)
            .map(|(k, _)| k)
    }

    /// The canonical names, for messages: `a, b or c`.
    pub fn names() -> String {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        let (last, rest) = names.split_last().unwrap_or((&"", &[]));
        format!("{} or {last}", rest.join(", "))
    }

    /// Whether the row is scoped by a project, by an organization, or by neither.
    pub fn scope(self) -> Scope {
        match self {
            Kind::ProjectApiKey
            | Kind::AgentApiKey
            | Kind::ProjectServiceAccount
            | Kind::ProjectServiceAccountSecret
            | Kind::AiModelApiKey
            | Kind::ProjectMcpSecret
            | Kind::DatabaseUser => Scope::Project,
            Kind::OrgApiKey
            | Kind::ServiceAccount
            | Kind::ServiceAccountSecret
            | Kind::OrgMcpSecret => Scope::Org,
            Kind::GlobalApiKey => Scope::Global,
        }
    }

    /// Whether the row's scope is an organization.
    pub fn is_org_wide(self) -> bool {
        self.scope() == Scope::Org
    }

    /// Kinds whose deletion destroys a credential rather than unassigning it from one project: sent
    /// only when a run's allowed kinds name them.
    pub fn is_destructive(self) -> bool {
        !matches!(
            self,
            Kind::ProjectApiKey | Kind::AgentApiKey | Kind::ProjectServiceAccount
        )
    }

    /// Kinds whose row takes a credential away from one project and leaves it whole elsewhere
    /// (an API key's or a service account's assignment): the project is part of what the row
    /// names. Every other kind deletes (all or part of) the credential, whatever the path.
    pub fn unassigns(self) -> bool {
        matches!(self, Kind::ProjectApiKey | Kind::ProjectServiceAccount)
    }

    /// Whether the key is a service account's client id rather than an ObjectId.
    pub fn key_is_client_id(self) -> bool {
        matches!(
            self,
            Kind::ServiceAccount
                | Kind::ServiceAccountSecret
                | Kind::ProjectServiceAccount
                | Kind::ProjectServiceAccountSecret
        )
    }

    /// Whether a row of this kind names a secret id.
    pub fn needs_secret(self) -> bool {
        matches!(
            self,
            Kind::ServiceAccountSecret
                | Kind::ProjectServiceAccountSecret
                | Kind::OrgMcpSecret
                | Kind::ProjectMcpSecret
        )
    }

    /// Whether the key is an MCP configuration's id (`mcpConfigId`) and the secret one of its
    /// ingress service account's secrets.
    pub fn is_mcp(self) -> bool {
        matches!(self, Kind::OrgMcpSecret | Kind::ProjectMcpSecret)
    }

    /// Whether the API at a v1.0 base URL (Cloud Manager, Ops Manager) documents this kind. Cloud
    /// Manager's reference has project service accounts ("Unassign One Service Account from One
    /// Project", "Delete a Project Service Account Secret"); AI model keys are Atlas's alone.
    pub fn on_cloud_manager(self) -> bool {
        !matches!(
            self,
            Kind::AiModelApiKey | Kind::DatabaseUser | Kind::OrgMcpSecret | Kind::ProjectMcpSecret
        )
    }

    /// Whether the Atlas Administration API (v2) documents this kind.
    pub fn on_atlas(self) -> bool {
        !matches!(self, Kind::AgentApiKey | Kind::GlobalApiKey)
    }

    fn code(self) -> u8 {
        self as u8
    }

    /// Position in [`Kind::ALL`], for per-kind counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::parse(s).ok_or_else(|| format!("unknown kind {s:?} (expected {})", Kind::names()))
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A MongoDB ObjectId: 12 bytes, written as 24 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId([u8; 12]);

impl ObjectId {
    /// Parses exactly 24 ASCII hex digits (either case); anything else, including look-alike
    /// characters, separators or percent-encoding, is refused.
    pub fn parse(text: &str) -> Option<ObjectId> {
        let bytes = text.as_bytes();
        if bytes.len() != 24 {
            return None;
        }
        let mut out = [0u8; 12];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Some(ObjectId(out))
    }

    pub fn from_bytes(bytes: [u8; 12]) -> ObjectId {
        ObjectId(bytes)
    }

    pub fn bytes(&self) -> [u8; 12] {
        self.0
    }
}

/// Parses a service account's client id: `mdb_sa_id_` and 24 hex digits. Answers the hex part.
pub fn parse_client_id(text: &str) -> Option<ObjectId> {
    ObjectId::parse(text.strip_prefix(CLIENT_ID_PREFIX)?)
}

/// The longest AI model API key id taken. The spec (`AiModelApiKeyResponse.apiKeyId`,
/// `deleteGroupModelKey`) gives the id no pattern or length, only a 24-character example; ids far
/// longer than that are refused rather than kept without bound.
pub const MAX_MODEL_KEY: usize = 128;

/// Distinct AI model key ids of another shape than the example's, held at most per process.
const MAX_ODD_MODEL_KEYS: usize = 1_000_000;

/// The marker of a model key held by [`odd_model_keys`]: never a letter or digit, so it never
/// starts an id packed into its halves.
const ODD: u8 = 0;

/// Odd AI model key ids: each id's index, and the ids by index.
type OddKeys = std::sync::Mutex<(std::collections::HashMap<String, u64>, Vec<String>)>;

/// AI model key ids that do not fit the two halves of a [`Target`] (not exactly 24 letters and
/// digits), each held once for the life of the process and named by its index in both halves.
fn odd_model_keys() -> &'static OddKeys {
    static KEYS: OnceLock<OddKeys> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

/// Whether `text` is an AI model API key id revoker takes: 1 to [`MAX_MODEL_KEY`] URL-safe
/// characters (RFC 3986 unreserved: letters, digits, `-`, `.`, `_`, `~`), the first a letter or
/// digit, so that the id is always one path segment and never `.` or `..`.
pub fn is_model_key(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_MODEL_KEY
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An AI model API key's id as Atlas lists it (`a86r5kwrfsk5r5ku5tgvhmpj`, the spec's example):
/// see [`is_model_key`]. Answers two halves, which a [`Target`] holds as its key and secret: the
/// id's own bytes when it is 24 letters and digits, else a handle to the id held for the process.
/// Case is kept: these ids are not hex.
pub fn parse_model_key(text: &str) -> Option<(ObjectId, ObjectId)> {
    if !is_model_key(text) {
        return None;
    }
    let bytes = text.as_bytes();
    if bytes.len() == 24 && bytes.iter().all(u8::is_ascii_alphanumeric) {
        let (mut first, mut second) = ([0u8; 12], [0u8; 12]);
        first.copy_from_slice(&bytes[..12]);
        second.copy_from_slice(&bytes[12..]);
        return Some((ObjectId(first), ObjectId(second)));
    }
    hold_odd(text).map(|first| (first, ObjectId([ODD; 12])))
}

/// The longest `databaseName/username` taken: the spec gives neither a length; usernames are
/// distinguished names or ARNs at most a few hundred characters long.
pub const MAX_DB_USER: usize = 512;

/// Parses a database user's key, `databaseName/username` (`deleteDatabaseUser`'s two path
/// parameters): split at the first `/`, since a database name never holds one (`admin` or
/// `$external`) and an OIDC username may. Neither part empty, no control characters. Held by the
/// process like an odd AI model key id, and named by its index in both halves.
pub fn parse_db_user(text: &str) -> Option<(ObjectId, ObjectId)> {
    let (db, user) = text.split_once('/')?;
    let fine = |t: &str| !t.is_empty() && !t.chars().any(char::is_control);
    if !fine(db) || !fine(user) || text.len() > MAX_DB_USER || db == "." || db == ".." {
        return None;
    }
    hold_odd(&format!("\u{1}{text}")).map(|first| (first, ObjectId([ODD; 12])))
}

/// Holds `text` in the process's table of odd ids; its handle.
fn hold_odd(text: &str) -> Option<ObjectId> {
    let mut keys = odd_model_keys()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let index = match keys.0.get(text) {
        Some(i) => *i,
        None if keys.1.len() >= MAX_ODD_MODEL_KEYS => return None,
        None => {
            let i = keys.1.len() as u64;
            keys.1.push(text.to_string());
            keys.0.insert(text.to_string(), i);
            i
        }
    };
    let mut first = [0u8; 12];
    first[0] = ODD;
    first[4..].copy_from_slice(&index.to_be_bytes());
    Some(ObjectId(first))
}

/// The text of an AI model API key's id from its two halves.
fn model_key_text(first: &ObjectId, second: Option<&ObjectId>) -> String {
    if first.0[0] == ODD {
        let mut index = [0u8; 8];
        index.copy_from_slice(&first.0[4..]);
        let keys = odd_model_keys()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        return usize::try_from(u64::from_be_bytes(index))
            .ok()
            .and_then(|i| keys.1.get(i).cloned())
            .unwrap_or_default();
    }
    let mut bytes = first.0.to_vec();
    bytes.extend(second.map_or([0; 12], |s| s.0));
    String::from_utf8_lossy(&bytes).into_owned()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for ObjectId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ObjectId::parse(s).ok_or_else(|| format!("{s:?} is not a 24-hex-digit ObjectId"))
    }
}

impl serde::Serialize for ObjectId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ObjectId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({self})")
    }
}

/// One credential to revoke. Its identity ([`Target::identity`]) is what resume and
/// de-duplication compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub kind: Kind,
    /// The project (project kinds) or the organization (org kinds); [`NO_SCOPE`] for a global key.
    pub scope: ObjectId,
    /// The key's ObjectId, or the hex part of a service account's client id; for an AI model API
    /// key, the first 12 characters of its id.
    pub key: ObjectId,
    /// The secret id of a secret row; for an AI model API key, the last 12 characters of its id.
    pub secret: Option<ObjectId>,
}

/// A row's identity: a 128-bit keyed hash of [`Target`]'s fields, so that sets of millions of rows
/// stay small. The key is random per process (SipHash), so rows cannot be crafted to collide.
pub type Identity = u128;

fn identity_hashers() -> &'static (std::hash::RandomState, std::hash::RandomState) {
    static HASHERS: OnceLock<(std::hash::RandomState, std::hash::RandomState)> = OnceLock::new();
    HASHERS.get_or_init(|| (std::hash::RandomState::new(), std::hash::RandomState::new()))
}

impl Target {
    /// The credential the row acts on: `(kind, key, secret)` — the same credential whatever
    /// project or organization cell the row has — and, for a row that unassigns a credential from
    /// one project ([`Kind::unassigns`]), that project: assignments to two projects are two.
    pub fn identity(&self) -> Identity {
        let mut bytes = [0u8; 38];
        bytes[0] = self.kind.code();
        if self.kind.unassigns() {
            bytes[1..13].copy_from_slice(&self.scope.0);
        }
        bytes[13..25].copy_from_slice(&self.key.0);
        if let Some(secret) = self.secret {
            bytes[25] = 1;
            bytes[26..].copy_from_slice(&secret.0);
        }
        let (a, b) = identity_hashers();
        (u128::from(a.hash_one(bytes)) << 64) | u128::from(b.hash_one(bytes))
    }

    /// A short keyed hash of the cells a row names besides its identity: the project or
    /// organization of a row whose identity does not hold it, and a project row's `org` cell (where
    /// a run with a credential per organization sends it). Two rows of one identity whose cells
    /// differ contradict each other.
    pub fn cells_fingerprint(&self, org: Option<ObjectId>) -> u32 {
        let mut bytes = [0u8; 26];
        if !self.kind.unassigns() {
            bytes[..12].copy_from_slice(&self.scope.0);
        }
        if let Some(org) = org {
            bytes[12] = 1;
            bytes[13..25].copy_from_slice(&org.0);
        }
        let (a, _) = identity_hashers();
        a.hash_one(bytes) as u32
    }

    /// The key as the API names it: an ObjectId, a client id `mdb_sa_id_…`, or an AI model API
    /// key's id.
    pub fn key_text(&self) -> String {
        if self.kind == Kind::DatabaseUser {
            // Held with a mark, so that a database user and a model key of one text differ.
            let text = model_key_text(&self.key, self.secret.as_ref());
            text.strip_prefix('\u{1}').unwrap_or(&text).to_string()
        } else if self.kind == Kind::AiModelApiKey {
            model_key_text(&self.key, self.secret.as_ref())
        } else if self.kind.key_is_client_id() {
            format!("{CLIENT_ID_PREFIX}{}", self.key)
        } else {
            self.key.to_string()
        }
    }

    /// The secret id, or empty (an AI model key's second half is part of its key text).
    pub fn secret_text(&self) -> String {
        match self.secret {
            Some(s) if !matches!(self.kind, Kind::AiModelApiKey | Kind::DatabaseUser) => {
                s.to_string()
            }
            _ => String::new(),
        }
    }

    /// The project or organization as the report writes it; empty for a kind without one.
    pub fn scope_text(&self) -> String {
        if self.kind.scope() == Scope::Global {
            String::new()
        } else {
            self.scope.to_string()
        }
    }

    /// Parses the canonical text of the values, as a report or journal holds them.
    pub fn parse(kind: &str, scope: &str, key: &str, secret: &str) -> Option<Target> {
        let kind = Kind::parse(kind)?;
        let scope = match kind.scope() {
            Scope::Global if scope.is_empty() => NO_SCOPE,
            _ => ObjectId::parse(scope)?,
        };
        if matches!(kind, Kind::AiModelApiKey | Kind::DatabaseUser) {
            let (key, rest) = match kind {
                Kind::DatabaseUser => parse_db_user(key)?,
                _ => parse_model_key(key)?,
            };
            return Some(Target {
                kind,
                scope,
                key,
                secret: Some(rest),
            });
        }
        let key = if kind.key_is_client_id() {
            parse_client_id(key)?
        } else {
            ObjectId::parse(key)?
        };
        let secret = match (kind.needs_secret(), secret) {
            (true, s) => Some(ObjectId::parse(s)?),
            (false, _) => None,
        };
        Some(Target {
            kind,
            scope,
            key,
            secret,
        })
    }
}

impl serde::Serialize for Target {
    /// `{kind, scope, key, secret}` as the report writes them.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Target", 4)?;
        st.serialize_field("kind", self.kind.as_str())?;
        st.serialize_field("scope", &self.scope_text())?;
        st.serialize_field("key", &self.key_text())?;
        st.serialize_field("secret", &self.secret_text())?;
        st.end()
    }
}

impl fmt::Display for Target {
    /// `kind scope key[ secret]`, as log lines name a row.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind.scope() {
            Scope::Global => write!(f, "{} {}", self.kind, self.key_text())?,
            _ => write!(f, "{} {} {}", self.kind, self.scope, self.key_text())?,
        }
        let secret = self.secret_text();
        if !secret.is_empty() {
            write!(f, " {secret}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_exactly_24_hex_digits() {
        let id = ObjectId::parse("5F1B2C3D4E5F6A7B8C9D0E1F").unwrap();
        assert_eq!(id.to_string(), "5f1b2c3d4e5f6a7b8c9d0e1f");
        for bad in [
            "",
            "5f1b2c3d4e5f6a7b8c9d0e1",
            "5f1b2c3d4e5f6a7b8c9d0e1f0",
            "5f1b2c3d4e5f6a7b8c9d0e1g",
            "../../../../../../etc/pa",
            "5f1b2c3d4e5f6a7b8c9d%2F",
            "5f1b2c3d4e5f6a7b8c9d0e1ｆ",
            "5f1b2c3d4e5f 6a7b8c9d0e1",
        ] {
            assert!(ObjectId::parse(bad).is_none(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn client_ids_need_their_prefix() {
        let id = parse_client_id("mdb_sa_id_1234567890abcdef12345678").unwrap();
        assert_eq!(id.to_string(), "1234567890abcdef12345678");
        for bad in [
            "1234567890abcdef12345678",
            "MDB_SA_ID_1234567890abcdef12345678",
            "mdb_sa_id_1234567890abcdef1234567",
            "mdb_sa_id_1234567890abcdef12345678x",
        ] {
            assert!(parse_client_id(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn kind_aliases_map_to_canonical_names() {
        let cases = [
            (
                Kind::ProjectApiKey,
                &[
                    "apiKey",
                    "API-KEY",
                    "project_api_key",
                    "programmatic",
                    "project-api-key",
                ][..],
            ),
            (
                Kind::AgentApiKey,
                &["agentApiKey", "agent", "agent_api_key", " Agent-Api-Key "],
            ),
            (
                Kind::OrgApiKey,
                &["orgApiKey", "ORG_API_KEY", "organization-api-key"],
            ),
            (
                Kind::ServiceAccount,
                &["serviceAccount", "service_account", "Service-Account"],
            ),
            (
                Kind::ServiceAccountSecret,
                &["serviceAccountSecret", "service_account_secret"],
            ),
        ];
        for (kind, aliases) in cases {
            for alias in aliases {
                assert_eq!(Kind::parse(alias), Some(kind), "{alias}");
            }
        }
        assert_eq!(Kind::parse("user"), None);
        assert_eq!(
            Kind::names(),
            "project-api-key, agent-api-key, org-api-key, service-account, service-account-secret, project-service-account, project-service-account-secret, ai-model-api-key, global-api-key, org-mcp-secret, project-mcp-secret or database-user"
        );
    }

    #[test]
    fn identity_distinguishes_every_field() {
        let a = ObjectId::parse("000000000000000000000001").unwrap();
        let b = ObjectId::parse("000000000000000000000002").unwrap();
        let t = |kind, scope, key, secret| {
            Target {
                kind,
                scope,
                key,
                secret,
            }
            .identity()
        };
        let all = [
            t(Kind::ProjectApiKey, a, b, None),
            t(Kind::AgentApiKey, a, b, None),
            t(Kind::ProjectApiKey, b, a, None),
            t(Kind::ProjectApiKey, a, a, None),
            t(Kind::ServiceAccountSecret, a, b, Some(a)),
            t(Kind::ServiceAccountSecret, a, b, Some(b)),
        ];
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                assert_ne!(all[i], all[j]);
            }
        }
        assert_eq!(
            t(Kind::OrgApiKey, a, b, None),
            t(Kind::OrgApiKey, a, b, None)
        );
        // One credential whatever its cell; an assignment is the project's.
        assert_eq!(
            t(Kind::OrgApiKey, a, b, None),
            t(Kind::OrgApiKey, b, b, None)
        );
        assert_eq!(
            t(Kind::ProjectServiceAccountSecret, a, b, Some(a)),
            t(Kind::ProjectServiceAccountSecret, b, b, Some(a))
        );
        assert_ne!(
            t(Kind::ProjectServiceAccount, a, b, None),
            t(Kind::ProjectServiceAccount, b, b, None)
        );
    }

    #[test]
    fn targets_round_trip_through_their_text() {
        let t = Target::parse(
            "serviceAccountSecret",
            "5f1b2c3d4e5f6a7b8c9d0e1f",
            "mdb_sa_id_1234567890abcdef12345678",
            "aaaaaaaaaaaaaaaaaaaaaaaa",
        )
        .unwrap();
        assert_eq!(t.key_text(), "mdb_sa_id_1234567890abcdef12345678");
        assert_eq!(
            Target::parse(
                t.kind.as_str(),
                &t.scope.to_string(),
                &t.key_text(),
                &t.secret_text()
            ),
            Some(t)
        );
        assert!(
            Target::parse(
                "service-account-secret",
                "5f1b2c3d4e5f6a7b8c9d0e1f",
                "mdb_sa_id_1234567890abcdef12345678",
                ""
            )
            .is_none()
        );
    }
}

#[cfg(test)]
mod new_kinds {
    use super::*;

    #[test]
    fn an_ai_model_key_and_a_global_key_round_trip_through_their_text() {
        let t = Target::parse(
            "Voyage AI API Key",
            "5f1b2c3d4e5f6a7b8c9d0e1f",
            "a86r5kwrfsk5r5ku5tgvhmpj",
            "",
        )
        .unwrap();
        assert_eq!(t.kind, Kind::AiModelApiKey);
        assert_eq!(t.key_text(), "a86r5kwrfsk5r5ku5tgvhmpj");
        assert_eq!(t.secret_text(), "");
        assert_eq!(
            t.to_string(),
            "ai-model-api-key 5f1b2c3d4e5f6a7b8c9d0e1f a86r5kwrfsk5r5ku5tgvhmpj"
        );
        for bad in [
            "",
            ".",
            "..",
            "-a",
            "a86r5kwrfsk5r5ku5tgvhmp/",
            "a86r5kwrfsk5r5ku5tgvhmp%2F",
            "a b",
            "ключ",
            &"a".repeat(MAX_MODEL_KEY + 1),
        ] {
            assert!(parse_model_key(bad).is_none(), "{bad}");
        }
        // Ids of another shape than the example's are taken, their case kept, and round-trip.
        for odd in [
            "a86r5kwrfsk5r5ku5tgvhmp",
            "a86r5kwrfsk5r5ku5tgvhmpjj",
            "voyage-key_01.prod~x",
            "VOYAGE-key_01.prod~x",
        ] {
            let t = Target::parse("ai-model-api-key", "5f1b2c3d4e5f6a7b8c9d0e1f", odd, "").unwrap();
            assert_eq!(t.key_text(), odd);
            let again =
                Target::parse("ai-model-api-key", "5f1b2c3d4e5f6a7b8c9d0e1f", odd, "").unwrap();
            assert_eq!(t, again);
        }
        let (a, b) = (
            Target::parse(
                "ai-model-api-key",
                "5f1b2c3d4e5f6a7b8c9d0e1f",
                "voyage-key_01.prod~x",
                "",
            ),
            Target::parse(
                "ai-model-api-key",
                "5f1b2c3d4e5f6a7b8c9d0e1f",
                "VOYAGE-key_01.prod~x",
                "",
            ),
        );
        assert_ne!(a, b);
        let g = Target::parse("global-api-key", "", "aaaaaaaaaaaaaaaaaaaaaaaa", "").unwrap();
        assert_eq!((g.scope, g.scope_text()), (NO_SCOPE, String::new()));
        assert_eq!(g.to_string(), "global-api-key aaaaaaaaaaaaaaaaaaaaaaaa");
        assert!(
            Kind::GlobalApiKey.is_destructive() && !Kind::ProjectServiceAccount.is_destructive()
        );
        assert!(!Kind::AiModelApiKey.on_cloud_manager() && !Kind::GlobalApiKey.on_atlas());
    }
}

#[cfg(test)]
mod kind_names {
    use super::Kind;

    #[test]
    fn kinds_as_exports_spell_them() {
        for (text, kind) in [
            ("Project API Key", Kind::ProjectApiKey),
            ("projectApiKey", Kind::ProjectApiKey),
            ("API Key", Kind::ProjectApiKey),
            ("PROGRAMMATIC", Kind::ProjectApiKey),
            ("Service Account", Kind::ServiceAccount),
            ("service_account_secret", Kind::ServiceAccountSecret),
            ("organization", Kind::OrgApiKey),
            ("agent-key", Kind::AgentApiKey),
        ] {
            assert_eq!(Kind::parse(text), Some(kind), "{text}");
        }
        assert_eq!(Kind::parse("servce acount"), None);
        assert_eq!(Kind::nearest("servce acount"), Some(Kind::ServiceAccount));
        assert_eq!(Kind::nearest("banana"), None);
    }
}
