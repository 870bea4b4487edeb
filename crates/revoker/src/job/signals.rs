//! Signals: the first SIGINT, SIGTERM or SIGHUP stops starting rows and drains the requests in
//! flight; a second quits at once (the report stays valid: every row is flushed whole as it
//! finishes).

use crate::engine::{StopFlag, StopReason};
use crate::ui::console;
use crate::vocab::exit;

/// First SIGINT/SIGTERM: stop starting rows and drain. Second: quit at once (the report stays
/// valid: every row is flushed whole as it finishes).
pub fn listen_for_signals(stop: StopFlag) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            tracing::warn!("cannot listen for signals; Ctrl-C will stop the run without a summary");
            return;
        };
        let reason = tokio::select! {
            _ = int.recv() => StopReason::Interrupted,
            _ = term.recv() => StopReason::Terminated,
        };
        stop.request(reason);
        console().note(
            "revoker::signal",
            "revoker: stopping: finishing the requests in flight (signal again to quit at once)",
        );
        let code = tokio::select! {
            _ = int.recv() => exit::SIGINT,
            _ = term.recv() => exit::SIGTERM,
        };
        std::process::exit(code);
    })
}
