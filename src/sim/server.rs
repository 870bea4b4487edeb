//! The simulator's HTTP server (hyper, HTTP/1.1) and its request handling.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hyper::body::Incoming;
use hyper::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION, RETRY_AFTER,
    WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::Rng;
use serde_json::json;
use tokio::net::TcpListener;

use super::auth::{Digest, Verdict};
use super::body::SimBody;
use super::state::{Counters, Deleted, Keys, Stats, lock};
use super::{API_PREFIX, Fault, RetryAfterStyle, SimConfig, TlsFiles};
use crate::input::{Kind, ObjectId, Target};

/// Requests still on the wire when a 429 went out are not counted as early; the margin is wide so
/// that a loaded machine's scheduling delays do not count either.
const IN_FLIGHT_GRACE: Duration = Duration::from_millis(250);

struct State {
    config: SimConfig,
    keys: Keys,
    counters: Counters,
    digest: Digest,
    key_limiter: Option<DefaultKeyedRateLimiter<String>>,
    project_limiter: Option<DefaultKeyedRateLimiter<[u8; 12]>>,
    /// Per API key: from when to when a `Retry-After` it was sent forbids requests.
    quiet_until: Mutex<HashMap<String, (Instant, Instant)>>,
    forbidden: HashSet<[u8; 12]>,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(
    per_minute: Option<u32>,
) -> Option<DefaultKeyedRateLimiter<K>> {
    let per_minute = NonZeroU32::new(per_minute?)?;
    // The bucket holds one second's worth, so a burst cannot borrow a whole minute.
    let burst = NonZeroU32::new((per_minute.get() / 60).max(1)).unwrap_or(NonZeroU32::MIN);
    Some(RateLimiter::keyed(
        Quota::per_minute(per_minute).allow_burst(burst),
    ))
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
        keys: impl IntoIterator<Item = Target>,
        addr: SocketAddr,
    ) -> std::io::Result<Sim> {
        let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = State {
            keys: Keys::new(keys),
            counters: Counters::default(),
            digest: Digest::new(
                &config.public_key,
                &config.private_key,
                config.nonce_ttl,
                config.challenge,
            ),
            key_limiter: limiter(config.rate_limit_per_minute),
            project_limiter: limiter(config.project_rate_limit_per_minute),
            quiet_until: Mutex::new(HashMap::new()),
            forbidden: config.forbid_projects.iter().map(ObjectId::bytes).collect(),
            config,
        };
        Ok(Sim {
            state: Arc::new(state),
            listener,
            addr,
            tls,
        })
    }

    /// The API base URL, e.g. `http://127.0.0.1:PORT/api/public/v1.0`.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{API_PREFIX}", self.addr)
    }

    /// A handle on the counters that stays valid while the server runs.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle(self.state.clone())
    }

    /// Serves until `shutdown` completes.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let (stream, _) = tokio::select! {
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
                            serve_connection(state, stream).await;
                        }
                    }
                    None => serve_connection(state, stream).await,
                }
            });
        }
    }
}

async fn serve_connection<I>(state: Arc<State>, io: I)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
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
        self.0.counters.snapshot(self.0.keys.remaining())
    }
}

