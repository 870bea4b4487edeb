//! `revoker validate`, `revoker report` and `revoker sim`.

use std::collections::HashSet;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::args::{InputArgs, ReportArgs, SimArgs, ValidateArgs};
use super::{Failure, exit};
use crate::input::{InputOptions, Kind, ObjectId, Source, Target, survey};
use crate::report::{Outcome, escape_cell, summarize_report};
use crate::sim::{Sim, SimConfig};

impl InputArgs {
    pub(super) fn options(&self) -> InputOptions {
        InputOptions {
            format: self.format,
            columns: self.columns.clone().unwrap_or_default(),
            default_kind: self.kind,
            allowed_kinds: self.kinds.clone().unwrap_or_default(),
        }
    }
}

pub(super) fn validate(args: ValidateArgs) -> Result<i32, Failure> {
    let source = Source::open(&args.input)?;
    let mut stdout = std::io::stdout().lock();
    let survey = survey(
        &source,
        &args.how.options(),
        &HashSet::new(),
        &mut |entry| {
            if let Err(reason) = &entry.target {
                let _ = writeln!(stdout, "{}:{}: {reason}", source.name(), entry.line);
            }
        },
    )?;
    drop(stdout);
    println!(
        "{}: {} rows · {} project-api-key · {} agent-api-key · {} invalid · {} duplicates · {} projects",
        source.name(),
        survey.rows,
        survey.per_kind[0],
        survey.per_kind[1],
        survey.invalid,
        survey.duplicates,
        survey.projects
    );
    Ok(if survey.invalid > 0 {
        exit::UNFINISHED
    } else {
        exit::OK
    })
}

pub(super) fn report(args: ReportArgs) -> Result<i32, Failure> {
    let overview = summarize_report(&args.report)?;
    let unfinished = overview.unfinished.len();
    if args.json {
        let json = serde_json::json!({
            "report": args.report.display().to_string(),
            "runs": overview.runs,
            "latest": overview.latest,
            "unfinished": unfinished,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).context("cannot show the report as JSON")?
        );
    } else {
        println!("{}: {} runs", args.report.display(), overview.runs.len());
        for run in &overview.runs {
            println!("{run}");
        }
        let latest: Vec<String> = Outcome::ALL
            .iter()
            .map(|o| format!("{o} {}", overview.latest.get(o).copied().unwrap_or(0)))
            .collect();
        println!("latest outcome of each row: {}", latest.join(" · "));
        const SHOWN: usize = 20;
        for r in overview.unfinished.iter().take(SHOWN) {
            println!(
                "  line {}: {} {} {} {}: {}",
                r.line, r.outcome, r.kind, r.project, r.key, r.message
            );
        }
        if unfinished > SHOWN {
            println!(
                "  … and {} more (write them all with --failures FILE)",
                unfinished - SHOWN
            );
        }
    }
    if let Some(path) = &args.failures {
        write_failures(path, &overview.unfinished)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "{}: {unfinished} rows not finished, ready for `revoker run --input {}`",
            path.display(),
            path.display()
        );
    }
    Ok(if unfinished > 0 {
        exit::UNFINISHED
    } else {
        exit::OK
    })
}

/// The unfinished rows as an input file: the three columns `revoker run` reads, then why.
fn write_failures(path: &Path, rows: &[crate::report::Record]) -> anyhow::Result<()> {
    let mut csv = csv::Writer::from_path(path)?;
    csv.write_record([
        "project",
        "key",
        "kind",
        "line",
        "outcome",
        "http_status",
        "error_code",
        "message",
    ])?;
    for r in rows {
        let status = r.http_status.map(|s| s.to_string()).unwrap_or_default();
        let line = r.line.to_string();
        csv.write_record([
            escape_cell(&r.project).as_ref(),
            escape_cell(&r.key).as_ref(),
            escape_cell(&r.kind).as_ref(),
            &line,
            r.outcome.as_str(),
            &status,
            escape_cell(&r.error_code).as_ref(),
            escape_cell(&r.message).as_ref(),
        ])?;
    }
    csv.flush()?;
    Ok(())
}

/// Reads the valid rows of a keys file for seeding the simulator.
pub fn load_keys(path: &Path, opts: &InputOptions) -> Result<Vec<Target>, Failure> {
    let source = Source::open(path)?;
    let mut keys = Vec::new();
    source.scan(opts, &mut |entry| {
        if let Ok(target) = entry.target {
            keys.push(target);
        }
        ControlFlow::Continue(())
    })?;
    Ok(keys)
}

/// `n` keys over `projects` projects, alternating kinds; the same every time.
pub fn generate_keys(n: u64, projects: u64) -> Vec<Target> {
    let projects = projects.max(1);
    let id = |prefix: u32, n: u64| {
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&prefix.to_be_bytes());
        bytes[4..].copy_from_slice(&n.to_be_bytes());
        ObjectId::from_bytes(bytes)
    };
    (0..n)
        .map(|i| Target {
            kind: if i % 2 == 0 {
                Kind::ProjectApiKey
            } else {
                Kind::AgentApiKey
            },
            project: id(0x5e00_0000, i % projects),
            key: id(0x6a00_0000, i),
        })
        .collect()
}

/// Writes keys as a CSV input file.
pub fn write_keys(path: &Path, keys: &[Target]) -> anyhow::Result<()> {
    let mut csv = csv::Writer::from_path(path)?;
    csv.write_record(["project", "key", "kind"])?;
    for t in keys {
        csv.write_record([t.project.to_string(), t.key.to_string(), t.kind.to_string()])?;
    }
    csv.flush()?;
    Ok(())
}

pub(super) async fn sim(args: SimArgs) -> Result<i32, Failure> {
    if !crate::sim::is_loopback(&args.listen) && !args.allow_remote {
        return Err(anyhow::anyhow!(
            "refusing to listen on {}: not a loopback address (pass --allow-remote if you really mean it)",
            args.listen
        )
        .into());
    }
    let mut keys = match &args.keys {
        Some(path) => load_keys(path, &args.how.options())?,
        None => Vec::new(),
    };
    if let Some(n) = args.generate {
        let generated = generate_keys(n, args.projects);
        if let Some(path) = &args.write_keys {
            write_keys(path, &generated)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        keys.extend(generated);
    }
    let config = SimConfig {
        public_key: args.public_key,
        private_key: args.private_key,
        latency: Duration::from_millis(args.latency_ms),
        latency_jitter: Duration::from_millis(args.latency_jitter_ms),
        error_rate: args.error_rate,
        error_status: args.error_status,
        reset_rate: args.reset_rate,
        rate_limit_per_minute: args.rate_limit_per_minute,
        project_rate_limit_per_minute: args.project_rate_limit_per_minute,
        retry_after: args.retry_after,
        retry_after_style: args.retry_after_style,
        nonce_ttl: args.nonce_ttl.map(Duration::from_secs),
        forbid_projects: args.forbid_project,
        faults: args.fault,
        challenge: args.challenge,
        tls: args
            .tls_cert
            .zip(args.tls_key)
            .map(|(cert, key)| crate::sim::TlsFiles { cert, key }),
    };
    let count = keys.len();
    let sim = Sim::bind(config, keys, args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("{}", sim.base_url());
    // The first line is read by scripts; make sure it leaves now, not at exit.
    let _ = std::io::stdout().flush();
    eprintln!(
        "simulated Cloud Manager with {count} keys; stats at {}/__sim/stats; Ctrl-C to stop",
        sim.base_url().trim_end_matches(crate::sim::API_PREFIX)
    );
    sim.serve(async {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    })
    .await;
    Ok(exit::OK)
}
