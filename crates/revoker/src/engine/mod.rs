//! The scheduler: reads the rows a second time (the first pass validated them, both read the same
//! private copy), spreads them over projects and organizations so that one scope's limit does not
//! hold up the others, keeps to the paces of [`pace`] and the concurrency bound, retries transient
//! failures ([`attempt`]), stops on fatal answers, outages or a signal ([`breaker`], [`stop`]), and
//! sends every outcome to the report. [`Context`] is what a revocation run and a verification share.

mod attempt;
mod breaker;
mod cap;
mod copies;
mod limiter;
mod model_key;
mod other_api;
mod pace;
pub mod read;
mod row;
mod secret;
mod stop;

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};

pub use crate::vocab::Rate;
pub(crate) use attempt::{Dispatch, Purpose, go_ahead, wait_global_pause, wait_pass, with_retries};
pub use breaker::{Outage, Pass, Refusals};
pub use cap::SendCap;
pub use pace::{Known, Pacer, Starts};
pub use stop::{StopFlag, StopReason};

use crate::api::Client;
use crate::figures::Figures;
use crate::guard::{Guard, Verdict};
use crate::input::{Identity, InputError, InputOptions, ObjectId, RawRow, Source, Survey, Target};
use crate::report::{ReportError, ReportSink, SentJournal};

/// How a run sends.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Global rate; `None` is as fast as the server answers (a 429 then sets one).
    pub rate: Option<Rate>,
    /// Rate per project or organization.
    pub scope_rate: Option<Rate>,
    /// Attempts per row, the first included.
    pub max_attempts: u32,
    /// First backoff delay; each later one doubles, up to `backoff_max`, with full jitter.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// How long an outage (only server failures, back to back) is waited out before the run stops.
    pub patience: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: crate::vocab::defaults::CONCURRENCY,
            rate: None,
            scope_rate: None,
            max_attempts: crate::vocab::defaults::MAX_ATTEMPTS,
            backoff_min: crate::vocab::defaults::BACKOFF_MIN,
            backoff_max: crate::vocab::defaults::BACKOFF_MAX,
            patience: Duration::from_secs(300),
        }
    }
}

/// Errors that end a run before or while it sends.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// What a revocation run and a verification share: the client, the paces, the breakers, the stop.
pub struct Context {
    pub(crate) client: Arc<Client>,
    pub(crate) config: EngineConfig,
    pub(crate) pacer: Pacer,
    pub(crate) outage: Outage,
    pub(crate) refusals: Refusals,
    /// Scopes that answered as the other API's (a wrong API when every one does).
    pub(crate) other_api: other_api::OtherApi,
    pub(crate) stop: StopFlag,
    pub(crate) figures: Arc<Figures>,
    /// Requests on the wire.
    pub(crate) in_flight: Arc<Semaphore>,
}

impl Context {
    /// `scopes` is how many projects and organizations the work spans (for the refusal breaker).
    pub fn new(client: Arc<Client>, config: EngineConfig, stop: StopFlag, scopes: u64) -> Context {
        let concurrency = config.concurrency.max(1);
        Context {
            figures: client.figures().clone(),
            pacer: Pacer::new(config.rate, config.scope_rate),
            outage: Outage::new(
                (concurrency as u32 / 2).max(4),
                config.backoff_min,
                config.backoff_max.min(Duration::from_secs(5)),
                config.patience,
            ),
            refusals: Refusals::new(scopes),
            other_api: other_api::OtherApi::new(scopes),
            in_flight: Arc::new(Semaphore::new(concurrency)),
            client,
            config,
            stop,
        }
    }

    pub fn stop(&self) -> &StopFlag {
        &self.stop
    }

    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// Gets the client ready (a service account's token); a refusal stops the run.
    pub async fn prepare(&self) -> bool {
        match self.client.prepare().await {
            Ok(()) => true,
            Err(answer) => {
                if answer.fatal().is_some() {
                    self.watch(
                        ObjectId::from_bytes([0; 12]),
                        &answer,
                        Pass::Normal,
                        Purpose::Read,
                    );
                } else {
                    self.stop.request(StopReason::NoAnswer(format!(
                        "no access token from {}: {}",
                        self.client.host(),
                        answer.detail()
                    )));
                }
                false
            }
        }
    }
}