/// A simulator on its own thread and runtime, for tests and benchmarks; stopped on drop.
pub struct SimHandle {
    base_url: String,
    stats: StatsHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimHandle {
    /// Starts a simulator on `127.0.0.1` with an ephemeral port.
    pub fn spawn(config: SimConfig, keys: Vec<Target>) -> std::io::Result<SimHandle> {
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
            stats,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn stats(&self) -> Stats {
        self.stats.stats()
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

/// An answer before envelope and framing.
struct Answer {
    status: u16,
    json: Option<serde_json::Value>,
    headers: Vec<(hyper::header::HeaderName, String)>,
    /// Written as is, never enveloped (digest challenges, broken bodies).
    raw: Option<SimBody>,
}

impl Answer {
    fn json(status: u16, json: serde_json::Value) -> Answer {
        Answer {
            status,
            json: Some(json),
            headers: Vec::new(),
            raw: None,
        }
    }

    fn ok() -> Answer {
        Answer {
            status: 200,
            json: None,
            headers: Vec::new(),
            raw: None,
        }
    }

    fn error(status: u16, code: &str, detail: String, reason: &str) -> Answer {
        Answer::json(
            status,
            json!({ "detail": detail, "error": status, "errorCode": code, "parameters": [], "reason": reason }),
        )
    }
}

/// What the request asked for in its query string.
#[derive(Default)]
struct Query {
    envelope: bool,
    pretty: bool,
    page_num: Option<String>,
    items_per_page: Option<String>,
}

fn parse_query(query: Option<&str>) -> Query {
    let mut q = Query::default();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "envelope" => q.envelope = v == "true",
            "pretty" => q.pretty = v == "true",
            "pageNum" => q.page_num = Some(v.into_owned()),
            "itemsPerPage" => q.items_per_page = Some(v.into_owned()),
            _ => {}
        }
    }
    q
}

/// `Err` closes the connection with no answer: how resets and lost answers are simulated.
async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<SimBody>, std::io::Error> {
    let path = req.uri().path().to_string();
    if let Some(control) = path.strip_prefix("/__sim/") {
        return Ok(control_answer(&state, req.method(), control));
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
    let uri = req
        .uri()
        .path_and_query()
        .map_or(path.as_str(), |pq| pq.as_str())
        .to_string();
    let answer = match authenticate(&state, &req, &uri) {
        Err(challenge) => challenge,
        Ok(user) => match respond(&state, &req, &path, &query, &user) {
            Some(answer) => answer,
            None => {
                counters.resets.fetch_add(1, Ordering::Relaxed);
                return Err(std::io::Error::other("simulated connection reset"));
            }
        },
    };
    Ok(frame(counters, answer, &query))
}

/// The API key that signed the request, or the 401 challenge to answer with.
fn authenticate(state: &State, req: &Request<Incoming>, uri: &str) -> Result<String, Answer> {
    let verdict = match req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        None => Verdict::Refused,
        Some(header) => state.digest.verify(header, req.method().as_str(), uri),
    };
    let stale = match verdict {
        Verdict::Accepted(user) => return Ok(user),
        Verdict::Stale => true,
        Verdict::Refused => false,
    };
    state.counters.challenges.fetch_add(1, Ordering::Relaxed);
    let mut answer = Answer::error(
        401,
        "",
        "You are not authorized for this resource.".into(),
        "Unauthorized",
    );
    answer
        .headers
        .push((WWW_AUTHENTICATE, state.digest.challenge(stale)));
    let body = serde_json::to_vec(&answer.json).unwrap_or_default();
    answer.raw = Some(SimBody::whole(body));
    Err(answer)
}

/// The answer to an authenticated request; `None` to close the connection instead.
fn respond(
    state: &State,
    req: &Request<Incoming>,
    path: &str,
    query: &Query,
    user: &str,
) -> Option<Answer> {
    let config = &state.config;
    let now = Instant::now();
    if let Some(&(from, until)) = lock(&state.quiet_until).get(user)
        && now >= from
        && now < until
    {
        state
            .counters
            .early_requests
            .fetch_add(1, Ordering::Relaxed);
    }
    let route = Route::parse(path, req.method());
    if let Some(limiter) = &state.key_limiter
        && limiter.check_key(&user.to_string()).is_err()
    {
        return Some(throttled(state, user, "RATE_LIMITED", "API key"));
    }
    if let (Some(limiter), Some(project)) = (&state.project_limiter, route.project())
        && limiter.check_key(&project.bytes()).is_err()
    {
        return Some(throttled(state, user, "RATE_LIMITED", "project"));
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
        return Some(Answer::error(
            config.error_status,
            "UNEXPECTED_ERROR",
            "Simulated server error.".into(),
            reason,
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
    match fault {
        Some(Fault::LostAnswer) => {
            let _ = route.serve(state, query);
            return None;
        }
        Some(Fault::Stall) => {
            return Some(raw(
                200,
                vec![(CONTENT_LENGTH, "64".into())],
                SimBody::Stall(None),
            ));
        }
        Some(Fault::Truncate) => {
            let body = SimBody::cut(b"{\"detail\":\"Simulated");
            return Some(raw(500, vec![(CONTENT_LENGTH, "200".into())], body));
        }
        Some(Fault::Html500) => return Some(html_500()),
        Some(Fault::BadEnvelope) if query.envelope => {
            return Some(raw(
                200,
                vec![(CONTENT_TYPE, "text/html".into())],
                SimBody::whole("<html>Service temporarily unavailable</html>"),
            ));
        }
        Some(Fault::BadEnvelope) => return Some(html_500()),
        Some(Fault::Redirect) => {
            let mut answer = Answer::ok();
            answer.status = 302;
            answer
                .headers
                .push((LOCATION, format!("https://login.example.invalid{path}")));
            return Some(answer);
        }
        Some(Fault::Throttle) => return Some(throttled(state, user, "RATE_LIMITED", "API key")),
        Some(Fault::HugeBody) => {
            let answer = route.serve(state, query);
            let body = vec![b' '; 10 << 20];
            return Some(raw(answer.status, Vec::new(), SimBody::whole(body)));
        }
        None => {}
    }
    Some(route.serve(state, query))
}

fn raw(status: u16, headers: Vec<(hyper::header::HeaderName, String)>, body: SimBody) -> Answer {
    Answer {
        status,
        json: None,
        headers,
        raw: Some(body),
    }
}

fn html_500() -> Answer {
    let page = "<!DOCTYPE html><html><head><title>500</title></head><body><h1>Internal Server Error</h1></body></html>";
    raw(
        500,
        vec![(CONTENT_TYPE, "text/html".into())],
        SimBody::whole(page),
    )
}

fn throttled(state: &State, user: &str, code: &str, scope: &str) -> Answer {
    let mut answer = Answer::error(
        429,
        code,
        format!("Too many requests for this {scope}; the rate limit was exceeded."),
        "Too Many Requests",
    );
    if let Some(seconds) = state.config.retry_after {
        let now = Instant::now();
        lock(&state.quiet_until).insert(
            user.to_string(),
            (now + IN_FLIGHT_GRACE, now + Duration::from_secs(seconds)),
        );
        let value = match state.config.retry_after_style {
            RetryAfterStyle::Seconds => seconds.to_string(),
            RetryAfterStyle::Date => {
                let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds as i64);
                jiff::fmt::rfc2822::to_string(&at.to_zoned(jiff::tz::TimeZone::UTC))
                    .unwrap_or_default()
            }
            RetryAfterStyle::Huge => "99999999999".into(),
            RetryAfterStyle::Garbage => "after lunch".into(),
        };
        answer.headers.push((RETRY_AFTER, value));
    }
    answer
}

/// An API path, parsed.
enum Route {
    Delete(Result<Target, Answer>),
    List(Result<(ObjectId, Kind), Answer>),
    Unknown(Answer),
}

impl Route {
    fn parse(path: &str, method: &Method) -> Route {
        let Some(rest) = path.strip_prefix(API_PREFIX) else {
            return Route::Unknown(Answer::error(
                404,
                "NOT_FOUND",
                format!("No resource at {path}."),
                "Not Found",
            ));
        };
        let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        let kind = |segment: &str| match segment {
            "apiKeys" => Some(Kind::ProjectApiKey),
            "agentapikeys" => Some(Kind::AgentApiKey),
            _ => None,
        };
        let id = |text: &str, what: &str| {
            ObjectId::parse(text).ok_or_else(|| {
                Answer::error(
                    400,
                    "INVALID_OBJECT_ID",
                    format!("An invalid {what} ID {text} was specified."),
                    "Bad Request",
                )
            })
        };
        match (parts.as_slice(), method) {
            (["groups", project, collection, key], &Method::DELETE)
                if kind(collection).is_some() =>
            {
                let kind = kind(collection).unwrap_or(Kind::ProjectApiKey);
                Route::Delete(id(project, "group").and_then(|project| {
                    Ok(Target {
                        kind,
                        project,
                        key: id(key, "key")?,
                    })
                }))
            }
            (["groups", project, collection], &Method::GET) if kind(collection).is_some() => {
                let kind = kind(collection).unwrap_or(Kind::ProjectApiKey);
                Route::List(id(project, "group").map(|p| (p, kind)))
            }
            (["groups", _, collection, ..], _) if kind(collection).is_some() => {
                Route::Unknown(Answer::error(
                    405,
                    "METHOD_NOT_ALLOWED",
                    format!("Method {method} is not allowed here."),
                    "Method Not Allowed",
                ))
            }
            _ => Route::Unknown(Answer::error(
                404,
                "NOT_FOUND",
                format!("No resource at {path}."),
                "Not Found",
            )),
        }
    }

    fn project(&self) -> Option<ObjectId> {
        match self {
            Route::Delete(Ok(t)) => Some(t.project),
            Route::List(Ok((p, _))) => Some(*p),
            _ => None,
        }
    }

    fn serve(self, state: &State, query: &Query) -> Answer {
        let forbidden = |project: &ObjectId| {
            state.forbidden.contains(&project.bytes()).then(|| {
                Answer::error(
                    403,
                    "USER_CANNOT_ACCESS_GROUP",
                    format!("The API key does not have access to group {project}."),
                    "Forbidden",
                )
            })
        };
        let no_group = |project: &ObjectId| {
            Answer::error(
                404,
                "GROUP_NOT_FOUND",
                format!("No group with ID {project} exists."),
                "Not Found",
            )
        };
        match self {
            Route::Unknown(answer) | Route::Delete(Err(answer)) | Route::List(Err(answer)) => {
                answer
            }
            Route::Delete(Ok(target)) => {
                if let Some(answer) = forbidden(&target.project) {
                    return answer;
                }
                match state.keys.delete(&target, &state.counters) {
                    Deleted::Yes => {
                        state.counters.deleted.fetch_add(1, Ordering::Relaxed);
                        Answer::ok()
                    }
                    Deleted::NoSuchProject => {
                        state.counters.not_found.fetch_add(1, Ordering::Relaxed);
                        no_group(&target.project)
                    }
                    Deleted::NoSuchKey => {
                        state.counters.not_found.fetch_add(1, Ordering::Relaxed);
                        let (code, what) = match target.kind {
                            Kind::ProjectApiKey => ("API_KEY_NOT_FOUND", "API key"),
                            Kind::AgentApiKey => ("AGENT_API_KEY_NOT_FOUND", "agent API key"),
                        };
                        Answer::error(
                            404,
                            code,
                            format!("No {what} with ID {} exists.", target.key),
                            "Not Found",
                        )
                    }
                }
            }
            Route::List(Ok((project, kind))) => {
                if let Some(answer) = forbidden(&project) {
                    return answer;
                }
                if !state.keys.project_exists(&project) {
                    return no_group(&project);
                }
                list(state, &project, kind, query)
            }
        }
    }
}

fn list(state: &State, project: &ObjectId, kind: Kind, query: &Query) -> Answer {
    let number =
        |v: &Option<String>, default: usize| v.as_deref().map_or(Ok(default), str::parse::<usize>);
    let (Ok(page), Ok(per_page)) = (
        number(&query.page_num, 1),
        number(&query.items_per_page, 100),
    ) else {
        return Answer::error(
            400,
            "INVALID_QUERY_PARAMETER",
            "pageNum and itemsPerPage must be numbers.".into(),
            "Bad Request",
        );
    };
    if page == 0 || per_page == 0 || per_page > 500 {
        return Answer::error(
            400,
            "INVALID_QUERY_PARAMETER",
            "pageNum must be at least 1 and itemsPerPage from 1 to 500.".into(),
            "Bad Request",
        );
    }
    let keys = state.keys.list(project, kind);
    let results: Vec<serde_json::Value> = keys
        .iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|key| match kind {
            Kind::ProjectApiKey => {
                json!({ "id": key.to_string(), "desc": "simulated key", "roles": [] })
            }
            Kind::AgentApiKey => {
                json!({ "id": key.to_string(), "desc": "simulated agent key", "key": "********" })
            }
        })
        .collect();
    Answer::json(
        200,
        json!({ "links": [], "results": results, "totalCount": keys.len() }),
    )
}

fn control_answer(state: &State, method: &Method, what: &str) -> Response<SimBody> {
    let (status, body) = match (method, what) {
        (&Method::GET, "stats") => {
            let stats = state.counters.snapshot(state.keys.remaining());
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

/// Envelope, pretty-printing, headers; counts the status sent on the wire.
fn frame(counters: &Counters, answer: Answer, query: &Query) -> Response<SimBody> {
    let (status, body) = match answer.raw {
        Some(body) => (answer.status, body),
        None => {
            let (status, json) = if query.envelope {
                (
                    200,
                    Some(
                        json!({ "status": answer.status, "content": answer.json.unwrap_or(serde_json::Value::Null) }),
                    ),
                )
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
            headers.insert(name, value);
        }
    }
    response
}
