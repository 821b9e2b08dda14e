"""Estimators: unbiasedness vs the exact gradient, biased controls, GAE identities, variance, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import mdpgrad
from mdpgrad import envs, evaluate, policy_gradient, probs
from mdpgrad import estimators as E
from mdpgrad.errors import InvalidInputError
from mdpgrad.rollouts import sample_trajectories
from mdpgrad.stats import bonferroni_z

N_MC = 10_000


@st.composite
def instances(draw, max_gamma=0.95):
    """S, A <= 5, gamma <= 0.95, softmax theta ~ N(0, 1); every state's occupancy >= 0.02 so each
    coordinate is visited ~hundreds of times at N_MC (unvisited coordinates cannot be tested)."""
    S = draw(st.integers(1, 5))
    A = draw(st.integers(1, 5))
    gamma = draw(st.sampled_from([g for g in (0.0, 0.5, 0.8, 0.9, 0.95) if g <= max_gamma]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    m = mdpgrad.TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.normal(size=(S, A)), gamma,
                           rho=rng.dirichlet(np.ones(S)))
    theta = rng.normal(size=(S, A))
    ev = evaluate(m, probs(theta))
    assume(ev.occupancy.min() >= 0.02)
    return m, theta, ev, seed


def _z_bonferroni(n_tests: int, family_alpha: float = 1e-3) -> float:
    """Two-sided normal quantile with a Bonferroni correction, never below 4 SE."""
    return bonferroni_z(n_tests, family_alpha, floor=4.0)


def _assert_unbiased(est: E.GradientEstimate, exact: np.ndarray, z: float):
    # |mean - exact| <= z SE per coordinate; 1e-12 absorbs coordinates with zero variance
    # (A = 1, or gamma = 0 states), where both sides are exactly 0 up to round-off.
    dev = np.abs(est.mean - exact)
    assert np.all(dev <= z * est.se + 1e-12), (dev / np.maximum(est.se, 1e-300)).max()


@settings(max_examples=6)
@given(instances())
def test_on_policy_estimators_unbiased(case):
    m, theta, ev, seed = case
    g = policy_gradient(m, theta)
    ro = sample_trajectories(m, probs(theta), N_MC, seed=seed)
    options = [
        dict(estimator="reinforce"),
        dict(estimator="reinforce", baseline=0.7),
        dict(estimator="gpomdp"),
        dict(estimator="gpomdp", baseline=ev.v),
        dict(estimator="gae", values=ev.v, lambda_=0.0),
        dict(estimator="gae", values=ev.v, lambda_=0.6),
        dict(estimator="gae", values=ev.v, lambda_=1.0),
    ]
    z = _z_bonferroni((len(options) + 1) * g.size)
    for opt in options:
        _assert_unbiased(E.estimate_gradient(ro, theta, **opt), g, z)
    rh = E.summarize(E.random_horizon_gradient_samples(m, theta, N_MC, seed=seed + 1))
    _assert_unbiased(rh, g, z)


@settings(max_examples=6)
@given(instances(max_gamma=0.8))
def test_importance_weighted_unbiased(case):
    """Per-decision IS from mu = 0.8 pi + 0.2 uniform (ratios <= 1.25 per step, gamma <= 0.8 keeps
    the weights' tails light enough that the sample SE is reliable)."""
    m, theta, ev, seed = case
    pi = probs(theta)
    mu = 0.8 * pi + 0.2 / m.n_actions
    ro = sample_trajectories(m, mu, N_MC, seed=seed)
    g = policy_gradient(m, theta)
    z = _z_bonferroni(3 * g.size)
    for opt in (dict(estimator="gpomdp"), dict(estimator="gpomdp", baseline=ev.v), dict(estimator="reinforce")):
        _assert_unbiased(E.estimate_gradient(ro, theta, behavior=mu, **opt), g, z)


def _fixed_case():
    m = envs.garnet(4, 3, 3, gamma=0.9, seed=3)
    theta = np.random.default_rng(1).normal(size=(4, 3))
    return m, theta, evaluate(m, probs(theta)), policy_gradient(m, theta)


def _max_z(est, exact):
    return float(np.max(np.abs(est.mean - exact) / est.se))


def test_biased_controls_exceed_6_se():
    m, theta, ev, g = _fixed_case()
    pi = probs(theta)
    n = 15_000  # biases here are 60-200 SE at this n (measured), far above the 6 SE requirement
    # (a) truncated horizon H = 3: estimates the gradient of the 3-step objective
    ro = sample_trajectories(m, pi, n, horizon="fixed", length=3, seed=1)
    assert _max_z(E.estimate_gradient(ro, theta), g) > 6
    # (b) clipped importance weights (c = 1) from a far behaviour policy
    mu = probs(np.random.default_rng(9).normal(size=(4, 3)) * 2)
    ro = sample_trajectories(m, mu, n, seed=2)
    assert _max_z(E.estimate_gradient(ro, theta, behavior=mu, clip=1.0), g) > 6
    # (c) GAE with lambda < 1 and approximate values (exact + state noise) is biased, lambda = 1 is not
    ro = sample_trajectories(m, pi, n, seed=3)
    v_hat = ev.v + np.random.default_rng(4).normal(scale=2.0, size=4)
    assert _max_z(E.estimate_gradient(ro, theta, estimator="gae", values=v_hat, lambda_=0.0), g) > 6
    _assert_unbiased(E.estimate_gradient(ro, theta, estimator="gae", values=v_hat, lambda_=1.0), g,
                     _z_bonferroni(g.size))


def test_gae_identities():
    rng = np.random.default_rng(0)
    T = 12
    r, v, disc = rng.normal(size=T), rng.normal(size=T + 1), rng.uniform(0.5, 1.0, size=T)
    assert np.allclose(E.gae(r, v, disc, 0.0), E.td_errors(r, v, disc), atol=1e-13)
    # lambda = 1: telescoping to the Monte Carlo advantage sum_k (prod disc) r_k + (prod disc) v_T - v_t
    mc = np.empty(T)
    for t in range(T):
        acc, w = 0.0, 1.0
        for k in range(t, T):
            acc += w * r[k]
            w *= disc[k]
        mc[t] = acc + w * v[T] - v[t]
    assert np.allclose(E.gae(r, v, disc, 1.0), mc, atol=1e-12)
    assert np.allclose(E.lambda_returns(r, v, disc, 0.3), E.gae(r, v, disc, 0.3) + v[:-1], atol=1e-13)


@pytest.mark.kernels("gae_batch")
def test_gae_batch_matches_single_and_backends(backend):
    m, theta, ev, _ = _fixed_case()
    ro = sample_trajectories(m, probs(theta), 50, seed=0, horizon="fixed", length=9)
    v = ev.v
    batch = E.gae_batch(ro, v, 0.7, backend=backend)
    for i in range(5):
        L = ro.lengths[i]
        single = E.gae(ro.rewards[i, :L], v[ro.states[i, :L + 1]], np.full(L, m.gamma), 0.7)
        assert np.allclose(batch[i, :L], single, atol=1e-12)
    assert np.allclose(batch, E.gae_batch(ro, v, 0.7, backend="numpy"), atol=1e-12)


@settings(max_examples=8)
@given(instances())
def test_gpomdp_variance_not_above_reinforce(case):
    m, theta, ev, seed = case
    ro = sample_trajectories(m, probs(theta), 5000, seed=seed)
    vr = E.estimate_gradient(ro, theta, estimator="reinforce").variance
    vg = E.estimate_gradient(ro, theta, estimator="gpomdp").variance
    assert vg <= vr * (1 + 1e-12)


def test_optimal_constant_baseline_minimizes_variance():
    """Exact enumeration on a one-step problem (gamma = 0, horizon 1): total variance
    Var(b) = E[||z||^2 (R - b)^2] - ||grad||^2 is quadratic in b, minimized at
    b* = E[||z||^2 R] / E[||z||^2]; the MC version picks the same minimizer on samples."""
    rng = np.random.default_rng(3)
    S, A = 3, 4
    m = mdpgrad.TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.normal(size=(S, A)) + 2, 0.0)
    theta = rng.normal(size=(S, A))
    pi = probs(theta)
    z2 = (1 - 2 * pi + np.sum(pi**2, axis=1, keepdims=True))  # ||e_a - pi_s||^2
    w = m.rho[:, None] * pi
    b_star = np.sum(w * z2 * m.r) / np.sum(w * z2)
    grid = np.linspace(b_star - 3, b_star + 3, 601)
    var = [np.sum(w * z2 * (m.r - b) ** 2) for b in grid]
    assert abs(grid[int(np.argmin(var))] - b_star) <= 6 / 600  # grid resolution
    ro = sample_trajectories(m, pi, 50_000, horizon="fixed", length=1, seed=1)
    b_hat = E.optimal_constant_baseline(ro, theta)
    # b_hat is a ratio of sample means: its SE is ~ sd / sqrt(n) ~ 1e-2 here; 0.05 is > 4 SE.
    assert abs(b_hat - b_star) < 0.05
    v_opt = E.estimate_gradient(ro, theta, estimator="reinforce", baseline=b_hat).variance
    for b in (0.0, float(np.sum(w * m.r)), b_star - 1, b_star + 1):
        assert v_opt <= E.estimate_gradient(ro, theta, estimator="reinforce", baseline=b).variance


