//! `revoker sim`: the simulator on loopback, seeded from a keys file or generated keys.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

use super::args::SimArgs;
use super::console::console;
use super::{Failure, exit};
use crate::input::{InputOptions, Kind, ObjectId, Source, Target};
use crate::sim::{Bucket, Sim, SimConfig};

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

/// `n` keys over `projects` projects, alternating project and agent API keys; the same every time.
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
            scope: id(0x5e00_0000, i % projects),
            key: id(0x6a00_0000, i),
            secret: None,
        })
        .collect()
}

/// Writes keys as a CSV input file (`project`, `org`, `key`, `secret`, `kind`).
pub fn write_keys(path: &Path, keys: &[Target]) -> anyhow::Result<()> {
    let mut csv = csv::Writer::from_path(path)?;
    csv.write_record(["project", "org", "key", "secret", "kind"])?;
    for t in keys {
        let scope = t.scope.to_string();
        let (project, org) = if t.kind.is_org_wide() {
            ("", scope.as_str())
        } else {
            (scope.as_str(), "")
        };
        csv.write_record([
            project,
            org,
            &t.key_text(),
            &t.secret_text(),
            t.kind.as_str(),
        ])?;
    }
    csv.flush()?;
    Ok(())
}

pub(super) async fn command(args: SimArgs) -> Result<i32, Failure> {
    if !crate::sim::is_loopback(&args.listen) && !args.allow_remote {
        return Err(Failure::usage(format!(
            "refusing to listen on {}: not a loopback address (pass --allow-remote if you really mean it)",
            args.listen
        )));
    }
    let layer = args.how.layer();
    let opts = InputOptions {
        format: layer.format,
        columns: layer.columns,
        default_kind: layer.kind,
        // Seeding takes every kind the file names.
        allowed_kinds: Kind::ALL.to_vec(),
        ..InputOptions::default()
    };
    let mut keys = match &args.keys {
        Some(path) => load_keys(path, &opts)?,
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
        client_id: args.client_id,
        client_secret: args.client_secret,
        token_ttl: Duration::from_secs(args.token_ttl.max(1)),
        latency: Duration::from_millis(args.latency_ms),
        latency_jitter: Duration::from_millis(args.latency_jitter_ms),
        error_rate: args.error_rate,
        error_status: args.error_status,
        reset_rate: args.reset_rate,
        user_bucket: args
            .user_bucket
            .or(args.rate_limit_per_minute.map(Bucket::per_minute)),
        scope_bucket: args
            .scope_bucket
            .or(args.project_rate_limit_per_minute.map(Bucket::per_minute)),
        limited_scopes: args.limit_scope,
        ratelimit_headers: args.ratelimit_headers,
        retry_after: args.retry_after,
        retry_after_style: args.retry_after_style,
        nonce_ttl: args.nonce_ttl.map(Duration::from_secs),
        forbid_projects: args.forbid_project,
        not_in_group: args.not_in_group,
        access_list_denied: args.access_list_denied,
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
    // The first lines are read by scripts; make sure they leave now, not at exit. A script that
    // stops reading after the first line must not stop the simulator: errors are ignored.
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}\n{}", sim.base_url(), sim.atlas_url());
        let _ = stdout.flush();
    }
    console().note(
        "revoker::sim",
        &format!(
            "simulated Cloud Manager and Atlas with {count} items; stats at {}/__sim/stats; Ctrl-C to stop",
            sim.base_url().trim_end_matches(crate::sim::API_PREFIX)
        ),
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
