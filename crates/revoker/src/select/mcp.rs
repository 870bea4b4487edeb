//! MCP configuration secrets, as lists show them: an organization's or a project's MCP
//! configurations (`listOrgMcpConfigs`, `listGroupMcpConfigs`), then each configuration's secrets
//! (`listOrgMcpSecrets`, `listGroupMcpSecrets`: `PaginatedMcpConfigSecret` of
//! `ServiceAccountSecret`, each `{id, createdAt, expiresAt, lastUsedAt, maskedSecretValue}`). One
//! request per page. Shared by selection and the census.

use std::sync::Arc;

use serde::Deserialize;

use super::read::{self, Date, Keyed, Secret, id_text};
use crate::engine::Context;
use crate::input::{Kind, ObjectId, Target};

/// One MCP configuration as listed.
#[derive(Deserialize, Debug, Default)]
pub struct McpConfig {
    #[serde(default, rename = "mcpConfigId")]
    pub id: Option<serde_json::Value>,
    #[serde(default, rename = "mcpConfigName")]
    pub name: Option<String>,
}

impl Keyed for McpConfig {
    fn key(&self) -> Option<String> {
        self.id.as_ref().map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

impl Keyed for Secret {
    fn key(&self) -> Option<String> {
        self.id.as_ref().map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

/// One listed MCP secret: its row and its dates.
#[derive(Debug)]
pub struct McpSecret {
    pub target: Target,
    pub config_name: String,
    pub created: Date,
    pub expires: Date,
    pub last_used: Date,
}

/// What reading one scope's MCP secrets found.
#[derive(Debug, Default)]
pub struct McpRead {
    pub secrets: Vec<McpSecret>,
    /// Configurations listed.
    pub configs: u64,
    /// Lists that could not be read: `(GET path, why)`.
    pub problems: Vec<(String, String)>,
    /// Items whose id could not be read: `(GET path, field, as written)`.
    pub unread: Vec<(String, &'static str, String)>,
}

/// Every secret of every MCP configuration of `scope` (an organization for
/// [`Kind::OrgMcpSecret`], a project for [`Kind::ProjectMcpSecret`]).
pub async fn read_mcp(ctx: &Arc<Context>, kind: Kind, scope: ObjectId) -> McpRead {
    let mut out = McpRead::default();
    let client = ctx.client();
    let spec = client
        .api()
        .mcp_configs(client.base_url(), kind, &scope, client.envelope());
    let list = format!("GET {}", spec.url.path());
    let configs = match read::all::<McpConfig>(ctx, scope, &spec).await {
        Ok(configs) => configs,
        Err(why) => {
            out.problems.push((list, why));
            return out;
        }
    };
    out.configs = configs.len() as u64;
    for c in configs {
        // The list's schema gives `mcpConfigId` a UUID pattern, the secrets' paths a 24-hex one:
        // only an id a path takes can name a row.
        let config = match id_text(&c.id).map(|t| (t, ObjectId::parse(t))) {
            Ok((_, Some(config))) => config,
            Ok((t, None)) => {
                out.unread
                    .push((list.clone(), "mcpConfigId", format!("{t:?}")));
                continue;
            }
            Err(raw) => {
                out.unread.push((list.clone(), "mcpConfigId", raw));
                continue;
            }
        };
        secrets_of(
            ctx,
            kind,
            scope,
            config,
            c.name.unwrap_or_default(),
            &mut out,
        )
        .await;
        if ctx.stop().is_set() {
            break;
        }
    }
    out
}

/// The secrets of one configuration, into `out`.
async fn secrets_of(
    ctx: &Arc<Context>,
    kind: Kind,
    scope: ObjectId,
    config: ObjectId,
    name: String,
    out: &mut McpRead,
) {
    let client = ctx.client();
    let text = config.to_string();
    let spec = client.api().list(
        client.base_url(),
        kind,
        &scope,
        Some(&text),
        client.envelope(),
    );
    let list = format!("GET {}", spec.url.path());
    match read::all::<Secret>(ctx, scope, &spec).await {
        Ok(secrets) => {
            for s in secrets {
                match id_text(&s.id).map(|t| (t, ObjectId::parse(t))) {
                    Ok((_, Some(secret))) => out.secrets.push(McpSecret {
                        target: Target {
                            kind,
                            scope,
                            key: config,
                            secret: Some(secret),
                        },
                        config_name: name.clone(),
                        created: s.created,
                        expires: s.expires,
                        last_used: s.last_used,
                    }),
                    Ok((t, None)) => out.unread.push((list.clone(), "id", format!("{t:?}"))),
                    Err(raw) => out.unread.push((list.clone(), "id", raw)),
                }
            }
        }
        Err(why) => out.problems.push((list, why)),
    }
}

impl super::Run<'_> {
    /// The MCP secrets of `scope` as candidates, when a rule wants `kind` and the API has it.
    pub(super) async fn mcp(&mut self, kind: Kind, scope: ObjectId) {
        if !self.policy.wants(kind) || !self.ctx.client().api().supports(kind) {
            return;
        }
        let found = read_mcp(self.ctx, kind, scope).await;
        for (list, why) in found.problems {
            self.problem(list, why);
        }
        for (list, field, raw) in found.unread {
            self.unread_id(&list, field, raw);
        }
        for s in found.secrets {
            let candidate = super::Candidate {
                target: s.target,
                facts: super::rule::Facts {
                    created: s.created.at(),
                    expires: s.expires.at(),
                    last_used: s.last_used.at(),
                    name: s.config_name.clone(),
                    description: s.config_name,
                    unreadable: super::unreadable_of(&[
                        (super::DateField::Created, "createdAt", &s.created),
                        (super::DateField::Expires, "expiresAt", &s.expires),
                        (super::DateField::LastUsed, "lastUsedAt", &s.last_used),
                    ]),
                    ..Default::default()
                },
                org: None,
            };
            self.judge(candidate).await;
        }
    }
}
