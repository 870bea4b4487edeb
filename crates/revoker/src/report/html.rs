//! The report as one self-contained HTML page for a compliance reviewer: whether it is finished and
//! as written, what happened to the rows in plain words, the run over time, a table per project or
//! organization, every key revoked (kind, where, when, attempts), the rows left with their reasons,
//! the audit record of every run and the digests to keep. No external script, style, font or image;
//! readable in light and dark mode, on paper, and 390 px wide. Long lists collapse (`<details>`)
//! rather than vanish; they are written compactly so that a 100,000-row report stays a few MB.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::Outcome;
use super::overview::{Moment, ReportOverview, RunView};

/// Scopes shown open; more collapse.
const OPEN_SCOPES: usize = 30;

const STYLE: &str = r#"
:root { color-scheme: light dark; --fg:#1b1f24; --bg:#ffffff; --muted:#57606a; --line:#d0d7de; --panel:#f6f8fa;
  --ok:#1a7f37; --bad:#cf222e;
  --o-done:#2da44e; --o-not_found:#1b7c83; --o-rejected:#d4a72c; --o-failed:#cf222e; --o-invalid:#8c959f;
  --o-skipped:#6e7781; --o-verified:#0969da; --o-still_present:#bf3989; --o-exempt:#57606a; --retried:#8250df; }
@media (prefers-color-scheme: dark) {
  :root { --fg:#e6edf3; --bg:#0d1117; --muted:#9198a1; --line:#30363d; --panel:#161b22; --ok:#3fb950; --bad:#f85149;
    --o-done:#3fb950; --o-not_found:#39c5cf; --o-rejected:#e3b341; --o-failed:#f85149; --o-invalid:#9198a1;
    --o-skipped:#768390; --o-verified:#58a6ff; --o-still_present:#db61a2; --o-exempt:#adbac7; --retried:#a371f7; }
}
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg);
  margin: 2rem auto; max-width: 70rem; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid var(--line); }
.muted { color: var(--muted); } code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; word-break: break-all; }
.status { padding: .8rem 1rem; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); margin: 1rem 0; }
.status.ok { border-left: 6px solid var(--ok); } .status.bad { border-left: 6px solid var(--bad); }
.wide { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; } th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
dl.audit { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .3rem 0 1rem; }
dl.audit dt { color: var(--muted); } dl.audit dd { margin: 0; min-width: 0; }
.legend span { display: inline-block; margin-right: 1rem; } .legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
svg { width: 100%; height: auto; max-width: 60rem; } svg text { fill: var(--fg); font: 12px system-ui, sans-serif; }
details { margin: .4rem 0; } summary { cursor: pointer; }
pre.check { white-space: pre-wrap; word-break: break-all; }
pre.rows { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--panel); padding: .5rem; overflow-x: auto; }
@media (max-width: 600px) { body { margin: 1rem auto; padding: 0 .5rem; } dl.audit { grid-template-columns: 1fr; }
  .chart svg { min-width: 40rem; }
  dl.audit dt { margin-top: .3rem; } th, td { padding: .25rem .3rem; } }
@media print { body { margin: 0; max-width: none; font-size: 11px; } .status { border-left-width: 3px; }
  details { display: block; } tr, dl.audit, svg { page-break-inside: avoid; } h2 { page-break-after: avoid; } }
"#;

/// A chart segment: its outcome, its rows, where it starts and how long it is.
type Segment = (Outcome, u64, f64, f64);

fn fill(outcome: Outcome) -> String {
    format!("var(--o-{})", outcome.as_str())
}

fn swatch(color: &str) -> Markup {
    html! { i style=(format!("display:inline-block;width:.8rem;height:.8rem;margin-right:.4rem;background:{color}")) {} }
}

