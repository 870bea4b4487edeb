//! The command-line grammar.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::api::Api;
use crate::engine::Rate;
use crate::input::{ColumnMap, Format, Kind};
use crate::settings::JobFile;
pub use crate::ui::{LogFormat, Output};

const ABOUT: &str = "Revoke MongoDB Cloud Manager, Ops Manager and Atlas credentials in bulk — API keys, \
organization and global keys, service accounts and their secrets, AI model keys — with rate-limited, concurrent, authenticated \
DELETEs, retry, a tamper-evident report, resume, and verification that the keys are gone.";

/// The help's closing text; a production build (without the `demo` feature) has no `revoker demo`
/// to offer.
macro_rules! after_common {
    () => {
        "\
Credentials come from the environment (MCLI_PUBLIC_API_KEY / MCLI_PRIVATE_API_KEY, or MONGODB_ATLAS_PUBLIC_API_KEY / MONGODB_ATLAS_PRIVATE_API_KEY for an API key; MONGODB_ATLAS_CLIENT_ID / MONGODB_ATLAS_CLIENT_SECRET, or MCLI_CLIENT_ID / MCLI_CLIENT_SECRET, for a service account), an Atlas CLI profile (--profile, MONGODB_ATLAS_PROFILE), or --credentials-file; never from the command line.

Exit codes: 0 every row done, not_found or exempt · 1 some rows not finished · 2 usage, configuration, unreadable or changed input, wrong base URL, report conflict, over --max-revocations · 3 aborted: credentials refused (every credential, with one per organization), IP not on the access list, every project refusing, no answer · 4 another run holds the report · 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM."
    };
}

const AFTER: &str = if cfg!(feature = "demo") {
    concat!(after_common!(), "\n\nTry it with no account: revoker demo")
} else {
    after_common!()
};

/// revoker
#[derive(Parser, Debug)]
#[command(name = "revoker", version, about = ABOUT, after_help = AFTER, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output (-v info, -vv debug); RUST_LOG works too.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Format of everything written to stderr: logs, progress, summary, errors.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Revoke the credentials listed in an input file.
    #[command(after_help = RUN_EXAMPLES)]
    Run(Box<RunArgs>),
    /// Ask the server what a run would do: list every project and organization of the input and
    /// say, per row, whether it exists now, is already gone, or cannot be done; sends no DELETE.
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(Box<PlanArgs>),
    /// Select credentials from live state by a policy (expired or unused secrets, keys unused for a
    /// duration, names) and write them as an input for run, each row with why.
    #[command(after_help = SELECT_EXAMPLES)]
    Select(Box<SelectArgs>),
    /// Read the Events API for what compromised credentials did and created (to a fixed point);
    /// write a follow-up input of what to revoke and a hand-over list; sends no DELETE.
    #[command(after_help = SWEEP_EXAMPLES)]
    Sweep(Box<SweepArgs>),
    /// Count every credential-bearing object the credential can list, per organization and
    /// project, as rows a run can take; name what could not be listed and what this build cannot
    /// revoke.
    #[command(
        after_help = "Exit code 0, or 1 when a list could not be read (what was read is still written).\n\nExamples:\n  revoker census --api atlas --org 5f1b2c3d4e5f6a7b8c9d0e1f --every-project --write census.csv\n  revoker census --org 5f1b2c3d4e5f6a7b8c9d0e1f -o json"
    )]
    Census(Box<CensusArgs>),
    /// Resolve scanner findings and alerts (values) to the credentials they are, with your own
    /// credentials, and write them as an input for run, each row naming its finding.
    #[command(after_help = RESOLVE_EXAMPLES)]
    Resolve(Box<ResolveArgs>),
    /// Rotate organization API keys (with the same roles, project assignments and access list),
    /// service-account secrets, AI model keys and agent keys: a replacement delivered to an age
    /// file or a helper, the old one revoked at the cutover.
    #[command(after_help = ROTATE_EXAMPLES)]
    Rotate(Box<RotateArgs>),
    /// Check an input file without sending anything.
    #[command(
        after_help = "Exit code 0 if every row is valid, 1 if any row is bad, 2 if the file cannot be read.\n\nExamples:\n  revoker validate export.csv --kind agent \\\n      --columns project=GROUP_ID,key=KEY_ID\n  revoker validate incident.csv --api atlas -o json \\\n      --kinds +org-api-key,service-account"
    )]
    Validate(ValidateArgs),
    /// List what still exists and record, per finished row of a report, whether its key is gone.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(Box<VerifyArgs>),
    /// Summarise a report: each run's audit record, the latest outcome of every row, the rows not
    /// finished, the last verification, and whether the report is as written.
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),
    /// What a job's ledger still owes across nights, with ages; `abandon` gives rows up by name.
    #[command(after_help = LEDGER_EXAMPLES)]
    Ledger(LedgerArgs),
    /// Run a complete job against an in-process simulator seeded from samples/, and explain it.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Print the manual page (roff), or write one per command into a folder.
    #[command(
        after_help = "Examples:\n  revoker man | man -l -\n  revoker man --dir /usr/local/share/man/man1"
    )]
    Man(ManArgs),
    /// Make a minisign key pair for signing reports (--sign-key); an auditor checks with the
    /// public key and the stock minisign and sha256sum tools.
    #[command(
        after_help = "The secret key is written owner-only, encrypted with the password in REVOKER_SIGN_KEY_PASSWORD when it is set. Keep it where the reports are not: whoever can write both can sign anything. Made as root, it stays root's: the systemd unit hands its service user a copy with LoadCredential= (deploy/systemd/revoker-nightly.service).\n\nExamples:\n  revoker keygen --secret-key /etc/revoker/sign.key --public-key revoker.pub\n  # an auditor checks the signature, then the files it covers (one line,\n  # in the report's folder):\n  minisign -Vm out.csv.manifest -p revoker.pub && sha256sum -c out.csv.manifest\n  # or, telling a run added after signing (exit 6) from a change (exit 5):\n  revoker report out.csv --public-key revoker.pub"
    )]
    Keygen(KeygenArgs),
    /// Print shell completions.
    #[command(after_help = "Example:\n  revoker completions bash > /etc/bash_completion.d/revoker")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

