//! `revoker plan`, and the plan a run makes first (`run --plan`): the input read, the run's own
//! credential learned, every list read, the plan recorded in the report's audit file (what was
//! listed, when, what it answered) so the evidence shows the state before the run, and printed.
//! No DELETE is sent.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use crate::engine::StopFlag;
use crate::figures::Figures;
use crate::guard::Guard;
use crate::input::{Exemptions, Identity, InputOptions, Source};
use crate::job::Failure;
use crate::plan::file::{PlanFile, PlanSettings};
use crate::plan::{self, Fate, Plan};
use crate::report::ReportLock;
use crate::report::audit::{self, AuditRecord};
use crate::settings::Settings;
use crate::ui::{Output, console, out};
use crate::verify::Readers;
use crate::vocab::{ExitCode as _, exit};

/// Makes the plan of `source` with the lanes' readers, each row decided by the run's `guard`
/// (exemptions, its own credentials learned as a run learns them), the lists read.
pub async fn live_plan(
    settings: &Settings,
    readers: &Readers,
    (source, guard, conflicts): (&Source, &Guard, &HashMap<Identity, String>),
    finished: &HashSet<Identity>,
) -> Result<Plan, Failure> {
    let opts = settings.input_options();
    let inputs = plan::Inputs {
        source,
        opts: &opts,
        guard,
        finished,
        conflicts,
    };
    Ok(plan::make(readers, inputs).await?)
}

/// Appends the plan to the audit file of `report` (the caller holds its lock). Answers the line's
/// SHA-256.
pub fn record(
    settings: &Settings,
    report: &Path,
    (source, exempt): (&Source, &Exemptions),
    plan: &Plan,
) -> Result<String, Failure> {
    record_in(
        &audit::path_for(report),
        settings,
        report,
        (source, exempt),
        plan,
    )
}

/// Where `revoker plan` records its plan: the audit file a run will adopt while the report has no
/// row yet; beside a report with rows, which a read-only command never changes (nor its audit file,
/// manifest or signature), a file of its own.
pub fn plan_file(report: &Path) -> std::path::PathBuf {
    if std::fs::metadata(report).is_ok_and(|m| m.len() > 0) {
        crate::report::sidecar(report, audit::PLANS_SUFFIX)
    } else {
        audit::path_for(report)
    }
}

