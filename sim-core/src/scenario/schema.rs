//! The JSON Schema of scenario files (`fleetsim schema`), generated from
//! the scenario types so it cannot drift from what fleetsim reads.
//!
//! Editors use it to complete and check scenario files. It describes a
//! whole scenario; a file with `extends` is a patch over another, so its
//! objects may leave out what the base sets and may hold `null` (which
//! removes a key): the schema checks such a file against a relaxed copy of
//! every definition. Cross-field rules (a strategy's own keys, feasible
//! rates, names that must exist) are beyond a schema; `fleetsim validate`
//! checks them.

use super::Scenario;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// Where shipped scenarios find the schema, relative to `scenarios/`.
pub const SCHEMA_FILE: &str = "fleetsim.schema.json";

/// The JSON Schema (draft 2020-12) of a scenario file.
pub fn json_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut root = generator.into_root_schema_for::<Scenario>().to_value();
    expand_aliases(&mut root);
    let obj = root
        .as_object_mut()
        .expect("a schema of a struct is an object");
    let mut defs = match obj.remove("$defs") {
        Some(Value::Object(d)) => d,
        _ => Map::new(),
    };
    // The whole scenario, as a definition of its own.
    let mut full = Map::new();
    for key in ["type", "properties", "required", "additionalProperties"] {
        if let Some(v) = obj.remove(key) {
            full.insert(key.into(), v);
        }
    }
    let full = Value::Object(full);
    let mut patch = patch_of(&full, &mut defs);
    if let Some(Value::Object(props)) = patch.get_mut("properties") {
        props.insert(
            "extends".into(),
            json!({
                "type": "string",
                "description": "Another scenario file (relative to this one) that this file overrides: objects merge key by key, `null` removes a key, arrays and values replace."
            }),
        );
    }
    patch["required"] = json!(["extends"]);
    defs.insert("Scenario".into(), full);
    defs.insert("ScenarioPatch".into(), patch);
    obj.insert("title".into(), "fleetsim scenario".into());
    obj.insert(
        "anyOf".into(),
        json!([{ "$ref": "#/$defs/Scenario" }, { "$ref": "#/$defs/ScenarioPatch" }]),
    );
    obj.insert("$defs".into(), Value::Object(defs));
    root
}

/// Turns the `x-aliases` the types mark their serde aliases with into
/// what they mean: more property names for a key, more values for a name.
fn expand_aliases(schema: &mut Value) {
    match schema {
        Value::Object(m) => {
            if let Some(Value::Array(aliases)) = m.remove("x-aliases") {
                if let Some(name) = m.remove("const") {
                    let mut names = vec![name];
                    names.extend(aliases);
                    m.insert("enum".into(), Value::Array(names));
                }
            }
            if let Some(Value::Object(props)) = m.get_mut("properties") {
                let mut extra = Vec::new();
                for (key, prop) in props.iter_mut() {
                    let Some(Value::Array(aliases)) =
                        prop.as_object_mut().and_then(|p| p.remove("x-aliases"))
                    else {
                        continue;
                    };
                    for alias in aliases.iter().filter_map(Value::as_str) {
                        let mut same = prop.clone();
                        same["description"] = format!(
                            "Read as `{key}` (the spelling of a seed deployment's config)."
                        )
                        .into();
                        extra.push((alias.to_string(), same));
                    }
                }
                props.extend(extra);
            }
            m.values_mut().for_each(expand_aliases);
        }
        Value::Array(a) => a.iter_mut().for_each(expand_aliases),
        _ => {}
    }
}

/// The patch form of `schema` (as a file with `extends` writes it): nothing
/// required, `null` allowed for every property, a tagged block matched by
/// any of its forms. Definitions that describe objects get a patch form of
/// their own in `defs` (`<Name>Patch`); the others are used as they are.
fn patch_of(schema: &Value, defs: &mut Map<String, Value>) -> Value {
    let objects = object_defs(defs);
    for name in &objects {
        let patched = relax(&defs[name.as_str()], &objects);
        defs.insert(format!("{name}Patch"), patched);
    }
    relax(schema, &objects)
}

/// The definitions that describe objects, directly or through others.
fn object_defs(defs: &Map<String, Value>) -> BTreeSet<String> {
    let mut objects: BTreeSet<String> = defs
        .iter()
        .filter(|(_, d)| mentions(d, &|k, _| k == "properties"))
        .map(|(n, _)| n.clone())
        .collect();
    loop {
        let more: Vec<String> = defs
            .iter()
            .filter(|(n, d)| {
                !objects.contains(n.as_str())
                    && mentions(d, &|k, v| {
                        k == "$ref" && v.as_str().is_some_and(|r| objects.contains(def_name(r)))
                    })
            })
            .map(|(n, _)| n.clone())
            .collect();
        if more.is_empty() {
            return objects;
        }
        objects.extend(more);
    }
}

fn def_name(reference: &str) -> &str {
    reference.strip_prefix("#/$defs/").unwrap_or(reference)
}

/// Whether `schema` has, anywhere in it, a key and value that `hit` accepts.
fn mentions(schema: &Value, hit: &dyn Fn(&str, &Value) -> bool) -> bool {
    match schema {
        Value::Object(m) => m.iter().any(|(k, v)| hit(k, v) || mentions(v, hit)),
        Value::Array(a) => a.iter().any(|v| mentions(v, hit)),
        _ => false,
    }
}

fn relax(schema: &Value, objects: &BTreeSet<String>) -> Value {
    match schema {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                match k.as_str() {
                    "required" | "default" => {}
                    // Arrays replace whole in a merge: their elements are
                    // complete values, checked as such.
                    "items" | "prefixItems" => {
                        out.insert(k.clone(), v.clone());
                    }
                    "$ref" => {
                        let name = def_name(v.as_str().unwrap_or_default());
                        let target = if objects.contains(name) {
                            format!("#/$defs/{name}Patch")
                        } else {
                            format!("#/$defs/{name}")
                        };
                        out.insert(k.clone(), target.into());
                    }
                    // Without their tags, a patch may fit several forms.
                    "oneOf" => {
                        out.insert("anyOf".into(), relax(v, objects));
                    }
                    "properties" => {
                        let props = v
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(|(name, s)| (name.clone(), nullable(relax(s, objects))))
                            .collect();
                        out.insert(k.clone(), Value::Object(props));
                    }
                    // Entries of a map (regions, models) are removed with null too.
                    "additionalProperties" if v.is_object() => {
                        out.insert(k.clone(), nullable(relax(v, objects)));
                    }
                    _ => {
                        out.insert(k.clone(), relax(v, objects));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|s| relax(s, objects)).collect()),
        other => other.clone(),
    }
}

/// `schema`, or `null` (which a merge patch writes to remove a key).
fn nullable(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "null" }] })
}
