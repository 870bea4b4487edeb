//! `revoker resolve`, and the resolution a findings job (`run --findings`, `findings = […]`) makes
//! before it runs: the findings read, resolved with the settings' credential (never a leaked
//! one), the token revoked, the rows written as an input with `why` naming each finding by its
//! place and fingerprint. No value is ever written: only fingerprints, places and targets.

use std::path::{Path, PathBuf};

use crate::findings::resolve::{Resolution, Resolved};
use crate::input::{Format, ObjectId};
use crate::job::Failure;
use crate::select::Selected;
use crate::settings::Settings;
use crate::ui::{Output, console, out};
use crate::vocab::exit;

/// The suffix of the resolution kept beside a findings job's report.
pub const RESOLVED: &str = ".findings.csv";

/// Reads `files` and resolves them with the settings' credential against `orgs`.
pub async fn run_resolution(
    settings: &Settings,
    files: &[PathBuf],
    orgs: &[ObjectId],
    validate: bool,
) -> Result<(Resolution, Option<i32>), Failure> {
    if orgs.is_empty() {
        return Err(Failure::usage(
            "resolving findings needs the organizations to read (--org, or findings_orgs = […] in a job)",
        ));
    }
    let findings = crate::findings::read_all(files)?;
    let found = settings.credential.as_ref().map_err(Failure::usage)?;
    let template = validate.then(|| settings.api_config(found));
    let reading = super::acting::Reading::open(settings)?;
    let resolution =
        crate::findings::resolve::resolve(&reading.ctx, findings, orgs, template.as_ref()).await;
    Ok((resolution, reading.close().await))
}

/// The rows `run` reads: one per resolved finding, `why` its fingerprint and place.
pub fn rows(resolution: &Resolution) -> Vec<Selected> {
    let mut rows: Vec<Selected> = Vec::new();
    for r in &resolution.resolved {
        let why = why(r);
        match rows.iter_mut().find(|s| s.target == r.target) {
            Some(first) => {
                first.why.push_str("; ");
                first.why.push_str(&why);
            }
            None => rows.push(Selected {
                target: r.target,
                why,
            }),
        }
    }
    rows
}

fn why(r: &Resolved) -> String {
    let mut why = format!(
        "finding {} ({}) at {}",
        r.fingerprint,
        r.shape.as_str(),
        r.source
    );
    if let Some(live) = &r.live {
        why.push_str(&format!(" [{live}]"));
    }
    why
}

/// What the audit record says of a resolution: every finding by fingerprint, and what became of it.
pub fn record(resolution: &Resolution, files: &[PathBuf], orgs: &[ObjectId]) -> serde_json::Value {
    let resolved: Vec<serde_json::Value> = resolution
        .resolved
        .iter()
        .map(|r| serde_json::json!({ "fingerprint": r.fingerprint, "source": r.source, "target": r.target.to_string(), "live": r.live }))
        .collect();
    serde_json::json!({
        "findings": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
        "orgs": orgs,
        "read": resolution.read,
        "duplicates": resolution.duplicates,
        "resolved": resolved,
        "unresolved": resolution.unresolved,
        "requests": resolution.requests,
        "problems": resolution.problems,
    })
}

/// Exit 0 when every MongoDB-shaped finding resolved and every list was read, else 1.
fn code(resolution: &Resolution) -> i32 {
    let open = resolution.unresolved.iter().any(|u| u.open);
    if open || !resolution.problems.is_empty() {
        exit::UNFINISHED
    } else {
        exit::OK
    }
}

/// One line, then every finding not resolved with why.
fn summary(r: &Resolution) -> String {
    let mut text = format!(
        "resolved {} of {} findings ({} duplicates) to {} credentials with {} requests",
        r.resolved.len(),
        r.read,
        r.duplicates,
        rows(r).len(),
        r.requests
    );
    for u in &r.unresolved {
        text.push_str(&format!(
            "\n  not resolved: finding {} at {}: {}",
            u.fingerprint, u.source, u.reason
        ));
    }
    for p in &r.problems {
        text.push_str(&format!("\n  not read: {p} (the resolution is incomplete)"));
    }
    text
}

