"""Numba kernels of the finite-horizon softmax PG runs (:mod:`mdpgrad.finite_horizon`).

Compiled only (no NumPy twin): the reference is the exact algebra of ``fh_evaluate`` /
``fh_policy_gradient``, against which the tests check the runs.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .common import softmax_unnormalized


@nb.njit(cache=True)
def _fh_eval_kernel(P, r, rho, pi, v, q, d):  # pragma: no cover - compiled
    H, S, A, _ = P.shape
    for s in range(S):
        v[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        for s in range(S):
            acc_v = 0.0
            for a in range(A):
                acc = r[h, s, a]
                for t in range(S):
                    acc += P[h, s, a, t] * v[h + 1, t]
                q[h, s, a] = acc
                acc_v += pi[h, s, a] * acc
            v[h, s] = acc_v
    for s in range(S):
        d[0, s] = rho[s]
    for h in range(H - 1):
        for t in range(S):
            d[h + 1, t] = 0.0
        for s in range(S):
            for a in range(A):
                w = d[h, s] * pi[h, s, a]
                for t in range(S):
                    d[h + 1, t] += w * P[h, s, a, t]
    val = 0.0
    for s in range(S):
        val += rho[s] * v[0, s]
    return val


@nb.njit(cache=True)
def _softmax3(theta, pi):  # pragma: no cover - compiled
    H, S, A = theta.shape
    for h in range(H):
        for s in range(S):
            _, z = softmax_unnormalized(theta[h, s], pi[h, s])
            for a in range(A):
                pi[h, s, a] /= z


@nb.njit(cache=True)
def simultaneous_pg_numba(P, r, rho, theta, eta, n_iter, v_star, eps):  # pragma: no cover - compiled
    H, S, A, _ = P.shape
    pi = np.empty((H, S, A))
    v = np.empty((H + 1, S))
    q = np.empty((H, S, A))
    d = np.empty((H, S))
    gaps = np.empty(n_iter + 1)
    n_done = n_iter
    for it in range(n_iter + 1):
        _softmax3(theta, pi)
        val = _fh_eval_kernel(P, r, rho, pi, v, q, d)
        gaps[it] = v_star - val
        if gaps[it] <= eps:
            n_done = it
            break
        if it == n_iter:
            break
        for h in range(H):
            for s in range(S):
                for a in range(A):
                    theta[h, s, a] += eta * d[h, s] * pi[h, s, a] * (q[h, s, a] - v[h, s])
    return gaps[: n_done + 1], n_done


@nb.njit(cache=True)
def dynamic_pg_numba(P, r, rho, theta, etas, max_steps, tol):  # pragma: no cover - compiled
    """Backward epochs; returns steps per epoch (-1 where the epoch hit ``max_steps``)."""
    H, S, A, _ = P.shape
    pi = np.empty((H, S, A))
    v = np.empty((H + 1, S))
    q = np.empty((H, S, A))
    d = np.empty((H, S))
    steps = np.zeros(H, dtype=np.int64)
    mu = 1.0 / S
    for h in range(H - 1, -1, -1):
        _softmax3(theta, pi)
        _fh_eval_kernel(P, r, rho, pi, v, q, d)  # q[h] fixed: later policies are frozen
        n = 0
        while True:
            # current pi_h
            worst = 0.0
            for s in range(S):
                _, z = softmax_unnormalized(theta[h, s], pi[h, s])
                vs = 0.0
                qmax = q[h, s, 0]
                for a in range(A):
                    pi[h, s, a] /= z
                    vs += pi[h, s, a] * q[h, s, a]
                    qmax = max(qmax, q[h, s, a])
                v[h, s] = vs
                worst = max(worst, qmax - vs)
            if worst <= tol:
                break
            if n >= max_steps:
                n = -1
                break
            for s in range(S):
                for a in range(A):
                    theta[h, s, a] += etas[h] * mu * pi[h, s, a] * (q[h, s, a] - v[h, s])
            n += 1
        steps[h] = n
        if n < 0:
            break
    return steps
