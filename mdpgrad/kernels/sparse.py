r"""Bellman kernels over CSR state-action rows: a NumPy reference and Numba kernels.

With row ``k = s * A + a`` of the CSR kernel holding :math:`P(\cdot\mid s,a)`:

* optimality backup :math:`(Tv)(s) = \max_a r(s,a) + \gamma \sum_{s'} P(s'|s,a) v(s')`,
  with the greedy action (ties to the lowest index);
* deterministic-policy backup :math:`(T^\mu v)(s) = r(s,\mu(s)) + \gamma P(\cdot|s,\mu(s))\cdot v`,
  applied ``m`` times in one call (the partial evaluation of modified policy iteration);
* stochastic-policy backup :math:`(T^\pi v)(s) = \sum_a \pi(a|s)\,[r(s,a) + \gamma P(\cdot|s,a)\cdot v]`;
* next-state sampling by inverse CDF along one row (for rollouts).

Each Numba kernel is compiled twice with ``cache=True``: parallel over states (``prange``;
each thread writes only its own ``out[s]``, so results do not depend on the thread count)
and serial. :func:`use_parallel` picks one: parallel when Numba has at least
:data:`PARALLEL_MIN_THREADS` threads and the kernel touches at least :data:`PARALLEL_MIN_NNZ`
stored entries. Set ``mdpgrad.kernels.sparse.PARALLEL_MIN_THREADS = 1`` and
``PARALLEL_MIN_NNZ = 1`` to force the parallel kernels, ``PARALLEL_MIN_NNZ = 10**18`` to force
the serial ones.
The sums run in CSR order in both implementations, so NumPy and Numba agree to a few ulps.
"""

from __future__ import annotations

import types

import numba as nb
import numpy as np

__all__ = [
    "bellman_max_numpy",
    "bellman_max_numba",
    "policy_sweeps_numpy",
    "policy_sweeps_numba",
    "bellman_stochastic_numpy",
    "bellman_stochastic_numba",
    "sample_rows_numba",
    "gather_policy_rows",
    "use_parallel",
    "compile_twice",
    "PARALLEL_MIN_NNZ",
    "PARALLEL_MIN_THREADS",
]

#: Minimum number of stored entries touched by one kernel call for the parallel variant. Modified
#: policy iteration on Garnet(50,000, 8, 10) with 2 threads on the shared 2-core machine (load ~4,
#: best of 5): serial 42.7 ms, parallel backups only (this default) 43.7 ms, parallel sweeps too
#: (threshold 2e5) 45.2 ms with OMP_WAIT_POLICY=PASSIVE -- but 100 / 155 / 1484 ms without it: with
#: GNU OpenMP's default spin-waiting every parallel region can stall on a descheduled worker, so
#: the many short sweep regions stay serial.
PARALLEL_MIN_NNZ = 1_000_000


#: Minimum number of Numba threads for the parallel variant. On an idle 2-core machine the parallel
#: kernels win (MPI on Garnet(50,000, 8, 10): 0.061 s parallel vs 0.088 s serial, best of 7). When
#: other processes hold the cores, the OpenMP workers' barrier and spin-wait make them much slower
#: (0.47 s vs 0.09 s on the shared development machine): set this to 3 (or more) there.
PARALLEL_MIN_THREADS = 2


def use_parallel(work: int) -> bool:
    """Whether to run the parallel kernel variant for a call touching ``work`` entries."""
    return nb.get_num_threads() >= PARALLEL_MIN_THREADS and work >= PARALLEL_MIN_NNZ


def compile_twice(f):
    """Compile ``f`` serial and parallel (distinct qualnames, so the on-disk caches do not collide)."""
    out = []
    for par in (False, True):
        name = f"{f.__name__}_{'par' if par else 'ser'}"
        g = types.FunctionType(f.__code__, f.__globals__, name, f.__defaults__, f.__closure__)
        g.__qualname__ = name
        g.__doc__ = f.__doc__
        out.append(nb.njit(parallel=par, cache=True)(g))
    return tuple(out)



@nb.njit(cache=True, inline="always")
def row_dot(data, indices, k, hi, v):  # pragma: no cover - compiled
    """``sum_{k <= j < hi} data[j] v[indices[j]]`` with two interleaved accumulators (even / odd entries:
    half the floating-point add latency chain) and unsigned indices (no negative-index wraparound test)."""
    one = np.uint64(1)
    k = np.uint64(k)
    hi = np.uint64(hi)
    acc0 = 0.0
    acc1 = 0.0
    while k + one < hi:
        acc0 += data[k] * v[np.uint64(indices[k])]
        acc1 += data[k + one] * v[np.uint64(indices[k + one])]
        k += np.uint64(2)
    if k < hi:
        acc0 += data[k] * v[np.uint64(indices[k])]
    return acc0 + acc1


