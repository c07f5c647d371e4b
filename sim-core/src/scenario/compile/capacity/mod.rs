//! Offered load on every resource a model has: what the workload asks of
//! each capacity, against that capacity, and which one binds first.
//!
//! A request holds a slot for its whole service (CPU, LLM calls, tool
//! waits), takes CPU seconds on its instance's cores, memory while it is
//! held, a per-instance LLM permit while a call is out, and calls and
//! tokens from each model's provider quota (fallback calls included,
//! cache hits not). [`Model::offered_load`] turns the workload's mean
//! request (by class share, a replayed trace's own classes and tokens,
//! closed-loop sessions' rate) into a demand on each of those, at the base
//! rate and at the profile's peak (steps, diurnal swing, bursts: the peak
//! is what overloads), on the fleet running at the start. The resource
//! with the highest ratio at the peak is the bottleneck; a ratio at or
//! above 1 means that resource cannot keep up and queues grow (or, with
//! limits, requests are refused or time out).
//!
//! It is computed once, from the model's means: never on the hot path.

mod footprint;

use super::{Model, NO_MEANS};
use footprint::Footprint;
use serde::Serialize;
use strategies::RateKey;

/// Offered load on every resource, and the bottleneck.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferedLoad {
    /// Requests per second at the base rate: the arrival profile's first
    /// rate, plus closed-loop sessions at their fastest and a replayed
    /// trace's rows per second of the run.
    pub base_rate: f64,
    /// Requests per second at the profile's peak (its highest step, with
    /// the diurnal swing and bursts), with the same additions.
    pub peak_rate: f64,
    /// Each resource the model has, slots first.
    pub resources: Vec<ResourceLoad>,
    /// The resource with the highest ratio at the peak.
    pub bottleneck: String,
}

/// The offered load on one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceLoad {
    /// Its name: `slots`, `cpu`, `memory`, `llmConcurrency`,
    /// `maxConnections`, `maxConnectionsPerInstance`, `quota calls <model>`,
    /// `quota tokens <model>`, `saturation <model>`, `rateLimit <name>`.
    pub resource: String,
    /// The scenario key that sets its capacity.
    pub path: String,
    /// What demand and capacity count.
    pub unit: &'static str,
    /// Demand at the base rate.
    pub demand: f64,
    /// Demand at the peak rate.
    pub peak_demand: f64,
    /// Capacity on the fleet running at the start.
    pub capacity: f64,
    /// Capacity on the largest fleet the autoscaler may run (the same
    /// without autoscaling, and for capacities that do not grow with the
    /// fleet).
    pub max_capacity: f64,
    /// Its capacity grows with the fleet (per-instance capacities), so
    /// more instances relieve it.
    pub grows_with_fleet: bool,
    /// Demand over capacity at the base rate.
    pub ratio: f64,
    /// Demand over capacity at the peak rate.
    pub peak_ratio: f64,
}

impl OfferedLoad {
    /// The bottleneck's entry.
    pub fn bottleneck(&self) -> &ResourceLoad {
        self.resources
            .iter()
            .find(|r| r.resource == self.bottleneck)
            .unwrap_or(&self.resources[0])
    }

    /// The entry of `resource`, if the model has it.
    pub fn get(&self, resource: &str) -> Option<&ResourceLoad> {
        self.resources.iter().find(|r| r.resource == resource)
    }

    /// The resources at or above their capacity at the base rate or the
    /// peak.
    pub fn overloaded(&self) -> impl Iterator<Item = &ResourceLoad> {
        self.resources
            .iter()
            .filter(|r| r.ratio >= 1.0 || r.peak_ratio >= 1.0)
    }

