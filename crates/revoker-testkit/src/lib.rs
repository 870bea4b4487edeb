//! What revoker's integration tests and benchmark share: a simulator on an ephemeral loopback port
//! seeded from revoker's rows, the real binary with credentials in its environment (and nothing
//! else of the machine's), inputs and reports.
//!
//! revoker's rows reach the simulator as text, the way a request would: the simulator parses them
//! with its own model ([`seed`]), so a wrong idea of a kind in revoker is not shared by its oracle.

pub mod events;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use revoker::input::{Kind, ObjectId, Target};
use revoker::report::{Outcome, Record, read_records};
pub use revoker_sim as simulator;
pub mod rotation;

use revoker_sim::{DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, Seed, SimConfig, SimHandle};

pub mod findings;

/// revoker's row as the simulator reads it from a seed file.
pub fn seed(t: &Target) -> Seed {
    let scope = t.scope_text();
    Seed::parse(t.kind.as_str(), &scope, &t.key_text(), &t.secret_text())
        .expect("every revoker kind is a kind the simulator holds")
}

pub fn seeds(rows: &[Target]) -> Vec<Seed> {
    rows.iter().map(seed).collect()
}

/// A simulator holding `keys`.
pub fn sim(config: SimConfig, keys: &[Target]) -> SimHandle {
    SimHandle::spawn(config, seeds(keys)).expect("start the simulator")
}

/// `n` keys over `projects` projects, alternating project and agent API keys; the same every time.
pub fn keys(n: u64, projects: u64) -> Vec<Target> {
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

/// Keys that exist nowhere (a prefix no generated key has).
pub fn missing_keys(n: u64, projects: u64) -> Vec<Target> {
    keys(n, projects)
        .into_iter()
        .map(|mut t| {
            let mut b = t.key.bytes();
            b[0] = 0x77;
            t.key = revoker::input::ObjectId::from_bytes(b);
            t
        })
        .collect()
}

/// Writes rows as a CSV input file (`project`, `org`, `key`, `secret`, `kind`).
pub fn write_csv(path: &Path, rows: &[Target]) {
    let mut csv = String::from("project,org,key,secret,kind\n");
    for t in rows {
        let scope = t.scope_text();
        let (project, org) = if t.kind.is_org_wide() {
            ("", scope.as_str())
        } else {
            (scope.as_str(), "")
        };
        csv.push_str(&format!(
            "{project},{org},{},{},{}\n",
            t.key_text(),
            t.secret_text(),
            t.kind.as_str()
        ));
    }
    std::fs::write(path, csv).expect("write input");
}

/// The binary, with the simulator's credentials and nothing else from the environment that could
/// change its behaviour.
pub fn revoker() -> Command {
    let mut cmd = Command::cargo_bin("revoker").expect("binary");
    for var in [
        "MCLI_PUBLIC_API_KEY",
        "MCLI_PRIVATE_API_KEY",
        "MONGODB_ATLAS_PUBLIC_API_KEY",
        "MONGODB_ATLAS_PRIVATE_API_KEY",
        "MONGODB_ATLAS_PUBLIC_KEY",
        "MONGODB_ATLAS_PRIVATE_KEY",
        "MONGODB_ATLAS_BASE_URL",
        "REVOKER_SIGN_KEY_PASSWORD",
        "MONGODB_ATLAS_CLIENT_ID",
        "MONGODB_ATLAS_CLIENT_SECRET",
        "MCLI_CLIENT_ID",
        "MCLI_CLIENT_SECRET",
        "MONGODB_ATLAS_PROFILE",
        "MCLI_OPS_MANAGER_URL",
        "MCLI_OPS_MANAGER_CA_CERTIFICATE",
        "RUST_LOG",
        "NO_COLOR",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "http_proxy",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        cmd.env_remove(var);
    }
    // No profile of the machine's user may leak into a test.
    cmd.env("XDG_CONFIG_HOME", "/nonexistent/revoker-tests")
        .env("HOME", "/nonexistent/revoker-tests");
    cmd.env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY);
    cmd
}

/// `revoker run` on `input` against `sim`, writing `report`, with extra `args`.
pub fn run(sim: &SimHandle, input: &Path, report: &Path, args: &[&str]) -> Command {
    let mut cmd = revoker();
    cmd.arg("run")
        .arg("--input")
        .arg(input)
        .arg("--report")
        .arg(report)
        .arg("--base-url")
        .arg(sim.base_url())
        .args(args)
        .timeout(std::time::Duration::from_secs(120));
    cmd
}

pub fn records(report: &Path) -> Vec<Record> {
    let mut out = Vec::new();
    read_records(report, &mut |r| out.push(r)).expect("read report");
    out
}

pub fn count(records: &[Record], outcome: Outcome) -> usize {
    records.iter().filter(|r| r.outcome == outcome).count()
}

pub fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

pub fn kind_count(rows: &[Target], kind: Kind) -> usize {
    rows.iter().filter(|t| t.kind == kind).count()
}

