//! The one writer of the report file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{CHAIN, CHAINED_COLUMNS, HEADER, OLD_COLUMNS, Record, ReportError, chain, escape_cell};
use crate::text::controls_escaped;

/// How often at most rows wait in the page cache before they are forced to disk.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// Rows queued for the writer at most: rows that need no request (copies of repeated rows, invalid
/// rows) are produced far faster than a file takes them, and must not pile up in memory.
const QUEUE: usize = 4096;

/// An open report, ready to append.
pub struct ReportWriter {
    path: PathBuf,
    file: File,
    /// Bytes of a torn last line dropped when the report was reopened.
    pub repaired: u64,
    /// The chain digest of the last row (the genesis digest for a new report).
    pub chain: String,
    /// Whether its header has the `public_key` column: a report begun before it keeps its
    /// fourteen columns when resumed.
    with_public_key: bool,
}

/// What the writer thread did.
#[derive(Debug, Clone)]
pub struct Written {
    pub rows: u64,
    /// The chain digest of the last row written (or of the report's last row if none was).
    pub chain: String,
}

impl ReportWriter {
    /// Opens the report for appending, creating it (with its header) when it is new or empty.
    pub fn open(path: &Path) -> Result<ReportWriter, ReportError> {
        let io = ReportError::io(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(ReportError::io(path))?;
        }
        let mut file = crate::fsx::open_append(path, crate::fsx::Links::Follow).map_err(io)?;
        let len = file.metadata().map_err(ReportError::io(path))?.len();
        let mut repaired = 0;
        let mut last_chain = chain::GENESIS.to_string();
        let mut with_public_key = true;
        if len == 0 {
            let mut header = HEADER.join(",");
            header.push('\n');
            file.write_all(header.as_bytes())
                .map_err(ReportError::io(path))?;
            file.sync_all().map_err(ReportError::io(path))?;
        } else {
            with_public_key = check_header(path, &mut file)? == HEADER.len();
            repaired = drop_torn_tail(path, &mut file, len)?;
            if let Some(digest) = last_digest(&mut file).map_err(ReportError::io(path))? {
                last_chain = digest;
            }
        }
        Ok(ReportWriter {
            path: path.to_path_buf(),
            file,
            repaired,
            chain: last_chain,
            with_public_key,
        })
    }

    /// Starts the writer thread. Every record sent to the sink is appended and flushed at once, and
    /// synced to disk at least once a second; dropping every sink ends the thread, which syncs a last
    /// time and answers what it wrote.
    pub fn spawn(
        self,
    ) -> Result<(ReportSink, JoinHandle<Result<Written, ReportError>>), ReportError> {
        let (tx, rx) = mpsc::sync_channel::<Record>(QUEUE);
        let path = self.path.clone();
        let handle = std::thread::Builder::new()
            .name("report-writer".into())
            .spawn(move || self.run(rx))
            .map_err(ReportError::io(&path))?;
        Ok((ReportSink { tx }, handle))
    }

    fn run(self, rx: mpsc::Receiver<Record>) -> Result<Written, ReportError> {
        let path = self.path;
        let io = |e: std::io::Error| ReportError::Io {
            path: path.clone(),
            cause: e,
        };
        let mut csv = csv::WriterBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_writer(self.file);
        let mut written = Written {
            rows: 0,
            chain: self.chain,
        };
        let mut dirty = false;
        let mut last_sync = Instant::now();
        let wide = self.with_public_key;
        loop {
            match rx.recv_timeout(SYNC_EVERY) {
                Ok(record) => {
                    let mut cells = cells(&record).to_vec();
                    if !wide {
                        cells.pop();
                    }
                    written.chain = chain::next(&written.chain, cells.iter().map(|c| c.as_bytes()));
                    cells.insert(CHAIN, written.chain.clone());
                    csv.write_record(&cells).map_err(|e| io(e.into()))?;
                    csv.flush().map_err(io)?;
                    written.rows += 1;
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
    tx: mpsc::SyncSender<Record>,
}

impl ReportSink {
    /// Queues a row for writing, waiting while the queue is full. Fails only when the writer thread has stopped on an I/O error, which
    /// its join handle reports.
    pub fn send(&self, record: Record) -> bool {
        self.tx.send(record).is_ok()
    }
}

/// A record's cells as stored, but for the chain: on one line, formula-escaped; the chain digest
/// is computed over these, in this order (`public_key` last).
fn cells(r: &Record) -> [String; 14] {
    let text = |v: &str| escape_cell(&controls_escaped(v)).into_owned();
    [
        text(&r.run_id),
        text(&r.finished_at),
        r.line.to_string(),
        text(&r.kind),
        text(&r.project),
        text(&r.key),
        r.outcome.as_str().to_string(),
        r.http_status.map(|s| s.to_string()).unwrap_or_default(),
        text(&r.error_code),
        r.attempts.to_string(),
        r.duration_ms.to_string(),
        text(&r.message),
        text(&r.secret),
        text(&r.public_key),
    ]
}

/// Checks the header; answers how many columns it has.
fn check_header(path: &Path, file: &mut File) -> Result<usize, ReportError> {
    let full = HEADER.join(",");
    let mut head = vec![0u8; full.len() + 2];
    file.seek(SeekFrom::Start(0))
        .map_err(ReportError::io(path))?;
    let n = crate::input::read_up_to(file, &mut head).map_err(ReportError::io(path))?;
    let head = &head[..n];
    let found = [HEADER.len(), CHAINED_COLUMNS, OLD_COLUMNS]
        .into_iter()
        .find(|&columns| {
            let expected = HEADER[..columns].join(",");
            head.starts_with(expected.as_bytes())
                && matches!(&head[expected.len()..], [b'\n', ..] | [b'\r', b'\n', ..])
        });
    found.ok_or_else(|| ReportError::Malformed {
        path: path.to_path_buf(),
        line: 1,
        reason: format!("not a revoker report: the first line is not {full:?}"),
    })
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

/// The report's chain digest so far: its last row's, or the genesis digest for a report that is
/// new or has no rows.
pub fn chain_of(path: &Path) -> Result<String, ReportError> {
    let mut file = match crate::fsx::open_read(path, crate::fsx::Links::Follow) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(chain::GENESIS.into()),
        Err(e) => return Err(ReportError::io(path)(e)),
    };
    Ok(last_digest(&mut file)
        .map_err(ReportError::io(path))?
        .unwrap_or_else(|| chain::GENESIS.into()))
}

/// The chain digest of the report's last row, if it has one.
fn last_digest(file: &mut File) -> std::io::Result<Option<String>> {
    let len = file.metadata()?.len();
    let start = len.saturating_sub(64 * 1024);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    let body = tail.strip_suffix(b"\n").unwrap_or(&tail);
    let line = match memchr::memrchr(b'\n', body) {
        Some(i) => &body[i + 1..],
        None if start == 0 => body,
        None => return Ok(None),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line);
    let mut record = csv::ByteRecord::new();
    if reader.read_byte_record(&mut record).unwrap_or(false)
        && (record.len() == HEADER.len() || record.len() == CHAINED_COLUMNS)
    {
        let digest = String::from_utf8_lossy(&record[CHAIN]).into_owned();
        if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Some(digest));
        }
    }
    Ok(None)
}
