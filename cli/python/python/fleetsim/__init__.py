"""fleetsim from Python: simulate fleets of LLM-agent service instances.

A scenario is a dict (the JSON a scenario file holds) or the path of a
scenario file (JSON or YAML). Every function runs the same code as the
``fleetsim`` command, so a result here is the command's result to the bit
for the same scenario and seed:

>>> import fleetsim
>>> result = fleetsim.run("scenarios/quickstart.json", seed=7)    # doctest: +SKIP
>>> result["pooled"]["slo"]["pass"]                              # doctest: +SKIP
True
>>> points = fleetsim.sweep("scenarios/quickstart.json",          # doctest: +SKIP
...     axes={"deployment.regions.us-east-1.instances": "2..4"}, seeds=2)

- :func:`run` returns what ``fleetsim run --json`` prints, as a dict;
- :func:`sweep` returns the points table (``points.csv``) as a DataFrame;
- :func:`compare` returns the decision matrix (``compare --format csv``);
- :func:`validate` returns a scenario's findings, or raises;
- :func:`schema` returns the JSON Schema of scenario files.

Bad input raises :class:`ScenarioError` (a ``ValueError``) with the
message the command prints: the file, the JSON path and what is allowed.
Simulation releases the GIL, and Ctrl-C stops it (``KeyboardInterrupt``).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from . import _fleetsim
from ._fleetsim import ScenarioError, SimulationError

__all__ = [
    "run",
    "validate",
    "sweep",
    "compare",
    "schema",
    "ScenarioError",
    "SimulationError",
    "__version__",
]

__version__: str = _fleetsim.__version__

Scenario = Union[Mapping[str, Any], str, "os.PathLike[str]"]

#: How a scenario given as a dict is named in error messages.
DICT_NAME = "scenario (dict)"


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _scenario_args(scenario: Optional[Scenario]) -> Dict[str, Any]:
    """The extension's (path, text, name) for a scenario argument."""
    if scenario is None:
        return {}
    if _is_path(scenario):
        return {"path": os.fspath(scenario)}
    if isinstance(scenario, Mapping):
        return {"text": json.dumps(scenario), "name": DICT_NAME}
    raise TypeError(
        f"scenario: expected a dict or the path of a scenario file, got {type(scenario).__name__}"
    )


