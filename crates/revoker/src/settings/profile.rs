//! Atlas CLI and mongocli profiles: `$XDG_CONFIG_HOME/atlascli/config.toml` (else
//! `~/.config/atlascli/config.toml`), and when that is absent mongocli's
//! `$XDG_CONFIG_HOME/mongocli/config.toml` or the older `~/.config/mongocli.toml`. One TOML table per
//! profile. Since Atlas CLI 1.47 a profile may keep its secrets in the OS keyring rather than the file;
//! revoker does not read keyrings and says how to pass them instead.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::credentials::{CredentialError, Found, owner_only};
use crate::api::Credential;

/// The profile read when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// Which tool wrote a config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    AtlasCli,
    Mongocli,
}

/// One profile of a config file.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct ProfileFields {
    pub public_api_key: Option<String>,
    pub private_api_key: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub ops_manager_url: Option<String>,
    pub ops_manager_ca_certificate: Option<PathBuf>,
    pub service: Option<String>,
    pub auth_type: Option<String>,
    pub org_id: Option<String>,
    pub project_id: Option<String>,
    /// An `atlas auth login` session's token: read only to say it is one, never used or shown.
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
}

/// A profile and where it was read.
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    pub path: PathBuf,
    pub tool: Tool,
    pub fields: ProfileFields,
}

impl Profile {
    /// For messages and `--print-config`.
    pub fn describe(&self) -> String {
        format!("profile {} ({})", self.name, self.path.display())
    }

    /// The API base URL the profile implies: its Ops Manager, or Atlas for an Atlas CLI profile or a
    /// mongocli `cloud` one.
    pub fn base_url(&self) -> Option<String> {
        let f = &self.fields;
        if let Some(root) = f
            .ops_manager_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        {
            return Some(crate::api::Api::CloudManager.base_at(root));
        }
        match (self.tool, f.service.as_deref()) {
            (Tool::AtlasCli, _) | (Tool::Mongocli, Some("cloud")) => {
                Some(crate::api::ATLAS_BASE_URL.to_string())
            }
            _ => None,
        }
    }

    /// The profile's credential, if it holds one. A public half without its secret means the secret
    /// is in the OS keyring.
    pub fn credential(&self) -> Result<Option<Found>, CredentialError> {
        let f = &self.fields;
        let set = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let keyring = |has: &str, lacks: &str, vars: (&str, &str)| {
            CredentialError::Profile(format!(
                "{} has {has} but no {lacks}: Atlas CLI 1.47 and later keep secrets in the OS keyring, which revoker does not read; pass the pair as {} and {} (or use --credentials-file)",
                self.describe(),
                vars.0,
                vars.1
            ))
        };
        let client = match (set(&f.client_id), set(&f.client_secret)) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (Some(_), None) => {
                return Err(keyring(
                    "client_id",
                    "client_secret",
                    ("MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_CLIENT_SECRET"),
                ));
            }
            _ => None,
        };
        let key = match (set(&f.public_api_key), set(&f.private_api_key)) {
            (Some(public), Some(private)) => Some((public, private)),
            (Some(_), None) if client.is_none() => {
                return Err(keyring(
                    "public_api_key",
                    "private_api_key",
                    (
                        "MONGODB_ATLAS_PUBLIC_API_KEY",
                        "MONGODB_ATLAS_PRIVATE_API_KEY",
                    ),
                ));
            }
            _ => None,
        };
        if client.is_none() && key.is_none() {
            let login = f.auth_type.as_deref() == Some("user_account")
                || set(&f.access_token).is_some()
                || set(&f.refresh_token).is_some();
            return Err(CredentialError::Profile(if login {
                format!(
                    "{} is an atlas auth login session (a person's access token), which revoker does not sign in with: create an API key or a service account for it, and put its pair in the profile (public_api_key and private_api_key, or client_id and client_secret) or in the environment",
                    self.describe()
                )
            } else {
                format!(
                    "{} holds no API key (public_api_key and private_api_key) and no service account (client_id and client_secret)",
                    self.describe()
                )
            }));
        }
        owner_only(&self.path)
            .map_err(|why| CredentialError::Profile(format!("{}: {why}", self.path.display())))?;
        let source = self.describe();
        Ok(Some(match (client, key) {
            (Some((client_id, secret)), _) => Found {
                credential: Credential::ServiceAccount {
                    client_id,
                    client_secret: SecretString::from(secret),
                },
                source,
            },
            (None, Some((public_key, private))) => Found {
                credential: Credential::ApiKey {
                    public_key,
                    private_key: SecretString::from(private),
                },
                source,
            },
            (None, None) => return Ok(None),
        }))
    }
}

