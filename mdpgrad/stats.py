r"""Monte Carlo statistics shared by the tests and the claims: CLT tolerances with a Bonferroni
correction.

A Monte Carlo mean :math:`\bar X` of :math:`M` i.i.d. samples is compared with an exact value
:math:`\mu` through :math:`z = |\bar X - \mu| / (s/\sqrt M)`. A single coordinate passes at
:math:`z \le 4` (two-sided false-alarm rate :math:`2\Phi(-4) \approx 6.3\times 10^{-5}`). Over
:math:`m` coordinates the threshold is raised so that the *family* false-alarm rate stays at a
chosen level :math:`\alpha` (Bonferroni): :math:`z_m = \Phi^{-1}(1 - \alpha / (2m))`.
"""

from __future__ import annotations

import numpy as np
import scipy.stats

from .errors import InvalidInputError
from .validation import as_float_array, check_float, check_int, check_nonnegative_float, check_simplex

__all__ = ["ALPHA_4SE", "bonferroni_z", "max_abs_z", "kl_divergence"]

#: Two-sided level of a single 4-standard-error test, 2 * Phi(-4) ~ 6.3e-5.
ALPHA_4SE = float(2 * scipy.stats.norm.sf(4.0))


def bonferroni_z(n_tests: int, family_alpha: float = ALPHA_4SE, floor: float = 0.0) -> float:
    """Two-sided normal threshold keeping the family-wise level ``family_alpha`` over ``n_tests``
    coordinates, never below ``floor``. With the default level, one coordinate gives exactly 4."""
    n = max(check_int(n_tests, "n_tests", minimum=0), 1)
    family_alpha = check_float(family_alpha, "family_alpha", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    floor = check_nonnegative_float(floor, "floor")
    return max(float(floor), float(scipy.stats.norm.isf(family_alpha / (2 * n))))


def max_abs_z(samples, exact):
    """``(max |z|, mean, se)`` of the per-coordinate Monte Carlo mean of ``samples[M, ...]``
    against ``exact``. A coordinate with zero sample variance gives ``z = inf`` if the mean
    differs from ``exact`` by more than 1e-12, else 0."""
    s = as_float_array(samples, "samples")
    if s.ndim == 0 or s.shape[0] < 2:
        raise InvalidInputError(f"samples: shape {s.shape}; a standard error needs M >= 2 samples on axis 0.")
    exact = as_float_array(exact, "exact")
    try:
        np.broadcast_shapes(s.shape[1:], exact.shape)
    except ValueError:
        raise InvalidInputError(f"exact: shape {exact.shape} does not match samples' {s.shape[1:]}.") from None
    M = s.shape[0]
    mean = s.mean(0)
    se = s.std(0, ddof=1) / np.sqrt(M)
    d = np.abs(mean - exact)
    ok = se > 0
    z = np.where(ok, d / np.where(ok, se, 1.0), np.where(d > 1e-12, np.inf, 0.0))
    return float(np.max(z)), mean, se


def kl_divergence(p, q, xp=np, *, check: bool = True):
    r"""The library's one KL divergence: :math:`\mathrm{KL}(p\|q) = \sum p \log(p/q)` along the last axis.

    Convention :math:`0 \log 0 = 0`; ``inf`` where ``q = 0 < p``. ``xp`` is the array module
    (NumPy or CuPy) of the inputs. Host inputs are checked to be distributions along the last axis
    with broadcastable shapes; ``check=False`` skips that (inner loops whose inputs are already checked).
    """
    if check and not any(hasattr(a, "__cuda_array_interface__") for a in (p, q)):
        p = as_float_array(p, "p")
        q = as_float_array(q, "q")
        if p.ndim == 0 or q.ndim == 0:
            raise InvalidInputError(f"p, q: expected distributions along the last axis, got shapes {p.shape}, "
                                    f"{q.shape}.")
        try:
            np.broadcast_shapes(p.shape, q.shape)
        except ValueError:
            raise InvalidInputError(f"p, q: shapes {p.shape} and {q.shape} do not broadcast.") from None
        check_simplex(p, "p")
        check_simplex(q, "q")
    with np.errstate(divide="ignore", invalid="ignore"):
        t = xp.where(p > 0, p * (xp.log(p) - xp.log(q)), 0.0)
    return xp.sum(t, axis=-1)
