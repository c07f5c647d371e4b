//! Every public policy is `Send + Sync`, checked when the crate compiles:
//! none keeps interior mutability (no `Cell`, `RefCell` or `Rc`), so a
//! policy moves to another thread, and a `&` to one (a configured
//! template) is shared freely. Deciding needs `&mut`: share a policy that
//! decides on several threads behind a `Mutex` (see the crate docs,
//! "Sharing a policy between threads").

use crate::balance::{Canary, ConsistentHash, Geographic, IpHash, StickySessions};
use crate::scale::{
    AnyAutoscaler, CostGuard, Hpa, QueueScaler, StepScaling, TargetTracking, ThresholdScaler,
};
use crate::*;

const fn send_sync<T: Send + Sync + ?Sized>() {}

/// Fails to compile if any policy stops being `Send + Sync`.
const _: () = {
    // Balancers.
    send_sync::<LoadBalancer>();
    send_sync::<dyn DynBalancer>();
    send_sync::<Box<dyn DynBalancer>>();
    send_sync::<RoundRobin>();
    send_sync::<First>();
    send_sync::<SmoothWeighted>();
    send_sync::<Edf>();
    send_sync::<LeastConnections>();
    send_sync::<RandomPick>();
    send_sync::<PowerOfTwo>();
    send_sync::<PeakEwma>();
    send_sync::<ResponseTime>();
    send_sync::<PerformanceBased>();
    send_sync::<IpHash>();
    send_sync::<ConsistentHash>();
    send_sync::<Geographic>();
    send_sync::<Canary>();
    send_sync::<StickySessions>();
    send_sync::<BackendState>();
    // Health, breakers, limiters, retries, the LLM client.
    send_sync::<ActiveHealth>();
    send_sync::<OutlierDetector>();
    send_sync::<PassiveHealth>();
    send_sync::<CircuitBreaker>();
    send_sync::<RateLimiter>();
    send_sync::<RetryConfig>();
    send_sync::<QuotaBuckets>();
    send_sync::<RateLimitRetryPolicy>();
    // Autoscalers.
    send_sync::<AnyAutoscaler>();
    send_sync::<ThresholdScaler>();
    send_sync::<Hpa>();
    send_sync::<TargetTracking>();
    send_sync::<QueueScaler>();
    send_sync::<StepScaling>();
    send_sync::<CostGuard>();
    // Configurations.
    send_sync::<LoadBalancingConfig>();
    send_sync::<CircuitBreakerConfig>();
    send_sync::<RateLimitConfig>();
    send_sync::<HealthCheckConfig>();
    send_sync::<OutlierDetectionConfig>();
    send_sync::<PassiveHealthConfig>();
    send_sync::<scale::ScalingConfig>();
};
