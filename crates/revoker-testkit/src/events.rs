//! An incident's Events API trail for the simulator: benign events of other actors over some days,
//! and among them what compromised credentials did — the artifacts they created, and what those
//! artifacts created in turn. The same every time for the same sizes.
//!
//! Fields follow the spec's `EventViewForOrg` / `EventViewForNdsGroup`; where the documents are
//! silent this trail assumes what revoker's README states (a service account acts as `username` =
//! its client id; `resourceId` names what an event created; a secret's account is `raw.clientId`).

use revoker::input::{Kind, ObjectId, Target};
use revoker_sim::events::{DbUser, Event};

/// What a sweep should find, and everything the simulator needs to hold.
pub struct Trail {
    pub org: ObjectId,
    pub projects: Vec<ObjectId>,
    /// The compromised credentials, as input rows: three organization API keys and a service account.
    pub compromised: Vec<Target>,
    /// What they (and their artifacts) created that revoker can revoke: 4 API keys, 2 service
    /// accounts, 3 secrets, 3 project assignments, 5 database users. Each with its event id.
    pub artifacts: Vec<(Target, String)>,
    /// What revoker cannot revoke: API key access-list entries `(key, entry, event id)`.
    pub handover: Vec<(ObjectId, String, String)>,
    /// Every event, benign and not.
    pub events: Vec<Event>,
    /// Database users that exist (the artifacts' and benign ones).
    pub db_users: Vec<(revoker_sim::Oid, DbUser)>,
    /// Credentials that exist, for the simulator's seeds (compromised, artifacts, benign).
    pub seeds: Vec<Target>,
}

fn oid(prefix: u8, n: u64) -> ObjectId {
    let mut b = [0u8; 12];
    b[0] = prefix;
    b[4..].copy_from_slice(&n.to_be_bytes());
    ObjectId::from_bytes(b)
}

fn sim_oid(id: &ObjectId) -> revoker_sim::Oid {
    revoker_sim::Oid::from_bytes(id.bytes())
}

/// Who acts in an event.
#[derive(Clone)]
enum Who {
    Key(ObjectId, String),
    Account(String),
    User(ObjectId, String),
}

struct Builder {
    events: Vec<Event>,
    n: u64,
    start_ms: i64,
    span_ms: i64,
}

impl Builder {
    fn at(&self, fraction: f64) -> String {
        let ms = self.start_ms + (self.span_ms as f64 * fraction) as i64;
        jiff::Timestamp::from_millisecond(ms)
            .unwrap_or_default()
            .strftime("%Y-%m-%dT%H:%M:%S.%3fZ")
            .to_string()
    }

    /// Adds an event; answers its id.
    fn add(
        &mut self,
        who: &Who,
        name: &str,
        fraction: f64,
        scope: Scope,
        fill: impl FnOnce(&mut Event),
    ) -> String {
        self.n += 1;
        let id = oid(0xe0, self.n).to_string();
        let mut e = Event {
            id: id.clone(),
            created: self.at(fraction),
            event_type_name: name.into(),
            remote_address: Some(format!("198.51.100.{}", self.n % 250 + 1)),
            ..Event::default()
        };
        match who {
            Who::Key(k, public) => {
                e.api_key_id = Some(k.to_string());
                e.public_key = Some(public.clone());
            }
            Who::Account(client) => e.username = Some(client.clone()),
            Who::User(u, name) => {
                e.user_id = Some(u.to_string());
                e.username = Some(name.clone());
            }
        }
        match scope {
            Scope::Org(o) => e.org_id = Some(o.to_string()),
            Scope::Project(o, p) => {
                e.org_id = Some(o.to_string());
                e.group_id = Some(p.to_string());
            }
        }
        fill(&mut e);
        self.events.push(e);
        id
    }
}

#[derive(Clone, Copy)]
enum Scope {
    Org(ObjectId),
    Project(ObjectId, ObjectId),
}

fn client(id: &ObjectId) -> String {
    format!("{}{id}", revoker::input::CLIENT_ID_PREFIX)
}

fn target(kind: Kind, scope: ObjectId, key: &str, secret: &str) -> Target {
    Target::parse(kind.as_str(), &scope.to_string(), key, secret).expect("a valid row")
}

