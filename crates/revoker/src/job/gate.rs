//! What a run passes before its first DELETE: the plan against live state when asked for
//! (`--plan`), the cap on revocations (`--max-revocations`), and on an interactive terminal the
//! operator's confirmation, as `terraform apply` asks. Without a terminal (cron, systemd, CI)
//! nothing is asked.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;

use crate::guard::Guard;
use crate::input::{Identity, Kind, Survey};
use crate::job::{Failure, PreparedJob};
use crate::plan::Fate;
use crate::verify::Readers;
use crate::vocab::{ExitCode as _, exit};

/// What the run is about to do, for the cap and the question.
struct Intent {
    revocations: u64,
    /// Of those, rows whose state the plan could not tell (sent all the same).
    undecided: u64,
    /// Projects and organizations the rows to send span.
    scopes: (u64, u64),
    /// Rows to revoke per kind.
    kinds: BTreeMap<Kind, u64>,
    /// Whether the counts come from live state.
    planned: bool,
}

/// What the plan's reading taught the run: the rows it showed gone, and API keys' public keys.
#[derive(Default)]
pub struct Learned {
    pub gone: HashSet<Identity>,
    pub public_keys: std::collections::HashMap<Identity, String>,
}

/// Plans (when asked), applies the cap and asks for confirmation. An error ends the run before
/// anything is sent.
pub async fn before_sending(
    job: &PreparedJob,
    report: &Path,
    survey: &Survey,
    (readers, guard, binding): (&Readers, &Guard, Option<&super::apply::Binding>),
    prior: &super::prepare::Prior,
) -> Result<Learned, Failure> {
    let settings = &job.settings;
    let finished = &prior.finished;
    let mut gone = Learned::default();
    let intent = if let Some(binding) = binding {
        super::apply::say_drifted(binding);
        gone.public_keys = binding.public_keys.clone();
        Intent {
            revocations: binding.will_revoke,
            undecided: 0,
            scopes: binding.scopes,
            kinds: binding.kinds.clone(),
            planned: true,
        }
    } else if settings.run.plan {
        planned(job, report, (readers, guard, survey), finished, &mut gone).await?
    } else {
        Intent {
            revocations: survey.to_send,
            undecided: 0,
            scopes: (survey.projects, survey.organizations),
            // What is left to send, not the whole input: a resume asks about its own rows.
            kinds: Kind::ALL
                .into_iter()
                .map(|k| (k, survey.send_per_kind[k.index()]))
                .filter(|(_, n)| *n > 0)
                .collect(),
            planned: false,
        }
    };
    if let Some(cap) = settings.run.max_revocations
        && intent.revocations + prior.revoked_before > cap
    {
        return Err(Failure::usage(format!(
            "this run would revoke {} credentials ({}{}), more than max_revocations {cap} (from {}): nothing was sent; check the input, or raise the cap",
            intent.revocations,
            if let (Some(file), Some(_)) = (&settings.run.plan_file, binding) {
                format!(
                    "counted from the rows of plan file {} that it will revoke",
                    file.display()
                )
            } else if intent.planned {
                "counted by the plan: those that exist now, and those whose lists were refused, unreadable or proved nothing, which a run sends all the same".to_string()
            } else {
                "counted from the valid rows to send".to_string()
            },
            if prior.revoked_before > 0 {
                format!(
                    "; this report's earlier runs revoked {} more, which the cap counts too",
                    prior.revoked_before
                )
            } else {
                String::new()
            },
            settings
                .origins
                .get("max_revocations")
                .map_or_else(|| "default".to_string(), ToString::to_string),
        )));
    }
    if asks(job) && intent.revocations > 0 {
        let destructive = intent.kinds.keys().any(|k| k.is_destructive());
        let expected = match readers.ctxs.first() {
            Some(ctx) => {
                let reach = (intent.revocations, destructive);
                super::confirm::expected(job, ctx, guard, reach).await?
            }
            None => super::confirm::Expected::yes(),
        };
        confirm(job, report, &intent, &expected)?;
    }
    Ok(gone)
}

