//! `revoker verify REPORT --events`: the report's `done` and `not_found` rows against the Events
//! API within the window of its runs ([`crate::events::reconcile`]). It changes no byte of the
//! report or its audit record and sends no DELETE; what it found is kept in
//! `REPORT.reconciled.json` ([`crate::report::reconciled`]).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use crate::api::Client;
use crate::engine::StopFlag;
use crate::events::reconcile::{Reconciliation, Row, RunCredential, reconcile};
use crate::events::{self, Read};
use crate::figures::Figures;
use crate::job::Failure;
use crate::report::reconciled::{Reconciled, RowVerdict, UnrecordedDeletion};
use crate::report::{Outcome, audit};
use crate::settings::Settings;
use crate::ui::{Output, out};
use crate::vocab::exit;

/// The rows to reconcile: each identity's latest `done` or `not_found` row of a run.
fn rows(report: &Path, runs: &BTreeSet<String>) -> Result<Vec<Row>, Failure> {
    let mut latest: HashMap<crate::input::Identity, Row> = HashMap::new();
    crate::report::read_records(report, &mut |r| {
        let done = match r.outcome {
            Outcome::Done => true,
            Outcome::NotFound => false,
            _ => return,
        };
        if !runs.contains(&r.run_id) {
            return;
        }
        if let Some(target) = r.target() {
            latest.insert(
                target.identity(),
                Row {
                    target,
                    line: r.line,
                    done,
                    public_key: (!r.public_key.is_empty()).then(|| r.public_key.clone()),
                },
            );
        }
    })
    .map_err(Failure::usage)?;
    let mut out: Vec<Row> = latest.into_values().collect();
    out.sort_by_key(|r| r.line);
    Ok(out)
}

/// The runs' credential, their ids, and their window (first start, last record).
type Runs = (RunCredential, BTreeSet<String>, (String, String));

/// The runs' credential, their ids and the window from the first run's start to the last record.
fn runs_of(log: &audit::AuditLog) -> Result<Runs, Failure> {
    let starts: Vec<&audit::AuditRecord> = log
        .records
        .iter()
        .filter(|r| r.event == "start" && r.command == "run")
        .collect();
    let credentials: BTreeSet<&str> = starts
        .iter()
        .filter_map(|r| r.credential.as_deref())
        .collect();
    let who = match credentials.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => RunCredential::parse(one)
            .ok_or_else(|| Failure::usage(format!("the audit record names the credential {one:?}, which is neither an API key nor a service account")))?,
        [] => return Err(Failure::usage("the audit record names no run and no credential: nothing to reconcile")),
        many => return Err(Failure::usage(format!("the report's runs acted as {} credentials ({}): reconcile them one report at a time", many.len(), many.join(", ")))),
    };
    let first = starts
        .iter()
        .map(|r| r.at.clone())
        .min()
        .unwrap_or_default();
    let last = log
        .records
        .iter()
        .map(|r| r.at.clone())
        .max()
        .unwrap_or_default();
    let ids = starts.iter().map(|r| r.run_id.clone()).collect();
    Ok((who, ids, (first, last)))
}

/// Reads and reconciles; the token fetched is revoked however it ends.
async fn reconciled(
    mut settings: Settings,
    report: &Path,
) -> Result<(Reconciliation, Vec<String>, String), Failure> {
    let log = audit::read(report).map_err(Failure::usage)?;
    super::server::for_report(&mut settings, report, &log)?;
    let (who, runs, window) = runs_of(&log)?;
    let credential = match &who {
        RunCredential::PublicKey(p) => format!("API key {p}"),
        RunCredential::Account(c) => {
            format!("service account {}{c}", crate::input::CLIENT_ID_PREFIX)
        }
    };
    let rows = rows(report, &runs)?;
    let found = settings.credential.as_ref().map_err(Failure::usage)?;
    let client = Arc::new(Client::new(
        &settings.api_config(found),
        Arc::new(Figures::default()),
    )?);
    let stop = StopFlag::default();
    let ctx = super::acting::context(&settings, &client, &stop, 2);
    let targets: Vec<_> = rows.iter().map(|r| r.target).collect();
    let mut problems = Vec::new();
    let scopes = super::sweep::scopes(&ctx, &targets, &mut problems).await;
    // A day before the window, for whoever deleted a not-found row first.
    let min_date = window
        .0
        .parse::<jiff::Timestamp>()
        .ok()
        .and_then(|t| t.checked_sub(jiff::SignedDuration::from_hours(24)).ok())
        .map_or_else(
            || window.0.clone(),
            |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
    let mut read: Vec<Read> = Vec::new();
    for (org, project) in &scopes {
        match events::read::scope_events(&ctx, *org, *project, &min_date).await {
            Ok(events) => read.extend(events),
            Err(why) => problems.push(why),
        }
    }
    if let Some(warning) = client.finish().await {
        tracing::warn!("{warning}");
    }
    Ok((reconcile(&rows, &read, &who, window), problems, credential))
}

/// What is kept of a reconciliation beside the report ([`crate::report::reconciled`]).
fn kept(
    r: &Reconciliation,
    problems: Vec<String>,
    credential: String,
    chain: String,
) -> Reconciled {
    Reconciled {
        at: crate::report::timestamp(),
        credential,
        window: r.window.clone(),
        chain,
        events_read: r.events_read,
        rows: r
            .rows
            .iter()
            .map(|x| RowVerdict {
                line: x.line,
                row: x.row.to_string(),
                verdict: x.verdict.to_string(),
                event_id: x.event_id.clone(),
                why: x.why.clone(),
            })
            .collect(),
        unrecorded: r
            .unrecorded
            .iter()
            .map(|u| UnrecordedDeletion {
                event_id: u.event_id.clone(),
                event_type: u.event_type.clone(),
                created: u.created.clone(),
                what: u.what.clone(),
            })
            .collect(),
        problems,
    }
}

/// `verify --events`: exit 0 when MongoDB's record agrees with every row, 1 otherwise (a `done`
/// row uncorroborated, a deletion no row claims, a scope unread). What it found is kept beside the
/// report (`REPORT.reconciled.json`) for `report` and the HTML page.
pub async fn events_command(
    settings: Settings,
    report: &Path,
    output: Output,
) -> Result<i32, Failure> {
    if !report.exists() {
        return Err(Failure::usage(format!(
            "{}: no such report",
            report.display()
        )));
    }
    let report = crate::report::canonical(report);
    // A report that is not as written (rows deleted or edited) is not reconciled: agreement with
    // MongoDB's record about the rows left would claim more than the report can.
    let overview = crate::report::overview::summarize_report(&report)?;
    if !overview.untampered() {
        return Err(Failure::new(
            exit::TAMPERED,
            anyhow::anyhow!(
                "{}: the report or its audit record is not as written (revoker report names where): not reconciled",
                report.display()
            ),
        ));
    }
    let chain = crate::report::chain_of(&report).map_err(Failure::usage)?;
    let (r, problems, credential) = reconciled(settings, &report).await?;
    let code = if r.agrees() && problems.is_empty() {
        exit::OK
    } else {
        exit::UNFINISHED
    };
    let view = kept(&r, problems.clone(), credential, chain);
    crate::report::reconciled::write(&report, &view).map_err(Failure::usage)?;
    if output == Output::Json {
        out(
            serde_json::json!({ "report": report.display().to_string(), "reconciliation": r, "problems": problems, "exit_code": code }),
        );
        return Ok(code);
    }
    out(view.summary());
    for line in view.details() {
        out(line);
    }
    Ok(code)
}
