//! Every shipped sweep file (`scenarios/sweeps/`) reads, and every point
//! of its grid is a valid scenario.

use reports::sweep::plan::Sweep;
use reports::sweep::spec::SweepSpec;
use reports::sweep::store::Manifest;
use std::path::PathBuf;

#[test]
fn every_shipped_sweep_is_valid_at_every_point() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/sweeps");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let spec = SweepSpec::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !spec.description.is_empty(),
            "{}: say what the sweep asks in `description`",
            path.display()
        );
        let description = spec.description.clone();
        let sweep = Sweep::prepare(spec).unwrap_or_else(|e| panic!("{e}"));
        assert!(sweep.runs() >= 2, "{}: a sweep of one run", path.display());
        let manifest = Manifest::new(&sweep, &dir, None, String::new(), 1);
        assert_eq!(manifest.description, description, "the manifest carries it");
        n += 1;
    }
    assert!(n >= 2, "expected the shipped sweeps in {}", dir.display());
}
