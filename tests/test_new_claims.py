"""Library pieces behind the issue-18 claims: mdpgrad.bandits.objectives, mdpgrad.bandits.kl_regularized,
mdpgrad.offline (formulas against brute force, input validation naming the argument)."""

import numpy as np
import pytest

from mdpgrad.bandits import make_sequence_model
from mdpgrad.bandits.kl_regularized import f_divergence, gibbs_policy, implicit_token_rewards, soft_optimal_tree
from mdpgrad.bandits.model import softmax_xp
from mdpgrad.bandits.objectives import (
    allocation_variance,
    budget_allocation,
    chi2_divergence,
    guided_policy,
    mixture_weight,
    ratio_variance_coefficients,
    score_norms,
    spo_coefficients,
    token_rollout_gradient,
)
from mdpgrad.envs import garnet
from mdpgrad.errors import InvalidInputError
from mdpgrad.exact import evaluate
from mdpgrad.offline import agent_gradient_moments, expectile, expectile_value_iteration, support_optimal_values


def test_score_norms_match_direct():
    rng = np.random.default_rng(0)
    pi = softmax_xp(rng.normal(size=(20, 7)))
    per, ex = score_norms(pi)
    direct = np.sum((np.eye(7)[None] - pi[:, None, :]) ** 2, axis=2)
    assert np.allclose(per, direct, atol=1e-14)
    assert np.allclose(ex, np.sum(pi * direct, 1), atol=1e-14)
    with pytest.raises(InvalidInputError, match="pi"):
        score_norms(np.array([0.5, 0.6]))


@pytest.mark.parametrize("importance", [False, True])
def test_token_rollout_gradient_unbiased(importance):
    rng = np.random.default_rng(1)
    z = rng.normal(size=(3, 5))
    y = np.array([0, 2, 4])
    pi = softmax_xp(z)
    E = np.eye(5)[y] - pi
    target = E if importance else pi[np.arange(3), y][:, None] * E
    M = 20000
    g = token_rollout_gradient(np.tile(z, (M, 1)), np.tile(y, M), 4, rng, importance=importance).reshape(M, 3, 5)
    se = g.std(0) / np.sqrt(M)
    assert np.all(np.abs(g.mean(0) - target) <= 5 * se + 1e-12)
    with pytest.raises(InvalidInputError, match="targets"):
        token_rollout_gradient(z, np.array([0, 1, 9]), 2, rng)


def test_spo_and_ratio_variance_coefficients():
    A = np.array([1.0, -0.5, 2.0])
    lp = np.log(np.array([0.3, 0.2, 0.5]))
    assert np.allclose(spo_coefficients(A, lp, lp, 0.2), A)
    # per-sample maximizer of rho A - |A|/(2 eps) (rho-1)^2 is rho = 1 + eps sign(A): zero derivative there
    eps = 0.2
    lp_new = lp + np.log1p(eps * np.sign(A))
    assert np.allclose(spo_coefficients(A, lp_new, lp, eps), 0.0, atol=1e-14)
    assert np.allclose(ratio_variance_coefficients(A, lp, lp, 3.0), A)
    with pytest.raises(InvalidInputError, match="eps"):
        spo_coefficients(A, lp, lp, 0.0)
    with pytest.raises(InvalidInputError, match="logp_old"):
        ratio_variance_coefficients(A, lp, lp[:2], 1.0)


def test_chi2_is_ratio_variance():
    rng = np.random.default_rng(2)
    p, q = softmax_xp(rng.normal(size=(4, 6))), softmax_xp(rng.normal(size=(4, 6)))
    assert np.allclose(chi2_divergence(p, q), np.sum(q * (p / q) ** 2, 1) - 1, atol=1e-13)
    assert np.allclose(f_divergence(p, q, "chi2"), chi2_divergence(p, q))
    with pytest.raises(InvalidInputError, match="q"):
        chi2_divergence(np.array([0.5, 0.5]), np.array([1.0, 0.0]))


