"""Reliability of mdpgrad.sweep: SIGKILL and resume, concurrent writers, Dask == local."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mdpgrad.sweep import Store, Sweep, load, load_spec, run, status

ROOT = Path(__file__).resolve().parents[1]


def _results(df):
    """Everything but the timing column, in key order (what must not depend on how cells ran)."""
    return df.drop(columns=["seconds", "cpu_seconds"]).sort_values("key").reset_index(drop=True)


def _cli(args, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "mdpgrad.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def _live_members(pgid: int) -> list[int]:
    """Non-zombie processes of process group ``pgid`` (Linux /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(d.name))
    return out


def _spec(tmp_path, name, xs, delay):
    p = tmp_path / f"{name}.json"
    p.write_text(json.dumps({"name": name, "function": "mdpgrad.sweep.demo:sleepy", "grid": {"x": xs},
                             "fixed": {"delay": delay}, "seeds": 2}))
    return p


def test_sigkill_halfway_then_resume_equals_uninterrupted(tmp_path):
    spec = _spec(tmp_path, "kill", [float(i) for i in range(24)], 0.03)  # 48 cells of >= 30 ms
    n = len(load_spec(spec).cells())
    out = tmp_path / "killed"
    proc = _cli(["sweep", "run", str(spec), "--workers", "2", "--out", str(out), "--no-progress"],
                start_new_session=True)
    cells = out / "cells"
    deadline = time.monotonic() + 40
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        done = len(list(cells.glob("*.json"))) if cells.is_dir() else 0
        if done >= 10:
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"sweep ended before the kill: {proc.communicate()}"
    try:
        os.kill(proc.pid, signal.SIGKILL)  # only the CLI process, mid-run: its workers must not linger
        proc.wait(timeout=10)
        if Path("/proc").is_dir():
            t_end = time.monotonic() + 8
            while _live_members(proc.pid) and time.monotonic() < t_end:
                time.sleep(0.1)
            assert not _live_members(proc.pid), "worker processes outlived the killed sweep"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # clean up whatever is left of the group
    at_kill = len(list(cells.glob("*.json")))
    assert 10 <= at_kill < n, at_kill  # really halfway: some stored, some not

    rep = run(spec, out, workers=1)
    assert rep.ok and rep.n_already + rep.n_computed == n and rep.n_already >= at_kill and rep.n_corrupt == 0

    ref_dir = tmp_path / "ref"
    run(spec, ref_dir, workers=1)  # uninterrupted, in-process
    got, ref = _results(load(out)), _results(load(ref_dir))
    assert got.equals(ref)
    keys = [p.stem for p in cells.glob("*.json")]
    assert len(keys) == len(set(keys)) == n  # no cell lost or duplicated
    assert not list(cells.glob(".*.tmp"))  # temp files of the killed processes were cleaned up
    assert json.loads((out / "index.json").read_text())["n_cells"] == n


def test_two_concurrent_sweeps_on_one_directory(tmp_path):
    out = tmp_path / "shared"
    a = _spec(tmp_path, "a", [float(i) for i in range(0, 16)], 0.005)
    b = _spec(tmp_path, "b", [float(i) for i in range(8, 24)], 0.005)  # half overlaps with a
    procs = [_cli(["sweep", "run", str(s), "--workers", "1", "--out", str(out), "--no-progress"]) for s in (a, b)]
    for p in procs:
        o, e = p.communicate(timeout=60)
        assert p.returncode == 0, e.decode()[-2000:]
    st = status(out)
    assert st.corrupt == () and st.failed == () and st.n_stale_temps == 0
    assert {s.name: (s.n_cells, s.n_done) for s in st.sweeps} == {"a": (32, 32), "b": (32, 32)}
    assert st.n_stored == 48  # 24 distinct x values x 2 replicates
    df = load(out)
    assert len(df) == 48 and df["key"].is_unique
    # every stored value is the one an in-process computation of that cell gives
    want = {c.key: c.run() for s in (a, b) for c in load_spec(s).cells()}
    for _, row in df.iterrows():
        assert row["mean"] == want[row["key"]]["mean"]
    assert json.loads((out / "index.json").read_text())["n_cells"] == 48
    assert len(Store(out).manifests()) == 2


def test_dask_localcluster_equals_local(tmp_path):
    import distributed

    sw = Sweep("dask", "mdpgrad.sweep.demo:noisy_quadratic", grid={"x": [0.0, 0.5, 1.0, 2.0]}, seeds=4)
    local = tmp_path / "local"
    run(sw, local, workers=1)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  silence_logs=50) as cluster:
        rep = run(sw, tmp_path / "dask", scheduler=cluster.scheduler_address)
        assert rep.executor == "dask" and rep.n_computed == 16 and rep.workers == 2
    assert _results(load(tmp_path / "dask")).equals(_results(load(local)))
