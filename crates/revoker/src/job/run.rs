//! A revocation run: lock, checks, the audit start, the engine, the summary, the audit end, an
//! optional verification, metrics, and the exit code.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::{self, StopFlag, StopReason};
use crate::figures::Figures;
use crate::input::{Exemptions, Identity, Source, Survey, Target, survey};
use crate::job::Failure;
use crate::job::acting::load_sign_key;
use crate::job::lanes::Lanes;
use crate::job::report_path::choose_report;
use crate::job::session::{Closed, Session};
use crate::report::audit::AuditRecord;
use crate::report::{
    Outcome, ReportError, ReportLock, SentJournal, Summary, files, metrics, read_state, signature,
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
    /// The key that signs the report's manifest at the end, read before anything is sent.
    pub sign_key: Option<Arc<signature::SigningKey>>,
    /// Credentials never sent.
    pub exempt: Arc<Exemptions>,
    /// What a policy job's selection did, when it selected this run's input.
    pub selection: Option<serde_json::Value>,
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

/// What a run ended with: the exit code and, once it got that far, its summary.
pub struct Ran {
    pub code: i32,
    pub summary: Summary,
}

/// Starts a run from its settings: reads the input once, chooses the report, runs it. The metrics
/// file (when one is set) is written on every exit once the settings are known, so a failed night
/// is not hidden behind yesterday's `revoker_exit_code 0`.
pub async fn run(
    mut settings: Settings,
    resume_flag: bool,
    mut outputs: Outputs,
) -> Result<i32, Failure> {
    let metrics = settings.run.metrics_file.clone();
    let job_name = settings.job_name.clone();
    let selection = match policy_input(&mut settings, resume_flag).await {
        Ok((selection, pinned)) => {
            // A new {time} or {date} would select again into another report: the continue line
            // names the report that exists.
            if let (Some(report), Some(hint)) = (pinned, outputs.resume_hint.as_mut()) {
                *hint = with_report(hint, &report);
            }
            selection
        }
        Err(f) => {
            if let Some(path) = &metrics {
                write_metrics(path, &job_name, &Summary::default(), f.code, &[]);
            }
            return Err(f);
        }
    };
    // Until the report is chosen, the input is the one file known to protect.
    let mut protected: Vec<(PathBuf, String)> = settings
        .values
        .input
        .iter()
        .map(|i| (crate::report::canonical(i), "the input".to_string()))
        .collect();
    let result = match prepare(settings, resume_flag, &mut protected) {
        Ok(mut job) => {
            job.selection = selection;
            execute(job, outputs).await
        }
        Err(e) => Err(e),
    };
    if let Some(path) = &metrics {
        let (code, summary) = match &result {
            Ok(ran) => (ran.code, ran.summary.clone()),
            Err(f) => (f.code, Summary::default()),
        };
        write_metrics(path, &job_name, &summary, code, &protected);
    }
    result.map(|ran| ran.code)
}

/// `hint` with `--report REPORT` in place of any `--report` it had.
fn with_report(hint: &str, report: &Path) -> String {
    let Ok(words) = shell_words::split(hint) else {
        return hint.to_string();
    };
    let mut kept = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        if w == "--report" {
            words.next();
        } else if !w.starts_with("--report=") {
            kept.push(w);
        }
    }
    kept.push("--report".into());
    kept.push(report.display().to_string());
    shell_words::join(kept)
}

/// A policy job without an input selects it now, beside its report (which the job must name).
/// Answers what the selection did, and the report when its path was a template.
async fn policy_input(
    settings: &mut Settings,
    resume_flag: bool,
) -> Result<(Option<serde_json::Value>, Option<PathBuf>), Failure> {
    if settings.values.select.is_none() || settings.values.input.is_some() {
        return Ok((None, None));
    }
    let template = settings.values.report.clone().ok_or_else(|| {
        Failure::usage(
            "a job with [select] needs report = \"…\" (its selection is kept beside the report)",
        )
    })?;
    let report =
        crate::settings::expand_report_path(&template, &settings.job_name, &jiff::Zoned::now());
    // The selection names this run's report: a {time} in the template is fixed now.
    settings.values.report = Some(report.display().to_string());
    let resume = resume_flag || settings.job_resumes;
    let report = crate::report::canonical(&report);
    let selection = super::select::select_for_run(settings, &report, resume).await?;
    let pinned = (template.contains("{time}") || template.contains("{date}")).then_some(report);
    Ok((selection, pinned))
}

