//! Fairness between tenants: each tenant's goodput (completed over sent)
//! and Jain's index over them.

use sim_core::{run_model, Model, RunOptions};

fn fleet(users: &str, limit: &str) -> Model {
    let json = format!(
        r#"{{
      "name": "tenants",
      "run": {{ "seed": 4, "duration": "20m", "warmup": "1m", "replications": 2 }},
      "workload": {{ "arrivals": {{ "ratePerSecond": 8 }}, "users": {users} }},
      "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "exponential", "mean": "500ms" }} }} }} }},
      "instanceTypes": {{ "t": {{ "slots": 4 }} }},
      "deployment": {{
        "regions": {{ "r": {{ "instances": 4 }} }},
        "loadBalancing": {{ "strategy": "least-connections" }}{limit}
      }}
    }}"#
    );
    Model::from_json(&json, "tenants.json").unwrap()
}

#[test]
fn tenants_served_alike_are_fair_and_conserve_their_requests() {
    let r = run_model(
        &fleet(r#"{ "count": 400, "tenants": 4 }"#, ""),
        RunOptions::default(),
    )
    .unwrap();
    for run in &r.runs {
        let t = run.tenants.as_ref().expect("four tenants are booked");
        assert_eq!(t.arrivals.len(), 4);
        assert_eq!(t.arrivals.iter().sum::<u64>(), run.counts.arrivals);
        assert_eq!(t.completed.iter().sum::<u64>(), run.counts.completed);
        assert!(t.fairness > 0.999, "{t:?}");
    }
}

#[test]
fn a_per_user_limit_under_skewed_demand_is_unfair_to_the_heavy_tenant() {
    // Zipf 1.2 over 40 users: user 0 sends about a third of the traffic,
    // and tenant 0 holds it; a per-user limit of 1 request a second turns
    // most of user 0's requests away and hardly touches the others.
    let r = run_model(
        &fleet(
            r#"{ "count": 40, "tenants": 4, "skew": 1.2 }"#,
            r#", "rateLimit": { "enabled": true, "requests": 60, "window": "1m", "key": "user" }"#,
        ),
        RunOptions::default(),
    )
    .unwrap();
    for run in &r.runs {
        let t = run.tenants.as_ref().unwrap();
        let g: Vec<f64> = t.goodput.iter().map(|g| g.unwrap()).collect();
        assert!(g[0] < 0.8 * g[1], "{g:?}");
        assert!(t.fairness < 0.97, "{t:?}");
    }
}

#[test]
fn one_tenant_books_nothing() {
    let r = run_model(&fleet(r#"{ "count": 10 }"#, ""), RunOptions::default()).unwrap();
    assert!(r.runs.iter().all(|run| run.tenants.is_none()));
}
