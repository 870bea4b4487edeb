//! `revoker validate`: every bad row with its line, and what the file holds; nothing is sent.

use std::collections::HashSet;

use super::args::ValidateArgs;
use super::{Failure, Output, exit, out};
use crate::input::{Kind, Source, survey};
use crate::settings::delimiter_byte;
use crate::ui::console;

pub(super) fn command(args: ValidateArgs) -> Result<i32, Failure> {
    let source = Source::open(&args.input)?;
    let layer = args.how.layer();
    let mut opts = crate::input::InputOptions {
        format: layer.format,
        delimiter: match &layer.delimiter {
            Some(d) => Some(delimiter_byte(d)?),
            None => None,
        },
        columns: layer.columns,
        default_kind: layer.kind,
        allowed_kinds: layer.kinds.unwrap_or_default(),
        ..Default::default()
    };
    if let Some(api) = args.api {
        opts.agent_keys = api.has_agent_keys();
    }
    for note in source.header_notes(&opts)? {
        console().note("revoker::input", &note);
    }
    let mut bad = Vec::new();
    let mut grouped = crate::input::grouped::Grouped::default();
    let none = (&HashSet::new(), &crate::input::Exemptions::default());
    let survey = survey(&source, &opts, none, &mut |entry| {
        if let Err(reason) = &entry.target {
            grouped.add(reason, entry.line);
            bad.push(serde_json::json!({ "line": entry.line, "reason": reason }));
        }
    })?;
    if args.output == Output::Text {
        for line in grouped.lines(source.name(), usize::MAX) {
            out(line);
        }
    }
    let own = own_rows(&source, &opts, args.output == Output::Text)?;
    // The five kinds every export has had are always counted; the newer ones when present.
    let per_kind: Vec<String> = Kind::ALL
        .iter()
        .enumerate()
        .filter(|(i, k)| *i < 5 || survey.kind_count(**k) > 0)
        .map(|(_, k)| k)
        .map(|k| format!("{} {k}", survey.kind_count(*k)))
        .collect();
    match args.output {
        Output::Text => out(format!(
            "{}: {} · {} · {} invalid · {} · {}",
            source.name(),
            crate::text::plural(survey.rows, "row", "rows"),
            per_kind.join(" · "),
            survey.invalid,
            crate::text::plural(survey.duplicates, "duplicate", "duplicates"),
            crate::text::plural(
                survey.scopes,
                "project or organization",
                "projects and organizations"
            )
        )),
        Output::Json => out(serde_json::json!({
            "input": source.name(),
            "sha256": source.sha256(),
            "rows": survey.rows,
            "kinds": Kind::ALL.iter().map(|k| (k.as_str(), survey.kind_count(*k))).collect::<std::collections::BTreeMap<_, _>>(),
            "invalid": survey.invalid,
            "duplicates": survey.duplicates,
            "scopes": survey.scopes,
            "invalid_rows": bad,
            "own_credential_rows": own,
        })),
    }
    Ok(if survey.invalid > 0 || own > 0 {
        exit::UNFINISHED
    } else {
        exit::OK
    })
}

/// Rows naming the service account the environment signs in with: a run would refuse them (or,
/// allowed, send them last). An API key's id is not known without asking the server.
fn own_rows(
    source: &Source,
    opts: &crate::input::InputOptions,
    print: bool,
) -> Result<u64, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let Ok(Some(found)) = crate::settings::credentials::from_env(&env) else {
        return Ok(0);
    };
    let crate::api::Credential::ServiceAccount { client_id, .. } = &found.credential else {
        return Ok(0);
    };
    let own = crate::guard::Own::of(Some(client_id), found.credential.public_identity());
    let mut count = 0;
    source.scan(opts, &mut |entry| {
        if let Ok(t) = &entry.target
            && own.matches(t)
        {
            count += 1;
            if print {
                out(format!(
                    "{}:{}: {}",
                    source.name(),
                    entry.line,
                    own.refusal()
                ));
            }
        }
        std::ops::ControlFlow::Continue(())
    })?;
    Ok(count)
}
