//! A rotation of a credential that is not an organization API key: a service account's secret
//! (`createOrgSecret`, `createGroupSecret`) or an AI model key (`createGroupModelKey`). Its reach
//! is its parent's: the same account with the same roles, the same project (and a model key's
//! `cloud` and `geography`). The steps and the journal are the API key's (`job::rotate`); what
//! differs is how a crashed run's replacement is found (a model key by its marked `name`, a secret
//! — which has no description — as a secret of the account not listed when `creating` was
//! journaled), the secrets' limit ([`kinds::MAX_SECRETS`]) and the use (`lastUsedAt`).

use secrecy::SecretString;
use serde_json::{Value, json};

use super::rotate_env::{
    Env, Stop, check_and_deliver, cut_over, delete, journal, line, list_all, old_of, poll_for_use,
    post, write_line,
};
use crate::input::{Kind, Target};
use crate::rotate::deliver::NewSecret;
use crate::rotate::journal::{Line, Step};
use crate::rotate::kinds::{self, MAX_SECRETS};
use crate::rotate::reach::Reach;
use crate::rotate::{self, Cutover};

/// The parent's state as listed: its credentials (secrets or model keys) and the reach.
struct Listing {
    items: Vec<Value>,
    reach: Reach,
}

fn is_secret(t: &Target) -> bool {
    matches!(
        t.kind,
        Kind::ServiceAccountSecret | Kind::ProjectServiceAccountSecret
    )
}

/// The field that carries a replacement's marker, and the create answer's secret.
fn fields(t: &Target) -> (&'static str, &'static str) {
    match t.kind {
        Kind::AgentApiKey => ("desc", "key"),
        _ => ("name", "secret"),
    }
}

/// The listed reach of a model key or agent key.
fn item_reach(t: &Target, item: &Value) -> Reach {
    match t.kind {
        Kind::AiModelApiKey => model_reach(item),
        _ => Reach::default(),
    }
}

/// The path of the row's parent: the service account (one object, its `secrets[]`), or the
/// project's model keys (a paged list).
fn parent_path(t: &Target) -> Vec<String> {
    let scope = t.scope.to_string();
    let home = match t.kind {
        Kind::ServiceAccountSecret => "orgs",
        _ => "groups",
    };
    match t.kind {
        Kind::AiModelApiKey => vec!["groups".into(), scope, "aiModelApiKeys".into()],
        Kind::AgentApiKey => vec!["groups".into(), scope, "agentapikeys".into()],
        _ => vec![home.into(), scope, "serviceAccounts".into(), t.key_text()],
    }
}

/// Reads the parent and what the old credential reaches through it.
async fn listing(env: &Env, t: &Target) -> Result<Listing, Stop> {
    let path = parent_path(t);
    let segments: Vec<&str> = path.iter().map(String::as_str).collect();
    if !is_secret(t) {
        let items = list_all(env, t.scope, &segments).await?;
        let old = old_of(t);
        let reach = items
            .iter()
            .find(|i| kinds::id_of(t.kind, i) == Some(old.as_str()))
            .map(|i| item_reach(t, i))
            .unwrap_or_default();
        return Ok(Listing { items, reach });
    }
    let spec = crate::engine::read::spec(&env.ctx, &segments, t.kind, false);
    let account: Value = crate::engine::read::get(&env.ctx, t.scope, &spec, 1)
        .await
        .map_err(|a| format!("GET {}: {}", spec.url.path(), a.described()))?;
    let mut reach = Reach::default();
    for role in account["roles"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        if let Some(r) = role.as_str() {
            reach.org_roles.insert(r.to_string());
        }
    }
    let items = account["secrets"].as_array().cloned().unwrap_or_default();
    Ok(Listing { items, reach })
}

/// A model key's reach beyond its project: its `cloud` and `geography`.
fn model_reach(item: &Value) -> Reach {
    let mut reach = Reach::default();
    for f in ["cloud", "geography"] {
        if let Some(v) = item[f].as_str() {
            reach.attributes.insert(format!("{f} {v}"));
        }
    }
    reach
}

