r"""Batched exact evaluation of many policies on one MDP, reusing one factorization.

For policies :math:`\pi_b` that agree with a base policy :math:`\pi_0` except on a set
:math:`D_b` of :math:`k_b` states, :math:`M_b = I - \gamma P_{\pi_b}` differs from
:math:`M_0 = I - \gamma P_{\pi_0}` in the rows :math:`D_b` only:
:math:`M_b = M_0 - \gamma E_b \Delta_b` with :math:`E_b = [e_s]_{s\in D_b}` (S x k) and
:math:`\Delta_b = (P_{\pi_b} - P_{\pi_0})[D_b, :]` (k x S). With :math:`Z = M_0^{-1}` (one
factorization for the whole batch) the Sherman-Morrison-Woodbury identity gives

.. math::

    v_b = w_b + \gamma Z_{:,D_b} C_b^{-1} \Delta_b w_b, \quad w_b = Z r_{\pi_b}, \quad
    C_b = I_k - \gamma \Delta_b Z_{:,D_b},

    d_b = d_0 + \gamma Z^\top \Delta_b^\top C_b^{-\top} d_0[D_b], \quad d_0 = (1-\gamma) Z^\top\rho,

so each policy costs :math:`O(S^2 + k S A + k^2 S + k^3)` instead of an :math:`O(S^3)` LU.
:math:`C_b` is invertible because :math:`M_b` is (matrix determinant lemma:
:math:`\det M_b = \det M_0 \det C_b`). Policies with :math:`k_b >` ``max_rank`` (default
``S // 8``) fall back to one LU per policy (``P_pi`` and ``q`` still built with batched GEMMs). Policies are
grouped by :math:`k_b` and each group is evaluated with stacked (batched) array operations.

Typical uses: sweeps over local perturbations of a policy (one-state deviations for policy
improvement or finite differences, coordinate-wise line searches, perturbation studies). For
policies that differ everywhere (e.g. independent random policies) there is nothing to reuse:
each needs its own O(S^3) factorization, which is then the floor of any exact method (at
S = 100 it costs about as much as the rest of a single :func:`mdpgrad.evaluate` call).
"""

from __future__ import annotations

import concurrent.futures
import os

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
from threadpoolctl import threadpool_limits

from ..errors import InvalidInputError, InvalidPolicyError
from ..validation import as_float_array, check_int

__all__ = ["evaluate_batch"]


