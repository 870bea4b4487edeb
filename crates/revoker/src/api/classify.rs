//! Every answer of the API, and every way of not getting one, classified as MongoDB documents them:
//! by status first, refined by a short table of documented `errorCode`s; unknown codes fall back to
//! the status class.
//!
//! | answer | class |
//! |---|---|
//! | any 2xx | done |
//! | 404 with the API's error document; 400 `API_KEY_NOT_FOUND` | not found |
//! | 404 `NOT_ATLAS_GROUP`, `ATLAS_GROUP`, `NOT_ATLAS_ORG`, `EXPECTED_NON_ATLAS_ORG` | rejected: the scope is the other API's |
//! | 404 without the API's error document (no `errorCode`) | not the API: stop (wrong base URL) |
//! | 401 with an authorization code (`NOT_IN_GROUP`, …) | rejected: this project or org refuses |
//! | 401 otherwise (after the auth layer's own retries) | credentials refused: stop |
//! | 403 with an access-list code | this machine's IP is not allowed: stop |
//! | other 403, 3xx, other 4xx | rejected |
//! | 429, 408, 5xx, timeouts, connection errors | transient |

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};

use super::Api;
use crate::text::clip;

/// Longest wait a `Retry-After` can impose; a larger value is taken as this, since a run that waits
/// hours on one header is stuck, not polite.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// 401 codes that refuse this credential on one project or organization, not the credential itself
/// (a deleted project answers `NOT_IN_GROUP` too).
pub const AUTHORIZATION_CODES: [&str; 8] = [
    "NOT_IN_GROUP",
    "USER_CANNOT_ACCESS_GROUP",
    "USER_CANNOT_ACCESS_ORG",
    "USER_UNAUTHORIZED",
    "NOT_API_KEY_ADMIN",
    "NOT_ORG_OWNER",
    "NOT_ORG_USER_ADMIN",
    "NOT_GROUP_USER_ADMIN",
];

/// 403 codes that say this machine's address is not on the credential's IP access list: nothing
/// can succeed from here.
pub const ACCESS_LIST_CODES: [&str; 6] = [
    "IP_ADDRESS_NOT_ON_ACCESS_LIST",
    "IP_ADDRESS_NOT_ON_WHITELIST",
    "ORG_REQUIRES_ACCESS_LIST",
    "ORG_REQUIRES_WHITELIST",
    "RESOURCE_REQUIRES_ACCESS_LIST",
    "RESOURCE_REQUIRES_WHITELIST",
];

/// 404 codes by which a project or organization says it exists under the other API (the Atlas
/// Administration API's error-code reference: `NOT_ATLAS_GROUP` "Group %s is not an Atlas group; use
/// the Cloud Manager Public API at /api/public/v1.0 to access it.", `NOT_ATLAS_ORG`, `ATLAS_GROUP`
/// "Group %s is an Atlas group; use the Atlas Public API …", `EXPECTED_NON_ATLAS_ORG` "The
/// organization with id %s is an Atlas organization."), with the API it is under. Nothing is
/// known of the key there: such a row is not finished.
pub const OTHER_API_CODES: [(&str, Api); 4] = [
    ("NOT_ATLAS_GROUP", Api::CloudManager),
    ("NOT_ATLAS_ORG", Api::CloudManager),
    ("ATLAS_GROUP", Api::Atlas),
    ("EXPECTED_NON_ATLAS_ORG", Api::Atlas),
];

/// The API a not-found code says the scope is under, when it is one of [`OTHER_API_CODES`].
pub fn other_api_of(code: &str) -> Option<Api> {
    OTHER_API_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, api)| *api)
}

/// 400 codes that mean the key is not there.
const NOT_FOUND_400: [&str; 1] = ["API_KEY_NOT_FOUND"];

/// Not-found codes that say the project or organization itself is gone, not just the key.
const SCOPE_GONE: [&str; 4] = [
    "GROUP_NOT_FOUND",
    "INVALID_GROUP_ID",
    "ORG_NOT_FOUND",
    "INVALID_ORG_ID",
];

/// An answer after which no request of the run can succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fatal {
    /// 401 after a fresh challenge or a fresh token: the credential itself is refused.
    CredentialsRejected { detail: String },
    /// The server's challenge cannot be answered (malformed, unsupported algorithm).
    AuthUnusable { detail: String },
    /// 403 with an access-list code: this machine's address is not allowed.
    AccessList { code: String, detail: String },
    /// A 404 without the API's error document, or a 2xx that asked no credentials: the base URL does
    /// not reach the API. `detail` says what came back.
    NotTheApi { detail: String },
}

