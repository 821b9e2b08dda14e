r"""Exact policy optimization: one loop, :func:`optimize`, over optax-like ``(init, update)`` methods.

Every method is a :class:`Method` -- a name, frozen typed hyperparameters and two pure functions::

    state = method.init(mdp, theta0)        # OptState (frozen), with state.ev = evaluation of state.pi
    state = method.update(state, mdp)       # one exact iteration: reads state.ev, evaluates the new policy

and :func:`optimize` is the only loop: it runs a method for ``n_iter`` iterations and records the
trajectory from the evaluations the states carry (each iterate is evaluated once). The state holds the
parameters (``theta`` logits, a direct policy, or log-linear weights), the current policy, its exact
evaluation (:func:`mdpgrad.algorithms.steps.exact_quantities`: ``v, q, adv, d`` by one LU), the
iteration counter and the step size used last. Nothing is sampled.

Methods are built by name from typed hyperparameters (:mod:`mdpgrad.algorithms.methods`:
``make_method("npg", step_size=1.0)`` is ``NPG(step_size=1.0)``); a misspelled keyword raises
:class:`~mdpgrad.algorithms.methods.UnknownHyperparameterError`. ``backend="numba"`` runs the same
update compiled with its loop (:mod:`mdpgrad.algorithms._kernels`: softmax_pg, npg, entropy_npg,
polyak_pg, KL pmd); ``backend="auto"`` (default) takes it whenever the method and the recorded fields
allow, else the NumPy reference. ``step_size`` (a 1-D array), ``theta0`` (a stack of initial parameters)
or ``mdp`` (a list of MDPs of one shape) given as a batch run the whole batch in one call -- in parallel
over the batch on the Numba backend -- and return one :class:`OptimizeResult` with a leading batch axis.

Negative controls (wrong variants of a method, run through this same loop; no library edit needed):

* hyperparameters: ``optimize(mdp, "softmax_pg", step_size=1, weighting="rho")`` weights states by
  ``rho`` instead of ``d^pi_rho``; ``grad_scale=1.0`` drops the ``1 / (1 - gamma)`` factor of softmax /
  direct PG, NPG, entropy NPG and Polyak PG (both run on either backend);
* :func:`transform` ``(method, post)`` wraps any method's update with ``post(old, new, mdp) -> state``,
  e.g. :func:`keep_policy` ``(make_method("trpo"))`` -- a TRPO whose step returns the policy unchanged --
  passed as ``optimize(mdp, keep_policy(make_method("trpo")))`` (transformed methods run on NumPy).

Methods (normalization: ``J = rho . v``, rewards as given, ``A = Q - V``):

* ``softmax_pg`` -- :math:`\theta \leftarrow \theta + \eta\nabla_\theta V_\tau^{\pi_\theta}(\rho)`,
  :math:`\partial/\partial\theta_{s,a} = \frac{1}{1-\gamma} d(s)\pi(a|s)(Q_\tau - \tau\log\pi - V_\tau)`
  (Mei, Xiao, Szepesvari, Schuurmans 2020; ``tau = 0`` is plain softmax PG);
* ``direct_pg`` -- projected gradient ascent on the simplex, :math:`\pi \leftarrow
  \mathrm{Proj}_\Delta(\pi + \eta\, d(s) Q(s,\cdot)/(1-\gamma))` (Agarwal, Kakade, Lee, Mahajan 2021);
* ``npg`` -- :math:`\pi_{t+1} \propto \pi_t \exp(\eta A^{\pi_t}/(1-\gamma))` (Agarwal et al. 2021);
* ``entropy_npg`` -- :math:`\pi_{t+1} \propto \pi_t^{1-\eta\tau/(1-\gamma)}\exp(\eta Q_\tau^{\pi_t}/(1-\gamma))`
  (Cen, Cheng, Chen, Wei, Chi 2021), ``0 < eta <= (1 - gamma) / tau``;
* ``qnpg`` / ``loglinear_npg`` -- log-linear policies :math:`\pi_\theta \propto \exp(\phi^\top\theta)`:
  :math:`\theta \leftarrow \theta + \frac{\eta}{1-\gamma} w` with ``w`` the ``d pi``-weighted least-squares
  fit of ``Q`` by ``phi`` (Q-NPG) or of ``A`` by the centred features (NPG, ``w = F^+ grad``);
* ``pmd`` -- policy mirror descent :math:`\pi_{k+1}(s) = \arg\max_p \eta_k\langle Q^{\pi_k}(s), p\rangle -
  D(p, \pi_k(s))` with ``bregman="kl"`` (``pi ∝ pi exp(eta Q)``) or ``"euclidean"`` (projection),
  ``schedule="constant"`` or ``"geometric"`` (``eta_k = eta_0 / gamma^k``; Xiao 2022, Lan 2022);
* ``mdpo`` -- exact on-policy MDPO (Tomar et al.): maximize the surrogate
  :math:`\sum_s d(s)[\langle \pi(s), A^{\pi_k}(s)\rangle - \frac{1}{\eta} KL(\pi(s)\|\pi_k(s))]`,
  in closed form (``n_inner=None``: ``pi ∝ pi_k exp(eta A)``) or by ``n_inner`` gradient steps on the logits;
* ``polyak_pg`` -- softmax PG with :math:`\eta_t = (J^\star - J_t)/\|\nabla J\|^2` (oracle ``J*`` or a
  supplied estimate ``f_star >= J*``);
* ``trpo`` -- the theoretically-justified TRPO procedure (Schulman et al. 2015): maximize
  :math:`M(\pi') = L_\pi(\pi') - C\,\max_s KL(\pi(s)\|\pi'(s))`, ``C = 4 eps gamma/(1-gamma)^2``,
  ``eps = max|A^pi|`` -- over the natural-gradient path ``pi' ∝ pi exp(beta A)`` (see :func:`trpo_step`);
  ``kl_max=delta`` gives the practical form (largest step on the path with mean KL under ``d`` <= delta);
  ``exact=True`` maximizes M over all policies (:func:`trpo_exact_step`);
* ``rebel`` -- REBEL (Gao et al. 2024): per state, least squares of
  :math:`\frac{1}{\eta}[(\theta'-\theta)(a) - (\theta'-\theta)(a')]` on ``Q(a) - Q(a')`` over all action
  pairs (:func:`rebel_step`); equals NPG/MD with ``Q``;
* ``capo`` -- curvature-aware masked softmax PG (see :func:`capo_step`).

Dynamic PG for finite-horizon MDPs lives in :mod:`mdpgrad.finite_horizon` and is reached
through ``optimize(FiniteHorizonMDP, method="dynamic_pg" | "simultaneous_pg")``.
"""
from __future__ import annotations

