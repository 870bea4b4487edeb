//! The one writer of the report file.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{HEADER, Record, ReportError, escape_cell, one_line};

/// How often at most rows wait in the page cache before they are forced to disk.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// An open report, ready to append.
pub struct ReportWriter {
    path: PathBuf,
    file: File,
    /// Bytes of a torn last line dropped when the report was reopened.
    pub repaired: u64,
}

impl ReportWriter {
    /// Creates the report, or with `resume` reopens it for appending. Without `resume` an existing
    /// report is a conflict: appending a fresh run to it silently would mix two jobs.
    pub fn open(path: &Path, resume: bool) -> Result<ReportWriter, ReportError> {
        let io = ReportError::io(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(ReportError::io(path))?;
        }
        let exists = path.exists();
        if exists && !resume {
            return Err(ReportError::Exists {
                path: path.to_path_buf(),
            });
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let len = file.metadata().map_err(ReportError::io(path))?.len();
        let mut repaired = 0;
        if len == 0 {
            let mut header = HEADER.join(",");
            header.push('\n');
            file.write_all(header.as_bytes())
                .map_err(ReportError::io(path))?;
            file.sync_all().map_err(ReportError::io(path))?;
        } else {
            check_header(path, &mut file)?;
            repaired = drop_torn_tail(path, &mut file, len)?;
        }
        Ok(ReportWriter {
            path: path.to_path_buf(),
            file,
            repaired,
        })
    }

    /// Starts the writer thread. Every record sent to the sink is appended and flushed at once, and
    /// synced to disk at least once a second; dropping every sink ends the thread, which syncs a last
    /// time and answers how many rows it wrote.
    pub fn spawn(self) -> (ReportSink, JoinHandle<Result<u64, ReportError>>) {
        let (tx, rx) = mpsc::channel::<Record>();
        let handle = std::thread::Builder::new()
            .name("report-writer".into())
            .spawn(move || self.run(rx))
            .expect("spawning the report writer thread");
        (ReportSink { tx }, handle)
    }

    fn run(self, rx: mpsc::Receiver<Record>) -> Result<u64, ReportError> {
        let path = self.path;
        let io = |e: std::io::Error| ReportError::Io {
            path: path.clone(),
            source: e,
        };
        let mut csv = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(self.file);
        let mut written = 0u64;
        let mut dirty = false;
        let mut last_sync = Instant::now();
        loop {
            match rx.recv_timeout(SYNC_EVERY) {
                Ok(record) => {
                    write_record(&mut csv, &record).map_err(|e| io(e.into()))?;
                    csv.flush().map_err(io)?;
                    written += 1;
                    dirty = true;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if dirty && last_sync.elapsed() >= SYNC_EVERY {
                csv.get_ref().sync_data().map_err(io)?;
                dirty = false;
                last_sync = Instant::now();
            }
        }
        csv.flush().map_err(io)?;
        csv.get_ref().sync_all().map_err(io)?;
        Ok(written)
    }
}

/// Where the engine sends finished rows; cheap to clone.
#[derive(Clone)]
pub struct ReportSink {
    tx: mpsc::Sender<Record>,
}

impl ReportSink {
    /// Queues a row for writing. Fails only when the writer thread has stopped on an I/O error, which
    /// its join handle reports.
    pub fn send(&self, record: Record) -> bool {
        self.tx.send(record).is_ok()
    }
}

fn write_record(csv: &mut csv::Writer<File>, r: &Record) -> csv::Result<()> {
    let line = r.line.to_string();
    let status = r.http_status.map(|s| s.to_string()).unwrap_or_default();
    let attempts = r.attempts.to_string();
    let duration = r.duration_ms.to_string();
    let text = |v: &str| escape_cell(&one_line(v)).into_owned();
    csv.write_record([
        text(&r.run_id),
        text(&r.finished_at),
        line,
        text(&r.kind),
        text(&r.project),
        text(&r.key),
        r.outcome.as_str().to_string(),
        status,
        text(&r.error_code),
        attempts,
        duration,
        text(&r.message),
    ])
}

fn check_header(path: &Path, file: &mut File) -> Result<(), ReportError> {
    let expected = HEADER.join(",");
    let mut head = vec![0u8; expected.len() + 2];
    file.seek(SeekFrom::Start(0))
        .map_err(ReportError::io(path))?;
    let n = crate::input::read_up_to(file, &mut head).map_err(ReportError::io(path))?;
    let head = &head[..n];
    let ok = head.starts_with(expected.as_bytes())
        && matches!(&head[expected.len()..], [b'\n', ..] | [b'\r', b'\n']);
    if !ok {
        return Err(ReportError::Malformed {
            path: path.to_path_buf(),
            line: 1,
            reason: format!("not a revoker report: the first line is not {expected:?}"),
        });
    }
    Ok(())
}

/// A crash mid-write can leave half a line at the end. It is cut off before appending, so that the
/// next row starts on a line of its own and every reader sees only whole rows.
fn drop_torn_tail(path: &Path, file: &mut File, len: u64) -> Result<u64, ReportError> {
    let keep = super::reader::whole_rows_len(file).map_err(ReportError::io(path))?;
    if keep < len {
        file.set_len(keep).map_err(ReportError::io(path))?;
    }
    Ok(len - keep)
}
