//! The secret values behind the simulator's credentials, and the redacted and masked forms its
//! lists show of them, as MongoDB documents them:
//!
//! - an API key's `publicKey`: 8 characters (`ApiKeyUserDetails.publicKey`, `minLength`/`maxLength`
//!   8, example `zmmrboas`); here 8 lowercase letters;
//! - its private key: a UUID, listed redacted to its last group (Cloud Manager's "Get All
//!   Organization API Keys" example: `"privateKey" : "********-****-****-db2c132ca78d"`; the Atlas
//!   spec's `ApiKeyUserDetails.privateKey`: "Redacted private key … displays unredacted when first
//!   created");
//! - a service account secret: `mdb_sa_sk_` and 40 letters and digits, listed as
//!   `maskedSecretValue` (`ServiceAccountSecret`, example `mdb_sa_sk_...`): here `mdb_sa_sk_...`
//!   and its last 4 characters;
//! - an AI model API key's secret: `al-` and 43 letters and digits
//!   (`AiModelApiKeyResponse.secret`, example `al-jZsluhPMzPM9CFXepRWwMwvpZDDra6tZMgoAZKdodu2`),
//!   listed as `maskedSecret` (example `al-****odu2`: its prefix, `****`, its last 4).
//!
//! Seeds may give them (`public_key`, `private_key`, `secret_value`); otherwise each is derived
//! from the credential's id, the same every time. No list ever serves a full secret.

use std::fmt;

use crate::model::{ItemId, Meta};

/// A value kept inline (up to 64 bytes), so that a [`Meta`] stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Value([u8; 64], u8);

impl Value {
    /// `None` when longer than 64 bytes or empty.
    pub fn new(text: &str) -> Option<Value> {
        let raw = text.as_bytes();
        if raw.is_empty() || raw.len() > 64 {
            return None;
        }
        let mut bytes = [0u8; 64];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(Value(bytes, raw.len() as u8))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0[..usize::from(self.1)]).unwrap_or("")
    }
}

impl fmt::Debug for Value {
    // A value is a secret: a debug print of a seed never shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Value(…)")
    }
}

/// A public key: 8 bytes (`ApiKeyUserDetails.publicKey`: `minLength` and `maxLength` 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 8]);

