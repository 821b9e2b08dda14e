r"""Exact per-step building blocks of the policy-optimization methods (pure functions).

The exact quantities of one policy (:func:`exact_quantities`, one LU through :func:`mdpgrad.evaluate`)
and the steps that are more than one line: the TRPO steps (Schulman et al. 2015), REBEL's least
squares (Gao et al. 2024), MDPO's inner loop (Tomar et al.) and the curvature-aware masked step
(CAPO). :mod:`mdpgrad.algorithms.methods` wraps them into ``(init, update)`` methods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..exact import evaluate
from ..mdp import as_mdp
from ..policies import softmax
from ..stats import kl_divergence
from ..validation import (
    as_float_array,
    check_gamma,
    check_nonnegative,
    check_policy,
    check_positive_float,
    check_positive_int,
)

__all__ = ["Exact", "check_step_size", "exact_quantities", "npg_closed_form", "mdpo_inner", "trpo_surrogate_bound",
           "trpo_step", "trpo_exact_step", "rebel_step", "capo_step"]


def check_step_size(step_size, name="step_size") -> float:
    """``float(step_size)``, checked positive and finite (an ``InvalidInputError`` naming ``name`` otherwise)."""
    return check_positive_float(step_size, name, what="a step size")


@dataclass(frozen=True)
class Exact:
    """Exact quantities of one policy: ``v, q, adv, d`` and ``value = rho . v`` (regularized when tau > 0);
    ``plain_value``: the unregularized ``rho . v`` (equal to ``value`` when ``tau = 0``)."""

    v: np.ndarray
    q: np.ndarray
    adv: np.ndarray
    d: np.ndarray
    value: float
    plain_value: float


def exact_quantities(mdp, pi, tau: float = 0.0, *, check: bool = True) -> Exact:
    r"""``v``, ``q``, advantage and occupancy of ``pi`` (one LU, :func:`mdpgrad.evaluate`).

    With ``tau > 0``: ``v = (I - gamma P_pi)^{-1}(r_pi + tau H(pi))``, ``q = r + gamma P v`` and the
    *soft advantage* ``adv = q - tau log pi - v`` (Mei et al. 2020, Lemma 10), so the softmax
    gradient of the regularized value is ``d pi adv / (1 - gamma)``. The unregularized value needs no
    second solve: ``rho . v_tau = rho . v + tau / (1 - gamma) d . H(pi)``.
    """
    from ..regularized import check_tau

    m = as_mdp(mdp)
    if check:  # internal callers pass check=False: their policies come from a validated state
        pi = check_policy(pi, *m.shape)
        tau = check_tau(tau)
    ev = evaluate(m, pi, check=False, tau=tau)
    v, q, d = ev.v, ev.q, ev.occupancy
    adv = ev.advantage
    plain = ev.value
    if tau:
        logpi = np.log(np.where(pi > 0, pi, 1.0))
        adv = adv - tau * logpi
        H = -np.sum(pi * logpi, axis=1)
        plain = ev.value - tau * float(d @ H) / (1.0 - m.gamma)
    return Exact(v=v, q=q, adv=adv, d=d, value=ev.value, plain_value=plain)


def npg_closed_form(pi, adv, eta: float, gamma: float) -> np.ndarray:
    r"""The softmax NPG step in multiplicative-weights form, :math:`\pi' \propto \pi\exp(\eta A/(1-\gamma))`."""
    pi = as_float_array(pi, "pi", ndim=2)
    check_policy(pi, *pi.shape)
    adv = as_float_array(adv, "adv", shape=pi.shape)
    eta = check_step_size(eta, "eta")
    gamma = check_gamma(gamma)
    with np.errstate(divide="ignore"):
        logits = np.log(pi) + eta * adv / (1.0 - gamma)
    return softmax(logits)


def mdpo_inner(pi_k, adv, d, eta, n_inner, lr, *, check: bool = True):
    r"""``n_inner`` gradient-ascent steps (on logits, from ``log pi_k``) on the exact MDPO surrogate

    :math:`\ell(\theta) = \sum_s d(s)\,[\langle\pi_\theta(s), A(s)\rangle - \frac1\eta KL(\pi_\theta(s)\|\pi_k(s))]`.

    Gradient per state: with :math:`f(a) = A(a) - \frac1\eta(\log\pi_\theta(a) - \log\pi_k(a))`,
    :math:`\partial\ell/\partial\theta_{s,a} = d(s)\pi_\theta(a|s)(f(a) - \langle\pi_\theta, f\rangle)` (the
    ``-1/eta`` from differentiating ``log pi_theta`` inside KL cancels because ``sum_a d pi / d theta = 0``).
    Step ``lr / d(s)`` per state (preconditioning by the state weight, as MDPO's per-state losses).
    """
    if check:  # the optimizer loop passes check=False: its state and hyperparameters are validated
        pi_k = as_float_array(pi_k, "pi_k", ndim=2)
        check_policy(pi_k, *pi_k.shape, name="pi_k")
        adv = as_float_array(adv, "adv", shape=pi_k.shape)
        d = as_float_array(d, "d", shape=(pi_k.shape[0],))
        check_nonnegative(d, "d")
        eta, lr = check_step_size(eta, "eta"), check_step_size(lr, "lr")
        n_inner = check_positive_int(n_inner, "n_inner")
    logk = np.log(np.maximum(pi_k, 1e-300))
    theta = logk.copy()
    for _ in range(int(n_inner)):
        pi = softmax(theta)
        f = adv - (np.log(np.maximum(pi, 1e-300)) - logk) / eta
        g = pi * (f - np.sum(pi * f, axis=1, keepdims=True))
        theta = theta + lr * g  # d(s) * lr / d(s)
    return theta


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
    ex = exact_quantities(m, pi, check=False)
    L = ex.value + float(np.sum(ex.d[:, None] * pi_new * ex.adv)) / (1.0 - m.gamma)
    eps = float(np.max(np.abs(ex.adv)))
    C = 4.0 * eps * m.gamma / (1.0 - m.gamma) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.sum(np.where(pi > 0, pi * (np.log(np.where(pi > 0, pi, 1)) - np.log(pi_new)), 0.0), axis=1)
    new_val = exact_quantities(m, pi_new, check=False).value
    return new_val, L, C, float(np.max(kl))


def trpo_step(mdp, pi, *, kl_max: float | None = None, n_grid: int = 60, check: bool = True):
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
    if check:  # the optimizer loop passes check=False: its state and hyperparameters are validated
        pi = check_policy(pi, *m.shape)
        if kl_max is not None:
            kl_max = check_step_size(kl_max, "kl_max")
        n_grid = check_positive_int(n_grid, "n_grid", minimum=2)
    ex = exact_quantities(m, pi, check=False)
    logpi = np.log(np.maximum(pi, 1e-300))

    def pol(beta):
        return softmax(logpi + beta * ex.adv)

    if kl_max is not None:
        lo, hi = 0.0, 1.0
        while np.sum(ex.d * kl_divergence(pi, pol(hi), check=False)) < kl_max and hi < 1e8:
            hi *= 2
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if np.sum(ex.d * kl_divergence(pi, pol(mid), check=False)) <= kl_max:
                lo = mid
            else:
                hi = mid
        return pol(lo), lo
    eps = float(np.max(np.abs(ex.adv)))
    C = 4.0 * eps * m.gamma / (1.0 - m.gamma) ** 2

    def M(beta):
        p = pol(beta)
        kl = float(np.max(kl_divergence(pi, p, check=False)))
        return float(np.sum(ex.d[:, None] * p * ex.adv)) / (1.0 - m.gamma) - C * kl

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
        kl = kl_divergence(pi, p_of(mid), check=False)[:, None]
        big = kl > t
        lo = np.where(big, mid, lo)
        hi = np.where(big, hi, mid)
    p = p_of(hi)  # the feasible side (KL <= t up to bisection resolution)
    const = (span[:, 0] <= 1e-300) | (t <= 0)
    p[const] = pi[const]
    return p


def trpo_exact_step(mdp, pi, *, n_outer: int = 36, check: bool = True):
    r"""The theoretically-justified TRPO step over **all** policies (full-support ``pi``):

    :math:`\max_{\pi'} L_\pi(\pi') - C\max_s KL(\pi_s\|\pi'_s)` written as
    :math:`\max_{t\ge0}\; \sum_s \max_{KL(\pi_s\|p)\le t} \frac{d(s)}{1-\gamma}\langle p, A_s\rangle - C t`
    (epigraph of the max). The inner per-state problems are solved by :func:`_kl_ball_argmax`; the
    outer objective is concave in ``t`` (each inner optimum is a concave function of the radius),
    maximized by golden section on ``[0, gain/C]`` with ``gain`` the largest possible surrogate gain.
    Returns ``(pi_new, t)``; ``M(pi_new) >= M(pi) = J(pi)`` up to the bisection resolution.
    """
    m = as_mdp(mdp)
    if check:  # the optimizer loop passes check=False: its state is validated
        pi = check_policy(pi, *m.shape)
        n_outer = check_positive_int(n_outer, "n_outer")
    if np.any(pi <= 0):
        raise InvalidInputError("pi: trpo_exact_step needs a full-support policy (all pi > 0).")
    ex = exact_quantities(m, pi, check=False)
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
        return float(np.sum(p * g)) - C * float(np.max(kl_divergence(pi, p, check=False))), p

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
    eta = check_step_size(eta, "eta")
    if theta.ndim == 1:
        return rebel_step(theta[None], rewards[None], eta, pair_weights)[0]
    if theta.ndim != 2 or theta.shape[1] == 0:
        raise InvalidInputError(f"theta: expected logits (K,) or (X, K), got shape {theta.shape}.")
    X, K = theta.shape
    if rewards.shape != (X, K):
        raise InvalidInputError(f"rewards: expected shape {(X, K)} like theta, got {rewards.shape}.")
    eta = check_step_size(eta, "eta")
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


def _value_and_blocks(mdp, theta, phi):
    """``J`` and the per-state gradient blocks ``g_s`` (rows; ``sum_s g_s = grad J``), flattened."""
    m = as_mdp(mdp)
    if phi is None:
        pi = softmax(theta)
        ex = exact_quantities(m, pi, check=False)
        g = ex.d[:, None] * pi * ex.adv / (1.0 - m.gamma)
        blocks = np.zeros((m.n_states, theta.size))
        for s in range(m.n_states):
            blk = np.zeros_like(theta)
            blk[s] = g[s]
            blocks[s] = blk.reshape(-1)
        return ex.value, blocks
    pi = softmax(phi @ theta)
    ex = exact_quantities(m, pi, check=False)
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
    eta = check_step_size(eta, "eta")
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
