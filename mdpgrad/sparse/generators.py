"""Sparse generators: Garnet and gridworld MDPs built directly as CSR arrays, at any size.

Everything is vectorized over (state, action) rows -- no per-state Python loop -- so a
Garnet with 10^6 states, 8 actions and 10 successors (8e7 stored entries, ~1 GB) is built
in seconds. The distributions match the dense generators in :mod:`mdpgrad.envs`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from ..errors import InvalidMDPError
from ..validation import as_generator, check_float, check_gamma, check_positive_int, check_probability
from .model import SparseMDP

__all__ = ["garnet", "gridworld", "distinct_successors"]


def _ro(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def distinct_successors(n_rows: int, n_states: int, branching: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_rows, branching)`` int32 array; each row is a uniformly random ``branching``-subset of
    ``range(n_states)``, sorted.

    When ``branching^2 <= 4 n_states`` rows are drawn with replacement and rows containing a
    repeat are redrawn whole (rejection: the accepted rows are exactly uniform over subsets,
    and a row is rejected with probability about ``b^2 / (2 S)``); otherwise the ``b``
    smallest of ``S`` uniform keys are taken per row, in chunks of about 10^7 keys.
    """
    S, B = n_states, branching
    if B * B <= 4 * S:
        idx = np.sort(rng.integers(0, S, size=(n_rows, B), dtype=np.int32), axis=1)
        while True:
            bad = np.flatnonzero((idx[:, 1:] == idx[:, :-1]).any(axis=1)) if B > 1 else np.empty(0, int)
            if bad.size == 0:
                return idx
            idx[bad] = np.sort(rng.integers(0, S, size=(bad.size, B), dtype=np.int32), axis=1)
    out = np.empty((n_rows, B), dtype=np.int32)
    chunk = max(1, 10_000_000 // S)
    for lo in range(0, n_rows, chunk):
        hi = min(n_rows, lo + chunk)
        keys = rng.random((hi - lo, S))
        out[lo:hi] = np.sort(np.argpartition(keys, B - 1, axis=1)[:, :B], axis=1)
    return out


def garnet(n_states: int, n_actions: int, branching: int, *, gamma: float, seed, rho=None) -> SparseMDP:
    """A sparse Garnet(S, A, b) MDP: ``b`` distinct uniformly random successors per (s, a),
    probabilities from a uniform random partition of [0, 1] (the spacings of ``b - 1`` sorted
    uniforms), rewards ``U[0, 1]`` (Archibald, McKinnon, Thomas 1995).

    >>> from mdpgrad.sparse import garnet
    >>> m = garnet(1000, 4, 5, gamma=0.9, seed=0)
    >>> m.nnz
    20000
    """
    S = check_positive_int(n_states, "n_states", error=InvalidMDPError)
    A = check_positive_int(n_actions, "n_actions", error=InvalidMDPError)
    B = check_positive_int(branching, "branching", error=InvalidMDPError)
    if B > S:
        raise InvalidMDPError(f"branching = {B} exceeds n_states = {S}; use branching <= n_states.")
    check_gamma(gamma, error=InvalidMDPError)
    rng = as_generator(seed)
    n_rows = S * A
    idx = distinct_successors(n_rows, S, B, rng)
    cuts = np.sort(rng.random((n_rows, B - 1)), axis=1)
    prob = np.empty((n_rows, B))
    prob[:, 0] = cuts[:, 0] if B > 1 else 1.0
    if B > 1:
        np.subtract(cuts[:, 1:], cuts[:, :-1], out=prob[:, 1:-1])
        prob[:, -1] = 1.0 - cuts[:, -1]
    del cuts
    r = rng.random((S, A))
    idx_dtype = np.int32 if n_rows * B < 2**31 - 1 else np.int64
    indptr = _ro(np.arange(0, n_rows * B + 1, B, dtype=idx_dtype))
    return SparseMDP(indptr, _ro(idx.reshape(-1).astype(idx_dtype, copy=False)), _ro(prob.reshape(-1)), r, gamma,
                     rho=rho, name=f"sparse-garnet(S={S},A={A},b={B})")


_MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])  # up, right, down, left (as envs.gridworld)


