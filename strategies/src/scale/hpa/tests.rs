//! Ported from Kubernetes `pkg/controller/podautoscaler`:
//! `replica_calculator_test.go` (resource, custom and external cases, the
//! configurable tolerances) and `horizontal_test.go`
//! (`TestNormalizeDesiredReplicasWithBehavior`, `TestScalingWithRules`,
//! the scale-limit functions). Values are in thousandths as there; each
//! pod has one container (the Kubernetes harness gives each pod two with
//! the same request and level, which leaves every ratio unchanged).

use super::*;
use PodState::{Missing, Ready, Unready};

const TOL: Tolerances = Tolerances {
    scale_down: 0.1,
    scale_up: 0.1,
};

fn pods(spec: &[(PodState, i64, i64)]) -> Vec<Pod> {
    spec.iter()
        .map(|&(state, request, value)| Pod {
            state,
            request,
            value,
        })
        .collect()
}

fn cpu(current: u32, spec: &[(PodState, i64)], target: i64) -> Option<u32> {
    let p: Vec<(PodState, i64, i64)> = spec.iter().map(|&(s, v)| (s, 1000, v)).collect();
    resource_replicas(current, &pods(&p), target, TOL)
}

#[test]
fn replica_calc_resource_cases() {
    // TestReplicaCalcScaleUp: 50% against 30%.
    assert_eq!(
        cpu(3, &[(Ready, 300), (Ready, 500), (Ready, 700)], 30),
        Some(5)
    );
    // ScaleUpUnreadyLessScale: the unready pod counts as 0 on scale-up.
    assert_eq!(
        cpu(3, &[(Unready, 300), (Ready, 500), (Ready, 700)], 30),
        Some(4)
    );
    // ScaleUpUnreadyNoScale: with the unready at 0 the direction flips.
    assert_eq!(
        cpu(3, &[(Ready, 400), (Unready, 500), (Unready, 700)], 30),
        Some(3)
    );
    // ScaleDown.
    assert_eq!(
        cpu(
            5,
            &[
                (Ready, 100),
                (Ready, 300),
                (Ready, 500),
                (Ready, 250),
                (Ready, 250)
            ],
            50
        ),
        Some(3)
    );
    // ScaleDownExcludeUnreadyPods.
    assert_eq!(
        cpu(
            5,
            &[
                (Ready, 100),
                (Ready, 300),
                (Ready, 500),
                (Unready, 250),
                (Unready, 250)
            ],
            50
        ),
        Some(2)
    );
    // ScaleDownExcludeUnscheduledPods (pending pods are unready).
    assert_eq!(
        cpu(
            5,
            &[
                (Ready, 100),
                (Unready, 0),
                (Unready, 0),
                (Unready, 0),
                (Unready, 0)
            ],
            50
        ),
        Some(1)
    );
    // Tolerance: 102% against 100%.
    let p = pods(&[(Ready, 900, 1010), (Ready, 1000, 1030), (Ready, 1100, 1020)]);
    assert_eq!(resource_replicas(3, &p, 100, TOL), Some(3));
    // MissingMetrics: missing pods at 100% of their request on scale-down.
    assert_eq!(
        cpu(
            4,
            &[(Ready, 400), (Ready, 95), (Missing, 0), (Missing, 0)],
            100
        ),
        Some(3)
    );
    // MissingMetricsNoChangeEq / Gt / Lt.
    assert_eq!(cpu(2, &[(Ready, 1000), (Missing, 0)], 100), Some(2));
    assert_eq!(cpu(2, &[(Ready, 1900), (Missing, 0)], 100), Some(2));
    assert_eq!(cpu(2, &[(Ready, 600), (Missing, 0)], 100), Some(2));
    // MissingMetricsUnreadyChange / ScaleUp / ScaleDown.
    assert_eq!(
        cpu(3, &[(Unready, 100), (Ready, 450), (Missing, 0)], 50),
        Some(3)
    );
    assert_eq!(
        cpu(3, &[(Unready, 100), (Ready, 2000), (Missing, 0)], 50),
        Some(4)
    );
    assert_eq!(
        cpu(
            4,
            &[(Unready, 100), (Ready, 100), (Ready, 100), (Missing, 0)],
            50
        ),
        Some(3)
    );
    // MissingMetricsScaleDownTargetOver100: missing filled at 300%.
    let p = pods(&[
        (Unready, 1000, 200),
        (Ready, 1000, 100),
        (Ready, 2000, 100),
        (Missing, 2000, 0),
    ]);
    assert_eq!(resource_replicas(4, &p, 300, TOL), Some(2));
    // DuringRollingUpdateWithMaxSurge: never up while the ratio says down.
    assert_eq!(
        cpu(2, &[(Ready, 100), (Ready, 100), (Missing, 0)], 50),
        Some(2)
    );
    // No ready pod with a metric: no proposal.
    assert_eq!(cpu(2, &[(Unready, 100), (Missing, 0)], 50), None);
}

