//! One operation (a revocation, a list page) with its attempts: the waits before each (outage breaker,
//! in-flight slot, pauses, rates), retry with backoff and full jitter (backon's exponential schedule),
//! `Retry-After`, and the stop decisions taken while the request still holds its slot.

use std::future::Future;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use rand::Rng;
use tokio::sync::OwnedSemaphorePermit;

use super::breaker::Pass;
use super::{Context, StopReason};
use crate::api::{Answer, Fatal, Reply};
use crate::figures::Figures;
use crate::input::ObjectId;

/// What became of an operation.
pub(crate) struct Attempted<T> {
    /// The final result; `Err` holds the last answer (a refusal, or a transient one still failing).
    pub result: Result<T, Answer>,
    /// Requests sent (challenges and token renewals not counted).
    pub sent: u32,
    /// Some attempt may have reached the server without its answer reaching us.
    pub maybe_sent: bool,
}

/// The first attempt's go-ahead, taken by the scheduler: an in-flight slot, the scope's pace and the
/// outage breaker's pass.
pub(crate) struct Dispatch {
    pub permit: OwnedSemaphorePermit,
    pub pass: Pass,
}

/// Waits for the outage breaker's pass; `None` if the run stopped.
pub(crate) async fn wait_pass(ctx: &Context) -> Option<Pass> {
    loop {
        match ctx.outage.pass() {
            Ok(pass) => return Some(pass),
            Err(at) => {
                if !ctx.stop.sleep_until(at).await {
                    return None;
                }
            }
        }
    }
}

/// Waits out a global pause; false if the run stopped.
pub(crate) async fn wait_global_pause(ctx: &Context) -> bool {
    loop {
        if ctx.stop.is_set() {
            return false;
        }
        let until = ctx.pacer.global_paused_until();
        if until <= Instant::now() {
            return true;
        }
        if !ctx.stop.sleep_until(until).await {
            return false;
        }
    }
}

/// Every wait before a retry: breaker, slot, pauses and rates. `None` if the run stopped.
pub(crate) async fn go_ahead(ctx: &Context, scope: ObjectId) -> Option<Dispatch> {
    let pass = wait_pass(ctx).await?;
    let permit = tokio::select! {
        permit = ctx.in_flight.clone().acquire_owned() => permit.ok(),
        () = ctx.stop.wait() => None,
    };
    let Some(permit) = permit else {
        ctx.outage.release(pass);
        return None;
    };
    loop {
        if !wait_global_pause(ctx).await {
            ctx.outage.release(pass);
            return None;
        }
        match ctx.pacer.try_scope(scope) {
            Ok(()) => break,
            Err(at) => {
                if !ctx.stop.sleep_until(at).await {
                    ctx.outage.release(pass);
                    return None;
                }
            }
        }
    }
    tokio::select! {
        () = ctx.pacer.global_slot() => {}
        () = ctx.stop.wait() => {
            ctx.pacer.cancel(scope);
            ctx.outage.release(pass);
            return None;
        }
    }
    Some(Dispatch { permit, pass })
}

/// What a request is for: the refusal breaker counts only revocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A row's DELETE: its refusal may say the credential can do nothing.
    Revoke,
    /// A list page or a routing read: a refusal says only where the credential cannot see.
    Read,
}

/// Sends `target`'s DELETE with the run's retries: transient answers are retried, any other is
/// final. Answers the final answer (the last one, when retries ran out) with the attempts.
pub(crate) async fn revoke_with_retries(
    ctx: &Context,
    scope: ObjectId,
    dispatch: Dispatch,
    target: &crate::input::Target,
) -> (Answer, Attempted<Answer>) {
    let client = ctx.client();
    let attempted = with_retries(
        ctx,
        (scope, Purpose::Revoke),
        dispatch,
        || client.revoke(target),
        |reply| {
            if reply.answer.is_transient() {
                Err(reply.answer.clone())
            } else {
                Ok(reply.answer.clone())
            }
        },
    )
    .await;
    let answer = match &attempted.result {
        Ok(a) | Err(a) => a.clone(),
    };
    (answer, attempted)
}

