"""Peer implementations (JAX, PyTorch CPU) of the exact softmax PG / NPG / PMD iteration.

Run as a subprocess by the benchmarks, one peer per process (JAX and torch each start their own
thread pools; a hang in one -- JAX 0.10's second call of a vmapped ``linalg.solve`` hung on the
2-core benchmark machine -- must not take the others down)::

    python benchmarks/_peers.py {jax,torch} {softmax_pg,npg,pmd} INSTANCE.npz N_ITER ETA [--batch ETAS.npy [--loop]]

The instance file holds ``P[s, a, s']``, ``r[s, a]``, ``rho[s]`` and ``gamma``. Prints one JSON line:
``{"it_per_s": ..., "cpu_it_per_s": ..., "seconds": ..., "values": [rho . v_t for t = 0..N_ITER]}``
(``cpu_it_per_s`` divides by the process CPU time of all its threads) (``values`` per batch
member with ``--batch``: JAX ``jit(vmap(scan))``, or with ``--loop`` a loop of jitted single runs; torch
batched solves). Every peer computes the same update as :func:`mdpgrad.optimize`:

* ``softmax_pg``: ``theta += eta / (1 - gamma) * d(s) pi(a|s) (Q - V)`` (two solves per step);
* ``npg``: ``theta += eta / (1 - gamma) * (Q - V)`` (one solve);
* ``pmd``: ``theta += eta * Q`` (KL mirror step, constant schedule; one solve).

Float64 throughout; the timed call is the second one (the first compiles / warms up).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def _load(path):
    z = np.load(path)
    return z["P"], z["r"], z["rho"], float(z["gamma"])


def run_jax(method, P, r, rho, gamma, n_iter, etas, loop=False):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    P, r, rho = jnp.asarray(P), jnp.asarray(r), jnp.asarray(rho)
    S, A = r.shape
    eye = jnp.eye(S)
    c = 1.0 / (1.0 - gamma)

    def run(eta):
        def step(theta, _):
            pi = jax.nn.softmax(theta, axis=1)
            M = eye - gamma * jnp.einsum("sa,sat->st", pi, P)
            v = jnp.linalg.solve(M, jnp.sum(pi * r, axis=1))
            q = r + gamma * (P @ v)
            if method == "softmax_pg":
                d = jnp.linalg.solve(M.T, (1.0 - gamma) * rho)
                theta = theta + eta * c * d[:, None] * pi * (q - v[:, None])
            elif method == "npg":
                theta = theta + eta * c * (q - v[:, None])
            else:
                theta = theta + eta * q
                theta = theta - jnp.max(theta, axis=1, keepdims=True)
            return theta, rho @ v

        theta, vals = jax.lax.scan(step, jnp.zeros((S, A)), None, length=n_iter)
        pi = jax.nn.softmax(theta, axis=1)
        M = eye - gamma * jnp.einsum("sa,sat->st", pi, P)
        v_last = rho @ jnp.linalg.solve(M, jnp.sum(pi * r, axis=1))
        return jnp.concatenate([vals, v_last[None]])

    if etas.ndim and loop:  # a Python loop of jitted single runs (the fallback where vmap hangs)
        f1 = jax.jit(run)
        f1(jnp.asarray(etas[0])).block_until_ready()
        t0, c0 = time.perf_counter(), time.process_time()
        out = [f1(jnp.asarray(e)).block_until_ready() for e in etas]
        return np.asarray(out), time.perf_counter() - t0, time.process_time() - c0
    f = jax.jit(jax.vmap(run)) if etas.ndim else jax.jit(run)
    x = jnp.asarray(etas)
    f(x).block_until_ready()  # compile + first run
    t0, c0 = time.perf_counter(), time.process_time()
    out = f(x).block_until_ready()
    return np.asarray(out), time.perf_counter() - t0, time.process_time() - c0


def run_torch(method, P, r, rho, gamma, n_iter, etas, loop=False):
    import torch

    torch.set_num_threads(1)
    P, r, rho = (torch.tensor(x, dtype=torch.float64) for x in (P, r, rho))
    S, A = r.shape
    eye = torch.eye(S, dtype=torch.float64)
    c = 1.0 / (1.0 - gamma)
    batched = etas.ndim == 1
    eta = torch.tensor(etas, dtype=torch.float64)
    if batched:
        eta = eta[:, None, None]

    def run(n):
        theta = torch.zeros(((len(etas),) if batched else ()) + (S, A), dtype=torch.float64)
        vals = []
        with torch.no_grad():
            for it in range(n + 1):
                pi = torch.softmax(theta, dim=-1)
                M = eye - gamma * torch.einsum("...sa,sat->...st", pi, P)
                v = torch.linalg.solve(M, (pi * r).sum(-1))
                vals.append(v @ rho)
                if it == n:
                    break
                q = r + gamma * torch.einsum("sat,...t->...sa", P, v)
                if method == "softmax_pg":
                    d = torch.linalg.solve(M.transpose(-1, -2), (1.0 - gamma) * rho.expand_as(v))
                    theta = theta + eta * c * d[..., None] * pi * (q - v[..., None])
                elif method == "npg":
                    theta = theta + eta * c * (q - v[..., None])
                else:
                    theta = theta + eta * q
                    theta = theta - theta.amax(dim=-1, keepdim=True)
        return torch.stack(vals, dim=-1).numpy()

    run(3)
    t0, c0 = time.perf_counter(), time.process_time()
    out = run(n_iter)
    return out, time.perf_counter() - t0, time.process_time() - c0


def main(argv):
    peer, method, path, n_iter, eta = argv[:5]
    n_iter = int(n_iter)
    etas = np.float64(eta)
    if "--batch" in argv:
        etas = np.load(argv[argv.index("--batch") + 1])
    P, r, rho, gamma = _load(path)
    fn = {"jax": run_jax, "torch": run_torch}[peer]
    vals, secs, cpu = fn(method, P, r, rho, gamma, n_iter, etas, loop="--loop" in argv)
    n_runs = len(etas) if etas.ndim else 1
    print(json.dumps({"it_per_s": n_runs * n_iter / secs, "cpu_it_per_s": n_runs * n_iter / cpu, "seconds": secs,
                      "values": np.asarray(vals).tolist()}))


if __name__ == "__main__":
    main(sys.argv[1:])
