//! Scanner findings and alerts as input: readers for the formats scanners write ([`formats`]),
//! each finding's value held as a [`SecretString`], its kind guessed by shape only, named by a
//! fingerprint; and the resolution of those values to credentials with the operator's own
//! credentials, by what the lists show ([`resolve`]). A value that is not a MongoDB management
//! credential is counted and set aside, never guessed at; a value is never written anywhere.

pub mod formats;
pub mod resolve;
pub mod validate;

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use sha2::Digest as _;

/// What a value looks like (by shape alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// An API key's public key: 8 lowercase letters (`ApiKeyUserDetails.publicKey`).
    PublicKey,
    /// An API key's private key: a UUID.
    PrivateKey,
    /// A service account's client id: `mdb_sa_id_` and 24 hex digits.
    ClientId,
    /// A service account's secret: `mdb_sa_sk_` and more.
    ClientSecret,
    /// An AI model API key's secret: `al-` and more (`AiModelApiKeyResponse.secret`).
    AiModelKey,
}

impl Shape {
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::PublicKey => "public-key",
            Shape::PrivateKey => "private-key",
            Shape::ClientId => "client-id",
            Shape::ClientSecret => "client-secret",
            Shape::AiModelKey => "ai-model-key",
        }
    }

    /// The shape of `value`, when it is one of MongoDB's.
    pub fn of(value: &str) -> Option<Shape> {
        let b = value.as_bytes();
        let token = |t: &str, min: usize| {
            t.len() >= min
                && t.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        };
        if b.len() == 8 && b.iter().all(u8::is_ascii_lowercase) {
            Some(Shape::PublicKey)
        } else if is_uuid(value) {
            Some(Shape::PrivateKey)
        } else if crate::input::parse_client_id(value).is_some() {
            Some(Shape::ClientId)
        } else if value
            .strip_prefix(SECRET_PREFIX)
            .is_some_and(|t| token(t, 16))
        {
            Some(Shape::ClientSecret)
        } else if value
            .strip_prefix(MODEL_PREFIX)
            .is_some_and(|t| token(t, 16))
        {
            Some(Shape::AiModelKey)
        } else {
            None
        }
    }
}

/// The prefix of a service account secret (`ServiceAccountSecret.secret`, example `mdb_sa_sk_...`).
pub const SECRET_PREFIX: &str = "mdb_sa_sk_";
/// The prefix of an AI model API key (`AiModelApiKeyResponse.secret`, example `al-jZsl…`).
pub const MODEL_PREFIX: &str = "al-";

/// Values the documents print as examples: a scanner that finds one found documentation.
const DOCUMENTED_EXAMPLES: [&str; 4] = [
    "zmmrboas",
    "ewmaqvdo",
    "al-jZsluhPMzPM9CFXepRWwMwvpZDDra6tZMgoAZKdodu2",
    "55c3bbb6-b4bb-0be1-e66d20841f3e",
];

fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// The fingerprint of a value: the first 16 hex digits of its SHA-256.
pub fn fingerprint(value: &str) -> String {
    let digest = sha2::Sha256::digest(value.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// One value a scanner found, where it found it.
pub struct Finding {
    /// `file:line`, or an alert's URL.
    pub source: String,
    pub value: SecretString,
    pub fingerprint: String,
    /// The other places the same value was found.
    pub also: Vec<String>,
    /// The finding was a line holding more than one MongoDB-shaped value.
    pub several: bool,
}

enum Embedded<'a> {
    None,
    One(&'a str),
    Several,
}

/// The MongoDB-shaped values inside a line, when the line itself is not one. A public key (8
/// lowercase letters, the shape of any short word) counts only as the first such word after a
/// name that says `public`; every other shape is distinctive on its own.
fn embedded(line: &str) -> Embedded<'_> {
    if Shape::of(line).is_some() {
        return Embedded::None;
    }
    let words = line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'));
    let mut found: Vec<&str> = Vec::new();
    let mut after_public = false;
    for word in words.filter(|w| !w.is_empty()) {
        match Shape::of(word) {
            Some(Shape::PublicKey) if after_public => {
                found.push(word);
                after_public = false;
            }
            Some(Shape::PublicKey) | None => {}
            Some(_) => found.push(word),
        }
        if word.to_ascii_lowercase().contains("public") {
            after_public = true;
        }
    }
    found.sort_unstable();
    found.dedup();
    match found.as_slice() {
        [] => Embedded::None,
        [one] => Embedded::One(one),
        _ => Embedded::Several,
    }
}

impl std::fmt::Debug for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Finding({} at {})", self.fingerprint, self.source)
    }
}

