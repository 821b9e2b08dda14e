r"""Stochastic policy-gradient optimizers: vanilla SPG, the variance-reduced family, stochastic
NPG and stochastic PMD, written once against an oracle (:mod:`mdpgrad.estimators.oracles`).

Each method is a :class:`mdpgrad.algorithms.Method` -- typed frozen hyperparameters (a dataclass
per method: :class:`PGHyperparameters`, :class:`SVRPGHyperparameters`, ...) and a pure pair
``init(theta0, replicas) -> VRState``, ``update(state, oracle, rng) -> VRState`` -- the same protocol
as the exact methods; :func:`run_stochastic` is the only loop (optax style).
``make_stochastic_method("storm", alpha=0.05)`` builds one; a keyword the method does not have raises
:class:`mdpgrad.algorithms.UnknownHyperparameterError`. Notation: :math:`g(\tau,\theta)`
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

Step schedules (hyperparameters): ``alpha`` / ``gamma0`` scale (``decay=True``: ``alpha_t = alpha\cdot 2/(t+2)``) and, for IGT and HARPG,
:math:`\eta_t = (2/(t+2))^{4/5}` (IGT) and :math:`\eta_t = 2/(t+2)` (HARPG), :math:`\gamma_t =
\gamma_0\cdot 2/(t+2)` (the anytime schedules used in our checks; the exponents follow the
paper's theorems, the constants are ours).
"""

from __future__ import annotations

import dataclasses
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

__all__ = ["VRState", "STOCHASTIC_METHODS", "STOCHASTIC_HYPERPARAMETERS", "make_stochastic_method", "init",
           "update", "run_stochastic", "RunTrace",
           "stochastic_pmd_step", "PGHyperparameters", "SVRPGHyperparameters", "STORMHyperparameters",
           "PAGEHyperparameters", "IGTHyperparameters", "HARPGHyperparameters"]


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


def _positive(obj, name, cast=float):
    x = getattr(obj, name)
    y = check_positive_int(x, name) if cast is int else check_positive_float(x, name)
    object.__setattr__(obj, name, y)


@dataclass(frozen=True)
class PGHyperparameters:
    """Stochastic PG / NPG: step ``alpha`` (``decay``: ``alpha 2/(t+2)``), ``batch`` trajectories per step."""

    alpha: float = 0.1
    batch: int = 1
    decay: bool = False

    def __post_init__(self):
        _positive(self, "alpha")
        _positive(self, "batch", int)


@dataclass(frozen=True)
class SVRPGHyperparameters(PGHyperparameters):
    """SVRPG / SRVR-PG: a ``big_batch`` (default ``10 batch``) snapshot gradient every ``epoch`` steps."""

    big_batch: int | None = None
    epoch: int = 10

    def __post_init__(self):
        super().__post_init__()
        if self.big_batch is None:
            object.__setattr__(self, "big_batch", 10 * self.batch)
        _positive(self, "big_batch", int)
        _positive(self, "epoch", int)


@dataclass(frozen=True)
class STORMHyperparameters(PGHyperparameters):
    """STORM-PG: momentum weight ``beta`` in (0, 1]; ``big_batch`` trajectories at t = 0."""

    big_batch: int | None = None
    beta: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        if self.big_batch is None:
            object.__setattr__(self, "big_batch", 10 * self.batch)
        _positive(self, "big_batch", int)
        object.__setattr__(self, "beta", check_float(self.beta, "beta", lo=0.0, hi=1.0, lo_open=True,
                                                     what="STORM momentum"))


@dataclass(frozen=True)
class PAGEHyperparameters(PGHyperparameters):
    """PAGE-PG: a fresh ``big_batch`` gradient with probability ``p``, else the recursive correction."""

    big_batch: int | None = None
    p: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        if self.big_batch is None:
            object.__setattr__(self, "big_batch", 10 * self.batch)
        _positive(self, "big_batch", int)
        object.__setattr__(self, "p", check_float(self.p, "p", lo=0.0, hi=1.0, lo_open=True,
                                                  what="PAGE refresh probability"))


