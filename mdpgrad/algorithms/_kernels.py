r"""Numba implementation of the exact softmax-family updates (the ``backend="numba"`` path of
:func:`mdpgrad.optimize`).

The update of each method is the same as its NumPy reference in :mod:`mdpgrad.algorithms.methods`
(tests check agreement to round-off); the kernel only fuses the loop so that ``n_iter`` iterations run
without returning to Python. Per iteration: ``pi = softmax(theta)``, ``M = I - gamma P_pi``,
``v = M^{-1} r_pi`` (``+ tau H(pi)``), ``d = (1 - gamma) M^{-T} rho`` when the update needs it,
``Q = r + gamma P v``, then the step. The linear systems reuse one LU factorization across
iterations with iterative refinement to the backward error of a direct solve, refactoring when six
refinement steps do not suffice (the policy moves little per step, so refactoring is rare).

Modes (``mode``), with ``c`` the gradient scale (``1 / (1 - gamma)`` unless a control changes it) and
``w(s)`` the state weight (``d(s)``, or ``rho(s)`` for the ``weighting="rho"`` control):

* 0 -- softmax PG: ``theta += eta c w(s) pi(a|s) (Q_tau - tau log pi - V_tau)`` (Mei et al. 2020);
* 1 -- NPG: ``theta += eta c (Q - V)`` (Agarwal et al. 2021);
* 2 -- entropy NPG: ``theta = (1 - eta tau c) log pi + eta c Q_tau`` (Cen et al. 2021);
* 3 -- Polyak-step softmax PG: as 0 with ``eta_t = (f* - J_t) / ||grad||^2`` (clipped at ``max_step``);
* 4 -- KL policy mirror descent: ``theta += eta_k Q`` with ``eta_k = eta`` or ``eta / gamma^k``
  (Xiao 2022; Lan 2022).

:func:`exact_pg_run_batch` runs a batch of such runs (step sizes, initial logits, MDPs of one shape)
in parallel over the batch (``prange``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

# LLVM fast-math flags that keep inf/nan semantics (policies may underflow to exact zeros).
_FM = {"contract", "arcp", "reassoc", "nsz"}


@nb.njit(cache=True, fastmath=_FM)
def _softmax_rows(theta, pi):  # pragma: no cover - compiled
    S, A = theta.shape
    for s in range(S):
        m = theta[s, 0]
        for a in range(1, A):
            if theta[s, a] > m:
                m = theta[s, a]
        z = 0.0
        for a in range(A):
            e = np.exp(theta[s, a] - m)
            pi[s, a] = e
            z += e
        inv = 1.0 / z
        for a in range(A):
            pi[s, a] *= inv


# ------------------------------------------------------------------------------------------
# LU reuse with iterative refinement: the fast exact path for larger S
# ------------------------------------------------------------------------------------------
_EPS = 2.220446049250313e-16


@nb.njit(cache=True)
def lu_factor_nb(M, LU, piv):  # pragma: no cover - compiled
    """In-place LU with partial pivoting of ``M`` into ``LU`` (row permutation ``piv``)."""
    n = M.shape[0]
    for i in range(n):
        piv[i] = i
        for j in range(n):
            LU[i, j] = M[i, j]
    for k in range(n):
        p = k
        m = abs(LU[k, k])
        for i in range(k + 1, n):
            if abs(LU[i, k]) > m:
                m = abs(LU[i, k])
                p = i
        if p != k:
            for j in range(n):
                tmp = LU[k, j]
                LU[k, j] = LU[p, j]
                LU[p, j] = tmp
            tp = piv[k]
            piv[k] = piv[p]
            piv[p] = tp
        inv = 1.0 / LU[k, k]
        for i in range(k + 1, n):
            LU[i, k] *= inv
            f = LU[i, k]
            if f != 0.0:
                for j in range(k + 1, n):
                    LU[i, j] -= f * LU[k, j]


@nb.njit(cache=True, fastmath=_FM)
def lu_solve_nb(LU, piv, b, x):  # pragma: no cover - compiled
    """Solve ``M x = b`` with ``P M = L U`` (``piv`` maps rows)."""
    n = LU.shape[0]
    for i in range(n):
        acc = b[piv[i]]
        for j in range(i):
            acc -= LU[i, j] * x[j]
        x[i] = acc
    for i in range(n - 1, -1, -1):
        acc = x[i]
        for j in range(i + 1, n):
            acc -= LU[i, j] * x[j]
        x[i] = acc / LU[i, i]


@nb.njit(cache=True, fastmath=_FM)
def lu_solve_t_nb(LUT, piv, b, x, w):  # pragma: no cover - compiled
    """Solve ``M^T x = b`` given ``LUT = (LU)^T`` of ``P M = L U``: ``U^T w = b``, ``L^T z = w``,
    ``x = P^T z`` (row-contiguous access through the stored transpose)."""
    n = LUT.shape[0]
    for i in range(n):
        acc = b[i]
        for j in range(i):
            acc -= LUT[i, j] * w[j]
        w[i] = acc / LUT[i, i]
    for i in range(n - 1, -1, -1):
        acc = w[i]
        for j in range(i + 1, n):
            acc -= LUT[i, j] * w[j]
        w[i] = acc
    for i in range(n):
        x[piv[i]] = w[i]


@nb.njit(cache=True, fastmath=_FM)
def _refine(M, b, x, LU, piv, trans, max_steps, res, dx, w, mnorm):  # pragma: no cover - compiled
    """Iterative refinement of ``x`` for ``M x = b`` (or ``M^T x = b``) with an old factorization.

    Stops when ``||b - M x||_inf <= 8 eps (||M||_inf ||x||_inf + ||b||_inf)`` -- the backward error of a
    direct LU solve -- and returns True; False if ``max_steps`` did not suffice.
    """
    n = M.shape[0]
    bnorm = 0.0
    for i in range(n):
        bnorm = max(bnorm, abs(b[i]))
    for _ in range(max_steps + 1):
        xnorm = 0.0
        rnorm = 0.0
        for i in range(n):
            xnorm = max(xnorm, abs(x[i]))
        if not trans:
            for i in range(n):
                acc = b[i]
                for j in range(n):
                    acc -= M[i, j] * x[j]
                res[i] = acc
        else:
            for i in range(n):
                res[i] = b[i]
            for j in range(n):
                xj = x[j]
                for i in range(n):
                    res[i] -= M[j, i] * xj
        for i in range(n):
            rnorm = max(rnorm, abs(res[i]))
        if rnorm <= 8.0 * _EPS * (mnorm * xnorm + bnorm):
            return True
        if trans:
            lu_solve_t_nb(LU, piv, res, dx, w)
        else:
            lu_solve_nb(LU, piv, res, dx)
        for i in range(n):
            x[i] += dx[i]
    return False




@nb.njit(cache=True, fastmath=_FM)
def _run_one(P, r, gamma, rho, theta0, mode, eta, tau, scale, use_rho, geometric, f_star, max_step,
             n_iter, record_every, a_star, want_entropy, values, reg_values, entropies, steps, theta):  # pragma: no cover
    """One run; writes the records and the final logits ``theta`` in place; returns
    ``(min_t,s pi_t(a_star[s]|s), number of LU factorizations)``."""
    S, A = theta0.shape
    for s in range(S):
        for a in range(A):
            theta[s, a] = theta0[s, a]
    pi = np.empty((S, A))
    logpi = np.zeros((S, A))
    q = np.empty((S, A))
    H = np.zeros(S)
    M = np.empty((S, S))
    LU = np.empty((S, S))
    LUT = np.empty((S, S))
    piv = np.empty(S, dtype=np.int64)
    rpi = np.empty(S)
    rhs_d = (1.0 - gamma) * rho
    v = np.zeros(S)
    d = np.zeros(S)
    v_old = np.zeros(S)
    d_old = np.zeros(S)
    res = np.empty(S)
    dx = np.empty(S)
    w = np.empty(S)
    P2 = P.reshape(S * A, S)
    need_d = ((mode == 0 or mode == 3) and not use_rho) or tau > 0.0
    need_log = tau > 0.0 or mode == 2 or want_entropy
    min_star = 1.0
    n_fact = 0
    have_lu = False
    k = 0
    for it in range(n_iter + 1):
        _softmax_rows(theta, pi)
        if need_log:
            for s in range(S):
                h = 0.0
                for a in range(A):
                    p = pi[s, a]
                    if p > 0.0:
                        lp = np.log(p)
                        logpi[s, a] = lp
                        h -= p * lp
                    else:
                        logpi[s, a] = -1e300
                H[s] = h
        for s in range(S):
            if a_star[s] >= 0 and pi[s, a_star[s]] < min_star:
                min_star = pi[s, a_star[s]]
        for s in range(S):  # M = I - gamma P_pi, r_pi (+ tau H)
            acc = 0.0
            for t in range(S):
                M[s, t] = 0.0
            for a in range(A):
                p = pi[s, a]
                acc += p * r[s, a]
                gp = gamma * p
                for t in range(S):
                    M[s, t] -= gp * P[s, a, t]
            M[s, s] += 1.0
            rpi[s] = acc + tau * H[s]
        # ||M||_inf = 1 + gamma bounds the backward-error stop rule of the refinement.
        ok = False
        if have_lu:
            for i in range(S):  # linear extrapolation along the trajectory as the starting guess
                tv = v[i]
                v[i] = 2.0 * tv - v_old[i]
                v_old[i] = tv
                td = d[i]
                d[i] = 2.0 * td - d_old[i]
                d_old[i] = td
            ok = _refine(M, rpi, v, LU, piv, False, 6, res, dx, w, 1.0 + gamma)
            if ok and need_d:
                ok = _refine(M, rhs_d, d, LUT, piv, True, 6, res, dx, w, 1.0 + gamma)
        if not ok:
            lu_factor_nb(M, LU, piv)
            for i in range(S):
                for j in range(S):
                    LUT[i, j] = LU[j, i]
            n_fact += 1
            have_lu = True
            lu_solve_nb(LU, piv, rpi, v)
            _refine(M, rpi, v, LU, piv, False, 2, res, dx, w, 1.0 + gamma)
            if need_d:
                lu_solve_t_nb(LUT, piv, rhs_d, d, w)
                _refine(M, rhs_d, d, LUT, piv, True, 2, res, dx, w, 1.0 + gamma)
            if it == 0:
                for i in range(S):
                    v_old[i] = v[i]
                    d_old[i] = d[i]
        val = 0.0
        for s in range(S):
            val += rho[s] * v[s]
        step = 0.0
        if it < n_iter:
            pv = np.dot(P2, v)  # BLAS gemv on P reshaped to (S*A, S)
            for s in range(S):
                for a in range(A):
                    q[s, a] = r[s, a] + gamma * pv[s * A + a]
            if mode == 0 or mode == 3:
                gnorm2 = 0.0
                for s in range(S):
                    ws = scale * (rho[s] if use_rho else d[s])
                    for a in range(A):
                        g = ws * pi[s, a] * (q[s, a] - tau * logpi[s, a] - v[s])
                        q[s, a] = g  # q now holds the gradient
                        gnorm2 += g * g
                step = eta
                if mode == 3:
                    step = (f_star - val) / gnorm2 if gnorm2 > 0.0 else 0.0
                    if step < 0.0:
                        step = 0.0
                    if max_step > 0.0 and step > max_step:
                        step = max_step
                for s in range(S):
                    for a in range(A):
                        theta[s, a] += step * q[s, a]
            elif mode == 1:
                step = eta
                for s in range(S):
                    for a in range(A):
                        theta[s, a] += eta * scale * (q[s, a] - v[s])
            elif mode == 2:
                step = eta
                keep = 1.0 - eta * tau * scale
                for s in range(S):
                    m = -np.inf
                    for a in range(A):
                        theta[s, a] = keep * logpi[s, a] + eta * scale * q[s, a]
                        if theta[s, a] > m:
                            m = theta[s, a]
                    for a in range(A):
                        theta[s, a] -= m
            else:
                step = eta / gamma ** it if geometric else eta
                if step > 1e300:  # the step is greedy long before; keeps eta_k * (Q - max Q) finite
                    step = 1e300
                for s in range(S):
                    qm = q[s, 0]
                    for a in range(1, A):
                        if q[s, a] > qm:
                            qm = q[s, a]
                    m = -np.inf
                    for a in range(A):
                        theta[s, a] += step * (q[s, a] - qm)
                        if theta[s, a] > m:
                            m = theta[s, a]
                    for a in range(A):
                        theta[s, a] -= m
        if it % record_every == 0:
            plain = val
            if tau > 0.0:  # rho.v_tau = rho.v + tau/(1-gamma) d.H  (d normalized occupancy)
                dh = 0.0
                for s in range(S):
                    dh += d[s] * H[s]
                plain = val - tau * dh / (1.0 - gamma)
            values[k] = plain
            reg_values[k] = val
            if want_entropy:
                e = 0.0
                for s in range(S):
                    e += rho[s] * H[s]
                entropies[k] = e
            steps[k] = step
            k += 1
    return min_star, n_fact


@nb.njit(cache=True, parallel=True)
def exact_pg_run_batch(P, r, gamma, rho, theta0, mode, eta, tau, scale, use_rho, geometric, f_star, max_step,
                       n_iter, record_every, a_star, want_entropy):  # pragma: no cover
    """``B`` runs in parallel (``prange``). ``P (B_P, S, A, S)``, ``r (B_P, S, A)``, ``rho (B_P, S)``,
    ``gamma (B_P,)`` with ``B_P`` 1 or ``B``; ``theta0 (B, S, A)``; ``eta, f_star (B,)``; ``a_star (B_P, S)``.
    Returns ``(values, reg_values, entropies, steps, min_pi_star, n_fact, theta)`` with a leading ``B`` axis."""
    B, S, A = theta0.shape
    n_rec = n_iter // record_every + 1
    values = np.empty((B, n_rec))
    reg_values = np.empty((B, n_rec))
    entropies = np.full((B, n_rec), np.nan)
    steps = np.empty((B, n_rec))
    min_star = np.empty(B)
    n_fact = np.empty(B, dtype=np.int64)
    theta = np.empty((B, S, A))
    shared = P.shape[0] == 1
    for bb in nb.prange(B):
        b = np.int64(bb)
        i = np.int64(0) if shared else b
        ms, nf = _run_one(P[i], r[i], gamma[i], rho[i], theta0[b], mode, eta[b], tau, scale[i], use_rho, geometric,
                          f_star[b], max_step, n_iter, record_every, a_star[i], want_entropy, values[b],
                          reg_values[b], entropies[b], steps[b], theta[b])
        min_star[b] = ms
        n_fact[b] = nf
    return values, reg_values, entropies, steps, min_star, n_fact, theta


@nb.njit(cache=True)
def exact_pg_run(P, r, gamma, rho, theta0, mode, eta, tau, scale, use_rho, geometric, f_star, max_step,
                 n_iter, record_every, a_star, want_entropy):  # pragma: no cover
    """One run (no thread pool); returns the same tuple as :func:`exact_pg_run_batch` without the batch axis."""
    S, A = theta0.shape
    n_rec = n_iter // record_every + 1
    values = np.empty(n_rec)
    reg_values = np.empty(n_rec)
    entropies = np.full(n_rec, np.nan)
    steps = np.empty(n_rec)
    theta = np.empty((S, A))
    ms, nf = _run_one(P, r, gamma, rho, theta0, mode, eta, tau, scale, use_rho, geometric, f_star, max_step,
                      n_iter, record_every, a_star, want_entropy, values, reg_values, entropies, steps, theta)
    return values, reg_values, entropies, steps, ms, nf, theta
