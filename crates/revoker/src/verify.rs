//! Verification: proof that revoked keys are gone. For every project and organization with rows
//! whose latest outcome is finished (`done`, `not_found`, `verified`), the list endpoints say what
//! still exists — one request per list page, never one per key — and each such row is recorded in
//! the report as `verified` (absent) or `still_present` (which a resumed run sends again).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use crate::vocab::ExitCode as _;
use std::time::Instant;

use crate::api::{Answer, Page};
use crate::engine::{Context, StopReason, with_retries};
use crate::input::{Kind, ObjectId, Target};
use crate::report::{Outcome, Record, ReportError, ReportSink, read_records};

/// One list to read: what kind of key, in which scope, and for secrets, which service account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct ListKey {
    kind: Kind,
    scope: ObjectId,
    client: Option<ObjectId>,
}

/// A row to verify: its target and its input line.
#[derive(Clone, Debug)]
pub struct Claim {
    pub target: Target,
    pub line: u64,
}

/// The rows of a report whose latest outcome says the key is gone.
pub fn claims(report: &Path) -> Result<Vec<Claim>, ReportError> {
    let mut latest: HashMap<crate::input::Identity, (u64, Claim, Outcome)> = HashMap::new();
    let mut order = 0u64;
    read_records(report, &mut |r: Record| {
        let Some(target) = r.target() else { return };
        order += 1;
        latest.insert(
            target.identity(),
            (
                order,
                Claim {
                    target,
                    line: r.line,
                },
                r.outcome,
            ),
        );
    })?;
    let mut out: Vec<(u64, Claim)> = latest
        .into_values()
        .filter(|(_, _, outcome)| outcome.is_finished())
        .map(|(order, claim, _)| (order, claim))
        .collect();
    out.sort_by_key(|(order, _)| *order);
    Ok(out.into_iter().map(|(_, c)| c).collect())
}

/// What verification found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Verification {
    pub rows: u64,
    pub verified: u64,
    pub still_present: u64,
    /// Rows whose list could not be read, and why (one entry per list).
    pub unverified: Vec<Unverified>,
    /// Rows still present: `(input line, target)`.
    pub present: Vec<(u64, String)>,
    /// List requests that were answered (pages), per list endpoint kind.
    pub pages: u64,
    pub elapsed_ms: u64,
}

/// A list that could not be read.
#[derive(Debug, serde::Serialize)]
pub struct Unverified {
    pub list: String,
    pub rows: u64,
    pub reason: String,
}

enum Listed {
    /// Everything the list holds.
    Ids {
        ids: HashSet<ObjectId>,
        pages: u64,
        items: u64,
    },
    /// The project, organization or service account itself is gone: so is everything in it.
    Gone(String),
    Failed(Answer),
}

fn describe(key: &ListKey, api: crate::api::Api, base: &url::Url) -> String {
    let client = key
        .client
        .map(|c| format!("{}{c}", crate::input::CLIENT_ID_PREFIX));
    let spec = api.list(base, key.kind, &key.scope, client.as_deref(), false);
    format!("GET {}", spec.url.path())
}

async fn read_list(ctx: &Arc<Context>, key: ListKey) -> Listed {
    let client = ctx.client().clone();
    let client_id = key
        .client
        .map(|c| format!("{}{c}", crate::input::CLIENT_ID_PREFIX));
    let spec = client.api().list(
        client.base_url(),
        key.kind,
        &key.scope,
        client_id.as_deref(),
        client.envelope(),
    );
    let mut ids = HashSet::new();
    let mut items = 0u64;
    let mut page = 1usize;
    loop {
        let Some(dispatch) = crate::engine::go_ahead(ctx, key.scope).await else {
            return Listed::Failed(Answer::transient(None, "", "the run stopped", None));
        };
        let shape = spec.shape;
        let attempted = with_retries(
            ctx,
            key.scope,
            dispatch,
            || client.list_page(&spec, page),
            |reply| match &reply.answer {
                Answer::Done { .. } => {
                    Page::parse(shape, &reply.body, page).map_err(|why| Answer::Rejected {
                        status: reply.answer.http_status().unwrap_or(200),
                        code: String::new(),
                        detail: why,
                    })
                }
                other => Err(other.clone()),
            },
        )
        .await;
        match attempted.result {
            Ok(p) => {
                items += p.items as u64;
                ids.extend(p.ids);
                if !p.more || p.items == 0 {
                    return Listed::Ids {
                        ids,
                        pages: page as u64,
                        items,
                    };
                }
                page += 1;
            }
            Err(Answer::NotFound {
                status,
                code,
                detail,
            }) => return Listed::Gone(format!("HTTP {status} {code}: {detail}")),
            Err(answer) => return Listed::Failed(answer),
        }
    }
}

