//! Delivery of a replacement's secret, never as a plaintext file: an `age` file for the named
//! X25519 recipients (one new owner-only file per credential, which the stock `age -d -i IDENTITY`
//! reads), or a helper's stdin (`exec:COMMAND`, run without a shell, fed one JSON document; the
//! secret counts as delivered only when it exits 0). The plaintext lives in a buffer zeroed when
//! dropped, and the secret itself in a `SecretString`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};

/// A replacement to deliver: its public identity and the secret MongoDB showed once.
pub struct NewSecret {
    pub kind: &'static str,
    pub scope: String,
    pub old: String,
    pub id: String,
    /// The public key of an API key, the client id of a secret.
    pub public: String,
    pub secret: SecretString,
}

impl NewSecret {
    /// The JSON a recipient reads; zeroed when dropped.
    fn document(&self) -> Zeroizing<Vec<u8>> {
        let value = serde_json::json!({
            "kind": self.kind,
            "scope": self.scope,
            "replaces": self.old,
            "id": self.id,
            "public": self.public,
            "secret": self.secret.expose_secret(),
        });
        let mut bytes = Zeroizing::new(serde_json::to_vec_pretty(&value).unwrap_or_default());
        bytes.push(b'\n');
        bytes
    }
}

/// Where secrets go.
#[derive(Clone, Debug)]
pub enum Deliver {
    /// `age:RECIPIENT[,…]`: X25519 recipients (`age1…`).
    Age(Vec<String>),
    /// `exec:COMMAND`: a helper and its arguments (split as a shell would, run without one).
    Exec(Vec<String>),
}

impl FromStr for Deliver {
    type Err = String;

    fn from_str(text: &str) -> Result<Deliver, String> {
        if let Some(list) = text.strip_prefix("age:") {
            let recipients: Vec<String> = list
                .split(',')
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect();
            for r in &recipients {
                age::x25519::Recipient::from_str(r).map_err(|e| {
                    format!("--deliver age: {r:?} is not an age X25519 recipient ({e})")
                })?;
            }
            if recipients.is_empty() {
                return Err("--deliver age: needs at least one recipient (age1…)".into());
            }
            return Ok(Deliver::Age(recipients));
        }
        if let Some(command) = text.strip_prefix("exec:") {
            let words = shell_words::split(command)
                .map_err(|e| format!("--deliver exec: cannot split the command ({e})"))?;
            if words.is_empty() {
                return Err("--deliver exec: needs a command".into());
            }
            return Ok(Deliver::Exec(words));
        }
        Err("--deliver: expected age:RECIPIENT[,…] or exec:COMMAND".into())
    }
}

/// The folder of a report's age files.
pub fn folder_for(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".secrets");
    PathBuf::from(name)
}

/// Hands `secret` over; `Ok` with where it went once it is delivered. Consumes the secret: it
/// is dropped (and zeroed) here whatever happens.
pub async fn deliver(
    how: &Deliver,
    folder: &Path,
    run: &str,
    secret: NewSecret,
) -> Result<String, String> {
    match how {
        Deliver::Age(recipients) => {
            let path = folder.join(format!("{}-{}-{run}.age", secret.kind, secret.old));
            let document = secret.document();
            drop(secret);
            write_age(&path, recipients, &document)?;
            Ok(path.display().to_string())
        }
        Deliver::Exec(words) => {
            let document = secret.document();
            drop(secret);
            run_helper(words, document).await
        }
    }
}

