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
rock–paper–scissors families, random intransitive), the metrics (win rates,
exploitability / duality gap, KL) and :class:`PackedPreference`, the win-rate operator stored as the
packed upper triangle of the antisymmetric ``P - 1/2`` (one Numba pass per product, CPU). Array work goes through the backend seam
(``mdpgrad.backend.get_backend``), so the same functions run on NumPy and CuPy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backend import get_backend
from ..errors import InvalidInputError, InvalidPreferenceError
from ..stats import kl_divergence
from ..validation import as_float_array, as_generator, check_finite, check_shape, check_simplex

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
    "span_log_ratio",
    "tv",
    "log_normalize",
    "PackedPreference",
    "pack_preference",
    "packed_matvec",
]

#: Tolerance for the complementarity check |P + P^T - 1| <= COMPLEMENT_ATOL.
COMPLEMENT_ATOL = 1e-10


def check_preference(P: np.ndarray, name: str = "P") -> None:
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
        check_preference(P)
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
    check_preference(P)
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
# packed antisymmetric operator (CPU): P pi = (1^T pi)/2 + A pi from the strict upper triangle of A
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PackedPreference:
    r"""The win-rate operator ``pi -> P pi`` of a preference game stored in half (or a quarter) the memory.

    Complementarity ``P + P^T = 1 1^T`` means ``P = \tfrac12 1 1^\top + A`` with ``A = (P - P^T)/2``
    antisymmetric, so

    .. math:: P\pi = \tfrac12 (1^\top\pi)\,1 + A\pi, \qquad (A\pi)_i = \sum_{j>i} A_{ij}\pi_j - \sum_{j<i} A_{ji}\pi_j .

    Only the strict upper triangle of ``A`` is kept, packed row by row (``K(K-1)/2`` entries):
    one pass over it computes ``A pi`` (Numba kernel, parallel over row blocks, float64
    accumulation), reading ``4 K^2`` bytes in float64 or ``2 K^2`` in float32 instead of the
    ``8 K^2`` of a dense float64 ``P @ pi``. The products are memory-bandwidth bound on a CPU, so this
    is what sets the iteration rate of Nash-MD / Nash-MP at large ``K`` (``benchmarks/bench_games.py``).

    Build it with :func:`pack_preference`. ``A = (P - P^T)/2`` is the antisymmetric part of ``P``;
    for a validated game (``|P + P^T - 1| <= 1e-10``) it equals ``P - 1/2`` up to that tolerance.
    Calling the object (``packed(pi)``) returns ``P pi`` for ``pi[K]`` or a batch ``pi[B, K]``.
    """

    upper: np.ndarray
    K: int
    bounds: np.ndarray

    def __post_init__(self):
        K = self.K
        if not isinstance(K, (int, np.integer)) or K < 1:
            raise InvalidInputError(f"K = {K!r} must be an integer >= 1.")
        up = self.upper
        if not isinstance(up, np.ndarray) or up.dtype not in (np.float64, np.float32) or up.ndim != 1 \
                or up.size != K * (K - 1) // 2 or not up.flags.c_contiguous:
            raise InvalidInputError(
                f"upper: expected a contiguous float64/float32 vector of K(K-1)/2 = {K * (K - 1) // 2} entries; "
                "build it with pack_preference(P, dtype).")
        b = np.asarray(self.bounds)
        if b.dtype != np.int64 or b.ndim != 1 or b.size < 2 or b[0] != 0 or b[-1] != K or (np.diff(b) <= 0).any():
            raise InvalidInputError(f"bounds: expected increasing int64 row boundaries from 0 to K = {K}.")

    @property
    def dtype(self):
        """Storage dtype of the packed triangle (float64 or float32); results are float64-accumulated."""
        return self.upper.dtype

    @property
    def nbytes(self) -> int:
        return int(self.upper.nbytes)

    def to_dense(self) -> np.ndarray:
        """The dense ``P = 1/2 + A`` (float64) this operator represents (for tests; ``8 K^2`` bytes)."""
        K = self.K
        A = np.zeros((K, K))
        iu = np.triu_indices(K, 1)
        A[iu] = self.upper
        return 0.5 + A - A.T

    def __call__(self, pi, backend: str = "auto"):
        return packed_matvec(self, pi, backend=backend)

    def __repr__(self) -> str:
        return f"PackedPreference(K={self.K}, dtype={self.upper.dtype.name}, {self.nbytes / 1e6:.1f} MB)"


