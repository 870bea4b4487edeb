//! Credentials, the way MongoDB's own tools find them: environment variables (mongocli's and the
//! Atlas CLI's names, then Terraform's service-account names), a credentials file readable only by its
//! owner, or a profile. Never argv. When one place holds both an API key pair and a service account,
//! the service account is used, as the Terraform provider does.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::job::{line_of, toml_complaint};
use crate::api::Credential;

/// Environment variables of API key pairs, in order: MongoDB's CLI tools' own, then the Terraform
/// provider's (`internal/config/credentials.go`).
pub const API_KEY_VARS: [(&str, &str); 3] = [
    ("MCLI_PUBLIC_API_KEY", "MCLI_PRIVATE_API_KEY"),
    (
        "MONGODB_ATLAS_PUBLIC_API_KEY",
        "MONGODB_ATLAS_PRIVATE_API_KEY",
    ),
    ("MONGODB_ATLAS_PUBLIC_KEY", "MONGODB_ATLAS_PRIVATE_KEY"),
];

/// Environment variables of service accounts, in order: the Atlas CLI's and Terraform's, then mongocli's.
pub const CLIENT_VARS: [(&str, &str); 2] = [
    ("MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_CLIENT_SECRET"),
    ("MCLI_CLIENT_ID", "MCLI_CLIENT_SECRET"),
];

/// A credential and where it came from.
#[derive(Debug, Clone)]
pub struct Found {
    pub credential: Credential,
    /// For messages and `--print-config`: variable names, a file or a profile.
    pub source: String,
}

/// Problems finding credentials; all are exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("{0}")]
    HalfPair(String),
    #[error("credentials file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{0}")]
    Missing(String),
    #[error("{0}")]
    Profile(String),
}

