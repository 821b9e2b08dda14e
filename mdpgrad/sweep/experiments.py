"""The ``experiments`` package (installed as :mod:`mdpgrad.experiments`) as a registry of sweeps with figures (used by ``mdpgrad figures``).

An experiment is a module ``experiments/<module>.py`` defining ``SWEEP`` (a
:class:`~mdpgrad.sweep.Sweep`) and ``figure(df) -> matplotlib Figure`` drawing the stored
results. :func:`render_experiment` reads ``results/<name>/`` (running the missing cells
first unless ``run_missing=False``; results of experiment ``name`` live in
``<results_root>/<name>/``), draws the figure, stamps the command that made it on
the image and writes ``<out>/<name>.png`` plus ``<out>/<name>.json`` (command, spec, cells).
"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInputError
from .spec import Sweep

__all__ = ["Experiment", "experiments", "get_experiment", "render_experiment"]


@dataclass(frozen=True)
class Experiment:
    """A sweep spec module with a figure."""

    name: str
    module: str
    sweep: Sweep
    figure: Callable | None

    @property
    def spec(self) -> str:
        """What ``mdpgrad sweep run`` takes for this experiment: its importable spec module."""
        return self.module

    def command(self, results_root: str | None = None) -> str:
        """The shell command that (re)makes this experiment's figure."""
        if results_root in (None, "results"):
            return f"mdpgrad sweep run {self.spec} && mdpgrad figures --only {self.name}"
        return (f"mdpgrad sweep run {self.spec} --out {results_root}/{self.name} && "
                f"mdpgrad figures --only {self.name} --results {results_root}")


@functools.lru_cache(maxsize=1)
def experiments() -> tuple[Experiment, ...]:
    """Every experiment module of :mod:`mdpgrad.experiments` (empty if it is not importable)."""
    try:
        pkg = importlib.import_module("mdpgrad.experiments")
    except ImportError:
        return ()
    found = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"mdpgrad.experiments.{info.name}")
        sw = getattr(mod, "SWEEP", None)
        if isinstance(sw, Sweep):
            found.append(Experiment(sw.name, mod.__name__, sw, getattr(mod, "figure", None)))
    return tuple(found)


def get_experiment(name: str) -> Experiment:
    """The experiment whose sweep is called ``name`` (KeyError if none)."""
    for e in experiments():
        if e.name == name:
            return e
    raise KeyError(f"no experiment called {name!r}")


def render_experiment(exp: Experiment, out: str | Path = "paper_figures", *, results_root: str | Path = "results",
                      run_missing: bool = True, workers: int | None = None, scheduler=None,
                      progress: bool = False) -> Path:
    """Draw ``exp``'s figure from its stored results into ``out/<name>.png`` (+ ``.json``)."""
    from .execute import run
    from .store import Store, load

    if exp.figure is None:
        raise InvalidInputError(f"experiment {exp.name!r} ({exp.module}) defines no figure(df)")
    res_dir = Path(results_root) / exp.name
    keys = [c.key for c in exp.sweep.cells()]
    ok, _ = Store(res_dir).scan(keys) if res_dir.is_dir() else ({}, {})
    if len(ok) < len(keys):
        if not run_missing:
            raise InvalidInputError(f"experiment {exp.name!r}: {len(keys) - len(ok)} of {len(keys)} cells are not "
                                    f"stored in {res_dir}; run `mdpgrad sweep run {exp.spec} --out {res_dir}`")
        run(exp.sweep, res_dir, workers=workers, scheduler=scheduler, progress=progress)
    df = load(res_dir, on_corrupt="raise")
    df = df[df["key"].isin(set(keys))].reset_index(drop=True)
    fig = exp.figure(df)
    command = exp.command(str(results_root))
    fig.text(0.01, 0.005, command, fontsize=6, color="0.4")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"{exp.name}.png"
    fig.savefig(png, dpi=120)
    meta = {"id": exp.name, "kind": "experiment", "command": command, "spec": exp.sweep.to_dict(),
            "results": str(res_dir), "n_cells": int(len(df)), "cell_keys": keys}
    (out / f"{exp.name}.json").write_text(json.dumps(meta, indent=1))
    return png
