r"""Compiled helpers of :func:`mdpgrad.evaluate`: LAPACK / BLAS from Numba and the batched evaluation of
independent policies.

:func:`getrf` / :func:`getrs` call SciPy's LAPACK (``scipy.linalg.cython_lapack``) from Numba code, so
compiled loops factor :math:`M = I - \gamma P_\pi` with the same routine as ``scipy.linalg.lu_factor``.
A C-ordered ``M`` is, to column-major LAPACK, :math:`M^\top`; after ``getrf`` on it,
``getrs("T")`` solves :math:`M x = b` and ``getrs("N")`` solves :math:`M^\top x = b`.

:func:`evaluate_stack` evaluates ``B`` policies that share nothing, in parallel over chunks of the batch
(``prange``; BLAS pinned to one thread meanwhile, the caller does it with ``threadpoolctl``). Per policy,
one LU of the augmented matrix

.. math::

    \begin{pmatrix} M & r_\pi \\ (1-\gamma)\rho^\top & 0 \end{pmatrix}, \qquad M = I - \gamma P_\pi,

eliminating its first ``S`` columns, leaves :math:`L^{-1} r_\pi` in the last column and
:math:`z = (1-\gamma)\rho^\top U^{-1}` in the last row, so two triangular solves remain:
:math:`v = U^{-1} L^{-1} r_\pi` and :math:`d = L^{-\top} z` (:math:`M^\top d = (1-\gamma)\rho`).
For :math:`0 \le \gamma < 1` and a policy, :math:`M` is strictly diagonally dominant by rows (margin
:math:`1-\gamma`), and Gaussian elimination *without* pivoting is then backward stable with growth
factor at most 2 (Wilkinson 1961; Higham, *Accuracy and Stability of Numerical Algorithms*, 2002,
Thm 9.9), so :func:`lu_nopivot` skips the pivot search and row swaps and updates four pivots at a time
over contiguous rows. The margin is checked per policy (:func:`_build_chunk`): where it is not
guaranteed to exceed :data:`DD_MARGIN` (an unchecked "policy" with negative or too large entries,
:math:`\gamma` within ``DD_MARGIN`` of 1), that policy is factored by LAPACK with partial pivoting.
``P_pi`` of 16 policies is one small GEMM per state and ``q = r + gamma P v`` of a chunk is one GEMM.
"""

from __future__ import annotations

import functools

import llvmlite.binding as ll
import numba as nb
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import get_cython_function_address, intrinsic

# Registered as named symbols (not ctypes pointers) so that the compiled functions can be cached on disk.
for _name in ("dgetrf", "dgetrs"):
    ll.add_symbol(f"mdpgrad_{_name}", get_cython_function_address("scipy.linalg.cython_lapack", _name))
ll.add_symbol("mdpgrad_dgemm", get_cython_function_address("scipy.linalg.cython_blas", "dgemm"))
_vp = types.voidptr
_dgetrf = types.ExternalFunction("mdpgrad_dgetrf", types.void(*[_vp] * 6))
_dgetrs = types.ExternalFunction("mdpgrad_dgetrs", types.void(*[_vp] * 9))
_dgemm = types.ExternalFunction("mdpgrad_dgemm", types.void(*[_vp] * 13))
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


@intrinsic
def _fetch_add(typingctx, counter, value):
    """``old = counter[0]; counter[0] += value; return old`` as one atomic instruction (for work sharing)."""
    sig = types.int64(counter, types.int64)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [context.get_constant(types.intp, 0)])
        return builder.atomic_rmw("add", ptr, args[1], "monotonic")

    return sig, codegen


_FM = {"contract", "reassoc", "nsz", "arcp"}
#: Policies whose guaranteed row-dominance margin of ``I - gamma P_pi`` is below this are factored with
#: partial pivoting (LAPACK); above it, Gaussian elimination without pivoting is stable (growth <= 2).
DD_MARGIN = 1e-8
#: Policies whose matrices are built (and kept, ~84 kB each at S = 100: in L2) at a time (fewer for large S).
_BUILD = 16


