"""Numba kernel for the Bellman optimality sweep (value iteration)."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(parallel=True, cache=True, fastmath=False)
def bellman_max_numba(P2, r, gamma, v):  # pragma: no cover - compiled
    """``out[s] = max_a r[s, a] + gamma * sum_t P2[s * A + a, t] * v[t]``, parallel over s."""
    S, A = r.shape
    n = v.shape[0]
    out = np.empty(S)
    for s in nb.prange(S):
        best = -np.inf
        for a in range(A):
            row = s * A + a
            acc = 0.0
            for t in range(n):
                acc += P2[row, t] * v[t]
            val = r[s, a] + gamma * acc
            if val > best:
                best = val
        out[s] = best
    return out
