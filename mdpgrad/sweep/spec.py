"""A sweep is data: a cell function reference, a parameter grid and replicate seeds.

A :class:`Sweep` expands into :class:`Cell` objects. Each cell is deterministic from its
parameters:

* its **key** is ``sha256`` of the canonical JSON of ``(function, params, replicate,
  version)`` -- the file name under which its result is stored, identical on every
  machine and in every process (Python's ``hash`` is salted per process and is never used);
* its **seed** is a 63-bit integer taken from ``sha256`` of the canonical JSON of
  ``(params restricted to seed_by, replicate)``, so a cell's result never depends on
  where, when or in which order it ran. ``seed_by`` lets cells share random numbers on
  purpose (e.g. the same random instance for every step size: ``seed_by=("instance",)``).

The cell function is called as ``fn(**params, seed=seed)`` and returns a mapping of
JSON-serializable values (NumPy scalars and arrays are converted), or a single scalar
(stored as ``{"value": x}``).

Canonical JSON: ``json.dumps(x, sort_keys=True, separators=(",", ":"), allow_nan=False)``
after converting NumPy scalars to Python scalars and tuples to lists. ``1`` and ``1.0``
are different parameters (their JSON differs); floats are written with ``repr`` and
round-trip exactly.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import itertools
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInputError

__all__ = [
    "Sweep",
    "Cell",
    "canonical_json",
    "stable_seed",
    "cell_key",
    "resolve_function",
    "function_reference",
    "load_spec",
]

#: Names a parameter may not have (the seed argument, and metadata columns of :func:`load`).
RESERVED = frozenset({"seed", "key", "function", "replicate", "seconds", "cpu_seconds"})

_REF_HELP = "use 'package.module:function' naming a top-level function importable on every worker"


def to_plain(x: Any, where: str) -> Any:
    """``x`` as plain JSON types (NumPy scalars/arrays converted), or InvalidInputError naming ``where``."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x)
    if isinstance(x, np.ndarray):
        return to_plain(x.tolist(), where)
    if isinstance(x, (list, tuple)):
        return [to_plain(v, f"{where}[{i}]") for i, v in enumerate(x)]
    if isinstance(x, Mapping):
        out = {}
        for k, v in x.items():
            if not isinstance(k, str):
                raise InvalidInputError(f"{where}: key {k!r} is a {type(k).__name__}; keys must be str")
            out[k] = to_plain(v, f"{where}[{k!r}]")
        return out
    raise InvalidInputError(
        f"{where} = {x!r} is a {type(x).__name__}, which is not JSON-serializable; "
        "use numbers, strings, booleans, None, lists or dicts (NumPy scalars/arrays are converted)"
    )


def canonical_json(x: Any, *, where: str = "value") -> str:
    """Canonical JSON text of ``x`` (sorted keys, no spaces, no NaN/inf): the input of every hash."""
    try:
        return json.dumps(to_plain(x, where), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:  # NaN / inf
        raise InvalidInputError(f"{where} contains NaN or inf ({exc}); parameters must be finite") from None


def _digest(domain: str, payload: str) -> bytes:
    return hashlib.sha256(f"mdpgrad-sweep/{domain}\n{payload}".encode()).digest()


def stable_seed(params: Mapping[str, Any], replicate: int = 0) -> int:
    """A 63-bit seed from ``sha256(canonical_json({"params": params, "replicate": replicate}))``.

    Identical across processes, machines and Python versions (unlike ``hash``).
    """
    text = canonical_json({"params": dict(params), "replicate": int(replicate)}, where="params")
    return int.from_bytes(_digest("seed", text)[:8], "little") & ((1 << 63) - 1)


def cell_key(function: str, params: Mapping[str, Any], replicate: int, version: str = "") -> str:
    """The 24-hex-digit storage key of a cell (sha256 of its canonical description)."""
    text = canonical_json({"f": function, "p": dict(params), "r": int(replicate), "v": version}, where="params")
    return _digest("cell", text).hex()[:24]


def function_reference(fn: str | Callable) -> str:
    """``"module:qualname"`` for a callable (checked to round-trip), or the string validated."""
    if isinstance(fn, str):
        mod, sep, name = fn.partition(":")
        if not sep or not mod or not name or mod == "__main__":
            raise InvalidInputError(f"function = {fn!r} is not a reference; {_REF_HELP}")
        return fn
    if not callable(fn):
        raise InvalidInputError(f"function = {fn!r} is neither a reference string nor callable; {_REF_HELP}")
    mod = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None)
    if not mod or not name or mod == "__main__" or "<" in name:
        raise InvalidInputError(f"function = {fn!r} (module {mod!r}, name {name!r}) cannot be imported by "
                                f"workers; {_REF_HELP}")
    ref = f"{mod}:{name}"
    try:
        ok = resolve_function(ref) is fn
    except InvalidInputError:
        ok = False
    if not ok:
        raise InvalidInputError(f"function = {fn!r}: {ref!r} does not import back to it; {_REF_HELP}")
    return ref


