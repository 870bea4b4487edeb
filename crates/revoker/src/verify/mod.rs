//! Verification: proof that revoked keys are gone. For every project and organization with rows
//! whose latest outcome is finished (`done`, `not_found`, `verified`), the list endpoints say what
//! still exists — one request per list page, never one per key — and each such row is recorded in
//! the report as `verified` (absent) or `still_present` (which a resumed run sends again). A list
//! that cannot prove anything ([`listing`]) leaves its rows as they were, reported unverified with
//! the reason.

pub mod listing;

use listing::read_list;
pub use listing::{ListKey, Listed};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use crate::vocab::ExitCode as _;
use std::time::Instant;

use tokio::sync::Semaphore;

use crate::engine::{Context, StopReason};
use crate::input::{Kind, Target};
use crate::report::{Outcome, Record, ReportError, ReportSink, read_records};

/// A row to verify: its target and its input line.
#[derive(Clone, Debug)]
pub struct Claim {
    pub target: Target,
    pub line: u64,
}

/// The rows of a report whose latest outcome says the key is gone.
pub fn claims(report: &Path) -> Result<Vec<Claim>, ReportError> {
    let mut latest: HashMap<crate::input::Identity, (u64, Claim, Outcome)> = HashMap::new();
    let mut order = 0u64;
    read_records(report, &mut |r: Record| {
        let Some(target) = r.target() else { return };
        order += 1;
        latest.insert(
            target.identity(),
            (
                order,
                Claim {
                    target,
                    line: r.line,
                },
                r.outcome,
            ),
        );
    })?;
    let mut out: Vec<(u64, Claim)> = latest
        .into_values()
        .filter(|(_, _, outcome)| outcome.is_finished())
        .map(|(order, claim, _)| (order, claim))
        .collect();
    out.sort_by_key(|(order, _)| *order);
    Ok(out.into_iter().map(|(_, c)| c).collect())
}

/// What verification found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Verification {
    pub rows: u64,
    pub verified: u64,
    pub still_present: u64,
    /// Rows whose list could not be read, and why (one entry per list).
    pub unverified: Vec<Unverified>,
    /// Rows still present: `(input line, target)`.
    pub present: Vec<(u64, String)>,
    /// List requests that were answered (pages), per list endpoint kind.
    pub pages: u64,
    pub elapsed_ms: u64,
}

/// A list that could not be read.
#[derive(Debug, serde::Serialize)]
pub struct Unverified {
    pub list: String,
    pub rows: u64,
    pub reason: String,
}

/// The list request of `key`, for messages: `GET /groups/…/apiKeys`.
pub fn describe(ctx: &Context, key: &ListKey) -> String {
    format!("GET {}", listing::spec(ctx, key).url.path())
}

/// A secret's list is its service account. When that answers a not-found that proves nothing by
/// itself, the organization's complete list of accounts settles it: an account absent from it has
/// no secrets left.
async fn read_secrets(ctx: &Arc<Context>, key: ListKey, pages: &Semaphore) -> Listed {
    let listed = read_list(ctx, key, pages).await;
    let (Listed::Incomplete(why), Some(client)) = (&listed, key.client) else {
        return listed;
    };
    // No list of MCP configurations is read to settle a 404 on one's secrets: it proves nothing.
    if !why.starts_with("HTTP 404") || key.kind.is_mcp() {
        return listed;
    }
    // An organization's list settles an organization's secret. A project's list cannot settle a
    // project's: an account unassigned from the project keeps its secrets, in its organization.
    if key.kind == Kind::ProjectServiceAccountSecret {
        return Listed::Incomplete(format!(
            "{why} (the account is not in this project: its secrets may live on in its organization)"
        ));
    }
    let (kind, whose) = (Kind::ServiceAccount, "organization");
    let org = ListKey {
        kind,
        scope: key.scope,
        client: None,
    };
    match read_list(ctx, org, pages).await {
        Listed::Complete { ids, .. } if !ids.contains(&(client, None)) => Listed::Gone(format!(
            "{why}; the service account is absent from the {whose}'s complete list ({})",
            describe(ctx, &org)
        )),
        Listed::Gone(scope) => Listed::Gone(scope),
        Listed::Complete { .. } => Listed::Incomplete(format!(
            "{why}, yet the {whose}'s list still has the service account"
        )),
        Listed::Incomplete(more) => Listed::Incomplete(format!("{why}; and {more}")),
        Listed::Failed(answer) => Listed::Failed(answer),
    }
}

/// The claims grouped by the list that proves them.
fn by_list(claims: Vec<Claim>) -> BTreeMap<ListKey, Vec<Claim>> {
    let mut groups: BTreeMap<ListKey, Vec<Claim>> = BTreeMap::new();
    for claim in claims {
        groups
            .entry(ListKey::of(&claim.target))
            .or_default()
            .push(claim);
    }
    groups
}

