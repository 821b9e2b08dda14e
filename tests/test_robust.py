"""Tests of mdpgrad.robust: exact inner solvers vs generic solvers, robust DP, DRPG, risk."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from conftest import small_mdps
from hypothesis import given
from hypothesis import strategies as st

import mdpgrad
from mdpgrad import envs
from mdpgrad.errors import InvalidInputError, InvalidPolicyError
from mdpgrad.robust import (
    KINDS,
    InvalidUncertaintySetError,
    UncertaintySet,
    drpg,
    entropic_evaluate,
    entropic_risk,
    kl_regularized_inner,
    kl_regularized_robust_evaluate,
    project_simplex,
    regularized_policy_gradient,
    robust_bellman_operator,
    robust_evaluate,
    robust_policy_iteration,
    robust_value_iteration,
    worst_case,
    worst_case_values,
)
from mdpgrad.robust.reference import divergence, reference_inner

# ---------------------------------------------------------------------------------------
# instances
# ---------------------------------------------------------------------------------------


@st.composite
def inner_instances(draw, kind):
    """A row p (some zeros, some ties in v) and a radius suited to the set."""
    S = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(S, 0.7))
    if draw(st.booleans()):
        p = np.where(rng.random(S) < 0.3, 0.0, p)
        if p.sum() == 0:
            p[0] = 1.0
        p = p / p.sum()
    decimals = draw(st.integers(0, 3))  # few decimals -> ties in v
    v = np.round(rng.normal(size=S) * 3.0, decimals)
    if kind == "contamination":
        radius = draw(st.floats(0.0, 1.0))
    else:
        radius = draw(st.sampled_from([0.0, 0.01, 0.1, 0.3, 1.0, 2.5]))
    return p, v, radius


# Tolerances. Exact solvers work in float64 on O(1) data: their values are accurate to
# ~S * eps * max|v| ~ 1e-14. HiGHS (linprog) reaches its default feasibility/optimality
# tolerance 1e-7 on the objective or better; the 1e-7 is used for all kinds.
# Feasibility of the exact q: the divergences are computed from q in float64, so
# D(q, p) <= radius + 1e-9 allows for the round-off of logs/ratios of entries ~1e-16.
TOL_VALUE = 1e-7
TOL_FEAS = 1e-9


def _check_exact(p, v, kind, radius):
    U = UncertaintySet(kind, radius)
    sol = worst_case(p, v, U)
    q = sol.q
    assert q.shape == p.shape
    assert q.min() >= -1e-15 and abs(q.sum() - 1.0) <= 1e-12
    assert abs(q @ v - sol.value) <= 1e-12 * (1 + np.abs(v).max())
    if kind != "contamination":
        assert divergence(kind, q, p) <= radius + TOL_FEAS
    return U, sol


@pytest.mark.parametrize("kind", ["l1", "linf", "contamination"])
@given(data=st.data())
def test_polyhedral_inner_matches_linprog(kind, data):
    p, v, radius = data.draw(inner_instances(kind))
    U, sol = _check_exact(p, v, kind, radius)
    ref, _ = reference_inner(p, v, U)
    assert abs(sol.value - ref) <= TOL_VALUE


@pytest.mark.parametrize("kind", ["l2", "kl", "chi2"])
@given(data=st.data())
def test_smooth_inner_matches_minimize(kind, data):
    """Against SLSQP started near the candidate (0.9 q + 0.1 p): the convex problem has no
    spurious local minima, so if q were not optimal SLSQP would descend below it. Objective
    values are compared (SLSQP's argmin is the less accurate one). SLSQP sometimes returns a
    slightly infeasible point; the comparison is then one-sided (its value may be lower)."""
    p, v, radius = data.draw(inner_instances(kind))
    U, sol = _check_exact(p, v, kind, radius)
    ref, qref = reference_inner(p, v, U, x0=0.9 * sol.q + 0.1 * p)
    ref_feasible = divergence(kind, qref, p) <= radius + TOL_FEAS and abs(qref.sum() - 1) < 1e-9
    assert sol.value <= ref + TOL_VALUE
    if ref_feasible:
        assert abs(sol.value - ref) <= TOL_VALUE


@given(data=st.data())
def test_kl_duality_gap_certificate(data):
    """Weak duality: for any beta > 0, -beta log E_p e^{-v/beta} - beta kappa <= min. The primal
    q_beta at the solver's beta closes the gap to round-off (a certificate independent of scipy)."""
    p, v, radius = data.draw(inner_instances("kl"))
    U, sol = _check_exact(p, v, "kl", radius)
    on = p > 0
    betas = np.logspace(-4, 4, 400) * (np.ptp(v[on]) + 1e-12)
    duals = -betas * np.array([np.log(np.sum(p[on] * np.exp(-(v[on] - v[on].min()) / b))) for b in betas])
    duals = duals + v[on].min() - betas * radius
    assert np.all(duals <= sol.value + 1e-10)


def test_l1_example_by_hand():
    # move 0.1 of mass from the v=1 state to the v=0 state
    sol = worst_case(np.array([0.5, 0.5]), np.array([0.0, 1.0]), UncertaintySet("l1", 0.2))
    assert np.allclose(sol.q, [0.6, 0.4]) and abs(sol.value - 0.4) < 1e-15


def test_chi2_limit_and_radius_zero():
    p = np.array([0.25, 0.25, 0.5])
    v = np.array([0.0, 1.0, 2.0])
    # radius 0: nominal; radius >= 1/p(argmin) - 1 = 3: all mass on the minimizer
    assert abs(worst_case(p, v, UncertaintySet("chi2", 0.0)).value - p @ v) < 1e-15
    assert abs(worst_case(p, v, UncertaintySet("chi2", 3.0)).value) < 1e-15


def test_vectorized_rows_equal_single_rows(rng):
    P2 = rng.dirichlet(np.ones(6), size=7)
    v = rng.normal(size=6)
    for kind in KINDS:
        U = UncertaintySet(kind, 0.3)
        batch = worst_case(P2, v, U).value
        single = np.array([worst_case(p, v, U).value for p in P2])
        assert np.max(np.abs(batch - single)) <= 1e-12


@pytest.mark.kernels("robust_inner_values")
def test_inner_value_backends_agree(backend, rng):
    """NumPy reference vs compiled kernels on the same rows; the kernels run the same
    formulas, so agreement to 1e-10 (KL: Newton stops at ~1e-15 relative in log beta)."""
    P2 = rng.dirichlet(np.full(30, 0.5), size=40)
    v = rng.normal(size=30)
    for kind in ("l1", "linf", "kl", "contamination"):
        U = UncertaintySet(kind, 0.25)
        ref = worst_case(P2, v, U).value
        got = worst_case_values(P2, v, U, backend=backend.name)
        assert np.max(np.abs(ref - got)) <= 1e-10, kind


def test_project_simplex():
    y = np.array([[0.2, 0.9, -0.4], [3.0, 3.0, 3.0]])
    x = project_simplex(y)
    assert np.allclose(x.sum(1), 1) and x.min() >= 0
    assert np.allclose(x[1], 1 / 3)


# ---------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------


def test_bad_sets_raise():
    with pytest.raises(InvalidUncertaintySetError, match="radius"):
        UncertaintySet("l1", -0.1)
    with pytest.raises(InvalidUncertaintySetError, match="radius"):
        UncertaintySet("contamination", 1.5)
    with pytest.raises(InvalidUncertaintySetError, match="radius"):
        UncertaintySet("kl", float("nan"))
    with pytest.raises(InvalidUncertaintySetError, match="kind"):
        UncertaintySet("wasserstein", 0.1)
    with pytest.raises(InvalidUncertaintySetError, match="rectangularity"):
        UncertaintySet("l1", 0.1, "sas")
    with pytest.raises(InvalidUncertaintySetError, match="radius"):
        UncertaintySet("l1", [0.1, 0.2])
    assert issubclass(InvalidUncertaintySetError, InvalidInputError)


def test_bad_inner_inputs_raise():
    U = UncertaintySet("l1", 0.1)
    with pytest.raises(InvalidInputError, match="p"):
        worst_case(np.array([0.5, 0.6]), np.zeros(2), U)
    with pytest.raises(InvalidInputError, match="v"):
        worst_case(np.array([0.5, 0.5]), np.zeros(3), U)
    with pytest.raises(InvalidUncertaintySetError, match="uset"):
        worst_case(np.array([0.5, 0.5]), np.zeros(2), "l1")


def test_bad_algorithm_inputs_raise():
    mdp = envs.garnet(4, 2, 2, gamma=0.9, seed=0)
    U = UncertaintySet("l1", 0.1)
    with pytest.raises(InvalidInputError, match="tol"):
        robust_value_iteration(mdp, U, tol=-1.0)
    with pytest.raises(InvalidInputError, match="m_eval"):
        robust_policy_iteration(mdp, U, m_eval=0)
    with pytest.raises(InvalidPolicyError, match="pi"):
        robust_evaluate(mdp, U, np.ones((4, 2)))
    with pytest.raises(InvalidInputError, match="v"):
        robust_bellman_operator(mdp, U, np.zeros(3))
    with pytest.raises(InvalidUncertaintySetError, match="uset"):
        drpg(mdp, UncertaintySet("l1", 0.1, "s"))
    with pytest.raises(InvalidInputError, match="inner_decay"):
        drpg(mdp, U, inner_decay=1.5)
    with pytest.raises(InvalidInputError, match="beta"):
        entropic_risk(np.array([1.0]), np.array([0.0]), 0.0)


# ---------------------------------------------------------------------------------------
# robust dynamic programming
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_robust_vi_pi_mpi_agree(kind):
    mdp = envs.garnet(6, 3, 3, gamma=0.8, seed=2)
    U = UncertaintySet(kind, 0.2)
    vi = robust_value_iteration(mdp, U, tol=1e-10)
    pi = robust_policy_iteration(mdp, U, tol=1e-10)
    mpi = robust_policy_iteration(mdp, U, tol=1e-10, m_eval=5)
    assert vi.converged and pi.converged and mpi.converged
    # each is certified to 1e-10, so they agree to 2e-10
    assert np.max(np.abs(vi.v - pi.v)) <= 2e-10
    assert np.max(np.abs(vi.v - mpi.v)) <= 2e-10
    # the greedy policy's robust value is the optimum (deterministic optimal policies)
    ev = robust_evaluate(mdp, U, vi.policy, tol=1e-11)
    assert np.max(np.abs(ev.v - vi.v)) <= 1e-9
    # robust <= nominal, and radius 0 recovers the nominal optimum
    nominal = mdpgrad.solve(mdp, tol=1e-11).v
    assert np.all(vi.v <= nominal + 1e-9)
    v0 = robust_value_iteration(mdp, U.with_radius(0.0), tol=1e-10).v
    assert np.max(np.abs(v0 - nominal)) <= 1e-9


def test_robust_evaluation_is_fixed_point_and_kernel_attains_it(rng):
    mdp = envs.garnet(5, 3, 3, gamma=0.85, seed=4)
    U = UncertaintySet("kl", 0.3)
    pi = rng.dirichlet(np.ones(3), size=5)
    ev = robust_evaluate(mdp, U, pi, tol=1e-12)
    tv = robust_bellman_operator(mdp, U, ev.v, pi)
    assert np.max(np.abs(tv - ev.v)) <= 1e-11
    # the worst kernel is in the set, and evaluating pi under it gives v_U (to the bound)
    for s in range(5):
        for a in range(3):
            assert divergence("kl", ev.worst_P[s, a], mdp.P[s, a]) <= 0.3 + 1e-9
    v_k = np.linalg.solve(np.eye(5) - mdp.gamma * np.einsum("sa,sat->st", pi, ev.worst_P), np.sum(pi * mdp.r, 1))
    assert np.max(np.abs(v_k - ev.v)) <= 1e-9


def test_srect_l1_matches_lp():
    """s-rectangular L1 optimal update at one state vs an LP over (u, q_a, t_a)."""
    mdp = envs.garnet(4, 3, 4, gamma=0.9, seed=7)
    rng = np.random.default_rng(1)
    v = rng.normal(size=4) * 3
    S, A = 4, 3
    for kappa in (0.0, 0.2, 0.7, 3.0):
        U = UncertaintySet("l1", kappa, "s")
        got = robust_bellman_operator(mdp, U, v)
        for s in range(S):
            # variables: u, q (A*S), t (A*S); min u s.t. r + g q_a.v <= u, |q - p| <= t, sum t <= kappa
            n = 1 + 2 * A * S
            c = np.zeros(n)
            c[0] = 1
            rows, b = [], []
            for a in range(A):
                row = np.zeros(n)
                row[0] = -1
                row[1 + a * S: 1 + (a + 1) * S] = mdp.gamma * v
                rows.append(row)
                b.append(-mdp.r[s, a])
            for i in range(A * S):
                for sign in (1, -1):
                    row = np.zeros(n)
                    row[1 + i] = sign
                    row[1 + A * S + i] = -1
                    rows.append(row)
                    b.append(sign * mdp.P[s].reshape(-1)[i])
            row = np.zeros(n)
            row[1 + A * S:] = 1
            rows.append(row)
            b.append(kappa)
            A_eq = np.zeros((A, n))
            for a in range(A):
                A_eq[a, 1 + a * S: 1 + (a + 1) * S] = 1
            res = scipy.optimize.linprog(c, A_ub=np.array(rows), b_ub=b, A_eq=A_eq, b_eq=np.ones(A),
                                         bounds=[(None, None)] + [(0, None)] * (2 * A * S), method="highs")
            assert abs(res.fun - got[s]) <= 1e-7


def test_srect_l1_evaluation_matches_lp():
    mdp = envs.garnet(3, 2, 3, gamma=0.9, seed=3)
    rng = np.random.default_rng(5)
    v = rng.normal(size=3)
    pi = rng.dirichlet(np.ones(2), size=3)
    S, A = 3, 2
    kappa = 0.5
    got = robust_bellman_operator(mdp, UncertaintySet("l1", kappa, "s"), v, pi)
    for s in range(S):
        n = 2 * A * S
        c = np.zeros(n)
        for a in range(A):
            c[a * S:(a + 1) * S] = pi[s, a] * mdp.gamma * v
        rows, b = [], []
        for i in range(A * S):
            for sign in (1, -1):
                row = np.zeros(n)
                row[i] = sign
                row[A * S + i] = -1
                rows.append(row)
                b.append(sign * mdp.P[s].reshape(-1)[i])
        row = np.zeros(n)
        row[A * S:] = 1
        rows.append(row)
        b.append(kappa)
        A_eq = np.zeros((A, n))
        for a in range(A):
            A_eq[a, a * S:(a + 1) * S] = 1
        res = scipy.optimize.linprog(c, A_ub=np.array(rows), b_ub=b, A_eq=A_eq, b_eq=np.ones(A),
                                     bounds=[(0, None)] * n, method="highs")
        assert abs(res.fun + pi[s] @ mdp.r[s] - got[s]) <= 1e-7


def test_srect_kl_between_sa_and_nominal():
    """U_s(kappa) lies inside the (s,a) set of radius kappa and contains (s,a) sets of radius kappa/A."""
    mdp = envs.garnet(4, 2, 3, gamma=0.9, seed=1)
    v = np.linspace(0, 3, 4)
    s_val = robust_bellman_operator(mdp, UncertaintySet("kl", 0.4, "s"), v)
    lo = robust_bellman_operator(mdp, UncertaintySet("kl", 0.4), v)
    hi = robust_bellman_operator(mdp, UncertaintySet("kl", 0.2), v)
    assert np.all(lo <= s_val + 1e-9) and np.all(s_val <= hi + 1e-9)


# ---------------------------------------------------------------------------------------
# DRPG and the regularized / risk-sensitive equivalence
# ---------------------------------------------------------------------------------------


def test_drpg_reaches_robust_optimum():
    mdp = envs.garnet(5, 3, 3, gamma=0.9, seed=1)
    U = UncertaintySet("l1", 0.3)
    res = drpg(mdp, U, n_iter=60, step_size=1.0)
    opt = mdp.rho @ robust_value_iteration(mdp, U, tol=1e-12).v
    assert opt - res.robust_returns[-1] <= 1e-6
    assert np.all(np.diff(res.inner_tol) <= 0)
    assert np.all(res.inner_error <= res.inner_tol + 1e-12)
    fw = drpg(mdp, U, n_iter=60, step_size=1.0, inner="frank_wolfe")
    assert opt - fw.robust_returns[-1] <= 1e-6
    assert np.all(fw.inner_error <= fw.inner_tol + 1e-12)
    with pytest.raises(InvalidInputError, match="inner"):
        drpg(mdp, U, inner="adam")


def test_entropic_equals_kl_regularized(rng):
    p = rng.dirichlet(np.ones(5), size=3)
    v = rng.normal(size=5)
    val, q = kl_regularized_inner(p, v, 0.7)
    # the value is attained by q (Gibbs variational principle)
    direct = q @ v + 0.7 * np.sum(q * np.log(q / p), axis=1)
    assert np.max(np.abs(direct - val)) <= 1e-12
    mdp = envs.garnet(4, 2, 3, gamma=0.9, seed=0)
    pi = rng.dirichlet(np.ones(2), size=4)
    a = kl_regularized_robust_evaluate(mdp, pi, 0.5)
    b = entropic_evaluate(mdp, pi, 0.5)
    assert np.max(np.abs(a.v - b.v)) <= 1e-10


def test_regularized_gradient_matches_finite_differences(rng):
    mdp = envs.garnet(4, 2, 3, gamma=0.8, seed=3)
    pi = rng.dirichlet(np.ones(2), size=4)
    g, J = regularized_policy_gradient(mdp, pi, 0.5)
    h = 1e-6
    for s, a in [(0, 0), (2, 1)]:
        e = np.zeros_like(pi)
        e[s, a] = h
        fd = (entropic_evaluate(mdp, pi + e, 0.5, tol=1e-14, check=False).value
              - entropic_evaluate(mdp, pi - e, 0.5, tol=1e-14, check=False).value) / (2 * h)
        assert abs(fd - g[s, a]) <= 1e-6 * (1 + abs(fd))


def test_srect_l1_robust_vi_policy_is_maximin():
    """s-rectangular L1: the LP maximin policy's robust value equals the robust VI optimum (both
    certified to 1e-10), and it is randomized somewhere (s-rect optimal policies need not be deterministic)."""
    from mdpgrad.robust.srect import srect_l1_maximin_policy, srect_optimal_update

    mdp = envs.garnet(5, 3, 3, gamma=0.9, seed=1)
    U = UncertaintySet("l1", 1.0, "s")
    res = robust_value_iteration(mdp, U, tol=1e-10)
    ev = robust_evaluate(mdp, U, res.policy, tol=1e-11)
    assert np.max(np.abs(ev.v - res.v)) <= 1e-9
    assert res.policy.max(axis=1).min() < 1 - 1e-6
    # the LP optimal value equals the bisection reduction's value (two exact methods)
    v = np.random.default_rng(0).normal(size=5) * 3
    lp_vals, _ = srect_l1_maximin_policy(mdp, U, v)
    assert np.max(np.abs(lp_vals - srect_optimal_update(mdp, U, v))) <= 1e-9


def test_srect_linf_matches_lp():
    """s-rectangular L-inf update vs linprog: min u s.t. u >= r_a + gamma q_a.v, |q_aj - p_aj| <= m_a,
    sum_a m_a <= kappa, q_a in the simplex (polyhedral: an LP)."""
    mdp = envs.garnet(4, 2, 4, gamma=0.9, seed=3)
    v = np.random.default_rng(2).normal(size=4) * 2
    S, A, kappa = 4, 2, 0.2
    got = robust_bellman_operator(mdp, UncertaintySet("linf", kappa, "s"), v)
    n = 1 + A * S + A  # [u, q, m]
    for s in range(S):
        rows, b = [], []
        for a in range(A):
            row = np.zeros(n)
            row[0] = -1
            row[1 + a * S: 1 + (a + 1) * S] = mdp.gamma * v
            rows.append(row)
            b.append(-mdp.r[s, a])
            for j in range(S):
                for sign in (1, -1):
                    row = np.zeros(n)
                    row[1 + a * S + j] = sign
                    row[1 + A * S + a] = -1
                    rows.append(row)
                    b.append(sign * mdp.P[s, a, j])
        row = np.zeros(n)
        row[1 + A * S:] = 1
        rows.append(row)
        b.append(kappa)
        A_eq = np.zeros((A, n))
        for a in range(A):
            A_eq[a, 1 + a * S: 1 + (a + 1) * S] = 1
        c = np.zeros(n)
        c[0] = 1
        res = scipy.optimize.linprog(c, A_ub=np.array(rows), b_ub=b, A_eq=A_eq, b_eq=np.ones(A),
                                     bounds=[(None, None)] + [(0, None)] * (A * S + A), method="highs")
        assert abs(res.fun - got[s]) <= 1e-7


@pytest.mark.parametrize("kind,kappa", [("kl", 0.3), ("chi2", 0.5), ("l2", 0.3)])
def test_srect_generic_kinds_match_slsqp(kind, kappa):
    """s-rectangular update (bisection reduction) vs SLSQP on the epigraph problem
    min u s.t. u >= r_a + gamma q_a.v, sum_a D(q_a, p_a) <= kappa, q_a in the simplex (restarts from
    p polish SLSQP). Agreement 1e-7 (the nested bisections stop at ~1e-15 relative in u, ~1e-18 in xi)."""
    mdp = envs.garnet(4, 2, 4, gamma=0.9, seed=3)
    v = np.random.default_rng(2).normal(size=4) * 2
    S, A = 4, 2
    got = robust_bellman_operator(mdp, UncertaintySet(kind, kappa, "s"), v)
    for s in range(S):
        p = mdp.P[s]

        def budget_left(x, p=p):
            q = x[1:].reshape(A, S)
            if kind == "kl":
                return kappa - sum(np.sum(np.where(q[a] > 0, q[a] * np.log(np.maximum(q[a], 1e-300) / p[a]), 0))
                                   for a in range(A))
            return kappa - sum(divergence(kind, q[a], p[a]) for a in range(A))

        cons = [{"type": "ineq", "fun": budget_left}]
        for a in range(A):
            sl = slice(1 + a * S, 1 + (a + 1) * S)
            cons.append({"type": "eq", "fun": lambda x, sl=sl: x[sl].sum() - 1})
            cons.append({"type": "ineq", "fun": lambda x, sl=sl, a=a, s=s: x[0] - mdp.r[s, a] - mdp.gamma * x[sl] @ v})
        x = np.concatenate([[0.0], p.reshape(-1)])
        for _ in range(2 if kind == "l2" else 4):
            x = scipy.optimize.minimize(lambda x: x[0], x, method="SLSQP", bounds=[(None, None)] + [(0, 1)] * (A * S),
                                        constraints=cons, options={"ftol": 1e-15, "maxiter": 2000}).x
        assert budget_left(x) >= -1e-8  # SLSQP's own feasibility tolerance
        assert abs(got[s] - x[0]) <= 1e-7


def test_rfzi_exact_with_exact_model_and_validation():
    """With 'counts' proportional to P (an infinite-data limit) RFZI returns the entropic-risk optimum."""
    from mdpgrad.robust import risk_sensitive_value_iteration
    from mdpgrad.robust.risk import rfzi

    mdp = envs.garnet(4, 2, 3, gamma=0.9, seed=0)
    v_star, _ = risk_sensitive_value_iteration(mdp, 0.5, tol=1e-12)
    v = rfzi(mdp.P * 1000.0, mdp.r, mdp.gamma, 0.5, tol=1e-12)
    assert np.max(np.abs(v - v_star)) <= 1e-10
    counts = np.ones((4, 2, 4))
    counts[1, 0] = 0
    with pytest.raises(InvalidInputError, match="counts"):
        rfzi(counts, mdp.r, mdp.gamma, 0.5)


@pytest.mark.parametrize("kind", ["l1", "kl", "chi2", "contamination"])
@given(mdp=small_mdps(), seed=st.integers(0, 2**31 - 1))
def test_robust_operator_contraction_and_below_nominal(kind, mdp, seed):
    """On random MDPs (conftest.small_mdps): ||T_U v - T_U w|| <= gamma ||v - w|| (+1e-12 round-off on
    O(10) values) and T_U v <= T v (the nominal kernel is in the set)."""
    from mdpgrad.exact import bellman_optimality_operator

    rng = np.random.default_rng(seed)
    U = UncertaintySet(kind, 0.3)
    v = rng.normal(size=mdp.n_states) * 3
    w = rng.normal(size=mdp.n_states) * 3
    tv, tw = robust_bellman_operator(mdp, U, v), robust_bellman_operator(mdp, U, w)
    assert np.max(np.abs(tv - tw)) <= mdp.gamma * np.max(np.abs(v - w)) + 1e-12
    assert np.all(tv <= bellman_optimality_operator(mdp, v) + 1e-12)


def test_compiled_kind_codes_match_the_sets():
    from mdpgrad.kernels.robust import KIND_CODES
    from mdpgrad.robust.sets import KINDS

    assert all(KINDS[code] == kind for kind, code in KIND_CODES.items())
