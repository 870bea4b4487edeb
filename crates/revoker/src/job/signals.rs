//! Signals: the first SIGINT, SIGTERM or SIGHUP stops starting rows and drains the requests in
//! flight; a second quits at once (the report stays valid: every row is flushed whole as it
//! finishes).

use crate::engine::{StopFlag, StopReason};
use crate::ui::console;
use crate::vocab::exit;

/// What a second signal says before quitting: every row written is whole, the rows in flight are in
/// doubt, and a resume sorts them out (the journal makes a lost answer `done`, never a second delete).
pub const QUIT_AT_ONCE: &str = "revoker: quitting at once: the report is valid (every row in it is whole); the requests in flight are in doubt and not in it; the same command with --resume sends what is left";

/// First SIGINT/SIGTERM: stop starting rows and drain. Second: quit at once (the report stays
/// valid: every row is flushed whole as it finishes).
pub fn listen_for_signals(stop: StopFlag) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            tracing::warn!("cannot listen for signals; Ctrl-C will stop the run without a summary");
            return;
        };
        let reason = tokio::select! {
            _ = int.recv() => StopReason::Interrupted,
            _ = term.recv() => StopReason::Terminated,
            _ = hup.recv() => StopReason::HungUp,
        };
        stop.request(reason);
        console().note(
            "revoker::signal",
            "revoker: stopping: finishing the requests in flight (signal again to quit at once)",
        );
        let code = tokio::select! {
            _ = int.recv() => exit::SIGINT,
            _ = term.recv() => exit::SIGTERM,
            _ = hup.recv() => exit::SIGHUP,
        };
        console().note("revoker::signal", QUIT_AT_ONCE);
        std::process::exit(code);
    })
}
