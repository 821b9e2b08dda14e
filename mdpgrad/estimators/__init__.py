r"""Stochastic policy-gradient estimators and optimizers.

* :mod:`.core` -- one score-function core (REINFORCE, GPOMDP, GAE-weighted; constant, state
  and optimal baselines; off-policy importance weights with optional clipping);
* :mod:`.advantages` -- ``td_errors``, ``gae(r_t, v_t, discount_t, lambda_)``, ``lambda_returns``;
* :mod:`.sampling` -- the unbiased random-horizon Q-sampling estimator;
* :mod:`.oracles` -- sampling oracles (tabular MDP, Gaussian-policy bandit);
* :mod:`.variance_reduced` -- SPG, SVRPG, SRVR-PG, STORM-PG, PAGE-PG, N-PG-IGT, (N)-HARPG,
  stochastic NPG and stochastic PMD.

Every function's docstring carries its formula and paper.
"""

from .advantages import gae, gae_batch, lambda_returns, td_errors
from .core import (
    ESTIMATORS,
    GradientEstimate,
    estimate_gradient,
    log_prob,
    optimal_constant_baseline,
    per_trajectory_gradients,
    reward_to_go,
    score_sum,
    summarize,
    trajectory_weights,
)
from .oracles import GaussianBanditOracle, TabularOracle
from .sampling import random_horizon_gradient_samples
from .variance_reduced import (
    VR_HYPERPARAMETERS,
    VR_METHODS,
    RunTrace,
    VRState,
    init,
    make_vr_method,
    run,
    stochastic_pmd_step,
    update,
)

__all__ = [
    "ESTIMATORS", "GradientEstimate", "estimate_gradient", "log_prob", "optimal_constant_baseline",
    "per_trajectory_gradients", "reward_to_go", "score_sum", "summarize", "trajectory_weights",
    "gae", "gae_batch", "lambda_returns", "td_errors", "random_horizon_gradient_samples",
    "GaussianBanditOracle", "TabularOracle", "VR_METHODS", "VR_HYPERPARAMETERS", "make_vr_method", "RunTrace", "VRState", "init", "update", "run",
    "stochastic_pmd_step",
]


def __getattr__(name):
    """``estimators.METHODS``: the deprecated spelling of :data:`VR_METHODS`."""
    if name == "METHODS":
        import warnings

        warnings.warn("mdpgrad.estimators.METHODS is spelled VR_METHODS now", DeprecationWarning, stacklevel=2)
        return VR_METHODS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
