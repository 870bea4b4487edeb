//! Signed evidence. The chain of digests is unkeyed: whoever can write the files can recompute it.
//! With a signing key the operator keeps elsewhere (`--sign-key`), every run and verification ends
//! by writing a small manifest beside the report — the SHA-256 and size of the report and of its
//! audit file in `sha256sum`'s form, the report's identity (its name, first run id and final chain
//! digest), the run ids — and an Ed25519 signature over it in minisign's format, whose trusted
//! comment repeats the report's SHA-256. An auditor checks both the signature and the files in one
//! line, run in the report's folder:
//!
//! ```text
//! minisign -Vm REPORT.manifest -p revoker.pub && sha256sum -c REPORT.manifest
//! ```
//!
//! or with `revoker report REPORT --public-key revoker.pub`, which also tells a run appended after
//! signing (the signed part still intact, checked up to the sizes it signed) from a change.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{audit, sidecar};
use crate::vocab::{ExitCode, exit};

/// The manifest's suffix after the report's name.
pub const MANIFEST: &str = ".manifest";
/// The signature's suffix after the report's name (minisign's own convention).
pub const SIGNATURE: &str = ".manifest.minisig";
/// The variable that holds the signing key's password, when the key is encrypted.
pub const PASSWORD_VAR: &str = "REVOKER_SIGN_KEY_PASSWORD";

/// The one-line check an auditor runs in the report's folder, with stock tools.
pub fn stock_check(report_name: &str, public: &str) -> String {
    format!(
        "minisign -Vm {report_name}{MANIFEST} -p {public} && sha256sum -c {report_name}{MANIFEST}"
    )
}

/// What can go wrong signing or checking a signature.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("signing key {path}: {why}")]
    Key { path: PathBuf, why: String },
    #[error("public key {path}: {why}")]
    PublicKey { path: PathBuf, why: String },
    #[error("{path}: {why}")]
    Io { path: PathBuf, why: String },
    /// The evidence is not what was signed (or not signed at all).
    #[error("{0}")]
    Mismatch(String),
}

impl ExitCode for SignatureError {
    fn exit_code(&self) -> i32 {
        match self {
            SignatureError::Mismatch(_) => exit::TAMPERED,
            _ => exit::USAGE,
        }
    }
}

/// One file the manifest covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Covered {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A file of the evidence, or a key: a regular file only, opened without blocking, so a FIFO
/// planted in its place is an error rather than a wait.
fn read(path: &Path) -> Result<Vec<u8>, SignatureError> {
    crate::fsx::read_bounded(path, crate::fsx::Links::Follow, u64::MAX / 2).map_err(|e| {
        SignatureError::Io {
            path: path.to_path_buf(),
            why: e.to_string(),
        }
    })
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

fn cover(path: &Path) -> Result<Covered, SignatureError> {
    let bytes = read(path)?;
    Ok(Covered {
        name: name_of(path),
        sha256: sha256(&bytes),
        bytes: bytes.len() as u64,
    })
}

/// A manifest read back: what it says was signed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `(SHA-256, file name)` in `sha256sum`'s order.
    pub files: Vec<(String, String)>,
    /// Each file's size when signed (manifests of version 2 on).
    pub bytes: Vec<(String, u64)>,
    /// The run id of the report's first run: the report's identity (version 2 on).
    pub first_run: Option<String>,
    pub chain: String,
    pub runs: Vec<String>,
}

impl Manifest {
    fn parse(text: &str, path: &Path) -> Result<Manifest, SignatureError> {
        let mut m = Manifest::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# bytes ") {
                if let Some((name, n)) = rest.rsplit_once(' ')
                    && let Ok(n) = n.parse()
                {
                    m.bytes.push((name.to_string(), n));
                }
            } else if let Some(rest) = line.strip_prefix("# first-run ") {
                m.first_run = Some(rest.trim().to_string());
            } else if let Some(rest) = line.strip_prefix("# chain ") {
                m.chain = rest.trim().to_string();
            } else if let Some(rest) = line.strip_prefix("# runs ") {
                m.runs = rest.split_whitespace().map(str::to_string).collect();
            } else if !line.starts_with('#') {
                let Some((sha, name)) = line.split_once("  ") else {
                    return Err(SignatureError::Mismatch(format!(
                        "{}: a line that is not `SHA-256  FILE`: {line:?}",
                        path.display()
                    )));
                };
                m.files.push((sha.to_string(), name.to_string()));
            }
        }
        Ok(m)
    }

    fn bytes_of(&self, name: &str) -> Option<u64> {
        self.bytes.iter().find(|(n, _)| n == name).map(|(_, b)| *b)
    }
}

