//! The shipped JSON Schema: in sync with `fleetsim schema`, accepting every
//! shipped scenario, and refusing the mistakes an editor should flag.

mod common;

use common::{fleetsim, scratch, text};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schema() -> Value {
    let out = fleetsim(&["schema"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema()).expect("the schema is a valid draft 2020-12 schema")
}

/// Every scenario file shipped under `scenarios/` (sweep and gate files
/// and the schemas themselves are other formats).
fn shipped_scenarios() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                // Native configs (a template's JSON, an API document)
                // live one folder below `native/`.
                let native = dir.file_name().is_some_and(|n| n == "native");
                if !native && p.file_name().is_some_and(|n| n != "sweeps" && n != "gate") {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|e| e == "json")
                && !p.to_string_lossy().ends_with(".schema.json")
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("scenarios"), &mut out);
    out.sort();
    assert!(out.len() >= 15, "found only {out:?}");
    out
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn shipped_schema_is_what_fleetsim_schema_prints() {
    let printed = fleetsim(&["schema"]).stdout;
    let shipped = std::fs::read(root().join("scenarios/fleetsim.schema.json")).unwrap();
    assert!(
        printed == shipped,
        "scenarios/fleetsim.schema.json is out of date: run \
         `target/debug/fleetsim schema > scenarios/fleetsim.schema.json`"
    );
}

#[test]
fn every_shipped_scenario_names_the_schema_and_fits_it() {
    let v = validator();
    let schema_file = root().join("scenarios/fleetsim.schema.json");
    for p in shipped_scenarios() {
        let doc = read(&p);
        let named = doc["$schema"]
            .as_str()
            .unwrap_or_else(|| panic!("{} has no $schema", p.display()));
        let target = p.parent().unwrap().join(named);
        assert_eq!(
            target.canonicalize().unwrap(),
            schema_file.canonicalize().unwrap(),
            "{}: $schema should lead to scenarios/fleetsim.schema.json",
            p.display()
        );
        let errs = errors(&v, &doc);
        assert!(errs.is_empty(), "{}: {errs:#?}", p.display());
    }
}

/// A change made to a good scenario.
type Mutation = fn(&mut Value);