/// What a policy job's selection could not read: the run is then not finished.
fn selection_problems(job: &PreparedJob) -> Vec<String> {
    job.selection
        .as_ref()
        .and_then(|s| s["problems"].as_array())
        .map(|p| {
            p.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The input read into its private copy, the report chosen, and the metrics file checked against
/// the files it must never replace (exit 2 before anything is sent).
/// `protected` is filled as soon as the report is known, so that even a refused run never writes
/// its metrics over the evidence.
fn prepare(
    mut settings: Settings,
    resume_flag: bool,
    protected: &mut Vec<(PathBuf, String)>,
) -> Result<PreparedJob, Failure> {
    let input = settings.values.input.clone().ok_or_else(|| {
        Failure::usage("no input: pass --input PATH (or - for stdin), or set input in the job file")
    })?;
    // Settings first: a missing credential is said before the input is read (a job with a
    // credential per organization may have no default one).
    if settings.org_credentials.is_empty() {
        settings.credential.as_ref().map_err(Failure::usage)?;
    }
    for oc in &settings.org_credentials {
        oc.credential.as_ref().map_err(Failure::usage)?;
    }
    let source = Arc::new(Source::open(&input)?);
    let (report, resume) = choose_report(&settings, &source, resume_flag)?;
    *protected = files::protected(&report, source.path());
    if resume && std::fs::metadata(&report).is_ok_and(|m| m.len() > 0) {
        // A report without a readable audit record (an early version's): the settings stand.
        if let Ok(log) = crate::report::audit::read(&report) {
            super::server::for_report(&mut settings, &report, &log)?;
            same_input(&settings, &report, &source, &log)?;
        }
    }
    if let Some(path) = &settings.run.metrics_file {
        files::refuse_protected(path, protected)?;
    }
    let sign_key = load_sign_key(&settings)?;
    super::session::warn_unsigned(&report, sign_key.as_deref());
    let exempt = Arc::new(Exemptions::of(settings.run.exempt.as_ref())?);
    Ok(PreparedJob {
        settings,
        source,
        report,
        resume,
        sign_key,
        exempt,
        selection: None,
    })
}

/// A resume reads the input the report's runs read (the same SHA-256), unless the user says this
/// is a new list for the same report: otherwise the first input's unsent rows would vanish from
/// every count while the server still holds the keys.
fn same_input(
    settings: &Settings,
    report: &Path,
    source: &Source,
    log: &crate::report::audit::AuditLog,
) -> Result<(), Failure> {
    if settings.run.new_input {
        return Ok(());
    }
    let Some(before) = log
        .records
        .iter()
        .rev()
        .find(|r| r.event == "start" && r.command == "run")
        .and_then(|r| r.input_sha256.clone())
    else {
        return Ok(());
    };
    if before == source.sha256() {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "{}: its last run read an input with SHA-256 {before}; {} has SHA-256 {}: resume with the same input, or pass --new-input (new_input = true in a job) if this is a new list for the same report",
        report.display(),
        source.name(),
        source.sha256()
    )))
}

/// Writes the metrics; a failure to is a warning, never the run's exit code.
fn write_metrics(
    path: &Path,
    job: &str,
    summary: &Summary,
    code: i32,
    protected: &[(PathBuf, String)],
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
    if let Err(e) = metrics::write(path, &m) {
        tracing::warn!("cannot write the metrics file {}: {e}", path.display());
    }
}

/// Runs a prepared job: lock, checks, the run, the summary. Answers the exit code.
pub async fn execute_job(job: PreparedJob, outputs: Outputs) -> Result<i32, Failure> {
    execute(job, outputs).await.map(|ran| ran.code)
}

/// Rows earlier runs of the report finished, and rows whose answers were lost.
struct Prior {
    finished: HashSet<Identity>,
    unsettled: HashMap<Identity, Target>,
}

/// Locks the report — creating it, owner-only, when it is new — and reads what earlier runs did.
/// Deciding and locking are one step: of two runs starting on a new path, the second finds the
/// first's lock (exit 4), never a report to append a whole run to.
fn lock_report(job: &PreparedJob, report: &Path) -> Result<(ReportLock, Prior), Failure> {
    if let Some(dir) = report
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        console().note(
            "revoker::report",
            &format!("revoker: creating the report folder {}", dir.display()),
        );
    }
    let lock = ReportLock::acquire(report, true)?;
    let has_rows = std::fs::metadata(report)
        .map(|m| m.len() > 0)
        .unwrap_or(false);
    if !has_rows {
        return Ok((
            lock,
            Prior {
                finished: HashSet::new(),
                unsettled: HashMap::new(),
            },
        ));
    }
    if !job.resume {
        return Err(ReportError::Exists {
            path: job.report.clone(),
        }
        .into());
    }
    let state = read_state(report)?;
    tracing::info!(
        "{}: {} rows of {} runs read; {} rows finished",
        report.display(),
        state.rows,
        state.runs,
        state.finished.len()
    );
    let settled = |id: &Identity| state.finished.contains(id) || state.answered.contains(id);
    let unsettled = SentJournal::read_unsettled(report, &settled)?;
    Ok((
        lock,
        Prior {
            finished: state.finished,
            unsettled,
        },
    ))
}

