use super::*;

fn m(x: u64) -> Nanos {
    Nanos::from_secs(60 * x)
}

fn step(json: &str) -> StepScaling {
    let c: StepScalingConfig = serde_json::from_str(json).unwrap();
    c.validate().unwrap();
    StepScaling::new(c)
}

fn at(cpu: f64, n: u32) -> Vec<InstanceSample> {
    vec![
        InstanceSample {
            ready: true,
            cpu_utilization: Some(cpu),
            ..Default::default()
        };
        n as usize
    ]
}

/// Decides at minute `k` with `n` instances at `cpu`, and applies it.
fn tick(s: &mut StepScaling, k: u64, n: u32, cpu: f64) -> u32 {
    let d = s.decide(m(k), &ScaleInput::new(n, &at(cpu, n)));
    if d.desired != n {
        s.applied(m(k), n, d.desired);
    }
    d.desired
}

/// The user guide's pair of policies: out at 60 (+10% from 60, +30% from
/// 70), in at 40 (-10% to 30, -30% at or below 30), no cooldown.
const GUIDE: &str = r#"{"minCapacity": 1, "maxCapacity": 100, "policies": [
  {"alarm": {"metric": "cpu", "comparisonOperator": "GreaterThanOrEqualToThreshold", "threshold": 60},
   "adjustmentType": "PercentChangeInCapacity", "cooldown": "0s",
   "stepAdjustments": [
     {"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 10, "scalingAdjustment": 10},
     {"metricIntervalLowerBound": 10, "scalingAdjustment": 30}]},
  {"alarm": {"metric": "cpu", "comparisonOperator": "LessThanOrEqualToThreshold", "threshold": 40},
   "adjustmentType": "PercentChangeInCapacity", "cooldown": "0s",
   "stepAdjustments": [
     {"metricIntervalLowerBound": -10, "metricIntervalUpperBound": 0, "scalingAdjustment": -10},
     {"metricIntervalUpperBound": -10, "scalingAdjustment": -30}]}]}"#;

/// AWS's worked example: 10 at 60 goes to 11 (10% of 10); at 70 to 14
/// (30% of 11 = 3.3, down to 3); at 40 to 13 (10% of 14 = 1.4, down to
/// 1); at 30 to 10 (30% of 13 = 3.9, down to 3). Between 40 and 60 it
/// holds.
#[test]
fn the_user_guide_example() {
    let mut s = step(GUIDE);
    assert_eq!(tick(&mut s, 0, 10, 50.0), 10);
    assert_eq!(tick(&mut s, 1, 10, 60.0), 11);
    assert_eq!(tick(&mut s, 2, 11, 70.0), 14);
    assert_eq!(tick(&mut s, 3, 14, 40.0), 13);
    assert_eq!(tick(&mut s, 4, 13, 30.0), 10);
    assert_eq!(tick(&mut s, 5, 10, 59.9), 10);
    assert_eq!(tick(&mut s, 6, 10, 40.1), 10);
}

/// AWS's rounding of a percent change, and `MinAdjustmentMagnitude`'s
/// example: 25% of 4 tasks is 1, raised to the minimum of 2.
#[test]
fn percent_changes_round_as_aws_rounds() {
    for (base, pct, min, want) in [
        (10, 10, None, 1),
        (11, 30, None, 3),
        (14, -10, None, -1),
        (13, -30, None, -3),
        (5, 10, None, 1),    // 0.5 rounds to 1
        (5, -10, None, -1),  // -0.5 rounds to -1
        (9, 141, None, 12),  // 12.69 rounds down to 12
        (3, -222, None, -6), // -6.66 rounds up to -6
        (0, 50, None, 0),
        (4, 25, Some(2), 2),
        (4, -25, Some(2), -2),
        (40, 25, Some(2), 10),
    ] {
        assert_eq!(percent_change(base, pct, min), want, "{pct}% of {base}");
    }
}

/// The cooldown example: +2, then a +3 step during the cooldown adds only
/// 1 (the 2 already added count); a smaller step is held; after the
/// cooldown the policy scales from the current capacity again.
#[test]
fn the_scale_out_cooldown_counts_what_the_last_scale_out_added() {
    let mut s = step(
        r#"{"maxCapacity": 100, "policies": [
          {"alarm": {"metric": "cpu", "comparisonOperator": "GreaterThanThreshold", "threshold": 50},
           "adjustmentType": "ChangeInCapacity", "cooldown": "300s",
           "stepAdjustments": [
             {"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 10, "scalingAdjustment": 2},
             {"metricIntervalLowerBound": 10, "scalingAdjustment": 3}]}]}"#,
    );
    assert_eq!(tick(&mut s, 0, 10, 55.0), 12);
    assert_eq!(tick(&mut s, 1, 12, 65.0), 13);
    let d = s.decide(m(2), &ScaleInput::new(13, &at(55.0, 13)));
    assert_eq!((d.desired, d.reason), (13, ScaleReason::Cooldown));
    // The cooldown began at minute 0 and ends at minute 5.
    assert_eq!(tick(&mut s, 4, 13, 55.0), 13);
    assert_eq!(tick(&mut s, 5, 13, 55.0), 15);
}