/// The classified answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Any 2xx (200 on v1.0, 204 on Atlas v2 and for service accounts).
    Done { status: u16 },
    /// The key, project or organization is not there.
    NotFound {
        status: u16,
        code: String,
        detail: String,
    },
    /// A refusal that retrying cannot fix.
    Rejected {
        status: u16,
        code: String,
        detail: String,
    },
    /// Worth retrying: 429, 5xx, 408, timeouts, connection errors.
    Transient {
        status: Option<u16>,
        code: String,
        detail: String,
        retry_after: Option<Duration>,
        /// The request may have reached the server and been carried out (no answer was read).
        ambiguous: bool,
    },
    /// Nothing more can succeed: the run stops.
    Fatal(Fatal),
}

impl Answer {
    pub(crate) fn transient(
        status: Option<u16>,
        code: &str,
        detail: &str,
        retry_after: Option<Duration>,
    ) -> Answer {
        Answer::Transient {
            status,
            code: code.into(),
            detail: detail.into(),
            retry_after,
            ambiguous: false,
        }
    }

    /// The HTTP status that decided the answer, if one did.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Answer::Done { status }
            | Answer::NotFound { status, .. }
            | Answer::Rejected { status, .. } => Some(*status),
            Answer::Transient { status, .. } => *status,
            Answer::Fatal(Fatal::AccessList { .. }) => Some(403),
            Answer::Fatal(Fatal::NotTheApi { .. }) => Some(404),
            Answer::Fatal(_) => Some(401),
        }
    }

    /// A not-found answer about the project or organization rather than the key: after an attempt
    /// that got no answer it proves nothing about what that attempt did.
    pub fn scope_gone(&self) -> bool {
        matches!(self, Answer::NotFound { code, .. } if SCOPE_GONE.contains(&code.as_str()))
    }

    /// The API's `errorCode`, or empty.
    pub fn error_code(&self) -> &str {
        match self {
            Answer::NotFound { code, .. }
            | Answer::Rejected { code, .. }
            | Answer::Transient { code, .. }
            | Answer::Fatal(Fatal::AccessList { code, .. }) => code,
            _ => "",
        }
    }

    /// `HTTP 403 detail`, or the detail alone for an answer without a status (no answer at all).
    pub fn described(&self) -> String {
        match self.http_status() {
            Some(s) => format!("HTTP {s} {}", self.detail()),
            None => self.detail().to_string(),
        }
    }

    /// A readable explanation, or empty for `Done`.
    pub fn detail(&self) -> &str {
        match self {
            Answer::Done { .. } => "",
            Answer::NotFound { detail, .. }
            | Answer::Rejected { detail, .. }
            | Answer::Transient { detail, .. }
            | Answer::Fatal(
                Fatal::CredentialsRejected { detail }
                | Fatal::AuthUnusable { detail }
                | Fatal::AccessList { detail, .. }
                | Fatal::NotTheApi { detail },
            ) => detail,
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, Answer::Transient { .. })
    }

    pub fn is_throttled(&self) -> bool {
        matches!(
            self,
            Answer::Transient {
                status: Some(429),
                ..
            }
        )
    }

    /// A server failure: no usable answer (5xx, 408, timeouts, connection errors), as opposed to a
    /// 429, which is the server working as designed.
    pub fn is_server_failure(&self) -> bool {
        self.is_transient() && !self.is_throttled()
    }

    /// Whether the server answered at all (any status, a classified error document).
    pub fn got_an_answer(&self) -> bool {
        !matches!(self, Answer::Transient { status: None, .. })
    }

    /// A refusal of this project or organization (403, or 401 with an authorization code).
    pub fn is_scope_refusal(&self) -> bool {
        matches!(self, Answer::Rejected { status: 403, .. })
            || matches!(self, Answer::Rejected { status: 401, code, .. } if AUTHORIZATION_CODES.contains(&code.as_str()))
    }

    /// The other API, when this answer says the project or organization exists under it.
    pub fn other_api(&self) -> Option<Api> {
        match self {
            Answer::Rejected {
                status: 404, code, ..
            } => other_api_of(code),
            _ => None,
        }
    }

    /// The fatal part, if this answer stops the run.
    pub fn fatal(&self) -> Option<&Fatal> {
        match self {
            Answer::Fatal(f) => Some(f),
            _ => None,
        }
    }
}

