//! One row: its attempts with retry and backoff, and its outcome.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use rand::Rng;
use tokio::sync::OwnedSemaphorePermit;

use super::{ForbiddenProjects, Pending, Shared, StopReason, wait_for_pause};
use crate::api::Answer;
use crate::report::{Outcome, Record};

/// Why an attempt did not end the row.
enum Retry {
    /// A transient answer: worth another attempt.
    Answer(Answer),
    /// The run stopped before the attempt could be sent.
    Stopped,
}

/// Sends one row (the scheduler has already taken its first slot of the rates, and its first
/// in-flight slot, `permit`) and reports it.
pub(super) async fn process(shared: &Shared, row: Pending, permit: OwnedSemaphorePermit) {
    let started = Instant::now();
    let target = row.target;
    let id = target.identity();
    if let Some(journal) = &shared.journal
        && let Err(e) = journal.record(&target)
    {
        tracing::error!("{e}; stopping, since a crash now could not be resumed safely");
        shared.stop.request(StopReason::ReportFailed);
        shared.settle(shared.skipped(row.line, &target), &target, row.repeated);
        return;
    }
    let attempts = AtomicU32::new(0);
    // Some earlier attempt may have been carried out without its answer reaching us.
    let maybe_sent = AtomicBool::new(shared.unsettled.contains(&id));
    let last_transient: Mutex<Option<Answer>> = Mutex::new(None);

    let first_permit = Mutex::new(Some(permit));
    let attempt = || async {
        let n = attempts.fetch_add(1, Ordering::Relaxed);
        // A request holds an in-flight slot only while it is on the wire, not while it backs off.
        let first = first_permit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let _in_flight = match first {
            Some(permit) => permit,
            None => tokio::select! {
                permit = shared.in_flight.clone().acquire_owned() => permit.map_err(|_| Retry::Stopped)?,
                () = shared.stop.wait() => return Err(Retry::Stopped),
            },
        };
        if n > 0 {
            // Retries wait like everyone else: the pause, the global rate, the project's rate.
            if !wait_for_pause(shared).await {
                return Err(Retry::Stopped);
            }
            tokio::select! {
                () = shared.throttle.ready() => {}
                () = shared.stop.wait() => return Err(Retry::Stopped),
            }
            if let Some(limiter) = &shared.project_limiter {
                let project = target.project.bytes();
                tokio::select! {
                    () = limiter.until_key_ready(&project) => {}
                    () = shared.stop.wait() => return Err(Retry::Stopped),
                }
            }
        }
        // A 429 may have paused everyone while this attempt waited for its slots.
        if !wait_for_pause(shared).await {
            return Err(Retry::Stopped);
        }
        let answer = shared.client.revoke(&target).await;
        // Decided while this request still holds its in-flight slot, so that no other request
        // can start between an answer that stops the run and the stop.
        watch_credentials(shared, &answer, &target);
        let throttled = match &answer {
            Answer::Transient {
                status: Some(429),
                retry_after,
                ..
            } => {
                // Without a Retry-After, everyone waits up to the first backoff step.
                let fallback = shared
                    .config
                    .backoff_min
                    .mul_f64(rand::rng().random::<f64>());
                Some(retry_after.unwrap_or(fallback))
            }
            _ => None,
        };
        shared.throttle.answered(throttled);
        if let Answer::Transient {
            ambiguous: true, ..
        } = &answer
        {
            maybe_sent.store(true, Ordering::Relaxed);
        }
        if answer.is_transient() {
            *last_transient.lock().unwrap_or_else(|p| p.into_inner()) = Some(answer.clone());
            Err(Retry::Answer(answer))
        } else {
            Ok(answer)
        }
    };

    let backoff = ExponentialBuilder::default()
        .with_min_delay(shared.config.backoff_min)
        .with_max_delay(shared.config.backoff_max)
        .with_max_times(shared.config.max_attempts.saturating_sub(1) as usize);
    let stop = shared.stop.clone();
    let result = attempt
        .retry(backoff)
        .sleep(move |delay: Duration| {
            let stop = stop.clone();
            async move {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stop.wait() => {}
                }
            }
        })
        .when(|e: &Retry| matches!(e, Retry::Answer(_)) && !shared.stop.is_set())
        .adjust(|e: &Retry, delay: Option<Duration>| {
            let delay = delay?;
            // Full jitter: anywhere from nothing to the exponential delay, so that workers failing
            // together do not retry together. A Retry-After overrides it (and, on a 429, has
            // already paused everyone).
            let jittered = delay.mul_f64(rand::rng().random::<f64>());
            match e {
                Retry::Answer(Answer::Transient {
                    retry_after: Some(wait),
                    ..
                }) => Some(*wait),
                _ => Some(jittered),
            }
        })
        .notify(|_, _| {
            shared.progress.retries.fetch_add(1, Ordering::Relaxed);
        })
        .await;

    let attempts = attempts.load(Ordering::Relaxed);
    let answer = match result {
        Ok(answer) => answer,
        Err(Retry::Answer(answer)) => answer,
        Err(Retry::Stopped) => match last_transient
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
        {
            Some(answer) => answer,
            None => {
                shared.settle(shared.skipped(row.line, &target), &target, row.repeated);
                return;
            }
        },
    };
    let record = outcome(
        shared,
        &row,
        answer,
        attempts,
        started,
        maybe_sent.load(Ordering::Relaxed),
    );
    if record.outcome == Outcome::Rejected || record.outcome == Outcome::Failed {
        tracing::warn!(
            line = record.line,
            project = %record.project,
            key = %record.key,
            status = record.http_status,
            error_code = %record.error_code,
            "{}: {}",
            record.outcome,
            record.message
        );
    }
    shared.settle(record, &target, row.repeated);
}

