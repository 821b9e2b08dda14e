"""Converters from other libraries' MDP formats (optional dependencies imported lazily)."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidMDPError
from ..mdp import TabularMDP
from ..validation import as_float_array, check_gamma


def from_gymnasium(env, gamma: float, *, rho=None) -> TabularMDP:
    """Build a :class:`TabularMDP` from a gymnasium toy-text env exposing ``env.unwrapped.P``
    (FrozenLake, Taxi, CliffWalking, ...).

    ``P[s][a]`` is a list of ``(prob, next_state, reward, terminated)``; duplicate next-state
    entries are merged (probabilities added, rewards averaged by probability), and a
    transition with ``terminated=True`` goes to an extra absorbing zero-reward state (the
    last state), so values match the episodic return. ``r[s, a]`` is the expected reward.
    ``rho`` defaults to the env's ``initial_state_distrib`` when present, else uniform.
    gymnasium itself is only needed to create ``env``.
    """
    g = check_gamma(gamma, error=InvalidMDPError)
    u = getattr(env, "unwrapped", env)
    table = getattr(u, "P", None)
    if table is None:
        raise InvalidMDPError(
            "env: has no tabular model env.unwrapped.P; only toy-text style envs (FrozenLake, Taxi) convert."
        )
    n_s = int(u.observation_space.n)
    n_a = int(u.action_space.n)
    S = n_s + 1
    term = n_s
    P = np.zeros((S, n_a, S))
    r = np.zeros((S, n_a))
    for s in range(n_s):
        for a in range(n_a):
            for prob, s2, rew, done in table[s][a]:
                dest = term if done else int(s2)
                P[s, a, dest] += prob
                r[s, a] += prob * rew
            tot = P[s, a].sum()
            if abs(tot - 1.0) > 1e-8:
                raise InvalidMDPError(f"env.P[{s}][{a}]: probabilities sum to {tot}, not 1.")
    P[term, :, term] = 1.0
    if rho is None:
        isd = getattr(u, "initial_state_distrib", None)
        rho = np.zeros(S)
        if isd is not None:
            rho[:n_s] = np.asarray(isd, dtype=np.float64)
        else:
            rho[:n_s] = 1.0 / n_s
    name = getattr(getattr(u, "spec", None), "id", None) or type(u).__name__
    return TabularMDP(P, r, g, rho=rho, name=str(name))


def from_mdptoolbox(P, R, gamma: float, *, rho=None) -> TabularMDP:
    """Convert pymdptoolbox arrays: ``P[a, s, s']`` and ``R`` as ``(S, A)`` rewards,
    ``(A, S, S)`` transition rewards (expected over ``P``), or ``(S,)`` state rewards."""
    g = check_gamma(gamma, error=InvalidMDPError)
    P = as_float_array(P, "P", error=InvalidMDPError)
    if P.ndim != 3 or P.shape[1] != P.shape[2]:
        raise InvalidMDPError(f"P: pymdptoolbox layout is P[a, s, s'] (A, S, S); got shape {P.shape}.")
    A, S, _ = P.shape
    R = as_float_array(R, "R", error=InvalidMDPError)
    if R.shape == (S, A):
        r = R
    elif R.shape == (A, S, S):
        r = np.einsum("ast,ast->sa", P, R)
    elif R.shape == (S,):
        r = np.repeat(R[:, None], A, axis=1)
    else:
        raise InvalidMDPError(f"R: expected shape ({S}, {A}), ({A}, {S}, {S}) or ({S},); got {R.shape}.")
    return TabularMDP(np.transpose(P, (1, 0, 2)), r, g, rho=rho, name="mdptoolbox")
