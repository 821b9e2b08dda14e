"""Generators produce valid MDPs with the documented structure; converters match their sources."""

import numpy as np
import pytest

import mdpgrad
from mdpgrad import envs


def test_garnet_structure_and_reproducibility():
    a = envs.garnet(40, 3, 5, gamma=0.9, seed=7)
    b = envs.garnet(40, 3, 5, gamma=0.9, seed=7)
    c = envs.garnet(40, 3, 5, gamma=0.9, seed=8)
    assert np.array_equal(a.P, b.P) and np.array_equal(a.r, b.r)
    assert not np.array_equal(a.P, c.P)
    assert np.all((a.P > 0).sum(axis=-1) == 5)
    assert np.allclose(a.P.sum(-1), 1, atol=1e-12)
    assert a.r.min() >= 0 and a.r.max() <= 1
    # Dense branching path (B close to S) also has exactly B successors.
    d = envs.garnet(6, 2, 5, gamma=0.9, seed=1)
    assert np.all((d.P > 0).sum(axis=-1) == 5)


def test_garnet_accepts_generator_without_global_state():
    rng = np.random.default_rng(0)
    state = np.random.get_state()[1][:5].copy()
    envs.garnet(10, 2, 3, gamma=0.5, seed=rng)
    assert np.array_equal(np.random.get_state()[1][:5], state)


def test_chain_and_river_swim_optimal_policies():
    ch = envs.chain(6, gamma=0.95)
    pol = np.argmax(mdpgrad.solve(ch).policy, axis=1)
    assert np.all(pol == 1)  # the distant reward 1 beats 0.1 nearby at gamma = 0.95
    rs = envs.river_swim(6, gamma=0.95)
    assert np.allclose(rs.P.sum(-1), 1)
    assert np.all(np.argmax(mdpgrad.solve(rs).policy, axis=1) == 1)


def test_gridworld_walls_slip_and_goal():
    g = envs.gridworld(3, 4, gamma=0.9, slip=0.0, walls=[(0, 1)], goal=(2, 3))
    S = g.n_states
    assert S == 3 * 4 - 1 + 1
    # Deterministic moves: from (0, 0) moving right hits the wall and stays.
    assert g.P[0, 1, 0] == 1.0
    # The goal pays once then goes to the sink.
    goal = S - 2
    assert np.all(g.r[goal] == 1.0) and np.all(g.P[goal, :, S - 1] == 1.0)
    slippery = envs.gridworld(3, 3, gamma=0.9, slip=0.2)
    assert np.allclose(slippery.P.sum(-1), 1)
    assert slippery.P[0, 1, 1] == pytest.approx(0.8 + 0.05)


def test_hard_chain_optimal_policy_advances():
    m = envs.hard_chain(6)
    sol = mdpgrad.solve(m)
    assert np.all(np.argmax(sol.policy, axis=1) == 1)  # "right" everywhere despite the decoy
    assert m.n_actions == 2 and m.rho[0] == 1.0


def test_from_gymnasium_frozenlake_and_taxi():
    gym = pytest.importorskip("gymnasium")
    env = gym.make("FrozenLake-v1", map_name="4x4", is_slippery=True)
    mdp = envs.from_gymnasium(env, gamma=0.99)
    assert mdp.n_states == 17 and mdp.n_actions == 4
    # Merged duplicates: FrozenLake lists some next states twice for one (s, a).
    raw = env.unwrapped.P
    assert any(len({t[1] for t in raw[s][a]}) < len(raw[s][a]) for s in range(16) for a in range(4))
    # Values against an independent evaluation straight from env.P (Bellman iteration on the raw table).
    v = np.zeros(16)
    for _ in range(3000):
        v = np.array([max(sum(p * (rew + (0 if done else 0.99 * v[s2])) for p, s2, rew, done in raw[s][a])
                          for a in range(4)) for s in range(16)])
    sol = mdpgrad.solve(mdp)
    assert np.max(np.abs(sol.v[:16] - v)) < 1e-8
    assert sol.v[16] == 0.0
    taxi_id = sorted(k for k in gym.registry if k.startswith("Taxi-v"))[-1]
    taxi = envs.from_gymnasium(gym.make(taxi_id), gamma=0.9)
    assert taxi.n_states == 501 and taxi.n_actions == 6
    assert taxi.rho.sum() == pytest.approx(1.0)


def test_from_gymnasium_rejects_non_tabular():
    class Fake:
        pass

    with pytest.raises(mdpgrad.InvalidMDPError, match="env: has no tabular model"):
        envs.from_gymnasium(Fake(), gamma=0.9)


def test_from_mdptoolbox_layouts():
    mdp = envs.garnet(5, 3, 2, gamma=0.9, seed=0)
    Pm = np.transpose(mdp.P, (1, 0, 2))
    a = envs.from_mdptoolbox(Pm, mdp.r, 0.9)
    assert np.array_equal(a.P, mdp.P) and np.array_equal(a.r, mdp.r)
    R3 = np.repeat(np.transpose(mdp.r)[:, :, None], 5, axis=2)  # reward independent of s'
    b = envs.from_mdptoolbox(Pm, R3, 0.9)
    assert np.allclose(b.r, mdp.r)
    with pytest.raises(mdpgrad.InvalidMDPError, match="R: expected shape"):
        envs.from_mdptoolbox(Pm, np.zeros((2, 2)), 0.9)


def test_from_mdptoolbox_agrees_with_pymdptoolbox():
    mtb = pytest.importorskip("mdptoolbox.mdp")
    mdp = envs.garnet(8, 3, 3, gamma=0.9, seed=2)
    Pm = np.transpose(mdp.P, (1, 0, 2))
    m = mtb.PolicyIteration(Pm, mdp.r, 0.9)
    m.run()
    ours = mdpgrad.solve(envs.from_mdptoolbox(Pm, mdp.r, 0.9)).v
    assert np.allclose(ours, np.asarray(m.V), atol=1e-8)