/// Where the rows of a verification go, and what it found so far.
struct Findings<'a> {
    result: Verification,
    run_id: &'a str,
    sink: &'a ReportSink,
}

/// Which credential (an index in [`Readers::ctxs`]) a row goes to, or why none can have it.
pub type Route = Arc<dyn Fn(&crate::input::Target) -> Result<usize, String> + Send + Sync>;

/// What lists are read with: a context per credential, and which one a row's list goes to.
#[derive(Clone)]
pub struct Readers {
    pub ctxs: Vec<Arc<Context>>,
    /// The index in `ctxs` of the credential for a row, or why no credential of the run has it.
    pub route: Route,
}

impl Readers {
    /// One credential for every row.
    pub fn single(ctx: Arc<Context>) -> Readers {
        Readers {
            ctxs: vec![ctx],
            route: Arc::new(|_| Ok(0)),
        }
    }

    /// The keys each credential reads, and those no credential can, with why.
    pub fn split(
        &self,
        keys: impl IntoIterator<Item = (ListKey, crate::input::Target)>,
    ) -> (Vec<Vec<ListKey>>, Vec<(ListKey, String)>) {
        let mut per: Vec<Vec<ListKey>> = vec![Vec::new(); self.ctxs.len()];
        let mut nobody = Vec::new();
        for (key, target) in keys {
            match (self.route)(&target) {
                Ok(i) if i < per.len() => per[i].push(key),
                Ok(_) => nobody.push((key, "no such credential".to_string())),
                Err(why) => nobody.push((key, why)),
            }
        }
        for keys in &mut per {
            keys.sort();
        }
        (per, nobody)
    }

    /// Why the reading stopped, when every credential stopped; one credential stopped alone leaves
    /// only its lists unread, which the caller reports as such.
    pub fn stopped(&self) -> Option<StopReason> {
        let reasons: Vec<Option<StopReason>> =
            self.ctxs.iter().map(|c| c.stop().reason()).collect();
        if reasons.iter().all(Option::is_some) {
            reasons.into_iter().flatten().next()
        } else {
            None
        }
    }

    /// Requests all contexts sent so far.
    pub fn requests(&self) -> u64 {
        // Lanes share one set of figures; count it once.
        self.ctxs.first().map_or(0, |c| {
            crate::figures::Figures::get(&c.client().figures().requests)
        })
    }
}

/// Verifies `claims`, writing one report row per claim to `sink`.
pub async fn verify(
    readers: &Readers,
    claims: Vec<Claim>,
    run_id: &str,
    sink: &ReportSink,
) -> Verification {
    let started = Instant::now();
    let mut pending: HashMap<ListKey, Vec<Claim>> = by_list(claims).into_iter().collect();
    let mut found = Findings {
        result: Verification::default(),
        run_id,
        sink,
    };
    let pages_before = readers.requests();
    let (per, nobody) = readers.split(
        pending
            .iter()
            .filter_map(|(k, c)| c.first().map(|c| (*k, c.target))),
    );
    for (key, why) in nobody {
        let claims = pending.remove(&key).unwrap_or_default();
        let list = describe(&readers.ctxs[0], &key);
        found.result.unverified.push(Unverified {
            list,
            rows: claims.len() as u64,
            reason: why,
        });
        found.result.rows += claims.len() as u64;
    }
    for (ctx, keys) in readers.ctxs.iter().zip(per) {
        if keys.is_empty() || !ctx.prepare().await {
            continue;
        }
        read_lists(ctx, keys, &mut |key, listed| {
            let claims = pending.remove(&key).unwrap_or_default();
            finish(&mut found, ctx, key, claims, listed);
        })
        .await;
    }
    // Lists never read (the verification stopped first, or its credential was refused).
    let mut left: Vec<(ListKey, Vec<Claim>)> = pending.into_iter().collect();
    left.sort_by_key(|(key, _)| *key);
    for (key, claims) in left {
        let ctx = claims
            .first()
            .and_then(|c| (readers.route)(&c.target).ok())
            .and_then(|i| readers.ctxs.get(i))
            .unwrap_or(&readers.ctxs[0]);
        let reason = ctx
            .stop()
            .reason()
            .map_or("not read".into(), |r| format!("not read: {r}"));
        unverified(&mut found.result, ctx, key, &claims, reason);
    }
    found.result.pages = readers.requests().saturating_sub(pages_before);
    found.result.elapsed_ms = started.elapsed().as_millis() as u64;
    found.result
}

