//! The selection as an input file `run` reads: CSV (`project,org,key,secret,kind,why`) or JSON
//! Lines (the same fields), written owner-only and atomically, so that a half-written selection is
//! never an input.

use std::path::Path;

use super::Selected;
use crate::input::{Format, Scope};

/// The file's bytes.
pub fn render(rows: &[Selected], format: Format) -> Result<Vec<u8>, String> {
    let fields = |s: &Selected| {
        let t = &s.target;
        let scope = t.scope_text();
        let (project, org) = match t.kind.scope() {
            Scope::Org => (String::new(), scope),
            _ => (scope, String::new()),
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
    const HEADER: [&str; 6] = ["project", "org", "key", "secret", "kind", "why"];
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
    let bytes = render(rows, format)?;
    crate::report::files::write_atomic(path, &bytes, 0o600)
        .map_err(|e| format!("{}: cannot write the selection: {e}", path.display()))
}
