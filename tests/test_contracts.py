"""Contracts on valid input (issue 16): certified convergence, truncation-aware GAE/returns, the exact
softmax natural gradient, and bit-identical results whatever the Numba cache state."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import mdpgrad
from mdpgrad import envs, estimators, rollouts
from mdpgrad.rollouts import Rollouts
from mdpgrad.validation import roundoff_floor

ROOT = Path(__file__).resolve().parents[1]


# --- solve: converged means certified, error_bound never below the round-off floor ----------------
def _near_floor_mdp():
    P = np.array([[[0.5, 0.5]], [[0.75, 0.25]]])
    return mdpgrad.TabularMDP(P, np.array([[100.0], [99.0]]), 0.9999)


@pytest.mark.parametrize("method", ["vi", "pi", "lp"])
def test_solve_never_certifies_below_the_roundoff_floor(method):
    m = _near_floor_mdp()
    res = mdpgrad.solve(m, method, tol=1e-10)
    floor = roundoff_floor(m.gamma, np.abs(res.v).max())
    assert res.error_bound >= floor
    assert not res.converged  # 1e-10 is far below what float64 can certify here (floor ~ 9e-6)
    exact = np.linalg.solve(np.eye(2) - m.gamma * m.P[:, 0, :], m.r[:, 0])
    assert np.max(np.abs(res.v - exact)) <= res.error_bound  # the reported bound holds


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99, 0.999])
@pytest.mark.parametrize("method", ["vi", "pi", "lp"])
def test_converged_means_the_bound_holds(method, gamma):
    m = envs.garnet(12, 3, 3, gamma=gamma, seed=1)
    res = mdpgrad.solve(m, method, tol=1e-9)
    star = mdpgrad.solve(m, "lp", tol=1e-6)  # an independent reference, with its own certificate
    assert res.converged == (res.error_bound <= 1e-9)
    assert res.error_bound >= roundoff_floor(gamma, np.abs(res.v).max())
    assert np.max(np.abs(res.v - star.v)) <= res.error_bound + star.error_bound


# --- GAE / returns: cut trajectories bootstrap -------------------------------------------------------
def _gae_bias(ro, ev, lam=1.0):
    adv = estimators.gae_batch(ro, ev.v, lam)
    err = adv[:, 0] - ev.advantage[ro.states[:, 0], ro.actions[:, 0]]
    return err.mean() / (err.std() / np.sqrt(err.size))


def test_gae_with_a_length_cap_is_unbiased_and_the_old_rule_is_not():
    m = envs.garnet(4, 3, 2, gamma=0.8, seed=0)
    u = np.full((4, 3), 1 / 3)
    ev = mdpgrad.evaluate(m, u)
    ro = rollouts.sample_trajectories(m, u, 100_000, horizon="geometric", length=3, seed=1)
    assert ro.truncated == int(ro.truncated_mask.sum()) > 0
    assert abs(_gae_bias(ro, ev)) < 4
    # negative control: the same data without the per-trajectory flags (cut treated as terminated)
    old = Rollouts(ro.states, ro.actions, ro.rewards, ro.lengths, ro.horizon, ro.gamma, ro.truncated)
    assert abs(_gae_bias(old, ev)) > 20
    # both backends give the same numbers
    a = estimators.gae_batch(ro, ev.v, 0.7, backend="numpy")
    b = estimators.gae_batch(ro, ev.v, 0.7, backend="numba")
    assert np.allclose(a, b, rtol=0, atol=1e-12)


def test_returns_bootstrap_cut_trajectories():
    m = envs.garnet(4, 3, 2, gamma=0.8, seed=0)
    u = np.full((4, 3), 1 / 3)
    ev = mdpgrad.evaluate(m, u)
    ro = rollouts.sample_trajectories(m, u, 100_000, horizon="geometric", length=2, seed=2)
    G = ro.returns(ev.v)
    assert abs(G.mean() - ev.value) < 4 * G.std() / np.sqrt(G.size)
    G0 = ro.returns()
    assert abs(G0.mean() - ev.value) > 20 * G0.std() / np.sqrt(G0.size)  # without bootstrap: biased


def test_absorbing_truncation_flags():
    m = envs.chain(6, gamma=0.9)
    pi = np.full((6, 2), 0.5)
    absorbing = np.zeros(6, bool)
    absorbing[5] = True
    ro = rollouts.sample_trajectories(m, pi, 500, horizon="absorbing", length=4, absorbing=absorbing, seed=0)
    last = ro.states[np.arange(ro.n), ro.lengths]
    assert np.array_equal(ro.truncated_mask, ~absorbing[last])
    flat = rollouts.sample_trajectories(m, pi, 500, horizon="absorbing", length=4, absorbing=absorbing, seed=0,
                                        layout="flat")
    assert np.array_equal(flat.truncated_mask, ro.truncated_mask)


# --- exact softmax natural gradient ------------------------------------------------------------------
def test_natural_gradient_softmax_is_exact_and_minimum_norm():
    m = envs.garnet(5, 3, 2, gamma=0.9, seed=0)
    th = np.random.default_rng(0).normal(size=(5, 3))
    w = mdpgrad.natural_gradient(m, th)
    F = mdpgrad.fisher_information(m, th)
    g = mdpgrad.policy_gradient(m, th)
    w_ls, *_ = np.linalg.lstsq(F, g.ravel(), rcond=1e-12)
    assert np.allclose(w.ravel(), w_ls, atol=1e-12)
    assert np.allclose(w.sum(axis=1), 0.0, atol=1e-12)  # orthogonal to the per-state null space
    ev = mdpgrad.evaluate(m, mdpgrad.softmax(th))
    assert np.allclose(w, (ev.advantage - ev.advantage.mean(1, keepdims=True)) / (1 - m.gamma))


def test_natural_gradient_near_deterministic():
    m = envs.garnet(5, 3, 2, gamma=0.9, seed=0)
    th = np.zeros((5, 3))
    th[:, 0] = 32.0  # pi_min ~ 1e-14: F is ill-conditioned, lstsq loses the small directions
    w = mdpgrad.natural_gradient(m, th)
    ev = mdpgrad.evaluate(m, mdpgrad.softmax(th))
    want = (ev.advantage - ev.advantage.mean(1, keepdims=True)) / (1 - m.gamma)
    assert np.allclose(w, want, rtol=1e-12, atol=1e-12)


# --- identical bits whatever the Numba cache state ----------------------------------------------------
_BITS = textwrap.dedent("""
    import hashlib, numpy as np
    from mdpgrad import bandits, games
    b = bandits.random_bandit(16, 9, seed=0)
    th = np.random.default_rng(1).normal(size=b.param_shape) * 3
    g = bandits.estimate_group_gradient(b, th, 8, "grpo", seed=3, backend="numba")
    P = games.random_intransitive(67, 0)
    y = games.packed_matvec(games.pack_preference(P), np.random.default_rng(2).dirichlet(np.ones(67)),
                            backend="numba")
    h = hashlib.sha256(np.asarray(g.grad, dtype=np.float64).tobytes() + y.tobytes())
    print(h.hexdigest())
""")


def test_bits_identical_cold_and_warm_numba_cache(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    runs = [subprocess.run([sys.executable, "-c", _BITS], env=env, capture_output=True, text=True, timeout=600)
            for _ in range(2)]  # the first compiles into an empty cache, the second loads from it
    for r in runs:
        assert r.returncode == 0, r.stderr
    assert runs[0].stdout.strip() == runs[1].stdout.strip()
