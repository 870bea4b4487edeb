//! Signed evidence. The chain of digests is unkeyed: whoever can write the files can recompute it.
//! With a signing key the operator keeps elsewhere (`--sign-key`), every run and verification ends
//! by writing a small manifest beside the report — the SHA-256 and size of the report and of its
//! audit file, the final chain digest, the run ids — and an Ed25519 signature over it in minisign's
//! format, so an auditor checks it with the stock tool:
//!
//! ```text
//! minisign -Vm REPORT.manifest -p revoker.pub     # the manifest is the operator's
//! sha256sum REPORT REPORT.audit.jsonl             # the files are the manifest's
//! ```
//!
//! or with `revoker report REPORT --public-key revoker.pub`, which does both.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{audit, files, sidecar};

/// The manifest's suffix after the report's name.
pub const MANIFEST: &str = ".manifest";
/// The signature's suffix after the report's name (minisign's own convention).
pub const SIGNATURE: &str = ".manifest.minisig";
/// The variable that holds the signing key's password, when the key is encrypted.
pub const PASSWORD_VAR: &str = "REVOKER_SIGN_KEY_PASSWORD";

/// What can go wrong signing or checking a signature.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("signing key {path}: {why}")]
    Key { path: PathBuf, why: String },
    #[error("public key {path}: {why}")]
    PublicKey { path: PathBuf, why: String },
    #[error("{path}: {why}")]
    Io { path: PathBuf, why: String },
    #[error("{0}")]
    Mismatch(String),
}

/// One file the manifest covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Covered {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
}

