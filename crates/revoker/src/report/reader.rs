//! The tolerant reader: every whole row, in order; a torn last line (a crash mid-write) is ignored.
//! Reports written before the `secret` and `chain` columns, or before `public_key`, read too.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::{
    CHAIN, CHAINED_COLUMNS, HEADER, OLD_COLUMNS, Outcome, Record, ReportError, unescape_cell,
};
use crate::input::{Identity, Target};

/// Length of the file up to and including its last newline: the part made of whole rows.
pub(super) fn whole_rows_len(file: &mut File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let mut pos = len;
    let mut buf = [0u8; 4096];
    while pos > 0 {
        let start = pos.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(pos - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        pos = start;
    }
    Ok(0)
}

fn malformed(path: &Path, line: u64, reason: String) -> ReportError {
    ReportError::Malformed {
        path: path.to_path_buf(),
        line,
        reason,
    }
}

type ReportCsv = csv::Reader<BufReader<std::io::Take<File>>>;

/// Opens a report for reading with its header checked (answered: how many columns it has); only
/// whole rows are read, so a torn last line (a crash mid-write) is left out.
fn open_report(path: &Path) -> Result<(ReportCsv, usize), ReportError> {
    let io = ReportError::io(path);
    let mut file = crate::fsx::open_read(path, crate::fsx::Links::Follow).map_err(io)?;
    let whole = whole_rows_len(&mut file).map_err(ReportError::io(path))?;
    if whole == 0 && file.metadata().is_ok_and(|m| m.len() == 0) {
        // The run locks (creates) its report before it plans or asks, and writes the header only
        // when it starts sending: a stop in between leaves an empty file and no row was sent.
        return Err(malformed(
            path,
            1,
            "empty: a run stopped before it wrote its first line, so it sent nothing; run the same command again (it starts this report afresh)".into(),
        ));
    }
    file.seek(SeekFrom::Start(0))
        .map_err(ReportError::io(path))?;
    let reader = BufReader::with_capacity(1 << 20, file.take(whole));
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let header = csv
        .byte_headers()
        .map_err(|e| malformed(path, 1, e.to_string()))?;
    let names = |n: usize| HEADER[..n].iter().map(|h| h.as_bytes());
    let Some(columns) = [HEADER.len(), CHAINED_COLUMNS, OLD_COLUMNS]
        .into_iter()
        .find(|&n| header.iter().eq(names(n)))
    else {
        return Err(malformed(
            path,
            1,
            format!(
                "not a revoker report: the first line is not {:?}",
                HEADER.join(",")
            ),
        ));
    };
    Ok((csv, columns))
}

/// A row's width must be its header's: under a header with the `chain` column every row carries
/// its digest (a row without one was inserted or edited, never "written before the chain"), and
/// under a header without it a row is either unchained or (a resumed old report) chained.
fn require_digest(path: &Path, line: u64, header: usize, fields: usize) -> Result<(), ReportError> {
    let fits = match header {
        OLD_COLUMNS => fields == OLD_COLUMNS || fields == CHAINED_COLUMNS,
        n => fields == n,
    };
    if !fits {
        let why = if fields < CHAINED_COLUMNS && header >= CHAINED_COLUMNS {
            " without a chain digest under a header with the chain column: it was inserted or edited"
                .to_string()
        } else {
            format!(" under a header of {header} columns")
        };
        return Err(malformed(
            path,
            line,
            format!("a row of {fields} fields{why}"),
        ));
    }
    Ok(())
}

/// The cells a chained row's digest covers, as stored: every cell but the chain.
fn chained_cells(row: &csv::ByteRecord) -> Vec<&[u8]> {
    row.iter()
        .enumerate()
        .filter(|(i, _)| *i != CHAIN)
        .map(|(_, c)| c)
        .collect()
}

/// One row as read: its report line, the record, and what the chain check needs.
pub struct Row<'a> {
    /// The row's line in the report file (the header is line 1).
    pub report_line: u64,
    pub record: Record,
    /// The cells the chain digest covers, as stored.
    pub cells: Vec<&'a [u8]>,
    /// The row's chain digest; `None` for a row of a report written before the chain.
    pub chain: Option<&'a str>,
}

/// Reads every whole row of the report at `path`, in order.
pub fn read_rows(path: &Path, visit: &mut dyn FnMut(Row<'_>)) -> Result<(), ReportError> {
    let (mut csv, header) = open_report(path)?;
    let mut row = csv::ByteRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_byte_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => return Err(malformed(path, line, e.to_string())),
        }
        let line = row.position().map_or(line, |p| p.line());
        let record = parse_record(&row).map_err(|reason| malformed(path, line, reason))?;
        require_digest(path, line, header, row.len())?;
        let chained = row.len() > CHAIN;
        visit(Row {
            report_line: line,
            record,
            cells: if chained {
                chained_cells(&row)
            } else {
                Vec::new()
            },
            chain: if chained {
                std::str::from_utf8(&row[CHAIN]).ok()
            } else {
                None
            },
        });
    }
}

