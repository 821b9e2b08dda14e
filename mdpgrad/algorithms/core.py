r"""Exact policy optimization: optax-like ``(init, update)`` pairs over frozen state.

Every method is a :class:`Method` -- a name and two pure functions::

    state = method.init(mdp, theta0)        # OptState (frozen)
    state = method.update(state, mdp)       # one exact iteration, a new OptState

and :func:`optimize` runs one for ``n_iter`` iterations, recording the trajectory. The
state holds the parameters (``theta`` logits, a direct policy, or log-linear weights), the
current policy, the iteration counter and the step size used last. Exact quantities come
from linear solves (:func:`mdpgrad.evaluate`); nothing is sampled.

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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DivergedError, InvalidInputError
from ..exact import evaluate, solve
from ..mdp import FeatureMDP, FiniteHorizonMDP, as_mdp
from ..policies import entropy, log_softmax, project_simplex, softmax
from ..validation import (
    as_float_array,
    check_choice,
    check_float,
    check_gamma,
    check_indices,
    check_int,
    check_nonnegative,
    check_policy,
    check_positive_float,
    check_positive_int,
)

__all__ = [
    "OptState",
    "Method",
    "OptimizeResult",
    "METHODS",
    "make_method",
    "optimize",
    "exact_quantities",
    "project_simplex",
    "rebel_step",
    "trpo_step",
    "trpo_exact_step",
    "trpo_surrogate_bound",
    "capo_step",
    "npg_closed_form",
]

RECORDABLE = ("value", "gap", "entropy", "step_size", "params", "policy", "reg_value", "reg_gap",
              "q_error", "grad_norm", "masked")


# ----------------------------------------------------------------------------------------
# exact quantities
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exact:
    """Exact quantities of one policy: ``v, q, adv, d`` and ``value = rho . v`` (regularized when tau>0)."""

    v: np.ndarray
    q: np.ndarray
    adv: np.ndarray
    d: np.ndarray
    value: float


def exact_quantities(mdp, pi, tau: float = 0.0, *, check: bool = True) -> Exact:
    r"""``v``, ``q``, advantage and occupancy of ``pi`` (one LU, :func:`mdpgrad.evaluate`).

    With ``tau > 0``: ``v = (I - gamma P_pi)^{-1}(r_pi + tau H(pi))``, ``q = r + gamma P v`` and the
    *soft advantage* ``adv = q - tau log pi - v`` (Mei et al. 2020, Lemma 10), so the softmax
    gradient of the regularized value is ``d pi adv / (1 - gamma)``.
    """
    from ..regularized import check_tau

    m = as_mdp(mdp)
    if check:  # internal callers pass check=False: their policies come from a validated state
        pi = check_policy(pi, *m.shape)
        tau = check_tau(tau)
    ev = evaluate(mdp, pi, check=False, tau=tau)
    v, q, d = ev.v, ev.q, ev.occupancy
    adv = ev.advantage
    if tau:
        with np.errstate(divide="ignore"):
            adv = adv - tau * np.where(pi > 0, np.log(np.where(pi > 0, pi, 1.0)), 0.0)
    return Exact(v=v, q=q, adv=adv, d=d, value=ev.value)


def npg_closed_form(pi, adv, eta: float, gamma: float) -> np.ndarray:
    r"""The softmax NPG step in multiplicative-weights form, :math:`\pi' \propto \pi\exp(\eta A/(1-\gamma))`."""
    pi = as_float_array(pi, "pi", ndim=2)
    check_policy(pi, *pi.shape)
    adv = as_float_array(adv, "adv", shape=pi.shape)
    eta = _check_step(eta, "eta")
    gamma = check_gamma(gamma)
    with np.errstate(divide="ignore"):
        logits = np.log(pi) + eta * adv / (1.0 - gamma)
    return softmax(logits)


# ----------------------------------------------------------------------------------------
# state and methods
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OptState:
    """Frozen optimizer state.

    ``params``: logits ``theta[s, a]`` (softmax family), the policy itself (``direct_pg``,
    Euclidean ``pmd``) or log-linear weights ``theta[d]``; ``pi``: the current policy;
    ``t``: iterations done; ``step_size``: the step used by the last update (``eta_0`` before
    any); ``info``: method-specific scalars of the last update (e.g. the masked fraction).
    """

    params: np.ndarray
    pi: np.ndarray
    t: int = 0
    step_size: float = 0.0
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    """An exact optimizer: ``init(mdp, theta0) -> OptState`` and ``update(state, mdp) -> OptState``."""

    name: str
    init: Callable[[Any, Any], OptState]
    update: Callable[[OptState, Any], OptState]
    tau: float = 0.0


def _check_step(step_size, name="step_size") -> float:
    return check_positive_float(step_size, name, what="a step size")


def _logits_init(mdp, theta0):
    m = as_mdp(mdp)
    if theta0 is None:
        theta = np.zeros(m.shape)
    else:
        theta = as_float_array(theta0, "theta0")
        if theta.shape != m.shape:
            raise InvalidInputError(f"theta0: expected logits of shape (S, A) = {m.shape}, got {theta.shape}.")
    theta = theta.copy()
    return OptState(params=theta, pi=softmax(theta))


def _policy_init(mdp, theta0):
    m = as_mdp(mdp)
    if theta0 is None:
        pi = np.full(m.shape, 1.0 / m.n_actions)
    else:
        from ..exact import check_policy

        pi = check_policy(theta0, *m.shape, name="theta0").copy()
    return OptState(params=pi, pi=pi)


def _softmax_pg(eta, tau):
    def update(state, mdp):
        m = as_mdp(mdp)
        ex = exact_quantities(m, state.pi, tau, check=False)
        grad = ex.d[:, None] * state.pi * ex.adv / (1.0 - m.gamma)
        theta = state.params + eta * grad
        return OptState(theta, softmax(theta), state.t + 1, eta, {"grad_norm": float(np.linalg.norm(grad))})

    return Method("softmax_pg", _logits_init, update, tau)


def _direct_pg(eta):
    def update(state, mdp):
        m = as_mdp(mdp)
        ex = exact_quantities(m, state.pi, check=False)
        grad = ex.d[:, None] * ex.q / (1.0 - m.gamma)
        pi = project_simplex(state.pi + eta * grad)
        gmap = (pi - state.pi) / eta
        return OptState(pi, pi, state.t + 1, eta, {"grad_norm": float(np.linalg.norm(gmap))})

    return Method("direct_pg", _policy_init, update)


def _npg(eta):
    def update(state, mdp):
        m = as_mdp(mdp)
        ex = exact_quantities(m, state.pi, check=False)
        theta = state.params + eta * ex.adv / (1.0 - m.gamma)
        return OptState(theta, softmax(theta), state.t + 1, eta)

    return Method("npg", _logits_init, update)


def _entropy_npg(eta, tau):
    def update(state, mdp):
        m = as_mdp(mdp)
        if eta > (1.0 - m.gamma) / tau * (1 + 1e-12):
            raise InvalidInputError(
                f"step_size = {eta} exceeds (1 - gamma) / tau = {(1 - m.gamma) / tau:.6g}, the range of "
                "entropy-regularized NPG (Cen et al. 2021); use a smaller step."
            )
        ex = exact_quantities(m, state.pi, tau, check=False)
        theta = (1.0 - eta * tau / (1.0 - m.gamma)) * log_softmax(state.params) + eta * ex.q / (1.0 - m.gamma)
        return OptState(theta, softmax(theta), state.t + 1, eta)

    return Method("entropy_npg", _logits_init, update, tau)


def _loglinear_init(phi):
    def init(mdp, theta0):
        d = phi.shape[-1]
        theta = np.zeros(d) if theta0 is None else as_float_array(theta0, "theta0", ndim=1).copy()
        if theta.shape != (d,):
            raise InvalidInputError(f"theta0: expected log-linear weights of shape ({d},), got {theta.shape}.")
        return OptState(theta, softmax(phi @ theta))

    return init


def _loglinear_npg(eta, phi, target):
    def update(state, mdp):
        m = as_mdp(mdp)
        ex = exact_quantities(m, state.pi, check=False)
        wts = (ex.d[:, None] * state.pi).reshape(-1)
        if target == "q":
            X = phi.reshape(-1, phi.shape[-1])
            y = ex.q.reshape(-1)
        else:
            centred = phi - np.einsum("sa,sad->sd", state.pi, phi)[:, None, :]
            X = centred.reshape(-1, phi.shape[-1])
            y = ex.adv.reshape(-1)
        sw = np.sqrt(wts)
        w, *_ = np.linalg.lstsq(sw[:, None] * X, sw * y, rcond=1e-12)
        theta = state.params + eta * w / (1.0 - m.gamma)
        return OptState(theta, softmax(phi @ theta), state.t + 1, eta)

    return Method("qnpg" if target == "q" else "loglinear_npg", _loglinear_init(phi), update)


def _pmd(eta0, bregman, schedule, gamma):
    if bregman not in ("kl", "euclidean"):
        raise InvalidInputError(f"bregman = {bregman!r}: choose 'kl' or 'euclidean'.")
    if schedule not in ("constant", "geometric"):
        raise InvalidInputError(f"schedule = {schedule!r}: choose 'constant' or 'geometric'.")

    def update(state, mdp):
        m = as_mdp(mdp)
        eta = eta0 if schedule == "constant" else eta0 / m.gamma ** state.t
        ex = exact_quantities(m, state.pi, check=False)
        if bregman == "kl":
            # pi ∝ pi exp(eta Q); shift by max per state for stability (policy unchanged).
            z = state.params + eta * (ex.q - ex.q.max(axis=1, keepdims=True))
            z = z - z.max(axis=1, keepdims=True)
            return OptState(z, softmax(z), state.t + 1, eta)
        pi = project_simplex(state.pi + eta * ex.q)
        return OptState(pi, pi, state.t + 1, eta)

    init = _logits_init if bregman == "kl" else _policy_init
    return Method(f"pmd_{bregman}_{schedule}", init, update)


def _mdpo(eta, n_inner, inner_lr):
    def update(state, mdp):
        m = as_mdp(mdp)
        ex = exact_quantities(m, state.pi, check=False)
        if n_inner is None:
            theta = np.log(np.maximum(state.pi, 1e-300)) + eta * ex.adv
        else:
            theta = mdpo_inner(state.pi, ex.adv, ex.d, eta, n_inner, inner_lr)
        return OptState(theta, softmax(theta), state.t + 1, eta)

    return Method("mdpo", _logits_init, update)


def mdpo_inner(pi_k, adv, d, eta, n_inner, lr):
    r"""``n_inner`` gradient-ascent steps (on logits, from ``log pi_k``) on the exact MDPO surrogate

    :math:`\ell(\theta) = \sum_s d(s)\,[\langle\pi_\theta(s), A(s)\rangle - \frac1\eta KL(\pi_\theta(s)\|\pi_k(s))]`.

    Gradient per state: with :math:`f(a) = A(a) - \frac1\eta(\log\pi_\theta(a) - \log\pi_k(a))`,
    :math:`\partial\ell/\partial\theta_{s,a} = d(s)\pi_\theta(a|s)(f(a) - \langle\pi_\theta, f\rangle)` (the
    ``-1/eta`` from differentiating ``log pi_theta`` inside KL cancels because ``sum_a d pi / d theta = 0``).
    Step ``lr / d(s)`` per state (preconditioning by the state weight, as MDPO's per-state losses).
    """
    pi_k = as_float_array(pi_k, "pi_k", ndim=2)
    check_policy(pi_k, *pi_k.shape, name="pi_k")
    adv = as_float_array(adv, "adv", shape=pi_k.shape)
    d = as_float_array(d, "d", shape=(pi_k.shape[0],))
    check_nonnegative(d, "d")
    eta, lr = _check_step(eta, "eta"), _check_step(lr, "lr")
    n_inner = check_positive_int(n_inner, "n_inner")
    logk = np.log(np.maximum(pi_k, 1e-300))
    theta = logk.copy()
    for _ in range(int(n_inner)):
        pi = softmax(theta)
        f = adv - (np.log(np.maximum(pi, 1e-300)) - logk) / eta
        g = pi * (f - np.sum(pi * f, axis=1, keepdims=True))
        theta = theta + lr * g  # d(s) * lr / d(s)
    return theta


def _polyak(f_star, max_step):
    def update(state, mdp):
        m = as_mdp(mdp)
        ex = exact_quantities(m, state.pi, check=False)
        grad = ex.d[:, None] * state.pi * ex.adv / (1.0 - m.gamma)
        g2 = float(np.sum(grad * grad))
        target = state.info.get("f_star", f_star)
        eta = max(target - ex.value, 0.0) / g2 if g2 > 0 else 0.0
        if max_step is not None:
            eta = min(eta, max_step)
        theta = state.params + eta * grad
        return OptState(theta, softmax(theta), state.t + 1, eta, {"f_star": target})

    return Method("polyak_pg", _logits_init, update)


def trpo_surrogate_bound(mdp, pi, pi_new):
    r"""``(J(pi_new), L_pi(pi_new), C, KL_max)`` for TRPO's Theorem 1 (Schulman et al. 2015).

    In the paper's unnormalized form :math:`\eta(\tilde\pi) \ge L_\pi(\tilde\pi) - C D^{\max}_{KL}(\pi,\tilde\pi)`
    with :math:`L_\pi(\tilde\pi) = \eta(\pi) + \sum_s\rho_\pi(s)\sum_a\tilde\pi(a|s)A_\pi(s,a)`,
    :math:`\rho_\pi = d^\pi/(1-\gamma)` the unnormalized discounted visitation,
    :math:`C = 4\epsilon\gamma/(1-\gamma)^2`, :math:`\epsilon = \max_{s,a}|A_\pi(s,a)|` and
    :math:`D^{\max}_{KL} = \max_s KL(\pi(\cdot|s)\|\tilde\pi(\cdot|s))`.
    """
    m = as_mdp(mdp)
    pi = check_policy(pi, *m.shape)
    pi_new = check_policy(pi_new, *m.shape, name="pi_new")
    ex = exact_quantities(m, pi)
    L = ex.value + float(np.sum(ex.d[:, None] * pi_new * ex.adv)) / (1.0 - m.gamma)
    eps = float(np.max(np.abs(ex.adv)))
    C = 4.0 * eps * m.gamma / (1.0 - m.gamma) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.sum(np.where(pi > 0, pi * (np.log(np.where(pi > 0, pi, 1)) - np.log(pi_new)), 0.0), axis=1)
    new_val = exact_quantities(m, pi_new).value
    return new_val, L, C, float(np.max(kl))


def _kl_rows(p, q):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - np.log(q)), 0.0), axis=-1)


def trpo_step(mdp, pi, *, kl_max: float | None = None, n_grid: int = 60):
    r"""One TRPO step along the natural-gradient path :math:`\pi_\beta \propto \pi\exp(\beta A^\pi)`.

    ``kl_max=None`` (theory): maximize :math:`M(\beta) = L_\pi(\pi_\beta) - C\max_s KL(\pi\|\pi_\beta)`
    over ``beta in {0} ∪ geomspace`` then refine by golden section; ``M(0) = J(pi)``, so the chosen
    step has ``M >= J(pi)`` and Theorem 1 gives ``J(pi_new) >= J(pi)``. This is a maximization over
    a one-parameter family (the direction practical TRPO uses), not over all policies; the
    monotonicity argument needs only ``M(pi_new) >= M(pi)``.
    ``kl_max=delta``: the largest ``beta`` with mean KL under ``d^pi`` at most ``delta`` (bisection),
    no line search -- the practical constraint form.
    Returns ``(pi_new, beta)``.
    """
    m = as_mdp(mdp)
    pi = check_policy(pi, *m.shape)
    if kl_max is not None:
        kl_max = _check_step(kl_max, "kl_max")
    n_grid = check_positive_int(n_grid, "n_grid", minimum=2)
    ex = exact_quantities(m, pi)
    logpi = np.log(np.maximum(pi, 1e-300))

    def pol(beta):
        return softmax(logpi + beta * ex.adv)

    if kl_max is not None:
        lo, hi = 0.0, 1.0
        while np.sum(ex.d * _kl_rows(pi, pol(hi))) < kl_max and hi < 1e8:
            hi *= 2
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if np.sum(ex.d * _kl_rows(pi, pol(mid))) <= kl_max:
                lo = mid
            else:
                hi = mid
        return pol(lo), lo
    eps = float(np.max(np.abs(ex.adv)))
    C = 4.0 * eps * m.gamma / (1.0 - m.gamma) ** 2

    def M(beta):
        p = pol(beta)
        return float(np.sum(ex.d[:, None] * p * ex.adv)) / (1.0 - m.gamma) - C * float(np.max(_kl_rows(pi, p)))

    if eps == 0:
        return pi.copy(), 0.0
    grid = np.concatenate([[0.0], np.geomspace(1e-6, 1e3, n_grid) / max(eps, 1e-300)])
    vals = np.array([M(b) for b in grid])
    k = int(np.argmax(vals))
    if k == 0:
        return pi.copy(), 0.0
    a, b = grid[k - 1], grid[min(k + 1, len(grid) - 1)]
    phi = (np.sqrt(5) - 1) / 2
    x1, x2 = b - phi * (b - a), a + phi * (b - a)
    f1, f2 = M(x1), M(x2)
    for _ in range(40):
        if f1 > f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - phi * (b - a)
            f1 = M(x1)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + phi * (b - a)
            f2 = M(x2)
    cands = [(vals[k], grid[k]), (f1, x1), (f2, x2)]
    best = max(cands, key=lambda c: c[0])[1]
    return pol(best), float(best)


def _kl_ball_argmax(pi, g, t, n_bisect: int = 48):
    r"""Per-state :math:`\max_p \langle p, g_s\rangle` s.t. :math:`KL(\pi_s\|p) \le t` (vectorized over states).

    KKT (``pi > 0``): :math:`p(a) = \lambda\pi(a)/(\mu - g(a))` with :math:`\mu > \max_a g(a)` and
    :math:`\lambda` normalizing; ``KL(pi || p(mu))`` decreases from +inf to 0 as ``mu`` grows, so
    ``mu`` is found by bisection on ``log(mu - max g)``. Returns ``p`` (S, A).
    """
    S, A = pi.shape
    gmax = g.max(axis=1, keepdims=True)
    span = np.maximum(gmax - g.min(axis=1, keepdims=True), 1e-300)
    lo = np.log(span) - 40.0  # mu - gmax tiny: p concentrates, KL large
    hi = np.log(span) + 40.0  # mu - gmax huge: p ~ pi, KL ~ 0

    def p_of(x):
        w = pi / (gmax + np.exp(x) - g)
        return w / w.sum(axis=1, keepdims=True)

    for _ in range(n_bisect):
        mid = 0.5 * (lo + hi)
        kl = _kl_rows(pi, p_of(mid))[:, None]
        big = kl > t
        lo = np.where(big, mid, lo)
        hi = np.where(big, hi, mid)
    p = p_of(hi)  # the feasible side (KL <= t up to bisection resolution)
    const = (span[:, 0] <= 1e-300) | (t <= 0)
    p[const] = pi[const]
    return p


def trpo_exact_step(mdp, pi, *, n_outer: int = 36):
    r"""The theoretically-justified TRPO step over **all** policies (full-support ``pi``):

    :math:`\max_{\pi'} L_\pi(\pi') - C\max_s KL(\pi_s\|\pi'_s)` written as
    :math:`\max_{t\ge0}\; \sum_s \max_{KL(\pi_s\|p)\le t} \frac{d(s)}{1-\gamma}\langle p, A_s\rangle - C t`
    (epigraph of the max). The inner per-state problems are solved by :func:`_kl_ball_argmax`; the
    outer objective is concave in ``t`` (each inner optimum is a concave function of the radius),
    maximized by golden section on ``[0, gain/C]`` with ``gain`` the largest possible surrogate gain.
    Returns ``(pi_new, t)``; ``M(pi_new) >= M(pi) = J(pi)`` up to the bisection resolution.
    """
    m = as_mdp(mdp)
    pi = check_policy(pi, *m.shape)
    n_outer = check_positive_int(n_outer, "n_outer")
    if np.any(pi <= 0):
        raise InvalidInputError("pi: trpo_exact_step needs a full-support policy (all pi > 0).")
    ex = exact_quantities(m, pi)
    g = ex.d[:, None] * ex.adv / (1.0 - m.gamma)
    eps = float(np.max(np.abs(ex.adv)))
    if eps == 0:
        return pi.copy(), 0.0
    C = 4.0 * eps * m.gamma / (1.0 - m.gamma) ** 2
    gain = float(np.sum(g.max(axis=1) - np.sum(pi * g, axis=1)))
    if gain <= 0:
        return pi.copy(), 0.0

    def F(t):
        p = _kl_ball_argmax(pi, g, t)
        return float(np.sum(p * g)) - C * float(np.max(_kl_rows(pi, p))), p

    a, b = 0.0, gain / C
    phi = (np.sqrt(5) - 1) / 2
    x1, x2 = b - phi * (b - a), a + phi * (b - a)
    f1, f2 = F(x1)[0], F(x2)[0]
    for _ in range(n_outer):
        if f1 > f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - phi * (b - a)
            f1 = F(x1)[0]
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + phi * (b - a)
            f2 = F(x2)[0]
    t = 0.5 * (a + b)
    val, p = F(t)
    if val <= 0.0:  # M(pi) - J(pi) = 0 at t = 0: keep pi when no strict improvement is found
        return pi.copy(), 0.0
    return p, t


def _trpo(kl_max, exact):
    def update(state, mdp):
        if exact and kl_max is None:
            pi, beta = trpo_exact_step(mdp, state.pi)
        else:
            pi, beta = trpo_step(mdp, state.pi, kl_max=kl_max)
        theta = np.log(np.maximum(pi, 1e-300))
        return OptState(theta, pi, state.t + 1, beta)

    return Method("trpo", _logits_init, update)


def rebel_step(theta, rewards, eta: float, pair_weights=None) -> np.ndarray:
    r"""One exact REBEL step (Gao et al. 2024) for tabular logits, per context/state.

    Solves, by least squares over all ordered action pairs ``(y, y')`` with weights ``q(y, y')``,

    .. math:: \min_{\theta'} \sum_{y,y'} q(y,y')\Big(\tfrac1\eta\big[(\theta'-\theta)(y)-(\theta'-\theta)(y')\big]
              - \big(r(y) - r(y')\big)\Big)^2 ,

    (log-ratio differences of softmax policies equal logit differences: normalizers cancel). With
    full-support ``q`` the solution is ``theta' = theta + eta r + c`` (unique up to the constant ``c``),
    i.e. ``pi' ∝ pi exp(eta r)``, the NPG / mirror-descent step. ``theta``, ``rewards``: ``(X, K)``;
    the minimum-norm correction is returned (``c`` fixed by ``numpy.linalg.lstsq``).
    """
    theta = as_float_array(theta, "theta")
    rewards = as_float_array(rewards, "rewards")
    eta = _check_step(eta, "eta")
    if theta.ndim == 1:
        return rebel_step(theta[None], rewards[None], eta, pair_weights)[0]
    if theta.ndim != 2 or theta.shape[1] == 0:
        raise InvalidInputError(f"theta: expected logits (K,) or (X, K), got shape {theta.shape}.")
    X, K = theta.shape
    if rewards.shape != (X, K):
        raise InvalidInputError(f"rewards: expected shape {(X, K)} like theta, got {rewards.shape}.")
    eta = _check_step(eta, "eta")
    ii, jj = np.meshgrid(np.arange(K), np.arange(K), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    D = np.zeros((K * K, K))
    D[np.arange(K * K), ii] += 1.0 / eta
    D[np.arange(K * K), jj] -= 1.0 / eta
    q = np.ones(K * K) if pair_weights is None else as_float_array(pair_weights, "pair_weights").reshape(-1)
    if q.shape != (K * K,) or np.any(q < 0):
        raise InvalidInputError(f"pair_weights: expected {K}x{K} non-negative weights, got shape {q.shape}.")
    sw = np.sqrt(q)
    out = np.empty_like(theta)
    for x in range(X):
        y = rewards[x, ii] - rewards[x, jj]
        delta, *_ = np.linalg.lstsq(sw[:, None] * D, sw * y, rcond=1e-12)
        out[x] = theta[x] + delta
    return out


def _rebel(eta):
    def update(state, mdp):
        m = as_mdp(mdp)
        ex = exact_quantities(m, state.pi, check=False)
        theta = rebel_step(state.params, ex.q, eta)
        return OptState(theta, softmax(theta), state.t + 1, eta)

    return Method("rebel", _logits_init, update)


def _value_and_blocks(mdp, theta, phi):
    """``J`` and the per-state gradient blocks ``g_s`` (rows; ``sum_s g_s = grad J``), flattened."""
    m = as_mdp(mdp)
    if phi is None:
        pi = softmax(theta)
        ex = exact_quantities(m, pi)
        g = ex.d[:, None] * pi * ex.adv / (1.0 - m.gamma)
        blocks = np.zeros((m.n_states, theta.size))
        for s in range(m.n_states):
            blk = np.zeros_like(theta)
            blk[s] = g[s]
            blocks[s] = blk.reshape(-1)
        return ex.value, blocks
    pi = softmax(phi @ theta)
    ex = exact_quantities(m, pi)
    w = ex.d[:, None] * pi * ex.adv / (1.0 - m.gamma)
    return ex.value, np.einsum("sa,sad->sd", w, phi)


def capo_step(mdp, theta, eta: float, *, phi=None, h: float = 1e-5):
    r"""Curvature-aware masked policy-gradient step (CAPO-style, exact version).

    The full-batch gradient splits into per-state blocks ``g_s`` ("samples"; ``sum_s g_s = grad J``)
    and the update of sample ``s`` is ``u_s = eta g_s``. A second-order model of ``J`` along
    ``Delta = sum_{s in M} u_s`` is :math:`m(M) = \sum_{s\in M} g\cdot u_s + \frac12\sum_{s,s'\in M}
    u_s^\top H u_{s'}`; the Hessian-vector products ``H u_s`` are central differences of the exact
    gradient (step ``h``; error O(h^2) + O(eps/h) ~ 1e-10 relative). Samples whose marginal
    contribution ``m(M) - m(M \ {s})`` is negative are masked greedily (most negative first); if
    ``m(M) < 0`` the whole update is rejected. ``phi=None``: tabular softmax logits ``theta[s, a]``;
    otherwise log-linear weights ``theta[d]`` with features ``phi[s, a, d]``.
    Returns ``(theta_new, masked_fraction, m(M))``.

    Note: for *tabular* softmax with exact gradients the plain step is already monotone at every
    step size (each state's new policy is an exponential tilt of ``pi`` by ``pi A``, so
    ``sum_a pi'(a|s) A(s, a) >= 0``, and the performance-difference lemma gives ``J' >= J``);
    masking matters for shared parameters (log-linear) or sampled gradients.
    """
    m = as_mdp(mdp)
    theta = as_float_array(theta, "theta")
    eta = _check_step(eta, "eta")
    h = check_positive_float(h, "h", hi=1.0, what="finite-difference step")
    if phi is None and theta.shape != m.shape:
        raise InvalidInputError(f"theta: expected logits of shape (S, A) = {m.shape}, got {theta.shape}.")
    if phi is not None:
        phi = as_float_array(phi, "phi", ndim=3)
        if phi.shape[:2] != m.shape or theta.shape != (phi.shape[2],):
            raise InvalidInputError(f"phi, theta: expected phi[S, A, d] with S, A = {m.shape} and theta[d], got "
                                    f"{phi.shape} and {theta.shape}.")
    _, blocks = _value_and_blocks(m, theta, phi)
    g = blocks.sum(axis=0)
    n = blocks.shape[0]
    U = eta * blocks
    HU = np.zeros_like(U)
    for s in range(n):
        nrm = np.linalg.norm(U[s])
        if nrm == 0:
            continue
        e = (U[s] / nrm).reshape(theta.shape)
        _, bp = _value_and_blocks(m, theta + h * e, phi)
        _, bm = _value_and_blocks(m, theta - h * e, phi)
        HU[s] = nrm * (bp.sum(0) - bm.sum(0)) / (2 * h)
    lin = U @ g
    G = HU @ U.T
    G = 0.5 * (G + G.T)
    mask = np.ones(n, dtype=bool)
    while mask.any():
        contrib = lin + 0.5 * np.diag(G) + (G[:, mask].sum(axis=1) - np.diag(G) * mask)
        contrib = np.where(mask, contrib, np.inf)
        worst = int(np.argmin(contrib))
        if contrib[worst] >= 0:
            break
        mask[worst] = False
    model = float(lin[mask].sum() + 0.5 * G[np.ix_(mask, mask)].sum()) if mask.any() else 0.0
    if model < 0:
        mask[:] = False
        model = 0.0
    delta = U[mask].sum(axis=0) if mask.any() else np.zeros(theta.size)
    return theta + delta.reshape(theta.shape), 1.0 - mask.mean(), model


def _capo(eta, phi):
    def update(state, mdp):
        theta, frac, model = capo_step(mdp, state.params, eta, phi=phi)
        pi = softmax(theta) if phi is None else softmax(phi @ theta)
        return OptState(theta, pi, state.t + 1, eta, {"masked": frac, "model": model})

    return Method("capo", _logits_init if phi is None else _loglinear_init(phi), update)


METHODS = ("softmax_pg", "direct_pg", "npg", "entropy_npg", "qnpg", "loglinear_npg", "pmd", "mdpo",
           "polyak_pg", "trpo", "rebel", "capo", "dynamic_pg", "simultaneous_pg")


def make_method(method: str, *, mdp=None, step_size=None, tau: float = 0.0, phi=None, bregman: str = "kl",
                schedule: str = "constant", n_inner=None, inner_lr: float = 1.0, f_star=None,
                max_step=None, kl_max=None, exact: bool = False) -> Method:
    """Build a :class:`Method` by name (see the module docstring for the update rules)."""
    from ..regularized import check_tau

    if method not in METHODS:
        raise InvalidInputError(f"method = {method!r} is not known; choose one of {', '.join(METHODS)}.")
    tau = check_tau(tau)
    needs_step = method not in ("polyak_pg", "trpo")
    eta = _check_step(step_size) if needs_step or step_size is not None else None
    if method == "softmax_pg":
        return _softmax_pg(eta, tau)
    if method == "direct_pg":
        return _direct_pg(eta)
    if method == "npg":
        return _npg(eta)
    if method == "entropy_npg":
        if tau <= 0:
            raise InvalidInputError("tau: entropy_npg needs a temperature tau > 0.")
        return _entropy_npg(eta, tau)
    if method in ("qnpg", "loglinear_npg"):
        if phi is None and isinstance(mdp, FeatureMDP):
            phi = mdp.phi
        if phi is None:
            raise InvalidInputError(f"phi: {method} needs features phi[s, a, d]; pass phi= or a FeatureMDP.")
        phi = as_float_array(phi, "phi")
        if mdp is not None and (phi.ndim != 3 or phi.shape[:2] != as_mdp(mdp).shape):
            raise InvalidInputError(f"phi: expected shape (S, A, d) = {as_mdp(mdp).shape + ('d',)}, got {phi.shape}.")
        return _loglinear_npg(eta, phi, "q" if method == "qnpg" else "a")
    if method == "pmd":
        return _pmd(eta, bregman, schedule, None)
    if method == "mdpo":
        if n_inner is not None:
            check_positive_int(n_inner, "n_inner")
        return _mdpo(eta, n_inner, _check_step(inner_lr, "inner_lr"))
    if method == "polyak_pg":
        return _polyak(f_star, max_step)
    if method == "trpo":
        if kl_max is not None:
            kl_max = _check_step(kl_max, "kl_max")
        return _trpo(kl_max, exact)
    if method == "rebel":
        return _rebel(eta)
    if method == "capo":
        return _capo(eta, None if phi is None else as_float_array(phi, "phi"))
    raise InvalidInputError(f"method = {method!r} applies to FiniteHorizonMDP only (mdpgrad.finite_horizon).")


# ----------------------------------------------------------------------------------------
# optimize
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OptimizeResult:
    """Trajectory of an exact optimizer.

    ``t``: iteration indices (0 = initial policy); ``value``: rho . v^{pi_t} (unregularized);
    ``gap``: V*(rho) - value; ``entropy``: rho-average of per-state policy entropy;
    ``step_size``: step used at iteration t (0 at the last); ``reg_value`` / ``reg_gap`` /
    ``q_error``: entropy-regularized value, gap to the soft optimum and ``||Q*_tau - Q_tau^{pi_t}||_inf``
    (when ``tau > 0`` and recorded); ``params`` / ``policies``: only when recorded;
    ``policy``: final policy; ``params_final``: final parameters; ``v_star``: V*(rho).
    """

    method: str
    t: np.ndarray
    value: np.ndarray
    gap: np.ndarray
    entropy: np.ndarray
    step_size: np.ndarray
    policy: np.ndarray
    params_final: np.ndarray
    v_star: float
    reg_value: np.ndarray | None = None
    reg_gap: np.ndarray | None = None
    q_error: np.ndarray | None = None
    grad_norm: np.ndarray | None = None
    masked: np.ndarray | None = None
    params: np.ndarray | None = None
    policies: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


def _as_record(record):
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


def optimize(mdp, method: str = "softmax_pg", *, n_iter: int = 100, step_size=None, theta0=None,
             record=None, tau: float = 0.0, backend: str = "numpy", v_star: float | None = None,
             **options) -> OptimizeResult:
    """Run an exact policy-optimization method for ``n_iter`` iterations and record its trajectory.

    Parameters
    ----------
    mdp : TabularMDP (FeatureMDP for log-linear methods; FiniteHorizonMDP for ``dynamic_pg`` /
        ``simultaneous_pg``, see :func:`mdpgrad.finite_horizon.optimize_finite_horizon`).
    method : one of :data:`METHODS`.
    step_size : eta (eta_0 for geometric PMD); not needed for ``polyak_pg`` / ``trpo``.
    theta0 : initial logits (S, A) (softmax family), initial policy (direct / Euclidean PMD), or
        log-linear weights (d,); uniform policy when omitted.
    record : names from ``("value", "gap", "entropy", "step_size", "params", "policy", "reg_value",
        "reg_gap", "q_error", "grad_norm", "masked")``; value/gap/entropy/step_size by default.
    tau : entropy temperature (``softmax_pg`` with regularization, ``entropy_npg``).
    backend : ``"numpy"`` or ``"numba"`` (fused kernel; softmax_pg, npg, entropy_npg, polyak_pg only).
    v_star : V*(rho) if already known (skips the solve).
    options : method options (``bregman``, ``schedule``, ``phi``, ``n_inner``, ``inner_lr``, ``f_star``,
        ``max_step``, ``kl_max``).

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

        return optimize_finite_horizon(mdp, method=method, n_iter=n_iter, step_size=step_size,
                                       theta0=theta0, **options)
    m = as_mdp(mdp)
    n_iter = check_positive_int(n_iter, "n_iter", minimum=0)
    check_choice(method, "method", METHODS)
    check_choice(backend, "backend", ("numpy", "numba"))
    if v_star is not None:
        v_star = check_float(v_star, "v_star", what="V*(rho) of this MDP")
    if record is None and backend == "numba":
        record = ("value", "gap", "step_size")
    record = _as_record(record)
    if v_star is None:
        v_star = float(m.rho @ solve(m, "policy_iteration").v)
    if backend not in ("numpy", "numba"):
        raise InvalidInputError(f"backend = {backend!r}: choose 'numpy' or 'numba'.")
    if method == "polyak_pg" and options.get("f_star") is None:
        options["f_star"] = v_star
    if backend == "numba":
        return _optimize_numba(m, method, n_iter, step_size, theta0, record, tau, v_star, options)
    meth = make_method(method, mdp=mdp, step_size=step_size, tau=tau, **options)
    soft = None
    if tau > 0 and any(k in record for k in ("reg_gap", "q_error")):
        from ..regularized import soft_optimum

        soft = soft_optimum(m, tau)
    state = meth.init(mdp, theta0)
    rows = {k: [] for k in record}
    for it in range(n_iter + 1):
        pi = state.pi
        need_plain = any(k in record for k in ("value", "gap"))
        ex = exact_quantities(m, pi, check=False) if need_plain else None
        if tau > 0 and any(k in record for k in ("reg_value", "reg_gap", "q_error")):
            exr = exact_quantities(m, pi, tau, check=False)
        if it < n_iter:
            new = meth.update(state, mdp)
        else:
            new = None
        for k in record:
            if k == "value":
                rows[k].append(ex.value)
            elif k == "gap":
                rows[k].append(v_star - ex.value)
            elif k == "entropy":
                rows[k].append(float(m.rho @ entropy(pi)))
            elif k == "step_size":
                rows[k].append(new.step_size if new is not None else 0.0)
            elif k == "params":
                rows[k].append(state.params.copy())
            elif k == "policy":
                rows[k].append(pi.copy())
            elif k == "reg_value":
                rows[k].append(exr.value)
            elif k == "reg_gap":
                rows[k].append(soft.value - exr.value)
            elif k == "q_error":
                rows[k].append(float(np.max(np.abs(soft.q - exr.q))))
            elif k == "grad_norm":
                rows[k].append(new.info.get("grad_norm", np.nan) if new is not None else np.nan)
            elif k == "masked":
                rows[k].append(new.info.get("masked", 0.0) if new is not None else 0.0)
        if new is None:
            break
        state = new
    arr = {k: np.asarray(v) for k, v in rows.items()}
    _check_diverged(m, method, step_size, arr.get("value"), state.pi)
    nan = np.full(n_iter + 1, np.nan)
    return OptimizeResult(
        method=meth.name, t=np.arange(n_iter + 1), value=arr.get("value", nan), gap=arr.get("gap", nan),
        entropy=arr.get("entropy", nan), step_size=arr.get("step_size", nan), policy=state.pi,
        params_final=state.params, v_star=v_star, reg_value=arr.get("reg_value"), reg_gap=arr.get("reg_gap"),
        q_error=arr.get("q_error"), grad_norm=arr.get("grad_norm"), masked=arr.get("masked"),
        params=arr.get("params"), policies=arr.get("policy"),
    )


_NUMBA_MODES = {"softmax_pg": 0, "npg": 1, "entropy_npg": 2, "polyak_pg": 3}


def _check_diverged(m, method, step_size, values, pi):
    """Raise :class:`DivergedError` when the run left the set of policies (NaN, or values out of range)."""
    vmax = float(np.max(np.abs(m.r))) / (1.0 - m.gamma)
    slack = 1e-6 * (1.0 + vmax)
    ok = np.all(np.isfinite(pi)) and np.all(pi >= -1e-8) and np.allclose(pi.sum(axis=-1), 1.0, atol=1e-6)
    if values is not None:
        ok = ok and bool(np.all(np.isfinite(values)) and np.all(np.abs(values) <= vmax + slack))
    if not ok:
        raise DivergedError(f"{method}: step_size = {step_size!r} made the iterates leave the policy set "
                            f"(non-finite or out-of-range values); use a smaller step_size.")


def _optimize_numba(m, method, n_iter, step_size, theta0, record, tau, v_star, options):
    from ._kernels import softmax_family_run

    if method not in _NUMBA_MODES:
        raise InvalidInputError(
            f"backend = 'numba' supports methods {tuple(_NUMBA_MODES)}; use backend='numpy' for {method!r}."
        )
    bad = set(record) - {"value", "gap", "step_size", "reg_value"}
    if bad:
        raise InvalidInputError(f"record: backend='numba' records value, gap, step_size, reg_value; not {sorted(bad)}.")
    if method == "polyak_pg":
        eta = float(options.get("f_star", v_star))
    else:
        eta = _check_step(step_size)
    if method == "entropy_npg" and not tau > 0:
        raise InvalidInputError("tau: entropy_npg needs a temperature tau > 0.")
    state = _logits_init(m, theta0)
    a_star = np.full(m.n_states, -1, dtype=np.int64)
    vals, regs, steps, _, theta = softmax_family_run(
        np.ascontiguousarray(m.P), np.ascontiguousarray(m.r), m.gamma, np.ascontiguousarray(m.rho),
        state.params, eta, n_iter, _NUMBA_MODES[method], float(tau), a_star, 1)
    nan = np.full(n_iter + 1, np.nan)
    return OptimizeResult(
        method=method, t=np.arange(n_iter + 1), value=vals, gap=v_star - vals, entropy=nan, step_size=steps,
        policy=softmax(theta), params_final=theta, v_star=v_star, reg_value=regs if tau > 0 else None)


def run_softmax_family(mdp, method: str, n_iter: int, step_size: float, *, theta0=None, tau: float = 0.0,
                       a_star=None, record_every: int = 1):
    """Low-level fused run (Numba) returning ``(values, reg_values, steps, min_pi_star, theta)``.

    Used by claims needing 1e5+ iterations; ``values[k]`` is the value at iteration
    ``k * record_every``; ``min_pi_star`` is ``min_{t, s} pi_t(a_star[s] | s)``.
    """
    from ..regularized import check_tau
    from ._kernels import softmax_family_run

    m = as_mdp(mdp)
    check_choice(method, "method", tuple(_NUMBA_MODES))
    n_iter = check_int(n_iter, "n_iter", minimum=0)
    record_every = check_positive_int(record_every, "record_every")
    tau = check_tau(tau)
    step_size = float(step_size) if method == "polyak_pg" else _check_step(step_size)
    st = _logits_init(m, theta0)
    if a_star is None:
        a = np.full(m.n_states, -1, dtype=np.int64)
    else:  # the kernel indexes pi[s, a_star[s]]: every entry must be an action index, or -1 for "none"
        raw = np.asarray(a_star)
        a = check_indices(np.where(raw == -1, 0, raw) if raw.dtype.kind in "iu" else raw, "a_star", m.n_actions,
                          what="action index (or -1)")
        a = np.where(raw == -1, -1, a).astype(np.int64)
        if a.shape != (m.n_states,):
            raise InvalidInputError(f"a_star: expected one action per state, shape ({m.n_states},), got {a.shape}.")
    return softmax_family_run(np.ascontiguousarray(m.P), np.ascontiguousarray(m.r), m.gamma,
                              np.ascontiguousarray(m.rho), st.params, float(step_size), int(n_iter),
                              _NUMBA_MODES[method], float(tau), a, int(record_every))




def run_softmax_pg_fast(mdp, n_iter: int, step_size: float, *, npg: bool = False, theta0=None,
                        record_every: int = 1):
    """Exact softmax PG (or NPG) for larger ``S``: one LU factorization reused across iterations
    with iterative refinement to the backward error of a direct solve, refactoring only when six
    refinement steps do not suffice (Numba; see ``_kernels.softmax_pg_refined_run``).

    Returns ``(values, n_factorizations, theta)``; ``values`` agree with
    :func:`run_softmax_family` to round-off (tested).
    """
    from ._kernels import softmax_pg_refined_run

    m = as_mdp(mdp)
    n_iter = check_positive_int(n_iter, "n_iter", minimum=0)
    record_every = check_positive_int(record_every, "record_every")
    st = _logits_init(m, theta0)
    return softmax_pg_refined_run(np.ascontiguousarray(m.P), np.ascontiguousarray(m.r), m.gamma,
                                  np.ascontiguousarray(m.rho), st.params, _check_step(step_size), n_iter,
                                  bool(npg), record_every)
