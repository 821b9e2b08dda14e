r"""Compiled helpers of :func:`mdpgrad.evaluate`: LAPACK from Numba and the batched evaluation of
independent policies.

:func:`getrf` / :func:`getrs` call SciPy's LAPACK (``scipy.linalg.cython_lapack``) from Numba code, so
compiled loops factor :math:`M = I - \gamma P_\pi` with the same routine as ``scipy.linalg.lu_factor``.
A C-ordered ``M`` is, to column-major LAPACK, :math:`M^\top`; after ``getrf`` on it,
``getrs("T")`` solves :math:`M x = b` and ``getrs("N")`` solves :math:`M^\top x = b`.

:func:`evaluate_stack` evaluates ``B`` policies that share nothing (one LU each, serving both
:math:`v = M^{-1} r_\pi` and :math:`d = (1-\gamma) M^{-\top}\rho`), in parallel over the batch
(``prange``), ``q`` included; BLAS must be pinned to one thread meanwhile (the caller does it with
``threadpoolctl``).
"""

from __future__ import annotations

import functools

import llvmlite.binding as ll
import numba as nb
import numpy as np
from numba import types
from numba.extending import get_cython_function_address

# Registered as named symbols (not ctypes pointers) so that the compiled functions can be cached on disk.
for _name in ("dgetrf", "dgetrs"):
    ll.add_symbol(f"mdpgrad_{_name}", get_cython_function_address("scipy.linalg.cython_lapack", _name))
_vp = types.voidptr
_dgetrf = types.ExternalFunction("mdpgrad_dgetrf", types.void(*[_vp] * 6))
_dgetrs = types.ExternalFunction("mdpgrad_dgetrs", types.void(*[_vp] * 9))
_N = np.uint8(ord("N"))
_T = np.uint8(ord("T"))


@nb.njit(cache=True)
def getrf(X, ipiv):  # pragma: no cover - compiled
    """In-place LU of the C-ordered square ``X`` (LAPACK ``dgetrf`` of ``X^T``); returns LAPACK's ``info``."""
    n = np.full(1, X.shape[0], dtype=np.int32)
    info = np.zeros(1, dtype=np.int32)
    _dgetrf(n.ctypes, n.ctypes, X.ctypes, n.ctypes, ipiv.ctypes, info.ctypes)
    return info[0]


@nb.njit(cache=True)
def getrs(X, ipiv, b, transpose_x):  # pragma: no cover - compiled
    """Solve in place with the factors of :func:`getrf`: ``X b' = b`` (``transpose_x=False``) or ``X^T b' = b``."""
    n = np.full(1, X.shape[0], dtype=np.int32)
    one = np.ones(1, dtype=np.int32)
    info = np.zeros(1, dtype=np.int32)
    trans = np.full(1, _T if not transpose_x else _N, dtype=np.uint8)
    _dgetrs(trans.ctypes, n.ctypes, one.ctypes, X.ctypes, n.ctypes, ipiv.ctypes, b.ctypes, n.ctypes, info.ctypes)


@nb.njit(cache=True, parallel=True, fastmath={"contract", "reassoc", "nsz", "arcp"})
def evaluate_stack(P, r, gamma, rho, pis):  # pragma: no cover - compiled
    """``(v, q, d, info)`` of every policy ``pis[b]``: ``v[b] = M_b^{-1} r_{pi_b}``, ``q[b] = r + gamma P v[b]``,
    ``d[b] = (1 - gamma) M_b^{-T} rho``, ``info[b]`` LAPACK's status (0: success)."""
    B, S, A = pis.shape
    v = np.empty((B, S))
    q = np.empty((B, S, A))
    d = np.empty((B, S))
    info = np.zeros(B, dtype=np.int64)
    for bb in nb.prange(B):
        b = np.int64(bb)
        X = np.zeros((S, S))
        rb = np.empty(S)
        for s in range(S):
            acc = 0.0
            for a in range(A):
                p = pis[b, s, a]
                acc += p * r[s, a]
                gp = gamma * p
                for t in range(S):
                    X[s, t] -= gp * P[s, a, t]
            X[s, s] += 1.0
            rb[s] = acc
        db = (1.0 - gamma) * rho
        ipiv = np.empty(S, dtype=np.int32)
        info[b] = getrf(X, ipiv)
        if info[b] == 0:
            getrs(X, ipiv, rb, False)
            getrs(X, ipiv, db, True)
        v[b] = rb
        d[b] = db
        for s in range(S):
            for a in range(A):
                acc = 0.0
                for t in range(S):
                    acc += P[s, a, t] * rb[t]
                q[b, s, a] = r[s, a] + gamma * acc
    return v, q, d, info


@functools.cache
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # finding the loaded BLAS libraries costs ~10 ms: once per process


def blas_single_thread():
    """Context manager pinning BLAS/LAPACK to one thread (threads go over the batch instead; and at S ~ 100
    waking a BLAS thread pool costs more than the solves)."""
    return _controller().limit(limits=1, user_api="blas")
