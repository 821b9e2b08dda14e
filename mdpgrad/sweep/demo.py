"""Small cell functions for examples, tests and the overhead benchmark.

Each takes its parameters as keywords plus ``seed`` (derived by the sweep) and returns a
dict of JSON-serializable values.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["trivial", "noisy_quadratic", "sleepy"]


def trivial(x=0, seed=0) -> dict:
    """Returns its input: measures the sweep machinery's own overhead per cell."""
    return {"y": x}


def noisy_quadratic(x: float, noise: float = 0.1, n: int = 16, seed: int = 0) -> dict:
    """Mean of ``n`` draws of ``x**2 + noise * N(0, 1)`` from ``default_rng(seed)``, and its standard error."""
    rng = np.random.default_rng(seed)
    draws = x * x + noise * rng.standard_normal(n)
    return {"mean": float(draws.mean()), "se": float(draws.std(ddof=1) / np.sqrt(n)), "first": float(draws[0])}


def sleepy(x: float, delay: float = 0.02, seed: int = 0) -> dict:
    """Like :func:`noisy_quadratic` but sleeps ``delay`` seconds first (for interruption tests)."""
    time.sleep(delay)
    return noisy_quadratic(x, seed=seed)
