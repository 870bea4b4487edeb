//! CSV with a header line; header names are matched case-insensitively.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::rc::Rc;

use super::{BOM, Cells, Entry, Field, InputError, InputOptions, MAX_ROW_BYTES, Source, validate};

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

pub(super) fn scan(
    source: &Source,
    reader: BufReader<File>,
    opts: &InputOptions,
    from: Option<(u64, u64)>,
    visit: &mut dyn FnMut(Entry) -> ControlFlow<()>,
) -> Result<(), InputError> {
    let ends = Rc::new(RefCell::new(VecDeque::new()));
    let mut passed = 0u64;
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(LineEnds {
            inner: reader,
            offset: 0,
            ends: ends.clone(),
        });
    let err = |line: u64, e: csv::Error| -> InputError {
        match e.kind() {
            csv::ErrorKind::Io(_) => InputError::Io {
                file: source.name().to_string(),
                source: std::io::Error::other(e.to_string()),
            },
            _ => source.malformed(line, format!("unreadable CSV: {e}")),
        }
    };
    let header = csv.byte_headers().map_err(|e| err(1, e))?.clone();
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let name = if i == 0 {
                name.strip_prefix(BOM).unwrap_or(name)
            } else {
                name
            };
            check_text(source, 1, name).map(str::to_string)
        })
        .collect::<Result<_, _>>()?;
    let column = |field: Field| opts.columns.find(field, names.iter().map(String::as_str));
    let found = if names.iter().all(|n| n.trim().is_empty()) {
        "no column names".to_string()
    } else {
        names.join(", ")
    };
    let missing = |field: Field| {
        let looked_for = opts.columns.candidates(field).join(", ");
        source.malformed(
            1,
            format!(
                "no {} column in the header (looked for {looked_for}; found {}); map one with --columns {}=NAME",
                field.name(),
                found,
                field.name()
            ),
        )
    };
    let project = column(Field::Project).ok_or_else(|| missing(Field::Project))?;
    let key = column(Field::Key).ok_or_else(|| missing(Field::Key))?;
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

    // Where the rows start: after the header, or at a row an earlier scan pointed to. Offsets are
    // counted from the start of the file either way.
    let mut base = 0u64;
    if let Some((offset, line)) = from {
        let mut file = csv.into_inner().inner;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| InputError::Io {
                file: source.name().into(),
                source: e,
            })?;
        ends.borrow_mut().clear();
        base = offset;
        passed = line - 1;
        csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(LineEnds {
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
            Err(e) => return Err(err(line, e)),
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
        // The fields lie back to back in one buffer: one check covers them all.
        check_text(source, line, record.as_slice())?;
        // Spreadsheets pad exports with rows of empty cells; they are blank lines, not bad rows.
        if record.iter().all(<[u8]>::is_empty) {
            continue;
        }
        let cell = |i: usize| record.get(i).map(String::from_utf8_lossy);
        let cells = Cells {
            project: cell(project),
            key: cell(key),
            kind: kind.and_then(cell),
            problem: None,
        };
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

/// Refuses bytes that no text export contains: invalid UTF-8 and NUL.
fn check_text<'a>(source: &Source, line: u64, bytes: &'a [u8]) -> Result<&'a str, InputError> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        source.malformed(
            line,
            "not valid UTF-8 (save the export as UTF-8 text, e.g. \"CSV UTF-8\")",
        )
    })?;
    if text.contains('\0') {
        return Err(source.malformed(line, "contains a NUL byte: this is not a text file"));
    }
    Ok(text)
}
