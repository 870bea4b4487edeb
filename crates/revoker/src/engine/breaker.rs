//! The breakers that stop a run from working against a server that cannot help it.
//!
//! [`Outage`]: when server failures (5xx, timeouts, broken connections) come back to back with no
//! other answer between, the server is down rather than unlucky. The breaker opens: rows stop being
//! sent, and one probe at a time goes out after a growing pause. The first probe that gets a real
//! answer closes it and every row goes on, with none of the waiting counted against its attempts. An
//! outage that outlasts the patience stops the run ("no answer from HOST").
//!
//! [`Refusals`]: a credential with no access anywhere answers 403 (or 401 `NOT_IN_GROUP` …) on every
//! project; after a few distinct scopes refuse and nothing succeeds, the run stops rather than trying
//! every row.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::api::Answer;
use crate::input::ObjectId;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How a request may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// The breaker is closed: a normal attempt.
    Normal,
    /// The breaker is open and this request is its probe: a failure is not counted against the row.
    Probe,
}

struct OutageState {
    consecutive: u32,
    open_since: Option<Instant>,
    next_probe: Instant,
    delay: Duration,
    probing: bool,
    /// Closed once because the server answered while a list kept failing: later openings are
    /// that list's failures again, said once.
    lists_blamed: bool,
}

/// The outage breaker.
pub struct Outage {
    state: Mutex<OutageState>,
    threshold: u32,
    first_delay: Duration,
    max_delay: Duration,
    patience: Duration,
}

impl Outage {
    /// Opens after `threshold` server failures in a row; probes from `first_delay` doubling to
    /// `max_delay`; gives up after `patience` open.
    pub fn new(
        threshold: u32,
        first_delay: Duration,
        max_delay: Duration,
        patience: Duration,
    ) -> Outage {
        Outage {
            state: Mutex::new(OutageState {
                consecutive: 0,
                open_since: None,
                next_probe: Instant::now(),
                delay: first_delay,
                probing: false,
                lists_blamed: false,
            }),
            threshold: threshold.max(1),
            first_delay,
            max_delay,
            patience,
        }
    }

    /// Whether a request may go now; `Err` says when to ask again.
    pub fn pass(&self) -> Result<Pass, Instant> {
        let now = Instant::now();
        let mut st = lock(&self.state);
        if st.open_since.is_none() {
            return Ok(Pass::Normal);
        }
        if st.probing || now < st.next_probe {
            return Err(st.next_probe.max(now + Duration::from_millis(20)));
        }
        st.probing = true;
        Ok(Pass::Probe)
    }

    /// Whether the breaker is open.
    pub fn is_open(&self) -> bool {
        lock(&self.state).open_since.is_some()
    }

    /// Counts an answer; answers how long the server has been out once that exceeds the patience.
    pub fn answered(&self, pass: Pass, answer: &Answer) -> Option<Duration> {
        let now = Instant::now();
        let mut st = lock(&self.state);
        if pass == Pass::Probe {
            st.probing = false;
        }
        if !answer.is_server_failure() {
            st.consecutive = 0;
            st.open_since = None;
            st.delay = self.first_delay;
            return None;
        }
        st.consecutive += 1;
        match st.open_since {
            None if st.consecutive >= self.threshold => {
                st.open_since = Some(now);
                st.next_probe = now + st.delay;
                if st.lists_blamed {
                    return None;
                }
                tracing::warn!(
                    "{} server failures in a row: pausing, and probing the server until it answers again",
                    st.consecutive
                );
            }
            Some(since) if pass == Pass::Probe => {
                st.delay = (st.delay * 2).min(self.max_delay);
                st.next_probe = now + st.delay;
                if now.duration_since(since) >= self.patience {
                    return Some(now.duration_since(since));
                }
            }
            _ => {}
        }
        None
    }

    /// Closes the breaker: the server answered another request while a list kept failing.
    /// Answers whether this is the first time.
    pub fn close_for_lists(&self) -> bool {
        let mut st = lock(&self.state);
        st.consecutive = 0;
        st.open_since = None;
        st.delay = self.first_delay;
        !std::mem::replace(&mut st.lists_blamed, true)
    }

