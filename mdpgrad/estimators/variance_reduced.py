r"""Stochastic policy-gradient optimizers: vanilla SPG, the variance-reduced family, stochastic
NPG and stochastic PMD, written once against an oracle (:mod:`mdpgrad.estimators.oracles`).

Each method is a pure ``update(state, oracle, rng, hp) -> state`` on an explicit frozen
:class:`VRState`; :func:`run` is the only loop (optax style). Notation: :math:`g(\tau,\theta)`
the per-trajectory GPOMDP gradient, :math:`\omega(\tau;\theta,\theta') = p_{\theta'}(\tau)/p_\theta(\tau)`
the importance weight of :math:`\tau\sim p_\theta` under :math:`\theta'`, :math:`B(\tau,\theta)v`
the Hessian-vector estimate, :math:`\bar x` a mini-batch mean. Ascent on :math:`J`.

* ``"pg"`` -- stochastic PG (Williams 1992; Baxter & Bartlett 2001):
  :math:`\theta_{t+1} = \theta_t + \alpha_t\bar g(\theta_t)`.
* ``"svrpg"`` -- Papini et al. 2018, "Stochastic Variance-Reduced Policy Gradient": every ``m``
  steps a snapshot :math:`\tilde\theta` with :math:`\mu = \bar g_N(\tilde\theta)`; otherwise
  :math:`d_t = \mu + \overline{g(\tau,\theta_t) - \omega(\tau;\theta_t,\tilde\theta)g(\tau,\tilde\theta)}`.
* ``"srvr"`` -- Xu, Gao, Gu 2020, "Sample Efficient Policy Gradient Methods with Recursive
  Variance Reduction" (SRVR-PG): :math:`d_t = d_{t-1} + \overline{g(\tau,\theta_t) -
  \omega(\tau;\theta_t,\theta_{t-1})g(\tau,\theta_{t-1})}`, reset to :math:`\bar g_N` every ``m``.
* ``"storm"`` -- Yuan et al. 2020, "Stochastic Recursive Momentum for Policy Gradient Methods"
  (STORM-PG): :math:`d_t = \beta\bar g(\theta_t) + (1-\beta)\big(d_{t-1} + \overline{g(\tau,\theta_t)
  - \omega g(\tau,\theta_{t-1})}\big)`.
* ``"page"`` -- Gargiani et al. 2022, "PAGE-PG: A Simple and Loopless Variance-Reduced Policy
  Gradient Method with Probabilistic Gradient Estimation": with probability ``p`` a fresh
  :math:`\bar g_N(\theta_t)`, else the SRVR correction.
* ``"igt"`` -- N-PG-IGT (Fatkhullin, Barakat, Kireeva, He 2023, "Stochastic Policy Gradient
  Methods: Improved Sample Complexity for Fisher-non-degenerate Policies"):
  :math:`\tilde\theta_t = \theta_t + \frac{1-\eta_t}{\eta_t}(\theta_t-\theta_{t-1})`,
  :math:`d_t = (1-\eta_t)d_{t-1} + \eta_t g(\tau_t,\tilde\theta_t)`,
  :math:`\theta_{t+1} = \theta_t + \gamma_t d_t/\|d_t\|` (one trajectory per step).
* ``"harpg"`` -- (N)-HARPG (same paper): :math:`q\sim U[0,1]`,
  :math:`\hat\theta_t = q\theta_t + (1-q)\theta_{t-1}`,
  :math:`d_t = (1-\eta_t)\big(d_{t-1} + B(\hat\tau_t,\hat\theta_t)(\theta_t-\theta_{t-1})\big) +
  \eta_t g(\tau_t,\theta_t)`; normalized step as IGT (``normalized=False``: HARPG,
  :math:`\theta_{t+1}=\theta_t+\gamma_t d_t`). Two trajectories per step.
* ``"npg"`` -- stochastic NPG (Kakade 2001; Liu et al. 2020, "An Improved Analysis of
  (Variance-Reduced) Policy Gradient and Natural Policy Gradient Methods"):
  :math:`w = \hat F^{+}\bar g`, :math:`\theta_{t+1} = \theta_t + \alpha_t w`.
* stochastic PMD is tabular-only and lives in :func:`stochastic_pmd_step` (Lan 2022,
  "Policy mirror descent for reinforcement learning"; Xiao 2022): KL mirror step on a
  generative-model :math:`\hat Q`, :math:`\pi_{k+1}(\cdot|s)\propto\pi_k(\cdot|s)\exp(\eta\hat Q(s,\cdot))`.

Step schedules (``hp``): ``alpha`` / ``gamma0`` scale and, for IGT and HARPG,
:math:`\eta_t = (2/(t+2))^{4/5}` (IGT) and :math:`\eta_t = 2/(t+2)` (HARPG), :math:`\gamma_t =
\gamma_0\cdot 2/(t+2)` (the anytime schedules used in our checks; the exponents follow the
paper's theorems, the constants are ours).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import DivergedError, InvalidInputError
from ..validation import (
    as_float_array,
    as_generator,
    check_allocation,
    check_choice,
    check_float,
    check_positive_float,
    check_positive_int,
)

__all__ = ["VRState", "METHODS", "init", "update", "run", "RunTrace", "stochastic_pmd_step"]

METHODS = ("pg", "svrpg", "srvr", "storm", "page", "igt", "harpg", "npg")


@dataclass(frozen=True)
class VRState:
    """Explicit optimizer state (immutable)."""

    theta: np.ndarray
    theta_prev: np.ndarray
    d: np.ndarray
    t: int = 0
    samples: int = 0  # trajectories used so far
    snapshot: np.ndarray | None = None
    mu: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


def init(theta0, replicas: int | None = None) -> VRState:
    """State at ``theta0`` (flattened); ``replicas=R`` stacks R independent copies ``(R, dim)``
    for oracles that accept a leading replica axis (:class:`GaussianBanditOracle`) and methods without
    per-run branching (pg, storm, igt, harpg)."""
    th = as_float_array(theta0, "theta0").reshape(-1).copy()
    if th.size == 0:
        raise InvalidInputError("theta0: empty parameter vector; pass at least one parameter.")
    if replicas is not None:
        th = np.repeat(th[None, :], check_positive_int(replicas, "replicas"), axis=0)
    return VRState(th, th.copy(), np.zeros_like(th))


def _seed(rng):
    return int(rng.integers(2**62))


def _batch_grad(oracle, theta, n, rng):
    tau = oracle.sample(theta, n, _seed(rng))
    return oracle.grads(tau, theta).mean(axis=-2), n


def _correction(oracle, theta, theta_ref, n, rng):
    r""":math:`\overline{g(\tau,\theta) - \omega(\tau;\theta,\theta_{ref})g(\tau,\theta_{ref})}`,
    :math:`\tau\sim p_\theta`; unbiased for :math:`\nabla J(\theta)-\nabla J(\theta_{ref})`."""
    tau = oracle.sample(theta, n, _seed(rng))
    w = np.exp(oracle.log_prob(tau, theta_ref) - oracle.log_prob(tau, theta))
    diff = oracle.grads(tau, theta) - w[..., None] * oracle.grads(tau, theta_ref)
    return diff.mean(axis=-2)


def _normalized(d):
    nrm = np.linalg.norm(d, axis=-1, keepdims=True)
    return d / np.where(nrm > 0, nrm, 1.0)


#: Hyperparameters of :func:`update` and their checks (misspelled keys raise instead of taking a default).
_HP_CHECKS = {
    "batch": lambda v, k: check_positive_int(v, k),
    "big_batch": lambda v, k: check_positive_int(v, k),
    "epoch": lambda v, k: check_positive_int(v, k),
    "alpha": lambda v, k: check_positive_float(v, k, what="a step size"),
    "gamma0": lambda v, k: check_positive_float(v, k, what="a step size"),
    "beta": lambda v, k: check_float(v, k, lo=0.0, hi=1.0, what="STORM momentum"),
    "p": lambda v, k: check_float(v, k, lo=0.0, hi=1.0, lo_open=True, what="PAGE refresh probability"),
    "decay": lambda v, k: v,
    "normalized": lambda v, k: v,
}


def _check_hp(hp) -> dict:
    if not isinstance(hp, dict):
        raise InvalidInputError(f"hp: expected a dict of hyperparameters, got {type(hp).__name__}.")
    for k, v in hp.items():
        if k not in _HP_CHECKS:
            raise InvalidInputError(f"hp[{k!r}] is not a hyperparameter of the variance-reduced methods; "
                                    f"use one of {sorted(_HP_CHECKS)}.")
        _HP_CHECKS[k](v, k)
    return hp


def _check_oracle(oracle):
    for attr in ("sample", "grads", "log_prob", "value", "optimum", "shape"):
        if not hasattr(oracle, attr):
            raise InvalidInputError(f"oracle: {type(oracle).__name__} has no .{attr}; pass a TabularOracle, "
                                    "a GaussianBanditOracle or an object with the same methods.")
    return oracle


def update(method: str, s: VRState, oracle, rng: np.random.Generator, hp: dict) -> VRState:
    """One step of ``method`` (see module docstring for the formulas and papers)."""
    check_choice(method, "method", METHODS)
    if not isinstance(s, VRState):
        raise InvalidInputError(f"s: expected a VRState (from init), got {type(s).__name__}.")
    _check_oracle(oracle)
    if not isinstance(rng, np.random.Generator):
        raise InvalidInputError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}.")
    _check_hp(hp)
    t = s.t
    B = int(hp.get("batch", 1))
    N = int(hp.get("big_batch", 10 * B))
    m = int(hp.get("epoch", 10))
    alpha = float(hp.get("alpha", 0.1))
    if hp.get("decay", False):
        alpha = alpha * 2.0 / (t + 2)
    used = 0
    if method == "pg":
        d, used = _batch_grad(oracle, s.theta, B, rng)
        new = s.theta + alpha * d
        return replace(s, theta=new, theta_prev=s.theta, d=d, t=t + 1, samples=s.samples + used)
    if method == "svrpg":
        snap, mu = s.snapshot, s.mu
        if t % m == 0 or snap is None:
            snap = s.theta.copy()
            mu, used = _batch_grad(oracle, snap, N, rng)
            d = mu
        else:
            d = mu + _correction(oracle, s.theta, snap, B, rng)
            used = B
        return replace(s, theta=s.theta + alpha * d, theta_prev=s.theta, d=d, t=t + 1,
                       samples=s.samples + used, snapshot=snap, mu=mu)
    if method in ("srvr", "page"):
        fresh = t == 0 or (t % m == 0 if method == "srvr" else rng.random() < float(hp.get("p", 0.1)))
        if fresh:
            d, used = _batch_grad(oracle, s.theta, N, rng)
        else:
            d = s.d + _correction(oracle, s.theta, s.theta_prev, B, rng)
            used = B
        return replace(s, theta=s.theta + alpha * d, theta_prev=s.theta, d=d, t=t + 1, samples=s.samples + used)
    if method == "storm":
        beta = float(hp.get("beta", 0.1))
        if t == 0:
            d, used = _batch_grad(oracle, s.theta, N, rng)
        else:
            tau = oracle.sample(s.theta, B, _seed(rng))
            g_now = oracle.grads(tau, s.theta)
            w = np.exp(oracle.log_prob(tau, s.theta_prev) - oracle.log_prob(tau, s.theta))
            g_old = w[..., None] * oracle.grads(tau, s.theta_prev)
            d = g_now.mean(-2) + (1 - beta) * (s.d - g_old.mean(-2))
            used = B
        return replace(s, theta=s.theta + alpha * d, theta_prev=s.theta, d=d, t=t + 1, samples=s.samples + used)
    g0 = float(hp.get("gamma0", 0.1))
    step = g0 * 2.0 / (t + 2)
    if method == "igt":
        eta = (2.0 / (t + 2)) ** 0.8
        shifted = s.theta + (1 - eta) / eta * (s.theta - s.theta_prev)
        tau = oracle.sample(shifted, 1, _seed(rng))
        d = (1 - eta) * s.d + eta * oracle.grads(tau, shifted)[..., 0, :]
        new = s.theta + step * _normalized(d)
        return replace(s, theta=new, theta_prev=s.theta, d=d, t=t + 1, samples=s.samples + 1)
    if method == "harpg":
        eta = 2.0 / (t + 2)
        q = rng.random(s.theta.shape[:-1] + (1,))
        hat = q * s.theta + (1 - q) * s.theta_prev
        tau_hat = oracle.sample(hat, 1, _seed(rng))
        v = oracle.hvp(tau_hat, hat, s.theta - s.theta_prev)[..., 0, :]
        tau = oracle.sample(s.theta, 1, _seed(rng))
        d = (1 - eta) * (s.d + v) + eta * oracle.grads(tau, s.theta)[..., 0, :]
        move = _normalized(d) if hp.get("normalized", True) else d
        return replace(s, theta=s.theta + step * move, theta_prev=s.theta, d=d, t=t + 1, samples=s.samples + 2)
    if method == "npg":
        tau = oracle.sample(s.theta, B, _seed(rng))
        g = oracle.grads(tau, s.theta).mean(0)
        F = oracle.fisher(tau, s.theta)
        w, *_ = np.linalg.lstsq(F, g, rcond=1e-10)
        return replace(s, theta=s.theta + alpha * w, theta_prev=s.theta, d=w, t=t + 1, samples=s.samples + B)
    raise InvalidInputError(f"method = {method!r} is not known; choose one of {METHODS}.")


@dataclass(frozen=True)
class RunTrace:
    """Iterates recorded by :func:`run`: ``samples[k]`` trajectories used and ``gap[k] = J* - J(theta_k)``."""

    method: str
    samples: np.ndarray
    gap: np.ndarray
    theta: np.ndarray


def run(method: str, oracle, theta0, n_iter: int, *, seed=0, record_every: int = 1, replicas: int | None = None,
        **hp) -> RunTrace:
    """Run ``n_iter`` updates of ``method`` and record the exact optimality gap (per replica
    when ``replicas`` is given: ``gap[k, r]``; replicas need an oracle with a leading axis and a
    method without per-replica branching: pg, storm, igt, harpg)."""
    check_choice(method, "method", METHODS)
    if replicas is not None and method not in ("pg", "storm", "igt", "harpg"):
        raise InvalidInputError(f"replicas: method {method!r} branches per run; use replicas=None.")
    _check_oracle(oracle)
    n_iter = check_positive_int(n_iter, "n_iter")
    record_every = check_positive_int(record_every, "record_every")
    _check_hp(hp)
    rng = as_generator(seed)
    if theta0 is None:
        raise InvalidInputError("theta0: pass a starting parameter vector, e.g. np.zeros(oracle.shape).")
    s = init(theta0, replicas)
    if s.theta.shape[-1] != int(np.prod(oracle.shape)):
        raise InvalidInputError(f"theta0: has {s.theta.shape[-1]} parameters, the oracle needs "
                                f"{int(np.prod(oracle.shape))} (shape {tuple(oracle.shape)}).")
    jstar = oracle.optimum()
    samp, gap = [0], [jstar - oracle.value(s.theta)]
    for k in range(n_iter):
        s = update(method, s, oracle, rng, hp)
        if (k + 1) % record_every == 0:
            samp.append(s.samples)
            gap.append(jstar - oracle.value(s.theta))
            if not np.all(np.isfinite(gap[-1])):
                raise DivergedError(f"{method}: the iterates diverged (gap {gap[-1]} at iteration {k + 1}); "
                                    f"reduce the step size (alpha/gamma0 = {hp.get('alpha', hp.get('gamma0'))}).")
    return RunTrace(method, np.asarray(samp), np.asarray(gap), s.theta)


def stochastic_pmd_step(mdp, theta, eta: float, n_per_pair: int, seed) -> tuple[np.ndarray, int]:
    r"""One stochastic policy-mirror-descent step (KL mirror map) for tabular softmax ``theta[s, a]``.

    :math:`\hat Q(s,a) = r(s,a) + \gamma\frac1M\sum_m \hat V(s'_m)`, :math:`s'_m\sim P(\cdot|s,a)`,
    :math:`\hat V` the undiscounted return of a Geom(1-gamma)-length rollout from :math:`s'_m`
    (unbiased); then :math:`\theta \leftarrow \theta + \eta\hat Q`, i.e.
    :math:`\pi_{k+1}(\cdot|s)\propto\pi_k(\cdot|s)e^{\eta\hat Q(s,\cdot)}` (Lan 2022; Xiao 2022).
    Returns the new ``theta`` and the number of transitions used.
    """
    from ..mdp import as_mdp
    from ..policies import probs
    from ..rollouts import geometric_lengths, sample_trajectories, trajectory_seeds

    m = as_mdp(mdp)
    S, A = m.shape
    th = as_float_array(theta, "theta", shape=(S, A))
    eta = check_positive_float(eta, "eta", what="the mirror-descent step size")
    M = check_positive_int(n_per_pair, "n_per_pair")
    rng = as_generator(seed)
    check_allocation((S, A, M, S), "the inverse-CDF comparison (S, A, n_per_pair, S)", "n_per_pair")
    cum = np.cumsum(m.P, axis=-1)
    u = rng.random((S, A, M))
    nxt = np.minimum((u[..., None] >= cum[:, :, None, :]).sum(-1), S - 1)  # inverse CDF
    n = S * A * M
    sub = int(rng.integers(2**62))
    L = geometric_lengths(trajectory_seeds(sub, n, key=1), m.gamma)
    ro = sample_trajectories(m, probs(th), n, horizon="geometric", lengths=L, seed=sub,
                             start_states=nxt.reshape(-1))
    Vhat = ro.rewards.sum(axis=1).reshape(S, A, M).mean(-1)
    Q = m.r + m.gamma * Vhat
    new = th + eta * Q
    if not np.all(np.isfinite(new)):
        raise DivergedError(f"eta = {eta!r} made theta non-finite; use a smaller step size.")
    return new, int(n + ro.n_steps)