/// Reads the whole input once before anything is sent, so a broken file sends nothing; logs the
/// invalid rows grouped.
fn survey_input(
    settings: &Settings,
    source: &Source,
    prior: (&HashSet<Identity>, &Exemptions),
) -> Result<Survey, Failure> {
    let opts = settings.input_options();
    for note in source.header_notes(&opts)? {
        tracing::warn!("{note}");
    }
    let mut invalid = InvalidRows::default();
    let survey = survey(source, &opts, prior, &mut |entry| {
        invalid.count += 1;
        if invalid.first.len() < 5
            && let Err(why) = &entry.target
        {
            invalid.first.push((entry.line, why.clone()));
        }
    })?;
    invalid.log(source);
    if survey.rows == 0 {
        tracing::warn!(
            "{} has a header and no rows: nothing to revoke — is the export empty?",
            source.name()
        );
    }
    Ok(survey)
}

/// The audit start of a revocation run.
fn start_record(
    job: &PreparedJob,
    survey: &Survey,
    identity: String,
) -> impl FnOnce(&str, String) -> AuditRecord {
    let (settings, source) = (&job.settings, &job.source);
    let opts = settings.input_options();
    let exempt = (!job.exempt.file.is_empty()).then(|| job.exempt.clone());
    let record = AuditRecord {
        selection: job.selection.clone(),
        exempt: exempt.as_ref().map(|e| e.file.clone()),
        exempt_sha256: exempt.as_ref().map(|e| e.sha256.clone()),
        job: settings.job_path.as_ref().map(|p| p.display().to_string()),
        input: Some(
            source
                .path()
                .map(|p| crate::report::canonical(p).display().to_string())
                .unwrap_or_else(|| source.name().to_string()),
        ),
        input_sha256: Some(source.sha256().to_string()),
        input_rows: Some(survey.rows),
        allowed_kinds: Some(opts.allowed_kinds.iter().map(|k| k.to_string()).collect()),
        read_as: Some((&opts).into()),
        ..AuditRecord::default()
    };
    let (base_url, api) = (settings.base_url.to_string(), settings.api.to_string());
    move |run_id, chain| AuditRecord {
        selection: record.selection,
        exempt: record.exempt,
        exempt_sha256: record.exempt_sha256,
        job: record.job,
        input: record.input,
        input_sha256: record.input_sha256,
        input_rows: record.input_rows,
        allowed_kinds: record.allowed_kinds,
        read_as: record.read_as,
        ..AuditRecord::start(run_id, "run", identity, base_url, api, chain)
    }
}