fn say(r: &Resolution) {
    let level = if code(r) == exit::OK { "INFO" } else { "WARN" };
    console().emit(
        level,
        "revoker::resolve",
        &summary(r),
        serde_json::json!({
            "resolved": r.resolved.len(),
            "read": r.read,
            "duplicates": r.duplicates,
            "unresolved": r.unresolved.len(),
            "requests": r.requests,
            "problems": r.problems,
        }),
    );
}

/// Writes `rows` at `path`, a new owner-only file: nothing there is ever replaced.
fn write_new(path: &Path, rows: &[Selected]) -> Result<(), Failure> {
    use std::io::Write as _;
    let bytes = crate::select::write::render(rows, Format::Csv).map_err(Failure::usage)?;
    let mut file = crate::fsx::create_new(path).map_err(|e| {
        Failure::usage(format!(
            "{}: {e} (a resolution never replaces a file)",
            path.display()
        ))
    })?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

/// `revoker resolve`: the rows to `write` (or stdout). Exit 0, 1 (a finding not resolved, a list
/// not read) or a stop's code.
pub async fn resolve_command(
    settings: Settings,
    files: Vec<PathBuf>,
    orgs: Vec<ObjectId>,
    write: Option<PathBuf>,
    output: Output,
    validate: bool,
) -> Result<i32, Failure> {
    if let Some(path) = &write
        && std::fs::symlink_metadata(path).is_ok()
    {
        return Err(Failure::usage(format!(
            "{}: already exists; a resolution never replaces a file",
            path.display()
        )));
    }
    let (resolution, stopped) = run_resolution(&settings, &files, &orgs, validate).await?;
    let rows = rows(&resolution);
    let code = stopped.unwrap_or(code(&resolution));
    match &write {
        Some(path) => write_new(path, &rows)?,
        None if output == Output::Text => {
            let bytes = crate::select::write::render(&rows, Format::Csv).map_err(Failure::usage)?;
            out(String::from_utf8_lossy(&bytes).trim_end());
        }
        None => {}
    }
    if output == Output::Json {
        out(serde_json::json!({
            "resolution": record(&resolution, &files, &orgs),
            "written": write.as_ref().map(|p| p.display().to_string()),
            "exit_code": code,
        }));
    }
    say(&resolution);
    Ok(code)
}

/// The resolution of a findings job, made (or on a resume, found) beside its report: the input
/// the run then reads. Answers what it did, for the audit record.
pub async fn resolve_for_run(
    settings: &mut Settings,
    report: &Path,
    resume: bool,
) -> Result<Option<serde_json::Value>, Failure> {
    let files = settings.values.findings.clone();
    let orgs = settings.values.findings_orgs.clone();
    let path = crate::report::sidecar(report, RESOLVED);
    if std::fs::metadata(report).is_ok_and(|m| m.len() > 0) {
        if !resume {
            return Err(crate::report::ReportError::Exists {
                path: report.to_path_buf(),
            }
            .into());
        }
        if std::fs::metadata(&path).is_ok() {
            settings.values.input = Some(path);
            return Ok(Some(serde_json::json!({ "findings": files, "kept": true })));
        }
    }
    if std::fs::symlink_metadata(&path).is_ok() {
        return Err(Failure::usage(format!(
            "{}: a resolution is already there and no run of {} read it; remove it to resolve again",
            path.display(),
            report.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
    }
    let (resolution, stopped) = run_resolution(settings, &files, &orgs, false).await?;
    if let Some(code) = stopped {
        return Err(Failure::new(
            code,
            anyhow::anyhow!("the resolution stopped; nothing was revoked"),
        ));
    }
    say(&resolution);
    write_new(&path, &rows(&resolution))?;
    settings.values.input = Some(path);
    Ok(Some(record(&resolution, &files, &orgs)))
}
