//! `fleetsim import`: a native config file read into a scenario fragment,
//! with a report of what became of every directive.

use crate::args::ImportArgs;
use crate::failure::Failure;
use crate::output::Stdout;
use anyhow::anyhow;
use sim_core::native::{self, Format, ImportOptions};
use std::process::ExitCode;

/// `fleetsim import FILE`.
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
    let got = native::import_file(&a.file, &opts)?;
    let fragment =
        serde_json::to_string_pretty(&got.fragment).map_err(|e| Failure::Io(e.into()))? + "\n";
    let mut out = Stdout::default();
    if a.json {
        let doc = serde_json::json!({
            "file": got.file,
            "format": got.format,
            "source": got.source,
            "fragment": got.fragment,
            "report": got.report,
            "unsupported": got.unsupported(),
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| Failure::Io(e.into()))?;
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
            sim_core::to_yaml(&got.fragment)
        } else {
            fragment.clone()
        };
        let dir = crate::output::OutDir::prepare(&dir)?;
        let written = dir.write_atomic(&name, body.as_bytes())?;
        out.emit(&got.report_text())?;
        out.emit(&format!("wrote {}\n", written.display()))?;
    } else {
        out.emit(&fragment)?;
        eprint!("{}", got.report_text());
    }
    if a.strict && got.unsupported() > 0 {
        eprintln!(
            "--strict: {} directive(s) with simulation meaning are not supported (above)",
            got.unsupported()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