# --- NumPy references ---------------------------------------------------------------------
def bellman_max_numpy(P, r, gamma, v):
    """``(Tv, greedy)`` from the ``(S*A, S)`` CSR matrix ``P`` (scipy)."""
    S, A = r.shape
    q = r + gamma * np.asarray(P @ v).reshape(S, A)
    act = np.argmax(q, axis=1)
    return q[np.arange(S), act], act


def policy_sweeps_numpy(P, r, gamma, v, act, m):
    """``(T^act)^m v`` for a deterministic policy ``act[s]``."""
    S, A = r.shape
    rows = np.arange(S) * A + act
    P_mu = P[rows]
    r_mu = r[np.arange(S), act]
    for _ in range(m):
        v = r_mu + gamma * np.asarray(P_mu @ v)
    return v


def bellman_stochastic_numpy(P, r, gamma, v, pi):
    """``T^pi v`` for a stochastic policy ``pi[s, a]``."""
    S, A = r.shape
    q = r + gamma * np.asarray(P @ v).reshape(S, A)
    return np.sum(pi * q, axis=1)


# --- Numba kernels ------------------------------------------------------------------------
def _bellman_max(indptr, indices, data, r, gamma, v, out, act):  # pragma: no cover - compiled
    """Fused ``out[s] = max_a r[s,a] + gamma P[sA+a] . v``, ``act[s]`` = first argmax.

    Each row sum uses two interleaved accumulators (even / odd entries), which halves the
    floating-point add latency chain; the NumPy reference sums in CSR order, so the two agree
    to a few ulps, not bit for bit.
    """
    S, A = r.shape
    one = np.uint64(1)
    for s in nb.prange(S):
        best = -np.inf
        ba = 0
        base = s * A
        for a in range(A):
            row = np.uint64(base + a)
            val = r[s, a] + gamma * row_dot(data, indices, indptr[row], indptr[row + one], v)
            if val > best:
                best = val
                ba = a
        out[s] = best
        act[s] = ba


def _csr_sweep(ptr, idx, dat, r_mu, gamma, src, dst):  # pragma: no cover - compiled
    """One backup ``dst = r_mu + gamma P_mu src`` on a compact (S, S) CSR (two accumulators)."""
    S = r_mu.shape[0]
    one = np.uint64(1)
    for s in nb.prange(S):
        k = np.uint64(ptr[s])
        hi = np.uint64(ptr[s + 1])
        acc0 = 0.0
        acc1 = 0.0
        while k + one < hi:
            acc0 += dat[k] * src[np.uint64(idx[k])]
            acc1 += dat[k + one] * src[np.uint64(idx[k + one])]
            k += np.uint64(2)
        if k < hi:
            acc0 += dat[k] * src[np.uint64(idx[k])]
        dst[s] = r_mu[s] + gamma * (acc0 + acc1)


def _bellman_stochastic(indptr, indices, data, r, gamma, v, pi, out):  # pragma: no cover - compiled
    """``out[s] = sum_a pi[s,a] (r[s,a] + gamma P[sA+a] . v)``."""
    S, A = r.shape
    for s in nb.prange(S):
        tot = 0.0
        for a in range(A):
            w = pi[s, a]
            if w == 0.0:
                continue
            row = s * A + a
            acc = 0.0
            for k in range(indptr[row], indptr[row + 1]):
                acc += data[k] * v[indices[k]]
            tot += w * (r[s, a] + gamma * acc)
        out[s] = tot


bellman_max_serial, bellman_max_parallel = compile_twice(_bellman_max)
csr_sweep_serial, csr_sweep_parallel = compile_twice(_csr_sweep)
bellman_stochastic_serial, bellman_stochastic_parallel = compile_twice(_bellman_stochastic)


def bellman_max_numba(indptr, indices, data, r, gamma, v, out, act):
    """Dispatch to the serial or parallel fused optimality backup."""
    k = bellman_max_parallel if use_parallel(data.shape[0]) else bellman_max_serial
    k(indptr, indices, data, r, gamma, v, out, act)


def bellman_stochastic_numba(indptr, indices, data, r, gamma, v, pi, out):
    """Dispatch to the serial or parallel stochastic-policy backup."""
    k = bellman_stochastic_parallel if use_parallel(data.shape[0]) else bellman_stochastic_serial
    k(indptr, indices, data, r, gamma, v, pi, out)


