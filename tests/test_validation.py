"""Every bad input raises a specific ValueError subclass naming the argument, index and fix."""

import numpy as np
import pytest

import mdpgrad
from mdpgrad import FeatureMDP, FiniteHorizonMDP, InvalidMDPError, InvalidPolicyError, TabularMDP


def good(S=3, A=2):
    P = np.full((S, A, S), 1.0 / S)
    r = np.zeros((S, A))
    return P, r


def test_invalid_mdp_error_is_value_error():
    assert issubclass(InvalidMDPError, ValueError)
    assert issubclass(InvalidPolicyError, ValueError)


def test_rows_not_summing_to_one_names_index_and_fix():
    P, r = good()
    P[1, 0, 0] += 1e-6
    with pytest.raises(InvalidMDPError, match=r"P\[1, 0\] sums to 1\.000001.*normalize it yourself"):
        TabularMDP(P, r, 0.9)


def test_row_sum_tolerance_is_1e8():
    P, r = good()
    P[0, 0, 0] += 5e-9  # within tolerance: accepted, and not renormalized
    mdp = TabularMDP(P, r, 0.9)
    assert mdp.P[0, 0].sum() == pytest.approx(1 + 5e-9, abs=1e-15)


def test_negative_entry():
    P, r = good()
    P[2, 1, 0] = -0.1
    P[2, 1, 1] += 0.1
    with pytest.raises(InvalidMDPError, match=r"P\[2, 1, 0\] = -0.1 is negative"):
        TabularMDP(P, r, 0.9)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_P_and_r(bad):
    P, r = good()
    P[0, 1, 2] = bad
    with pytest.raises(InvalidMDPError, match=r"P\[0, 1, 2\] = .* is not finite"):
        TabularMDP(P, r, 0.9)
    P, r = good()
    r[1, 1] = bad
    with pytest.raises(InvalidMDPError, match=r"r\[1, 1\] = .* is not finite"):
        TabularMDP(P, r, 0.9)


def test_shape_mismatches():
    P, r = good()
    with pytest.raises(InvalidMDPError, match=r"r: expected shape \(3, 2\)"):
        TabularMDP(P, r[:, :1], 0.9)
    with pytest.raises(InvalidMDPError, match=r"P: shape \(3, 2, 4\) is not \(S, A, S\)"):
        TabularMDP(np.full((3, 2, 4), 0.25), r, 0.9)
    with pytest.raises(InvalidMDPError, match=r"P: expected a 3-D array"):
        TabularMDP(np.eye(3), r, 0.9)


@pytest.mark.parametrize("gamma", [1.0, -0.1, 1.5, np.nan, "x"])
def test_gamma_outside_unit_interval(gamma):
    P, r = good()
    with pytest.raises(InvalidMDPError, match=r"gamma"):
        TabularMDP(P, r, gamma)


def test_rho_not_distribution():
    P, r = good()
    with pytest.raises(InvalidMDPError, match=r"rho sums to 0.9"):
        TabularMDP(P, r, 0.9, rho=[0.3, 0.3, 0.3])
    with pytest.raises(InvalidMDPError, match=r"rho\[1\] = -0.5 is negative"):
        TabularMDP(P, r, 0.9, rho=[1.0, -0.5, 0.5])
    with pytest.raises(InvalidMDPError, match=r"rho: expected shape \(3,\)"):
        TabularMDP(P, r, 0.9, rho=[0.5, 0.5])


def test_zero_states_or_actions():
    with pytest.raises(InvalidMDPError, match="zero states"):
        TabularMDP(np.zeros((0, 2, 0)), np.zeros((0, 2)), 0.9)
    with pytest.raises(InvalidMDPError, match="empty action set"):
        TabularMDP(np.zeros((3, 0, 3)), np.zeros((3, 0)), 0.9)


def test_arrays_are_frozen_copies():
    P, r = good()
    mdp = TabularMDP(P, r, 0.9)
    P[0, 0, 0] = 7.0
    assert mdp.P[0, 0, 0] == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        mdp.P[0, 0, 0] = 1.0


def test_policy_validation_in_evaluate():
    mdp = TabularMDP(*good(), 0.9)
    with pytest.raises(InvalidPolicyError, match=r"pi\[2\] sums to 0.5"):
        mdpgrad.evaluate(mdp, np.array([[0.5, 0.5], [1.0, 0.0], [0.25, 0.25]]))
    with pytest.raises(InvalidPolicyError, match=r"pi: expected shape \(3, 2\)"):
        mdpgrad.evaluate(mdp, np.full((2, 2), 0.5))
    with pytest.raises(InvalidPolicyError, match=r"pi\[0, 1\] = nan is not finite"):
        mdpgrad.evaluate(mdp, np.array([[0.5, np.nan], [0.5, 0.5], [0.5, 0.5]]))


def test_solve_bad_arguments():
    mdp = TabularMDP(*good(), 0.9)
    with pytest.raises(mdpgrad.InvalidInputError, match="method"):
        mdpgrad.solve(mdp, "simplex")
    with pytest.raises(mdpgrad.InvalidInputError, match="tol"):
        mdpgrad.solve(mdp, tol=-1)


def test_finite_horizon_validation():
    P, r = good()
    fh = FiniteHorizonMDP(P, r, horizon=4)
    assert fh.P.shape == (4, 3, 2, 3) and fh.horizon == 4
    with pytest.raises(InvalidMDPError, match="horizon"):
        FiniteHorizonMDP(P, r)
    Ph = np.stack([P, P])
    Ph[1, 0, 0, 0] = 0.9
    with pytest.raises(InvalidMDPError, match=r"P\[1, 0, 0\] sums to"):
        FiniteHorizonMDP(Ph, np.stack([r, r]))


def test_feature_mdp_validation():
    P, r = good()
    mdp = TabularMDP(P, r, 0.9)
    with pytest.raises(InvalidMDPError, match=r"phi: expected shape \(3, 2, d\)"):
        FeatureMDP(mdp, np.zeros((3, 3, 2)))
    # A linear MDP: every P[s, a] = mu (one feature), r = 0.
    phi = np.ones((3, 2, 1))
    fm = FeatureMDP(mdp, phi, mu=np.full((1, 3), 1 / 3), w=np.zeros(1))
    assert fm.is_linear_mdp and fm.gamma == 0.9
    with pytest.raises(InvalidMDPError, match="mu: phi . mu differs from P"):
        FeatureMDP(mdp, phi, mu=np.array([[1.0, 0.0, 0.0]]))


def test_env_argument_errors():
    from mdpgrad import envs

    with pytest.raises(InvalidMDPError, match="branching = 5 exceeds n_states = 3"):
        envs.garnet(3, 2, 5, gamma=0.9, seed=0)
    with pytest.raises(InvalidMDPError, match="n_actions"):
        envs.garnet(3, 0, 1, gamma=0.9, seed=0)
    with pytest.raises(mdpgrad.InvalidInputError, match="seed"):
        envs.garnet(3, 2, 1, gamma=0.9, seed=None)
    with pytest.raises(InvalidMDPError, match="slip"):
        envs.gridworld(3, 3, slip=1.5)
    with pytest.raises(InvalidMDPError, match="goal"):
        envs.gridworld(3, 3, walls=[(2, 2)])
    with pytest.raises(InvalidMDPError, match="empty action set"):
        envs.MultiArmedBandit(np.array([]))