impl Finding {
    /// A finding of `value`; a scanner that reports a whole line (a SARIF snippet, a config line)
    /// gives the one MongoDB-shaped value in it, or the line as it is when there are none or several.
    pub fn new(source: String, value: &str) -> Finding {
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        let (value, several) = match embedded(value) {
            Embedded::One(v) => (v, false),
            Embedded::Several => (value, true),
            Embedded::None => (value, false),
        };
        Finding {
            // The place is the scanner's text (a path, a URI): on one line, no escape sequence or
            // newline reaching the resolution's CSV, the audit record or a terminal raw.
            source: crate::text::one_line(&source).into_owned(),
            fingerprint: fingerprint(value),
            value: SecretString::from(value.to_string()),
            also: Vec::new(),
            several,
        }
    }

    pub fn shape(&self) -> Option<Shape> {
        Shape::of(self.value.expose_secret())
    }
}

/// A finding set aside before resolution, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SetAside {
    pub fingerprint: String,
    pub source: String,
    pub reason: String,
    /// Whether it is left for the operator (a MongoDB credential not resolved), rather than
    /// settled (not MongoDB's, a documented example, an expired secret).
    pub open: bool,
}

/// Every finding of every file, one per value.
#[derive(Debug, Default)]
pub struct Findings {
    /// MongoDB-shaped values, one per fingerprint, in the order first found.
    pub items: Vec<(Shape, Finding)>,
    /// Not MongoDB's, or documented examples: counted, never resolved.
    pub set_aside: Vec<SetAside>,
    /// Findings read (duplicates included).
    pub read: u64,
    pub duplicates: u64,
    /// Findings that could not be read, by file and place: the resolution is incomplete.
    pub unreadable: Vec<String>,
}

impl Findings {
    /// Adds a finding: a value seen before joins the first; one of no MongoDB shape is set aside.
    pub fn add(&mut self, finding: Finding, seen: &mut BTreeMap<String, usize>) {
        self.read += 1;
        if let Some(&i) = seen.get(&finding.fingerprint) {
            self.duplicates += 1;
            // A set-aside value's duplicate is only counted: there is nothing to join.
            if let Some((_, first)) = self.items.get_mut(i) {
                first.also.push(finding.source);
            }
            return;
        }
        let value = finding.value.expose_secret();
        let reason = if DOCUMENTED_EXAMPLES.contains(&value) {
            Some("a value MongoDB's documents print as an example (a test key)")
        } else if finding.several {
            Some("a line holding several MongoDB-shaped values: which one leaked cannot be told")
        } else if finding.shape().is_none() {
            Some("not a MongoDB management credential by its shape")
        } else {
            None
        };
        match reason {
            Some(reason) => {
                seen.insert(finding.fingerprint.clone(), usize::MAX);
                self.set_aside.push(SetAside {
                    fingerprint: finding.fingerprint,
                    source: finding.source,
                    reason: reason.into(),
                    // Several MongoDB values in one line are credentials nobody resolved.
                    open: finding.several,
                });
            }
            None => {
                seen.insert(finding.fingerprint.clone(), self.items.len());
                let shape = finding.shape().unwrap_or(Shape::PublicKey);
                self.items.push((shape, finding));
            }
        }
    }
}

/// Reads every file, deduplicating by fingerprint across them.
pub fn read_all(paths: &[std::path::PathBuf]) -> Result<Findings, formats::FindingsError> {
    let mut findings = Findings::default();
    let mut seen = BTreeMap::new();
    let mut values = Vec::new();
    for path in paths {
        let read = formats::read(path)?;
        findings.unreadable.extend(
            read.malformed
                .iter()
                .map(|what| format!("{}: {what}", path.display())),
        );
        for f in read.findings {
            values.push((
                secrecy::zeroize::Zeroizing::new(f.value.expose_secret().to_string()),
                f.fingerprint.clone(),
            ));
            findings.add(f, &mut seen);
        }
    }
    findings.scrub_sources(&values);
    Ok(findings)
}