/// What an answer says about the rate limit it counts against.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RateInfo {
    /// `RateLimit-Limit`: the bucket's capacity.
    pub limit: Option<u64>,
    /// `RateLimit-Remaining`: tokens left in the bucket.
    pub remaining: Option<u64>,
    /// From a `RATE_LIMITED_TOKEN_BUCKET` body: the bucket's capacity.
    pub capacity: Option<f64>,
    /// From a `RATE_LIMITED_TOKEN_BUCKET` body: tokens added per second.
    pub refill_per_second: Option<f64>,
}

/// The API's error document; every field optional, since Cloud Manager, Ops Manager and proxies differ.
#[derive(serde::Deserialize, Default)]
struct ErrorBody {
    detail: Option<String>,
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    parameters: Vec<serde_json::Value>,
}

/// The parts of an error document revoker uses, made safe to log.
#[derive(Default)]
pub(crate) struct ErrorText {
    /// `errorCode`, empty when there is none.
    pub code: String,
    pub detail: String,
    /// Whether the body was the API's error document (JSON with an `errorCode`).
    pub documented: bool,
    pub bucket: (Option<f64>, Option<f64>),
}

#[derive(serde::Deserialize)]
struct Envelope<'a> {
    status: u16,
    #[serde(default, borrow)]
    content: Option<&'a serde_json::value::RawValue>,
}

/// Reads at most `cap` bytes of a body; answers the bytes and whether more were dropped.
pub(crate) async fn read_capped(
    response: &mut reqwest::Response,
    cap: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// Classifies a whole answer. Answers the class and the body (for an envelope, its content), which
/// list reads use.
pub(crate) async fn classify(
    mut response: reqwest::Response,
    envelope: bool,
    cap: usize,
) -> (Answer, RateInfo, Vec<u8>) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut info = rate_info(&headers);
    let (body, cut) = match read_capped(&mut response, cap).await {
        Ok(read) => read,
        // The status line arrived but the body did not: for a 2xx the key is most likely gone.
        Err(e) => {
            let mut answer = transport_error(&e);
            if let Answer::Transient {
                status: s,
                detail,
                ambiguous,
                ..
            } = &mut answer
            {
                *s = Some(status);
                *ambiguous = true;
                *detail = format!("HTTP {status}, then the body failed: {detail}");
            }
            return (answer, info, Vec::new());
        }
    };
    if envelope && status == 200 && !body.is_empty() {
        // A single result is `{status, content}`; "for endpoints that return a list of results,
        // the results object is an envelope": the list itself, with a `status` field added.
        return match serde_json::from_slice::<Envelope>(&body) {
            Ok(inner) => {
                let status = inner.status;
                let content = match inner.content {
                    Some(raw) => raw.get().as_bytes().to_vec(),
                    None => body,
                };
                let answer = by_status(status, &headers, &content, false, &mut info);
                (answer, info, content)
            }
            Err(_) => (
                Answer::Transient {
                    status: Some(200),
                    code: String::new(),
                    detail: format!("envelope answer is not JSON ({})", body_shape(&body, cut)),
                    retry_after: None,
                    ambiguous: true,
                },
                info,
                Vec::new(),
            ),
        };
    }
    let answer = by_status(status, &headers, &body, cut, &mut info);
    (answer, info, body)
}

