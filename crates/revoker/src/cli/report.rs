//! `revoker report`: a report summed up as text, JSON or an HTML page; its unfinished rows handed over
//! as a new input file; and whether it is as written.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::args::ReportArgs;
use super::{Failure, Output, exit, out};
use crate::input::{Identity, InputOptions, Source};
use crate::report::audit::AuditRecord;
use crate::report::files;
use crate::report::{
    Outcome, Record, ReportOverview, escape_cell, refuse_overwrite, render, summarize_report,
};
use crate::ui::console;

pub(super) fn command(args: ReportArgs) -> Result<i32, Failure> {
    let overview = summarize_report(&args.report)?;
    let json = args.json || args.output == Output::Json;
    let input = overview
        .last_input
        .as_ref()
        .and_then(|s| s.input.as_deref())
        .map(PathBuf::from);
    for path in [&args.failures, &args.html].into_iter().flatten() {
        refuse_overwrite(path, &args.report, input.as_deref())?;
    }
    // Writing a file says one line about it; the whole summary is for a plain `report`.
    let writes = args.html.is_some() || args.failures.is_some();
    if json {
        out(render::json(&overview));
    } else if !writes {
        out(render::text(&overview).trim_end());
    }
    if let Some(path) = &args.html {
        files::write_atomic(
            path,
            crate::report::html::page(&overview).as_bytes(),
            files::PRIVATE,
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
        console().note(
            "revoker::report",
            &format!("{}: HTML page written", path.display()),
        );
    }
    let mut unfinished = overview.unfinished.len();
    if let Some(path) = &args.failures {
        let (rows, note) = failures(&overview);
        unfinished = rows.len();
        write_failures(path, &rows).with_context(|| format!("cannot write {}", path.display()))?;
        if let Some(note) = note {
            tracing::warn!("{note}");
        }
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
    if !overview.untampered() {
        let problem = match (&overview.chain.first_bad_line, &overview.chain.problem) {
            (Some(line), Some(why)) => format!("{}:{line}: {why}", args.report.display()),
            (None, Some(why)) => format!("{}: {why}", args.report.display()),
            _ => overview
                .audit_problem
                .clone()
                .unwrap_or_else(|| "the report is not as written".into()),
        };
        return Err(Failure::usage(problem));
    }
    Ok(if unfinished > 0 {
        exit::UNFINISHED
    } else {
        exit::OK
    })
}

/// The rows not finished: those the report has, and — when the last run stopped before reading
/// all its input — the input's rows the report has never seen, read from the input again (or from
/// the copy kept of an input that could not be read again). Answers a warning when the input cannot
/// be used.
fn failures(overview: &ReportOverview) -> (Vec<Record>, Option<String>) {
    let mut rows = overview.unfinished.clone();
    let Some(start) = &overview.last_input else {
        return (rows, None);
    };
    let stopped_early = overview
        .runs
        .iter()
        .rev()
        .find(|r| r.run_id == start.run_id)
        .and_then(|r| r.audit.as_ref())
        .is_none_or(|a| {
            a.end
                .as_ref()
                .is_none_or(|e| e.not_attempted.unwrap_or(0) > 0)
        });
    if !stopped_early {
        return (rows, None);
    }
    match unreported(overview, start) {
        Ok(more) => {
            rows.extend(more);
            (rows, None)
        }
        Err(why) => (
            rows,
            Some(format!(
                "rows the last run never attempted are not listed: {why}"
            )),
        ),
    }
}

fn unreported(overview: &ReportOverview, start: &AuditRecord) -> Result<Vec<Record>, String> {
    let end = overview
        .runs
        .iter()
        .find(|r| r.run_id == start.run_id)
        .and_then(|r| r.audit.as_ref())
        .and_then(|a| a.end.clone());
    let path = end
        .as_ref()
        .and_then(|e| e.input_copy.clone())
        .or(start.input.clone())
        .ok_or("the audit record names no input")?;
    let source = Source::open(Path::new(&path)).map_err(|e| e.to_string())?;
    if start.input_sha256.as_deref() != Some(source.sha256()) {
        return Err(format!(
            "{path} has changed since the run (its SHA-256 is no longer {})",
            start.input_sha256.as_deref().unwrap_or("?")
        ));
    }
    let opts: InputOptions = start
        .read_as
        .clone()
        .map(Into::into)
        .ok_or("the audit record does not say how the input was read")?;
    let mut reported: HashSet<Identity> = HashSet::new();
    let mut invalid_lines: HashSet<u64> = HashSet::new();
    for r in &overview.rows {
        match r.target() {
            Some(t) => {
                reported.insert(t.identity());
            }
            None => {
                invalid_lines.insert(r.line);
            }
        }
    }
    let mut out = Vec::new();
    let mut seen: HashSet<Identity> = HashSet::new();
    source
        .scan(&opts, &mut |entry| {
            let mut record = Record {
                run_id: start.run_id.clone(),
                finished_at: String::new(),
                line: entry.line,
                kind: String::new(),
                project: String::new(),
                key: String::new(),
                outcome: Outcome::Skipped,
                http_status: None,
                error_code: String::new(),
                attempts: 0,
                duration_ms: 0,
                message: "not attempted: the run stopped before this row".into(),
                secret: String::new(),
            };
            match &entry.target {
                Ok(t) => {
                    let id = t.identity();
                    if reported.contains(&id) || !seen.insert(id) {
                        return ControlFlow::Continue(());
                    }
                    record.kind = t.kind.to_string();
                    record.project = t.scope.to_string();
                    record.key = t.key_text();
                    record.secret = t.secret_text();
                }
                Err(why) => {
                    if invalid_lines.contains(&entry.line) {
                        return ControlFlow::Continue(());
                    }
                    record.outcome = Outcome::Invalid;
                    record.kind = entry.raw.kind.clone();
                    record.project = entry.raw.scope.clone();
                    record.key = entry.raw.key.clone();
                    record.secret = entry.raw.secret.clone();
                    record.message = why.clone();
                }
            }
            out.push(record);
            ControlFlow::Continue(())
        })
        .map_err(|e| e.to_string())?;
    Ok(out)
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
    files::write_atomic(path, &bytes, files::PRIVATE)?;
    Ok(())
}