@nb.njit(cache=True, fastmath=_FM, error_model="numpy")
def _build_chunk(P, r, Pabs, gamma, rho, pis, lo, hi, X, margin):  # pragma: no cover - compiled
    r"""Fill the augmented matrices ``X[h]`` of the policies ``pis[lo + h]``, ``h < hi - lo``:
    ``X[h, :S, :S] = I - gamma P_pi``, ``X[h, :S, S] = r_pi``, ``X[h, S, :S] = (1 - gamma) rho``,
    ``X[h, S, S] = 0``, and ``margin[h]``, a lower bound on the row-dominance margin of ``I - gamma P_pi``:
    ``min_s 1 - gamma sum_a |pi(a|s)| sum_t |P(t|s, a)|`` (``1 - gamma`` for a valid policy).

    ``P_pi`` of the whole chunk is one small GEMM per state: ``X[:, s, :S] = -gamma pis[lo:hi, s, :] P[s]``."""
    B, S, A = pis.shape
    G = hi - lo
    ntr = np.full(1, _N, dtype=np.uint8)
    m = np.full(1, S, dtype=np.int32)
    n = np.full(1, G, dtype=np.int32)
    k = np.full(1, A, dtype=np.int32)
    ldb = np.full(1, S * A, dtype=np.int32)
    ldc = np.full(1, X.shape[1] * X.shape[2], dtype=np.int32)
    alpha = np.full(1, -gamma)
    beta = np.zeros(1)
    for s in range(S):  # column-major: X[:, s, :S]^T (S x G) = -gamma P[s]^T (S x A) @ pis[lo:hi, s]^T (A x G)
        _dgemm(ntr.ctypes, ntr.ctypes, m.ctypes, n.ctypes, k.ctypes, alpha.ctypes, P[s].ctypes, m.ctypes,
               pis[lo, s].ctypes, ldb.ctypes, beta.ctypes, X[0, s].ctypes, ldc.ctypes)
    for h in range(G):
        pi = pis[lo + h]
        Xh = X[h]
        worst = np.inf
        for s in range(S):
            acc = 0.0
            mass = 0.0
            for a in range(A):
                acc += pi[s, a] * r[s, a]
                mass += abs(pi[s, a]) * Pabs[s, a]
            Xh[s, s] += 1.0
            Xh[s, S] = acc
            worst = min(worst, 1.0 - gamma * mass)
        for t in range(S):
            Xh[S, t] = (1.0 - gamma) * rho[t]
        Xh[S, S] = 0.0
        margin[h] = worst


@nb.njit(cache=True, fastmath=_FM, error_model="numpy")
def _multipliers(X, i, k, i0, i1, i2, i3):  # pragma: no cover - compiled
    """Row ``i``'s multipliers on the pivot columns ``k .. k+3`` (a 4x4 unit-triangular solve), stored in place."""
    l0 = X[i, k] * i0
    l1 = (X[i, k + 1] - l0 * X[k, k + 1]) * i1
    l2 = (X[i, k + 2] - l0 * X[k, k + 2] - l1 * X[k + 1, k + 2]) * i2
    l3 = (X[i, k + 3] - l0 * X[k, k + 3] - l1 * X[k + 1, k + 3] - l2 * X[k + 2, k + 3]) * i3
    X[i, k] = l0
    X[i, k + 1] = l1
    X[i, k + 2] = l2
    X[i, k + 3] = l3
    return l0, l1, l2, l3