    /// How many times the slots' own offered load the fleet must carry,
    /// at the base rate: the highest ratio over the slots' (exactly 1 when
    /// the slots bind first), counting only the resources requests queue
    /// for (slots, CPU cores, LLM permits): a rate limit, a connection
    /// limit or a quota refuses what is over it, and a run above it can
    /// still be steady; memory holds nothing back. With `largest`, on the
    /// largest fleet the autoscaler may run; else on the fleet at the
    /// start.
    pub fn slot_factor(&self, largest: bool) -> f64 {
        let on = |r: &ResourceLoad| {
            let cap = if largest { r.max_capacity } else { r.capacity };
            if cap > 0.0 {
                r.demand / cap
            } else {
                0.0
            }
        };
        let slots = on(&self.resources[0]);
        let worst = self
            .resources
            .iter()
            .filter(|r| matches!(r.resource.as_str(), "cpu" | "llmConcurrency"))
            .map(on)
            .fold(slots, f64::max);
        if slots > 0.0 && worst > slots {
            worst / slots
        } else {
            1.0
        }
    }
}

/// Requests per second of each kind: open arrivals and closed loops (by
/// class share), and a trace's rows (by its own mix).
struct Rates {
    open_base: f64,
    open_peak: f64,
    traced: f64,
}

impl Model {
    /// The offered load on every resource (see the module docs).
    pub fn offered_load(&self) -> OfferedLoad {
        let n = self.llm.models.len();
        let mut shared = Footprint::zero(n);
        let mut class_shared = vec![0.0; self.workload.classes.len()];
        for (k, class) in self.workload.classes.iter().enumerate() {
            shared.add(class.share, &self.footprint(&class.shape, NO_MEANS));
            class_shared[k] = class.share;
        }
        let mut traced = Footprint::zero(n);
        let mut class_traced = vec![0.0; self.workload.classes.len()];
        if let Some(t) = &self.workload.trace {
            for (k, w, tokens) in self.trace_mix(t) {
                traced.add(w, &self.footprint(&self.workload.classes[k].shape, tokens));
                class_traced[k] += w;
            }
        }
        let closed = self.closed_loop_rate(false);
        let rates = Rates {
            open_base: self.workload.rate_profile[0].rate_per_second + closed,
            open_peak: self.peak_rate() + closed,
            traced: self.workload.trace.as_ref().map_or(0.0, |t| {
                t.rows as f64 / self.run.duration.as_secs_f64().max(1e-9)
            }),
        };
        // Demand at the base rate and at the peak, of a per-request figure.
        let demand = |f: &dyn Fn(&Footprint) -> f64| {
            let (s, t) = (f(&shared), f(&traced));
            (
                rates.open_base * s + rates.traced * t,
                rates.open_peak * s + rates.traced * t,
            )
        };
        let mut out = Vec::new();
        let held = demand(&|f| f.slot_secs);
        self.slot_loads(&mut out, held);
        self.cpu_load(&mut out, demand(&|f| f.cpu_secs));
        self.memory_load(&mut out, held);
        self.llm_permit_load(&mut out, demand(&|f| f.llm_secs));
        for (m, spec) in self.llm.models.iter().enumerate() {
            let calls = demand(&|f| f.calls[m]);
            let tokens = demand(&|f| f.tokens[m]);
            let path = format!("llm.models.{}", spec.name);
            if let Some(q) = spec.quota {
                let per = |c: f64, all: bool| {
                    if !q.per_instance {
                        c
                    } else if all {
                        c * self.fleet.instances.len() as f64
                    } else {
                        c * self.initial_instances() as f64
                    }
                };
                if let Some((rate, _)) = q.calls {
                    out.push(entry(
                        format!("quota calls {}", spec.name),
                        format!("{path}.rateLimit.requestsPerMinute"),
                        "calls/s",
                        calls,
                        (per(rate, false), per(rate, true)),
                        q.per_instance,
                    ));
                }
                if let Some((rate, _)) = q.tokens {
                    out.push(entry(
                        format!("quota tokens {}", spec.name),
                        format!("{path}.rateLimit.tokensPerMinute"),
                        "tokens/s",
                        tokens,
                        (per(rate, false), per(rate, true)),
                        q.per_instance,
                    ));
                }
            }
            if let Some(cap) = spec.saturation {
                let cap = f64::from(cap);
                out.push(entry(
                    format!("saturation {}", spec.name),
                    format!("{path}.saturation"),
                    "calls in flight",
                    demand(&|f| f.serving[m]),
                    (cap, cap),
                    false,
                ));
            }
        }
        self.rate_limit_loads(&mut out, &rates, &class_shared, &class_traced);
        let bottleneck = out
            .iter()
            .fold(None::<&ResourceLoad>, |best, r| match best {
                Some(b) if b.peak_ratio >= r.peak_ratio => Some(b),
                _ => Some(r),
            })
            .map_or_else(|| "slots".to_string(), |r| r.resource.clone());
        OfferedLoad {
            base_rate: rates.open_base + rates.traced,
            peak_rate: rates.open_peak + rates.traced,
            resources: out,
            bottleneck,
        }
    }

