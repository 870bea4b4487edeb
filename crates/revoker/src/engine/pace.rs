//! Pacing: the rates a run keeps, per scope (a project or an organization) and overall.
//!
//! The API limits requests with token buckets per endpoint set and scope (organization, project,
//! user, IP), mostly unknown to revoker. A 429 pauses what it limits: the scope it came from, for its
//! `Retry-After`, and then that scope goes at a lower rate that recovers step by step. Only 429s that
//! look like one bucket for everything (the bucket the answer describes held fewer tokens than the run
//! got through overall, or dense 429s across several scopes) pause and slow the whole run.
//!
//! What a rate is lowered to comes, best first, from: the bucket a `RATE_LIMITED_TOKEN_BUCKET` answer
//! describes ("Request capacity: 10. Refill rate: 5 per 60 seconds."), paced at 97% of its refill;
//! `RateLimit-Remaining` / `RateLimit-Limit` headers, paced so that the bucket is never emptied, at a
//! refill rate learned from how `Remaining` moves; else the rate the scope was admitted at, cut by 10%.
//! A 429 that describes its bucket also slows, at once, the scopes that got through just as many
//! requests: the API defines its buckets per endpoint set and kind of scope, so they are as empty.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::DefaultDirectRateLimiter;

use super::limiter::{burst_limiter, limiter};
use crate::api::{RateInfo, Reply};
use crate::input::ObjectId;
use crate::input::Scope;
use crate::vocab::Rate;

/// Length of an accounting window, and of a recovery step.
const STEP: Duration = Duration::from_secs(1);
/// After a cut, the rate rises by this share of its base every [`STEP`] without a 429.
const RAISE_SHARE: f64 = 0.05;
/// Without better knowledge, a 429 sets the rate to this share of what the scope was admitted at.
const CUT_TO: f64 = 0.9;
/// A known refill rate is kept to this share of itself, so that timer jitter never empties the bucket.
const KNOWN_SHARE: f64 = 0.97;
/// Headers adjust the rate at most this often.
const ADJUST_EVERY: Duration = Duration::from_millis(200);
/// Slowest rate a cut sets: one request every 20 seconds.
const FLOOR: f64 = 0.05;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Answers counted over one step.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: Instant,
    answers: u64,
    admitted: u64,
    throttled: u64,
}

impl Window {
    fn new(start: Instant) -> Window {
        Window {
            start,
            answers: 0,
            admitted: 0,
            throttled: 0,
        }
    }
}

/// The current and the previous window: "the last second or two".
#[derive(Clone, Copy, Debug)]
struct Recent {
    now: Window,
    before: Window,
}

impl Recent {
    fn new(at: Instant) -> Recent {
        Recent {
            now: Window::new(at),
            before: Window::new(at),
        }
    }

    fn roll(&mut self, at: Instant) {
        if at.duration_since(self.now.start) >= STEP {
            self.before = if at.duration_since(self.now.start) >= STEP * 2 {
                Window::new(at)
            } else {
                self.now
            };
            self.now = Window::new(at);
        }
    }

    fn count(&mut self, at: Instant, throttled: bool, answered: bool) {
        self.roll(at);
        self.now.answers += 1;
        if throttled {
            self.now.throttled += 1;
        } else if answered {
            self.now.admitted += 1;
        }
    }

    fn admitted(&self) -> u64 {
        self.now.admitted + self.before.admitted
    }

    fn throttled(&self) -> u64 {
        self.now.throttled + self.before.throttled
    }

    fn answers(&self) -> u64 {
        self.now.answers + self.before.answers
    }

    /// Requests admitted per second, counting the window as at least a second long: a bucket whose
    /// size is unknown is taken to hold one second's worth.
    fn admitted_rate(&self, at: Instant) -> f64 {
        let covered = at.duration_since(self.before.start).max(STEP);
        self.admitted() as f64 / covered.as_secs_f64()
    }
}

/// What `RateLimit-*` headers said last, and the refill rate learned from them.
#[derive(Debug)]
struct Headers {
    limit: u64,
    remaining: u64,
    at: Instant,
    /// Requests sent since that answer, not yet counted in `remaining`.
    sent_since: u64,
    answers: u64,
    /// `(when, remaining, answers)` at the start of the current learning window.
    anchor: Option<(Instant, u64, u64)>,
    refill: Option<f64>,
    last_adjust: Instant,
}

