"""MDP containers: tabular (infinite-horizon discounted), finite-horizon, and features.

Conventions (used everywhere in mdpgrad):

* ``P[s, a, s']`` transition probabilities, each ``P[s, a, :]`` a distribution;
* ``r[s, a]`` expected reward;
* ``rho[s]`` initial-state distribution (uniform by default);
* ``gamma`` in [0, 1);
* policies ``pi[s, a]``.

All containers are frozen: arrays are copied to float64 and made read-only, so an MDP
can be shared across threads and processes safely. Validation happens once, at
construction, and raises :class:`~mdpgrad.errors.InvalidMDPError` with the argument, the
offending index and value, and the fix. Nothing is silently renormalized.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidMDPError
from .validation import as_float_array, check_gamma, check_positive_int, check_shape, check_simplex


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


def _check_sizes(P: np.ndarray, name: str = "P") -> tuple[int, int]:
    if P.ndim != 3:
        raise InvalidMDPError(
            f"{name}: expected a 3-D array P[s, a, s'], got shape {P.shape}; "
            "stack per-action matrices as P[s, a, s']."
        )
    S, A, S2 = P.shape
    if S == 0:
        raise InvalidMDPError(f"{name}: zero states (shape {P.shape}); an MDP needs at least one state.")
    if A == 0:
        raise InvalidMDPError(
            f"{name}: empty action set (shape {P.shape}); every state needs at least one action."
        )
    if S2 != S:
        raise InvalidMDPError(
            f"{name}: shape {P.shape} is not (S, A, S); the last axis must index next states "
            f"and have length S = {S}."
        )
    return S, A


def _check_rho(rho, S: int) -> np.ndarray:
    if rho is None:
        return np.full(S, 1.0 / S)
    rho = as_float_array(rho, "rho", error=InvalidMDPError, ndim=1)
    check_shape(rho, (S,), "rho", error=InvalidMDPError, hint="rho[s] has one entry per state.")
    check_simplex(rho, "rho", error=InvalidMDPError)
    return rho


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite discounted MDP ``(P, r, gamma, rho)``.

    Parameters
    ----------
    P : array (S, A, S)
        ``P[s, a, s']`` = Pr(s_{t+1} = s' | s_t = s, a_t = a). Rows must sum to 1 (1e-8).
    r : array (S, A)
        Expected reward ``r[s, a]``.
    gamma : float in [0, 1)
        Discount factor.
    rho : array (S,), optional
        Initial distribution; uniform when omitted.
    name : str, optional
        A label used in plots and reports.

    Examples
    --------
    >>> import numpy as np, mdpgrad
    >>> P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    >>> r = np.array([[0.0, 0.0], [1.0, 1.0]])
    >>> mdp = mdpgrad.TabularMDP(P, r, gamma=0.9)
    >>> mdp.n_states, mdp.n_actions
    (2, 2)
    """

    P: np.ndarray
    r: np.ndarray
    gamma: float
    rho: np.ndarray | None = None
    name: str = field(default="mdp")

    def __post_init__(self):
        P = as_float_array(self.P, "P", error=InvalidMDPError)
        S, A = _check_sizes(P)
        check_simplex(P, "P", error=InvalidMDPError)
        r = as_float_array(self.r, "r", error=InvalidMDPError)
        check_shape(r, (S, A), "r", error=InvalidMDPError, hint="r[s, a] has one entry per state-action pair.")
        gamma = check_gamma(self.gamma, error=InvalidMDPError)
        rho = _check_rho(self.rho, S)
        object.__setattr__(self, "P", _readonly(P))
        object.__setattr__(self, "r", _readonly(r))
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "rho", _readonly(rho))

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_states, n_actions)``."""
        return self.P.shape[0], self.P.shape[1]

    @property
    def r_max(self) -> float:
        """``max |r[s, a]|``."""
        return float(np.max(np.abs(self.r)))

    def replace(self, **changes) -> TabularMDP:
        """A copy with some fields replaced (validated again)."""
        kw = dict(P=self.P, r=self.r, gamma=self.gamma, rho=self.rho, name=self.name)
        kw.update(changes)
        return TabularMDP(**kw)

    def __repr__(self) -> str:
        return f"TabularMDP(name={self.name!r}, S={self.n_states}, A={self.n_actions}, gamma={self.gamma})"


@dataclass(frozen=True, eq=False)
class FiniteHorizonMDP:
    """A finite-horizon MDP with time-indexed dynamics and rewards.

    ``P[h, s, a, s']`` and ``r[h, s, a]`` for steps h = 0, ..., H-1; the value to maximize is
    ``E[sum_{h<H} r_h(s_h, a_h)]`` with ``s_0 ~ rho``. Policies are non-stationary,
    ``pi[h, s, a]``. Pass 3-D ``P`` / 2-D ``r`` together with ``horizon`` to repeat a
    stationary model over H steps.
    """

    P: np.ndarray
    r: np.ndarray
    horizon: int | None = None
    rho: np.ndarray | None = None
    name: str = "finite-horizon-mdp"

    def __post_init__(self):
        P = as_float_array(self.P, "P", error=InvalidMDPError)
        r = as_float_array(self.r, "r", error=InvalidMDPError)
        if self.horizon is not None:
            check_positive_int(self.horizon, "horizon", error=InvalidMDPError)
        if P.ndim not in (3, 4):
            raise InvalidMDPError(f"P: expected P[h, s, a, s'] (4-D) or a stationary P[s, a, s'], got shape {P.shape}.")
        if P.ndim == 3:
            if self.horizon is None:
                raise InvalidMDPError(
                    "horizon: a stationary P[s, a, s'] needs horizon=H to build a finite-horizon MDP."
                )
            P = np.broadcast_to(P, (int(self.horizon),) + P.shape)
        if r.ndim == 2:
            r = np.broadcast_to(r, (P.shape[0],) + r.shape)
        if P.ndim != 4:
            raise InvalidMDPError(f"P: expected P[h, s, a, s'] (4-D), got shape {P.shape}.")
        H = P.shape[0]
        if H == 0:
            raise InvalidMDPError("P: horizon H = 0; a finite-horizon MDP needs at least one step.")
        if self.horizon is not None and int(self.horizon) != H:
            raise InvalidMDPError(f"horizon = {self.horizon} but P has {H} steps; make them agree.")
        for h in range(H):
            _check_sizes(P[h], name=f"P[{h}]")
        check_simplex(P, "P", error=InvalidMDPError)
        S, A = P.shape[1], P.shape[2]
        check_shape(r, (H, S, A), "r", error=InvalidMDPError, hint="r[h, s, a] per step, state and action.")
        rho = _check_rho(self.rho, S)
        object.__setattr__(self, "P", _readonly(P))
        object.__setattr__(self, "r", _readonly(r))
        object.__setattr__(self, "horizon", H)
        object.__setattr__(self, "rho", _readonly(rho))

    @property
    def n_states(self) -> int:
        return self.P.shape[1]

    @property
    def n_actions(self) -> int:
        return self.P.shape[2]

    def __repr__(self) -> str:
        return (
            f"FiniteHorizonMDP(name={self.name!r}, H={self.horizon}, S={self.n_states}, "
            f"A={self.n_actions})"
        )


@dataclass(frozen=True, eq=False)
class FeatureMDP:
    """A tabular MDP together with state-action features ``phi[s, a, d]``.

    Used by log-linear policies (``pi(a|s) ∝ exp(phi[s, a] . theta)``), linear function
    approximation and linear MDPs. When ``mu[d, s']`` and ``w[d]`` are given, the MDP is a
    *linear MDP*: ``P[s, a, s'] = phi[s, a] . mu[:, s']`` and ``r[s, a] = phi[s, a] . w``; the
    constructor checks these identities (1e-8).
    """

    mdp: TabularMDP
    phi: np.ndarray
    mu: np.ndarray | None = None
    w: np.ndarray | None = None

    def __post_init__(self):
        if not isinstance(self.mdp, TabularMDP):
            raise InvalidMDPError(f"mdp: expected a TabularMDP, got {type(self.mdp).__name__}.")
        S, A = self.mdp.shape
        phi = as_float_array(self.phi, "phi", error=InvalidMDPError)
        if phi.ndim != 3 or phi.shape[:2] != (S, A):
            raise InvalidMDPError(
                f"phi: expected shape ({S}, {A}, d) matching the MDP, got {phi.shape}."
            )
        if phi.shape[2] == 0:
            raise InvalidMDPError("phi: feature dimension d = 0; use at least one feature.")
        object.__setattr__(self, "phi", _readonly(phi))
        d = phi.shape[2]
        if self.mu is not None:
            mu = as_float_array(self.mu, "mu", error=InvalidMDPError)
            check_shape(mu, (d, S), "mu", error=InvalidMDPError)
            implied = np.einsum("sad,dt->sat", phi, mu)
            err = np.abs(implied - self.mdp.P)
            if err.max() > 1e-8:
                idx = np.unravel_index(np.argmax(err), err.shape)
                raise InvalidMDPError(
                    f"mu: phi . mu differs from P at (s, a, s') = {tuple(int(i) for i in idx)} by "
                    f"{err.max():.3g}; P must equal phi[s, a] . mu[:, s'] for a linear MDP."
                )
            object.__setattr__(self, "mu", _readonly(mu))
        if self.w is not None:
            w = as_float_array(self.w, "w", error=InvalidMDPError, ndim=1)
            check_shape(w, (d,), "w", error=InvalidMDPError)
            err = np.abs(phi @ w - self.mdp.r)
            if err.max() > 1e-8:
                idx = np.unravel_index(np.argmax(err), err.shape)
                raise InvalidMDPError(
                    f"w: phi . w differs from r at (s, a) = {tuple(int(i) for i in idx)} by {err.max():.3g}."
                )
            object.__setattr__(self, "w", _readonly(w))

    @property
    def n_features(self) -> int:
        return self.phi.shape[2]

    @property
    def is_linear_mdp(self) -> bool:
        return self.mu is not None

    def __getattr__(self, item):
        # Delegate P, r, gamma, rho, n_states, ... to the wrapped MDP.
        if item in {"P", "r", "gamma", "rho", "n_states", "n_actions", "shape", "name", "r_max"}:
            return getattr(self.mdp, item)
        raise AttributeError(item)


def as_mdp(mdp) -> TabularMDP:
    """Return the :class:`TabularMDP` behind ``mdp`` (unwraps :class:`FeatureMDP`)."""
    if isinstance(mdp, FeatureMDP):
        return mdp.mdp
    if isinstance(mdp, TabularMDP):
        return mdp
    if getattr(mdp, "is_sparse", False):  # mdpgrad.sparse.SparseMDP: callers dispatch on it
        return mdp
    raise InvalidMDPError(
        f"mdp: expected a TabularMDP (or FeatureMDP), got {type(mdp).__name__}; "
        "build one with mdpgrad.TabularMDP(P, r, gamma)."
    )