pub(crate) fn by_status(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    cut: bool,
    info: &mut RateInfo,
) -> Answer {
    let text = error_text(status, body, cut);
    let ErrorText { code, detail, .. } = text;
    match status {
        200..=299 => Answer::Done { status },
        // Said once: the status is the row's own column, and the stop names the base URL.
        404 if !text.documented => Answer::Fatal(Fatal::NotTheApi {
            detail: format!("not the API's error document but {}", body_shape(body, cut)),
        }),
        404 if other_api_of(&code).is_some() => Answer::Rejected {
            status,
            code,
            detail,
        },
        404 => Answer::NotFound {
            status,
            code,
            detail,
        },
        400 if NOT_FOUND_400.contains(&code.as_str()) => Answer::NotFound {
            status,
            code,
            detail,
        },
        // An answer whose error document was too big to read says nothing we can act on (the API's
        // own are small): another attempt may read it.
        400..=499 if cut && status != 401 && status != 404 => {
            transient(status, code, detail, headers)
        }
        429 => {
            info.capacity = text.bucket.0;
            info.refill_per_second = text.bucket.1;
            transient(status, code, detail, headers)
        }
        408 | 500..=599 => transient(status, code, detail, headers),
        401 if AUTHORIZATION_CODES.contains(&code.as_str()) => Answer::Rejected {
            status,
            code,
            detail,
        },
        401 => Answer::Fatal(Fatal::CredentialsRejected {
            detail: format!("401 Unauthorized: {detail}"),
        }),
        403 if ACCESS_LIST_CODES.contains(&code.as_str()) => {
            Answer::Fatal(Fatal::AccessList { code, detail })
        }
        300..=399 => redirect(status, code, headers),
        _ => Answer::Rejected {
            status,
            code,
            detail,
        },
    }
}

/// An answer another attempt may change, waiting as long as the server asked.
fn transient(status: u16, code: String, detail: String, headers: &HeaderMap) -> Answer {
    Answer::Transient {
        status: Some(status),
        code,
        detail,
        retry_after: retry_after(headers),
        ambiguous: false,
    }
}

/// A redirect is never followed (credentials would go where it points): named, and rejected.
fn redirect(status: u16, code: String, headers: &HeaderMap) -> Answer {
    let to = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("nowhere");
    Answer::Rejected {
        status,
        code,
        detail: format!("redirect to {} not followed", crate::text::shown(to)),
    }
}

/// `errorCode` and a detail text from an error body, whatever shape it has, safe to log.
pub(crate) fn error_text(status: u16, body: &[u8], cut: bool) -> ErrorText {
    if body.is_empty() {
        return ErrorText {
            detail: if (200..300).contains(&status) {
                String::new()
            } else {
                format!("HTTP {status} with no body")
            },
            ..ErrorText::default()
        };
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if e.detail.is_some() || e.error_code.is_some() || e.reason.is_some() => {
            let bucket = bucket_of(e.error_code.as_deref(), e.detail.as_deref(), &e.parameters);
            let detail = e
                .detail
                .or(e.reason)
                .unwrap_or_else(|| format!("HTTP {status}"));
            let code = e.error_code.unwrap_or_default();
            ErrorText {
                documented: !code.trim().is_empty(),
                code: clip(code.trim(), 80),
                detail: clip(&detail, 300),
                bucket,
            }
        }
        _ => ErrorText {
            detail: format!("HTTP {status} ({})", body_shape(body, cut)),
            ..ErrorText::default()
        },
    }
}

/// The token bucket a `RATE_LIMITED_TOKEN_BUCKET` answer describes: "Request capacity: 10. Refill
/// rate: 5 per 60 seconds.", or its `parameters` `[endpoint, retryAfter, capacity, refill, seconds]`.
fn bucket_of(
    code: Option<&str>,
    detail: Option<&str>,
    parameters: &[serde_json::Value],
) -> (Option<f64>, Option<f64>) {
    let number_after = |text: &str, label: &str| -> Option<f64> {
        let at = text.find(label)? + label.len();
        let rest = text[at..].trim_start();
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        rest[..end].trim_end_matches('.').parse().ok()
    };
    if let Some(detail) = detail {
        let capacity = number_after(detail, "capacity:");
        let refill = number_after(detail, "Refill rate:").and_then(|tokens| {
            let at = detail.find("Refill rate:")?;
            let seconds = number_after(&detail[at..], " per ")?;
            (seconds > 0.0).then(|| tokens / seconds)
        });
        if capacity.is_some() || refill.is_some() {
            return (capacity, refill);
        }
    }
    if code == Some("RATE_LIMITED_TOKEN_BUCKET") && parameters.len() >= 5 {
        let n = |v: &serde_json::Value| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        };
        let capacity = n(&parameters[2]);
        let refill = match (n(&parameters[3]), n(&parameters[4])) {
            (Some(tokens), Some(seconds)) if seconds > 0.0 => Some(tokens / seconds),
            _ => None,
        };
        return (capacity, refill);
    }
    (None, None)
}

