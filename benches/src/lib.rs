//! Shared helpers for fleetsim's criterion benchmarks (`cargo bench`).

use std::path::PathBuf;

/// The path of a scenario shipped in `scenarios/`.
pub fn scenario_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(relative)
}
