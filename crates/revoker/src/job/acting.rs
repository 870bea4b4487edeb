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
