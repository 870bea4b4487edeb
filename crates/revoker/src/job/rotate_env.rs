//! What a rotation's steps share, whatever the kind: the options, the run's environment, the
//! journal's lines, the lists read whole by the shared reader, the `POST` of a create and the
//! engine's `DELETE`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Mutex;

use crate::api::Answer;
use crate::engine::{self, Context};
use crate::input::{Kind, ObjectId, Target};
use crate::rotate::Cutover;
use crate::rotate::deliver::Deliver;
use crate::rotate::journal::{Journal, Line, Step};
use crate::rotate::reach::Reach;
use crate::select::read::{self, Keyed, ListError};

/// What a rotation was asked.
#[derive(Clone, Debug)]
pub struct RotateOptions {
    pub input: PathBuf,
    pub deliver: Deliver,
    pub cutover: Cutover,
    /// After-use: revoke the old credential at the latest this long after delivery.
    pub deadline: Duration,
    pub report: PathBuf,
    /// How often a waiting cutover reads the access lists.
    pub poll: Duration,
}

pub(super) struct Env {
    pub(super) ctx: Arc<Context>,
    /// The public key of the API key this rotation runs as: never rotated by itself (revoking it
    /// first, or before its replacement is in use, would lock the run out mid-way).
    pub(super) own_public: Option<String>,
    /// The client id of the service account this rotation runs as: its secrets are not rotated
    /// by it.
    pub(super) own_client: Option<String>,
    pub(super) journal: Mutex<Journal>,
    pub(super) opts: RotateOptions,
    pub(super) run: String,
    pub(super) folder: PathBuf,
}

/// A row stopped: the message names why.
pub(super) type Stop = String;

/// The journal's name of a row's credential: a secret's id, else the key's.
pub(super) fn old_of(t: &Target) -> String {
    match t.kind {
        Kind::ServiceAccountSecret | Kind::ProjectServiceAccountSecret => t.secret_text(),
        _ => t.key_text(),
    }
}

pub(super) async fn journal(
    env: &Env,
    t: &Target,
    step: Step,
    new: Option<String>,
    reach: Option<&Reach>,
    message: &str,
) -> Result<(), Stop> {
    write_line(env, line(env, t, step, new, reach, message)).await
}

/// Appends a journal line.
pub(super) async fn write_line(env: &Env, line: Line) -> Result<(), Stop> {
    env.journal
        .lock()
        .await
        .write(line)
        .map_err(|e| format!("rotation journal: {e}"))
}

/// A journal line of this run.
pub(super) fn line(
    env: &Env,
    t: &Target,
    step: Step,
    new: Option<String>,
    reach: Option<&Reach>,
    message: &str,
) -> Line {
    Line {
        run: env.run.clone(),
        at: jiff::Timestamp::now().to_string(),
        kind: t.kind.as_str().into(),
        scope: t.scope.to_string(),
        old: old_of(t),
        step,
        new,
        reach: reach.cloned(),
        message: message.into(),
        revoked_first: false,
        delivered: None,
        from: None,
        before: Vec::new(),
        hours: None,
    }
}

/// Every item of a paged list.
pub(super) async fn list_all(
    env: &Env,
    scope: ObjectId,
    segments: &[&str],
) -> Result<Vec<Value>, Stop> {
    list_pages(env, scope, segments)
        .await
        .map_err(|(path, e)| format!("GET {path}: {}", e.described()))
}

/// A listed item, keyed for the shared reader's paging checks by its id (`id`, `apiKeyId`,
/// `_id`), else an access-list entry's `cidrBlock` or `ipAddress`.
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub(super) struct Listed(pub(super) Value);

impl Keyed for Listed {
    fn key(&self) -> Option<String> {
        ["id", "apiKeyId", "_id", "cidrBlock", "ipAddress"]
            .iter()
            .find_map(|f| self.0[*f].as_str())
            .map(str::to_string)
    }
}

/// Every item of a paged list, read whole by the shared reader (its page bound, `totalCount`
/// and repeated-page checks), or the path and why not.
pub(super) async fn list_pages(
    env: &Env,
    scope: ObjectId,
    segments: &[&str],
) -> Result<Vec<Value>, (String, ListError)> {
    let kind = match segments.get(2) {
        Some(&"aiModelApiKeys") => Kind::AiModelApiKey,
        Some(&"agentapikeys") => Kind::AgentApiKey,
        _ => Kind::OrgApiKey,
    };
    let mut spec = engine::read::spec(&env.ctx, segments, kind, true);
    if kind == Kind::AgentApiKey {
        // Cloud Manager lists agent keys as a bare array, not paged.
        spec.shape = crate::api::ListShape::BareArray;
    }
    read::all_answered::<Listed>(&env.ctx, scope, &spec)
        .await
        .map(|items| items.into_iter().map(|l| l.0).collect())
        .map_err(|e| (spec.url.path().to_string(), e))
}

