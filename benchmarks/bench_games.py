"""Preference-game and EFG benchmark: Nash-MP / Nash-MD iterations per second on a K x K game.

Run: ``python benchmarks/bench_games.py [--quick] [--K 10000] [--steps 20] [--repeat 5]``.

Peers in one process, same instance: NumPy float64 dense ``P @ pi`` (the reference), NumPy float32
dense (half the memory traffic), the packed antisymmetric operator (``operator="packed"``: only the
strict upper triangle of ``A = P - 1/2`` stored, one Numba pass per product, float64 accumulation)
with float64 and float32 storage (1/2 and 1/4 of the bytes of dense float64), CuPy float64/float32
when a GPU is usable; and for extensive-form games the NumPy reference vs the Numba kernel of
sampled local OMD (Kuhn poker) and CFR+ on Leduc.
Times are the minimum over ``--repeat`` runs after a warm-up (the robust statistic on a shared
machine); the median is printed too, and ``cpu/wall`` is ``time.process_time`` over wall time of the
fastest run (about the number of busy threads: below the thread count when another process held a
core). A Mirror-Prox step makes two sequential products (two preference queries), a Nash-MD step
one; on a CPU they are memory-bandwidth bound: 8 K^2 bytes per product in dense float64 (0.8 GB at
K = 10,000), 4 K^2 packed float64, 2 K^2 packed float32.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mdpgrad.backend import cupy_status, get_backend
from mdpgrad.games import PreferenceGame, nash_md_step, nash_mp_step, pack_preference, random_intransitive
from mdpgrad.games.algorithms import exact_oracle
from mdpgrad.games.efg import cfr, kuhn_poker, leduc_poker, sampled_local_omd


def best_time(fn, repeat):
    return timings(fn, repeat)[0]


def timings(fn, repeat):
    """(best wall, median wall, process_time / wall of the best run) over ``repeat`` runs after a warm-up."""
    fn()
    ts = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        ts.append((time.perf_counter() - t0, time.process_time() - c0))
    w, c = min(ts)
    return w, float(np.median([t[0] for t in ts])), c / w


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="K = 2000, fewer steps")
    ap.add_argument("--K", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    K = 2000 if args.quick else args.K
    steps = 10 if args.quick else args.steps
    rng = np.random.default_rng(0)
    P = random_intransitive(K, rng)
    mu = rng.dirichlet(np.ones(K)) * 0.5 + 0.5 / K
    game = PreferenceGame(P, mu / mu.sum(), 0.1, name=f"random K={K}")
    peers = [("numpy", np.float64), ("numpy", np.float32), ("packed", np.float64), ("packed", np.float32)]
    ok, why = cupy_status()
    if ok:
        peers += [("cupy", np.float64), ("cupy", np.float32)]
    rows = []
    t0 = time.perf_counter()
    packed = {dt: pack_preference(game, dtype=dt) for dt in (np.float64, np.float32)}  # once, outside the timing
    t_pack = (time.perf_counter() - t0) / 2
    steps_fn = {"nash_mp": nash_mp_step, "nash_md": nash_md_step}
    for method in ("nash_mp", "nash_md"):
        ref = None
        for be_name, dt in peers:
            be = get_backend("numpy" if be_name == "packed" else be_name)
            xp = be.xp
            # converted once, outside the timed loop; the packed iterates are float64 (the storage dtype
            # only sets the bytes read; accumulation is float64)
            Pd = packed[dt] if be_name == "packed" else be.asarray(game.P, dtype=dt)
            logmu = be.asarray(game.log_mu, dtype=np.float64 if be_name == "packed" else dt)
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

            t, t_med, cpu = timings(fn, args.repeat)
            ips = steps / t
            ref = ips if ref is None else ref
            rows.append((f"{method} K={K} {be_name} {np.dtype(dt).name}", ips, ips / ref, steps / t_med, cpu))
    kuhn = kuhn_poker()
    n_np, n_nb = (300, 20_000) if args.quick else (1000, 200_000)
    t_np = best_time(lambda: sampled_local_omd(kuhn, n_np, 0, backend="numpy", record=[n_np]), 1)
    t_nb = best_time(lambda: sampled_local_omd(kuhn, n_nb, 0, backend="numba", record=[n_nb]), 1)
    rows.append(("local OMD Kuhn numpy (iter/s)", n_np / t_np, 1.0, None, None))
    rows.append(("local OMD Kuhn numba (iter/s)", n_nb / t_nb, (n_nb / t_nb) / (n_np / t_np), None, None))
    leduc = leduc_poker()
    n_cfr = 5 if args.quick else 20
    t_cfr = best_time(lambda: cfr(leduc, n_cfr, plus=True, record=[n_cfr]), 1)
    rows.append(("CFR+ Leduc numpy (iter/s)", n_cfr / t_cfr, 1.0, None, None))
    print(f"machine note: shared 2-core CPU, timings noisy; CuPy: {why}")
    print(f"{'peer':45s} {'it/s best':>10s} {'ratio':>7s} {'it/s median':>12s} {'cpu/wall':>9s}")
    for name, ips, ratio, med, cpu in rows:
        extra = f"{med:12.1f} {cpu:9.2f}" if med is not None else ""
        print(f"{name:45s} {ips:10.1f} {ratio:7.2f} {extra}")
    gb = 8 * K * K / 1e9
    print(f"(bytes per product: dense float64 {gb:.2f} GB, dense float32 {gb / 2:.2f} GB, packed float64 "
          f"{gb / 2:.2f} GB, packed float32 {gb / 4:.2f} GB; Nash-MP makes 2 products per step, Nash-MD 1; "
          f"packing took {t_pack:.2f} s per dtype)")


if __name__ == "__main__":
    main()
