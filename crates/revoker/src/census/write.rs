//! The census as a file: CSV, or JSON Lines for `.jsonl`/`.ndjson`/`.json`, in an input's columns
//! (`project, org, key, secret, kind`) and the census's own after them. Written owner-only into a
//! file that did not exist: a census never replaces anything.

use std::io::Write;
use std::path::Path;

use super::Row;
use crate::input::Format;

/// The columns, in order.
pub const HEADER: [&str; 12] = [
    "project",
    "org",
    "key",
    "secret",
    "kind",
    "name",
    "created_at",
    "expires_at",
    "last_used_at",
    "system_managed",
    "revocable",
    "note",
];

fn cells(r: &Row) -> [&str; 12] {
    [
        &r.project,
        &r.org,
        &r.key,
        &r.secret,
        &r.kind,
        &r.name,
        &r.created_at,
        &r.expires_at,
        &r.last_used_at,
        &r.system_managed,
        &r.revocable,
        &r.note,
    ]
}

/// The format a path's extension asks for.
pub fn format_of(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("jsonl" | "ndjson" | "json") => Format::Jsonl,
        _ => Format::Csv,
    }
}

/// The rows' bytes.
pub fn render(rows: &[Row], format: Format) -> Result<Vec<u8>, String> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(HEADER).map_err(|e| e.to_string())?;
            for r in rows {
                w.write_record(cells(r)).map_err(|e| e.to_string())?;
            }
            w.into_inner().map_err(|e| e.to_string())
        }
        Format::Json | Format::Jsonl => {
            let mut out = Vec::new();
            for r in rows {
                out.extend(serde_json::to_vec(r).map_err(|e| e.to_string())?);
                out.push(b'\n');
            }
            Ok(out)
        }
    }
}

/// Creates `path` (owner-only), refusing anything already there; the census is written into it
/// once read.
pub fn create(path: &Path) -> Result<std::fs::File, String> {
    crate::fsx::create_new(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => format!(
            "{}: already exists; a census never replaces a file (choose another name)",
            path.display()
        ),
        _ => format!("{}: cannot create the census: {e}", path.display()),
    })
}

/// Writes the rows into `file`, made by [`create`].
pub fn write(file: &mut std::fs::File, path: &Path, rows: &[Row]) -> Result<(), String> {
    let bytes = render(rows, format_of(path))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: cannot write the census: {e}", path.display()))
}
