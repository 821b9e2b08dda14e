"""Benchmark: one GRPO estimator step on an LLM-scale softmax bandit, every backend in one run.

A step = softmax over V logits per prompt, G samples per prompt (inverse CDF with host-drawn uniforms),
verifiable rewards, GRPO advantages, and the score-function logit gradient g[N, V]. Peers: NumPy
(row-chunked, float64 temporaries), Numba (fused parallel kernels), CuPy (whole batch on the GPU), an
equivalent torch implementation (CPU, or CUDA when available) and the same step in JAX (``jax.jit``,
float64 temporaries as torch; run in its own process with a timeout) -- all on the same arrays (the JAX
process regenerates them from the same seed).

    python benchmarks/bench_llm_bandits.py                 # V=32000, N=4096, G=16
    python benchmarks/bench_llm_bandits.py --quick         # V=8000, N=256, G=16
    python benchmarks/bench_llm_bandits.py --backend cupy,numpy,torch,jax

Prints a table with the median step time, the ratio to NumPy and the max deviation of the gradient
from NumPy's on the first rows, and writes ``benchmarks/results/bench_llm_bandits.json`` (mdpgrad's Numba
step against every other peer). torch and JAX are optional (``pip install torch==2.13.0 jax``); missing
peers are listed with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from _common import machine, row, write_rows  # noqa: E402

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


def inputs(N, V, G):
    """The benchmark's arrays (seed 0): float32 logits ``(N, V)`` and uniforms ``(N, G)``."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(N, V)).astype(np.float32) * 2
    return logits, rng.random((N, G))


def jax_peer(N, V, G, reps, out_path):
    """The step in JAX (``jit``; float64 temporaries as the torch peer), timed in this process; writes the
    first 64 gradient rows to ``out_path`` and prints ``{"seconds": median step time}``."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    logits, u = inputs(N, V, G)

    @jax.jit
    def step(lg, us):
        lp = jax.nn.log_softmax(lg.astype(jnp.float64), axis=1)
        p = jnp.exp(lp)
        cdf = jnp.cumsum(p, axis=1)
        a = jnp.minimum(jax.vmap(lambda c, x: jnp.searchsorted(c, x, side="right"))(cdf, us), V - 1)
        n = jnp.arange(N)[:, None]
        r = ((a + 7919 * n) % 97 == 0).astype(jnp.float64)
        adv = (r - r.mean(1, keepdims=True)) / (r.std(1, ddof=1, keepdims=True) + 1e-6)
        coef = adv / (N * G)
        g = -coef.sum(1, keepdims=True) * p
        g = g.at[jnp.broadcast_to(n, a.shape), a].add(coef)
        return g.astype(jnp.float32)

    lg, us = jnp.asarray(logits), jnp.asarray(np.sort(u, axis=1))
    t = timeit(lambda: step(lg, us).block_until_ready(), reps)
    np.save(out_path, np.asarray(step(lg, us)[:64]))
    print(json.dumps({"seconds": t, "version": jax.__version__}))


def run_jax_peer(N, V, G, reps, timeout):
    """``jax_peer`` in a subprocess: ``(seconds, g[:64], label)`` or ``(None, None, reason)``."""
    fd, path = tempfile.mkstemp(suffix=".npy")
    os.close(fd)
    cmd = [sys.executable, __file__, "--jax-peer", path, "--N", str(N), "--V", str(V), "--G", str(G),
           "--reps", str(reps)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            return None, None, f"exit {out.returncode}: {(out.stderr.strip().splitlines() or ['?'])[-1]}"
        res = json.loads(out.stdout.strip().splitlines()[-1])
        return res["seconds"], np.load(path).astype(np.float64), f"JAX jit {res['version']} (CPU)"
    except subprocess.TimeoutExpired:
        return None, None, f"hang: no result within {timeout:.0f} s (killed)"
    finally:
        os.unlink(path)


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
    ap.add_argument("--backend", default="numpy,numba,cupy,torch,jax", help="comma-separated peers to run")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds for the JAX process")
    ap.add_argument("--jax-peer", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    V = args.V or (8000 if args.quick else 32000)
    N = args.N or (256 if args.quick else 4096)
    G = args.G
    reps = args.reps or (3 if args.quick else 2)
    peers = [p.strip() for p in args.backend.split(",") if p.strip()]
    if args.jax_peer:
        return jax_peer(N, V, G, reps, args.jax_peer)
    mach = machine()
    logits, u = inputs(N, V, G)
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
        elif peer == "jax":
            t, g, label = run_jax_peer(N, V, G, reps, args.timeout)
            if t is None:
                skipped.append(f"jax: {label}")
                continue
            peer = label
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
    cmd = "python benchmarks/bench_llm_bandits.py" + (" --quick" if args.quick else "")
    if "numba" in results:
        t_nb = results["numba"][0]
        rows = [row(f"GRPO step N={N}, V={V}, G={G}: mdpgrad numba vs {peer}", t_nb, t, "s", cmd, mach,
                    higher_is_better=False, max_abs_dg=dev) for peer, (t, dev) in results.items() if peer != "numba"]
        rows += [row(f"GRPO step N={N}, V={V}, G={G}: mdpgrad numba vs {s.split(':')[0]}", t_nb, None, "s", cmd, mach,
                     error=s.split(": ", 1)[1]) for s in skipped if s.startswith(("jax", "torch"))]
        print("wrote", write_rows("bench_llm_bandits", rows))


if __name__ == "__main__":
    main()
