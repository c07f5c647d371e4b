"""fleetsim.run and fleetsim.validate: dicts and paths, errors, and the
same result as `fleetsim run --json`."""

import json
import pathlib
import subprocess
import threading

import pytest

import fleetsim
from conftest import QUICKSTART, SCENARIOS

# A version stamp names the build (commit and tree), not the run: the
# binary and the wheel may be built from trees a commit apart.
BUILD_STAMPS = ("fleetsimVersion",)


def without_stamps(d):
    return {k: v for k, v in d.items() if k not in BUILD_STAMPS}


def cli_run(cli, *args):
    out = subprocess.run([cli, "run", *args, "--json", "--quiet"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def test_quickstart_from_a_path_and_from_a_dict():
    by_path = fleetsim.run(QUICKSTART, seed=7, replications=1)
    as_dict = json.loads(QUICKSTART.read_text())
    by_dict = fleetsim.run(as_dict, seed=7, replications=1)
    assert by_path["scenario"] == "quickstart"
    assert by_path["seed"] == 7 and by_path["replications"] == 1
    assert by_path["pooled"]["counts"]["arrivals"] > 0
    assert isinstance(by_path["pooled"]["slo"]["pass"], bool)
    assert by_dict == by_path
    # A str path works as a PathLike does.
    assert fleetsim.run(str(QUICKSTART), seed=7, replications=1) == by_path


def test_the_built_in_quickstart_is_the_shipped_one():
    assert fleetsim.run(seed=3, replications=1) == fleetsim.run(QUICKSTART, seed=3, replications=1)


def test_the_seed_changes_the_result():
    a = fleetsim.run(QUICKSTART, seed=1, replications=1)
    b = fleetsim.run(QUICKSTART, seed=2, replications=1)
    assert a["pooled"] != b["pooled"]


@pytest.mark.parametrize(
    "scenario", ["quickstart.json", "autoscaling-spike.json", "multi-region-failover.json"]
)
def test_same_result_as_the_cli(cli, scenario):
    path = SCENARIOS / scenario
    ours = fleetsim.run(path, seed=7, replications=2)
    theirs = cli_run(cli, str(path), "--seed", "7", "--replications", "2")
    assert set(ours) == set(theirs)
    assert without_stamps(ours) == without_stamps(theirs)
    # To the bit: the JSON texts agree once both are written the same way.
    assert json.dumps(without_stamps(ours)) == json.dumps(without_stamps(theirs))


def test_the_built_in_quickstart_is_the_clis(cli):
    assert without_stamps(fleetsim.run(seed=7, replications=1)) == without_stamps(
        cli_run(cli, "--seed", "7", "--replications", "1")
    )


def test_runs_on_threads_give_the_same_result():
    """The GIL is released while simulating: runs on threads overlap and
    each gives the result it gives alone."""
    alone = fleetsim.run(QUICKSTART, seed=5, replications=1)
    results = [None] * 3

    def work(i):
        results[i] = fleetsim.run(QUICKSTART, seed=5, replications=1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [alone] * 3


def test_a_bad_value_raises_scenario_error_naming_the_path(tmp_path):
    bad = json.loads(QUICKSTART.read_text())
    bad["workload"]["arrivals"]["ratePerSecond"] = "lots"
    with pytest.raises(fleetsim.ScenarioError) as e:
        fleetsim.run(bad)
    msg = str(e.value)
    assert "workload.arrivals.ratePerSecond" in msg
    assert "scenario (dict)" in msg
    assert isinstance(e.value, ValueError)

    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    with pytest.raises(fleetsim.ScenarioError) as e:
        fleetsim.run(f)
    assert str(f) in str(e.value) and "workload.arrivals.ratePerSecond" in str(e.value)


def test_the_message_is_the_clis(cli, tmp_path):
    bad = json.loads(QUICKSTART.read_text())
    bad["deployment"]["loadBalancing"]["strategy"] = "fastest-first"
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    with pytest.raises(fleetsim.ScenarioError) as e:
        fleetsim.validate(f)
    out = subprocess.run([cli, "run", str(f), "--json"], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip() == f"error: {e.value}"


def test_a_missing_file_and_a_wrong_type():
    with pytest.raises(fleetsim.ScenarioError, match="no-such-file.json"):
        fleetsim.run(pathlib.Path("no-such-file.json"))
    with pytest.raises(TypeError):
        fleetsim.run(42)


def test_validate_returns_findings():
    assert fleetsim.validate(QUICKSTART) == []
    findings = fleetsim.validate(SCENARIOS / "autoscaling-spike.json")
    assert isinstance(findings, list)
    for f in findings:
        assert set(f) == {"path", "code", "message", "stage"}


def test_the_schema_is_the_shipped_one():
    assert fleetsim.schema() == json.loads((SCENARIOS / "fleetsim.schema.json").read_text())