fn outcome(
    shared: &Shared,
    row: &Pending,
    answer: Answer,
    attempts: u32,
    started: Instant,
    maybe_sent: bool,
) -> Record {
    let target = &row.target;
    let (outcome, message) = match &answer {
        Answer::Done => (Outcome::Done, String::new()),
        Answer::NotFound { detail, .. } if maybe_sent => (
            Outcome::Done,
            format!(
                "404 now, after an earlier attempt that got no answer: that attempt revoked it ({detail})"
            ),
        ),
        Answer::NotFound { detail, .. } => (Outcome::NotFound, detail.clone()),
        Answer::Rejected { detail, .. } => (Outcome::Rejected, detail.clone()),
        Answer::Transient { detail, .. } => {
            let tries = if attempts == 1 {
                "1 attempt".to_string()
            } else {
                format!("{attempts} attempts")
            };
            (Outcome::Failed, format!("{detail} (after {tries})"))
        }
        Answer::CredentialsRejected { detail } | Answer::AuthUnusable { detail } => {
            (Outcome::Rejected, detail.clone())
        }
    };
    let mut record = shared.target_record(row.line, target, outcome);
    record.http_status = answer.http_status();
    record.error_code = answer.error_code().to_string();
    record.attempts = attempts;
    record.duration_ms = started.elapsed().as_millis() as u64;
    record.message = message;
    record
}

/// Stops the run when no request can succeed: the credentials or the challenge were refused, or
/// the key has no access to any project (403 on several projects, all of them if there are fewer,
/// before a single success).
fn watch_credentials(shared: &Shared, answer: &Answer, target: &crate::input::Target) {
    if let Answer::CredentialsRejected { detail } | Answer::AuthUnusable { detail } = answer {
        shared
            .stop
            .request(StopReason::CredentialsRejected(detail.clone()));
        return;
    }
    // Only a 403, or the first success, needs the lock; the hot path of a run takes none.
    let success = matches!(answer, Answer::Done | Answer::NotFound { .. });
    let forbidden = matches!(answer, Answer::Rejected { status: 403, .. });
    let first_success = success && !shared.any_success.load(Ordering::Relaxed);
    if !forbidden && !first_success {
        return;
    }
    let mut seen = shared.forbidden.lock().unwrap_or_else(|p| p.into_inner());
    let ForbiddenProjects {
        projects,
        any_success,
    } = &mut *seen;
    match answer {
        Answer::Done | Answer::NotFound { .. } => {
            *any_success = true;
            shared.any_success.store(true, Ordering::Relaxed);
        }
        Answer::Rejected { status: 403, .. } if !*any_success => {
            projects.insert(target.project.bytes());
            let needed = super::FORBIDDEN_PROJECTS_TO_STOP.min(shared.projects.max(1));
            if projects.len() as u64 >= needed {
                shared.stop.request(StopReason::CredentialsRejected(format!(
                    "403 Forbidden on every project tried ({}) and no success: check the API key's roles and access list",
                    projects.len()
                )));
            }
        }
        _ => {}
    }
}