#[test]
fn replica_calc_configurable_tolerance_cases() {
    let reqs = [900, 1000, 1100];
    let run = |levels: [i64; 3], tol: Tolerances| {
        let p: Vec<Pod> = reqs
            .iter()
            .zip(levels)
            .map(|(&request, value)| Pod {
                state: Ready,
                request,
                value,
            })
            .collect();
        resource_replicas(3, &p, 100, tol)
    };
    let t = |scale_down, scale_up| Tolerances {
        scale_down,
        scale_up,
    };
    assert_eq!(run([909, 1010, 1111], t(0.0, 0.0)), Some(4));
    assert_eq!(run([1890, 1910, 1900], t(0.1, 2.0)), Some(3));
    assert_eq!(run([1100, 1080, 1090], t(2.0, 0.08)), Some(4));
    assert_eq!(run([660, 640, 650], t(0.36, 0.1)), Some(3));
    assert_eq!(run([660, 640, 650], t(0.34, 0.1)), Some(2));
    // ConfigurableToleranceCM (pods metric) and PerPodCMExternal.
    let p = pods(&[(Ready, 0, 20000), (Ready, 0, 21000), (Ready, 0, 21000)]);
    assert_eq!(plain_metric_replicas(3, &p, 20000, t(0.1, 0.01)), Some(4));
    assert_eq!(external_per_pod_replicas(3, 8600, 2800, t(0.1, 0.01)), 4);
    assert_eq!(external_value_replicas(3, 3, 8900, 8800, t(0.1, 0.01)), 4);
}

#[test]
fn replica_calc_custom_and_external_cases() {
    let cm = |current, spec: &[(PodState, i64)], target| {
        let p: Vec<(PodState, i64, i64)> = spec.iter().map(|&(s, v)| (s, 0, v)).collect();
        plain_metric_replicas(current, &pods(&p), target, TOL)
    };
    assert_eq!(
        cm(3, &[(Ready, 20000), (Ready, 10000), (Ready, 30000)], 15000),
        Some(4)
    );
    assert_eq!(cm(5, &[(Ready, 12000); 5], 20000), Some(3));
    assert_eq!(
        cm(3, &[(Ready, 20000), (Ready, 21000), (Ready, 21000)], 20000),
        Some(3)
    );
    // PlainMetricReplicaCalcMissingMetricsNoChangeEq.
    assert_eq!(
        cm(
            5,
            &[
                (Ready, 20000),
                (Ready, 19000),
                (Ready, 21000),
                (Missing, 0),
                (Missing, 0)
            ],
            20000
        ),
        Some(5)
    );
    // DuringRollingUpdateWithMaxSurgeCM.
    assert_eq!(
        cm(2, &[(Ready, 10000), (Ready, 10000), (Missing, 0)], 17000),
        Some(2)
    );
    // External AverageValue: ceil(total / target), whatever the readiness.
    assert_eq!(external_per_pod_replicas(3, 8600, 2150, TOL), 4);
    assert_eq!(external_per_pod_replicas(5, 8600, 2867, TOL), 3);
    assert_eq!(external_per_pod_replicas(3, 8600, 2900, TOL), 3);
    // External Value: ratio times ready pods.
    assert_eq!(external_value_replicas(3, 1, 8600, 4400, TOL), 2);
    assert_eq!(external_value_replicas(5, 5, 8600, 14334, TOL), 3);
    assert_eq!(external_value_replicas(3, 3, 8600, 8888, TOL), 3);
    // From zero: ceil(ratio), tolerance ignored (TestScaleUpFromZero...).
    assert_eq!(external_value_replicas(0, 0, 20000, 15000, TOL), 2);
    assert_eq!(external_value_replicas(0, 0, 1000, 1000, TOL), 1);
}

