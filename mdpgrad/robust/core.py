r"""Robust dynamic programming: robust Bellman operators, evaluation, VI and (modified) PI.

For an (s, a)-rectangular set :math:`\mathcal U=\times_{s,a}\mathcal U_{s,a}` the robust
Bellman operators are

.. math::

    (T^\pi_{\mathcal U} v)(s) = \sum_a \pi(a|s)\big(r(s,a) + \gamma\,\sigma_{\mathcal U_{s,a}}(v)\big),
    \qquad (T_{\mathcal U} v)(s) = \max_a r(s,a) + \gamma\,\sigma_{\mathcal U_{s,a}}(v),

with :math:`\sigma_{\mathcal U_{s,a}}(v)=\min_{q\in\mathcal U_{s,a}} q^\top v` (the exact
inner solvers of :mod:`mdpgrad.robust.sets`). Both are :math:`\gamma`-contractions in the
sup norm, and an optimal robust policy is deterministic (Iyengar 2005; Nilim & El Ghaoui
2005). s-rectangular sets (:mod:`mdpgrad.robust.srect`) keep the contraction, but optimal
policies may need randomization (Wiesemann, Kuhn & Rustem 2013).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..exact import check_policy, evaluate, greedy_policy
from ..mdp import as_mdp
from ..validation import as_float_array, check_distribution, check_positive_float, check_positive_int, roundoff_floor
from .sets import InvalidUncertaintySetError, UncertaintySet, worst_case, worst_case_values
from .srect import srect_evaluation_update_l1, srect_l1_maximin_policy, srect_optimal_update

__all__ = [
    "RobustEvaluation",
    "RobustSolveResult",
    "robust_q",
    "robust_bellman_operator",
    "worst_case_kernel",
    "robust_evaluate",
    "robust_value_iteration",
    "robust_policy_iteration",
]


def _check_uset(uset):
    if not isinstance(uset, UncertaintySet):
        raise InvalidUncertaintySetError(f"uset: expected an UncertaintySet, got {type(uset).__name__}.")
    return uset


def _check_tol(tol, m=None):
    """A positive tolerance; with the MDP ``m``, also inside the certifiable range.

    Below the round-off floor of ``|v| <= max|r|/(1-gamma)`` no certificate is possible (the solver
    would iterate to ``max_iter`` and fail); above ``max|r|/(1-gamma)`` every ``v`` in the a-priori
    box is already certified, so the request is meaningless. Both raise a named error.
    """
    t = check_positive_float(tol, "tol", what="a sup-norm error on v")
    if m is not None:
        vmax = float(np.max(np.abs(m.r))) / (1.0 - m.gamma)
        floor = roundoff_floor(m.gamma, vmax)
        if t < floor:
            raise InvalidInputError(f"tol = {tol!r} is below the float64 round-off floor {floor:.3g} of this MDP "
                                    f"(4 eps (1 + max|r|/(1-gamma)) / (1-gamma)); pass tol >= {floor:.3g}.")
        if t >= max(vmax, floor) and vmax > 0:
            raise InvalidInputError(f"tol = {tol!r} is at least max|r|/(1-gamma) = {vmax:.3g}, which bounds every "
                                    "value: nothing would be computed; pass a smaller tol (e.g. 1e-8).")
    return t


def robust_q(mdp, uset: UncertaintySet, v, *, backend: str = "auto") -> np.ndarray:
    r"""``Q[s, a] = r(s, a) + gamma * sigma_{U_{s,a}}(v)`` for an (s, a)-rectangular set."""
    m = as_mdp(mdp)
    _check_uset(uset)
    S, A = m.shape
    v = as_float_array(v, "v", shape=(S,))
    sig = worst_case_values(m.P.reshape(S * A, S), v, uset, backend=backend, check=False).reshape(S, A)
    return m.r + m.gamma * sig


def robust_bellman_operator(mdp, uset: UncertaintySet, v, pi=None, *, backend: str = "auto") -> np.ndarray:
    r"""Robust Bellman operator: :math:`T^\pi_{\mathcal U} v` if ``pi`` is given, else :math:`T_{\mathcal U} v`.

    (s, a)-rectangular sets with any kind; s-rectangular sets with any kind for the
    optimality operator and L1 for a fixed policy.
    """
    m = as_mdp(mdp)
    _check_uset(uset)
    v = as_float_array(v, "v", shape=(m.n_states,))
    if uset.rectangularity == "s":
        if pi is None:
            return srect_optimal_update(m, uset, v)
        pi = check_policy(pi, *m.shape)
        return srect_evaluation_update_l1(m, uset, pi, v)[0]
    q = robust_q(m, uset, v, backend=backend)
    if pi is None:
        return q.max(axis=1)
    pi = check_policy(pi, *m.shape)
    return np.sum(pi * q, axis=1)


def worst_case_kernel(mdp, uset: UncertaintySet, v, pi=None) -> np.ndarray:
    """The adversary's kernel ``P_worst[s, a, s']`` attaining the robust update at ``v``.

    For (s, a)-rectangular sets each row is the inner problem's minimizer (independent of
    ``pi``); for s-rectangular L1 sets it depends on ``pi`` (required).
    """
    m = as_mdp(mdp)
    _check_uset(uset)
    S, A = m.shape
    v = as_float_array(v, "v", shape=(S,))
    if uset.rectangularity == "s":
        if pi is None:
            raise InvalidInputError("pi: the s-rectangular worst-case kernel depends on the policy; pass pi.")
        return srect_evaluation_update_l1(m, uset, check_policy(pi, S, A), v)[1]
    return worst_case(m.P.reshape(S * A, S), v, uset).q.reshape(S, A, S)


@dataclass(frozen=True)
class RobustEvaluation:
    r"""Robust value of a fixed policy.

    Attributes
    ----------
    v : (S,) robust values :math:`v^\pi_{\mathcal U}` (within ``error_bound`` in sup norm).
    q : (S, A) robust action values :math:`r + \gamma\sigma(v)`.
    worst_P : (S, A, S) a worst-case kernel (the adversary's last best response).
    value : :math:`\rho^\top v`.
    n_iter : adversary improvement steps.
    error_bound : certified :math:`\|v - v^\pi_{\mathcal U}\|_\infty` bound.
    """

    v: np.ndarray
    q: np.ndarray
    worst_P: np.ndarray
    value: float
    n_iter: int
    error_bound: float


def robust_evaluate(mdp, uset: UncertaintySet, pi, *, tol: float = 1e-10, max_iter: int = 1000,
                    P0=None) -> RobustEvaluation:
    r"""Robust policy evaluation by policy iteration for the adversary.

    Starting from the nominal kernel (or ``P0``), alternate an exact evaluation
    :math:`v_k = v^{\pi, P_k}` with the adversary's best response :math:`P_{k+1}` at
    :math:`v_k`. Then :math:`T^\pi_{\mathcal U} v_k \le v_k` and the iterates decrease
    monotonically to :math:`v^\pi_{\mathcal U}`; stop when the certified bound
    :math:`\|v_k - v^\pi_{\mathcal U}\|_\infty \le \|T^\pi_{\mathcal U}v_k - v_k\|_\infty/(1-\gamma)`
    is below ``tol``; the returned ``v`` is :math:`T^\pi_{\mathcal U}v_k`, which is closer.
    """
    m = as_mdp(mdp)
    _check_uset(uset)
    tol = _check_tol(tol)
    S, A = m.shape
    pi = check_policy(pi, S, A)
    max_iter = check_positive_int(max_iter, "max_iter")
    P = m.P if P0 is None else check_distribution(P0, "P0", size=S, ndim=3)
    if P.shape != (S, A, S):
        raise InvalidInputError(f"P0: expected shape ({S}, {A}, {S}) = (states, actions, next states), got {P.shape}.")
    bound = np.inf
    k = 0
    for k in range(1, max_iter + 1):
        v = evaluate(m, pi, P=P, check=False).v
        P = worst_case_kernel(m, uset, v, pi)
        tv = np.sum(pi * (m.r + m.gamma * (P @ v)), axis=1)
        res = float(np.max(np.abs(tv - v)))
        bound = max(m.gamma * res / (1.0 - m.gamma), roundoff_floor(m.gamma, np.abs(tv).max()))
        v = tv
        if bound <= tol or bound <= roundoff_floor(m.gamma, np.abs(v).max()):
            break
    q = m.r + m.gamma * (P @ v) if uset.rectangularity == "sa" else m.r + m.gamma * (worst_case_kernel(
        m, uset, v, pi) @ v)
    return RobustEvaluation(v=v, q=q, worst_P=P, value=float(m.rho @ v), n_iter=k, error_bound=float(bound))


@dataclass(frozen=True)
class RobustSolveResult:
    r"""Result of robust VI / PI.

    Attributes
    ----------
    v : (S,) robust optimal values, ``max_s |v - v*_U| <= error_bound``.
    q : (S, A) robust action values (``None`` for s-rectangular sets).
    policy : (S, A) deterministic greedy policy for (s, a)-rectangular sets; for s-rectangular
        L1 sets the (possibly randomized) maximin policy from one LP per state
        (:func:`~mdpgrad.robust.srect.srect_l1_maximin_policy`); ``None`` for other
        s-rectangular kinds (not computed).
    worst_P : (S, A, S) the adversary's kernel at ``v`` (for s-rectangular L1: against
        ``policy``; ``None`` for other s-rectangular kinds).
    n_iter, converged, error_bound, method : as in :class:`mdpgrad.exact.SolveResult`.
    history : sup-norm residuals ``||v_{k+1} - v_k||`` per sweep (VI) or per step (PI).
    """

    v: np.ndarray
    q: np.ndarray | None
    policy: np.ndarray | None
    worst_P: np.ndarray | None
    n_iter: int
    converged: bool
    error_bound: float
    method: str
    history: np.ndarray

    @property
    def value(self) -> np.ndarray:
        return self.v


def _finish(m, uset, v, n, ok, err, method, hist, backend="auto"):
    if uset.rectangularity == "s":
        if uset.kind == "l1":  # randomized maximin policy by one LP per state, and its worst kernel
            _, pol = srect_l1_maximin_policy(m, uset, v)
            return RobustSolveResult(v, None, pol, worst_case_kernel(m, uset, v, pol), n, ok, float(err), method,
                                     np.asarray(hist))
        return RobustSolveResult(v, None, None, None, n, ok, float(err), method, np.asarray(hist))
    q = robust_q(m, uset, v, backend=backend)
    return RobustSolveResult(v, q, greedy_policy(q), worst_case_kernel(m, uset, v), n, ok, float(err), method,
                             np.asarray(hist))


def robust_value_iteration(mdp, uset: UncertaintySet, *, tol: float = 1e-8, max_iter: int | None = None,
                           v0=None, backend: str = "auto") -> RobustSolveResult:
    r"""Robust value iteration :math:`v_{k+1} = T_{\mathcal U} v_k`.

    ``tol`` is a certified sup-norm error: stop when
    :math:`\gamma\|v_{k+1}-v_k\|_\infty/(1-\gamma)\le` ``tol`` (contraction bound).
    ``backend`` runs the kernel ``robust_inner_values``; ``"numba"`` compiles the l1, linf, kl and
    contamination sets (pays off from S*A of a few hundred; ``"auto"`` runs NumPy).
    """
    m = as_mdp(mdp)
    _check_uset(uset)
    tol = _check_tol(tol, m)
    g = m.gamma
    v = np.zeros(m.n_states) if v0 is None else as_float_array(v0, "v0", shape=(m.n_states,)).copy()
    if max_iter is None:
        span = float(np.ptp(m.r)) + float(np.max(np.abs(m.r))) + 1.0
        max_iter = 10 + 2 * max(0, int(np.ceil(np.log(tol * (1 - g) / span) / np.log(max(g, 1e-12)))))
    max_iter = check_positive_int(max_iter, "max_iter")
    hist = []
    err = np.inf
    n = 0
    for n in range(1, max_iter + 1):
        tv = robust_bellman_operator(m, uset, v, backend=backend)
        res = float(np.max(np.abs(tv - v)))
        hist.append(res)
        v = tv
        err = max(g * res / (1.0 - g), roundoff_floor(g, np.abs(v).max()))
        if err <= tol or err <= roundoff_floor(g, np.abs(v).max()):
            break
    return _finish(m, uset, v, n, err <= tol, err, "robust_value_iteration", hist, backend)


def robust_policy_iteration(mdp, uset: UncertaintySet, *, tol: float = 1e-8, m_eval: int | None = None,
                            max_iter: int = 1000) -> RobustSolveResult:
    r"""Robust (modified) policy iteration for (s, a)-rectangular sets.

    Improvement: :math:`\pi_{k+1}` greedy w.r.t. :math:`r+\gamma\sigma(v_k)`. Evaluation:
    exact robust evaluation (:func:`robust_evaluate`, Iyengar 2005) when ``m_eval`` is
    ``None``, else ``m_eval`` applications of :math:`T^{\pi_{k+1}}_{\mathcal U}` (robust
    modified PI, Kaufman & Schaefer 2013). Stops with the certified bound
    :math:`\gamma\|T_{\mathcal U}v-v\|_\infty/(1-\gamma)\le` ``tol`` on the returned
    :math:`T_{\mathcal U}v`.
    """
    mm = as_mdp(mdp)
    _check_uset(uset)
    tol = _check_tol(tol, mm)
    if uset.rectangularity != "sa":
        raise InvalidUncertaintySetError("uset: robust_policy_iteration needs an (s, a)-rectangular set.")
    if m_eval is not None:
        m_eval = check_positive_int(m_eval, "m_eval")
    max_iter = check_positive_int(max_iter, "max_iter")
    g = mm.gamma
    # start below v* (min r / (1 - gamma)): then T v >= v and robust (M)PI increases monotonically
    v = np.full(mm.n_states, float(mm.r.min()) / (1.0 - g))
    hist = []
    err = np.inf
    n = 0
    for n in range(1, max_iter + 1):
        q = robust_q(mm, uset, v)
        tv = q.max(axis=1)
        res = float(np.max(np.abs(tv - v)))
        hist.append(res)
        floor = roundoff_floor(g, np.abs(tv).max())
        err = max(g * res / (1.0 - g), floor)
        if err <= tol or err <= floor:
            v = tv
            break
        pi = greedy_policy(q)
        if m_eval is None:
            v = robust_evaluate(mm, uset, pi, tol=max(tol * (1 - g) / 4, floor)).v
        else:
            v = tv
            for _ in range(int(m_eval) - 1):
                v = robust_bellman_operator(mm, uset, v, pi)
    method = "robust_policy_iteration" if m_eval is None else f"robust_modified_policy_iteration(m={m_eval})"
    return _finish(mm, uset, v, n, err <= tol, err, method, hist)


def robust_return(mdp, uset: UncertaintySet, pi, *, tol: float = 1e-10) -> float:
    r"""Worst-case return :math:`\rho^\top v^\pi_{\mathcal U}` of a policy."""
    return robust_evaluate(mdp, uset, pi, tol=tol).value


def nominal_and_robust(mdp, uset, pi) -> tuple[float, float]:
    """``(rho . v^pi, rho . v^pi_U)`` for a policy: its nominal and worst-case returns."""
    return evaluate(mdp, pi).value, robust_return(mdp, uset, pi)
