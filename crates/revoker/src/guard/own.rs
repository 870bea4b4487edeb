//! The credential a run stands on. A row naming it, sent in file order, would cut the run off
//! mid-way: every row after it refused, a "credentials rejected" stop, and a resume line that can
//! never work. By default such a row is `invalid` with a message saying how to allow it; when
//! allowed by name (`--allow-own-credential`), it is sent last, after every other row has
//! finished, and the run says the credential is now gone.
//!
//! Every kind that deletes the credential or part of it is covered: a service account by its
//! client id (the account, and any of its secrets by either path: which secret the run holds is
//! not known); an API key by its id, whether it is an organization key (`org-api-key`) or an Ops
//! Manager global key (`global-api-key`). A service account's client id is known from the
//! credential itself. An API key's id is not (the credential holds its public key): it is learned
//! from the key lists the input's rows name — `GET /admin/apiKeys` for `global-api-key` rows, the
//! organizations' lists for `org-api-key` rows — whose items carry `publicKey`. Unassigning the
//! run's own key or account from one project (`project-api-key`, `project-service-account`) only
//! loses that project, and is sent in order.

use std::collections::BTreeSet;

use crate::input::{Kind, ObjectId, Target, parse_client_id};

/// What the run signs in with, as rows would name it.
#[derive(Clone, Debug, Default)]
pub struct Own {
    /// The service account's client id (its ObjectId part).
    pub client: Option<ObjectId>,
    /// The API key's id, when it could be learned.
    pub api_key: Option<ObjectId>,
    /// `API key …` / `service account …`, for messages.
    pub identity: String,
    /// For an API key whose id was not found: the key lists that could hold it and could not be
    /// read whole (an organization, or `NO_SCOPE` for the global list). A row deleting a key there
    /// may be this one: it is never sent as if it were not.
    pub unread: BTreeSet<ObjectId>,
}

impl Own {
    /// The service account of a client id, or nothing for an API key (whose id is learned).
    pub fn of(client_id: Option<&str>, identity: String) -> Own {
        Own {
            client: client_id.and_then(parse_client_id),
            api_key: None,
            identity,
            unread: BTreeSet::new(),
        }
    }

    /// Why revoking `target` may revoke this credential though its id is not known: the list that
    /// would have told could not be read.
    pub fn undecided(&self, target: &Target) -> Option<String> {
        let kind = matches!(target.kind, Kind::OrgApiKey | Kind::GlobalApiKey);
        if !kind || self.api_key.is_some() || !self.unread.contains(&target.scope) {
            return None;
        }
        Some(format!(
            "this row may be the credential this run signs in with ({}): the key list that would tell could not be read, so its id is not known; not sent, even with --allow-own-credential (run again when the list can be read)",
            self.identity
        ))
    }

    /// Whether revoking `target` revokes (all or part of) this credential.
    pub fn matches(&self, target: &Target) -> bool {
        match target.kind {
            Kind::ServiceAccount
            | Kind::ServiceAccountSecret
            | Kind::ProjectServiceAccountSecret => self.client == Some(target.key),
            Kind::OrgApiKey | Kind::GlobalApiKey => self.api_key == Some(target.key),
            // Unassigning it from one project loses that project only, as the run goes on.
            Kind::ProjectApiKey
            | Kind::AgentApiKey
            | Kind::ProjectServiceAccount
            | Kind::AiModelApiKey
            | Kind::DatabaseUser => false,
            // An MCP configuration's ingress service account signs in to the Remote MCP server,
            // not to the Administration API this run calls.
            Kind::OrgMcpSecret | Kind::ProjectMcpSecret => false,
        }
    }

    /// Why a row naming it is not sent.
    pub fn refusal(&self) -> String {
        format!(
            "this row is the credential this run signs in with ({}): revoking it mid-run would stop the run; pass --allow-own-credential (allow_own_credential = true in a job) to revoke it last",
            self.identity
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_account_knows_itself_and_its_secrets() {
        let own = Own::of(
            Some("mdb_sa_id_5e00000000000000000000aa"),
            "service account".into(),
        );
        let id = parse_client_id("mdb_sa_id_5e00000000000000000000aa").unwrap();
        let row = |kind| Target {
            kind,
            scope: ObjectId::from_bytes([1; 12]),
            key: id,
            secret: (kind == Kind::ServiceAccountSecret).then(|| ObjectId::from_bytes([2; 12])),
        };
        assert!(own.matches(&row(Kind::ServiceAccount)));
        assert!(own.matches(&row(Kind::ServiceAccountSecret)));
        assert!(!own.matches(&row(Kind::OrgApiKey)));
    }
}
