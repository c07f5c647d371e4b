//! Writing result files so that a reader (or a killed process) never
//! leaves half of one.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes several files as one set: each is written and synced to a
/// temporary file first; only when all are, the previous set's `last` is
/// removed, the others are renamed into place, and `last` comes last. A
/// failure while writing leaves the previous files as they were; a
/// failure while renaming leaves no `last`. Either way no temporary file
/// remains, and a reader that finds `last` finds a whole set of one run
/// (never a new series beside an old result). Returns the paths written.
pub fn write_set(dir: &Path, files: &[(&str, &[u8])], last: &str) -> io::Result<Vec<PathBuf>> {
    let tmp = |name: &str| dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let staged: Result<(), (io::Error, &str)> = files.iter().try_for_each(|(name, bytes)| {
        let write = || -> io::Result<()> {
            let mut f = std::fs::File::create(tmp(name))?;
            f.write_all(bytes)?;
            f.sync_all()
        };
        write().map_err(|e| (e, *name))
    });
    let clean = || {
        for (name, _) in files {
            let _ = std::fs::remove_file(tmp(name));
        }
    };
    let fail = |e: io::Error, name: &str| {
        io::Error::new(
            e.kind(),
            format!("cannot write {}: {e}", dir.join(name).display()),
        )
    };
    if let Err((e, name)) = staged {
        clean();
        return Err(fail(e, name));
    }
    match std::fs::remove_file(dir.join(last)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            clean();
            return Err(fail(e, last));
        }
    }
    let order = (files.iter().filter(|f| f.0 != last)).chain(files.iter().filter(|f| f.0 == last));
    let mut written = Vec::new();
    for (name, _) in order {
        let target = dir.join(name);
        if let Err(e) = std::fs::rename(tmp(name), &target) {
            clean();
            return Err(fail(e, name));
        }
        written.push(target);
    }
    Ok(written)
}

/// Removes temporary files a killed write left in `dir` (those of
/// [`write_atomic`] and [`write_set`] for `names`), but not those of a
/// process still running (its pid is in the name), where that can be
/// told (`/proc`).
pub fn remove_stale_temporaries(dir: &Path, names: &[&str]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let f = file.to_string_lossy();
        let Some(n) = names
            .iter()
            .find(|n| f.starts_with(&format!(".{n}.")) && f.ends_with(".tmp"))
        else {
            continue;
        };
        let pid = f.get(n.len() + 2..f.len() - 4).unwrap_or("");
        let alive = Path::new("/proc/self").exists()
            && (pid == std::process::id().to_string() || Path::new("/proc").join(pid).exists());
        if !alive {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Writes `bytes` to `dir/name` through a temporary file in the same
/// directory renamed over the target: the file is either the old one or
/// the whole new one, never a part, and a failed write leaves no
/// temporary file behind.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    let target = dir.join(name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io::Error::new(
            e.kind(),
            format!("cannot write {}: {e}", target.display()),
        ));
    }
    Ok(target)
}