/// The first complete pair among `vars`; a half pair is an error naming the missing variable.
fn pair(
    vars: &[(&str, &str)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(String, String, String)>, CredentialError> {
    let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    for (public, private) in vars {
        match (get(public), get(private)) {
            (Some(a), Some(b)) => {
                return Ok(Some((
                    a.trim().to_string(),
                    b.trim().to_string(),
                    format!("environment ({public}, {private})"),
                )));
            }
            (Some(_), None) => {
                return Err(CredentialError::HalfPair(format!(
                    "{public} is set but {private} is not"
                )));
            }
            (None, Some(_)) => {
                return Err(CredentialError::HalfPair(format!(
                    "{private} is set but {public} is not"
                )));
            }
            (None, None) => {}
        }
    }
    Ok(None)
}

/// Credentials from the environment; `None` when it holds none.
pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Found>, CredentialError> {
    let client = pair(&CLIENT_VARS, env)?;
    let key = pair(&API_KEY_VARS, env)?;
    Ok(match (client, key) {
        (Some((client_id, secret, source)), _) => Some(Found {
            credential: Credential::ServiceAccount {
                client_id,
                client_secret: SecretString::from(secret),
            },
            source,
        }),
        (None, Some((public_key, private_key, source))) => Some(Found {
            credential: Credential::ApiKey {
                public_key,
                private_key: SecretString::from(private_key),
            },
            source,
        }),
        (None, None) => None,
    })
}

/// The message when no credential is found anywhere.
pub fn none_found() -> CredentialError {
    CredentialError::Missing(format!(
        "no credentials: set {} and {} (or {} and {}) for an API key, or {} and {} for a service account; or use --profile NAME or --credentials-file",
        API_KEY_VARS[0].0,
        API_KEY_VARS[0].1,
        API_KEY_VARS[1].0,
        API_KEY_VARS[1].1,
        CLIENT_VARS[0].0,
        CLIENT_VARS[0].1
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    public_key: Option<String>,
    private_key: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Refuses a file that users other than its owner can read.
pub(crate) fn owner_only(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "readable by other users (mode {mode:04o}); run: chmod 600 {}",
            path.display()
        ));
    }
    Ok(())
}

/// Reads a credentials file: TOML with `public_key` and `private_key`, and/or `client_id` and
/// `client_secret`; readable only by its owner. Its parse errors never quote the file.
pub fn from_file(path: &Path) -> Result<Found, CredentialError> {
    let err = |reason: String| CredentialError::File {
        path: path.to_path_buf(),
        reason,
    };
    owner_only(path).map_err(err)?;
    let bytes = crate::fsx::read_bounded(path, crate::fsx::Links::Follow, 64 * 1024)
        .map_err(|e| err(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| err("not UTF-8 text".into()))?;
    let parsed: CredentialsFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(&text, s.start));
        let unknown = e.message().starts_with("unknown field");
        let what = if unknown {
            toml_complaint(&text, &e, true)
        } else {
            format!("line {line}: not valid TOML")
        };
        err(format!(
            "{what}; expected public_key = \"…\" and private_key = \"…\", or client_id = \"…\" and client_secret = \"…\""
        ))
    })?;
    let source = format!("file {}", path.display());
    let trimmed = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let half = |has: &str, lacks: &str| err(format!("{has} is set but {lacks} is not"));
    let client = match (trimmed(parsed.client_id), trimmed(parsed.client_secret)) {
        (Some(id), Some(secret)) => Some((id, secret)),
        (Some(_), None) => return Err(half("client_id", "client_secret")),
        (None, Some(_)) => return Err(half("client_secret", "client_id")),
        (None, None) => None,
    };
    let key = match (trimmed(parsed.public_key), trimmed(parsed.private_key)) {
        (Some(a), Some(b)) => Some((a, b)),
        (Some(_), None) => return Err(half("public_key", "private_key")),
        (None, Some(_)) => return Err(half("private_key", "public_key")),
        (None, None) => None,
    };
    let credential = match (client, key) {
        (Some((client_id, secret)), _) => Credential::ServiceAccount {
            client_id,
            client_secret: SecretString::from(secret),
        },
        (None, Some((public_key, private_key))) => Credential::ApiKey {
            public_key,
            private_key: SecretString::from(private_key),
        },
        (None, None) => return Err(err("holds no credential".into())),
    };
    Ok(Found { credential, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::settings::fake_env as env;

    #[test]
    fn terraform_names_are_read_last() {
        let found = from_env(&env(&[
            ("MONGODB_ATLAS_PUBLIC_KEY", "tf"),
            ("MONGODB_ATLAS_PRIVATE_KEY", "secret"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(found.credential.public_identity(), "API key tf");
        assert_eq!(
            found.source,
            "environment (MONGODB_ATLAS_PUBLIC_KEY, MONGODB_ATLAS_PRIVATE_KEY)"
        );
    }

    #[test]
    fn pairs_in_order_and_the_service_account_wins() {
        let found = from_env(&env(&[
            ("MONGODB_ATLAS_PUBLIC_API_KEY", "a"),
            ("MONGODB_ATLAS_PRIVATE_API_KEY", "b"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(found.credential.public_identity(), "API key a");
        let found = from_env(&env(&[
            ("MCLI_PUBLIC_API_KEY", "m"),
            ("MCLI_PRIVATE_API_KEY", "n"),
            ("MONGODB_ATLAS_PUBLIC_API_KEY", "a"),
            ("MONGODB_ATLAS_PRIVATE_API_KEY", "b"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(found.credential.public_identity(), "API key m");
        let found = from_env(&env(&[
            ("MCLI_PUBLIC_API_KEY", "m"),
            ("MCLI_PRIVATE_API_KEY", "n"),
            ("MONGODB_ATLAS_CLIENT_ID", "mdb_sa_id_x"),
            ("MONGODB_ATLAS_CLIENT_SECRET", "s"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            found.credential.public_identity(),
            "service account mdb_sa_id_x"
        );
        assert!(found.source.contains("MONGODB_ATLAS_CLIENT_ID"));
        let e = from_env(&env(&[("MCLI_CLIENT_ID", "x")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "MCLI_CLIENT_ID is set but MCLI_CLIENT_SECRET is not"
        );
        assert!(from_env(&env(&[])).unwrap().is_none());
    }

    #[test]
    fn a_credentials_file_names_the_right_line_and_never_the_secret() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "public_key = \"p\"\nprivate_key = \"hunter2\"\nregion = \"eu\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = from_file(&file).unwrap_err().to_string();
        assert!(e.contains("line 3: unknown field `region`"), "{e}");
        std::fs::write(&file, "public_key = p\nprivate_key = hunter2\n").unwrap();
        let e = from_file(&file).unwrap_err().to_string();
        assert!(
            e.contains("line 1: not valid TOML") && !e.contains("hunter2"),
            "{e}"
        );
    }
}