@nb.njit(cache=True, fastmath=_FM, error_model="numpy")
def lu_nopivot(X, n):  # pragma: no cover - compiled
    r"""In-place LU without pivoting of the leading ``(n+1) x (n+1)`` block of the C-ordered ``X``,
    eliminating its first ``n`` columns: afterwards ``X[:n, :n]`` holds ``L`` (unit, below the diagonal)
    and ``U``, ``X[:n, n] = L^{-1} X_0[:n, n]`` and ``X[n, :n] = X_0[n, :n] U^{-1}``.

    Right-looking, four pivots at a time: each trailing row gets a rank-4 update
    ``x -= l_0 u_0 + .. + l_3 u_3`` over contiguous row segments (vectorized), two rows per pass.
    Without pivoting this is backward stable when ``X[:n, :n]`` is strictly diagonally dominant by rows
    (growth factor <= 2; Wilkinson 1961, Higham 2002, Thm 9.9), which the caller checks."""
    m = n + 1
    k = 0
    while k + 4 <= n:
        for p in range(k, k + 4):  # the panel's own 4 rows, unblocked, over the full width
            inv = 1.0 / X[p, p]
            up = X[p, p + 1:m]
            for i in range(p + 1, k + 4):
                li = X[i, p] * inv
                X[i, p] = li
                ri = X[i, p + 1:m]
                for j in range(up.size):
                    ri[j] -= li * up[j]
        i0, i1, i2, i3 = 1.0 / X[k, k], 1.0 / X[k + 1, k + 1], 1.0 / X[k + 2, k + 2], 1.0 / X[k + 3, k + 3]
        u0, u1, u2, u3 = X[k, k + 4:m], X[k + 1, k + 4:m], X[k + 2, k + 4:m], X[k + 3, k + 4:m]
        i = k + 4
        while i + 2 <= m:
            a0, a1, a2, a3 = _multipliers(X, i, k, i0, i1, i2, i3)
            b0, b1, b2, b3 = _multipliers(X, i + 1, k, i0, i1, i2, i3)
            ra, rb = X[i, k + 4:m], X[i + 1, k + 4:m]
            for j in range(u0.size):
                x0, x1, x2, x3 = u0[j], u1[j], u2[j], u3[j]
                ra[j] -= a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3
                rb[j] -= b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3
            i += 2
        if i < m:
            a0, a1, a2, a3 = _multipliers(X, i, k, i0, i1, i2, i3)
            ra = X[i, k + 4:m]
            for j in range(u0.size):
                ra[j] -= a0 * u0[j] + a1 * u1[j] + a2 * u2[j] + a3 * u3[j]
        k += 4
    for p in range(k, n):  # the last n % 4 pivots
        inv = 1.0 / X[p, p]
        up = X[p, p + 1:m]
        for i in range(p + 1, m):
            li = X[i, p] * inv
            X[i, p] = li
            ri = X[i, p + 1:m]
            for j in range(up.size):
                ri[j] -= li * up[j]


@nb.njit(cache=True, fastmath=_FM, error_model="numpy")
def _back_solves(X, n, v, d):  # pragma: no cover - compiled
    """From :func:`lu_nopivot` of the augmented matrix: ``v = U^{-1} (L^{-1} r)`` and ``d = L^{-T} z``
    with ``z = c U^{-1}`` (so ``M v = r`` and ``M^T d = c``), four rows at a time from the bottom."""
    i = n - 1
    while i >= 3:  # v: four dot products with v[i+1:] share its loads, then a 4x4 back substitution
        a0, a1, a2, a3 = X[i - 3, n], X[i - 2, n], X[i - 1, n], X[i, n]
        r0, r1, r2, r3 = X[i - 3], X[i - 2], X[i - 1], X[i]
        for j in range(i + 1, n):
            x = v[j]
            a0 -= r0[j] * x
            a1 -= r1[j] * x
            a2 -= r2[j] * x
            a3 -= r3[j] * x
        x3 = a3 / r3[i]
        x2 = (a2 - r2[i] * x3) / r2[i - 1]
        x1 = (a1 - r1[i] * x3 - r1[i - 1] * x2) / r1[i - 2]
        v[i], v[i - 1], v[i - 2], v[i - 3] = x3, x2, x1, (a0 - r0[i] * x3 - r0[i - 1] * x2 - r0[i - 2] * x1) / r0[i - 3]
        i -= 4
    while i >= 0:
        row = X[i]
        acc = row[n]
        for j in range(i + 1, n):
            acc -= row[j] * v[j]
        v[i] = acc / row[i]
        i -= 1
    for j in range(n):
        d[j] = X[n, j]
    i = n - 1
    while i >= 4:  # d: a 4x4 unit-triangular solve, then a rank-4 update of d[:i-3] over rows of L
        r0, r1, r2, r3 = X[i - 3], X[i - 2], X[i - 1], X[i]
        z3 = d[i]
        z2 = d[i - 1] - z3 * r3[i - 1]
        z1 = d[i - 2] - z3 * r3[i - 2] - z2 * r2[i - 2]
        z0 = d[i - 3] - z3 * r3[i - 3] - z2 * r2[i - 3] - z1 * r1[i - 3]
        d[i - 1], d[i - 2], d[i - 3] = z2, z1, z0
        for j in range(i - 3):
            d[j] -= z3 * r3[j] + z2 * r2[j] + z1 * r1[j] + z0 * r0[j]
        i -= 4
    while i >= 1:
        row = X[i]
        z = d[i]
        for j in range(i):
            d[j] -= z * row[j]
        i -= 1


