//! A revocation run: lock, checks, the audit start, the engine, the summary, the audit end, an
//! optional verification, metrics, and the exit code.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

use crate::api::Client;
use crate::engine::{self, StopFlag, StopReason};
use crate::figures::Figures;
use crate::input::{Identity, Source, survey};
use crate::job::Failure;
use crate::report::audit::{self, AuditRecord};
use crate::report::{
    Outcome, ReportError, ReportLock, ReportWriter, SentJournal, Summary, metrics, read_state,
};
use crate::settings::Settings;
use crate::ui::progress::Display;
use crate::ui::{Output, Outputs, console, out};
use crate::vocab::{ExitCode as _, exit};

/// A run ready to go: its settings, its input read into a private copy, and its report.
pub struct PreparedJob {
    pub settings: Settings,
    pub source: Arc<Source>,
    pub report: PathBuf,
    pub resume: bool,
}

/// The first invalid rows of an input, for one log line.
#[derive(Default)]
struct InvalidRows {
    count: u64,
    first: Vec<(u64, String)>,
}

impl InvalidRows {
    fn log(&self, source: &Source) {
        if self.count == 0 {
            return;
        }
        let shown: Vec<String> = self
            .first
            .iter()
            .map(|(line, why)| format!("line {line}: {why}"))
            .collect();
        let more = self.count - self.first.len() as u64;
        tracing::warn!(
            "{} invalid {} in {} (not sent; in the report as invalid): {}{}",
            self.count,
            if self.count == 1 { "row" } else { "rows" },
            source.name(),
            shown.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        );
    }
}

/// Runs a prepared job: lock, checks, the run, the summary. Answers the exit code.
pub async fn execute_job(job: PreparedJob, outputs: Outputs) -> Result<i32, Failure> {
    let settings = &job.settings;
    let source = job.source.clone();
    let report = crate::report::canonical(&job.report);
    // Another run on this report: exit 4 before anything else, whatever else is wrong.
    let existing_lock = if report.exists() {
        Some(ReportLock::acquire(&report, false)?)
    } else {
        None
    };
    if existing_lock.is_some() && !job.resume {
        return Err(ReportError::Exists { path: job.report }.into());
    }
    let (finished, unsettled) = if existing_lock.is_some() {
        let state = read_state(&report)?;
        tracing::info!(
            "{}: {} rows of {} runs read; {} rows finished",
            report.display(),
            state.rows,
            state.runs,
            state.finished.len()
        );
        let settled = |id: &Identity| state.finished.contains(id) || state.answered.contains(id);
        let unsettled = SentJournal::read_unsettled(&report, &settled)?;
        (state.finished, unsettled)
    } else {
        (HashSet::new(), HashMap::new())
    };
    let opts = settings.input_options();
    for note in source.header_notes(&opts)? {
        tracing::warn!("{note}");
    }
    // The whole input is read once before anything is sent, so a broken file sends nothing.
    let mut invalid = InvalidRows::default();
    let survey = survey(&source, &opts, &finished, &mut |entry| {
        invalid.count += 1;
        if invalid.first.len() < 5
            && let Err(why) = &entry.target
        {
            invalid.first.push((entry.line, why.clone()));
        }
    })?;
    invalid.log(&source);
    let found = settings.credential.as_ref().map_err(Failure::usage)?;
    let figures = Arc::new(Figures::default());
    let client = Arc::new(Client::new(&settings.api_config(found), figures.clone())?);
    let _lock = match existing_lock {
        Some(lock) => lock,
        None => ReportLock::acquire(&report, true)?,
    };
    let writer = ReportWriter::open(&report)?;
    if writer.repaired > 0 {
        tracing::warn!(
            "{}: dropped an incomplete last line ({} bytes) left by a run that crashed",
            report.display(),
            writer.repaired
        );
    }
    let run_id = crate::report::new_run_id();
    let mut start = AuditRecord {
        job: settings.job_path.as_ref().map(|p| p.display().to_string()),
        input: Some(
            source
                .path()
                .map(|p| crate::report::canonical(p).display().to_string())
                .unwrap_or_else(|| source.name().to_string()),
        ),
        input_sha256: Some(source.sha256().to_string()),
        input_rows: Some(survey.rows),
        allowed_kinds: Some(
            settings
                .values
                .kinds
                .iter()
                .flatten()
                .map(|k| k.to_string())
                .collect(),
        ),
        read_as: Some((&opts).into()),
        ..AuditRecord::start(
            &run_id,
            "run",
            found.credential.public_identity(),
            settings.base_url.to_string(),
            settings.api.to_string(),
            writer.chain.clone(),
        )
    };
    audit::append(&report, &mut start)?;
    let (sink, writer_thread) = writer.spawn()?;
    let journal = SentJournal::open(&report)?;

    let stop = StopFlag::default();
    let signals = super::signals::listen_for_signals(stop.clone());
    let config = settings.engine_config();
    let ctx = Arc::new(engine::Context::new(
        client.clone(),
        config,
        stop.clone(),
        survey.scopes,
    ));
    let display = Display::start(figures.clone(), &outputs);
    let rows = survey.rows;
    let already_finished = survey.already_finished;
    let run = engine::Run {
        run_id: run_id.clone(),
        source: source.clone(),
        input: opts,
        survey,
        finished,
        unsettled,
        sink,
        journal: Some(journal),
    };
    let result = engine::execute(ctx.clone(), run).await;
    display.finish();
    let written = writer_thread
        .join()
        .map_err(|_| Failure::usage("the report writer thread panicked"))?
        .context("writing the report failed; rows after the failure were not recorded")?;
    let result = result?;
    SentJournal::settle(&report, &result.unsettled)?;

    let mut summary = Summary {
        run_id: run_id.clone(),
        already_finished,
        requests: Figures::get(&figures.requests),
        retries: Figures::get(&figures.retries),
        throttled: Figures::get(&figures.throttled),
        token_requests: Figures::get(&figures.token_requests),
        elapsed_ms: result.elapsed.as_millis() as u64,
        chain: written.chain.clone(),
        ..Summary::default()
    };
    for outcome in Outcome::ALL {
        let n = figures.count(outcome);
        if n > 0 {
            summary.outcomes.insert(outcome, n);
        }
    }
    summary.not_attempted = rows.saturating_sub(already_finished + written.rows);
    let mut code = exit_code(&summary, result.stopped.as_ref());
    let input_copy = if summary.not_attempted > 0 && !source.rereadable() {
        let copy = crate::report::sidecar(&report, ".input");
        match source.keep_copy(&copy) {
            Ok(()) => Some(copy.display().to_string()),
            Err(e) => {
                tracing::warn!("cannot keep a copy of the input at {}: {e}", copy.display());
                None
            }
        }
    } else {
        None
    };
    let mut end = end_record(
        &run_id,
        "run",
        &summary,
        written.rows,
        code,
        result.stopped.as_ref(),
    );
    end.input_copy = input_copy;
    audit::append(&report, &mut end)?;

    for line in &result.groups {
        tracing::warn!("{line}");
    }
    if summary.all_already_gone() {
        tracing::warn!("no key was revoked: every row was already gone — is the export stale?");
    }
    let show = !(outputs.quiet && code == exit::OK);
    if show {
        print_summary(
            &summary,
            result.stopped.as_ref(),
            &report,
            written.rows,
            code,
            &outputs,
        );
    }
    let verification = if settings.values.verify.unwrap_or(false) && result.stopped.is_none() {
        let ctx = ctx_for_verify(&client, settings, &stop);
        let (v, v_code) = super::verify::verify_report(settings, &report, &ctx).await?;
        code = code.max(v_code);
        Some(v)
    } else {
        None
    };
    if let Some(path) = &settings.values.metrics_file {
        let m = metrics::RunMetrics {
            job: &settings.job_name,
            summary: &summary,
            exit_code: code,
            ended: jiff::Timestamp::now().as_millisecond() as f64 / 1000.0,
        };
        metrics::write(path, &m)
            .with_context(|| format!("cannot write the metrics file {}", path.display()))?;
    }
    if outputs.output == Output::Json {
        out(serde_json::json!({
            "run_id": run_id,
            "report": report.display().to_string(),
            "exit_code": code,
            "stopped": result.stopped.as_ref().map(ToString::to_string),
            "summary": summary,
            "rows_written": written.rows,
            "problems": result.groups,
            "verification": verification,
        }));
    }
    signals.abort();
    Ok(code)
}

