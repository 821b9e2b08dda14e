"""Scaling of the sparse solvers: wall time vs number of states, 10^3 to 10^6.

    python benchmarks/bench_sparse_scaling.py                   # S = 1e3, 1e4, 1e5, 1e6
    python benchmarks/bench_sparse_scaling.py --max-states 1e5  # skip the 10^6 point
    python benchmarks/bench_sparse_scaling.py --quick           # S = 1e3, 1e4 only

Instance: Garnet(S, A=8, b=10), gamma=0.99 (the bench_sparse.py instance, scaled); every
solver runs to a certified sup-norm error 1e-8 (``tol=1e-8``). Writes
``paper_figures/sparse_scaling.png`` and ``paper_figures/sparse_scaling.csv``. BLAS threads
are pinned to 1 and the serial Numba kernels are used by default (``--kernels``), because the
machine these numbers come from is shared with other jobs (see bench_sparse.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-states", type=float, default=1e6)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--kernels", choices=("serial", "parallel", "auto"), default="serial")
    p.add_argument("--out", default=None, help="output folder (default: paper_figures/ next to benchmarks/)")
    args = p.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)
    import numba
    import numpy as np

    import mdpgrad.kernels.sparse as K
    from mdpgrad import sparse
    from mdpgrad.plotting import new_figure

    K.PARALLEL_MIN_NNZ = {"serial": 10**18, "parallel": 1, "auto": K.PARALLEL_MIN_NNZ}[args.kernels]
    if args.kernels == "parallel":
        K.PARALLEL_MIN_THREADS = 1
    sizes = [10**3, 10**4] if args.quick else [s for s in (10**3, 10**4, 10**5, 10**6) if s <= args.max_states]
    A, B, gamma, tol = 8, 10, 0.99, 1e-8
    for meth in ("vi", "mpi", "pi"):  # compile (or load the cache) outside the timings
        sparse.solve(sparse.garnet(100, A, B, gamma=gamma, seed=0), meth)
    methods = {"VI": "value_iteration", "MPI": "modified_policy_iteration", "PI (BiCGSTAB)": "policy_iteration"}
    rows = []
    print(f"{'S':>9s} {'nnz':>10s} {'build[s]':>9s} " + " ".join(f"{k:>14s}" for k in methods) + "   (seconds)")
    for S in sizes:
        t = time.perf_counter()
        m = sparse.garnet(S, A, B, gamma=gamma, seed=0)
        t_build = time.perf_counter() - t
        times, bounds = [], []
        for meth in methods.values():
            t = time.perf_counter()
            res = sparse.solve(m, meth, tol=tol)
            times.append(time.perf_counter() - t)
            bounds.append(res.error_bound if res.converged else float("nan"))
        rows.append((S, m.nnz, t_build, *times, *bounds))
        print(f"{S:9d} {m.nnz:10d} {t_build:9.2f} " + " ".join(f"{x:14.3f}" for x in times)
              + "   bounds " + " ".join(f"{b:.1e}" for b in bounds), flush=True)
        del m
    out = args.out or os.path.join(root, "paper_figures")
    os.makedirs(out, exist_ok=True)
    header = "S,nnz,build_s," + ",".join(f"{k}_s" for k in methods) + "," + ",".join(f"{k}_bound" for k in methods)
    np.savetxt(os.path.join(out, "sparse_scaling.csv"), np.array(rows, dtype=float), delimiter=",",
               header=header, comments="")
    fig, ax = new_figure()
    arr = np.array(rows, dtype=float)
    for j, (label, marker) in enumerate(zip(methods, "osd")):
        ax.loglog(arr[:, 0], arr[:, 3 + j], marker=marker, label=label)
    ax.loglog(arr[:, 0], arr[0, 4] * arr[:, 0] / arr[0, 0], "k:", lw=1, label="slope 1 (from MPI at S=1e3)")
    ax.set_xlabel("number of states S")
    ax.set_ylabel("wall time to certified error 1e-8 [s]")
    ax.set_title(f"Garnet(S, A={A}, b={B}), gamma={gamma}, {args.kernels} kernels, "
                 f"{numba.get_num_threads()} numba threads", fontsize=8)
    ax.legend(fontsize=8)
    fig.savefig(os.path.join(out, "sparse_scaling.png"), dpi=150)
    print(f"wrote {out}/sparse_scaling.png and .csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
