//! The hostile switches and the ground truth, seen by an independent client: requests signed by
//! hand, answers read as JSON.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use revoker_sim::model::{Kind, ModelKey, Oid, Seed};
use revoker_sim::{
    DateForm, DatedList, Fault, Hostile, ListFault, ScopeRefusal, SimConfig, SimHandle, Truth,
};

const BIN: &str = env!("CARGO_BIN_EXE_revoker-sim");

fn id(n: u8) -> Oid {
    Oid::from_bytes([n; 12])
}

/// A request signed with the simulator's API key by hand (digest_auth): status, headers, body.
fn signed(method: &str, url: &str, accept: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let http = reqwest::Client::new();
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let challenge = http
            .request(method.clone(), url)
            .send()
            .await
            .expect("challenge");
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
            digest_auth::HttpMethod::from(method.as_str()),
        );
        let authorization = prompt.respond(&context).expect("answer").to_header_string();
        let answer = http
            .request(method, url)
            .header("authorization", authorization)
            .header("accept", accept)
            .send()
            .await
            .expect("answer");
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        (status, headers, answer.text().await.expect("body"))
    })
}

fn get(url: &str, accept: &str) -> (u16, serde_json::Value) {
    let (status, _, body) = signed("GET", url, accept);
    (status, serde_json::from_str(&body).unwrap_or_default())
}

fn truth(sim: &SimHandle) -> Truth {
    let origin = sim.base_url().trim_end_matches(revoker_sim::API_PREFIX);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let body = reqwest::get(format!("{origin}/__sim/state"))
            .await
            .expect("state")
            .text()
            .await
            .expect("body");
        serde_json::from_str(&body).expect("the truth is JSON")
    })
}

fn seed(kind: Kind, scope: u8, key: u8, secret: Option<u8>) -> Seed {
    Seed::new(kind, id(scope), id(key), secret.map(id))
}

#[test]
fn the_ground_truth_names_what_exists_what_each_delete_destroyed_and_every_delete_sent() {
    let mut project_row = seed(Kind::ProjectApiKey, 2, 9, None);
    project_row.meta.org = Some(id(1));
    let sim = SimHandle::spawn(
        SimConfig::default(),
        vec![
            seed(Kind::OrgApiKey, 1, 9, None),
            project_row,
            seed(Kind::ServiceAccountSecret, 1, 5, Some(6)),
            seed(Kind::ServiceAccountSecret, 1, 5, Some(7)),
        ],
    )
    .unwrap();
    let before = truth(&sim);
    assert_eq!(before.credentials.len(), 5, "{before:#?}");
    let key = id(9).to_string();
    let org = id(1).to_string();
    let org_key = before
        .credentials
        .iter()
        .find(|c| c.kind == "org-api-key")
        .unwrap();
    assert_eq!(org_key.projects, [id(2).to_string()]);
    assert_eq!(
        before
            .credentials
            .iter()
            .find(|c| c.kind == "project-api-key")
            .unwrap()
            .org
            .as_deref(),
        Some(org.as_str()),
        "a project's credential names its organization"
    );
    // Ids in any case, as the API takes them.
    let upper_client = format!("mdb_sa_id_{}", id(5).to_string().to_uppercase());
    let upper_secret = id(6).to_string().to_uppercase();
    assert!(before.exists(
        "service-account-secret",
        &org,
        &upper_client,
        Some(&upper_secret)
    ));

    let url = sim.base_url();
    let (status, _, _) = signed("DELETE", &format!("{url}/orgs/{org}/apiKeys/{key}"), "");
    assert_eq!(status, 200);
    let (status, _, _) = signed(
        "DELETE",
        &format!("{url}/groups/{}/apiKeys/{key}", id(2)),
        "",
    );
    assert_eq!(status, 400, "the assignment went with the key");
    let client = format!("mdb_sa_id_{}", id(5));
    let (status, _, _) = signed(
        "DELETE",
        &format!("{url}/orgs/{org}/serviceAccounts/{client}"),
        "",
    );
    assert_eq!(status, 204);

    let after = truth(&sim);
    assert!(after.credentials.is_empty(), "{after:#?}");
    assert_eq!(after.deletions.len(), 2);
    let first = &after.deletions[0];
    assert_eq!(first.by, revoker_sim::DEFAULT_PUBLIC_KEY);
    assert_eq!(
        first.path,
        format!("/api/public/v1.0/orgs/{org}/apiKeys/{key}")
    );
    assert_eq!(first.target.kind, "org-api-key");
    let destroyed: Vec<(&str, &str)> = first
        .destroyed
        .iter()
        .map(|c| (c.kind.as_str(), c.scope.as_str()))
        .collect();
    assert_eq!(
        destroyed,
        [
            ("org-api-key", org.as_str()),
            ("project-api-key", id(2).to_string().as_str())
        ]
    );
    assert!(first.at.ends_with('Z') && first.at_ms > 0);
    let secrets: Vec<Option<String>> = after.deletions[1]
        .destroyed
        .iter()
        .map(|c| c.secret.clone())
        .collect();
    assert_eq!(
        secrets,
        [None, Some(id(6).to_string()), Some(id(7).to_string())]
    );
    assert!(
        after
            .deleted_by(
                "service-account-secret",
                &org,
                &client,
                Some(&id(7).to_string())
            )
            .is_some()
    );
    assert!(
        after
            .deleted_by("project-api-key", &id(2).to_string(), &key, None)
            .is_some()
    );
    let statuses: Vec<Option<u16>> = after.deletes_sent.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [Some(200), Some(400), Some(204)]);
}

