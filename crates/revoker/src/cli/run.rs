//! `revoker run`: settings, the report to write or continue, checks before anything is sent, the run
//! itself, its audit record, summary, metrics, optional verification, and the exit code.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::console::console;
use super::progress::Display;
use super::{Failure, Output, RunArgs, exit, out};
use crate::api::Client;
use crate::engine::{self, StopFlag, StopReason};
use crate::figures::Figures;
use crate::input::{Identity, Source, survey};
use crate::report::audit::{self, AuditRecord};
use crate::report::{
    Outcome, ReportError, ReportLock, ReportWriter, SentJournal, Summary, metrics, read_state,
};
use crate::settings::{Settings, default_report_path, expand_report_path};

/// What the run prints.
#[derive(Clone, Debug)]
pub struct Outputs {
    /// No progress, and no summary when every row finished.
    pub quiet: bool,
    /// Interval of the plain progress lines (when stderr is not a terminal).
    pub progress_every: Duration,
    pub output: Output,
    /// The command that continues this run (`None`: print no hint, the caller explains).
    pub resume_hint: Option<String>,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs {
            quiet: false,
            progress_every: Duration::from_secs(10),
            output: Output::Text,
            resume_hint: None,
        }
    }
}

/// A run ready to go: its settings, its input read into a private copy, and its report.
pub struct PreparedJob {
    pub settings: Settings,
    pub source: Arc<Source>,
    pub report: PathBuf,
    pub resume: bool,
}

fn flags(args: &RunArgs) -> crate::settings::JobFile {
    let mut job = args.connection.layer(args.how.layer());
    job.input = args.input.clone();
    job.report = args.report.clone();
    job.resume = args.resume.then_some(true);
    job.metrics_file = args.metrics_file.clone();
    job.verify = match (args.verify, args.no_verify) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    job
}

/// The command line as typed, with `--resume` added: the command that continues this run.
fn resume_command() -> String {
    let mut words: Vec<String> = std::env::args().collect();
    if !words.iter().any(|w| w == "--resume") {
        words.push("--resume".into());
    }
    shell_words::join(words)
}

pub(super) async fn command(args: RunArgs) -> Result<i32, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let settings = Settings::resolve(args.job.as_deref(), flags(&args), &env)?;
    if args.print_config {
        let report = settings
            .values
            .report
            .as_deref()
            .map(|t| expand_report_path(t, &settings.job_name, &jiff::Zoned::now()))
            .or_else(|| {
                settings
                    .values
                    .input
                    .as_deref()
                    .and_then(default_report_path)
            });
        out(settings.print(report.as_deref()).trim_end());
        return Ok(exit::OK);
    }
    let input = settings.values.input.clone().ok_or_else(|| {
        Failure::usage("no input: pass --input PATH (or - for stdin), or set input in the job file")
    })?;
    if !args.dry_run {
        // Settings first: a missing credential is said before the input is read.
        settings.credential.as_ref().map_err(Failure::usage)?;
    }
    let source = Arc::new(Source::open(&input)?);
    if args.dry_run {
        return dry_run(&settings, &source);
    }
    let (report, resume) = choose_report(&settings, &source, args.resume)?;
    let prepared = PreparedJob {
        settings,
        source,
        report,
        resume,
    };
    execute_job(
        prepared,
        Outputs {
            quiet: args.quiet,
            progress_every: args.progress_every,
            output: args.output,
            resume_hint: Some(resume_command()),
        },
    )
    .await
}

/// The report this run writes, and whether it continues it.
///
/// A path without `{time}` names one report: it is continued when it exists and `--resume` (or the
/// job's `resume = true`) asks; `--resume` for a report that does not exist is an error unless the
/// job says `resume = true` (a nightly job's first run of the day). A path with `{time}` names a new
/// report per run; `--resume` then continues the newest unfinished report of this job whose input
/// had the same SHA-256 (matching any `{date}` too, so an incident that crossed midnight resumes).
fn choose_report(
    settings: &Settings,
    source: &Source,
    resume_flag: bool,
) -> Result<(PathBuf, bool), Failure> {
    let job_resume = settings.job_resumes;
    let resume = resume_flag || job_resume;
    let now = jiff::Zoned::now();
    let Some(template) = settings.values.report.clone() else {
        let report = default_report_path(source.path().unwrap_or(Path::new("-")))
            .ok_or_else(|| Failure::usage("reading from stdin needs --report PATH"))?;
        return explicit(report, resume_flag, job_resume);
    };
    if !template.contains("{time}") {
        return explicit(
            expand_report_path(&template, &settings.job_name, &now),
            resume_flag,
            job_resume,
        );
    }
    let fresh = expand_report_path(&template, &settings.job_name, &now);
    if !resume {
        return Ok((fresh, false));
    }
    let pattern = template.replace("{job}", &settings.job_name);
    let pattern = if resume_flag {
        pattern.replace("{date}", "*")
    } else {
        pattern.replace("{date}", &now.strftime("%Y-%m-%d").to_string())
    };
    match newest_unfinished(&pattern.replace("{time}", "*"), source.sha256()) {
        Some(found) => {
            console().note(
                "revoker::resume",
                &format!(
                    "resuming {} (the newest unfinished report of this job and input)",
                    found.display()
                ),
            );
            Ok((found, true))
        }
        None if resume_flag => Err(Failure::usage(format!(
            "--resume: nothing to resume: no unfinished report matching {} for input {} (SHA-256 {}); drop --resume to start a new report",
            pattern.replace("{time}", "*"),
            source.name(),
            source.sha256()
        ))),
        None => Ok((fresh, false)),
    }
}