const NOW: Nanos = Nanos(3_600_000_000_000_000);

fn ago(s: u64) -> Nanos {
    NOW - Nanos::from_secs(s)
}

/// `TestNormalizeDesiredReplicasWithBehavior`.
#[test]
fn stabilization_cases() {
    let case = |recs: &[(u32, u64)], current, desired, up: u64, down: u64| {
        let mut h = History {
            recommendations: recs.iter().map(|&(r, age)| (ago(age), r)).collect(),
            ..History::default()
        };
        let out = h.stabilize(
            NOW,
            current,
            desired,
            Nanos::from_secs(up),
            Nanos::from_secs(down),
        );
        let stored: Vec<u32> = h.recommendations.iter().map(|r| r.1).collect();
        (out, stored)
    };
    assert_eq!(case(&[], 100, 5, 0, 0), (5, vec![5]));
    assert_eq!(
        case(&[(4, 120), (5, 60)], 100, 3, 0, 180),
        (5, vec![4, 5, 3])
    );
    assert_eq!(case(&[(4, 120), (5, 60)], 1, 7, 300, 0), (4, vec![4, 5, 7]));
    assert_eq!(
        case(&[(1, 120), (2, 60)], 100, 3, 300, 0),
        (3, vec![1, 2, 3])
    );
    assert_eq!(case(&[(4, 120), (5, 60)], 1, 3, 0, 300), (3, vec![4, 5, 3]));
    assert_eq!(case(&[(10, 600), (9, 540)], 100, 3, 0, 0), (3, vec![10, 3]));
    assert_eq!(
        case(&[(10, 600), (9, 540)], 1, 100, 0, 0),
        (100, vec![10, 100])
    );
    assert_eq!(
        case(&[(10, 600), (4, 60), (5, 120), (9, 540)], 100, 3, 0, 180),
        (5, vec![10, 4, 5, 3])
    );
    assert_eq!(
        case(&[(10, 6000), (6, 60), (5, 120), (9, 180)], 1, 100, 300, 0),
        (5, vec![100, 6, 5, 9])
    );
    assert_eq!(case(&[(2, 6000), (3, 180)], 2, 1, 300, 300).0, 2);
    assert_eq!(case(&[(2, 6000), (1, 180)], 2, 3, 300, 300).0, 2);
}

/// Events spread over `period` seconds as Kubernetes'
/// `generateEventsUniformDistribution`.
fn spread(changes: &[u32], period: u64) -> Vec<(Nanos, u32, bool)> {
    let n = changes.len() as u64;
    let step = period / n;
    changes
        .iter()
        .enumerate()
        .map(|(i, &c)| (ago(period - step * i as u64 - step / 2), c, false))
        .collect()
}

fn rules(up: bool, pods: u32, pods_period: u32, percent: u32, percent_period: u32) -> Rules {
    let mut policies = Vec::new();
    if pods > 0 {
        policies.push(HpaPolicy {
            kind: HpaPolicyType::Pods,
            value: pods,
            period_seconds: pods_period,
        });
    }
    if percent > 0 {
        policies.push(HpaPolicy {
            kind: HpaPolicyType::Percent,
            value: percent,
            period_seconds: percent_period,
        });
    }
    let given = HpaRules {
        policies: Some(policies),
        ..HpaRules::default()
    };
    HpaRules::resolve(Some(&given), up, 0.1)
}

fn default_rules(up: bool) -> Rules {
    HpaRules::resolve(None, up, 0.1)
}

