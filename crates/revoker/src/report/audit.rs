//! The audit record of each run, kept beside the report in `REPORT.audit.jsonl`: one JSON line when
//! the run starts (who, where, what, against which API and input) and one when it ends (the counts,
//! the exit code, the report's final chain digest). Each line carries the SHA-256 of the line before
//! it, so the audit file is tamper-evident too. Never a secret: a credential appears only as its
//! public key or client id.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{ReportError, chain::GENESIS, sidecar};

/// The audit file's suffix after the report's name.
pub const SUFFIX: &str = ".audit.jsonl";
/// Where `revoker plan` records its plans of a report that exists: read-only commands change no
/// byte of a report's evidence, so a plan made before a resume goes to a file of its own, in the
/// audit file's form.
pub const PLANS_SUFFIX: &str = ".plans.jsonl";

/// One line of the audit file. Start lines fill the "who and what" fields, end lines the results.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuditRecord {
    /// `start` or `end`.
    pub event: String,
    pub run_id: String,
    /// `run` or `verify`.
    pub command: String,
    /// When this line was written (UTC).
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The credential's public identity: `API key …` or `service account mdb_sa_id_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// Where a copy of an input that cannot be read again (standard input, a FIFO) was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_copy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_rows: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_kinds: Option<Vec<String>>,
    /// The exemption list (`--exempt`) and its SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exempt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exempt_sha256: Option<String>,
    /// A policy job's selection: the policy, what it read, what it kept (the rows and why are in
    /// the input, `REPORT.selected.csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<serde_json::Value>,
    /// What a plan listed and found (`event` = `plan`): the state before a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanRecord>,
    /// `run --plan-file`: the reviewed plan this run applied (its path, SHA-256 and signer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_signed_by: Option<String>,
    /// How the input was read, so that `revoker report --failures` can read it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_as: Option<ReadAs>,
    /// The report's chain digest before this run's first row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<BTreeMap<String, u64>>,
    /// Rows the run did not attempt because it stopped (not in the report; a resume sends them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_attempted: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub already_finished: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_written: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// On a policy job's end record: the lists and items its selection could not read, for which
    /// the run is not finished (credentials it should have chosen may be left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_problems: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// The report's chain digest after this run's last row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// SHA-256 of the previous line of the audit file.
    #[serde(default)]
    pub prev: String,
}

/// A plan in the audit record: its counts and every list it read, with what each answered.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanRecord {
    /// Rows per fate: `revoke`, `gone`, `cannot`, `unknown`, `exempt`, `own`, `invalid`, …
    pub counts: BTreeMap<String, u64>,
    pub lists: Vec<ListedRecord>,
}

/// One list a plan read.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ListedRecord {
    /// `GET /groups/…/apiKeys`.
    pub list: String,
    /// When its reading finished (UTC).
    pub at: String,
    /// What it answered: `complete: 2 pages, 731 listed`, or why it proves nothing.
    pub answer: String,
    /// Input rows it decided.
    pub rows: u64,
}

/// How an input was read: enough to read it again the same way.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReadAs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<crate::input::Format>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<u8>,
    #[serde(default)]
    pub columns: crate::input::ColumnMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<crate::input::Kind>,
    #[serde(default)]
    pub kinds: Vec<crate::input::Kind>,
    #[serde(default)]
    pub agent_keys: bool,
}

impl From<&crate::input::InputOptions> for ReadAs {
    fn from(o: &crate::input::InputOptions) -> ReadAs {
        ReadAs {
            format: o.format,
            delimiter: o.delimiter,
            columns: o.columns.clone(),
            kind: o.default_kind,
            kinds: o.allowed_kinds.clone(),
            agent_keys: o.agent_keys,
        }
    }
}

impl From<ReadAs> for crate::input::InputOptions {
    fn from(r: ReadAs) -> crate::input::InputOptions {
        crate::input::InputOptions {
            format: r.format,
            delimiter: r.delimiter,
            columns: r.columns,
            default_kind: r.kind,
            allowed_kinds: r.kinds,
            agent_keys: r.agent_keys,
        }
    }
}

/// The audit file of a report.
pub fn path_for(report: &Path) -> PathBuf {
    sidecar(report, SUFFIX)
}

fn digest(line: &[u8]) -> String {
    format!("{:x}", Sha256::digest(line))
}

/// Appends `record` (its `prev` filled in) and syncs it to disk. Answers the new line's SHA-256:
/// kept elsewhere, it proves the audit file up to this line, and through the line's `chain` the
/// report up to its last row.
pub fn append(report: &Path, record: &mut AuditRecord) -> Result<String, ReportError> {
    append_to(&path_for(report), record)
}

/// Appends `record` to the chained JSON Lines file at `path`, as [`append`] does to an audit file.
pub fn append_to(path: &Path, record: &mut AuditRecord) -> Result<String, ReportError> {
    use std::io::Read as _;
    let path = path.to_path_buf();
    let io = |cause: std::io::Error| ReportError::Io {
        path: path.clone(),
        cause,
    };
    // Read through the file opened without following links, never by its name again.
    let mut file = crate::fsx::open_append(&path, crate::fsx::Links::Refuse).map_err(&io)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(&io)?;
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    let last = body.rsplit(|b| *b == b'\n').next().unwrap_or_default();
    record.prev = if last.is_empty() {
        GENESIS.to_string()
    } else {
        digest(last)
    };
    let mut line = serde_json::to_vec(record).map_err(|e| ReportError::Io {
        path: path.clone(),
        cause: std::io::Error::other(e),
    })?;
    let written = digest(&line);
    line.push(b'\n');
    file.write_all(&line).map_err(&io)?;
    file.sync_data().map_err(&io)?;
    Ok(written)
}

