"""The ``mdpgrad`` command line: ``info``, ``solve``, ``check``, ``list``, ``figures``, ``sweep run|status``.

User mistakes (bad arguments, unknown claim ids, invalid MDP parameters) print one line
``mdpgrad: error: ...`` and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .errors import MdpgradError
from .report import format_table  # noqa: F401  (re-exported: the claim table, mdpgrad.cli.format_table)

EXIT_OK, EXIT_VIOLATED, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """A mistake in the command line; reported without a traceback."""


# ----------------------------------------------------------------------------- argument checks
# Everything a command writes or connects to is checked here, BEFORE the expensive work.
def _check_output_file(path, flag: str) -> Path:
    """``path`` can be written as a file: not a directory, its directory exists and is writable."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{flag} {path}: is a directory; pass a file name such as {p / 'out.json'}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{flag} {path}: directory {parent} does not exist; create it first (mkdir -p {parent})")
    if not os.access(parent, os.W_OK):
        raise UserError(f"{flag} {path}: directory {parent} is not writable; choose another location")
    if p.exists() and not os.access(p, os.W_OK):
        raise UserError(f"{flag} {path}: the file exists and is not writable; choose another location")
    return p


def _check_output_dir(path, flag: str) -> Path:
    """``path`` is (or can be created as) a writable directory: created now and probed with a temp file."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{flag} {path}: is an existing file, not a directory; pass a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".mdpgrad-probe-"):
            pass
    except OSError as exc:
        raise UserError(f"{flag} {path}: cannot write there ({exc.strerror or exc}); choose a writable "
                        "directory") from None
    return p


def _check_workers(n, flag: str = "--workers"):
    if n is not None and n < 1:
        raise UserError(f"{flag} {n}: must be >= 1 (1 runs in-process)")
    return n


_SCHEDULER = re.compile(r"^((tcp|tls|ucx|ws|wss|inproc)://)?[A-Za-z0-9_.\-\[\]:]*[A-Za-z0-9_.\-\]]:\d{1,5}$")
_INPROC = re.compile(r"^inproc://\S+$")  # an in-process LocalCluster: inproc://host/pid/n


def _check_scheduler(addr):
    """A Dask scheduler address ``tcp://host:port`` (format only; dask must be installed)."""
    if addr is None:
        return None
    if not (_SCHEDULER.match(addr) or _INPROC.match(addr)):
        raise UserError(f"--scheduler {addr!r}: not a scheduler address; pass tcp://host:port (e.g. "
                        "tcp://127.0.0.1:8786)")
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UserError("--scheduler needs dask.distributed: pip install 'mdpgrad[dask]'") from None
    return addr


# ----------------------------------------------------------------------------- info
def cmd_info(args) -> int:
    import platform

    import numba
    import scipy
    import sympy

    from . import __version__
    from .backend import available_backends, cupy_status

    ok, why = cupy_status()
    rows = [
        ("mdpgrad", __version__),
        ("python", platform.python_version()),
        ("numpy", np.__version__),
        ("scipy", scipy.__version__),
        ("numba", numba.__version__),
        ("sympy", sympy.__version__),
        ("backends", ", ".join(available_backends())),
        ("gpu", why if ok else f"no ({why})"),
        ("numba threads", str(numba.config.NUMBA_NUM_THREADS)),
    ]
    for opt in ("gymnasium", "dask", "distributed", "pandas", "quantecon", "mdptoolbox", "torch"):
        try:
            mod = __import__(opt)
            rows.append((opt, getattr(mod, "__version__", "installed")))
        except Exception:
            rows.append((opt, "not installed"))
    w = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{w}}  {v}")
    return EXIT_OK


# ----------------------------------------------------------------------------- solve
def _build_env(args):
    from . import envs

    name = args.env
    for flag, val in (("--states", args.states), ("--actions", args.actions), ("--branching", args.branching)):
        if val < 1:
            raise UserError(f"{flag} {val}: must be >= 1")
    if name == "garnet":
        return envs.garnet(args.states, args.actions, args.branching, gamma=args.gamma, seed=args.seed)
    if name == "chain":
        return envs.chain(args.states, gamma=args.gamma)
    if name == "river_swim":
        return envs.river_swim(args.states, gamma=args.gamma)
    if name == "gridworld":
        side = int(round(np.sqrt(args.states)))
        if side < 2:
            raise UserError(f"--states {args.states}: a gridworld needs at least 4 cells (a 2x2 grid)")
        return envs.gridworld(side, side, gamma=args.gamma)
    if name == "hard_chain":
        return envs.hard_chain(args.states, gamma=args.gamma)
    raise UserError(f"--env {name!r} is not known; choose garnet, chain, river_swim, gridworld, hard_chain")


