"""The one validation layer: every argument check of every public entry point.

Each check raises a specific :class:`~mdpgrad.errors.InvalidInputError` subclass (a
``ValueError``) whose message states (1) the argument, (2) the offending index and value,
(3) the fix. Nothing is renormalized, clipped or coerced silently: complex input is
refused (not cast with a ``ComplexWarning``), probabilities must already sum to one,
indices must be in range before any compiled kernel sees them.

Groups of checks:

* arrays: :func:`as_float_array`, :func:`check_finite`, :func:`check_shape`,
  :func:`check_nonnegative`, :func:`check_simplex`, :func:`check_distribution`,
  :func:`check_policy`;
* scalars: :func:`check_gamma`, :func:`check_probability`, :func:`check_float`,
  :func:`check_positive_float` (tolerances, step sizes, temperatures),
  :func:`check_nonnegative_float` (radii, penalties);
* integers: :func:`check_positive_int` (counts, horizons), :func:`check_int`,
  :func:`check_index` (states, actions), :func:`check_choice` (string options);
* randomness: :func:`as_generator` (the one seeding function);
* memory: :func:`check_allocation` (a pre-flight size estimate instead of a ``MemoryError``).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence

import numpy as np

from .errors import (
    AllocationTooLargeError,
    InvalidInputError,
    InvalidPolicyError,
)

__all__ = [
    "PROB_ATOL",
    "MAX_ABS",
    "as_float_array",
    "as_generator",
    "check_allocation",
    "check_choice",
    "check_distribution",
    "check_finite",
    "check_float",
    "check_gamma",
    "check_index",
    "check_int",
    "check_nonnegative",
    "check_nonnegative_float",
    "check_policy",
    "check_positive_float",
    "check_positive_int",
    "check_rollouts",
    "check_real_finite",
    "check_indices",
    "check_probability",
    "check_shape",
    "check_simplex",
    "roundoff_floor",
    "max_bytes",
]

#: Tolerance for "sums to one" checks: |sum - 1| <= PROB_ATOL.
PROB_ATOL = 1e-8

#: Largest magnitude accepted for any input number: beyond it products and squares overflow float64
#: (1e150^2 is still finite), so results would silently become inf/NaN. Rescale the problem instead.
MAX_ABS = 1e150

_NUMERIC_KINDS = "biuf"


# --------------------------------------------------------------------------------------------
# arrays
# --------------------------------------------------------------------------------------------
def as_float_array(x, name: str, *, error=InvalidInputError, ndim: int | None = None,
                   shape: tuple | None = None) -> np.ndarray:
    """Convert ``x`` to a float64 array, refusing complex/non-numeric dtypes, checking ndim, shape, finiteness."""
    arr = _as_float(x, name, error)
    if ndim is not None and arr.ndim != ndim:
        raise error(
            f"{name}: expected a {ndim}-D array, got shape {arr.shape}; "
            f"reshape it to {ndim} dimensions."
        )
    if shape is not None:
        check_shape(arr, shape, name, error=error)
    check_finite(arr, name, error=error)
    return arr


def _as_float(x, name: str, error) -> np.ndarray:
    """float64 conversion with the dtype checks of :func:`as_float_array` (finiteness not checked)."""
    if type(x) is np.ndarray and x.dtype == np.float64:  # fast path: nothing to convert
        return x
    if isinstance(x, (str, bytes)):
        raise error(f"{name} = {x!r} is a string; pass a real numeric array.")
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise error(f"{name}: could not convert to an array ({exc}); pass a rectangular numeric array.") from None
    if raw.dtype.kind == "c" or (raw.dtype.kind == "O" and any(isinstance(v, complex) for v in raw.ravel()[:1000])):
        raise error(f"{name}: complex values (dtype {raw.dtype}) are not allowed; pass the real part "
                    f"(np.real({name})) if the imaginary part is zero.")
    if raw.dtype.kind not in _NUMERIC_KINDS + "O":
        raise error(f"{name}: dtype {raw.dtype} is not numeric; pass a real float array.")
    try:
        return np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise error(f"{name}: could not convert to a float array ({exc}); pass a numeric array.") from None


def check_real_finite(x, name: str, *, error=InvalidInputError):
    """Check a host array is real, numeric and finite *without* changing its dtype (float32 stays float32).

    Device arrays (CuPy, anything with ``__cuda_array_interface__``) are returned unchecked: copying
    them to the host to validate would cost more than the computation.
    """
    if hasattr(x, "__cuda_array_interface__"):
        return x
    raw = np.asarray(x)
    if raw.dtype.kind not in _NUMERIC_KINDS:
        as_float_array(raw, name, error=error)  # raises the precise complex / non-numeric message
    check_finite(raw, name, error=error)
    return x


def _fmt_index(idx: Sequence[int]) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def check_finite(arr: np.ndarray, name: str, *, error=InvalidInputError) -> None:
    """Raise if ``arr`` holds NaN or +-inf, naming the first bad index."""
    arr = np.asarray(arr)
    if arr.dtype.kind == "c":
        raise error(f"{name}: complex values (dtype {arr.dtype}) are not allowed; pass a real array.")
    if arr.dtype.kind in "iub" or arr.size == 0:
        return
    # fast path: two reductions, no temporaries (NaN propagates into both); compared as Python floats, since
    # MAX_ABS cast to a float32 array's dtype would overflow
    lo, hi = float(arr.min()), float(arr.max())
    if lo >= -MAX_ABS and hi <= MAX_ABS:
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = np.argwhere(bad)[0] if arr.ndim else []
        val = float(arr[tuple(idx)]) if arr.ndim else float(arr)
        raise error(
            f"{name}{_fmt_index(idx)} = {val} is not finite "
            f"({int(bad.sum())} non-finite entries in total); replace NaN/inf with real numbers."
        )
    if arr.dtype.kind == "f" and arr.dtype.itemsize >= 8:  # narrower floats cannot exceed MAX_ABS
        big = np.abs(arr) > MAX_ABS
        if big.any():
            idx = np.argwhere(big)[0] if arr.ndim else []
            val = float(arr[tuple(idx)]) if arr.ndim else float(arr)
            raise error(f"{name}{_fmt_index(idx)} = {val:.3g} exceeds {MAX_ABS:g} in magnitude (products would "
                        "overflow float64); rescale the input.")


def check_nonnegative(arr: np.ndarray, name: str, *, error=InvalidInputError, atol: float = 0.0) -> None:
    """Raise if any entry is below ``-atol``."""
    arr = np.asarray(arr)
    bad = arr < -atol
    if bad.any():
        idx = np.argwhere(bad)[0] if arr.ndim else []
        val = arr[tuple(idx)] if arr.ndim else arr
        raise error(
            f"{name}{_fmt_index(idx)} = {float(val):.6g} is negative; probabilities must be >= 0 "
            "(clip tiny round-off yourself only if you know it is round-off)."
        )


def check_simplex(arr: np.ndarray, name: str, *, error=InvalidInputError, atol: float = PROB_ATOL) -> None:
    """Raise unless every slice along the last axis is a probability vector.

    Entries must be finite and >= 0 and each slice must sum to 1 within ``atol``.
    Nothing is renormalized.
    """
    arr = np.asarray(arr)
    check_finite(arr, name, error=error)
    if arr.size == 0 or arr.min() < 0:
        check_nonnegative(arr, name, error=error)
    if arr.ndim == 0:
        raise error(f"{name}: expected a distribution (an array), got the scalar {float(arr)!r}.")
    if arr.shape[-1] == 0:
        raise error(f"{name}: the last axis is empty (shape {arr.shape}); a distribution needs >= 1 outcome.")
    # A matrix-vector product: much faster than arr.sum(axis=-1) over a short last axis (a batch of policies).
    sums = arr @ np.ones(arr.shape[-1]) if arr.dtype == np.float64 else arr.sum(axis=-1)
    bad = np.abs(sums - 1.0) > atol
    if bad.any():
        idx = np.argwhere(np.atleast_1d(bad))[0] if sums.ndim else np.array([], dtype=int)
        s = float(np.atleast_1d(sums)[tuple(idx)] if sums.ndim else sums)
        where = f"{name}{_fmt_index(idx)}" if sums.ndim else name
        raise error(
            f"{where} sums to {s:.12g}, not 1 (tolerance {atol:g}; {int(np.sum(bad))} bad rows); "
            f"normalize it yourself, e.g. {name} / {name}.sum(axis=-1, keepdims=True), if that is what you mean."
        )


def check_distribution(p, name: str, *, size: int | None = None, ndim: int = 1,
                       error=InvalidInputError) -> np.ndarray:
    """Return ``p`` as float64 after checking it is a (batch of) probability vector(s) along the last axis."""
    arr = as_float_array(p, name, error=error, ndim=ndim)
    if size is not None and arr.shape[-1] != size:
        raise error(f"{name}: expected {size} probabilities along the last axis, got shape {arr.shape}.")
    check_simplex(arr, name, error=error)
    return arr


def check_shape(arr: np.ndarray, shape: tuple, name: str, *, error=InvalidInputError, hint: str = "") -> None:
    """Raise unless ``arr.shape == shape`` (``None`` entries match anything)."""
    ok = arr.ndim == len(shape) and all(e is None or e == s for e, s in zip(shape, arr.shape))
    if not ok:
        parts = ["*" if e is None else str(e) for e in shape]
        want = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        raise error(f"{name}: expected shape {want}, got {arr.shape}. {hint}".rstrip())


def check_policy(pi, S: int, A: int, *, name: str = "pi", batched: bool = False) -> np.ndarray:
    """Validate a policy ``pi[s, a]`` (or a batch ``pi[b, s, a]``) and return it as float64."""
    pi = _as_float(pi, name, InvalidPolicyError)  # finiteness: checked by check_simplex below
    want = (S, A) if not batched else (None, S, A)
    ok = pi.ndim == len(want) and pi.shape[-2:] == (S, A)
    if not ok:
        lead = "(B, " if batched else "("
        raise InvalidPolicyError(
            f"{name}: expected shape {lead}{S}, {A}) = (states, actions) for this MDP, got {pi.shape}."
        )
    check_simplex(pi, name, error=InvalidPolicyError)
    return pi


# --------------------------------------------------------------------------------------------
# scalars
# --------------------------------------------------------------------------------------------
def _as_real(x, name: str, error, want: str) -> float:
    if isinstance(x, (complex, np.complexfloating)):
        raise error(f"{name} = {x!r} is complex; pass a real number ({want}).")
    if isinstance(x, (str, bytes)) or x is None:
        raise error(f"{name} = {x!r} is not a number; pass {want}.")
    if isinstance(x, np.ndarray) and x.ndim != 0:
        raise error(f"{name}: expected a scalar, got an array of shape {x.shape}; pass {want}.")
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        raise error(f"{name} = {x!r} is not a number; pass {want}.") from None


def check_float(x, name: str, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
                hi_open: bool = False, error=InvalidInputError, what: str = "") -> float:
    """Return ``x`` as a finite float inside ``[lo, hi]`` (ends open when asked)."""
    lb = "(" if lo_open else "["
    rb = ")" if hi_open or hi is None else "]"
    lb = "(" if lo is None else lb
    interval = f"{lb}{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}{rb}"
    want = f"a finite float in {interval}" + (f" ({what})" if what else "")
    v = _as_real(x, name, error, want)
    if not math.isfinite(v):
        raise error(f"{name} = {x!r} is not finite; pass {want}.")
    if abs(v) > MAX_ABS:
        raise error(f"{name} = {x!r} exceeds {MAX_ABS:g} in magnitude (it would overflow float64); pass {want}.")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise error(f"{name} = {x!r} is outside {interval}; pass {want}.")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise error(f"{name} = {x!r} is outside {interval}; pass {want}.")
    return v


def check_positive_float(x, name: str, *, hi: float | None = None, error=InvalidInputError, what: str = "") -> float:
    """A finite float ``> 0`` (and ``<= hi``): tolerances, step sizes, temperatures."""
    return check_float(x, name, lo=0.0, lo_open=True, hi=hi, error=error, what=what)


def check_nonnegative_float(x, name: str, *, hi: float | None = None, error=InvalidInputError,
                            what: str = "") -> float:
    """A finite float ``>= 0`` (and ``<= hi``): radii, penalties, ridge terms."""
    return check_float(x, name, lo=0.0, hi=hi, error=error, what=what)


def check_gamma(gamma, *, error=InvalidInputError, name: str = "gamma") -> float:
    """Return ``gamma`` as a float after checking 0 <= gamma < 1."""
    g = _as_real(gamma, name, error, "a float in [0, 1)")
    if not np.isfinite(g) or g < 0.0 or g >= 1.0:
        raise error(f"{name} = {gamma!r} is outside [0, 1); use a discount such as 0.9 or 0.99.")
    return g


def check_probability(p, name: str, *, error=InvalidInputError, open_right: bool = False) -> float:
    """Return a scalar probability in [0, 1] (or [0, 1) when ``open_right``)."""
    x = _as_real(p, name, error, "a float in [0, 1]")
    hi_ok = x < 1.0 if open_right else x <= 1.0
    if not np.isfinite(x) or x < 0.0 or not hi_ok:
        rng = "[0, 1)" if open_right else "[0, 1]"
        raise error(f"{name} = {p!r} is outside {rng}.")
    return x


# --------------------------------------------------------------------------------------------
# integers
# --------------------------------------------------------------------------------------------
def _is_int(n) -> bool:
    return isinstance(n, (numbers.Integral, np.integer)) and not isinstance(n, (bool, np.bool_))


def check_int(n, name: str, *, minimum: int | None = None, maximum: int | None = None,
              error=InvalidInputError, what: str = "") -> int:
    """Return ``n`` as an int after checking ``minimum <= n <= maximum`` (floats such as 3.0 are refused)."""
    extra = f" ({what})" if what else ""
    if not _is_int(n):
        lo = f" >= {minimum}" if minimum is not None else ""
        raise error(f"{name} = {n!r} must be an integer{lo}{extra}; pass e.g. int({name}).")
    if minimum is not None and n < minimum:
        raise error(f"{name} = {n} must be >= {minimum}{extra}.")
    if maximum is not None and n > maximum:
        raise error(f"{name} = {n} must be <= {maximum}{extra}.")
    return int(n)


def check_positive_int(n, name: str, *, error=InvalidInputError, minimum: int = 1) -> int:
    """Return ``n`` as an int after checking it is an integer >= ``minimum`` (counts, horizons, max_iter)."""
    return check_int(n, name, minimum=minimum, error=error)


def check_index(i, name: str, n: int, *, error=InvalidInputError, what: str = "index") -> int:
    """Return ``i`` as an int after checking ``0 <= i < n`` (negative indices are refused, not wrapped)."""
    if not _is_int(i):
        raise error(f"{name} = {i!r} must be an integer {what} in [0, {n}).")
    if not 0 <= i < n:
        raise error(f"{name} = {i} is out of range: a {what} must be in [0, {n}) (negative indices do not wrap).")
    return int(i)


def check_indices(arr, name: str, n: int, *, error=InvalidInputError, what: str = "index") -> np.ndarray:
    """Return an int64 array after checking every entry is an integer in ``[0, n)``."""
    a = np.asarray(arr)
    if a.dtype.kind not in "iu":
        if a.dtype.kind == "f" and a.size and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        elif a.size:
            raise error(f"{name}: expected integer {what}s, got dtype {a.dtype}; pass an int array.")
        else:
            a = a.astype(np.int64)
    bad = (a < 0) | (a >= n)
    if bad.any():
        idx = np.argwhere(bad)[0] if a.ndim else []
        val = a[tuple(idx)] if a.ndim else a
        raise error(f"{name}{_fmt_index(idx)} = {int(val)} is out of range: a {what} must be in [0, {n}).")
    return a.astype(np.int64, copy=False)


def check_rollouts(ro, S: int, A: int, *, name: str = "ro"):
    """Check a batch of trajectories (``states``, ``actions``, ``lengths``) against an ``(S, A)`` model.

    Every valid step's state must be in ``[0, S)`` and action in ``[0, A)``, lengths in ``[0, T]``:
    compiled accumulation kernels index with them unchecked.
    """
    for attr in ("states", "actions", "lengths"):
        if not hasattr(ro, attr):
            raise InvalidInputError(f"{name}: expected a Rollouts (from sample_trajectories), got "
                                    f"{type(ro).__name__} without .{attr}.")
    states, actions, lengths = np.asarray(ro.states), np.asarray(ro.actions), np.asarray(ro.lengths)
    if actions.ndim != 2 or states.ndim != 2 or lengths.shape != (actions.shape[0],):
        raise InvalidInputError(f"{name}: inconsistent shapes states {states.shape}, actions {actions.shape}, "
                                f"lengths {lengths.shape}; build it with sample_trajectories.")
    T = actions.shape[1]
    lengths = check_indices(lengths, f"{name}.lengths", T + 1, what="length")
    mask = np.arange(T)[None, :] < lengths[:, None]
    if states.shape[1] < T:
        raise InvalidInputError(f"{name}.states: expected at least {T} columns, got {states.shape[1]}.")
    check_indices(np.where(mask, states[:, :T], 0), f"{name}.states", S,
                  what=f"state index for a model with {S} states (theta/policy has the wrong shape?)")
    check_indices(np.where(mask, actions, 0), f"{name}.actions", A,
                  what=f"action index for a model with {A} actions (theta/policy has the wrong shape?)")
    return ro


def check_choice(value, name: str, choices: Sequence[str], *, error=InvalidInputError) -> str:

    """Return ``value`` after checking it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise error(f"{name} = {value!r} is not one of {tuple(choices)}; pick one of those.")
    return value


