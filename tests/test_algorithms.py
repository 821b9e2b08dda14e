"""Exact policy-optimization methods: update identities, monotonicity, fixed points, validation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_mdps
from hypothesis import given, settings

import mdpgrad
from mdpgrad import envs, evaluate, solve
from mdpgrad.algorithms import (
    capo_step,
    exact_quantities,
    make_method,
    mdpo_inner,
    npg_closed_form,
    optimize,
    project_simplex,
    rebel_step,
    trpo_step,
    trpo_surrogate_bound,
)
from mdpgrad.errors import DivergedError, InvalidInputError, InvalidMDPError
from mdpgrad.exact import greedy_policy
from mdpgrad.policies import softmax


@pytest.fixture
def mdp():
    return envs.garnet(6, 3, 3, gamma=0.9, seed=3)


def test_optimize_is_lazily_exported(mdp):
    res = mdpgrad.optimize(mdp, method="npg", n_iter=5, step_size=1.0)
    assert res.t.tolist() == list(range(6))
    assert res.gap.shape == res.value.shape == res.entropy.shape == res.step_size.shape == (6,)
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        res.gap = None  # frozen


def test_npg_step_equals_closed_form_multiplicative_update(mdp, rng):
    theta0 = rng.normal(size=mdp.shape)
    pi0 = softmax(theta0)
    res = optimize(mdp, "npg", n_iter=1, step_size=0.7, theta0=theta0, record=("policy",))
    ex = evaluate(mdp, pi0)
    expected = pi0 * np.exp(0.7 * ex.advantage / (1 - mdp.gamma))
    expected /= expected.sum(1, keepdims=True)
    # Both are softmaxes of logits of magnitude <= |theta0| + eta/(1-gamma) max|A| ~ 50: round-off ~1e-13.
    assert np.max(np.abs(res.policies[1] - expected)) < 1e-12
    assert np.max(np.abs(npg_closed_form(pi0, ex.advantage, 0.7, mdp.gamma) - expected)) < 1e-12


@pytest.mark.parametrize("bregman", ["kl", "euclidean"])
def test_pmd_with_infinite_step_is_policy_iteration(mdp, rng, bregman):
    pi0 = rng.dirichlet(np.ones(3), size=6)
    q = evaluate(mdp, pi0).q
    theta0 = np.log(pi0) if bregman == "kl" else pi0
    res = optimize(mdp, "pmd", n_iter=1, step_size=1e9, bregman=bregman, theta0=theta0, record=("policy",))
    # Greedy w.r.t. q^{pi0}: one policy-iteration improvement step (garnet q has no ties).
    assert np.max(np.abs(res.policies[1] - greedy_policy(q))) < 1e-9


def test_fixed_points_are_optimal(mdp):
    sol = solve(mdp)
    for method, eta in [("npg", 1.0), ("pmd", 1.0), ("mdpo", 1.0), ("rebel", 1.0)]:
        res = optimize(mdp, method, n_iter=200, step_size=eta)
        assert res.gap[-1] < 1e-9, method
        assert np.max(np.abs(res.policy - sol.policy)) < 1e-6, method
    res = optimize(mdp, "softmax_pg", n_iter=3000, step_size=5.0, backend="numba")
    assert 0 <= res.gap[-1] < 1e-3
    assert np.all(np.argmax(res.policy, 1) == np.argmax(sol.policy, 1))


@settings(max_examples=15)
@given(small_mdps(max_states=4, max_actions=3))
def test_monotone_improvement_where_theory_says_so(m):
    # Softmax PG is monotone at ANY step size for tabular exact gradients (exponential tilt by pi*A,
    # performance-difference lemma; see capo_step docstring); NPG/PMD by the PMD improvement lemma;
    # theoretical TRPO by its Theorem 1. Tolerance: round-off of rho.v, ~1e-12 * (1 + |v|).
    tol = 1e-10 * (1 + np.max(np.abs(m.r)) / (1 - m.gamma))
    for method, kw in [("softmax_pg", {"step_size": 50.0}), ("npg", {"step_size": 2.0}),
                       ("pmd", {"step_size": 0.5, "bregman": "euclidean"}), ("trpo", {})]:
        res = optimize(m, method, n_iter=8, record=("value",), v_star=0.0, **kw)
        assert np.all(np.diff(res.value) >= -tol), method


def test_direct_pg_and_projection(mdp, rng):
    x = rng.normal(size=(50, 4)) * 3
    p = project_simplex(x)
    assert np.all(p >= 0) and np.allclose(p.sum(1), 1, atol=1e-12)
    # KKT: p = max(x - lam, 0) for a per-row lam; on the support x - p is constant.
    for xi, pi in zip(x, p):
        sup = pi > 0
        assert np.ptp((xi - pi)[sup]) < 1e-12
        assert np.all(xi[~sup] - (xi - pi)[sup][0] <= 1e-12)
    res = optimize(mdp, "direct_pg", n_iter=300, step_size=0.01, record=("value", "gap", "grad_norm"))
    assert np.all(np.diff(res.value) >= -1e-12)
    assert res.gap[-1] < res.gap[0]


def test_entropy_npg_converges_to_soft_optimum(mdp):
    from mdpgrad.regularized import soft_evaluate, soft_optimum

    tau = 0.2
    soft = soft_optimum(mdp, tau)
    res = optimize(mdp, "entropy_npg", n_iter=300, step_size=(1 - mdp.gamma) / tau, tau=tau,
                   record=("reg_gap", "q_error"))
    assert res.q_error[-1] < 1e-9
    assert abs(res.reg_gap[-1]) < 1e-9
    assert np.max(np.abs(res.policy - soft.policy)) < 1e-9
    # The soft optimum is a fixed point of soft evaluation: V_tau^{pi*} = V*_tau.
    assert np.max(np.abs(soft_evaluate(mdp, soft.policy, tau).v - soft.v)) < 1e-9


def test_regularized_softmax_pg_gradient_matches_finite_differences(mdp, rng):
    from mdpgrad.regularized import soft_evaluate

    tau = 0.3
    theta = rng.normal(size=mdp.shape)
    pi = softmax(theta)
    ex = exact_quantities(mdp, pi, tau)
    grad = ex.d[:, None] * pi * ex.adv / (1 - mdp.gamma)
    h = 1e-6
    for idx in [(0, 0), (2, 1), (5, 2)]:
        tp, tm = theta.copy(), theta.copy()
        tp[idx] += h
        tm[idx] -= h
        fd = (soft_evaluate(mdp, softmax(tp), tau).value - soft_evaluate(mdp, softmax(tm), tau).value) / (2 * h)
        # central differences: O(h^2) + O(eps |V| / h) ~ 1e-9
        assert abs(fd - grad[idx]) < 1e-7


def test_loglinear_npg_with_tabular_features_equals_npg(mdp):
    phi = np.eye(18).reshape(6, 3, 18)
    ref = optimize(mdp, "npg", n_iter=10, step_size=0.5)
    for m in ("qnpg", "loglinear_npg"):
        res = optimize(mdp, m, n_iter=10, step_size=0.5, phi=phi)
        assert np.max(np.abs(res.value - ref.value)) < 1e-10, m
    fm = mdpgrad.FeatureMDP(mdp, np.random.default_rng(0).normal(size=(6, 3, 4)))
    res = optimize(fm, "qnpg", n_iter=30, step_size=0.5)
    assert res.params_final.shape == (4,)


def test_rebel_step_equals_npg(rng):
    th = rng.normal(size=(3, 5))
    r = rng.random((3, 5))
    new = rebel_step(th, r, 1.3, pair_weights=rng.random((5, 5)) + 0.1)
    assert np.max(np.abs(softmax(new) - softmax(th + 1.3 * r))) < 1e-10
    assert rebel_step(th[0], r[0], 1.3).shape == (5,)


def test_mdpo_inner_converges_to_closed_form(mdp, rng):
    pi = rng.dirichlet(np.ones(3), size=6)
    ex = exact_quantities(mdp, pi)
    closed = softmax(np.log(pi) + 1.0 * ex.adv)
    errs = [np.max(np.abs(softmax(mdpo_inner(pi, ex.adv, ex.d, 1.0, m, 0.5)) - closed)) for m in (10, 100, 1000)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-6


def test_trpo_bound_and_step(mdp, rng):
    for _ in range(30):
        th = rng.normal(size=mdp.shape)
        pi = softmax(th)
        pi2 = softmax(th + rng.normal(size=mdp.shape))
        J2, L, C, kl = trpo_surrogate_bound(mdp, pi, pi2)
        assert J2 >= L - C * kl - 1e-12
    pi = softmax(rng.normal(size=mdp.shape))
    new, beta = trpo_step(mdp, pi)
    assert beta >= 0 and evaluate(mdp, new).value >= evaluate(mdp, pi).value - 1e-12
    new, beta = trpo_step(mdp, pi, kl_max=0.01)
    ex = exact_quantities(mdp, pi)
    kl = np.sum(pi * np.log(pi / new), 1)
    assert ex.d @ kl <= 0.01 + 1e-9


def test_capo_masks_nothing_for_tiny_steps_and_reports_fraction(mdp, rng):
    th = rng.normal(size=mdp.shape)
    new, frac, model = capo_step(mdp, th, 1e-4)
    assert frac == 0.0 and model > 0
    new, frac, model = capo_step(mdp, np.zeros(4), 10.0, phi=rng.normal(size=(6, 3, 4)))
    assert 0.0 <= frac <= 1.0 and model >= 0


def test_polyak_uses_oracle_value(mdp):
    res = optimize(mdp, "polyak_pg", n_iter=50)
    assert res.gap[-1] < 1e-6
    assert np.all(res.step_size[:-1] >= 0)


def test_numba_kernel_agrees_with_numpy(backend, mdp, rng):
    if backend.name == "cupy":
        pytest.skip("the fused kernel has no CuPy path (CPU Numba only)")
    theta0 = rng.normal(size=mdp.shape)
    for method, kw in [("softmax_pg", {"step_size": 2.0}), ("npg", {"step_size": 0.5}),
                       ("entropy_npg", {"step_size": 0.5, "tau": 0.1}), ("softmax_pg", {"step_size": 2.0, "tau": 0.1}),
                       ("polyak_pg", {})]:
        ref = optimize(mdp, method, n_iter=40, theta0=theta0, record=("value", "gap"), **kw)
        res = optimize(mdp, method, n_iter=40, theta0=theta0, backend=backend.name, record=("value", "gap"), **kw)
        # Same arithmetic up to LAPACK/BLAS summation order: ~1e-13 on values of size <= 10.
        assert np.max(np.abs(res.value - ref.value)) < 1e-10, method


# ---------------------------------------------------------------------------- validation
def test_bad_inputs_name_the_argument(mdp):
    with pytest.raises(InvalidInputError, match="method"):
        optimize(mdp, "sgd", n_iter=1, step_size=1.0)
    with pytest.raises(InvalidInputError, match="step_size"):
        optimize(mdp, "npg", n_iter=1, step_size=-1.0)
    with pytest.raises(InvalidInputError, match="step_size"):
        optimize(mdp, "npg", n_iter=1)
    with pytest.raises(InvalidInputError, match="theta0"):
        optimize(mdp, "npg", n_iter=1, step_size=1.0, theta0=np.zeros((2, 2)))
    with pytest.raises(InvalidInputError, match="record"):
        optimize(mdp, "npg", n_iter=1, step_size=1.0, record=("loss",))
    with pytest.raises(InvalidInputError, match="n_iter"):
        optimize(mdp, "npg", n_iter=-1, step_size=1.0)
    with pytest.raises(InvalidInputError, match="tau"):
        optimize(mdp, "entropy_npg", n_iter=1, step_size=0.1)
    with pytest.raises(InvalidInputError, match="tau"):
        optimize(mdp, "softmax_pg", n_iter=1, step_size=0.1, tau=-1.0)
    with pytest.raises(InvalidInputError, match="step_size"):
        optimize(mdp, "entropy_npg", n_iter=1, step_size=10.0, tau=0.1)
    with pytest.raises(InvalidInputError, match="bregman"):
        make_method("pmd", step_size=1.0, bregman="l1")
    with pytest.raises(InvalidInputError, match="schedule"):
        make_method("pmd", step_size=1.0, schedule="cosine")
    with pytest.raises(InvalidInputError, match="backend"):
        optimize(mdp, "trpo", n_iter=1, backend="numba")
    with pytest.raises(InvalidInputError, match="backend"):
        optimize(mdp, "npg", n_iter=1, step_size=1.0, backend="cuda")
    with pytest.raises(InvalidInputError, match="phi"):
        optimize(mdp, "qnpg", n_iter=1, step_size=1.0)
    with pytest.raises(InvalidInputError, match="phi"):
        optimize(mdp, "qnpg", n_iter=1, step_size=1.0, phi=np.zeros((2, 3, 4)))
    with pytest.raises(InvalidInputError, match="kl_max"):
        optimize(mdp, "trpo", n_iter=1, kl_max=0.0)
    with pytest.raises(InvalidInputError, match="n_inner"):
        optimize(mdp, "mdpo", n_iter=1, step_size=1.0, n_inner=0)
    with pytest.raises(InvalidInputError, match="rewards"):
        rebel_step(np.zeros((2, 3)), np.zeros((2, 4)), 1.0)
    with pytest.raises(InvalidInputError, match="eta"):
        rebel_step(np.zeros((2, 3)), np.zeros((2, 3)), 0.0)
    with pytest.raises(InvalidInputError, match="pair_weights"):
        rebel_step(np.zeros((2, 3)), np.zeros((2, 3)), 1.0, pair_weights=-np.ones((3, 3)))
    with pytest.raises(InvalidMDPError, match="mdp"):
        optimize("not an mdp", "npg", n_iter=1, step_size=1.0)
    with pytest.raises(InvalidMDPError, match="decoy"):
        envs.hard_chain(4, decoy=-1.0)


@pytest.mark.parametrize("method", ["softmax_pg", "npg"])
def test_lu_reuse_kernel_agrees_with_direct_solves(method):
    m = envs.garnet(30, 4, 5, gamma=0.9, seed=2)
    res = optimize(m, method, n_iter=200, step_size=0.5, backend="numba", record=("value",), v_star=0.0)
    ref = optimize(m, method, n_iter=200, step_size=0.5, backend="numpy", record=("value",), v_star=0.0)
    # Both solve to LU backward error: values (size <= 10) agree to ~cond * eps * |v| * t ~ 1e-12.
    assert np.max(np.abs(res.value - ref.value)) < 1e-10
    assert 1 <= res.n_factorizations <= 201


def test_no_tuple_wrappers_left():
    import mdpgrad.algorithms as alg

    assert not hasattr(alg, "run_softmax_family") and not hasattr(alg, "run_softmax_pg_fast")


def test_trpo_exact_step_dominates_path_and_improves(mdp, rng):
    from mdpgrad.algorithms import trpo_exact_step

    for _ in range(3):
        pi = softmax(rng.normal(size=mdp.shape))
        pe, t = trpo_exact_step(mdp, pi)
        pp, _ = trpo_step(mdp, pi)
        Je, Le, C, kle = trpo_surrogate_bound(mdp, pi, pe)
        Jp, Lp, _, klp = trpo_surrogate_bound(mdp, pi, pp)
        J0 = evaluate(mdp, pi).value
        # exact maximization over all policies dominates the path-restricted one (1e-9: bisection tolerance)
        assert Le - C * kle >= Lp - C * klp - 1e-9
        assert Je >= Le - C * kle - 1e-12 >= J0 - 1e-12
        assert kle <= t * (1 + 1e-6) + 1e-12
    with pytest.raises(InvalidInputError, match="pi"):
        trpo_exact_step(mdp, np.eye(3)[np.zeros(6, dtype=int)])


# ---------------------------------------------------------------------------- one loop, typed hyperparameters
def test_misspelled_or_foreign_hyperparameter_is_named(mdp):
    from mdpgrad.algorithms import UnknownHyperparameterError

    with pytest.raises(UnknownHyperparameterError, match="step_sise"):
        optimize(mdp, "npg", n_iter=1, step_sise=1.0)
    with pytest.raises(UnknownHyperparameterError, match="tau.*NPG"):
        optimize(mdp, "npg", n_iter=1, step_size=1.0, tau=0.1)
    with pytest.raises(UnknownHyperparameterError, match="target"):
        make_method("qnpg", step_size=1.0, phi=np.zeros((6, 3, 2)), target="q")
    with pytest.raises(InvalidInputError, match="weighting"):
        make_method("softmax_pg", step_size=1.0, weighting="uniform")
    with pytest.raises(InvalidInputError, match="grad_scale"):
        make_method("npg", step_size=1.0, grad_scale=-1.0)
    with pytest.raises(InvalidInputError, match="hyperparameters"):
        optimize(mdp, make_method("npg", step_size=1.0), n_iter=1, step_size=2.0)
    hp = make_method("pmd", step_size=0.5, schedule="geometric").hparams
    assert (hp.step_size, hp.bregman, hp.schedule) == (0.5, "kl", "geometric")
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        hp.step_size = 1.0


def test_each_iterate_is_evaluated_once(mdp, monkeypatch):
    import mdpgrad.algorithms.steps as steps

    calls = []
    real = steps.evaluate
    monkeypatch.setattr(steps, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    for method, kw in [("softmax_pg", {"step_size": 1.0}), ("npg", {"step_size": 1.0}), ("pmd", {"step_size": 1.0}),
                       ("entropy_npg", {"step_size": 0.05, "tau": 0.1})]:
        calls.clear()
        optimize(mdp, method, n_iter=7, backend="numpy", v_star=0.0, record=("value", "gap", "entropy"), **kw)
        assert len(calls) == 8, method


@pytest.mark.parametrize("method,kw", [
    ("softmax_pg", {"step_size": 2.0}), ("npg", {"step_size": 0.5}), ("pmd", {"step_size": 0.5}),
    ("pmd", {"step_size": 0.05, "schedule": "geometric"}), ("entropy_npg", {"step_size": 0.05, "tau": 0.1}),
    ("softmax_pg", {"step_size": 2.0, "tau": 0.1}), ("polyak_pg", {"max_step": 50.0}),
    ("softmax_pg", {"step_size": 2.0, "weighting": "rho", "grad_scale": 1.0}),
    ("npg", {"step_size": 0.5, "grad_scale": 1.0}),
])
def test_numba_update_is_the_numpy_update(mdp, rng, method, kw):
    theta0 = rng.normal(size=mdp.shape)
    a_star = np.argmax(solve(mdp).q, axis=1)
    rec = ("value", "gap", "entropy", "step_size") + (("reg_value", "reg_gap") if "tau" in kw else ())
    ref = optimize(mdp, method, n_iter=40, theta0=theta0, record=rec, record_every=4, backend="numpy",
                   a_star=a_star, **kw)
    res = optimize(mdp, method, n_iter=40, theta0=theta0, record=rec, record_every=4, backend="auto",
                   a_star=a_star, **kw)
    assert (ref.backend, res.backend) == ("numpy", "numba")
    # Same arithmetic up to LAPACK/BLAS summation order: ~1e-13 on values of size <= 10.
    for k in rec:
        assert np.max(np.abs(getattr(res, k) - getattr(ref, k))) < 1e-9 * max(1.0, np.max(np.abs(getattr(ref, k)))), k
    assert abs(res.min_prob_a_star - ref.min_prob_a_star) < 1e-10
    assert np.max(np.abs(res.policy - ref.policy)) < 1e-9


def test_control_knobs_change_the_update_as_documented(mdp, rng):
    from mdpgrad.algorithms import keep_policy

    theta0 = rng.normal(size=mdp.shape)
    pi0 = softmax(theta0)
    ex = exact_quantities(mdp, pi0)
    g = mdp.gamma
    rho_pg = optimize(mdp, "softmax_pg", n_iter=1, step_size=0.3, theta0=theta0, weighting="rho",
                      record=("params",), backend="numpy")
    expected = theta0 + 0.3 / (1 - g) * mdp.rho[:, None] * pi0 * ex.adv
    assert np.max(np.abs(rho_pg.params[1] - expected)) < 1e-12
    # grad_scale=1 drops 1/(1-gamma): the same as the true update with step (1-gamma) eta (also on Numba).
    for be in ("numpy", "numba"):
        a = optimize(mdp, "npg", n_iter=20, step_size=0.3, grad_scale=1.0, backend=be, v_star=0.0)
        b = optimize(mdp, "npg", n_iter=20, step_size=0.3 * (1 - g), backend=be, v_star=0.0)
        assert np.max(np.abs(a.value - b.value)) < 1e-12
    frozen = optimize(mdp, keep_policy(make_method("trpo")), n_iter=4)
    assert frozen.backend == "numpy" and np.all(frozen.value == frozen.value[0])
    assert optimize(mdp, "trpo", n_iter=4).value[-1] > frozen.value[-1]


# ---------------------------------------------------------------------------- batches
def test_step_size_and_theta0_batch_equals_separate_runs(mdp, rng):
    etas = np.array([0.3, 1.0, 3.0])
    th = rng.normal(size=(3,) + mdp.shape)
    for be in ("numba", "numpy"):
        res = optimize(mdp, "softmax_pg", n_iter=25, step_size=etas, theta0=th, backend=be)
        assert res.value.shape == (3, 26) and res.policy.shape == (3, 6, 3) and res.backend == be
        for b in range(3):
            one = optimize(mdp, "softmax_pg", n_iter=25, step_size=etas[b], theta0=th[b], backend="numpy")
            assert np.max(np.abs(res.value[b] - one.value)) < 1e-10
            assert np.max(np.abs(res.gap[b] - one.gap)) < 1e-10


def test_mdp_batch_equals_separate_runs():
    ms = [envs.garnet(5, 3, 2, gamma=g, seed=s) for s, g in [(0, 0.9), (1, 0.8), (2, 0.95)]]
    res = optimize(ms, "npg", n_iter=15, step_size=0.5)
    assert res.backend == "numba" and res.v_star.shape == (3,)
    for b, m in enumerate(ms):
        one = optimize(m, "npg", n_iter=15, step_size=0.5, backend="numpy")
        assert np.max(np.abs(res.gap[b] - one.gap)) < 1e-10
    with pytest.raises(InvalidInputError, match="batch"):
        optimize(ms, "npg", n_iter=2, step_size=np.ones(2))
    with pytest.raises(InvalidInputError, match="shape"):
        optimize([ms[0], envs.garnet(4, 3, 2, gamma=0.9, seed=0)], "npg", n_iter=2, step_size=1.0)
    trpo = optimize(ms, "trpo", n_iter=2)  # no compiled update: a loop of single runs
    assert trpo.backend == "numpy" and trpo.value.shape == (3, 3)


@pytest.mark.parametrize("method,kw", [
    ("softmax_pg", {"step_size": np.array([0.5, 2.0, 8.0])}), ("npg", {"step_size": np.array([0.1, 0.5, 2.0])}),
    ("pmd", {"step_size": np.array([0.01, 0.05, 0.2]), "schedule": "geometric"}),
    ("entropy_npg", {"step_size": np.array([0.01, 0.05, 0.09]), "tau": 0.1}),
    ("softmax_pg", {"step_size": np.array([0.5, 2.0, 8.0]), "tau": 0.1, "weighting": "rho"}),
    ("polyak_pg", {"max_step": 50.0}),
])
def test_lockstep_batch_is_the_numpy_update(mdp, rng, method, kw):
    th = rng.normal(size=(3,) + mdp.shape)
    a_star = np.argmax(solve(mdp).q, axis=1)
    res = optimize(mdp, method, n_iter=30, theta0=th, record_every=3, a_star=a_star, **kw)
    assert res.backend == "numba" and res.value.shape == (3, 11)
    for b in range(3):
        one = {k: (v[b] if np.ndim(v) else v) for k, v in kw.items()}
        ref = optimize(mdp, method, n_iter=30, theta0=th[b], record_every=3, a_star=a_star, backend="numpy", **one)
        # Lockstep LU without pivoting vs LAPACK with pivoting: both backward stable, ~1e-13 on values <= 10.
        for k in ("value", "gap", "entropy", "step_size"):
            assert np.max(np.abs(getattr(res, k)[b] - getattr(ref, k))) < 1e-9 * max(1, np.max(np.abs(getattr(ref, k))))
        assert abs(res.min_prob_a_star[b] - ref.min_prob_a_star) < 1e-10


def test_compiled_run_that_overflows_raises_diverged(mdp):
    """A step so large that the compiled loop's logits overflow is a DivergedError (single and batched runs),
    checked once after the loop; a moderate step in the same batch does not hide it."""
    with pytest.raises(DivergedError, match="step_size"):
        optimize(mdp, "npg", n_iter=5, step_size=1e149, backend="numba")
    with pytest.raises(DivergedError, match="1e\\+149"):
        optimize(mdp, "npg", n_iter=5, step_size=np.array([1.0, 1e149]), backend="numba")
    assert np.all(np.isfinite(optimize(mdp, "npg", n_iter=5, step_size=np.array([1.0, 3.0]), backend="numba").value))
