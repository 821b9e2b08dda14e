r"""One shared core for score-function policy-gradient estimators on tabular rollouts.

Every estimator here has the form, for trajectory :math:`i`,

.. math::

    \hat g_i = \sum_{t < L_i} W_{i,t}\, \nabla_\theta \log\pi_\theta(a_{i,t} | s_{i,t}),

and the variants differ only in the per-step weight :math:`W_{i,t}` (``estimator=``):

* ``"reinforce"`` (Williams 1992): :math:`W_{i,t} = G_i - b`, :math:`G_i = \sum_k d_k r_k`;
* ``"gpomdp"`` (Baxter & Bartlett 2001; = REINFORCE with reward-to-go):
  :math:`W_{i,t} = \sum_{k\ge t} d_k r_k - d_t\, b(s_t)`;
* ``"gae"`` (Schulman et al. 2016): :math:`W_{i,t} = d_t \hat A^{\mathrm{GAE}(\gamma,\lambda)}_t`
  with the advantages of :func:`mdpgrad.estimators.gae_batch` (on geometric horizons the random
  length acts as termination, see :func:`mdpgrad.estimators.advantages.batch_discounts`);

with per-step discount weights :math:`d_t = \gamma^t` for fixed/absorbing horizons and
:math:`d_t = 1` for geometric random horizons (the random length discounts; see
:mod:`mdpgrad.rollouts`). On geometric-horizon rollouts all three are **unbiased** for
:math:`\nabla_\theta V^{\pi_\theta}(\rho)` (for GAE: when the values are exact, any
:math:`\lambda`); on a fixed horizon :math:`H` they estimate the gradient of the truncated
objective, biased by :math:`O(\gamma^H)`. On geometric horizons GAE with :math:`\lambda = 1`
is unbiased for any values (they act as a state baseline); :math:`\lambda<1` with approximate
values is biased.

Baselines ``b``: a constant, a per-state array ``b[s]`` (GPOMDP/GAE form only; for
REINFORCE a state baseline would have to be applied per step, which is GPOMDP), or
``"optimal"`` -- the variance-minimizing constant (Greensmith, Bartlett, Baxter 2004;
OBLR-PO) :math:`b^* = \mathbb{E}[\|\nabla\log p(\tau)\|^2 G] / \mathbb{E}\|\nabla\log p(\tau)\|^2`,
estimated on the same batch (a small :math:`O(1/n)` bias; pass a number from an independent
batch to avoid it).

Off-policy (``behavior=``): rollouts drawn from a behaviour policy :math:`\mu`; per-decision
importance weights :math:`\rho_{0:k} = \prod_{j\le k}\pi(a_j|s_j)/\mu(a_j|s_j)` (Precup et al.
2000) give the unbiased GPOMDP form
:math:`W_t = \sum_{k\ge t}\rho_{0:k}\, d_k r_k` (and :math:`W_t = \rho_{0:L-1}G` for REINFORCE);
``clip=c`` truncates each ratio at :math:`\min(\rho_j, c)` (as in Retrace / V-trace, Munos et al.
2016, Espeholt et al. 2018), which lowers variance and introduces bias.

Scores: softmax :math:`\nabla_{\theta_{s'}}\log\pi(a|s) = 1[s'=s](e_a - \pi_s)`; log-linear
:math:`\phi(s,a) - \mathbb{E}_{\pi}\phi(s,\cdot)`. The sums are accumulated with ``bincount`` /
``einsum``, vectorized over trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backend import get_backend
from ..errors import InvalidInputError
from ..policies import log_softmax, probs
from ..rollouts import Rollouts
from ..validation import (
    as_float_array,
    check_policy,
    check_positive_float,
    check_probability,
    check_real_finite,
    check_rollouts,
)

__all__ = [
    "GradientEstimate",
    "ESTIMATORS",
    "score_sum",
    "reward_to_go",
    "trajectory_weights",
    "per_trajectory_gradients",
    "estimate_gradient",
    "optimal_constant_baseline",
    "log_prob",
    "summarize",
]

ESTIMATORS = ("reinforce", "gpomdp", "gae")


@dataclass(frozen=True)
class GradientEstimate:
    """Mean of per-trajectory gradient samples with per-coordinate standard errors.

    ``variance`` is the trace of the per-sample covariance (total variance of one sample);
    ``samples`` (n, *shape) is kept when requested.
    """

    mean: np.ndarray
    se: np.ndarray
    variance: float
    n: int
    samples: np.ndarray | None = None


def summarize(samples: np.ndarray, keep: bool = False) -> GradientEstimate:
    """Mean, standard error (ddof=1) and total variance of samples ``(n, *shape)``, ``n >= 2``."""
    samples = as_float_array(samples, "samples")
    if samples.ndim == 0 or samples.shape[0] < 2:
        raise InvalidInputError(f"samples: shape {samples.shape}; a standard error needs n >= 2 samples "
                                "along the first axis (sample more trajectories).")
    n = samples.shape[0]
    mean = samples.mean(axis=0)
    var = samples.var(axis=0, ddof=1)
    return GradientEstimate(mean, np.sqrt(var / n), float(var.sum()), n, samples if keep else None)


def score_policy(theta, parametrization, phi):
    """``pi[s, a]`` of a parametrization with a score function (``"softmax"`` or ``"loglinear"``)."""
    if parametrization not in ("softmax", "loglinear"):
        raise InvalidInputError(f"parametrization = {parametrization!r}: score-function estimators need "
                                "'softmax' or 'loglinear' (the direct parametrization has no score).")
    return probs(theta, parametrization, phi=phi)


def score_sum(ro: Rollouts, W: np.ndarray, theta, parametrization: str = "softmax", *, phi=None,
              backend: str = "auto") -> np.ndarray:
    r"""Per-trajectory :math:`\sum_t W_{i,t}\nabla\log\pi(a_{i,t}|s_{i,t})`, shape ``(n, *theta.shape)``.

    ``W`` has the shape of ``ro.actions``; entries past each trajectory's length are ignored.
    ``backend`` runs the kernel ``score_accumulate``: ``"numba"`` (over the valid steps only; what
    ``"auto"`` picks) or ``"numpy"`` (``bincount`` over the padded arrays); they agree to round-off.
    """
    accumulate = get_backend(backend, kernel="score_accumulate").kernel("score_accumulate")
    pi = score_policy(theta, parametrization, phi)
    S, A = pi.shape
    check_rollouts(ro, S, A)
    W = as_float_array(W, "W", shape=ro.actions.shape)
    acc, ws = accumulate(ro.states, ro.actions, ro.lengths, W, S, A)
    if parametrization == "softmax":
        return acc - ws[:, :, None] * pi[None]
    phi = as_float_array(phi, "phi", ndim=3)
    centered = phi - np.einsum("sa,sad->sd", pi, phi)[:, None, :]
    return np.einsum("nsa,sad->nd", acc, centered)


def log_prob(ro: Rollouts, theta, parametrization: str = "softmax", *, phi=None) -> np.ndarray:
    r"""Per-trajectory :math:`\sum_t\log\pi_\theta(a_t|s_t)` (the policy part of :math:`\log p_\theta(\tau)`)."""
    pi = score_policy(theta, parametrization, phi)
    check_rollouts(ro, *pi.shape)
    mask = ro.mask
    T = ro.actions.shape[1]
    s = np.where(mask, ro.states[:, :T], 0)
    a = np.where(mask, ro.actions, 0)
    logits = as_float_array(theta, "theta") if parametrization == "softmax" else \
        as_float_array(phi, "phi") @ as_float_array(theta, "theta")
    lp = log_softmax(logits)[s, a]  # log pi without the log(0) of an underflowed probability
    return np.where(mask, lp, 0.0).sum(axis=1)


def reward_to_go(rewards: np.ndarray, discount: np.ndarray) -> np.ndarray:
    r""":math:`G_{i,t} = \sum_{k\ge t} d_k r_{i,k}` (reverse cumulative sum along time)."""
    rewards = as_float_array(rewards, "rewards", ndim=2)
    discount = as_float_array(discount, "discount", shape=(rewards.shape[1],))
    x = rewards * discount[None, :]
    return np.cumsum(x[:, ::-1], axis=1)[:, ::-1]


def _step_ratios(ro, pi, behavior, clip):
    mask = ro.mask
    T = ro.actions.shape[1]
    s = np.where(mask, ro.states[:, :T], 0)
    a = np.where(mask, ro.actions, 0)
    mu = check_policy(behavior, *pi.shape, name="behavior")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = pi[s, a] / mu[s, a]
    if clip is not None:
        clip = check_positive_float(clip, "clip", what="the ratio cap c")
        ratio = np.minimum(ratio, clip)
    return np.where(mask, ratio, 1.0)


def trajectory_weights(ro: Rollouts, pi: np.ndarray, *, estimator: str = "gpomdp", baseline=None,
                       values=None, lambda_: float = 1.0, behavior=None, clip=None) -> np.ndarray:
    """The per-step weights ``W[i, t]`` of the chosen estimator (module docstring)."""
    if estimator not in ESTIMATORS:
        raise InvalidInputError(f"estimator = {estimator!r} is not known; choose one of {ESTIMATORS}.")
    pi = as_float_array(pi, "pi", ndim=2)
    check_rollouts(ro, *pi.shape)
    if isinstance(baseline, str):
        raise InvalidInputError(f"baseline = {baseline!r}: pass a number or an array b[s] ('optimal' is resolved "
                                "by per_trajectory_gradients).")
    if baseline is not None:
        check_real_finite(baseline, "baseline")
    d = ro.discount
    mask = ro.mask
    T = ro.actions.shape[1]
    rho = None
    if behavior is not None:
        rho = np.cumprod(_step_ratios(ro, pi, behavior, clip), axis=1)  # rho_{0:k}
    elif clip is not None:
        raise InvalidInputError("clip: only meaningful with behavior= (off-policy importance weights).")
    if estimator == "gae":
        if values is None:
            raise InvalidInputError("values: GAE needs state values v[s] (exact or approximate).")
        if behavior is not None:
            raise InvalidInputError("behavior: off-policy GAE is not implemented; use 'gpomdp' with behavior=.")
        from .advantages import gae_batch

        lam = check_probability(lambda_, "lambda_")
        v = as_float_array(values, "values", ndim=1)
        if v.shape != (pi.shape[0],):
            raise InvalidInputError(f"values: expected shape ({pi.shape[0]},), got {v.shape}.")
        adv = gae_batch(ro, v, lam, backend="auto")
        return d[None, :] * adv
    if estimator == "reinforce":
        if baseline is not None and np.ndim(baseline) != 0:
            raise InvalidInputError("baseline: REINFORCE takes a constant baseline; state baselines need "
                                    "the per-step (GPOMDP) form, estimator='gpomdp'.")
        b = 0.0 if baseline is None else float(baseline)
        G = ro.returns()
        if rho is not None:
            last = np.maximum(ro.lengths - 1, 0)
            full = np.where(ro.lengths > 0, rho[np.arange(ro.n), last], 1.0)
            G = full * G - b * full
            return np.where(mask, G[:, None], 0.0)
        return np.where(mask, (G - b)[:, None], 0.0)
    rtg = reward_to_go(ro.rewards * (rho if rho is not None else 1.0), d)
    if baseline is None:
        return rtg
    if np.ndim(baseline) == 0:
        bs = np.full(T, float(baseline))[None, :]
    else:
        bvec = as_float_array(baseline, "baseline", ndim=1)
        if bvec.shape != (pi.shape[0],):
            raise InvalidInputError(f"baseline: a state baseline needs shape ({pi.shape[0]},), got {bvec.shape}.")
        bs = bvec[np.where(mask, ro.states[:, :T], 0)]
    if rho is not None:
        # E_mu[rho_{0:t} grad log pi(a_t|s_t) b(s_t)] = E_pi[grad log pi b] = 0: the baseline at
        # step t carries rho_{0:t} (with rho_{0:t-1} it would not cancel, as a_t ~ mu).
        bs = bs * rho
    return rtg - d[None, :] * bs


def per_trajectory_gradients(ro: Rollouts, theta, parametrization: str = "softmax", *, phi=None,
                             estimator: str = "gpomdp", baseline=None, values=None, lambda_: float = 1.0,
                             behavior=None, clip=None) -> np.ndarray:
    """Per-trajectory gradient samples ``(n, *theta.shape)`` for the chosen estimator."""
    pi = score_policy(theta, parametrization, phi)
    check_rollouts(ro, *pi.shape)
    if isinstance(baseline, str):
        if baseline != "optimal":
            raise InvalidInputError(f"baseline = {baseline!r}: use a number, an array b[s], or 'optimal'.")
        baseline = optimal_constant_baseline(ro, theta, parametrization, phi=phi)
    W = trajectory_weights(ro, pi, estimator=estimator, baseline=baseline, values=values, lambda_=lambda_,
                           behavior=behavior, clip=clip)
    return score_sum(ro, W, theta, parametrization, phi=phi)


def estimate_gradient(ro: Rollouts, theta, parametrization: str = "softmax", *, keep_samples: bool = False,
                      **options) -> GradientEstimate:
    """Monte Carlo policy-gradient estimate with standard errors (options as
    :func:`per_trajectory_gradients`)."""
    return summarize(per_trajectory_gradients(ro, theta, parametrization, **options), keep_samples)


def optimal_constant_baseline(ro: Rollouts, theta, parametrization: str = "softmax", *, phi=None) -> float:
    r"""The variance-minimizing constant baseline for REINFORCE,
    :math:`b^* = \sum_i\|\nabla\log p(\tau_i)\|^2 G_i / \sum_i\|\nabla\log p(\tau_i)\|^2`.

    Derivation: :math:`\mathrm{tr\,Var}[(G-b)z] = \mathbb{E}\|z\|^2(G-b)^2 - \|\nabla J\|^2` with
    :math:`z=\nabla\log p(\tau)` and :math:`\mathbb{E}z = 0`; it is quadratic in :math:`b` with
    minimizer :math:`\mathbb{E}[\|z\|^2G]/\mathbb{E}\|z\|^2` (Greensmith et al. 2004, Thm 8;
    OBLR-PO's "gradient-weighted" baseline).
    """
    check_rollouts(ro, *score_policy(theta, parametrization, phi).shape)
    mask = ro.mask.astype(np.float64)
    z = score_sum(ro, mask, theta, parametrization, phi=phi).reshape(ro.n, -1)
    w = np.sum(z * z, axis=1)
    G = ro.returns()
    if w.sum() == 0:
        return 0.0
    return float(np.sum(w * G) / np.sum(w))
