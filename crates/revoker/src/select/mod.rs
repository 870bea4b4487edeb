//! Selection from live state: the credentials of the organizations and projects given, read with
//! one request per list page, kept when a rule of the policy holds ([`rule`]), written as an input
//! that `run` reads, each row with why it was selected ([`write`]).
//!
//! Never selected: system-managed service accounts (their list is read without
//! `includeSystemManaged` unless the policy asks), the credential the selection runs with, and a
//! credential whose rule rests on a date the list wrote in a form the documents do not give (it
//! is named, and the selection is incomplete). A listed item whose id cannot be read is counted and
//! named, never dropped silently. A secret is one credential whatever path lists it: read through
//! its organization, it is not selected again through a project its account is assigned to.
//! Access lists are read only for API keys whose other conditions already hold.

pub mod mcp;
pub mod read;
pub mod rule;
pub mod write;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use jiff::Timestamp;

use crate::engine::Context;
use crate::input::{CLIENT_ID_PREFIX, Kind, ObjectId, Target, parse_client_id, parse_model_key};
use read::{Date, id_text};
use rule::{DateField, Entry, Facts, Rule, Verdict};

/// What to read and what to keep.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Organizations whose service accounts and API keys are read.
    #[serde(default)]
    pub orgs: Vec<ObjectId>,
    /// Projects whose API keys, agent keys and AI model keys are read.
    #[serde(default)]
    pub projects: Vec<ObjectId>,
    /// Read every project of each organization too.
    #[serde(default)]
    pub every_project: bool,
    /// Also consider system-managed service accounts.
    #[serde(default)]
    pub include_system_managed: bool,
    /// The rules; a credential is selected when any holds.
    #[serde(default)]
    pub rule: Vec<Rule>,
}

impl Policy {
    /// A policy that can select nothing, or anything, is refused before a request is sent.
    pub fn check(&self) -> Result<(), String> {
        if self.orgs.is_empty() && self.projects.is_empty() {
            return Err("a selection needs an organization (--org, orgs = […]) or a project (--project, projects = […])".into());
        }
        if self.rule.is_empty() {
            return Err("a selection needs at least one rule (a filter such as --expired or --unused-for 30d, or a [[select.rule]] in the job)".into());
        }
        for (i, rule) in self.rule.iter().enumerate() {
            rule.check(i + 1)?;
        }
        Ok(())
    }

    fn wants(&self, kind: Kind) -> bool {
        self.rule.iter().any(|r| r.kinds().contains(&kind))
    }
}

/// The credential the selection signs in with, as lists name it.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub client: Option<ObjectId>,
    pub public_key: Option<String>,
}

/// One selected credential.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Selected {
    pub target: Target,
    /// `rule 1: expired at 2026-11-20T00:00:00Z`.
    pub why: String,
}

/// What a selection found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Found {
    pub selected: Vec<Selected>,
    /// Each project's organization as the selection read it (an organization's project list, or
    /// `GET /groups/{id}`): written in a project row's `org` cell.
    #[serde(skip)]
    pub orgs: HashMap<ObjectId, ObjectId>,
    /// Credentials judged.
    pub candidates: u64,
    /// Access lists read.
    pub access_lists: u64,
    /// Requests sent (pages, retries included).
    pub requests: u64,
    /// Lists that could not be read, and why: the selection is incomplete.
    pub problems: Vec<String>,
    /// The caller's own credential, seen and never selected.
    pub own_skipped: u64,
    /// Listed items whose id could not be read: never judged, named in `problems`.
    pub unreadable_ids: u64,
    /// Credentials a rule could not judge for a date it could not read: named in `problems`.
    pub unreadable_dates: u64,
    /// API keys listed without a creation date: the job's ledger records when it first saw them.
    #[serde(skip)]
    pub dateless: Vec<(Kind, ObjectId)>,
    pub elapsed_ms: u64,
}

