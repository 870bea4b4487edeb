//! The benchmark: the release binary against the simulator on loopback, scenario by scenario.
//!
//!     cargo bench --bench revoker_bench                  # every scenario, 3 runs each
//!     cargo bench --bench revoker_bench -- rate-200      # scenarios whose name contains the words
//!     cargo bench --bench revoker_bench -- --runs 1 --quick   # tiny sizes: a smoke test
//!
//! Prints one table (min / median / max of each figure) and writes the figures as JSON to
//! target/bench/revoker-bench.json. Every scenario is bounded in rows and time.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod events;
mod incident;
mod rotate;

use revoker_testkit::simulator::{
    Bucket, DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, Fault, SimConfig, SimHandle,
};

mod census;

const BIN: &str = env!("CARGO_BIN_EXE_revoker");

/// One figure of one run.
type Figures = Vec<(&'static str, f64)>;

/// A figure's name, its target as text, and the check of a value against it.
type Target = (&'static str, &'static str, fn(f64) -> bool);

struct Scenario {
    name: &'static str,
    about: &'static str,
    /// Figure name, target text, and whether a value meets it.
    targets: Vec<Target>,
    run: fn(&Bench) -> Figures,
}

struct Bench {
    quick: bool,
    dir: tempfile::TempDir,
}

impl Bench {
    fn size(&self, full: u64, quick: u64) -> u64 {
        if self.quick { quick } else { full }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

use revoker_testkit::{keys, write_csv as write_input};

mod findings;

/// The simulator holding `keys`, which it reads as text with its own model.
fn spawn_sim(config: SimConfig, keys: Vec<revoker::input::Target>) -> std::io::Result<SimHandle> {
    SimHandle::spawn(config, revoker_testkit::seeds(&keys))
}

fn fresh(path: &Path) {
    for suffix in ["", ".lock", ".sent", ".audit.jsonl", ".input"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn revoker(sim: &SimHandle, input: &Path, report: &Path, args: &[&str]) -> Command {
    revoker_at(sim.base_url(), input, report, args)
}

/// `revoker run` against the API at `base`.
fn revoker_at(base: &str, input: &Path, report: &Path, args: &[&str]) -> Command {
    fresh(report);
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--quiet", "--base-url", base])
        .arg("--input")
        .arg(input)
        .arg("--report")
        .arg(report)
        .args(args)
        .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .env_remove("MCLI_OPS_MANAGER_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Peak resident memory of a child, read from /proc while it runs (VmHWM only grows).
fn run_measured(mut cmd: Command, limit: Duration) -> (Duration, f64, i32) {
    let started = Instant::now();
    let mut child: Child = cmd.spawn().expect("start revoker");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0.0f64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path)
            && let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kb: f64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            let elapsed = started.elapsed();
            let code = status.code().unwrap_or(-1);
            if code != 0 {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                eprintln!("revoker exited {code}: {err}");
            }
            return (elapsed, peak_kb / 1024.0, code);
        }
        assert!(
            started.elapsed() < limit,
            "a scenario ran past its bound of {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn throughput(b: &Bench) -> Figures {
    let n = b.size(20_000, 500);
    let keys = keys(n, 100);
    let sim = spawn_sim(SimConfig::default(), keys.clone()).expect("sim");
    write_input(&b.file("t.csv"), &keys);
    let (elapsed, _, code) = run_measured(
        revoker(
            &sim,
            &b.file("t.csv"),
            &b.file("t.report.csv"),
            &["--concurrency", "64"],
        ),
        Duration::from_secs(120),
    );
    let stats = sim.stats();
    assert!(code == 0 && stats.deleted == n, "{stats:?}");
    vec![
        ("requests per revocation", stats.requests as f64 / n as f64),
        ("rows/s", n as f64 / elapsed.as_secs_f64()),
    ]
}

/// What users do today: one `curl --digest` per key, 32 at a time.
fn versus_curl(b: &Bench) -> Figures {
    let n = b.size(5_000, 200);
    let keys = keys(n, 50);
    let sim = spawn_sim(SimConfig::default(), keys.clone()).expect("sim");
    write_input(&b.file("c.csv"), &keys);
    let (ours, _, code) = run_measured(
        revoker(
            &sim,
            &b.file("c.csv"),
            &b.file("c.report.csv"),
            &["--concurrency", "32"],
        ),
        Duration::from_secs(120),
    );
    assert_eq!(code, 0);

    let sim = spawn_sim(SimConfig::default(), keys.clone()).expect("sim");
    let base = revoker::api::parse_base_url(sim.base_url()).expect("url");
    let urls: String = keys
        .iter()
        .map(|t| {
            format!(
                "{}\n",
                revoker::api::Api::CloudManager.revoke_url(&base, t, false)
            )
        })
        .collect();
    std::fs::write(b.file("urls.txt"), urls).expect("urls");
    let started = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "xargs -P 32 -n 1 curl -s -o /dev/null --digest --user {DEFAULT_PUBLIC_KEY}:{DEFAULT_PRIVATE_KEY} -X DELETE < {}",
            b.file("urls.txt").display()
        ))
        .status()
        .expect("xargs and curl");
    let theirs = started.elapsed();
    assert!(
        status.success() && sim.stats().deleted == n,
        "curl deleted {}",
        sim.stats().deleted
    );
    vec![
        ("revoker s", ours.as_secs_f64()),
        ("xargs+curl s", theirs.as_secs_f64()),
        ("speed ratio", theirs.as_secs_f64() / ours.as_secs_f64()),
        (
            "curl requests per key",
            sim.stats().requests as f64 / n as f64,
        ),
    ]
}

fn rate_200(b: &Bench) -> Figures {
    let n = b.size(2_000, 200);
    let keys = keys(n, 20);
    let config = SimConfig {
        user_bucket: Some(Bucket::per_minute(12_000)),
        retry_after: Some(1),
        ..SimConfig::default()
    };
    let sim = spawn_sim(config, keys.clone()).expect("sim");
    write_input(&b.file("r.csv"), &keys);
    let (elapsed, _, code) = run_measured(
        revoker(
            &sim,
            &b.file("r.csv"),
            &b.file("r.report.csv"),
            &["--rate", "200/s", "--concurrency", "32"],
        ),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0);
    vec![
        ("wall s (ideal n/200)", elapsed.as_secs_f64()),
        ("429s", sim.stats().status(429) as f64),
    ]
}

fn latency_100(b: &Bench) -> Figures {
    let n = b.size(2_000, 200);
    let keys = keys(n, 20);
    let config = SimConfig {
        latency: Duration::from_millis(100),
        ..SimConfig::default()
    };
    let sim = spawn_sim(config, keys.clone()).expect("sim");
    write_input(&b.file("l.csv"), &keys);
    let (elapsed, _, code) = run_measured(
        revoker(
            &sim,
            &b.file("l.csv"),
            &b.file("l.report.csv"),
            &["--concurrency", "50"],
        ),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0);
    vec![("wall s (ideal n/50 x 0.1)", elapsed.as_secs_f64())]
}

fn faults(b: &Bench) -> Figures {
    let n = b.size(10_000, 300);
    let keys = keys(n, 100);
    let config = SimConfig {
        error_rate: 0.30,
        reset_rate: 0.05,
        faults: vec![(Fault::Throttle, 0.10)],
        retry_after: Some(0),
        ..SimConfig::default()
    };
    let sim = spawn_sim(config, keys.clone()).expect("sim");
    write_input(&b.file("f.csv"), &keys);
    let (elapsed, _, code) = run_measured(
        revoker(
            &sim,
            &b.file("f.csv"),
            &b.file("f.report.csv"),
            &["--concurrency", "64", "--max-attempts", "20"],
        ),
        Duration::from_secs(300),
    );
    let stats = sim.stats();
    vec![
        (
            "all done (1 = yes)",
            f64::from(u8::from(code == 0 && stats.remaining == 0)),
        ),
        ("requests per row", stats.requests as f64 / n as f64),
        ("wall s", elapsed.as_secs_f64()),
    ]
}

fn million(b: &Bench) -> Figures {
    let small = b.size(10_000, 1_000);
    let big = b.size(1_000_000, 20_000);
    let mut figures = Vec::new();
    let mut per_row = Vec::new();
    for n in [small, big] {
        let keys = keys(n, 1_000);
        let sim = spawn_sim(SimConfig::default(), keys.clone()).expect("sim");
        let input = b.file(&format!("m{n}.csv"));
        write_input(&input, &keys);
        drop(keys);
        let (elapsed, rss, code) = run_measured(
            revoker(
                &sim,
                &input,
                &b.file("m.report.csv"),
                &["--concurrency", "64"],
            ),
            Duration::from_secs(600),
        );
        assert!(code == 0 && sim.stats().remaining == 0);
        per_row.push(elapsed.as_secs_f64() / n as f64);
        if n == big {
            figures.push(("peak RSS MB", rss));
            figures.push(("rows/s", n as f64 / elapsed.as_secs_f64()));
        }
    }
    figures.push(("time per row big/small", per_row[1] / per_row[0]));
    figures
}

/// Resume of a large report almost entirely done: how long until the first request.
fn resume_million(b: &Bench) -> Figures {
    let n = b.size(1_000_000, 20_000);
    let left = n / 1000;
    let keys = keys(n, 1_000);
    let input = b.file("resume.csv");
    write_input(&input, &keys);
    let report = b.file("resume.report.csv");
    fresh(&report);
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&report).expect("report"));
        // A report in the format written before the chain (12 columns): it still resumes.
        writeln!(
            out,
            "{}",
            revoker::report::HEADER[..revoker::report::OLD_COLUMNS].join(",")
        )
        .expect("write");
        for (i, t) in keys.iter().enumerate() {
            let (outcome, status) = if (i as u64) < n - left {
                ("done", "200")
            } else {
                ("failed", "503")
            };
            writeln!(
                out,
                "20261124T000000Z-0000,2026-11-24T00:00:00.000Z,{},{},{},{},{outcome},{status},,1,3,",
                i + 2,
                t.kind,
                t.scope,
                t.key
            )
            .expect("write");
        }
    }
    let sim = spawn_sim(SimConfig::default(), keys[(n - left) as usize..].to_vec()).expect("sim");
    let mut cmd = Command::new(BIN);
    cmd.args([
        "run",
        "--quiet",
        "--resume",
        "--concurrency",
        "32",
        "--base-url",
        sim.base_url(),
    ])
    .arg("--input")
    .arg(&input)
    .arg("--report")
    .arg(&report)
    .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
    .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("start");
    let mut first = None;
    while child.try_wait().expect("wait").is_none() {
        if first.is_none() && sim.stats().requests > 0 {
            first = Some(started.elapsed());
        }
        assert!(started.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(2));
    }
    let total = started.elapsed();
    assert_eq!(sim.stats().remaining, 0);
    vec![
        (
            "s until first request",
            first.unwrap_or(total).as_secs_f64(),
        ),
        ("wall s", total.as_secs_f64()),
    ]
}

fn projects(b: &Bench) -> Figures {
    let (projects, per) = if b.quick { (10, 10) } else { (50, 40) };
    let n = projects * per;
    // Sorted by project, as exports usually are: the hardest order for a per-project limit.
    let mut keys = keys(n, projects);
    keys.sort_by_key(|t| t.scope);
    let config = SimConfig {
        scope_bucket: Some(Bucket::per_minute(600)),
        retry_after: Some(1),
        ..SimConfig::default()
    };
    let sim = spawn_sim(config, keys.clone()).expect("sim");
    write_input(&b.file("p.csv"), &keys);
    let (elapsed, _, code) = run_measured(
        revoker(
            &sim,
            &b.file("p.csv"),
            &b.file("p.report.csv"),
            &["--project-rate", "600/m", "--concurrency", "64"],
        ),
        Duration::from_secs(120),
    );
    assert_eq!(code, 0);
    let limit = projects as f64 * 10.0;
    vec![
        (
            "achieved / sum of limits",
            n as f64 / elapsed.as_secs_f64() / limit,
        ),
        (
            "429s per row %",
            sim.stats().status(429) as f64 * 100.0 / n as f64,
        ),
    ]
}

/// Keys over `projects` projects, `per` each, in the order of the projects (exports come sorted).
fn keys_per_project(projects: u64, per: u64) -> Vec<revoker::input::Target> {
    let mut keys = keys(projects * per, projects);
    keys.sort_by_key(|t| t.scope);
    keys
}

/// Wall time over the ideal (rows / sum of the refill rates) and the share of requests answered 429.
fn limited(
    b: &Bench,
    name: &str,
    keys: &[revoker::input::Target],
    config: SimConfig,
    ideal_rate: f64,
    args: &[&str],
) -> Figures {
    let sim = spawn_sim(config, keys.to_vec()).expect("sim");
    let input = b.file(&format!("{name}.csv"));
    write_input(&input, keys);
    let (elapsed, _, code) = run_measured(
        revoker(&sim, &input, &b.file(&format!("{name}.report.csv")), args),
        Duration::from_secs(300),
    );
    let stats = sim.stats();
    assert!(
        code == 0 && stats.remaining == 0,
        "{name}: exit {code}, {stats:?}"
    );
    let ideal = keys.len() as f64 / ideal_rate;
    vec![
        ("wall / ideal", elapsed.as_secs_f64() / ideal),
        (
            "429s % of requests",
            stats.status(429) as f64 * 100.0 / stats.requests as f64,
        ),
        ("rows/s", keys.len() as f64 / elapsed.as_secs_f64()),
    ]
}

/// 20 projects x 50 keys; each project a bucket of 10 refilled at 10/s, unknown to revoker.
fn scopes(b: &Bench) -> Figures {
    let (projects, per) = if b.quick { (5, 20) } else { (20, 50) };
    let config = SimConfig {
        scope_bucket: Some("10:10/s".parse().expect("bucket")),
        ..SimConfig::default()
    };
    limited(
        b,
        "scopes",
        &keys_per_project(projects, per),
        config,
        projects as f64 * 10.0,
        &[],
    )
}

/// One measured run of the scopes job against `sim` at `base`, its report `name`.
fn scopes_run(
    b: &Bench,
    sim: &SimHandle,
    base: &str,
    keys: &[revoker::input::Target],
    name: &str,
) -> Figures {
    let input = b.file(&format!("{name}.csv"));
    write_input(&input, keys);
    let report = b.file(&format!("{name}.report.csv"));
    let cmd = revoker_at(base, &input, &report, &[]);
    let before = sim.stats();
    let (elapsed, _, code) = run_measured(cmd, Duration::from_secs(300));
    let stats = sim.stats();
    assert!(code == 0, "{name}: exit {code}, {stats:?}");
    let requests = (stats.requests - before.requests) as f64;
    let throttled = (stats.status(429) - before.status(429)) as f64;
    let projects = keys
        .iter()
        .map(|k| k.scope)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let ideal = keys.len() as f64 / (projects as f64 * 10.0);
    vec![
        ("wall / ideal", elapsed.as_secs_f64() / ideal),
        ("429s % of requests", throttled * 100.0 / requests),
    ]
}

/// The scopes job run twice against one server: the second run (measured) starts from what the
/// first learned (`revoker-limits.json`), as a nightly job does the next night.
fn scopes_remembered(b: &Bench) -> Figures {
    let (projects, per) = if b.quick { (5, 20) } else { (20, 50) };
    let config = SimConfig {
        scope_bucket: Some("10:10/s".parse().expect("bucket")),
        ..SimConfig::default()
    };
    let keys = keys_per_project(projects, per);
    let sim = spawn_sim(config, keys.clone()).expect("sim");
    let _ = std::fs::remove_file(b.file("revoker-limits.json"));
    let _ = scopes_run(b, &sim, sim.base_url(), &keys, "remember-1");
    assert!(
        b.file("revoker-limits.json").exists(),
        "the first run kept no limits"
    );
    // The same server, its buckets full again (a night later). Its keys are gone now, but a
    // DELETE of a gone key goes through the same buckets as one that revokes.
    std::thread::sleep(Duration::from_millis(1500));
    scopes_run(b, &sim, sim.base_url(), &keys, "remember-2")
}

/// The scopes job on Atlas, whose `GET /rateLimits` publishes the buckets: the first run already
/// starts at their pace.
fn scopes_published(b: &Bench) -> Figures {
    let (projects, per) = if b.quick { (5, 20) } else { (20, 50) };
    let config = SimConfig {
        scope_bucket: Some("10:10/s".parse().expect("bucket")),
        publish_limits: true,
        ..SimConfig::default()
    };
    // Atlas has no agent keys: project keys only.
    let keys: Vec<revoker::input::Target> = keys_per_project(projects, per)
        .into_iter()
        .map(|mut t| {
            t.kind = revoker::input::Kind::ProjectApiKey;
            t
        })
        .collect();
    let sim = spawn_sim(config, keys.clone()).expect("sim");
    let _ = std::fs::remove_file(b.file("revoker-limits.json"));
    scopes_run(b, &sim, sim.atlas_url(), &keys, "published")
}

/// The same, with `RateLimit-Limit` / `RateLimit-Remaining` on every answer.
fn scopes_headers(b: &Bench) -> Figures {
    let (projects, per) = if b.quick { (5, 20) } else { (20, 50) };
    let config = SimConfig {
        scope_bucket: Some("10:10/s".parse().expect("bucket")),
        ratelimit_headers: true,
        ..SimConfig::default()
    };
    limited(
        b,
        "headers",
        &keys_per_project(projects, per),
        config,
        projects as f64 * 10.0,
        &[],
    )
}

/// 2,000 keys, one limit for the API key: a bucket of 100 refilled at 100/s.
fn global(b: &Bench) -> Figures {
    let n = b.size(2_000, 400);
    let config = SimConfig {
        user_bucket: Some("100:100/s".parse().expect("bucket")),
        ..SimConfig::default()
    };
    limited(b, "global", &keys(n, 20), config, 100.0, &[])
}

/// Verification of a report of 100,000 revoked rows: list requests and time.
fn verify(b: &Bench) -> Figures {
    let n = b.size(100_000, 5_000);
    let keys = keys(n, 100);
    let sim = spawn_sim(SimConfig::default(), keys.clone()).expect("sim");
    let input = b.file("verify.csv");
    write_input(&input, &keys);
    let report = b.file("verify.report.csv");
    let (_, _, code) = run_measured(
        revoker(&sim, &input, &report, &["--concurrency", "64"]),
        Duration::from_secs(300),
    );
    assert_eq!(code, 0);
    let before = sim.stats().requests;
    let mut cmd = Command::new(BIN);
    cmd.args(["verify", "--base-url", sim.base_url()])
        .arg(&report)
        .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .env_remove("MCLI_OPS_MANAGER_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (elapsed, rss, code) = run_measured(cmd, Duration::from_secs(300));
    assert_eq!(code, 0);
    let lists = (sim.stats().requests - before) as f64;
    vec![
        ("verify s", elapsed.as_secs_f64()),
        ("list requests per 1,000 rows", lists * 1000.0 / n as f64),
        ("verify peak RSS MB", rss),
    ]
}

/// Five organizations, each with its own API key and that key's own bucket (100 refilled at 100/s,
/// unknown to revoker): one job, one report, the five credentials at once. With `headers`, the
/// answers carry `RateLimit-Limit` / `RateLimit-Remaining`, as the Atlas v2 spec documents.
fn orgs_with(b: &Bench, headers: bool) -> Figures {
    use std::os::unix::fs::PermissionsExt;
    let per = b.size(1000, 100);
    let mut rows = Vec::new();
    let mut more_keys = Vec::new();
    let mut job = String::from("kinds = [\"org-api-key\"]\n");
    for o in 0..5u8 {
        let org = revoker::input::ObjectId::from_bytes([0xe0 + o; 12]);
        for k in 0..per {
            let mut key = [o; 12];
            key[4..].copy_from_slice(&k.to_be_bytes());
            rows.push(revoker::input::Target {
                kind: revoker::input::Kind::OrgApiKey,
                scope: org,
                key: revoker::input::ObjectId::from_bytes(key),
                secret: None,
            });
        }
        let (public, private) = (format!("key-{o}"), format!("secret-{o}"));
        let creds = b.file(&format!("org-{o}.toml"));
        std::fs::write(
            &creds,
            format!("public_key = \"{public}\"\nprivate_key = \"{private}\"\n"),
        )
        .expect("credentials");
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).expect("mode");
        job.push_str(&format!(
            "[orgs.{org}]\ncredentials_file = \"{}\"\n",
            creds.display()
        ));
        more_keys.push(revoker_testkit::simulator::OrgKey {
            public_key: public,
            private_key: private,
            orgs: vec![revoker_testkit::oid(&org)],
        });
    }
    let job_file = b.file("orgs.toml");
    std::fs::write(&job_file, job).expect("job");
    let config = SimConfig {
        user_bucket: Some("100:100/s".parse().expect("bucket")),
        ratelimit_headers: headers,
        more_keys,
        ..SimConfig::default()
    };
    let sim = spawn_sim(config, rows.clone()).expect("sim");
    let input = b.file("orgs.csv");
    write_input(&input, &rows);
    let mut cmd = revoker(&sim, &input, &b.file("orgs.report.csv"), &[]);
    cmd.arg(&job_file)
        .env_remove("MCLI_PUBLIC_API_KEY")
        .env_remove("MCLI_PRIVATE_API_KEY");
    let (elapsed, _, code) = run_measured(cmd, Duration::from_secs(300));
    let stats = sim.stats();
    assert!(
        code == 0 && stats.remaining == 0,
        "orgs: exit {code}, {stats:?}"
    );
    let limits = 5.0 * 100.0;
    vec![
        (
            "achieved / sum of limits",
            rows.len() as f64 / elapsed.as_secs_f64() / limits,
        ),
        (
            "429s % of requests",
            stats.status(429) as f64 * 100.0 / stats.requests as f64,
        ),
        ("rows/s", rows.len() as f64 / elapsed.as_secs_f64()),
    ]
}

fn orgs(b: &Bench) -> Figures {
    orgs_with(b, false)
}

fn orgs_headers(b: &Bench) -> Figures {
    orgs_with(b, true)
}

/// A plan of 100,000 rows over 100 projects, half of them present: lists only, no DELETE.
fn plan(b: &Bench) -> Figures {
    let n = b.size(100_000, 5_000);
    let present = keys(n / 2, 100);
    let mut rows = present.clone();
    rows.extend(revoker_testkit::missing_keys(n / 2, 100));
    let sim = spawn_sim(SimConfig::default(), present).expect("sim");
    let input = b.file("plan.csv");
    write_input(&input, &rows);
    let report = b.file("plan.report.csv");
    fresh(&report);
    let mut cmd = Command::new(BIN);
    cmd.args(["plan", "-o", "json", "--base-url", sim.base_url()])
        .arg("--input")
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .env_remove("MCLI_OPS_MANAGER_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (elapsed, rss, code) = run_measured(cmd, Duration::from_secs(300));
    assert_eq!(code, 0);
    let stats = sim.stats();
    assert_eq!(stats.deletes, 0, "a plan sent a DELETE");
    vec![
        ("plan s", elapsed.as_secs_f64()),
        (
            "list requests per 1,000 rows",
            stats.requests as f64 * 1000.0 / n as f64,
        ),
        ("plan peak RSS MB", rss),
    ]
}

/// A selection over 100 projects x 100 keys of one organization: project API keys named `ci-*`
/// and unused for 30 days, by their access lists (read only for the keys whose name matched).
fn select(b: &Bench) -> Figures {
    let (projects, per) = (b.size(100, 20), 100u64);
    let org = revoker_testkit::simulator::Oid::parse("3a37dfe702393e0fa6c8bbc2").expect("an id");
    let now = jiff::Timestamp::now().as_second();
    let mut seeds = Vec::new();
    for (i, t) in keys(projects * per, projects).into_iter().enumerate() {
        let mut s = revoker_testkit::seed(&t);
        s.meta.org = Some(org);
        s.meta.created = Some(now - 400 * 86_400);
        // Every tenth key is a CI key; half of those were last used 100 days ago.
        if i % 10 == 0 {
            s.meta.name = Some(revoker_testkit::simulator::Label::new("ci-runner"));
        }
        if i % 20 == 0 {
            s.meta.last_used = Some(now - 100 * 86_400);
        }
        seeds.push(s);
    }
    let sim = SimHandle::spawn(SimConfig::default(), seeds).expect("sim");
    let out = b.file("selected.csv");
    let mut cmd = Command::new(BIN);
    cmd.args(["select", "-o", "json", "--base-url", sim.base_url()])
        .args(["--org", "3a37dfe702393e0fa6c8bbc2", "--every-project"])
        .args([
            "--kinds",
            "project-api-key",
            "--name",
            "ci-*",
            "--unused-for",
            "30d",
        ])
        .arg("--write")
        .arg(&out)
        .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .env_remove("MCLI_OPS_MANAGER_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (elapsed, rss, code) = run_measured(cmd, Duration::from_secs(300));
    assert_eq!(code, 0);
    let stats = sim.stats();
    assert_eq!(stats.deletes, 0, "a selection sent a DELETE");
    let selected = std::fs::read_to_string(&out).map_or(0, |t| t.lines().count().saturating_sub(1));
    vec![
        ("select s", elapsed.as_secs_f64()),
        ("requests", stats.requests as f64),
        ("keys in the organization", (projects * per) as f64),
        ("selected", selected as f64),
        ("select peak RSS MB", rss),
    ]
}

/// 16 project lists whose one page each is about 24 MB (500 keys of 48 KB): verification's memory.
fn verify_huge_pages(b: &Bench) -> Figures {
    let per = b.size(500, 50);
    let keys: Vec<revoker::input::Target> = keys(per * 32, 32)
        .into_iter()
        .filter(|t| t.kind == revoker::input::Kind::ProjectApiKey)
        .collect();
    let first = spawn_sim(SimConfig::default(), keys.clone()).expect("sim");
    let input = b.file("huge.csv");
    write_input(&input, &keys);
    let report = b.file("huge.report.csv");
    let (_, _, code) = run_measured(
        revoker(&first, &input, &report, &["--concurrency", "32"]),
        Duration::from_secs(300),
    );
    assert_eq!(code, 0);
    // The keys are back, each listed with 48 KB of description.
    let huge = spawn_sim(
        SimConfig {
            list_padding: 48 * 1024,
            ..SimConfig::default()
        },
        keys.clone(),
    )
    .expect("sim");
    let mut cmd = Command::new(BIN);
    cmd.args([
        "verify",
        "--api-moved",
        "--concurrency",
        "16",
        "--base-url",
        huge.base_url(),
    ])
    .arg(&report)
    .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
    .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
    .env_remove("MCLI_OPS_MANAGER_URL")
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let (elapsed, rss, code) = run_measured(cmd, Duration::from_secs(300));
    assert_eq!(code, 1, "every key is still present");
    vec![
        ("verify s", elapsed.as_secs_f64()),
        ("lists", huge.stats().lists as f64),
        ("verify peak RSS MB", rss),
    ]
}

/// 1,000,000 input rows where every row appears twice, against 1,000,000 distinct rows: memory.
fn duplicates(b: &Bench) -> Figures {
    let n = b.size(1_000_000, 20_000);
    let mut figures = Vec::new();
    for twice in [false, true] {
        let distinct = if twice { n / 2 } else { n };
        let keys = keys(distinct, 1_000);
        let sim = spawn_sim(SimConfig::default(), keys.clone()).expect("sim");
        let input = b.file(&format!("dup{twice}.csv"));
        let rows: Vec<_> = if twice {
            keys.iter().chain(keys.iter()).copied().collect()
        } else {
            keys.clone()
        };
        write_input(&input, &rows);
        drop((keys, rows));
        let (_, rss, code) = run_measured(
            revoker(
                &sim,
                &input,
                &b.file("dup.report.csv"),
                &["--concurrency", "64"],
            ),
            Duration::from_secs(600),
        );
        assert!(code == 0 && sim.stats().remaining == 0);
        figures.push((
            if twice {
                "peak RSS MB, every row twice"
            } else {
                "peak RSS MB, distinct rows"
            },
            rss,
        ));
    }
    let ratio = figures[1].1 / figures[0].1;
    figures.push(("twice / distinct", ratio));
    figures
}

/// The simulator's own capacity: requests per second of its CPU time, under many digest clients
/// (the revoker binary at concurrency 128 against `revoker sim` in its own process).
fn sim_capacity(b: &Bench) -> Figures {
    let n = b.size(100_000, 2_000);
    let keys_path = b.file("simkeys.csv");
    let mut sim = Command::new(BIN)
        .args([
            "sim",
            "--generate",
            &n.to_string(),
            "--projects",
            "100",
            "--write-keys",
        ])
        .arg(&keys_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("revoker sim");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(sim.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("url");
    let url = line.trim().to_string();
    let cpu = |pid: u32| -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
            + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        ticks / 100.0
    };
    let before = cpu(sim.id());
    let report = b.file("sc.report.csv");
    fresh(&report);
    let started = Instant::now();
    let status = Command::new(BIN)
        .args(["run", "--quiet", "--concurrency", "128", "--base-url", &url])
        .arg("--input")
        .arg(&keys_path)
        .arg("--report")
        .arg(&report)
        .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .status()
        .expect("run");
    let wall = started.elapsed().as_secs_f64();
    let used = (cpu(sim.id()) - before).max(0.01);
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(status.success());
    vec![
        ("sim requests per CPU-second", n as f64 / used),
        ("requests/s (both on 2 cores)", n as f64 / wall),
    ]
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "rotate",
            about: "200 org API keys (1-20 projects, 1-50 access-list entries) rotated at a 200/s limit; a second world killed halfway and resumed",
            targets: vec![
                ("wall / ideal (requests / 200/s)", "<= 1.1", |v| v <= 1.1),
                ("reach differences", "0", |v| v == 0.0),
                ("dup + lost (straight run)", "0", |v| v == 0.0),
                ("dup + lost after kill -9 + resume", "0", |v| v == 0.0),
            ],
            run: rotate::rotate,
        },
        Scenario {
            name: "throughput",
            about: "20,000 rows, no latency, no limit, c=64",
            targets: vec![("requests per revocation", "<= 1.01", |v| v <= 1.01)],
            run: throughput,
        },
        Scenario {
            name: "vs-curl",
            about: "5,000 rows: revoker c=32 vs xargs -P 32 curl --digest",
            targets: vec![("speed ratio", ">= 10", |v| v >= 10.0)],
            run: versus_curl,
        },
        Scenario {
            name: "rate-200",
            about: "2,000 rows, --rate 200/s, simulator limit 200/s",
            targets: vec![
                ("wall s (ideal n/200)", "<= 10.3", |v| v <= 10.3),
                ("429s", "0", |v| v == 0.0),
            ],
            run: rate_200,
        },
        Scenario {
            name: "latency-100ms",
            about: "2,000 rows, 100 ms latency, c=50",
            targets: vec![("wall s (ideal n/50 x 0.1)", "<= 4.6", |v| v <= 4.6)],
            run: latency_100,
        },
        Scenario {
            name: "faults",
            about: "10,000 rows, 30% 503, 5% resets, 10% 429 (Retry-After: 0)",
            targets: vec![
                ("all done (1 = yes)", "1", |v| v == 1.0),
                ("requests per row", "<= 2.5", |v| v <= 2.5),
            ],
            run: faults,
        },
        Scenario {
            name: "million",
            about: "1,000,000-row CSV vs 10,000, no latency, c=64",
            targets: vec![
                ("peak RSS MB", "<= 100", |v| v <= 100.0),
                ("time per row big/small", "<= 1.2", |v| v <= 1.2),
            ],
            run: million,
        },
        Scenario {
            name: "resume-1m",
            about: "resume of a 1,000,000-row report with 999,000 done",
            targets: vec![("s until first request", "<= 2", |v| v <= 2.0)],
            run: resume_million,
        },
        Scenario {
            name: "projects",
            about: "50 projects x 40 keys sorted by project, limit 600/min per project, --project-rate 600/m",
            targets: vec![
                ("achieved / sum of limits", ">= 0.95", |v| v >= 0.95),
                ("429s per row %", "<= 1", |v| v <= 1.0),
            ],
            run: projects,
        },
        Scenario {
            name: "scopes",
            about: "20 projects x 50 keys, per-project bucket 10 refilled 10/s, no headers, limits unknown to revoker",
            targets: vec![
                ("wall / ideal", "<= 1.15", |v| v <= 1.15),
                ("429s % of requests", "<= 2", |v| v <= 2.0),
            ],
            run: scopes,
        },
        Scenario {
            name: "headers",
            about: "the same with RateLimit-Limit / RateLimit-Remaining headers",
            targets: vec![
                ("wall / ideal", "<= 1.10", |v| v <= 1.10),
                ("429s % of requests", "<= 0.5", |v| v <= 0.5),
            ],
            run: scopes_headers,
        },
        Scenario {
            name: "scopes-remembered",
            about: "the scopes job again, a night later: starts from what the first run learned (revoker-limits.json)",
            targets: vec![
                ("wall / ideal", "<= 1.02", |v| v <= 1.02),
                ("429s % of requests", "<= 0.1", |v| v <= 0.1),
            ],
            run: scopes_remembered,
        },
        Scenario {
            name: "scopes-published",
            about: "the scopes job on Atlas, whose GET /rateLimits publishes the buckets: the first run",
            targets: vec![
                ("wall / ideal", "<= 1.02", |v| v <= 1.02),
                ("429s % of requests", "<= 0.1", |v| v <= 0.1),
            ],
            run: scopes_published,
        },
        Scenario {
            name: "global",
            about: "2,000 keys over 20 projects, one limit of 100/s for the API key, unknown to revoker",
            targets: vec![
                ("wall / ideal", "<= 1.10", |v| v <= 1.10),
                ("429s % of requests", "<= 2", |v| v <= 2.0),
            ],
            run: global,
        },
        Scenario {
            name: "incident",
            about: "jobs/incident.toml on Atlas, buckets of 10 refilled 10/s per project published by GET /rateLimits, 50 projects x 100 keys",
            targets: vec![
                ("achieved / allowed", ">= 0.90", |v| v >= 0.90),
                ("429s", "<= 50", |v| v <= 50.0),
            ],
            run: incident::incident,
        },
        Scenario {
            name: "verify",
            about: "verify a report of 100,000 revoked rows in 100 projects",
            targets: vec![("list requests per 1,000 rows", "<= 5", |v| v <= 5.0)],
            run: verify,
        },
        Scenario {
            name: "orgs",
            about: "5 organizations x 1,000 org keys, each organization its own API key with its own bucket (100 at 100/s)",
            targets: vec![
                ("achieved / sum of limits", ">= 0.90", |v| v >= 0.90),
                ("429s % of requests", "<= 2", |v| v <= 2.0),
            ],
            run: orgs,
        },
        Scenario {
            name: "orgs-headers",
            about: "the same, the answers carrying RateLimit-Limit / RateLimit-Remaining as documented",
            targets: vec![
                ("achieved / sum of limits", ">= 0.90", |v| v >= 0.90),
                ("429s % of requests", "<= 2", |v| v <= 2.0),
            ],
            run: orgs_headers,
        },
        Scenario {
            name: "plan",
            about: "plan 100,000 rows in 100 projects (half of them present), no DELETE",
            targets: vec![("list requests per 1,000 rows", "<= 5", |v| v <= 5.0)],
            run: plan,
        },
        Scenario {
            name: "select",
            about: "select over 100 projects x 100 keys: ci-* project keys unused for 30d (access lists)",
            targets: vec![],
            run: select,
        },
        Scenario {
            name: "census",
            about: "census of one organization with 10,000 projects on Atlas, one request per list page",
            targets: vec![
                ("requests over one per page", "= 0", |v| v == 0.0),
                ("census peak RSS MB", "<= 100", |v| v <= 100.0),
            ],
            run: census::census,
        },
        Scenario {
            name: "verify-huge",
            about: "verify 16 project lists whose page is ~24 MB each (500 keys x 48 KB)",
            targets: vec![("verify peak RSS MB", "<= 200", |v| v <= 200.0)],
            run: verify_huge_pages,
        },
        Scenario {
            name: "duplicates",
            about: "1,000,000 rows each twice vs 1,000,000 distinct rows",
            targets: vec![("twice / distinct", "<= 1", |v| v <= 1.0)],
            run: duplicates,
        },
        Scenario {
            name: "events-sweep",
            about: "sweep 100,000 events over 30 days: 4 compromised credentials, 19 artifacts",
            targets: vec![
                ("wall s", "< 60", |v| v < 60.0),
                ("artifacts found of 19", "19", |v| v == 19.0),
                ("false positives", "0", |v| v == 0.0),
                ("requests / bound", "<= 1", |v| v <= 1.0),
            ],
            run: events::sweep,
        },
        Scenario {
            name: "findings",
            about: "resolve 1,000 findings in five scanner formats and plain values (issue 39)",
            targets: vec![
                ("resolved % of live visible", ">= 99", |v| v >= 99.0),
                ("wrong credentials", "0", |v| v == 0.0),
                ("findings not named", "0", |v| v == 0.0),
                ("list requests / allowed", "<= 1", |v| v <= 1.0),
            ],
            run: findings::findings,
        },
        Scenario {
            name: "sim-capacity",
            about: "simulator under revoker c=128 (100,000 requests)",
            targets: vec![("sim requests per CPU-second", ">= 20000", |v| v >= 20_000.0)],
            run: sim_capacity,
        },
    ]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let quick = args.iter().any(|a| a == "--quick");
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let words: Vec<&String> = args
        .iter()
        .filter(|a| !a.starts_with("--") && a.parse::<usize>().is_err())
        .collect();
    let bench = Bench {
        quick,
        dir: tempfile::tempdir().expect("temp dir"),
    };
    let mut json = BTreeMap::new();
    let mut missed = 0;
    println!(
        "{:<14} {:<32} {:>10} {:>10} {:>10}  {:<9} ok",
        "scenario", "figure", "min", "median", "max", "target"
    );
    for scenario in scenarios() {
        if !words.is_empty() && !words.iter().any(|w| scenario.name.contains(w.as_str())) {
            continue;
        }
        eprintln!("{}: {} ({runs} runs)", scenario.name, scenario.about);
        let mut values: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut order = Vec::new();
        for _ in 0..runs {
            for (name, value) in (scenario.run)(&bench) {
                if !order.contains(&name) {
                    order.push(name);
                }
                values.entry(name).or_default().push(value);
            }
        }
        let mut figures = BTreeMap::new();
        for name in order {
            let mut v = values.remove(name).unwrap_or_default();
            v.sort_by(f64::total_cmp);
            let (min, median, max) = (v[0], v[v.len() / 2], v[v.len() - 1]);
            let target = scenario.targets.iter().find(|(n, _, _)| *n == name);
            let ok = target.map(|(_, _, check)| v.iter().all(|x| check(*x)));
            if ok == Some(false) {
                missed += 1;
            }
            println!(
                "{:<14} {:<32} {:>10.3} {:>10.3} {:>10.3}  {:<9} {}",
                scenario.name,
                name,
                min,
                median,
                max,
                target.map_or("", |t| t.1),
                match ok {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "",
                }
            );
            figures.insert(name, serde_json::json!({ "runs": v, "min": min, "median": median, "max": max, "target": target.map(|t| t.1), "met": ok }));
        }
        json.insert(
            scenario.name,
            serde_json::json!({ "about": scenario.about, "figures": figures }),
        );
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    let _ = std::fs::create_dir_all(&out);
    let file = out.join(if quick {
        "revoker-bench-quick.json"
    } else {
        "revoker-bench.json"
    });
    let doc = serde_json::json!({ "quick": quick, "runs": runs, "scenarios": json });
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap_or_default())
        .expect("write the JSON figures");
    eprintln!("figures written to {}", file.display());
    if missed > 0 {
        eprintln!("{missed} figure(s) missed their target");
    }
}
