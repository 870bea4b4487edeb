//! `REPORT.lock`: keeps two runs (an overlapping cron job, a second terminal) off one report.
//!
//! The lock is an OS file lock, so the kernel releases it when its process dies however it dies; the
//! pid written inside only serves the messages.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::{ReportError, sidecar};

/// Held for as long as the run uses the report; emptied on drop.
pub struct ReportLock {
    file: File,
}

impl ReportLock {
    /// Takes the lock beside `report`. Answers the pid of a dead run whose lock was taken over, so
    /// that the caller can warn about it.
    pub fn acquire(report: &Path) -> Result<(ReportLock, Option<String>), ReportError> {
        let path = sidecar(report, ".lock");
        let io = |e| ReportError::Io {
            path: path.clone(),
            source: e,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut previous = String::new();
        // A lock file is a few bytes; a garbled one only loses the pid in a message.
        let _ = file.read_to_string(&mut previous);
        let previous = previous.trim().to_string();
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = if previous.is_empty() {
                    "unknown".to_string()
                } else {
                    previous
                };
                return Err(ReportError::Locked {
                    path: report.to_path_buf(),
                    pid,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        let stale = (!previous.is_empty()).then_some(previous);
        Ok((ReportLock { file }, stale))
    }
}

impl Drop for ReportLock {
    fn drop(&mut self) {
        // The file stays (removing it would let a waiting run lock an unlinked inode while a third
        // creates a new one); emptied, it tells the next run that this one ended cleanly. Failing to
        // empty it only costs that run a warning.
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_a_dead_ones_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.csv");
        let (held, stale) = ReportLock::acquire(&report).unwrap();
        assert_eq!(stale, None);
        match ReportLock::acquire(&report) {
            Err(ReportError::Locked { pid, .. }) => assert_eq!(pid, std::process::id().to_string()),
            other => panic!("expected Locked, got {:?}", other.map(|(_, s)| s)),
        }
        drop(held);
        std::fs::write(dir.path().join("r.csv.lock"), "999999\n").unwrap();
        let (_held, stale) = ReportLock::acquire(&report).unwrap();
        assert_eq!(stale.as_deref(), Some("999999"));
    }
}
