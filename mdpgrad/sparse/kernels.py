r"""Bellman kernels over CSR state-action rows: a NumPy reference and Numba kernels.

With row ``k = s * A + a`` of the CSR kernel holding :math:`P(\cdot\mid s,a)`:

* optimality backup :math:`(Tv)(s) = \max_a r(s,a) + \gamma \sum_{s'} P(s'|s,a) v(s')`,
  with the greedy action (ties to the lowest index);
* deterministic-policy backup :math:`(T^\mu v)(s) = r(s,\mu(s)) + \gamma P(\cdot|s,\mu(s))\cdot v`,
  applied ``m`` times in one call (the partial evaluation of modified policy iteration);
* stochastic-policy backup :math:`(T^\pi v)(s) = \sum_a \pi(a|s)\,[r(s,a) + \gamma P(\cdot|s,a)\cdot v]`;
* next-state sampling by inverse CDF along one row (for rollouts).

The Numba kernels are compiled with ``cache=True`` and parallel over states (``prange``);
each thread writes only its own ``out[s]``, so results do not depend on the thread count.
The sums run in CSR order in both implementations, so NumPy and Numba agree to a few ulps.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = [
    "bellman_max_numpy",
    "bellman_max_numba",
    "policy_sweeps_numpy",
    "policy_sweeps_numba",
    "bellman_stochastic_numpy",
    "bellman_stochastic_numba",
    "sample_rows_numba",
]


# --- NumPy references ---------------------------------------------------------------------
def bellman_max_numpy(P, r, gamma, v):
    """``(Tv, greedy)`` from the ``(S*A, S)`` CSR matrix ``P`` (scipy)."""
    S, A = r.shape
    q = r + gamma * np.asarray(P @ v).reshape(S, A)
    act = np.argmax(q, axis=1)
    return q[np.arange(S), act], act


def policy_sweeps_numpy(P, r, gamma, v, act, m):
    """``(T^act)^m v`` for a deterministic policy ``act[s]``."""
    S, A = r.shape
    rows = np.arange(S) * A + act
    P_mu = P[rows]
    r_mu = r[np.arange(S), act]
    for _ in range(m):
        v = r_mu + gamma * np.asarray(P_mu @ v)
    return v


def bellman_stochastic_numpy(P, r, gamma, v, pi):
    """``T^pi v`` for a stochastic policy ``pi[s, a]``."""
    S, A = r.shape
    q = r + gamma * np.asarray(P @ v).reshape(S, A)
    return np.sum(pi * q, axis=1)


# --- Numba kernels ------------------------------------------------------------------------
@nb.njit(parallel=True, cache=True)
def bellman_max_numba(indptr, indices, data, r, gamma, v, out, act):  # pragma: no cover - compiled
    """Fused ``out[s] = max_a r[s,a] + gamma P[sA+a] . v``, ``act[s]`` = first argmax."""
    S, A = r.shape
    for s in nb.prange(S):
        best = -np.inf
        ba = 0
        for a in range(A):
            row = s * A + a
            acc = 0.0
            for k in range(indptr[row], indptr[row + 1]):
                acc += data[k] * v[indices[k]]
            val = r[s, a] + gamma * acc
            if val > best:
                best = val
                ba = a
        out[s] = best
        act[s] = ba


@nb.njit(parallel=True, cache=True)
def policy_sweeps_numba(indptr, indices, data, r, gamma, v, act, m, out):  # pragma: no cover - compiled
    """``out = (T^act)^m v``: ``m`` deterministic-policy backups, ping-ponging two buffers."""
    S, A = r.shape
    a_buf = v.copy()
    b_buf = np.empty_like(v)
    for _ in range(m):
        for s in nb.prange(S):
            row = s * A + act[s]
            acc = 0.0
            for k in range(indptr[row], indptr[row + 1]):
                acc += data[k] * a_buf[indices[k]]
            b_buf[s] = r[s, act[s]] + gamma * acc
        a_buf, b_buf = b_buf, a_buf
    out[:] = a_buf


@nb.njit(parallel=True, cache=True)
def bellman_stochastic_numba(indptr, indices, data, r, gamma, v, pi, out):  # pragma: no cover - compiled
    """``out[s] = sum_a pi[s,a] (r[s,a] + gamma P[sA+a] . v)``."""
    S, A = r.shape
    for s in nb.prange(S):
        tot = 0.0
        for a in range(A):
            w = pi[s, a]
            if w == 0.0:
                continue
            row = s * A + a
            acc = 0.0
            for k in range(indptr[row], indptr[row + 1]):
                acc += data[k] * v[indices[k]]
            tot += w * (r[s, a] + gamma * acc)
        out[s] = tot


@nb.njit(parallel=True, cache=True)
def sample_rows_numba(indptr, indices, data, rows, u, out):  # pragma: no cover - compiled
    """``out[i]`` = next state drawn from CSR row ``rows[i]`` by inverse CDF of ``u[i] ~ U[0, 1)``.

    The last stored successor absorbs the round-off of the cumulative sum (rows sum to 1
    within 1e-8), so a draw never falls off the end of a row.
    """
    n = rows.shape[0]
    for i in nb.prange(n):
        row = rows[i]
        lo = indptr[row]
        hi = indptr[row + 1]
        acc = 0.0
        pick = indices[hi - 1]
        for k in range(lo, hi):
            acc += data[k]
            if u[i] < acc:
                pick = indices[k]
                break
        out[i] = pick
