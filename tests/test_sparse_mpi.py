"""Modified policy iteration on sparse MDPs (mdpgrad.sparse, issue 19): the adaptive default
against exact dense solutions, its certificate against the true error (with a negative control:
an unsound action elimination is caught), the kernels' contracts, thread-count independence and
input validation."""

from __future__ import annotations

import numpy as np
import pytest

import mdpgrad
import mdpgrad.kernels.sparse as K
import mdpgrad.kernels.sparse_mpi as KM
import mdpgrad.sparse.solvers as SV
from mdpgrad import sparse
from mdpgrad.errors import InvalidInputError


def _exact(inst):
    """v* by dense policy iteration (LU at the optimal policy) and its a-posteriori error bound
    ||T v - v||_inf / (1 - gamma) (gamma-contraction), so the tests do not trust the reference."""
    dense = inst.to_dense()
    ref = mdpgrad.solve(dense, "policy_iteration", tol=1e-11)
    res = np.max(np.abs(mdpgrad.bellman_optimality_operator(dense, ref.v) - ref.v)) / (1 - inst.gamma)
    return dense, ref.v, float(res)


INSTANCES = [
    ("garnet g=0.99", lambda: sparse.garnet(400, 6, 5, gamma=0.99, seed=1)),
    ("garnet g=0.999", lambda: sparse.garnet(300, 4, 3, gamma=0.999, seed=2)),
    ("deterministic", lambda: sparse.garnet(200, 3, 1, gamma=0.95, seed=3)),
    ("one action", lambda: sparse.garnet(150, 1, 4, gamma=0.99, seed=4)),
    ("gridworld", lambda: sparse.gridworld(10, 10, gamma=0.99, slip=0.2, walls=[(3, 3), (6, 2)])),
]


@pytest.mark.parametrize("name, make", INSTANCES, ids=[n for n, _ in INSTANCES])
@pytest.mark.parametrize("tol", [1e-6, 1e-9])
def test_default_mpi_matches_exact_solution_within_its_certificate(name, make, tol):
    inst = make()
    dense, vstar, ref_err = _exact(inst)
    assert ref_err <= 1e-9  # the reference is far more accurate than any tol tested
    res = sparse.solve(inst, tol=tol)  # the default: adaptive modified policy iteration
    assert res.method == "modified_policy_iteration" and res.converged, res.message
    err = float(np.max(np.abs(res.v - vstar)))
    assert err <= res.error_bound + ref_err and res.error_bound <= tol, (err, res.error_bound)
    # greedy actions lose at most 2 tol / (1 - gamma) (solvers module docstring)
    v_pi = mdpgrad.evaluate(dense, res.policy).v
    assert np.max(vstar - v_pi) <= 2 * tol / (1 - inst.gamma) + ref_err
    # q is computed on access, from the returned v
    assert np.max(np.abs(res.q - (dense.r + inst.gamma * dense.P @ res.v))) <= 1e-9


@pytest.mark.parametrize("method", ["vi", "mpi"])
def test_certificate_holds_at_every_stopping_point(method):
    # Stopped early (max_iter), not converged: the reported bound must still cover the true error
    # of the returned v (the midpoint), and must not be vacuous (the run really is worse than tol).
    inst = sparse.garnet(300, 5, 4, gamma=0.99, seed=7)
    _, vstar, ref_err = _exact(inst)
    for it in (1, 2, 3):
        res = sparse.solve(inst, method, tol=1e-12, max_iter=it)
        err = float(np.max(np.abs(res.v - vstar)))
        assert not res.converged and err <= res.error_bound + ref_err
        assert err > 1e-12


def test_unsound_elimination_is_caught(monkeypatch):
    # Negative control for the certificate test above: an elimination threshold of 0, applied from
    # the first backup on, keeps only the first greedy (myopic) action of each state, so the solver certifies the restricted MDP,
    # whose v differs from v*; the same comparison against the exact v* must reject it.
    inst = sparse.garnet(300, 5, 4, gamma=0.99, seed=7)
    _, vstar, ref_err = _exact(inst)

    real = SV.get_backend

    class Unsound:
        def __init__(self, be):
            self.be = be

        def kernel(self, name):
            k = self.be.kernel(name)
            if name == "sparse_mpi_eliminate":
                return lambda m, st, tv, thr: k(m, st, tv, 0.0)
            if name == "sparse_mpi_backup":  # report a spread that lets the elimination run at once
                return lambda *a: k(*a)[:4] + (np.inf,)
            return k

    monkeypatch.setattr(SV, "get_backend", lambda *a, **kw: Unsound(real(*a, **kw)))
    res = sparse.solve(inst, "mpi", tol=1e-8)
    err = float(np.max(np.abs(res.v - vstar)))
    assert res.converged and err > res.error_bound + ref_err + 1e-3


