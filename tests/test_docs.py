"""The docs: every Python snippet runs as pasted (as a script and in an interactive REPL), the
README keeps its promises, and the generated Benchmarks page renders whatever JSON exists."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: Pages whose ```python blocks are run, in order, as one program per page.
SNIPPET_PAGES = [
    "README.md",
    "docs/index.md",
    "docs/tutorial-add-claim.md",
    "docs/claims.md",
    "docs/guide/exact.md",
    "docs/guide/exact-pg.md",
    "docs/guide/stochastic-pg.md",
    "docs/guide/policy-evaluation.md",
    "docs/guide/robust.md",
    "docs/guide/llm-rl.md",
    "docs/guide/games.md",
    "docs/guide/sparse.md",
    "docs/guide/sweeps.md",
    "docs/dask.md",
]


def python_blocks(path: Path) -> list[str]:
    """The ```python fenced blocks of a Markdown page, in order."""
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MPLBACKEND"] = "Agg"
    return env


def run_as_script(code: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    script = cwd / "snippet.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script)], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def run_in_repl(code: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """Paste ``code`` into an interactive interpreter (``python -i`` reading stdin: prompts,
    blocks ended by blank lines, ``__main__`` without a file), then exit."""
    return subprocess.run([sys.executable, "-i", "-q"], input=code + "\n\nimport sys; sys.exit(0)\n", cwd=cwd,
                          env=_env(), capture_output=True, text=True, timeout=timeout)


def _failed(proc) -> bool:
    return proc.returncode != 0 or "Traceback (most recent call last)" in proc.stderr or "Error:" in proc.stderr


@pytest.mark.parametrize("page", SNIPPET_PAGES)
def test_page_snippets_run_as_a_script(page, tmp_path):
    blocks = python_blocks(ROOT / page)
    assert blocks, f"{page} has no python snippet"
    proc = run_as_script("\n\n".join(blocks), tmp_path)
    assert not _failed(proc), proc.stdout[-2000:] + proc.stderr[-4000:]


@pytest.mark.parametrize("page", ["README.md", "docs/tutorial-add-claim.md", "docs/guide/sweeps.md"])
def test_page_snippets_run_pasted_into_a_repl(page, tmp_path):
    blocks = python_blocks(ROOT / page)
    proc = run_in_repl("\n\n".join(blocks), tmp_path)
    assert not _failed(proc), proc.stdout[-2000:] + proc.stderr[-4000:]


def test_readme_is_short_and_keeps_the_two_commands():
    text = (ROOT / "README.md").read_text()
    lines = text.splitlines()
    assert len(lines) <= 150, len(lines)
    assert "python -m pip install -e . && mdpgrad check --quick" in text
    assert 'python -m pip install -e ".[test]" && python -m pytest -q -n 2' in text
    tour = python_blocks(ROOT / "README.md")
    assert len(tour) == 1 and len(tour[0].splitlines()) <= 20
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / link).exists(), link
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'python -m pip install -e ".[test]" && python -m pytest -q -n 2' in ci
    assert "mkdocs build --strict" in ci and "ruff check ." in ci


_PROCESS_WORDS = ("the issue's", "catalogue correction", "shared/claims.md", "python -m mdpgrad.cli")


def test_no_team_process_words_in_readme_and_docs():
    pages = [ROOT / "README.md", *DOCS.rglob("*.md")]
    for p in pages:
        text = p.read_text().lower()
        for w in _PROCESS_WORDS:
            assert w.lower() not in text, f"{p.relative_to(ROOT)}: {w!r}"


def test_every_nav_page_exists():
    nav = re.findall(r":\s+([\w\-/]+\.(?:md|ipynb))\s*$", (ROOT / "mkdocs.yml").read_text(), flags=re.M)
    assert "glossary.md" in nav and "benchmarks.md" in nav
    for page in nav:
        if page == "benchmarks.md":  # generated at build time
            continue
        assert (DOCS / page).exists(), page


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_benchmarks_page_is_generated_from_json(tmp_path):
    hooks = _hooks()
    empty = hooks.render_benchmarks(tmp_path)
    assert "No benchmark results yet" in empty
    (tmp_path / "bench_solve.json").write_text(json.dumps({
        "benchmark": "policy iteration vs quantecon", "command": "python benchmarks/bench_solve.py",
        "machine": "2 cores", "results": [{"peer": "mdpgrad", "seconds": 0.0079, "ratio": 1.0},
                                          {"peer": "quantecon", "seconds": 0.0126, "ratio": 1.5949}]}))
    (tmp_path / "broken.json").write_text("{not json")
    page = hooks.render_benchmarks(tmp_path)
    assert "## policy iteration vs quantecon" in page and "`python benchmarks/bench_solve.py`" in page
    assert "| peer | seconds | ratio |" in page and "| quantecon | 0.0126 | 1.595 |" in page
    assert "Unreadable" in page and "No benchmark results yet" not in page


def test_dask_page_commands_on_a_local_cluster(tmp_path, capsys):
    """The Dask page's workflow on a LocalCluster: a sweep and the claims through its scheduler."""
    distributed = pytest.importorskip("distributed")
    text = (DOCS / "dask.md").read_text()
    assert "dask scheduler" in text and "dask worker tcp://" in text and "--scheduler tcp://" in text
    from mdpgrad.cli import main
    from mdpgrad.sweep import Sweep, load, run

    sweep = Sweep("dask_doc", "mdpgrad.sweep.demo:noisy_quadratic", grid={"x": [0.0, 1.0, 2.0]}, seeds=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        report = run(sweep, tmp_path / "dask_doc", scheduler=cluster.scheduler_address)
        assert report.ok and report.n_computed == 6 and report.executor == "dask"
        rc = main(["check", "--topic", "foundation", "--quick", "--no-progress",
                   "--scheduler", cluster.scheduler_address])
        assert rc == 0, capsys.readouterr().out
    assert len(load(tmp_path / "dask_doc")) == 6