    /// A probe pass that was not used (the run stopped before it was sent).
    pub fn release(&self, pass: Pass) {
        if pass == Pass::Probe {
            lock(&self.state).probing = false;
        }
    }
}

#[derive(Default)]
struct RefusalState {
    scopes: HashSet<ObjectId>,
    any_success: bool,
}

/// The breaker for a credential that has no access anywhere.
pub struct Refusals {
    state: Mutex<RefusalState>,
    needed: u64,
}

/// Scopes that must refuse (with no success anywhere) before the run stops; fewer when the input has
/// fewer, but never one: a single refusing project says nothing about the credential, and the same
/// state must give the same exit code whether other projects were in the run or not.
const REFUSING_SCOPES_TO_STOP: u64 = 3;

impl Refusals {
    pub fn new(scopes: u64) -> Refusals {
        Refusals {
            state: Mutex::new(RefusalState::default()),
            needed: REFUSING_SCOPES_TO_STOP.min(scopes).max(2),
        }
    }

    /// Counts an answer from `scope`; answers how many scopes refused once that is enough to stop.
    pub fn answered(&self, scope: ObjectId, answer: &Answer) -> Option<usize> {
        let success = matches!(answer, Answer::Done { .. } | Answer::NotFound { .. });
        if !success && !answer.is_scope_refusal() {
            return None;
        }
        let mut st = lock(&self.state);
        if success {
            st.any_success = true;
            return None;
        }
        if st.any_success {
            return None;
        }
        st.scopes.insert(scope);
        (st.scopes.len() as u64 >= self.needed).then_some(st.scopes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure() -> Answer {
        Answer::transient(Some(503), "", "busy", None)
    }

    #[test]
    fn the_outage_breaker_opens_probes_and_closes() {
        let outage = Outage::new(
            3,
            Duration::from_millis(10),
            Duration::from_millis(40),
            Duration::from_secs(60),
        );
        for _ in 0..3 {
            assert_eq!(outage.pass(), Ok(Pass::Normal));
            outage.answered(Pass::Normal, &failure());
        }
        assert!(outage.is_open());
        assert!(outage.pass().is_err(), "no probe before the first pause");
        std::thread::sleep(Duration::from_millis(15));
        assert_eq!(outage.pass(), Ok(Pass::Probe));
        assert!(outage.pass().is_err(), "one probe at a time");
        outage.answered(Pass::Probe, &Answer::Done { status: 200 });
        assert!(!outage.is_open());
        assert_eq!(outage.pass(), Ok(Pass::Normal));
    }

    #[test]
    fn patience_runs_out_on_a_server_that_never_comes_back() {
        let outage = Outage::new(
            1,
            Duration::from_millis(1),
            Duration::from_millis(2),
            Duration::from_millis(20),
        );
        outage.answered(Pass::Normal, &failure());
        let started = Instant::now();
        loop {
            match outage.pass() {
                Ok(pass) => {
                    if outage.answered(pass, &failure()).is_some() {
                        break;
                    }
                }
                Err(at) => std::thread::sleep(at.saturating_duration_since(Instant::now())),
            }
            assert!(started.elapsed() < Duration::from_secs(5));
        }
    }

    #[test]
    fn refusals_stop_only_before_any_success() {
        let refused = Answer::Rejected {
            status: 403,
            code: String::new(),
            detail: String::new(),
        };
        let r = Refusals::new(10);
        let id = |n: u8| ObjectId::from_bytes([n; 12]);
        assert_eq!(r.answered(id(1), &refused), None);
        assert_eq!(r.answered(id(2), &refused), None);
        assert_eq!(r.answered(id(3), &refused), Some(3));
        let r = Refusals::new(10);
        r.answered(id(9), &Answer::Done { status: 200 });
        for n in 1..5 {
            assert_eq!(r.answered(id(n), &refused), None);
        }
    }
}