/// One credential to judge, before any access list.
struct Candidate {
    target: Target,
    facts: Facts,
    /// For API keys: the organization whose access list it has.
    org: Option<ObjectId>,
}

/// What one selection is working with.
struct Run<'a> {
    ctx: &'a Arc<Context>,
    policy: &'a Policy,
    caller: &'a Caller,
    now: Timestamp,
    found: Found,
    project_orgs: HashMap<ObjectId, ObjectId>,
    /// Organizations whose service accounts (and so every secret of them) were read whole.
    accounts_read: HashSet<ObjectId>,
    /// Secrets judged, by account and secret: one credential, whatever path listed it.
    secrets_seen: HashSet<(ObjectId, ObjectId)>,
    /// Items whose id could not be read, by list: how many, and the first few as written.
    unread_ids: BTreeMap<String, (u64, Vec<String>)>,
    /// When the job's ledger first saw each API key; `None` without a ledger.
    first_seen: Option<FirstSeen>,
}

/// When a job's ledger first saw each credential without a creation date, by kind and key.
pub type FirstSeen = HashMap<(Kind, ObjectId), Timestamp>;

/// Selects with the client of `ctx`.
pub async fn select(ctx: &Arc<Context>, policy: &Policy, caller: &Caller, now: Timestamp) -> Found {
    select_seen(ctx, policy, caller, now, None).await
}

/// Selects with the client of `ctx`, an API key's age read from `first_seen` (a job's ledger):
/// one it has not seen is first seen now.
pub async fn select_seen(
    ctx: &Arc<Context>,
    policy: &Policy,
    caller: &Caller,
    now: Timestamp,
    first_seen: Option<FirstSeen>,
) -> Found {
    let started = std::time::Instant::now();
    let before = crate::figures::Figures::get(&ctx.client().figures().requests);
    let mut run = Run {
        ctx,
        policy,
        caller,
        now,
        found: Found::default(),
        project_orgs: HashMap::new(),
        accounts_read: HashSet::new(),
        secrets_seen: HashSet::new(),
        unread_ids: BTreeMap::new(),
        first_seen,
    };
    if ctx.prepare().await {
        let mut projects: Vec<ObjectId> = policy.projects.clone();
        for org in &policy.orgs {
            run.org(*org, &mut projects).await;
            if ctx.stop().is_set() {
                break;
            }
        }
        projects.sort();
        projects.dedup();
        for project in projects {
            if ctx.stop().is_set() {
                break;
            }
            run.project(project).await;
        }
    }
    run.name_unread_ids();
    if let Some(reason) = ctx.stop().reason() {
        run.found.problems.push(format!("stopped: {reason}"));
    }
    let mut found = run.found;
    found.orgs = run.project_orgs;
    found.selected = dedup(found.selected);
    found.requests =
        crate::figures::Figures::get(&ctx.client().figures().requests).saturating_sub(before);
    found.elapsed_ms = started.elapsed().as_millis() as u64;
    found
}

/// One row per credential, the reasons of every rule that chose it joined.
fn dedup(rows: Vec<Selected>) -> Vec<Selected> {
    let mut by: BTreeMap<String, Selected> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for row in rows {
        let key = row.target.to_string();
        match by.get_mut(&key) {
            Some(first) => {
                first.why.push_str("; ");
                first.why.push_str(&row.why);
            }
            None => {
                order.push(key.clone());
                by.insert(key, row);
            }
        }
    }
    order.into_iter().filter_map(|k| by.remove(&k)).collect()
}

