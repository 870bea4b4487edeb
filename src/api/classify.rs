//! Every answer of the API, and every way of not getting one, classified.

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};

use super::{Counters, MAX_BODY_BYTES};

/// Longest wait a `Retry-After` can impose; a larger value is taken as this, since a run that waits
/// hours on one header is stuck, not polite.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The classified answer to one revocation attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200: revoked.
    Done,
    /// 404: the key or project does not exist.
    NotFound { code: String, detail: String },
    /// Another 4xx (or an unexpected status) that retrying cannot fix.
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
    /// 401 after a fresh challenge: no request with these credentials can succeed.
    CredentialsRejected { detail: String },
    /// The server's challenge cannot be answered (malformed, unsupported algorithm).
    AuthUnusable { detail: String },
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
            Answer::Done => Some(200),
            Answer::NotFound { .. } => Some(404),
            Answer::Rejected { status, .. } => Some(*status),
            Answer::Transient { status, .. } => *status,
            Answer::CredentialsRejected { .. } => Some(401),
            Answer::AuthUnusable { .. } => Some(401),
        }
    }

    /// The API's `errorCode`, or empty.
    pub fn error_code(&self) -> &str {
        match self {
            Answer::NotFound { code, .. }
            | Answer::Rejected { code, .. }
            | Answer::Transient { code, .. } => code,
            _ => "",
        }
    }

    /// A readable explanation, or empty for `Done`.
    pub fn detail(&self) -> &str {
        match self {
            Answer::Done => "",
            Answer::NotFound { detail, .. }
            | Answer::Rejected { detail, .. }
            | Answer::Transient { detail, .. }
            | Answer::CredentialsRejected { detail }
            | Answer::AuthUnusable { detail } => detail,
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, Answer::Transient { .. })
    }

    /// Whether the answer stops the whole run: nothing more can succeed with these credentials.
    pub fn stops_the_run(&self) -> bool {
        matches!(
            self,
            Answer::CredentialsRejected { .. } | Answer::AuthUnusable { .. }
        )
    }
}

/// The API's error document; every field optional, since Cloud Manager, Ops Manager and proxies differ.
#[derive(serde::Deserialize, Default)]
struct ErrorBody {
    detail: Option<String>,
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
    reason: Option<String>,
}

#[derive(serde::Deserialize)]
struct Envelope {
    status: u16,
    #[serde(default)]
    content: serde_json::Value,
}

/// Reads at most [`MAX_BODY_BYTES`] of a body; answers the bytes and whether more were dropped.
async fn read_capped(response: &mut reqwest::Response) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY_BYTES - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

pub(super) async fn classify(
    mut response: reqwest::Response,
    envelope: bool,
    counters: &Counters,
) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let (body, cut) = match read_capped(&mut response).await {
        Ok(read) => read,
        // The status line arrived but the body did not: for a 200 the key is most likely gone.
        Err(e) => {
            let mut answer = transport_error(&e);
            if let Answer::Transient {
                status: s, detail, ..
            } = &mut answer
            {
                *s = Some(status);
                *detail = format!("HTTP {status}, then the body failed: {detail}");
            }
            return answer;
        }
    };
    if envelope && status == 200 && !body.is_empty() {
        return match serde_json::from_slice::<Envelope>(&body) {
            Ok(inner) => {
                let content = serde_json::to_vec(&inner.content).unwrap_or_default();
                by_status(inner.status, &headers, &content, false, counters)
            }
            Err(_) => Answer::Transient {
                status: Some(200),
                code: String::new(),
                detail: format!("envelope answer is not JSON ({})", body_shape(&body, cut)),
                retry_after: None,
                ambiguous: true,
            },
        };
    }
    by_status(status, &headers, &body, cut, counters)
}

