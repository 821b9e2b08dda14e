"""Exact policy gradients vs finite differences, natural gradients, bandit closed forms."""

import numpy as np
import pytest
from conftest import small_mdps
from hypothesis import given, settings
from hypothesis import strategies as st

import mdpgrad
from mdpgrad import envs
from mdpgrad.policies import fisher_information, natural_gradient, probs

H = 1e-6  # central differences: truncation O(H^2 |V'''|) ~ 1e-12, round-off O(eps |V| / H) ~ 1e-10


def fd_grad(f, theta):
    g = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        tp, tm = theta.copy(), theta.copy()
        tp[idx] += H
        tm[idx] -= H
        g[idx] = (f(tp) - f(tm)) / (2 * H)
    return g


def value(mdp, pi):
    return mdpgrad.evaluate(mdp, pi, check=False).value


@settings(max_examples=20)
@given(small_mdps(), st.integers(0, 2**31 - 1))
def test_softmax_gradient_matches_finite_differences(mdp, seed):
    theta = np.random.default_rng(seed).normal(size=mdp.shape)
    g = mdpgrad.policy_gradient(mdp, theta)
    fd = fd_grad(lambda t: value(mdp, probs(t)), theta)
    scale = (1 + mdp.r_max) / (1 - mdp.gamma) ** 2
    assert np.max(np.abs(g - fd)) <= 1e-7 * scale


@settings(max_examples=20)
@given(small_mdps(), st.integers(0, 2**31 - 1))
def test_direct_gradient_matches_finite_differences(mdp, seed):
    # Directional derivatives along the simplex tangent space (V is defined on the simplex only).
    rng = np.random.default_rng(seed)
    S, A = mdp.shape
    pi = rng.dirichlet(np.ones(A), size=S) * 0.8 + 0.2 / A
    g = mdpgrad.policy_gradient(mdp, pi, "direct")
    d = rng.normal(size=(S, A))
    d -= d.mean(axis=1, keepdims=True)
    d *= 0.1 / max(1.0, np.abs(d).max())
    fd = (value(mdp, pi + H * d) - value(mdp, pi - H * d)) / (2 * H)
    scale = (1 + mdp.r_max) / (1 - mdp.gamma) ** 2
    assert np.sum(g * d) == pytest.approx(fd, abs=1e-7 * scale)


@settings(max_examples=15)
@given(small_mdps(), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_loglinear_gradient_matches_finite_differences(mdp, d, seed):
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=mdp.shape + (d,))
    theta = rng.normal(size=d)
    g = mdpgrad.policy_gradient(mdp, theta, "loglinear", phi=phi)
    fd = fd_grad(lambda t: value(mdp, probs(t, "loglinear", phi=phi)), theta)
    scale = (1 + mdp.r_max) / (1 - mdp.gamma) ** 2 * (1 + np.abs(phi).max())
    assert np.max(np.abs(g - fd)) <= 1e-7 * scale


def test_softmax_bandit_closed_form():
    bandit = envs.multi_armed_bandit(6, seed=0)
    mdp = envs.bandit_mdp(bandit)
    theta = np.random.default_rng(1).normal(size=6)
    pi = mdpgrad.softmax(theta)
    closed = pi * (bandit.means - pi @ bandit.means)
    assert np.allclose(bandit.softmax_gradient(theta), closed, atol=1e-15)
    # The MDP view (one context state + absorbing state, gamma = 0) gives the same gradient.
    full = np.zeros((2, 6))
    full[0] = theta
    g = mdpgrad.policy_gradient(mdp, full)
    assert np.allclose(g[0], closed, atol=1e-14)
    assert np.allclose(g[1], 0.0, atol=1e-15)


def test_contextual_bandit_closed_form():
    cb = envs.contextual_bandit(3, 4, seed=2)
    theta = np.random.default_rng(3).normal(size=(3, 4))
    g = mdpgrad.policy_gradient(envs.bandit_mdp(cb), np.vstack([theta, np.zeros(4)]))
    assert np.allclose(g[:3], cb.softmax_gradient(theta), atol=1e-14)


def test_fisher_and_natural_gradient_softmax():
    mdp = envs.garnet(5, 3, 3, gamma=0.9, seed=4)
    theta = np.random.default_rng(0).normal(size=(5, 3))
    F = fisher_information(mdp, theta)
    assert np.allclose(F, F.T) and np.min(np.linalg.eigvalsh(F)) >= -1e-14
    w = natural_gradient(mdp, theta)
    adv = mdpgrad.evaluate(mdp, probs(theta)).advantage
    # Kakade 2001 / Agarwal et al. 2021: w = A/(1-gamma) up to a per-state constant.
    diff = w - adv / (1 - mdp.gamma)
    assert np.allclose(diff - diff.mean(axis=1, keepdims=True), 0.0, atol=1e-8)
    # So the natural-gradient step is the multiplicative-weights NPG update.
    eta = 0.3
    pi_ng = probs(theta + eta * w)
    pi_mw = probs(theta) * np.exp(eta * adv / (1 - mdp.gamma))
    pi_mw /= pi_mw.sum(axis=1, keepdims=True)
    assert np.allclose(pi_ng, pi_mw, atol=1e-10)


def test_loglinear_fisher_matches_score_outer_product():
    mdp = envs.garnet(4, 3, 2, gamma=0.8, seed=6)
    rng = np.random.default_rng(1)
    phi = rng.normal(size=(4, 3, 2))
    theta = rng.normal(size=2)
    F = fisher_information(mdp, theta, "loglinear", phi=phi)
    pi = probs(theta, "loglinear", phi=phi)
    d = mdpgrad.evaluate(mdp, pi).occupancy
    ref = np.zeros((2, 2))
    for s in range(4):
        for a in range(3):
            sc = phi[s, a] - pi[s] @ phi[s]
            ref += d[s] * pi[s, a] * np.outer(sc, sc)
    assert np.allclose(F, ref, atol=1e-14)


def test_parametrization_errors():
    mdp = envs.garnet(3, 2, 2, gamma=0.9, seed=0)
    with pytest.raises(mdpgrad.InvalidInputError, match="parametrization"):
        mdpgrad.policy_gradient(mdp, np.zeros((3, 2)), "tanh")
    with pytest.raises(mdpgrad.InvalidInputError, match="phi"):
        mdpgrad.policy_gradient(mdp, np.zeros(2), "loglinear")
    with pytest.raises(mdpgrad.InvalidPolicyError, match="theta"):
        mdpgrad.policy_gradient(mdp, np.full((3, 2), 0.7), "direct")
    with pytest.raises(mdpgrad.InvalidInputError, match="theta"):
        mdpgrad.policy_gradient(mdp, np.zeros((4, 2)))
