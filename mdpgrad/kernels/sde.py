"""Euler–Maruyama kernels for linear-drift SDEs ``dX = (c + B X) dt + Sigma dW`` (d-dimensional).

Each path has its own SplitMix64 stream (seed ``seeds[p]``) and draws standard normals by
Marsaglia's polar method (pairs ``u, v`` uniform on (-1, 1) until ``0 < s = u^2 + v^2 < 1``, then
``u sqrt(-2 ln s / s)`` and ``v sqrt(-2 ln s / s)``; the second is kept for the next draw), so a
path's trajectory does not depend on the thread that simulates it. The 1-D case (``d = m = 1``)
takes a scalar fast path. The NumPy twin
(:func:`em_linear_numpy`) runs the same streams vectorized over paths (``uint64`` arithmetic
wraps modulo 2**64 in NumPy as in Numba) and agrees with the Numba kernel to round-off.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .td import GOLDEN, INV53, uniform_next


@nb.njit(cache=True, inline="always")
def _polar_pair(state):  # pragma: no cover - compiled
    while True:
        state, u = uniform_next(state)
        state, v = uniform_next(state)
        u = 2.0 * u - 1.0
        v = 2.0 * v - 1.0
        s = u * u + v * v
        if s < 1.0 and s > 0.0:
            break
    f = np.sqrt(-2.0 * np.log(s) / s)
    return state, u * f, v * f


@nb.njit(cache=True, parallel=True)
def em_linear_numba(x0, c, B, Sig, dt, n_steps, record_every, seeds):  # pragma: no cover - compiled
    """Paths ``out[p, k, :] = X_{k * record_every}`` for ``k = 0..n_steps // record_every``."""
    n_paths, d = x0.shape
    m = Sig.shape[1]
    n_rec = n_steps // record_every + 1
    out = np.empty((n_paths, n_rec, d))
    sq = np.sqrt(dt)
    if d == 1 and m == 1:
        c0 = c[0]
        b0 = B[0, 0]
        s0 = Sig[0, 0] * sq
        for p in nb.prange(n_paths):
            state = seeds[p]
            x = x0[p, 0]
            out[p, 0, 0] = x
            spare = 0.0
            has_spare = False
            k = 1
            for t in range(n_steps):
                if has_spare:
                    z = spare
                    has_spare = False
                else:
                    state, z, spare = _polar_pair(state)
                    has_spare = True
                x = x + (c0 + b0 * x) * dt + s0 * z
                if (t + 1) % record_every == 0:
                    out[p, k, 0] = x
                    k += 1
        return out
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
                    state, z[j], spare = _polar_pair(state)
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
    state = state + np.uint64(GOLDEN)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return state, (z >> np.uint64(11)).astype(np.float64) * INV53


def _polar_vec(state: np.ndarray):
    """Polar-method pairs for every path; each path redraws until accepted (its own stream)."""
    n = state.shape[0]
    u = np.empty(n)
    v = np.empty(n)
    s = np.empty(n)
    state = state.copy()
    pending = np.ones(n, dtype=bool)
    while pending.any():
        idx = np.nonzero(pending)[0]
        st, uu = _uniform_vec(state[idx])
        st, vv = _uniform_vec(st)
        state[idx] = st
        uu = 2.0 * uu - 1.0
        vv = 2.0 * vv - 1.0
        ss = uu * uu + vv * vv
        ok = (ss < 1.0) & (ss > 0.0)
        u[idx[ok]], v[idx[ok]], s[idx[ok]] = uu[ok], vv[ok], ss[ok]
        pending[idx[ok]] = False
    f = np.sqrt(-2.0 * np.log(s) / s)
    return state, u * f, v * f


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
                    state, z[:, j], spare = _polar_vec(state)
                    has_spare = True
            x = x + (c + x @ B.T) * dt + sq * (z @ Sig.T)
            if (t + 1) % record_every == 0:
                out[:, k] = x
                k += 1
    return out


def em_linear_cupy(x0, c, B, Sig, dt, n_steps, record_every, seeds):  # pragma: no cover - needs a GPU
    """CuPy twin: the same Euler scheme with the device's normal generator (a different stream,
    seeded by ``seeds[0]``), vectorized over paths."""
    import cupy as xp  # noqa: PLC0415

    n_paths, d = x0.shape
    rs = xp.random.RandomState(int(seeds[0]) % (2**32))
    x = xp.asarray(x0)
    out = xp.empty((n_paths, n_steps // record_every + 1, d))
    out[:, 0] = x
    cB, BB, SS = xp.asarray(c), xp.asarray(B), xp.asarray(Sig)
    for t in range(n_steps):
        x = x + (cB + x @ BB.T) * dt + np.sqrt(dt) * (rs.standard_normal((n_paths, Sig.shape[1])) @ SS.T)
        if (t + 1) % record_every == 0:
            out[:, (t + 1) // record_every] = x
    return xp.asnumpy(out)
