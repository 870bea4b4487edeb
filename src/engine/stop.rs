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
    /// No request can succeed with these credentials.
    CredentialsRejected(String),
    /// The report could not be written, so outcomes would be lost.
    ReportFailed,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Interrupted => f.write_str("run interrupted (SIGINT)"),
            StopReason::Terminated => f.write_str("run terminated (SIGTERM)"),
            StopReason::CredentialsRejected(why) => write!(f, "credentials rejected: {why}"),
            StopReason::ReportFailed => f.write_str("the report could not be written"),
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
}
