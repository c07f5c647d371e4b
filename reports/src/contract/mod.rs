//! Output contracts: the format version of every machine-readable output,
//! the one key that names the fleetsim build, and how paths are written
//! so that no output holds a path of the machine that made it.
//!
//! Each output has its own `formatVersion`, an integer from 1. It goes up
//! by one when a reader written for the old version could misread the new
//! one: a key, column or field removed or renamed, a type or unit changed,
//! a meaning changed. Adding a key or a column does not change it. The
//! schemas and column tables are shipped in `reports/contracts/`.

use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};

pub mod check;
pub mod schemas;
pub mod tables;

/// The key every output names the fleetsim build with.
pub const FLEETSIM_VERSION_KEY: &str = "fleetsimVersion";
/// The key every output gives its format version with.
pub const FORMAT_VERSION_KEY: &str = "formatVersion";

/// `result.json` and `run --json`.
pub const RESULT: u32 = sim_core::RESULT_FORMAT_VERSION;
/// A sweep's `manifest.json`.
pub const MANIFEST: u32 = 1;
/// Each line of a sweep's `runs.jsonl`.
pub const RUNS: u32 = 1;
/// A sweep's `results.csv`, `results.parquet` and `points.csv`.
pub const TABLES: u32 = 1;
/// `matrix.json` and `compare --format json`.
pub const MATRIX: u32 = 1;
/// `robust.json` and `compare --scenarios --format json`.
pub const ROBUST: u32 = 1;
/// `matrix.csv`, `robust.csv` and `compare --format csv`.
pub const MATRIX_CSV: u32 = 1;
/// `gate --json`.
pub const GATE: u32 = 1;
/// A gate baseline (`gate --update-baseline`).
pub const BASELINE: u32 = 1;
/// `plan.json` and `plan --json`.
pub const PLAN: u32 = 1;
/// `max-load.json` and `plan --max-load --json`.
pub const MAX_LOAD: u32 = 1;
/// `import --json`.
pub const IMPORT: u32 = 1;
/// `timeseries.csv` and `scaling.csv` of `run --out`.
pub const RUN_CSV: u32 = 1;
/// A request trace (`run --trace-requests`), CSV or Parquet.
pub const TRACE: u32 = 1;
/// `fleetsim fit --json`.
pub const FIT: u32 = 1;
/// `calibration.json` and `fleetsim calibrate --json`.
pub const CALIBRATION: u32 = 1;

/// One file an output directory holds, as its manifest lists it: what
/// carries the version of a CSV file, which has no place for one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    /// The file's name, relative to the directory.
    pub name: String,
    /// `json`, `jsonl`, `csv` or `parquet`.
    pub format: String,
    /// The file's format version.
    pub format_version: u32,
}

impl FileInfo {
    /// `name`, its format told by its extension.
    pub fn new(name: &str, format_version: u32) -> FileInfo {
        let format = name.rsplit('.').next().unwrap_or_default().to_string();
        FileInfo {
            name: name.to_string(),
            format,
            format_version,
        }
    }
}

/// The files of a finished sweep (whole or merged), in the order they are
/// written.
pub fn sweep_files() -> Vec<FileInfo> {
    vec![
        FileInfo::new("runs.jsonl", RUNS),
        FileInfo::new("results.csv", TABLES),
        FileInfo::new("results.parquet", TABLES),
        FileInfo::new("points.csv", TABLES),
    ]
}

/// The Parquet key-value metadata every Parquet output carries.
pub fn parquet_metadata(format_version: u32) -> [(&'static str, String); 2] {
    [
        (FORMAT_VERSION_KEY, format_version.to_string()),
        (FLEETSIM_VERSION_KEY, sim_core::VERSION.to_string()),
    ]
}

/// `path` as an output written into `dir` names it: relative to `dir`
/// when `path` is absolute (or both resolve), else as given. Never the
/// absolute path of the machine that wrote it.
pub fn relative_to(path: &Path, dir: &Path) -> String {
    if !path.is_absolute() {
        return slash(path);
    }
    match (resolve(path), resolve(dir)) {
        (Some(p), Some(d)) => slash(&diff(&p, &d)),
        // Nothing to resolve against: the file name alone.
        _ => path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
    }
}

/// `p` made absolute and resolved as far as it exists: its deepest
/// existing ancestor canonicalized (links and `..` followed), the rest
/// appended as written. An output directory that is not created yet
/// still resolves, so a command recorded before it is made names the
/// right files.
fn resolve(p: &Path) -> Option<PathBuf> {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(p)
    };
    let mut rest = Vec::new();
    let mut at = abs.as_path();
    loop {
        if let Ok(real) = at.canonicalize() {
            let mut out = real;
            for c in rest.iter().rev() {
                match c {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::CurDir => {}
                    other => out.push(other),
                }
            }
            return Some(out);
        }
        rest.push(at.components().next_back()?);
        at = at.parent()?;
    }
}

