//! Exemptions (`--exempt FILE`): credentials a run never revokes — break-glass keys, the keys
//! automation runs on. The file is CSV, a JSON array or JSON Lines, with the input's column names;
//! only the key (an API key's ObjectId, a service account's client id, or an AI model API key's
//! id) is required. An exemption names a credential, never a path to it: it protects the
//! credential wherever a row would destroy or unassign it, whatever project or organization the
//! row goes through.
//!
//! - a key alone (or with its organization: the organization is the key's home, not a narrowing):
//!   every row naming that key — its project assignments, the key itself, a service account and
//!   every secret of it, through its organization or any project;
//! - with a project: that project's assignment of it and every row that deletes the credential or
//!   part of it (which would take the project's assignment with it), but not its assignments to
//!   other projects;
//! - with a secret: that secret by either path, the deletion of its service account (which deletes
//!   every secret) and the account's project assignments (narrowed by a project column as above),
//!   but not the account's other secrets.
//!
//! A kind column, when present, is read only to tell which kind of id the key is; it never narrows
//! an exemption, since over-protecting a break-glass key is the safe mistake. Without one, a key
//! that reads as several kinds of id (24 hex digits are also 24 letters and digits) is exempt as
//! each of them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{ColumnMap, Field};
use crate::fsx::Links;
use crate::vocab::{Kind, ObjectId, Target, parse_client_id, parse_model_key};

/// An exemption list names break-glass credentials, not an export: anything larger is not one.
const MAX_BYTES: u64 = 64 << 20;

fn documented_model_shape(text: &str) -> bool {
    text.len() == 24 && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// One exempt credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Exemption {
    /// The project column: only the key's assignments to other projects are not covered. An
    /// organization column never narrows (a key's organization is where it lives).
    project: Option<ObjectId>,
    secret: Option<ObjectId>,
    /// The second half of an AI model API key's id: such an exemption covers that key's rows only.
    model_rest: Option<ObjectId>,
    /// The line of the exemption file, for the report's message.
    line: u64,
}

/// The exemption list of a run.
#[derive(Clone, Debug, Default)]
pub struct Exemptions {
    by_key: HashMap<ObjectId, Vec<Exemption>>,
    /// The file, for messages; empty when there is none.
    pub file: String,
    pub sha256: String,
    /// Exemptions read.
    pub count: u64,
    /// The lines with an `until`, `owner` or `reason` cell.
    pub dated: Vec<Dated>,
}

/// An exemption line's `until`, `owner` and `reason` cells, as the file has them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dated {
    pub line: u64,
    pub key: String,
    pub until: String,
    pub owner: String,
    pub reason: String,
}

/// When an exemption ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// No `until`: it never ends.
    Never,
    /// Seconds since the epoch.
    At(i64),
    /// An `until` that reads as no date: it keeps protecting, and is named.
    Unreadable,
}

/// An exemption past its `until`, or whose `until` cannot be read (which keeps protecting).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expiry {
    pub dated: Dated,
    /// False: the `until` cell is not a date (YYYY-MM-DD) or an RFC 3339 instant.
    pub readable: bool,
}

impl Dated {
    /// The instant the exemption ends: the end of an `until` day (UTC), or an RFC 3339 instant.
    pub fn ends(&self) -> Until {
        let text = self.until.trim();
        if text.is_empty() {
            return Until::Never;
        }
        if let Ok(t) = text.parse::<jiff::Timestamp>() {
            return Until::At(t.as_second());
        }
        let end = text
            .parse::<jiff::civil::Date>()
            .ok()
            .and_then(|d| d.tomorrow().ok())
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok());
        end.map_or(Until::Unreadable, |z| Until::At(z.timestamp().as_second()))
    }

    /// One line for a warning: where, which key, until when, whose, why.
    pub fn describe(&self, file: &str) -> String {
        let mut text = format!("{file}:{} key {} until {}", self.line, self.key, self.until);
        if !self.owner.is_empty() {
            text.push_str(&format!(" (owner {})", self.owner));
        }
        if !self.reason.is_empty() {
            text.push_str(&format!(": {}", self.reason));
        }
        text
    }
}

