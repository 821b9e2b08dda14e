r"""Exact algebra of a finite discounted MDP: evaluation, Bellman operators, optimal control.

For a policy :math:`\pi` with :math:`P_\pi[s, s'] = \sum_a \pi(a|s) P(s'|s, a)` and
:math:`r_\pi[s] = \sum_a \pi(a|s) r(s, a)`,

.. math::

    v^\pi = (I - \gamma P_\pi)^{-1} r_\pi, \qquad
    q^\pi(s, a) = r(s, a) + \gamma \sum_{s'} P(s'|s, a) v^\pi(s'), \qquad
    A^\pi = q^\pi - v^\pi,

    d_\rho^\pi = (1 - \gamma)\, \rho^\top (I - \gamma P_\pi)^{-1}
    \quad\text{(normalized discounted state occupancy, sums to 1)}.

Both linear systems are solved from one LU factorization (``scipy.linalg.lu_factor``);
nothing is inverted. ``solve(mdp, method=...)`` gives optimal control by value
iteration, policy iteration or linear programming (HiGHS via ``scipy.optimize.linprog``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from .errors import InvalidInputError
from .mdp import as_mdp
from .validation import (
    as_float_array,
    check_choice,
    check_policy,
    check_positive_float,
    check_positive_int,
    roundoff_floor,
)

__all__ = [
    "Evaluation",
    "SolveResult",
    "evaluate",
    "solve",
    "policy_matrices",
    "bellman_operator",
    "bellman_optimality_operator",
    "greedy_policy",
    "check_policy",
]


def policy_matrices(mdp, pi: np.ndarray, *, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(P_pi[s, s'], r_pi[s])`` (batched over leading axes of ``pi``); ``check=False`` skips
    validating ``pi`` (callers that already did)."""
    m = as_mdp(mdp)
    if getattr(m, "is_sparse", False):
        from .sparse import policy_matrices as sparse_policy_matrices
        return sparse_policy_matrices(m, pi)
    if check:
        pi = check_policy(pi, *m.shape, batched=np.ndim(pi) >= 3)
    P_pi = np.einsum("...sa,sat->...st", pi, m.P)
    r_pi = np.einsum("...sa,sa->...s", pi, m.r)
    return P_pi, r_pi


@dataclass(frozen=True)
class Evaluation:
    """Exact evaluation of a policy (fields batched when the policy was).

    Attributes
    ----------
    v : (S,) state values v^pi.
    q : (S, A) action values q^pi.
    advantage : (S, A) q^pi - v^pi.
    occupancy : (S,) normalized discounted occupancy d_rho^pi (sums to 1).
    value : float, rho . v^pi.
    """

    v: np.ndarray
    q: np.ndarray
    advantage: np.ndarray
    occupancy: np.ndarray
    value: float | np.ndarray


def evaluate(mdp, pi, *, check: bool = True, tau: float = 0.0) -> Evaluation:
    r"""Exact policy evaluation by linear solves.

    With ``tau > 0`` the value is entropy-regularized (dense MDP, one policy):
    :math:`v = (I - \gamma P_\pi)^{-1}(r_\pi + \tau \mathcal H(\pi))` with
    :math:`\mathcal H(\pi)(s) = -\sum_a \pi(a|s)\log\pi(a|s)`, ``q = r + gamma P v`` and
    ``advantage = q - v`` (the soft advantage subtracts ``tau log pi`` on top; Mei et al. 2020).

    ``pi`` may be ``(S, A)`` or a batch ``(B, S, A)``; a batch is evaluated by
    :func:`mdpgrad.sparse.evaluate_batch` (one LU of ``I - gamma P_{pi[0]}`` reused through
    Woodbury for policies that differ from ``pi[0]`` in few states, one LU per policy for
    the rest) and every field gets a leading batch axis. A :class:`mdpgrad.sparse.SparseMDP`
    is evaluated by :func:`mdpgrad.sparse.evaluate`. ``check=False`` skips the policy
    validation (for inner loops that build policies themselves).
    """
    m = as_mdp(mdp)
    tau = float(tau)
    if not (np.isfinite(tau) and tau >= 0.0):
        raise InvalidInputError(f"tau = {tau!r} must be a finite entropy coefficient >= 0.")
    if tau and (getattr(m, "is_sparse", False) or np.ndim(pi) == 3):
        raise InvalidInputError("tau: entropy regularization is supported for one policy on a dense MDP.")
    if getattr(m, "is_sparse", False):  # mdpgrad.sparse.SparseMDP
        from .sparse import evaluate as sparse_evaluate
        return sparse_evaluate(m, pi, check=check)
    S, A = m.shape
    pi = np.asarray(pi, dtype=np.float64)
    batched = pi.ndim == 3
    if check:
        pi = check_policy(pi, S, A, batched=batched)
    if batched:  # one factorization reused for policies close to pi[0] (Woodbury), else batched LU
        from .sparse.batch import evaluate_batch
        return evaluate_batch(m, pi, check=False)
    P_pi, r_pi = policy_matrices(m, pi, check=False)
    if tau:
        with np.errstate(divide="ignore", invalid="ignore"):
            r_pi = r_pi - tau * np.sum(np.where(pi > 0, pi * np.log(pi), 0.0), axis=1)
    g = m.gamma
    lu = scipy.linalg.lu_factor(np.eye(S) - g * P_pi, check_finite=False)
    v = scipy.linalg.lu_solve(lu, r_pi, check_finite=False)
    d = scipy.linalg.lu_solve(lu, (1.0 - g) * m.rho, trans=1, check_finite=False)
    q = m.r + g * (m.P.reshape(S * A, S) @ v).reshape(S, A)
    return Evaluation(v=v, q=q, advantage=q - v[:, None], occupancy=d, value=float(v @ m.rho))


