//! The census: every credential-bearing object the run's credential can list, per organization
//! and project — organization API keys (with the projects their roles name), service accounts
//! (system-managed ones included and marked) with their secrets, project service accounts, AI
//! model keys, MCP configuration secrets, agent keys (Cloud Manager), global keys (Ops Manager)
//! and database users — with their dates and last use. Each is a row in an input's columns
//! (`project, org, key, secret, kind`), so that a census row can become a revocation row; what
//! this build cannot revoke is a row of a kind `run` does not take, marked `revocable = no`. What
//! could not be listed is named, never left out silently.

pub mod read;
pub mod write;

use std::collections::BTreeMap;

use crate::input::{Kind, ObjectId, Scope, Target};

/// What a census row names that this build cannot revoke: database users. (Another build may
/// have a `database-user` kind; this one does not.)
pub const DATABASE_USER: &str = "database-user";

/// The note of a row this build cannot revoke.
pub const CANNOT_REVOKE: &str = "cannot revoke in this build";

/// One listed object.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Row {
    pub project: String,
    pub org: String,
    pub key: String,
    pub secret: String,
    pub kind: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: String,
    /// `yes` for a system-managed service account (or a secret of one).
    pub system_managed: String,
    /// `yes` when `run` takes the row as it is.
    pub revocable: String,
    /// The projects an organization key's roles name, `;`-separated; why a row cannot be revoked.
    pub note: String,
}

impl Row {
    /// The row of a credential revoker has a kind for.
    pub fn of(target: &Target) -> Row {
        let scope = target.scope_text();
        let (project, org) = match target.kind.scope() {
            Scope::Org => (String::new(), scope),
            _ => (scope, String::new()),
        };
        Row {
            project,
            org,
            key: target.key_text(),
            secret: target.secret_text(),
            kind: target.kind.to_string(),
            revocable: "yes".into(),
            ..Row::default()
        }
    }

    /// The row of an object of a project that this build cannot revoke.
    pub fn unrevocable(kind: &str, project: ObjectId, key: String) -> Row {
        Row {
            project: project.to_string(),
            key,
            kind: kind.to_string(),
            revocable: "no".into(),
            note: CANNOT_REVOKE.into(),
            ..Row::default()
        }
    }

    /// The target `run` would read from this row.
    pub fn target(&self) -> Option<Target> {
        let scope = if self.project.is_empty() {
            &self.org
        } else {
            &self.project
        };
        Target::parse(&self.kind, scope, &self.key, &self.secret)
    }
}

/// A date as the census writes it: RFC 3339, or empty.
pub fn date(d: &crate::select::read::Date) -> String {
    match d {
        crate::select::read::Date::At(t) => t.to_string(),
        crate::select::read::Date::Unreadable(raw) => format!("unreadable {raw}"),
        crate::select::read::Date::Absent => String::new(),
    }
}

/// What a census found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Census {
    pub rows: Vec<Row>,
    /// Organizations and projects read.
    pub orgs: u64,
    pub projects: u64,
    /// Lists that could not be read, and why: the census is incomplete.
    pub problems: Vec<String>,
    /// Requests sent (pages, retries included).
    pub requests: u64,
    pub elapsed_ms: u64,
}

/// Per kind: how many, how many never used, how many system-managed, whether revocable.
#[derive(Debug, Default, PartialEq, serde::Serialize)]
pub struct Count {
    pub listed: u64,
    pub never_used: u64,
    pub system_managed: u64,
    pub revocable: bool,
}

impl Census {
    /// The counts per kind, in kind order (kinds this build cannot revoke last).
    pub fn counts(&self) -> BTreeMap<(u8, String), Count> {
        let mut out: BTreeMap<(u8, String), Count> = BTreeMap::new();
        for r in &self.rows {
            let order = Kind::parse(&r.kind).map_or(u8::MAX, |k| k.index() as u8);
            let c = out.entry((order, r.kind.clone())).or_default();
            c.listed += 1;
            c.revocable = r.revocable == "yes";
            let used = r.last_used_at.is_empty();
            let dated = r.kind.ends_with("secret") || r.kind == Kind::AiModelApiKey.as_str();
            c.never_used += u64::from(used && dated);
            c.system_managed += u64::from(r.system_managed == "yes");
        }
        out
    }

    /// The summary table the terminal shows.
    pub fn table(&self) -> String {
        let mut lines = vec![format!(
            "{:<32} {:>8} {:>11} {:>15}  revocable",
            "kind", "listed", "never used", "system-managed"
        )];
        for ((_, kind), c) in self.counts() {
            lines.push(format!(
                "{kind:<32} {:>8} {:>11} {:>15}  {}",
                c.listed,
                c.never_used,
                c.system_managed,
                if c.revocable { "yes" } else { CANNOT_REVOKE }
            ));
        }
        lines.push(format!(
            "{} in {} and {} with {} in {:.1} s",
            crate::text::plural(self.rows.len() as u64, "object", "objects"),
            crate::text::plural(self.orgs, "organization", "organizations"),
            crate::text::plural(self.projects, "project", "projects"),
            crate::text::plural(self.requests, "request", "requests"),
            self.elapsed_ms as f64 / 1000.0
        ));
        for p in &self.problems {
            lines.push(format!("not listed: {p} (the census is incomplete)"));
        }
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_of_a_kind_reads_back_as_its_target_and_one_of_no_kind_as_none() {
        let t = Target::parse(
            "org-mcp-secret",
            &"5e".repeat(12),
            &"6a".repeat(12),
            &"7b".repeat(12),
        )
        .unwrap();
        let row = Row::of(&t);
        assert_eq!(
            (row.org.as_str(), row.project.as_str()),
            (t.scope_text().as_str(), "")
        );
        assert_eq!(row.target(), Some(t));
        let user = Row::unrevocable(DATABASE_USER, ObjectId::from_bytes([1; 12]), "app".into());
        assert_eq!(user.target(), None);
        assert_eq!(user.note, CANNOT_REVOKE);
    }
}
