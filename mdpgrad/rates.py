r"""Rate fitting with confidence intervals, over windows chosen by a fixed rule.

Two models:

* **power law** (sublinear rates): :math:`\log y_t = c + \alpha \log t`; the slope
  :math:`\alpha` is the exponent (``-1`` for O(1/t));
* **exponential** (linear rates): :math:`\log y_t = c + t \log\kappa`; the slope is
  :math:`\log\kappa` and ``rate = exp(slope)`` is the contraction factor.

The window rule (documented, the same for every claim, never tuned per claim):

1. drop non-finite and non-positive points;
2. drop points at or below the **floating-point floor**:
   ``y <= floor_factor * eps * max(1, |scale|)`` where ``scale`` is the first value of
   the sequence (default factor 1e3, i.e. ~2e-13 relative), and everything after the
   first such point (the sequence has hit round-off);
3. drop the **burn-in**: the first ``burn_in`` fraction of the remaining range, measured
   in ``log t`` for power laws and in ``t`` for exponentials (default 0.5: the late half);
4. require at least ``min_points`` points (default 5), else the fit is ``None``.

The confidence interval is the ordinary least-squares interval for the slope with a
Student-t quantile (level 0.95 by default). For deterministic sequences the residuals
measure curvature rather than noise, so a wide CI is a sign that the window still contains
a transient, which is exactly what a reader should see.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats

from .errors import InvalidInputError
from .validation import as_float_array, check_choice, check_float, check_int, check_nonnegative_float

__all__ = ["RateFit", "fit_power_law", "fit_exponential", "fit_window", "compare_exponent"]

EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class RateFit:
    """A fitted slope with its confidence interval and the window used."""

    slope: float
    intercept: float
    ci: tuple[float, float]
    stderr: float
    n_points: int
    window: tuple[float, float]
    model: str  # "power" or "exponential"
    level: float = 0.95

    @property
    def rate(self) -> float:
        """Contraction factor ``exp(slope)`` (exponential model)."""
        return float(np.exp(self.slope))

    @property
    def rate_ci(self) -> tuple[float, float]:
        return float(np.exp(self.ci[0])), float(np.exp(self.ci[1]))

    def predict(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        x = np.log(t) if self.model == "power" else t
        return np.exp(self.intercept + self.slope * x)

    def covers(self, value: float) -> bool:
        return self.ci[0] <= value <= self.ci[1]


def fit_window(t, y, *, model: str = "power", burn_in: float = 0.5, floor_factor: float = 1e3,
               scale: float | None = None) -> np.ndarray:
    """Boolean mask of the points the window rule keeps (see module docstring)."""
    t, y = _series(t, "t"), _series(y, "y")
    if t.shape != y.shape or t.ndim != 1:
        raise InvalidInputError(f"t and y must be 1-D of equal length, got {t.shape} and {y.shape}")
    check_choice(model, "model", ("power", "exponential"))
    burn_in = check_float(burn_in, "burn_in", lo=0.0, hi=1.0, hi_open=True, what="fraction of the range dropped")
    floor_factor = check_nonnegative_float(floor_factor, "floor_factor")
    if scale is not None:
        scale = check_float(scale, "scale")
    keep = np.isfinite(y) & np.isfinite(t) & (y > 0)
    if model == "power":
        keep &= t > 0
    if scale is None:
        finite = y[np.isfinite(y)]
        scale = float(np.abs(finite[0])) if finite.size else 1.0
    floor = floor_factor * EPS * max(1.0, abs(scale))
    hit = np.nonzero(np.isfinite(y) & (y <= floor))[0]
    if hit.size:
        keep[hit[0]:] = False
    if not keep.any():
        return keep
    x = np.log(t) if model == "power" else t
    lo, hi = x[keep].min(), x[keep].max()
    keep &= x >= lo + burn_in * (hi - lo)
    return keep


def ols(x, z, level):
    """Least squares ``z = intercept + slope x``: ``(slope, intercept, se(slope), t-interval at level)``."""
    n = x.size
    xm = x.mean()
    sxx = np.sum((x - xm) ** 2)
    slope = np.sum((x - xm) * (z - z.mean())) / sxx
    intercept = z.mean() - slope * xm
    resid = z - (intercept + slope * x)
    dof = n - 2
    s2 = np.sum(resid**2) / dof if dof > 0 else np.inf
    se = float(np.sqrt(s2 / sxx))
    q = scipy.stats.t.ppf(0.5 + level / 2.0, dof)
    return float(slope), float(intercept), se, (float(slope - q * se), float(slope + q * se))


def _series(x, name: str) -> np.ndarray:
    """A real series; NaN/inf entries are allowed (the window rule drops them), complex or text is not."""
    raw = np.asarray(x) if x is not None else np.asarray(np.nan)
    if raw.dtype.kind not in "biuf":
        as_float_array(raw, name)  # raises the precise dtype error
    return raw.astype(np.float64)


def _fit(t, y, model, burn_in, floor_factor, level, min_points, scale):
    level = check_float(level, "level", lo=0.0, hi=1.0, lo_open=True, hi_open=True, what="confidence level")
    min_points = check_int(min_points, "min_points", minimum=3, what="an OLS fit with a CI needs 3 points")
    t, y = _series(t, "t"), _series(y, "y")
    keep = fit_window(t, y, model=model, burn_in=burn_in, floor_factor=floor_factor, scale=scale)
    if keep.sum() < min_points:
        return None
    if np.ptp(t[keep]) == 0:  # one abscissa repeated: no slope to fit
        return None
    x = np.log(t[keep]) if model == "power" else t[keep]
    z = np.log(y[keep])
    slope, intercept, se, ci = ols(x, z, level)
    return RateFit(slope, intercept, ci, se, int(keep.sum()), (float(t[keep][0]), float(t[keep][-1])),
                   model, level)


def fit_power_law(t, y, *, burn_in: float = 0.5, floor_factor: float = 1e3, level: float = 0.95,
                  min_points: int = 5, scale: float | None = None) -> RateFit | None:
    """Fit ``log y = c + slope * log t`` over the rule-chosen window; ``None`` if too few points."""
    return _fit(t, y, "power", burn_in, floor_factor, level, min_points, scale)


def fit_exponential(t, y, *, burn_in: float = 0.5, floor_factor: float = 1e3, level: float = 0.95,
                    min_points: int = 5, scale: float | None = None) -> RateFit | None:
    """Fit ``log y = c + slope * t`` (slope = log of the contraction factor)."""
    return _fit(t, y, "exponential", burn_in, floor_factor, level, min_points, scale)


def compare_exponent(fit: RateFit | None, predicted: float, *, sided: str = "upper",
                     tol: float = 0.0) -> str:
    """Verdict for a fitted slope against a predicted one.

    ``sided="upper"``: the claim is an upper bound on the slope (decay at least as fast as
    predicted, e.g. O(1/t) means slope <= -1): *violated* if the whole CI lies above
    ``predicted + tol``, *holds* if the CI's upper end is <= ``predicted + tol`` or the CI
    covers ``predicted``, otherwise *inconclusive*.
    ``sided="two"``: *holds* if the CI (widened by ``tol``) covers ``predicted``, *violated*
    otherwise. ``sided="lower"`` mirrors ``"upper"``.
    """
    check_choice(sided, "sided", ("upper", "lower", "two"))
    predicted = check_float(predicted, "predicted")
    tol = check_nonnegative_float(tol, "tol")
    if fit is None:
        return "inconclusive"
    if not isinstance(fit, RateFit):
        raise InvalidInputError(f"fit: expected a RateFit (from fit_power_law / fit_exponential) or None, got "
                                f"{type(fit).__name__}.")
    lo, hi = fit.ci
    if sided == "two":
        return "holds" if lo - tol <= predicted <= hi + tol else "violated"
    if sided == "upper":
        if lo > predicted + tol:
            return "violated"
        return "holds" if (hi <= predicted + tol or lo <= predicted <= hi) else "inconclusive"
    if sided == "lower":
        if hi < predicted - tol:
            return "violated"
        return "holds" if (lo >= predicted - tol or lo <= predicted <= hi) else "inconclusive"
    raise ValueError(f"sided = {sided!r}: choose 'upper', 'lower' or 'two'")
