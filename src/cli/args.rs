//! The command-line grammar.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::Rate;
use crate::input::{ColumnMap, Format, Kind};
use crate::sim::{ChallengeStyle, Fault, RetryAfterStyle};

const ABOUT: &str = "Revoke MongoDB Cloud Manager / Ops Manager API keys in bulk: rate-limited, concurrent, \
digest-authenticated DELETEs with retry, a results report, and resume.";

const AFTER: &str = "\
Credentials come from MCLI_PUBLIC_API_KEY / MCLI_PRIVATE_API_KEY, then MONGODB_ATLAS_PUBLIC_API_KEY / MONGODB_ATLAS_PRIVATE_API_KEY, or --credentials-file; never from the command line.

Exit codes: 0 every row done or not_found · 1 some rows not finished · 2 usage, configuration, unreadable input or report conflict · 3 credentials rejected · 130/143 stopped by SIGINT/SIGTERM.

Try it with no account: revoker demo";

/// revoker
#[derive(Parser, Debug)]
#[command(name = "revoker", version, about = ABOUT, after_help = AFTER, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output (-v info, -vv debug); RUST_LOG works too.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Revoke the keys listed in an input file.
    #[command(after_help = RUN_EXAMPLES)]
    Run(Box<RunArgs>),
    /// Check an input file without sending anything.
    #[command(
        after_help = "Exit code 0 if every row is valid, 1 if any row is bad, 2 if the file cannot be read.\n\nExample:\n  revoker validate export.csv --columns project=GROUP_ID,key=KEY_ID --kind agent"
    )]
    Validate(ValidateArgs),
    /// Summarise a report: each run, the latest outcome of every row, the rows not finished.
    #[command(
        after_help = "Exit code 0 if every row's latest outcome is done or not_found, 1 otherwise, 2 if the report cannot be read.\n\nExamples:\n  revoker report reports/nightly-2026-11-24.csv\n  revoker report run.csv --json\n  revoker report run.csv --failures hand-over.csv"
    )]
    Report(ReportArgs),
    /// Run the simulated Cloud Manager on loopback (for tests, benchmarks and trying things out).
    #[command(after_help = SIM_EXAMPLES)]
    Sim(Box<SimArgs>),
    /// Run a complete job against an in-process simulator seeded from samples/, and explain it.
    Demo(DemoArgs),
    /// Print shell completions.
    #[command(after_help = "Example:\n  revoker completions bash > /etc/bash_completion.d/revoker")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

const RUN_EXAMPLES: &str = "\
Examples:
  # the nightly job: settings in a job file, one report per day, resumed if it already exists
  revoker run jobs/nightly.toml

  # an incident: as fast as the API allows, per-project limit, watch the bar
  revoker run jobs/incident.toml --input compromised.csv

  # a compliance export with its own column names, all agent keys
  revoker run --input export.csv --columns project=GROUP_ID,key=KEY_ID --kind agent --report out.csv

  # pick up an interrupted or partly failed run where it left off
  revoker run --input keys.csv --report out.csv --resume

  # see what would be sent
  revoker run --input keys.csv --dry-run";

const SIM_EXAMPLES: &str = "\
The first line on stdout is the base URL. Defaults: --public-key simpublic, --private-key sim-private-key.

Examples:
  revoker sim --generate 1000 --write-keys keys.csv
  revoker sim --keys samples/keys.csv --error-rate 0.3 --rate-limit-per-minute 600 --retry-after 2
  revoker sim --keys keys.csv --fault stall=0.01 --fault lost-answer=0.02 --latency-ms 50";

/// Settings of `revoker run`; each overrides the job file's.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Job file (TOML) with the run's settings; flags override it.
    pub job: Option<PathBuf>,
    /// Rows to revoke: CSV, JSON array or JSON Lines; `-` for stdin.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub how: InputArgs,
    /// Report path (CSV); may hold {date}, {time}, {job}. Default: INPUT.report.csv.
    #[arg(short, long)]
    pub report: Option<String>,
    /// Continue the run recorded in the report: rows done or not_found are not sent again.
    #[arg(long)]
    pub resume: bool,
    /// API base URL (default: MCLI_OPS_MANAGER_URL + /api/public/v1.0, else Cloud Manager's).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Global rate, e.g. 100/s or 6000/m (default: as fast as the server answers; a 429 slows down).
    #[arg(long)]
    pub rate: Option<Rate>,
    /// Rate per project, e.g. 600/m.
    #[arg(long)]
    pub project_rate: Option<Rate>,
    /// Requests in flight at most [default: 16].
    #[arg(short, long)]
    pub concurrency: Option<usize>,
    /// Attempts per row, the first included [default: 5].
    #[arg(long)]
    pub max_attempts: Option<u32>,
    /// Time limit per request, e.g. 30s [default: 30s].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
    /// Time limit to connect [default: 10s].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub connect_timeout: Option<Duration>,
    /// Ask for envelope=true answers and classify by their inner status.
    #[arg(long)]
    pub envelope: bool,
    /// Extra trusted CA certificates (PEM), for Ops Manager behind a private CA.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// TOML file with public_key and private_key, readable by its owner only.
    #[arg(long)]
    pub credentials_file: Option<PathBuf>,
    /// Validate and print what would be sent; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the merged settings (never the private key) and exit.
    #[arg(long)]
    pub print_config: bool,
    /// No progress and no summary when every row finished (cron then mails only failures).
    #[arg(short, long)]
    pub quiet: bool,
    /// Interval of the progress lines written when stderr is not a terminal.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub progress_every: Duration,
}

