//! `extends`: variants built on a base scenario.

use sim_core::Model;
use std::path::{Path, PathBuf};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fleetsim-extends-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("variants")).unwrap();
    d
}

fn write(d: &Path, name: &str, body: &str) -> PathBuf {
    let p = d.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

const BASE: &str = r#"{
  "name": "base",
  "run": { "duration": "5m", "replications": 2 },
  "workload": { "arrivals": { "ratePerSecond": 2 } },
  "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "500ms" } } } },
  "instanceTypes": { "t": { "slots": 4, "pricePerHour": 1.0 } },
  "deployment": {
    "regions": { "a": { "instances": 2, "instanceType": "t" }, "b": { "instances": 1, "instanceType": "t" } },
    "loadBalancing": { "strategy": "round-robin" }
  },
  "failures": { "events": [ { "type": "slow-instance", "instance": "a/0", "at": "1m", "duration": "1m", "factor": 2 }, { "type": "region-outage", "region": "b", "at": "2m", "duration": "1m" } ] }
}"#;

#[test]
fn a_variant_overrides_keys_and_replaces_arrays() {
    let d = dir("override");
    write(&d, "base.json", BASE);
    let v = write(
        &d,
        "variants/bigger.json",
        r#"{ "extends": "../base.json", "name": "bigger",
             "deployment": { "regions": { "a": { "instances": 5 } }, "loadBalancing": { "strategy": "least-connections" } },
             "failures": { "events": [] } }"#,
    );
    let m = Model::from_file(&v).unwrap();
    assert_eq!(m.scenario.name, "bigger");
    // Region a grew; region b, set only in the base, is still there.
    assert_eq!(m.initial_instances(), 6);
    assert_eq!(m.balancing.config.kind().to_string(), "least-connections");
    // The base's two failure events were replaced by none.
    assert!(m.scenario.failures.as_ref().unwrap().events.is_empty());
    // The base is unchanged.
    let b = Model::from_file(d.join("base.json")).unwrap();
    assert_eq!(b.initial_instances(), 3);
    assert_eq!(b.scenario.failures.as_ref().unwrap().events.len(), 2);
}

#[test]
fn chains_resolve_through_every_file() {
    let d = dir("chain");
    write(&d, "base.json", BASE);
    write(
        &d,
        "mid.json",
        r#"{ "extends": "base.json", "run": { "duration": "7m" } }"#,
    );
    let top = write(
        &d,
        "top.json",
        r#"{ "extends": "mid.json", "workload": { "arrivals": { "ratePerSecond": 3 } } }"#,
    );
    let m = Model::from_file(&top).unwrap();
    assert_eq!(m.run.duration.as_secs_f64(), 420.0);
    assert_eq!(
        m.scenario
            .workload
            .arrivals
            .as_ref()
            .unwrap()
            .rate_per_second,
        3.0
    );
    assert_eq!(m.run.replications, 2);
}

#[test]
fn an_error_in_a_value_a_base_set_names_the_base() {
    let d = dir("blame");
    write(
        &d,
        "base.json",
        &BASE.replace("\"round-robin\"", "\"least-conn\""),
    );
    let v = write(
        &d,
        "variant.json",
        r#"{ "extends": "base.json", "name": "v" }"#,
    );
    let e = Model::from_file(&v).unwrap_err().to_string();
    assert!(e.contains("variant.json"), "{e}");
    assert!(e.contains("deployment.loadBalancing.strategy"), "{e}");
    assert!(e.contains("base.json, which this scenario extends"), "{e}");
    // Overriding the bad value fixes the variant.
    let fixed = write(
        &d,
        "fixed.json",
        r#"{ "extends": "base.json", "deployment": { "loadBalancing": { "strategy": "first" } } }"#,
    );
    Model::from_file(&fixed).unwrap();
    // A mistake in the variant itself does not blame the base.
    let own = write(
        &d,
        "own.json",
        r#"{ "extends": "fixed.json", "run": { "duration": 5 } }"#,
    );
    let e = Model::from_file(&own).unwrap_err().to_string();
    assert!(
        e.contains("run.duration") && !e.contains("which this scenario extends"),
        "{e}"
    );
}

#[test]
fn cycles_missing_bases_and_bad_values_are_errors() {
    let d = dir("bad");
    let a = write(&d, "a.json", r#"{ "extends": "b.json" }"#);
    write(&d, "b.json", r#"{ "extends": "a.json" }"#);
    let e = Model::from_file(&a).unwrap_err().to_string();
    assert!(e.contains("a cycle") && e.contains("extends"), "{e}");
    let m = write(&d, "m.json", r#"{ "extends": "nowhere.json" }"#);
    let e = Model::from_file(&m).unwrap_err().to_string();
    assert!(
        e.contains("at `extends`") && e.contains("nowhere.json"),
        "{e}"
    );
    let n = write(&d, "n.json", r#"{ "extends": 3 }"#);
    let e = Model::from_file(&n).unwrap_err().to_string();
    assert!(
        e.contains("at `extends`") && e.contains("relative to this file"),
        "{e}"
    );
    // A base that is not an object is refused, not replaced by the patch.
    for (k, base) in ["[]", r#""x""#, "null", "3"].iter().enumerate() {
        write(&d, &format!("notobj{k}.json"), base);
        let f = write(
            &d,
            &format!("on{k}.json"),
            &BASE.replacen('{', &format!(r#"{{ "extends": "notobj{k}.json","#), 1),
        );
        let e = Model::from_file(&f).unwrap_err().to_string();
        assert!(
            e.contains("at `extends`") && e.contains("must be a JSON object"),
            "{base}: {e}"
        );
    }
    let e = Model::from_json(r#"{ "extends": "base.json" }"#, "inline.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("works in scenario files"), "{e}");
}