fn find<'a>(kind: Kind, items: &'a [Value], id: &str) -> Option<&'a Value> {
    items.iter().find(|i| kinds::id_of(kind, i) == Some(id))
}

/// The target that revokes `id` of the row's kind in the row's parent.
fn target_of(t: &Target, id: &str) -> Result<Target, Stop> {
    let (key, secret) = match is_secret(t) {
        true => (t.key_text(), id.to_string()),
        false => (id.to_string(), String::new()),
    };
    Target::parse(t.kind.as_str(), &t.scope.to_string(), &key, &secret)
        .ok_or_else(|| format!("{id} is not an id of a {}", t.kind.as_str()))
}

/// The steps after the journal's last one; `Ok` with the replacement once verified.
pub(super) async fn steps(env: &Env, t: &Target) -> Result<(String, String), Stop> {
    if is_secret(t) && env.own_client.as_deref() == Some(t.key_text().as_str()) {
        return Err(format!(
            "{} belongs to the service account this rotation runs as: rotate it with another credential; nothing was created or revoked",
            old_of(t)
        ));
    }
    if t.kind == Kind::AgentApiKey && env.opts.cutover == Cutover::AfterUse {
        return Err(format!(
            "agent API key {}: Cloud Manager shows no use of an agent key (its documented fields have no last-used date), so after-use cannot cut over: use --cutover now or at:TIME; nothing was created",
            old_of(t)
        ));
    }
    let latest = env.journal.lock().await.latest(&old_of(t)).cloned();
    let progress = latest.as_ref().and_then(Line::progress);
    if let (Some(Step::Verified), Some(l)) = (progress, &latest) {
        return Ok((
            l.new.clone().unwrap_or_default(),
            "verified by an earlier run".into(),
        ));
    }
    let (new, reach, delivered) = match (progress, &latest) {
        (Some(Step::Delivered | Step::InUse | Step::CutOver | Step::OldRevoked), Some(l)) => {
            let at = l.delivered.as_deref().unwrap_or(&l.at);
            let at = at
                .parse::<jiff::Timestamp>()
                .map_err(|e| format!("the journal's delivery time: {e}"))?;
            let reach = l.reach.clone().unwrap_or_default();
            let new = l.new.clone().ok_or("the journal names no replacement")?;
            (new, reach, at)
        }
        _ => {
            let (new, reach) = issue(env, t, latest.as_ref()).await?;
            (new, reach, jiff::Timestamp::now())
        }
    };
    if progress != Some(Step::OldRevoked) {
        let wait = wait_for_use(env, t, &new, delivered);
        let present = async {
            let list = listing(env, t).await?;
            Ok(find(t.kind, &list.items, &new).is_some())
        };
        cut_over(env, t, (&new, &reach), wait, (present, delete(env, t))).await?;
    }
    verify(env, t, &new, &reach).await?;
    journal(env, t, Step::Verified, Some(new.clone()), Some(&reach), "").await?;
    Ok((new, String::new()))
}

/// Withdraws a replacement a crashed run of this rotation made and whose secret it no longer
/// holds: a model or agent key marked by one of this journal's runs; a secret of the account not
/// listed when `creating` was journaled and with the lifetime journaled then. A key marked by
/// another rotation stops the row (never two rotations of one credential, never another's
/// delivered replacement withdrawn); a secret someone else made is left alone.
async fn withdraw(
    env: &Env,
    t: &Target,
    list: &Listing,
    latest: Option<&Line>,
) -> Result<(), Stop> {
    let old = old_of(t);
    let other = match is_secret(t) {
        true => None,
        false => {
            let journal = env.journal.lock().await;
            kinds::other_marker(t.kind, &list.items, fields(t).0, &old, |run| {
                journal.is_ours(&old, run)
            })
        }
    };
    if let Some((id, run)) = other {
        return Err(super::rotate_env::theirs(id, &old, run));
    }
    for item in &list.items {
        let Some(id) = kinds::id_of(t.kind, item) else {
            continue;
        };
        let made = match is_secret(t) {
            false => item[fields(t).0]
                .as_str()
                .is_some_and(|n| rotate::marks(n, &old)),
            true => latest.is_some_and(|l| {
                matches!(l.progress(), Some(Step::Creating | Step::Created))
                    && id != old
                    && !l.before.iter().any(|b| b == id)
                    && l.hours.is_some()
                    && kinds::lifetime_hours(item) == l.hours
            }),
        };
        if made {
            delete(env, &target_of(t, id)?).await?;
        }
    }
    Ok(())
}

