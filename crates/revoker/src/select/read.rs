//! The reads a selection makes, in the shapes the API documents: an organization's service
//! accounts with their secrets' dates, its API keys (`desc`, `publicKey`), a key's access list
//! (`created`, `lastUsed`), a project's API keys, agent keys (`createdTime`, epoch ms) and AI model
//! keys (`createdAt`, `lastUsedAt`), an organization's projects, a project's organization. One
//! request per page, paced and retried as every request of a run.

use std::sync::Arc;

use jiff::Timestamp;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::api::{Answer, ITEMS_PER_PAGE, ListShape, ListSpec};
use crate::engine::{Context, go_ahead, with_retries};
use crate::input::{Kind, ObjectId};
use crate::verify::listing::MAX_PAGES;

/// A date as the API writes it (RFC 3339); anything else is no date.
fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    let text: Option<serde_json::Value> = Deserialize::deserialize(d)?;
    Ok(text.and_then(|v| v.as_str().and_then(|s| s.parse().ok())))
}

/// Epoch milliseconds, as Cloud Manager writes an agent key's `createdTime`.
fn millis<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    let value: Option<serde_json::Value> = Deserialize::deserialize(d)?;
    Ok(value
        .and_then(|v| v.as_i64())
        .and_then(|ms| Timestamp::from_millisecond(ms).ok()))
}

#[derive(Deserialize, Debug, Default)]
pub struct Secret {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "createdAt", deserialize_with = "date")]
    pub created: Option<Timestamp>,
    #[serde(default, rename = "expiresAt", deserialize_with = "date")]
    pub expires: Option<Timestamp>,
    #[serde(default, rename = "lastUsedAt", deserialize_with = "date")]
    pub last_used: Option<Timestamp>,
}

#[derive(Deserialize, Debug, Default)]
pub struct Account {
    #[serde(default, rename = "clientId")]
    pub client_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "createdAt", deserialize_with = "date")]
    pub created: Option<Timestamp>,
    #[serde(default)]
    pub secrets: Vec<Secret>,
}

#[derive(Deserialize, Debug, Default)]
pub struct ApiKey {
    #[serde(default, alias = "_id")]
    pub id: Option<String>,
    #[serde(default)]
    pub desc: Option<String>,
    #[serde(default, rename = "publicKey")]
    pub public_key: Option<String>,
    /// An agent key's creation, in epoch milliseconds.
    #[serde(default, rename = "createdTime", deserialize_with = "millis")]
    pub created_time: Option<Timestamp>,
}

#[derive(Deserialize, Debug, Default)]
pub struct ModelKey {
    #[serde(default, rename = "apiKeyId")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "createdAt", deserialize_with = "date")]
    pub created: Option<Timestamp>,
    #[serde(default, rename = "lastUsedAt", deserialize_with = "date")]
    pub last_used: Option<Timestamp>,
}

#[derive(Deserialize, Debug, Default)]
pub struct AccessEntry {
    #[serde(default, deserialize_with = "date")]
    pub created: Option<Timestamp>,
    #[serde(default, rename = "lastUsed", deserialize_with = "date")]
    pub last_used: Option<Timestamp>,
}

#[derive(Deserialize, Debug, Default)]
pub struct Group {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "orgId")]
    pub org_id: Option<String>,
}

/// A page of a paged list: its items, and whether it links a next one.
#[derive(Deserialize)]
pub struct PageOf<T> {
    pub results: Vec<T>,
    #[serde(default)]
    links: Vec<Link>,
}

impl<T> PageOf<T> {
    /// Whether the page links a next one.
    pub fn next(&self) -> bool {
        self.links.iter().any(|l| l.rel.as_deref() == Some("next"))
    }
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    rel: Option<String>,
}

/// A body, or its `content` when the answer is enveloped.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).or_else(|e| {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| e.to_string())?;
        value
            .get("content")
            .map(|c| serde_json::from_value(c.clone()).map_err(|e| e.to_string()))
            .unwrap_or(Err(e.to_string()))
    })
}

