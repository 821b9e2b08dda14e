"""Preference-game and EFG benchmark: Nash-MP / Nash-MD iterations per second on a dense K x K game.

Run: ``python benchmarks/bench_games.py [--quick] [--K 10000] [--steps 20]``.

Peers in one process, same instance: NumPy float64 (the reference), NumPy float32 (half the memory
traffic), CuPy float64/float32 when a GPU is usable; and for extensive-form games the NumPy
reference vs the Numba kernel of sampled local OMD (Kuhn poker) and CFR+ on Leduc.
Times are the minimum over ``--repeat`` runs after a warm-up (the robust statistic on a shared
machine). A Mirror-Prox step reads the dense K x K matrix twice (two preference queries), so on a
CPU it is memory-bandwidth bound: 2 * 8 * K^2 bytes per step in float64 (1.6 GB at K = 10,000).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mdpgrad.backend import cupy_status, get_backend
from mdpgrad.games import PreferenceGame, nash_md_step, nash_mp_step, random_intransitive
from mdpgrad.games.algorithms import exact_oracle
from mdpgrad.games.efg import cfr, kuhn_poker, leduc_poker, sampled_local_omd


def best_time(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="K = 2000, fewer steps")
    ap.add_argument("--K", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    K = 2000 if args.quick else args.K
    steps = 10 if args.quick else args.steps
    rng = np.random.default_rng(0)
    P = random_intransitive(K, rng)
    mu = rng.dirichlet(np.ones(K)) * 0.5 + 0.5 / K
    game = PreferenceGame(P, mu / mu.sum(), 0.1, name=f"random K={K}")
    peers = [("numpy", np.float64), ("numpy", np.float32)]
    ok, why = cupy_status()
    if ok:
        peers += [("cupy", np.float64), ("cupy", np.float32)]
    rows = []
    steps_fn = {"nash_mp": nash_mp_step, "nash_md": nash_md_step}
    for method in ("nash_mp", "nash_md"):
        ref = None
        for be_name, dt in peers:
            be = get_backend(be_name)
            xp = be.xp
            Pd = be.asarray(game.P, dtype=dt)  # converted once, outside the timed loop
            logmu = be.asarray(game.log_mu, dtype=dt)
            orc = exact_oracle(Pd, xp)
            eta = 2.0 if method == "nash_mp" else 1.0 / (1.0 + game.beta)

            def fn(method=method, xp=xp, logmu=logmu, orc=orc, eta=eta, be_name=be_name):
                lp = logmu
                for _ in range(steps):
                    lp = steps_fn[method](lp, orc, logmu, game.beta, eta, xp)
                if be_name == "cupy":
                    import cupy

                    cupy.cuda.Device().synchronize()
                return lp

            t = best_time(fn, args.repeat)
            ips = steps / t
            ref = ips if ref is None else ref
            rows.append((f"{method} K={K} {be_name} {np.dtype(dt).name}", ips, ips / ref))
    kuhn = kuhn_poker()
    n_np, n_nb = (300, 20_000) if args.quick else (1000, 200_000)
    t_np = best_time(lambda: sampled_local_omd(kuhn, n_np, 0, backend="numpy", record=[n_np]), 1)
    t_nb = best_time(lambda: sampled_local_omd(kuhn, n_nb, 0, backend="numba", record=[n_nb]), 1)
    rows.append(("local OMD Kuhn numpy (iter/s)", n_np / t_np, 1.0))
    rows.append(("local OMD Kuhn numba (iter/s)", n_nb / t_nb, (n_nb / t_nb) / (n_np / t_np)))
    leduc = leduc_poker()
    n_cfr = 5 if args.quick else 20
    t_cfr = best_time(lambda: cfr(leduc, n_cfr, plus=True, record=[n_cfr]), 1)
    rows.append(("CFR+ Leduc numpy (iter/s)", n_cfr / t_cfr, 1.0))
    print(f"machine note: shared 2-core CPU, timings noisy; CuPy: {why}")
    print(f"{'peer':45s} {'it/s':>12s} {'ratio':>8s}")
    for name, ips, ratio in rows:
        print(f"{name:45s} {ips:12.1f} {ratio:8.2f}")
    gb = 2 * 8 * K * K / 1e9
    print(f"(Nash-MP reads P twice per step: {gb:.2f} GB/step in float64, {gb / 2:.2f} GB in float32)")


if __name__ == "__main__":
    main()
