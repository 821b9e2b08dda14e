"""Unit tests of mdpgrad.sweep: specs, seeds, storage format, resumption, CLI, checks in parallel."""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdpgrad.errors import InvalidInputError
from mdpgrad.sweep import (
    CorruptCell,
    Store,
    Sweep,
    cell_key,
    load,
    load_spec,
    run,
    stable_seed,
    status,
)
from mdpgrad.sweep.store import atomic_write, decode_cell, encode_cell

QUAD = "mdpgrad.sweep.demo:noisy_quadratic"


def _results(df):
    """The columns that must not depend on where/when a cell ran (drops timings)."""
    return df.drop(columns=["seconds", "cpu_seconds"]).sort_values("key").reset_index(drop=True)


# ----------------------------------------------------------------------------- seeds and keys
def test_stable_seed_pinned():
    # Pinned values: a change here silently changes every stored experiment, so it must be deliberate.
    assert stable_seed({"x": 1.0, "n": 3}, 0) == 600052922614883869
    assert cell_key("m:f", {"x": 1.0}, 0, "") == "54d8b0fe4c780806ff0118ed"


@given(st.dictionaries(st.sampled_from("abcdef"), st.one_of(st.integers(-5, 5), st.floats(-3, 3), st.sampled_from("xyz")),
                       min_size=1), st.integers(0, 10))
def test_seed_and_key_ignore_dict_order(params, rep):
    rev = dict(reversed(list(params.items())))
    assert stable_seed(params, rep) == stable_seed(rev, rep)
    assert cell_key("m:f", params, rep) == cell_key("m:f", rev, rep)
    assert 0 <= stable_seed(params, rep) < 2**63


def test_seed_distinguishes_params_replicates_and_types():
    assert stable_seed({"x": 1}, 0) != stable_seed({"x": 1}, 1)
    assert stable_seed({"x": 1}, 0) != stable_seed({"x": 2}, 0)
    assert stable_seed({"x": 1}, 0) != stable_seed({"x": 1.0}, 0)  # documented: 1 and 1.0 differ
    assert stable_seed({"x": np.float64(0.5)}, 0) == stable_seed({"x": 0.5}, 0)  # NumPy scalars converted


def test_cells_grid_product_union_and_seed_by():
    sw = Sweep("s", QUAD, grid={"x": [0.0, 1.0, 2.0], "noise": [0.1, 0.2]}, seeds=3)
    cells = sw.cells()
    assert len(cells) == 18 and len({c.key for c in cells}) == 18
    assert len({c.seed for c in cells}) == 18
    shared = Sweep("s", QUAD, grid={"x": [0.0, 1.0], "noise": [0.1, 0.2]}, seeds=2, seed_by=("noise",)).cells()
    by = {}
    for c in shared:
        by.setdefault((c.params["noise"], c.replicate), set()).add(c.seed)
    assert all(len(v) == 1 for v in by.values()) and len({next(iter(v)) for v in by.values()}) == 4
    one = Sweep("s", QUAD, grid={"x": [0.0], "noise": [0.1]}, seed_by="noise")
    assert one.seed_by == ("noise",)
    union = Sweep("u", QUAD, grid=[{"x": [0.0, 1.0]}, {"x": [1.0, 2.0]}], seeds=[5, 7]).cells()
    assert [c.params["x"] for c in union] == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]  # duplicate x=1.0 dropped
    assert [c.replicate for c in union[:2]] == [5, 7]