def _scenario_file(scenario: Scenario, tmp: str) -> str:
    """A path for `scenario`: its own, or a dict written into `tmp`."""
    if _is_path(scenario):
        return os.fspath(scenario)
    if not isinstance(scenario, Mapping):
        raise TypeError(
            f"scenario: expected a dict or the path of a scenario file, got {type(scenario).__name__}"
        )
    name = str(scenario.get("name") or "scenario")
    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip(".") or "scenario"
    path = os.path.join(tmp, f"{stem}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(scenario, f)
    return path


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def _frame(csv_text: str, as_: str):
    """`csv_text` as a pandas (default) or polars DataFrame."""
    if as_ == "pandas":
        import pandas

        # pandas before 3 parses floats to the nearest bit only when asked.
        exact = {"float_precision": "round_trip"} if _major(pandas.__version__) < 3 else {}
        return pandas.read_csv(io.StringIO(csv_text), **exact)
    if as_ == "polars":
        import polars

        return polars.read_csv(io.StringIO(csv_text))
    raise ValueError(f"as_: expected 'pandas' or 'polars', got {as_!r}")


class _OutDir:
    """`out` as given (kept), or a temporary directory removed afterwards."""

    def __init__(self, out: Optional[Union[str, "os.PathLike[str]"]]):
        self._tmp = tempfile.TemporaryDirectory(prefix="fleetsim-")
        self.scratch = self._tmp.name
        self.path = os.fspath(out) if out is not None else os.path.join(self.scratch, "out")

    def __enter__(self) -> "_OutDir":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._tmp.cleanup()


def run(
    scenario: Optional[Scenario] = None,
    *,
    seed: Optional[int] = None,
    replications: Optional[int] = None,
) -> Dict[str, Any]:
    """Run a scenario and return its result.

    Args:
        scenario: a dict (a scenario file's JSON), the path of a scenario
            file, or ``None`` for the built-in quickstart (as ``fleetsim
            run`` with no file).
        seed: replaces the scenario's ``run.seed``.
        replications: replaces the scenario's ``run.replications``.

    Returns:
        The result ``fleetsim run --json`` prints, as a dict: ``pooled``
        (every metric over all replications, the SLO verdict under
        ``pooled["slo"]["pass"]``), ``replications`` (one entry each), and
        the findings.

    Raises:
        ScenarioError: the scenario was refused (the message names the
            file, the JSON path and what is allowed).
        SimulationError: fleetsim failed an internal check.
        KeyboardInterrupt: Ctrl-C stopped the run.
    """
    text = _fleetsim.run(**_scenario_args(scenario), seed=seed, replications=replications)
    return json.loads(text)


def validate(scenario: Scenario) -> List[Dict[str, str]]:
    """Check a scenario as ``fleetsim validate`` does.

    Returns:
        Its findings (settings that cannot act), each a dict with
        ``path``, ``code``, ``message`` and ``stage``; empty when there are
        none.

    Raises:
        ScenarioError: the scenario is invalid.
    """
    if scenario is None:
        raise TypeError("validate: give a scenario (a dict or a path)")
    return json.loads(_fleetsim.validate(**_scenario_args(scenario)))


def schema() -> Dict[str, Any]:
    """The JSON Schema of scenario files (what ``fleetsim schema`` prints),
    for checking scenario dicts with a JSON Schema validator."""
    return json.loads(_fleetsim.schema())


def sweep(
    sweep: Scenario,
    *,
    axes: Optional[Mapping[str, Union[Sequence[Any], str]]] = None,
    zip: Optional[Sequence[Sequence[str]]] = None,
    seeds: Optional[int] = None,
    seed: Optional[int] = None,
    jobs: Optional[int] = None,
    out: Optional[Union[str, "os.PathLike[str]"]] = None,
    as_: str = "pandas",
):
    """Run a sweep and return its points table.

    Either ``sweep`` is the path of a sweep file (as ``fleetsim sweep
    FILE``), or it is a scenario (dict or path) and ``axes`` says what
    varies (as ``fleetsim sweep SCENARIO --axis ...``).

    Args:
        sweep: a sweep file's path, or a scenario with ``axes``.
        axes: ``{JSON path: values}``; values are a list (``["round-robin",
            "least-connections"]``) or a range (``"1..8"``, ``"10..50/5"``).
            The axes cross unless ``zip`` pairs them.
        zip: groups of axis paths that vary together.
        seeds: seeds per point (default: the sweep's, or 1).
        seed: the first seed.
        jobs: threads to run on (default: every core); no result depends
            on it.
        out: a directory that keeps every file ``fleetsim sweep --out``
            writes (``results.csv``, ``results.parquet``, ``points.csv``,
            ``runs.jsonl``, ``manifest.json``); by default a temporary one.
        as_: ``"pandas"`` (default) or ``"polars"``.

    Returns:
        The ``points.csv`` table: one row per point (``point``, ``seeds``,
        one column per axis, each metric's mean and 95% interval).

    Raises:
        ScenarioError: the sweep, an axis or the scenario was refused.
    """
    with _OutDir(out) as d:
        if axes is None:
            if not _is_path(sweep):
                raise TypeError(
                    "sweep: give the path of a sweep file, or a scenario with axes={...}"
                )
            text = _fleetsim.sweep(
                d.path, sweep_file=os.fspath(sweep), seeds=seeds, seed=seed, jobs=jobs
            )
        else:
            pairs = [(str(k), json.dumps(v)) for k, v in axes.items()]
            text = _fleetsim.sweep(
                d.path,
                scenario=_scenario_file(sweep, d.scratch),
                axes=pairs,
                zip=[list(g) for g in (zip or [])],
                seeds=seeds,
                seed=seed,
                jobs=jobs,
            )
    return _frame(text, as_)


def compare(
    scenario: Scenario,
    strategies: Sequence[str],
    *,
    seeds: Optional[int] = None,
    seed: Optional[int] = None,
    jobs: Optional[int] = None,
    weights: Optional[str] = None,
    margin: Optional[float] = None,
    baseline: Optional[str] = None,
    out: Optional[Union[str, "os.PathLike[str]"]] = None,
    as_: str = "pandas",
):
    """Compare load-balancing strategies on the same seeds.

    As ``fleetsim compare SCENARIO --strategies A,B --format csv``.

    Args:
        scenario: a dict or the path of a scenario file.
        strategies: two or more strategy names.
        seeds: seeds per strategy (three or more for paired verdicts).
        seed: the first seed.
        jobs: threads to run on (default: every core).
        weights: criterion weights, as ``--weights`` takes them
            (``"p99=3,cost=1"``).
        margin: the score difference that counts as a difference.
        baseline: the strategy the others are scored against.
        out: a directory that keeps the sweep's files and ``matrix.csv``,
            ``matrix.md``, ``matrix.json``; by default a temporary one.
        as_: ``"pandas"`` (default) or ``"polars"``.

    Returns:
        The decision matrix: one row per strategy (``option``, ``score``,
        ``slo``, ``rank``, each criterion's mean and 95% interval, and its
        score term), best ranked 1.

    Raises:
        ScenarioError: the scenario or an argument was refused.
    """
    if isinstance(strategies, str):
        strategies = [s.strip() for s in strategies.split(",")]
    with _OutDir(out) as d:
        text = _fleetsim.compare(
            d.path,
            _scenario_file(scenario, d.scratch),
            [str(s) for s in strategies],
            seeds=seeds,
            seed=seed,
            jobs=jobs,
            weights=weights,
            margin=margin,
            baseline=baseline,
        )
    return _frame(text, as_)