/// Planned → created → delivered.
async fn issue(env: &Env, t: &Target, latest: Option<&Line>) -> Result<(String, Reach), Stop> {
    let old = old_of(t);
    let list = listing(env, t).await?;
    withdraw(env, t, &list, latest).await?;
    let mut revoked_first = latest.is_some_and(|l| l.revoked_first);
    let old_item = find(t.kind, &list.items, &old).cloned();
    // Under --cutover now a run killed between the old credential's DELETE and its journal line
    // left it unlisted: its DELETE is sent again below and a not-found counts as revoked.
    let unjournaled_revocation = env.opts.cutover == Cutover::Now && latest.is_some();
    if old_item.is_none() && !revoked_first && !unjournaled_revocation {
        return Err(format!("{} {old} is not listed", t.kind.as_str()));
    }
    let reach = latest.and_then(|l| l.reach.clone()).unwrap_or(list.reach);
    journal(env, t, Step::Planned, None, Some(&reach), "").await?;
    let list = listing(env, t).await?;
    let others = list
        .items
        .iter()
        .filter(|i| kinds::id_of(t.kind, i) != Some(&old))
        .count();
    let room = |held: usize| {
        if is_secret(t) && held >= MAX_SECRETS {
            return Err(format!(
                "service account {} already holds {held} secrets and Atlas keeps at most {MAX_SECRETS}: delete one that is no longer used (or use --cutover now); nothing was created",
                t.key_text()
            ));
        }
        Ok(())
    };
    if env.opts.cutover == Cutover::Now && !revoked_first {
        room(others)?;
        delete(env, t).await?;
        journal(
            env,
            t,
            Step::RevokedFirst,
            None,
            Some(&reach),
            "revoked first",
        )
        .await?;
        revoked_first = true;
    } else {
        room(others + usize::from(!revoked_first))?;
    }
    let note = if revoked_first { "revoked first" } else { "" };
    let list = listing(env, t).await?;
    let mut creating = line(env, t, Step::Creating, None, Some(&reach), note);
    creating.before = list
        .items
        .iter()
        .filter_map(|i| kinds::id_of(t.kind, i).map(str::to_string))
        .collect();
    let hours = kinds::marked_hours(
        old_item.as_ref().map_or(8760, kinds::secret_hours),
        &env.run,
        &old,
    );
    if is_secret(t) {
        creating.hours = Some(hours);
    }
    write_line(env, creating).await?;
    let (new, secret) = create(env, t, hours, &reach).await?;
    journal(env, t, Step::Created, Some(new.clone()), Some(&reach), note).await?;
    let withdrawn = target_of(t, &new)?;
    check_and_deliver(
        env,
        t,
        (&new, &reach, note),
        secret,
        check(env, t, &new, &reach),
        delete(env, &withdrawn),
    )
    .await?;
    Ok((new, reach))
}

