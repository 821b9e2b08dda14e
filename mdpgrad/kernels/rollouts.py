r"""Numba kernels for batched trajectory sampling (see :mod:`mdpgrad.rollouts`).

Random numbers: every trajectory ``i`` owns a SplitMix64 stream (Steele, Lea, Flood 2014)
seeded with ``seeds[i]`` (derived from one :class:`numpy.random.SeedSequence`). A draw is

.. math::

    x \leftarrow x + \mathtt{0x9E3779B97F4A7C15},\quad
    z = \mathrm{mix}(x),\quad u = \lfloor z / 2^{11}\rfloor \cdot 2^{-53} \in [0, 1),

so trajectory ``i`` sees the same numbers whatever thread runs it: results do not depend
on the thread count. The NumPy reference in :mod:`mdpgrad.rollouts` runs the same
generator vectorized over trajectories and gives bit-identical arrays.

Sampling is by inverse CDF on precomputed cumulative rows: the policy as dense rows
``pi_cum[s, :]`` and the transitions in CSR form over the non-zero entries of
``P[s, a, :]`` (``ptr``, ``idx``, ``cum``). The last cumulative entry of every row is
stored as 2.0, so a row summing to ``1 - 1e-8`` (the validation tolerance) can never fall
off its end. The sampled index is :math:`k = \#\{j : u \ge c_j\}` (the NumPy reference
computes exactly this count).

Fast path for short rows (``A <= LINEAR_MAX`` for the policy, at most ``LINEAR_MAX``
non-zeros per transition row; FrozenLake, garnets): the count is computed branch-free over
a fixed-width padded row, in integers. With :math:`u = m\,2^{-53}` (:math:`m` the 53-bit
integer of the draw) and :math:`c \le 2`, :math:`u \ge c \iff m \ge \lceil c\,2^{53}\rceil`
exactly (scaling by a power of two is exact), so the thresholds ``thr = ceil(ldexp(c, 53))``
give the same index as the float comparison -- the same trajectories as binary search, bit
for bit, without its unpredictable branches. Padding thresholds are :math:`2^{54}` (never
reached). Longer rows use binary search on the float CSR rows.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO53 = 1.0 / 9007199254740992.0


@nb.njit(cache=True, inline="always")
def _mix(x):  # pragma: no cover - compiled
    z = x
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(cache=True, inline="always")
def _search(cum, lo, hi, u):  # pragma: no cover - compiled
    """Smallest ``k`` in ``[lo, hi)`` with ``u < cum[k]`` (``cum`` non-decreasing, last entry 2)."""
    while lo < hi - 1:
        mid = (lo + hi) >> 1
        if u < cum[mid - 1]:
            hi = mid
        else:
            lo = mid
    return lo


@nb.njit(cache=True, inline="always")
def splitmix_uniform(x):  # pragma: no cover - compiled
    """One SplitMix64 draw: ``(new state, u in [0, 1))`` (module docstring)."""
    x = x + _GOLDEN
    return x, np.float64(_mix(x) >> _S11) * _TWO53


LINEAR_MAX = 16  # rows up to this many outcomes use the branch-free padded count


@nb.njit(cache=True, inline="always")
def _count(thr, m):  # pragma: no cover - compiled
    """``#{j : m >= thr[j]}`` for one padded integer threshold row (branch-free)."""
    k = 0
    for j in range(thr.shape[0]):
        k += m >= thr[j]
    return k


@nb.njit(cache=True, inline="always")
def transition_step(x, s, A, pi_cum, pi_thr, lin_pi, ptr, idx, cum, tr_thr, tr_idx, lin_tr):  # pragma: no cover
    """One transition from ``s``: returns (stream state, action, next state). Draw order: action, next state."""
    x = x + _GOLDEN
    m = np.int64(_mix(x) >> _S11)
    if lin_pi:
        a = _count(pi_thr[s], m)
    else:
        a = _search(pi_cum[s], 0, A, m * _TWO53)
    row = s * A + a
    x = x + _GOLDEN
    m = np.int64(_mix(x) >> _S11)
    if lin_tr:
        s2 = tr_idx[row, _count(tr_thr[row], m)]
    else:
        s2 = idx[_search(cum, ptr[row], ptr[row + 1], m * _TWO53)]
    return x, a, s2


@nb.njit(cache=True, inline="always")
def first_state(x, st, rho_cum):  # pragma: no cover - compiled
    if st >= 0:
        return x, st
    x = x + _GOLDEN
    u = (_mix(x) >> _S11) * _TWO53
    return x, _search(rho_cum, 0, rho_cum.shape[0], u)