/// Verifies `claims`, writing one report row per claim to `sink`.
pub async fn verify(
    ctx: Arc<Context>,
    claims: Vec<Claim>,
    run_id: &str,
    sink: &ReportSink,
) -> Verification {
    let started = Instant::now();
    let mut groups: BTreeMap<ListKey, Vec<Claim>> = BTreeMap::new();
    for claim in claims {
        let t = claim.target;
        let key = ListKey {
            kind: t.kind,
            scope: t.scope,
            client: (t.kind == Kind::ServiceAccountSecret).then_some(t.key),
        };
        groups.entry(key).or_default().push(claim);
    }
    let mut result = Verification::default();
    if !ctx.prepare().await {
        return result;
    }
    let api = ctx.client().api();
    let base = ctx.client().base_url().clone();
    let pages_before = crate::figures::Figures::get(&ctx.client().figures().requests);
    let mut tasks = tokio::task::JoinSet::new();
    let mut pending: HashMap<ListKey, Vec<Claim>> = HashMap::new();
    let mut first = true;
    for (key, claims) in groups {
        pending.insert(key, claims);
        let task_ctx = ctx.clone();
        if first {
            // The first list goes alone, like a run's first row: one challenge, one refusal.
            let listed = read_list(&task_ctx, key).await;
            first = false;
            finish(
                &mut result,
                key,
                pending.remove(&key).unwrap_or_default(),
                listed,
                run_id,
                sink,
                api,
                &base,
            );
            if ctx.stop().is_set() {
                break;
            }
            continue;
        }
        tasks.spawn(async move { (key, read_list(&task_ctx, key).await) });
    }
    while let Some(joined) = tasks.join_next().await {
        let Ok((key, listed)) = joined else { continue };
        let claims = pending.remove(&key).unwrap_or_default();
        finish(&mut result, key, claims, listed, run_id, sink, api, &base);
    }
    // Lists never read (the run stopped first).
    for (key, claims) in pending {
        result.unverified.push(Unverified {
            list: describe(&key, api, &base),
            rows: claims.len() as u64,
            reason: ctx
                .stop()
                .reason()
                .map_or("not read".into(), |r| format!("not read: {r}")),
        });
        result.rows += claims.len() as u64;
    }
    result.pages =
        crate::figures::Figures::get(&ctx.client().figures().requests).saturating_sub(pages_before);
    result.elapsed_ms = started.elapsed().as_millis() as u64;
    result
}

#[allow(clippy::too_many_arguments)]
fn finish(
    result: &mut Verification,
    key: ListKey,
    claims: Vec<Claim>,
    listed: Listed,
    run_id: &str,
    sink: &ReportSink,
    api: crate::api::Api,
    base: &url::Url,
) {
    let list = describe(&key, api, base);
    result.rows += claims.len() as u64;
    let (ids, status, message) = match listed {
        Listed::Failed(answer) => {
            result.unverified.push(Unverified {
                list,
                rows: claims.len() as u64,
                reason: format!(
                    "{}{}",
                    answer
                        .http_status()
                        .map(|s| format!("HTTP {s} "))
                        .unwrap_or_default(),
                    answer.detail()
                ),
            });
            return;
        }
        // The scope itself is gone, and everything in it.
        Listed::Gone(why) => (
            HashSet::new(),
            404,
            format!("absent: {list} answers that it is gone ({why})"),
        ),
        Listed::Ids { ids, pages, items } => (
            ids,
            200,
            format!(
                "{list} ({pages} {}, {items} listed)",
                if pages == 1 { "page" } else { "pages" }
            ),
        ),
    };
    let outcome_of = |t: &Target| {
        let id = if t.kind == Kind::ServiceAccountSecret {
            t.secret
        } else {
            Some(t.key)
        };
        id.is_some_and(|id| ids.contains(&id))
    };
    for claim in claims {
        let present = outcome_of(&claim.target);
        let (outcome, text) = if present {
            result.still_present += 1;
            result.present.push((claim.line, claim.target.to_string()));
            (
                Outcome::StillPresent,
                format!("still present in {message}: a resumed run sends it again"),
            )
        } else {
            result.verified += 1;
            (
                Outcome::Verified,
                if status == 404 {
                    message.clone()
                } else {
                    format!("absent from {message}")
                },
            )
        };
        let t = claim.target;
        sink.send(Record {
            run_id: run_id.to_string(),
            finished_at: crate::report::timestamp(),
            line: claim.line,
            kind: t.kind.to_string(),
            project: t.scope.to_string(),
            key: t.key_text(),
            outcome,
            http_status: Some(status),
            error_code: String::new(),
            attempts: 0,
            duration_ms: 0,
            message: text,
            secret: t.secret_text(),
        });
    }
}

/// The exit code of a verification: 0 when every finished row is confirmed absent, 1 otherwise,
/// or the stop's own code.
pub fn exit_code(v: &Verification, stopped: Option<&StopReason>) -> i32 {
    match stopped {
        Some(reason) => reason.exit_code(),
        None if v.still_present > 0 || !v.unverified.is_empty() => crate::vocab::exit::UNFINISHED,
        None => crate::vocab::exit::OK,
    }
}