fn body_shape(body: &[u8], cut: bool) -> String {
    let size = if cut {
        format!("over {} KiB", body.len() / 1024)
    } else {
        format!("{} bytes", body.len())
    };
    let looks = if body.trim_ascii_start().starts_with(b"<") {
        "an HTML body"
    } else if body.trim_ascii_start().starts_with(b"{") {
        "a JSON body without an errorCode"
    } else {
        "a non-JSON body"
    };
    format!("{looks} of {size}")
}

/// `RateLimit-Limit` and `RateLimit-Remaining`, when the answer carries them.
fn rate_info(headers: &HeaderMap) -> RateInfo {
    let number = |name: &str| {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .split([',', ';'])
            .next()?
            .trim()
            .parse::<u64>()
            .ok()
    };
    RateInfo {
        limit: number("ratelimit-limit"),
        remaining: number("ratelimit-remaining"),
        ..RateInfo::default()
    }
}

/// `Retry-After` as seconds or as an HTTP date; garbage is ignored, huge values are capped.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = if let Ok(seconds) = text.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at = jiff::fmt::rfc2822::parse(text).ok()?.timestamp();
        let now = jiff::Timestamp::now();
        Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// A request that got no answer. Timeouts and broken connections are ambiguous, since the server may
/// have carried out the request; a connection that was never made (refused, DNS, TLS handshake) is not.
pub(crate) fn transport_error(e: &reqwest::Error) -> Answer {
    Answer::Transient {
        status: None,
        code: String::new(),
        detail: describe(e),
        retry_after: None,
        ambiguous: !e.is_connect(),
    }
}

/// What a TLS handshake answered by a plain-HTTP server means, in an operator's words.
const PLAIN_HTTP: &str = "the server answered in plain HTTP, not TLS: the base URL says https:// for a port that speaks http:// (use http://, or the server's TLS port)";

/// Whether the TLS handshake got bytes that are no TLS record: an HTTP answer, rustls's "corrupt
/// message of type InvalidContentType".
fn plain_http_to_tls(e: &reqwest::Error) -> bool {
    let mut source = e.source();
    while let Some(cause) = source {
        if cause.to_string().contains("InvalidContentType") {
            return true;
        }
        source = cause.source();
    }
    false
}

