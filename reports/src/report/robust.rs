//! `fleetsim report DIR` on the directory `compare --scenarios` writes:
//! each scenario's comparison gets its own report (in its subdirectory),
//! and `DIR/report.html` ranks the options across the scenarios and links
//! to each.

use super::{esc, write_report, Written};
use crate::error::Error;
use std::fmt::Write;
use std::path::Path;

/// The file that marks a `compare --scenarios` directory.
pub const ROBUST_JSON: &str = "robust.json";

/// Whether `dir` holds a `compare --scenarios` result.
pub fn is_robust_dir(dir: &Path) -> bool {
    dir.join(ROBUST_JSON).is_file() && !dir.join(crate::sweep::store::MANIFEST).exists()
}

/// Writes every scenario's report, then the page across them.
pub fn write_robust_report(dir: &Path) -> crate::Result<Written> {
    let path = dir.join(ROBUST_JSON);
    let bad = |why: String| Error::Input(format!("{}: {why}", path.display()));
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let scenarios: Vec<String> = v["scenarios"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if scenarios.is_empty() {
        return Err(bad(
            "no `scenarios`: not written by `fleetsim compare --scenarios`".into(),
        ));
    }
    let mut charts = 0;
    for name in &scenarios {
        // A name is a file stem `compare` chose: never a path.
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(bad(format!("`{name}` is not a scenario directory name")));
        }
        charts += write_report(&dir.join(name))?.charts;
    }
    let markdown = std::fs::read_to_string(dir.join("robust.md")).unwrap_or_default();
    let html =
        crate::files::write_atomic(dir, "report.html", page(&scenarios, &markdown).as_bytes())?;
    Ok(Written {
        html,
        charts,
        chart_dir: dir.to_path_buf(),
    })
}

fn page(scenarios: &[String], markdown: &str) -> String {
    let mut o = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>fleetsim report: options across scenarios</title><style>body{font-family:sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}pre{background:#f6f6f6;padding:.6rem;white-space:pre-wrap}</style></head><body>\n<h1>fleetsim report: options across scenarios</h1>\n",
    );
    let _ = writeln!(
        o,
        "<h2 id=\"ranking\">Ranking</h2><pre>{}</pre>",
        esc(markdown)
    );
    let _ = writeln!(o, "<h2 id=\"scenarios\">Each scenario</h2><ul>");
    for s in scenarios {
        let _ = writeln!(
            o,
            "<li><a href=\"{0}/report.html\">{1}</a></li>",
            esc(s),
            esc(s)
        );
    }
    o.push_str("</ul></body></html>\n");
    o
}
