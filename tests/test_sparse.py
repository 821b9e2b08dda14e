"""Sparse MDPs: validation, conversions, kernels (NumPy vs Numba), solvers' certified error
bounds, memory, generators, sampling and the core dispatch (mdpgrad.evaluate / solve /
policy_gradient accept a SparseMDP)."""

from __future__ import annotations

import dataclasses
import tracemalloc

import numpy as np
import pytest
from conftest import small_mdps
from hypothesis import given, settings
from hypothesis import strategies as st

import mdpgrad
import mdpgrad.kernels.sparse as K
from mdpgrad import envs, sparse
from mdpgrad.errors import InvalidInputError, InvalidMDPError, InvalidPolicyError
from mdpgrad.sparse import SparseMDP

# Agreement tolerance between the sparse and dense paths. Both solve the same linear systems
# (I - gamma P_pi) x = b with |b| <= max|r| (normal(0,1) rewards: <= ~5) and condition number
# <= (1 + gamma)/(1 - gamma) <= 39 for gamma <= 0.95; LU round-off is O(S eps cond |x|) with
# |x| <= 5/(1-gamma) = 100, i.e. ~1e-12 for S <= 6. 1e-10 leaves two orders of margin.
AGREE = 1e-10


def _tiny():
    # 2 states x 2 actions; row (s, a) = s*2 + a.
    return dict(indptr=[0, 1, 3, 4, 5], indices=[1, 0, 1, 1, 0], data=[1.0, 0.5, 0.5, 1.0, 1.0],
                r=[[0.0, 1.0], [2.0, 0.0]], gamma=0.9)


# --- validation ---------------------------------------------------------------------------------
def test_valid_tiny_roundtrip():
    m = SparseMDP(**_tiny())
    d = m.to_dense()
    assert d.P[0, 1].tolist() == [0.5, 0.5] and d.P[1, 1].tolist() == [1.0, 0.0]
    assert sparse.to_sparse(d).to_dense().P.tolist() == d.P.tolist()


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(indptr=[0, 1, 3, 4]), "indptr: has length 4"),
        (dict(indptr=[1, 1, 3, 4, 5]), r"indptr\[0\] = 1"),
        (dict(indptr=[0, 3, 1, 4, 5]), r"indptr\[2\] = 1 < indptr\[1\] = 3"),
        (dict(indptr=[0, 1, 3, 4, 6]), "indptr\\[-1\\] = 6"),
        (dict(indices=[1, 0, 2, 1, 0]), r"indices\[2\] = 2 \(row \(s, a\) = \(0, 1\)\)"),
        (dict(indices=[1.0, 0, 1, 1, 0]), "indices: expected integers"),
        (dict(data=[1.0, 0.5, 0.5, 1.0, -1.0]), r"data\[4\] = -1 \(row \(s, a\) = \(1, 1\)\)"),
        (dict(data=[1.0, 0.5, np.nan, 1.0, 1.0]), r"data\[2\] = .*nan.* is not finite"),
        (dict(data=[1.0, 0.5, 0.4, 1.0, 1.0]), r"P\[\(s, a\) = \(0, 1\)\] \(CSR row 1\) sums to 0.9"),
        (dict(r=[0.0, 1.0]), "r: expected a 2-D array"),
        (dict(gamma=1.0), "gamma = 1.0 is outside"),
        (dict(rho=[0.5, 0.6]), r"rho\[\] sums to|rho sums to"),
        (dict(rho=[1.0, 0.0, 0.0]), "rho: expected shape"),
    ],
)
def test_validation_errors_name_the_argument(change, match):
    kw = _tiny()
    kw.update(change)
    with pytest.raises(InvalidMDPError, match=match):
        SparseMDP(**kw)


def test_empty_row_is_rejected():
    kw = _tiny()
    kw.update(indptr=[0, 1, 1, 4, 5], indices=[1, 0, 1, 1, 0], data=[1.0, 0.5, 0.5, 1.0, 1.0])
    with pytest.raises(InvalidMDPError, match=r"P\[\(s, a\) = \(0, 1\)\]"):
        SparseMDP(**kw)


def test_from_matrix_shape_error():
    with pytest.raises(InvalidMDPError, match=r"P: expected shape \(S\*A, S\)"):
        SparseMDP.from_matrix(np.eye(2), np.zeros((2, 2)), 0.9)