@nb.njit(cache=True, fastmath=_FM, error_model="numpy")
def _pivoted(X, n, Y, ipiv, v, d):  # pragma: no cover - compiled
    """Fallback with partial pivoting (LAPACK) for the augmented ``X`` of :func:`_build_pair`; returns ``info``."""
    for i in range(n):
        for j in range(n):
            Y[i, j] = X[i, j]
        v[i] = X[i, n]
        d[i] = X[n, i]
    info = getrf(Y, ipiv)
    if info == 0:
        getrs(Y, ipiv, v, False)
        getrs(Y, ipiv, d, True)
    return info


@nb.njit(cache=True, fastmath=_FM, error_model="numpy")
def _q_rows(P, r, gamma, v, q, adv, lo, hi):  # pragma: no cover - compiled
    """``q[b] = r + gamma P v[b]`` for the rows ``lo:hi`` (one GEMM) and ``adv[b] = q[b] - v[b]``."""
    S, A = r.shape
    n = np.full(1, S, dtype=np.int32)
    ldc = np.full(1, S * A, dtype=np.int32)
    cols = np.full(1, hi - lo, dtype=np.int32)
    alpha = np.full(1, gamma)
    beta = np.zeros(1)
    # Column-major: q[lo:hi]^T (SA x B') = gamma (P as S x SA)^T @ v[lo:hi]^T (S x B')
    _dgemm(np.full(1, _T, dtype=np.uint8).ctypes, np.full(1, _N, dtype=np.uint8).ctypes, ldc.ctypes, cols.ctypes,
           n.ctypes, alpha.ctypes, P.ctypes, n.ctypes, v[lo:].ctypes, n.ctypes, beta.ctypes, q[lo:].ctypes, ldc.ctypes)
    for b in range(lo, hi):
        for s in range(S):
            vs = v[b, s]
            for a in range(A):
                x = r[s, a] + q[b, s, a]
                q[b, s, a] = x
                adv[b, s, a] = x - vs


