r"""The newsvendor problem: score-function vs pathwise (HDPO-style) gradients of a Gaussian ordering policy.

Paper: "Deep Reinforcement Learning for Inventory Networks: Toward Reliable Policy Optimization" (HDPO,
hindsight differentiable policy optimization). Order ``q``, demand ``D``; cost
:math:`c(q, D) = h(q - D)^+ + p(D - q)^+`, minimized at :math:`q^* = F_D^{-1}(p/(p+h))`. For the
policy :math:`q = \theta + \sigma\xi`, :math:`\xi\sim N(0,1)`, two unbiased estimates of
:math:`\frac{d}{d\theta}\mathbb{E}\,c`:

* score function (likelihood ratio): :math:`c(q, D)\,\xi/\sigma`;
* pathwise (hindsight derivative through the known cost): :math:`\partial_q c = h\,1[D < q] - p\,1[D > q]`.

HDPO runs SGD with the pathwise derivative: :math:`\theta_{t+1} = \theta_t - \frac{c}{t+1}\partial_q c(\theta_t, D_t)`.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_finite
from ..errors import InvalidInputError

__all__ = ["newsvendor_cost", "newsvendor_gradient_samples", "hdpo_newsvendor"]


def _costs(holding, shortage):
    for name, v in (("holding", holding), ("shortage", shortage)):
        if not (np.isfinite(v) and v > 0):
            raise InvalidInputError(f"{name} = {v!r} must be a positive finite cost per unit.")
    return float(holding), float(shortage)


def _demand(demand):
    D = as_float_array(demand, "demand", ndim=1)
    check_finite(D, "demand")
    return D


def newsvendor_cost(q, demand, *, holding: float, shortage: float) -> np.ndarray:
    """``h (q - D)^+ + p (D - q)^+`` elementwise."""
    h, p = _costs(holding, shortage)
    q = np.asarray(q, dtype=np.float64)
    D = np.asarray(demand, dtype=np.float64)
    return h * np.maximum(q - D, 0) + p * np.maximum(D - q, 0)


def newsvendor_gradient_samples(theta: float, sigma: float, demand, xi, *, holding: float, shortage: float):
    """Per-sample ``(score, pathwise)`` estimates of ``d/dtheta E c(theta + sigma xi, D)`` for paired draws
    ``demand[i]``, ``xi[i]`` (module docstring)."""
    h, p = _costs(holding, shortage)
    if not (np.isfinite(sigma) and sigma > 0):
        raise InvalidInputError(f"sigma = {sigma!r} must be a positive finite policy noise scale.")
    if not np.isfinite(theta):
        raise InvalidInputError(f"theta = {theta!r} must be finite.")
    D = _demand(demand)
    xi = as_float_array(xi, "xi", ndim=1)
    if xi.shape != D.shape:
        raise InvalidInputError(f"xi: shape {xi.shape} differs from demand's {D.shape}.")
    q = theta + sigma * xi
    cost = h * np.maximum(q - D, 0) + p * np.maximum(D - q, 0)
    return cost * xi / sigma, h * (D < q) - p * (D > q)


def hdpo_newsvendor(theta0: float, demand, *, holding: float, shortage: float, step_scale: float) -> np.ndarray:
    """HDPO's SGD on the order level with steps ``step_scale / (t + 1)``, one demand per step; returns the
    iterates ``theta_1..theta_T``."""
    h, p = _costs(holding, shortage)
    if not (np.isfinite(step_scale) and step_scale > 0):
        raise InvalidInputError(f"step_scale = {step_scale!r} must be a positive finite float.")
    D = _demand(demand)
    th, traj = float(theta0), np.empty(D.size)
    for t in range(D.size):
        th -= step_scale / (t + 1) * (h * (D[t] < th) - p * (D[t] > th))
        traj[t] = th
    return traj
