//! `sim_core::native` for Kubernetes: a Deployment, its
//! HorizontalPodAutoscaler and a KEDA ScaledObject read as the cluster
//! runs them.

use serde_json::{json, Value};
use sim_core::native::{import_file, import_str, ImportOptions, Outcome};
use sim_core::{run_model, Model, RunOptions};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn seeds() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures/seeds")
}

fn k8s(text: &str) -> sim_core::native::Import {
    import_str(text, Path::new("m.yaml"), &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_shipped_manifests_become_a_region_an_instance_type_and_an_hpa() {
    let i = import_file(
        &root().join("scenarios/native/kubernetes/llm-agents.yaml"),
        &ImportOptions::default(),
    )
    .unwrap();
    let f = &i.fragment;
    assert_eq!(
        f["deployment"]["regions"],
        json!({ "llm-agents": { "instances": 4, "instanceType": "llm-agents" } })
    );
    assert_eq!(
        f["instanceTypes"]["llm-agents"],
        json!({ "drainTimeout": "45s", "cpus": 2.0, "memory": "4Gi", "startupTime": "20s" })
    );
    assert_eq!(
        f["deployment"]["healthCheck"],
        json!({ "interval": "5s", "timeout": "1s", "unhealthyThreshold": 3, "healthyThreshold": 1 })
    );
    let s = &f["deployment"]["scaling"];
    assert_eq!(s["policy"], "hpa");
    assert_eq!(s["minReplicas"], 2);
    assert_eq!(s["maxReplicas"], 20);
    assert_eq!(
        s["metrics"][0]["pods"]["metric"]["name"],
        "inflight_requests"
    );
    assert_eq!(
        s["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        300
    );
    assert_eq!(i.unsupported(), 0, "{:#?}", i.report);
    // The Service is accounted for, as ignored.
    assert!(i.report.iter().any(
        |m| m.directive == "Service llm-agents" && matches!(m.outcome, Outcome::Ignored { .. })
    ));
}

#[test]
fn the_scenario_that_imports_them_scales_with_the_surge() {
    let mut m = Model::from_file(root().join("scenarios/native/k8s-llm.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    m.run.replications = 1;
    let r = run_model(&m, RunOptions::default()).unwrap();
    let s = r.runs[0].scaling;
    assert!(s.scale_ups > 0 && s.peak_instances > 4, "{s:?}");
}

#[test]
fn the_seed_docs_manifests_are_read_as_written() {
    // Azcore's HPA, verbatim: its four metrics and behaviour as written.
    let a = import_file(&seeds().join("azcore-hpa.yaml"), &ImportOptions::default()).unwrap();
    let s = &a.fragment["deployment"]["scaling"];
    assert_eq!(s["metrics"].as_array().unwrap().len(), 4);
    assert_eq!(s["behavior"]["scaleUp"]["selectPolicy"], "Max");
    assert_eq!(
        a.fragment["deployment"]["regions"]["arc-deployment"]["instances"],
        4
    );
    // Azcore's two regional Deployments.
    let b = import_file(
        &seeds().join("azcore-multi-region.yaml"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(
        b.fragment["deployment"]["regions"],
        json!({ "arc-us-east": { "instances": 10 }, "arc-eu-west": { "instances": 10 } })
    );
    // AgenticGoKit's manifest lost its indentation in the doc: it is not
    // the YAML it means, and fleetsim says where.
    let e = import_file(
        &seeds().join("agenticgokit-k8s.yaml"),
        &ImportOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("agenticgokit-k8s.yaml:24:3: yaml:"), "{e}");
}

#[test]
fn an_autoscaling_v1_hpa_is_its_cpu_metric() {
    let i = k8s("apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: { name: h }\nspec:\n  scaleTargetRef: { kind: Deployment, name: web }\n  minReplicas: 2\n  maxReplicas: 8\n");
    assert_eq!(
        i.fragment["deployment"]["scaling"]["metrics"],
        json!([{ "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 80 } } }])
    );
}

#[test]
fn a_cpu_request_below_its_limit_says_what_the_hpa_would_see() {
    let i = k8s("apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: a\n          resources: { requests: { cpu: 500m }, limits: { cpu: \"1\" } }\n");
    assert_eq!(i.fragment["instanceTypes"]["web"]["cpus"], 1.0);
    let lost: Vec<&Mapping> = i.report.iter().filter(|m| m.is_unsupported()).collect();
    assert_eq!(lost.len(), 1);
    assert!(
        matches!(&lost[0].outcome, Outcome::Unsupported { lost } if lost.contains("50% lower"))
    );
    assert_eq!((lost[0].at.line, lost[0].at.column), (10, 36));
}

use sim_core::native::Mapping;

#[test]
fn a_keda_scaled_object_is_the_hpa_keda_creates() {
    let text = "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: { name: so }\nspec:\n  scaleTargetRef: { name: web }\n  minReplicaCount: 1\n  maxReplicaCount: 30\n  pollingInterval: 15\n  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown: { stabilizationWindowSeconds: 120 }\n  triggers:\n    - type: cpu\n      metricType: Utilization\n      metadata: { value: \"60\" }\n    - type: prometheus\n      metadata:\n        query: sum(rate(http_requests_total{app=\"web\"}[1m]))\n        threshold: \"20\"\n    - type: kafka\n      metadata: { lagThreshold: \"5\" }\n";
    let i = k8s(text);
    let s = &i.fragment["deployment"]["scaling"];
    assert_eq!(s["minReplicas"], 1);
    assert_eq!(s["maxReplicas"], 30);
    assert_eq!(
        s["metrics"],
        json!([
            { "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 60 } } },
            { "type": "Pods", "pods": { "metric": { "name": "http_requests_per_second" }, "target": { "type": "AverageValue", "averageValue": "20" } } }
        ])
    );
    assert_eq!(
        s["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        120
    );
    assert!(i
        .report
        .iter()
        .any(|m| m.directive == "trigger kafka" && m.is_unsupported()));
    // A queue query, and scaling to zero.
    let q = k8s(&text
        .replace(
            "rate(http_requests_total{app=\"web\"}[1m])",
            "redis_queue_length",
        )
        .replace("minReplicaCount: 1", "minReplicaCount: 0"));
    assert_eq!(
        q.fragment["deployment"]["scaling"]["metrics"][1]["external"]["metric"]["name"],
        "queue_depth"
    );
    assert!(q
        .report
        .iter()
        .any(|m| m.directive.starts_with("cooldownPeriod") && m.is_unsupported()));
    // Nothing fleetsim can simulate: refused, at the triggers.
    let e = import_str("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: { name: so }\nspec:\n  scaleTargetRef: { name: web }\n  triggers:\n    - type: kafka\n      metadata: {}\n", Path::new("k.yaml"), &ImportOptions::default()).unwrap_err().to_string();
    assert!(
        e.contains("k.yaml:6:3: kubernetes: no trigger fleetsim can simulate"),
        "{e}"
    );
}

#[test]
fn a_file_without_a_workload_object_is_refused() {
    let e = import_str(
        "apiVersion: v1\nkind: Service\nmetadata: { name: s }\n",
        Path::new("s.yaml"),
        &ImportOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("no Deployment, StatefulSet, HorizontalPodAutoscaler or ScaledObject"),
        "{e}"
    );
    let _: Value = json!(null);
}
