"""Rollout throughput: mdpgrad's Numba sampler vs a plain gymnasium step loop on FrozenLake 8x8.

    python benchmarks/bench_rollouts.py [--quick]

Prints transitions per second for
  * gymnasium: ``env.step`` in a Python loop with uniformly random actions (reset on termination);
  * mdpgrad paths: ``sample_trajectories(..., horizon="absorbing")`` storing states/actions/rewards
    (padded arrays; includes the counting pass that sizes them);
  * mdpgrad paths, ``layout="flat"``: the same trajectories concatenated with offsets (no padding; for
    ``"absorbing"`` this samples twice: a counting pass fixes the offsets);
  * mdpgrad returns: ``sample_returns`` (same sampler, per-trajectory return and length only);
each on 1 thread and on all Numba threads, with ratios to gymnasium. Each mdpgrad row is the
best of ``--reps`` runs, in wall-clock time and in CPU time (``time.process_time``, all threads
summed): on a shared machine wall time includes waiting for a core, CPU time does not, so a gap
between the two shows contention. Run with ``NUMBA_NUM_THREADS=1`` for a strictly one-core figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))


def bench_gym(env, seconds: float) -> float:
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    n, t0 = 0, time.perf_counter()
    while True:
        for a in rng.integers(0, 4, size=1000):
            _, _, term, trunc, _ = env.step(int(a))
            if term or trunc:
                env.reset()
        n += 1000
        if time.perf_counter() - t0 > seconds:
            return n / (time.perf_counter() - t0)


def best_of(fn, reps=5):
    """Best wall and best CPU seconds over ``reps`` calls (and the last output)."""
    wall = cpu = np.inf
    out = None
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu, out


def main(argv=None):
    import gymnasium as gym
    import numba

    from mdpgrad.envs import from_gymnasium
    from mdpgrad.rollouts import sample_returns, sample_trajectories

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    n_traj = 20_000 if args.quick else 200_000
    env = gym.make("FrozenLake-v1", map_name="8x8")
    mdp = from_gymnasium(env, 0.99)
    pi = np.full(mdp.shape, 0.25)
    gym_rate = bench_gym(env, 0.5 if args.quick else 2.0)
    rows = [("gymnasium step loop", 1, gym_rate, gym_rate)]
    sample_trajectories(mdp, pi, 100, horizon="absorbing", length=200, seed=0)  # compile / load cache
    sample_returns(mdp, pi, 100, horizon="absorbing", length=200, seed=0)
    all_threads = numba.config.NUMBA_NUM_THREADS
    for threads in sorted({1, all_threads}):
        numba.set_num_threads(threads)
        wall, cpu, ro = best_of(lambda: sample_trajectories(mdp, pi, n_traj, horizon="absorbing", length=200,
                                                            seed=1), args.reps)
        rows.append(("mdpgrad paths (absorbing, cap 200)", threads, ro.n_steps / wall, ro.n_steps / cpu))
        wall, cpu, fl = best_of(lambda: sample_trajectories(mdp, pi, n_traj, horizon="absorbing", length=200,
                                                            seed=1, layout="flat"), args.reps)
        rows.append(("mdpgrad paths, layout='flat'", threads, fl.n_steps / wall, fl.n_steps / cpu))
        wall, cpu, (_, L) = best_of(lambda: sample_returns(mdp, pi, n_traj, horizon="absorbing", length=200,
                                                           seed=1), args.reps)
        rows.append(("mdpgrad returns only", threads, L.sum() / wall, L.sum() / cpu))
    print(f"FrozenLake 8x8, uniform random policy, {n_traj} trajectories per mdpgrad run, {ro.n_steps} transitions, "
          f"padded width {ro.actions.shape[1]} (numba threads available: {all_threads}; best of {args.reps}; "
          "shared machine: wall includes waiting for a core, CPU time sums all threads)")
    print(f"{'method':36s} {'threads':>7s} {'wall trans/s':>14s} {'x gym':>7s} {'CPU trans/s':>14s} {'x gym':>7s}")
    for name, th, rate, crate in rows:
        print(f"{name:36s} {th:7d} {rate:14,.0f} {rate / gym_rate:7.1f} {crate:14,.0f} {crate / gym_rate:7.1f}")

if __name__ == "__main__":
    main()
