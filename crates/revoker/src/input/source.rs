//! The input file, copied once into a private temporary file as it is read, with its SHA-256.
//!
//! A run reads its input twice: once to validate every row before anything is sent, once to send.
//! Reading the user's file twice would send whatever it holds by the second read (a file truncated,
//! replaced by `mv`, appended to, or a FIFO serving new content). Both passes read the private copy
//! instead, so what is sent is exactly what was validated, and `-i <(cat file)` works. The copy is an
//! unnamed file: the kernel removes it however the process ends.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::InputError;

/// An input file: its name for messages, and the private copy both passes read.
pub struct Source {
    name: String,
    /// The path the user gave; `None` for standard input.
    path: Option<PathBuf>,
    copy: Arc<File>,
    len: u64,
    sha256: String,
    rereadable: bool,
    /// Rows read after the file's (a job ledger's owed rows the file does not list): they are
    /// not part of the file's bytes or its SHA-256.
    extra: Vec<super::Entry>,
}

/// Writes into the copy and the digest at once.
struct Tee<'a> {
    file: &'a mut File,
    hash: Sha256,
    len: u64,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The copy re-encoded as UTF-8 when it starts with a UTF-16 byte-order mark; `None` otherwise.
fn utf16_as_utf8(copy: &File) -> Result<Option<File>, String> {
    let mut head = [0u8; 2];
    if copy.read_at(&mut head, 0).map_err(|e| e.to_string())? < 2 {
        return Ok(None);
    }
    let little = match head {
        [0xFF, 0xFE] => true,
        [0xFE, 0xFF] => false,
        _ => return Ok(None),
    };
    let mut bytes = Vec::new();
    (&*copy)
        .seek(SeekFrom::Start(2))
        .and_then(|_| (&*copy).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() % 2 == 1 {
        return Err("UTF-16 text with an odd number of bytes: the file is cut".into());
    }
    let units = bytes.chunks_exact(2).map(|p| {
        if little {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        }
    });
    let text: String = char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|e| {
            format!("not valid UTF-16 ({e}): save the export as UTF-8 text, e.g. \"CSV UTF-8\"")
        })?;
    let mut out = tempfile::tempfile().map_err(|e| e.to_string())?;
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(Some(out))
}

impl Source {
    /// Reads `path` (standard input when `-`) into the private copy.
    pub fn open(path: &Path) -> Result<Source, InputError> {
        let stdin = path.as_os_str() == "-";
        let name = if stdin {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        let io = |e: std::io::Error| InputError::Io {
            file: name.clone(),
            cause: e,
        };
        let mut copy = tempfile::tempfile().map_err(|e| InputError::Io {
            file: name.clone(),
            cause: std::io::Error::new(
                e.kind(),
                format!("cannot create the private copy of the input: {e}"),
            ),
        })?;
        let mut tee = Tee {
            file: &mut copy,
            hash: Sha256::new(),
            len: 0,
        };
        let rereadable = if stdin {
            std::io::copy(&mut std::io::stdin().lock(), &mut tee).map_err(io)?;
            false
        } else {
            let meta = std::fs::metadata(path).map_err(io)?;
            if meta.is_dir() {
                return Err(InputError::Malformed {
                    file: name,
                    line: 0,
                    reason: "is a directory, not a file".into(),
                });
            }
            let mut file = File::open(path).map_err(io)?;
            std::io::copy(&mut file, &mut tee).map_err(io)?;
            meta.is_file()
        };
        let sha256 = format!("{:x}", tee.hash.finalize());
        let mut len = tee.len;
        // Excel's "Unicode Text" is UTF-16 with a byte-order mark: both passes read it as UTF-8.
        if let Some(utf8) = utf16_as_utf8(&copy).map_err(|reason| InputError::Malformed {
            file: name.clone(),
            line: 1,
            reason,
        })? {
            copy = utf8;
            len = copy.metadata().map_err(io)?.len();
        }
        let source = Source {
            name,
            path: (!stdin).then(|| path.to_path_buf()),
            copy: Arc::new(copy),
            len,
            sha256,
            rereadable,
            extra: Vec::new(),
        };
        source.refuse_credentials()?;
        Ok(source)
    }

    /// The name used in messages (`<stdin>` for standard input).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path the user gave, if it was a path.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// SHA-256 of the bytes read, in lower-case hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the input can be read again later from its path (a regular file), so that a stopped
    /// run's rows not yet attempted can be found by `revoker report --failures` and `--resume`.
    pub fn rereadable(&self) -> bool {
        self.rereadable
    }

    /// The source with `rows` read after the file's own, by every pass.
    pub fn with_extra(mut self, rows: Vec<super::Entry>) -> Source {
        self.extra = rows;
        self
    }

    /// The rows read after the file's own.
    pub fn extra(&self) -> &[super::Entry] {
        &self.extra
    }

    /// Where the row of `line` comes from, for messages: `NAME:LINE` for the file's own rows; a
    /// ledger's owed row has no line in the file, so it is named as such (its number counts on
    /// from the file's last line, and only the report's `line` column keeps it).
    pub fn place(&self, line: u64) -> String {
        match self.extra.first() {
            Some(first) if line >= first.line => format!(
                "{}: owed row {} of the job's ledger (not in {})",
                self.name,
                line - first.line + 1,
                self.name
            ),
            _ => format!("{}:{line}", self.name),
        }
    }

    /// A reader of the copy from its first byte.
    pub(super) fn reader(&self) -> BufReader<CopyReader> {
        BufReader::with_capacity(
            256 * 1024,
            CopyReader {
                file: self.copy.clone(),
                pos: 0,
            },
        )
    }

    /// Writes the private copy to `dest` (owner-only), so that a stopped run whose input cannot be
    /// read again (standard input, a FIFO) can still be resumed.
    pub fn keep_copy(&self, dest: &Path) -> std::io::Result<()> {
        let mut out = match crate::fsx::create_new(dest) {
            Ok(out) => out,
            // An earlier stop kept the same input (a resume reads the same SHA-256): keep it.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return self.same_copy(dest);
            }
            Err(e) => return Err(e),
        };
        std::io::copy(&mut self.reader(), &mut out)?;
        out.sync_all()
    }

