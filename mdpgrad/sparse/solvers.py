r"""Evaluation and optimal control for :class:`~mdpgrad.sparse.SparseMDP`.

Accuracy contract
-----------------
``tol`` is the **sup-norm error of the returned v**: on success ``max_s |v[s] - v*[s]| <=
error_bound <= tol``. Every solver certifies it with the span (MacQueen 1966) bound, valid
for *any* ``v``: with :math:`\Delta = Tv - v` and :math:`c = \gamma/(1-\gamma)`,

.. math:: Tv + c\min\Delta \;\le\; v^* \;\le\; Tv + c\max\Delta,

so the midpoint :math:`Tv + c(\max\Delta + \min\Delta)/2` is within
:math:`c\,\mathrm{span}(\Delta)/2` of :math:`v^*` (Puterman 1994, Thm 6.6.6). The returned
``error_bound`` adds the float64 round-off of one backup, :math:`\delta/(1-\gamma) + u\|v\|`
with :math:`\delta = (n_{row}+4)\,u\,(\|r\|_\infty + \|v\|_\infty)`, :math:`u = 2^{-53}` and
:math:`n_{row}` the largest number of successors of a pair, so the bound is a bound on the
computed numbers, not only on exact arithmetic.

How this differs from quantecon's ``epsilon``: ``DiscreteDP.solve(epsilon=...)`` promises an
``epsilon``-optimal *policy*. Its value iteration stops when
:math:`\|Tv - v\|_\infty < \epsilon(1-\beta)/(2\beta)` (a sup-norm test, so it needs
:math:`\approx\log(\epsilon)/\log\beta` sweeps), and its modified policy iteration stops when
:math:`\mathrm{span}(Tv - v) < \epsilon(1-\beta)/\beta`; in exact arithmetic the value it returns is
then within :math:`\epsilon/2` of :math:`v^*`, but that number is not reported and round-off
is not accounted for. Here ``tol`` is the value error itself, the certificate is returned
as ``error_bound``. The returned ``actions`` are greedy for the last iterate ``v``, which is
within ``error_bound / gamma`` of :math:`v^*` up to an additive constant (from the same bounds:
:math:`v^* - v \in [\min\Delta, \max\Delta]/(1-\gamma)`), and greedy choices ignore constants, so
the policy loses at most :math:`2\,\mathrm{tol}/(1-\gamma)` (Singh & Yee 1994).

Methods
-------
* ``value_iteration``: :math:`v \leftarrow Tv` (fused Numba backup, parallel over states).
* ``modified_policy_iteration`` (Puterman & Shin 1978; the default): one backup :math:`Tv` with its
  greedy :math:`\mu`, then cheap backups :math:`T^\mu` (each reads only one row per state), as many
  as the span stopping rule asks for (``m=None``) or exactly ``m``; states whose greedy action
  provably cannot change skip the other rows, and MacQueen's test drops suboptimal actions
  (kernels: :mod:`mdpgrad.kernels.sparse_mpi`).
* ``policy_iteration`` (Howard 1960) with a Krylov evaluation step: :math:`(I-\gamma P_\mu)v =
  r_\mu` is solved by BiCGSTAB (default; GMRES on breakdown or with ``krylov="gmres"``)
  instead of a sparse LU, which fills in on random
  graphs. Krylov tolerance: residual 2-norm :math:`\le \max((1-\gamma)\,\mathrm{tol}/2,\;
  10^{-13}\|r_\mu\|_2)`; since :math:`\|v - v^\mu\|_\infty \le \|res\|_\infty/(1-\gamma) \le
  \|res\|_2/(1-\gamma)`, each evaluation is within ``tol/2`` of :math:`v^\mu` whenever the first
  term is attainable. When the policy is stable the span bound above is checked, and a few
  backups polish ``v`` if the Krylov residual left it short; the certificate is what is returned.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from ..backend import get_backend
from ..errors import InvalidInputError, InvalidPolicyError
from ..kernels.sparse_mpi import MpiState
from ..validation import (
    as_float_array,
    check_choice,
    check_indices,
    check_int,
    check_policy,
    check_positive_float,
    check_positive_int,
)
from .model import SparseMDP, to_sparse

__all__ = [
    "SparseSolveResult",
    "bellman_max",
    "bellman_policy",
    "policy_sweeps",
    "policy_matrices",
    "policy_values",
    "value_iteration",
    "modified_policy_iteration",
    "policy_iteration",
    "solve",
    "span_bound",
]

_U = 2.0**-53


def _kernel(backend, name: str):
    return get_backend(backend, kernel=name).kernel(name)


def _as_sparse(mdp) -> SparseMDP:
    return mdp if isinstance(mdp, SparseMDP) else to_sparse(mdp)


# --- operators ------------------------------------------------------------------------------
def bellman_max(mdp, v, *, backend: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    r"""``(Tv, greedy)``: :math:`(Tv)(s) = \max_a r(s,a) + \gamma P(\cdot|s,a)\cdot v` and the first argmax."""
    m = _as_sparse(mdp)
    v = np.ascontiguousarray(as_float_array(v, "v", shape=(m.n_states,)))
    return _kernel(backend, "sparse_bellman_max")(m, v)


def policy_sweeps(mdp, actions, v, n_sweeps: int = 1, *, backend: str = "auto") -> np.ndarray:
    r""":math:`(T^\mu)^{n} v` for a deterministic policy ``actions[s]`` (``n = n_sweeps``)."""
    m = _as_sparse(mdp)
    act = np.ascontiguousarray(check_indices(actions, "actions", m.n_actions, what="action index"))
    if act.shape != (m.n_states,):
        raise InvalidPolicyError(f"actions: expected one action per state, shape ({m.n_states},), got {act.shape}.")
    v = np.ascontiguousarray(as_float_array(v, "v", shape=(m.n_states,)))
    n_sweeps = check_int(n_sweeps, "n_sweeps", minimum=0)
    return _kernel(backend, "sparse_policy_sweeps")(m, act, v, int(n_sweeps))


def bellman_policy(mdp, pi, v, *, backend: str = "auto") -> np.ndarray:
    r""":math:`T^\pi v` for a stochastic policy ``pi[s, a]`` or a deterministic ``pi[s]`` (ints)."""
    m = _as_sparse(mdp)
    pi = np.asarray(pi)
    if pi.ndim == 1:
        return policy_sweeps(m, pi, v, 1, backend=backend)
    pi = np.ascontiguousarray(check_policy(pi, *m.shape))
    v = np.ascontiguousarray(as_float_array(v, "v", shape=(m.n_states,)))
    return _kernel(backend, "sparse_bellman_policy")(m, pi, v)


def policy_matrices(mdp, pi) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    r"""``(P_pi, r_pi)``: the ``(S, S)`` CSR matrix :math:`\sum_a \pi(a|s) P(\cdot|s,a)` and :math:`r_\pi`.

    ``pi`` is ``(S, A)`` (stochastic) or ``(S,)`` integer actions (deterministic).
    """
    m = _as_sparse(mdp)
    S, A = m.shape
    pi = np.asarray(pi)
    if pi.ndim == 1:
        act = check_indices(pi, "pi", A, what="action index")
        if act.shape != (S,):
            raise InvalidPolicyError(f"pi: expected one action per state, shape ({S},), got {act.shape}.")
        return m.P[np.arange(S) * A + act], m.r[np.arange(S), act]
    pi = check_policy(pi, S, A)
    Pi = scipy.sparse.csr_matrix(
        (np.asarray(pi, dtype=np.float64).ravel(), np.arange(S * A), np.arange(0, S * A + 1, A)), shape=(S, S * A)
    )
    P_pi = (Pi @ m.P).tocsr()
    return P_pi, np.sum(pi * m.r, axis=1)


def span_bound(mdp, v, tv) -> tuple[float, np.ndarray, float]:
    """MacQueen certificate for ``v`` given ``tv = T v``: ``(bound, midpoint, floor)`` with
    ``max |midpoint - v*| <= bound`` including float64 round-off (module docstring); ``floor``
    is the round-off part, below which no tolerance can be certified."""
    m = _as_sparse(mdp) if not hasattr(mdp, "gamma") or not hasattr(mdp, "n_states") else mdp
    v = as_float_array(v, "v", shape=(m.n_states,))
    tv = as_float_array(tv, "tv", shape=(m.n_states,))
    g = m.gamma
    delta = tv - v
    lo, hi = float(delta.min()), float(delta.max())
    c = g / (1.0 - g)
    mid = tv + c * (hi + lo) / 2.0
    vmax = float(max(np.max(np.abs(v)), np.max(np.abs(tv))))
    d_fp = (m.max_row_nnz + 4) * _U * (m.r_max + vmax)
    floor = d_fp / (1.0 - g) + _U * float(np.max(np.abs(mid)))
    return c * (hi - lo) / 2.0 + floor, mid, floor


# --- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SparseSolveResult:
    """Result of the sparse solvers (same fields as :class:`mdpgrad.exact.SolveResult`, plus work counts).

    Attributes
    ----------
    v : (S,) values with ``max_s |v - v*| <= error_bound`` (certified, round-off included).
    q : (S, A) ``r + gamma P v``, computed on first access (one product with ``P``; a solve that
        only needs ``v`` and ``actions`` does not pay for it).
    actions : (S,) greedy actions (deterministic policy).
    n_iter : outer iterations (sweeps for VI, improvement steps for MPI / PI).
    converged : whether ``error_bound <= tol`` was certified.
    error_bound : the certificate.
    method, message : what ran.
    n_backups : full optimality backups ``T`` applied (each touches all ``nnz`` entries).
    n_policy_backups : single-policy backups / Krylov matrix-vector products (``nnz / A`` each).
    """

    v: np.ndarray
    actions: np.ndarray
    n_iter: int
    converged: bool
    error_bound: float
    method: str
    message: str = ""
    n_backups: int = 0
    n_policy_backups: int = 0
    mdp: SparseMDP | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def q(self) -> np.ndarray:
        """``(S, A)`` ``r + gamma P v`` (computed once, on first access)."""
        return self.mdp.r + self.mdp.gamma * self.mdp.expected_next(self.v)

    def __getstate__(self):
        # pickles carry q, not the MDP (whose P can be 100x larger): sweeps and dask ship results
        state = dict(self.__dict__)
        state["q"] = self.q
        state["mdp"] = None
        return state

    @property
    def policy(self) -> np.ndarray:
        """One-hot ``(S, A)`` greedy policy (built on access)."""
        S, A = self.q.shape if self.mdp is None else (self.v.shape[0], self.mdp.n_actions)
        pi = np.zeros((S, A))
        pi[np.arange(S), self.actions] = 1.0
        return pi

    @property
    def value(self) -> np.ndarray:
        return self.v


def _check_tol(tol) -> float:
    return check_positive_float(tol, "tol", what="a sup-norm error on v")


def _v0(m: SparseMDP, v0) -> np.ndarray:
    if v0 is None:
        return np.zeros(m.n_states)
    v = as_float_array(v0, "v0", ndim=1)
    if v.shape != (m.n_states,):
        raise InvalidInputError(f"v0: expected shape ({m.n_states},) (one value per state), got {v.shape}.")
    return v.copy()


def _finish(m, v, tv, act, bound, n, ok, method, msg, nb, npb) -> SparseSolveResult:
    return SparseSolveResult(v=v, mdp=m, actions=act, n_iter=n, converged=ok, error_bound=float(bound),
                             method=method, message=msg, n_backups=nb, n_policy_backups=npb)


def _floor_note(floor: float, tol: float) -> str:
    if floor > tol / 2:
        return (f"; stopped: tol = {tol:g} is below twice the float64 round-off floor {floor:.3g} of one backup "
                "(ask for a larger tol)")
    return ""


def _default_max_iter(m, span0, tol) -> int:
    """Sweeps after which the span bound is below ``tol`` from span(T v0 - v0) = span0, using the
    span contraction ``span(T^2 v - T v) <= gamma span(T v - v)`` (doubled, plus slack)."""
    g = m.gamma
    if g < 1e-300 or not span0 > 0:
        return 10
    need = (np.log(2 * tol) + np.log1p(-g) - np.log(g) - np.log(span0)) / np.log(g)
    return int(2 * min(max(need, 1.0), 1e8)) + 10


# --- solvers ----------------------------------------------------------------------------------
def value_iteration(mdp, *, tol: float = 1e-8, max_iter: int | None = None, v0=None,
                    backend: str = "auto") -> SparseSolveResult:
    """Value iteration with the certified span stopping rule (module docstring)."""
    m = _as_sparse(mdp)
    tol = _check_tol(tol)
    if max_iter is not None:
        max_iter = check_positive_int(max_iter, "max_iter")
    v = _v0(m, v0)
    n = nb = 0
    bound, act = np.inf, None
    while True:
        tv, act = bellman_max(m, v, backend=backend)
        n += 1
        nb += 1
        bound, mid, floor = span_bound(m, v, tv)
        if max_iter is None:
            max_iter = _default_max_iter(m, float(np.ptp(tv - v)), tol)
        if bound <= tol or n >= max_iter or floor > tol / 2:
            v = mid  # the certificate is about the midpoint, converged or not
            break
        v = tv
    ok = bound <= tol
    return _finish(m, v, None, act, bound, n, ok, "value_iteration",
                   f"value iteration: {n} sweeps, certified error {bound:.3g}{_floor_note(floor, tol)}", nb, 0)


def _certificate(m, lo: float, hi: float, vmax: float) -> tuple[float, float, float]:
    """``(bound, floor, noise)`` of the span certificate from ``min / max (Tv - v)`` and
    ``vmax >= max(|v|, |Tv|)`` (as :func:`span_bound`, with ``|midpoint| <= vmax + c max|Delta|``);
    ``noise`` is the round-off ``delta`` of one backup, below which no span can be measured."""
    g = m.gamma
    c = g / (1.0 - g)
    noise = (m.max_row_nnz + 4) * _U * (m.r_max + vmax)
    floor = noise / (1.0 - g) + _U * (vmax + c * max(abs(lo), abs(hi)))
    return c * (hi - lo) / 2.0 + floor, floor, noise


#: Adaptive partial evaluation (``m=None``): sweeps stop when span(T^mu u - u) <= _ETA span(Tv - v)
#: (the evaluation error is then small next to what the policy's last change can move), when the
#: span certifies ``tol``, or after _SWEEPS_PER_ACTION * A sweeps (about that many full backups of work).
_ETA = 0.03
_SWEEPS_PER_ACTION = 16


def modified_policy_iteration(mdp, *, tol: float = 1e-8, m: int | None = None, max_iter: int | None = None,
                              v0=None, backend: str = "auto", eliminate: bool = True) -> SparseSolveResult:
    r"""Modified policy iteration: ``v <- (T^mu)^m T v`` with ``mu`` greedy for ``v`` (Puterman & Shin 1978).

    ``m`` partial-evaluation backups per improvement. Default (``m=None``) is adaptive: sweep
    until :math:`\mathrm{span}((T^\mu)^{k+1} v - (T^\mu)^k v) \le 0.03\,\mathrm{span}(Tv - v)`
    (the span, not the sup norm: the constant direction is what the midpoint correction removes,
    and the span contracts at the mixing rate of ``P_mu``, not at ``gamma``), or until the span is
    small enough to certify ``tol``, at most ``16 A`` sweeps (a sweep reads one row per state,
    about ``1/A`` of a full backup). A fixed integer ``m`` runs exactly ``m`` sweeps (``m = 0`` is
    value iteration). Stops on the certified span bound (module docstring).

    ``eliminate=True`` drops actions proven suboptimal by the span bounds (MacQueen 1967;
    Puterman 1994, Sec. 6.7.2): with :math:`\Delta = Tv - v`, :math:`Q^*(s,a) \le q(s,a) + c\max\Delta`
    and :math:`V^*(s) \ge Tv(s) + c\min\Delta`, so an action with :math:`q(s,a) < Tv(s) -
    c\,\mathrm{span}(\Delta) - 4\,\mathrm{floor}` is strictly suboptimal (the margin covers the
    round-off of ``q``, ``Tv`` and :math:`\Delta`). Later backups skip it; the restricted MDP has the
    same :math:`v^*`, so its certificate certifies :math:`v^*`. Once every state has one action
    left, a sweep *is* the restricted backup and each sweep's span is checked as a certificate.
    """
    mm = _as_sparse(mdp)
    tol = _check_tol(tol)
    adaptive = m is None
    n_sweeps = _SWEEPS_PER_ACTION * mm.n_actions if adaptive else check_int(
        m, "m", minimum=0, what="partial evaluation sweeps")
    if max_iter is not None:
        max_iter = check_positive_int(max_iter, "max_iter")
    if not isinstance(eliminate, (bool, np.bool_)):
        raise InvalidInputError(f"eliminate = {eliminate!r} must be True or False (action elimination on / off).")
    v = _v0(mm, v0)
    be = get_backend(backend, kernel="sparse_mpi_backup")
    backup, elim, sweeps = (be.kernel(f"sparse_mpi_{k}") for k in ("backup", "eliminate", "sweeps"))
    st = MpiState(mm)
    g = mm.gamma
    c = g / (1.0 - g)
    n = nb = npb = 0
    multi = int(mm.n_actions > 1)  # states with more than one action left (0: the MDP is one policy)
    v_prev = None
    while True:
        # greedy-stability skip (mpi_backup_numba): dec bounds how far the Q-value gaps moved since the
        # last backup, gamma span(v - v_prev); both margins are 4x the round-off of one Q-value
        noise = (mm.max_row_nnz + 4) * _U * 2.0 * (mm.r_max + float(np.max(np.abs(v))))
        dec = np.inf if v_prev is None else g * float(np.ptp(v - v_prev)) + 4.0 * noise
        tv, lo, hi, vmax, spread = backup(mm, v, st, dec, 4.0 * noise)
        v_prev = v
        n += 1
        nb += 1
        bound, floor, noise = _certificate(mm, lo, hi, vmax)
        if max_iter is None:
            max_iter = _default_max_iter(mm, hi - lo, tol)
        if bound <= tol or n >= max_iter or floor > tol / 2:
            v = tv + c * (hi + lo) / 2.0  # the certificate is about the midpoint, converged or not
            break
        thr = c * (hi - lo) + 4.0 * floor
        if eliminate and multi and thr < spread:  # spread: the largest q-lead, nothing to drop above it
            multi = elim(mm, st, tv, thr)
        if n_sweeps == 0:
            v = tv.copy()
            continue
        target = 2.0 * (tol - 2.0 * floor) / c if c > 0 else np.inf  # a span that certifies tol
        stop = 0.0 if not adaptive else max(_ETA * (hi - lo) if multi else 0.0, 0.5 * target, 4.0 * noise)
        prev, v, k, _ = sweeps(mm, st, tv, n_sweeps, stop)
        npb += k
        if multi == 0:  # every state has one action: (prev, v = T prev) carries the certificate
            d = v - prev
            lo2, hi2 = float(d.min()), float(d.max())
            b2, f2, _ = _certificate(mm, lo2, hi2, float(max(np.abs(v).max(), np.abs(prev).max())))
            if b2 <= tol:
                bound, floor = b2, f2
                v = v + c * (hi2 + lo2) / 2.0
                break
    ok = bound <= tol
    act = st.act.copy()
    n_elim = int(mm.n_states * mm.n_actions - st.nact.sum())
    return _finish(mm, v, None, act, bound, n, ok, "modified_policy_iteration",
                   f"modified policy iteration (m={'adaptive' if adaptive else n_sweeps}): {n} improvements, "
                   f"{npb} evaluation sweeps, {n_elim} actions eliminated, certified error {bound:.3g}"
                   f"{_floor_note(floor, tol)}",
                   nb, npb)


class _Counter:
    def __init__(self):
        self.n = 0

    def __call__(self, *_):
        self.n += 1


def _krylov_solve(M, b, x0, atol, rtol, krylov, maxiter):
    """Solve ``M x = b`` with GMRES / BiCGSTAB (scipy); returns ``(x, info, n_matvec)``."""
    count = _Counter()
    if krylov == "gmres":
        x, info = scipy.sparse.linalg.gmres(M, b, x0=x0, rtol=rtol, atol=atol, restart=30, maxiter=maxiter,
                                            callback=count, callback_type="pr_norm")
    elif krylov == "bicgstab":
        x, info = scipy.sparse.linalg.bicgstab(M, b, x0=x0, rtol=rtol, atol=atol, maxiter=maxiter, callback=count)
    else:
        raise InvalidInputError(f"krylov = {krylov!r} is not known; choose 'gmres' or 'bicgstab'.")
    return x, int(info), count.n


def _system(m: SparseMDP, P_mu):
    S = m.n_states
    g = m.gamma
    return scipy.sparse.linalg.LinearOperator((S, S), matvec=lambda x: x - g * (P_mu @ x), dtype=np.float64)


def policy_iteration(mdp, *, tol: float = 1e-8, krylov: str = "bicgstab", max_iter: int = 1000, v0=None,
                     backend: str = "auto", krylov_maxiter: int = 200,
                     max_polish: int = 10_000) -> SparseSolveResult:
    r"""Howard's policy iteration with a Krylov (BiCGSTAB, default, or GMRES) evaluation step.

    Evaluation solves :math:`(I - \gamma P_\mu) v = r_\mu` from the previous ``v`` (warm start)
    to residual 2-norm :math:`\le \max((1-\gamma)\mathrm{tol}/2, 10^{-13}\|r_\mu\|_2)` (module
    docstring); a BiCGSTAB breakdown falls back to GMRES (restart 30) for that step.
    Improvement keeps the current action on near-ties (``1e-12`` relative) so round-off
    cannot make the policy cycle. When the policy is stable the span certificate
    is computed; if the Krylov residual left it above ``tol``, backups ``v <- Tv`` (which
    contract the span geometrically) polish it, at most ``max_polish`` of them.
    """
    mm = _as_sparse(mdp)
    tol = _check_tol(tol)
    check_choice(krylov, "krylov", ("bicgstab", "gmres"))
    max_iter = check_positive_int(max_iter, "max_iter")
    krylov_maxiter = check_positive_int(krylov_maxiter, "krylov_maxiter")
    max_polish = check_int(max_polish, "max_polish", minimum=0)
    S, A = mm.shape
    g = mm.gamma
    ar = np.arange(S)
    v = _v0(mm, v0)
    if v0 is None:
        act = np.argmax(mm.r, axis=1)
    else:
        act = bellman_max(mm, v, backend=backend)[1]
    n = nb = npb = 0
    stable = False
    for n in range(1, max_iter + 1):
        P_mu, r_mu = policy_matrices(mm, act)
        atol = max((1.0 - g) * tol / 2.0, 1e-13 * float(np.linalg.norm(r_mu)))
        v_new, info, k = _krylov_solve(_system(mm, P_mu), r_mu, v, atol, 0.0, krylov, krylov_maxiter)
        npb += k
        if info < 0 and krylov != "gmres":  # BiCGSTAB breakdown: redo this evaluation with GMRES
            v_new, info, k = _krylov_solve(_system(mm, P_mu), r_mu, v, atol, 0.0, "gmres", krylov_maxiter)
            npb += k
        v = v_new
        tv, new = bellman_max(mm, v, backend=backend)
        nb += 1
        q_old = mm.r[ar, act] + g * np.asarray(P_mu @ v)
        keep = q_old >= tv - 1e-12 * (1.0 + np.abs(tv))
        new = np.where(keep, act, new)
        if np.array_equal(new, act):
            stable = True
            break
        act = new
    bound, mid, floor = span_bound(mm, v, tv)
    polish = 0
    while bound > tol and polish < max_polish and floor <= tol / 2:
        v = tv
        tv, act = bellman_max(mm, v, backend=backend)
        nb += 1
        polish += 1
        bound, mid, floor = span_bound(mm, v, tv)
    v = mid
    ok = bool(stable and bound <= tol)
    return _finish(mm, v, None, act, bound, n, ok, "policy_iteration",
                   f"policy iteration ({krylov}): {n} improvements, stable={stable}, {polish} polishing "
                   f"backups, certified error {bound:.3g}{_floor_note(floor, tol)}", nb, npb)


_METHODS = {
    "value_iteration": value_iteration,
    "modified_policy_iteration": modified_policy_iteration,
    "policy_iteration": policy_iteration,
}
_ALIASES = {"vi": "value_iteration", "mpi": "modified_policy_iteration", "pi": "policy_iteration"}


def solve(mdp, method: str = "modified_policy_iteration", *, tol: float = 1e-8, max_iter: int | None = None,
          v0=None, backend: str = "auto", **options) -> SparseSolveResult:
    """Optimal control of a sparse MDP; ``method`` in ``value_iteration`` | ``modified_policy_iteration``
    | ``policy_iteration`` (aliases ``vi``, ``mpi``, ``pi``). ``tol`` is the certified sup-norm error
    of ``v`` (module docstring). Extra ``options`` go to the method (``m=``, ``krylov=``)."""
    name = _ALIASES.get(method, method) if isinstance(method, str) else method
    if max_iter is not None:
        max_iter = check_positive_int(max_iter, "max_iter")
    if not isinstance(name, str) or name not in _METHODS:
        raise InvalidInputError(
            f"method = {method!r} is not available for sparse MDPs; choose one of {', '.join(_METHODS)} "
            "(linear programming needs the dense TabularMDP: use SparseMDP.to_dense())."
        )
    kw = dict(tol=tol, v0=v0, backend=backend, **options)
    if max_iter is not None:
        kw["max_iter"] = max_iter
    return _METHODS[name](mdp, **kw)


# --- exact evaluation -------------------------------------------------------------------------
def _solve_linear(M: scipy.sparse.csr_matrix, b: np.ndarray, bt: np.ndarray, method: str, rtol: float):
    """``x = M^{-1} b`` and ``y = M^{-T} bt``, by sparse LU (``direct``) or GMRES."""
    if method == "direct":
        lu = scipy.sparse.linalg.splu(M.tocsc())
        return lu.solve(b), lu.solve(bt, trans="T")
    atol_b = rtol * float(np.linalg.norm(b))
    atol_t = rtol * float(np.linalg.norm(bt))
    x, info_x, _ = _krylov_solve(M, b, None, atol_b, rtol, method, 1000)
    if info_x < 0:  # BiCGSTAB breakdown: GMRES does not break down
        x, info_x, _ = _krylov_solve(M, b, None, atol_b, rtol, "gmres", 1000)
    Mt = M.T.tocsr()
    y, info_y, _ = _krylov_solve(Mt, bt, None, atol_t, rtol, method, 1000)
    if info_y < 0:
        y, info_y, _ = _krylov_solve(Mt, bt, None, atol_t, rtol, "gmres", 1000)
    if info_x or info_y:
        raise RuntimeError(
            f"{method} did not reach rtol = {rtol:g} in evaluation (info = {info_x}, {info_y}); "
            "use method='direct' or a looser rtol."
        )
    return x, y


def policy_values(mdp, pi, *, method: str = "auto", rtol: float = 1e-12):
    r"""``(v, q, d)`` of one policy ``pi[s, a]`` on a sparse MDP (no policy validation: call
    :func:`mdpgrad.evaluate`, which validates, dispatches here and returns an ``Evaluation``).

    Solves :math:`(I - \gamma P_\pi) v = r_\pi` and :math:`(I - \gamma P_\pi)^\top d = (1-\gamma)\rho`
    by sparse LU (``method="direct"``, the default up to S = 3000) or GMRES / BiCGSTAB to
    relative residual ``rtol`` (default 1e-12, so :math:`\|v - v^\pi\|_\infty \le 10^{-12}\|r_\pi\|_2/(1-\gamma)`).
    """
    m = _as_sparse(mdp)
    S, A = m.shape
    pi = as_float_array(pi, "pi", error=InvalidPolicyError)
    if pi.shape != (S, A):
        raise InvalidPolicyError(f"pi: expected shape ({S}, {A}), got {pi.shape}.")
    rtol = check_positive_float(rtol, "rtol", hi=1.0, what="relative residual of the linear solve")
    if method == "auto":
        method = "direct" if S <= 3000 else "gmres"
    if method not in ("direct", "gmres", "bicgstab"):
        raise InvalidInputError(f"method = {method!r} is not known; choose 'auto', 'direct', 'gmres' or 'bicgstab'.")
    g = m.gamma
    P_pi, r_pi = policy_matrices(m, pi)
    M = (scipy.sparse.identity(S, format="csr") - g * P_pi).tocsr()
    v, d = _solve_linear(M, r_pi, (1.0 - g) * m.rho, method, rtol)
    return v, m.r + g * m.expected_next(v), d
