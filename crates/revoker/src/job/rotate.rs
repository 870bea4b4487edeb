//! A rotation run: for each organization API key of the input (other kinds: [`super::rotate_other`]), a replacement with its reach
//! (`createOrgApiKey`, `addGroupApiKey` per project, `createOrgAccessEntry`), checked set-equal by
//! listing, delivered ([`crate::rotate::deliver`]), the cutover waited for, the old key revoked by
//! the engine's DELETE and the result verified by listing. Every step is journaled before it is
//! taken ([`crate::rotate::journal`]); a resume withdraws a marked replacement whose secret it no
//! longer holds before it creates another, so a credential never has two live replacements.

use std::path::Path;
use std::sync::Arc;

use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::api::{Answer, Client};
use crate::engine::StopFlag;
use crate::figures::Figures;
use crate::input::{Kind, ObjectId, Target};
use crate::job::Failure;
use crate::rotate::deliver::NewSecret;
use crate::rotate::journal::{Journal, Line, Step};
use crate::rotate::reach::{Reach, used_since};
use crate::rotate::{self, Cutover};
use crate::select::read::ListError;
use crate::settings::Settings;

pub use super::rotate_env::RotateOptions;
use super::rotate_env::{
    Env, Stop, check_and_deliver, cut_over, delete, journal, list_all, list_pages, old_of,
    poll_for_use, post,
};
use crate::vocab::exit;

/// What became of one credential.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Rotated {
    pub kind: String,
    pub scope: String,
    pub old: String,
    pub new: Option<String>,
    pub step: &'static str,
    pub message: String,
}

/// The rows of a rotation input: CSV with a header naming `kind`, the scope (`org`, `project` or
/// `scope`), `key` and, for a secret, `secret`.
pub fn read_rows(path: &Path) -> Result<Vec<Target>, Failure> {
    let bytes = crate::fsx::read_bounded(path, crate::fsx::Links::Follow, 64 << 20)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(&bytes[..]);
    let headers = reader.headers().map_err(Failure::usage)?.clone();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let (Some(k), Some(s), Some(key)) = (
        col(&["kind"]),
        col(&["org", "orgId", "project", "groupId", "scope"]),
        col(&["key", "id", "apiUserId"]),
    ) else {
        return Err(Failure::usage(format!(
            "{}: the header needs kind, org (or project) and key columns",
            path.display()
        )));
    };
    let secret = col(&["secret", "secretId"]);
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(Failure::usage)?;
        let cell = |i: usize| record.get(i).unwrap_or("");
        let secret = secret.map(cell).unwrap_or("");
        let target = Target::parse(cell(k), cell(s), cell(key), secret)
            .filter(|t| rotate::kinds::rotates(t.kind))
            .ok_or_else(|| {
                Failure::usage(format!(
                    "{} line {}: not a row rotation takes (org-api-key; service-account-secret or project-service-account-secret with a secret column; ai-model-api-key)",
                    path.display(),
                    n + 2
                ))
            })?;
        // A credential listed twice is rotated once: two rows would make two live replacements
        // (a secret is one credential whether its row names the organization or a project).
        if !seen.insert(old_of(&target)) {
            tracing::warn!(
                "{} line {}: {target} is listed again: rotated once",
                path.display(),
                n + 2
            );
            continue;
        }
        rows.push(target);
    }
    Ok(rows)
}

/// Refuses (exit 2) before anything is created or sent when a row's organization is protected:
/// the same guard as `run`, `plan` and `select` (rotated keys are organization keys, so the
/// row's own scope decides).
fn refuse_protected(settings: &Settings, input: &Path, rows: &[Target]) -> Result<(), Failure> {
    let home = crate::guard::Home::Unasked;
    let refused: Vec<String> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let why = settings.run.protect.covering(t, home)?;
            Some(format!("{} row {}: {t}: {why}", input.display(), i + 1))
        })
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(super::protect::refusal(&refused))
    }
}

