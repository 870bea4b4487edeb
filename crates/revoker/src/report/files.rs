//! The files no output may land on: the evidence (the report and its side files) and the input.
//! Metrics, `--failures`, `--html`, a signature and a selection are refused when they would
//! overwrite one of them, by any name or link.

use std::path::{Path, PathBuf};

use super::{ReportError, audit, canonical, sidecar};
use crate::fsx::same_file;

/// The files a resume and the evidence depend on, each with what it is.
pub fn protected(report: &Path, input: Option<&Path>) -> Vec<(PathBuf, String)> {
    let report = canonical(report);
    let mut files = vec![
        (report.clone(), "the report".to_string()),
        (
            sidecar(&report, ".sent"),
            "the report's journal".to_string(),
        ),
        (
            sidecar(&report, audit::SUFFIX),
            "the report's audit record".to_string(),
        ),
        (
            sidecar(&report, ".input"),
            "the report's copy of the input".to_string(),
        ),
        (sidecar(&report, ".lock"), "the report's lock".to_string()),
        (
            sidecar(&report, ".orgs.json"),
            "the report's project organizations".to_string(),
        ),
        (
            sidecar(&report, audit::PLANS_SUFFIX),
            "the report's plans".to_string(),
        ),
        (
            sidecar(&report, ".selected.csv"),
            "the report's selection".to_string(),
        ),
        (
            sidecar(&report, super::reconciled::SUFFIX),
            "the report's reconciliation with events".to_string(),
        ),
        (
            sidecar(&report, super::swept::SUFFIX),
            "the report's sweep of events".to_string(),
        ),
        (
            sidecar(&report, ".findings.csv"),
            "the report's resolved findings".to_string(),
        ),
        (
            sidecar(&report, super::signature::MANIFEST),
            "the report's signed manifest".to_string(),
        ),
        (
            sidecar(&report, super::signature::SIGNATURE),
            "the report's signature".to_string(),
        ),
    ];
    if let Some(input) = input {
        files.push((canonical(input), "the input".to_string()));
    }
    files
}

/// Refuses to write `out` when it is, by any name or link, one of `protected`.
pub fn refuse_protected(out: &Path, protected: &[(PathBuf, String)]) -> Result<(), ReportError> {
    let target = canonical(out);
    for (path, what) in protected {
        if &target == path || same_file(&target, path) || same_file(out, path) {
            return Err(ReportError::WouldOverwrite {
                path: out.to_path_buf(),
                what: what.clone(),
            });
        }
    }
    if is_minisign_key(out) {
        return Err(ReportError::WouldOverwrite {
            path: out.to_path_buf(),
            what: "a minisign key (the one that signs the evidence, or checks it)".to_string(),
        });
    }
    Ok(())
}

/// Whether `path` holds a minisign key, secret or public (or a signature): each begins with an
/// "untrusted comment:" line. A key lives anywhere the operator put it, so it is known by what it
/// holds, not by its name.
fn is_minisign_key(path: &Path) -> bool {
    use std::io::Read as _;
    let Ok(file) = crate::fsx::open_read(path, crate::fsx::Links::Follow) else {
        return false;
    };
    let mut head = Vec::new();
    let _ = file.take(64).read_to_end(&mut head);
    head.starts_with(b"untrusted comment:")
}
