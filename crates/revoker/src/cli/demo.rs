//! `revoker demo`: a complete job against an in-process simulator seeded from `samples/`, with what a
//! real night brings (keys already gone, a project that refuses, bad rows, a per-project rate limit,
//! 503s), then a verification that the keys are gone, and an explanation.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::args::DemoArgs;
use super::{Failure, exit};
use crate::input::Source;
use crate::job::{PreparedJob, execute_job};
use crate::settings::{JobFile, Settings, expand_report_path};
use crate::ui::Outputs;
use crate::ui::console;
use revoker_sim::{self as sim, Bucket, Oid, Sim, SimConfig};

/// What the simulated Cloud Manager holds.
const KEYS: &str = include_str!("../../../../samples/keys.csv");
/// The compliance export the job revokes.
const EXPORT: &str = include_str!("../../../../samples/compliance-export.csv");
/// An incident's export, every kind (for trying `--kinds` and `--api atlas` afterwards).
const INCIDENT: &str = include_str!("../../../../samples/incident-export.csv");
const JOB: &str = include_str!("../../../../jobs/demo.toml");
/// The project whose key is refused in the demo (403).
const FORBIDDEN: &str = "1600a35a099950d836f675cc";

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

pub(super) async fn command(args: DemoArgs) -> Result<i32, Failure> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => tempfile::Builder::new()
            .prefix("revoker-demo-")
            .tempdir()?
            .keep(),
    };
    write(&dir.join("samples/keys.csv"), KEYS)?;
    write(&dir.join("samples/compliance-export.csv"), EXPORT)?;
    write(&dir.join("samples/incident-export.csv"), INCIDENT)?;
    write(&dir.join("jobs/demo.toml"), JOB)?;

    // The simulator reads its seeds with its own reader: it shares no model with revoker.
    let mut keys = sim::seed::read(&dir.join("samples/keys.csv")).map_err(Failure::usage)?;
    keys.extend(sim::seed::read(&dir.join("samples/incident-export.csv")).map_err(Failure::usage)?);
    let config = SimConfig {
        scope_bucket: Some(Bucket {
            capacity: 5,
            refill: 20,
            per: Duration::from_secs(1),
        }),
        ratelimit_headers: true,
        error_rate: 0.05,
        forbid_projects: Oid::parse(FORBIDDEN).into_iter().collect(),
        ..SimConfig::default()
    };
    let sim = Sim::bind(config, keys, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let base_url = sim.base_url();
    let stats = sim.stats_handle();
    let (stop_sim, sim_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sim.serve(async {
        let _ = sim_stopped.await;
    }));

    let c = console();
    let how = if args.service_account {
        "a service account (OAuth 2.0 client credentials, one bearer token for the run)"
    } else {
        "an API key (HTTP Digest, one nonce shared by every worker)"
    };
    c.note(
        "revoker::demo",
        &format!(
            "revoker demo: a simulated Cloud Manager is listening at {base_url}
  it holds the 200 keys of samples/keys.csv, refuses project {FORBIDDEN} (403), answers 5% of
  requests with 503, and limits each project to a bucket of 5 requests refilled at 20/s (429 with
  Retry-After beyond; RateLimit-Remaining on every answer). revoker signs in with {how}.
  The job (jobs/demo.toml) revokes samples/compliance-export.csv: 171 rows with its own column
  names, 8 keys that no longer exist (one in the forbidden project), 3 bad rows; then it verifies.\n"
        ),
    );

    let job_path = dir.join("jobs/demo.toml");
    let flags = JobFile {
        base_url: Some(base_url.clone()),
        concurrency: Some(16),
        verify: Some(true),
        ..JobFile::default()
    };
    let service_account = args.service_account;
    let env = move |name: &str| -> Option<String> {
        let value = if service_account {
            match name {
                "MONGODB_ATLAS_CLIENT_ID" => sim::DEFAULT_CLIENT_ID,
                "MONGODB_ATLAS_CLIENT_SECRET" => sim::DEFAULT_CLIENT_SECRET,
                _ => return None,
            }
        } else {
            match name {
                "MCLI_PUBLIC_API_KEY" => sim::DEFAULT_PUBLIC_KEY,
                "MCLI_PRIVATE_API_KEY" => sim::DEFAULT_PRIVATE_KEY,
                _ => return None,
            }
        };
        Some(value.to_string())
    };
    let settings = Settings::resolve(Some(&job_path), flags, &env)?;
    let template = settings
        .values
        .report
        .clone()
        .unwrap_or_else(|| "demo-report.csv".into());
    let report = expand_report_path(&template, "demo", &jiff::Zoned::now());
    let input = settings
        .values
        .input
        .clone()
        .context("jobs/demo.toml names no input")?;
    let source = Arc::new(Source::open(&input)?);
    let prepared = PreparedJob {
        settings,
        source,
        report: report.clone(),
        resume: false,
        sign_key: None,
    };
    let code = execute_job(
        prepared,
        Outputs {
            quiet: args.quiet,
            ..Outputs::default()
        },
    )
    .await?;
    let stats = stats.stats();
    let _ = stop_sim.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;

    let auth = if args.service_account {
        format!(
            "{} token request(s) and {} token revoked at the end: one bearer token served every worker",
            stats.token_requests, stats.token_revokes
        )
    } else {
        format!(
            "{} digest challenge(s): the nonce is reused, so a revocation costs one request",
            stats.challenges
        )
    };
    let throttled = match stats.status(429) {
        0 => "no answer was 429: RateLimit-Remaining kept every project's bucket from running dry"
            .to_string(),
        n => format!(
            "{n} were 429 from a project's bucket: only that project waited its Retry-After,\n    and RateLimit-Remaining kept the others from emptying theirs"
        ),
    };
    c.note(
        "revoker::demo",
        &format!(
            "
What happened:
  - the simulator received {} requests ({auth}); it deleted {} keys and answered {} deletions
    with the API's own \"not there\" (400 API_KEY_NOT_FOUND, 404 AGENT_API_KEY_NOT_FOUND): not_found;
  - {} answers were 503, retried with backoff; {throttled};
  - rows of the forbidden project are `rejected` (403: retrying cannot fix it), bad rows are `invalid`
    with their line numbers, and verification listed {} pages to confirm the rest are gone;
  - the report is {}
    with its audit record beside it (who, where, which input by SHA-256) and a chain of digests;
    inspect it:   revoker report {}
    for review:   revoker report {} --html report.html
  - samples/incident-export.csv in {} holds every kind (organization keys, service accounts and their
    secrets): try it against `revoker-sim --keys` with --kinds org-api-key,service-account,service-account-secret.",
            stats.requests,
            stats.deleted,
            stats.not_found,
            stats.status(503),
            stats.lists,
            report.display(),
            report.display(),
            report.display(),
            dir.display(),
        ),
    );
    // Unfinished rows are what the demo shows; anything worse is a real failure.
    Ok(if code == exit::UNFINISHED {
        exit::OK
    } else {
        code
    })
}
