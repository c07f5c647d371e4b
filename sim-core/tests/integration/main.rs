//! sim-core's integration tests, one module per behaviour, linked into one
//! binary (so the suite links once).

mod agents;
mod aws;
mod balancers;
mod caddy;
mod classes;
mod envoy;
mod extends;
mod fuzz;
mod haproxy;
mod kubernetes;
mod lints;
mod native;
mod network;
mod offered_load;
mod providers;
mod queueing;
mod regime;
mod replicas;
mod request_trace;
mod resilience;
mod scaling;
mod scenarios;
mod seed_files;
mod seeds;
mod service_time;
mod sessions;
mod shapes;
mod tenants;
mod timeline;
mod trace;
mod trace_formats;
mod trace_published;
mod traefik;
mod trust;
mod yaml;
