//! The report as one self-contained HTML page for a compliance reviewer: the audit record of every
//! run, its outcome counts as an inline SVG chart, the rows still unfinished with their reasons, the
//! last verification and the chain digest. No external script, style, font or image; readable in
//! light and dark mode and on paper.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::Outcome;
use super::overview::{ReportOverview, RunView};

/// Unfinished rows shown on the page; the rest are counted (the report has them all).
const MAX_ROWS: usize = 2000;

const STYLE: &str = r#"
:root { color-scheme: light dark; --fg:#1b1f24; --bg:#ffffff; --muted:#57606a; --line:#d0d7de; --panel:#f6f8fa;
  --ok:#1a7f37; --bad:#cf222e;
  --o-done:#2da44e; --o-not_found:#1b7c83; --o-rejected:#d4a72c; --o-failed:#cf222e; --o-invalid:#8c959f;
  --o-skipped:#6e7781; --o-verified:#0969da; --o-still_present:#bf3989; }
@media (prefers-color-scheme: dark) {
  :root { --fg:#e6edf3; --bg:#0d1117; --muted:#9198a1; --line:#30363d; --panel:#161b22; --ok:#3fb950; --bad:#f85149;
    --o-done:#3fb950; --o-not_found:#39c5cf; --o-rejected:#e3b341; --o-failed:#f85149; --o-invalid:#9198a1;
    --o-skipped:#768390; --o-verified:#58a6ff; --o-still_present:#db61a2; }
}
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg);
  margin: 2rem auto; max-width: 70rem; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid var(--line); }
.muted { color: var(--muted); } code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; word-break: break-all; }
.status { padding: .8rem 1rem; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); margin: 1rem 0; }
.status.ok { border-left: 6px solid var(--ok); } .status.bad { border-left: 6px solid var(--bad); }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; } th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
dl.audit { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .3rem 0 1rem; }
dl.audit dt { color: var(--muted); } dl.audit dd { margin: 0; }
.legend span { display: inline-block; margin-right: 1rem; } .legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
svg text { fill: var(--fg); font: 12px system-ui, sans-serif; }
td.id { white-space: nowrap; word-break: normal; }
@media print { body { margin: 0; max-width: none; font-size: 11px; } .status { border-left-width: 3px; }
  tr, dl.audit, svg { page-break-inside: avoid; } h2 { page-break-after: avoid; } }
"#;

/// What an outcome tells a reviewer.
fn meaning(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Done => "revoked by revoker",
        Outcome::NotFound => "already gone when revoker asked",
        Outcome::Rejected => "the API refused; not revoked",
        Outcome::Failed => "no usable answer after every attempt; not revoked",
        Outcome::Invalid => "a bad row; nothing was sent",
        Outcome::Skipped => "not attempted (older reports)",
        Outcome::Verified => "revoked or already gone, then confirmed absent by listing",
        Outcome::StillPresent => "found still present by listing; a resume sends it again",
    }
}

fn fill(outcome: Outcome) -> String {
    format!("var(--o-{})", outcome.as_str())
}

/// One horizontal stacked bar per run, its segments the run's outcome counts.
fn chart(runs: &[RunView]) -> Markup {
    let width = 640.0;
    let label = 260.0;
    let bar = 18.0;
    let gap = 10.0;
    let height = runs.len() as f64 * (bar + gap) + gap;
    let max = runs
        .iter()
        .map(|r| r.rows.values().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    struct Bar<'a> {
        y: f64,
        run: &'a RunView,
        total: u64,
        /// Outcome, count, x, width.
        segments: Vec<(Outcome, u64, f64, f64)>,
        end: f64,
    }
    let bars: Vec<Bar<'_>> = runs
        .iter()
        .enumerate()
        .map(|(i, run)| {
            let y = gap + i as f64 * (bar + gap);
            let mut x = label;
            let mut segments = Vec::new();
            for outcome in Outcome::ALL {
                let n = run.rows.get(&outcome).copied().unwrap_or(0);
                if n > 0 {
                    let w = (n as f64 / max * width).max(1.0);
                    segments.push((outcome, n, x, w));
                    x += w;
                }
            }
            Bar {
                y,
                run,
                total: run.rows.values().sum(),
                segments,
                end: x,
            }
        })
        .collect();
    html! {
        svg role="img" width=(width + label + 60.0) height=(height) aria-label="Outcome counts per run" {
            @for Bar { y, run, total, segments, end } in &bars {
                text x="0" y=(y + bar - 4.0) { (run.run_id) " (" (run.command) ")" }
                @for (outcome, n, x, w) in segments {
                    rect x=(format!("{x:.1}")) y=(y) width=(format!("{w:.1}")) height=(bar) style=(format!("fill:{}", fill(*outcome))) {
                        title { (outcome) ": " (n) }
                    }
                }
                text x=(format!("{:.1}", end + 6.0)) y=(y + bar - 4.0) { (total) }
            }
        }
        p.legend {
            @for outcome in Outcome::ALL {
                span { i style=(format!("background:{}", fill(outcome))) {} (outcome) }
            }
        }
    }
}

