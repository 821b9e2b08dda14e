"""Numba kernel for the packed antisymmetric matrix-vector product (see :class:`.preference.PackedPreference`).

The strict upper triangle of ``A = (P - P^T)/2`` is stored row by row: row ``i`` (entries
``A[i, i+1..K-1]``) starts at ``i K - i (i + 1) / 2``. One pass over it gives ``y = A pi``:
for ``i < j``, ``y_i += A_ij pi_j`` and ``y_j -= A_ij pi_i`` (antisymmetry, ``A_ji = -A_ij``).

Parallelism: the rows are cut into ``n_chunks`` contiguous blocks with about equal entry counts
(:func:`chunk_bounds`, a function of ``K`` only). Each block accumulates into its own float64 buffer
``part[c]`` and the buffers are summed in the fixed order ``c = 0, 1, ...``. The floating-point
operations therefore do not depend on how many threads run the blocks: the result is bitwise the
same for any thread count (tested). Accumulation is float64 also for float32 storage.
"""

from __future__ import annotations

import numba as nb
import numpy as np

#: Target number of packed entries per parallel block (the block count is clipped to [1, MAX_CHUNKS]).
CHUNK_ENTRIES = 1 << 16
MAX_CHUNKS = 32


def row_offset(i, K):
    """Start of row ``i`` in the packed strict upper triangle: ``sum_{r<i} (K-1-r) = i K - i (i+1)/2``."""
    return i * K - i * (i + 1) // 2


def chunk_bounds(K: int) -> np.ndarray:
    """Row boundaries ``b[0] = 0 < ... < b[n] = K`` of blocks with about equal packed entry counts."""
    n_entries = K * (K - 1) // 2
    n = int(min(MAX_CHUNKS, max(1, n_entries // CHUNK_ENTRIES)))
    starts = row_offset(np.arange(K + 1, dtype=np.int64), K)  # entries before row i (starts[K] = n_entries)
    targets = (np.arange(1, n, dtype=np.int64) * n_entries) // n
    inner = np.searchsorted(starts, targets, side="left")
    b = np.unique(np.concatenate(([0], inner, [K]))).astype(np.int64)
    return b


@nb.njit(cache=True)
def _rows_block(a, K, pi, lo, hi, y):  # pragma: no cover - compiled
    """Add the contributions of packed rows ``lo <= i < hi`` to ``y`` (one pass over those rows).

    Rows are taken four at a time so that one load of ``pi[j]`` and one load/store of ``y[j]``
    serve four stored entries (the loop is then limited by streaming the triangle, not by the
    ``y`` updates); the 4 x 4 corner of each group is done first, a leftover row on its own.
    No ``fastmath``: with it the fresh compile and the cached one gave different last bits (the
    reassociation is not fixed across compilations); results are identical whatever the cache state.
    """
    i = lo
    while i < hi:
        if i + 4 <= hi:
            # head: the 4x4 corner (pairs within rows i..i+3)
            for k in range(4):
                sk = (i + k) * K - (i + k) * (i + k + 1) // 2
                for j in range(i + k + 1, i + 4):
                    v = np.float64(a[sk + j - (i + k + 1)])
                    y[i + k] += v * pi[j]
                    y[j] -= v * pi[i + k]
            s0 = i * K - i * (i + 1) // 2
            s1 = s0 + (K - 1 - i)
            s2 = s1 + (K - 2 - i)
            s3 = s2 + (K - 3 - i)
            n = K - 4 - i
            r0 = a[s0 + 3:s0 + 3 + n]
            r1 = a[s1 + 2:s1 + 2 + n]
            r2 = a[s2 + 1:s2 + 1 + n]
            r3 = a[s3:s3 + n]
            p0 = pi[i]
            p1 = pi[i + 1]
            p2 = pi[i + 2]
            p3 = pi[i + 3]
            pj = pi[i + 4:]
            yj = y[i + 4:]
            t0 = 0.0
            t1 = 0.0
            t2 = 0.0
            t3 = 0.0
            for t in range(n):
                v0 = np.float64(r0[t])
                v1 = np.float64(r1[t])
                v2 = np.float64(r2[t])
                v3 = np.float64(r3[t])
                pt = pj[t]
                t0 += v0 * pt
                t1 += v1 * pt
                t2 += v2 * pt
                t3 += v3 * pt
                yj[t] -= (v0 * p0 + v1 * p1) + (v2 * p2 + v3 * p3)
            y[i] += t0
            y[i + 1] += t1
            y[i + 2] += t2
            y[i + 3] += t3
            i += 4
        else:
            s0 = i * K - i * (i + 1) // 2
            n = K - 1 - i
            r0 = a[s0:s0 + n]
            p0 = pi[i]
            pj = pi[i + 1:]
            yj = y[i + 1:]
            t0 = 0.0
            for t in range(n):
                v0 = np.float64(r0[t])
                t0 += v0 * pj[t]
                yj[t] -= v0 * p0
            y[i] += t0
            i += 1


@nb.njit(cache=True, parallel=True)
def packed_matvec_numba(a, K, pi, bounds):  # pragma: no cover - compiled
    """``y = A pi`` from the packed upper triangle ``a`` (float32 or float64); float64 result."""
    n_chunks = bounds.size - 1
    part = np.zeros((n_chunks, K))
    for c in nb.prange(n_chunks):
        _rows_block(a, K, pi, bounds[c], bounds[c + 1], part[c])
    y = np.zeros(K)
    for k in nb.prange(K):
        acc = 0.0
        for c in range(n_chunks):
            acc += part[c, k]
        y[k] = acc
    return y


def packed_matvec_numpy(upper, K, pi, bounds=None):
    """NumPy reference of ``A pi`` (one row of the triangle at a time, float64; ``bounds`` unused)."""
    y = np.zeros(K)
    pos = 0
    for i in range(K - 1):
        n = K - 1 - i
        row = upper[pos:pos + n].astype(np.float64)
        y[i] += row @ pi[i + 1:]
        y[i + 1:] -= row * pi[i]
        pos += n
    return y
