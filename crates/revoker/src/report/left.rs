//! Rows no run ever attempted. A stopped run writes only the rows it attempted, so the report alone
//! cannot show what is left: the audit record can. For every input the report's runs read (by its
//! SHA-256), the latest run of that input says, in its end record, how many of its rows it never
//! attempted; a run with no end record (killed) leaves that number unknown. Either way the report
//! is not finished. Reading the input again (or its kept copy) names the rows themselves.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::Path;

use super::audit::AuditRecord;
use super::{Outcome, Record};
use crate::input::{Exemptions, Identity, InputOptions, Source};

/// What is left of one input.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InputLeft {
    /// The input as its run's audit record names it.
    pub input: String,
    pub sha256: String,
    /// The latest run that read it.
    pub run_id: String,
    /// Rows that run never attempted; `None` when it has no end record (it was killed).
    pub not_attempted: Option<u64>,
    /// Where a copy of the input was kept, when it could not be read again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_copy: Option<String>,
    #[serde(skip)]
    pub read_as: Option<InputOptions>,
    /// The exemption list the run read, and its SHA-256: its rows are never handed over.
    #[serde(skip)]
    pub exempt: Option<(String, String)>,
}

impl InputLeft {
    /// Whether this input may still have rows to send.
    pub fn is_open(&self) -> bool {
        self.not_attempted != Some(0)
    }
}

/// Per input the runs read, what the latest run of it left, oldest input first.
pub fn per_input(runs: &[(&AuditRecord, Option<&AuditRecord>)]) -> Vec<InputLeft> {
    let mut out: Vec<InputLeft> = Vec::new();
    for (start, end) in runs.iter().filter(|(s, _)| s.command == "run") {
        let Some(sha) = start.input_sha256.clone() else {
            continue;
        };
        let left = InputLeft {
            input: start.input.clone().unwrap_or_default(),
            sha256: sha.clone(),
            run_id: start.run_id.clone(),
            not_attempted: end.and_then(|e| e.not_attempted),
            input_copy: end.and_then(|e| e.input_copy.clone()),
            read_as: start.read_as.clone().map(Into::into),
            exempt: start.exempt.clone().zip(start.exempt_sha256.clone()),
        };
        match out.iter_mut().find(|l| l.sha256 == sha) {
            Some(existing) => *existing = left,
            None => out.push(left),
        }
    }
    out
}

/// The rows of `input` the report has never seen, read from the input again (or its kept copy),
/// as `skipped` rows ("not attempted") for a hand-over file. `Err` names the input and why it
/// cannot be read as it was.
pub fn unreported_rows(left: &InputLeft, report_rows: &[Record]) -> Result<Vec<Record>, String> {
    let path = left
        .input_copy
        .clone()
        .unwrap_or_else(|| left.input.clone());
    if path.is_empty() {
        return Err(format!(
            "run {}: its audit record names no input",
            left.run_id
        ));
    }
    // The kept copy is a side file: a FIFO or a link planted there must not hold the command.
    if left.input_copy.is_some() {
        crate::fsx::open_read(Path::new(&path), crate::fsx::Links::Refuse)
            .map_err(|e| format!("{path}: {e}"))?;
    }
    let source = Source::open(Path::new(&path)).map_err(|e| format!("{path}: {e}"))?;
    if source.sha256() != left.sha256 {
        return Err(format!(
            "{path} has changed since run {} read it (its SHA-256 is no longer {})",
            left.run_id, left.sha256
        ));
    }
    let opts = left.read_as.clone().ok_or_else(|| {
        format!(
            "run {}: the audit record does not say how {path} was read",
            left.run_id
        )
    })?;
    let exempt = exemptions_of(left)?;
    let mut reported: HashSet<Identity> = HashSet::new();
    let mut invalid_lines: HashSet<u64> = HashSet::new();
    for r in report_rows {
        match r.target() {
            Some(t) => {
                reported.insert(t.identity());
            }
            None => {
                invalid_lines.insert(r.line);
            }
        }
    }
    let mut out = Vec::new();
    let mut seen: HashSet<Identity> = HashSet::new();
    source
        .scan(&opts, &mut |entry| {
            let exempted = entry
                .target
                .as_ref()
                .is_ok_and(|t| exempt.covering(t).is_some());
            if exempted {
                return ControlFlow::Continue(());
            }
            if let Some(record) = unreported(left, &entry, &reported, &invalid_lines, &mut seen) {
                out.push(record);
            }
            ControlFlow::Continue(())
        })
        .map_err(|e| format!("{path}: {e}"))?;
    Ok(out)
}

/// The exemption list the run read, as it read it: a run stopped before it wrote its exempt rows
/// leaves them to be told apart here, so a list that changed or is gone hands nothing over.
fn exemptions_of(left: &InputLeft) -> Result<Exemptions, String> {
    let Some((path, sha)) = &left.exempt else {
        return Ok(Exemptions::default());
    };
    let list = Exemptions::load(Path::new(path)).map_err(|e| {
        format!("the exemption list run {} read cannot be read now, so its exempt rows cannot be told apart: {e}", left.run_id)
    })?;
    if &list.sha256 != sha {
        return Err(format!(
            "{path} has changed since run {} read it (its SHA-256 is no longer {sha}), so its exempt rows cannot be told apart",
            left.run_id
        ));
    }
    Ok(list)
}

/// The row of `entry` for the hand-over, unless the report has it (or it is a later copy).
fn unreported(
    left: &InputLeft,
    entry: &crate::input::Entry,
    reported: &HashSet<Identity>,
    invalid_lines: &HashSet<u64>,
    seen: &mut HashSet<Identity>,
) -> Option<Record> {
    let record = Record::new(
        &left.run_id,
        entry.line,
        Outcome::Skipped,
        "not attempted: the run stopped before this row".into(),
    );
    match &entry.target {
        Ok(t) => {
            let id = t.identity();
            (!reported.contains(&id) && seen.insert(id)).then(|| record.naming(t))
        }
        Err(why) => (!invalid_lines.contains(&entry.line)).then(|| Record {
            outcome: Outcome::Invalid,
            message: why.clone(),
            ..record.of_raw(entry.raw.clone())
        }),
    }
}