#[test]
fn a_lost_answer_is_in_the_truth_as_a_deletion_and_a_delete_answered_by_nothing() {
    let sim = SimHandle::spawn(
        SimConfig {
            faults: vec![(Fault::LostAnswer, 1.0)],
            ..SimConfig::default()
        },
        vec![seed(Kind::AgentApiKey, 2, 9, None)],
    )
    .unwrap();
    // The answer never comes; the client sees an error, whatever it is.
    let url = format!("{}/groups/{}/agentapikeys/{}", sim.base_url(), id(2), id(9));
    let result = std::panic::catch_unwind(|| signed("DELETE", &url, ""));
    assert!(result.is_err(), "no answer");
    let t = truth(&sim);
    assert!(t.credentials.is_empty());
    assert_eq!(t.deletions.len(), 1);
    assert_eq!(t.deletes_sent.last().map(|s| s.status), Some(None));
}

#[test]
fn dates_come_in_the_form_asked_per_list() {
    let mut secret = seed(Kind::ServiceAccountSecret, 1, 5, Some(6));
    secret.meta.created = Some(1_767_225_600);
    let mut agent = seed(Kind::AgentApiKey, 2, 9, None);
    agent.meta.created = Some(1_767_225_600);
    let sim = SimHandle::spawn(
        SimConfig {
            hostile: Hostile {
                date_forms: vec![
                    (None, DateForm::IsoMillisOffset),
                    (Some(DatedList::Secrets), DateForm::EpochMs),
                ],
                ..Hostile::default()
            },
            ..SimConfig::default()
        },
        vec![secret, agent],
    )
    .unwrap();
    let (status, account) = get(
        &format!(
            "{}/orgs/{}/serviceAccounts/mdb_sa_id_{}",
            sim.base_url(),
            id(1),
            id(5)
        ),
        "",
    );
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["secrets"][0]["createdAt"], 1_767_225_600_000_i64);
    assert_eq!(account["createdAt"], "2026-01-01T02:00:00.000+02:00");
    let (_, agents) = get(
        &format!("{}/groups/{}/agentapikeys", sim.base_url(), id(2)),
        "",
    );
    assert_eq!(agents[0]["createdTime"], "2026-01-01T02:00:00.000+02:00");
}