/// Reads every whole row of the report at `path`, in order.
pub fn read_records(path: &Path, visit: &mut dyn FnMut(Record)) -> Result<(), ReportError> {
    read_rows(path, &mut |row| visit(row.record))
}

fn parse_record(row: &csv::ByteRecord) -> Result<Record, String> {
    if ![HEADER.len(), CHAINED_COLUMNS, OLD_COLUMNS].contains(&row.len()) {
        return Err(format!(
            "expected {} fields, found {}",
            HEADER.len(),
            row.len()
        ));
    }
    let raw = |i: usize| {
        std::str::from_utf8(row.get(i).unwrap_or_default())
            .map_err(|_| format!("{} is not UTF-8", HEADER[i]))
    };
    let text = |i: usize| raw(i).map(|v| unescape_cell(v).to_string());
    let number = |i: usize| -> Result<u64, String> {
        let v = raw(i)?;
        v.parse()
            .map_err(|_| format!("{} {v:?} is not a number", HEADER[i]))
    };
    let outcome = raw(6)?;
    Ok(Record {
        run_id: text(0)?,
        finished_at: text(1)?,
        line: number(2)?,
        kind: text(3)?,
        project: text(4)?,
        key: text(5)?,
        outcome: Outcome::parse(outcome).ok_or_else(|| format!("unknown outcome {outcome:?}"))?,
        http_status: match raw(7)? {
            "" => None,
            s => Some(
                s.parse()
                    .map_err(|_| format!("http_status {s:?} is not a number"))?,
            ),
        },
        error_code: text(8)?,
        attempts: u32::try_from(number(9)?).map_err(|_| "attempts out of range".to_string())?,
        duration_ms: number(10)?,
        message: text(11)?,
        secret: if row.len() > OLD_COLUMNS {
            text(12)?
        } else {
            String::new()
        },
        public_key: if row.len() == HEADER.len() {
            text(14)?
        } else {
            String::new()
        },
    })
}

/// What a resumed run needs from its report.
#[derive(Debug, Default)]
pub struct ReportState {
    /// Rows whose latest outcome is finished (`done`, `not_found`, `verified`).
    pub finished: HashSet<Identity>,
    /// Rows whose latest outcome is a definite answer that did not revoke them (`rejected`,
    /// `still_present`): not finished, but not sent without an answer either.
    pub answered: HashSet<Identity>,
    /// Rows the report's runs revoked (a `done` outcome at any time): what counts toward
    /// `max_revocations` across resumes.
    pub revoked: HashSet<Identity>,
    /// Rows in the report.
    pub rows: u64,
    /// Distinct runs in the report.
    pub runs: u64,
}

/// Reads a report for resuming: which rows are finished, by their latest outcome. Only the columns
/// it needs are decoded, since a large report is read before the first request of a resumed run.
pub fn read_state(path: &Path) -> Result<ReportState, ReportError> {
    let (mut csv, header) = open_report(path)?;
    let mut state = ReportState::default();
    let mut last_run: Vec<u8> = Vec::new();
    let mut row = csv::ByteRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_byte_record(&mut row) {
            Ok(false) => return Ok(state),
            Ok(true) => {}
            Err(e) => return Err(malformed(path, line, e.to_string())),
        }
        if ![HEADER.len(), CHAINED_COLUMNS, OLD_COLUMNS].contains(&row.len()) {
            return Err(malformed(
                path,
                line,
                format!("expected {} fields, found {}", HEADER.len(), row.len()),
            ));
        }
        require_digest(path, line, header, row.len())?;
        state.rows += 1;
        if row[0] != last_run[..] {
            state.runs += 1;
            last_run.clear();
            last_run.extend_from_slice(&row[0]);
        }
        let text = |i: usize| std::str::from_utf8(row.get(i).unwrap_or_default()).unwrap_or("");
        let outcome = Outcome::parse(text(6))
            .ok_or_else(|| malformed(path, line, format!("unknown outcome {:?}", text(6))))?;
        // Invalid rows hold whatever the input had; they have no identity to resume by.
        let Some(target) = Target::parse(text(3), text(4), text(5), text(12)) else {
            continue;
        };
        let id = target.identity();
        state.finished.remove(&id);
        state.answered.remove(&id);
        if outcome == Outcome::Done {
            state.revoked.insert(id);
        }
        if outcome.is_settled() {
            state.finished.insert(id);
        } else if matches!(outcome, Outcome::Rejected | Outcome::StillPresent) {
            state.answered.insert(id);
        }
    }
}