async fn execute(job: PreparedJob, outputs: Outputs) -> Result<Ran, Failure> {
    let report = crate::report::canonical(&job.report);
    // Another run on this report: exit 4 before anything else, whatever else is wrong.
    let (lock, prior) = lock_report(&job, &report)?;
    let result = match survey_input(&job.settings, &job.source, (&prior.finished, &job.exempt)) {
        Ok(survey) => revoke(&job, &report, survey, prior, &outputs).await,
        Err(e) => Err(e),
    };
    // A report this run created and never wrote a row to is not left behind.
    if result.is_err() && std::fs::metadata(&report).is_ok_and(|m| m.len() == 0) {
        let _ = std::fs::remove_file(&report);
    }
    drop(lock);
    result
}

/// The work once the input is known good: the client, the run, the verification, the token
/// revoked whatever happened.
async fn revoke(
    job: &PreparedJob,
    report: &Path,
    survey: Survey,
    prior: Prior,
    outputs: &Outputs,
) -> Result<Ran, Failure> {
    let settings = &job.settings;
    let figures = Arc::new(Figures::default());
    let stop = StopFlag::default();
    let mut lanes = Lanes::build(settings, &figures, &stop, survey.scopes)?;
    let signals = super::signals::listen_for_signals(stop.clone());
    let learned = lanes
        .learn(&job.source, &settings.input_options(), report)
        .await;
    let lanes = Arc::new(lanes);
    let result = match learned {
        Ok(()) => revoke_with(job, report, survey, prior, outputs, &lanes).await,
        Err(e) => Err(e),
    };
    lanes.finish().await;
    signals.abort();
    result
}

/// The engine run of each lane, all at once, writing to one report session.
async fn engines(
    job: &PreparedJob,
    lanes: &Arc<Lanes>,
    (survey, prior): (&Survey, Prior),
    (session, guard): (&mut Session, &Arc<crate::guard::Guard>),
    report: &Path,
) -> Result<(engine::RunResult, Vec<crate::guard::Own>), Failure> {
    let settings = &job.settings;
    let saying = lanes.say_stops();
    let mut tasks = tokio::task::JoinSet::new();
    let owns = guard.owns().to_vec();
    for (i, lane) in lanes.lanes.iter().enumerate() {
        let run = engine::Run {
            run_id: session.run_id.clone(),
            source: job.source.clone(),
            input: settings.input_options(),
            survey: survey.clone(),
            finished: prior.finished.clone(),
            unsettled: prior.unsettled.clone(),
            sink: session.sink_clone(),
            journal: Some(SentJournal::open(report)?),
            guard: guard.clone(),
            lane: lanes.engine_lane(i),
        };
        let ctx = lane.ctx.clone();
        tasks.spawn(async move { (i, engine::execute(ctx, run).await) });
    }
    session.drop_sink();
    let mut results: Vec<(usize, Result<engine::RunResult, engine::EngineError>)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.map_err(|e| Failure::usage(format!("a lane's engine failed: {e}")))?);
    }
    // In the order of the lanes, so that each stop is said with its own credential.
    results.sort_by_key(|(i, _)| *i);
    let mut merged: Option<engine::RunResult> = None;
    let mut stops = Vec::new();
    for (_, result) in results {
        let r = result?;
        stops.push(r.stopped.clone());
        merged = Some(match merged {
            None => r,
            Some(m) => m.merge(r),
        });
    }
    let mut merged = merged.ok_or_else(|| Failure::usage("no credential to run with"))?;
    // Each stop was said as it happened; a watcher of a lane that never stopped has nothing to say.
    for (said, stop) in saying.into_iter().zip(&stops) {
        if stop.is_some() {
            let _ = said.await;
        } else {
            said.abort();
        }
    }
    // The run stopped when every lane did; a lane stopped alone leaves its rows unfinished, and the
    // audit record says why.
    merged.stopped = if stops.iter().all(Option::is_some) {
        stops.iter().flatten().next().cloned()
    } else {
        merged.lanes_stopped = stops
            .iter()
            .enumerate()
            .filter_map(|(i, stop)| stop.as_ref().and_then(|r| lanes.stopped(i, r)))
            .collect();
        None
    };
    Ok((merged, owns))
}

