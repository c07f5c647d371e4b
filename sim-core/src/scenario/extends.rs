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
    /// (JSON path of a value, `file:line` of the native config directive
    /// it was read from), for values a `deployment.import` brought.
    imported: Vec<(String, String)>,
}

impl Provenance {
    /// The base file that set the value at `path`, or `None` when the
    /// extending file itself did (or the path names a whole object that
    /// several files built).
    pub fn file_of(&self, path: &str) -> Option<&Path> {
        self.set
            .iter()
            .filter(|(p, _)| covers(p, path))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, f)| f.as_path())
    }

    /// The native config directive (`file:line`) that gave the value at
    /// `path`, when a `deployment.import` did.
    pub fn import_of(&self, path: &str) -> Option<&str> {
        self.imported
            .iter()
            .filter(|(p, _)| covers(p, path) || covers(path, p))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, at)| at.as_str())
    }

    /// `e` with each problem in a value from a base file, or from an
    /// imported native config, saying which.
    pub fn annotate(&self, e: ScenarioError) -> ScenarioError {
        match e {
            ScenarioError::Invalid { file, problems }
                if !self.set.is_empty() || !self.imported.is_empty() =>
            {
                let problems = problems
                    .into_iter()
                    .map(|p| match (self.import_of(&p.path), self.file_of(&p.path)) {
                        (Some(at), _) => Problem::new(
                            p.path.clone(),
                            format!(
                                "{} (the value is read from {at}, which this scenario imports)",
                                p.message
                            ),
                        ),
                        (None, Some(f)) => Problem::new(
                            p.path.clone(),
                            format!(
                                "{} (the value is set in {}, which this scenario extends)",
                                p.message,
                                f.display()
                            ),
                        ),
                        (None, None) => p,
                    })
                    .collect();
                ScenarioError::Invalid { file, problems }
            }
            other => other,
        }
    }
}

/// Whether the value at JSON path `outer` holds the one at `path` (or is
/// it).
fn covers(outer: &str, path: &str) -> bool {
    path == outer
        || path
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with(['.', '[']))
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
    let mut imported = import_native(&mut own, path)?;
    let Some(ext) = own.as_object_mut().and_then(|o| o.remove("extends")) else {
        return Ok((
            own,
            Provenance {
                set: Vec::new(),
                imported,
            },
        ));
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
    let mut base_imported = base_prov.imported;
    base_imported.retain(|(p, _)| {
        !mine
            .iter()
            .any(|m| p == m || p.starts_with(&format!("{m}.")))
    });
    imported.extend(base_imported);
    merge(&mut merged, own);
    Ok((merged, Provenance { set, imported }))
}

/// One entry of `deployment.import`: a file name, or `{file, upstream,
/// format}`, named relative to the scenario's folder `dir`.
fn import_spec(
    spec: &Value,
    dir: &Path,
    bad: &dyn Fn(String) -> ScenarioError,
) -> Result<crate::native::ImportSpec, ScenarioError> {
    let shape = "give the native config's file name relative to this scenario, {\"file\", \"upstream\", \"format\"}, or a list of them";
    let (file, opts) = match spec {
        Value::String(f) => (f.clone(), crate::native::ImportOptions::default()),
        Value::Object(o) => {
            let mut opts = crate::native::ImportOptions::default();
            let mut file = None;
            for (k, v) in o {
                let text = v.as_str().map(str::to_string).ok_or_else(|| {
                    bad(format!("`{k}`: {}; expected a string", json::describe(v)))
                })?;
                match k.as_str() {
                    "file" => file = Some(text),
                    "upstream" => opts.upstream = Some(text),
                    "format" => {
                        opts.format =
                            Some(crate::native::Format::parse(&text).ok_or_else(|| {
                                let names: Vec<&str> =
                                    crate::native::Format::ALL.iter().map(|(n, _)| *n).collect();
                                bad(format!(
                                    "`format`: unknown format `{text}`; allowed: {}",
                                    names.join(", ")
                                ))
                            })?)
                    }
                    _ => return Err(bad(format!("unknown key `{k}`; {shape}"))),
                }
            }
            (
                file.ok_or_else(|| bad(format!("no `file`; {shape}")))?,
                opts,
            )
        }
        other => return Err(bad(format!("{}; {shape}", json::describe(other)))),
    };
    Ok(crate::native::ImportSpec {
        path: dir.join(file),
        opts,
    })
}

/// Reads the native configs `deployment.import` names (relative to
/// `path`) and merges their deployment keys under the file's own, which
/// win. Returns where each imported value came from.
fn import_native(own: &mut Value, path: &Path) -> Result<Vec<(String, String)>, ScenarioError> {
    let Some(dep) = own.get_mut("deployment").and_then(Value::as_object_mut) else {
        return Ok(Vec::new());
    };
    let Some(spec) = dep.remove("import") else {
        return Ok(Vec::new());
    };
    let bad = |msg: String| ScenarioError::at(path, "deployment.import", msg);
    let dir = path.parent().unwrap_or(Path::new(""));
    let specs = match &spec {
        Value::Array(items) if items.is_empty() => {
            return Err(bad(
                "an empty list; give the native config files to import".into()
            ))
        }
        Value::Array(items) => items
            .iter()
            .map(|i| import_spec(i, dir, &bad))
            .collect::<Result<Vec<_>, _>>()?,
        one => vec![import_spec(one, dir, &bad)?],
    };
    let (imports, fragment) = crate::native::import_all(&specs).map_err(|e| match e {
        ScenarioError::Io { file, reason } | ScenarioError::NativeFile { file, reason } => {
            bad(format!(
                "`{}` ({}): {reason}",
                file.strip_prefix(dir).unwrap_or(&file).display(),
                file.display()
            ))
        }
        other => other,
    })?;
    let Value::Object(fragment) = fragment else {
        return Ok(Vec::new());
    };
    // Where each imported value came from: the directive that mapped to
    // the deepest key above it, in whichever file it is.
    let mut from = Vec::new();
    let mut leaves = Vec::new();
    collect_leaves(&Value::Object(fragment.clone()), String::new(), &mut leaves);
    for leaf in leaves {
        let found = imports
            .iter()
            .flat_map(|got| got.report.iter().map(move |m| (got, m)))
            .filter_map(|(got, m)| match &m.outcome {
                crate::native::Outcome::Mapped { keys, .. } => keys
                    .iter()
                    .filter(|k| leaf == **k || leaf.starts_with(&format!("{k}.")))
                    .map(|k| (k.len(), m.at.line, &got.file))
                    .max(),
                _ => None,
            })
            .max_by_key(|(len, line, _)| (*len, *line));
        let at = match found {
            Some((_, l, file)) => format!("{}:{l}", file.display()),
            None => imports
                .iter()
                .map(|i| i.file.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        };
        from.push((leaf, at));
    }
    // The scenario's own values (its deployment without `import`, and any
    // other section the file gives, such as instanceTypes) override the
    // imported ones.
    let mine = std::mem::take(own);
    let mut own_leaves = Vec::new();
    if let Value::Object(m) = &mine {
        for (k, v) in m {
            if v.as_object().is_some_and(|o| o.is_empty()) {
                continue;
            }
            collect_leaves(v, k.clone(), &mut own_leaves);
        }
    }
    let mut merged = Value::Object(fragment);
    merge(&mut merged, mine);
    *own = merged;
    from.retain(|(p, _)| {
        !own_leaves
            .iter()
            .any(|m| p == m || p.starts_with(&format!("{m}.")))
    });
    Ok(from)
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
            imported: Vec::new(),
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