def bellman_operator(mdp, pi, v) -> np.ndarray:
    """``(T^pi v)[s] = sum_a pi(a|s) (r(s, a) + gamma sum_s' P(s'|s, a) v(s'))``."""
    m = as_mdp(mdp)
    pi = check_policy(pi, *m.shape, batched=np.ndim(pi) == 3)
    v = as_float_array(v, "v", shape=(m.n_states,))
    Pv = m.expected_next(v) if getattr(m, "is_sparse", False) else m.P @ v
    q = m.r + m.gamma * Pv
    return np.sum(pi * q, axis=-1)


def bellman_optimality_operator(mdp, v) -> np.ndarray:
    """``(T v)[s] = max_a r(s, a) + gamma sum_s' P(s'|s, a) v(s')``."""
    m = as_mdp(mdp)
    v = as_float_array(v, "v", shape=(m.n_states,))
    Pv = m.expected_next(v) if getattr(m, "is_sparse", False) else m.P @ v
    return np.max(m.r + m.gamma * Pv, axis=1)


def greedy_policy(q: np.ndarray) -> np.ndarray:
    """Deterministic one-hot policy ``argmax_a q[s, a]`` (ties to the lowest index)."""
    q = as_float_array(q, "q", ndim=2)
    S, A = q.shape
    if A == 0:
        raise InvalidInputError(f"q: has no actions (shape {q.shape}); a greedy policy needs >= 1 action.")
    pi = np.zeros((S, A))
    pi[np.arange(S), np.argmax(q, axis=1)] = 1.0
    return pi


@dataclass(frozen=True)
class SolveResult:
    """Result of :func:`solve`.

    Attributes
    ----------
    v : (S,) optimal values, with ``max_s |v - v*| <= error_bound``.
    q : (S, A) action values ``r + gamma P v``.
    policy : (S, A) deterministic greedy policy (one-hot).
    n_iter : iterations (sweeps for VI, improvement steps for PI, solver iterations for LP).
    converged : whether the requested tolerance was certified: ``error_bound <= tol``.
    error_bound : certified bound on ``max_s |v - v*|``, never below the round-off floor
        :func:`~mdpgrad.validation.roundoff_floor` ``4 eps (1 + max|v|) / (1 - gamma)``.
    method : the method used.
    message : a human-readable summary.
    """

    v: np.ndarray
    q: np.ndarray
    policy: np.ndarray
    n_iter: int
    converged: bool
    error_bound: float
    method: str
    message: str = ""

    @property
    def value(self) -> np.ndarray:  # alias used in examples
        return self.v


_METHODS = ("value_iteration", "policy_iteration", "linear_programming")
_ALIASES = {"vi": "value_iteration", "pi": "policy_iteration", "lp": "linear_programming"}


