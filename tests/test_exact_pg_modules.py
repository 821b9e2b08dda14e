"""Regularized (soft) values and finite-horizon exact PG."""

from __future__ import annotations

import numpy as np
import pytest

from mdpgrad import FiniteHorizonMDP, envs, optimize, solve
from mdpgrad.errors import InvalidInputError, InvalidMDPError
from mdpgrad.finite_horizon import (
    dynamic_pg,
    fh_evaluate,
    fh_optimal,
    fh_policy_gradient,
    simultaneous_pg,
)
from mdpgrad.policies import softmax
from mdpgrad.regularized import soft_evaluate, soft_optimum


@pytest.fixture
def fmdp():
    rng = np.random.default_rng(7)
    H, S, A = 4, 3, 2
    return FiniteHorizonMDP(rng.dirichlet(np.ones(S), size=(H, S, A)), rng.random((H, S, A)))


def test_soft_optimum_satisfies_soft_bellman_and_tends_to_hard_optimum():
    mdp = envs.garnet(6, 3, 3, gamma=0.9, seed=1)
    tau = 0.5
    so = soft_optimum(mdp, tau, tol=1e-13)
    q = mdp.r + mdp.gamma * mdp.P @ so.v
    lse = tau * np.log(np.sum(np.exp(q / tau), axis=1))
    # certified sup error 1e-13; the residual of a gamma-contraction is <= (1+gamma) * error.
    assert np.max(np.abs(lse - so.v)) < 1e-12
    # V*_tau - V* in [0, tau log A / (1 - gamma)] (entropy bonus bounded by log A per step)
    vstar = solve(mdp).v
    diff = so.v - vstar
    assert np.all(diff >= -1e-10) and np.all(diff <= tau * np.log(3) / (1 - mdp.gamma) + 1e-10)
    small = soft_optimum(mdp, 1e-3)
    assert np.max(np.abs(small.v - vstar)) <= 1e-3 * np.log(3) / (1 - mdp.gamma) + 1e-9
    assert abs(soft_evaluate(mdp, so.policy, tau).value - so.value) < 1e-10


def test_soft_validation():
    mdp = envs.garnet(3, 2, 2, gamma=0.5, seed=0)
    with pytest.raises(InvalidInputError, match="tau"):
        soft_optimum(mdp, 0.0)
    with pytest.raises(InvalidInputError, match="tau"):
        soft_evaluate(mdp, np.full((3, 2), 0.5), "hot")
    with pytest.raises(InvalidInputError, match="tol"):
        soft_optimum(mdp, 0.1, tol=0.0)


def test_fh_gradient_matches_finite_differences(fmdp, rng):
    theta = rng.normal(size=(4, 3, 2))
    g = fh_policy_gradient(fmdp, theta)
    h = 1e-6
    for idx in [(0, 0, 0), (1, 2, 1), (3, 1, 0)]:
        tp, tm = theta.copy(), theta.copy()
        tp[idx] += h
        tm[idx] -= h
        fd = (fh_evaluate(fmdp, softmax(tp)).value - fh_evaluate(fmdp, softmax(tm)).value) / (2 * h)
        assert abs(fd - g[idx]) < 1e-8  # O(h^2) + O(eps H / h)


def test_fh_optimal_beats_random_policies(fmdp, rng):
    opt = fh_optimal(fmdp)
    for _ in range(50):
        pi = rng.dirichlet(np.ones(2), size=(4, 3))
        ev = fh_evaluate(fmdp, pi)
        assert np.all(ev.v[0] <= opt.v[0] + 1e-12)
    assert np.allclose(opt.d.sum(1), 1)


def test_dynamic_and_simultaneous_reach_eps(fmdp):
    rd = dynamic_pg(fmdp, lambda h: 2 * 3 / (5 * (4 - h)), eps=1e-3)
    assert rd.converged and rd.final_gap <= 1e-3 and rd.epoch_steps.shape == (4,)
    rs = simultaneous_pg(fmdp, 2 / (5 * 16), 1_000_000, eps=1e-3)
    assert rs.converged and rs.final_gap <= 1e-3
    via = optimize(fmdp, "dynamic_pg", n_iter=100_000, step_size=1.0, eps=1e-3)
    assert via.final_gap <= 1e-3


def test_fh_validation(fmdp):
    with pytest.raises(InvalidInputError, match="pi"):
        fh_evaluate(fmdp, np.ones((2, 3, 2)) / 2)
    with pytest.raises(InvalidMDPError, match="fmdp"):
        fh_optimal(envs.garnet(3, 2, 2, gamma=0.5, seed=0))
    with pytest.raises(InvalidInputError, match="step_size"):
        simultaneous_pg(fmdp, 0.0, 10)
    with pytest.raises(InvalidInputError, match="theta0"):
        dynamic_pg(fmdp, 1.0, theta0=np.zeros((1, 1, 1)))
    with pytest.raises(InvalidInputError, match="method"):
        optimize(fmdp, "npg", step_size=1.0)


def test_hard_chain_is_a_chain_with_point_mass_start():
    m = envs.hard_chain(5)
    assert m.rho[0] == 1.0 and m.gamma == 0.9 and m.shape == (5, 2)
    assert np.argmax(solve(m).policy[0]) == 1  # going right is optimal


def test_hard_chain_slowdown_needs_the_point_mass_start():
    """The substitution documented in softmax-pg-exponential-time: with the paper's uniform start distribution
    the same chain is fast for softmax PG (polynomial in S), with rho = e_0 it is not. Fails if hard_chain's
    growth stopped depending on rho (then the claim's notes would be wrong)."""
    from theory.exact_pg import _iters_to

    def pg(S, uniform):
        rho = np.full(S, 1.0 / S) if uniform else None
        return _iters_to(envs.hard_chain(S, rho=rho), "softmax_pg", 0.1, 0.1, 20_000)

    point = [pg(S, False) for S in (4, 8, 10)]
    unif = [pg(S, True) for S in (4, 8, 10)]
    assert np.allclose(point, [30, 115, 216], rtol=0.05) and np.allclose(unif, [19, 52, 75], rtol=0.05)
    # growth from S = 8 to 10: ~1.9x with the point mass, ~1.4x (power-law-like) with uniform rho
    assert point[2] / point[1] > 1.8 and unif[2] / unif[1] < 1.5
