"""mdpgrad.valuation: the building blocks of the policy-evaluation claims."""

import numpy as np
import pytest
import scipy.integrate
import scipy.special

from mdpgrad.errors import InvalidInputError
from mdpgrad.valuation import (
    ggd_variance,
    huber,
    huber_saddle_gda,
    latent_td_successor,
    tree_leaf_probabilities,
    tree_softmax_pg,
    tree_uniform_values,
)


def test_tree_values_and_pg_on_a_small_tree():
    children = [[1, 2], [3, 4], [], [], []]
    reward = np.array([0.0, 0.0, 0.0, 1.0, 0.0])
    v = tree_uniform_values(children, reward)
    assert np.allclose(v, [0.25, 0.5, 0.0, 1.0, 0.0])
    p = tree_leaf_probabilities(children, lambda u: np.zeros(len(children[u])))
    assert np.allclose(p, [1.0, 0.5, 0.5, 0.25, 0.25])
    assert tree_softmax_pg(children, reward, 200, 5.0)[3] > 0.9


def test_ggd_variance_matches_quadrature_and_validates():
    a, b = 0.7, 1.3
    pdf = lambda x: b / (2 * a * scipy.special.gamma(1 / b)) * np.exp(-((np.abs(x) / a) ** b))  # noqa: E731
    val, _ = scipy.integrate.quad(lambda x: 2 * x**2 * pdf(x), 0, np.inf)
    assert abs(val - ggd_variance(a, b)) < 1e-10
    with pytest.raises(InvalidInputError, match="beta"):
        ggd_variance(1.0, 0.0)


def test_huber_saddle_matches_direct_minimizer_on_identity_design():
    # M = I: the Huber-BE minimizer is theta = r (delta = 0)
    r = np.array([1.0, -2.0, 0.5])
    th = huber_saddle_gda(np.eye(3), r, np.ones(3) / 3, 1.0, 5000, alpha=1.0, beta=0.5)
    assert np.allclose(th, r, atol=1e-8)
    assert huber(np.array([0.5, 3.0]), 1.0).tolist() == [0.125, 2.5]
    with pytest.raises(InvalidInputError, match="dual_box"):
        huber_saddle_gda(np.eye(3), r, np.ones(3) / 3, 1.0, 10, 1.0, 0.5, dual_box=-1.0)


def test_latent_td_zero_init_stays_collapsed():
    P = np.full((4, 4), 0.25)
    Phi, Psi = latent_td_successor(P, 0.9, np.zeros((4, 2)), np.zeros((4, 2)), 10, 0.1)
    assert np.abs(Phi).max() == 0.0
    with pytest.raises(InvalidInputError, match="gamma"):
        latent_td_successor(P, 1.0, Phi, Psi, 1, 0.1)