#[test]
fn lists_refused_while_deletes_go_through_and_the_reverse() {
    let sim = SimHandle::spawn(
        SimConfig {
            hostile: Hostile {
                refuse_lists: vec![ScopeRefusal {
                    scope: id(2),
                    status: 401,
                }],
                refuse_deletes: vec![ScopeRefusal {
                    scope: id(3),
                    status: 403,
                }],
                ..Hostile::default()
            },
            ..SimConfig::default()
        },
        vec![
            seed(Kind::ProjectApiKey, 2, 9, None),
            seed(Kind::ProjectApiKey, 3, 8, None),
        ],
    )
    .unwrap();
    let url = sim.base_url();
    let (status, body) = get(&format!("{url}/groups/{}/apiKeys", id(2)), "");
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("NOT_IN_GROUP"))
    );
    let (status, body) = get(&format!("{url}/groups/{}", id(2)), "");
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("NOT_IN_GROUP"))
    );
    let (status, _, _) = signed(
        "DELETE",
        &format!("{url}/groups/{}/apiKeys/{}", id(2), id(9)),
        "",
    );
    assert_eq!(status, 200);

    let (status, body) = get(&format!("{url}/groups/{}/apiKeys", id(3)), "");
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = signed(
        "DELETE",
        &format!("{url}/groups/{}/apiKeys/{}", id(3), id(8)),
        "",
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("USER_CANNOT_ACCESS_GROUP"), "{body}");
    assert!(truth(&sim).exists(
        "project-api-key",
        &id(3).to_string(),
        &id(8).to_string(),
        None
    ));
}

