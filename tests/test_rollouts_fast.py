"""Fast rollout paths (issue 5 performance work): every shortcut must give the same trajectories, bit for bit.

* ``trajectory_seeds`` uses a compiled copy of ``SeedSequence.generate_state``;
* short rows (``<= LINEAR_MAX`` outcomes) are sampled by a branch-free integer-threshold count, longer
  rows by binary search (both against the NumPy reference, which counts ``u >= cum`` in floats);
* ``horizon="absorbing"`` sizes its padded arrays by counting growing prefixes and stops at the first
  trajectory that reaches the cap (then one storing pass suffices) -- both outcomes are checked.
"""

from __future__ import annotations

import numpy as np
import pytest

import mdpgrad
from mdpgrad import envs
from mdpgrad.errors import InvalidInputError
from mdpgrad.kernels.rollouts import LINEAR_MAX
from mdpgrad.rollouts import (
    FlatRollouts,
    _thresholds,
    prepare_sampler,
    sample_returns,
    sample_trajectories,
    trajectory_seeds,
)

FIELDS = ("states", "actions", "rewards", "lengths")


def _same(a, b):
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in FIELDS) and a.truncated == b.truncated


@pytest.mark.parametrize("seed,key,n", [(0, 0, 1), (123, 1, 1001), (2**70 + 5, 0, 3), (7, 5, 4096)])
def test_trajectory_seeds_equal_seedsequence(seed, key, n):
    ref = np.random.SeedSequence(seed, spawn_key=(key,)).generate_state(n, dtype=np.uint64)
    assert np.array_equal(trajectory_seeds(seed, n, key=key), ref)
    ss = np.random.SeedSequence(seed)
    assert np.array_equal(trajectory_seeds(ss, n, key=key), ref)


def test_integer_thresholds_equal_float_comparison():
    # u = m 2^-53 >= c  <=>  m >= ceil(c 2^53), checked at the boundary draws m = thr - 1, thr, thr + 1
    rng = np.random.default_rng(0)
    c = np.concatenate([rng.random(200), [0.0, 1e-300, 2.0**-53, 0.5, 1.0 - 2.0**-53, 1.0, 1.0 + 1e-9, 2.0]])
    thr = _thresholds(c)
    for d in (-1, 0, 1):
        m = np.clip(thr + d, 0, 2**53 - 1)
        u = m.astype(np.float64) * 2.0**-53
        assert np.array_equal(u >= c, m >= thr)


def _dense_mdp(S, A, seed):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(S, A))
    P[0, 0] = 0.0
    P[0, 0, S - 1] = 1.0  # one deterministic row among dense ones
    return mdpgrad.TabularMDP(P, rng.normal(size=(S, A)), 0.9), rng.dirichlet(np.ones(A), size=S)


@pytest.mark.parametrize("S,A", [(4, 3), (LINEAR_MAX + 4, 3), (4, LINEAR_MAX + 2), (LINEAR_MAX + 1, LINEAR_MAX + 1)])
def test_linear_and_binary_paths_match_reference(S, A):
    m, pi = _dense_mdp(S, A, S * 100 + A)
    smp = prepare_sampler(m, pi)
    # which path each table takes: padded integer rows iff the row has at most LINEAR_MAX outcomes
    assert (smp.pi_thr.shape[0] > 0) == (A <= LINEAR_MAX)
    assert (smp.tr_idx.shape[0] > 0) == (S <= LINEAR_MAX)
    for horizon, length in (("fixed", 6), ("geometric", None)):
        a = sample_trajectories(m, pi, 700, horizon=horizon, length=length, seed=3)
        b = sample_trajectories(m, pi, 700, horizon=horizon, length=length, seed=3, backend="numpy")
        assert _same(a, b)


def test_sparse_rows_with_zero_policy_entries_match_reference():
    # zero-probability actions and states inside rows: the count must skip them exactly like the reference
    m = envs.garnet(12, 5, 2, gamma=0.8, seed=4)
    pi = np.random.default_rng(4).dirichlet(np.ones(5), size=12)
    pi[:, 1] = 0.0
    pi[:, 4] = 0.0
    pi /= pi.sum(1, keepdims=True)
    a = sample_trajectories(m, pi, 900, seed=8)
    b = sample_trajectories(m, pi, 900, seed=8, backend="numpy")
    assert _same(a, b)
    assert not np.any(np.isin(a.actions[a.mask], [1, 4]))


