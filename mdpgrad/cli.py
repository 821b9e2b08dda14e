"""The ``mdpgrad`` command line: ``info``, ``solve``, ``check``, ``figures``, ``sweep run|status``.

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


def _check_scheduler(addr):
    """A Dask scheduler address ``tcp://host:port`` (format only; dask must be installed)."""
    if addr is None:
        return None
    if not _SCHEDULER.match(addr):
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


def _short(x) -> str:
    """Compact text for a predicted/measured value: numbers to 4 significant digits, dicts as k=v."""
    if x is None:
        return "-"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, float, np.integer, np.floating)):
        return f"{float(x):.4g}"
    if isinstance(x, dict):
        return " ".join(f"{k}={_short(v)}" for k, v in x.items())
    if isinstance(x, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_short(v) for v in list(x)[:4]) + (", …]" if len(x) > 4 else "]")
    return str(x)


def _fmt(x, width=18) -> str:
    s = _short(x)
    return s if len(s) <= width else s[: width - 1] + "…"


def format_table(records) -> str:
    head = f"{'claim':<30} {'paper':<34} {'predicted':<26} {'measured [CI]':<40} {'verdict':<12} {'s':>6}"
    lines = [head, "-" * len(head)]
    for rec in records:
        v = rec.verdict
        ci = "" if v.ci is None else f" [{v.ci[0]:.3g}, {v.ci[1]:.3g}]"
        meas = _fmt(v.measured, 40 - len(ci)) + ci
        lines.append(
            f"{rec.claim.id[:30]:<30} {_fmt(rec.claim.paper, 34):<34} {_fmt(v.predicted, 26):<26} "
            f"{meas:<40} {v.verdict:<12} {rec.seconds:6.1f}"
        )
    counts = {k: sum(r.verdict.verdict == k for r in records) for k in ("holds", "violated", "inconclusive", "error")}
    lines.append("-" * len(head))
    lines.append(", ".join(f"{n} {k}" for k, n in counts.items()) + f"  ({len(records)} claims)")
    return "\n".join(lines)


def run_checks(claims, budget: str, *, progress: bool = True, workers: int = 1, scheduler=None,
               controls: bool = True):
    """Run claims (in-process, or through the sweep executor when available) with a bar."""
    from tqdm.auto import tqdm

    from .claims import run_claim

    records = []
    bar = tqdm(claims, desc=f"mdpgrad check ({budget})", unit="claim", disable=not progress, file=sys.stderr)
    for c in bar:
        bar.set_postfix_str(c.id)
        records.append(run_claim(c, budget, controls=controls))
    return records


def cmd_check(args) -> int:
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
    print(format_table(records))
    for rec in records:
        if not rec.as_expected:
            first = rec.verdict.details.splitlines()[0] if rec.verdict.details else ""
            print(f"\n[{rec.verdict.verdict}, expected {rec.claim.expected}] {rec.claim.id}: {first}")
        for c in rec.controls:
            if not c.rejected:
                print(f"\n[control not rejected] {rec.claim.id} / {c.name}: verdict {c.verdict.verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_json() for r in records], indent=2, default=str))
    bad = [r for r in records if not r.ok]
    if bad:
        print(f"\n{len(bad)} claim(s) differ from their expected verdict or have a control that was not rejected: "
              "exit status 1 (a regression or a new finding).")
        return EXIT_VIOLATED
    print("\nEvery verdict equals its expected verdict and every control was rejected: exit status 0.")
    return EXIT_OK


# ----------------------------------------------------------------------------- figures
def _save_figure(rec, out: Path, command: str) -> Path | None:
    v = rec.verdict
    png_bytes = v.data.get("png") if isinstance(v.data.get("png"), bytes) else None  # rendered by a worker
    if v.figure is None and png_bytes is None:
        return None
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"{rec.claim.id}.png"
    if png_bytes is not None:
        png.write_bytes(png_bytes)
    else:
        fig = v.figure
        fig.text(0.01, 0.005, command, fontsize=6, color="0.4")
        fig.savefig(png, dpi=120)
    data = {k: (np.asarray(x).tolist() if isinstance(x, (np.ndarray, list, tuple)) else x) for k, x in v.data.items()
            if k != "png"}
    meta = rec.as_json() | {"command": command, "data": data}
    (out / f"{rec.claim.id}.json").write_text(json.dumps(meta, indent=1, default=str))
    return png


def cmd_figures(args) -> int:
    """Claims' figures (computed now) and experiments' figures (from stored sweep results)."""
    from .sweep.experiments import experiments, render_experiment

    _check_workers(args.workers)
    _check_scheduler(args.scheduler)
    _check_output_dir(args.out, "--out")
    exps = {e.name: e for e in experiments()}
    if args.only:
        exp_ids = [i for i in args.only if i in exps]
        claim_ids = [i for i in args.only if i not in exps]
    else:
        exp_ids = [] if args.topic else list(exps)
        claim_ids = None
    out = Path(args.out)
    n = 0
    records = []
    if claim_ids is None or claim_ids:
        ns = argparse.Namespace(claim=claim_ids, topic=args.topic)
        claims = _select(ns)
        budget = "quick" if args.quick else "full"
        stamp = "mdpgrad figures --only {id}" + (" --quick" if args.quick else "")
        if (args.workers or 1) != 1 or args.scheduler:
            from .sweep import run_checks_parallel

            records = run_checks_parallel(claims, budget, progress=not args.no_progress, workers=args.workers,
                                          scheduler=args.scheduler, png=stamp)
        else:
            records = run_checks(claims, budget, progress=not args.no_progress)
        for rec in records:
            cmd = stamp.format(id=rec.claim.id)
            if _save_figure(rec, out, cmd):
                n += 1
    for name in exp_ids:
        png = render_experiment(exps[name], out, results_root=args.results, run_missing=not args.no_run,
                                workers=args.workers, scheduler=args.scheduler, progress=not args.no_progress)
        print(f"{name}: {png}  ({exps[name].command(args.results)})")
        n += 1
    print(f"wrote {n} figure(s) to {out}/ ({len(records)} claims checked, {len(exp_ids)} experiments drawn)")
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

    s = sub.add_parser("check", help="run the claims catalogue and print predicted vs measured")
    s.add_argument("--claim", action="append", metavar="ID", help="only this claim (repeatable)")
    s.add_argument("--topic", help="only claims of this topic")
    s.add_argument("--quick", action="store_true", help="small budget (< 2 minutes in all)")
    s.add_argument("--json", metavar="PATH", help="write the verdicts as JSON")
    s.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    s.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (tcp://host:port)")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--no-controls", action="store_true", help="skip the negative controls")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("figures", help="regenerate paper_figures/ (PNG + data per claim)")
    s.add_argument("--only", action="append", metavar="ID")
    s.add_argument("--topic")
    s.add_argument("--quick", action="store_true")
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
