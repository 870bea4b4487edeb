//! CSV (or `;`- or tab-separated) with a header line; header names are matched case-insensitively.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::rc::Rc;

use super::source::CopyReader;
use super::{
    BOM, Cells, Entry, Field, InputError, InputOptions, MAX_ROW_BYTES, Source, header_name_shown,
    validate,
};

/// Finds the line each record starts on. The csv crate's own line numbers drift on CRLF files and
/// blank lines (its positions point at the previous record's terminator), and a user told "line 4"
/// must find the row on line 4. The reader notes the offset of every line-ending byte it passes.
struct LineEnds<R> {
    inner: R,
    offset: u64,
    /// Offsets of `\r` and `\n` bytes not yet passed, and whether each is a `\n`.
    ends: Rc<RefCell<VecDeque<(u64, bool)>>>,
}

impl<R: Read> Read for LineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut ends = self.ends.borrow_mut();
        for i in memchr::memchr2_iter(b'\n', b'\r', &buf[..n]) {
            ends.push_back((self.offset + i as u64, buf[i] == b'\n'));
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// The line and first byte of the record whose parse began at byte `from` (which may be the previous
/// record's terminator or blank lines): every newline before its first other byte counts.
fn line_at(from: u64, ends: &RefCell<VecDeque<(u64, bool)>>, passed: &mut u64) -> (u64, u64) {
    let mut ends = ends.borrow_mut();
    let mut cursor = from;
    while let Some(&(at, newline)) = ends.front() {
        if at > cursor {
            break;
        }
        if at == cursor {
            cursor += 1;
        }
        ends.pop_front();
        *passed += u64::from(newline);
    }
    (*passed + 1, cursor)
}

/// The field separator: the one asked for, a tab for `.tsv`, else the most frequent of `,` `;` and
/// tab outside quotes on the header line (`,` when none).
fn delimiter(source: &Source, opts: &InputOptions) -> Result<u8, InputError> {
    if let Some(d) = opts.delimiter {
        return Ok(d);
    }
    if matches!(source.extension().as_deref(), Some("tsv" | "tab")) {
        return Ok(b'\t');
    }
    let mut header = Vec::new();
    source
        .reader()
        .take(64 * 1024)
        .read_until(b'\n', &mut header)
        .map_err(|e| source.io_error(e))?;
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in &header {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    Ok(if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    })
}

type CsvReader = csv::Reader<LineEnds<BufReader<CopyReader>>>;

fn builder(delimiter: u8, headers: bool) -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    b.has_headers(headers)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter);
    b
}

fn csv_error(source: &Source, line: u64, e: csv::Error) -> InputError {
    match e.kind() {
        csv::ErrorKind::Io(_) => source.io_error(std::io::Error::other(e.to_string())),
        _ => source.malformed(line, format!("unreadable CSV: {e}")),
    }
}

/// Reads the header line: its names, BOM removed, each checked to be text.
fn header_names(source: &Source, csv: &mut CsvReader) -> Result<Vec<String>, InputError> {
    let header = csv
        .byte_headers()
        .map_err(|e| csv_error(source, 1, e))?
        .clone();
    header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let name = if i == 0 {
                name.strip_prefix(BOM).unwrap_or(name)
            } else {
                name
            };
            // A header is column names: one that is not text makes no sense of the file.
            if name.contains(&0) {
                return Err(source.malformed(1, "contains a NUL byte: this is not a text file"));
            }
            std::str::from_utf8(name).map(str::to_string).map_err(|_| {
                source.malformed(
                    1,
                    "not valid UTF-8 (save the export as UTF-8 text, e.g. \"CSV UTF-8\")",
                )
            })
        })
        .collect()
}

/// The cells revoker reads of one record. Only those must be text: a byte of another encoding
/// elsewhere (an owner's name in cp1252) is none of its business; in a column it reads, the row is
/// bad, and says which column.
fn cells_of<'r>(
    record: &'r csv::ByteRecord,
    (project, org, key, secret, kind): (
        Option<usize>,
        Option<usize>,
        usize,
        Option<usize>,
        Option<usize>,
    ),
    names: &[String],
) -> Cells<'r> {
    let undecodable = [project, org, Some(key), secret, kind]
        .into_iter()
        .flatten()
        .find(|i| {
            record
                .get(*i)
                .is_some_and(|b| std::str::from_utf8(b).is_err())
        });
    let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).map(String::from_utf8_lossy);
    Cells {
        project: cell(project),
        org: cell(org),
        key: cell(Some(key)),
        secret: cell(secret),
        kind: cell(kind),
        problem: undecodable.map(|i| {
            let shown = header_name_shown(&names[i], i);
            let column = if shown.starts_with("column ") {
                shown
            } else {
                format!("column {} ({shown})", i + 1)
            };
            format!(
                "{column} is not valid UTF-8 (save the export as UTF-8 text, e.g. \"CSV UTF-8\")"
            )
        }),
    }
}

/// Line-ending offsets shared between a [`LineEnds`] reader and the scan that reads through it.
type Ends = Rc<RefCell<VecDeque<(u64, bool)>>>;

fn open(
    source: &Source,
    opts: &InputOptions,
    reader: BufReader<CopyReader>,
) -> Result<(CsvReader, Ends, u8), InputError> {
    let delimiter = delimiter(source, opts)?;
    let ends = Rc::new(RefCell::new(VecDeque::new()));
    let csv = builder(delimiter, true).from_reader(LineEnds {
        inner: reader,
        offset: 0,
        ends: ends.clone(),
    });
    Ok((csv, ends, delimiter))
}