def solve(
    mdp,
    method: str = "policy_iteration",
    *,
    tol: float = 1e-10,
    max_iter: int | None = None,
    v0=None,
    backend: str = "numpy",
) -> SolveResult:
    r"""Solve for an optimal policy and value.

    Parameters
    ----------
    method : ``"value_iteration"`` | ``"policy_iteration"`` | ``"linear_programming"``
        (aliases ``"vi"``, ``"pi"``, ``"lp"``).
    tol : float
        **Sup-norm error of v**: on success ``max_s |v[s] - v*[s]| <= tol``. This is not a
        step size or a stopping threshold on ``|v_{k+1} - v_k|`` (quantecon's ``epsilon`` is
        the latter, scaled). Value iteration certifies it with the span bound (MacQueen):
        with :math:`\Delta = T v_k - v_k`,

        .. math:: T v_k + \tfrac{\gamma}{1-\gamma}\min\Delta \le v^* \le
                  T v_k + \tfrac{\gamma}{1-\gamma}\max\Delta,

        and returns the midpoint, whose error is at most
        :math:`\tfrac{\gamma}{1-\gamma}\,\mathrm{span}(\Delta)/2`. Policy iteration stops at an
        exact fixed point (policy stable); LP values are re-evaluated exactly for the greedy
        policy and certified by the Bellman residual bound
        :math:`\|v - v^*\| \le \|Tv - v\|/(1-\gamma)`.

        **Round-off rule**: float64 cannot certify an error below the round-off floor
        :math:`4\epsilon(1 + \max_s|v_s|)/(1-\gamma)` (``mdpgrad.validation.roundoff_floor``; the
        residual itself carries errors of a few ulps of ``v``, amplified by :math:`1/(1-\gamma)`).
        ``error_bound`` is never reported below that floor, and ``converged`` is True only when
        ``error_bound <= tol``: a ``tol`` below the floor returns ``converged=False`` with the floor as
        bound instead of a false certificate.
    max_iter : sweeps (VI) or evaluations (PI), >= 1; ``None`` picks enough for ``tol``.
    v0 : (S,) starting values for VI / PI's warm start.
    backend : ``"numpy"`` or ``"numba"`` for the value-iteration sweep kernel.
    """
    m = as_mdp(mdp)
    if getattr(m, "is_sparse", False):
        from .sparse import solve as sparse_solve
        return sparse_solve(m, method, tol=tol, max_iter=max_iter, v0=v0, backend=backend)
    if not isinstance(method, str):
        raise InvalidInputError(f"method = {method!r} must be a string; choose one of {', '.join(_METHODS)}.")
    method = _ALIASES.get(method, method)
    check_choice(method, "method", _METHODS + tuple(_ALIASES))
    tol = check_positive_float(tol, "tol", what="a sup-norm error on v")
    if max_iter is not None:
        max_iter = check_positive_int(max_iter, "max_iter")
    if v0 is not None:
        v0 = as_float_array(v0, "v0", shape=(m.n_states,))
    if method == "value_iteration":
        return _value_iteration(m, tol, max_iter, v0, backend)
    if method == "policy_iteration":
        return _policy_iteration(m, tol, max_iter, v0)
    return _linear_programming(m, tol)


def _certified_bound(m, v) -> float:
    """``||T v - v||_inf / (1 - gamma)`` bounds ``||v - v*||_inf``."""
    return float(np.max(np.abs(bellman_optimality_operator(m, v) - v)) / (1.0 - m.gamma))


def _value_iteration(m, tol, max_iter, v0, backend) -> SolveResult:
    from .backend import get_backend

    nx = get_backend(backend)
    S, A = m.shape
    g = m.gamma
    v = np.zeros(S) if v0 is None else as_float_array(v0, "v0", ndim=1).copy()
    if max_iter is None:
        # Enough sweeps for the span bound to fall below tol from any start (contraction).
        span0 = float(np.ptp(m.r)) + 1.0
        max_iter = int(np.ceil(np.log(tol * (1 - g) / (span0 + 1e-300)) / np.log(max(g, 1e-12)))) + 10
        max_iter = max(max_iter, 10) * 2
    P2 = np.ascontiguousarray(m.P.reshape(S * A, S))
    r = np.ascontiguousarray(m.r)
    k_bound = g / (1.0 - g) if g > 0 else 0.0
    err = np.inf
    n = 0
    for n in range(1, max_iter + 1):
        tv = nx.bellman_max(P2, r, g, v)
        delta = tv - v
        lo, hi = float(delta.min()), float(delta.max())
        err = k_bound * (hi - lo) / 2.0
        v = tv
        if err <= tol or err <= roundoff_floor(g, np.abs(v).max()):  # below the floor: stop, not certified
            v = tv + k_bound * (hi + lo) / 2.0
            break
    q = m.r + g * (m.P @ v)
    pi = greedy_policy(q)
    err = max(float(err), roundoff_floor(g, np.abs(v).max()))
    ok = err <= tol
    return SolveResult(v, q, pi, n, ok, float(err), "value_iteration",
                       f"value iteration: {n} sweeps, certified error {err:.3g}")


