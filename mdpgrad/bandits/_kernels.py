"""Numba kernels for the LLM-scale softmax bandit (one pass over the vocabulary per prompt).

Each kernel mirrors a NumPy reference in :mod:`mdpgrad.bandits.model`; tests check that they
agree. Rows (prompts) run in parallel with ``prange``; no Python objects in the loops.
"""

from __future__ import annotations

import numba as nb
import numpy as np


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
        m = -np.inf
        for v in range(V):
            if logits[n, v] > m:
                m = logits[n, v]
        s = 0.0
        for v in range(V):
            e = np.exp(logits[n, v] - m)
            buf[v] = e
            s += e
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
def logit_gradient_numba(logits, actions, coef, out):  # pragma: no cover - compiled
    """``out[n, :] = sum_g coef[n, g] * (e_{actions[n, g]} - softmax(logits[n]))``.

    This is the score-function assembly of every estimator in :mod:`mdpgrad.bandits.estimators`
    (``grad_z log pi(a) = e_a - pi``), fused with the softmax so the probabilities are never
    stored.
    """
    N, V = logits.shape
    G = actions.shape[1]
    for n in nb.prange(N):
        m = -np.inf
        for v in range(V):
            if logits[n, v] > m:
                m = logits[n, v]
        s = 0.0
        for v in range(V):
            e = np.exp(logits[n, v] - m)
            out[n, v] = e
            s += e
        csum = 0.0
        for g in range(G):
            csum += coef[n, g]
        scale = -csum / s
        for v in range(V):
            out[n, v] *= scale
        for g in range(G):
            out[n, actions[n, g]] += coef[n, g]
    return out
