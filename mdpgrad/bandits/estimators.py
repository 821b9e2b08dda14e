r"""Group-relative policy-gradient estimators for LLM-style RL (rlax style: one core, variants as options).

Every estimator here is a *per-sample coefficient* ``c`` such that the gradient estimate is

.. math:: \hat g = \sum_{n}\sum_{i}\sum_t c_{n,i,t}\,\nabla_\theta\log\pi_\theta(y_{n,i,t}\mid \text{prefix}),

i.e. ``c = d(-loss)/d log pi(token)`` with everything else held fixed. The coefficient is a
product of three small pieces, each a pure function below:

1. the **advantage** of response ``i`` in its group of ``G`` (:func:`group_advantages`):
   REINFORCE, RLOO, GRPO (mean/std), Dr. GRPO, ReMax, REINFORCE++, GPG, BNPO;
2. the **aggregation weight** over tokens and responses (:func:`aggregation_weights`):
   GRPO's sequence-mean-token-mean, DAPO's token-mean, Dr. GRPO's constant, Delta-L;
3. the **off-policy correction** of each token (:func:`ratio_coefficients`): none, importance
   sampling, PPO/GRPO clipping with a stale behaviour policy, tapered off-policy REINFORCE.

Plus KL penalties k1/k2/k3 (:func:`kl_estimates`, :func:`kl_loss_coefficients`), the
max@k / pass@k objective (:func:`maxk_coefficients`), entropy control (Clip-Cov and KL-Cov:
:func:`clip_cov_mask`, :func:`kl_cov_coefficients`), OPMD's squared loss (:func:`opmd_coefficients`)
and AsymRE's lowered baseline (``baseline_shift``), exact expectations of group estimators
for Bernoulli rewards (:func:`exact_expected_group_gradient`), one estimator step of a
:class:`~mdpgrad.bandits.model.ContextualBandit` on any backend (:func:`estimate_group_gradient`) and a
token-level group step on a :class:`~mdpgrad.bandits.sequence.SequenceModel`
(:func:`sequence_group_gradient`).

Arrays have the prompt axis first and the group axis second (``rewards[n, g]``). The advantage
functions are written against ``xp`` (NumPy or CuPy) so they run on either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.special
import scipy.stats
from array_api_compat import is_numpy_namespace

from .._compat import renamed
from ..backend import array_namespace, get_backend
from ..errors import InvalidInputError
from ..validation import (
    as_float_array,
    check_choice,
    check_distribution,
    check_float,
    check_indices,
    check_int,
    check_nonnegative,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_real_finite,
)
from .model import ContextualBandit, as_rng, log_softmax_xp, logit_gradient, sample_actions

__all__ = [
    "ADVANTAGES",
    "AGGREGATIONS",
    "CORRECTIONS",
    "group_advantages",
    "aggregation_weights",
    "ratio_coefficients",
    "kl_estimates",
    "kl_loss_coefficients",
    "maxk_exact",
    "maxk_coefficients",
    "clip_cov_mask",
    "kl_cov_coefficients",
    "zero_variance_fraction",
    "exact_expected_group_gradient",
    "GroupGradientEstimate",
    "group_gradient_replicates",
    "grpo_entropy_run",
    "estimate_group_gradient",
    "bnpo_normalizer",
    "sequence_group_gradient",
    "opmd_coefficients",
    "group_gradients",
    "group_gradient_replicates",
    "grpo_entropy_run",
    "rpg_coefficients",
]

ADVANTAGES = ("reinforce", "mean", "rloo", "grpo", "drgrpo", "remax", "reinforce++", "reinforce++-baseline",
              "gpg", "bnpo")
AGGREGATIONS = ("sequence", "seq-mean-token-mean", "token-mean", "drgrpo", "deltaL")
CORRECTIONS = ("none", "is", "ppo", "topr")


def _check_rewards(rewards):
    xp = array_namespace(rewards)
    if is_numpy_namespace(xp):
        r = as_float_array(rewards, "rewards")
    else:
        r = rewards if rewards.dtype == xp.float64 else xp.astype(rewards, xp.float64)
    if r.ndim not in (2, 3):
        raise InvalidInputError(f"rewards: expected a 2-D array [n_prompts, G] (or [M, n_prompts, G] for M "
                                f"independent batches), got shape {tuple(r.shape)}.")
    if is_numpy_namespace(xp) and not np.all(np.isfinite(r)):
        idx = np.argwhere(~np.isfinite(r))[0]
        raise InvalidInputError(f"rewards[{', '.join(str(i) for i in idx)}] = {r[tuple(idx)]!r} is not finite.")
    return xp, r


#: Smallest accepted log-probability: e^-700 ~ 1e-304 is the float64 floor; below it exp(-l) overflows.
LOGP_MIN = -700.0  # also bounds differences of log-weights: exp(+-700) is finite


def _check_logps(upper: float = 0.0, ratios=(), **arrays):
    """Host log-probability arrays: real, finite, at most ``upper``, all of one shape.

    ``upper = 0``: log-probabilities, also at least ``LOGP_MIN`` (``exp(-l)`` must stay finite). Log-weights
    of ratio corrections (``upper > 0``) only need finite values; ``ratios`` names the pairs ``(num, den)``
    whose ``exp(num - den)`` the caller computes: those differences must stay at most ``-LOGP_MIN``.
    """
    shape = None
    host = {}
    for name, x in arrays.items():
        if x is None:
            raise InvalidInputError(f"{name}: missing; pass the log-probabilities as an array [n, G].")
        if hasattr(x, "__cuda_array_interface__"):
            continue
        a = as_float_array(x, name)
        if a.ndim == 0 or a.size == 0:
            raise InvalidInputError(f"{name}: expected log-probabilities [n, G], got shape {a.shape}.")
        bad = (a > upper + 1e-12) | ((a < LOGP_MIN) if upper == 0.0 else ~np.isfinite(a))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            lo = f"{LOGP_MIN:g}" if upper == 0.0 else "-inf"
            raise InvalidInputError(f"{name}{list(idx)} = {a[idx]:.6g} is not a log-probability in "
                                    f"[{lo}, {upper:g}]; pass log pi(y), e.g. from log_softmax.")
        if shape is not None and a.shape != shape:
            raise InvalidInputError(f"{name}: shape {a.shape} differs from {shape} of the other arrays.")
        shape = a.shape
        host[name] = a
    for num, den in ratios:
        if num in host and den in host:
            d = host[num] - host[den]
            if d.max() > -LOGP_MIN:
                idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(d)), d.shape))
                raise InvalidInputError(f"{num} - {den} = {d[idx]:.6g} at {list(idx)}: the ratio exp({num} - {den}) "
                                        f"overflows float64 (differences must stay <= {-LOGP_MIN:g}).")


def _threshold(x, name: str) -> float:
    """A real threshold; +-inf allowed (no bound), NaN and non-numbers not."""
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and np.isinf(x):
        return float(x)
    return check_float(x, name, what="a threshold (+-inf for none)")


def bnpo_normalizer(p, a: float, b: float, *, normalized: bool = True):
    r"""BNPO's normalizer: the Beta(a, b) density at the success probability ``p``.

    BNPO (Xiao et al. 2025, "BNPO: Beta Normalization Policy Optimization") uses
    :math:`A = (r - p) / f_{a,b}(p)`. ``a = b = 1`` gives ``f = 1`` (REINFORCE with baseline
    ``p``); ``a = b = 3/2`` gives :math:`f = \sqrt{p(1-p)}/B(3/2, 3/2)` (GRPO's std, up to the
    constant :math:`B(3/2,3/2) = \pi/8`). For ``p ~ Beta(alpha, beta)`` the variance-minimizing
    density normalizer is ``Beta(1 + alpha/3, 1 + beta/3)`` (see the claim
    ``bnpo-beta-normalization`` in ``theory/llm_rl.py`` for the derivation).

    ``normalized=False`` drops the constant :math:`1/B(a, b)` (the unnormalized kernel
    :math:`p^{a-1}(1-p)^{b-1}`): a documented wrong variant, used as a negative control.
    """
    xp = array_namespace(p)
    check_real_finite(p, "p")
    if not hasattr(p, "__cuda_array_interface__") and np.any((np.asarray(p) < 0) | (np.asarray(p) > 1)):
        raise InvalidInputError("p: success probabilities must lie in [0, 1].")
    a = check_positive_float(a, "a", what="Beta parameter (bnpo_ab[0])")
    b = check_positive_float(b, "b", what="Beta parameter (bnpo_ab[1])")
    logB = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b) if normalized else 0.0
    with np.errstate(divide="ignore"):
        return xp.exp((a - 1) * xp.log(p) + (b - 1) * xp.log1p(-p) - logB)


def group_advantages(rewards, method: str = "rloo", *, baseline=None, eps: float = 1e-6, ddof: int = 1,
                     bnpo_ab=(1.5, 1.5), p=None, baseline_shift: float = 0.0):
    r"""Advantages ``A[n, i]`` of the ``G`` responses of each prompt.

    ``rewards[n, i]``, or ``rewards[m, n, i]`` for ``M`` independent batches: the statistics that
    couple the prompts of a batch (``"gpg"``, ``"reinforce++"``) are then taken per batch ``m``.

    Methods (``r`` the group's rewards, :math:`\bar r` their mean, :math:`s` their std):

    * ``"reinforce"``: :math:`A_i = r_i - b` with a fixed ``baseline`` ``b`` (0 if None) --
      Williams (1992).
    * ``"mean"``: :math:`r_i - \bar r` (group-mean baseline; biased by the factor (G-1)/G).
    * ``"rloo"``: :math:`r_i - \frac{1}{G-1}\sum_{j\ne i} r_j = \frac{G}{G-1}(r_i - \bar r)` --
      Kool et al. (2019); Ahmadian et al. (2024); "A Simple and Effective Reinforcement Learning
      Method for Text-to-Image Diffusion Fine-tuning" (LOOP).
    * ``"grpo"``: :math:`(r_i - \bar r)/(s + \epsilon)`, ``s`` with ``ddof`` (1 as torch/TRL) --
      Shao et al. (2024), DeepSeekMath.
    * ``"drgrpo"``: :math:`r_i - \bar r` (no std; pair with aggregation ``"drgrpo"``) -- Liu et
      al. (2025), "Understanding R1-Zero-like training".
    * ``"remax"``: :math:`r_i - r(\text{greedy})`, ``baseline[n]`` = reward of the greedy
      response -- "ReMax: A Simple, Effective, and Efficient Reinforcement Learning Method for
      Aligning Large Language Models".
    * ``"reinforce++"``: :math:`(r - \mathrm{mean}_{batch}) / \mathrm{std}_{batch}` over all
      prompts; ``"reinforce++-baseline"`` subtracts the group mean first -- Hu (2025).
    * ``"gpg"``: :math:`\alpha (r_i - \bar r)`, :math:`\alpha = N / (N - N_{0})` with
      :math:`N_0` the prompts whose group has zero reward variance -- "GPG: A Simple and Strong
      Reinforcement Learning Baseline for Model Reasoning".
    * ``"bnpo"``: :math:`(r_i - p)/f_{a,b}(p)` with the Beta density ``f`` (:func:`bnpo_normalizer`,
      ``bnpo_ab=(a, b)``) and ``p`` the given success probability per prompt or the group mean --
      "BNPO: Beta Normalization Policy Optimization".

    ``baseline_shift = delta`` lowers the baseline by ``delta`` (adds ``delta`` to every advantage):
    AsymRE's asymmetric REINFORCE (Arnal et al. 2025). Off-policy, with data from ``mu``, it adds
    ``delta * grad sum_y mu(y) log pi(y)`` (a pull toward the behaviour data) to the expected
    update -- "Group-Relative REINFORCE Is Secretly an Off-Policy Algorithm: Demystifying Some
    Myths About GRPO and Its Friends".
    """
    check_choice(method, "method", ADVANTAGES)
    eps = check_nonnegative_float(eps, "eps", what="added to the std")
    ddof = check_int(ddof, "ddof", minimum=0)
    baseline_shift = check_float(baseline_shift, "baseline_shift")
    if baseline is not None:
        check_real_finite(baseline, "baseline")
    if p is not None:
        check_real_finite(p, "p")
    A = _group_advantages(rewards, method, baseline=baseline, eps=eps, ddof=ddof, bnpo_ab=bnpo_ab, p=p)
    return A + baseline_shift if baseline_shift else A


def _group_advantages(rewards, method, *, baseline, eps, ddof, bnpo_ab, p):
    xp, r = _check_rewards(rewards)
    N, G = r.shape[-2:]
    if method not in ADVANTAGES:
        raise InvalidInputError(f"method = {method!r} is not known; choose one of {ADVANTAGES}.")
    if method in ("rloo", "grpo", "gpg") and G < 2:
        raise InvalidInputError(f"G = {G}: method {method!r} needs at least 2 responses per prompt.")
    mean = xp.mean(r, axis=-1, keepdims=True)
    batch = (-2, -1)  # the axes of one batch (prompt-coupled statistics)
    if method == "reinforce":
        b = 0.0 if baseline is None else xp.reshape(xp.asarray(baseline, dtype=xp.float64), (-1, 1))
        return r - b
    if method == "remax":
        if baseline is None:
            raise InvalidInputError("baseline: method 'remax' needs baseline[n] = reward of the greedy response.")
        return r - xp.reshape(xp.asarray(baseline, dtype=xp.float64), (-1, 1))
    if method in ("mean", "drgrpo"):
        return r - mean
    if method == "rloo":
        return (r - mean) * (G / (G - 1))
    if method == "grpo":
        return (r - mean) / (xp.std(r, axis=-1, correction=ddof, keepdims=True) + eps)
    if method == "reinforce++":
        return (r - xp.mean(r, axis=batch, keepdims=True)) / (xp.std(r, axis=batch, keepdims=True) + eps)
    if method == "reinforce++-baseline":
        c = r - mean
        return c / (xp.std(c, axis=batch, keepdims=True) + eps)
    if method == "gpg":
        zero = xp.all(r == r[..., :1], axis=-1)
        n_valid = N - xp.sum(xp.astype(zero, r.dtype), axis=-1, keepdims=True)
        ok = n_valid > 0
        alpha = xp.where(ok, N / xp.where(ok, n_valid, xp.ones_like(n_valid)), xp.zeros_like(n_valid))
        return alpha[..., None] * (r - mean)
    # bnpo
    pp = mean if p is None else xp.reshape(xp.asarray(p, dtype=xp.float64), (-1, 1))
    f = bnpo_normalizer(xp.clip(pp, 1e-12, 1 - 1e-12), *bnpo_ab)
    return (r - pp) / f


def opmd_coefficients(rewards, logp, logp_old, tau: float):
    r"""Per-sample ``d(-loss)/d log pi`` of the OPMD squared loss (Kimi k1.5; OPMD as regularized REINFORCE).

    .. math:: \ell_i = \big(r_i - \tau\log\hat Z - \tau(\log\pi(y_i) - \log\pi_{old}(y_i))\big)^2,
       \qquad \tau\log\hat Z = \tau\log\frac1G\sum_j e^{r_j/\tau},

    whose minimizer over ``pi`` (on the support of the data, whatever distribution produced it) is
    :math:`\pi_{old}\,e^{r/\tau}/Z` -- "Group-Relative REINFORCE Is Secretly an Off-Policy
    Algorithm". Returns ``2 tau * residual`` per sample (the loss is averaged by the caller).
    ``rewards``, ``logp``, ``logp_old``: ``[n, G]``.
    """
    tau = check_positive_float(tau, "tau", what="OPMD temperature")
    _check_logps(upper=-LOGP_MIN / 2, logp=logp, logp_old=logp_old)
    xp, r = _check_rewards(rewards)
    if tuple(r.shape) != tuple(np.shape(logp)):
        raise InvalidInputError(f"rewards: shape {tuple(r.shape)} differs from logp's {np.shape(logp)}.")
    rmax = xp.max(r, axis=1, keepdims=True)
    logZ = tau * xp.log(xp.mean(xp.exp((r - rmax) / tau), axis=1, keepdims=True)) + rmax  # tau log mean e^{r/tau}
    res = r - logZ - tau * (logp - logp_old)
    return 2 * tau * res


def aggregation_weights(lengths, aggregation: str = "seq-mean-token-mean", *, max_len: int | None = None,
                        alpha: float = 1.0):
    r"""Per-response weights ``w[n, i]`` multiplying :math:`A_i \sum_t \nabla\log\pi(y_{i,t})`.

    With :math:`L_i` the response lengths and :math:`M` = ``max_len``:

    * ``"sequence"``: :math:`1/G` (sum over tokens; the unbiased REINFORCE weighting);
    * ``"seq-mean-token-mean"``: :math:`1/(G L_i)` (GRPO, Shao et al. 2024) -- length-biased;
    * ``"token-mean"``: :math:`1/\sum_j L_j` over the prompt's group (DAPO, Yu et al. 2025);
    * ``"drgrpo"``: :math:`1/(G M)` (Dr. GRPO, Liu et al. 2025) -- a constant;
    * ``"deltaL"``: :math:`\frac1M L_i^{-\alpha} / \sum_j L_j^{-\alpha}` ("ΔL Normalization:
      Rethink Loss Aggregation in RLVR"); ``alpha = 1`` is the minimum-variance unbiased
      weighting when the per-response gradient variance grows like :math:`L_i`.
    """
    xp = array_namespace(lengths)
    check_real_finite(lengths, "lengths")
    check_choice(aggregation, "aggregation", AGGREGATIONS)
    alpha = check_float(alpha, "alpha")
    if max_len is not None:
        max_len = check_positive_int(max_len, "max_len")
    L = xp.asarray(lengths, dtype=xp.float64)
    if L.ndim != 2:
        raise InvalidInputError(f"lengths: expected [n_prompts, G], got shape {tuple(L.shape)}.")
    if bool(xp.any(L < 1)):
        raise InvalidInputError("lengths: every response needs length >= 1.")
    if aggregation not in AGGREGATIONS:
        raise InvalidInputError(f"aggregation = {aggregation!r} is not known; choose one of {AGGREGATIONS}.")
    G = L.shape[1]
    if aggregation == "sequence":
        return xp.full(L.shape, 1.0 / G, dtype=xp.float64)
    if aggregation == "seq-mean-token-mean":
        return 1.0 / (G * L)
    if aggregation == "token-mean":
        return xp.asarray(xp.broadcast_to(1.0 / xp.sum(L, axis=1, keepdims=True), L.shape), copy=True)
    if max_len is None:
        raise InvalidInputError(f"max_len: aggregation {aggregation!r} needs the maximal generation length.")
    if aggregation == "drgrpo":
        return xp.full(L.shape, 1.0 / (G * max_len), dtype=xp.float64)
    w = L ** (-alpha)
    return w / (max_len * xp.sum(w, axis=1, keepdims=True))


def ratio_coefficients(adv, logp, logp_old=None, correction: str = "none", *, clip_eps=0.2, clip_high=None,
                       rewards=None):
    r"""Off-policy factor ``d(surrogate)/d log pi`` divided by the advantage, per token.

    With :math:`\rho = \pi/\mu` (``mu`` = the behaviour / old policy that sampled the data):

    * ``"none"``: 1 (on-policy REINFORCE);
    * ``"is"``: :math:`\rho` (importance sampling);
    * ``"ppo"``: :math:`\rho\,1[\text{not clipped}]` -- the gradient of
      :math:`\min(\rho A, \mathrm{clip}(\rho, 1-\epsilon_{lo}, 1+\epsilon_{hi}) A)`
      (Schulman et al. 2017, "Proximal Policy Optimization Algorithms"; GRPO uses it per token);
      ``clip_high`` gives DAPO's asymmetric clip-higher;
    * ``"topr"``: 1 for responses with ``rewards >= 0`` and :math:`\min(\rho, 1)` for negative
      ones -- "Tapered Off-Policy REINFORCE: Stable and efficient reinforcement learning for LLMs".
    """
    xp = array_namespace(adv)
    check_real_finite(adv, "adv")
    _check_logps(upper=-LOGP_MIN / 2, ratios=(("logp", "logp_old"),), logp=logp,
                 **({} if logp_old is None else {"logp_old": logp_old}))
    if not hasattr(adv, "__cuda_array_interface__") and np.shape(adv) != np.shape(logp):
        raise InvalidInputError(f"adv: shape {np.shape(adv)} differs from logp's {np.shape(logp)}.")
    if rewards is not None:
        check_real_finite(rewards, "rewards")
    clip_eps = check_nonnegative_float(clip_eps, "clip_eps", what="PPO clip range")
    if clip_high is not None:
        clip_high = check_nonnegative_float(clip_high, "clip_high", what="upper clip range (clip-higher)")
    if correction not in CORRECTIONS:
        raise InvalidInputError(f"correction = {correction!r} is not known; choose one of {CORRECTIONS}.")
    if correction == "none":
        return xp.ones_like(adv)
    if logp_old is None:
        raise InvalidInputError(f"logp_old: correction {correction!r} needs the behaviour log-probabilities.")
    rho = xp.exp(logp - logp_old)
    if correction == "is":
        return rho
    if correction == "ppo":
        hi = 1 + (clip_eps if clip_high is None else clip_high)
        lo = 1 - clip_eps
        clipped = ((adv > 0) & (rho > hi)) | ((adv < 0) & (rho < lo))
        return xp.where(clipped, 0.0, rho)
    if rewards is None:
        raise InvalidInputError("rewards: correction 'topr' needs the rewards (their sign picks the branch).")
    return xp.where(rewards >= 0, 1.0, xp.minimum(rho, 1.0))


def kl_estimates(logp, logp_ref):
    r"""The k1, k2, k3 single-sample estimates of :math:`KL(\pi\,\|\,\pi_{ref})` for ``y ~ pi``.

    With :math:`\ell = \log\pi(y) - \log\pi_{ref}(y)` (Schulman 2020, "Approximating KL
    divergence"): ``k1 = l`` (unbiased), ``k2 = l^2/2`` (biased, low variance),
    ``k3 = exp(-l) - 1 + l`` (unbiased, >= 0; "KL3" of "A Unified Framework for Rethinking
    Policy Divergence Measures in GRPO"). Returns ``(k1, k2, k3)``.
    """
    xp = array_namespace(logp)
    _check_logps(upper=-LOGP_MIN / 2, ratios=(("logp_ref", "logp"),), logp=logp, logp_ref=logp_ref)
    lr = logp - logp_ref
    return lr, 0.5 * lr * lr, xp.expm1(-lr) + lr


def kl_loss_coefficients(logp, logp_ref, kind: str = "k3"):
    r"""``d k(y) / d log pi(y)`` when the KL estimate ``k`` is *differentiated as a loss* (``y`` fixed).

    ``"k1"``: 1 (expectation 0: no gradient at all); ``"k2"``: :math:`\ell` (expectation
    :math:`\nabla KL(\pi\|\pi_{ref})`, the reverse KL); ``"k3"``: :math:`1 - e^{-\ell}`
    (expectation :math:`\nabla KL(\pi_{ref}\|\pi)`, the *forward* KL); ``"k1-score"``:
    :math:`\ell` (k1 used as a reward in REINFORCE: :math:`\nabla E[k_1] = E[\ell\nabla\log\pi]`).
    See "On the Design of KL-Regularized Policy Gradient Algorithms for LLM Reasoning" and
    "KDRL: Post-Training Reasoning LLMs via Unified Knowledge Distillation and Reinforcement
    Learning".
    """
    xp = array_namespace(logp)
    _check_logps(upper=-LOGP_MIN / 2, ratios=(("logp_ref", "logp"),), logp=logp, logp_ref=logp_ref)
    lr = logp - logp_ref
    if kind == "k1":
        return xp.ones_like(lr)
    if kind in ("k2", "k1-score"):
        return lr
    if kind == "k3":
        return -xp.expm1(-lr)
    raise InvalidInputError(f"kind = {kind!r} is not known; choose 'k1', 'k2', 'k3' or 'k1-score'.")


def maxk_exact(pi, values, k: int):
    r"""Exact :math:`\mathrm{max@}k = E[\max(r_1..r_k)]` for ``k`` iid draws of a categorical
    policy ``pi[..., K]`` with deterministic rewards ``values[..., K]``, and its logit gradient.

    Sorting arms by value, with :math:`F_j = \sum_{m\le j}\pi_{(m)}`:
    :math:`\mathrm{max@}k = \sum_j r_{(j)}(F_j^k - F_{j-1}^k)`; its derivative in :math:`F_j`
    is :math:`k F_j^{k-1}(r_{(j)} - r_{(j+1)})` (with :math:`r_{(K+1)} = 0`), so
    :math:`\partial/\partial\pi_{(m)} = \sum_{j\ge m}` of those and the logit gradient is
    :math:`\pi\odot(\partial_\pi - \langle\pi,\partial_\pi\rangle)`. Binary rewards give
    pass@k :math:`= 1-(1-p)^k`. ("The Best of N Worlds: Aligning Reinforcement Learning with
    Best-of-N Sampling via max@k Optimisation".) Returns ``(value, grad_logits)``.
    """
    k = check_positive_int(k, "k")
    pi = check_distribution(pi, "pi", ndim=np.ndim(pi) or 1)
    vals = as_float_array(values, "values", shape=pi.shape)
    order = np.argsort(vals, axis=-1, kind="stable")
    ps = np.take_along_axis(pi, order, -1)
    vs = np.take_along_axis(vals, order, -1)
    F = np.cumsum(ps, axis=-1)
    Fm = np.concatenate([np.zeros_like(F[..., :1]), F[..., :-1]], axis=-1)
    value = np.sum(vs * (F**k - Fm**k), axis=-1)
    vnext = np.concatenate([vs[..., 1:], np.zeros_like(vs[..., :1])], axis=-1)
    dF = k * F ** (k - 1) * (vs - vnext)
    dp_sorted = np.cumsum(dF[..., ::-1], axis=-1)[..., ::-1]
    dp = np.empty_like(dp_sorted)
    np.put_along_axis(dp, order, dp_sorted, -1)
    grad = pi * (dp - np.sum(pi * dp, axis=-1, keepdims=True))
    return value, grad


def maxk_coefficients(rewards, k: int, weights=None):
    r"""Unbiased score-function coefficients for :math:`\nabla\,\mathrm{max@}k` from ``n >= k`` samples.

    The U-statistic :math:`\binom nk^{-1}\sum_{|S|=k} \max_{j\in S} r_j \sum_{j\in S}\nabla\log\pi(y_j)`
    is unbiased (score function on each k-subset), so sample ``i`` gets
    :math:`c_i = \binom nk^{-1}\sum_{S\ni i}\max_S r`. With the rewards sorted ascending
    (ties in any order): :math:`c_{(i)} = \binom nk^{-1}[r_{(i)}\binom{i-1}{k-1} +
    \sum_{m>i} r_{(m)}\binom{m-2}{k-2}]`. Off-policy (samples from ``mu``), ``weights`` =
    :math:`\pi/\mu` per sample enter as the product over each subset, computed by enumerating
    subsets (``n <= 12``). ``rewards[..., n]``.
    """
    k = check_positive_int(k, "k")
    r = as_float_array(rewards, "rewards")
    if r.ndim == 0:
        raise InvalidInputError("rewards: expected rewards[..., n], got a scalar.")
    n = r.shape[-1]
    if k > n:
        raise InvalidInputError(f"k = {k} exceeds the number of samples n = {n}; max@k needs n >= k.")
    if weights is not None:
        import itertools

        if n > 12:
            raise InvalidInputError(f"weights: off-policy max@k enumerates subsets; n = {n} > 12 is too many.")
        w = as_float_array(weights, "weights", shape=r.shape)
        check_nonnegative(w, "weights")
        c = np.zeros_like(r)
        for S in itertools.combinations(range(n), k):
            S = list(S)
            term = np.max(r[..., S], axis=-1) * np.prod(w[..., S], axis=-1)
            for j in S:
                c[..., j] += term
        return c / math.comb(n, k)
    order = np.argsort(r, axis=-1, kind="stable")
    rs = np.take_along_axis(r, order, -1)
    i = np.arange(1, n + 1)
    own = rs * np.array([math.comb(j - 1, k - 1) for j in i], dtype=np.float64)
    if k >= 2:
        tail_w = np.array([math.comb(m - 2, k - 2) if m >= 2 else 0 for m in i], dtype=np.float64)
        tw = rs * tail_w
        # sum_{m > i} tw[m]
        suffix = np.cumsum(tw[..., ::-1], axis=-1)[..., ::-1]
        after = np.concatenate([suffix[..., 1:], np.zeros_like(suffix[..., :1])], axis=-1)
    else:
        after = 0.0
    cs = (own + after) / math.comb(n, k)
    c = np.empty_like(cs)
    np.put_along_axis(c, order, cs, -1)
    return c


def clip_cov_mask(logp, adv, *, clip_ratio: float = 2e-4, cov_low: float = 1.0, cov_high: float = 5.0, rng=None):
    r"""Clip-Cov: detach the gradient of a random ``clip_ratio`` fraction of the tokens whose
    centered covariance :math:`(\log\pi - \overline{\log\pi})(A - \bar A)` lies in
    ``[cov_low, cov_high]`` ("The Entropy Mechanism of Reinforcement Learning for Reasoning
    Language Models", Cui et al. 2025). Returns a 0/1 mask (1 = keep), NumPy arrays.
    """
    rng = as_rng(rng)
    _check_logps(upper=-LOGP_MIN / 2, logp=logp)
    lp = as_float_array(logp, "logp")
    a = as_float_array(adv, "adv", shape=lp.shape)
    clip_ratio = check_float(clip_ratio, "clip_ratio", lo=0.0, hi=1.0, what="fraction of tokens")
    cov_low, cov_high = _threshold(cov_low, "cov_low"), _threshold(cov_high, "cov_high")
    if cov_high < cov_low:
        raise InvalidInputError(f"cov_high = {cov_high!r} < cov_low = {cov_low!r}; the window is empty.")
    cov = (lp - lp.mean()) * (a - a.mean())
    cand = np.flatnonzero((cov >= cov_low) & (cov <= cov_high))
    n_clip = min(cand.size, int(math.ceil(clip_ratio * lp.size)))
    mask = np.ones(lp.size)
    if n_clip:
        mask[rng.choice(cand, n_clip, replace=False)] = 0.0
    return mask.reshape(lp.shape)


def kl_cov_coefficients(logp, logp_old, adv, *, top_ratio: float = 2e-3, beta: float = 1.0):
    r"""KL-Cov: the tokens with the top ``top_ratio`` centered covariance get the penalty
    :math:`\beta|\log\pi - \log\pi_{old}|` (Cui et al. 2025). Returns ``d(-penalty)/d log pi``
    per token (``-beta sign(log pi - log pi_old)`` on the selected tokens, 0 elsewhere), to add
    to the policy-gradient coefficients.
    """
    _check_logps(upper=-LOGP_MIN / 2, logp=logp, logp_old=logp_old)
    lp = as_float_array(logp, "logp")
    a = as_float_array(adv, "adv", shape=lp.shape)
    top_ratio = check_float(top_ratio, "top_ratio", lo=0.0, hi=1.0, what="fraction of tokens")
    beta = check_nonnegative_float(beta, "beta")
    cov = ((lp - lp.mean()) * (a - a.mean())).ravel()
    n_sel = max(1, int(math.ceil(top_ratio * lp.size)))
    sel = np.argsort(-cov, kind="stable")[:n_sel]
    out = np.zeros(lp.size)
    out[sel] = -beta * np.sign((lp - np.asarray(logp_old)).ravel()[sel])
    return out.reshape(lp.shape)


def zero_variance_fraction(p, G: int):
    r"""Probability that a group of ``G`` Bernoulli(``p``) rewards is all-equal: :math:`p^G + (1-p)^G`.

    Such groups have zero group-relative advantage ("VADE: Variance-Aware Dynamic Sampling via
    Online Sample-Level Difficulty Estimation for Multimodal RL"; "No Prompt Left Behind").
    """
    G = check_positive_int(G, "G")
    p = as_float_array(p, "p")
    if np.any((p < 0) | (p > 1)):
        raise InvalidInputError("p: success probabilities must lie in [0, 1].")
    return p**G + (1 - p) ** G


def exact_expected_group_gradient(bandit: ContextualBandit, theta, G: int, method: str = "rloo", **adv_kw):
    r"""Exact :math:`E[\hat g]` of a group estimator with Bernoulli rewards (logit gradient).

    For a permutation-equivariant advantage :math:`A_1 = f(r_1; m)` that depends on the other
    responses only through their number of successes :math:`m \sim \mathrm{Bin}(G-1, p_n)`,
    :math:`E[\hat g_n] = \frac1N\sum_a \pi_a (e_a - \pi)\sum_{r_1, m} P(r_1|a) P(m) f(r_1; m)`
    (``G`` samples each weighted ``1/G`` cancel the ``G`` identical terms). Exact, O(V G).
    Not for ``"reinforce++"`` or ``"gpg"``, whose advantages couple prompts.
    """
    if not isinstance(bandit, ContextualBandit):
        raise InvalidInputError(f"bandit: expected a bandits.ContextualBandit, got {type(bandit).__name__}.")
    if bandit.reward != "bernoulli":
        raise InvalidInputError("bandit: exact group expectations need Bernoulli rewards.")
    if method in ("reinforce++", "reinforce++-baseline", "gpg"):
        raise InvalidInputError(f"method = {method!r} couples prompts; estimate it by sampling instead.")
    G = check_positive_int(G, "G")
    pi = bandit.probs(theta)
    p = np.sum(pi * bandit.q, axis=1)
    N = bandit.n_prompts
    out = np.zeros_like(pi)
    m = np.arange(G)
    # rewards of synthetic groups: row (r1, m) = [r1, 1 x m, 0 x (G-1-m)]
    rows = np.zeros((2 * G, G))
    for r1 in (0, 1):
        for mm in m:
            rows[r1 * G + mm, 0] = r1
            rows[r1 * G + mm, 1:1 + mm] = 1.0
    if adv_kw.get("baseline") is None and adv_kw.get("p") is None:  # the same advantage table for every prompt
        f = group_advantages(rows, method, **adv_kw)[:, 0].reshape(2, G)
        pm = scipy.stats.binom.pmf(m[None, :], G - 1, p[:, None])
        h = bandit.q * (pm @ f[1])[:, None] + (1 - bandit.q) * (pm @ f[0])[:, None]
        return pi * (h - np.sum(pi * h, axis=1, keepdims=True)) / N
    for n in range(N):
        kw = dict(adv_kw)
        if "baseline" in kw and kw["baseline"] is not None:
            kw["baseline"] = np.full(2 * G, np.asarray(kw["baseline"], dtype=float).reshape(-1)[n])
        if "p" in kw and kw["p"] is not None:
            kw["p"] = np.full(2 * G, np.asarray(kw["p"], dtype=float).reshape(-1)[n])
        f = group_advantages(rows, method, **kw)[:, 0].reshape(2, G)
        pm = scipy.stats.binom.pmf(m, G - 1, p[n])
        h = bandit.q[n] * (f[1] @ pm) + (1 - bandit.q[n]) * (f[0] @ pm)
        out[n] = pi[n] * (h - pi[n] @ h)
    return out / N


@dataclass(frozen=True)
class GroupGradientEstimate:
    """One estimator step (arrays of the backend): ``grad`` w.r.t. ``theta`` (equal to ``grad_logits`` for
    tabular logits, chained through ``phi`` for linear ones), the samples and their coefficients."""

    grad: object
    actions: object
    rewards: np.ndarray
    advantages: object
    coef: object
    grad_logits: object = None


@renamed(rng="seed", behaviour_logits="behavior_logits")
def estimate_group_gradient(bandit: ContextualBandit, theta, G: int, method: str = "rloo", *, seed=None,
                            backend="auto", correction: str = "none", behavior_logits=None, clip_eps: float = 0.2,
                            kl_coef: float = 0.0, ref_logits=None, kl_kind: str = "k3",
                            **adv_kw) -> GroupGradientEstimate:
    r"""One group estimator step on a :class:`ContextualBandit` (tabular or linear logits) on any backend.

    Samples ``G`` responses per prompt from the behaviour policy (``behavior_logits``, the
    current policy if None), computes rewards (host), advantages (:func:`group_advantages`),
    the off-policy factor (:func:`ratio_coefficients`) and an optional KL penalty
    ``-kl_coef * k`` (:func:`kl_loss_coefficients`), and assembles
    :math:`\hat g = \frac{1}{NG}\sum_{n,i} c_{n,i}(e_{a_{n,i}} - \pi_n)` with
    :func:`~mdpgrad.bandits.model.logit_gradient` (chained through ``phi`` on the host for linear
    logits). ``behavior_logits`` are logits, not parameters.
    """
    if not isinstance(bandit, ContextualBandit):
        raise InvalidInputError(f"bandit: expected a bandits.ContextualBandit, got {type(bandit).__name__}.")
    be = get_backend(backend, kernel="sample_actions", like=theta)
    xp = be.xp
    rng = as_rng(seed, "seed")
    G = check_positive_int(G, "G")
    logits = be.asarray(bandit.logits(theta))
    beh = logits if behavior_logits is None else be.asarray(behavior_logits)
    actions, logp_b = sample_actions(beh, G, rng, backend=be)
    rewards = bandit.sample_rewards(be.to_numpy(actions), rng)
    adv = group_advantages(be.asarray(rewards), method, **adv_kw)
    if behavior_logits is None:
        logp = logp_b
    else:
        from .model import log_softmax_xp

        logp = xp.take_along_axis(log_softmax_xp(logits.astype(xp.float64)), xp.asarray(actions), axis=1)
    coef = adv * ratio_coefficients(adv, logp, logp_b, correction, clip_eps=clip_eps, rewards=be.asarray(rewards))
    if kl_coef:
        from .model import log_softmax_xp

        if ref_logits is None:
            raise InvalidInputError("ref_logits: kl_coef > 0 needs the reference policy's logits.")
        lref = xp.take_along_axis(log_softmax_xp(be.asarray(ref_logits, dtype=xp.float64)), actions, axis=1)
        coef = coef - kl_coef * kl_loss_coefficients(logp, lref, kl_kind)
    coef = coef / (bandit.n_prompts * G)
    grad = logit_gradient(logits, actions, coef, backend=be)
    g_theta = grad if bandit.phi is None else be.asarray(bandit.logit_grad_to_theta(be.to_numpy(grad)))
    return GroupGradientEstimate(g_theta, actions, rewards, adv, coef, grad)


def sequence_group_gradient(model, theta, G: int, n_groups: int = 1, method: str = "rloo", *, rng=None,
                            aggregation: str = "sequence", max_len: int | None = None, alpha: float = 1.0, **adv_kw):
    r"""One group estimator step on a token-level :class:`~mdpgrad.bandits.sequence.SequenceModel`.

    Samples ``n_groups`` groups of ``G`` responses, computes group advantages
    (:func:`group_advantages`), the per-response aggregation weights (:func:`aggregation_weights`,
    ``max_len`` defaults to the model's ``T``) and returns
    :math:`\hat g = \frac{1}{n_{groups}}\sum_{groups}\sum_i w_i A_i \sum_t \nabla\log\pi(y_{i,t}|y_{i,<t})`
    as a ``theta``-shaped array, together with the samples. ``aggregation="sequence"`` with
    ``method="rloo"`` is unbiased for :math:`\nabla J`; ``"seq-mean-token-mean"`` (GRPO) is
    length-biased, ``"drgrpo"`` is unbiased up to the constant ``1/T``.
    """
    G = check_positive_int(G, "G")
    n_groups = check_positive_int(n_groups, "n_groups")
    smp = model.sample(theta, G * n_groups, as_rng(rng))
    adv = group_advantages(smp.rewards.reshape(n_groups, G), method, **adv_kw)
    w = aggregation_weights(smp.lengths.reshape(n_groups, G), aggregation,
                            max_len=model.T if max_len is None else max_len, alpha=alpha)
    per = (w * adv).reshape(-1) / n_groups
    coef = np.where(smp.tokens >= 0, per[:, None], 0.0)
    return model.token_gradient(theta, smp, coef), smp


def group_gradients(bandit: ContextualBandit, theta, actions, rewards, method: str = "rloo", **adv_kw):
    r"""Group estimates of many independent replicates at once (tabular logits, NumPy).

    ``actions[M, N, G]`` and ``rewards[M, N, G]``: replicate ``m`` is one batch of ``G``
    responses for each of the ``N`` prompts. Returns ``g[M, N, V]`` with
    :math:`g_m = \frac{1}{NG}\sum_{n,i} A_{m,n,i}(e_{a_{m,n,i}} - \pi_n)` and ``A`` from
    :func:`group_advantages` computed *per replicate*, so the advantages that couple the
    prompts of a batch (``"gpg"``'s :math:`\alpha = N/(N - N_0)`, ``"reinforce++"``'s batch
    statistics) see exactly one batch. ``adv_kw`` go to :func:`group_advantages` (``baseline``
    and ``p`` given per prompt, ``[N]``). Used with sampled outcomes
    (:func:`group_gradient_replicates`) or with an enumeration of all outcomes (exact expectations).
    """
    if not isinstance(bandit, ContextualBandit):
        raise InvalidInputError(f"bandit: expected a bandits.ContextualBandit, got {type(bandit).__name__}.")
    a = check_indices(actions, "actions", bandit.n_actions, what="action index")
    r = as_float_array(rewards, "rewards")
    check_real_finite(r, "rewards")
    if a.ndim != 3 or a.shape != r.shape:
        raise InvalidInputError(f"actions {a.shape} and rewards {r.shape} must both be [M, N, G].")
    M, N, G = r.shape
    if N != bandit.n_prompts or bandit.phi is not None:
        raise InvalidInputError(f"actions: N = {N} prompts but the bandit (tabular) has {bandit.n_prompts}.")
    logits = bandit.check_theta(theta)
    A = group_advantages(r, method, **adv_kw)
    g = logit_gradient(np.tile(logits, (M, 1)), a.reshape(M * N, G), A.reshape(M * N, G) / (N * G))
    return g.reshape(M, N, -1)


def group_gradient_replicates(bandit: ContextualBandit, theta, G: int, method: str = "rloo", M: int = 1, seed=None,
                              **adv_kw):
    r"""``M`` independent group estimates ``g[M, N, V]`` of the logit gradient (tabular logits, NumPy): ``G``
    responses per prompt are sampled from the current policy for every replicate (one vectorized draw), rewarded
    by the bandit and assembled by :func:`group_gradients` (advantages that couple the prompts of a batch, GPG's
    and REINFORCE++'s, are computed per replicate). ``g.mean(0)`` estimates :math:`E[\hat g]`; for ``"rloo"``
    that is :math:`\nabla J` (``bandit.gradient``). ``seed``: an int or a ``numpy.random.Generator``."""
    G = check_positive_int(G, "G")
    M = check_positive_int(M, "M")
    if not isinstance(bandit, ContextualBandit):
        raise InvalidInputError(f"bandit: expected a bandits.ContextualBandit, got {type(bandit).__name__}.")
    rng = as_rng(seed, "seed")
    logits = bandit.check_theta(theta)
    N = bandit.n_prompts
    a, _ = sample_actions(np.tile(logits, (M, 1)), G, rng)
    big = ContextualBandit(np.tile(bandit.q, (M, 1)), reward=bandit.reward, noise=bandit.noise)
    r = big.sample_rewards(a, rng)
    return group_gradients(bandit, logits, a.reshape(M, N, G), r.reshape(M, N, G), method, **adv_kw)


def grpo_entropy_run(method: str, seed, n_iter: int, N: int = 32, K: int = 16, G: int = 8, epochs: int = 2,
                     step_size: float = 1.0, *, fraction: float = 0.2, kl_beta: float = 1.0):
    """GRPO with a PPO-clipped inner loop (clip 0.2, ``epochs`` passes per batch) on a random verifiable
    bandit (``N`` prompts x ``K`` actions, about 20% correct, at least one correct action per prompt).

    ``method``: ``"grpo"``, ``"clip-cov"`` (:func:`clip_cov_mask`, ``clip_ratio=fraction``) or ``"kl-cov"``
    (:func:`kl_cov_coefficients`, ``top_ratio=fraction``, penalty ``kl_beta``). Clip-Cov's random choices come
    from their own stream (seeded from ``seed`` first), so every method sees the same sampling stream (common
    random numbers for paired comparisons). Returns the mean policy entropy and the objective after each of the
    ``n_iter`` steps.
    """
    if method not in ("grpo", "clip-cov", "kl-cov"):
        raise InvalidInputError(f"method = {method!r}: choose 'grpo', 'clip-cov' or 'kl-cov'.")
    rg = as_rng(seed, "seed")
    rg_mask = np.random.default_rng(int(rg.integers(2**62)))
    q = (rg.random((N, K)) < 0.2).astype(float)
    q[np.arange(N), rg.integers(K, size=N)] = 1.0
    bandit = ContextualBandit(q)
    th = np.zeros((N, K))
    H, J = [], []
    for _ in range(n_iter):
        a, lp_old = sample_actions(th, G, rg)
        rr = bandit.sample_rewards(a, rg)
        A = group_advantages(rr, "grpo")
        for _e in range(epochs):
            lp = np.take_along_axis(log_softmax_xp(th), a, axis=1)
            coef = A * ratio_coefficients(A, lp, lp_old, "ppo", clip_eps=0.2)
            if method == "clip-cov":
                coef = coef * clip_cov_mask(lp, A, clip_ratio=fraction, cov_low=0.0, cov_high=np.inf, rng=rg_mask)
            elif method == "kl-cov":
                coef = coef + kl_cov_coefficients(lp, lp_old, A, top_ratio=fraction, beta=kl_beta)
            th = th + step_size * logit_gradient(th, a, coef / G)
        H.append(bandit.entropy(th).mean())
        J.append(bandit.objective(th))
    return np.array(H), np.array(J)


RPG_KINDS = ("reverse-norm", "reverse-unnorm", "forward-norm", "forward-unnorm")


def rpg_coefficients(rewards, logp, logp_old, logp_ref, beta: float, kind: str = "reverse-norm", *,
                     importance: bool = True):
    r"""Per-sample coefficients of the KL-regularized policy-gradient surrogates ("On the Design of
    KL-Regularized Policy Gradient Algorithms for LLM Reasoning"), samples ``y ~ pi_old``.

    With :math:`w = \pi(y)/\pi_{old}(y)` (``pi`` the normalized policy, or :math:`\tilde\pi = e^z` for the
    ``*-unnorm`` kinds, whose score is :math:`\nabla_z\log\tilde\pi(y) = e_y`), the estimate is
    :math:`\sum c(y)\nabla\log\pi(y)` with

    * ``"reverse-norm"``: :math:`c = w\,(r - \beta\log(\pi/\pi_{ref}))` -- gradient of
      :math:`E_\pi r - \beta KL(\pi\|\pi_{ref})`;
    * ``"reverse-unnorm"``: :math:`c = w\,(r - \beta\log(\tilde\pi/\pi_{ref}))` -- of
      :math:`\sum\tilde\pi r - \beta UKL(\tilde\pi\|\pi_{ref})`;
    * ``"forward-norm"``: :math:`c = w r + \beta\,\pi_{ref}/\pi_{old}` -- of :math:`E_\pi r - \beta KL(\pi_{ref}\|\pi)`;
    * ``"forward-unnorm"``: :math:`c = w r - \beta(w - \pi_{ref}/\pi_{old})` -- of
      :math:`\sum\tilde\pi r - \beta UKL(\pi_{ref}\|\tilde\pi)`.

    ``logp`` is :math:`\log\pi(y)` (or :math:`\log\tilde\pi(y) = z_y`). ``importance=False`` sets ``w = 1``
    (the off-policy data used as if on-policy): a documented wrong variant, used as a negative control.
    """
    check_choice(kind, "kind", RPG_KINDS)
    _check_logps(upper=-LOGP_MIN / 2, ratios=(("logp", "logp_old"), ("logp_ref", "logp_old")), logp=logp,
                 logp_old=logp_old, logp_ref=logp_ref)
    r = as_float_array(rewards, "rewards")
    check_real_finite(r, "rewards")
    lp, lo, lr = (as_float_array(x, k) for x, k in ((logp, "logp"), (logp_old, "logp_old"), (logp_ref, "logp_ref")))
    if r.shape != lp.shape:
        raise InvalidInputError(f"rewards: shape {r.shape} differs from logp's {lp.shape}.")
    beta = check_nonnegative_float(beta, "beta", what="the KL weight")
    w = np.exp(lp - lo) if importance else np.ones_like(lp)
    if kind.startswith("reverse"):
        return w * (r - beta * (lp - lr))
    ref_over_old = np.exp(lr - lo)
    if kind == "forward-norm":
        return w * r + beta * ref_over_old
    return w * r - beta * (w - ref_over_old)
