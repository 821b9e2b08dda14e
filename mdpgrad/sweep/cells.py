r"""Ready-made cell functions whose sweeps :func:`mdpgrad.sweep.run` batches by itself (issue 19).

* :func:`optimize_cell` -- one exact run, :func:`mdpgrad.optimize` on the MDP that the factory ``mdp``
  draws from the cell's seed;
* :func:`stochastic_cell` -- one stochastic run, :func:`mdpgrad.estimators.run_stochastic` on a
  :class:`~mdpgrad.estimators.TabularOracle` of the factory's MDP (drawn from ``mdp_seed``; the cell's
  seed drives the sampling).

Each has a ``batched`` form and declares the parameters it can batch over (``batch_axes``): ``step_size``,
``theta0`` and the seed for :func:`optimize_cell` (one batched ``optimize`` over the chunk's MDPs, step
sizes and initial logits), the seed for :func:`stochastic_cell` (one ``run_stochastic(seed=[...])``; its
compiled seed batch covers ``"pg"`` on a softmax oracle, other methods loop inside that one call). When a
sweep's grid varies only such parameters, :func:`mdpgrad.sweep.run` hands every chunk to the batched form;
when any other parameter varies (the method, ``n_iter``, the MDP's arguments, ...) it computes the cells
one by one. Batched results equal the per-cell ones bit for bit (tested), so stored sweeps do not depend on
the path.

>>> from mdpgrad.sweep import Sweep
>>> sw = Sweep("npg-eta", "mdpgrad.sweep.cells:optimize_cell", grid={"step_size": [0.1, 1.0, 10.0]},
...            fixed={"mdp": "mdpgrad.envs:garnet", "mdp_kwargs": {"n_states": 10, "n_actions": 3,
...                   "branching": 2, "gamma": 0.9}, "method": "npg", "n_iter": 100}, seeds=5)
>>> len(sw.cells())
15
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import numpy as np

from ..errors import InvalidInputError
from ..validation import as_float_array, check_int
from .spec import canonical_json, resolve_function

__all__ = ["optimize_cell", "stochastic_cell", "batchable"]


def _factory(mdp, mdp_kwargs):
    if not isinstance(mdp, str):
        raise InvalidInputError(f"mdp = {mdp!r}: give the reference 'module:function' of an MDP factory "
                                "called as factory(**mdp_kwargs, seed=seed), e.g. 'mdpgrad.envs:garnet'.")
    if mdp_kwargs is not None and not isinstance(mdp_kwargs, Mapping):
        raise InvalidInputError(f"mdp_kwargs = {mdp_kwargs!r}: give a dict of the factory's keyword arguments.")
    fn = resolve_function(mdp)
    kwargs = dict(mdp_kwargs or {})
    try:
        inspect.signature(fn).bind(**kwargs, seed=0)
    except TypeError as exc:
        raise InvalidInputError(f"mdp_kwargs = {kwargs!r} do not fit {mdp}{inspect.signature(fn)} called as "
                                f"factory(**mdp_kwargs, seed=seed): {exc}; pass the factory's arguments by "
                                "name.") from None
    except ValueError:  # no signature to check (a builtin): the call itself will tell
        pass

    def build(seed, name="seed"):
        return fn(**kwargs, seed=check_int(seed, name, minimum=0, what="the MDP factory's seed"))

    return build


def _record(record):
    rec = ("gap",) if record is None else tuple([record] if isinstance(record, str) else record)
    if not rec or not all(isinstance(x, str) for x in rec):
        raise InvalidInputError(f"record = {record!r}: give a list of names of mdpgrad.optimize's record.")
    return rec


def _summary(res, rec, b=None):
    return {name: np.asarray(getattr(res, name) if b is None else getattr(res, name)[b]) for name in rec}


def optimize_cell(mdp: str, method: str, n_iter: int, seed: int, *, mdp_kwargs=None, record=None, theta0=None,
                  **hyperparameters) -> dict:
    """``mdpgrad.optimize(factory(**mdp_kwargs, seed=seed), method, n_iter=n_iter, theta0=theta0,
    record=record, **hyperparameters)``; returns ``{name: result.<name>}`` for each recorded name
    (default ``("gap",)``). ``mdp`` is the reference ``"module:function"`` of the factory."""
    from ..algorithms import optimize

    build, rec = _factory(mdp, mdp_kwargs), _record(record)
    th = None if theta0 is None else as_float_array(theta0, "theta0")
    return _summary(optimize(build(seed), method, n_iter=n_iter, theta0=th, record=rec, **hyperparameters), rec)


def _optimize_cells(cells: list[dict]) -> list[dict]:
    """Batched :func:`optimize_cell`: cells that differ only in ``step_size`` / ``theta0`` / ``seed`` in one
    :func:`mdpgrad.optimize` over a list of MDPs (one per cell; cells of one seed share it) of one shape.
    Each member runs the single-run arithmetic, so results equal :func:`optimize_cell`'s."""
    from ..algorithms import optimize

    out: list = [None] * len(cells)
    for idx in _groups(cells, optimize_cell.batch_axes).values():
        c0 = cells[idx[0]]
        build, rec = _factory(c0["mdp"], c0.get("mdp_kwargs")), _record(c0.get("record"))
        built: dict = {}
        for i in idx:
            if cells[i]["seed"] not in built:
                built[cells[i]["seed"]] = build(cells[i]["seed"])
        mdps = [built[cells[i]["seed"]] for i in idx]
        hp = {k: v for k, v in c0.items() if k not in ("mdp", "mdp_kwargs", "record", "theta0", "seed", "method",
                                                       "n_iter", "step_size")}
        kw = {}
        if "step_size" in c0:
            kw["step_size"] = np.array([float(cells[i]["step_size"]) for i in idx])
        if c0.get("theta0") is not None:
            kw["theta0"] = np.stack([np.asarray(cells[i]["theta0"], dtype=np.float64) for i in idx])
        res = optimize(mdps, c0["method"], n_iter=c0["n_iter"], record=rec, **kw, **hp)
        for j, i in enumerate(idx):
            out[i] = _summary(res, rec, j)
    return out


