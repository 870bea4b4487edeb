//! The scheduler: reads the rows a second time (the first pass validated them), spreads them over
//! projects so that one slow project limit does not hold up the others, keeps to the global and
//! per-project rates and the concurrency bound, retries transient failures with backoff, pauses
//! everyone on a 429, stops on rejected credentials or a signal, and sends every outcome to the report.

mod rate;
mod row;
mod stop;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::DefaultKeyedRateLimiter;
use tokio::sync::{Semaphore, mpsc};

pub use rate::{Rate, Throttle};
pub use stop::{StopFlag, StopReason};

use crate::api::{self, Counters};
use crate::input::{Dedupe, Identity, InputError, InputOptions, RawRow, Source, Survey, Target};
use crate::report::{Outcome, Record, ReportError, ReportSink, Summary};

/// How a run sends.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Global rate; `None` is as fast as the server answers (a 429 then sets one).
    pub rate: Option<Rate>,
    /// Rate per project.
    pub project_rate: Option<Rate>,
    /// Attempts per row, the first included.
    pub max_attempts: u32,
    /// First backoff delay; each later one doubles, up to `backoff_max`, with full jitter.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: 16,
            rate: None,
            project_rate: None,
            max_attempts: 5,
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// Live figures of a run, read by the progress display.
#[derive(Debug, Default)]
pub struct Progress {
    /// Rows this run will report on.
    pub total: AtomicU64,
    /// Rows reported so far, per outcome in the order of [`Outcome::ALL`].
    pub outcomes: [AtomicU64; 6],
    pub retries: AtomicU64,
}

