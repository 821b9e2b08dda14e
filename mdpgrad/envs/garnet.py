"""Garnet random MDPs (Archibald, McKinnon, Thomas 1995; Bhatnagar et al. 2009).

Each (s, a) pair has ``branching`` distinct successor states chosen uniformly without
replacement, with probabilities from a uniform random partition of [0, 1] (sorted
uniforms), and rewards uniform on [0, 1] by default.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidMDPError
from ..mdp import TabularMDP
from ..validation import as_generator, check_allocation, check_gamma, check_positive_int


def garnet_arrays(n_states: int, n_actions: int, branching: int, rng: np.random.Generator):
    """Successor indices ``idx[s, a, b]``, probabilities ``prob[s, a, b]`` and rewards ``r[s, a]``."""
    S, A, B = n_states, n_actions, branching
    # Distinct successors: the first B columns of a per-row random permutation key.
    if B == S:
        idx = np.broadcast_to(np.arange(S), (S, A, S)).copy()
    elif B * 4 <= S:
        idx = np.empty((S, A, B), dtype=np.int64)
        for s in range(S):
            for a in range(A):
                idx[s, a] = rng.choice(S, size=B, replace=False)
    else:
        keys = rng.random((S, A, S))
        idx = np.argpartition(keys, B - 1, axis=-1)[..., :B]
    cuts = np.sort(rng.random((S, A, B - 1)), axis=-1)
    edges = np.concatenate([np.zeros((S, A, 1)), cuts, np.ones((S, A, 1))], axis=-1)
    prob = np.diff(edges, axis=-1)
    r = rng.random((S, A))
    return idx, prob, r


def garnet(
    n_states: int,
    n_actions: int,
    branching: int,
    *,
    gamma: float,
    seed,
    rho=None,
) -> TabularMDP:
    """A Garnet(S, A, b) MDP: ``branching`` random successors per (s, a), random
    probabilities, rewards ``U[0, 1]``.

    >>> from mdpgrad.envs import garnet
    >>> mdp = garnet(10, 3, 2, gamma=0.9, seed=0)
    >>> mdp.P.sum(axis=-1).round(12).min()
    1.0
    """
    S = check_positive_int(n_states, "n_states", error=InvalidMDPError)
    A = check_positive_int(n_actions, "n_actions", error=InvalidMDPError)
    B = check_positive_int(branching, "branching", error=InvalidMDPError)
    if B > S:
        raise InvalidMDPError(f"branching = {B} exceeds n_states = {S}; use branching <= n_states.")
    check_gamma(gamma, error=InvalidMDPError)
    rng = as_generator(seed)
    check_allocation((S, A, S), "the dense transition tensor P[s, a, s']", "n_states or n_actions "
                     "(or use mdpgrad.sparse.garnet, O(S A b) memory)")
    idx, prob, r = garnet_arrays(S, A, B, rng)
    P = np.zeros((S, A, S))
    np.put_along_axis(P, idx, prob, axis=-1)
    return TabularMDP(P, r, gamma, rho=rho, name=f"garnet(S={S},A={A},b={B})")
