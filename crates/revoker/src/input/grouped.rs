//! Bad rows grouped by the shape of their reason — the same fault in a different value
//! (`project id "proj10" is not …`, `project id "proj11" is not …`) is one group, told once with
//! its count, its first lines and their values: 5,000 rows of names in the project column are one
//! line, not 5,000.

use std::collections::HashMap;

/// Lines named per group at most.
const FIRST_LINES: usize = 5;
/// Groups kept at most; rows of later shapes are counted as other faults.
const MAX_GROUPS: usize = 1000;

/// Bad rows by the shape of their reason, in the order shapes first appear.
#[derive(Default)]
pub struct Grouped {
    order: Vec<String>,
    by: HashMap<String, Group>,
    /// Rows of shapes past [`MAX_GROUPS`].
    others: u64,
}

struct Group {
    count: u64,
    /// The first reason given in full.
    first: String,
    /// Whether every reason of the group is the first, word for word.
    same: bool,
    /// The first lines, each with the values its reason quoted.
    lines: Vec<(u64, String)>,
}

/// A reason's shape (each quoted value as `"…"`) and its quoted values.
fn shape(reason: &str) -> (String, Vec<String>) {
    let (mut shape, mut values) = (String::new(), Vec::new());
    let mut chars = reason.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            shape.push(c);
            continue;
        }
        let mut value = String::from('"');
        while let Some(v) = chars.next() {
            value.push(v);
            if v == '\\' {
                value.extend(chars.next());
            } else if v == '"' {
                break;
            }
        }
        shape.push_str("\"…\"");
        values.push(value);
    }
    (shape, values)
}

impl Grouped {
    /// Counts the bad row at `line` and why.
    pub fn add(&mut self, reason: &str, line: u64) {
        let (key, values) = shape(reason);
        if !self.by.contains_key(&key) {
            if self.order.len() >= MAX_GROUPS {
                self.others += 1;
                return;
            }
            self.order.push(key.clone());
        }
        let group = self.by.entry(key).or_insert_with(|| Group {
            count: 0,
            first: reason.to_string(),
            same: true,
            lines: Vec::new(),
        });
        group.count += 1;
        group.same &= group.first == reason;
        if group.lines.len() < FIRST_LINES {
            group.lines.push((line, values.join(" ")));
        }
    }

    /// One line per group: `FILE:LINE: reason` for one row; `FILE: N rows: reason (lines …)`
    /// for more, each line with its values when they differ; at most `max` groups, then how many
    /// more. An empty `file` gives `line LINE: reason` and `N rows: …`.
    pub fn lines(&self, file: &str, max: usize) -> Vec<String> {
        let mut out: Vec<String> = self
            .order
            .iter()
            .take(max)
            .filter_map(|key| self.by.get(key).map(|g| g.line(file, key)))
            .collect();
        let hidden: u64 = self
            .order
            .iter()
            .skip(max)
            .filter_map(|key| self.by.get(key).map(|g| g.count))
            .sum::<u64>()
            + self.others;
        if hidden > 0 {
            out.push(format!(
                "{}and {} of other faults",
                prefix(file),
                crate::text::plural(hidden, "row", "rows")
            ));
        }
        out
    }
}

/// `FILE: `, or nothing when the file is named already (`file` empty).
fn prefix(file: &str) -> String {
    if file.is_empty() {
        String::new()
    } else {
        format!("{file}: ")
    }
}

impl Group {
    fn line(&self, file: &str, shape: &str) -> String {
        if self.count == 1 {
            return match file {
                "" => format!("line {}: {}", self.lines[0].0, self.first),
                _ => format!("{file}:{}: {}", self.lines[0].0, self.first),
            };
        }
        let shown: Vec<String> = self
            .lines
            .iter()
            .map(|(line, values)| {
                if self.same || values.is_empty() {
                    line.to_string()
                } else {
                    format!("{line} {values}")
                }
            })
            .collect();
        let more = self.count - self.lines.len() as u64;
        format!(
            "{}{} rows: {} (lines {}{})",
            prefix(file),
            self.count,
            if self.same { &self.first } else { shape },
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_fault_in_different_values_is_one_group_with_its_first_values() {
        let mut g = Grouped::default();
        for i in 0..7u64 {
            g.add(
                &format!("project id \"proj{i}\" is not a 24-hex-digit ObjectId"),
                10 + i,
            );
        }
        g.add("kind is empty", 30);
        g.add("kind is empty", 31);
        g.add("key id \"a\\\"b\" is short", 40);
        assert_eq!(
            g.lines("in.csv", 20),
            [
                "in.csv: 7 rows: project id \"…\" is not a 24-hex-digit ObjectId (lines 10 \"proj0\", 11 \"proj1\", 12 \"proj2\", 13 \"proj3\", 14 \"proj4\" and 2 more)",
                "in.csv: 2 rows: kind is empty (lines 30, 31)",
                "in.csv:40: key id \"a\\\"b\" is short",
            ]
        );
        assert_eq!(
            g.lines("", 1),
            [
                "7 rows: project id \"…\" is not a 24-hex-digit ObjectId (lines 10 \"proj0\", 11 \"proj1\", 12 \"proj2\", 13 \"proj3\", 14 \"proj4\" and 2 more)",
                "and 3 rows of other faults"
            ]
        );
    }
}
