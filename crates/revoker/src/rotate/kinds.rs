//! The kinds a rotation replaces and what each one's documents allow:
//!
//! | kind | create (operationId) | marks a replacement | use shown by |
//! |---|---|---|---|
//! | `org-api-key` | `createOrgApiKey` + `addGroupApiKey` + `createOrgAccessEntry` | `desc` | the access list's `lastUsed` |
//! | `service-account-secret` | `createOrgSecret` | none: not listed when `creating` was journaled | the secret's `lastUsedAt` |
//! | `project-service-account-secret` | `createGroupSecret` | as above | as above |
//! | `ai-model-api-key` | `createGroupModelKey` | `name` | the key's `lastUsedAt` |
//! | `agent-api-key` (Cloud Manager / Ops Manager) | `POST /groups/{GROUP-ID}/agentapikeys` `{desc}` | `desc` | nothing: `--cutover now` or `at:TIME` only |
//!
//! An agent key's documented response ("Create One Agent API Key", "Get All Agent API Keys for
//! a Project": `_id`, `key`, `desc`, `createdTime`, `createdUserId`, `createdIpAddr`, `createdBy`)
//! has no last-used field, so no evidence of use can be waited for.

use jiff::Timestamp;
use serde_json::Value;

use crate::input::Kind;

/// Whether `kind` is rotated.
pub fn rotates(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::OrgApiKey
            | Kind::ServiceAccountSecret
            | Kind::ProjectServiceAccountSecret
            | Kind::AiModelApiKey
            | Kind::AgentApiKey
    )
}

/// The most secrets a service account holds at once: the old one and its replacement (the
/// Terraform provider's "Service Account Secret Rotation" guide: a kept secret "occupies the
/// second slot").
pub const MAX_SECRETS: usize = 2;

/// Once a replacement secret is created Atlas shortens the old one's life to at most 7 days
/// ("Rotate Service Account Secrets"): waiting for use longer than this is pointless.
pub const SECRET_OVERLAP: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// `secretExpiresAfterHours` of a replacement: the old secret's lifetime, within the 8 hours to
/// 365 days Atlas documents; 8760 when the old one's dates are unreadable.
pub fn secret_hours(old: &Value) -> i64 {
    let at = |f: &str| old[f].as_str().and_then(|t| t.parse::<Timestamp>().ok());
    match (at("createdAt"), at("expiresAt")) {
        (Some(c), Some(e)) => (e.as_second() - c.as_second())
            .div_euclid(3600)
            .clamp(8, 8760),
        _ => 8760,
    }
}

/// The lifetime a replacement secret is created with: the old one's moved by 1 to 7 hours (by
/// the run and the old secret), shorter when that stays within Atlas's 8 to 8,760 hours. A secret
/// has no description to mark it, so this lifetime (`expiresAt - createdAt`) is its mark: a
/// resume withdraws only a secret made after its `creating` line with exactly this lifetime.
pub fn marked_hours(old_hours: i64, run: &str, old: &str) -> i64 {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{run}:{old}").as_bytes());
    let step = 1 + i64::from(digest[0] % 7);
    match old_hours - step {
        h if h >= 8 => h,
        _ => (old_hours + step).clamp(8, 8760),
    }
}

/// A listed secret's lifetime in whole hours, when its dates are readable.
pub fn lifetime_hours(item: &Value) -> Option<i64> {
    let at = |f: &str| item[f].as_str().and_then(|t| t.parse::<Timestamp>().ok());
    let (c, e) = (at("createdAt")?, at("expiresAt")?);
    let seconds = e.as_second() - c.as_second();
    (seconds % 3600 == 0).then_some(seconds / 3600)
}

/// Whether `item`'s `lastUsedAt` is at or after `since`'s second (the API may show use to the
/// second only: a use in the second of delivery counts).
pub fn used_since(item: &Value, since: Timestamp) -> bool {
    item["lastUsedAt"]
        .as_str()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .is_some_and(|t| t.as_second() >= since.as_second())
}

