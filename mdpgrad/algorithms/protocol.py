"""The optimizer protocol of :func:`mdpgrad.optimize`: :class:`Method` (an optax-like ``(init, update)``
pair with frozen hyperparameters), its frozen state :class:`OptState`, the recorded trajectory
:class:`OptimizeResult`, and the method transforms used for negative controls (:func:`transform`,
:func:`keep_policy`). Formulas and papers are in :mod:`mdpgrad.algorithms.core`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .steps import Exact

__all__ = ["OptState", "Method", "NumbaSpec", "OptimizeResult", "RECORDABLE", "COMPILED_RECORDABLE", "transform",
           "keep_policy", "check_record"]

#: the fields :func:`mdpgrad.optimize` can record
RECORDABLE = ("value", "gap", "entropy", "step_size", "params", "policy", "reg_value", "reg_gap",
              "q_error", "grad_norm", "masked")
#: the fields the compiled loops (:mod:`mdpgrad.kernels.algorithms`) record
COMPILED_RECORDABLE = ("value", "gap", "entropy", "step_size", "reg_value", "reg_gap")


@dataclass(frozen=True)
class OptState:
    """Frozen optimizer state.

    ``params``: logits ``theta[s, a]`` (softmax family), the policy itself (``direct_pg``,
    Euclidean ``pmd``) or log-linear weights ``theta[d]``; ``pi``: the current policy; ``ev``: its
    exact evaluation (:class:`~mdpgrad.algorithms.steps.Exact`, entropy-regularized at the method's
    ``tau``); ``t``: iterations done; ``step_size``: the step used by the last update (0 before any);
    ``info``: method-specific scalars of the last update (e.g. the masked fraction).
    """

    params: np.ndarray
    pi: np.ndarray
    ev: Exact
    t: int = 0
    step_size: float = 0.0
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class NumbaSpec:
    """Arguments of the compiled implementation of a method's update (:mod:`mdpgrad.kernels.algorithms`)."""

    mode: int
    eta: float
    tau: float = 0.0
    grad_scale: float | None = None
    use_rho: bool = False
    geometric: bool = False
    f_star: float = 0.0
    max_step: float = 0.0


@dataclass(frozen=True)
class Method:
    """An exact optimizer: ``init(mdp, theta0) -> OptState`` and ``update(state, mdp) -> OptState``.

    ``hparams``: the frozen hyperparameters it was built from; ``tau``: the entropy temperature of the
    evaluation carried in the state; ``numba``: the compiled implementation of the same update, or None.
    """

    name: str
    hparams: Any
    init: Callable[[Any, Any], OptState]
    update: Callable[[OptState, Any], OptState]
    tau: float = 0.0
    numba: NumbaSpec | None = None


def transform(method: Method, post: Callable[[OptState, OptState, Any], OptState], *, name: str | None = None) -> Method:
    """``method`` with its update followed by ``post(old_state, new_state, mdp) -> state``.

    For negative controls: a wrong variant of a method built from the real one without editing
    library code. The result runs on the NumPy backend (its compiled implementation is dropped).
    """
    def update(state, mdp):
        return post(state, method.update(state, mdp), mdp)

    return replace(method, name=name or f"{method.name}+{getattr(post, '__name__', 'transform')}", update=update,
                   numba=None)


def keep_policy(method: Method) -> Method:
    """``method`` whose every step returns the policy unchanged (the counter and recorded step still advance)."""
    def unchanged(old, new, mdp):
        return replace(old, t=new.t, step_size=new.step_size, info=new.info)

    return transform(method, unchanged, name=f"{method.name}+keep_policy")


@dataclass(frozen=True)
class OptimizeResult:
    """Trajectory of an exact optimizer (every array field gets a leading batch axis for a batched call).

    ``t``: recorded iteration indices (0 = initial policy, every ``record_every``); ``value``:
    rho . v^{pi_t} (unregularized); ``gap``: V*(rho) - value; ``entropy``: rho-average of per-state
    policy entropy; ``step_size``: step used at iteration t (0 at the last); ``reg_value`` /
    ``reg_gap`` / ``q_error``: entropy-regularized value, gap to the soft optimum and
    ``||Q*_tau - Q_tau^{pi_t}||_inf`` (when ``tau > 0`` and recorded); ``params`` / ``policies``: only
    when recorded; ``policy``: final policy; ``params_final``: final parameters; ``v_star``: V*(rho);
    ``backend``: the implementation that ran; ``min_prob_a_star``: ``min_{t,s} pi_t(a_star[s]|s)`` when
    ``a_star`` was given; ``n_factorizations``: LU factorizations done (Numba backend).
    """

    method: str
    t: np.ndarray
    value: np.ndarray
    gap: np.ndarray
    entropy: np.ndarray
    step_size: np.ndarray
    policy: np.ndarray
    params_final: np.ndarray
    v_star: float | np.ndarray
    backend: str = "numpy"
    reg_value: np.ndarray | None = None
    reg_gap: np.ndarray | None = None
    q_error: np.ndarray | None = None
    grad_norm: np.ndarray | None = None
    masked: np.ndarray | None = None
    params: np.ndarray | None = None
    policies: np.ndarray | None = None
    min_prob_a_star: float | np.ndarray | None = None
    n_factorizations: int | np.ndarray | None = None


def check_record(record) -> tuple[str, ...]:
    """``record`` as a tuple of names from :data:`RECORDABLE` (value, gap, entropy, step_size by default)."""
    if record is None:
        record = ("value", "gap", "entropy", "step_size")
    if isinstance(record, str):
        record = (record,)
    if not isinstance(record, (tuple, list)) or not all(isinstance(k, str) for k in record):
        raise InvalidInputError(f"record = {record!r:.60}: pass names from {RECORDABLE} (a tuple of strings).")
    record = tuple(record)
    for k in record:
        if k not in RECORDABLE:
            raise InvalidInputError(f"record: {k!r} is not recordable; choose from {RECORDABLE}.")
    return record
