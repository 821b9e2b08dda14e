"""The backend seam: a backend object carries its kernel table (NumPy, Numba, CuPy).

Modelled on POT's ``nx``. A backend exposes

* ``xp`` -- the array module (``numpy`` or ``cupy``) for vectorized code;
* ``asarray`` / ``to_numpy`` -- moving data in and out;
* ``kernel(name)`` -- the backend's implementation of a named kernel from :data:`KERNELS`.

Callers never branch on a backend's name: they ask for the kernel and call it::

    be = get_backend(backend, kernel="td_loop")   # validated: implements td_loop
    thetas = be.kernel("td_loop")(*args)

Every kernel has a NumPy reference and, where it pays, a Numba and/or CuPy twin with the
same signature. The twins live together in one module per area, ``mdpgrad/kernels/<area>.py``
(reference beside the compiled kernel); :data:`KERNELS` maps each kernel name to them
(``"module:function"`` under ``mdpgrad.kernels``, imported on first use). The Numba backend
runs the NumPy reference for kernels it does not compile (e.g. the dense ``bellman_max``,
where NumPy's BLAS is faster); the CuPy backend only runs kernels it implements.

``"auto"`` (every function's default) picks, for each kernel, the first available backend of
:data:`AUTO_ORDER` (default :data:`DEFAULT_AUTO`) that implements it: the measured fastest. CuPy is
optional: ``get_backend("cupy")`` raises :class:`BackendUnavailableError` with a reason when
CuPy or a CUDA device is missing, and ``available_backends()`` lists what works.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import BackendUnavailableError, InvalidInputError

__all__ = ["Backend", "KERNELS", "AUTO_ORDER", "DEFAULT_AUTO", "get_backend", "array_namespace", "available_backends", "cupy_status"]

#: kernel name -> {backend name: "module:function" under mdpgrad.kernels}. One signature per row.
KERNELS: dict[str, dict[str, str]] = {
    # dense Bellman optimality backup (P2, r, gamma, v) -> Tv; Numba is 2.5-400x slower than BLAS here
    "bellman_max": {"numpy": "vi:bellman_max_dense_numpy", "cupy": "vi:bellman_max_dense_cupy"},
    # CSR backups on a SparseMDP
    "sparse_bellman_max": {"numpy": "sparse:backup_max_numpy", "numba": "sparse:backup_max_numba"},
    "sparse_policy_sweeps": {"numpy": "sparse:backup_policy_sweeps_numpy",
                             "numba": "sparse:backup_policy_sweeps_numba"},
    "sparse_bellman_policy": {"numpy": "sparse:backup_stochastic_numpy", "numba": "sparse:backup_stochastic_numba"},
    # modified policy iteration: backup over the active actions (greedy rows into ELL buffers),
    # action elimination, partial-evaluation sweeps with a span stopping rule
    "sparse_mpi_backup": {"numpy": "sparse_mpi:mpi_backup_numpy", "numba": "sparse_mpi:mpi_backup_numba"},
    "sparse_mpi_eliminate": {"numpy": "sparse_mpi:mpi_eliminate_numpy", "numba": "sparse_mpi:mpi_eliminate_numba"},
    "sparse_mpi_sweeps": {"numpy": "sparse_mpi:mpi_sweeps_numpy", "numba": "sparse_mpi:mpi_sweeps_numba"},
    # robust inner problems, every row of P2 against one v
    "robust_inner_values": {"numpy": "robust:inner_values_numpy", "numba": "robust:inner_values_compiled",
                            "cupy": "robust:inner_values_cupy"},
    # sampled linear TD, many runs
    "td_loop": {"numpy": "td:td_loop_numpy", "numba": "td:td_loop_numba"},
    # Euler-Maruyama for a linear SDE
    "sde_euler": {"numpy": "sde:em_linear_numpy", "numba": "sde:em_linear_numba", "cupy": "sde:em_linear_cupy"},
    # trajectory sampling (padded and flat layouts) and score accumulation
    "rollouts_padded": {"numpy": "rollouts:rollouts_padded_numpy", "numba": "rollouts:rollouts_padded_numba"},
    "rollouts_flat": {"numpy": "rollouts:rollouts_flat_numpy", "numba": "rollouts:rollouts_flat_numba"},
    "score_accumulate": {"numpy": "rollouts:accumulate_numpy", "numba": "rollouts:accumulate_numba"},
    "gae_batch": {"numpy": "estimators:gae_batch_numpy", "numba": "estimators:gae_batch_numba"},
    # LLM-scale softmax bandit
    "sample_actions": {"numpy": "bandits:sample_actions_xp", "numba": "bandits:sample_actions_numba",
                       "cupy": "bandits:sample_actions_xp"},
    "logit_gradient": {"numpy": "bandits:logit_gradient_numpy", "numba": "bandits:logit_gradient_numba",
                       "cupy": "bandits:logit_gradient_cupy"},
    # exact softmax-family optimization loops (compiled only: their NumPy reference is the loop of
    # Method.update in mdpgrad.algorithms, which optimize runs on the NumPy backend)
    "exact_pg_run": {"numba": "algorithms:exact_pg_run"},
    "exact_pg_run_batch": {"numba": "algorithms:exact_pg_run_batch"},
    "exact_pg_run_lockstep": {"numba": "algorithms:exact_pg_run_lockstep"},
    # games
    "local_omd": {"numpy": "efg:local_omd_numpy", "numba": "efg:local_omd_numba"},
    "packed_matvec": {"numpy": "preference:packed_matvec_numpy", "numba": "preference:packed_matvec_numba"},
}

#: "auto": the first available backend of a kernel's order wins; the default order is DEFAULT_AUTO.
#: The Numba twins of the per-step loops (rollouts, TD, SDE, EFG, packed games, sparse backups) were
#: already the defaults, chosen by the measurements in benchmarks/. Measured for this table on the shared
#: 2-core machine: NumPy's BLAS backup beats the compiled dense bellman_max 2.5x (S=1000, A=10) to 400x
#: (S=50, A=4), so that twin was dropped; NumPy is as fast or faster for the bandit kernels (logit
#: gradient 20,000 x 4: 13 ms vs 24 ms) and for the robust inner problems at the claims' sizes
#: (S*A <= 40; Numba's thread start-up costs ~25 ms per call there, it wins 9x at S=100, A=8: pass
#: backend="numba" for those).
#: "auto" never moves data between devices: it picks CuPy exactly when the input (``like=``) is a
#: CuPy array, so results on a machine with a GPU equal those without one.
DEFAULT_AUTO: tuple[str, ...] = ("numba", "numpy")
AUTO_ORDER: dict[str, tuple[str, ...]] = {
    "bellman_max": ("numpy",),
    "robust_inner_values": ("numpy",),
    "sample_actions": ("numpy",),
    "logit_gradient": ("numpy",),
}


@functools.cache
def _load(path: str) -> Callable:
    mod, _, attr = path.partition(":")
    return getattr(importlib.import_module(f"mdpgrad.kernels.{mod}"), attr)


def _implementations(name: str) -> dict[str, str]:
    try:
        return KERNELS[name]
    except KeyError:
        raise InvalidInputError(f"kernel = {name!r} is not in mdpgrad.backend.KERNELS.") from None


class Backend:
    """NumPy reference backend."""

    name = "numpy"
    #: backends whose implementation this one runs when it has none of its own
    fallback: tuple[str, ...] = ()

    def __init__(self):
        self.xp = np

    def asarray(self, x, dtype=None):
        return np.asarray(x, dtype=dtype)

    def to_numpy(self, x) -> np.ndarray:
        return np.asarray(x)

    @classmethod
    def implements(cls, name: str) -> bool:
        """Whether this backend runs kernel ``name`` (natively or through its fallback)."""
        impl = _implementations(name)
        return any(b in impl for b in (cls.name, *cls.fallback))

    def kernel(self, name: str) -> Callable:
        """This backend's implementation of kernel ``name`` (see :data:`KERNELS`)."""
        impl = _implementations(name)
        for b in (self.name, *self.fallback):
            if b in impl:
                return _load(impl[b])
        raise InvalidInputError(
            f"backend = {self.name!r} has no kernel {name!r}; choose one of {sorted(impl)} (or 'auto')."
        )

    def __repr__(self) -> str:
        return f"<mdpgrad backend {self.name}>"