/// The verdict at the top: finished or not, as written or not.
fn status(o: &ReportOverview) -> Markup {
    let ok = o.untampered() && o.finished();
    let left = o.plain.left();
    html! {
        div class=(if ok { "status ok" } else { "status bad" }) {
            @if o.untampered() { strong { "Unchanged since revoker wrote it: " } "every row's digest and every audit line check. " } @else { strong { "Changed after revoker wrote it: " } "the chain of row digests or the audit record is broken (see Digests below). " }
            @if o.finished() {
                "Every row is finished (revoked, already gone, or confirmed absent)"
                @if o.plain.exempt > 0 { ", but " (o.plain.exempt) " exempt rows were never sent, by the exemption list" }
                "."
            }
            @else if left == 0 && !o.selection_unread().is_empty() {
                strong { "The selection could not read everything" }
                ": " (o.selection_unread().join("; ")) ". Credentials it should have chosen may be left."
            }
            @else {
                strong { (left) " rows are left" }
                @if o.plain.never_attempted > 0 { ", " (o.plain.never_attempted) " of them never attempted" }
                @if !o.unended().is_empty() { "; " (o.unended().len()) " runs never ended, so what they left is unknown" }
                ". " code { "revoker run … --resume" } " sends them; " code { "revoker report … --failures FILE" } " hands them over."
            }
            @if let Some(v) = &o.verification {
                " Last verification: " (v.verified) " confirmed absent, " (v.still_present) " still present."
            } @else { " Not verified yet (revoker verify)." }
            br;
            @match &o.signature {
                Some(sig) => {
                    "Signed with the key " span.mono { (sig.key_id) }
                    @if sig.unsigned_runs.is_empty() { "." } @else {
                        ", except " (crate::text::plural(sig.unsigned_runs.len() as u64, "run", "runs")) " recorded after signing (" span.mono { (sig.unsigned_runs.join(", ")) } ")."
                    }
                    " This page does not check it: see Signature below."
                }
                None => { "Not signed: only a digest kept elsewhere proves it was not rewritten." }
            }
        }
    }
}

/// The exemption files the runs read (with their SHA-256) and every row they kept from being sent.
fn exempt(o: &ReportOverview) -> Markup {
    let mut files: Vec<(&str, &str, &str)> = Vec::new();
    for run in &o.runs {
        if let Some(a) = &run.audit
            && let Some(file) = &a.start.exempt
        {
            let sha = a.start.exempt_sha256.as_deref().unwrap_or("—");
            if !files.iter().any(|(f, s, _)| f == file && *s == sha) {
                files.push((file, sha, &run.run_id));
            }
        }
    }
    let rows: Vec<&super::Record> = o
        .rows
        .iter()
        .filter(|r| r.outcome == Outcome::Exempt)
        .collect();
    html! {
        @if files.is_empty() && rows.is_empty() { p.muted { "No exemption list was used: every valid row could be sent." } } @else {
            @for (file, sha, run) in &files {
                p { "Exemption file " span.mono { (file) } ", SHA-256 " span.mono { (sha) } " (first read by run " span.mono { (run) } ")." }
            }
            p { (crate::text::plural(rows.len() as u64, "credential was", "credentials were")) " exempt: never sent, by the operator's choice." }
            @if !rows.is_empty() {
                details open[rows.len() <= 20] {
                    summary { "the exempt credentials (" (rows.len()) ")" }
                    pre.rows {
                        "line  kind  project/org  key  why\n"
                        @for r in &rows {
                            (r.line) "  " (r.kind) "  " (r.project) "  " (r.key)
                            @if !r.secret.is_empty() { " / " (r.secret) }
                            "  " (crate::text::one_line(&r.message)) "\n"
                        }
                    }
                }
            }
        }
    }
}

/// Whether and by which key the report is signed, and the one line that checks it.
fn signature(o: &ReportOverview) -> Markup {
    html! {
        @match &o.signature {
            Some(sig) => {
                p { "Signed with the minisign key " span.mono { (sig.key_id) } " (" span.mono { (sig.file) } "): the signature covers a manifest with the SHA-256 of the report and of its audit file." }
                @if !sig.unsigned_runs.is_empty() {
                    p.status.bad { "Recorded after the last signing, so not signed: " span.mono { (sig.unsigned_runs.join(", ")) } ". The signed part can still be checked up to where it was signed." }
                }
                p { "To check it, in the report's folder, with the operator's public key:" }
                pre.rows.check { (sig.check) }
            }
            None => {
                p { "Not signed. Runs with " code { "--sign-key" } " (or " code { "sign_key" } " in the job file) sign the report and its audit file; without a signature, keep the evidence digest below somewhere else." }
            }
        }
    }
}