import numpy as np

from ..errors import DivergedError, InvalidInputError
from ..mdp import FiniteHorizonMDP, as_mdp
from ..policies import entropy, softmax
from ..validation import check_choice, check_float, check_positive_int
from .base import (
    BACKENDS,
    NUMBA_RECORDABLE,
    RECORDABLE,
    Method,
    NumbaSpec,
    OptimizeResult,
    OptState,
    as_record,
    check_a_star,
    keep_policy,
    numba_result,
    optimal_value,
    soft_optimum_for,
    transform,
)
from .methods import METHODS, resolve_method

__all__ = ["OptState", "Method", "NumbaSpec", "OptimizeResult", "RECORDABLE", "optimize", "transform",
           "keep_policy"]



def _is_batch(mdp, step_size, theta0) -> bool:
    return isinstance(mdp, (list, tuple)) or np.ndim(step_size) == 1 or (
        theta0 is not None and np.ndim(theta0) == 3)


def optimize(mdp, method: str | Method = "softmax_pg", *, n_iter: int = 100, theta0=None, record=None,
             record_every: int = 1, backend: str = "auto", v_star=None, a_star=None,
             **hyperparameters) -> OptimizeResult:
    """Run an exact policy-optimization method for ``n_iter`` iterations and record its trajectory.

    Parameters
    ----------
    mdp : TabularMDP (FeatureMDP for log-linear methods; FiniteHorizonMDP for ``dynamic_pg`` /
        ``simultaneous_pg``, see :func:`mdpgrad.finite_horizon.optimize_finite_horizon`), or a list of
        MDPs of one shape (a batch).
    method : a name in :data:`~mdpgrad.algorithms.methods.METHODS` or a :class:`Method` (e.g. a
        :func:`transform`-ed one; then pass no hyperparameters).
    theta0 : initial logits (S, A) (softmax family), initial policy (direct / Euclidean PMD), or
        log-linear weights (d,); uniform policy when omitted. ``(B, S, A)``: a batch of initial logits.
    record : names from ``("value", "gap", "entropy", "step_size", "params", "policy", "reg_value",
        "reg_gap", "q_error", "grad_norm", "masked")``; value/gap/entropy/step_size by default.
    record_every : record iterations ``0, k, 2k, ...`` only.
    backend : ``"auto"`` (Numba whenever the method and record allow, else NumPy), ``"numpy"``, ``"numba"``.
    v_star : V*(rho) if already known (skips the solve).
    a_star : optional actions ``a_star[s]``; ``result.min_prob_a_star`` is ``min_{t,s} pi_t(a_star[s]|s)``.
    hyperparameters : the method's (``HYPERPARAMETERS[method]``): ``step_size`` (eta; eta_0 for geometric
        PMD; a 1-D array runs a batch of step sizes), ``tau``, ``bregman``, ``schedule``, ``phi``,
        ``n_inner``, ``inner_lr``, ``f_star``, ``max_step``, ``kl_max``, ``exact``, and the control knobs
        ``weighting`` and ``grad_scale``. An unknown keyword raises ``UnknownHyperparameterError``.

    Examples
    --------
    >>> import mdpgrad
    >>> mdp = mdpgrad.envs.garnet(5, 3, 2, gamma=0.9, seed=0)
    >>> res = mdpgrad.optimize(mdp, method="npg", n_iter=50, step_size=1.0)
    >>> bool(res.gap[-1] < 1e-6)
    True
    """
    if isinstance(mdp, FiniteHorizonMDP):
        from ..finite_horizon import optimize_finite_horizon

        return optimize_finite_horizon(mdp, method=method, n_iter=n_iter, theta0=theta0, **hyperparameters)
    n_iter = check_positive_int(n_iter, "n_iter", minimum=0)
    record_every = check_positive_int(record_every, "record_every")
    check_choice(backend, "backend", BACKENDS)
    if not isinstance(method, Method):
        check_choice(method, "method", METHODS)
    if _is_batch(mdp, hyperparameters.get("step_size"), theta0):
        from .batch import optimize_batch

        return optimize_batch(optimize, mdp, method, n_iter=n_iter, theta0=theta0, record=record,
                              record_every=record_every, backend=backend, v_star=v_star, a_star=a_star,
                              **hyperparameters)
    m = as_mdp(mdp)
    record = as_record(record)
    if v_star is None:
        v_star = optimal_value(m)
    else:
        v_star = check_float(v_star, "v_star", what="V*(rho) of this MDP")
    meth = resolve_method(method, mdp, v_star, hyperparameters)
    if a_star is not None:
        a_star = check_a_star(a_star, m)
    use_numba = meth.numba is not None and all(k in NUMBA_RECORDABLE for k in record)
    if backend == "numba" and not use_numba:
        why = (f"method {meth.name!r} has no compiled update" if meth.numba is None
               else f"it records {NUMBA_RECORDABLE}, not {sorted(set(record) - set(NUMBA_RECORDABLE))}")
        raise InvalidInputError(f"backend = 'numba': {why}; use backend='numpy' (or 'auto').")
    if backend == "numpy":
        use_numba = False
    soft = soft_optimum_for(m, meth, record)
    if use_numba:
        return _run_numba(m, meth, n_iter, theta0, record, record_every, v_star, a_star, soft)
    return _run_numpy(m, meth, n_iter, theta0, record, record_every, v_star, a_star, soft)


