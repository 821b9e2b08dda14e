r"""Scalar linear-quadratic control with a linear-Gaussian policy: exact objective and policy-gradient samples.

Standard result: the policy-gradient theorem (Sutton et al. 2000) for continuous states and actions, on
:math:`s' = a s + b u + w`, :math:`w\sim N(0,\sigma_w^2)`, policy :math:`u\sim N(ks, \sigma^2)`, reward
:math:`-(qs^2 + ru^2)`, :math:`s_0\sim N(0,\sigma_0^2)`, discount :math:`\gamma`. With :math:`c = (a+bk)^2`
and :math:`D = b^2\sigma^2 + \sigma_w^2`:

.. math::
    J(k) = -(q + rk^2)\Bigl[\frac{\sigma_0^2}{1-\gamma c} + \frac{\gamma D}{(1-\gamma)(1-\gamma c)}\Bigr]
           - \frac{r\sigma^2}{1-\gamma}\qquad(\gamma c < 1),

the value :math:`V(s) = -\alpha s^2 - \beta` with :math:`\alpha = (q + rk^2)/(1-\gamma c)`,
:math:`\beta = (\gamma\alpha D + r\sigma^2)/(1-\gamma)`, and
:math:`Q(s,u) = -(qs^2 + ru^2) - \gamma(\alpha((as+bu)^2 + \sigma_w^2) + \beta)`. The score of the gain is
:math:`\partial_k\log\pi(u|s) = (u - ks)s/\sigma^2`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_positive_int
from ..envs._rng import as_generator
from ..errors import InvalidInputError

__all__ = ["LQGaussian", "lq_gaussian_value", "lq_gaussian_gradient_samples"]


@dataclass(frozen=True)
class LQGaussian:
    """The instance's constants (module docstring)."""

    a: float = 0.9
    b: float = 0.5
    q: float = 1.0
    r: float = 0.1
    sigma: float = 0.5
    sigma_w: float = 0.3
    sigma0: float = 1.0
    gamma: float = 0.9


def _check(lq: LQGaussian, k: float):
    for name in ("q", "r", "sigma", "sigma_w", "sigma0"):
        v = getattr(lq, name)
        if not (np.isfinite(v) and v > 0):
            raise InvalidInputError(f"lq.{name} = {v!r} must be a positive finite float.")
    if not (0 < lq.gamma < 1):
        raise InvalidInputError(f"lq.gamma = {lq.gamma!r} must lie in (0, 1).")
    if not np.isfinite(k):
        raise InvalidInputError(f"k = {k!r} must be finite.")
    c = (lq.a + lq.b * k) ** 2
    if lq.gamma * c >= 1:
        raise InvalidInputError(f"k = {k}: gamma (a + b k)^2 = {lq.gamma * c:.3g} >= 1, the discounted second "
                                "moment diverges; choose a gain with gamma (a + b k)^2 < 1.")
    return c


def lq_gaussian_value(k: float, lq: LQGaussian = LQGaussian()) -> float:
    """Exact ``J(k)`` (module docstring)."""
    c = _check(lq, k)
    D = lq.b**2 * lq.sigma**2 + lq.sigma_w**2
    g = lq.gamma
    s_sum = lq.sigma0**2 / (1 - g * c) + g * D / ((1 - g) * (1 - g * c))
    return -(lq.q + lq.r * k**2) * s_sum - lq.r * lq.sigma**2 / (1 - g)


def lq_gaussian_gradient_samples(k: float, n: int, *, seed, lq: LQGaussian = LQGaussian(),
                                 score_scale: float = 1.0):
    """``n`` geometric-horizon trajectories; returns per-trajectory ``(g_gpomdp, g_pgt)``: GPOMDP
    :math:`\\sum_t\\mathrm{score}_t(G_t - V(s_t))` (reward-to-go with the closed-form value as baseline) and the
    policy-gradient-theorem form :math:`\\sum_t\\mathrm{score}_t A(s_t, u_t)` (closed-form advantage). Both
    have mean ``dJ/dk``. ``score_scale`` multiplies the score (1: the correct estimator; other values are
    documented wrong variants for negative controls, e.g. ``sigma**2`` drops the 1/sigma^2)."""
    c = _check(lq, k)
    n = check_positive_int(n, "n")
    if not np.isfinite(score_scale):
        raise InvalidInputError(f"score_scale = {score_scale!r} must be finite.")
    rng = as_generator(seed)
    a, b, q, r, sigma, sigma_w, gamma = lq.a, lq.b, lq.q, lq.r, lq.sigma, lq.sigma_w, lq.gamma
    alpha = (q + r * k**2) / (1 - gamma * c)
    beta = (gamma * alpha * (b**2 * sigma**2 + sigma_w**2) + r * sigma**2) / (1 - gamma)
    L = 1 + np.floor(np.log1p(-rng.random(n)) / np.log(gamma)).astype(int)
    s = lq.sigma0 * rng.standard_normal(n)
    T = int(L.max())
    scores, rewards, base, adv = (np.zeros((n, T)) for _ in range(4))
    for t in range(T):
        alive = t < L
        u = k * s + sigma * rng.standard_normal(n)
        scores[:, t] = np.where(alive, (u - k * s) * s / sigma**2 * score_scale, 0.0)
        rewards[:, t] = np.where(alive, -(q * s**2 + r * u**2), 0.0)
        base[:, t] = -(alpha * s**2 + beta)
        adv[:, t] = -(q * s**2 + r * u**2) - gamma * (alpha * ((a * s + b * u) ** 2 + sigma_w**2) + beta) - base[:, t]
        s = a * s + b * u + sigma_w * rng.standard_normal(n)
    rtg = np.cumsum(rewards[:, ::-1], axis=1)[:, ::-1]
    return np.sum(scores * (rtg - base), axis=1), np.sum(scores * adv, axis=1)
