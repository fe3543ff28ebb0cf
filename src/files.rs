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

/// Profiles and scenarios are read only up to this size (a profile of 10 000 devices is
/// about 1 MiB).
pub const TEXT_FILE_LIMIT: u64 = 16 * 1024 * 1024;

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
    read_bounded(path, what, SMALL_FILE_LIMIT)
}

/// Reads a file tasctl was given (a profile, a scenario, a `.dmp`, an image): it is checked to
/// be a regular file of at most `limit` bytes before it is opened, and opened so that nothing
/// can make the open block (a FIFO swapped in meanwhile), so a FIFO, a device node or
/// `/dev/zero` is refused and never blocks or fills memory.
pub fn read_bounded(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>> {
    let cannot = || format!("cannot read the {what} {}", path.display());
    let meta = check_file(path, what, limit)?;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).with_context(cannot)?;
    if !file.metadata().with_context(cannot)?.is_file() {
        return Err(not_regular(path, what));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(cannot)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(path, what, limit));
    }
    Ok(bytes)
}

/// Checks, without opening it, that `path` is a regular file of at most `limit` bytes.
pub fn check_file(path: &Path, what: &str, limit: u64) -> Result<std::fs::Metadata> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read the {what} {}", path.display()))?;
    if !meta.is_file() {
        return Err(not_regular(path, what));
    }
    if meta.len() > limit {
        return Err(too_large(path, what, limit));
    }
    Ok(meta)
}

fn not_regular(path: &Path, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the {what} {} is not a regular file (a FIFO, a device or a folder); name a file",
        path.display()
    )
}

fn too_large(path: &Path, what: &str, limit: u64) -> anyhow::Error {
    anyhow::anyhow!(
        "the {what} {} is larger than {}; is it the right file?",
        path.display(),
        size_words(limit)
    )
}

/// `1 MiB`, `64 KiB`, `16 MiB`: a limit in words.
fn size_words(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * 1024 && b % (1024 * 1024) == 0 => format!("{} MiB", b / (1024 * 1024)),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
}

/// Reads a text file tasctl was given, as `read_bounded` does.
pub fn read_text_bounded(path: &Path, what: &str, limit: u64) -> Result<String> {
    let bytes = read_bounded(path, what, limit)?;
    String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("the {what} {} is not UTF-8 text", path.display()))
}

/// Writes a file in a directory others may write (backups, `--output`): under a temporary
/// name created exclusively with its final mode from the start, synced, then renamed onto the
/// name. Whatever stood at the name (a planted symlink, a file of the wrong mode) is replaced
/// as an entry, never followed or written through.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = parent(path);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        bail!(
            "cannot write {}: a folder stands at that name",
            path.display()
        );
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tasctl.").suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let written = tmp.write_all(bytes).and_then(|()| tmp.as_file().sync_all());
    written.with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Fails now, before any work, when files could not be created in `dir` (made if missing).
pub fn check_dir_writable(dir: &Path) -> Result<()> {
    let fail = || {
        format!(
            "cannot write backups to {} (check that it is a folder you may write, or name another with --dir)",
            dir.display()
        )
    };
    std::fs::create_dir_all(dir).with_context(fail)?;
    tempfile::Builder::new()
        .prefix(".tasctl-check.")
        .tempfile_in(dir)
        .with_context(fail)?;
    Ok(())
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
        update(&path, 0o600, |_| Ok((Some("a".into()), ()))).unwrap();
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
        update(&link, 0o600, |_| Ok((Some("new".into()), ()))).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        let err = update(Path::new("/dev/null"), 0o600, |_| {
            Ok((Some("x".into()), ()))
        })
        .unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = update(dir.path(), 0o600, |_| Ok((Some("x".into()), ()))).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    #[cfg(unix)]
    fn new_files_never_go_through_what_stands_at_their_name() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let planted = dir.path().join("backup.dmp");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_new(&planted, b"secret", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&planted).unwrap(), "secret");
        assert!(
            !std::fs::symlink_metadata(&planted)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let open = dir.path().join("open.dmp");
        std::fs::write(&open, "old").unwrap();
        std::fs::set_permissions(&open, PermissionsExt::from_mode(0o666)).unwrap();
        write_new(&open, b"secret", 0o600).unwrap();
        let mode = std::fs::metadata(&open).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    #[cfg(unix)]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let err = read_bounded(&fifo, "settings file", 64 * 1024).unwrap_err();
        assert!(format!("{err:#}").contains("not a regular file"), "{err:#}");
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
