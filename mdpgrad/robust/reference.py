r"""Generic reference solvers for the inner problem :math:`\min_{q\in\mathcal U(p,\kappa)} q^\top v`.

Slow on purpose: one call of a general-purpose solver per row. Polyhedral sets (L1,
L-inf, R-contamination) use ``scipy.optimize.linprog`` (HiGHS); the others use
``scipy.optimize.minimize`` (SLSQP) with tight tolerances, started from ``p``. Used by the
tests (exact solvers must agree to 1e-7) and by ``benchmarks/bench_robust.py`` (the peer).
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.sparse

from ..stats import kl_divergence
from .sets import UncertaintySet

__all__ = ["reference_inner", "divergence"]


def divergence(kind: str, q, p) -> float:
    """The set's distance ``D(q, p)`` (``inf`` for KL / chi-square when q is not << p)."""
    q = np.asarray(q, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if kind == "l1":
        return float(np.abs(q - p).sum())
    if kind == "linf":
        return float(np.abs(q - p).max())
    if kind == "l2":
        return float(np.linalg.norm(q - p))
    if kind == "kl":
        return float(kl_divergence(q, p, check=False))
    if kind == "chi2":
        if np.any((p == 0) & (q > 0)):
            return np.inf
        m = p > 0
        return float(np.sum((q[m] - p[m]) ** 2 / p[m]))
    raise ValueError(f"kind = {kind!r}: divergence() covers l1, linf, l2, kl, chi2")


def _lp(p, v, uset):
    S = p.size
    k = uset.radius
    if uset.kind == "l1":
        # variables [q, t]: min v.q  s.t.  q - t <= p, -q - t <= -p, sum t <= k, sum q = 1
        c = np.concatenate([v, np.zeros(S)])
        eye = scipy.sparse.identity(S, format="csr")
        A_ub = scipy.sparse.vstack([scipy.sparse.hstack([eye, -eye]), scipy.sparse.hstack([-eye, -eye]),
                                    scipy.sparse.hstack([scipy.sparse.csr_matrix((1, S)),
                                                         scipy.sparse.csr_matrix(np.ones((1, S)))])],
                                   format="csr")  # sparse: fair to HiGHS at S = 500
        b_ub = np.concatenate([p, -p, [k]])
        A_eq = np.concatenate([np.ones(S), np.zeros(S)])[None]
        res = scipy.optimize.linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0],
                                     bounds=[(0, None)] * (2 * S), method="highs")
        return res.fun, res.x[:S]
    if uset.kind == "linf":
        bounds = list(zip(np.maximum(p - k, 0.0), np.minimum(p + k, 1.0)))
        res = scipy.optimize.linprog(v, A_eq=np.ones((1, S)), b_eq=[1.0], bounds=bounds, method="highs")
        return res.fun, res.x
    # contamination: q = (1-R) p + R y, y in the simplex
    res = scipy.optimize.linprog(k * v, A_eq=np.ones((1, S)), b_eq=[1.0], bounds=[(0, None)] * S,
                                 method="highs")
    return (1 - k) * p @ v + res.fun, (1 - k) * p + k * res.x


def _nlp(p, v, uset, x0=None):
    k = uset.radius
    kind = uset.kind
    on = p > 0 if kind in ("kl", "chi2") else np.ones(p.size, bool)
    ps, vs = p[on], v[on]
    n = ps.size
    if kind == "l2":
        cons_fun = lambda x: k**2 - np.sum((x - ps) ** 2)
        cons_jac = lambda x: -2.0 * (x - ps)
    elif kind == "kl":
        def cons_fun(x):
            xx = np.maximum(x, 1e-300)
            return k - np.sum(np.where(x > 0, x * np.log(xx / ps), 0.0))

        def cons_jac(x):
            xx = np.maximum(x, 1e-300)
            return -(np.log(xx / ps) + 1.0)
    else:
        cons_fun = lambda x: k - np.sum((x - ps) ** 2 / ps)
        cons_jac = lambda x: -2.0 * (x - ps) / ps
    x0 = ps.copy() if x0 is None else np.asarray(x0, dtype=np.float64)[on]
    for _ in range(3):  # SLSQP restarted from its own answer polishes boundary solutions
        x0 = _slsqp(x0, ps, vs, n, cons_fun, cons_jac)
    q = np.zeros_like(p)
    q[on] = x0
    return float(x0 @ vs), q


def _slsqp(x0, ps, vs, n, cons_fun, cons_jac):
    res = scipy.optimize.minimize(
        lambda x: x @ vs, x0, jac=lambda x: vs, method="SLSQP",
        bounds=[(0.0, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1.0, "jac": lambda x: np.ones(n)},
                     {"type": "ineq", "fun": cons_fun, "jac": cons_jac}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    return res.x


def reference_inner(p, v, uset: UncertaintySet, x0=None) -> tuple[float, np.ndarray]:
    """``(value, q)`` of the inner problem for one row ``p`` by a generic solver.

    ``x0`` is the start of the SLSQP solver (non-polyhedral sets; default ``p``). SLSQP
    started at ``p`` can stall near the simplex boundary (log / 1/p curvature); a start near
    the optimum (e.g. a mixture of a candidate answer and ``p``) lets it verify the KKT
    conditions: if the candidate were suboptimal, the convex problem's descent would
    find a lower value.
    """
    p = np.asarray(p, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if uset.kind in ("l1", "linf", "contamination"):
        return _lp(p, v, uset)
    return _nlp(p, v, uset, x0)
