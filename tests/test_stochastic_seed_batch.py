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


# --- the compiled seed batch: "pg" on a softmax TabularOracle (mdpgrad.estimators.seed_batch) ------------------
def _garnet_oracle():
    from mdpgrad import envs

    return E.TabularOracle(envs.garnet(6, 3, 2, gamma=0.8, seed=3))


@pytest.mark.parametrize("hp, record_every", [({"alpha": 0.2}, 1), ({"alpha": 0.5, "batch": 3, "decay": True}, 4)])
def test_compiled_pg_seed_batch_equals_separate_runs(hp, record_every):
    orc = _garnet_oracle()
    seeds = [0, 5, 2**40 + 1, 9]
    batch = E.run_stochastic("pg", orc, np.zeros(18), 30, seed=seeds, record_every=record_every, **hp)
    assert batch.gap.shape == (4, 30 // record_every + 1) and batch.theta.shape == (4, 18)
    for b, sd in enumerate(seeds):
        one = E.run_stochastic("pg", orc, np.zeros(18), 30, seed=sd, record_every=record_every, **hp)
        assert np.array_equal(batch.gap[b], one.gap) and np.array_equal(batch.theta[b], one.theta)
        assert np.array_equal(batch.samples[b], one.samples)
    assert not np.array_equal(batch.theta[0], batch.theta[1])  # the seeds do differ (the check can fail)
    # the batch's composition does not matter
    sub = E.run_stochastic("pg", orc, np.zeros(18), 30, seed=[9, 0], record_every=record_every, **hp)
    assert np.array_equal(sub.gap[0], batch.gap[3]) and np.array_equal(sub.gap[1], batch.gap[0])


def test_compiled_pg_follows_the_python_loop():
    """The kernel draws the same trajectories as ``TabularOracle.sample`` (same streams), so it tracks the
    Python loop to round-off; another seed does not (negative control)."""
    from mdpgrad.estimators.variance_reduced import _run_loop

    orc = _garnet_oracle()
    meth = E.make_stochastic_method("pg", alpha=0.3, batch=2)
    fast = E.run_stochastic(meth, orc, np.zeros(18), 40, seed=11)
    loop = _run_loop(meth, orc, meth.init(np.zeros(18)), 40, 11, 1)
    other = _run_loop(meth, orc, meth.init(np.zeros(18)), 40, 12, 1)
    assert np.allclose(fast.theta, loop.theta, rtol=0, atol=1e-10) and np.allclose(fast.gap, loop.gap, atol=1e-10)
    assert np.array_equal(fast.samples, loop.samples)
    assert not np.allclose(fast.theta, other.theta, atol=1e-3)


def test_seed_pool_is_numpys_seedsequence():
    from mdpgrad.kernels.stochastic_pg import seed_pool, trajectory_seeds_compiled
    from mdpgrad.rollouts import trajectory_seeds

    for e in (0, 1, 2**32 - 1, 2**32, 2**61 + 12345, 2**62 - 1):
        for key in (0, 1):
            assert np.array_equal(seed_pool(e, key), np.random.SeedSequence(e, spawn_key=(key,)).pool)
            assert np.array_equal(trajectory_seeds_compiled(e, 5, key), trajectory_seeds(e, 5, key=key))


def test_compiled_path_only_for_what_it_implements():
    from mdpgrad.algorithms import Method
    from mdpgrad.estimators.variance_reduced import compiled_method

    orc = _garnet_oracle()
    pg = E.make_stochastic_method("pg", alpha=0.1)
    assert compiled_method(pg, orc, None)
    assert not compiled_method(pg, orc, 3)
    assert not compiled_method(pg, orc.__class__(orc.mdp, "loglinear", phi=np.eye(18).reshape(6, 3, 18)), None)
    assert not compiled_method(pg, E.GaussianBanditOracle(np.array([1.0, -1.0])), None)
    custom = Method("pg", pg.hparams, pg.init, lambda s, oracle, rng: s)  # a user's own "pg": the loop runs it
    assert not compiled_method(custom, orc, None)
    tr = E.run_stochastic(custom, orc, np.zeros(18), 5, seed=[1, 2])
    assert np.all(tr.gap == tr.gap[:, :1])


def test_compiled_pg_generator_seed_and_huge_steps():
    orc = _garnet_oracle()
    a = E.run_stochastic("pg", orc, np.zeros(18), 10, seed=np.random.default_rng(4), alpha=0.1)
    b = E.run_stochastic("pg", orc, np.zeros(18), 10, seed=4, alpha=0.1)
    assert np.array_equal(a.gap, b.gap)
    # bounded scores and rewards: even a huge step leaves a softmax run finite (the kernel still checks)
    big = E.run_stochastic("pg", orc, np.zeros(18), 5, seed=[0, 1], alpha=1e150)
    assert np.all(np.isfinite(big.gap)) and np.abs(big.theta).max() > 1e140


@pytest.mark.parametrize("seed, match", [([], "empty"), ([3, -1], r"seed\[1\]"), ([np.float64(2.0)], r"seed\[0\]"),
                                         (np.array([[1, 2]]), "seed")])
def test_bad_seed_batches_on_the_compiled_path(seed, match):
    with pytest.raises(InvalidInputError, match=match):
        E.run_stochastic("pg", _garnet_oracle(), np.zeros(18), 5, seed=seed, alpha=0.1)


def test_divergence_names_the_first_non_finite_record():
    from mdpgrad.errors import DivergedError
    from mdpgrad.estimators.variance_reduced import _diverged

    meth = E.make_stochastic_method("pg", alpha=0.5)
    _diverged(meth, np.array([1.0, 2.0]), 3)  # finite: nothing raised
    with pytest.raises(DivergedError, match="iteration 6"):
        _diverged(meth, [1.0, 2.0, np.nan, np.inf], 3)
    with pytest.raises(DivergedError, match="iteration 2"):
        _diverged(meth, np.array([[1.0, 1.0], [1.0, np.inf]]), 2)  # replicas: any replica


def test_compiled_seed_batch_does_not_depend_on_the_thread_count():
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import numpy as np; from mdpgrad import envs, estimators as E; "
            "o = E.TabularOracle(envs.garnet(6, 3, 2, gamma=0.8, seed=3)); "
            "t = E.run_stochastic('pg', o, np.zeros(18), 30, seed=[0, 5, 9], alpha=0.5, batch=3); "
            "u = E.run_stochastic('page', o, np.zeros(18), 30, seed=[0, 5, 9], alpha=0.5, batch=3); "
            "print(t.theta.tobytes().hex() + u.theta.tobytes().hex())")
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, cwd=root)
    assert out.returncode == 0, out.stderr[-2000:]
    here = E.run_stochastic("pg", _garnet_oracle(), np.zeros(18), 30, seed=[0, 5, 9], alpha=0.5, batch=3)
    page = E.run_stochastic("page", _garnet_oracle(), np.zeros(18), 30, seed=[0, 5, 9], alpha=0.5, batch=3)
    assert out.stdout.strip() == here.theta.tobytes().hex() + page.theta.tobytes().hex()


