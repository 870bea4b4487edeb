//! Reading the rows to revoke: CSV (or TSV) with a header, a JSON array of objects, or JSON Lines.
//!
//! Every reader streams: it hands one [`Entry`] at a time to a callback and never holds the whole
//! file. A row that is bad on its own (not an id, unknown or disallowed kind) becomes an invalid entry
//! with its line number; a file that cannot be read as a whole (not UTF-8, malformed JSON, no usable
//! header) is an [`InputError`] naming the file and line. Readers read the private copy made by
//! [`Source::open`], never the user's file a second time.

mod csv_reader;
pub mod exempt;
pub mod grouped;
mod json_reader;
mod source;
mod survey;

use std::borrow::Cow;
use std::fmt;
use std::io::{BufRead, Read};
use std::ops::ControlFlow;
use std::str::FromStr;

pub use crate::vocab::{
    CLIENT_ID_PREFIX, Identity, Kind, NO_SCOPE, ObjectId, Scope, Target, parse_client_id,
    parse_model_key,
};
pub use exempt::Exemptions;
pub use source::Source;
pub use survey::{Survey, survey};

pub use crate::text::shown;

/// Longest row (one CSV record or one JSON Lines line) accepted; a longer one is a whole-file error,
/// because no export of ids has rows this long and reading on would only waste memory.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// The format of an input file.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Values separated by commas (or `;` or tabs, detected), with a header line.
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

/// One of the values a row carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Project,
    Org,
    Key,
    Secret,
    Kind,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::Project,
        Field::Org,
        Field::Key,
        Field::Secret,
        Field::Kind,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Project => "project",
            Field::Org => "org",
            Field::Key => "key",
            Field::Secret => "secret",
            Field::Kind => "kind",
        }
    }

    /// Header names recognised without a mapping, compared case-insensitively, in order of preference.
    fn defaults(self) -> &'static [&'static str] {
        match self {
            Field::Project => &[
                "project",
                "projectId",
                "project_id",
                "groupId",
                "group_id",
                "group",
            ],
            Field::Org => &[
                "org",
                "orgId",
                "org_id",
                "organization",
                "organizationId",
                "organization_id",
            ],
            Field::Key => &[
                "key",
                "keyId",
                "key_id",
                "apiKeyId",
                "api_key_id",
                "id",
                "clientId",
                "client_id",
            ],
            Field::Secret => &["secret", "secretId", "secret_id"],
            Field::Kind => &["kind", "type", "keyType"],
        }
    }
}

/// Whether the header (or JSON field) `have` is the column name `want`, compared as kinds are:
/// ignoring case, spaces, `_` and `-` (`Project ID` is `projectId` is `project_id`).
pub fn same_column(have: &str, want: &str) -> bool {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-' | '\t'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    fold(have) == fold(want)
}

/// Which header (or JSON field) holds each value. `None` means "use the defaults".
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl ColumnMap {
    fn slot(&self, field: Field) -> &Option<String> {
        match field {
            Field::Project => &self.project,
            Field::Org => &self.org,
            Field::Key => &self.key,
            Field::Secret => &self.secret,
            Field::Kind => &self.kind,
        }
    }

    fn slot_mut(&mut self, field: Field) -> &mut Option<String> {
        match field {
            Field::Project => &mut self.project,
            Field::Org => &mut self.org,
            Field::Key => &mut self.key,
            Field::Secret => &mut self.secret,
            Field::Kind => &mut self.kind,
        }
    }

    /// The names that may hold `field`, in order of preference.
    pub fn candidates(&self, field: Field) -> Vec<&str> {
        match self.slot(field) {
            Some(name) => vec![name.as_str()],
            None => field.defaults().to_vec(),
        }
    }

    /// Index of the first name among `names` that holds `field`, in the order of preference.
    fn find<'a>(
        &self,
        field: Field,
        names: impl Iterator<Item = &'a str> + Clone,
    ) -> Option<usize> {
        self.candidates(field)
            .iter()
            .find_map(|want| names.clone().position(|have| same_column(have, want)))
    }

    /// Every field this map sets overrides the same field of `self`.
    pub fn overridden_by(&self, other: &ColumnMap) -> ColumnMap {
        let mut out = self.clone();
        for field in Field::ALL {
            if let Some(name) = other.slot(field) {
                *out.slot_mut(field) = Some(name.clone());
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        Field::ALL.iter().all(|f| self.slot(*f).is_none())
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
            let wanted = field.trim().to_ascii_lowercase();
            let field = Field::ALL
                .into_iter()
                .find(|f| f.name() == wanted)
                .ok_or_else(|| {
                    format!(
                        "unknown field {wanted:?}: the fields are project, org, key, secret and kind"
                    )
                })?;
            *map.slot_mut(field) = Some(column.to_string());
        }
        Ok(map)
    }
}