/// Warnings about the header: a column named twice, or two names that could hold the same value.
pub(super) fn header_notes(
    source: &Source,
    opts: &InputOptions,
) -> Result<Vec<String>, InputError> {
    let (mut csv, _, _) = open(source, opts, source.reader())?;
    let names = header_names(source, &mut csv)?;
    let mut notes = Vec::new();
    for field in Field::ALL {
        let mut matching: Vec<usize> = Vec::new();
        // One column can answer to two of a field's names (`API Key ID`: `apiKeyId` and `id`):
        // it is one column, not a choice between two.
        for want in opts.columns.candidates(field) {
            for (i, have) in names.iter().enumerate() {
                if super::same_column(have, want) && !matching.contains(&i) {
                    matching.push(i);
                }
            }
        }
        if matching.len() < 2 {
            continue;
        }
        let used = matching[0];
        let others: Vec<String> = matching[1..]
            .iter()
            .map(|&i| format!("{} (column {})", header_name_shown(&names[i], i), i + 1))
            .collect();
        notes.push(format!(
            "{}:1: the {} could come from {} (column {}) or {}; using column {}",
            source.name(),
            field.name(),
            header_name_shown(&names[used], used),
            used + 1,
            others.join(", "),
            used + 1
        ));
    }
    Ok(notes)
}

/// The header's column of each field.
struct Mapped {
    project: Option<usize>,
    org: Option<usize>,
    key: usize,
    secret: Option<usize>,
    kind: Option<usize>,
}

/// Finds each field's column in the header; a header without the columns a row needs is an error
/// that says what was looked for, what was found and how to map it.
fn map_columns(
    source: &Source,
    opts: &InputOptions,
    names: &[String],
) -> Result<Mapped, InputError> {
    let column = |field: Field| opts.columns.find(field, names.iter().map(String::as_str));
    let found = if names.iter().all(|n| n.trim().is_empty()) {
        "no column names".to_string()
    } else {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| header_name_shown(n.trim(), i))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing = |what: &str, fields: &[Field]| {
        let looked_for: Vec<&str> = fields
            .iter()
            .flat_map(|f| opts.columns.candidates(*f))
            .collect();
        let map = fields
            .iter()
            .map(|f| format!("--columns {}=NAME", f.name()))
            .collect::<Vec<_>>()
            .join(" or ");
        source.malformed(
            1,
            format!(
                "no {what} column in the header (looked for {}; found {found}); map one with {map}",
                looked_for.join(", ")
            ),
        )
    };
    let project = column(Field::Project);
    let org = column(Field::Org);
    // A file of Ops Manager global keys alone names no project or organization.
    if project.is_none()
        && org.is_none()
        && opts.default_kind != Some(crate::vocab::Kind::GlobalApiKey)
    {
        return Err(missing("project or org", &[Field::Project, Field::Org]));
    }
    let key = column(Field::Key).ok_or_else(|| missing("key", &[Field::Key]))?;
    let secret = column(Field::Secret);
    let kind = column(Field::Kind);
    if kind.is_none() && opts.default_kind.is_none() {
        return Err(source.malformed(
            1,
            format!(
                "no kind column in the header (looked for {}); add one, map it with --columns kind=NAME, or pass --kind",
                opts.columns.candidates(Field::Kind).join(", ")
            ),
        ));
    }
    Ok(Mapped {
        project,
        org,
        key,
        secret,
        kind,
    })
}

pub(super) fn scan(
    source: &Source,
    reader: BufReader<CopyReader>,
    opts: &InputOptions,
    from: Option<(u64, u64)>,
    visit: &mut dyn FnMut(Entry) -> ControlFlow<()>,
) -> Result<(), InputError> {
    let (mut csv, ends, delimiter) = open(source, opts, reader)?;
    let mut passed = 0u64;
    let names = header_names(source, &mut csv)?;
    let Mapped {
        project,
        org,
        key,
        secret,
        kind,
    } = map_columns(source, opts, &names)?;

    // Where the rows start: after the header, or at a row an earlier scan pointed to. Offsets are
    // counted from the start of the file either way.
    let mut base = 0u64;
    if let Some((offset, line)) = from {
        let mut file = csv.into_inner().inner;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| source.io_error(e))?;
        ends.borrow_mut().clear();
        base = offset;
        passed = line - 1;
        csv = builder(delimiter, false).from_reader(LineEnds {
            inner: file,
            offset: 0,
            ends: ends.clone(),
        });
    }
    let mut record = csv::ByteRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => return Err(csv_error(source, line, e)),
        }
        let (line, start) = record
            .position()
            .map_or((line, 0), |p| line_at(p.byte(), &ends, &mut passed));
        if record.as_slice().len() > MAX_ROW_BYTES {
            return Err(source.malformed(
                line,
                "row is longer than 1 MiB; this is not an export of ids",
            ));
        }
        if record.as_slice().contains(&0) {
            return Err(source.malformed(line, "contains a NUL byte: this is not a text file"));
        }
        // Spreadsheets pad exports with rows of empty cells; they are blank lines, not bad rows.
        if record.iter().all(<[u8]>::is_empty) {
            continue;
        }
        let cells = cells_of(&record, (project, org, key, secret, kind), &names);
        if visit(validate(
            line,
            Some(base + start),
            cells,
            opts,
            kind.is_some(),
        ))
        .is_break()
        {
            return Ok(());
        }
    }
}
