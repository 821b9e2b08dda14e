"""The public path is the fast path: ``mdpgrad.optimize`` against JAX and PyTorch peers.

Exact softmax PG, NPG and KL policy mirror descent on a dense Garnet (S=100, A=10, gamma 0.9, every
(s, a) reaches every state), ``n_iter`` iterations from the uniform policy. mdpgrad runs
``optimize(mdp, method, n_iter=N, step_size=eta)`` -- the public call with its defaults (backend
"auto", recording value, gap, entropy and step size). The peers compute the same iteration
(:mod:`benchmarks._peers`: JAX ``jit`` + ``lax.scan`` in float64, two ``linalg.solve`` per step for PG,
one for NPG/PMD; PyTorch CPU eager loop), each in its own process with a timeout (a hang is reported
as such). The values ``rho . v_t`` of every peer are checked against mdpgrad's. Ratios come from one
run on one machine; on a shared machine the absolute rates move, the ratios less, and the ratio of
process-CPU-time rates (``cpu ratio``; all threads of a process counted) is the steadier estimate. Usage::

    python benchmarks/bench_exact_pg.py [--quick] [--n-iter 10000] [--timeout 300]

Writes ``benchmarks/results/bench_exact_pg.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import numpy as np  # noqa: E402
from _common import machine, row, run_peer, save_instance, write_rows  # noqa: E402

from mdpgrad import envs, optimize  # noqa: E402

METHODS = {"softmax_pg": 1.0, "npg": 1.0, "pmd": 1.0}  # method -> step size


def time_mdpgrad(mdp, method, eta, n_iter, backend="auto"):
    optimize(mdp, method, n_iter=3, step_size=eta, backend=backend)  # JIT (cached on disk after the first run)
    t0, c0 = time.perf_counter(), time.process_time()
    res = optimize(mdp, method, n_iter=n_iter, step_size=eta, backend=backend)
    return res, n_iter / (time.perf_counter() - t0), n_iter / (time.process_time() - c0)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1,000 iterations (torch 200)")
    ap.add_argument("--n-iter", type=int, default=10_000)
    ap.add_argument("--S", type=int, default=100)
    ap.add_argument("--A", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ",".join(METHODS))
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    n = 1000 if args.quick else args.n_iter
    n_torch = max(n // 5, 100)
    n_numpy = max(n // 20, 50)
    mdp = envs.garnet(args.S, args.A, args.S, gamma=0.9, seed=0)
    path = save_instance(mdp)
    mach = machine()
    cmd = "python benchmarks/bench_exact_pg.py" + (" --quick" if args.quick else "")
    rows = []
    print(f"exact PG family, dense Garnet S={args.S}, A={args.A}, gamma=0.9, {n} iterations; {mach}")
    print(f"{'method':<12}{'peer':<26}{'mdpgrad it/s':>14}{'peer it/s':>12}{'ratio':>8}{'cpu ratio':>10}"
          f"{'max |dV|':>11}")
    try:
        for method in args.methods.split(","):
            eta = METHODS[method]
            res, rate, cpu_rate = time_mdpgrad(mdp, method, eta, n)
            peers = {"JAX jit+lax.scan (float64)": run_peer(["jax", method, path, n, eta], args.timeout)}
            if not args.no_torch:
                peers["torch CPU (float64)"] = run_peer(["torch", method, path, n_torch, eta], args.timeout)
            res_np, rate_np, cpu_np = time_mdpgrad(mdp, method, eta, n_numpy, backend="numpy")
            peers["mdpgrad backend='numpy'"] = {"it_per_s": rate_np, "cpu_it_per_s": cpu_np,
                                                "values": np.asarray(res_np.value)}
            for peer, out in peers.items():
                if "error" in out:
                    rows.append(row(f"{method} vs {peer}", rate, None, "it/s", cmd, mach, error=out["error"]))
                    print(f"{method:<12}{peer:<26}{rate:>14.0f}{'-':>12}{'-':>8}  {out['error']}")
                    continue
                dv = np.nan
                if out.get("values") is not None:
                    vals = np.asarray(out["values"])
                    dv = float(np.max(np.abs(vals - res.value[: len(vals)])))
                cpu_ratio = cpu_rate / out["cpu_it_per_s"]
                rows.append(row(f"{method} vs {peer}", rate, out["it_per_s"], "it/s", cmd, mach, max_abs_dv=dv,
                                cpu_time_ratio=cpu_ratio))
                print(f"{method:<12}{peer:<26}{rate:>14.0f}{out['it_per_s']:>12.0f}{rate / out['it_per_s']:>8.2f}"
                      f"{cpu_ratio:>10.2f}{dv:>11.1e}")
    finally:
        os.unlink(path)
    print("wrote", write_rows("bench_exact_pg", rows))


if __name__ == "__main__":
    main()
