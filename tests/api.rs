//! The API client against the simulator: digest round trips, classification, refusals.

mod common;

use std::time::Duration;

use common::*;
use revoker::api::{self, Answer, ApiConfig, Client, Counters};
use revoker::input::Target;
use revoker::sim::{
    ChallengeStyle, DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, Fault, SimConfig, SimHandle,
};
use secrecy::SecretString;

fn client(sim: &SimHandle, envelope: bool, password: &str) -> Client {
    Client::new(&ApiConfig {
        base_url: api::parse_base_url(sim.base_url()).unwrap(),
        public_key: DEFAULT_PUBLIC_KEY.into(),
        private_key: SecretString::from(password.to_string()),
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        envelope,
        ca_cert: None,
        pool_size: 4,
    })
    .unwrap()
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn an_expired_nonce_costs_one_extra_round_trip_and_still_revokes() {
    let keys = keys(2, 1);
    let sim = sim(
        SimConfig {
            nonce_ttl: Some(Duration::from_millis(300)),
            ..SimConfig::default()
        },
        &keys,
    );
    let c = client(&sim, false, DEFAULT_PRIVATE_KEY);
    block(async {
        assert_eq!(c.revoke(&keys[0]).await, Answer::Done);
        assert_eq!(
            Counters::get(&c.counters.requests),
            2,
            "challenge, then the DELETE"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(c.revoke(&keys[1]).await, Answer::Done);
    });
    let stats = sim.stats();
    assert_eq!(
        stats.requests, 4,
        "the stale nonce costs exactly one more request"
    );
    assert_eq!(stats.challenges, 2);
    assert_eq!(stats.deleted, 2);
}

#[test]
fn envelope_answers_classify_like_plain_ones() {
    let present = keys(3, 1);
    let forbidden = keys(6, 2)[1];
    let sim = sim(
        SimConfig {
            forbid_projects: vec![forbidden.project],
            ..SimConfig::default()
        },
        &present,
    );
    let missing = missing_keys(1, 1)[0];
    let bad_project = Target {
        project: revoker::input::ObjectId::parse("ffffffffffffffffffffffff").unwrap(),
        ..present[2]
    };
    for envelope in [false, true] {
        let c = client(&sim, envelope, DEFAULT_PRIVATE_KEY);
        block(async {
            assert_eq!(
                c.revoke(&present[usize::from(envelope)]).await,
                Answer::Done
            );
            assert!(
                matches!(c.revoke(&missing).await, Answer::NotFound { code, .. } if code == "API_KEY_NOT_FOUND")
            );
            assert!(
                matches!(c.revoke(&bad_project).await, Answer::NotFound { code, .. } if code == "GROUP_NOT_FOUND")
            );
            assert!(
                matches!(c.revoke(&forbidden).await, Answer::Rejected { status: 403, code, .. } if code == "USER_CANNOT_ACCESS_GROUP")
            );
        });
    }
    // Enveloped answers all travel as HTTP 200.
    let stats = sim.stats();
    assert_eq!(stats.status(404), 2);
    assert_eq!(stats.status(403), 1);
}

#[test]
fn throttles_and_server_errors_are_transient_with_their_retry_after() {
    let keys = keys(4, 1);
    let sim = sim(
        SimConfig {
            faults: vec![(Fault::Throttle, 1.0)],
            retry_after: Some(7),
            ..SimConfig::default()
        },
        &keys,
    );
    let c = client(&sim, false, DEFAULT_PRIVATE_KEY);
    let answer = block(c.revoke(&keys[0]));
    assert!(
        matches!(answer, Answer::Transient { status: Some(429), retry_after: Some(d), .. } if d == Duration::from_secs(7)),
        "{answer:?}"
    );
    assert_eq!(Counters::get(&c.counters.throttled), 1);

    let sim = common::sim(
        SimConfig {
            error_rate: 1.0,
            ..SimConfig::default()
        },
        &keys,
    );
    let answer = block(client(&sim, false, DEFAULT_PRIVATE_KEY).revoke(&keys[0]));
    assert!(
        matches!(&answer, Answer::Transient { status: Some(503), code, .. } if code == "UNEXPECTED_ERROR"),
        "{answer:?}"
    );
}

#[test]
fn a_wrong_password_is_rejected_after_two_requests() {
    let keys = keys(1, 1);
    let sim = sim(SimConfig::default(), &keys);
    let answer = block(client(&sim, false, "wrong").revoke(&keys[0]));
    assert!(
        matches!(answer, Answer::CredentialsRejected { .. }),
        "{answer:?}"
    );
    assert_eq!(sim.stats().requests, 2);
}

#[test]
fn unusable_challenges_are_said_so() {
    let keys = keys(1, 1);
    for (style, expected) in [
        (
            ChallengeStyle::Malformed,
            "the server's digest challenge cannot be used",
        ),
        (
            ChallengeStyle::UnsupportedAlgorithm,
            "the server's digest challenge cannot be used",
        ),
    ] {
        let sim = sim(
            SimConfig {
                challenge: style,
                ..SimConfig::default()
            },
            &keys,
        );
        let answer = block(client(&sim, false, DEFAULT_PRIVATE_KEY).revoke(&keys[0]));
        assert!(
            matches!(&answer, Answer::AuthUnusable { detail } if detail.starts_with(expected)),
            "{style:?}: {answer:?}"
        );
        assert!(answer.stops_the_run());
    }
}

#[test]
fn a_redirect_is_not_followed() {
    let keys = keys(1, 1);
    let sim = sim(
        SimConfig {
            faults: vec![(Fault::Redirect, 1.0)],
            ..SimConfig::default()
        },
        &keys,
    );
    let answer = block(client(&sim, false, DEFAULT_PRIVATE_KEY).revoke(&keys[0]));
    assert!(
        matches!(&answer, Answer::Rejected { status: 302, detail, .. } if detail.starts_with("redirect to \"https://login.example.invalid/api/public/v1.0/groups/")),
        "{answer:?}"
    );
    let stats = sim.stats();
    assert_eq!(
        stats.requests, 2,
        "the challenge and the DELETE; the Location was not visited"
    );
    assert_eq!(stats.remaining, 1);
}

#[test]
fn plain_http_is_refused_except_on_loopback() {
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys(1, 1));
    let out = revoker()
        .args(["run", "--report"])
        .arg(path(&d, "r.csv"))
        .arg("--input")
        .arg(path(&d, "in.csv"))
        .args(["--base-url", "http://example.com/api/public/v1.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "revoker: base URL http://example.com/api/public/v1.0 uses http://; only https:// is allowed, except on loopback addresses"
    );
}

#[test]
fn curl_digest_works_against_the_simulator() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("curl is not installed; skipping the independent-client check");
        return;
    }
    let keys = keys(1, 1);
    let sim = sim(SimConfig::default(), &keys);
    let url = api::endpoint(
        &api::parse_base_url(sim.base_url()).unwrap(),
        &keys[0],
        false,
    );
    let curl = |password: &str| {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--digest",
                "--user",
            ])
            .arg(format!("{DEFAULT_PUBLIC_KEY}:{password}"))
            .args(["-X", "DELETE"])
            .arg(url.as_str())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(curl("wrong"), "401");
    assert_eq!(sim.stats().deleted, 0);
    assert_eq!(curl(DEFAULT_PRIVATE_KEY), "200");
    assert_eq!(sim.stats().deleted, 1);
    assert_eq!(curl(DEFAULT_PRIVATE_KEY), "404");
}

#[test]
fn the_stats_endpoint_speaks_the_stable_keys() {
    let keys = keys(1, 1);
    let sim = sim(SimConfig::default(), &keys);
    block(client(&sim, false, DEFAULT_PRIVATE_KEY).revoke(&keys[0]));
    let root = sim
        .base_url()
        .trim_end_matches(revoker::sim::API_PREFIX)
        .to_string();
    let body = block(async {
        reqwest::get(format!("{root}/__sim/stats"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    for key in [
        "requests",
        "by_status",
        "challenges",
        "deleted",
        "not_found",
        "peak_in_flight",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {body}");
    }
    assert_eq!(json["requests"], 2);
    assert_eq!(json["by_status"]["401"], 1);
    assert_eq!(json["by_status"]["200"], 1);
    let reset = block(async {
        reqwest::Client::new()
            .post(format!("{root}/__sim/reset-stats"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(reset, 200);
    assert_eq!(sim.stats().requests, 0);
}