/// `TestScalingWithRules`: (up events, down events, min, max, up rules,
/// down rules, current, desired) -> expected.
#[test]
fn scaling_with_rules_cases() {
    type Case = (
        &'static [u32],
        &'static [u32],
        u32,
        u32,
        Rules,
        Rules,
        u32,
        u32,
        u32,
    );
    let d = default_rules;
    let cases: Vec<Case> = vec![
        (&[], &[], 3, 8, d(true), d(false), 5, 7, 7),
        (&[], &[], 2, 8, d(true), d(false), 3, 1, 2),
        (&[], &[], 0, 10, d(true), d(false), 1, 0, 0),
        (&[], &[], 1, 10, d(true), d(false), 20, 1000, 10),
        (&[], &[], 100, 150, d(true), d(false), 100, 1000, 150),
        (
            &[],
            &[],
            1,
            2000,
            rules(true, 0, 0, 1, 60),
            d(false),
            3,
            1000,
            4,
        ),
        (&[], &[], 1, 1000, d(true), d(false), 10, 50, 20),
        (
            &[],
            &[],
            1,
            1000,
            rules(true, 100, 60, 100, 60),
            d(false),
            10,
            500,
            110,
        ),
        (
            &[],
            &[],
            1,
            1000,
            rules(true, 2, 60, 100, 60),
            d(false),
            10,
            500,
            20,
        ),
        (
            &[],
            &[],
            1,
            1000,
            rules(true, 100, 60, 0, 0),
            d(false),
            10,
            50,
            50,
        ),
        (
            &[],
            &[],
            1,
            1000,
            rules(true, 30, 60, 0, 0),
            d(false),
            10,
            50,
            40,
        ),
        (
            &[],
            &[],
            1,
            1000,
            rules(true, 0, 0, 200, 60),
            d(false),
            10,
            50,
            30,
        ),
        (
            &[],
            &[],
            1,
            1000,
            d(true),
            rules(false, 20, 60, 1, 60),
            100,
            2,
            80,
        ),
        (
            &[],
            &[],
            1,
            1000,
            d(true),
            rules(false, 2, 60, 1, 60),
            100,
            2,
            98,
        ),
        (
            &[],
            &[],
            1,
            1000,
            d(true),
            rules(false, 100, 60, 0, 0),
            10,
            0,
            1,
        ),
        (
            &[],
            &[],
            5,
            1000,
            d(true),
            rules(false, 0, 0, 100, 60),
            10,
            2,
            5,
        ),
        (
            &[],
            &[],
            1,
            1000,
            d(true),
            rules(false, 5, 60, 0, 0),
            10,
            2,
            5,
        ),
        (
            &[],
            &[],
            1,
            1000,
            d(true),
            rules(false, 0, 0, 50, 60),
            10,
            5,
            5,
        ),
        (
            &[1, 5, 9],
            &[],
            1,
            200,
            rules(true, 300, 60, 0, 0),
            d(false),
            100,
            500,
            200,
        ),
        (
            &[1, 5, 9],
            &[],
            1,
            200,
            rules(true, 0, 0, 10000, 60),
            d(false),
            100,
            500,
            200,
        ),
        (
            &[1, 5, 9],
            &[],
            1,
            1000,
            rules(true, 5, 120, 0, 0),
            d(false),
            100,
            500,
            100,
        ),
        (
            &[1, 5, 9],
            &[],
            1,
            1000,
            rules(true, 150, 120, 0, 0),
            d(false),
            100,
            500,
            235,
        ),
        (
            &[1, 5, 9],
            &[],
            1,
            1000,
            rules(true, 0, 0, 200, 120),
            d(false),
            100,
            500,
            255,
        ),
        (
            &[4],
            &[2],
            1,
            1000,
            rules(true, 0, 0, 300, 300),
            d(false),
            6,
            24,
            16,
        ),
        (&[], &[1, 5, 9], 1, 1000, d(true), d(false), 10, 5, 5),
        (
            &[],
            &[1, 5, 9],
            1,
            1000,
            d(true),
            rules(false, 115, 120, 0, 0),
            100,
            0,
            1,
        ),
        (
            &[],
            &[1, 5, 9],
            5,
            1000,
            d(true),
            rules(false, 130, 120, 0, 0),
            100,
            0,
            5,
        ),
        (
            &[],
            &[1, 5, 9],
            5,
            1000,
            d(true),
            rules(false, 0, 0, 100, 120),
            100,
            2,
            5,
        ),
        (
            &[],
            &[1, 5, 9],
            1,
            1000,
            d(true),
            rules(false, 5, 120, 0, 0),
            100,
            2,
            100,
        ),
        (
            &[],
            &[2, 4, 6],
            1,
            1000,
            d(true),
            rules(false, 0, 0, 50, 120),
            100,
            0,
            56,
        ),
        (
            &[2],
            &[4],
            1,
            1000,
            d(true),
            rules(false, 0, 0, 50, 180),
            10,
            1,
            6,
        ),
        (
            &[],
            &[10, 10, 10],
            1,
            1000,
            d(true),
            rules(false, 0, 0, 10, 120),
            100,
            0,
            100,
        ),
        (
            &[],
            &[10, 10, 10],
            1,
            1000,
            d(true),
            rules(false, 0, 0, 1000, 120),
            10,
            5,
            5,
        ),
        (
            &[8, 12, 9, 11],
            &[],
            1,
            1000,
            rules(true, 1000, 60, 0, 0),
            d(false),
            100,
            200,
            200,
        ),
        (
            &[8, 12, 9, 11],
            &[],
            1,
            1000,
            rules(true, 1000, 120, 100, 60),
            d(false),
            100,
            200,
            200,
        ),
        (
            &[8, 12, 9, 11],
            &[],
            1,
            1000,
            rules(true, 1000, 30, 100, 60),
            d(false),
            100,
            200,
            200,
        ),
        (
            &[],
            &[8, 12, 9, 11],
            1,
            1000,
            d(true),
            rules(false, 1000, 60, 0, 0),
            100,
            5,
            5,
        ),
    ];
    for (k, (up, down, min, max, up_rules, down_rules, current, desired, want)) in
        cases.into_iter().enumerate()
    {
        // Events span the longest period of the direction they belong to,
        // as the Kubernetes table builds them (120s).
        let h = History {
            up_events: if up.is_empty() {
                vec![]
            } else {
                spread(up, 120)
            },
            down_events: if down.is_empty() {
                vec![]
            } else {
                spread(down, 120)
            },
            ..History::default()
        };
        let (got, _) = convert_with_rate(
            NOW,
            current,
            desired,
            (min, max),
            &h,
            (&up_rules, &down_rules),
        );
        assert_eq!(got, want, "case {k}");
    }
}