/// A scale-in blocks the policy's scale-ins for its cooldown; a scale-out
/// by another alarm ends that cooldown at once.
#[test]
fn a_scale_out_ends_the_scale_in_cooldown() {
    let mut s = step(
        r#"{"maxCapacity": 100, "policies": [
          {"alarm": {"metric": "cpu", "comparisonOperator": "GreaterThanOrEqualToThreshold", "threshold": 80},
           "adjustmentType": "ChangeInCapacity", "cooldown": "0s",
           "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]},
          {"alarm": {"metric": "cpu", "comparisonOperator": "LessThanThreshold", "threshold": 30},
           "adjustmentType": "ChangeInCapacity", "cooldown": "600s",
           "stepAdjustments": [{"metricIntervalUpperBound": 0, "scalingAdjustment": -1}]}]}"#,
    );
    assert_eq!(tick(&mut s, 0, 10, 20.0), 9);
    let d = s.decide(m(1), &ScaleInput::new(9, &at(20.0, 9)));
    assert_eq!((d.desired, d.reason), (9, ScaleReason::Cooldown));
    assert_eq!(tick(&mut s, 2, 9, 90.0), 10);
    assert_eq!(tick(&mut s, 3, 10, 20.0), 9);
}

/// The alarm needs `datapointsToAlarm` breaching of the last
/// `evaluationPeriods`, not in a row; while in ALARM it acts every period.
#[test]
fn the_alarm_fires_on_m_out_of_n_datapoints() {
    let mut s = step(
        r#"{"maxCapacity": 100, "policies": [
          {"alarm": {"metric": "cpu", "comparisonOperator": "GreaterThanThreshold", "threshold": 70,
                     "evaluationPeriods": 3, "datapointsToAlarm": 2},
           "adjustmentType": "ChangeInCapacity", "cooldown": "0s",
           "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]}]}"#,
    );
    assert_eq!(tick(&mut s, 0, 4, 80.0), 4);
    assert_eq!(tick(&mut s, 1, 4, 60.0), 4);
    // [80, 60, 80]: two of three breach: ALARM.
    assert_eq!(tick(&mut s, 2, 4, 80.0), 5);
    // [60, 80, 80]: still ALARM, the step applies again.
    assert_eq!(tick(&mut s, 3, 5, 80.0), 6);
    // [80, 80, 69]: ALARM, but the latest value (under the threshold)
    // falls in no step: nothing to do.
    assert_eq!(tick(&mut s, 4, 6, 69.0), 6);
    // [80, 69, 60]: one breaching: OK.
    assert_eq!(tick(&mut s, 5, 6, 60.0), 6);
}

/// `Maximum` fires on one hot instance the average hides.
#[test]
fn the_statistic_is_taken_over_the_instances() {
    let json = |stat: &str| {
        format!(
            r#"{{"maxCapacity": 100, "policies": [
              {{"alarm": {{"metric": "cpu", "statistic": "{stat}", "comparisonOperator": "GreaterThanThreshold", "threshold": 90}},
               "adjustmentType": "ChangeInCapacity", "cooldown": "0s", "metricAggregationType": "{stat}",
               "stepAdjustments": [{{"metricIntervalLowerBound": 0, "scalingAdjustment": 2}}]}}]}}"#
        )
    };
    let mut fleet = at(40.0, 4);
    fleet[2].cpu_utilization = Some(95.0);
    let mut max = step(&json("Maximum"));
    assert_eq!(max.decide(m(0), &ScaleInput::new(4, &fleet)).desired, 6);
    let mut avg = step(&json("Average"));
    assert_eq!(avg.decide(m(0), &ScaleInput::new(4, &fleet)).desired, 4);
    let mut min = step(&json("Minimum"));
    assert_eq!(min.decide(m(0), &ScaleInput::new(4, &fleet)).desired, 4);
}