/// The service account itself as a candidate, beside its secrets: its dates, and which of them
/// could not be read.
fn account_candidate(a: &read::Account, scope: ObjectId, client: ObjectId) -> Candidate {
    let mut unreadable: Vec<(DateField, String)> = Vec::new();
    unreadable.extend(
        a.created
            .unreadable("createdAt")
            .map(|t| (DateField::Created, t)),
    );
    unreadable.extend(
        a.secrets
            .iter()
            .find_map(|s| s.expires.unreadable("secrets[].expiresAt"))
            .map(|t| (DateField::SecretsExpire, t)),
    );
    Candidate {
        target: Target {
            kind: Kind::ServiceAccount,
            scope,
            key: client,
            secret: None,
        },
        facts: Facts {
            created: a.created.at(),
            name: a.name.clone().unwrap_or_default(),
            description: a.description.clone().unwrap_or_default(),
            secrets_expire: a.secrets.iter().map(|s| s.expires.at()).collect(),
            unreadable,
            ..Facts::default()
        },
        org: None,
    }
}

impl Run<'_> {
    fn problem(&mut self, what: String, why: String) {
        self.found.problems.push(format!("{what}: {why}"));
    }

    /// A listed item of `list` whose `field` could not be read (`raw` as written).
    fn unread_id(&mut self, list: &str, field: &str, raw: String) {
        self.found.unreadable_ids += 1;
        let (count, shown) = self.unread_ids.entry(list.to_string()).or_default();
        *count += 1;
        if shown.len() < 3 {
            shown.push(format!("{field} {raw}"));
        }
    }

    /// One problem per list with items whose ids could not be read.
    fn name_unread_ids(&mut self) {
        for (list, (count, shown)) in std::mem::take(&mut self.unread_ids) {
            let more = count - shown.len() as u64;
            self.found.problems.push(format!(
                "{list}: {} listed with an id that cannot be read ({}{}); not judged",
                crate::text::plural(count, "item", "items"),
                shown.join(", "),
                if more > 0 {
                    format!(", and {more} more")
                } else {
                    String::new()
                }
            ));
        }
    }

    /// An organization's service accounts and API keys, and with `every_project` its projects.
    async fn org(&mut self, org: ObjectId, projects: &mut Vec<ObjectId>) {
        let ctx = self.ctx;
        if self.policy.wants(Kind::ServiceAccount) || self.policy.wants(Kind::ServiceAccountSecret)
        {
            let spec = read::kind_list(
                ctx,
                Kind::ServiceAccount,
                &org,
                self.policy.include_system_managed,
            );
            let list = format!("GET {}", spec.url.path());
            match read::all::<read::Account>(ctx, org, &spec).await {
                Ok(accounts) => {
                    self.accounts_read.insert(org);
                    for a in accounts {
                        self.account(Kind::ServiceAccountSecret, org, &list, a)
                            .await;
                    }
                }
                Err(why) => self.problem(list, why),
            }
        }
        if self.policy.wants(Kind::OrgApiKey) {
            let spec = read::kind_list(ctx, Kind::OrgApiKey, &org, false);
            let list = format!("GET {}", spec.url.path());
            match read::all::<read::ApiKey>(ctx, org, &spec).await {
                Ok(keys) => {
                    for k in keys {
                        self.api_key(Kind::OrgApiKey, org, Some(org), &list, k)
                            .await;
                    }
                }
                Err(why) => self.problem(list, why),
            }
        }
        self.mcp(Kind::OrgMcpSecret, org).await;
        if self.policy.every_project && PROJECT_KINDS.iter().any(|k| self.policy.wants(*k)) {
            let text = org.to_string();
            let spec =
                crate::engine::read::spec(ctx, &["orgs", &text, "groups"], Kind::OrgApiKey, true);
            let list = format!("GET {}", spec.url.path());
            match read::all::<crate::engine::read::Group>(ctx, org, &spec).await {
                Ok(groups) => {
                    for g in groups {
                        match id_text(&g.id).map(|t| (t, ObjectId::parse(t))) {
                            Ok((_, Some(p))) => {
                                self.project_orgs.insert(p, org);
                                projects.push(p);
                            }
                            Ok((t, None)) => self.unread_id(&list, "id", format!("{t:?}")),
                            Err(raw) => self.unread_id(&list, "id", raw),
                        }
                    }
                }
                Err(why) => self.problem(list, why),
            }
        }
    }

    /// A service account (of an organization, or assigned to a project) and each of its secrets,
    /// as rows of `secret_kind` in `scope`.
    async fn account(&mut self, secret_kind: Kind, scope: ObjectId, list: &str, a: read::Account) {
        let client = match id_text(&a.client_id).map(|t| (t, parse_client_id(t))) {
            Ok((_, Some(client))) => client,
            Ok((t, None)) => return self.unread_id(list, "clientId", format!("{t:?}")),
            Err(raw) => return self.unread_id(list, "clientId", raw),
        };
        if self.caller.client == Some(client) {
            self.found.own_skipped += 1;
            return;
        }
        let name = a.name.clone().unwrap_or_default();
        let description = a.description.clone().unwrap_or_default();
        if secret_kind == Kind::ServiceAccountSecret {
            let account = account_candidate(&a, scope, client);
            self.judge(account).await;
        }
        let what = format!("{list}: {CLIENT_ID_PREFIX}{client}");
        for s in a.secrets {
            let secret = match id_text(&s.id).map(|t| (t, ObjectId::parse(t))) {
                Ok((_, Some(secret))) => secret,
                Ok((t, None)) => {
                    self.unread_id(&what, "secrets[].id", format!("{t:?}"));
                    continue;
                }
                Err(raw) => {
                    self.unread_id(&what, "secrets[].id", raw);
                    continue;
                }
            };
            if !self.secrets_seen.insert((client, secret)) {
                continue;
            }
            let candidate = Candidate {
                target: Target {
                    kind: secret_kind,
                    scope,
                    key: client,
                    secret: Some(secret),
                },
                facts: Facts {
                    created: s.created.at(),
                    expires: s.expires.at(),
                    last_used: s.last_used.at(),
                    name: name.clone(),
                    description: description.clone(),
                    unreadable: unreadable_of(&[
                        (DateField::Created, "createdAt", &s.created),
                        (DateField::Expires, "expiresAt", &s.expires),
                        (DateField::LastUsed, "lastUsedAt", &s.last_used),
                    ]),
                    ..Facts::default()
                },
                org: None,
            };
            self.judge(candidate).await;
        }
    }

    /// An API key of an organization or a project (or an agent key).
    async fn api_key(
        &mut self,
        kind: Kind,
        scope: ObjectId,
        org: Option<ObjectId>,
        list: &str,
        k: read::ApiKey,
    ) {
        let field = if kind == Kind::AgentApiKey {
            "_id"
        } else {
            "id"
        };
        let key = match id_text(&k.id).map(|t| (t, ObjectId::parse(t))) {
            Ok((_, Some(key))) => key,
            Ok((t, None)) => return self.unread_id(list, field, format!("{t:?}")),
            Err(raw) => return self.unread_id(list, field, raw),
        };
        if k.public_key.is_some() && k.public_key == self.caller.public_key {
            self.found.own_skipped += 1;
            return;
        }
        let desc = k.desc.unwrap_or_default();
        let dateless = kind != Kind::AgentApiKey && k.created_time.at().is_none();
        if dateless {
            self.found.dateless.push((kind, key));
        }
        let first_seen = match &self.first_seen {
            Some(seen) if dateless => Some(seen.get(&(kind, key)).copied().unwrap_or(self.now)),
            _ => None,
        };
        let candidate = Candidate {
            target: Target {
                kind,
                scope,
                key,
                secret: None,
            },
            facts: Facts {
                created: k.created_time.at(),
                name: desc.clone(),
                description: desc,
                unreadable: unreadable_of(&[(DateField::Created, "createdTime", &k.created_time)]),
                first_seen,
                ..Facts::default()
            },
            org,
        };
        self.judge(candidate).await;
    }

    /// A project's API keys, agent keys, AI model keys and service-account secrets.
    async fn project(&mut self, project: ObjectId) {
        let ctx = self.ctx;
        let api = ctx.client().api();
        for kind in [Kind::ProjectApiKey, Kind::AgentApiKey] {
            if !self.policy.wants(kind) || !api.supports(kind) {
                continue;
            }
            let spec = read::kind_list(ctx, kind, &project, false);
            let list = format!("GET {}", spec.url.path());
            match read::all::<read::ApiKey>(ctx, project, &spec).await {
                Ok(keys) => {
                    let org = if kind == Kind::ProjectApiKey {
                        self.org_of(project).await
                    } else {
                        None
                    };
                    for k in keys {
                        self.api_key(kind, project, org, &list, k).await;
                    }
                }
                Err(why) => self.problem(list, why),
            }
        }
        if self.policy.wants(Kind::AiModelApiKey) && api.supports(Kind::AiModelApiKey) {
            let spec = read::kind_list(ctx, Kind::AiModelApiKey, &project, false);
            let list = format!("GET {}", spec.url.path());
            match read::all::<read::ModelKey>(ctx, project, &spec).await {
                Ok(keys) => {
                    for k in keys {
                        self.model_key(project, &list, k).await;
                    }
                }
                Err(why) => self.problem(list, why),
            }
        }
        self.project_secrets(project).await;
        self.mcp(Kind::ProjectMcpSecret, project).await;
    }

    /// The secrets of the service accounts assigned to a project (`listGroupServiceAccounts`: a
    /// `GroupServiceAccount` carries `secrets[]` with `createdAt`, `expiresAt`, `lastUsedAt`), so
    /// that a credential with project access alone can select them. Not read when the project's
    /// organization's accounts were: every secret of theirs was judged there.
    async fn project_secrets(&mut self, project: ObjectId) {
        let ctx = self.ctx;
        let kind = Kind::ProjectServiceAccountSecret;
        if !self.policy.wants(kind) || !ctx.client().api().supports(kind) {
            return;
        }
        if self
            .project_orgs
            .get(&project)
            .is_some_and(|org| self.accounts_read.contains(org))
        {
            return;
        }
        let spec = read::kind_list(
            ctx,
            Kind::ProjectServiceAccount,
            &project,
            self.policy.include_system_managed,
        );
        let list = format!("GET {}", spec.url.path());
        match read::all::<read::Account>(ctx, project, &spec).await {
            Ok(accounts) => {
                for a in accounts {
                    self.account(kind, project, &list, a).await;
                }
            }
            Err(why) => self.problem(list, why),
        }
    }

    async fn model_key(&mut self, project: ObjectId, list: &str, k: read::ModelKey) {
        let (key, rest) = match id_text(&k.id).map(|t| (t, parse_model_key(t))) {
            Ok((_, Some(parts))) => parts,
            Ok((t, None)) => return self.unread_id(list, "apiKeyId", format!("{t:?}")),
            Err(raw) => return self.unread_id(list, "apiKeyId", raw),
        };
        let name = k.name.unwrap_or_default();
        let candidate = Candidate {
            target: Target {
                kind: Kind::AiModelApiKey,
                scope: project,
                key,
                secret: Some(rest),
            },
            facts: Facts {
                created: k.created.at(),
                last_used: k.last_used.at(),
                name: name.clone(),
                description: name,
                unreadable: unreadable_of(&[
                    (DateField::Created, "createdAt", &k.created),
                    (DateField::LastUsed, "lastUsedAt", &k.last_used),
                ]),
                ..Facts::default()
            },
            org: None,
        };
        self.judge(candidate).await;
    }

    /// A project's organization (for its keys' access lists), asked once.
    async fn org_of(&mut self, project: ObjectId) -> Option<ObjectId> {
        if let Some(org) = self.project_orgs.get(&project) {
            return Some(*org);
        }
        match crate::engine::read::project_org(self.ctx, project).await {
            crate::engine::read::ProjectOrg::Org(org) => {
                self.project_orgs.insert(project, org);
                Some(org)
            }
            crate::engine::read::ProjectOrg::Gone => {
                self.problem(format!("project {project}"), "it does not exist".into());
                None
            }
            crate::engine::read::ProjectOrg::Unknown(why)
            | crate::engine::read::ProjectOrg::NotInGroup(why) => {
                self.problem(format!("project {project}"), why);
                None
            }
        }
    }

    /// Every rule on one candidate; its access list read only when a rule needs it. A rule that
    /// rests on an unreadable date never selects: the credential and the date are named.
    async fn judge(&mut self, mut c: Candidate) {
        self.found.candidates += 1;
        let mut reasons = Vec::new();
        let mut unknown = Vec::new();
        for (i, rule) in self.policy.rule.iter().enumerate() {
            let mut verdict = rule.judge(c.target.kind, &c.facts, self.now);
            if verdict == Verdict::NeedsAccessList {
                match self.access_list(&c).await {
                    Some(entries) => c.facts.access = Some(entries),
                    None => continue,
                }
                verdict = rule.judge(c.target.kind, &c.facts, self.now);
            }
            match verdict {
                Verdict::Holds(why) => reasons.push(format!("rule {}: {}", i + 1, why.join(", "))),
                Verdict::Unreadable(what) => {
                    unknown.push(format!("rule {}: {}", i + 1, what.join(", ")));
                }
                Verdict::No | Verdict::NeedsAccessList => {}
            }
        }
        if !reasons.is_empty() {
            self.found.selected.push(Selected {
                target: c.target,
                why: reasons.join("; "),
            });
        } else if !unknown.is_empty() {
            self.found.unreadable_dates += 1;
            self.problem(
                c.target.to_string(),
                format!(
                    "not selected: {} (the documents give dates as ISO 8601 with an offset)",
                    unknown.join("; ")
                ),
            );
        }
    }

    async fn access_list(&mut self, c: &Candidate) -> Option<Vec<Entry>> {
        let org = c.org?;
        let (o, k) = (org.to_string(), c.target.key.to_string());
        let spec = crate::engine::read::spec(
            self.ctx,
            &["orgs", &o, "apiKeys", &k, "accessList"],
            Kind::OrgApiKey,
            true,
        );
        self.found.access_lists += 1;
        match read::all::<read::AccessEntry>(self.ctx, org, &spec).await {
            Ok(entries) => Some(
                entries
                    .into_iter()
                    .map(|e| Entry {
                        created: e.created.at(),
                        last_used: e.last_used.at(),
                        unreadable: e
                            .created
                            .unreadable("created")
                            .or_else(|| e.last_used.unreadable("lastUsed")),
                    })
                    .collect(),
            ),
            Err(why) => {
                self.problem(format!("GET {}", spec.url.path()), why);
                None
            }
        }
    }
}

/// The kinds read per project.
const PROJECT_KINDS: [Kind; 5] = [
    Kind::ProjectApiKey,
    Kind::AgentApiKey,
    Kind::AiModelApiKey,
    Kind::ProjectServiceAccountSecret,
    Kind::ProjectMcpSecret,
];

/// The dates of `fields` that could not be read, each named by its field.
fn unreadable_of(fields: &[(DateField, &str, &Date)]) -> Vec<(DateField, String)> {
    fields
        .iter()
        .filter_map(|(f, name, d)| d.unreadable(name).map(|t| (*f, t)))
        .collect()
}

/// The caller as lists name it: a service account's client id, an API key's public key.
pub fn caller_of(credential: &crate::api::Credential) -> Caller {
    match credential {
        crate::api::Credential::ServiceAccount { client_id, .. } => Caller {
            client: client_id
                .strip_prefix(CLIENT_ID_PREFIX)
                .and_then(ObjectId::parse),
            public_key: None,
        },
        crate::api::Credential::ApiKey { public_key, .. } => Caller {
            client: None,
            public_key: Some(public_key.clone()),
        },
    }
}