/// How to read an input file, and which rows a run may send.
#[derive(Clone, Debug)]
pub struct InputOptions {
    /// Format; `None` picks it from the extension, or from the first byte.
    pub format: Option<Format>,
    /// CSV field separator; `None` detects it (`,`, `;` or tab) from the header line.
    pub delimiter: Option<u8>,
    pub columns: ColumnMap,
    /// Kind for rows whose file has no kind column (or whose kind cell is absent).
    pub default_kind: Option<Kind>,
    /// Kinds this job may revoke; rows of any other kind are invalid. Empty allows every kind that is
    /// not destructive: those must always be named.
    pub allowed_kinds: Vec<Kind>,
    /// Whether the API is Cloud Manager's or Ops Manager's (v1.0: agent and global API keys) rather
    /// than Atlas's (v2: project service accounts, AI model keys).
    pub agent_keys: bool,
}

impl InputOptions {
    /// Whether this job may send rows of `kind`, or why not.
    pub fn allows(&self, kind: Kind) -> Result<(), String> {
        // A kind this API does not have is said as such first: allowing it by name would not help.
        if kind == Kind::AgentApiKey && !self.agent_keys {
            return Err(
                "kind agent-api-key does not exist on the Atlas Administration API: agent API keys are Cloud Manager and Ops Manager only"
                    .into(),
            );
        }
        if !self.agent_keys && !kind.on_atlas() {
            return Err(format!(
                "kind {kind} does not exist on the Atlas Administration API: it is Ops Manager's (a v1.0 base URL)"
            ));
        }
        if self.agent_keys && !kind.on_cloud_manager() {
            return Err(format!(
                "kind {kind} is documented on the Atlas Administration API (v2) only: pass --api atlas or an …/api/atlas/v2 base URL"
            ));
        }
        if kind.is_destructive() && !self.allowed_kinds.contains(&kind) {
            return Err(format!(
                "kind {kind} {}: it is sent only when allowed by name (--kinds +{kind}, or add \"{kind}\" to kinds in the job file)",
                org_wide_warning(kind)
            ));
        }
        if !self.allowed_kinds.is_empty() && !self.allowed_kinds.contains(&kind) {
            return Err(format!("kind {kind} is not allowed by this job"));
        }
        Ok(())
    }

    /// The same reading with every kind allowed: what a plan reads, to tell a row of a kind the
    /// job does not allow from a bad row.
    pub fn every_kind(&self) -> InputOptions {
        InputOptions {
            allowed_kinds: Kind::ALL.to_vec(),
            ..self.clone()
        }
    }
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions {
            format: None,
            delimiter: None,
            columns: ColumnMap::default(),
            default_kind: None,
            allowed_kinds: Vec::new(),
            agent_keys: true,
        }
    }
}

/// The values of one row as the file had them (trimmed, clipped), kept for the report of a bad row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawRow {
    /// The project, or the organization when the row has no project.
    pub scope: String,
    pub key: String,
    pub kind: String,
    pub secret: String,
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
    /// A project row's organization, when the export has an `org` column: where a run with a
    /// credential per organization sends it, without asking the API.
    pub org: Option<ObjectId>,
}

/// A file that cannot be read as a whole.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{file}: cannot read: {cause}")]
    Io { file: String, cause: std::io::Error },
    #[error("{file}:{line}: {reason}")]
    Malformed {
        file: String,
        line: u64,
        reason: String,
    },
}

