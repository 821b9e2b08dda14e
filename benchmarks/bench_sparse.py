"""Sparse-MDP benchmark: mdpgrad.sparse vs quantecon's sparse DiscreteDP, in one process.

    python benchmarks/bench_sparse.py            # Garnet S=50,000, A=8, b=10, gamma=0.99
    python benchmarks/bench_sparse.py --quick    # S=5,000 (a few seconds)

1. Solve to true sup-norm error 1e-8 (measured against a reference solved by our policy
   iteration to a certified 5e-11): our modified policy iteration (serial and parallel
   Numba kernels), value iteration, policy iteration with a Krylov evaluation step, and
   quantecon's sparse ``DiscreteDP`` modified policy iteration. quantecon's ``epsilon`` makes
   its returned v within epsilon/2 of v* in exact arithmetic (see mdpgrad.sparse.solvers),
   so it runs at ``epsilon = 2e-8``; its measured true error is printed next to its time.
   Times are the best of ``--repeat`` runs (quantecon's ``DiscreteDP`` construction is not timed).
2. Batched exact evaluation of 1,000 policies on a dense Garnet(S=100, A=10, b=10) vs 1,000
   separate ``mdpgrad.evaluate`` calls: independent random policies (nothing to share: batched
   LU) and policies that differ from a base policy in 1-3 states (one LU reused via Woodbury).

BLAS threads are pinned to 1 (``--blas-threads``) before NumPy is imported: on a machine
shared with other jobs, multithreaded OpenBLAS on vectors of length 5e4 or 100x100 matrices
spends most of its time waiting (we measured 10-50x slowdowns). It applies to every peer.
The scaling plot (time vs S, 10^3 - 10^6) is ``benchmarks/bench_sparse_scaling.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="S = 5,000 instead of 50,000")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--blas-threads", default="1")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def _best(fn, repeat):
    out, best = None, float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> int:
    args = _args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, args.blas_threads)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import numba
    import numpy as np

    import mdpgrad
    import mdpgrad.kernels.sparse as K
    from mdpgrad import envs, sparse

    K.PARALLEL_MIN_THREADS = 1  # the benchmark chooses the kernel variant explicitly

    S = 5_000 if args.quick else 50_000
    A, B, gamma, target = 8, 10, 0.99, 1e-8
    t0 = time.perf_counter()
    m = sparse.garnet(S, A, B, gamma=gamma, seed=args.seed)
    t_gen = time.perf_counter() - t0
    print(f"# Garnet S={S}, A={A}, b={B}, gamma={gamma}: nnz={m.nnz}, P uses {m.nbytes / 2**20:.1f} MiB, "
          f"built in {t_gen:.2f} s; numba threads={numba.get_num_threads()}, BLAS threads={args.blas_threads}")
    # Warm up (JIT compilation happens here, from the on-disk cache when present).
    small = sparse.garnet(200, A, B, gamma=gamma, seed=1)
    for pmin in (10**18, 1):
        K.PARALLEL_MIN_NNZ = pmin
        for meth in ("vi", "mpi", "pi"):
            sparse.solve(small, meth)
    K.PARALLEL_MIN_NNZ = 10**18
    t_ref, ref = _best(lambda: sparse.solve(m, "pi", tol=5e-11), 1)
    print(f"# reference: policy iteration, certified error {ref.error_bound:.2e} ({t_ref:.2f} s)")

    rows = []

    def run(label, fn, v_of=lambda r: r.v, note=""):
        t, res = _best(fn, args.repeat)
        err = float(np.max(np.abs(v_of(res) - ref.v)))
        rows.append((label, t, err, note(res) if callable(note) else note))

    K.PARALLEL_MIN_NNZ = 10**18
    run("mdpgrad MPI (serial kernels)", lambda: sparse.solve(m, "mpi", tol=target),
        note=lambda r: f"{r.n_iter} improvements, certified {r.error_bound:.1e}")
    K.PARALLEL_MIN_NNZ = 1
    run(f"mdpgrad MPI (parallel, {numba.get_num_threads()} thr)", lambda: sparse.solve(m, "mpi", tol=target),
        note=lambda r: f"certified {r.error_bound:.1e}")
    K.PARALLEL_MIN_NNZ = 10**18
    run("mdpgrad VI (serial kernels)", lambda: sparse.solve(m, "vi", tol=target),
        note=lambda r: f"{r.n_iter} sweeps, certified {r.error_bound:.1e}")
    run("mdpgrad PI + BiCGSTAB", lambda: sparse.solve(m, "pi", tol=target),
        note=lambda r: f"{r.n_iter} improvements, {r.n_policy_backups} matvecs, certified {r.error_bound:.1e}")
    run("mdpgrad PI + GMRES(30)", lambda: sparse.solve(m, "pi", tol=target, krylov="gmres"),
        note=lambda r: f"{r.n_iter} improvements, {r.n_policy_backups} matvecs, certified {r.error_bound:.1e}")
    try:
        import quantecon as qe

        s_ind = np.repeat(np.arange(S), A)
        a_ind = np.tile(np.arange(A), S)
        ddp = qe.markov.DiscreteDP(m.r.ravel(), m.P, gamma, s_ind, a_ind)
        run("quantecon MPI eps=2e-8 (k=20)", lambda: ddp.solve("modified_policy_iteration", epsilon=2e-8),
            note=lambda r: f"{r.num_iter} iterations")
        run("quantecon MPI eps=1e-3 (default)", lambda: ddp.solve("modified_policy_iteration"),
            note=lambda r: f"{r.num_iter} iterations (not at the target)")
    except ImportError as exc:  # pragma: no cover - optional peer
        print(f"# quantecon unavailable: {exc}")
    base = next((t for lab, t, *_ in rows if lab.startswith("quantecon MPI eps=2e-8")), None)
    print(f"\n{'method':38s} {'time [s]':>9s} {'true err':>9s} {'qe/this':>8s}  notes")
    for lab, t, err, note in rows:
        ratio = f"{base / t:8.2f}" if base else "     n/a"
        print(f"{lab:38s} {t:9.3f} {err:9.1e} {ratio}  {note}")

    # --- batched evaluation ------------------------------------------------------------------
    dense = envs.garnet(100, 10, 10, gamma=0.95, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    random_pis = rng.dirichlet(np.ones(10), size=(1000, 100))
    base = rng.dirichlet(np.ones(10), size=100)
    local_pis = np.repeat(base[None], 1000, axis=0)  # 1-3 states re-drawn from the base policy
    for b in range(1, 1000):
        for s in rng.choice(100, int(rng.integers(1, 4)), replace=False):
            local_pis[b, s] = rng.dirichlet(np.ones(10))
    print("\nbatched evaluation of 1000 policies on a dense Garnet(100, 10, 10), gamma=0.95 "
          "(v, q, advantage, occupancy, value for each):")
    for label, pis in (("independent random policies", random_pis), ("1-3 states from a base policy", local_pis)):
        mdpgrad.evaluate(dense, pis[:2])
        t_sep, _ = _best(lambda pis=pis: [mdpgrad.evaluate(dense, p) for p in pis], args.repeat)
        t_bat, ev = _best(lambda pis=pis: mdpgrad.evaluate(dense, pis), args.repeat)
        agree = max(float(np.max(np.abs(ev.v[b] - mdpgrad.evaluate(dense, pis[b]).v))) for b in (0, 7, 999))
        print(f"  {label:30s}: 1000 separate calls {t_sep:.3f} s | one batched call {t_bat:.3f} s | "
              f"speed-up {t_sep / t_bat:5.2f}x | max |v_batch - v_single| = {agree:.1e}")
    print("\n# timings are noisy: the machine is shared with other jobs (see `uptime`).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
