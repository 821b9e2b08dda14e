"""Exact policy optimization: :func:`optimize`, the one loop over ``(init, update)`` methods.

See :mod:`mdpgrad.algorithms.core` (the entry point, the update rules, negative-control hooks),
:mod:`mdpgrad.algorithms.protocol` (``Method``, ``OptState``, ``OptimizeResult``),
:mod:`mdpgrad.algorithms.methods` (typed hyperparameters), :mod:`mdpgrad.algorithms.runs` (one run:
the compiled loop of the backend or the NumPy loop of ``Method.update``), :mod:`mdpgrad.algorithms.batch`
(batched runs) and :mod:`mdpgrad.algorithms.steps` (per-step building blocks).
"""

from ..policies import project_simplex
from .core import optimize
from .methods import (
    CAPO,
    HYPERPARAMETERS,
    MDPO,
    METHODS,
    NPG,
    PMD,
    REBEL,
    TRPO,
    DirectPG,
    EntropyNPG,
    LogLinearNPG,
    PolyakPG,
    SoftmaxPG,
    UnknownHyperparameterError,
    make_method,
)
from .protocol import Method, OptimizeResult, OptState, keep_policy, transform
from .steps import (
    capo_step,
    exact_quantities,
    mdpo_inner,
    npg_closed_form,
    rebel_step,
    trpo_exact_step,
    trpo_step,
    trpo_surrogate_bound,
)

__all__ = [
    "CAPO", "HYPERPARAMETERS", "METHODS", "MDPO", "NPG", "PMD", "REBEL", "TRPO", "DirectPG", "EntropyNPG",
    "LogLinearNPG", "Method", "OptState", "OptimizeResult", "PolyakPG", "SoftmaxPG", "UnknownHyperparameterError",
    "capo_step", "exact_quantities", "keep_policy", "make_method", "mdpo_inner", "npg_closed_form", "optimize",
    "project_simplex", "rebel_step", "transform", "trpo_exact_step", "trpo_step", "trpo_surrogate_bound",
]
