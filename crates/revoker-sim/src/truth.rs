//! The simulator's ground truth, `GET /__sim/state` (loopback clients only): what exists now, what
//! was destroyed, when, by which credential and through which path, and every DELETE a credential
//! sent. Only tests read it; revoker never does. One JSON object:
//!
//! ```json
//! {
//!   "credentials": [
//!     {"kind": "org-api-key", "scope": "6a…", "org": "6a…", "key": "6b…", "secret": null,
//!      "projects": ["5e…"]},
//!     {"kind": "project-api-key", "scope": "5e…", "org": "6a…", "key": "6b…", "secret": null},
//!     {"kind": "service-account-secret", "scope": "6a…", "org": "6a…",
//!      "key": "mdb_sa_id_…", "secret": "7c…"}
//!   ],
//!   "deletions": [
//!     {"at": "2026-01-01T00:00:00.123Z", "at_ms": 1767225600123, "by": "simpublic",
//!      "path": "/api/public/v1.0/orgs/6a…/apiKeys/6b…",
//!      "target": {"kind": "org-api-key", …},
//!      "destroyed": [{"kind": "org-api-key", …}, {"kind": "project-api-key", …}]}
//!   ],
//!   "deletes_sent": [
//!     {"at": "…", "at_ms": …, "by": "simpublic", "path": "/api/public/v1.0/…", "status": 200}
//!   ]
//! }
//! ```
//!
//! - `credentials`: one entry per credential or assignment the simulator holds, sorted. `kind` is
//!   the kind's name (`project-api-key` is an organization key's assignment to the project in
//!   `scope`); `scope` the project or organization of its path (empty for a global key); `org` the
//!   organization that owns it (the scope itself for organization kinds, the project's
//!   organization otherwise, `null` for a global key); `key` the id as the API writes it (a
//!   client id with its `mdb_sa_id_` prefix, an AI model key's id as is, ObjectIds in lower case);
//!   `secret` a secret's id. An `org-api-key` lists the `projects` it is assigned to.
//! - `deletions`: each DELETE that destroyed something, in order: `by` is the acting credential's
//!   public key or client id, `path` the request's path, `target` what the path named, `destroyed`
//!   everything it took with it (an organization key takes its assignments; a service account its
//!   secrets). A lost answer (`--fault lost-answer`) is here: the DELETE took effect.
//! - `deletes_sent`: every authenticated DELETE received, whatever it found or was answered, with
//!   the status sent (`null` when the connection was closed instead).

use serde::{Deserialize, Serialize};

/// One credential (or assignment) the simulator holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Credential {
    pub kind: String,
    /// The project or organization of its path; empty for a global key.
    pub scope: String,
    /// The organization that owns it; `None` for a global key.
    pub org: Option<String>,
    pub key: String,
    pub secret: Option<String>,
    /// For an `org-api-key`: the projects it is assigned to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<String>,
}

impl Credential {
    /// Whether this is `kind` at `scope`, `key` (and `secret`): ids compared as the API does
    /// (ObjectIds and client ids in any case, AI model key ids exactly).
    pub fn is(&self, kind: &str, scope: &str, key: &str, secret: Option<&str>) -> bool {
        self.kind == kind
            && self.scope.eq_ignore_ascii_case(scope)
            && same_key(&self.kind, &self.key, key)
            && match (&self.secret, secret) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (None, None) => true,
                _ => false,
            }
    }
}

/// Whether two spellings name the same key of `kind`.
pub fn same_key(kind: &str, a: &str, b: &str) -> bool {
    if kind == "ai-model-api-key" {
        a == b
    } else {
        a.eq_ignore_ascii_case(b)
    }
}

/// A DELETE that destroyed something.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    /// RFC 3339, milliseconds, UTC.
    pub at: String,
    pub at_ms: i64,
    /// The acting credential: a public key or a client id.
    pub by: String,
    pub path: String,
    pub target: Credential,
    pub destroyed: Vec<Credential>,
}

/// A DELETE an authenticated credential sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentDelete {
    pub at: String,
    pub at_ms: i64,
    pub by: String,
    pub path: String,
    /// The status answered (inside an envelope, the inner one); `None`: the connection was closed.
    pub status: Option<u16>,
}

/// `GET /__sim/state`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    pub credentials: Vec<Credential>,
    pub deletions: Vec<Deletion>,
    pub deletes_sent: Vec<SentDelete>,
    /// Database users held now: `(project, databaseName, username)`, sorted.
    #[serde(default)]
    pub database_users: Vec<(String, String, String)>,
}

impl Truth {
    /// Whether the credential exists now.
    pub fn exists(&self, kind: &str, scope: &str, key: &str, secret: Option<&str>) -> bool {
        self.credentials
            .iter()
            .any(|c| c.is(kind, scope, key, secret))
    }

    /// Whether anything with this key (any kind, scope or secret) exists now.
    pub fn holds_key(&self, key: &str) -> bool {
        self.credentials
            .iter()
            .any(|c| same_key(&c.kind, &c.key, key))
    }

    /// The deletion that destroyed the credential, if one did.
    pub fn deleted_by(
        &self,
        kind: &str,
        scope: &str,
        key: &str,
        secret: Option<&str>,
    ) -> Option<&Deletion> {
        self.deletions
            .iter()
            .find(|d| d.destroyed.iter().any(|c| c.is(kind, scope, key, secret)))
    }

    /// Everything destroyed, with the deletion that destroyed it.
    pub fn destroyed(&self) -> impl Iterator<Item = (&Deletion, &Credential)> {
        self.deletions
            .iter()
            .flat_map(|d| d.destroyed.iter().map(move |c| (d, c)))
    }

    /// The organization that owns project `project` in the simulator, as far as its credentials
    /// (live or destroyed) say.
    pub fn org_of(&self, scope: &str) -> Option<&str> {
        self.credentials
            .iter()
            .chain(self.destroyed().map(|(_, c)| c))
            .find(|c| c.scope.eq_ignore_ascii_case(scope))
            .and_then(|c| c.org.as_deref())
    }
}

/// Now, as `(RFC 3339 with milliseconds, Unix milliseconds)`.
pub(crate) fn now() -> (String, i64) {
    let now = jiff::Timestamp::now();
    (
        now.strftime("%Y-%m-%dT%H:%M:%S.%3fZ").to_string(),
        now.as_millisecond(),
    )
}
