"""Euler–Maruyama kernels for linear-drift SDEs ``dX = (c + B X) dt + Sigma dW`` (d-dimensional).

Each path has its own SplitMix64 stream (seed ``seeds[p]``) and draws standard normals by the
Box–Muller transform, two per pair of uniforms (the spare one is kept for the next draw), so a
path's trajectory does not depend on the thread that simulates it. The NumPy twin
(:func:`em_linear_numpy`) runs the same streams vectorized over paths (``uint64`` arithmetic
wraps modulo 2**64 in NumPy as in Numba) and agrees with the Numba kernel to round-off.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .td import _GOLDEN, _INV53, uniform_next

_TWO_PI = 2.0 * np.pi


@nb.njit(cache=True, parallel=True)
def em_linear_numba(x0, c, B, Sig, dt, n_steps, record_every, seeds):  # pragma: no cover - compiled
    """Paths ``out[p, k, :] = X_{k * record_every}`` for ``k = 0..n_steps // record_every``."""
    n_paths, d = x0.shape
    m = Sig.shape[1]
    n_rec = n_steps // record_every + 1
    out = np.empty((n_paths, n_rec, d))
    sq = np.sqrt(dt)
    for p in nb.prange(n_paths):
        state = seeds[p]
        x = x0[p].copy()
        xn = np.empty(d)
        z = np.empty(m)
        spare = 0.0
        has_spare = False
        for i in range(d):
            out[p, 0, i] = x[i]
        k = 1
        for t in range(n_steps):
            for j in range(m):
                if has_spare:
                    z[j] = spare
                    has_spare = False
                else:
                    state, u1 = uniform_next(state)
                    state, u2 = uniform_next(state)
                    rad = np.sqrt(-2.0 * np.log(1.0 - u1))
                    z[j] = rad * np.cos(_TWO_PI * u2)
                    spare = rad * np.sin(_TWO_PI * u2)
                    has_spare = True
            for i in range(d):
                acc = c[i]
                for l in range(d):
                    acc += B[i, l] * x[l]
                noise = 0.0
                for j in range(m):
                    noise += Sig[i, j] * z[j]
                xn[i] = x[i] + acc * dt + sq * noise
            for i in range(d):
                x[i] = xn[i]
            if (t + 1) % record_every == 0:
                for i in range(d):
                    out[p, k, i] = x[i]
                k += 1
    return out


def _uniform_vec(state: np.ndarray):
    state = state + np.uint64(_GOLDEN)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return state, (z >> np.uint64(11)).astype(np.float64) * _INV53


def em_linear_numpy(x0, c, B, Sig, dt, n_steps, record_every, seeds):
    """NumPy twin of :func:`em_linear_numba`: a Python loop over time, vectorized over paths."""
    n_paths, d = x0.shape
    m = Sig.shape[1]
    out = np.empty((n_paths, n_steps // record_every + 1, d))
    out[:, 0] = x0
    x = np.array(x0, dtype=np.float64)
    state = np.array(seeds, dtype=np.uint64)
    sq = np.sqrt(dt)
    spare = np.zeros(n_paths)
    has_spare = False
    z = np.empty((n_paths, m))
    k = 1
    with np.errstate(over="ignore"):
        for t in range(n_steps):
            for j in range(m):
                if has_spare:
                    z[:, j] = spare
                    has_spare = False
                else:
                    state, u1 = _uniform_vec(state)
                    state, u2 = _uniform_vec(state)
                    rad = np.sqrt(-2.0 * np.log(1.0 - u1))
                    z[:, j] = rad * np.cos(_TWO_PI * u2)
                    spare = rad * np.sin(_TWO_PI * u2)
                    has_spare = True
            x = x + (c + x @ B.T) * dt + sq * (z @ Sig.T)
            if (t + 1) % record_every == 0:
                out[:, k] = x
                k += 1
    return out
