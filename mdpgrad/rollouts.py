r"""Batched trajectory sampling from a :class:`~mdpgrad.TabularMDP` under a stationary policy.

Three horizon rules (``horizon=``):

* ``"fixed"``: every trajectory runs ``H`` steps (``length=H``). The discounted return
  :math:`\sum_{t<H}\gamma^t r_t` estimates the truncated value, biased by at most
  :math:`\gamma^H r_{\max}/(1-\gamma)`.
* ``"geometric"``: the length is :math:`L \sim \mathrm{Geom}(1-\gamma)` on :math:`\{1, 2, \dots\}`
  (:math:`P(L > t) = \gamma^t`), drawn independently of the path. Then the *undiscounted*
  sum :math:`\sum_{t<L} r_t` is an unbiased estimate of :math:`V^\pi(\rho)`, since
  :math:`\mathbb{E}\sum_{t<L} r_t = \sum_t P(L>t)\,\mathbb{E}r_t = \sum_t\gamma^t\mathbb{E} r_t`
  (the random-horizon trick; Paternain et al. 2020, Zhang et al. 2020 "Global convergence
  of policy gradient methods to (almost) locally optimal policies").
* ``"absorbing"``: run until the trajectory enters an absorbing state (``absorbing=`` mask,
  default: states whose every action loops to itself with zero reward), capped at
  ``length`` steps (``truncated`` counts the capped ones).

Arrays come back padded to the longest trajectory: ``states[N, Lmax+1]`` (the state after
the last action included, for bootstrapping), ``actions[N, Lmax]``, ``rewards[N, Lmax]``
(the expected reward ``r[s, a]``), ``lengths[N]``; padding is ``-1`` / ``0.0``. With
``layout="flat"`` the same trajectories come back unpadded (:class:`FlatRollouts`: concatenated
steps and ``offsets``).

Reproducibility: one integer seed -> :class:`numpy.random.SeedSequence` -> one 64-bit seed
per trajectory -> a SplitMix64 stream per trajectory inside the kernel (see
:mod:`mdpgrad.kernels.rollouts`). Results are identical for any thread count and between
the ``numpy`` reference and the ``numba`` kernel (tested bit for bit).

Log-linear policies :math:`\pi(a|s)\propto\exp\phi(s,a)^\top\theta` are sampled through
:func:`rollouts_loglinear` (the policy is stationary, so its table is computed once).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import get_backend
from .errors import InvalidInputError
from .exact import check_policy
from .kernels.rollouts import splitmix_next
from .mdp import as_mdp
from .validation import as_float_array, check_allocation, check_gamma, check_indices, check_int, check_positive_int

__all__ = ["Rollouts", "FlatRollouts", "LAYOUTS", "sample_trajectories", "sample_returns", "rollouts_loglinear",
           "trajectory_seeds", "HORIZONS", "prepare_sampler", "geometric_lengths"]

HORIZONS = ("fixed", "geometric", "absorbing")
LAYOUTS = ("padded", "flat")



@dataclass(frozen=True, eq=False)
class Rollouts:
    """A batch of trajectories (padded arrays, see module docstring).

    ``horizon`` and ``gamma`` record how they were drawn: estimators discount with
    :math:`\\gamma^t` for ``"fixed"``/``"absorbing"`` and not at all for ``"geometric"``
    (the random length already discounts).

    ``truncated`` counts the trajectories cut by the ``length`` cap of a geometric or absorbing
    horizon. ``truncated_mask[i]`` is True when trajectory ``i`` was *cut* rather than *terminated*:
    its last state ``states[i, lengths[i]]`` continues, so GAE (:func:`~mdpgrad.estimators.gae_batch`)
    and :meth:`returns` with ``values`` bootstrap from it. Fixed horizons: every trajectory is cut;
    geometric: those whose drawn length exceeded the cap; absorbing: those that did not reach an
    absorbing state. ``None`` (hand-built rollouts): fixed/absorbing bootstrap, geometric terminates.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    lengths: np.ndarray
    horizon: str
    gamma: float
    truncated: int = 0
    truncated_mask: np.ndarray | None = None

    def cut(self) -> np.ndarray:
        """Per-trajectory bool: cut (bootstrap from the last state) rather than terminated."""
        if self.truncated_mask is not None:
            return np.asarray(self.truncated_mask, dtype=bool)
        return np.full(self.n, self.horizon != "geometric")

    @property
    def n(self) -> int:
        return int(self.lengths.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.lengths.sum())

    @property
    def mask(self) -> np.ndarray:
        """``mask[i, t] = t < lengths[i]`` (valid steps)."""
        return np.arange(self.actions.shape[1])[None, :] < self.lengths[:, None]

    @property
    def discount(self) -> np.ndarray:
        r"""Per-step weight ``d[t]``: :math:`\gamma^t` (fixed/absorbing) or 1 (geometric)."""
        T = self.actions.shape[1]
        if self.horizon == "geometric":
            return np.ones(T)
        return self.gamma ** np.arange(T)

    def returns(self, values=None) -> np.ndarray:
        """Per-trajectory return ``sum_t d[t] r_t`` (an estimate of V(rho); see module docstring).

        With state ``values[s]``, cut trajectories (:meth:`cut`) add the bootstrap ``d[L] v(s_L)``
        (``gamma^L v(s_L)`` for fixed/absorbing, ``v(s_L)`` for geometric: the memoryless length
        continues), so a capped geometric return is again unbiased for ``V(rho)`` with exact values.
        """
        G = self.rewards @ self.discount
        if values is None:
            return G
        S = int(self.states.max()) + 1 if self.states.size else 1
        v = as_float_array(values, "values", ndim=1)
        if v.shape[0] < S:
            raise InvalidInputError(f"values: expected one value per state (at least {S}), got shape {v.shape}.")
        last = self.states[np.arange(self.n), self.lengths]
        dL = np.ones(self.n) if self.horizon == "geometric" else self.gamma ** self.lengths
        return G + np.where(self.cut(), dL * v[np.where(last >= 0, last, 0)], 0.0)


