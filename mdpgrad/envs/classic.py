"""Classic small MDPs: chain, RiverSwim, gridworld, and the hard chain for softmax PG."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidMDPError
from ..mdp import TabularMDP
from ..validation import (
    check_allocation,
    check_float,
    check_gamma,
    check_index,
    check_nonnegative_float,
    check_positive_int,
    check_probability,
)


def chain(n_states: int, *, gamma: float, slip: float = 0.0, reward_left: float = 0.1,
          reward_right: float = 1.0, rho=None) -> TabularMDP:
    """A chain 0 - 1 - ... - (n-1) with actions left (0) and right (1).

    Moving succeeds with probability ``1 - slip`` (else the agent stays). Reward
    ``reward_left`` for taking *left* in state 0 and ``reward_right`` for taking *right* in the
    last state, 0 elsewhere: a small nearby reward versus a large distant one.
    """
    S = check_positive_int(n_states, "n_states", error=InvalidMDPError, minimum=2)
    slip = check_probability(slip, "slip", error=InvalidMDPError)
    check_gamma(gamma, error=InvalidMDPError)
    reward_left = check_float(reward_left, "reward_left", error=InvalidMDPError)
    reward_right = check_float(reward_right, "reward_right", error=InvalidMDPError)
    check_allocation((S, 2, S), "the dense transition tensor P[s, a, s']", "n_states")
    P = np.zeros((S, 2, S))
    r = np.zeros((S, 2))
    for s in range(S):
        left, right = max(s - 1, 0), min(s + 1, S - 1)
        P[s, 0, left] += 1 - slip
        P[s, 0, s] += slip
        P[s, 1, right] += 1 - slip
        P[s, 1, s] += slip
    r[0, 0] = reward_left
    r[S - 1, 1] = reward_right
    return TabularMDP(P, r, gamma, rho=rho, name=f"chain(S={S})")


def river_swim(n_states: int = 6, *, gamma: float = 0.95, rho=None) -> TabularMDP:
    """RiverSwim (Strehl & Littman 2008): swimming right against the current.

    Left (action 0) always succeeds. Right (action 1) moves right w.p. 0.35, stays w.p. 0.6
    and drifts left w.p. 0.05 in the interior (0.4 / 0.6 at the ends). Reward 5/1000 for
    *left* at state 0 and 1 for *right* at the last state. Starts at state 0 by default
    (``rho`` overrides).
    """
    S = check_positive_int(n_states, "n_states", error=InvalidMDPError, minimum=2)
    check_gamma(gamma, error=InvalidMDPError)
    check_allocation((S, 2, S), "the dense transition tensor P[s, a, s']", "n_states")
    P = np.zeros((S, 2, S))
    r = np.zeros((S, 2))
    for s in range(S):
        P[s, 0, max(s - 1, 0)] = 1.0
        if s == 0:
            P[s, 1, 0] = 0.4
            P[s, 1, 1] = 0.6
        elif s == S - 1:
            P[s, 1, s] = 0.6
            P[s, 1, s - 1] = 0.4
        else:
            P[s, 1, s + 1] = 0.35
            P[s, 1, s] = 0.6
            P[s, 1, s - 1] = 0.05
    r[0, 0] = 5.0 / 1000.0
    r[S - 1, 1] = 1.0
    if rho is None:
        rho = np.zeros(S)
        rho[0] = 1.0
    return TabularMDP(P, r, gamma, rho=rho, name=f"river_swim(S={S})")


_MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])  # up, right, down, left


def _iter_cells(walls):
    if walls is None:
        return ()
    if isinstance(walls, (str, bytes)) or not hasattr(walls, "__iter__"):
        raise InvalidMDPError(f"walls: {walls!r:.60} is not a list of (row, col) cells.")
    return list(walls)


def _cell(c, name: str, H: int, W: int) -> tuple[int, int]:
    """A (row, col) pair of ints inside the H x W grid."""
    try:
        ok = len(c) == 2
    except TypeError:
        ok = False
    if not ok:
        raise InvalidMDPError(f"{name}: {c!r} is not a (row, col) cell; pass a pair of ints.")
    i = check_index(c[0], f"{name} row", H, error=InvalidMDPError, what="row")
    j = check_index(c[1], f"{name} column", W, error=InvalidMDPError, what="column")
    return (i, j)


def gridworld(
    height: int = 5,
    width: int = 5,
    *,
    gamma: float = 0.95,
    slip: float = 0.1,
    walls=(),
    goal=None,
    goal_reward: float = 1.0,
    step_reward: float = 0.0,
    rho=None,
) -> TabularMDP:
    """A gridworld with four moves (up, right, down, left), walls and slip.

    With probability ``1 - slip`` the intended move happens, otherwise a uniformly random
    one of the four; moves into walls or off the grid leave the agent in place. The goal
    (default: bottom-right corner) is absorbing: taking any action there pays
    ``goal_reward`` once and moves to an absorbing zero-reward sink state (the last state).
    States are numbered row-major over free cells, then the sink. ``walls`` is a list of
    (row, col) cells.
    """
    H = check_positive_int(height, "height", error=InvalidMDPError)
    W = check_positive_int(width, "width", error=InvalidMDPError)
    slip = check_probability(slip, "slip", error=InvalidMDPError)
    check_gamma(gamma, error=InvalidMDPError)
    goal_reward = check_float(goal_reward, "goal_reward", error=InvalidMDPError)
    step_reward = check_float(step_reward, "step_reward", error=InvalidMDPError)
    check_allocation((H * W + 1, 4, H * W + 1), "the dense transition tensor P[s, a, s']", "height or width")
    wall_set = {_cell(w, "walls", H, W) for w in _iter_cells(walls)}
    goal = (H - 1, W - 1) if goal is None else _cell(goal, "goal", H, W)
    if goal in wall_set:
        raise InvalidMDPError(f"goal: cell {goal} is a wall; choose a free cell.")
    cells = [(i, j) for i in range(H) for j in range(W) if (i, j) not in wall_set]
    if not cells:
        raise InvalidMDPError("walls: every cell is a wall; leave at least one free cell.")
    index = {c: k for k, c in enumerate(cells)}
    S = len(cells) + 1
    sink = S - 1
    P = np.zeros((S, 4, S))
    r = np.full((S, 4), step_reward)
    for c, k in index.items():
        if c == goal:
            P[k, :, sink] = 1.0
            r[k, :] = goal_reward
            continue
        for a in range(4):
            for b in range(4):
                p = (1 - slip) * (a == b) + slip / 4.0
                if p == 0:
                    continue
                nc = (c[0] + _MOVES[b][0], c[1] + _MOVES[b][1])
                if not (0 <= nc[0] < H and 0 <= nc[1] < W) or nc in wall_set:
                    nc = c
                P[k, a, index[nc]] += p
    P[sink, :, sink] = 1.0
    r[sink, :] = 0.0
    if rho is None:
        rho = np.zeros(S)
        rho[: S - 1] = 1.0 / (S - 1)
    return TabularMDP(P, r, gamma, rho=rho, name=f"gridworld({H}x{W})")


def hard_chain(n_states: int, *, gamma: float | None = None, decoy: float = 0.05, rho=None) -> TabularMDP:
    """A chain on which exact softmax PG needs a number of iterations growing geometrically in
    the number of states, while NPG does not.

    It is the :func:`chain` MDP (actions left = 0, right = 1, deterministic moves) with a small
    *decoy* reward ``decoy`` for taking *left* in state 0, reward 1 for *right* in the last state,
    and the whole initial mass on state 0 (``rho = e_0``); ``gamma`` defaults to 0.9 (the far
    reward stays optimal while ``gamma^(n-1) > decoy``). From the uniform policy the decoy pulls
    ``pi(right | 0)`` down, which shrinks the occupancy ``d(s) ~ pi(right|.)^s`` of far states;
    softmax PG scales each state's update by ``d(s)``, so the far states learn ever more
    slowly and the plateau compounds along the chain (measured growth ~1.4x per added state
    at ``eta = 0.1``). NPG's update ``A / (1 - gamma)`` does not carry ``d(s)`` and is unaffected.

    Relation to Li, Wei, Chi, Gu, Chen (2021), "Softmax policy gradient methods can take
    exponential time to converge" (arXiv 2102.11270): this is **not** their construction, whose
    full definition is not in the public text reachable here. Theirs (per its abstract and a
    third-party summary) starts from the uniform policy *and the uniform initial distribution*, has
    three actions, buffer sets standing in for the first two key states, primary and adjoint key
    states 3..H and 1bar..Hbar with H ~ 1/(1 - gamma), and booster states, and needs
    ``(1/eta) |S|^{2^{Omega(1/(1-gamma))}}`` iterations for ``0.96 < gamma < 1``,
    ``eta < (1-gamma)^2/5`` and ``|S| >= c (1-gamma)^-6``. Here the growth comes from the
    distribution mismatch ``d^{pi*} / rho`` of the point-mass start (the mechanism behind the
    mismatch coefficient in Agarwal et al. 2021 and Mei et al. 2020), which the paper rules out:
    with ``rho`` uniform the same chains need only polynomially many iterations (14 to 89 for
    S = 3..11 at ``eta = 0.1``, target relative gap 0.1). It exhibits the qualitative statement --
    exponential-in-S iterations for softmax PG, few for NPG -- on an instance small enough to run
    exactly; the claim ``softmax-pg-exponential-time`` lists every difference.
    """
    H = check_positive_int(n_states, "n_states", error=InvalidMDPError, minimum=2)
    g = 0.9 if gamma is None else check_gamma(gamma, error=InvalidMDPError)
    decoy = check_nonnegative_float(decoy, "decoy", error=InvalidMDPError, what="the decoy reward")
    if rho is None:
        rho = np.zeros(H)
        rho[0] = 1.0
    m = chain(H, gamma=g, reward_left=decoy, reward_right=1.0, rho=rho)
    return m.replace(name=f"hard_chain(S={H})")