impl Progress {
    pub fn finished(&self) -> u64 {
        self.outcomes
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    pub fn count(&self, outcome: Outcome) -> u64 {
        self.outcomes[outcome.index()].load(Ordering::Relaxed)
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

/// One row waiting to be sent.
struct Pending {
    line: u64,
    target: Target,
    /// The row occurs again later in the input; its copies take its outcome.
    repeated: bool,
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
    },
}

/// Everything a run needs, prepared by the caller.
pub struct Run {
    pub run_id: String,
    pub source: Arc<Source>,
    pub input: InputOptions,
    pub survey: Survey,
    /// Rows an earlier run finished: not sent again.
    pub finished: HashSet<Identity>,
    /// Rows an earlier run sent without a definite answer: a 404 now means that run revoked them.
    pub unsettled: HashSet<Identity>,
    pub config: EngineConfig,
    pub client: Arc<api::Client>,
    pub sink: ReportSink,
    pub journal: Option<crate::report::SentJournal>,
}

/// The outcome of [`execute`].
pub struct RunResult {
    pub summary: Summary,
    pub stopped: Option<StopReason>,
}

/// Where the duplicates of a repeated row wait for its outcome.
enum CopySlot {
    Waiting(Vec<u64>),
    Settled(Record),
}

/// What every row task shares.
struct Shared {
    run_id: String,
    config: EngineConfig,
    client: Arc<api::Client>,
    sink: ReportSink,
    journal: Option<crate::report::SentJournal>,
    throttle: Throttle,
    project_limiter: Option<DefaultKeyedRateLimiter<[u8; 12]>>,
    unsettled: HashSet<Identity>,
    copies: Mutex<HashMap<Identity, CopySlot>>,
    progress: Arc<Progress>,
    stop: StopFlag,
    forbidden: Mutex<ForbiddenProjects>,
    /// A copy of `forbidden.any_success`, read without the lock on every answer.
    any_success: std::sync::atomic::AtomicBool,
    projects: u64,
    /// Requests on the wire.
    in_flight: Arc<Semaphore>,
}

/// The circuit breaker for a key that has no access anywhere: 403 on every project tried, and not
/// one success.
#[derive(Default)]
struct ForbiddenProjects {
    projects: HashSet<[u8; 12]>,
    any_success: bool,
}

/// Projects that must answer 403 (with no success anywhere) before the run stops as "credentials
/// rejected"; fewer when the input has fewer projects.
const FORBIDDEN_PROJECTS_TO_STOP: u64 = 3;

/// Rows in progress per in-flight slot: the others wait out their backoff without holding a slot.
const ROWS_PER_SLOT: usize = 8;

/// Rows read ahead of the senders, so rows of other projects can go while one project waits.
const LOOKAHEAD: usize = 10_000;

impl Shared {
    fn report(&self, record: Record) {
        let outcome = record.outcome;
        if !self.sink.send(record) {
            // The writer stopped on an I/O error; its join handle reports it. Sending on would
            // revoke keys whose outcome cannot be recorded.
            self.stop.request(StopReason::ReportFailed);
        }
        self.progress.outcomes[outcome.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Reports a row's outcome, and the same outcome for its later copies.
    fn settle(&self, record: Record, target: &Target, repeated: bool) {
        if repeated {
            let mut copies = self.copies.lock().unwrap_or_else(|p| p.into_inner());
            let waiting = match copies.insert(target.identity(), CopySlot::Settled(record.clone()))
            {
                Some(CopySlot::Waiting(lines)) => lines,
                _ => Vec::new(),
            };
            drop(copies);
            for line in waiting {
                self.report(copy_of(&record, line));
            }
        }
        self.report(record);
    }

    /// A later copy of a row: it takes the first's outcome, now or when that is known.
    fn copy(&self, line: u64, target: &Target) {
        let mut copies = self.copies.lock().unwrap_or_else(|p| p.into_inner());
        match copies
            .entry(target.identity())
            .or_insert_with(|| CopySlot::Waiting(Vec::new()))
        {
            CopySlot::Waiting(lines) => lines.push(line),
            CopySlot::Settled(first) => {
                let record = copy_of(first, line);
                drop(copies);
                self.report(record);
            }
        }
    }

    /// A row that is not sent in any case: a bad row, or a later copy; or, once the run has
    /// stopped, a row not started.
    fn handle_unsent(&self, work: Work) {
        match work {
            Work::Send(row) => self.settle(
                self.skipped(row.line, &row.target),
                &row.target,
                row.repeated,
            ),
            Work::Copy { line, target } => self.copy(line, &target),
            Work::Invalid { line, raw, reason } => {
                let mut record =
                    self.record(line, raw.kind, raw.project, raw.key, Outcome::Invalid);
                record.message = reason;
                self.report(record);
            }
        }
    }

    fn record(
        &self,
        line: u64,
        kind: String,
        project: String,
        key: String,
        outcome: Outcome,
    ) -> Record {
        Record {
            run_id: self.run_id.clone(),
            finished_at: crate::report::timestamp(),
            line,
            kind,
            project,
            key,
            outcome,
            http_status: None,
            error_code: String::new(),
            attempts: 0,
            duration_ms: 0,
            message: String::new(),
        }
    }

    pub(crate) fn target_record(&self, line: u64, target: &Target, outcome: Outcome) -> Record {
        self.record(
            line,
            target.kind.to_string(),
            target.project.to_string(),
            target.key.to_string(),
            outcome,
        )
    }

    fn skipped(&self, line: u64, target: &Target) -> Record {
        let mut record = self.target_record(line, target, Outcome::Skipped);
        record.message = format!(
            "not attempted: {}",
            self.stop
                .reason()
                .map_or("run stopped".into(), |r| r.to_string())
        );
        record
    }
}

fn copy_of(first: &Record, line: u64) -> Record {
    let mut record = first.clone();
    record.line = line;
    record.attempts = 0;
    record.duration_ms = 0;
    record.message = if first.message.is_empty() {
        format!("duplicate of line {}: sent once", first.line)
    } else {
        format!(
            "duplicate of line {}: sent once; {}",
            first.line, first.message
        )
    };
    record
}

/// Runs a prepared job to its end (or its stop) and answers its summary.
pub async fn execute(
    run: Run,
    progress: Arc<Progress>,
    stop: StopFlag,
) -> Result<RunResult, EngineError> {
    let started = Instant::now();
    let survey_total = run.survey.rows - run.survey.already_finished;
    progress.total.store(survey_total, Ordering::Relaxed);
    let shared = Arc::new(Shared {
        run_id: run.run_id.clone(),
        throttle: Throttle::new(run.config.rate),
        project_limiter: run.config.project_rate.map(|r| r.keyed_limiter()),
        config: run.config.clone(),
        client: run.client.clone(),
        sink: run.sink.clone(),
        journal: run.journal,
        unsettled: run.unsettled,
        copies: Mutex::new(HashMap::new()),
        progress: progress.clone(),
        stop: stop.clone(),
        forbidden: Mutex::new(ForbiddenProjects::default()),
        any_success: Default::default(),
        projects: run.survey.projects,
        in_flight: Arc::new(Semaphore::new(run.config.concurrency.max(1))),
    });
    drop(run.sink);

    let (tx, rx) = mpsc::channel::<Work>(4096);
    let start_at = run.survey.start_at;
    let reader = spawn_reader(
        run.source.clone(),
        run.input.clone(),
        run.finished,
        run.survey.dedupe,
        start_at,
        tx,
    );
    schedule(shared.clone(), rx).await;
    let read_result = reader.await.unwrap_or_else(|e| {
        Err(InputError::Io {
            file: run.source.name().into(),
            source: std::io::Error::other(e.to_string()),
        })
    });

    let counters = &shared.client.counters;
    let mut summary = Summary {
        run_id: run.run_id,
        already_finished: run.survey.already_finished,
        requests: Some(Counters::get(&counters.requests)),
        retries: progress.retries.load(Ordering::Relaxed),
        throttled: Some(Counters::get(&counters.throttled)),
        elapsed_ms: started.elapsed().as_millis() as u64,
        ..Summary::default()
    };
    for outcome in Outcome::ALL {
        let n = progress.count(outcome);
        if n > 0 {
            summary.outcomes.insert(outcome, n);
        }
    }
    read_result?;
    Ok(RunResult {
        summary,
        stopped: stop.reason(),
    })
}

/// The second pass over the input, on a thread of its own since file reading blocks.
fn spawn_reader(
    source: Arc<Source>,
    input: InputOptions,
    finished: HashSet<Identity>,
    mut dedupe: Dedupe,
    start_at: Option<(u64, u64)>,
    tx: mpsc::Sender<Work>,
) -> tokio::task::JoinHandle<Result<(), InputError>> {
    tokio::task::spawn_blocking(move || {
        source.scan_from(&input, start_at, &mut |entry| {
            let work = match entry.target {
                Err(reason) => Work::Invalid {
                    line: entry.line,
                    raw: entry.raw,
                    reason,
                },
                Ok(target) => {
                    let id = target.identity();
                    if finished.contains(&id) {
                        return std::ops::ControlFlow::Continue(());
                    }
                    match dedupe.earlier_copy(&id, entry.line) {
                        Some(_) => Work::Copy {
                            line: entry.line,
                            target,
                        },
                        None => Work::Send(Pending {
                            line: entry.line,
                            target,
                            repeated: dedupe.is_repeated(&id),
                        }),
                    }
                }
            };
            if tx.blocking_send(work).is_err() {
                // The scheduler is gone: it has stopped for good.
                return std::ops::ControlFlow::Break(());
            }
            std::ops::ControlFlow::Continue(())
        })
    })
}

/// Rows queued per project, taken round-robin.
struct Queues {
    by_project: HashMap<[u8; 12], VecDeque<Pending>>,
    ring: VecDeque<[u8; 12]>,
    len: usize,
}

impl Queues {
    fn new() -> Queues {
        Queues {
            by_project: HashMap::new(),
            ring: VecDeque::new(),
            len: 0,
        }
    }

    fn push(&mut self, key: [u8; 12], row: Pending) {
        let queue = self.by_project.entry(key).or_default();
        if queue.is_empty() {
            self.ring.push_back(key);
        }
        queue.push_back(row);
        self.len += 1;
    }

    /// The next row whose project may go now, or how long until one may.
    fn take(
        &mut self,
        limiter: Option<&DefaultKeyedRateLimiter<[u8; 12]>>,
    ) -> Result<Pending, Duration> {
        let mut wait = Duration::from_millis(50);
        for _ in 0..self.ring.len() {
            let Some(key) = self.ring.pop_front() else {
                break;
            };
            let allowed = match limiter.map(|l| l.check_key(&key)) {
                None | Some(Ok(())) => true,
                Some(Err(not_until)) => {
                    wait = wait.min(not_until.wait_time_from(governor::clock::Clock::now(
                        &governor::clock::DefaultClock::default(),
                    )));
                    false
                }
            };
            if !allowed {
                self.ring.push_back(key);
                continue;
            }
            let mut queue = self.by_project.get_mut(&key);
            let row = queue.as_deref_mut().and_then(VecDeque::pop_front);
            match (row, queue) {
                (Some(row), Some(queue)) => {
                    if queue.is_empty() {
                        self.by_project.remove(&key);
                    } else {
                        self.ring.push_back(key);
                    }
                    self.len -= 1;
                    return Ok(row);
                }
                _ => {
                    self.by_project.remove(&key);
                }
            }
        }
        Err(wait)
    }

    fn drain(&mut self) -> Vec<Pending> {
        self.ring.clear();
        self.len = 0;
        self.by_project.drain().flat_map(|(_, q)| q).collect()
    }
}

async fn schedule(shared: Arc<Shared>, mut rx: mpsc::Receiver<Work>) {
    // Rows in progress, backing off included; requests on the wire are bounded by `in_flight`.
    let rows = Arc::new(Semaphore::new(
        shared.config.concurrency.max(1) * ROWS_PER_SLOT,
    ));
    let mut queues = Queues::new();
    let mut input_done = false;
    // The first row goes alone, so the digest nonce is learned once rather than by every worker,
    // and rejected credentials cost two requests rather than two per worker.
    let mut primed = false;
    let mut tasks = tokio::task::JoinSet::new();

    while !shared.stop.is_set() {
        // Read ahead whatever is ready; wait for input only when nothing is queued.
        while !input_done && queues.len < LOOKAHEAD {
            let work = if queues.len == 0 {
                rx.recv().await
            } else {
                match rx.try_recv() {
                    Ok(work) => Some(work),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                }
            };
            match work {
                None => input_done = true,
                Some(Work::Send(row)) => {
                    let key = if shared.project_limiter.is_some() {
                        row.target.project.bytes()
                    } else {
                        [0; 12]
                    };
                    queues.push(key, row);
                }
                Some(other) => shared.handle_unsent(other),
            }
        }
        if queues.len == 0 {
            if input_done {
                break;
            }
            continue;
        }
        let row_slot = tokio::select! {
            permit = rows.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
            () = shared.stop.wait() => break,
        };
        let permit = tokio::select! {
            biased;
            () = shared.stop.wait() => break,
            permit = shared.in_flight.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
        };
        if !wait_for_pause(&shared).await {
            break;
        }
        let row = match queues.take(shared.project_limiter.as_ref()) {
            Ok(row) => row,
            Err(wait) => {
                drop((permit, row_slot));
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = shared.stop.wait() => {}
                }
                continue;
            }
        };
        tokio::select! {
            () = shared.throttle.ready() => {}
            () = shared.stop.wait() => {
                shared.settle(shared.skipped(row.line, &row.target), &row.target, row.repeated);
                break;
            }
        }
        let task_shared = shared.clone();
        if primed {
            tasks.spawn(async move {
                row::process(&task_shared, row, permit).await;
                drop(row_slot);
            });
        } else {
            row::process(&task_shared, row, permit).await;
            drop(row_slot);
            primed = true;
        }
        // Reap finished tasks so the set does not grow with the input.
        while tasks.try_join_next().is_some() {}
    }

    // Done or stopped: in-flight rows finish; every row not started is reported skipped.
    for row in queues.drain() {
        shared.settle(
            shared.skipped(row.line, &row.target),
            &row.target,
            row.repeated,
        );
    }
    while tasks.join_next().await.is_some() {}
    while let Some(work) = rx.recv().await {
        shared.handle_unsent(work);
    }
}

/// Waits out a 429 pause; false if the run stopped meanwhile.
async fn wait_for_pause(shared: &Shared) -> bool {
    loop {
        if shared.stop.is_set() {
            return false;
        }
        let until = shared.throttle.paused_until();
        if until <= Instant::now() {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep_until(until.into()) => {}
            () = shared.stop.wait() => return false,
        }
    }
}
