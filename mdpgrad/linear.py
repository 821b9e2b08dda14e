r"""Linear MDPs: generators, G-optimal designs and least-squares value iteration (plain and
variance-weighted) with a generative model.

A *linear MDP* has features ``phi[s, a] in R^d`` with ``P(s' | s, a) = phi(s, a) . mu(s')`` and
``r(s, a) = phi(s, a) . w``. Then for every ``V``, ``(P V)(s, a) = phi(s, a) . (mu V)`` is linear in
``phi``, so value iteration stays in the span of the features and a regression on ``d`` well-spread
design points recovers it (Jin, Yang, Wang & Jordan 2020).

:func:`random_linear_mdp` is valid by construction: ``phi[s, a]`` lies in the probability simplex of
``R^d`` and each row ``mu[i, :]`` is a distribution over next states, so ``P[s, a] = phi[s, a] @ mu``
is a convex combination of distributions (non-negative, rows sum to 1 exactly up to round-off);
``w in [0, 1]^d`` gives rewards in ``[0, 1]``.

:func:`lsvi` runs least-squares value iteration on samples from a generative model at the support of
a G-optimal design (Kiefer–Wolfowitz: ``max_x x^T V(rho)^{-1} x = d`` at the optimum, computed by
Frank–Wolfe with the Fedorov–Wynn step). :func:`vw_lsvi` is the variance-weighted variant in the
spirit of VWLS-MDVI (Kitamura et al., "Regularization and Variance-Weighted Regression Achieves
Minimax Optimality in Linear MDPs: Theory and Practice", ICML 2023): a first phase estimates
``V*``; the conditional variance ``sigma^2(s, a) = Var_{s' ~ P(.|s, a)} V_hat(s')`` is estimated by
linear regression of ``V_hat(s')`` and ``V_hat(s')^2`` on ``phi`` (both conditional moments are linear
in a linear MDP); the second phase uses the G-optimal design for ``phi / sigma`` and weighted least
squares with weights ``1 / sigma^2``. The KL/entropy regularization of MDVI is not implemented
(``lsvi`` is the ``kappa = tau = 0`` special case), so these functions illustrate the weighting, not
the full minimax algorithm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidInputError
from .mdp import FeatureMDP, TabularMDP
from .validation import (
    as_float_array,
    as_generator,
    check_float,
    check_gamma,
    check_int,
    check_positive_float,
    check_positive_int,
)

__all__ = ["random_linear_mdp", "g_optimal_design", "LSVIResult", "lsvi", "vw_lsvi", "bellman_closure_error",
           "lsvi_expected", "regress_backup"]


def random_linear_mdp(n_states: int, n_actions: int, d: int, *, gamma: float, seed, concentration: float = 0.3,
                      anchors: bool = True, deterministic_rows: int = 0) -> FeatureMDP:
    """A random linear MDP (see module docstring), returned as a :class:`~mdpgrad.FeatureMDP` with ``mu`` and ``w``.

    ``concentration``: Dirichlet parameter for ``phi`` rows and ``mu`` rows (small = peaked).
    ``anchors=True`` makes the first ``d`` state-action pairs (row-major) one-hot features, so the
    feature set spans ``R^d`` and contains the simplex vertices. ``deterministic_rows``: that many
    rows of ``mu`` are point masses (a next-state law with zero variance), which makes the
    conditional variance of ``V(s')`` heterogeneous across state-action pairs.
    """
    S = check_positive_int(n_states, "n_states")
    A = check_positive_int(n_actions, "n_actions")
    d = check_positive_int(d, "d")
    g = check_gamma(gamma)
    if d > S * A:
        raise InvalidInputError(f"d = {d} exceeds the number of state-action pairs {S * A}; use d <= S * A.")
    concentration = check_positive_float(concentration, "concentration", what="Dirichlet parameter")
    deterministic_rows = check_int(deterministic_rows, "deterministic_rows", minimum=0, maximum=S * A)
    rng = as_generator(seed)
    phi = rng.dirichlet(np.full(d, concentration), size=(S, A))
    if anchors:
        flat = phi.reshape(S * A, d)
        flat[:d] = np.eye(d)
        phi = flat.reshape(S, A, d)
    mu = rng.dirichlet(np.full(S, concentration), size=d)
    k = int(deterministic_rows)
    if not (0 <= k <= d):
        raise InvalidInputError(f"deterministic_rows = {deterministic_rows!r} must lie in [0, d = {d}].")
    if k:
        mu[:k] = np.eye(S)[rng.choice(S, size=k, replace=False)]
    w = rng.random(d)
    P = phi @ mu
    P = P / P.sum(-1, keepdims=True)  # round-off only (rows are exact convex combinations)
    r = phi @ w
    return FeatureMDP(TabularMDP(P, r, g, name=f"linear-mdp(S={S}, A={A}, d={d})"), phi, mu=mu, w=w)


def g_optimal_design(X, *, tol: float = 1e-3, max_iter: int = 10_000) -> np.ndarray:
    r"""G-optimal (= D-optimal, Kiefer–Wolfowitz) design weights ``rho`` over the rows of ``X (n, d)``.

    Frank–Wolfe on ``log det V(rho)``, ``V(rho) = sum_i rho_i x_i x_i^T``: move to the row maximizing
    ``g_i = x_i^T V^{-1} x_i`` with step ``(g_i/d - 1)/(g_i - 1)`` until ``max_i g_i <= d (1 + tol)``
    or ``max_iter`` steps (Frank–Wolfe converges sublinearly: ``tol = 1e-3`` is cheap, ``1e-4`` may
    need more than the default ``max_iter``).
    """
    X = as_float_array(X, "X", ndim=2)
    tol = check_positive_float(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    n, d = X.shape
    if np.linalg.matrix_rank(X) < d:
        raise InvalidInputError(f"X: rank {np.linalg.matrix_rank(X)} < d = {d}; the features must span R^d.")
    rho = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        V = (X * rho[:, None]).T @ X
        g = np.sum(X * np.linalg.solve(V, X.T).T, axis=1)
        j = int(np.argmax(g))
        if g[j] <= d * (1 + tol):
            break
        step = (g[j] / d - 1) / (g[j] - 1)
        rho *= 1 - step
        rho[j] += step
    return rho


def bellman_closure_error(fmdp: FeatureMDP, v) -> float:
    """``max |P v - phi (mu v)|``: zero (round-off) for a linear MDP, for every ``v``."""
    if not isinstance(fmdp, FeatureMDP):
        raise InvalidInputError(f"fmdp: expected a FeatureMDP, got {type(fmdp).__name__}.")
    v = as_float_array(v, "v", shape=(fmdp.mdp.n_states,))
    if not fmdp.is_linear_mdp:
        raise InvalidInputError("fmdp: needs mu (a linear MDP); build one with random_linear_mdp.")
    v = as_float_array(v, "v", ndim=1)
    return float(np.max(np.abs(fmdp.P @ v - fmdp.phi @ (fmdp.mu @ v))))


def lsvi_expected(fmdp: FeatureMDP, *, n_iter: int, design=None) -> np.ndarray:
    r"""Noise-free LSVI: regress the exact targets ``r + gamma P max_a' Q`` at the design support.

    Returns the iterates ``Q_k`` (``(n_iter + 1, S, A)``, ``Q_0 = 0``, no clipping). For a linear MDP
    they coincide with exact value iteration (Bellman closure), which is what a test checks.
    """
    if not isinstance(fmdp, FeatureMDP):
        raise InvalidInputError(f"fmdp: expected a FeatureMDP, got {type(fmdp).__name__}.")
    n_iter = check_positive_int(n_iter, "n_iter")
    m = fmdp.mdp
    S, A = m.shape
    Phi = fmdp.phi.reshape(S * A, -1)
    design = g_optimal_design(Phi) if design is None else as_float_array(design, "design", ndim=1)
    sup = design > 1e-3 * design.max()
    Xd = Phi[sup]
    out = np.zeros((n_iter + 1, S, A))
    for k in range(n_iter):
        target = (m.r + m.gamma * m.P @ out[k].max(axis=1)).reshape(-1)[sup]
        theta = np.linalg.lstsq(Xd, target, rcond=None)[0]
        out[k + 1] = fmdp.phi @ theta
    return out


@dataclass(frozen=True)
class LSVIResult:
    """Output of :func:`lsvi` / :func:`vw_lsvi`.

    ``theta`` (d,), ``q = phi . theta`` (S, A), ``policy`` greedy (S, A), ``n_samples`` used,
    ``design`` weights over state-action pairs (S * A,), ``sigma2`` the variance estimates used as
    weights (``None`` when unweighted).
    """

    theta: np.ndarray
    q: np.ndarray
    policy: np.ndarray
    n_samples: int
    design: np.ndarray
    sigma2: np.ndarray | None


def _allocate(design, budget):
    support = design > 1e-3 * design.max()  # Frank-Wolfe leaves O(tol) mass off the optimal support
    counts = np.zeros(design.shape[0], dtype=np.int64)
    p = np.where(support, design, 0.0)
    p /= p.sum()
    counts[support] = np.maximum(1, np.floor(p[support] * budget).astype(np.int64))
    return counts


def _sample_next(P2, counts, rng):
    """For each pair i with counts[i] > 0, next-state samples (list of int arrays)."""
    out = []
    for i in np.nonzero(counts)[0]:
        out.append((i, rng.choice(P2.shape[1], size=int(counts[i]), p=P2[i])))
    return out


def _regress(Xd, targets, weights, ridge):
    G = (Xd * weights[:, None]).T @ Xd + ridge * np.eye(Xd.shape[1])
    return np.linalg.solve(G, (Xd * weights[:, None]).T @ targets)


def _lsvi_core(fmdp, samples, weights_pair, n_iter, ridge, clip):
    m = fmdp.mdp
    S, A = m.shape
    Phi = fmdp.phi.reshape(S * A, -1)
    rows = np.concatenate([np.full(len(ns), i) for i, ns in samples])
    nxt = np.concatenate([ns for _, ns in samples])
    Xd = Phi[rows]
    rew = m.r.reshape(-1)[rows]
    wts = weights_pair[rows]
    theta = np.zeros(Phi.shape[1])
    vmax = m.r.max() / (1 - m.gamma) if clip else np.inf
    for _ in range(n_iter):
        v = np.clip(np.max(fmdp.phi @ theta, axis=1), 0.0, vmax) if clip else np.max(fmdp.phi @ theta, axis=1)
        theta = _regress(Xd, rew + m.gamma * v[nxt], wts, ridge)
    return theta


def _greedy(q):
    pi = np.zeros_like(q)
    pi[np.arange(q.shape[0]), np.argmax(q, axis=1)] = 1.0
    return pi


def lsvi(fmdp: FeatureMDP, *, n_samples: int, n_iter: int, seed, ridge: float = 1e-8, clip: bool = True,
         design=None) -> LSVIResult:
    r"""Least-squares value iteration with a generative model.

    Draws ``~n_samples`` next states at the support of ``design`` (default: G-optimal for ``phi``),
    then iterates ``theta <- argmin sum_j (phi_j . theta - r_j - gamma max_a' phi(s'_j, a') . theta)^2``
    (targets clipped to ``[0, r_max / (1 - gamma)]`` when ``clip``) ``n_iter`` times on that data.
    """
    if not isinstance(fmdp, FeatureMDP):
        raise InvalidInputError(f"fmdp: expected a FeatureMDP, got {type(fmdp).__name__}.")
    n_samples = check_positive_int(n_samples, "n_samples")
    n_iter = check_positive_int(n_iter, "n_iter")
    ridge = check_positive_float(ridge, "ridge", what="ridge * I keeps the regression well-posed")
    rng = as_generator(seed)
    S, A = fmdp.mdp.shape
    Phi = fmdp.phi.reshape(S * A, -1)
    design = g_optimal_design(Phi) if design is None else as_float_array(design, "design", ndim=1)
    counts = _allocate(design, n_samples)
    samples = _sample_next(fmdp.P.reshape(S * A, S), counts, rng)
    theta = _lsvi_core(fmdp, samples, np.ones(S * A), n_iter, ridge, clip)
    q = fmdp.phi @ theta
    return LSVIResult(theta=theta, q=q, policy=_greedy(q), n_samples=int(counts.sum()), design=design, sigma2=None)


def vw_lsvi(fmdp: FeatureMDP, *, n_samples: int, n_iter: int, seed, first_phase: float = 0.25,
            ridge: float = 1e-8, clip: bool = True, variance_floor: float | None = None,
            design=None) -> LSVIResult:
    r"""Variance-weighted LSVI (two phases, same total budget as :func:`lsvi`; see module docstring).

    Phase 1 (``first_phase`` of the budget): plain LSVI gives ``V_hat``. Variance model: regress
    ``V_hat(s')`` and ``V_hat(s')^2`` on ``phi`` over the phase-1 samples, ``sigma2 = max(m2 - m1^2,
    floor)`` with ``floor = variance_floor`` (default ``1e-4 (r_max / (1 - gamma))^2``, a ten-thousandth
    of the largest possible variance of ``V(s')``). Phase 2: G-optimal design for
    ``phi / sigma``, weighted least squares with weights ``1 / sigma2``, warm-started value iteration.
    """
    if not isinstance(fmdp, FeatureMDP):
        raise InvalidInputError(f"fmdp: expected a FeatureMDP, got {type(fmdp).__name__}.")
    n_samples = check_positive_int(n_samples, "n_samples")
    n_iter = check_positive_int(n_iter, "n_iter")
    ridge = check_positive_float(ridge, "ridge", what="ridge * I keeps the regression well-posed")
    first_phase = check_float(first_phase, "first_phase", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    if variance_floor is not None:
        variance_floor = check_positive_float(variance_floor, "variance_floor")
    if not (0.0 < first_phase < 1.0):
        raise InvalidInputError(f"first_phase = {first_phase!r} must lie in (0, 1).")
    rng = as_generator(seed)
    m = fmdp.mdp
    S, A = m.shape
    Phi = fmdp.phi.reshape(S * A, -1)
    n1 = max(int(first_phase * n_samples), Phi.shape[1])
    design1 = g_optimal_design(Phi) if design is None else as_float_array(design, "design", ndim=1)
    counts1 = _allocate(design1, n1)
    samples1 = _sample_next(m.P.reshape(S * A, S), counts1, rng)
    theta1 = _lsvi_core(fmdp, samples1, np.ones(S * A), n_iter, ridge, clip)
    vmax = m.r.max() / (1 - m.gamma)
    v_hat = np.clip(np.max(fmdp.phi @ theta1, axis=1), 0.0, vmax)
    rows = np.concatenate([np.full(len(ns), i) for i, ns in samples1])
    nxt = np.concatenate([ns for _, ns in samples1])
    Xd = Phi[rows]
    m1 = Phi @ _regress(Xd, v_hat[nxt], np.ones(len(rows)), ridge)
    m2 = Phi @ _regress(Xd, v_hat[nxt] ** 2, np.ones(len(rows)), ridge)
    floor = 1e-4 * vmax**2 if variance_floor is None else float(variance_floor)
    sigma2 = np.maximum(m2 - m1**2, floor)
    design2 = g_optimal_design(Phi / np.sqrt(sigma2)[:, None])
    counts2 = _allocate(design2, n_samples - int(counts1.sum()))
    samples2 = _sample_next(m.P.reshape(S * A, S), counts2, rng)
    theta = _lsvi_core(fmdp, samples2, 1.0 / sigma2, n_iter, ridge, clip)
    q = fmdp.phi @ theta
    return LSVIResult(theta=theta, q=q, policy=_greedy(q), n_samples=int(counts1.sum() + counts2.sum()),
                      design=design2, sigma2=sigma2)


def regress_backup(fmdp: FeatureMDP, v, *, n_samples: int, seed, sigma2=None, design=None, n_replicates: int = 1,
                   ridge: float = 1e-8) -> np.ndarray:
    r"""One (variance-weighted) least-squares regression of ``V(s')`` on ``phi`` from a generative model.

    Estimates ``theta = mu V`` (so ``phi(s, a) . theta = (P V)(s, a)``) from ``~n_samples`` next states
    at the support of ``design`` (default: G-optimal for ``phi / sigma``, with ``sigma = 1`` when
    ``sigma2`` is None), minimizing ``sum_j (phi_j . theta - V(s'_j))^2 / sigma2_j``. This is the
    regression step of VWLS-MDVI (Kitamura et al., ICML 2023) with the variances given. Returns the
    estimates of ``n_replicates`` independent data sets, shape ``(n_replicates, d)``; replicates are
    drawn as multinomial counts per design pair (the regression only depends on these sufficient
    statistics).
    """
    if not isinstance(fmdp, FeatureMDP):
        raise InvalidInputError(f"fmdp: expected a FeatureMDP, got {type(fmdp).__name__}.")
    n_samples = check_positive_int(n_samples, "n_samples")
    n_replicates = check_positive_int(n_replicates, "n_replicates")
    ridge = check_positive_float(ridge, "ridge", what="ridge * I keeps the regression well-posed")
    S, A = fmdp.mdp.shape
    v = as_float_array(v, "v", shape=(S,))
    Phi = fmdp.phi.reshape(S * A, -1)
    if sigma2 is None:
        s2 = np.ones(S * A)
    else:
        s2 = as_float_array(sigma2, "sigma2", shape=(S * A,))
        if np.any(s2 <= 0):
            i = int(np.argmin(s2))
            raise InvalidInputError(f"sigma2[{i}] = {s2[i]!r} must be > 0; floor the variances (e.g. 1e-6) first.")
    design = (g_optimal_design(Phi / np.sqrt(s2)[:, None]) if design is None
              else as_float_array(design, "design", shape=(S * A,)))
    rng = as_generator(seed)
    counts = _allocate(design, n_samples)
    idx = np.nonzero(counts)[0]
    P2 = fmdp.P.reshape(S * A, S)
    means = np.empty((n_replicates, idx.size))
    for j, i in enumerate(idx):
        means[:, j] = rng.multinomial(int(counts[i]), P2[i], size=n_replicates) @ v / counts[i]
    Xd = Phi[idx]
    w = counts[idx] / s2[idx]
    G = (Xd * w[:, None]).T @ Xd + ridge * np.eye(Xd.shape[1])
    return np.linalg.solve(G, (Xd * w[:, None]).T @ means.T).T