async fn planned(
    job: &PreparedJob,
    report: &Path,
    (readers, guard, survey): (&Readers, &Guard, &Survey),
    finished: &HashSet<Identity>,
    gone: &mut Learned,
) -> Result<Intent, Failure> {
    let settings = &job.settings;
    let inputs = (&*job.source, guard, &*survey.conflicts);
    let mut plan = super::plan::live_plan(settings, readers, inputs, finished).await?;
    gone.gone = std::mem::take(&mut plan.gone);
    gone.public_keys = std::mem::take(&mut plan.public_keys);
    super::plan::record(settings, report, (&job.source, &job.exempt), &plan)?;
    if let Some(reason) = readers.stopped() {
        return Err(Failure::new(
            reason.exit_code(),
            anyhow::anyhow!("the plan stopped: {reason}; nothing was sent"),
        ));
    }
    let text = crate::plan::render(&plan, job.source.name(), settings.base_url.as_str());
    for line in text.lines().take_while(|l| !l.is_empty()) {
        tracing::info!("{line}");
    }
    let mut kinds: BTreeMap<Kind, u64> = BTreeMap::new();
    for s in &plan.scopes {
        let n = s.revocations();
        if let (Some(kind), true) = (Kind::parse(&s.kind), n > 0) {
            *kinds.entry(kind).or_default() += n;
        }
    }
    Ok(Intent {
        revocations: plan.revocations(),
        undecided: plan
            .revocations()
            .saturating_sub(plan.count(Fate::Revoke) + plan.own_last),
        scopes: scope_counts(&plan),
        kinds,
        planned: true,
    })
}

/// Projects and organizations with rows a run would send, per the plan.
fn scope_counts(plan: &crate::plan::Plan) -> (u64, u64) {
    let sending: HashSet<(&str, &str)> = plan
        .scopes
        .iter()
        .filter(|s| s.revocations() > 0)
        .map(|s| (s.scope_kind, s.scope.as_str()))
        .collect();
    let orgs = sending.iter().filter(|(k, _)| *k == "organization").count() as u64;
    (sending.len() as u64 - orgs, orgs)
}

/// `1 project`, `2 projects and 1 organization`.
fn scope_words((projects, orgs): (u64, u64)) -> String {
    let p = crate::text::plural(projects, "project", "projects");
    let o = crate::text::plural(orgs, "organization", "organizations");
    match (projects, orgs) {
        (0, 0) => "Ops Manager itself".to_string(),
        (_, 0) => p,
        (0, _) => o,
        _ => format!("{p} and {o}"),
    }
}

/// An operator at a terminal, who has not said yes already, and whose answer is not the input.
fn asks(job: &PreparedJob) -> bool {
    !job.settings.run.yes
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
        && job.source.path().is_some()
}

fn confirm(
    job: &PreparedJob,
    report: &Path,
    intent: &Intent,
    expected: &super::confirm::Expected,
) -> Result<(), Failure> {
    let settings = &job.settings;
    let kinds: Vec<String> = intent
        .kinds
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let org_wide: Vec<&str> = intent
        .kinds
        .keys()
        .filter(|k| k.is_destructive())
        .map(|k| k.as_str())
        .collect();
    let identity = settings
        .credential
        .as_ref()
        .map(|c| c.credential.public_identity())
        .unwrap_or_default();
    let mut question = format!(
        "\nrevoker is about to revoke {}{} in {} ({})\n  at {} as {identity}\n  report: {}\n",
        crate::text::plural(intent.revocations, "credential", "credentials"),
        match (intent.planned, intent.undecided) {
            (false, _) => String::new(),
            (true, 0) => " that exist now".to_string(),
            (true, n) => format!(
                " ({} that exist now, {n} whose lists could not be read or proved nothing)",
                intent.revocations - n
            ),
        },
        scope_words(intent.scopes),
        kinds.join(", "),
        settings.base_url,
        report.display()
    );
    if !org_wide.is_empty() {
        question.push_str(&format!(
            "  destructive (the credential itself is deleted, not unassigned): {}\n",
            org_wide.join(", ")
        ));
    }
    if expected.answer == "yes" {
        question.push_str("Only 'yes' goes on (--yes skips this question): ");
    } else {
        question.push_str(&format!(
            "Type {} to go on ({}; --yes skips this question): ",
            expected.what, expected.answer
        ));
    }
    let mut stderr = std::io::stderr();
    let _ = stderr.write_all(question.as_bytes());
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::usage(format!("cannot read the answer: {e}")))?;
    if answer.trim() == expected.answer {
        return Ok(());
    }
    Err(Failure::new(
        exit::UNFINISHED,
        anyhow::anyhow!(
            "cancelled: the answer was not {}; nothing was sent",
            if expected.answer == "yes" {
                "yes"
            } else {
                expected.what.as_str()
            }
        ),
    ))
}
