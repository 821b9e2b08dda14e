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
update compiled with its loop (the backend's kernel ``"exact_pg_run"``, :mod:`mdpgrad.kernels.algorithms`:
softmax_pg, npg, entropy_npg, polyak_pg, KL pmd); ``backend="auto"`` (default) takes it whenever the
method and the recorded fields allow, else the NumPy reference (the loop of ``Method.update``). ``step_size`` (a 1-D array), ``theta0`` (a stack of initial parameters)
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

from ..backend import Backend, get_backend
from ..mdp import FiniteHorizonMDP
from ..validation import check_choice, check_float, check_positive_int
from .batch import optimize_batch
from .methods import METHODS
from .protocol import Method, OptimizeResult, OptState, check_record, keep_policy, transform
from .runs import run_one

__all__ = ["OptState", "Method", "OptimizeResult", "optimize", "transform", "keep_policy"]

#: the backends an exact optimization runs on (the CPU ones; see :func:`mdpgrad.backend.get_backend`)
BACKENDS = ("auto", "numpy", "numba")


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
    if not isinstance(backend, Backend):
        check_choice(backend, "backend", BACKENDS)
    if not isinstance(method, Method):
        check_choice(method, "method", METHODS)
    be = get_backend(backend)
    if _is_batch(mdp, hyperparameters.get("step_size"), theta0):
        return optimize_batch(mdp, method, n_iter=n_iter, theta0=theta0, record=record, record_every=record_every,
                              be=be, strict=backend != "auto", v_star=v_star, a_star=a_star,
                              **hyperparameters)
    if v_star is not None:
        v_star = check_float(v_star, "v_star", what="V*(rho) of this MDP")
    return run_one(mdp, method, hyperparameters, n_iter=n_iter, theta0=theta0, record=check_record(record),
                   record_every=record_every, be=be, strict=backend != "auto", v_star=v_star, a_star=a_star)
