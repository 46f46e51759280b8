//! The signing secret when `AUTH_JWT_SECRET` is unset: generated once and kept in a file beside
//! the database, readable by its owner only, so tokens survive a restart.

use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use auth_core::SigningSecret;

/// The file the generated secret is kept in: the database path with `.secret` appended
/// (`./auth.db` → `./auth.db.secret`).
pub fn secret_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".secret");
    PathBuf::from(name)
}

/// Reads the secret kept for `db_path`, or generates one (32 random bytes, written as 64 hex
/// characters, the form `AUTH_JWT_SECRET` takes too) into a new file with mode 0600 and logs
/// where, once.
pub fn load_or_create_secret(db_path: &Path) -> Result<SigningSecret> {
    let path = secret_path(db_path);
    match create_owner_only(&path) {
        Ok(mut file) => {
            let hex: String = SigningSecret::generate()
                .expose()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            file.write_all(hex.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write the signing secret to {}", path.display()))?;
            tracing::info!(
                path = %path.display(),
                "generated a signing secret and stored it (owner-only); set AUTH_JWT_SECRET to use your own"
            );
            Ok(SigningSecret::new(hex.into_bytes())?)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => read_secret(&path),
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot create {} for the signing secret (set AUTH_JWT_SECRET, or AUTH_DB to a writable place)",
                path.display()
            )
        }),
    }
}

fn read_secret(path: &Path) -> Result<SigningSecret> {
    warn_if_readable_by_others(path);
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the signing secret from {}", path.display()))?;
    let secret = SigningSecret::new(text.trim().as_bytes().to_vec())
        .with_context(|| format!("the signing secret in {} is too short", path.display()))?;
    tracing::debug!(path = %path.display(), "using the stored signing secret");
    Ok(secret)
}

/// Creates `path`, failing if it exists (so two servers starting at once agree on one
/// secret), readable and writable by its owner only.
fn create_owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the signing secret file is readable by others; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reads_the_same_secret() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("auth.db");
        let first = load_or_create_secret(&db).unwrap();
        let second = load_or_create_secret(&db).unwrap();
        assert_eq!(first.expose(), second.expose());
        assert_eq!(first.expose().len(), 64);
        let path = secret_path(&db);
        assert_eq!(path, dir.path().join("auth.db.secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn refuses_a_truncated_secret_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("auth.db");
        std::fs::write(secret_path(&db), "short").unwrap();
        let err = load_or_create_secret(&db).unwrap_err();
        assert!(format!("{err:#}").contains("too short"), "{err:#}");
    }
}
