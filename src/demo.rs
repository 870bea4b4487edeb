//! `revoker demo`: a complete job against an in-process simulator seeded from `samples/`, with the
//! faults of a real night (missing keys, a forbidden project, bad rows, a rate limit, 503s).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use secrecy::SecretString;

use crate::cli::DemoArgs;
use crate::cli::{Failure, Outputs, PreparedJob, execute_job, exit};
use crate::input::{InputOptions, ObjectId};
use crate::job::{self, Credentials, JobFile};
use crate::sim::{self, Sim, SimConfig};

/// What the simulated Cloud Manager holds.
const KEYS: &str = include_str!("../samples/keys.csv");
/// The compliance export the job revokes.
const EXPORT: &str = include_str!("../samples/compliance-export.csv");
const JOB: &str = include_str!("../jobs/demo.toml");
/// The project whose key access is refused in the demo.
const FORBIDDEN: &str = "1600a35a099950d836f675cc";

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

pub async fn run(args: DemoArgs) -> Result<i32, Failure> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => tempfile::Builder::new()
            .prefix("revoker-demo-")
            .tempdir()?
            .keep(),
    };
    write(&dir.join("samples/keys.csv"), KEYS)?;
    write(&dir.join("samples/compliance-export.csv"), EXPORT)?;
    write(&dir.join("jobs/demo.toml"), JOB)?;

    let keys = crate::cli::load_keys(&dir.join("samples/keys.csv"), &InputOptions::default())?;
    let config = SimConfig {
        rate_limit_per_minute: Some(3000),
        retry_after: Some(1),
        error_rate: 0.05,
        forbid_projects: ObjectId::parse(FORBIDDEN).into_iter().collect(),
        ..SimConfig::default()
    };
    let sim = Sim::bind(config, keys, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let base_url = sim.base_url();
    let stats = sim.stats_handle();
    let (stop_sim, sim_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sim.serve(async {
        let _ = sim_stopped.await;
    }));

    eprintln!("revoker demo: a simulated Cloud Manager is listening at {base_url}");
    eprintln!("  it holds the 200 keys of samples/keys.csv, refuses project {FORBIDDEN} (403),");
    eprintln!(
        "  answers 5% of requests with 503, and allows 50 requests/s (429 with Retry-After: 1 beyond)."
    );
    eprintln!(
        "  The job (jobs/demo.toml) revokes samples/compliance-export.csv: 171 rows with its own column"
    );
    eprintln!("  names, 8 keys that no longer exist (one in the forbidden project), 3 bad rows.\n");

    let job_path = dir.join("jobs/demo.toml");
    let mut settings = JobFile::load(&job_path)?;
    settings.base_url = Some(base_url.clone());
    settings.concurrency = Some(16);
    let template = settings
        .report
        .clone()
        .unwrap_or_else(|| "demo-report.csv".into());
    let report = job::expand_report_path(&template, "demo", &jiff::Zoned::now());
    let input = settings
        .input
        .clone()
        .context("jobs/demo.toml names no input")?;
    let prepared = PreparedJob {
        settings,
        input,
        report: report.clone(),
        resume: false,
        base_url: crate::api::parse_base_url(&base_url)?,
        credentials: Credentials {
            public_key: sim::DEFAULT_PUBLIC_KEY.into(),
            private_key: SecretString::from(sim::DEFAULT_PRIVATE_KEY),
            source: "the demo's simulator".into(),
        },
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

    eprintln!("\nWhat happened:");
    eprintln!(
        "  - the simulator received {} requests ({} digest challenge(s): the nonce is reused, so a",
        stats.requests, stats.challenges
    );
    eprintln!(
        "    revocation costs one request), deleted {} keys and answered {} with 404;",
        stats.deleted, stats.not_found
    );
    eprintln!(
        "  - {} answers were 503 and {} were 429: both retried with backoff; each 429 paused every worker",
        stats.status(503),
        stats.status(429)
    );
    eprintln!(
        "    until its Retry-After, and dense 429s lowered the rate, so the run settled under the limit;"
    );
    eprintln!(
        "  - rows of the forbidden project are `rejected` (403: retrying cannot fix it), bad rows are"
    );
    eprintln!("    `invalid` with their line numbers, keys already gone are `not_found`;");
    eprintln!("  - the report is {}", report.display());
    eprintln!("    inspect it:   revoker report {}", report.display());
    eprintln!(
        "    resume it:    revoker sim --keys {} &   # then, with its base URL:",
        dir.join("samples/keys.csv").display()
    );
    eprintln!(
        "                  MCLI_PUBLIC_API_KEY={} MCLI_PRIVATE_API_KEY=… revoker run {} --report {} --base-url URL --resume",
        sim::DEFAULT_PUBLIC_KEY,
        job_path.display(),
        report.display()
    );
    // Unfinished rows are what the demo shows; anything worse is a real failure.
    Ok(if code == exit::UNFINISHED {
        exit::OK
    } else {
        code
    })
}
