//! Reading the rows to revoke: CSV with a header, a JSON array of objects, or JSON Lines.
//!
//! Every reader streams: it hands one [`Entry`] at a time to a callback and never holds the whole
//! file. A row that is bad on its own (not an ObjectId, unknown kind) becomes an invalid entry with its
//! line number; a file that cannot be read as a whole (not UTF-8, malformed JSON, no usable header) is an
//! [`InputError`] naming the file and line.

mod csv_reader;
mod ids;
mod json_reader;
mod survey;

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use ids::{Identity, Kind, ObjectId, Target};
pub use survey::{Dedupe, Survey, survey};

/// Longest row (one CSV record or one JSON Lines line) accepted; a longer one is a whole-file error,
/// because no export of ids has rows this long and reading on would only waste memory.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// The format of an input file.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON array of objects.
    Json,
    /// JSON Lines: one object per line.
    Jsonl,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
        })
    }
}

/// Which header (or JSON field) holds each of the three values. `None` means "use the defaults".
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    pub project: Option<String>,
    pub key: Option<String>,
    pub kind: Option<String>,
}

/// Header names recognised without a mapping, compared case-insensitively.
const DEFAULT_PROJECT: &[&str] = &[
    "project",
    "projectId",
    "project_id",
    "groupId",
    "group_id",
    "group",
];
const DEFAULT_KEY: &[&str] = &["key", "keyId", "key_id", "apiKeyId", "api_key_id", "id"];
const DEFAULT_KIND: &[&str] = &["kind", "type"];

/// One of the three values a row carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Project,
    Key,
    Kind,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Project => "project",
            Field::Key => "key",
            Field::Kind => "kind",
        }
    }
}

impl ColumnMap {
    fn candidates(&self, field: Field) -> Vec<&str> {
        let (mapped, defaults) = match field {
            Field::Project => (&self.project, DEFAULT_PROJECT),
            Field::Key => (&self.key, DEFAULT_KEY),
            Field::Kind => (&self.kind, DEFAULT_KIND),
        };
        match mapped {
            Some(name) => vec![name.as_str()],
            None => defaults.to_vec(),
        }
    }

    /// Index of the first name among `names` that holds `field`, in the order of preference.
    fn find<'a>(
        &self,
        field: Field,
        names: impl Iterator<Item = &'a str> + Clone,
    ) -> Option<usize> {
        self.candidates(field).iter().find_map(|want| {
            names
                .clone()
                .position(|have| have.trim().eq_ignore_ascii_case(want))
        })
    }
}

impl FromStr for ColumnMap {
    type Err = String;

    /// Parses `project=GROUP_ID,key=KEY,kind=TYPE` (any subset, any order).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut map = ColumnMap::default();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (field, column) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not FIELD=COLUMN (e.g. project=GROUP_ID)"))?;
            let column = column.trim();
            if column.is_empty() {
                return Err(format!("no column name after {:?}", field.trim()));
            }
            let slot = match field.trim().to_ascii_lowercase().as_str() {
                "project" => &mut map.project,
                "key" => &mut map.key,
                "kind" => &mut map.kind,
                other => {
                    return Err(format!(
                        "unknown field {other:?}: the fields are project, key and kind"
                    ));
                }
            };
            *slot = Some(column.to_string());
        }
        Ok(map)
    }
}

/// How to read an input file.
#[derive(Clone, Debug, Default)]
pub struct InputOptions {
    /// Format; `None` picks it from the extension, or from the first byte.
    pub format: Option<Format>,
    pub columns: ColumnMap,
    /// Kind for rows whose file has no kind column (or whose kind cell is absent).
    pub default_kind: Option<Kind>,
    /// Kinds this job may revoke; rows of any other kind are invalid. Empty means all.
    pub allowed_kinds: Vec<Kind>,
}

/// The values of one row as the file had them (trimmed), kept for the report of a bad row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawRow {
    pub project: String,
    pub key: String,
    pub kind: String,
}

/// One row of the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line on which the row starts.
    pub line: u64,
    /// Byte offset at which a scan can start to read this row first (CSV and JSON Lines).
    pub offset: Option<u64>,
    /// The cells as the file had them; filled only for invalid rows, the only ones reported raw.
    pub raw: RawRow,
    /// The validated target, or why the row is invalid.
    pub target: Result<Target, String>,
}

/// A file that cannot be read as a whole.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {reason}")]
    Malformed {
        file: String,
        line: u64,
        reason: String,
    },
}

