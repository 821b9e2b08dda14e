"""The claims engine: literature claims as executable data.

A :class:`Claim` is data -- id, the paper's title (as in the seed lists), topic, statement,
assumptions, the bound as a sympy expression in named symbols, the instance it is checked
on, notes (including corrections to the catalogue) -- plus a ``check(budget, rng)``
function that builds the instance, runs the method and returns a :class:`Verdict`.

Claims are declared in ``theory/<topic>.py`` modules with the :func:`claim` decorator::

    @claim(id="pg-theorem", paper="...", topic="foundation", statement="...",
           bound="0", assumptions=("finite MDP",), instance="Garnet(8, 3, 3), gamma=0.9")
    def pg_theorem(budget, rng):
        ...
        return Verdict(predicted=0.0, measured=err, ci=None, verdict=holds(err <= 1e-8), ...)

:func:`registry` collects every ``Claim`` object found in the ``theory`` package (no
global mutable state: the catalogue is rebuilt from the modules on each call, cached).

Verdicts are ``"holds"``, ``"violated"``, ``"inconclusive"`` or ``"error"``. A claim whose
catalogue entry was wrong records that in ``notes`` and checks the closest honest
statement; a measurement that contradicts the paper is reported ``violated`` with the
numbers, never hidden.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

__all__ = [
    "Budget",
    "QUICK",
    "FULL",
    "Verdict",
    "Claim",
    "claim",
    "registry",
    "get_claim",
    "run_claim",
    "CheckRecord",
    "holds_if",
    "TOPICS",
]

#: Topics of the catalogue (one ``theory/`` module family each).
TOPICS = (
    "foundation",
    "exact-pg",
    "stochastic-pg",
    "policy-evaluation",
    "martingale",
    "robust",
    "llm-rl",
    "games",
    "scale",
)

VERDICTS = ("holds", "violated", "inconclusive", "error")


@dataclass(frozen=True)
class Budget:
    """How much compute a check may use: ``"quick"`` (seconds) or ``"full"``."""

    name: str = "full"

    def pick(self, quick, full):
        """``quick`` under the quick budget, ``full`` otherwise."""
        return quick if self.name == "quick" else full

    @property
    def quick(self) -> bool:
        return self.name == "quick"


QUICK = Budget("quick")
FULL = Budget("full")


def holds_if(ok: bool) -> str:
    """``"holds"`` if ``ok`` else ``"violated"``."""
    return "holds" if bool(ok) else "violated"


@dataclass(frozen=True)
class Verdict:
    """What a check measured.

    Attributes
    ----------
    predicted : the bound evaluated on the instance, or the predicted exponent / rate
        (a float, or a short string such as ``"<= 0.12"``).
    measured : the measured quantity (float or string).
    ci : ``(low, high)`` confidence interval of ``measured`` or ``None`` (exact quantities).
    verdict : ``"holds"``, ``"violated"``, ``"inconclusive"`` or ``"error"``.
    details : one or two sentences: instance, what was compared, anything surprising.
    data : arrays behind the figure (saved next to it by ``mdpgrad figures``).
    figure : a ``matplotlib.figure.Figure`` (built without pyplot) or ``None``.
    """

    predicted: Any
    measured: Any
    verdict: str
    ci: tuple[float, float] | None = None
    details: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    figure: Any = None

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict = {self.verdict!r}: must be one of {VERDICTS}")
        if self.ci is not None:
            lo, hi = self.ci
            object.__setattr__(self, "ci", (float(lo), float(hi)))


@dataclass(frozen=True)
class Claim:
    """A checkable claim from the literature (see module docstring)."""

    id: str
    paper: str
    topic: str
    statement: str
    check_fn: Callable[[Budget, np.random.Generator], Verdict]
    assumptions: tuple[str, ...] = ()
    bound: sympy.Expr | None = None
    instance: str = ""
    notes: str = ""
    priority: str = "A"
    module: str = ""

    def __post_init__(self):
        if self.topic not in TOPICS:
            raise ValueError(f"claim {self.id}: topic {self.topic!r} not in {TOPICS}")
        if isinstance(self.bound, str):
            object.__setattr__(self, "bound", parse_bound(self.bound))

    @property
    def symbols(self) -> tuple[str, ...]:
        """Names of the free symbols of the bound."""
        if self.bound is None:
            return ()
        return tuple(sorted(str(s) for s in self.bound.free_symbols))

    def evaluate_bound(self, **values) -> float:
        """The bound at the given symbol values (e.g. ``t=10, gamma=0.9``)."""
        if self.bound is None:
            raise ValueError(f"claim {self.id} has no bound expression")
        subs = {sympy.Symbol(k): v for k, v in values.items()}
        return float(self.bound.subs(subs).evalf())

    def bound_function(self, *names: str) -> Callable:
        """A NumPy function of the named symbols (``sympy.lambdify``)."""
        syms = [sympy.Symbol(n) for n in names]
        return sympy.lambdify(syms, self.bound, "numpy")

    def check(self, budget: Budget | str = FULL, rng: np.random.Generator | int | None = None) -> Verdict:
        """Run the check (raises on error; :func:`run_claim` catches and times)."""
        if isinstance(budget, str):
            budget = Budget(budget)
        if rng is None:
            rng = np.random.default_rng(_stable_seed(self.id))
        elif not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        return self.check_fn(budget, rng)

    def __call__(self, budget: Budget | str = FULL, rng=None) -> Verdict:
        return self.check(budget, rng)

    def __repr__(self) -> str:
        return f"Claim({self.id!r}, topic={self.topic!r})"


#: Names parsed as sympy functions in a bound; every other identifier becomes a plain Symbol.
_BOUND_FUNCTIONS = {"log", "exp", "sqrt", "Max", "Min", "Abs", "sin", "cos", "floor", "ceiling", "pi", "oo",
                    "Rational", "binomial", "factorial", "Sum", "Piecewise", "Eq", "Le", "Lt", "Ge", "Gt"}


def parse_bound(text: str) -> sympy.Expr:
    """Parse a bound such as ``"log(n_A)/(eta*T) + 1/((1-gamma)**2*T)"``.

    Every identifier except the functions in ``_BOUND_FUNCTIONS`` is a plain ``Symbol``, so names
    that sympy would otherwise read as special objects (``gamma`` is the Gamma function, ``S`` the
    singleton registry, ``E``/``I``/``N``/``O``/``Q`` likewise) mean what the claim author wrote.
    """
    import re

    names = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text)) - _BOUND_FUNCTIONS
    return sympy.sympify(text, locals={n: sympy.Symbol(n) for n in names})


def _stable_seed(text: str) -> int:
    """A seed derived from a string (stable across processes, unlike ``hash``)."""
    import zlib

    return zlib.crc32(text.encode())


def claim(*, id: str, paper: str, topic: str, statement: str, assumptions=(), bound=None,
          instance: str = "", notes: str = "", priority: str = "A"):
    """Decorator turning a ``check(budget, rng) -> Verdict`` function into a :class:`Claim`.

    The function's docstring is appended to ``notes`` (write derivations and catalogue
    corrections there).
    """

    def wrap(fn):
        doc = (fn.__doc__ or "").strip()
        full_notes = "\n\n".join(x for x in (notes.strip(), doc) if x)
        c = Claim(id=id, paper=paper, topic=topic, statement=statement, check_fn=fn,
                  assumptions=tuple(assumptions), bound=bound, instance=instance,
                  notes=full_notes, priority=priority, module=fn.__module__)
        return c

    return wrap


@functools.lru_cache(maxsize=1)
def registry() -> tuple[Claim, ...]:
    """Every :class:`Claim` defined in the ``theory`` package, in module then definition order."""
    import theory

    found: list[Claim] = []
    seen: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(theory.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"theory.{info.name}")
        for obj in vars(mod).values():
            if isinstance(obj, Claim) and obj.module in ("", mod.__name__):
                if obj.id in seen:
                    raise RuntimeError(f"duplicate claim id {obj.id!r} in {mod.__name__} and {seen[obj.id]}")
                seen[obj.id] = mod.__name__
                found.append(obj)
    return tuple(found)


def get_claim(claim_id: str) -> Claim:
    """Look up a claim by id (raises ``KeyError`` listing close matches)."""
    for c in registry():
        if c.id == claim_id:
            return c
    import difflib

    close = difflib.get_close_matches(claim_id, [c.id for c in registry()], n=5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise KeyError(f"no claim with id {claim_id!r}.{hint}")


@dataclass(frozen=True)
class CheckRecord:
    """A verdict with the claim's metadata and timing (one row of ``mdpgrad check``)."""

    claim: Claim
    verdict: Verdict
    seconds: float
    error: str = ""

    def as_json(self) -> dict:
        def plain(x):
            if isinstance(x, (np.floating, np.integer)):
                return x.item()
            if isinstance(x, float) and not np.isfinite(x):
                return str(x)
            return x

        return {
            "id": self.claim.id,
            "paper": self.claim.paper,
            "topic": self.claim.topic,
            "statement": self.claim.statement,
            "predicted": plain(self.verdict.predicted),
            "measured": plain(self.verdict.measured),
            "ci": None if self.verdict.ci is None else [plain(v) for v in self.verdict.ci],
            "verdict": self.verdict.verdict,
            "seconds": round(self.seconds, 3),
            "details": self.verdict.details if not self.error else self.error,
        }


def run_claim(c: Claim, budget: Budget | str = FULL, seed: int | None = None) -> CheckRecord:
    """Run one claim, catching exceptions into an ``"error"`` verdict, and time it."""
    if isinstance(budget, str):
        budget = Budget(budget)
    rng = np.random.default_rng(_stable_seed(c.id) if seed is None else seed)
    t0 = time.perf_counter()
    try:
        v = c.check(budget, rng)
        if not isinstance(v, Verdict):
            raise TypeError(f"check of {c.id} returned {type(v).__name__}, not Verdict")
        err = ""
    except Exception as exc:  # a broken check is reported, never hidden
        err = f"{type(exc).__name__}: {exc}"
        v = Verdict(predicted=None, measured=None, verdict="error",
                    details=err + "\n" + traceback.format_exc(limit=4))
    return CheckRecord(c, v, time.perf_counter() - t0, err)
