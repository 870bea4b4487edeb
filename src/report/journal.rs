//! The write-ahead journal `REPORT.sent`: a row's identity is appended before its first request, so
//! that a resumed run can tell a key revoked by a run that died mid-request (now 404) from a key that
//! never existed.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{ReportError, sidecar};
use crate::input::{Identity, Target};

/// The journal of rows sent, open for appending.
pub struct SentJournal {
    path: PathBuf,
    file: Mutex<File>,
}

impl SentJournal {
    /// The journal's path for a report.
    pub fn path_for(report: &Path) -> PathBuf {
        sidecar(report, ".sent")
    }

    pub fn open(report: &Path) -> Result<SentJournal, ReportError> {
        let path = Self::path_for(report);
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(ReportError::io(&path))?;
        Ok(SentJournal {
            path,
            file: Mutex::new(file),
        })
    }

    /// Records that `target` is about to be sent. One `write` of a whole line, so a crash leaves at
    /// most a torn last line, which [`SentJournal::read_unsettled`] skips.
    pub fn record(&self, target: &Target) -> Result<(), ReportError> {
        let line = format!("{},{},{}\n", target.kind, target.project, target.key);
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(line.as_bytes())
            .map_err(ReportError::io(&self.path))
    }

    /// Rows an earlier run sent whose report gives no definite answer (`settled` holds the rows that
    /// are finished or were rejected).
    pub fn read_unsettled(
        report: &Path,
        settled: &dyn Fn(&Identity) -> bool,
    ) -> Result<HashSet<Identity>, ReportError> {
        let path = Self::path_for(report);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
            Err(e) => return Err(ReportError::Io { path, source: e }),
        };
        let mut out = HashSet::new();
        for line in BufReader::new(file).split(b'\n') {
            let line = line.map_err(ReportError::io(&path))?;
            let Ok(line) = std::str::from_utf8(&line) else {
                continue;
            };
            let mut parts = line.split(',');
            let (Some(kind), Some(project), Some(key)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if let Some(target) = Target::parse(kind, project, key) {
                let id = target.identity();
                if !settled(&id) {
                    out.insert(id);
                }
            }
        }
        Ok(out)
    }
}
