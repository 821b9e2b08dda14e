"""Tests for mdpgrad.td: exact TD systems, sampled loops (NumPy vs Numba), batch views, claims."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpgrad import envs, td
from mdpgrad.errors import InvalidInputError, InvalidMDPError, InvalidPolicyError


def _instance(seed, S=8, d=3, gamma=0.9):
    rng = np.random.default_rng(seed)
    mdp = envs.garnet(S, 2, S, gamma=gamma, seed=rng)
    pi = rng.dirichlet(np.ones(2), size=S)
    phi = rng.normal(size=(S, d))
    return mdp, pi, phi


def test_fixed_point_tabular_features_is_exact_value():
    # With one-hot features the TD(lambda) fixed point is V^pi for every lambda (Pi = I).
    mdp, pi, _ = _instance(0)
    for lam in (0.0, 0.5, 1.0):
        sy = td.td_system(mdp, pi, np.eye(8), lambda_=lam)
        # cond(I - gamma P) <= (1 + gamma)/(1 - gamma) = 19: 1e-12 is ~100 eps * cond
        np.testing.assert_allclose(sy.theta_star, sy.v, atol=1e-12)
        assert td.mspbe(sy, sy.theta_star) < 1e-20


def test_lambda_one_fixed_point_is_projection():
    # TD(1)'s fixed point is the D-weighted least-squares projection of V.
    mdp, pi, phi = _instance(1)
    sy = td.td_system(mdp, pi, phi, lambda_=1.0)
    np.testing.assert_allclose(phi @ sy.theta_star, td.projection(phi, sy.d_mu, sy.v), atol=1e-10)


@settings(max_examples=15)
@given(st.integers(0, 10_000), st.sampled_from([0.0, 0.3, 0.9]))
def test_tsitsiklis_van_roy_bound(seed, lam):
    mdp, pi, phi = _instance(seed)
    sy = td.td_system(mdp, pi, phi, lambda_=lam)
    lhs = np.sqrt(td.msve(sy, sy.theta_star))
    rhs = np.sqrt(td.msve(sy, np.linalg.lstsq(np.sqrt(sy.d_mu)[:, None] * phi, np.sqrt(sy.d_mu) * sy.v,
                                              rcond=None)[0]))
    assert lhs <= td.tsitsiklis_van_roy_factor(mdp.gamma, lam) * rhs * (1 + 1e-10)
    # the fixed point solves A theta = b and zeroes the lambda-MSPBE
    np.testing.assert_allclose(sy.A @ sy.theta_star, sy.b, atol=1e-10)


def test_stationary_distribution_and_reducible_chain():
    P = np.array([[0.5, 0.5], [0.2, 0.8]])
    d = td.stationary_distribution(P)
    np.testing.assert_allclose(d @ P, d, atol=1e-14)
    with pytest.raises(InvalidMDPError, match="P_chain"):
        td.stationary_distribution(np.eye(3))


@pytest.mark.parametrize("method,lam", [("td", 0.7), ("td_replacing", 0.7), ("gtd2", 0.0), ("tdc", 0.0),
                                        ("etd", 0.5)])
@pytest.mark.kernels("td_loop")
def test_backends_agree(method, lam, backend):
    # Same SplitMix64 stream in both loops: identical transitions, so iterates agree to round-off
    # (the only differences are summation order inside dot products, ~1e-16 per step).
    mdp, pi, phi = _instance(2)
    mu = np.full((8, 2), 0.5)
    kw = dict(method=method, lambda_=lam, behavior=mu, alpha=0.02, beta=0.05, n_steps=400, n_runs=2,
              checkpoints=[50, 400], seed=7)
    a = td.run_td(mdp, pi, phi, backend=backend, **kw).thetas
    b = td.run_td(mdp, pi, phi, backend="numpy", **kw).thetas
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_sampled_td_converges_to_fixed_point():
    # Mean of final iterates over 32 runs within 4 SE of theta* (bias O(1/t) << SE at t = 1e5).
    mdp, pi, phi = _instance(3, gamma=0.8)
    sy = td.td_system(mdp, pi, phi)
    c = 1.0 / np.linalg.eigvalsh(0.5 * (sy.A + sy.A.T)).min()
    t0 = 10 * c * np.linalg.norm(sy.A, 2)
    run = td.run_td(mdp, pi, phi, alpha=c / t0, t0=t0, power=1.0, n_steps=100_000, n_runs=32, seed=1)
    fin = run.thetas[:, -1]
    se = fin.std(0, ddof=1) / np.sqrt(32)
    assert np.all(np.abs(fin.mean(0) - sy.theta_star) <= 4 * se)


def test_off_policy_gtd_reaches_mspbe_minimizer():
    mdp, pi, phi = _instance(4, gamma=0.8)
    mu = np.full((8, 2), 0.5)
    sy = td.td_system(mdp, pi, phi, behavior=mu)
    for method in ("tdc", "gtd2"):
        run = td.run_td(mdp, pi, phi, method=method, behavior=mu, alpha=0.05, beta=0.2, t0=1000.0, power=0.6,
                        n_steps=100_000, n_runs=16, seed=2)
        # MSPBE of the run-averaged iterate relative to MSPBE(0) (measured ~5e-4 and ~3e-4; the bar
        # 1e-2 leaves a factor 20 for seed-to-seed noise): both converge to theta*, the MSPBE minimizer.
        assert td.mspbe(sy, run.thetas[:, -1].mean(0)) < 1e-2 * td.mspbe(sy, np.zeros(3))


def test_forward_and_backward_views_agree_offline():
    rng = np.random.default_rng(5)
    T, d = 50, 4
    phi = rng.normal(size=(T + 1, d))
    r = rng.normal(size=T)
    theta = rng.normal(size=d)
    for lam in (0.0, 0.4, 1.0):
        f = td.forward_view_offline(phi[:-1], r, phi[1:], theta, discount_t=0.9, lambda_=lam)
        b = td.backward_view_offline(phi[:-1], r, phi[1:], theta, discount_t=0.9, lambda_=lam)
        # exact telescoping identity: differences are summation round-off (~T * eps * |terms|)
        np.testing.assert_allclose(f, b, rtol=1e-11, atol=1e-11)


def test_lstd_on_long_trajectory_matches_fixed_point():
    mdp, pi, phi = _instance(6, gamma=0.8)
    states, actions, nxt = td.sample_transitions(mdp, pi, 50_000, seed=3)
    sy = td.td_system(mdp, pi, phi, lambda_=0.5)
    th = td.lstd(phi[states], mdp.r[states, actions], phi[nxt], discount_t=mdp.gamma, lambda_=0.5)
    # LSTD is consistent; at T = 5e4 the relative error is O(1/sqrt(T)): over seeds 0..4 it was
    # 0.003..0.015 (sd ~ 0.005), so 4e-2 is > 5 sd above the typical value.
    assert np.linalg.norm(th - sy.theta_star) / np.linalg.norm(sy.theta_star) < 4e-2


def test_baird_is_unstable_in_expectation():
    mdp, pi, mu, phi, th0 = td.baird_counterexample()
    sy = td.td_system(mdp, pi, phi, behavior=mu)
    assert np.min(np.linalg.eigvals(sy.A0).real) < -0.2
    assert td.mspbe(sy, np.zeros(8)) == pytest.approx(0.0, abs=1e-20)


def test_bad_inputs():
    mdp, pi, phi = _instance(7)
    with pytest.raises(InvalidInputError, match="phi"):
        td.td_system(mdp, pi, phi[:5])
    with pytest.raises(InvalidInputError, match="lam"):
        td.td_system(mdp, pi, phi, lambda_=1.5)
    with pytest.raises(InvalidPolicyError, match="behavior"):
        td.td_system(mdp, pi, phi, behavior=np.ones((8, 2)))
    det = np.tile([1.0, 0.0], (8, 1))
    with pytest.raises(InvalidInputError, match="behavior"):
        td.td_system(mdp, pi, phi, behavior=det)
    with pytest.raises(InvalidInputError, match="method"):
        td.run_td(mdp, pi, phi, method="sarsa")
    with pytest.raises(InvalidInputError, match="lam"):
        td.run_td(mdp, pi, phi, method="gtd2", lambda_=0.5)
    with pytest.raises(InvalidInputError, match="alpha"):
        td.run_td(mdp, pi, phi, alpha=-1.0)
    with pytest.raises(InvalidInputError, match="checkpoints"):
        td.run_td(mdp, pi, phi, n_steps=10, checkpoints=[5, 3])
    with pytest.raises(InvalidInputError, match="s0"):
        td.run_td(mdp, pi, phi, s0=99)
    with pytest.raises(InvalidInputError, match="n_steps"):
        td.run_td(mdp, pi, phi, n_steps=0)
    with pytest.raises(InvalidInputError, match="backend"):
        td.run_td(mdp, pi, phi, backend="nope")
    with pytest.raises(InvalidInputError, match="discount_t"):
        td.lstd(phi, np.zeros(8), phi, discount_t=1.5)
    with pytest.raises(InvalidInputError, match="phi_tp1"):
        td.lstd(phi, np.zeros(8), phi[:3], discount_t=0.5)


def test_alias_tables_reproduce_distributions():
    from mdpgrad.kernels.td import alias_tables

    rng = np.random.default_rng(8)
    p = rng.dirichlet(np.full(9, 0.3), size=20)
    p[0] = np.eye(9)[4]  # a point mass
    prob, alias = alias_tables(p)
    implied = np.zeros_like(p)
    for r in range(p.shape[0]):
        for i in range(9):
            implied[r, i] += prob[r, i] / 9
            implied[r, alias[r, i]] += (1 - prob[r, i]) / 9
    np.testing.assert_allclose(implied, p, atol=1e-15)
    # empirical frequencies of the in-kernel sampler (one row, 2e5 draws): within 4 SE per state
    mdp = envs.garnet(9, 1, 9, gamma=0.5, seed=1)
    states, _, nxt = td.sample_transitions(mdp, np.ones((9, 1)), 200_000, seed=2)
    counts = np.bincount(nxt[states == 0], minlength=9)
    n = counts.sum()
    se = np.sqrt(mdp.P[0, 0] * (1 - mdp.P[0, 0]) / n)
    assert np.all(np.abs(counts / n - mdp.P[0, 0]) <= 4 * se + 1e-12)


def test_emphatic_td_converges_to_emphatic_fixed_point():
    # Off-policy ETD(0): the expected update is b_m - A_m theta with the emphatic weighting m
    # (Sutton, Mahmood & White 2016), A_m positive definite, so the iterates approach solve(A_m, b_m).
    mdp, pi, phi = _instance(9, gamma=0.6)
    mu = np.full((8, 2), 0.5)
    sy = td.td_system(mdp, pi, phi, behavior=mu, emphatic=True)
    assert np.all(np.linalg.eigvalsh(0.5 * (sy.A + sy.A.T)) > 0)
    run = td.run_td(mdp, pi, phi, method="etd", behavior=mu, alpha=0.02, t0=1000.0, power=0.7,
                    n_steps=100_000, n_runs=32, seed=4)
    fin = run.thetas[:, -1]
    # relative error of the run mean (measured 0.0035) must be well below the distance to the
    # unweighted off-policy TD fixed point (0.083), so the test tells the two fixed points apart.
    # (At gamma = 0.9 the followon trace makes ETD's variance explode on some instances: a known
    # property of emphatic TD, not tested here.)
    err = np.linalg.norm(fin.mean(0) - sy.theta_star) / np.linalg.norm(sy.theta_star)
    other = td.td_fixed_point(mdp, pi, phi, behavior=mu)
    assert err < 0.02
    assert np.linalg.norm(other - sy.theta_star) / np.linalg.norm(sy.theta_star) > 0.05


def test_td_on_data_approaches_lstd():
    mdp, pi, phi = _instance(10, gamma=0.8)
    states, actions, nxt = td.sample_transitions(mdp, pi, 20_000, seed=5)
    args = (phi[states], mdp.r[states, actions], phi[nxt])
    ref = td.lstd(*args, discount_t=mdp.gamma)
    errs = []
    for a, n in ((0.02, 2), (0.005, 8)):
        _, avg = td.td_on_data(*args, discount_t=mdp.gamma, alpha=a, n_passes=n)
        errs.append(np.linalg.norm(avg - ref) / np.linalg.norm(ref))
    # O(alpha) bias of the constant-step average relative to LSTD on the same data: shrinks with alpha
    assert errs[1] < errs[0] and errs[1] < 0.05
    with pytest.raises(InvalidInputError, match="method"):
        td.td_on_data(*args, discount_t=0.8, method="etd")
    with pytest.raises(InvalidInputError, match="n_passes"):
        td.td_on_data(*args, discount_t=0.8, n_passes=0)