fn by_status(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    cut: bool,
    counters: &Counters,
) -> Answer {
    let (code, detail) = error_text(status, body, cut);
    match status {
        200 => Answer::Done,
        404 => Answer::NotFound { code, detail },
        429 => {
            Counters::bump(&counters.throttled);
            Answer::Transient {
                status: Some(429),
                code,
                detail,
                retry_after: retry_after(headers),
                ambiguous: false,
            }
        }
        408 | 500..=599 => Answer::Transient {
            status: Some(status),
            code,
            detail,
            retry_after: retry_after(headers),
            ambiguous: false,
        },
        401 => Answer::CredentialsRejected { detail },
        300..=399 => {
            let to = headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("nowhere");
            Answer::Rejected {
                status,
                code,
                detail: format!("redirect to {} not followed", crate::input::shown(to)),
            }
        }
        _ if (200..300).contains(&status) => Answer::Rejected {
            status,
            code,
            detail: format!("unexpected HTTP {status}: only 200 counts as revoked"),
        },
        _ => Answer::Rejected {
            status,
            code,
            detail,
        },
    }
}

/// `errorCode` and a detail text from an error body, whatever shape it has.
fn error_text(status: u16, body: &[u8], cut: bool) -> (String, String) {
    if body.is_empty() {
        return (
            String::new(),
            if status == 200 {
                String::new()
            } else {
                format!("HTTP {status} with no body")
            },
        );
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if e.detail.is_some() || e.error_code.is_some() || e.reason.is_some() => {
            let detail = e
                .detail
                .or(e.reason)
                .unwrap_or_else(|| format!("HTTP {status}"));
            (e.error_code.unwrap_or_default(), clip(&detail))
        }
        _ => (
            String::new(),
            format!("HTTP {status} ({})", body_shape(body, cut)),
        ),
    }
}

fn body_shape(body: &[u8], cut: bool) -> String {
    let size = if cut {
        format!("over {} KiB", MAX_BODY_BYTES / 1024)
    } else {
        format!("{} bytes", body.len())
    };
    let looks = if body.trim_ascii_start().starts_with(b"<") {
        "an HTML body"
    } else {
        "a non-JSON body"
    };
    format!("{looks} of {size}")
}

fn clip(text: &str) -> String {
    if text.chars().count() <= 300 {
        return text.to_string();
    }
    let cut: String = text.chars().take(300).collect();
    format!("{cut}…")
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

/// A request that got no answer: timeouts and connection errors are transient, and ambiguous, since
/// the server may have carried out the request before the connection failed.
pub(super) fn transport_error(e: &reqwest::Error) -> Answer {
    Answer::Transient {
        status: None,
        code: String::new(),
        detail: describe(e),
        retry_after: None,
        ambiguous: true,
    }
}

/// A reqwest error with its causes, without the URL (the report already names the row).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer before the timeout".into();
    }
    let mut text = if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "connection error".to_string()
    };
    let mut source = e.source();
    let mut last = String::new();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if cause_text != last {
            text.push_str(": ");
            text.push_str(&cause_text);
            last = cause_text;
        }
        source = cause.source();
    }
    text
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
    fn statuses_classify() {
        let c = Counters::default();
        let h = HeaderMap::new();
        let body = br#"{"detail":"No group with ID x exists.","error":404,"errorCode":"GROUP_NOT_FOUND","reason":"Not Found"}"#;
        assert_eq!(
            by_status(404, &h, body, false, &c),
            Answer::NotFound {
                code: "GROUP_NOT_FOUND".into(),
                detail: "No group with ID x exists.".into()
            }
        );
        assert!(matches!(
            by_status(403, &h, b"", false, &c),
            Answer::Rejected { status: 403, .. }
        ));
        assert!(matches!(
            by_status(400, &h, b"", false, &c),
            Answer::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            by_status(204, &h, b"", false, &c),
            Answer::Rejected { status: 204, .. }
        ));
        assert!(
            by_status(503, &h, b"<html>busy</html>", false, &c)
                .detail()
                .contains("an HTML body of 17 bytes")
        );
        assert!(
            matches!(by_status(429, &headers("2"), b"", false, &c), Answer::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(2))
        );
        assert_eq!(Counters::get(&c.throttled), 1);
        assert_eq!(by_status(200, &h, b"", false, &c), Answer::Done);
    }
}