def test_budget_allocation_is_optimal():
    rng = np.random.default_rng(3)
    w, v = rng.random(6), rng.random(6)
    n = budget_allocation(w, v, 60.0)
    assert np.isclose(n.sum(), 60.0)
    best = allocation_variance(w, v, n)
    for _ in range(50):  # random feasible perturbations never do better
        d = rng.normal(size=6)
        d -= d.mean()
        m = n + 0.5 * d
        if (m > 0).all():
            assert allocation_variance(w, v, m) >= best - 1e-12
    with pytest.raises(InvalidInputError, match="rule"):
        budget_allocation(w, v, 10.0, rule="cube")
    with pytest.raises(InvalidInputError, match="budget"):
        budget_allocation(w, v, -1.0)


def test_mixture_weight_minimizes_quadratic():
    s1, s0, b2, c = 2.0, 0.3, 0.5, 0.2
    a = mixture_weight(s1, s0, b2, c)
    al = np.linspace(-1, 2, 30001)
    mse = al ** 2 * s1 + (1 - al) ** 2 * (s0 + b2) + 2 * al * (1 - al) * c
    assert abs(al[np.argmin(mse)] - a) < 2e-4
    with pytest.raises(InvalidInputError, match="var1"):
        mixture_weight(-1.0, 1.0, 0.0)


def test_guided_policy_limits():
    pb = np.array([0.5, 0.3, 0.2])
    ll = np.log(np.array([0.1, 0.5, 0.9]))
    assert np.allclose(guided_policy(pb, ll, 0.0), pb)
    assert guided_policy(pb, ll, 50.0)[2] > 0.999
    with pytest.raises(InvalidInputError, match="log_likelihood"):
        guided_policy(pb, ll[:2], 1.0)


def _tree(seed=0):
    rng = np.random.default_rng(seed)
    table = {}

    def reward(seq):
        return table.setdefault(seq, float(rng.random()))
    model = make_sequence_model(3, 3, reward)
    return model, rng.normal(size=model.param_shape)


def test_soft_optimal_tree_is_gibbs():
    model, ref = _tree()
    beta = 0.7
    _, V, lstar = soft_optimal_tree(model, ref, beta)
    p_ref, R, _, _ = model.response_table(ref)
    gibbs = p_ref * np.exp(R / beta)
    p_star, _, _, _ = model.response_table(lstar)
    assert np.allclose(p_star, gibbs / gibbs.sum(), atol=1e-13)
    assert np.isclose(V[0], beta * np.log(gibbs.sum()))
    r = implicit_token_rewards(lstar, ref, beta)
    assert r.shape == model.param_shape
    with pytest.raises(InvalidInputError, match="beta"):
        soft_optimal_tree(model, ref, 0.0)
    with pytest.raises(InvalidInputError, match="model"):
        soft_optimal_tree("tree", ref, 1.0)


def test_gibbs_policy_and_f_divergences():
    rng = np.random.default_rng(4)
    ref = softmax_xp(rng.normal(size=5))
    r = rng.random(5)
    ps = gibbs_policy(ref, r, 0.5)
    assert np.isclose(ps.sum(), 1.0)
    p, q = softmax_xp(rng.normal(size=5)), softmax_xp(rng.normal(size=5))
    assert np.isclose(f_divergence(p, q, "reverse-kl"), f_divergence(q, p, "kl"))
    assert 0 <= f_divergence(p, q, "js") <= np.log(2)
    assert np.isclose(f_divergence(p, q, "tv"), 0.5 * np.abs(p - q).sum())
    with pytest.raises(InvalidInputError, match="kind"):
        f_divergence(p, q, "hellinger2")


def test_expectile_root_and_limits():
    rng = np.random.default_rng(5)
    q = rng.normal(size=(30, 5))
    p = rng.dirichlet(np.ones(5), size=30)
    for tau in (0.3, 0.5, 0.9):
        m = expectile(q, p, tau)
        f = np.sum(p * np.abs(tau - (q < m[:, None])) * (q - m[:, None]), 1)
        assert np.abs(f).max() < 1e-13
    assert np.allclose(expectile(q, p, 0.5), np.sum(p * q, 1))
    assert np.all(expectile(q, p, 1 - 1e-9) <= q.max(1) + 1e-12)
    with pytest.raises(InvalidInputError, match="tau"):
        expectile(q, p, 1.0)
    with pytest.raises(InvalidInputError, match="probs"):
        expectile(q, p[:, :4], 0.5)