/// The public identity of the credential a run with `settings` acts as (several joined by `, `).
pub fn acting_identity(settings: &Settings) -> String {
    match &settings.credential {
        Ok(found) => found.credential.public_identity(),
        Err(_) => settings
            .org_credentials
            .iter()
            .filter_map(|o| o.credential.as_ref().ok())
            .map(|f| f.credential.public_identity())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn record_in(
    file: &Path,
    settings: &Settings,
    report: &Path,
    (source, exempt): (&Source, &Exemptions),
    plan: &Plan,
) -> Result<String, Failure> {
    let identity = acting_identity(settings);
    let chain = crate::report::chain_of(report)?;
    let mut record = AuditRecord {
        event: "plan".into(),
        input: Some(source.name().to_string()),
        input_sha256: Some(source.sha256().to_string()),
        input_rows: Some(plan.rows),
        exempt: (!exempt.file.is_empty()).then(|| exempt.file.clone()),
        exempt_sha256: (!exempt.file.is_empty()).then(|| exempt.sha256.clone()),
        requests: Some(plan.list_requests),
        elapsed_ms: Some(plan.elapsed_ms),
        plan: Some(plan.record()),
        ..AuditRecord::start(
            &crate::report::new_run_id(),
            "plan",
            identity,
            settings.base_url.to_string(),
            settings.api.to_string(),
            chain,
        )
    };
    Ok(audit::append_to(file, &mut record)?)
}

/// The exit code of a plan: 0 when a run would revoke or find gone every valid row, 1 when some
/// cannot be done, or the stop's own code (3 when the credential is refused).
pub fn exit_code(
    plan: &Plan,
    settings: &Settings,
    stopped: Option<&crate::engine::StopReason>,
) -> i32 {
    match stopped {
        Some(reason) => reason.exit_code(),
        None if plan.blocked(settings.run.allow_own_credential) > 0 => exit::UNFINISHED,
        None => exit::OK,
    }
}

/// `revoker plan`: the plan of the settings' input, recorded in the audit file of the report a
/// run with these settings writes, printed as a table or JSON.
pub async fn plan_command(
    settings: Settings,
    (resume, write): (bool, Option<&Path>),
    output: Output,
) -> Result<i32, Failure> {
    let input = settings.values.input.clone().ok_or_else(|| {
        Failure::usage("no input: pass --input PATH (or - for stdin), or set input in the job file")
    })?;
    // Found before anything is read: a plan file never replaces one, and a key that cannot sign.
    if let Some(path) = write
        && std::fs::symlink_metadata(path).is_ok()
    {
        return Err(Failure::usage(format!(
            "{}: exists already: a plan file is never replaced (a reviewed plan must stay as reviewed); choose another path",
            path.display()
        )));
    }
    let sign_key = match write {
        Some(_) => super::acting::load_sign_key(&settings)?,
        None => None,
    };
    let source = Source::open(&input)?;
    let exempt = super::ledger::exemptions(&settings)?;
    let (report, resume) = super::report_path::choose_report(&settings, &source, resume)?;
    // The rows the ledger owes are sent by the run too: the plan shows them.
    let (source, _) = super::ledger::attach(&settings, &report, source)?;
    let report = crate::report::canonical(&report);
    let existed = report.exists();
    let lock = ReportLock::acquire(&report, true)?;
    let finished = if resume && existed {
        crate::report::read_state(&report)?.finished
    } else {
        HashSet::new()
    };
    let opts = settings.input_options();
    // Only for the rows that contradict each other: the plan counts the rest itself.
    let survey = crate::input::survey(&source, &opts, (&finished, &exempt), &mut |_| {})?;
    let (plan, readers) = plan_with_lanes(
        &settings,
        (&source, &opts, &exempt),
        &survey.conflicts,
        &finished,
        &report,
    )
    .await?;
    let stopped = readers.stopped();
    let code = with_cap(
        &plan,
        &settings,
        exit_code(&plan, &settings, stopped.as_ref()),
    );
    let file = plan_file(&report);
    let digest = record_in(&file, &settings, &report, (&source, &exempt), &plan);
    if !existed && std::fs::metadata(&report).is_ok_and(|m| m.len() == 0) {
        // The lock made the report; the plan's record stays beside where it will be.
        let _ = std::fs::remove_file(&report);
    }
    drop(lock);
    let digest = digest?;
    if let (Some(path), None) = (write, stopped.as_ref()) {
        write_plan(
            path,
            to_file(&settings, &source, &plan),
            sign_key.as_deref(),
        )?;
    }
    print(
        &plan,
        &source,
        &settings,
        (&file, &digest),
        stopped.as_ref(),
        output,
        code,
    );
    Ok(code)
}

/// The plan file of `plan` as `plan --write` writes it.
pub fn to_file(settings: &Settings, source: &Source, plan: &Plan) -> PlanFile {
    let (rows, counts, will_revoke) = PlanFile::rows_of(plan);
    let exempt = settings
        .run
        .exempt
        .as_ref()
        .map(|p| p.display().to_string());
    PlanFile {
        format: crate::plan::file::FORMAT.to_string(),
        made_at: crate::report::timestamp(),
        base_url: settings.base_url.to_string(),
        api: settings.api.to_string(),
        credential: acting_identity(settings),
        input: source
            .path()
            .map(|p| crate::report::canonical(p).display().to_string())
            .unwrap_or_else(|| source.name().to_string()),
        input_sha256: source.sha256().to_string(),
        settings: PlanSettings {
            job: settings.job_path.as_ref().map(|p| p.display().to_string()),
            allowed_kinds: settings
                .input_options()
                .allowed_kinds
                .iter()
                .map(ToString::to_string)
                .collect(),
            exempt_sha256: exempt.as_ref().and_then(|_| {
                crate::input::Exemptions::of(settings.run.exempt.as_ref())
                    .ok()
                    .map(|e| e.sha256)
            }),
            exempt,
            protect: settings
                .run
                .protect
                .ids()
                .map(ToString::to_string)
                .collect(),
            allow_own_credential: settings.run.allow_own_credential,
            max_revocations: settings.run.max_revocations,
        },
        counts,
        will_revoke,
        lists: plan.listed.clone(),
        rows,
    }
}

/// Writes the plan file (`plan --write`), signed with `key`, and says how to apply it.
fn write_plan(
    path: &Path,
    file: PlanFile,
    key: Option<&crate::report::signature::SigningKey>,
) -> Result<(), Failure> {
    let sha = file.write(path, key)?;
    console().note(
        "revoker::plan",
        &format!(
            "plan written to {} (SHA-256 {sha}{}); to apply it as reviewed: revoker run … --plan-file {}",
            path.display(),
            if key.is_some() { ", signed beside it" } else { "" },
            path.display()
        ),
    );
    Ok(())
}

/// The plan against live state: the lanes learn where each row goes, the guard finds the run's
/// own credential, and each row is read; signals stop the reads, not the plan.
async fn plan_with_lanes(
    settings: &Settings,
    (source, opts, exempt): (&Source, &InputOptions, &Exemptions),
    conflicts: &HashMap<Identity, String>,
    finished: &HashSet<Identity>,
    report: &Path,
) -> Result<(Plan, Readers), Failure> {
    let stop = StopFlag::default();
    let signals = super::signals::listen_for_signals(stop.clone());
    let mut lanes = super::lanes::Lanes::build(settings, &Arc::new(Figures::default()), &stop, 1)?;
    let made = match lanes.learn(source, opts, report).await {
        Ok(()) => {
            let lanes = Arc::new(lanes);
            let readers = lanes.readers();
            let protecting = !settings.run.protect.is_empty();
            let lists = super::own::KeyLists::of(source, opts, true).protecting(protecting);
            let guard = super::own::guard(
                &lanes,
                &lists,
                Arc::new(exempt.clone()),
                settings.run.allow_own_credential,
            )
            .await;
            let protect = &settings.run.protect;
            let made = match super::protect::check(protect, (source, opts), &lanes, guard).await {
                Ok(guard) => {
                    live_plan(settings, &readers, (source, &guard, conflicts), finished).await
                }
                Err(e) => Err(e),
            };
            lanes.finish().await;
            made.map(|plan| (plan, readers))
        }
        Err(e) => Err(e),
    };
    signals.abort();
    made
}

/// The exit code raised to 1 when a run would revoke more than `max_revocations` (and be refused).
fn with_cap(plan: &Plan, settings: &Settings, code: i32) -> i32 {
    match settings.run.max_revocations {
        Some(cap) if plan.revocations() > cap => {
            tracing::warn!(
                "a run would be refused: it would revoke {} credentials, more than max_revocations {cap}",
                plan.revocations()
            );
            code.max(exit::UNFINISHED)
        }
        _ => code,
    }
}

fn print(
    plan: &Plan,
    source: &Source,
    settings: &Settings,
    (file, digest): (&Path, &str),
    stopped: Option<&crate::engine::StopReason>,
    output: Output,
    code: i32,
) {
    if output == Output::Json {
        out(serde_json::json!({
            "plan": plan,
            "revocations": plan.revocations(),
            "audit_file": file.display().to_string(),
            "audit_digest": digest,
            "stopped": stopped.map(ToString::to_string),
            "exit_code": code,
        }));
    } else {
        out(plan::render(plan, source.name(), settings.base_url.as_str()).trim_end());
    }
    let mut text = String::new();
    if let Some(reason) = stopped {
        text.push_str(&format!("revoker: stopped: {reason}\n"));
    }
    text.push_str(&format!(
        "plan recorded in {} (line SHA-256 {digest}); nothing was revoked",
        file.display()
    ));
    if file.to_string_lossy().ends_with(audit::PLANS_SUFFIX) {
        text.push_str(
            "\n  (beside the report's audit file, which a read-only command never changes)",
        );
    }
    if plan.count(Fate::Revoke) > 0 && code == exit::OK {
        text.push_str("\n  to revoke: the same command with run instead of plan");
    }
    console().note("revoker::plan", &text);
}
