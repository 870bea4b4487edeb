//! One run's time in the report, the same for a revocation and a verification: the writer thread
//! opened (a torn last line cut off), the audit start appended, rows written while the work goes,
//! the writer joined, the audit end appended, and — with a signing key — the manifest signed.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use anyhow::Context as _;

use crate::engine::StopReason;
use crate::job::Failure;
use crate::report::Written;
use crate::report::audit::{self, AuditRecord};
use crate::report::{ReportError, ReportSink, ReportWriter, Summary, signature};

/// A run writing the report.
pub struct Session {
    pub report: PathBuf,
    pub run_id: String,
    pub command: &'static str,
    sink: Option<ReportSink>,
    thread: JoinHandle<Result<Written, ReportError>>,
}

/// A run whose rows are all written.
pub struct Closed {
    pub report: PathBuf,
    pub run_id: String,
    pub command: &'static str,
    pub written: Written,
}

impl Session {
    /// Opens the report and appends the audit start that `start` builds from the run id and the
    /// report's chain digest so far.
    pub fn open(
        report: &Path,
        command: &'static str,
        start: impl FnOnce(&str, String) -> AuditRecord,
    ) -> Result<Session, Failure> {
        let writer = ReportWriter::open(report)?;
        if writer.repaired > 0 {
            tracing::warn!(
                "{}: dropped an incomplete last line ({} bytes) left by a run that crashed",
                report.display(),
                writer.repaired
            );
        }
        let run_id = crate::report::new_run_id();
        let mut record = start(&run_id, writer.chain.clone());
        audit::append(report, &mut record)?;
        let (sink, thread) = writer.spawn()?;
        Ok(Session {
            report: report.to_path_buf(),
            run_id,
            command,
            sink: Some(sink),
            thread,
        })
    }

    /// Where the run's rows go; the session keeps none once this is taken.
    pub fn sink(&mut self) -> ReportSink {
        self.sink
            .take()
            .expect("a session's sink is taken once, by the work it writes for")
    }

    /// Another sink for the work, when several engines write to one session.
    pub fn sink_clone(&self) -> ReportSink {
        self.sink
            .clone()
            .expect("a session's sink is cloned before it is dropped")
    }

    /// Drops the session's own sink: the writer ends once the engines' clones are gone.
    pub fn drop_sink(&mut self) {
        drop(self.sink.take());
    }

    /// Waits for every row to be written.
    pub fn join(mut self) -> Result<Closed, Failure> {
        drop(self.sink.take());
        let written = self
            .thread
            .join()
            .map_err(|_| Failure::usage("the report writer thread panicked"))?
            .context("writing the report failed; rows after the failure were not recorded")?;
        Ok(Closed {
            report: self.report,
            run_id: self.run_id,
            command: self.command,
            written,
        })
    }
}

impl Closed {
    /// The audit end of this run, from its summary.
    pub fn end_record(
        &self,
        summary: &Summary,
        code: i32,
        stopped: Option<&StopReason>,
    ) -> AuditRecord {
        AuditRecord {
            event: "end".into(),
            run_id: self.run_id.clone(),
            command: self.command.into(),
            at: crate::report::timestamp(),
            outcomes: Some(
                summary
                    .outcomes
                    .iter()
                    .map(|(o, n)| (o.to_string(), *n))
                    .collect(),
            ),
            not_attempted: Some(summary.not_attempted),
            already_finished: Some(summary.already_finished),
            requests: Some(summary.requests),
            throttled: Some(summary.throttled),
            retries: Some(summary.retries),
            token_requests: Some(summary.token_requests),
            rows_written: Some(self.written.rows),
            elapsed_ms: Some(summary.elapsed_ms),
            exit_code: Some(code),
            stopped: stopped.map(ToString::to_string),
            chain: Some(self.written.chain.clone()),
            ..AuditRecord::default()
        }
    }

    /// Appends the audit end and, with a signing key, signs the manifest of the report as it now is.
    /// Answers the end line's SHA-256: the evidence digest to keep elsewhere.
    pub fn end(
        &self,
        mut record: AuditRecord,
        sign_key: Option<&signature::SigningKey>,
    ) -> Result<String, Failure> {
        let digest = audit::append(&self.report, &mut record)?;
        if let Some(key) = sign_key {
            let runs: Vec<String> = audit::read(&self.report)?
                .records
                .iter()
                .filter(|r| r.event == "start")
                .map(|r| r.run_id.clone())
                .collect();
            signature::sign(&self.report, key, &self.written.chain, &runs)
                .map_err(Failure::usage)?;
            crate::ui::console().note(
                "revoker::signature",
                &signature::signed_line(&self.report, key),
            );
        }
        Ok(digest)
    }
}

/// Warns, before anything is added, when `report` is signed and this command will not sign what it
/// adds.
pub fn warn_unsigned(report: &Path, sign_key: Option<&signature::SigningKey>) {
    if let Some(warning) = signature::unsigned_warning(report, sign_key) {
        tracing::warn!("{warning}");
    }
}
