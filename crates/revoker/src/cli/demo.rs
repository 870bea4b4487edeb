//! `revoker demo`: a complete job against an in-process simulator seeded from `samples/`, with what a
//! real night brings (keys already gone, a project that refuses, bad rows, a per-project rate limit,
//! 503s), then a verification that the keys are gone, and an explanation.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::args::DemoArgs;
use super::{Failure, exit, out};
use crate::input::Source;
use crate::job::{PreparedJob, execute_job};
use crate::settings::{JobFile, Settings, expand_report_path};
use crate::ui::Outputs;
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

/// The simulator the demo runs against, serving until `stop` is sent.
struct Running {
    base_url: String,
    stats: sim::StatsHandle,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

/// Writes the samples into `dir` and starts a simulator seeded from them (read with the
/// simulator's own reader: it shares no model with revoker).
async fn start(dir: &Path) -> Result<Running, Failure> {
    write(&dir.join("samples/keys.csv"), KEYS)?;
    write(&dir.join("samples/compliance-export.csv"), EXPORT)?;
    write(&dir.join("samples/incident-export.csv"), INCIDENT)?;
    write(&dir.join("jobs/demo.toml"), JOB)?;
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
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sim.serve(async {
        let _ = stopped.await;
    }));
    Ok(Running {
        base_url,
        stats,
        stop,
        server,
    })
}

/// The demo job's settings: its job file, the simulator's address and credentials.
fn settings(dir: &Path, base_url: &str, service_account: bool) -> Result<Settings, Failure> {
    let flags = JobFile {
        base_url: Some(base_url.to_string()),
        concurrency: Some(16),
        verify: Some(true),
        ..JobFile::default()
    };
    let env = move |name: &str| -> Option<String> {
        let value = match (service_account, name) {
            (true, "MONGODB_ATLAS_CLIENT_ID") => sim::DEFAULT_CLIENT_ID,
            (true, "MONGODB_ATLAS_CLIENT_SECRET") => sim::DEFAULT_CLIENT_SECRET,
            (false, "MCLI_PUBLIC_API_KEY") => sim::DEFAULT_PUBLIC_KEY,
            (false, "MCLI_PRIVATE_API_KEY") => sim::DEFAULT_PRIVATE_KEY,
            _ => return None,
        };
        Some(value.to_string())
    };
    Ok(Settings::resolve(
        Some(&dir.join("jobs/demo.toml")),
        flags,
        &env,
    )?)
}

fn intro(base_url: &str, service_account: bool) -> String {
    let how = if service_account {
        "a service account\n  (OAuth 2.0 client credentials, one bearer token for the run)"
    } else {
        "an API key\n  (HTTP Digest, one nonce shared by every worker)"
    };
    format!(
        "revoker demo: a simulated Cloud Manager is listening at {base_url}
  it holds the 200 keys of samples/keys.csv, refuses project
  {FORBIDDEN} (403), answers 5% of requests with 503, and limits
  each project to a bucket of 5 requests refilled at 20/s (429 with
  Retry-After beyond; RateLimit-Remaining on every answer).
  revoker signs in with {how}.
  The job (jobs/demo.toml) revokes samples/compliance-export.csv: 171 rows
  with its own column names, 8 keys that no longer exist (one in the
  forbidden project), 3 bad rows; then it verifies.\n"
    )
}

use crate::text::plural;

