r"""Exact solvers: the beta-regularized Nash equilibrium and the minimax winner.

* :func:`regularized_nash` -- the unique equilibrium of the beta-regularized preference game,
  characterized by the first-order (Gibbs) condition

  .. math:: \log\pi^*_\beta = \log\mu + P\pi^*_\beta/\beta - c\,\mathbf 1 ,

  i.e. ``pi*`` is its own regularized best response. It is computed by Mirror Prox
  iterations (linear rate ``1/(1+2 beta)`` per iteration, see :mod:`.algorithms`) followed by
  Newton polishing on the logits when ``K <= newton_max_K``, and *certified* by the residual
  ``span(log pi - log mu - P pi / beta) <= tol`` (solver-independent).
* :func:`minimax_winner` -- a maximin (von Neumann) strategy of the unregularized game,
  ``max_pi min_y P(pi > y)`` (value 1/2), by the linear program

  .. math:: \max_{\pi, v} v \ \text{s.t.}\ (\pi^\top P)_j \ge v\ \forall j,\ \pi\in\Delta_K,

  solved with ``scipy.optimize.linprog`` (HiGHS). Dudík et al. (2015) "Contextual dueling
  bandits" call it the von Neumann winner; Swamy et al. (2024) "A Minimaximalist Approach
  to Reinforcement Learning from Human Feedback" the Minimax Winner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from ..errors import InvalidInputError, InvalidPreferenceError
from ..validation import as_float_array, check_int, check_positive_float, check_positive_int
from .preference import (
    PreferenceGame,
    check_game,
    check_preference,
    exploitability,
    log_normalize,
    regularized_exploitability,
)

__all__ = ["NashSolution", "MinimaxWinner", "regularized_nash", "minimax_winner", "nash_residual"]


@dataclass(frozen=True)
class NashSolution:
    """The beta-regularized Nash equilibrium and its certificate."""

    pi: np.ndarray
    log_pi: np.ndarray
    residual: float  # span(log pi - log mu - P pi / beta)
    gap: float  # regularized exploitability (>= 0)
    n_iter: int
    converged: bool
    method: str


@dataclass(frozen=True)
class MinimaxWinner:
    """A minimax winner of the unregularized game."""

    pi: np.ndarray
    value: float  # min_y P(pi > y); 1/2 at a minimax winner
    gap: float  # max_y P(y > pi) - 1/2
    status: str


def nash_residual(game: PreferenceGame, log_pi: np.ndarray) -> float:
    """``span(log pi - log mu - P pi / beta)``: 0 exactly at the regularized equilibrium."""
    check_game(game)
    log_pi = as_float_array(log_pi, "log_pi", shape=(game.K,))
    if game.beta <= 0:
        raise InvalidInputError("nash_residual: beta must be > 0 (use minimax_winner for beta = 0).")
    d = log_pi - game.log_mu - game.P @ np.exp(log_pi) / game.beta
    return float(d.max() - d.min())


def regularized_nash(game: PreferenceGame, *, tol: float = 1e-12, max_iter: int = 100_000,
                     newton_max_K: int = 1500) -> NashSolution:
    r"""The beta-regularized Nash equilibrium ``pi*_beta ∝ mu exp(P pi*_beta / beta)`` to ``tol``.

    Mirror Prox with step ``eta = 2`` (a contraction with factor ``<= 1/(1+2 beta)`` on
    ``KL(pi*||pi)``) until the residual is below ``max(tol, 1e-6)``, then Newton on the
    logits ``z`` for ``F(z) = z - log mu - P softmax(z)/beta`` (Jacobian
    ``I - P (diag pi - pi pi^T)/beta``) when ``K <= newton_max_K``; otherwise Mirror Prox
    continues to ``tol``. Converged means the residual certificate is ``<= tol``.
    """
    check_game(game)
    tol = check_positive_float(tol, "tol", what="residual certificate")
    max_iter = check_positive_int(max_iter, "max_iter")
    newton_max_K = check_int(newton_max_K, "newton_max_K", minimum=0)
    if game.beta <= 0:
        raise InvalidInputError(
            f"beta = {game.beta}: the regularized equilibrium needs beta > 0; use minimax_winner for beta = 0.")
    P, logmu, beta = game.P, game.log_mu, game.beta
    eta = 2.0
    lp = logmu.copy()
    n = 0
    res = nash_residual(game, lp)
    warm_tol = max(tol, 1e-6) if game.K <= newton_max_K else tol
    while res > warm_tol and n < max_iter:
        g = P @ np.exp(lp)
        lh = log_normalize((lp + eta * beta * logmu + eta * g) / (1 + eta * beta))
        g = P @ np.exp(lh)
        lp = log_normalize((lp + eta * beta * logmu + eta * g) / (1 + eta * beta))
        n += 1
        res = nash_residual(game, lp)
    method = "mirror_prox"
    if game.K <= newton_max_K and res > tol:
        method = "mirror_prox+newton"
        z = lp.copy()
        for _ in range(50):
            pi = np.exp(log_normalize(z))
            F = z - logmu - P @ pi / beta
            F = F - F.mean()
            J = np.eye(game.K) - (P * pi[None, :] - np.outer(P @ pi, pi)) / beta
            step = np.linalg.solve(J, F)
            z = log_normalize(z - step)
            n += 1
            new = nash_residual(game, z)
            if new <= tol or new >= res:
                if new < res:
                    lp, res = z, new
                break
            lp, res = z, new
    pi = np.exp(lp)
    gap = float(regularized_exploitability(game, pi))
    return NashSolution(pi=pi, log_pi=lp, residual=float(res), gap=gap, n_iter=n,
                        converged=bool(res <= tol), method=method)


def minimax_winner(P) -> MinimaxWinner:
    r"""A minimax winner ``argmax_pi min_y P(pi > y)`` by linear programming (HiGHS)."""
    if isinstance(P, PreferenceGame):
        P = P.P
    P = as_float_array(P, "P", error=InvalidPreferenceError)
    check_preference(P)
    P = np.asarray(P, dtype=np.float64)
    K = P.shape[0]
    c = np.zeros(K + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-P.T, np.ones((K, 1))])  # v - (pi^T P)_j <= 0
    b_ub = np.zeros(K)
    A_eq = np.zeros((1, K + 1))
    A_eq[0, :K] = 1.0
    bounds = [(0, None)] * K + [(None, None)]
    out = scipy.optimize.linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=bounds, method="highs")
    if out.status != 0:
        raise RuntimeError(f"minimax_winner: linprog failed ({out.message})")
    pi = np.clip(out.x[:K], 0.0, None)
    pi = pi / pi.sum()  # removes HiGHS round-off (<= 1e-9) only; the LP solution is feasible
    value = float(np.min(pi @ P))
    return MinimaxWinner(pi=pi, value=value, gap=float(exploitability(P, pi)), status=out.message)
