r"""Numba kernels for batched trajectory sampling (see :mod:`mdpgrad.rollouts`).

Random numbers: every trajectory ``i`` owns a SplitMix64 stream (Steele, Lea, Flood 2014)
seeded with ``seeds[i]`` (derived from one :class:`numpy.random.SeedSequence`). A draw is

.. math::

    x \leftarrow x + \mathtt{0x9E3779B97F4A7C15},\quad
    z = \mathrm{mix}(x),\quad u = \lfloor z / 2^{11}\rfloor \cdot 2^{-53} \in [0, 1),

so trajectory ``i`` sees the same numbers whatever thread runs it: results do not depend
on the thread count. The NumPy reference in :mod:`mdpgrad.rollouts` runs the same
generator vectorized over trajectories and gives bit-identical arrays.

Sampling is by inverse CDF on precomputed cumulative rows: the policy as dense rows
``pi_cum[s, :]`` and the transitions in CSR form over the non-zero entries of
``P[s, a, :]`` (``ptr``, ``idx``, ``cum``), found by binary search. The last cumulative
entry of every row is stored as 2.0, so a row summing to ``1 - 1e-8`` (the validation
tolerance) can never fall off its end.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO53 = 1.0 / 9007199254740992.0


@nb.njit(cache=True, inline="always")
def _mix(x):  # pragma: no cover - compiled
    z = x
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(cache=True, inline="always")
def _search(cum, lo, hi, u):  # pragma: no cover - compiled
    """Smallest ``k`` in ``[lo, hi)`` with ``u < cum[k]`` (``cum`` non-decreasing, last entry 2)."""
    while lo < hi - 1:
        mid = (lo + hi) >> 1
        if u < cum[mid - 1]:
            hi = mid
        else:
            lo = mid
    return lo


@nb.njit(cache=True, parallel=True)
def rollout_kernel(seeds, lengths, start, rho_cum, pi_cum, ptr, idx, cum, r, absorbing, use_absorbing,
                   states, actions, rewards, out_len):  # pragma: no cover - compiled
    """Sample ``N`` trajectories in parallel; trajectory ``i`` runs ``lengths[i]`` steps or
    until it enters a state with ``absorbing[s]`` (when ``use_absorbing``).

    ``states[i, t]`` for ``t <= out_len[i]`` (the state after the last action included),
    ``actions[i, t]`` and ``rewards[i, t]`` for ``t < out_len[i]``; the rest is padded with
    ``-1`` / ``0.0`` here (so the caller may pass ``np.empty`` arrays). Draw order per step: action uniform, then next-state uniform.
    ``start[i] >= 0`` fixes the initial state (else it is drawn from ``rho_cum`` with the
    first uniform of the stream).
    """
    N = seeds.shape[0]
    S = rho_cum.shape[0]
    A = pi_cum.shape[1]
    for i in nb.prange(N):
        x = seeds[i]
        if start[i] >= 0:
            s = start[i]
        else:
            x = x + _GOLDEN
            u = (_mix(x) >> _S11) * _TWO53
            s = _search(rho_cum, 0, S, u)
        L = lengths[i]
        t = 0
        while t < L:
            if use_absorbing and absorbing[s]:
                break
            states[i, t] = s
            x = x + _GOLDEN
            u = (_mix(x) >> _S11) * _TWO53
            a = _search(pi_cum[s], 0, A, u)
            actions[i, t] = a
            rewards[i, t] = r[s, a]
            x = x + _GOLDEN
            u = (_mix(x) >> _S11) * _TWO53
            row = s * A + a
            k = _search(cum, ptr[row], ptr[row + 1], u)
            s = idx[k]
            t += 1
        states[i, t] = s
        out_len[i] = t
        for k in range(t + 1, states.shape[1]):
            states[i, k] = -1
        for k in range(t, actions.shape[1]):
            actions[i, k] = -1
            rewards[i, k] = 0.0


@nb.njit(cache=True, parallel=True)
def rollout_count_kernel(seeds, lengths, start, rho_cum, pi_cum, ptr, idx, cum, r, absorbing,
                         use_absorbing, out_len, out_return):  # pragma: no cover - compiled
    """The same sampler without storing paths: per-trajectory length and undiscounted return
    (used by the throughput benchmark and by value estimates that need no per-step data)."""
    N = seeds.shape[0]
    S = rho_cum.shape[0]
    A = pi_cum.shape[1]
    for i in nb.prange(N):
        x = seeds[i]
        if start[i] >= 0:
            s = start[i]
        else:
            x = x + _GOLDEN
            u = (_mix(x) >> _S11) * _TWO53
            s = _search(rho_cum, 0, S, u)
        L = lengths[i]
        t = 0
        g = 0.0
        while t < L:
            if use_absorbing and absorbing[s]:
                break
            x = x + _GOLDEN
            u = (_mix(x) >> _S11) * _TWO53
            a = _search(pi_cum[s], 0, A, u)
            g += r[s, a]
            x = x + _GOLDEN
            u = (_mix(x) >> _S11) * _TWO53
            row = s * A + a
            k = _search(cum, ptr[row], ptr[row + 1], u)
            s = idx[k]
            t += 1
        out_len[i] = t
        out_return[i] = g


@nb.njit(cache=True, parallel=True)
def accumulate_kernel(states, actions, lengths, W, S, A, acc, ws):  # pragma: no cover - compiled
    """``acc[i, s, a] += W[i, t]`` and ``ws[i, s] += W[i, t]`` over the valid steps ``t < lengths[i]``
    (the sums behind every score-function estimator, without touching the padding)."""
    n = lengths.shape[0]
    for i in nb.prange(n):
        for t in range(lengths[i]):
            s = states[i, t]
            a = actions[i, t]
            acc[i, s, a] += W[i, t]
            ws[i, s] += W[i, t]