def test_cell_is_deterministic_and_version_changes_key():
    c1 = Sweep("s", QUAD, grid={"x": [1.5]}, seeds=1).cells()[0]
    c2 = Sweep("other-name", QUAD, grid={"x": [1.5]}, seeds=1).cells()[0]
    assert c1 == c2 and c1.run() == c2.run()
    c3 = Sweep("s", QUAD, grid={"x": [1.5]}, seeds=1, version="2").cells()[0]
    assert c3.key != c1.key and c3.seed == c1.seed


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"function": "no_colon"}, "function"),
        ({"function": "__main__:f"}, "function"),
        ({"function": lambda x, seed: x}, "function"),
        ({"grid": {"seed": [1]}}, "grid"),
        ({"grid": {"replicate": [1]}}, "grid"),
        ({"fixed": {"key": "k"}}, "fixed"),
        ({"grid": {"x": []}}, "grid"),
        ({"grid": {"x": 3}}, "grid"),
        ({"grid": {"x": [float("nan")]}}, "grid"),
        ({"grid": {"x": [object()]}}, "grid"),
        ({"seeds": 0}, "seeds"),
        ({"seeds": [1, 1]}, "seeds"),
        ({"seeds": "3"}, "seeds"),
        ({"fixed": {"x": 1.0}}, "fixed"),
        ({"fixed": {"seed": 1}}, "fixed"),
        ({"seed_by": ("nope",)}, "seed_by"),
        ({"name": "a b"}, "name"),
    ],
)
def test_sweep_validation(kwargs, match):
    base = {"name": "s", "function": QUAD, "grid": {"x": [1.0]}, "seeds": 1}
    base.update(kwargs)
    with pytest.raises(InvalidInputError, match=match):
        Sweep(**base).cells()


def test_function_reference_from_callable_and_unknown_module():
    from mdpgrad.sweep import demo

    assert Sweep("s", demo.trivial, grid={"x": [1]}).function == "mdpgrad.sweep.demo:trivial"
    with pytest.raises(InvalidInputError, match="function"):
        run(Sweep("s", "no_such_module_xyz:f", grid={"x": [1]}), "/nonexistent-should-not-matter", workers=1)


def test_package_docstring_example_runs():
    import doctest

    import mdpgrad.sweep

    assert doctest.testmod(mdpgrad.sweep).failed == 0


# ----------------------------------------------------------------------------- storage format
def test_cell_file_roundtrip_and_corruption(tmp_path):
    rec = {"key": "k1", "result": {"y": [1.0, float("nan")]}, "params": {"x": 1}}
    data = encode_cell(rec)
    back = decode_cell(data, "k1")
    assert back["params"] == rec["params"] and np.isnan(back["result"]["y"][1])
    with pytest.raises(CorruptCell, match="truncated"):
        decode_cell(data[:-3], "k1")
    flipped = bytearray(data)
    flipped[-5] ^= 1
    with pytest.raises(CorruptCell, match="sha256"):
        decode_cell(bytes(flipped), "k1")
    with pytest.raises(CorruptCell, match="does not match"):
        decode_cell(data, "k2")
    with pytest.raises(CorruptCell, match="header"):
        decode_cell(b"", "k1")


@given(st.data())
def test_any_truncation_or_byte_flip_is_detected(data):
    rec = {"key": "k", "result": {"gaps": [0.5, 0.25, 1e-300], "n": 3}, "params": {"eta": 1.0, "inst": "g"}}
    blob = encode_cell(rec)
    cut = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(CorruptCell):
        decode_cell(blob[:cut], "k")
    pos = data.draw(st.integers(0, len(blob) - 1))
    bit = data.draw(st.integers(0, 7))
    flipped = bytearray(blob)
    flipped[pos] ^= 1 << bit
    with pytest.raises(CorruptCell):
        decode_cell(bytes(flipped), "k")


def test_atomic_write_leaves_no_temp_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a.json"
    atomic_write(target, b"one")
    assert target.read_bytes() == b"one" and [p.name for p in tmp_path.iterdir()] == ["a.json"]

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, b"two")
    assert target.read_bytes() == b"one" and [p.name for p in tmp_path.iterdir()] == ["a.json"]


