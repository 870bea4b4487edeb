//! A plan: what a run would do, decided against live state. Every project and organization of
//! the input is listed with the requests `verify` uses (one per page, never one per key) and each
//! row gets its fate: revoked (the credential exists now), already gone, cannot (the list was
//! refused or could not be read), unknown (the list answered but proves nothing), exempt, the
//! run's own credential, invalid, a kind the job does not allow, a duplicate. A plan sends no
//! DELETE.

pub mod file;
mod table;

pub use table::render;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::ControlFlow;
use std::time::Instant;

use crate::engine::Context;
use crate::guard::{Guard, Verdict};
use crate::input::{Identity, InputError, InputOptions, Source, Target};
use crate::report::audit::{ListedRecord, PlanRecord};
use crate::verify::{ListKey, Listed, Readers, describe, read_lists};

/// What a run would do with one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// The credential exists now: a run revokes it.
    Revoke,
    /// Absent from a complete listing (or its scope is gone): a run finds it `not_found`.
    Gone,
    /// Its list was refused or could not be read: this credential cannot see (or act on) it.
    Cannot,
    /// Its list was answered without proving anything either way.
    Unknown,
    /// On the exemption list: never sent.
    Exempt,
    /// The credential the run signs in with.
    Own,
    /// A bad row.
    Invalid,
    /// A kind this job does not allow.
    NotAllowed,
    /// A later copy of a row seen before.
    Duplicate,
    /// Finished by an earlier run of the report: not sent again.
    Finished,
    /// It touches a protected organization or project: a run is refused.
    Protected,
}

impl Fate {
    pub const ALL: [Fate; 11] = [
        Fate::Revoke,
        Fate::Gone,
        Fate::Cannot,
        Fate::Unknown,
        Fate::Exempt,
        Fate::Own,
        Fate::Invalid,
        Fate::NotAllowed,
        Fate::Duplicate,
        Fate::Finished,
        Fate::Protected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Revoke => "revoke",
            Fate::Gone => "gone",
            Fate::Cannot => "cannot",
            Fate::Unknown => "unknown",
            Fate::Exempt => "exempt",
            Fate::Own => "own",
            Fate::Invalid => "invalid",
            Fate::NotAllowed => "not_allowed",
            Fate::Duplicate => "duplicate",
            Fate::Finished => "finished",
            Fate::Protected => "protected",
        }
    }

    /// The fate a plan file names.
    pub fn parse(text: &str) -> Option<Fate> {
        Fate::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// What the fate means, for the plan's table.
    pub fn meaning(self) -> &'static str {
        match self {
            Fate::Revoke => "will be revoked (they exist now)",
            Fate::Gone => "already gone",
            Fate::Cannot => "cannot: the list was refused or could not be read",
            Fate::Unknown => "unknown: the list proves nothing either way",
            Fate::Exempt => "exempt: never sent",
            Fate::Own => "the credential this run signs in with",
            Fate::Invalid => "invalid rows",
            Fate::NotAllowed => "kinds this job does not allow",
            Fate::Duplicate => "duplicates of earlier rows",
            Fate::Finished => "finished by an earlier run of the report",
            Fate::Protected => "in a protected organization or project: a run is refused",
        }
    }
}

/// One project's or organization's list, and the fates of its rows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ScopePlan {
    /// `project` or `organization`.
    pub scope_kind: &'static str,
    pub scope: String,
    pub kind: String,
    /// The list request: `GET /groups/…/apiKeys`.
    pub list: String,
    /// What the list answered: `complete: 1 page, 12 listed`, or why it proves nothing.
    pub answer: String,
    pub fates: BTreeMap<Fate, u64>,
    /// Rows of this list no credential of the run can send (counted `cannot`): never sent.
    #[serde(skip)]
    pub unsendable: u64,
}