/// `TestCalculateScaleUpLimitWithScalingRules` and
/// `TestCalculateScaleDownLimitWithBehaviors` (selectPolicy Min).
#[test]
fn scale_limits_with_min_select_policy() {
    let mut up = rules(true, 2, 60, 50, 60);
    up.select = SelectPolicy::Min;
    assert_eq!(scale_up_limit(1, &History::default(), &up, NOW), 2);
    let mut down = rules(false, 2, 60, 50, 60);
    down.select = SelectPolicy::Min;
    assert_eq!(scale_down_limit(5, &History::default(), &down, NOW), 3);
    let mut off = rules(true, 2, 60, 50, 60);
    off.select = SelectPolicy::Disabled;
    assert_eq!(scale_up_limit(5, &History::default(), &off, NOW), 5);
}

/// `TestConvertDesiredReplicasWithRules` and the legacy path as a whole:
/// scale-up capped at max(2 * current, 4), scale-down held for 5 minutes.
#[test]
fn legacy_normalization() {
    let cfg: HpaConfig =
        serde_json::from_str(r#"{"minReplicas": 1, "maxReplicas": 2000}"#).unwrap();
    let mut h = Hpa::new(cfg);
    assert_eq!(h.legacy(NOW, 3, 1000).0, 6, "calculateScaleUpLimit(3) = 6");
    let cfg: HpaConfig = serde_json::from_str(r#"{"minReplicas": 2, "maxReplicas": 8}"#).unwrap();
    let mut h = Hpa::new(cfg);
    assert_eq!(h.legacy(NOW, 3, 1), (2, ScaleReason::AtMin));
    // A recommendation of 5 a minute ago holds a scale down to 3.
    let cfg: HpaConfig = serde_json::from_str(r#"{"minReplicas": 1, "maxReplicas": 10}"#).unwrap();
    let mut h = Hpa::new(cfg);
    h.history.recommendations = vec![(ago(120), 4), (ago(60), 5)];
    assert_eq!(h.legacy(NOW, 5, 3), (5, ScaleReason::Stabilization));
}

/// The REFERENCE example, through the whole controller: three pods at 50%
/// CPU with a 30% target go to 5.
#[test]
fn three_pods_at_50_percent_with_a_30_percent_target_go_to_5() {
    let cfg: HpaConfig = serde_json::from_str(
        r#"{"minReplicas": 1, "maxReplicas": 10, "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 30}}}],
            "behavior": {}}"#,
    )
    .unwrap();
    cfg.validate().unwrap();
    let mut h = Hpa::new(cfg);
    let samples = [30.0, 50.0, 70.0].map(|c| crate::scale::InstanceSample {
        ready: true,
        cpu_utilization: Some(c),
        ..Default::default()
    });
    let d = h.decide(NOW, &ScaleInput::new(3, &samples));
    assert_eq!((d.desired, d.reason), (5, ScaleReason::Metric));
}

/// The Azcore doc's HPA reads with its own field names, and its scale-up
/// policies (100% or 5 pods per 60s, Max) and 60s stabilization apply.
#[test]
fn the_azcore_hpa_reads_and_limits_scale_up() {
    let cfg: HpaConfig = serde_json::from_str(
        r#"{
      "minReplicas": 4, "maxReplicas": 50,
      "metrics": [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}},
        {"type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"}, "target": {"type": "AverageValue", "averageValue": "100"}}},
        {"type": "External", "external": {"metric": {"name": "queue_depth"}, "target": {"type": "AverageValue", "averageValue": "30"}}}
      ],
      "behavior": {
        "scaleUp": {"stabilizationWindowSeconds": 60, "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 60},
            {"type": "Pods", "value": 5, "periodSeconds": 60}], "selectPolicy": "Max"},
        "scaleDown": {"stabilizationWindowSeconds": 300, "policies": [
            {"type": "Percent", "value": 50, "periodSeconds": 60}], "selectPolicy": "Min"}
      }}"#,
    )
    .unwrap();
    cfg.validate().unwrap();
    let mut h = Hpa::new(cfg);
    let hot = [crate::scale::InstanceSample {
        ready: true,
        cpu_utilization: Some(20.0),
        memory_utilization: Some(30.0),
        requests_per_second: 10.0,
        ..Default::default()
    }; 4];
    // A queue of 600 asks for ceil(600 / 30) = 20; 100% of 4 is 8, 5 pods is
    // 9: Max gives 9. But the up window (60s) still holds the initial
    // recommendation of 4: min over the window is 4.
    let mut input = ScaleInput::new(4, &hot);
    input.queue_depth = 600.0;
    let d = h.decide(NOW, &input);
    assert_eq!(
        (d.wanted, d.desired, d.reason),
        (20, 4, ScaleReason::Stabilization)
    );
    // 61s later the window has only the recommendation of 20: limited to 9.
    let d = h.decide(NOW + Nanos::from_secs(61), &input);
    assert_eq!((d.desired, d.reason), (9, ScaleReason::RateLimited));
    h.applied(NOW + Nanos::from_secs(61), 4, 9);
    // Within the same 60s period no more may be added than the period's
    // start (4) allows: 9.
    let more = [hot[0]; 9];
    let mut input = ScaleInput::new(9, &more);
    input.queue_depth = 600.0;
    let d = h.decide(NOW + Nanos::from_secs(76), &input);
    assert_eq!(d.desired, 9);
}

