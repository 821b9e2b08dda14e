"""Shared fixtures and hypothesis strategies for the test suite."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import mdpgrad

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("ci")


@st.composite
def small_mdps(draw, max_states: int = 6, max_actions: int = 6, max_gamma: float = 0.95):
    """Random dense MDPs with S, A <= 6 (some zero transition entries, rho not uniform)."""
    S = draw(st.integers(1, max_states))
    A = draw(st.integers(1, max_actions))
    seed = draw(st.integers(0, 2**31 - 1))
    gamma = draw(st.floats(0.0, max_gamma))
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(S, 0.5), size=(S, A))
    mask = rng.random((S, A, S)) < 0.3
    P = np.where(mask, 0.0, P) + 1e-300  # keep rows nonzero
    P = P / P.sum(-1, keepdims=True)
    r = rng.normal(size=(S, A))
    rho = rng.dirichlet(np.ones(S))
    return mdpgrad.TabularMDP(P, r, gamma, rho=rho)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "kernels(*names): the backend fixture runs only backends implementing these kernels natively"
    )


@pytest.fixture(params=["numpy", "numba", "cupy"])
def backend(request):
    """Every backend, as rlax's ``parameterize_variant`` runs every variant of a function.

    A test marked ``@pytest.mark.kernels("td_loop", ...)`` runs once per backend whose own
    implementation of each named kernel is in :data:`mdpgrad.backend.KERNELS` (a Numba backend
    that would only fall back to the NumPy reference is skipped: there is nothing to compare), and
    compares it with ``backend="numpy"``, the reference. CuPy is skipped with the reason when
    unavailable.
    """
    from mdpgrad.backend import KERNELS, cupy_status, get_backend

    marker = request.node.get_closest_marker("kernels")
    for name in marker.args if marker else ():
        if request.param not in KERNELS[name]:
            pytest.skip(f"no {request.param} implementation of kernel {name!r}")
    if request.param == "cupy":
        ok, why = cupy_status()
        if not ok:
            pytest.skip(why)
    return get_backend(request.param)


ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def check_notebook(relpath: str, timeout: int = 180):
    """Execute a notebook from the repository root and check that every code cell ran without
    error and that it drew at least one figure; returns the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / relpath, as_version=4)
    # The kernel must use ipykernel's inline backend (figures become image/png outputs): an inherited
    # MPLBACKEND=Agg would make plt.show() draw nothing.
    saved = os.environ.pop("MPLBACKEND", None)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        if saved is not None:
            os.environ["MPLBACKEND"] = saved
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), f"{relpath}: a code cell did not run"
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outputs), f"{relpath}: a cell raised"
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{relpath}: no figure was drawn"
    return nb
