"""Unit tests for the methods moved from theory/ into the library (issue 15 follow-up): MDVI, PPO
surrogates, the newsvendor / HDPO code, the PROPS-style sampler, the many-actions Monte Carlo, the LQ
Gaussian sampler, the general-utility entropy PG and the TD(0) vs Huber-saddle comparison."""

import numpy as np
import pytest

from mdpgrad import envs, evaluate, probs
from mdpgrad.algorithms.general_utility import entropy_pseudo_reward, occupancy_entropy_momentum_pg
from mdpgrad.algorithms.mdvi import mdvi
from mdpgrad.errors import InvalidInputError
from mdpgrad.estimators import score_sum
from mdpgrad.estimators.lq_gaussian import LQGaussian, lq_gaussian_gradient_samples, lq_gaussian_value
from mdpgrad.estimators.many_actions import chain_sum_variance, many_actions_samples
from mdpgrad.estimators.newsvendor import hdpo_newsvendor, newsvendor_gradient_samples
from mdpgrad.estimators.ppo import ppo_surrogate_grads, ppo_surrogates
from mdpgrad.estimators.props import props_sampling_counts
from mdpgrad.robust_td import td0_and_huber_saddle
from mdpgrad.rollouts import Rollouts


def test_mdvi_update_identity_and_exact_convergence():
    mdp = envs.garnet(5, 3, 2, gamma=0.8, seed=0)
    _, hist = mdvi(mdp, 6, m_per_pair=3, alpha=0.7, beta=3.0, seed=1, record=True)
    for (pi_k, _), (pi_next, q_next) in zip(hist[:-1], hist[1:]):  # pi_{k+1} ~ pi_k^alpha exp(beta q_{k+1})
        t = pi_k[0] ** 0.7 * np.exp(3.0 * (q_next[0] - q_next[0].max(axis=1, keepdims=True)))
        np.testing.assert_allclose(t / t.sum(1, keepdims=True), pi_next[0], atol=1e-12)
    from mdpgrad import solve

    pi = mdvi(mdp, 300, m_per_pair=0, alpha=1.0, beta=50.0, seed=0)[0]
    assert np.max(solve(mdp).v - evaluate(mdp, pi).v) < 1e-3
    with pytest.raises(InvalidInputError, match="m_per_pair"):
        mdvi(mdp, 3, m_per_pair=-1, alpha=0.5, beta=1.0, seed=0)
    with pytest.raises(InvalidInputError, match="alpha"):
        mdvi(mdp, 3, m_per_pair=1, alpha=1.5, beta=1.0, seed=0)


def test_ppo_surrogates_gradient_identity_and_pessimism():
    rng = np.random.default_rng(0)
    K, n = 4, 200
    th_old = rng.normal(size=K)
    a = rng.integers(0, K, n)
    adv = rng.normal(size=n)
    g_cpi, g_clip = ppo_surrogate_grads(th_old, th_old, a, adv, eps=0.2)
    ro = Rollouts(np.zeros((n, 2), np.int32), a[:, None].astype(np.int32), adv[:, None], np.ones(n, np.int64),
                  "fixed", 0.0)
    pg = score_sum(ro, adv[:, None], th_old[None], backend="numpy").mean(0)[0]
    np.testing.assert_allclose(g_cpi, pg, atol=1e-12)
    np.testing.assert_allclose(g_clip, pg, atol=1e-12)
    th = th_old + rng.normal(size=K)
    cpi, clip, _ = ppo_surrogates(th, th_old, a, adv, eps=0.2)
    assert clip <= cpi + 1e-15
    h = 1e-6
    fd = [(ppo_surrogates(th + h * e, th_old, a, adv, eps=0.2)[1] - ppo_surrogates(th - h * e, th_old, a, adv,
                                                                                   eps=0.2)[1]) / (2 * h)
          for e in np.eye(K)]
    np.testing.assert_allclose(fd, ppo_surrogate_grads(th, th_old, a, adv, eps=0.2)[1], atol=1e-7)
    with pytest.raises(InvalidInputError, match="actions"):
        ppo_surrogates(th, th_old, np.array([0, K]), np.zeros(2), eps=0.2)
    with pytest.raises(InvalidInputError, match="eps"):
        ppo_surrogates(th, th_old, a, adv, eps=1.5)


