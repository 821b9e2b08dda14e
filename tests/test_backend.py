"""The backend seam: every backend computes the same kernels; callers go through the kernel table."""

import ast
import pathlib

import numpy as np
import pytest

import mdpgrad
from mdpgrad import envs
from mdpgrad.backend import KERNELS, available_backends, cupy_status, get_backend


@pytest.mark.kernels("bellman_max")
def test_bellman_max_agrees_across_backends(backend):
    mdp = envs.garnet(50, 4, 6, gamma=0.95, seed=0)
    S, A = mdp.shape
    P2 = np.ascontiguousarray(mdp.P.reshape(S * A, S))
    v = np.random.default_rng(0).normal(size=S)
    ref = get_backend("numpy").kernel("bellman_max")(P2, mdp.r, 0.95, v)
    out = backend.to_numpy(backend.kernel("bellman_max")(P2, mdp.r, 0.95, v))
    # Same sums in a different order: differences are a few ulps of |r| + |v|.
    assert np.max(np.abs(out - ref)) <= 1e-12


def test_value_iteration_same_on_every_backend():
    # The Numba backend runs the NumPy reference of the dense backup (no compiled twin: BLAS is faster).
    mdp = envs.garnet(40, 3, 5, gamma=0.9, seed=1)
    a = mdpgrad.solve(mdp, "value_iteration", tol=1e-10, backend="numpy")
    b = mdpgrad.solve(mdp, "value_iteration", tol=1e-10, backend="numba")
    c = mdpgrad.solve(mdp, "value_iteration", tol=1e-10)
    assert a.converged and b.converged
    assert np.array_equal(a.v, b.v) and np.array_equal(a.v, c.v)


def test_backend_selection_and_errors():
    assert get_backend("numpy").name == "numpy"
    assert get_backend(np.zeros(3)).name == "numpy"
    assert "numba" in available_backends()
    with pytest.raises(mdpgrad.InvalidInputError, match="backend"):
        get_backend("jax")
    # a backend without the kernel is refused by name before CuPy is imported
    with pytest.raises(mdpgrad.InvalidInputError, match="td_loop"):
        get_backend("cupy", kernel="td_loop")
    with pytest.raises(mdpgrad.InvalidInputError, match="kernel"):
        get_backend("numpy", kernel="no_such_kernel")
    ok, why = cupy_status()
    if not ok:
        with pytest.raises(mdpgrad.BackendUnavailableError, match="cupy"):
            get_backend("cupy")
    # "auto" never moves host data to a device, and picks per kernel
    assert get_backend("auto").name == "numba"
    assert get_backend("auto", kernel="td_loop").name == "numba"
    assert get_backend("auto", kernel="bellman_max").name == "numpy"
    assert get_backend("auto", kernel="sample_actions", like=np.zeros((2, 2))).name == "numpy"


def test_kernel_table_resolves_and_has_references():
    # the exact-PG loops' NumPy reference is the loop of Method.update (test_algorithms checks agreement)
    compiled_only = {"exact_pg_run", "exact_pg_run_batch",
                     "exact_pg_run_lockstep"}
    for name, impl in KERNELS.items():
        assert "numpy" in impl or name in compiled_only, f"{name}: no NumPy reference"
        for b in impl:
            if b != "cupy":  # CuPy twins import cupy lazily inside the function
                assert callable(get_backend(b).kernel(name)), (name, b)


def test_no_caller_branches_on_a_backend_name():
    root = pathlib.Path(mdpgrad.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "backend.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                names = [n for n in [node.left, *node.comparators]
                         if isinstance(n, ast.Attribute) and n.attr == "name"
                         or isinstance(n, ast.Name) and n.id == "backend"]
                consts = [n for n in ast.walk(node) if isinstance(n, ast.Constant)
                          and n.value in ("numpy", "numba", "cupy")]
                if names and consts:
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not offenders, offenders