def _loop_mdp(S=6, A=2, seed=0):
    """No absorbing state at all: every trajectory runs to its cap."""
    rng = np.random.default_rng(seed)
    return mdpgrad.TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.normal(size=(S, A)), 0.9)


@pytest.mark.parametrize("where", [0, 1500, 5999])
def test_absorbing_width_when_the_cap_is_hit_early_or_late(where):
    # lengths= caps: 4 everywhere, 9 for one trajectory at index `where` (first, second or last probe chunk)
    m = _loop_mdp()
    pi = np.full(m.shape, 0.5)
    caps = np.full(6000, 4)
    caps[where] = 9
    kw = dict(horizon="absorbing", lengths=caps, absorbing=np.zeros(6, bool), seed=2)
    a = sample_trajectories(m, pi, 6000, **kw)
    b = sample_trajectories(m, pi, 6000, backend="numpy", **kw)
    assert _same(a, b)
    assert a.actions.shape == (6000, 9) and a.states.shape == (6000, 10)
    assert np.array_equal(a.lengths, caps) and a.truncated == 6000


def test_absorbing_width_when_no_trajectory_hits_the_cap():
    # FrozenLake 4x4 with a large cap: every trajectory ends absorbed (1500 > 1024, so two probe chunks run
    # and neither finds a capped trajectory); the width is the longest one, exactly
    gym = pytest.importorskip("gymnasium")
    m = envs.from_gymnasium(gym.make("FrozenLake-v1"), 0.95)
    pi = np.full(m.shape, 0.25)
    a = sample_trajectories(m, pi, 1500, horizon="absorbing", length=600, seed=5)
    b = sample_trajectories(m, pi, 1500, horizon="absorbing", length=600, seed=5, backend="numpy")
    assert _same(a, b)
    assert a.truncated == 0 and a.actions.shape[1] == a.lengths.max() < 600
    ret, L = sample_returns(m, pi, 1500, horizon="absorbing", length=600, seed=5)
    assert np.array_equal(L, a.lengths) and np.allclose(ret, a.rewards.sum(1), atol=1e-12)


@pytest.mark.parametrize("horizon,length", [("fixed", 7), ("geometric", None), ("geometric", 4), ("absorbing", 25)])
def test_flat_layout_is_the_padded_one_without_padding(horizon, length):
    gym = pytest.importorskip("gymnasium")
    m = envs.from_gymnasium(gym.make("FrozenLake-v1"), 0.9)
    pi = np.random.default_rng(1).dirichlet(np.ones(4), size=m.n_states)
    kw = dict(horizon=horizon, length=length, seed=4)
    pad = sample_trajectories(m, pi, 1500, **kw)
    flat = sample_trajectories(m, pi, 1500, layout="flat", **kw)
    ref = sample_trajectories(m, pi, 1500, layout="flat", backend="numpy", **kw)
    assert isinstance(flat, FlatRollouts)
    for f in ("states", "actions", "rewards", "offsets", "final_states", "lengths"):
        assert np.array_equal(getattr(flat, f), getattr(ref, f)), f
    assert flat.truncated == ref.truncated == pad.truncated
    assert _same(flat.to_padded(), pad)
    assert flat.states.shape == (pad.n_steps,) and flat.n_steps == pad.n_steps
    assert np.array_equal(np.diff(flat.offsets), flat.lengths)
    # returns: the same per-step terms summed in a different order -> equal up to round-off
    assert np.allclose(flat.returns(), pad.returns(), rtol=1e-12, atol=1e-12)
    assert np.array_equal(flat.discount[flat.step == 0], np.ones(int(np.sum(flat.lengths > 0))))


def test_flat_layout_thread_independent_and_validated():
    import numba

    m, pi = _dense_mdp(5, 3, 7)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = sample_trajectories(m, pi, 2000, seed=11, layout="flat")
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = sample_trajectories(m, pi, 2000, seed=11, layout="flat")
    finally:
        numba.set_num_threads(before)
    assert all(np.array_equal(getattr(one, f), getattr(many, f)) for f in ("states", "actions", "rewards", "offsets"))
    with pytest.raises(InvalidInputError, match="layout"):
        sample_trajectories(m, pi, 3, layout="ragged")
