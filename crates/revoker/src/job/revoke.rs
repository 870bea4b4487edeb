//! The third stage of a run: the audit start, the rows of exempt credentials, each lane's engine
//! writing to one report session, the progress display, and the session closed.

use std::path::Path;
use std::sync::Arc;

use crate::engine;
use crate::figures::Figures;
use crate::guard::{Guard, Own};
use crate::input::Survey;
use crate::job::Failure;
use crate::job::lanes::Lanes;
use crate::job::prepare::{PreparedJob, Prior};
use crate::job::session::{Closed, Session};
use crate::report::SentJournal;
use crate::report::audit::AuditRecord;
use crate::settings::Settings;
use crate::ui::Outputs;
use crate::ui::progress::Display;

/// What the sending left: the closed session, the client's counts, the engines' merged result, and
/// the run's own credentials.
pub struct Sent {
    pub closed: Closed,
    pub figures: Arc<Figures>,
    pub result: engine::RunResult,
    pub owns: Vec<Own>,
}

/// Asks each lane's published limits, unless there is nothing to send (nothing to pace); answers
/// the buckets the run starts at, in words, each once.
async fn start_limits(
    job: &PreparedJob,
    lanes: &Lanes,
    report: &Path,
    survey: &Survey,
) -> Vec<String> {
    let mut known: Vec<String> = Vec::new();
    if survey.to_send == 0 {
        return known;
    }
    let kinds: Vec<crate::input::Kind> = crate::input::Kind::ALL
        .into_iter()
        .filter(|k| survey.kind_count(*k) > 0)
        .collect();
    for lane in &lanes.lanes {
        let said = super::limits::start(
            &lane.ctx,
            &job.settings,
            report,
            &kinds,
            job.settings.run.forget_limits,
        )
        .await;
        for line in said {
            if !known.contains(&line) {
                known.push(line);
            }
        }
    }
    known
}

/// Starts each lane at the limits known before the first request, opens the report session,
/// writes the exempt rows, runs the engines, closes the session and saves what each lane learned
/// of the limits; the journal's unsettled rows are settled.
pub async fn send(
    job: &PreparedJob,
    report: &Path,
    (survey, prior): (&Survey, Prior),
    (lanes, guard): (&Arc<Lanes>, &Arc<Guard>),
    outputs: &Outputs,
) -> Result<Sent, Failure> {
    let known = start_limits(job, lanes, report, survey).await;
    let start = start_record(job, survey, lanes.identities().join(", "));
    let mut session = Session::open(report, "run", start)?;
    let figures = lanes.lanes[0].client.figures().clone();
    let display = Display::start(
        figures.clone(),
        outputs,
        &pacing(&job.settings, survey.scopes, &known),
        survey.already_finished,
    );
    let result = match (survey.exempt, &job.applied) {
        (0, None) => Ok(0),
        _ => super::exempt_rows::write(
            &session,
            (&job.source, &job.opts),
            guard,
            &prior.finished,
            &figures,
        ),
    };
    let result = match result {
        Ok(_) => engines(job, lanes, (survey, prior), (&mut session, guard), report).await,
        Err(e) => Err(e),
    };
    display.finish();
    let closed = session.join()?;
    for lane in &lanes.lanes {
        super::limits::save(&lane.ctx, &job.settings, report);
    }
    let (result, owns) = result?;
    SentJournal::settle(report, &result.unsettled)?;
    Ok(Sent {
        closed,
        figures,
        result,
        owns,
    })
}

/// The audit start of a revocation run.
fn start_record(
    job: &PreparedJob,
    survey: &Survey,
    identity: String,
) -> impl FnOnce(&str, String) -> AuditRecord {
    let (settings, source) = (&job.settings, &job.source);
    let opts = &job.opts;
    let exempt = (!job.exempt.file.is_empty()).then(|| job.exempt.clone());
    let record = AuditRecord {
        selection: job.selection.clone(),
        exempt: exempt.as_ref().map(|e| e.file.clone()),
        exempt_sha256: exempt.as_ref().map(|e| e.sha256.clone()),
        job: settings.job_path.as_ref().map(|p| p.display().to_string()),
        input: Some(
            source
                .path()
                .map(|p| crate::report::canonical(p).display().to_string())
                .unwrap_or_else(|| source.name().to_string()),
        ),
        input_sha256: Some(source.sha256().to_string()),
        input_rows: Some(survey.rows),
        allowed_kinds: Some(opts.allowed_kinds.iter().map(|k| k.to_string()).collect()),
        read_as: Some(opts.into()),
        plan_file: job.applied.as_ref().map(|a| a.path.display().to_string()),
        plan_sha256: job.applied.as_ref().map(|a| a.sha256.clone()),
        plan_signed_by: job.applied.as_ref().and_then(|a| a.signed_by.clone()),
        ..AuditRecord::default()
    };
    let (base_url, api) = (settings.base_url.to_string(), settings.api.to_string());
    move |run_id, chain| AuditRecord {
        selection: record.selection,
        exempt: record.exempt,
        exempt_sha256: record.exempt_sha256,
        job: record.job,
        input: record.input,
        input_sha256: record.input_sha256,
        input_rows: record.input_rows,
        allowed_kinds: record.allowed_kinds,
        read_as: record.read_as,
        plan_file: record.plan_file,
        plan_sha256: record.plan_sha256,
        plan_signed_by: record.plan_signed_by,
        ..AuditRecord::start(run_id, "run", identity, base_url, api, chain)
    }
}

