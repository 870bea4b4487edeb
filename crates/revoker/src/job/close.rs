//! The last stage of a run: its counts and exit code, the evidence closed (audit end, signature),
//! the summary, the verification when asked, the JSON document of `-o json`, and the metrics.

use std::path::{Path, PathBuf};

use crate::engine::{self, StopReason};
use crate::figures::Figures;
use crate::input::Survey;
use crate::job::Failure;
use crate::job::prepare::PreparedJob;
use crate::job::revoke::Sent;
use crate::job::session::Closed;
use crate::report::{Outcome, Summary, files, metrics};
use crate::ui::{Output, Outputs, console, out};
use crate::verify::Readers;
use crate::vocab::{ExitCode as _, exit};

/// What a run ended with: the exit code and, once it got that far, its summary.
pub struct Ran {
    pub code: i32,
    pub summary: Summary,
    /// Gauges of the job's ledger and exemptions, appended to the metrics.
    pub extra_metrics: String,
}

/// Counts the run, closes its evidence, says what happened, and verifies when asked.
pub async fn finish(
    job: &PreparedJob,
    report: &Path,
    survey: &Survey,
    sent: Sent,
    (outputs, readers): (&Outputs, &Readers),
) -> Result<Ran, Failure> {
    let Sent {
        closed,
        figures,
        result,
        owns,
    } = sent;
    let settings = &job.settings;
    let mut summary = summarize(&closed, &figures, &result, survey.already_finished);
    summary.not_attempted = survey
        .rows
        .saturating_sub(survey.already_finished + closed.written.rows);
    let mut code = exit_code(&summary, result.stopped.as_ref());
    // A selection that could not read every list may have left credentials it should have chosen.
    if !job.selection_problems().is_empty() {
        code = code.max(exit::UNFINISHED);
    }
    close_run(job, &closed, &summary, code, &result, outputs)?;
    if result.own_rows > 0 && result.stopped.is_none() {
        let names: Vec<&str> = owns.iter().map(|o| o.identity.as_str()).collect();
        tracing::warn!(
            "the credential this run signed in with ({}) was revoked last, as allowed: it is gone; later runs need another",
            names.join(", ")
        );
    }
    // With its own credential revoked, the run has nothing left to list with.
    let verification = if settings.run.verify && result.stopped.is_none() && result.own_rows == 0 {
        let (v, v_code) =
            super::verify::verify_report(settings, report, readers, job.sign_key.as_deref())
                .await?;
        code = code.max(v_code);
        Some(v)
    } else {
        None
    };
    if outputs.output == Output::Json {
        out(run_json(
            &closed,
            report,
            code,
            &result,
            &summary,
            verification,
        ));
    }
    Ok(Ran {
        code,
        summary,
        extra_metrics: String::new(),
    })
}

/// Writes the metrics; a failure to is a warning, never the run's exit code.
pub fn write_metrics(
    path: &Path,
    job: &str,
    summary: &Summary,
    code: i32,
    protected: &[(PathBuf, String)],
    extra: &str,
) {
    if files::refuse_protected(path, protected).is_err() {
        return;
    }
    let m = metrics::RunMetrics {
        job,
        summary,
        exit_code: code,
        ended: jiff::Timestamp::now().as_millisecond() as f64 / 1000.0,
    };
    if let Err(e) = metrics::write_with(path, &m, extra) {
        tracing::warn!("cannot write the metrics file {}: {e}", path.display());
    }
}

/// The one JSON document of `-o json`.
fn run_json(
    closed: &Closed,
    report: &Path,
    code: i32,
    result: &engine::RunResult,
    summary: &Summary,
    verification: Option<crate::verify::Verification>,
) -> serde_json::Value {
    serde_json::json!({
        "run_id": closed.run_id,
        "report": report.display().to_string(),
        "exit_code": code,
        "stopped": result.stopped.as_ref().map(ToString::to_string),
        "summary": summary,
        "rows_written": closed.written.rows,
        "problems": result.groups,
        "verification": verification,
    })
}