/// Agent keys are Cloud Manager's and Ops Manager's (API v1.0); every other kind is rotated
/// through the Atlas Administration API v2.
fn check_api(api: crate::api::Api, rows: &[Target]) -> Result<(), Failure> {
    let atlas = api == crate::api::Api::Atlas;
    match rows.iter().find(|t| (t.kind == Kind::AgentApiKey) == atlas) {
        None => Ok(()),
        Some(t) if atlas => Err(Failure::usage(format!(
            "{t}: agent API keys are Cloud Manager's and Ops Manager's: rotate them in a run of their own with --api cloud-manager (or an …/api/public/v1.0 base URL)"
        ))),
        Some(t) => Err(Failure::usage(format!(
            "{t}: rotate creates through the Atlas Administration API v2: use --api atlas or an …/api/atlas/v2 base URL (only agent API keys rotate through Cloud Manager)"
        ))),
    }
}

/// `revoker rotate`: rotates every row, appends each outcome to the report, answers the rows and
/// the exit code (0 when every row is verified).
pub async fn rotate_command(
    settings: Settings,
    opts: RotateOptions,
) -> Result<(Vec<Rotated>, i32), Failure> {
    let found = settings.credential.as_ref().map_err(Failure::usage)?;
    let rows = read_rows(&opts.input)?;
    check_api(settings.api, &rows)?;
    refuse_protected(&settings, &opts.input, &rows)?;
    let report = opts.report.clone();
    let _lock = crate::report::ReportLock::acquire(&report, true)?;
    let journal_path = rotate::journal::path_for(&report);
    let journal = Journal::open(&journal_path)
        .map_err(|e| Failure::usage(format!("rotation journal {}: {e}", journal_path.display())))?;
    let figures = Arc::new(Figures::default());
    let client =
        Arc::new(Client::new(&settings.api_config(found), figures).map_err(Failure::usage)?);
    let stop = StopFlag::default();
    let signals = super::signals::listen_for_signals(stop.clone());
    let ctx = super::acting::context(&settings, &client, &stop, rows.len().max(1) as u64);
    let own_public = match &found.credential {
        crate::api::Credential::ApiKey { public_key, .. } => Some(public_key.clone()),
        crate::api::Credential::ServiceAccount { .. } => None,
    };
    let own_client = match &found.credential {
        crate::api::Credential::ServiceAccount { client_id, .. } => Some(client_id.clone()),
        crate::api::Credential::ApiKey { .. } => None,
    };
    let env = Arc::new(Env {
        ctx,
        own_public,
        own_client,
        journal: Mutex::new(journal),
        folder: rotate::deliver::folder_for(&report),
        // The run's marker tells its replacements from a rival's: two rotations started in the
        // same millisecond must not share it, or each takes the other's for its own.
        run: format!(
            "{}-{:08x}",
            jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S%.3fZ"),
            rand::random::<u32>()
        ),
        opts,
    });
    let mut tasks = tokio::task::JoinSet::new();
    for target in rows {
        let env = env.clone();
        tasks.spawn(async move { rotate_one(&env, target).await });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        out.push(done.map_err(|e| Failure::usage(format!("a rotation task failed: {e}")))?);
    }
    signals.abort();
    out.sort_by(|a, b| (&a.scope, &a.old).cmp(&(&b.scope, &b.old)));
    write_report(&report, &env.run, &out)
        .map_err(|e| Failure::usage(format!("{}: {e}", report.display())))?;
    let code = if out.iter().all(|r| r.step == "verified") {
        exit::OK
    } else {
        exit::UNFINISHED
    };
    Ok((out, code))
}

