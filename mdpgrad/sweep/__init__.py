"""Experiments at scale: declarative sweeps, run locally or on a Dask cluster, stored resumably.

A sweep is data -- a cell function reference ``"module:function"``, a parameter grid and
replicate seeds (:class:`Sweep`). Every cell is deterministic from its parameters (its seed
is a sha256 of them), so a result never depends on where it ran. :func:`run` executes the
cells not yet stored -- in-process, on one worker process per core (default) or on a Dask
cluster (``scheduler="tcp://host:port"``) -- and writes each finished cell atomically with a
checksum; :func:`load` returns the stored results as a ``pandas.DataFrame``.

>>> from mdpgrad.sweep import Sweep, run, load
>>> sw = Sweep("demo", "mdpgrad.sweep.demo:noisy_quadratic", grid={"x": [0.0, 1.0, 2.0]}, seeds=3)
>>> import tempfile; tmp = tempfile.TemporaryDirectory(); out = tmp.name
>>> run(sw, out, workers=1).n_computed
9
>>> run(sw, out, workers=1).n_computed      # everything stored: nothing to do
0
>>> means = load(out).groupby("x")["mean"].mean()   # x**2 + noise, 3 replicates
>>> bool((means - [0.0, 1.0, 4.0]).abs().max() < 0.1)
True
>>> tmp.cleanup()

Sweeps of :func:`mdpgrad.optimize` / :func:`mdpgrad.estimators.run_stochastic` runs can use the ready-made
cell functions :func:`optimize_cell` / :func:`stochastic_cell` (:mod:`mdpgrad.sweep.cells`): when the grid
varies only step sizes, initial parameters or seeds, :func:`run` computes each chunk in one batched call.

See :mod:`mdpgrad.sweep.store` for the storage format and its guarantees and
:mod:`mdpgrad.sweep.execute` for the executors.
"""

from __future__ import annotations

from .cells import batchable, optimize_cell, stochastic_cell
from .checks import run_checks_parallel
from .execute import CellFailure, SweepError, SweepResult, default_workers, run
from .experiments import Experiment, experiments, get_experiment, render_experiment
from .spec import Cell, Sweep, canonical_json, cell_key, load_spec, resolve_function, stable_seed
from .store import CorruptCell, Store, StoreStatus, SweepStatus, load, status

__all__ = [
    "Sweep",
    "Cell",
    "optimize_cell",
    "stochastic_cell",
    "batchable",
    "run",
    "load",
    "status",
    "load_spec",
    "SweepResult",
    "CellFailure",
    "SweepError",
    "Store",
    "StoreStatus",
    "SweepStatus",
    "CorruptCell",
    "canonical_json",
    "stable_seed",
    "cell_key",
    "resolve_function",
    "default_workers",
    "run_checks_parallel",
    "Experiment",
    "experiments",
    "get_experiment",
    "render_experiment",
]
