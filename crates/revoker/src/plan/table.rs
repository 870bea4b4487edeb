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
    if !plan.scopes.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<12} {:<24} {:<22} {:>7} {:>7} {:>7} {:>7} {:>7} {:>4}  list",
            "scope", "id", "kind", "revoke", "gone", "cannot", "unknown", "exempt", "own"
        );
    }
    for s in plan.scopes.iter().take(SCOPES_SHOWN) {
        let n: Vec<String> = COLUMNS
            .iter()
            .map(|f| s.fates.get(f).copied().unwrap_or(0).to_string())
            .collect();
        let _ = writeln!(
            out,
            "{:<12} {:<24} {:<22} {:>7} {:>7} {:>7} {:>7} {:>7} {:>4}  {}{}",
            s.scope_kind,
            s.scope,
            s.kind,
            n[0],
            n[1],
            n[2],
            n[3],
            n[4],
            n[5],
            s.list,
            if s.answer.is_empty() {
                String::new()
            } else {
                format!(" — {}", crate::text::one_line(&s.answer))
            }
        );
    }
    if plan.scopes.len() > SCOPES_SHOWN {
        let _ = writeln!(
            out,
            "… and {} more projects and organizations (-o json lists them all)",
            plan.scopes.len() - SCOPES_SHOWN
        );
    }
    for (line, why) in &plan.problems {
        let _ = writeln!(out, "line {line}: {}", crate::text::one_line(why));
    }
    out
}