@nb.njit(cache=True, parallel=True)
def rollout_kernel(seeds, lengths, start, rho_cum, pi_cum, pi_thr, ptr, idx, cum, tr_thr, tr_idx, r, absorbing,
                   use_absorbing, states, actions, rewards, out_len):  # pragma: no cover - compiled
    """Sample ``N`` trajectories in parallel; trajectory ``i`` runs ``lengths[i]`` steps or
    until it enters a state with ``absorbing[s]`` (when ``use_absorbing``).

    ``states[i, t]`` for ``t <= out_len[i]`` (the state after the last action included),
    ``actions[i, t]`` and ``rewards[i, t]`` for ``t < out_len[i]``; ``states``/``actions`` are
    padded with ``-1`` here (they may come from ``np.empty``); ``rewards`` must be passed
    zero-filled (``np.zeros``: fresh pages are already zero, so its padding costs no writes).
    ``start[i] >= 0`` fixes the initial state (else it is drawn from ``rho_cum`` with the
    first uniform of the stream). ``pi_thr``/``tr_thr``/``tr_idx`` are the padded integer
    rows of the fast path (module docstring), used when they have rows.
    """
    N = seeds.shape[0]
    A = pi_cum.shape[1]
    lin_pi = pi_thr.shape[0] > 0
    lin_tr = tr_idx.shape[0] > 0
    for i in nb.prange(N):
        x, s = first_state(seeds[i], start[i], rho_cum)
        L = lengths[i]
        t = 0
        while t < L:
            if use_absorbing and absorbing[s]:
                break
            states[i, t] = s
            s0 = s
            x, a, s = transition_step(x, s, A, pi_cum, pi_thr, lin_pi, ptr, idx, cum, tr_thr, tr_idx, lin_tr)
            actions[i, t] = a
            rewards[i, t] = r[s0, a]
            t += 1
        states[i, t] = s
        out_len[i] = t
        for k in range(t + 1, states.shape[1]):
            states[i, k] = -1
        for k in range(t, actions.shape[1]):
            actions[i, k] = -1


@nb.njit(cache=True, parallel=True)
def rollout_count_kernel(seeds, lengths, start, rho_cum, pi_cum, pi_thr, ptr, idx, cum, tr_thr, tr_idx, r,
                         absorbing, use_absorbing, out_len, out_return):  # pragma: no cover - compiled
    """The same sampler without storing paths: per-trajectory length and undiscounted return
    (used to size the padded arrays, by the throughput benchmark and by value estimates that
    need no per-step data)."""
    N = seeds.shape[0]
    A = pi_cum.shape[1]
    lin_pi = pi_thr.shape[0] > 0
    lin_tr = tr_idx.shape[0] > 0
    for i in nb.prange(N):
        x, s = first_state(seeds[i], start[i], rho_cum)
        L = lengths[i]
        t = 0
        g = 0.0
        while t < L:
            if use_absorbing and absorbing[s]:
                break
            s0 = s
            x, a, s = transition_step(x, s, A, pi_cum, pi_thr, lin_pi, ptr, idx, cum, tr_thr, tr_idx, lin_tr)
            g += r[s0, a]
            t += 1
        out_len[i] = t
        out_return[i] = g


@nb.njit(cache=True, parallel=True)
def rollout_flat_kernel(seeds, lengths, start, rho_cum, pi_cum, pi_thr, ptr, idx, cum, tr_thr, tr_idx, r, absorbing,
                        use_absorbing, offsets, states, actions, rewards, final, out_len):  # pragma: no cover
    """:func:`rollout_kernel` into the flat (ragged) layout: step ``t`` of trajectory ``i`` goes to
    ``offsets[i] + t`` of ``states``/``actions``/``rewards``, the state after its last action to
    ``final[i]``. ``lengths`` must be the exact lengths (for ``use_absorbing``, from the counting
    pass), so every slot is written and no padding exists."""
    N = seeds.shape[0]
    A = pi_cum.shape[1]
    lin_pi = pi_thr.shape[0] > 0
    lin_tr = tr_idx.shape[0] > 0
    for i in nb.prange(N):
        x, s = first_state(seeds[i], start[i], rho_cum)
        L = lengths[i]
        o = offsets[i]
        t = 0
        while t < L:
            if use_absorbing and absorbing[s]:
                break
            states[o + t] = s
            s0 = s
            x, a, s = transition_step(x, s, A, pi_cum, pi_thr, lin_pi, ptr, idx, cum, tr_thr, tr_idx, lin_tr)
            actions[o + t] = a
            rewards[o + t] = r[s0, a]
            t += 1
        final[i] = s
        out_len[i] = t