const ROTATE_EXAMPLES: &str = "Each credential moves planned → created → delivered → in_use (or cut_over: no evidence of use, the deadline or the time) → old_revoked → verified, journaled in REPORT.rotate.jsonl; run the same command again to resume.\n\nExit code 0 when every key is verified, 1 when any stopped (the report says why), 2 for usage.\n\nExamples:\n  revoker rotate --api atlas --input keys.csv \\\n      --deliver age:age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n  revoker rotate --api atlas --input keys.csv --deliver 'exec:vault-put secret/atlas' --cutover now\n  revoker rotate --job jobs/rotate.toml   # its [rotate]: input, deliver, cutover, deadline, poll, report";

const RUN_EXAMPLES: &str = "\
Examples:
  # the nightly job: settings in a job file, one report per day, resumed
  revoker run jobs/nightly.toml \\
      --metrics-file /var/lib/node_exporter/textfile_collector/revoker.prom

  # an incident; after Ctrl-C the same command with --resume continues
  revoker run jobs/incident.toml --input compromised.csv
  revoker run jobs/incident.toml --input compromised.csv --resume

  # organization keys and service accounts on Atlas, verified afterwards
  revoker run --input leaked.csv --api atlas --verify \\
      --kinds +org-api-key,service-account,service-account-secret

  # a compliance export with its own column names, all agent keys
  revoker run --input export.csv --kind agent --report out.csv \\
      --columns project=GROUP_ID,key=KEY_ID

  # see what would be sent, and where each setting comes from
  revoker run --input keys.csv --dry-run
  revoker run jobs/nightly.toml --print-config";

const LEDGER_EXAMPLES: &str = "\
A job with `ledger = true` (or `ledger = \"PATH\"`) keeps the rows a run leaves unfinished; the next
run sends them with its input even when the export no longer lists them. Rows leave when done,
not_found or verified, or when abandoned here (recorded with user, host, time and reason).

Examples:
  revoker ledger jobs/nightly.toml
  revoker ledger reports/nightly.ledger.json -o json
  revoker ledger abandon jobs/nightly.toml project-api-key/5f1b…/5f1c… \\
      --reason \"project deleted by its owner, ticket SEC-1234\"";

const PLAN_EXAMPLES: &str = "\
Takes the settings run takes (job file, profile, kinds, credentials, exemptions) and reads what
exists with the list requests verify uses: one per page of each project's or organization's list,
never one per key. The plan is recorded in the audit file beside the report a run with the same
settings writes, so the evidence shows the state before the run; beside a report that already has
rows, in REPORT.plans.jsonl (a plan never changes a report's evidence).

Exit code 0 if a run would revoke or find gone every valid row, 1 if some rows cannot be done
(refused or unreadable lists, lists that prove nothing, invalid rows, kinds not allowed, the run's own
credential), 2/3 as for run.

Examples:
  revoker plan jobs/incident.toml --input compromised.csv
  revoker plan --input leaked.csv --api atlas --exempt break-glass.csv \\
      --kinds +org-api-key -o json";

const SELECT_EXAMPLES: &str = "\
Reads the organizations and projects given with one request per list page (access lists only for
API keys whose other conditions already hold). The flags form one rule: every condition given must
hold. A job's [select] may hold several [[select.rule]] tables: a credential is selected when any
rule holds. Times are compared in UTC; a secret expiring this very second is expired.

