"""Shared helpers of the benchmarks: peers in subprocesses with a timeout, the machine line, JSON rows.

Every benchmark writes ``benchmarks/results/<bench>.json``: a list of rows with keys ``name``,
``mdpgrad``, ``peer``, ``unit``, ``ratio`` (mdpgrad over peer, > 1 means mdpgrad is faster for rates),
``command`` and ``machine`` (the docs' benchmark table is generated from these files).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def machine() -> str:
    """CPU model, core count and the 1-minute load average when the run started."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}, Python {platform.python_version()}"


def save_instance(mdp) -> str:
    """Write ``P, r, rho, gamma`` of ``mdp`` to a temporary ``.npz`` for the peer processes."""
    fd, path = tempfile.mkstemp(suffix=".npz", prefix="mdpgrad_bench_")
    os.close(fd)
    np.savez(path, P=mdp.P, r=mdp.r, rho=mdp.rho, gamma=mdp.gamma)
    return path


def run_peer(args: list[str], timeout: float) -> dict:
    """Run ``python benchmarks/_peers.py ARGS`` and parse its JSON line; ``{"error": ...}`` on a
    hang (timeout), a crash or a missing package."""
    cmd = [sys.executable, str(HERE / "_peers.py"), *map(str, args)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"hang: no result within {timeout:.0f} s (killed)"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {out.returncode}: {last}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_rows(bench: str, rows: list[dict]) -> Path:
    """Write ``rows`` to ``benchmarks/results/<bench>.json`` and return the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{bench}.json"
    path.write_text(json.dumps(rows, indent=1))
    return path


def row(name, mdpgrad, peer, unit, command, mach, higher_is_better=True, **extra) -> dict:
    """One result row; ``ratio`` is how many times faster mdpgrad is (None when the peer failed)."""
    ratio = None
    if peer is not None and mdpgrad is not None and peer > 0 and mdpgrad > 0:
        ratio = mdpgrad / peer if higher_is_better else peer / mdpgrad
    return {"name": name, "mdpgrad": mdpgrad, "peer": peer, "unit": unit, "ratio": ratio, "command": command,
            "machine": mach, **extra}
