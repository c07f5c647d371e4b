//! `sim_core::native` for Envoy.

use sim_core::native::{import_file, ImportOptions};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn scratch_print() {
    let i = import_file(&root().join("scenarios/native/envoy/envoy.yaml"), &ImportOptions { upstream: Some("llm_agents".into()), ..Default::default() }).unwrap_or_else(|e| panic!("{e}"));
    println!("{}", serde_json::to_string_pretty(&i.fragment).unwrap());
    println!("{}", i.report_text());
}

#[test]
fn scratch_traefik() {
    let i = import_file(&root().join("scenarios/native/traefik/dynamic.yml"), &ImportOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    println!("{}", serde_json::to_string_pretty(&i.fragment).unwrap());
    println!("{}", i.report_text());
    for f in ["envoy-llm.json", "traefik-llm.json"] {
        let mut m = sim_core::Model::from_file(root().join("scenarios/native").join(f)).unwrap_or_else(|e| panic!("{e}"));
        m.run.replications = 1;
        let r = sim_core::run_model(&m, sim_core::RunOptions::default()).unwrap();
        let run = &r.runs[0];
        println!("{f}: {:?} {:?}", run.counts, run.resilience);
        for i in &run.instances { println!("  {} {}", i.id, i.requests); }
    }
}
