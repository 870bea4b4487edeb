//! One run at a time changes a ledger. The ledger is rewritten whole (load, change, rename), so two
//! runs of one job that overlap — a nightly run and an incident run, a cron run that outlasts the
//! night — would each write back what it loaded and one's owed rows would vanish. A run holds an
//! exclusive `flock` on `LEDGER.lock` from its first read of the ledger to its exit; a second
//! process is refused (exit 4, naming the holder's pid when Linux says it). Listing the ledger
//! takes no lock.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::LedgerError;

/// The locks this process holds, by ledger path: held until the process exits, because a run
/// reads and rewrites its ledger several times (select, before sending, after verifying) and a
/// second open file of the same lock file would be refused by this very process's own lock.
fn held() -> &'static Mutex<HashMap<PathBuf, File>> {
    static HELD: OnceLock<Mutex<HashMap<PathBuf, File>>> = OnceLock::new();
    HELD.get_or_init(Mutex::default)
}

/// The lock file of the ledger at `path`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the ledger's lock for the rest of this process, unless this process holds it already.
pub fn hold(path: &Path) -> Result<(), LedgerError> {
    let mut held = held().lock().unwrap_or_else(|p| p.into_inner());
    if held.contains_key(path) {
        return Ok(());
    }
    let at = lock_path(path);
    let io = |cause| LedgerError::Io {
        path: at.clone(),
        cause,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    // The lock file's name is derived: a link planted there is refused, not followed.
    let file = crate::fsx::open_append(&at, crate::fsx::Links::Refuse).map_err(io)?;
    match crate::fsx::try_lock_briefly(&file) {
        Ok(()) => {
            held.insert(path.to_path_buf(), file);
            Ok(())
        }
        Err(std::fs::TryLockError::WouldBlock) => Err(LedgerError::Locked {
            path: path.to_path_buf(),
            holder: crate::fsx::lock_holder(&file),
        }),
        Err(std::fs::TryLockError::Error(cause)) => Err(io(cause)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_this_process_may_take_it_again() {
        let d = tempfile::tempdir().unwrap();
        let ledger = d.path().join("job.ledger.json");
        hold(&ledger).unwrap();
        hold(&ledger).unwrap();
        // Another open file description stands for another process.
        let other = std::fs::OpenOptions::new()
            .append(true)
            .open(lock_path(&ledger))
            .unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
    }

    #[test]
    fn a_link_planted_at_the_lock_is_refused_naming_it() {
        let d = tempfile::tempdir().unwrap();
        let ledger = d.path().join("job.ledger.json");
        let victim = d.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, lock_path(&ledger)).unwrap();
        let err = hold(&ledger).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "ledger {}: {}",
                lock_path(&ledger).display(),
                crate::fsx::LINK_REFUSED
            )
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    }
}
