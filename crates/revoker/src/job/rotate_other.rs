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
            .find(|i| kinds::is_id(t.kind, i, &old))
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
    items.iter().find(|i| kinds::is_id(kind, i, id))
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
    // This rotation's own earlier replacements go first, whatever else is found: their secrets
    // were lost with the run that made them, and left live they would be a second replacement.
    let mut withdrew = false;
    for item in &list.items {
        let Some(id) = kinds::id_of(t.kind, item) else {
            continue;
        };
        let made = match is_secret(t) {
            false => {
                let journal = env.journal.lock().await;
                item[fields(t).0]
                    .as_str()
                    .and_then(|n| rotate::marked_by(n, &old))
                    .is_some_and(|run| journal.is_ours(&old, run))
            }
            true => match latest {
                Some(l) => crashed_secret(t, list, l, (id, item))?,
                None => false,
            },
        };
        if made {
            delete(env, &target_of(t, id)?).await?;
            withdrew = true;
        }
    }
    let other = match is_secret(t) {
        true => None,
        false => {
            let journal = env.journal.lock().await;
            kinds::other_marker(t.kind, &list.items, fields(t).0, &old, |run| {
                journal.is_ours(&old, run)
            })
        }
    };
    match other {
        Some((id, run)) => Err(super::rotate_env::theirs(id, &old, run, withdrew)),
        None => Ok(()),
    }
}

/// Withdraws what a crashed run of this rotation left, reads the old credential, and journals
/// `planned` (a secret's row with the secrets listed then); answers the old item and the reach.
async fn plan(
    env: &Env,
    t: &Target,
    latest: Option<&Line>,
) -> Result<(Option<Value>, Reach), Stop> {
    let list = listing(env, t).await?;
    withdraw(env, t, &list, latest).await?;
    let old_item = find(t.kind, &list.items, &old_of(t)).cloned();
    // Under --cutover now a run killed between the old credential's DELETE and its journal line
    // left it unlisted: its DELETE is sent again and a not-found counts as revoked.
    let planned = latest.and_then(Line::progress) == Some(Step::Planned);
    let unjournaled_revocation = env.opts.cutover == Cutover::Now && planned;
    let revoked_first = latest.is_some_and(|l| l.revoked_first);
    if old_item.is_none() && !revoked_first && !unjournaled_revocation {
        return Err(format!("{} {} is not listed", t.kind.as_str(), old_of(t)));
    }
    if old_item.is_none() && unjournaled_revocation {
        made_since_planned(t, &list, latest)?;
    }
    let reach = latest
        .and_then(|l| l.reach.clone())
        .unwrap_or(list.reach.clone());
    let mut planned_line = line(env, t, Step::Planned, None, Some(&reach), "");
    if is_secret(t) {
        planned_line.before = ids(t, &list);
    }
    write_line(env, planned_line).await?;
    Ok((old_item, reach))
}

/// The ids a listing shows.
fn ids(t: &Target, list: &Listing) -> Vec<String> {
    list.items
        .iter()
        .filter_map(|i| kinds::id_of(t.kind, i).map(str::to_string))
        .collect()
}

/// A run killed after journaling `planned` under `--cutover now` may have revoked the old secret
/// without reading the answer, or a rival rotation revoked it and made its own replacement: a
/// secret has no mark to tell. A secret listed now that was not when `planned` was journaled
/// means the latter may be so, and nothing is created (never two live replacements).
fn made_since_planned(t: &Target, list: &Listing, latest: Option<&Line>) -> Result<(), Stop> {
    if !is_secret(t) {
        return Ok(());
    }
    let before = latest.map(|l| l.before.as_slice()).unwrap_or_default();
    match ids(t, list)
        .into_iter()
        .find(|id| !before.iter().any(|b| kinds::same_id(b, id)))
    {
        Some(id) => Err(format!(
            "the old {} {} is gone and secret {id} was made since this rotation planned it: another rotation may have replaced it; nothing was created (rotate again once that is settled)",
            t.kind.as_str(),
            old_of(t)
        )),
        None => Ok(()),
    }
}

/// Whether secret `id` is the replacement a crashed run of this rotation made: listed later than
/// `creating` was journaled, with the lifetime journaled then. A rival rotation's may look the
/// same (its lifetime mark can coincide), so it is withdrawn only when that cannot leave the
/// account without a live credential: the journal names it, the old secret is still listed, or
/// this rotation revoked the old one first. Otherwise the row stops and names it.
fn crashed_secret(
    t: &Target,
    list: &Listing,
    l: &Line,
    (id, item): (&str, &Value),
) -> Result<bool, Stop> {
    let old = old_of(t);
    let candidate = matches!(l.progress(), Some(Step::Creating | Step::Created))
        && !kinds::same_id(id, &old)
        && !l.before.iter().any(|b| kinds::same_id(b, id))
        && l.hours.is_some()
        && kinds::lifetime_hours(item) == l.hours;
    if !candidate {
        return Ok(false);
    }
    let named = l.progress() == Some(Step::Created)
        && l.new.as_deref().is_some_and(|n| kinds::same_id(n, id));
    let old_listed = find(t.kind, &list.items, &old).is_some();
    if named || old_listed || l.revoked_first {
        return Ok(true);
    }
    Err(format!(
        "secret {id} was made after this rotation began creating its replacement and the old {} {old} is gone: it may be another rotation's replacement, now the account's only credential, so it is not withdrawn; delete it by hand if no one holds it",
        t.kind.as_str()
    ))
}

/// Planned → created → delivered.
async fn issue(env: &Env, t: &Target, latest: Option<&Line>) -> Result<(String, Reach), Stop> {
    let old = old_of(t);
    let mut revoked_first = latest.is_some_and(|l| l.revoked_first);
    let planned = latest.and_then(Line::progress) == Some(Step::Planned);
    let (old_item, reach) = plan(env, t, latest).await?;
    let list = listing(env, t).await?;
    let others = list
        .items
        .iter()
        .filter(|i| !kinds::is_id(t.kind, i, &old))
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
        super::rotate_env::revoke_first(env, t, planned).await?;
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
    creating.before = ids(t, &list);
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
        check(env, t, (&new, revoked_first), &reach),
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

/// The replacement is listed in the parent, the old credential still is (unless revoked first),
/// and the parent's reach is unchanged.
async fn check(
    env: &Env,
    t: &Target,
    (new, revoked_first): (&str, bool),
    reach: &Reach,
) -> Result<(), Stop> {
    let list = listing(env, t).await?;
    let old_listed = find(t.kind, &list.items, &old_of(t)).is_some();
    super::rotate_env::still_listed(old_listed, revoked_first, t)?;
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
