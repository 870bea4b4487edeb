//! `revoker run`: settings, checks before anything is sent, the run itself, the summary and the exit
//! code.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::progress::Display;
use super::{Failure, RunArgs, exit};
use crate::api::{self, ApiConfig};
use crate::engine::{self, EngineConfig, Progress, Run, StopFlag, StopReason};
use crate::input::{InputOptions, Source, survey};
use crate::job::{self, Credentials, JobFile};
use crate::report::{ReportError, ReportLock, ReportWriter, SentJournal, Summary, read_state};

/// A run with every setting resolved.
pub struct PreparedJob {
    pub settings: JobFile,
    pub input: PathBuf,
    pub report: PathBuf,
    pub resume: bool,
    pub base_url: url::Url,
    pub credentials: Credentials,
}

/// What the run prints.
#[derive(Clone, Copy, Debug)]
pub struct Outputs {
    /// No progress, and no summary when every row finished.
    pub quiet: bool,
    /// Interval of the plain progress lines (when stderr is not a terminal).
    pub progress_every: Duration,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs {
            quiet: false,
            progress_every: Duration::from_secs(10),
        }
    }
}

fn flags(args: &RunArgs) -> JobFile {
    JobFile {
        input: args.input.clone(),
        format: args.how.format,
        columns: args.how.columns.clone().unwrap_or_default(),
        kind: args.how.kind,
        kinds: args.how.kinds.clone(),
        report: args.report.clone(),
        resume: args.resume.then_some(true),
        base_url: args.base_url.clone(),
        rate: args.rate,
        project_rate: args.project_rate,
        concurrency: args.concurrency,
        max_attempts: args.max_attempts,
        timeout: args.timeout,
        connect_timeout: args.connect_timeout,
        envelope: args.envelope.then_some(true),
        ca_cert: args.ca_cert.clone(),
        credentials_file: args.credentials_file.clone(),
    }
}

pub(super) async fn run_command(args: RunArgs) -> Result<i32, Failure> {
    let job = match &args.job {
        Some(path) => JobFile::load(path)?,
        None => JobFile::default(),
    };
    let job_name = args
        .job
        .as_deref()
        .and_then(Path::file_stem)
        .map_or_else(|| "run".to_string(), |s| s.to_string_lossy().into_owned());
    let settings = job.overridden_by(flags(&args));
    let env = |name: &str| std::env::var(name).ok();
    let base_url = match (&settings.base_url, env(job::OPS_MANAGER_URL_VAR)) {
        (Some(url), _) => api::parse_base_url(url)?,
        (None, Some(root)) if !root.trim().is_empty() => api::base_url_from_ops_manager(&root)
            .with_context(|| format!("{} is not usable", job::OPS_MANAGER_URL_VAR))?,
        _ => api::parse_base_url(api::DEFAULT_BASE_URL)?,
    };
    let report = match (&settings.report, &settings.input) {
        (Some(template), _) => Some(job::expand_report_path(
            template,
            &job_name,
            &jiff::Zoned::now(),
        )),
        (None, Some(input)) => job::default_report_path(input),
        (None, None) => None,
    };
    let credentials = job::credentials(settings.credentials_file.as_deref(), &env);

    if args.print_config {
        print_config(&settings, &base_url, report.as_deref(), &credentials)?;
        return Ok(exit::OK);
    }
    let input = settings.input.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "no input: pass --input PATH (or - for stdin), or set input in the job file"
        )
    })?;
    if args.dry_run {
        return dry_run(&settings, &input, report.as_deref(), &base_url);
    }
    let report = report.ok_or_else(|| anyhow::anyhow!("reading from stdin needs --report PATH"))?;
    let job = PreparedJob {
        resume: settings.resume.unwrap_or(false),
        settings,
        input,
        report,
        base_url,
        credentials: credentials?,
    };
    execute_job(
        job,
        Outputs {
            quiet: args.quiet,
            progress_every: args.progress_every,
        },
    )
    .await
}

