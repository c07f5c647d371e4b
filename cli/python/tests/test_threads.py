"""The GIL is released while simulating, and Ctrl-C stops a run."""

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time

import fleetsim
from conftest import QUICKSTART


def test_python_runs_while_fleetsim_simulates():
    scenario = json.loads(QUICKSTART.read_text())

    def measure(duration):
        """Runs `duration` simulated in a thread; counts this thread's
        10 ms ticks meanwhile. Returns (ticks, elapsed seconds)."""
        done = threading.Event()
        scenario["run"]["duration"] = duration

        def work():
            fleetsim.run(scenario, seed=1, replications=2)
            done.set()

        t = threading.Thread(target=work)
        start = time.monotonic()
        t.start()
        ticks = 0
        while not done.is_set():
            time.sleep(0.01)
            ticks += 1
        t.join()
        return ticks, time.monotonic() - start

    # A run long enough to tell, on a fast machine or a slow one: the
    # simulated time grows until the run takes half a second (bounded).
    for duration in ["10h", "40h", "160h", "640h"]:
        ticks, elapsed = measure(duration)
        if elapsed > 0.5:
            break
    assert elapsed > 0.5, "even 640 simulated hours ran in under half a second"
    # Held, the GIL would stop this loop for the whole run.
    assert ticks >= elapsed / 0.01 / 4


def test_ctrl_c_stops_a_long_run():
    # Two long replications (a run checks for cancellation every few tens
    # of thousands of events; uninterrupted this takes minutes).
    script = textwrap.dedent(
        f"""
        import json, sys, fleetsim
        s = json.load(open({str(QUICKSTART)!r}))
        s["run"]["duration"] = "2000h"
        print("started", flush=True)
        try:
            fleetsim.run(s, replications=2)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(7)
        """
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "started"
    time.sleep(1.0)
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 7, out
    assert "interrupted" in out
    assert time.monotonic() - sent < 10
