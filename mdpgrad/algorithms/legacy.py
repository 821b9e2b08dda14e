"""Deprecated tuple-returning entry points, kept importable for ``theory/`` until it moves to
:func:`mdpgrad.optimize` (not in ``mdpgrad.algorithms.__all__``). Both are thin wrappers over the one
loop; new code calls ``optimize`` and reads the named fields of its result."""

from __future__ import annotations

import numpy as np

from ..validation import check_choice
from .core import optimize


def run_softmax_family(mdp, method: str, n_iter: int, step_size: float, *, theta0=None, tau: float = 0.0,
                       a_star=None, record_every: int = 1):
    """``optimize(..., backend="numba")`` as ``(values, reg_values, steps, min_pi_star, theta)``.

    ``method`` in softmax_pg, npg, entropy_npg, polyak_pg; for polyak_pg ``step_size`` is the target ``f_star``.
    """
    check_choice(method, "method", ("softmax_pg", "npg", "entropy_npg", "polyak_pg"))
    hp = {"f_star": step_size} if method == "polyak_pg" else {"step_size": step_size}
    if tau:
        hp["tau"] = tau
    rec = ("value", "step_size") + (("reg_value",) if tau else ())
    res = optimize(mdp, method, n_iter=n_iter, theta0=theta0, record=rec, record_every=record_every,
                   backend="numba", v_star=0.0, a_star=a_star, **hp)
    regs = res.reg_value if tau else res.value
    c = res.min_prob_a_star if a_star is not None else 1.0
    return res.value, regs, res.step_size, c, res.params_final


def run_softmax_pg_fast(mdp, n_iter: int, step_size: float, *, npg: bool = False, theta0=None,
                        record_every: int = 1):
    """``optimize(..., backend="numba")`` for softmax PG (or NPG) as ``(values, n_factorizations, theta)``."""
    res = optimize(mdp, "npg" if npg else "softmax_pg", n_iter=n_iter, step_size=step_size, theta0=theta0,
                   record=("value",), record_every=record_every, backend="numba", v_star=0.0)
    return np.asarray(res.value), int(res.n_factorizations), res.params_final