fn write_report(path: &Path, run: &str, rows: &[Rotated]) -> std::io::Result<()> {
    use std::io::Write;
    let fresh = !path.exists();
    let mut file = crate::fsx::open_append(path, crate::fsx::Links::Follow)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    if fresh {
        w.write_record(["run_id", "kind", "scope", "old", "new", "step", "message"])?;
    }
    for r in rows {
        let new = r.new.clone().unwrap_or_default();
        w.write_record([run, &r.kind, &r.scope, &r.old, &new, r.step, &r.message])?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    file.write_all(&bytes)?;
    file.sync_data()
}

/// One credential, from wherever its journal left it.
async fn rotate_one(env: &Env, target: Target) -> Rotated {
    let old = old_of(&target);
    let result = match target.kind {
        Kind::OrgApiKey => steps(env, &target).await,
        _ => super::rotate_other::steps(env, &target).await,
    };
    let (step, new, message) = match result {
        Ok((new, note)) => (Step::Verified, Some(new), note),
        Err(why) => {
            let _ = journal(env, &target, Step::Stopped, None, None, &why).await;
            let new = env
                .journal
                .lock()
                .await
                .latest(&old)
                .and_then(|l| l.new.clone());
            (Step::Stopped, new, why)
        }
    };
    Rotated {
        kind: target.kind.as_str().into(),
        scope: target.scope.to_string(),
        old,
        new,
        step: step.name(),
        message,
    }
}

/// The steps after the journal's last one; `Ok` with the replacement once verified.
async fn steps(env: &Env, t: &Target) -> Result<(String, String), Stop> {
    let old = t.key.to_string();
    let latest = env.journal.lock().await.latest(&old).cloned();
    let progress = latest.as_ref().and_then(Line::progress);
    if let (Some(Step::Verified), Some(l)) = (progress, &latest) {
        let new = l.new.clone().unwrap_or_default();
        return Ok((new, "verified by an earlier run".into()));
    }
    let (new, reach, delivered_at) = match (progress, &latest) {
        (Some(Step::Delivered | Step::InUse | Step::CutOver | Step::OldRevoked), Some(l)) => {
            let at = l.delivered.as_deref().unwrap_or(&l.at);
            let at = at
                .parse::<jiff::Timestamp>()
                .map_err(|e| format!("the journal's delivery time: {e}"))?;
            let reach = l.reach.clone().ok_or("the journal lost the reach")?;
            let new = l.new.clone().ok_or("the journal names no replacement")?;
            (new, reach, at)
        }
        _ => {
            let reach = latest.as_ref().and_then(|l| l.reach.clone());
            let revoked_first = latest.as_ref().is_some_and(|l| l.revoked_first);
            // Only a run that journaled `planned` and no more may have sent the DELETE whose
            // answer it never read.
            let resumed = progress == Some(Step::Planned);
            let (new, reach) = issue(env, t, (reach, resumed), revoked_first).await?;
            (new, reach, jiff::Timestamp::now())
        }
    };
    if progress != Some(Step::OldRevoked) {
        let wait = wait_for_use(env, t, &new, delivered_at);
        let revoke = delete_key(env, t.scope, t.key);
        let present = async {
            let id = ObjectId::parse(&new).ok_or("the replacement's id is not an id")?;
            reach_of(env, t.scope, id).await.map(|r| r.is_some())
        };
        cut_over(env, t, (&new, &reach), wait, (present, revoke)).await?;
    }
    verify(env, t, &new, &reach).await?;
    journal(env, t, Step::Verified, Some(new.clone()), Some(&reach), "").await?;
    Ok((new, String::new()))
}

/// Planned → created → delivered: the replacement made, checked and handed over.
async fn issue(
    env: &Env,
    t: &Target,
    (reach, resumed): (Option<Reach>, bool),
    mut revoked_first: bool,
) -> Result<(String, Reach), Stop> {
    let reach = withdraw_and_read(env, t, reach).await?;
    journal(env, t, Step::Planned, None, Some(&reach), "").await?;
    if env.opts.cutover == Cutover::Now && !revoked_first {
        // createOrgApiKey needs at least one organization role: a key without one could not be
        // issued again, so it is not revoked first either.
        if reach.org_roles.is_empty() {
            return Err(format!(
                "key {} has no organization role: createOrgApiKey needs one, so no replacement could be issued; nothing was revoked",
                t.key
            ));
        }
        super::rotate_env::revoke_first(env, t, resumed).await?;
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
    }
    let note = if revoked_first { "revoked first" } else { "" };
    journal(env, t, Step::Creating, None, Some(&reach), note).await?;
    let (new, secret) = create(env, t, &reach).await?;
    journal(
        env,
        t,
        Step::Created,
        Some(new.to_string()),
        Some(&reach),
        note,
    )
    .await?;
    check_and_deliver(
        env,
        t,
        (&new.to_string(), &reach, note),
        secret,
        grant_and_check(env, t, (new, revoked_first), &reach),
        delete_key(env, t.scope, new),
    )
    .await?;
    Ok((new.to_string(), reach))
}

/// Stops the row of the key this rotation runs as (its listed `publicKey` is the credential's).
fn refuse_own(env: &Env, item: &Value, key: &str) -> Result<(), Stop> {
    match (&env.own_public, item["publicKey"].as_str()) {
        (Some(own), Some(listed)) if own.eq_ignore_ascii_case(listed) => Err(format!(
            "key {key} is the credential this rotation runs as (public key {listed}): rotate it with another credential; nothing was created or revoked"
        )),
        _ => Ok(()),
    }
}

/// Withdraws every marked replacement of the old key a crashed run made (its secret is lost:
/// Atlas shows a private key only in the create's answer), and answers the old key's reach: the
/// journal's, or as its lists show it now.
async fn withdraw_and_read(env: &Env, t: &Target, reach: Option<Reach>) -> Result<Reach, Stop> {
    let org = t.scope.to_string();
    let old = t.key.to_string();
    let keys = list_all(env, t.scope, &["orgs", &org, "apiKeys"]).await?;
    // This rotation's own earlier replacements go first, whatever else is found: their secrets
    // were lost with the run that made them, and left live they would be a second replacement.
    let ours: Vec<ObjectId> = {
        let journal = env.journal.lock().await;
        keys.iter()
            .filter(|i| {
                i["desc"]
                    .as_str()
                    .and_then(|d| rotate::marked_by(d, &old))
                    .is_some_and(|run| journal.is_ours(&old, run))
            })
            .filter_map(|i| i["id"].as_str().and_then(ObjectId::parse))
            .collect()
    };
    let withdrew = !ours.is_empty();
    for id in ours {
        delete_key(env, t.scope, id).await?;
    }
    let other = {
        let journal = env.journal.lock().await;
        rotate::kinds::other_marker(Kind::OrgApiKey, &keys, "desc", &old, |run| {
            journal.is_ours(&old, run)
        })
    };
    if let Some((id, run)) = other {
        return Err(super::rotate_env::theirs(
            &format!("key {id}"),
            &old,
            run,
            withdrew,
        ));
    }
    if let Some(reach) = reach {
        return Ok(reach);
    }
    let item = keys
        .iter()
        .find(|i| {
            i["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(&old))
        })
        .ok_or_else(|| format!("organization API key {old} is not in organization {org}'s list"))?;
    refuse_own(env, item, &old)?;
    let access = list_all(env, t.scope, &["orgs", &org, "apiKeys", &old, "accessList"]).await?;
    Reach::of_key(item, &access).map_err(|e| format!("the old key's reach is unreadable: {e}"))
}

/// `createOrgApiKey` with the old key's organization roles and the marker as its description.
async fn create(env: &Env, t: &Target, reach: &Reach) -> Result<(ObjectId, NewSecret), Stop> {
    let org = t.scope.to_string();
    let body = json!({
        "desc": rotate::marker(&t.key.to_string(), &env.run),
        "roles": reach.org_roles.iter().collect::<Vec<_>>(),
    });
    let answer = post(
        env,
        Kind::OrgApiKey,
        t.scope,
        &["orgs", &org, "apiKeys"],
        body,
        false,
    )
    .await?;
    let id = answer["id"]
        .as_str()
        .and_then(ObjectId::parse)
        .ok_or("createOrgApiKey answered no id")?;
    let private = answer["privateKey"]
        .as_str()
        .ok_or("createOrgApiKey answered no privateKey")?;
    let secret = NewSecret {
        kind: "org-api-key",
        scope: org,
        old: t.key.to_string(),
        id: id.to_string(),
        public: answer["publicKey"].as_str().unwrap_or_default().to_string(),
        secret: SecretString::from(private.to_string()),
    };
    Ok((id, secret))
}

/// Each project's roles and the access list, then the check by listing.
async fn grant_and_check(
    env: &Env,
    t: &Target,
    (new, revoked_first): (ObjectId, bool),
    reach: &Reach,
) -> Result<(), Stop> {
    let org = t.scope.to_string();
    let id = new.to_string();
    for (project, roles) in &reach.projects {
        let scope =
            ObjectId::parse(project).ok_or_else(|| format!("project id {project} is not an id"))?;
        let body = json!([{ "roles": roles }]);
        post(
            env,
            Kind::OrgApiKey,
            scope,
            &["groups", project, "apiKeys", &id],
            body,
            true,
        )
        .await?;
    }
    if !reach.access.is_empty() {
        post(
            env,
            Kind::OrgApiKey,
            t.scope,
            &["orgs", &org, "apiKeys", &id, "accessList"],
            reach.access_body(),
            true,
        )
        .await?;
    }
    let old = t.key.to_string();
    // One list answers both: whether another rotation raced this one, and the replacement's reach.
    let keys = list_all(env, t.scope, &["orgs", &org, "apiKeys"]).await?;
    let other =
        rotate::kinds::other_marker(Kind::OrgApiKey, &keys, "desc", &old, |run| run == env.run);
    if let Some((id, run)) = other {
        return Err(super::rotate_env::raced(&old, id, run));
    }
    let old_listed = keys.iter().any(|i| {
        i["id"]
            .as_str()
            .is_some_and(|id| id.eq_ignore_ascii_case(&old))
    });
    super::rotate_env::still_listed(old_listed, revoked_first, t)?;
    let listed = reach_in(env, t.scope, &keys, new)
        .await?
        .ok_or("the replacement is not in its organization's list")?;
    let differences = reach.differences(&listed);
    match differences.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "the replacement's reach differs: {}; it was withdrawn",
            differences.join(", ")
        )),
    }
}

