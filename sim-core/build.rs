//! Names the build: the package version and, in a git checkout, the
//! commit it was built from (`0.1.0+g1a2b3c4d5e6f`). Where the commit
//! cannot tell two builds apart — uncommitted changes, or no git — a hash
//! of what decides the engine's behaviour follows (the sources of
//! `sim-core` and `strategies` and the lock file): `0.1.0+g1a2b3c4d5e6f.
//! dirty.e0123abcd`, `0.1.0+e0123abcd`. Results, manifests, baselines and
//! journals carry it, so runs of two builds are never taken as one.
//! `FLEETSIM_COMMIT` is the commit and its date for `fleetsim --version`
//! (`f6ed27b 2026-12-07`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// FNV-1a over every file under `roots`, in path order, with its path.
fn engine_hash(roots: &[PathBuf]) -> u64 {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for r in roots {
        if r.is_dir() {
            walk(r, &mut files);
        } else if r.is_file() {
            files.push(r.clone());
        }
    }
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for f in &files {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        eat(name.unwrap_or_default().as_bytes());
        eat(&std::fs::read(f).unwrap_or_default());
    }
    h
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// What `fleetsim --version` says of the build, as cargo does: the
/// commit and its date (`f6ed27b 2026-12-07`, the commit's own date, so
/// two builds of one commit say the same), `-dirty` after the commit when
/// tracked files had changes, `no git` outside a checkout.
fn commit_line(dirty: impl Fn() -> bool) -> String {
    let Some(line) = git(&["log", "-1", "--format=%h %cs", "HEAD"]).filter(|l| !l.is_empty())
    else {
        return "no git".into();
    };
    match line.split_once(' ') {
        Some((hash, date)) if dirty() => format!("{hash}-dirty {date}"),
        _ => line,
    }
}

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let roots = [
        here.join("src"),
        here.join("Cargo.toml"),
        here.join("../strategies/src"),
        here.join("../strategies/Cargo.toml"),
        here.join("../Cargo.lock"),
    ];
    let engine = || format!("e{:08x}", engine_hash(&roots) as u32);
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    let dirty =
        || git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let id = match &commit {
        Some(c) if !c.is_empty() => {
            if dirty() {
                format!("{version}+g{c}.dirty.{}", engine())
            } else {
                format!("{version}+g{c}")
            }
        }
        _ => format!("{version}+{}", engine()),
    };
    for r in &roots {
        println!("cargo:rerun-if-changed={}", r.display());
    }
    println!("cargo:rustc-env=FLEETSIM_BUILD={id}");
    println!("cargo:rustc-env=FLEETSIM_COMMIT={}", commit_line(dirty));
    // Built again when the commit or the tracked files change. Only paths
    // that exist are named: cargo reruns a script whose named file is
    // missing on every build.
    let mut watched = vec!["HEAD".to_string(), "index".into(), "packed-refs".into()];
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(r);
    }
    for f in watched {
        if let Some(p) = git(&["rev-parse", "--git-path", &f]) {
            if Path::new(&p).exists() {
                let p = Path::new(&p);
                let p = if p.is_relative() {
                    here.join(p)
                } else {
                    p.to_path_buf()
                };
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
