//! What the simulator holds at start: read from a seed file (CSV with a header, a JSON array or JSON
//! Lines, columns `project`/`groupId`, `org`/`orgId`, `key`/`id`/`clientId`, `secret`, `kind`),
//! generated, or written out as a CSV that `revoker run` reads as its input.
//!
//! Optional columns give what the lists show besides ids: `created`, `expires` and `last_used`
//! (RFC 3339), `name` (or `desc`), `access_list = none` (an API key without entries), `caller =
//! true` (the simulator's own API key), and on a project row `org`, the project's organization;
//! `public_key`, `private_key` and `secret_value` give the values behind a credential
//! ([`crate::values`]).

use std::path::Path;

use crate::model::{Kind, Label, Meta, Oid, Seed};

const PROJECT: &[&str] = &["project", "projectid", "project_id", "groupid", "group_id"];
const ORG: &[&str] = &["org", "orgid", "org_id", "organization", "organizationid"];
const KEY: &[&str] = &[
    "key",
    "keyid",
    "key_id",
    "id",
    "clientid",
    "client_id",
    "apikeyid",
];
const SECRET: &[&str] = &["secret", "secretid", "secret_id"];
const KIND: &[&str] = &["kind", "type"];

/// The column's value in a row, by any of its names.
fn field<'a>(row: &'a [(String, String)], names: &[&str]) -> &'a str {
    row.iter()
        .find(|(name, _)| names.contains(&name.to_ascii_lowercase().as_str()))
        .map_or("", |(_, value)| value.as_str())
}

fn seed_of(row: &[(String, String)]) -> Result<Seed, String> {
    let kind = field(row, KIND);
    let org_wide = Kind::parse(kind).is_some_and(Kind::is_org_wide);
    let scope = if org_wide {
        field(row, ORG)
    } else {
        field(row, PROJECT)
    };
    let mut seed = Seed::parse(kind, scope, field(row, KEY), field(row, SECRET))?;
    seed.meta = meta_of(row, org_wide)?;
    Ok(seed)
}

/// The optional columns of a row.
fn meta_of(row: &[(String, String)], org_wide: bool) -> Result<Meta, String> {
    let time = |names: &[&str]| -> Result<Option<i64>, String> {
        match field(row, names) {
            "" => Ok(None),
            text => text
                .parse::<jiff::Timestamp>()
                .map(|t| Some(t.as_second()))
                .map_err(|e| format!("{text:?} is not an RFC 3339 time: {e}")),
        }
    };
    let org = match (org_wide, field(row, ORG)) {
        (false, text) if !text.is_empty() => {
            Some(Oid::parse(text).ok_or_else(|| format!("{text:?} is not an organization id"))?)
        }
        _ => None,
    };
    let name = field(row, &["name", "desc", "description"]);
    Ok(Meta {
        created: time(&["created", "createdat", "created_at"])?,
        expires: time(&["expires", "expiresat", "expires_at"])?,
        last_used: time(&["last_used", "lastused", "lastusedat", "last_used_at"])?,
        name: (!name.is_empty()).then(|| Label::new(name)),
        org,
        no_access_list: field(row, &["access_list", "accesslist"]).eq_ignore_ascii_case("none"),
        caller: field(row, &["caller"]).eq_ignore_ascii_case("true"),
        iso_created: field(row, &["created_as"]).eq_ignore_ascii_case("iso8601"),
        public_key: match field(row, &["public_key", "publickey"]) {
            "" => None,
            text => Some(
                crate::values::PublicKey::new(text)
                    .ok_or_else(|| format!("public_key {text:?} is not 8 characters"))?,
            ),
        },
        secret: match value(row, &["private_key", "privatekey"])? {
            Some(private) => Some(private),
            None => value(row, &["secret_value", "secretvalue"])?,
        },
    })
}