/// One pace: a scope's or the whole run's.
struct Gate {
    /// The configured rate, never exceeded.
    ceiling: Option<f64>,
    /// The current rate; `None` while unlimited.
    rate: Option<f64>,
    /// A refill rate known from the API (a 429's body or the headers).
    known: Option<f64>,
    /// The bucket's capacity, when the API said it.
    capacity: Option<f64>,
    /// What a raise is a share of.
    base: f64,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    last_change: Instant,
    last_throttle: Option<Instant>,
    paused_until: Instant,
    recent: Recent,
    headers: Option<Headers>,
    /// Requests sent and not yet answered.
    outstanding: u64,
    /// This run saw the bucket itself (a 429, `RateLimit-*` headers): what it knows of it is new.
    observed: bool,
}

impl Gate {
    fn new(ceiling: Option<f64>, start: Option<f64>, at: Instant) -> Gate {
        let mut gate = Gate {
            ceiling,
            rate: None,
            known: None,
            capacity: None,
            base: 0.0,
            limiter: None,
            last_change: at,
            last_throttle: None,
            paused_until: at,
            recent: Recent::new(at),
            headers: None,
            outstanding: 0,
            observed: false,
        };
        match start {
            Some(rate) => {
                gate.base = rate;
                gate.set_rate(Some(rate), false, at);
            }
            None => gate.set_rate(ceiling, true, at),
        }
        gate
    }

    /// Starts at a bucket known before the first request (published, or learned by an earlier
    /// run): its refill rate, kept to [`KNOWN_SHARE`], after a first burst of its capacity.
    fn start_known(&mut self, k: Known, at: Instant) {
        let rate = k.refill_per_second * KNOWN_SHARE;
        let rate = self.ceiling.map_or(rate, |c| rate.min(c)).max(FLOOR);
        self.known = Some(k.refill_per_second);
        self.capacity = Some(k.capacity);
        self.base = rate;
        self.rate = Some(rate);
        self.limiter = Some(Arc::new(burst_limiter(rate, k.capacity.max(1.0) as u32)));
        self.last_change = at;
    }

    /// What the gate knows of its bucket, when this run observed it: a bucket only remembered or
    /// published is not learned again (its age, and with it its expiry, stays).
    fn known_bucket(&self) -> Option<Known> {
        if !self.observed {
            return None;
        }
        Some(Known {
            refill_per_second: self.known?,
            capacity: self.capacity?,
        })
    }

    fn set_rate(&mut self, rate: Option<f64>, fresh: bool, at: Instant) {
        let rate = match (rate, self.ceiling) {
            (Some(r), Some(c)) => Some(r.min(c).max(FLOOR.min(c))),
            (Some(r), None) => Some(r.max(FLOOR)),
            (None, c) => c,
        };
        if rate != self.rate {
            self.rate = rate;
            self.limiter = rate.map(|r| Arc::new(limiter(r, fresh)));
        }
        self.last_change = at;
    }

    /// The cap a recovering rate rises to.
    fn cap(&self) -> Option<f64> {
        let known = self.known.map(|k| k * KNOWN_SHARE);
        match (known, self.ceiling) {
            (Some(k), Some(c)) => Some(k.min(c)),
            (k, c) => k.or(c),
        }
    }

    fn maybe_raise(&mut self, at: Instant) {
        let Some(rate) = self.rate else { return };
        if self.headers.is_some()
            || at.duration_since(self.last_change) < STEP
            || self
                .last_throttle
                .is_some_and(|t| at.duration_since(t) < STEP)
            || self.paused_until > at
        {
            return;
        }
        let raised = rate + self.base.max(rate) * RAISE_SHARE;
        let next = match self.cap() {
            Some(cap) if raised >= cap => cap.max(rate),
            _ => raised,
        };
        if next > rate {
            self.set_rate(Some(next), true, at);
        } else {
            self.last_change = at;
        }
    }

