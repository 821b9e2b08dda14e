"""Argument checks shared by every constructor and entry point.

Each check raises a specific :class:`~mdpgrad.errors.InvalidInputError` subclass whose
message states (1) the argument, (2) the offending index and value, (3) the fix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import InvalidInputError

#: Tolerance for "sums to one" checks: |sum - 1| <= PROB_ATOL.
PROB_ATOL = 1e-8


def as_float_array(x, name: str, *, error=InvalidInputError, ndim: int | None = None) -> np.ndarray:
    """Convert ``x`` to a float64 array, checking dimensionality and finiteness."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise error(f"{name}: could not convert to a float array ({exc}); pass a numeric array.") from None
    if ndim is not None and arr.ndim != ndim:
        raise error(
            f"{name}: expected a {ndim}-D array, got shape {arr.shape}; "
            f"reshape it to {ndim} dimensions."
        )
    check_finite(arr, name, error=error)
    return arr


def _fmt_index(idx: Sequence[int]) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def check_finite(arr: np.ndarray, name: str, *, error=InvalidInputError) -> None:
    """Raise if ``arr`` holds NaN or +-inf, naming the first bad index."""
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = np.argwhere(bad)[0]
        raise error(
            f"{name}{_fmt_index(idx)} = {float(arr[tuple(idx)])} is not finite "
            f"({int(bad.sum())} non-finite entries in total); replace NaN/inf with real numbers."
        )


def check_nonnegative(arr: np.ndarray, name: str, *, error=InvalidInputError, atol: float = 0.0) -> None:
    """Raise if any entry is below ``-atol``."""
    bad = arr < -atol
    if bad.any():
        idx = np.argwhere(bad)[0]
        raise error(
            f"{name}{_fmt_index(idx)} = {arr[tuple(idx)]:.6g} is negative; probabilities must be >= 0 "
            "(clip tiny round-off yourself only if you know it is round-off)."
        )


def check_simplex(arr: np.ndarray, name: str, *, error=InvalidInputError, atol: float = PROB_ATOL) -> None:
    """Raise unless every slice along the last axis is a probability vector.

    Entries must be finite and >= 0 and each slice must sum to 1 within ``atol``.
    Nothing is renormalized.
    """
    check_finite(arr, name, error=error)
    check_nonnegative(arr, name, error=error)
    if arr.shape[-1] == 0:
        raise error(f"{name}: the last axis is empty (shape {arr.shape}); a distribution needs >= 1 outcome.")
    sums = arr.sum(axis=-1)
    bad = np.abs(sums - 1.0) > atol
    if bad.any():
        idx = np.argwhere(np.atleast_1d(bad))[0] if sums.ndim else np.array([], dtype=int)
        s = float(np.atleast_1d(sums)[tuple(idx)] if sums.ndim else sums)
        where = f"{name}{_fmt_index(idx)}" if sums.ndim else name
        raise error(
            f"{where} sums to {s:.12g}, not 1 (tolerance {atol:g}; {int(np.sum(bad))} bad rows); "
            f"normalize it yourself, e.g. {name} / {name}.sum(axis=-1, keepdims=True), if that is what you mean."
        )


def check_gamma(gamma, *, error=InvalidInputError, name: str = "gamma") -> float:
    """Return ``gamma`` as a float after checking 0 <= gamma < 1."""
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise error(f"{name} = {gamma!r} is not a number; pass a float in [0, 1).") from None
    if not np.isfinite(g) or g < 0.0 or g >= 1.0:
        raise error(f"{name} = {gamma!r} is outside [0, 1); use a discount such as 0.9 or 0.99.")
    return g


def check_shape(arr: np.ndarray, shape: tuple, name: str, *, error=InvalidInputError, hint: str = "") -> None:
    """Raise unless ``arr.shape == shape`` (``None`` entries match anything)."""
    ok = arr.ndim == len(shape) and all(e is None or e == s for e, s in zip(shape, arr.shape))
    if not ok:
        parts = ["*" if e is None else str(e) for e in shape]
        want = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        raise error(f"{name}: expected shape {want}, got {arr.shape}. {hint}".rstrip())


def check_positive_int(n, name: str, *, error=InvalidInputError, minimum: int = 1) -> int:
    """Return ``n`` as an int after checking it is an integer >= ``minimum``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise error(f"{name} = {n!r} must be an integer >= {minimum}.")
    if n < minimum:
        raise error(f"{name} = {n} must be >= {minimum}.")
    return int(n)


def check_probability(p, name: str, *, error=InvalidInputError, open_right: bool = False) -> float:
    """Return a scalar probability in [0, 1] (or [0, 1) when ``open_right``)."""
    try:
        x = float(p)
    except (TypeError, ValueError):
        raise error(f"{name} = {p!r} is not a number; pass a float in [0, 1].") from None
    hi_ok = x < 1.0 if open_right else x <= 1.0
    if not np.isfinite(x) or x < 0.0 or not hi_ok:
        rng = "[0, 1)" if open_right else "[0, 1]"
        raise error(f"{name} = {p!r} is outside {rng}.")
    return x