impl ScopePlan {
    /// Rows of this list a run would send and may revoke: those that exist now, and those whose
    /// state the list could not tell (unreadable or proving nothing) — a row the plan could not
    /// decide counts as one that will be revoked.
    pub fn revocations(&self) -> u64 {
        let n = |f: Fate| self.fates.get(&f).copied().unwrap_or(0);
        (n(Fate::Revoke) + n(Fate::Unknown) + n(Fate::Cannot)).saturating_sub(self.unsendable)
    }
}

/// A plan for one input.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Plan {
    pub rows: u64,
    pub fates: BTreeMap<Fate, u64>,
    pub scopes: Vec<ScopePlan>,
    /// The first rows that are invalid, not allowed, or the run's own: `(line, why)`.
    pub problems: Vec<(u64, String)>,
    /// Projects and organizations the rows to send span.
    pub scope_count: u64,
    /// Destructive kinds (the credential itself deleted) among the rows to revoke.
    pub destructive_kinds: Vec<String>,
    /// Rows naming the run's own credential, allowed by name: sent last.
    pub own_last: u64,
    /// List requests sent (pages, retries included).
    pub list_requests: u64,
    pub elapsed_ms: u64,
    /// `(when, what)` of every list read, for the audit record.
    #[serde(skip)]
    pub listed: Vec<ListedRecord>,
    /// Rows a complete listing (or a not-found naming their scope) showed gone: the evidence a run
    /// whose cap is spent records them by instead of sending them.
    #[serde(skip)]
    pub gone: HashSet<crate::input::Identity>,
    /// Every row's fate: `(line, the row as written, fate)`, for a plan file (`plan --write`) and
    /// the run that applies it.
    #[serde(skip)]
    pub lines: Vec<(u64, String, Fate)>,
    /// API key rows' public keys as their lists showed them: the run records them, since events
    /// name keys by them.
    #[serde(skip)]
    pub public_keys: HashMap<crate::input::Identity, String>,
}

/// Problem rows shown at most.
const SHOWN: usize = 20;

impl Plan {
    pub fn count(&self, fate: Fate) -> u64 {
        self.fates.get(&fate).copied().unwrap_or(0)
    }

    /// Credentials a run would revoke, at most: those that exist now, those whose state the lists
    /// could not tell (refused, unreadable or proving nothing: a run sends them all the same), and
    /// its own credential when allowed. Rows no credential of the run can send are not counted.
    pub fn revocations(&self) -> u64 {
        self.scopes.iter().map(ScopePlan::revocations).sum::<u64>() + self.own_last
    }

    /// Rows a run could not finish: 1 as an exit code.
    pub fn blocked(&self, own_allowed: bool) -> u64 {
        self.count(Fate::Cannot)
            + self.count(Fate::Unknown)
            + self.count(Fate::Invalid)
            + self.count(Fate::NotAllowed)
            + self.count(Fate::Protected)
            + if own_allowed {
                0
            } else {
                self.count(Fate::Own)
            }
    }

    /// [`Plan::note`] for the row on `line`, remembered with its fate.
    fn note_row(&mut self, line: u64, row: String, fate: Fate, problem: Option<(u64, String)>) {
        self.lines.push((line, row, fate));
        self.note(fate, problem);
    }

    fn note(&mut self, fate: Fate, problem: Option<(u64, String)>) {
        *self.fates.entry(fate).or_default() += 1;
        if let Some(p) = problem
            && self.problems.len() < SHOWN
        {
            self.problems.push(p);
        }
    }

    /// The plan as the audit record keeps it.
    pub fn record(&self) -> PlanRecord {
        PlanRecord {
            counts: self
                .fates
                .iter()
                .map(|(f, n)| (f.as_str().to_string(), *n))
                .collect(),
            lists: self.listed.clone(),
        }
    }
}

/// What a plan is given besides the input.
pub struct Inputs<'a> {
    pub source: &'a Source,
    /// How the run reads the input (its allowed kinds included).
    pub opts: &'a InputOptions,
    /// Exemptions and the run's own credentials, decided as the run decides them.
    pub guard: &'a Guard,
    /// Rows an earlier run of the report finished.
    pub finished: &'a HashSet<Identity>,
    /// Identities whose rows contradict each other (the survey's): invalid, with why.
    pub conflicts: &'a HashMap<Identity, String>,
}

