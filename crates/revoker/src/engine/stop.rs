//! Why and when a run stops early.

use std::fmt;
use std::sync::Arc;

use tokio::sync::watch;

/// Why a run stopped before its last row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// SIGINT (Ctrl-C).
    Interrupted,
    /// SIGTERM.
    Terminated,
    /// SIGHUP (a dropped SSH session), handled as SIGTERM.
    HungUp,
    /// No request can succeed with these credentials.
    CredentialsRejected(String),
    /// The server's way of signing in cannot be used (a challenge, a token answer out of range).
    AuthUnusable(String),
    /// This machine's address is not on the credential's IP access list.
    AccessList(String),
    /// Every project or organization tried refused, and none succeeded.
    EveryScopeRefused(String),
    /// The server gave no answer (timeouts, refused connections) long enough to give up.
    NoAnswer(String),
    /// The answers are not the API's (a wrong base URL).
    NotTheApi(String),
    /// The report could not be written, so outcomes would be lost.
    ReportFailed,
    /// `max_revocations` was reached as rows were sent (more were sent than the plan counted).
    CapReached(u64),
}

impl crate::vocab::ExitCode for StopReason {
    /// The exit code a run stopped for this reason ends with.
    fn exit_code(&self) -> i32 {
        use crate::vocab::exit;
        match self {
            StopReason::Interrupted => exit::SIGINT,
            StopReason::Terminated => exit::SIGTERM,
            StopReason::HungUp => exit::SIGHUP,
            StopReason::CredentialsRejected(_)
            | StopReason::AuthUnusable(_)
            | StopReason::AccessList(_)
            | StopReason::EveryScopeRefused(_)
            | StopReason::NoAnswer(_) => exit::ABORTED,
            StopReason::NotTheApi(_) | StopReason::ReportFailed | StopReason::CapReached(_) => {
                exit::USAGE
            }
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Interrupted => f.write_str("run interrupted (SIGINT)"),
            StopReason::Terminated => f.write_str("run terminated (SIGTERM)"),
            StopReason::HungUp => f.write_str("run stopped: the terminal hung up (SIGHUP)"),
            StopReason::CredentialsRejected(why) => write!(f, "credentials rejected: {why}"),
            StopReason::AuthUnusable(why) => write!(f, "cannot sign in: {why}"),
            StopReason::AccessList(why) => write!(
                f,
                "this machine's IP address is not on the credential's IP access list ({why}); add it to the access list, or run from an allowed host"
            ),
            StopReason::EveryScopeRefused(why) => write!(f, "{why}"),
            StopReason::NoAnswer(why) => write!(f, "{why}"),
            StopReason::NotTheApi(why) => write!(f, "{why}"),
            StopReason::ReportFailed => f.write_str("the report could not be written"),
            StopReason::CapReached(max) => write!(
                f,
                "max_revocations {max} reached as rows were sent (lists the plan read said some rows were gone that were not): no further DELETE was sent; check the input, or raise the cap"
            ),
        }
    }
}

/// Set once, by the first reason to stop; every part of the run can wait on it.
#[derive(Clone)]
pub struct StopFlag {
    tx: Arc<watch::Sender<Option<StopReason>>>,
}

impl Default for StopFlag {
    fn default() -> Self {
        StopFlag {
            tx: Arc::new(watch::Sender::new(None)),
        }
    }
}

impl StopFlag {
    /// Asks the run to stop; answers false if it was already asked (the first reason stands).
    pub fn request(&self, reason: StopReason) -> bool {
        self.tx.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(reason);
            true
        })
    }

    pub fn is_set(&self) -> bool {
        self.tx.borrow().is_some()
    }

    pub fn reason(&self) -> Option<StopReason> {
        self.tx.borrow().clone()
    }

    /// Resolves once a stop is requested.
    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        // The sender lives in `self`, so this only ends by the value being set.
        let _ = rx.wait_for(Option::is_some).await;
    }

    /// Sleeps until `deadline`; answers false if the run stopped first.
    pub async fn sleep_until(&self, deadline: std::time::Instant) -> bool {
        tokio::select! {
            () = tokio::time::sleep_until(deadline.into()) => !self.is_set(),
            () = self.wait() => false,
        }
    }
}
