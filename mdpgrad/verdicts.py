r"""Verdict rules shared by every claim: one place that says what "holds" means.

Four rules and one way to combine them. Each returns a :class:`Rule` (verdict, the rule in
words, and the strength of the test: tightness or the smallest detectable effect), so that the
claim table can say *what* was compared *in which direction*.

* :func:`bound_at_every_t` -- a deterministic bound :math:`m_t \le b_t` checked at every
  recorded :math:`t` (no violation allowed). ``tightness`` is :math:`\max_t m_t / b_t`: a bound
  that is never within a factor 100 of the measurement has little power against a wrong
  implementation, and the record says so.
* :func:`slope_in_band` -- a fitted rate (slope with confidence interval, :mod:`mdpgrad.rates`)
  against a *tolerance band* ``[lo, hi]`` stated by the claim: **holds** when the whole CI lies
  inside the band, **violated** when the CI and the band are disjoint, **inconclusive** when the
  CI straddles an edge. A wider CI can therefore never make "holds" easier. One-sided claims
  ("at least as fast as 1/t") use ``lo = -inf``; tight-rate claims use a two-sided band.
* :func:`unbiased` -- Monte Carlo means against exact values, :math:`\max_i |z_i|` at a stated
  family-wise level over the ``n`` coordinates (Bonferroni, :mod:`mdpgrad.stats`).
  ``min_detectable`` is the smallest bias (in units of the quantity) that the test detects with
  probability 0.8 at that level.
* :func:`at_most` / :func:`at_least` -- a scalar against a threshold (exact quantities).

:func:`combine` merges parts: an ``"error"`` anywhere is an error, then ``"violated"``, then
``"inconclusive"``, else ``"holds"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats

from .stats import ALPHA_4SE, bonferroni_z

__all__ = [
    "VERDICTS",
    "Rule",
    "combine",
    "holds_if",
    "bound_at_every_t",
    "slope_in_band",
    "unbiased",
    "min_detectable_effect",
    "at_most",
    "at_least",
]

#: Every verdict a check can return. ``"uncheckable"`` marks a claim recorded as not checkable as
#: stated (the reason is in the claim); it is never produced by a measurement.
VERDICTS = ("holds", "violated", "inconclusive", "error", "uncheckable")

_ORDER = {"error": 3, "violated": 2, "inconclusive": 1, "holds": 0}


@dataclass(frozen=True)
class Rule:
    """The outcome of one verdict rule.

    verdict : ``"holds"`` / ``"violated"`` / ``"inconclusive"``.
    rule : the comparison in words, e.g. ``"gap_t <= bound_t at every t"``.
    tightness : ``max measured / bound`` for bound rules (1 = tight), else ``None``.
    min_detectable : smallest effect the test detects (power 0.8) for statistical rules, else ``None``.
    """

    verdict: str
    rule: str
    tightness: float | None = None
    min_detectable: float | None = None


def combine(*verdicts) -> str:
    """Combine the verdicts of a claim's parts (strings or :class:`Rule`): error > violated >
    inconclusive > holds. An empty call is an error (a check that tested nothing)."""
    vs = [v.verdict if isinstance(v, Rule) else str(v) for v in verdicts]
    if not vs:
        return "error"
    for v in vs:
        if v not in _ORDER:
            raise ValueError(f"verdict {v!r} cannot be combined: choose one of {tuple(_ORDER)}")
    return max(vs, key=_ORDER.__getitem__)


def holds_if(ok: bool) -> str:
    """``"holds"`` if ``ok`` else ``"violated"``."""
    return "holds" if bool(ok) else "violated"


def bound_at_every_t(measured, bound, *, name: str = "gap_t", bound_name: str = "bound_t") -> Rule:
    """``measured[t] <= bound[t]`` for every ``t`` (arrays of equal shape, NaN in either is a
    violation). ``tightness = max_t measured/bound`` over the points where ``bound > 0``."""
    m = np.asarray(measured, dtype=float)
    b = np.asarray(bound, dtype=float)
    if m.shape != b.shape:
        raise ValueError(f"measured {m.shape} and bound {b.shape} must have the same shape")
    if m.size == 0:
        raise ValueError("bound_at_every_t needs at least one point")
    ok = bool(np.all(np.isfinite(m)) and np.all(np.isfinite(b)) and np.all(m <= b))
    pos = b > 0
    tight = float(np.max(m[pos] / b[pos])) if np.any(pos) else float("nan")
    return Rule(holds_if(ok), f"{name} <= {bound_name} at every t", tightness=tight)


def slope_in_band(fit, lo: float = -np.inf, hi: float = np.inf, *, what: str = "slope") -> Rule:
    """A fitted slope's CI against the claim's tolerance band ``[lo, hi]`` (see module docstring).

    ``fit`` is a :class:`mdpgrad.rates.RateFit` (or ``None``: too few points, inconclusive) or a
    ``(low, high)`` interval."""
    if lo > hi:
        raise ValueError(f"band [{lo}, {hi}] is empty: lo must be <= hi")
    if np.isfinite(lo) and np.isfinite(hi):
        words = f"{what} CI inside [{lo:.3g}, {hi:.3g}]"
    elif np.isfinite(hi):
        words = f"{what} CI <= {hi:.3g}"
    elif np.isfinite(lo):
        words = f"{what} CI >= {lo:.3g}"
    else:
        words = f"{what} (any)"
    if fit is None:
        return Rule("inconclusive", words + " (too few points to fit)")
    c_lo, c_hi = fit.ci if hasattr(fit, "ci") else fit
    if not (np.isfinite(c_lo) and np.isfinite(c_hi)):
        return Rule("inconclusive", words + " (CI not finite)")
    if lo <= c_lo and c_hi <= hi:
        return Rule("holds", words)
    if c_hi < lo or c_lo > hi:
        return Rule("violated", words)
    return Rule("inconclusive", words)


def min_detectable_effect(se, n_tests: int = 1, family_alpha: float = ALPHA_4SE, power: float = 0.8) -> float:
    """Smallest bias detected with probability ``power`` by a two-sided z test at the Bonferroni
    threshold: ``(z_thresh + Phi^{-1}(power)) * max(se)``."""
    se = np.asarray(se, dtype=float)
    return float((bonferroni_z(n_tests, family_alpha) + scipy.stats.norm.ppf(power)) * np.max(se))


def unbiased(samples, exact, *, family_alpha: float = ALPHA_4SE, what: str = "mean") -> Rule:
    """Monte Carlo samples ``samples[M, ...]`` against ``exact`` (broadcastable): holds when
    ``max |z| <= z_m`` with ``z_m`` the Bonferroni threshold over the coordinates."""
    from .stats import max_abs_z

    s = np.asarray(samples, dtype=float)
    z, _, se = max_abs_z(s, exact)
    n = int(np.prod(s.shape[1:])) if s.ndim > 1 else 1
    thr = bonferroni_z(n, family_alpha)
    return Rule(holds_if(z <= thr), f"max |z| of {what} <= {thr:.2f} (family level {family_alpha:.1e}, {n} coords)",
                min_detectable=min_detectable_effect(se, n, family_alpha))


def at_most(value: float, threshold: float, *, what: str = "value") -> Rule:
    """``value <= threshold`` (NaN is a violation); ``tightness = value / threshold``."""
    v = float(value)
    ok = np.isfinite(v) and v <= threshold
    tight = v / threshold if threshold > 0 and np.isfinite(v) else None
    return Rule(holds_if(ok), f"{what} <= {threshold:.3g}", tightness=tight)


def at_least(value: float, threshold: float, *, what: str = "value") -> Rule:
    """``value >= threshold`` (NaN is a violation)."""
    v = float(value)
    return Rule(holds_if(np.isfinite(v) and v >= threshold), f"{what} >= {threshold:.3g}")