/// Runs `op` until `judge` accepts or refuses its reply, retrying transient answers with backoff.
/// `dispatch` is the first attempt's go-ahead. A probe's server failure is not counted against the
/// attempts: the row waited out an outage, it did not fail.
pub(crate) async fn with_retries<T, F, Fut>(
    ctx: &Context,
    (scope, purpose): (ObjectId, Purpose),
    dispatch: Dispatch,
    mut op: F,
    judge: impl Fn(&Reply) -> Result<T, Answer>,
) -> Attempted<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Reply>,
{
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(ctx.config.backoff_min)
        .with_max_delay(ctx.config.backoff_max)
        .with_max_times(ctx.config.max_attempts.saturating_sub(1) as usize)
        .build();
    let mut next = Some(dispatch);
    let mut sent = 0u32;
    let mut maybe_sent = false;
    let mut last: Option<Answer> = None;
    loop {
        let go = match next.take() {
            Some(go) => Some(go),
            None => go_ahead(ctx, scope).await,
        };
        let Some(Dispatch { permit, pass }) = go else {
            return stopped(last, sent, maybe_sent);
        };
        sent += 1;
        let reply = op().await;
        let fallback = ctx.config.backoff_min.mul_f64(rand::rng().random::<f64>());
        ctx.pacer.answered(scope, &reply, fallback);
        // Decided while this request still holds its slot, so that no other request can start
        // between an answer that stops the run and the stop.
        ctx.watch(scope, &reply.answer, pass, purpose);
        drop(permit);
        if let Answer::Transient {
            ambiguous: true, ..
        } = &reply.answer
        {
            maybe_sent = true;
        }
        let answer = match judge(&reply) {
            Ok(value) => {
                return Attempted {
                    result: Ok(value),
                    sent,
                    maybe_sent,
                };
            }
            Err(answer) if !answer.is_transient() => {
                return Attempted {
                    result: Err(answer),
                    sent,
                    maybe_sent,
                };
            }
            Err(answer) => answer,
        };
        let probe_failed = pass == Pass::Probe
            && answer.is_server_failure()
            && !(purpose == Purpose::Read && ctx.server_is_up(&answer).await);
        let delay = next_delay(&mut delays, &answer, probe_failed);
        last = Some(answer);
        if ctx.stop.is_set() {
            return stopped(last, sent, maybe_sent);
        }
        let Some(delay) = delay else {
            return Attempted {
                result: Err(last.unwrap_or_else(|| Answer::transient(None, "", "", None))),
                sent,
                maybe_sent,
            };
        };
        Figures::bump(&ctx.figures.retries);
        if !delay.is_zero() && !ctx.stop.sleep_until(Instant::now() + delay).await {
            return stopped(last, sent, maybe_sent);
        }
    }
}

/// The wait before the next attempt, or `None` when the attempts are spent. A failed probe waits
/// for the breaker's next one without spending an attempt. Otherwise full jitter: anywhere from
/// nothing to the exponential delay, so that rows failing together do not retry together; a
/// `Retry-After` overrides it.
fn next_delay(
    delays: &mut impl Iterator<Item = Duration>,
    answer: &Answer,
    probe_failed: bool,
) -> Option<Duration> {
    if probe_failed {
        return Some(Duration::ZERO);
    }
    let retry_after = match answer {
        Answer::Transient { retry_after, .. } => *retry_after,
        _ => None,
    };
    let delay = delays.next()?;
    Some(retry_after.unwrap_or_else(|| delay.mul_f64(rand::rng().random::<f64>())))
}

fn stopped<T>(last: Option<Answer>, sent: u32, maybe_sent: bool) -> Attempted<T> {
    Attempted {
        result: Err(
            last.unwrap_or_else(|| Answer::transient(None, "", "not sent: the run stopped", None))
        ),
        sent,
        maybe_sent,
    }
}

