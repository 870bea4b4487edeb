//! A project's service-account secret is its organization's account's secret, reached through the
//! project while the account is assigned there. Unassigning the account ("the Service Account will
//! still be a part of the Organization it was created in, and the credentials will remain active
//! until expired or manually revoked": `deleteGroupServiceAccount`; Cloud Manager's "Unassign One
//! Service Account from One Project") leaves the secret alive and out of the project's reach, where
//! `DELETE /groups/{p}/serviceAccounts/{c}/secrets/{s}` (`deleteGroupSecret`) then answers 404.
//!
//! So a run sends a project's secrets before their account's unassignment in that project, and a
//! 404 through the project is never `not_found`: the secret is deleted through its organization
//! (`deleteOrgSecret`) when the run may delete organization secrets and can learn the project's
//! organization (`GET /groups/{id}` → `orgId`); otherwise the row is left unfinished, saying why.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use super::{Context, go_ahead};
use crate::api::Answer;
use crate::engine::read::ProjectOrg;
use crate::input::{Kind, ObjectId, Target};

/// What the run knows of its project secrets.
pub(super) struct ProjectSecrets {
    /// `(project, client)` of the project secrets the run sends.
    accounts: HashSet<(ObjectId, ObjectId)>,
    /// `service-account-secret` is allowed: the organization path may be taken.
    org_allowed: bool,
    /// Each project's organization, once asked (or why it could not be learned).
    orgs: Mutex<HashMap<ObjectId, Result<ObjectId, String>>>,
}

/// What the organization path made of a row.
pub(super) struct Through {
    pub answer: Answer,
    /// Requests sent after the project's (none when the path was not taken).
    pub sent: u32,
    /// What the row's message starts with: what the project's 404 showed and what came of it.
    pub note: String,
}

impl ProjectSecrets {
    pub(super) fn new(accounts: HashSet<(ObjectId, ObjectId)>, org_allowed: bool) -> Self {
        ProjectSecrets {
            accounts,
            org_allowed,
            orgs: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `target` unassigns an account whose secrets in that project the run also deletes:
    /// it goes after them.
    pub(super) fn unassigns_later(&self, target: &Target) -> bool {
        target.kind == Kind::ProjectServiceAccount
            && self.accounts.contains(&(target.scope, target.key))
    }

    /// After a project secret's not-found through its project: the organization's answer, or the
    /// row left unfinished. `None` for any other row or answer.
    pub(super) async fn through_org(
        &self,
        ctx: &Arc<Context>,
        target: &Target,
        answer: &Answer,
    ) -> Option<Through> {
        if target.kind != Kind::ProjectServiceAccountSecret
            || !matches!(answer, Answer::NotFound { .. })
        {
            return None;
        }
        let seen = format!(
            "{} through project {}, which shows only that the project no longer reaches the account: its secret may be active in its organization",
            answer.described(),
            target.scope
        );
        let left = |why: String| Through {
            answer: Answer::Rejected {
                status: answer.http_status().unwrap_or(404),
                code: answer.error_code().to_string(),
                detail: format!("{seen}; {why}"),
            },
            sent: 0,
            note: String::new(),
        };
        if !self.org_allowed {
            return Some(left(
                "allow organization secrets (--kinds +service-account-secret) to delete it there"
                    .into(),
            ));
        }
        let org = match self.org_of(ctx, target.scope).await {
            Ok(org) => org,
            Err(why) => return Some(left(format!("its organization is not known ({why})"))),
        };
        let in_org = Target {
            kind: Kind::ServiceAccountSecret,
            scope: org,
            ..*target
        };
        let Some(dispatch) = go_ahead(ctx, org).await else {
            return Some(left(
                "the run stopped before its organization was asked".into(),
            ));
        };
        let (answer, attempted) =
            super::attempt::revoke_with_retries(ctx, org, dispatch, &in_org).await;
        Some(Through {
            answer,
            sent: attempted.sent,
            note: format!("{seen}; so sent through its organization {org}"),
        })
    }

    /// The organization of `project`, asked once.
    async fn org_of(&self, ctx: &Arc<Context>, project: ObjectId) -> Result<ObjectId, String> {
        if let Some(known) = self.lock().get(&project) {
            return known.clone();
        }
        let org = match crate::engine::read::project_org(ctx, project).await {
            ProjectOrg::Org(org) => Ok(org),
            ProjectOrg::Gone => Err("the project itself is gone".into()),
            ProjectOrg::Unknown(why) | ProjectOrg::NotInGroup(why) => Err(why),
        };
        self.lock().insert(project, org.clone());
        org
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectId, Result<ObjectId, String>>> {
        self.orgs.lock().unwrap_or_else(|p| p.into_inner())
    }
}