/// The engine run of each lane, all at once, writing to one report session.
async fn engines(
    job: &PreparedJob,
    lanes: &Arc<Lanes>,
    (survey, prior): (&Survey, Prior),
    (session, guard): (&mut Session, &Arc<Guard>),
    report: &Path,
) -> Result<(engine::RunResult, Vec<Own>), Failure> {
    let saying = lanes.say_stops();
    let mut tasks = tokio::task::JoinSet::new();
    let owns = guard.owns().to_vec();
    let cap = job.settings.run.max_revocations.map(|max| {
        Arc::new(engine::SendCap::new(
            max.saturating_sub(prior.revoked_before),
        ))
    });
    for (i, lane) in lanes.lanes.iter().enumerate() {
        let run = engine::Run {
            run_id: session.run_id.clone(),
            source: job.source.clone(),
            input: job.opts.clone(),
            survey: survey.clone(),
            finished: prior.finished.clone(),
            unsettled: prior.unsettled.clone(),
            plan_gone: prior.plan_gone.clone(),
            public_keys: prior.public_keys.clone(),
            sink: session.sink_clone(),
            journal: Some(SentJournal::open(report)?),
            guard: guard.clone(),
            lane: lanes.engine_lane(i),
            cap: cap.clone(),
        };
        let ctx = lane.ctx.clone();
        tasks.spawn(async move { (i, engine::execute(ctx, run).await) });
    }
    session.drop_sink();
    let mut results: Vec<(usize, Result<engine::RunResult, engine::EngineError>)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.map_err(|e| Failure::usage(format!("a lane's engine failed: {e}")))?);
    }
    // In the order of the lanes, so that each stop is said with its own credential.
    results.sort_by_key(|(i, _)| *i);
    let mut merged: Option<engine::RunResult> = None;
    let mut stops = Vec::new();
    for (_, result) in results {
        let r = result?;
        stops.push(r.stopped.clone());
        merged = Some(match merged {
            None => r,
            Some(m) => m.merge(r),
        });
    }
    let mut merged = merged.ok_or_else(|| Failure::usage("no credential to run with"))?;
    // Each stop was said as it happened; a watcher of a lane that never stopped has nothing to say.
    for (said, stop) in saying.into_iter().zip(&stops) {
        if stop.is_some() {
            let _ = said.await;
        } else {
            said.abort();
        }
    }
    // The run stopped when every lane did; a lane stopped alone leaves its rows unfinished, and the
    // audit record says why.
    merged.stopped = if stops.iter().all(Option::is_some) {
        stops.iter().flatten().next().cloned()
    } else {
        merged.lanes_stopped = stops
            .iter()
            .enumerate()
            .filter_map(|(i, stop)| stop.as_ref().and_then(|r| lanes.stopped(i, r)))
            .collect();
        None
    };
    Ok((merged, owns))
}

/// What paces the run, in words: the ceilings in force and where they come from, the API's buckets
/// known before the first request (`known`: published or learned by an earlier run), or the API.
fn pacing(settings: &Settings, scopes: u64, known: &[String]) -> String {
    let origin = |name: &str| {
        settings
            .origins
            .get(name)
            .map_or_else(|| "default".to_string(), ToString::to_string)
    };
    let mut parts = Vec::new();
    if let Some(rate) = settings.run.rate {
        parts.push(format!("rate {rate} ({})", origin("rate")));
    }
    if let Some(rate) = settings.run.project_rate {
        parts.push(format!(
            "project_rate {rate} ({}) × {} ≈ {:.0} rows/s",
            origin("project_rate"),
            crate::text::plural(
                scopes,
                "project or organization",
                "projects and organizations"
            ),
            rate.per_second() * scopes as f64
        ));
    }
    if !known.is_empty() {
        // "project: 10 per second, capacity 5 (published: set)" reads as one parenthesis here.
        let known: Vec<String> = known
            .iter()
            .map(|k| match k.rsplit_once(" (") {
                Some((what, from)) => format!("{what}, {}", from.trim_end_matches(')')),
                None => k.clone(),
            })
            .collect();
        parts.push(format!(
            "the API's limits known before the first request ({})",
            known.join("; ")
        ));
    }
    if parts.is_empty() {
        "paced by the API alone: as fast as it answers, slower where 429s say so".into()
    } else {
        format!("paced by {}; 429s slow it further", parts.join(" and "))
    }
}