/// A `POST` with the run's pacing; retried only when `idempotent` (a create is sent once: a lost
/// answer stops the row, and the resume withdraws what it may have made).
pub(super) async fn post(
    env: &Env,
    kind: Kind,
    scope: ObjectId,
    segments: &[&str],
    body: Value,
    idempotent: bool,
) -> Result<Value, Stop> {
    let client = env.ctx.client().clone();
    let url = crate::api::url_of(client.base_url(), segments, client.envelope());
    let accept = client.api().accept(kind);
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let dispatch = engine::go_ahead(&env.ctx, scope)
        .await
        .ok_or("the run stopped")?;
    let attempted = engine::with_retries(
        &env.ctx,
        (scope, engine::Purpose::Read),
        dispatch,
        || client.post(&url, accept, bytes.clone()),
        |reply| match &reply.answer {
            Answer::Done { .. } if reply.body.is_empty() => Ok(Value::Null),
            Answer::Done { .. } => {
                engine::read::parse::<Value>(&reply.body).map_err(|why| Answer::Rejected {
                    status: 200,
                    code: String::new(),
                    detail: format!("the answer is not what the API documents ({why})"),
                })
            }
            Answer::Transient {
                status,
                code,
                detail,
                ..
            } if !idempotent => Err(Answer::Rejected {
                status: status.unwrap_or(0),
                code: code.clone(),
                detail: format!("{detail} (a create is not sent twice)"),
            }),
            other => Err(other.clone()),
        },
    )
    .await;
    attempted
        .result
        .map_err(|a| format!("POST {}: {}", url.path(), a.described()))
}

/// Revokes a credential through the engine's DELETE; gone already counts as revoked.
pub(super) async fn delete(env: &Env, target: &Target) -> Result<(), Stop> {
    delete_found(env, target).await.map(|_| ())
}

/// Revokes the old credential first (`--cutover now`) for a row no earlier run of this journal
/// touched. The server is the arbiter between two rotations of one credential: only one DELETE
/// finds it, and the one that finds it gone creates nothing, or the credential would end with a
/// replacement from each.
pub(super) async fn revoke_first(env: &Env, target: &Target, resumed: bool) -> Result<(), Stop> {
    match delete_found(env, target).await? {
        false if !resumed => Err(format!(
            "the old {} {} was revoked by someone else between this run's read and its own revocation (another rotation, or by hand): nothing was created",
            target.kind.as_str(),
            old_of(target)
        )),
        _ => Ok(()),
    }
}

/// Whether the old credential, listed again after the replacement was made, is still there: a
/// rotation that finished meanwhile revoked it, and two replacements would then be live.
pub(super) fn still_listed(found: bool, revoked_first: bool, target: &Target) -> Result<(), Stop> {
    match found || revoked_first {
        true => Ok(()),
        false => Err(format!(
            "the old {} {} was revoked while this run made its replacement (another rotation, or by hand): this run's replacement was withdrawn",
            target.kind.as_str(),
            old_of(target)
        )),
    }
}

/// DELETEs `target`; answers whether it was there (a not-found is no error).
async fn delete_found(env: &Env, target: &Target) -> Result<bool, Stop> {
    let client = env.ctx.client().clone();
    let scope = target.scope;
    let dispatch = engine::go_ahead(&env.ctx, scope)
        .await
        .ok_or("the run stopped")?;
    let attempted = engine::with_retries(
        &env.ctx,
        (scope, engine::Purpose::Revoke),
        dispatch,
        || client.revoke(target),
        |reply| match &reply.answer {
            Answer::Done { .. } => Ok(true),
            Answer::NotFound { .. } => Ok(false),
            other => Err(other.clone()),
        },
    )
    .await;
    attempted.result.map_err(|a| {
        format!(
            "DELETE {} {}: {}",
            target.kind.as_str(),
            old_of(target),
            a.described()
        )
    })
}