def resolve_function(ref: str) -> Callable:
    """Import ``"module:function"`` (dotted attributes allowed after the colon)."""
    mod_name, sep, attr = ref.partition(":")
    if not sep or not mod_name or not attr:
        raise InvalidInputError(f"function = {ref!r} is not a reference; {_REF_HELP}")
    try:
        obj = importlib.import_module(mod_name)
    except ImportError as exc:
        raise InvalidInputError(f"function = {ref!r}: cannot import module {mod_name!r} ({exc}); "
                                "is its directory on sys.path / PYTHONPATH of every worker?") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InvalidInputError(f"function = {ref!r}: module {mod_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise InvalidInputError(f"function = {ref!r} resolves to a {type(obj).__name__}, not a callable")
    return obj


@dataclass(frozen=True)
class Cell:
    """One unit of work: ``function(**params, seed=seed)``; ``key`` names its result file."""

    key: str
    function: str
    params: Mapping[str, Any]
    replicate: int
    seed: int

    def run(self) -> Any:
        """Compute the cell in this process (the raw return value of the function)."""
        return resolve_function(self.function)(**self.params, seed=self.seed)


def _as_points(grid, name: str) -> list[dict]:
    """Expand a grid: a dict of lists (Cartesian product) or a list of such dicts (union)."""
    if isinstance(grid, Mapping):
        blocks = [grid]
    elif isinstance(grid, Sequence) and not isinstance(grid, str):
        blocks = list(grid)
    else:
        raise InvalidInputError(f"{name} = {grid!r}: give a dict of value lists or a list of such dicts")
    points = []
    for b, block in enumerate(blocks):
        if not isinstance(block, Mapping):
            raise InvalidInputError(f"{name}[{b}] = {block!r} is not a dict of value lists")
        names = list(block)
        values = []
        for k in names:
            if not isinstance(k, str) or not k.isidentifier() or k in RESERVED:
                raise InvalidInputError(f"{name}: parameter name {k!r} must be a Python identifier other than "
                                        f"{', '.join(sorted(RESERVED))} (the seed is passed by the sweep; the "
                                        "others are columns of the results table)")
            v = block[k]
            if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, (Sequence, np.ndarray)):
                raise InvalidInputError(f"{name}[{k!r}] = {v!r}: give a list of values (wrap a single value in [ ])")
            if len(v) == 0:
                raise InvalidInputError(f"{name}[{k!r}] is empty; give at least one value")
            values.append(list(v))
        for combo in itertools.product(*values):
            points.append(dict(zip(names, combo)))
    return points


