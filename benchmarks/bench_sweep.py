"""Sweep machinery benchmarks: overhead per cell, and parallel speed-up of an exact NPG sweep.

    python benchmarks/bench_sweep.py [--quick]

1. Overhead per cell with a trivial cell function (``mdpgrad.sweep.demo:trivial``): wall time
   of ``run`` divided by the number of cells, in-process (with and without fsync) and on 2
   worker processes (pool start-up included), against calling the function in a loop.
   Target: < 5 ms per cell.
2. A 1,000-cell exact-NPG sweep (``mdpgrad.experiments.npg_step_size:npg_cell``, Garnet(20,4,3),
   gamma 0.9, T = 200) on 1 worker process vs 2 (pool start-up included). Target: >= 1.8x.

Every run writes to a fresh temporary directory. The numbers depend on the machine's load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdpgrad.sweep import Sweep, load, run  # noqa: E402
from mdpgrad.sweep.demo import trivial  # noqa: E402


def timed_run(sweep, cpu: bool = False, **kw):
    """Wall seconds of ``run`` (and, with ``cpu=True``, the CPU seconds its cells used in the workers)."""
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as d:
        t0 = time.perf_counter()
        rep = run(sweep, d, **kw)
        dt = time.perf_counter() - t0
        cpu_s = float(load(d)["cpu_seconds"].sum()) if cpu else None
    assert rep.ok and rep.n_computed == rep.n_cells, rep.summary()
    return (dt, cpu_s) if cpu else dt


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    n_trivial = 500 if args.quick else 2000
    n_seeds = 20 if args.quick else 100  # 10 configurations x seeds cells

    print(f"cores available: {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}"
          f" (shared machine: timings are noisy)")
    print(f"\n1. overhead per cell, trivial cell function, {n_trivial} cells")
    sw = Sweep("trivial", "mdpgrad.sweep.demo:trivial", grid={"x": list(range(n_trivial))})
    t0 = time.perf_counter()
    for c in sw.cells():
        trivial(**c.params, seed=c.seed)
    base = time.perf_counter() - t0
    rows = [("plain loop (expand + call)", base)]
    rows.append(("inline, fsync", timed_run(sw, workers=1)))
    rows.append(("inline, no fsync", timed_run(sw, workers=1, fsync=False)))
    tiny = Sweep("startup", "mdpgrad.sweep.demo:trivial", grid={"x": [0, 1]})
    cold = timed_run(tiny, workers=2)  # boots the forkserver (once per Python process)
    startup = timed_run(tiny, workers=2)  # a fresh pool of 2 workers from the running forkserver
    t_proc = timed_run(sw, workers=2)
    rows.append(("2 processes, fsync (incl. start-up)", t_proc))
    rows.append(("2 processes, fsync (minus start-up)", max(t_proc - startup, 0.0)))
    print(f"{'executor':<40} {'total s':>8} {'ms/cell':>8}")
    for name, dt in rows:
        print(f"{name:<40} {dt:8.2f} {1e3 * dt / n_trivial:8.3f}")
    print(f"(2-cell sweep on 2 processes: {cold:.2f} s the first time in a Python process (forkserver boot), "
          f"{startup:.2f} s afterwards)")

    n = 10 * n_seeds
    print(f"\n2. exact NPG sweep, {n} cells (Garnet(20,4,3), gamma 0.9, T=200)")
    npg = Sweep("bench_npg", "mdpgrad.experiments.npg_step_size:npg_cell",
                grid={"eta": [0.1, 0.3, 1.0, 3.0, 10.0], "instance": ["garnet(10,3,2)", "garnet(20,4,3)"]},
                fixed={"gamma": 0.9, "T": 200}, seeds=n_seeds, seed_by=("instance",))
    t1, c1 = timed_run(npg, cpu=True, workers=1, executor="processes")
    t2, c2 = timed_run(npg, cpu=True, workers=2, executor="processes")
    print(f"{'workers':<40} {'total s':>8} {'cells/s':>8} {'CPU s':>8} {'cores used':>10}")
    print(f"{'1 process':<40} {t1:8.2f} {n / t1:8.1f} {c1:8.2f} {c1 / t1:10.2f}")
    print(f"{'2 processes':<40} {t2:8.2f} {n / t2:8.1f} {c2:8.2f} {c2 / t2:10.2f}")
    print(f"speed-up 2 vs 1: {t1 / t2:.2f}x (target >= 1.8x); 'cores used' = CPU seconds of the cells / wall "
          f"seconds: below the worker count when other processes compete for the cores")
    print(f"load average now: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
