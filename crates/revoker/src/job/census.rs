//! `revoker census`: the client, the reads, the token revoked however it ends, the rows written
//! (into a file that did not exist, or on stdout) and the summary table on the terminal.

use std::path::PathBuf;

use crate::census::{self, Census, read::Scope};
use crate::job::Failure;
use crate::settings::Settings;
use crate::ui::{Output, console, out};
use crate::vocab::exit;

/// Reads `scope` with the settings' credential.
async fn read(settings: &Settings, scope: &Scope) -> Result<(Census, Option<i32>), Failure> {
    let reading = super::acting::Reading::open(settings)?;
    let taken = census::read::census(&reading.ctx, scope).await;
    Ok((taken, reading.close().await))
}

/// `revoker census`: exit 0, or 1 when a list could not be read (what was read is still
/// written), or a stop's code.
pub async fn census_command(
    settings: Settings,
    scope: Scope,
    write: Option<PathBuf>,
    output: Output,
) -> Result<i32, Failure> {
    if scope.orgs.is_empty() {
        return Err(Failure::usage(format!(
            "a census needs an organization (--org ORG_ID, repeatable){}",
            settings.profile_org_hint()
        )));
    }
    // Made before a request is sent: a census never replaces a file.
    let mut file = match &write {
        Some(path) => Some(census::write::create(path).map_err(Failure::usage)?),
        None => None,
    };
    let (taken, stopped) = read(&settings, &scope).await?;
    let code = stopped.unwrap_or(if taken.problems.is_empty() {
        exit::OK
    } else {
        exit::UNFINISHED
    });
    match (&write, file.as_mut()) {
        (Some(path), Some(f)) => {
            census::write::write(f, path, &taken.rows).map_err(Failure::usage)?
        }
        _ if output == Output::Text => {
            let bytes = census::write::render(&taken.rows, crate::input::Format::Csv)
                .map_err(Failure::usage)?;
            out(String::from_utf8_lossy(&bytes).trim_end());
        }
        _ => {}
    }
    if output == Output::Json {
        out(serde_json::json!({
            "census": taken,
            "counts": taken.counts().into_iter().map(|((_, k), c)| (k, c)).collect::<std::collections::BTreeMap<_, _>>(),
            "written": write.as_ref().map(|p| p.display().to_string()),
            "exit_code": code,
        }));
    }
    let level = if taken.problems.is_empty() {
        "INFO"
    } else {
        "WARN"
    };
    console().emit(
        level,
        "revoker::census",
        &taken.table(),
        serde_json::json!({
            "objects": taken.rows.len(),
            "requests": taken.requests,
            "problems": taken.problems,
        }),
    );
    Ok(code)
}
