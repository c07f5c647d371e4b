//! The seed docs' own config files, read as their frameworks read them:
//! each imports to what the seed scenarios translated by hand, and every
//! SwiftClaw block imports into a scenario that runs.

use serde_json::{json, Value};
use sim_core::native::{import_file, ImportOptions};
use sim_core::Model;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn seeds() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures/seeds")
}

fn seed_deployment(name: &str) -> Value {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join(format!("scenarios/seeds/{name}.json"))).unwrap(),
    )
    .unwrap();
    v["deployment"].clone()
}

/// Every key of `part` has the same value in `whole`.
fn within(part: &Value, whole: &Value, at: &str) {
    match part {
        Value::Object(o) => {
            for (k, v) in o {
                within(v, &whole[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(part, whole, "at {at}"),
    }
}

#[test]
fn agentflow_toml_imports_as_the_agenticgokit_seed_reads_it() {
    let i = import_file(&seeds().join("agentflow.toml"), &ImportOptions::default()).unwrap();
    let d = &i.fragment["deployment"];
    within(d, &seed_deployment("agenticgokit"), "deployment");
    assert_eq!(d["scaling"]["scaleUpCooldown"], "2m");
    // Only max_concurrent_agents is left to the scenario (its slots).
    let lost: Vec<&str> = i
        .report
        .iter()
        .filter(|m| m.is_unsupported())
        .map(|m| m.directive.as_str())
        .collect();
    assert_eq!(lost, ["[runtime] max_concurrent_agents = 50"]);
}

#[test]
fn config_csv_imports_as_the_general_bots_seed_reads_it() {
    let i = import_file(
        &seeds().join("general-bots-config.csv"),
        &ImportOptions::default(),
    )
    .unwrap();
    let d = &i.fragment["deployment"];
    let seed = seed_deployment("general-bots");
    within(&d["scaling"], &seed["scaling"], "scaling");
    within(&d["healthCheck"], &seed["healthCheck"], "healthCheck");
    within(
        &d["circuitBreaker"],
        &seed["circuitBreaker"],
        "circuitBreaker",
    );
    assert_eq!(
        d["rateLimit"],
        json!({ "requests": 100, "strategy": "token-bucket", "window": "60s", "burst": 20, "key": "ip" })
    );
    // The per-endpoint limits need request classes.
    assert_eq!(i.unsupported(), 3);
}

#[test]
fn every_swiftclaw_block_imports_into_a_scenario_that_checks() {
    let dir = std::env::temp_dir().join(format!("fleetsim-swiftclaw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut blocks: Vec<PathBuf> = std::fs::read_dir(seeds().join("swiftclaw"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    blocks.sort();
    assert_eq!(blocks.len(), 14);
    for b in &blocks {
        let name = b.file_name().unwrap().to_str().unwrap().to_string();
        std::fs::copy(b, dir.join(&name)).unwrap();
        let scenario = json!({
            "name": "swiftclaw", "run": { "duration": "5m" },
            "workload": { "arrivals": { "ratePerSecond": 5 }, "users": { "count": 100 },
                          "clients": { "us": 0.5, "eu": 0.5 } },
            "network": { "rtt": {
                "us": { "us-east-1": "10ms", "eu-west-1": "80ms", "ap-southeast-1": "150ms" },
                "eu": { "us-east-1": "80ms", "eu-west-1": "10ms", "ap-southeast-1": "150ms" } } },
            "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" } } } },
            "instanceTypes": { "t": { "slots": 4, "cpus": 2 } },
            "deployment": {
                "import": { "file": name, "format": "deployment-json" },
                "regions": { "us-east-1": { "instances": 2 }, "eu-west-1": { "instances": 2 },
                             "ap-southeast-1": { "instances": 2 } } }
        });
        let s = dir.join(format!("s-{name}"));
        std::fs::write(&s, serde_json::to_string(&scenario).unwrap()).unwrap();
        Model::from_file(&s).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    // What the three shapes SwiftClaw writes differently become.
    let twelve = import_file(
        &seeds().join("swiftclaw/12-line266.json"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(
        twelve.fragment["deployment"]["healthCheck"]["interval"],
        "30s"
    );
    let weights = import_file(
        &seeds().join("swiftclaw/07-line151.json"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(weights.unsupported(), 1);
    let idle = import_file(
        &seeds().join("swiftclaw/14-line299.json"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(
        idle.fragment["deployment"]["timeouts"],
        json!({ "connection": "10s", "request": "60s" })
    );
}

#[test]
fn a_whole_scenario_is_not_read_as_deployment_keys() {
    let i = import_file(
        &root().join("scenarios/quickstart.json"),
        &ImportOptions::default(),
    )
    .unwrap();
    let d = &i.fragment["deployment"];
    assert_eq!(d, &json!({}));
    assert!(i.report.iter().all(|m| m.is_unsupported()));
    assert!(i
        .report
        .iter()
        .any(|m| m.directive == "run" && m.is_unsupported()));
}

/// The Azcore doc's `setup_autoscaling` (boto3's `register_scalable_target`
/// and two `put_scaling_policy` calls), as the JSON the AWS CLI takes for
/// the same calls, reads as section 5 of REFERENCE.md maps it: target
/// tracking, 4 to 50, CPU at 70% (cooldowns 300s in, 60s out) and 1000
/// requests per target (the ECS defaults of 300s).
#[test]
fn the_azcore_ecs_calls_import_as_target_tracking() {
    let dir = seeds().join("azcore-ecs");
    let specs: Vec<_> = [
        "register-scalable-target.json",
        "cpu-scaling.json",
        "request-scaling.json",
    ]
    .iter()
    .map(|f| sim_core::native::ImportSpec {
        path: dir.join(f),
        opts: sim_core::native::ImportOptions::default(),
    })
    .collect();
    let (imports, merged) = sim_core::native::import_all(&specs).unwrap();
    assert!(imports.iter().all(|i| i.unsupported() == 0));
    let scaling = &merged["deployment"]["scaling"];
    assert_eq!(
        scaling,
        &serde_json::json!({
          "policy": "target-tracking", "minCapacity": 4, "maxCapacity": 50,
          "targets": [
            { "targetValue": 70.0, "predefinedMetricType": "ECSServiceAverageCPUUtilization",
              "scaleInCooldown": "300s", "scaleOutCooldown": "60s" },
            { "targetValue": 1000.0, "predefinedMetricType": "ALBRequestCountPerTarget" } ]
        })
    );
    let cfg: strategies::scale::ScalingConfig = serde_json::from_value(scaling.clone()).unwrap();
    cfg.validate().unwrap();
}