def gridworld(height: int, width: int, *, gamma: float = 0.95, slip: float = 0.1, walls=None, goal=None,
              goal_reward: float = 1.0, step_reward: float = 0.0, rho=None) -> SparseMDP:
    """Sparse version of :func:`mdpgrad.envs.gridworld` (same states, dynamics and rewards).

    Four moves (up, right, down, left); with probability ``1 - slip`` the intended one,
    otherwise one of the four uniformly; moves off the grid or into a wall stay. The goal
    (default bottom-right) pays ``goal_reward`` for any action and moves to an absorbing
    zero-reward sink (the last state). States: free cells row-major, then the sink.
    ``walls`` is a list of (row, col) cells or a boolean ``(height, width)`` mask.
    """
    H = check_positive_int(height, "height", error=InvalidMDPError)
    W = check_positive_int(width, "width", error=InvalidMDPError)
    slip = check_probability(slip, "slip", error=InvalidMDPError)
    check_gamma(gamma, error=InvalidMDPError)
    wall = np.zeros((H, W), dtype=bool)
    if walls is not None:
        w = np.asarray(walls)
        if w.dtype == bool:
            if w.shape != (H, W):
                raise InvalidMDPError(f"walls: a boolean mask must have shape ({H}, {W}), got {w.shape}.")
            wall = w.copy()
        elif w.size:
            if w.dtype.kind not in "iu" or w.size % 2:
                raise InvalidMDPError(f"walls: expected (row, col) integer pairs or a boolean ({H}, {W}) mask, "
                                      f"got {walls!r:.60}.")
            w = w.reshape(-1, 2).astype(int)
            out = (w[:, 0] < 0) | (w[:, 0] >= H) | (w[:, 1] < 0) | (w[:, 1] >= W)
            if out.any():
                raise InvalidMDPError(f"walls: cell {tuple(w[np.argmax(out)])} is outside the {H}x{W} grid.")
            wall[w[:, 0], w[:, 1]] = True
    if goal is None:
        goal = (H - 1, W - 1)
    else:
        g = np.asarray(goal)
        if g.shape != (2,) or g.dtype.kind not in "iu":
            raise InvalidMDPError(f"goal: {goal!r:.60} is not a (row, col) pair of ints.")
        goal = (int(g[0]), int(g[1]))
    if not (0 <= goal[0] < H and 0 <= goal[1] < W):
        raise InvalidMDPError(f"goal: cell {goal} is outside the {H}x{W} grid.")
    goal_reward = check_float(goal_reward, "goal_reward", error=InvalidMDPError)
    step_reward = check_float(step_reward, "step_reward", error=InvalidMDPError)
    if wall[goal]:
        raise InvalidMDPError(f"goal: cell {goal} is a wall; choose a free cell.")
    free = ~wall
    n_free = int(free.sum())
    index = np.full((H, W), -1, dtype=np.int64)
    index[free] = np.arange(n_free)
    S, A = n_free + 1, 4
    sink = S - 1
    ii, jj = np.nonzero(free)  # row-major order = state order
    # Destination of each (cell, move).
    ni = ii[:, None] + _MOVES[None, :, 0]
    nj = jj[:, None] + _MOVES[None, :, 1]
    inside = (ni >= 0) & (ni < H) & (nj >= 0) & (nj < W)
    ni_c, nj_c = np.clip(ni, 0, H - 1), np.clip(nj, 0, W - 1)
    ok = inside & free[ni_c, nj_c]
    dest = np.where(ok, index[ni_c, nj_c], np.arange(n_free)[:, None])  # (n_free, 4 moves)
    # Entries for (cell, action, move): prob (1 - slip) [a == move] + slip / 4.
    p_am = (1.0 - slip) * np.eye(4) + slip / 4.0  # (action, move)
    rows = (np.arange(n_free)[:, None, None] * A + np.arange(A)[None, :, None]) + np.zeros((1, 1, 4), dtype=np.int64)
    cols = np.broadcast_to(dest[:, None, :], (n_free, A, 4))
    vals = np.broadcast_to(p_am[None], (n_free, A, 4))
    g_state = index[goal]
    is_goal = (np.arange(n_free) == g_state)[:, None, None]
    cols = np.where(is_goal, sink, cols)
    vals = np.where(is_goal, np.where(np.arange(4)[None, None, :] == 0, 1.0, 0.0), vals)
    rows = np.concatenate([rows.reshape(-1), sink * A + np.arange(A)])
    cols = np.concatenate([cols.reshape(-1), np.full(A, sink)])
    vals = np.concatenate([vals.reshape(-1), np.ones(A)])
    P = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(S * A, S))  # sums duplicates
    P.eliminate_zeros()
    P.sort_indices()
    r = np.full((S, A), float(step_reward))
    r[g_state, :] = goal_reward
    r[sink, :] = 0.0
    if rho is None:
        rho = np.zeros(S)
        rho[:-1] = 1.0 / (S - 1)
    return SparseMDP(P.indptr, P.indices, P.data, r, gamma, rho=rho, name=f"sparse-gridworld({H}x{W})")
