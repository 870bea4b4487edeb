//! The simulator's HTTP server (hyper, HTTP/1.1): connections, TLS, authentication, limits, faults,
//! and the framing of answers (envelope, pretty, headers). Plain hyper rather than a framework,
//! because the faults need the connection itself (resets, stalls, truncated bodies, silence).

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION, RETRY_AFTER,
    WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::Rng;
use serde_json::json;
use tokio::net::TcpListener;

use super::auth::{Digest, REALM, Verdict};
use super::body::SimBody;
use super::limits::{Limits, Throttled};
use super::oauth::{OAuth, Refusal};
use super::routes::{self, Flavour, Route, SimAnswer};
use super::state::{Counters, Stats, World};
use super::{API_PREFIX, ATLAS_PREFIX, Fault, ListFault, SimConfig, TlsFiles};
use crate::model::{Oid, Seed};

struct State {
    config: SimConfig,
    world: World,
    counters: Counters,
    digest: Digest,
    oauth: OAuth,
    limits: Limits,
    forbidden: HashSet<Oid>,
    not_in_group: HashSet<Oid>,
    /// `--list-fault` and the hostile list faults together.
    list_faults: Vec<ListFault>,
    /// Scopes of the other API, per flavour asked: Cloud Manager's on v2, Atlas's on v1.0.
    cloud_manager_only: HashSet<Oid>,
    atlas_only: HashSet<Oid>,
    /// Until when every API request answers 503 (`POST /__sim/outage?seconds=N`).
    outage_until: std::sync::Mutex<Option<std::time::Instant>>,
    /// Events and database users ([`crate::events`]).
    log: crate::events::Log,
}

/// A simulator bound to its address, not yet serving.
pub struct Sim {
    state: Arc<State>,
    listener: TcpListener,
    addr: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

fn tls_acceptor(files: &TlsFiles) -> std::io::Result<tokio_rustls::TlsAcceptor> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &std::path::Path, e: &dyn std::fmt::Display| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}: {e}", what.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad(&files.cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| bad(&files.key, &e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| bad(&files.cert, &e))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

impl Sim {
    /// Binds `addr` and loads `keys`.
    pub async fn bind(
        config: SimConfig,
        keys: impl IntoIterator<Item = Seed>,
        addr: SocketAddr,
    ) -> std::io::Result<Sim> {
        let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (keys, leaked) = crate::values::leaked_keys(keys, config.accept_leaked);
        let state = State {
            world: World::new(keys),
            counters: Counters::default(),
            digest: {
                let digest = Digest::new(
                    &config.public_key,
                    &config.private_key,
                    config.nonce_ttl,
                    config.challenge,
                );
                for key in &config.more_keys {
                    digest.add(&key.public_key, &key.private_key);
                }
                for (public, private) in &leaked {
                    digest.add(public, private);
                }
                digest
            },
            oauth: {
                let mut oauth =
                    OAuth::new(&config.client_id, &config.client_secret, config.token_ttl);
                oauth.overrides = config.token_answer.clone();
                oauth
            },
            limits: Limits::new(&config),
            forbidden: config.forbid_projects.iter().copied().collect(),
            not_in_group: config.not_in_group.iter().copied().collect(),
            list_faults: config
                .list_fault
                .into_iter()
                .chain(config.hostile.list_faults.iter().copied())
                .collect(),
            cloud_manager_only: config.cloud_manager_only.iter().copied().collect(),
            atlas_only: config.atlas_only.iter().copied().collect(),
            outage_until: std::sync::Mutex::new(None),
            log: crate::events::Log::new(&config.events, &config.database_users),
            config,
        };
        Ok(Sim {
            state: Arc::new(state),
            listener,
            addr,
            tls,
        })
    }

    fn origin(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The Cloud Manager API base URL, e.g. `http://127.0.0.1:PORT/api/public/v1.0`.
    pub fn base_url(&self) -> String {
        format!("{}{API_PREFIX}", self.origin())
    }

    /// The Atlas Administration API base URL, e.g. `http://127.0.0.1:PORT/api/atlas/v2`.
    pub fn atlas_url(&self) -> String {
        format!("{}{ATLAS_PREFIX}", self.origin())
    }

    /// A handle on the counters that stays valid while the server runs.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle(self.state.clone())
    }