/// The trail: `benign` events of 40 other actors over `days` days less two hours, ending an hour
/// before `now_ms`.
pub fn trail(benign: usize, days: i64, now_ms: i64) -> Trail {
    let org = oid(0x0a, 1);
    let projects: Vec<ObjectId> = (1..=3).map(|n| oid(0x5e, n)).collect();
    // An hour inside each end of the window, so a sweep's `--since` of `days` started later still
    // covers the first event.
    let span_ms = days * 86_400_000 - 2 * 3_600_000;
    let mut b = Builder {
        events: Vec::new(),
        n: 0,
        start_ms: now_ms - 3_600_000 - span_ms,
        span_ms,
    };
    let (c1, c2, c3, c4) = (oid(0xc0, 1), oid(0xc0, 2), oid(0xc0, 3), oid(0xc5, 4));
    let who_c = |id: &ObjectId, n| Who::Key(*id, format!("cpub{n}"));
    let compromised = vec![
        target(Kind::OrgApiKey, org, &c1.to_string(), ""),
        target(Kind::OrgApiKey, org, &c2.to_string(), ""),
        target(Kind::OrgApiKey, org, &c3.to_string(), ""),
        target(Kind::ServiceAccount, org, &client(&c4), ""),
    ];
    let mut artifacts = Vec::new();
    let mut handover = Vec::new();
    let mut db_users = Vec::new();
    let o = Scope::Org(org);
    let p = |i: usize| Scope::Project(org, projects[i]);
    // Benign events first, so the attacker's trail is interleaved by time, not by position.
    benign_events(&mut b, benign, org, &projects);
    let mut key = |b: &mut Builder, by: &Who, n: u64, f: f64| {
        let k = oid(0xa1, n);
        let id = b.add(by, "API_KEY_CREATED", f, o, |e| {
            e.resource_id = Some(k.to_string());
            e.resource_type = Some("API_KEY".into());
            e.target_public_key = Some(format!("apub{n}"));
        });
        artifacts.push((target(Kind::OrgApiKey, org, &k.to_string(), ""), id));
        k
    };
    let k1 = key(&mut b, &who_c(&c1, 1), 1, 0.10);
    let k1_who = Who::Key(k1, "apub1".into());
    let k2 = key(&mut b, &k1_who, 2, 0.20);
    let k2_who = Who::Key(k2, "apub2".into());
    let k3 = key(&mut b, &who_c(&c2, 2), 3, 0.30);
    let c4_who = Who::Account(client(&c4));
    let k4 = key(&mut b, &c4_who, 4, 0.40);
    for (by, k, n, i, f) in [
        (&who_c(&c1, 1), k1, 1, 0, 0.11),
        (&k1_who, k2, 2, 1, 0.21),
        (&who_c(&c2, 2), k3, 3, 2, 0.31),
    ] {
        let id = b.add(by, "API_KEY_ADDED_TO_GROUP", f, p(i), |e| {
            e.resource_id = Some(k.to_string());
            e.resource_type = Some("API_KEY".into());
            e.target_public_key = Some(format!("apub{n}"));
        });
        artifacts.push((
            target(Kind::ProjectApiKey, projects[i], &k.to_string(), ""),
            id,
        ));
    }
    for (by, k, n, f) in [(&who_c(&c1, 1), k1, 1, 0.12), (&k2_who, k2, 2, 0.22)] {
        let entry = format!("203.0.113.{n}");
        let shown = entry.clone();
        let id = b.add(by, "API_KEY_ACCESS_LIST_ENTRY_ADDED", f, o, |e| {
            e.resource_id = Some(k.to_string());
            e.target_public_key = Some(format!("apub{n}"));
            e.whitelist_entry = Some(shown);
        });
        handover.push((k, entry, id));
    }
    // Service accounts and secrets: S1 by C2, S2 by C4; X1 on S1, X2 on S2, X3 on a benign account.
    let (s1, s2, benign_sa) = (oid(0x5a, 1), oid(0x5a, 2), oid(0xb5, 1));
    for (by, s, f) in [(&who_c(&c2, 2), s1, 0.32), (&c4_who, s2, 0.41)] {
        let id = b.add(by, "SERVICE_ACCOUNT_CREATED", f, o, |e| {
            e.resource_id = Some(s.to_string());
            e.resource_type = Some("SERVICE_ACCOUNT".into());
            e.raw = Some(serde_json::json!({ "clientId": client(&s) }));
        });
        artifacts.push((target(Kind::ServiceAccount, org, &client(&s), ""), id));
    }
    for (by, s, n, f) in [
        (&who_c(&c2, 2), s1, 1, 0.33),
        (&c4_who, s2, 2, 0.42),
        (&who_c(&c3, 3), benign_sa, 3, 0.50),
    ] {
        let x = oid(0x7c, n);
        let id = b.add(by, "SERVICE_ACCOUNT_SECRET_ADDED", f, o, |e| {
            e.resource_id = Some(x.to_string());
            e.resource_type = Some("SERVICE_ACCOUNT_SECRET".into());
            e.raw = Some(serde_json::json!({ "clientId": client(&s) }));
        });
        artifacts.push((
            target(Kind::ServiceAccountSecret, org, &client(&s), &x.to_string()),
            id,
        ));
    }
    // Database users: one by S1 (an artifact), three by C4, one by K4 (an artifact).
    let s1_who = Who::Account(client(&s1));
    let k4_who = Who::Key(k4, "apub4".into());
    for (by, n, i, f) in [
        (&s1_who, 1, 0, 0.60),
        (&c4_who, 2, 1, 0.61),
        (&c4_who, 3, 2, 0.62),
        (&c4_who, 4, 0, 0.63),
        (&k4_who, 5, 1, 0.70),
    ] {
        let name = format!("intruder{n}");
        let shown = name.clone();
        let id = b.add(by, "MONGODB_USER_ADDED", f, p(i), |e| {
            e.db_user_username = Some(shown);
            e.database = Some("admin".into());
            e.resource_type = Some("DATABASE_USER".into());
        });
        artifacts.push((
            target(
                Kind::DatabaseUser,
                projects[i],
                &format!("admin/{name}"),
                "",
            ),
            id,
        ));
        db_users.push((sim_oid(&projects[i]), ("admin".to_string(), name)));
    }
    // Activity that creates nothing, and a decoy: a benign admin assigns K1 to the third project.
    for (by, n) in [(who_c(&c1, 1), 3), (who_c(&c3, 3), 2), (c4_who.clone(), 4)] {
        for i in 0..n {
            b.add(
                &by,
                "CLUSTER_UPDATED",
                0.05 + 0.1 * i as f64,
                p(i % 3),
                |_| {},
            );
        }
    }
    b.add(
        &Who::User(oid(0xbe, 999), "admin@example.com".into()),
        "API_KEY_ADDED_TO_GROUP",
        0.8,
        p(2),
        |e| {
            e.resource_id = Some(k1.to_string());
            e.target_public_key = Some("apub1".into());
        },
    );
    db_users.push((
        sim_oid(&projects[0]),
        ("admin".to_string(), "app".to_string()),
    ));
    let mut seeds: Vec<Target> = compromised.clone();
    seeds.extend(
        artifacts
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| t.kind != Kind::DatabaseUser),
    );
    seeds.push(target(Kind::ServiceAccount, org, &client(&benign_sa), ""));
    for p in &projects {
        // Each project exists in the organization.
        seeds.push(target(
            Kind::ProjectApiKey,
            *p,
            &oid(0xbf, 1).to_string(),
            "",
        ));
    }
    Trail {
        org,
        projects,
        compromised,
        artifacts,
        handover,
        events: b.events,
        db_users,
        seeds,
    }
}