fn print_config(
    settings: &JobFile,
    base_url: &url::Url,
    report: Option<&Path>,
    credentials: &Result<Credentials, job::JobError>,
) -> Result<(), Failure> {
    let mut shown = settings.clone();
    shown.base_url = Some(base_url.to_string());
    shown.report = report.map(|p| p.display().to_string());
    let text = toml::to_string(&shown).context("cannot show the settings")?;
    println!("{text}");
    match credentials {
        Ok(c) => println!(
            "# credentials: public key {} from {} (private key not shown)",
            c.public_key, c.source
        ),
        Err(e) => println!("# credentials: {e}"),
    }
    Ok(())
}

fn input_options(settings: &JobFile) -> InputOptions {
    InputOptions {
        format: settings.format,
        columns: settings.columns.clone(),
        default_kind: settings.kind,
        allowed_kinds: settings.kinds.clone().unwrap_or_default(),
    }
}

fn engine_config(settings: &JobFile) -> EngineConfig {
    let defaults = EngineConfig::default();
    EngineConfig {
        concurrency: settings.concurrency.unwrap_or(defaults.concurrency).max(1),
        rate: settings.rate,
        project_rate: settings.project_rate,
        max_attempts: settings
            .max_attempts
            .unwrap_or(defaults.max_attempts)
            .max(1),
        ..defaults
    }
}

/// Validates, then prints the requests a run would send; sends nothing and writes nothing.
fn dry_run(
    settings: &JobFile,
    input: &Path,
    report: Option<&Path>,
    base_url: &url::Url,
) -> Result<i32, Failure> {
    let source = Source::open(input)?;
    let opts = input_options(settings);
    let finished = match report {
        Some(path) if settings.resume.unwrap_or(false) && path.exists() => {
            read_state(path)?.finished
        }
        _ => HashSet::new(),
    };
    let survey = survey(&source, &opts, &finished, &mut |entry| {
        if let Err(reason) = &entry.target {
            eprintln!("{}:{}: {reason}", source.name(), entry.line);
        }
    })?;
    let envelope = settings.envelope.unwrap_or(false);
    let mut dedupe = survey.dedupe;
    source.scan(&opts, &mut |entry| {
        if let Ok(target) = entry.target {
            let id = target.identity();
            if !finished.contains(&id) && dedupe.earlier_copy(&id, entry.line).is_none() {
                println!("DELETE {}", api::endpoint(base_url, &target, envelope));
            }
        }
        ControlFlow::Continue(())
    })?;
    eprintln!(
        "dry run: {} rows · {} to send · {} invalid · {} duplicates · {} already finished · {} projects; nothing was sent",
        survey.rows,
        survey.to_send,
        survey.invalid,
        survey.duplicates,
        survey.already_finished,
        survey.projects
    );
    Ok(if survey.invalid > 0 {
        exit::UNFINISHED
    } else {
        exit::OK
    })
}

