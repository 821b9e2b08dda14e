"""Benchmark: one GRPO estimator step on an LLM-scale softmax bandit, every backend in one run.

A step = softmax over V logits per prompt, G samples per prompt (inverse CDF with host-drawn uniforms),
verifiable rewards, GRPO advantages, and the score-function logit gradient g[N, V]. Peers: NumPy
(row-chunked, float64 temporaries), Numba (fused parallel kernels), CuPy (whole batch on the GPU) and an
equivalent torch implementation (CPU, or CUDA when available) -- all through the same inputs.

    python benchmarks/bench_llm_bandits.py                 # V=32000, N=4096, G=16
    python benchmarks/bench_llm_bandits.py --quick         # V=8000, N=256, G=16
    python benchmarks/bench_llm_bandits.py --backend cupy,numpy,torch

Prints a table with the median step time, the ratio to NumPy and the max deviation of the gradient
from NumPy's on the first rows. torch is optional (``pip install torch==2.13.0``); missing peers are
listed with the reason.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from mdpgrad.backend import cupy_status, get_backend  # noqa: E402
from mdpgrad.bandits import group_advantages, logit_gradient, sample_actions  # noqa: E402


def rewards_of(actions_np, row0):
    """A cheap verifier: response a to prompt n is correct iff (a + 7919 n) % 97 == 0 (about 1% correct)."""
    n = np.arange(row0, row0 + actions_np.shape[0])[:, None]
    return ((actions_np + 7919 * n) % 97 == 0).astype(np.float64)


def step_backend(name, logits, u, out, chunk):
    """GRPO step on backend ``name`` (numpy / numba / cupy) through the library functions."""
    be = get_backend(name)
    N, G = u.shape
    for r0 in range(0, N, chunk):
        sl = slice(r0, min(N, r0 + chunk))
        lg = logits[sl] if name != "cupy" else be.asarray(logits[sl])
        a, _ = sample_actions(lg, G, u=u[sl], backend=be)
        rw = rewards_of(be.to_numpy(a), r0)
        adv = group_advantages(be.asarray(rw), "grpo")
        coef = adv / (N * G)
        if name == "numba":
            logit_gradient(lg, a, coef, backend=be, out=out[sl])
        else:
            out[sl] = be.to_numpy(logit_gradient(lg, a, coef, backend=be)).astype(out.dtype)
    return out


def step_torch(torch, device, logits_t, u, out):
    """The same step written directly in torch (inverse CDF via searchsorted, scatter_add_)."""
    N, G = u.shape
    ut = torch.as_tensor(np.sort(u, axis=1), device=device)
    lp = torch.log_softmax(logits_t.double(), dim=1)
    p = lp.exp()
    cdf = torch.cumsum(p, dim=1)
    a = torch.clamp(torch.searchsorted(cdf, ut, right=True), max=logits_t.shape[1] - 1)
    n = torch.arange(N, device=device)[:, None]
    r = ((a + 7919 * n) % 97 == 0).double()
    adv = (r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-6)
    coef = adv / (N * G)
    g = -coef.sum(1, keepdim=True) * p
    g.scatter_add_(1, a, coef)
    out.copy_(g.to(out.dtype))
    return g


def timeit(fn, reps):
    fn()  # warm-up (compilation, allocation)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="V=8000, N=256 instead of V=32000, N=4096")
    ap.add_argument("--V", type=int, default=None)
    ap.add_argument("--N", type=int, default=None)
    ap.add_argument("--G", type=int, default=16)
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--chunk", type=int, default=256, help="rows per NumPy chunk (bounds host memory)")
    ap.add_argument("--backend", default="numpy,numba,cupy,torch", help="comma-separated peers to run")
    args = ap.parse_args(argv)
    V = args.V or (8000 if args.quick else 32000)
    N = args.N or (256 if args.quick else 4096)
    G = args.G
    reps = args.reps or (3 if args.quick else 2)
    peers = [p.strip() for p in args.backend.split(",") if p.strip()]
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(N, V)).astype(np.float32) * 2
    u = rng.random((N, G))
    print(f"GRPO estimator step: N={N} prompts, V={V} actions, G={G}; logits float32, gradient float32; "
          f"median of {reps} (after warm-up); CPU cores visible: {os.cpu_count()}")
    results = {}
    ref = None
    skipped = []
    for peer in peers:
        if peer in ("numpy", "numba"):
            out = np.empty((N, V), dtype=np.float32)
            t = timeit(lambda peer=peer, out=out: step_backend(peer, logits, u, out, args.chunk if peer == "numpy"
                                                              else N), reps)
            g = out[:64].astype(np.float64)
        elif peer == "cupy":
            ok, why = cupy_status()
            if not ok:
                skipped.append(f"cupy: {why}")
                continue
            import cupy

            be = get_backend("cupy")
            lg_dev = be.asarray(logits)

            def run_cupy(lg_dev=lg_dev, be=be, cupy=cupy):
                a, _ = sample_actions(lg_dev, G, u=u, backend=be)
                rw = rewards_of(be.to_numpy(a), 0)
                adv = group_advantages(be.asarray(rw), "grpo")
                g = logit_gradient(lg_dev, a, adv / (N * G), backend=be)
                cupy.cuda.Device().synchronize()
                return g

            t = timeit(run_cupy, reps)
            g = be.to_numpy(run_cupy()[:64])
        elif peer == "torch":
            try:
                import torch
            except ImportError as exc:
                skipped.append(f"torch: not importable ({exc}); pip install torch==2.13.0")
                continue
            device = "cuda" if torch.cuda.is_available() else "cpu"
            torch.set_num_threads(os.cpu_count() or 1)
            lt = torch.as_tensor(logits, device=device)
            outt = torch.empty((N, V), dtype=torch.float32, device=device)

            def run_torch(lt=lt, outt=outt, device=device, torch=torch):
                g = step_torch(torch, device, lt, u, outt)
                if device == "cuda":
                    torch.cuda.synchronize()
                return g

            t = timeit(run_torch, reps)
            g = run_torch()[:64].cpu().numpy()
            peer = f"torch-{device} {torch.__version__}"
        else:
            skipped.append(f"{peer}: unknown peer")
            continue
        if ref is None:
            ref = g
        results[peer] = (t, float(np.abs(g - ref).max()))
    base = results.get("numpy", (None,))[0]
    print(f"{'peer':28s} {'step [s]':>10s} {'speed-up vs numpy':>18s} {'max|g - g_first|':>18s}")
    for peer, (t, dev) in results.items():
        sp = f"{base / t:.2f}x" if base else "-"
        print(f"{peer:28s} {t:10.3f} {sp:>18s} {dev:18.2e}")
    for s in skipped:
        print("skipped:", s)


if __name__ == "__main__":
    main()
