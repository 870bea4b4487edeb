//! Text that came from outside (an input file, a server's answer) made safe to show: quoted,
//! clipped, and with control and bidirectional-override characters escaped, so that no value can
//! forge a log line, move the cursor or recolour a terminal.

use std::borrow::Cow;

/// Characters that must never reach a terminal or a log raw: C0/C1 controls (ESC included) and the
/// Unicode bidirectional overrides that can reorder what a reader sees.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `1 row`, `2 rows`: a count with its noun.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `value` on one line with every unsafe character written as an escape (`\n`, `\u{1b}`,
/// `\u{202e}`); plain text is returned as is.
pub fn one_line(value: &str) -> Cow<'_, str> {
    escaped(value, needs_escape)
}

/// `value` with its control characters written as escapes, and nothing else changed: how report
/// cells are stored, so that every row is one line and any other text reads back exactly.
pub fn controls_escaped(value: &str) -> Cow<'_, str> {
    escaped(value, char::is_control)
}

fn escaped(value: &str, escape: fn(char) -> bool) -> Cow<'_, str> {
    if !value.chars().any(escape) {
        return value.into();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// Shows a value in a message: quoted, unsafe characters escaped, cut at 60 characters.
pub fn shown(value: &str) -> String {
    let mut out = String::from('"');
    for (i, c) in value.chars().enumerate() {
        if i == 60 {
            out.push('…');
            break;
        }
        if needs_escape(c) || c == '"' || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// At most `max` characters of `value` (a `…` marks a cut), on one line; cut between words when
/// a word boundary lies in the last half, never mid-word ("(after 80 att…").
pub fn clip(value: &str, max: usize) -> String {
    let safe = one_line(value);
    if safe.chars().count() <= max {
        return safe.into_owned();
    }
    let cut: String = safe.chars().take(max).collect();
    let mid_word = safe.chars().nth(max).is_some_and(|c| !c.is_whitespace());
    let at_space = cut
        .rfind(' ')
        .filter(|i| mid_word && cut[..*i].chars().count() >= max / 2);
    match at_space {
        Some(i) => format!("{} …", cut[..i].trim_end()),
        None => format!("{cut}…"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_forge_a_line() {
        assert_eq!(one_line("a\nb\r\u{0}"), "a\\nb\\r\\u{0}");
        assert_eq!(one_line("plain é"), "plain é");
        assert_eq!(one_line("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(one_line("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(shown("a\nb"), "\"a\\nb\"");
        assert_eq!(shown("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(shown(&"x".repeat(70)).chars().count(), 63);
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(
            clip("no answer (after 80 attempts)", 23),
            "no answer (after 80 …"
        );
        assert_eq!(clip("one two", 4), "one …");
    }
}