fn write_age(path: &Path, recipients: &[String], plain: &[u8]) -> Result<(), String> {
    let parsed: Vec<age::x25519::Recipient> = recipients
        .iter()
        .map(|r| age::x25519::Recipient::from_str(r).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let encryptor =
        age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| format!("age: {e}"))?;
    if let Some(parent) = path.parent() {
        make_private_folder(parent)?;
    }
    let file = crate::fsx::create_new(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut writer = encryptor.wrap_output(file).map_err(fail)?;
    writer.write_all(plain).map_err(fail)?;
    let file = writer.finish().map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// Makes the secrets' folder owner-only (0700), or accepts one that already is: a link there is
/// refused, never followed (a planted link could send the new secrets elsewhere), and so is a
/// folder someone else owns or others may enter.
fn make_private_folder(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let shown = path.display();
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("{shown}: {e}")),
    }
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{shown}: is a symbolic link; revoker does not follow links here (a planted link could send the new secrets elsewhere): remove it"
        ));
    }
    if !meta.is_dir() {
        return Err(format!("{shown}: is not a folder"));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!(
            "{shown}: owned by uid {}, not by this user ({me}): new secrets are delivered only into a folder of the user running revoker",
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{shown}: mode {:o} lets others in; new secrets are delivered only into an owner-only folder (chmod 700 it)",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// The variables revoker reads its own credentials from: never handed to a delivery helper,
/// which gets the new secret and nothing of the credential doing the rotation.
const CREDENTIAL_VARIABLES: [&str; 11] = [
    "MCLI_CLIENT_ID",
    "MCLI_CLIENT_SECRET",
    "MCLI_PRIVATE_API_KEY",
    "MCLI_PUBLIC_API_KEY",
    "MONGODB_ATLAS_CLIENT_ID",
    "MONGODB_ATLAS_CLIENT_SECRET",
    "MONGODB_ATLAS_PRIVATE_API_KEY",
    "MONGODB_ATLAS_PRIVATE_KEY",
    "MONGODB_ATLAS_PUBLIC_API_KEY",
    "MONGODB_ATLAS_PUBLIC_KEY",
    // Not an API credential, but a secret of the run's: the signing key's password.
    "REVOKER_SIGN_KEY_PASSWORD",
];

/// Runs the helper with the document on its stdin. Its stderr is read (bounded) and counted, never
/// shown: a helper may echo its input in a form no blotting finds (another case, base64, split),
/// and the new secret must reach no log.
async fn run_helper(words: &[String], document: Zeroizing<Vec<u8>>) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut command = tokio::process::Command::new(&words[0]);
    for name in CREDENTIAL_VARIABLES {
        command.env_remove(name);
    }
    let mut child = command
        .args(&words[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("delivery helper {}: {e}", words[0]))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is judged by its exit status, not by this write.
        let _ = stdin.write_all(&document).await;
        drop(stdin);
    }
    drop(document);
    let mut said = Zeroizing::new(Vec::new());
    if let Some(stderr) = child.stderr.take() {
        let _ = stderr.take(64 << 10).read_to_end(&mut said).await;
    }
    let status = child
        .wait()
        .await
        .map_err(|e| format!("delivery helper {}: {e}", words[0]))?;
    let lines = String::from_utf8_lossy(&said).lines().count();
    if lines > 0 {
        tracing::warn!(
            "delivery helper {} wrote {} to stderr, not shown (it may carry the new secret in some form): run the helper by hand to see them",
            words[0],
            crate::text::plural(lines as u64, "line", "lines")
        );
    }
    match status.success() {
        true => Ok(format!("helper {}", words[0])),
        false => Err(format!(
            "delivery helper {} exited with {status}: not delivered",
            words[0]
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secrets_folder_is_made_owner_only_and_a_link_or_an_open_folder_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let made = dir.path().join("r.csv.secrets");
        // SAFETY: umask has no preconditions; 0 shows the mode is set, not left to the umask.
        let old = unsafe { libc::umask(0) };
        let result = make_private_folder(&made);
        unsafe { libc::umask(old) };
        result.unwrap();
        let mode = std::fs::metadata(&made).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert_eq!(make_private_folder(&made), Ok(()));

        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).unwrap();
        let planted = dir.path().join("p.csv.secrets");
        std::os::unix::fs::symlink(&elsewhere, &planted).unwrap();
        assert_eq!(
            make_private_folder(&planted),
            Err(format!(
                "{}: is a symbolic link; revoker does not follow links here (a planted link could send the new secrets elsewhere): remove it",
                planted.display()
            ))
        );
        let secret = NewSecret {
            kind: "service-account-secret",
            scope: "s".into(),
            old: "o".into(),
            id: "n".into(),
            public: "p".into(),
            secret: SecretString::from("v"),
        };
        let recipient = age::x25519::Identity::generate().to_public().to_string();
        let how = Deliver::Age(vec![recipient]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(
            runtime
                .block_on(deliver(&how, &planted, "run", secret))
                .is_err()
        );
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);

        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            make_private_folder(&elsewhere),
            Err(format!(
                "{}: mode 755 lets others in; new secrets are delivered only into an owner-only folder (chmod 700 it)",
                elsewhere.display()
            ))
        );
    }

    #[test]
    fn deliveries_parse_and_refuse_what_is_not_one() {
        let id = age::x25519::Identity::generate();
        let r = id.to_public().to_string();
        assert!(
            matches!(format!("age:{r}").parse::<Deliver>(), Ok(Deliver::Age(v)) if v == vec![r.clone()])
        );
        assert!("age:nope".parse::<Deliver>().is_err());
        assert!(
            matches!("exec:vault-put 'a b'".parse::<Deliver>(), Ok(Deliver::Exec(w)) if w == vec!["vault-put", "a b"])
        );
        assert!("file:/tmp/x".parse::<Deliver>().is_err());
    }
}