_PI_WARM_SWEEPS = 10


def _policy_iteration(m, tol, max_iter, v0) -> SolveResult:
    S, A = m.shape
    g = m.gamma
    max_iter = 10_000 if max_iter is None else max_iter
    P2 = m.P.reshape(S * A, S)  # a view: one GEMV per greedy step

    def q_of(v):
        return m.r + g * (P2 @ v).reshape(S, A)

    # Warm start: a few Bellman sweeps (each ~S*A*S flops, ~1/40 of one LU factorization) give
    # a greedy policy close to optimal, which usually saves one or two factorizations.
    v = np.zeros(S) if v0 is None else as_float_array(v0, "v0", ndim=1)
    for _ in range(_PI_WARM_SWEEPS):
        v = q_of(v).max(axis=1)
    pi_idx = np.argmax(q_of(v), axis=1)
    ar = np.arange(S)
    eye = np.eye(S)
    q = m.r
    n = 0
    stable = False
    for n in range(1, max_iter + 1):
        # LAPACK gesv (LU with partial pivoting), without the condition estimate of scipy's solve.
        v = np.linalg.solve(eye - g * m.P[ar, pi_idx], m.r[ar, pi_idx])
        q = q_of(v)
        new = np.argmax(q, axis=1)
        # Keep the current action on (near-)ties, so round-off cannot cause cycling.
        keep = q[ar, pi_idx] >= q[ar, new] - 1e-12 * (1.0 + np.abs(q[ar, new]))
        new = np.where(keep, pi_idx, new)
        if np.array_equal(new, pi_idx):
            stable = True
            break
        pi_idx = new
    pi = np.zeros((S, A))
    pi[ar, pi_idx] = 1.0
    # ||T v - v|| / (1 - gamma) bounds ||v - v*||; q already holds r + gamma P v.
    bound = max(float(np.max(np.abs(q.max(axis=1) - v)) / (1.0 - g)), roundoff_floor(g, np.abs(v).max()))
    ok = stable and bound <= tol
    return SolveResult(v, q, pi, n, ok, bound, "policy_iteration",
                       f"policy iteration: {_PI_WARM_SWEEPS} warm-start sweeps, {n} evaluations, "
                       f"stable={stable}")


def _linear_programming(m, tol) -> SolveResult:
    r"""Primal LP: minimize sum_s v(s) s.t. v(s) >= r(s, a) + gamma P(.|s, a) . v."""
    S, A = m.shape
    g = m.gamma
    # Constraint rows for each (s, a): gamma P[s, a] . v - v[s] <= -r[s, a].
    A_ub = g * m.P.reshape(S * A, S)
    A_ub[np.arange(S * A), np.repeat(np.arange(S), A)] -= 1.0
    b_ub = -m.r.reshape(S * A)
    res = scipy.optimize.linprog(
        c=np.full(S, 1.0 / S), A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * S, method="highs"
    )
    if res.status != 0:
        raise RuntimeError(f"linear programming failed: {res.message}")
    v_lp = res.x
    q = m.r + g * (m.P @ v_lp)
    pi = greedy_policy(q)
    # Polish: exact value of the greedy policy, certified by the Bellman residual.
    v = evaluate(m, pi, check=False).v
    q = m.r + g * (m.P @ v)
    bound = max(_certified_bound(m, v), roundoff_floor(g, np.abs(v).max()))
    ok = bound <= tol
    return SolveResult(v, q, pi, int(getattr(res, "nit", 0)), ok, bound, "linear_programming",
                       f"HiGHS: {res.message}")