def test_frozen_and_readonly():
    m = SparseMDP(**_tiny())
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.gamma = 0.5
    for arr in (m.indptr, m.indices, m.data, m.r, m.rho):
        assert not arr.flags.writeable
    src = np.array([1.0, 0.5, 0.5, 1.0, 1.0])
    kw = _tiny()
    kw["data"] = src
    m2 = SparseMDP(**kw)
    src[0] = 7.0  # mutating the caller's array must not reach the MDP
    assert m2.data[0] == 1.0


def test_generator_and_solver_argument_errors():
    with pytest.raises(InvalidMDPError, match="branching = 5 exceeds n_states = 3"):
        sparse.garnet(3, 2, 5, gamma=0.9, seed=0)
    with pytest.raises(InvalidMDPError, match="walls: cell"):
        sparse.gridworld(3, 3, walls=[(5, 5)])
    with pytest.raises(InvalidMDPError, match="goal: cell"):
        sparse.gridworld(3, 3, walls=[(2, 2)])
    m = sparse.garnet(10, 2, 2, gamma=0.9, seed=0)
    with pytest.raises(InvalidInputError, match="method = 'linear_programming'"):
        mdpgrad.solve(m, "linear_programming")
    with pytest.raises(InvalidInputError, match="tol = -1"):
        sparse.solve(m, tol=-1)
    with pytest.raises(InvalidInputError, match="backend = 'gpu'"):
        sparse.solve(m, backend="gpu")
    with pytest.raises(InvalidInputError, match="krylov = 'cg'"):
        sparse.solve(m, "pi", krylov="cg")
    with pytest.raises(InvalidInputError, match=r"v0: expected shape \(10,\)"):
        sparse.solve(m, v0=np.zeros(3))
    with pytest.raises(InvalidInputError, match="states.* is out of range"):
        sparse.sample_next_states(m, [10], [0], 0)
    with pytest.raises(InvalidInputError, match="actions.* is out of range"):
        sparse.sample_next_states(m, [0], [2], 0)
    with pytest.raises(InvalidPolicyError, match="pi"):
        mdpgrad.evaluate(m, np.ones((10, 2)))


# --- sparse and dense agree ---------------------------------------------------------------------
@settings(max_examples=12)
@given(small_mdps(), st.integers(0, 2**31 - 1))
def test_sparse_and_dense_agree(mdp, seed):
    rng = np.random.default_rng(seed)
    sm = sparse.to_sparse(mdp)
    assert np.array_equal(sm.to_dense().P, mdp.P)  # exact zeros dropped, nothing else changes
    S, A = mdp.shape
    pi = rng.dirichlet(np.ones(A), size=S)
    e_s, e_d = mdpgrad.evaluate(sm, pi), mdpgrad.evaluate(mdp, pi)
    for f in ("v", "q", "advantage", "occupancy", "value"):
        assert np.max(np.abs(np.asarray(getattr(e_s, f)) - np.asarray(getattr(e_d, f)))) <= AGREE, f
    theta = rng.normal(size=(S, A))
    assert np.max(np.abs(mdpgrad.policy_gradient(sm, theta) - mdpgrad.policy_gradient(mdp, theta))) <= AGREE
    v = rng.normal(size=S)
    assert np.max(np.abs(mdpgrad.bellman_optimality_operator(sm, v) - mdpgrad.bellman_optimality_operator(mdp, v))) \
        <= AGREE
    assert np.max(np.abs(mdpgrad.bellman_operator(sm, pi, v) - mdpgrad.bellman_operator(mdp, pi, v))) <= AGREE
    P_s, r_s = mdpgrad.exact.policy_matrices(sm, pi)
    P_d, r_d = mdpgrad.exact.policy_matrices(mdp, pi)
    assert np.max(np.abs(P_s.toarray() - P_d)) <= AGREE and np.max(np.abs(r_s - r_d)) <= AGREE
    # Optimal values: the dense PI is exact to round-off; the sparse solvers certify 1e-11.
    ref = mdpgrad.solve(mdp, "policy_iteration").v
    for meth in ("value_iteration", "modified_policy_iteration", "policy_iteration"):
        res = mdpgrad.solve(sm, meth, tol=1e-11)
        assert res.converged and np.max(np.abs(res.v - ref)) <= AGREE, meth


