//! The Atlas spec as a test: every DELETE on a credential noun in the committed extract of the
//! spec's operations (`crates/revoker/spec/atlas-operations.tsv`, made by
//! `scripts/spec-extract.py`) is a kind of revoker's, or is named below as not a kind on purpose;
//! every Atlas kind's revoke and list requests are operations of the extract, with an `Accept`
//! version the operation answers.

use revoker::api::Api;
use revoker::input::{Kind, ObjectId, Scope};

const EXTRACT: &str = include_str!("../../spec/atlas-operations.tsv");

/// Credential DELETEs revoker leaves alone, and why.
const NOT_A_KIND: &[(&str, &str)] = &[
    (
        "deleteAccessEntry",
        "removes one address from an API key's access list; the key stays valid from its other addresses (revoke the key: org-api-key)",
    ),
    (
        "deleteOrgAccessEntry",
        "removes one address from a service account's access list; the account stays valid (revoke it: service-account)",
    ),
    (
        "deleteGroupAccessEntry",
        "removes one address from a service account's access list in a project; the account stays valid",
    ),
    (
        "deleteOrgMcpConfig",
        "deletes a whole MCP configuration (its roles, access list and service accounts): a configuration change; its secrets are revoked one by one (org-mcp-secret)",
    ),
    (
        "deleteGroupMcpConfig",
        "deletes a whole MCP configuration of a project: a configuration change; its secrets are revoked one by one (project-mcp-secret)",
    ),
];

/// One operation of the extract.
#[derive(Debug, Clone, PartialEq)]
struct Operation {
    path: String,
    method: String,
    id: String,
    versions: Vec<String>,
}

fn operations(extract: &str) -> Vec<Operation> {
    extract
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            let [path, method, id, versions] = cells[..] else {
                return None;
            };
            Some(Operation {
                path: path.to_string(),
                method: method.to_string(),
                id: id.to_string(),
                versions: versions.split(',').map(str::to_string).collect(),
            })
        })
        .collect()
}

/// A path with every parameter or id written `{}`: `/api/atlas/v2/orgs/{}/apiKeys/{}`.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let id = ObjectId::parse(seg).is_some()
                || seg.starts_with("mdb_sa_id_")
                || seg == "modelkeypattern000000000";
            if seg.starts_with('{') || id {
                "{}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a DELETE at `path` destroys (all or part of) a credential: an API key, a service
/// account, a secret, an AI model key, an MCP configuration, or an entry of a key's or an
/// account's access list.
fn credential_noun(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    let Some(noun) = segs.iter().rev().nth(1) else {
        return false;
    };
    let of_a_key =
        |i: usize| i >= 2 && matches!(segs[i - 2], "apiKeys" | "serviceAccounts" | "mcpConfigs");
    match *noun {
        "apiKeys" | "serviceAccounts" | "secrets" | "aiModelApiKeys" | "mcpConfigs" => true,
        "accessList" => of_a_key(segs.len() - 2),
        n => n.to_ascii_lowercase().contains("apikey"),
    }
}

/// Everything wrong between the extract and revoker's kinds.
fn problems(extract: &str) -> Vec<String> {
    let ops = operations(extract);
    let base = url::Url::parse("https://cloud.mongodb.com/api/atlas/v2").unwrap();
    let prefix = "https://cloud.mongodb.com";
    let mut out = Vec::new();
    let mut covered = Vec::new();
    for kind in Kind::ALL.into_iter().filter(|k| k.on_atlas()) {
        let accept = Api::Atlas.accept(kind);
        let version = accept
            .trim_start_matches("application/vnd.atlas.")
            .trim_end_matches("+json");
        let revoke = Api::Atlas.revoke_pattern(&base, kind, false);
        let scope = ObjectId::from_bytes([0x5e; 12]);
        let client = match kind {
            k if k.is_mcp() => Some("6a6a6a6a6a6a6a6a6a6a6a6a".to_string()),
            k if k.key_is_client_id() => Some(format!("mdb_sa_id_{}", "6a".repeat(12))),
            _ => None,
        };
        let list = Api::Atlas.list(&base, kind, &scope, client.as_deref(), false);
        let mut requests = vec![("DELETE", revoke), ("GET", list.url.path().to_string())];
        if kind.is_mcp() {
            // The configurations, from which their secrets are listed.
            let configs = Api::Atlas.mcp_configs(&base, kind, &scope, false);
            requests.push(("GET", configs.url.path().to_string()));
        }
        for (method, url) in requests {
            let want = shape(url.trim_start_matches(prefix));
            let found = ops
                .iter()
                .find(|o| o.method == method && shape(&o.path) == want);
            if let Some(o) = found.filter(|_| method == "DELETE") {
                covered.push(o.id.clone());
            }
            match found {
                None => out.push(format!(
                    "{kind}: {method} {want} is no operation of the spec"
                )),
                Some(o) if !o.versions.iter().any(|v| v == version) => out.push(format!(
                    "{kind}: {method} {} ({}) answers {}, not revoker's {version}",
                    o.path,
                    o.id,
                    o.versions.join(",")
                )),
                Some(_) => {}
            }
        }
    }
    for o in ops
        .iter()
        .filter(|o| o.method == "DELETE" && credential_noun(&o.path))
    {
        let named = NOT_A_KIND.iter().any(|(id, _)| *id == o.id);
        if !covered.contains(&o.id) && !named {
            out.push(format!(
                "{} {} ({}) deletes a credential and revoker has no kind for it (add one, or name it in NOT_A_KIND with why)",
                o.method, o.path, o.id
            ));
        }
    }
    out
}

#[test]
fn every_credential_delete_of_the_spec_is_a_kind_or_named_and_every_kind_agrees_with_the_spec() {
    assert_eq!(problems(EXTRACT), Vec::<String>::new());
    // Not vacuous: the extract has the operations the kinds send.
    for id in [
        "deleteOrgMcpSecret",
        "deleteGroupMcpSecret",
        "deleteGroupModelKey",
    ] {
        assert!(EXTRACT.contains(id), "{id}");
    }
    assert!(
        Kind::ALL
            .iter()
            .any(|k| k.scope() == Scope::Org && k.is_mcp())
    );
}

#[test]
fn a_doctored_extract_with_one_more_credential_delete_fails() {
    let doctored = format!(
        "{EXTRACT}/api/atlas/v2/groups/{{groupId}}/streams/{{tenantName}}/apiKeys/{{keyId}}\tDELETE\tdeleteStreamApiKey\t2025-03-12\n"
    );
    assert_eq!(
        problems(&doctored),
        vec![
            "DELETE /api/atlas/v2/groups/{groupId}/streams/{tenantName}/apiKeys/{keyId} (deleteStreamApiKey) deletes a credential and revoker has no kind for it (add one, or name it in NOT_A_KIND with why)".to_string()
        ]
    );
    // And one whose kind's Accept moved on.
    let moved = EXTRACT.replace(
        "deleteOrgMcpSecret\t2025-03-12",
        "deleteOrgMcpSecret\t2026-01-01",
    );
    assert_eq!(
        problems(&moved),
        vec![
            "org-mcp-secret: DELETE /api/atlas/v2/orgs/{orgId}/mcpConfigs/{mcpConfigId}/secrets/{secretId} (deleteOrgMcpSecret) answers 2026-01-01, not revoker's 2025-03-12".to_string()
        ]
    );
}
