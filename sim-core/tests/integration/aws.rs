//! `sim_core::native` for AWS Application Auto Scaling (ECS): the same
//! service and policies as the API's JSON, a CloudFormation template and
//! Terraform read to the same scaling block, each setting accounted for,
//! and step scaling run through the engine as AWS documents it.

use serde_json::{json, Value};
use sim_core::native::{import_file, import_str, Format, ImportOptions, Outcome};
use sim_core::{run_model, Model, RunOptions};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> sim_core::native::Import {
    import_file(
        &root().join("scenarios/native/aws").join(name),
        &ImportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn aws(text: &str, name: &str) -> Result<sim_core::native::Import, String> {
    import_str(text, Path::new(name), &ImportOptions::default()).map_err(|e| e.to_string())
}

/// The step block all three fixtures describe.
fn step_block() -> Value {
    json!({
      "policy": "step", "minCapacity": 2, "maxCapacity": 16, "period": "60s",
      "policies": [
        { "name": "agent-scale-out",
          "alarm": { "metric": "cpu", "statistic": "Average", "comparisonOperator": "GreaterThanOrEqualToThreshold",
                     "threshold": 60.0, "evaluationPeriods": 3, "datapointsToAlarm": 2 },
          "adjustmentType": "ChangeInCapacity", "cooldown": "60s", "metricAggregationType": "Average",
          "stepAdjustments": [
            { "metricIntervalLowerBound": 0.0, "metricIntervalUpperBound": 15.0, "scalingAdjustment": 1 },
            { "metricIntervalLowerBound": 15.0, "scalingAdjustment": 3 } ] },
        { "name": "agent-scale-in",
          "alarm": { "metric": "cpu", "statistic": "Average", "comparisonOperator": "LessThanThreshold",
                     "threshold": 25.0, "evaluationPeriods": 10 },
          "adjustmentType": "PercentChangeInCapacity", "cooldown": "300s", "minAdjustmentMagnitude": 1,
          "stepAdjustments": [ { "metricIntervalUpperBound": 0.0, "scalingAdjustment": -25 } ] } ]
    })
}

fn scaling(i: &sim_core::native::Import) -> &Value {
    &i.fragment["deployment"]["scaling"]
}

#[test]
fn cloudformation_and_terraform_read_to_the_same_step_scaling() {
    let cfn = fixture("ecs-step-scaling.yaml");
    let tf = fixture("ecs-step-scaling.tf");
    assert_eq!(cfn.format, Format::Aws);
    assert_eq!(tf.format, Format::Aws);
    assert_eq!(scaling(&cfn), &step_block(), "{}", cfn.report_text());
    assert_eq!(scaling(&tf), &step_block(), "{}", tf.report_text());
    // The ECS service's DesiredCount starts the region.
    assert_eq!(
        cfn.fragment["deployment"]["regions"]["agent"]["instances"],
        3
    );
    assert_eq!(
        tf.fragment["deployment"]["regions"]["agent"]["instances"],
        3
    );
    // `!Ref MaxTasks` and `var.max_tasks` resolve to their defaults.
    assert_eq!(scaling(&cfn)["maxCapacity"], 16);
    for i in [&cfn, &tf] {
        assert_eq!(i.unsupported(), 0, "{}", i.report_text());
    }
}

#[test]
fn every_setting_is_accounted_for_with_its_line() {
    let cfn = fixture("ecs-step-scaling.yaml");
    let text = cfn.report_text();
    for (directive, line) in [
        ("ScalableTarget.MinCapacity = 2", 22),
        (
            "ScaleOutPolicy.StepScalingPolicyConfiguration.Cooldown = 60",
            36,
        ),
        (
            "ScaleOutPolicy.StepScalingPolicyConfiguration.StepAdjustments[1] (from 15, adjust 3)",
            42,
        ),
        ("CpuHighAlarm.DatapointsToAlarm = 2", 72),
        ("CpuHighAlarm.Dimensions", 64),
        ("AutoscalingRole", 97),
    ] {
        let m = cfn
            .report
            .iter()
            .find(|m| m.directive.starts_with(directive))
            .unwrap_or_else(|| panic!("{directive} not in\n{text}"));
        assert_eq!(m.at.line, line, "{directive}: {text}");
    }
    let tf = fixture("ecs-step-scaling.tf");
    let text = tf.report_text();
    for directive in [
        "aws_appautoscaling_policy.scale_out.step_scaling_policy_configuration.step_adjustment[0]",
        "aws_cloudwatch_metric_alarm.cpu_high.datapoints_to_alarm = 2",
        "aws_ecs_task_definition.agent",
        "variable.max_tasks",
    ] {
        assert!(
            tf.report.iter().any(|m| m.directive.starts_with(directive)),
            "{directive} not in\n{text}"
        );
    }
}

#[test]
fn the_apis_describe_output_reads_and_an_sns_alarm_is_only_a_notification() {
    let i = fixture("ecs-describe.json");
    let want = {
        let mut b = step_block();
        b["policies"].as_array_mut().unwrap().truncate(1);
        b
    };
    assert_eq!(scaling(&i), &want, "{}", i.report_text());
    let sns = i
        .report
        .iter()
        .find(|m| m.directive == "agent-errors")
        .unwrap();
    assert!(
        matches!(&sns.outcome, Outcome::Ignored { why } if why.contains("SNS")),
        "{sns:?}"
    );
    assert_eq!(i.unsupported(), 0, "{}", i.report_text());
}

#[test]
fn target_tracking_reads_from_a_json_template() {
    let i = fixture("ecs-target-tracking.json");
    assert_eq!(
        scaling(&i),
        &json!({ "policy": "target-tracking", "minCapacity": 4, "maxCapacity": 50, "targets": [
          { "targetValue": 70.0, "predefinedMetricType": "ECSServiceAverageCPUUtilization",
            "scaleInCooldown": "300s", "scaleOutCooldown": "60s" },
          { "targetValue": 1000.0, "predefinedMetricType": "ALBRequestCountPerTarget", "disableScaleIn": false } ] }),
        "{}",
        i.report_text()
    );
}

#[test]
fn a_policy_no_alarm_invokes_never_acts_and_is_said() {
    let i = aws(
        r#"{"PolicyName": "out", "PolicyType": "StepScaling",
            "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity",
              "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}}"#,
        "policy.json",
    )
    .unwrap();
    assert!(
        i.fragment["deployment"].get("scaling").is_none(),
        "{}",
        i.fragment
    );
    assert_eq!(i.unsupported(), 1, "{}", i.report_text());
    assert!(i.report_text().contains("never acts"));
}

#[test]
fn what_cannot_be_simulated_is_said_and_left_out() {
    let tf = r#"
resource "aws_appautoscaling_target" "t" {
  min_capacity = 1
  max_capacity = 8
}
resource "aws_appautoscaling_policy" "p" {
  name        = "p"
  policy_type = "StepScaling"
  step_scaling_policy_configuration {
    adjustment_type = "ChangeInCapacity"
    step_adjustment {
      metric_interval_lower_bound = 0
      scaling_adjustment          = 1
    }
  }
}
resource "aws_cloudwatch_metric_alarm" "p99" {
  alarm_name          = "p99"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  extended_statistic  = "p99"
  period              = 60
  evaluation_periods  = 1
  threshold           = 2
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = [aws_appautoscaling_policy.p.arn]
}
"#;
    let i = aws(tf, "main.tf").unwrap();
    assert!(i.unsupported() >= 1, "{}", i.report_text());
    assert!(
        i.report_text().contains("percentile"),
        "{}",
        i.report_text()
    );
    assert!(i.fragment["deployment"]["scaling"]
        .get("policies")
        .is_none());
}

#[test]
fn bad_input_names_its_line_and_never_panics() {
    for (text, name, line, want) in [
        (
            "resource \"aws_appautoscaling_target\" \"t\" {\n  max_capacity = \"lots\"\n}\n",
            "main.tf",
            2,
            "expected a number",
        ),
        ("resource \"x\" \"y\" {\n  a = \n}\n", "main.tf", 2, "expected a value"),
        (
            "Resources:\n  P:\n    Type: AWS::ApplicationAutoScaling::ScalingPolicy\n    Properties:\n      PolicyType: StepScaling\n      StepScalingPolicyConfiguration:\n        StepAdjustments: []\n",
            "t.yaml",
            6,
            "AdjustmentType",
        ),
        (
            "{\"PolicyType\": \"PredictiveScaling\"}",
            "p.json",
            1,
            "PredictiveScaling",
        ),
    ] {
        let e = aws(text, name).unwrap_err();
        assert!(e.contains(&format!(":{line}:")), "{name}: {e}");
        assert!(e.contains(want), "{name}: {e}");
    }
    // AWS's own rules for steps, placed at the policy.
    let gap = r#"{"ScalableTargets": [{"MinCapacity": 1, "MaxCapacity": 4}],
      "ScalingPolicies": [{"PolicyName": "p", "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity",
          "StepAdjustments": [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
                              {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}]}}],
      "MetricAlarms": [{"AlarmName": "a", "AlarmActions": ["arn:aws:autoscaling:x:policyName/p"],
        "Namespace": "AWS/ECS", "MetricName": "CPUUtilization", "Threshold": 50,
        "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 1}]}"#;
    let e = aws(gap, "d.json").unwrap_err();
    assert!(e.contains("gap") && e.contains(":2:"), "{e}");
    for junk in [
        "",
        "[]",
        "Resources: 3",
        "Resources:\n  X: {}\n",
        "{\"MetricAlarms\": 4}",
        "{\"ScalingPolicies\": [{\"StepScalingPolicyConfiguration\": 3}]}",
        "resource \"aws_appautoscaling_policy\" \"p\" { step_scaling_policy_configuration { step_adjustment { scaling_adjustment = 1e300 } } }",
        "resource",
        "Resources:\n  A: !Ref\n",
    ] {
        let _ = aws(junk, if junk.starts_with("resource") { "x.tf" } else { "x.json" });
    }
}

/// The imported policies run: every scale-out the engine logs is the step
/// AWS would take for the CPU the alarm saw, and scale-ins are 25% (at
/// least 1) and at least the 300s cooldown apart.
#[test]
fn the_imported_step_scaling_acts_as_aws_would() {
    let path = root().join("scenarios/native/aws-llm.json");
    let m = Model::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let r = run_model(&m, RunOptions::default()).unwrap();
    for run in &r.runs {
        let log = &run.scaling_log;
        let outs: Vec<_> = log
            .iter()
            .filter(|e| e.to > e.from && e.reason == "metric")
            .collect();
        let ins: Vec<_> = log.iter().filter(|e| e.to < e.from).collect();
        assert!(!outs.is_empty() && !ins.is_empty(), "{log:?}");
        for (k, e) in outs.iter().enumerate() {
            let cpu = e.cpu_percent.unwrap();
            assert!(cpu >= 60.0, "{e:?}");
            let step = if cpu - 60.0 >= 15.0 { 3 } else { 1 };
            // Outside the 60s cooldown the step adds to the current count
            // (up to the maximum of 16).
            let cooling = k > 0 && e.time - outs[k - 1].time < 60.0;
            if !cooling {
                assert_eq!(e.to, (e.from + step).min(16), "{e:?}");
            }
        }
        for e in &ins {
            let want = ((f64::from(e.from) * 0.25).floor() as u32).max(1);
            assert_eq!(e.from - e.to, want, "{e:?}");
        }
        for w in ins.windows(2) {
            let out_between = outs
                .iter()
                .any(|o| o.time > w[0].time && o.time < w[1].time);
            assert!(out_between || w[1].time - w[0].time >= 300.0, "{w:?}");
        }
        assert!(run.scaling.peak_instances > 3, "{:?}", run.scaling);
    }
}

fn temp(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fleetsim-aws-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    for (f, text) in files {
        std::fs::write(d.join(f), text).unwrap();
    }
    d
}

const TARGET: &str = r#"{"ServiceNamespace": "ecs", "ResourceId": "service/agents/agent",
  "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 2, "MaxCapacity": 16}"#;
const POLICY: &str = r#"{"PolicyName": "agent-scale-out", "PolicyType": "StepScaling",
  "ServiceNamespace": "ecs", "ResourceId": "service/agents/agent", "ScalableDimension": "ecs:service:DesiredCount",
  "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
    "MetricAggregationType": "Average",
    "StepAdjustments": [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 15, "ScalingAdjustment": 1},
                        {"MetricIntervalLowerBound": 15, "ScalingAdjustment": 3}]}}"#;
