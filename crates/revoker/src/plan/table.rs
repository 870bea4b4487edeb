//! The plan as an operator reads it: the totals, then a table per project and organization.

use std::fmt::Write as _;

use super::{Fate, Plan};

/// The fates a scope's line shows, in order.
const COLUMNS: [Fate; 6] = [
    Fate::Revoke,
    Fate::Gone,
    Fate::Cannot,
    Fate::Unknown,
    Fate::Exempt,
    Fate::Own,
];

/// Scopes listed one by one at most; the rest are summed up (`-o json` has them all).
const SCOPES_SHOWN: usize = 200;

/// A table within 80 columns: a line per project or organization, under it a line per kind with
/// its counts. What each list answered is said after it, each distinct answer once.
fn scopes_table(out: &mut String, plan: &Plan) {
    if plan.scopes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{:<32}{:>7}{:>6}{:>7}{:>8}{:>7}{:>5}",
        "project or organization / kind", "revoke", "gone", "cannot", "unknown", "exempt", "own"
    );
    let mut last = None;
    for s in plan.scopes.iter().take(SCOPES_SHOWN) {
        if last != Some((s.scope_kind, s.scope.as_str())) {
            let _ = writeln!(out, "{} {}", s.scope_kind, s.scope);
            last = Some((s.scope_kind, s.scope.as_str()));
        }
        let n: Vec<u64> = COLUMNS
            .iter()
            .map(|f| s.fates.get(f).copied().unwrap_or(0))
            .collect();
        let _ = writeln!(
            out,
            "  {:<30}{:>7}{:>6}{:>7}{:>8}{:>7}{:>5}",
            s.kind, n[0], n[1], n[2], n[3], n[4], n[5]
        );
    }
    if plan.scopes.len() > SCOPES_SHOWN {
        let _ = writeln!(
            out,
            "… and {} more projects and organizations (-o json lists them all)",
            plan.scopes.len() - SCOPES_SHOWN
        );
    }
}

/// What the lists answered: the complete ones counted, every other answer once with how many
/// lists gave it and the first of them.
fn answers(out: &mut String, plan: &Plan) {
    let mut complete = 0u64;
    let mut other: Vec<(String, Vec<&str>)> = Vec::new();
    for s in &plan.scopes {
        if s.answer.is_empty() {
            continue;
        }
        if s.answer.starts_with("complete") {
            complete += 1;
            continue;
        }
        let answer = crate::text::one_line(&s.answer).into_owned();
        // The same answer about another project is the same answer: grouped by its shape.
        match other.iter_mut().find(|(a, _)| shape(a) == shape(&answer)) {
            Some((_, lists)) => lists.push(&s.list),
            None => other.push((answer, vec![&s.list])),
        }
    }
    if complete + other.len() as u64 == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "lists read: {} complete{}",
        complete,
        if other.is_empty() {
            ""
        } else {
            "; these prove nothing:"
        }
    );
    for (answer, lists) in &other {
        let more = match lists.len() {
            1 => String::new(),
            n => format!(" and {} more", n - 1),
        };
        let head = format!(
            "{}: {answer}",
            crate::text::plural(lists.len() as u64, "list", "lists")
        );
        for (i, line) in wrapped(&head, 76).iter().enumerate() {
            let _ = writeln!(out, "{}{line}", if i == 0 { "  " } else { "    " });
        }
        let _ = writeln!(out, "    ({}{more})", lists[0]);
    }
}

/// An answer with its ids left out, so that one refusal about many projects reads as one.
fn shape(answer: &str) -> String {
    answer
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(|w| {
            if w.len() >= 24 && w.chars().all(|c| c.is_ascii_hexdigit()) {
                "#"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word stands alone).
fn wrapped(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let last = lines.last_mut().expect("one line at least");
        if !last.is_empty() && last.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

/// The plan of `input` against `base_url`, as text.
pub fn render(plan: &Plan, input: &str, base_url: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan for {input}: {} rows, against {base_url} ({} list requests in {:.1} s; no DELETE sent)",
        plan.rows,
        plan.list_requests,
        plan.elapsed_ms as f64 / 1000.0
    );
    for fate in Fate::ALL {
        let n = plan.count(fate);
        if n > 0 || matches!(fate, Fate::Revoke | Fate::Gone) {
            let _ = writeln!(out, "  {n:>9}  {}", fate.meaning());
        }
    }
    let _ = writeln!(
        out,
        "  a run would revoke {} credentials in {} projects and organizations{}",
        plan.revocations(),
        plan.scope_count,
        if plan.destructive_kinds.is_empty() {
            String::new()
        } else {
            format!(
                "; destructive (deleted, not unassigned): {}",
                plan.destructive_kinds.join(", ")
            )
        }
    );
    scopes_table(&mut out, plan);
    answers(&mut out, plan);
    for (line, why) in &plan.problems {
        let _ = writeln!(out, "line {line}: {}", crate::text::one_line(why));
    }
    out
}