# --- the variance-reduced methods on the compiled path (mdpgrad.kernels.stochastic_vr) ----------------------------
VR_CASES = [("storm", {"alpha": 0.2, "batch": 2, "big_batch": 5, "beta": 0.3}),
            ("svrpg", {"alpha": 0.2, "batch": 2, "big_batch": 6, "epoch": 4}),
            ("srvr", {"alpha": 0.2, "batch": 2, "big_batch": 6, "epoch": 4, "decay": True}),
            ("page", {"alpha": 0.2, "batch": 2, "big_batch": 6, "p": 0.3}),
            ("igt", {"gamma0": 0.5}),
            ("harpg", {"gamma0": 0.5}),
            ("harpg", {"gamma0": 0.3, "normalized": False}),
            ("npg", {"alpha": 0.01, "batch": 20})]


@pytest.mark.parametrize("method, hp", VR_CASES)
def test_compiled_vr_seed_batch_equals_separate_runs(method, hp):
    orc = _garnet_oracle()
    seeds = [0, 5, 2**40 + 1, 9]
    batch = E.run_stochastic(method, orc, np.zeros(18), 30, seed=seeds, record_every=3, **hp)
    assert batch.gap.shape == (4, 11) and batch.samples.shape == (4, 11) and batch.theta.shape == (4, 18)
    for b, sd in enumerate(seeds):
        one = E.run_stochastic(method, orc, np.zeros(18), 30, seed=sd, record_every=3, **hp)
        assert np.array_equal(batch.gap[b], one.gap) and np.array_equal(batch.theta[b], one.theta)
        assert np.array_equal(batch.samples[b], one.samples)
    assert not np.array_equal(batch.theta[0], batch.theta[1])  # the seeds do differ (the check can fail)
    sub = E.run_stochastic(method, orc, np.zeros(18), 30, seed=[9, 0], record_every=3, **hp)
    assert np.array_equal(sub.theta[0], batch.theta[3]) and np.array_equal(sub.gap[1], batch.gap[0])


