"""Tests for mdpgrad.bandits: exact models, estimator identities, backend agreement, CLT checks, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdpgrad.bandits import (
    ContextualBandit,
    aggregation_weights,
    clip_cov_mask,
    estimate_group_gradient,
    exact_expected_group_gradient,
    group_advantages,
    kl_cov_coefficients,
    kl_estimates,
    kl_loss_coefficients,
    logit_gradient,
    make_sequence_model,
    maxk_coefficients,
    maxk_exact,
    random_bandit,
    ratio_coefficients,
    sample_actions,
    zero_variance_fraction,
)
from mdpgrad.bandits.model import softmax_xp
from mdpgrad.errors import InvalidInputError
from mdpgrad.stats import bonferroni_z

# Central differences with h = 1e-6 on O(1) smooth functions: truncation h^2 |f'''| ~ 1e-12 plus
# round-off eps/h ~ 2e-10; 1e-8 leaves a wide margin.
FD_TOL = 1e-8


def _fd(f, x, h=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        g[idx] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def test_bandit_gradient_matches_finite_differences(rng):
    b = random_bandit(3, 5, seed=rng)
    th = rng.normal(size=(3, 5))
    assert np.abs(b.gradient(th) - _fd(b.objective, th)).max() < FD_TOL


def test_linear_bandit_gradient_matches_finite_differences(rng):
    phi = rng.normal(size=(3, 5, 4))
    b = ContextualBandit(rng.random((3, 5)), phi=phi)
    th = rng.normal(size=4)
    assert np.abs(b.gradient(th) - _fd(b.objective, th)).max() < FD_TOL
    assert np.allclose(b.probs(th).sum(1), 1.0, atol=1e-14)


def test_bandit_entropy_and_kl_closed_forms(rng):
    b = random_bandit(2, 6, seed=rng)
    th, ref = rng.normal(size=(2, 6)), rng.normal(size=(2, 6))
    p, q = softmax_xp(th), softmax_xp(ref)
    assert np.allclose(b.entropy(th), -np.sum(p * np.log(p), 1), atol=1e-14)
    assert np.allclose(b.kl(th, ref), np.sum(p * np.log(p / q), 1), atol=1e-14)


def _seq_model():
    return make_sequence_model(3, 3, lambda s: float(s.count(1)) + 0.1 * len(s))


def test_sequence_model_dp_matches_enumeration(rng):
    m = _seq_model()
    th, ref = rng.normal(size=m.param_shape), rng.normal(size=m.param_shape)
    prob, R, L, S = m.response_table(th)
    assert abs(prob.sum() - 1) < 1e-14
    assert abs(prob @ R - m.objective(th)) < 1e-14
    assert np.abs(np.einsum("j,j,juv->uv", prob, R, S) - m.gradient(th)).max() < 1e-14
    assert np.abs(m.gradient(th) - _fd(m.objective, th)).max() < FD_TOL
    assert abs(m.entropy(th) + prob @ np.log(prob)) < 1e-13
    prob_ref = m.response_table(ref)[0]
    assert abs(m.kl(th, ref) - prob @ np.log(prob / prob_ref)) < 1e-13
    assert set(np.unique(L)) == {1, 2, 3}


def test_sequence_sampling_and_token_gradient_unbiased(rng):
    # 4-SE test per coordinate with Bonferroni over the m = nodes*V coordinates.
    m = _seq_model()
    th = rng.normal(size=m.param_shape)
    n = 40000
    smp = m.sample(th, n, rng)
    J = m.objective(th)
    coef = np.where(smp.tokens >= 0, (smp.rewards - J)[:, None], 0.0)
    g = m.token_gradient(th, smp, coef) / n
    # per-sample estimates for the SE: recompute in chunks of 400 responses
    chunks = np.array([m.token_gradient(th, type(smp)(*(x[i:i + 400] for x in (smp.tokens, smp.nodes, smp.lengths,
                                                                              smp.rewards, smp.logp))),
                                        coef[i:i + 400]) / 400 for i in range(0, n, 400)])
    se = chunks.std(0, ddof=1) / math.sqrt(len(chunks))

    zthr = bonferroni_z(g.size)
    d = np.abs(g - m.gradient(th))
    assert np.all(d <= zthr * se + 1e-12)
    assert abs(smp.rewards.mean() - J) < 6 * smp.rewards.std() / math.sqrt(n)


def test_sequence_model_rejects_bad_arguments():
    with pytest.raises(InvalidInputError, match="V"):
        make_sequence_model(1, 3, lambda s: 0.0)
    with pytest.raises(InvalidInputError, match="eos"):
        make_sequence_model(3, 3, lambda s: 0.0, eos=5)
    with pytest.raises(InvalidInputError, match="max_nodes"):
        make_sequence_model(50, 5, lambda s: 0.0)
    m = _seq_model()
    with pytest.raises(InvalidInputError, match="theta"):
        m.objective(np.zeros((2, 2)))
    from mdpgrad.bandits import MarkovSequenceModel

    with pytest.raises(InvalidInputError, match="eos"):
        MarkovSequenceModel(3, 2, 3, None)
    with pytest.raises(InvalidInputError, match="V"):
        MarkovSequenceModel(1, 2, 0, None)
    mk = MarkovSequenceModel(3, 2, 0, lambda t, L: np.zeros(len(L)))
    with pytest.raises(InvalidInputError, match="ref_theta"):
        mk.kl(np.zeros(mk.param_shape), np.zeros((2, 2)))
    with pytest.raises(InvalidInputError, match="n_groups"):
        mk.estimate(np.zeros(mk.param_shape), 1, 2, 0)


# --- advantages and weights -----------------------------------------------------------------
@given(st.integers(2, 9), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_rloo_is_scaled_group_mean_and_permutation_equivariant(G, N, seed):
    rng = np.random.default_rng(seed)
    r = rng.normal(size=(N, G))
    A = group_advantages(r, "rloo")
    # definition r_i - mean_{j != i} r_j, written out
    loo = np.array([[r[n, i] - np.delete(r[n], i).mean() for i in range(G)] for n in range(N)])
    assert np.abs(A - loo).max() < 1e-12
    assert np.abs(A - G / (G - 1) * group_advantages(r, "mean")).max() < 1e-12
    perm = rng.permutation(G)
    for method in ("rloo", "grpo", "mean", "bnpo"):
        rr = (r > 0).astype(float) if method == "bnpo" else r
        assert np.allclose(group_advantages(rr, method)[:, perm], group_advantages(rr[:, perm], method), atol=1e-12)


def test_advantage_variants():
    r = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    grpo = group_advantages(r, "grpo")
    assert np.all(grpo[1:] == 0.0)
    assert abs(grpo[0] @ np.ones(4)) < 1e-12
    assert np.allclose(group_advantages(r, "gpg"), 3.0 * group_advantages(r, "mean"))  # 1 of 3 prompts informative
    rpp = group_advantages(r, "reinforce++")
    assert abs(rpp.mean()) < 1e-12 and abs(rpp.std() - 1) < 1e-5
    assert np.allclose(group_advantages(r, "remax", baseline=[0.5, 0.0, 1.0]), r - np.array([[0.5], [0.0], [1.0]]))
    p = np.array([0.3, 0.5, 0.9])
    assert np.allclose(group_advantages(r, "bnpo", p=p, bnpo_ab=(1, 1)), r - p[:, None])


def test_aggregation_weights():
    L = np.array([[1, 2, 4, 8]], dtype=float)
    M = 8
    w = {a: aggregation_weights(L, a, max_len=M) for a in ("sequence", "seq-mean-token-mean", "token-mean", "drgrpo",
                                                             "deltaL")}
    assert np.allclose(w["sequence"], 0.25)
    assert np.allclose(w["seq-mean-token-mean"], 1 / (4 * L))
    assert np.allclose(w["token-mean"], 1 / 15)
    assert np.allclose(w["drgrpo"], 1 / 32)
    assert abs(w["deltaL"].sum() - 1 / M) < 1e-15 and np.allclose(w["deltaL"] * L, (w["deltaL"] * L)[0, 0])


def test_ratio_coefficients():
    adv = np.array([[1.0, 1.0, -1.0, -1.0]])
    lp = np.log(np.array([[1.5, 0.9, 0.5, 1.1]]))
    lo = np.zeros_like(lp)
    assert np.allclose(ratio_coefficients(adv, lp, lo, "ppo", clip_eps=0.2), [[0.0, 0.9, 0.0, 1.1]])
    assert np.allclose(ratio_coefficients(adv, lp, lo, "is"), np.exp(lp))
    assert np.allclose(ratio_coefficients(adv, lp, lo, "topr", rewards=adv), [[1.0, 1.0, 0.5, 1.0]])
    assert np.all(ratio_coefficients(adv, lp) == 1.0)


def test_opmd_coefficients_vanish_at_target_and_asymre_shift(rng):
    # uniform pi_old and a group holding each arm once: tau log mean e^{r/tau} is the exact tau log Z, so every
    # residual r - tau log Z - tau log(pi*/pi_old) is 0 at pi* = pi_old e^{r/tau} / Z.
    from mdpgrad.bandits import opmd_coefficients

    K, tau = 6, 0.4
    r = rng.random(K)
    old = np.full(K, 1 / K)
    target = old * np.exp(r / tau)
    target /= target.sum()
    c = opmd_coefficients(r[None], np.log(target)[None], np.log(old)[None], tau)
    assert np.abs(c).max() < 1e-13
    # at pi = pi_old the coefficients are 2 tau (r - tau log Z): largest on the best arm, smallest on the worst
    c_old = opmd_coefficients(r[None], np.log(old)[None], np.log(old)[None], tau)[0]
    assert np.argmax(c_old) == np.argmax(r) and np.argmin(c_old) == np.argmin(r)
    A = group_advantages(r[None], "mean", baseline_shift=0.25)
    assert np.allclose(A, group_advantages(r[None], "mean") + 0.25)
    with pytest.raises(InvalidInputError, match="tau"):
        opmd_coefficients(r[None], r[None], r[None], 0.0)


def test_importance_sampling_with_stale_behaviour_is_unbiased(rng):
    # 4-SE CLT (Bonferroni over 15 coordinates) for REINFORCE with full IS from a stale behaviour policy.
    b = random_bandit(3, 5, seed=6)
    th, beh = rng.normal(size=(3, 5)), rng.normal(size=(3, 5)) * 0.5
    M = 20000
    big = ContextualBandit(np.tile(b.q, (M, 1)))
    est = estimate_group_gradient(big, np.tile(th, (M, 1)), 4, "reinforce", seed=rng, correction="is",
                            behavior_logits=np.tile(beh, (M, 1)))
    s = np.asarray(est.grad).reshape(M, 3, 5) * M
    z, thr = _clt(s, b.gradient(th))
    assert z <= thr
    # without the correction the same data estimate a different vector (bias > 6 SE)
    est0 = estimate_group_gradient(big, np.tile(th, (M, 1)), 4, "reinforce", seed=rng, behavior_logits=np.tile(beh, (M, 1)))
    z0, _ = _clt(np.asarray(est0.grad).reshape(M, 3, 5) * M, b.gradient(th))
    assert z0 > 6


def test_kl_estimators_exact_expectations(rng):
    p, q = rng.dirichlet(np.ones(7)), rng.dirichlet(np.ones(7))
    kl = p @ np.log(p / q)
    k1, k2, k3 = kl_estimates(np.log(p), np.log(q))
    assert abs(p @ k1 - kl) < 1e-15 and abs(p @ k3 - kl) < 1e-15 and np.all(k3 >= 0)
    c3 = kl_loss_coefficients(np.log(p), np.log(q), "k3")
    # E_p[c3 (e_a - p)] = sum_a p_a (1 - q_a/p_a)(e_a - p) = p - q (forward-KL gradient)
    g = logit_gradient(np.log(p)[None], np.arange(7)[None], (p * c3)[None])[0]
    assert np.abs(g - (p - q)).max() < 1e-14


def test_maxk_closed_form_and_u_statistic(rng):
    pi, vals = rng.dirichlet(np.ones(5)), rng.random(5)
    for k in (1, 2, 3):
        # E[max of k draws] by enumerating all 5^k tuples
        import itertools

        brute = sum(np.prod(pi[list(t)]) * vals[list(t)].max() for t in itertools.product(range(5), repeat=k))
        assert abs(maxk_exact(pi, vals, k)[0] - brute) < 1e-14
    r = rng.random((20, 7))
    for k in (1, 2, 4, 7):
        assert np.abs(maxk_coefficients(r, k) - maxk_coefficients(r, k, weights=np.ones_like(r))).max() < 1e-13
    assert np.abs(maxk_exact(pi, vals, 1)[1] - pi * (vals - pi @ vals)).max() < 1e-15


def test_zero_variance_fraction_and_cov_controls(rng):
    assert np.allclose(zero_variance_fraction(np.array([0.0, 0.5, 1.0]), 3), [1.0, 0.25, 1.0])
    lp, adv = rng.normal(size=1000), rng.normal(size=1000)
    mask = clip_cov_mask(lp, adv, clip_ratio=0.01, cov_low=0.5, cov_high=10.0, rng=rng)
    cov = (lp - lp.mean()) * (adv - adv.mean())
    assert mask.sum() == 990 and np.all((cov[mask == 0] >= 0.5) & (cov[mask == 0] <= 10.0))
    c = kl_cov_coefficients(lp, lp - 0.1, adv, top_ratio=0.01, beta=2.0)
    assert np.count_nonzero(c) == 10 and np.all(c[c != 0] == -2.0)
    assert np.all(cov[c != 0] >= np.sort(cov)[-10])


# --- backends ------------------------------------------------------------------------------
@pytest.mark.kernels("sample_actions", "logit_gradient")
def test_backends_agree_on_sampling_and_gradient(backend, rng):
    N, V, G = 16, 300, 8
    logits = rng.normal(size=(N, V)) * 2
    u = rng.random((N, G))
    a0, lp0 = sample_actions(logits, G, u=u, backend="numpy")
    a1, lp1 = sample_actions(logits, G, u=u, backend=backend)
    a1, lp1 = backend.to_numpy(a1), backend.to_numpy(lp1)
    assert np.array_equal(a0, a1)
    # float64 log-softmax of O(1) logits: rounding ~ 1e-15 * V
    assert np.abs(lp0 - lp1).max() < 1e-12
    coef = rng.normal(size=(N, G))
    g0 = logit_gradient(logits, a0, coef, backend="numpy")
    g1 = backend.to_numpy(logit_gradient(logits, a0, coef, backend=backend))
    assert np.abs(g0 - g1).max() < 1e-13
    assert np.abs(g0.sum(1)).max() < 1e-12  # softmax score sums to zero


@pytest.mark.kernels("sample_actions", "logit_gradient")
def test_estimate_gradient_backends_agree(backend, rng):
    b = random_bandit(6, 40, seed=1)
    th = rng.normal(size=(6, 40))
    kw = dict(method="grpo", kl_coef=0.1, ref_logits=np.zeros((6, 40)))
    e0 = estimate_group_gradient(b, th, 8, seed=5, backend="numpy", **kw)
    e1 = estimate_group_gradient(b, th, 8, seed=5, backend=backend, **kw)
    assert np.array_equal(np.asarray(e0.actions), backend.to_numpy(e1.actions))
    assert np.abs(np.asarray(e0.grad) - backend.to_numpy(e1.grad)).max() < 1e-13


def test_vocabulary_scale_backends_agree(rng):
    # V = 150k (a large LLM vocabulary), 4 prompts: numpy and numba give the same samples and gradient.
    b = ContextualBandit(rng.random((4, 150_000)))
    th = rng.normal(size=(4, 150_000)) * 3
    e0 = estimate_group_gradient(b, th, 16, "rloo", seed=1)
    e1 = estimate_group_gradient(b, th, 16, "rloo", seed=1, backend="numba")
    assert np.array_equal(e0.actions, e1.actions)
    assert np.abs(np.asarray(e0.grad) - np.asarray(e1.grad)).max() < 1e-13
    assert abs(b.gradient(th).sum()) < 1e-12  # softmax gradients sum to zero per prompt


def test_sampling_frequencies_match_softmax(rng):
    # chi-square-free check: each frequency within 5 SE of pi (Bonferroni over 20 cells, p ~ 1e-5)
    logits = rng.normal(size=(1, 20))
    a, _ = sample_actions(np.tile(logits, (5000, 1)), 4, rng, backend="numba")
    f = np.bincount(a.ravel(), minlength=20) / a.size
    pi = softmax_xp(logits[0])
    assert np.all(np.abs(f - pi) <= 5 * np.sqrt(pi * (1 - pi) / a.size))


# --- estimators vs exact gradients (CLT) ----------------------------------------------------
def _clt(samples, exact):

    M = samples.shape[0]
    se = samples.std(0, ddof=1) / math.sqrt(M)
    z = np.abs(samples.mean(0) - exact) / se
    thr = bonferroni_z(exact.size)  # 4 SE, Bonferroni
    return float(z.max()), float(thr)


def test_rloo_unbiased_grpo_biased_clt(rng):
    # M replicate groups are stacked as extra prompts of one bandit, so one estimate_group_gradient call draws them all;
    # its 1/(N M G) normalization is undone by the factor M.
    b = random_bandit(4, 5, seed=3)
    th = rng.normal(size=(4, 5))
    g = b.gradient(th)
    M = 20000
    big = ContextualBandit(np.tile(b.q, (M, 1)))
    for method, unbiased in (("rloo", True), ("grpo", False)):
        est = estimate_group_gradient(big, np.tile(th, (M, 1)), 4, method, seed=rng)
        s = np.asarray(est.grad).reshape(M, 4, 5) * M
        z, thr = _clt(s, g)
        if unbiased:
            assert z <= thr
        else:
            assert z > 6
        # the exact expectation formula is itself checked by the same CLT test
        z_exact, thr = _clt(s, exact_expected_group_gradient(b, th, 4, method))
        assert z_exact <= thr


def test_linear_logits_rloo_unbiased(rng):
    # per-replicate theta-gradients from the stacked logit gradients: g_theta[m] = sum_{n,v} g_z[m,n,v] phi[n,v,:]
    N, V, d, M = 2, 4, 3, 20000
    phi = rng.normal(size=(N, V, d))
    b = ContextualBandit(rng.random((N, V)), phi=phi)
    th = rng.normal(size=d)
    big = ContextualBandit(np.tile(b.q, (M, 1)), phi=np.tile(phi, (M, 1, 1)))
    est = estimate_group_gradient(big, th, 4, "rloo", seed=rng)
    gz = np.asarray(est.grad_logits).reshape(M, N, V) * M
    s = np.einsum("mnv,nvd->md", gz, phi)
    z, thr = _clt(s, b.gradient(th))
    assert z <= thr
    assert np.abs(np.asarray(est.grad) - s.mean(0)).max() < 1e-12  # the chained gradient is the replicate mean


def test_ppo_at_behaviour_equals_on_policy(rng):
    b = random_bandit(3, 6, seed=4)
    th = rng.normal(size=(3, 6))
    e0 = estimate_group_gradient(b, th, 4, "rloo", seed=9)
    e1 = estimate_group_gradient(b, th, 4, "rloo", seed=9, correction="ppo", behavior_logits=th)
    assert np.abs(np.asarray(e0.grad) - np.asarray(e1.grad)).max() < 1e-15


# --- validation ------------------------------------------------------------------------------
def test_validation_errors(rng):
    with pytest.raises(InvalidInputError, match="q"):
        ContextualBandit(np.array([[0.5, 1.5]]))
    with pytest.raises(InvalidInputError, match="reward"):
        ContextualBandit(np.array([[0.5]]), reward="poisson")
    with pytest.raises(InvalidInputError, match="noise"):
        ContextualBandit(np.array([[0.5]]), reward="gaussian", noise=-1)
    with pytest.raises(InvalidInputError, match="phi"):
        ContextualBandit(np.ones((2, 3)) / 2, phi=np.ones((2, 4, 1)))
    b = random_bandit(2, 3, seed=0)
    with pytest.raises(InvalidInputError, match="theta"):
        b.gradient(np.zeros(3))
    with pytest.raises(InvalidInputError, match="n_correct"):
        random_bandit(2, 3, n_correct=4, seed=0)
    with pytest.raises(InvalidInputError, match="method"):
        group_advantages(np.zeros((2, 3)), "ppo")
    with pytest.raises(InvalidInputError, match="G"):
        group_advantages(np.zeros((2, 1)), "rloo")
    with pytest.raises(InvalidInputError, match="rewards"):
        group_advantages(np.array([[np.nan, 1.0]]), "rloo")
    with pytest.raises(InvalidInputError, match="rewards"):
        group_advantages(np.zeros(3), "rloo")
    with pytest.raises(InvalidInputError, match="baseline"):
        group_advantages(np.zeros((2, 3)), "remax")
    with pytest.raises(InvalidInputError, match="bnpo_ab"):
        group_advantages(np.zeros((2, 3)), "bnpo", bnpo_ab=(0, 1))
    with pytest.raises(InvalidInputError, match="aggregation"):
        aggregation_weights(np.ones((1, 2)), "max")
    with pytest.raises(InvalidInputError, match="max_len"):
        aggregation_weights(np.ones((1, 2)), "deltaL")
    with pytest.raises(InvalidInputError, match="lengths"):
        aggregation_weights(np.zeros((1, 2)), "sequence")
    with pytest.raises(InvalidInputError, match="correction"):
        ratio_coefficients(np.ones(2), np.zeros(2), np.zeros(2), "vtrace")
    with pytest.raises(InvalidInputError, match="logp_old"):
        ratio_coefficients(np.ones(2), np.zeros(2), None, "ppo")
    with pytest.raises(InvalidInputError, match="rewards"):
        ratio_coefficients(np.ones(2), np.zeros(2), np.zeros(2), "topr")
    with pytest.raises(InvalidInputError, match="kind"):
        kl_loss_coefficients(np.zeros(2), np.zeros(2), "k4")
    with pytest.raises(InvalidInputError, match="k = 5"):
        maxk_coefficients(np.zeros((1, 3)), 5)
    with pytest.raises(InvalidInputError, match="p"):
        zero_variance_fraction(np.array([1.2]), 2)
    with pytest.raises(InvalidInputError, match="logits"):
        sample_actions(np.zeros(3), 2, rng)
    with pytest.raises(InvalidInputError, match="rng"):
        sample_actions(np.zeros((2, 3)), 2)
    with pytest.raises(InvalidInputError, match="rng"):
        b.sample_rewards(np.zeros((2, 2), dtype=int))
    with pytest.raises(InvalidInputError, match="u"):
        sample_actions(np.zeros((2, 3)), 2, u=np.zeros((3, 2)))
    with pytest.raises(InvalidInputError, match="coef"):
        logit_gradient(np.zeros((2, 3)), np.zeros((2, 2), dtype=int), np.zeros((2, 3)))
    with pytest.raises(InvalidInputError, match="bandit"):
        exact_expected_group_gradient(ContextualBandit(np.ones((1, 2)), reward="gaussian"), np.zeros((1, 2)), 2)
    with pytest.raises(InvalidInputError, match="method"):
        exact_expected_group_gradient(b, np.zeros((2, 3)), 2, "gpg")
    with pytest.raises(InvalidInputError, match="ref_logits"):
        estimate_group_gradient(b, np.zeros((2, 3)), 2, kl_coef=0.1, seed=0)
    with pytest.raises(InvalidInputError, match="backend"):
        estimate_group_gradient(b, np.zeros((2, 3)), 2, backend="jax", seed=0)


def test_sequence_group_gradient_rloo_unbiased_grpo_token_mean_biased():
    # 4-SE CLT per coordinate with Bonferroni over the nodes*V coordinates; the token-mean bias is
    # the exact E[(r - J) s / |y|] - grad J (enumeration), which must exceed 6 SE somewhere.

    from mdpgrad.bandits import sequence_group_gradient

    m = make_sequence_model(3, 3, lambda s: float(s.count(1) >= 1) + 0.5 * (len(s) == 3))
    rng = np.random.default_rng(8)
    th = rng.normal(size=m.param_shape)
    g = m.gradient(th)
    reps = np.array([sequence_group_gradient(m, th, 4, 50, "rloo", rng=rng)[0] for _ in range(300)])
    se = reps.std(0, ddof=1) / np.sqrt(len(reps))
    thr = bonferroni_z(g.size)
    assert np.all(np.abs(reps.mean(0) - g) <= thr * se + 1e-15)
    prob, R, L, S = m.response_table(th)
    e_tok = np.einsum("j,j,juv->uv", prob, (R - prob @ R) / L, S)
    # weights 1/(G L_i) over G responses: expectation E[(r - J) s / |y|]
    reps_t = np.array([sequence_group_gradient(m, th, 4, 50, "rloo", rng=rng, aggregation="seq-mean-token-mean")[0]
                       for _ in range(300)])
    se_t = reps_t.std(0, ddof=1) / np.sqrt(len(reps_t))
    assert np.all(np.abs(reps_t.mean(0) - e_tok) <= thr * se_t + 1e-15)
    assert np.max(np.abs(e_tok - g) / np.maximum(se_t, 1e-300)) > 6


@given(st.integers(0, 2**31 - 1), st.sampled_from(["rloo", "grpo", "mean", "bnpo", "reinforce"]))
def test_exact_group_expectation_matches_brute_force(seed, method):
    # Brute force: enumerate all (action, reward) outcomes of a group of G=3 on K=3 actions (6^3 = 216 groups).
    import itertools

    rng = np.random.default_rng(seed)
    K, G = 3, 3
    b = ContextualBandit(rng.random((1, K)))
    th = rng.normal(size=(1, K))
    pi = softmax_xp(th[0])
    q = b.q[0]
    out = np.zeros(K)
    for combo in itertools.product(range(K), (0, 1), repeat=G):
        acts, rews = np.array(combo[0::2]), np.array(combo[1::2], dtype=float)
        pr = np.prod(pi[acts] * np.where(rews > 0, q[acts], 1 - q[acts]))
        A = group_advantages(rews[None], method)[0]
        out += pr * sum(A[i] * (np.eye(K)[acts[i]] - pi) for i in range(G)) / G
    assert np.abs(out - exact_expected_group_gradient(b, th, G, method)[0]).max() < 1e-12


def _markov_and_tree(rng, V=3, T=3):
    """A Markov model and the equivalent prefix tree (node logits = theta[depth, last token])."""
    from mdpgrad.bandits import MarkovSequenceModel

    def rf_tuple(s):
        return float(s.count(1)) + 0.3 * (len(s) == 2)

    def rf(tokens, lengths):
        return np.array([rf_tuple(tuple(int(x) for x in row[:L])) for row, L in zip(tokens, lengths)])

    mk = MarkovSequenceModel(V, T, 0, rf)
    tree = make_sequence_model(V, T, rf_tuple)
    th = rng.normal(size=mk.param_shape)
    th_tree = np.array([th[len(p), p[-1] if p else V] for p in tree.prefixes])
    return mk, tree, th, th_tree


def test_markov_model_exact_dp_matches_tree(rng):
    mk, tree, th, th_tree = _markov_and_tree(rng)
    ref = rng.normal(size=mk.param_shape)
    ref_tree = np.array([ref[len(p), p[-1] if p else mk.V] for p in tree.prefixes])
    assert abs(mk.entropy(th) - tree.entropy(th_tree)) < 1e-13
    assert abs(mk.kl(th, ref) - tree.kl(th_tree, ref_tree)) < 1e-13
    prob, _, L, _ = tree.response_table(th_tree)
    assert abs(mk.expected_length(th) - prob @ L) < 1e-13


def test_markov_model_sampled_gradient_unbiased(rng):
    # exact Markov gradient = tree gradient summed over nodes sharing (depth, last token); 4-SE Bonferroni test

    mk, tree, th, th_tree = _markov_and_tree(rng)
    g_tree = tree.gradient(th_tree)
    g = np.zeros(mk.param_shape)
    for u, p in enumerate(tree.prefixes):
        g[len(p), p[-1] if p else mk.V] += g_tree[u]
    J, J_se, gh, se = mk.estimate(th, 4000, 4, rng)
    thr = bonferroni_z(g.size)
    assert abs(J - tree.objective(th_tree)) <= 4 * J_se
    assert np.all(np.abs(gh - g) <= thr * se + 1e-14)
    # vocabulary and length far beyond enumeration: V=200, T=30 (V^T ~ 1e69) still has exact entropy
    from mdpgrad.bandits import MarkovSequenceModel

    big = MarkovSequenceModel(200, 30, 0, lambda tok, L: (L > 10).astype(float))
    thb = rng.normal(size=big.param_shape)
    assert 0 < big.entropy(thb) <= 30 * np.log(200) and 1 <= big.expected_length(thb) <= 30
    Jb, Jb_se, _, _ = big.estimate(thb, 20, 4, rng)
    assert 0 <= Jb <= 1 and Jb_se >= 0


# --- the group estimators written once against the array API standard -----------------------------
@pytest.fixture(params=["numpy", "array_api_strict"])
def xp(request):
    """A namespace of the array API standard: NumPy (what the library computes with) and array-api-strict
    (which refuses anything outside the standard, as CuPy or torch would need)."""
    return pytest.importorskip(request.param)


def _to_numpy(a):
    return a if isinstance(a, np.ndarray) else np.from_dlpack(a)


@pytest.mark.parametrize("method", ["reinforce", "mean", "rloo", "grpo", "drgrpo", "remax", "reinforce++",
                                    "reinforce++-baseline", "gpg", "bnpo"])
def test_group_advantages_on_any_array_namespace(xp, method, rng):
    r = (rng.random((6, 5)) < 0.4).astype(float)
    r[0] = 1.0  # one zero-variance group (gpg)
    base = rng.random(6)
    kw = {"baseline": base} if method in ("reinforce", "remax") else {}
    ref = group_advantages(r, method, **kw)
    kx = {"baseline": xp.asarray(base)} if kw else {}
    got = group_advantages(xp.asarray(r), method, baseline_shift=0.0, **kx)
    assert np.abs(_to_numpy(got) - ref).max() <= 1e-15


def test_group_coefficients_on_any_array_namespace(xp, rng):
    from mdpgrad.bandits import aggregation_weights, kl_estimates, kl_loss_coefficients, opmd_coefficients

    r, lp, lo = rng.random((4, 6)), -rng.random((4, 6)), -rng.random((4, 6))
    adv = rng.normal(size=(4, 6))
    L = rng.integers(1, 9, size=(4, 6)).astype(float)
    X = {k: xp.asarray(v) for k, v in dict(r=r, lp=lp, lo=lo, adv=adv, L=L).items()}
    pairs = [(opmd_coefficients(r, lp, lo, 0.5), opmd_coefficients(X["r"], X["lp"], X["lo"], 0.5))]
    for corr in ("none", "is", "ppo", "topr"):
        pairs.append((ratio_coefficients(adv, lp, lo, corr, rewards=r - 0.5),
                      ratio_coefficients(X["adv"], X["lp"], X["lo"], corr, rewards=X["r"] - 0.5)))
    for agg in ("sequence", "seq-mean-token-mean", "token-mean", "drgrpo", "deltaL"):
        pairs.append((aggregation_weights(L, agg, max_len=9), aggregation_weights(X["L"], agg, max_len=9)))
    pairs += list(zip(kl_estimates(lp, lo), kl_estimates(X["lp"], X["lo"])))
    for kind in ("k1", "k2", "k3", "k1-score"):
        pairs.append((kl_loss_coefficients(lp, lo, kind), kl_loss_coefficients(X["lp"], X["lo"], kind)))
    for ref, got in pairs:
        assert np.abs(_to_numpy(got) - ref).max() <= 1e-15
def test_negative_control_hooks_of_the_estimators():
    """The documented wrong variants used as negative controls by theory/llm_rl.py."""
    import math

    from mdpgrad.bandits import bnpo_normalizer, rpg_coefficients
    from mdpgrad.errors import InvalidInputError

    p = np.array([0.2, 0.5, 0.7])
    lB = math.lgamma(2.0) + math.lgamma(3.0) - math.lgamma(5.0)
    assert np.allclose(bnpo_normalizer(p, 2.0, 3.0, normalized=False), bnpo_normalizer(p, 2.0, 3.0) * math.exp(lB))
    r, lp, lo, lr = np.array([1.0, 0.0]), np.log([0.3, 0.7]), np.log([0.5, 0.5]), np.log([0.6, 0.4])
    w = np.exp(lp - lo)
    assert np.allclose(rpg_coefficients(r, lp, lo, lr, 0.1, "reverse-norm"), w * (r - 0.1 * (lp - lr)))
    assert np.allclose(rpg_coefficients(r, lp, lo, lr, 0.1, "reverse-norm", importance=False), r - 0.1 * (lp - lr))
    with pytest.raises(InvalidInputError, match="kind"):
        rpg_coefficients(r, lp, lo, lr, 0.1, "reverse")


def test_group_gradient_replicates_rloo_is_unbiased():
    from mdpgrad.bandits import ContextualBandit, group_gradient_replicates

    rng = np.random.default_rng(5)
    bandit = ContextualBandit(rng.random((3, 4)))
    theta = rng.normal(size=(3, 4))
    s = group_gradient_replicates(bandit, theta, 4, "rloo", 4000, rng)
    g = bandit.gradient(theta)
    se = s.std(0, ddof=1) / np.sqrt(len(s))
    assert s.shape == (4000, 3, 4) and np.max(np.abs(s.mean(0) - g) / se) < 5


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_logit_gradient_out_float32_and_bad_out(backend):
    """A float32 ``out`` (half the memory at V = 32k) gets the float64 gradient rounded; anything else is
    refused by name before the kernel runs."""
    from mdpgrad.bandits.model import logit_gradient

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 40))
    actions = rng.integers(0, 40, size=(5, 3))
    coef = rng.normal(size=(5, 3))
    ref = np.asarray(logit_gradient(logits, actions, coef, backend=backend))
    out = np.full((5, 40), np.nan, dtype=np.float32)
    logit_gradient(logits, actions, coef, backend=backend, out=out)
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-7)
    for bad in (np.zeros((5, 40), dtype=np.int64), np.zeros((5, 39)), [[0.0] * 40] * 5):
        with pytest.raises(ValueError, match="out: expected"):
            logit_gradient(logits, actions, coef, backend=backend, out=bad)
    ro = np.zeros((5, 40))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        logit_gradient(logits, actions, coef, backend=backend, out=ro)
