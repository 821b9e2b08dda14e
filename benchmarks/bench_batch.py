"""Batched runs: a step-size sweep in one ``optimize`` call, and batched exact evaluation.

1. 64 step sizes (log-spaced 0.1 .. 10) of exact softmax PG on a dense Garnet(S=50, A=5), gamma 0.9,
   2,000 iterations each: ``optimize(mdp, "softmax_pg", n_iter=2000, step_size=etas)`` -- one compiled
   call, parallel over the batch -- against JAX ``jit(vmap(lax.scan))`` (float64), a loop of jitted
   single JAX runs (the fallback where vmap hangs), PyTorch CPU batched solves, and 64 separate
   ``optimize`` calls (NumPy backend, i.e. the loop a user wrote before batching; and the default
   backend). Peers run in subprocesses with a timeout; a hang is reported as such.
2. Exact evaluation of 1,000 independent random policies on a dense Garnet(S=100, A=10):
   ``evaluate(mdp, pis)`` against 1,000 separate ``evaluate`` calls.

Usage::

    python benchmarks/bench_batch.py [--quick] [--timeout 300]

Writes ``benchmarks/results/bench_batch.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import numba  # noqa: E402
import numpy as np  # noqa: E402
from _common import RESULTS, machine, row, run_peer, save_instance, write_rows  # noqa: E402

from mdpgrad import envs, evaluate, optimize  # noqa: E402


def _clock():
    return time.perf_counter(), time.process_time()


def _since(t0c0):
    return time.perf_counter() - t0c0[0], time.process_time() - t0c0[1]


def step_size_batch(args, mach, cmd, rows):
    n, B = (500, 16) if args.quick else (2000, 64)
    mdp = envs.garnet(50, 5, 50, gamma=0.9, seed=1)
    etas = np.geomspace(0.1, 10.0, B)
    optimize(mdp, "softmax_pg", n_iter=3, step_size=etas[:2])  # JIT (cached on disk after the first run)
    c = _clock()
    res = optimize(mdp, "softmax_pg", n_iter=n, step_size=etas)
    wall, cpu = _since(c)
    rate, cpu_rate = B * n / wall, B * n / cpu
    path = save_instance(mdp)
    fd, epath = tempfile.mkstemp(suffix=".npy")
    os.close(fd)
    np.save(epath, etas)
    print(f"{B}-run step-size batch, softmax PG, Garnet(50, 5), {n} iterations; {mach}")
    print(f"{'peer':<40}{'mdpgrad it/s':>14}{'peer it/s':>12}{'ratio':>8}{'cpu ratio':>10}{'max |dV|':>11}")
    peers = {}
    try:
        peers["JAX jit(vmap(lax.scan))"] = run_peer(["jax", "softmax_pg", path, n, 0.0, "--batch", epath], args.timeout)
        peers["JAX loop of jitted runs"] = run_peer(["jax", "softmax_pg", path, n, 0.0, "--batch", epath, "--loop"],
                                                    args.timeout)
        peers["torch CPU batched"] = run_peer(["torch", "softmax_pg", path, n, 0.0, "--batch", epath], args.timeout)
    finally:
        os.unlink(path)
        os.unlink(epath)
    k = 4  # separate calls: time k of them and scale (each is one full run)
    for backend, label in (("numpy", "64 separate optimize(backend='numpy')"),
                           ("auto", "64 separate optimize() (default backend)")):
        optimize(mdp, "softmax_pg", n_iter=3, step_size=1.0, backend=backend)  # JIT / cache load
        c = _clock()
        sep = [optimize(mdp, "softmax_pg", n_iter=n, step_size=e, backend=backend) for e in etas[:k]]
        w, cp = _since(c)
        dv = max(float(np.max(np.abs(s.value - res.value[i]))) for i, s in enumerate(sep))
        peers[label.replace("64", str(B))] = {"it_per_s": k * n / w, "cpu_it_per_s": k * n / cp, "dv": dv}
    for peer, out in peers.items():
        if "error" in out:
            rows.append(row(f"{B}-run step-size batch vs {peer}", rate, None, "it/s", cmd, mach, error=out["error"]))
            print(f"{peer:<40}{rate:>14.0f}{'-':>12}{'-':>8}{'-':>10}  {out['error']}")
            continue
        dv = out.get("dv")
        if dv is None:
            dv = float(np.max(np.abs(np.asarray(out["values"]) - res.value)))
        cr = cpu_rate / out["cpu_it_per_s"]
        rows.append(row(f"{B}-run step-size batch vs {peer}", rate, out["it_per_s"], "it/s", cmd, mach,
                        cpu_time_ratio=cr, max_abs_dv=dv))
        print(f"{peer:<40}{rate:>14.0f}{out['it_per_s']:>12.0f}{rate / out['it_per_s']:>8.2f}{cr:>10.2f}{dv:>11.1e}")


def evaluation_batch(args, mach, cmd, rows):
    B = 200 if args.quick else 1000
    mdp = envs.garnet(100, 10, 100, gamma=0.9, seed=0)
    pis = np.random.default_rng(0).dirichlet(np.ones(10), size=(B, 100))
    evaluate(mdp, pis[:4])  # JIT
    wall = cpu = w = cp = np.inf
    for _ in range(3):  # best of 3 for both sides (the machine is shared)
        c = _clock()
        ev = evaluate(mdp, pis)
        wall, cpu = (min(a, b) for a, b in zip((wall, cpu), _since(c)))
        c = _clock()
        sep = [evaluate(mdp, p) for p in pis]
        w, cp = (min(a, b) for a, b in zip((w, cp), _since(c)))
    dv = max(float(np.max(np.abs(s.v - ev.v[i]))) for i, s in enumerate(sep))
    threads = numba.get_num_threads()
    rows.append(row(f"evaluate {B} independent policies (S=100, A=10): batch vs separate calls", B / wall, B / w,
                    "policies/s", cmd, mach, cpu_time_ratio=(B / cpu) / (B / cp), max_abs_dv=dv,
                    numba_threads=threads))
    print(f"\nevaluate {B} policies, Garnet(100, 10), {threads} Numba threads: batch {B / wall:.0f}/s, "
          f"separate {B / w:.0f}/s, ratio {w / wall:.2f} (cpu {cp / cpu:.2f}); max |dv| {dv:.1e}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--part", choices=("all", "steps", "evaluation"), default="all",
                    help="run one part; the other part's rows in the JSON file are kept")
    args = ap.parse_args(argv)
    mach = machine()
    cmd = "python benchmarks/bench_batch.py" + (" --quick" if args.quick else "")
    rows = []
    if args.part != "evaluation":
        step_size_batch(args, mach, cmd, rows)
    if args.part != "steps":
        evaluation_batch(args, mach, cmd, rows)
    if args.part != "all":
        path = RESULTS / "bench_batch.json"
        old = json.loads(path.read_text()) if path.exists() else []
        keep = [r for r in old if r["name"].startswith("evaluate") == (args.part == "steps")]
        rows = keep + rows if args.part == "evaluation" else rows + keep
    print("wrote", write_rows("bench_batch", rows))


if __name__ == "__main__":
    main()