@nb.njit(cache=True, parallel=True)
def evaluate_stack(P, r, gamma, rho, pis, v, q, adv, d, info, chunk, n_threads):  # pragma: no cover - compiled
    """Fill ``(v, q, adv, d, info)`` for every policy ``pis[b]``: ``v[b] = M_b^{-1} r_{pi_b}``,
    ``q[b] = r + gamma P v[b]``, ``adv[b] = q[b] - v[b]``, ``d[b] = (1 - gamma) M_b^{-T} rho`` with
    ``M_b = I - gamma P_{pi_b}``; ``info[b]``: 0 on success, else LAPACK's ``getrf`` status.

    In parallel over chunks of ``chunk`` policies (one workspace per thread): the augmented matrices of
    :data:`_BUILD` policies at a time are built by :func:`_build_chunk`, each is factored by
    :func:`lu_nopivot` (or, where its dominance margin is below :data:`DD_MARGIN`, by pivoted ``getrf``)
    and solved by :func:`_back_solves`; the chunk's ``q`` is one GEMM (:func:`_q_rows`)."""
    B, S, A = pis.shape
    Pabs = np.zeros((S, A))  # sum_t |P(t|s, a)|: 1 for a valid kernel
    for s in range(S):
        for a in range(A):
            for t in range(S):
                Pabs[s, a] += abs(P[s, a, t])
    W = (S + 8) // 8 * 8  # row stride of the (S+1) x (S+1) augmented matrices, padded to 64 bytes
    nt = n_threads  # numba.get_num_threads() of the caller (called here it would defeat caching)
    n_build = max(1, min(_BUILD, (1 << 22) // ((S + 1) * W * 8)))  # at most ~4 MB of matrices per thread
    work = np.empty((nt, n_build, S + 1, W))
    margin = np.empty((nt, n_build))
    Y = np.empty((nt, S, S))
    ipiv = np.empty((nt, S), dtype=np.int32)
    n_chunks = (B + chunk - 1) // chunk
    nt = min(nt, n_chunks)
    counter = np.zeros(1, dtype=np.int64)
    for w in nb.prange(nt):  # one task per thread; the tasks take chunks from a shared counter (dynamic)
        tid = nb.get_thread_id()
        Xs = work[tid]
        while True:
            c = _fetch_add(counter, 1)
            if c >= n_chunks:
                break
            for lo in range(c * chunk, min(B, (c + 1) * chunk), n_build):
                hi = min(B, (c + 1) * chunk, lo + n_build)
                _build_chunk(P, r, Pabs, gamma, rho, pis, lo, hi, Xs, margin[tid])
                for b in range(lo, hi):
                    info[b] = 0
                    if margin[tid, b - lo] > DD_MARGIN:
                        lu_nopivot(Xs[b - lo], S)
                        _back_solves(Xs[b - lo], S, v[b], d[b])
                    else:
                        info[b] = _pivoted(Xs[b - lo], S, Y[tid], ipiv[tid], v[b], d[b])
            _q_rows(P, r, gamma, v, q, adv, c * chunk, min(B, (c + 1) * chunk))


@nb.njit(cache=True)
def policies_valid(pis, atol, max_abs):  # pragma: no cover - compiled
    """One pass: every ``pis[b, s]`` has finite entries in ``[0, max_abs]`` summing to 1 within
    ``atol`` (what :func:`mdpgrad.validation.check_policy` checks; it names the offence when this fails)."""
    B, S, A = pis.shape
    for b in range(B):
        for s in range(S):
            acc = 0.0
            ok = True
            for a in range(A):
                x = pis[b, s, a]
                acc += x
                ok &= 0.0 <= x <= max_abs  # NaN fails too
            if not (ok and abs(acc - 1.0) <= atol):
                return False
    return True


@nb.njit(cache=True)
def count_far(pis, k_max):  # pragma: no cover - compiled
    """How many policies ``pis[b]`` differ from ``pis[0]`` in more than ``k_max`` states; the count stops as
    soon as it exceeds ``B // 2`` (all :func:`mdpgrad.evaluate` needs to pick Woodbury or one LU each)."""
    B, S, A = pis.shape
    n_far = 0
    for b in range(1, B):
        k = 0
        for s in range(S):
            for a in range(A):
                if pis[b, s, a] != pis[0, s, a]:
                    k += 1
                    break
            if k > k_max:
                n_far += 1
                break
        if 2 * n_far > B:
            break
    return n_far



@functools.cache
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # finding the loaded BLAS libraries costs ~10 ms: once per process


def blas_single_thread():
    """Context manager pinning BLAS/LAPACK to one thread (threads go over the batch instead; and at S ~ 100
    waking a BLAS thread pool costs more than the solves)."""
    return _controller().limit(limits=1, user_api="blas")
