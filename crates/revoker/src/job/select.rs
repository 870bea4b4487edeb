//! `revoker select`, and the selection a policy job makes before it runs: the client, the reads,
//! the token revoked, the selected rows written as an input with why each was chosen.
//!
//! A job with `[select]` and no input selects into `REPORT.selected.csv` beside its report, which
//! then is the run's input (its SHA-256 in the audit record like any input's). A resume of that
//! report reads the selection it kept rather than selecting again, so the rows it was started with
//! are the rows it finishes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::input::Format;
use crate::job::Failure;
use crate::select::{self, Found, Policy};
use crate::settings::Settings;
use crate::ui::{Output, console, out};
use crate::vocab::exit;

/// The suffix of the selection kept beside a policy job's report.
pub const SELECTED: &str = ".selected.csv";

/// A policy refused before any request; one that names no scope is offered the profile's org_id.
fn refused(settings: &Settings, policy: &Policy, why: String) -> Failure {
    if policy.orgs.is_empty() && policy.projects.is_empty() {
        return Failure::usage(format!("{why}{}", settings.profile_org_hint()));
    }
    Failure::usage(why)
}

/// Runs `policy` with the settings' credential; the token it fetched is revoked however it ends.
pub async fn run_selection(
    settings: &Settings,
    policy: &Policy,
    ledger: Option<&Path>,
) -> Result<(Found, Option<i32>), Failure> {
    policy.check().map_err(|e| refused(settings, policy, e))?;
    let found = settings.credential.as_ref().map_err(Failure::usage)?;
    let caller = select::caller_of(&found.credential);
    let now = jiff::Timestamp::from_second(crate::ledger::clock::now())
        .unwrap_or_else(|_| jiff::Timestamp::now());
    let first_seen = ledger.map(super::ledger::first_seen).transpose()?;
    let reading = super::acting::Reading::open(settings)?;
    let ctx = &reading.ctx;
    let selection = select::select_seen(ctx, policy, &caller, now, first_seen).await;
    let recorded = ledger
        .map(|path| super::ledger::record_seen(path, &selection.dateless))
        .transpose();
    let refused = protected(ctx, &settings.run.protect, &selection).await;
    let stopped = reading.close().await;
    recorded?;
    if !refused.is_empty() {
        return Err(super::protect::refusal(&refused));
    }
    Ok((selection, stopped))
}

/// The selected credentials in a protected organization or project, each named: a selection
/// with any is refused (exit 2) and writes nothing, as a run with such a row is.
async fn protected(
    ctx: &Arc<crate::engine::Context>,
    protect: &crate::guard::Protect,
    found: &Found,
) -> Vec<String> {
    use crate::engine::read::{ProjectOrg, project_org};
    use crate::guard::Home;
    let mut homes: std::collections::HashMap<crate::input::ObjectId, Home> = Default::default();
    let mut refused = Vec::new();
    if protect.is_empty() {
        return refused;
    }
    for selected in &found.selected {
        let t = &selected.target;
        let home = match t.kind.scope() {
            crate::input::Scope::Project => match homes.get(&t.scope) {
                Some(home) => *home,
                None => {
                    let home = match project_org(ctx, t.scope).await {
                        ProjectOrg::Org(org) => Home::Org(org),
                        ProjectOrg::Gone => Home::Gone,
                        _ => Home::Unknown,
                    };
                    homes.insert(t.scope, home);
                    home
                }
            },
            _ => Home::Unknown,
        };
        if let Some(why) = protect.covering(t, home) {
            refused.push(format!("selected {t}: {why}"));
        }
    }
    refused
}

/// One line on what a selection did.
fn summary(found: &Found) -> String {
    let mut text = format!(
        "selected {} of {} credentials with {} requests ({} access lists) in {:.1} s",
        found.selected.len(),
        found.candidates,
        found.requests,
        found.access_lists,
        found.elapsed_ms as f64 / 1000.0
    );
    if found.own_skipped > 0 {
        text.push_str(&format!(
            "; the credential this selection signs in with was seen {} time(s) and never selected",
            found.own_skipped
        ));
    }
    for p in &found.problems {
        text.push_str(&format!("\n  not read: {p} (the selection is incomplete)"));
    }
    text
}

/// `revoker select`: writes the selection to `write` (or stdout). Exit 0, or 1 when a list could
/// not be read (what was read is still written), or a stop's code.
pub async fn select_command(
    settings: Settings,
    policy: Policy,
    write: Option<PathBuf>,
    output: Output,
) -> Result<i32, Failure> {
    if let Some(path) = &write {
        select::write::refuse_to_replace(path)?;
    }
    let ledger = match &settings.run.ledger {
        Some(crate::settings::LedgerSetting::At(path)) => Some(path.clone()),
        _ => None,
    };
    let (found, stopped) = run_selection(&settings, &policy, ledger.as_deref()).await?;
    let format = match write
        .as_deref()
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
    {
        Some("jsonl" | "ndjson" | "json") => Format::Jsonl,
        _ => Format::Csv,
    };
    let code = stopped.unwrap_or(if found.problems.is_empty() {
        exit::OK
    } else {
        exit::UNFINISHED
    });
    match &write {
        Some(path) => select::write::write_with_orgs(path, &found.selected, &found.orgs, format)
            .map_err(Failure::usage)?,
        None if output == Output::Text => {
            let bytes = select::write::render_with_orgs(&found.selected, &found.orgs, format)
                .map_err(Failure::usage)?;
            out(String::from_utf8_lossy(&bytes).trim_end());
        }
        None => {}
    }
    if output == Output::Json {
        out(
            serde_json::json!({ "selection": found, "written": write.as_ref().map(|p| p.display().to_string()), "exit_code": code }),
        );
    }
    say(&found);
    Ok(code)
}

