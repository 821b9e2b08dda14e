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

Verdicts are ``"holds"``, ``"violated"``, ``"inconclusive"`` or ``"error"`` (and
``"uncheckable"`` for a claim recorded as not checkable as stated, with its reason). A claim
whose catalogue entry was wrong records that in ``notes`` and checks the closest honest
statement; a measurement that contradicts the paper is reported ``violated`` with the
numbers, never hidden.

**Expected verdicts and negative controls.** Each claim records the verdict ``expected`` today
(a documented contradiction is expected ``"violated"``), and names ``controls``: plausible wrong
variants of the method or estimator (``{"no-1/(1-gamma)": "softmax PG without its 1/(1-gamma)
factor", ...}``). The check function takes ``control=None``; given a control's name it runs the
*same* check on that wrong variant (through the library's own parameters or hooks, never by
editing code). A control is *rejected* when its verdict differs from the claim's expected verdict
and is not an error. :func:`run_claim` runs the claim and its controls with the same seed
(common random numbers); :attr:`CheckRecord.ok` is true when the verdict equals the expectation
and every control is rejected, and ``mdpgrad check`` exits 0 exactly when every record is ok.
The verdict rules themselves live in :mod:`mdpgrad.verdicts`.
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

from .verdicts import VERDICTS, Rule, holds_if

__all__ = [
    "Budget",
    "QUICK",
    "FULL",
    "Verdict",
    "Claim",
    "claim",
    "uncheckable_claim",
    "registry",
    "get_claim",
    "run_claim",
    "CheckRecord",
    "ControlRecord",
    "holds_if",
    "TOPICS",
    "VERDICTS",
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
    rule : what was compared in which direction, in words (``"slope CI <= -1"``,
        ``"gap_t <= bound_t at every t"``, ``"max |z| <= 4.4"``).
    tightness : for bound claims, ``max measured / bound`` (1 = tight); else ``None``.
    min_detectable : for statistical claims, the smallest error in the checked quantity that the
        test detects at its budget (power 0.8); else ``None``.

    ``verdict`` may also be given as a :class:`mdpgrad.verdicts.Rule`; its words, tightness and
    detectable effect then fill ``rule``, ``tightness`` and ``min_detectable`` when those are unset.
    """

    predicted: Any
    measured: Any
    verdict: str
    ci: tuple[float, float] | None = None
    details: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    figure: Any = None
    rule: str = ""
    tightness: float | None = None
    min_detectable: float | None = None

    def __post_init__(self):
        if isinstance(self.verdict, Rule):
            r = self.verdict
            object.__setattr__(self, "verdict", r.verdict)
            if not self.rule:
                object.__setattr__(self, "rule", r.rule)
            if self.tightness is None:
                object.__setattr__(self, "tightness", r.tightness)
            if self.min_detectable is None:
                object.__setattr__(self, "min_detectable", r.min_detectable)
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict = {self.verdict!r}: must be one of {VERDICTS}")
        if self.ci is not None:
            lo, hi = self.ci
            object.__setattr__(self, "ci", (float(lo), float(hi)))


@dataclass(frozen=True)
class Claim:
    """A checkable claim from the literature (see module docstring).

    expected : the verdict expected today (``"holds"``, or ``"violated"`` for a documented
        contradiction, ``"uncheckable"`` for a claim not checkable as stated).
    controls : ``{name: description}`` of the wrong variants the check must reject.
    catalogue : the ids of the catalogue entries (``claims.md``) this claim encodes.
    uncheckable : for a claim not checkable as stated, the reason (``check_fn`` is then ``None``).
    """

    id: str
    paper: str
    topic: str
    statement: str
    check_fn: Callable[..., Verdict] | None
    assumptions: tuple[str, ...] = ()
    bound: sympy.Expr | None = None
    instance: str = ""
    notes: str = ""
    priority: str = "A"
    module: str = ""
    expected: str = "holds"
    controls: Mapping[str, str] = field(default_factory=dict)
    catalogue: tuple[str, ...] = ()
    uncheckable: str = ""

    def __post_init__(self):
        if self.topic not in TOPICS:
            raise ValueError(f"claim {self.id}: topic {self.topic!r} not in {TOPICS}")
        if self.expected not in VERDICTS or self.expected == "error":
            raise ValueError(f"claim {self.id}: expected = {self.expected!r}; choose one of {VERDICTS[:3]} "
                             "or 'uncheckable'")
        if (self.expected == "uncheckable") != bool(self.uncheckable):
            raise ValueError(f"claim {self.id}: a claim is expected 'uncheckable' exactly when it gives the "
                             "reason in uncheckable=")
        if self.check_fn is None and not self.uncheckable:
            raise ValueError(f"claim {self.id}: no check function; give uncheckable='reason' instead")
        object.__setattr__(self, "controls", dict(self.controls))
        object.__setattr__(self, "catalogue", tuple(self.catalogue))
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

    def check(self, budget: Budget | str = FULL, rng: np.random.Generator | int | None = None,
              control: str | None = None) -> Verdict:
        """Run the check, or with ``control=name`` the same check on that wrong variant (raises on
        error; :func:`run_claim` catches and times)."""
        if isinstance(budget, str):
            budget = Budget(budget)
        if rng is None:
            rng = np.random.default_rng(_stable_seed(self.id))
        elif not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        if self.uncheckable:
            return Verdict(predicted=None, measured=None, verdict="uncheckable",
                           details="not checkable as stated: " + self.uncheckable)
        if control is None:
            return self.check_fn(budget, rng)
        if control not in self.controls:
            raise KeyError(f"claim {self.id} has no control {control!r}; its controls: {sorted(self.controls)}")
        return self.check_fn(budget, rng, control=control)

    def __call__(self, budget: Budget | str = FULL, rng=None, control: str | None = None) -> Verdict:
        return self.check(budget, rng, control)

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
          instance: str = "", notes: str = "", priority: str = "A", expected: str = "holds",
          controls: Mapping[str, str] | None = None, catalogue=()):
    """Decorator turning a ``check(budget, rng, control=None) -> Verdict`` function into a :class:`Claim`.

    The function's docstring is appended to ``notes`` (write derivations and catalogue
    corrections there). ``catalogue`` defaults to ``(id,)``.
    """

    def wrap(fn):
        doc = (fn.__doc__ or "").strip()
        full_notes = "\n\n".join(x for x in (notes.strip(), doc) if x)
        c = Claim(id=id, paper=paper, topic=topic, statement=statement, check_fn=fn,
                  assumptions=tuple(assumptions), bound=bound, instance=instance,
                  notes=full_notes, priority=priority, module=fn.__module__, expected=expected,
                  controls=dict(controls or {}), catalogue=tuple(catalogue) or (id,))
        return c

    return wrap


def uncheckable_claim(*, id: str, paper: str, topic: str, statement: str, reason: str, priority: str = "B",
                      notes: str = "", catalogue=(), module: str = "") -> Claim:
    """A catalogue entry recorded as *not checkable as stated*, with the reason (listed by
    ``mdpgrad list`` and counted in the summary of ``mdpgrad check``)."""
    return Claim(id=id, paper=paper, topic=topic, statement=statement, check_fn=None,
                 instance="(none: not checkable as stated)", notes=notes, priority=priority, module=module,
                 expected="uncheckable", uncheckable=reason, catalogue=tuple(catalogue) or (id,))


@functools.lru_cache(maxsize=1)
def registry() -> tuple[Claim, ...]:
    """Every :class:`Claim` defined in the :mod:`mdpgrad.theory` package (the repository's ``theory/``),
    in module then definition order."""
    theory = importlib.import_module("mdpgrad.theory")

    found: list[Claim] = []
    seen: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(theory.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"mdpgrad.theory.{info.name}")
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
class ControlRecord:
    """One negative control's outcome: ``rejected`` when its verdict differs from the claim's
    expected verdict and is not an error (the check noticed the wrong variant)."""

    name: str
    description: str
    verdict: Verdict
    seconds: float
    error: str = ""
    rejected: bool = False

    def as_json(self) -> dict:
        return {"name": self.name, "description": self.description, "verdict": self.verdict.verdict,
                "measured": _plain(self.verdict.measured), "rejected": self.rejected,
                "details": self.error or self.verdict.details}


def _plain(x):
    if isinstance(x, (np.floating, np.integer)):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    if isinstance(x, (tuple, list)):
        return [_plain(v) for v in x]
    return x


@dataclass(frozen=True)
class CheckRecord:
    """A verdict with the claim's metadata, timing and controls (one row of ``mdpgrad check``)."""

    claim: Claim
    verdict: Verdict
    seconds: float
    error: str = ""
    controls: tuple[ControlRecord, ...] = ()

    @property
    def as_expected(self) -> bool:
        """The verdict equals the claim's expected verdict."""
        return self.verdict.verdict == self.claim.expected

    @property
    def controls_rejected(self) -> bool:
        """Every control that was run was rejected."""
        return all(c.rejected for c in self.controls)

    @property
    def ok(self) -> bool:
        """As expected, and every control rejected (what ``mdpgrad check``'s exit status tests)."""
        return self.as_expected and self.controls_rejected

    def as_json(self) -> dict:
        v = self.verdict
        return {
            "id": self.claim.id,
            "paper": self.claim.paper,
            "topic": self.claim.topic,
            "statement": self.claim.statement,
            "catalogue": list(self.claim.catalogue),
            "predicted": _plain(v.predicted),
            "measured": _plain(v.measured),
            "ci": None if v.ci is None else [_plain(x) for x in v.ci],
            "verdict": v.verdict,
            "expected": self.claim.expected,
            "rule": v.rule,
            "tightness": _plain(v.tightness),
            "min_detectable": _plain(v.min_detectable),
            "controls": [c.as_json() for c in self.controls],
            "seconds": round(self.seconds, 3),
            "details": v.details if not self.error else self.error,
            "notes": self.claim.notes,
        }


def _run_one(c: Claim, budget: Budget, seed: int, control: str | None) -> tuple[Verdict, float, str]:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    try:
        v = c.check(budget, rng, control)
        if not isinstance(v, Verdict):
            raise TypeError(f"check of {c.id} returned {type(v).__name__}, not Verdict")
        err = ""
    except Exception as exc:  # a broken check is reported, never hidden
        err = f"{type(exc).__name__}: {exc}"
        v = Verdict(predicted=None, measured=None, verdict="error",
                    details=err + "\n" + traceback.format_exc(limit=4))
    return v, time.perf_counter() - t0, err


def run_claim(c: Claim, budget: Budget | str = FULL, seed: int | None = None, *,
              controls: bool = True) -> CheckRecord:
    """Run one claim (and, unless ``controls=False``, each of its controls with the same seed),
    catching exceptions into ``"error"`` verdicts, and time it. ``seconds`` includes the controls."""
    from threadpoolctl import threadpool_limits

    if isinstance(budget, str):
        budget = Budget(budget)
    seed = _stable_seed(c.id) if seed is None else seed
    t0 = time.perf_counter()
    # Claims solve many small systems: one BLAS thread is several times faster than two threads
    # competing on a loaded 2-core machine (measured: 45 us vs 2.1 ms for a 12x12 lu_solve).
    with threadpool_limits(limits=1, user_api="blas"):
        v, _, err = _run_one(c, budget, seed, None)
        recs = []
        if controls and not c.uncheckable:
            for name, desc in c.controls.items():
                cv, secs, cerr = _run_one(c, budget, seed, name)
                recs.append(ControlRecord(name, desc, cv, secs, cerr,
                                          rejected=cv.verdict not in ("error", c.expected)))
    return CheckRecord(c, v, time.perf_counter() - t0, err, tuple(recs))
