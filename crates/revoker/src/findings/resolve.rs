//! From values to credentials, with the operator's credentials (never a leaked one), by what the
//! lists show:
//!
//! - a public key → the organization API key whose `publicKey` is it (`listOrgApiKeys`);
//! - a private key → the key whose redacted `privateKey` (`********-****-****-db2c132ca78d`: only
//!   its last group shows) ends as it does, across every organization read;
//! - a client id → the service account (`listOrgServiceAccounts`);
//! - a service account secret → the secret whose `maskedSecretValue` shows its ends, across every
//!   account read (a client id in the same file never narrows a tie);
//! - an AI model key → the key whose `maskedSecret` (`al-****odu2`) shows its ends
//!   (`listGroupAiModelApiKeys` of every project of each organization).
//!
//! Exactly one listed credential must match, else the finding is named with why (none, or how
//! many), and no row is made: a partial match never revokes. Each list is read once, whole.

use std::collections::BTreeSet;
use std::sync::Arc;

use secrecy::ExposeSecret;
use serde::Deserialize;

use super::{Finding, Findings, SetAside, Shape};
use crate::engine::Context;
use crate::input::{Kind, ObjectId, Target, parse_client_id, parse_model_key};
use crate::select::read::{self, Date, Keyed};

/// A finding resolved to exactly one credential.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Resolved {
    pub target: Target,
    pub fingerprint: String,
    pub source: String,
    pub shape: Shape,
    /// With `--validate-leaked`: what trying the leaked credential learned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<String>,
}

/// What a resolution made of the findings.
#[derive(Debug, Default, serde::Serialize)]
pub struct Resolution {
    pub resolved: Vec<Resolved>,
    /// Findings without exactly one match, and set-aside values, each with why.
    pub unresolved: Vec<SetAside>,
    pub read: u64,
    pub duplicates: u64,
    /// Lists that could not be read (the resolution is incomplete).
    pub problems: Vec<String>,
    pub requests: u64,
}

#[derive(Deserialize, Default)]
struct KeyItem {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default, rename = "publicKey")]
    public_key: Option<String>,
    #[serde(default, rename = "privateKey")]
    private_key: Option<String>,
}

impl Keyed for KeyItem {
    fn key(&self) -> Option<String> {
        self.id.as_ref().map(|v| v.to_string())
    }
}

#[derive(Deserialize, Default)]
struct SecretItem {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default, rename = "maskedSecretValue")]
    masked: Option<String>,
    #[serde(default, rename = "expiresAt", deserialize_with = "date")]
    expires: Date,
}

fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let v: Option<String> = Option::deserialize(d).unwrap_or(None);
    Ok(v.and_then(|t| t.parse().ok())
        .map_or(Date::Absent, Date::At))
}

#[derive(Deserialize, Default)]
struct AccountItem {
    #[serde(default, rename = "clientId")]
    client_id: Option<serde_json::Value>,
    #[serde(default)]
    secrets: Option<Vec<SecretItem>>,
}

impl Keyed for AccountItem {
    fn key(&self) -> Option<String> {
        self.client_id.as_ref().map(|v| v.to_string())
    }
}

#[derive(Deserialize, Default)]
struct ModelItem {
    #[serde(default, rename = "apiKeyId")]
    id: Option<serde_json::Value>,
    #[serde(default, rename = "maskedSecret")]
    masked: Option<String>,
}

impl Keyed for ModelItem {
    fn key(&self) -> Option<String> {
        self.id.as_ref().map(|v| v.to_string())
    }
}

/// What the lists showed.
#[derive(Default)]
struct Listed {
    /// (org, key id, publicKey, redacted privateKey)
    keys: Vec<(ObjectId, ObjectId, String, Option<String>)>,
    /// (org, client)
    accounts: Vec<(ObjectId, ObjectId)>,
    /// (org, client, secret id, masked value, expired)
    secrets: Vec<(ObjectId, ObjectId, ObjectId, String, bool)>,
    /// (project, key id, masked secret)
    models: Vec<(ObjectId, String, String)>,
    /// A listed item whose id or mask could not be read: a match among the rest is partial.
    unreadable: u64,
}

