//! `run --dry-run`: validates, then says what a run would send — counts per kind, project or
//! organization and request pattern, the exemptions and the cap — and sends nothing and writes
//! nothing. `-v` lists every request.

use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;

use crate::guard::Verdict;
use crate::input::{Exemptions, Identity, InputOptions, Kind, Source, Survey, survey};
use crate::job::Failure;
use crate::settings::Settings;
use crate::ui::{console, out};
use crate::vocab::exit;

/// Validates, then prints what a run would send; sends nothing and writes nothing.
pub fn dry_run(settings: &Settings, source: &Source) -> Result<i32, Failure> {
    let opts = settings.input_options();
    let exempt = super::ledger::exemptions(settings)?;
    let survey = survey(source, &opts, (&HashSet::new(), &exempt), &mut |entry| {
        if let Err(reason) = &entry.target {
            console().note(
                "revoker::input",
                &format!("{}: {reason}", source.place(entry.line)),
            );
        }
    })?;
    let exempt = std::sync::Arc::new(exempt);
    let Sends {
        kinds,
        to_send,
        own,
    } = would_send(settings, source, &opts, &survey, exempt)?;
    print_kinds(&kinds);
    let cap = match settings.run.max_revocations {
        Some(cap) if to_send > cap => {
            format!(" · over max_revocations {cap}: a run would be refused")
        }
        Some(cap) => format!(" · within max_revocations {cap}"),
        None => String::new(),
    };
    console().note(
        "revoker::summary",
        &format!(
            "dry run: {} rows · {to_send} to send · {} exempt{} · {} invalid · {} · {}{cap}; nothing was sent (-v lists every request; revoker plan asks the server what exists)",
            survey.rows,
            survey.exempt,
            if own > 0 {
                format!(" · {own} the run's own credential (refused)")
            } else {
                String::new()
            },
            survey.invalid,
            crate::text::plural(survey.duplicates, "duplicate", "duplicates"),
            crate::text::plural(
                survey.scopes,
                "project or organization",
                "projects and organizations"
            )
        ),
    );
    Ok(if survey.invalid > 0 || own > 0 {
        exit::UNFINISHED
    } else {
        exit::OK
    })
}

/// Per kind: rows to send, their scopes, and the request pattern.
type Kinds = BTreeMap<Kind, (u64, HashSet<crate::input::ObjectId>, String)>;

/// What a run would send, per kind, and the rows refused as the run's own credential.
struct Sends {
    kinds: Kinds,
    to_send: u64,
    own: u64,
}

/// Each valid row decided as the run decides it, the requests it would make logged (`-v`).
fn would_send(
    settings: &Settings,
    source: &Source,
    opts: &InputOptions,
    survey: &Survey,
    exempt: std::sync::Arc<Exemptions>,
) -> Result<Sends, Failure> {
    let mut kinds: Kinds = BTreeMap::new();
    let mut seen: HashSet<Identity> = HashSet::new();
    // Decided as the run decides at send time; an API key's own id is not known without asking.
    let guard = super::own::offline(settings, exempt);
    let (mut to_send, mut own) = (0u64, 0u64);
    let mut protected = Vec::new();
    source.scan(opts, &mut |entry| {
        let Ok(target) = entry.target else {
            return ControlFlow::Continue(());
        };
        let id = target.identity();
        if survey.conflicts.contains_key(&id) || !seen.insert(id) {
            return ControlFlow::Continue(());
        }
        match guard.decide_at(&target, entry.org) {
            Verdict::Exempt(_) | Verdict::Held(..) => return ControlFlow::Continue(()),
            Verdict::Protected(why) => {
                protected.push(format!("{}: {target}: {why}", source.place(entry.line)));
                return ControlFlow::Continue(());
            }
            Verdict::Own(_) => {
                own += 1;
                return ControlFlow::Continue(());
            }
            Verdict::Send | Verdict::OwnLast => to_send += 1,
        }
        {
            tracing::info!(
                "DELETE {}",
                settings
                    .api
                    .revoke_url(&settings.base_url, &target, settings.run.envelope)
            );
            let entry = kinds.entry(target.kind).or_insert_with(|| {
                let pattern = settings.api.revoke_pattern(
                    &settings.base_url,
                    target.kind,
                    settings.run.envelope,
                );
                (0, HashSet::new(), format!("DELETE {pattern}"))
            });
            entry.0 += 1;
            entry.1.insert(target.scope);
        }
        ControlFlow::Continue(())
    })?;
    if !protected.is_empty() {
        return Err(super::protect::refusal(&protected));
    }
    Ok(Sends {
        kinds,
        to_send,
        own,
    })
}

/// One line per kind: rows, scopes and the request pattern.
fn print_kinds(kinds: &Kinds) {
    for (kind, (rows, scopes, pattern)) in kinds {
        out(format!(
            "{rows:>9} {:<24} in {:>5} {:<14} {pattern}",
            kind.as_str(),
            scopes.len(),
            match (kind.scope(), scopes.len()) {
                (crate::input::Scope::Org, 1) => "organization",
                (crate::input::Scope::Org, _) => "organizations",
                (crate::input::Scope::Project, 1) => "project",
                (crate::input::Scope::Project, _) => "projects",
                (crate::input::Scope::Global, _) => "Ops Manager",
            }
        ));
    }
}
