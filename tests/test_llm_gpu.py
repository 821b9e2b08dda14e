"""CuPy path of mdpgrad.bandits: skipped with the reason when no GPU/CuPy is available."""

from __future__ import annotations

import numpy as np
import pytest

from mdpgrad.backend import cupy_status, get_backend

_OK, _WHY = cupy_status()
pytestmark = pytest.mark.skipif(not _OK, reason=_WHY)


def test_cupy_matches_numpy_at_scale():
    from mdpgrad.bandits import logit_gradient, sample_actions

    rng = np.random.default_rng(0)
    N, V, G = 64, 32_000, 16
    logits = rng.normal(size=(N, V))
    u = rng.random((N, G))
    be = get_backend("cupy")
    a0, lp0 = sample_actions(logits, G, u=u)
    a1, lp1 = sample_actions(be.asarray(logits), G, u=u, backend=be)
    assert np.mean(a0 == be.to_numpy(a1)) > 0.999  # ties at CDF boundaries may differ in the last ulp
    coef = rng.normal(size=(N, G))
    g0 = logit_gradient(logits, a0, coef)
    g1 = be.to_numpy(logit_gradient(be.asarray(logits), be.asarray(a0), be.asarray(coef), backend=be))
    assert np.abs(g0 - g1).max() < 1e-12


def test_cupy_estimate_gradient_matches_numpy():
    from mdpgrad.bandits import estimate_group_gradient, random_bandit

    b = random_bandit(8, 500, seed=1)
    th = np.random.default_rng(2).normal(size=(8, 500))
    e0 = estimate_group_gradient(b, th, 8, "grpo", seed=3)
    e1 = estimate_group_gradient(b, th, 8, "grpo", seed=3, backend="cupy")
    assert np.abs(np.asarray(e0.grad) - get_backend("cupy").to_numpy(e1.grad)).max() < 1e-12
