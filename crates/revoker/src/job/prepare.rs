//! The first stage of a run: its input read into a private copy, its report chosen and locked,
//! what earlier runs of the report did, and the whole input surveyed before anything is sent.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::input::{Exemptions, Identity, InputOptions, Source, Survey, Target, survey};
use crate::job::Failure;
use crate::job::acting::load_sign_key;
use crate::job::report_path::choose_report;
use crate::report::{ReportError, ReportLock, SentJournal, files, read_state, signature};
use crate::settings::Settings;
use crate::ui::console;

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
    /// How the input is read and which rows may be sent, derived once from the settings.
    pub opts: InputOptions,
    /// `--plan-file`: the reviewed plan this run applies, checked before anything is sent.
    pub applied: Option<Arc<super::apply::Applied>>,
    /// The job's ledger of rows owed across nights, when it keeps one.
    pub ledger: Option<PathBuf>,
}

impl PreparedJob {
    /// What a policy job's selection could not read: the run is then not finished.
    pub fn selection_problems(&self) -> Vec<String> {
        self.selection
            .as_ref()
            .and_then(|s| s["problems"].as_array())
            .map(|p| {
                p.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The first invalid rows of an input, for one log line.
#[derive(Default)]
struct InvalidRows {
    count: u64,
    grouped: crate::input::grouped::Grouped,
}

/// Groups of invalid rows a run's warning names; `revoker validate` names them all.
const GROUPS_SHOWN: usize = 5;

impl InvalidRows {
    fn log(&self, source: &Source) {
        if self.count == 0 {
            return;
        }
        tracing::warn!(
            "{} in {} (not sent; in the report as invalid; revoker validate names every one): {}",
            crate::text::plural(self.count, "invalid row", "invalid rows"),
            source.name(),
            self.grouped.lines("", GROUPS_SHOWN).join("; "),
        );
    }
}

/// `hint` with `--report REPORT` in place of any `--report` it had.
pub fn with_report(hint: &str, report: &Path) -> String {
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
pub async fn policy_input(
    settings: &mut Settings,
    resume_flag: bool,
) -> Result<(Option<serde_json::Value>, Option<PathBuf>), Failure> {
    let findings = !settings.values.findings.is_empty();
    let sweep = settings.values.sweep.is_some();
    if (settings.values.select.is_none() && !findings && !sweep) || settings.values.input.is_some()
    {
        return Ok((None, None));
    }
    let template = settings.values.report.clone().ok_or_else(|| {
        Failure::usage(if findings {
            "a run with findings needs a report (--report, report = \"…\"): the resolution is kept beside it"
        } else {
            "a job with [select] or [sweep] needs report = \"…\" (its selection is kept beside the report)"
        })
    })?;
    let report =
        crate::settings::expand_report_path(&template, &settings.job_name, &jiff::Zoned::now());
    // The selection names this run's report: a {time} in the template is fixed now.
    settings.values.report = Some(report.display().to_string());
    let resume = resume_flag || settings.job_resumes;
    let report = crate::report::canonical(&report);
    let selection = if findings {
        super::resolve::resolve_for_run(settings, &report, resume).await?
    } else if sweep {
        super::sweep::sweep_for_run(settings, &report, resume).await?
    } else {
        super::select::select_for_run(settings, &report, resume).await?
    };
    let pinned = (template.contains("{time}") || template.contains("{date}")).then_some(report);
    Ok((selection, pinned))
}

/// The input read into its private copy, the report chosen, and the metrics file checked against
/// the files it must never replace (exit 2 before anything is sent).
/// `protected` is filled as soon as the report is known, so that even a refused run never writes
/// its metrics over the evidence.
pub fn prepare(
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
    let source = Source::open(&input)?;
    let (report, resume) = choose_report(&settings, &source, resume_flag)?;
    let (source, ledger) = super::ledger::attach(&settings, &report, source)?;
    let source = Arc::new(source);
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
    let exempt = Arc::new(super::ledger::exemptions(&settings)?);
    let opts = settings.input_options();
    Ok(PreparedJob {
        settings,
        source,
        report,
        resume,
        sign_key,
        exempt,
        selection: None,
        opts,
        applied: None,
        ledger,
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
    let Some((before, name)) = log
        .records
        .iter()
        .rev()
        .find(|r| r.event == "start" && r.command == "run")
        .and_then(|r| Some((r.input_sha256.clone()?, r.input.clone())))
    else {
        return Ok(());
    };
    if before == source.sha256() {
        return Ok(());
    }
    // Named by its path too: a digest alone does not tell the operator which file to pass.
    let read = name.unwrap_or_else(|| "an input".to_string());
    Err(Failure::usage(format!(
        "{}: its last run read {read} (SHA-256 {before}); {} has SHA-256 {}: resume with the same input, or pass --new-input (new_input = true in a job) if this is a new list for the same report",
        report.display(),
        source.name(),
        source.sha256()
    )))
}

/// Rows earlier runs of the report finished, and rows whose answers were lost.
pub struct Prior {
    pub finished: HashSet<Identity>,
    pub unsettled: HashMap<Identity, Target>,
    /// Rows this run's plan showed gone (with `--plan`), filled by the gate.
    pub plan_gone: Arc<HashSet<Identity>>,
    /// API keys' public keys as the plan's lists showed them (with `--plan` or a plan file).
    pub public_keys: Arc<HashMap<Identity, String>>,
    /// Credentials the report's earlier runs revoked: `max_revocations` counts them too.
    pub revoked_before: u64,
}

/// Locks the report — creating it, owner-only, when it is new — and reads what earlier runs did.
/// Deciding and locking are one step: of two runs starting on a new path, the second finds the
/// first's lock (exit 4), never a report to append a whole run to.
pub fn lock_report(job: &PreparedJob, report: &Path) -> Result<(ReportLock, Prior), Failure> {
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
                plan_gone: Default::default(),
                public_keys: Default::default(),
                revoked_before: 0,
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
            revoked_before: state.revoked.len() as u64,
            finished: state.finished,
            unsettled,
            plan_gone: Default::default(),
            public_keys: Default::default(),
        },
    ))
}

/// Reads the whole input once before anything is sent, so a broken file sends nothing; logs the
/// invalid rows grouped.
pub fn survey_input(
    opts: &InputOptions,
    source: &Source,
    prior: (&HashSet<Identity>, &Exemptions),
) -> Result<Survey, Failure> {
    for note in source.header_notes(opts)? {
        tracing::warn!("{note}");
    }
    let mut invalid = InvalidRows::default();
    let survey = survey(source, opts, prior, &mut |entry| {
        invalid.count += 1;
        if let Err(why) = &entry.target {
            invalid.grouped.add(why, entry.line);
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
