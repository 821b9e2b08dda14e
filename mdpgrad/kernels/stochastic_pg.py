r"""Compiled stochastic PG (GPOMDP) on a tabular softmax policy, parallel over a batch of seeds.

Kernel of :func:`mdpgrad.estimators.seed_batch.run_pg_tabular` (the ``"pg"`` method of
:func:`mdpgrad.estimators.run_stochastic` on a softmax :class:`~mdpgrad.estimators.TabularOracle`).
Run ``b`` consumes, at step ``k``, the integer ``subseeds[b, k]`` that its own
:class:`numpy.random.Generator` drew (``rng.integers(2**62)``, pre-drawn in blocks by the caller) and
derives from it exactly the streams of ``TabularOracle.sample(theta, n, subseed)``:
``SeedSequence(subseed, spawn_key=(key,))`` (its pool mixing, :func:`seed_pool`, is a compiled copy of
NumPy's) gives one 64-bit SplitMix64 seed per trajectory for the path (``key=0``) and for its
Geom(1-gamma) length (``key=1``), see :mod:`mdpgrad.rollouts`. The step is then

.. math::

    \theta_{k+1} = \theta_k + \alpha_k \frac1n\sum_{i<n}\sum_{t<L_i} G_{i,t}
    \big(e_{a_{i,t}} - \pi_{\theta_k}(\cdot|s_{i,t})\big)\otimes e_{s_{i,t}},\qquad G_{i,t}=\sum_{t\le u<L_i} r_{i,u},

(Williams 1992; Baxter & Bartlett 2001, GPOMDP with the random-horizon trick), and at every recorded
iterate the exact value :math:`\rho^\top(I-\gamma P_\pi)^{-1}r_\pi` by one LAPACK LU (as
:func:`mdpgrad._evaluate_kernels.evaluate_stack`). Every run touches only its own buffers, so run ``b``
is the same whatever the batch and the thread count.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .._evaluate_kernels import getrf, getrs
from .rollouts import LINEAR_MAX, first_state, seed_words, splitmix_uniform, transition_step

_M32 = np.uint64(0xFFFFFFFF)
_INIT_A = np.uint64(0x43B0D7E5)
_MULT_A = np.uint64(0x931E8875)
_MIX_L = np.uint64(0xCA01F9DD)
_MIX_R = np.uint64(0x4973F715)
_X16 = np.uint64(16)
_W32 = np.uint64(32)
_TWO53F = 9007199254740992.0


@nb.njit(cache=True, inline="always")
def _hashmix(value, h):  # pragma: no cover - compiled
    value = value ^ h
    h = (h * _MULT_A) & _M32
    value = (value * h) & _M32
    return value ^ (value >> _X16), h


@nb.njit(cache=True, inline="always")
def _mix32(x, y):  # pragma: no cover - compiled
    res = ((_MIX_L * x) - (_MIX_R * y)) & _M32
    return res ^ (res >> _X16)


@nb.njit(cache=True)
def seed_pool(entropy, key):  # pragma: no cover - compiled
    """``numpy.random.SeedSequence(entropy, spawn_key=(key,)).pool`` for ``0 <= entropy < 2**64``: the entropy
    words ``[lo, hi, 0, 0, key]`` (run entropy padded to the pool size 4, then the spawn key) mixed as NumPy's
    ``mix_entropy`` does (tested equal)."""
    e = np.uint64(entropy)
    ent = np.zeros(5, dtype=np.uint64)
    ent[0] = e & _M32
    ent[1] = e >> _W32
    ent[4] = np.uint64(key)
    pool = np.empty(4, dtype=np.uint64)
    h = _INIT_A
    for i in range(4):
        pool[i], h = _hashmix(ent[i], h)
    for src in range(4):
        for dst in range(4):
            if src != dst:
                hv, h = _hashmix(pool[src], h)
                pool[dst] = _mix32(pool[dst], hv)
    for dst in range(4):
        hv, h = _hashmix(ent[4], h)
        pool[dst] = _mix32(pool[dst], hv)
    return pool.astype(np.uint32)


@nb.njit(cache=True)
def trajectory_seeds_compiled(entropy, n, key):  # pragma: no cover - compiled
    """:func:`mdpgrad.rollouts.trajectory_seeds` ``(entropy, n, key=key)`` as uint64 (little-endian word pairs)."""
    w = seed_words(seed_pool(entropy, key), 2 * n)
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = np.uint64(w[2 * i]) | (np.uint64(w[2 * i + 1]) << _W32)
    return out


@nb.njit(cache=True, inline="always")
def softmax_tables(theta, S, A, pi, pi_cum, pi_thr, lin_pi):  # pragma: no cover - compiled
    """Row softmax of ``theta`` and its cumulative rows (last positive entry and after set to 2, as
    :func:`mdpgrad.rollouts._cum_rows`) with their integer thresholds."""
    for s in range(S):
        mx = theta[s * A]
        for a in range(1, A):
            mx = max(mx, theta[s * A + a])
        tot = 0.0
        for a in range(A):
            e = np.exp(theta[s * A + a] - mx)
            pi[s, a] = e
            tot += e
        last = 0
        c = 0.0
        for a in range(A):
            pi[s, a] = pi[s, a] / tot
            if pi[s, a] > 0.0:
                last = a
        for a in range(A):
            c += pi[s, a]
            pi_cum[s, a] = 2.0 if a >= last else c
        if lin_pi:
            for a in range(A - 1):
                pi_thr[s, a] = np.int64(np.ceil(pi_cum[s, a] * _TWO53F))


@nb.njit(cache=True)
def lu_policy_value(pi, P, r, gamma, rho, S, A):  # pragma: no cover - compiled
    r""":math:`\rho^\top v^\pi`, :math:`v^\pi = (I-\gamma P_\pi)^{-1} r_\pi` by one LU (NaN if singular)."""
    X = np.zeros((S, S))
    rb = np.empty(S)
    for s in range(S):
        acc = 0.0
        for a in range(A):
            p = pi[s, a]
            acc += p * r[s, a]
            gp = gamma * p
            for t in range(S):
                X[s, t] -= gp * P[s, a, t]
        X[s, s] += 1.0
        rb[s] = acc
    ipiv = np.empty(S, dtype=np.int32)
    if getrf(X, ipiv) != 0:
        return np.nan
    getrs(X, ipiv, rb, False)
    val = 0.0
    for s in range(S):
        val += rho[s] * rb[s]
    return val


@nb.njit(cache=True, inline="always")
def sample_trajectory(path_seed, len_seed, gamma, lg, A, rho_cum, pi_cum, pi_thr, lin_pi, ptr, idx, cum, tr_thr, tr_idx,
            lin_tr, r, sbuf, abuf, rbuf):  # pragma: no cover - compiled
    """One trajectory of ``TabularOracle.sample``: its Geom(1-gamma) length ``L`` from ``len_seed`` (``lg =
    log gamma``), its path from ``path_seed``; states, actions and rewards go to ``sbuf, abuf, rbuf`` (grown
    when ``L`` exceeds them). Returns ``(L, sbuf, abuf, rbuf)``."""
    _, u = splitmix_uniform(len_seed)
    L = 1 if gamma <= 0.0 else 1 + np.int64(np.floor(np.log1p(-u) / lg))
    if L > sbuf.shape[0]:
        sbuf = np.empty(2 * L, dtype=np.int64)
        abuf = np.empty(2 * L, dtype=np.int64)
        rbuf = np.empty(2 * L)
    x, s = first_state(path_seed, -1, rho_cum)
    for t in range(L):
        s0 = s
        x, a, s = transition_step(x, s, A, pi_cum, pi_thr, lin_pi, ptr, idx, cum, tr_thr, tr_idx, lin_tr)
        sbuf[t] = s0
        abuf[t] = a
        rbuf[t] = r[s0, a]
    return L, sbuf, abuf, rbuf


@nb.njit(cache=True, inline="always")
def trajectory_stats(sbuf, abuf, rbuf, L, acc, ws):  # pragma: no cover - compiled
    r"""Reward-to-go :math:`G_t` in place of ``rbuf[:L]``; ``acc[s, a] = \sum_t G_t[s_t=s, a_t=a]`` and
    ``ws[s] = \sum_t G_t[s_t=s]``, so the GPOMDP gradient is ``acc - ws[:, None] * pi``."""
    g = 0.0
    for t in range(L - 1, -1, -1):  # reward-to-go, accumulated from the end
        g += rbuf[t]
        rbuf[t] = g
    acc[:, :] = 0.0
    ws[:] = 0.0
    for t in range(L):
        acc[sbuf[t], abuf[t]] += rbuf[t]
        ws[sbuf[t]] += rbuf[t]


@nb.njit(cache=True, parallel=True)
def pg_softmax_block(subseeds, t0, theta, alpha, decay, batch, record_every, S, A, gamma, rho_cum, ptr, idx, cum,
                     tr_thr, tr_idx, r, P, rho, rec_theta, rec_value, alive):  # pragma: no cover - compiled
    """Steps ``t0 .. t0 + subseeds.shape[1] - 1`` of every live run ``b`` (``theta[b]`` updated in place); the
    iterate after step ``k`` (``(k+1) % record_every == 0``) goes to ``rec_theta[b, (k+1)//record_every]`` with its
    exact value in ``rec_value``. A run whose ``theta`` stops being finite is marked ``alive[b] = False`` and left
    (its later records stay NaN)."""
    B, K = subseeds.shape
    dim = S * A
    lin_pi = A <= LINEAR_MAX
    lin_tr = tr_idx.shape[0] > 0
    lg = np.log(gamma) if gamma > 0.0 else 0.0
    pi_w = A - 1 if lin_pi else 0
    for b in nb.prange(B):
        if not alive[b]:
            continue
        th = theta[b]
        pi = np.empty((S, A))
        pi_cum = np.empty((S, A))
        pi_thr = np.empty((S if lin_pi else 0, pi_w), dtype=np.int64)
        acc = np.empty((S, A))
        ws = np.empty(S)
        dsum = np.empty(dim)
        sbuf = np.empty(64, dtype=np.int64)
        abuf = np.empty(64, dtype=np.int64)
        rbuf = np.empty(64)
        for kk in range(K):
            k = t0 + kk
            softmax_tables(th, S, A, pi, pi_cum, pi_thr, lin_pi)
            sub = subseeds[b, kk]
            path = trajectory_seeds_compiled(sub, batch, 0)
            lens = trajectory_seeds_compiled(sub, batch, 1)
            dsum[:] = 0.0
            for i in range(batch):
                L, sbuf, abuf, rbuf = sample_trajectory(path[i], lens[i], gamma, lg, A, rho_cum, pi_cum, pi_thr, lin_pi, ptr,
                                              idx, cum, tr_thr, tr_idx, lin_tr, r, sbuf, abuf, rbuf)
                trajectory_stats(sbuf, abuf, rbuf, L, acc, ws)
                for s in range(S):
                    for a in range(A):
                        dsum[s * A + a] += acc[s, a] - ws[s] * pi[s, a]
            step = alpha * 2.0 / (k + 2) if decay else alpha
            ok = True
            for j in range(dim):
                th[j] = th[j] + step * (dsum[j] / batch)
                ok = ok and np.isfinite(th[j])
            if not ok:
                alive[b] = False
                break
            if (k + 1) % record_every == 0:
                m = (k + 1) // record_every
                rec_theta[b, m] = th
                softmax_tables(th, S, A, pi, pi_cum, pi_thr, lin_pi)
                rec_value[b, m] = lu_policy_value(pi, P, r, gamma, rho, S, A)
