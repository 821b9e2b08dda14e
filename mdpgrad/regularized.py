r"""Entropy-regularized MDPs: soft evaluation and the soft optimum.

For a temperature :math:`\tau \ge 0` the regularized value of a policy is

.. math::

    V_\tau^\pi(s) = \mathbb{E}\Big[\sum_t \gamma^t \big(r(s_t, a_t) - \tau\log\pi(a_t|s_t)\big)\Big],
    \qquad
    Q_\tau^\pi(s, a) = r(s, a) + \gamma \sum_{s'} P(s'|s, a) V_\tau^\pi(s'),

so :math:`V_\tau^\pi = (I - \gamma P_\pi)^{-1}(r_\pi + \tau\mathcal{H}(\pi))` (convention of Cen, Cheng,
Chen, Wei, Chi 2021, "Fast global convergence of natural policy gradient methods with entropy
regularization"). The regularized optimum solves the soft Bellman equation

.. math::

    Q_\tau^\star = r + \gamma P V_\tau^\star, \qquad
    V_\tau^\star(s) = \tau \log\sum_a \exp(Q_\tau^\star(s, a)/\tau), \qquad
    \pi_\tau^\star(a|s) \propto \exp(Q_\tau^\star(s, a)/\tau),

a gamma-contraction in sup norm, solved here by soft value iteration to a certified tolerance
(``||V_k - V*|| <= gamma/(1-gamma) ||V_k - V_{k-1}||``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.special

from .exact import check_policy, evaluate
from .mdp import as_mdp
from .validation import check_nonnegative_float, check_positive_float, check_positive_int

__all__ = ["SoftEvaluation", "SoftOptimum", "soft_evaluate", "soft_optimum", "check_tau"]


def check_tau(tau, *, allow_zero: bool = True) -> float:
    """Return ``tau`` as a float after checking it is finite and >= 0 (> 0 unless ``allow_zero``)."""
    if allow_zero:
        return check_nonnegative_float(tau, "tau", what="entropy temperature")
    return check_positive_float(tau, "tau", what="entropy temperature")


@dataclass(frozen=True)
class SoftEvaluation:
    """Regularized evaluation of a policy: ``v``, ``q`` (S, A), ``value = rho . v``."""

    v: np.ndarray
    q: np.ndarray
    value: float


@dataclass(frozen=True)
class SoftOptimum:
    """The entropy-regularized optimum: ``v``, ``q``, ``policy``, ``value``, sweeps, certified error."""

    v: np.ndarray
    q: np.ndarray
    policy: np.ndarray
    value: float
    n_iter: int
    error_bound: float


def soft_evaluate(mdp, pi, tau: float, *, check: bool = True) -> SoftEvaluation:
    """Exact regularized values ``V_tau^pi``, ``Q_tau^pi`` (module docstring) by one linear solve."""
    m = as_mdp(mdp)
    tau = check_tau(tau)
    if check:
        pi = check_policy(pi, *m.shape)
    ev = evaluate(m, pi, check=False, tau=tau)
    return SoftEvaluation(v=ev.v, q=ev.q, value=ev.value)


def soft_optimum(mdp, tau: float, *, tol: float = 1e-12, max_iter: int = 100_000) -> SoftOptimum:
    r"""Solve the soft Bellman equation by soft value iteration (``tau > 0``).

    Stops when the certified bound ``gamma/(1-gamma) ||V_k - V_{k-1}||_inf <= tol``; the
    returned ``error_bound`` is that bound. ``tau -> 0`` recovers the unregularized optimum.
    """
    m = as_mdp(mdp)
    tau = check_tau(tau, allow_zero=False)
    tol = check_positive_float(tol, "tol", what="sup-norm error on V")
    max_iter = check_positive_int(max_iter, "max_iter")
    g = m.gamma
    v = np.zeros(m.n_states)
    err = np.inf
    n = 0
    for n in range(1, max_iter + 1):
        q = m.r + g * (m.P @ v)
        v_new = tau * scipy.special.logsumexp(q / tau, axis=1)
        err = g / (1 - g) * float(np.max(np.abs(v_new - v))) if g > 0 else 0.0
        v = v_new
        if err <= tol:
            break
    q = m.r + g * (m.P @ v)
    pi = scipy.special.softmax(q / tau, axis=1)
    return SoftOptimum(v=v, q=q, policy=pi, value=float(m.rho @ v), n_iter=n, error_bound=err)