/// One request with the run's pacing and retries, its body parsed; the answer when it was not one.
async fn get<T: DeserializeOwned>(
    ctx: &Arc<Context>,
    scope: ObjectId,
    spec: &ListSpec,
    page: usize,
) -> Result<T, Answer> {
    let dispatch = go_ahead(ctx, scope)
        .await
        .ok_or_else(|| Answer::transient(None, "", "the run stopped", None))?;
    let client = ctx.client().clone();
    let attempted = with_retries(
        ctx,
        scope,
        dispatch,
        || client.list_page(spec, page),
        |reply| match &reply.answer {
            Answer::Done { .. } => parse::<T>(&reply.body).map_err(|why| Answer::Rejected {
                status: reply.answer.http_status().unwrap_or(200),
                code: String::new(),
                detail: format!("the answer is not what the API documents ({why})"),
            }),
            other => Err(other.clone()),
        },
    )
    .await;
    attempted.result
}

/// Every item of a paged list: pages read while the last one links a next, at most
/// [`MAX_PAGES`].
pub async fn all<T: DeserializeOwned>(
    ctx: &Arc<Context>,
    scope: ObjectId,
    spec: &ListSpec,
) -> Result<Vec<T>, String> {
    if spec.shape == ListShape::BareArray {
        return get::<Vec<T>>(ctx, scope, spec, 1)
            .await
            .map_err(|a| a.described());
    }
    let mut out = Vec::new();
    for page in 1..=MAX_PAGES as usize {
        let p: PageOf<T> = get(ctx, scope, spec, page)
            .await
            .map_err(|a| a.described())?;
        let (n, next) = (p.results.len(), p.next());
        out.extend(p.results);
        if n == 0 || !(next || n >= ITEMS_PER_PAGE) {
            return Ok(out);
        }
    }
    Err(format!(
        "{} links more than {MAX_PAGES} pages",
        spec.url.path()
    ))
}

/// What `GET /groups/{id}` says of a project's organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectOrg {
    Org(ObjectId),
    /// `404 GROUP_NOT_FOUND` (or `INVALID_GROUP_ID`): the project does not exist.
    Gone,
    /// No answer that names an organization: what was answered.
    Unknown(String),
    /// `401 NOT_IN_GROUP`: this credential is not in the project, or the project does not exist
    /// (the error reference: "not in the group, or the group does not exist"). What was answered.
    NotInGroup(String),
}

/// The organization of `project`, asked once.
pub async fn project_org(ctx: &Arc<Context>, project: ObjectId) -> ProjectOrg {
    let text = project.to_string();
    let spec = spec(ctx, &["groups", &text], Kind::ProjectApiKey, false);
    match get::<Group>(ctx, project, &spec, 1).await {
        Ok(g) => match g.org_id.as_deref().and_then(ObjectId::parse) {
            Some(org) => ProjectOrg::Org(org),
            None => ProjectOrg::Unknown(format!(
                "GET {}: the answer names no orgId",
                spec.url.path()
            )),
        },
        Err(Answer::NotFound { code, .. })
            if matches!(code.as_str(), "GROUP_NOT_FOUND" | "INVALID_GROUP_ID") =>
        {
            ProjectOrg::Gone
        }
        Err(answer) => {
            let why = format!("GET {}: {}", spec.url.path(), answer.described());
            if answer.error_code() == "NOT_IN_GROUP" {
                ProjectOrg::NotInGroup(why)
            } else {
                ProjectOrg::Unknown(why)
            }
        }
    }
}

/// The request of a read at `segments` under the base URL, with `kind`'s `Accept`.
pub fn spec(ctx: &Context, segments: &[&str], kind: Kind, paged: bool) -> ListSpec {
    let client = ctx.client();
    ListSpec {
        url: crate::api::url_of(client.base_url(), segments, client.envelope()),
        accept: client.api().accept(kind),
        shape: if paged {
            ListShape::Paged { id_field: "id" }
        } else {
            ListShape::Secrets
        },
    }
}

/// A kind's list, as `verify` reads it, but without system-managed service accounts unless asked.
pub fn kind_list(ctx: &Context, kind: Kind, scope: &ObjectId, system_managed: bool) -> ListSpec {
    let client = ctx.client();
    let mut spec = client
        .api()
        .list(client.base_url(), kind, scope, None, client.envelope());
    if !system_managed {
        let kept: Vec<(String, String)> = spec
            .url
            .query_pairs()
            .filter(|(k, _)| k != "includeSystemManaged")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        spec.url.set_query(None);
        if !kept.is_empty() {
            spec.url.query_pairs_mut().extend_pairs(kept);
        }
    }
    spec
}