impl PublicKey {
    pub fn new(text: &str) -> Option<PublicKey> {
        text.as_bytes().try_into().ok().map(PublicKey)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// The prefix of a service account secret.
pub const SECRET_PREFIX: &str = "mdb_sa_sk_";
/// The prefix of an AI model API key's secret (the spec's example).
pub const MODEL_PREFIX: &str = "al-";

/// A stream of pseudo-random numbers from an item's id (splitmix64): deterministic, not secure.
struct Stream(u64);

impl Stream {
    fn of(item: &ItemId, salt: u64) -> Stream {
        let text = match item {
            ItemId::Oid(o) => o.to_string(),
            ItemId::Model(m) => m.to_string(),
        };
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
        for b in text.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Stream(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn text(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// An API key's public key: seeded, or 8 lowercase letters from its id.
pub fn public_key(meta: &Meta, item: &ItemId) -> String {
    meta.public_key
        .map(|v| v.as_str().to_string())
        .unwrap_or_else(|| Stream::of(item, 1).text(LOWER, 8))
}

/// An API key's private key: seeded, or a UUID from its id.
pub fn private_key(meta: &Meta, item: &ItemId) -> String {
    if let Some(v) = meta.secret {
        return v.as_str().to_string();
    }
    let mut s = Stream::of(item, 2);
    let hex = s.text(HEX, 32);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The private key as lists show it: its last group behind `********-****-****-`.
pub fn redacted_private_key(private: &str) -> String {
    let last = private.rsplit('-').next().unwrap_or_default();
    format!("********-****-****-{last}")
}

/// A service account secret's value: seeded, or `mdb_sa_sk_` and 40 characters from its id.
pub fn secret_value(meta: &Meta, item: &ItemId) -> String {
    meta.secret
        .map(|v| v.as_str().to_string())
        .unwrap_or_else(|| format!("{SECRET_PREFIX}{}", Stream::of(item, 3).text(ALNUM, 40)))
}

/// `maskedSecretValue`: `mdb_sa_sk_...` and the last 4 characters.
pub fn masked_secret_value(value: &str) -> String {
    format!("{SECRET_PREFIX}...{}", tail(value, 4))
}

/// An AI model API key's secret: seeded, or `al-` and 43 characters from its id.
pub fn model_secret(meta: &Meta, item: &ItemId) -> String {
    meta.secret
        .map(|v| v.as_str().to_string())
        .unwrap_or_else(|| format!("{MODEL_PREFIX}{}", Stream::of(item, 4).text(ALNUM, 43)))
}

/// `maskedSecret`: its prefix (up to the first `-`), `****`, and the last 4 characters.
pub fn masked_model_secret(value: &str) -> String {
    let prefix = value.find('-').map_or("", |i| &value[..=i]);
    format!("{prefix}****{}", tail(value, 4))
}

/// The seeds, and with `accept` the (public key, private key) of every API key among them: the
/// credentials a leaked key is tried with. Without `accept` the seeds pass through untouched.
pub(crate) fn leaked_keys(
    seeds: impl IntoIterator<Item = crate::model::Seed>,
    accept: bool,
) -> (Vec<crate::model::Seed>, Vec<(String, String)>) {
    let seeds: Vec<crate::model::Seed> = seeds.into_iter().collect();
    if !accept {
        return (seeds, Vec::new());
    }
    let keys = seeds
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                crate::model::Kind::OrgApiKey | crate::model::Kind::ProjectApiKey
            )
        })
        .map(|s| {
            let item = s.item();
            (public_key(&s.meta, &item), private_key(&s.meta, &item))
        })
        .collect();
    (seeds, keys)
}

fn tail(text: &str, n: usize) -> &str {
    let start = text.char_indices().rev().nth(n - 1).map_or(0, |(i, _)| i);
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Oid;

    #[test]
    fn defaults_are_the_documented_shapes_and_lists_show_only_their_ends() {
        let item = ItemId::Oid(Oid::parse("5e0000000000000000000001").unwrap());
        let meta = Meta::default();
        let public = public_key(&meta, &item);
        assert!(public.len() == 8 && public.bytes().all(|b| b.is_ascii_lowercase()));
        let private = private_key(&meta, &item);
        assert_eq!(private.len(), 36);
        let redacted = redacted_private_key(&private);
        assert_eq!(&redacted[..19], "********-****-****-");
        assert_eq!(&redacted[19..], &private[24..]);
        let secret = secret_value(&meta, &item);
        assert_eq!(secret.len(), 50);
        assert_eq!(
            masked_secret_value(&secret),
            format!("mdb_sa_sk_...{}", &secret[46..])
        );
        assert_eq!(
            masked_model_secret("al-jZsluhPMzPM9CFXepRWwMwvpZDDra6tZMgoAZKdodu2"),
            "al-****odu2"
        );
        assert_eq!(private_key(&meta, &item), private, "the same every time");
    }

    #[test]
    fn seed_columns_give_the_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seeds.csv");
        std::fs::write(
            &path,
            "org,key,secret,kind,public_key,private_key,secret_value\n\
             5e0000000000000000000001,6a0000000000000000000001,,org-api-key,abcdefgh,0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0,\n\
             5e0000000000000000000001,mdb_sa_id_6a0000000000000000000002,6a0000000000000000000003,service-account-secret,,,mdb_sa_sk_seeded0123456789\n",
        )
        .unwrap();
        let seeds = crate::seed::read(&path).unwrap();
        let item = ItemId::Oid(Oid::parse("6a0000000000000000000001").unwrap());
        assert_eq!(public_key(&seeds[0].meta, &item), "abcdefgh");
        assert_eq!(
            redacted_private_key(&private_key(&seeds[0].meta, &item)),
            "********-****-****-a5b6c7d8e9f0"
        );
        assert_eq!(
            masked_secret_value(&secret_value(&seeds[1].meta, &item)),
            "mdb_sa_sk_...6789"
        );
        assert_eq!(format!("{:?}", seeds[1].meta.secret), "Some(Value(…))");
    }
}