fn slash(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

/// `path` relative to `base`, both absolute and resolved.
fn diff(path: &Path, base: &Path) -> PathBuf {
    let p: Vec<Component<'_>> = path.components().collect();
    let b: Vec<Component<'_>> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    out
}

/// The command line as an output records it: the program as users type
/// it (`fleetsim`), arguments quoted for a shell where needed, and every
/// absolute path made relative to `dir` (so the command reads from the
/// output directory).
pub fn command_line(args: &[String], dir: &Path) -> String {
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 {
                return "fleetsim".to_string();
            }
            let a = if Path::new(a).is_absolute() {
                relative_to(Path::new(a), dir)
            } else {
                a.clone()
            };
            if a.is_empty()
                || a.contains(|c: char| c.is_whitespace() || "\"'$`\\*?[]{}|&;<>()#!".contains(c))
            {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_become_relative_to_the_output() {
        let tmp = std::env::temp_dir().join(format!("fleetsim-contract-{}", std::process::id()));
        let out = tmp.join("a").join("out");
        std::fs::create_dir_all(&out).unwrap();
        let file = tmp.join("b.json");
        std::fs::write(&file, "{}").unwrap();
        assert_eq!(relative_to(&file, &out), "../../b.json");
        assert_eq!(relative_to(&out, &out), ".");
        assert_eq!(relative_to(Path::new("x/y.json"), &out), "x/y.json");
        let missing = relative_to(Path::new("/no/such/f.json"), &out);
        assert!(missing.starts_with("../") && missing.ends_with("/no/such/f.json"));
        // An output directory not made yet resolves all the same.
        let later = tmp.join("a").join("not-yet");
        assert_eq!(relative_to(&file, &later), "../../b.json");
        assert_eq!(relative_to(&later, &later), ".");
        let args: Vec<String> = [
            "/usr/bin/fleetsim",
            "sweep",
            file.to_str().unwrap(),
            "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([out.display().to_string()])
        .collect();
        let line = command_line(&args, &out);
        assert_eq!(line, "fleetsim sweep ../../b.json --out .");
        assert!(!line.contains(tmp.to_str().unwrap()));
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    const BEGIN: &str = "<!-- column tables: generated from the code, checked by a test -->\n";
    const END: &str = "<!-- end of column tables -->\n";

    /// The shipped contracts are what the code writes: the generated
    /// `runs.schema.json`, the column tables in `README.md`, and the
    /// format version every schema states. `FLEETSIM_BLESS=1` rewrites
    /// the generated parts.
    #[test]
    fn shipped_contracts_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts");
        let runs = serde_json::to_string_pretty(&schemas::runs_schema()).unwrap() + "\n";
        let readme_path = dir.join("README.md");
        let readme = std::fs::read_to_string(&readme_path).unwrap();
        let (head, rest) = readme
            .split_once(BEGIN)
            .expect("the README marks its tables");
        let (_, tail) = rest
            .split_once(END)
            .expect("the README marks the end of its tables");
        let current = format!("{head}{BEGIN}{}{END}{tail}", tables::tables_markdown());
        if std::env::var_os("FLEETSIM_BLESS").is_some() {
            std::fs::write(dir.join("runs.schema.json"), &runs).unwrap();
            std::fs::write(&readme_path, &current).unwrap();
        }
        let readme = std::fs::read_to_string(&readme_path).unwrap();
        let again =
            "regenerate with FLEETSIM_BLESS=1 cargo test -p fleetsim-reports --lib contract";
        let shipped = std::fs::read_to_string(dir.join("runs.schema.json")).unwrap();
        assert!(shipped == runs, "runs.schema.json is stale: {again}");
        assert!(
            readme == current,
            "the column tables in contracts/README.md are stale: {again}"
        );
        let versions = [
            ("runs.schema.json", RUNS),
            ("result.schema.json", RESULT),
            ("manifest.schema.json", MANIFEST),
            ("matrix.schema.json", MATRIX),
            ("robust.schema.json", ROBUST),
            ("gate.schema.json", GATE),
            ("baseline.schema.json", BASELINE),
            ("plan.schema.json", PLAN),
            ("max-load.schema.json", MAX_LOAD),
            ("import.schema.json", IMPORT),
            ("fit.schema.json", FIT),
            ("calibration.schema.json", CALIBRATION),
        ];
        assert_eq!(versions.len(), schemas::SHIPPED.len());
        for (name, version) in versions {
            assert!(schemas::SHIPPED.contains(&name), "{name}");
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["properties"]["formatVersion"]["const"], version, "{name}");
            assert!(readme.contains(&format!("`{name}`")), "README lists {name}");
        }
    }

    #[test]
    fn files_name_their_format() {
        let f = sweep_files();
        assert_eq!(f[0].format, "jsonl");
        assert_eq!(f[2].format, "parquet");
        assert!(f.iter().all(|f| f.format_version >= 1));
    }
}
