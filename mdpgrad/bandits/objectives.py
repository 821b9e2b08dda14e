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
* :func:`expected_abs_advantage` -- :math:`E|A|` of a Bernoulli(p) reward: :math:`2p(1-p)` with the exact
  baseline ``p``, :math:`2p(1-p)(G-1)/G` with the group mean of ``G`` rollouts (the learning-gain proxy of
  "Self-Evolving Curriculum for LLM Reasoning").
* :func:`max_variance_subset` -- the size-``k`` subset of a group maximizing the variance of its advantages
  (sample-level selection of "Learning More with Less: A Dynamic Dual-Level Down-Sampling Framework for
  Efficient Policy Optimization"); an optimal subset takes the ``j`` largest and ``k-j`` smallest values.
* :func:`ema_baseline_advantages` -- single-stream advantages :math:`r_t - b_{t-1}(x)` with a persistent
  per-prompt tracker :math:`b_t = (1-\alpha)b_{t-1} + \alpha r_t` ("Single-stream Policy Optimization").
* :func:`unified_pg_coefficients` -- the Unified Policy Gradient Estimator
  :math:`\mathbb 1_{stable}\,\hat A\,\nabla\pi_\theta(y)/\pi_{den}(y)` as coefficients of
  :math:`\nabla\log\pi_\theta(y)` ("Towards a Unified View of Large Language Model Post-Training").
* :func:`negative_likelihood_reward` -- the gradient of :math:`\log(1 - \pi(y))` for an incorrect response
  as a policy gradient with reward :math:`-\pi(y)/(1-\pi(y))`: a penalty growing with the confidence of
  the mistake (our reading of "Don't Waste Mistakes: Leveraging Negative RL-Groups via Confidence
  Reweighting").
* :func:`gaussian_step_log_ratio` -- per-step log importance ratio of Gaussian transitions
  :math:`\mathcal N(\mu_\theta(x_t,t), s_t^2)` of an SDE sampler; under the old policy
  :math:`E[\rho_t] = 1` exactly while :math:`E[\log\rho_t] = -E[\Delta_t^2]/(2 s_t^2)` ("GRPO-Guard: Mitigating
  Implicit Over-Optimization in Flow Matching via Regulated Clipping" reports the left-shifted ratio).
* :func:`cvar_prompt_weights` -- prompt weights of a lower-tail (CVaR / mixed-VaR) objective over per-prompt
  success rates ("RiskPO: Risk-based Policy Optimization via Verifiable Reward for LLM Post-Training").
* :func:`bgpo_bound` -- a lower bound of :math:`A\exp(\bar x)`, :math:`\bar x` the mean of ``K`` Monte Carlo
  log-likelihood-ratio samples, that is a sum of single-sample terms and equals the objective in value and
  gradient on-policy (:math:`x = 0`): the tangent :math:`A(1 + \bar x)` for :math:`A \ge 0` and Jensen's
  :math:`A\,\overline{e^{x}}` for :math:`A < 0` (our reconstruction of "Boundary-Guided Policy Optimization
  for Memory-efficient RL of Diffusion Large Language Models" from its two stated properties).
* :func:`nested_mc_variance` -- variance of a two-level Monte Carlo estimate (``n_outer`` timesteps, ``n_inner``
  masks each): :math:`(\sigma_b^2 + \sigma_w^2/n_{in})/n_{out}`; under a budget :math:`n_{out}n_{in} = N` it is
  minimized by one inner sample per outer draw ("LLaDA 1.5: Variance-Reduced Preference Optimization for Large
  Language Diffusion Models": spend the budget on timesteps).
* :func:`drpo_positive_weights` -- decoupled weights of correct rollouts, normalized within the positive group
  only: :math:`w_i = e^{r_i/\lambda}/\mathrm{mean}_{j\in pos} e^{r_j/\lambda}`, the group estimate of
  :math:`q^*/\pi_+` with :math:`q^* \propto \pi_+ e^{r/\lambda}` the maximizer of
  :math:`E_q[r] - \lambda KL(q\|\pi_+)` ("DRPO: Efficient Reasoning via Decoupled Reward Policy Optimization").
* :func:`coverage_objective` -- a set-level (polychromic) objective: the expected number of distinct correct
  responses among ``n`` samples, :math:`\sum_{a\in C} 1 - (1-\pi_a)^n`, and its logit gradient; ``n = 1`` is
  the mean reward ("Polychromic Objectives for Reinforcement Learning").
* :func:`temperature_pull` -- the expected REINFORCE direction on samples from the temperature-adjusted policy
  :math:`\pi_T \propto \pi^{1/T}` with unit reward, :math:`E_{y\sim\pi_T}[\nabla_z\log\pi(y)] = \pi_T - \pi`
  (raises the entropy for ``T > 1``, lowers it for ``T < 1``; "Arbitrary Entropy Policy Optimization: Entropy
  Is Controllable in Reinforcement Fine-tuning").
* :func:`likelihood_preserving_coefficients` -- a likelihood-preserving term active only when the likelihood
  of a correct response has dropped below its reference, :math:`A + \lambda 1\{y\ \mathrm{correct},\
  \log\pi(y) < \log\pi_{ref}(y)\}` ("On GRPO Collapse in Search-R1: The Lazy Likelihood-Displacement Death
  Spiral").
* :func:`conflict_token_mask` -- GTPO's protection of conflict tokens: the (sample, position) entries of
  negative-advantage completions whose (prefix node, token) also occurs in a positive-advantage completion of
  the same group ("GTPO: Trajectory-Based Policy Optimization in Large Language Models").
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError
from ..validation import as_float_array, check_positive_int
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
    "expected_abs_advantage",
    "max_variance_subset",
    "ema_baseline_advantages",
    "unified_pg_coefficients",
    "negative_likelihood_reward",
    "gaussian_step_log_ratio",
    "cvar_prompt_weights",
    "bgpo_bound",
    "nested_mc_variance",
    "drpo_positive_weights",
    "coverage_objective",
    "temperature_pull",
    "likelihood_preserving_coefficients",
    "conflict_token_mask",
    "surrogate_moments",
    "lp_reg_proxy",
    "lp_reg_coefficients",
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


def expected_abs_advantage(p, G: int | None = None):
    r""":math:`E|A|` for Bernoulli(``p``) rewards: :math:`2p(1-p)` with the exact baseline (``G=None``) and
    :math:`2p(1-p)(G-1)/G` with the mean of a group of ``G`` (per response; a group with ``k`` successes has
    mean absolute advantage :math:`2(k/G)(1-k/G)`, and :math:`E[k/G - (k/G)^2] = p(1-p)(1-1/G)`)."""
    p = as_float_array(p, "p")
    if ((p < 0) | (p > 1)).any():
        raise InvalidInputError("p: success probabilities must lie in [0, 1].")
    if G is None:
        return 2 * p * (1 - p)
    G = check_positive_int(G, "G", minimum=2)
    return 2 * p * (1 - p) * (G - 1) / G


def max_variance_subset(adv, k: int):
    """Indices of a size-``k`` subset of ``adv[G]`` with the largest (population) variance.

    For scalars an optimal subset consists of the ``j`` largest and ``k - j`` smallest values for some ``j``
    (moving a middle element outward never lowers the variance), so ``k + 1`` candidates are compared."""
    a = as_float_array(adv, "adv", ndim=1)
    k = check_positive_int(k, "k")
    if k > a.size:
        raise InvalidInputError(f"k = {k} exceeds the group size {a.size}.")
    order = np.argsort(a, kind="stable")
    best, best_v = None, -np.inf
    for j in range(k + 1):
        idx = np.concatenate([order[a.size - j:], order[:k - j]]) if j else order[:k]
        v = float(np.var(a[idx]))
        if v > best_v + 1e-15:
            best, best_v = idx, v
    return np.sort(best)


def ema_baseline_advantages(prompt_ids, rewards, baseline, rate: float):
    r"""Single-stream advantages over a stream of ``(prompt_ids[t], rewards[t])``.

    Each sample's advantage uses the tracker *before* its own reward enters it:
    :math:`A_t = r_t - b(x_t)`, then :math:`b(x_t) \leftarrow (1-lpha) b(x_t) + lpha r_t`. Returns
    ``(advantages, final_baseline)``; ``baseline`` (one entry per prompt) is not modified.
    """
    ids = np.asarray(prompt_ids)
    r = as_float_array(rewards, "rewards", ndim=1)
    b = as_float_array(baseline, "baseline", ndim=1).copy()
    if ids.shape != r.shape or not np.issubdtype(ids.dtype, np.integer):
        raise InvalidInputError(f"prompt_ids: expected {r.size} integer prompt ids (one per reward), got shape "
                                f"{ids.shape}, dtype {ids.dtype}.")
    if ((ids < 0) | (ids >= b.size)).any():
        raise InvalidInputError(f"prompt_ids: ids must index baseline (0..{b.size - 1}).")
    if not 0 < rate <= 1:
        raise InvalidInputError(f"rate = {rate!r} must lie in (0, 1].")
    A = np.empty_like(r)
    for t, (x, rt) in enumerate(zip(ids, r)):
        A[t] = rt - b[x]
        b[x] += rate * (rt - b[x])
    return A, b


def unified_pg_coefficients(adv, logp, logp_den, mask=None):
    r"""Coefficients of :math:`
abla\log\pi_	heta(y)` in the Unified Policy Gradient Estimator
    :math:`\mathbb 1_{stable}(y)\,\hat A(y)\,
abla\pi_	heta(y)/\pi_{den}(y)
    = \mathbb 1_{stable}\,\hat A\,(\pi_	heta/\pi_{den})\,
abla\log\pi_	heta`.

    SFT: demonstrations, :math:`\hat A = 1`, :math:`\pi_{den} = \pi_	heta`; REINFORCE/GRPO: on-policy
    samples, :math:`\pi_{den} = \pi_	heta`; PPO: samples from :math:`\pi_{old}`, :math:`\pi_{den} = \pi_{old}`,
    mask = not clipped."""
    A = as_float_array(adv, "adv")
    lp = as_float_array(logp, "logp")
    ld = as_float_array(logp_den, "logp_den")
    _same_shape("adv", A, "logp", lp)
    _same_shape("adv", A, "logp_den", ld)
    m = np.ones_like(A) if mask is None else np.asarray(mask, dtype=np.float64)
    if m.shape != A.shape:
        raise InvalidInputError(f"mask: shape {m.shape} must equal the shape of adv, {A.shape}.")
    return m * A * np.exp(lp - ld)


def negative_likelihood_reward(pi_y):
    r"""Reward :math:`-\pi(y)/(1-\pi(y))` such that :math:`
abla\log(1-\pi(y)) = r\,
abla\log\pi(y)`."""
    p = as_float_array(pi_y, "pi_y")
    if ((p < 0) | (p >= 1)).any():
        raise InvalidInputError("pi_y: probabilities must lie in [0, 1) (log(1 - pi) is -inf at pi = 1).")
    return -p / (1 - p)


def gaussian_step_log_ratio(x_next, mean_new, mean_old, sigma):
    r""":math:`\log\mathcal N(x'; \mu_{new}, s^2) - \log\mathcal N(x'; \mu_{old}, s^2)
    = ((x'-\mu_{old})^2 - (x'-\mu_{new})^2) / (2 s^2)` elementwise (broadcasting)."""
    x = as_float_array(x_next, "x_next")
    mn = as_float_array(mean_new, "mean_new")
    mo = as_float_array(mean_old, "mean_old")
    s = as_float_array(sigma, "sigma")
    if (s <= 0).any():
        raise InvalidInputError("sigma: transition standard deviations must be > 0.")
    return ((x - mo) ** 2 - (x - mn) ** 2) / (2 * s * s)


def cvar_prompt_weights(values, alphas=(0.25,), mix=None):
    r"""Weights ``w[n]`` (summing to 1) of a mixed lower-tail objective :math:`\sum_k m_k\,CVaR_{\alpha_k}` over
    per-prompt values ``values[n]``: :math:`CVaR_\alpha` averages the lowest :math:`\lceil\alpha N\rceil`
    prompts (ties broken by index), so its gradient is the average of those prompts' gradients. ``alphas=(1,)``
    is the mean objective."""
    v = as_float_array(values, "values", ndim=1)
    a = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if ((a <= 0) | (a > 1)).any():
        raise InvalidInputError(f"alphas = {alphas!r}: tail levels must lie in (0, 1].")
    m = np.full(a.size, 1.0 / a.size) if mix is None else as_float_array(mix, "mix", ndim=1)
    if m.shape != a.shape or (m < 0).any() or not np.isclose(m.sum(), 1.0):
        raise InvalidInputError("mix: one non-negative weight per tail level, summing to 1.")
    order = np.argsort(v, kind="stable")
    w = np.zeros(v.size)
    for ak, mk in zip(a, m):
        k = int(np.ceil(ak * v.size - 1e-12))
        w[order[:k]] += mk / k
    return w


def bgpo_bound(adv, x):
    r"""Per-group lower bound of :math:`A\exp(\bar x)` (see module docstring); ``x[..., K]`` holds the ``K`` Monte
    Carlo samples of the log-likelihood ratio, ``adv[...]`` the advantages. Returns the bound (same shape as
    ``adv``); each is a mean of single-sample terms, so gradients can be accumulated sample by sample."""
    A = as_float_array(adv, "adv")
    xs = as_float_array(x, "x")
    if xs.shape[:-1] != A.shape:
        raise InvalidInputError(f"x: shape {xs.shape} must be adv's shape {A.shape} plus a sample axis.")
    lin = A * np.mean(1.0 + xs, axis=-1)
    jen = A * np.mean(np.exp(xs), axis=-1)
    return np.where(A >= 0, lin, jen)


def nested_mc_variance(var_between: float, var_within: float, n_outer, n_inner):
    r""":math:`(\sigma_b^2 + \sigma_w^2/n_{in})/n_{out}` for ``n_outer`` outer draws (e.g. diffusion timesteps)
    with ``n_inner`` inner draws each (masks), :math:`\sigma_b^2` the variance of the conditional mean and
    :math:`\sigma_w^2` the mean conditional variance."""
    for name, v in (("var_between", var_between), ("var_within", var_within)):
        if not (np.isfinite(v) and v >= 0):
            raise InvalidInputError(f"{name} = {v!r} must be a finite number >= 0.")
    no = np.asarray(n_outer, dtype=np.float64)
    ni = np.asarray(n_inner, dtype=np.float64)
    if (no < 1).any() or (ni < 1).any():
        raise InvalidInputError("n_outer, n_inner: sample counts must be >= 1.")
    return (var_between + var_within / ni) / no


def drpo_positive_weights(rewards, correct, lam: float):
    r"""Weights ``w[n, i]`` of the correct rollouts of each group (0 for incorrect ones):
    :math:`w_i = e^{r_i/\lambda} / \mathrm{mean}_{j\in pos}e^{r_j/\lambda}` over the group's correct rollouts
    (``rewards[n, G]`` the length rewards, ``correct[n, G]`` bool). Always > 0 on correct rollouts: a longer
    correct answer is down-weighted but never pushed down."""
    r = as_float_array(rewards, "rewards", ndim=2)
    c = np.asarray(correct, dtype=bool)
    if c.shape != r.shape:
        raise InvalidInputError(f"correct: shape {c.shape} must equal the rewards' shape {r.shape}.")
    if not (np.isfinite(lam) and lam > 0):
        raise InvalidInputError(f"lam = {lam!r} must be a finite number > 0.")
    x = np.where(c, r / lam, -np.inf)
    m = np.max(x, axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.where(c, np.exp(x - m), 0.0)
    npos = c.sum(1, keepdims=True)
    mean = np.where(npos > 0, e.sum(1, keepdims=True) / np.maximum(npos, 1), 1.0)
    return e / mean


def coverage_objective(logits, correct, n: int):
    r"""``(value, grad_z)`` of :math:`\sum_{a\in C}[1 - (1 - \pi_a)^n]` for softmax ``logits[..., V]`` and a
    boolean ``correct[..., V]`` (broadcastable): the gradient is :math:`\pi\odot(d - \pi\cdot d)` with
    :math:`d_a = n(1-\pi_a)^{n-1} 1\{a\in C\}`."""
    z = as_float_array(logits, "logits")
    c = np.broadcast_to(np.asarray(correct, dtype=bool), z.shape)
    n = check_positive_int(n, "n")
    pi = softmax_xp(z)
    d = np.where(c, n * (1 - pi) ** (n - 1), 0.0)
    val = np.sum(np.where(c, 1 - (1 - pi) ** n, 0.0), axis=-1)
    return val, pi * (d - np.sum(pi * d, axis=-1, keepdims=True))


def temperature_pull(logits, T: float):
    r""":math:`\mathrm{softmax}(z/T) - \mathrm{softmax}(z)` along the last axis (see module docstring)."""
    z = as_float_array(logits, "logits")
    if not (np.isfinite(T) and T > 0):
        raise InvalidInputError(f"T = {T!r} must be a finite temperature > 0.")
    return softmax_xp(z / T) - softmax_xp(z)


def likelihood_preserving_coefficients(adv, logp, logp_ref, correct, lam: float):
    r"""Coefficients of :math:`\nabla\log\pi(y)`: ``adv + lam * (correct & (logp < logp_ref))``."""
    A = as_float_array(adv, "adv")
    lp = as_float_array(logp, "logp")
    lr = as_float_array(logp_ref, "logp_ref")
    c = np.asarray(correct, dtype=bool)
    _same_shape("adv", A, "logp", lp)
    _same_shape("adv", A, "logp_ref", lr)
    if c.shape != A.shape:
        raise InvalidInputError(f"correct: shape {c.shape} must equal the shape of adv, {A.shape}.")
    if not (np.isfinite(lam) and lam >= 0):
        raise InvalidInputError(f"lam = {lam!r} must be a finite number >= 0.")
    return A + lam * (c & (lp < lr))


def conflict_token_mask(nodes, tokens, adv):
    """Boolean ``[n_groups, G, T]`` mask of conflict entries (see module docstring) for ``nodes``/``tokens``
    ``[n_groups, G, T]`` (-1 padded) and advantages ``adv[n_groups, G]``; zero the negative coefficients there
    to protect shared tokens."""
    nd = np.asarray(nodes)
    tk = np.asarray(tokens)
    A = as_float_array(adv, "adv", ndim=2)
    if nd.shape != tk.shape or nd.ndim != 3 or nd.shape[:2] != A.shape:
        raise InvalidInputError(f"nodes, tokens: expected shape {A.shape + ('T',)} matching adv, got {nd.shape} "
                                f"and {tk.shape}.")
    key = np.where(tk >= 0, nd * (tk.max() + 2) + tk, -1)  # one integer per (node, token)
    mask = np.zeros(nd.shape, bool)
    for k in range(A.shape[0]):
        pos = key[k][A[k] > 0]
        shared = np.isin(key[k], pos[pos >= 0])
        mask[k] = shared & (A[k] < 0)[:, None] & (key[k] >= 0)
    return mask


def surrogate_moments(mu, pi, adv, *, drop: float | None = None):
    r"""Exact mean and variance of one importance-sampled surrogate term :math:`X = r(a)A(a)\,1\{a\ \text{kept}\}`,
    :math:`a\sim\mu`, :math:`r = \pi/\mu` ("Dropout Strategy in Reinforcement Learning: Limiting the Surrogate
    Objective Variance in Policy Optimization Methods"; the surrogate of TRPO/PPO is the mean of such terms).

    Without dropout (``drop=None``) :math:`E X = E_\pi[A]` (the surrogate) and
    :math:`\mathrm{Var}\,X = E_\mu[r^2A^2] - (E_\pi A)^2`. With ``drop = delta`` a sample is kept iff
    :math:`|r(a) - 1| \le \delta` (ratio-deviation dropout), so
    :math:`\mathrm{Var}\,X \le E_\mu[r^2A^2 1\{kept\}] \le (1+\delta)^2 E_\mu[A^2]` at every ``pi``.
    Returns ``(mean, second_moment, variance)`` (arrays over leading axes)."""
    m = _probs(mu, "mu")
    p = _probs(pi, "pi")
    A = as_float_array(adv, "adv")
    _same_shape("mu", m, "pi", p)
    _same_shape("mu", m, "adv", A)
    if (m <= 0).any():
        raise InvalidInputError("mu: the behaviour policy must be > 0 on every action (importance ratios).")
    r = p / m
    keep = np.ones_like(r, dtype=bool)
    if drop is not None:
        if not (np.isfinite(drop) and drop > 0):
            raise InvalidInputError(f"drop = {drop!r} must be a finite number > 0 (or None for no dropout).")
        keep = np.abs(r - 1.0) <= drop
    x = np.where(keep, r * A, 0.0)
    mean = np.sum(m * x, -1)
    second = np.sum(m * x * x, -1)
    return mean, second, second - mean ** 2


def lp_reg_proxy(pi, tau: float):
    r"""Lp-Reg's proxy ("Low-probability Tokens Sustain Exploration in Reinforcement Learning with Verifiable
    Reward"): tokens with :math:`\pi(o) \le \tau` are presumed noise and removed, the rest renormalized,
    :math:`\pi_{proxy}(o) = \pi(o)1\{\pi(o) > \tau\}/Z`. Rows whose every token is filtered keep ``pi``."""
    p = _probs(pi)
    if not (np.isfinite(tau) and 0 <= tau < 1):
        raise InvalidInputError(f"tau = {tau!r} must lie in [0, 1) (the noise threshold on probabilities).")
    keep = p > tau
    q = np.where(keep, p, 0.0)
    Z = q.sum(-1, keepdims=True)
    return np.where(Z > 0, q / np.where(Z > 0, Z, 1.0), p)


def lp_reg_coefficients(adv, p_sampled, *, low: float, tau: float):
    r"""Per-sample policy-gradient coefficients of Lp-Reg: a sampled token that is low-probability
    (:math:`\tau < \pi(o) < \text{low}`, i.e. kept by :func:`lp_reg_proxy` but rare) and has a negative
    advantage is shielded (coefficient 0; the KL pull :math:`\beta(\pi_{proxy} - \pi)` toward the proxy then
    acts on it instead of the penalty). Every other sample keeps its advantage. Returns ``(coef, shielded)``."""
    A = as_float_array(adv, "adv")
    ps = as_float_array(p_sampled, "p_sampled")
    _same_shape("adv", A, "p_sampled", ps)
    if not (0 <= tau < low <= 1):
        raise InvalidInputError(f"tau = {tau!r}, low = {low!r}: need 0 <= tau < low <= 1.")
    shield = (A < 0) & (ps > tau) & (ps < low)
    return np.where(shield, 0.0, A), shield