/// `ExactCapacity` sets the count, bounded by min and max.
#[test]
fn exact_capacity_sets_the_count() {
    let mut s = step(
        r#"{"minCapacity": 2, "maxCapacity": 12, "policies": [
          {"alarm": {"metric": "cpu", "comparisonOperator": "GreaterThanThreshold", "threshold": 50},
           "adjustmentType": "ExactCapacity", "cooldown": "0s",
           "stepAdjustments": [
             {"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 30, "scalingAdjustment": 8},
             {"metricIntervalLowerBound": 30, "scalingAdjustment": 20}]}]}"#,
    );
    assert_eq!(tick(&mut s, 0, 4, 60.0), 8);
    let d = s.decide(m(1), &ScaleInput::new(8, &at(85.0, 8)));
    assert_eq!(
        (d.desired, d.wanted, d.reason),
        (12, 20, ScaleReason::AtMax)
    );
}

/// Two alarms at once: the larger capacity wins, so out beats in.
#[test]
fn the_largest_capacity_wins() {
    let mut s = step(
        r#"{"maxCapacity": 100, "policies": [
          {"alarm": {"metric": "cpu", "comparisonOperator": "GreaterThanThreshold", "threshold": 50},
           "adjustmentType": "ChangeInCapacity", "cooldown": "0s",
           "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]},
          {"alarm": {"metric": "connections", "comparisonOperator": "LessThanThreshold", "threshold": 5},
           "adjustmentType": "ChangeInCapacity", "cooldown": "0s",
           "stepAdjustments": [{"metricIntervalUpperBound": 0, "scalingAdjustment": -3}]}]}"#,
    );
    let d = s.decide(m(0), &ScaleInput::new(6, &at(70.0, 6)));
    assert_eq!((d.desired, d.metric), (7, Some(ScaleMetric::Cpu)));
}

/// AWS's rules for step adjustments, each refused with what to fix.
#[test]
fn bad_steps_are_refused() {
    let policy = |steps: &str, extra: &str| {
        format!(
            r#"{{"maxCapacity": 10, "policies": [
              {{"alarm": {{"metric": "cpu", "comparisonOperator": "GreaterThanThreshold", "threshold": 50}},
               "adjustmentType": "ChangeInCapacity" {extra}, "stepAdjustments": [{steps}]}}]}}"#
        )
    };
    let cases = [
        (policy("", ""), "at least one step"),
        (policy(r#"{"scalingAdjustment": 1}"#, ""), "both bounds"),
        (
            policy(
                r#"{"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 20, "scalingAdjustment": 1},
                   {"metricIntervalLowerBound": 10, "scalingAdjustment": 2}"#,
                "",
            ),
            "overlap",
        ),
        (
            policy(
                r#"{"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 10, "scalingAdjustment": 1},
                   {"metricIntervalLowerBound": 20, "scalingAdjustment": 2}"#,
                "",
            ),
            "gap",
        ),
        (
            policy(
                r#"{"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 10, "scalingAdjustment": 1}"#,
                "",
            ),
            "no upper bound",
        ),
        (
            policy(
                r#"{"metricIntervalLowerBound": -10, "scalingAdjustment": 1}"#,
                "",
            ),
            "no lower bound",
        ),
        (
            policy(
                r#"{"metricIntervalLowerBound": 10, "metricIntervalUpperBound": 5, "scalingAdjustment": 1}"#,
                "",
            ),
            "below its upper bound",
        ),
        (
            policy(
                r#"{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}"#,
                r#", "minAdjustmentMagnitude": 2"#,
            ),
            "PercentChangeInCapacity",
        ),
    ];
    for (json, want) in cases {
        let c: StepScalingConfig = serde_json::from_str(&json).unwrap();
        let e = c.validate().unwrap_err();
        assert!(e.message.contains(want), "{want}: {}", e.message);
    }
    let exact = r#"{"maxCapacity": 10, "policies": [
      {"alarm": {"metric": "cpu", "comparisonOperator": "GreaterThanThreshold", "threshold": 50},
       "adjustmentType": "ExactCapacity", "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": -1}]}]}"#;
    let c: StepScalingConfig = serde_json::from_str(exact).unwrap();
    assert!(c.validate().unwrap_err().message.contains("at least 0"));
    let m_of_n = r#"{"maxCapacity": 10, "policies": [
      {"alarm": {"metric": "cpu", "comparisonOperator": "GreaterThanThreshold", "threshold": 50,
                 "evaluationPeriods": 2, "datapointsToAlarm": 3},
       "adjustmentType": "ChangeInCapacity", "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]}]}"#;
    let c: StepScalingConfig = serde_json::from_str(m_of_n).unwrap();
    assert!(c.validate().unwrap_err().message.contains("3 of 2"));
}