/// An input file: a path, or standard input spooled to a temporary file so it can be read twice (once
/// to validate before anything is sent, once to send).
pub struct Source {
    path: PathBuf,
    name: String,
    _spool: Option<tempfile::NamedTempFile>,
}

impl Source {
    /// Opens `path`, or standard input when `path` is `-`.
    pub fn open(path: &Path) -> Result<Source, InputError> {
        if path.as_os_str() == "-" {
            let io = |source| InputError::Io {
                file: "<stdin>".into(),
                source,
            };
            let mut spool = tempfile::NamedTempFile::new().map_err(io)?;
            std::io::copy(&mut std::io::stdin().lock(), &mut spool).map_err(io)?;
            return Ok(Source {
                path: spool.path().to_path_buf(),
                name: "<stdin>".into(),
                _spool: Some(spool),
            });
        }
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| InputError::Io {
            file: name.clone(),
            source,
        })?;
        if meta.is_dir() {
            return Err(InputError::Malformed {
                file: name,
                line: 0,
                reason: "is a directory, not a file".into(),
            });
        }
        Ok(Source {
            path: path.to_path_buf(),
            name,
            _spool: None,
        })
    }

    /// The name used in messages (`<stdin>` for standard input).
    pub fn name(&self) -> &str {
        &self.name
    }

    fn reader(&self) -> Result<BufReader<File>, InputError> {
        File::open(&self.path)
            .map(|f| BufReader::with_capacity(256 * 1024, f))
            .map_err(|source| InputError::Io {
                file: self.name.clone(),
                source,
            })
    }

    fn malformed(&self, line: u64, reason: impl Into<String>) -> InputError {
        InputError::Malformed {
            file: self.name.clone(),
            line,
            reason: reason.into(),
        }
    }

    /// The format to read this file in.
    pub fn format(&self, wanted: Option<Format>) -> Result<Format, InputError> {
        if let Some(format) = wanted {
            return Ok(format);
        }
        let ext = self
            .path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if self._spool.is_none() {
            match ext.as_deref() {
                Some("csv" | "tsv" | "txt") => return Ok(Format::Csv),
                Some("json") => return Ok(Format::Json),
                Some("jsonl" | "ndjson") => return Ok(Format::Jsonl),
                _ => {}
            }
        }
        // No telling extension: look at the first non-blank byte.
        let mut reader = self.reader()?;
        let mut head = [0u8; 4096];
        let n = read_up_to(&mut reader, &mut head).map_err(|source| InputError::Io {
            file: self.name.clone(),
            source,
        })?;
        let head = head[..n].strip_prefix(BOM).unwrap_or(&head[..n]);
        Ok(match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => Format::Json,
            Some(b'{') => Format::Jsonl,
            _ => Format::Csv,
        })
    }

    /// Reads every row, handing each to `visit` until it answers `Break`.
    pub fn scan(
        &self,
        opts: &InputOptions,
        visit: &mut dyn FnMut(Entry) -> ControlFlow<()>,
    ) -> Result<(), InputError> {
        self.scan_from(opts, None, visit)
    }

    /// Like [`Source::scan`], but starting at `from`, the `(offset, line)` of a row an earlier scan
    /// reported (see [`Entry::offset`]): the rows before it are not read again.
    pub fn scan_from(
        &self,
        opts: &InputOptions,
        from: Option<(u64, u64)>,
        visit: &mut dyn FnMut(Entry) -> ControlFlow<()>,
    ) -> Result<(), InputError> {
        let format = self.format(opts.format)?;
        let mut reader = self.reader()?;
        let buf = reader.fill_buf().map_err(|source| InputError::Io {
            file: self.name.clone(),
            source,
        })?;
        if buf.is_empty() {
            return Err(self.malformed(1, "the file is empty: expected a header line or rows"));
        }
        match format {
            Format::Csv => csv_reader::scan(self, reader, opts, from, visit),
            Format::Json => json_reader::scan_array(self, reader, opts, visit),
            Format::Jsonl => json_reader::scan_lines(self, reader, opts, from, visit),
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads until `buf` is full or the input ends; answers how much was read.
pub(crate) fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Shows a value from the input in a message: quoted, control characters escaped, cut at 60 characters.
pub fn shown(value: &str) -> String {
    let mut out = String::from('"');
    for (i, c) in value.chars().enumerate() {
        if i == 60 {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('"');
    out
}

/// Keeps a raw value short enough for a report cell.
fn clip(value: &str) -> String {
    const MAX: usize = 200;
    if value.len() <= MAX {
        return value.to_string();
    }
    let mut end = MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &value[..end])
}

/// A row's three cells before validation, borrowed from the reader where it can; `problem` is set
/// when a cell could not even be read as text.
#[derive(Default)]
struct Cells<'a> {
    project: Option<Cow<'a, str>>,
    key: Option<Cow<'a, str>>,
    kind: Option<Cow<'a, str>>,
    problem: Option<String>,
}

/// Validates one row's cells into an [`Entry`].
fn validate(
    line: u64,
    offset: Option<u64>,
    cells: Cells<'_>,
    opts: &InputOptions,
    has_kind_column: bool,
) -> Entry {
    let target = check(&cells, opts, has_kind_column);
    let raw = if target.is_err() {
        RawRow {
            project: clip(cells.project.as_deref().unwrap_or("")),
            key: clip(cells.key.as_deref().unwrap_or("")),
            kind: clip(cells.kind.as_deref().unwrap_or("")),
        }
    } else {
        RawRow::default()
    };
    Entry {
        line,
        offset,
        raw,
        target,
    }
}

fn check(cells: &Cells<'_>, opts: &InputOptions, has_kind_column: bool) -> Result<Target, String> {
    if let Some(problem) = &cells.problem {
        return Err(problem.clone());
    }
    let id = |field: Field, value: &Option<Cow<'_, str>>| -> Result<ObjectId, String> {
        match value.as_deref() {
            None | Some("") => Err(format!("{} id is missing", field.name())),
            Some(v) => ObjectId::parse(v).ok_or_else(|| {
                format!(
                    "{} id {} is not a 24-hex-digit ObjectId",
                    field.name(),
                    shown(v)
                )
            }),
        }
    };
    let project = id(Field::Project, &cells.project)?;
    let key = id(Field::Key, &cells.key)?;
    let kind = match (cells.kind.as_deref(), opts.default_kind) {
        (Some(""), _) if has_kind_column => return Err("kind is empty".into()),
        (None | Some(""), Some(default)) => default,
        (None | Some(""), None) => {
            return Err("kind is missing (add a kind field or pass --kind)".into());
        }
        (Some(text), _) => Kind::parse(text).ok_or_else(|| {
            format!(
                "unknown kind {} (expected project-api-key or agent-api-key)",
                shown(text)
            )
        })?,
    };
    if !opts.allowed_kinds.is_empty() && !opts.allowed_kinds.contains(&kind) {
        return Err(format!("kind {kind} is not allowed by this job"));
    }
    Ok(Target { kind, project, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_map_parses_any_subset() {
        let map: ColumnMap = "project=GROUP_ID, key = KEY".parse().unwrap();
        assert_eq!(map.project.as_deref(), Some("GROUP_ID"));
        assert_eq!(map.key.as_deref(), Some("KEY"));
        assert_eq!(map.kind, None);
        assert!(
            "colour=red"
                .parse::<ColumnMap>()
                .unwrap_err()
                .contains("unknown field")
        );
        assert!(
            "project"
                .parse::<ColumnMap>()
                .unwrap_err()
                .contains("FIELD=COLUMN")
        );
    }

    #[test]
    fn shown_escapes_and_cuts() {
        assert_eq!(shown("a\nb"), "\"a\\nb\"");
        assert_eq!(shown(&"x".repeat(70)).chars().count(), 63);
    }

    #[test]
    fn check_reports_the_first_problem() {
        let opts = InputOptions::default();
        let cells = |p: &'static str, k: &'static str, kind: &'static str| Cells {
            project: Some(p.into()),
            key: Some(k.into()),
            kind: Some(kind.into()),
            problem: None,
        };
        let good = "5f1b2c3d4e5f6a7b8c9d0e1f";
        assert_eq!(
            check(&cells("../etc", good, "agent"), &opts, true).unwrap_err(),
            "project id \"../etc\" is not a 24-hex-digit ObjectId"
        );
        assert_eq!(
            check(&cells(good, good, ""), &opts, true).unwrap_err(),
            "kind is empty"
        );
        assert!(
            check(&cells(good, good, "bogus"), &opts, true)
                .unwrap_err()
                .starts_with("unknown kind")
        );
        let only_agents = InputOptions {
            allowed_kinds: vec![Kind::AgentApiKey],
            ..Default::default()
        };
        assert_eq!(
            check(&cells(good, good, "apiKey"), &only_agents, true).unwrap_err(),
            "kind project-api-key is not allowed by this job"
        );
        assert!(check(&cells(good, good, "agent"), &only_agents, true).is_ok());
    }
}