/// An exemption file that cannot be used: exit code 2, before anything is sent.
#[derive(Debug, thiserror::Error)]
#[error("exemption file {file}:{line}: {reason}")]
pub struct ExemptError {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

impl Exemptions {
    /// Reads an exemption file.
    pub fn load(path: &Path) -> Result<Exemptions, ExemptError> {
        let file = path.display().to_string();
        let err = |line: u64, reason: String| ExemptError {
            file: file.clone(),
            line,
            reason,
        };
        let bytes = crate::fsx::read_bounded(path, Links::Follow, MAX_BYTES)
            .map_err(|e| err(0, format!("cannot read: {e}")))?;
        let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes))
            .map_err(|_| err(0, "not UTF-8 text".into()))?;
        let rows = match text.trim_start().as_bytes().first() {
            Some(b'[') => json_array(text).map_err(|(l, r)| err(l, r))?,
            Some(b'{') => json_lines(text).map_err(|(l, r)| err(l, r))?,
            Some(_) => csv_rows(text).map_err(|(l, r)| err(l, r))?,
            None => return Err(err(1, "the file is empty: expected a header line".into())),
        };
        let mut out = Exemptions {
            file: file.clone(),
            sha256: format!("{:x}", Sha256::digest(&bytes)),
            ..Exemptions::default()
        };
        for (line, cells) in rows {
            let cell = |name: &str| cells.get(name).map_or("", |v| v.trim()).to_string();
            let dated = Dated {
                line,
                key: cell("key"),
                until: cell(UNTIL),
                owner: cell(OWNER),
                reason: cell(REASON),
            };
            if !(dated.until.is_empty() && dated.owner.is_empty() && dated.reason.is_empty()) {
                out.dated.push(dated);
            }
            for (key, exemption) in parse(line, &cells).map_err(|r| err(line, r))? {
                out.by_key.entry(key).or_default().push(exemption);
            }
            out.count += 1;
        }
        Ok(out)
    }

    /// The exemptions of an optional file; none without one.
    pub fn of(path: Option<&PathBuf>) -> Result<Exemptions, ExemptError> {
        path.map_or_else(|| Ok(Exemptions::default()), |p| Exemptions::load(p))
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The exemptions past their `until` at `now`, and those whose `until` cannot be read.
    pub fn expired(&self, now: i64) -> Vec<Expiry> {
        self.dated
            .iter()
            .filter_map(|d| match d.ends() {
                Until::At(end) if now >= end => Some(Expiry {
                    dated: d.clone(),
                    readable: true,
                }),
                Until::At(_) | Until::Never => None,
                Until::Unreadable => Some(Expiry {
                    dated: d.clone(),
                    readable: false,
                }),
            })
            .collect()
    }

    /// Stops the exemptions past their `until` at `now` from protecting (`expired_exemptions =
    /// "revoke"`); an unreadable `until` keeps protecting. Answers how many stopped.
    pub fn drop_expired(&mut self, now: i64) -> usize {
        let lines: std::collections::HashSet<u64> = self
            .expired(now)
            .into_iter()
            .filter(|e| e.readable)
            .map(|e| e.dated.line)
            .collect();
        for list in self.by_key.values_mut() {
            list.retain(|e| !lines.contains(&e.line));
        }
        self.by_key.retain(|_, list| !list.is_empty());
        lines.len()
    }

    /// The line of the exemption that covers `target`, if one does.
    pub fn covering(&self, target: &Target) -> Option<u64> {
        self.by_key
            .get(&target.key)?
            .iter()
            .find(|e| covers(e, target))
            .map(|e| e.line)
    }

    /// The report's message for a row this list exempts.
    pub fn message(&self, line: u64) -> String {
        format!(
            "exempt: {}:{line} lists this credential; never sent",
            self.file
        )
    }
}