impl Source {
    /// The format to read this file in.
    pub fn format(&self, wanted: Option<Format>) -> Result<Format, InputError> {
        if let Some(format) = wanted {
            return Ok(format);
        }
        match self.extension().as_deref() {
            Some("csv" | "tsv" | "tab" | "txt") => return Ok(Format::Csv),
            Some("json") => return Ok(Format::Json),
            Some("jsonl" | "ndjson") => return Ok(Format::Jsonl),
            _ => {}
        }
        // No telling extension: look at the first non-blank byte.
        let mut head = [0u8; 4096];
        let n = read_up_to(&mut self.reader(), &mut head).map_err(|e| self.io_error(e))?;
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
        if self.is_empty() {
            return Err(self.malformed(1, "the file is empty: expected a header line or rows"));
        }
        let mut reader = self.reader();
        reader.fill_buf().map_err(|e| self.io_error(e))?;
        let stopped = std::cell::Cell::new(false);
        let mut visit = |entry: Entry| {
            let flow = visit(entry);
            stopped.set(flow.is_break());
            flow
        };
        match format {
            Format::Csv => csv_reader::scan(self, reader, opts, from, &mut visit)?,
            Format::Json => json_reader::scan_array(self, reader, opts, &mut visit)?,
            Format::Jsonl => json_reader::scan_lines(self, reader, opts, from, &mut visit)?,
        }
        for entry in self.extra() {
            if stopped.get() || visit(entry.clone()).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// Remarks about the header worth a warning (a column named twice, two names for one value).
    pub fn header_notes(&self, opts: &InputOptions) -> Result<Vec<String>, InputError> {
        match self.format(opts.format)? {
            Format::Csv if !self.is_empty() => csv_reader::header_notes(self, opts),
            _ => Ok(Vec::new()),
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

/// A header name as messages show it: itself when it looks like a column name, otherwise only its
/// position, so that a file that is not an export (a credentials file, a binary) is not echoed.
fn header_name_shown(name: &str, index: usize) -> String {
    let plain = !name.is_empty()
        && name.chars().count() <= 40
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || " _-.#()/".contains(c));
    if plain {
        name.to_string()
    } else {
        format!("column {}", index + 1)
    }
}

/// A row's cells before validation, borrowed from the reader where it can; `problem` is set when a
/// cell could not even be read as text.
#[derive(Default)]
struct Cells<'a> {
    project: Option<Cow<'a, str>>,
    org: Option<Cow<'a, str>>,
    key: Option<Cow<'a, str>>,
    secret: Option<Cow<'a, str>>,
    kind: Option<Cow<'a, str>>,
    problem: Option<String>,
}

impl<'a> Cells<'a> {
    fn set(&mut self, field: Field, value: Option<Cow<'a, str>>) {
        match field {
            Field::Project => self.project = value,
            Field::Org => self.org = value,
            Field::Key => self.key = value,
            Field::Secret => self.secret = value,
            Field::Kind => self.kind = value,
        }
    }
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
        let text = |v: &Option<Cow<'_, str>>| clip(v.as_deref().unwrap_or(""));
        RawRow {
            scope: if cells.project.as_deref().is_some_and(|p| !p.is_empty()) {
                text(&cells.project)
            } else {
                text(&cells.org)
            },
            key: text(&cells.key),
            kind: text(&cells.kind),
            secret: text(&cells.secret),
        }
    } else {
        RawRow::default()
    };
    let org = match &target {
        Ok(t) if t.kind.scope() == Scope::Project => cells.org.as_deref().and_then(ObjectId::parse),
        _ => None,
    };
    Entry {
        line,
        offset,
        raw,
        target,
        org,
    }
}

/// Why a destructive kind needs to be named before it is sent.
fn org_wide_warning(kind: Kind) -> &'static str {
    match kind {
        Kind::OrgApiKey => "deletes the API key from the organization and every project",
        Kind::ServiceAccount => "deletes the service account and every secret it has",
        Kind::AiModelApiKey => "deletes the AI model API key itself",
        Kind::DatabaseUser => "deletes the project's database user",
        Kind::GlobalApiKey => {
            "deletes an Ops Manager global API key from every organization and project"
        }
        Kind::ServiceAccountSecret => "revokes a secret of an organization's service account",
        Kind::OrgMcpSecret => "deletes a secret of an organization's MCP configuration",
        Kind::ProjectMcpSecret => "deletes a secret of a project's MCP configuration",
        _ => {
            "deletes a secret of a project's service account (the secret itself, not an assignment)"
        }
    }
}

fn check(cells: &Cells<'_>, opts: &InputOptions, has_kind_column: bool) -> Result<Target, String> {
    if let Some(problem) = &cells.problem {
        return Err(problem.clone());
    }
    let kind = match (cells.kind.as_deref(), opts.default_kind) {
        (Some(""), _) if has_kind_column => return Err("kind is empty".into()),
        (None | Some(""), Some(default)) => default,
        (None | Some(""), None) => {
            return Err("kind is missing (add a kind field or pass --kind)".into());
        }
        (Some(text), _) => Kind::parse(text).ok_or_else(|| match Kind::nearest(text) {
            Some(near) => format!(
                "unknown kind {}: did you mean {near}? (the kinds are {}; README lists their aliases)",
                shown(text),
                Kind::names()
            ),
            None => format!("unknown kind {} (expected {})", shown(text), Kind::names()),
        })?,
    };
    opts.allows(kind)?;
    let scope = match kind.scope() {
        Scope::Project => object_id(Field::Project, &cells.project)?,
        Scope::Org => object_id(Field::Org, &cells.org)
            .map_err(|e| format!("{e} ({kind} rows need the organization's id)"))?,
        Scope::Global => crate::vocab::NO_SCOPE,
    };
    let (key, secret) = key_of(kind, cells)?;
    Ok(Target {
        kind,
        scope,
        key,
        secret,
    })
}

/// The id in `value`, or why it is not one.
fn object_id(field: Field, value: &Option<Cow<'_, str>>) -> Result<ObjectId, String> {
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
}

/// The key (and secret) of a row of `kind`: an ObjectId, a client id, or an AI model key's id.
fn key_of(kind: Kind, cells: &Cells<'_>) -> Result<(ObjectId, Option<ObjectId>), String> {
    if kind == Kind::DatabaseUser {
        let text = cells.key.as_deref().unwrap_or("");
        let (first, rest) = crate::vocab::parse_db_user(text).ok_or_else(|| {
            format!(
                "key {} is not a database user (databaseName/username, e.g. admin/alice, at most {} characters)",
                shown(text),
                crate::vocab::MAX_DB_USER
            )
        })?;
        return match cells.secret.as_deref().filter(|s| !s.is_empty()) {
            Some(text) => Err(secret_on_wrong_kind(kind, text)),
            None => Ok((first, Some(rest))),
        };
    }
    let key = if kind == Kind::AiModelApiKey {
        let text = cells.key.as_deref().unwrap_or("");
        if text.is_empty() {
            return Err("key id is missing".into());
        }
        let (first, rest) = crate::vocab::parse_model_key(text).ok_or_else(|| {
            format!(
                "key id {} is not an AI model API key's id (1 to {} letters, digits, -, ., _ or ~, the first a letter or digit)",
                shown(text),
                crate::vocab::MAX_MODEL_KEY
            )
        })?;
        return match cells.secret.as_deref().filter(|s| !s.is_empty()) {
            Some(text) => Err(secret_on_wrong_kind(kind, text)),
            None => Ok((first, Some(rest))),
        };
    } else if kind.key_is_client_id() {
        match cells.key.as_deref() {
            None | Some("") => return Err("client id is missing".into()),
            Some(v) => parse_client_id(v).ok_or_else(|| {
                format!(
                    "client id {} is not a service account's client id ({CLIENT_ID_PREFIX} and 24 hex digits)",
                    shown(v)
                )
            })?,
        }
    } else {
        object_id(Field::Key, &cells.key)?
    };
    let secret = if kind.needs_secret() {
        Some(object_id(Field::Secret, &cells.secret)?)
    } else if let Some(text) = cells.secret.as_deref().filter(|s| !s.is_empty()) {
        return Err(secret_on_wrong_kind(kind, text));
    } else {
        None
    };
    Ok((key, secret))
}

/// A secret on a row of a kind without one is most likely a mislabelled secret rotation: sent as
/// is, it would delete the whole account.
fn secret_on_wrong_kind(kind: Kind, text: &str) -> String {
    format!(
        "secret {} on a {kind} row: only service-account-secret rows name a secret (is this row a service-account-secret?)",
        shown(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_this_api_does_not_have_is_never_offered_to_be_allowed_by_name() {
        let cloud = InputOptions {
            agent_keys: true,
            ..InputOptions::default()
        };
        let err = cloud.allows(Kind::AiModelApiKey).unwrap_err();
        assert!(err.contains("Atlas Administration API (v2) only"), "{err}");
        assert!(!err.contains("--kinds +"), "{err}");
        let atlas = InputOptions {
            agent_keys: false,
            ..InputOptions::default()
        };
        let err = atlas.allows(Kind::GlobalApiKey).unwrap_err();
        assert!(err.contains("does not exist on the Atlas"), "{err}");
        assert!(!err.contains("--kinds +"), "{err}");
        // A kind the API has is still offered by name.
        let err = cloud.allows(Kind::OrgApiKey).unwrap_err();
        assert!(err.contains("--kinds +org-api-key"), "{err}");
    }

    #[test]
    fn column_map_parses_any_subset() {
        let map: ColumnMap = "project=GROUP_ID, key = KEY,org=ORG,secret=S"
            .parse()
            .unwrap();
        assert_eq!(map.project.as_deref(), Some("GROUP_ID"));
        assert_eq!(map.key.as_deref(), Some("KEY"));
        assert_eq!(map.org.as_deref(), Some("ORG"));
        assert_eq!(map.secret.as_deref(), Some("S"));
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
    fn header_names_are_shown_only_when_they_look_like_names() {
        assert_eq!(header_name_shown("GROUP_ID", 0), "GROUP_ID");
        assert_eq!(header_name_shown("private_key = \"x\"", 2), "column 3");
    }

    fn cells<'a>(
        project: &'a str,
        org: &'a str,
        key: &'a str,
        secret: &'a str,
        kind: &'a str,
    ) -> Cells<'a> {
        Cells {
            project: Some(project.into()),
            org: Some(org.into()),
            key: Some(key.into()),
            secret: Some(secret.into()),
            kind: Some(kind.into()),
            problem: None,
        }
    }

    #[test]
    fn check_reports_the_first_problem() {
        let opts = InputOptions::default();
        let good = "5f1b2c3d4e5f6a7b8c9d0e1f";
        assert_eq!(
            check(&cells("../etc", "", good, "", "agent"), &opts, true).unwrap_err(),
            "project id \"../etc\" is not a 24-hex-digit ObjectId"
        );
        assert_eq!(
            check(&cells(good, "", good, "", ""), &opts, true).unwrap_err(),
            "kind is empty"
        );
        assert!(
            check(&cells(good, "", good, "", "bogus"), &opts, true)
                .unwrap_err()
                .starts_with("unknown kind \"bogus\" (expected project-api-key, agent-api-key")
        );
        let only_agents = InputOptions {
            allowed_kinds: vec![Kind::AgentApiKey],
            ..Default::default()
        };
        assert_eq!(
            check(&cells(good, "", good, "", "apiKey"), &only_agents, true).unwrap_err(),
            "kind project-api-key is not allowed by this job"
        );
        assert!(check(&cells(good, "", good, "", "agent"), &only_agents, true).is_ok());
    }

    #[test]
    fn organization_wide_kinds_must_be_allowed_by_name() {
        let good = "5f1b2c3d4e5f6a7b8c9d0e1f";
        let client = "mdb_sa_id_5f1b2c3d4e5f6a7b8c9d0e1f";
        let row = cells("", good, client, good, "service-account-secret");
        assert_eq!(
            check(&row, &InputOptions::default(), true).unwrap_err(),
            "kind service-account-secret revokes a secret of an organization's service account: it is sent only when allowed by name (--kinds +service-account-secret, or add \"service-account-secret\" to kinds in the job file)"
        );
        let allowed = InputOptions {
            allowed_kinds: vec![Kind::ServiceAccountSecret],
            ..Default::default()
        };
        let target = check(&row, &allowed, true).unwrap();
        assert_eq!(target.secret.map(|s| s.to_string()).as_deref(), Some(good));
        assert_eq!(
            check(
                &cells("", good, good, "", "service-account-secret"),
                &allowed,
                true
            )
            .unwrap_err(),
            "client id \"5f1b2c3d4e5f6a7b8c9d0e1f\" is not a service account's client id (mdb_sa_id_ and 24 hex digits)"
        );
        assert_eq!(
            check(
                &cells("", good, client, "", "service-account-secret"),
                &allowed,
                true
            )
            .unwrap_err(),
            "secret id is missing"
        );
        let org_keys = InputOptions {
            allowed_kinds: vec![Kind::OrgApiKey],
            ..Default::default()
        };
        assert_eq!(
            check(&cells(good, "", good, "", "org-api-key"), &org_keys, true).unwrap_err(),
            "org id is missing (org-api-key rows need the organization's id)"
        );
    }

    #[test]
    fn agent_keys_are_invalid_where_the_api_has_none() {
        let good = "5f1b2c3d4e5f6a7b8c9d0e1f";
        let atlas = InputOptions {
            agent_keys: false,
            ..Default::default()
        };
        assert!(
            check(&cells(good, "", good, "", "agent"), &atlas, true)
                .unwrap_err()
                .contains("does not exist on the Atlas Administration API")
        );
    }
}