/// `n` benign events by 40 actors (20 people, 20 API keys), of the same types the attacker used
/// among others, naming benign resources.
fn benign_events(b: &mut Builder, n: usize, org: ObjectId, projects: &[ObjectId]) {
    const TYPES: [(&str, bool); 10] = [
        ("API_KEY_CREATED", true),
        ("SERVICE_ACCOUNT_CREATED", true),
        ("SERVICE_ACCOUNT_SECRET_ADDED", true),
        ("API_KEY_ACCESS_LIST_ENTRY_ADDED", true),
        ("JOINED_ORG", true),
        ("MONGODB_USER_ADDED", false),
        ("API_KEY_ADDED_TO_GROUP", false),
        ("CLUSTER_UPDATED", false),
        ("NETWORK_PERMISSION_ENTRY_ADDED", false),
        ("ALERT_ACKNOWLEDGED_AUDIT", false),
    ];
    for i in 0..n {
        let actor = i % 40;
        let who = if actor < 20 {
            Who::User(oid(0xbe, actor as u64), format!("user{actor}@example.com"))
        } else {
            Who::Key(oid(0xbe, actor as u64), format!("bpub{actor}"))
        };
        let (name, org_level) = TYPES[(i / 40) % TYPES.len()];
        let scope = if org_level {
            Scope::Org(org)
        } else {
            Scope::Project(org, projects[i % projects.len()])
        };
        let fraction = i as f64 / n.max(1) as f64;
        let made = oid(0xbb, i as u64);
        b.add(&who, name, fraction, scope, |e| {
            e.resource_id = Some(made.to_string());
            if name == "MONGODB_USER_ADDED" {
                e.db_user_username = Some(format!("app{i}"));
                e.database = Some("admin".into());
            }
            if name.contains("SECRET") || name.starts_with("SERVICE_ACCOUNT") {
                e.raw = Some(serde_json::json!({ "clientId": client(&oid(0xb5, 1)) }));
            }
        });
    }
}

