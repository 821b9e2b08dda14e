r"""The unbiased random-horizon Q-sampling policy-gradient estimator.

Zhang, Koppel, Zhu, Başar (2020), "Global Convergence of Policy Gradient Methods to (Almost)
Locally Optimal Policies" (also Paternain, Bedi, Koppel, Ribeiro): draw
:math:`L_1, L_2 \sim \mathrm{Geom}(1-\gamma)` on :math:`\{1,2,\dots\}` independently of the path,
run the policy for :math:`L_1 + L_2 - 1` steps, and with :math:`t^* = L_1 - 1`,

.. math::

    \hat g = \frac{1}{1-\gamma}\,\nabla_\theta\log\pi_\theta(a_{t^*}|s_{t^*})\,\hat Q,\qquad
    \hat Q = \sum_{k=t^*}^{t^*+L_2-1} r_k .

:math:`P(t^*=t) = (1-\gamma)\gamma^t`, so :math:`s_{t^*}\sim d^\pi_\rho` exactly, and
:math:`\mathbb{E}[\hat Q|s_{t^*},a_{t^*}] = \sum_j P(L_2>j)\,\mathbb{E}r_{t^*+j} = Q^\pi(s,a)`;
by the policy-gradient theorem :math:`\mathbb{E}\hat g = \nabla_\theta V^{\pi_\theta}(\rho)`.
"""

from __future__ import annotations

import numpy as np

from ..mdp import as_mdp
from ..rollouts import geometric_lengths, sample_trajectories, trajectory_seeds
from ..validation import check_positive_int
from .core import score_policy, score_sum

__all__ = ["random_horizon_gradient_samples"]


def random_horizon_gradient_samples(mdp, theta, n: int, parametrization: str = "softmax", *, phi=None,
                                    seed=0, backend="auto") -> np.ndarray:
    """``n`` independent samples ``(n, *theta.shape)`` of the estimator above."""
    m = as_mdp(mdp)
    n = check_positive_int(n, "n")
    pi = score_policy(theta, parametrization, phi)
    L1 = geometric_lengths(trajectory_seeds(seed, n, key=11), m.gamma)
    L2 = geometric_lengths(trajectory_seeds(seed, n, key=12), m.gamma)
    ro = sample_trajectories(m, pi, n, horizon="geometric", lengths=L1 + L2 - 1, seed=seed, backend=backend)
    T = ro.actions.shape[1]
    t = np.arange(T)[None, :]
    tstar = (L1 - 1)[:, None]
    in_q = (t >= tstar) & (t < tstar + L2[:, None])
    Q = np.where(in_q, ro.rewards, 0.0).sum(axis=1)
    W = np.where(t == tstar, Q[:, None] / (1.0 - m.gamma), 0.0)
    return score_sum(ro, W, theta, parametrization, phi=phi)
