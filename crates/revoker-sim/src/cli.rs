//! `revoker-sim`: the simulator on loopback, seeded from a keys file or generated keys.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::model::Oid;
use crate::{
    Bucket, ChallengeStyle, Fault, ListFault, RetryAfterStyle, Seed, Sim, SimConfig, seed,
};

const SIM_EXAMPLES: &str = "\
The first line on stdout is the Cloud Manager base URL; the second the Atlas one. Defaults: API key
simpublic / sim-private-key, service account mdb_sa_id_5e00000000000000000000aa / mdb_sa_sk_sim-client-secret.

Examples:
  revoker-sim --generate 1000 --write-keys keys.csv
  revoker-sim --keys samples/incident-export.csv --scope-bucket 10:10/s --ratelimit-headers
  revoker-sim --keys keys.csv --fault stall=0.01 --fault lost-answer=0.02 --latency-ms 50
  revoker-sim --keys keys.csv --date-form secrets=epoch-ms --refuse-lists 5e0000000000000000000001=403
  revoker-sim --keys keys.csv --hostile-seed 7      # a reproducible hostile set, printed on stderr

GET /__sim/state (loopback clients only) answers the ground truth: every credential held now, every
deletion with its time, credential, path and what it destroyed, and every DELETE sent.";

fn parse_field(text: &str) -> Result<(String, serde_json::Value), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=JSON"))?;
    let value = serde_json::from_str(value).map_err(|e| format!("{value:?}: {e}"))?;
    Ok((name.trim().to_string(), value))
}

fn parse_db_user(text: &str) -> Result<(Oid, crate::events::DbUser), String> {
    let (project, user) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not PROJECT:DATABASE/USERNAME"))?;
    let (db, name) = user
        .split_once('/')
        .filter(|(d, n)| !d.is_empty() && !n.is_empty())
        .ok_or_else(|| format!("{user:?} is not DATABASE/USERNAME"))?;
    Ok((parse_oid(project)?, (db.to_string(), name.to_string())))
}

fn parse_oid(text: &str) -> Result<Oid, String> {
    Oid::parse(text.trim()).ok_or_else(|| format!("{text:?} is not an id (24 hexadecimal digits)"))
}

