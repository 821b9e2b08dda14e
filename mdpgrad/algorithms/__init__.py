"""Exact policy optimization (see :mod:`mdpgrad.algorithms.core` for the update rules)."""

from .core import (
    METHODS,
    Method,
    OptimizeResult,
    OptState,
    capo_step,
    exact_quantities,
    make_method,
    mdpo_inner,
    npg_closed_form,
    optimize,
    project_simplex,
    rebel_step,
    run_softmax_family,
    run_softmax_pg_fast,
    trpo_step,
    trpo_surrogate_bound,
)

__all__ = [
    "METHODS",
    "Method",
    "OptimizeResult",
    "OptState",
    "capo_step",
    "exact_quantities",
    "make_method",
    "mdpo_inner",
    "npg_closed_form",
    "optimize",
    "project_simplex",
    "rebel_step",
    "run_softmax_family",
    "run_softmax_pg_fast",
    "trpo_step",
    "trpo_surrogate_bound",
]
