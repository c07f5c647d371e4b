//! Sweeps: one scenario run over a grid of parameter values and seeds.
//!
//! - [`path`]: JSON paths into a scenario, and setting a value at one;
//! - [`axis`]: an axis's values (lists, ranges, stepped ranges);
//! - [`spec`]: a sweep file or command line, and its grid;
//! - [`plan`]: every point's scenario built and checked before any run;
//! - [`schema`](mod@schema): the JSON Schema of sweep files;
//! - [`record`]: what is kept of each run, and the metric columns;
//! - [`store`]: the output directory's manifest and run journal (resume,
//!   shards);
//! - [`assemble`]: the tables written when every run is in.

pub mod assemble;
pub mod axis;
pub mod path;
pub mod plan;
pub mod record;
pub mod schema;
pub mod spec;
pub mod store;