def _run_numpy(m, meth, n_iter, theta0, record, record_every, v_star, a_star, soft) -> OptimizeResult:
    state = meth.init(m, theta0)
    rows = {k: [] for k in record}
    min_star = 1.0
    for it in range(n_iter + 1):
        new = meth.update(state, m) if it < n_iter else None
        if a_star is not None:
            min_star = min(min_star, float(np.min(state.pi[np.arange(m.n_states), a_star])))
        if it % record_every == 0:
            ev = state.ev
            for k in record:
                if k == "value":
                    x = ev.plain_value
                elif k == "gap":
                    x = v_star - ev.plain_value
                elif k == "entropy":
                    x = float(m.rho @ entropy(state.pi))
                elif k == "step_size":
                    x = new.step_size if new is not None else 0.0
                elif k == "params":
                    x = state.params.copy()
                elif k == "policy":
                    x = state.pi.copy()
                elif k == "reg_value":
                    x = ev.value
                elif k == "reg_gap":
                    x = soft.value - ev.value
                elif k == "q_error":
                    x = float(np.max(np.abs(soft.q - ev.q)))
                elif k == "grad_norm":
                    x = new.info.get("grad_norm", np.nan) if new is not None else np.nan
                else:  # masked
                    x = new.info.get("masked", 0.0) if new is not None else 0.0
                rows[k].append(x)
        if new is None:
            break
        state = new
    arr = {k: np.asarray(v) for k, v in rows.items()}
    _check_diverged(m, meth, arr.get("value"), state.pi)
    nan = np.full(n_iter // record_every + 1, np.nan)
    return OptimizeResult(
        method=meth.name, t=np.arange(len(nan)) * record_every, value=arr.get("value", nan),
        gap=arr.get("gap", nan), entropy=arr.get("entropy", nan), step_size=arr.get("step_size", nan),
        policy=state.pi, params_final=state.params, v_star=v_star, backend="numpy", reg_value=arr.get("reg_value"),
        reg_gap=arr.get("reg_gap"), q_error=arr.get("q_error"), grad_norm=arr.get("grad_norm"),
        masked=arr.get("masked"), params=arr.get("params"), policies=arr.get("policy"),
        min_prob_a_star=min_star if a_star is not None else None,
    )


def _check_diverged(m, meth, values, pi):
    """Raise :class:`DivergedError` when the run left the set of policies (NaN, or values out of range)."""
    vmax = float(np.max(np.abs(m.r))) / (1.0 - m.gamma)
    slack = 1e-6 * (1.0 + vmax)
    ok = np.all(np.isfinite(pi)) and np.all(pi >= -1e-8) and np.allclose(pi.sum(axis=-1), 1.0, atol=1e-6)
    if values is not None:
        ok = ok and bool(np.all(np.isfinite(values)) and np.all(np.abs(values) <= vmax + slack))
    if not ok:
        step_size = getattr(meth.hparams, "step_size", None)
        raise DivergedError(f"{meth.name}: step_size = {step_size!r} made the iterates leave the policy set "
                            f"(non-finite or out-of-range values); use a smaller step_size.")


def _initial_logits(m, meth, theta0):
    """Validated initial logits (through the method's own ``init``, which also checks ranges)."""
    return meth.init(m, theta0).params


def _run_numba(m, meth, n_iter, theta0, record, record_every, v_star, a_star, soft) -> OptimizeResult:
    from ._kernels import exact_pg_run

    sp = meth.numba
    theta = np.ascontiguousarray(_initial_logits(m, meth, theta0))
    scale = 1.0 / (1.0 - m.gamma) if sp.grad_scale is None else float(sp.grad_scale)
    a = np.full(m.n_states, -1, dtype=np.int64) if a_star is None else a_star
    vals, regs, ents, steps, min_star, n_fact, theta = exact_pg_run(
        np.ascontiguousarray(m.P), np.ascontiguousarray(m.r), m.gamma, np.ascontiguousarray(m.rho), theta,
        sp.mode, sp.eta, sp.tau, scale, sp.use_rho, sp.geometric, sp.f_star, sp.max_step, n_iter, record_every, a,
        "entropy" in record)
    _check_diverged(m, meth, vals, softmax(theta))
    return numba_result(meth, record, record_every, vals, regs, ents, steps, min_star, n_fact, theta, v_star, soft,
                         a_star is not None)