def pack_preference(P, dtype=np.float64) -> PackedPreference:
    """Pack ``A = (P - P^T)/2`` (strict upper triangle, row-major) for :func:`packed_matvec`.

    ``P`` is a (K, K) preference matrix or a :class:`PreferenceGame`; ``dtype`` is the storage
    precision, ``float64`` (default) or ``float32`` (rounding ``|fl(A_ij) - A_ij| <= 2^-24 |A_ij|``).
    Built in row blocks so the peak extra memory is a few rows, not a second ``K x K`` matrix.
    """
    from ..kernels.preference import chunk_bounds

    if isinstance(P, PreferenceGame):
        P = P.P
    P = as_float_array(P, "P", error=InvalidPreferenceError)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] < 1:
        raise InvalidPreferenceError(f"P: expected a square (K, K) matrix with K >= 1, got shape {P.shape}.")
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise InvalidInputError(f"dtype = {dtype!r}: the packed triangle is stored as float64 or float32.")
    K = int(P.shape[0])
    upper = np.empty(K * (K - 1) // 2, dtype=dt)
    block = 256
    pos = 0
    for i0 in range(0, K, block):
        i1 = min(K, i0 + block)
        rows = 0.5 * (P[i0:i1, :] - P[:, i0:i1].T)  # A[i0:i1, :]
        for i in range(i0, i1):
            n = K - 1 - i
            upper[pos:pos + n] = rows[i - i0, i + 1:]
            pos += n
    upper.setflags(write=False)
    bounds = chunk_bounds(K)
    bounds.setflags(write=False)
    return PackedPreference(upper=upper, K=K, bounds=bounds)


def packed_matvec(packed: PackedPreference, pi, backend: str = "auto") -> np.ndarray:
    r"""Win rates ``P pi = (1^T pi)/2 + A pi`` from a :class:`PackedPreference` (``pi[K]`` or ``pi[B, K]``).

    ``backend`` runs the kernel ``packed_matvec``: ``"numba"`` (parallel one-pass kernel; what ``"auto"``
    picks) or ``"numpy"`` (row-by-row reference).
    The result is float64 unless ``pi`` is float32, in which case it is cast back to float32 (the
    accumulation is float64 either way). A batch reads the triangle once per policy.
    """
    if not isinstance(packed, PackedPreference):
        raise InvalidInputError(f"packed: expected a PackedPreference (from pack_preference), got {type(packed)}.")
    matvec = get_backend(backend, kernel="packed_matvec").kernel("packed_matvec")
    pi_arr = np.asarray(pi)
    if pi_arr.dtype != np.float32:
        pi_arr = as_float_array(pi, "pi")
    check_finite(pi_arr, "pi")
    if pi_arr.ndim not in (1, 2) or pi_arr.shape[-1] != packed.K:
        raise InvalidInputError(f"pi: expected shape ({packed.K},) or (B, {packed.K}), got {pi_arr.shape}.")
    out_dtype = np.float32 if pi_arr.dtype == np.float32 else np.float64
    flat = np.ascontiguousarray(np.atleast_2d(pi_arr), dtype=np.float64)
    out = np.empty(flat.shape)
    for b in range(flat.shape[0]):
        y = matvec(packed.upper, packed.K, flat[b], packed.bounds)
        out[b] = 0.5 * flat[b].sum() + y
    out = out.astype(out_dtype, copy=False)
    return out[0] if pi_arr.ndim == 1 else out


# --------------------------------------------------------------------------------------
# metrics (backend-generic: xp = numpy or cupy)
# --------------------------------------------------------------------------------------
def log_normalize(z, xp=np):
    """``z - logsumexp(z)`` along the last axis (stable)."""
    m = xp.max(z, axis=-1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0)
    return z - (m + xp.log(xp.sum(xp.exp(z - m), axis=-1, keepdims=True)))


def _is_host(*arrays) -> bool:
    """True when every array is host memory (NumPy/lists): those are validated; device arrays are trusted."""
    return not any(hasattr(a, "__cuda_array_interface__") for a in arrays)


def _check_P_pi(P, pi):
    """Validate a preference matrix and a (batch of) distribution(s) over its K responses (host inputs)."""
    if not _is_host(P, pi):
        return P, pi
    P = as_float_array(P, "P", error=InvalidPreferenceError)
    check_preference(P)
    pi = as_float_array(pi, "pi")
    if pi.ndim not in (1, 2) or pi.shape[-1] != P.shape[0]:
        raise InvalidInputError(f"pi: expected shape ({P.shape[0]},) or (B, {P.shape[0]}), got {pi.shape}.")
    check_simplex(pi, "pi")
    return P, pi


def check_game(game):
    if not isinstance(game, PreferenceGame):
        raise InvalidPreferenceError(f"game: expected a PreferenceGame (from preference_game), got "
                                     f"{type(game).__name__}.")
    return game


def win_rates(P, pi, *, backend="auto"):
    """``g[y] = P(y > pi) = (P pi)[y]`` (batch: ``pi[B, K]`` gives ``g[B, K]``)."""
    P, pi = _check_P_pi(P, pi)
    xp = get_backend(backend, like=P).xp
    return (xp.asarray(P) @ pi.T).T


def exploitability(P, pi, *, backend="auto"):
    r"""Duality gap of the unregularized game, ``max_y P(y > pi) - 1/2`` (>= 0, 0 iff minimax winner).

    In the symmetric constant-sum game this is half the usual two-sided gap
    ``max_y P(y > pi) - min_y P(pi > y)``.
    """
    P, pi = _check_P_pi(P, pi)
    xp = get_backend(backend, like=P).xp
    return xp.max(win_rates(P, pi, backend=backend), axis=-1) - 0.5


def regularized_exploitability(game: PreferenceGame, pi, *, backend="auto"):
    r"""Gap of ``pi`` in the beta-regularized game (>= 0, 0 iff ``pi = pi*_beta``).

    .. math:: \mathrm{gap}_\beta(\pi) = \max_{\pi'}\big[P(\pi' \succ \pi) - \beta\mathrm{KL}(\pi'\|\mu)\big]
              + \beta\mathrm{KL}(\pi\|\mu) - \tfrac12
              = \beta\log\sum_y \mu_y e^{(P\pi)_y/\beta} + \beta\mathrm{KL}(\pi\|\mu) - \tfrac12 .

    (The best response is the Gibbs distribution ``∝ mu exp(P pi / beta)``.) With ``beta = 0``
    this is :func:`exploitability`.
    """
    check_game(game)
    _, pi = _check_P_pi(game.P, pi)
    if game.beta == 0:
        return exploitability(game.P, pi, backend=backend)
    be = get_backend(backend, like=pi)
    xp = be.xp
    P, logmu = xp.asarray(game.P), xp.asarray(game.log_mu)
    g = (P @ pi.T).T
    z = logmu + g / game.beta
    m = xp.max(z, axis=-1, keepdims=True)
    lse = (m + xp.log(xp.sum(xp.exp(z - m), axis=-1, keepdims=True)))[..., 0]
    return game.beta * lse + game.beta * kl_divergence(pi, xp.asarray(game.mu), xp=xp, check=False) - 0.5


def span_log_ratio(p, q, xp=np):
    """Span semi-norm ``max(log p - log q) - min(log p - log q)`` (full-support inputs)."""
    p, q = _check_pair(p, q)
    if _is_host(p, q) and ((p <= 0).any() or (q <= 0).any()):
        raise InvalidInputError("p, q: the span of log p - log q needs full-support distributions (all entries > 0).")
    d = xp.log(p) - xp.log(q)
    return xp.max(d, axis=-1) - xp.min(d, axis=-1)


def tv(p, q, xp=np):
    """Total variation ``|p - q|_1 / 2``."""
    p, q = _check_pair(p, q)
    return 0.5 * xp.sum(xp.abs(p - q), axis=-1)


def _check_pair(p, q):
    if not _is_host(p, q):
        return p, q
    p = as_float_array(p, "p")
    q = as_float_array(q, "q")
    if p.ndim == 0 or q.ndim == 0:
        raise InvalidInputError(f"p, q: expected distributions along the last axis, got shapes {p.shape}, {q.shape}.")
    try:
        np.broadcast_shapes(p.shape, q.shape)
    except ValueError:
        raise InvalidInputError(f"p, q: shapes {p.shape} and {q.shape} do not broadcast.") from None
    check_simplex(p, "p")
    check_simplex(q, "q")
    return p, q