fn cover(path: &Path) -> Result<Covered, SignatureError> {
    let bytes = std::fs::read(path).map_err(|e| SignatureError::Io {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    Ok(Covered {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: format!("{:x}", Sha256::digest(&bytes)),
        bytes: bytes.len() as u64,
    })
}

/// The manifest's text: one line per fact, in `sha256sum`'s form for the files.
pub fn manifest(report: &Path, chain: &str, runs: &[String]) -> Result<String, SignatureError> {
    let mut text = String::from("# revoker manifest 1: the files as they were when signed\n");
    for path in [report.to_path_buf(), sidecar(report, audit::SUFFIX)] {
        let c = cover(&path)?;
        text.push_str(&format!("{}  {}\n", c.sha256, c.name));
    }
    text.push_str(&format!("# chain {chain}\n"));
    text.push_str(&format!("# runs {}\n", runs.join(" ")));
    Ok(text)
}

/// A signing key, read (and decrypted) once, before anything is sent: a key that cannot sign is
/// found before the run, not after it.
pub struct SigningKey {
    path: PathBuf,
    key: minisign::SecretKey,
}

impl SigningKey {
    pub fn load(path: &Path) -> Result<SigningKey, SignatureError> {
        Ok(SigningKey {
            path: path.to_path_buf(),
            key: secret_key(path)?,
        })
    }
}

fn secret_key(path: &Path) -> Result<minisign::SecretKey, SignatureError> {
    use std::os::unix::fs::PermissionsExt;
    let bad = |why: String| SignatureError::Key {
        path: path.to_path_buf(),
        why,
    };
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if !meta.is_file() || meta.len() > 4096 {
        return Err(bad("not a minisign secret key file".into()));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(bad(format!(
            "readable by others (mode {:o}): chmod 600 it",
            meta.permissions().mode() & 0o777
        )));
    }
    let bytes = super::files::read_bounded(path, super::files::Links::Follow, 4096)
        .map_err(|e| bad(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
    let sk_box = minisign::SecretKeyBox::from_string(&text).map_err(|e| bad(e.to_string()))?;
    // Never prompt: a nightly job has no terminal. The password, if any, comes from the environment.
    match std::env::var(PASSWORD_VAR) {
        Ok(password) => sk_box.into_secret_key(Some(password)),
        Err(_) => sk_box.into_unencrypted_secret_key(),
    }
    .map_err(|e| {
        bad(format!(
            "{e} (an encrypted key needs its password in {PASSWORD_VAR}; minisign 0.11's `-G -W` writes unencrypted keys without their checksum, which cannot be read: make the pair with `revoker keygen`, or with `minisign -G` and a password)"
        ))
    })
}

/// Makes a key pair: the secret key owner-only at `secret` (encrypted with the password in
/// `REVOKER_SIGN_KEY_PASSWORD` when it is set), the public key at `public`. Neither may exist.
pub fn keygen(secret: &Path, public: &Path) -> Result<String, SignatureError> {
    use std::io::Write as _;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| SignatureError::Io {
            path,
            why: e.to_string(),
        }
    };
    let pair = match std::env::var(PASSWORD_VAR) {
        Ok(password) => minisign::KeyPair::generate_encrypted_keypair(Some(password)),
        Err(_) => minisign::KeyPair::generate_unencrypted_keypair(),
    }
    .map_err(|e| SignatureError::Key {
        path: secret.to_path_buf(),
        why: e.to_string(),
    })?;
    let boxed = |e: minisign::PError| SignatureError::Key {
        path: secret.to_path_buf(),
        why: e.to_string(),
    };
    let sk = pair.sk.to_box(Some("revoker signing key")).map_err(boxed)?;
    let pk = pair.pk.to_box().map_err(boxed)?;
    let mut file = files::create_new(secret).map_err(io(secret))?;
    file.write_all(sk.to_string().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(secret))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(public)
        .map_err(io(public))?;
    file.write_all(pk.to_string().as_bytes())
        .map_err(io(public))?;
    Ok(pair.pk.to_base64())
}

/// Writes `REPORT.manifest` and `REPORT.manifest.minisig`, signed with the key at `key`. Both are
/// replaced at once (each signing covers the whole report as it is now). Answers the manifest.
pub fn sign(
    report: &Path,
    key: &SigningKey,
    chain: &str,
    runs: &[String],
) -> Result<String, SignatureError> {
    let text = manifest(report, chain, runs)?;
    let trusted = format!(
        "revoker manifest of {} chain {chain}",
        report
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let sig = minisign::sign(
        None,
        &key.key,
        Cursor::new(text.as_bytes()),
        Some(&trusted),
        Some("signature from revoker"),
    )
    .map_err(|e| SignatureError::Key {
        path: key.path.clone(),
        why: e.to_string(),
    })?;
    for (suffix, bytes) in [
        (MANIFEST, text.as_bytes().to_vec()),
        (SIGNATURE, sig.to_string().into_bytes()),
    ] {
        let path = sidecar(report, suffix);
        files::write_atomic(&path, &bytes, files::PRIVATE).map_err(|e| SignatureError::Io {
            path: path.clone(),
            why: e.to_string(),
        })?;
    }
    Ok(text)
}

/// Checks the signature over the manifest with the public key at `public`, then that the report
/// and its audit file are exactly as the manifest says. Answers the manifest's chain line.
pub fn check(report: &Path, public: &Path) -> Result<String, SignatureError> {
    let pk = minisign::PublicKey::from_file(public).map_err(|e| SignatureError::PublicKey {
        path: public.to_path_buf(),
        why: e.to_string(),
    })?;
    let manifest_path = sidecar(report, MANIFEST);
    let sig_path = sidecar(report, SIGNATURE);
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| SignatureError::Io {
            path: p.to_path_buf(),
            why: e.to_string(),
        })
    };
    let text = read(&manifest_path)?;
    let sig_text = String::from_utf8(read(&sig_path)?).unwrap_or_default();
    let sig = minisign::SignatureBox::from_string(&sig_text).map_err(|e| SignatureError::Io {
        path: sig_path.clone(),
        why: e.to_string(),
    })?;
    minisign::verify(&pk, &sig, Cursor::new(&text[..]), true, false, false).map_err(|e| {
        SignatureError::Mismatch(format!(
            "{}: the signature does not match the manifest with this public key: {e}",
            sig_path.display()
        ))
    })?;
    let text = String::from_utf8_lossy(&text).into_owned();
    let dir = report.parent().unwrap_or(Path::new("."));
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((sha, name)) = line.split_once("  ") else {
            return Err(SignatureError::Mismatch(format!(
                "{}: a line that is not `SHA-256  FILE`: {line:?}",
                manifest_path.display()
            )));
        };
        let now = cover(&dir.join(name))?;
        if now.sha256 != sha {
            return Err(SignatureError::Mismatch(format!(
                "{name} changed after it was signed: SHA-256 {} now, {sha} signed",
                now.sha256
            )));
        }
    }
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("# chain "))
        .unwrap_or_default()
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_report_checks_and_any_changed_byte_fails() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.csv");
        std::fs::write(&report, "a,b\n1,2\n").unwrap();
        std::fs::write(sidecar(&report, audit::SUFFIX), "{}\n").unwrap();
        let minisign::KeyPair { pk, sk } =
            minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let key = dir.path().join("k.key");
        std::fs::write(&key, sk.to_box(None).unwrap().to_string()).unwrap();
        let public = dir.path().join("k.pub");
        std::fs::write(&public, pk.to_box().unwrap().to_string()).unwrap();

        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = SigningKey::load(&key).err().unwrap().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

        let key = SigningKey::load(&key).unwrap();
        sign(&report, &key, "c0", &["run1".into()]).unwrap();
        assert_eq!(check(&report, &public).unwrap(), "c0");
        std::fs::write(&report, "a,b\n1,3\n").unwrap();
        let err = check(&report, &public).unwrap_err().to_string();
        assert!(
            err.starts_with("r.csv changed after it was signed"),
            "{err}"
        );
    }
}
