"""Numba kernels (compiled with ``cache=True``); imported lazily by the backends."""