/// The plans recorded for the report: what existed before a run, each with its line's SHA-256.
fn plans(o: &ReportOverview) -> Markup {
    html! {
        @if o.plans.is_empty() {
            p.muted { "No plan was recorded: " code { "revoker plan" } " (or " code { "run --plan" } ") records what exists before a run." }
        }
        @for plan in &o.plans {
            p { "Plan of " (plan.at)
                @match &plan.before_run { Some(run) => { ", before run " span.mono { (run) } }, None => { ", no run since" } }
                ": " (plan.summary()) "." }
            p.muted { "Recorded in " span.mono { (plan.file) } ", line SHA-256 " span.mono { (plan.digest) } "." }
        }
        @if let Some(problem) = &o.plans_problem { p.status.bad { "Plans file broken: " (problem) } }
    }
}

/// What `report` says of one side file: unsigned, what was checked, and any contradiction with
/// the audit record.
fn side_notes(o: &ReportOverview, suffix: &str) -> Markup {
    let file = super::sidecar(&o.report, suffix).display().to_string();
    let mine = |l: &&String| l.starts_with(&format!("{file}:"));
    html! {
        @for note in o.side_files.notes.iter().filter(mine) { p.muted { (note) } }
        @for problem in o.side_files.problems.iter().filter(mine) { p.status.bad { (problem) } }
    }
}

/// The last `verify --events`: each row's verdict, and deletions no row records.
fn reconciliation(o: &ReportOverview) -> Markup {
    html! {
        @match &o.reconciliation {
            None => { p.muted { "Not reconciled: " code { "revoker verify --events REPORT" } " matches each revoked row to MongoDB's own deletion event." } }
            Some(Err(problem)) => { p.status.bad { "Reconciliation unreadable: " (problem) } }
            Some(Ok(r)) => {
                @let lines = r.report_lines(&o.chain.last);
                // A file that contradicts the audit record is never shown as agreement.
                @let good = r.agrees() && o.side_files.problems.is_empty();
                p class=(if good { "status ok" } else { "status bad" }) { (lines[0]) }
                @if lines.len() > 1 {
                    ul { @for line in &lines[1..] { li.mono { (line.trim_start()) } } }
                }
                (side_notes(o, super::reconciled::SUFFIX))
            }
        }
    }
}

/// The last sweep: what each compromised credential (and each it made) did, and what is left
/// to a person.
fn sweep(o: &ReportOverview) -> Markup {
    html! {
        @match &o.swept {
            None => {}
            Some(Err(problem)) => { h2 { "What the compromised credentials did" } p.status.bad { "Sweep unreadable: " (problem) } }
            Some(Ok(s)) => {
                h2 { "What the compromised credentials did" }
                p class=(if s.problems.is_empty() { "status ok" } else { "status bad" }) { (s.summary()) }
                div.wide { table {
                    thead { tr { th { "credential" } th.num { "events" } th { "by type" } th { "first" } th { "last" } th { "from" } } }
                    tbody { @for (who, a) in &s.activity {
                        tr {
                            td.mono { (who) @if let Some(c) = &a.created_by { br; span.muted { "created by " (c) } } }
                            td.num { (a.events) }
                            td { @for (t, n) in &a.by_type { span.mono { (t) } " " (n) br; } }
                            td.mono { (a.first_seen.as_deref().unwrap_or("-")) }
                            td.mono { (a.last_seen.as_deref().unwrap_or("-")) }
                            td.mono { @for addr in &a.addresses { (addr) br; } }
                        }
                    } }
                } }
                @if !s.handover.is_empty() {
                    h3 { "For a person to remove (revoker cannot)" }
                    ul { @for (what, event) in &s.handover { li { (what) " " span.muted.mono { "(" (event) ")" } } } }
                }
                @if !s.problems.is_empty() {
                    ul { @for p in &s.problems { li.status.bad { "Not read: " (p) } } }
                }
                (side_notes(o, super::swept::SUFFIX))
            }
        }
    }
}

