"""Robust-topic claims at the quick budget, the notebook, and the DR-RPO / ECRM modules."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from conftest import check_notebook

from mdpgrad.claims import registry, run_claim
from mdpgrad.errors import InvalidInputError

ROOT = pathlib.Path(__file__).resolve().parents[1]

EXPECTED = {
    "robust-bellman-contraction": "holds",
    "robust-radius-monotone": "holds",
    "drpg-global": "holds",
    "rmdp-risk-equivalence": "holds",
    "drrpo-robust-linear-regret": "holds",
    "ecrm-risk-pg-global": "holds",
    "srpo-robust-offline-equiv": "holds",
}


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_robust_claims_quick(cid):
    claims = {c.id: c for c in registry() if c.topic == "robust"}
    assert set(EXPECTED) <= set(claims)
    c = claims[cid]
    assert c.expected == EXPECTED[cid] and c.controls
    rec = run_claim(c, "quick", controls=False)  # the controls run in tests/test_catalogue_verdicts.py
    assert rec.verdict.verdict == EXPECTED[cid], rec.verdict.details
    assert rec.verdict.figure is not None and rec.verdict.rule


def test_risk_averse_pg_reaches_dp_optimum_and_softmax_runs():
    """The library ECRM policy gradient (moved out of the claim): direct PG with exploratory restarts reaches
    the DP optimum; the softmax parameterization decreases the cost."""
    from mdpgrad.mdp import FiniteHorizonMDP
    from mdpgrad.robust.ecrm import augmented_dp, ecrm_problem, risk_averse_pg

    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=(2, 3, 2))
    c = np.round(rng.uniform(0, 1, size=(2, 3, 2)), 1)
    prob = ecrm_problem(FiniteHorizonMDP(P, c), 0.8, 0.5)
    J_star, _, _ = augmented_dp(prob)
    run = risk_averse_pg(prob, 300, step=20.0, explore=1.0)
    assert run.costs.shape == (301,) and run.costs[-1] - J_star < 1e-6
    sm = risk_averse_pg(prob, 50, step=10.0, param="softmax", explore=1.0)
    assert sm.costs[-1] < sm.costs[0]
    with pytest.raises(InvalidInputError, match="param"):
        risk_averse_pg(prob, 5, step=1.0, param="natural")


def test_dr_rpo_radius_hook_validated():
    from mdpgrad.robust.linear import dr_rpo, risky_safe_linear_mdp

    with pytest.raises(InvalidInputError, match="radius"):
        dr_rpo(risky_safe_linear_mdp(3), 2, radius=1.5, seed=0)


def test_notebook_executes():
    check_notebook("notebooks/05_robust_mdps.ipynb")


def test_tv_dual_estimate_is_exact_with_exact_expectations():
    """With Lambda^{-1} B replaced by the true factors, the TV dual gives the sorting solution."""
    from mdpgrad.robust.linear import _estimate_sigma, _sigma_true, d_rectangular_mdp

    m = d_rectangular_mdp(6, 3, 3, 3, rho=0.25, seed=3)
    V = np.random.default_rng(0).normal(size=6)
    est = _estimate_sigma(np.eye(3), m.mu, V, m.rho)
    assert np.max(np.abs(est - _sigma_true(m, V))) <= 1e-12


def test_drrpo_validation_and_optimum():
    from mdpgrad.robust.linear import d_rectangular_mdp, dr_rpo, robust_regularized_dp, robust_regularized_value

    with pytest.raises(InvalidInputError, match="rho"):
        d_rectangular_mdp(rho=1.5)
    with pytest.raises(InvalidInputError, match="lam"):
        d_rectangular_mdp(lam=0.0)
    m = d_rectangular_mdp(5, 2, 3, 3, seed=1)
    with pytest.raises(InvalidInputError, match="method"):
        dr_rpo(m, 5, method="ppo")
    V, pi = robust_regularized_dp(m)
    # the soft-greedy DP policy attains the optimum, and perturbing it can only lose value
    assert abs(robust_regularized_value(m, pi) - V[0, 0]) <= 1e-12
    pert = 0.9 * pi + 0.1 * m.pi_ref[None]
    assert robust_regularized_value(m, pert) <= V[0, 0] + 1e-12


def test_ecrm_identity_and_validation():
    from mdpgrad.mdp import FiniteHorizonMDP
    from mdpgrad.robust.ecrm import (
        augmented_dp,
        augmented_evaluate,
        cvar,
        ecrm_objective,
        ecrm_problem,
        markov_to_augmented,
    )

    # CVaR_0.5 of a fair coin on {0, 1} is 1 (the upper half)
    assert abs(cvar([0.0, 1.0], [0.5, 0.5], 0.5) - 1.0) < 1e-15
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=(2, 3, 2))
    c = np.round(rng.uniform(size=(2, 3, 2)), 1)
    m = FiniteHorizonMDP(P, c)
    with pytest.raises(InvalidInputError, match="alpha"):
        ecrm_problem(m, 1.0, 0.5)
    with pytest.raises(InvalidInputError, match="lam"):
        ecrm_problem(m, 0.5, 2.0)
    prob = ecrm_problem(m, 0.7, 0.5)
    pi = rng.dirichlet(np.ones(2), size=(2, 3))
    aug, p0 = markov_to_augmented(prob, pi)
    assert abs(ecrm_objective(prob, pi) - augmented_evaluate(prob, aug, p0)[0]) <= 1e-12
    J_star, pi_s, p0_s = augmented_dp(prob)
    assert abs(augmented_evaluate(prob, pi_s, p0_s)[0] - J_star) <= 1e-12
    assert J_star <= ecrm_objective(prob, pi) + 1e-12
