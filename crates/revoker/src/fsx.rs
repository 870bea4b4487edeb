//! How revoker opens the files it writes. The report and its side files hold the ids, hosts and
//! paths of an incident: they are created owner-only (0600) whatever the umask, side files are
//! opened without following a link planted at their name, reads never block and are bounded, only
//! regular files are written, and a whole-file write is atomic. The ground floor: these are plain
//! file primitives that know nothing of reports or inputs.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Owner read and write: every file of a report.
pub const PRIVATE: u32 = 0o600;
/// Readable by all: the metrics file, which node_exporter reads as another user.
pub const PUBLIC: u32 = 0o644;

/// Whether a link at the path's name is followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    /// The report itself: the user named it, and `canonical` has already resolved it.
    Follow,
    /// A side file: its name is derived, so a link there was planted by someone else.
    Refuse,
}

/// What a refused link says, in place of the OS's "Too many levels of symbolic links". The callers
/// put the path before it.
pub const LINK_REFUSED: &str = "is a symbolic link; revoker does not follow links here (a planted link could redirect what it reads or writes)";

/// The open's error, with a link refused under [`Links::Refuse`] (ELOOP) said plainly.
fn link_refused(links: Links) -> impl FnOnce(std::io::Error) -> std::io::Error {
    move |e| {
        if links == Links::Refuse && e.raw_os_error() == Some(libc::ELOOP) {
            std::io::Error::other(LINK_REFUSED)
        } else {
            e
        }
    }
}

fn options(links: Links) -> OpenOptions {
    let mut o = OpenOptions::new();
    o.custom_flags(open_flags(links)).mode(PRIVATE);
    o
}

fn regular(path: &Path, file: File) -> std::io::Result<File> {
    if file.metadata()?.file_type().is_file() {
        Ok(file)
    } else {
        Err(std::io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )))
    }
}

/// Opens `path` for reading only: never blocking (a FIFO planted at the name would hold the run,
/// and the report lock with it, until someone writes to it), without following a link when `links`
/// refuses them, and only as a regular file.
pub fn open_read(path: &Path, links: Links) -> std::io::Result<File> {
    let file = options(links)
        .read(true)
        .custom_flags(open_flags(links) | libc::O_NONBLOCK)
        .open(path)
        .map_err(link_refused(links))?;
    regular(path, file)
}

fn open_flags(links: Links) -> i32 {
    if links == Links::Refuse {
        libc::O_CLOEXEC | libc::O_NOFOLLOW
    } else {
        libc::O_CLOEXEC
    }
}

/// The whole of a side file read as [`open_read`] opens it, refused when it holds more than
/// `max` bytes (a file grown without bound must not take the memory with it).
pub fn read_bounded(path: &Path, links: Links, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_read(path, links)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::other(format!(
            "{} is larger than {max} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Opens `path` for reading and appending, creating it owner-only when it does not exist. An
/// existing file keeps its mode (an operator may have shared it on purpose); a new one is 0600
/// even under a umask that would allow more.
pub fn open_append(path: &Path, links: Links) -> std::io::Result<File> {
    match options(links)
        .read(true)
        .append(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => {
            file.set_permissions(std::fs::Permissions::from_mode(PRIVATE))?;
            Ok(file)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let file = options(links).read(true).append(true).open(path);
            regular(path, file.map_err(link_refused(links))?)
        }
        Err(e) => Err(e),
    }
}

/// Opens an existing file for appending, never creating it.
pub fn open_existing(path: &Path, links: Links) -> std::io::Result<File> {
    let file = options(links).read(true).append(true).open(path);
    regular(path, file.map_err(link_refused(links))?)
}

/// Creates a new owner-only file at `path`; fails if anything (a file, a link) is already there.
pub fn create_new(path: &Path) -> std::io::Result<File> {
    let file = options(Links::Refuse)
        .write(true)
        .create_new(true)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(PRIVATE))?;
    Ok(file)
}

/// Writes `bytes` to `path` at once: a temporary file beside it, given `mode` while it is still
/// open (so no name can be swapped in between), synced, then renamed over `path`. A link at `path`
/// is replaced, never followed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".revoker-")
        .tempfile_in(dir)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Whether two paths name the same file (device and inode), whatever links lie between.
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Takes an exclusive lock on `file`. A run killed (SIGKILL) while it was starting a child (a
/// delivery helper) leaves the lock with that child between its fork and its exec for a moment:
/// the lock then names a process that is gone, and a resume started right after waits up to 2 s
/// for it rather than being refused as if another run held it. A lock whose holder is alive is
/// refused at once.
pub fn try_lock_briefly(file: &File) -> Result<(), std::fs::TryLockError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match file.try_lock() {
            Err(std::fs::TryLockError::WouldBlock)
                if std::time::Instant::now() < deadline && !holder_alive(file) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            other => return other,
        }
    }
}

/// Whether the process `/proc/locks` names as the holder of `file`'s lock is alive (an unknown
/// holder counts as alive).
fn holder_alive(file: &File) -> bool {
    lock_holder(file).is_none_or(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

/// The pid holding a lock on `file`, from `/proc/locks` (Linux; best effort, for the message only).
pub fn lock_holder(file: &File) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let inode = file.metadata().ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        // "1: FLOCK  ADVISORY  WRITE 4711 08:01:1234567 0 EOF"
        let fields: Vec<&str> = line.split_whitespace().collect();
        let pid = fields.get(4)?.parse().ok()?;
        let ino: u64 = fields.get(5)?.rsplit(':').next()?.parse().ok()?;
        (ino == inode).then_some(pid)
    })
}

/// Makes this process undumpable and its core size 0: a core dump of a run would hold the client
/// secret and the live access token.
pub fn no_core_dumps() {
    // SAFETY: plain system calls with constant arguments and no pointers kept.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_files_are_read_without_blocking_following_links_or_growing_without_bound() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("r.csv.orgs.json");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let err = read_bounded(&fifo, Links::Follow, 10).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let link = dir.path().join("revoker-limits.json");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        let err = read_bounded(&link, Links::Refuse, 10).unwrap_err();
        assert_eq!(err.to_string(), LINK_REFUSED);
        let big = dir.path().join("big");
        std::fs::write(&big, "x".repeat(11)).unwrap();
        let err = read_bounded(&big, Links::Refuse, 10).unwrap_err();
        assert!(err.to_string().contains("larger than 10 bytes"), "{err}");
        assert_eq!(read_bounded(&big, Links::Refuse, 11).unwrap().len(), 11);
    }

    #[test]
    fn new_files_are_owner_only_whatever_the_umask_and_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let old = unsafe { libc::umask(0) };
        let file = dir.path().join("r.csv.sent");
        open_append(&file, Links::Refuse).unwrap();
        unsafe { libc::umask(old) };
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let planted = dir.path().join("r.csv.input");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let err = open_append(&planted, Links::Refuse).unwrap_err();
        assert_eq!(err.to_string(), LINK_REFUSED);
        let err = open_existing(&planted, Links::Refuse).unwrap_err();
        assert_eq!(err.to_string(), LINK_REFUSED);
        assert!(create_new(&planted).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    }

    #[test]
    fn an_atomic_write_has_its_mode_before_it_has_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.prom");
        write_atomic(&path, b"x 1\n", PUBLIC).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        // A link at the name is replaced, not followed.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_atomic(&path, b"x 2\n", PUBLIC).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert!(
            !std::fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