/// A verification after the run uses the same client, settings and stop as the run.
fn ctx_for_verify(
    client: &Arc<Client>,
    settings: &Settings,
    stop: &StopFlag,
) -> Arc<engine::Context> {
    Arc::new(engine::Context::new(
        client.clone(),
        settings.engine_config(),
        stop.clone(),
        1,
    ))
}

/// The audit record of a run's end.
pub(crate) fn end_record(
    run_id: &str,
    command: &str,
    summary: &Summary,
    rows_written: u64,
    code: i32,
    stopped: Option<&StopReason>,
) -> AuditRecord {
    AuditRecord {
        event: "end".into(),
        run_id: run_id.to_string(),
        command: command.into(),
        at: crate::report::timestamp(),
        outcomes: Some(
            summary
                .outcomes
                .iter()
                .map(|(o, n)| (o.to_string(), *n))
                .collect(),
        ),
        not_attempted: Some(summary.not_attempted),
        already_finished: Some(summary.already_finished),
        requests: Some(summary.requests),
        throttled: Some(summary.throttled),
        retries: Some(summary.retries),
        token_requests: Some(summary.token_requests),
        rows_written: Some(rows_written),
        elapsed_ms: Some(summary.elapsed_ms),
        exit_code: Some(code),
        stopped: stopped.map(ToString::to_string),
        chain: Some(summary.chain.clone()),
        ..AuditRecord::default()
    }
}

fn exit_code(summary: &Summary, stopped: Option<&StopReason>) -> i32 {
    match stopped {
        Some(reason) => reason.exit_code(),
        None if summary.unfinished() > 0 => exit::UNFINISHED,
        None => exit::OK,
    }
}

fn print_summary(
    summary: &Summary,
    stopped: Option<&StopReason>,
    report: &Path,
    written: u64,
    code: i32,
    outputs: &Outputs,
) {
    let c = console();
    let mut text = String::new();
    if let Some(reason) = stopped {
        text.push_str(&format!("revoker: stopped: {reason}\n"));
    }
    text.push_str(&format!("{summary}\n"));
    text.push_str(&format!(
        "  report: {} ({written} rows written)",
        report.display()
    ));
    if let Some(hint) = &outputs.resume_hint
        && (summary.unfinished() > 0 || stopped.is_some())
    {
        text.push_str(&format!(
            "\n  to continue: {hint}\n  to hand over: {}",
            shell_words::join([
                "revoker",
                "report",
                &report.display().to_string(),
                "--failures",
                "FILE.csv"
            ])
        ));
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
            "report": report.display().to_string(),
            "exit_code": code,
            "stopped": stopped.map(ToString::to_string),
            "resume_command": outputs.resume_hint,
        }),
    );
}
