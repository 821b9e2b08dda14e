"""Throughput of the TD and SDE kernels vs plain NumPy loops (same process, same inputs).

    python benchmarks/bench_td.py [--quick]

TD: linear TD(0) (accumulating traces, lambda = 0) on a Garnet MDP with S=100, A=4, d=10 features,
one run on ONE thread (numba.set_num_threads(1)), transitions sampled inside the kernel; peer: the
NumPy reference loop (one Python iteration per update, same random stream). Target >= 20M updates/s.

SDE: Euler-Maruyama for 1-D OU paths (vectorized over paths); Numba kernel on 1 thread and on all
threads vs the NumPy twin (a Python loop over time, vectorized over paths, same streams).
Target >= 50M path-steps/s. Timings are wall-clock best-of-3 after a warm-up call (compilation
excluded); on a shared machine they are noisy, so the table also gives throughput per CPU-second of
this process (``time.process_time``), which is what one dedicated core would deliver for the 1-thread
rows (for the multi-thread row: CPU-seconds divided by the thread count, i.e. what that many
dedicated cores would deliver).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numba
import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from mdpgrad import envs, td  # noqa: E402
from mdpgrad import martingale as mg  # noqa: E402

CPU = []  # process CPU seconds of the last best_of call (robust to other jobs on a shared machine)


def best_of(fn, k=3):
    ts, cs = [], []
    for _ in range(k):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    CPU.append(min(cs))
    return min(ts)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    S, A, d = 100, 4, 10
    mdp = envs.garnet(S, A, 10, gamma=0.9, seed=rng)
    pi = rng.dirichlet(np.ones(A), size=S)
    phi = rng.normal(size=(S, d)) / np.sqrt(d)
    n_nb = 2_000_000 if args.quick else 20_000_000
    n_np = 5_000 if args.quick else 30_000
    rows = []
    n_threads = numba.get_num_threads()
    numba.set_num_threads(1)
    td.run_td(mdp, pi, phi, alpha=0.01, n_steps=1000, seed=1)  # compile / load cache
    t_nb = best_of(lambda: td.run_td(mdp, pi, phi, alpha=0.01, n_steps=n_nb, seed=1))
    t_np = best_of(lambda: td.run_td(mdp, pi, phi, alpha=0.01, n_steps=n_np, seed=1, backend="numpy"), k=1)
    rows.append(("TD(0) S=100 d=10, numba 1 thread", n_nb / t_nb, "updates/s", n_nb / CPU[0]))
    rows.append(("TD(0) S=100 d=10, NumPy loop", n_np / t_np, "updates/s", n_np / CPU[1]))
    # TD(lambda) and TDC for reference
    t_l = best_of(lambda: td.run_td(mdp, pi, phi, lambda_=0.9, alpha=0.01, n_steps=n_nb, seed=1))
    rows.append(("TD(0.9) S=100 d=10, numba 1 thread", n_nb / t_l, "updates/s", n_nb / CPU[2]))
    t_c = best_of(lambda: td.run_td(mdp, pi, phi, method="tdc", alpha=0.01, beta=0.05, n_steps=n_nb, seed=1))
    rows.append(("TDC S=100 d=10, numba 1 thread", n_nb / t_c, "updates/s", n_nb / CPU[3]))
    # SDE
    n_paths, n_steps = (10_000, 200) if args.quick else (20_000, 1000)
    x0 = np.zeros((n_paths, 1))
    args_sde = (x0, np.zeros(1), np.array([[-1.0]]), np.array([[0.5]]))
    mg.simulate_linear_sde(*args_sde, dt=0.01, n_steps=2, seed=0)
    t1 = best_of(lambda: mg.simulate_linear_sde(*args_sde, dt=0.01, n_steps=n_steps, record_every=n_steps, seed=0))
    numba.set_num_threads(n_threads)
    tn = best_of(lambda: mg.simulate_linear_sde(*args_sde, dt=0.01, n_steps=n_steps, record_every=n_steps, seed=0))
    n_np_steps = max(n_steps // 10, 10)
    tp = best_of(lambda: mg.simulate_linear_sde(*args_sde, dt=0.01, n_steps=n_np_steps, record_every=n_np_steps,
                                                seed=0, backend="numpy"), k=1)
    rows.append(("Euler-Maruyama 1-D, numba 1 thread", n_paths * n_steps / t1, "path-steps/s",
                 n_paths * n_steps / CPU[4]))
    rows.append((f"Euler-Maruyama 1-D, numba {n_threads} threads", n_paths * n_steps / tn, "path-steps/s",
                 n_paths * n_steps * n_threads / CPU[5]))
    rows.append(("Euler-Maruyama 1-D, NumPy (vectorized over paths)", n_paths * n_np_steps / tp, "path-steps/s",
                 n_paths * n_np_steps / CPU[6]))
    print(f"{'kernel':52s} {'wall':>10s}  {'per CPU-s':>10s}  unit           ratio vs NumPy (wall)")
    td_np = rows[1][1]
    sde_np = rows[-1][1]
    for name, val, unit, cpu in rows:
        ref = td_np if unit == "updates/s" else sde_np
        print(f"{name:52s} {val / 1e6:8.2f} M  {cpu / 1e6:8.2f} M  {unit:14s} {val / ref:8.1f}x")


if __name__ == "__main__":
    main()