# ----------------------------------------------------------------------------- run / resume / load
def test_run_skip_and_truncated_cell_recomputed(tmp_path):
    sw = Sweep("q", QUAD, grid={"x": [0.0, 1.0, 2.0]}, seeds=3)
    rep = run(sw, tmp_path, workers=1)
    assert (rep.n_cells, rep.n_computed, rep.n_already, rep.n_failed) == (9, 9, 0, 0)
    ref = _results(load(tmp_path))
    assert len(ref) == 9 and set(ref["key"]) == {c.key for c in sw.cells()}
    # mean of 16 draws of x^2 + 0.1 N(0,1): |mean - x^2| < 6 * 0.1 / 4 = 0.15 with overwhelming probability
    assert np.all(np.abs(ref["mean"] - ref["x"] ** 2) < 0.15)
    assert run(sw, tmp_path, workers=1).n_computed == 0

    victim = Store(tmp_path).cell_path(sw.cells()[4].key)
    victim.write_bytes(victim.read_bytes()[:-10])  # truncate
    st = status(tmp_path)
    assert st.corrupt == (sw.cells()[4].key,) and st.sweeps[0].n_done == 8
    with pytest.warns(RuntimeWarning, match="corrupt"):
        partial = load(tmp_path)
    assert len(partial) == 8 and sw.cells()[4].key not in set(partial["key"])  # never silently used
    with pytest.raises(CorruptCell):
        load(tmp_path, on_corrupt="raise")
    rep = run(sw, tmp_path, workers=1)
    assert (rep.n_corrupt, rep.n_computed, rep.n_already) == (1, 1, 8)
    assert len(list((tmp_path / "quarantine").glob("*.json"))) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = _results(load(tmp_path))
    assert again.equals(ref)
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["n_cells"] == 9 and index["corrupt"] == []


def test_cells_finished_meanwhile_by_another_sweep_are_skipped(tmp_path, monkeypatch):
    import mdpgrad.sweep.execute as ex

    sw = Sweep("q", QUAD, grid={"x": [0.0, 1.0, 2.0, 3.0]}, seeds=1)
    other = tmp_path / "other"
    run(sw, other, workers=1)  # what a concurrent sweep would have written
    calls = []
    real = ex.run_chunk

    def chunk_then_other_sweep_finishes_the_rest(ref, items):
        calls.append([k for k, _, _ in items])
        out = real(ref, items)
        for c in sw.cells():  # the "other sweep" stores every cell right now
            (tmp_path / "cells" / f"{c.key}.json").write_bytes((other / "cells" / f"{c.key}.json").read_bytes())
        return out

    monkeypatch.setattr(ex, "run_chunk", chunk_then_other_sweep_finishes_the_rest)
    rep = run(sw, tmp_path, workers=1, chunksize=1)
    assert len(calls) == 1 and (rep.n_computed, rep.n_already) == (1, 3)
    assert _results(load(tmp_path)).equals(_results(load(other)))


def test_failing_cells_are_reported_not_stored(tmp_path):
    sw = Sweep("bad", "mdpgrad.sweep.demo:noisy_quadratic", grid={"x": [1.0, "oops"]}, seeds=1)
    rep = run(sw, tmp_path, workers=1)
    assert rep.n_failed == 1 and rep.n_computed == 1 and not rep.ok
    assert rep.failures[0].params["x"] == "oops" and "TypeError" in rep.failures[0].error
    assert status(tmp_path).failed == (rep.failures[0].key,)
    assert len(load(tmp_path)) == 1


def test_stale_temp_files_of_dead_processes_are_cleaned(tmp_path):
    import subprocess

    from mdpgrad.sweep.store import _HOST

    sw = Sweep("q", QUAD, grid={"x": [0.0]}, seeds=1)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    (tmp_path / "cells").mkdir()
    stale = tmp_path / "cells" / f".abc.json.{_HOST}.{pid}.deadbeef.tmp"
    live = tmp_path / "cells" / f".abd.json.{_HOST}.{os.getpid()}.deadbeef.tmp"
    stale.write_bytes(b"partial")
    live.write_bytes(b"partial")
    assert status(tmp_path).n_stale_temps == 1
    run(sw, tmp_path, workers=1)
    assert not stale.exists() and live.exists()  # a live writer's temp file is left alone
    assert len(load(tmp_path)) == 1


def test_result_names_never_clobber_columns(tmp_path):
    sw = Sweep("c", "mdpgrad.sweep.demo:trivial", grid={"x": [3]})
    run(sw, tmp_path, workers=1)
    df = load(tmp_path)
    assert df["y"].tolist() == [3]
    # a result named like a parameter or a timing column is prefixed, not overwritten
    from mdpgrad.sweep import Store
    from mdpgrad.sweep.store import decode_cell

    store = Store(tmp_path)
    key = sw.cells()[0].key
    rec = decode_cell(store.cell_path(key).read_bytes(), key)
    rec["result"] = {"x": 1, "seconds": 2, "seed": 3}
    store.write_cell(rec)
    row = load(tmp_path).iloc[0]
    assert (row["x"], row["result.x"], row["result.seconds"], row["result.seed"]) == (3, 1, 2, 3)
    assert row["seed"] == sw.cells()[0].seed


