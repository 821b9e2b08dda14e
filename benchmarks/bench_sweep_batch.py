"""Batched sweeps and seed batches against their unbatched paths (same process, same machine).

1. The ``npg_step_size`` experiment (6 step sizes x 3 Garnet families x 10 seeds = 180 cells, exact NPG,
   200 iterations), run inline (one process) by :func:`mdpgrad.sweep.run`: with the cell function's
   batched form (``npg_cell.batched``: one batched :func:`mdpgrad.optimize` over each chunk's MDPs) against
   cell by cell. The stored results are checked equal.
2. ``run_stochastic("pg", TabularOracle(garnet(10, 3, 2)), ..., seed=[0..63])`` -- the compiled seed batch,
   one call parallel over the seeds -- against 64 separate single-seed calls (which run the same kernel with
   a batch of one), and against the Python loop that ran every ``"pg"`` run before (a few seeds, scaled to
   64). Values checked equal (bit for bit against the separate calls).
3. ``run_stochastic("harpg", GaussianBanditOracle, ..., seed=[0..63])`` against 64 separate calls (the
   Gaussian bandit keeps the loop of single runs, so the ratio measures only its overhead; values checked equal).
3b. The same as 2 for every other method with a compiled seed batch (storm, page, svrpg, srvr, igt, harpg,
   npg; :mod:`mdpgrad.kernels.stochastic_vr`): seed list vs separate calls (equal bit for bit) vs the former
   Python loop (a few seeds, scaled; equal to round-off, npg excepted once its Fisher is ill-conditioned).
   ``--methods storm,page`` picks some.
4. Sweeps of the ready-made cells, run inline: ``stochastic_cell`` (pg, 64 seeds of one Garnet) and
   ``optimize_cell`` (exact NPG, 6 step sizes x 16 seeds), auto-batched against the same sweep forced cell by
   cell; stored results checked equal.

Usage::

    python benchmarks/bench_sweep_batch.py [--quick]

Writes ``benchmarks/results/bench_sweep_batch.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import mdpgrad.experiments.npg_step_size as npg  # noqa: E402
import numpy as np  # noqa: E402
from _common import machine, row, write_rows  # noqa: E402

from mdpgrad import estimators as E  # noqa: E402
from mdpgrad.sweep import Sweep, load, run  # noqa: E402


def _sweep(quick: bool) -> Sweep:
    sw = npg.SWEEP
    return Sweep("npg_step_size_bench", "mdpgrad.experiments.npg_step_size:npg_cell", grid=sw.grid, fixed=sw.fixed,
                 seeds=3 if quick else 10, seed_by=sw.seed_by)


def _timed_run(sw, chunksize):
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        rep = run(sw, d, workers=1, chunksize=chunksize, fsync=False)
        wall = time.perf_counter() - t0
        assert rep.n_computed == rep.n_cells and rep.n_failed == 0
        df = load(d).sort_values("key").reset_index(drop=True)
    return wall, df


def sweep_batch(args, mach, cmd, rows):
    sw = _sweep(args.quick)
    n = len(sw.cells())
    npg.npg_cells([{"eta": 1.0, "instance": i, "gamma": 0.9, "T": 3, "seed": 0} for i in npg.SWEEP.grid["instance"]])
    npg.npg_cell(eta=1.0, instance="garnet(10,3,2)", gamma=0.9, T=3, seed=0)  # JIT / cache load
    best_b = best_u = np.inf
    for _ in range(args.repeat):
        wb, df_b = _timed_run(sw, 32)
        batched = npg.npg_cell.batched
        del npg.npg_cell.batched
        try:
            wu, df_u = _timed_run(sw, 32)
        finally:
            npg.npg_cell.batched = batched
        best_b, best_u = min(best_b, wb), min(best_u, wu)
    same = all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(df_b["gaps"], df_u["gaps"]))
    assert same, "batched and unbatched sweeps stored different gaps"
    rows.append(row(f"sweep npg_step_size ({n} cells, inline): batched cell function vs cell by cell", n / best_b,
                    n / best_u, "cells/s", cmd, mach, identical_results=same))
    print(f"sweep npg_step_size, {n} cells inline: batched {best_b:.2f} s, cell by cell {best_u:.2f} s, "
          f"ratio {best_u / best_b:.2f}; stored results identical: {same}")


def seed_batch(args, mach, cmd, rows):
    B, n = (16, 200) if args.quick else (64, 500)
    oracle = E.GaussianBanditOracle(np.array([1.0, -1.0]))
    seeds = list(range(B))
    E.run_stochastic("harpg", oracle, np.zeros(2), 5, seed=0, gamma0=1.0)
    best_b = best_u = np.inf
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        tb = E.run_stochastic("harpg", oracle, np.zeros(2), n, seed=seeds, gamma0=1.0)
        best_b = min(best_b, time.perf_counter() - t0)
        t0 = time.perf_counter()
        sep = [E.run_stochastic("harpg", oracle, np.zeros(2), n, seed=s, gamma0=1.0) for s in seeds]
        best_u = min(best_u, time.perf_counter() - t0)
    same = all(np.array_equal(tb.gap[b], s.gap) for b, s in enumerate(sep))
    assert same
    rows.append(row(f"run_stochastic harpg on a Gaussian bandit (not compiled: loops), {B} seeds x {n} iterations: "
                    f"seed=[...] vs {B} separate calls",
                    B * n / best_b, B * n / best_u, "it/s", cmd, mach, identical_results=same))
    print(f"run_stochastic harpg, Gaussian bandit (loops), {B} seeds x {n}: seed list {best_b:.2f} s, "
          f"separate {best_u:.2f} s, "
          f"ratio {best_u / best_b:.2f}; identical: {same}")


def pg_seed_batch(args, mach, cmd, rows):
    from mdpgrad import envs
    from mdpgrad.estimators.variance_reduced import _run_loop

    B, n = (16, 200) if args.quick else (64, 500)
    orc = E.TabularOracle(envs.garnet(10, 3, 2, gamma=0.9, seed=0))
    th0, seeds = np.zeros(30), list(range(B))
    E.run_stochastic("pg", orc, th0, 5, seed=[0, 1], alpha=0.1)  # JIT / cache load
    best_b = best_u = np.inf
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        tb = E.run_stochastic("pg", orc, th0, n, seed=seeds, alpha=0.1)
        best_b = min(best_b, time.perf_counter() - t0)
        t0 = time.perf_counter()
        sep = [E.run_stochastic("pg", orc, th0, n, seed=s, alpha=0.1) for s in seeds]
        best_u = min(best_u, time.perf_counter() - t0)
    same = all(np.array_equal(tb.gap[b], s.gap) and np.array_equal(tb.theta[b], s.theta) for b, s in enumerate(sep))
    assert same
    n_loop = 2 if args.quick else 4
    meth = E.make_stochastic_method("pg", alpha=0.1)
    t0 = time.perf_counter()
    loop = [_run_loop(meth, orc, meth.init(th0), n, s, 1) for s in seeds[:n_loop]]
    t_loop = (time.perf_counter() - t0) * B / n_loop
    close = all(np.allclose(lp.gap, tb.gap[b], atol=1e-9) for b, lp in enumerate(loop))
    rows.append(row(f"run_stochastic pg on garnet(10,3,2), {B} seeds x {n} iterations: seed=[...] (one compiled "
                    f"call) vs {B} separate calls", B * n / best_b, B * n / best_u, "it/s", cmd, mach,
                    identical_results=same))
    rows.append(row(f"run_stochastic pg on garnet(10,3,2), {B} seeds x {n} iterations: seed=[...] vs the former "
                    f"Python loop ({n_loop} seeds timed, scaled to {B})", B * n / best_b, B * n / t_loop, "it/s", cmd,
                    mach, same_to_roundoff=close))
    print(f"run_stochastic pg {B} seeds x {n}: seed list {best_b:.3f} s, separate {best_u:.3f} s "
          f"(ratio {best_u / best_b:.2f}), former Python loop ~{t_loop:.1f} s (ratio {t_loop / best_b:.0f}); "
          f"identical: {same}, loop equal to round-off: {close}")


#: hyperparameters of the benchmarked runs (garnet(10, 3, 2), 64 seeds x 500 iterations)
VR_BENCH = {"storm": {"alpha": 0.1, "batch": 2, "big_batch": 10, "beta": 0.2},
            "page": {"alpha": 0.1, "batch": 2, "big_batch": 10, "p": 0.1},
            "svrpg": {"alpha": 0.1, "batch": 2, "big_batch": 10, "epoch": 10},
            "srvr": {"alpha": 0.1, "batch": 2, "big_batch": 10, "epoch": 10},
            "igt": {"gamma0": 0.5}, "harpg": {"gamma0": 0.5}, "npg": {"alpha": 0.001, "batch": 20}}


def vr_seed_batch(args, mach, cmd, rows):
    from mdpgrad import envs
    from mdpgrad.estimators.variance_reduced import _run_loop

    B, n = (16, 200) if args.quick else (64, 500)
    orc = E.TabularOracle(envs.garnet(10, 3, 2, gamma=0.9, seed=0))
    th0, seeds = np.zeros(30), list(range(B))
    for name in args.methods.split(","):
        hp = VR_BENCH[name]
        E.run_stochastic(name, orc, th0, 5, seed=[0, 1], **hp)  # JIT / cache load
        best_b = best_u = np.inf
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            tb = E.run_stochastic(name, orc, th0, n, seed=seeds, **hp)
            best_b = min(best_b, time.perf_counter() - t0)
            t0 = time.perf_counter()
            sep = [E.run_stochastic(name, orc, th0, n, seed=s, **hp) for s in seeds]
            best_u = min(best_u, time.perf_counter() - t0)
        same = all(np.array_equal(tb.gap[b], s.gap) and np.array_equal(tb.theta[b], s.theta)
                   for b, s in enumerate(sep))
        assert same
        n_loop = 1 if args.quick else 2
        meth = E.make_stochastic_method(name, **hp)
        t0 = time.perf_counter()
        loop = [_run_loop(meth, orc, meth.init(th0), n, s, 1) for s in seeds[:n_loop]]
        t_loop = (time.perf_counter() - t0) * B / n_loop
        dgap = max(float(np.abs(lp.gap - tb.gap[b]).max()) for b, lp in enumerate(loop))
        what = f"run_stochastic {name} on garnet(10,3,2), {B} seeds x {n} iterations"
        rows.append(row(f"{what}: seed=[...] (one compiled call) vs {B} separate calls", B * n / best_b,
                        B * n / best_u, "it/s", cmd, mach, identical_results=same))
        rows.append(row(f"{what}: seed=[...] vs the former Python loop ({n_loop} seeds timed, scaled to {B})",
                        B * n / best_b, B * n / t_loop, "it/s", cmd, mach, max_abs_gap_difference=dgap))
        print(f"run_stochastic {name} {B} seeds x {n}: seed list {best_b:.3f} s, separate {best_u:.3f} s "
              f"(ratio {best_u / best_b:.2f}), former Python loop ~{t_loop:.1f} s (ratio {t_loop / best_b:.0f}); "
              f"identical: {same}, max |gap - loop gap| {dgap:.1e}")


def _cell_sweep(quick):
    mk = {"n_states": 10, "n_actions": 3, "branching": 2, "gamma": 0.9}
    sto = Sweep("sto_bench", "mdpgrad.sweep.cells:stochastic_cell", fixed={
        "mdp": "mdpgrad.envs:garnet", "mdp_kwargs": mk, "method": "pg", "n_iter": 200 if quick else 500,
        "alpha": 0.1}, seeds=16 if quick else 64)
    opt = Sweep("opt_bench", "mdpgrad.sweep.cells:optimize_cell", grid={"step_size": [0.03, 0.1, 0.3, 1.0, 3.0, 10.0]},
                fixed={"mdp": "mdpgrad.envs:garnet", "mdp_kwargs": mk, "method": "npg", "n_iter": 200},
                seeds=4 if quick else 16)
    return sto, opt


def cell_sweeps(args, mach, cmd, rows):
    import mdpgrad.sweep.execute as X

    for sw in _cell_sweep(args.quick):
        n = len(sw.cells())
        _timed_run(sw, 32)  # JIT / cache load
        best_b = best_u = np.inf
        for _ in range(args.repeat):
            wb, df_b = _timed_run(sw, 32)
            orig = X.batchable
            X.batchable = lambda fn, cells: False
            try:
                wu, df_u = _timed_run(sw, 32)
            finally:
                X.batchable = orig
            best_b, best_u = min(best_b, wb), min(best_u, wu)
        col = "gap"
        same = all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(df_b[col], df_u[col]))
        assert same
        what = sw.function.split(":")[1]
        rows.append(row(f"sweep of {what} ({n} cells, inline, chunks of 32): auto-batched vs cell by cell",
                        n / best_b, n / best_u, "cells/s", cmd, mach, identical_results=same))
        print(f"sweep {what}, {n} cells inline: auto-batched {best_b:.2f} s, cell by cell {best_u:.2f} s, "
              f"ratio {best_u / best_b:.2f}; stored results identical: {same}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs per side")
    ap.add_argument("--methods", default=",".join(VR_BENCH), help="compiled methods of row 3b (comma-separated)")
    ap.add_argument("--only-vr", action="store_true", help="run only row 3b (written to bench_sweep_batch_vr.json)")
    args = ap.parse_args(argv)
    mach = machine()
    cmd = "python benchmarks/bench_sweep_batch.py" + (" --quick" if args.quick else "") + (
        f" --only-vr --methods {args.methods}" if args.only_vr else "")
    rows = []
    if not args.only_vr:
        sweep_batch(args, mach, cmd, rows)
        pg_seed_batch(args, mach, cmd, rows)
    vr_seed_batch(args, mach, cmd, rows)
    if not args.only_vr:
        seed_batch(args, mach, cmd, rows)
        cell_sweeps(args, mach, cmd, rows)
    print("wrote", write_rows("bench_sweep_batch_vr" if args.only_vr else "bench_sweep_batch", rows))


if __name__ == "__main__":
    main()
