"""Sampling from a :class:`~mdpgrad.sparse.SparseMDP`: next states over CSR rows, and rollouts.

Randomness comes only from the ``numpy.random.Generator`` passed in: the uniforms are drawn
with it and the Numba kernel :func:`~mdpgrad.kernels.sparse.sample_rows_numba` turns them into
next states by inverse CDF along each CSR row, so results are reproducible and independent
of the thread count.

For a dense-MDP rollout engine, the hook is::

    s_next = mdpgrad.sparse.sample_next_states(mdp, s, a, rng)   # s, a int arrays of equal shape
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError
from ..kernels.sparse import sample_rows_numba
from ..validation import as_generator, check_allocation, check_indices, check_policy, check_positive_int
from .model import SparseMDP, to_sparse

__all__ = ["sample_next_states", "rollout"]


def sample_next_states(mdp, states, actions, rng) -> np.ndarray:
    """Draw ``s' ~ P(. | s, a)`` for each pair of (broadcast) ``states`` and ``actions``.

    Returns an int64 array of the broadcast shape. ``rng`` is a Generator or a seed.
    """
    m = mdp if isinstance(mdp, SparseMDP) else to_sparse(mdp)
    S, A = m.shape
    try:
        s, a = np.broadcast_arrays(check_indices(states, "states", S, what="state index"),
                                   check_indices(actions, "actions", A, what="action index"))
    except ValueError as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(f"states, actions: shapes {np.shape(states)} and {np.shape(actions)} do not "
                                "broadcast; pass arrays of one shape.") from None
    rows = (s.astype(np.int64) * A + a).reshape(-1)
    u = as_generator(rng).random(rows.size)
    out = np.empty(rows.size, dtype=np.int64)
    sample_rows_numba(m.indptr, m.indices, m.data, rows, u, out)
    return out.reshape(s.shape)


def rollout(mdp, pi, n_episodes: int, horizon: int, rng):
    """Simulate ``n_episodes`` trajectories of length ``horizon`` from ``s_0 ~ rho`` under ``pi``.

    ``pi`` is ``(S, A)`` (stochastic) or ``(S,)`` integer actions. Returns ``(states[N, T+1],
    actions[N, T], rewards[N, T])``; vectorized over episodes, one kernel call per step.
    """
    m = mdp if isinstance(mdp, SparseMDP) else to_sparse(mdp)
    S, A = m.shape
    g = as_generator(rng)
    n_episodes = check_positive_int(n_episodes, "n_episodes")
    horizon = check_positive_int(horizon, "horizon")
    check_allocation((n_episodes, 3 * horizon + 1), "the rollout arrays (n_episodes, horizon)",
                     "n_episodes or horizon")
    pi = np.asarray(pi)
    det = pi.ndim == 1
    if det:
        pi = check_indices(pi, "pi", A, what="action index")
        if pi.shape != (S,):
            raise InvalidInputError(f"pi: expected one action per state, shape ({S},), got {pi.shape}.")
    else:
        pi = check_policy(pi, S, A)
    cum = None if det else np.cumsum(pi, axis=1)
    states = np.empty((n_episodes, horizon + 1), dtype=np.int64)
    acts = np.empty((n_episodes, horizon), dtype=np.int64)
    rews = np.empty((n_episodes, horizon))
    states[:, 0] = np.minimum(np.searchsorted(np.cumsum(m.rho), g.random(n_episodes), side="right"), S - 1)
    for t in range(horizon):
        s = states[:, t]
        if det:
            a = pi[s].astype(np.int64)
        else:
            a = np.minimum((cum[s] <= g.random(n_episodes)[:, None]).sum(axis=1), A - 1)
        acts[:, t] = a
        rews[:, t] = m.r[s, a]
        states[:, t + 1] = sample_next_states(m, s, a, g)
    return states, acts, rews