/// The create, sent once: `createOrgSecret` / `createGroupSecret` with the old secret's lifetime,
/// or `createGroupModelKey` named with the marker and the old key's cloud and geography.
async fn create(
    env: &Env,
    t: &Target,
    hours: i64,
    reach: &Reach,
) -> Result<(String, NewSecret), Stop> {
    let path = parent_path(t);
    let (mut segments, body) = match is_secret(t) {
        true => (path.clone(), json!({ "secretExpiresAfterHours": hours })),
        false => {
            let attr = |f: &str| {
                reach
                    .attributes
                    .iter()
                    .find_map(|a| a.strip_prefix(&format!("{f} ")).map(str::to_string))
                    .unwrap_or_else(|| "ANY".into())
            };
            let marker = rotate::marker(&old_of(t), &env.run);
            let body = match t.kind {
                Kind::AgentApiKey => json!({ "desc": marker }),
                _ => json!({
                    "name": marker,
                    "cloud": attr("cloud"),
                    "geography": attr("geography"),
                }),
            };
            (path.clone(), body)
        }
    };
    if is_secret(t) {
        segments.push("secrets".into());
    }
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let answer = post(env, t.kind, t.scope, &segs, body, false).await?;
    let id = kinds::id_of(t.kind, &answer)
        .map(str::to_string)
        .ok_or("the create answered no id")?;
    let value = answer[fields(t).1]
        .as_str()
        .ok_or("the create answered no secret")?;
    let secret = NewSecret {
        kind: t.kind.as_str(),
        scope: t.scope.to_string(),
        old: old_of(t),
        id: id.clone(),
        public: if is_secret(t) {
            t.key_text()
        } else {
            String::new()
        },
        secret: SecretString::from(value.to_string()),
    };
    Ok((id, secret))
}

/// The replacement is listed in the parent, and the parent's reach is unchanged.
async fn check(env: &Env, t: &Target, new: &str, reach: &Reach) -> Result<(), Stop> {
    let list = listing(env, t).await?;
    if !is_secret(t) {
        let old = old_of(t);
        let other =
            kinds::other_marker(t.kind, &list.items, fields(t).0, &old, |run| run == env.run);
        if let Some((id, run)) = other {
            return Err(super::rotate_env::raced(&old, id, run));
        }
    }
    let item = find(t.kind, &list.items, new).ok_or("the replacement is not listed")?;
    let listed = match is_secret(t) {
        true => list.reach,
        false => item_reach(t, item),
    };
    let differences = reach.differences(&listed);
    match differences.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "the replacement's reach differs: {}; it was withdrawn",
            differences.join(", ")
        )),
    }
}

/// Polls the parent until the replacement's `lastUsedAt` is at or after delivery and the old
/// one's is not, or the deadline passes (for a secret at most [`kinds::SECRET_OVERLAP`]: Atlas
/// ends the old secret's life then anyway).
async fn wait_for_use(
    env: &Env,
    t: &Target,
    new: &str,
    delivered: jiff::Timestamp,
) -> Result<(Step, String), Stop> {
    let old = old_of(t);
    let cap = match is_secret(t) {
        true => env.opts.deadline.min(kinds::SECRET_OVERLAP),
        false => env.opts.deadline,
    };
    let old = old.as_str();
    poll_for_use(env, delivered, cap, move || async move {
        let list = listing(env, t).await?;
        let Some(old_item) = find(t.kind, &list.items, old) else {
            return Ok(Some((
                Step::CutOver,
                "the old credential is already gone".into(),
            )));
        };
        let Some(new_item) = find(t.kind, &list.items, new) else {
            return Err(format!(
                "the replacement {new} is no longer listed: the old credential {old} is kept; rotate it again"
            ));
        };
        let new_used = kinds::used_since(new_item, delivered);
        Ok((new_used && !kinds::used_since(old_item, delivered))
            .then(|| (Step::InUse, "the replacement is in use".into())))
    })
    .await
}

/// The old credential is gone, the replacement listed, the reach unchanged.
async fn verify(env: &Env, t: &Target, new: &str, reach: &Reach) -> Result<(), Stop> {
    let list = listing(env, t).await?;
    if find(t.kind, &list.items, &old_of(t)).is_some() {
        return Err(format!(
            "the old {} {} is still listed",
            t.kind.as_str(),
            old_of(t)
        ));
    }
    let item = find(t.kind, &list.items, new).ok_or("the replacement is no longer listed")?;
    let listed = match is_secret(t) {
        true => list.reach,
        false => item_reach(t, item),
    };
    let differences = reach.differences(&listed);
    match differences.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "the replacement's reach differs: {}",
            differences.join(", ")
        )),
    }
}
