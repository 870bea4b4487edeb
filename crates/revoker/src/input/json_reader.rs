//! JSON: one array of objects (streamed element by element), or JSON Lines.

use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::rc::Rc;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::source::CopyReader;
use super::{BOM, Cells, Entry, Field, InputError, InputOptions, MAX_ROW_BYTES, Source, validate};

/// Turns one JSON value into a row's cells.
fn cells_of<'a>(value: &'a Value, opts: &InputOptions) -> Cells<'a> {
    let Value::Object(map) = value else {
        return Cells {
            problem: Some(format!(
                "expected a JSON object, found {}",
                type_name(value)
            )),
            ..Cells::default()
        };
    };
    let mut cells = Cells::default();
    for field in Field::ALL {
        let Some(index) = opts.columns.find(field, map.keys().map(String::as_str)) else {
            continue;
        };
        let Some((name, value)) = map.iter().nth(index) else {
            continue;
        };
        let text = match value {
            Value::String(s) => Some(s.trim().into()),
            Value::Null => None,
            other => {
                cells.problem.get_or_insert_with(|| {
                    format!(
                        "field {} must be a string, found {}",
                        crate::text::shown(name),
                        type_name(other)
                    )
                });
                Some(other.to_string().into())
            }
        };
        cells.set(field, text);
    }
    if cells.org.is_none()
        && let Some(org) = org_of_roles(map)
    {
        cells.set(Field::Org, Some(org.into()));
    }
    cells
}

/// An API key's organization from its `roles[].orgId`, as Atlas lists an organization's keys
/// (`ApiKeyUserDetails`, each role a `CloudAccessRoleAssignment` with `orgId` or `groupId`): the
/// one organization every role with an `orgId` names, else none.
fn org_of_roles(map: &serde_json::Map<String, Value>) -> Option<&str> {
    let roles = map.get("roles")?.as_array()?;
    let mut orgs = roles
        .iter()
        .filter_map(|r| r.get("orgId").and_then(Value::as_str));
    let first = orgs.next()?;
    orgs.all(|o| o == first).then_some(first.trim())
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// serde_json's message without its " at line L column C" tail, which we say our own way.
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = text
        .rfind(" at line ")
        .map_or(text.as_str(), |i| &text[..i]);
    format!("malformed JSON: {text} (column {})", e.column())
}

fn skip_bom(reader: &mut BufReader<CopyReader>, source: &Source) -> Result<(), InputError> {
    let head = reader.fill_buf().map_err(|e| source.io_error(e))?;
    if head.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    Ok(())
}

/// Where the element being read started: the reader notes the line of the first byte that is
/// neither white space nor a separator after it is armed.
#[derive(Default)]
struct Lines {
    line: Cell<u64>,
    armed: Cell<bool>,
    start: Cell<u64>,
}

struct Tracking<R> {
    inner: R,
    lines: Rc<Lines>,
}

impl<R: Read> Read for Tracking<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if self.lines.armed.get() && !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b',') {
                self.lines.armed.set(false);
                self.lines.start.set(self.lines.line.get());
            }
            if b == b'\n' {
                self.lines.line.set(self.lines.line.get() + 1);
            }
        }
        Ok(n)
    }
}

/// Set when the callback asked to stop, so that the error it takes to leave serde is not reported.
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stopped by the caller")
    }
}

struct Rows<'a> {
    lines: Rc<Lines>,
    opts: &'a InputOptions,
    visit: &'a mut dyn FnMut(Entry) -> ControlFlow<()>,
    stopped: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Rows<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Rows<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of objects, or an Atlas list object with a `results` array (for one object per line use --format jsonl)")
    }

    /// Atlas's own list shape (`atlas … list -o json`, every Atlas list): `{links, results[],
    /// totalCount}`; the rows are its `results`.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rows = Some(self);
        while let Some(key) = map.next_key::<String>()? {
            match rows.take() {
                Some(r) if key == "results" => map.next_value_seed(Results(r))?,
                other => {
                    rows = other;
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        match rows {
            None => Ok(()),
            Some(_) => Err(serde::de::Error::custom(
                "a JSON object without a `results` array: expected an array of rows, or an Atlas list object {links, results, totalCount}",
            )),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.lines.armed.set(true);
            let Some(value) = seq.next_element::<Value>()? else {
                return Ok(());
            };
            let entry = validate(
                self.lines.start.get(),
                None,
                cells_of(&value, self.opts),
                self.opts,
                true,
            );
            if (self.visit)(entry).is_break() {
                self.stopped.set(true);
                return Err(serde::de::Error::custom(Stop));
            }
        }
    }
}

/// The `results` array of an Atlas list object, read as the rows.
struct Results<'a>(Rows<'a>);

impl<'de> DeserializeSeed<'de> for Results<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self.0)
    }
}

pub(super) fn scan_array(
    source: &Source,
    mut reader: BufReader<CopyReader>,
    opts: &InputOptions,
    visit: &mut dyn FnMut(Entry) -> ControlFlow<()>,
) -> Result<(), InputError> {
    skip_bom(&mut reader, source)?;
    let lines = Rc::new(Lines {
        line: Cell::new(1),
        ..Lines::default()
    });
    let stopped = Cell::new(false);
    let mut de = serde_json::Deserializer::from_reader(Tracking {
        inner: reader,
        lines: lines.clone(),
    });
    let rows = Rows {
        lines,
        opts,
        visit,
        stopped: &stopped,
    };
    let result = rows.deserialize(&mut de).and_then(|()| de.end());
    match result {
        Ok(()) => Ok(()),
        Err(_) if stopped.get() => Ok(()),
        Err(e) if e.is_io() => Err(source.io_error(e.into())),
        Err(e) => Err(source.malformed(e.line() as u64, json_reason(&e))),
    }
}

pub(super) fn scan_lines(
    source: &Source,
    mut reader: BufReader<CopyReader>,
    opts: &InputOptions,
    from: Option<(u64, u64)>,
    visit: &mut dyn FnMut(Entry) -> ControlFlow<()>,
) -> Result<(), InputError> {
    let io = |e| source.io_error(e);
    let (mut offset, mut line) = match from {
        Some((offset, line)) => {
            reader.seek(SeekFrom::Start(offset)).map_err(io)?;
            (offset, line - 1)
        }
        None => {
            skip_bom(&mut reader, source)?;
            (reader.stream_position().map_err(io)?, 0)
        }
    };
    let mut buf = Vec::new();
    loop {
        line += 1;
        let start = offset;
        buf.clear();
        let n = (&mut reader)
            .take(MAX_ROW_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io)?;
        if n == 0 {
            return Ok(());
        }
        offset += n as u64;
        if buf.len() > MAX_ROW_BYTES {
            return Err(source.malformed(
                line,
                "row is longer than 1 MiB; this is not an export of ids",
            ));
        }
        let text =
            std::str::from_utf8(&buf).map_err(|_| source.malformed(line, "not valid UTF-8"))?;
        if text.contains('\0') {
            return Err(source.malformed(line, "contains a NUL byte: this is not a text file"));
        }
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| source.malformed(line, json_reason(&e)))?;
        if visit(validate(
            line,
            Some(start),
            cells_of(&value, opts),
            opts,
            true,
        ))
        .is_break()
        {
            return Ok(());
        }
    }
}
