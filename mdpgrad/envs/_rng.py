"""Seed handling: every random function takes an int seed or a ``numpy.random.Generator``."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError


def as_generator(seed) -> np.random.Generator:
    """Return a Generator from an int / SeedSequence / Generator (``None`` is rejected:
    results must be reproducible, so pass a seed explicitly)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise InvalidInputError("seed: pass an int or numpy.random.Generator (None would not be reproducible).")
    if isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    raise InvalidInputError(f"seed = {seed!r}: expected an int or numpy.random.Generator.")