def test_loglinear_unbiased():
    m, _, _, _ = _fixed_case()
    rng = np.random.default_rng(2)
    phi, th = rng.normal(size=(4, 3, 3)), rng.normal(size=3)
    g = policy_gradient(m, th, "loglinear", phi=phi)
    ro = sample_trajectories(m, probs(th, "loglinear", phi=phi), N_MC, seed=5)
    _assert_unbiased(E.estimate_gradient(ro, th, "loglinear", phi=phi), g, _z_bonferroni(3))


def test_oracle_corrections_unbiased():
    """IS correction g(tau,th) - w g(tau,th') has mean grad J(th) - grad J(th'); the HVP estimate
    has mean Hess J(th) v (central differences of the exact gradient, h = 1e-5: error ~1e-9)."""
    m = envs.garnet(3, 2, 2, gamma=0.7, seed=2)
    orc = E.TabularOracle(m)
    rng = np.random.default_rng(0)
    th, v = rng.normal(size=6), rng.normal(size=6)
    th2 = th + 0.3 * rng.normal(size=6)
    tau = orc.sample(th, N_MC, 1)
    w = np.exp(orc.log_prob(tau, th2) - orc.log_prob(tau, th))
    corr = E.summarize(orc.grads(tau, th) - w[:, None] * orc.grads(tau, th2))
    exact = (policy_gradient(m, th.reshape(3, 2)) - policy_gradient(m, th2.reshape(3, 2))).ravel()
    z = _z_bonferroni(12)
    _assert_unbiased(corr, exact, z)
    h = 1e-5
    hv = (policy_gradient(m, (th + h * v).reshape(3, 2)) - policy_gradient(m, (th - h * v).reshape(3, 2))).ravel() / (2 * h)
    est = E.summarize(orc.hvp(tau, th, v))
    assert np.all(np.abs(est.mean - hv) <= z * est.se + 1e-7)