/// The manifest's text: the files in `sha256sum`'s form (so `sha256sum -c` reads it; it skips the
/// `#` lines), then the report's identity and each file's size.
pub fn manifest(report: &Path, chain: &str, runs: &[String]) -> Result<String, SignatureError> {
    let name = name_of(report);
    let covered = [cover(report)?, cover(&sidecar(report, audit::SUFFIX))?];
    let mut text = format!(
        "# revoker manifest 2 of {name}: the report and its audit file as they were when signed\n# check: {}\n",
        stock_check(&name, "PUBLIC_KEY")
    );
    for c in &covered {
        text.push_str(&format!("{}  {}\n", c.sha256, c.name));
    }
    for c in &covered {
        text.push_str(&format!("# bytes {} {}\n", c.name, c.bytes));
    }
    if let Some(first) = runs.first() {
        text.push_str(&format!("# first-run {first}\n"));
    }
    text.push_str(&format!("# chain {chain}\n"));
    text.push_str(&format!("# runs {}\n", runs.join(" ")));
    Ok(text)
}

/// A minisign key id as minisign prints it: the key number as a little-endian u64 in hex.
fn key_id(keynum: &[u8]) -> String {
    let mut n = [0u8; 8];
    for (to, from) in n.iter_mut().zip(keynum) {
        *to = *from;
    }
    format!("{:016X}", u64::from_le_bytes(n))
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

    /// The key's id, as minisign prints it (and as its public key file's comment holds it).
    pub fn id(&self) -> String {
        key_id(self.key.keynum())
    }
}

/// What to say when a command that appends to `report` has no signing key: a signed report keeps
/// its signature over the part signed, and what this command adds is not signed.
pub fn unsigned_warning(report: &Path, key: Option<&SigningKey>) -> Option<String> {
    if key.is_some() {
        return None;
    }
    let by = signed_by(report)?;
    Some(format!(
        "{} is signed (key {by}) and this command has no signing key (--sign-key, job sign_key): what it adds will not be signed; `revoker report {} --public-key …` will say the signed part is intact and name what was added after it",
        report.display(),
        report.display()
    ))
}

/// The line a signing prints: which key signed, and the one-line check an auditor runs.
pub fn signed_line(report: &Path, key: &SigningKey) -> String {
    let dir = report
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    format!(
        "signed: {} by key {}; an auditor checks the report and its audit file with: cd {} && {}   (or: revoker report {} --public-key revoker.pub)",
        sidecar(report, SIGNATURE).display(),
        key.id(),
        dir.display(),
        stock_check(&name_of(report), "revoker.pub"),
        report.display()
    )
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
    let bytes = crate::fsx::read_bounded(path, crate::fsx::Links::Follow, 4096)
        .map_err(|e| bad(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
    let sk_box = minisign::SecretKeyBox::from_string(&text).map_err(|e| bad(e.to_string()))?;
    // Never prompt: a nightly job has no terminal. The password, if any, comes from the environment.
    match std::env::var(PASSWORD_VAR) {
        Ok(password) => sk_box.into_secret_key(Some(password)),
        Err(_) => sk_box
            .into_unencrypted_secret_key()
            .or_else(|e| without_checksum(&text).ok_or(e)),
    }
    .map_err(|e| {
        bad(format!(
            "{e} (an encrypted key needs its password in {PASSWORD_VAR}; otherwise the key file is damaged: make a pair with `revoker keygen`, or with `minisign -G`)"
        ))
    })
}

/// An unencrypted Ed25519 key whose checksum is all zeros, as minisign 0.11's `-G -W` writes it
/// (and `minisign -S` signs with): read as it is. Any other key must pass its checksum.
fn without_checksum(text: &str) -> Option<minisign::SecretKey> {
    use base64::Engine as _;
    let line = text.lines().nth(1)?.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(line)
        .ok()?;
    // sig_alg "Ed", kdf_alg 0 (unencrypted), then salt, limits, key id, key, and 32 checksum bytes.
    let plain = bytes.len() == 158 && bytes[..2] == *b"Ed" && bytes[2..4] == [0, 0];
    (plain && bytes[126..].iter().all(|b| *b == 0))
        .then(|| minisign::SecretKey::from_bytes(&bytes).ok())
        .flatten()
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
    for (path, what) in [(secret, "secret key"), (public, "public key")] {
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(SignatureError::Io {
                path: path.to_path_buf(),
                why: format!(
                    "exists already: keygen never replaces a key (a signature made with the old {what} could no longer be checked); choose another path or remove it"
                ),
            });
        }
    }
    // README's `--secret-key /etc/revoker/sign.key` on a machine without that folder yet: made
    // owner-only, as the key in it is.
    if let Some(dir) = secret
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
    }
    let mut file = crate::fsx::create_new(secret).map_err(io(secret))?;
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
    let sha = text
        .lines()
        .find(|l| !l.starts_with('#'))
        .and_then(|l| l.split_once("  "))
        .map(|(sha, _)| sha.to_string())
        .unwrap_or_default();
    // minisign prints the trusted comment when it verifies: the auditor sees which report, with
    // its SHA-256, the signature is for.
    let trusted = format!(
        "revoker manifest of {} sha256 {sha} first-run {} chain {chain}",
        name_of(report),
        runs.first().map(String::as_str).unwrap_or("-"),
    );
    let untrusted = format!(
        "signature from revoker secret key {}",
        key_id(key.key.keynum())
    );
    let sig = minisign::sign(
        None,
        &key.key,
        Cursor::new(text.as_bytes()),
        Some(&trusted),
        Some(&untrusted),
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
        crate::fsx::write_atomic(&path, &bytes, crate::fsx::PRIVATE).map_err(|e| {
            SignatureError::Io {
                path: path.clone(),
                why: e.to_string(),
            }
        })?;
    }
    Ok(text)
}

