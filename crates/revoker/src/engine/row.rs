//! One row of a revocation run: journal it, send it with retries, and report its outcome (and the
//! outcome of its later copies).

use std::time::Instant;

use super::{Dispatch, Pending, Shared, StopReason};
use crate::api::Answer;
use crate::figures::Figures;
use crate::report::{Outcome, Record};

/// Sends one row (the scheduler gave it its first go-ahead) and reports it. Answers its record.
pub(super) async fn process(shared: &Shared, row: Pending, dispatch: Dispatch) -> Option<Record> {
    let ctx = &shared.ctx;
    let target = row.target;
    let id = target.identity();
    let place = match &shared.cap {
        Some(cap) => match cap.reserve().await {
            Some(place) => Some((cap, place)),
            None => {
                ctx.pacer.cancel(target.scope);
                ctx.outage.release(dispatch.pass);
                if cap.plan_stands() && shared.plan_gone.contains(&id) {
                    return Some(gone_by_the_plan(shared, row.line, &target, cap.max()));
                }
                ctx.stop.request(StopReason::CapReached(cap.max()));
                return None;
            }
        },
        None => None,
    };
    if let Some(journal) = &shared.journal
        && let Err(e) = journal.record(&target)
    {
        tracing::error!("{e}; stopping, since a crash now could not be resumed safely");
        ctx.stop.request(StopReason::ReportFailed);
        ctx.pacer.cancel(target.scope);
        ctx.outage.release(dispatch.pass);
        return None;
    }
    Figures::bump(&ctx.figures.started);
    let started = Instant::now();
    let was_unsettled = shared
        .unsettled
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains_key(&id);
    let (answer, attempted) =
        super::attempt::revoke_with_retries(ctx, target.scope, dispatch, &target).await;
    let answer = super::model_key::spelled_otherwise_in_project(ctx, &target, &answer)
        .await
        .unwrap_or(answer);
    // A project's secret the project no longer reaches is its organization's to delete.
    let (answer, sent, note) = match shared.secrets.through_org(ctx, &target, &answer).await {
        Some(t) => (t.answer, attempted.sent + t.sent, t.note),
        None => (answer, attempted.sent, String::new()),
    };
    let mut record = shared.record(row.line, &target);
    let (outcome, message) = outcome(&answer, sent, was_unsettled || attempted.maybe_sent);
    if let Some((cap, place)) = place {
        if outcome == Outcome::Done && shared.plan_gone.contains(&id) {
            cap.refute_plan();
        }
        let lost = outcome == Outcome::Failed && attempted.maybe_sent;
        cap.settle(place, outcome == Outcome::Done || lost);
    }
    record.outcome = outcome;
    record.message = match (note.is_empty(), message.is_empty()) {
        (true, _) => message,
        (false, true) => note,
        (false, false) => format!("{note}: {message}"),
    };
    record.http_status = answer.http_status();
    record.error_code = answer.error_code().to_string();
    record.attempts = sent;
    record.duration_ms = started.elapsed().as_millis() as u64;

    settle(
        shared,
        &target,
        outcome,
        attempted.maybe_sent,
        was_unsettled,
    );
    Some(written(shared, record, &target))
}

/// Reports `record` (and the copies of its row waiting on it).
fn written(shared: &Shared, record: Record, target: &crate::input::Target) -> Record {
    shared
        .groups
        .add(&record, &[Outcome::Rejected, Outcome::Failed]);
    let settled = super::copies::Settled::of(&record);
    for line in shared.copies.settle(target.identity(), settled) {
        let copy = super::copies::Settled::of(&record).copy(shared.record(line, target), line);
        shared.report(copy);
    }
    shared.report(record.clone());
    record
}

/// A row the cap no longer lets the run send, which the plan's complete listing showed gone:
/// recorded by that evidence, with no DELETE.
fn gone_by_the_plan(shared: &Shared, line: u64, target: &crate::input::Target, max: u64) -> Record {
    let mut record = shared.record(line, target);
    record.outcome = Outcome::NotFound;
    record.message = format!(
        "not sent: max_revocations {max} is spent, and the plan's complete listing showed it gone"
    );
    written(shared, record, target)
}

/// What the journal keeps of a row: nothing once the API answered it; the row when this run's
/// attempt may have reached the server without an answer; and when no attempt of this run reached
/// it (refused connections), its journal line is withdrawn, unless an earlier run's may have.
fn settle(
    shared: &Shared,
    target: &crate::input::Target,
    outcome: Outcome,
    maybe_sent: bool,
    was_unsettled: bool,
) {
    let id = target.identity();
    let mut unsettled = shared.unsettled.lock().unwrap_or_else(|p| p.into_inner());
    match outcome {
        Outcome::Done | Outcome::NotFound | Outcome::Rejected => {
            unsettled.remove(&id);
        }
        _ if maybe_sent => {
            unsettled.insert(id, *target);
        }
        _ => {
            if !was_unsettled
                && let Some(journal) = &shared.journal
                && let Err(e) = journal.withdraw(target)
            {
                tracing::warn!("{e}");
            }
        }
    }
}

fn outcome(answer: &Answer, sent: u32, maybe_sent: bool) -> (Outcome, String) {
    match answer {
        Answer::Done { .. } => (Outcome::Done, String::new()),
        Answer::NotFound { status, detail, .. } if maybe_sent && !answer.scope_gone() => (
            Outcome::Done,
            format!(
                "{status} not found now, after an earlier attempt that got no answer: that attempt revoked it ({detail})"
            ),
        ),
        Answer::NotFound { detail, .. } => (Outcome::NotFound, detail.clone()),
        Answer::Rejected { detail, .. } => (Outcome::Rejected, detail.clone()),
        Answer::Transient { detail, .. } => {
            let tries = if sent == 1 {
                "1 attempt".to_string()
            } else {
                format!("{sent} attempts")
            };
            (Outcome::Failed, format!("{detail} (after {tries})"))
        }
        // The run stops on these: they judge the credential or the URL, not this row.
        Answer::Fatal(_) => (Outcome::Failed, answer.detail().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_found(status: u16, code: &str) -> Answer {
        Answer::NotFound {
            status,
            code: code.into(),
            detail: "gone".into(),
        }
    }

    #[test]
    fn a_key_missing_after_a_lost_answer_was_revoked_by_it_but_a_missing_project_proves_nothing() {
        let (outcome_of, _) = outcome(&not_found(400, "API_KEY_NOT_FOUND"), 1, true);
        assert_eq!(outcome_of, Outcome::Done);
        let (outcome_of, _) = outcome(&not_found(404, "AGENT_API_KEY_NOT_FOUND"), 1, true);
        assert_eq!(outcome_of, Outcome::Done);
        for code in ["GROUP_NOT_FOUND", "ORG_NOT_FOUND", "INVALID_GROUP_ID"] {
            let (outcome_of, message) = outcome(&not_found(404, code), 1, true);
            assert_eq!(
                (outcome_of, message.as_str()),
                (Outcome::NotFound, "gone"),
                "{code}"
            );
        }
        let (outcome_of, _) = outcome(&not_found(400, "API_KEY_NOT_FOUND"), 1, false);
        assert_eq!(outcome_of, Outcome::NotFound);
    }
}
