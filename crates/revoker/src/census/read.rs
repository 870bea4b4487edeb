//! The census's reads: one request per list page, each list read whole by the paging rules
//! `select` and `verify` share, or named as not read. Per organization: its API keys
//! (`listOrgApiKeys`, with `roles[].groupId`), its service accounts twice (with and without
//! `includeSystemManaged`, since no field marks a system-managed one: those only the first list
//! holds are), their secrets (inline), its MCP secrets, and with `every_project` its projects. Per
//! project: its API keys, agent keys (v1.0), service accounts, AI model keys and MCP secrets (v2),
//! database users (v2, `listDatabaseUsers`). Once, on v1.0: Ops Manager's global keys.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserialize;

use super::{Census, DATABASE_USER, Row, date};
use crate::api::Api;
use crate::engine::Context;
use crate::input::{Kind, ObjectId, Target, parse_client_id};
use crate::select::read::{self, Account, ApiKey, Keyed, ModelKey, id_text};

/// What to read.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub orgs: Vec<ObjectId>,
    pub every_project: bool,
}

#[derive(Deserialize, Debug, Default)]
struct Role {
    #[serde(default, rename = "groupId")]
    group_id: Option<String>,
}

/// An organization API key with the roles that assign it to projects.
#[derive(Deserialize, Debug, Default)]
struct OrgKey {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    desc: Option<String>,
    #[serde(default)]
    roles: Vec<Role>,
}

impl Keyed for OrgKey {
    fn key(&self) -> Option<String> {
        self.id.as_ref().map(ToString::to_string)
    }
}

/// A database user (`CloudDatabaseUser`): its `username` and `databaseName`.
#[derive(Deserialize, Debug, Default)]
struct DatabaseUser {
    #[serde(default)]
    username: Option<String>,
    #[serde(default, rename = "databaseName")]
    database: Option<String>,
}

impl Keyed for DatabaseUser {
    fn key(&self) -> Option<String> {
        let user = self.username.clone()?;
        Some(format!(
            "{}/{user}",
            self.database.clone().unwrap_or_default()
        ))
    }
}

/// One census in progress.
struct Reading<'a> {
    ctx: &'a Arc<Context>,
    api: Api,
    out: Census,
}

/// Reads everything `scope` names with the client of `ctx`.
pub async fn census(ctx: &Arc<Context>, scope: &Scope) -> Census {
    let started = std::time::Instant::now();
    let requests = || crate::figures::Figures::get(&ctx.client().figures().requests);
    let before = requests();
    let mut r = Reading {
        ctx,
        api: ctx.client().api(),
        out: Census::default(),
    };
    if ctx.prepare().await {
        if r.api == Api::CloudManager {
            r.global_keys().await;
        }
        let mut projects = Vec::new();
        for org in &scope.orgs {
            if ctx.stop().is_set() {
                break;
            }
            r.org(*org, scope.every_project, &mut projects).await;
        }
        projects.sort();
        projects.dedup();
        for (project, org) in projects {
            if ctx.stop().is_set() {
                break;
            }
            r.project(project, org).await;
        }
    }
    if let Some(reason) = ctx.stop().reason() {
        r.out.problems.push(format!("stopped: {reason}"));
    }
    r.out.requests = requests().saturating_sub(before);
    r.out.elapsed_ms = started.elapsed().as_millis() as u64;
    r.out
}