/// A simulated Cloud Manager / Ops Manager (API v1.0) and Atlas Administration API (v2) on
/// loopback, answering as MongoDB documents: for tests, benchmarks and trying revoker out.
///
/// The first two lines on stdout are its base URLs (v1.0, then v2).
#[derive(Parser, Debug)]
#[command(name = "revoker-sim", version, after_help = SIM_EXAMPLES)]
pub struct SimArgs {
    /// Address to listen on; loopback only unless --allow-remote.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Allow a non-loopback listen address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Seed keys from a file: CSV with a header, a JSON array or JSON Lines, with the columns
    /// project (or groupId), org (or orgId), key (or id, clientId), secret and kind.
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Seed events (an attacker's trail among benign events): JSON Lines, one event a line as the
    /// Events API answers it (`id`, `created`, `eventTypeName`, `orgId` or `groupId`, the actor's
    /// `apiKeyId`/`publicKey` or `userId`/`username`, …).
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Seed a database user: PROJECT:DATABASE/USERNAME (Atlas's `listDatabaseUsers`); repeatable.
    #[arg(long, value_parser = parse_db_user)]
    pub database_user: Vec<(Oid, crate::events::DbUser)>,
    /// Generate N keys (spread over --projects projects, project and agent keys).
    #[arg(long)]
    pub generate: Option<u64>,
    /// Projects for --generate.
    #[arg(long, default_value_t = 10)]
    pub projects: u64,
    /// Write the generated keys to this CSV file (an input for `revoker run`).
    #[arg(long)]
    pub write_keys: Option<PathBuf>,
    /// The public key accepted.
    #[arg(long, default_value = crate::DEFAULT_PUBLIC_KEY)]
    pub public_key: String,
    /// The private key accepted (a test credential, fine on the command line).
    #[arg(long, default_value = crate::DEFAULT_PRIVATE_KEY)]
    pub private_key: String,
    /// The service account client id accepted.
    #[arg(long, default_value = crate::DEFAULT_CLIENT_ID)]
    pub client_id: String,
    /// The service account secret accepted (a test credential).
    #[arg(long, default_value = crate::DEFAULT_CLIENT_SECRET)]
    pub client_secret: String,
    /// Lifetime of the access tokens issued, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_ttl: u64,
    /// Fixed latency per request.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Random extra latency up to this.
    #[arg(long, default_value_t = 0)]
    pub latency_jitter_ms: u64,
    /// Fraction (0-1) of requests answered with --error-status.
    #[arg(long, default_value_t = 0.0, value_parser = crate::parse_rate)]
    pub error_rate: f64,
    #[arg(long, default_value_t = 503)]
    pub error_status: u16,
    /// Fraction (0-1) of requests whose connection is closed without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = crate::parse_rate)]
    pub reset_rate: f64,
    /// Token bucket per API key or service account, CAPACITY:REFILL (e.g. 100:100/s).
    #[arg(long)]
    pub user_bucket: Option<Bucket>,
    /// Token bucket per project and per organization, CAPACITY:REFILL (e.g. 10:10/s).
    #[arg(long, alias = "project-bucket")]
    pub scope_bucket: Option<Bucket>,
    /// Limit only this project or organization with --scope-bucket (repeatable; default: all).
    #[arg(long, value_parser = parse_oid)]
    pub limit_scope: Vec<Oid>,
    /// Requests per minute per API key, a bucket of one second's worth (older form of --user-bucket).
    #[arg(long)]
    pub rate_limit_per_minute: Option<u32>,
    /// Requests per minute per project (older form of --scope-bucket).
    #[arg(long)]
    pub project_rate_limit_per_minute: Option<u32>,
    /// Send RateLimit-Limit and RateLimit-Remaining on every answer.
    #[arg(long)]
    pub ratelimit_headers: bool,
    /// Send Retry-After: SECONDS on 429s (default: the time until the bucket has a token).
    #[arg(long)]
    pub retry_after: Option<u64>,
    /// How Retry-After is written.
    #[arg(long, value_enum, default_value_t = RetryAfterStyle::Seconds)]
    pub retry_after_style: RetryAfterStyle,
    /// Nonce lifetime in seconds (then 401 stale=true).
    #[arg(long)]
    pub nonce_ttl: Option<u64>,
    /// Answer 403 for this project or organization (repeatable).
    #[arg(long, value_parser = parse_oid)]
    pub forbid_project: Vec<Oid>,
    /// Answer 401 NOT_IN_GROUP for this project (or USER_CANNOT_ACCESS_ORG for this organization).
    #[arg(long, value_parser = parse_oid)]
    pub not_in_group: Vec<Oid>,
    /// This project or organization is Cloud Manager's: answer 404 NOT_ATLAS_GROUP / NOT_ATLAS_ORG
    /// for it on v2 (repeatable).
    #[arg(long, value_parser = parse_oid)]
    pub cloud_manager_only: Vec<Oid>,
    /// This project or organization is Atlas's: answer 404 ATLAS_GROUP / EXPECTED_NON_ATLAS_ORG
    /// for it on v1.0 (repeatable).
    #[arg(long, value_parser = parse_oid)]
    pub atlas_only: Vec<Oid>,
    /// Answer every request 403 IP_ADDRESS_NOT_ON_ACCESS_LIST.
    #[arg(long)]
    pub access_list_denied: bool,
    /// More faults, as NAME=RATE (repeatable): lost-answer, stall, truncate, html500, bad-envelope,
    /// huge-body, redirect, throttle, silence, forged.
    #[arg(long, value_parser = Fault::parse_spec)]
    pub fault: Vec<(Fault, f64)>,
    /// A list endpoint that misleads (verification must not be fooled): short-pages,
    /// ignore-page-num (pages that ignore pageNum), not-found-after-first-page,
    /// api-key-not-found, no-secrets-field, unreadable-ids (every other id a number),
    /// no-service-accounts, total-count-low / total-count-high (a totalCount that disagrees
    /// with the items), unreadable-dates (every other item's dates a date without a time or a
    /// time without an offset), empty-pages (an empty first page linking the next),
    /// upper-case-ids (ObjectIds listed in upper case), date-only (every lastUsedAt a day without a
    /// time), server-error (every list answers 500 while DELETEs work), html-not-found (every list
    /// answers an HTML 404 page while DELETEs work), lying-empty (every list answers complete and
    /// empty while its items are there).
    #[arg(long, value_enum)]
    pub list_fault: Option<ListFault>,
    /// Another list fault at the same time as --list-fault (repeatable; the same names).
    #[arg(long, value_enum)]
    pub hostile_list_fault: Vec<ListFault>,
    /// How lists write dates, [LIST=]FORM (repeatable; the last naming a list wins). FORM: iso
    /// (2026-01-01T00:00:00Z), iso-millis (…00.000Z), iso-offset (…T02:00:00+02:00),
    /// iso-millis-offset, epoch-ms (a number). LIST: secrets, service-accounts, ai-model-keys,
    /// agent-keys, access-lists; without it, every list. Default: iso, agent keys epoch-ms.
    #[arg(long, value_parser = crate::hostile::parse_date_form)]
    pub date_form: Vec<(Option<crate::DatedList>, crate::DateForm)>,
    /// Refuse every GET of this project or organization, ID[=401|403] (401 NOT_IN_GROUP /
    /// USER_CANNOT_ACCESS_ORG, 403 USER_CANNOT_ACCESS_GROUP / ORG_ACCESS_DENIED), while its
    /// DELETEs go through (repeatable).
    #[arg(long, value_parser = clap::value_parser!(crate::ScopeRefusal))]
    pub refuse_lists: Vec<crate::ScopeRefusal>,
    /// Refuse every DELETE in this project or organization, ID[=401|403], while its lists are
    /// answered (repeatable).
    #[arg(long, value_parser = clap::value_parser!(crate::ScopeRefusal))]
    pub refuse_deletes: Vec<crate::ScopeRefusal>,
    /// This project or organization lives under the other API: every request of it answers
    /// 404 ATLAS_GROUP / EXPECTED_NON_ATLAS_ORG on v1.0, NOT_ATLAS_GROUP / NOT_ATLAS_ORG on v2
    /// (repeatable).
    #[arg(long, value_parser = parse_oid)]
    pub other_api: Vec<Oid>,
    /// Every GET (lists, reads) waits this many milliseconds first: slow pages.
    #[arg(long, default_value_t = 0)]
    pub slow_lists: u64,
    /// Pick a random but reproducible set of the switches above (list faults, date forms,
    /// refused lists and DELETEs and the other API for some of the seeded scopes, lost answers,
    /// 429s with and without Retry-After and RateLimit-* headers, slow and huge pages), on top
    /// of those given; the set is printed on stderr as the flags that reproduce it.
    #[arg(long)]
    pub hostile_seed: Option<u64>,
    /// Send this field of every token answer as given, NAME=JSON (repeatable), e.g.
    /// expires_in=-5 or token_type='"mac"'.
    #[arg(long, value_parser = parse_field)]
    pub token_field: Vec<(String, serde_json::Value)>,
    /// Bytes of description added to every listed item (pages of many megabytes).
    #[arg(long, default_value_t = 0)]
    pub list_padding: usize,
    /// Serve GET /rateLimits (Atlas v2) with the buckets enforced (otherwise it answers 404).
    #[arg(long)]
    pub publish_limits: bool,
    /// Accept the API keys it holds (public key, private key) as credentials too, so that a
    /// leaked key can be tried (`revoker resolve --validate-leaked`).
    #[arg(long)]
    pub accept_leaked: bool,
    /// Another API key, a member of these organizations only: PUBLIC:PRIVATE:ORG[,ORG…]
    /// (repeatable).
    #[arg(long, value_parser = parse_org_key)]
    pub org_key: Vec<crate::OrgKey>,
    /// Seed these service accounts (client ids) as system-managed, hidden from the organization's
    /// list unless it asks includeSystemManaged=true (repeatable).
    #[arg(long)]
    pub system_managed: Vec<String>,
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

/// Parses the command line and serves until SIGINT or SIGTERM; answers the exit code.
pub async fn main() -> i32 {
    let args = SimArgs::parse();
    match serve(args).await {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("revoker-sim: {message}");
            2
        }
    }
}

async fn serve(args: SimArgs) -> Result<(), String> {
    if !crate::is_loopback(&args.listen) && !args.allow_remote {
        return Err(format!(
            "refusing to listen on {}: not a loopback address (pass --allow-remote if you really mean it)",
            args.listen
        ));
    }
    let mut keys = match &args.keys {
        Some(path) => seed::read(path)?,
        None => Vec::new(),
    };
    if let Some(n) = args.generate {
        let generated = seed::generate(n, args.projects);
        if let Some(path) = &args.write_keys {
            seed::write(path, &generated)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        keys.extend(generated);
    }
    for client in &args.system_managed {
        let id = crate::model::parse_client_id(client.trim()).ok_or_else(|| {
            format!("--system-managed {client:?}: not a client id (mdb_sa_id_ + 24 hex digits)")
        })?;
        let mut marked = false;
        for seed in keys
            .iter_mut()
            .filter(|s| s.kind.key_is_client_id() && s.key == id)
        {
            seed.system_managed = true;
            marked = true;
        }
        if !marked {
            return Err(format!(
                "--system-managed {client}: no such service account among the seeds"
            ));
        }
    }
    let config = SimConfig {
        public_key: args.public_key,
        private_key: args.private_key,
        client_id: args.client_id,
        client_secret: args.client_secret,
        token_ttl: Duration::from_secs(args.token_ttl.max(1)),
        latency: Duration::from_millis(args.latency_ms),
        latency_jitter: Duration::from_millis(args.latency_jitter_ms),
        error_rate: args.error_rate,
        error_status: args.error_status,
        reset_rate: args.reset_rate,
        user_bucket: args
            .user_bucket
            .or(args.rate_limit_per_minute.map(Bucket::per_minute)),
        scope_bucket: args
            .scope_bucket
            .or(args.project_rate_limit_per_minute.map(Bucket::per_minute)),
        limited_scopes: args.limit_scope,
        ratelimit_headers: args.ratelimit_headers,
        retry_after: args.retry_after,
        retry_after_style: args.retry_after_style,
        nonce_ttl: args.nonce_ttl.map(Duration::from_secs),
        forbid_projects: args.forbid_project,
        not_in_group: args.not_in_group,
        cloud_manager_only: args.cloud_manager_only,
        atlas_only: args.atlas_only,
        access_list_denied: args.access_list_denied,
        faults: args.fault,
        challenge: args.challenge,
        tls: args
            .tls_cert
            .zip(args.tls_key)
            .map(|(cert, key)| crate::TlsFiles { cert, key }),
        list_fault: args.list_fault,
        list_padding: args.list_padding,
        token_answer: args
            .token_field
            .into_iter()
            .collect::<serde_json::Map<String, serde_json::Value>>(),
        more_keys: args.org_key,
        accept_leaked: args.accept_leaked,
        publish_limits: args.publish_limits,
        hostile: crate::Hostile {
            list_faults: args.hostile_list_fault,
            date_forms: args.date_form,
            refuse_lists: args.refuse_lists,
            refuse_deletes: args.refuse_deletes,
            other_api: args.other_api,
            slow_lists: Duration::from_millis(args.slow_lists),
        },
        events: match &args.events {
            Some(path) => crate::events::read_events(path)?,
            None => Vec::new(),
        },
        database_users: args.database_user,
    };
    let config = with_seeded_switches(config, args.hostile_seed, &keys);
    let count = keys.len();
    let sim = Sim::bind(config, keys, args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    // The first lines are read by scripts; make sure they leave now, not at exit. A script that
    // stops reading after the first line must not stop the simulator: errors are ignored.
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}\n{}", sim.base_url(), sim.atlas_url());
        let _ = stdout.flush();
    }
    eprintln!(
        "revoker-sim: simulated Cloud Manager and Atlas with {count} items; stats at {}/__sim/stats; Ctrl-C to stop",
        sim.base_url().trim_end_matches(crate::API_PREFIX)
    );
    sim.serve(async {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    })
    .await;
    Ok(())
}

/// `config` with the switches `--hostile-seed` picks, printed on stderr so that a failing test
/// can be run again with exactly them.
fn with_seeded_switches(mut config: SimConfig, seed: Option<u64>, keys: &[Seed]) -> SimConfig {
    let Some(seed) = seed else {
        return config;
    };
    let mut scopes: Vec<Oid> = keys
        .iter()
        .filter(|k| k.kind.home() != crate::model::Home::Global)
        .map(|k| k.scope)
        .collect();
    scopes.sort();
    scopes.dedup();
    let chosen = crate::hostile::pick(seed, &scopes, &mut config);
    eprintln!(
        "revoker-sim: --hostile-seed {seed} chose: {}",
        if chosen.is_empty() {
            "nothing".to_string()
        } else {
            chosen.join(" ")
        }
    );
    config
}

/// `PUBLIC:PRIVATE:ORG[,ORG…]`.
fn parse_org_key(text: &str) -> Result<crate::OrgKey, String> {
    let mut parts = text.splitn(3, ':');
    let (Some(public_key), Some(private_key), Some(orgs)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("{text:?} is not PUBLIC:PRIVATE:ORG[,ORG…]"));
    };
    let orgs = orgs
        .split(',')
        .map(|o| Oid::parse(o.trim()).ok_or_else(|| format!("{o:?} is not an organization id")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(crate::OrgKey {
        public_key: public_key.into(),
        private_key: private_key.into(),
        orgs,
    })
}