def test_batched_sparse_evaluation_matches_loop():
    m = sparse.garnet(40, 3, 4, gamma=0.9, seed=3)
    pis = np.random.default_rng(0).dirichlet(np.ones(3), size=(4, 40))
    ev = mdpgrad.evaluate(m, pis)
    for b in range(4):
        one = mdpgrad.evaluate(m, pis[b])
        assert np.max(np.abs(ev.v[b] - one.v)) <= AGREE and abs(ev.value[b] - one.value) <= AGREE


def test_krylov_evaluation_matches_direct():
    # GMRES to relative residual 1e-12: |v - v_pi| <= 1e-12 |r_pi|_2 / (1 - gamma) ~ 1e-12 * 20 * 10 ~ 2e-10.
    m = sparse.garnet(100, 3, 5, gamma=0.95, seed=4)
    pi = np.random.default_rng(1).dirichlet(np.ones(3), size=100)
    a = mdpgrad.evaluate(m, pi, method="direct")
    for meth in ("gmres", "bicgstab"):
        b = mdpgrad.evaluate(m, pi, method=meth)
        assert np.max(np.abs(a.v - b.v)) <= 1e-9 and np.max(np.abs(a.occupancy - b.occupancy)) <= 1e-9


# --- kernels: NumPy reference vs Numba (serial and parallel) -------------------------------------
@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.kernels("sparse_bellman_max", "sparse_bellman_policy", "sparse_policy_sweeps")
def test_kernels_agree_across_backends(backend, parallel, monkeypatch):
    monkeypatch.setattr(K, "PARALLEL_MIN_NNZ", 1 if parallel else 10**18)
    monkeypatch.setattr(K, "PARALLEL_MIN_THREADS", 1)
    assert K.use_parallel(10) == parallel
    m = sparse.garnet(500, 4, 7, gamma=0.95, seed=11)
    rng = np.random.default_rng(0)
    v = rng.normal(size=500) * 10
    pi = rng.dirichlet(np.ones(4), size=500)
    act = rng.integers(0, 4, size=500)
    q = m.r + m.gamma * m.expected_next(v)  # reference in CSR order via scipy
    tv, greedy = sparse.bellman_max(m, v, backend=backend.name)
    # Two accumulators vs one change the summation order: |diff| <= 2 * 7 eps * 0.95 * max|v| ~ 1e-13.
    tol = 1e-12
    assert np.max(np.abs(tv - q.max(axis=1))) <= tol
    assert np.array_equal(greedy, np.argmax(q, axis=1))
    assert np.max(np.abs(sparse.bellman_policy(m, pi, v, backend=backend.name) - np.sum(pi * q, 1))) <= tol
    w_ref = v.copy()
    for _ in range(5):
        w_ref = m.r[np.arange(500), act] + m.gamma * m.expected_next(w_ref)[np.arange(500), act]
    w = sparse.policy_sweeps(m, act, v, 5, backend=backend.name)
    assert np.max(np.abs(w - w_ref)) <= 5 * tol


# --- certified error bounds ---------------------------------------------------------------------
@pytest.mark.parametrize("method", ["value_iteration", "modified_policy_iteration", "policy_iteration"])
@pytest.mark.parametrize("gamma, tol", [(0.9, 1e-6), (0.99, 1e-8)])
def test_error_bound_holds_against_exact_reference(method, gamma, tol):
    # Reference: dense policy iteration = exact LU solve at the optimal policy; its error is
    # O(S eps cond |v|) <= 300 * 2.2e-16 * 200 * 100 ~ 1e-9 in the worst case, in practice
    # ~1e-13 (checked below by its own Bellman residual), far below tol.
    for inst in (sparse.garnet(300, 4, 5, gamma=gamma, seed=5),
                 sparse.gridworld(12, 12, gamma=gamma, slip=0.2, walls=[(3, 3), (4, 7)])):
        dense = inst.to_dense()
        ref = mdpgrad.solve(dense, "policy_iteration", tol=1e-9)
        res_ref = np.max(np.abs(mdpgrad.bellman_optimality_operator(dense, ref.v) - ref.v)) / (1 - gamma)
        assert res_ref <= 1e-10
        res = sparse.solve(inst, method, tol=tol)
        err = float(np.max(np.abs(res.v - ref.v)))
        assert res.converged, res.message
        assert err <= res.error_bound + res_ref <= tol + res_ref, (err, res.error_bound)
        # the returned greedy actions lose at most 2 tol / (1 - gamma) (solvers module docstring)
        v_pi = mdpgrad.evaluate(dense, res.policy).v
        assert np.max(ref.v - v_pi) <= 2 * tol / (1 - gamma) + 1e-9


