//! What the rotation tests and benchmark share: organizations and projects in the simulator, old
//! keys made through the API with their reach (organization roles, project roles, access list),
//! and a request signed with any key, so that a test can "deploy" a replacement by using it.

use revoker_sim::{DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, Kind, Oid, Seed, SimConfig, SimHandle};
use serde_json::{Value, json};

/// The Atlas `Accept` of API keys.
pub const KEYS: &str = "application/vnd.atlas.2023-01-01+json";

/// An organization id (`n` in its last bytes) and its projects'.
pub fn org_id(n: u32) -> Oid {
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&0x0a11_0000u32.to_be_bytes());
    b[8..].copy_from_slice(&n.to_be_bytes());
    Oid::from_bytes(b)
}

pub fn project_id(org: u32, n: u32) -> Oid {
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&0x0b22_0000u32.to_be_bytes());
    b[4..8].copy_from_slice(&org.to_be_bytes());
    b[8..].copy_from_slice(&n.to_be_bytes());
    Oid::from_bytes(b)
}

/// Seeds that make `orgs` organizations of `projects` projects each exist (one placeholder key
/// in each, which the rotation never names).
pub fn world_seeds(orgs: u32, projects: u32) -> Vec<Seed> {
    let mut seeds = Vec::new();
    for o in 0..orgs {
        let placeholder = |n: u32| {
            let mut b = [0xeeu8; 12];
            b[4..8].copy_from_slice(&o.to_be_bytes());
            b[8..].copy_from_slice(&n.to_be_bytes());
            Oid::from_bytes(b)
        };
        seeds.push(Seed::new(
            Kind::OrgApiKey,
            org_id(o),
            placeholder(u32::MAX),
            None,
        ));
        for p in 0..projects {
            let mut s = Seed::new(Kind::ProjectApiKey, project_id(o, p), placeholder(p), None);
            s.meta.org = Some(org_id(o));
            seeds.push(s);
        }
    }
    seeds
}

/// A simulator with that world.
pub fn world(config: SimConfig, orgs: u32, projects: u32) -> SimHandle {
    SimHandle::spawn(config, world_seeds(orgs, projects)).expect("start the simulator")
}

/// What an old key reaches.
#[derive(Clone, Debug)]
pub struct OldKey {
    pub org: Oid,
    pub roles: Vec<String>,
    pub projects: Vec<(Oid, Vec<String>)>,
    pub access: Vec<String>,
}

/// A made key: its id and its credentials.
#[derive(Clone, Debug)]
pub struct MadeKey {
    pub id: String,
    pub public: String,
    pub private: String,
}

/// Makes `key` through the API with the simulator's own credential.
pub fn make_key(sim: &SimHandle, key: &OldKey, desc: &str) -> MadeKey {
    let base = sim.atlas_url();
    let (status, body) = request(
        "POST",
        &format!("{base}/orgs/{}/apiKeys", key.org),
        (DEFAULT_PUBLIC_KEY, DEFAULT_PRIVATE_KEY),
        Some(json!({"desc": desc, "roles": key.roles})),
    );
    assert_eq!(status, 200, "{body}");
    let made: Value = serde_json::from_str(&body).expect("json");
    let id = made["id"].as_str().expect("id").to_string();
    for (project, roles) in &key.projects {
        let (status, body) = request(
            "POST",
            &format!("{base}/groups/{project}/apiKeys/{id}"),
            (DEFAULT_PUBLIC_KEY, DEFAULT_PRIVATE_KEY),
            Some(json!([{ "roles": roles }])),
        );
        assert_eq!(status, 204, "{body}");
    }
    if !key.access.is_empty() {
        let entries: Vec<Value> = key
            .access
            .iter()
            .map(|a| match a.contains('/') {
                true => json!({ "cidrBlock": a }),
                false => json!({ "ipAddress": a }),
            })
            .collect();
        let (status, body) = request(
            "POST",
            &format!("{base}/orgs/{}/apiKeys/{id}/accessList", key.org),
            (DEFAULT_PUBLIC_KEY, DEFAULT_PRIVATE_KEY),
            Some(Value::Array(entries)),
        );
        assert_eq!(status, 200, "{body}");
    }
    MadeKey {
        id,
        public: made["publicKey"].as_str().expect("publicKey").into(),
        private: made["privateKey"].as_str().expect("privateKey").into(),
    }
}