@dataclass(frozen=True)
class IGTHyperparameters:
    """N-PG-IGT: step scale ``gamma0`` (``gamma_t = gamma0 2/(t+2)``)."""

    gamma0: float = 0.1

    def __post_init__(self):
        _positive(self, "gamma0")


@dataclass(frozen=True)
class HARPGHyperparameters(IGTHyperparameters):
    """(N)-HARPG: step scale ``gamma0``; ``normalized=False`` is HARPG's unnormalized step."""

    normalized: bool = True


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


def _check_oracle(oracle):
    for attr in ("sample", "grads", "log_prob", "value", "optimum", "shape"):
        if not hasattr(oracle, attr):
            raise InvalidInputError(f"oracle: {type(oracle).__name__} has no .{attr}; pass a TabularOracle, "
                                    "a GaussianBanditOracle or an object with the same methods.")
    return oracle


def _alpha(hp, t):
    return hp.alpha * 2.0 / (t + 2) if hp.decay else hp.alpha


def _step(s, d, alpha, used, **kw):
    return replace(s, theta=s.theta + alpha * d, theta_prev=s.theta, d=d, t=s.t + 1, samples=s.samples + used, **kw)


def _pg(hp):
    def update(s, oracle, rng):
        d, used = _batch_grad(oracle, s.theta, hp.batch, rng)
        return _step(s, d, _alpha(hp, s.t), used)

    return update


def _svrpg(hp):
    def update(s, oracle, rng):
        snap, mu = s.snapshot, s.mu
        if s.t % hp.epoch == 0 or snap is None:
            snap = s.theta.copy()
            mu, used = _batch_grad(oracle, snap, hp.big_batch, rng)
            d = mu
        else:
            d = mu + _correction(oracle, s.theta, snap, hp.batch, rng)
            used = hp.batch
        return _step(s, d, _alpha(hp, s.t), used, snapshot=snap, mu=mu)

    return update


def _recursive(hp, loopless):
    def update(s, oracle, rng):
        fresh = s.t == 0 or (rng.random() < hp.p if loopless else s.t % hp.epoch == 0)
        if fresh:
            d, used = _batch_grad(oracle, s.theta, hp.big_batch, rng)
        else:
            d = s.d + _correction(oracle, s.theta, s.theta_prev, hp.batch, rng)
            used = hp.batch
        return _step(s, d, _alpha(hp, s.t), used)

    return update


def _storm(hp):
    def update(s, oracle, rng):
        if s.t == 0:
            d, used = _batch_grad(oracle, s.theta, hp.big_batch, rng)
        else:
            tau = oracle.sample(s.theta, hp.batch, _seed(rng))
            g_now = oracle.grads(tau, s.theta)
            w = np.exp(oracle.log_prob(tau, s.theta_prev) - oracle.log_prob(tau, s.theta))
            g_old = w[..., None] * oracle.grads(tau, s.theta_prev)
            d = g_now.mean(-2) + (1 - hp.beta) * (s.d - g_old.mean(-2))
            used = hp.batch
        return _step(s, d, _alpha(hp, s.t), used)

    return update


def _igt(hp):
    def update(s, oracle, rng):
        t = s.t
        eta = (2.0 / (t + 2)) ** 0.8
        shifted = s.theta + (1 - eta) / eta * (s.theta - s.theta_prev)
        tau = oracle.sample(shifted, 1, _seed(rng))
        d = (1 - eta) * s.d + eta * oracle.grads(tau, shifted)[..., 0, :]
        return replace(s, theta=s.theta + hp.gamma0 * 2.0 / (t + 2) * _normalized(d), theta_prev=s.theta, d=d,
                       t=t + 1, samples=s.samples + 1)

    return update