@nb.njit(cache=True)
def seed_words(pool, n_words):  # pragma: no cover - compiled
    """``numpy.random.SeedSequence.generate_state`` (uint32 words) for a given ``pool``: word
    ``i`` is ``((pool[i % len(pool)] ^ h_i) * h_{i+1}) ^ (... >> 16)`` mod 2^32 with
    ``h_i = INIT_B * MULT_B^i`` (NumPy's hash constants); a compiled copy of NumPy's loop
    (tested equal to it), about 50x faster for a seed per trajectory."""
    out = np.empty(n_words, dtype=np.uint32)
    mask = np.uint64(0xFFFFFFFF)
    h = np.uint64(0x8B51F9DD)
    mult = np.uint64(0x58F38DED)
    sh = np.uint64(16)
    P = pool.shape[0]
    for i in range(n_words):  # all in uint64, reduced mod 2^32 after every product
        d = np.uint64(pool[i % P]) ^ h
        h = (h * mult) & mask
        d = (d * h) & mask
        out[i] = d ^ (d >> sh)
    return out


@nb.njit(cache=True, parallel=True)
def accumulate_kernel(states, actions, lengths, W, S, A, acc, ws):  # pragma: no cover - compiled
    """``acc[i, s, a] += W[i, t]`` and ``ws[i, s] += W[i, t]`` over the valid steps ``t < lengths[i]``
    (the sums behind every score-function estimator, without touching the padding)."""
    n = lengths.shape[0]
    for i in nb.prange(n):
        for t in range(lengths[i]):
            s = states[i, t]
            a = actions[i, t]
            acc[i, s, a] += W[i, t]
            ws[i, s] += W[i, t]