/// The rows to send, by the list that shows them, each with its line.
type Groups = BTreeMap<ListKey, Vec<(u64, Target)>>;

/// Reads the input and groups the rows to send by the list that shows them.
fn sort_rows(inputs: &Inputs<'_>, plan: &mut Plan) -> Result<Groups, InputError> {
    let mut groups: Groups = BTreeMap::new();
    let mut seen: HashSet<Identity> = HashSet::new();
    let mut exempt: HashMap<ListKey, u64> = HashMap::new();
    inputs
        .source
        .scan(&inputs.opts.every_kind(), &mut |entry| {
            plan.rows += 1;
            let line = entry.line;
            let target = match entry.target {
                Err(why) => {
                    plan.note_row(line, raw_text(&entry.raw), Fate::Invalid, Some((line, why)));
                    return ControlFlow::Continue(());
                }
                Ok(t) => t,
            };
            match row_fate(inputs, &target, entry.org, &mut seen) {
                None => groups
                    .entry(ListKey::of(&target))
                    .or_default()
                    .push((line, target)),
                Some((fate, why)) => {
                    if fate == Fate::Exempt {
                        *exempt.entry(ListKey::of(&target)).or_default() += 1;
                    }
                    if why.as_deref() == Some(OWN_LAST) {
                        plan.own_last += 1;
                    }
                    let problem =
                        why.map(|w| (line, w.replace(OWN_LAST, &format!("{target}: {OWN_LAST}"))));
                    plan.note_row(line, target.to_string(), fate, problem);
                }
            }
            ControlFlow::Continue(())
        })?;
    for (key, n) in exempt {
        groups.entry(key).or_default();
        plan.scopes
            .push(scope_plan(&key, String::new(), String::new()));
        if let Some(last) = plan.scopes.last_mut() {
            last.fates.insert(Fate::Exempt, n);
        }
    }
    Ok(groups)
}

/// Why a row of the run's own credential, allowed by name, is not listed.
const OWN_LAST: &str = "the run's own credential, revoked last (allowed)";

