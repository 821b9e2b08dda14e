"""Rollout sampler: backend agreement (bit for bit), thread-count independence, statistics, errors."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdpgrad
from mdpgrad import envs, evaluate, probs
from mdpgrad.errors import InvalidInputError, InvalidPolicyError
from mdpgrad.rollouts import geometric_lengths, rollouts_loglinear, sample_trajectories, trajectory_seeds
from mdpgrad.stats import bonferroni_z

FIELDS = ("states", "actions", "rewards", "lengths")


def _mdp_pi(seed=0, S=5, A=3, gamma=0.9):
    m = envs.garnet(S, A, 3, gamma=gamma, seed=seed)
    pi = np.random.default_rng(seed).dirichlet(np.ones(A), size=S)
    return m, pi


def _same(a, b):
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in FIELDS) and a.truncated == b.truncated


@pytest.mark.parametrize("horizon,length", [("fixed", 7), ("geometric", None), ("geometric", 5)])
@pytest.mark.kernels("rollouts_padded")
def test_backends_agree_bit_for_bit(backend, horizon, length):
    m, pi = _mdp_pi()
    ref = sample_trajectories(m, pi, 500, horizon=horizon, length=length, seed=7, backend="numpy")
    got = sample_trajectories(m, pi, 500, horizon=horizon, length=length, seed=7, backend=backend)
    assert _same(ref, got)


def test_absorbing_frozenlake_backends_agree():
    gym = pytest.importorskip("gymnasium")
    m = envs.from_gymnasium(gym.make("FrozenLake-v1"), 0.95)
    pi = np.full(m.shape, 0.25)
    a = sample_trajectories(m, pi, 400, horizon="absorbing", length=30, seed=3)
    b = sample_trajectories(m, pi, 400, horizon="absorbing", length=30, seed=3, backend="numpy")
    assert _same(a, b)
    last = a.states[np.arange(a.n), a.lengths]
    term = m.n_states - 1
    # every trajectory either reached the absorbing terminal state or was capped at 30 steps
    assert np.all((last == term) | (a.lengths == 30))
    assert a.truncated == int(np.sum(last != term))
    assert np.all(a.rewards[~a.mask] == 0) and np.all(a.actions[~a.mask] == -1)


def test_thread_count_independence():
    m, pi = _mdp_pi(1)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = sample_trajectories(m, pi, 3000, seed=11)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = sample_trajectories(m, pi, 3000, seed=11)
    finally:
        numba.set_num_threads(before)
    assert _same(one, many)


def test_seed_reproducible_and_distinct():
    m, pi = _mdp_pi(2)
    a = sample_trajectories(m, pi, 200, seed=5)
    b = sample_trajectories(m, pi, 200, seed=5)
    c = sample_trajectories(m, pi, 200, seed=6)
    assert _same(a, b)
    assert not np.array_equal(a.lengths, c.lengths)
    # prefixes: trajectory i depends only on (seed, i), not on n
    d = sample_trajectories(m, pi, 50, seed=5)
    L = d.actions.shape[1]
    assert np.array_equal(a.actions[:50, :L], d.actions) and np.array_equal(a.lengths[:50], d.lengths)


def test_geometric_lengths_distribution():
    # P(L > t) = gamma^t; mean 1/(1-gamma). Check mean within 4 SE and a KS-type bound on the survival.
    gamma, n = 0.8, 200_000
    L = geometric_lengths(trajectory_seeds(0, n, key=1), gamma)
    assert L.min() >= 1
    se = np.sqrt(gamma) / (1 - gamma) / np.sqrt(n)  # sd of Geom(1-gamma) is sqrt(gamma)/(1-gamma)
    assert abs(L.mean() - 1 / (1 - gamma)) <= 4 * se
    t = np.arange(1, 15)
    emp = (L[:, None] > t[None, :]).mean(0)
    # DKW inequality: sup |F_n - F| <= sqrt(log(2/alpha) / (2n)) with prob 1 - alpha (alpha = 1e-6)
    assert np.max(np.abs(emp - gamma**t)) <= np.sqrt(np.log(2e6) / (2 * n))


@st.composite
def mdp_and_policy(draw):
    S = draw(st.integers(1, 5))
    A = draw(st.integers(1, 5))
    gamma = draw(st.sampled_from([0.0, 0.5, 0.8, 0.95]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(S, A))
    m = mdpgrad.TabularMDP(P, rng.normal(size=(S, A)), gamma, rho=rng.dirichlet(np.ones(S)))
    return m, rng.dirichlet(np.ones(A), size=S), seed


@settings(max_examples=8)
@given(mdp_and_policy())
def test_geometric_returns_and_visits_unbiased(case):
    """E[sum_{t<L} r_t] = V(rho) and E[sum_{t<L} 1{s_t = s}] = d(s)/(1-gamma) (module docstring)."""
    m, pi, seed = case
    n = 20_000
    ro = sample_trajectories(m, pi, n, seed=seed)
    ev = evaluate(m, pi)
    G = ro.returns()
    S = m.n_states
    T = ro.actions.shape[1]
    visits = np.stack([((ro.states[:, :T] == s) & ro.mask).sum(1) for s in range(S)], axis=1).astype(float)
    est = np.column_stack([G, visits])
    exact = np.concatenate([[ev.value], ev.occupancy / (1 - m.gamma)])
    se = est.std(0, ddof=1) / np.sqrt(n)
    # Bonferroni over S+1 coordinates at family level 1e-3, never below 4 SE.
    z = bonferroni_z(S + 1, 1e-3, floor=4.0)
    assert np.all(np.abs(est.mean(0) - exact) <= z * se + 1e-12)


def test_loglinear_rollouts_match_table():
    m, _ = _mdp_pi(3)
    rng = np.random.default_rng(0)
    phi, th = rng.normal(size=(5, 3, 2)), rng.normal(size=2)
    a = rollouts_loglinear(m, th, phi, 300, seed=1)
    b = sample_trajectories(m, probs(th, "loglinear", phi=phi), 300, seed=1)
    assert _same(a, b)


def test_start_states_and_fixed_length():
    m, pi = _mdp_pi(4)
    ro = sample_trajectories(m, pi, 100, horizon="fixed", length=4, seed=0, start_states=np.full(100, 2))
    assert np.all(ro.states[:, 0] == 2) and np.all(ro.lengths == 4)
    assert np.allclose(ro.discount, 0.9 ** np.arange(4))


def test_validation_errors():
    m, pi = _mdp_pi(5)
    with pytest.raises(InvalidInputError, match="horizon"):
        sample_trajectories(m, pi, 10, horizon="forever")
    with pytest.raises(InvalidInputError, match="length"):
        sample_trajectories(m, pi, 10, horizon="fixed")
    with pytest.raises(InvalidInputError, match="length"):
        sample_trajectories(m, pi, 10, horizon="absorbing")
    with pytest.raises(InvalidInputError, match="n"):
        sample_trajectories(m, pi, 0)
    with pytest.raises(InvalidPolicyError, match="pi"):
        sample_trajectories(m, pi * 1.1, 10)
    with pytest.raises(InvalidInputError, match="seed"):
        sample_trajectories(m, pi, 10, seed=np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="start_states"):
        sample_trajectories(m, pi, 3, start_states=[0, 1, 9])
    with pytest.raises(InvalidInputError, match="absorbing"):
        sample_trajectories(m, pi, 3, horizon="absorbing", length=3, absorbing=[True])
    with pytest.raises(InvalidInputError, match="lengths"):
        sample_trajectories(m, pi, 3, lengths=[1, 2])
    with pytest.raises(InvalidInputError, match="backend"):
        sample_trajectories(m, pi, 3, backend="tpu")


def test_sample_returns_matches_paths():
    m, pi = _mdp_pi(6)
    ro = sample_trajectories(m, pi, 400, seed=9)
    ret, L = mdpgrad.rollouts.sample_returns(m, pi, 400, seed=9)
    assert np.array_equal(L, ro.lengths)
    # same rewards summed in the same order in both kernels: identical up to round-off 1e-12
    assert np.allclose(ret, ro.rewards.sum(1), atol=1e-12)
    with pytest.raises(InvalidInputError, match="length"):
        mdpgrad.rollouts.sample_returns(m, pi, 4, horizon="fixed")
