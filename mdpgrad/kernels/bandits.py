"""Numba kernels for the LLM-scale softmax bandit (one pass over the vocabulary per prompt).

Each kernel mirrors a NumPy reference in :mod:`mdpgrad.bandits.model`; tests check that they
agree. Rows (prompts) run in parallel with ``prange``; no Python objects in the loops.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..backend import array_namespace
from .common import softmax_unnormalized


@nb.njit(parallel=True, cache=True)
def softmax_sample_numba(logits, u_sorted):  # pragma: no cover - compiled
    """Inverse-CDF categorical sampling from ``softmax(logits[n])`` with sorted uniforms.

    ``u_sorted[n, :]`` must be ascending in [0, 1); returns ``actions[n, g]`` (int64) and
    ``logp[n, g]`` (float64). One pass for the max, one for the normalizer, one walk of the
    cumulative sum that serves all ``G`` draws of the row.
    """
    N, V = logits.shape
    G = u_sorted.shape[1]
    actions = np.empty((N, G), dtype=np.int64)
    logp = np.empty((N, G), dtype=np.float64)
    for n in nb.prange(N):
        buf = np.empty(V)
        m, s = softmax_unnormalized(logits[n], buf)
        logs = np.log(s)
        g = 0
        c = 0.0
        v = 0
        while g < G:
            c_next = c + buf[v] / s
            while g < G and (u_sorted[n, g] < c_next or v == V - 1):
                actions[n, g] = v
                logp[n, g] = logits[n, v] - m - logs
                g += 1
            c = c_next
            v += 1
    return actions, logp


@nb.njit(parallel=True, cache=True)
def logit_gradient_fused(logits, actions, coef, out):  # pragma: no cover - compiled
    """``out[n, :] = sum_g coef[n, g] * (e_{actions[n, g]} - softmax(logits[n]))``.

    This is the score-function assembly of every estimator in :mod:`mdpgrad.bandits.estimators`
    (``grad_z log pi(a) = e_a - pi``), fused with the softmax so the probabilities are never
    stored.
    """
    N, V = logits.shape
    G = actions.shape[1]
    for n in nb.prange(N):
        _, s = softmax_unnormalized(logits[n], out[n])
        csum = 0.0
        for g in range(G):
            csum += coef[n, g]
        scale = -csum / s
        for v in range(V):
            out[n, v] *= scale
        for g in range(G):
            out[n, actions[n, g]] += coef[n, g]
    return out


# --- the kernel table's twins (mdpgrad.backend.KERNELS) ---------------------------------------------
def sample_actions_numba(logits, u_sorted):
    """Numba twin of :func:`sample_actions_xp` (host arrays)."""
    return softmax_sample_numba(np.ascontiguousarray(logits), np.asarray(u_sorted))


def sample_actions_xp(logits, u_sorted):
    """Inverse-CDF sampling written once for NumPy and CuPy arrays (``u_sorted`` on the same device)."""
    from ..bandits.model import log_softmax_xp  # noqa: PLC0415 - the array-generic softmax lives there

    xp = array_namespace(logits)
    N, V = logits.shape
    lp = log_softmax_xp(logits.astype(xp.float64) if logits.dtype != xp.float64 else logits)
    cdf = xp.cumsum(xp.exp(lp), axis=1)
    # Row offsets turn N searches into one: row n's CDF lives in [n, n + 1].
    offs = xp.arange(N, dtype=xp.float64)[:, None]
    flat = (cdf + offs).ravel()
    idx = xp.searchsorted(flat, (u_sorted + offs).ravel(), side="right").reshape(N, u_sorted.shape[1])
    actions = xp.clip(idx - xp.arange(N)[:, None] * V, 0, V - 1).astype(xp.int64)
    return actions, xp.take_along_axis(lp, actions, axis=1)



def _logit_gradient_dense(logits, actions, coef):
    from ..bandits.model import softmax_xp  # noqa: PLC0415

    xp = array_namespace(logits)
    g = -xp.sum(coef, axis=1, keepdims=True) * softmax_xp(logits.astype(xp.float64))
    rows = xp.broadcast_to(xp.arange(logits.shape[0])[:, None], actions.shape)
    return g, rows


def _into(g, out):
    if out is not None:
        out[...] = g
        return out
    return g


def logit_gradient_numpy(logits, actions, coef, out=None):
    """NumPy reference: dense softmax, then ``np.add.at`` of the coefficients."""
    g, rows = _logit_gradient_dense(logits, actions, coef)
    np.add.at(g, (rows, actions), coef)
    return _into(g, out)


def logit_gradient_cupy(logits, actions, coef, out=None):  # pragma: no cover - needs a GPU
    """CuPy twin: ``cupyx.scatter_add`` in place of ``np.add.at``."""
    import cupyx  # noqa: PLC0415

    g, rows = _logit_gradient_dense(logits, actions, coef)
    cupyx.scatter_add(g, (rows, actions), coef)
    return _into(g, out)


def logit_gradient_numba(logits, actions, coef, out=None):
    """Numba twin (fused softmax and scatter; host arrays)."""
    if out is None:
        out = np.empty(logits.shape, dtype=np.float64)
    return logit_gradient_fused(np.ascontiguousarray(logits), np.ascontiguousarray(actions, dtype=np.int64),
                                np.ascontiguousarray(coef), out)
