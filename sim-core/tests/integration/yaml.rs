//! YAML scenario files: the same scenarios as JSON, as strictly read.

use sim_core::{run_model, Model, RunOptions};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("fleetsim-yaml-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_yaml_scenario_runs_exactly_as_its_json() {
    let json = std::fs::read_to_string(root().join("scenarios/quickstart.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let d = dir();
    let y = d.join("quickstart.yaml");
    std::fs::write(&y, sim_core::to_yaml(&value)).unwrap();
    let from_yaml = Model::from_file(&y).unwrap_or_else(|e| panic!("{e}"));
    let from_json = Model::from_file(root().join("scenarios/quickstart.json")).unwrap();
    let opts = || RunOptions {
        replications: Some(1),
        ..Default::default()
    };
    let a = serde_json::to_string(&run_model(&from_yaml, opts()).unwrap().runs[0].counts).unwrap();
    let b = serde_json::to_string(&run_model(&from_json, opts()).unwrap().runs[0].counts).unwrap();
    assert_eq!(a, b);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_shipped_yaml_scenario_extends_a_json_one() {
    let m = Model::from_file(root().join("scenarios/yaml/quickstart-p2c.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.scenario.name, "quickstart-p2c");
    assert_eq!(
        m.balancing.config.kind(),
        strategies::StrategyKind::PowerOfTwo
    );
    assert_eq!(m.fleet.instances.len(), 6, "the quickstart's fleet");
}

#[test]
fn yaml_errors_name_the_line_and_what_to_fix() {
    let d = dir().join("errors");
    std::fs::create_dir_all(&d).unwrap();
    let case = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        Model::from_file(&p).unwrap_err().to_string()
    };
    let e = case(
        "dup.yaml",
        "name: a\nrun:\n  duration: 10m\n  duration: 20m\n",
    );
    assert!(
        e.contains("dup.yaml:4:3: yaml: duplicate key `duration` (first at line 3)"),
        "{e}"
    );
    let e = case(
        "tpl.yml",
        "name: ${NAME}\nrun: { duration: \"{{ .Values.d }}\" }\n",
    );
    assert!(
        e.contains("tpl.yml:1:7: yaml: the template placeholder `${NAME}`"),
        "{e}"
    );
    assert!(e.contains("`{{ .Values.d }}` at 2:18"), "{e}");
    // A shape error is reported at its JSON path, as for JSON files.
    let e = case("shape.yaml", "name: a\nrun: { duration: 10m, seeds: 3 }\nworkload: {}\nllm: {}\ninstanceTypes: {}\ndeployment: {}\n");
    assert!(e.contains("at `run.seeds`: unknown key `seeds`"), "{e}");
    // `no` is a string, so where a bool is due it is refused, not read as false.
    let e = case(
        "norway.yaml",
        &std::fs::read_to_string(root().join("scenarios/yaml/quickstart-p2c.yaml"))
            .unwrap()
            .replace(
                "extends: ../quickstart.json",
                &format!(
                    "extends: {}",
                    root().join("scenarios/quickstart.json").display()
                ),
            )
            .replace(
                "    strategy: power-of-two",
                "    strategy: power-of-two\n    sessionAffinity: { enabled: no }",
            ),
    );
    assert!(e.contains("sessionAffinity.enabled"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}