/// The run's counts, from what the client counted and the rows written.
fn summarize(
    closed: &Closed,
    figures: &Figures,
    result: &engine::RunResult,
    already_finished: u64,
) -> Summary {
    let mut summary = Summary {
        run_id: closed.run_id.clone(),
        already_finished,
        requests: Figures::get(&figures.requests),
        retries: Figures::get(&figures.retries),
        throttled: Figures::get(&figures.throttled),
        token_requests: Figures::get(&figures.token_requests),
        elapsed_ms: result.elapsed.as_millis() as u64,
        chain: closed.written.chain.clone(),
        ..Summary::default()
    };
    for outcome in Outcome::ALL {
        let n = figures.count(outcome);
        if n > 0 {
            summary.outcomes.insert(outcome, n);
        }
    }
    summary
}

/// The end of the run in the evidence (a copy of an input that cannot be read again, the audit
/// end, the signature) and on stderr (grouped problems, the summary).
fn close_run(
    job: &PreparedJob,
    closed: &Closed,
    summary: &Summary,
    code: i32,
    result: &engine::RunResult,
    outputs: &Outputs,
) -> Result<(), Failure> {
    let input_copy = if summary.not_attempted > 0 && !job.source.rereadable() {
        let copy = crate::report::sidecar(&closed.report, ".input");
        match job.source.keep_copy(&copy) {
            Ok(()) => Some(copy.display().to_string()),
            Err(e) => {
                tracing::warn!("cannot keep a copy of the input at {}: {e}", copy.display());
                None
            }
        }
    } else {
        None
    };
    let mut end = closed.end_record(summary, code, result.stopped.as_ref());
    end.input_copy = input_copy;
    if end.stopped.is_none() && !result.lanes_stopped.is_empty() {
        end.stopped = Some(result.lanes_stopped.join("; "));
    }
    let unread = job.selection_problems();
    end.selection_problems = (!unread.is_empty()).then_some(unread);
    let evidence = closed.end(end, job.sign_key.as_deref())?;
    for group in &result.groups {
        tracing::warn!("{}", group.line());
    }
    if summary.all_already_gone() {
        tracing::warn!("no key was revoked: every row was already gone — is the export stale?");
    }
    let mut outputs = outputs.clone();
    if let Ok(found) = &job.settings.credential {
        outputs.credential = format!(
            "{}, from {}",
            found.credential.public_identity(),
            found.source
        );
    }
    let outputs = &outputs;
    if !(outputs.quiet && code == exit::OK) {
        // The verification that follows adds to the audit file: its digest is the one to keep.
        let verifies = job.settings.run.verify && result.stopped.is_none() && result.own_rows == 0;
        print_summary(
            summary,
            result.stopped.as_ref(),
            (&closed.report, &evidence, verifies),
            closed.written.rows,
            code,
            outputs,
        );
    }
    Ok(())
}

fn exit_code(summary: &Summary, stopped: Option<&StopReason>) -> i32 {
    match stopped {
        Some(reason) => reason.exit_code(),
        None if summary.unfinished() > 0 => exit::UNFINISHED,
        None => exit::OK,
    }
}

