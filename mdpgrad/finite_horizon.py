r"""Finite-horizon MDPs: exact evaluation, backward induction, and simultaneous vs dynamic PG.

For a :class:`~mdpgrad.FiniteHorizonMDP` with ``P[h, s, a, s']``, ``r[h, s, a]`` and a
non-stationary policy ``pi[h, s, a]`` (h = 0..H-1):

.. math::

    V_H = 0,\quad Q_h(s,a) = r_h(s,a) + \sum_{s'}P_h(s'|s,a)V_{h+1}(s'),\quad V_h(s) = \sum_a\pi_h(a|s)Q_h(s,a),

    d_0 = \rho,\quad d_{h+1}(s') = \sum_{s,a} d_h(s)\pi_h(a|s)P_h(s'|s,a),

and, for softmax logits ``theta[h, s, a]``, the exact gradient of :math:`J = \rho^\top V_0` is
:math:`\partial J/\partial\theta_{h,s,a} = d_h(s)\pi_h(a|s)(Q_h(s,a) - V_h(s))` (no discount, no
``1/(1-gamma)``). The optimum comes from backward induction (``V*_h = max_a Q*_h``).

Two exact softmax policy-gradient schemes (Klein, Weissmann, Doring, "Beyond Stationarity:
Convergence Analysis of Stochastic Softmax Policy Gradient Methods"):

* **simultaneous PG** -- gradient ascent on all ``theta_h`` at once on ``J``;
* **dynamic PG** -- epochs backward in time: for h = H-1, ..., 0, fix the already trained
  ``pi_{h+1..H-1}`` and run gradient ascent on the one-step objective
  :math:`J_h(\theta_h) = \sum_s\mu(s)\sum_a\pi_{\theta_h}(a|s)Q_h(s,a)` (``mu`` uniform) until every state's
  gap :math:`\max_a Q_h(s,a) - V_h(s) \le \epsilon/H`. By induction
  :math:`V^*_h - V_h \le (H-h)\epsilon/H` in every state (``V*_h - V_h = [max Q*_h - max Q_h] + [max Q_h -
  V_h] <= ||V*_{h+1} - V_{h+1}||_inf + epsilon/H``), so the final policy is epsilon-optimal in sup norm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidInputError, InvalidMDPError, InvalidPolicyError
from .kernels.finite_horizon import dynamic_pg_numba, simultaneous_pg_numba
from .mdp import FiniteHorizonMDP
from .policies import softmax
from .validation import as_float_array, check_nonnegative_float, check_positive_float, check_positive_int, check_simplex

__all__ = ["FHEvaluation", "fh_evaluate", "fh_optimal", "fh_policy_gradient", "FHRunResult",
           "simultaneous_pg", "dynamic_pg", "optimize_finite_horizon"]


def _check_fmdp(fmdp):
    if not isinstance(fmdp, FiniteHorizonMDP):
        raise InvalidMDPError(f"fmdp: expected a FiniteHorizonMDP, got {type(fmdp).__name__}.")
    return fmdp


@dataclass(frozen=True)
class FHEvaluation:
    """``v[h, s]`` (h = 0..H, ``v[H] = 0``), ``q[h, s, a]``, state distributions ``d[h, s]``, ``value``."""

    v: np.ndarray
    q: np.ndarray
    d: np.ndarray
    value: float


def fh_evaluate(fmdp, pi) -> FHEvaluation:
    """Exact backward evaluation and forward state distributions of a non-stationary policy."""
    fmdp = _check_fmdp(fmdp)
    H, S, A = fmdp.horizon, fmdp.n_states, fmdp.n_actions
    pi = as_float_array(pi, "pi", error=InvalidPolicyError)
    if pi.shape != (H, S, A):
        raise InvalidPolicyError(f"pi: expected a non-stationary policy of shape (H, S, A) = {(H, S, A)}, got {pi.shape}.")
    check_simplex(pi, "pi", error=InvalidPolicyError)
    v = np.zeros((H + 1, S))
    q = np.zeros((H, S, A))
    for h in range(H - 1, -1, -1):
        q[h] = fmdp.r[h] + fmdp.P[h] @ v[h + 1]
        v[h] = np.sum(pi[h] * q[h], axis=1)
    d = np.zeros((H, S))
    d[0] = fmdp.rho
    for h in range(H - 1):
        d[h + 1] = np.einsum("s,sa,sat->t", d[h], pi[h], fmdp.P[h])
    return FHEvaluation(v=v, q=q, d=d, value=float(fmdp.rho @ v[0]))


def fh_optimal(fmdp) -> FHEvaluation:
    """Backward induction: optimal ``v*``, ``q*``, and ``d`` of the greedy policy (ties to the lowest action)."""
    fmdp = _check_fmdp(fmdp)
    H, S, A = fmdp.horizon, fmdp.n_states, fmdp.n_actions
    pi = np.zeros((H, S, A))
    v = np.zeros((H + 1, S))
    for h in range(H - 1, -1, -1):
        qh = fmdp.r[h] + fmdp.P[h] @ v[h + 1]
        v[h] = qh.max(axis=1)
        pi[h, np.arange(S), np.argmax(qh, axis=1)] = 1.0
    return fh_evaluate(fmdp, pi)


def fh_policy_gradient(fmdp, theta) -> np.ndarray:
    """Exact ``dJ/dtheta[h, s, a] = d_h(s) pi_h(a|s) (Q_h(s, a) - V_h(s))`` for softmax logits."""
    fmdp = _check_fmdp(fmdp)
    theta = as_float_array(theta, "theta", shape=(fmdp.horizon, fmdp.n_states, fmdp.n_actions))
    pi = softmax(theta)
    ev = fh_evaluate(fmdp, pi)
    return ev.d[:, :, None] * pi * (ev.q - ev.v[:-1, :, None])


@dataclass(frozen=True)
class FHRunResult:
    """Outcome of simultaneous / dynamic PG: total gradient steps, final gap, per-epoch steps, trajectory."""

    method: str
    n_steps: int
    converged: bool
    final_gap: float
    gaps: np.ndarray
    epoch_steps: np.ndarray | None
    policy: np.ndarray


def _init_theta(fmdp, theta0):
    H, S, A = fmdp.horizon, fmdp.n_states, fmdp.n_actions
    if theta0 is None:
        return np.zeros((H, S, A))
    th = as_float_array(theta0, "theta0").copy()
    if th.shape != (H, S, A):
        raise InvalidInputError(f"theta0: expected logits of shape (H, S, A) = {(H, S, A)}, got {th.shape}.")
    return th


def _eta(step_size):
    return check_positive_float(step_size, "step_size", what="a step size")


def simultaneous_pg(fmdp, step_size: float, n_iter: int, *, eps: float = 0.0, theta0=None) -> FHRunResult:
    """Exact softmax PG on all ``theta_h`` at once; stops early once ``V*_0(rho) - J <= eps``."""
    fmdp = _check_fmdp(fmdp)
    n_iter = check_positive_int(n_iter, "n_iter", minimum=0)
    eta = _eta(step_size)
    eps = check_nonnegative_float(eps, "eps", what="target optimality gap")
    theta = _init_theta(fmdp, theta0)
    v_star = fh_optimal(fmdp).value
    gaps, n = simultaneous_pg_numba(np.ascontiguousarray(fmdp.P), np.ascontiguousarray(fmdp.r),
                                   np.ascontiguousarray(fmdp.rho), theta, eta, n_iter, v_star, float(eps))
    ok = bool(gaps[-1] <= eps)
    return FHRunResult("simultaneous_pg", int(n), ok, float(gaps[-1]), gaps, None, softmax(theta))


def dynamic_pg(fmdp, step_size, *, eps: float = 1e-3, max_steps_per_epoch: int = 1_000_000,
               theta0=None) -> FHRunResult:
    """Dynamic PG (backward epochs, module docstring) to sup-norm accuracy ``eps``.

    ``step_size``: a float, or a callable ``h -> eta_h``. Each epoch stops when every state's
    one-step gap is ``<= eps / H``.
    """
    fmdp = _check_fmdp(fmdp)
    H = fmdp.horizon
    etas = np.array([_eta(step_size(h) if callable(step_size) else step_size) for h in range(H)])
    check_positive_int(max_steps_per_epoch, "max_steps_per_epoch")
    eps = check_positive_float(eps, "eps", what="sup-norm accuracy")
    theta = _init_theta(fmdp, theta0)
    steps = dynamic_pg_numba(np.ascontiguousarray(fmdp.P), np.ascontiguousarray(fmdp.r),
                            np.ascontiguousarray(fmdp.rho), theta, etas, int(max_steps_per_epoch), eps / H)
    ok = bool(np.all(steps >= 0))
    pi = softmax(theta)
    gap = fh_optimal(fmdp).value - fh_evaluate(fmdp, pi).value
    return FHRunResult("dynamic_pg", int(np.sum(np.abs(steps))), ok, float(gap), np.array([gap]), steps, pi)


def optimize_finite_horizon(fmdp, method: str = "dynamic_pg", *, n_iter: int = 10_000, step_size=1.0,
                            theta0=None, eps: float = 1e-3, **_ignored) -> FHRunResult:
    """``mdpgrad.optimize`` entry for finite-horizon MDPs (``dynamic_pg`` or ``simultaneous_pg``)."""
    if _ignored:
        raise InvalidInputError(f"{sorted(_ignored)}: not options of finite-horizon optimization; it takes "
                                "n_iter, step_size, theta0 and eps.")
    if method == "dynamic_pg":
        return dynamic_pg(fmdp, step_size, eps=eps, max_steps_per_epoch=n_iter, theta0=theta0)
    if method == "simultaneous_pg":
        return simultaneous_pg(fmdp, step_size, n_iter, eps=eps, theta0=theta0)
    raise InvalidInputError(f"method = {method!r}: finite-horizon MDPs support 'dynamic_pg' and 'simultaneous_pg'.")