@pytest.mark.parametrize("method", E.VR_METHODS)
def test_every_optimizer_improves_gaussian_bandit(method):
    orc = E.GaussianBanditOracle(np.array([1.0, -2.0]), sigma=0.5)
    hp = {"gamma0": 1.0} if method in ("igt", "harpg") else {"alpha": 0.02, "batch": 5}
    tr = E.run(method, orc, np.zeros(2), 1000, seed=1, **hp)
    assert tr.gap[-1] < tr.gap[0] / 20
    assert np.all(np.diff(tr.samples) >= 1)


def test_stochastic_hyperparameters_are_typed():
    from mdpgrad.algorithms import UnknownHyperparameterError
    from mdpgrad.estimators.variance_reduced import make_vr_method as make_method

    orc = E.GaussianBanditOracle(np.array([1.0, -2.0]), sigma=0.5)
    with pytest.raises(UnknownHyperparameterError, match="bacth"):
        E.run("svrpg", orc, np.zeros(2), 1, bacth=5)
    with pytest.raises(UnknownHyperparameterError, match="alpha"):
        E.run("igt", orc, np.zeros(2), 1, alpha=0.1)
    with pytest.raises(InvalidInputError, match="batch"):
        make_method("pg", batch=0)
    with pytest.raises(InvalidInputError, match="beta"):
        make_method("storm", beta=2.0)
    m = make_method("srvr", batch=3)
    assert (m.hparams.big_batch, m.hparams.epoch) == (30, 10)
    a = E.run(m, orc, np.zeros(2), 20, seed=4)
    b = E.run("srvr", orc, np.zeros(2), 20, seed=4, batch=3)
    assert np.array_equal(a.gap, b.gap)


