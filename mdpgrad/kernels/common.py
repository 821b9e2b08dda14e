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
        x = z[v] - m
        # exp underflows to exactly 0 below -745.14; skipping the call there avoids libm's slow
        # error-handling path (errno) for underflowing arguments, with identical results
        e = np.exp(x) if x > -745.2 else 0.0
        out[v] = e
        s += e
    return m, s