    /// The type key of every instance running at the start when they share
    /// one type (`instanceTypes.<name>.<key>`), else `instanceTypes.*.<key>`.
    fn type_path(&self, key: &str) -> String {
        let mut types = self
            .fleet
            .instances
            .iter()
            .filter(|i| i.initially_present)
            .map(|i| i.type_index);
        let first = types.next();
        match first {
            Some(t) if types.all(|u| u == t) => {
                format!("instanceTypes.{}.{key}", self.fleet.types[t as usize].name)
            }
            _ => format!("instanceTypes.*.{key}"),
        }
    }

    /// Sum of `per(type)` over the instances running at the start and over
    /// every instance the fleet may run, and the share of the starting
    /// fleet's slots on instances where it is given.
    fn fleet_sum(&self, per: impl Fn(&super::InstanceTypeSpec) -> Option<f64>) -> (f64, f64, f64) {
        let (mut start, mut all, mut slots, mut total) = (0.0, 0.0, 0.0, 0.0);
        for i in &self.fleet.instances {
            let v = per(&self.fleet.types[i.type_index as usize]);
            all += v.unwrap_or(0.0);
            if i.initially_present {
                total += f64::from(i.slots);
                if let Some(v) = v {
                    start += v;
                    slots += f64::from(i.slots);
                }
            }
        }
        (start, all, if total > 0.0 { slots / total } else { 0.0 })
    }

    /// Slots, and the connection limits (requests held, running or
    /// queued: at no queueing, the slots' demand).
    fn slot_loads(&self, out: &mut Vec<ResourceLoad>, held: (f64, f64)) {
        let (start, all, _) = self.fleet_sum(|t| Some(f64::from(t.slots)));
        out.push(entry(
            "slots".into(),
            self.type_path("slots"),
            "requests held",
            held,
            (start, all),
            true,
        ));
        if let Some(per) = self.resilience.max_connections_per_instance {
            let per = f64::from(per);
            out.push(entry(
                "maxConnectionsPerInstance".into(),
                "deployment.limits.maxConnectionsPerInstance".into(),
                "requests held",
                held,
                (
                    per * self.initial_instances() as f64,
                    per * self.fleet.instances.len() as f64,
                ),
                true,
            ));
        }
        if let Some(most) = self.resilience.max_connections {
            let most = f64::from(most);
            out.push(entry(
                "maxConnections".into(),
                "deployment.limits.maxConnections".into(),
                "requests held",
                held,
                (most, most),
                false,
            ));
        }
    }

    /// CPU cores, on the instances whose type has `cpus` (their share of
    /// the requests by slots).
    fn cpu_load(&self, out: &mut Vec<ResourceLoad>, cpu: (f64, f64)) {
        let (start, all, share) = self.fleet_sum(|t| t.cores);
        if all <= 0.0 {
            return;
        }
        out.push(entry(
            "cpu".into(),
            self.type_path("cpus"),
            "cores",
            (cpu.0 * share, cpu.1 * share),
            (start, all),
            true,
        ));
    }

