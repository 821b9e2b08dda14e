"""LLM-style bandits: contextual softmax bandits at vocabulary scale, a token-level sequence
model with exact dynamic programming, and the group-relative estimators used to train LLMs
(REINFORCE, RLOO, GRPO, Dr. GRPO, ReMax, REINFORCE++, GPG, BNPO, Delta-L, PPO/TOPR corrections,
KL k1/k2/k3, max@k, Clip-Cov/KL-Cov), all against exact gradients.

Submodules: :mod:`~mdpgrad.bandits.model`, :mod:`~mdpgrad.bandits.sequence`,
:mod:`~mdpgrad.bandits.estimators`.
"""

from .estimators import (
    ADVANTAGES,
    AGGREGATIONS,
    CORRECTIONS,
    GroupGradientEstimate,
    aggregation_weights,
    bnpo_normalizer,
    clip_cov_mask,
    estimate_group_gradient,
    exact_expected_group_gradient,
    group_advantages,
    group_gradient_replicates,
    group_gradients,
    grpo_entropy_run,
    kl_cov_coefficients,
    kl_estimates,
    kl_loss_coefficients,
    maxk_coefficients,
    maxk_exact,
    opmd_coefficients,
    ratio_coefficients,
    rpg_coefficients,
    sequence_group_gradient,
    zero_variance_fraction,
)
from .model import ContextualBandit, logit_gradient, random_bandit, sample_actions
from .sequence import MarkovSequenceModel, SequenceModel, SequenceSamples, make_sequence_model

__all__ = [
    "ContextualBandit", "random_bandit", "sample_actions", "logit_gradient",
    "SequenceModel", "SequenceSamples", "make_sequence_model", "MarkovSequenceModel",
    "ADVANTAGES", "AGGREGATIONS", "CORRECTIONS", "GroupGradientEstimate", "aggregation_weights", "bnpo_normalizer",
    "clip_cov_mask", "estimate_group_gradient", "exact_expected_group_gradient", "group_advantages",
    "kl_cov_coefficients", "kl_estimates", "kl_loss_coefficients", "maxk_coefficients", "maxk_exact", "opmd_coefficients",
    "group_gradients", "group_gradient_replicates", "grpo_entropy_run", "rpg_coefficients",
    "ratio_coefficients", "sequence_group_gradient", "zero_variance_fraction",
]