/// One row waiting to be sent.
pub(crate) struct Pending {
    line: u64,
    target: Target,
}

/// What the reader thread hands to the scheduler, in file order.
enum Work {
    Send(Pending),
    Invalid {
        line: u64,
        raw: RawRow,
        reason: String,
    },
    Copy {
        line: u64,
        target: Target,
        first: copies::Settled,
    },
    /// A valid row refused before sending (the run's own credential, a contradicted identity):
    /// reported `invalid`, naming the credential, never sent.
    Refused {
        line: u64,
        target: Target,
        reason: String,
    },
    /// No credential of the run can send it: reported `rejected`, never sent.
    Nobody {
        line: u64,
        target: Target,
        why: String,
    },
}

/// Where a row goes in a run with a credential per organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routed {
    /// This engine's credential sends it.
    Mine,
    /// Another credential's engine sends it.
    Other,
    /// No credential of the run can: recorded `rejected` with why, never sent.
    Nobody(String),
}

/// Routes a row (and a project row's organization from the input's `org` column).
pub type Router = Arc<dyn Fn(&Target, Option<ObjectId>) -> Routed + Send + Sync>;

/// One credential's part of a run with several.
#[derive(Clone)]
pub struct Lane {
    pub route: Router,
    /// This engine reports the rows no engine sends: invalid rows, and rows nobody can send.
    pub primary: bool,
    /// Added to each row's message: the credential that acted on it (its public identity).
    pub note: String,
}

/// Everything a revocation run needs, prepared by the caller.
pub struct Run {
    pub run_id: String,
    pub source: Arc<Source>,
    pub input: InputOptions,
    pub survey: Survey,
    /// Rows an earlier run finished: not sent again.
    pub finished: HashSet<Identity>,
    /// Rows an earlier run sent without a definite answer: not found now means that run revoked them.
    pub unsettled: HashMap<Identity, Target>,
    pub sink: ReportSink,
    pub journal: Option<SentJournal>,
    /// Exemptions and the run's own credentials: what may be sent, decided as the plan decides.
    pub guard: Arc<Guard>,
    /// With a credential per organization: this engine's part; `None` sends every row.
    pub lane: Option<Lane>,
    /// `max_revocations` held as rows are sent, shared by every engine of the run.
    pub cap: Option<Arc<SendCap>>,
    /// Rows the run's plan showed gone: once the cap is spent they are recorded by that evidence
    /// rather than sent.
    pub plan_gone: Arc<HashSet<Identity>>,
    /// API keys' public keys as the plan's lists showed them: recorded in their rows.
    pub public_keys: Arc<HashMap<Identity, String>>,
}

/// The outcome of [`execute`].
pub struct RunResult {
    pub stopped: Option<StopReason>,
    /// Rows sent without a definite answer, this run or before: what the journal must keep.
    pub unsettled: Vec<Target>,
    /// Refused and failed rows, one line per scope and reason.
    pub groups: Vec<crate::report::groups::Group>,
    pub elapsed: Duration,
    /// Rows naming the run's own credential that were sent last (allowed by name).
    pub own_rows: u64,
    /// With a credential per organization: each credential that stopped while the others went
    /// on, and why (its rows not yet sent were not attempted).
    pub lanes_stopped: Vec<String>,
}

impl RunResult {
    /// The results of two engines of one run (two credentials' lanes) as one.
    pub fn merge(mut self, other: RunResult) -> RunResult {
        self.stopped = self.stopped.or(other.stopped);
        self.unsettled.extend(other.unsettled);
        self.groups.extend(other.groups);
        self.groups.sort_by_key(|g| std::cmp::Reverse(g.count));
        self.elapsed = self.elapsed.max(other.elapsed);
        self.own_rows += other.own_rows;
        self.lanes_stopped.extend(other.lanes_stopped);
        self
    }
}