impl Reading<'_> {
    fn problem(&mut self, list: &str, why: String) {
        self.out.problems.push(format!("{list}: {why}"));
    }

    fn unread(&mut self, list: &str, field: &str, raw: String) {
        self.out.problems.push(format!(
            "{list}: an item's {field} cannot be read ({raw}); not counted"
        ));
    }

    /// A list read whole, or `None` with the list named as not read.
    async fn all<T: serde::de::DeserializeOwned + Keyed>(
        &mut self,
        scope: ObjectId,
        spec: &crate::api::ListSpec,
    ) -> Option<Vec<T>> {
        let list = format!("GET {}", spec.url);
        match read::all::<T>(self.ctx, scope, spec).await {
            Ok(items) => Some(items),
            Err(why) => {
                self.problem(&list, why);
                None
            }
        }
    }

    async fn org(&mut self, org: ObjectId, every: bool, projects: &mut Vec<(ObjectId, ObjectId)>) {
        self.out.orgs += 1;
        self.org_keys(org).await;
        self.accounts(Kind::ServiceAccount, org).await;
        if self.api == Api::Atlas {
            self.mcp(Kind::OrgMcpSecret, org).await;
        }
        if !every {
            return;
        }
        let text = org.to_string();
        let spec =
            crate::engine::read::spec(self.ctx, &["orgs", &text, "groups"], Kind::OrgApiKey, true);
        let list = format!("GET {}", spec.url.path());
        for g in self
            .all::<crate::engine::read::Group>(org, &spec)
            .await
            .unwrap_or_default()
        {
            match id_text(&g.id).map(|t| (t, ObjectId::parse(t))) {
                Ok((_, Some(p))) => projects.push((p, org)),
                Ok((t, None)) => self.unread(&list, "id", format!("{t:?}")),
                Err(raw) => self.unread(&list, "id", raw),
            }
        }
    }

    async fn org_keys(&mut self, org: ObjectId) {
        let spec = read::kind_list(self.ctx, Kind::OrgApiKey, &org, false);
        let list = format!("GET {}", spec.url.path());
        for k in self.all::<OrgKey>(org, &spec).await.unwrap_or_default() {
            let key = match id_text(&k.id).map(|t| (t, ObjectId::parse(t))) {
                Ok((_, Some(key))) => key,
                Ok((t, None)) => {
                    self.unread(&list, "id", format!("{t:?}"));
                    continue;
                }
                Err(raw) => {
                    self.unread(&list, "id", raw);
                    continue;
                }
            };
            let mut groups: Vec<String> =
                k.roles.iter().filter_map(|r| r.group_id.clone()).collect();
            groups.sort();
            groups.dedup();
            let target = Target {
                kind: Kind::OrgApiKey,
                scope: org,
                key,
                secret: None,
            };
            self.out.rows.push(Row {
                name: k.desc.unwrap_or_default(),
                note: if groups.is_empty() {
                    String::new()
                } else {
                    format!("projects {}", groups.join(";"))
                },
                ..Row::of(&target)
            });
        }
    }

    /// An organization's service accounts (and their secrets), or a project's assignments; the
    /// system-managed ones are those only the list with `includeSystemManaged=true` holds.
    async fn accounts(&mut self, kind: Kind, scope: ObjectId) {
        let all_spec = read::kind_list(self.ctx, kind, &scope, true);
        let list = format!("GET {}", all_spec.url.path());
        let Some(all) = self.all::<Account>(scope, &all_spec).await else {
            return;
        };
        let user_spec = read::kind_list(self.ctx, kind, &scope, false);
        let user: HashSet<String> = self
            .all::<Account>(scope, &user_spec)
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(Keyed::key)
            .collect();
        for a in all {
            let client = match id_text(&a.client_id).map(|t| (t, parse_client_id(t))) {
                Ok((_, Some(client))) => client,
                Ok((t, None)) => {
                    self.unread(&list, "clientId", format!("{t:?}"));
                    continue;
                }
                Err(raw) => {
                    self.unread(&list, "clientId", raw);
                    continue;
                }
            };
            let system = if a.key().is_some_and(|k| !user.contains(&k)) {
                "yes"
            } else {
                ""
            };
            let target = Target {
                kind,
                scope,
                key: client,
                secret: None,
            };
            self.out.rows.push(Row {
                name: a.name.clone().unwrap_or_default(),
                created_at: date(&a.created),
                system_managed: system.into(),
                ..Row::of(&target)
            });
            if kind != Kind::ServiceAccount {
                continue;
            }
            for s in a.secrets {
                let Some(secret) = id_text(&s.id).ok().and_then(ObjectId::parse) else {
                    self.unread(&list, "secrets[].id", format!("{:?}", s.id));
                    continue;
                };
                let target = Target {
                    kind: Kind::ServiceAccountSecret,
                    scope,
                    key: client,
                    secret: Some(secret),
                };
                self.out.rows.push(Row {
                    name: a.name.clone().unwrap_or_default(),
                    created_at: date(&s.created),
                    expires_at: date(&s.expires),
                    last_used_at: date(&s.last_used),
                    system_managed: system.into(),
                    ..Row::of(&target)
                });
            }
        }
    }

    async fn mcp(&mut self, kind: Kind, scope: ObjectId) {
        let found = crate::select::mcp::read_mcp(self.ctx, kind, scope).await;
        for (list, why) in found.problems {
            self.problem(&list, why);
        }
        for (list, field, raw) in found.unread {
            self.unread(&list, field, raw);
        }
        for s in found.secrets {
            self.out.rows.push(Row {
                name: s.config_name,
                created_at: date(&s.created),
                expires_at: date(&s.expires),
                last_used_at: date(&s.last_used),
                ..Row::of(&s.target)
            });
        }
    }
}

