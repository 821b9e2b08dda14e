r"""Small objectives and estimators from the LLM-RL literature, on softmax bandits.

Each function states its formula and the paper it comes from; the claims in
``theory/llm_dynamics.py`` check them against exact quantities.

* :func:`score_norms` -- :math:`\|\nabla_z\log\pi(a)\|^2 = (1-\pi_a)^2 + \sum_{b\ne a}\pi_b^2` and its
  expectation :math:`1-\sum_b\pi_b^2` ("Harnessing Uncertainty: Entropy-Modulated Policy Gradients for
  Long-Horizon LLM Agents": the gradient magnitude is coupled with the entropy).
* :func:`token_rollout_gradient` -- One-Token Rollout: ``K`` sampled tokens rewarded by agreement with
  the ground truth, :math:`\frac1K\sum_k 1\{a_k=y^*\}\nabla\log\pi(a_k)`, unbiased for
  :math:`\nabla\pi(y^*)` ("One-Token Rollout: Guiding Supervised Fine-Tuning of LLMs with Policy
  Gradient"); with ``importance=True`` the reward is :math:`1\{a=y^*\}/\pi(a)` and the estimate is
  unbiased for :math:`\nabla\log\pi(y^*)`, the cross-entropy gradient as a one-step policy gradient
  ("Diversity or Precision? A Deep Dive into Next Token Prediction").
* :func:`spo_coefficients` -- Simple Policy Optimization's loss
  :math:`\rho A - \frac{|A|}{2\epsilon}(\rho-1)^2` ("Simple Policy Optimization").
* :func:`ratio_variance_coefficients` -- the ratio-variance penalty
  :math:`\rho A - \frac{\lambda}{2}(\rho-1)^2`, whose expectation under :math:`\pi_{old}` penalizes
  :math:`\mathrm{Var}_{\pi_{old}}(\rho) = \chi^2(\pi\|\pi_{old})` ("Ratio-Variance Regularized Policy
  Optimization for Efficient LLM Fine-tuning"); :func:`chi2_divergence`.
* :func:`budget_allocation` -- minimize :math:`\sum_g w_g v_g / n_g` subject to :math:`\sum_g n_g = N`:
  :math:`n_g \propto \sqrt{w_g v_g}` (Neyman allocation; the square-root rollout allocation of "Group
  Distributionally Robust Optimization-Driven Reinforcement Learning for LLM Reasoning" and the
  variance-minimizing allocation of "Optimizing Chain-of-Thought Reasoners via Gradient Variance
  Minimization in Rejection Sampling and RL").
* :func:`mixture_weight` -- the MSE-optimal weight of :math:`\alpha g_1 + (1-\alpha) g_0` for an
  unbiased :math:`g_1` (variance :math:`\sigma_1^2`) and a biased :math:`g_0` (variance
  :math:`\sigma_0^2`, bias :math:`b`, covariance :math:`c`):
  :math:`\alpha^* = (\sigma_0^2 + \|b\|^2 - c)/(\sigma_1^2 + \sigma_0^2 + \|b\|^2 - 2c)` ("From Noisy
  Traces to Stable Gradients: Bias-Variance Optimized Preference Optimization for Aligning Large
  Reasoning Models").
* :func:`guided_policy` -- :math:`\pi_w \propto \pi_\beta\, p(o|a)^w` ("Diffusion Guidance Is a
  Controllable Policy Improvement Operator").
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_positive_int
from ..errors import InvalidInputError
from .model import as_rng, logit_gradient, sample_actions, softmax_xp

__all__ = [
    "score_norms",
    "token_rollout_gradient",
    "spo_coefficients",
    "ratio_variance_coefficients",
    "chi2_divergence",
    "budget_allocation",
    "allocation_variance",
    "mixture_weight",
    "guided_policy",
]


def _probs(pi, name="pi"):
    p = as_float_array(pi, name)
    if p.ndim < 1 or p.shape[-1] < 1:
        raise InvalidInputError(f"{name}: expected probabilities along the last axis, got shape {p.shape}.")
    if (p < 0).any() or not np.allclose(p.sum(-1), 1.0, atol=1e-9):
        raise InvalidInputError(f"{name}: rows must be probability vectors (>= 0, summing to 1); "
                                f"row sums range {p.sum(-1).min():.6g}..{p.sum(-1).max():.6g}.")
    return p


def score_norms(pi):
    r"""Squared norms of the softmax score :math:`\nabla_z\log\pi(a) = e_a - \pi`.

    Returns ``(per_action[..., V], expected[...])`` with
    ``per_action[a] = (1 - pi_a)^2 + sum_{b != a} pi_b^2 = 1 - 2 pi_a + sum_b pi_b^2`` and
    ``expected = sum_a pi_a per_action[a] = 1 - sum_b pi_b^2``.
    """
    p = _probs(pi)
    s2 = np.sum(p * p, axis=-1, keepdims=True)
    per = 1.0 - 2.0 * p + s2
    return per, 1.0 - s2[..., 0]


def token_rollout_gradient(logits, targets, K: int, rng, *, importance: bool = False):
    r"""One-Token Rollout estimate of a logit gradient, one per row of ``logits[n, V]``.

    Draws ``K`` tokens :math:`a_k\sim\pi(\cdot|n)`, rewards :math:`r_k = 1\{a_k = y^*_n\}` (divided by
    :math:`\pi(a_k)` when ``importance``) and returns :math:`\frac1K\sum_k r_k (e_{a_k} - \pi)`:
    unbiased for :math:`\nabla_z\pi(y^*)` (OTR) or :math:`\nabla_z\log\pi(y^*)` (``importance=True``,
    cross-entropy as a single-step policy gradient).
    """
    z = as_float_array(logits, "logits", ndim=2)
    y = np.asarray(targets)
    N, V = z.shape
    if y.shape != (N,) or not np.issubdtype(y.dtype, np.integer):
        raise InvalidInputError(f"targets: expected {N} integer token ids (one per row of logits), got "
                                f"shape {y.shape}, dtype {y.dtype}.")
    if ((y < 0) | (y >= V)).any():
        i = int(np.flatnonzero((y < 0) | (y >= V))[0])
        raise InvalidInputError(f"targets[{i}] = {y[i]} is not a token in [0, {V}).")
    K = check_positive_int(K, "K")
    rng = as_rng(rng)
    a, _ = sample_actions(z, K, rng)
    hit = (a == y[:, None]).astype(np.float64)
    if importance:
        pi = softmax_xp(z)
        hit = hit / np.take_along_axis(pi, a, axis=1)
    return logit_gradient(z, a, hit / K)


def _same_shape(name_a, a, name_b, b):
    if a.shape != b.shape:
        raise InvalidInputError(f"{name_b}: shape {b.shape} must equal the shape of {name_a}, {a.shape}.")


def spo_coefficients(adv, logp, logp_old, eps: float = 0.2):
    r"""Per-sample :math:`\partial/\partial\log\pi` of Simple Policy Optimization's objective
    :math:`\rho A - \frac{|A|}{2\epsilon}(\rho - 1)^2` (:math:`\rho = \pi/\pi_{old}`):
    :math:`\rho\,(A - \frac{|A|}{\epsilon}(\rho - 1))`. Its per-sample maximizer is
    :math:`\rho = 1 + \epsilon\,\mathrm{sign}(A)`, the edge of the trust region, and at
    :math:`\rho = 1` it equals PPO's coefficient ``A``."""
    if not eps > 0:
        raise InvalidInputError(f"eps = {eps!r} must be > 0.")
    A = as_float_array(adv, "adv")
    lp = as_float_array(logp, "logp")
    lo = as_float_array(logp_old, "logp_old")
    _same_shape("adv", A, "logp", lp)
    _same_shape("adv", A, "logp_old", lo)
    rho = np.exp(lp - lo)
    return rho * (A - np.abs(A) / eps * (rho - 1.0))