fn custom_hpa(metrics: &str) -> Hpa {
    let cfg: HpaConfig = serde_json::from_str(&format!(
        r#"{{"minReplicas": 1, "maxReplicas": 20, "metrics": {metrics}, "behavior": {{}}}}"#
    ))
    .unwrap();
    cfg.validate().unwrap();
    Hpa::new(cfg)
}

const READY: crate::scale::InstanceSample = crate::scale::InstanceSample {
    ready: true,
    cpu_utilization: None,
    memory_utilization: None,
    connections: 0.0,
    requests_per_second: 0.0,
};

/// A name the simulator does not know, filled by the caller, drives the
/// decision: 2 pods at 30 queued per pod against a target of 10 go to 6.
#[test]
fn a_custom_named_pods_metric_drives_scale_up() {
    let mut h = custom_hpa(
        r#"[{"type": "Pods", "pods": {"metric": {"name": "queue_depth_per_pod"},
             "target": {"type": "AverageValue", "averageValue": "10"}}}]"#,
    );
    let rows: [&[(&str, f64)]; 2] = [
        &[("tokens_per_second", 5.0), ("queue_depth_per_pod", 25.0)],
        &[("queue_depth_per_pod", 35.0)],
    ];
    let metrics = crate::scale::Metrics {
        pods: &rows,
        pool: &[],
    };
    let samples = [READY; 2];
    let mut input = ScaleInput::new(2, &samples);
    input.metrics = Some(&metrics);
    let d = h.decide(NOW, &input);
    assert_eq!((d.desired, d.wanted, d.reason), (6, 6, ScaleReason::Metric));
    assert_eq!(d.metric, None, "not a simulated metric");
}