/// Mistakes the schema must flag as an editor shows them; fleetsim refuses
/// each one too, so schema and reader agree.
#[test]
fn the_schema_flags_what_fleetsim_refuses() {
    let v = validator();
    let base = read(&root().join("scenarios/quickstart.json"));
    let dir = scratch("schema-mistakes");
    let mistakes: [(&str, Mutation); 8] = [
        ("unknown top-level key", |s| s["runs"] = json!(3)),
        ("misspelt key", |s| {
            s["deployment"]["loadBalancing"]["strategi"] = json!("random")
        }),
        ("bare number for a duration", |s| {
            s["run"]["duration"] = json!(600)
        }),
        ("duration without a unit", |s| {
            s["run"]["duration"] = json!("600")
        }),
        ("unknown strategy", |s| {
            s["deployment"]["loadBalancing"]["strategy"] = json!("fastest")
        }),
        ("missing required section", |s| {
            s.as_object_mut().unwrap().remove("workload");
        }),
        ("unknown distribution", |s| {
            s["llm"]["models"]
                .as_object_mut()
                .unwrap()
                .values_mut()
                .next()
                .unwrap()["latency"]["dist"] = json!("cauchy")
        }),
        ("negative instance count", |s| {
            s["deployment"]["regions"]
                .as_object_mut()
                .unwrap()
                .values_mut()
                .next()
                .unwrap()["instances"] = json!(-1)
        }),
    ];
    for (i, (what, mutate)) in mistakes.iter().enumerate() {
        let mut doc = base.clone();
        mutate(&mut doc);
        assert!(
            !errors(&v, &doc).is_empty(),
            "the schema accepts a scenario with a {what}"
        );
        let file = dir.join(format!("mistake-{i}.json"));
        std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        let out = fleetsim(&["validate", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "fleetsim accepts a {what}");
    }
}

/// A variant (`extends`) writes only what it changes, and `null` removes a
/// key; the schema takes it as the patch it is and still flags unknown keys.
#[test]
fn variants_are_checked_as_patches() {
    let v = validator();
    for p in shipped_scenarios() {
        if read(&p).get("extends").is_some() {
            assert!(errors(&v, &read(&p)).is_empty(), "{}", p.display());
        }
    }
    let ok = json!({
        "extends": "../quickstart.json",
        "deployment": { "loadBalancing": { "strategy": "power-of-two" }, "healthCheck": null },
        "llm": { "models": { "m": { "latency": { "mean": "2s" } } } }
    });
    assert!(errors(&v, &ok).is_empty(), "{:#?}", errors(&v, &ok));
    let typo = json!({ "extends": "../quickstart.json", "deployment": { "loadBalancng": {} } });
    assert!(!errors(&v, &typo).is_empty());
    let bad_value = json!({ "extends": "q.json", "run": { "duration": 60 } });
    assert!(!errors(&v, &bad_value).is_empty());
}

/// The seed deployments' own spellings (`least_conn`, General Bots'
/// `scaleMaxInstances`) are in the schema, so their files check clean.
#[test]
fn seed_aliases_are_in_the_schema() {
    let s = serde_json::to_string(&schema()).unwrap();
    for alias in strategies::SEED_ALIASES {
        assert!(
            s.contains(&format!("\"{alias}\"")),
            "{alias} is not in the schema"
        );
    }
}

/// Every shipped file under `scenarios/DIR` of kind `kind` (`sweeps`,
/// `gate`), leaving baselines out.
fn shipped_in(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| !p.to_string_lossy().ends_with("baseline.json"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no files in scenarios/{dir}");
    out
}

fn printed(kind: &str) -> Vec<u8> {
    let out = fleetsim(&["schema", kind]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    out.stdout
}

#[test]
fn shipped_sweep_and_gate_schemas_are_what_fleetsim_schema_prints() {
    assert_eq!(printed("scenario"), fleetsim(&["schema"]).stdout);
    for kind in ["sweep", "gate"] {
        let file = format!("scenarios/{kind}.schema.json");
        let shipped = std::fs::read(root().join(&file)).unwrap();
        assert!(
            printed(kind) == shipped,
            "{file} is out of date: run `target/debug/fleetsim schema {kind} > {file}`"
        );
    }
}

/// Every shipped sweep and gate file fits its schema, and names it.
#[test]
fn every_shipped_sweep_and_gate_file_fits_its_schema() {
    for (kind, dir) in [("sweep", "sweeps"), ("gate", "gate")] {
        let schema: Value = serde_json::from_slice(&printed(kind)).unwrap();
        let v = jsonschema::draft202012::new(&schema).expect("a valid draft 2020-12 schema");
        let schema_file = root().join(format!("scenarios/{kind}.schema.json"));
        for p in shipped_in(dir) {
            let doc = read(&p);
            let errs = errors(&v, &doc);
            assert!(errs.is_empty(), "{}: {errs:#?}", p.display());
            let named = doc["$schema"]
                .as_str()
                .unwrap_or_else(|| panic!("{} has no $schema", p.display()));
            assert_eq!(
                p.parent().unwrap().join(named).canonicalize().unwrap(),
                schema_file.canonicalize().unwrap(),
                "{}",
                p.display()
            );
        }
    }
}

/// Mistakes in sweep and gate files that the schema flags, and that the
/// reader (`fleetsim validate`) refuses too.
#[test]
fn sweep_and_gate_schemas_flag_what_fleetsim_refuses() {
    let dir = scratch("schema-kinds");
    std::fs::copy(
        root().join("scenarios/quickstart.json"),
        dir.join("quickstart.json"),
    )
    .unwrap();
    let sweep = json!({
        "scenario": "quickstart.json",
        "seeds": 2,
        "axes": { "deployment.regions.us-east-1.instances": "2..3" }
    });
    let gate = json!({ "scenarios": ["quickstart.json"], "seeds": 2 });
    let mistakes: [(&str, &Value, Mutation); 8] = [
        ("sweep: unknown key", &sweep, |s| s["seedz"] = json!(3)),
        ("sweep: no axes", &sweep, |s| {
            s.as_object_mut().unwrap().remove("axes");
        }),
        ("sweep: zero seeds", &sweep, |s| s["seeds"] = json!(0)),
        ("sweep: a number for values", &sweep, |s| {
            s["axes"]["run.seed"] = json!(3)
        }),
        ("gate: unknown threshold", &gate, |s| {
            s["thresholds"] = json!({ "p95": "10%" })
        }),
        ("gate: one seed", &gate, |s| s["seeds"] = json!(1)),
        ("gate: a number for a percentage", &gate, |s| {
            s["thresholds"] = json!({ "p99": 0.1 })
        }),
        ("gate: no scenarios", &gate, |s| s["scenarios"] = json!([])),
    ];
    for (i, (what, base, mutate)) in mistakes.iter().enumerate() {
        let kind = what.split(':').next().unwrap();
        let schema: Value = serde_json::from_slice(&printed(kind)).unwrap();
        let v = jsonschema::draft202012::new(&schema).unwrap();
        assert!(errors(&v, base).is_empty(), "{what}: the good file");
        let mut doc = (*base).clone();
        mutate(&mut doc);
        assert!(!errors(&v, &doc).is_empty(), "the schema accepts {what}");
        let file = dir.join(format!("mistake-{i}.json"));
        std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        let out = fleetsim(&["validate", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "fleetsim accepts {what}");
    }
}