def ratio_variance_coefficients(adv, logp, logp_old, lam: float):
    r"""Per-sample :math:`\partial/\partial\log\pi` of :math:`\rho A - \frac{\lambda}{2}(\rho-1)^2`:
    :math:`\rho\,(A - \lambda(\rho - 1))`. Averaged over samples from :math:`\pi_{old}` the penalty is
    :math:`\frac{\lambda}{2}E_{\pi_{old}}[(\rho-1)^2] = \frac{\lambda}{2}\chi^2(\pi\|\pi_{old})`: a smooth
    trust region that keeps a gradient for every sample (no clipped zero-gradient region)."""
    if not lam >= 0:
        raise InvalidInputError(f"lam = {lam!r} must be >= 0.")
    A = as_float_array(adv, "adv")
    lp = as_float_array(logp, "logp")
    lo = as_float_array(logp_old, "logp_old")
    _same_shape("adv", A, "logp", lp)
    _same_shape("adv", A, "logp_old", lo)
    rho = np.exp(lp - lo)
    return rho * (A - lam * (rho - 1.0))


def chi2_divergence(p, q):
    r""":math:`\chi^2(p\|q) = \sum_a (p_a - q_a)^2 / q_a = \mathrm{Var}_q(p/q)` along the last axis."""
    p = _probs(p, "p")
    q = _probs(q, "q")
    _same_shape("p", p, "q", q)
    if ((q <= 0) & (p > 0)).any():
        raise InvalidInputError("q: chi^2(p || q) is infinite where q = 0 < p; q must cover the support of p.")
    qq = np.where(q > 0, q, 1.0)
    return np.sum(np.where(q > 0, (p - q) ** 2 / qq, 0.0), axis=-1)


