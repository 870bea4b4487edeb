//! A report overview shown as text (for a terminal or a cron mail) or as one JSON document; the HTML
//! page is in [`super::html`].

use std::fmt::Write as _;
use std::time::Duration;

use super::Outcome;
use super::overview::{ReportOverview, RunView};

/// Unfinished rows listed in the text form; `--failures` writes them all.
const SHOWN: usize = 20;

/// `done 3 · not_found 1 · …`: the run outcomes always, the verification ones when present.
pub fn counts(counts: &std::collections::BTreeMap<Outcome, u64>) -> String {
    Outcome::ALL
        .iter()
        .filter(|o| Outcome::RUN.contains(o) || counts.get(o).copied().unwrap_or(0) > 0)
        .map(|o| format!("{o} {}", counts.get(o).copied().unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn run_text(out: &mut String, run: &RunView) {
    let rows: u64 = run.rows.values().sum();
    let secs = Duration::from_millis(run.elapsed_ms).as_secs_f64();
    let _ = writeln!(
        out,
        "run {} ({}): {rows} rows in {secs:.1} s",
        run.run_id, run.command
    );
    if let Some(audit) = &run.audit {
        let s = &audit.start;
        let _ = writeln!(
            out,
            "  started {} by {}@{} with {}, revoker {}",
            s.at,
            s.user.as_deref().unwrap_or("?"),
            s.host.as_deref().unwrap_or("?"),
            s.credential.as_deref().unwrap_or("?"),
            s.version.as_deref().unwrap_or("?"),
        );
        let _ = writeln!(
            out,
            "  {} at {}",
            s.api.as_deref().unwrap_or("API"),
            s.base_url.as_deref().unwrap_or("?")
        );
        if let Some(input) = &s.input {
            let _ = writeln!(
                out,
                "  input {input} (SHA-256 {}, {} rows); kinds allowed: {}",
                s.input_sha256.as_deref().unwrap_or("?"),
                s.input_rows.unwrap_or(0),
                s.allowed_kinds
                    .as_ref()
                    .filter(|k| !k.is_empty())
                    .map_or("project-api-key, agent-api-key (the default)".into(), |k| k
                        .join(", "))
            );
        }
    }
    let _ = writeln!(out, "  {}", counts(&run.rows));
    if let Some(end) = run.audit.as_ref().and_then(|a| a.end.as_ref()) {
        let mut line = format!(
            "  ended {} with exit code {}; requests {} · retries {} · 429s {}",
            end.at,
            end.exit_code.unwrap_or(-1),
            end.requests.unwrap_or(0),
            end.retries.unwrap_or(0),
            end.throttled.unwrap_or(0)
        );
        if let Some(n) = end.not_attempted.filter(|n| *n > 0) {
            let _ = write!(line, " · not attempted {n}");
        }
        if let Some(stopped) = &end.stopped {
            let _ = write!(line, "; stopped: {stopped}");
        }
        let _ = writeln!(out, "{line}");
        if let Some(chain) = &end.chain {
            let _ = writeln!(out, "  chain digest at its end: {chain}");
        }
    } else if run.audit.is_some() {
        let _ = writeln!(
            out,
            "  no end record: the run is still going, or it crashed"
        );
    }
}

/// The overview as text.
pub fn text(o: &ReportOverview) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {} runs", o.report.display(), o.runs.len());
    for run in &o.runs {
        run_text(&mut out, run);
    }
    let _ = writeln!(out, "latest outcome of each row: {}", counts(&o.latest));
    if let Some(v) = &o.verification {
        let _ = writeln!(
            out,
            "last verification ({} at {}): {} confirmed absent, {} still present",
            v.run_id, v.at, v.verified, v.still_present
        );
    }
    if o.chain.intact {
        let _ = writeln!(
            out,
            "chain: intact ({} rows checked{}); last digest {}",
            o.chain.rows_checked,
            if o.chain.rows_unchained > 0 {
                format!(", {} older rows without digests", o.chain.rows_unchained)
            } else {
                String::new()
            },
            o.chain.last
        );
    } else {
        let at = o
            .chain
            .first_bad_line
            .map(|l| format!(" at line {l}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "chain: BROKEN{at}: {}",
            o.chain.problem.as_deref().unwrap_or("")
        );
    }
    if let Some(problem) = &o.audit_problem {
        let _ = writeln!(out, "audit record: BROKEN: {problem}");
    }
    for r in o.unfinished.iter().take(SHOWN) {
        let secret = if r.secret.is_empty() {
            String::new()
        } else {
            format!(" {}", r.secret)
        };
        let safe = |v: &str| crate::text::one_line(v).into_owned();
        let _ = writeln!(
            out,
            "  line {}: {} {} {} {}{}: {}",
            r.line,
            r.outcome,
            safe(&r.kind),
            safe(&r.project),
            safe(&r.key),
            safe(&secret),
            safe(&r.message)
        );
    }
    if o.unfinished.len() > SHOWN {
        let _ = writeln!(
            out,
            "  … and {} more (write them all with --failures FILE)",
            o.unfinished.len() - SHOWN
        );
    }
    out
}

/// The overview as one JSON document, every row's latest outcome included.
pub fn json(o: &ReportOverview) -> serde_json::Value {
    let rows: Vec<super::overview::LatestRow> = o.rows.iter().map(Into::into).collect();
    let mut doc = serde_json::json!({
        "report": o.report.display().to_string(),
        "runs": o.runs,
        "latest": o.latest,
        "unfinished": o.unfinished.len(),
        "chain": o.chain,
        "rows": rows,
    });
    if let Some(problem) = &o.audit_problem {
        doc["audit_problem"] = problem.clone().into();
    }
    if let Some(v) = &o.verification {
        doc["verification"] = serde_json::to_value(v).unwrap_or_default();
    }
    doc
}