# --- NumPy reference twins and the kernel table's entry points (mdpgrad.backend.KERNELS) ------------
# ``smp`` is a prepared sampler (mdpgrad.rollouts.prepare_sampler): cumulative rows and their tables.
def splitmix_next(x: np.ndarray):
    """One SplitMix64 step on a uint64 array; returns (new state, uniforms in [0, 1))."""
    x = x + _GOLDEN
    z = x.copy()
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z = z ^ (z >> np.uint64(31))
    return x, (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def _rollout_numpy(smp, seeds, lengths, start, use_abs, states, actions, rewards, out_len):
    """Vectorized NumPy reference: the same streams and draw order as the Numba kernel."""
    N = seeds.shape[0]
    x = seeds.copy()
    s = start.copy()
    need = s < 0
    x2, u = splitmix_next(x)
    x = np.where(need, x2, x)
    s = np.where(need, np.sum(u[:, None] >= smp.rho_cum[None, :], axis=1), s)
    alive = np.ones(N, dtype=bool)
    t = 0
    rows = np.arange(N)
    Lmax = int(lengths.max()) if N else 0
    while t < Lmax:
        alive &= t < lengths
        if use_abs:
            alive &= ~smp.absorbing[s]
        if not alive.any():
            break
        states[alive, t] = s[alive]
        x, u = splitmix_next(x)
        a = np.sum(u[:, None] >= smp.pi_cum[s], axis=1)
        actions[alive, t] = a[alive]
        rewards[alive, t] = smp.r[s, a][alive]
        x, u = splitmix_next(x)
        s_next = np.sum(u[:, None] >= smp.dense_cum[s, a], axis=1)
        s = np.where(alive, s_next, s)
        out_len[alive] += 1
        t += 1
    states[rows, out_len] = s


def _absorbing_lengths(smp, seeds, caps, start, out_len):
    """Per-trajectory step limits for the storing pass of ``horizon="absorbing"`` such that the padded width
    ``max(limits)`` is exact (the longest trajectory), sampling as little as possible twice.

    The width is ``max(caps)`` as soon as one trajectory runs to that cap. So the counting pass (same streams,
    nothing stored) runs on growing prefixes (1024, 4096, ... trajectories) and stops at the first prefix that
    contains such a trajectory: then the caps are already exact and only that prefix was sampled twice. If none
    does, every trajectory has been counted and the limits are the sampled lengths (two full passes, as exact).
    """
    n = seeds.shape[0]
    cap = caps.max()
    ret = np.empty(n)
    tables = smp.kernel_args()
    lo, chunk = 0, 1024
    while lo < n:
        hi = min(n, lo + chunk)
        rollout_count_kernel(seeds[lo:hi], caps[lo:hi], start[lo:hi], *tables, True, out_len[lo:hi], ret[lo:hi])
        if (out_len[lo:hi] == cap).any():
            return caps
        lo, chunk = hi, 4 * chunk
    return np.minimum(caps, out_len)


def rollouts_padded_numpy(smp, seeds, L, start, use_abs):
    """``(states, actions, rewards, lengths, limits)`` padded to the longest trajectory (NumPy reference)."""
    n = seeds.shape[0]
    out_len = np.zeros(n, dtype=np.int64)
    Lmax = int(L.max())
    states = np.full((n, Lmax + 1), -1, dtype=np.int32)
    actions = np.full((n, Lmax), -1, dtype=np.int32)
    rewards = np.zeros((n, Lmax))
    _rollout_numpy(smp, seeds, L, start, use_abs, states, actions, rewards, out_len)
    return states, actions, rewards, out_len, L


def rollouts_padded_numba(smp, seeds, L, start, use_abs):
    """Numba twin of :func:`rollouts_padded_numpy` (same streams; the absorbing horizon counts first)."""
    n = seeds.shape[0]
    out_len = np.zeros(n, dtype=np.int64)
    if use_abs:
        L = _absorbing_lengths(smp, seeds, L, start, out_len)
    Lmax = int(L.max())
    states = np.empty((n, Lmax + 1), dtype=np.int32)
    actions = np.empty((n, Lmax), dtype=np.int32)
    rewards = np.zeros((n, Lmax))  # the kernel writes valid steps only; fresh zero pages are the padding
    rollout_kernel(seeds, L, start, *smp.kernel_args(), use_abs, states, actions, rewards, out_len)
    return states, actions, rewards, out_len, L


def rollouts_flat_numpy(smp, seeds, L, start, use_abs):
    """``(states, actions, rewards, offsets, final, lengths, caps)`` concatenated (NumPy reference)."""
    states, actions, rewards, out_len, _ = rollouts_padded_numpy(smp, seeds, L, start, use_abs)
    n = seeds.shape[0]
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(out_len)
    mask = np.arange(actions.shape[1])[None, :] < out_len[:, None]
    final = states[np.arange(n), out_len]
    return states[:, :-1][mask], actions[mask], rewards[mask], offsets, final, out_len, L


def rollouts_flat_numba(smp, seeds, L, start, use_abs):
    """Numba twin of :func:`rollouts_flat_numpy` (offsets from the lengths; ``absorbing`` counts first)."""
    n = seeds.shape[0]
    out_len = np.zeros(n, dtype=np.int64)
    caps = L
    if use_abs:
        rollout_count_kernel(seeds, L, start, *smp.kernel_args(), True, out_len, np.empty(n))
        L = out_len.copy()
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(L, out=offsets[1:])
    T = int(offsets[-1])
    states = np.empty(T, dtype=np.int32)
    actions = np.empty(T, dtype=np.int32)
    rewards = np.empty(T)
    final = np.empty(n, dtype=np.int32)
    rollout_flat_kernel(seeds, L, start, *smp.kernel_args(), use_abs, offsets, states, actions, rewards, final,
                        out_len)
    return states, actions, rewards, offsets, final, out_len, caps


def accumulate_numpy(states, actions, lengths, W, S, A):
    """``acc[i, s, a] = sum_t W[i,t] 1{s_t=s, a_t=a}`` and ``ws[i, s] = sum_a acc[i, s, a]`` (padded rollouts)."""
    n, T = actions.shape
    mask = np.arange(T)[None, :] < lengths[:, None]
    Wm = np.where(mask, W, 0.0)
    s = np.where(mask, states[:, :T], 0).astype(np.int64)
    a = np.where(mask, actions, 0).astype(np.int64)
    traj = np.broadcast_to(np.arange(n)[:, None], (n, T))
    acc = np.bincount((traj * S * A + s * A + a).ravel(), weights=Wm.ravel(), minlength=n * S * A)
    return acc.reshape(n, S, A), acc.reshape(n, S, A).sum(axis=2)


def accumulate_numba(states, actions, lengths, W, S, A):
    """Numba twin of :func:`accumulate_numpy` (a kernel over the valid steps only)."""
    n = actions.shape[0]
    acc = np.zeros((n, S, A))
    ws = np.zeros((n, S))
    accumulate_kernel(states, actions, lengths, np.ascontiguousarray(W, dtype=np.float64), S, A, acc, ws)
    return acc, ws