fn explicit(
    report: PathBuf,
    resume_flag: bool,
    job_resume: bool,
) -> Result<(PathBuf, bool), Failure> {
    if report.exists() {
        return Ok((report, resume_flag || job_resume));
    }
    if resume_flag && !job_resume {
        return Err(ReportError::NothingToResume { path: report }.into());
    }
    Ok((report, false))
}

/// Matches a file name against a pattern whose only wildcard is `*`.
fn matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return pattern == name;
    };
    if parts.len() == 1 {
        return pattern == name;
    }
    if !name.starts_with(first) || !name.ends_with(last) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The newest report matching `pattern` (wildcards in the file name only) whose last run read an
/// input with `sha256` and did not end with every row finished.
fn newest_unfinished(pattern: &str, sha256: &str) -> Option<PathBuf> {
    let pattern = Path::new(pattern);
    let dir = pattern
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = pattern.file_name()?.to_str()?;
    let mut candidates: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| matches(name, n)))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    candidates.into_iter().map(|(_, p)| p).find(|path| {
        let Ok(log) = audit::read(path) else {
            return false;
        };
        let Some(start) = log.last_run_start() else {
            return false;
        };
        let end = log
            .records
            .iter()
            .rev()
            .find(|r| r.event == "end" && r.run_id == start.run_id);
        start.input_sha256.as_deref() == Some(sha256)
            && end.is_none_or(|e| e.exit_code != Some(exit::OK))
    })
}

/// Validates, then prints the requests a run would send; sends nothing and writes nothing.
fn dry_run(settings: &Settings, source: &Source) -> Result<i32, Failure> {
    let opts = settings.input_options();
    let survey = survey(source, &opts, &HashSet::new(), &mut |entry| {
        if let Err(reason) = &entry.target {
            console().note(
                "revoker::input",
                &format!("{}:{}: {reason}", source.name(), entry.line),
            );
        }
    })?;
    let envelope = settings.values.envelope.unwrap_or(false);
    let mut seen: HashSet<Identity> = HashSet::new();
    source.scan(&opts, &mut |entry| {
        if let Ok(target) = entry.target
            && seen.insert(target.identity())
        {
            out(format!(
                "DELETE {}",
                settings
                    .api
                    .revoke_url(&settings.base_url, &target, envelope)
            ));
        }
        ControlFlow::Continue(())
    })?;
    console().note(
        "revoker::summary",
        &format!(
            "dry run: {} rows · {} to send · {} invalid · {} duplicates · {} projects and organizations; nothing was sent",
            survey.rows, survey.to_send, survey.invalid, survey.duplicates, survey.scopes
        ),
    );
    Ok(if survey.invalid > 0 {
        exit::UNFINISHED
    } else {
        exit::OK
    })
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
    let signals = listen_for_signals(stop.clone());
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
pub(super) fn end_record(
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

/// First SIGINT/SIGTERM: stop starting rows and drain. Second: quit at once (the report stays
/// valid: every row is flushed whole as it finishes).
fn listen_for_signals(stop: StopFlag) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            tracing::warn!("cannot listen for signals; Ctrl-C will stop the run without a summary");
            return;
        };
        let reason = tokio::select! {
            _ = int.recv() => StopReason::Interrupted,
            _ = term.recv() => StopReason::Terminated,
        };
        stop.request(reason);
        console().note(
            "revoker::signal",
            "revoker: stopping: finishing the requests in flight (signal again to quit at once)",
        );
        let code = tokio::select! {
            _ = int.recv() => exit::SIGINT,
            _ = term.recv() => exit::SIGTERM,
        };
        std::process::exit(code);
    })
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn file_name_patterns() {
        assert!(matches(
            "incident-*-*.csv",
            "incident-2026-11-25-101500.csv"
        ));
        assert!(!matches(
            "incident-*-*.csv",
            "incident-2026-11-25-101500.csv.audit.jsonl"
        ));
        assert!(!matches("incident-*.csv", "nightly-1.csv"));
        assert!(matches("a.csv", "a.csv"));
    }
}