def test_expectile_vi_half_is_evaluation_and_support_max():
    mdp = garnet(6, 3, 2, gamma=0.8, seed=0)
    pi = np.full((6, 3), 1 / 3)
    _, V = expectile_value_iteration(mdp, pi, 0.5)
    assert np.allclose(V, evaluate(mdp, pi).v, atol=1e-9)
    _, Vstar = support_optimal_values(mdp, np.ones((6, 3), bool))
    _, V99 = expectile_value_iteration(mdp, pi, 0.9999)
    assert np.all(V99 <= Vstar + 1e-9) and np.abs(V99 - Vstar).max() < 0.01


def test_agent_gradient_moments_coordination_game():
    for N in (1, 3, 5):
        m, s2, var = agent_gradient_moments(lambda a: float(all(a)), np.full(N, 0.5), 0)
        assert np.isclose(var / m ** 2, 2.0 ** N - 1)
    with pytest.raises(InvalidInputError, match="baseline"):
        agent_gradient_moments(lambda a: 1.0, np.full(2, 0.5), 0, baseline="mean")
    with pytest.raises(InvalidInputError, match="agent"):
        agent_gradient_moments(lambda a: 1.0, np.full(2, 0.5), 5)


def test_expected_abs_advantage_matches_enumeration():
    from scipy.stats import binom

    from mdpgrad.bandits.objectives import expected_abs_advantage
    p, G = 0.3, 6
    k = np.arange(G + 1)
    brute = np.sum(binom.pmf(k, G, p) * 2 * (k / G) * (1 - k / G))
    assert np.isclose(expected_abs_advantage(p, G), brute)
    assert np.isclose(expected_abs_advantage(p), 2 * p * (1 - p))
    with pytest.raises(InvalidInputError, match="G"):
        expected_abs_advantage(p, 1)


def test_max_variance_subset_is_brute_force_optimal():
    import itertools

    from mdpgrad.bandits.objectives import max_variance_subset
    rng = np.random.default_rng(6)
    a = rng.normal(size=9)
    best = max(np.var(a[list(c)]) for c in itertools.combinations(range(9), 4))
    assert np.isclose(np.var(a[max_variance_subset(a, 4)]), best)
    with pytest.raises(InvalidInputError, match="k"):
        max_variance_subset(a, 10)


def test_ema_baseline_uses_past_only():
    from mdpgrad.bandits.objectives import ema_baseline_advantages
    A, b = ema_baseline_advantages(np.array([0, 0, 1]), np.array([1.0, 0.0, 1.0]), np.array([0.5, 0.2]), 0.5)
    assert np.allclose(A, [0.5, -0.75, 0.8])
    assert np.allclose(b, [0.375, 0.6])
    with pytest.raises(InvalidInputError, match="prompt_ids"):
        ema_baseline_advantages(np.array([0, 3]), np.array([1.0, 0.0]), np.array([0.5, 0.2]), 0.5)


def test_unified_and_negative_likelihood_coefficients():
    from mdpgrad.bandits.objectives import negative_likelihood_reward, unified_pg_coefficients
    A = np.array([1.0, -2.0])
    lp = np.log([0.2, 0.5])
    assert np.allclose(unified_pg_coefficients(A, lp, lp), A)
    assert np.allclose(unified_pg_coefficients(A, lp, lp, mask=[1, 0]), [1.0, 0.0])
    assert np.allclose(negative_likelihood_reward(np.array([0.5])), [-1.0])
    with pytest.raises(InvalidInputError, match="pi_y"):
        negative_likelihood_reward(np.array([1.0]))


