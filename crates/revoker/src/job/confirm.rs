//! What the question on a terminal asks to be typed, as aws-nuke asks for the account alias: `yes`
//! for an ordinary run; the organization's name when the run deletes credentials (the destructive
//! kinds) in one organization; the number of credentials when it acts in more than one
//! organization (or deletes Ops Manager global keys, which are in none); and the names of the
//! organizations and projects matching the job's `guard_names` whenever it acts in one. A
//! project's organization is its row's `org` cell, else (when the run deletes credentials or
//! names are guarded) what `GET /groups/{id}` says; names come from `GET /orgs/{id}` and
//! `GET /groups/{id}`, read only when the question is asked. A name that cannot be read is
//! replaced by `organization <id>`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::engine::Context;
use crate::engine::read::{ProjectOrg, get, project_org, spec};
use crate::guard::{Guard, Verdict, name_guarded};
use crate::input::{Kind, ObjectId, Scope};
use crate::job::{Failure, PreparedJob};

/// What must be typed, and why, for the question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub answer: String,
    /// `the organization's name`, …: what the question calls it.
    pub what: String,
}

impl Expected {
    pub fn yes() -> Expected {
        Expected {
            answer: "yes".into(),
            what: "yes".into(),
        }
    }
}

#[derive(serde::Deserialize, Default)]
struct Named {
    #[serde(default)]
    name: Option<String>,
}

/// The scopes the rows the run will send are in.
#[derive(Default)]
struct Reach {
    orgs: BTreeSet<ObjectId>,
    projects: BTreeSet<ObjectId>,
    cells: BTreeMap<ObjectId, ObjectId>,
    global: bool,
}

fn reach(job: &PreparedJob, guard: &Guard) -> Result<Reach, Failure> {
    let mut reach = Reach::default();
    job.source.scan(&job.opts, &mut |entry| {
        let Ok(t) = entry.target else {
            return ControlFlow::Continue(());
        };
        if !matches!(
            guard.decide_at(&t, entry.org),
            Verdict::Send | Verdict::OwnLast
        ) {
            return ControlFlow::Continue(());
        }
        match t.kind.scope() {
            Scope::Org => {
                reach.orgs.insert(t.scope);
            }
            Scope::Project => {
                reach.projects.insert(t.scope);
                if let Some(org) = entry.org {
                    reach.cells.insert(t.scope, org);
                }
            }
            Scope::Global => reach.global = true,
        }
        ControlFlow::Continue(())
    })?;
    Ok(reach)
}

async fn name_of(ctx: &Arc<Context>, scope: Scope, id: ObjectId) -> String {
    let text = id.to_string();
    let (segments, kind, what) = match scope {
        Scope::Org => (["orgs", text.as_str()], Kind::OrgApiKey, "organization"),
        _ => (["groups", text.as_str()], Kind::ProjectApiKey, "project"),
    };
    match get::<Named>(ctx, id, &spec(ctx, &segments, kind, false), 1).await {
        Ok(Named { name: Some(name) }) if !name.trim().is_empty() => name,
        _ => format!("{what} {id}"),
    }
}

/// What the question asks to be typed for a run revoking `revocations` credentials, `destructive`
/// when any of its kinds deletes the credential itself.
pub async fn expected(
    job: &PreparedJob,
    ctx: &Arc<Context>,
    guard: &Guard,
    (revocations, destructive): (u64, bool),
) -> Result<Expected, Failure> {
    let patterns = &job.settings.run.protect.guard_names;
    let mut reach = reach(job, guard)?;
    // Unassignments alone ask nothing more before the question: their organizations are those
    // their rows name (an `org` cell).
    let ask = destructive || !patterns.is_empty();
    for p in reach.projects.clone() {
        let org = match reach.cells.get(&p) {
            Some(org) => Some(*org),
            None if ask => match project_org(ctx, p).await {
                ProjectOrg::Org(org) => Some(org),
                _ => None,
            },
            None => None,
        };
        reach.orgs.extend(org);
    }
    let mut guarded = Vec::new();
    if !patterns.is_empty() {
        for (scope, ids) in [(Scope::Org, &reach.orgs), (Scope::Project, &reach.projects)] {
            for id in ids.iter() {
                let name = name_of(ctx, scope, *id).await;
                if name_guarded(patterns, &name) {
                    guarded.push(name);
                }
            }
        }
    }
    Ok(if !guarded.is_empty() {
        Expected {
            what: format!(
                "the guarded name{}",
                if guarded.len() == 1 {
                    ""
                } else {
                    "s, joined by ', '"
                }
            ),
            answer: guarded.join(", "),
        }
    } else if reach.orgs.len() > 1 || (destructive && reach.global) {
        Expected {
            answer: revocations.to_string(),
            what: "the number of credentials to revoke".into(),
        }
    } else if let (true, Some(org)) = (destructive, reach.orgs.first()) {
        Expected {
            answer: name_of(ctx, Scope::Org, *org).await,
            what: "the organization's name".into(),
        }
    } else {
        Expected::yes()
    })
}
