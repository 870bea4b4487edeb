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
        .filter(|o| {
            let n = counts.get(o).copied().unwrap_or(0);
            (Outcome::RUN.contains(o)
                && !matches!(o, Outcome::Skipped | Outcome::Exempt | Outcome::Drifted))
                || n > 0
        })
        .map(|o| format!("{o} {}", counts.get(o).copied().unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn run_text(out: &mut String, run: &RunView) {
    let rows: u64 = run.rows.values().sum();
    let secs = Duration::from_millis(run.elapsed_ms).as_secs_f64();
    let _ = writeln!(
        out,
        "run {} ({}): {} in {secs:.1} s",
        run.run_id,
        run.command,
        crate::text::plural(rows, "row", "rows")
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
                "  input {input} (SHA-256 {}, {}); kinds allowed: {}",
                s.input_sha256.as_deref().unwrap_or("?"),
                crate::text::plural(s.input_rows.unwrap_or(0), "row", "rows"),
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

/// What happened to the rows, in an auditor's words, one count a line.
pub fn plain_text(out: &mut String, p: &super::overview::Plain) {
    let _ = writeln!(
        out,
        "what happened to the {}:",
        crate::text::plural(p.rows, "row", "rows")
    );
    for (label, n) in [
        ("revoked by revoker", p.revoked),
        ("already gone when asked", p.already_gone),
        ("confirmed absent afterwards", p.confirmed_absent),
        ("still present", p.still_present),
        ("refused", p.refused),
        ("failed", p.failed),
        ("invalid", p.invalid),
        ("never attempted", p.never_attempted),
        ("exempt (never sent)", p.exempt),
    ] {
        let _ = writeln!(out, "  {label:<28} {n}");
    }
}

/// What is left, and how to finish it: the unfinished rows grouped, the inputs with rows never
/// attempted, the runs that never ended.
fn left_text(out: &mut String, o: &ReportOverview) {
    for g in o.groups.iter().take(SHOWN) {
        let _ = writeln!(out, "  {}", crate::text::one_line(&g.line()));
    }
    if o.groups.len() > SHOWN {
        let _ = writeln!(
            out,
            "  … and {} more groups (write every row with --failures FILE)",
            o.groups.len() - SHOWN
        );
    }
    for l in &o.left {
        match l.not_attempted {
            Some(0) => {}
            Some(n) => {
                let _ = writeln!(
                    out,
                    "  never attempted: {n} {} of {} (SHA-256 {}): run … --resume sends them",
                    if n == 1 { "row" } else { "rows" },
                    l.input,
                    l.sha256
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  run {} of {} never ended (killed?): what it left is unknown; run … --resume sends it",
                    l.run_id, l.input
                );
            }
        }
    }
    let verdict = if o.finished() {
        if o.plain.exempt > 0 {
            format!(
                "finished: every row is done, already gone or confirmed absent, but {} exempt (never sent, by the exemption list)",
                crate::text::plural(o.plain.exempt, "row is", "rows are")
            )
        } else {
            "finished: every row is done, already gone or confirmed absent".to_string()
        }
    } else if o.plain.left() == 0 && !o.selection_unread().is_empty() {
        format!(
            "NOT finished: the selection could not read {}; credentials it should have chosen may be left: select again once it can",
            o.selection_unread().join("; ")
        )
    } else {
        let n = o.plain.left();
        format!(
            "NOT finished: {n} {} left{}; `revoker run … --resume` sends them, `revoker report {} --failures FILE` hands them over",
            if n == 1 { "row" } else { "rows" },
            if o.unended().is_empty() {
                String::new()
            } else {
                format!(
                    " and {} that never ended",
                    crate::text::plural(o.unended().len() as u64, "run", "runs")
                )
            },
            o.report.display()
        )
    };
    let _ = writeln!(out, "{verdict}");
}

/// The overview as text.
pub fn text(o: &ReportOverview) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {}",
        o.report.display(),
        crate::text::plural(o.runs.len() as u64, "run", "runs")
    );
    plans_text(&mut out, o);
    for run in &o.runs {
        run_text(&mut out, run);
    }
    plain_text(&mut out, &o.plain);
    if let Some(v) = &o.verification {
        let _ = writeln!(
            out,
            "last verification ({} at {}): {} confirmed absent, {} still present",
            v.run_id, v.at, v.verified, v.still_present
        );
    }
    for line in o.side_files.notes.iter().chain(&o.side_files.problems) {
        let _ = writeln!(out, "{}", crate::text::controls_escaped(line));
    }
    match &o.reconciliation {
        Some(Ok(r)) => {
            for line in r.report_lines(&o.chain.last) {
                let _ = writeln!(out, "{}", crate::text::controls_escaped(&line));
            }
        }
        Some(Err(problem)) => {
            let _ = writeln!(out, "events: UNREADABLE: {problem}");
        }
        None => {}
    }
    match &o.swept {
        Some(Ok(s)) => {
            for line in s.report_lines() {
                let _ = writeln!(out, "{}", crate::text::controls_escaped(&line));
            }
        }
        Some(Err(problem)) => {
            let _ = writeln!(out, "sweep: UNREADABLE: {problem}");
        }
        None => {}
    }
    chain_text(&mut out, o);
    left_text(&mut out, o);
    out
}

/// The plans recorded for the report: the state before a run, each with its line's SHA-256.
fn plans_text(out: &mut String, o: &ReportOverview) {
    if o.plans.is_empty() {
        let _ = writeln!(
            out,
            "plans: none recorded (revoker plan, or run --plan, records the state before a run)"
        );
    }
    for p in &o.plans {
        let _ = writeln!(
            out,
            "plan at {}{}: {}",
            p.at,
            p.before_run
                .as_ref()
                .map_or(", no run since".to_string(), |r| format!(
                    ", before run {r}"
                )),
            p.summary()
        );
        let _ = writeln!(out, "  recorded in {} (line SHA-256 {})", p.file, p.digest);
    }
    if let Some(problem) = &o.plans_problem {
        let _ = writeln!(out, "plans: BROKEN: {problem}");
    }
}

fn chain_text(out: &mut String, o: &ReportOverview) {
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
    if let Some(digest) = &o.evidence_digest {
        let _ = writeln!(
            out,
            "evidence digest (the audit file's last line): {digest}"
        );
    }
    match &o.signature {
        Some(sig) => {
            let _ = writeln!(
                out,
                "signature: signed by key {} ({}){}; check it in the report's folder: {}",
                sig.key_id,
                sig.file,
                if sig.unsigned_runs.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} recorded after signing not signed",
                        crate::text::plural(sig.unsigned_runs.len() as u64, "run", "runs")
                    )
                },
                sig.check
            );
        }
        None => {
            let _ = writeln!(
                out,
                "signature: none (runs with --sign-key sign the report)"
            );
        }
    }
}