optimize_cell.batched = _optimize_cells
optimize_cell.batch_axes = frozenset({"step_size", "theta0", "seed"})


def stochastic_cell(mdp: str, method: str, n_iter: int, seed: int, *, mdp_kwargs=None, mdp_seed: int = 0,
                    record_every: int = 1, **hyperparameters) -> dict:
    """``run_stochastic(method, TabularOracle(factory(**mdp_kwargs, seed=mdp_seed)), zeros, n_iter, seed=seed,
    record_every=record_every, **hyperparameters)`` from the uniform policy; returns ``gap``, ``samples`` and
    the final ``theta``. The instance is fixed by ``mdp_seed`` so that replicates differ only in sampling."""
    from ..estimators import TabularOracle, run_stochastic

    orc = TabularOracle(_factory(mdp, mdp_kwargs)(mdp_seed, "mdp_seed"))
    tr = run_stochastic(method, orc, np.zeros(int(np.prod(orc.shape))), n_iter, seed=seed,
                        record_every=record_every, **hyperparameters)
    return {"gap": tr.gap, "samples": tr.samples, "theta": tr.theta}


def _stochastic_cells(cells: list[dict]) -> list[dict]:
    """Batched :func:`stochastic_cell`: cells that differ only in their seed in one
    ``run_stochastic(seed=[...])`` (each member equal to its single-seed run)."""
    from ..estimators import TabularOracle, run_stochastic

    out: list = [None] * len(cells)
    for idx in _groups(cells, stochastic_cell.batch_axes).values():
        c0 = dict(cells[idx[0]])
        mdp, mdp_kwargs, mdp_seed = c0.pop("mdp"), c0.pop("mdp_kwargs", None), c0.pop("mdp_seed", 0)
        method, n_iter, record_every = c0.pop("method"), c0.pop("n_iter"), c0.pop("record_every", 1)
        c0.pop("seed")
        orc = TabularOracle(_factory(mdp, mdp_kwargs)(mdp_seed, "mdp_seed"))
        tr = run_stochastic(method, orc, np.zeros(int(np.prod(orc.shape))), n_iter,
                            seed=[int(cells[i]["seed"]) for i in idx], record_every=record_every, **c0)
        for j, i in enumerate(idx):
            out[i] = {"gap": tr.gap[j], "samples": tr.samples[j], "theta": tr.theta[j]}
    return out


stochastic_cell.batched = _stochastic_cells
stochastic_cell.batch_axes = frozenset({"seed"})


def _groups(cells, axes) -> dict:
    """Cell indices grouped by their parameters outside ``axes`` (canonical JSON), which parameters they set and
    whether ``theta0`` is given (a grid that is a union of blocks may mix these)."""
    groups: dict = {}
    for i, c in enumerate(cells):
        key = {"p": {k: v for k, v in c.items() if k not in axes}, "k": sorted(c), "t": c.get("theta0") is None}
        groups.setdefault(canonical_json(key), []).append(i)
    return groups


def batchable(fn, cells) -> bool:
    """Whether :func:`mdpgrad.sweep.run` hands chunks of ``cells`` (a list of :class:`Cell`, or a
    :class:`Sweep`) to ``fn.batched``: the function has a batched form and either declares no ``batch_axes``
    (an explicit opt-in, as :func:`mdpgrad.experiments.npg_step_size.npg_cells`) or the parameters that vary
    over ``cells`` are all in ``fn.batch_axes``."""
    from .spec import Sweep

    if getattr(fn, "batched", None) is None:
        return False
    if isinstance(cells, Sweep):
        cells = cells.cells()
    elif not isinstance(cells, (list, tuple)) or not all(hasattr(c, "params") for c in cells):
        raise InvalidInputError(f"cells: expected a Sweep or a list of its Cells (sweep.cells()), got "
                                f"{type(cells).__name__}.")
    axes = getattr(fn, "batch_axes", None)
    if axes is None:
        return True
    seen: dict = {}
    for c in cells:
        for k, v in c.params.items():
            seen.setdefault(k, set()).add(canonical_json(v, where=k))
    return {k for k, vals in seen.items() if len(vals) > 1} <= set(axes)
