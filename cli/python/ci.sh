#!/usr/bin/env bash
# CI for the Python package: builds the wheel on the debug build that
# `cargo test --workspace` left in target/ (the dev profile, so polars and
# the rest are reused, not rebuilt optimised), installs it into a fresh
# virtual environment with pytest and pandas from PyPI, and runs the tests
# against the `fleetsim` binary that build made.
#
#   bash cli/python/ci.sh            # from anywhere in the repository
#
# Needs CPython >= 3.9 as `python3` (or $PYTHON) with venv and pip.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
venv="$root/target/python-ci"
wheels="$root/target/wheels"

echo "== Python: $("$python" --version) in $venv"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "maturin>=1.9.4,<2" pytest pandas

echo "== the wheel (maturin build --profile dev)"
rm -f "$wheels"/fleetsim-*.whl
start=$(date +%s)
"$venv/bin/maturin" build --profile dev --locked -m "$here/Cargo.toml" --out "$wheels" \
    --interpreter "$venv/bin/python"
echo "wheel built in $(($(date +%s) - start)) s: $(ls "$wheels"/fleetsim-*.whl)"

echo "== pip install the wheel, then pytest"
"$venv/bin/python" -m pip install -q "$wheels"/fleetsim-*.whl
cd "$here"
FLEETSIM_BIN="${FLEETSIM_BIN:-$root/target/debug/fleetsim}" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider tests