#[test]
fn a_scope_of_the_other_api_answers_its_404_on_both_apis() {
    let sim = SimHandle::spawn(
        SimConfig {
            hostile: Hostile {
                other_api: vec![id(1), id(2)],
                ..Hostile::default()
            },
            ..SimConfig::default()
        },
        vec![
            seed(Kind::OrgApiKey, 1, 9, None),
            seed(Kind::ProjectApiKey, 2, 9, None),
        ],
    )
    .unwrap();
    let cases = [
        (
            "DELETE",
            format!("{}/groups/{}/apiKeys/{}", sim.base_url(), id(2), id(9)),
            "ATLAS_GROUP",
        ),
        (
            "DELETE",
            format!("{}/orgs/{}/apiKeys/{}", sim.base_url(), id(1), id(9)),
            "EXPECTED_NON_ATLAS_ORG",
        ),
        (
            "GET",
            format!("{}/groups/{}/apiKeys", sim.atlas_url(), id(2)),
            "NOT_ATLAS_GROUP",
        ),
        (
            "DELETE",
            format!("{}/orgs/{}/apiKeys/{}", sim.atlas_url(), id(1), id(9)),
            "NOT_ATLAS_ORG",
        ),
    ];
    for (method, url, code) in cases {
        let (status, _, body) = signed(method, &url, "application/vnd.atlas.2023-01-01+json");
        assert_eq!(status, 404, "{url}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["errorCode"], code, "{url}");
    }
    assert_eq!(truth(&sim).credentials.len(), 2, "nothing was deleted");
}

#[test]
fn pages_that_mislead_in_the_new_ways() {
    let keys: Vec<Seed> = (10..15)
        .map(|k| seed(Kind::ProjectApiKey, 2, k, None))
        .collect();
    let with = |faults: Vec<ListFault>| {
        SimHandle::spawn(
            SimConfig {
                hostile: Hostile {
                    list_faults: faults,
                    ..Hostile::default()
                },
                ..SimConfig::default()
            },
            keys.clone(),
        )
        .unwrap()
    };
    let list = |sim: &SimHandle, page: u32| {
        get(
            &format!(
                "{}/groups/{}/apiKeys?itemsPerPage=2&pageNum={page}",
                sim.base_url(),
                id(2)
            ),
            "",
        )
        .1
    };
    let low = with(vec![ListFault::TotalCountLow]);
    assert_eq!(list(&low, 1)["totalCount"], 4);
    let high = with(vec![ListFault::TotalCountHigh, ListFault::UpperCaseIds]);
    let page = list(&high, 1);
    assert_eq!(page["totalCount"], 6);
    assert_eq!(page["results"][0]["id"], id(10).to_string().to_uppercase());
    let empty = with(vec![ListFault::EmptyPages]);
    let first = list(&empty, 1);
    assert_eq!(first["results"].as_array().unwrap().len(), 0);
    assert_eq!(first["links"][1]["rel"], "next");
    assert_eq!(list(&empty, 2)["results"][0]["id"], id(10).to_string());
    assert_eq!(list(&empty, 4)["results"].as_array().unwrap().len(), 1);

    let mut secrets: Vec<Seed> = (20..24)
        .map(|s| seed(Kind::ServiceAccountSecret, 1, 5, Some(s)))
        .collect();
    secrets.push(Seed::model(
        id(3),
        ModelKey::parse("a86r5kwrfsk5r5ku5tgvhmpj").unwrap(),
    ));
    let sim = SimHandle::spawn(
        SimConfig {
            hostile: Hostile {
                list_faults: vec![ListFault::UnreadableDates, ListFault::UpperCaseIds],
                ..Hostile::default()
            },
            ..SimConfig::default()
        },
        secrets,
    )
    .unwrap();
    let (_, account) = get(
        &format!(
            "{}/orgs/{}/serviceAccounts/mdb_sa_id_{}",
            sim.base_url(),
            id(1),
            id(5)
        ),
        "",
    );
    let created: Vec<&str> = account["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["createdAt"].as_str().unwrap())
        .collect();
    assert_eq!(
        created,
        [
            "2026-01-01T00:00:00Z",
            "2026-01-01",
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00"
        ]
    );
    assert_eq!(
        account["clientId"],
        format!("mdb_sa_id_{}", id(5).to_string().to_uppercase())
    );
    let (_, models) = get(
        &format!("{}/groups/{}/aiModelApiKeys", sim.atlas_url(), id(3)),
        "application/vnd.atlas.2025-03-12+json",
    );
    assert_eq!(
        models["results"][0]["apiKeyId"], "a86r5kwrfsk5r5ku5tgvhmpj",
        "an AI model key's id is not hexadecimal: listed as it is"
    );
}

#[test]
fn a_429_with_or_without_its_headers() {
    for (retry_after, headers) in [(None, false), (Some(0), true)] {
        let sim = SimHandle::spawn(
            SimConfig {
                faults: vec![(Fault::Throttle, 1.0)],
                retry_after,
                ratelimit_headers: headers,
                ..SimConfig::default()
            },
            vec![seed(Kind::ProjectApiKey, 2, 9, None)],
        )
        .unwrap();
        let (status, answer, _) = signed(
            "DELETE",
            &format!("{}/groups/{}/apiKeys/{}", sim.base_url(), id(2), id(9)),
            "",
        );
        assert_eq!(status, 429);
        assert_eq!(answer.contains_key("retry-after"), retry_after.is_some());
        assert_eq!(answer.contains_key("ratelimit-remaining"), headers);
        assert_eq!(truth(&sim).credentials.len(), 1);
    }
}

#[test]
fn a_hostile_seed_prints_the_flags_that_reproduce_it_and_help_names_every_switch() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.csv");
    let start = |seed: &str| {
        let mut sim = Command::new(BIN)
            .args(["--generate", "40", "--projects", "8", "--write-keys"])
            .arg(&keys)
            .args(["--hostile-seed", seed])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(sim.stderr.take().unwrap());
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        let _ = sim.kill();
        let _ = sim.wait();
        line
    };
    let first = start("11");
    assert!(
        first.starts_with("revoker-sim: --hostile-seed 11 chose: "),
        "{first}"
    );
    assert_eq!(first, start("11"), "the same seed, the same set");
    // The printed flags are flags the simulator takes.
    let chosen = first.trim().split(" chose: ").nth(1).unwrap().to_string();
    if chosen != "nothing" {
        let out = Command::new(BIN)
            .args(chosen.split(' '))
            .args(["--listen", "0.0.0.0:0"])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not a loopback address"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for switch in [
        "--date-form",
        "--refuse-lists",
        "--refuse-deletes",
        "--other-api",
        "--slow-lists",
        "--hostile-list-fault",
        "--hostile-seed",
        "total-count-low",
        "unreadable-dates",
        "empty-pages",
        "upper-case-ids",
        "ignore-page-num",
        "/__sim/state",
    ] {
        assert!(help.contains(switch), "--help names {switch}");
    }
}
