"""Extensive-form games: tree construction, exact best responses, CFR, sampled local OMD, the EFG claim."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import check_notebook
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpgrad.errors import InvalidInputError
from mdpgrad.games.efg import (
    CHANCE,
    P0,
    TERMINAL,
    _balanced_sampling,
    _cf_values,
    best_response,
    cfr,
    efg_exploitability,
    expected_value,
    kuhn_poker,
    leduc_poker,
    mmd,
    random_tree,
    sampled_local_omd,
    sequence_form,
    uniform_strategy,
)
from mdpgrad.kernels.efg import sample_action


@pytest.fixture(scope="module")
def kuhn():
    return kuhn_poker()


def test_kuhn_structure(kuhn):
    assert kuhn.n_infosets == (6, 6)
    assert int((kuhn.kind == TERMINAL).sum()) == 30
    np.testing.assert_allclose(kuhn.chance_prob[0][:6], np.full(6, 1 / 6))
    # zero-sum payoffs in {+-1, +-2}
    assert set(np.abs(kuhn.utility[kuhn.kind == TERMINAL])) == {1.0, 2.0}


def test_best_response_equals_brute_force(kuhn):
    """Enumerate all 2^6 pure strategies of each player: the backward-induction value is their max."""
    rng = np.random.default_rng(0)
    for _ in range(3):
        s = [uniform_strategy(kuhn, p) for p in (0, 1)]
        for p in (0, 1):
            s[p][:, :2] = rng.dirichlet(np.ones(2), size=6)
        for p in (0, 1):
            v, br = best_response(kuhn, p, s[1 - p])
            sign = 1 if p == 0 else -1
            best = -np.inf
            for bits in itertools.product((0, 1), repeat=6):
                pure = np.zeros_like(s[p])
                pure[np.arange(6), bits] = 1.0
                prof = (pure, s[1]) if p == 0 else (s[0], pure)
                best = max(best, sign * expected_value(kuhn, *prof))
            assert abs(v - best) <= 1e-12
            prof = (br, s[1]) if p == 0 else (s[0], br)
            assert abs(sign * expected_value(kuhn, *prof) - v) <= 1e-12


@settings(max_examples=10)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(2, 3), st.integers(0, 2**31 - 1))
def test_random_tree_best_response_bounds(n_types, depth, n_actions, seed):
    g = random_tree(n_types, depth, n_actions, seed=seed)
    rng = np.random.default_rng(seed)
    s = []
    for p in (0, 1):
        x = uniform_strategy(g, p)
        x[:, :n_actions] = rng.dirichlet(np.ones(n_actions), size=g.n_infosets[p])
        s.append(x)
    u = expected_value(g, *s)
    b0, br0 = best_response(g, 0, s[1])
    b1, br1 = best_response(g, 1, s[0])
    # best responses dominate the profile's own strategies; tolerance: sums of <= 1e3 O(1) terms
    assert b0 >= u - 1e-12 and b1 >= -u - 1e-12
    assert abs(expected_value(g, br0, s[1]) - b0) <= 1e-12
    assert efg_exploitability(g, *s) >= -1e-12


def test_cfr_plus_solves_kuhn(kuhn):
    run = cfr(kuhn, 400, plus=True)
    assert run.exploitability[-1] < 5e-3
    assert efg_exploitability(kuhn, *run.avg) >= 0
    # the game value of Kuhn poker for the first player is -1/18; |u(avg) - v*| <= exploitability
    assert abs(expected_value(kuhn, *run.avg) + 1 / 18) <= run.exploitability[-1]
    plain = cfr(kuhn, 200)
    assert plain.exploitability[-1] < plain.exploitability[0]


def test_sequence_form_consistency(kuhn):
    rng = np.random.default_rng(1)
    s = uniform_strategy(kuhn, 0)
    s[:, :2] = rng.dirichlet(np.ones(2), size=6)
    x = sequence_form(kuhn, 0, s)
    par = kuhn.infoset_parent[0]
    for I in range(6):
        pI, pa = par[I]
        parent_mass = 1.0 if pI < 0 else x[pI, pa]
        assert abs(x[I].sum() - parent_mass) <= 1e-15


def test_random_tree_and_leduc():
    g = random_tree(3, 4, 2, seed=0)
    assert g.n_infosets == (15, 30)
    run = cfr(g, 300, plus=True)
    assert run.exploitability[-1] < 1e-2 < efg_exploitability(g, uniform_strategy(g, 0), uniform_strategy(g, 1))
    L = leduc_poker()
    assert L.n_infosets == (144, 144)  # rank-only information sets (suits are payoff-irrelevant)
    u = [uniform_strategy(L, p) for p in (0, 1)]
    assert efg_exploitability(L, *u) > 1.0
    with pytest.raises(InvalidInputError, match="n_types|depth|n_actions"):
        random_tree(0, 2, 2, seed=0)


def test_mmd_last_iterate_converges(kuhn):
    run = mmd(kuhn, 600, record=[10, 300, 600])
    # last iterate settles at the alpha-regularized equilibrium: exploitability drops, then stays
    assert run.exploitability[-1] < 0.05 < run.exploitability[0]
    assert abs(run.exploitability[-1] - run.exploitability[-2]) < 5e-3


@pytest.mark.kernels("local_omd")
def test_local_omd_backends_identical(kuhn, backend):
    a = sampled_local_omd(kuhn, 300, 3, backend="numpy", record=[10, 100, 300])
    b = sampled_local_omd(kuhn, 300, 3, backend=backend, record=[10, 100, 300])
    # same uniforms, same inverse-CDF sampling, same operation order: equal up to libm differences
    np.testing.assert_allclose(a.exploitability, b.exploitability, atol=1e-12)
    np.testing.assert_allclose(a.last[0], b.last[0], atol=1e-12)
    with pytest.raises(InvalidInputError, match="sampling"):
        sampled_local_omd(kuhn, 3, 0, sampling="uniform")
    with pytest.raises(InvalidInputError, match="backend"):
        sampled_local_omd(kuhn, 3, 0, backend="cupy")


def test_fixed_sampling_loss_estimator_unbiased(kuhn):
    """Monte-Carlo check of the counterfactual estimator used by sampled_local_omd:
    E[(U - u) sigma(z|Ia)/b(z) 1{z > Ia}] = U w(I) - q(I, a) with q the exact counterfactual value."""
    rng = np.random.default_rng(5)
    s = [uniform_strategy(kuhn, p) for p in (0, 1)]
    for p in (0, 1):
        s[p][:, :2] = rng.dirichlet(np.ones(2), size=6)
    i = 0
    b = _balanced_sampling(kuhn, i)
    U = np.abs(kuhn.utility).max()
    M = 6000
    acc, acc2 = np.zeros((6, 2)), np.zeros((6, 2))
    for _ in range(M):
        n, path = 0, []
        while kuhn.kind[n] != TERMINAL:
            k = kuhn.kind[n]
            pr = kuhn.chance_prob[n] if k == CHANCE else (b[kuhn.infoset[n]] if k == P0 + i
                                                           else s[1 - i][kuhn.infoset[n]])
            a = sample_action(pr, rng.random())
            if k == P0 + i:
                path.append((kuhn.infoset[n], a))
            n = kuhn.children[n, a]
        loss = U - kuhn.utility[n]
        ratio_after = 1.0
        b_all = np.prod([b[I, a] for I, a in path])
        est = np.zeros((6, 2))
        for I, a in reversed(path):
            b_before = b_all / np.prod([b[J, c] for J, c in path[[x[0] for x in path].index(I):]])
            est[I, a] = loss * ratio_after / (b_before * b[I, a])
            ratio_after *= s[i][I, a] / b[I, a]
        acc += est
        acc2 += est**2
    q, wI = _cf_values(kuhn, s[0], s[1], i)
    exact = U * wI[:, None] - q[:, :2]
    mean = acc / M
    se = np.sqrt((acc2 / M - mean**2) / M)
    # 12 coordinates: |z| <= 4 per coordinate is a Bonferroni family-wise level < 1e-3
    assert np.all(np.abs(mean - exact) <= 4 * se + 1e-12)


def test_omd_efg_claim_quick():
    from mdpgrad.claims import get_claim, run_claim

    rec = run_claim(get_claim("omd-efg-t-half"), "quick", controls=False)
    # deterministic (seeded by the claim id); at the quick horizon T = 1e5 the late-half window is
    # still near the transient, so the CI straddles -0.4: "inconclusive" is the honest quick verdict
    # and the full budget (T = 1e6, 20 seeds) is the real check.
    assert rec.verdict.verdict == "inconclusive", (rec.verdict.measured, rec.error)
    assert rec.verdict.figure is not None


def test_cfr_control_hooks():
    """cfr's negative-control hooks: without the zero-sum sign CFR+ does not converge; without the
    regret floor it still does on Kuhn (so it is reported, not used as a control)."""
    from mdpgrad.games.efg import cfr, kuhn_poker

    g = kuhn_poker()
    good = cfr(g, 100, plus=True, record=[100])
    bad = cfr(g, 100, plus=True, record=[100], player1_sign=1.0)
    nofloor = cfr(g, 100, plus=True, record=[100], floor=False)
    assert good.exploitability[-1] < 0.01 < 1.0 < bad.exploitability[-1]
    assert nofloor.exploitability[-1] < 0.05


def test_notebook_executes():
    check_notebook("notebooks/07_preference_games.ipynb")