fn parse_columns(text: &str) -> Result<ColumnMap, String> {
    text.parse()
}

/// What a file holds and how to read it (shared by `validate` and `sim --keys`).
#[derive(Args, Debug, Default, Clone)]
pub struct InputArgs {
    /// Input format (default: from the extension, else from the first byte).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Column names of the export, e.g. project=GROUP_ID,key=KEY_ID,kind=TYPE.
    #[arg(long, value_parser = parse_columns)]
    pub columns: Option<ColumnMap>,
    /// Kind for rows without one: project-api-key or agent-api-key (or an alias).
    #[arg(long)]
    pub kind: Option<Kind>,
    /// Kinds allowed (comma-separated); rows of other kinds are invalid.
    #[arg(long, value_delimiter = ',')]
    pub kinds: Option<Vec<Kind>>,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The file to check; `-` for stdin.
    pub input: PathBuf,
    #[command(flatten)]
    pub how: InputArgs,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The report (CSV) of a run.
    pub report: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write the rows not finished as a new input file (CSV) to hand over or run elsewhere.
    #[arg(long)]
    pub failures: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SimArgs {
    /// Address to listen on; loopback only unless --allow-remote.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Allow a non-loopback listen address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Seed keys from a file (any input format).
    #[arg(long)]
    pub keys: Option<PathBuf>,
    #[command(flatten)]
    pub how: InputArgs,
    /// Generate N keys (spread over --projects projects, both kinds).
    #[arg(long)]
    pub generate: Option<u64>,
    /// Projects for --generate.
    #[arg(long, default_value_t = 10)]
    pub projects: u64,
    /// Write the generated keys to this CSV file (an input for `revoker run`).
    #[arg(long)]
    pub write_keys: Option<PathBuf>,
    /// The public key accepted.
    #[arg(long, default_value = crate::sim::DEFAULT_PUBLIC_KEY)]
    pub public_key: String,
    /// The private key accepted (a test credential, fine on the command line).
    #[arg(long, default_value = crate::sim::DEFAULT_PRIVATE_KEY)]
    pub private_key: String,
    /// Fixed latency per request.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Random extra latency up to this.
    #[arg(long, default_value_t = 0)]
    pub latency_jitter_ms: u64,
    /// Fraction (0-1) of requests answered with --error-status.
    #[arg(long, default_value_t = 0.0, value_parser = crate::sim::parse_rate)]
    pub error_rate: f64,
    #[arg(long, default_value_t = 503)]
    pub error_status: u16,
    /// Fraction (0-1) of requests whose connection is closed without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = crate::sim::parse_rate)]
    pub reset_rate: f64,
    /// Requests per minute per API key (429 beyond).
    #[arg(long)]
    pub rate_limit_per_minute: Option<u32>,
    /// Requests per minute per project (429 beyond).
    #[arg(long)]
    pub project_rate_limit_per_minute: Option<u32>,
    /// Send Retry-After: SECONDS on 429s.
    #[arg(long)]
    pub retry_after: Option<u64>,
    /// How Retry-After is written.
    #[arg(long, value_enum, default_value_t = RetryAfterStyle::Seconds)]
    pub retry_after_style: RetryAfterStyle,
    /// Nonce lifetime in seconds (then 401 stale=true).
    #[arg(long)]
    pub nonce_ttl: Option<u64>,
    /// Answer 403 for this project (repeatable).
    #[arg(long)]
    pub forbid_project: Vec<crate::input::ObjectId>,
    /// More faults, as NAME=RATE (repeatable): lost-answer, stall, truncate, html500, bad-envelope,
    /// huge-body, redirect, throttle.
    #[arg(long, value_parser = Fault::parse_spec)]
    pub fault: Vec<(Fault, f64)>,
    /// The digest challenge issued.
    #[arg(long, value_enum, default_value_t = ChallengeStyle::Md5)]
    pub challenge: ChallengeStyle,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo's report and inputs (default: a new temporary folder, kept).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// No progress bar (the summary and the explanation are still printed).
    #[arg(short, long)]
    pub quiet: bool,
}