Never selected: system-managed service accounts (unless --include-system-managed), and the
credential the selection signs in with.

Exit code 0, 1 if a list could not be read (what was read is still written), 2/3 as for run.

Examples:
  revoker select --org 5f1b2c3d4e5f6a7b8c9d0e1f --api atlas --expired \\
      --write expired.csv
  revoker select --org 5f1b2c3d4e5f6a7b8c9d0e1f --unused-for 30d \\
      --kinds service-account-secret
  revoker select --org 5f1b2c3d4e5f6a7b8c9d0e1f --every-project \\
      --unused-for 90d --kinds project-api-key,org-api-key
  # a job with [select]: selects, revokes, verifies
  revoker run jobs/stale-secrets.toml";

const VERIFY_EXAMPLES: &str = "\
One list request per page of each project's or organization's list, never one per key. A key found
still present is recorded as still_present, so `revoker run … --resume` sends it again.

Exit code 0 if every finished row is confirmed gone, 1 if any is still present or could not be checked,
2/3 as for run.

Examples:
  revoker verify reports/incident-2026-11-25-101500.csv
  revoker verify out.csv --job jobs/incident.toml -o json";

const REPORT_EXAMPLES: &str = "\
Exit codes:
  0  every row's latest outcome is finished (done, not_found, verified, exempt)
  1  rows are left
  2  the report cannot be read, or a usage error
  5  the evidence is not as written: its chain of digests or audit record
     does not hold (the first line that does not match is named), the
     --expect-digest is not in the audit file, or the signature does not
     match the report (--public-key)
  6  --public-key: the signed part is intact, but runs recorded after
     signing are not signed

An auditor checks a signed report with stock tools, in its folder:
  minisign -Vm out.csv.manifest -p revoker.pub && sha256sum -c out.csv.manifest

Examples:
  revoker report reports/nightly-2026-11-24.csv
  revoker report run.csv -o json
  revoker report run.csv --failures hand-over.csv
  revoker report run.csv --html evidence.html
  revoker report out.csv --public-key revoker.pub --expect-digest 3f0c…";

/// How to reach the API, shared by `run` and `verify`; each overrides the job file's.
#[derive(Args, Debug, Default, Clone)]
pub struct ConnectionArgs {
    /// API base URL: …/api/public/v1.0 (Cloud Manager, Ops Manager) or …/api/atlas/v2 (Atlas).
    /// Default: MCLI_OPS_MANAGER_URL + api/public/v1.0, else a profile's, else Cloud Manager's.
    #[arg(long, conflicts_with = "api")]
    pub base_url: Option<String>,
    /// Which API, at its usual address: atlas (https://cloud.mongodb.com/api/atlas/v2) or
    /// cloud-manager.
    #[arg(long, value_enum)]
    pub api: Option<Api>,
    /// Atlas CLI (or mongocli) profile for credentials and settings; also MONGODB_ATLAS_PROFILE.
    #[arg(short = 'P', long)]
    pub profile: Option<String>,
    /// TOML file with public_key and private_key, or client_id and client_secret; owner-only.
    #[arg(long)]
    pub credentials_file: Option<PathBuf>,
    /// Extra trusted CA certificates (PEM), for Ops Manager behind a private CA; also
    /// MCLI_OPS_MANAGER_CA_CERTIFICATE.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// Global rate, e.g. 100/s or 6000/m (default: as fast as the server answers; 429s slow down).
    #[arg(long)]
    pub rate: Option<Rate>,
    /// Rate per project or organization, e.g. 600/m.
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
    /// Sign the report's manifest with this minisign secret key (owner-only) at the end of every
    /// run and verification; an encrypted key's password comes from REVOKER_SIGN_KEY_PASSWORD.
    #[arg(long)]
    pub sign_key: Option<PathBuf>,
    /// The report's server moved to this base URL: without it, a base URL other than the one the
    /// report's runs used is refused.
    #[arg(long)]
    pub api_moved: bool,
}