/// A key's reach as the lists show it, `None` when it is not listed.
async fn reach_of(env: &Env, org: ObjectId, key: ObjectId) -> Result<Option<Reach>, Stop> {
    let o = org.to_string();
    let keys = list_all(env, org, &["orgs", &o, "apiKeys"]).await?;
    reach_in(env, org, &keys, key).await
}

/// A key's reach as `keys` (the organization's list, read already) and its access list show it,
/// `None` when it is not in `keys`.
async fn reach_in(
    env: &Env,
    org: ObjectId,
    keys: &[Value],
    key: ObjectId,
) -> Result<Option<Reach>, Stop> {
    let o = org.to_string();
    let k = key.to_string();
    let Some(item) = keys.iter().find(|i| {
        i["id"]
            .as_str()
            .is_some_and(|id| id.eq_ignore_ascii_case(&k))
    }) else {
        return Ok(None);
    };
    refuse_own(env, item, &k)?;
    let access = list_all(env, org, &["orgs", &o, "apiKeys", &k, "accessList"]).await?;
    Reach::of_key(item, &access)
        .map(Some)
        .map_err(|e| format!("key {k}: {e}"))
}

/// Polls both access lists until the replacement shows use and the old key none since delivery,
/// or the deadline passes.
async fn wait_for_use(
    env: &Env,
    t: &Target,
    new: &str,
    delivered: jiff::Timestamp,
) -> Result<(Step, String), Stop> {
    let org = t.scope.to_string();
    let old = t.key.to_string();
    let (org, old) = (org.as_str(), old.as_str());
    poll_for_use(env, delivered, env.opts.deadline, move || async move {
        let new_list = list_all(env, t.scope, &["orgs", org, "apiKeys", new, "accessList"]).await?;
        let old_list =
            match list_pages(env, t.scope, &["orgs", org, "apiKeys", old, "accessList"]).await {
                Ok(list) => list,
                // Revoked by a run that stopped before journaling it: the cutover has happened.
                Err((_, ListError::Answer(Answer::NotFound { .. }))) => {
                    return Ok(Some((Step::CutOver, "the old key is already gone".into())));
                }
                Err((path, e)) => return Err(format!("GET {path}: {}", e.described())),
            };
        Ok(
            (used_since(&new_list, delivered) && !used_since(&old_list, delivered))
                .then(|| (Step::InUse, "the replacement is in use".into())),
        )
    })
    .await
}

/// The old key is gone and the replacement has the reach.
async fn verify(env: &Env, t: &Target, new: &str, reach: &Reach) -> Result<(), Stop> {
    if reach_of(env, t.scope, t.key).await?.is_some() {
        return Err(format!("the old key {} is still listed", t.key));
    }
    let new_id = ObjectId::parse(new).ok_or("the replacement's id is not an id")?;
    let listed = reach_of(env, t.scope, new_id)
        .await?
        .ok_or("the replacement is no longer listed")?;
    let differences = reach.differences(&listed);
    match differences.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "the replacement's reach differs: {}",
            differences.join(", ")
        )),
    }
}

/// Revokes an organization API key through the engine's DELETE; gone already counts as revoked.
async fn delete_key(env: &Env, org: ObjectId, key: ObjectId) -> Result<(), Stop> {
    let target = Target {
        kind: Kind::OrgApiKey,
        scope: org,
        key,
        secret: None,
    };
    delete(env, &target).await
}