def test_gaussian_ratio_cvar_bgpo_nested():
    from mdpgrad.bandits.objectives import bgpo_bound, cvar_prompt_weights, gaussian_step_log_ratio, nested_mc_variance
    assert np.isclose(gaussian_step_log_ratio(0.3, 0.3, 0.0, 1.0), 0.045)
    w = cvar_prompt_weights(np.array([0.9, 0.1, 0.5, 0.3]), (0.5,))
    assert np.allclose(w, [0, 0.5, 0, 0.5])
    assert np.allclose(cvar_prompt_weights(np.arange(4.0), (1.0,)), 0.25)
    x = np.random.default_rng(7).normal(size=(5, 3))
    A = np.array([1.0, -1.0, 2.0, -0.5, 0.0])
    assert np.all(bgpo_bound(A, x) <= A * np.exp(x.mean(1)) + 1e-12)
    assert np.allclose(bgpo_bound(A, np.zeros((5, 3))), A)
    assert np.isclose(nested_mc_variance(2.0, 4.0, 4, 2), 1.0)
    with pytest.raises(InvalidInputError, match="sigma"):
        gaussian_step_log_ratio(0.0, 0.0, 0.0, 0.0)
    with pytest.raises(InvalidInputError, match="alphas"):
        cvar_prompt_weights(np.arange(3.0), (0.0,))


def test_gflownet_zero_loss_gives_proportional_sampling():
    import scipy.optimize

    from mdpgrad.gflownet import flow_matching_loss, subset_dag, terminal_distribution
    dag = subset_dag(3)
    R = np.linspace(0.5, 2.0, dag.n_states)
    th = np.random.default_rng(8).normal(size=dag.n_edges)
    f0, g0 = flow_matching_loss(dag, th, R)
    e = np.zeros(dag.n_edges)
    e[3] = 1e-6
    fd = (flow_matching_loss(dag, th + e, R)[0] - flow_matching_loss(dag, th - e, R)[0]) / 2e-6
    assert np.isclose(fd, g0[3], rtol=1e-5, atol=1e-9)
    assert np.isclose(terminal_distribution(dag, th, R).sum(), 1.0)
    res = scipy.optimize.minimize(lambda t: flow_matching_loss(dag, t, R), th, jac=True, method="L-BFGS-B",
                                  options={"ftol": 1e-30, "gtol": 1e-14, "maxiter": 5000})
    assert np.allclose(terminal_distribution(dag, res.x, R), R / R.sum(), atol=1e-6)
    with pytest.raises(InvalidInputError, match="reward"):
        flow_matching_loss(dag, th, -R)


def test_gflownet_residual_jacobian_and_drpo_weights():
    from mdpgrad.bandits.objectives import drpo_positive_weights
    from mdpgrad.gflownet import flow_matching_residuals, subset_dag
    dag = subset_dag(3)
    R = np.linspace(0.5, 2.0, dag.n_states)
    th = np.random.default_rng(9).normal(size=dag.n_edges)
    d, J = flow_matching_residuals(dag, th, R)
    e = np.zeros(dag.n_edges)
    e[5] = 1e-6
    fd = (flow_matching_residuals(dag, th + e, R)[0] - flow_matching_residuals(dag, th - e, R)[0]) / 2e-6
    assert np.allclose(fd, J[:, 5], atol=1e-8)
    w = drpo_positive_weights(np.array([[1.0, 0.5, 0.0]]), np.array([[True, True, False]]), 0.5)
    assert w[0, 2] == 0 and np.isclose(w[0, :2].mean(), 1.0) and w[0, 0] > w[0, 1] > 0
    with pytest.raises(InvalidInputError, match="lam"):
        drpo_positive_weights(np.zeros((1, 2)), np.ones((1, 2), bool), 0.0)


def test_combination_lock_and_dataset_reset():
    from mdpgrad.exact import solve
    from mdpgrad.offline import combination_lock, dataset_reset_rho
    mdp, key = combination_lock(4, 3, gamma=0.9, seed=1)
    assert np.isclose(float(solve(mdp).v @ mdp.rho), 0.9 ** 3)
    pi = np.full((6, 3), 1 / 3)
    pi[np.arange(4)] = np.eye(3)[key]
    rho = dataset_reset_rho(mdp, pi, 0.5)
    assert np.isclose(rho.sum(), 1.0) and rho[0] > 0.5 and rho[3] > 0
    assert np.allclose(dataset_reset_rho(mdp, pi, 0.0), mdp.rho)
    with pytest.raises(InvalidInputError, match="mix"):
        dataset_reset_rho(mdp, pi, 1.5)