# --------------------------------------------------------------------------------------------
# randomness
# --------------------------------------------------------------------------------------------
def as_generator(seed, name: str = "seed") -> np.random.Generator:
    """The one seeding function: a ``Generator`` from an int >= 0, a ``SeedSequence`` or a ``Generator``.

    ``None`` is refused (results must be reproducible, so pass a seed explicitly), and so are
    floats, bools and negative ints.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise InvalidInputError(f"{name}: pass an int seed or a numpy.random.Generator "
                                "(None would not be reproducible).")
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if _is_int(seed):
        if seed < 0:
            raise InvalidInputError(f"{name} = {seed} is negative; pass an int seed >= 0 or a numpy.random.Generator.")
        return np.random.default_rng(int(seed))
    raise InvalidInputError(f"{name} = {seed!r} ({type(seed).__name__}): expected an int >= 0 "
                            "or a numpy.random.Generator.")


def roundoff_floor(gamma: float, vmax: float) -> float:
    r"""The smallest sup-norm error float64 can certify for a discounted fixed point.

    :math:`4\epsilon(1 + \max_s|v_s|)/(1-\gamma)`: a Bellman residual carries errors of a few ulps
    of ``v``, and the residual bound :math:`\|v - v^*\| \le \|Tv - v\|/(1-\gamma)` amplifies them by
    :math:`1/(1-\gamma)`. Solvers never report an ``error_bound`` below it.
    """
    return float(4.0 * np.finfo(np.float64).eps * (1.0 + float(vmax)) / (1.0 - float(gamma)))


# --------------------------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------------------------
def max_bytes() -> int:
    """The allocation limit: ``MDPGRAD_MAX_BYTES`` when set, else half the available memory."""
    env = os.environ.get("MDPGRAD_MAX_BYTES")
    if env:
        try:
            return int(float(env))
        except ValueError:
            pass
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            avail = 16 * 2**30
    return int(avail // 2)


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_allocation(shape, what: str, knob: str, *, itemsize: int = 8, count: int = 1) -> None:
    """Raise :class:`AllocationTooLargeError` when ``count`` arrays of ``shape`` would exceed :func:`max_bytes`.

    ``what`` names the array (e.g. ``"trajectory buffer (n, T, 3)"``) and ``knob`` the argument to turn.
    """
    n = float(count) * float(itemsize)
    for d in shape:
        n *= float(d)
    limit = max_bytes()
    if n > limit:
        raise AllocationTooLargeError(
            f"{what} would need {_fmt_bytes(n)} (shape {tuple(int(d) for d in shape)}), more than the "
            f"{_fmt_bytes(limit)} allowed; reduce {knob} (or set MDPGRAD_MAX_BYTES to raise the limit)."
        )