def test_tolerance_below_roundoff_floor_stops_honestly():
    m = sparse.garnet(200, 3, 4, gamma=0.99, seed=2)
    for meth in ("vi", "mpi", "pi"):
        res = sparse.solve(m, meth, tol=1e-15)
        assert not res.converged and "round-off floor" in res.message
        assert res.error_bound > 1e-15


def test_mpi_with_zero_sweeps_is_value_iteration():
    m = sparse.garnet(200, 3, 4, gamma=0.9, seed=2)
    a, b = sparse.solve(m, "mpi", m=0, tol=1e-9), sparse.solve(m, "vi", tol=1e-9)
    assert a.n_iter == b.n_iter and np.array_equal(a.v, b.v)


def test_solve_counts_work():
    m = sparse.garnet(2000, 4, 5, gamma=0.99, seed=7)
    vi, mpi, pi = (sparse.solve(m, k, tol=1e-8) for k in ("vi", "mpi", "pi"))
    mpi4 = sparse.solve(m, "mpi", tol=1e-8, m=4)
    assert vi.n_backups == vi.n_iter and mpi4.n_backups == mpi4.n_iter
    # m = 4 sweeps after every backup but the certifying one; when every state is down to one
    # action the sweeps themselves certify, so the last round's sweeps count too
    assert mpi4.n_policy_backups in ((mpi4.n_iter - 1) * 4, mpi4.n_iter * 4)
    assert mpi.n_policy_backups > 0 and mpi.n_backups < mpi4.n_backups
    assert pi.n_iter <= 10 and pi.n_policy_backups > 0
    assert max(abs(vi.v - pi.v).max(), abs(mpi.v - pi.v).max()) <= 2e-8


# --- memory -------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["value_iteration", "modified_policy_iteration", "policy_iteration"])
def test_solver_memory_within_twice_the_sparse_P(method):
    m = sparse.garnet(8_000, 4, 5, gamma=0.95, seed=0)  # P: 160k entries, 2 MB
    sparse.solve(sparse.garnet(50, 4, 5, gamma=0.95, seed=0), method)  # compile outside the trace
    tracemalloc.start()
    tracemalloc.reset_peak()
    sparse.solve(m, method, tol=1e-8)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # All work buffers (MPI's ELL copy of the greedy rows and q[s, a], PI's P_mu and Krylov
    # vectors) are NumPy/SciPy allocations, which tracemalloc sees; the Numba kernels on these
    # paths allocate nothing. The bound is on the extra memory, P itself excluded (measured:
    # VI 0.34x, MPI 0.84x, PI 0.79x of P).
    assert peak <= 2 * m.nbytes, (peak, m.nbytes)


# --- generators ---------------------------------------------------------------------------------
def test_sparse_garnet_structure_and_uniform_successors():
    m = sparse.garnet(2000, 3, 6, gamma=0.9, seed=1)
    assert m.nnz == 2000 * 3 * 6
    rows = m.indices.reshape(-1, 6)
    assert (np.diff(rows, axis=1) > 0).all()  # distinct and sorted
    # Rejection path: each state is a successor with probability b / S per row, so its count
    # over n rows is Binomial(n, b/S); 5 standard errors with Bonferroni over S states.
    S, b, n = 20, 5, 20_000
    idx = sparse.generators.distinct_successors(n, S, b, np.random.default_rng(0))
    assert (np.diff(idx, axis=1) > 0).all()
    counts = np.bincount(idx.ravel(), minlength=S)
    se = np.sqrt(n * (b / S) * (1 - b / S))
    assert np.max(np.abs(counts - n * b / S)) <= 5 * se
    # Partition path (b^2 > 4 S).
    idx2 = sparse.generators.distinct_successors(5000, 10, 8, np.random.default_rng(1))
    assert (np.diff(idx2, axis=1) > 0).all() and idx2.max() < 10