/// A custom External metric with a Value target: 900 tokens/s against
/// 300 in all on 2 ready pods go to 6.
#[test]
fn a_custom_named_external_metric_drives_scale_up() {
    let mut h = custom_hpa(
        r#"[{"type": "External", "external": {"metric": {"name": "tokens_per_second"},
             "target": {"type": "Value", "value": "300"}}}]"#,
    );
    let metrics = crate::scale::Metrics {
        pods: &[],
        pool: &[("tokens_per_second", 900.0)],
    };
    let samples = [READY; 2];
    let mut input = ScaleInput::new(2, &samples);
    input.metrics = Some(&metrics);
    assert_eq!(h.decide(NOW, &input).desired, 6);
}

/// Kubernetes skips a metric it cannot read: the other metrics decide a
/// scale-up; with none readable, or a scale-down on partial data, the
/// count holds.
#[test]
fn a_missing_metric_is_skipped() {
    let spec = r#"[
        {"type": "Pods", "pods": {"metric": {"name": "absent"},
             "target": {"type": "AverageValue", "averageValue": "1"}}},
        {"type": "External", "external": {"metric": {"name": "backlog"},
             "target": {"type": "AverageValue", "averageValue": "10"}}}]"#;
    let samples = [READY; 4];
    let run = |pool: &[(&str, f64)]| {
        let mut h = custom_hpa(spec);
        let metrics = crate::scale::Metrics { pods: &[], pool };
        let mut input = ScaleInput::new(4, &samples);
        input.metrics = Some(&metrics);
        h.decide(NOW, &input)
    };
    // The backlog alone asks for 8: the missing Pods metric is skipped.
    assert_eq!(run(&[("backlog", 80.0)]).desired, 8);
    // The backlog asks for 1, but a metric is missing: no scale-down.
    let d = run(&[("backlog", 10.0)]);
    assert_eq!((d.desired, d.reason), (4, ScaleReason::Steady));
    // Nothing readable: no change.
    let d = run(&[]);
    assert_eq!((d.desired, d.reason), (4, ScaleReason::Steady));
}

/// Any name is accepted by the HPA itself; only an empty one is refused.
#[test]
fn any_metric_name_is_accepted_and_an_empty_one_refused() {
    let cfg = |name: &str| -> HpaConfig {
        serde_json::from_str(&format!(
            r#"{{"maxReplicas": 3, "metrics": [{{"type": "Pods", "pods": {{"metric": {{"name": "{name}"}},
                "target": {{"type": "AverageValue", "averageValue": "1"}}}}}}]}}"#
        ))
        .unwrap()
    };
    assert!(cfg("tokens_per_second").validate().is_ok());
    assert!(cfg(" ").validate().is_err());
    assert_eq!(
        simulated_metric(HpaMetricType::Pods, "inflight_requests"),
        Some(ScaleMetric::Connections)
    );
    assert_eq!(
        simulated_metric(HpaMetricType::Pods, "tokens_per_second"),
        None
    );
}
