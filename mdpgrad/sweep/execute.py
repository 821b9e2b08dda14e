"""Running a sweep: in-process, on local worker processes, or on a Dask distributed cluster.

Workers only compute; the calling process writes every finished cell (atomically, see
:mod:`mdpgrad.sweep.store`) as soon as its chunk returns. So a remote Dask cluster needs no
shared file system, and killing the run at any moment loses at most the chunks in flight:
the next run of the same sweep finds the finished cells and computes only the rest.

Executors
---------
``"inline"``     the calling process, one cell after the other (``workers=1``);
``"processes"``  ``concurrent.futures.ProcessPoolExecutor`` with the ``forkserver`` start
                 method (``spawn`` where unavailable): safe with threads, Numba and
                 matplotlib in the parent; default with ``workers = os.cpu_count()``.
                 Workers set ``NUMBA_NUM_THREADS=1`` unless it is set already (one process
                 per core; no oversubscription by Numba's parallel kernels);
``"dask"``       ``distributed.Client(scheduler)`` -- any Dask scheduler address
                 (``tcp://host:port``), a ``distributed.Client`` or a cluster object.
                 The cell function is sent by reference, so it must be importable on the
                 workers (install the package that defines it there).

A cell function with a ``batched`` attribute (``fn.batched(cells) -> [result, ...]`` for
``cells = [{**params, "seed": seed}, ...]``) gets each chunk in one call of it -- e.g. one batched
:func:`mdpgrad.optimize` over the chunk's MDPs and step sizes
(:func:`mdpgrad.experiments.npg_step_size.npg_cells`); it must return exactly what the cell function
returns per cell. If the function also declares ``batch_axes`` (the ready-made
:func:`mdpgrad.sweep.cells.optimize_cell` / :func:`~mdpgrad.sweep.cells.stochastic_cell` do), the batched
form is used only when every parameter that varies over the sweep is one of them
(:func:`mdpgrad.sweep.cells.batchable`); otherwise the cells run one by one. Such a sweep's cells are sent
in seed order (cells that share a seed -- often one random instance -- share a chunk). If the batched form
raises, the chunk's cells are computed one by one.

Cells are sent in chunks (a few cells per task, at most 32, at least 8 tasks per worker)
so that the per-task overhead of the executor is amortized for cheap cells; the progress
bar counts cells.
"""

from __future__ import annotations

import contextlib
import functools
import math
import multiprocessing
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, SweepError
from .cells import batchable
from .spec import Cell, Sweep, load_spec, resolve_function, to_plain
from .store import Store, fsync_dir, utc_now

__all__ = ["run", "SweepResult", "CellFailure", "SweepError", "imap_unordered", "default_workers"]

EXECUTORS = ("auto", "inline", "processes", "dask")


