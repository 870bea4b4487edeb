//! `revoker-sim` as a program: loopback only, its URLs first on stdout, generated keys written as an
//! input file, the list endpoints behind digest, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_revoker-sim");

/// A GET signed with the simulator's default API key, by hand: what an independent client sees.
fn digest_get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let http = reqwest::Client::new();
        let challenge = http.get(url).send().await.expect("challenge");
        assert_eq!(challenge.status(), 401);
        let header = challenge.headers()["www-authenticate"]
            .to_str()
            .expect("text")
            .to_string();
        let mut prompt = digest_auth::parse(&header).expect("digest challenge");
        let parsed = reqwest::Url::parse(url).expect("url");
        let uri = &parsed[url::Position::BeforePath..];
        let context = digest_auth::AuthContext::new_with_method(
            revoker_sim::DEFAULT_PUBLIC_KEY,
            revoker_sim::DEFAULT_PRIVATE_KEY,
            uri,
            Option::<&[u8]>::None,
            digest_auth::HttpMethod::GET,
        );
        let authorization = prompt.respond(&context).expect("answer").to_header_string();
        let answer = http
            .get(url)
            .header("authorization", authorization)
            .send()
            .await
            .expect("answer");
        (answer.status().as_u16(), answer.text().await.expect("body"))
    })
}

#[test]
fn it_refuses_an_address_that_is_not_loopback() {
    let out = Command::new(BIN)
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "revoker-sim: refusing to listen on 0.0.0.0:0: not a loopback address (pass --allow-remote if you really mean it)"
    );
}

#[test]
fn it_prints_its_urls_first_serves_lists_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.csv");
    let mut sim = Command::new(BIN)
        .args(["--generate", "30", "--projects", "3", "--write-keys"])
        .arg(&keys)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(sim.stdout.take().unwrap());
    let (mut v1, mut v2) = (String::new(), String::new());
    stdout.read_line(&mut v1).unwrap();
    stdout.read_line(&mut v2).unwrap();
    let url = v1.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/api/public/v1.0"),
        "{url}"
    );
    assert_eq!(v2.trim(), url.replace("/api/public/v1.0", "/api/atlas/v2"));

    // The written keys are the seeds, and the list endpoints page through them.
    let seeds = revoker_sim::seed::read(&keys).unwrap();
    assert_eq!(seeds.len(), 30);
    let project = seeds[0].scope;
    let (status, body) = digest_get(&format!(
        "{url}/groups/{project}/apiKeys?itemsPerPage=2&pageNum=2&pretty=true"
    ));
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["totalCount"], 5, "{json}");
    assert_eq!(json["results"].as_array().unwrap().len(), 2);
    let rels: Vec<&str> = json["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert_eq!(rels, ["self", "next"], "page 2 of 3 has a next page");

    assert!(
        Command::new("kill")
            .args(["-TERM", &sim.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    while sim.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the simulator ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sim.wait().unwrap().code(), Some(0));
}
