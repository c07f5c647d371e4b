"""fleetsim.sweep and fleetsim.compare: DataFrames with the CLI's tables."""

import json
import subprocess

import pandas
import pytest

import fleetsim
from conftest import QUICKSTART

AXIS = "deployment.regions.us-east-1.instances"


def read(text):
    """A CLI table read as fleetsim reads its own."""
    return fleetsim._frame(text, "pandas")


def latency_column(df):
    """The p99 latency's mean column, whatever unit its name carries."""
    cols = [c for c in df.columns if c.startswith("latency_p99_") and c.endswith("_mean")]
    assert cols, f"no p99 latency column in {list(df.columns)}"
    return cols[0]


def small_sweep(**kw):
    return fleetsim.sweep(QUICKSTART, axes={AXIS: "2..4"}, seeds=2, seed=11, **kw)


def test_a_sweep_returns_the_points_table():
    df = small_sweep()
    assert isinstance(df, pandas.DataFrame)
    assert len(df) == 3
    assert list(df["point"]) == [0, 1, 2]
    assert list(df["seeds"]) == [2, 2, 2]
    axis = [c for c in df.columns if "us-east-1" in c]
    assert axis and list(df[axis[0]]) == [2, 3, 4]
    p99 = latency_column(df)
    assert df[p99].notna().all()
    # More instances, shorter queues: the p99 does not grow.
    assert df[p99].iloc[2] <= df[p99].iloc[0]


def test_a_sweep_from_a_dict_equals_one_from_a_file():
    as_dict = json.loads(QUICKSTART.read_text())
    a = small_sweep()
    b = fleetsim.sweep(as_dict, axes={AXIS: [2, 3, 4]}, seeds=2, seed=11)
    pandas.testing.assert_frame_equal(a, b)


def test_the_thread_count_changes_nothing():
    pandas.testing.assert_frame_equal(small_sweep(jobs=1), small_sweep(jobs=2))


def test_a_sweep_is_the_clis_points_csv(cli, tmp_path):
    ours = small_sweep(out=tmp_path / "py")
    subprocess.run(
        [cli, "sweep", str(QUICKSTART), "--axis", f"{AXIS}=2..4", "--seeds", "2", "--seed", "11",
         "--out", str(tmp_path / "cli"), "--quiet"],
        check=True, capture_output=True,
    )
    cli_text = (tmp_path / "cli" / "points.csv").read_text()
    pandas.testing.assert_frame_equal(ours, read(cli_text))
    # `out` keeps the files the CLI writes, byte for byte the same table.
    assert (tmp_path / "py" / "points.csv").read_text() == cli_text


def test_a_sweep_file(tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps({
        "scenario": str(QUICKSTART),
        "seeds": 1,
        "axes": {"deployment.loadBalancing.strategy": ["round-robin", "random"]},
    }))
    df = fleetsim.sweep(f)
    assert len(df) == 2
    assert list(df.iloc[:, 2]) == ["round-robin", "random"]


def test_compare_returns_the_decision_matrix(cli, tmp_path):
    strategies = ["round-robin", "least-connections"]
    ours = fleetsim.compare(QUICKSTART, strategies, seeds=3, seed=5, out=tmp_path / "py")
    assert sorted(ours["option"]) == sorted(strategies)
    assert sorted(ours["rank"]) == [1, 2]
    assert {"score", "slo"} <= set(ours.columns)
    out = subprocess.run(
        [cli, "compare", str(QUICKSTART), "--strategies", ",".join(strategies), "--seeds", "3",
         "--seed", "5", "--format", "csv", "--out", str(tmp_path / "cli"), "--quiet"],
        check=True, capture_output=True, text=True,
    )
    pandas.testing.assert_frame_equal(ours, read(out.stdout))
    assert (tmp_path / "py" / "matrix.csv").read_text() == out.stdout


def test_bad_sweeps_raise_scenario_error():
    with pytest.raises(fleetsim.ScenarioError, match="deployment.regions.nowhere"):
        fleetsim.sweep(QUICKSTART, axes={"deployment.regions.nowhere.instances": [1, 2]})
    with pytest.raises(fleetsim.ScenarioError, match="is a scenario, not a sweep file"):
        fleetsim.sweep(QUICKSTART)
    with pytest.raises(fleetsim.ScenarioError, match="two or more"):
        fleetsim.compare(QUICKSTART, ["round-robin"])
    with pytest.raises(fleetsim.ScenarioError, match="baseline"):
        fleetsim.compare(QUICKSTART, ["round-robin", "random"], baseline="fastest")


def test_polars_when_asked():
    polars = pytest.importorskip("polars")
    df = small_sweep(as_="polars")
    assert isinstance(df, polars.DataFrame) and df.height == 3