def test_newsvendor_estimators_and_hdpo():
    rng = np.random.default_rng(1)
    n = 200_000
    D, xi = rng.uniform(0, 10, n), rng.standard_normal(n)
    score, path = newsvendor_gradient_samples(4.0, 1.0, D, xi, holding=1.0, shortage=3.0)
    # d/dtheta E c = h P(D < q) - p P(D > q) with q ~ N(4, 1), D ~ U(0, 10): h * 0.4 - p * 0.6 = -1.4
    assert abs(path.mean() + 1.4) < 5 * path.std() / np.sqrt(n)
    assert abs(score.mean() + 1.4) < 5 * score.std() / np.sqrt(n)
    traj = hdpo_newsvendor(2.0, rng.uniform(0, 10, 20_000), holding=1.0, shortage=3.0, step_scale=20.0)
    assert abs(traj[10_000:].mean() - 7.5) < 0.1  # q* = F^-1(p / (p + h)) = 7.5
    with pytest.raises(InvalidInputError, match="holding"):
        hdpo_newsvendor(2.0, D[:10], holding=0.0, shortage=3.0, step_scale=1.0)


def test_props_sampler_corrects_sampling_error():
    pi = np.array([0.1, 0.2, 0.3, 0.4])
    _, _, tv_iid, tv_ad = props_sampling_counts(pi, 1000, replicas=50, kappa=1.0, seed=0, check=[1000])
    assert tv_ad[-1] < 0.2 * tv_iid[-1]
    with pytest.raises(InvalidInputError, match="pi"):
        props_sampling_counts(np.array([0.0, 1.0]), 10, replicas=2, kappa=1.0, seed=0)


def test_many_actions_variances():
    rng = np.random.default_rng(2)
    S, A = 3, 2
    d = np.array([0.2, 0.3, 0.5])
    P_pi = np.tile(d, (S, 1))  # i.i.d. states: the chain sum's variance is L Var_d f
    f = rng.normal(size=(S, 2))
    var_f = float(np.sum(d @ (f - d @ f) ** 2))
    assert np.isclose(chain_sum_variance(P_pi, d, f, 7), 7 * var_f)
    pi = np.full((S, A), 0.5)
    h = rng.normal(size=(S, A, 2))
    ma, sa = many_actions_samples(h, pi, P_pi, d, n_states=4, m_actions=3, replicas=4000, seed=0)
    mean = np.einsum("s,sa,sad->d", d, pi, h)
    for est in (ma, sa):
        assert np.all(np.abs(est.mean(0) - mean) < 5 * est.std(0) / np.sqrt(4000))
    with pytest.raises(InvalidInputError, match="h"):
        many_actions_samples(h[:, :1], pi, P_pi, d, n_states=2, m_actions=2, replicas=2, seed=0)


def test_lq_gaussian_gradient_samples_match_closed_form():
    k, h = -0.6, 1e-6
    exact = (lq_gaussian_value(k + h) - lq_gaussian_value(k - h)) / (2 * h)
    g, gq = lq_gaussian_gradient_samples(k, 20_000, seed=3)
    for x in (g, gq):
        assert abs(x.mean() - exact) < 5 * x.std() / np.sqrt(x.size)
    with pytest.raises(InvalidInputError, match="k"):
        lq_gaussian_value(10.0, LQGaussian())


def test_general_utility_pseudo_reward_and_ascent():
    mdp = envs.garnet(4, 2, 2, gamma=0.9, seed=4)
    with pytest.raises(InvalidInputError, match="d"):
        entropy_pseudo_reward(np.array([0.5, 0.5, 0.0, 0.0]), 0.9, 2)
    th0 = 2.0 * np.random.default_rng(5).normal(size=(4, 2))
    thetas = occupancy_entropy_momentum_pg(mdp, th0, 10, n_traj=100, seed=0)

    def F(th):
        d = evaluate(mdp, probs(th)).occupancy
        return float(-np.sum(d * np.log(d)))

    assert thetas.shape == (11, 4, 2) and F(thetas[-1]) > F(thetas[0])


def test_td0_and_huber_saddle_shapes_and_validation():
    P = np.array([[0.5, 0.5], [0.2, 0.8]])
    th_td, th_hb = td0_and_huber_saddle(P, np.array([1.0, 0.0]), np.eye(2), 0.9, replicas=5, n_steps=50,
                                        step_size=0.05, seed=0)
    assert th_td.shape == th_hb.shape == (5, 2) and np.all(np.isfinite(th_hb))
    with pytest.raises(InvalidInputError, match="P"):
        td0_and_huber_saddle(np.array([[0.5, 0.6], [0.2, 0.8]]), np.zeros(2), np.eye(2), 0.9, replicas=1,
                             n_steps=1, step_size=0.1, seed=0)
