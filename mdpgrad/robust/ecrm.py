r"""Risk-averse policy gradient with expected conditional risk measures (ECRMs).

Yu & Ying (2023), *On the Global Convergence of Risk-Averse Policy Gradient Methods with
Expected Conditional Risk Measures*. Finite horizon ``H``, costs ``c[s, a]`` (to minimize),
stage risk the mean-CVaR :math:`\varrho(Z)=(1-\lambda)E[Z]+\lambda\,\mathrm{CVaR}_\alpha(Z)`,
:math:`\mathrm{CVaR}_\alpha(Z)=\min_\eta \eta+E[(Z-\eta)_+]/(1-\alpha)` (upper tail). The
ECRM objective of a policy is

.. math:: J(\pi)=\varrho(Z_0)+\sum_{t=1}^{H-1}E\big[\varrho(Z_t\mid s_{t-1},a_{t-1})\big],\qquad Z_t=c(s_t,a_t),

risk taken on each stage's cost conditionally on the previous state-action, then averaged
(time-consistent, not nested). Writing each CVaR in its variational form with
:math:`\eta_t` chosen together with :math:`a_{t-1}` gives a **risk-neutral MDP on augmented
states** :math:`(s_t,\eta_{t-1})` with actions :math:`(a_t,\eta_t)` and cost

.. math:: \hat c=(1-\lambda)c(s_t,a_t)+\frac{\lambda}{1-\alpha}(c(s_t,a_t)-\eta_{t-1})_+ +\lambda\eta_t\,[t<H-1],

plus :math:`\lambda\eta_{-1}` for the first stage's CVaR. For discrete costs the CVaR
minimizer is attained at an atom, so :math:`\eta` ranges exactly over the finite grid of
cost values: the reformulation is exact and dynamic programming gives the global optimum.
Policy gradient runs on the augmented MDP (direct or softmax parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..mdp import FiniteHorizonMDP
from ..validation import check_probability

__all__ = ["cvar", "mean_cvar", "ECRMProblem", "ecrm_problem", "ecrm_objective", "augmented_evaluate",
           "augmented_dp", "augmented_gradient", "markov_to_augmented", "ECRMPGRun", "risk_averse_pg"]


def cvar(values, probs, alpha: float) -> float:
    r"""Upper-tail CVaR of a discrete distribution: :math:`\min_\eta \eta+E(Z-\eta)_+/(1-\alpha)` (exact, atoms)."""
    values = np.asarray(values, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    cand = values[probs > 0]
    return float(np.min(cand + np.maximum(values[None, :] - cand[:, None], 0.0) @ probs / (1.0 - alpha)))


def mean_cvar(values, probs, alpha: float, lam: float) -> float:
    """``(1 - lam) E[Z] + lam CVaR_alpha(Z)``."""
    return (1.0 - lam) * float(np.dot(values, probs)) + lam * cvar(values, probs, alpha)


@dataclass(frozen=True)
class ECRMProblem:
    """A finite-horizon cost MDP with a mean-CVaR ECRM (``alpha``, ``lam``) and its eta grid."""

    mdp: FiniteHorizonMDP  # ``r`` holds the costs c[h, s, a]
    alpha: float
    lam: float
    grid: np.ndarray

    @property
    def shape(self):
        H, S, A = self.mdp.r.shape
        return H, S, A, self.grid.size


def ecrm_problem(mdp: FiniteHorizonMDP, alpha: float, lam: float) -> ECRMProblem:
    """Validate and attach the exact eta grid (all distinct cost values)."""
    alpha = check_probability(alpha, "alpha", open_right=True)
    lam = check_probability(lam, "lam")
    if not isinstance(mdp, FiniteHorizonMDP):
        raise InvalidInputError(f"mdp: expected a FiniteHorizonMDP (costs in r), got {type(mdp).__name__}.")
    return ECRMProblem(mdp, alpha, lam, np.unique(mdp.r))


def ecrm_objective(prob: ECRMProblem, pi) -> float:
    r"""ECRM objective :math:`J(\pi)` of a Markov policy ``pi[h, s, a]``, computed directly (exact CVaRs)."""
    m = prob.mdp
    P, c = m.P, m.r
    H, S, A = c.shape
    pi = np.asarray(pi, dtype=np.float64)
    if pi.shape != (H, S, A):
        raise InvalidInputError(f"pi: expected shape {(H, S, A)}, got {pi.shape}.")
    # stage 0: unconditional
    w0 = m.rho[:, None] * pi[0]
    J = mean_cvar(c[0].ravel(), w0.ravel(), prob.alpha, prob.lam)
    d = w0  # d_{t-1}(s, a)
    for t in range(1, H):
        for s in range(S):
            for a in range(A):
                if d[s, a] > 0:
                    w = P[t - 1, s, a][:, None] * pi[t]
                    J += d[s, a] * mean_cvar(c[t].ravel(), w.ravel(), prob.alpha, prob.lam)
        d = np.einsum("sa,sat,tb->tb", d, P[t - 1], pi[t])
    return float(J)


def _aug_cost(prob: ECRMProblem, t: int) -> np.ndarray:
    """``chat[s, j_prev, a, j_next]`` at stage t."""
    H, S, A, G = prob.shape
    c = prob.mdp.r[t]
    eta = prob.grid
    lam, al = prob.lam, prob.alpha
    base = (1 - lam) * c[:, None, :] + lam / (1 - al) * np.maximum(c[:, None, :] - eta[None, :, None], 0.0)
    nxt = lam * eta if t < H - 1 else np.zeros(G)
    return base[..., None] + nxt[None, None, None, :]


def augmented_evaluate(prob: ECRMProblem, pi_aug, p0):
    r"""Exact cost of an augmented policy.

    ``pi_aug[h, s, j_prev, a, j_next]`` (rows over ``(a, j_next)`` sum to 1) and ``p0[j]``
    (distribution of the first :math:`\eta_{-1}`). Returns ``(J, V[h, s, j], Q[h, s, j, a, j'],
    d[h, s, j])`` with ``d`` the augmented state distributions.
    """
    m = prob.mdp
    H, S, A, G = prob.shape
    V = np.zeros((H + 1, S, G))
    Q = np.zeros((H, S, G, A, G))
    for t in range(H - 1, -1, -1):
        cont = np.einsum("sat,tj->saj", m.P[t], V[t + 1]) if t < H - 1 else np.zeros((S, A, G))
        Q[t] = _aug_cost(prob, t) + cont[:, None, :, :]
        V[t] = np.einsum("sjab,sjab->sj", pi_aug[t], Q[t])
    eta = prob.grid
    J = float(p0 @ (prob.lam * eta + m.rho @ V[0]))
    d = np.zeros((H, S, G))
    d[0] = m.rho[:, None] * p0[None, :]
    for t in range(1, H):
        w = d[t - 1][:, :, None, None] * pi_aug[t - 1]  # (s, j, a, j')
        d[t] = np.einsum("sjab,sat->tb", w, m.P[t - 1])
    return J, V, Q, d


def augmented_gradient(prob: ECRMProblem, pi_aug, p0, *, explore: float = 0.0):
    r"""Direct-parameter gradient of the augmented cost and ``(J, g_pi, g_p0)``.

    :math:`\partial J/\partial\pi_t(b|x)=D_t(x)Q_t(x,b)` and
    :math:`\partial J/\partial p_0(j)=\lambda\eta_j+\rho^\top V_0(\cdot,j)`. With ``explore = w > 0``
    the objective is :math:`J_w = J + w\sum_t\sum_x u(x)V_t(x)` (``u`` uniform over augmented
    states): a full-support restart distribution at every stage, so
    :math:`D_t(x)=d_t(x)+w\sum_{t'\le t}(u\text{ propagated from }t'\text{ to }t)(x)>0`. The DP-optimal
    policy minimizes every :math:`V_t(x)` at once, so it minimizes :math:`J_w` too; ``J`` returned
    is always the unmodified ECRM cost.
    """
    J, V, Q, d = augmented_evaluate(prob, pi_aug, p0)
    H, S, A, G = prob.shape
    D = d.copy()
    if explore > 0:
        u = np.full((S, G), explore / (S * G))
        extra = u.copy()
        D[0] += extra
        for t in range(1, H):
            w = extra[:, :, None, None] * pi_aug[t - 1]
            extra = np.einsum("sjab,sat->tb", w, prob.mdp.P[t - 1]) + u
            D[t] += extra
    g = D[:, :, :, None, None] * Q
    g0 = prob.lam * prob.grid + prob.mdp.rho @ V[0]
    return J, g, g0


def augmented_dp(prob: ECRMProblem):
    """Globally optimal augmented cost by backward DP; returns ``(J*, pi_aug*, p0*)`` (deterministic)."""
    m = prob.mdp
    H, S, A, G = prob.shape
    V = np.zeros((S, G))
    pi = np.zeros((H, S, G, A, G))
    for t in range(H - 1, -1, -1):
        cont = np.einsum("sat,tj->saj", m.P[t], V) if t < H - 1 else np.zeros((S, A, G))
        Q = _aug_cost(prob, t) + cont[:, None, :, :]
        flat = Q.reshape(S, G, A * G)
        k = flat.argmin(axis=2)
        V = flat.min(axis=2)
        pi[t].reshape(S, G, A * G)[np.arange(S)[:, None], np.arange(G)[None, :], k] = 1.0
    tot = prob.lam * prob.grid + m.rho @ V
    p0 = np.zeros(G)
    p0[np.argmin(tot)] = 1.0
    return float(tot.min()), pi, p0


def markov_to_augmented(prob: ECRMProblem, pi):
    r"""Augment a Markov policy ``pi[h, s, a]`` with the exact CVaR minimizers :math:`\eta_t(s_t,a_t)`.

    :math:`\eta_t` is the atom minimizing the CVaR of :math:`Z_{t+1}` given :math:`(s_t,a_t)`; the
    augmented cost of the result equals :func:`ecrm_objective` (the reformulation identity).
    """
    m = prob.mdp
    H, S, A, G = prob.shape
    eta = prob.grid
    aug = np.zeros((H, S, G, A, G))
    lam, al = prob.lam, prob.alpha

    def best_j(vals, probs):
        obj = lam * eta + lam / (1 - al) * np.maximum(vals[None, :] - eta[:, None], 0.0) @ probs
        return int(np.argmin(obj))

    for t in range(H):
        for s in range(S):
            for a in range(A):
                if t < H - 1:
                    w = m.P[t, s, a][:, None] * pi[t + 1]
                    j = best_j(m.r[t + 1].ravel(), w.ravel())
                else:
                    j = 0
                aug[t, s, :, a, j] = pi[t, s, a]
    w0 = (m.rho[:, None] * pi[0]).ravel()
    p0 = np.zeros(G)
    p0[best_j(m.r[0].ravel(), w0)] = 1.0
    return aug, p0


@dataclass(frozen=True)
class ECRMPGRun:
    """Trajectory of :func:`risk_averse_pg`: ``costs[k]`` is the (unmodified) ECRM cost ``J`` of the
    k-th iterate (``n_iter + 1`` values); ``pi_aug`` and ``p0`` are the final parameters' policy."""

    costs: np.ndarray
    pi_aug: np.ndarray
    p0: np.ndarray


def risk_averse_pg(prob: ECRMProblem, n_iter: int, *, step: float, pi_aug0=None, p00=None,
                   param: str = "direct", explore: float = 0.0, theta0=None, theta00=None) -> ECRMPGRun:
    r"""Risk-averse policy gradient on the CVaR-augmented MDP (Yu & Ying 2023), with exact gradients
    (:func:`augmented_gradient`, restart weight ``explore``).

    ``param="direct"``: projected gradient descent on the augmented policy rows (simplex over the joint
    action ``(a, eta)``) and on ``p0``, from ``pi_aug0`` / ``p00`` (default uniform). ``param="softmax"``:
    gradient descent on logits ``theta[h, s, j, a * G + j']`` / ``theta0[j]`` (default 0) with the
    softmax chain rule :math:`\partial J/\partial\theta = \pi\odot(g - \langle\pi, g\rangle)`.
    """
    from .sets import project_simplex

    if param not in ("direct", "softmax"):
        raise InvalidInputError(f"param = {param!r}: choose 'direct' or 'softmax'.")
    n_iter = int(n_iter)
    if n_iter < 0 or not np.isfinite(step) or step <= 0:
        raise InvalidInputError(f"n_iter = {n_iter}, step = {step!r}: need n_iter >= 0 and a positive step.")
    H, S, A, G = prob.shape
    shape = (H, S, G, A * G)

    def softmax(z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    if param == "direct":
        pa = np.full(shape, 1.0 / (A * G)) if pi_aug0 is None else np.asarray(pi_aug0, float).reshape(shape).copy()
        q0 = np.full(G, 1.0 / G) if p00 is None else np.asarray(p00, float).copy()
    else:
        th = np.zeros(shape) if theta0 is None else np.asarray(theta0, float).reshape(shape).copy()
        th0 = np.zeros(G) if theta00 is None else np.asarray(theta00, float).copy()
    costs = []
    for _ in range(n_iter + 1):
        if param == "softmax":
            pa, q0 = softmax(th), softmax(th0)
        J, g, g0 = augmented_gradient(prob, pa.reshape(H, S, G, A, G), q0, explore=explore)
        costs.append(J)
        if len(costs) == n_iter + 1:
            break
        gr = g.reshape(shape)
        if param == "direct":
            pa, q0 = project_simplex(pa - step * gr), project_simplex(q0 - step * g0)
        else:
            th = th - step * pa * (gr - np.sum(pa * gr, -1, keepdims=True))
            th0 = th0 - step * q0 * (g0 - q0 @ g0)
    return ECRMPGRun(np.asarray(costs), pa.reshape(H, S, G, A, G), q0)
