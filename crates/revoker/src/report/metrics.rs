//! The metrics of a run in the Prometheus text exposition format, for node_exporter's textfile
//! collector: written at the end of each run to a temporary file and renamed over the target, so the
//! collector never reads half a file. `revoker_last_success_timestamp_seconds` is carried over from
//! the previous file when this run did not succeed, and is 0 before the first success.

use std::fmt::Write as _;
use std::path::Path;

use super::{Outcome, Summary};

/// What the metrics of one run say.
pub struct RunMetrics<'a> {
    pub job: &'a str,
    pub summary: &'a Summary,
    pub exit_code: i32,
    /// When the run ended, seconds since the epoch.
    pub ended: f64,
}

/// A label value with `\`, `"` and newlines escaped, as the exposition format wants.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The previous file's last-success timestamp for `job`, if it has one.
fn previous_success(path: &Path, job: &str) -> Option<f64> {
    let bytes = crate::fsx::read_bounded(path, crate::fsx::Links::Follow, 1 << 20).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let prefix = format!(
        "revoker_last_success_timestamp_seconds{{job=\"{}\"}} ",
        label(job)
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// The metrics as text.
pub fn render(m: &RunMetrics<'_>, last_success: Option<f64>) -> String {
    let job = label(m.job);
    let s = m.summary;
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, lines: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (labels, value) in lines {
            let _ = writeln!(out, "{name}{{job=\"{job}\"{labels}}} {value}");
        }
    };
    gauge(
        "revoker_rows",
        "Report rows the last run wrote, per outcome.",
        // A run never writes `skipped` (only reports of old revokers have it).
        Outcome::ALL
            .iter()
            .filter(|o| **o != Outcome::Skipped)
            .map(|o| (format!(",outcome=\"{o}\""), s.count(*o) as f64))
            .collect(),
    );
    gauge(
        "revoker_rows_not_attempted",
        "Rows the last run did not attempt because it stopped.",
        vec![(String::new(), s.not_attempted as f64)],
    );
    gauge(
        "revoker_requests",
        "HTTP requests the last run sent.",
        vec![(String::new(), s.requests as f64)],
    );
    gauge(
        "revoker_throttled_requests",
        "429 answers the last run got.",
        vec![(String::new(), s.throttled as f64)],
    );
    gauge(
        "revoker_retries",
        "Attempts after the first, over all rows of the last run.",
        vec![(String::new(), s.retries as f64)],
    );
    gauge(
        "revoker_duration_seconds",
        "How long the last run took.",
        vec![(String::new(), s.elapsed_ms as f64 / 1000.0)],
    );
    gauge(
        "revoker_exit_code",
        "The exit code of the last run.",
        vec![(String::new(), f64::from(m.exit_code))],
    );
    gauge(
        "revoker_last_run_timestamp_seconds",
        "When the last run ended.",
        vec![(String::new(), m.ended)],
    );
    let success = if m.exit_code == 0 {
        Some(m.ended)
    } else {
        last_success
    };
    // 0 until a run succeeds, so that `time() - revoker_last_success_timestamp_seconds` alerts
    // from the first night on rather than never.
    gauge(
        "revoker_last_success_timestamp_seconds",
        "When a run last ended with every row finished (0: never).",
        vec![(String::new(), success.unwrap_or(0.0))],
    );
    out
}

/// Writes the metrics to `path` atomically.
pub fn write(path: &Path, m: &RunMetrics<'_>) -> std::io::Result<()> {
    write_with(path, m, "")
}

/// Writes the metrics and `extra` lines (another room's gauges, in the exposition format).
pub fn write_with(path: &Path, m: &RunMetrics<'_>, extra: &str) -> std::io::Result<()> {
    let mut text = render(m, previous_success(path, m.job));
    text.push_str(extra);
    // node_exporter runs as another user: the metrics are not secret. The mode is set on the open
    // temporary file, before it has the name.
    crate::fsx::write_atomic(path, text.as_bytes(), crate::fsx::PUBLIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_keeps_the_last_success() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("revoker.prom");
        let mut summary = Summary::default();
        summary.outcomes.insert(Outcome::Done, 3);
        write(
            &path,
            &RunMetrics {
                job: "night\"ly",
                summary: &summary,
                exit_code: 0,
                ended: 100.0,
            },
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("revoker_rows{job=\"night\\\"ly\",outcome=\"done\"} 3"),
            "{text}"
        );
        write(
            &path,
            &RunMetrics {
                job: "night\"ly",
                summary: &summary,
                exit_code: 1,
                ended: 200.0,
            },
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("revoker_last_run_timestamp_seconds{job=\"night\\\"ly\"} 200"),
            "{text}"
        );
        assert!(
            text.contains("revoker_last_success_timestamp_seconds{job=\"night\\\"ly\"} 100"),
            "{text}"
        );
        assert!(
            text.contains("revoker_exit_code{job=\"night\\\"ly\"} 1"),
            "{text}"
        );
    }
}