    /// Memory, on the instances whose type has `memory`: each idle
    /// instance's, and each request's while it is held.
    fn memory_load(&self, out: &mut Vec<ResourceLoad>, held: (f64, f64)) {
        let (start, all, share) = self.fleet_sum(|t| t.memory);
        if all <= 0.0 {
            return;
        }
        let (idle, _, _) = self.fleet_sum(|t| t.memory.map(|_| t.idle_memory));
        // Memory per request, by slot share of the typed instances.
        let (per_slot, _, _) =
            self.fleet_sum(|t| t.memory.map(|_| t.memory_per_request * f64::from(t.slots)));
        let (typed_slots, _, _) = self.fleet_sum(|t| t.memory.map(|_| f64::from(t.slots)));
        let per_request = if typed_slots > 0.0 {
            per_slot / typed_slots
        } else {
            0.0
        };
        out.push(entry(
            "memory".into(),
            self.type_path("memory"),
            "bytes",
            (
                idle + per_request * held.0 * share,
                idle + per_request * held.1 * share,
            ),
            (start, all),
            true,
        ));
    }

    /// Per-instance LLM call caps (`llmConcurrency`): calls out at once.
    fn llm_permit_load(&self, out: &mut Vec<ResourceLoad>, secs: (f64, f64)) {
        let (start, all, share) = self.fleet_sum(|t| t.llm_concurrency.map(f64::from));
        if all <= 0.0 {
            return;
        }
        out.push(entry(
            "llmConcurrency".into(),
            self.type_path("llmConcurrency"),
            "calls in flight",
            (secs.0 * share, secs.1 * share),
            (start, all),
            true,
        ));
    }

    /// Entry rate limits one for all traffic (per-user, per-tenant and
    /// per-address limits depend on who sends, not on the rate).
    fn rate_limit_loads(
        &self,
        out: &mut Vec<ResourceLoad>,
        rates: &Rates,
        shared: &[f64],
        traced: &[f64],
    ) {
        for (i, l) in self.routes.rate_limits.iter().enumerate() {
            let c = &l.config;
            if !c.enabled || c.key != RateKey::Global {
                continue;
            }
            let window = c.window.nanos().as_secs_f64();
            if window <= 0.0 {
                continue;
            }
            let (s, t) = match l.class {
                Some(k) => (shared[k], traced[k]),
                None => (1.0, 1.0),
            };
            let rate = f64::from(c.requests) / window;
            let path = self.rate_limit_path(i, &l.name);
            out.push(entry(
                format!("rateLimit {}", l.name),
                path,
                "requests/s",
                (
                    rates.open_base * s + rates.traced * t,
                    rates.open_peak * s + rates.traced * t,
                ),
                (rate, rate),
                false,
            ));
        }
    }

    /// The key of entry limit `i` named `name`.
    fn rate_limit_path(&self, i: usize, name: &str) -> String {
        let d = &self.scenario.deployment;
        if i == 0 && d.rate_limit.is_some() {
            return "deployment.rateLimit.requests".into();
        }
        if d.rate_limits.contains_key(name) {
            return format!("deployment.rateLimits.{name}.requests");
        }
        let route = d
            .routes
            .iter()
            .find(|(_, r)| r.rate_limits.contains_key(name))
            .map_or("*", |(k, _)| k.as_str());
        format!("deployment.routes.{route}.rateLimits.{name}.requests")
    }
}

/// One resource's entry from its demand and capacity, at base and peak
/// (capacity on the fleet at the start and on the largest), and whether
/// its capacity is per instance.
fn entry(
    resource: String,
    path: String,
    unit: &'static str,
    demand: (f64, f64),
    capacity: (f64, f64),
    grows_with_fleet: bool,
) -> ResourceLoad {
    let ratio = |d: f64| {
        if capacity.0 > 0.0 {
            d / capacity.0
        } else if d > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    };
    ResourceLoad {
        resource,
        path,
        unit,
        demand: demand.0,
        peak_demand: demand.1,
        capacity: capacity.0,
        max_capacity: capacity.1.max(capacity.0),
        grows_with_fleet,
        ratio: ratio(demand.0),
        peak_ratio: ratio(demand.1),
    }
}
