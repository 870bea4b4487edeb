//! What a command needs to act, below every command: the engine's context over the client, and the
//! signing key read before anything is sent.

use std::sync::Arc;

use crate::api::Client;
use crate::engine::{self, StopFlag};
use crate::job::Failure;
use crate::report::signature;
use crate::settings::Settings;

/// The engine's context for a run (or a verification) over `scopes` projects and organizations.
pub fn context(
    settings: &Settings,
    client: &Arc<Client>,
    stop: &StopFlag,
    scopes: u64,
) -> Arc<engine::Context> {
    Arc::new(engine::Context::new(
        client.clone(),
        settings.engine_config(),
        stop.clone(),
        scopes,
    ))
}

/// The signing key of the settings, read now: one that cannot sign stops the run before it starts.
pub fn load_sign_key(settings: &Settings) -> Result<Option<Arc<signature::SigningKey>>, Failure> {
    settings
        .run
        .sign_key
        .as_deref()
        .map(|path| signature::SigningKey::load(path).map(Arc::new))
        .transpose()
        .map_err(Failure::usage)
}

/// A read-only command's connection (`census`, `select`, `resolve`): one client with the
/// settings' credential, its stop flag fed by signals, and the engine's context over them.
pub struct Reading {
    pub ctx: Arc<engine::Context>,
    client: Arc<Client>,
    stop: StopFlag,
    signals: tokio::task::JoinHandle<()>,
}

impl Reading {
    pub fn open(settings: &Settings) -> Result<Reading, Failure> {
        let found = settings.credential.as_ref().map_err(Failure::usage)?;
        let client = Arc::new(Client::new(
            &settings.api_config(found),
            Arc::new(crate::figures::Figures::default()),
        )?);
        let stop = StopFlag::default();
        let signals = super::signals::listen_for_signals(stop.clone());
        let ctx = context(settings, &client, &stop, 2);
        Ok(Reading {
            ctx,
            client,
            stop,
            signals,
        })
    }

    /// Revokes any token fetched and stops listening for signals (call it on every path, errors
    /// after it); answers a stop's exit code.
    pub async fn close(self) -> Option<i32> {
        use crate::vocab::ExitCode as _;
        if let Some(warning) = self.client.finish().await {
            tracing::warn!("{warning}");
        }
        self.signals.abort();
        self.stop.reason().map(|r| r.exit_code())
    }
}