/// One runtime and one connection pool for every request of a test process: a client built per
/// request costs tens of milliseconds in a debug build.
fn shared() -> &'static (tokio::runtime::Runtime, reqwest::Client) {
    static SHARED: std::sync::OnceLock<(tokio::runtime::Runtime, reqwest::Client)> =
        std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        (
            runtime,
            reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
        )
    })
}

/// A request signed by digest with `(public, private)`: the status and the body. A 429 is waited
/// out (its `Retry-After`, else a second), so that a world can be made under the API's limits.
pub fn request(
    method: &str,
    url: &str,
    credential: (&str, &str),
    body: Option<Value>,
) -> (u16, String) {
    for _ in 0..600 {
        let (status, text, wait) = request_once(method, url, credential, body.clone());
        if status != 429 {
            return (status, text);
        }
        std::thread::sleep(wait);
    }
    panic!("{method} {url}: still 429 after 600 tries")
}

fn request_once(
    method: &str,
    url: &str,
    credential: (&str, &str),
    body: Option<Value>,
) -> (u16, String, std::time::Duration) {
    request_typed(method, url, credential, KEYS, body)
}

/// A request signed with the simulator's own credential, with the `Accept` (and content type)
/// of the endpoint's version: the status and the body.
/// A 429 is waited out as [`request`] does.
pub fn request_as(method: &str, url: &str, accept: &str, body: Option<Value>) -> (u16, String) {
    let credential = (DEFAULT_PUBLIC_KEY, DEFAULT_PRIVATE_KEY);
    for _ in 0..600 {
        let (status, text, wait) = request_typed(method, url, credential, accept, body.clone());
        if status != 429 {
            return (status, text);
        }
        std::thread::sleep(wait);
    }
    panic!("{method} {url}: still 429 after 600 tries")
}

fn request_typed(
    method: &str,
    url: &str,
    (public, private): (&str, &str),
    accept: &str,
    body: Option<Value>,
) -> (u16, String, std::time::Duration) {
    let (runtime, http) = shared();
    runtime.block_on(async {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let challenge = http
            .request(method.clone(), url)
            .send()
            .await
            .expect("challenge");
        if challenge.status() != 401 {
            let wait = retry_after(challenge.headers());
            return (
                challenge.status().as_u16(),
                challenge.text().await.unwrap_or_default(),
                wait,
            );
        }
        let authorization = crate::digest_answer(
            challenge.headers(),
            url,
            (public, private),
            digest_auth::HttpMethod::from(method.as_str()),
        );
        let mut req = http
            .request(method, url)
            .header("authorization", authorization)
            .header("accept", accept);
        if let Some(body) = body {
            req = req
                .header("content-type", accept)
                .body(serde_json::to_vec(&body).expect("json"));
        }
        let answer = req.send().await.expect("answer");
        let wait = retry_after(answer.headers());
        (
            answer.status().as_u16(),
            answer.text().await.expect("body"),
            wait,
        )
    })
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> std::time::Duration {
    let seconds = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1);
    std::time::Duration::from_millis(seconds.max(1) * 1000)
}

/// A replacement "deployed": one request signed with it (the simulator stamps its use).
pub fn use_key(sim: &SimHandle, org: &Oid, public: &str, private: &str) -> u16 {
    request(
        "GET",
        &format!("{}/orgs/{org}/apiKeys", sim.atlas_url()),
        (public, private),
        None,
    )
    .0
}