/// The cells of an invalid row, as one line.
fn raw_text(raw: &crate::input::RawRow) -> String {
    [&raw.kind, &raw.scope, &raw.key, &raw.secret]
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The fate of a valid row decided before any list is read, and why (a problem line); `None`
/// when the row goes to its list.
fn row_fate(
    inputs: &Inputs<'_>,
    target: &Target,
    cell: Option<crate::input::ObjectId>,
    seen: &mut HashSet<Identity>,
) -> Option<(Fate, Option<String>)> {
    let id = target.identity();
    if let Err(why) = inputs.opts.allows(target.kind) {
        return Some((Fate::NotAllowed, Some(why)));
    }
    if inputs.finished.contains(&id) {
        return Some((Fate::Finished, None));
    }
    if let Some(why) = inputs.conflicts.get(&id) {
        return Some((Fate::Invalid, Some(why.clone())));
    }
    if !seen.insert(id) {
        return Some((Fate::Duplicate, None));
    }
    match inputs.guard.decide_at(target, cell) {
        Verdict::Protected(why) => Some((Fate::Protected, Some(format!("{target}: {why}")))),
        Verdict::Held(_, why) => Some((Fate::Invalid, Some(why))),
        Verdict::Exempt(_) => Some((Fate::Exempt, None)),
        Verdict::Own(why) => Some((Fate::Own, Some(why))),
        Verdict::OwnLast => Some((Fate::Own, Some(OWN_LAST.to_string()))),
        Verdict::Send => None,
    }
}

fn scope_plan(key: &ListKey, list: String, answer: String) -> ScopePlan {
    ScopePlan {
        scope_kind: key.kind.scope().as_str(),
        scope: if key.kind.scope() == crate::input::Scope::Global {
            "-".to_string()
        } else {
            key.scope.to_string()
        },
        kind: key.kind.to_string(),
        list,
        answer,
        fates: BTreeMap::new(),
        unsendable: 0,
    }
}

/// The fate of every row of a listing, and what the listing answered.
fn decide(listed: Listed, rows: &[Target]) -> (String, Vec<Fate>) {
    let all = |fate: Fate| vec![fate; rows.len()];
    match listed {
        Listed::Complete {
            ids, pages, items, ..
        } => (
            format!(
                "complete: {pages} {}, {items} listed",
                if pages == 1 { "page" } else { "pages" }
            ),
            rows.iter()
                .map(|t| match ListKey::listed_id(t) {
                    Some(id) if ids.contains(&id) => Fate::Revoke,
                    _ => Fate::Gone,
                })
                .collect(),
        ),
        Listed::Gone(why) => (format!("gone: {why}"), all(Fate::Gone)),
        Listed::Incomplete(why) => (format!("proves nothing: {why}"), all(Fate::Unknown)),
        Listed::Failed(answer) => (format!("cannot: {}", answer.described()), all(Fate::Cannot)),
    }
}

/// Makes the plan of `inputs`, each list read with the credential its rows go to.
pub async fn make(readers: &Readers, inputs: Inputs<'_>) -> Result<Plan, InputError> {
    let started = Instant::now();
    let mut plan = Plan::default();
    let groups = sort_rows(&inputs, &mut plan)?;
    let scopes: HashSet<_> = groups.keys().map(|k| k.scope).collect();
    plan.scope_count = scopes.len() as u64;
    let (per, nobody) = readers.split(
        groups
            .iter()
            .filter_map(|(k, rows)| rows.first().map(|(_, t)| (*k, *t))),
    );
    let requests_before = readers.requests();
    let mut read: HashSet<ListKey> = HashSet::new();
    let mut destructive: HashSet<String> = HashSet::new();
    for (ctx, keys) in readers.ctxs.iter().zip(per) {
        if keys.is_empty() || !ctx.prepare().await {
            continue;
        }
        read_lists(ctx, keys, &mut |key, listed| {
            read.insert(key);
            let lined = groups.get(&key).map(Vec::as_slice).unwrap_or_default();
            let rows: Vec<Target> = lined.iter().map(|(_, t)| *t).collect();
            if let Listed::Complete { public_keys, .. } = &listed {
                use crate::input::Kind::{GlobalApiKey, OrgApiKey, ProjectApiKey};
                for t in rows
                    .iter()
                    .filter(|t| matches!(t.kind, OrgApiKey | ProjectApiKey | GlobalApiKey))
                {
                    if let Some(p) = public_keys.get(&t.key) {
                        plan.public_keys.insert(t.identity(), p.clone());
                    }
                }
            }
            let (answer, fates) = decide(listed, &rows);
            for ((line, t), f) in lined.iter().zip(&fates) {
                if *f == Fate::Gone {
                    plan.gone.insert(t.identity());
                }
                plan.lines.push((*line, t.to_string(), *f));
            }
            let scope = plan.decided(describe(ctx, &key), &key, answer, fates);
            if scope.fates.contains_key(&Fate::Revoke) && key.kind.is_destructive() {
                destructive.insert(key.kind.to_string());
            }
        })
        .await;
    }
    for (key, why) in nobody {
        read.insert(key);
        let lined = groups.get(&key).map(Vec::as_slice).unwrap_or_default();
        for (line, t) in lined {
            plan.lines.push((*line, t.to_string(), Fate::Cannot));
        }
        let rows = lined.len();
        let list = describe(&readers.ctxs[0], &key);
        plan.decided(
            list,
            &key,
            format!("cannot: {why}"),
            vec![Fate::Cannot; rows],
        );
        if let Some(scope) = plan.scopes.last_mut() {
            scope.unsendable = rows as u64;
        }
    }
    for (i, ctx) in readers.ctxs.iter().enumerate() {
        let mine = |t: &Target| (readers.route)(t) == Ok(i);
        unread(ctx, &mut plan, &groups, &read, &mine);
    }
    merge_scopes(&mut plan.scopes);
    plan.destructive_kinds = destructive.into_iter().collect();
    plan.destructive_kinds.sort();
    plan.list_requests = readers.requests().saturating_sub(requests_before);
    plan.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(plan)
}

impl Plan {
    /// Records what one list decided for its rows; answers the scope's entry.
    fn decided(
        &mut self,
        list: String,
        key: &ListKey,
        answer: String,
        fates: Vec<Fate>,
    ) -> &ScopePlan {
        self.listed.push(ListedRecord {
            list: list.clone(),
            at: crate::report::timestamp(),
            answer: answer.clone(),
            rows: fates.len() as u64,
        });
        let mut scope = scope_plan(key, list, answer);
        for fate in fates {
            self.note(fate, None);
            *scope.fates.entry(fate).or_default() += 1;
        }
        self.scopes.push(scope);
        &self.scopes[self.scopes.len() - 1]
    }
}

/// Rows whose lists were never read (the plan stopped first): nothing is known of them.
fn unread(
    ctx: &Context,
    plan: &mut Plan,
    groups: &Groups,
    read: &HashSet<ListKey>,
    mine: &dyn Fn(&Target) -> bool,
) {
    let reason = ctx
        .stop()
        .reason()
        .map_or_else(|| "the plan stopped".to_string(), |r| r.to_string());
    for (key, rows) in groups {
        if rows.is_empty() || read.contains(key) || !mine(&rows[0].1) {
            continue;
        }
        for (line, t) in rows {
            plan.lines.push((*line, t.to_string(), Fate::Cannot));
        }
        let mut scope = scope_plan(key, describe(ctx, key), format!("not read: {reason}"));
        scope.fates.insert(Fate::Cannot, rows.len() as u64);
        *plan.fates.entry(Fate::Cannot).or_default() += rows.len() as u64;
        plan.scopes.push(scope);
    }
}

/// One entry per scope and kind (a secret's lists are one per service account), in order.
fn merge_scopes(scopes: &mut Vec<ScopePlan>) {
    let mut merged: BTreeMap<(String, String, String), ScopePlan> = BTreeMap::new();
    for s in scopes.drain(..) {
        let key = (s.scope_kind.to_string(), s.scope.clone(), s.kind.clone());
        match merged.get_mut(&key) {
            None => {
                merged.insert(key, s);
            }
            Some(into) => {
                if into.list.is_empty() {
                    into.list = s.list.clone();
                }
                if !s.answer.is_empty() && s.answer != into.answer {
                    into.answer = [into.answer.as_str(), s.answer.as_str()]
                        .iter()
                        .filter(|a| !a.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join("; ");
                }
                for (fate, n) in s.fates {
                    *into.fates.entry(fate).or_default() += n;
                }
                into.unsendable += s.unsendable;
            }
        }
    }
    *scopes = merged.into_values().collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Kind, ObjectId};

    fn target(key: u8) -> Target {
        Target {
            kind: Kind::ProjectApiKey,
            scope: ObjectId::from_bytes([1; 12]),
            key: ObjectId::from_bytes([key; 12]),
            secret: None,
        }
    }

    #[test]
    fn a_complete_listing_decides_each_row_and_anything_else_decides_none() {
        let ids: HashSet<crate::api::ListedId> = [(ObjectId::from_bytes([2; 12]), None)]
            .into_iter()
            .collect();
        let rows = [target(2), target(3)];
        let (answer, fates) = decide(
            Listed::Complete {
                ids,
                pages: 1,
                items: 1,
                public_keys: HashMap::new(),
            },
            &rows,
        );
        assert_eq!(answer, "complete: 1 page, 1 listed");
        assert_eq!(fates, vec![Fate::Revoke, Fate::Gone]);
        let (answer, fates) = decide(Listed::Incomplete("page 2 repeats".into()), &rows);
        assert_eq!(answer, "proves nothing: page 2 repeats");
        assert_eq!(fates, vec![Fate::Unknown, Fate::Unknown]);
    }
}
