"""Sweeps of the ready-made cells (``mdpgrad.sweep.optimize_cell`` / ``stochastic_cell``) batch by themselves
when the grid varies only batchable parameters, fall back to cell by cell otherwise, and store the same
results either way (and resume the same way)."""

from __future__ import annotations

import numpy as np
import pytest

import mdpgrad.algorithms
import mdpgrad.estimators
from mdpgrad.errors import InvalidInputError
from mdpgrad.sweep import Store, Sweep, batchable, load, optimize_cell, run, stochastic_cell
from mdpgrad.sweep import execute as X

MK = {"n_states": 6, "n_actions": 3, "branching": 2, "gamma": 0.8}
OPT = "mdpgrad.sweep.cells:optimize_cell"
STO = "mdpgrad.sweep.cells:stochastic_cell"


def _opt_sweep(grid=None, **fixed):
    grid = grid if grid is not None else {"step_size": [0.3, 3.0]}
    fx = {"mdp": "mdpgrad.envs:garnet", "mdp_kwargs": MK, "method": "npg", "n_iter": 30, **fixed}
    fx = {k: v for k, v in fx.items() if k not in grid}
    return Sweep("auto_opt", OPT, grid=grid, fixed=fx, seeds=3)


def _sto_sweep(**fixed):
    fx = {"mdp": "mdpgrad.envs:garnet", "mdp_kwargs": MK, "method": "pg", "n_iter": 25, "alpha": 0.2, **fixed}
    return Sweep("auto_sto", STO, fixed=fx, seeds=6)


