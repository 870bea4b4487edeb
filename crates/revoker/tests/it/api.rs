//! The API client against the simulator: digest round trips (every documented challenge form and
//! algorithm), service-account tokens, classification as documented, refusals.

use std::time::Duration;

use revoker::api::{self, Answer, Fatal};
use revoker::figures::Figures;
use revoker::input::Kind;
use revoker_testkit::simulator::{
    ChallengeStyle, DEFAULT_CLIENT_SECRET, DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, Fault,
    SimConfig,
};
use revoker_testkit::*;

fn cm(sim: &revoker_testkit::simulator::SimHandle, password: &str) -> api::Client {
    api_client(
        sim.base_url(),
        api_key(password),
        false,
        Duration::from_secs(2),
    )
    .0
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
    let (c, figures) = api_client(
        sim.base_url(),
        api_key(DEFAULT_PRIVATE_KEY),
        false,
        Duration::from_secs(2),
    );
    block(async {
        assert_eq!(
            c.revoke(&keys[0]).await.answer,
            Answer::Done { status: 200 }
        );
        assert_eq!(
            Figures::get(&figures.requests),
            2,
            "challenge, then the DELETE"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            c.revoke(&keys[1]).await.answer,
            Answer::Done { status: 200 }
        );
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
fn every_documented_challenge_form_is_answered() {
    // As the docs print it (op="auth", a nonce with + / =), SHA-256 and MD5-sess (RFC 7616), and a
    // Bearer challenge ahead of the Digest one.
    for style in [
        ChallengeStyle::Docs,
        ChallengeStyle::Sha256,
        ChallengeStyle::Md5Sess,
        ChallengeStyle::BearerThenDigest,
    ] {
        let keys = keys(3, 1);
        let sim = sim(
            SimConfig {
                challenge: style,
                ..SimConfig::default()
            },
            &keys,
        );
        let c = cm(&sim, DEFAULT_PRIVATE_KEY);
        block(async {
            for key in &keys {
                assert_eq!(
                    c.revoke(key).await.answer,
                    Answer::Done { status: 200 },
                    "{style:?}"
                );
            }
        });
        let stats = sim.stats();
        assert_eq!(
            (stats.deleted, stats.requests, stats.challenges),
            (3, 4, 1),
            "{style:?}"
        );
        // The wrong password is still refused under every form.
        let sim2 = revoker_testkit::sim(
            SimConfig {
                challenge: style,
                ..SimConfig::default()
            },
            &keys,
        );
        let answer = block(cm(&sim2, "wrong").revoke(&keys[0])).answer;
        assert!(
            matches!(answer, Answer::Fatal(Fatal::CredentialsRejected { .. })),
            "{style:?}: {answer:?}"
        );
    }
}

#[test]
fn envelope_answers_classify_like_plain_ones() {
    let present = keys(3, 1);
    let forbidden = keys(6, 2)[1];
    let sim = sim(
        SimConfig {
            forbid_projects: vec![oid(&forbidden.scope)],
            ..SimConfig::default()
        },
        &present,
    );
    let missing = missing_keys(1, 1)[0];
    let agent_missing = missing_keys(2, 1)[1];
    let bad_project = revoker::input::Target {
        scope: revoker::input::ObjectId::parse("ffffffffffffffffffffffff").unwrap(),
        ..present[2]
    };
    for envelope in [false, true] {
        let (c, _) = api_client(
            sim.base_url(),
            api_key(DEFAULT_PRIVATE_KEY),
            envelope,
            Duration::from_secs(2),
        );
        block(async {
            assert_eq!(
                c.revoke(&present[usize::from(envelope)]).await.answer,
                Answer::Done { status: 200 }
            );
            let a = c.revoke(&missing).await.answer;
            assert!(
                matches!(&a, Answer::NotFound { status: 400, code, .. } if code == "API_KEY_NOT_FOUND"),
                "{a:?}"
            );
            let a = c.revoke(&agent_missing).await.answer;
            assert!(
                matches!(&a, Answer::NotFound { status: 404, code, .. } if code == "AGENT_API_KEY_NOT_FOUND"),
                "{a:?}"
            );
            assert!(
                matches!(c.revoke(&bad_project).await.answer, Answer::NotFound { code, .. } if code == "GROUP_NOT_FOUND")
            );
            assert!(
                matches!(c.revoke(&forbidden).await.answer, Answer::Rejected { status: 403, code, .. } if code == "USER_CANNOT_ACCESS_GROUP")
            );
        });
    }
    // Enveloped answers all travel as HTTP 200.
    let stats = sim.stats();
    assert_eq!(stats.status(400), 1);
    assert_eq!(stats.status(404), 2);
    assert_eq!(stats.status(403), 1);
}

#[test]
fn refusals_and_the_access_list_are_told_apart_from_wrong_credentials() {
    let keys = keys(2, 2);
    let sim = sim(
        SimConfig {
            not_in_group: vec![oid(&keys[0].scope)],
            ..SimConfig::default()
        },
        &keys,
    );
    let c = cm(&sim, DEFAULT_PRIVATE_KEY);
    let a = block(c.revoke(&keys[0])).answer;
    assert!(
        matches!(&a, Answer::Rejected { status: 401, code, .. } if code == "NOT_IN_GROUP")
            && a.is_scope_refusal(),
        "{a:?}"
    );
    assert_eq!(
        block(c.revoke(&keys[1])).answer,
        Answer::Done { status: 200 }
    );

    let sim = revoker_testkit::sim(
        SimConfig {
            access_list_denied: true,
            ..SimConfig::default()
        },
        &keys,
    );
    let a = block(cm(&sim, DEFAULT_PRIVATE_KEY).revoke(&keys[0])).answer;
    assert!(
        matches!(&a, Answer::Fatal(Fatal::AccessList { code, .. }) if code == "IP_ADDRESS_NOT_ON_ACCESS_LIST"),
        "{a:?}"
    );
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
    let (c, figures) = api_client(
        sim.base_url(),
        api_key(DEFAULT_PRIVATE_KEY),
        false,
        Duration::from_secs(2),
    );
    let answer = block(c.revoke(&keys[0])).answer;
    assert!(
        matches!(answer, Answer::Transient { status: Some(429), retry_after: Some(d), .. } if d == Duration::from_secs(7)),
        "{answer:?}"
    );
    assert_eq!(Figures::get(&figures.throttled), 1);

    let sim = revoker_testkit::sim(
        SimConfig {
            error_rate: 1.0,
            ..SimConfig::default()
        },
        &keys,
    );
    let answer = block(cm(&sim, DEFAULT_PRIVATE_KEY).revoke(&keys[0])).answer;
    assert!(
        matches!(&answer, Answer::Transient { status: Some(503), code, .. } if code == "UNEXPECTED_ERROR"),
        "{answer:?}"
    );
}

#[test]
fn a_token_bucket_429_describes_its_bucket_and_headers_count_down() {
    let keys: Vec<_> = (1..=4)
        .map(|k| target(Kind::ProjectApiKey, 1, k, None))
        .collect();
    let sim = sim(
        SimConfig {
            scope_bucket: Some("2:1/m".parse().unwrap()),
            ratelimit_headers: true,
            ..SimConfig::default()
        },
        &keys,
    );
    let c = cm(&sim, DEFAULT_PRIVATE_KEY);
    block(async {
        let first = c.revoke(&keys[0]).await;
        assert_eq!((first.rate.limit, first.rate.remaining), (Some(2), Some(1)));
        let second = c.revoke(&keys[1]).await;
        assert_eq!(second.rate.remaining, Some(0));
        let third = c.revoke(&keys[2]).await;
        assert!(third.answer.is_throttled(), "{:?}", third.answer);
        assert_eq!(third.answer.error_code(), "RATE_LIMITED_TOKEN_BUCKET");
        assert_eq!(third.rate.capacity, Some(2.0));
        assert!((third.rate.refill_per_second.unwrap() - 1.0 / 60.0).abs() < 1e-9);
        assert!(
            matches!(third.answer, Answer::Transient { retry_after: Some(d), .. } if d >= Duration::from_secs(50))
        );
    });
}

#[test]
fn a_wrong_password_is_rejected_after_two_requests() {
    let keys = keys(1, 1);
    let sim = sim(SimConfig::default(), &keys);
    let answer = block(cm(&sim, "wrong").revoke(&keys[0])).answer;
    assert!(
        matches!(answer, Answer::Fatal(Fatal::CredentialsRejected { .. })),
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
            "the server's digest challenge cannot be used: unsupported algorithm \"SHA-1-FANCY\"",
        ),
    ] {
        let sim = sim(
            SimConfig {
                challenge: style,
                ..SimConfig::default()
            },
            &keys,
        );
        let answer = block(cm(&sim, DEFAULT_PRIVATE_KEY).revoke(&keys[0])).answer;
        assert!(
            matches!(&answer, Answer::Fatal(Fatal::AuthUnusable { detail }) if detail.starts_with(expected)),
            "{style:?}: {answer:?}"
        );
    }
}

#[test]
fn a_service_account_signs_with_one_bearer_token_and_revokes_it() {
    let keys: Vec<_> = (1..=5)
        .map(|k| target(Kind::OrgApiKey, 1, k, None))
        .collect();
    let sim = sim(SimConfig::default(), &keys);
    let (c, figures) = api_client(
        sim.atlas_url(),
        service_account(DEFAULT_CLIENT_SECRET),
        false,
        Duration::from_secs(2),
    );
    block(async {
        c.prepare().await.unwrap();
        for key in &keys {
            assert_eq!(c.revoke(key).await.answer, Answer::Done { status: 204 });
        }
        assert_eq!(c.finish().await, None);
    });
    let stats = sim.stats();
    assert_eq!((stats.token_requests, stats.token_revokes), (1, 1));
    assert_eq!(
        (stats.requests, stats.challenges, stats.deleted),
        (5, 0, 5),
        "one request a key"
    );
    assert_eq!(Figures::get(&figures.token_requests), 1);

    let (c, _) = api_client(
        sim.atlas_url(),
        service_account("not-the-secret"),
        false,
        Duration::from_secs(2),
    );
    let refused = block(c.prepare()).unwrap_err();
    assert!(
        matches!(&refused, Answer::Fatal(Fatal::CredentialsRejected { detail }) if detail.contains("invalid_client") && !detail.contains("not-the-secret")),
        "{refused:?}"
    );
}

#[test]
fn atlas_needs_its_versioned_accept_header() {
    let keys = vec![
        target(Kind::OrgApiKey, 1, 2, None),
        target(Kind::ServiceAccount, 1, 3, None),
    ];
    let sim = sim(SimConfig::default(), &keys);
    // revoker sends the version each endpoint needs ...
    let c = api_client(
        sim.atlas_url(),
        api_key(DEFAULT_PRIVATE_KEY),
        false,
        Duration::from_secs(2),
    )
    .0;
    block(async {
        for key in &keys {
            assert_eq!(c.revoke(key).await.answer, Answer::Done { status: 204 });
        }
    });
    assert_eq!(sim.stats().status(406), 0);
    // ... and the simulator refuses an authenticated request without one, as Atlas does.
    let url = format!("{}/orgs/{}/apiKeys", sim.atlas_url(), keys[0].scope);
    let (status, body) = digest_get(&url, "application/json");
    assert_eq!(status, 406, "{body}");
    assert!(
        body.contains("application/vnd.atlas.2023-01-01+json"),
        "{body}"
    );
    assert_eq!(
        digest_get(&url, "application/vnd.atlas.2023-01-01+json").0,
        200
    );
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
    let answer = block(cm(&sim, DEFAULT_PRIVATE_KEY).revoke(&keys[0])).answer;
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
    if !have_tool("curl", "--version") {
        return;
    }
    let keys = keys(1, 1);
    let sim = sim(SimConfig::default(), &keys);
    let url = api::Api::CloudManager.revoke_url(
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
    assert_eq!(
        curl(DEFAULT_PRIVATE_KEY),
        "400",
        "API_KEY_NOT_FOUND, as documented"
    );
}

#[test]
fn the_stats_endpoint_speaks_the_stable_keys() {
    let keys = keys(1, 1);
    let sim = sim(SimConfig::default(), &keys);
    block(cm(&sim, DEFAULT_PRIVATE_KEY).revoke(&keys[0]));
    let root = sim
        .base_url()
        .trim_end_matches(revoker_testkit::simulator::API_PREFIX)
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
