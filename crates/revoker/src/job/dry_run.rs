//! `run --dry-run`: validates, then says what a run would send; sends nothing and writes nothing.

use std::collections::HashSet;
use std::ops::ControlFlow;

use crate::input::{Identity, Source, survey};
use crate::job::Failure;
use crate::settings::Settings;
use crate::ui::{console, out};
use crate::vocab::exit;

/// Validates, then prints the requests a run would send; sends nothing and writes nothing.
pub fn dry_run(settings: &Settings, source: &Source) -> Result<i32, Failure> {
    let opts = settings.input_options();
    let survey = survey(source, &opts, &HashSet::new(), &mut |entry| {
        if let Err(reason) = &entry.target {
            console().note(
                "revoker::input",
                &format!("{}:{}: {reason}", source.name(), entry.line),
            );
        }
    })?;
    let envelope = settings.run.envelope;
    let mut seen: HashSet<Identity> = HashSet::new();
    source.scan(&opts, &mut |entry| {
        if let Ok(target) = entry.target
            && seen.insert(target.identity())
        {
            out(format!(
                "DELETE {}",
                settings
                    .api
                    .revoke_url(&settings.base_url, &target, envelope)
            ));
        }
        ControlFlow::Continue(())
    })?;
    console().note(
        "revoker::summary",
        &format!(
            "dry run: {} rows · {} to send · {} invalid · {} duplicates · {} projects and organizations; nothing was sent",
            survey.rows, survey.to_send, survey.invalid, survey.duplicates, survey.scopes
        ),
    );
    Ok(if survey.invalid > 0 {
        exit::UNFINISHED
    } else {
        exit::OK
    })
}