def default_workers() -> int:
    """One worker per available core (``os.sched_getaffinity`` where it exists)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class CellFailure:
    """A cell whose function raised (or returned something that cannot be stored)."""

    key: str
    params: dict
    replicate: int
    error: str


@dataclass(frozen=True)
class SweepResult:
    """What one :func:`run` did."""

    name: str
    out: str
    executor: str
    workers: int
    n_cells: int
    n_already: int
    n_computed: int
    n_corrupt: int
    n_failed: int
    seconds: float
    failures: tuple[CellFailure, ...] = ()

    @property
    def ok(self) -> bool:
        """Every cell of the sweep is stored."""
        return self.n_failed == 0

    def summary(self) -> str:
        return (f"sweep {self.name}: {self.n_cells} cells, {self.n_already} already stored, {self.n_computed} computed"
                f", {self.n_corrupt} corrupt recomputed, {self.n_failed} failed in {self.seconds:.1f} s "
                f"[{self.executor}, {self.workers} worker(s)] -> {self.out}")


# ----------------------------------------------------------------------------- worker side
@functools.lru_cache(maxsize=64)
def _cached_function(ref: str) -> Callable:
    return resolve_function(ref)


def _init_worker(ref: str | None, parent_pid: int | None = None) -> None:
    """Worker initializer: import the cell function once, and exit when the calling process dies.

    ``ProcessPoolExecutor`` workers block on a queue whose pipe they hold both ends of, so
    they would outlive a parent killed with SIGKILL; a daemon thread polls the parent's pid
    (every 0.5 s) and ends the worker once it is gone.
    """
    # one process per core: Numba kernels in a cell run single-threaded unless the user said otherwise
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    if ref:
        with contextlib.suppress(Exception):
            _cached_function(ref)
    if parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="mdpgrad-parent-watch").start()


def _watch_parent(pid: int, interval: float = 0.5) -> None:
    while True:
        time.sleep(interval)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(70)
        except OSError:
            pass


def _normalize_result(res: Any) -> dict:
    if isinstance(res, dict):
        out = to_plain(res, "result")
    else:
        out = {"value": to_plain(res, "result")}
    return out


def run_chunk(ref: str, items: Sequence[tuple[str, dict, int]],
              batch: bool = True) -> list[tuple[str, bool, Any, float, float]]:
    """Compute cells ``(key, params, seed)``: ``[(key, ok, result or traceback, wall s, CPU s)]``.

    Exceptions of the cell function are caught per cell (one bad cell does not sink its chunk).
    ``batch=False`` (decided by :func:`run` from the sweep's grid) never calls the batched form.
    """
    fn = _cached_function(ref)
    batched = getattr(fn, "batched", None) if batch else None
    if batched is not None and len(items) > 1:
        done = _run_batched(batched, items)
        if done is not None:
            return done
    out = []
    for key, params, seed in items:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            res = _normalize_result(fn(**params, seed=seed))
            out.append((key, True, res, time.perf_counter() - t0, time.process_time() - c0))
        except Exception as exc:
            tb = traceback.format_exc(limit=6)
            out.append((key, False, f"{type(exc).__name__}: {exc}\n{tb}", time.perf_counter() - t0,
                        time.process_time() - c0))
    return out


def _run_batched(batched: Callable, items: Sequence[tuple[str, dict, int]]):
    """All cells of a chunk in one call of the cell function's ``batched`` form, or None.

    ``fn.batched(cells)`` takes ``[{**params, "seed": seed}, ...]`` and returns one result per cell,
    equal to ``fn(**params, seed=seed)`` (e.g. one batched :func:`mdpgrad.optimize` call over a list
    of MDPs of one shape). If it raises, or returns the wrong number of results, None: the caller
    computes the cells one by one (so a bad cell is still reported on its own). The chunk's wall
    and CPU time are split evenly over its cells.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        results = list(batched([{**params, "seed": seed} for _, params, seed in items]))
        if len(results) != len(items):
            return None
        normalized = [_normalize_result(r) for r in results]
    except Exception:
        return None
    secs, cpu = (time.perf_counter() - t0) / len(items), (time.process_time() - c0) / len(items)
    return [(key, True, res, secs, cpu) for (key, _, _), res in zip(items, normalized)]


# ----------------------------------------------------------------------------- executors
def _mp_context():
    """``forkserver`` (preloading this module, so NumPy and mdpgrad are imported once) or ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["mdpgrad.sweep.execute"])  # effective until the server first starts
        return ctx
    return multiprocessing.get_context("spawn")


def _check_main_importable() -> None:
    """Worker processes re-import ``__main__`` from its file; a script read from stdin has none."""
    main = sys.modules.get("__main__")
    if main is None or getattr(getattr(main, "__spec__", None), "name", None):
        return
    path = getattr(main, "__file__", None)
    if path is not None and not os.path.exists(path):
        raise InvalidInputError(f"workers: worker processes cannot start from a program without a file "
                                f"(__main__.__file__ = {path!r}); save it to a .py file, or use workers=1")


def _dask_client(scheduler):
    try:
        from distributed import Client
    except ImportError:
        raise InvalidInputError("scheduler given but dask.distributed is not installed; "
                                "pip install 'dask[distributed]'") from None
    if isinstance(scheduler, Client):
        return scheduler, False
    if isinstance(scheduler, str):
        try:
            return Client(scheduler, set_as_default=False, timeout="20s"), True
        except OSError as exc:
            raise InvalidInputError(f"scheduler = {scheduler!r}: cannot connect ({exc})") from None
    if hasattr(scheduler, "scheduler_address"):
        return Client(scheduler, set_as_default=False), True
    raise InvalidInputError(f"scheduler = {scheduler!r}: give an address 'tcp://host:port', a Client or a cluster")


def imap_unordered(fn: Callable, tasks: Sequence[tuple], *, executor: str = "processes", workers: int = 1,
                   scheduler=None, initializer_ref: str | None = None,
                   skip: Callable[[int], bool] | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(i, fn(*tasks[i]))`` as tasks finish, on the chosen executor.

    ``fn`` must be a top-level function (pickled by reference). ``skip(i)`` is asked just
    before task ``i`` is submitted (process executor only); skipped tasks are not yielded.
    At most ``4 * workers`` tasks are in flight with the process executor.
    """
    if executor == "inline":
        for i in range(len(tasks)):
            if skip is not None and skip(i):
                continue
            yield i, fn(*tasks[i])  # read after skip(), which may shrink the task
        return
    if executor == "processes":
        from concurrent.futures.process import BrokenProcessPool

        _check_main_importable()

        pool = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(), initializer=_init_worker,
                                   initargs=(initializer_ref, os.getpid()))
        finished = False
        try:
            pending: dict = {}
            it = iter(range(len(tasks)))
            exhausted = False
            while True:
                while not exhausted and len(pending) < 4 * workers:
                    i = next(it, None)
                    if i is None:
                        exhausted = True
                        break
                    if skip is not None and skip(i):
                        continue
                    pending[pool.submit(fn, *tasks[i])] = i
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    try:
                        res = fut.result()
                    except BrokenProcessPool as exc:
                        raise SweepError(f"a worker process died ({exc}); finished cells are stored, rerun to "
                                         "resume. If it died at start-up: a script that starts a sweep needs "
                                         "`if __name__ == '__main__':` (multiprocessing re-imports it)") from None
                    yield i, res
            finished = True
        finally:
            pool.shutdown(wait=finished, cancel_futures=not finished)
        return
    if executor == "dask":
        from distributed import as_completed

        client, own = _dask_client(scheduler)
        try:
            tag = uuid.uuid4().hex[:8]
            futs = [client.submit(fn, *args, key=f"mdpgrad-{tag}-{i}", pure=False) for i, args in enumerate(tasks)]
            index = {f.key: i for i, f in enumerate(futs)}
            for fut in as_completed(futs, loop=client.loop):
                try:
                    res = fut.result()
                except Exception as exc:
                    raise SweepError(f"Dask task {fut.key} failed: {type(exc).__name__}: {exc}") from exc
                yield index[fut.key], res
                fut.release()
        finally:
            if own:
                client.close()
        return
    raise InvalidInputError(f"executor = {executor!r}: choose one of {EXECUTORS}")