def cmd_solve(args) -> int:
    from .exact import solve

    mdp = _build_env(args)
    t0 = time.perf_counter()
    res = solve(mdp, args.method, tol=args.tol)
    dt = time.perf_counter() - t0
    v = res.v
    print(f"{mdp!r}")
    print(f"method      {res.method}  ({res.message})")
    print(f"converged   {res.converged}  error bound {res.error_bound:.3g} (sup-norm on v)")
    print(f"iterations  {res.n_iter}")
    print(f"seconds     {dt:.4f}")
    print(f"rho . v*    {float(mdp.rho @ v):.10g}")
    print(f"v* range    [{v.min():.6g}, {v.max():.6g}]")
    counts = np.bincount(np.argmax(res.policy, axis=1), minlength=mdp.n_actions)
    print("actions     " + " ".join(f"a{a}:{c}" for a, c in enumerate(counts)))
    return EXIT_OK


# ----------------------------------------------------------------------------- check
def _select(args):
    from .claims import TOPICS, get_claim, registry

    if args.topic and args.topic not in TOPICS:
        raise UserError(f"--topic {args.topic!r} is not known; topics: {', '.join(TOPICS)}")
    if args.claim:
        try:
            claims = [get_claim(c) for c in args.claim]
        except KeyError as exc:
            raise UserError(str(exc.args[0])) from None
    else:
        claims = list(registry())
    if args.topic:
        claims = [c for c in claims if c.topic == args.topic]
    if not claims:
        raise UserError("no claims selected")
    return claims


def run_checks(claims, budget: str, *, progress: bool = True, workers: int = 1, scheduler=None,
               controls: bool = True, desc: str | None = None):
    """Run claims in-process with a progress bar labelled ``desc`` (default ``mdpgrad check (budget)``)."""
    from tqdm.auto import tqdm

    from .claims import run_claim

    records = []
    bar = tqdm(claims, desc=desc or f"mdpgrad check ({budget})", unit="claim", disable=not progress,
               file=sys.stderr)
    for c in bar:
        bar.set_postfix_str(c.id)
        records.append(run_claim(c, budget, controls=controls))
    return records


def _out_width() -> int:
    """Width of the printed tables: ``$COLUMNS``, else the terminal's width, else 80."""
    import shutil

    return max(40, shutil.get_terminal_size((80, 24)).columns)


