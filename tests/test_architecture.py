"""Architecture rules of issue 14, checked on the source: no import cycle, one evaluation routine,
no module importing another module's private name, no public name defined twice."""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "mdpgrad"

# as_generator moves out of envs/ into the validation layer (issue 14, item 4); until then importing it
# runs envs/__init__ and closes a loop sparse -> envs -> policies -> exact -> sparse.
PENDING_EDGES = {"mdpgrad.envs._rng"}


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        rel = p.relative_to(ROOT).with_suffix("")
        out[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = p
    return out


MODULES = _modules()


def _imports(name: str, path: pathlib.Path):
    """``(node, target module, imported names)`` for every import in the file (function-level ones too)."""
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node, a.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name if is_pkg else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module
            yield node, mod, tuple(a.name for a in node.names)


def _graph() -> dict[str, set[str]]:
    edges = {}
    for name, path in MODULES.items():
        tgt = set()
        for _, mod, names in _imports(name, path):
            cands = [mod] + [f"{mod}.{n}" for n in names]
            for t in cands:
                while t and t not in MODULES:
                    t = t.rpartition(".")[0]
                if not t or t == name or t in PENDING_EDGES:
                    continue
                tgt.add(t)
                parent = t.rpartition(".")[0]  # importing a.b.c runs a.b's __init__ first
                while parent.count("."):
                    if parent in MODULES and not name.startswith(parent + "."):
                        tgt.add(parent)
                    parent = parent.rpartition(".")[0]
        edges[name] = tgt
    return edges


def _cycles(edges):
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_cycle_detector_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_sparse_never_imports_exact():
    edges = _graph()
    assert not any("mdpgrad.exact" in edges[m] for m in MODULES if m.startswith("mdpgrad.sparse"))


@pytest.mark.parametrize("module", ["robust/core.py", "robust/drpg.py", "robust/risk.py", "td.py"])
def test_policy_evaluation_goes_through_evaluate(module):
    # the (I - gamma P_pi) systems are solved in mdpgrad.exact only
    src = (PKG / module).read_text()
    assert "lu_factor(M" not in src and "np.eye(m.n_states) - g * P_pi" not in src
    assert "np.linalg.solve(eye - g * P_pi" not in src and "evaluate(" in src


# Deliberate exceptions, each with its reason. The sparse package mirrors the dense constructors and
# solvers (sparse.garnet builds the SparseMDP twin of envs.garnet; mdpgrad.solve / policy_matrices
# dispatch to the sparse implementations by type). run in estimators.variance_reduced moves to
# the Method protocol of the optimizer loop (issue 14, item 2).
SHARED_NAMES = {
    "garnet": {"mdpgrad/envs/garnet.py", "mdpgrad/sparse/generators.py"},
    "gridworld": {"mdpgrad/envs/classic.py", "mdpgrad/sparse/generators.py"},
    "solve": {"mdpgrad/exact.py", "mdpgrad/sparse/solvers.py"},
    "policy_matrices": {"mdpgrad/exact.py", "mdpgrad/sparse/solvers.py"},
    "run": {"mdpgrad/sweep/execute.py", "mdpgrad/estimators/variance_reduced.py"},
}


def _public_definitions() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in MODULES.values():
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.parse(path.read_text()).body:
            names = []
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name) and t.id.isupper()]
            for n in names:
                if not n.startswith("_"):
                    out.setdefault(n, set()).add(rel)
    return out


def test_no_public_name_defined_twice():
    dup = {n: files for n, files in _public_definitions().items() if len(files) > 1 and SHARED_NAMES.get(n) != files}
    assert dup == {}


def test_no_module_imports_a_private_name():
    # private *modules* of a package (mdpgrad._validate, experiments._instances) are package-internal;
    # a private *name* belongs to its module. theory/ and experiments/ are checked too.
    offenders = []
    for folder in ("mdpgrad", "theory", "experiments"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom):
                    bad = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                    if bad:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module} {bad}")
    assert offenders == []


def test_no_notebook_imports_a_private_name():
    import json
    import re

    pat = re.compile(r"(?:import\s+_\w|\b[a-zA-Z]\w*\._[a-z]\w*\(|import\s+[\w., ]*\b_[a-z]\w*)")
    hits = []
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] == "code":
                src = "".join(cell["source"])
                hits += [f"{nb.name}: {m.group(0)}" for m in pat.finditer(src)]
    assert hits == []


def test_pyproject_lists_every_package_and_installs_only_mdpgrad():
    tomllib = pytest.importorskip("tomllib")

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    pkgs = set(cfg["packages"])
    assert all(p == "mdpgrad" or p.startswith("mdpgrad.") for p in pkgs)
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in PKG.rglob("__init__.py")}
    assert on_disk | {"mdpgrad.theory", "mdpgrad.experiments"} == pkgs
    assert cfg["package-dir"] == {"mdpgrad.theory": "theory", "mdpgrad.experiments": "experiments"}


def test_claims_and_experiments_are_found_under_mdpgrad():
    import sys

    from mdpgrad.claims import registry
    from mdpgrad.sweep import experiments

    mods = {c.module for c in registry()}
    assert mods and all(m.startswith("mdpgrad.theory.") for m in mods if m)
    assert experiments() and all(e.module.startswith("mdpgrad.experiments.") for e in experiments())
    assert "theory" not in sys.modules and "experiments" not in sys.modules