/// Every organization API key listed in `org`, as the API shows them.
pub fn listed_keys(sim: &SimHandle, org: &Oid) -> Vec<Value> {
    let (status, body) = request(
        "GET",
        &format!("{}/orgs/{org}/apiKeys?itemsPerPage=500", sim.atlas_url()),
        (DEFAULT_PUBLIC_KEY, DEFAULT_PRIVATE_KEY),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["results"].as_array().cloned().unwrap_or_default()
}

/// A key's access list.
pub fn access_list(sim: &SimHandle, org: &Oid, key: &str) -> Vec<Value> {
    let (status, body) = request(
        "GET",
        &format!(
            "{}/orgs/{org}/apiKeys/{key}/accessList?itemsPerPage=500",
            sim.atlas_url()
        ),
        (DEFAULT_PUBLIC_KEY, DEFAULT_PRIVATE_KEY),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["results"].as_array().cloned().unwrap_or_default()
}

/// Writes a rotation input: `kind,org,key` rows of organization API keys.
pub fn write_input(path: &std::path::Path, keys: &[(Oid, String)]) {
    let mut csv = String::from("kind,org,key\n");
    for (org, id) in keys {
        csv.push_str(&format!("org-api-key,{org},{id}\n"));
    }
    std::fs::write(path, csv).expect("write input");
}

/// `revoker rotate` against `sim`'s Atlas API, started and left running.
pub fn spawn_rotate(
    sim: &SimHandle,
    input: &std::path::Path,
    report: &std::path::Path,
    args: &[&str],
) -> std::process::Child {
    crate::clean_command(assert_cmd::cargo::cargo_bin("revoker"))
        .args(["rotate", "--base-url", sim.atlas_url(), "--input"])
        .arg(input)
        .arg("--report")
        .arg(report)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start revoker")
}

/// The age files delivered so far beside `report`.
pub fn age_files(report: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut dir = report.as_os_str().to_owned();
    dir.push(".secrets");
    let mut files: Vec<_> = std::fs::read_dir(std::path::PathBuf::from(dir))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Replacements of `old` live in `org`: keys whose description carries its marker.
pub fn replacements(sim: &SimHandle, org: &Oid, old: &str) -> Vec<Value> {
    let prefix = format!("revoker-rotation:{old}:");
    listed_keys(sim, org)
        .into_iter()
        .filter(|k| k["desc"].as_str().is_some_and(|d| d.starts_with(&prefix)))
        .collect()
}

/// The Atlas `Accept` of service accounts and their secrets.
pub const SERVICE_ACCOUNTS: &str = "application/vnd.atlas.2024-08-05+json";
/// The Atlas `Accept` of AI model keys.
pub const AI_MODELS: &str = "application/vnd.atlas.2025-03-12+json";

/// A service account's secrets as `GET {orgs|groups}/{scope}/serviceAccounts/{clientId}` lists
/// them (`home` is `orgs` or `groups`).
pub fn listed_secrets(sim: &SimHandle, home: &str, scope: &Oid, client: &str) -> Vec<Value> {
    let url = format!(
        "{}/{home}/{scope}/serviceAccounts/{client}",
        sim.atlas_url()
    );
    let (status, body) = request_as("GET", &url, SERVICE_ACCOUNTS, None);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["secrets"].as_array().cloned().unwrap_or_default()
}

/// A project's AI model keys as `listGroupModelKeys` lists them.
pub fn listed_model_keys(sim: &SimHandle, project: &Oid) -> Vec<Value> {
    let url = format!(
        "{}/groups/{project}/aiModelApiKeys?itemsPerPage=500",
        sim.atlas_url()
    );
    let (status, body) = request_as("GET", &url, AI_MODELS, None);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["results"].as_array().cloned().unwrap_or_default()
}

/// The simulator's root (its URL without the API path).
fn root(sim: &SimHandle) -> String {
    let url = sim.atlas_url();
    url.find("/api/").map_or(url, |i| &url[..i]).to_string()
}

/// A secret "deployed": a token request with it (`POST /api/oauth/token`, HTTP Basic).
pub fn use_secret(sim: &SimHandle, client: &str, secret: &str) -> u16 {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client}:{secret}"));
    let (runtime, http) = shared();
    runtime.block_on(async {
        http.post(format!("{}/api/oauth/token", root(sim)))
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    })
}

/// A model key "deployed": a request to the embedding service with its secret.
pub fn use_model_key(sim: &SimHandle, secret: &str) -> u16 {
    let (runtime, http) = shared();
    runtime.block_on(async {
        http.post(format!("{}/v1/embeddings", root(sim)))
            .header("authorization", format!("Bearer {secret}"))
            .body(r#"{"input": ["x"], "model": "voyage-3"}"#)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    })
}