/// The overview as one JSON document, every row's latest outcome included. Every outcome is
/// present in `latest` and `plain`, zero included, but `skipped` only where an old report has it.
pub fn json(o: &ReportOverview) -> serde_json::Value {
    let rows: Vec<super::overview::LatestRow> = o.rows.iter().map(Into::into).collect();
    // `skipped` only where an old report has it.
    let latest: std::collections::BTreeMap<&str, u64> = Outcome::ALL
        .iter()
        .map(|x| (x.as_str(), o.latest.get(x).copied().unwrap_or(0)))
        .filter(|(x, n)| *x != Outcome::Skipped.as_str() || *n > 0)
        .collect();
    let mut doc = serde_json::json!({
        "report": o.report.display().to_string(),
        "finished": o.finished(),
        "runs": o.runs,
        "latest": latest,
        "plain": o.plain,
        "unfinished": o.unfinished.len(),
        "left": o.plain.left(),
        "inputs": o.left,
        "problems": o.groups,
        "chain": o.chain,
        "evidence_digest": o.evidence_digest,
        "plans": o.plans,
        "rows": rows,
    });
    if let Some(problem) = &o.plans_problem {
        doc["plans_problem"] = problem.clone().into();
    }
    if let Some(problem) = &o.audit_problem {
        doc["audit_problem"] = problem.clone().into();
    }
    if let Some(v) = &o.verification {
        doc["verification"] = serde_json::to_value(v).unwrap_or_default();
    }
    match &o.reconciliation {
        Some(Ok(r)) => {
            doc["reconciliation"] = serde_json::to_value(r).unwrap_or_default();
            doc["reconciliation"]["of_the_report_as_it_is_now"] = (r.chain == o.chain.last).into();
        }
        Some(Err(problem)) => doc["reconciliation_problem"] = problem.clone().into(),
        None => {}
    }
    match &o.swept {
        Some(Ok(s)) => doc["sweep"] = serde_json::to_value(s).unwrap_or_default(),
        Some(Err(problem)) => doc["sweep_problem"] = problem.clone().into(),
        None => {}
    }
    doc["side_files"] = serde_json::to_value(&o.side_files).unwrap_or_default();
    if let Some(sig) = &o.signature {
        doc["signature"] = serde_json::to_value(sig).unwrap_or_default();
    }
    doc
}