/// The selection's summary on stderr: a warning when a list could not be read.
fn say(found: &Found) {
    let level = if found.problems.is_empty() {
        "INFO"
    } else {
        "WARN"
    };
    console().emit(
        level,
        "revoker::select",
        &summary(found),
        serde_json::json!({
            "selected": found.selected.len(),
            "candidates": found.candidates,
            "requests": found.requests,
            "access_lists": found.access_lists,
            "problems": found.problems,
        }),
    );
}

/// The selection of a policy job, made (or, on a resume, found) beside its report; the input the
/// run then reads. Answers what the selection did, for the audit record: the policy that made it,
/// what it read, and what it could not.
///
/// Every refusal comes before anything is written: a report with rows and no resume, a report
/// another run holds, a signing key, exemption list or metrics path that would refuse the run. A
/// kept selection is read again only by a resume of a report whose rows came from it (an audit
/// start record holds its SHA-256); a selection a refused run left behind is made again.
pub async fn select_for_run(
    settings: &mut Settings,
    report: &Path,
    resume: bool,
) -> Result<Option<serde_json::Value>, Failure> {
    let Some(policy) = settings.values.select.clone() else {
        return Ok(None);
    };
    policy.check().map_err(|e| refused(settings, &policy, e))?;
    let path = crate::report::sidecar(report, SELECTED);
    refuse_before_selecting(settings, report)?;
    if std::fs::metadata(report).is_ok_and(|m| m.len() > 0) {
        if !resume {
            return Err(crate::report::ReportError::Exists {
                path: report.to_path_buf(),
            }
            .into());
        }
        match kept_selection(report, &path) {
            Some(made) => {
                tracing::info!(
                    "{}: the selection this report was started with",
                    path.display()
                );
                settings.values.input = Some(path);
                return Ok(Some(made));
            }
            None if settings.run.new_input => {}
            None => {
                return Err(Failure::usage(format!(
                    "{}: no run of this report read the selection kept beside it ({}), so it cannot be resumed from it; choose another report, or pass --new-input (new_input = true in a job) to select again for this report",
                    report.display(),
                    path.display()
                )));
            }
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
    }
    let ledger = super::ledger::path_for(settings, report);
    let (found, stopped) = run_selection(settings, &policy, ledger.as_deref()).await?;
    if let Some(code) = stopped {
        return Err(Failure::new(
            code,
            anyhow::anyhow!("the selection stopped; nothing was revoked"),
        ));
    }
    say(&found);
    select::write::write_with_orgs(&path, &found.selected, &found.orgs, Format::Csv)
        .map_err(Failure::usage)?;
    settings.values.input = Some(path);
    Ok(Some(serde_json::json!({
        "policy": policy,
        "candidates": found.candidates,
        "selected": found.selected.len(),
        "requests": found.requests,
        "access_lists": found.access_lists,
        "own_skipped": found.own_skipped,
        "unreadable_ids": found.unreadable_ids,
        "unreadable_dates": found.unreadable_dates,
        "problems": found.problems,
    })))
}

/// The refusals the run would make once the input is known, made before the selection is
/// written: another run holding the report, the signing key, the exemption list, the metrics path.
fn refuse_before_selecting(settings: &Settings, report: &Path) -> Result<(), Failure> {
    if std::fs::metadata(report).is_ok() {
        drop(crate::report::ReportLock::acquire(report, false)?);
    }
    super::acting::load_sign_key(settings)?;
    crate::input::Exemptions::of(settings.run.exempt.as_ref())?;
    if let Some(metrics) = &settings.run.metrics_file {
        crate::report::files::refuse_protected(
            metrics,
            &crate::report::files::protected(report, None),
        )?;
    }
    Ok(())
}

/// What the audit record says of the selection kept at `kept`, when a run of `report` read it:
/// the policy that made it (never the job's policy as it is now), marked as read again.
fn kept_selection(report: &Path, kept: &Path) -> Option<serde_json::Value> {
    use sha2::Digest as _;
    // A side file: a FIFO or a link planted there must not hold the run and its lock.
    let mut file = crate::fsx::open_read(kept, crate::fsx::Links::Refuse).ok()?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).ok()?;
    let sha = format!("{:x}", hasher.finalize());
    let log = crate::report::audit::read(report).ok()?;
    let start = log.records.iter().find(|r| {
        r.event == "start" && r.command == "run" && r.input_sha256.as_deref() == Some(&sha)
    })?;
    let mut made = start
        .selection
        .clone()
        .unwrap_or_else(|| serde_json::json!({ "policy": null }));
    if let Some(object) = made.as_object_mut() {
        object.insert("kept_from_run".into(), serde_json::json!(start.run_id));
    }
    Some(made)
}