def test_sparse_gridworld_matches_dense():
    for slip in (0.1, 0.0):
        a = sparse.gridworld(5, 6, gamma=0.95, slip=slip, walls=[(1, 1), (2, 3)]).to_dense()
        b = envs.gridworld(5, 6, gamma=0.95, slip=slip, walls=[(1, 1), (2, 3)])
        assert np.max(np.abs(a.P - b.P)) <= 1e-15 and np.array_equal(a.r, b.r) and np.array_equal(a.rho, b.rho)
    mask = np.zeros((4, 4), dtype=bool)
    mask[1, 2] = True
    assert sparse.gridworld(4, 4, walls=mask).n_states == 4 * 4 - 1 + 1


def test_large_garnet_builds_vectorized():
    m = sparse.garnet(200_000, 2, 3, gamma=0.9, seed=0)
    assert m.nnz == 1_200_000 and m.indices.dtype == np.int32


# --- sampling -----------------------------------------------------------------------------------
def test_sample_next_states_frequencies():
    m = sparse.garnet(50, 2, 6, gamma=0.9, seed=8)
    n = 100_000
    s1 = sparse.sample_next_states(m, np.full(n, 3), np.full(n, 1), np.random.default_rng(0))
    p = m.to_dense().P[3, 1]
    freq = np.bincount(s1, minlength=50) / n
    se = np.sqrt(p * (1 - p) / n) + 1e-12
    assert np.all(np.abs(freq - p) <= 5 * se)  # 5 SE per state, 50 states: family-wise p < 3e-5
    s2 = sparse.sample_next_states(m, np.full(n, 3), np.full(n, 1), np.random.default_rng(0))
    assert np.array_equal(s1, s2)  # reproducible from the generator


def test_rollout_shapes_and_rewards():
    m = sparse.garnet(30, 3, 4, gamma=0.9, seed=9)
    pi = np.random.default_rng(2).dirichlet(np.ones(3), size=30)
    s, a, r = sparse.rollout(m, pi, 64, 10, 0)
    assert s.shape == (64, 11) and a.shape == (64, 10) and r.shape == (64, 10)
    assert np.array_equal(r, m.r[s[:, :-1], a])
    sd, ad, _ = sparse.rollout(m, np.zeros(30, dtype=int), 8, 5, 1)
    assert (ad == 0).all()
    # every transition is in the support of P
    P = m.to_dense().P
    assert (P[s[:, :-1], a, s[:, 1:]] > 0).all()


# --- dense batched evaluation (core branch edited for scale) ------------------------------------
def test_dense_batched_evaluate_matches_single_calls():
    mdp = envs.garnet(30, 4, 5, gamma=0.95, seed=0)
    pis = np.random.default_rng(0).dirichlet(np.ones(4), size=(16, 30))
    ev = mdpgrad.evaluate(mdp, pis)
    for b in (0, 7, 15):
        one = mdpgrad.evaluate(mdp, pis[b])
        for f in ("v", "q", "advantage", "occupancy"):
            assert np.max(np.abs(getattr(ev, f)[b] - getattr(one, f))) <= 1e-12, f


def _perturbed(base, B, k_choices, rng):
    pis = np.repeat(base[None], B, axis=0)
    for b in range(1, B):
        for s in rng.choice(base.shape[0], int(rng.choice(k_choices)), replace=False):
            pis[b, s] = rng.dirichlet(np.ones(base.shape[1]))
    return pis


def test_evaluate_batch_woodbury_matches_single_calls():
    # Woodbury with an explicit Z = M_0^{-1}: error ~ cond(M_0) cond(C) eps |v| ~ 39 * 39 * 2e-16 * 20 ~ 1e-11.
    rng = np.random.default_rng(3)
    mdp = envs.garnet(40, 5, 6, gamma=0.95, seed=1)
    base = rng.dirichlet(np.ones(5), size=40)
    pis = _perturbed(base, 40, [0, 1, 2, 3, 40], rng)  # mixes k = 0 (base), small k, and far (fallback)
    pis[5] = rng.dirichlet(np.ones(5), size=40)
    for ev in (mdpgrad.evaluate_batch(mdp, pis), mdpgrad.evaluate_batch(mdp, pis, base=base, max_rank=2),
               mdpgrad.evaluate(mdp, pis)):
        for b in range(40):
            one = mdpgrad.evaluate(mdp, pis[b])
            for f in ("v", "q", "advantage", "occupancy", "value"):
                assert np.max(np.abs(np.asarray(getattr(ev, f))[b] - np.asarray(getattr(one, f)))) <= AGREE, (b, f)