/// Runs a prepared job: lock, checks, the run, the summary. Answers the exit code.
pub async fn execute_job(job: PreparedJob, out: Outputs) -> Result<i32, Failure> {
    let source = Arc::new(Source::open(&job.input)?);
    let opts = input_options(&job.settings);
    if let Some(dir) = job.report.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the report folder {}", dir.display()))?;
    }
    let (_lock, stale) = ReportLock::acquire(&job.report)?;
    if let Some(pid) = stale {
        tracing::warn!(
            "{}: took over the lock left by run pid {pid}, which is no longer running",
            job.report.display()
        );
    }
    let exists = job.report.exists();
    if exists && !job.resume {
        return Err(ReportError::Exists {
            path: job.report.clone(),
        }
        .into());
    }
    let started = std::time::Instant::now();
    let (finished, unsettled) = if exists {
        let state = read_state(&job.report)?;
        tracing::info!(
            "{}: {} rows of {} runs read in {} ms; {} rows finished",
            job.report.display(),
            state.rows,
            state.runs,
            started.elapsed().as_millis(),
            state.finished.len()
        );
        let settled = |id: &crate::input::Identity| {
            state.finished.contains(id) || state.rejected.contains(id)
        };
        let unsettled = SentJournal::read_unsettled(&job.report, &settled)?;
        (state.finished, unsettled)
    } else {
        (HashSet::new(), HashSet::new())
    };
    // The whole input is read once before anything is sent, so a broken file sends nothing.
    let survey = survey(&source, &opts, &finished, &mut |_| {})?;
    tracing::info!(
        "{}: {} rows checked ({} to send) after {} ms",
        source.name(),
        survey.rows,
        survey.to_send,
        started.elapsed().as_millis()
    );

    let settings = &job.settings;
    let config = engine_config(settings);
    let api_config = ApiConfig {
        base_url: job.base_url.clone(),
        public_key: job.credentials.public_key.clone(),
        private_key: job.credentials.private_key.clone(),
        timeout: settings.timeout.unwrap_or(Duration::from_secs(30)),
        connect_timeout: settings.connect_timeout.unwrap_or(Duration::from_secs(10)),
        envelope: settings.envelope.unwrap_or(false),
        ca_cert: settings.ca_cert.clone(),
        pool_size: config.concurrency,
    };
    let client = Arc::new(api::Client::new(&api_config)?);
    let writer = ReportWriter::open(&job.report, job.resume)?;
    if writer.repaired > 0 {
        tracing::warn!(
            "{}: dropped an incomplete last line ({} bytes) left by a run that crashed",
            job.report.display(),
            writer.repaired
        );
    }
    let (sink, writer_thread) = writer.spawn();
    let journal = SentJournal::open(&job.report)?;

    let stop = StopFlag::default();
    let signals = listen_for_signals(stop.clone());
    let progress = Arc::new(Progress::default());
    let display = Display::start(progress.clone(), client.clone(), out);
    let run = Run {
        run_id: crate::report::new_run_id(),
        source,
        input: opts,
        survey,
        finished,
        unsettled,
        config,
        client,
        sink,
        journal: Some(journal),
    };
    let result = engine::execute(run, progress, stop).await;
    display.finish();
    signals.abort();
    let written = writer_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the report writer thread panicked"))?
        .context("writing the report failed; rows after the failure were not recorded")?;
    let result = result?;
    let code = exit_code(&result.summary, result.stopped.as_ref());
    if !(out.quiet && code == exit::OK) {
        print_summary(
            &result.summary,
            result.stopped.as_ref(),
            &job.report,
            written,
        );
    }
    Ok(code)
}

fn exit_code(summary: &Summary, stopped: Option<&StopReason>) -> i32 {
    match stopped {
        Some(StopReason::Interrupted) => exit::SIGINT,
        Some(StopReason::Terminated) => exit::SIGTERM,
        Some(StopReason::CredentialsRejected(_)) => exit::CREDENTIALS,
        Some(StopReason::ReportFailed) => exit::USAGE,
        None if summary.unfinished() > 0 => exit::UNFINISHED,
        None => exit::OK,
    }
}

fn print_summary(summary: &Summary, stopped: Option<&StopReason>, report: &Path, written: u64) {
    if let Some(reason) = stopped {
        eprintln!("revoker: stopped: {reason}");
    }
    eprintln!("{summary}");
    eprintln!("  report: {} ({written} rows written)", report.display());
    if summary.unfinished() > 0 || stopped.is_some() {
        eprintln!(
            "  to continue: revoker run … --report {} --resume   (or hand over: revoker report {} --failures FILE)",
            report.display(),
            report.display()
        );
    }
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
        eprintln!(
            "revoker: stopping: finishing the requests in flight (signal again to quit at once)"
        );
        let code = tokio::select! {
            _ = int.recv() => exit::SIGINT,
            _ = term.recv() => exit::SIGTERM,
        };
        std::process::exit(code);
    })
}
