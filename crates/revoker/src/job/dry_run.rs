//! `run --dry-run`: validates, then says what a run would send — counts per kind, project or
//! organization and request pattern, the exemptions and the cap — and sends nothing and writes
//! nothing. `-v` lists every request.

use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;

use crate::input::{Exemptions, Identity, Kind, Source, survey};
use crate::job::Failure;
use crate::settings::Settings;
use crate::ui::{console, out};
use crate::vocab::exit;

/// Validates, then prints what a run would send; sends nothing and writes nothing.
pub fn dry_run(settings: &Settings, source: &Source) -> Result<i32, Failure> {
    let opts = settings.input_options();
    let exempt = Exemptions::of(settings.run.exempt.as_ref())?;
    let survey = survey(source, &opts, (&HashSet::new(), &exempt), &mut |entry| {
        if let Err(reason) = &entry.target {
            console().note(
                "revoker::input",
                &format!("{}:{}: {reason}", source.name(), entry.line),
            );
        }
    })?;
    // Per kind: rows to send, their scopes, and the request pattern.
    let mut kinds: BTreeMap<Kind, (u64, HashSet<crate::input::ObjectId>, String)> = BTreeMap::new();
    let mut seen: HashSet<Identity> = HashSet::new();
    source.scan(&opts, &mut |entry| {
        if let Ok(target) = entry.target
            && seen.insert(target.identity())
            && exempt.covering(&target).is_none()
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
    for (kind, (rows, scopes, pattern)) in &kinds {
        out(format!(
            "{rows:>9} {:<24} in {:>5} {:<14} {pattern}",
            kind.as_str(),
            scopes.len(),
            match kind.scope() {
                crate::input::Scope::Org => "organizations",
                crate::input::Scope::Project => "projects",
                crate::input::Scope::Global => "Ops Manager",
            }
        ));
    }
    let cap = match settings.run.max_revocations {
        Some(cap) if survey.to_send > cap => {
            format!(" · over max_revocations {cap}: a run would be refused")
        }
        Some(cap) => format!(" · within max_revocations {cap}"),
        None => String::new(),
    };
    console().note(
        "revoker::summary",
        &format!(
            "dry run: {} rows · {} to send · {} exempt · {} invalid · {} duplicates · {} projects and organizations{cap}; nothing was sent (-v lists every request; revoker plan asks the server what exists)",
            survey.rows,
            survey.to_send,
            survey.exempt,
            survey.invalid,
            survey.duplicates,
            survey.scopes
        ),
    );
    Ok(if survey.invalid > 0 {
        exit::UNFINISHED
    } else {
        exit::OK
    })
}