def _count(monkeypatch, module, name):
    calls = []
    orig = getattr(module, name)

    def counting(*args, **kwargs):
        calls.append(kwargs.get("seed"))
        return orig(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def _table(path):
    df = load(path).drop(columns=["seconds", "cpu_seconds", "finished"], errors="ignore")
    return df.sort_values("key").reset_index(drop=True)


def _same(a, b):
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for col in a.columns:
        for x, y in zip(a[col], b[col]):
            assert np.array_equal(np.asarray(x), np.asarray(y)) if isinstance(x, (np.ndarray, list)) else x == y, col


def test_optimize_sweep_batches_itself_and_stores_what_cell_by_cell_stores(tmp_path, monkeypatch):
    sw = _opt_sweep()
    assert batchable(optimize_cell, sw.cells())
    calls = _count(monkeypatch, mdpgrad.algorithms, "optimize")
    rep = run(sw, tmp_path / "b", workers=1, chunksize=6)
    assert (rep.n_computed, rep.n_failed) == (6, 0) and len(calls) == 1  # 6 cells, one optimize call
    batched = _table(tmp_path / "b")
    # resume: two cells lost, recomputed in one batched call, the rest kept
    for c in sw.cells()[1:3]:
        Store(tmp_path / "b").cell_path(c.key).unlink()
    calls.clear()
    rep = run(sw, tmp_path / "b", workers=1, chunksize=6)
    assert (rep.n_computed, rep.n_already, len(calls)) == (2, 4, 1)
    _same(_table(tmp_path / "b"), batched)
    # the same sweep forced cell by cell: six calls, identical stored results
    monkeypatch.setattr(X, "batchable", lambda fn, cells: False)
    calls.clear()
    run(sw, tmp_path / "u", workers=1, chunksize=6)
    assert len(calls) == 6
    _same(_table(tmp_path / "u"), batched)
    assert not np.array_equal(batched["gap"][0], batched["gap"][1])  # cells do differ (the check can fail)


@pytest.mark.parametrize("grid", [{"step_size": [0.3, 3.0], "method": ["npg", "softmax_pg"]},
                                  {"step_size": [1.0], "n_iter": [10, 20]}])
def test_a_non_batchable_axis_falls_back_to_cell_by_cell(tmp_path, monkeypatch, grid):
    sw = _opt_sweep(grid=grid)
    assert not batchable(optimize_cell, sw.cells())
    calls = _count(monkeypatch, mdpgrad.algorithms, "optimize")
    rep = run(sw, tmp_path, workers=1, chunksize=32)
    assert rep.n_computed == len(sw.cells()) == len(calls)


def test_theta0_axis_batches(tmp_path, monkeypatch):
    th = np.zeros((6, 3))
    sw = _opt_sweep(grid={"theta0": [th.tolist(), (th + np.eye(6, 3)).tolist()]}, step_size=1.0)
    assert batchable(optimize_cell, sw.cells())
    calls = _count(monkeypatch, mdpgrad.algorithms, "optimize")
    run(sw, tmp_path / "b", workers=1, chunksize=6)
    assert len(calls) == 1
    monkeypatch.setattr(X, "batchable", lambda fn, cells: False)
    run(sw, tmp_path / "u", workers=1, chunksize=6)
    _same(_table(tmp_path / "u"), _table(tmp_path / "b"))


def test_stochastic_sweep_is_one_seed_batch_per_chunk(tmp_path, monkeypatch):
    sw = _sto_sweep()
    calls = _count(monkeypatch, mdpgrad.estimators, "run_stochastic")
    run(sw, tmp_path / "b", workers=1, chunksize=6)
    assert len(calls) == 1 and len(calls[0]) == 6  # one call with the six seeds
    monkeypatch.setattr(X, "batchable", lambda fn, cells: False)
    calls.clear()
    run(sw, tmp_path / "u", workers=1, chunksize=6)
    assert len(calls) == 6 and all(isinstance(s, int) for s in calls)
    _same(_table(tmp_path / "u"), _table(tmp_path / "b"))
    # a varying step size is not a seed batch: cell by cell
    sw2 = Sweep("auto_sto2", STO, grid={"alpha": [0.1, 0.2]}, fixed={k: v for k, v in sw.fixed.items() if k != "alpha"},
                seeds=2)
    assert not batchable(stochastic_cell, sw2.cells())


def test_opt_in_batched_functions_without_axes_still_batch():
    def fn(x, seed):
        return x

    fn.batched = lambda cells: [c["x"] for c in cells]
    assert batchable(fn, _opt_sweep(grid={"step_size": [1.0], "n_iter": [1, 2]}).cells())
    assert not batchable(lambda x, seed: x, _opt_sweep().cells())
    assert batchable(optimize_cell, _opt_sweep())  # a Sweep is accepted too
    with pytest.raises(InvalidInputError, match="cells"):
        batchable(optimize_cell, [{"step_size": 1.0}])


def test_cell_arguments_are_validated():
    with pytest.raises(InvalidInputError, match="mdp"):
        optimize_cell(mdp=3, method="npg", n_iter=2, seed=0)
    with pytest.raises(InvalidInputError, match="mdp_kwargs"):
        optimize_cell(mdp="mdpgrad.envs:garnet", mdp_kwargs=[1], method="npg", n_iter=2, seed=0)
    with pytest.raises(InvalidInputError, match="record"):
        optimize_cell(mdp="mdpgrad.envs:garnet", mdp_kwargs=MK, method="npg", n_iter=2, seed=0, record=[])


def test_cell_factory_arguments_are_checked_before_the_run():
    """A factory keyword that does not fit is named (not a TypeError from deep inside the cell)."""
    from mdpgrad.errors import InvalidInputError
    from mdpgrad.sweep import optimize_cell

    with pytest.raises(InvalidInputError, match="mdp_kwargs"):
        optimize_cell("mdpgrad.envs:garnet", "npg", 5, 0, mdp_kwargs={"n_states": 5}, step_size=1.0)
    with pytest.raises(InvalidInputError, match="mdp_kwargs"):
        optimize_cell("mdpgrad.envs:garnet", "npg", 5, 0, step_size=1.0,
                      mdp_kwargs={"n_states": 5, "n_actions": 2, "branching": 2, "colour": 1})
