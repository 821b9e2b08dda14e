r"""PPO's surrogate objectives for a softmax policy over ``K`` actions in one state (a bandit batch).

Paper: J. Schulman, F. Wolski, P. Dhariwal, A. Radford and O. Klimov, "Proximal Policy Optimization
Algorithms" (2017). With :math:`\rho_i = \pi_\theta(a_i)/\pi_{\theta_{old}}(a_i)` and advantages
:math:`\hat A_i`,

.. math::
    L^{CPI}(\theta) = \frac1n\sum_i\rho_i\hat A_i,\qquad
    L^{CLIP}(\theta) = \frac1n\sum_i\min\bigl(\rho_i\hat A_i,\ \mathrm{clip}(\rho_i, 1-\epsilon, 1+\epsilon)\hat A_i\bigr).

Gradients (softmax): :math:`\nabla\rho_i = \rho_i(e_{a_i} - \pi_\theta)`; the clipped objective's gradient keeps
sample ``i`` unless the ``min`` picks the constant clipped term (:math:`\hat A_i > 0, \rho_i > 1+\epsilon` or
:math:`\hat A_i < 0, \rho_i < 1-\epsilon`). At :math:`\theta = \theta_{old}` both equal the score-function
policy-gradient estimate :math:`\frac1n\sum_i\hat A_i(e_{a_i} - \pi)`.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_finite
from ..errors import InvalidInputError

__all__ = ["ppo_surrogates", "ppo_surrogate_grads"]


def _softmax(theta):
    z = np.exp(theta - theta.max())
    return z / z.sum()


def _inputs(theta, theta_old, actions, adv, eps):
    theta = as_float_array(theta, "theta", ndim=1)
    theta_old = as_float_array(theta_old, "theta_old", ndim=1)
    check_finite(theta, "theta")
    check_finite(theta_old, "theta_old")
    if theta_old.shape != theta.shape:
        raise InvalidInputError(f"theta_old: shape {theta_old.shape} differs from theta's {theta.shape}.")
    a = np.asarray(actions)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise InvalidInputError(f"actions: expected a 1-d integer array, got dtype {a.dtype}, shape {a.shape}.")
    if a.size and (a.min() < 0 or a.max() >= theta.size):
        bad = int(a[(a < 0) | (a >= theta.size)][0])
        raise InvalidInputError(f"actions: value {bad} is outside 0..{theta.size - 1}.")
    adv = as_float_array(adv, "adv", ndim=1)
    check_finite(adv, "adv")
    if adv.shape != a.shape:
        raise InvalidInputError(f"adv: shape {adv.shape} differs from actions' {a.shape}.")
    if not (np.isfinite(eps) and 0 < eps < 1):
        raise InvalidInputError(f"eps = {eps!r} must lie in (0, 1) (PPO's clip range).")
    return theta, theta_old, a, adv


def ppo_surrogates(theta, theta_old, actions, adv, *, eps: float, use_min: bool = True):
    """``(L^CPI, L^CLIP, rho)`` of the batch (module docstring). ``use_min=False`` returns the clipped
    term alone in place of ``L^CLIP`` (without PPO's ``min``: a documented wrong variant for controls)."""
    theta, theta_old, a, adv = _inputs(theta, theta_old, actions, adv, eps)
    rho = _softmax(theta)[a] / _softmax(theta_old)[a]
    cpi = rho * adv
    clipped = np.clip(rho, 1 - eps, 1 + eps) * adv
    clip = np.minimum(cpi, clipped) if use_min else clipped
    return float(cpi.mean()), float(clip.mean()), rho


def ppo_surrogate_grads(theta, theta_old, actions, adv, *, eps: float):
    """Analytic gradients ``(grad L^CPI, grad L^CLIP)`` with respect to the logits ``theta``."""
    theta, theta_old, a, adv = _inputs(theta, theta_old, actions, adv, eps)
    pi = _softmax(theta)
    rho = pi[a] / _softmax(theta_old)[a]
    dr = rho[:, None] * (np.eye(pi.size)[a] - pi[None, :])
    g_cpi = (adv[:, None] * dr).mean(0)
    active = ~(((adv > 0) & (rho > 1 + eps)) | ((adv < 0) & (rho < 1 - eps)))  # min keeps the unclipped term
    g_clip = (active[:, None] * adv[:, None] * dr).mean(0)
    return g_cpi, g_clip
