"""mdpgrad: policy-gradient theory as numbers anyone can rerun.

Exact MDP algebra, policy parametrizations with exact gradients, estimators, and a
catalogue of literature claims that measure themselves (``mdpgrad check``).

Conventions: ``P[s, a, s']``, ``r[s, a]``, ``rho[s]``, ``gamma``, policies ``pi[s, a]``,
float64, explicit seeds or ``numpy.random.Generator``s, frozen result dataclasses.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import pathlib
import sys

from .errors import (
    AllocationTooLargeError,
    BackendUnavailableError,
    DivergedError,
    InvalidInputError,
    InvalidMDPError,
    InvalidPolicyError,
    InvalidPreferenceError,
    InvalidUncertaintySetError,
    MdpgradError,
    SweepError,
)
from .exact import (
    Evaluation,
    SolveResult,
    bellman_operator,
    bellman_optimality_operator,
    evaluate,
    evaluate_batch,
    solve,
)
from .mdp import FeatureMDP, FiniteHorizonMDP, TabularMDP
from .policies import fisher_information, natural_gradient, policy_gradient, probs, softmax

__version__ = "0.1.0"

__all__ = [
    "TabularMDP",
    "FiniteHorizonMDP",
    "FeatureMDP",
    "InvalidMDPError",
    "InvalidPolicyError",
    "InvalidInputError",
    "MdpgradError",
    "BackendUnavailableError",
    "AllocationTooLargeError",
    "DivergedError",
    "InvalidPreferenceError",
    "InvalidUncertaintySetError",
    "SweepError",
    "evaluate",
    "evaluate_batch",
    "solve",
    "Evaluation",
    "SolveResult",
    "bellman_operator",
    "bellman_optimality_operator",
    "policy_gradient",
    "natural_gradient",
    "fisher_information",
    "probs",
    "softmax",
    "__version__",
]

# theory/ and experiments/ sit at the top of the repository and install as mdpgrad.theory and
# mdpgrad.experiments (pyproject's package-dir). In a source checkout (no such folder next to this file)
# a finder maps the two names to the folders beside the package.
_FOLDERS = ("theory", "experiments")


class _CheckoutFinder(importlib.abc.MetaPathFinder):
    def __init__(self, root: pathlib.Path):
        self.root = root

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(f"{__name__}.") and fullname.count(".") == 1 and fullname.split(".")[1] in _FOLDERS:
            init = self.root / fullname.split(".")[1] / "__init__.py"
            if init.is_file():
                return importlib.util.spec_from_file_location(fullname, init,
                                                              submodule_search_locations=[str(init.parent)])
        return None


_here = pathlib.Path(__file__).resolve().parent
if not (_here / "theory").is_dir() and not any(isinstance(f, _CheckoutFinder) for f in sys.meta_path):
    # first, ahead of an editable install's finder: the folders beside *this* package, also in a worktree
    sys.meta_path.insert(0, _CheckoutFinder(_here.parent))

# Submodules loaded on first attribute access (keeps `import mdpgrad` light).
_LAZY_SUBMODULES = {
    "envs", "policies", "exact", "backend", "claims", "rates", "plotting", "kernels", "mdp",
    "algorithms", "estimators", "rollouts", "td", "linear", "martingale", "robust", "bandits",
    "games", "sparse", "sweep", "regularized", "finite_horizon", "cli", "stats", "theory", "experiments",
    "validation", "errors",
}
_LAZY_ATTRS = {"optimize": "algorithms"}


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_ATTRS:
        mod = importlib.import_module(f".{_LAZY_ATTRS[name]}", __name__)
        return getattr(mod, name)
    raise AttributeError(f"module 'mdpgrad' has no attribute {name!r}")
