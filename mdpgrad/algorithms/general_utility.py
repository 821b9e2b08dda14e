r"""Policy gradient for a general (concave) utility of the occupancy measure: the state-occupancy entropy.

Paper: "Reinforcement Learning with General Utilities: Simpler Variance Reduction and Large State-Action
Space" (normalized policy gradient with recursive momentum). For :math:`F(\lambda^\pi)` with
:math:`\lambda^\pi` the occupancy measure, the chain rule gives
:math:`\nabla_\theta F(\lambda^{\pi_\theta}) = \nabla_\theta J_{r_F}(\theta)`, the ordinary policy gradient
with the pseudo-reward :math:`r_F = \partial F/\partial\lambda`. For the entropy of the normalized state
occupancy :math:`d(s) = (1-\gamma)\sum_a\lambda(s,a)`, :math:`F = -\sum_s d\log d` and
:math:`r_F(s, a) = -(1-\gamma)(\log d(s) + 1)`.

The method (:func:`occupancy_entropy_momentum_pg`): at iteration ``t`` estimate ``d`` by visit counts of
``n_traj`` geometric-horizon rollouts, form the GPOMDP gradient with the pseudo-reward, update the momentum
:math:`m_t = (1-\eta_t)m_{t-1} + \eta_t g_t` with :math:`\eta_t = 2/(t+2)`, and step
:math:`\theta_{t+1} = \theta_t + \frac{2}{t+2}\,m_t/\|m_t\|` (normalized).
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_finite, check_positive_int
from ..envs._rng import as_generator
from ..errors import InvalidInputError
from ..mdp import as_mdp
from ..policies import softmax

__all__ = ["entropy_pseudo_reward", "occupancy_entropy_momentum_pg"]


def entropy_pseudo_reward(d, gamma: float, n_actions: int) -> np.ndarray:
    """``r_F[s, a] = -(1 - gamma)(log d(s) + 1)`` (module docstring); ``d`` (an occupancy or a floored
    estimate of one) must be finite and strictly positive."""
    d = as_float_array(d, "d", ndim=1)
    check_finite(d, "d")
    if np.any(d <= 0):
        raise InvalidInputError(f"d: entry {int(np.argmin(d))} is {d.min()}; the entropy's gradient needs d > 0 "
                                "(floor the estimate first).")
    n_actions = check_positive_int(n_actions, "n_actions")
    return np.repeat((-(np.log(d) + 1.0) * (1 - gamma))[:, None], n_actions, axis=1)


def occupancy_entropy_momentum_pg(mdp, theta0, n_iter: int, *, n_traj: int = 200, seed,
                                  d_floor: float = 1e-6) -> np.ndarray:
    """Run the method of the module docstring; returns the iterates ``theta[t]`` for t = 0..n_iter."""
    from ..estimators import reward_to_go, score_sum
    from ..rollouts import sample_trajectories

    m = as_mdp(mdp)
    S, A = m.shape
    th = as_float_array(theta0, "theta0", ndim=2).copy()
    check_finite(th, "theta0")
    if th.shape != (S, A):
        raise InvalidInputError(f"theta0: shape {th.shape}, expected {(S, A)}.")
    n_iter = check_positive_int(n_iter, "n_iter")
    n_traj = check_positive_int(n_traj, "n_traj")
    if not (0 < d_floor < 1 / S):
        raise InvalidInputError(f"d_floor = {d_floor!r} must lie in (0, 1/S).")
    rng = as_generator(seed)
    mom = np.zeros((S, A))
    out = [th.copy()]
    for t in range(n_iter):
        ro = sample_trajectories(m, softmax(th), n_traj, seed=int(rng.integers(2**31)))
        T = ro.actions.shape[1]
        st = np.where(ro.mask, ro.states[:, :T], 0)
        counts = np.bincount(st.ravel(), weights=ro.mask.ravel().astype(float), minlength=S)
        d_hat = np.maximum(counts / counts.sum(), d_floor)  # floored visit frequencies (not renormalized)
        r_F = entropy_pseudo_reward(d_hat, m.gamma, A)
        W = reward_to_go(r_F[st, np.where(ro.mask, ro.actions, 0)] * ro.mask, ro.discount)
        g = score_sum(ro, W, th).mean(0)
        eta = 2.0 / (t + 2)
        mom = (1 - eta) * mom + eta * g
        th = th + 2.0 / (t + 2) * mom / max(np.linalg.norm(mom), 1e-12)
        out.append(th.copy())
    return np.array(out)
