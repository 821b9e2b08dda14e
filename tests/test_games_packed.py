"""The packed antisymmetric win-rate operator: P pi = (1^T pi)/2 + A pi from the strict upper triangle of A.

Tolerances (u = 2^-53, the float64 unit round-off). Both the dense ``P @ pi`` and the packed product
are sums of at most K + 1 terms whose absolute values add up to at most ``sum_j |P_ij| pi_j +
sum_j |A_ij| pi_j + (1^T pi)/2 <= 2`` for ``pi`` in the simplex (``|A_ij| <= 1/2``, ``P_ij <= 1``), so
each is within ``gamma_{K+1} * 2 ~ 2 (K + 1) u`` of the exact value (Higham, Accuracy and Stability,
Sec. 3.1); forming ``A_ij = (P_ij - P_ji)/2`` and ``1/2 + A_ij`` adds a few more u. Hence
``|packed - dense| <= 4 (K + 4) u`` (1.5e-14 at K = 64); observed errors are ~1e-16.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdpgrad.errors import InvalidInputError
from mdpgrad.games import (
    PackedPreference,
    PreferenceGame,
    pack_preference,
    packed_matvec,
    preference_game,
    random_intransitive,
    rock_paper_scissors,
    run_dynamics,
)
from mdpgrad.games.algorithms import exact_oracle, sampled_oracle
from mdpgrad.games.preference import InvalidPreferenceError
from mdpgrad.kernels.preference import chunk_bounds

U = 2.0**-53


def _bound64(K):
    return 4 * (K + 4) * U


def _case(K, seed):
    rng = np.random.default_rng(seed)
    P = random_intransitive(K, rng, transitive_weight=float(rng.uniform(0, 1)))
    pi = rng.dirichlet(np.ones(K))
    return P, pi


@given(K=st.integers(1, 64), seed=st.integers(0, 2**31 - 1))
def test_packed_matvec_equals_dense(K, seed):
    P, pi = _case(K, seed)
    pk = pack_preference(P)
    assert pk.upper.size == K * (K - 1) // 2 and pk.dtype == np.float64
    for backend in ("numba", "numpy"):
        y = packed_matvec(pk, pi, backend=backend)
        assert y.dtype == np.float64 and y.shape == (K,)
        assert np.abs(y - P @ pi).max() <= _bound64(K)


@pytest.mark.parametrize("K", [1, 2, 3, 5, 700])
def test_packed_edge_cases_and_batches(K):
    P, pi = _case(K, K)
    pk = pack_preference(P)
    if K == 1:  # empty triangle: P = [[1/2]], P pi = pi / 2
        assert pk.upper.size == 0
        np.testing.assert_array_equal(packed_matvec(pk, np.array([1.0])), [0.5])
    if K == 2:  # one stored entry A_01 = P_01 - 1/2
        assert pk.upper[0] == pytest.approx(P[0, 1] - 0.5, abs=2 * U)
    np.testing.assert_allclose(pk.to_dense(), P, rtol=0, atol=2 * U)  # 1/2 + A rounds once
    B = np.random.default_rng(1).dirichlet(np.ones(K), size=3)
    yb = pk(B)
    assert yb.shape == (3, K)
    assert np.abs(yb - (P @ B.T).T).max() <= _bound64(K)
    # not only policies: P x = (1^T x)/2 + A x for any vector
    x = np.random.default_rng(2).standard_normal(K)
    assert np.abs(pk(x) - P @ x).max() <= _bound64(K) * (1 + np.abs(x).sum())


def test_packed_result_independent_of_thread_count():
    # Blocks are a function of K only and their buffers are summed in a fixed order, so the floating-point
    # operations are identical for any thread count: bitwise equality (stronger than "up to round-off").
    K = 1500
    assert len(chunk_bounds(K)) - 1 > 2  # several blocks, so the test exercises the reduction
    P, pi = _case(K, 7)
    for dt in (np.float64, np.float32):
        pk = pack_preference(P, dtype=dt)
        n0 = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            y1 = pk(pi)
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
            yn = pk(pi)
        finally:
            numba.set_num_threads(n0)
        np.testing.assert_array_equal(y1, yn)
        assert np.abs(y1 - P @ pi).max() <= (_bound64(K) if dt == np.float64 else 1e-7)


def test_chunk_bounds_cover_rows():
    for K in (1, 2, 10, 363, 1000, 5000, 20_000):
        b = chunk_bounds(K)
        assert b[0] == 0 and b[-1] == K and (np.diff(b) > 0).all()
        assert len(b) - 1 <= 32


@pytest.mark.parametrize("K", [2, 40, 700])
def test_packed_float32_within_rounding_bound(K):
    # float32 storage: a_ij = fl32(A_ij) with |a_ij - A_ij| <= 2^-24 |A_ij| (round to nearest, |A_ij| <= 1/2
    # is far above the float32 subnormal range except for A_ij ~ 0, where the absolute error is < 2^-150).
    # The products a_ij pi_j and the sums are float64, so
    #   |y32_i - (P pi)_i| <= 2^-24 sum_j |A_ij| pi_j + (float64 error of both sides, <= 4 (K + 4) u).
    P, pi = _case(K, 11)
    pk32 = pack_preference(P, dtype=np.float32)
    assert pk32.dtype == np.float32 and pk32.nbytes == 2 * K * (K - 1)
    absA = np.abs(P - 0.5)
    bound = 2.0**-24 * (absA @ pi) + _bound64(K)
    err = np.abs(pk32(pi) - P @ pi)
    assert (err <= bound).all()
    assert err.max() > _bound64(K)  # the float32 rounding is really there (the bound is not vacuous)
    y32 = pk32(pi.astype(np.float32))
    assert y32.dtype == np.float32  # a float32 policy gets float32 win rates (accumulated in float64)


@pytest.mark.parametrize("method", ["nash_md", "nash_mp", "mwu", "omd_reg"])
def test_packed_trajectories_equal_dense(method):
    # Per step the win rates differ by <= 4 (K + 4) u ~ 4e-14 (K = 40); the step maps are Lipschitz in
    # the log-domain with constant ~ 1 + eta, so 30 steps stay far below 1e-12.
    rng = np.random.default_rng(3)
    K = 40
    mu = 0.5 * rng.dirichlet(np.ones(K)) + 0.5 / K
    game = PreferenceGame(random_intransitive(K, rng), mu / mu.sum(), 0.2)
    dense = run_dynamics(game, method, 30)
    packed = run_dynamics(game, method, 30, operator="packed")
    np.testing.assert_allclose(packed.pi, dense.pi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(packed.avg_pi, dense.avg_pi, rtol=0, atol=1e-12)
    again = run_dynamics(game, method, 30, operator=pack_preference(game))  # prebuilt operator
    np.testing.assert_array_equal(again.pi, packed.pi)
    # float32 storage and float32 iterates: float32 round-off (~1e-7 relative) per step, no drift
    p32 = run_dynamics(game, method, 30, operator="packed", dtype=np.float32)
    np.testing.assert_allclose(p32.pi, dense.pi, rtol=0, atol=1e-5)


def test_packed_oracles_and_sampled():
    game = preference_game(rock_paper_scissors(2, 0.3), beta=0.1)
    pk = pack_preference(game)
    pi = np.full(6, 1 / 6)
    np.testing.assert_allclose(exact_oracle(pk)(pi), game.P @ pi, atol=_bound64(6))
    g1 = sampled_oracle(game.P, 50, 5)(pi)
    g2 = sampled_oracle(pk, 50, 5)(pi)
    np.testing.assert_array_equal(g1, g2)  # same win rates to ~1e-16, same seed, same binomial draws
    # Pathwise equality of sampled runs needs win rates away from exactly 1/2: NumPy's binomial sampler
    # draws n - Binomial(n, 1 - p) when p > 1/2, so a 1e-16 change across p = 1/2 (ties in rock-paper-
    # scissors at uniform pi) changes the draw. A generic random game has no such ties.
    rng = np.random.default_rng(8)
    gen = preference_game(random_intransitive(30, rng), beta=0.1)
    r1 = run_dynamics(gen, "nash_md", 10, oracle="sampled", seed=4)
    r2 = run_dynamics(gen, "nash_md", 10, oracle="sampled", seed=4, operator="packed")
    np.testing.assert_allclose(r1.pi, r2.pi, atol=1e-12)


def test_packed_validation_errors():
    game = preference_game(rock_paper_scissors(1), beta=0.1)
    with pytest.raises(InvalidInputError, match="operator"):
        run_dynamics(game, "nash_md", 2, operator="sparse")
    with pytest.raises(InvalidInputError, match="operator"):
        run_dynamics(game, "nash_md", 2, operator=pack_preference(rock_paper_scissors(2)))
    with pytest.raises(InvalidInputError, match="dtype"):
        pack_preference(game.P, dtype=np.float16)
    with pytest.raises(InvalidPreferenceError, match="P"):
        pack_preference(np.ones((2, 3)))
    pk = pack_preference(game)
    assert isinstance(pk, PackedPreference) and "K=3" in repr(pk)
    with pytest.raises(InvalidInputError, match="pi"):
        packed_matvec(pk, np.ones(4) / 4)
    with pytest.raises(InvalidInputError, match="backend"):
        packed_matvec(pk, np.ones(3) / 3, backend="cupy")
    with pytest.raises(InvalidInputError, match="packed"):
        packed_matvec(game.P, np.ones(3) / 3)
    with pytest.raises(InvalidInputError, match="upper"):
        PackedPreference(upper=np.zeros(4), K=3, bounds=pk.bounds)
    with pytest.raises(InvalidInputError, match="bounds"):
        PackedPreference(upper=np.zeros(3), K=3, bounds=np.array([0, 2]))
    with pytest.raises(InvalidInputError, match="K"):
        PackedPreference(upper=np.zeros(0), K=0, bounds=np.array([0, 0]))