/// The threshold belongs to the steps above it for a "greater" alarm, to
/// the steps below it for a "less" alarm, as AWS's two examples put it.
#[test]
fn the_threshold_falls_on_the_alarms_side() {
    let s = StepAdjustment {
        metric_interval_lower_bound: Some(0.0),
        metric_interval_upper_bound: Some(10.0),
        scaling_adjustment: 1,
    };
    assert!(s.holds(0.0, true));
    assert!(!s.holds(10.0, true));
    assert!(!s.holds(0.0, false));
    let below = StepAdjustment {
        metric_interval_lower_bound: Some(-10.0),
        metric_interval_upper_bound: Some(0.0),
        scaling_adjustment: -1,
    };
    assert!(below.holds(0.0, false));
    assert!(!below.holds(-10.0, false));
    assert!(below.holds(-9.99, false));
}

/// A five-minute alarm takes a datapoint every five minutes, but while it
/// stays in ALARM it invokes its policy every minute (CloudWatch invokes
/// Auto Scaling actions once a minute); the checks are a minute apart.
#[test]
fn an_alarm_in_alarm_invokes_once_a_minute_whatever_its_period() {
    let mut s = step(
        r#"{"maxCapacity": 100, "period": "300s", "policies": [
          {"alarm": {"metric": "cpu", "comparisonOperator": "GreaterThanThreshold", "threshold": 50},
           "adjustmentType": "ChangeInCapacity", "cooldown": "0s",
           "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]}]}"#,
    );
    assert_eq!(s.interval(), m(1));
    let mut n = 4;
    for k in 1..=5 {
        n = tick(&mut s, k, n, 80.0);
    }
    // One datapoint (taken at minute 1) kept the alarm up five minutes.
    assert_eq!(n, 9);
    // The next datapoint, at minute 6, is under the threshold: OK.
    assert_eq!(tick(&mut s, 6, n, 20.0), 9);
    assert_eq!(tick(&mut s, 7, n, 80.0), 9, "no datapoint until minute 11");

    // A ten-second alarm is checked every ten seconds and acts as it goes
    // into ALARM, then once a minute.
    let mut s = step(
        r#"{"maxCapacity": 100, "period": "10s", "policies": [
          {"alarm": {"metric": "cpu", "comparisonOperator": "GreaterThanThreshold", "threshold": 50},
           "adjustmentType": "ChangeInCapacity", "cooldown": "0s",
           "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]}]}"#,
    );
    assert_eq!(s.interval(), Nanos::from_secs(10));
    let mut n = 4;
    let mut changes = Vec::new();
    for k in 1..=13u64 {
        let now = Nanos::from_secs(10 * k);
        let d = s.decide(now, &ScaleInput::new(n, &at(80.0, n)));
        if d.desired != n {
            s.applied(now, n, d.desired);
            changes.push(10 * k);
            n = d.desired;
        }
    }
    assert_eq!(changes, [10, 70, 130]);
}

/// A held decision says what the policy asked for.
#[test]
fn a_held_decision_keeps_what_was_wanted() {
    let mut s = step(
        r#"{"maxCapacity": 100, "policies": [
          {"alarm": {"metric": "cpu", "comparisonOperator": "LessThanThreshold", "threshold": 30},
           "adjustmentType": "ChangeInCapacity", "cooldown": "600s",
           "stepAdjustments": [{"metricIntervalUpperBound": 0, "scalingAdjustment": -2}]}]}"#,
    );
    assert_eq!(tick(&mut s, 1, 10, 10.0), 8);
    let d = s.decide(m(2), &ScaleInput::new(8, &at(10.0, 8)));
    assert_eq!(
        (d.desired, d.wanted, d.reason),
        (8, 6, ScaleReason::Cooldown)
    );
}

#[test]
fn periods_and_statistics_aws_does_not_allow_are_refused() {
    let cfg = |period: &str, metric: &str, stat: &str| {
        format!(
            r#"{{"maxCapacity": 10, "period": "{period}", "policies": [
              {{"alarm": {{"metric": "{metric}", "statistic": "{stat}", "comparisonOperator": "GreaterThanThreshold", "threshold": 5}},
               "adjustmentType": "ChangeInCapacity",
               "stepAdjustments": [{{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}}]}}]}}"#
        )
    };
    for (period, metric, stat, want) in [
        ("45s", "cpu", "Average", "multiple of 60s"),
        ("90s", "cpu", "Average", "multiple of 60s"),
        ("60s", "responseTime", "Maximum", "region's own figure"),
        ("60s", "queueDepth", "Minimum", "region's own figure"),
    ] {
        let c: StepScalingConfig = serde_json::from_str(&cfg(period, metric, stat)).unwrap();
        let e = c.validate().unwrap_err();
        assert!(e.message.contains(want), "{period} {metric}: {}", e.message);
    }
    for period in ["10s", "20s", "30s", "60s", "300s"] {
        let c: StepScalingConfig = serde_json::from_str(&cfg(period, "cpu", "Maximum")).unwrap();
        c.validate().unwrap();
    }
}