/// Reads every list of `keys`, [`listing::CONCURRENT_PAGES`] pages at a time, handing each
/// listing to `each` as it completes. The first list goes alone, like a run's first row: one
/// challenge, one refusal, and a server that answers nothing stops the reading after it. Lists
/// not read when the run stops are never handed over.
pub async fn read_lists(
    ctx: &Arc<Context>,
    keys: Vec<ListKey>,
    each: &mut dyn FnMut(ListKey, Listed),
) {
    let pages = Arc::new(Semaphore::new(listing::CONCURRENT_PAGES));
    let mut tasks = tokio::task::JoinSet::new();
    let mut keys = keys.into_iter();
    if let Some(first) = keys.next() {
        let listed = read_secrets(ctx, first, &pages).await;
        no_answer_stops(ctx, &listed);
        each(first, listed);
    }
    if !ctx.stop().is_set() {
        for key in keys {
            let (task_ctx, task_pages) = (ctx.clone(), pages.clone());
            tasks.spawn(async move { (key, read_secrets(&task_ctx, key, &task_pages).await) });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((key, listed)) = joined {
            each(key, listed);
        }
    }
}

/// A first list that got no answer at all (a refused connection, a name that does not resolve)
/// stops the verification at once, as a run's first row does, rather than every list retrying.
fn no_answer_stops(ctx: &Context, listed: &Listed) {
    if let Listed::Failed(answer) = listed
        && crate::figures::Figures::get(&ctx.client().figures().responses) == 0
    {
        ctx.stop().request(StopReason::NoAnswer(format!(
            "no answer from {}: the first list got none ({}); is the server up and the base URL right?",
            ctx.client().host(),
            answer.detail()
        )));
    }
}

fn unverified(
    result: &mut Verification,
    ctx: &Context,
    key: ListKey,
    claims: &[Claim],
    reason: String,
) {
    result.unverified.push(Unverified {
        list: describe(ctx, &key),
        rows: claims.len() as u64,
        reason,
    });
    result.rows += claims.len() as u64;
}

fn finish(
    found: &mut Findings<'_>,
    ctx: &Context,
    key: ListKey,
    claims: Vec<Claim>,
    listed: Listed,
) {
    let list = describe(ctx, &key);
    let (ids, status, message) = match listed {
        Listed::Failed(answer) => {
            return unverified(&mut found.result, ctx, key, &claims, answer.described());
        }
        Listed::Incomplete(why) => {
            let reason = format!("the listing is not complete: {why}");
            return unverified(&mut found.result, ctx, key, &claims, reason);
        }
        // The scope itself is gone, and everything in it.
        Listed::Gone(why) => (
            HashSet::new(),
            404,
            format!("absent: {list} answers that it is gone ({why})"),
        ),
        Listed::Complete {
            ids, pages, items, ..
        } => (
            ids,
            200,
            format!(
                "{list} ({pages} {}, {items} listed)",
                if pages == 1 { "page" } else { "pages" }
            ),
        ),
    };
    found.result.rows += claims.len() as u64;
    for claim in claims {
        record(found, claim, &ids, status, &message);
    }
}

/// The row of one claim, from a listing that proves it either way.
fn record(
    found: &mut Findings<'_>,
    claim: Claim,
    ids: &HashSet<crate::api::ListedId>,
    status: u16,
    message: &str,
) {
    let t = claim.target;
    let present = ListKey::listed_id(&t).is_some_and(|id| ids.contains(&id));
    let otherwise = (!present && t.kind == crate::input::Kind::AiModelApiKey)
        .then(|| crate::api::spelled_otherwise(&t.key_text(), ids))
        .flatten();
    let (outcome, text) = if let Some(listed) = otherwise {
        // The row's spelling names no key; the one it differs from only in case is there.
        found.result.still_present += 1;
        found.result.present.push((claim.line, t.to_string()));
        (
            Outcome::StillPresent,
            format!(
                "{message} lists {listed}, which this row's id spells in another case: the API compares AI model key ids exactly, so the row's not-found proved nothing of it; fix the spelling"
            ),
        )
    } else if present {
        found.result.still_present += 1;
        found.result.present.push((claim.line, t.to_string()));
        (
            Outcome::StillPresent,
            format!("still present in {message}: a resumed run sends it again"),
        )
    } else {
        found.result.verified += 1;
        let text = if status == 404 {
            message.to_string()
        } else {
            format!("absent from {message}")
        };
        (Outcome::Verified, text)
    };
    found.sink.send(Record {
        http_status: Some(status),
        ..Record::new(found.run_id, claim.line, outcome, text).naming(&t)
    });
}

/// The exit code of a verification: 0 when every finished row is confirmed absent, 1 otherwise,
/// or the stop's own code.
pub fn exit_code(v: &Verification, stopped: Option<&StopReason>) -> i32 {
    match stopped {
        Some(reason) => reason.exit_code(),
        None if v.still_present > 0 || !v.unverified.is_empty() => crate::vocab::exit::UNFINISHED,
        None => crate::vocab::exit::OK,
    }
}
