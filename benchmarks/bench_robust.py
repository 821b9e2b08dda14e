"""Robust value iteration on S=500, A=8: exact vectorized / Numba inner solvers vs per-row generic solvers.

Run:  python benchmarks/bench_robust.py [--quick]

For (s, a)-rectangular L1 (radius 0.2) and KL (radius 0.1) sets on a Garnet(500, 8, b=50),
gamma=0.9, the script runs robust value iteration to a certified sup-norm error 1e-6 with
the NumPy-vectorized and the Numba inner solvers, and times the peer -- one generic solve
per (s, a) row: ``scipy.optimize.linprog`` (HiGHS) for L1, ``scipy.optimize.minimize``
(SLSQP) for KL, which is not polyhedral -- on a random sample of rows at the converged
``v``. A full peer sweep (4000 solves) is too slow to run, so its time is **extrapolated**:
per-row mean time x 4000 rows x the number of sweeps VI needed. The sampled peer values are
checked against the exact ones. Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdpgrad import envs  # noqa: E402
from mdpgrad.robust import UncertaintySet, robust_value_iteration, worst_case_values  # noqa: E402
from mdpgrad.robust.reference import reference_inner  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="S=200 and fewer peer samples")
    args = ap.parse_args(argv)
    S, A = (200, 8) if args.quick else (500, 8)
    n_lp = 10 if args.quick else 40
    n_nlp = 2 if args.quick else 5
    mdp = envs.garnet(S, A, 50, gamma=0.9, seed=0)
    P2 = mdp.P.reshape(S * A, S)
    rng = np.random.default_rng(1)
    rows = []
    for U, n_peer, peer_name in ((UncertaintySet("l1", 0.2), n_lp, "linprog"),
                                 (UncertaintySet("kl", 0.1), n_nlp, "SLSQP")):
        # warm-up (Numba compilation) outside the timings
        worst_case_values(P2[:10], np.zeros(S), U, backend="numba")
        times = {}
        res = {}
        for be in ("numpy", "numba"):
            t0 = time.perf_counter()
            res[be] = robust_value_iteration(mdp, U, tol=1e-6, backend=be)
            times[be] = time.perf_counter() - t0
        sweeps = res["numpy"].n_iter
        agree = float(np.max(np.abs(res["numpy"].v - res["numba"].v)))
        v = res["numpy"].v
        exact = worst_case_values(P2, v, U)
        idx = rng.choice(S * A, size=n_peer, replace=False)
        t0 = time.perf_counter()
        peer_vals = np.array([reference_inner(P2[i], v, U)[0] for i in idx])
        t_peer_row = (time.perf_counter() - t0) / n_peer
        peer_err = float(np.max(np.abs(peer_vals - exact[idx])))
        t_peer_vi = t_peer_row * S * A * sweeps
        for be in ("numpy", "numba"):
            rows.append((U.kind, be, sweeps, times[be], times[be] / sweeps, t_peer_vi / times[be]))
        rows.append((U.kind, f"{peer_name} (extrapolated)", sweeps, t_peer_vi, t_peer_row * S * A, 1.0))
        print(f"[{U.kind}] numpy vs numba values agree to {agree:.1e}; {peer_name} on {n_peer} sampled rows "
              f"agrees with the exact inner values to {peer_err:.1e}; peer {t_peer_row * 1e3:.2f} ms/row")
    print(f"\nrobust VI, Garnet(S={S}, A={A}, b=50), gamma=0.9, certified error 1e-6")
    print(f"{'set':<5} {'method':<26} {'sweeps':>6} {'total s':>10} {'s/sweep':>10} {'speed-up vs peer':>17}")
    for kind, be, sw, tot, per, ratio in rows:
        print(f"{kind:<5} {be:<26} {sw:>6d} {tot:>10.3g} {per:>10.3g} {ratio:>16.0f}x")
    print("(peer totals are extrapolated from sampled per-row solves; the machine is shared, timings are noisy)")


if __name__ == "__main__":
    main()
