r"""Modified policy iteration kernels on CSR state-action rows (Puterman & Shin 1978; MacQueen 1967).

State kept between calls (:class:`MpiState`): the active actions of each state ``acts[s, :nact[s]]``
(ascending; action elimination shrinks them), their last Q-values ``q[s, j]``, the greedy action
``act[s]``, and the greedy rows in ELL form (``ell_idx``, ``ell_dat``, zero-padded to the longest
row, and ``r_mu``), copied by the backup only for the states whose greedy action changed.

* ``mpi_backup``: :math:`(Tv)(s) = \max_{a\ \mathrm{active}} r(s,a) + \gamma P(\cdot|s,a)\cdot v` in one
  pass over the CSR rows of the active actions, with the greedy action (ties to the lowest index)
  and the statistics of the certificate: :math:`\min\Delta`, :math:`\max\Delta` of
  :math:`\Delta = Tv - v` and :math:`\max(\|v\|_\infty, \|Tv\|_\infty)`; no ``(S, A)`` temporary.
* ``mpi_eliminate``: drops the actions with ``q[s, j] < Tv(s) - thr`` (MacQueen's test, the caller
  derives ``thr``); returns how many states still have more than one action.
* ``mpi_sweeps``: Jacobi sweeps :math:`u \leftarrow r_\mu + \gamma P_\mu u` over the ELL rows until
  :math:`\mathrm{span}(u_{k+1} - u_k) \le` ``stop_span`` or ``max_sweeps``; returns the last two
  iterates (their difference is :math:`T^\mu u - u`, a certificate when every state has one action).

Each Numba kernel is compiled serial and parallel (``prange`` over ``n_chunks`` equal, contiguous
blocks of states, one per thread: static chunking, per-chunk minima / maxima reduced afterwards,
so results do not depend on the thread count). Indices are read as unsigned integers, which
spares Numba's negative-index wraparound test on every gather (measured 1.7x on the backup).
The NumPy references compute the same quantities with scipy's CSR product.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .sparse import compile_twice, row_dot, use_parallel

__all__ = ["MpiState", "mpi_backup_numpy", "mpi_backup_numba", "mpi_eliminate_numpy", "mpi_eliminate_numba",
           "mpi_sweeps_numpy", "mpi_sweeps_numba"]


class MpiState:
    """Work buffers of modified policy iteration on one :class:`~mdpgrad.sparse.SparseMDP` (mutable)."""

    def __init__(self, m, n_chunks: int | None = None):
        S, A = m.shape
        self.acts = np.ascontiguousarray(np.broadcast_to(np.arange(A, dtype=np.int32), (S, A)))
        self.nact = np.full(S, A, dtype=np.int32)
        self.q = np.empty((S, A))
        self.act = np.full(S, -1, dtype=np.int64)
        W = max(int(m.max_row_nnz), 1)
        # filled by the first backup (act = -1 marks every row as changed)
        self.ell_idx = np.empty((S, W), dtype=m.indices.dtype)
        self.ell_dat = np.empty((S, W))
        self.r_mu = np.empty(S)
        self.out = np.empty(S)
        self.slack = np.full(S, -np.inf)  # certified lead of the greedy action (see mpi_backup_numba)
        self.fresh = np.ones(S, dtype=np.uint8)  # whether q[s, :nact[s]] was computed by the last backup
        self.n_chunks = max(int(nb.get_num_threads() if n_chunks is None else n_chunks), 1)
        self.stats = np.empty((self.n_chunks, 4))
        self.counts = np.zeros(self.n_chunks, dtype=np.int64)


# --- Numba kernels ------------------------------------------------------------------------
def _backup(indptr, indices, data, r, gamma, v, acts, nact, q, out, act, ell_idx, ell_dat, r_mu, slack, fresh,
            dec, margin, zero_v, stats):  # pragma: no cover - compiled
    S, A = r.shape
    W = ell_idx.shape[1]
    fidx = ell_idx.ravel()
    fdat = ell_dat.ravel()
    nch = stats.shape[0]
    one = np.uint64(1)
    for c in nb.prange(nch):
        s0 = c * S // nch
        s1 = (c + 1) * S // nch
        lo_d = np.inf
        hi_d = -np.inf
        vmax = 0.0
        spread = -np.inf  # the largest lead an elimination could use (see mpi_eliminate_numba)
        for s in range(s0, s1):
            if act[s] >= 0 and (nact[s] == 1 or slack[s] > dec):
                # the greedy action cannot have changed (one action left, or its lead over the
                # others exceeds what v's change can close): Tv(s) is its ELL row, read contiguously
                base = np.uint64(s * W)
                acc0 = 0.0
                acc1 = 0.0
                j = np.uint64(0)
                while j + one < W:
                    acc0 += fdat[base + j] * v[np.uint64(fidx[base + j])]
                    acc1 += fdat[base + j + one] * v[np.uint64(fidx[base + j + one])]
                    j += np.uint64(2)
                if j < W:
                    acc0 += fdat[base + j] * v[np.uint64(fidx[base + j])]
                best = r_mu[s] + gamma * (acc0 + acc1)
                if nact[s] == 1:
                    q[s, 0] = best
                    fresh[s] = 1
                else:
                    slack[s] -= dec
                    fresh[s] = 0
                    spread = max(spread, slack[s])
            else:
                best = -np.inf
                second = -np.inf
                worst = np.inf
                ba = -1
                for j in range(nact[s]):
                    a = acts[s, j]
                    row = np.uint64(s * A + a)
                    val = r[s, a]
                    if not zero_v:  # P . 0 = 0 exactly: no row needs reading
                        val += gamma * row_dot(data, indices, indptr[row], indptr[row + one], v)
                    q[s, j] = val
                    second = max(second, min(val, best))  # branch-free: the runner-up so far
                    if val > best:
                        ba = a
                    best = max(best, val)
                    worst = min(worst, val)
                slack[s] = best - second - margin
                fresh[s] = 1
                if nact[s] > 1:
                    spread = max(spread, best - worst)
                if ba != act[s]:
                    act[s] = ba
                    row = np.uint64(s * A + ba)
                    lo = np.uint64(indptr[row])
                    n = np.uint64(indptr[row + one]) - lo
                    for i in range(W):
                        if np.uint64(i) < n:
                            ell_idx[s, i] = indices[lo + np.uint64(i)]
                            ell_dat[s, i] = data[lo + np.uint64(i)]
                        else:
                            ell_idx[s, i] = 0
                            ell_dat[s, i] = 0.0
                    r_mu[s] = r[s, ba]
            out[s] = best
            d = best - v[s]
            if d < lo_d:
                lo_d = d
            if d > hi_d:
                hi_d = d
            vmax = max(vmax, abs(best), abs(v[s]))
        stats[c, 0] = lo_d
        stats[c, 1] = hi_d
        stats[c, 2] = vmax
        stats[c, 3] = spread


def _eliminate(q, tv, thr, acts, nact, act, slack, fresh, counts):  # pragma: no cover - compiled
    S = q.shape[0]
    nch = counts.shape[0]
    for c in nb.prange(nch):
        multi = 0
        for s in range(c * S // nch, (c + 1) * S // nch):
            n = nact[s]
            if n <= 1:
                continue
            if fresh[s] == 0:
                # skipped by the backup: every other action is below tv(s) - slack(s)
                if slack[s] > thr:
                    acts[s, 0] = act[s]
                    q[s, 0] = tv[s]
                    nact[s] = 1
                else:
                    multi += 1
                continue
            cut = tv[s] - thr
            k = 0
            for j in range(n):
                if q[s, j] >= cut:  # the greedy action has q = tv(s) and thr >= 0: k >= 1
                    acts[s, k] = acts[s, j]
                    q[s, k] = q[s, j]
                    k += 1
            nact[s] = k
            if k > 1:
                multi += 1
        counts[c] = multi


def _sweeps(ell_idx, ell_dat, r_mu, gamma, a, b, max_sweeps, stop_span, stats):  # pragma: no cover - compiled
    """Alternate ``b = T_mu a``, ``a = T_mu b``; returns ``(n, span of the last increment)``."""
    S, W = ell_idx.shape
    fidx = ell_idx.ravel()
    fdat = ell_dat.ravel()
    nch = stats.shape[0]
    one = np.uint64(1)
    n = 0
    span = np.inf
    while n < max_sweeps:
        src = a if n % 2 == 0 else b
        dst = b if n % 2 == 0 else a
        for c in nb.prange(nch):
            lo_d = np.inf
            hi_d = -np.inf
            for s in range(c * S // nch, (c + 1) * S // nch):
                base = np.uint64(s * W)
                acc0 = 0.0
                acc1 = 0.0
                j = np.uint64(0)
                while j + one < W:
                    acc0 += fdat[base + j] * src[np.uint64(fidx[base + j])]
                    acc1 += fdat[base + j + one] * src[np.uint64(fidx[base + j + one])]
                    j += np.uint64(2)
                if j < W:
                    acc0 += fdat[base + j] * src[np.uint64(fidx[base + j])]
                x = r_mu[s] + gamma * (acc0 + acc1)
                dst[s] = x
                d = x - src[s]
                if d < lo_d:
                    lo_d = d
                if d > hi_d:
                    hi_d = d
            stats[c, 0] = lo_d
            stats[c, 1] = hi_d
        n += 1
        span = stats[:, 1].max() - stats[:, 0].min()
        if span <= stop_span:
            break
    return n, span


backup_serial, backup_parallel = compile_twice(_backup)
eliminate_serial, eliminate_parallel = compile_twice(_eliminate)
sweeps_serial, sweeps_parallel = compile_twice(_sweeps)


def _chunks(st: MpiState, parallel: bool):
    return st.stats[: st.n_chunks if parallel else 1], st.counts[: st.n_chunks if parallel else 1]


def mpi_backup_numba(m, v, st: MpiState, dec: float = np.inf, margin: float = 0.0):
    """``(Tv, lo, hi, vmax, spread)`` over the active actions (``spread``: no elimination threshold
    at or above it can drop an action, see :func:`mpi_eliminate_numba`); ``Tv`` is ``st.out`` (overwritten by the next call),
    the greedy actions are ``st.act`` and ``st.q[s, :st.nact[s]]`` their Q-values where ``st.fresh[s]``.

    Greedy-stability skip: ``st.slack[s]`` is a lower bound on ``q(s, greedy) - q(s, a)`` for the other
    active actions at the previous backup's ``v`` (``best - second - margin`` when computed). A change
    ``v -> v + dv`` moves each such difference by ``gamma (P_b - P_a) dv <= gamma span(dv)``, so with
    ``dec >= gamma span(dv)`` (plus round-off) a state with ``slack > dec`` keeps its greedy action and
    its ``Tv(s)`` is the greedy row alone: the other rows are not read (``slack -= dec``). For
    ``v = 0`` (the solvers' default start) ``Tv = max_a r`` exactly and only the greedy rows are read.
    """
    par = use_parallel(m.nnz)
    stats, _ = _chunks(st, par)
    k = backup_parallel if par else backup_serial
    k(m.indptr, m.indices, m.data, m.r, m.gamma, v, st.acts, st.nact, st.q, st.out, st.act, st.ell_idx,
      st.ell_dat, st.r_mu, st.slack, st.fresh, float(dec), float(margin), not v.any(), stats)
    return (st.out, float(stats[:, 0].min()), float(stats[:, 1].max()), float(stats[:, 2].max()),
            float(stats[:, 3].max()))


def mpi_eliminate_numba(m, st: MpiState, tv, thr: float) -> int:
    """Drop actions with ``q < tv - thr`` (for a skipped state: all but the greedy one when
    ``slack > thr``); returns the number of states left with several actions."""
    par = use_parallel(st.q.size)
    _, counts = _chunks(st, par)
    (eliminate_parallel if par else eliminate_serial)(st.q, tv, float(thr), st.acts, st.nact, st.act, st.slack,
                                                      st.fresh, counts)
    return int(counts.sum())


def mpi_sweeps_numba(m, st: MpiState, v, max_sweeps: int, stop_span: float):
    """``(prev, last, n, span)``: up to ``max_sweeps`` backups ``T^mu`` from ``v`` (``last = T^mu prev``)."""
    par = use_parallel(st.ell_dat.size)
    stats, _ = _chunks(st, par)
    a = np.array(v, dtype=np.float64)
    b = np.empty_like(a)  # both buffers are handed out: fresh ones each call
    n, span = (sweeps_parallel if par else sweeps_serial)(st.ell_idx, st.ell_dat, st.r_mu, m.gamma, a, b,
                                                          int(max_sweeps), float(stop_span), stats)
    if n == 0:
        return a, a, 0, np.inf
    prev, last = (a, b) if n % 2 == 1 else (b, a)
    return prev, last, int(n), float(span)


# --- NumPy references ---------------------------------------------------------------------
def mpi_backup_numpy(m, v, st: MpiState, dec: float = np.inf, margin: float = 0.0):
    """NumPy reference of :func:`mpi_backup_numba` (scipy CSR product, masked argmax; every state is
    computed in full, so ``dec`` and ``margin`` are unused and ``st.q`` is always fresh)."""
    S, A = m.shape
    ar = np.arange(S)
    q_all = m.r + m.gamma * np.asarray(m.P @ v).reshape(S, A)
    mask = np.arange(A)[None, :] < st.nact[:, None]
    qa = np.where(mask, q_all[ar[:, None], st.acts], -np.inf)
    j = np.argmax(qa, axis=1)
    st.q[:] = qa
    tv = qa[ar, j]
    st.act[:] = st.acts[ar, j]
    st.out[:] = tv
    d = tv - v
    multi = st.nact > 1
    spread = float(np.max((tv - np.where(mask, qa, np.inf).min(axis=1))[multi])) if multi.any() else -np.inf
    return st.out, float(d.min()), float(d.max()), float(max(np.abs(tv).max(), np.abs(v).max())), spread


def mpi_eliminate_numpy(m, st: MpiState, tv, thr: float) -> int:
    """NumPy reference of :func:`mpi_eliminate_numba` (stable compaction of the kept actions)."""
    A = st.acts.shape[1]
    mask = np.arange(A)[None, :] < st.nact[:, None]
    keep = mask & (st.q >= (tv - thr)[:, None])
    keep |= mask & (st.nact[:, None] <= 1)
    order = np.argsort(~keep, axis=1, kind="stable")
    st.acts[:] = np.take_along_axis(st.acts, order, axis=1)
    st.q[:] = np.take_along_axis(st.q, order, axis=1)
    st.nact[:] = keep.sum(axis=1)
    return int(np.sum(st.nact > 1))


def mpi_sweeps_numpy(m, st: MpiState, v, max_sweeps: int, stop_span: float):
    """NumPy reference of :func:`mpi_sweeps_numba` (the greedy rows gathered as a CSR matrix)."""
    S, A = m.shape
    ar = np.arange(S)
    P_mu = m.P[ar * A + st.act]
    r_mu = m.r[ar, st.act]
    prev = last = np.array(v, dtype=np.float64)
    n, span = 0, np.inf
    while n < max_sweeps:
        prev, last = last, r_mu + m.gamma * np.asarray(P_mu @ last)
        n += 1
        span = float(np.ptp(last - prev))
        if span <= stop_span:
            break
    return prev, last, n, span
