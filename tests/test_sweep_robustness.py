"""Sweeps and CLI under user mistakes and I/O trouble (issue 16): one-line errors, manifest repair,
shared work between concurrent runs, expiring claims, non-zero status on corrupt cells."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mdpgrad import cli, sweep
from mdpgrad.sweep.store import _HOST, Store

ROOT = Path(__file__).resolve().parents[1]

CELL_MODULE = textwrap.dedent("""
    import time
    def f(x, seed):
        time.sleep(0.15)
        return {"y": x * 2 + seed}
""")


@pytest.fixture()
def spec(tmp_path):
    (tmp_path / "cellmod_rb.py").write_text(CELL_MODULE)
    sys.path.insert(0, str(tmp_path))
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"name": "rb", "function": "cellmod_rb:f", "grid": {"x": list(range(8))},
                                "seeds": [0]}))
    yield path
    sys.path.remove(str(tmp_path))


def _cli(argv, capsys):
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_status_exits_nonzero_on_corrupt_cells_and_repairs_manifest(spec, tmp_path, capsys):
    out = tmp_path / "res"
    rep = sweep.run(spec, out, workers=1)
    assert rep.n_computed == 8
    assert _cli(["sweep", "status", str(out)], capsys)[0] == 0
    cell = sorted((out / "cells").iterdir())[0]
    cell.write_text("garbage")
    man = next((out / "sweeps").glob("*.json"))
    man.write_text("{not json")
    rc, text, err = _cli(["sweep", "status", str(out)], capsys)
    assert rc == 1 and "[corrupt] cells/" in text and "[corrupt] sweeps/" in text
    rep = sweep.run(spec, out, workers=1)
    assert rep.n_computed == 1 and rep.n_corrupt == 1
    assert json.loads(man.read_text())["keys"]  # the manifest was rewritten
    assert _cli(["sweep", "status", str(out)], capsys)[0] == 0


def test_directory_where_a_cell_file_should_be(spec, tmp_path, capsys):
    out = tmp_path / "res"
    sweep.run(spec, out, workers=1)
    cell = sorted((out / "cells").iterdir())[0]
    cell.unlink()
    cell.mkdir()
    rc, text, _ = _cli(["sweep", "status", str(out)], capsys)
    assert rc == 1 and "corrupt" in text
    with pytest.warns(RuntimeWarning):
        assert len(sweep.load(out)) == 7
    rep = sweep.run(spec, out, workers=1)
    assert rep.n_computed == 1 and cell.is_file()


def test_concurrent_runs_share_the_work(spec, tmp_path):
    out = tmp_path / "res"
    code = ("import sys; from mdpgrad import sweep; sys.path.insert(0, sys.argv[2]); "
            "r = sweep.run(sys.argv[1], sys.argv[3], workers=1); print(r.n_computed)")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(spec), str(tmp_path), str(out)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (o, e) in zip(procs, results):
        assert p.returncode == 0, e
    computed = [int(o.strip()) for o, _ in results]
    assert sum(computed) == 8  # every cell computed once, not twice
    assert len(Store(out).scan()[0]) == 8


def test_a_dead_claimers_claim_expires(spec, tmp_path):
    out = tmp_path / "res"
    store = Store(out).ensure()
    sw = sweep.load_spec(spec)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process that has exited
    for c in sw.cells():
        store.claim_path(c.key).parent.mkdir(parents=True, exist_ok=True)
        store.claim_path(c.key).write_text(json.dumps({"host": _HOST, "pid": pid, "when": "then"}))
    rep = sweep.run(spec, out, workers=1)
    assert rep.n_computed == 8


def test_a_live_claim_is_respected(tmp_path):
    store = Store(tmp_path / "res").ensure()
    assert store.claim("k")
    assert store.claim("k")  # re-entrant for its owner
    path = store.claim_path("k")
    path.write_text(json.dumps({"host": _HOST, "pid": os.getppid(), "when": "now"}))  # a live other process
    assert not store.claim("k") and store.claimed_by_other("k")


@pytest.mark.parametrize("argv, needle", [
    (["solve", "--seed", "-1"], "seed = -1"),
    (["solve", "--states", "200000", "--actions", "50"], "TiB"),
    (["solve", "--env", "gridworld", "--states", "0"], "--states 0"),
    (["check", "--json", "/nonexistent-dir/x.json", "--claim", "x"], "--json"),
    (["check", "--scheduler", "garbage"], "--scheduler"),
    (["figures", "--workers", "0"], "--workers 0"),
    (["figures", "--out", "/proc/x"], "--out /proc/x"),
])
def test_cli_mistakes_are_one_line_with_exit_2(argv, needle, capsys):
    rc, _, err = _cli(argv, capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mdpgrad: error:") and needle in lines[0]


def test_cli_figures_out_is_an_existing_file(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    rc, _, err = _cli(["figures", "--out", str(f)], capsys)
    assert rc == 2 and "existing file" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content, suffix, needle", [
    ('{"grid": {}}', ".json", "name"),
    ('raise RuntimeError("boom")', ".py", "boom"),
])
def test_cli_bad_specs(tmp_path, capsys, content, suffix, needle):
    p = tmp_path / f"badspec{suffix}"
    p.write_text(content)
    rc, _, err = _cli(["sweep", "run", str(p)], capsys)
    assert rc == 2 and needle in err and len(err.strip().splitlines()) == 1
