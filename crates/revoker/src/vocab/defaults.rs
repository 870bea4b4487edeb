//! Every default of a run, in one place: settings apply them once when they resolve, the engine's
//! own defaults (for tests and tools that build an engine directly) read them from here too.

use std::time::Duration;

/// Requests in flight at most.
pub const CONCURRENCY: usize = 16;
/// Attempts per row, the first included.
pub const MAX_ATTEMPTS: u32 = 5;
/// Time limit of one request.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Time limit to connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// First backoff delay; each later one doubles, with full jitter.
pub const BACKOFF_MIN: Duration = Duration::from_millis(200);
/// Longest backoff delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// `run --plan-file`: a plan older than this is refused.
pub const PLAN_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
