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
        {
          "alarm": { "metric": "cpu", "statistic": "Average", "comparisonOperator": "GreaterThanOrEqualToThreshold",
                     "threshold": 60.0, "evaluationPeriods": 3, "datapointsToAlarm": 2 },
          "adjustmentType": "ChangeInCapacity", "cooldown": "60s", "metricAggregationType": "Average",
          "stepAdjustments": [
            { "metricIntervalLowerBound": 0.0, "metricIntervalUpperBound": 15.0, "scalingAdjustment": 1 },
            { "metricIntervalLowerBound": 15.0, "scalingAdjustment": 3 } ] },
        {
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
        matches!(&sns.outcome, Outcome::Ignored { why } if why.contains("notifies")),
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
            "expected a whole number",
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
    let m = Model::from_file(d.join("s.json")).unwrap_or_else(|e| panic!("{e}"));
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

/// The review's cases: each AWS setup read as AWS runs it, or said.
mod as_aws_runs_it {
    use super::*;

    fn tf(body: &str) -> sim_core::native::Import {
        aws(body, "main.tf").unwrap_or_else(|e| panic!("{e}"))
    }

    const TARGET: &str = r#"
resource "aws_appautoscaling_target" "t" {
  min_capacity = 1
  max_capacity = 20
  resource_id  = "service/c/agent"
}
"#;

    fn policy(name: &str, steps: &str) -> String {
        format!(
            r#"
resource "aws_appautoscaling_policy" "{name}" {{
  name        = "{name}"
  policy_type = "StepScaling"
  resource_id = aws_appautoscaling_target.t.resource_id
  step_scaling_policy_configuration {{
    adjustment_type = "ChangeInCapacity"
    {steps}
  }}
}}
"#
        )
    }

    fn alarm(name: &str, policy: &str, body: &str) -> String {
        format!(
            r#"
resource "aws_cloudwatch_metric_alarm" "{name}" {{
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  alarm_actions       = [aws_appautoscaling_policy.{policy}.arn]
  {body}
}}
"#
        )
    }

    /// Response time: a 1s threshold and a bound at 0.5s are 1000ms and
    /// 500ms; requests per target in 5 minutes are per second.
    #[test]
    fn step_bounds_convert_with_the_threshold() {
        let steps = "step_adjustment {\n metric_interval_lower_bound = 0\n metric_interval_upper_bound = 0.5\n scaling_adjustment = 1\n }\n step_adjustment {\n metric_interval_lower_bound = 0.5\n scaling_adjustment = 4\n }";
        let i = tf(&(TARGET.to_string()
            + &policy("p", steps)
            + &alarm("a", "p", "namespace = \"AWS/ApplicationELB\"\n metric_name = \"TargetResponseTime\"\n statistic = \"Average\"\n threshold = 1")));
        let e = &i.fragment["deployment"]["scaling"]["policies"][0];
        assert_eq!(e["alarm"]["threshold"], 1000.0);
        assert_eq!(e["stepAdjustments"][1]["metricIntervalLowerBound"], 500.0);
        let i = tf(&(TARGET.to_string()
            + &policy("p", "step_adjustment {\n metric_interval_lower_bound = 300\n scaling_adjustment = 1\n }")
            + &alarm("a", "p", "namespace = \"AWS/ApplicationELB\"\n metric_name = \"RequestCountPerTarget\"\n statistic = \"Sum\"\n period = 300\n threshold = 3000")));
        let s = &i.fragment["deployment"]["scaling"];
        assert_eq!(s["period"], "300s");
        assert_eq!(s["policies"][0]["alarm"]["threshold"], 10.0);
        assert_eq!(
            s["policies"][0]["stepAdjustments"][0]["metricIntervalLowerBound"],
            1.0
        );
    }

    /// An alarm left out does not take the period, and its lines say it
    /// is left out rather than mapped.
    #[test]
    fn a_left_out_alarm_takes_nothing() {
        let step =
            "step_adjustment {\n metric_interval_lower_bound = 0\n scaling_adjustment = 1\n }";
        let i = tf(&(TARGET.to_string()
            + &policy("p", step)
            + &alarm("bad", "p", "namespace = \"AWS/EC2\"\n metric_name = \"NetworkIn\"\n period = 300\n threshold = 5")
            + &alarm("good", "p", "namespace = \"AWS/ECS\"\n metric_name = \"CPUUtilization\"\n period = 60\n threshold = 50")));
        let s = &i.fragment["deployment"]["scaling"];
        assert_eq!(s["period"], "60s", "{}", i.report_text());
        assert_eq!(s["policies"].as_array().unwrap().len(), 1);
        let bad_period = i
            .report
            .iter()
            .find(|m| {
                m.directive
                    .starts_with("aws_cloudwatch_metric_alarm.bad.period")
            })
            .unwrap();
        assert!(
            matches!(&bad_period.outcome, Outcome::Ignored { why } if why.starts_with("left out")),
            "{bad_period:?}"
        );
        // Every alarm left out: no policy at all, and no bounds without one.
        let i = tf(&(TARGET.to_string()
            + &policy("p", step)
            + &alarm(
                "bad",
                "p",
                "namespace = \"AWS/EC2\"\n metric_name = \"NetworkIn\"\n threshold = 5",
            )));
        assert!(
            i.fragment["deployment"].get("scaling").is_none(),
            "{}",
            i.fragment
        );
        assert!(i
            .report_text()
            .contains("left out: no policy in the files can act"));
    }

    /// Policies of another scalable target, and one of the other kind,
    /// are said and left out; a TT policy needs its configuration.
    #[test]
    fn one_target_and_one_kind() {
        let other = r#"
resource "aws_appautoscaling_target" "u" {
  min_capacity = 1
  max_capacity = 99
}
resource "aws_appautoscaling_policy" "q" {
  name        = "q"
  policy_type = "StepScaling"
  resource_id = aws_appautoscaling_target.u.resource_id
  step_scaling_policy_configuration {
    adjustment_type = "ChangeInCapacity"
    step_adjustment {
      metric_interval_lower_bound = 0
      scaling_adjustment          = 10
    }
  }
}
"#;
        let step =
            "step_adjustment {\n metric_interval_lower_bound = 0\n scaling_adjustment = 1\n }";
        let cpu = "namespace = \"AWS/ECS\"\n metric_name = \"CPUUtilization\"\n threshold = 50";
        let i = tf(&(TARGET.to_string()
            + other
            + &policy("p", step)
            + &alarm("a", "p", cpu)
            + &alarm("b", "q", cpu)));
        let s = &i.fragment["deployment"]["scaling"];
        assert_eq!(
            s["policies"].as_array().unwrap().len(),
            1,
            "{}",
            i.report_text()
        );
        assert_eq!(s["maxCapacity"], 20);
        assert!(i.report_text().contains("acts on another scalable target"));
        let e = aws(
            r#"{"PolicyName": "t", "PolicyType": "TargetTrackingScaling"}"#,
            "p.json",
        )
        .unwrap_err();
        assert!(
            e.contains("has no TargetTrackingScalingPolicyConfiguration"),
            "{e}"
        );
    }

    /// Alarm actions as CloudFormation writes them (`!Sub` of an ARN,
    /// `!Join`) and Terraform's older `"${...}"`; a `!Ref` to an SNS topic
    /// is a notification.
    #[test]
    fn alarm_actions_are_recognised_as_written() {
        let cfn = r#"
Resources:
  T:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties: { MinCapacity: 1, MaxCapacity: 5 }
  Up:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      PolicyName: up
      PolicyType: StepScaling
      StepScalingPolicyConfiguration:
        AdjustmentType: ChangeInCapacity
        StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }]
  Topic:
    Type: AWS::SNS::Topic
  A:
    Type: AWS::CloudWatch::Alarm
    Condition: Prod
    Properties:
      Namespace: AWS/ECS
      MetricName: CPUUtilization
      Threshold: 50
      EvaluationPeriods: 1
      ComparisonOperator: GreaterThanThreshold
      AlarmActions:
        - !Sub "arn:aws:autoscaling:${AWS::Region}:${AWS::AccountId}:scalingPolicy:x:resource/ecs/service/c/s:policyName/up"
  B:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/ECS
      MetricName: CPUUtilization
      Threshold: 90
      EvaluationPeriods: 1
      ComparisonOperator: GreaterThanThreshold
      AlarmActions: [!Ref Topic]
"#;
        let i = aws(cfn, "t.yaml").unwrap();
        let s = &i.fragment["deployment"]["scaling"];
        assert_eq!(
            s["policies"].as_array().unwrap().len(),
            1,
            "{}",
            i.report_text()
        );
        let b = i.report.iter().find(|m| m.directive == "B").unwrap();
        assert!(
            matches!(&b.outcome, Outcome::Ignored { why } if why.contains("notifies")),
            "{b:?}"
        );
        // The resource's condition is said.
        assert!(i
            .report
            .iter()
            .any(|m| m.directive.starts_with("A.Condition") && m.is_unsupported()));
        let tf_old = TARGET.to_string()
            + &policy("p", "step_adjustment {\n metric_interval_lower_bound = 0\n scaling_adjustment = 1\n }")
            + "resource \"aws_cloudwatch_metric_alarm\" \"a\" {\n namespace = \"AWS/ECS\"\n metric_name = \"CPUUtilization\"\n threshold = 50\n evaluation_periods = 1\n comparison_operator = \"GreaterThanThreshold\"\n alarm_actions = [\"${aws_appautoscaling_policy.p.arn}\"]\n}\n";
        let i = tf(&tf_old);
        assert_eq!(
            i.fragment["deployment"]["scaling"]["policies"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "{}",
            i.report_text()
        );
    }

    /// What Terraform would not create as written is said: count and
    /// for_each, dynamic blocks, scheduled actions; count = 0 is absent.
    #[test]
    fn terraform_meta_arguments_are_said() {
        let i = tf(&(TARGET.to_string()
            + "resource \"aws_appautoscaling_scheduled_action\" \"night\" {\n schedule = \"cron(0 20 * * ? *)\"\n}\n"
            + "resource \"aws_appautoscaling_target\" \"gone\" {\n count = 0\n max_capacity = 3\n}\n"));
        assert!(i.report_text().contains("count = 0"));
        assert!(!i.report_text().contains("a second scalable target"));
        assert!(i.report.iter().any(|m| m.directive
            == "aws_appautoscaling_scheduled_action.night"
            && m.is_unsupported()));
        let dynamic = TARGET.to_string()
            + &policy("p", "dynamic \"step_adjustment\" {\n for_each = var.steps\n content {\n scaling_adjustment = 1\n }\n }");
        let e = aws(&dynamic, "main.tf").unwrap_err();
        assert!(e.contains("dynamic block is not expanded"), "{e}");
    }

    /// Numbers past what a count can hold are refused where they are.
    #[test]
    fn counts_that_overflow_are_refused() {
        let e = aws(
            "resource \"aws_ecs_service\" \"s\" {\n desired_count = 10000000000\n}\n",
            "main.tf",
        )
        .unwrap_err();
        assert!(
            e.contains("main.tf:2:") && e.contains("whole number"),
            "{e}"
        );
    }

    /// A bad step at the second policy is refused at that policy, even
    /// without a target in the files; a period CloudWatch does not allow
    /// at the alarm's Period.
    #[test]
    fn aws_rules_are_placed_at_their_resource() {
        let gap = "step_adjustment {\n metric_interval_lower_bound = 0\n metric_interval_upper_bound = 10\n scaling_adjustment = 1\n }\n step_adjustment {\n metric_interval_lower_bound = 20\n scaling_adjustment = 2\n }";
        let ok = "step_adjustment {\n metric_interval_lower_bound = 0\n scaling_adjustment = 1\n }";
        let cpu = "namespace = \"AWS/ECS\"\n metric_name = \"CPUUtilization\"\n threshold = 50";
        let text = policy("ok", ok)
            + &policy("gap", gap)
            + &alarm("a", "ok", cpu)
            + &alarm("b", "gap", cpu);
        let line = 1 + text.lines().position(|l| l.contains("\"gap\" {")).unwrap();
        let e = aws(&text, "main.tf").unwrap_err();
        assert!(
            e.contains(&format!("main.tf:{line}:")) && e.contains("gap"),
            "{e}"
        );
        let e = aws(
            &(TARGET.to_string()
                + &policy("p", ok)
                + &alarm("a", "p", &format!("{cpu}\n period = 90"))),
            "main.tf",
        )
        .unwrap_err();
        assert!(e.contains("multiple of 60"), "{e}");
    }

    /// One alarm invoking two policies: two entries, its lines once.
    #[test]
    fn an_alarm_for_two_policies_is_reported_once() {
        let ok = "step_adjustment {\n metric_interval_lower_bound = 0\n scaling_adjustment = 1\n }";
        let text = TARGET.to_string()
            + &policy("p", ok)
            + &policy("q", ok)
            + "resource \"aws_cloudwatch_metric_alarm\" \"a\" {\n namespace = \"AWS/ECS\"\n metric_name = \"CPUUtilization\"\n threshold = 50\n evaluation_periods = 1\n comparison_operator = \"GreaterThanThreshold\"\n alarm_actions = [aws_appautoscaling_policy.p.arn, aws_appautoscaling_policy.q.arn]\n}\n";
        let i = tf(&text);
        assert_eq!(
            i.fragment["deployment"]["scaling"]["policies"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let thresholds = i
            .report
            .iter()
            .filter(|m| m.directive.contains(".threshold"))
            .count();
        assert_eq!(thresholds, 1, "{}", i.report_text());
    }

    #[test]
    fn treat_missing_data_ignore_is_said() {
        let ok = "step_adjustment {\n metric_interval_lower_bound = 0\n scaling_adjustment = 1\n }";
        let i = tf(&(TARGET.to_string()
            + &policy("p", ok)
            + &alarm("a", "p", "namespace = \"AWS/ECS\"\n metric_name = \"CPUUtilization\"\n threshold = 50\n treat_missing_data = \"ignore\"")));
        assert!(i
            .report
            .iter()
            .any(|m| m.directive.contains("treat_missing_data") && m.is_unsupported()));
    }
}