def test_serial_and_parallel_kernels_give_identical_results(monkeypatch):
    # Per-state arithmetic is the same in both variants and the min / max reductions are exact, so
    # the iterates, every decision and the certificate are bit-identical across thread counts.
    inst = sparse.garnet(3000, 6, 7, gamma=0.99, seed=5)
    monkeypatch.setattr(K, "PARALLEL_MIN_THREADS", 1)
    out = []
    for pmin in (10**18, 1):
        monkeypatch.setattr(K, "PARALLEL_MIN_NNZ", pmin)
        out.append(sparse.solve(inst, "mpi", tol=1e-9))
    a, b = out
    assert np.array_equal(a.v, b.v) and np.array_equal(a.actions, b.actions)
    assert (a.error_bound, a.n_backups, a.n_policy_backups) == (b.error_bound, b.n_backups, b.n_policy_backups)


@pytest.mark.parametrize("n_chunks", [1, 3])
def test_mpi_kernels_match_numpy_references(n_chunks):
    inst = sparse.gridworld(7, 9, gamma=0.95, slip=0.3, walls=[(2, 2)])  # rows of 1 to 5 successors
    S, A = inst.shape
    rng = np.random.default_rng(0)
    v = rng.normal(size=S) * 5
    st_nb, st_np = KM.MpiState(inst, n_chunks), KM.MpiState(inst, n_chunks)
    # eliminate a random subset first (same in both), keeping at least one action per state
    st_nb.q[:] = rng.normal(size=(S, A))
    st_np.q[:] = st_nb.q
    tv0 = st_nb.q.max(axis=1)
    n1 = KM.mpi_eliminate_numba(inst, st_nb, tv0, 0.7)
    n2 = KM.mpi_eliminate_numpy(inst, st_np, tv0, 0.7)
    assert n1 == n2 and np.array_equal(st_nb.nact, st_np.nact)
    for s in range(S):
        assert np.array_equal(st_nb.acts[s, :st_nb.nact[s]], st_np.acts[s, :st_np.nact[s]])
    assert 0 < n1 < S and st_nb.nact.min() >= 1
    # backup over the active actions: value, argmax, certificate statistics
    out = [KM.mpi_backup_numba(inst, v, st_nb), KM.mpi_backup_numpy(inst, v, st_np)]
    q_all = inst.r + inst.gamma * inst.expected_next(v)
    mask = np.arange(A)[None, :] < st_np.nact[:, None]
    q_act = np.where(mask, np.take_along_axis(q_all, st_np.acts, axis=1), -np.inf)
    # two accumulators vs CSR order: <= 2 * 5 eps * 0.95 * max|v| ~ 1e-13
    multi = st_np.nact > 1
    spread = np.max((q_act.max(axis=1) - np.where(mask, q_act, np.inf).min(axis=1))[multi])
    for tv, lo, hi, vmax, spr in out:
        assert np.max(np.abs(tv - q_act.max(axis=1))) <= 1e-12 and abs(spr - spread) <= 1e-12
        d = q_act.max(axis=1) - v
        assert abs(lo - d.min()) <= 1e-12 and abs(hi - d.max()) <= 1e-12
        assert vmax >= max(np.abs(v).max(), np.abs(tv).max())
    assert np.array_equal(st_nb.act, st_np.act)
    assert np.array_equal(st_nb.act, st_np.acts[np.arange(S), np.argmax(q_act, axis=1)])
    # sweeps: (prev, last = T^mu prev), stop rule honoured
    for max_sweeps, stop in ((5, 0.0), (200, 1e-6)):
        p1, l1, k1, s1 = KM.mpi_sweeps_numba(inst, st_nb, out[0][0], max_sweeps, stop)
        p2, l2, k2, s2 = KM.mpi_sweeps_numpy(inst, st_np, out[0][0], max_sweeps, stop)
        assert k1 == k2 and (k1 == max_sweeps or s1 <= stop)
        r_mu = inst.r[np.arange(S), st_np.act]
        P_mu = inst.P[np.arange(S) * A + st_np.act]
        assert np.max(np.abs(l1 - (r_mu + inst.gamma * (P_mu @ p1)))) <= 1e-12
        assert np.max(np.abs(l1 - l2)) <= 1e-11 and abs(s1 - np.ptp(l1 - p1)) <= 1e-12


