//! What an organization API key reaches, as its lists show it: its organization roles and each
//! project's roles (`ApiKeyUserDetails.roles`, `CloudAccessRoleAssignment` with `orgId` or
//! `groupId` and `roleName`), and its access list (`UserAccessListResponse`: `ipAddress` or
//! `cidrBlock`). Two reaches are equal as sets; every difference is named.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// An API key's reach.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reach {
    pub org_roles: BTreeSet<String>,
    pub projects: BTreeMap<String, BTreeSet<String>>,
    pub access: BTreeSet<String>,
    /// What else a replacement must share with the old credential: an AI model key's `cloud` and
    /// `geography`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub attributes: BTreeSet<String>,
}

impl Reach {
    /// The roles of a listed key; `None` when a role names neither an organization nor a project.
    pub fn of_key(item: &Value, access: &[Value]) -> Result<Reach, String> {
        let mut reach = Reach::default();
        for role in item["roles"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let name = role["roleName"]
                .as_str()
                .ok_or("a role without roleName")?
                .to_string();
            match (role["groupId"].as_str(), role["orgId"].as_str()) {
                (Some(project), _) => {
                    reach
                        .projects
                        .entry(project.to_ascii_lowercase())
                        .or_default()
                        .insert(name);
                }
                (None, Some(_)) => {
                    reach.org_roles.insert(name);
                }
                (None, None) => {
                    return Err(format!("role {name} names no organization or project"));
                }
            }
        }
        for entry in access {
            let value = entry["cidrBlock"]
                .as_str()
                .or_else(|| entry["ipAddress"].as_str())
                .ok_or("an access-list entry without ipAddress or cidrBlock")?;
            reach.access.insert(value.to_string());
        }
        Ok(reach)
    }

    /// Every way `new` differs from `self`, named; empty when they are set-equal.
    pub fn differences(&self, new: &Reach) -> Vec<String> {
        let mut out = Vec::new();
        let diff =
            |what: &str, a: &BTreeSet<String>, b: &BTreeSet<String>, out: &mut Vec<String>| {
                for x in a.difference(b) {
                    out.push(format!("{what} {x} missing"));
                }
                for x in b.difference(a) {
                    out.push(format!("{what} {x} extra"));
                }
            };
        diff(
            "organization role",
            &self.org_roles,
            &new.org_roles,
            &mut out,
        );
        let empty = BTreeSet::new();
        let projects: BTreeSet<&String> = self.projects.keys().chain(new.projects.keys()).collect();
        for p in projects {
            let a = self.projects.get(p).unwrap_or(&empty);
            let b = new.projects.get(p).unwrap_or(&empty);
            diff(&format!("project {p} role"), a, b, &mut out);
        }
        diff("access-list entry", &self.access, &new.access, &mut out);
        diff("attribute", &self.attributes, &new.attributes, &mut out);
        out
    }

    /// The access list as `createOrgAccessEntry`'s body.
    pub fn access_body(&self) -> Value {
        Value::Array(
            self.access
                .iter()
                .map(|a| match a.contains('/') {
                    true => serde_json::json!({ "cidrBlock": a }),
                    false => serde_json::json!({ "ipAddress": a }),
                })
                .collect(),
        )
    }
}

/// Whether any access-list entry shows a request at or after `since`'s second (`lastUsed` may
/// be shown to the second only).
pub fn used_since(entries: &[Value], since: jiff::Timestamp) -> bool {
    entries.iter().any(|e| {
        e["lastUsed"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .is_some_and(|t| t.as_second() >= since.as_second())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reaches_compare_as_sets_and_name_each_difference() {
        let old = json!({"roles": [{"orgId": "o", "roleName": "ORG_MEMBER"}, {"groupId": "P1", "roleName": "GROUP_OWNER"}]});
        let new = json!({"roles": [{"groupId": "p1", "roleName": "GROUP_OWNER"}, {"orgId": "o", "roleName": "ORG_MEMBER"}, {"groupId": "p2", "roleName": "GROUP_READ_ONLY"}]});
        let a = Reach::of_key(&old, &[json!({"ipAddress": "10.0.0.1"})]).unwrap();
        let b = Reach::of_key(&new, &[json!({"ipAddress": "10.0.0.1"})]).unwrap();
        assert_eq!(
            a.differences(&b),
            vec!["project p2 role GROUP_READ_ONLY extra".to_string()]
        );
        assert!(a.differences(&a).is_empty());
    }

    #[test]
    fn use_is_a_last_used_at_or_after_delivery() {
        let since: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert!(used_since(
            &[json!({"lastUsed": "2026-01-01T00:00:01Z"})],
            since
        ));
        assert!(!used_since(
            &[json!({"lastUsed": "2025-12-31T23:59:59Z"})],
            since
        ));
        assert!(!used_since(&[json!({"ipAddress": "1.2.3.4"})], since));
    }
}