@settings(max_examples=10)
@given(small_mdps(), st.integers(0, 2**31 - 1))
def test_evaluate_batch_property(mdp, seed):
    rng = np.random.default_rng(seed)
    S, A = mdp.shape
    base = rng.dirichlet(np.ones(A), size=S)
    pis = _perturbed(base, 6, [0, 1, S], rng)
    ev = mdpgrad.evaluate_batch(mdp, pis, max_rank=max(1, S - 1))
    for b in range(6):
        one = mdpgrad.evaluate(mdp, pis[b])
        assert np.max(np.abs(ev.v[b] - one.v)) <= AGREE and np.max(np.abs(ev.occupancy[b] - one.occupancy)) <= AGREE


def test_evaluate_batch_validation():
    mdp = envs.garnet(5, 2, 2, gamma=0.9, seed=0)
    with pytest.raises(InvalidPolicyError, match="pis"):
        mdpgrad.evaluate_batch(mdp, np.ones((2, 5, 2)))
    with pytest.raises(InvalidPolicyError, match="base"):
        mdpgrad.evaluate_batch(mdp, np.full((2, 5, 2), 0.5), base=np.ones((5, 2)))


@pytest.mark.parametrize("parallel", [False, True])
def test_mpi_numba_matches_numpy_reference(parallel, monkeypatch):
    # Uneven rows (gridworld: 1 to 5 successors) exercise the ELL zero padding; the Garnet the
    # action elimination and the sweeps-only endgame. The NumPy reference runs the same backups and
    # sweeps, summing in CSR order, but computes every state in full (no greedy-stability skip, so its
    # Q-values are always fresh and it may eliminate more). Without elimination the two make the same
    # decisions: iterates agree to a few ulps of |v| <= 1/(1 - 0.95) = 20 per backup (1e-11), unless a
    # tie falls within ~1e-13, which these instances do not have. With elimination both must meet
    # their certificates and agree on the optimal actions.
    monkeypatch.setattr(K, "PARALLEL_MIN_THREADS", 1)
    monkeypatch.setattr(K, "PARALLEL_MIN_NNZ", 1 if parallel else 10**18)
    for m in (sparse.gridworld(9, 9, gamma=0.95, slip=0.3, walls=[(2, 2), (5, 4)]),
              sparse.garnet(400, 5, 6, gamma=0.95, seed=3)):
        for kw in ({}, {"m": 3}, {"eliminate": False}, {"m": 3, "eliminate": False}):
            a = sparse.solve(m, "mpi", tol=1e-10, **kw)
            c = sparse.solve(m, "mpi", tol=1e-10, backend="numpy", **kw)
            assert a.converged and c.converged and np.array_equal(a.actions, c.actions)
            assert np.max(np.abs(a.v - c.v)) <= a.error_bound + c.error_bound
            if kw.get("eliminate") is False:
                assert (a.n_iter, a.n_policy_backups) == (c.n_iter, c.n_policy_backups)
                assert np.max(np.abs(a.v - c.v)) <= 1e-11


def test_evaluate_batch_chunks_large_groups():
    # S = 400, k = 3: chunks of 2e6 // (400 * 3 * 12) = 138 policies, so 300 policies span 3 chunks.
    rng = np.random.default_rng(5)
    mdp = envs.garnet(400, 10, 4, gamma=0.9, seed=2)
    base = rng.dirichlet(np.ones(10), size=400)
    pis = np.repeat(base[None], 300, axis=0)
    for b in range(300):
        for s in rng.choice(400, 3, replace=False):
            pis[b, s] = rng.dirichlet(np.ones(10))
    ev = mdpgrad.evaluate_batch(mdp, pis, base=base)
    for b in (0, 137, 138, 299):
        one = mdpgrad.evaluate(mdp, pis[b])
        assert np.max(np.abs(ev.v[b] - one.v)) <= AGREE and np.max(np.abs(ev.occupancy[b] - one.occupancy)) <= AGREE


