//! The selection as an input file `run` reads: CSV (`project,org,key,secret,kind,why`) or JSON
//! Lines (the same fields), written owner-only and atomically, so that a half-written selection is
//! never an input. Only an earlier selection that no report has read is ever replaced: never a
//! report, its side files, an input or any other file (checked before a request is sent).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::Selected;
use crate::input::{Format, ObjectId, Scope};
use crate::report::{ReportError, files};

/// The columns of a selection, in order.
const HEADER: [&str; 6] = ["project", "org", "key", "secret", "kind", "why"];

/// The suffixes of a report's side files, as [`files::protected`] names them.
const SIDE_FILES: [&str; 8] = [
    ".sent",
    crate::report::audit::SUFFIX,
    ".input",
    ".lock",
    ".orgs.json",
    ".selected.csv",
    crate::report::signature::MANIFEST,
    crate::report::signature::SIGNATURE,
];

/// Refuses to write a selection at `path` over anything but an earlier selection no report has
/// read: a report's side file (`r.csv.audit.jsonl` beside `r.csv`), a report, an input, or a file
/// revoker did not write as a selection. The same refusal as `report --failures` and `--html`.
pub fn refuse_to_replace(path: &Path) -> Result<(), ReportError> {
    let refuse = |what: String| ReportError::WouldOverwrite {
        path: path.to_path_buf(),
        what,
    };
    let name = path.as_os_str().to_string_lossy().into_owned();
    for suffix in SIDE_FILES {
        if let Some(base) = name.strip_suffix(suffix).filter(|b| !b.is_empty())
            && std::fs::metadata(base).is_ok()
        {
            files::refuse_protected(path, &files::protected(Path::new(base), None))?;
        }
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if !meta.is_file() {
        return Err(refuse("something that is not a regular file".into()));
    }
    if meta.len() > 0 && !is_selection(path) {
        return Err(refuse(
            "a file that is not a selection revoker wrote (a report, an input?)".into(),
        ));
    }
    let report: Option<PathBuf> = crate::report::default_report_path(path);
    if let Some(report) = report.filter(|r| std::fs::metadata(r).is_ok_and(|m| m.len() > 0)) {
        return Err(refuse(format!(
            "the input of the report {}",
            report.display()
        )));
    }
    Ok(())
}

/// Whether `path` holds a selection as [`render`] writes it: its first line the CSV
/// header or a JSON object of exactly the selection's fields.
fn is_selection(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut first = String::new();
    if BufReader::new(file.take(64 * 1024))
        .read_line(&mut first)
        .is_err()
    {
        return false;
    }
    let first = first.trim_end_matches(['\n', '\r']);
    if first == HEADER.join(",") {
        return true;
    }
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(first).is_ok_and(|o| {
        o.len() == HEADER.len()
            && HEADER
                .iter()
                .all(|k| o.get(*k).is_some_and(|v| v.is_string()))
    })
}

/// The file's bytes.
pub fn render(rows: &[Selected], format: Format) -> Result<Vec<u8>, String> {
    render_with_orgs(rows, &HashMap::new(), format)
}

/// The file's bytes, each project row's `org` cell from `orgs` (project to organization, as read).
pub fn render_with_orgs(
    rows: &[Selected],
    orgs: &HashMap<ObjectId, ObjectId>,
    format: Format,
) -> Result<Vec<u8>, String> {
    let fields = |s: &Selected| {
        let t = &s.target;
        let scope = t.scope_text();
        let (project, org) = match t.kind.scope() {
            Scope::Org => (String::new(), scope),
            _ => (
                scope,
                orgs.get(&t.scope)
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
        };
        [
            project,
            org,
            t.key_text(),
            t.secret_text(),
            t.kind.to_string(),
            s.why.clone(),
        ]
    };
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(HEADER).map_err(|e| e.to_string())?;
            for s in rows {
                w.write_record(fields(s)).map_err(|e| e.to_string())?;
            }
            w.into_inner().map_err(|e| e.to_string())
        }
        Format::Json | Format::Jsonl => {
            let mut out = Vec::new();
            for s in rows {
                let object: serde_json::Map<String, serde_json::Value> = HEADER
                    .iter()
                    .zip(fields(s))
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
                    .collect();
                out.extend(serde_json::to_vec(&object).map_err(|e| e.to_string())?);
                out.push(b'\n');
            }
            Ok(out)
        }
    }
}

/// Writes the selection to `path`.
pub fn write(path: &Path, rows: &[Selected], format: Format) -> Result<(), String> {
    write_with_orgs(path, rows, &HashMap::new(), format)
}

/// Writes the selection to `path`, each project row with its organization from `orgs`.
pub fn write_with_orgs(
    path: &Path,
    rows: &[Selected],
    orgs: &HashMap<ObjectId, ObjectId>,
    format: Format,
) -> Result<(), String> {
    let bytes = render_with_orgs(rows, orgs, format)?;
    crate::fsx::write_atomic(path, &bytes, 0o600)
        .map_err(|e| format!("{}: cannot write the selection: {e}", path.display()))
}