def choose_executor(executor: str, workers: int | None, scheduler) -> tuple[str, int]:
    if executor not in EXECUTORS:
        raise InvalidInputError(f"executor = {executor!r}: choose one of {EXECUTORS}")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise InvalidInputError(f"workers = {workers!r}: give a positive integer (or None for one per core)")
    if executor == "auto":
        if scheduler is not None:
            executor = "dask"
        else:
            w = default_workers() if workers is None else workers
            executor = "processes" if w > 1 else "inline"
    if executor == "dask" and scheduler is None:
        raise InvalidInputError("executor = 'dask' needs scheduler= (e.g. 'tcp://127.0.0.1:8786')")
    if executor == "inline":
        return executor, 1
    if executor == "dask":
        return executor, workers or 0
    return executor, default_workers() if workers is None else workers


def _chunks(cells: list[Cell], workers: int, chunksize: int | None) -> list[list[Cell]]:
    if chunksize is None:
        chunksize = max(1, min(32, math.ceil(len(cells) / (8 * max(1, workers)))))
    elif not isinstance(chunksize, int) or chunksize < 1:
        raise InvalidInputError(f"chunksize = {chunksize!r}: give a positive integer")
    return [cells[i:i + chunksize] for i in range(0, len(cells), chunksize)]


# ----------------------------------------------------------------------------- run
def run(sweep: Sweep | str | Path | dict, out: str | Path | None = None, *, workers: int | None = None,
        scheduler=None, executor: str = "auto", progress: bool = False, chunksize: int | None = None,
        fsync: bool = True) -> SweepResult:
    """Run every cell of ``sweep`` not yet stored in ``out`` (default ``results/<name>``).

    Finished cells are skipped; corrupt cell files are moved to ``quarantine/`` and
    recomputed; cells whose function raises are recorded in ``errors/`` and in the report
    (the run carries on with the others). ``workers=None`` uses one process per core;
    ``scheduler`` (address, Client or cluster) selects Dask. ``fsync=False`` skips the
    per-file ``fsync`` (atomicity is kept; only durability across power loss is lost).
    """
    t_start = time.perf_counter()
    sw = load_spec(sweep)
    executor, workers = choose_executor(executor, workers, scheduler)
    cells = sw.cells()
    resolve_function(sw.function)  # fail fast, with a clear message, before anything is written
    store = Store(Path("results") / sw.name if out is None else out).ensure()
    store.clean_stale_temps()
    store.write_manifest(sw, [c.key for c in cells])
    ok, bad = store.scan([c.key for c in cells])
    for k, why in bad.items():
        store.quarantine(k, why)
    pending = [c for c in cells if c.key not in ok]
    fn = _cached_function(sw.function)
    use_batch = batchable(fn, cells)
    # a batched form the grid rules out is switched off per task (run_chunk's third argument)
    flag = (False,) if getattr(fn, "batched", None) is not None and not use_batch else ()
    if use_batch:
        pending.sort(key=lambda c: c.seed)  # cells of one seed (often one instance) share a chunk, hence a batch
    held: set[str] = set()  # cells this run has claimed (concurrent runs on one directory share the work)
    deferred: set[str] = set()  # cells another live run is computing: wait for them at the end
    if executor == "dask":  # tasks are submitted all at once: claim up front
        mine = []
        for c in pending:
            if store.claim(c.key):
                mine.append(c)
                held.add(c.key)
            else:
                deferred.add(c.key)
        pending = mine
    client = own_client = None
    if executor == "dask" and pending:
        client, own_client = _dask_client(scheduler)
        scheduler = client
        workers = max(1, len(client.scheduler_info().get("workers", {})))  # chunk for the cluster's size
    chunks = _chunks(pending, workers or 2, chunksize)
    tasks = [(sw.function, [(c.key, c.params, c.seed) for c in ch], *flag) for ch in chunks]
    by_key = {c.key: c for c in pending}
    n_computed, failures, n_skipped_late = 0, [], 0

    def skip(i: int) -> bool:  # another sweep on the same directory may have finished these cells
        nonlocal n_skipped_late
        keys = [c.key for c in chunks[i]]
        todo = [k for k in keys if not _valid(store, k)]
        n_skipped_late += len(keys) - len(todo)
        bar.update(len(keys) - len(todo))
        still = todo
        if executor != "dask":
            still, done = [], 0
            for k in todo:
                if k in held or _claim_unfinished(store, k):
                    still.append(k)
                elif _valid(store, k):
                    done += 1  # another run stored it between our check and our claim
                else:
                    deferred.add(k)  # another live run is computing it
            held.update(still)
            n_skipped_late += done
            bar.update(done)
        if len(still) == len(keys):
            return False
        if not still:
            return True
        tasks[i] = (sw.function, [(by_key[k].key, by_key[k].params, by_key[k].seed) for k in still], *flag)
        return False

    from tqdm.auto import tqdm

    bar = tqdm(total=len(cells), initial=len(cells) - len(pending), desc=f"sweep {sw.name}", unit="cell",
               disable=not progress, file=sys.stderr, dynamic_ncols=True)
    def handle(results) -> None:
        nonlocal n_computed
        finished = []
        for key, good, payload, secs, cpu in results:
            c = by_key[key]
            if good:
                finished.append({"format": 1, "key": key, "function": c.function, "params": c.params,
                                 "replicate": c.replicate, "seed": c.seed, "version": sw.version,
                                 "result": payload, "seconds": round(secs, 6), "cpu_seconds": round(cpu, 6),
                                 "finished": utc_now()})
            else:
                store.write_error(key, {"key": key, "params": c.params, "replicate": c.replicate,
                                        "seed": c.seed, "error": payload, "when": utc_now()})
                failures.append(CellFailure(key, dict(c.params), c.replicate, payload))
        store.write_cells(finished, fsync=fsync)
        store.release([r[0] for r in results])
        n_computed += len(finished)
        bar.update(len(results))

    try:
        for _, results in imap_unordered(run_chunk, tasks, executor=executor, workers=workers,
                                         scheduler=scheduler, initializer_ref=sw.function, skip=skip):
            handle(results)
        # cells another live run claimed: wait until it stores them, or compute them if its claim expires
        while deferred:
            for k in sorted(deferred):
                if _valid(store, k):
                    deferred.discard(k)
                    n_skipped_late += 1
                    bar.update(1)
                elif not store.claimed_by_other(k) and _claim_unfinished(store, k):
                    deferred.discard(k)
                    held.add(k)
                    c = by_key[k]
                    handle(run_chunk(sw.function, [(c.key, c.params, c.seed)]))
            if deferred:
                time.sleep(0.2)
    finally:
        bar.close()
        store.release(held)
        fsync_dir(store.cells_dir)
        if own_client:
            client.close()
    store.rebuild_index()
    return SweepResult(name=sw.name, out=str(store.root), executor=executor, workers=workers, n_cells=len(cells),
                     n_already=len(ok) + n_skipped_late, n_computed=n_computed, n_corrupt=len(bad),
                     n_failed=len(failures), seconds=time.perf_counter() - t_start, failures=tuple(failures))


def _claim_unfinished(store: Store, key: str) -> bool:
    """Claim ``key`` unless another live run holds it. A run stores a cell before it releases the claim, so a
    cell found stored right after our claim succeeded was finished meanwhile: the claim is released again and
    the cell is not computed twice."""
    if not store.claim(key):
        return False
    if _valid(store, key):
        store.release([key])
        return False
    return True


def _valid(store: Store, key: str) -> bool:
    try:
        store.read_cell(key)
        return True
    except Exception:
        return False