/// A reqwest error with its causes, without the URL (the report already names the row).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return if e.is_connect() {
            "no connection before the connect timeout".into()
        } else {
            "no answer before the timeout".into()
        };
    }
    let mut text = if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "connection error".to_string()
    };
    if plain_http_to_tls(e) {
        return format!("{text}: {PLAIN_HTTP}");
    }
    let mut source = e.source();
    let mut last = String::new();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if cause_text != last && !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
            last = cause_text;
        }
        source = cause.source();
    }
    crate::text::one_line(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(retry).unwrap());
        h
    }

    fn classify_body(status: u16, body: &[u8]) -> Answer {
        by_status(
            status,
            &HeaderMap::new(),
            body,
            false,
            &mut RateInfo::default(),
        )
    }

    fn doc(status: u16, code: &str) -> Vec<u8> {
        serde_json::json!({"detail": "d", "error": status, "errorCode": code, "reason": "r"})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after(&headers("3")), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&headers("99999999")), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:37 GMT")),
            Some(Duration::ZERO)
        );
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(30);
        let date = jiff::fmt::rfc2822::to_string(&later.to_zoned(jiff::tz::TimeZone::UTC)).unwrap();
        let got = retry_after(&headers(&date)).unwrap();
        assert!(
            got <= Duration::from_secs(30) && got >= Duration::from_secs(28),
            "{got:?} from {date}"
        );
    }

    #[test]
    fn the_documented_answers_classify_as_documented() {
        assert_eq!(classify_body(204, b""), Answer::Done { status: 204 });
        assert_eq!(classify_body(200, b"{}"), Answer::Done { status: 200 });
        assert!(matches!(
            classify_body(400, &doc(400, "API_KEY_NOT_FOUND")),
            Answer::NotFound { status: 400, .. }
        ));
        assert!(matches!(
            classify_body(400, &doc(400, "INVALID_ATTRIBUTE")),
            Answer::Rejected { status: 400, .. }
        ));
        for code in [
            "AGENT_API_KEY_NOT_FOUND",
            "GROUP_NOT_FOUND",
            "ORG_NOT_FOUND",
            "SOMETHING_NEW",
        ] {
            assert!(
                matches!(
                    classify_body(404, &doc(404, code)),
                    Answer::NotFound { status: 404, .. }
                ),
                "{code}"
            );
        }
        for (code, api) in OTHER_API_CODES {
            let a = classify_body(404, &doc(404, code));
            assert!(matches!(a, Answer::Rejected { status: 404, .. }), "{code}");
            assert_eq!(a.other_api(), Some(api));
            assert!(!a.is_scope_refusal());
        }
        for body in [
            &b"<html>Not Found</html>"[..],
            b"",
            br#"{"error":404,"reason":"Not Found"}"#,
        ] {
            assert!(
                matches!(
                    classify_body(404, body),
                    Answer::Fatal(Fatal::NotTheApi { .. })
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        for code in AUTHORIZATION_CODES {
            let a = classify_body(401, &doc(401, code));
            assert!(a.is_scope_refusal(), "{code}: {a:?}");
        }
        assert!(matches!(
            classify_body(401, &doc(401, "")),
            Answer::Fatal(Fatal::CredentialsRejected { .. })
        ));
        for code in ACCESS_LIST_CODES {
            assert!(matches!(
                classify_body(403, &doc(403, code)),
                Answer::Fatal(Fatal::AccessList { .. })
            ));
        }
        let forbidden = classify_body(403, &doc(403, "USER_CANNOT_ACCESS_GROUP"));
        assert!(forbidden.is_scope_refusal());
        assert!(
            classify_body(503, b"<html>busy</html>")
                .detail()
                .contains("an HTML body of 17 bytes")
        );
        assert!(
            matches!(by_status(429, &headers("2"), b"", false, &mut RateInfo::default()), Answer::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(2))
        );
    }

    #[test]
    fn server_text_is_made_safe_to_log() {
        let body = serde_json::json!({"detail": "line\nrevoker: all keys revoked OK", "errorCode": "X\u{1b}[2J", "error": 500})
            .to_string();
        let a = classify_body(500, body.as_bytes());
        assert_eq!(a.error_code(), "X\\u{1b}[2J");
        assert!(!a.detail().contains('\n'), "{}", a.detail());
    }

    #[test]
    fn a_token_bucket_429_teaches_the_bucket() {
        let body = serde_json::json!({
            "detail": "Rate limit exceeded for api/atlas/v2/orgs. Please retry after 55 seconds. Request capacity: 10. Refill rate: 5 per 60 seconds.",
            "error": 429, "errorCode": "RATE_LIMITED_TOKEN_BUCKET",
            "parameters": ["api/atlas/v2/orgs", 55, 10, 5, 60], "reason": "Too Many Requests"
        })
        .to_string();
        let mut info = RateInfo::default();
        by_status(429, &HeaderMap::new(), body.as_bytes(), false, &mut info);
        assert_eq!(info.capacity, Some(10.0));
        assert!((info.refill_per_second.unwrap() - 5.0 / 60.0).abs() < 1e-9);
        let params_only = serde_json::json!({
            "detail": "Rate limit exceeded.", "error": 429, "errorCode": "RATE_LIMITED_TOKEN_BUCKET",
            "parameters": ["x", 1, 20, 10, 1]
        })
        .to_string();
        let mut info = RateInfo::default();
        by_status(
            429,
            &HeaderMap::new(),
            params_only.as_bytes(),
            false,
            &mut info,
        );
        assert_eq!(
            (info.capacity, info.refill_per_second),
            (Some(20.0), Some(10.0))
        );
    }

    #[test]
    fn an_error_too_big_to_read_is_tried_again_but_a_huge_404_is_not_the_api() {
        let huge = vec![b'x'; 100];
        let cut = |status| {
            by_status(
                status,
                &HeaderMap::new(),
                &huge,
                true,
                &mut RateInfo::default(),
            )
        };
        assert!(matches!(
            cut(400),
            Answer::Transient {
                status: Some(400),
                ..
            }
        ));
        assert!(matches!(
            cut(403),
            Answer::Transient {
                status: Some(403),
                ..
            }
        ));
        assert!(matches!(cut(404), Answer::Fatal(Fatal::NotTheApi { .. })));
        let whole = by_status(
            400,
            &HeaderMap::new(),
            &huge,
            false,
            &mut RateInfo::default(),
        );
        assert!(matches!(whole, Answer::Rejected { status: 400, .. }));
    }
}
