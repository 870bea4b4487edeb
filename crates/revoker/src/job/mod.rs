//! The runner under the command line: a revocation ([`run`]), a verification ([`verify`]), a plan
//! against live state ([`plan`]), a dry run ([`dry_run`]), which report a run writes ([`report_path`]), and signals ([`signals`]). The
//! command line parses, calls these and prints what they return.

pub mod acting;
pub mod apply;
pub mod census;
mod close;
mod confirm;
pub mod dry_run;
pub mod exempt_rows;
mod failure;
mod gate;
pub mod lanes;
pub mod ledger;
pub mod limits;
pub mod own;
pub mod plan;
mod prepare;
pub mod protect;
pub mod reconcile;
pub mod report_path;
pub mod resolve;
mod revoke;
pub mod rotate;
mod rotate_env;
mod rotate_other;
pub mod run;
pub mod select;
pub mod server;
pub mod session;
pub mod signals;
pub mod sweep;
pub mod verify;

pub use failure::Failure;
pub use prepare::PreparedJob;
pub use run::execute_job;
