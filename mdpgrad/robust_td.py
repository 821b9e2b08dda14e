r"""Stochastic comparison of semi-gradient TD(0) and the stochastic Huber saddle point under heavy-tailed rewards.

Paper: "Robust Losses for Learning Value Functions". The Huber Bellman error has the saddle form
:math:`\min_\theta\max_{|h|\le\tau}\sum_s d(s)(h(s)\delta_\theta(s) - h(s)^2/2)`; its stochastic gradient
method keeps a tabular dual ``h[s]`` and runs, on each sampled transition ``(s, r, s')``,

.. math::
    h(s) \leftarrow \mathrm{clip}\bigl(h(s) + \beta(\delta - h(s)), -\tau, \tau\bigr),\qquad
    \theta \leftarrow \theta + \alpha\,h(s)\,(\phi(s) - \gamma\phi(s')),

against semi-gradient TD(0) :math:`\theta \leftarrow \theta + \alpha\,\delta\,\phi(s)`, both with
:math:`\delta = r + \gamma\phi(s')^\top\theta - \phi(s)^\top\theta`. The dual is bounded, so a single
heavy-tailed reward moves the saddle iterate by at most :math:`\alpha\tau\|\phi(s)-\gamma\phi(s')\|`.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_finite, check_gamma, check_positive_int, check_simplex
from .envs._rng import as_generator
from .errors import InvalidInputError

__all__ = ["td0_and_huber_saddle"]


def td0_and_huber_saddle(P, r, phi, gamma: float, *, replicas: int, n_steps: int, step_size: float,
                         dual_step: float = 0.1, dual_box: float = 1.0, noise_df: float = 1.5, seed):
    """Run both methods on the same sampled Markov-chain transitions (``P[s, s']``, mean rewards ``r[s]``
    plus Student-t(``noise_df``) noise) for ``replicas`` independent chains started uniformly at random;
    returns the final ``(theta_td, theta_huber)``, each ``(replicas, d)`` (module docstring)."""
    P = as_float_array(P, "P", ndim=2)
    check_simplex(P, "P")
    S = P.shape[0]
    if P.shape != (S, S):
        raise InvalidInputError(f"P: shape {P.shape}, expected a square chain (S, S).")
    r = as_float_array(r, "r", ndim=1)
    phi = as_float_array(phi, "phi", ndim=2)
    check_finite(r, "r")
    check_finite(phi, "phi")
    if r.shape != (S,) or phi.shape[0] != S:
        raise InvalidInputError(f"r {r.shape} and phi {phi.shape}: expected ({S},) and ({S}, d).")
    g = check_gamma(gamma)
    R = check_positive_int(replicas, "replicas")
    T = check_positive_int(n_steps, "n_steps")
    for name, v in (("step_size", step_size), ("dual_step", dual_step), ("dual_box", dual_box),
                    ("noise_df", noise_df)):
        if not (np.isfinite(v) and v > 0):
            raise InvalidInputError(f"{name} = {v!r} must be a positive finite float.")
    rng = as_generator(seed)
    cumP = np.cumsum(P, axis=1)
    s = rng.integers(0, S, R)
    th_td = np.zeros((R, phi.shape[1]))
    th_hb = np.zeros((R, phi.shape[1]))
    h = np.zeros((R, S))
    idx = np.arange(R)
    for _ in range(T):
        u = rng.random(R)
        s1 = np.minimum((u[:, None] > cumP[s]).sum(1), S - 1)
        rew = r[s] + rng.standard_t(noise_df, R)
        x, x1 = phi[s], phi[s1]
        d_td = rew + g * np.sum(x1 * th_td, 1) - np.sum(x * th_td, 1)
        th_td += step_size * d_td[:, None] * x
        d_hb = rew + g * np.sum(x1 * th_hb, 1) - np.sum(x * th_hb, 1)
        h[idx, s] = np.clip(h[idx, s] + dual_step * (d_hb - h[idx, s]), -dual_box, dual_box)
        th_hb += step_size * h[idx, s][:, None] * (x - g * x1)
        s = s1
    return th_td, th_hb
