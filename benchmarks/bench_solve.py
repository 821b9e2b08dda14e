"""Solver benchmark: mdpgrad vs quantecon and pymdptoolbox on Garnet(S=500, A=8, b=10), gamma=0.99.

Run: ``python benchmarks/bench_solve.py [--states 500] [--repeat 5]``.

Each solver runs in this process on the same instance; times are the minimum of ``--repeat``
runs after one warm-up (the minimum is the robust statistic on a shared machine) (Numba compilation excluded). The true sup-norm error of every
solution is measured against a reference (policy iteration, polished to round-off), so
"value iteration to 1e-8" means the *true* error is <= 1e-8 for every library: quantecon's
``epsilon`` is tightened until its true error is below 1e-8.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mdpgrad
from mdpgrad import envs


def timeit(fn, repeat):
    fn()  # warm-up (compilation, caches)
    ts = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return min(ts), out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--states", type=int, default=500)
    ap.add_argument("--actions", type=int, default=8)
    ap.add_argument("--branching", type=int, default=10)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    mdp = envs.garnet(args.states, args.actions, args.branching, gamma=args.gamma, seed=0)
    S, A = mdp.shape
    ref = mdpgrad.solve(mdp, "policy_iteration").v
    rows = []

    def add(name, fn, extract):
        t, out = timeit(fn, args.repeat)
        v = extract(out)
        rows.append((name, t, float(np.max(np.abs(v - ref)))))

    add("mdpgrad PI", lambda: mdpgrad.solve(mdp, "policy_iteration"), lambda r: r.v)
    add("mdpgrad VI (tol 1e-8, numpy)", lambda: mdpgrad.solve(mdp, "value_iteration", tol=1e-8), lambda r: r.v)
    add("mdpgrad VI (tol 1e-8, numba)", lambda: mdpgrad.solve(mdp, "value_iteration", tol=1e-8, backend="numba"),
        lambda r: r.v)
    add("mdpgrad LP (HiGHS)", lambda: mdpgrad.solve(mdp, "linear_programming"), lambda r: r.v)

    try:
        import quantecon as qe

        ddp = qe.markov.DiscreteDP(np.asarray(mdp.r), np.asarray(mdp.P), args.gamma)
        add("quantecon PI", lambda: ddp.solve("policy_iteration"), lambda r: r.v)
        # quantecon's epsilon is a stopping threshold, not the true error: tighten until true err <= 1e-8.
        eps = 1e-8
        for _ in range(8):
            res = ddp.solve("value_iteration", epsilon=eps, max_iter=10**6)
            if np.max(np.abs(res.v - ref)) <= 1e-8:
                break
            eps /= 10
        add(f"quantecon VI (epsilon={eps:g})", lambda: ddp.solve("value_iteration", epsilon=eps, max_iter=10**6),
            lambda r: r.v)
    except ImportError:
        print("quantecon not installed: pip install mdpgrad[bench]")

    try:
        import warnings

        import mdptoolbox.mdp as mtb

        Pm = np.transpose(np.asarray(mdp.P), (1, 0, 2))
        Rm = np.asarray(mdp.r)

        def mtb_pi():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = mtb.PolicyIteration(Pm, Rm, args.gamma, eval_type=0)
                m.run()
            return m

        add("pymdptoolbox PI", mtb_pi, lambda m: np.asarray(m.V))
    except ImportError:
        print("pymdptoolbox not installed: pip install mdpgrad[bench]")

    base = {n: t for n, t, _ in rows}
    print(f"Garnet(S={S}, A={A}, b={args.branching}), gamma={args.gamma}; best of {args.repeat} runs")
    print(f"{'solver':<40} {'seconds':>10} {'true err':>10}")
    for n, t, e in rows:
        print(f"{n:<40} {t:10.5f} {e:10.2e}")
    print()
    pairs = [
        ("mdpgrad PI", "quantecon PI"),
        ("mdpgrad PI", "pymdptoolbox PI"),
    ]
    vi_q = [n for n in base if n.startswith("quantecon VI")]
    for ours in ("mdpgrad VI (tol 1e-8, numpy)", "mdpgrad VI (tol 1e-8, numba)"):
        pairs += [(ours, q) for q in vi_q]
    for ours, peer in pairs:
        if ours in base and peer in base:
            print(f"speedup {ours} vs {peer}: {base[peer] / base[ours]:.2f}x")


if __name__ == "__main__":
    main()