class NumbaBackend(Backend):
    """CPU kernels compiled with Numba (``cache=True``); the NumPy reference where none is compiled."""

    name = "numba"
    fallback = ("numpy",)


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


_CLASSES = {"numpy": Backend, "numba": NumbaBackend, "cupy": CupyBackend}


@functools.cache
def _make(name: str) -> Backend:
    if name not in _CLASSES:
        raise InvalidInputError(f"backend = {name!r} is not known; choose 'numpy', 'numba', 'cupy' or 'auto'.")
    if name == "cupy":
        ok, why = cupy_status()
        if not ok:
            raise BackendUnavailableError(f"backend 'cupy' unavailable: {why}")
    return _CLASSES[name]()


def _on_device(x) -> bool:
    return type(x).__module__.startswith("cupy")


def _auto(kernel: str | None, like) -> Backend:
    if _on_device(like):
        return get_backend("cupy", kernel=kernel)
    if kernel is None:
        return _make("numba")
    impl = _implementations(kernel)
    return _make(next(b for b in AUTO_ORDER.get(kernel, DEFAULT_AUTO) if b in impl))


def get_backend(spec: Any = "auto", *, kernel: str | None = None, like=None) -> Backend:
    """Return a backend from a name (``"numpy"``, ``"numba"``, ``"cupy"``, ``"auto"``), a
    :class:`Backend`, or an array (CuPy arrays select CuPy, anything else NumPy).

    With ``kernel=`` the backend is checked to implement that kernel (an
    :class:`~mdpgrad.errors.InvalidInputError` names the ones that do, before CuPy is even
    imported) and ``"auto"`` resolves to the fastest backend implementing it (Numba without
    it). ``"auto"`` is CuPy exactly when ``like`` (the input array) is a CuPy array.
    """
    if isinstance(spec, str):
        if spec == "auto":
            return _auto(kernel, like)
        if spec not in _CLASSES:
            raise InvalidInputError(f"backend = {spec!r} is not known; choose 'numpy', 'numba', 'cupy' or 'auto'.")
        if kernel is not None and not _CLASSES[spec].implements(kernel):
            raise InvalidInputError(
                f"backend = {spec!r} has no kernel {kernel!r}; choose one of {sorted(_implementations(kernel))} "
                "(or 'auto')."
            )
        return _make(spec)
    if isinstance(spec, Backend):
        be = spec
    elif _on_device(spec):
        be = _make("cupy")
    else:
        be = _make("numpy")
    if kernel is not None and not be.implements(kernel):
        raise InvalidInputError(
            f"backend = {be.name!r} has no kernel {kernel!r}; choose one of {sorted(_implementations(kernel))}."
        )
    return be


def array_namespace(*xs):
    """The array-API namespace of the arrays among ``xs`` (``array_api_compat``, as SciPy and scikit-learn
    use it): NumPy's for NumPy arrays, lists and scalars, else CuPy's, torch's, array-api-strict's, ...

    Code written against it runs on any of them; for NumPy and CuPy the namespace re-exports the
    library's own functions, so results are those of the library.
    """
    import array_api_compat  # noqa: PLC0415

    arrays = [x for x in xs if array_api_compat.is_array_api_obj(x)]
    return array_api_compat.array_namespace(*arrays) if arrays else array_api_compat.array_namespace(np.empty(0))


def available_backends() -> list[str]:
    """Names of the backends usable on this machine."""
    names = ["numpy", "numba"]
    if cupy_status()[0]:
        names.append("cupy")
    return names