ALLOCATION_RULES = ("sqrt", "proportional", "uniform")


def budget_allocation(weights, variances, budget: float, rule: str = "sqrt"):
    r"""Continuous allocation of a sample budget ``N`` over groups.

    ``rule="sqrt"`` minimizes :math:`\sum_g w_g v_g / n_g` subject to :math:`\sum_g n_g = N`:
    :math:`n_g = N\sqrt{w_g v_g}/\sum_h\sqrt{w_h v_h}` (Lagrange; Neyman allocation). ``"proportional"``
    (:math:`n_g\propto w_g v_g`) and ``"uniform"`` are the common alternatives.
    """
    w = as_float_array(weights, "weights", ndim=1)
    v = as_float_array(variances, "variances", ndim=1)
    _same_shape("weights", w, "variances", v)
    if (w < 0).any() or (v < 0).any() or not (w * v).sum() > 0:
        raise InvalidInputError("weights, variances: must be >= 0 with at least one positive product w_g v_g.")
    if not budget > 0:
        raise InvalidInputError(f"budget = {budget!r} must be > 0.")
    if rule not in ALLOCATION_RULES:
        raise InvalidInputError(f"rule = {rule!r} is not known; choose one of {ALLOCATION_RULES}.")
    s = {"sqrt": np.sqrt(w * v), "proportional": w * v, "uniform": np.ones_like(w)}[rule]
    return budget * s / s.sum()


def allocation_variance(weights, variances, n):
    r""":math:`\sum_g w_g v_g / n_g` (infinite when a group with :math:`w_g v_g > 0` gets no sample)."""
    w = as_float_array(weights, "weights", ndim=1)
    v = as_float_array(variances, "variances", ndim=1)
    n = as_float_array(n, "n", ndim=1)
    _same_shape("weights", w, "n", n)
    wv = w * v
    with np.errstate(divide="ignore"):
        return float(np.sum(np.where(wv > 0, wv / np.where(n > 0, n, 0.0), 0.0)))


def mixture_weight(var1: float, var0: float, bias0_sq: float, cov: float = 0.0) -> float:
    r"""MSE-optimal :math:`\alpha` for :math:`\alpha g_1 + (1-\alpha) g_0`.

    ``var1 = E||g_1 - g||^2`` (``g_1`` unbiased), ``var0 = E||g_0 - E g_0||^2``,
    ``bias0_sq = ||E g_0 - g||^2``, ``cov = E<g_1 - g, g_0 - E g_0>``. The MSE
    :math:`\alpha^2\sigma_1^2 + (1-\alpha)^2(\sigma_0^2 + \|b\|^2) + 2\alpha(1-\alpha)c` is minimized at
    :math:`\alpha^* = (\sigma_0^2 + \|b\|^2 - c)/(\sigma_1^2 + \sigma_0^2 + \|b\|^2 - 2c)`.
    """
    for name, x in (("var1", var1), ("var0", var0), ("bias0_sq", bias0_sq)):
        if not (np.isfinite(x) and x >= 0):
            raise InvalidInputError(f"{name} = {x!r} must be a finite number >= 0.")
    den = var1 + var0 + bias0_sq - 2.0 * cov
    if not den > 0:
        raise InvalidInputError(f"var1 + var0 + bias0_sq - 2 cov = {den!r}: the two estimators coincide almost "
                                "surely; any weight is optimal.")
    return float((var0 + bias0_sq - cov) / den)


def guided_policy(pi_b, log_likelihood, w: float):
    r"""Guided policy :math:`\pi_w(a) \propto \pi_\beta(a)\, p(o=1|a)^w` along the last axis
    (``log_likelihood = log p(o=1|a)``); ``w = 0`` is the behaviour policy, ``w = 1`` the optimality-
    conditioned policy, ``w > 1`` the over-guided one (CFGRL)."""
    p = _probs(pi_b, "pi_b")
    ll = as_float_array(log_likelihood, "log_likelihood")
    _same_shape("pi_b", p, "log_likelihood", ll)
    if not np.isfinite(w):
        raise InvalidInputError(f"w = {w!r} must be finite.")
    with np.errstate(divide="ignore"):
        z = np.log(p) + w * ll
    return softmax_xp(z)
