//! Rotation: a replacement with the old credential's reach, delivered without a plaintext file, the
//! old one revoked on evidence of the new one's use. The decisions live here — what a credential
//! reaches and whether two reaches are equal ([`reach`]), the marker a replacement carries, the
//! cutover, the journal of each credential's steps ([`journal`]) and delivery ([`deliver`]); the
//! requests and their order live in `job::rotate`.

pub mod deliver;
pub mod journal;
pub mod kinds;
pub mod reach;

use std::str::FromStr;

/// What marks a replacement in its description: the old credential's id and the run that made
/// it, so that a resume finds it by listing (Atlas shows a private key only in the create's
/// answer: a replacement found this way cannot be delivered, only withdrawn).
pub const MARKER: &str = "revoker-rotation";

/// The description of `old`'s replacement made by run `run`.
pub fn marker(old: &str, run: &str) -> String {
    format!("{MARKER}:{old}:{run}")
}

/// The run whose marker `desc` is, when it marks a replacement of `old`.
pub fn marked_by<'a>(desc: &'a str, old: &str) -> Option<&'a str> {
    desc.strip_prefix(MARKER)
        .and_then(|rest| rest.strip_prefix(':'))
        .and_then(|rest| rest.strip_prefix(old))
        .and_then(|rest| rest.strip_prefix(':'))
}

/// Whether `desc` marks a replacement of `old` (by any run).
pub fn marks(desc: &str, old: &str) -> bool {
    desc.strip_prefix(MARKER)
        .and_then(|rest| rest.strip_prefix(':'))
        .and_then(|rest| rest.strip_prefix(old))
        .is_some_and(|rest| rest.starts_with(':'))
}

/// When the old credential is revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cutover {
    /// An incident: the old one first, the replacement right after.
    Now,
    /// Once the replacement shows use and the old one none since delivery, or at the deadline.
    AfterUse,
    /// At a time.
    At(jiff::Timestamp),
}

impl FromStr for Cutover {
    type Err = String;

    fn from_str(text: &str) -> Result<Cutover, String> {
        match text.trim() {
            "now" => Ok(Cutover::Now),
            "after-use" => Ok(Cutover::AfterUse),
            other => match other.strip_prefix("at:") {
                Some(time) => time.parse::<jiff::Timestamp>().map(Cutover::At).map_err(|e| {
                    format!("--cutover at:TIME needs an RFC 3339 time such as at:2026-12-02T18:00:00Z ({e})")
                }),
                None => Err(format!(
                    "--cutover {other:?}: expected now, after-use or at:TIME"
                )),
            },
        }
    }
}

/// Errors of a rotation's setup: usage (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl RotateError {
    pub fn exit_code(&self) -> i32 {
        crate::vocab::exit::USAGE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_names_its_old_credential_exactly() {
        let m = marker("aaaaaaaaaaaaaaaaaaaaaaaa", "r1");
        assert!(marks(&m, "aaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!marks(&m, "aaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!marks(
            "revoker-rotation:aaaaaaaaaaaaaaaaaaaaaaaab:r1",
            "aaaaaaaaaaaaaaaaaaaaaaaa"
        ));
        assert!(!marks("a key", "aaaaaaaaaaaaaaaaaaaaaaaa"));
    }

    #[test]
    fn cutovers_parse() {
        assert_eq!("now".parse::<Cutover>(), Ok(Cutover::Now));
        assert_eq!("after-use".parse::<Cutover>(), Ok(Cutover::AfterUse));
        assert!(matches!(
            "at:2026-12-02T18:00:00Z".parse::<Cutover>(),
            Ok(Cutover::At(_))
        ));
        assert!("later".parse::<Cutover>().is_err());
    }
}
