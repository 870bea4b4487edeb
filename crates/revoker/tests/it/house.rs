//! The house rules, read from the product's source: no import cycle between files, no import from a
//! lower floor to a higher one, no function over about 80 lines except tables and markup.
//!
//! A text reading, not a compiler's: `use` trees and inline `crate::`/`super::` paths are resolved to
//! the file that defines the item (following `pub use` re-exports), so a child reaching a sibling
//! through its parent's re-export is an edge to the sibling, not to the parent. Unit tests
//! (`#[cfg(test)]` to the end of a file) are left out: a test may look anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The floors, bottom up: a file may use its own floor and those below it.
const FLOORS: &[&[&str]] = &[
    &["vocab", "text", "figures", "fsx"],
    &["input"],
    &["api", "guard"],
    &["engine", "report"],
    &[
        "verify", "plan", "select", "ledger", "census", "findings", "events", "rotate",
    ],
    &["settings", "ui"],
    &["job"],
    &["cli"],
];

/// Functions allowed past the line limit: markup and tables, each with why.
const LONG_ALLOWED: &[(&str, &str)] = &[
    ("report/html.rs", "maud markup"),
    ("cli/args.rs", "clap's derive table of flags"),
];

const MAX_FN_LINES: usize = 80;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every product file keyed by its module path (`report::files`), `main.rs` left out.
fn modules() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if !rel.ends_with(".rs") || rel == "main.rs" {
                continue;
            }
            let module = rel
                .trim_end_matches(".rs")
                .trim_end_matches("/mod")
                .replace('/', "::");
            let module = if module == "lib" {
                String::new()
            } else {
                module
            };
            let text = std::fs::read_to_string(&path).unwrap();
            out.insert(module, without_tests(&text));
        }
    }
    out
}

fn without_tests(text: &str) -> String {
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_string(),
        None => text.to_string(),
    }
}

fn file_of(module: &str) -> String {
    if module.is_empty() {
        return "lib.rs".into();
    }
    let rel = module.replace("::", "/");
    if src().join(&rel).join("mod.rs").exists() {
        format!("{rel}/mod.rs")
    } else {
        format!("{rel}.rs")
    }
}

/// Splits `use` trees into full paths: `a::{b, c::{d, e as f}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let tree = tree
        .replace(" ::", "::")
        .replace(":: ", "::")
        .replace("{ ", "{")
        .replace(" }", "}")
        .replace(", ", ",");
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(&tree);
        return vec![path.trim().trim_end_matches("::").to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(&format!("{prefix}{p}")))
        .map(|p| p.trim_end_matches("::self").to_string())
        .collect()
}

/// `use` statements (possibly several lines) and whether each is a `pub use`.
fn uses(text: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("use ") {
        let before = &rest[..at];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let head = before[line_start..].trim();
        let statement_start = head.is_empty() || head == "pub" || head.starts_with("pub(");
        let Some(end) = rest[at..].find(';') else {
            break;
        };
        if statement_start {
            let tree = &rest[at + 4..at + end];
            for path in expand(tree) {
                out.push((!head.is_empty(), path));
            }
        }
        rest = &rest[at + end..];
    }
    out
}

/// Absolute module path segments for a path written in `module`, or None outside the crate.
fn absolute(module: &str, path: &str) -> Option<Vec<String>> {
    let mut segs: Vec<String> = path.split("::").map(str::to_string).collect();
    let mut base: Vec<String> = if module.is_empty() {
        vec![]
    } else {
        module.split("::").map(str::to_string).collect()
    };
    match segs.first().map(String::as_str) {
        Some("crate") => {
            segs.remove(0);
            Some(segs)
        }
        Some("self") => {
            segs.remove(0);
            base.extend(segs);
            Some(base)
        }
        Some("super") => {
            while segs.first().map(String::as_str) == Some("super") {
                segs.remove(0);
                base.pop();
            }
            base.extend(segs);
            Some(base)
        }
        _ => None,
    }
}

struct Crate {
    modules: BTreeMap<String, String>,
}

impl Crate {
    /// The file that defines the item a path names, following re-exports a few steps deep.
    fn resolve(&self, segs: &[String], depth: usize) -> Option<String> {
        let mut module = String::new();
        let mut i = 0;
        while i < segs.len() {
            let next = if module.is_empty() {
                segs[i].clone()
            } else {
                format!("{module}::{}", segs[i])
            };
            if !self.modules.contains_key(&next) {
                break;
            }
            module = next;
            i += 1;
        }
        let Some(item) = segs.get(i) else {
            return Some(module);
        };
        if depth < 6 {
            for (public, path) in uses(&self.modules[&module]) {
                let name = path.rsplit("::").next().unwrap_or("");
                if public
                    && (name == item || name == "*")
                    && let Some(target) = absolute(&module, &path)
                {
                    let mut target = target;
                    if name == "*" {
                        target.pop();
                        target.push(item.clone());
                    }
                    if let Some(found) = self.resolve(&target, depth + 1) {
                        return Some(found);
                    }
                }
            }
        }
        Some(module)
    }

