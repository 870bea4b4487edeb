//! An AI model API key's id is not hex (the spec's `apiKeyId`: a string, `a86r5kwrfsk5r5ku5tgvhmpj`
//! in its example) and the API compares it exactly: a row spelled in another case names no key and
//! gets a not-found (`deleteGroupModelKey`'s 404). That answer proves nothing of the key the
//! project lists, so after a not-found the project's list is read once: when it holds the row's id
//! in another case, the row is `rejected`, naming the listed spelling.

use std::sync::Arc;

use super::{Context, go_ahead, with_retries};
use crate::api::{Answer, ListShape, Page, spelled_otherwise};
use crate::input::{Kind, Target};

/// Pages of a project's AI model keys read at most: a project holds a handful.
const MAX_PAGES: usize = 20;

/// The answer that replaces an AI model key's not-found when the project lists the key in another
/// case; `None` otherwise (another row, another answer, or a list that shows no such key).
pub(super) async fn spelled_otherwise_in_project(
    ctx: &Arc<Context>,
    target: &Target,
    answer: &Answer,
) -> Option<Answer> {
    if target.kind != Kind::AiModelApiKey || !matches!(answer, Answer::NotFound { .. }) {
        return None;
    }
    let client = ctx.client();
    let spec = client.api().list(
        client.base_url(),
        Kind::AiModelApiKey,
        &target.scope,
        None,
        client.envelope(),
    );
    let row = target.key_text();
    for page in 1..=MAX_PAGES {
        let dispatch = go_ahead(ctx, target.scope).await?;
        let attempted = with_retries(
            ctx,
            (target.scope, super::attempt::Purpose::Read),
            dispatch,
            || client.list_page(&spec, page),
            |reply| match &reply.answer {
                Answer::Done { .. } => Ok(reply.body.clone()),
                other => Err(other.clone()),
            },
        )
        .await;
        let body = attempted.result.ok()?;
        let read = Page::parse(spec.shape, &body).ok()?;
        if let Some(listed) = spelled_otherwise(&row, &read.ids) {
            return Some(Answer::Rejected {
                status: answer.http_status().unwrap_or(404),
                code: answer.error_code().to_string(),
                detail: format!(
                    "{}; but project {} lists {listed}, which this row's id spells in another case: the API compares AI model key ids exactly, so this row names no key and its not-found proves nothing of that one; fix the spelling",
                    answer.described(),
                    target.scope
                ),
            });
        }
        if !read.next || !matches!(spec.shape, ListShape::Paged { .. }) {
            return None;
        }
    }
    None
}