const ALARM: &str = r#"{"AlarmName": "agent-cpu-high",
  "AlarmActions": ["arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:6d89:resource/ecs/service/agents/agent:policyName/agent-scale-out"],
  "MetricName": "CPUUtilization", "Namespace": "AWS/ECS", "Statistic": "Average", "Period": 60,
  "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "Threshold": 60, "ComparisonOperator": "GreaterThanOrEqualToThreshold"}"#;

/// The three CLI inputs (`register-scalable-target`, `put-scaling-policy`,
/// `put-metric-alarm`) in three files read as one: the alarm in one file
/// invokes the policy in another.
#[test]
fn files_given_together_are_read_as_one_service() {
    let d = temp(
        "split",
        &[
            ("target.json", TARGET),
            ("policy.json", POLICY),
            ("alarm.json", ALARM),
        ],
    );
    let specs: Vec<_> = ["target.json", "policy.json", "alarm.json"]
        .iter()
        .map(|f| sim_core::native::ImportSpec {
            path: d.join(f),
            opts: ImportOptions::default(),
        })
        .collect();
    let (imports, merged) = sim_core::native::import_all(&specs).unwrap();
    let mut want = step_block();
    want["policies"].as_array_mut().unwrap().truncate(1);
    assert_eq!(merged["deployment"]["scaling"], want);
    // Each file keeps its own report.
    assert_eq!(imports.len(), 3);
    assert!(imports[2]
        .report
        .iter()
        .any(|m| m.directive.starts_with("agent-cpu-high.Threshold")));
    assert!(imports[0]
        .report
        .iter()
        .all(|m| !m.directive.contains("Threshold")));
    // Alone, the policy never acts: no alarm invokes it.
    let alone = import_file(&d.join("policy.json"), &ImportOptions::default()).unwrap();
    assert_eq!(alone.unsupported(), 1);

    // A scenario takes them as a list, and runs.
    std::fs::write(
        d.join("s.json"),
        json!({
          "name": "split", "run": { "duration": "5m", "seed": 1 },
          "workload": { "arrivals": { "ratePerSecond": 4 }, "request": { "cpuTime": { "dist": "exponential", "mean": "200ms" }, "llmCalls": 1 } },
          "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "500ms" } } } },
          "instanceTypes": { "agent": { "slots": 4, "cpus": 1 } },
          "deployment": { "import": ["target.json", "policy.json", { "file": "alarm.json", "format": "aws" }],
                          "regions": { "agent": { "instances": 2 } } }
        })
        .to_string(),
    )
    .unwrap();
    let m = Model::from_file(&d.join("s.json")).unwrap_or_else(|e| panic!("{e}"));
    let r = run_model(&m, RunOptions::default()).unwrap();
    assert!(r.runs[0].counts.conserved());
}