/// A target of any kind, from small numbers (ids are the number repeated).
pub fn target(kind: Kind, scope: u8, key: u8, secret: Option<u8>) -> Target {
    let id = |n: u8| revoker::input::ObjectId::from_bytes([n; 12]);
    Target {
        kind,
        scope: id(scope),
        key: id(key),
        secret: secret.map(id),
    }
}

/// `revoker run` authenticated with the simulator's service account instead of its API key.
pub fn with_service_account(mut cmd: Command) -> Command {
    cmd.env_remove("MCLI_PUBLIC_API_KEY")
        .env_remove("MCLI_PRIVATE_API_KEY")
        .env("MONGODB_ATLAS_CLIENT_ID", revoker_sim::DEFAULT_CLIENT_ID)
        .env(
            "MONGODB_ATLAS_CLIENT_SECRET",
            revoker_sim::DEFAULT_CLIENT_SECRET,
        );
    cmd
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The simulator's API key, with `password` as its private key.
pub fn api_key(password: &str) -> revoker::api::Credential {
    revoker::api::Credential::ApiKey {
        public_key: DEFAULT_PUBLIC_KEY.into(),
        private_key: secrecy::SecretString::from(password.to_string()),
    }
}

/// The simulator's service account, with `secret` as its secret.
pub fn service_account(secret: &str) -> revoker::api::Credential {
    revoker::api::Credential::ServiceAccount {
        client_id: revoker_sim::DEFAULT_CLIENT_ID.into(),
        client_secret: secrecy::SecretString::from(secret.to_string()),
    }
}

/// An API client for `base_url`, and the figures it counts into.
pub fn api_client(
    base_url: &str,
    credential: revoker::api::Credential,
    envelope: bool,
    timeout: std::time::Duration,
) -> (
    revoker::api::Client,
    std::sync::Arc<revoker::figures::Figures>,
) {
    let figures = std::sync::Arc::new(revoker::figures::Figures::default());
    let client = revoker::api::Client::new(
        &revoker::api::ApiConfig {
            base_url: revoker::api::parse_base_url(base_url).expect("base URL"),
            credential,
            timeout,
            connect_timeout: std::time::Duration::from_secs(2),
            envelope,
            ca_cert: None,
            pool_size: 4,
        },
        figures.clone(),
    )
    .expect("client");
    (client, figures)
}

/// Runs a future to its end on a runtime of its own.
pub fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// The `Authorization` header answering a digest challenge (`www-authenticate`) for `url` with
/// `public`/`private`, as an independent client computes it.
pub fn digest_answer(
    challenge: &reqwest::header::HeaderMap,
    url: &str,
    (public, private): (&str, &str),
    method: digest_auth::HttpMethod,
) -> String {
    let header = challenge["www-authenticate"]
        .to_str()
        .expect("text")
        .to_string();
    let mut prompt = digest_auth::parse(&header).expect("digest challenge");
    let parsed = reqwest::Url::parse(url).expect("url");
    let uri = &parsed[url::Position::BeforePath..];
    let context = digest_auth::AuthContext::new_with_method(
        public,
        private,
        uri,
        Option::<&[u8]>::None,
        method,
    );
    prompt.respond(&context).expect("answer").to_header_string()
}

/// A GET signed with the simulator's API key by hand (digest_auth), with `accept`: what an
/// independent client sees. Answers the status and the body.
pub fn digest_get(url: &str, accept: &str) -> (u16, String) {
    block(async {
        let http = reqwest::Client::new();
        let challenge = http.get(url).send().await.expect("challenge");
        assert_eq!(challenge.status(), 401);
        let authorization = digest_answer(
            challenge.headers(),
            url,
            (DEFAULT_PUBLIC_KEY, DEFAULT_PRIVATE_KEY),
            digest_auth::HttpMethod::GET,
        );
        let answer = http
            .get(url)
            .header("authorization", authorization)
            .header("accept", accept)
            .send()
            .await
            .expect("answer");
        (answer.status().as_u16(), answer.text().await.expect("body"))
    })
}

/// Report rows written so far (0 while there is no report).
pub fn records_or_none(report: &Path) -> usize {
    std::fs::read_to_string(report)
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

/// Waits until the report has more than `rows` rows or the run has ended.
pub fn wait_for_rows(report: &Path, rows: usize, child: &mut std::process::Child) {
    let started = std::time::Instant::now();
    while records_or_none(report) <= rows && child.try_wait().expect("wait").is_none() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Ctrl-C, as a terminal sends it.
pub fn interrupt(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// `program` with nothing of the machine's environment but `PATH`, and the simulator's API key.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent/revoker-tests")
        .env("XDG_CONFIG_HOME", "/nonexistent/revoker-tests")
        .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY);
    cmd
}

/// `revoker run` as a child process (for signals and timing), with the simulator's credentials and a
/// clean environment; stdout discarded, stderr piped.
pub fn spawn_run(
    sim: &SimHandle,
    input: &Path,
    report: &Path,
    args: &[&str],
) -> std::process::Child {
    clean_command(assert_cmd::cargo::cargo_bin("revoker"))
        .args(["run", "--base-url", sim.base_url(), "--input"])
        .arg(input)
        .arg("--report")
        .arg(report)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start revoker")
}

/// revoker's id as the simulator's, through its text.
pub fn oid(id: &ObjectId) -> revoker_sim::Oid {
    revoker_sim::Oid::parse(&id.to_string()).expect("an id is 24 hex digits")
}

/// Whether `tool` runs here. A test that needs it returns early without it on a developer's
/// machine, but under `CI=true` (where `.ci/run` installs it) a missing tool fails the test.
pub fn have_tool(tool: &str, version_arg: &str) -> bool {
    let present = std::process::Command::new(tool)
        .arg(version_arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is not installed, and under CI=true a test that needs it fails rather than skips"
        );
        eprintln!("{tool} is not installed; this check is skipped outside CI");
    }
    present
}

/// A simulator holding `keys`, a folder, an input of those keys and where the report goes: what
/// most tests start from.
pub struct Job {
    pub sim: SimHandle,
    pub dir: tempfile::TempDir,
    pub input: PathBuf,
    pub report: PathBuf,
}

/// [`Job`] with `config` and `keys`.
pub fn job(config: SimConfig, keys: &[Target]) -> Job {
    let sim = sim(config, keys);
    let dir = dir();
    let (input, report) = (path(&dir, "in.csv"), path(&dir, "r.csv"));
    write_csv(&input, keys);
    Job {
        sim,
        dir,
        input,
        report,
    }
}

/// A terminal for `command`, through tmux on a private socket; answers the pane's text once
/// `until` appears in it (or after 30 s).
pub struct Terminal {
    socket: String,
}

impl Terminal {
    /// Starts `command` in a new session, 200 × 50.
    pub fn start(command: &str) -> Terminal {
        Terminal::sized(command, 200)
    }

    /// Starts `command` in a terminal `columns` wide.
    pub fn sized(command: &str, columns: u16) -> Terminal {
        let socket = format!("revoker-test-{}-{}", std::process::id(), rand_suffix());
        let columns = columns.to_string();
        let status = std::process::Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                &columns,
                "-y",
                "50",
                command,
            ])
            .status()
            .unwrap();
        assert!(status.success());
        Terminal { socket }
    }

    /// The pane once `text` appears in it (or after 30 s).
    pub fn wait_for(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let pane = self.capture();
            if pane.contains(text) || std::time::Instant::now() > deadline {
                return pane;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// The pane's text, wrapped lines joined.
    pub fn capture(&self) -> String {
        let out = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-J", "-S", "-100"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `text` and Enter.
    pub fn type_line(&self, text: &str) {
        let status = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", text, "Enter"])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64)
}

/// The shell command that runs `revoker ARGS` on a terminal with the simulator's credentials and
/// nothing else of this environment, then `after` (in the same shell), then waits to be read.
pub fn on_terminal(args: &str, after: &str) -> String {
    let bin = assert_cmd::cargo::cargo_bin("revoker");
    shell_words::join([
        "sh",
        "-c",
        &format!(
            "env -i PATH=/usr/bin:/bin HOME=/nonexistent TERM=xterm NO_COLOR=1 MCLI_PUBLIC_API_KEY={DEFAULT_PUBLIC_KEY} MCLI_PRIVATE_API_KEY={DEFAULT_PRIVATE_KEY} {} {args}; {after}; sleep 60",
            bin.display()
        ),
    ])
}

pub use revoker_sim::truth::{Credential, Deletion, SentDelete, Truth};

/// The simulator's ground truth, read as a test reads it: `GET /__sim/state` on loopback.
pub fn truth(sim: &SimHandle) -> Truth {
    let origin = sim.base_url().trim_end_matches(revoker_sim::API_PREFIX);
    block(async {
        let answer = reqwest::get(format!("{origin}/__sim/state"))
            .await
            .expect("the simulator answers /__sim/state");
        assert_eq!(answer.status(), 200, "the ground truth");
        let body = answer.text().await.expect("its body");
        serde_json::from_str(&body).expect("the ground truth is JSON")
    })
}

/// What the ground truth says of revoker's rows, in revoker's terms.
pub trait TruthOf {
    /// Whether `t`'s credential exists now.
    fn holds(&self, t: &Target) -> bool;
    /// The deletion that destroyed `t`'s credential.
    fn destroyed_by(&self, t: &Target) -> Option<&Deletion>;
}

impl TruthOf for Truth {
    fn holds(&self, t: &Target) -> bool {
        let secret = t.secret_text();
        self.exists(
            t.kind.as_str(),
            &t.scope_text(),
            &t.key_text(),
            (!secret.is_empty()).then_some(secret.as_str()),
        )
    }

    fn destroyed_by(&self, t: &Target) -> Option<&Deletion> {
        let secret = t.secret_text();
        self.deleted_by(
            t.kind.as_str(),
            &t.scope_text(),
            &t.key_text(),
            (!secret.is_empty()).then_some(secret.as_str()),
        )
    }
}