/// Whether exemption `e` (whose key is `t`'s) covers the row `t`: by the credential, never by the
/// path the row takes to it.
fn covers(e: &Exemption, t: &Target) -> bool {
    if t.kind == Kind::AiModelApiKey || e.model_rest.is_some() {
        return t.kind == Kind::AiModelApiKey && t.secret == e.model_rest;
    }
    let elsewhere = |project: Option<ObjectId>| project.is_some_and(|p| p != t.scope);
    match (e.secret, t.kind) {
        (
            Some(secret),
            Kind::ServiceAccountSecret
            | Kind::ProjectServiceAccountSecret
            | Kind::OrgMcpSecret
            | Kind::ProjectMcpSecret,
        ) => t.secret == Some(secret),
        // Only an assignment to another project than the one named is not this exemption's.
        (_, kind) if kind.unassigns() => !elsewhere(e.project),
        _ => true,
    }
}

/// The named cells of one row: field → value.
type Cells = HashMap<&'static str, String>;

/// The exemptions of one line: one per kind of id its key reads as.
fn parse(line: u64, cells: &Cells) -> Result<Vec<(ObjectId, Exemption)>, String> {
    let get = |f: Field| {
        cells
            .get(f.name())
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    };
    let key_text = get(Field::Key).ok_or("the key is missing")?;
    let kind = get(Field::Kind).and_then(Kind::parse);
    let id = |f: Field| -> Result<Option<ObjectId>, String> {
        get(f)
            .map(|v| {
                ObjectId::parse(v)
                    .ok_or_else(|| format!("{} id {v:?} is not a 24-hex-digit ObjectId", f.name()))
            })
            .transpose()
    };
    // Checked for what it is, but it never narrows: the key belongs to its organization.
    id(Field::Org)?;
    let exemption = Exemption {
        project: id(Field::Project)?,
        secret: id(Field::Secret)?,
        model_rest: None,
        line,
    };
    let client = || parse_client_id(key_text).map(|k| (k, exemption));
    let object = || ObjectId::parse(key_text).map(|k| (k, exemption));
    let model = || {
        parse_model_key(key_text).map(|(k, rest)| {
            (
                k,
                Exemption {
                    model_rest: Some(rest),
                    ..exemption
                },
            )
        })
    };
    let keys: Vec<(ObjectId, Exemption)> = match kind {
        Some(k) if k.key_is_client_id() => client().into_iter().collect(),
        Some(Kind::AiModelApiKey) => model().into_iter().collect(),
        Some(_) => object().into_iter().collect(),
        // Without a kind, only an AI model key id of the documented shape is taken as one: a
        // mistyped id must not be read as an exemption of some odd-looking AI key.
        None if documented_model_shape(key_text) => [client(), object(), model()]
            .into_iter()
            .flatten()
            .collect(),
        None => [client(), object()].into_iter().flatten().collect(),
    };
    if keys.is_empty() {
        return Err(format!(
            "key {key_text:?} is not a 24-hex-digit ObjectId, a service account's client id or an AI model API key's id (24 letters and digits; an AI model key id of another shape needs a kind column saying ai-model-api-key)"
        ));
    }
    Ok(keys)
}

/// The columns an exemption may carry besides the input's: until when, whose, why.
const UNTIL: &str = "until";
const OWNER: &str = "owner";
const REASON: &str = "reason";

/// The column (or JSON field) of each field, by the input's default names.
fn field_of(name: &str) -> Option<&'static str> {
    if let Some(extra) = [UNTIL, OWNER, REASON]
        .into_iter()
        .find(|c| name.trim().eq_ignore_ascii_case(c))
    {
        return Some(extra);
    }
    let map = ColumnMap::default();
    Field::ALL
        .into_iter()
        .find(|f| map.find(*f, std::iter::once(name)).is_some())
        .map(Field::name)
}

type Rows = Vec<(u64, Cells)>;