def test_coverage_objective_gradient_and_temperature_pull():
    from mdpgrad.bandits.objectives import coverage_objective, temperature_pull
    rng = np.random.default_rng(10)
    z = rng.normal(size=8)
    c = np.arange(8) < 3
    v, g = coverage_objective(z, c, 4)
    h = 1e-6
    fd = np.array([(coverage_objective(z + h * e, c, 4)[0] - coverage_objective(z - h * e, c, 4)[0]) / (2 * h)
                   for e in np.eye(8)])
    assert np.allclose(fd, g, atol=1e-8)
    assert np.isclose(coverage_objective(z, c, 1)[0], softmax_xp(z)[c].sum())
    assert np.allclose(temperature_pull(z, 1.0), 0.0)
    assert np.isclose(temperature_pull(z, 2.0).sum(), 0.0)
    with pytest.raises(InvalidInputError, match="T"):
        temperature_pull(z, 0.0)


def test_dice_gradients_and_orthogonal_identity():
    from mdpgrad.offline import dice_value_descent, dice_value_gradients, orthogonal_gradient
    rng = np.random.default_rng(11)
    s, s2 = np.array([0, 1, 1, 2]), np.array([1, 2, 3, 3])
    r, w = rng.random(4), np.full(4, 0.25)
    rho = np.array([0.5, 0.5, 0.0, 0.0])
    V = rng.normal(size=4)
    loss, gf, gb = dice_value_gradients(V, s, r, s2, w, rho, 0.9)
    h = 1e-6
    fd = np.array([(dice_value_gradients(V + h * e, s, r, s2, w, rho, 0.9)[0]
                    - dice_value_gradients(V - h * e, s, r, s2, w, rho, 0.9)[0]) / (2 * h) for e in np.eye(4)])
    assert np.allclose(fd, gf + gb, atol=1e-7)
    g = orthogonal_gradient(gf, gb)
    assert np.isclose(g @ gf, gf @ gf)
    V_end, _, err, ratio = dice_value_descent(s, r, s2, w, rho, 0.9, steps=200)
    assert err < 1e-10 and V_end.shape == (4,)
    with pytest.raises(InvalidInputError, match="rule"):
        dice_value_descent(s, r, s2, w, rho, 0.9, rule="double")


def test_likelihood_preserving_coefficients():
    from mdpgrad.bandits.objectives import likelihood_preserving_coefficients
    A = np.array([1.0, -1.0, 1.0])
    out = likelihood_preserving_coefficients(A, np.log([0.1, 0.2, 0.5]), np.log([0.2, 0.3, 0.4]),
                                             np.array([True, False, True]), 2.0)
    assert np.allclose(out, [3.0, -1.0, 1.0])
    with pytest.raises(InvalidInputError, match="correct"):
        likelihood_preserving_coefficients(A, A, A, np.array([True]), 1.0)


def test_occupancy_chi2_and_kl_regularized_limits():
    from mdpgrad.offline import chi2_occupancy_optimum, kl_regularized_policy, occupancy_measure
    mdp = garnet(5, 2, 2, gamma=0.8, seed=3)
    pib = np.full((5, 2), 0.5)
    db = occupancy_measure(mdp, pib)
    assert np.isclose(db.sum(), 1.0)
    d_strong = chi2_occupancy_optimum(mdp, db, mdp.r, 1e4)
    assert np.allclose(d_strong, db, atol=1e-4)
    pi_strong = kl_regularized_policy(mdp, pib, mdp.r, 1e4)
    assert np.allclose(pi_strong, pib, atol=1e-3)
    pi_weak = kl_regularized_policy(mdp, pib, mdp.r, 1e-3)
    assert evaluate(mdp, pi_weak).value >= evaluate(mdp, pib).value
    with pytest.raises(InvalidInputError, match="d_base"):
        chi2_occupancy_optimum(mdp, np.zeros((5, 2)), mdp.r, 1.0)


