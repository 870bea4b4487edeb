//! `revoker report`: a report summed up as text, JSON or an HTML page; its unfinished rows handed over
//! as a new input file; and whether it is as written.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::args::ReportArgs;
use super::{Failure, Output, exit, out};
use crate::report::{
    Record, ReportOverview, escape_cell, left, refuse_overwrite, render, signature,
    summarize_report,
};
use crate::ui::console;
use crate::vocab::ExitCode as _;

pub(super) fn command(args: ReportArgs) -> Result<i32, Failure> {
    // A row the reader cannot take as revoker wrote it (a forged or cut row) is the evidence not
    // being as written; a first line that is not a report's header is the wrong file (usage).
    let overview = summarize_report(&args.report).map_err(|e| match e {
        crate::report::ReportError::Malformed { line, .. } if line > 1 => {
            Failure::new(exit::TAMPERED, e)
        }
        e => Failure::from(e),
    })?;
    let json = args.json || args.output == Output::Json;
    let input = overview
        .last_input
        .as_ref()
        .and_then(|s| s.input.as_deref())
        .map(PathBuf::from);
    for path in [&args.failures, &args.html].into_iter().flatten() {
        refuse_overwrite(path, &args.report, input.as_deref())?;
    }
    let signed = match &args.public_key {
        Some(public) => Some(
            signature::check(&args.report, public).map_err(|e| Failure::new(e.exit_code(), e))?,
        ),
        None => None,
    };
    // Writing a file says one line about it; the whole summary is for a plain `report`.
    let writes = args.html.is_some() || args.failures.is_some();
    if json {
        out(render::json(&overview));
    } else if !writes {
        out(render::text(&overview).trim_end());
    }
    if let Some(checked) = &signed {
        console().note("revoker::report", &checked.describe());
    }
    if let Some(path) = &args.html {
        // The exemption list the last run read: its expired exemptions lead the page.
        let exempt = overview
            .runs
            .iter()
            .rev()
            .find_map(|r| r.audit.as_ref().and_then(|a| a.start.exempt.clone()));
        let owed = super::ledger::owed_view(args.ledger.as_deref(), exempt.as_deref())?;
        crate::fsx::write_atomic(
            path,
            crate::report::html::page_with(&overview, &owed).as_bytes(),
            crate::fsx::PRIVATE,
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
        console().note(
            "revoker::report",
            &format!("{}: HTML page written", path.display()),
        );
    }
    if let Some(path) = &args.failures {
        let rows = failures(&overview).map_err(Failure::usage)?;
        write_failures(path, &rows).with_context(|| format!("cannot write {}", path.display()))?;
        console().note(
            "revoker::report",
            &format!(
                "{}: {} rows not finished, ready for `revoker run --input {}`",
                path.display(),
                rows.len(),
                path.display()
            ),
        );
    }
    as_written(&args, &overview)?;
    Ok(match &signed {
        Some(checked) if checked.exit_code() != exit::OK => checked.exit_code(),
        _ if overview.finished() => exit::OK,
        _ => exit::UNFINISHED,
    })
}

/// Exit 5 when the report or its audit file is not as written, or not as a kept digest says: a
/// code of its own, apart from work left (1) and usage (2).
fn as_written(args: &ReportArgs, overview: &ReportOverview) -> Result<(), Failure> {
    if !overview.untampered() {
        let problem = match (&overview.chain.first_bad_line, &overview.chain.problem) {
            (Some(line), Some(why)) => format!("{}:{line}: {why}", args.report.display()),
            (None, Some(why)) => format!("{}: {why}", args.report.display()),
            _ => overview
                .audit_problem
                .clone()
                .unwrap_or_else(|| "the report is not as written".into()),
        };
        return Err(Failure::new(exit::TAMPERED, anyhow::anyhow!(problem)));
    }
    if let Some(problem) = overview.side_files.problems.first() {
        return Err(Failure::new(
            exit::TAMPERED,
            anyhow::anyhow!(problem.clone()),
        ));
    }
    if let Some(expected) = &args.expect_digest {
        let log = crate::report::audit::read(&args.report)?;
        let audit_path = crate::report::audit::path_for(&args.report);
        let Some(at) = log
            .digests
            .iter()
            .position(|d| d.eq_ignore_ascii_case(expected.trim()))
        else {
            return Err(Failure::new(
                exit::TAMPERED,
                anyhow::anyhow!(
                    "{}: no line has the evidence digest {expected}: the audit file or the report changed after it was kept",
                    audit_path.display()
                ),
            ));
        };
        let after = log.digests.len() - at - 1;
        let tail = if after == 0 {
            "its last line".to_string()
        } else {
            format!(
                "line {}; {} written after it",
                at + 1,
                crate::text::plural(after as u64, "line was", "lines were")
            )
        };
        console().note(
            "revoker::report",
            &format!(
                "evidence digest matched: {} holds it at {tail}; the report and the audit file are as written up to it",
                audit_path.display()
            ),
        );
    }
    Ok(())
}

/// The rows not finished: those the report has, and for every input with rows no run attempted,
/// those rows, read from the input again (or from the copy kept of an input that could not be read
/// again). `Err` names the input that cannot be read as it was.
fn failures(overview: &ReportOverview) -> Result<Vec<Record>, String> {
    let mut rows = overview.unfinished.clone();
    for left in overview.left.iter().filter(|l| l.is_open()) {
        let more = left::unreported_rows(left, &overview.rows)
            .map_err(|why| format!("the rows never attempted cannot be listed: {why}"))?;
        let have: HashSet<(u64, String, String)> = rows
            .iter()
            .map(|r| (r.line, r.project.clone(), r.key.clone()))
            .collect();
        rows.extend(
            more.into_iter()
                .filter(|r| !have.contains(&(r.line, r.project.clone(), r.key.clone()))),
        );
    }
    Ok(rows)
}

/// The unfinished rows as an input file: the columns `revoker run` reads, then why.
fn write_failures(path: &Path, rows: &[Record]) -> anyhow::Result<()> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "project",
        "org",
        "key",
        "secret",
        "kind",
        "line",
        "outcome",
        "http_status",
        "error_code",
        "message",
    ])?;
    for r in rows {
        // A global key's row has neither.
        let org_wide = crate::input::Kind::parse(&r.kind).is_some_and(|k| k.is_org_wide());
        let (project, org) = if org_wide {
            ("", r.project.as_str())
        } else {
            (r.project.as_str(), "")
        };
        let status = r.http_status.map(|s| s.to_string()).unwrap_or_default();
        let line = r.line.to_string();
        csv.write_record([
            escape_cell(project).as_ref(),
            escape_cell(org).as_ref(),
            escape_cell(&r.key).as_ref(),
            escape_cell(&r.secret).as_ref(),
            escape_cell(&r.kind).as_ref(),
            &line,
            r.outcome.as_str(),
            &status,
            escape_cell(&r.error_code).as_ref(),
            escape_cell(&crate::text::one_line(&r.message)).as_ref(),
        ])?;
    }
    let bytes = csv.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::fsx::write_atomic(path, &bytes, crate::fsx::PRIVATE)?;
    Ok(())
}