fn csv_rows(text: &str) -> Result<Rows, (u64, String)> {
    let header = text.lines().next().unwrap_or_default();
    let delimiter = [b'\t', b';', b',']
        .into_iter()
        .max_by_key(|d| header.bytes().filter(|b| b == d).count());
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter.unwrap_or(b','))
        .flexible(true)
        .from_reader(text.as_bytes());
    let names: Vec<Option<&'static str>> = reader
        .headers()
        .map_err(|e| (1, e.to_string()))?
        .iter()
        .map(field_of)
        .collect();
    if !names.contains(&Some("key")) {
        return Err((
            1,
            format!(
                "no key column in the header (looked for {})",
                ColumnMap::default().candidates(Field::Key).join(", ")
            ),
        ));
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            (line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cells = names
            .iter()
            .zip(record.iter())
            .filter_map(|(name, value)| name.map(|n| (n, value.to_string())))
            .collect();
        out.push((line, cells));
    }
    Ok(out)
}

fn object_cells(value: &serde_json::Value) -> Result<Cells, String> {
    let object = value.as_object().ok_or("not a JSON object")?;
    Ok(object
        .iter()
        .filter_map(|(name, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => return None,
                other => other.to_string(),
            };
            field_of(name).map(|f| (f, text))
        })
        .collect())
}

fn json_lines(text: &str) -> Result<Rows, (u64, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let number = n as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| (number, format!("not JSON: {e}")))?;
        out.push((number, object_cells(&value).map_err(|r| (number, r))?));
    }
    Ok(out)
}

