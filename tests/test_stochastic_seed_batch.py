"""``run_stochastic(..., seed=[s1, s2, ...])``: one trace with a leading batch axis, run b equal to seed s_b alone."""

from __future__ import annotations

import numpy as np
import pytest

from mdpgrad import estimators as E
from mdpgrad.errors import InvalidInputError


@pytest.mark.parametrize("method, hp, replicas", [("harpg", {"gamma0": 1.0}, None), ("harpg", {"gamma0": 1.0}, 3),
                                                  ("pg", {"alpha": 0.05}, None)])
def test_seed_batch_equals_separate_runs(method, hp, replicas):
    oracle = E.GaussianBanditOracle(np.array([1.0, -1.0]))
    seeds = [0, 7, 123]
    batch = E.run_stochastic(method, oracle, np.zeros(2), 60, seed=seeds, record_every=5, replicas=replicas, **hp)
    one = E.run_stochastic(method, oracle, np.zeros(2), 60, seed=7, record_every=5, replicas=replicas, **hp)
    assert batch.gap.shape == (3, *one.gap.shape) and batch.theta.shape == (3, *one.theta.shape)
    for b, sd in enumerate(seeds):
        sep = E.run_stochastic(method, oracle, np.zeros(2), 60, seed=sd, record_every=5, replicas=replicas, **hp)
        assert np.array_equal(batch.gap[b], sep.gap) and np.array_equal(batch.theta[b], sep.theta)
        assert np.array_equal(batch.samples[b], sep.samples)
    assert not np.array_equal(batch.gap[0], batch.gap[1])  # the seeds do differ (the check can fail)
    assert np.array_equal(E.run_stochastic(method, oracle, np.zeros(2), 60, seed=np.array(seeds), record_every=5,
                                           replicas=replicas, **hp).gap, batch.gap)


@pytest.mark.parametrize("seed, match", [([], "empty"), ([1, -2], r"seed\[1\]"), ([1, 0.5], r"seed\[1\]"),
                                         ([True], r"seed\[0\]")])
def test_bad_seed_batches_are_named(seed, match):
    with pytest.raises(InvalidInputError, match=match):
        E.run_stochastic("pg", E.GaussianBanditOracle(np.array([1.0, -1.0])), np.zeros(2), 5, seed=seed, alpha=0.1)