/// The config files to look in, in order, each with the tool that writes it.
pub fn config_files() -> Vec<(PathBuf, Tool)> {
    use etcetera::BaseStrategy;
    let Ok(xdg) = etcetera::base_strategy::Xdg::new() else {
        return Vec::new();
    };
    let config = xdg.config_dir();
    vec![
        (config.join("atlascli/config.toml"), Tool::AtlasCli),
        (config.join("mongocli/config.toml"), Tool::Mongocli),
        (xdg.home_dir().join(".config/mongocli.toml"), Tool::Mongocli),
    ]
}

/// Reads profile `name` from the first config file that exists. `explicit` says the user named it:
/// then a missing file or profile is an error; otherwise there is just no profile.
pub fn load(name: &str, explicit: bool) -> Result<Option<Profile>, CredentialError> {
    let Some((path, tool)) = config_files().into_iter().find(|(p, _)| p.is_file()) else {
        if explicit {
            return Err(CredentialError::Profile(format!(
                "profile {name}: no Atlas CLI or mongocli config file ({})",
                config_files()
                    .iter()
                    .map(|(p, _)| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        return Ok(None);
    };
    read(&path, tool, name, explicit)
}

fn read(
    path: &Path,
    tool: Tool,
    name: &str,
    explicit: bool,
) -> Result<Option<Profile>, CredentialError> {
    let err = |why: String| CredentialError::Profile(format!("{}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| err(super::job::toml_complaint(&text, &e, true)))?;
    let Some(value) = table.get(name) else {
        if !explicit {
            return Ok(None);
        }
        let names: Vec<&str> = table
            .iter()
            .filter(|(_, v)| v.is_table())
            .map(|(k, _)| k.as_str())
            .collect();
        return Err(err(format!(
            "no profile {name} (profiles there: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    let fields: ProfileFields = value
        .clone()
        .try_into()
        .map_err(|_| err(format!("profile {name} is not a table of settings")))?;
    Ok(Some(Profile {
        name: name.to_string(),
        path: path.to_path_buf(),
        tool,
        fields,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_profiles_say_how_to_pass_their_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[default]\npublic_api_key = \"abc\"\norg_id = \"x\"\n[full]\npublic_api_key = \"abc\"\nprivate_api_key = \"secret\"\nops_manager_url = \"https://om.example.com:8080/\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let p = read(&path, Tool::AtlasCli, "default", true)
            .unwrap()
            .unwrap();
        let e = p.credential().unwrap_err().to_string();
        assert!(
            e.contains("OS keyring") && e.contains("MONGODB_ATLAS_PRIVATE_API_KEY"),
            "{e}"
        );
        assert_eq!(
            p.base_url().as_deref(),
            Some("https://cloud.mongodb.com/api/atlas/v2")
        );
        // An `atlas auth login` profile, and one with nothing to sign in with, say so.
        std::fs::write(
            &path,
            "[login]\nauth_type = \"user_account\"\naccess_token = \"eyJhbGciOi\"\n[empty]\norg_id = \"x\"\n",
        )
        .unwrap();
        let login = read(&path, Tool::AtlasCli, "login", true).unwrap().unwrap();
        let e = login.credential().unwrap_err().to_string();
        assert!(
            e.contains("is an atlas auth login session") && !e.contains("eyJ"),
            "{e}"
        );
        let empty = read(&path, Tool::AtlasCli, "empty", true).unwrap().unwrap();
        let e = empty.credential().unwrap_err().to_string();
        assert!(e.ends_with("holds no API key (public_api_key and private_api_key) and no service account (client_id and client_secret)"), "{e}");
        std::fs::write(
            &path,
            "[full]\npublic_api_key = \"abc\"\nprivate_api_key = \"secret\"\nops_manager_url = \"https://om.example.com:8080/\"\n",
        )
        .unwrap();
        let p = read(&path, Tool::AtlasCli, "full", true).unwrap().unwrap();
        assert_eq!(
            p.credential()
                .unwrap()
                .unwrap()
                .credential
                .public_identity(),
            "API key abc"
        );
        assert_eq!(
            p.base_url().as_deref(),
            Some("https://om.example.com:8080/api/public/v1.0")
        );
        assert!(
            read(&path, Tool::AtlasCli, "nope", true)
                .unwrap_err()
                .to_string()
                .contains("profiles there: full")
        );
        assert!(
            read(&path, Tool::AtlasCli, "nope", false)
                .unwrap()
                .is_none()
        );
    }
}