/// The id of a listed secret or model key.
pub fn id_of(kind: Kind, item: &Value) -> Option<&str> {
    match kind {
        Kind::AiModelApiKey => item["apiKeyId"].as_str(),
        Kind::AgentApiKey => item["_id"].as_str().or_else(|| item["id"].as_str()),
        _ => item["id"].as_str(),
    }
}

/// Whether two ids the API wrote are the same: an ObjectId is hexadecimal, and a list may write it
/// in upper case (the same id; a rotation must not take it for a stranger). Other ids (an AI model
/// key's) are compared exactly: their case may matter.
pub fn same_id(a: &str, b: &str) -> bool {
    let hex = |s: &str| s.len() == 24 && s.bytes().all(|c| c.is_ascii_hexdigit());
    a == b || (hex(a) && a.eq_ignore_ascii_case(b))
}

/// Whether `item` of `kind` is the one with `id`, by [`same_id`].
pub fn is_id(kind: Kind, item: &Value, id: &str) -> bool {
    id_of(kind, item).is_some_and(|i| same_id(i, id))
}

/// A replacement of `old` another rotation made, among listed `items` whose `field` carries the
/// marker: its id ("?" when unreadable) and that rotation's run. `ours` says which runs are this
/// rotation's (the current run when checking a replacement, any journaled run when resuming).
pub fn other_marker<'a>(
    kind: Kind,
    items: &'a [Value],
    field: &str,
    old: &str,
    ours: impl Fn(&str) -> bool,
) -> Option<(&'a str, &'a str)> {
    items.iter().find_map(|i| {
        let run = i[field].as_str().and_then(|m| super::marked_by(m, old))?;
        (!ours(run)).then(|| (id_of(kind, i).unwrap_or("?"), run))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_id_in_upper_case_is_the_same_id_and_a_model_key_id_is_not() {
        assert!(same_id(
            "5f1a2b3c4d5e6f7a8b9c0d1e",
            "5F1A2B3C4D5E6F7A8B9C0D1E"
        ));
        assert!(!same_id(
            "5f1a2b3c4d5e6f7a8b9c0d1e",
            "5f1a2b3c4d5e6f7a8b9c0d1f"
        ));
        assert!(!same_id(
            "a86r5kwrfsk5r5ku5tgvhmpj",
            "A86R5KWRFSK5R5KU5TGVHMPJ"
        ));
    }

    #[test]
    fn a_replacement_secret_lives_as_long_as_the_old_one_within_the_documented_bounds() {
        let s = |c: &str, e: &str| secret_hours(&json!({"createdAt": c, "expiresAt": e}));
        assert_eq!(s("2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"), 720);
        assert_eq!(s("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"), 8);
        assert_eq!(s("2026-01-01T00:00:00Z", "2029-01-01T00:00:00Z"), 8760);
        assert_eq!(secret_hours(&json!({})), 8760);
    }

    #[test]
    fn another_runs_marker_is_found_and_this_runs_is_not() {
        let old = "aaaaaaaaaaaaaaaaaaaaaaaa";
        let items = [
            json!({"id": "k1", "desc": "a key"}),
            json!({"id": "k2", "desc": super::super::marker(old, "mine")}),
            json!({"id": "k3", "desc": super::super::marker(old, "theirs")}),
        ];
        let found = other_marker(Kind::OrgApiKey, &items, "desc", old, |r| r == "mine");
        assert_eq!(found, Some(("k3", "theirs")));
        let none = other_marker(Kind::OrgApiKey, &items[..2], "desc", old, |r| r == "mine");
        assert_eq!(none, None);
    }

    #[test]
    fn use_is_a_last_used_at_at_or_after_delivery() {
        let since: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert!(used_since(
            &json!({"lastUsedAt": "2026-01-01T00:00:00Z"}),
            since
        ));
        assert!(!used_since(
            &json!({"lastUsedAt": "2025-12-31T00:00:00Z"}),
            since
        ));
        assert!(!used_since(&json!({}), since));
        let later: Timestamp = "2026-01-01T00:00:00.900Z".parse().unwrap();
        assert!(used_since(
            &json!({"lastUsedAt": "2026-01-01T00:00:00Z"}),
            later
        ));
    }
}