/// What every row task of a revocation run shares.
struct Shared {
    ctx: Arc<Context>,
    run_id: String,
    sink: ReportSink,
    journal: Option<SentJournal>,
    copies: copies::Copies,
    unsettled: Mutex<HashMap<Identity, Target>>,
    groups: crate::report::groups::Groups,
    guard: Arc<Guard>,
    /// Identities whose rows contradict each other: each row `invalid`, with why.
    conflicts: Arc<HashMap<Identity, String>>,
    lane: Option<Lane>,
    cap: Option<Arc<SendCap>>,
    plan_gone: Arc<HashSet<Identity>>,
    public_keys: Arc<HashMap<Identity, String>>,
    /// A project's secrets after their account's unassignment: what the organization path needs.
    secrets: secret::ProjectSecrets,
}

/// Rows a run holds back, in the order they go once every other row has finished.
#[derive(Default)]
struct Held {
    /// Unassignments of a project's service account whose secrets in that project the run deletes.
    unassignments: Vec<Pending>,
    /// The run's own credential, last of all.
    own: Vec<Pending>,
}

/// Rows in progress per in-flight slot: the others wait out their backoff without holding a slot.
const ROWS_PER_SLOT: usize = 8;

/// Rows read ahead of the senders, so rows of other scopes can go while one scope waits.
const LOOKAHEAD: usize = 10_000;

/// Runs a prepared job to its end (or its stop).
pub async fn execute(ctx: Arc<Context>, run: Run) -> Result<RunResult, EngineError> {
    let started = Instant::now();
    ctx.figures
        .total
        .store(run.survey.to_send, std::sync::atomic::Ordering::Relaxed);
    let shared = Arc::new(Shared {
        ctx: ctx.clone(),
        run_id: run.run_id.clone(),
        sink: run.sink,
        journal: run.journal,
        copies: copies::Copies::new(run.survey.repeated),
        unsettled: Mutex::new(run.unsettled),
        groups: crate::report::groups::Groups::default(),
        guard: run.guard,
        conflicts: run.survey.conflicts.clone(),
        lane: run.lane,
        cap: run.cap,
        plan_gone: run.plan_gone,
        public_keys: run.public_keys,
        secrets: secret::ProjectSecrets::new(
            run.survey.project_secret_accounts.clone(),
            run.input
                .allowed_kinds
                .contains(&crate::input::Kind::ServiceAccountSecret),
        ),
    });

    let (tx, rx) = mpsc::channel::<Work>(4096);
    let reader = spawn_reader(
        run.source.clone(),
        run.input.clone(),
        run.finished,
        shared.clone(),
        run.survey.start_at,
        tx,
    );
    let prepared = ctx.prepare().await;
    if prepared {
        schedule(shared.clone(), rx).await;
    } else {
        drop(rx);
    }
    let held = reader.await.unwrap_or_else(|e| {
        Err(InputError::Io {
            file: run.source.name().into(),
            cause: std::io::Error::other(e.to_string()),
        })
    })?;
    // Unassignments after their account's secrets in the project; the run's own credential last,
    // once every other row has finished.
    let own_rows = held.own.len() as u64;
    for rows in [held.unassignments, held.own] {
        if prepared && !rows.is_empty() && !ctx.stop.is_set() {
            let (tx, rx) = mpsc::channel::<Work>(rows.len());
            for row in rows {
                let _ = tx.try_send(Work::Send(row));
            }
            drop(tx);
            schedule(shared.clone(), rx).await;
        }
    }
    // The token is the job's to revoke: a verification after the run still uses it.
    let unsettled = shared
        .unsettled
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .copied()
        .collect();
    Ok(RunResult {
        stopped: ctx.stop.reason(),
        unsettled,
        groups: shared.groups.sorted(),
        elapsed: started.elapsed(),
        own_rows,
        lanes_stopped: Vec::new(),
    })
}

