//! `extends`: a scenario built on another. The file named by `extends`
//! (relative to the extending file) is read first, recursively, and the
//! extending file is merged onto it as a JSON Merge Patch (RFC 7396):
//! objects merge key by key, `null` removes a key, arrays and values
//! replace. One base then serves many variants (`compare
//! --variants`). Every value remembers the file that set it, so an error
//! in the merged scenario names that file.

use super::json;
use super::load::{parse_value, read_text};
use crate::error::{Problem, ScenarioError};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Longest chain of `extends`.
pub const MAX_EXTENDS_DEPTH: usize = 16;

/// Which file set which values, for the values a base file set and the
/// extending file did not override.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// (JSON path of a value, the file that set it).
    set: Vec<(String, PathBuf)>,
}

impl Provenance {
    /// The base file that set the value at `path`, or `None` when the
    /// extending file itself did (or the path names a whole object that
    /// several files built).
    pub fn file_of(&self, path: &str) -> Option<&Path> {
        self.set
            .iter()
            .filter(|(p, _)| {
                path == p
                    || path
                        .strip_prefix(p.as_str())
                        .is_some_and(|rest| rest.starts_with(['.', '[']))
            })
            .max_by_key(|(p, _)| p.len())
            .map(|(_, f)| f.as_path())
    }

    /// `e` with each problem in a value from a base file saying which.
    pub fn annotate(&self, e: ScenarioError) -> ScenarioError {
        match e {
            ScenarioError::Invalid { file, problems } if !self.set.is_empty() => {
                let problems = problems
                    .into_iter()
                    .map(|p| match self.file_of(&p.path) {
                        Some(f) => Problem::new(
                            p.path.clone(),
                            format!(
                                "{} (the value is set in {}, which this scenario extends)",
                                p.message,
                                f.display()
                            ),
                        ),
                        None => p,
                    })
                    .collect();
                ScenarioError::Invalid { file, problems }
            }
            other => other,
        }
    }
}

/// Reads the scenario at `path` with its `extends` chain merged.
pub(crate) fn resolve(path: &Path) -> Result<(Value, Provenance), ScenarioError> {
    resolve_chain(path, &mut Vec::new())
}

fn resolve_chain(
    path: &Path,
    chain: &mut Vec<PathBuf>,
) -> Result<(Value, Provenance), ScenarioError> {
    let mut own = parse_value(&read_text(path)?, path)?;
    let Some(ext) = own.as_object_mut().and_then(|o| o.remove("extends")) else {
        return Ok((own, Provenance::default()));
    };
    let Value::String(rel) = ext else {
        return Err(ScenarioError::at(
            path,
            "extends",
            format!(
                "{}; give the path of the scenario this one builds on, relative to this file",
                json::describe(&ext)
            ),
        ));
    };
    let base_path = path.parent().unwrap_or(Path::new("")).join(&rel);
    let me = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if chain.is_empty() {
        chain.push(me);
    }
    let canon = base_path.canonicalize().map_err(|e| {
        ScenarioError::at(
            path,
            "extends",
            format!("cannot read `{rel}` ({}): {e}", base_path.display()),
        )
    })?;
    if let Some(i) = chain.iter().position(|c| *c == canon) {
        let names: Vec<String> = chain[i..]
            .iter()
            .chain(std::iter::once(&canon))
            .map(|p| p.display().to_string())
            .collect();
        return Err(ScenarioError::at(
            path,
            "extends",
            format!("a cycle: {}", names.join(" extends ")),
        ));
    }
    if chain.len() > MAX_EXTENDS_DEPTH {
        return Err(ScenarioError::at(
            path,
            "extends",
            format!("more than {MAX_EXTENDS_DEPTH} files deep; flatten the chain"),
        ));
    }
    chain.push(canon);
    let (mut merged, base_prov) = resolve_chain(&base_path, chain)?;
    chain.pop();
    if !merged.is_object() {
        let found = json::describe(&merged);
        return Err(ScenarioError::at(
            path,
            "extends",
            format!("`{rel}` holds {found}; the scenario a file extends must be a JSON object"),
        ));
    }
    // Every value of the base is now attributed: to the file deeper in the
    // chain that set it, or to the base itself.
    let mut set = base_prov.set;
    let mut leaves = Vec::new();
    collect_leaves(&merged, String::new(), &mut leaves);
    for leaf in leaves {
        if !set.iter().any(|(p, _)| *p == leaf) {
            set.push((leaf, base_path.clone()));
        }
    }
    // The extending file's own values override, and are its own.
    let mut mine = Vec::new();
    collect_leaves(&own, String::new(), &mut mine);
    set.retain(|(p, _)| {
        !mine
            .iter()
            .any(|m| p == m || p.starts_with(&format!("{m}.")))
    });
    merge(&mut merged, own);
    Ok((merged, Provenance { set }))
}

/// Paths of every value that is not an object (arrays are values: they
/// replace as a whole).
fn collect_leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, x) in map {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                collect_leaves(x, p, out);
            }
        }
        _ if !at.is_empty() => out.push(at),
        _ => {}
    }
}

/// Merges `top` onto `base`: objects key by key, `null` removing a key,
/// anything else replacing.
fn merge(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Object(b), Value::Object(t)) => merge_maps(b, t),
        (b, t) => *b = t,
    }
}

fn merge_maps(b: &mut Map<String, Value>, t: Map<String, Value>) {
    for (k, v) in t {
        if v.is_null() {
            b.shift_remove(&k);
            continue;
        }
        match b.get_mut(&k) {
            Some(slot) => merge(slot, v),
            None => {
                b.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_merge_and_everything_else_replaces() {
        let mut base = json!({ "a": { "x": 1, "y": [1, 2] }, "b": 2, "d": { "e": 1 } });
        merge(
            &mut base,
            json!({ "a": { "y": [3], "z": true }, "c": "new", "d": null }),
        );
        assert_eq!(
            base,
            json!({ "a": { "x": 1, "y": [3], "z": true }, "b": 2, "c": "new" })
        );
    }

    #[test]
    fn provenance_finds_the_deepest_setter() {
        let p = Provenance {
            set: vec![
                (
                    "deployment.regions.a.instances".into(),
                    PathBuf::from("base.json"),
                ),
                ("run".into(), PathBuf::from("root.json")),
            ],
        };
        assert_eq!(
            p.file_of("deployment.regions.a.instances"),
            Some(Path::new("base.json"))
        );
        assert_eq!(p.file_of("run.duration"), Some(Path::new("root.json")));
        assert_eq!(p.file_of("runs"), None);
        assert_eq!(p.file_of("deployment"), None);
    }
}
