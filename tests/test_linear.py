"""Tests for mdpgrad.linear."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdpgrad
from mdpgrad import linear
from mdpgrad.errors import InvalidInputError


@settings(max_examples=15)
@given(st.integers(1, 12), st.integers(1, 4), st.integers(1, 5), st.integers(0, 10_000))
def test_random_linear_mdp_is_valid_and_closed(S, A, d, seed):
    if d > S * A:
        with pytest.raises(InvalidInputError, match="d"):
            linear.random_linear_mdp(S, A, d, gamma=0.9, seed=seed)
        return
    fm = linear.random_linear_mdp(S, A, d, gamma=0.9, seed=seed, deterministic_rows=min(1, d))
    assert fm.is_linear_mdp  # FeatureMDP checked P = phi . mu and r = phi . w (1e-8)
    v = np.random.default_rng(seed).normal(size=S)
    assert linear.bellman_closure_error(fm, v) < 1e-12


def test_g_optimal_design_kiefer_wolfowitz():
    fm = linear.random_linear_mdp(10, 3, 4, gamma=0.9, seed=1, anchors=False)
    X = fm.phi.reshape(-1, 4)
    rho = linear.g_optimal_design(X, tol=1e-3)
    V = (X * rho[:, None]).T @ X
    g = np.sum(X * np.linalg.solve(V, X.T).T, axis=1)
    # Kiefer-Wolfowitz: max_x x^T V^-1 x = d at the optimum (stopping rule tol = 1e-3)
    assert d_ok(g.max(), 4, 1e-3)
    assert abs(rho.sum() - 1) < 1e-12


def d_ok(gmax, d, tol):
    return d - 1e-9 <= gmax <= d * (1 + tol)


def test_noise_free_lsvi_is_value_iteration():
    fm = linear.random_linear_mdp(8, 2, 3, gamma=0.9, seed=2)
    qs = linear.lsvi_expected(fm, n_iter=15)
    q = np.zeros((8, 2))
    for k in range(15):
        q = fm.r + 0.9 * fm.P @ q.max(axis=1)
        np.testing.assert_allclose(qs[k + 1], q, atol=1e-10)


def test_lsvi_and_vw_lsvi_approach_q_star():
    fm = linear.random_linear_mdp(8, 2, 3, gamma=0.8, seed=3, deterministic_rows=1)
    q_star = mdpgrad.solve(fm.mdp, tol=1e-10).q
    for fn in (linear.lsvi, linear.vw_lsvi):
        small = np.mean([np.abs(fn(fm, n_samples=200, n_iter=60, seed=s).q - q_star).max() for s in range(4)])
        big = np.mean([np.abs(fn(fm, n_samples=20_000, n_iter=60, seed=s).q - q_star).max() for s in range(4)])
        # 100x samples -> error shrinks ~10x in expectation (1/sqrt(N)); require at least 3x on a 4-seed
        # mean; the VI truncation 0.8^60 * 5 ~ 1e-5 is negligible
        assert big < small / 3
    res = linear.vw_lsvi(fm, n_samples=1000, n_iter=10, seed=1)
    assert res.sigma2 is not None and np.all(res.sigma2 > 0)


def test_bad_inputs():
    with pytest.raises(InvalidInputError, match="concentration"):
        linear.random_linear_mdp(5, 2, 2, gamma=0.9, seed=0, concentration=0.0)
    with pytest.raises(InvalidInputError, match="deterministic_rows"):
        linear.random_linear_mdp(5, 2, 2, gamma=0.9, seed=0, deterministic_rows=3)
    with pytest.raises(InvalidInputError, match="gamma"):
        linear.random_linear_mdp(5, 2, 2, gamma=1.0, seed=0)
    with pytest.raises(InvalidInputError, match="X"):
        linear.g_optimal_design(np.ones((5, 2)))
    fm = linear.random_linear_mdp(5, 2, 2, gamma=0.9, seed=0)
    with pytest.raises(InvalidInputError, match="first_phase"):
        linear.vw_lsvi(fm, n_samples=100, n_iter=3, seed=0, first_phase=1.5)
    with pytest.raises(InvalidInputError, match="n_samples"):
        linear.lsvi(fm, n_samples=0, n_iter=3, seed=0)
    with pytest.raises(InvalidInputError, match="fmdp"):
        linear.lsvi(fm.mdp, n_samples=10, n_iter=3, seed=0)


def test_regress_backup_unbiased_and_variance_aware():
    fm = linear.random_linear_mdp(6, 2, 3, gamma=0.9, seed=1, anchors=False)
    v = mdpgrad.solve(fm.mdp, tol=1e-10).v
    P2, Phi = fm.P.reshape(12, 6), fm.phi.reshape(12, 3)
    s2 = np.maximum(P2 @ v**2 - (P2 @ v) ** 2, 1e-8)
    th = linear.regress_backup(fm, v, n_samples=2000, seed=0, n_replicates=400, sigma2=s2)
    assert th.shape == (400, 3)
    err = th @ Phi.T - P2 @ v
    se = err.std(axis=0, ddof=1) / np.sqrt(400)
    assert np.all(np.abs(err.mean(axis=0)) <= 4 * se + 1e-12)
    assert np.max(2000 * np.mean(err**2, axis=0) / s2) <= 1.5 * 3  # Kiefer-Wolfowitz: d, plus MC slack
    with pytest.raises(InvalidInputError, match="sigma2"):
        linear.regress_backup(fm, v, n_samples=10, seed=0, sigma2=np.zeros(12))
    with pytest.raises(InvalidInputError, match="v"):
        linear.regress_backup(fm, v[:3], n_samples=10, seed=0)
