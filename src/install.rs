//! `healthprobe install DIR`: copies the running executable to `DIR/healthprobe`, for images
//! that cannot be rebuilt (a Kubernetes init container filling an `emptyDir`, a one-shot Compose
//! service filling a named volume). Our image is `FROM scratch`: it has no `cp`.
//!
//! The copy is atomic: it is written to a temporary file in DIR (mode 0755), synced, then
//! renamed over `DIR/healthprobe`. A process still running an older copy keeps its own inode;
//! a failure (DIR missing, read-only, full) removes the temporary file, so nothing half-written
//! is left behind and an existing `DIR/healthprobe` stays as it was.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The name the copy gets in DIR, whatever this executable is called.
const NAME: &str = "healthprobe";

/// What was installed: the path and its size in bytes.
#[derive(Debug)]
pub(crate) struct Installed {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Why the copy failed: the step and the operating system's reason.
#[derive(Debug)]
pub(crate) struct InstallError {
    what: String,
    source: io::Error,
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The operating system's own words, as `cp` prints them: "no such file or directory",
        // "read-only file system", "no space left on device", "permission denied".
        let text = self.source.to_string();
        let text = text.split(" (os error").next().unwrap_or(&text);
        write!(f, "{}: {}", self.what, text.to_lowercase())
    }
}

pub(crate) fn fail(what: String) -> impl FnOnce(io::Error) -> InstallError {
    move |source| InstallError { what, source }
}

/// Copies this executable to `dir/healthprobe`, atomically.
pub(crate) fn install(dir: &Path) -> Result<Installed, InstallError> {
    let meta = fs::metadata(dir).map_err(fail(format!("cannot install into {}", dir.display())))?;
    if !meta.is_dir() {
        return Err(InstallError {
            what: format!("cannot install into {}", dir.display()),
            source: io::Error::from(io::ErrorKind::NotADirectory),
        });
    }
    let dest = dir.join(NAME);
    let bytes = write_atomically(&dest, &mut open_self()?)?;
    Ok(Installed { path: dest, bytes })
}

/// This executable, open for reading. /proc/self/exe opens the very file this process runs,
/// even when its path has been renamed over since; current_exe() is the fallback where /proc is
/// not mounted.
pub(crate) fn open_self() -> Result<File, InstallError> {
    File::open("/proc/self/exe")
        .or_else(|_| std::env::current_exe().and_then(File::open))
        .map_err(fail("cannot read this executable".into()))
}

/// Writes `contents` to `dest` (mode 0755) through a temporary file beside it, synced, then
/// renamed over `dest`; on failure the temporary file is removed and `dest` stays as it was.
/// `install` and `seal` write with it.
pub(crate) fn write_atomically(dest: &Path, contents: &mut dyn Read) -> Result<u64, InstallError> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = dest
        .file_name()
        .map_or_else(|| NAME.into(), |n| n.to_string_lossy());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let copied = copy_to(contents, &tmp, &name).and_then(|bytes| {
        fs::rename(&tmp, dest)
            .map(|()| bytes)
            .map_err(fail(format!("cannot rename into {}", dest.display())))
    });
    let bytes = match copied {
        Ok(bytes) => bytes,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    // The rename is durable once the directory is synced; a failure here changes nothing
    // the caller can act on, so it is not an error.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(bytes)
}

fn copy_to(source: &mut dyn Read, tmp: &Path, name: &str) -> Result<u64, InstallError> {
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(tmp)
        .map_err(fail(format!("cannot write in {}", parent(tmp))))?;
    let bytes = io::copy(source, &mut out).map_err(fail(format!(
        "cannot write {} into {}",
        name,
        parent(tmp)
    )))?;
    // The umask may have taken bits off the mode given at creation.
    out.set_permissions(fs::Permissions::from_mode(0o755))
        .and_then(|()| out.flush())
        .and_then(|()| out.sync_all())
        .map_err(fail(format!("cannot write {} into {}", name, parent(tmp))))?;
    Ok(bytes)
}

fn parent(p: &Path) -> String {
    p.parent().unwrap_or(p).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_dir_names_it() {
        let e = install(Path::new("/nonexistent/healthprobe-test")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot install into /nonexistent/healthprobe-test: no such file or directory"
        );
    }
}
