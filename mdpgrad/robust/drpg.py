r"""Double-Loop Robust Policy Gradient (DRPG) for (s, a)-rectangular robust MDPs.

Wang, Ho & Petrik (2023), *Policy Gradient in Robust MDPs with Global Convergence
Guarantee*. The robust return :math:`J_{\mathcal U}(\pi)=\min_{P\in\mathcal U}J(\pi,P)` is
maximized by projected gradient ascent on a direct (tabular) policy; each outer step
first computes an approximate worst-case kernel :math:`P_t` with
:math:`J(\pi_t,P_t)-J_{\mathcal U}(\pi_t)\le\epsilon_t` for a **nonincreasing** tolerance
schedule :math:`\epsilon_t\downarrow0` (inner loop), then steps along the gradient at
:math:`P_t` (Danskin's theorem: at the exact worst case it is a supergradient of
:math:`J_{\mathcal U}`):

.. math::

    \nabla_\pi J(\pi,P)(s,a)=\tfrac{1}{1-\gamma}\,d^{\pi,P}_\rho(s)\,q^{\pi,P}(s,a),\qquad
    \pi_{t+1}=\Pi_{\Delta^S}\big(\pi_t+\alpha\nabla_\pi J(\pi_t,P_t)\big).

**Inner loop used here.** The paper solves the inner problem with a gradient method over
a parametric kernel. Here the inner loop is a conditional-gradient (Frank-Wolfe) method on
the kernel whose linear minimization oracle is the exact rectangular inner solver: full
steps (``inner="full_step"``, the adversary's policy iteration, default) or the classical
``2/(k+2)`` steps (``inner="frank_wolfe"``), warm-started from :math:`P_{t-1}` and stopped as soon as the certified bound
:math:`\rho^\top(v_k-v^\pi_{\mathcal U})\le\|T^\pi_{\mathcal U}v_k-v_k\|_\infty/(1-\gamma)`
falls below :math:`\epsilon_t`. This keeps the double-loop structure and the certified
:math:`\epsilon_t`-accuracy that the convergence proof needs; the exact inner error
:math:`J(\pi_t,P_t)-J_{\mathcal U}(\pi_t)` is also recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._compat import renamed
from ..errors import InvalidInputError
from ..exact import check_policy, evaluate
from ..mdp import as_mdp
from ..validation import check_positive_int
from .core import robust_evaluate, worst_case_kernel
from .sets import InvalidUncertaintySetError, UncertaintySet, project_simplex

__all__ = ["DRPGResult", "drpg", "kernel_policy_gradient"]


@dataclass(frozen=True)
class DRPGResult:
    r"""Trajectory of DRPG.

    Attributes
    ----------
    policy : (S, A) final policy.
    robust_returns : (T+1,) exact :math:`J_{\mathcal U}(\pi_t)` for t = 0..T.
    inner_tol : (T,) the tolerance schedule :math:`\epsilon_t` (nonincreasing).
    inner_bound : (T,) certified inner error bound reached at each outer step.
    inner_error : (T,) exact inner error :math:`J(\pi_t,P_t)-J_{\mathcal U}(\pi_t)` (>= 0).
    inner_steps : (T,) adversary steps used per outer step.
    """

    policy: np.ndarray
    robust_returns: np.ndarray
    inner_tol: np.ndarray
    inner_bound: np.ndarray
    inner_error: np.ndarray
    inner_steps: np.ndarray


def kernel_policy_gradient(mdp, pi, P) -> tuple[np.ndarray, float]:
    r"""Direct-parameter gradient :math:`\nabla_\pi J(\pi,P)` under kernel ``P`` and :math:`J(\pi,P)`."""
    m = as_mdp(mdp)
    g = m.gamma
    ev = evaluate(m, pi, P=P, check=False)
    return ev.occupancy[:, None] * ev.q / (1.0 - g), ev.value


@renamed(step="step_size")
def drpg(mdp, uset: UncertaintySet, *, n_iter: int = 200, step_size: float = 1.0, pi0=None,
         inner_tol0: float = 1e-1, inner_decay: float = 0.9, inner_min: float = 1e-12,
         max_inner: int = 1000, inner: str = "full_step") -> DRPGResult:
    r"""Run DRPG (module docstring) for ``n_iter`` outer steps.

    ``inner_tol0 * inner_decay**t`` (floored at ``inner_min``) is the inner tolerance schedule.
    ``step_size`` is the projected-gradient step size :math:`\alpha`. ``inner="full_step"`` takes
    full Frank-Wolfe steps on the kernel (= the adversary's policy iteration);
    ``inner="frank_wolfe"`` takes the classical steps :math:`2/(k+2)`,
    :math:`P\leftarrow P+\tfrac{2}{k+2}(Q_k-P)` with :math:`Q_k` the linear-minimization oracle
    (the gradient :math:`\partial J/\partial P(s'|s,a)\propto d(s)\pi(a|s)v(s')` is minimized row
    by row by the exact inner solver). Both stop on the same certified bound.
    """
    if inner not in ("full_step", "frank_wolfe"):
        raise InvalidInputError(f"inner = {inner!r}: choose 'full_step' or 'frank_wolfe'.")
    m = as_mdp(mdp)
    if not isinstance(uset, UncertaintySet) or uset.rectangularity != "sa":
        raise InvalidUncertaintySetError("uset: DRPG here needs an (s, a)-rectangular UncertaintySet.")
    n_iter = check_positive_int(n_iter, "n_iter")
    step = step_size
    for name, val in (("step_size", step), ("inner_tol0", inner_tol0), ("inner_min", inner_min)):
        if not (np.isfinite(val) and val > 0):
            raise InvalidInputError(f"{name} = {val!r} must be a positive float.")
    if not (0 < inner_decay <= 1):
        raise InvalidInputError(f"inner_decay = {inner_decay!r} must lie in (0, 1] (a nonincreasing schedule).")
    S, A = m.shape
    pi = np.full((S, A), 1.0 / A) if pi0 is None else check_policy(pi0, S, A, name="pi0").copy()
    g = m.gamma
    P = m.P.copy()
    rets = [robust_evaluate(m, uset, pi, tol=1e-12).value]
    tols, bounds, errs, steps = [], [], [], []
    for t in range(n_iter):
        eps = max(inner_tol0 * inner_decay**t, inner_min)
        # inner loop: adversary PI warm-started from the previous kernel, certified to eps
        bound = np.inf
        k = 0
        while k < max_inner:
            k += 1
            v = evaluate(m, pi, P=P, check=False).v
            Pn = worst_case_kernel(m, uset, v)
            tv = np.sum(pi * (m.r + g * (Pn @ v)), axis=1)
            bound = float(np.max(v - tv)) / (1.0 - g)
            if bound <= eps:
                break
            P = Pn if inner == "full_step" else P + (2.0 / (k + 2.0)) * (Pn - P)
        grad, J_P = kernel_policy_gradient(m, pi, P)
        J_rob = robust_evaluate(m, uset, pi, tol=1e-13, P0=P).value
        tols.append(eps)
        bounds.append(bound)
        errs.append(max(J_P - J_rob, 0.0))
        steps.append(k)
        pi = project_simplex(pi + step * grad)
        rets.append(robust_evaluate(m, uset, pi, tol=1e-12, P0=P).value)
    return DRPGResult(pi, np.asarray(rets), np.asarray(tols), np.asarray(bounds), np.asarray(errs),
                      np.asarray(steps))
