//! The exit codes (DESIGN.md), in one place for every layer. Errors carry theirs through
//! [`ExitCode`]; nothing else writes a number.

/// Every row done, not_found or verified: none left.
pub const OK: i32 = 0;
/// Some rows not finished (failed, rejected, invalid, still present, never attempted).
pub const UNFINISHED: i32 = 1;
/// Usage, configuration, unreadable or changed input, wrong base URL or another server than the
/// report's, a cap exceeded, a report conflict.
pub const USAGE: i32 = 2;
/// Aborted: credentials refused, IP not on the access list, every scope refusing, no answer.
pub const ABORTED: i32 = 3;
/// Another run holds the report.
pub const LOCKED: i32 = 4;
/// `report`'s check of the evidence failed: the chain or the audit record broken, a kept evidence
/// digest not found, a signature that does not match, or no signature where one was asked for.
pub const TAMPERED: i32 = 5;
/// `report --public-key`: the signed part is intact, but runs recorded after signing are not
/// signed (a run or verification without the key).
pub const PARTLY_SIGNED: i32 = 6;
/// Stopped by SIGHUP after draining.
pub const SIGHUP: i32 = 129;
/// Stopped by SIGINT after draining.
pub const SIGINT: i32 = 130;
/// Stopped by SIGTERM after draining.
pub const SIGTERM: i32 = 143;

/// An error or an end that knows the exit code it means.
pub trait ExitCode {
    fn exit_code(&self) -> i32;
}