@nb.njit(cache=True)
def _gather_rows(indptr, indices, data, r, act):  # pragma: no cover - compiled
    S, A = r.shape
    ptr = np.empty(S + 1, dtype=indptr.dtype)
    ptr[0] = 0
    for s in range(S):
        row = s * A + act[s]
        ptr[s + 1] = ptr[s] + (indptr[row + 1] - indptr[row])
    idx = np.empty(ptr[S], dtype=indices.dtype)
    dat = np.empty(ptr[S])
    r_mu = np.empty(S)
    for s in range(S):
        row = s * A + act[s]
        lo = indptr[row]
        j = ptr[s]
        for k in range(lo, indptr[row + 1]):
            idx[j] = indices[k]
            dat[j] = data[k]
            j += 1
        r_mu[s] = r[s, act[s]]
    return ptr, idx, dat, r_mu


def gather_policy_rows(indptr, indices, data, r, act):
    """Compact CSR ``(ptr, idx, dat, r_mu)`` of ``P_mu`` for deterministic actions ``act[s]``
    (rows ``s*A + act[s]`` copied contiguously, so the sweeps stream through memory)."""
    return _gather_rows(indptr, indices, data, r, act)


def policy_sweeps_numba(indptr, indices, data, r, gamma, v, act, m, out):
    """``out = (T^act)^m v``: gathers ``P_mu`` once, then ``m`` sweeps over it."""
    ptr, idx, dat, r_mu = _gather_rows(indptr, indices, data, r, act)
    k = csr_sweep_parallel if use_parallel(dat.shape[0]) else csr_sweep_serial
    a_buf = np.array(v, dtype=np.float64)
    b_buf = np.empty_like(a_buf)
    for _ in range(m):
        k(ptr, idx, dat, r_mu, gamma, a_buf, b_buf)
        a_buf, b_buf = b_buf, a_buf
    out[:] = a_buf


def _sample_rows(indptr, indices, data, rows, u, out):  # pragma: no cover - compiled
    """``out[i]`` = next state drawn from CSR row ``rows[i]`` by inverse CDF of ``u[i] ~ U[0, 1)``.

    The last stored successor absorbs the round-off of the cumulative sum (rows sum to 1
    within 1e-8), so a draw never falls off the end of a row.
    """
    n = rows.shape[0]
    for i in nb.prange(n):
        row = rows[i]
        lo = indptr[row]
        hi = indptr[row + 1]
        acc = 0.0
        pick = indices[hi - 1]
        for k in range(lo, hi):
            acc += data[k]
            if u[i] < acc:
                pick = indices[k]
                break
        out[i] = pick


sample_rows_serial, sample_rows_parallel = compile_twice(_sample_rows)


def sample_rows_numba(indptr, indices, data, rows, u, out):
    """Dispatch to the serial or parallel inverse-CDF sampler (each draw is independent, so the
    two give identical results)."""
    k = sample_rows_parallel if use_parallel(rows.shape[0] * 8) else sample_rows_serial
    k(indptr, indices, data, rows, u, out)


# --- twins on a SparseMDP (the kernel table's signatures: mdpgrad.backend.KERNELS) ------------------
def backup_max_numpy(m, v):
    """``(Tv, greedy)`` on a :class:`~mdpgrad.sparse.SparseMDP` (NumPy reference)."""
    return bellman_max_numpy(m.P, m.r, m.gamma, v)


def backup_max_numba(m, v):
    """``(Tv, greedy)`` on a :class:`~mdpgrad.sparse.SparseMDP` (Numba)."""
    out = np.empty(m.n_states)
    act = np.empty(m.n_states, dtype=np.int64)
    bellman_max_numba(m.indptr, m.indices, m.data, m.r, m.gamma, v, out, act)
    return out, act


def backup_policy_sweeps_numpy(m, act, v, n_sweeps):
    """``(T^act)^n v`` on a SparseMDP (NumPy reference)."""
    return policy_sweeps_numpy(m.P, m.r, m.gamma, v, act, n_sweeps)


def backup_policy_sweeps_numba(m, act, v, n_sweeps):
    """``(T^act)^n v`` on a SparseMDP (Numba)."""
    out = np.empty(m.n_states)
    policy_sweeps_numba(m.indptr, m.indices, m.data, m.r, m.gamma, v, act, n_sweeps, out)
    return out


def backup_stochastic_numpy(m, pi, v):
    """``T^pi v`` on a SparseMDP (NumPy reference)."""
    return bellman_stochastic_numpy(m.P, m.r, m.gamma, v, pi)


def backup_stochastic_numba(m, pi, v):
    """``T^pi v`` on a SparseMDP (Numba)."""
    out = np.empty(m.n_states)
    bellman_stochastic_numba(m.indptr, m.indices, m.data, m.r, m.gamma, v, pi, out)
    return out