def _harpg(hp):
    def update(s, oracle, rng):
        t = s.t
        eta = 2.0 / (t + 2)
        q = rng.random(s.theta.shape[:-1] + (1,))
        hat = q * s.theta + (1 - q) * s.theta_prev
        tau_hat = oracle.sample(hat, 1, _seed(rng))
        v = oracle.hvp(tau_hat, hat, s.theta - s.theta_prev)[..., 0, :]
        tau = oracle.sample(s.theta, 1, _seed(rng))
        d = (1 - eta) * (s.d + v) + eta * oracle.grads(tau, s.theta)[..., 0, :]
        move = _normalized(d) if hp.normalized else d
        return replace(s, theta=s.theta + hp.gamma0 * 2.0 / (t + 2) * move, theta_prev=s.theta, d=d, t=t + 1,
                       samples=s.samples + 2)

    return update


def _npg(hp):
    def update(s, oracle, rng):
        tau = oracle.sample(s.theta, hp.batch, _seed(rng))
        g = oracle.grads(tau, s.theta).mean(0)
        F = oracle.fisher(tau, s.theta)
        w, *_ = np.linalg.lstsq(F, g, rcond=1e-10)
        return replace(s, theta=s.theta + _alpha(hp, s.t) * w, theta_prev=s.theta, d=w, t=s.t + 1,
                       samples=s.samples + hp.batch)

    return update


#: name -> (hyperparameter class, builder of the update, replicas allowed)
_REGISTRY = {
    "pg": (PGHyperparameters, _pg, True),
    "svrpg": (SVRPGHyperparameters, _svrpg, False),
    "srvr": (SVRPGHyperparameters, lambda hp: _recursive(hp, loopless=False), False),
    "storm": (STORMHyperparameters, _storm, True),
    "page": (PAGEHyperparameters, lambda hp: _recursive(hp, loopless=True), False),
    "igt": (IGTHyperparameters, _igt, True),
    "harpg": (HARPGHyperparameters, _harpg, True),
    "npg": (PGHyperparameters, _npg, False),
}
STOCHASTIC_METHODS = tuple(_REGISTRY)
#: method name -> its hyperparameter dataclass
STOCHASTIC_HYPERPARAMETERS = {name: cls for name, (cls, _, _) in _REGISTRY.items()}


def make_stochastic_method(method: str, **hyperparameters):
    """A :class:`mdpgrad.algorithms.Method` for the stochastic ``method`` (``update(state, oracle, rng)``).

    Raises :class:`mdpgrad.algorithms.UnknownHyperparameterError` for a keyword the method does not have.
    """
    from ..algorithms import Method, UnknownHyperparameterError

    if method not in _REGISTRY:
        raise InvalidInputError(f"method = {method!r} is not known; choose one of {STOCHASTIC_METHODS}.")
    cls, build, _ = _REGISTRY[method]
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(hyperparameters) - set(names))
    if unknown:
        raise UnknownHyperparameterError(
            f"{', '.join(map(repr, unknown))}: not a hyperparameter of {method!r} ({cls.__name__}); "
            f"its hyperparameters are {', '.join(names)}.")
    hp = cls(**hyperparameters)
    return Method(method, hp, init, build(hp))


def update(method, state: VRState, oracle, rng: np.random.Generator) -> VRState:
    """One step of ``method`` (a name with default hyperparameters, or a :class:`mdpgrad.algorithms.Method`)."""
    from ..algorithms import Method

    if isinstance(method, str):
        check_choice(method, "method", STOCHASTIC_METHODS)
        m = make_stochastic_method(method)
    elif isinstance(method, Method):
        m = method
    else:
        raise InvalidInputError(f"method: expected a method name or a Method, got {type(method).__name__}.")
    if not isinstance(state, VRState):
        raise InvalidInputError(f"state: expected a VRState (from init), got {type(state).__name__}.")
    _check_oracle(oracle)
    if not isinstance(rng, np.random.Generator):
        raise InvalidInputError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}.")
    return m.update(state, oracle, rng)


@dataclass(frozen=True)
class RunTrace:
    """Iterates recorded by :func:`run_stochastic`: ``samples[k]`` trajectories used and ``gap[k] = J* - J(theta_k)``."""

    method: str
    samples: np.ndarray
    gap: np.ndarray
    theta: np.ndarray


