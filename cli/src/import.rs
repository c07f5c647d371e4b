//! `fleetsim import`: a native config file read into a scenario fragment,
//! with a report of what became of every directive.

use crate::args::ImportArgs;
use crate::failure::Failure;
use crate::output::Stdout;
use anyhow::anyhow;
use sim_core::native::{self, Format, ImportOptions, ImportSpec};
use std::process::ExitCode;

/// `fleetsim import FILE...`.
pub(crate) fn import(a: ImportArgs) -> Result<ExitCode, Failure> {
    let format = match &a.format {
        None => None,
        Some(f) => Some(Format::parse(f).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|(n, _)| *n).collect();
            Failure::Input(anyhow!(
                "--format {f}: unknown format; allowed: {}",
                names.join(", ")
            ))
        })?),
    };
    let opts = ImportOptions {
        format,
        upstream: a.upstream.clone(),
    };
    let specs: Vec<ImportSpec> = a
        .files
        .iter()
        .map(|f| ImportSpec {
            path: f.clone(),
            opts: opts.clone(),
        })
        .collect();
    let (imports, merged) = native::import_all(&specs)?;
    let unsupported: usize = imports.iter().map(|i| i.unsupported()).sum();
    let fragment = serde_json::to_string_pretty(&merged).map_err(|e| Failure::Io(e.into()))? + "\n";
    let report: String = imports.iter().map(|i| i.report_text()).collect();
    let mut out = Stdout::default();
    if a.json {
        let one = |got: &native::Import| {
            serde_json::json!({
                "file": reports::contract::relative_to(&got.file, std::path::Path::new(".")),
                "format": got.format,
                "source": got.source,
                "report": got.report,
                "unsupported": got.unsupported(),
            })
        };
        let doc = match imports.as_slice() {
            [got] => {
                let mut d = one(got);
                d["fragment"] = merged.clone();
                d
            }
            all => serde_json::json!({
                "fragment": merged,
                "unsupported": unsupported,
                "imports": all.iter().map(one).collect::<Vec<_>>(),
            }),
        };
        // The version keys first, then the import as before.
        let mut versioned = serde_json::Map::new();
        versioned.insert("formatVersion".into(), reports::contract::IMPORT.into());
        versioned.insert("fleetsimVersion".into(), sim_core::VERSION.into());
        if let serde_json::Value::Object(rest) = doc {
            versioned.extend(rest);
        }
        let text = serde_json::to_string_pretty(&versioned).map_err(|e| Failure::Io(e.into()))?;
        out.emit(&format!("{text}\n"))?;
    } else if let Some(path) = &a.out {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| Failure::Input(anyhow!("--out {}: not a file name", path.display())))?
            .to_string_lossy()
            .into_owned();
        let yaml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        let body = if yaml {
            sim_core::to_yaml(&merged)
        } else {
            fragment.clone()
        };
        let dir = crate::output::OutDir::prepare(&dir)?;
        let written = dir.write_atomic(&name, body.as_bytes())?;
        out.emit(&report)?;
        out.emit(&format!("wrote {}\n", written.display()))?;
    } else {
        out.emit(&fragment)?;
        eprint!("{report}");
    }
    if a.strict && unsupported > 0 {
        eprintln!(
            "--strict: {unsupported} directive(s) with simulation meaning are not supported (above)"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
