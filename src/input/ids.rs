//! The values a row names: the kind of key, and the project and key ObjectIds.

use std::fmt;
use std::str::FromStr;

/// What a row revokes; each kind has its own endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An organization API key assigned to the project (`/groups/{p}/apiKeys/{k}`).
    ProjectApiKey,
    /// An agent API key of the project (`/groups/{p}/agentapikeys/{k}`).
    AgentApiKey,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::ProjectApiKey, Kind::AgentApiKey];

    /// The canonical name, as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ProjectApiKey => "project-api-key",
            Kind::AgentApiKey => "agent-api-key",
        }
    }

    /// Parses the canonical name or one of its aliases, ignoring case.
    pub fn parse(text: &str) -> Option<Kind> {
        const PROJECT: &[&str] = &[
            "project-api-key",
            "apikey",
            "api-key",
            "project_api_key",
            "programmatic",
        ];
        const AGENT: &[&str] = &["agent-api-key", "agentapikey", "agent", "agent_api_key"];
        let text = text.trim();
        let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(text));
        if is(PROJECT) {
            Some(Kind::ProjectApiKey)
        } else if is(AGENT) {
            Some(Kind::AgentApiKey)
        } else {
            None
        }
    }

    fn code(self) -> u8 {
        match self {
            Kind::ProjectApiKey => 0,
            Kind::AgentApiKey => 1,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::parse(s).ok_or_else(|| {
            format!("unknown kind {s:?} (expected project-api-key or agent-api-key)")
        })
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A MongoDB ObjectId: 12 bytes, written as 24 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId([u8; 12]);

impl ObjectId {
    /// Parses exactly 24 ASCII hex digits (either case); anything else, including look-alike
    /// characters, separators or percent-encoding, is refused.
    pub fn parse(text: &str) -> Option<ObjectId> {
        let bytes = text.as_bytes();
        if bytes.len() != 24 {
            return None;
        }
        let mut out = [0u8; 12];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Some(ObjectId(out))
    }

    pub fn from_bytes(bytes: [u8; 12]) -> ObjectId {
        ObjectId(bytes)
    }

    pub fn bytes(&self) -> [u8; 12] {
        self.0
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for ObjectId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ObjectId::parse(s).ok_or_else(|| format!("{s:?} is not a 24-hex-digit ObjectId"))
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({self})")
    }
}

/// One key to revoke. Its identity `(kind, project, key)` is what resume and de-duplication compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub kind: Kind,
    pub project: ObjectId,
    pub key: ObjectId,
}

/// A [`Target`] packed into 25 bytes, so that a million of them fit in a few tens of MB.
pub type Identity = [u8; 25];

impl Target {
    pub fn identity(&self) -> Identity {
        let mut id = [0u8; 25];
        id[0] = self.kind.code();
        id[1..13].copy_from_slice(&self.project.0);
        id[13..].copy_from_slice(&self.key.0);
        id
    }

    /// Parses the canonical text of the three values, as a report or journal holds them.
    pub fn parse(kind: &str, project: &str, key: &str) -> Option<Target> {
        Some(Target {
            kind: Kind::parse(kind)?,
            project: ObjectId::parse(project)?,
            key: ObjectId::parse(key)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_exactly_24_hex_digits() {
        let id = ObjectId::parse("5F1B2C3D4E5F6A7B8C9D0E1F").unwrap();
        assert_eq!(id.to_string(), "5f1b2c3d4e5f6a7b8c9d0e1f");
        for bad in [
            "",
            "5f1b2c3d4e5f6a7b8c9d0e1",
            "5f1b2c3d4e5f6a7b8c9d0e1f0",
            "5f1b2c3d4e5f6a7b8c9d0e1g",
            "../../../../../../etc/pa",
            "5f1b2c3d4e5f6a7b8c9d%2F",
            "5f1b2c3d4e5f6a7b8c9d0e1ｆ",
            "5f1b2c3d4e5f 6a7b8c9d0e1",
        ] {
            assert!(ObjectId::parse(bad).is_none(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn kind_aliases_map_to_canonical_names() {
        for alias in [
            "apiKey",
            "API-KEY",
            "project_api_key",
            "programmatic",
            "project-api-key",
        ] {
            assert_eq!(Kind::parse(alias), Some(Kind::ProjectApiKey), "{alias}");
        }
        for alias in ["agentApiKey", "agent", "agent_api_key", " Agent-Api-Key "] {
            assert_eq!(Kind::parse(alias), Some(Kind::AgentApiKey), "{alias}");
        }
        assert_eq!(Kind::parse("user"), None);
    }

    #[test]
    fn identity_distinguishes_kind_project_and_key() {
        let a = ObjectId::parse("000000000000000000000001").unwrap();
        let b = ObjectId::parse("000000000000000000000002").unwrap();
        let t = |kind, project, key| Target { kind, project, key }.identity();
        let all = [
            t(Kind::ProjectApiKey, a, b),
            t(Kind::AgentApiKey, a, b),
            t(Kind::ProjectApiKey, b, a),
            t(Kind::ProjectApiKey, a, a),
        ];
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                assert_ne!(all[i], all[j]);
            }
        }
    }
}
