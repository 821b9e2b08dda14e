"""Multi-armed and contextual bandits (one-step MDPs) with closed-form objectives.

For a softmax bandit with logits ``theta[a]`` and mean rewards ``r[a]``, the objective is
``J = pi . r`` and its gradient ``dJ/dtheta = pi * (r - pi . r)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidMDPError
from ..mdp import TabularMDP
from ..validation import (
    as_float_array,
    as_generator,
    check_choice,
    check_distribution,
    check_gamma,
    check_indices,
    check_nonnegative_float,
    check_policy,
    check_positive_int,
    check_simplex,
)


@dataclass(frozen=True)
class MultiArmedBandit:
    """Arms with mean rewards ``means[a]``; ``kind`` is ``"bernoulli"`` or ``"gaussian"``
    (unit variance unless ``std`` is given)."""

    means: np.ndarray
    kind: str = "bernoulli"
    std: float = 1.0

    def __post_init__(self):
        m = as_float_array(self.means, "means", error=InvalidMDPError, ndim=1)
        if m.size == 0:
            raise InvalidMDPError("means: empty action set; a bandit needs at least one arm.")
        if self.kind not in ("bernoulli", "gaussian"):
            raise InvalidMDPError(f"kind = {self.kind!r}: choose 'bernoulli' or 'gaussian'.")
        object.__setattr__(self, "std", check_nonnegative_float(self.std, "std", error=InvalidMDPError,
                                                                what="Gaussian reward std"))
        if self.kind == "bernoulli" and ((m < 0) | (m > 1)).any():
            i = int(np.argmax((m < 0) | (m > 1)))
            raise InvalidMDPError(f"means[{i}] = {m[i]} is not a Bernoulli mean in [0, 1].")
        m.setflags(write=False)
        object.__setattr__(self, "means", m)

    @property
    def n_actions(self) -> int:
        return self.means.shape[0]

    def value(self, pi) -> float:
        """``J(pi) = pi . means``."""
        return float(check_distribution(pi, "pi", size=self.n_actions) @ self.means)

    def softmax_gradient(self, theta) -> np.ndarray:
        """Closed form ``pi * (means - pi . means)`` for ``pi = softmax(theta)``."""
        from ..policies import softmax

        pi = softmax(as_float_array(theta, "theta", shape=(self.n_actions,)))
        return pi * (self.means - pi @ self.means)

    def sample(self, actions, seed) -> np.ndarray:
        """Rewards for the given actions."""
        rng = as_generator(seed)
        mu = self.means[check_indices(actions, "actions", self.n_actions, what="arm index")]
        if self.kind == "bernoulli":
            return (rng.random(mu.shape) < mu).astype(np.float64)
        return mu + self.std * rng.standard_normal(mu.shape)


@dataclass(frozen=True)
class TabularContextualBandit:
    """Contexts ``x ~ context_probs``, mean rewards ``means[x, a]``."""

    means: np.ndarray
    context_probs: np.ndarray | None = None
    kind: str = "bernoulli"

    def __post_init__(self):
        m = as_float_array(self.means, "means", error=InvalidMDPError, ndim=2)
        if m.shape[0] == 0 or m.shape[1] == 0:
            raise InvalidMDPError(f"means: shape {m.shape} has no contexts or no actions.")
        check_choice(self.kind, "kind", ("bernoulli", "gaussian"), error=InvalidMDPError)
        if self.kind == "bernoulli" and ((m < 0) | (m > 1)).any():
            i, j = np.argwhere((m < 0) | (m > 1))[0]
            raise InvalidMDPError(f"means[{i}, {j}] = {m[i, j]} is not a Bernoulli mean in [0, 1].")
        p = np.full(m.shape[0], 1.0 / m.shape[0]) if self.context_probs is None else as_float_array(
            self.context_probs, "context_probs", error=InvalidMDPError, ndim=1)
        if p.shape != (m.shape[0],):
            raise InvalidMDPError(f"context_probs: expected shape ({m.shape[0]},), got {p.shape}.")
        check_simplex(p, "context_probs", error=InvalidMDPError)
        m.setflags(write=False)
        p.setflags(write=False)
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "context_probs", p)

    @property
    def n_contexts(self) -> int:
        return self.means.shape[0]

    @property
    def n_actions(self) -> int:
        return self.means.shape[1]

    def value(self, pi) -> float:
        pi = check_policy(pi, self.n_contexts, self.n_actions)
        return float(self.context_probs @ np.sum(pi * self.means, axis=1))

    def softmax_gradient(self, theta) -> np.ndarray:
        from ..policies import softmax

        pi = softmax(as_float_array(theta, "theta", shape=self.means.shape))
        base = np.sum(pi * self.means, axis=1, keepdims=True)
        return self.context_probs[:, None] * pi * (self.means - base)


def multi_armed_bandit(n_actions: int, *, seed, kind: str = "bernoulli") -> MultiArmedBandit:
    """Random means ``U[0, 1]``."""
    rng = as_generator(seed)
    n_actions = check_positive_int(n_actions, "n_actions", error=InvalidMDPError)
    return MultiArmedBandit(rng.random(n_actions), kind=kind)


def contextual_bandit(n_contexts: int, n_actions: int, *, seed, kind: str = "bernoulli") -> TabularContextualBandit:
    rng = as_generator(seed)
    n_contexts = check_positive_int(n_contexts, "n_contexts", error=InvalidMDPError)
    n_actions = check_positive_int(n_actions, "n_actions", error=InvalidMDPError)
    return TabularContextualBandit(rng.random((n_contexts, n_actions)), kind=kind)


def bandit_mdp(bandit, *, gamma: float = 0.0) -> TabularMDP:
    """The bandit as a :class:`TabularMDP`: each context is a state whose every action leads
    to an absorbing zero-reward state. With ``gamma = 0`` (default) ``rho . v = J``.
    """
    check_gamma(gamma, error=InvalidMDPError)
    if not isinstance(bandit, (MultiArmedBandit, TabularContextualBandit)):
        raise InvalidMDPError(
            f"bandit: expected a MultiArmedBandit or TabularContextualBandit, got {type(bandit).__name__}.")
    means = bandit.means[None, :] if bandit.means.ndim == 1 else bandit.means
    probs = np.ones(1) if bandit.means.ndim == 1 else bandit.context_probs
    X, A = means.shape
    S = X + 1
    P = np.zeros((S, A, S))
    P[:, :, X] = 1.0
    r = np.zeros((S, A))
    r[:X] = means
    rho = np.zeros(S)
    rho[:X] = probs
    return TabularMDP(P, r, gamma, rho=rho, name="bandit")