/// Two native files that set one key differently: an error naming both.
#[test]
fn two_files_that_disagree_are_refused() {
    let other = TARGET.replace("\"MaxCapacity\": 16", "\"MaxCapacity\": 20");
    let d = temp(
        "clash",
        &[
            ("a.json", TARGET),
            ("b.json", &other),
            ("c.json", POLICY),
            ("d.json", ALARM),
        ],
    );
    let specs: Vec<_> = ["a.json", "b.json"]
        .iter()
        .map(|f| sim_core::native::ImportSpec {
            path: d.join(f),
            opts: ImportOptions::default(),
        })
        .collect();
    // Read as AWS together, the second target is reported, not merged.
    let (imports, merged) = sim_core::native::import_all(&specs).unwrap();
    assert_eq!(merged["deployment"]["scaling"]["maxCapacity"], 16);
    assert!(
        imports[1].unsupported() >= 1,
        "{}",
        imports[1].report_text()
    );
    // Files read apart that clash are refused, naming both.
    let nginx = "upstream a { server 127.0.0.1:1; server 127.0.0.1:2; }\nserver { location / { proxy_pass http://a; } }\n";
    let nginx2 = "upstream a { least_conn; server 127.0.0.1:1; server 127.0.0.1:2; }\nserver { location / { proxy_pass http://a; } }\n";
    let d = temp("clash2", &[("one.conf", nginx), ("two.conf", nginx2)]);
    let specs: Vec<_> = ["one.conf", "two.conf"]
        .iter()
        .map(|f| sim_core::native::ImportSpec {
            path: d.join(f),
            opts: ImportOptions::default(),
        })
        .collect();
    let e = sim_core::native::import_all(&specs)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("two.conf") && e.contains("one.conf") && e.contains("loadBalancing.strategy"),
        "{e}"
    );
}