impl Reading<'_> {
    /// A project's API keys, agent keys (v1.0), service accounts, AI model keys, MCP secrets and
    /// database users (v2).
    async fn project(&mut self, project: ObjectId, org: ObjectId) {
        self.out.projects += 1;
        self.keys(Kind::ProjectApiKey, project, org).await;
        if self.api == Api::CloudManager {
            self.keys(Kind::AgentApiKey, project, org).await;
        }
        self.accounts(Kind::ProjectServiceAccount, project).await;
        if self.api == Api::Atlas {
            self.model_keys(project).await;
            self.mcp(Kind::ProjectMcpSecret, project).await;
            self.database_users(project).await;
        }
    }

    /// A project's API keys (assignments of its organization's keys) or agent keys.
    async fn keys(&mut self, kind: Kind, project: ObjectId, org: ObjectId) {
        let spec = read::kind_list(self.ctx, kind, &project, false);
        let list = format!("GET {}", spec.url.path());
        let field = if kind == Kind::AgentApiKey {
            "_id"
        } else {
            "id"
        };
        for k in self.all::<ApiKey>(project, &spec).await.unwrap_or_default() {
            let key = match id_text(&k.id).map(|t| (t, ObjectId::parse(t))) {
                Ok((_, Some(key))) => key,
                Ok((t, None)) => {
                    self.unread(&list, field, format!("{t:?}"));
                    continue;
                }
                Err(raw) => {
                    self.unread(&list, field, raw);
                    continue;
                }
            };
            let target = Target {
                kind,
                scope: project,
                key,
                secret: None,
            };
            self.out.rows.push(Row {
                org: if kind == Kind::ProjectApiKey {
                    org.to_string()
                } else {
                    String::new()
                },
                name: k.desc.unwrap_or_default(),
                created_at: date(&k.created_time),
                ..Row::of(&target)
            });
        }
    }

    async fn model_keys(&mut self, project: ObjectId) {
        let spec = read::kind_list(self.ctx, Kind::AiModelApiKey, &project, false);
        let list = format!("GET {}", spec.url.path());
        for k in self
            .all::<ModelKey>(project, &spec)
            .await
            .unwrap_or_default()
        {
            let Some(target) = id_text(&k.id).ok().and_then(|t| {
                Target::parse(Kind::AiModelApiKey.as_str(), &project.to_string(), t, "")
            }) else {
                self.unread(&list, "apiKeyId", format!("{:?}", k.id));
                continue;
            };
            self.out.rows.push(Row {
                name: k.name.unwrap_or_default(),
                created_at: date(&k.created),
                last_used_at: date(&k.last_used),
                ..Row::of(&target)
            });
        }
    }

    /// A project's database users (`GET groups/{p}/databaseUsers`, `listDatabaseUsers`): listed
    /// and counted; no kind of this build revokes them.
    async fn database_users(&mut self, project: ObjectId) {
        let text = project.to_string();
        let spec = crate::engine::read::spec(
            self.ctx,
            &["groups", &text, "databaseUsers"],
            Kind::ProjectApiKey,
            true,
        );
        for u in self
            .all::<DatabaseUser>(project, &spec)
            .await
            .unwrap_or_default()
        {
            let key = u.key().unwrap_or_default();
            self.out.rows.push(Row {
                name: u.username.unwrap_or_default(),
                ..Row::unrevocable(DATABASE_USER, project, key)
            });
        }
    }

    /// Ops Manager's global keys. Cloud Manager has none: a 404 there is not a failure.
    async fn global_keys(&mut self) {
        let spec = read::kind_list(self.ctx, Kind::GlobalApiKey, &crate::input::NO_SCOPE, false);
        let list = format!("GET {}", spec.url.path());
        match read::all::<ApiKey>(self.ctx, crate::input::NO_SCOPE, &spec).await {
            Ok(keys) => {
                for k in keys {
                    let Some(key) = id_text(&k.id).ok().and_then(ObjectId::parse) else {
                        self.unread(&list, "id", format!("{:?}", k.id));
                        continue;
                    };
                    let target = Target {
                        kind: Kind::GlobalApiKey,
                        scope: crate::input::NO_SCOPE,
                        key,
                        secret: None,
                    };
                    self.out.rows.push(Row {
                        name: k.desc.unwrap_or_default(),
                        ..Row::of(&target)
                    });
                }
            }
            Err(why) if why.starts_with("HTTP 404") => {
                tracing::info!("{list}: {why} (no global keys here: Cloud Manager)");
            }
            Err(why) => self.problem(&list, why),
        }
    }
}
