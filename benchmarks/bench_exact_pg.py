"""Exact softmax policy-gradient iterations per second on a dense S=100, A=10 MDP.

Peers, all computing the same exact iteration (evaluate v and d by linear solves, Q, gradient,
step) and all checked against each other on the first iterations:

* ``numpy``           -- ``mdpgrad.optimize(..., backend="numpy")`` (Python loop, NumPy/LAPACK);
* ``numba-gesv``      -- fused Numba loop, two LAPACK ``gesv`` solves per iteration;
* ``numba-lu-refine`` -- fused Numba loop reusing one LU factorization with iterative refinement
                         to the backward error of a direct solve (refactoring when needed);
* ``torch``           -- a PyTorch CPU loop with ``torch.linalg.solve`` (only if torch is installed).

Both wall-clock and process-CPU rates are printed: on a shared machine the CPU-time rate is the
better estimate of single-core throughput. Usage::

    python benchmarks/bench_exact_pg.py [--quick] [--S 100] [--A 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import numpy as np  # noqa: E402

from mdpgrad import envs  # noqa: E402
from mdpgrad.algorithms import optimize, run_softmax_family, run_softmax_pg_fast  # noqa: E402


def _timed(fn, n):
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(n)
    return out, n / (time.perf_counter() - t0), n / max(time.process_time() - c0, 1e-9)


def torch_loop(mdp, eta, n):
    import torch

    P = torch.tensor(mdp.P, dtype=torch.float64)
    r = torch.tensor(mdp.r, dtype=torch.float64)
    rho = torch.tensor(mdp.rho, dtype=torch.float64)
    S, A = mdp.shape
    g = mdp.gamma
    theta = torch.zeros(S, A, dtype=torch.float64)
    eye = torch.eye(S, dtype=torch.float64)
    vals = []
    for _ in range(n + 1):
        pi = torch.softmax(theta, dim=1)
        M = eye - g * torch.einsum("sa,sat->st", pi, P)
        v = torch.linalg.solve(M, (pi * r).sum(1))
        d = torch.linalg.solve(M.T, (1 - g) * rho)
        q = r + g * (P @ v)
        vals.append(float(rho @ v))
        theta = theta + eta / (1 - g) * d[:, None] * pi * (q - v[:, None])
    return np.array(vals)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--S", type=int, default=100)
    ap.add_argument("--A", type=int, default=10)
    ap.add_argument("--eta", type=float, default=1.0)
    args = ap.parse_args(argv)
    S, A = args.S, args.A
    mdp = envs.garnet(S, A, S, gamma=0.9, seed=0)  # dense: every (s, a) reaches every state
    n_fast = 1000 if args.quick else 10000
    n_slow = 50 if args.quick else 300
    eta = args.eta
    # warm-up (JIT compilation is cached on disk after the first run)
    run_softmax_family(mdp, "softmax_pg", 3, eta)
    run_softmax_pg_fast(mdp, 3, eta)
    rows = []
    ref, w, c = _timed(lambda n: optimize(mdp, "softmax_pg", n_iter=n, step_size=eta, record=("value",),
                                          v_star=0.0).value, n_slow)
    rows.append(("numpy (optimize)", n_slow, w, c, 0.0))
    vals, w, c = _timed(lambda n: run_softmax_family(mdp, "softmax_pg", n, eta)[0], n_fast)
    rows.append(("numba-gesv", n_fast, w, c, float(np.max(np.abs(vals[: n_slow + 1] - ref)))))
    out, w, c = _timed(lambda n: run_softmax_pg_fast(mdp, n, eta), n_fast)
    rows.append(("numba-lu-refine", n_fast, w, c, float(np.max(np.abs(out[0][: n_slow + 1] - ref)))))
    n_fact = out[1]
    try:
        import torch  # noqa: F401

        tv, w, c = _timed(lambda n: torch_loop(mdp, eta, n), n_slow)
        rows.append(("torch (CPU)", n_slow, w, c, float(np.max(np.abs(tv - ref)))))
    except ImportError:
        rows.append(("torch (CPU)", 0, float("nan"), float("nan"), float("nan")))
    base = rows[0][2]
    print(f"exact softmax PG, dense Garnet S={S}, A={A}, gamma=0.9, eta={eta}; load avg "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'peer':<20}{'iters':>8}{'wall it/s':>12}{'cpu it/s':>12}{'x numpy':>10}{'max |dV|':>12}")
    for name, n, w, c, err in rows:
        print(f"{name:<20}{n:>8}{w:>12.0f}{c:>12.0f}{w / base:>10.1f}{err:>12.1e}")
    print(f"numba-lu-refine: {n_fact} LU factorizations in {n_fast} iterations; target 10,000 it/s")


if __name__ == "__main__":
    main()