/// Waits for the cutover (`now` at once, `at:TIME` by the clock, `after-use` by `wait`), checks
/// that the replacement is still listed (`present`), journals what brought the cutover, then
/// revokes the old credential by `revoke` (already done first under `now`) and journals that.
/// The futures are only awaited when their step comes.
pub(super) async fn cut_over(
    env: &Env,
    t: &Target,
    (new, reach): (&str, &Reach),
    wait: impl std::future::Future<Output = Result<(Step, String), Stop>>,
    (present, revoke): (
        impl std::future::Future<Output = Result<bool, Stop>>,
        impl std::future::Future<Output = Result<(), Stop>>,
    ),
) -> Result<(), Stop> {
    let (step, note) = match env.opts.cutover {
        Cutover::Now => (Step::CutOver, "revoked first".to_string()),
        Cutover::At(when) => {
            let wait = when
                .duration_since(jiff::Timestamp::now())
                .try_into()
                .unwrap_or(Duration::ZERO);
            if !env
                .ctx
                .stop()
                .sleep_until(std::time::Instant::now() + wait)
                .await
            {
                return Err("stopped while waiting for the cutover time".into());
            }
            (Step::CutOver, format!("at {when}"))
        }
        Cutover::AfterUse => wait.await?,
    };
    if env.opts.cutover != Cutover::Now {
        // A replacement withdrawn meanwhile (by hand, by another run) leaves nothing to cut
        // over to: the old credential is kept.
        if !present.await? {
            return Err(format!(
                "the replacement {new} is no longer listed: the old credential {} is kept; rotate it again",
                old_of(t)
            ));
        }
    }
    journal(env, t, step, Some(new.into()), Some(reach), &note).await?;
    if env.opts.cutover != Cutover::Now {
        revoke.await?;
    }
    journal(
        env,
        t,
        Step::OldRevoked,
        Some(new.into()),
        Some(reach),
        &note,
    )
    .await
}

/// Polls `check` every `--poll` until it says the cutover has come (use seen, the old credential
/// gone), or until `cap` after `delivered` (the deadline): then a cutover by deadline, never a
/// claim of use.
pub(super) async fn poll_for_use<F>(
    env: &Env,
    delivered: jiff::Timestamp,
    cap: Duration,
    mut check: impl FnMut() -> F,
) -> Result<(Step, String), Stop>
where
    F: std::future::Future<Output = Result<Option<(Step, String)>, Stop>>,
{
    let since: Duration = jiff::Timestamp::now()
        .duration_since(delivered)
        .try_into()
        .unwrap_or(Duration::ZERO);
    let deadline = std::time::Instant::now() + cap.saturating_sub(since);
    loop {
        if let Some(found) = check().await? {
            return Ok(found);
        }
        let next = std::time::Instant::now() + env.opts.poll;
        if next >= deadline {
            if !env.ctx.stop().sleep_until(deadline).await {
                return Err("stopped while waiting for the replacement's use".into());
            }
            return Ok((
                Step::CutOver,
                "deadline reached before the replacement showed use".into(),
            ));
        }
        if !env.ctx.stop().sleep_until(next).await {
            return Err("stopped while waiting for the replacement's use".into());
        }
    }
}

/// Checks the created replacement (`check`), delivers its secret, and journals the delivery; a
/// failed check or delivery withdraws the replacement (`withdraw`) and names why, so that no
/// replacement is left live that nobody received.
pub(super) async fn check_and_deliver(
    env: &Env,
    t: &Target,
    (new, reach, note): (&str, &Reach, &str),
    secret: crate::rotate::deliver::NewSecret,
    check: impl std::future::Future<Output = Result<(), Stop>>,
    withdraw: impl std::future::Future<Output = Result<(), Stop>>,
) -> Result<(), Stop> {
    let failed = match check.await {
        Err(why) => Some(why),
        Ok(()) => crate::rotate::deliver::deliver(&env.opts.deliver, &env.folder, &env.run, secret)
            .await
            .err()
            .map(|why| format!("{why}; the replacement was withdrawn")),
    };
    if let Some(why) = failed {
        withdraw.await?;
        return Err(why);
    }
    journal(env, t, Step::Delivered, Some(new.into()), Some(reach), note).await
}

/// Why a row stops before anything is made: `what` (a listed replacement of `old`) was made by
/// another rotation's run `run`, whose delivered replacement must never be withdrawn by this one.
pub(super) fn theirs(what: &str, old: &str, run: &str, withdrew: bool) -> Stop {
    let done = match withdrew {
        true => {
            "this rotation's own earlier replacement (its secret lost with the run that made it) was withdrawn, nothing else was created or revoked"
        }
        false => "nothing was created or revoked",
    };
    format!(
        "{what} is a replacement of {old} made by another rotation (run {run}): finish or withdraw that rotation first; {done}"
    )
}

/// Why a replacement is withdrawn when another rotation of the same credential made one at the
/// same time: each run withdraws its own, so that never two live, and the old one stays.
pub(super) fn raced(old: &str, id: &str, run: &str) -> Stop {
    format!(
        "another rotation (run {run}) made a replacement of {old} ({id}) at the same time: this run's replacement was withdrawn and nothing was revoked; finish or withdraw that rotation, then rotate again"
    )
}