    /// Serves until `shutdown` completes.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(conn) => conn,
                    // Out of file descriptors or a connection reset before accept: keep serving.
                    Err(_) => continue,
                },
                () = &mut shutdown => return,
            };
            let _ = stream.set_nodelay(true);
            let state = self.state.clone();
            let tls = self.tls.clone();
            tokio::spawn(async move {
                match tls {
                    // A failed handshake (a client that does not trust the certificate) ends here.
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            serve_connection(state, stream, peer).await;
                        }
                    }
                    None => serve_connection(state, stream, peer).await,
                }
            });
        }
    }
}

async fn serve_connection<I>(state: Arc<State>, io: I, peer: SocketAddr)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let loopback = peer.ip().is_loopback();
    let service = hyper::service::service_fn(move |req| handle(state.clone(), req, loopback));
    // A connection ending badly (resets, stalls, clients going away) is part of the job.
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// Reads the counters of a running simulator.
#[derive(Clone)]
pub struct StatsHandle(Arc<State>);

impl StatsHandle {
    pub fn stats(&self) -> Stats {
        self.0.counters.snapshot(self.0.world.remaining())
    }
}

/// A simulator on its own thread and runtime, for tests and benchmarks; stopped on drop.
pub struct SimHandle {
    base_url: String,
    atlas_url: String,
    stats: StatsHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimHandle {
    /// Starts a simulator on `127.0.0.1` with an ephemeral port.
    pub fn spawn(config: SimConfig, keys: Vec<Seed>) -> std::io::Result<SimHandle> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let sim = runtime.block_on(Sim::bind(
            config,
            keys,
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))?;
        let base_url = sim.base_url();
        let atlas_url = sim.atlas_url();
        let stats = sim.stats_handle();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sim".into())
            .spawn(move || {
                runtime.block_on(sim.serve(async {
                    let _ = stopped.await;
                }));
            })?;
        Ok(SimHandle {
            base_url,
            atlas_url,
            stats,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The Cloud Manager API base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The Atlas Administration API base URL.
    pub fn atlas_url(&self) -> &str {
        &self.atlas_url
    }

    pub fn stats(&self) -> Stats {
        self.stats.stats()
    }

    /// Revokes every live access token, as `POST /__sim/revoke-tokens` does.
    pub fn revoke_tokens(&self) -> usize {
        self.stats.0.oauth.revoke_all()
    }

    /// Every access token issued, as `GET /__sim/tokens` answers.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.stats.0.oauth.issued()
    }

    /// Removes `seed`'s credential without a request (drift: another tool deleted it); answers
    /// whether it was there.
    pub fn vanish(&self, seed: &Seed) -> bool {
        self.stats.0.world.vanish(seed)
    }

    /// Adds `seed`'s credential without a request (drift: it reappeared, or moved here).
    pub fn appear(&self, seed: &Seed) {
        self.stats.0.world.appear(seed)
    }

    /// Answers every API request 503 for `length` from now, as `POST /__sim/outage` does.
    pub fn outage(&self, length: Duration) {
        *super::state::lock(&self.stats.0.outage_until) = Some(std::time::Instant::now() + length);
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct InFlight<'a>(&'a Counters);

impl<'a> InFlight<'a> {
    fn enter(counters: &'a Counters) -> InFlight<'a> {
        let now = counters.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        counters.peak_in_flight.fetch_max(now, Ordering::Relaxed);
        InFlight(counters)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the request asked for in its query string.
#[derive(Default)]
struct Query {
    envelope: bool,
    pretty: bool,
    page_num: Option<String>,
    items_per_page: Option<String>,
    include_system_managed: bool,
    /// The whole query string, for the Events API's repeatable and date parameters.
    raw: String,
}

fn parse_query(query: Option<&str>) -> Query {
    let mut q = Query {
        raw: query.unwrap_or("").to_string(),
        ..Query::default()
    };
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "envelope" => q.envelope = v == "true",
            "pretty" => q.pretty = v == "true",
            "pageNum" => q.page_num = Some(v.into_owned()),
            "itemsPerPage" => q.items_per_page = Some(v.into_owned()),
            "includeSystemManaged" => q.include_system_managed = v == "true",
            _ => {}
        }
    }
    q
}

fn raw(status: u16, headers: Vec<(HeaderName, String)>, body: SimBody) -> SimAnswer {
    SimAnswer {
        status,
        json: None,
        list: false,
        headers,
        raw: Some(body),
    }
}

pub(super) fn html(status: u16, title: &str) -> SimAnswer {
    let page = format!(
        "<!DOCTYPE html><html><head><title>{status}</title></head><body><h1>{title}</h1></body></html>"
    );
    raw(
        status,
        vec![(CONTENT_TYPE, "text/html".into())],
        SimBody::whole(page),
    )
}

fn throttled_answer(t: Throttled) -> SimAnswer {
    let mut answer = SimAnswer::json(429, t.body);
    if let Some(value) = t.retry_after {
        answer.headers.push((RETRY_AFTER, value));
    }
    answer
}

/// `Err` closes the connection with no answer: how resets and lost answers are simulated.
async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
    loopback: bool,
) -> Result<Response<SimBody>, std::io::Error> {
    let path = req.uri().path().to_string();
    if let Some(control) = path.strip_prefix("/__sim/") {
        let query = req.uri().query().unwrap_or("").to_string();
        return Ok(control_answer(
            &state,
            req.method(),
            control,
            &query,
            loopback,
        ));
    }
    if let Some(endpoint) = path.strip_prefix("/api/oauth/") {
        return Ok(oauth_answer(&state, req, endpoint.to_string()).await);
    }
    if path == "/v1/embeddings" && req.method() == Method::POST {
        let authorization = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let (status, body) = super::usage::embeddings(&state.world, authorization);
        let mut response = Response::new(SimBody::whole(
            serde_json::to_vec(&body).unwrap_or_default(),
        ));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Ok(response);
    }
    let counters = &state.counters;
    counters.requests.fetch_add(1, Ordering::Relaxed);
    let _in_flight = InFlight::enter(counters);
    let config = &state.config;
    if !config.latency.is_zero() || !config.latency_jitter.is_zero() {
        let jitter = if config.latency_jitter.is_zero() {
            Duration::ZERO
        } else {
            config.latency_jitter.mul_f64(rand::rng().random::<f64>())
        };
        tokio::time::sleep(config.latency + jitter).await;
    }
    let query = parse_query(req.uri().query());
    let (flavour, rest) = if let Some(rest) = path.strip_prefix(API_PREFIX) {
        (Flavour::V1, rest.to_string())
    } else if let Some(rest) = path.strip_prefix(ATLAS_PREFIX) {
        (Flavour::V2, rest.to_string())
    } else {
        // Outside the API: a web server's page, not the API's error document.
        return Ok(frame(
            counters,
            html(404, "Not Found"),
            &Query::default(),
            None,
        ));
    };
    let uri = req
        .uri()
        .path_and_query()
        .map_or(path.as_str(), |pq| pq.as_str())
        .to_string();
    // A silent server answers nothing at all, not even a challenge.
    let silence = config
        .faults
        .iter()
        .find(|(f, _)| *f == Fault::Silence)
        .map_or(0.0, |(_, rate)| *rate);
    if silence > 0.0 && rand::rng().random::<f64>() < silence {
        std::future::pending::<()>().await;
    }
    let answer = match authenticate(&state, &req, &uri) {
        Err(challenge) => (challenge, None),
        Ok(user) => {
            // Use is what a credential's authenticated request shows (`lastUsed`, `lastUsedAt`).
            state.world.creates.used(&user);
            let mut route = Route::parse(flavour, req.method(), &path, &rest);
            let sent_delete = req.method() == Method::DELETE;
            let accept = req
                .headers()
                .get(hyper::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if let Route::Create(_, body) = &mut route {
                *body = http_body_util::Limited::new(req.into_body(), 1 << 20)
                    .collect()
                    .await
                    .map(|b| b.to_bytes().to_vec())
                    .unwrap_or_default();
            }
            let accept = accept.as_deref();
            let answer = respond(&state, flavour, route, accept, &path, &query, &user).await;
            if sent_delete {
                let status = answer.as_ref().map(|a| a.0.status);
                state.world.record_sent(&user, &path, status);
            }
            match answer {
                Some(answer) => answer,
                None => {
                    counters.resets.fetch_add(1, Ordering::Relaxed);
                    return Err(std::io::Error::other("simulated connection reset"));
                }
            }
        }
    };
    Ok(frame(counters, answer.0, &query, answer.1))
}

/// Whether `user` may act in the scope: the default credentials everywhere, another key in its
/// organizations and their projects only.
fn member(state: &State, user: &str, kind: crate::model::Kind, scope: &Oid) -> bool {
    let Some(key) = state.config.more_keys.iter().find(|k| k.public_key == user) else {
        return true;
    };
    let org = match kind.home() {
        crate::model::Home::Org => Some(*scope),
        crate::model::Home::Project => state.world.project_org(scope),
        crate::model::Home::Global => None,
    };
    org.is_some_and(|o| key.orgs.contains(&o))
}

/// The API key or service account that signed the request, or the 401 to answer with.
fn authenticate(state: &State, req: &Request<Incoming>, uri: &str) -> Result<String, SimAnswer> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")) {
        return match state.oauth.check(token.trim()) {
            Ok(client) => Ok(client),
            Err(refusal) => {
                let why = match refusal {
                    Refusal::Expired => "The access token expired.",
                    Refusal::Unknown => "The access token is invalid or was revoked.",
                };
                let mut answer = SimAnswer::error(401, "UNAUTHORIZED", why.into(), "Unauthorized");
                answer.headers.push((
                    WWW_AUTHENTICATE,
                    format!("Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{why}\""),
                ));
                Err(answer)
            }
        };
    }
    let verdict = match header {
        None => Verdict::Refused,
        Some(header) => state.digest.verify(header, req.method().as_str(), uri),
    };
    let stale = match verdict {
        Verdict::Accepted(user) => return Ok(user),
        Verdict::Stale => true,
        Verdict::Refused => false,
    };
    state.counters.challenges.fetch_add(1, Ordering::Relaxed);
    let answer = SimAnswer::error(
        401,
        "",
        "You are not authorized for this resource.".into(),
        "Unauthorized",
    );
    let body = serde_json::to_vec(&answer.json).unwrap_or_default();
    let mut answer = raw(401, Vec::new(), SimBody::whole(body));
    answer
        .headers
        .push((CONTENT_TYPE, "application/json".into()));
    for challenge in state.digest.challenge(stale) {
        answer.headers.push((WWW_AUTHENTICATE, challenge));
    }
    Err(answer)
}

/// The answer to an authenticated request (and the bucket it went through); `None` closes the
/// connection instead.
async fn respond(
    state: &State,
    flavour: Flavour,
    route: Route,
    accept: Option<&str>,
    path: &str,
    query: &Query,
    user: &str,
) -> Option<(SimAnswer, Option<(u32, u32)>)> {
    let config = &state.config;
    let scope = route.scope();
    if state.limits.early(user, scope.map(|s| s.1)) {
        state
            .counters
            .early_requests
            .fetch_add(1, Ordering::Relaxed);
    }
    if let Some(answer) = route.refuse_accept(flavour, accept) {
        return Some((answer, None));
    }
    if config.access_list_denied {
        return Some((
            SimAnswer::error(
                403,
                "IP_ADDRESS_NOT_ON_ACCESS_LIST",
                "IP address 127.0.0.1 is not allowed to access this resource.".into(),
                "Forbidden",
            ),
            None,
        ));
    }
    let endpoint = match flavour {
        Flavour::V1 => "api/public/v1.0",
        Flavour::V2 => "api/atlas/v2",
    };
    let bucket = match state.limits.check(user, scope.map(|s| s.1), endpoint) {
        Ok(admitted) => admitted,
        Err(throttled) => return Some((throttled_answer(throttled), None)),
    };
    if let Some((kind, id)) = scope
        && match flavour {
            Flavour::V2 => state.cloud_manager_only.contains(&id),
            Flavour::V1 => state.atlas_only.contains(&id),
        }
    {
        return Some((routes::other_api(flavour, kind, &id), bucket));
    }
    if let Some((kind, id)) = scope
        && let Some(answer) = routes::refusal(
            kind,
            &id,
            state.forbidden.contains(&id),
            state.not_in_group.contains(&id) || !member(state, user, kind, &id),
        )
    {
        return Some((answer, bucket));
    }
    if let Some(answer) = hostile_refusal(config, flavour, &route) {
        return Some((answer, bucket));
    }
    if !config.hostile.slow_lists.is_zero() && !matches!(route, Route::Delete(_)) {
        tokio::time::sleep(config.hostile.slow_lists).await;
    }

    let outage = super::state::lock(&state.outage_until)
        .is_some_and(|until| std::time::Instant::now() < until);
    if outage {
        return Some((
            SimAnswer::error(
                503,
                "SERVICE_UNAVAILABLE",
                "Simulated outage.".into(),
                "Service Unavailable",
            ),
            None,
        ));
    }
    // One draw decides which fault, if any, hits this request.
    let mut draw = rand::rng().random::<f64>();
    let mut hit = |rate: f64| {
        draw -= rate;
        draw < 0.0
    };
    if hit(config.error_rate) {
        let reason = if config.error_status == 500 {
            "Internal Server Error"
        } else {
            "Service Unavailable"
        };
        return Some((
            SimAnswer::error(
                config.error_status,
                "UNEXPECTED_ERROR",
                "Simulated server error.".into(),
                reason,
            ),
            None,
        ));
    }
    if hit(config.reset_rate) {
        return None;
    }
    let fault = config
        .faults
        .iter()
        .find(|(_, rate)| hit(*rate))
        .map(|(f, _)| *f);
    let answer = match fault {
        Some(Fault::LostAnswer) => {
            let _ = serve(state, flavour, route, path, query, user);
            return None;
        }
        // Decided before authentication, in `handle`.
        Some(Fault::Silence) => serve(state, flavour, route, path, query, user),
        Some(Fault::Stall) => raw(
            200,
            vec![(CONTENT_LENGTH, "64".into())],
            SimBody::Stall(None),
        ),
        Some(Fault::Truncate) => raw(
            500,
            vec![(CONTENT_LENGTH, "200".into())],
            SimBody::cut(b"{\"detail\":\"Simulated"),
        ),
        Some(Fault::Html500) => html(500, "Internal Server Error"),
        Some(Fault::BadEnvelope) if query.envelope => raw(
            200,
            vec![(CONTENT_TYPE, "text/html".into())],
            SimBody::whole("<html>Service temporarily unavailable</html>"),
        ),
        Some(Fault::BadEnvelope) => html(500, "Internal Server Error"),
        Some(Fault::Redirect) => {
            let mut answer = SimAnswer::empty(302);
            answer
                .headers
                .push((LOCATION, format!("https://login.example.invalid{path}")));
            answer
        }
        Some(Fault::Throttle) => {
            // With --ratelimit-headers the throttled answer says the bucket is empty.
            let headers = config.ratelimit_headers.then_some((100, 0));
            return Some((throttled_answer(state.limits.fault(user)), headers));
        }
        Some(Fault::Forged) => SimAnswer::error(
            400,
            "FORGED\u{1b}[2J\u{1b}[31m",
            "nothing\nrevoker: all keys revoked OK\r\u{202e}".into(),
            "Bad Request",
        ),
        Some(Fault::HugeBody) => {
            let answer = serve(state, flavour, route, path, query, user);
            raw(answer.status, Vec::new(), SimBody::Endless)
        }
        None => serve(state, flavour, route, path, query, user),
    };
    Some((answer, bucket))
}

fn serve(
    state: &State,
    flavour: Flavour,
    route: Route,
    path: &str,
    query: &Query,
    user: &str,
) -> SimAnswer {
    match route {
        Route::Answer(answer) => answer,
        Route::Root => routes::root(flavour),
        Route::Delete(target) => {
            state.counters.deletes.fetch_add(1, Ordering::Relaxed);
            let actor = Some((user, path));
            let (answer, deleted) =
                routes::delete(&state.world, flavour, &target, &state.counters, actor);
            if deleted {
                let org = state.world.project_org(&target.scope);
                let actor = crate::events::Actor::of_key(user, state.world.creates.id_of(user));
                super::creates::deleted(&state.world, &state.digest, &target);
                state.log.deleted(&target, &actor, org);
            }
            answer
        }
        other @ (Route::Events(..) | Route::DbUsers(..) | Route::DeleteDbUser(..)) => {
            super::events_route::serve(
                &state.world,
                &state.log,
                other,
                super::events_route::Context {
                    path,
                    page: query.page_num.as_deref(),
                    per_page: query.items_per_page.as_deref(),
                    query: &query.raw,
                    user,
                    faults: &state.list_faults,
                    hostile: &state.config.hostile,
                    caller: &state.config.public_key,
                    counters: &state.counters,
                },
            )
        }
        Route::Create(create, body) => {
            let actor = crate::events::Actor::of_key(user, state.world.creates.id_of(user));
            let (answer, made) = super::creates::serve(&state.world, &state.digest, create, &body);
            if let Some(made) = made {
                state.log.created(&made, &actor);
            }
            answer
        }
        Route::List(kind, scope, parent) => {
            state.counters.lists.fetch_add(1, Ordering::Relaxed);
            let request = super::lists::ListRequest {
                kind,
                scope,
                parent,
                page: query.page_num.as_deref(),
                per_page: query.items_per_page.as_deref(),
                include_system_managed: query.include_system_managed,
                self_url: path,
                caller: &state.config.public_key,
                faults: &state.list_faults,
                hostile: &state.config.hostile,
            };
            super::lists::list(&state.world, &request, state.config.list_padding)
        }
        Route::Read(read, scope, key) => {
            let counter = if read == routes::Read::RateLimits {
                &state.counters.rate_limit_reads
            } else {
                &state.counters.lists
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let request = super::lists::ListRequest {
                kind: crate::model::Kind::OrgApiKey,
                scope,
                parent: None,
                page: query.page_num.as_deref(),
                per_page: query.items_per_page.as_deref(),
                include_system_managed: false,
                self_url: path,
                caller: &state.config.public_key,
                faults: &state.list_faults,
                hostile: &state.config.hostile,
            };
            match (read, key) {
                (routes::Read::Project, _) => {
                    state.counters.project_reads.fetch_add(1, Ordering::Relaxed);
                    super::lists::project(&state.world, &scope)
                }
                (routes::Read::Org, _) => super::lists::org(&state.world, &scope),
                (routes::Read::OrgProjects, _) => {
                    super::lists::org_projects(&state.world, &request)
                }
                (routes::Read::AccessList, Some(key)) => {
                    super::lists::access_list(&state.world, &request, key)
                }
                (routes::Read::AccessList, None) => routes::not_found(path),
                (routes::Read::RateLimits, _) if state.config.publish_limits => {
                    super::limits::published(&state.config, &request)
                }
                (routes::Read::RateLimits, _) => routes::not_found(path),
            }
        }
    }
}

/// What the hostile switches answer instead for a request's scope: the other API's 404, or a
/// refused list or DELETE.
fn hostile_refusal(config: &SimConfig, flavour: Flavour, route: &Route) -> Option<SimAnswer> {
    let (kind, scope) = route.scope()?;
    let hostile = &config.hostile;
    if hostile.other_api.contains(&scope) {
        return Some(routes::other_api(flavour, kind, &scope));
    }
    let status = match route {
        Route::Delete(_) => hostile.deletes_refused(&scope),
        _ => hostile.lists_refused(&scope),
    }?;
    routes::refusal(kind, &scope, status == 403, status == 401)
}

/// `POST /api/oauth/token` and `POST /api/oauth/revoke`.
async fn oauth_answer(
    state: &State,
    req: Request<Incoming>,
    endpoint: String,
) -> Response<SimBody> {
    let counters = &state.counters;
    let authorization = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let method = req.method().clone();
    let body = http_body_util::Limited::new(req.into_body(), 64 * 1024)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answer = match (method, endpoint.as_str()) {
        (Method::POST, "token") => {
            counters.token_requests.fetch_add(1, Ordering::Relaxed);
            let created = super::usage::secret_login(&state.world, authorization.as_deref());
            let answer = state
                .oauth
                .token_for(created, authorization.as_deref(), &body);
            if answer.status == 200 {
                counters.tokens_issued.fetch_add(1, Ordering::Relaxed);
            }
            answer
        }
        (Method::POST, "revoke") => {
            let (answer, revoked) = state.oauth.revoke(authorization.as_deref(), &body);
            if revoked {
                counters.token_revokes.fetch_add(1, Ordering::Relaxed);
            }
            answer
        }
        _ => super::oauth::TokenAnswer {
            status: 404,
            body: json!({ "error": "not_found" }),
            retry_after: None,
        },
    };
    let mut response = Response::new(SimBody::whole(
        serde_json::to_vec(&answer.body).unwrap_or_default(),
    ));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(wait) = answer.retry_after
        && let Ok(value) = HeaderValue::from_str(&wait.to_string())
    {
        headers.insert(RETRY_AFTER, value);
    }
    response
}

fn control_answer(
    state: &State,
    method: &Method,
    what: &str,
    query: &str,
    loopback: bool,
) -> Response<SimBody> {
    let (status, body) = match (method, what) {
        // The ground truth is for tests on this machine only.
        (&Method::GET, "state") if !loopback => (
            StatusCode::FORBIDDEN,
            b"{\"detail\":\"the ground truth answers loopback clients only\"}".to_vec(),
        ),
        (&Method::GET, "state") => (
            StatusCode::OK,
            serde_json::to_vec_pretty(&{
                let mut truth = state.world.truth();
                truth.database_users = state.log.held_users();
                truth
            })
            .unwrap_or_default(),
        ),
        (&Method::POST, "revoke-tokens") => {
            let n = state.oauth.revoke_all();
            (
                StatusCode::OK,
                json!({ "revoked": n }).to_string().into_bytes(),
            )
        }
        (&Method::GET, "tokens") => (
            StatusCode::OK,
            serde_json::to_vec(&state.oauth.issued()).unwrap_or_default(),
        ),
        (&Method::POST, "outage") => {
            let seconds: f64 = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "seconds")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(10.0);
            *super::state::lock(&state.outage_until) =
                Some(std::time::Instant::now() + Duration::from_secs_f64(seconds.max(0.0)));
            (StatusCode::OK, b"{}".to_vec())
        }
        (&Method::GET, "stats") => {
            let stats = state.counters.snapshot(state.world.remaining());
            (
                StatusCode::OK,
                serde_json::to_vec_pretty(&stats).unwrap_or_default(),
            )
        }
        (&Method::POST, "reset-stats") => {
            state.counters.reset();
            (StatusCode::OK, b"{}".to_vec())
        }
        _ => (
            StatusCode::NOT_FOUND,
            b"{\"detail\":\"unknown simulator control\"}".to_vec(),
        ),
    };
    let mut response = Response::new(SimBody::whole(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Envelope, pretty-printing, headers (the bucket's `RateLimit-*` when asked); counts the status
/// sent on the wire.
fn frame(
    counters: &Counters,
    answer: SimAnswer,
    query: &Query,
    bucket: Option<(u32, u32)>,
) -> Response<SimBody> {
    let (status, body) = match answer.raw {
        Some(body) => (answer.status, body),
        None => {
            // "For endpoints that return a list of results, the results object is an envelope":
            // the list object takes a `status` field; anything else is wrapped in `content`.
            let (status, json) = if query.envelope {
                let json = match answer.json {
                    Some(serde_json::Value::Object(mut list)) if answer.list => {
                        list.insert("status".into(), json!(answer.status));
                        serde_json::Value::Object(list)
                    }
                    other => {
                        json!({ "status": answer.status, "content": other.unwrap_or(serde_json::Value::Null) })
                    }
                };
                (200, Some(json))
            } else {
                (answer.status, answer.json)
            };
            let bytes = match json {
                None => Vec::new(),
                Some(v) if query.pretty => serde_json::to_vec_pretty(&v).unwrap_or_default(),
                Some(v) => serde_json::to_vec(&v).unwrap_or_default(),
            };
            if bytes.is_empty() {
                (status, SimBody::empty())
            } else {
                (status, SimBody::whole(bytes))
            }
        }
    };
    counters.answered(status);
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            // Several challenges are several headers; anything else replaces the default.
            if name == WWW_AUTHENTICATE {
                headers.append(name, value);
            } else {
                headers.insert(name, value);
            }
        }
    }
    if let Some((limit, remaining)) = bucket {
        headers.insert("ratelimit-limit", HeaderValue::from(limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
    }
    response
}
