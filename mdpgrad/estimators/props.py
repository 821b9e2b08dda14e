r"""Adaptive (PROPS-style) action sampling that corrects the empirical action distribution toward the policy.

Paper: N. E. Corrado and J. P. Hanna, "On-Policy Policy Gradient Reinforcement Learning Without On-Policy
Sampling" (PROPS). In one state with policy :math:`\pi` over ``K`` actions, i.i.d. sampling leaves the
empirical distribution :math:`c_t/t` at total-variation distance :math:`O(t^{-1/2})` from :math:`\pi`. The
adaptive sampler draws action :math:`t+1` from

.. math::  \mu_t(a) \propto \pi(a)\exp\bigl(\kappa\,((t)\pi(a) - c_t(a))\bigr),

which up-weights under-sampled actions; its empirical distribution reaches :math:`O(t^{-1})`.
``kappa = 0`` is i.i.d. sampling.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_positive_int, check_simplex
from ..envs._rng import as_generator
from ..errors import InvalidInputError

__all__ = ["props_sampling_counts"]


def props_sampling_counts(pi, n: int, *, replicas: int, kappa: float, seed, check=None):
    """Run i.i.d. and adaptive sampling side by side for ``n`` draws on ``replicas`` independent copies.

    Returns ``(counts_iid, counts_adaptive, tv_iid, tv_adaptive)``: the final counts ``(replicas, K)`` and,
    at each ``t`` in ``check`` (sorted draw counts in 1..n), the mean over replicas of
    ``TV(c_t / t, pi)`` for both samplers.
    """
    pi = as_float_array(pi, "pi", ndim=1)
    check_simplex(pi, "pi")
    if np.any(pi <= 0):
        raise InvalidInputError(f"pi: entry {int(np.argmin(pi))} is {pi.min()}; the adaptive sampler needs pi > 0.")
    n = check_positive_int(n, "n")
    R = check_positive_int(replicas, "replicas")
    if not (np.isfinite(kappa) and kappa >= 0):
        raise InvalidInputError(f"kappa = {kappa!r} must be a finite float >= 0 (0: i.i.d. sampling).")
    check = set() if check is None else {int(t) for t in check}
    if any(t < 1 or t > n for t in check):
        raise InvalidInputError(f"check: every entry must lie in 1..n = {n}.")
    rng = as_generator(seed)
    K = pi.size
    c_iid, c_ad = np.zeros((R, K)), np.zeros((R, K))
    cum = np.cumsum(pi)
    tv_iid, tv_ad = [], []
    for t in range(1, n + 1):
        u = rng.random(R)
        a = np.minimum(np.searchsorted(cum, u, side="right"), K - 1)
        c_iid[np.arange(R), a] += 1
        logits = np.log(pi)[None, :] + kappa * ((t - 1) * pi[None, :] - c_ad)
        mu = np.exp(logits - logits.max(1, keepdims=True))
        mu /= mu.sum(1, keepdims=True)
        b = (rng.random((R, 1)) > np.cumsum(mu, 1)).sum(1)
        c_ad[np.arange(R), np.minimum(b, K - 1)] += 1
        if t in check:
            tv_iid.append(0.5 * np.abs(c_iid / t - pi).sum(1).mean())
            tv_ad.append(0.5 * np.abs(c_ad / t - pi).sum(1).mean())
    return c_iid, c_ad, np.asarray(tv_iid), np.asarray(tv_ad)