/// Settings of `revoker run`; each overrides the job file's.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Job file (TOML) with the run's settings; flags override it.
    pub job: Option<PathBuf>,
    /// Rows to revoke: CSV (or TSV), JSON array or JSON Lines; `-` for stdin.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub how: InputArgs,
    /// Report path (CSV); may hold {date}, {time}, {job}. Default: INPUT.report.csv.
    #[arg(short, long)]
    pub report: Option<String>,
    /// Scanner findings to resolve into the input (gitleaks, TruffleHog, Kingfisher, SARIF, GitHub
    /// alerts, plain values); needs --report and --findings-org.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with = "input")]
    pub findings: Vec<PathBuf>,
    /// An organization whose lists resolve the findings; repeatable.
    #[arg(long = "findings-org", value_name = "ORG_ID")]
    pub findings_orgs: Vec<crate::input::ObjectId>,
    /// Continue a run recorded in the report: rows done or not_found are not sent again. With {time}
    /// in the report path, the newest unfinished report of this job and input is continued.
    #[arg(long)]
    pub resume: bool,
    /// With --resume: this input is a new list for the same report (another SHA-256 than the one
    /// its runs read). Without it such a resume is refused, so an earlier input's unsent rows are
    /// never silently dropped.
    #[arg(long, requires = "resume")]
    pub new_input: bool,
    /// Revoke the credential this run signs in with when the input names it: sent last, after
    /// every other row has finished (without this flag such a row is invalid).
    #[arg(long)]
    pub allow_own_credential: bool,
    #[command(flatten)]
    pub safety: SafetyArgs,
    /// Before sending, list live state (as revoker plan does, recorded in the audit file): the
    /// cap and the confirmation then count what exists now.
    #[arg(long)]
    pub plan: bool,
    /// Apply this reviewed plan (`revoker plan --write`): only the rows it will revoke are sent,
    /// and each whose state changed since is `drifted`, never sent. Refused (exit 2) when older
    /// than --plan-max-age, made against another server, credential or input, or its signature
    /// does not verify.
    #[arg(long, value_name = "PLAN", conflicts_with = "plan")]
    pub plan_file: Option<PathBuf>,
    /// The oldest plan --plan-file accepts, e.g. 8h [default: 24h].
    #[arg(long, value_parser = humantime::parse_duration, requires = "plan_file")]
    pub plan_max_age: Option<Duration>,
    /// The minisign public key the plan's signature must verify with (a signed plan needs it).
    #[arg(long, requires = "plan_file")]
    pub plan_public_key: Option<PathBuf>,
    /// Forget what earlier runs learned of this server's rate limits (revoker-limits.json beside
    /// the reports) and learn them again.
    #[arg(long)]
    pub forget_limits: bool,
    /// Do not ask for confirmation on a terminal (without a terminal nothing is ever asked).
    #[arg(short = 'y', long, visible_alias = "force")]
    pub yes: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// After the run, list what still exists and record whether each finished row is gone.
    #[arg(long, overrides_with = "no_verify")]
    pub verify: bool,
    /// Do not verify after the run, whatever the job file says.
    #[arg(long, overrides_with = "verify")]
    pub no_verify: bool,
    /// Write Prometheus text-format metrics here at the end (for node_exporter's textfile collector).
    #[arg(long)]
    pub metrics_file: Option<PathBuf>,
    /// Keep a ledger of the rows left unfinished here, and send its rows with the input (a job
    /// file says `ledger = "PATH"` or `ledger = true`).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Validate and print what would be sent; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the merged settings with where each came from (never a secret) and exit.
    #[arg(long)]
    pub print_config: bool,
    /// No progress and no summary when every row finished (cron then mails only problems).
    #[arg(short, long)]
    pub quiet: bool,
    /// Interval of the progress lines written when stderr is not a terminal.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub progress_every: Duration,
    /// The result as text or one JSON document on stdout.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// What keeps a run from revoking what it must not; shared by `run` and `plan`.
#[derive(Args, Debug, Default, Clone)]
pub struct SafetyArgs {
    /// Credentials never revoked (CSV, JSON or JSON Lines; only the key column is required): exempt
    /// rows are reported as exempt and never sent, and a resume keeps them so.
    #[arg(long)]
    pub exempt: Option<PathBuf>,
    /// Refuse, before sending anything (exit 2), a run that would revoke more than N credentials:
    /// counted by the plan with --plan, else from the valid rows.
    #[arg(long, value_name = "N")]
    pub max_revocations: Option<u64>,
    /// An organization or project never touched (or a file of such ids); repeatable, added to the
    /// job's protect: any row in one (a project of a protected organization included) is refused
    /// before anything is sent (exit 2), every such row named.
    #[arg(long, value_name = "ID|FILE")]
    pub protect: Vec<String>,
}

