//! Names the build: the package version and, in a git checkout, the
//! commit it was built from (`0.1.0+g1a2b3c4d5e6f`, `.dirty` when the
//! tracked files differ from it). Results, manifests, baselines and
//! journals carry it, so runs of two builds are never taken as one.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    let id = match commit {
        Some(c) if !c.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            format!("{version}+g{c}{}", if dirty { ".dirty" } else { "" })
        }
        _ => version.to_string(),
    };
    println!("cargo:rustc-env=FLEETSIM_BUILD={id}");
    // Built again when the commit or the tracked files change.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let dir = Path::new(&dir);
        for f in ["HEAD", "index", "packed-refs"] {
            println!("cargo:rerun-if-changed={}", dir.join(f).display());
        }
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", dir.join(r).display());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