/// What to do next: continue (never with the base URL that proved wrong), and hand the rows over
/// unless the stop was the credential's, which a resume with a working one finishes.
fn next_steps(hint: &str, stopped: Option<&StopReason>, report: &Path) -> String {
    let hand_over = format!(
        "\n  to hand over: {}",
        shell_words::join([
            "revoker",
            "report",
            &report.display().to_string(),
            "--failures",
            "FILE.csv"
        ])
    );
    match stopped {
        Some(StopReason::NotTheApi(_)) => {
            let mut words = shell_words::split(hint).unwrap_or_default();
            let mut i = 0;
            while i < words.len() {
                if words[i] == "--base-url" && i + 1 < words.len() {
                    words[i + 1] = "BASE_URL".into();
                } else if words[i].starts_with("--base-url=") {
                    words[i] = "--base-url=BASE_URL".into();
                }
                i += 1;
            }
            format!(
                "\n  to continue, with the right base URL: {}{hand_over}",
                shell_words::join(words)
            )
        }
        Some(
            StopReason::CredentialsRejected(_)
            | StopReason::AuthUnusable(_)
            | StopReason::AccessList(_),
        ) => format!("\n  to continue, once the credential works: {hint}"),
        _ => format!("\n  to continue: {hint}{hand_over}"),
    }
}

/// What to say instead of a continue line when a resume would change nothing now: every row
/// left is invalid (never sent, whatever runs), or refused by the API (sent again only once the
/// credential may).
fn left_alone(summary: &Summary, stopped: Option<&StopReason>) -> Option<String> {
    let (invalid, refused) = (
        summary.count(Outcome::Invalid),
        summary.count(Outcome::Rejected),
    );
    if stopped.is_some() || summary.unfinished() != invalid + refused {
        return None;
    }
    let fix = "invalid rows are never sent: correct them in the input (revoker validate names them) and run it again";
    Some(match (invalid, refused) {
        (_, 0) => fix.to_string(),
        (0, _) => "the rows left were refused by the API: a resume sends them again once the credential may act on them (their reasons are in the report)".to_string(),
        _ => format!("{fix}; the refused rows go again on a resume once the credential may act on them"),
    })
}

fn print_summary(
    summary: &Summary,
    stopped: Option<&StopReason>,
    (report, evidence, verifies): (&Path, &str, bool),
    written: u64,
    code: i32,
    outputs: &Outputs,
) {
    let c = console();
    let mut text = String::new();
    if let Some(reason) = stopped {
        text.push_str(&format!("revoker: stopped: {reason}\n"));
        if matches!(
            reason,
            StopReason::CredentialsRejected(_)
                | StopReason::AuthUnusable(_)
                | StopReason::AccessList(_)
        ) && !outputs.credential.is_empty()
        {
            text.push_str(&format!("  the credential: {}\n", outputs.credential));
        }
    }
    text.push_str(&format!("{summary}\n"));
    text.push_str(&format!(
        "  report: {} ({} written)\n  {}: {evidence}",
        report.display(),
        crate::text::plural(written, "row", "rows"),
        if verifies {
            "evidence digest after the run (the verification below adds to it: keep its digest)"
        } else {
            "evidence digest (keep it elsewhere; revoker report --expect-digest checks it)"
        }
    ));
    if let Some(hint) = &outputs.resume_hint
        && (summary.unfinished() > 0 || stopped.is_some())
    {
        text.push_str(&match left_alone(summary, stopped) {
            Some(why) if summary.count(Outcome::Rejected) > 0 => {
                let steps = next_steps(hint, stopped, report);
                let hand_over = steps.find("\n  to hand over").map_or("", |i| &steps[i..]);
                format!("\n  {why}{hand_over}")
            }
            Some(why) => format!("\n  {why}"),
            None => next_steps(hint, stopped, report),
        });
    }
    c.emit(
        if code == exit::OK { "INFO" } else { "WARN" },
        "revoker::summary",
        &text,
        serde_json::json!({
            "run_id": summary.run_id,
            "outcomes": summary.outcomes,
            "not_attempted": summary.not_attempted,
            "already_finished": summary.already_finished,
            "requests": summary.requests,
            "retries": summary.retries,
            "throttled": summary.throttled,
            "elapsed_ms": summary.elapsed_ms,
            "chain": summary.chain,
            "evidence_digest": evidence,
            "report": report.display().to_string(),
            "exit_code": code,
            "stopped": stopped.map(ToString::to_string),
            "resume_command": outputs.resume_hint,
        }),
    );
}
