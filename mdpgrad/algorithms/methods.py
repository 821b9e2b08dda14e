r"""The exact policy-optimization methods: typed hyperparameters and ``(init, update)`` pairs.

Each method is built from a frozen hyperparameter dataclass (:class:`SoftmaxPG`, :class:`NPG`, ...):
``make_method("npg", step_size=1.0)`` constructs ``NPG(step_size=1.0)`` and returns a
:class:`~mdpgrad.algorithms.protocol.Method`. A keyword that is not a field of the method's dataclass
(misspelled, or meant for another method) raises :class:`UnknownHyperparameterError` before any work.

The state (:class:`~mdpgrad.algorithms.protocol.OptState`) carries the exact evaluation ``state.ev`` of its
policy, so ``update`` reads ``Q``, ``A``, ``d`` from the state and evaluates only the new policy: each
iterate is evaluated once. Formulas and papers are in :mod:`mdpgrad.algorithms.core`.

Knobs for negative controls (wrong variants run through the same library code):

* ``weighting="rho"`` (:class:`SoftmaxPG`, :class:`DirectPG`, :class:`PolyakPG`): weight states by the
  start distribution ``rho(s)`` instead of the discounted occupancy ``d^pi_rho(s)``;
* ``grad_scale=c`` (softmax/direct PG, NPG, entropy NPG, Polyak): replace the factor ``1 / (1 - gamma)``
  of the gradient (or of the NPG step) by ``c``; ``grad_scale=1.0`` drops it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..mdp import FeatureMDP, as_mdp
from ..policies import log_softmax, project_simplex, softmax
from ..validation import as_float_array, check_float, check_positive_int
from .protocol import Method, NumbaSpec, OptState
from .steps import capo_step, check_step_size, exact_quantities, mdpo_inner, rebel_step, trpo_exact_step, trpo_step

__all__ = ["UnknownHyperparameterError", "SoftmaxPG", "DirectPG", "NPG", "EntropyNPG", "LogLinearNPG", "PMD",
           "MDPO", "PolyakPG", "TRPO", "REBEL", "CAPO", "HYPERPARAMETERS", "METHODS", "make_method"]


class UnknownHyperparameterError(InvalidInputError):
    """A method was given a keyword that is not one of its hyperparameters (misspelled, or another method's)."""


_WEIGHTINGS = ("occupancy", "rho")


def _check_weighting(w):
    if w not in _WEIGHTINGS:
        raise InvalidInputError(f"weighting = {w!r}: choose 'occupancy' (d^pi_rho, the true gradient) or 'rho'.")


def _check_scale(c):
    if c is not None:
        check_step_size(c, "grad_scale")


def _set(obj, name, value):
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class SoftmaxPG:
    """Softmax PG: ``theta += step_size * grad_scale * w(s) pi(a|s) (Q_tau - tau log pi - V_tau)``."""

    step_size: float
    tau: float = 0.0
    weighting: str = "occupancy"
    grad_scale: float | None = None

    def __post_init__(self):
        from ..regularized import check_tau

        _set(self, "step_size", check_step_size(self.step_size))
        _set(self, "tau", check_tau(self.tau))
        _check_weighting(self.weighting)
        _check_scale(self.grad_scale)


@dataclass(frozen=True)
class DirectPG:
    """Projected PG on the simplex: ``pi = Proj(pi + step_size * grad_scale * w(s) Q)``."""

    step_size: float
    weighting: str = "occupancy"
    grad_scale: float | None = None

    def __post_init__(self):
        _set(self, "step_size", check_step_size(self.step_size))
        _check_weighting(self.weighting)
        _check_scale(self.grad_scale)


@dataclass(frozen=True)
class NPG:
    """Softmax NPG: ``theta += step_size * grad_scale * A``."""

    step_size: float
    grad_scale: float | None = None

    def __post_init__(self):
        _set(self, "step_size", check_step_size(self.step_size))
        _check_scale(self.grad_scale)


@dataclass(frozen=True)
class EntropyNPG:
    """Entropy-regularized NPG: ``theta = (1 - step_size tau c) log pi + step_size c Q_tau``, ``c = grad_scale``."""

    step_size: float
    tau: float
    grad_scale: float | None = None

    def __post_init__(self):
        from ..regularized import check_tau

        _set(self, "step_size", check_step_size(self.step_size))
        _set(self, "tau", check_tau(self.tau))
        if not self.tau > 0:
            raise InvalidInputError("tau: entropy_npg needs a temperature tau > 0.")
        _check_scale(self.grad_scale)


@dataclass(frozen=True)
class LogLinearNPG:
    """Log-linear Q-NPG (``target="q"``) or NPG (``target="advantage"``) with features ``phi[s, a, d]``."""

    step_size: float
    phi: np.ndarray | None = None
    target: str = "advantage"

    def __post_init__(self):
        _set(self, "step_size", check_step_size(self.step_size))
        if self.phi is not None:
            _set(self, "phi", as_float_array(self.phi, "phi"))
        if self.target not in ("q", "advantage"):
            raise InvalidInputError(f"target = {self.target!r}: choose 'q' (Q-NPG) or 'advantage' (NPG).")


@dataclass(frozen=True)
class PMD:
    """Policy mirror descent with ``bregman`` in {"kl", "euclidean"}, ``schedule`` in {"constant", "geometric"}."""

    step_size: float
    bregman: str = "kl"
    schedule: str = "constant"

    def __post_init__(self):
        _set(self, "step_size", check_step_size(self.step_size))
        if self.bregman not in ("kl", "euclidean"):
            raise InvalidInputError(f"bregman = {self.bregman!r}: choose 'kl' or 'euclidean'.")
        if self.schedule not in ("constant", "geometric"):
            raise InvalidInputError(f"schedule = {self.schedule!r}: choose 'constant' or 'geometric'.")


@dataclass(frozen=True)
class MDPO:
    """Exact MDPO: closed form (``n_inner=None``) or ``n_inner`` logit steps of size ``inner_lr``."""

    step_size: float
    n_inner: int | None = None
    inner_lr: float = 1.0

    def __post_init__(self):
        _set(self, "step_size", check_step_size(self.step_size))
        if self.n_inner is not None:
            _set(self, "n_inner", check_positive_int(self.n_inner, "n_inner"))
        _set(self, "inner_lr", check_step_size(self.inner_lr, "inner_lr"))


@dataclass(frozen=True)
class PolyakPG:
    """Softmax PG with the Polyak step ``(f_star - J_t) / ||grad||^2`` (``f_star=None``: the optimum V*(rho))."""

    f_star: float | None = None
    max_step: float | None = None
    weighting: str = "occupancy"
    grad_scale: float | None = None

    def __post_init__(self):
        if self.f_star is not None:
            _set(self, "f_star", check_float(self.f_star, "f_star", what="the target value f* >= J*"))
        if self.max_step is not None:
            _set(self, "max_step", check_step_size(self.max_step, "max_step"))
        _check_weighting(self.weighting)
        _check_scale(self.grad_scale)


@dataclass(frozen=True)
class TRPO:
    """Theoretically-justified TRPO (``kl_max=None``), its practical KL-constrained form, or the exact step."""

    kl_max: float | None = None
    exact: bool = False

    def __post_init__(self):
        if self.kl_max is not None:
            _set(self, "kl_max", check_step_size(self.kl_max, "kl_max"))


@dataclass(frozen=True)
class REBEL:
    """REBEL: per-state least squares of scaled logit differences on Q differences."""

    step_size: float

    def __post_init__(self):
        _set(self, "step_size", check_step_size(self.step_size))


@dataclass(frozen=True)
class CAPO:
    """Curvature-aware masked softmax PG; ``phi`` features for log-linear policies (tabular if None)."""

    step_size: float
    phi: np.ndarray | None = None

    def __post_init__(self):
        _set(self, "step_size", check_step_size(self.step_size))
        if self.phi is not None:
            _set(self, "phi", as_float_array(self.phi, "phi"))


# ----------------------------------------------------------------------------------------
# init
# ----------------------------------------------------------------------------------------
def _state(m, params, pi, tau, t=0, step=0.0, info=None):
    return OptState(params, pi, exact_quantities(m, pi, tau, check=False), t, step, {} if info is None else info)


def _logits_init(tau=0.0):
    def init(mdp, theta0):
        m = as_mdp(mdp)
        if theta0 is None:
            theta = np.zeros(m.shape)
        else:
            theta = as_float_array(theta0, "theta0")
            if theta.shape != m.shape:
                raise InvalidInputError(f"theta0: expected logits of shape (S, A) = {m.shape}, got {theta.shape}.")
        theta = theta.copy()
        return _state(m, theta, softmax(theta), tau)

    return init


def _policy_init(mdp, theta0):
    from ..exact import check_policy

    m = as_mdp(mdp)
    pi = np.full(m.shape, 1.0 / m.n_actions) if theta0 is None else check_policy(theta0, *m.shape, name="theta0")
    pi = pi.copy()
    return _state(m, pi, pi, 0.0)


def _loglinear_init(phi):
    def init(mdp, theta0):
        m = as_mdp(mdp)
        if phi.ndim != 3 or phi.shape[:2] != m.shape:
            raise InvalidInputError(f"phi: expected shape (S, A, d) = {m.shape + ('d',)}, got {phi.shape}.")
        d = phi.shape[-1]
        theta = np.zeros(d) if theta0 is None else as_float_array(theta0, "theta0", ndim=1).copy()
        if theta.shape != (d,):
            raise InvalidInputError(f"theta0: expected log-linear weights of shape ({d},), got {theta.shape}.")
        return _state(m, theta, softmax(phi @ theta), 0.0)

    return init


def _scale(hp, m):
    return 1.0 / (1.0 - m.gamma) if hp.grad_scale is None else hp.grad_scale


def _weights(hp, m, ev):
    return ev.d if hp.weighting == "occupancy" else m.rho


def _softmax_grad(hp, m, state):
    return _scale(hp, m) * _weights(hp, m, state.ev)[:, None] * state.pi * state.ev.adv


# ----------------------------------------------------------------------------------------
# methods: hyperparameters -> Method
# ----------------------------------------------------------------------------------------
def _softmax_pg(hp: SoftmaxPG):
    def update(state, mdp):
        m = as_mdp(mdp)
        grad = _softmax_grad(hp, m, state)
        theta = state.params + hp.step_size * grad
        return _state(m, theta, softmax(theta), hp.tau, state.t + 1, hp.step_size,
                      {"grad_norm": float(np.linalg.norm(grad))})

    spec = NumbaSpec(mode=0, eta=hp.step_size, tau=hp.tau, grad_scale=hp.grad_scale, use_rho=hp.weighting == "rho")
    return Method("softmax_pg", hp, _logits_init(hp.tau), update, hp.tau, spec)


def _direct_pg(hp: DirectPG):
    def update(state, mdp):
        m = as_mdp(mdp)
        grad = _scale(hp, m) * _weights(hp, m, state.ev)[:, None] * state.ev.q
        pi = project_simplex(state.pi + hp.step_size * grad)
        gmap = (pi - state.pi) / hp.step_size
        return _state(m, pi, pi, 0.0, state.t + 1, hp.step_size, {"grad_norm": float(np.linalg.norm(gmap))})

    return Method("direct_pg", hp, _policy_init, update)


def _npg(hp: NPG):
    def update(state, mdp):
        m = as_mdp(mdp)
        theta = state.params + hp.step_size * _scale(hp, m) * state.ev.adv
        return _state(m, theta, softmax(theta), 0.0, state.t + 1, hp.step_size)

    return Method("npg", hp, _logits_init(), update, 0.0, NumbaSpec(mode=1, eta=hp.step_size, grad_scale=hp.grad_scale))


def _entropy_npg(hp: EntropyNPG):
    base = _logits_init(hp.tau)

    def init(mdp, theta0):
        m = as_mdp(mdp)
        if hp.step_size > (1.0 - m.gamma) / hp.tau * (1 + 1e-12):
            raise InvalidInputError(
                f"step_size = {hp.step_size} exceeds (1 - gamma) / tau = {(1 - m.gamma) / hp.tau:.6g}, the range "
                "of entropy-regularized NPG (Cen et al. 2021); use a smaller step."
            )
        return base(m, theta0)

    def update(state, mdp):
        m = as_mdp(mdp)
        c = _scale(hp, m)
        theta = (1.0 - hp.step_size * hp.tau * c) * log_softmax(state.params) + hp.step_size * c * state.ev.q
        return _state(m, theta, softmax(theta), hp.tau, state.t + 1, hp.step_size)

    spec = NumbaSpec(mode=2, eta=hp.step_size, tau=hp.tau, grad_scale=hp.grad_scale)
    return Method("entropy_npg", hp, init, update, hp.tau, spec)


def _loglinear_npg(hp: LogLinearNPG, name):
    phi = hp.phi

    def update(state, mdp):
        m = as_mdp(mdp)
        ex = state.ev
        wts = (ex.d[:, None] * state.pi).reshape(-1)
        if hp.target == "q":
            X = phi.reshape(-1, phi.shape[-1])
            y = ex.q.reshape(-1)
        else:
            centred = phi - np.einsum("sa,sad->sd", state.pi, phi)[:, None, :]
            X = centred.reshape(-1, phi.shape[-1])
            y = ex.adv.reshape(-1)
        sw = np.sqrt(wts)
        w, *_ = np.linalg.lstsq(sw[:, None] * X, sw * y, rcond=1e-12)
        theta = state.params + hp.step_size * w / (1.0 - m.gamma)
        return _state(m, theta, softmax(phi @ theta), 0.0, state.t + 1, hp.step_size)

    return Method(name, hp, _loglinear_init(phi), update)


def _pmd(hp: PMD):
    def update(state, mdp):
        m = as_mdp(mdp)
        eta = hp.step_size if hp.schedule == "constant" else min(hp.step_size / m.gamma ** state.t, 1e300)
        q = state.ev.q
        if hp.bregman == "kl":
            # pi ∝ pi exp(eta Q); shift by max per state for stability (policy unchanged).
            z = state.params + eta * (q - q.max(axis=1, keepdims=True))
            z = z - z.max(axis=1, keepdims=True)
            return _state(m, z, softmax(z), 0.0, state.t + 1, eta)
        pi = project_simplex(state.pi + eta * q)
        return _state(m, pi, pi, 0.0, state.t + 1, eta)

    if hp.bregman == "kl":
        spec = NumbaSpec(mode=4, eta=hp.step_size, geometric=hp.schedule == "geometric")
        return Method(f"pmd_kl_{hp.schedule}", hp, _logits_init(), update, 0.0, spec)
    return Method(f"pmd_euclidean_{hp.schedule}", hp, _policy_init, update)


def _mdpo(hp: MDPO):
    def update(state, mdp):
        m = as_mdp(mdp)
        ex = state.ev
        if hp.n_inner is None:
            theta = np.log(np.maximum(state.pi, 1e-300)) + hp.step_size * ex.adv
        else:
            theta = mdpo_inner(state.pi, ex.adv, ex.d, hp.step_size, hp.n_inner, hp.inner_lr, check=False)
        return _state(m, theta, softmax(theta), 0.0, state.t + 1, hp.step_size)

    return Method("mdpo", hp, _logits_init(), update)


def _polyak(hp: PolyakPG):
    def update(state, mdp):
        m = as_mdp(mdp)
        if hp.f_star is None:
            raise InvalidInputError("f_star: polyak_pg needs a target value; optimize() fills in V*(rho).")
        grad = _softmax_grad(hp, m, state)
        g2 = float(np.sum(grad * grad))
        eta = max(hp.f_star - state.ev.value, 0.0) / g2 if g2 > 0 else 0.0
        if hp.max_step is not None:
            eta = min(eta, hp.max_step)
        theta = state.params + eta * grad
        return _state(m, theta, softmax(theta), 0.0, state.t + 1, eta)

    spec = None
    if hp.f_star is not None:
        spec = NumbaSpec(mode=3, eta=0.0, f_star=hp.f_star, max_step=hp.max_step or 0.0, grad_scale=hp.grad_scale,
                         use_rho=hp.weighting == "rho")
    return Method("polyak_pg", hp, _logits_init(), update, 0.0, spec)


def _trpo(hp: TRPO):
    def update(state, mdp):
        m = as_mdp(mdp)
        if hp.exact and hp.kl_max is None:
            pi, beta = trpo_exact_step(m, state.pi, check=False)
        else:
            pi, beta = trpo_step(m, state.pi, kl_max=hp.kl_max, check=False)
        theta = np.log(np.maximum(pi, 1e-300))
        return _state(m, theta, pi, 0.0, state.t + 1, beta)

    return Method("trpo", hp, _logits_init(), update)


def _rebel(hp: REBEL):
    def update(state, mdp):
        m = as_mdp(mdp)
        theta = rebel_step(state.params, state.ev.q, hp.step_size)
        return _state(m, theta, softmax(theta), 0.0, state.t + 1, hp.step_size)

    return Method("rebel", hp, _logits_init(), update)


def _capo(hp: CAPO):
    phi = hp.phi

    def update(state, mdp):
        m = as_mdp(mdp)
        theta, frac, model = capo_step(m, state.params, hp.step_size, phi=phi)
        pi = softmax(theta) if phi is None else softmax(phi @ theta)
        return _state(m, theta, pi, 0.0, state.t + 1, hp.step_size, {"masked": frac, "model": model})

    return Method("capo", hp, _logits_init() if phi is None else _loglinear_init(phi), update)


#: method name -> (hyperparameter class, fixed keyword values, builder)
_REGISTRY = {
    "softmax_pg": (SoftmaxPG, {}, _softmax_pg),
    "direct_pg": (DirectPG, {}, _direct_pg),
    "npg": (NPG, {}, _npg),
    "entropy_npg": (EntropyNPG, {}, _entropy_npg),
    "qnpg": (LogLinearNPG, {"target": "q"}, lambda hp: _loglinear_npg(hp, "qnpg")),
    "loglinear_npg": (LogLinearNPG, {"target": "advantage"}, lambda hp: _loglinear_npg(hp, "loglinear_npg")),
    "pmd": (PMD, {}, _pmd),
    "mdpo": (MDPO, {}, _mdpo),
    "polyak_pg": (PolyakPG, {}, _polyak),
    "trpo": (TRPO, {}, _trpo),
    "rebel": (REBEL, {}, _rebel),
    "capo": (CAPO, {}, _capo),
}

#: method name -> its hyperparameter dataclass
HYPERPARAMETERS = {name: cls for name, (cls, _, _) in _REGISTRY.items()}

METHODS = (*_REGISTRY, "dynamic_pg", "simultaneous_pg")


def make_method(method: str, *, mdp=None, **hyperparameters) -> Method:
    """Build a :class:`Method` by name from keyword hyperparameters (the fields of ``HYPERPARAMETERS[method]``).

    ``mdp`` (optional) supplies the features of a :class:`~mdpgrad.FeatureMDP` to ``qnpg`` / ``loglinear_npg``.
    Raises :class:`UnknownHyperparameterError` for a keyword the method does not have and
    :class:`~mdpgrad.errors.InvalidInputError` for a missing or invalid value.
    """
    if method in ("dynamic_pg", "simultaneous_pg"):
        raise InvalidInputError(f"method = {method!r} applies to FiniteHorizonMDP only (mdpgrad.finite_horizon).")
    if method not in _REGISTRY:
        raise InvalidInputError(f"method = {method!r} is not known; choose one of {', '.join(METHODS)}.")
    cls, fixed, build = _REGISTRY[method]
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(hyperparameters) - set(names) | (set(hyperparameters) & set(fixed)))
    if unknown:
        allowed = [n for n in names if n not in fixed]
        raise UnknownHyperparameterError(
            f"{', '.join(map(repr, unknown))}: not a hyperparameter of {method!r} ({cls.__name__}); "
            f"its hyperparameters are {', '.join(allowed)}."
        )
    kw = {k: v for k, v in hyperparameters.items() if v is not None or k not in ("step_size",)}
    if "phi" in names and kw.get("phi") is None and isinstance(mdp, FeatureMDP):
        kw["phi"] = mdp.phi
    if cls is LogLinearNPG and kw.get("phi") is None:
        raise InvalidInputError(f"phi: {method} needs features phi[s, a, d]; pass phi= or a FeatureMDP.")
    missing = [f.name for f in dataclasses.fields(cls)
               if f.default is dataclasses.MISSING and f.name not in kw and f.name not in fixed]
    if missing:
        raise InvalidInputError(f"{', '.join(missing)}: {method!r} needs {' and '.join(missing)} (a positive float).")
    return build(cls(**kw, **fixed))