#: methods with a compiled seed batch: name -> (hyperparameter class, builder, its closure's other variables)
_COMPILED = {"pg": (PGHyperparameters, _pg, {}), "storm": (STORMHyperparameters, _storm, {}),
             "svrpg": (SVRPGHyperparameters, _svrpg, {}), "igt": (IGTHyperparameters, _igt, {}),
             "harpg": (HARPGHyperparameters, _harpg, {}), "npg": (PGHyperparameters, _npg, {}),
             "srvr": (SVRPGHyperparameters, _recursive, {"loopless": False}),
             "page": (PAGEHyperparameters, _recursive, {"loopless": True})}


def _closure(fn) -> dict:
    cells = getattr(fn, "__closure__", None) or ()
    return dict(zip(getattr(getattr(fn, "__code__", None), "co_freevars", ()), (c.cell_contents for c in cells)))


def compiled_method(meth, oracle, replicas) -> bool:
    """True when ``(meth, oracle)`` runs in the compiled seed batch (:mod:`mdpgrad.estimators.seed_batch`):
    a registry method (pg, storm, svrpg, srvr, page, igt, harpg, npg) built by :func:`make_stochastic_method`
    (its own update, closing over its own hyperparameters) on a softmax :class:`TabularOracle` of a dense
    MDP, without replicas. Anything else -- user-written updates included -- runs the Python loop."""
    from ..mdp import as_mdp
    from .oracles import TabularOracle

    if replicas is not None or meth.name not in _COMPILED:
        return False
    cls, builder, extra = _COMPILED[meth.name]
    upd = meth.update
    env = _closure(upd)
    return (type(meth.hparams) is cls and getattr(upd, "__qualname__", "") == builder.__name__ + ".<locals>.update"
            and getattr(upd, "__module__", "") == __name__ and env.get("hp") is meth.hparams
            and all(env.get(k, object()) == v for k, v in extra.items())
            and type(oracle) is TabularOracle and oracle.parametrization == "softmax"
            and not getattr(as_mdp(oracle.mdp), "is_sparse", False))


def _seed_list(seed):
    """The validated list of a seed batch (``None`` for a single seed)."""
    if not (isinstance(seed, (list, tuple)) or (isinstance(seed, np.ndarray) and seed.ndim == 1)):
        return None
    seeds = list(seed)
    if not seeds:
        raise InvalidInputError("seed: an empty list of seeds; give at least one seed (or one int).")
    for i, sd in enumerate(seeds):
        if isinstance(sd, (bool, np.bool_)) or not isinstance(sd, (int, np.integer)) or sd < 0:
            raise InvalidInputError(f"seed[{i}] = {sd!r}: a batch of seeds must be non-negative integers.")
    return [int(sd) for sd in seeds]


def _diverged(meth, gap, record_every):
    bad = np.flatnonzero(~np.all(np.isfinite(np.asarray(gap).reshape(len(gap), -1)), axis=1))
    if bad.size:
        k = int(bad[0]) * record_every
        step = getattr(meth.hparams, "alpha", getattr(meth.hparams, "gamma0", None))
        raise DivergedError(f"{meth.name}: the iterates diverged (gap {gap[bad[0]]} at iteration {k}); "
                            f"reduce the step size (alpha/gamma0 = {step}).")