def test_action_elimination_keeps_the_certificate():
    # gamma = 0.9 (c = 9) lets the elimination test fire early; results must stay within the certificates.
    m = sparse.garnet(3000, 6, 4, gamma=0.9, seed=12)
    ref = mdpgrad.solve(m, "policy_iteration", tol=1e-11)
    a = sparse.solve(m, "mpi", tol=1e-9, m=2)
    b = sparse.solve(m, "mpi", tol=1e-9, m=2, eliminate=False)
    assert a.converged and b.converged
    assert np.max(np.abs(a.v - ref.v)) <= a.error_bound + ref.error_bound
    assert np.max(np.abs(b.v - ref.v)) <= b.error_bound + ref.error_bound
    assert np.array_equal(a.actions, ref.actions)
    n_elim = int(a.message.split(" actions eliminated")[0].split(", ")[-1])
    assert n_elim > 0 and "0 actions eliminated" in b.message


def test_from_matrix_replace_and_dense_inputs():
    dense = envs.garnet(12, 3, 4, gamma=0.8, seed=3)
    m = SparseMDP.from_matrix(dense.P.reshape(36, 12), dense.r, 0.8, rho=dense.rho, name="g")
    assert np.array_equal(m.to_dense().P, dense.P) and m.name == "g" and sparse.as_sparse(m) is m
    m2 = m.replace(gamma=0.5)
    assert m2.gamma == 0.5 and m.gamma == 0.8 and m2.nnz == m.nnz
    # the sparse solvers accept a dense TabularMDP (converted once)
    res = sparse.solve(dense, "pi", tol=1e-10)
    assert np.max(np.abs(res.v - mdpgrad.solve(dense).v)) <= 1e-10
    assert res.policy.shape == (12, 3) and np.array_equal(res.policy.argmax(1), res.actions)


def test_pickle_roundtrip_stays_frozen():
    import pickle

    m = sparse.garnet(50, 3, 4, gamma=0.9, seed=0)
    m2 = pickle.loads(pickle.dumps(m))
    assert np.array_equal(m2.data, m.data) and m2.gamma == m.gamma and not m2.data.flags.writeable


def test_generator_and_solver_edge_cases():
    m = sparse.garnet(5, 2, 1, gamma=0.9, seed=0)  # deterministic transitions
    assert m.nnz == 10 and np.all(m.data == 1.0)
    full = sparse.garnet(6, 2, 6, gamma=0.9, seed=0)  # branching = S: every state is a successor
    assert np.array_equal(full.indices[:6], np.arange(6))
    one = sparse.garnet(1, 1, 1, gamma=0.9, seed=0)
    assert abs(sparse.solve(one, tol=1e-12).v[0] - one.r[0, 0] / 0.1) <= 1e-11
    g = sparse.gridworld(1, 1)  # the goal and the sink only
    assert np.allclose(sparse.solve(g).v, [1.0, 0.0], atol=1e-8)
    myopic = sparse.garnet(100, 3, 3, gamma=0.0, seed=0)  # gamma = 0: v* = max_a r, certified exactly
    for meth in ("vi", "mpi", "pi"):
        res = sparse.solve(myopic, meth, tol=1e-12)
        assert res.converged and np.max(np.abs(res.v - myopic.r.max(axis=1))) <= 1e-14


def test_sampler_serial_and_parallel_agree(monkeypatch):
    m = sparse.garnet(200, 3, 5, gamma=0.9, seed=4)
    s = np.random.default_rng(1).integers(0, 200, size=5000)
    a = np.random.default_rng(2).integers(0, 3, size=5000)
    monkeypatch.setattr(K, "PARALLEL_MIN_THREADS", 1)
    monkeypatch.setattr(K, "PARALLEL_MIN_NNZ", 1)
    par = sparse.sample_next_states(m, s, a, 7)
    monkeypatch.setattr(K, "PARALLEL_MIN_NNZ", 10**18)
    ser = sparse.sample_next_states(m, s, a, 7)
    assert np.array_equal(par, ser)
