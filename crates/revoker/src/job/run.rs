//! A revocation run, as a table of contents: [`prepare`](super::prepare) (the input, the report,
//! earlier runs, the survey), the gate ([`own`](super::own)'s guard, then
//! [`gate`](super::gate): plan, cap, question), [`revoke`](super::revoke) (the engines writing the
//! report) and [`close`](super::close) (counts, evidence, summary, verification, metrics).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::StopFlag;
use crate::figures::Figures;
use crate::input::Survey;
use crate::job::Failure;
use crate::job::close::{self, Ran};
use crate::job::lanes::Lanes;
use crate::job::prepare::{self, PreparedJob, Prior};
use crate::job::revoke;
use crate::report::Summary;
use crate::settings::Settings;
use crate::ui::Outputs;

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
    let selection = match prepare::policy_input(&mut settings, resume_flag).await {
        Ok((selection, pinned)) => {
            // A new {time} or {date} would select again into another report: the continue line
            // names the report that exists.
            if let (Some(report), Some(hint)) = (pinned, outputs.resume_hint.as_mut()) {
                *hint = prepare::with_report(hint, &report);
            }
            selection
        }
        Err(f) => {
            if let Some(path) = &metrics {
                close::write_metrics(path, &job_name, &Summary::default(), f.code, &[], "");
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
    let result = match prepare::prepare(settings, resume_flag, &mut protected) {
        Ok(mut job) => {
            job.selection = selection;
            match job.settings.run.plan_file.clone() {
                Some(path) => match super::apply::load(&job, &path) {
                    Ok(applied) => {
                        job.applied = Some(Arc::new(applied));
                        execute(job, outputs).await
                    }
                    Err(e) => Err(e),
                },
                None => execute(job, outputs).await,
            }
        }
        Err(e) => Err(e),
    };
    if let Some(path) = &metrics {
        let (code, summary) = match &result {
            Ok(ran) => (ran.code, ran.summary.clone()),
            Err(f) => (f.code, Summary::default()),
        };
        let extra = result.as_ref().map_or("", |ran| ran.extra_metrics.as_str());
        close::write_metrics(path, &job_name, &summary, code, &protected, extra);
    }
    result.map(|ran| ran.code)
}

/// Runs a prepared job: lock, checks, the run, the summary. Answers the exit code.
pub async fn execute_job(job: PreparedJob, outputs: Outputs) -> Result<i32, Failure> {
    execute(job, outputs).await.map(|ran| ran.code)
}

/// A report whose runs applied a reviewed plan is resumed under a plan too: without one, a resume
/// would send the rows the plan held as drifted, beyond what the change board reviewed.
fn refuse_leaving_a_plan(job: &PreparedJob, report: &std::path::Path) -> Result<(), Failure> {
    if job.applied.is_some() || !crate::report::audit::path_for(report).exists() {
        return Ok(());
    }
    let log = crate::report::audit::read(report).map_err(Failure::usage)?;
    match log
        .records
        .iter()
        .rev()
        .find_map(|r| r.plan_file.as_deref())
    {
        Some(plan) => Err(Failure::usage(format!(
            "{}: its runs applied the reviewed plan {plan}; a resume applies one too (--plan-file), or start a new report: nothing was sent",
            report.display()
        ))),
        None => Ok(()),
    }
}

async fn execute(job: PreparedJob, outputs: Outputs) -> Result<Ran, Failure> {
    let report = crate::report::canonical(&job.report);
    // Another run on this report: exit 4 before anything else, whatever else is wrong.
    let (lock, prior) = prepare::lock_report(&job, &report)?;
    refuse_leaving_a_plan(&job, &report)?;
    let result = match prepare::survey_input(&job.opts, &job.source, (&prior.finished, &job.exempt))
    {
        Ok(survey) => match super::ledger::owe_before(
            job.ledger.as_deref(),
            (&job.source, &job.opts),
            &prior.finished,
            &job.exempt,
        ) {
            Ok(()) => revoke(&job, &report, survey, prior, &outputs).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let result = with_ledger(&job, &report, result);
    // A report this run created and never wrote a row to is not left behind.
    if result.is_err() && std::fs::metadata(&report).is_ok_and(|m| m.len() == 0) {
        let _ = std::fs::remove_file(&report);
    }
    drop(lock);
    result
}

/// The ledger settled once the run has ended, whatever its end: rows owed for too long are
/// named and keep the exit code at 1 at least.
fn with_ledger(
    job: &PreparedJob,
    report: &Path,
    result: Result<Ran, Failure>,
) -> Result<Ran, Failure> {
    let after = job.settings.run.escalate_after;
    let owed = match super::ledger::settle_after(job.ledger.as_deref(), report, after) {
        Ok(owed) => owed,
        Err(e) => {
            tracing::warn!("{:#}", e.error);
            return result.and(Err(e));
        }
    };
    let mut ran = result?;
    let now = crate::ledger::clock::now();
    let revoke = job.settings.run.expired_exemptions == crate::settings::ExpiredExemptions::Revoke;
    let c = crate::ui::console();
    for line in super::ledger::expiry_lines(&job.exempt, now, revoke) {
        c.emit("WARN", "revoker::exempt", &line, serde_json::json!({}));
    }
    let name = &job.settings.job_name;
    ran.extra_metrics
        .push_str(&super::ledger::exemption_metrics(&job.exempt, name, now));
    if let Some(owed) = owed {
        let ledger = serde_json::json!({ "ledger": owed.path.display().to_string() });
        if let Some(line) = owed.escalation() {
            c.emit("WARN", "revoker::ledger", &line, ledger);
            ran.code = ran.code.max(crate::vocab::exit::UNFINISHED);
        } else if let Some(line) = owed.still_owed() {
            c.emit("WARN", "revoker::ledger", &line, ledger);
        }
        ran.extra_metrics.push_str(&owed.metrics(name));
    }
    Ok(ran)
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
    let learned = lanes.learn(&job.source, &job.opts, report).await;
    let lanes = Arc::new(lanes);
    let result = match learned {
        Ok(()) => revoke_with(job, report, survey, prior, outputs, &lanes).await,
        Err(e) => Err(e),
    };
    lanes.finish().await;
    signals.abort();
    result
}

/// The stages once the lanes know where each row goes.
async fn revoke_with(
    job: &PreparedJob,
    report: &Path,
    survey: Survey,
    prior: Prior,
    outputs: &Outputs,
    lanes: &Arc<Lanes>,
) -> Result<Ran, Failure> {
    let readers = lanes.readers();
    let guard = super::own::for_run(job, lanes, &survey).await;
    let protect = &job.settings.run.protect;
    let guard = super::protect::check(protect, (&job.source, &job.opts), lanes, guard).await?;
    let (guard, binding) = match &job.applied {
        Some(applied) => {
            let live = (&survey, &prior.finished);
            let (guard, binding) =
                super::apply::bind(job, applied, (report, &readers), guard, live).await?;
            (guard, Some(binding))
        }
        None => (guard, None),
    };
    let guard = Arc::new(guard);
    let checks = (&readers, &*guard, binding.as_ref());
    let mut learned = super::gate::before_sending(job, report, &survey, checks, &prior).await?;
    // A run from findings writes no value it found, and a leaked public key is one.
    if job.settings.values.findings.is_empty() {
        super::own::public_keys(&guard, (&job.source, &job.opts), &mut learned.public_keys);
    }
    let prior = Prior {
        plan_gone: Arc::new(learned.gone),
        public_keys: Arc::new(learned.public_keys),
        ..prior
    };
    let sent = revoke::send(job, report, (&survey, prior), (lanes, &guard), outputs).await?;
    close::finish(job, report, &survey, sent, (outputs, &readers)).await
}