    /// Whether `dest`, already there, is a regular file holding exactly this input.
    fn same_copy(&self, dest: &Path) -> std::io::Result<()> {
        use sha2::Digest as _;
        let meta = std::fs::symlink_metadata(dest)?;
        let kept = meta.file_type().is_file()
            && format!("{:x}", sha2::Sha256::digest(std::fs::read(dest)?)) == self.sha256();
        if kept {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "{} exists and is not a copy of this input",
                dest.display()
            )))
        }
    }

    pub(super) fn malformed(&self, line: u64, reason: impl Into<String>) -> InputError {
        InputError::Malformed {
            file: self.name.clone(),
            line,
            reason: reason.into(),
        }
    }

    pub(super) fn io_error(&self, e: std::io::Error) -> InputError {
        InputError::Io {
            file: self.name.clone(),
            cause: e,
        }
    }

    /// The extension of the path the user gave, lower-cased.
    pub(super) fn extension(&self) -> Option<String> {
        self.path
            .as_ref()?
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
    }

    /// A credentials file given as the input would have its private key quoted back in messages
    /// about bad rows; such a file is refused as a whole, quoting nothing from it.
    fn refuse_credentials(&self) -> Result<(), InputError> {
        const NEEDLES: [&str; 4] = [
            "private_key",
            "private_api_key",
            "client_secret",
            "privateApiKey",
        ];
        let mut reader = self.reader();
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            line.clear();
            let n = std::io::BufRead::read_until(&mut reader, b'\n', &mut line)
                .map_err(|e| self.io_error(e))?;
            if n == 0 {
                return Ok(());
            }
            number += 1;
            let text = line.trim_ascii_start();
            let text = text.strip_prefix(b"\"").unwrap_or(text);
            for needle in NEEDLES {
                if let Some(rest) = text.strip_prefix(needle.as_bytes()) {
                    let rest = rest.strip_prefix(b"\"").unwrap_or(rest).trim_ascii_start();
                    if rest.starts_with(b"=") || rest.starts_with(b":") {
                        return Err(self.malformed(
                            number,
                            format!(
                                "this looks like a credentials file (it sets {needle}), not a list of keys to revoke; nothing from it is shown"
                            ),
                        ));
                    }
                }
            }
        }
    }
}

/// Reads the private copy with positional reads, so each pass has its own position.
pub(crate) struct CopyReader {
    file: Arc<File>,
    pos: u64,
}

impl Read for CopyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for CopyReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.pos = match pos {
            SeekFrom::Start(p) => p,
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
            SeekFrom::End(d) => self.file.metadata()?.len().saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}