/// Whether `masked` (a list's masked or redacted form) shows the ends of `value`: its visible
/// prefix and suffix (the text around `*`, `...` or `…`) both agree, and at least 4 characters
/// of the end show. A redacted private key without any mask shows its last group only.
pub fn masked_matches(masked: &str, value: &str) -> bool {
    let marks = |c: char| c == '*' || c == '…' || c == '.';
    let (prefix, suffix) = match (masked.find(marks), masked.rfind(marks)) {
        (Some(first), Some(last)) => {
            let end = last + masked[last..].chars().next().map_or(1, char::len_utf8);
            (&masked[..first], &masked[end..])
        }
        _ => ("", masked.rfind('-').map_or(masked, |i| &masked[i..])),
    };
    let shown = suffix.chars().filter(|c| c.is_ascii_alphanumeric()).count();
    shown >= 4
        && value.len() >= prefix.len() + suffix.len()
        && value.starts_with(prefix)
        && value
            .to_ascii_lowercase()
            .ends_with(&suffix.to_ascii_lowercase())
}

/// Resolves every finding against the lists of `orgs` (and their projects for AI model keys); with
/// `validate`, tries each resolved whole credential with those settings ([`super::validate`]).
pub async fn resolve(
    ctx: &Arc<Context>,
    findings: Findings,
    orgs: &[ObjectId],
    validate: Option<&crate::api::ApiConfig>,
) -> Resolution {
    let before = crate::figures::Figures::get(&ctx.client().figures().requests);
    let shapes: BTreeSet<Shape> = findings.items.iter().map(|(s, _)| *s).collect();
    let mut out = Resolution {
        read: findings.read,
        duplicates: findings.duplicates,
        unresolved: findings.set_aside,
        problems: findings.unreadable,
        ..Resolution::default()
    };
    let mut listed = Listed::default();
    if ctx.prepare().await {
        for org in orgs {
            read_org(ctx, *org, &shapes, &mut listed, &mut out.problems).await;
            if ctx.stop().is_set() {
                break;
            }
        }
    }
    if let Some(reason) = ctx.stop().reason() {
        out.problems.push(format!("stopped: {reason}"));
    }
    if listed.unreadable > 0 {
        out.problems.push(format!(
            "{} listed with an id or mask that cannot be read: nothing is resolved on a partial list",
            crate::text::plural(listed.unreadable, "item", "items")
        ));
    }
    for (shape, f) in &findings.items {
        let matched = if listed.unreadable > 0 {
            Err((
                "a list could not be read whole; never resolved on a partial list".to_string(),
                true,
            ))
        } else {
            match_one(*shape, f, &listed, orgs.len())
        };
        match matched {
            Ok(target) => {
                let live = match validate {
                    Some(template) => Some(try_leaked(template, *shape, f, &target, &listed).await),
                    None => None,
                };
                if let Some(trial) = live.as_ref().filter(|t| t.rejected) {
                    out.unresolved
                        .push(refused(*shape, f, &target, &trial.said));
                    continue;
                }
                let live = live.map(|t| t.said);
                out.resolved.push(Resolved {
                    target,
                    fingerprint: f.fingerprint.clone(),
                    source: f.source.clone(),
                    shape: *shape,
                    live,
                });
            }
            Err((reason, open)) => out.unresolved.push(SetAside {
                fingerprint: f.fingerprint.clone(),
                source: f.source.clone(),
                reason: format!("{}: {reason}", shape.as_str()),
                open,
            }),
        }
    }
    out.requests =
        crate::figures::Figures::get(&ctx.client().figures().requests).saturating_sub(before);
    out
}

/// A finding whose leaked value the API refused: the credential that only shows the same ends is
/// another one, never revoked for it.
fn refused(shape: Shape, f: &Finding, target: &Target, said: &str) -> SetAside {
    SetAside {
        fingerprint: f.fingerprint.clone(),
        source: f.source.clone(),
        reason: format!(
            "{}: the API refused the leaked value ({said}), so {target}, which only shows the same ends, is another credential (or the leaked one is gone); not revoked",
            shape.as_str()
        ),
        open: true,
    }
}

/// Tries a resolved finding's whole credential, when it holds one.
async fn try_leaked(
    template: &crate::api::ApiConfig,
    shape: Shape,
    f: &Finding,
    target: &Target,
    listed: &Listed,
) -> super::validate::Trial {
    let credential = match shape {
        Shape::PrivateKey => listed
            .keys
            .iter()
            .find(|k| k.0 == target.scope && k.1 == target.key)
            .map(|k| super::validate::api_key(&k.2, f.value.clone())),
        Shape::ClientSecret => Some(super::validate::service_account(
            target.key,
            f.value.clone(),
        )),
        _ => None,
    };
    let said = match credential {
        Some(c) => return super::validate::try_credential(template, c).await,
        None if shape == Shape::AiModelKey => {
            "not tried: an AI model key authenticates to the embedding service, not this API"
        }
        None => "not tried: the finding holds only the public half of a credential",
    };
    super::validate::Trial {
        said: said.into(),
        rejected: false,
    }
}