    /// Whether a request may go now; `Err` says when to look again.
    fn ready(&mut self, at: Instant) -> Result<(), Instant> {
        if self.paused_until > at {
            return Err(self.paused_until);
        }
        self.maybe_raise(at);
        if let Some(h) = &self.headers {
            let refill = h.refill.or(self.rate.map(|r| r * 0.9)).unwrap_or(0.0);
            let tokens = h.remaining as f64 - h.sent_since as f64
                + refill * at.duration_since(h.at).as_secs_f64();
            if tokens < 1.0 {
                let wait = if refill > 0.0 {
                    Duration::from_secs_f64(((1.0 - tokens) / refill).min(5.0))
                } else {
                    Duration::from_millis(100)
                };
                return Err(at + wait.max(Duration::from_millis(2)));
            }
        }
        if let Some(limiter) = &self.limiter
            && let Err(not_until) = limiter.check()
        {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            return Err(at + wait.max(Duration::from_millis(1)));
        }
        self.outstanding += 1;
        if let Some(h) = &mut self.headers {
            h.sent_since += 1;
        }
        Ok(())
    }

    fn answered(&mut self, at: Instant, throttled: bool, answered: bool, info: &RateInfo) {
        self.outstanding = self.outstanding.saturating_sub(1);
        self.recent.count(at, throttled, answered);
        if let Some(remaining) = info.remaining {
            self.observe(at, remaining, info.limit);
        }
    }

    /// `RateLimit-Remaining` (and `-Limit`): keep the bucket from running dry.
    fn observe(&mut self, at: Instant, remaining: u64, limit: Option<u64>) {
        self.observed = true;
        let outstanding = self.outstanding;
        let h = self.headers.get_or_insert_with(|| Headers {
            limit: limit.unwrap_or(remaining + 1),
            remaining,
            at,
            sent_since: 0,
            answers: 0,
            anchor: None,
            refill: None,
            last_adjust: at,
        });
        if let Some(limit) = limit {
            h.limit = limit;
        }
        h.remaining = remaining;
        h.at = at;
        h.sent_since = outstanding;
        h.answers += 1;
        // The refill rate: tokens came back at `(remaining now - remaining then + answers between)` over
        // the time between, while the bucket was not full (a full bucket stops refilling).
        if remaining + 1 >= h.limit {
            h.anchor = None;
        } else {
            match h.anchor {
                None => h.anchor = Some((at, remaining, h.answers)),
                Some((t0, r0, a0)) if at.duration_since(t0) >= STEP => {
                    let gained = remaining as f64 - r0 as f64 + (h.answers - a0) as f64;
                    let estimate = gained / at.duration_since(t0).as_secs_f64();
                    if estimate > 0.0 {
                        h.refill = Some(match h.refill {
                            Some(old) => old * 0.5 + estimate * 0.5,
                            None => estimate,
                        });
                    }
                    h.anchor = Some((at, remaining, h.answers));
                }
                Some(_) => {}
            }
        }
        let low = (h.limit / 10).max(1);
        // Requests still out will spend tokens this answer has not counted yet.
        let remaining = remaining.saturating_sub(outstanding);
        let refill = h.refill;
        let limit_per_second = h.limit as f64;
        let due = at.duration_since(h.last_adjust) >= ADJUST_EVERY;
        let mut next = self.rate;
        if remaining <= low && self.rate.is_none() {
            // The bucket is nearly empty: go at its refill rate, or at a guess of a second's worth.
            next = Some(refill.unwrap_or(limit_per_second) * 0.9);
        } else if due && let Some(rate) = self.rate {
            // Keep the bucket about half full: faster when it fills, slower when it drains, by how
            // far it is from half.
            let target = (h.limit as f64 / 2.0).max(1.0);
            let error = (remaining as f64 - target) / (h.limit as f64).max(2.0);
            let mut factor = (1.0 + error).clamp(0.6, 1.5);
            if remaining == 0 {
                factor = factor.min(0.7);
            }
            next = Some(rate * factor);
        }
        if let (Some(rate), Some(refill)) = (next, refill) {
            next = Some(rate.min(refill * 0.98));
        }
        if next != self.rate {
            if let Some(h) = &mut self.headers {
                h.last_adjust = at;
            }
            let fresh = self.rate.is_some();
            self.set_rate(next, fresh, at);
        }
    }

