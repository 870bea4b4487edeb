//! Which server a verification or a resume asks: the one the report's runs used. Asked of another
//! server, a verification would find none of the keys ("gone") and a resume would find none of
//! them ("not_found"); neither is evidence.
//!
//! With no base URL given, the report's is used (from its audit record). One given that differs
//! from every run's is refused (exit 2, both named) unless `--api-moved` says the same API now
//! answers there, or it is the other API of the same server (whose answers for what it does not
//! hold are the other-API 404s, which finish nothing).

use std::path::Path;

use crate::api::{self, Api};
use crate::job::Failure;
use crate::report::audit;
use crate::settings::{Origin, Settings};

/// Outcomes only the API's own answers give.
const ANSWERED: [&str; 5] = ["done", "not_found", "rejected", "verified", "still_present"];

/// Points `settings` at the server the report's runs used (as `log`, its audit record, tells),
/// or refuses another one.
pub fn for_report(
    settings: &mut Settings,
    report: &Path,
    log: &audit::AuditLog,
) -> Result<(), Failure> {
    // A run whose server never answered as the API (a wrong URL, no connection) used no server.
    let answered = |run_id: &str| {
        log.records
            .iter()
            .find(|r| r.event == "end" && r.run_id == run_id)
            .is_none_or(|end| {
                end.outcomes
                    .iter()
                    .flatten()
                    .any(|(outcome, n)| *n > 0 && ANSWERED.contains(&outcome.as_str()))
            })
    };
    let used: Vec<String> = log
        .records
        .iter()
        .filter(|r| r.event == "start" && answered(&r.run_id))
        .filter_map(|r| r.base_url.clone())
        .collect();
    let Some(last) = used.last() else {
        return Ok(());
    };
    let given = settings.origins.get("base_url").cloned();
    if matches!(given, None | Some(Origin::Default)) {
        let url = api::parse_base_url(last).map_err(Failure::usage)?;
        settings.api = Api::of(&url).map_err(Failure::usage)?;
        settings.values.api = Some(settings.api);
        settings.values.base_url = Some(url.to_string());
        settings.base_url = url;
        settings
            .origins
            .insert("base_url", Origin::Report(report.to_path_buf()));
        return Ok(());
    }
    let now = settings.base_url.as_str().trim_end_matches('/');
    if used
        .iter()
        .any(|u| u.trim_end_matches('/') == now || other_api_of_same_server(u, &settings.base_url))
        || settings.run.api_moved
    {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "{} was written against {last}, not {now} (from {}): another server knows none of its keys, so its answers prove nothing; if the same API now answers at {now}, say so with --api-moved (api_moved = true in a job)",
        report.display(),
        given.map_or_else(|| "the settings".to_string(), |o| o.to_string()),
    )))
}

/// Whether `given` is the other API of the server at `used` (Cloud Manager's `api/public/v1.0` and
/// Atlas's `api/atlas/v2` at one root). Its answers prove nothing false: what one API does not hold
/// the other answers with 404 `NOT_ATLAS_GROUP`, `ATLAS_GROUP`, `NOT_ATLAS_ORG` or
/// `EXPECTED_NON_ATLAS_ORG`, which finish nothing. A run that met those moves there.
fn other_api_of_same_server(used: &str, given: &url::Url) -> bool {
    let Ok(used) = api::parse_base_url(used) else {
        return false;
    };
    match (Api::of(&used), Api::of(given)) {
        (Ok(a), Ok(b)) if a != b => a.root(&used) == b.root(given),
        _ => false,
    }
}