/// The simulator's seeds: every project row names the trail's organization.
pub fn sim_seeds(trail: &Trail) -> Vec<revoker_sim::Seed> {
    seeds_in(trail.org, &trail.seeds)
}

/// `seeds` as the simulator's, every project row in organization `org`.
pub fn seeds_in(org: ObjectId, seeds: &[Target]) -> Vec<revoker_sim::Seed> {
    seeds
        .iter()
        .map(|t| {
            let mut seed = crate::seed(t);
            if t.kind.scope() == revoker::input::Scope::Project {
                seed.meta.org = Some(sim_oid(&org));
            }
            seed
        })
        .collect()
}

/// A simulator holding the trail.
pub fn sim(trail: &Trail) -> revoker_sim::SimHandle {
    revoker_sim::SimHandle::spawn(config(trail), sim_seeds(trail)).expect("start the simulator")
}

/// A simulator config holding the trail's events and database users.
pub fn config(trail: &Trail) -> revoker_sim::SimConfig {
    revoker_sim::SimConfig {
        events: trail.events.clone(),
        database_users: trail.db_users.clone(),
        ..revoker_sim::SimConfig::default()
    }
}

/// A DELETE signed by hand (digest) with `public`/`private`, as another client would send it
/// behind revoker's back. Answers the status.
pub fn signed_delete(url: &str, public: &str, private: &str, accept: &str) -> u16 {
    crate::block(async {
        let http = reqwest::Client::new();
        let challenge = http.delete(url).send().await.expect("challenge");
        let authorization = crate::digest_answer(
            challenge.headers(),
            url,
            (public, private),
            digest_auth::HttpMethod::DELETE,
        );
        http.delete(url)
            .header("authorization", authorization)
            .header("accept", accept)
            .send()
            .await
            .expect("answer")
            .status()
            .as_u16()
    })
}

/// A POST signed by hand (digest) with `public`/`private`, as the holder of a leaked key would
/// send it. Answers the status and the body (`null` when empty).
pub fn signed_post(
    url: &str,
    (public, private): (&str, &str),
    accept: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    crate::block(async {
        let http = reqwest::Client::new();
        let challenge = http.post(url).send().await.expect("challenge");
        let authorization = crate::digest_answer(
            challenge.headers(),
            url,
            (public, private),
            digest_auth::HttpMethod::POST,
        );
        let answer = http
            .post(url)
            .header("authorization", authorization)
            .header("accept", accept)
            .header("content-type", accept)
            .body(body.to_string())
            .send()
            .await
            .expect("answer");
        let status = answer.status().as_u16();
        let text = answer.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or_default())
    })
}
