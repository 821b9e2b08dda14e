r"""Preference games: a response set of size K, a preference matrix and a KL regularizer.

A *preference game* (Munos et al., "Nash Learning from Human Feedback") is the symmetric
two-player constant-sum game whose payoff to a player choosing ``y`` against ``y'`` is the
probability ``P[y, y'] = Pr(y is preferred to y')``. Preferences are complementary,

.. math:: P + P^\top = \mathbf 1 \mathbf 1^\top \qquad(\text{so } P_{yy} = 1/2),

and ``P(pi > pi') = pi^T P pi'``. With a reference policy ``mu`` and a regularization
``beta >= 0`` the regularized game is

.. math:: J_\beta(\pi, \pi') = \pi^\top P \pi' - \beta\,\mathrm{KL}(\pi\|\mu) + \beta\,\mathrm{KL}(\pi'\|\mu),

symmetric with value 1/2. Its unique Nash equilibrium ``pi*_beta`` (for ``beta > 0``) is
the fixed point ``pi* ∝ mu exp(P pi* / beta)``; for ``beta = 0`` the maximin strategies are
the *minimax winners* (von Neumann winners).

This module holds the validated :class:`PreferenceGame`, the generators (Bradley–Terry,
rock–paper–scissors families, random intransitive) and the metrics (win rates,
exploitability / duality gap, KL). Array work goes through the backend seam
(``mdpgrad.backend.get_backend``), so the same functions run on NumPy and CuPy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array, check_shape, check_simplex
from ..backend import get_backend
from ..envs._rng import as_generator
from ..errors import InvalidInputError

__all__ = [
    "PreferenceGame",
    "preference_game",
    "bradley_terry",
    "rock_paper_scissors",
    "rps_with_dominated",
    "random_intransitive",
    "win_rates",
    "exploitability",
    "regularized_exploitability",
    "kl",
    "span_log_ratio",
    "tv",
    "log_normalize",
]

#: Tolerance for the complementarity check |P + P^T - 1| <= COMPLEMENT_ATOL.
COMPLEMENT_ATOL = 1e-10


class InvalidPreferenceError(InvalidInputError):
    """A preference matrix is not a valid complementary preference (P + P^T = 1, entries in [0, 1])."""


def _check_preference(P: np.ndarray, name: str = "P") -> None:
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise InvalidPreferenceError(f"{name}: expected a square (K, K) matrix, got shape {P.shape}.")
    if P.shape[0] < 1:
        raise InvalidPreferenceError(f"{name}: the response set is empty; K must be >= 1.")
    bad = (P < 0) | (P > 1)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InvalidPreferenceError(
            f"{name}[{i}, {j}] = {P[i, j]:.6g} is outside [0, 1]; preferences are probabilities.")
    dev = np.abs(P + P.T - 1.0)
    if dev.max() > COMPLEMENT_ATOL:
        i, j = np.unravel_index(int(np.argmax(dev)), dev.shape)
        raise InvalidPreferenceError(
            f"{name}[{i}, {j}] + {name}[{j}, {i}] = {P[i, j] + P[j, i]:.12g}, not 1 (tolerance "
            f"{COMPLEMENT_ATOL:g}); preferences must be complementary. Symmetrize with "
            f"({name} + 1 - {name}.T) / 2 if that is what you mean.")


@dataclass(frozen=True, eq=False)
class PreferenceGame:
    """A validated preference game ``(P, mu, beta)``.

    Attributes
    ----------
    P : (K, K) float64, ``P[y, y'] = Pr(y > y')``, ``P + P^T = 1``.
    mu : (K,) reference policy (strictly positive when ``beta > 0``: the regularized
        equilibrium is ``∝ mu exp(P pi / beta)`` and needs ``log mu``).
    beta : KL regularization strength, ``>= 0``.
    name : label for plots and tables.
    """

    P: np.ndarray
    mu: np.ndarray
    beta: float
    name: str = "preference game"

    def __post_init__(self):
        P = as_float_array(self.P, "P", error=InvalidPreferenceError)
        _check_preference(P)
        K = P.shape[0]
        mu = as_float_array(self.mu, "mu", ndim=1)
        check_shape(mu, (K,), "mu", hint="mu is a distribution over the K responses.")
        check_simplex(mu, "mu")
        try:
            beta = float(self.beta)
        except (TypeError, ValueError):
            raise InvalidInputError(f"beta = {self.beta!r} is not a number; pass a float >= 0.") from None
        if not np.isfinite(beta) or beta < 0:
            raise InvalidInputError(f"beta = {self.beta!r} must be a finite float >= 0.")
        if beta > 0 and (mu <= 0).any():
            i = int(np.argmin(mu))
            raise InvalidInputError(
                f"mu[{i}] = {mu[i]:.3g}: with beta = {beta:g} > 0 the reference must be strictly positive "
                "(KL(pi||mu) is infinite otherwise); mix in a little uniform mass or set beta = 0.")
        P.setflags(write=False)
        mu.setflags(write=False)
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "beta", beta)

    @property
    def K(self) -> int:
        """Number of responses."""
        return int(self.P.shape[0])

    @property
    def log_mu(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.mu)

    def with_beta(self, beta: float) -> PreferenceGame:
        return PreferenceGame(self.P, self.mu, beta, self.name)

    def __repr__(self) -> str:
        return f"PreferenceGame({self.name!r}, K={self.K}, beta={self.beta:g})"


def preference_game(P, mu=None, beta: float = 0.0, name: str = "preference game") -> PreferenceGame:
    """Build a :class:`PreferenceGame`; ``mu`` defaults to uniform."""
    P = np.asarray(P, dtype=np.float64)
    if mu is None:
        K = P.shape[0] if P.ndim == 2 else 1
        mu = np.full(K, 1.0 / K)
    return PreferenceGame(P, mu, beta, name)


# --------------------------------------------------------------------------------------
# generators
# --------------------------------------------------------------------------------------
def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # exact complement: s(x) + s(-x) = 1 in floating point


def bradley_terry(scores) -> np.ndarray:
    r"""Transitive preferences ``P[y, y'] = sigmoid(s_y - s_{y'})`` (Bradley & Terry 1952).

    Computed as ``(1 + tanh((s_y - s_y')/2)) / 2`` so that ``P + P^T = 1`` holds exactly.
    """
    s = as_float_array(scores, "scores", ndim=1)
    return _sigmoid(s[:, None] - s[None, :])


def rock_paper_scissors(n_cycles: int = 1, margin: float = 0.5) -> np.ndarray:
    """Block-diagonal rock–paper–scissors family: ``n_cycles`` disjoint 3-cycles (K = 3 n).

    Within a cycle ``i`` beats ``i+1 (mod 3)`` with probability ``1/2 + margin``; responses
    of different cycles tie (1/2). The minimax winners are the mixtures of uniform-within-
    cycle distributions (the uniform distribution is one).
    """
    if not isinstance(n_cycles, (int, np.integer)) or n_cycles < 1:
        raise InvalidInputError(f"n_cycles = {n_cycles!r} must be an integer >= 1.")
    if not 0 < margin <= 0.5:
        raise InvalidInputError(f"margin = {margin!r} must be in (0, 0.5].")
    K = 3 * int(n_cycles)
    P = np.full((K, K), 0.5)
    for c in range(int(n_cycles)):
        for i in range(3):
            a, b = 3 * c + i, 3 * c + (i + 1) % 3
            P[a, b] = 0.5 + margin
            P[b, a] = 0.5 - margin
    return P


def rps_with_dominated(margin: float = 0.5, dominated_margin: float = 0.4, scissors_margin: float = 0.1
                       ) -> np.ndarray:
    r"""Rock–paper–scissors plus a fourth, dominated response ``d`` (K = 4).

    ``d`` loses to every cycle response (``P[d, y] = 1/2 - dominated_margin``). The game is
    intransitive and its minimax winner is the uniform distribution on the cycle. A
    Bradley–Terry fit of this ``P`` ranks the cycle responses by their average win rate;
    the asymmetry ``scissors_margin`` (scissors also beats ``d`` by more) makes the BT
    argmax a *pure* response that is not a minimax winner.
    """
    P = np.full((4, 4), 0.5)
    for i in range(3):
        P[i, (i + 1) % 3] = 0.5 + margin
        P[(i + 1) % 3, i] = 0.5 - margin
    for i in range(3):
        extra = scissors_margin if i == 2 else 0.0
        P[i, 3] = 0.5 + dominated_margin + extra
        P[3, i] = 1.0 - P[i, 3]
    _check_preference(P)
    return P


def random_intransitive(K: int, seed, *, transitive_weight: float = 0.0, scale: float = 1.0) -> np.ndarray:
    r"""Random preferences ``P = sigmoid(scale * (A + w (s 1^T - 1 s^T)))`` with ``A`` skew-symmetric Gaussian.

    ``A = (G - G^T)/sqrt 2`` with ``G`` iid N(0, 1) gives a generic intransitive game (its
    minimax winner is mixed); ``transitive_weight = w > 0`` adds a Bradley–Terry component
    with scores ``s ~ N(0, 1)``. Complementarity is exact (sigmoid of a skew matrix).
    """
    if not isinstance(K, (int, np.integer)) or K < 1:
        raise InvalidInputError(f"K = {K!r} must be an integer >= 1.")
    rng = as_generator(seed)
    G = rng.standard_normal((int(K), int(K)))
    A = (G - G.T) / np.sqrt(2.0)
    if transitive_weight:
        s = rng.standard_normal(int(K))
        A = A + transitive_weight * (s[:, None] - s[None, :])
    P = _sigmoid(scale * A)
    np.fill_diagonal(P, 0.5)
    return P


# --------------------------------------------------------------------------------------
# metrics (backend-generic: xp = numpy or cupy)
# --------------------------------------------------------------------------------------
def log_normalize(z, xp=np):
    """``z - logsumexp(z)`` along the last axis (stable)."""
    m = xp.max(z, axis=-1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0)
    return z - (m + xp.log(xp.sum(xp.exp(z - m), axis=-1, keepdims=True)))


def win_rates(P, pi, *, backend=None):
    """``g[y] = P(y > pi) = (P pi)[y]`` (batch: ``pi[B, K]`` gives ``g[B, K]``)."""
    xp = get_backend(backend if backend is not None else P).xp
    return (xp.asarray(P) @ pi.T).T


def exploitability(P, pi, *, backend=None):
    r"""Duality gap of the unregularized game, ``max_y P(y > pi) - 1/2`` (>= 0, 0 iff minimax winner).

    In the symmetric constant-sum game this is half the usual two-sided gap
    ``max_y P(y > pi) - min_y P(pi > y)``.
    """
    xp = get_backend(backend if backend is not None else P).xp
    return xp.max(win_rates(P, pi, backend=backend), axis=-1) - 0.5


def regularized_exploitability(game: PreferenceGame, pi, *, backend=None):
    r"""Gap of ``pi`` in the beta-regularized game (>= 0, 0 iff ``pi = pi*_beta``).

    .. math:: \mathrm{gap}_\beta(\pi) = \max_{\pi'}\big[P(\pi' \succ \pi) - \beta\mathrm{KL}(\pi'\|\mu)\big]
              + \beta\mathrm{KL}(\pi\|\mu) - \tfrac12
              = \beta\log\sum_y \mu_y e^{(P\pi)_y/\beta} + \beta\mathrm{KL}(\pi\|\mu) - \tfrac12 .

    (The best response is the Gibbs distribution ``∝ mu exp(P pi / beta)``.) With ``beta = 0``
    this is :func:`exploitability`.
    """
    if game.beta == 0:
        return exploitability(game.P, pi, backend=backend)
    be = get_backend(backend if backend is not None else pi)
    xp = be.xp
    P, logmu = xp.asarray(game.P), xp.asarray(game.log_mu)
    g = (P @ pi.T).T
    z = logmu + g / game.beta
    m = xp.max(z, axis=-1, keepdims=True)
    lse = (m + xp.log(xp.sum(xp.exp(z - m), axis=-1, keepdims=True)))[..., 0]
    return game.beta * lse + game.beta * kl(pi, xp.asarray(game.mu), xp=xp) - 0.5


def kl(p, q, xp=np):
    """``KL(p || q) = sum p log(p/q)`` along the last axis (0 log 0 = 0; inf if q = 0 < p)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = xp.where(p > 0, p * (xp.log(p) - xp.log(q)), 0.0)
    return xp.sum(t, axis=-1)


def span_log_ratio(p, q, xp=np):
    """Span semi-norm ``max(log p - log q) - min(log p - log q)`` (full-support inputs)."""
    d = xp.log(p) - xp.log(q)
    return xp.max(d, axis=-1) - xp.min(d, axis=-1)


def tv(p, q, xp=np):
    """Total variation ``|p - q|_1 / 2``."""
    return 0.5 * xp.sum(xp.abs(p - q), axis=-1)