    /// A 429: pause for `wait`, and lower the rate to what the API allows.
    fn throttled(&mut self, at: Instant, wait: Duration, info: &RateInfo) {
        self.observed = true;
        self.paused_until = self.paused_until.max(at + wait);
        let recently = self
            .last_throttle
            .is_some_and(|t| at.duration_since(t) < STEP / 2);
        self.last_throttle = Some(at);
        if let Some(refill) = info.refill_per_second {
            self.known = Some(refill);
            self.capacity = info.capacity.or(self.capacity);
            let rate = refill * KNOWN_SHARE;
            self.base = rate;
            self.set_rate(Some(rate), false, at);
            return;
        }
        // The requests of one burst come back 429 together: one cut for them all.
        if recently && self.rate.is_some() {
            return;
        }
        // A bucket that ran dry answers 429 to most of what follows; a 429 here and there among
        // admitted requests (a slight overshoot, a server that throttles at random) only pauses. So
        // does a scope with too few admitted requests to measure a rate by (a run's last rows
        // retrying): a cut to what it measured would all but stop it.
        let throttled = self.recent.throttled();
        if throttled < 2 || throttled * 5 < self.recent.answers() || self.recent.admitted() < 2 {
            return;
        }
        let admitted = self.recent.admitted_rate(at) * CUT_TO;
        let cut = match self.rate {
            Some(rate) => admitted.min(rate * CUT_TO),
            None => {
                self.base = admitted.max(FLOOR);
                admitted
            }
        };
        self.set_rate(Some(cut.max(FLOOR)), false, at);
    }
}

/// A token bucket known before the run: published by the API, or learned by an earlier run.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Known {
    pub refill_per_second: f64,
    pub capacity: f64,
}

/// What scopes start at, per kind of scope.
#[derive(Clone, Copy, Debug, Default)]
pub struct Starts {
    pub project: Option<Known>,
    pub org: Option<Known>,
}

/// The pace of a whole run: one gate for everything, one per scope.
pub struct Pacer {
    global: Mutex<Gate>,
    scopes: Mutex<HashMap<ObjectId, Gate>>,
    scope_ceiling: Option<f64>,
    /// The kind of each scope rows were queued for, and what each kind starts at.
    kinds: Mutex<(HashMap<ObjectId, Scope>, Starts)>,
    /// 429s per scope in the current window, for telling one bucket for all from one per scope.
    throttled_scopes: Mutex<(Instant, HashMap<ObjectId, u64>)>,
}

impl Pacer {
    /// `global` and `scope` are the configured ceilings (`--rate`, `--project-rate`).
    pub fn new(global: Option<Rate>, scope: Option<Rate>) -> Pacer {
        let now = Instant::now();
        Pacer {
            global: Mutex::new(Gate::new(global.map(|r| r.per_second()), None, now)),
            scopes: Mutex::new(HashMap::new()),
            scope_ceiling: scope.map(|r| r.per_second()),
            kinds: Mutex::new((HashMap::new(), Starts::default())),
            throttled_scopes: Mutex::new((now, HashMap::new())),
        }
    }

    /// Starts the run's pace, and each new scope of a kind, at a known bucket.
    pub fn start_at(&self, starts: Starts, user: Option<Known>) {
        lock(&self.kinds).1 = starts;
        if let Some(k) = user {
            lock(&self.global).start_known(k, Instant::now());
        }
    }

    /// Notes the kind of a scope rows are queued for (before its first request).
    pub fn note(&self, scope: ObjectId, kind: Scope) {
        lock(&self.kinds).0.entry(scope).or_insert(kind);
    }

    /// What the run knows of its buckets now, per kind of scope (the slowest of the scopes of a
    /// kind) and for the whole run (`user`): what the next run may start at.
    pub fn learned(&self) -> (Starts, Option<Known>) {
        let kinds = lock(&self.kinds).0.clone();
        let mut starts = Starts::default();
        for (scope, gate) in lock(&self.scopes).iter() {
            let (Some(k), Some(kind)) = (gate.known_bucket(), kinds.get(scope)) else {
                continue;
            };
            let slot = match kind {
                Scope::Project => &mut starts.project,
                Scope::Org => &mut starts.org,
                Scope::Global => continue,
            };
            if slot.is_none_or(|old| k.refill_per_second < old.refill_per_second) {
                *slot = Some(k);
            }
        }
        (starts, lock(&self.global).known_bucket())
    }

