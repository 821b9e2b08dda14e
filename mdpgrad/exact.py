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

from .errors import InvalidInputError, InvalidPolicyError
from .mdp import as_mdp
from .validation import (
    MAX_ABS,
    PROB_ATOL,
    as_float_array,
    check_choice,
    check_int,
    check_nonnegative_float,
    check_policy,
    check_positive_float,
    check_positive_int,
    check_simplex,
    roundoff_floor,
)

__all__ = [
    "Evaluation",
    "SolveResult",
    "evaluate",
    "evaluate_batch",
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


def _solve_policy(P_pi, r_pi, gamma: float, rho=None):
    r"""``v = (I - gamma P_pi)^{-1} r_pi`` and, with ``rho``, ``d = (1 - gamma) rho^T (I - gamma P_pi)^{-1}``
    from one LU factorization (the one dense solve of the library; nothing is inverted)."""
    lu = scipy.linalg.lu_factor(np.eye(P_pi.shape[0]) - gamma * P_pi, check_finite=False)
    v = scipy.linalg.lu_solve(lu, r_pi, check_finite=False)
    if rho is None:
        return v, None
    return v, scipy.linalg.lu_solve(lu, (1.0 - gamma) * rho, trans=1, check_finite=False)


def evaluate(mdp, pi, *, check: bool = True, tau: float = 0.0, P=None, r=None, method: str = "auto",
             rtol: float = 1e-12) -> Evaluation:
    r"""Exact policy evaluation by linear solves: the only place the library solves for v, q and d.

    With ``tau > 0`` the value is entropy-regularized (dense MDP, one policy):
    :math:`v = (I - \gamma P_\pi)^{-1}(r_\pi + \tau \mathcal H(\pi))` with
    :math:`\mathcal H(\pi)(s) = -\sum_a \pi(a|s)\log\pi(a|s)`, ``q = r + gamma P v`` and
    ``advantage = q - v`` (the soft advantage subtracts ``tau log pi`` on top; Mei et al. 2020).

    ``P[s, a, s']`` / ``r[s, a]`` replace the MDP's kernel and reward (dense MDP, one policy;
    checked for shape only, as they come from inner loops): the evaluation of ``pi`` under
    another model, e.g. a robust MDP's worst-case kernel or a penalized reward
    (:mod:`mdpgrad.robust`), with ``q = r + gamma P v`` and ``occupancy`` under ``P``.

    ``pi`` may be ``(S, A)`` or a batch ``(B, S, A)``, and every field then gets a leading batch axis.
    A batch of independent policies (most differ from ``pi[0]`` in more than ``S // 8`` states) gets one
    compiled LU per policy, in parallel over the batch (``mdpgrad._evaluate_kernels.evaluate_stack``:
    the LU of ``[[I - gamma P_pi, r_pi], [(1 - gamma) rho, 0]]`` without pivoting, stable because
    ``I - gamma P_pi`` is diagonally dominant by rows, with LAPACK's pivoted LU where that is not assured);
    a batch of local perturbations of ``pi[0]`` is evaluated by :func:`evaluate_batch` (one LU of
    ``I - gamma P_{pi[0]}`` reused through Woodbury). A :class:`mdpgrad.sparse.SparseMDP` is solved by
    sparse LU or a Krylov method (``method``, ``rtol``: see :func:`mdpgrad.sparse.policy_values`).
    ``check=False`` skips the policy validation (for inner loops that build policies themselves).
    """
    m = as_mdp(mdp)
    tau = check_nonnegative_float(tau, "tau", what="an entropy coefficient >= 0")
    sparse = getattr(m, "is_sparse", False)
    S, A = m.shape
    if check:
        pi = _check_policies(pi, S, A) if not sparse else check_policy(pi, S, A, batched=np.ndim(pi) == 3)
    else:
        pi = np.asarray(pi, dtype=np.float64)
    batched = pi.ndim == 3
    if (tau or P is not None or r is not None) and (sparse or batched):
        name = "tau" if tau else ("P" if P is not None else "r")
        raise InvalidInputError(f"{name}: supported for one policy on a dense MDP.")
    if sparse:  # mdpgrad.sparse.SparseMDP: sparse LU or GMRES, one policy at a time
        from .sparse.solvers import policy_values

        if not check and pi.shape[-2:] != (S, A):
            raise InvalidPolicyError(f"pi: expected shape (..., {S}, {A}), got {pi.shape}.")
        if batched:
            evs = [evaluate(m, p, check=False, method=method, rtol=rtol) for p in pi]
            return Evaluation(*(np.stack([getattr(e, f) for e in evs])
                                for f in ("v", "q", "advantage", "occupancy", "value")))
        v, q, d = policy_values(m, pi, method=method, rtol=rtol)
        return Evaluation(v=v, q=q, advantage=q - v[:, None], occupancy=d, value=float(v @ m.rho))
    if batched:  # Woodbury around pi[0] for local perturbations, else one compiled LU per policy
        return _evaluate_many(m, pi)
    P = m.P if P is None else _model_array(P, "P", (S, A, S))
    r = m.r if r is None else _model_array(r, "r", (S, A))
    P_pi = np.einsum("sa,sat->st", pi, P)
    r_pi = np.einsum("sa,sa->s", pi, r)
    if tau:
        with np.errstate(divide="ignore", invalid="ignore"):
            r_pi = r_pi - tau * np.sum(np.where(pi > 0, pi * np.log(pi), 0.0), axis=1)
    g = m.gamma
    v, d = _solve_policy(P_pi, r_pi, g, m.rho)
    q = r + g * (P.reshape(S * A, S) @ v).reshape(S, A)
    return Evaluation(v=v, q=q, advantage=q - v[:, None], occupancy=d, value=float(v @ m.rho))


def _check_policies(pi, S: int, A: int) -> np.ndarray:
    """:func:`check_policy`; a large C-ordered float64 batch is first checked in one compiled pass (the
    NumPy checks, which name the offending entry, run only if that pass finds something)."""
    if type(pi) is np.ndarray and pi.dtype == np.float64 and pi.ndim == 3 and pi.shape[1:] == (S, A) \
            and pi.size >= 1 << 16 and pi.flags.c_contiguous:
        from ._evaluate_kernels import policies_valid

        if policies_valid(pi, PROB_ATOL, MAX_ABS):
            return pi
    return check_policy(pi, S, A, batched=np.ndim(pi) == 3)


def _model_array(x, name: str, shape: tuple) -> np.ndarray:
    """A replacement kernel ``P`` (rows are distributions) or reward ``r`` for :func:`evaluate`."""
    x = as_float_array(x, name, shape=shape)
    if name == "P":
        check_simplex(x, name)
    return x


def evaluate_batch(mdp, pis, *, base=None, max_rank: int | None = None, check: bool = True):
    r"""Exact evaluation of a stack of policies ``pis[B, S, A]`` on a dense MDP.

    Returns :class:`Evaluation` with a leading batch axis, identical (to round-off, ~1e-13
    relative) to evaluating each policy with :func:`evaluate`. ``base`` is the reference policy
    ``(S, A)`` (default ``pis[0]``).

    For policies :math:`\pi_b` that agree with a base policy :math:`\pi_0` except on a set
    :math:`D_b` of :math:`k_b` states, :math:`M_b = I - \gamma P_{\pi_b}` differs from
    :math:`M_0 = I - \gamma P_{\pi_0}` in the rows :math:`D_b` only:
    :math:`M_b = M_0 - \gamma E_b \Delta_b` with :math:`E_b = [e_s]_{s\in D_b}` (S x k) and
    :math:`\Delta_b = (P_{\pi_b} - P_{\pi_0})[D_b, :]` (k x S). With :math:`Z = M_0^{-1}` (one
    factorization for the whole batch) the Sherman-Morrison-Woodbury identity gives

    .. math::

        v_b = w_b + \gamma Z_{:,D_b} C_b^{-1} \Delta_b w_b, \quad w_b = Z r_{\pi_b}, \quad
        C_b = I_k - \gamma \Delta_b Z_{:,D_b},

        d_b = d_0 + \gamma Z^\top \Delta_b^\top C_b^{-\top} d_0[D_b], \quad d_0 = (1-\gamma) Z^\top\rho,

    so each policy costs :math:`O(S^2 + k S A + k^2 S + k^3)` instead of an :math:`O(S^3)` LU.
    :math:`C_b` is invertible because :math:`M_b` is (matrix determinant lemma:
    :math:`\det M_b = \det M_0 \det C_b`). Policies with :math:`k_b >` ``max_rank`` (default
    ``S // 8``) fall back to one compiled LU per policy, as independent policies do in :func:`evaluate`
    (``mdpgrad._evaluate_kernels.evaluate_stack``). Policies are grouped by :math:`k_b` and each group
    is evaluated with stacked (batched) array operations.

    Typical uses: sweeps over local perturbations of a policy (one-state deviations for policy
    improvement or finite differences, coordinate-wise line searches, perturbation studies). For
    policies that differ everywhere (e.g. independent random policies) there is nothing to reuse:
    each needs its own O(S^3) factorization, which is then the floor of any exact method (at
    S = 100 it costs about as much as the rest of a single :func:`mdpgrad.evaluate` call).
    """
    m = as_mdp(mdp)
    if getattr(m, "is_sparse", False):
        return evaluate(m, pis, check=check)
    S, A = m.shape
    pis = as_float_array(pis, "pis", error=InvalidPolicyError) if check else np.asarray(pis, dtype=np.float64)
    if check:
        pis = check_policy(pis, S, A, name="pis", batched=True)
    elif pis.ndim != 3 or pis.shape[1:] != (S, A):
        raise InvalidInputError(f"pis: expected shape (B, {S}, {A}), got {pis.shape}.")
    B = pis.shape[0]
    pi0 = pis[0] if base is None else (check_policy(base, S, A, name="base") if check else np.asarray(base, float))
    k_max = max(1, S // 8) if max_rank is None else check_int(max_rank, "max_rank", minimum=0)
    g = m.gamma
    diff = np.any(pis != pi0[None], axis=2)  # (B, S) states where pi_b differs from the base
    k = diff.sum(axis=1)
    v = np.empty((B, S))
    d = np.empty((B, S))
    far = np.flatnonzero(k > k_max)
    if far.size:  # nothing to reuse: one compiled LU per policy (as for independent policies)
        v[far], _, _, d[far] = _evaluate_stack(m, np.ascontiguousarray(pis[far]), far)
    near = np.flatnonzero(k <= k_max)
    if near.size:
        P_pi0 = np.einsum("sa,sat->st", pi0, m.P)
        lu = scipy.linalg.lu_factor(np.eye(S) - g * P_pi0, check_finite=False)
        Z = scipy.linalg.lu_solve(lu, np.eye(S), check_finite=False)  # M_0^{-1}, one factorization
        d0 = (1.0 - g) * (Z.T @ m.rho)
        r_pi = np.einsum("bsa,sa->bs", pis[near], m.r)
        w = r_pi @ Z.T  # (n, S): w_b = Z r_b, one GEMM for the group
        v[near] = w
        d[near] = d0
        w_of = dict(zip(near.tolist(), range(near.size)))
        for kk in np.unique(k[near]):
            if kk == 0:
                continue
            group = near[k[near] == kk]
            chunk = max(1, 2_000_000 // (S * kk * (A + 2)))  # bound the (n, k, A, S) temporaries
            for lo in range(0, group.size, chunk):
                sel = group[lo:lo + chunk]
                D = np.nonzero(diff[sel])[1].reshape(sel.size, kk)  # (n, k) differing states, sorted
                dpi = pis[sel[:, None], D] - pi0[D]  # (n, k, A)
                Delta = np.einsum("nka,nkat->nkt", dpi, m.P[D])  # (n, k, S) rows of P_pi_b - P_pi0
                U = np.swapaxes(Z[:, D], 0, 1)  # (n, S, k) = Z[:, D_b]
                C = np.eye(kk)[None] - g * Delta @ U  # (n, k, k)
                wb = w[[w_of[b] for b in sel.tolist()]]
                y = np.linalg.solve(C, (Delta @ wb[..., None]))  # (n, k, 1)
                v[sel] = wb + g * (U @ y)[..., 0]
                z = np.linalg.solve(np.swapaxes(C, 1, 2), d0[D][..., None])  # (n, k, 1)
                d[sel] = d0 + g * ((np.swapaxes(Delta, 1, 2) @ z)[..., 0] @ Z)
    q = m.r + g * (v @ m.P.reshape(S * A, S).T).reshape(B, S, A)
    return Evaluation(v=v, q=q, advantage=q - v[..., None], occupancy=d, value=v @ m.rho)


_CHUNK = 32  # policies per chunk of evaluate_stack (one GEMM gives their q)


def _evaluate_many(m, pis) -> Evaluation:
    """A batch: Woodbury around ``pis[0]`` for local perturbations, else one compiled LU per policy."""
    from ._evaluate_kernels import count_far

    B, S, A = pis.shape
    pis = np.ascontiguousarray(pis)
    if B < 2 or 2 * count_far(pis, max(1, S // 8)) <= B:  # most differ from pis[0] in <= S // 8 states
        return evaluate_batch(m, pis, check=False)
    v, q, adv, d = _evaluate_stack(m, pis)
    return Evaluation(v=v, q=q, advantage=adv, occupancy=d, value=v @ m.rho)


def _evaluate_stack(m, pis, index=None):
    """``(v, q, advantage, d)`` of the C-ordered ``pis[B, S, A]`` by :func:`~mdpgrad._evaluate_kernels.evaluate_stack`
    (``index[b]``: the number of policy ``b`` in error messages)."""
    import numba

    from ._evaluate_kernels import blas_single_thread, evaluate_stack

    B, S, A = pis.shape
    # Outputs allocated by NumPy (which asks for huge pages at this size: fewer page faults than Numba's).
    v, d, q, adv = np.empty((B, S)), np.empty((B, S)), np.empty((B, S, A)), np.empty((B, S, A))
    info = np.empty(B, dtype=np.int64)
    # Chunks of up to _CHUNK policies go to the Numba threads; BLAS runs single-threaded inside them
    # (at S ~ 100 a BLAS thread pool costs more than it saves).
    n_threads = numba.get_num_threads()
    chunk = max(1, min(_CHUNK, -(-B // n_threads)))  # small batches: still one chunk per thread
    with blas_single_thread():
        evaluate_stack(np.ascontiguousarray(m.P), np.ascontiguousarray(m.r), m.gamma, np.ascontiguousarray(m.rho),
                       pis, v, q, adv, d, info, chunk, n_threads)
    if np.any(info != 0):  # cannot happen for 0 <= gamma < 1 and a valid policy (M is diagonally dominant)
        b = int(np.flatnonzero(info)[0])
        b, code = (b if index is None else int(index[b])), int(info[b])
        raise np.linalg.LinAlgError(f"I - gamma P_pi is singular for policy {b} (getrf info={code}).")
    return v, q, adv, d


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
    backend: str = "auto",
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
    backend : backend of the value-iteration sweep kernel ``bellman_max`` (``"auto"``: the fastest;
        see :mod:`mdpgrad.backend`).
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

    bellman_max = get_backend(backend, kernel="bellman_max").kernel("bellman_max")
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
        tv = bellman_max(P2, r, g, v)
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
    q = m.r
    n = 0
    stable = False
    for n in range(1, max_iter + 1):
        v = _solve_policy(m.P[ar, pi_idx], m.r[ar, pi_idx], g)[0]
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
