"""The types of the optimizer loop and the helpers its single and batched runs share.

:class:`OptState`, :class:`Method` (``init``/``update``), :class:`NumbaSpec` and :class:`OptimizeResult`;
:func:`transform` / :func:`keep_policy` for negative controls. :func:`mdpgrad.algorithms.core.optimize` (the
loop), :mod:`~mdpgrad.algorithms.methods` (the methods) and :mod:`~mdpgrad.algorithms.batch` (batched runs)
import from here, so none of them imports another (no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..policies import softmax
from .steps import Exact

__all__ = ["OptState", "Method", "NumbaSpec", "OptimizeResult", "RECORDABLE", "transform", "keep_policy"]

RECORDABLE = ("value", "gap", "entropy", "step_size", "params", "policy", "reg_value", "reg_gap",
              "q_error", "grad_norm", "masked")
NUMBA_RECORDABLE = ("value", "gap", "entropy", "step_size", "reg_value", "reg_gap")
BACKENDS = ("auto", "numpy", "numba")


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
    """Arguments of the compiled implementation of a method's update (:mod:`mdpgrad.algorithms._kernels`)."""

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


def as_record(record):
    """``record`` as a validated tuple of names from :data:`RECORDABLE` (the default when None)."""
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


def optimal_value(m) -> float:
    """``V*(rho)`` by policy iteration, BLAS on one thread (at S ~ 100 waking a BLAS thread pool costs
    more than the solves)."""
    from .._evaluate_kernels import blas_single_thread
    from ..exact import solve

    with blas_single_thread():
        return float(m.rho @ solve(m, "policy_iteration").v)


def check_a_star(a_star, m):
    """``a_star`` as ``int64`` actions, one per state."""
    a = np.asarray(a_star)
    if a.shape != (m.n_states,) or not np.issubdtype(a.dtype, np.integer) or np.any((a < 0) | (a >= m.n_actions)):
        raise InvalidInputError(f"a_star: expected {m.n_states} integer actions in [0, {m.n_actions}), got {a!r}.")
    return a.astype(np.int64)


def soft_optimum_for(m, meth, record):
    """The entropy-regularized optimum when ``record`` needs it (None otherwise)."""
    needs = [k for k in ("reg_value", "reg_gap", "q_error") if k in record]
    if needs and not meth.tau > 0:
        raise InvalidInputError(f"record: {needs} need an entropy-regularized method (tau > 0).")
    if "reg_gap" in record or "q_error" in record:
        from ..regularized import soft_optimum

        return soft_optimum(m, meth.tau)
    return None


def numba_result(meth, record, record_every, vals, regs, ents, steps, min_star, n_fact, theta, v_star, soft,
                  track) -> OptimizeResult:
    nan = np.full(vals.shape, np.nan)
    v_star_b = np.asarray(v_star)[..., None] if np.ndim(v_star) else v_star
    return OptimizeResult(
        method=meth.name, t=np.arange(vals.shape[-1]) * record_every,
        value=vals if "value" in record else nan, gap=v_star_b - vals if "gap" in record else nan,
        entropy=ents if "entropy" in record else nan, step_size=steps if "step_size" in record else nan,
        policy=softmax(theta), params_final=theta, v_star=v_star, backend="numba",
        reg_value=regs if "reg_value" in record else None,
        reg_gap=(np.asarray(soft.value)[..., None] if np.ndim(soft.value) else soft.value) - regs
        if "reg_gap" in record else None,
        min_prob_a_star=min_star if track else None, n_factorizations=n_fact,
    )