impl SafetyArgs {
    /// These flags as a job-file layer.
    pub fn layer(&self, mut job: JobFile) -> JobFile {
        job.exempt = self.exempt.clone();
        job.max_revocations = self.max_revocations;
        job.protect = (!self.protect.is_empty()).then(|| self.protect.clone());
        job
    }
}

/// Settings of `revoker plan`; each overrides the job file's.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Job file (TOML) with the run's settings; flags override it.
    pub job: Option<PathBuf>,
    /// Rows a run would revoke: CSV (or TSV), JSON array or JSON Lines.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub how: InputArgs,
    /// The report a run would write (the plan is recorded in its audit file). Default:
    /// INPUT.report.csv.
    #[arg(short, long)]
    pub report: Option<String>,
    /// Plan the resume of that report: rows it finished are not listed.
    #[arg(long)]
    pub resume: bool,
    /// A run would revoke its own credential, last.
    #[arg(long)]
    pub allow_own_credential: bool,
    /// The ledger a run would keep: its owed rows are planned after the input's (a job file says
    /// `ledger = "PATH"` or `ledger = true`).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    #[command(flatten)]
    pub safety: SafetyArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Also write the plan to this file (owner-only, never replacing one), for `run --plan-file`;
    /// signed (PLAN.minisig) with --sign-key.
    #[arg(short, long, value_name = "PLAN")]
    pub write: Option<PathBuf>,
    /// The plan as a table or one JSON document on stdout.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

const SWEEP_EXAMPLES: &str = "Exit code 0 when every organization and project was read, 1 when one could not be (what was found is still written).

Examples:
  revoker sweep --input compromised.csv --since 30d --write followup.csv --api atlas
  revoker sweep --report incident.csv -o json
  revoker run --input followup.csv --kinds +org-api-key,service-account,service-account-secret,database-user";

/// Settings of `revoker sweep`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The compromised credentials: an input file (CSV or JSON, as `run` reads).
    #[arg(long, required_unless_present = "report")]
    pub input: Option<PathBuf>,
    /// The compromised credentials: the rows of a report.
    #[arg(long, conflicts_with = "input")]
    pub report: Option<PathBuf>,
    /// How far back to read events (30d, 72h).
    #[arg(long, default_value = "30d", value_parser = crate::select::rule::span::parse)]
    pub since: Duration,
    /// Write the follow-up input (CSV: project,org,key,secret,kind,why) here, and the hand-over
    /// list beside it (FILE.handover.csv).
    #[arg(short, long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Write the hand-over list here instead.
    #[arg(long, value_name = "FILE", requires = "write")]
    pub handover: Option<PathBuf>,
    /// Job file with the connection settings.
    #[arg(long)]
    pub job: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The activity as text, or one JSON document.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

