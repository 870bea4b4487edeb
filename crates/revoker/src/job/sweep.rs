//! `revoker sweep`: the compromised credentials of an input or a report, the events of every
//! organization and project they could reach (each page read once), what they did and created
//! ([`crate::events::sweep`]), written as a follow-up input (`why` names the event) and a hand-over
//! list of what revoker cannot revoke. Read-only: it sends no DELETE.

use std::collections::{BTreeSet, HashMap};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::api::Client;
use crate::engine::read::{ProjectOrg, project_org};
use crate::engine::{Context, StopFlag};
use crate::events::reconcile::RunCredential;
use crate::events::{self, Actor, Read, Sweep};
use crate::figures::Figures;
use crate::input::{Format, InputOptions, Kind, ObjectId, Scope, Source, Target};
use crate::job::Failure;
use crate::select::Selected;
use crate::settings::Settings;
use crate::ui::{Output, out};
use crate::vocab::{ExitCode as _, exit};

/// What `revoker sweep` was asked.
pub struct SweepJob {
    pub input: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub since: Duration,
    pub write: Option<PathBuf>,
    pub handover: Option<PathBuf>,
}

/// A sweep and how it went.
#[derive(serde::Serialize)]
pub struct Swept {
    #[serde(flatten)]
    pub sweep: Sweep,
    /// Organizations and projects whose events were read.
    pub scopes: Vec<String>,
    /// Requests sent (pages, retries included).
    pub requests: u64,
    /// Scopes or lists that could not be read: the sweep is incomplete.
    pub problems: Vec<String>,
    pub min_date: String,
    /// The credential the sweep runs as (`API key …`, `service account …`).
    pub acting_as: String,
}

/// The credentials the input or report names.
/// The credentials the input or report names, and each row that names none (the sweep of that
/// credential would be missed: it is named, and the sweep is incomplete).
fn compromised(job: &SweepJob) -> Result<(Vec<Target>, Vec<String>), Failure> {
    let (mut out, mut bad) = (Vec::new(), Vec::new());
    if let Some(path) = &job.input {
        let source = Source::open(path)?;
        let opts = InputOptions::default().every_kind();
        source.scan(&opts, &mut |entry| {
            match entry.target {
                Ok(t) => out.push(t),
                Err(why) => bad.push(format!(
                    "{} line {}: {} (a compromised credential not swept)",
                    path.display(),
                    entry.line,
                    crate::text::controls_escaped(&why)
                )),
            }
            ControlFlow::Continue(())
        })?;
    }
    if let Some(path) = &job.report {
        crate::report::read_records(path, &mut |r| {
            if let Some(t) = Target::parse(&r.kind, &r.project, &r.key, &r.secret) {
                out.push(t);
            }
        })
        .map_err(Failure::usage)?;
    }
    Ok((out, bad))
}

/// The organizations and projects whose events to read: those of `rows` and every project of
/// their organizations.
pub(crate) async fn scopes(
    ctx: &Arc<Context>,
    rows: &[Target],
    problems: &mut Vec<String>,
) -> Vec<(ObjectId, Option<ObjectId>)> {
    let mut orgs = BTreeSet::new();
    let mut projects = BTreeSet::new();
    for t in rows {
        match t.kind.scope() {
            Scope::Org => {
                orgs.insert(t.scope);
            }
            Scope::Project => match project_org(ctx, t.scope).await {
                ProjectOrg::Org(o) => {
                    orgs.insert(o);
                    projects.insert((o, t.scope));
                }
                other => problems.push(format!("project {}: {other:?}", t.scope)),
            },
            Scope::Global => {}
        }
    }
    for org in &orgs {
        match events::read::org_projects(ctx, *org).await {
            Ok(ps) => projects.extend(ps.into_iter().map(|p| (*org, p))),
            Err(why) => problems.push(why),
        }
    }
    let mut out: Vec<(ObjectId, Option<ObjectId>)> = orgs.iter().map(|o| (*o, None)).collect();
    out.extend(projects.into_iter().map(|(o, p)| (o, Some(p))));
    out
}