/// What a good signature covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// The signing key's id, as minisign prints it.
    pub key_id: String,
    /// The report's chain digest when signed.
    pub chain: String,
    /// Runs recorded after signing, which the signature does not cover: `verify 2026… at …`.
    pub unsigned: Vec<String>,
}

impl Checked {
    /// The line `report --public-key` prints.
    pub fn describe(&self) -> String {
        if self.unsigned.is_empty() {
            return format!(
                "signature: good (key {}); the report and its audit file are as signed (chain {})",
                self.key_id, self.chain
            );
        }
        format!(
            "signature: the signed part is intact (key {}, chain {}); {} appended after signing {} not signed: {}",
            self.key_id,
            self.chain,
            crate::text::plural(self.unsigned.len() as u64, "run", "runs"),
            if self.unsigned.len() == 1 {
                "is"
            } else {
                "are"
            },
            self.unsigned.join("; ")
        )
    }

    /// 0 when everything is signed, else [`exit::PARTLY_SIGNED`].
    pub fn exit_code(&self) -> i32 {
        if self.unsigned.is_empty() {
            exit::OK
        } else {
            exit::PARTLY_SIGNED
        }
    }
}

/// What the signature beside a report says, unchecked (for `report` and the HTML page; only a
/// public key checks it).
#[derive(Clone, Debug, serde::Serialize)]
pub struct SignatureView {
    /// The key id in the signature.
    pub key_id: String,
    /// The signature file.
    pub file: String,
    /// The one-line check, to run in the report's folder.
    pub check: String,
    /// Runs of the audit file the manifest does not name: recorded after the last signing.
    pub unsigned_runs: Vec<String>,
}

/// The signature beside `report`, if there is one.
pub fn view(report: &Path, audit_runs: &[String]) -> Option<SignatureView> {
    let key_id = signed_by(report)?;
    let manifest = read(&sidecar(report, MANIFEST)).unwrap_or_default();
    let manifest = String::from_utf8_lossy(&manifest);
    let signed = Manifest::parse(&manifest, report).unwrap_or_default().runs;
    Some(SignatureView {
        key_id,
        file: sidecar(report, SIGNATURE).display().to_string(),
        check: format!(
            "{}   (or: revoker report {} --public-key revoker.pub)",
            stock_check(&name_of(report), "revoker.pub"),
            name_of(report)
        ),
        unsigned_runs: audit_runs
            .iter()
            .filter(|r| !signed.contains(r))
            .cloned()
            .collect(),
    })
}

/// Who signed `report`, if anyone: the key id in its signature (unchecked: for display).
pub fn signed_by(report: &Path) -> Option<String> {
    let text = String::from_utf8(read(&sidecar(report, SIGNATURE)).ok()?).ok()?;
    let sig = minisign::SignatureBox::from_string(&text).ok()?;
    Some(key_id(sig.keynum()))
}

