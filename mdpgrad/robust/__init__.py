"""Robust and risk-sensitive MDPs: uncertainty sets, robust Bellman operators, robust PG.

* :mod:`~mdpgrad.robust.sets` -- (s, a)-rectangular L1 / L-inf / L2 / KL / chi-square /
  R-contamination sets with exact, vectorized inner solvers (NumPy; Numba kernels for
  the inner loop of robust VI);
* :mod:`~mdpgrad.robust.srect` -- s-rectangular sets through their known reductions;
* :mod:`~mdpgrad.robust.core` -- robust evaluation, robust VI, robust (modified) PI;
* :mod:`~mdpgrad.robust.drpg` -- Double-Loop Robust Policy Gradient;
* :mod:`~mdpgrad.robust.risk` -- KL-regularized robust MDPs = entropic-risk MDPs;
* :mod:`~mdpgrad.robust.ecrm` -- risk-averse PG with expected conditional risk measures;
* :mod:`~mdpgrad.robust.linear` -- policy-regularized d-rectangular linear robust MDPs (DR-RPO);
* :mod:`~mdpgrad.robust.reference` -- generic (linprog / minimize) inner solvers for testing.
"""

from . import ecrm, linear, reference, srpo  # noqa: F401,E402
from .core import (  # noqa: F401
    RobustEvaluation,
    RobustSolveResult,
    nominal_and_robust,
    robust_bellman_operator,
    robust_evaluate,
    robust_policy_iteration,
    robust_q,
    robust_return,
    robust_value_iteration,
    worst_case_kernel,
)
from .drpg import DRPGResult, drpg, kernel_policy_gradient  # noqa: F401
from .risk import (  # noqa: F401
    RegularizedEvaluation,
    entropic_evaluate,
    entropic_risk,
    kl_regularized_inner,
    kl_regularized_robust_evaluate,
    regularized_policy_gradient,
    risk_sensitive_value_iteration,
)
from .sets import (  # noqa: F401
    KINDS,
    InnerSolution,
    InvalidUncertaintySetError,
    UncertaintySet,
    project_simplex,
    worst_case,
    worst_case_chi2,
    worst_case_contamination,
    worst_case_kl,
    worst_case_l1,
    worst_case_l2,
    worst_case_linf,
    worst_case_values,
)
from .srect import srect_evaluation_update_l1, srect_l1_maximin_policy, srect_optimal_update  # noqa: F401