def test_doubly_multistep_vi():
    from mdpgrad.exact import solve
    from mdpgrad.multistep import doubly_multistep_vi
    mdp = garnet(6, 3, 2, gamma=0.9, seed=4)
    vals, pols = doubly_multistep_vi(mdp, 1, 1, 5)
    v = np.zeros(6)
    for _ in range(5):
        v = (mdp.r + 0.9 * (mdp.P.reshape(18, 6) @ v).reshape(6, 3)).max(1)
    assert np.allclose(vals[-1], v)
    vals, _ = doubly_multistep_vi(mdp, 2, 4, 60)
    assert np.allclose(vals[-1], solve(mdp).v, atol=1e-8)
    with pytest.raises(InvalidInputError, match="h"):
        doubly_multistep_vi(mdp, 0, 1, 5)


def test_preference_nll_and_rpo_gradients():
    from mdpgrad.bandits.kl_regularized import preference_nll, rpo_objective
    rng = np.random.default_rng(12)
    pairs = np.array([[0, 1], [1, 2], [2, 0]])
    counts = np.array([3.0, 1.0, 2.0])
    r = rng.normal(size=4)
    loss, g = preference_nll(r, pairs, counts)
    h = 1e-6
    fd = np.array([(preference_nll(r + h * e, pairs, counts)[0] - preference_nll(r - h * e, pairs, counts)[0]) / (2 * h)
                   for e in np.eye(4)])
    assert np.allclose(fd, g, atol=1e-8) and g[3] == 0
    z, ref, base = rng.normal(size=4), rng.normal(size=4), np.full(4, 0.25)
    v, gz = rpo_objective(z, ref, pairs, counts, base, 0.5, 0.3)
    fd = np.array([(rpo_objective(z + h * e, ref, pairs, counts, base, 0.5, 0.3)[0]
                    - rpo_objective(z - h * e, ref, pairs, counts, base, 0.5, 0.3)[0]) / (2 * h) for e in np.eye(4)])
    assert np.allclose(fd, gz, atol=1e-8)
    with pytest.raises(InvalidInputError, match="pairs"):
        preference_nll(r, np.array([[0, 7]]), np.array([1.0]))


def test_value_decomposition_targets():
    from mdpgrad.value_decomposition import decomposed_target, joint_target, uniform_max_moments
    u = np.array([[[0.1, 0.5], [0.2, -0.3]]])
    assert np.allclose(decomposed_target(u), [0.35])
    assert np.allclose(decomposed_target(u, reduce="sum"), [0.7])
    assert np.allclose(joint_target(np.array([[1.0, 3.0, 2.0]])), [3.0])
    m, v = uniform_max_moments(1, 2.0)
    assert np.isclose(m, 0.0) and np.isclose(v, 4.0 / 3.0)  # U(-2, 2)
    ens = np.stack([u, u], axis=1)
    assert np.allclose(decomposed_target(ens), decomposed_target(u))
    with pytest.raises(InvalidInputError, match="reduce"):
        decomposed_target(u, reduce="max")


def test_conflict_token_mask():
    from mdpgrad.bandits.objectives import conflict_token_mask
    nodes = np.array([[[0, 1], [0, 1], [0, 2]]])
    tokens = np.array([[[1, 3], [1, 0], [2, -1]]])
    adv = np.array([[1.0, -1.0, -0.5]])
    m = conflict_token_mask(nodes, tokens, adv)
    assert m[0, 1].tolist() == [True, False]  # shares (node 0, token 1) with the positive sample, not (1, 0)
    assert not m[0, 0].any() and not m[0, 2].any()
    with pytest.raises(InvalidInputError, match="nodes"):
        conflict_token_mask(nodes[:, :2], tokens, adv)


def test_surrogate_moments_exact_and_dropout_bound():
    from mdpgrad.bandits.objectives import surrogate_moments

    rng = np.random.default_rng(3)
    mu, pi, A = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5)), rng.normal(size=5)
    m, s, v = surrogate_moments(mu, pi, A)
    assert np.isclose(m, pi @ A) and np.isclose(s, np.sum(pi ** 2 / mu * A ** 2)) and np.isclose(v, s - m * m)
    _, _, vd = surrogate_moments(mu, pi, A, drop=0.3)
    assert vd <= 1.3 ** 2 * (mu @ A ** 2) + 1e-12
    with pytest.raises(InvalidInputError, match="drop"):
        surrogate_moments(mu, pi, A, drop=-1.0)
    with pytest.raises(InvalidInputError, match="mu"):
        surrogate_moments(np.array([1.0, 0, 0, 0, 0]), pi, A)