/// Checks the signature over the manifest with the public key at `public`, that the manifest is
/// this report's (its file names and first run), then that the report and its audit file are
/// exactly as the manifest says — or, when runs were appended since, that the part signed is.
pub fn check(report: &Path, public: &Path) -> Result<Checked, SignatureError> {
    let key_text = String::from_utf8(read(public)?).unwrap_or_default();
    let pk = minisign::PublicKeyBox::from_string(&key_text)
        .and_then(minisign::PublicKeyBox::into_public_key)
        .map_err(|e| SignatureError::PublicKey {
            path: public.to_path_buf(),
            why: e.to_string(),
        })?;
    let manifest_path = sidecar(report, MANIFEST);
    let sig_path = sidecar(report, SIGNATURE);
    for path in [&manifest_path, &sig_path] {
        if std::fs::symlink_metadata(path).is_err() {
            return Err(SignatureError::Mismatch(format!(
                "{} is not signed: {} is missing",
                report.display(),
                path.display()
            )));
        }
    }
    let text = read(&manifest_path)?;
    let sig_text = String::from_utf8(read(&sig_path)?).unwrap_or_default();
    let sig = minisign::SignatureBox::from_string(&sig_text).map_err(|e| {
        SignatureError::Mismatch(format!("{}: not a signature: {e}", sig_path.display()))
    })?;
    minisign::verify(&pk, &sig, Cursor::new(&text[..]), true, false, false).map_err(|e| {
        SignatureError::Mismatch(format!(
            "{}: the signature does not match the manifest with this public key: {e}",
            sig_path.display()
        ))
    })?;
    let manifest = Manifest::parse(&String::from_utf8_lossy(&text), &manifest_path)?;
    let audit_path = sidecar(report, audit::SUFFIX);
    is_this_reports(report, &manifest)?;
    let dir = report.parent().unwrap_or(Path::new("."));
    let mut grew = Vec::new();
    for (sha, name) in &manifest.files {
        let now = read(&dir.join(name))?;
        if &sha256(&now) == sha {
            continue;
        }
        match manifest.bytes_of(name) {
            Some(n) if (now.len() as u64) > n && &sha256(&now[..n as usize]) == sha => {
                grew.push((name.clone(), n));
            }
            _ => {
                return Err(SignatureError::Mismatch(format!(
                    "{name} changed after it was signed: SHA-256 {} now, {sha} signed",
                    sha256(&now)
                )));
            }
        }
    }
    let unsigned = match grew.iter().find(|(name, _)| *name == name_of(&audit_path)) {
        Some((_, audit_bytes)) => appended_runs(&audit_path, *audit_bytes)?,
        None if grew.is_empty() => Vec::new(),
        None => {
            return Err(SignatureError::Mismatch(format!(
                "{} has rows added after it was signed that no run in its audit file recorded",
                name_of(report)
            )));
        }
    };
    Ok(Checked {
        key_id: key_id(sig.keynum()),
        chain: manifest.chain,
        unsigned,
    })
}

/// The manifest names this report and its audit file, and nothing else; its first run is the
/// report's. Another report's manifest and signature copied beside it are refused.
fn is_this_reports(report: &Path, manifest: &Manifest) -> Result<(), SignatureError> {
    let mut want = vec![name_of(report), name_of(&sidecar(report, audit::SUFFIX))];
    let mut named: Vec<String> = manifest.files.iter().map(|(_, n)| n.clone()).collect();
    want.sort();
    named.sort();
    if named != want {
        return Err(SignatureError::Mismatch(format!(
            "the manifest and signature beside {} were made for another report (they name {})",
            name_of(report),
            named.join(" and ")
        )));
    }
    if let Some(first) = &manifest.first_run {
        let log = audit::read(report).map_err(|e| SignatureError::Io {
            path: sidecar(report, audit::SUFFIX),
            why: e.to_string(),
        })?;
        let ours = log
            .records
            .iter()
            .find(|r| r.event == "start")
            .map(|r| &r.run_id);
        if ours != Some(first) {
            return Err(SignatureError::Mismatch(format!(
                "the manifest and signature beside {} were made for another report (first run {first}, this report's {})",
                name_of(report),
                ours.map(String::as_str).unwrap_or("none")
            )));
        }
    }
    Ok(())
}