/// What happened to the rows, in an auditor's words.
fn plain(o: &ReportOverview) -> Markup {
    let p = &o.plain;
    let lines = [
        ("revoked by revoker", p.revoked, Outcome::Done),
        ("already gone when asked", p.already_gone, Outcome::NotFound),
        (
            "confirmed absent afterwards (a complete listing)",
            p.confirmed_absent,
            Outcome::Verified,
        ),
        (
            "still present (a resume sends them again)",
            p.still_present,
            Outcome::StillPresent,
        ),
        ("refused by the API", p.refused, Outcome::Rejected),
        ("failed: no usable answer", p.failed, Outcome::Failed),
        ("invalid: nothing was sent", p.invalid, Outcome::Invalid),
        (
            "never attempted (a resume sends them)",
            p.never_attempted,
            Outcome::Skipped,
        ),
        (
            "exempt: on the exemption list, never sent",
            p.exempt,
            Outcome::Exempt,
        ),
    ];
    html! {
        div.wide { table {
            tr { th { "what happened to the " (crate::text::plural(p.rows, "row", "rows")) } th.n { "rows" } }
            @for (label, n, outcome) in lines {
                tr { td { (swatch(&fill(outcome))) (label) } td.n { (n) } }
            }
        } }
    }
}

/// Rows finished per interval over the report's whole time, stacked by outcome, with the rows that
/// needed retries (429s, transient errors) as a line.
fn timeline(all: &[Moment]) -> Markup {
    // A verification writes its rows in a burst at its end: drawn with the revocations it would
    // dwarf them and stretch the time axis, so the chart is of the revocation runs alone.
    let moments: Vec<Moment> = all
        .iter()
        .filter(|m| !matches!(m.outcome, Outcome::Verified | Outcome::StillPresent))
        .copied()
        .collect();
    let verified = all.len() - moments.len();
    let present: Vec<Outcome> = Outcome::ALL
        .into_iter()
        .filter(|o| moments.iter().any(|m| m.outcome == *o))
        .collect();
    let (Some(first), Some(last)) = (
        moments.iter().map(|m| m.at_ms).min(),
        moments.iter().map(|m| m.at_ms).max(),
    ) else {
        return html! { p.muted { "No rows yet." } };
    };
    const BUCKETS: usize = 48;
    let span = (last - first).max(1) as f64;
    let mut counts = vec![[0u64; Outcome::ALL.len()]; BUCKETS];
    let mut retried = vec![0u64; BUCKETS];
    for m in &moments {
        let i = (((m.at_ms - first) as f64 / span) * (BUCKETS - 1) as f64).round() as usize;
        let i = i.min(BUCKETS - 1);
        counts[i][m.outcome.index()] += 1;
        retried[i] += u64::from(m.retried);
    }
    let max = counts
        .iter()
        .map(|c| c.iter().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (w, h, left, bottom) = (600.0, 160.0, 40.0, 20.0);
    let bw = w / BUCKETS as f64;
    let y = |n: f64| h - bottom - n / max * (h - bottom - 10.0);
    let line: Vec<String> = retried
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{:.1},{:.1}", left + (i as f64 + 0.5) * bw, y(*n as f64)))
        .collect();
    let span_text = if span < 10_000.0 {
        format!("{span:.0} ms")
    } else {
        format!("{:.1} s", span / 1000.0)
    };
    // Each bucket's segments: outcome, rows, top, height.
    let stacks: Vec<Vec<Segment>> = counts
        .iter()
        .map(|c| {
            let mut base = 0.0;
            let mut stack = Vec::new();
            for outcome in Outcome::ALL {
                let n = c[outcome.index()];
                if n > 0 {
                    let top = y(base + n as f64);
                    stack.push((outcome, n, top, y(base) - top));
                    base += n as f64;
                }
            }
            stack
        })
        .collect();
    html! {
        svg role="img" viewBox=(format!("0 0 {} {h}", w + left + 10.0)) aria-label="Rows finished over time" {
            text x="0" y="12" { (max as u64) }
            text x="0" y=(h - bottom) { "0" }
            @for (i, stack) in stacks.iter().enumerate() {
                @for (outcome, n, top, height) in stack {
                    rect x=(format!("{:.1}", left + i as f64 * bw)) y=(format!("{top:.1}")) width=(format!("{:.1}", bw * 0.9)) height=(format!("{height:.1}")) style=(format!("fill:{}", fill(*outcome))) {
                        title { (outcome) ": " (n) }
                    }
                }
            }
            polyline points=(line.join(" ")) style="fill:none;stroke:var(--retried);stroke-width:2" {}
            text x=(left) y=(h - 4.0) { "0" }
            text x=(left + w - 60.0) y=(h - 4.0) { (span_text) }
        }
        p.legend {
            @for outcome in &present { span { i style=(format!("background:{}", fill(*outcome))) {} (outcome) } }
            span { i style="background:var(--retried)" {} "rows that needed retries (429s, transient errors)" }
        }
        @if verified > 0 { p.muted { "Rows finished by revocation runs; the " (verified) " rows verifications wrote are counted per run below." } }
    }
}

/// One horizontal stacked bar per run, its segments the run's outcome counts.
fn runs_chart(runs: &[RunView]) -> Markup {
    let (width, label, bar, gap) = (480.0, 220.0, 18.0, 10.0);
    let height = runs.len() as f64 * (bar + gap) + gap;
    let max = runs
        .iter()
        .map(|r| r.rows.values().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    // Each run's segments (outcome, rows, x, width) and where its bar ends.
    let bars: Vec<(&RunView, Vec<Segment>, f64)> = runs
        .iter()
        .map(|run| {
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
            (run, segments, x)
        })
        .collect();
    html! {
        svg role="img" viewBox=(format!("0 0 {} {height}", width + label + 60.0)) aria-label="Outcome counts per run" {
            @for (i, (run, segments, end)) in bars.iter().enumerate() {
                @let y = gap + i as f64 * (bar + gap);
                text x="0" y=(y + bar - 4.0) { (run.run_id) " (" (run.command) ")" }
                @for (outcome, n, x, w) in segments {
                    rect x=(format!("{x:.1}")) y=(y) width=(format!("{w:.1}")) height=(bar) style=(format!("fill:{}", fill(*outcome))) { title { (outcome) ": " (n) } }
                }
                text x=(format!("{:.1}", end + 6.0)) y=(y + bar - 4.0) { (run.rows.values().sum::<u64>()) }
            }
        }
    }
}

/// A table per project or organization: its rows and what happened to them.
fn scopes(o: &ReportOverview) -> Markup {
    let table = |rows: &[super::overview::ScopeCounts]| {
        html! {
            div.wide { table {
                tr { th { "project / organization" } th.n { "rows" } th.n { "revoked" } th.n { "already gone" } th.n { "confirmed" }
                     th.n { "refused" } th.n { "failed" } th.n { "invalid" } th.n { "exempt" } th.n { "left" } }
                @for s in rows {
                    @let c = &s.counts;
                    tr { td.mono { (s.scope) } td.n { (c.rows) } td.n { (c.revoked) } td.n { (c.already_gone) } td.n { (c.confirmed_absent) }
                         td.n { (c.refused) } td.n { (c.failed) } td.n { (c.invalid) } td.n { (c.exempt) } td.n { (c.left()) } }
                }
            } }
        }
    };
    let (open, rest) = o.scopes.split_at(o.scopes.len().min(OPEN_SCOPES));
    html! {
        (table(open))
        @if !rest.is_empty() {
            details { summary { (rest.len()) " more projects and organizations" } (table(rest)) }
        }
    }
}

/// Every key revoked, by project or organization, each list collapsed.
fn revoked(o: &ReportOverview) -> Markup {
    let mut by_scope: std::collections::BTreeMap<&str, Vec<&super::overview::Revoked>> =
        Default::default();
    for r in &o.revoked {
        by_scope.entry(r.project.as_str()).or_default().push(r);
    }
    html! {
        @if o.revoked.is_empty() { p.muted { "revoker has revoked nothing in this report." } }
        @for (scope, rows) in &by_scope {
            details {
                summary { span.mono { (scope) } ": " (rows.len()) " revoked" }
                pre.rows {
                    "line  kind  key  revoked at (UTC)  attempts\n"
                    @for r in rows {
                        (r.line) "  " (r.kind) "  " (r.key) @if !r.secret.is_empty() { " / " (r.secret) } "  " (r.at) "  " (r.attempts) "\n"
                    }
                }
            }
        }
    }
}

/// The rows left: grouped by scope, outcome and reason, then every one, collapsed.
fn left(o: &ReportOverview) -> Markup {
    html! {
        @if o.unfinished.is_empty() && o.plain.never_attempted == 0 { p.muted { "None." } } @else {
            ul { @for g in &o.groups { li { (g.line()) } } }
            @for l in o.left.iter().filter(|l| l.is_open()) {
                p { @match l.not_attempted {
                    Some(n) => { strong { (n) } " rows of " span.mono { (l.input) } " were never attempted (run " span.mono { (l.run_id) } " stopped)." }
                    None => { "Run " span.mono { (l.run_id) } " of " span.mono { (l.input) } " never ended: what it left is unknown." }
                } }
            }
            @if !o.unfinished.is_empty() {
                details {
                    summary { "every row left (" (o.unfinished.len()) ")" }
                    pre.rows {
                        "line  outcome  kind  project/org  key  status  reason\n"
                        @for r in &o.unfinished {
                            (r.line) "  " (r.outcome) "  " (r.kind) "  " (r.project) "  " (r.key)
                            @if !r.secret.is_empty() { " / " (r.secret) }
                            "  " (r.http_status.map_or(String::new(), |s| s.to_string())) " " (r.error_code) "  " (crate::text::one_line(&r.message)) "\n"
                        }
                    }
                }
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
            dt { "ended" } dd { (e.map_or("— (no end record: still running, or killed)".to_string(), |e| e.at.clone())) }
            dt { "duration" } dd { (format!("{:.1} s", run.elapsed_ms as f64 / 1000.0)) }
            dt { "operator" } dd { (opt(&s.user)) " on " (opt(&s.host)) }
            dt { "credential" } dd.mono { (opt(&s.credential)) }
            dt { "revoker" } dd { (opt(&s.version)) }
            dt { "API" } dd { (opt(&s.api)) " — " span.mono { (opt(&s.base_url)) } }
            dt { "job file" } dd.mono { (s.job.clone().unwrap_or_else(|| "— (flags only)".into())) }
            @if let Some(file) = &s.exempt {
                dt { "exemption file" } dd.mono { (file) " (SHA-256 " (opt(&s.exempt_sha256)) ")" }
            }
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

fn digests(o: &ReportOverview) -> Markup {
    html! {
        @if let Some(problem) = &o.audit_problem { p.status.bad { "Audit record broken: " (problem) } }
        @if o.chain.intact {
            p { "Every chained row matches (" (o.chain.rows_checked) " rows"
                @if o.chain.rows_unchained > 0 { "; " (o.chain.rows_unchained) " older rows carry no digest" } "). Last chain digest:" }
        } @else {
            p.status.bad { "The chain is broken"
                @if let Some(line) = o.chain.first_bad_line { " at report line " (line) }
                ": " (o.chain.problem.clone().unwrap_or_default()) }
            p { "Last digest computed:" }
        }
        p.mono { (o.chain.last) }
        @if let Some(d) = &o.evidence_digest {
            p { "Evidence digest (the audit file's last line, which holds the report's chain digest):" }
            p.mono { (d) }
        }
        p.muted { "The chain is unkeyed: it finds an edited, inserted, reordered or deleted row, but whoever can write the files can recompute it. "
            "Only a digest kept elsewhere (" code { "revoker report --expect-digest" } ") or a signature (" code { "revoker report --public-key" } ", or " code { "minisign -Vm … && sha256sum -c …" } ") "
            "finds a cut tail, a recomputed chain or a rewritten end record." }
    }
}

/// What a job's ledger owes and what its exemptions warn of: shown first on the page.
#[derive(Clone, Debug, Default)]
pub struct Owed {
    /// The ledger file.
    pub ledger: String,
    pub escalate_after: u32,
    /// The owed rows, oldest first.
    pub rows: Vec<OwedView>,
    /// Exemptions past their `until` (or with one that cannot be read), one line each.
    pub warnings: Vec<String>,
}

/// One owed row as the page shows it.
#[derive(Clone, Debug)]
pub struct OwedView {
    pub row: String,
    pub first_owed: String,
    pub age_days: i64,
    pub nights: u32,
    pub attempts: u32,
    /// The last outcome and its reason.
    pub last: String,
}

fn owed(o: &Owed) -> Markup {
    let escalated = o
        .rows
        .iter()
        .filter(|r| r.nights > o.escalate_after)
        .count();
    html! {
        @if !o.warnings.is_empty() {
            div class="status bad" id="exemption-warnings" {
                strong { "Exemptions past their date: " }
                @for w in &o.warnings { div { (w) } }
            }
        }
        @if !o.rows.is_empty() {
            div class="status bad" id="owed" {
                @if escalated > 0 { strong { (escalated) " rows owed for more than " (o.escalate_after) " nights. " } }
                (o.rows.len()) " rows still owed across nights (ledger " span.mono { (o.ledger) } ")."
            }
            div.wide { table id="owed-rows" {
                tr { th { "Row" } th.n { "Age (days)" } th.n { "Nights" } th.n { "Attempts" } th { "First owed" } th { "Last" } }
                @for r in &o.rows {
                    tr class=(if r.nights > o.escalate_after { "escalated" } else { "owed" }) {
                        td.mono { (r.row) } td.n { (r.age_days) } td.n { (r.nights) } td.n { (r.attempts) }
                        td.mono { (r.first_owed) } td { (r.last) }
                    }
                }
            } }
        }
    }
}

/// The page.
pub fn page(o: &ReportOverview) -> String {
    page_with(o, &Owed::default())
}

/// The page with what the job's ledger owes first.
pub fn page_with(o: &ReportOverview, owed_rows: &Owed) -> String {
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
                @if let Some(job) = o.runs.iter().rev().find_map(|r| r.audit.as_ref().and_then(|a| a.start.job.clone())) {
                    p.muted { "job file " span.mono { (job) } }
                }
                (owed(owed_rows))
                (status(o))
                h2 { "What happened" }
                (plain(o))
                h2 { "Before the run" }
                (plans(o))
                h2 { "MongoDB's record" }
                (reconciliation(o))
                (sweep(o))
                h2 { "Over time" }
                div.wide.chart { (timeline(&o.timeline)) }
                h3 { "Per run" }
                div.wide.chart { (runs_chart(&o.runs)) }
                h2 { "Per project and organization" }
                (scopes(o))
                h2 { "Revoked" }
                (revoked(o))
                h2 { "Left" }
                (left(o))
                h2 { "Exempt" }
                (exempt(o))
                h2 { "Signature" }
                (signature(o))
                h2 { "Audit records" }
                @for run in &o.runs {
                    h3.mono { (run.run_id) }
                    (audit_list(run))
                }
                h2 { "Digests" }
                (digests(o))
            }
        }
    };
    markup.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_a_narrow_screen_the_charts_scroll_rather_than_shrink_their_labels() {
        let text = page(&ReportOverview::default());
        assert_eq!(text.matches(r#"<div class="wide chart">"#).count(), 2);
        assert!(text.contains(".chart svg { min-width: 40rem; }"));
    }
}
