"""Fused Numba kernels for exact softmax-family policy optimization.

One call runs ``n_iter`` exact iterations without returning to Python: per iteration it
forms ``P_pi`` and ``r_pi``, solves ``(I - gamma P_pi) v = r_pi`` and
``(I - gamma P_pi)^T d = (1 - gamma) rho`` (LAPACK ``gesv`` through ``np.linalg.solve``),
builds ``Q = r + gamma P v`` and updates the logits. The NumPy reference path in
:mod:`mdpgrad.algorithms.core` computes the same quantities; tests check agreement.

Modes (``mode`` argument):

* 0 -- softmax PG: ``theta += eta / (1 - gamma) * d(s) pi(a|s) A(s, a)`` (Mei et al. 2020, with
  the entropy-regularized advantage when ``tau > 0``);
* 1 -- NPG: ``theta += eta / (1 - gamma) * A`` (Agarwal et al. 2021, eq. for softmax NPG);
* 2 -- entropy-regularized NPG: ``theta = (1 - eta tau / (1 - gamma)) theta + eta Q_tau / (1 - gamma)``
  (Cen et al. 2021);
* 3 -- Polyak-step softmax PG: ``eta_t = (J* - J_t) / ||grad||^2`` with ``J* = eta`` passed as the target.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
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
        for a in range(A):
            pi[s, a] /= z


@nb.njit(cache=True)
def softmax_family_run(P, r, gamma, rho, theta0, eta, n_iter, mode, tau, a_star, record_every):  # pragma: no cover
    """Run ``n_iter`` exact iterations; returns (values, reg_values, steps, min_pi_star, theta).

    ``values[k]`` is rho . v at iteration ``k * record_every`` (unregularized value),
    ``reg_values[k]`` the entropy-regularized value (equal when tau = 0), ``steps[k]`` the
    step size used at that iteration, ``min_pi_star`` the smallest ``pi_t(a*(s)|s)`` seen over
    all iterations and states (``a_star[s] < 0`` disables tracking).
    """
    S, A = theta0.shape
    theta = theta0.copy()
    pi = np.empty((S, A))
    n_rec = n_iter // record_every + 1
    values = np.empty(n_rec)
    reg_values = np.empty(n_rec)
    steps = np.empty(n_rec)
    M = np.empty((S, S))
    rpi = np.empty(S)
    q = np.empty((S, A))
    logpi = np.empty((S, A))
    c = 1.0 / (1.0 - gamma)
    min_star = 1.0
    k = 0
    for it in range(n_iter + 1):
        _softmax_rows(theta, pi)
        for s in range(S):
            for a in range(A):
                logpi[s, a] = np.log(pi[s, a]) if pi[s, a] > 0 else -1e300
            if a_star[s] >= 0 and pi[s, a_star[s]] < min_star:
                min_star = pi[s, a_star[s]]
        # M = I - gamma P_pi, r_pi (+ entropy bonus)
        for s in range(S):
            acc = 0.0
            ent = 0.0
            for t in range(S):
                M[s, t] = 0.0
            for a in range(A):
                p = pi[s, a]
                acc += p * r[s, a]
                if p > 0:
                    ent -= p * logpi[s, a]
                for t in range(S):
                    M[s, t] -= gamma * p * P[s, a, t]
            M[s, s] += 1.0
            rpi[s] = acc + tau * ent
        v = np.linalg.solve(M, rpi)
        d = np.linalg.solve(np.ascontiguousarray(M.T), (1.0 - gamma) * rho)
        for s in range(S):
            for a in range(A):
                acc = 0.0
                for t in range(S):
                    acc += P[s, a, t] * v[t]
                q[s, a] = r[s, a] + gamma * acc
        val = 0.0
        for s in range(S):
            val += rho[s] * v[s]
        if it == n_iter:
            if it % record_every == 0:
                _record_plain(values, reg_values, steps, k, P, r, gamma, rho, pi, val, tau, 0.0)
            break
        # step
        step = eta
        if mode == 0 or mode == 3:
            gnorm2 = 0.0
            for s in range(S):
                for a in range(A):
                    adv = q[s, a] - tau * logpi[s, a] - v[s]
                    g = c * d[s] * pi[s, a] * adv
                    q[s, a] = g  # reuse q as gradient buffer
                    gnorm2 += g * g
            if mode == 3:
                step = (eta - val) / gnorm2 if gnorm2 > 0 else 0.0
                if step < 0:
                    step = 0.0
            for s in range(S):
                for a in range(A):
                    theta[s, a] += step * q[s, a]
        elif mode == 1:
            for s in range(S):
                for a in range(A):
                    theta[s, a] += eta * c * (q[s, a] - v[s])
        else:
            keep = 1.0 - eta * tau * c
            for s in range(S):
                m = -1e300
                for a in range(A):
                    theta[s, a] = keep * logpi[s, a] + eta * c * q[s, a]
                    if theta[s, a] > m:
                        m = theta[s, a]
                for a in range(A):
                    theta[s, a] -= m
        if it % record_every == 0:
            _record_plain(values, reg_values, steps, k, P, r, gamma, rho, pi, val, tau, step)
            k += 1
    return values, reg_values, steps, min_star, theta


@nb.njit(cache=True)
def _record_plain(values, reg_values, steps, k, P, r, gamma, rho, pi, reg_val, tau, step):  # pragma: no cover
    """Store the unregularized value (re-solved when tau > 0) and the regularized one."""
    reg_values[k] = reg_val
    steps[k] = step
    if tau == 0.0:
        values[k] = reg_val
        return
    S, A = pi.shape
    M = np.eye(S)
    rpi = np.zeros(S)
    for s in range(S):
        for a in range(A):
            rpi[s] += pi[s, a] * r[s, a]
            for t in range(S):
                M[s, t] -= gamma * pi[s, a] * P[s, a, t]
    v = np.linalg.solve(M, rpi)
    val = 0.0
    for s in range(S):
        val += rho[s] * v[s]
    values[k] = val


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


@nb.njit(cache=True, fastmath=True)
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


@nb.njit(cache=True, fastmath=True)
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


@nb.njit(cache=True, fastmath=True)
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


@nb.njit(cache=True, fastmath=True)
def softmax_pg_refined_run(P, r, gamma, rho, theta0, eta, n_iter, npg, record_every):  # pragma: no cover
    """Exact softmax PG (``npg=False``) or NPG (``npg=True``) reusing one LU factorization across
    iterations with iterative refinement (refactoring when 6 refinement steps do not reach the
    direct-solve backward error). Returns ``(values, n_factorizations, theta)``.
    Same arithmetic as :func:`softmax_family_run` up to the solver's round-off."""
    S, A = theta0.shape
    theta = theta0.copy()
    pi = np.empty((S, A))
    n_rec = n_iter // record_every + 1
    values = np.empty(n_rec)
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
    pv = np.empty((S, A))
    P2 = np.ascontiguousarray(P.reshape(S * A, S))
    c = 1.0 / (1.0 - gamma)
    n_fact = 0
    have_lu = False
    k = 0
    for it in range(n_iter + 1):
        _softmax_rows(theta, pi)
        for s in range(S):
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
            rpi[s] = acc
        # ||M||_inf = 1 + gamma (rows of P_pi sum to 1; diagonal 1 - gamma P_pi[s, s] >= 0), and
        # ||M^T||_inf <= 1 + gamma max_t sum_s P_pi[s, t] <= 1 + gamma S: bounds used in the stop rule.
        ok = False
        if have_lu:
            # Linear extrapolation along the (smooth) trajectory as the starting guess.
            for i in range(S):
                tv = v[i]
                v[i] = 2.0 * tv - v_old[i]
                v_old[i] = tv
                td = d[i]
                d[i] = 2.0 * td - d_old[i]
                d_old[i] = td
            ok = _refine(M, rpi, v, LU, piv, False, 6, res, dx, w, 1.0 + gamma)
            if ok:
                ok = _refine(M, rhs_d, d, LUT, piv, True, 6, res, dx, w, 1.0 + gamma)
        if not ok:
            lu_factor_nb(M, LU, piv)
            for i in range(S):
                for j in range(S):
                    LUT[i, j] = LU[j, i]
            n_fact += 1
            have_lu = True
            lu_solve_nb(LU, piv, rpi, v)
            lu_solve_t_nb(LUT, piv, rhs_d, d, w)
            _refine(M, rpi, v, LU, piv, False, 2, res, dx, w, 1.0 + gamma)
            _refine(M, rhs_d, d, LUT, piv, True, 2, res, dx, w, 1.0 + gamma)
            if it == 0:
                for i in range(S):
                    v_old[i] = v[i]
                    d_old[i] = d[i]
        val = 0.0
        for s in range(S):
            val += rho[s] * v[s]
        if it % record_every == 0:
            values[k] = val
            k += 1
        if it == n_iter:
            break
        pvf = np.dot(P2, v)  # BLAS gemv on P reshaped to (S*A, S)
        for s in range(S):
            for a in range(A):
                pv[s, a] = r[s, a] + gamma * pvf[s * A + a] - v[s]
        if npg:
            for s in range(S):
                for a in range(A):
                    theta[s, a] += eta * c * pv[s, a]
        else:
            for s in range(S):
                for a in range(A):
                    theta[s, a] += eta * c * d[s] * pi[s, a] * pv[s, a]
    return values, n_fact, theta