/// The one credential `f` names, or why there is none.
fn match_one(
    shape: Shape,
    f: &Finding,
    listed: &Listed,
    orgs: usize,
) -> Result<Target, (String, bool)> {
    let value = f.value.expose_secret();
    let org_target = |kind, org, key, secret| Target {
        kind,
        scope: org,
        key,
        secret,
    };
    let mut found: Vec<Target> = match shape {
        Shape::PublicKey => listed
            .keys
            .iter()
            .filter(|k| k.2 == value)
            .map(|k| org_target(Kind::OrgApiKey, k.0, k.1, None))
            .collect(),
        Shape::PrivateKey => listed
            .keys
            .iter()
            .filter(|k| k.3.as_deref().is_some_and(|m| masked_matches(m, value)))
            .map(|k| org_target(Kind::OrgApiKey, k.0, k.1, None))
            .collect(),
        Shape::ClientId => {
            let client = parse_client_id(value);
            listed
                .accounts
                .iter()
                .filter(|a| Some(a.1) == client)
                .map(|a| org_target(Kind::ServiceAccount, a.0, a.1, None))
                .collect()
        }
        Shape::ClientSecret => return secret_match(value, listed, orgs),
        Shape::AiModelKey => listed
            .models
            .iter()
            .filter(|m| masked_matches(&m.2, value))
            .filter_map(|m| {
                let (key, secret) = parse_model_key(&m.1)?;
                Some(Target {
                    kind: Kind::AiModelApiKey,
                    scope: m.0,
                    key,
                    secret: Some(secret),
                })
            })
            .collect(),
    };
    found.dedup();
    one(found, orgs)
}

fn one(found: Vec<Target>, orgs: usize) -> Result<Target, (String, bool)> {
    match found.len() {
        1 => Ok(found[0]),
        0 => Err((
            format!(
                "no listed credential of the {} read matches (another organization's, or already gone)",
                crate::text::plural(orgs as u64, "organization", "organizations")
            ),
            true,
        )),
        n => Err((
            format!("{n} listed credentials match; never revoked on an ambiguous match"),
            true,
        )),
    }
}

/// A secret across every account read: exactly one listed secret may show its ends. A client id
/// found in the same file is not allowed to narrow a tie: which of two accounts an .env belongs
/// to is a guess, and a guess would revoke the wrong secret and leave the leaked one live.
fn secret_match(value: &str, listed: &Listed, orgs: usize) -> Result<Target, (String, bool)> {
    let found: Vec<&(ObjectId, ObjectId, ObjectId, String, bool)> = listed
        .secrets
        .iter()
        .filter(|s| masked_matches(&s.3, value))
        .collect();
    if let [s] = found[..]
        && s.4
    {
        return Err((
            format!(
                "the secret {} of {}{} has expired: it no longer authenticates; not revoked",
                s.2,
                crate::input::CLIENT_ID_PREFIX,
                s.1
            ),
            false,
        ));
    }
    let targets = found
        .iter()
        .map(|s| Target {
            kind: Kind::ServiceAccountSecret,
            scope: s.0,
            key: s.1,
            secret: Some(s.2),
        })
        .collect();
    one(targets, orgs)
}

/// The lists of one organization the findings' shapes need, each read whole or named.
async fn read_org(
    ctx: &Arc<Context>,
    org: ObjectId,
    shapes: &BTreeSet<Shape>,
    listed: &mut Listed,
    problems: &mut Vec<String>,
) {
    if shapes.contains(&Shape::PublicKey) || shapes.contains(&Shape::PrivateKey) {
        let spec = read::kind_list(ctx, Kind::OrgApiKey, &org, false);
        match read::all::<KeyItem>(ctx, org, &spec).await {
            Ok(keys) => {
                for k in keys {
                    match read::id_text(&k.id).ok().and_then(ObjectId::parse) {
                        Some(id) => listed.keys.push((
                            org,
                            id,
                            k.public_key.unwrap_or_default(),
                            k.private_key,
                        )),
                        None => listed.unreadable += 1,
                    }
                }
            }
            Err(why) => problems.push(format!("GET {}: {why}", spec.url.path())),
        }
    }
    if shapes.contains(&Shape::ClientId) || shapes.contains(&Shape::ClientSecret) {
        read_accounts(ctx, org, listed, problems).await;
    }
    if shapes.contains(&Shape::AiModelKey) {
        if ctx.client().api().supports(Kind::AiModelApiKey) {
            read_models(ctx, org, listed, problems).await;
        } else {
            problems.push(format!(
                "AI model keys of organization {org}: this API has none (they are Atlas's, /api/atlas/v2)"
            ));
        }
    }
}

