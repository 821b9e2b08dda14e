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