def _print(text: str) -> None:
    """Print, and end quietly when the reader of a pipe (``| head``) has gone."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(EXIT_OK) from None


def cmd_check(args) -> int:
    from .report import format_detail, format_legend, format_summary, stdout_is_terminal
    from .report import format_table as _table

    if args.json:
        _check_output_file(args.json, "--json")
    _check_workers(args.workers)
    _check_scheduler(args.scheduler)
    claims = _select(args)
    budget = "quick" if args.quick else "full"
    runner = run_checks
    kwargs = {}
    if getattr(args, "workers", 1) != 1 or getattr(args, "scheduler", None):
        try:
            from .sweep import run_checks_parallel as runner  # noqa: PLC0415
        except ImportError:
            raise UserError("--workers/--scheduler need mdpgrad.sweep") from None
        kwargs = {"workers": args.workers, "scheduler": args.scheduler}
    records = runner(claims, budget, progress=not args.no_progress, controls=not args.no_controls, **kwargs)
    width, color = _out_width(), stdout_is_terminal()
    if args.claim:  # the detail view of each named claim
        for rec in records:
            _print(format_detail(rec, width, color=color))
            _print("")
    else:
        _print(_table(records, width, color=color))
        _print("")
        _print(format_legend(width, color=color))
        _print("")
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_json() for r in records], indent=2, default=str))
    text, status = format_summary(records, width, color=color)
    _print(text)
    return EXIT_OK if status == 0 else EXIT_VIOLATED


def cmd_list(args) -> int:
    """The catalogue (no check is run): id, topic, priority, expected verdict, paper."""
    from .claims import TOPICS, registry
    from .report import format_list, stdout_is_terminal

    if args.topic and args.topic not in TOPICS:
        raise UserError(f"--topic {args.topic!r} is not known; topics: {', '.join(TOPICS)}")
    claims = [c for c in registry() if not args.topic or c.topic == args.topic]
    _print(format_list(claims, _out_width(), color=stdout_is_terminal()))
    return EXIT_OK


# ----------------------------------------------------------------------------- figures
def _save_figure(rec, out: Path, command: str) -> Path | None:
    """Write ``<out>/<id>.png`` (title: the claim id and its verdict) and ``<id>.json`` (the record,
    the command and the data behind the figure); ``None`` when the check drew no figure."""
    from .plotting import stamp_claim_figure

    v = rec.verdict
    png_bytes = v.data.get("png") if isinstance(v.data.get("png"), bytes) else None  # rendered by a worker
    if v.figure is None and png_bytes is None:
        return None
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"{rec.claim.id}.png"
    if png_bytes is not None:
        png.write_bytes(png_bytes)
    else:
        fig = stamp_claim_figure(v.figure, rec.claim.id, v.verdict, rec.claim.expected, command)
        fig.savefig(png, dpi=120)
    data = {k: (np.asarray(x).tolist() if isinstance(x, (np.ndarray, list, tuple)) else x) for k, x in v.data.items()
            if k != "png"}
    meta = rec.as_json() | {"command": command, "data": data}
    (out / f"{rec.claim.id}.json").write_text(json.dumps(meta, indent=1, default=str))
    return png


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s"


def _previous_seconds(claims, out: Path, budget: str) -> float | None:
    """Seconds the previous ``mdpgrad figures`` run of these claims took at this budget, from the
    ``<id>.json`` files it wrote (``None`` unless every claim has one)."""
    total = 0.0
    for c in claims:
        try:
            meta = json.loads((out / f"{c.id}.json").read_text())
        except (OSError, ValueError):
            return None
        if ("--quick" in meta.get("command", "")) != (budget == "quick") or "seconds" not in meta:
            return None
        total += float(meta["seconds"])
    return total


def _figure_ids(only, exps: dict) -> tuple[list[str], list[str]]:
    """Split ``--only`` ids into experiments and claims; unknown ids are a usage error."""
    from .claims import registry

    claim_ids = {c.id for c in registry()}
    unknown = [i for i in only if i not in exps and i not in claim_ids]
    if unknown:
        import difflib

        hints = []
        for u in unknown:
            close = difflib.get_close_matches(u, [*exps, *claim_ids], n=3)
            hints.append(f"{u!r}" + (f" (did you mean: {', '.join(close)}?)" if close else ""))
        raise UserError(f"--only {', '.join(hints)}: no claim or experiment has this id; experiments: "
                        f"{', '.join(exps) or 'none'}; claims: mdpgrad list")
    return [i for i in only if i in exps], [i for i in only if i not in exps]


def cmd_figures(args) -> int:
    """Claims' figures (computed now) and experiments' figures (from stored sweep results)."""
    from .sweep.experiments import experiments, render_experiment

    _check_workers(args.workers)
    _check_scheduler(args.scheduler)
    _check_output_dir(args.out, "--out")
    exps = {e.name: e for e in experiments()}
    if args.only:
        exp_ids, claim_ids = _figure_ids(args.only, exps)
    else:
        exp_ids = [] if args.topic else list(exps)
        claim_ids = None
    out = Path(args.out)
    n = 0
    records = []
    t0 = time.perf_counter()
    budget = "quick" if args.quick else "full"
    if claim_ids is None or claim_ids:
        ns = argparse.Namespace(claim=claim_ids, topic=args.topic)
        claims = _select(ns)
        prev = _previous_seconds(claims, out, budget)
        when = (f"the previous run of these claims took {_duration(prev)} of check time (from {out}/*.json)"
                if prev is not None else
                "no previous run is recorded here; expect minutes for the whole catalogue at the full budget, "
                "less with --quick")
        print(f"Computing the figures of {len(claims)} claim(s) at the {budget} budget: {when}.", flush=True)
        stamp = "mdpgrad figures --only {id}" + (" --quick" if args.quick else "")
        desc = f"mdpgrad figures ({budget} budget)"
        if (args.workers or 1) != 1 or args.scheduler:
            from .sweep import run_checks_parallel

            records = run_checks_parallel(claims, budget, progress=not args.no_progress, workers=args.workers,
                                          scheduler=args.scheduler, png=stamp, desc=desc)
        else:
            records = run_checks(claims, budget, progress=not args.no_progress, desc=desc)
        without = []
        for rec in records:
            cmd = stamp.format(id=rec.claim.id)
            if _save_figure(rec, out, cmd):
                n += 1
            else:
                without.append(rec)
        for rec in without:
            why = ("it is not checkable as stated" if rec.claim.uncheckable else
                   "its check failed" if rec.verdict.verdict == "error" else "its check draws no figure")
            print(f"{rec.claim.id}: no figure ({why}; verdict {rec.verdict.verdict})")
    for name in exp_ids:
        png = render_experiment(exps[name], out, results_root=args.results, run_missing=not args.no_run,
                                workers=args.workers, scheduler=args.scheduler, progress=not args.no_progress)
        print(f"{name}: {png}  ({exps[name].command(args.results)})")
        n += 1
    print(f"wrote {n} figure(s) to {out}/ ({len(records)} claims checked, {len(exp_ids)} experiments drawn) "
          f"in {_duration(time.perf_counter() - t0)}")
    if args.only and n == 0:
        raise UserError(f"--only {' '.join(args.only)}: nothing to draw (see above why)")
    return EXIT_OK


# ----------------------------------------------------------------------------- sweep
def cmd_sweep_run(args) -> int:
    from .sweep import SweepError, run

    _check_workers(args.workers)
    _check_workers(args.chunksize, "--chunksize")
    _check_scheduler(args.scheduler)
    if args.out is not None:
        _check_output_dir(args.out, "--out")
    try:
        report = run(args.spec, args.out, workers=args.workers, scheduler=args.scheduler, executor=args.executor,
                     progress=not args.no_progress, chunksize=args.chunksize, fsync=not args.no_fsync)
    except SweepError as exc:  # the executor failed; what finished is stored
        print(f"mdpgrad: error: {exc}", file=sys.stderr)
        return EXIT_VIOLATED
    print(report.summary())
    for f in report.failures[:5]:
        print(f"[failed] {f.key} {json.dumps(f.params)} replicate {f.replicate}: {f.error.splitlines()[0]}")
    if report.n_failed > 5:
        print(f"... {report.n_failed - 5} more failures in {report.out}/errors/")
    return EXIT_OK if report.ok else EXIT_VIOLATED


def cmd_sweep_status(args) -> int:
    from .sweep import status

    st = status(args.dir)
    print(f"{st.root}: {st.n_stored} valid cell file(s), {len(st.corrupt)} corrupt, {len(st.failed)} failed, "
          f"{st.n_stale_temps} stale temp file(s)")
    if st.sweeps:
        head = f"{'sweep':<24} {'spec':<12} {'cells':>7} {'done':>7} {'missing':>7} {'corrupt':>7} {'failed':>7}  function"
        print(head)
        print("-" * len(head))
        for s in st.sweeps:
            print(f"{s.name[:24]:<24} {s.spec_hash:<12} {s.n_cells:>7} {s.n_done:>7} {s.n_missing:>7} "
                  f"{s.n_corrupt:>7} {s.n_failed:>7}  {s.function}")
    for k in st.corrupt[:10]:
        print(f"[corrupt] cells/{k}.json (recomputed by the next run)")
    for name in st.corrupt_manifests:
        print(f"[corrupt] sweeps/{name} (rewritten by the next run of its sweep)")
    if st.index_note:
        print(f"[note] {st.index_note}")
    if not st.healthy:
        print(f"{len(st.corrupt)} corrupt cell file(s), {len(st.corrupt_manifests)} damaged manifest(s): exit status 1",
              file=sys.stderr)
        return EXIT_VIOLATED
    return EXIT_OK


# ----------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mdpgrad", description="Exact policy-gradient theory, checkable.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("info", help="versions, backends, GPU")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("solve", help="solve a generated MDP and print a summary")
    s.add_argument("--env", default="garnet", help="garnet | chain | river_swim | gridworld | hard_chain")
    s.add_argument("--states", type=int, default=100)
    s.add_argument("--actions", type=int, default=4)
    s.add_argument("--branching", type=int, default=5)
    s.add_argument("--gamma", type=float, default=0.9)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--method", default="policy_iteration",
                   choices=["policy_iteration", "value_iteration", "linear_programming", "pi", "vi", "lp"])
    s.add_argument("--tol", type=float, default=1e-8, help="sup-norm error on v")
    s.set_defaults(func=cmd_solve)

    from .claims import TOPICS

    topics = ", ".join(TOPICS)
    s = sub.add_parser(
        "check", help="run the claims catalogue and print predicted vs measured",
        description="Run the claims of the catalogue (all, a topic, or named ones) with their negative controls "
                    "and print what was compared, predicted, measured and the verdict. With --claim, print the "
                    "detail view of each named claim (statement, rule, controls, notes). Exit status 0 iff every "
                    "verdict equals the claim's expected verdict and every control was rejected, else 1; "
                    "2 for a usage error.",
        epilog=f"topics: {topics}. List the claims with: mdpgrad list [--topic T]")
    s.add_argument("--claim", action="append", metavar="ID", help="only this claim, shown in detail (repeatable)")
    s.add_argument("--topic", metavar="T", help=f"only claims of topic T: {topics}")
    s.add_argument("--quick", action="store_true", help="small budget (< 2 minutes in all)")
    s.add_argument("--json", metavar="PATH", help="write the verdicts as JSON")
    s.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    s.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (tcp://host:port)")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--no-controls", action="store_true", help="skip the negative controls")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("list", help="list the claims of the catalogue (without running them)",
                       epilog=f"topics: {topics}")
    s.add_argument("--topic", metavar="T", help=f"only claims of topic T: {topics}")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser(
        "figures", help="regenerate paper_figures/ (PNG + data per claim and per experiment)",
        description="Run the claims and write each one's figure (title: claim id and verdict) with the data "
                    "behind it, then draw the experiments from their stored sweep results. The full run takes "
                    "minutes; it prints an estimate from the previous run first. Exit status 2 when --only "
                    "matches nothing that draws a figure.",
        epilog=f"topics: {topics}")
    s.add_argument("--only", action="append", metavar="ID", help="only this claim or experiment (repeatable)")
    s.add_argument("--topic", metavar="T", help=f"only claims of topic T: {topics}")
    s.add_argument("--quick", action="store_true", help="small budget (seconds per claim)")
    s.add_argument("--out", default="paper_figures")
    s.add_argument("--results", default="results", metavar="DIR",
                   help="experiments' stored results live in DIR/<name> (default results)")
    s.add_argument("--no-run", action="store_true", help="fail instead of computing missing experiment cells")
    s.add_argument("--workers", type=int, default=None,
                   help="worker processes for claims and missing experiment cells (default: claims in-process, "
                   "experiment cells one process per core)")
    s.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address for claims and missing cells")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_figures)

    s = sub.add_parser("sweep", help="run declarative sweeps (experiments/*.py) and inspect stored results")
    ssub = s.add_subparsers(dest="sweep_command", required=True)
    r = ssub.add_parser("run", help="run the cells of SPEC not yet stored (resumable)")
    r.add_argument("spec", metavar="SPEC", help="a .py file/module defining SWEEP, or a .json spec")
    r.add_argument("--out", metavar="DIR", help="results directory (default results/<name>)")
    r.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core; 1: in-process)")
    r.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (tcp://host:port)")
    r.add_argument("--executor", default="auto", choices=["auto", "inline", "processes", "dask"])
    r.add_argument("--chunksize", type=int, default=None, help="cells per task (default: automatic)")
    r.add_argument("--no-fsync", action="store_true", help="do not flush cells to disk before renaming (still atomic and checksummed)")
    r.add_argument("--no-progress", action="store_true")
    r.set_defaults(func=cmd_sweep_run)
    r = ssub.add_parser("status", help="verify a results directory and count done/missing/corrupt cells")
    r.add_argument("dir", metavar="DIR")
    r.set_defaults(func=cmd_sweep_status)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, MdpgradError) as exc:
        print(f"mdpgrad: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # disk full, read-only or missing paths, a directory where a file should be
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"mdpgrad: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mdpgrad: interrupted", file=sys.stderr)
        return 130


def _one_line(exc) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