async fn read_accounts(
    ctx: &Arc<Context>,
    org: ObjectId,
    listed: &mut Listed,
    problems: &mut Vec<String>,
) {
    let spec = read::kind_list(ctx, Kind::ServiceAccount, &org, false);
    let accounts = match read::all::<AccountItem>(ctx, org, &spec).await {
        Ok(a) => a,
        Err(why) => return problems.push(format!("GET {}: {why}", spec.url.path())),
    };
    let now = jiff::Timestamp::now();
    for a in accounts {
        let Some(client) = read::id_text(&a.client_id).ok().and_then(parse_client_id) else {
            listed.unreadable += 1;
            continue;
        };
        listed.accounts.push((org, client));
        let secrets = match a.secrets {
            Some(s) => s,
            None => match account_secrets(ctx, org, client).await {
                Ok(s) => s,
                Err(why) => {
                    problems.push(why);
                    listed.unreadable += 1;
                    continue;
                }
            },
        };
        for s in secrets {
            let (Some(id), Some(masked)) = (
                read::id_text(&s.id).ok().and_then(ObjectId::parse),
                s.masked,
            ) else {
                listed.unreadable += 1;
                continue;
            };
            let expired = s.expires.at().is_some_and(|t| t <= now);
            listed.secrets.push((org, client, id, masked, expired));
        }
    }
}

/// One account's secrets, when its organization's list did not show them.
async fn account_secrets(
    ctx: &Arc<Context>,
    org: ObjectId,
    client: ObjectId,
) -> Result<Vec<SecretItem>, String> {
    let (o, c) = (
        org.to_string(),
        format!("{}{client}", crate::input::CLIENT_ID_PREFIX),
    );
    let spec = crate::engine::read::spec(
        ctx,
        &["orgs", &o, "serviceAccounts", &c],
        Kind::ServiceAccount,
        false,
    );
    crate::engine::read::get::<AccountItem>(ctx, org, &spec, 1)
        .await
        .map_err(|a| format!("GET {}: {}", spec.url.path(), a.described()))?
        .secrets
        .ok_or_else(|| format!("GET {}: no secrets field", spec.url.path()))
}

async fn read_models(
    ctx: &Arc<Context>,
    org: ObjectId,
    listed: &mut Listed,
    problems: &mut Vec<String>,
) {
    let o = org.to_string();
    let spec = crate::engine::read::spec(ctx, &["orgs", &o, "groups"], Kind::OrgApiKey, true);
    let groups = match read::all::<crate::engine::read::Group>(ctx, org, &spec).await {
        Ok(g) => g,
        Err(why) => return problems.push(format!("GET {}: {why}", spec.url.path())),
    };
    for g in groups {
        let Some(project) = read::id_text(&g.id).ok().and_then(ObjectId::parse) else {
            listed.unreadable += 1;
            continue;
        };
        let spec = read::kind_list(ctx, Kind::AiModelApiKey, &project, false);
        match read::all::<ModelItem>(ctx, project, &spec).await {
            Ok(keys) => {
                for k in keys {
                    match (read::id_text(&k.id).ok(), k.masked) {
                        (Some(id), Some(masked)) => {
                            listed.models.push((project, id.to_string(), masked))
                        }
                        _ => listed.unreadable += 1,
                    }
                }
            }
            Err(why) => problems.push(format!("GET {}: {why}", spec.url.path())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::masked_matches;

    #[test]
    fn masks_match_by_their_ends_only_when_enough_shows() {
        let uuid = "0b1c2d3e-4f50-6172-8394-db2c132ca78d";
        assert!(masked_matches("********-****-****-db2c132ca78d", uuid));
        assert!(!masked_matches("********-****-****-db2c132ca78e", uuid));
        assert!(
            masked_matches("55c3bbb6-b4bb-0be1-db2c132ca78d", uuid),
            "the spec's form: its last group"
        );
        assert!(masked_matches(
            "mdb_sa_sk_...wxyz",
            "mdb_sa_sk_abcdefghijklmnopqrstuvwxyz"
        ));
        assert!(
            !masked_matches("mdb_sa_sk_...", "mdb_sa_sk_abcdefghijklmnopqrstuvwxyz"),
            "nothing shows"
        );
        assert!(masked_matches(
            "al-****odu2",
            "al-jZsluhPMzPM9CFXepRWwMwvpZDDra6tZMgoAZKdodu2"
        ));
        assert!(!masked_matches(
            "al-****odu2",
            "xl-jZsluhPMzPM9CFXepRWwMwvpZDDra6tZMgoAZKdodu2"
        ));
    }
}
