//! Writing PKI material to disk atomically with the modes kubeadm uses.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::authority::IssuedCert;
use crate::error::{Error, Result};

/// Mode of certificates and public keys.
pub const PUBLIC_MODE: u32 = 0o644;
/// Mode of private keys and kubeconfigs.
pub const PRIVATE_MODE: u32 = 0o600;

/// Writes `NAME.crt` (0644) and `NAME.key` (0600) into `dir`, creating it if needed, and returns
/// their paths. Each file is replaced atomically; the key is written first so a reader that sees
/// the new certificate also finds its key.
pub fn write_pem_files(dir: &Path, name: &str, cert: &IssuedCert) -> Result<(PathBuf, PathBuf)> {
    fs::create_dir_all(dir).map_err(|source| Error::WriteFailed { path: dir.to_owned(), source })?;
    let cert_path = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    write_file(&key_path, cert.key_pem.as_bytes(), PRIVATE_MODE)?;
    write_file(&cert_path, cert.cert_pem.as_bytes(), PUBLIC_MODE)?;
    Ok((cert_path, key_path))
}

/// [`write_atomic`] with the path in the error.
pub(crate) fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    write_atomic(path, contents, mode).map_err(|source| Error::WriteFailed { path: path.to_owned(), source })
}

/// Replaces `path` with `contents`: writes a temporary file beside it with `mode`, syncs it and
/// renames it over `path`, so readers see the old file or the new one, never a torn one.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?
        .to_string_lossy();
    let tmp = dir.join(format!(".{file_name}.tmp-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
        // The umask may have narrowed the mode at creation; set it exactly.
        file.set_permissions(Permissions::from_mode(mode))?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    // Make the rename itself durable.
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_content_and_sets_mode_leaving_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.key");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o640).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec!["x.key"], "only the target file should remain");
    }

    #[test]
    fn write_atomic_into_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join("missing/x"), b"", 0o600).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