/// The audit file read back.
#[derive(Debug, Default)]
pub struct AuditLog {
    pub records: Vec<AuditRecord>,
    /// Each record's line SHA-256, in order.
    pub digests: Vec<String>,
    /// The first line whose `prev` does not match the line before it, and why.
    pub broken: Option<(u64, String)>,
}

impl AuditLog {
    /// The start and end records of each run, in order of start.
    pub fn runs(&self) -> Vec<(&AuditRecord, Option<&AuditRecord>)> {
        let mut out: Vec<(&AuditRecord, Option<&AuditRecord>)> = Vec::new();
        for r in &self.records {
            match r.event.as_str() {
                "start" => out.push((r, None)),
                "end" => {
                    if let Some(run) = out.iter_mut().rev().find(|(s, _)| s.run_id == r.run_id) {
                        run.1 = Some(r);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The latest start record of a revocation run.
    pub fn last_run_start(&self) -> Option<&AuditRecord> {
        self.records
            .iter()
            .rev()
            .find(|r| r.event == "start" && r.command == "run")
    }
}

/// Reads the audit file of `report`; an absent file is an empty log (a report written before audit
/// records existed). A torn last line (a crash mid-write) is ignored.
pub fn read(report: &Path) -> Result<AuditLog, ReportError> {
    read_at(&path_for(report))
}

/// Reads a chained JSON Lines file in the audit file's form (`REPORT.plans.jsonl` too), as
/// [`read`] does.
pub fn read_at(path: &Path) -> Result<AuditLog, ReportError> {
    let path = path.to_path_buf();
    let file = match crate::fsx::open_read(&path, crate::fsx::Links::Refuse) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AuditLog::default()),
        Err(e) => return Err(ReportError::Io { path, cause: e }),
    };
    let mut log = AuditLog::default();
    let mut prev = GENESIS.to_string();
    let mut lines = BufReader::new(file).split(b'\n').peekable();
    let mut number = 0u64;
    while let Some(line) = lines.next() {
        number += 1;
        let line = line.map_err(ReportError::io(&path))?;
        if line.is_empty() {
            continue;
        }
        let record: AuditRecord = match serde_json::from_slice(&line) {
            Ok(record) => record,
            Err(_) if lines.peek().is_none() => break,
            Err(_) => {
                log.broken
                    .get_or_insert((number, "not an audit record".into()));
                continue;
            }
        };
        if record.prev != prev && log.broken.is_none() {
            log.broken = Some((
                number,
                "does not follow the line before it (an audit line was edited, inserted or deleted)"
                    .into(),
            ));
        }
        prev = digest(&line);
        log.digests.push(prev.clone());
        log.records.push(record);
    }
    Ok(log)
}

impl AuditRecord {
    /// The start line of a `command` (`run`, `verify`): when, which revoker, on which host, by which
    /// OS user, with which credential (its public identity), against which API; the report's chain
    /// so far. The caller adds what is its own.
    pub fn start(
        run_id: &str,
        command: &str,
        credential: String,
        base_url: String,
        api: String,
        chain_before: String,
    ) -> AuditRecord {
        AuditRecord {
            event: "start".into(),
            run_id: run_id.into(),
            command: command.into(),
            at: super::timestamp(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            host: Some(host_name()),
            user: Some(os_user()),
            credential: Some(credential),
            base_url: Some(base_url),
            api: Some(api),
            chain_before: Some(chain_before),
            ..AuditRecord::default()
        }
    }
}

/// This machine's name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// The operating-system user running revoker: its name from `/etc/passwd` by uid, else `$USER`.
pub fn os_user() -> String {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        });
    if let Some(uid) = &uid
        && let Ok(passwd) = std::fs::read_to_string("/etc/passwd")
        && let Some(name) = passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.get(2) == Some(&uid.as_str())).then(|| f[0].to_string())
        })
    {
        return name;
    }
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .or(uid.map(|u| format!("uid {u}")))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_chain_and_an_edit_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.csv");
        for (event, id) in [("start", "a"), ("end", "a"), ("start", "b")] {
            append(
                &report,
                &mut AuditRecord {
                    event: event.into(),
                    run_id: id.into(),
                    command: "run".into(),
                    ..AuditRecord::default()
                },
            )
            .unwrap();
        }
        let log = read(&report).unwrap();
        assert!(log.broken.is_none());
        let runs = log.runs();
        assert_eq!(runs.len(), 2);
        assert!(runs[0].1.is_some() && runs[1].1.is_none());
        let text = std::fs::read_to_string(path_for(&report)).unwrap();
        std::fs::write(path_for(&report), text.replacen("\"a\"", "\"x\"", 1)).unwrap();
        assert_eq!(read(&report).unwrap().broken.map(|b| b.0), Some(2));
    }
}
