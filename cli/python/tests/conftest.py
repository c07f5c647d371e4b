"""Shared paths: the repository's scenarios and the `fleetsim` binary."""

import os
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCENARIOS = ROOT / "scenarios"
QUICKSTART = SCENARIOS / "quickstart.json"


@pytest.fixture(scope="session")
def cli() -> str:
    """The `fleetsim` binary the results are checked against:
    $FLEETSIM_BIN, else the workspace's debug build, else `fleetsim` on PATH."""
    given = os.environ.get("FLEETSIM_BIN")
    candidates = [given] if given else [str(ROOT / "target" / "debug" / "fleetsim"), shutil.which("fleetsim")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    pytest.fail(
        "no fleetsim binary to compare with: build it (`cargo build -p fleetsim`) or set FLEETSIM_BIN"
    )
