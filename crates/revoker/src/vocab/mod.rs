//! The vocabulary every layer shares: kinds, ids and targets ([`ids`]), rates ([`rate`]), what
//! became of a row ([`outcome`]) and the exit codes ([`exit`]). It depends on nothing else in the
//! crate.

pub mod defaults;
pub mod exit;
mod ids;
mod outcome;
mod rate;

pub use exit::ExitCode;
pub use ids::{
    CLIENT_ID_PREFIX, Identity, Kind, MAX_DB_USER, MAX_MODEL_KEY, NO_SCOPE, ObjectId, Scope,
    Target, parse_client_id, parse_db_user, parse_model_key,
};
pub use outcome::Outcome;
pub use rate::Rate;
