//! `fleetsim validate`: every kind of file fleetsim reads, recognised by
//! its keys and checked as the command that reads it checks it.
//!
//! | kind | recognised by | checked as |
//! |---|---|---|
//! | JSON Schema | a name ending `.schema.json`, or `$defs` with a json-schema.org `$schema` | skipped, with a note |
//! | sweep file | `axes` | `fleetsim sweep` reads it: the file, then every point's scenario |
//! | gate file | `scenarios`, a list of file names | `fleetsim gate` reads it: the file, every scenario, and the baseline when it exists |
//! | gate baseline | `scenarios`, a list of objects | `fleetsim gate` reads a baseline |
//! | scenario | anything else | `fleetsim run` reads it |

use crate::args::ValidateArgs;
use crate::confirm::Work;
use crate::failure::Failure;
use crate::output::Stdout;
use reports::gate::{Baseline, Suite};
use reports::sweep::plan::Sweep;
use reports::sweep::spec::SweepSpec;
use serde_json::Value;
use sim_core::{shown_path, Model, ScenarioError};
use std::path::Path;
use std::process::ExitCode;

/// What a file is, by its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Schema,
    Sweep,
    Gate,
    Baseline,
    Scenario,
}

impl Kind {
    /// The kind of the file `path` holding `v`.
    fn of(path: &Path, v: &Value) -> Kind {
        let named_schema = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(".schema.json"));
        let looks_schema = v.get("$defs").is_some()
            && v.get("$schema")
                .and_then(Value::as_str)
                .is_some_and(|s| s.contains("json-schema.org"));
        if named_schema || looks_schema {
            return Kind::Schema;
        }
        if v.get("axes").is_some() {
            return Kind::Sweep;
        }
        match v.get("scenarios") {
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => Kind::Gate,
            Some(Value::Array(_)) => Kind::Baseline,
            _ => Kind::Scenario,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Schema => "JSON Schema",
            Kind::Sweep => "sweep file",
            Kind::Gate => "gate file",
            Kind::Baseline => "gate baseline",
            Kind::Scenario => "scenario",
        }
    }
}

/// Checks one file of `kind`: what to print, or the error its command
/// would give.
fn check(path: &Path, kind: Kind) -> Result<String, Failure> {
    let shown = shown_path(path);
    match kind {
        Kind::Schema => Ok(format!(
            "skipped: {shown} is a JSON Schema (for editors), not a file fleetsim reads\n"
        )),
        Kind::Scenario => {
            let m = Model::from_file(path)?;
            Ok(format!(
                "ok: {shown} (scenario)\n{}{}",
                reports::describe_model(&m),
                reports::findings_text(&m.findings)
            ))
        }
        Kind::Sweep => {
            let sweep = Sweep::prepare(SweepSpec::from_file(path)?)?;
            let work = Work::of_models(&sweep.models, sweep.seeds);
            let axes: Vec<String> = (sweep.spec.axes.iter())
                .map(|a| format!("{} ({} values)", a.path, a.values.len()))
                .collect();
            Ok(format!(
                "ok: {shown} (sweep file): {} points x {} seeds of {}; axes: {}\n  {}\n",
                sweep.models.len(),
                sweep.seeds,
                shown_path(&sweep.spec.scenario),
                axes.join(", "),
                work.words()
            ))
        }
        Kind::Gate => gate(path),
        Kind::Baseline => {
            let b = Baseline::read(path)?;
            Ok(format!(
                "ok: {shown} (gate baseline): {} scenario(s) x {} seeds\n",
                b.scenarios.len(),
                b.seeds
            ))
        }
    }
}

/// A gate file: the file, each scenario, and the baseline if written.
fn gate(path: &Path) -> Result<String, Failure> {
    let suite = Suite::read(path)?;
    let mut problems: Vec<ScenarioError> = Vec::new();
    for e in &suite.scenarios {
        if let Err(err) = Model::from_file(&e.path) {
            problems.push(err);
        }
    }
    if !problems.is_empty() {
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(Failure::Input(anyhow::anyhow!(
            "{}: {} of its {} scenario(s) invalid:\n{}",
            shown_path(path),
            problems.len(),
            suite.scenarios.len(),
            text.join("\n")
        )));
    }
    let baseline = if suite.baseline.exists() {
        let b = Baseline::read(&suite.baseline)?;
        format!(
            "baseline {} ({} scenario(s) x {} seeds)",
            suite.baseline.display(),
            b.scenarios.len(),
            b.seeds
        )
    } else {
        format!(
            "no baseline yet at {} (`fleetsim gate {} --update-baseline` writes it)",
            suite.baseline.display(),
            shown_path(path)
        )
    };
    Ok(format!(
        "ok: {} (gate file): {} scenario(s) x {} seeds; {baseline}\n",
        shown_path(path),
        suite.scenarios.len(),
        suite.seeds
    ))
}

/// `fleetsim validate FILE...`: exit 0 when every file is valid (schemas
/// skipped), 2 when any is not.
pub(crate) fn validate(a: ValidateArgs) -> Result<ExitCode, Failure> {
    let mut bad = 0usize;
    let mut stdout = Stdout::default();
    for path in &a.scenarios {
        // The file is read as JSON first only to tell its kind; a file that
        // is not JSON at all is reported as its reader would.
        let kind = match sim_core::json_file(path) {
            Ok(v) => Kind::of(path, &v),
            Err(_) => Kind::Scenario,
        };
        match check(path, kind) {
            Ok(text) => stdout.emit(&text)?,
            Err(e) => {
                bad += 1;
                if kind != Kind::Scenario {
                    eprintln!("error: (read as a {}) {e}", kind.name());
                } else {
                    eprintln!("error: {e}");
                }
            }
        }
    }
    if bad > 0 {
        eprintln!("{bad} of {} file(s) invalid", a.scenarios.len());
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
