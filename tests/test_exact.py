"""Exact evaluation and optimal control."""

import numpy as np
import pytest
from conftest import small_mdps
from hypothesis import given

import mdpgrad
from mdpgrad import envs
from mdpgrad.exact import bellman_operator, bellman_optimality_operator, policy_matrices


def random_policy(rng, S, A):
    return rng.dirichlet(np.ones(A), size=S)


@given(small_mdps())
def test_evaluation_identities(mdp):
    rng = np.random.default_rng(0)
    pi = random_policy(rng, mdp.n_states, mdp.n_actions)
    ev = mdpgrad.evaluate(mdp, pi)
    scale = 1 + np.abs(ev.v).max()
    # Round-off: cond(I - gamma P_pi) <= (1 + gamma)/(1 - gamma) <= 39 in inf-norm; 1e-12 relative is ~1e4 eps.
    assert np.max(np.abs(bellman_operator(mdp, pi, ev.v) - ev.v)) <= 1e-12 * scale
    assert ev.occupancy.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(ev.occupancy >= -1e-15)
    assert np.allclose(np.sum(pi * ev.advantage, axis=1), 0.0, atol=1e-12 * scale)
    assert ev.value == pytest.approx(mdp.rho @ ev.v, abs=1e-14 * scale)
    # Value = expected discounted reward under the occupancy: rho.v = <d, r_pi>/(1-gamma).
    _, r_pi = policy_matrices(mdp, pi)
    assert ev.value == pytest.approx(ev.occupancy @ r_pi / (1 - mdp.gamma), rel=1e-10, abs=1e-12)


def test_evaluation_matches_monte_carlo_free_closed_form():
    # Two-state chain: state 0 -> 1 deterministic, 1 absorbing with reward 1 each step.
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = 1
    P[1, 0, 1] = 1
    r = np.array([[0.0], [1.0]])
    mdp = mdpgrad.TabularMDP(P, r, 0.5, rho=[1.0, 0.0])
    ev = mdpgrad.evaluate(mdp, np.ones((2, 1)))
    assert ev.v == pytest.approx([1.0, 2.0])
    # d = (1-g) sum_t g^t Pr(s_t): state 0 only at t=0.
    assert ev.occupancy == pytest.approx([0.5, 0.5])


def test_batched_evaluation_equals_loop():
    mdp = envs.garnet(12, 3, 4, gamma=0.9, seed=3)
    rng = np.random.default_rng(1)
    pis = rng.dirichlet(np.ones(3), size=(7, 12))
    batch = mdpgrad.evaluate(mdp, pis)
    for b in range(7):
        one = mdpgrad.evaluate(mdp, pis[b])
        assert np.allclose(batch.v[b], one.v, atol=1e-12)
        assert np.allclose(batch.q[b], one.q, atol=1e-12)
        assert np.allclose(batch.occupancy[b], one.occupancy, atol=1e-13)
        assert batch.value[b] == pytest.approx(one.value, abs=1e-12)


@given(small_mdps())
def test_solvers_agree_and_certify(mdp):
    res = {m: mdpgrad.solve(mdp, m, tol=1e-10) for m in ("policy_iteration", "value_iteration", "linear_programming")}
    ref = res["policy_iteration"]
    assert ref.converged
    # The optimal value is a fixed point of T and the greedy policy attains it.
    assert np.max(np.abs(bellman_optimality_operator(mdp, ref.v) - ref.v)) <= 1e-10 * (1 + np.abs(ref.v).max())
    for name, r in res.items():
        assert r.converged, name
        assert np.max(np.abs(r.v - ref.v)) <= 2e-10 * (1 + np.abs(ref.v).max()), name
        assert np.allclose(r.policy.sum(axis=1), 1) and set(np.unique(r.policy)) <= {0.0, 1.0}
        v_pol = mdpgrad.evaluate(mdp, r.policy).v
        assert np.max(np.abs(v_pol - ref.v)) <= 1e-8 * (1 + np.abs(ref.v).max()), name


