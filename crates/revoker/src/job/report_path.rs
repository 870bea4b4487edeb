//! Which report a run writes, and whether it continues it: an explicit path, a `{time}` pattern
//! whose newest unfinished report of the same input is resumed, or the default beside the input.

use std::path::{Path, PathBuf};

use crate::input::Source;
use crate::job::Failure;
use crate::report::{ReportError, audit};
use crate::settings::{Settings, default_report_path, expand_report_path};
use crate::ui::console;
use crate::vocab::exit;

/// The report this run writes, and whether it continues it.
///
/// A path without `{time}` names one report: it is continued when it exists and `--resume` (or the
/// job's `resume = true`) asks; `--resume` for a report that does not exist is an error unless the
/// job says `resume = true` (a nightly job's first run of the day). A path with `{time}` names a new
/// report per run; `--resume` then continues the newest unfinished report of this job whose input
/// had the same SHA-256 (matching any `{date}` too, so an incident that crossed midnight resumes).
pub fn choose_report(
    settings: &Settings,
    source: &Source,
    resume_flag: bool,
) -> Result<(PathBuf, bool), Failure> {
    let job_resume = settings.job_resumes;
    let resume = resume_flag || job_resume;
    let now = jiff::Zoned::now();
    let Some(template) = settings.values.report.clone() else {
        let report = default_report_path(source.path().unwrap_or(Path::new("-")))
            .ok_or_else(|| Failure::usage("reading from stdin needs --report PATH"))?;
        return explicit(report, resume_flag, job_resume);
    };
    if !template.contains("{time}") {
        return explicit(
            expand_report_path(&template, &settings.job_name, &now),
            resume_flag,
            job_resume,
        );
    }
    let fresh = expand_report_path(&template, &settings.job_name, &now);
    if !resume {
        return Ok((fresh, false));
    }
    let pattern = template.replace("{job}", &settings.job_name);
    let pattern = if resume_flag {
        pattern.replace("{date}", "*")
    } else {
        pattern.replace("{date}", &now.strftime("%Y-%m-%d").to_string())
    };
    match newest_unfinished(&pattern.replace("{time}", "*"), source.sha256()) {
        Some(found) => {
            console().note(
                "revoker::resume",
                &format!(
                    "resuming {} (the newest unfinished report of this job and input)",
                    found.display()
                ),
            );
            Ok((found, true))
        }
        None if resume_flag => Err(Failure::usage(format!(
            "--resume: nothing to resume: no unfinished report matching {} for input {} (SHA-256 {}); drop --resume to start a new report",
            pattern.replace("{time}", "*"),
            source.name(),
            source.sha256()
        ))),
        None => Ok((fresh, false)),
    }
}

fn explicit(
    report: PathBuf,
    resume_flag: bool,
    job_resume: bool,
) -> Result<(PathBuf, bool), Failure> {
    if report.exists() {
        return Ok((report, resume_flag || job_resume));
    }
    if resume_flag && !job_resume {
        return Err(ReportError::NothingToResume { path: report }.into());
    }
    Ok((report, false))
}

/// Matches a file name against a pattern whose only wildcard is `*`.
fn matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return pattern == name;
    };
    if parts.len() == 1 {
        return pattern == name;
    }
    if !name.starts_with(first) || !name.ends_with(last) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The newest report matching `pattern` (wildcards in the file name only) whose last run read an
/// input with `sha256` and did not end with every row finished.
fn newest_unfinished(pattern: &str, sha256: &str) -> Option<PathBuf> {
    let pattern = Path::new(pattern);
    let dir = pattern
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = pattern.file_name()?.to_str()?;
    let mut candidates: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| matches(name, n)))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    candidates.into_iter().map(|(_, p)| p).find(|path| {
        let Ok(log) = audit::read(path) else {
            return false;
        };
        let Some(start) = log.last_run_start() else {
            return false;
        };
        let end = log
            .records
            .iter()
            .rev()
            .find(|r| r.event == "end" && r.run_id == start.run_id);
        start.input_sha256.as_deref() == Some(sha256)
            && end.is_none_or(|e| e.exit_code != Some(exit::OK))
    })
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn file_name_patterns() {
        assert!(matches(
            "incident-*-*.csv",
            "incident-2026-11-25-101500.csv"
        ));
        assert!(!matches(
            "incident-*-*.csv",
            "incident-2026-11-25-101500.csv.audit.jsonl"
        ));
        assert!(!matches("incident-*.csv", "nightly-1.csv"));
        assert!(matches("a.csv", "a.csv"));
    }
}
