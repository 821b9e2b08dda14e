"""Preference games: validation, exact solvers, dynamics, objectives, backends and the claims."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdpgrad.errors import InvalidInputError
from mdpgrad.games import (
    PreferenceGame,
    exploitability,
    minimax_winner,
    nash_mp_step,
    preference_game,
    random_intransitive,
    regularized_exploitability,
    regularized_nash,
    rock_paper_scissors,
    rps_with_dominated,
    run_dynamics,
    spo_selfplay,
    win_fraction_rewards,
)
from mdpgrad.games.algorithms import exact_oracle, sampled_oracle
from mdpgrad.games.objectives import (
    dpo_loss,
    fit_bradley_terry,
    inpo_closed_form,
    inpo_minimizer,
    iterative_dpo,
    rlhf_policy,
    sppo_closed_form,
    sppo_square_loss_minimizer,
)
from mdpgrad.games.preference import InvalidPreferenceError, bradley_terry, log_normalize
from mdpgrad.stats import kl_divergence as kl


def _game(K, beta, seed):
    rng = np.random.default_rng(seed)
    P = random_intransitive(K, rng, transitive_weight=float(rng.uniform(0, 1)))
    mu = 0.5 * rng.dirichlet(np.ones(K)) + 0.5 / K
    return PreferenceGame(P, mu / mu.sum(), beta)


# ----------------------------------------------------------------------------- validation
def test_preference_validation_errors():
    P = rock_paper_scissors(1)
    with pytest.raises(InvalidPreferenceError, match="square"):
        PreferenceGame(np.ones((2, 3)) / 2, np.ones(2) / 2, 0.1)
    bad = P.copy()
    bad[0, 1] = 0.7  # P[0,1] + P[1,0] = 0.7 + 0.0 != 1
    with pytest.raises(InvalidPreferenceError, match=r"P\[0, 1\] \+ P\[1, 0\]"):
        PreferenceGame(bad, np.ones(3) / 3, 0.1)
    out = P.copy()
    out[0, 1], out[1, 0] = 1.2, -0.2
    with pytest.raises(InvalidPreferenceError, match="outside"):
        PreferenceGame(out, np.ones(3) / 3, 0.1)
    nan = P.copy()
    nan[0, 2] = np.nan
    with pytest.raises(InvalidPreferenceError, match="P"):
        PreferenceGame(nan, np.ones(3) / 3, 0.1)
    with pytest.raises(InvalidInputError, match="mu"):
        PreferenceGame(P, np.ones(4) / 4, 0.1)
    with pytest.raises(InvalidInputError, match="mu"):
        PreferenceGame(P, np.array([0.5, 0.5, 0.5]), 0.1)
    with pytest.raises(InvalidInputError, match="beta"):
        PreferenceGame(P, np.ones(3) / 3, -1.0)
    with pytest.raises(InvalidInputError, match=r"mu\[2\]"):
        PreferenceGame(P, np.array([0.5, 0.5, 0.0]), 0.1)
    PreferenceGame(P, np.array([0.5, 0.5, 0.0]), 0.0)  # allowed without regularization
    with pytest.raises(InvalidInputError, match="n_cycles"):
        rock_paper_scissors(0)
    with pytest.raises(InvalidInputError, match="K"):
        random_intransitive(0, 1)
    with pytest.raises(InvalidInputError, match="seed"):
        random_intransitive(3, None)


def test_game_is_frozen_and_readonly():
    g = preference_game(rock_paper_scissors(1), beta=0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.beta = 2.0
    with pytest.raises(ValueError):
        g.P[0, 0] = 0.3


def test_run_dynamics_validation():
    g = _game(4, 0.5, 0)
    with pytest.raises(InvalidInputError, match="method"):
        run_dynamics(g, "sgd", 3)
    with pytest.raises(InvalidInputError, match="n_iter"):
        run_dynamics(g, "mwu", -1)
    with pytest.raises(InvalidInputError, match="oracle"):
        run_dynamics(g, "mwu", 3, oracle="noisy")
    with pytest.raises(InvalidInputError, match="seed"):
        run_dynamics(g, "mwu", 3, oracle="sampled")
    with pytest.raises(InvalidInputError, match="eta"):
        run_dynamics(g, "nash_md", 3, step_size=5.0)  # eta * beta = 2.5 > 1
    with pytest.raises(InvalidInputError, match="pi0"):
        run_dynamics(g, "mwu", 3, pi0=np.array([1.0, 0, 0, 0]))
    with pytest.raises(InvalidInputError, match="record_every"):
        run_dynamics(g, "mwu", 3, record_every=0)
    with pytest.raises(InvalidInputError, match="beta"):
        regularized_nash(g.with_beta(0.0))
    with pytest.raises(InvalidInputError, match="n_samples"):
        spo_selfplay(g.P, 5, 1, 0)
    with pytest.raises(InvalidInputError, match="ys"):
        win_fraction_rewards(g.P, np.array([1]), np.random.default_rng(0))


# ----------------------------------------------------------------------------- generators
@given(st.integers(1, 12), st.integers(0, 2**31 - 1), st.floats(0, 2))
def test_generators_are_complementary(K, seed, w):
    P = random_intransitive(K, seed, transitive_weight=w)
    # the sigmoid is computed as (1 + tanh(x/2))/2, which is exactly complementary up to one rounding
    assert np.max(np.abs(P + P.T - 1)) <= 2e-16
    PreferenceGame(P, np.ones(K) / K, 0.1)
    B = bradley_terry(np.random.default_rng(seed).normal(size=K))
    assert np.max(np.abs(B + B.T - 1)) <= 2e-16


# ----------------------------------------------------------------------------- solvers
@given(st.integers(2, 15), st.sampled_from([0.05, 0.2, 1.0]), st.integers(0, 10_000))
def test_regularized_nash_first_order_conditions(K, beta, seed):
    g = _game(K, beta, seed)
    sol = regularized_nash(g, tol=1e-12)
    assert sol.converged and sol.residual <= 1e-12
    # gap_beta(pi*) = 0 up to the residual: gap <= beta * residual (Gibbs variational bound)
    assert -1e-13 <= sol.gap <= beta * 1e-11 + 1e-13
    # pi* is its own regularized best response
    br = np.exp(log_normalize(g.log_mu + g.P @ sol.pi / beta))
    assert np.max(np.abs(br - sol.pi)) <= 1e-11
    other = np.random.default_rng(seed).dirichlet(np.ones(K))
    assert regularized_exploitability(g, other) > sol.gap


def test_regularized_nash_large_K_without_newton():
    g = _game(400, 0.5, 3)
    sol = regularized_nash(g, tol=1e-11, newton_max_K=10)
    assert sol.method == "mirror_prox" and sol.converged


@given(st.integers(2, 12), st.integers(0, 10_000))
def test_minimax_winner_value_half(K, seed):
    P = random_intransitive(K, seed)
    mw = minimax_winner(P)
    # symmetric game: value exactly 1/2; HiGHS feasibility tolerance 1e-9 bounds the deviation
    assert abs(mw.value - 0.5) <= 1e-8
    assert -1e-12 <= mw.gap <= 1e-8
    assert np.all(exploitability(P, np.random.default_rng(seed).dirichlet(np.ones(K), size=5)) >= mw.gap - 1e-8)


def test_minimax_winner_known_cases():
    mw = minimax_winner(rock_paper_scissors(1))
    np.testing.assert_allclose(mw.pi, np.ones(3) / 3, atol=1e-9)
    mw = minimax_winner(rps_with_dominated())
    assert mw.pi[3] <= 1e-9
    s = np.array([0.1, 2.0, -1.0, 0.5])
    mw = minimax_winner(bradley_terry(s))  # transitive: the Condorcet winner, pure
    np.testing.assert_allclose(mw.pi, np.eye(4)[1], atol=1e-9)


# ----------------------------------------------------------------------------- dynamics
@given(st.integers(2, 10), st.sampled_from([0.05, 0.3, 1.0]), st.integers(0, 10_000))
def test_nash_mp_contracts_kl_per_step(K, beta, seed):
    """Mirror Prox with eta = 2: KL(pi*||pi_{t+1}) <= KL(pi*||pi_t) / (1 + 2 beta) at every step."""
    g = _game(K, beta, seed)
    star = regularized_nash(g).pi
    run = run_dynamics(g, "nash_mp", 8, pi0=np.random.default_rng(seed).dirichlet(np.ones(K)) * 0.9 + 0.1 / K)
    k = kl(star[None], run.pi)
    # round-off in KL near 1e-14 dominates below that level
    assert np.all(k[1:] <= k[:-1] / (1 + 2 * beta) + 1e-13)


def test_dynamics_converge_and_queries_counted():
    g = _game(6, 0.2, 1)
    star = regularized_nash(g).pi
    for method, n in (("nash_mp", 150), ("omd_reg", 400), ("nash_md", 3000)):
        eta = (lambda t: 2 / (0.2 * (t + 2))) if method == "nash_md" else None
        run = run_dynamics(g, method, n, step_size=eta, record_every=50)
        assert kl(star, run.final) < 1e-6, method
    run = run_dynamics(g, "nash_mp", 10)
    assert run.queries[-1] == 20 and run.steps[-1] == 10
    # MWU on RPS: average converges, last iterate does not
    rps = PreferenceGame(rock_paper_scissors(1, 0.4), np.ones(3) / 3, 0.0)
    run = run_dynamics(rps, "mwu", 2000, step_size=0.1, pi0=np.array([0.5, 0.3, 0.2]))
    assert exploitability(rps.P, run.avg_pi[-1]) < 0.01 < exploitability(rps.P, run.final)


def test_backends_agree(backend):
    g = _game(20, 0.3, 5)
    ref = run_dynamics(g, "nash_mp", 10, backend="numpy")
    out = run_dynamics(g, "nash_mp", 10, backend=backend.name)
    # identical arithmetic on the CPU; on a GPU reductions reorder: 1e-12 relative is eps x K x steps
    np.testing.assert_allclose(out.pi, ref.pi, rtol=1e-12, atol=1e-15)
    md = run_dynamics(g, "nash_md", 10, backend=backend.name)
    np.testing.assert_allclose(md.pi, run_dynamics(g, "nash_md", 10).pi, rtol=1e-12, atol=1e-15)


def test_sampled_oracle_unbiased():
    P = random_intransitive(5, 2)
    pi = np.random.default_rng(3).dirichlet(np.ones(5))
    orc = sampled_oracle(P, 50, np.random.default_rng(4))
    draws = np.array([orc(pi) for _ in range(4000)])
    g = exact_oracle(P)(pi)
    se = draws.std(axis=0, ddof=1) / np.sqrt(len(draws))
    # 4 SE per coordinate: family-wise false-alarm probability <= 5 * 6.3e-5 (Bonferroni)
    assert np.all(np.abs(draws.mean(0) - g) <= 4 * se)


def test_sampled_dynamics_approach_equilibrium():
    g = _game(5, 0.5, 7)
    star = regularized_nash(g).pi
    run = run_dynamics(g, "nash_mp", 60, oracle="sampled", n_samples=20_000, seed=0)
    # the sampling error of g is ~ sqrt(1/4/2e4) = 3.5e-3 per coordinate; the KL floor is O(that^2/beta^2)
    assert kl(star, run.final) < 1e-3
    assert kl(star, run.pi[0]) > 10 * kl(star, run.final)


def test_win_fraction_reward_unbiased_and_selfplay_converges():
    P = rps_with_dominated(margin=0.3, dominated_margin=0.2)
    pi = np.array([0.4, 0.3, 0.2, 0.1])
    rng = np.random.default_rng(11)
    first, rew = [], []
    for _ in range(3000):
        ys = rng.choice(4, size=6, p=pi)
        first.append(ys[0])
        rew.append(win_fraction_rewards(P, ys, rng)[0])
    first, rew = np.array(first), np.array(rew)
    g = P @ pi
    for y in range(4):
        x = rew[first == y]
        assert abs(x.mean() - g[y]) <= 4 * x.std(ddof=1) / np.sqrt(len(x))  # 4 SE, 4 coordinates
    run = spo_selfplay(P, 2000, 8, 0)
    assert exploitability(P, run.avg_pi[-1]) < 0.05 < exploitability(P, run.avg_pi[0])


def test_nash_mp_step_matches_closed_form():
    g = _game(4, 0.5, 9)
    lp = np.log(g.mu)
    out = nash_mp_step(lp, exact_oracle(g.P), g.log_mu, 0.5, 2.0)
    base = lp + g.log_mu
    half = log_normalize((base + 2 * g.P @ g.mu) / 2)
    np.testing.assert_allclose(out, log_normalize((base + 2 * g.P @ np.exp(half)) / 2), atol=1e-15)


# ----------------------------------------------------------------------------- objectives
def test_inpo_population_minimizer_is_omd_step():
    rng = np.random.default_rng(0)
    P = random_intransitive(5, rng)
    pit = rng.dirichlet(np.ones(5))
    lref = np.log(rng.dirichlet(np.ones(5)))
    a = inpo_minimizer(2 * np.outer(pit, pit) * P, pit, lref, 0.2, 0.8)
    b = inpo_closed_form(P, pit, lref, 0.2, 0.8)
    # least squares with condition ~ 1/min(pi)^2 <= 1e4: eps x cond ~ 1e-12
    np.testing.assert_allclose(np.exp(a), np.exp(b), atol=1e-11)


def test_sppo_square_loss_third_order():
    rng = np.random.default_rng(1)
    P = random_intransitive(4, rng)
    pit = rng.dirichlet(np.ones(4))
    tvs = [0.5 * np.abs(np.exp(sppo_square_loss_minimizer(P, pit, e)) - np.exp(sppo_closed_form(P, pit, e))).sum()
           for e in (0.2, 0.1)]
    assert tvs[1] < tvs[0] / 4  # at least second order in eta (measured: third)


def test_dpo_loss_gradient_and_invariance():
    rng = np.random.default_rng(2)
    wins = rng.random((4, 4))
    wins[3, :] = wins[:, 3] = 0
    lref = np.log(np.ones(4) / 4)
    z = rng.normal(size=4)
    val, grad = dpo_loss(z, wins, lref, 0.7)
    h = 1e-6
    fd = np.array([(dpo_loss(z + h * e, wins, lref, 0.7)[0] - dpo_loss(z - h * e, wins, lref, 0.7)[0]) / (2 * h)
                   for e in np.eye(4)])
    np.testing.assert_allclose(grad, fd, atol=1e-7)  # central differences: O(h^2) + eps/h ~ 1e-10
    assert grad[3] == 0.0


def test_bradley_terry_fit_and_rlhf():
    s = np.array([0.3, -1.0, 1.2, 0.0])
    np.testing.assert_allclose(fit_bradley_terry(bradley_terry(s)), s - s.mean(), atol=1e-6)
    pi = rlhf_policy(s, np.ones(4) / 4, 0.0)
    np.testing.assert_array_equal(pi, np.eye(4)[2])
    with pytest.raises(InvalidInputError, match="beta"):
        rlhf_policy(s, np.ones(4) / 4, -1.0)


def test_iterative_dpo_exact_loss_is_proximal_step():
    r = np.array([1.0, 0.2, -0.5])
    a = iterative_dpo(r, np.ones(3) / 3, 0.5, 3, exact_loss=True)
    b = iterative_dpo(r, np.ones(3) / 3, 0.5, 3)
    np.testing.assert_allclose(a.log_pi, b.log_pi, atol=1e-7)  # BFGS gtol 1e-12 on an O(1)-conditioned loss
    apo = iterative_dpo(r, np.ones(3) / 3, 0.5, 20, momentum=0.5)
    dpo = iterative_dpo(r, np.ones(3) / 3, 0.5, 20)
    assert apo.suboptimality[-1] < dpo.suboptimality[-1]


# ----------------------------------------------------------------------------- claims
EXPECTED = {
    "nash-mp-linear": "holds",
    "nash-md-last-iterate": "holds",
    "sppo-nash-mwu": "holds",
    "spo-minimax-winner-selfplay": "holds",
    "rlhf-bt-not-minimax-winner": "holds",
    "inpo-noregret-nash": "holds",
    "apo-nesterov-proximal-point": "holds",
    "hypo-coverage-separation": "holds",
    "cfr-plus-kuhn": "holds",
    "mmd-last-iterate-linear": "holds",
}


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_games_claims_quick(claim_id):
    """The claim itself (its controls run in tests/test_catalogue_verdicts.py)."""
    from mdpgrad.claims import get_claim, run_claim

    c = get_claim(claim_id)
    assert c.expected == EXPECTED[claim_id] and c.controls
    rec = run_claim(c, "quick", controls=False)
    assert rec.verdict.verdict == EXPECTED[claim_id], (rec.verdict.measured, rec.verdict.details, rec.error)
    assert rec.verdict.figure is not None and rec.verdict.data and rec.verdict.rule


def test_nash_mp_without_extrapolation_is_slower():
    """The negative-control hook: Nash-MP's update from pi_t itself (one query per step) contracts more slowly."""
    g = PreferenceGame(rock_paper_scissors(3, 0.4), np.ones(9) / 9, 0.1)
    star = regularized_nash(g, tol=1e-12).pi
    p0 = np.random.default_rng(0).dirichlet(np.ones(9))
    mp = run_dynamics(g, "nash_mp", 20, pi0=p0)
    nx = run_dynamics(g, "nash_mp_noextra", 20, pi0=p0)
    assert nx.queries[-1] == 20 and mp.queries[-1] == 40
    assert kl(star, nx.pi[-1]) > 1.2 * kl(star, mp.pi[-1])