def test_stochastic_pmd_improves():
    m = envs.garnet(5, 3, 3, gamma=0.9, seed=1)
    orc = E.TabularOracle(m)
    th = np.zeros((5, 3))
    gap0 = orc.optimum() - orc.value(th)
    for k in range(30):
        th, _ = E.stochastic_pmd_step(m, th, 1.0, 5, k)
    assert orc.optimum() - orc.value(th) < gap0 / 4


def test_validation_errors():
    m, theta, ev, _ = _fixed_case()
    ro = sample_trajectories(m, probs(theta), 20, seed=0)
    with pytest.raises(InvalidInputError, match="estimator"):
        E.estimate_gradient(ro, theta, estimator="ppo")
    with pytest.raises(InvalidInputError, match="values"):
        E.estimate_gradient(ro, theta, estimator="gae")
    with pytest.raises(InvalidInputError, match="clip"):
        E.estimate_gradient(ro, theta, clip=2.0)
    with pytest.raises(InvalidInputError, match="clip"):
        E.estimate_gradient(ro, theta, behavior=probs(theta), clip=-1.0)
    with pytest.raises(InvalidInputError, match="baseline"):
        E.estimate_gradient(ro, theta, baseline=np.ones(3))
    with pytest.raises(InvalidInputError, match="baseline"):
        E.estimate_gradient(ro, theta, estimator="reinforce", baseline=ev.v)
    with pytest.raises(InvalidInputError, match="baseline"):
        E.estimate_gradient(ro, theta, baseline="best")
    with pytest.raises(InvalidInputError, match="behavior"):
        E.estimate_gradient(ro, theta, behavior=np.ones((2, 2)))
    with pytest.raises(InvalidInputError, match="parametrization"):
        E.estimate_gradient(ro, probs(theta), "direct")
    with pytest.raises(InvalidInputError, match="lambda_"):
        E.gae(np.zeros(3), np.zeros(4), np.ones(3), 1.5)
    with pytest.raises(InvalidInputError, match="v_t"):
        E.gae(np.zeros(3), np.zeros(3), np.ones(3), 0.5)
    with pytest.raises(InvalidInputError, match="discount_t"):
        E.td_errors(np.zeros(3), np.zeros(4), np.ones(2))
    with pytest.raises(InvalidInputError, match="method"):
        E.run("adam", E.TabularOracle(m), np.zeros(12), 1)
    with pytest.raises(InvalidInputError, match="sigma"):
        E.GaussianBanditOracle(np.zeros(1), sigma=0.0)


@pytest.mark.kernels("score_accumulate")
def test_score_sum_backends_agree(backend):
    m, theta, _, _ = _fixed_case()
    ro = sample_trajectories(m, probs(theta), 300, seed=4)
    W = np.random.default_rng(0).normal(size=ro.actions.shape)
    a = E.score_sum(ro, W, theta, backend=backend.name)
    b = E.score_sum(ro, W, theta, backend="numpy")
    # same sums in a different order: round-off ~ L * eps * max|W| ~ 1e-13
    assert np.allclose(a, b, atol=1e-11)
    phi = np.random.default_rng(1).normal(size=(4, 3, 2))
    th = np.array([0.3, -0.2])
    assert np.allclose(E.score_sum(ro, W, th, "loglinear", phi=phi, backend=backend.name),
                       E.score_sum(ro, W, th, "loglinear", phi=phi, backend="numpy"), atol=1e-11)