def test_value_iteration_error_bound_is_true_error():
    mdp = envs.garnet(60, 4, 6, gamma=0.99, seed=5)
    ref = mdpgrad.solve(mdp, "policy_iteration").v
    for tol in (1e-2, 1e-5, 1e-8):
        res = mdpgrad.solve(mdp, "value_iteration", tol=tol)
        assert res.converged and res.error_bound <= tol
        assert np.max(np.abs(res.v - ref)) <= tol
    # A budget too small to certify is reported, not hidden.
    res = mdpgrad.solve(mdp, "value_iteration", tol=1e-10, max_iter=5)
    assert not res.converged and res.error_bound > 1e-10


def test_optimal_beats_random_policies():
    mdp = envs.gridworld(4, 4, gamma=0.9, walls=[(1, 1)])
    vstar = mdpgrad.solve(mdp).v
    rng = np.random.default_rng(0)
    for _ in range(20):
        v = mdpgrad.evaluate(mdp, random_policy(rng, mdp.n_states, 4)).v
        assert np.all(v <= vstar + 1e-10)


def test_entropy_regularized_evaluation():
    """evaluate(tau=) solves v = r_pi + tau H(pi) + gamma P_pi v; at the soft-optimal policy
    softmax(Q*_tau / tau) it reproduces the soft optimum V*_tau (soft Bellman fixed point)."""
    from mdpgrad.regularized import soft_optimum

    mdp = envs.garnet(8, 3, 3, gamma=0.9, seed=11)
    tau = 0.3
    rng = np.random.default_rng(2)
    pi = random_policy(rng, 8, 3)
    ev = mdpgrad.evaluate(mdp, pi, tau=tau)
    P_pi, r_pi = policy_matrices(mdp, pi)
    H = -np.sum(pi * np.log(pi), axis=1)
    assert np.max(np.abs(r_pi + tau * H + mdp.gamma * P_pi @ ev.v - ev.v)) <= 1e-12
    assert np.allclose(ev.q, mdp.r + mdp.gamma * mdp.P @ ev.v, atol=1e-13)
    opt = soft_optimum(mdp, tau, tol=1e-12)
    pi_star = mdpgrad.softmax(opt.q / tau)
    assert np.max(np.abs(mdpgrad.evaluate(mdp, pi_star, tau=tau).v - opt.v)) <= 1e-9
    # tau = 0 is plain evaluation; bad tau and unsupported combinations are refused by name.
    assert np.array_equal(mdpgrad.evaluate(mdp, pi, tau=0.0).v, mdpgrad.evaluate(mdp, pi).v)
    with pytest.raises(mdpgrad.InvalidInputError, match="tau"):
        mdpgrad.evaluate(mdp, pi, tau=-1.0)
    with pytest.raises(mdpgrad.InvalidInputError, match="tau"):
        mdpgrad.evaluate(mdp, np.stack([pi, pi]), tau=0.1)


def test_independent_policy_batch_uses_one_compiled_lu_each(monkeypatch):
    import mdpgrad.exact as sb

    mdp = envs.garnet(20, 3, 20, gamma=0.95, seed=2)
    pis = np.random.default_rng(4).dirichlet(np.ones(3), size=(9, 20))
    monkeypatch.setattr(sb, "evaluate_batch", lambda *a, **k: pytest.fail("independent policies: no Woodbury"))
    ev = mdpgrad.evaluate(mdp, pis)
    for b in range(9):
        one = mdpgrad.evaluate(mdp, pis[b])
        # Both are LAPACK LU solves of the same systems (cond <= (1+gamma)/(1-gamma) = 39): ~1e-13 on |v| <= 20.
        for f in ("v", "q", "advantage", "occupancy", "value"):
            assert np.max(np.abs(getattr(ev, f)[b] - getattr(one, f))) <= 1e-12, f