def test_load_by_sweep_name(tmp_path):
    run(Sweep("a", QUAD, grid={"x": [0.0, 1.0]}), tmp_path, workers=1)
    run(Sweep("b", QUAD, grid={"x": [1.0, 2.0]}), tmp_path, workers=1)
    assert len(load(tmp_path)) == 3  # x = 1.0 is the same cell for both sweeps
    assert load(tmp_path, "b")["x"].tolist() == [1.0, 2.0]
    with pytest.raises(InvalidInputError, match="sweep"):
        load(tmp_path, "c")
    with pytest.raises(InvalidInputError, match="on_corrupt"):
        load(tmp_path, on_corrupt="ignore")
    with pytest.raises(InvalidInputError, match="does not exist"):
        load(tmp_path / "nope")


def test_run_argument_validation(tmp_path):
    sw = Sweep("q", QUAD, grid={"x": [0.0]})
    with pytest.raises(InvalidInputError, match="workers"):
        run(sw, tmp_path, workers=0)
    with pytest.raises(InvalidInputError, match="executor"):
        run(sw, tmp_path, executor="threads")
    with pytest.raises(InvalidInputError, match="scheduler"):
        run(sw, tmp_path, executor="dask")
    with pytest.raises(InvalidInputError, match="chunksize"):
        run(sw, tmp_path, workers=1, chunksize=0)


# ----------------------------------------------------------------------------- specs and CLI
def test_json_and_python_specs(tmp_path):
    spec = {"name": "js", "function": QUAD, "grid": {"x": [0.0, 2.0]}, "seeds": 2, "fixed": {"n": 4}}
    p = tmp_path / "spec.json"
    p.write_text(json.dumps(spec))
    sw = load_spec(p)
    assert len(sw.cells()) == 4 and sw.cells()[0].params == {"x": 0.0, "n": 4}
    py = tmp_path / "myexp.py"
    py.write_text("from mdpgrad.sweep import Sweep\n"
                  "def cell(x, seed):\n    return x + 1\n"
                  "SWEEP = Sweep('py', 'myexp:cell', grid={'x': [1, 2]})\n")
    sw = load_spec(py)
    assert sw.function == "myexp:cell"
    rep = run(sw, tmp_path / "out", workers=1)
    assert rep.n_computed == 2 and load(tmp_path / "out")["value"].tolist() == [2, 3]
    if sys.version_info >= (3, 11):
        toml = tmp_path / "spec.toml"
        toml.write_text('name = "tm"\nfunction = "mdpgrad.sweep.demo:noisy_quadratic"\nseeds = 2\n'
                        '[grid]\nx = [0.0, 2.0]\n[fixed]\nn = 4\n')
        assert [c.key for c in load_spec(toml).cells()] == [c.key for c in load_spec(p).cells()]
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InvalidInputError, match="spec"):
        load_spec(tmp_path / "bad.json")
    (tmp_path / "extra.json").write_text(json.dumps(spec | {"grdi": {}}))
    with pytest.raises(InvalidInputError, match="grdi"):
        load_spec(tmp_path / "extra.json")
    with pytest.raises(InvalidInputError, match="spec"):
        load_spec(tmp_path / "missing.py")