/// What the organizations' key lists say: every listed key's id by its public key (so that an
/// event naming a key by public key alone is read), and the id of the API key the sweep runs as
/// (`public`). The lists are the server's own word and win over the events; an event that pairs
/// the sweep's public key with another id is named. A key that only read leaves no event, and a
/// creation may name it by id alone: without the lists it could be listed for revocation.
async fn key_lists(
    client: &Client,
    public: Option<&str>,
    read: &[Read],
    scopes: &[(ObjectId, Option<ObjectId>)],
    problems: &mut Vec<String>,
) -> (Option<ObjectId>, HashMap<String, ObjectId>) {
    let wanted = [public.map(str::to_string)];
    let (mut own, mut listed, mut unread) = (None, HashMap::new(), Vec::new());
    for (org, _) in scopes.iter().filter(|(_, p)| p.is_none()) {
        let list = super::own::read_list(client, Kind::OrgApiKey, org, &wanted).await;
        own = own.or(list.found.into_iter().flatten().next());
        for (id, key) in list.keys {
            if let Some(p) = key.public_key {
                listed.entry(p).or_insert(id);
            }
        }
        if !list.whole {
            unread.push(org.to_string());
        }
    }
    if !unread.is_empty() {
        problems.push(format!(
            "the API keys of organization {}",
            unread.join(", ")
        ));
    }
    let Some(public) = public else {
        return (None, listed);
    };
    let claimed = events::acting_key_id(read, public);
    match (own, claimed) {
        (Some(id), Some(c)) if id != c => problems.push(format!(
            "the events (an actor's apiKeyId beside public key {public}, or its creation) name key {c} as the API key this sweep runs as, but the key list gives {id}: the list is taken, and those events may be forged"
        )),
        (None, _) if !unread.is_empty() => problems.push(format!(
            "the id of the API key this sweep runs as (public key {public}): it is in none of the key lists read whole, so a follow-up row may name it"
        )),
        // Every list was read whole: the key is none of those organizations' (an Ops Manager
        // global key), so no organization key in the follow-up is it, unless a list lies.
        (None, None) => tracing::warn!(
            "the API key this sweep runs as (public key {public}) is in none of the organizations' key lists: taken to be none of their keys"
        ),
        _ => {}
    }
    (own.or(claimed), listed)
}

/// Reads and sweeps; the token fetched is revoked however it ends.
pub async fn run_sweep(
    settings: &Settings,
    job: &SweepJob,
) -> Result<(Swept, Option<i32>), Failure> {
    let (rows, bad) = compromised(job)?;
    let actors: Vec<Actor> = rows.iter().filter_map(Actor::of_target).collect();
    if actors.is_empty() {
        return Err(Failure::usage(
            "no API key or service account among the rows: nothing to sweep",
        ));
    }
    let found = settings.credential.as_ref().map_err(Failure::usage)?;
    let figures = Arc::new(Figures::default());
    let client = Arc::new(Client::new(&settings.api_config(found), figures.clone())?);
    let stop = StopFlag::default();
    let signals = super::signals::listen_for_signals(stop.clone());
    let ctx = super::acting::context(settings, &client, &stop, 2);
    let since = jiff::SignedDuration::try_from(job.since).unwrap_or(jiff::SignedDuration::ZERO);
    let min_date = jiff::Timestamp::now()
        .checked_sub(since)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut problems = bad;
    let scopes = scopes(&ctx, &rows, &mut problems).await;
    let mut read: Vec<Read> = Vec::new();
    for (org, project) in &scopes {
        match events::read::scope_events(&ctx, *org, *project, &min_date).await {
            Ok(events) => read.extend(events),
            Err(why) => problems.push(why),
        }
    }
    let acting_as = found.credential.public_identity();
    let acting = RunCredential::parse(&acting_as);
    let public = match &acting {
        Some(RunCredential::PublicKey(p)) => Some(p.as_str()),
        _ => None,
    };
    let (own_key, listed) = key_lists(&client, public, &read, &scopes, &mut problems).await;
    let known = events::Known {
        acting: acting.as_ref(),
        own_key,
        listed,
    };
    let mut sweep = events::sweep_as(&actors, read, &known);
    problems.extend(
        std::mem::take(&mut sweep.conflicting)
            .into_iter()
            .map(|id| {
                format!("event {id}: served twice with different contents (only the first is used)")
            }),
    );
    if let Some(warning) = client.finish().await {
        tracing::warn!("{warning}");
    }
    signals.abort();
    let swept = Swept {
        sweep,
        scopes: scopes
            .iter()
            .map(|(o, p)| p.map_or(format!("organization {o}"), |p| format!("project {p}")))
            .collect(),
        requests: figures.requests.load(std::sync::atomic::Ordering::Relaxed),
        problems,
        min_date,
        acting_as,
    };
    Ok((swept, stop.reason().map(|r| r.exit_code())))
}