fn audit_list(run: &RunView) -> Markup {
    let Some(audit) = &run.audit else {
        return html! { p.muted { "No audit record: this run was written by a revoker that kept none." } };
    };
    let s = &audit.start;
    let e = audit.end.as_ref();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    html! {
        dl.audit {
            dt { "run id" } dd.mono { (s.run_id) }
            dt { "command" } dd { (s.command) }
            dt { "started" } dd { (s.at) }
            dt { "ended" } dd { (e.map_or("— (no end record: still running, or crashed)".to_string(), |e| e.at.clone())) }
            dt { "duration" } dd { (format!("{:.1} s", run.elapsed_ms as f64 / 1000.0)) }
            dt { "operator" } dd { (opt(&s.user)) " on " (opt(&s.host)) }
            dt { "credential" } dd.mono { (opt(&s.credential)) }
            dt { "revoker" } dd { (opt(&s.version)) }
            dt { "API" } dd { (opt(&s.api)) " — " span.mono { (opt(&s.base_url)) } }
            @if let Some(input) = &s.input {
                dt { "input" } dd.mono { (input) }
                dt { "input SHA-256" } dd.mono { (opt(&s.input_sha256)) }
                dt { "input rows" } dd { (s.input_rows.unwrap_or(0)) }
            }
            @if let Some(kinds) = &s.allowed_kinds {
                dt { "kinds allowed" } dd { (if kinds.is_empty() { "project-api-key, agent-api-key (the default)".to_string() } else { kinds.join(", ") }) }
            }
            @if let Some(e) = e {
                dt { "exit code" } dd { (e.exit_code.map_or("—".into(), |c| c.to_string())) }
                @if let Some(stopped) = &e.stopped { dt { "stopped" } dd { (stopped) } }
                dt { "requests" } dd { (e.requests.unwrap_or(0)) " (429s " (e.throttled.unwrap_or(0)) ", retries " (e.retries.unwrap_or(0)) ")" }
                @if let Some(n) = e.not_attempted.filter(|n| *n > 0) { dt { "not attempted" } dd { (n) } }
                dt { "chain digest at end" } dd.mono { (opt(&e.chain)) }
            }
        }
    }
}

/// The page.
pub fn page(o: &ReportOverview) -> String {
    let intact = o.untampered();
    let unfinished = o.unfinished.len();
    let title = format!("revoker report — {}", o.report.display());
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "Revocation report" }
                p.muted.mono { (o.report.display()) }
                div class=(if intact && unfinished == 0 { "status ok" } else { "status bad" }) {
                    @if intact { strong { "Chain intact. " } } @else { strong { "Chain BROKEN. " } }
                    @if unfinished == 0 { "Every row is finished (done, already gone, or verified absent)." }
                    @else { (unfinished) " rows are not finished." }
                    @if let Some(v) = &o.verification {
                        " Last verification: " (v.verified) " confirmed absent, " (v.still_present) " still present."
                    } @else { " Not verified yet (revoker verify)." }
                }
                h2 { "Outcomes" }
                table {
                    tr { th { "latest outcome of each row" } th { "rows" } th { "meaning" } }
                    @for outcome in Outcome::ALL {
                        @let n = o.latest.get(&outcome).copied().unwrap_or(0);
                        @if n > 0 || Outcome::RUN.contains(&outcome) {
                            tr {
                                td { i style=(format!("display:inline-block;width:.8rem;height:.8rem;margin-right:.4rem;background:{}", fill(outcome))) {} (outcome) }
                                td.n { (n) }
                                td.muted { (meaning(outcome)) }
                            }
                        }
                    }
                }
                h3 { "Per run" }
                (chart(&o.runs))
                h2 { "Verification" }
                @if let Some(v) = &o.verification {
                    p { "Run " span.mono { (v.run_id) } " at " (v.at) " listed what still exists: "
                        strong { (v.verified) } " rows confirmed absent, " strong { (v.still_present) } " still present"
                        @if v.still_present > 0 { " (a resumed run sends them again)" } "." }
                } @else { p.muted { "No verification has been run on this report." } }
                h2 { "Rows not finished" }
                @if unfinished == 0 { p.muted { "None." } } @else {
                    table {
                        tr { th { "line" } th { "outcome" } th { "kind" } th { "project / org" } th { "key" } th { "status" } th { "reason" } }
                        @for r in o.unfinished.iter().take(MAX_ROWS) {
                            tr {
                                td.n { (r.line) } td { (r.outcome) } td { (r.kind) } td.mono.id { (r.project) }
                                td.mono.id { (r.key) @if !r.secret.is_empty() { " / " (r.secret) } }
                                td { (r.http_status.map_or(String::new(), |s| s.to_string())) " " (r.error_code) }
                                td { (r.message) }
                            }
                        }
                    }
                    @if unfinished > MAX_ROWS { p.muted { "… and " (unfinished - MAX_ROWS) " more; revoker report --failures FILE writes them all." } }
                }
                h2 { "Audit records" }
                @for run in &o.runs {
                    h3.mono { (run.run_id) }
                    (audit_list(run))
                }
                @if let Some(problem) = &o.audit_problem { p.status.bad { "Audit record broken: " (problem) } }
                h2 { "Chain digest" }
                @if o.chain.intact {
                    p { "Every chained row matches (" (o.chain.rows_checked) " rows"
                        @if o.chain.rows_unchained > 0 { "; " (o.chain.rows_unchained) " older rows carry no digest" } "). Last digest:" }
                } @else {
                    p.status.bad { "The chain is broken"
                        @if let Some(line) = o.chain.first_bad_line { " at report line " (line) }
                        ": " (o.chain.problem.clone().unwrap_or_default()) }
                    p { "Last digest computed:" }
                }
                p.mono { (o.chain.last) }
                p.muted { "Compare it with the digest printed at the end of the run (cron mail, log) to prove the report is the one written." }
            }
        }
    };
    markup.into_string()
}