@dataclass(frozen=True)
class Sweep:
    """A declarative sweep.

    Parameters
    ----------
    name : identifier of the sweep (default results directory ``results/<name>``).
    function : ``"module:function"`` (or a top-level function, converted to its reference).
    grid : ``{param: [values]}`` (Cartesian product) or a list of such dicts (their union).
    seeds : number of replicates ``n`` (replicates ``0..n-1``) or an explicit list of ints.
    fixed : parameters passed to every cell (part of the cell key).
    seed_by : parameter names the seed depends on (``None``: all of them). Cells that agree on
        these share their seed (common random numbers).
    version : bump to invalidate stored cells after changing the cell function.
    description : one line for ``mdpgrad sweep status`` and figure captions.
    """

    name: str
    function: str
    grid: Any = field(default_factory=dict)
    seeds: Any = 1
    fixed: Mapping[str, Any] = field(default_factory=dict)
    seed_by: tuple[str, ...] | None = None
    version: str = ""
    description: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or not all(c.isalnum() or c in "-_." for c in self.name):
            raise InvalidInputError(f"name = {self.name!r}: use letters, digits, '-', '_' or '.'")
        object.__setattr__(self, "function", function_reference(self.function))
        if isinstance(self.seeds, (int, np.integer)) and not isinstance(self.seeds, bool):
            if int(self.seeds) < 1:
                raise InvalidInputError(f"seeds = {self.seeds}: need at least 1 replicate")
            reps = tuple(range(int(self.seeds)))
        elif isinstance(self.seeds, (Sequence, np.ndarray)) and not isinstance(self.seeds, str):
            reps = tuple(self.seeds)
            if not reps or not all(isinstance(r, (int, np.integer)) and not isinstance(r, bool) for r in reps):
                raise InvalidInputError(f"seeds = {self.seeds!r}: give a positive count or a non-empty list of ints")
            if len(set(reps)) != len(reps):
                raise InvalidInputError(f"seeds = {self.seeds!r} has duplicates")
            reps = tuple(int(r) for r in reps)
        else:
            raise InvalidInputError(f"seeds = {self.seeds!r}: give a positive count or a non-empty list of ints")
        object.__setattr__(self, "seeds", reps)
        if not isinstance(self.fixed, Mapping):
            raise InvalidInputError(f"fixed = {self.fixed!r} must be a dict")
        if set(self.fixed) & RESERVED:
            raise InvalidInputError(f"fixed sets reserved names {sorted(set(self.fixed) & RESERVED)}; the seed is "
                                    "derived per cell (use seed_by / seeds), the others are result columns")
        if self.seed_by is not None:
            sb = (self.seed_by,) if isinstance(self.seed_by, str) else tuple(self.seed_by)
            object.__setattr__(self, "seed_by", sb)
        canonical_json(self.fixed, where="fixed")
        canonical_json(self.grid, where="grid")  # JSON-able and finite
        pts = _as_points(self.grid, "grid")  # validates
        names = set().union(*pts) | set(self.fixed)
        clash = set(self.fixed) & set().union(*pts)
        if clash:
            raise InvalidInputError(f"fixed and grid both set {sorted(clash)}; keep each parameter in one place")
        if self.seed_by is not None:
            unknown = set(self.seed_by) - names
            if unknown:
                raise InvalidInputError(f"seed_by names unknown parameters {sorted(unknown)}; known: {sorted(names)}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Sweep:
        """A sweep from a JSON-like dict with the constructor's field names."""
        allowed = {"name", "function", "grid", "seeds", "fixed", "seed_by", "version", "description"}
        if not isinstance(d, Mapping):
            raise InvalidInputError(f"sweep spec: expected a JSON object with fields {sorted(allowed)}, "
                                    f"got {type(d).__name__}.")
        extra = set(d) - allowed - {"figure"}
        if extra:
            raise InvalidInputError(f"sweep spec has unknown fields {sorted(extra)}; allowed: {sorted(allowed)}")
        missing = [k for k in ("name", "function") if k not in d]
        if missing:
            raise InvalidInputError(f"sweep spec lacks the required field(s) {missing}; add e.g. "
                                    '"name": "my-sweep", "function": "package.module:function".')
        return cls(**{k: v for k, v in d.items() if k in allowed})

    def to_dict(self) -> dict:
        """Plain-JSON description (what the manifest stores)."""
        return {
            "name": self.name,
            "function": self.function,
            "grid": to_plain(self.grid, "grid"),
            "seeds": list(self.seeds),
            "fixed": to_plain(dict(self.fixed), "fixed"),
            "seed_by": None if self.seed_by is None else list(self.seed_by),
            "version": self.version,
            "description": self.description,
        }

    @property
    def spec_hash(self) -> str:
        """Hash of the full description (names the manifest file)."""
        return _digest("spec", canonical_json(self.to_dict(), where="sweep")).hex()[:12]

    def cells(self) -> list[Cell]:
        """Every cell, in grid order with replicates innermost; duplicates (same key) dropped."""
        out, seen = [], set()
        for point in _as_points(self.grid, "grid"):
            params = to_plain({**point, **dict(self.fixed)}, "params")
            seed_params = params if self.seed_by is None else {k: params[k] for k in self.seed_by}
            for r in self.seeds:
                key = cell_key(self.function, params, r, self.version)
                if key in seen:
                    continue
                seen.add(key)
                out.append(Cell(key=key, function=self.function, params=params, replicate=r,
                                seed=stable_seed(seed_params, r)))
        return out

    def __len__(self) -> int:
        return len(self.cells())


def load_spec(spec: str | Path | Mapping | Sweep) -> Sweep:
    """A :class:`Sweep` from a ``.json`` (or, on Python >= 3.11, ``.toml``) file, a ``.py`` file or
    module exposing ``SWEEP``, or a dict.

    A ``.py`` file inside an importable package (e.g. ``experiments/npg_step_size.py`` with the
    repository root on ``sys.path``) is imported under its module name; otherwise its directory
    is put on ``sys.path`` first so ``"module:function"`` references next to it resolve.
    """
    if isinstance(spec, Sweep):
        return spec
    if isinstance(spec, Mapping):
        return Sweep.from_dict(spec)
    text = str(spec)
    path = Path(text)
    if path.suffix == ".json":
        if not path.is_file():
            raise InvalidInputError(f"spec = {text!r}: no such file")
        try:
            d = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"spec = {text!r} is not valid JSON: {exc}") from None
        return Sweep.from_dict(d)
    if path.suffix == ".toml":
        if not path.is_file():
            raise InvalidInputError(f"spec = {text!r}: no such file")
        try:
            import tomllib
        except ImportError:  # Python 3.10
            raise InvalidInputError(f"spec = {text!r}: TOML specs need Python >= 3.11 (tomllib); "
                                    "use the same fields in a .json file") from None
        try:
            d = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInputError(f"spec = {text!r} is not valid TOML: {exc}") from None
        return Sweep.from_dict(d)
    if path.suffix == ".py":
        if not path.is_file():
            raise InvalidInputError(f"spec = {text!r}: no such file")
        mod = _import_path(path)
    else:
        try:
            mod = importlib.import_module(text)
        except ImportError as exc:
            raise InvalidInputError(f"spec = {text!r} is neither a .json/.py file nor an importable module "
                                    f"({exc})") from None
        except Exception as exc:
            raise InvalidInputError(f"spec = {text!r} raised {type(exc).__name__} on import: {exc}; "
                                    "fix the spec module.") from None
    sw = getattr(mod, "SWEEP", None)
    if isinstance(sw, Mapping):
        sw = Sweep.from_dict(sw)
    if not isinstance(sw, Sweep):
        raise InvalidInputError(f"spec = {text!r} defines no SWEEP = mdpgrad.sweep.Sweep(...)")
    return sw


def _import_path(path: Path):
    """Import a .py file by module name when it lies in a package on sys.path, else by location."""
    path = path.resolve()
    parts = [path.stem]
    d = path.parent
    while (d / "__init__.py").is_file():
        parts.insert(0, d.name)
        d = d.parent
    if str(d) not in sys.path:
        sys.path.insert(0, str(d))
    name = ".".join(parts)
    try:
        mod = importlib.import_module(name)
        if Path(getattr(mod, "__file__", "") or "").resolve() == path:
            return mod
    except ImportError:
        pass
    except Exception as exc:
        raise InvalidInputError(f"spec = {str(path)!r} raised {type(exc).__name__} on import: {exc}; "
                                "fix the spec file.") from None
    tag = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    spec = importlib.util.spec_from_file_location(f"_mdpgrad_spec_{tag}", path)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:
        raise InvalidInputError(f"spec = {str(path)!r} raised {type(exc).__name__} on import: {exc}; "
                                "fix the spec file.") from None
    return mod

