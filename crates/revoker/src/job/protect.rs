//! Protected organizations and projects, before anything is sent: the organization of every
//! project row without an `org` cell is learned (from the lanes, else `GET /groups/{id}`), the
//! guard is given them, and a run, plan or selection with any row the guard finds protected is
//! refused with exit 2, every such row named.

use std::collections::{BTreeSet, HashMap};
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::engine::read::ProjectOrg;
use crate::guard::{Guard, Home, Protect, Verdict};
use crate::input::{InputOptions, ObjectId, Scope, Source};
use crate::job::Failure;
use crate::job::lanes::Lanes;

/// The refusal naming every protected row (`file:line: row: why`).
pub fn refusal(rows: &[String]) -> Failure {
    Failure::usage(format!(
        "{} {} a protected organization or project; nothing was sent (remove {} from the input, or the protection):\n  {}",
        rows.len(),
        if rows.len() == 1 {
            "row touches"
        } else {
            "rows touch"
        },
        if rows.len() == 1 { "it" } else { "them" },
        rows.join("\n  ")
    ))
}

/// `guard` with the run's protections and the organizations of its project rows learned; refuses
/// (exit 2) when any valid row is protected.
pub async fn check(
    protect: &Arc<Protect>,
    (source, opts): (&Source, &InputOptions),
    lanes: &Lanes,
    guard: Guard,
) -> Result<Guard, Failure> {
    if protect.is_empty() {
        return Ok(guard);
    }
    let homes = learn_homes(protect, (source, opts), lanes).await?;
    let guard = guard.protecting(protect.clone(), homes);
    let mut refused = Vec::new();
    source.scan(opts, &mut |entry| {
        if let Ok(target) = &entry.target
            && let Verdict::Protected(why) = guard.decide_at(target, entry.org)
        {
            refused.push(format!("{}: {target}: {why}", source.place(entry.line)));
        }
        ControlFlow::Continue(())
    })?;
    if refused.is_empty() {
        Ok(guard)
    } else {
        Err(refusal(&refused))
    }
}

/// The organization of each project row whose project is not itself protected, as the API says
/// it: an `org` cell (or what routing took from one) is the export's word, and a wrong one must
/// not carry a row of a protected organization past the guard.
async fn learn_homes(
    protect: &Protect,
    (source, opts): (&Source, &InputOptions),
    lanes: &Lanes,
) -> Result<HashMap<ObjectId, Home>, Failure> {
    let ids: BTreeSet<ObjectId> = protect.ids().copied().collect();
    let mut wanted = BTreeSet::new();
    source.scan(opts, &mut |entry| {
        if let Ok(t) = &entry.target
            && t.kind.scope() == Scope::Project
            && !ids.contains(&t.scope)
        {
            wanted.insert(t.scope);
        }
        ControlFlow::Continue(())
    })?;
    let mut homes = HashMap::new();
    for project in wanted {
        homes.insert(project, ask(lanes, project).await);
    }
    Ok(homes)
}

/// Asks each credential for the project's organization, the default one first.
async fn ask(lanes: &Lanes, project: ObjectId) -> Home {
    let primary = lanes.primary();
    let order = std::iter::once(primary).chain((0..lanes.lanes.len()).filter(|i| *i != primary));
    for i in order {
        match crate::engine::read::project_org(&lanes.lanes[i].ctx, project).await {
            ProjectOrg::Org(org) => return Home::Org(org),
            ProjectOrg::Gone => return Home::Gone,
            ProjectOrg::NotInGroup(_) | ProjectOrg::Unknown(_) => {}
        }
    }
    Home::Unknown
}
