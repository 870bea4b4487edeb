//! Keeps two runs (an overlapping cron job, a second terminal) off one report.
//!
//! The lock is an OS file lock on the report file itself: one inode however it is named (a symbolic
//! link, a relative path), released by the kernel when its process dies however it dies, and no lock
//! file to be left behind or deleted from under a running job.

use std::fs::File;
use std::path::Path;

use super::ReportError;

/// Held for as long as a run uses the report.
pub struct ReportLock {
    _file: File,
}

impl ReportLock {
    /// Locks the report at `path`, creating it (empty) when `create` is set and it does not exist.
    pub fn acquire(path: &Path, create: bool) -> Result<ReportLock, ReportError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && create
        {
            std::fs::create_dir_all(dir).map_err(ReportError::io(path))?;
        }
        // The report follows a link the user made (its path is already canonical); a new one is
        // created owner-only.
        let file = if create {
            crate::fsx::open_append(path, crate::fsx::Links::Follow)
        } else {
            crate::fsx::open_existing(path, crate::fsx::Links::Follow)
        }
        .map_err(ReportError::io(path))?;
        match crate::fsx::try_lock_briefly(&file) {
            Ok(()) => Ok(ReportLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(ReportError::Locked {
                path: path.to_path_buf(),
                holder: crate::fsx::lock_holder(&file),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(ReportError::Io {
                path: path.to_path_buf(),
                cause: e,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_by_any_name_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.csv");
        let held = ReportLock::acquire(&report, true).unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&report, &link).unwrap();
        for name in [&report, &link] {
            match ReportLock::acquire(name, false) {
                Err(ReportError::Locked { holder, .. }) => {
                    assert_eq!(holder, Some(std::process::id()))
                }
                other => panic!("expected Locked, got {:?}", other.map(|_| ())),
            }
        }
        drop(held);
        assert!(ReportLock::acquire(&link, false).is_ok());
        assert!(!dir.path().join("r.csv.lock").exists());
    }
}