fn json_array(text: &str) -> Result<Rows, (u64, String)> {
    let values: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| (e.line() as u64, format!("not JSON: {e}")))?;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            // A JSON array's rows are numbered by position, as the input's are.
            let n = i as u64 + 1;
            object_cells(v).map(|c| (n, c)).map_err(|r| (n, r))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(kind: Kind, scope: u8, key: u8, secret: Option<u8>) -> Target {
        Target {
            kind,
            scope: ObjectId::from_bytes([scope; 12]),
            key: ObjectId::from_bytes([key; 12]),
            secret: secret.map(|s| ObjectId::from_bytes([s; 12])),
        }
    }

    fn load(text: &str) -> Exemptions {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exempt.csv");
        std::fs::write(&path, text).unwrap();
        Exemptions::load(&path).unwrap()
    }

    #[test]
    fn an_exemption_protects_the_credential_wherever_a_row_would_destroy_it() {
        let one = "01".repeat(12);
        let key = "0a".repeat(12);
        let sa = format!("mdb_sa_id_{}", "0b".repeat(12));
        let secret = "0c".repeat(12);
        let e = load(&format!(
            "key,project,secret\n{key},{one},\n{sa},,{secret}\n"
        ));
        assert_eq!(e.count, 2);
        // The key in project 1, and the key itself; not its assignment in project 2.
        assert_eq!(
            e.covering(&target(Kind::ProjectApiKey, 1, 10, None)),
            Some(2)
        );
        assert_eq!(e.covering(&target(Kind::OrgApiKey, 9, 10, None)), Some(2));
        assert_eq!(e.covering(&target(Kind::ProjectApiKey, 2, 10, None)), None);
        // The secret, and the account that holds it; not the account's other secrets.
        assert!(
            e.covering(&target(Kind::ServiceAccount, 9, 11, None))
                .is_some()
        );
        assert!(
            e.covering(&target(Kind::ServiceAccountSecret, 9, 11, Some(12)))
                .is_some()
        );
        assert!(
            e.covering(&target(Kind::ServiceAccountSecret, 9, 11, Some(13)))
                .is_none()
        );
        // The same secret through any project: it is the same credential.
        assert!(
            e.covering(&target(Kind::ProjectServiceAccountSecret, 7, 11, Some(12)))
                .is_some()
        );
    }

    #[test]
    fn an_organization_never_narrows_and_a_project_narrows_only_assignments() {
        let org = "09".repeat(12);
        let one = "01".repeat(12);
        let key = "0a".repeat(12);
        let sa = format!("mdb_sa_id_{}", "0b".repeat(12));
        let e = load(&format!("key,org,project\n{key},{org},\n{sa},,{one}\n"));
        // The key's every assignment, whatever project.
        assert_eq!(
            e.covering(&target(Kind::ProjectApiKey, 1, 10, None)),
            Some(2)
        );
        assert_eq!(
            e.covering(&target(Kind::ProjectApiKey, 2, 10, None)),
            Some(2)
        );
        assert_eq!(e.covering(&target(Kind::OrgApiKey, 3, 10, None)), Some(2));
        // The account named with project 1: its secrets by any path, its assignment to project 1;
        // not its assignment to project 2.
        for t in [
            target(Kind::ProjectServiceAccountSecret, 2, 11, Some(5)),
            target(Kind::ServiceAccountSecret, 9, 11, Some(5)),
            target(Kind::ServiceAccount, 9, 11, None),
            target(Kind::ProjectServiceAccount, 1, 11, None),
        ] {
            assert_eq!(e.covering(&t), Some(3), "{t:?}");
        }
        assert_eq!(
            e.covering(&target(Kind::ProjectServiceAccount, 2, 11, None)),
            None
        );
    }

    #[test]
    fn every_kind_of_id_is_taken_and_an_ai_model_key_is_matched_whole() {
        let model = "a86r5kwrfsk5r5ku5tgvhmpj";
        let e = load(&format!(
            "key,kind\n{model},\n{},global-api-key\n",
            "0d".repeat(12)
        ));
        let row = |id: &str| Target::parse("ai-model-api-key", &"01".repeat(12), id, "").unwrap();
        assert_eq!(e.covering(&row(model)), Some(2));
        assert_eq!(e.covering(&row("a86r5kwrfsk5r5ku5tgvhmpk")), None);
        assert_eq!(e.covering(&row("A86R5KWRFSK5R5KU5TGVHMPJ")), None);
        let mut global = target(Kind::GlobalApiKey, 0, 13, None);
        global.scope = crate::vocab::NO_SCOPE;
        assert_eq!(e.covering(&global), Some(3));
    }

    #[test]
    fn an_exemption_past_until_is_named_and_an_unreadable_until_keeps_protecting() {
        let k = |n: u8| ObjectId::from_bytes([n; 12]);
        let e = load(&format!(
            "key,until,owner,reason\n{},2026-11-30,alice,break-glass\n{},soon,bob,\n{},2027-01-01,,\n",
            k(1),
            k(2),
            k(3)
        ));
        let dec1 = 1_796_083_200; // 2026-12-01T00:00:00Z
        let expired = e.expired(dec1);
        assert_eq!(
            expired
                .iter()
                .map(|x| (x.dated.line, x.readable))
                .collect::<Vec<_>>(),
            [(2, true), (3, false)]
        );
        assert!(expired[0].dated.describe("x.csv").contains("owner alice"));
        // The last second of the until day still protects.
        assert!(e.expired(dec1 - 1).iter().all(|x| !x.readable));
        let mut revoking = e.clone();
        assert_eq!(revoking.drop_expired(dec1), 1);
        let t = |n: u8| target(Kind::ProjectApiKey, 5, n, None);
        assert!(revoking.covering(&t(1)).is_none());
        assert!(
            revoking.covering(&t(2)).is_some(),
            "an unreadable until protects"
        );
        assert!(revoking.covering(&t(3)).is_some());
    }

    #[test]
    fn a_bad_exemption_names_its_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exempt.jsonl");
        std::fs::write(
            &path,
            format!(
                "{{\"key\":\"{}\"}}\n{{\"keyId\":\"nope\"}}\n",
                "0a".repeat(12)
            ),
        )
        .unwrap();
        let err = Exemptions::load(&path).unwrap_err().to_string();
        assert!(
            err.ends_with("exempt.jsonl:2: key \"nope\" is not a 24-hex-digit ObjectId, a service account's client id or an AI model API key's id (24 letters and digits; an AI model key id of another shape needs a kind column saying ai-model-api-key)"),
            "{err}"
        );
        std::fs::write(&path, "name,project\nx,y\n").unwrap();
        let err = Exemptions::load(&path).unwrap_err().to_string();
        assert!(err.contains(":1: no key column in the header"), "{err}");
    }
}