def run_stochastic(method, oracle, theta0, n_iter: int, *, seed=0, record_every: int = 1,
                   replicas: int | None = None, **hyperparameters) -> RunTrace:
    """Run ``n_iter`` updates of ``method`` (a name plus its hyperparameters, or a built Method) and record
    the exact optimality gap (per replica when ``replicas`` is given: ``gap[k, r]``; replicas need an
    oracle with a leading axis and a method without per-replica branching: pg, storm, igt, harpg).

    ``seed`` a list (or 1-D integer array) of seeds runs one independent run per seed and returns one
    :class:`RunTrace` with a leading batch axis (``gap[b, k]``, ``samples[b, k]``, ``theta[b, ...]``),
    run ``b`` *equal* to ``run_stochastic(..., seed=seed[b])``. Each seed draws from its own generator,
    so no two seeds share a stream. Every registry method (pg, storm, page, svrpg, srvr, igt, harpg, npg,
    built by :func:`make_stochastic_method`) on a softmax :class:`TabularOracle` of a dense MDP, without
    replicas, runs the whole batch in one compiled call, parallel over the seeds
    (:mod:`mdpgrad.estimators.seed_batch`; :func:`compiled_method` decides): each seed's generator makes the
    Python loop's draws in its order (sampling subseeds, PAGE's coin, HARPG's ``q``), so the run equals
    the Python loop to round-off (npg: times its sample Fisher's condition number), and a single seed
    takes the same kernel, which is what makes the batch equal to separate runs bit for bit. Other oracles
    (the Gaussian bandit; log-linear policies; sparse MDPs), ``replicas`` and user-written updates run the
    batch as a loop of single runs; unlike ``replicas`` the loop works for every method. The loop stops
    with InvalidInputError once ``|theta|`` exceeds 1e150; the compiled run only when it is not finite.

    Raises :class:`mdpgrad.errors.DivergedError` when the gap stops being finite."""
    from ..algorithms import Method
    from .seed_batch import run_pg_tabular, run_vr_tabular

    seeds = _seed_list(seed)
    if isinstance(method, Method):
        if hyperparameters:
            raise InvalidInputError(f"{sorted(hyperparameters)}: pass hyperparameters to make_stochastic_method(), "
                                   "not run_stochastic().")
        meth = method
    else:
        check_choice(method, "method", STOCHASTIC_METHODS)
        meth = make_stochastic_method(method, **hyperparameters)
    if replicas is not None and not _REGISTRY.get(meth.name, (None, None, False))[2]:
        raise InvalidInputError(f"replicas: method {meth.name!r} branches per run; use replicas=None.")
    _check_oracle(oracle)
    n_iter = check_positive_int(n_iter, "n_iter")
    record_every = check_positive_int(record_every, "record_every")
    if seeds is None:
        as_generator(seed)  # validates a single seed
    if theta0 is None:
        raise InvalidInputError("theta0: pass a starting parameter vector, e.g. np.zeros(oracle.shape).")
    s0 = meth.init(theta0, replicas)
    if s0.theta.shape[-1] != int(np.prod(oracle.shape)):
        raise InvalidInputError(f"theta0: has {s0.theta.shape[-1]} parameters, the oracle needs "
                                f"{int(np.prod(oracle.shape))} (shape {tuple(oracle.shape)}).")
    if compiled_method(meth, oracle, replicas):
        if meth.name == "pg":
            samples, value, theta, _ = run_pg_tabular(meth, oracle, s0.theta, n_iter, seeds or [seed], record_every)
            samples = np.repeat(samples[None], len(seeds or [seed]), axis=0)
        else:
            samples, value, theta, _ = run_vr_tabular(meth, oracle, s0.theta, n_iter, seeds or [seed], record_every)
        gap = oracle.optimum() - value
        for b in range(gap.shape[0]):
            _diverged(meth, gap[b], record_every)
        if seeds is None:
            return RunTrace(meth.name, samples[0], gap[0], theta[0])
        return RunTrace(meth.name, samples, gap, theta)
    if seeds is not None:
        runs = [_run_loop(meth, oracle, s0, n_iter, sd, record_every) for sd in seeds]
        return RunTrace(meth.name, np.stack([r.samples for r in runs]), np.stack([r.gap for r in runs]),
                        np.stack([r.theta for r in runs]))
    return _run_loop(meth, oracle, s0, n_iter, seed, record_every)


def _run_loop(meth, oracle, s, n_iter, seed, record_every) -> RunTrace:
    """The Python loop of :func:`run_stochastic` (validated inputs; ``s`` the initial state)."""
    rng = as_generator(seed)
    jstar = oracle.optimum()
    samp, gap = [0], [jstar - oracle.value(s.theta)]
    for k in range(n_iter):
        s = meth.update(s, oracle, rng)
        if (k + 1) % record_every == 0:
            samp.append(s.samples)
            gap.append(jstar - oracle.value(s.theta))
            if not np.all(np.isfinite(gap[-1])):
                _diverged(meth, gap, record_every)
    return RunTrace(meth.name, np.asarray(samp), np.asarray(gap), s.theta)


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