/// The second pass over the input, on a thread of its own since file reading blocks. It stops
/// reading as soon as the run stops: rows not read are not attempted, and not reported.
fn spawn_reader(
    source: Arc<Source>,
    input: InputOptions,
    finished: HashSet<Identity>,
    shared: Arc<Shared>,
    start_at: Option<(u64, u64)>,
    tx: mpsc::Sender<Work>,
) -> tokio::task::JoinHandle<Result<Held, InputError>> {
    tokio::task::spawn_blocking(move || {
        let mut deferred = Held::default();
        source.scan_from(&input, start_at, &mut |entry| {
            if shared.ctx.stop.is_set() {
                return ControlFlow::Break(());
            }
            let Some(work) = work_of(&shared, &finished, entry, &mut deferred) else {
                return ControlFlow::Continue(());
            };
            if tx.blocking_send(work).is_err() {
                // The scheduler is gone: it has stopped for good.
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })?;
        Ok(deferred)
    })
}

/// What becomes of one row of the second pass: work for the scheduler, or nothing now (finished
/// before, another lane's, a later copy, or held in `deferred`: an unassignment after its
/// account's secrets, the run's own credential for last).
fn work_of(
    shared: &Shared,
    finished: &HashSet<Identity>,
    entry: crate::input::Entry,
    deferred: &mut Held,
) -> Option<Work> {
    let primary = shared.lane.as_ref().is_none_or(|l| l.primary);
    let (line, target) = match entry.target {
        Err(_) if !primary => return None,
        Err(reason) => {
            return Some(Work::Invalid {
                line: entry.line,
                raw: entry.raw,
                reason,
            });
        }
        Ok(target) => (entry.line, target),
    };
    let id = target.identity();
    if finished.contains(&id) {
        return None;
    }
    if let Some(reason) = shared.conflicts.get(&id) {
        return primary.then(|| Work::Refused {
            line,
            target,
            reason: reason.clone(),
        });
    }
    let verdict = shared.guard.decide_at(&target, entry.org);
    if let Verdict::Exempt(_) | Verdict::Held(..) = verdict {
        // Written before the first DELETE (`job::exempt_rows`): a stop never leaves one unwritten.
        return None;
    }
    match shared.lane.as_ref().map(|l| (l.route)(&target, entry.org)) {
        None | Some(Routed::Mine) => {}
        Some(Routed::Other) => return None,
        Some(Routed::Nobody(_)) if !primary => return None,
        Some(Routed::Nobody(why)) => return Some(Work::Nobody { line, target, why }),
    }
    match verdict {
        Verdict::Send | Verdict::Exempt(_) | Verdict::Held(..) => {}
        Verdict::Own(reason) | Verdict::Protected(reason) => {
            return Some(Work::Refused {
                line,
                target,
                reason,
            });
        }
        Verdict::OwnLast => {
            if matches!(
                shared.copies.seen(id, line),
                copies::Seen::Unique | copies::Seen::First
            ) {
                deferred.own.push(Pending { line, target });
            }
            return None;
        }
    }
    if shared.secrets.unassigns_later(&target) {
        if matches!(
            shared.copies.seen(id, line),
            copies::Seen::Unique | copies::Seen::First
        ) {
            deferred.unassignments.push(Pending { line, target });
        }
        return None;
    }
    match shared.copies.seen(id, line) {
        copies::Seen::Unique | copies::Seen::First => Some(Work::Send(Pending { line, target })),
        copies::Seen::CopyNow(first) => Some(Work::Copy {
            line,
            target,
            first,
        }),
        copies::Seen::CopyLater => None,
    }
}

/// Rows queued per scope, taken round-robin.
struct Queues {
    by_scope: HashMap<ObjectId, VecDeque<Pending>>,
    ring: VecDeque<ObjectId>,
    len: usize,
}

impl Queues {
    fn new() -> Queues {
        Queues {
            by_scope: HashMap::new(),
            ring: VecDeque::new(),
            len: 0,
        }
    }

    /// Queues `row`; answers whether its scope had nothing queued (it joins the ring).
    fn push(&mut self, row: Pending) -> bool {
        let scope = row.target.scope;
        let queue = self.by_scope.entry(scope).or_default();
        let new = queue.is_empty();
        if new {
            self.ring.push_back(scope);
        }
        queue.push_back(row);
        self.len += 1;
        new
    }

    /// The next row whose scope may go now (its request counted as sent), or when to look again.
    fn take(&mut self, pacer: &Pacer) -> Result<Pending, Instant> {
        let mut wake = Instant::now() + Duration::from_millis(50);
        for _ in 0..self.ring.len() {
            let Some(scope) = self.ring.pop_front() else {
                break;
            };
            if let Err(at) = pacer.try_scope(scope) {
                wake = wake.min(at);
                self.ring.push_back(scope);
                continue;
            }
            let mut queue = self.by_scope.get_mut(&scope);
            let row = queue.as_deref_mut().and_then(VecDeque::pop_front);
            match (row, queue) {
                (Some(row), Some(queue)) => {
                    if queue.is_empty() {
                        self.by_scope.remove(&scope);
                    } else {
                        self.ring.push_back(scope);
                    }
                    self.len -= 1;
                    return Ok(row);
                }
                _ => {
                    pacer.cancel(scope);
                    self.by_scope.remove(&scope);
                }
            }
        }
        Err(wake)
    }
}

/// Reads ahead whatever input is ready into the queues; waits for input only when nothing is
/// queued. Sets `input_done` when the reader has finished.
async fn read_ahead(
    shared: &Shared,
    rx: &mut mpsc::Receiver<Work>,
    queues: &mut Queues,
    input_done: &mut bool,
) {
    let ctx = &shared.ctx;
    while !*input_done && queues.len < LOOKAHEAD {
        let work = if queues.len == 0 {
            tokio::select! {
                work = rx.recv() => work,
                () = ctx.stop.wait() => return,
            }
        } else {
            match rx.try_recv() {
                Ok(work) => Some(work),
                Err(mpsc::error::TryRecvError::Empty) => return,
                Err(mpsc::error::TryRecvError::Disconnected) => None,
            }
        };
        match work {
            None => *input_done = true,
            Some(Work::Send(row)) => {
                // Noted when the scope joins the ring, before it can be taken: not once a row.
                let (scope, kind) = (row.target.scope, row.target.kind.scope());
                if queues.push(row) {
                    ctx.pacer.note(scope, kind);
                }
            }
            Some(Work::Invalid { line, raw, reason }) => shared.invalid(line, raw, reason),
            Some(Work::Copy {
                line,
                target,
                first,
            }) => shared.report(first.copy(shared.record(line, &target), line)),
            Some(Work::Refused {
                line,
                target,
                reason,
            }) => shared.report(crate::report::Record {
                outcome: crate::report::Outcome::Invalid,
                message: reason,
                ..shared.record(line, &target)
            }),
            Some(Work::Nobody { line, target, why }) => {
                let record = crate::report::Record {
                    outcome: crate::report::Outcome::Rejected,
                    message: why,
                    ..shared.record(line, &target)
                };
                shared
                    .groups
                    .add(&record, &[crate::report::Outcome::Rejected]);
                // No credential acted on it: the message says why none could, and names none.
                shared.write(record);
            }
        }
    }
}

/// A first row that got no answer at all stops the run: a server that is not there is found by one
/// row's attempts, whatever the row count.
fn no_answer_stops(ctx: &Context, first: Option<crate::report::Record>) {
    if Figures::get(&ctx.figures.responses) == 0
        && let Some(first) = first
    {
        ctx.stop.request(StopReason::NoAnswer(format!(
            "no answer from {}: the first row's {} got none ({}); is the server up and the base URL right?",
            ctx.client.host(),
            if first.attempts == 1 {
                "attempt".to_string()
            } else {
                format!("{} attempts", first.attempts)
            },
            first.message
        )));
    }
}

/// What the scheduler does with a row slot it holds.
enum Next {
    /// A row whose scope may go now, with its pass and its place on the wire.
    Go(Pending, Dispatch),
    /// No scope may go before this instant.
    Later(Instant),
    Stop,
}

/// Waits for the breaker's pass, a place on the wire, the global pause and pace, and a row whose
/// scope may go; whatever was taken is given back when the run stops or no row may go yet.
async fn next_dispatch(ctx: &Context, queues: &mut Queues) -> Next {
    let Some(pass) = wait_pass(ctx).await else {
        return Next::Stop;
    };
    let permit = tokio::select! {
        biased;
        () = ctx.stop.wait() => None,
        permit = ctx.in_flight.clone().acquire_owned() => permit.ok(),
    };
    let Some(permit) = permit else {
        ctx.outage.release(pass);
        return Next::Stop;
    };
    if !wait_global_pause(ctx).await {
        ctx.outage.release(pass);
        return Next::Stop;
    }
    let row = match queues.take(&ctx.pacer) {
        Ok(row) => row,
        Err(wake) => {
            ctx.outage.release(pass);
            drop(permit);
            return Next::Later(wake);
        }
    };
    tokio::select! {
        () = ctx.pacer.global_slot() => Next::Go(row, Dispatch { permit, pass }),
        () = ctx.stop.wait() => {
            ctx.pacer.cancel(row.target.scope);
            ctx.outage.release(pass);
            Next::Stop
        }
    }
}

async fn schedule(shared: Arc<Shared>, mut rx: mpsc::Receiver<Work>) {
    let ctx = shared.ctx.clone();
    // Rows in progress, backing off included; requests on the wire are bounded by `in_flight`.
    let rows = Arc::new(Semaphore::new(
        ctx.config.concurrency.max(1) * ROWS_PER_SLOT,
    ));
    let mut queues = Queues::new();
    let mut input_done = false;
    // The first row goes alone, so the digest nonce is learned once rather than by every worker,
    // rejected credentials cost two requests rather than two per worker, and a server that does not
    // answer at all is found by one row's attempts, whatever the row count.
    let mut primed = false;
    let mut tasks = tokio::task::JoinSet::new();

    while !ctx.stop.is_set() {
        read_ahead(&shared, &mut rx, &mut queues, &mut input_done).await;
        if queues.len == 0 {
            if input_done {
                break;
            }
            continue;
        }
        let Some(row_slot) = (tokio::select! {
            permit = rows.clone().acquire_owned() => permit.ok(),
            () = ctx.stop.wait() => None,
        }) else {
            break;
        };
        let (row, dispatch) = match next_dispatch(&ctx, &mut queues).await {
            Next::Go(row, dispatch) => (row, dispatch),
            Next::Later(wake) => {
                drop(row_slot);
                ctx.stop.sleep_until(wake).await;
                continue;
            }
            Next::Stop => break,
        };
        let task_shared = shared.clone();
        if primed {
            tasks.spawn(async move {
                row::process(&task_shared, row, dispatch).await;
                drop(row_slot);
            });
        } else {
            let first = row::process(&task_shared, row, dispatch).await;
            drop(row_slot);
            primed = true;
            no_answer_stops(&ctx, first);
        }
        // Reap finished tasks so the set does not grow with the input.
        while tasks.try_join_next().is_some() {}
    }
    // Done or stopped: in-flight rows finish; rows not started are not attempted, and not reported.
    drop(rx);
    while tasks.join_next().await.is_some() {}
}

impl Shared {
    /// Writes the row of a credential's act, naming the credential when the run has several.
    fn report(&self, mut record: crate::report::Record) {
        if let Some(lane) = &self.lane
            && !lane.note.is_empty()
            && !record.kind.is_empty()
            && !matches!(
                record.outcome,
                crate::report::Outcome::Invalid | crate::report::Outcome::Exempt
            )
        {
            record.message = if record.message.is_empty() {
                format!("by {}", lane.note)
            } else {
                format!("{} (by {})", record.message, lane.note)
            };
        }
        self.write(record);
    }

    /// Writes a row as it is.
    fn write(&self, record: crate::report::Record) {
        let outcome = record.outcome;
        if !self.sink.send(record) {
            // The writer stopped on an I/O error; its join handle reports it. Sending on would
            // revoke keys whose outcome cannot be recorded.
            self.ctx.stop.request(StopReason::ReportFailed);
        }
        self.ctx.figures.add_outcome(outcome);
    }

    /// A report row for `target` on `line`, outcome to be filled in.
    fn record(&self, line: u64, target: &Target) -> crate::report::Record {
        let mut record = crate::report::Record::new(
            &self.run_id,
            line,
            crate::report::Outcome::Skipped,
            String::new(),
        )
        .naming(target);
        if let Some(p) = self.public_keys.get(&target.identity()) {
            record.public_key = p.clone();
        }
        record
    }

    fn invalid(&self, line: u64, raw: RawRow, reason: String) {
        self.report(
            crate::report::Record::new(&self.run_id, line, crate::report::Outcome::Invalid, reason)
                .of_raw(raw),
        );
    }
}
