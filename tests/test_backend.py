"""The backend seam: every backend computes the same kernels."""

import numpy as np
import pytest

import mdpgrad
from mdpgrad import envs
from mdpgrad.backend import available_backends, cupy_status, get_backend


def test_bellman_max_agrees_across_backends(backend):
    mdp = envs.garnet(50, 4, 6, gamma=0.95, seed=0)
    S, A = mdp.shape
    P2 = np.ascontiguousarray(mdp.P.reshape(S * A, S))
    v = np.random.default_rng(0).normal(size=S)
    ref = get_backend("numpy").bellman_max(P2, mdp.r, 0.95, v)
    out = backend.to_numpy(backend.bellman_max(P2, mdp.r, 0.95, v))
    # Same sums in a different order: differences are a few ulps of |r| + |v|.
    assert np.max(np.abs(out - ref)) <= 1e-12


def test_value_iteration_same_on_numpy_and_numba():
    mdp = envs.garnet(40, 3, 5, gamma=0.9, seed=1)
    a = mdpgrad.solve(mdp, "value_iteration", tol=1e-10, backend="numpy")
    b = mdpgrad.solve(mdp, "value_iteration", tol=1e-10, backend="numba")
    assert a.converged and b.converged
    assert np.max(np.abs(a.v - b.v)) <= 2e-10


def test_backend_selection_and_errors():
    assert get_backend("numpy").name == "numpy"
    assert get_backend(np.zeros(3)).name == "numpy"
    assert "numba" in available_backends()
    with pytest.raises(mdpgrad.InvalidInputError, match="backend"):
        get_backend("jax")
    ok, why = cupy_status()
    if not ok:
        with pytest.raises(mdpgrad.BackendUnavailableError, match="cupy"):
            get_backend("cupy")
        assert get_backend("auto").name == "numba"