/// A secret column's value, when given (never quoted back: it is a secret).
fn value(row: &[(String, String)], names: &[&str]) -> Result<Option<crate::values::Value>, String> {
    match field(row, names) {
        "" => Ok(None),
        text => crate::values::Value::new(text)
            .map(Some)
            .ok_or_else(|| format!("{} holds more than 64 bytes", names[0])),
    }
}

/// Every seed of a file; a row that is not a seed is an error naming its line.
pub fn read(path: &Path) -> Result<Vec<Seed>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = text.trim_start_matches('\u{feff}');
    let rows = match text.trim_start().chars().next() {
        Some('[') | Some('{') => json_rows(text),
        _ => csv_rows(text),
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    rows.iter()
        .map(|(line, row)| seed_of(row).map_err(|e| format!("{}:{line}: {e}", path.display())))
        .collect()
}

type Rows = Vec<(u64, Vec<(String, String)>)>;

fn csv_rows(text: &str) -> Result<Rows, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        let cells = header
            .iter()
            .cloned()
            .zip(record.iter().map(|c| c.trim().to_string()))
            .collect();
        rows.push((line, cells));
    }
    Ok(rows)
}

fn json_rows(text: &str) -> Result<Rows, String> {
    let objects: Vec<(u64, serde_json::Value)> = if text.trim_start().starts_with('[') {
        let array: Vec<serde_json::Value> =
            serde_json::from_str(text).map_err(|e| e.to_string())?;
        array
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as u64 + 1, v))
            .collect()
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map(|v| (i as u64 + 1, v))
                    .map_err(|e| format!("line {}: {e}", i + 1))
            })
            .collect::<Result<_, _>>()?
    };
    Ok(objects
        .into_iter()
        .map(|(line, v)| {
            let cells = v
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            (line, cells)
        })
        .collect())
}

/// `n` keys over `projects` projects, alternating project and agent API keys; the same every time.
pub fn generate(n: u64, projects: u64) -> Vec<Seed> {
    let projects = projects.max(1);
    (0..n)
        .map(|i| {
            let kind = if i % 2 == 0 {
                Kind::ProjectApiKey
            } else {
                Kind::AgentApiKey
            };
            Seed::new(
                kind,
                id(0x5e00_0000, i % projects),
                id(0x6a00_0000, i),
                None,
            )
        })
        .collect()
}

/// An id from a 4-byte prefix and a number.
pub fn id(prefix: u32, n: u64) -> Oid {
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&prefix.to_be_bytes());
    bytes[4..].copy_from_slice(&n.to_be_bytes());
    Oid::from_bytes(bytes)
}

/// Writes seeds as a CSV with the columns `project`, `org`, `key`, `secret`, `kind`.
pub fn write(path: &Path, seeds: &[Seed]) -> std::io::Result<()> {
    let mut csv = csv::Writer::from_path(path)?;
    csv.write_record(["project", "org", "key", "secret", "kind"])?;
    for s in seeds {
        let scope = s.scope_text();
        let (project, org) = if s.kind.is_org_wide() {
            ("", scope.as_str())
        } else {
            (scope.as_str(), "")
        };
        csv.write_record([project, org, &s.key_text(), &s.secret_text(), s.kind.name()])?;
    }
    csv.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_seeds_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seeds.csv");
        let mut seeds = generate(4, 2);
        seeds.push(Seed::new(
            Kind::ServiceAccountSecret,
            id(1, 1),
            id(2, 2),
            Some(id(3, 3)),
        ));
        write(&path, &seeds).unwrap();
        assert_eq!(read(&path).unwrap(), seeds);
    }

    #[test]
    fn a_bad_row_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seeds.csv");
        std::fs::write(
            &path,
            "project,key,kind\n5e0000000000000000000001,nope,project-api-key\n",
        )
        .unwrap();
        let err = read(&path).unwrap_err();
        assert!(
            err.ends_with("seeds.csv:2: \"nope\" is not a project-api-key id"),
            "{err}"
        );
    }
}
