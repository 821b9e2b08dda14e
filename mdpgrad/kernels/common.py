"""Numba building blocks shared by the compiled kernels (the one compiled softmax)."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, inline="always")
def softmax_unnormalized(z, out):  # pragma: no cover - compiled
    r"""``out[v] = exp(z[v] - max z)``; returns ``(max z, sum_v out[v])``.

    The one compiled softmax: ``softmax(z) = out / sum`` and
    ``log softmax(z)_v = z_v - max z - log(sum)`` (stable for any finite ``z``). Callers
    normalize (or fuse the normalization into their next pass) themselves.
    """
    n = z.shape[0]
    m = -np.inf
    for v in range(n):
        if z[v] > m:
            m = z[v]
    s = 0.0
    for v in range(n):
        e = np.exp(z[v] - m)
        out[v] = e
        s += e
    return m, s