impl Context {
    /// Whether a read that keeps failing with an HTTP 5xx answer fails on its own: the API's root
    /// resource answers 2xx. Then the outage breaker closes and the read spends its attempts, so
    /// that one unreadable list ends as such rather than holding the run for the outage patience.
    /// A failure without an HTTP answer (a timeout, a broken connection) says the server is out.
    async fn server_is_up(&self, failed: &Answer) -> bool {
        if failed.http_status().is_none() {
            return false;
        }
        let reply = self.client.root().await;
        if !matches!(reply.answer, Answer::Done { .. }) {
            return false;
        }
        if !self.outage.close_for_lists() {
            return true;
        }
        tracing::warn!(
            "the server answers (GET {}: HTTP {}) while a list keeps failing ({}): such a list is unreadable, and its attempts are spent rather than waited on as an outage",
            self.client.base_url().path(),
            reply.answer.http_status().unwrap_or(200),
            failed.described()
        );
        true
    }

    /// Stops the run when no request can succeed: a fatal answer (the credential's own
    /// authentication, the access list), every scope refusing its DELETEs, or an outage that
    /// outlasted the patience. A refused read never stops it: it says only where this credential
    /// cannot see (routing asks every credential of the run about other organizations' projects).
    pub(crate) fn watch(&self, scope: ObjectId, answer: &Answer, pass: Pass, purpose: Purpose) {
        if let Some(fatal) = answer.fatal() {
            let reason = match fatal {
                Fatal::CredentialsRejected { detail } => {
                    StopReason::CredentialsRejected(detail.clone())
                }
                Fatal::AuthUnusable { detail } => StopReason::AuthUnusable(detail.clone()),
                Fatal::AccessList { code, detail } => {
                    StopReason::AccessList(format!("HTTP 403 {code}: {}", detail))
                }
                Fatal::NotTheApi { detail } => StopReason::NotTheApi(format!(
                    "{detail}: the base URL does not reach the MongoDB API; check --base-url {}",
                    self.client.base_url()
                )),
            };
            self.stop.request(reason);
            return;
        }
        // Until the server has answered once, failures say nothing of an outage: the host may not
        // be there at all (a refused connection, a name that does not resolve), which the first
        // row's own attempts decide. Counted now, they would open the breaker before those
        // attempts were used up (its threshold is below them at low concurrency), and its probes,
        // which spend no attempt, would hold the run for the whole patience.
        if Figures::get(&self.figures.responses) == 0 {
            return self.refused(scope, answer, purpose);
        }
        if let Some(out_for) = self.outage.answered(pass, answer) {
            self.stop.request(StopReason::NoAnswer(format!(
                "no answer from {} for {} (timeouts, refused connections or server errors): giving up",
                self.client.host(),
                humantime::format_duration(Duration::from_secs(out_for.as_secs()))
            )));
            return;
        }
        self.refused(scope, answer, purpose);
    }

    /// The breakers of answers that are not the server's failures: every scope tried living under
    /// the other API (a wrong base URL, whatever the request), and refusals, which only DELETEs
    /// feed.
    fn refused(&self, scope: ObjectId, answer: &Answer, purpose: Purpose) {
        if let Some((other, n)) = self.other_api.answered(scope, answer) {
            self.stop.request(StopReason::NotTheApi(format!(
                "every project or organization tried ({n}) exists under the {other}, not the {} at {} (404 {}): use --base-url {}",
                self.client.api(),
                self.client.base_url(),
                answer.error_code(),
                self.client.base_of(other)
            )));
            return;
        }
        if purpose == Purpose::Read {
            return;
        }
        if let Some(n) = self.refusals.answered(scope, answer) {
            self.stop.request(StopReason::EveryScopeRefused(format!(
                "every project or organization tried refused this credential ({n}, with 401 or 403) and none succeeded: check its roles and access"
            )));
        }
    }
}