    /// Whether a request to `scope` may go now, ignoring the global pace; if so, it is counted as
    /// sent. `Err` says when to look again.
    pub fn try_scope(&self, scope: ObjectId) -> Result<(), Instant> {
        let now = Instant::now();
        let mut scopes = lock(&self.scopes);
        scopes
            .entry(scope)
            .or_insert_with(|| {
                let mut gate = Gate::new(self.scope_ceiling, None, now);
                let kinds = lock(&self.kinds);
                let start = match kinds.0.get(&scope) {
                    Some(Scope::Project) => kinds.1.project,
                    Some(Scope::Org) => kinds.1.org,
                    _ => None,
                };
                if let Some(k) = start {
                    gate.start_known(k, now);
                }
                gate
            })
            .ready(now)
    }

    /// Until when everyone waits because of a 429 that limited everyone.
    pub fn global_paused_until(&self) -> Instant {
        lock(&self.global).paused_until
    }

    /// Waits for the next slot of the global rate (after any global pause).
    pub async fn global_slot(&self) {
        let limiter = {
            let mut global = lock(&self.global);
            let now = Instant::now();
            global.maybe_raise(now);
            global.limiter.clone()
        };
        if let Some(limiter) = limiter {
            limiter.until_ready().await;
        }
    }

    /// A request counted as sent by [`Pacer::try_scope`] that did not go after all.
    pub fn cancel(&self, scope: ObjectId) {
        if let Some(gate) = lock(&self.scopes).get_mut(&scope) {
            gate.outstanding = gate.outstanding.saturating_sub(1);
        }
    }

    /// The current rate of `scope`, `None` while unlimited.
    pub fn scope_rate(&self, scope: ObjectId) -> Option<f64> {
        lock(&self.scopes).get(&scope).and_then(|g| g.rate)
    }

    /// The current global rate, `None` while unlimited.
    pub fn global_rate(&self) -> Option<f64> {
        lock(&self.global).rate
    }