def test_behaviour_cloning_counts_and_validation():
    from mdpgrad.offline import behaviour_cloning

    st = np.array([[0, 0, 1], [1, 0, 0]])
    ac = np.array([[1, 1, 0], [0, 2, 9]])
    mask = np.array([[True, True, True], [True, True, False]])
    pi = behaviour_cloning(st, ac, 2, 3, smoothing=1.0, mask=mask)
    assert np.allclose(pi[0], np.array([1, 3, 2]) / 6) and np.allclose(pi[1], np.array([3, 1, 1]) / 5)
    with pytest.raises(InvalidInputError, match="actions"):
        behaviour_cloning(st, ac, 2, 3)
    with pytest.raises(InvalidInputError, match="smoothing"):
        behaviour_cloning(st, ac, 2, 10, smoothing=0.0)


def test_ucb_pulls_deterministic_bernstein_vs_hoeffding():
    from mdpgrad.online import pseudo_regret, ucb_pulls

    mu = np.array([0.52, 0.5])
    nb = ucb_pulls(mu, 20000, bonus="bernstein", stochastic=False)
    nh = ucb_pulls(mu, 20000, bonus="hoeffding", stochastic=False)
    assert nb.sum() == 20000 and nh.sum() == 20000
    L = np.log(4 * 2 * 20000 ** 2)
    # deterministic: Bernstein pulls the worse arm about 3L/Delta times, Hoeffding about L/(2 Delta^2) (capped)
    assert nb[0, 1] <= 3 * L / 0.02 + 3 and nh[0, 1] >= 1.5 * nb[0, 1]
    assert np.isclose(pseudo_regret(mu, nb)[0], 0.02 * nb[0, 1])
    with pytest.raises(InvalidInputError, match="bonus"):
        ucb_pulls(mu, 10, bonus="ucb2")
    with pytest.raises(InvalidInputError, match="means"):
        ucb_pulls(np.array([1.5, 0.2]), 10)


def test_lp_reg_proxy_and_shield():
    from mdpgrad.bandits.objectives import lp_reg_coefficients, lp_reg_proxy

    pi = np.array([[0.7, 0.2, 0.05, 0.05]])
    q = lp_reg_proxy(pi, 0.1)
    assert np.allclose(q, [[0.7 / 0.9, 0.2 / 0.9, 0, 0]])
    coef, sh = lp_reg_coefficients(np.array([-1.0, -1.0, 1.0, -1.0]), np.array([0.2, 0.05, 0.2, 0.7]),
                                   low=0.3, tau=0.1)
    assert sh.tolist() == [True, False, False, False] and coef.tolist() == [0.0, -1.0, 1.0, -1.0]
    with pytest.raises(InvalidInputError, match="tau"):
        lp_reg_coefficients(np.zeros(2), np.full(2, 0.5), low=0.1, tau=0.2)


def test_hybrid_critic_tabular_recovers_q():
    from mdpgrad.offline import hybrid_critic

    mdp = garnet(5, 2, 2, gamma=0.8, seed=4)
    rng = np.random.default_rng(0)
    pi = rng.dirichlet(np.ones(2), size=5)
    q = evaluate(mdp, pi).q
    phi = np.eye(10).reshape(5, 2, 10)
    st, ac = np.repeat(np.arange(5), 2), np.tile(np.arange(2), 5)
    mu = np.full((5, 2), 0.1)
    for mode in ("on", "off", "hybrid"):
        w = hybrid_critic(mdp, phi, pi, mode, sa=(st, ac), y=q[st, ac], mu=mu, ridge=1e-12)
        assert np.allclose(w.reshape(5, 2), q, atol=1e-8), mode
    with pytest.raises(InvalidInputError, match="mode"):
        hybrid_critic(mdp, phi, pi, "both", mu=mu)
    with pytest.raises(InvalidInputError, match="mu"):
        hybrid_critic(mdp, phi, pi, "off")
