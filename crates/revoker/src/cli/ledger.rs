//! `revoker ledger`: what a job's ledger still owes, with ages, as text or JSON; `revoker ledger
//! abandon` takes rows out by name, recorded with who and why.

use std::path::{Path, PathBuf};

use super::args::{LedgerAction, LedgerArgs};
use super::{Failure, Output, exit, out};
use crate::ledger::{ESCALATE_AFTER, Ledger, clock};
use crate::settings::{JobFile, LedgerSetting, expand_report_path};

pub(super) fn command(args: LedgerArgs) -> Result<i32, Failure> {
    match args.action {
        Some(LedgerAction::Abandon {
            ledger,
            rows,
            reason,
        }) => abandon(&ledger, &rows, &reason),
        None => {
            let given = args.ledger.ok_or_else(|| {
                Failure::usage(
                    "name the ledger (or the job file that keeps it): revoker ledger PATH",
                )
            })?;
            list(&given, args.output)
        }
    }
}

/// The ledger a path names (a job file names its ledger), and the job's escalation threshold.
pub fn resolve(given: &Path) -> Result<(PathBuf, u32), Failure> {
    if given.extension().is_none_or(|e| e != "toml") {
        return Ok((given.to_path_buf(), ESCALATE_AFTER));
    }
    let job = JobFile::load(given)?;
    let after = job.escalate_after.unwrap_or(ESCALATE_AFTER);
    let name = given
        .file_stem()
        .map_or_else(|| "run".to_string(), |s| s.to_string_lossy().into_owned());
    match job.ledger {
        Some(LedgerSetting::At(path)) => Ok((path, after)),
        Some(LedgerSetting::On(true)) => {
            let report = job.report.clone().unwrap_or_default();
            let report = expand_report_path(&report, &name, &jiff::Zoned::now());
            let dir = report
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| given.parent().unwrap_or(Path::new("")).to_path_buf());
            Ok((dir.join(format!("{name}.ledger.json")), after))
        }
        _ => Err(Failure::usage(format!(
            "{} keeps no ledger: add ledger = true (or ledger = \"PATH\")",
            given.display()
        ))),
    }
}

fn list(given: &Path, output: Output) -> Result<i32, Failure> {
    let (path, after) = resolve(given)?;
    if !path.exists() {
        return Err(Failure::usage(format!(
            "{}: no ledger yet (a run of the job writes it)",
            path.display()
        )));
    }
    let ledger = Ledger::load(&path)?;
    let now = clock::now();
    let mut rows: Vec<_> = ledger.owed.iter().collect();
    rows.sort_by_key(|r| (std::cmp::Reverse(r.age_days(now)), r.name()));
    if output == Output::Json {
        let owed: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "row": r.name(), "kind": r.kind, "scope": r.scope, "key": r.key,
                    "secret": r.secret, "first_owed": r.first_owed, "age_days": r.age_days(now),
                    "nights": r.nights, "attempts": r.attempts, "last_outcome": r.last_outcome,
                    "last_reason": r.last_reason, "escalated": r.nights > after,
                })
            })
            .collect();
        out(serde_json::json!({
            "ledger": path.display().to_string(),
            "escalate_after": after,
            "owed": owed,
            "abandoned": ledger.abandoned,
            "first_seen": ledger.first_seen.len(),
        }));
        return Ok(exit::OK);
    }
    let mut text = format!(
        "{}: {} owed, {} escalated (more than {after} nights), {} abandoned",
        path.display(),
        rows.len(),
        ledger.escalated(after).len(),
        ledger.abandoned.len()
    );
    for r in rows {
        text.push_str(&format!(
            "\n{} {}  age {}d  {} nights  {} attempts  first owed {}  last {}: {}",
            if r.nights > after { "!" } else { " " },
            r.name(),
            r.age_days(now),
            r.nights,
            r.attempts,
            r.first_owed,
            r.last_outcome,
            r.last_reason
        ));
    }
    out(text);
    Ok(exit::OK)
}

fn abandon(given: &Path, rows: &[String], reason: &str) -> Result<i32, Failure> {
    if reason.trim().is_empty() {
        return Err(Failure::usage(
            "--reason must say why the rows are given up",
        ));
    }
    let (path, _) = resolve(given)?;
    let mut ledger = Ledger::load_to_change(&path)?;
    let who = (
        crate::report::audit::os_user(),
        crate::report::audit::host_name(),
    );
    let gone = ledger.abandon(&path, rows, (&who.0, &who.1), reason.trim(), clock::now())?;
    ledger.save(&path)?;
    out(format!(
        "{}: abandoned {} by {}@{}: {}\n{}",
        path.display(),
        crate::text::plural(gone.len() as u64, "row", "rows"),
        who.0,
        who.1,
        reason.trim(),
        gone.join("\n")
    ));
    Ok(exit::OK)
}

/// What the ledger at `given` (a ledger or a job file) owes, as the HTML page shows it first.
pub fn owed_view(
    given: Option<&Path>,
    exempt: Option<&str>,
) -> Result<crate::report::html::Owed, Failure> {
    let now = clock::now();
    let warnings = exempt
        .and_then(|file| crate::input::Exemptions::load(Path::new(file)).ok())
        .map(|list| {
            list.expired(now)
                .into_iter()
                .map(|e| {
                    let what = e.dated.describe(&list.file);
                    if e.readable {
                        format!("{what}: past its until date")
                    } else {
                        format!("{what}: the until date cannot be read; it keeps protecting")
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let Some(given) = given else {
        return Ok(crate::report::html::Owed {
            warnings,
            ..Default::default()
        });
    };
    let (path, after) = resolve(given)?;
    let ledger = Ledger::load(&path)?;
    let mut rows: Vec<_> = ledger
        .owed
        .iter()
        .map(|r| crate::report::html::OwedView {
            row: r.name(),
            first_owed: r.first_owed.clone(),
            age_days: r.age_days(now),
            nights: r.nights,
            attempts: r.attempts,
            last: format!("{}: {}", r.last_outcome, r.last_reason),
        })
        .collect();
    rows.sort_by_key(|r| (std::cmp::Reverse(r.nights), r.row.clone()));
    Ok(crate::report::html::Owed {
        ledger: path.display().to_string(),
        escalate_after: after,
        rows,
        warnings,
    })
}
