//! The write-ahead journal `REPORT.sent`: a row's identity is appended before its first request, so
//! that a resumed run can tell a key revoked by a run that died mid-request (now not found) from a
//! key that never existed.
//!
//! A line `kind,scope,key,secret` says "about to be sent". A line starting with `-` says "none of this
//! run's attempts reached the server" (every one failed to connect), which withdraws the line before
//! it. The journal is kept only while some row in it has no definite answer in the report; a run that
//! ends cleanly rewrites it to those rows, or removes it when there are none.

use std::collections::HashMap;
use std::fs::File;
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

fn line_of(target: &Target) -> String {
    format!(
        "{},{},{},{}\n",
        target.kind,
        target.scope,
        target.key_text(),
        target.secret_text()
    )
}

impl SentJournal {
    /// The journal's path for a report.
    pub fn path_for(report: &Path) -> PathBuf {
        sidecar(report, ".sent")
    }

    pub fn open(report: &Path) -> Result<SentJournal, ReportError> {
        let path = Self::path_for(report);
        let file = crate::fsx::open_append(&path, crate::fsx::Links::Refuse)
            .map_err(ReportError::io(&path))?;
        Ok(SentJournal {
            path,
            file: Mutex::new(file),
        })
    }

    fn append(&self, line: &str) -> Result<(), ReportError> {
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(line.as_bytes())
            .map_err(ReportError::io(&self.path))
    }

    /// Records that `target` is about to be sent. One `write` of a whole line, so a crash leaves at
    /// most a torn last line, which the reader skips.
    pub fn record(&self, target: &Target) -> Result<(), ReportError> {
        self.append(&line_of(target))
    }

    /// Records that none of this run's attempts at `target` reached the server.
    pub fn withdraw(&self, target: &Target) -> Result<(), ReportError> {
        self.append(&format!("-{}", line_of(target)))
    }

    /// Rows an earlier run sent whose report gives no definite answer (`settled` holds the rows the
    /// report answers for).
    pub fn read_unsettled(
        report: &Path,
        settled: &dyn Fn(&Identity) -> bool,
    ) -> Result<HashMap<Identity, Target>, ReportError> {
        let path = Self::path_for(report);
        let file = match crate::fsx::open_read(&path, crate::fsx::Links::Refuse) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(e) => return Err(ReportError::Io { path, cause: e }),
        };
        let mut sent: HashMap<Identity, Target> = HashMap::new();
        for line in BufReader::new(file).split(b'\n') {
            let line = line.map_err(ReportError::io(&path))?;
            let Ok(line) = std::str::from_utf8(&line) else {
                continue;
            };
            let (withdrawn, line) = match line.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let mut parts = line.split(',');
            let (Some(kind), Some(scope), Some(key)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let secret = parts.next().unwrap_or("");
            if let Some(target) = Target::parse(kind, scope, key, secret) {
                let id = target.identity();
                if withdrawn {
                    sent.remove(&id);
                } else {
                    sent.insert(id, target);
                }
            }
        }
        sent.retain(|id, _| !settled(id));
        Ok(sent)
    }

    /// After a clean end: keeps only `unsettled` (atomically), or removes the journal when it is empty.
    pub fn settle<'a>(
        report: &Path,
        unsettled: impl IntoIterator<Item = &'a Target>,
    ) -> Result<(), ReportError> {
        let path = Self::path_for(report);
        let mut text = String::new();
        for target in unsettled {
            text.push_str(&line_of(target));
        }
        if text.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(ReportError::Io { path, cause: e })
                }
                _ => Ok(()),
            };
        }
        crate::fsx::write_atomic(&path, text.as_bytes(), crate::fsx::PRIVATE)
            .map_err(ReportError::io(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Kind, ObjectId};

    #[test]
    fn withdrawn_and_settled_rows_are_not_unsettled_and_settle_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.csv");
        let id = |n: u8| ObjectId::from_bytes([n; 12]);
        let t = |n| Target {
            kind: Kind::ProjectApiKey,
            scope: id(1),
            key: id(n),
            secret: None,
        };
        let journal = SentJournal::open(&report).unwrap();
        for n in 2..6 {
            journal.record(&t(n)).unwrap();
        }
        journal.withdraw(&t(3)).unwrap();
        let settled = t(4).identity();
        let left = SentJournal::read_unsettled(&report, &|i| *i == settled).unwrap();
        let mut keys: Vec<u8> = left.values().map(|t| t.key.bytes()[0]).collect();
        keys.sort();
        assert_eq!(keys, [2, 5]);
        SentJournal::settle(&report, left.values()).unwrap();
        assert_eq!(
            SentJournal::read_unsettled(&report, &|_| false)
                .unwrap()
                .len(),
            2
        );
        SentJournal::settle(&report, []).unwrap();
        assert!(!SentJournal::path_for(&report).exists());
    }

    #[test]
    fn a_link_planted_at_the_journal_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.csv");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let path = SentJournal::path_for(&report);
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let Err(err) = SentJournal::open(&report) else {
            panic!("a link was followed");
        };
        assert_eq!(
            err.to_string(),
            format!(
                "{}: is a symbolic link; revoker does not follow links here (a planted link could redirect what it reads or writes)",
                path.display()
            )
        );
    }
}