    /// Module → the modules whose items it uses.
    fn edges(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, text) in &self.modules {
            let mut paths: Vec<String> = uses(text).into_iter().map(|(_, p)| p).collect();
            paths.extend(inline_paths(text));
            for path in paths {
                let Some(segs) = absolute(module, &path) else {
                    continue;
                };
                if let Some(target) = self.resolve(&segs, 0)
                    && &target != module
                    && !module.starts_with(&format!("{target}::"))
                {
                    out.entry(module.clone()).or_default().insert(target);
                }
            }
        }
        out
    }
}

/// `crate::a::b` and `super::x` written in code rather than in a `use`.
fn inline_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut rest = text;
        while let Some(at) = rest.find(start) {
            let prior = rest[..at].chars().last();
            let tail = &rest[at..];
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            if !matches!(prior, Some(c) if c.is_alphanumeric() || c == '_' || c == ':') {
                out.push(tail[..len].trim_end_matches("::").to_string());
            }
            rest = &tail[len.max(1)..];
        }
    }
    out
}

/// Strongly connected components of more than one module (Tarjan's, iterative enough for a crate).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on: BTreeSet<String>,
        out: Vec<Vec<String>>,
    }
    fn visit(s: &mut State, v: &str) {
        let n = s.index.len();
        s.index.insert(v.into(), n);
        s.low.insert(v.into(), n);
        s.stack.push(v.into());
        s.on.insert(v.into());
        for w in s.edges.get(v).cloned().unwrap_or_default() {
            if !s.index.contains_key(&w) {
                visit(s, &w);
                let low = s.low[v].min(s.low[&w]);
                s.low.insert(v.into(), low);
            } else if s.on.contains(&w) {
                let low = s.low[v].min(s.index[&w]);
                s.low.insert(v.into(), low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(&w);
                let done = w == v;
                group.push(w);
                if done {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.out.push(group);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: vec![],
        on: BTreeSet::new(),
        out: vec![],
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn floor(module: &str) -> Option<usize> {
    let top = module.split("::").next()?;
    FLOORS.iter().position(|f| f.contains(&top))
}

#[test]
fn no_import_cycle_between_product_files() {
    let krate = Crate { modules: modules() };
    let found: Vec<String> = cycles(&krate.edges())
        .into_iter()
        .map(|group| {
            let files: Vec<String> = group.iter().map(|m| file_of(m)).collect();
            files.join(" <-> ")
        })
        .collect();
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn no_import_from_a_lower_floor_to_a_higher_one() {
    let krate = Crate { modules: modules() };
    let mut wrong = Vec::new();
    for (from, targets) in krate.edges() {
        for to in targets {
            if let (Some(a), Some(b)) = (floor(&from), floor(&to))
                && b > a
            {
                wrong.push(format!("{} -> {}", file_of(&from), file_of(&to)));
            }
        }
    }
    for module in krate.modules.keys() {
        let top = module.split("::").next().unwrap_or("");
        assert!(
            module.is_empty() || floor(module).is_some(),
            "module {top} has no floor in tests/it/house.rs"
        );
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

/// Functions longer than the limit, counted from the signature's line to the closing brace.
fn long_functions(file: &str, text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let is_fn = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "async fn ",
            "pub async fn ",
        ]
        .iter()
        .any(|p| trimmed.starts_with(p))
            || trimmed.starts_with("pub(crate) async fn ")
            || trimmed.starts_with("pub(super) fn ");
        if !is_fn {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let close = format!("{}}}", " ".repeat(indent));
        let Some(end) = lines[i + 1..].iter().position(|l| *l == close) else {
            continue;
        };
        let length = end + 2;
        if length > MAX_FN_LINES {
            let name = trimmed.split("fn ").nth(1).unwrap_or(trimmed);
            let name = name.split(['(', '<']).next().unwrap_or(name);
            out.push(format!("{file}:{} {name} ({length} lines)", i + 1));
        }
    }
    out
}

#[test]
fn no_product_function_over_80_lines_except_tables_and_markup() {
    let mut long = Vec::new();
    for (module, text) in modules() {
        let file = file_of(&module);
        if LONG_ALLOWED.iter().any(|(f, _)| *f == file) {
            continue;
        }
        long.extend(long_functions(&file, &text));
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checker_reads_use_trees_and_finds_a_cycle() {
    assert_eq!(
        expand("crate::a::{b, c::{d, e as f}, self}"),
        [
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c::e",
            "crate::a"
        ]
    );
    let mut edges = BTreeMap::new();
    edges.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    edges.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    edges.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(cycles(&edges), vec![vec!["a".to_string(), "b".to_string()]]);
    let text = "fn short() {\n    x\n}\n";
    assert!(long_functions("f.rs", text).is_empty());
    let long = format!("fn long() {{\n{}}}\n", "    x;\n".repeat(90));
    assert_eq!(long_functions("f.rs", &long), ["f.rs:1 long (92 lines)"]);
}