impl Findings {
    /// A place (a path, a URI, an alert's URL) can hold a value itself: each long value read is
    /// replaced there by its fingerprint, so that naming a finding never writes one. Public keys
    /// (8 letters) and client ids are identifiers, short, and left as they are.
    fn scrub_sources(&mut self, values: &[(secrecy::zeroize::Zeroizing<String>, String)]) {
        let scrub = |place: &mut String| {
            for (value, fingerprint) in values {
                if value.len() >= 16 && place.contains(value.as_str()) {
                    *place = place.replace(value.as_str(), &format!("<value {fingerprint}>"));
                }
            }
        };
        for (_, f) in &mut self.items {
            scrub(&mut f.source);
            f.also.iter_mut().for_each(scrub);
        }
        self.set_aside.iter_mut().for_each(|a| scrub(&mut a.source));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_in_a_finding_s_place_is_replaced_by_its_fingerprint() {
        let secret = "mdb_sa_sk_abcdefghijklmnopqrstuvwxyz0123456789ABCD";
        let mut seen = BTreeMap::new();
        let mut f = Findings::default();
        f.add(
            Finding::new(format!("repo/{secret}/x.env:3"), secret),
            &mut seen,
        );
        f.add(Finding::new(format!("b/{secret}:1"), secret), &mut seen);
        let values = vec![(
            secrecy::zeroize::Zeroizing::new(secret.to_string()),
            fingerprint(secret),
        )];
        f.scrub_sources(&values);
        let (_, first) = &f.items[0];
        assert_eq!(
            first.source,
            format!("repo/<value {}>/x.env:3", fingerprint(secret))
        );
        assert!(!first.also[0].contains(secret));
    }

    #[test]
    fn shapes_are_told_apart_and_others_are_none() {
        assert_eq!(Shape::of("abcdefgh"), Some(Shape::PublicKey));
        assert_eq!(
            Shape::of("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"),
            Some(Shape::PrivateKey)
        );
        assert_eq!(
            Shape::of("mdb_sa_id_5e0000000000000000000001"),
            Some(Shape::ClientId)
        );
        assert_eq!(
            Shape::of("mdb_sa_sk_abcdefghijklmnopqrstuvwxyz0123456789ABCD"),
            Some(Shape::ClientSecret)
        );
        assert_eq!(
            Shape::of("al-jZsluhPMzPM9CFXepRWwMwvpZDDra6tZMgoAZKdodu2"),
            Some(Shape::AiModelKey)
        );
        for other in [
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "AKIAABCDEFGHIJKLMNOP",
            "Abcdefgh",
            "abcdefg",
        ] {
            assert_eq!(Shape::of(other), None, "{other}");
        }
    }

    #[test]
    fn a_duplicate_joins_the_first_and_a_foreign_value_is_set_aside() {
        let mut f = Findings::default();
        let mut seen = BTreeMap::new();
        f.add(Finding::new("a:1".into(), "abcdefgh"), &mut seen);
        f.add(Finding::new("b:2".into(), "\"abcdefgh\""), &mut seen);
        f.add(Finding::new("c:3".into(), "ghp_x"), &mut seen);
        f.add(Finding::new("d:4".into(), "zmmrboas"), &mut seen);
        assert_eq!(
            (f.read, f.duplicates, f.items.len(), f.set_aside.len()),
            (4, 1, 1, 2)
        );
        assert_eq!(f.items[0].1.also, vec!["b:2".to_string()]);
        assert_eq!(f.items[0].1.fingerprint, fingerprint("abcdefgh"));
        assert_eq!(f.items[0].1.fingerprint.len(), 16);
    }

    #[test]
    fn a_whole_line_gives_the_one_mongodb_value_in_it() {
        let secret = "mdb_sa_sk_abcdefghijklmnopqrstuvwxyz0123456789ABCD";
        let cases = [
            (
                format!("  clientSecret: \"{secret}\" # rotated"),
                Some(secret),
            ),
            (
                "export MONGODB_ATLAS_PUBLIC_KEY=abcdefgh".to_string(),
                Some("abcdefgh"),
            ),
            (
                "privateKey = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0'".to_string(),
                Some("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"),
            ),
            // Short words elsewhere in a line are not public keys.
            ("password = hunter22 # readonly".to_string(), None),
        ];
        for (line, want) in cases {
            let f = Finding::new("a:1".into(), &line);
            let got = f.value.expose_secret().to_string();
            match want {
                Some(v) => assert_eq!((got.as_str(), f.several), (v, false), "{line}"),
                None => assert_eq!((got, f.shape()), (line.clone(), None), "{line}"),
            }
        }
    }

    #[test]
    fn a_line_with_two_mongodb_values_is_left_open_not_guessed() {
        let line = "ids: mdb_sa_id_5e0000000000000000000001 mdb_sa_id_5e0000000000000000000002";
        let mut f = Findings::default();
        f.add(Finding::new("a:1".into(), line), &mut BTreeMap::new());
        assert_eq!((f.items.len(), f.set_aside.len()), (0, 1));
        assert!(f.set_aside[0].open);
        assert!(f.set_aside[0].reason.starts_with("a line holding several"));
    }
}