/// The runs whose start lines come after the first `signed` bytes of the audit file. What follows
/// the signed part must be whole audit records that start a run: a torn line or anything else
/// there is not "a run appended after signing".
fn appended_runs(audit_path: &Path, signed: u64) -> Result<Vec<String>, SignatureError> {
    let bytes = read(audit_path)?;
    let tail = bytes.get(signed as usize..).unwrap_or_default();
    let not_runs = || {
        SignatureError::Mismatch(format!(
            "{} has bytes after the part that was signed that are not whole audit records of later runs",
            name_of(audit_path)
        ))
    };
    if !tail.ends_with(b"\n") {
        return Err(not_runs());
    }
    let mut records = Vec::new();
    for line in tail.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        records.push(serde_json::from_slice::<audit::AuditRecord>(line).map_err(|_| not_runs())?);
    }
    let runs: Vec<String> = records
        .iter()
        .filter(|r| r.event == "start")
        .map(|r| format!("{} {} at {}", r.command, r.run_id, r.at))
        .collect();
    if runs.is_empty() {
        return Err(not_runs());
    }
    Ok(runs)
}

/// Signs the file `bytes` will be written as, `path`: the signature beside it at
/// `PATH.minisig` (created new, owner-only), checkable with `minisign -Vm PATH -p revoker.pub`.
pub fn sign_file(path: &Path, bytes: &[u8], key: &SigningKey) -> Result<PathBuf, SignatureError> {
    use std::io::Write as _;
    let trusted = format!("revoker plan {} sha256 {}", name_of(path), sha256(bytes));
    let untrusted = format!(
        "signature from revoker secret key {}",
        key_id(key.key.keynum())
    );
    let sig = minisign::sign(
        None,
        &key.key,
        Cursor::new(bytes),
        Some(&trusted),
        Some(&untrusted),
    )
    .map_err(|e| SignatureError::Key {
        path: key.path.clone(),
        why: e.to_string(),
    })?;
    let sig_path = PathBuf::from(format!("{}.minisig", path.display()));
    let io = |e: std::io::Error| SignatureError::Io {
        path: sig_path.clone(),
        why: e.to_string(),
    };
    let mut file = crate::fsx::create_new(&sig_path).map_err(io)?;
    file.write_all(sig.to_string().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io)?;
    Ok(sig_path)
}

/// Checks `bytes` (the file at `path`) against the signature `PATH.minisig` with the public key
/// at `public`; answers the signing key's id.
pub fn check_file(path: &Path, bytes: &[u8], public: &Path) -> Result<String, SignatureError> {
    let key_text = String::from_utf8(read(public)?).unwrap_or_default();
    let pk = minisign::PublicKeyBox::from_string(&key_text)
        .and_then(minisign::PublicKeyBox::into_public_key)
        .map_err(|e| SignatureError::PublicKey {
            path: public.to_path_buf(),
            why: e.to_string(),
        })?;
    let sig_path = PathBuf::from(format!("{}.minisig", path.display()));
    let sig_text = String::from_utf8(read(&sig_path)?).unwrap_or_default();
    let sig = minisign::SignatureBox::from_string(&sig_text).map_err(|e| {
        SignatureError::Mismatch(format!("{}: not a signature: {e}", sig_path.display()))
    })?;
    minisign::verify(&pk, &sig, Cursor::new(bytes), true, false, false).map_err(|e| {
        SignatureError::Mismatch(format!(
            "{}: the signature does not match {} with this public key: {e}",
            sig_path.display(),
            path.display()
        ))
    })?;
    Ok(key_id(sig.keynum()))
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
        audit::append(
            &report,
            &mut audit::AuditRecord {
                event: "start".into(),
                run_id: "run1".into(),
                ..audit::AuditRecord::default()
            },
        )
        .unwrap();
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
        let checked = check(&report, &public).unwrap();
        assert_eq!((checked.chain.as_str(), checked.unsigned.len()), ("c0", 0));
        assert_eq!(checked.key_id, key.id());
        // Appended after signing: the signed part still checks, and the run is named.
        std::fs::write(&report, "a,b\n1,2\n3,4\n").unwrap();
        audit::append(
            &report,
            &mut audit::AuditRecord {
                event: "start".into(),
                run_id: "run2".into(),
                command: "verify".into(),
                ..audit::AuditRecord::default()
            },
        )
        .unwrap();
        let checked = check(&report, &public).unwrap();
        assert_eq!(checked.unsigned, vec!["verify run2 at ".to_string()]);
        assert_eq!(checked.exit_code(), exit::PARTLY_SIGNED);
        std::fs::write(&report, "a,b\n1,3\n").unwrap();
        let err = check(&report, &public).unwrap_err().to_string();
        assert!(
            err.starts_with("r.csv changed after it was signed"),
            "{err}"
        );
    }
}