@pytest.mark.parametrize("method, hp", VR_CASES)
def test_compiled_vr_follows_the_python_loop(method, hp):
    """Same draws in the same order (PAGE's coin, HARPG's q), same arithmetic: the kernel tracks the Python
    loop to round-off, sample counts included; another seed does not (negative control). NPG's least-squares
    Fisher solve (``rcond=1e-10``) amplifies round-off by the Fisher's condition number, which grows as the
    policy saturates: its check stops at 15 iterations (relative 1e-15 there; ~1e-7 at 40 on this MDP)."""
    from mdpgrad.estimators.variance_reduced import _run_loop, compiled_method

    orc = _garnet_oracle()
    meth = E.make_stochastic_method(method, **hp)
    assert compiled_method(meth, orc, None)
    n = 15 if method == "npg" else 40
    fast = E.run_stochastic(meth, orc, np.zeros(18), n, seed=11, record_every=3)
    loop = _run_loop(meth, orc, meth.init(np.zeros(18)), n, 11, 3)
    other = _run_loop(meth, orc, meth.init(np.zeros(18)), n, 12, 3)
    assert np.allclose(fast.theta, loop.theta, rtol=0, atol=1e-12) and np.allclose(fast.gap, loop.gap, rtol=0,
                                                                                     atol=1e-12)
    assert np.array_equal(fast.samples, loop.samples)
    assert not np.allclose(fast.theta, other.theta, atol=1e-3)


@pytest.mark.parametrize("method, hp", [VR_CASES[3], VR_CASES[5]])
def test_compiled_vr_draws_match_any_bit_generator(method, hp):
    """PAGE and HARPG mix ``rng.random()`` and ``rng.integers``: PCG64 is read word by word, any other bit
    generator call by call; both give the Python loop's draws."""
    from mdpgrad.estimators import seed_batch
    from mdpgrad.estimators.variance_reduced import _run_loop

    orc = _garnet_oracle()
    meth = E.make_stochastic_method(method, **hp)
    fast = E.run_stochastic(meth, orc, np.zeros(18), 25, seed=np.random.Generator(np.random.MT19937(5)))
    loop = _run_loop(meth, orc, meth.init(np.zeros(18)), 25, np.random.Generator(np.random.MT19937(5)), 1)
    assert np.allclose(fast.theta, loop.theta, rtol=0, atol=1e-12) and np.array_equal(fast.samples, loop.samples)
    for kind in ("page", "harpg"):
        for k0 in (0, 7):
            raw = seed_batch._draws(np.random.default_rng(3), k0, 20, kind)
            g = np.random.default_rng(3)
            step = [(None if kind == "page" and k0 + k == 0 else g.random(),
                     [g.integers(2**62) for _ in range(1 if kind == "page" else 2)]) for k in range(20)]
            assert np.array_equal(raw[0][:, :len(step[0][1])], [ints for _, ints in step])
            assert np.array_equal(raw[1], [np.nan if u is None else u for u, _ in step], equal_nan=True)


def test_compiled_path_covers_the_vr_methods_only_as_built():
    from mdpgrad.algorithms import Method
    from mdpgrad.estimators.variance_reduced import compiled_method

    orc = _garnet_oracle()
    for name in E.STOCHASTIC_METHODS:
        meth = E.make_stochastic_method(name)
        assert compiled_method(meth, orc, None), name
        assert not compiled_method(meth, E.TabularOracle(orc.mdp, "loglinear", phi=np.eye(18).reshape(6, 3, 18)), None)
    npg, pg = E.make_stochastic_method("npg"), E.make_stochastic_method("pg")
    assert not compiled_method(Method("npg", npg.hparams, npg.init, pg.update), orc, None)  # another rule
    assert not compiled_method(E.make_stochastic_method("storm"), orc, 2)
    page, srvr = E.make_stochastic_method("page"), E.make_stochastic_method("srvr")
    assert not compiled_method(Method("page", page.hparams, page.init, srvr.update), orc, None)  # srvr's rule
    storm2 = E.make_stochastic_method("storm", beta=0.9)
    storm = E.make_stochastic_method("storm")
    assert not compiled_method(Method("storm", storm.hparams, storm.init, storm2.update), orc, None)  # its own hp


@pytest.mark.parametrize("method", ["page", "harpg", "storm"])
def test_compiled_vr_blocks_do_not_change_the_run(method, monkeypatch):
    """The draws are made in blocks of steps; a run split into blocks of 2-3 steps is the same run."""
    from mdpgrad.estimators import seed_batch

    orc = _garnet_oracle()
    whole = E.run_stochastic(method, orc, np.zeros(18), 20, seed=[3, 8])
    monkeypatch.setattr(seed_batch, "_BLOCK_WORDS", 13)  # 13 // (3 * 2) = 2 steps per block
    split = E.run_stochastic(method, orc, np.zeros(18), 20, seed=[3, 8])
    assert np.array_equal(whole.theta, split.theta) and np.array_equal(whole.samples, split.samples)
    assert np.array_equal(whole.gap, split.gap)