fn what_happened(stats: &sim::Stats, report: &Path, dir: &Path, service_account: bool) -> String {
    let auth = if service_account {
        format!(
            "{} and {} revoked at the end:\n    one bearer token served every worker",
            plural(stats.token_requests, "token request", "token requests"),
            plural(stats.token_revokes, "token", "tokens")
        )
    } else {
        format!(
            "{}: the nonce is reused,\n    so a revocation costs one request",
            plural(stats.challenges, "digest challenge", "digest challenges")
        )
    };
    let throttled = match stats.status(429) {
        0 => "no answer was 429: RateLimit-Remaining kept every project's bucket\n    from running dry"
            .to_string(),
        n => format!(
            "{} 429 from a project's bucket: only that project waited\n    its Retry-After; RateLimit-Remaining kept the others' buckets from emptying",
            plural(n, "answer was", "answers were")
        ),
    };
    let (me, sim) = (commands::revoker(), commands::simulator());
    let report = report.display();
    format!(
        "
What happened:
  - the simulator received {}
    ({auth});
    it deleted {} and answered {} with the API's own
    \"not there\" (400 API_KEY_NOT_FOUND, 404 AGENT_API_KEY_NOT_FOUND): not_found;
  - {} 503, retried with backoff;
    {throttled};
  - rows of the forbidden project are `rejected` (403: retrying cannot fix
    it), bad rows are `invalid` with their line numbers, and verification
    listed {} to confirm the rest are gone;
  - the report, with its audit record beside it (who, where, which input by
    SHA-256) and a chain of digests, is
      {report}
    inspect it:
      {me} report {report}
    for review:
      {me} report {report} --html report.html
  - {}/samples/incident-export.csv holds every kind (organization keys,
    service accounts and their secrets); a simulator holding them:
      {sim} --keys {}/samples/incident-export.csv
    then run it with --base-url (the simulator's first line) and
    --kinds +org-api-key,service-account,service-account-secret.
",
        plural(stats.requests, "request", "requests"),
        plural(stats.deleted, "key", "keys"),
        plural(stats.not_found, "deletion", "deletions"),
        plural(stats.status(503), "answer was", "answers were"),
        plural(stats.lists, "page", "pages"),
        dir.display(),
        dir.display(),
    )
}

/// How to run revoker and the simulator from here, as commands that work when pasted.
mod commands {
    use std::path::{Path, PathBuf};

    /// `revoker` when the PATH finds this very binary, else this binary's path.
    pub fn revoker() -> String {
        let Ok(me) = std::env::current_exe() else {
            return "revoker".into();
        };
        if on_path("revoker").is_some_and(|p| same(&p, &me)) {
            return "revoker".into();
        }
        shown(&me)
    }

    /// `revoker-sim` beside this binary (a workspace build makes both), else how cargo runs it.
    pub fn simulator() -> String {
        let beside = std::env::current_exe()
            .ok()
            .and_then(|me| me.parent().map(|d| d.join("revoker-sim")))
            .filter(|p| p.is_file());
        match beside {
            Some(sim) if on_path("revoker-sim").is_some_and(|p| same(&p, &sim)) => {
                "revoker-sim".into()
            }
            Some(sim) => shown(&sim),
            None => "cargo run --release -p revoker-sim --".into(),
        }
    }

    fn on_path(name: &str) -> Option<PathBuf> {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    }

    fn same(a: &Path, b: &Path) -> bool {
        match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }

    /// A path relative to the current folder when it is under it (`target/release/revoker`).
    fn shown(path: &Path) -> String {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| path.to_path_buf())
            .display()
            .to_string()
    }
}

/// The demo: the explanation on stdout (`revoker demo | less` reads it), the run's progress and
/// summary on stderr as a real run's.
pub(super) async fn command(args: DemoArgs) -> Result<i32, Failure> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => tempfile::Builder::new()
            .prefix("revoker-demo-")
            .tempdir()?
            .keep(),
    };
    let running = start(&dir).await?;
    out(intro(&running.base_url, args.service_account));
    let mut settings = settings(&dir, &running.base_url, args.service_account)?;
    // The demo revokes only its own simulator's keys: nothing to confirm.
    settings.run.yes = true;
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
    let opts = settings.input_options();
    let prepared = PreparedJob {
        settings,
        source,
        report: report.clone(),
        resume: false,
        sign_key: None,
        exempt: Arc::default(),
        selection: None,
        opts,
        applied: None,
        ledger: None,
    };
    let outputs = Outputs {
        quiet: args.quiet,
        ..Outputs::default()
    };
    let code = execute_job(prepared, outputs).await?;
    let stats = running.stats.stats();
    let _ = running.stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), running.server).await;
    out(what_happened(&stats, &report, &dir, args.service_account));
    // Unfinished rows are what the demo shows; anything worse is a real failure.
    Ok(if code == exit::UNFINISHED {
        exit::OK
    } else {
        code
    })
}