def test_cli_sweep_run_and_status(tmp_path, capsys):
    from mdpgrad.cli import main

    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "cli", "function": QUAD, "grid": {"x": [0.0, 1.0]}, "seeds": 2}))
    assert main(["sweep", "run", str(spec), "--workers", "1", "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    assert "4 computed" in capsys.readouterr().out
    assert main(["sweep", "status", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "cli" in out and "4 valid cell file(s), 0 corrupt" in out
    assert main(["sweep", "run", str(tmp_path / "nope.json")]) == 2
    assert "spec" in capsys.readouterr().err
    assert main(["sweep", "status", str(tmp_path / "nothing")]) == 2


# ----------------------------------------------------------------------------- experiments
def test_npg_cell_matches_bound_and_is_monotone():
    from mdpgrad.experiments.npg_step_size import npg_cell

    res = npg_cell(eta=1.0, instance="garnet(10,3,2)", gamma=0.9, T=30, seed=3)
    gaps = np.asarray(res["gaps"])
    assert res["violations"] == 0 and res["max_ratio"] <= 1.0
    # NPG improves monotonically (Agarwal et al. 2021, Lemma 15); slack for float64 round-off.
    assert np.all(np.diff(gaps) <= 1e-12) and gaps[-1] < gaps[0]


def test_experiments_registry_and_figures(tmp_path):
    from mdpgrad.sweep import experiments, render_experiment

    names = {e.name for e in experiments()}
    assert {"npg_step_size", "pg_vs_npg"} <= names
    for e in experiments():
        assert e.figure is not None and e.sweep.function.startswith("mdpgrad.experiments.")
    # draw each figure from a shrunk copy of its sweep (same cell function, tiny horizon)
    import dataclasses

    from mdpgrad.sweep.experiments import Experiment

    for e in experiments():
        small = dataclasses.replace(e.sweep, seeds=(0,), fixed={**e.sweep.fixed, "T": 5})
        png = render_experiment(Experiment(e.name, e.module, small, e.figure), tmp_path / "figs",
                                results_root=tmp_path / "res", workers=1)
        assert png.stat().st_size > 1000
        meta = json.loads(png.with_suffix(".json").read_text())
        assert meta["command"].startswith(f"mdpgrad sweep run {e.spec}") and meta["n_cells"] == len(small.cells())


# ----------------------------------------------------------------------------- checks in parallel
def test_cli_check_workers_equals_serial(tmp_path):
    from mdpgrad.claims import get_claim, run_claim
    from mdpgrad.cli import main

    ids = ["pg-theorem", "bellman-residual-zero"]
    out = tmp_path / "v.json"
    argv = ["check", "--quick", "--workers", "2", "--no-progress", "--json", str(out)]
    assert main(argv + [x for i in ids for x in ("--claim", i)]) == 0
    got = json.loads(out.read_text())
    assert [g["id"] for g in got] == ids  # claim order kept
    for g in got:
        ser = run_claim(get_claim(g["id"]), "quick").as_json()
        assert (g["verdict"], g["measured"], g["predicted"]) == (ser["verdict"], ser["measured"], ser["predicted"])


def test_check_claim_by_id_ships_png_not_figure(tmp_path):
    from mdpgrad.cli import _save_figure
    from mdpgrad.sweep.checks import check_claim_by_id, record_from_dict

    d = check_claim_by_id("solvers-agree", "quick", png="mdpgrad figures --only {id} --quick")
    pickle_size = len(__import__("pickle").dumps(d))
    assert d["png"][:4] == b"\x89PNG" and pickle_size < 2_000_000
    rec = record_from_dict(d)
    assert rec.claim.id == "solvers-agree" and rec.verdict.figure is None and rec.verdict.data["png"] == d["png"]
    png = _save_figure(rec, tmp_path, "mdpgrad figures --only solvers-agree --quick")  # the --workers path
    assert png.read_bytes() == d["png"]
    meta = json.loads(png.with_suffix(".json").read_text())
    assert meta["command"].endswith("--quick") and "png" not in meta["data"]


def test_cli_figures_experiment_without_results_and_no_run(tmp_path, capsys):
    from mdpgrad.cli import main

    code = main(["figures", "--only", "pg_vs_npg", "--no-run", "--results", str(tmp_path), "--out", str(tmp_path)])
    assert code == 2 and "mdpgrad sweep run mdpgrad.experiments.pg_vs_npg" in capsys.readouterr().err


def test_processes_refuse_a_main_without_file(tmp_path):
    import subprocess

    script = ("from mdpgrad.sweep import Sweep, run\n"
              f"run(Sweep('s', 'mdpgrad.sweep.demo:trivial', grid={{'x': [1, 2]}}), {str(tmp_path)!r}, workers=2)\n")
    res = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])))
    assert res.returncode != 0 and "InvalidInputError" in res.stderr and "workers" in res.stderr