    /// Counts an answer from `scope`; a 429 pauses and slows what it limits. `fallback` is the pause
    /// when the 429 carries no `Retry-After`.
    pub fn answered(&self, scope: ObjectId, reply: &Reply, fallback: Duration) {
        let now = Instant::now();
        let throttled = reply.answer.is_throttled();
        let answered = reply.answer.got_an_answer();
        let mut scopes = lock(&self.scopes);
        let mut global = lock(&self.global);
        global.recent.count(now, throttled, answered);
        let Some(gate) = scopes.get_mut(&scope) else {
            return;
        };
        gate.answered(now, throttled, answered, &reply.rate);
        if !throttled {
            return;
        }
        let wait = match &reply.answer {
            crate::api::Answer::Transient {
                retry_after: Some(wait),
                ..
            } => *wait,
            _ => fallback,
        };
        let distinct = {
            let mut seen = lock(&self.throttled_scopes);
            if now.duration_since(seen.0) >= STEP {
                *seen = (now, HashMap::new());
            }
            *seen.1.entry(scope).or_default() += 1;
            seen.1.len()
        };
        let one_bucket_for_all = match reply.rate.capacity {
            // The bucket held fewer tokens than this scope got through, but no more than the run did.
            // Its requests still in flight may have spent tokens too: answers come back in any
            // order, so a 429 can arrive before the 200 that took the last token.
            Some(capacity) => {
                ((gate.recent.admitted() + gate.outstanding) as f64) < 0.8 * capacity
                    && global.recent.admitted() as f64 >= 0.8 * capacity
            }
            None => {
                let w = global.recent.now;
                distinct >= 3 && w.answers >= 10 && w.throttled * 2 >= w.answers
            }
        };
        if one_bucket_for_all {
            gate.paused_until = gate.paused_until.max(now + wait);
            global.throttled(now, wait, &reply.rate);
            return;
        }
        // A limit of one scope: only that scope waits its Retry-After, and slows.
        gate.throttled(now, wait, &reply.rate);
        // The API's buckets are defined per endpoint set and kind of scope, so alike scopes have
        // alike buckets. When a 429 describes its bucket, the scopes that got through as many
        // requests as that bucket holds (and no more than it could have) are as empty as this one:
        // they go at its refill rate now instead of each drawing a 429 of their own. A scope that got
        // through more is not limited alike and keeps its pace.
        let (Some(capacity), Some(refill)) = (reply.rate.capacity, reply.rate.refill_per_second)
        else {
            return;
        };
        for (id, other) in scopes.iter_mut() {
            if *id == scope || other.rate.is_some() || other.headers.is_some() {
                continue;
            }
            let admitted = other.recent.admitted() as f64;
            let covered = now.duration_since(other.recent.before.start).as_secs_f64();
            if admitted >= 0.8 * capacity && admitted <= capacity + refill * covered + 1.0 {
                other.known = Some(refill);
                other.base = refill * KNOWN_SHARE;
                other.set_rate(Some(refill * KNOWN_SHARE), false, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Answer;

    fn reply(answer: Answer, rate: RateInfo) -> Reply {
        Reply {
            answer,
            rate,
            body: Vec::new(),
        }
    }

    fn ok() -> Reply {
        reply(Answer::Done { status: 204 }, RateInfo::default())
    }

    fn throttle(wait: u64, rate: RateInfo) -> Reply {
        reply(
            Answer::transient(
                Some(429),
                "RATE_LIMITED",
                "",
                Some(Duration::from_secs(wait)),
            ),
            rate,
        )
    }

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes([n; 12])
    }

    #[test]
    fn a_429_pauses_and_slows_only_its_scope() {
        let pacer = Pacer::new(None, None);
        for scope in [id(1), id(2), id(3)] {
            for _ in 0..10 {
                pacer.try_scope(scope).unwrap();
                pacer.answered(scope, &ok(), Duration::ZERO);
            }
        }
        // A bucket that ran dry: the requests in flight come back 429 one after the other.
        for _ in 0..3 {
            pacer.try_scope(id(1)).unwrap();
        }
        for _ in 0..3 {
            pacer.answered(id(1), &throttle(1, RateInfo::default()), Duration::ZERO);
        }
        assert!(pacer.try_scope(id(1)).is_err(), "the limited scope waits");
        assert!(
            pacer.global_paused_until() <= Instant::now(),
            "nobody else does"
        );
        let rate = pacer.scope_rate(id(1)).unwrap();
        assert!(
            (8.0..=9.5).contains(&rate),
            "cut under what was admitted: {rate}"
        );
        assert_eq!(pacer.scope_rate(id(2)), None, "the others keep their pace");
        assert!(pacer.try_scope(id(2)).is_ok());
        assert_eq!(pacer.global_rate(), None);

        // One 429 among many admitted requests: a pause, not a cut.
        pacer.answered(id(2), &ok(), Duration::ZERO);
        pacer.try_scope(id(3)).unwrap();
        pacer.answered(id(3), &throttle(1, RateInfo::default()), Duration::ZERO);
        assert!(pacer.try_scope(id(3)).is_err(), "it waits its Retry-After");
        assert_eq!(pacer.scope_rate(id(3)), None, "and keeps its pace");

        // A last row retrying, 429 after 429 with nothing admitted: no rate to cut to.
        pacer.try_scope(id(4)).unwrap();
        pacer.try_scope(id(4)).unwrap();
        for _ in 0..2 {
            pacer.answered(id(4), &throttle(0, RateInfo::default()), Duration::ZERO);
        }
        assert_eq!(pacer.scope_rate(id(4)), None);
    }

    #[test]
    fn a_documented_bucket_sets_the_rate_and_one_bucket_for_all_pauses_everyone() {
        let pacer = Pacer::new(None, None);
        let bucket = RateInfo {
            capacity: Some(10.0),
            refill_per_second: Some(10.0),
            ..RateInfo::default()
        };
        for _ in 0..10 {
            pacer.try_scope(id(1)).unwrap();
            pacer.answered(id(1), &ok(), Duration::ZERO);
        }
        pacer.try_scope(id(1)).unwrap();
        pacer.answered(id(1), &throttle(1, bucket), Duration::ZERO);
        assert_eq!(pacer.scope_rate(id(1)), Some(10.0 * KNOWN_SHARE));
        assert_eq!(pacer.global_rate(), None);

        // A bucket of 100 for everything: 20 scopes got 5 each, then one 429.
        let pacer = Pacer::new(None, None);
        let global = RateInfo {
            capacity: Some(100.0),
            refill_per_second: Some(100.0),
            ..RateInfo::default()
        };
        for n in 0..20 {
            for _ in 0..5 {
                pacer.try_scope(id(n)).unwrap();
                pacer.answered(id(n), &ok(), Duration::ZERO);
            }
        }
        pacer.try_scope(id(0)).unwrap();
        pacer.answered(id(0), &throttle(1, global), Duration::ZERO);
        assert!(pacer.global_paused_until() > Instant::now());
        assert_eq!(pacer.global_rate(), Some(100.0 * KNOWN_SHARE));
    }

    #[test]
    fn a_429_before_the_200_that_emptied_the_bucket_still_limits_only_its_scope() {
        let pacer = Pacer::new(None, None);
        let bucket = RateInfo {
            capacity: Some(2.0),
            refill_per_second: Some(100.0),
            ..RateInfo::default()
        };
        for n in 2..5 {
            for _ in 0..5 {
                pacer.try_scope(id(n)).unwrap();
                pacer.answered(id(n), &ok(), Duration::ZERO);
            }
        }
        // Scope 1: one answered, one still in flight (it took the last token), one throttled.
        pacer.try_scope(id(1)).unwrap();
        pacer.answered(id(1), &ok(), Duration::ZERO);
        pacer.try_scope(id(1)).unwrap();
        pacer.try_scope(id(1)).unwrap();
        pacer.answered(id(1), &throttle(2, bucket), Duration::ZERO);
        assert!(pacer.global_paused_until() <= Instant::now());
        assert_eq!(pacer.global_rate(), None);
        assert!(pacer.try_scope(id(1)).is_err());
        // Scopes that got through more than the bucket holds are not limited alike.
        for n in 2..5 {
            assert_eq!(pacer.scope_rate(id(n)), None);
        }
    }

    #[test]
    fn alike_scopes_that_used_up_as_much_go_at_the_refill_rate_the_others_keep_their_pace() {
        let pacer = Pacer::new(None, None);
        let bucket = RateInfo {
            capacity: Some(10.0),
            refill_per_second: Some(1.0),
            ..RateInfo::default()
        };
        let sends = |n: u8, times: usize| {
            for _ in 0..times {
                pacer.try_scope(id(n)).unwrap();
                pacer.answered(id(n), &ok(), Duration::ZERO);
            }
        };
        sends(1, 10);
        sends(2, 10);
        sends(3, 40);
        sends(4, 2);
        pacer.try_scope(id(1)).unwrap();
        pacer.answered(id(1), &throttle(1, bucket), Duration::ZERO);
        assert_eq!(pacer.scope_rate(id(2)), Some(KNOWN_SHARE));
        assert_eq!(
            pacer.scope_rate(id(3)),
            None,
            "got through more than the bucket holds"
        );
        assert_eq!(pacer.scope_rate(id(4)), None, "has most of its bucket left");
    }

    #[test]
    fn remaining_headers_slow_a_scope_before_its_bucket_is_empty() {
        let pacer = Pacer::new(None, None);
        let mut gated = false;
        for remaining in (0..10).rev() {
            if pacer.try_scope(id(1)).is_err() {
                gated = true;
                break;
            }
            let info = RateInfo {
                limit: Some(10),
                remaining: Some(remaining),
                ..RateInfo::default()
            };
            pacer.answered(
                id(1),
                &reply(Answer::Done { status: 204 }, info),
                Duration::ZERO,
            );
        }
        assert!(gated, "an empty bucket is not sent to");
        assert!(pacer.scope_rate(id(1)).is_some());
    }

    #[test]
    fn a_cut_rate_recovers_to_its_cap() {
        let now = Instant::now();
        let mut gate = Gate::new(None, None, now);
        gate.known = Some(10.0);
        gate.base = 5.0;
        gate.set_rate(Some(5.0), true, now);
        for step in 1..100 {
            gate.maybe_raise(now + STEP * step);
        }
        assert_eq!(gate.rate, Some(10.0 * KNOWN_SHARE));
    }
}
