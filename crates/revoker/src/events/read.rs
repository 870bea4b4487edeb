//! Reading the Events API: `GET /orgs/{o}/events` (`listOrgEvents`) and `GET /groups/{g}/events`
//! (`listGroupEvents`), from `minDate`, with `includeRaw=true`, 500 a page, each page once, read
//! whole by the paging rules `verify` and `select` have; and an organization's projects.

use std::sync::Arc;

use super::{Event, Read};
use crate::engine::Context;
use crate::engine::read::{Group, spec};
use crate::input::{Kind, ObjectId};
use crate::select::read::{Keyed, all, id_text};

impl Keyed for Event {
    fn key(&self) -> Option<String> {
        self.id.clone()
    }
}

/// Every event of one organization (`project` = `None`) or project since `min_date` (ISO 8601).
pub async fn scope_events(
    ctx: &Arc<Context>,
    org: ObjectId,
    project: Option<ObjectId>,
    min_date: &str,
) -> Result<Vec<Read>, String> {
    let (scope, text) = match project {
        Some(p) => (p, p.to_string()),
        None => (org, org.to_string()),
    };
    let (segments, kind) = match project {
        Some(_) => (["groups", text.as_str(), "events"], Kind::ProjectApiKey),
        None => (["orgs", text.as_str(), "events"], Kind::OrgApiKey),
    };
    let mut list = spec(ctx, &segments, kind, true);
    list.url
        .query_pairs_mut()
        .append_pair("minDate", min_date)
        .append_pair("includeRaw", "true");
    let events: Vec<Event> = all(ctx, scope, &list)
        .await
        .map_err(|why| format!("GET {}: {why}", list.url.path()))?;
    Ok(events
        .into_iter()
        .map(|event| Read {
            org,
            project,
            event,
        })
        .collect())
}

/// The projects of an organization (`GET /orgs/{o}/groups`).
pub async fn org_projects(ctx: &Arc<Context>, org: ObjectId) -> Result<Vec<ObjectId>, String> {
    let text = org.to_string();
    let list = spec(ctx, &["orgs", &text, "groups"], Kind::OrgApiKey, true);
    let groups: Vec<Group> = all(ctx, org, &list)
        .await
        .map_err(|why| format!("GET {}: {why}", list.url.path()))?;
    groups
        .iter()
        .map(|g| {
            let t = id_text(&g.id)?;
            ObjectId::parse(t).ok_or_else(|| format!("GET {}: project id {t:?}", list.url.path()))
        })
        .collect()
}
