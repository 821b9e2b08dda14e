r"""Linear temporal-difference learning: exact references and sampled update loops.

Policy evaluation with linear features ``phi[s, :]`` (``Phi`` is the ``(S, d)`` matrix):
the value ``V^pi`` is approximated by ``Phi theta``. With ``D = diag(d_mu)`` the stationary
distribution of the behaviour chain, target transition matrix ``P_pi`` and the per-decision
importance ratios ``rho = pi / mu``, the TD(lambda) iterates (accumulating traces) follow the
mean ODE ``theta' = b - A theta`` with (Sutton 1988; Tsitsiklis & Van Roy 1997; Maei 2011)

.. math::

    A_\lambda = \Phi^\top D (I - \gamma\lambda P_\pi)^{-1} (I - \gamma P_\pi) \Phi, \qquad
    b_\lambda = \Phi^\top D (I - \gamma\lambda P_\pi)^{-1} r_\pi ,

and the **TD fixed point** is ``theta* = A^{-1} b`` (computed with a linear solve, never an
inverse). ``C = Phi^T D Phi``. Quality measures:

* MSVE ``||Phi theta - V||_D^2``;
* MSPBE ``||Pi T^lambda Phi theta - Phi theta||_D^2 = (b - A theta)^T C^{-1} (b - A theta)``.

Algorithms (one Numba kernel, :mod:`mdpgrad.kernels.td`, and a NumPy reference that uses the
same random stream): TD(lambda) with accumulating or replacing traces, GTD2 and TDC
(Sutton et al. 2009, "Fast gradient-descent methods for temporal-difference learning with
linear function approximation"), emphatic TD(lambda) (Sutton, Mahmood & White 2016), plus the
batch solvers LSTD(lambda) (Boyan 2002) and the offline forward (lambda-return) / backward
(eligibility trace) views.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ._compat import renamed
from .backend import get_backend
from .errors import InvalidInputError, InvalidMDPError
from .exact import check_policy, evaluate, policy_matrices
from .kernels.td import TD_METHOD_CODES
from .mdp import TabularMDP, as_mdp
from .validation import (
    as_float_array,
    as_generator,
    check_allocation,
    check_gamma,
    check_index,
    check_indices,
    check_nonnegative,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_probability,
    check_shape,
)

__all__ = [
    "TDSystem",
    "TDResult",
    "stationary_distribution",
    "td_system",
    "td_fixed_point",
    "mspbe",
    "msve",
    "projection",
    "run_td",
    "lstd",
    "td_on_data",
    "forward_view_offline",
    "backward_view_offline",
    "sample_transitions",
    "baird_counterexample",
    "tsitsiklis_van_roy_factor",
]


# --------------------------------------------------------------------------------------------
# exact quantities
# --------------------------------------------------------------------------------------------
def stationary_distribution(P_chain) -> np.ndarray:
    """Stationary distribution ``d`` of a row-stochastic ``P_chain`` (``d^T P = d^T``, sum 1).

    Solved as the linear system ``[P^T - I; 1^T] d = [0; 1]`` in the least-squares sense; raises
    :class:`InvalidMDPError` when the chain has more than one stationary distribution (the
    residual system is rank deficient), since TD's weighting is then not defined.
    """
    P_chain = as_float_array(P_chain, "P_chain", ndim=2)
    S = P_chain.shape[0]
    check_shape(P_chain, (S, S), "P_chain")
    M = np.vstack([P_chain.T - np.eye(S), np.ones((1, S))])
    rhs = np.zeros(S + 1)
    rhs[-1] = 1.0
    d, _, rank, _ = np.linalg.lstsq(M, rhs, rcond=None)
    if rank < S:
        raise InvalidMDPError(
            f"P_chain: the behaviour chain has {S - rank + 1} recurrent classes (rank {rank} < {S}); "
            "its stationary distribution is not unique. Use an irreducible behaviour policy / MDP."
        )
    d = np.clip(d, 0.0, None)
    return d / d.sum()


def _check_features(phi, S: int) -> np.ndarray:
    phi = as_float_array(phi, "phi", ndim=2)
    check_shape(phi, (S, None), "phi", hint="phi[s, :] are the state features, one row per state.")
    if phi.shape[1] == 0:
        raise InvalidInputError("phi: zero features (shape (S, 0)); use at least one feature column.")
    return phi


def _check_lambda(lambda_) -> float:
    return check_probability(lambda_, "lambda_")


@dataclass(frozen=True)
class TDSystem:
    r"""The exact linear system of TD(lambda) for one (MDP, target, behaviour, features).

    Attributes
    ----------
    A, b : ``A_lambda`` (d, d) and ``b_lambda`` (d,) (see module docstring); for emphatic TD
        ``D`` is replaced by the emphasis weighting ``diag(m)``.
    C : ``Phi^T D Phi`` (d, d).
    weights : (S,) the state weighting ``d_mu`` (or the emphasis ``m``).
    d_mu : (S,) stationary distribution of the behaviour chain.
    v : (S,) the exact ``V^pi``.
    theta_star : (d,) the TD fixed point ``solve(A, b)`` (minimum-norm solution when ``A`` is
        singular, e.g. more features than states).
    A0, b0 : the lambda = 0 system (defines the MSPBE that GTD2/TDC minimize).
    """

    A: np.ndarray
    b: np.ndarray
    C: np.ndarray
    weights: np.ndarray
    d_mu: np.ndarray
    v: np.ndarray
    theta_star: np.ndarray
    A0: np.ndarray
    b0: np.ndarray
    phi: np.ndarray
    gamma: float
    lambda_: float


@renamed(lam="lambda_")
def td_system(mdp, pi, phi, *, lambda_: float = 0.0, behavior=None, emphatic: bool = False) -> TDSystem:
    r"""Exact ``A_lambda``, ``b_lambda``, ``C`` and the fixed point ``theta* = A^{-1} b``.

    ``behavior`` (default ``pi``): the policy generating the data; ``D = diag(d_mu)`` with
    ``d_mu`` the stationary distribution of ``P_mu``. ``emphatic=True`` uses the emphatic
    weighting (interest 1 everywhere), Sutton, Mahmood & White (2016), eq. for ETD(lambda):
    ``m^T = d_mu^T (I - P_pi^lambda)^{-1}`` with ``I - P_pi^lambda = (I - gamma lambda_ P_pi)^{-1}
    (I - gamma P_pi)``, so ``A = Phi^T M (I - P^lambda_pi) Phi`` is positive definite.
    """
    m = as_mdp(mdp)
    S, A_n = m.shape
    pi = check_policy(pi, S, A_n)
    mu = pi if behavior is None else check_policy(behavior, S, A_n, name="behavior")
    if behavior is not None:
        bad = (pi > 0) & (mu == 0)
        if bad.any():
            s, a = np.argwhere(bad)[0]
            raise InvalidInputError(
                f"behavior[{s}, {a}] = 0 while pi[{s}, {a}] > 0: the importance ratio pi/mu is undefined; "
                "the behaviour policy must cover the target policy."
            )
    phi = _check_features(phi, S)
    lam = _check_lambda(lambda_)
    g = m.gamma
    P_pi, r_pi = policy_matrices(m, pi)
    P_mu, _ = policy_matrices(m, mu)
    d_mu = stationary_distribution(P_mu)
    eye = np.eye(S)
    v = evaluate(m, pi, check=False).v
    lu = scipy.linalg.lu_factor(eye - g * lam * P_pi)
    K = scipy.linalg.lu_solve(lu, eye - g * P_pi)  # (I - g lam P)^{-1} (I - g P)
    k_r = scipy.linalg.lu_solve(lu, r_pi)
    if emphatic:
        weights = np.linalg.solve(K.T, d_mu)  # m^T K = d_mu^T
    else:
        weights = d_mu
    A = phi.T @ (weights[:, None] * (K @ phi))
    b = phi.T @ (weights * k_r)
    C = phi.T @ (d_mu[:, None] * phi)
    A0 = phi.T @ (d_mu[:, None] * ((eye - g * P_pi) @ phi))
    b0 = phi.T @ (d_mu * r_pi)
    theta = _solve_or_min_norm(A, b)
    return TDSystem(A=A, b=b, C=C, weights=weights, d_mu=d_mu, v=v, theta_star=theta, A0=A0, b0=b0, phi=phi,
                    gamma=g, lambda_=lam)


@renamed(lam="lambda_")
def td_fixed_point(mdp, pi, phi, *, lambda_: float = 0.0, behavior=None, emphatic: bool = False) -> np.ndarray:
    """``theta* = solve(A_lambda, b_lambda)`` (see :func:`td_system`)."""
    return td_system(mdp, pi, phi, lambda_=lambda_, behavior=behavior, emphatic=emphatic).theta_star


def projection(phi, weights, v) -> np.ndarray:
    """``Pi v = Phi (Phi^T D Phi)^{-1} Phi^T D v``: the D-weighted least-squares fit of ``v``."""
    phi = as_float_array(phi, "phi", ndim=2)
    S = phi.shape[0]
    if S == 0 or phi.shape[1] == 0:
        raise InvalidInputError(f"phi: expected features phi[s, d] with S, d >= 1, got shape {phi.shape}.")
    weights = as_float_array(weights, "weights", shape=(S,))
    check_nonnegative(weights, "weights")
    v = as_float_array(v, "v", shape=(S,))
    sw = np.sqrt(weights)
    coef, *_ = np.linalg.lstsq(sw[:, None] * phi, sw * v, rcond=None)
    return phi @ coef


def _check_system_theta(system, theta) -> np.ndarray:
    if not isinstance(system, TDSystem):
        raise InvalidInputError(f"system: expected a TDSystem (from td_system), got {type(system).__name__}.")
    theta = as_float_array(theta, "theta")
    d = system.phi.shape[1]
    if theta.ndim == 0 or theta.shape[-1] != d:
        raise InvalidInputError(f"theta: expected shape (..., {d}) (one weight per feature), got {theta.shape}.")
    return theta


def msve(system: TDSystem, theta) -> np.ndarray:
    """Mean squared value error ``sum_s d_mu(s) (phi[s] . theta - V(s))^2`` (``theta`` may be ``(..., d)``)."""
    theta = _check_system_theta(system, theta)
    err = theta @ system.phi.T - system.v
    return np.sum(system.d_mu * err**2, axis=-1)


def mspbe(system: TDSystem, theta, *, lam0: bool = True) -> np.ndarray:
    r"""Mean squared projected Bellman error ``(b - A theta)^T C^{-1} (b - A theta)``.

    ``lam0=True`` (default) uses the lambda = 0 system (the objective of GTD2 / TDC);
    otherwise the TD(lambda) system. Batched over leading axes of ``theta``.
    """
    theta = _check_system_theta(system, theta)
    A, b = (system.A0, system.b0) if lam0 else (system.A, system.b)
    res = b - theta @ A.T
    # C may be singular (more features than states, e.g. Baird's 8 features on 7 states); res lies
    # in range(Phi^T D) = range(C), so the pseudo-inverse gives the same value as Pi's definition.
    w, U = np.linalg.eigh(system.C)
    keep = w > w.max() * system.C.shape[0] * np.finfo(float).eps
    proj = res @ U[:, keep]
    return np.sum(proj**2 / w[keep], axis=-1)


def _solve_or_min_norm(A, b):
    """``solve(A, b)``; the minimum-norm least-squares solution when ``A`` is numerically singular."""
    s = np.linalg.svd(A, compute_uv=False)
    if s[-1] <= s[0] * A.shape[0] * np.finfo(float).eps * 1e3:
        return np.linalg.lstsq(A, b, rcond=None)[0]
    return np.linalg.solve(A, b)


def tsitsiklis_van_roy_factor(gamma: float, lambda_: float) -> float:
    """``(1 - lambda_ gamma) / (1 - gamma)``: ``||Phi theta* - V||_D <= factor ||Pi V - V||_D``."""
    g = check_gamma(gamma)
    return (1.0 - _check_lambda(lambda_) * g) / (1.0 - g)


# --------------------------------------------------------------------------------------------
# sampled update loops
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TDResult:
    """Iterates of ``n_runs`` independent runs of a sampled TD-family method.

    ``thetas[run, k, :]`` is the weight vector after ``checkpoints[k]`` updates.
    """

    thetas: np.ndarray
    checkpoints: np.ndarray
    method: str
    seeds: np.ndarray
    backend: str


def _alias(p):
    """Alias tables ``(prob, alias)`` for the rows of ``p`` (see :mod:`mdpgrad.kernels.td`)."""
    from .kernels.td import alias_tables

    return alias_tables(np.ascontiguousarray(p, dtype=np.float64))


@renamed(lam="lambda_")
def run_td(mdp, pi, phi, *, method: str = "td", lambda_: float = 0.0, behavior=None, alpha: float = 0.05,
           beta: float = 0.05, t0: float = 1.0, power: float = 0.0, n_steps: int = 10_000,
           n_runs: int = 1, checkpoints=None, seed=0, s0: int = 0, theta0=None,
           backend="auto") -> TDResult:
    r"""Run a sampled linear TD-family method along behaviour trajectories.

    ``method``: ``"td"`` (TD(lambda), accumulating traces), ``"td_replacing"``, ``"gtd2"``,
    ``"tdc"`` (both lambda = 0) or ``"etd"`` (emphatic TD(lambda), interest 1). Off-policy when
    ``behavior`` is given: per-decision ratios ``rho_t = pi(a_t|s_t) / mu(a_t|s_t)``.
    Step ``alpha_t = alpha (t0 / (t0 + t))^power`` (``beta_t`` likewise for GTD2/TDC's ``w``).
    ``backend``: the kernel ``td_loop`` runs on ``"numba"`` (compiled, parallel over runs; what
    ``"auto"`` picks) or ``"numpy"`` (a plain Python loop, same random stream: the iterates agree
    to round-off). Run ``j`` uses seed ``base + j`` where
    ``base`` is drawn from ``seed``.
    """
    m = as_mdp(mdp)
    S, A_n = m.shape
    pi = check_policy(pi, S, A_n)
    mu = pi if behavior is None else check_policy(behavior, S, A_n, name="behavior")
    phi = np.ascontiguousarray(_check_features(phi, S))
    lam = _check_lambda(lambda_)
    if method not in TD_METHOD_CODES:
        raise InvalidInputError(f"method = {method!r}: choose one of {sorted(TD_METHOD_CODES)}.")
    code = TD_METHOD_CODES[method]
    if code in (2, 3) and lam != 0.0:
        raise InvalidInputError(f"lambda_ = {lam}: GTD2 and TDC are implemented for lambda_ = 0 only.")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mu > 0, pi / np.where(mu > 0, mu, 1.0), 0.0)
    if np.any((pi > 0) & (mu == 0)):
        s, a = np.argwhere((pi > 0) & (mu == 0))[0]
        raise InvalidInputError(f"behavior[{s}, {a}] = 0 while pi[{s}, {a}] > 0: behaviour must cover pi.")
    n_steps = check_positive_int(n_steps, "n_steps")
    n_runs = check_positive_int(n_runs, "n_runs")
    alpha, beta, t0 = (check_positive_float(v, k) for k, v in (("alpha", alpha), ("beta", beta), ("t0", t0)))
    power = check_nonnegative_float(power, "power", what="0 = constant step")
    if checkpoints is None:
        checkpoints = np.array([n_steps])
    checkpoints = check_indices(checkpoints, "checkpoints", n_steps + 1, what="checkpoint")
    if checkpoints.ndim != 1 or np.any(checkpoints < 1) or np.any(checkpoints > n_steps) or np.any(
            np.diff(checkpoints) <= 0):
        raise InvalidInputError("checkpoints: must be strictly increasing integers in [1, n_steps].")
    s0 = check_index(s0, "s0", S, what="state index")
    theta0 = np.zeros(phi.shape[1]) if theta0 is None else as_float_array(theta0, "theta0", ndim=1)
    check_shape(theta0, (phi.shape[1],), "theta0")
    base = int(as_generator(seed).integers(0, 2**62))
    seeds = np.arange(base, base + n_runs, dtype=np.uint64)
    args = (*_alias(mu), *_alias(m.P.reshape(S * A_n, S)), np.ascontiguousarray(m.r), ratio, phi,
            float(m.gamma), lam, code, float(alpha), float(beta), float(t0), float(power), n_steps, int(s0),
            checkpoints, seeds, theta0)
    be = get_backend(backend, kernel="td_loop")
    thetas = be.kernel("td_loop")(*args)
    return TDResult(thetas=thetas, checkpoints=checkpoints, method=method, seeds=seeds, backend=be.name)


def sample_transitions(mdp, behavior, n_steps: int, *, seed=0, s0: int = 0):
    """``(states, actions, next_states)`` of one behaviour trajectory (Numba, seeded)."""
    from .kernels.td import sample_path_numba

    m = as_mdp(mdp)
    S, A_n = m.shape
    mu = check_policy(behavior, S, A_n, name="behavior")
    n_steps = check_positive_int(n_steps, "n_steps")
    s0 = check_index(s0, "s0", S, what="state index")
    check_allocation((n_steps, 3), "the transition arrays (n_steps, 3)", "n_steps")
    base = int(as_generator(seed).integers(0, 2**62))
    return sample_path_numba(*_alias(mu), *_alias(m.P.reshape(S * A_n, S)), n_steps, int(s0), np.uint64(base))


# --------------------------------------------------------------------------------------------
# batch methods on feature arrays (any state space: tabular or continuous)
# --------------------------------------------------------------------------------------------
def _check_batch(phi_t, r_t, phi_tp1, discount_t, rho_t):
    phi_t = as_float_array(phi_t, "phi_t", ndim=2)
    T, d = phi_t.shape
    phi_tp1 = as_float_array(phi_tp1, "phi_tp1", ndim=2)
    check_shape(phi_tp1, (T, d), "phi_tp1")
    r_t = as_float_array(r_t, "r_t", ndim=1)
    check_shape(r_t, (T,), "r_t")
    discount_t = as_float_array(discount_t, "discount_t")
    if discount_t.shape not in ((), (T,)):
        raise InvalidInputError(f"discount_t: expected a scalar or shape ({T},) like r_t, got {discount_t.shape}.")
    discount_t = np.broadcast_to(discount_t, (T,))
    if np.any(discount_t < 0) or np.any(discount_t > 1):
        raise InvalidInputError("discount_t: every discount must lie in [0, 1].")
    rho_t = None if rho_t is None else as_float_array(rho_t, "rho_t")
    if rho_t is not None and rho_t.shape not in ((), (T,)):
        raise InvalidInputError(f"rho_t: expected a scalar or shape ({T},) like r_t, got {rho_t.shape}.")
    rho_t = np.ones(T) if rho_t is None else np.broadcast_to(rho_t, (T,))
    if np.any(rho_t < 0):
        raise InvalidInputError("rho_t: importance ratios must be >= 0.")
    return phi_t, r_t, phi_tp1, discount_t, rho_t


@renamed(lam="lambda_")
def eligibility_traces(phi_t, discount_t, lambda_: float, rho_t=None) -> np.ndarray:
    """Accumulating traces ``e_t = rho_t (discount_{t-1} lambda_ e_{t-1} + phi_t)``, ``e_{-1} = 0``."""
    phi_t = np.asarray(phi_t, dtype=np.float64)
    T = phi_t.shape[0]
    discount_t = np.broadcast_to(np.asarray(discount_t, dtype=np.float64), (T,))
    rho_t = np.ones(T) if rho_t is None else np.broadcast_to(np.asarray(rho_t, dtype=np.float64), (T,))
    e = np.zeros_like(phi_t)
    acc = np.zeros(phi_t.shape[1])
    prev = 0.0
    for t in range(T):
        acc = rho_t[t] * (prev * lambda_ * acc + phi_t[t])
        e[t] = acc
        prev = discount_t[t]
    return e


@renamed(lam="lambda_")
def lstd(phi_t, r_t, phi_tp1, *, discount_t, lambda_: float = 0.0, rho_t=None, test_t=None,
         ridge: float = 0.0) -> np.ndarray:
    r"""LSTD(lambda) (Bradtke & Barto 1996; Boyan 2002): solve ``A_hat theta = b_hat`` with

    ``A_hat = sum_t z_t (phi_t - discount_t phi_{t+1})^T``, ``b_hat = sum_t z_t r_t``, where the
    test vectors ``z_t`` are the eligibility traces (``lambda_``, per-decision ratios ``rho_t``) or
    ``test_t`` when given (an instrumental-variable / martingale-orthogonality form).
    ``ridge`` adds ``ridge * I`` to ``A_hat``.
    """
    phi_t, r_t, phi_tp1, discount_t, rho_t = _check_batch(phi_t, r_t, phi_tp1, discount_t, rho_t)
    lam = _check_lambda(lambda_)
    ridge = check_nonnegative_float(ridge, "ridge", what="ridge * I is added to A_hat")
    if test_t is None:
        z = eligibility_traces(phi_t, discount_t, lam, rho_t)
    else:
        z = as_float_array(test_t, "test_t", ndim=2)
        check_shape(z, (phi_t.shape[0], None), "test_t")
        z = z * rho_t[:, None]
    A = z.T @ (phi_t - discount_t[:, None] * phi_tp1)
    if ridge:
        A = A + ridge * np.eye(A.shape[0], A.shape[1])
    b = z.T @ r_t
    if A.shape[0] != A.shape[1]:
        sol, *_ = np.linalg.lstsq(A, b, rcond=None)  # more test functions than features: GMM form
        return sol
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        raise InvalidInputError("phi_t, phi_tp1: A_hat is singular (features collinear on these data); "
                                "pass ridge > 0 or more varied transitions.") from None


@renamed(lam="lambda_")
def td_on_data(phi_t, r_t, phi_tp1, *, discount_t, method: str = "td", lambda_: float = 0.0, rho_t=None,
               alpha: float = 0.01, beta: float = 0.05, t0: float = 1.0, power: float = 0.0, n_passes: int = 1,
               theta0=None) -> tuple[np.ndarray, np.ndarray]:
    r"""Online TD-family updates (Numba) over given transitions, in order, ``n_passes`` times.

    Works for any state space (continuous states included): the data are the feature rows
    ``phi_t``, ``phi_tp1``, rewards ``r_t``, discounts ``discount_t`` (0 cuts the trace, e.g. between
    episodes) and optional ratios ``rho_t``. ``method``: ``"td"``, ``"td_replacing"`` (lambda traces),
    ``"gtd2"``, ``"tdc"`` (lambda = 0). Returns ``(theta, theta_avg)``, the last iterate and the
    Polyak–Ruppert average over the last pass. The fixed points are LSTD's (:func:`lstd`).
    """
    from .kernels.td import td_data_numba

    phi_t, r_t, phi_tp1, discount_t, rho_t = _check_batch(phi_t, r_t, phi_tp1, discount_t, rho_t)
    lam = _check_lambda(lambda_)
    if method not in ("td", "td_replacing", "gtd2", "tdc"):
        raise InvalidInputError(f"method = {method!r}: choose 'td', 'td_replacing', 'gtd2' or 'tdc'.")
    code = TD_METHOD_CODES[method]
    if code in (2, 3) and lam != 0.0:
        raise InvalidInputError(f"lambda_ = {lam}: GTD2 and TDC are implemented for lambda_ = 0 only.")
    alpha, beta, t0 = (check_positive_float(v, k) for k, v in (("alpha", alpha), ("beta", beta), ("t0", t0)))
    power = check_nonnegative_float(power, "power", what="0 = constant step")
    n_passes = check_positive_int(n_passes, "n_passes")

    d = phi_t.shape[1]
    theta0 = np.zeros(d) if theta0 is None else as_float_array(theta0, "theta0", ndim=1)
    check_shape(theta0, (d,), "theta0")
    return td_data_numba(np.ascontiguousarray(phi_t), np.ascontiguousarray(r_t), np.ascontiguousarray(phi_tp1),
                         np.ascontiguousarray(discount_t, dtype=np.float64), np.ascontiguousarray(rho_t, dtype=np.float64),
                         lam, code, float(alpha), float(beta), float(t0), float(power), n_passes, theta0)


@renamed(lam="lambda_")
def forward_view_offline(phi_t, r_t, phi_tp1, theta, *, discount_t, lambda_: float) -> np.ndarray:
    r"""Offline forward-view increment ``sum_t (G_t^lambda - phi_t . theta) phi_t``.

    ``G_t^lambda = r_t + discount_t [(1 - lambda_) V(s_{t+1}) + lambda_ G_{t+1}^lambda]`` with the
    truncation ``G_T^lambda = V(s_T)`` at the end of the batch (``V = Phi theta`` held fixed).
    """
    phi_t, r_t, phi_tp1, discount_t, _ = _check_batch(phi_t, r_t, phi_tp1, discount_t, None)
    lam = _check_lambda(lambda_)
    theta = as_float_array(theta, "theta", shape=(phi_t.shape[1],))
    v_t = phi_t @ theta
    v_tp1 = phi_tp1 @ theta
    T = r_t.shape[0]
    G = np.empty(T)
    nxt = v_tp1[-1]
    for t in range(T - 1, -1, -1):
        G[t] = r_t[t] + discount_t[t] * ((1.0 - lam) * v_tp1[t] + lam * nxt)
        nxt = G[t]
    return phi_t.T @ (G - v_t)


@renamed(lam="lambda_")
def backward_view_offline(phi_t, r_t, phi_tp1, theta, *, discount_t, lambda_: float) -> np.ndarray:
    r"""Offline backward-view increment ``sum_t delta_t e_t`` (accumulating traces).

    Equals :func:`forward_view_offline` exactly (the telescoping identity
    ``G_t^lambda - V(s_t) = sum_{k >= t} (prod discount lambda_) delta_k``; Sutton & Barto 2018,
    sec. 12.4) when the batch is contiguous (``phi_tp1[t] == phi_t[t+1]``).
    """
    phi_t, r_t, phi_tp1, discount_t, _ = _check_batch(phi_t, r_t, phi_tp1, discount_t, None)
    lam = _check_lambda(lambda_)
    theta = as_float_array(theta, "theta", shape=(phi_t.shape[1],))
    delta = r_t + discount_t * (phi_tp1 @ theta) - phi_t @ theta
    e = eligibility_traces(phi_t, discount_t, lam)
    return e.T @ delta


# --------------------------------------------------------------------------------------------
# instances
# --------------------------------------------------------------------------------------------
def baird_counterexample(gamma: float = 0.99):
    r"""Baird's (1995) star counterexample, as in Sutton & Barto (2018), sec. 11.2.

    Seven states, two actions: *dashed* (0) goes to one of the six upper states uniformly,
    *solid* (1) goes to the lower state 6; all rewards 0. Behaviour ``mu = (6/7, 1/7)``, target
    ``pi = solid``. Features (d = 8): upper state ``i``: ``2 e_i + e_7``; lower state: ``e_6 + 2 e_7``.
    ``theta0 = (1, 1, 1, 1, 1, 1, 10, 1)``. ``V^pi = 0`` is representable, so the MSPBE minimum is 0.

    Returns ``(mdp, pi, mu, phi, theta0)``.
    """
    g = check_gamma(gamma)
    S = 7
    P = np.zeros((S, 2, S))
    P[:, 0, :6] = 1.0 / 6.0
    P[:, 1, 6] = 1.0
    mdp = TabularMDP(P, np.zeros((S, 2)), g, name="baird")
    pi = np.tile([0.0, 1.0], (S, 1))
    mu = np.tile([6.0 / 7.0, 1.0 / 7.0], (S, 1))
    phi = np.zeros((S, 8))
    for i in range(6):
        phi[i, i] = 2.0
        phi[i, 7] = 1.0
    phi[6, 6] = 1.0
    phi[6, 7] = 2.0
    theta0 = np.array([1, 1, 1, 1, 1, 1, 10, 1], dtype=np.float64)
    return mdp, pi, mu, phi, theta0