async fn revoke_with(
    job: &PreparedJob,
    report: &Path,
    survey: Survey,
    prior: Prior,
    outputs: &Outputs,
    lanes: &Arc<Lanes>,
) -> Result<Ran, Failure> {
    let settings = &job.settings;
    let readers = lanes.readers();
    let opts = settings.input_options();
    let key_rows = survey.kind_count(crate::input::Kind::OrgApiKey)
        + survey.kind_count(crate::input::Kind::GlobalApiKey);
    let lists = super::own::KeyLists::of(&job.source, &opts, key_rows > 0);
    let guard = Arc::new(
        super::own::guard(
            lanes,
            &lists,
            job.exempt.clone(),
            settings.run.allow_own_credential,
        )
        .await,
    );
    super::gate::before_sending(job, report, &survey, (&readers, &guard), &prior.finished).await?;
    let kinds: Vec<crate::input::Kind> = crate::input::Kind::ALL
        .into_iter()
        .filter(|k| survey.kind_count(*k) > 0)
        .collect();
    // Nothing to send, nothing to pace: not even the published limits are asked.
    if survey.to_send > 0 {
        for lane in &lanes.lanes {
            super::limits::start(
                &lane.ctx,
                settings,
                report,
                &kinds,
                settings.run.forget_limits,
            )
            .await;
        }
    }
    let start = start_record(job, &survey, lanes.identities().join(", "));
    let mut session = Session::open(report, "run", start)?;
    let figures = lanes.lanes[0].client.figures().clone();
    let display = Display::start(
        figures.clone(),
        outputs,
        &pacing(settings, survey.scopes),
        survey.already_finished,
    );
    let (rows, already_finished) = (survey.rows, survey.already_finished);
    let result = match survey.exempt {
        0 => Ok(0),
        _ => super::exempt_rows::write(
            &session,
            (&job.source, &opts),
            &guard,
            &prior.finished,
            &figures,
        ),
    };
    let result = match result {
        Ok(_) => engines(job, lanes, (&survey, prior), (&mut session, &guard), report).await,
        Err(e) => Err(e),
    };
    display.finish();
    let closed = session.join()?;
    for lane in &lanes.lanes {
        super::limits::save(&lane.ctx, settings, report);
    }
    let (result, owns) = result?;
    SentJournal::settle(report, &result.unsettled)?;
    let mut summary = summarize(&closed, &figures, &result, already_finished);
    summary.not_attempted = rows.saturating_sub(already_finished + closed.written.rows);
    let mut code = exit_code(&summary, result.stopped.as_ref());
    // A selection that could not read every list may have left credentials it should have chosen.
    if !selection_problems(job).is_empty() {
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
            super::verify::verify_report(settings, report, &readers, job.sign_key.as_deref())
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
    Ok(Ran { code, summary })
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
    let unread = selection_problems(job);
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
        print_summary(
            summary,
            result.stopped.as_ref(),
            (&closed.report, &evidence),
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

/// What paces the run, in words: the ceilings in force and where they come from, or the API.
fn pacing(settings: &Settings, scopes: u64) -> String {
    let origin = |name: &str| {
        settings
            .origins
            .get(name)
            .map_or_else(|| "default".to_string(), ToString::to_string)
    };
    let mut parts = Vec::new();
    if let Some(rate) = settings.run.rate {
        parts.push(format!("rate {rate} ({})", origin("rate")));
    }
    if let Some(rate) = settings.run.project_rate {
        parts.push(format!(
            "project_rate {rate} ({}) × {scopes} projects and organizations ≈ {:.0} rows/s",
            origin("project_rate"),
            rate.per_second() * scopes as f64
        ));
    }
    if parts.is_empty() {
        "paced by the API alone: as fast as it answers, slower where 429s say so".into()
    } else {
        format!("paced by {}; 429s slow it further", parts.join(" and "))
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

fn print_summary(
    summary: &Summary,
    stopped: Option<&StopReason>,
    (report, evidence): (&Path, &str),
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
        "  report: {} ({} written)\n  evidence digest (keep it elsewhere; revoker report --expect-digest checks it): {evidence}",
        report.display(),
        crate::text::plural(written, "row", "rows")
    ));
    if let Some(hint) = &outputs.resume_hint
        && (summary.unfinished() > 0 || stopped.is_some())
    {
        text.push_str(&next_steps(hint, stopped, report));
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
