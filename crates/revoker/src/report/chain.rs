//! The digest chain: every report row carries `SHA-256(previous row's digest, this row's cells)`, so
//! that editing, inserting, reordering or deleting a row breaks every digest after it. The last
//! digest of a run is printed in its summary and kept in its audit record, so that it can be kept
//! outside the file (a cron mail, a log) and compared later; that also catches rows cut off the end.

use sha2::{Digest, Sha256};

/// The digest before the first chained row of a report.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The next digest: the previous one and the row's cells (as stored, before CSV quoting), each
/// prefixed by its length so that moving text between cells changes the digest.
pub fn next<'a>(previous: &str, cells: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hash = Sha256::new();
    hash.update(previous.as_bytes());
    hash.update(b"\n");
    for cell in cells {
        hash.update((cell.len() as u32).to_le_bytes());
        hash.update(cell);
    }
    format!("{:x}", hash.finalize())
}

/// Checks a report's rows in order as they are read.
#[derive(Debug, Clone)]
pub struct Verifier {
    previous: String,
    /// Rows whose digest was checked.
    pub checked: u64,
    /// Rows written before the chain existed (no digest), not checked.
    pub unchained: u64,
    /// The first row that did not match: its report line and why.
    pub broken: Option<(u64, String)>,
    /// Every digest seen, with its report line, for comparing with the audit records.
    pub seen: std::collections::HashMap<String, u64>,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            previous: GENESIS.to_string(),
            checked: 0,
            unchained: 0,
            broken: None,
            seen: Default::default(),
        }
    }
}

impl Verifier {
    /// Checks the row on report line `line`: its cells and its stated digest (`None` for a row of an
    /// older report).
    pub fn row<'a>(
        &mut self,
        line: u64,
        cells: impl IntoIterator<Item = &'a [u8]>,
        stated: Option<&str>,
    ) {
        if self.broken.is_some() {
            return;
        }
        let Some(stated) = stated else {
            if self.checked > 0 {
                self.broken = Some((
                    line,
                    "a row without a chain digest after chained rows (edited or inserted)".into(),
                ));
            } else {
                self.unchained += 1;
            }
            return;
        };
        let expected = next(&self.previous, cells);
        if expected != stated {
            self.broken = Some((
                line,
                "the row's chain digest does not match: this row was edited or inserted, or a row before it was edited, moved or deleted".into(),
            ));
            return;
        }
        self.checked += 1;
        self.seen.insert(stated.to_string(), line);
        self.previous = expected;
    }

    /// The last digest of the chain.
    pub fn last(&self) -> &str {
        &self.previous
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_change_breaks_the_chain() {
        let rows: Vec<Vec<&[u8]>> = vec![
            vec![b"a", b"done"],
            vec![b"b", b"skipped"],
            vec![b"c", b"done"],
        ];
        let mut digests = Vec::new();
        let mut prev = GENESIS.to_string();
        for r in &rows {
            prev = next(&prev, r.iter().copied());
            digests.push(prev.clone());
        }
        let mut v = Verifier::default();
        for (i, r) in rows.iter().enumerate() {
            v.row(i as u64 + 2, r.iter().copied(), Some(&digests[i]));
        }
        assert!(v.broken.is_none() && v.checked == 3 && v.last() == digests[2]);

        let mut v = Verifier::default();
        v.row(2, rows[0].iter().copied(), Some(&digests[0]));
        v.row(3, [&b"b"[..], b"done"], Some(&digests[1]));
        assert_eq!(v.broken.as_ref().map(|b| b.0), Some(3));

        // Moving text from one cell to the next is a change too.
        assert_ne!(
            next(GENESIS, [&b"ab"[..], b"c"]),
            next(GENESIS, [&b"a"[..], b"bc"])
        );

        let mut v = Verifier::default();
        v.row(2, rows[0].iter().copied(), Some(&digests[0]));
        v.row(3, rows[2].iter().copied(), Some(&digests[2]));
        assert_eq!(v.broken.as_ref().map(|b| b.0), Some(3), "a deleted row");
    }
}
