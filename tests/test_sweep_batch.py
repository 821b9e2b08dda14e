"""Sweeps whose cell function has a ``batched`` form run a chunk of cells in one batched ``optimize``
call and store exactly what the unbatched path stores (and resume the same way)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mdpgrad.sweep import Store, Sweep, load, run

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's experiments/ (this checkout's)
npg = pytest.importorskip("mdpgrad.experiments.npg_step_size")

REF = "mdpgrad.experiments.npg_step_size:npg_cell"


def _sweep():
    return Sweep("npg_batch_test", REF, grid={"eta": [0.3, 3.0], "instance": ["garnet(10,3,2)", "garnet(20,4,3)"]},
                 fixed={"gamma": 0.9, "T": 30}, seeds=2, seed_by=("instance",))


def _results(df):
    return df.drop(columns=["seconds", "cpu_seconds", "finished"], errors="ignore").sort_values("key").reset_index(
        drop=True)


def _same(a, b):
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for col in a.columns:
        for x, y in zip(a[col], b[col]):
            if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
                assert np.array_equal(np.asarray(x), np.asarray(y)), col
            else:
                assert x == y, col


def test_npg_cells_equal_npg_cell_bit_for_bit():
    cells = [{"eta": e, "instance": i, "gamma": 0.9, "T": 40, "seed": s}
             for e in (0.1, 10.0) for i in ("garnet(10,3,2)", "garnet(20,4,3)") for s in (1, 2)]
    batched = npg.npg_cells(cells)
    for c, b in zip(cells, batched):
        one = npg.npg_cell(**c)
        assert one.keys() == b.keys()
        for k in one:
            assert np.array_equal(np.asarray(one[k]), np.asarray(b[k])), k
    # a control that can fail: a different step size gives different gaps
    assert not np.array_equal(batched[0]["gaps"], batched[4]["gaps"])


def test_batched_sweep_stores_what_the_unbatched_sweep_stores_and_resumes(tmp_path, monkeypatch):
    sw = _sweep()
    calls = []

    def counting(cells):
        calls.append(len(cells))
        return npg.npg_cells(cells)

    monkeypatch.setattr(npg.npg_cell, "batched", counting)
    rep = run(sw, tmp_path / "batched", workers=1, chunksize=8)
    assert (rep.n_cells, rep.n_computed, rep.n_failed) == (8, 8, 0)
    assert calls == [8]  # the whole chunk went through one batched call
    batched = _results(load(tmp_path / "batched"))

    # resume: drop three stored cells; only those are recomputed (batched), the rest are kept
    keys = [c.key for c in sw.cells()]
    for k in keys[1:4]:
        Store(tmp_path / "batched").cell_path(k).unlink()
    calls.clear()
    rep = run(sw, tmp_path / "batched", workers=1, chunksize=8)
    assert (rep.n_computed, rep.n_already) == (3, 5) and calls == [3]
    _same(_results(load(tmp_path / "batched")), batched)

    monkeypatch.delattr(npg.npg_cell, "batched")
    rep = run(sw, tmp_path / "plain", workers=1, chunksize=8)
    assert rep.n_computed == 8
    _same(_results(load(tmp_path / "plain")), batched)


def test_a_failing_batch_falls_back_to_cell_by_cell(tmp_path, monkeypatch):
    def broken(cells):
        raise RuntimeError("batch cannot run")

    monkeypatch.setattr(npg.npg_cell, "batched", broken)
    rep = run(_sweep(), tmp_path, workers=1, chunksize=8)
    assert (rep.n_computed, rep.n_failed) == (8, 0)