const RESOLVE_EXAMPLES: &str = "\
Formats (told apart by their content): gitleaks JSON report, TruffleHog v3 JSON lines, Kingfisher
JSON, SARIF 2.1.0, GitHub secret-scanning alerts (the REST list, with secrets), or plain values one
a line. Values are never printed or written: rows name each finding by file:line (or the alert's
URL) and a fingerprint (the first 16 hex digits of the value's SHA-256).

Exit codes: 0 every MongoDB finding resolved · 1 some not resolved (each named with why) or a list
not read · 2 usage or an unreadable file · 3 credentials refused.

Examples:
  revoker resolve gitleaks.json alerts.json --org 5f1b2c3d4e5f6a7b8c9d0e1f --write incident.csv
  revoker run --findings trufflehog.jsonl --findings-org 5f1b2c3d4e5f6a7b8c9d0e1f \\
      --report incident.report.csv --kinds +org-api-key,service-account,service-account-secret";

/// Settings of `revoker resolve`.
#[derive(Args, Debug)]
pub struct ResolveArgs {
    /// Findings files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// An organization whose lists are read (API keys, service accounts and their secrets, its
    /// projects' AI model keys); repeatable.
    #[arg(long = "org", value_name = "ORG_ID")]
    pub orgs: Vec<crate::input::ObjectId>,
    /// Where the rows go (a new file, CSV; never replaced); default: stdout.
    #[arg(short, long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Try each resolved private key (with its listed public key) and secret (with its client id)
    /// once against the API's root, to learn whether it is live; recorded beside the finding.
    #[arg(long)]
    pub validate_leaked: bool,
    /// Job file (TOML) whose connection settings apply.
    #[arg(long)]
    pub job: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The rows as CSV on stdout (text), or one JSON document with every finding's fate.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Settings of `revoker select`.
#[derive(Args, Debug)]
pub struct SelectArgs {
    /// Job file (TOML) whose connection settings and [select] policy apply; flags add to it.
    pub job: Option<PathBuf>,
    /// An organization to read (service accounts, their secrets, API keys); repeatable.
    #[arg(long = "org", value_name = "ORG_ID")]
    pub orgs: Vec<crate::input::ObjectId>,
    /// A project to read (API keys, agent keys, AI model keys); repeatable.
    #[arg(long = "project", value_name = "PROJECT_ID")]
    pub projects: Vec<crate::input::ObjectId>,
    /// Read every project of each --org too.
    #[arg(long)]
    pub every_project: bool,
    /// Also consider system-managed service accounts (never selected otherwise).
    #[arg(long)]
    pub include_system_managed: bool,
    /// Kinds to select (comma-separated; default: every kind the conditions apply to).
    #[arg(long, value_parser = parse_kinds)]
    pub kinds: Option<KindList>,
    /// Secrets past their expiry.
    #[arg(long)]
    pub expired: bool,
    /// Secrets expiring within this long (7d, 12h).
    #[arg(long, value_name = "DURATION", value_parser = crate::select::rule::span::parse)]
    pub expiring_within: Option<Duration>,
    /// Created longer ago than this (secrets, service accounts, agent and AI model keys).
    #[arg(long, value_name = "DURATION", value_parser = crate::select::rule::span::parse)]
    pub created_before: Option<Duration>,
    /// Not used for this long (secrets, AI model keys; API keys by their access list).
    #[arg(long, value_name = "DURATION", value_parser = crate::select::rule::span::parse)]
    pub unused_for: Option<Duration>,
    /// Never used (no lastUsedAt; API keys: no access-list use).
    #[arg(long)]
    pub never_used: bool,
    /// Service accounts whose every secret is expired.
    #[arg(long)]
    pub all_secrets_expired: bool,
    /// API keys without any access-list entry.
    #[arg(long)]
    pub no_access_list: bool,
    /// Name pattern (`*`, `?`, case ignored).
    #[arg(long, value_name = "PATTERN")]
    pub name: Option<String>,
    /// Description pattern (`*`, `?`, case ignored).
    #[arg(long, value_name = "PATTERN")]
    pub description: Option<String>,
    /// Where the selection goes (CSV, or JSON Lines for .jsonl); default: stdout.
    #[arg(short, long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// An organization or project never touched (or a file of such ids); repeatable, added to the
    /// job's protect: a selection with a credential in one is refused (exit 2), each named.
    #[arg(long, value_name = "ID|FILE")]
    pub protect: Vec<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The selection as CSV on stdout (text), or one JSON document with the counts.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// `revoker census`.
#[derive(Debug, Args)]
pub struct CensusArgs {
    /// Job file (TOML) whose connection settings apply.
    pub job: Option<PathBuf>,
    /// An organization to read; repeatable.
    #[arg(long = "org", value_name = "ORG_ID")]
    pub orgs: Vec<crate::input::ObjectId>,
    /// Read every project of each --org too.
    #[arg(long)]
    pub every_project: bool,
    /// Where the rows go (CSV, or JSON Lines for .jsonl), created owner-only; never replaced.
    #[arg(short, long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The rows as CSV on stdout (text), or one JSON document with the rows and counts.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

impl SelectArgs {
    /// The rule the flags form, if they set any condition.
    pub fn rule(&self) -> Option<crate::select::rule::Rule> {
        let on = |b: bool| b.then_some(true);
        let rule = crate::select::rule::Rule {
            kinds: self.kinds.clone().map(|k| k.0),
            expired: on(self.expired),
            expiring_within: self.expiring_within,
            created_before: self.created_before,
            unused_for: self.unused_for,
            never_used: on(self.never_used),
            all_secrets_expired: on(self.all_secrets_expired),
            no_access_list: on(self.no_access_list),
            name: self.name.clone(),
            description: self.description.clone(),
        };
        let bare = crate::select::rule::Rule {
            kinds: rule.kinds.clone(),
            ..Default::default()
        };
        (rule != bare).then_some(rule)
    }
}

fn parse_columns(text: &str) -> Result<ColumnMap, String> {
    text.parse()
}

/// What a file holds and how to read it (shared by `run`, `validate` and `sim --keys`).
#[derive(Args, Debug, Default, Clone)]
pub struct InputArgs {
    /// Input format (default: from the extension, else from the first byte).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// CSV field separator: , ; | or \t (default: detected from the header line; tab for .tsv).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Column names of the export, e.g. project=GROUP_ID,key=KEY_ID,kind=TYPE (fields: project, org,
    /// key, secret, kind).
    #[arg(long, value_parser = parse_columns)]
    pub columns: Option<ColumnMap>,
    /// Kind for rows without one (project-api-key, agent-api-key, org-api-key, service-account,
    /// service-account-secret, project-service-account, project-service-account-secret,
    /// ai-model-api-key, global-api-key, org-mcp-secret, project-mcp-secret, database-user, or an
    /// alias).
    #[arg(long, value_parser = KindParser, hide_possible_values = true)]
    pub kind: Option<Kind>,
    /// Kinds allowed (comma-separated); rows of other kinds are invalid. The destructive kinds
    /// (org-api-key, service-account, the secrets, ai-model-api-key, global-api-key) are sent only
    /// when named here. A leading + adds to the default (project-api-key, agent-api-key,
    /// project-service-account: unassignments): --kinds +org-api-key,service-account.
    #[arg(long, value_parser = parse_kinds)]
    pub kinds: Option<KindList>,
}

/// The kinds of `--kinds`.
#[derive(Clone, Debug)]
pub struct KindList(pub Vec<Kind>);

/// `a,b` exactly these kinds; `+a,b` the default kinds and these.
/// `--kind`: a kind or one of its aliases, as before; shell completions offer the kinds' names
/// (not file names).
#[derive(Clone)]
struct KindParser;

impl clap::builder::TypedValueParser for KindParser {
    type Value = Kind;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Kind, clap::Error> {
        let parse = |text: &str| text.parse::<Kind>();
        parse.parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            Kind::ALL
                .into_iter()
                .map(|k| clap::builder::PossibleValue::new(k.as_str())),
        ))
    }
}

fn parse_kinds(text: &str) -> Result<KindList, String> {
    let (add, list) = match text.trim().strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut kinds: Vec<Kind> = if add {
        Kind::ALL
            .into_iter()
            .filter(|k| !k.is_destructive())
            .collect()
    } else {
        Vec::new()
    };
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        // `+a,+b` reads as `+a,b`; a `+` inside a list of exactly these kinds is a mix-up.
        let name = match (add, name.strip_prefix('+')) {
            (true, Some(rest)) => rest.trim(),
            (false, Some(_)) => {
                return Err(format!(
                    "{text:?}: a + adds to the default kinds and goes first (+{}); without it the list is exactly the kinds named",
                    list.replace('+', "")
                ));
            }
            (_, None) => name,
        };
        let kind = Kind::parse(name)
            .ok_or_else(|| format!("unknown kind {name:?} (expected {})", Kind::names()))?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(KindList(kinds))
}

impl InputArgs {
    /// These flags as a job-file layer.
    pub fn layer(&self) -> JobFile {
        JobFile {
            format: self.format,
            delimiter: self.delimiter.clone(),
            columns: self.columns.clone().unwrap_or_default(),
            kind: self.kind,
            kinds: self.kinds.clone().map(|k| k.0),
            ..JobFile::default()
        }
    }
}

impl ConnectionArgs {
    /// These flags as a job-file layer.
    pub fn layer(&self, mut job: JobFile) -> JobFile {
        job.base_url = self.base_url.clone();
        job.api = self.api;
        job.profile = self.profile.clone();
        job.credentials_file = self.credentials_file.clone();
        job.ca_cert = self.ca_cert.clone();
        job.rate = self.rate;
        job.project_rate = self.project_rate;
        job.concurrency = self.concurrency;
        job.max_attempts = self.max_attempts;
        job.timeout = self.timeout;
        job.connect_timeout = self.connect_timeout;
        job.envelope = self.envelope.then_some(true);
        job.sign_key = self.sign_key.clone();
        job.api_moved = self.api_moved.then_some(true);
        job
    }
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The file to check; `-` for stdin.
    pub input: PathBuf,
    #[command(flatten)]
    pub how: InputArgs,
    /// The API the rows are for (agent API keys do not exist on Atlas).
    #[arg(long, value_enum)]
    pub api: Option<Api>,
    /// The result as text or one JSON document on stdout.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The report (CSV) whose finished rows to verify.
    pub report: PathBuf,
    /// Reconcile with MongoDB's Events API instead: each done row with its deletion event by the
    /// run's credential, each such deletion with a row; changes nothing.
    #[arg(long)]
    pub events: bool,
    /// Job file with the connection settings (base URL, profile, credentials file, rates).
    #[arg(long)]
    pub job: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The result as text or one JSON document on stdout.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    /// The credentials to rotate (CSV: kind, scope, key, secret) [or the job's [rotate] input].
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Where the new secrets go: age:RECIPIENT[,…] (an age file per credential beside the
    /// report) or exec:COMMAND (a helper fed JSON on stdin, delivered when it exits 0).
    #[arg(long)]
    pub deliver: Option<String>,
    /// now (revoke first, then issue), after-use (once the replacement shows use) or at:TIME
    /// [default: after-use].
    #[arg(long)]
    pub cutover: Option<String>,
    /// After-use: revoke the old key at the latest this long after delivery [default: 7d].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub deadline: Option<Duration>,
    /// How often a waiting cutover reads the access lists [default: 30s].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub poll: Option<Duration>,
    /// The rotation report (CSV, appended); its journal is REPORT.rotate.jsonl [default:
    /// rotation.csv].
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// An organization or project never touched (or a file of such ids); repeatable, added to the
    /// job's protect: a row in one is refused before anything is created or sent (exit 2).
    #[arg(long, value_name = "ID|FILE")]
    pub protect: Vec<String>,
    /// Job file with the connection settings and a [rotate] section (input, deliver, cutover,
    /// deadline, poll, report); flags override it.
    #[arg(long)]
    pub job: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The result as text or one JSON document on stdout.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The report (CSV) of a run.
    pub report: PathBuf,
    /// Print JSON instead of text (the same as -o json).
    #[arg(long)]
    pub json: bool,
    /// The result as text or one JSON document on stdout.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Write the rows not finished as a new input file (CSV), reading the input for rows a stopped
    /// run never attempted.
    #[arg(long)]
    pub failures: Option<PathBuf>,
    /// Write a self-contained HTML page for reviewers: audit records, counts per run, unfinished
    /// rows, verification, chain digest.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Check the signed manifest (REPORT.manifest.minisig) with this minisign public key: the
    /// signature, then that the report and audit file are byte for byte what was signed.
    #[arg(long)]
    pub public_key: Option<PathBuf>,
    /// Check that the audit file holds a line with this SHA-256: an evidence digest a run printed,
    /// kept elsewhere (a cut tail, a recomputed chain or a rewritten end record loses it).
    #[arg(long, value_name = "SHA256")]
    pub expect_digest: Option<String>,
    /// With --html: the job's ledger (JSON), whose owed rows and expired exemptions the page
    /// shows first.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LedgerArgs {
    #[command(subcommand)]
    pub action: Option<LedgerAction>,
    /// The ledger (JSON), or a job file whose ledger to read.
    pub ledger: Option<PathBuf>,
    /// The result as text or one JSON document on stdout.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(clap::Subcommand, Debug)]
pub enum LedgerAction {
    /// Take rows out of the ledger by name; each is recorded with who (user, host), when and why.
    Abandon {
        /// The ledger (JSON), or a job file whose ledger to change.
        ledger: PathBuf,
        /// Rows as `revoker ledger` lists them (kind/scope/key[/secret]), or a key that names
        /// exactly one owed row.
        #[arg(required = true)]
        rows: Vec<String>,
        /// Why they are given up (kept in the ledger).
        #[arg(long, required = true)]
        reason: String,
    },
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo's report and inputs (default: a new temporary folder, kept).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// No progress bar (the summary and the explanation are still printed).
    #[arg(short, long)]
    pub quiet: bool,
    /// Authenticate with a service account (OAuth 2.0) instead of an API key (digest).
    #[arg(long)]
    pub service_account: bool,
}

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where the secret key goes (must not exist).
    #[arg(long)]
    pub secret_key: PathBuf,
    /// Where the public key goes (must not exist).
    #[arg(long)]
    pub public_key: PathBuf,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write revoker.1 and one page per command (revoker-run.1, …) into this folder.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_offers_the_demo_only_in_a_build_that_has_it() {
        assert_eq!(AFTER.contains("revoker demo"), cfg!(feature = "demo"));
        assert!(AFTER.starts_with("Credentials come from the environment"));
    }

    #[test]
    fn a_plus_on_each_kind_adds_them_all_and_a_plus_inside_an_exact_list_is_refused() {
        let both = parse_kinds("+org-api-key,+service-account-secret").unwrap();
        let one = parse_kinds("+org-api-key,service-account-secret").unwrap();
        assert_eq!(both.0, one.0);
        assert!(both.0.contains(&Kind::ServiceAccountSecret));
        assert!(both.0.contains(&Kind::ProjectApiKey));
        let err = parse_kinds("org-api-key,+service-account").unwrap_err();
        assert!(
            err.contains("a + adds to the default kinds and goes first"),
            "{err}"
        );
    }
}