/// What is kept of a sweep beside a report ([`crate::report::swept`]).
fn view(s: &Swept) -> crate::report::swept::SweptView {
    use crate::report::swept::{ActivityView, SweptView};
    SweptView {
        at: crate::report::timestamp(),
        acting_as: s.acting_as.clone(),
        since: s.min_date.clone(),
        events_read: s.sweep.events_read,
        scopes: s.scopes.len() as u64,
        requests: s.requests,
        activity: s
            .sweep
            .activity
            .iter()
            .map(|(who, a)| {
                let view = ActivityView {
                    events: a.events,
                    by_type: a.by_type.clone(),
                    first_seen: a.first_seen.clone(),
                    last_seen: a.last_seen.clone(),
                    addresses: a.addresses.iter().cloned().collect(),
                    created_by: a.created_by.clone(),
                };
                (who.to_string(), view)
            })
            .collect(),
        follow_up: s
            .sweep
            .artifacts
            .iter()
            .map(|a| (a.target.to_string(), a.why()))
            .collect(),
        handover: s
            .sweep
            .acting
            .iter()
            .map(|a| (acting_what(a), format!("event {} by {}", a.event_id, a.by)))
            .chain(
                s.sweep
                    .handover
                    .iter()
                    .map(|h| (h.what.clone(), format!("event {} by {}", h.event_id, h.by))),
            )
            .collect(),
        problems: s.problems.clone(),
        sha256: String::new(),
    }
}

/// Keeps the sweep beside `report` for `report` and its page, and answers the file's SHA-256; a
/// failure to write is said, and the sweep's own output stands.
fn keep_beside(report: &Path, s: &Swept) -> Option<String> {
    crate::report::swept::write(report, &view(s))
        .map_err(|why| tracing::warn!("{why}: `report` will not show this sweep"))
        .ok()
}

/// What a person must do about a credential a compromised one made that the sweep runs as (or
/// a secret of the account it runs as: which secret it holds is not known).
fn acting_what(a: &events::Artifact) -> String {
    match a.target.kind {
        Kind::ServiceAccountSecret | Kind::ProjectServiceAccountSecret => format!(
            "{}: a secret of the service account this sweep runs as, made by a compromised credential; revoke it yourself (revoker does not, in case it is the one the sweep holds)",
            a.target
        ),
        _ => format!(
            "{}: the credential this sweep runs as, made by a compromised credential; revoke it yourself once it is replaced",
            a.target
        ),
    }
}

