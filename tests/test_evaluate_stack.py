"""Batched evaluation of independent policies (``evaluate(mdp, pis[B, S, A])`` -> one LU per policy):
the compiled unpivoted LU of the augmented matrix against separate calls (pivoted LAPACK), a closed form,
the pivoted fallback where diagonal dominance is not guaranteed, and thread-count independence."""

import numba
import numpy as np
import pytest

import mdpgrad
from mdpgrad import envs
from mdpgrad._evaluate_kernels import DD_MARGIN, count_far, lu_nopivot

FIELDS = ("v", "q", "advantage", "occupancy", "value")


def _independent(S, A, B, seed):
    return np.random.default_rng(seed).dirichlet(np.ones(A), size=(B, S))


def _assert_matches_separate(mdp, pis, rel, check=True):
    ev = mdpgrad.evaluate(mdp, pis, check=check)
    scale = 1.0 + np.abs(ev.v).max()
    for b in range(pis.shape[0]):
        one = mdpgrad.evaluate(mdp, pis[b], check=check)
        for f in FIELDS:
            err = np.max(np.abs(getattr(ev, f)[b] - getattr(one, f)))
            assert err <= rel * (scale if f != "occupancy" else 1.0), (f, b, err)
    return ev


@pytest.mark.parametrize("S,A,B", [(37, 3, 11), (8, 2, 5), (4, 5, 3), (21, 4, 40)])
def test_batch_matches_separate_calls(S, A, B):
    # S = 37 (n % 4 == 1 pivots after the rank-4 blocks), odd B (a policy built alone), B = 40 (several chunks).
    mdp = envs.garnet(S, A, max(2, S // 3), gamma=0.9, seed=S)
    pis = _independent(S, A, B, seed=B)
    assert 2 * count_far(pis, max(1, S // 8)) > B  # the one-LU-per-policy path, not Woodbury
    _assert_matches_separate(mdp, pis, 1e-13)


def test_batch_matches_separate_calls_gamma_close_to_one():
    # Dominance margin 1 - gamma = 1e-5 (> DD_MARGIN: unpivoted), cond(I - gamma P_pi) up to ~2e5:
    # both solvers are backward stable, so they agree to ~cond * eps relative to |v| ~ 1e5.
    mdp = envs.garnet(30, 4, 6, gamma=1 - 1e-5, seed=1)
    assert 1 - mdp.gamma > DD_MARGIN
    ev = _assert_matches_separate(mdp, _independent(30, 4, 9, seed=2), 1e-10)
    assert np.allclose(ev.occupancy.sum(axis=1), 1.0, atol=1e-9)


def test_batch_closed_form_iid_transitions():
    # P(.|s, a) = mu for every (s, a): P_pi = 1 mu^T, so (I - gamma 1 mu^T)^{-1} = I + gamma/(1-gamma) 1 mu^T and
    # v = r_pi + gamma/(1-gamma) (mu . r_pi) 1,  q = r + gamma/(1-gamma) (mu . r_pi),  d = (1-gamma) rho + gamma mu.
    S, A, B, g = 9, 3, 6, 0.8
    rng = np.random.default_rng(5)
    mu = rng.dirichlet(np.ones(S))
    P = np.broadcast_to(mu, (S, A, S)).copy()
    r = rng.normal(size=(S, A))
    rho = rng.dirichlet(np.ones(S))
    mdp = mdpgrad.TabularMDP(P, r, g, rho=rho)
    pis = _independent(S, A, B, seed=6)
    ev = mdpgrad.evaluate(mdp, pis)
    r_pi = np.einsum("bsa,sa->bs", pis, r)
    c = g / (1 - g) * (r_pi @ mu)
    assert np.allclose(ev.v, r_pi + c[:, None], atol=1e-13, rtol=0)
    assert np.allclose(ev.q, r[None] + c[:, None, None], atol=1e-13, rtol=0)
    assert np.allclose(ev.advantage, r[None] - r_pi[..., None], atol=1e-13, rtol=0)
    assert np.allclose(ev.occupancy, (1 - g) * rho + g * mu, atol=1e-15, rtol=0)
    assert np.allclose(ev.value, ev.v @ rho, atol=1e-13, rtol=0)


def _zero_pivot_case():
    """Unchecked "policies" whose ``I - gamma P_pi`` has a zero leading pivot (not diagonally dominant)."""
    S, A, g = 6, 2, 0.5
    rng = np.random.default_rng(7)
    P = rng.dirichlet(np.ones(S), size=(S, A))
    P[0, 0] = np.eye(S)[0]  # action 0 in state 0 stays put, action 1 leaves it
    P[0, 1] = np.r_[0.0, np.full(S - 1, 1 / (S - 1))]
    mdp = mdpgrad.TabularMDP(P, rng.normal(size=(S, A)), g)
    pis = rng.dirichlet(np.ones(A), size=(4, S))
    pis[:, 0] = [1 / g, 0.5]  # M[0, 0] = 1 - gamma * (1 / gamma) = 0, M[0, 1:] = -gamma / 2 P(.|0, 1) != 0
    return mdp, pis


def test_pivoted_fallback_where_dominance_is_not_guaranteed():
    mdp, pis = _zero_pivot_case()
    _assert_matches_separate(mdp, pis, 1e-12, check=False)
    # Negative control: elimination without pivoting breaks down on this matrix (so the fallback was taken).
    M = np.eye(6) - mdp.gamma * np.einsum("sa,sat->st", pis[0], mdp.P)
    X = np.zeros((7, 8))
    X[:6, :6] = M
    with np.errstate(all="ignore"):
        lu_nopivot(X, 6)
    assert not np.all(np.isfinite(X[:7, :7]))


def test_pivoted_fallback_gamma_within_margin_of_one():
    # 1 - gamma < DD_MARGIN: the guaranteed margin is too thin to skip pivoting; LAPACK takes these.
    mdp = envs.garnet(12, 3, 4, gamma=1 - DD_MARGIN / 10, seed=3)
    ev = mdpgrad.evaluate(mdp, _independent(12, 3, 5, seed=4))
    one = mdpgrad.evaluate(mdp, _independent(12, 3, 5, seed=4)[2])
    # cond ~ 1e9: agreement to ~cond * eps relative.
    assert np.max(np.abs(ev.v[2] - one.v)) <= 1e-5 * np.abs(one.v).max()
    assert np.allclose(ev.occupancy.sum(axis=1), 1.0, atol=1e-6)


def test_singular_unchecked_policy_raises():
    mdp, pis = _zero_pivot_case()
    pis[1, 0] = [1 / mdp.gamma, 0.0]  # row 0 of I - gamma P_pi is zero: singular
    with pytest.raises(np.linalg.LinAlgError, match="policy 1"):
        mdpgrad.evaluate(mdp, pis, check=False)


def test_batch_independent_of_thread_count():
    mdp = envs.garnet(25, 3, 5, gamma=0.95, seed=8)
    pis = _independent(25, 3, 70, seed=9)
    ev = mdpgrad.evaluate(mdp, pis)
    n = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        ev1 = mdpgrad.evaluate(mdp, pis)
    finally:
        numba.set_num_threads(n)
    for f in FIELDS:
        assert np.array_equal(getattr(ev, f), getattr(ev1, f)), f


def test_count_far_dispatch():
    pis = np.tile(_independent(16, 3, 1, seed=1), (6, 1, 1))
    assert count_far(pis, 2) == 0
    pis[1, :3] = pis[1, :3, ::-1]  # 3 states differ: far for k_max = 2, near for k_max = 3
    assert count_far(pis, 2) == 1 and count_far(pis, 3) == 0
    pis[2:] = _independent(16, 3, 4, seed=2)
    assert count_far(pis, 2) == 4  # stops once the count exceeds B // 2 = 3


def test_batch_accepts_non_contiguous_policies():
    mdp = envs.garnet(10, 3, 4, gamma=0.9, seed=10)
    pis = np.asfortranarray(_independent(10, 3, 6, seed=11))
    strided = np.stack([pis, pis], axis=1)[:, 0]  # a non-contiguous view
    ref = mdpgrad.evaluate(mdp, np.ascontiguousarray(pis))
    for p in (pis, strided):
        ev = mdpgrad.evaluate(mdp, p)
        for f in FIELDS:
            assert np.array_equal(getattr(ev, f), getattr(ref, f)), f


@pytest.mark.parametrize("where,value,match", [((5, 3, 1), -0.25, "negative"), ((650, 9, 0), np.nan, "not finite"),
                                               ((0, 0, 2), 0.5, "sums to"), ((699, 9, 9), np.inf, "not finite")])
def test_large_batch_validation_names_the_offence(where, value, match):
    # >= 2^16 entries: the compiled one-pass check runs first; the NumPy checks still name the entry.
    mdp = envs.garnet(10, 10, 3, gamma=0.9, seed=12)
    pis = _independent(10, 10, 700, seed=13)
    mdpgrad.evaluate(mdp, pis)  # valid: accepted
    pis[where] = value
    with pytest.raises(mdpgrad.InvalidPolicyError, match=match) as err:
        mdpgrad.evaluate(mdp, pis)
    with pytest.raises(mdpgrad.InvalidPolicyError) as ref:
        mdpgrad.validation.check_policy(pis, 10, 10, batched=True)
    assert str(err.value) == str(ref.value)