def evaluate_batch(mdp, pis, *, base=None, max_rank: int | None = None, check: bool = True):
    """Exact evaluation of a stack of policies ``pis[B, S, A]`` on a dense MDP.

    Returns :class:`mdpgrad.exact.Evaluation` with a leading batch axis, identical (to
    round-off, ~1e-13 relative) to evaluating each policy with :func:`mdpgrad.evaluate`.
    ``base`` is the reference policy ``(S, A)`` (default ``pis[0]``); see the module docstring.
    """
    from ..exact import Evaluation, check_policy, evaluate
    from ..mdp import as_mdp

    m = as_mdp(mdp)
    if getattr(m, "is_sparse", False):
        return evaluate(m, pis, check=check)
    S, A = m.shape
    pis = as_float_array(pis, "pis", error=InvalidPolicyError) if check else np.asarray(pis, dtype=np.float64)
    if check:
        pis = check_policy(pis, S, A, name="pis", batched=True)
    elif pis.ndim != 3 or pis.shape[1:] != (S, A):
        raise InvalidInputError(f"pis: expected shape (B, {S}, {A}), got {pis.shape}.")
    B = pis.shape[0]
    pi0 = pis[0] if base is None else (check_policy(base, S, A, name="base") if check else np.asarray(base, float))
    k_max = max(1, S // 8) if max_rank is None else check_int(max_rank, "max_rank", minimum=0)
    g = m.gamma
    diff = np.any(pis != pi0[None], axis=2)  # (B, S) states where pi_b differs from the base
    k = diff.sum(axis=1)
    v = np.empty((B, S))
    d = np.empty((B, S))
    far = np.flatnonzero(k > k_max)
    if far.size:  # nothing to reuse: one LU per policy, serving both v and d
        c = (1.0 - g) * m.rho
        Pt = np.ascontiguousarray(m.P)
        getrf, getrs = scipy.linalg.lapack.get_lapack_funcs(("getrf", "getrs"), (Pt,))

        def solve_chunk(idx):
            pf = pis[idx]
            # M^T for each policy, C-contiguous = Fortran-ordered M: LAPACK factors it without a copy.
            X = np.matmul(pf.transpose(1, 0, 2), Pt)  # X[s, b, t] = P_pi_b[s, t]: S GEMMs (n, A) x (A, S)
            MT = np.ascontiguousarray(X.transpose(1, 2, 0)) * (-g)  # MT[b, t, s] = -gamma P_pi_b[s, t]
            MT[:, np.arange(S), np.arange(S)] += 1.0
            r_far = np.einsum("bsa,sa->bs", pf, m.r)
            for i, b in enumerate(idx):  # raw LAPACK getrf / getrs: the wrappers' checks cost more than S=100 LUs
                lu, piv, info = getrf(MT[i].T, overwrite_a=True)
                if info != 0:  # cannot happen for 0 <= gamma < 1 (M is strictly diagonally dominant)
                    raise np.linalg.LinAlgError(f"I - gamma P_pi is singular for policy {b} (getrf info={info}).")
                v[b] = getrs(lu, piv, r_far[i])[0]
                d[b] = getrs(lu, piv, c, trans=1)[0]

        # Chunks of 64 keep the (chunk, S, S) stack in cache; LAPACK releases the GIL, so chunks run
        # on a small thread pool (each writes only its own rows of v and d).
        # BLAS itself is pinned to one thread meanwhile: for S ~ 100 its own threads only add overhead.
        chunks = [far[lo:lo + 64] for lo in range(0, far.size, 64)]
        n_threads = min(len(chunks), os.cpu_count() or 1, 8)
        with threadpool_limits(limits=1, user_api="blas"):
            if n_threads > 1:
                with concurrent.futures.ThreadPoolExecutor(n_threads) as ex:
                    list(ex.map(solve_chunk, chunks))
            else:
                for idx in chunks:
                    solve_chunk(idx)
    near = np.flatnonzero(k <= k_max)
    if near.size:
        P_pi0 = np.einsum("sa,sat->st", pi0, m.P)
        lu = scipy.linalg.lu_factor(np.eye(S) - g * P_pi0, check_finite=False)
        Z = scipy.linalg.lu_solve(lu, np.eye(S), check_finite=False)  # M_0^{-1}, one factorization
        d0 = (1.0 - g) * (Z.T @ m.rho)
        r_pi = np.einsum("bsa,sa->bs", pis[near], m.r)
        w = r_pi @ Z.T  # (n, S): w_b = Z r_b, one GEMM for the group
        v[near] = w
        d[near] = d0
        w_of = dict(zip(near.tolist(), range(near.size)))
        for kk in np.unique(k[near]):
            if kk == 0:
                continue
            group = near[k[near] == kk]
            chunk = max(1, 2_000_000 // (S * kk * (A + 2)))  # bound the (n, k, A, S) temporaries
            for lo in range(0, group.size, chunk):
                sel = group[lo:lo + chunk]
                D = np.nonzero(diff[sel])[1].reshape(sel.size, kk)  # (n, k) differing states, sorted
                dpi = pis[sel[:, None], D] - pi0[D]  # (n, k, A)
                Delta = np.einsum("nka,nkat->nkt", dpi, m.P[D])  # (n, k, S) rows of P_pi_b - P_pi0
                U = np.swapaxes(Z[:, D], 0, 1)  # (n, S, k) = Z[:, D_b]
                C = np.eye(kk)[None] - g * Delta @ U  # (n, k, k)
                wb = w[[w_of[b] for b in sel.tolist()]]
                y = np.linalg.solve(C, (Delta @ wb[..., None]))  # (n, k, 1)
                v[sel] = wb + g * (U @ y)[..., 0]
                z = np.linalg.solve(np.swapaxes(C, 1, 2), d0[D][..., None])  # (n, k, 1)
                d[sel] = d0 + g * ((np.swapaxes(Delta, 1, 2) @ z)[..., 0] @ Z)
    q = m.r + g * (v @ m.P.reshape(S * A, S).T).reshape(B, S, A)
    return Evaluation(v=v, q=q, advantage=q - v[..., None], occupancy=d, value=v @ m.rho)