@dataclass(frozen=True, eq=False)
class FlatRollouts:
    """The same trajectories in the flat (ragged) layout of ``sample_trajectories(..., layout="flat")``.

    Step ``t`` of trajectory ``i`` is entry ``offsets[i] + t`` of ``states``, ``actions``, ``rewards``
    (``offsets[N+1]``, ``offsets[i+1] - offsets[i] = lengths[i]``); ``final_states[i]`` is the state after
    its last action. Nothing is padded, so memory is O(total steps) instead of O(N * longest), which matters
    for geometric horizons (the longest of N lengths is ~log(N)/(1-gamma), the mean 1/(1-gamma)).
    :meth:`to_padded` gives exactly the :class:`Rollouts` of ``layout="padded"``.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    offsets: np.ndarray
    final_states: np.ndarray
    lengths: np.ndarray
    horizon: str
    gamma: float
    truncated: int = 0
    truncated_mask: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.lengths.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.offsets[-1])

    @property
    def trajectory(self) -> np.ndarray:
        """``trajectory[k]``: the trajectory of flat step ``k``."""
        return np.repeat(np.arange(self.n), self.lengths)

    @property
    def step(self) -> np.ndarray:
        """``step[k]``: the time index ``t`` of flat step ``k`` within its trajectory."""
        return np.arange(self.n_steps) - np.repeat(self.offsets[:-1], self.lengths)

    @property
    def discount(self) -> np.ndarray:
        r"""Per-step weight: :math:`\gamma^t` (fixed/absorbing) or 1 (geometric), as :attr:`Rollouts.discount`."""
        if self.horizon == "geometric":
            return np.ones(self.n_steps)
        return self.gamma ** self.step

    def returns(self) -> np.ndarray:
        """Per-trajectory return ``sum_t d[t] r_t`` (as :meth:`Rollouts.returns`, summed in step order)."""
        return np.bincount(self.trajectory, weights=self.rewards * self.discount, minlength=self.n)

    def to_padded(self) -> Rollouts:
        """The padded :class:`Rollouts` (``-1`` / ``0.0`` padding), equal to ``layout="padded"`` output."""
        n, T = self.n, int(self.lengths.max())
        states = np.full((n, T + 1), -1, dtype=self.states.dtype)
        actions = np.full((n, T), -1, dtype=self.actions.dtype)
        rewards = np.zeros((n, T))
        rows, cols = self.trajectory, self.step
        states[rows, cols] = self.states
        actions[rows, cols] = self.actions
        rewards[rows, cols] = self.rewards
        states[np.arange(n), self.lengths] = self.final_states
        return Rollouts(states, actions, rewards, self.lengths.copy(), self.horizon, self.gamma, self.truncated,
                        self.truncated_mask)


def trajectory_seeds(seed, n: int, *, key: int = 0) -> np.ndarray:
    """``n`` independent 64-bit seeds derived from ``seed`` (an int or SeedSequence) via
    ``SeedSequence(seed).spawn``-style keys: seed ``i`` depends only on ``(seed, key, i)``."""
    if isinstance(seed, np.random.Generator):
        raise InvalidInputError("seed: pass an int or SeedSequence (a Generator's stream depends on its history); "
                                "e.g. seed=int(rng.integers(2**63)).")
    if isinstance(seed, np.random.SeedSequence):
        entropy = seed.entropy
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        entropy = check_int(seed, "seed", minimum=0, what="a seed")
    else:
        raise InvalidInputError(f"seed = {seed!r}: expected an int >= 0 or numpy.random.SeedSequence.")
    key = check_int(key, "key", minimum=0)
    n = check_int(n, "n", minimum=0)
    ss = np.random.SeedSequence(entropy, spawn_key=(int(key),))
    from .kernels.rollouts import seed_words

    # == ss.generate_state(n, dtype=np.uint64) (tested), compiled: NumPy's loop is ~0.2 us/seed
    words = seed_words(np.asarray(ss.pool, dtype=np.uint32), 2 * int(n))
    return words.astype("<u4").view("<u8").astype(np.uint64)


def geometric_lengths(seeds: np.ndarray, gamma: float) -> np.ndarray:
    r"""``L = 1 + floor(log(1-u) / log(gamma))`` ~ Geom(1-gamma) on {1, 2, ...}, one uniform
    per trajectory from its own stream (so lengths are independent of the paths)."""
    gamma = check_gamma(gamma)
    raw = np.asarray(seeds)
    if raw.dtype.kind not in "iu" or raw.ndim != 1:
        raise InvalidInputError(f"seeds: expected a 1-D integer array (from trajectory_seeds), got dtype "
                                f"{raw.dtype}, shape {raw.shape}.")
    _, u = splitmix_next(raw.astype(np.uint64))
    if gamma <= 0.0:
        return np.ones(u.shape, dtype=np.int64)
    return 1 + np.floor(np.log1p(-u) / np.log(gamma)).astype(np.int64)


def _cum_rows(p: np.ndarray) -> np.ndarray:
    c = np.cumsum(p, axis=-1)
    # rows sum to 1 within 1e-8; the last positive entry's cumulative value is set to 2 so
    # u in [0, 1) always lands in the row (round-off mass goes to the last outcome).
    last = p.shape[-1] - 1 - np.argmax(p[..., ::-1] > 0, axis=-1)
    ar = np.arange(p.shape[-1])
    c = np.where(ar >= last[..., None], 2.0, c)
    return c


@dataclass(frozen=True, eq=False)
class _Sampler:
    rho_cum: np.ndarray
    pi_cum: np.ndarray
    ptr: np.ndarray
    idx: np.ndarray
    cum: np.ndarray
    dense_cum: np.ndarray
    r: np.ndarray
    absorbing: np.ndarray
    gamma: float
    pi_thr: np.ndarray  # (S, A-1) int64 thresholds, or (0, 0) when A > LINEAR_MAX
    tr_thr: np.ndarray  # (S*A, K-1) int64 thresholds, K = max non-zeros per row, or (0, 0) when K > LINEAR_MAX
    tr_idx: np.ndarray  # (S*A, K) next-state indices of those rows, or (0, 0)

    def kernel_args(self):
        """The table arguments of the Numba kernels, in their order."""
        return (self.rho_cum, self.pi_cum, self.pi_thr, self.ptr, self.idx, self.cum, self.tr_thr, self.tr_idx,
                self.r, self.absorbing)


_NEVER = np.int64(1) << np.int64(54)  # threshold above every 53-bit draw


def _thresholds(c: np.ndarray) -> np.ndarray:
    r"""``ceil(c * 2^53)`` as int64: :math:`m 2^{-53} \ge c \iff m \ge \lceil c 2^{53}\rceil` for integer
    :math:`m` (exact, since scaling by :math:`2^{53}` is exact; see :mod:`mdpgrad.kernels.rollouts`)."""
    return np.ceil(np.ldexp(c, 53)).astype(np.int64)


def _padded_rows(ptr, idx, cum, K):
    """CSR rows -> fixed-width rows: thresholds (rows, K-1) padded with 2^54, indices (rows, K)."""
    rows = ptr.shape[0] - 1
    counts = np.diff(ptr)
    row_of = np.repeat(np.arange(rows), counts)
    pos = np.arange(idx.shape[0]) - ptr[row_of]
    tr_idx = np.zeros((rows, K), dtype=np.int64)
    tr_idx[row_of, pos] = idx
    tr_thr = np.full((rows, K - 1), _NEVER, dtype=np.int64)
    keep = pos < K - 1  # a row's last entry (cumulative 2.0) is never counted
    tr_thr[row_of[keep], pos[keep]] = _thresholds(cum[keep])
    return tr_thr, tr_idx


def prepare_sampler(mdp, pi, *, absorbing=None) -> _Sampler:
    """Precompute the cumulative rows (policy dense, transitions CSR over non-zeros)."""
    m = as_mdp(mdp)
    S, A = m.shape
    pi = check_policy(pi, S, A)
    P = np.asarray(m.P)
    dense = _cum_rows(P)
    nz = P > 0
    counts = nz.reshape(S * A, S).sum(1)
    ptr = np.zeros(S * A + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(counts)
    idx = np.nonzero(nz.reshape(S * A, S))[1].astype(np.int64)
    cum = dense.reshape(S * A, S)[nz.reshape(S * A, S)]
    if absorbing is None:
        loops = np.all(P[np.arange(S), :, np.arange(S)] == 1.0, axis=1)
        absorbing = loops & np.all(np.asarray(m.r) == 0.0, axis=1)
    else:
        absorbing = np.asarray(absorbing, dtype=bool)
        if absorbing.shape != (S,):
            raise InvalidInputError(f"absorbing: expected a boolean mask of shape ({S},), got {absorbing.shape}.")
    from .kernels.rollouts import LINEAR_MAX

    pi_cum = _cum_rows(pi)
    none = np.zeros((0, 0), dtype=np.int64)
    pi_thr = np.ascontiguousarray(_thresholds(pi_cum[:, :-1])) if A <= LINEAR_MAX else none
    K = int(counts.max())
    tr_thr, tr_idx = _padded_rows(ptr, idx, cum, K) if K <= LINEAR_MAX else (none, none)
    return _Sampler(_cum_rows(np.asarray(m.rho)), pi_cum, ptr, idx, np.ascontiguousarray(cum), dense,
                    np.ascontiguousarray(m.r), absorbing, float(m.gamma), pi_thr, tr_thr, tr_idx)








def sample_trajectories(mdp, pi, n: int, *, horizon: str = "geometric", length: int | None = None,
                        seed=0, start_states=None, absorbing=None, backend="auto",
                        lengths=None, layout: str = "padded") -> Rollouts | FlatRollouts:
    """Sample ``n`` trajectories of ``mdp`` under the stationary policy ``pi[s, a]``.

    Parameters
    ----------
    horizon : ``"fixed"`` (``length`` steps), ``"geometric"`` (Geom(1-gamma) lengths; ``length``
        optionally caps them), or ``"absorbing"`` (until an absorbing state, at most ``length``).
    seed : int or SeedSequence; per-trajectory streams are derived from it (module docstring).
    start_states : optional int array (n,) of initial states (else drawn from ``rho``).
    absorbing : optional boolean mask (S,) for ``"absorbing"``.
    backend : runs the kernels ``rollouts_padded`` / ``rollouts_flat``: ``"numba"`` (what ``"auto"``
        picks) or ``"numpy"`` (reference; identical output).
    lengths : optional int array (n,) of per-trajectory lengths (overrides ``horizon``'s rule;
        the returned ``horizon`` is still used for discounting).
    layout : ``"padded"`` (default): :class:`Rollouts` with arrays padded to the longest trajectory;
        ``"flat"``: :class:`FlatRollouts`, the same trajectories concatenated with ``offsets`` (no padding;
        ``.to_padded()`` converts). With ``horizon="absorbing"`` the flat layout samples every trajectory
        twice (a counting pass fixes the offsets); the padded one usually once.
    """
    m = as_mdp(mdp)
    n = check_positive_int(n, "n")
    if horizon not in HORIZONS:
        raise InvalidInputError(f"horizon = {horizon!r} is not known; choose one of {HORIZONS}.")
    if layout not in LAYOUTS:
        raise InvalidInputError(f"layout = {layout!r} is not known; choose one of {LAYOUTS}.")
    be = get_backend(backend, kernel="rollouts_padded")
    smp = prepare_sampler(m, pi, absorbing=absorbing)
    seeds = trajectory_seeds(seed, n, key=0)
    truncated = 0
    cut = np.full(n, horizon != "geometric")
    if lengths is not None:
        L = check_indices(lengths, "lengths", 2**62, what="length (>= 0)")
        if L.shape != (n,):
            raise InvalidInputError(f"lengths: expected n = {n} non-negative integers, got shape {L.shape}.")
    elif horizon == "fixed":
        if length is None:
            raise InvalidInputError("length: horizon='fixed' needs length=H (the number of steps).")
        L = np.full(n, check_positive_int(length, "length"), dtype=np.int64)
    elif horizon == "geometric":
        L = geometric_lengths(trajectory_seeds(seed, n, key=1), m.gamma)
        if length is not None:
            cap = check_positive_int(length, "length")
            cut = L > cap
            truncated = int(cut.sum())
            L = np.minimum(L, cap)
    else:
        if length is None:
            raise InvalidInputError("length: horizon='absorbing' needs a step cap length=.")
        L = np.full(n, check_positive_int(length, "length"), dtype=np.int64)
    if start_states is None:
        start = np.full(n, -1, dtype=np.int64)
    else:
        raw = np.asarray(start_states)
        if raw.dtype.kind not in "iuf":
            raise InvalidInputError(f"start_states: expected integer state indices, got dtype {raw.dtype}.")
        from_rho = (raw == -1) if raw.dtype.kind in "iuf" else np.zeros(raw.shape, bool)
        start = check_indices(np.where(from_rho, 0, raw), "start_states", m.n_states,
                              what="state index (or -1 for rho)")
        start = np.where(from_rho, -1, start).astype(np.int64)
        if start.shape != (n,):
            raise InvalidInputError(f"start_states: expected {n} state indices in [0, {m.n_states}) (or -1 for rho).")
    use_abs = horizon == "absorbing"
    if not use_abs:  # absorbing: the lengths are known only after sampling (the cap only bounds them)
        _check_rollout_size(n, L, layout)
    if layout == "flat":
        states, actions, rewards, offsets, final, out_len, caps = be.kernel("rollouts_flat")(smp, seeds, L, start,
                                                                                           use_abs)
        if use_abs:
            cut = (out_len == caps) & ~smp.absorbing[final]
            truncated = int(np.sum(cut))
        return FlatRollouts(states, actions, rewards, offsets, final, out_len, horizon, smp.gamma, truncated, cut)
    states, actions, rewards, out_len, L = be.kernel("rollouts_padded")(smp, seeds, L, start, use_abs)
    if use_abs:
        cut = (out_len == L) & ~smp.absorbing[states[np.arange(n), out_len]]
        truncated = int(np.sum(cut))
        Lmax2 = int(out_len.max())
        states, actions, rewards = states[:, :Lmax2 + 1], actions[:, :Lmax2], rewards[:, :Lmax2]
    return Rollouts(states, actions, rewards, out_len, horizon, float(m.gamma), truncated, cut)


def _check_rollout_size(n, L, layout):
    """Pre-flight: the arrays about to be allocated must fit (named error instead of a MemoryError)."""
    if layout == "flat":
        check_allocation((int(L.sum()), 2), "the flat trajectory arrays (total steps)", "n or length", itemsize=8)
    else:
        Lmax = int(L.max()) if L.size else 0
        check_allocation((n, 2 * Lmax + 1), f"the padded trajectory arrays (n = {n}, longest length {Lmax})",
                         "n, or cap the horizon with length=, or use layout='flat'", itemsize=8)




def rollouts_loglinear(mdp, theta, phi, n: int, **kwargs) -> Rollouts:
    r"""Trajectories under the log-linear policy :math:`\pi(a|s)\propto\exp\phi(s,a)^\top\theta`
    (``phi[s, a, d]``, ``theta[d]``); keyword arguments as :func:`sample_trajectories`."""
    from .policies import probs

    phi = as_float_array(phi, "phi", ndim=3)
    return sample_trajectories(mdp, probs(theta, "loglinear", phi=phi), n, **kwargs)


def sample_returns(mdp, pi, n: int, *, horizon: str = "geometric", length: int | None = None, seed=0,
                   absorbing=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-trajectory undiscounted returns and lengths, without storing paths (Numba kernel).

    Same streams as :func:`sample_trajectories` (same ``seed`` gives the same trajectories), so
    ``returns`` equals ``sample_trajectories(...).rewards.sum(1)``. With ``horizon="geometric"``
    the mean return is an unbiased estimate of ``V(rho)``; memory is O(n).
    """
    from .kernels.rollouts import rollout_count_kernel

    m = as_mdp(mdp)
    n = check_positive_int(n, "n")
    if horizon not in HORIZONS:
        raise InvalidInputError(f"horizon = {horizon!r} is not known; choose one of {HORIZONS}.")
    smp = prepare_sampler(m, pi, absorbing=absorbing)
    seeds = trajectory_seeds(seed, n, key=0)
    if horizon == "geometric":
        L = geometric_lengths(trajectory_seeds(seed, n, key=1), m.gamma)
        if length is not None:
            L = np.minimum(L, check_positive_int(length, "length"))
    else:
        if length is None:
            raise InvalidInputError(f"length: horizon={horizon!r} needs length= (steps or step cap).")
        L = np.full(n, check_positive_int(length, "length"), dtype=np.int64)
    out_len = np.zeros(n, dtype=np.int64)
    ret = np.zeros(n)
    rollout_count_kernel(seeds, L, np.full(n, -1, dtype=np.int64), *smp.kernel_args(), horizon == "absorbing",
                         out_len, ret)
    return ret, out_len
