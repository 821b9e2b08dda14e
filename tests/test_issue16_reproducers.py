"""The numbered reproducers of issue 16: each must raise a named error (a ValueError subclass from
``mdpgrad.errors``). The ones that crashed the process on the old code (1 and 2) also run in a
subprocess in ``tests/test_fuzz.py``."""

from __future__ import annotations

import numpy as np
import pytest

import mdpgrad
from mdpgrad import bandits, envs, errors, estimators, games, robust, rollouts, sparse, td
from mdpgrad.finite_horizon import fh_evaluate
from mdpgrad.robust import UncertaintySet


@pytest.fixture(scope="module")
def m():
    return envs.garnet(4, 3, 2, gamma=0.9, seed=0)


U = UncertaintySet("l1", 0.2)
u = np.full((4, 3), 1 / 3)
p_bad, v3 = np.array([0.5, 0.3, 0.7]), np.array([0.0, 1, 2])
G3 = np.array([[0.5, 0.7, 0.2], [0.3, 0.5, 0.6], [0.8, 0.4, 0.5]])

def _worst(kind):
    def call(m):
        return getattr(robust, f"worst_case_{kind}")(p_bad, v3, 0.2)
    return call


CASES = {
    "1-s0-too-large": lambda m: td.sample_transitions(m, u, 20, s0=4),
    "1-s0-negative": lambda m: td.sample_transitions(m, u, 20, s0=-3),
    "2-theta-shape": lambda m: estimators.estimate_gradient(
        rollouts.sample_trajectories(m, u, 50, horizon="fixed", length=6), np.zeros((3, 2))),
    "3-tol-below-floor": lambda m: robust.robust_policy_iteration(m, U, tol=1e-16),
    "4-theta0-none": lambda m: estimators.run_stochastic("pg", estimators.GaussianBanditOracle(np.array([1.0, -1])), None, 5),
    "4-n-iter": lambda m: estimators.run_stochastic("pg", estimators.GaussianBanditOracle(np.array([1.0, -1])), np.zeros(2), -1),
    "5-policy-rows": lambda m: mdpgrad.bellman_operator(m, np.full((4, 3), 0.9), np.ones(4)),
    **{f"6-{k}": _worst(k) for k in ("l1", "linf", "l2", "kl", "chi2", "contamination")},
    "6-nan": lambda m: robust.worst_case_l1(np.array([np.nan, 0.3, 0.7]), v3, 0.2),
    "7-fh-policy": lambda m: fh_evaluate(mdpgrad.FiniteHorizonMDP(m.P, m.r, horizon=3), np.full((3, 4, 3), 0.9)),
    "8-max-iter-0": lambda m: robust.robust_evaluate(m, U, u, max_iter=0),
    "9-exploitability": lambda m: games.exploitability(np.full((3, 3), 7.0), np.array([2.0, -1, 0])),
    "9-regularized-nash": lambda m: games.regularized_nash(games.preference_game(G3, None, 0.1), tol=-1,
                                                            max_iter=-5),
    "9-spo-nan": lambda m: games.spo_selfplay(np.full((3, 3), np.nan), 5, 4, 0),
    "10-pmd-huge-step": lambda m: mdpgrad.optimize(m, "pmd", n_iter=5, step_size=1e300, bregman="euclidean"),
    "11-goal": lambda m: envs.gridworld(3, 3, gamma=0.9, goal=(7, 7)),
    "11-kind": lambda m: envs.contextual_bandit(2, 3, seed=0, kind="bogus"),
    "12-solve-max-iter": lambda m: mdpgrad.solve(m, "vi", max_iter=-1),
    "12-sparse-max-iter": lambda m: sparse.solve(sparse.to_sparse(m), max_iter=np.nan),
    "12-robust-huge-tol": lambda m: robust.robust_value_iteration(m, U, tol=1e300),
    "13-eta-nan": lambda m: estimators.stochastic_pmd_step(m, np.zeros((4, 3)), np.nan, 2, 0),
    "13-eta-negative": lambda m: estimators.stochastic_pmd_step(m, np.zeros((4, 3)), -1, 2, 0),
    "13-oracle": lambda m: estimators.GaussianBanditOracle(np.array([1.0, -1]), sigma=np.inf, noise=-0.1),
    "14-ridge-nan": lambda m: td.lstd(np.eye(4), np.ones(4), np.eye(4), discount_t=0.9, ridge=np.nan),
    "14-ridge-negative": lambda m: td.lstd(np.eye(4), np.ones(4), np.eye(4), discount_t=0.9, ridge=-5),
    "14-maxk": lambda m: bandits.maxk_exact(np.array([0.5, 0.5, 0.5]), v3, 2),
    "14-eps": lambda m: bandits.group_advantages(np.ones((2, 4)), eps=-1),
    "14-nan-logits": lambda m: bandits.sample_actions(np.array([[np.nan, 0.0]]), 3, 0),
    "15-complex": lambda m: mdpgrad.TabularMDP(m.P.astype(complex) + 1j, m.r, 0.9),
    "16-memory": lambda m: rollouts.sample_trajectories(m.replace(gamma=0.999999), u, 1000),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reproducer_raises_a_named_error(name, m):
    with pytest.raises(errors.MdpgradError) as info:
        CASES[name](m)
    assert isinstance(info.value, ValueError)


def test_memory_error_names_size_and_knob(m):
    with pytest.raises(errors.AllocationTooLargeError, match="GiB.*reduce n"):
        rollouts.sample_trajectories(m.replace(gamma=0.999999), u, 1000)
