r"""Batched GAE over padded rollouts: NumPy reference and Numba twin (kernel ``gae_batch``).

``adv[i, t] = sum_k (lambda disc)^k delta_{i, t+k}`` with ``delta_{i,t} = r_{i,t} + disc_{i,t} vs_{i,t+1} - vs_{i,t}``;
the per-step discounts ``disc[i, t]`` come from :func:`mdpgrad.estimators.batch_discounts` (``gamma`` when
bootstrapping, ``1``/``0`` on geometric horizons, ``0`` at the last step of a terminated trajectory).
Entries past each length are 0.
"""

from __future__ import annotations

import numba as nb
import numpy as np


def gae_batch_numpy(rewards, vs, lengths, disc, lam):
    """Vectorized over trajectories, a loop over time."""
    n, T = rewards.shape
    mask = np.arange(T)[None, :] < lengths[:, None]
    delta = np.where(mask, rewards + disc * vs[:, 1:] - vs[:, :-1], 0.0)
    out = np.zeros((n, T))
    acc = np.zeros(n)
    for k in range(T - 1, -1, -1):
        acc = delta[:, k] + lam * disc[:, k] * acc
        out[:, k] = acc
    return np.where(mask, out, 0.0)


@nb.njit(cache=True, parallel=True)
def _gae_batch(rewards, vs, lengths, disc, lam, out):  # pragma: no cover - compiled
    n = rewards.shape[0]
    for i in nb.prange(n):
        acc = 0.0
        for t in range(lengths[i] - 1, -1, -1):
            delta = rewards[i, t] + disc[i, t] * vs[i, t + 1] - vs[i, t]
            acc = delta + lam * disc[i, t] * acc
            out[i, t] = acc


def gae_batch_numba(rewards, vs, lengths, disc, lam):
    """Parallel over trajectories, valid steps only."""
    out = np.zeros(rewards.shape)
    _gae_batch(np.ascontiguousarray(rewards), np.ascontiguousarray(vs), np.asarray(lengths),
               np.ascontiguousarray(disc, dtype=np.float64), lam, out)
    return out
