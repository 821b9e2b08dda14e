r"""Optimistic bandit algorithms with variance-aware and variance-free bonuses (regret experiments).

* :func:`ucb_pulls` -- ``K`` rounds of an index policy on an ``A``-armed bandit with rewards in [0, 1], either
  Bernoulli(``means``) (stochastic) or exactly ``means`` (deterministic). Bonuses, with :math:`L` the log term:

  - ``"bernstein"`` (the one-step case, H = 1, of MVP's bonus, Zhang, Ji and Du 2021, as analysed in "Sharp
    Variance-Dependent Bounds in Reinforcement Learning: Best of Both Worlds in Stochastic and Deterministic
    Environments"): :math:`\hat\mu + \sqrt{2\hat V L/n} + 3L/n` with :math:`\hat V` the empirical variance;
  - ``"hoeffding"`` (variance-free UCB): :math:`\hat\mu + \sqrt{L/(2n)}`.

  Each arm is pulled twice first. Pseudo-regret is :math:`\sum_a n_a(\mu^* - \mu_a)`; on a deterministic
  bandit the Bernstein bonus gives :math:`O(L)` regret whatever the gap, the Hoeffding one
  :math:`\Theta(L/\Delta)`.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_positive_int
from .errors import InvalidInputError

__all__ = ["ucb_pulls", "pseudo_regret"]

BONUSES = ("bernstein", "hoeffding")


def ucb_pulls(means, n_rounds: int, *, bonus: str = "bernstein", stochastic: bool = True, replicates: int = 1,
              seed=0, log_term: float | None = None) -> np.ndarray:
    """Pull counts ``[replicates, A]`` after ``n_rounds`` rounds (see module docstring). ``log_term`` defaults to
    :math:`\\log(4 A K^2)` (a union bound over arms and rounds)."""
    from .kernels.online import ucb_pulls_kernel

    mu = as_float_array(means, "means", ndim=1)
    if mu.size < 2 or (mu < 0).any() or (mu > 1).any():
        raise InvalidInputError(f"means: need >= 2 arm means in [0, 1]; got {mu}.")
    K = check_positive_int(n_rounds, "n_rounds")
    R = check_positive_int(replicates, "replicates")
    if bonus not in BONUSES:
        raise InvalidInputError(f"bonus = {bonus!r}: choose one of {BONUSES}.")
    L = float(np.log(4 * mu.size * K ** 2)) if log_term is None else float(log_term)
    if not (np.isfinite(L) and L > 0):
        raise InvalidInputError(f"log_term = {log_term!r} must be a finite number > 0.")
    rng = np.random.default_rng(seed)
    u = rng.random((R, K, mu.size)) if stochastic else np.zeros((R, 1, mu.size))
    if not stochastic:
        u = np.broadcast_to(u, (R, K, mu.size))
    return ucb_pulls_kernel(mu, np.ascontiguousarray(u) if stochastic else u, bool(stochastic),
                            bonus == "bernstein", L)


def pseudo_regret(means, pulls) -> np.ndarray:
    """:math:`\\sum_a n_a(\\max\\mu - \\mu_a)` for pull counts ``pulls[..., A]``."""
    mu = as_float_array(means, "means", ndim=1)
    n = np.asarray(pulls, dtype=np.float64)
    if n.shape[-1] != mu.size:
        raise InvalidInputError(f"pulls: last axis {n.shape[-1]} must equal the number of arms {mu.size}.")
    return n @ (mu.max() - mu)