def test_adaptive_sweeps_use_fewer_full_backups_than_fixed_m():
    # The point of the adaptive rule: full backups (which read all A rows of every state) happen
    # about (policy changes + a few) times, the rest of the work is one-row sweeps.
    inst = sparse.garnet(2000, 8, 10, gamma=0.99, seed=0)
    ada = sparse.solve(inst, "mpi", tol=1e-8)
    fixed = sparse.solve(inst, "mpi", tol=1e-8, m=1)
    pi = sparse.solve(inst, "pi", tol=1e-8)
    assert ada.converged and fixed.converged
    assert ada.n_backups < fixed.n_backups and ada.n_backups <= pi.n_iter + 4


def test_mpi_validates_before_work():
    inst = sparse.garnet(20, 2, 3, gamma=0.9, seed=0)
    with pytest.raises(InvalidInputError, match="m = -1"):
        sparse.solve(inst, "mpi", m=-1)
    with pytest.raises(InvalidInputError, match="m = 2.5"):
        sparse.solve(inst, "mpi", m=2.5)
    with pytest.raises(InvalidInputError, match="tol"):
        sparse.solve(inst, "mpi", tol=0.0)
    with pytest.raises(InvalidInputError, match="max_iter"):
        sparse.solve(inst, "mpi", max_iter=0)
    with pytest.raises(InvalidInputError, match="v0"):
        sparse.solve(inst, "mpi", v0=np.zeros(3))
    with pytest.raises(InvalidInputError, match="eliminate = 'yes'"):
        sparse.solve(inst, "mpi", eliminate="yes")
    with pytest.raises(InvalidInputError, match="backend"):
        sparse.solve(inst, "mpi", backend="fortran")


def test_greedy_stability_skip_is_exact():
    # A backup that skips the states whose greedy lead exceeds gamma span(v1 - v0) must give the same
    # Tv and greedy actions as a full one (bit for bit: the ELL row is the CSR row, summed in the same
    # order). Negative control: claiming v did not move (dec = 0) after a large change does not.
    inst = sparse.garnet(2000, 6, 5, gamma=0.95, seed=9)
    rng = np.random.default_rng(1)
    v0 = rng.normal(size=2000)
    margin = 4 * (inst.max_row_nnz + 4) * 2.0**-53 * 2 * (inst.r_max + 10)
    for scale, sound in ((1e-3, True), (1.0, False)):
        skip, full = KM.MpiState(inst), KM.MpiState(inst)
        for st in (skip, full):
            KM.mpi_backup_numba(inst, v0, st, np.inf, margin)
        v1 = v0 + scale * rng.normal(size=2000)
        dec = inst.gamma * np.ptp(v1 - v0) + margin if sound else 0.0
        tv_s = KM.mpi_backup_numba(inst, v1, skip, dec, margin)[0].copy()
        tv_f = KM.mpi_backup_numba(inst, v1, full, np.inf, margin)[0]
        n_skipped = int(np.sum(skip.fresh == 0))
        if sound:
            assert n_skipped > 1000 and np.array_equal(tv_s, tv_f) and np.array_equal(skip.act, full.act)
        else:
            assert n_skipped >= 1900 and not np.array_equal(skip.act, full.act)


def test_backup_at_zero_reads_no_rows_and_is_exact():
    # v = 0 (the default start): Tv = max_a r exactly, greedy = first argmax of r, and the greedy rows
    # still land in the ELL buffers (checked through one sweep against the CSR product).
    inst = sparse.garnet(500, 4, 6, gamma=0.9, seed=2)
    st = KM.MpiState(inst)
    tv, lo, hi, vmax, _ = KM.mpi_backup_numba(inst, np.zeros(500), st)
    assert np.array_equal(tv, inst.r.max(axis=1)) and np.array_equal(st.act, inst.r.argmax(axis=1))
    assert (lo, hi) == (float(tv.min()), float(tv.max()))
    prev, last, _, _ = KM.mpi_sweeps_numba(inst, st, tv, 1, 0.0)
    rows = np.arange(500) * 4 + st.act
    assert np.max(np.abs(last - (inst.r[np.arange(500), st.act] + 0.9 * (inst.P[rows] @ tv)))) <= 1e-13


def test_result_pickles_with_q_and_without_the_mdp():
    import pickle

    inst = sparse.garnet(2000, 4, 10, gamma=0.9, seed=0)
    res = sparse.solve(inst, tol=1e-8)
    blob = pickle.dumps(res)
    back = pickle.loads(blob)
    assert back.mdp is None and np.array_equal(back.q, res.q) and np.array_equal(back.policy, res.policy)
    assert len(blob) < inst.nbytes / 2  # q (S*A floats) instead of P (nnz * 12 bytes)
    assert back.v is not res.v and np.array_equal(back.v, res.v) and back.error_bound == res.error_bound
