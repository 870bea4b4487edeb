//! One read of the API with the run's pacing and retries, its body parsed (enveloped or not), and
//! the read every lane shares: `GET /groups/{id}`, a project's organization. Below the selection
//! (which reads whole lists with it) and the secret step (which asks a project's organization).

use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Context, Purpose, go_ahead, with_retries};
use crate::api::{Answer, ListShape, ListSpec};
use crate::input::{Kind, ObjectId};

/// A project as `GET /groups/{id}` and an organization's project list give it.
#[derive(Deserialize, Debug, Default)]
pub struct Group {
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    #[serde(default, rename = "orgId")]
    pub org_id: Option<String>,
}

/// A body, or its `content` when the answer is enveloped.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).or_else(|e| {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| e.to_string())?;
        value
            .get("content")
            .map(|c| serde_json::from_value(c.clone()).map_err(|e| e.to_string()))
            .unwrap_or(Err(e.to_string()))
    })
}

/// One request with the run's pacing and retries, its body parsed; the answer when it was not one.
pub async fn get<T: DeserializeOwned>(
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
        (scope, Purpose::Read),
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
