"""The backend seam: one interface, three implementations (NumPy, Numba, CuPy).

Modelled on POT's ``nx``: algorithms are written once against a :class:`Backend` and run
on whichever one :func:`get_backend` returns. A backend exposes

* ``xp`` -- the array module (``numpy`` or ``cupy``) for vectorized code;
* ``asarray`` / ``to_numpy`` -- moving data in and out;
* named kernels (``bellman_max``, ...) that compiled backends implement natively.

Kernels that later modules add follow the same pattern: a NumPy reference, a Numba
kernel (``cache=True``) and, where it pays, a CuPy version behind the same method name;
tests run every available backend on the same inputs and check they agree.

CuPy is optional: ``get_backend("cupy")`` raises :class:`BackendUnavailableError` with a
reason when CuPy or a CUDA device is missing, and ``available_backends()`` lists what works.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .errors import BackendUnavailableError, InvalidInputError

__all__ = ["Backend", "get_backend", "available_backends", "cupy_status"]


class Backend:
    """NumPy reference backend."""

    name = "numpy"

    def __init__(self):
        self.xp = np

    def asarray(self, x, dtype=None):
        return np.asarray(x, dtype=dtype)

    def to_numpy(self, x) -> np.ndarray:
        return np.asarray(x)

    # --- kernels -------------------------------------------------------------------------
    def bellman_max(self, P2, r, gamma: float, v):
        """``max_a r[s, a] + gamma * (P2 @ v).reshape(S, A)[s, a]`` with ``P2 = P.reshape(S*A, S)``."""
        S, A = r.shape
        return np.max(r + gamma * (P2 @ v).reshape(S, A), axis=1)

    def solve(self, M, b):
        """Batched linear solve ``M x = b`` (never an explicit inverse)."""
        return self.xp.linalg.solve(M, b)

    def __repr__(self) -> str:
        return f"<mdpgrad backend {self.name}>"


class NumbaBackend(Backend):
    """CPU kernels compiled with Numba (parallel over states, ``cache=True``)."""

    name = "numba"

    def bellman_max(self, P2, r, gamma, v):
        from .kernels.vi import bellman_max_numba

        S, A = r.shape
        return bellman_max_numba(P2, r, float(gamma), np.ascontiguousarray(v))


class CupyBackend(Backend):
    """GPU backend through CuPy (arrays live on the device; ``to_numpy`` copies back)."""

    name = "cupy"

    def __init__(self):
        import cupy  # noqa: PLC0415

        self.xp = cupy

    def asarray(self, x, dtype=None):
        return self.xp.asarray(x, dtype=dtype)

    def to_numpy(self, x) -> np.ndarray:
        return self.xp.asnumpy(x)

    def bellman_max(self, P2, r, gamma, v):
        xp = self.xp
        S, A = r.shape
        P2, r, v = xp.asarray(P2), xp.asarray(r), xp.asarray(v)
        return self.to_numpy(xp.max(r + gamma * (P2 @ v).reshape(S, A), axis=1))


@functools.lru_cache(maxsize=1)
def cupy_status() -> tuple[bool, str]:
    """``(available, reason)`` for the CuPy backend; never raises."""
    try:
        import cupy  # noqa: PLC0415
    except Exception as exc:  # ImportError or a broken CUDA install
        return False, f"CuPy is not importable ({type(exc).__name__}: {exc}); pip install mdpgrad[gpu]"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return False, f"CuPy found no CUDA device ({type(exc).__name__}: {exc})"
    if n < 1:
        return False, "CuPy found no CUDA device"
    return True, f"CuPy {cupy.__version__}, {n} CUDA device(s)"


@functools.cache
def _make(name: str) -> Backend:
    if name == "numpy":
        return Backend()
    if name == "numba":
        return NumbaBackend()
    if name == "cupy":
        ok, why = cupy_status()
        if not ok:
            raise BackendUnavailableError(f"backend 'cupy' unavailable: {why}")
        return CupyBackend()
    raise InvalidInputError(f"backend = {name!r} is not known; choose 'numpy', 'numba', 'cupy' or 'auto'.")


def get_backend(spec: Any = "numpy") -> Backend:
    """Return a backend from a name (``"numpy"``, ``"numba"``, ``"cupy"``, ``"auto"``), a
    :class:`Backend`, or an array (CuPy arrays select CuPy, anything else NumPy).

    ``"auto"`` picks CuPy when a GPU is usable, else Numba.
    """
    if isinstance(spec, Backend):
        return spec
    if isinstance(spec, str):
        if spec == "auto":
            return _make("cupy") if cupy_status()[0] else _make("numba")
        return _make(spec)
    if type(spec).__module__.startswith("cupy"):
        return _make("cupy")
    return _make("numpy")


def available_backends() -> list[str]:
    """Names of the backends usable on this machine."""
    names = ["numpy", "numba"]
    if cupy_status()[0]:
        names.append("cupy")
    return names