/// The hand-over list as CSV.
fn handover_csv(sweep: &Sweep) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| e.to_string();
    w.write_record([
        "event_id",
        "created",
        "event_type",
        "by",
        "org",
        "project",
        "what",
    ])
    .map_err(err)?;
    for a in &sweep.acting {
        w.write_record([
            a.event_id.as_str(),
            &a.created,
            &a.event_type,
            &a.by.to_string(),
            &a.target.scope.to_string(),
            "",
            &acting_what(a),
        ])
        .map_err(err)?;
    }
    for h in &sweep.handover {
        let project = h.project.map(|p| p.to_string()).unwrap_or_default();
        w.write_record([
            h.event_id.as_str(),
            &h.created,
            &h.event_type,
            &h.by.to_string(),
            &h.org.to_string(),
            &project,
            &h.what,
        ])
        .map_err(err)?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// Writes the follow-up input and the hand-over list.
fn write_files(sweep: &Sweep, write: &Path, handover: &Path) -> Result<(), Failure> {
    let rows: Vec<Selected> = sweep
        .artifacts
        .iter()
        .map(|a| Selected {
            target: a.target,
            why: a.why(),
        })
        .collect();
    crate::select::write::write(write, &rows, Format::Csv).map_err(Failure::usage)?;
    let bytes = handover_csv(sweep).map_err(Failure::usage)?;
    crate::fsx::write_atomic(handover, &bytes, 0o600).map_err(|e| {
        Failure::usage(format!(
            "{}: cannot write the hand-over list: {e}",
            handover.display()
        ))
    })
}

/// The activity and findings, as lines for the terminal.
fn lines(s: &Swept) -> Vec<String> {
    let mut out = vec![format!(
        "read {} events of {} organizations and projects since {} with {} requests",
        s.sweep.events_read,
        s.scopes.len(),
        s.min_date,
        s.requests
    )];
    out.extend(view(s).activity_lines());
    for a in &s.sweep.artifacts {
        out.push(format!("follow-up: {} ({})", a.target, a.why()));
    }
    for a in &s.sweep.acting {
        out.push(match a.target.kind {
            Kind::ServiceAccountSecret | Kind::ProjectServiceAccountSecret => format!(
                "a secret of the service account this sweep runs as is {} ({}): not listed for revocation (it may be the one this sweep holds); revoke it yourself, it is on the hand-over list",
                a.target,
                a.why()
            ),
            _ => format!(
                "the credential this sweep runs as is {} ({}): not listed for revocation; revoke it yourself once it is replaced",
                a.target,
                a.why()
            ),
        });
    }
    for h in &s.sweep.handover {
        out.push(format!(
            "hand over: {} (event {} by {})",
            h.what, h.event_id, h.by
        ));
    }
    for p in &s.problems {
        out.push(format!("not read: {p} (the sweep is incomplete)"));
    }
    out
}

/// `revoker sweep`: exit 0, 1 when a scope could not be read (what was found is still written),
/// or a stop's code.
pub async fn sweep_command(
    settings: Settings,
    job: SweepJob,
    output: Output,
) -> Result<i32, Failure> {
    let handover = job.handover.clone().or_else(|| {
        job.write
            .as_ref()
            .map(|w| PathBuf::from(format!("{}.handover.csv", w.display())))
    });
    if let Some(path) = &job.write {
        crate::select::write::refuse_to_replace(path)?;
    }
    let (swept, stopped) = run_sweep(&settings, &job).await?;
    // A stopped sweep writes no follow-up: a file of what it had found so far would look like a
    // sweep that found nothing more.
    if let (Some(write), Some(handover), None) = (&job.write, &handover, stopped) {
        write_files(&swept.sweep, write, handover)?;
    }
    if let (Some(report), None) = (&job.report, stopped) {
        keep_beside(report, &swept);
    }
    let code = stopped.unwrap_or(if swept.problems.is_empty() {
        exit::OK
    } else {
        exit::UNFINISHED
    });
    match output {
        Output::Json => out(
            serde_json::json!({ "sweep": swept, "written": job.write.as_ref().map(|p| p.display().to_string()), "handover": handover.as_ref().map(|p| p.display().to_string()), "exit_code": code }),
        ),
        _ => {
            // Events are the server's text: never a raw control character on the terminal.
            for line in lines(&swept) {
                out(crate::text::controls_escaped(&line).into_owned());
            }
        }
    }
    Ok(code)
}

/// Where a `[sweep]` job keeps its follow-up (the run's input) and hand-over list.
pub const FOLLOWUP: &str = ".sweep.csv";
const HANDOVER: &str = ".sweep.handover.csv";

/// A job's `[sweep]`: sweeps now and makes the follow-up beside the report the run's input, so
/// that the run revokes what the compromised credentials created. A resume revokes the follow-up
/// the report was started with rather than sweeping again.
pub async fn sweep_for_run(
    settings: &mut Settings,
    report: &Path,
    resume: bool,
) -> Result<Option<serde_json::Value>, Failure> {
    let Some(section) = settings.values.sweep.clone() else {
        return Ok(None);
    };
    let followup = crate::report::sidecar(report, FOLLOWUP);
    let started = std::fs::metadata(report).is_ok_and(|m| m.len() > 0);
    if resume && !started {
        // Nothing to resume: said before any event is read or any file is written.
        return Err(Failure::usage(format!(
            "{}: no such report, so there is nothing to resume; drop --resume to start a new one",
            report.display()
        )));
    }
    if started {
        if !resume {
            return Err(crate::report::ReportError::Exists {
                path: report.to_path_buf(),
            }
            .into());
        }
        if followup.exists() {
            settings.values.input = Some(followup);
            return Ok(None);
        }
    }
    let job = SweepJob {
        input: section.input,
        report: section.report,
        since: section.since.unwrap_or(Duration::from_secs(30 * 86_400)),
        write: Some(followup.clone()),
        handover: Some(crate::report::sidecar(report, HANDOVER)),
    };
    if job.input.is_none() && job.report.is_none() {
        return Err(Failure::usage(
            "[sweep] needs input = \"…\" or report = \"…\": the compromised credentials",
        ));
    }
    let (swept, stopped) = run_sweep(settings, &job).await?;
    if let Some(code) = stopped {
        return Err(Failure::new(
            code,
            anyhow::anyhow!("the sweep stopped; nothing was revoked"),
        ));
    }
    for line in lines(&swept) {
        tracing::info!("{}", crate::text::controls_escaped(&line));
    }
    for p in &swept.problems {
        tracing::warn!(
            "the sweep could not read {p}: what it found is revoked, but it may have missed more"
        );
    }
    let handover = job.handover.as_deref().unwrap_or(&followup);
    write_files(&swept.sweep, &followup, handover)?;
    // The run's start line records the file by its SHA-256: `report` can then tell this sweep
    // from one made or edited later (the file itself is unsigned).
    let file_sha256 = keep_beside(report, &swept);
    settings.values.input = Some(followup);
    Ok(Some(serde_json::json!({
        "sweep": {
            "artifacts": swept.sweep.artifacts.len(),
            "handover": swept.sweep.handover.len(),
            "events_read": swept.sweep.events_read,
            "requests": swept.requests,
            "problems": swept.problems,
            "min_date": swept.min_date,
            "file_sha256": file_sha256,
        },
        // A scope whose events could not be read leaves the run unfinished (exit 1, named in
        // its end record), as a selection that could not read a list does.
        "problems": swept.problems.iter().map(|p| format!("sweep: {p}")).collect::<Vec<_>>(),
    })))
}
