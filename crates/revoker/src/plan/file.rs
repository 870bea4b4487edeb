//! A plan written to a file (`revoker plan --write PLAN`) for a change board to review and for
//! `revoker run --plan-file PLAN` to apply as reviewed: every row's fate by its line, every list
//! read and when, the settings that made it, the server, the acting credential's public identity
//! and the input's SHA-256. Written owner-only and never over an existing file; signed beside it
//! (`PLAN.minisig`) when a signing key is given.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{Fate, Plan};
use crate::report::audit::ListedRecord;
use crate::report::signature::{self, SigningKey};

/// What the file's `format` says: a reader refuses any other.
pub const FORMAT: &str = "revoker-plan/1";

/// Plan files read at most (a plan of millions of rows is a few hundred MB at most).
const MAX_BYTES: u64 = 1 << 30;

/// One row of the plan.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanRow {
    /// 1-based line of the input.
    pub line: u64,
    /// The row as revoker names it (`project-api-key 5e…/6a…`), for the reviewer.
    pub row: String,
    /// `revoke` (will be revoked), `gone`, `cannot`, `unknown`, `exempt`, `own`, …
    pub fate: String,
}

/// The settings that made the plan.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanSettings {
    pub job: Option<String>,
    pub allowed_kinds: Vec<String>,
    pub exempt: Option<String>,
    pub exempt_sha256: Option<String>,
    pub protect: Vec<String>,
    pub allow_own_credential: bool,
    pub max_revocations: Option<u64>,
}

/// A plan file.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanFile {
    pub format: String,
    /// When the plan was made (UTC, RFC 3339).
    pub made_at: String,
    pub base_url: String,
    pub api: String,
    /// The acting credential's public identity (several joined by `, `).
    pub credential: String,
    pub input: String,
    pub input_sha256: String,
    pub settings: PlanSettings,
    /// Rows per fate.
    pub counts: BTreeMap<String, u64>,
    /// Credentials a run applying it revokes at most: the rows whose fate is `revoke`.
    pub will_revoke: u64,
    pub lists: Vec<ListedRecord>,
    pub rows: Vec<PlanRow>,
}

/// Why a plan file cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("{path}: {why}")]
    Io { path: String, why: String },
    #[error("{path}: not a revoker plan: {why}")]
    Format { path: String, why: String },
    #[error(transparent)]
    Signature(#[from] signature::SignatureError),
}

impl crate::vocab::ExitCode for PlanFileError {
    fn exit_code(&self) -> i32 {
        crate::vocab::exit::USAGE
    }
}

impl PlanFile {
    /// The plan's rows and lists in the file's terms; the rest is the caller's.
    pub fn rows_of(plan: &Plan) -> (Vec<PlanRow>, BTreeMap<String, u64>, u64) {
        let mut rows: Vec<PlanRow> = plan
            .lines
            .iter()
            .map(|(line, row, fate)| PlanRow {
                line: *line,
                row: row.clone(),
                fate: fate.as_str().to_string(),
            })
            .collect();
        rows.sort_by_key(|r| r.line);
        let counts = plan
            .fates
            .iter()
            .map(|(f, n)| (f.as_str().to_string(), *n))
            .collect();
        (rows, counts, plan.count(Fate::Revoke))
    }

    /// Writes the plan to `path`, never over anything there, owner-only; signs it beside
    /// (`PATH.minisig`) with `key`. Answers the file's SHA-256.
    pub fn write(&self, path: &Path, key: Option<&SigningKey>) -> Result<String, PlanFileError> {
        let io = |e: std::io::Error| PlanFileError::Io {
            path: path.display().to_string(),
            why: if e.kind() == std::io::ErrorKind::AlreadyExists {
                "exists already: a plan file is never replaced (a reviewed plan must stay as reviewed); choose another path".to_string()
            } else {
                e.to_string()
            },
        };
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| PlanFileError::Io {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        bytes.push(b'\n');
        let mut file = crate::fsx::create_new(path).map_err(io)?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        if let Some(key) = key {
            signature::sign_file(path, &bytes, key)?;
        }
        Ok(sha256(&bytes))
    }

    /// Reads the plan at `path`; answers it, its SHA-256 and its bytes (for a signature check).
    pub fn read(path: &Path) -> Result<(PlanFile, String, Vec<u8>), PlanFileError> {
        let bytes =
            crate::fsx::read_bounded(path, crate::fsx::Links::Follow, MAX_BYTES).map_err(|e| {
                PlanFileError::Io {
                    path: path.display().to_string(),
                    why: e.to_string(),
                }
            })?;
        let bad = |why: String| PlanFileError::Format {
            path: path.display().to_string(),
            why,
        };
        let plan: PlanFile = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if plan.format != FORMAT {
            return Err(bad(format!(
                "format {:?}, this revoker reads {FORMAT:?}",
                plan.format
            )));
        }
        if let Some(row) = plan.rows.iter().find(|r| Fate::parse(&r.fate).is_none()) {
            return Err(bad(format!(
                "line {}: unknown fate {:?}",
                row.line, row.fate
            )));
        }
        let digest = sha256(&bytes);
        Ok((plan, digest, bytes))
    }

    /// Whether its total agrees with its rows. The cap is checked before sending against the
    /// rows to revoke: a total that is not theirs (an edited file) would let it pass what the rows
    /// exceed. Checked after the signature, which names an edit as such.
    pub fn consistent(&self) -> Result<(), String> {
        let revoke = self
            .fates()
            .values()
            .filter(|f| **f == Fate::Revoke)
            .count() as u64;
        if revoke == self.will_revoke {
            return Ok(());
        }
        Err(format!(
            "its will_revoke says {} but {revoke} of its rows are to be revoked (fate \"revoke\"): the file contradicts itself",
            self.will_revoke
        ))
    }

    /// Each row's fate by its line.
    pub fn fates(&self) -> BTreeMap<u64, Fate> {
        self.rows
            .iter()
            .filter_map(|r| Fate::parse(&r.fate).map(|f| (r.line, f)))
            .collect()
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}
