//! Files tasctl owns or reads for secrets: written atomically under an advisory lock, read
//! only when small and regular.
//!
//! A write resolves symlinks (a dotfiles link stays a link), refuses what is not a regular
//! file, creates a temporary file exclusively with a random name and the final mode in the
//! target's own directory, writes and syncs it, then renames it over the target. `update`
//! holds a lock beside the file while it re-reads, changes and writes, so two tasctl
//! processes editing one profile never lose a change.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Secrets and certificates are read only up to this size.
pub const SMALL_FILE_LIMIT: u64 = 1024 * 1024;

/// The file a path finally names, following symlinks (also a dangling one: writing creates
/// what it points to).
pub fn resolve(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)
                    .with_context(|| format!("cannot read the link {}", current.display()))?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(current),
        }
    }
    bail!("{}: too many levels of symbolic links", path.display())
}

/// Refuses a path that exists and is not a regular file (`/dev/null`, a FIFO, a directory).
fn check_regular(path: &Path, shown: &Path) -> Result<Option<std::fs::Metadata>> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Some(meta)),
        Ok(_) => bail!(
            "{} is not a regular file; tasctl writes only regular files (name another path)",
            shown.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", shown.display())),
    }
}

/// Fails now, before any work, when `path` could not be written: it exists and is not a
/// regular file.
pub fn check_writable(path: &Path) -> Result<()> {
    check_regular(&resolve(path)?, path).map(|_| ())
}

/// An advisory lock beside a file, held until dropped.
pub struct Lock {
    _file: File,
}

/// Takes the lock for `target` (already resolved): `.<name>.lock` in its directory. Waits for
/// another tasctl that holds it; such a holder keeps it for the milliseconds a write takes.
fn lock(target: &Path) -> Result<Lock> {
    let dir = parent(target);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let path = dir.join(format!(".{name}.lock"));
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    file.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(Lock { _file: file })
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Reads a file's text, or `None` when it does not exist.
fn read_text(path: &Path, shown: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", shown.display())),
    }
}

/// Re-reads the file under its lock, lets `change` make the new text from the old (`None`:
/// no file yet), and writes it atomically unless `change` returns no text. The new file keeps
/// the old one's mode; a new file gets `new_mode`.
pub fn update<T>(
    path: &Path,
    new_mode: u32,
    change: impl FnOnce(Option<&str>) -> Result<(Option<String>, T)>,
) -> Result<T> {
    let target = resolve(path)?;
    check_regular(&target, path)?;
    let _lock = lock(&target)?;
    // Under the lock: what another writer may have written meanwhile is what we change.
    let meta = check_regular(&target, path)?;
    let old = read_text(&target, path)?;
    let (text, result) = change(old.as_deref())?;
    if let Some(text) = text {
        replace(
            &target,
            path,
            text.as_bytes(),
            mode_of(meta.as_ref(), new_mode),
        )?;
    }
    Ok(result)
}

/// Writes `bytes` in place of the file at `path` (symlinks followed), atomically, with `mode`
/// for a new file (an existing one keeps its own).
pub fn write_atomic(path: &Path, bytes: &[u8], new_mode: u32) -> Result<()> {
    let target = resolve(path)?;
    let meta = check_regular(&target, path)?;
    std::fs::create_dir_all(parent(&target))
        .with_context(|| format!("cannot create {}", parent(&target).display()))?;
    replace(&target, path, bytes, mode_of(meta.as_ref(), new_mode))
}

#[cfg(unix)]
fn mode_of(meta: Option<&std::fs::Metadata>, new_mode: u32) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.map_or(new_mode, |m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_of(_meta: Option<&std::fs::Metadata>, new_mode: u32) -> u32 {
    new_mode
}

/// The temporary file (exclusive, random name, final mode before any byte), synced, renamed.
fn replace(target: &Path, shown: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = parent(target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let written = tmp.write_all(bytes).and_then(|()| tmp.as_file().sync_all());
    written.with_context(|| format!("cannot write {}", shown.display()))?;
    tmp.persist(target)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", shown.display()))?;
    // The rename itself reaches the disk with the directory.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads a secret or a certificate: a regular file of at most 1 MiB.
pub fn read_small(path: &Path, what: &str) -> Result<Vec<u8>> {
    let file =
        File::open(path).with_context(|| format!("cannot read the {what} {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read the {what} {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "the {what} {} is not a regular file; name a file that holds it",
            path.display()
        );
    }
    if meta.len() > SMALL_FILE_LIMIT {
        bail!(
            "the {what} {} is larger than 1 MiB; is it the right file?",
            path.display()
        );
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(SMALL_FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read the {what} {}", path.display()))?;
    if bytes.len() as u64 > SMALL_FILE_LIMIT {
        bail!("the {what} {} is larger than 1 MiB", path.display());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    #[cfg(unix)]
    fn new_files_are_private_and_old_modes_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/p.toml");
        write_atomic(&path, b"a", 0o600).unwrap();
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o640))
            .unwrap();
        update(&path, 0o600, |old| {
            Ok((Some(format!("{}b", old.unwrap())), ()))
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "ab");
        assert_eq!(mode(&path), 0o640);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    #[cfg(unix)]
    fn links_stay_links_and_odd_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles/profile.toml");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("profile.toml");
        std::os::unix::fs::symlink("dotfiles/profile.toml", &link).unwrap();
        write_atomic(&link, b"new", 0o600).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        let err = write_atomic(Path::new("/dev/null"), b"x", 0o600).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = write_atomic(dir.path(), b"x", 0o600).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn small_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; SMALL_FILE_LIMIT as usize + 1]).unwrap();
        assert!(read_small(&big, "password file").is_err());
        let err = read_small(dir.path(), "password file").unwrap_err();
        assert!(format!("{err:#}").contains("regular file"), "{err:#}");
        #[cfg(unix)]
        {
            let err = read_small(Path::new("/dev/zero"), "password file").unwrap_err();
            assert!(format!("{err:#}").contains("regular file"), "{err:#}");
        }
        std::fs::write(&big, "ok").unwrap();
        assert_eq!(read_small(&big, "password file").unwrap(), b"ok");
    }
}
