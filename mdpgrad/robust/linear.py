r"""Policy-regularized distributionally robust MDPs with linear function approximation (DR-RPO).

*Policy Regularized Distributionally Robust Markov Decision Processes with Linear Function
Approximation* (DR-RPO). Finite horizon ``H``, a **d-rectangular linear MDP**:

.. math::

    P(s'|s,a)=\sum_{i=1}^d\phi_i(s,a)\,\mu_i(s'),\qquad r(s,a)=\phi(s,a)^\top\theta,\qquad
    \phi(s,a)\in\Delta_d,

with each factor :math:`\mu_i` perturbed independently inside a total-variation ball
:math:`\{\mu'_i : \mathrm{TV}(\mu'_i,\mu_i)\le\rho\}` (an L1 ball of radius :math:`2\rho`), and a
KL penalty :math:`\lambda\,\mathrm{KL}(\pi_h(\cdot|s)\|\pi_{\mathrm{ref}}(\cdot|s))` on the
policy. The robust regularized Bellman equations are

.. math::

    Q^\pi_h(s,a)=r(s,a)+\sum_i\phi_i(s,a)\,\sigma_i(V^\pi_{h+1}),\quad
    V^\pi_h(s)=\langle\pi_h,Q^\pi_h\rangle-\lambda\,\mathrm{KL}(\pi_h\|\pi_{\mathrm{ref}}),\quad
    \sigma_i(V)=\min_{\mathrm{TV}(\mu',\mu_i)\le\rho}\mu'^\top V,

and the optimum is the soft-max :math:`V^*_h=\lambda\log\sum_a\pi_{\mathrm{ref}}e^{Q^*_h/\lambda}`.
The TV inner problem has the dual (Shi et al. 2023)
:math:`\sigma_i(V)=\max_{\alpha}\{E_{\mu_i}[\min(V,\alpha)]-\rho(\alpha-\min V)\}`, whose
expectations are linear in :math:`\phi`: DR-RPO estimates
:math:`\nu_{\alpha,i}=E_{\mu_i}[\min(V,\alpha)]` by ridge regression on observed transitions,
adds the bonus :math:`\beta\|\phi(s,a)\|_{\Lambda_h^{-1}}`, and updates the policy by a
KL-regularized mirror-descent step

.. math:: \pi^{k+1}_h\propto(\pi^k_h)^{1/(1+\eta\lambda)}\,\pi_{\mathrm{ref}}^{\eta\lambda/(1+\eta\lambda)}
          \exp\big(\eta\hat Q^k_h/(1+\eta\lambda)\big).

The value-based baseline (robust LSVI-UCB with the same estimates) plays the regularized
greedy policy :math:`\pi\propto\pi_{\mathrm{ref}}e^{\hat Q/\lambda}` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._compat import renamed
from ..errors import InvalidInputError
from ..stats import kl_divergence
from ..validation import as_generator, check_positive_int
from .sets import worst_case_l1

__all__ = ["DRectangularMDP", "d_rectangular_mdp", "risky_safe_linear_mdp", "robust_regularized_dp", "robust_regularized_value",
           "DRRPOResult", "dr_rpo"]


@dataclass(frozen=True)
class DRectangularMDP:
    """A finite-horizon d-rectangular linear MDP with a TV radius and a policy regularizer.

    ``phi[s, a, d]`` (rows in the simplex), ``mu[d, S]`` (factor distributions), ``theta[d]``
    (rewards in [0, 1]), horizon ``H``, initial state ``s0``, TV radius ``rho``, KL weight
    ``lam`` and reference policy ``pi_ref[S, A]``.
    """

    phi: np.ndarray
    mu: np.ndarray
    theta: np.ndarray
    H: int
    rho: float
    lam: float
    pi_ref: np.ndarray
    s0: int = 0

    @property
    def P(self) -> np.ndarray:
        return np.einsum("sad,dt->sat", self.phi, self.mu)

    @property
    def r(self) -> np.ndarray:
        return self.phi @ self.theta


def d_rectangular_mdp(S: int = 6, A: int = 3, d: int = 3, H: int = 4, *, rho: float = 0.2, lam: float = 0.1,
                      seed=None) -> DRectangularMDP:
    """A random d-rectangular linear MDP: Dirichlet(0.3) features and factors, theta ~ U[0, 1]."""
    S = check_positive_int(S, "S")
    A = check_positive_int(A, "A")
    d = check_positive_int(d, "d")
    H = check_positive_int(H, "H")
    if not (0 <= rho <= 1):
        raise InvalidInputError(f"rho = {rho!r}: a TV radius must lie in [0, 1].")
    if not (np.isfinite(lam) and lam > 0):
        raise InvalidInputError(f"lam = {lam!r}: the policy-regularization weight must be > 0.")
    rng = as_generator(seed)
    phi = rng.dirichlet(np.full(d, 0.3), size=(S, A))
    mu = rng.dirichlet(np.full(S, 0.3), size=d)
    theta = rng.uniform(0, 1, size=d)
    return DRectangularMDP(phi, mu, theta, H, float(rho), float(lam), np.full((S, A), 1.0 / A))


def _soft(Q, pi_ref, lam):
    """``(V, pi)`` of max_pi <pi, Q> - lam KL(pi || pi_ref) per state (log-sum-exp)."""
    z = np.log(pi_ref) + Q / lam
    mx = z.max(axis=1, keepdims=True)
    w = np.exp(z - mx)
    V = lam * (np.log(w.sum(axis=1)) + mx[:, 0])
    return V, w / w.sum(axis=1, keepdims=True)


def _sigma_true(m: DRectangularMDP, V):
    """Exact factor-wise TV worst case (L1 ball of radius 2 rho, solved by sorting)."""
    return worst_case_l1(m.mu, V, 2.0 * m.rho).value


def robust_regularized_dp(m: DRectangularMDP):
    """Optimal robust regularized values ``V[h, s]`` (``V[H] = 0``) and policy ``pi[h, s, a]``."""
    S, A, _ = m.phi.shape
    V = np.zeros((m.H + 1, S))
    pi = np.zeros((m.H, S, A))
    for h in range(m.H - 1, -1, -1):
        Q = m.r + m.phi @ _sigma_true(m, V[h + 1])
        V[h], pi[h] = _soft(Q, m.pi_ref, m.lam)
    return V, pi


def robust_regularized_value(m: DRectangularMDP, pi) -> float:
    r"""Robust regularized value :math:`V^\pi_1(s_0)` of a nonstationary policy ``pi[h, s, a]``."""
    S = m.phi.shape[0]
    V = np.zeros(S)
    for h in range(m.H - 1, -1, -1):
        Q = m.r + m.phi @ _sigma_true(m, V)
        kl = kl_divergence(pi[h], m.pi_ref, check=False)
        V = np.sum(pi[h] * Q, axis=1) - m.lam * kl
    return float(V[m.s0])


@dataclass(frozen=True)
class DRRPOResult:
    """Per-episode robust regularized values of the played policies and the regret."""

    values: np.ndarray
    regret: np.ndarray  # cumulative
    optimum: float
    final_policy: np.ndarray


def _estimate_sigma(Lam_inv, B, V, rho):
    """Ridge estimates of sigma_i(V) for every factor via the TV dual over alpha in {V(s)}."""
    alphas = np.unique(V)
    Vmin = V.min()
    best = np.full(Lam_inv.shape[0], -np.inf)
    for a in alphas:
        nu = Lam_inv @ (B @ np.minimum(V, a))
        best = np.maximum(best, nu - rho * (a - Vmin))
    return best


@renamed(eta="step_size")
def dr_rpo(m: DRectangularMDP, K: int, *, beta: float = 0.5, step_size: float | None = None, ridge: float = 1.0,
           method: str = "rpo", seed=None, radius: float | None = None) -> DRRPOResult:
    """Run DR-RPO (``method="rpo"``) or the robust LSVI-UCB baseline (``"lsvi"``) for K episodes.

    Each episode plays the current policy in the *nominal* model from ``s0``, adds the
    transitions to the per-step sufficient statistics (``Lambda_h = ridge I + sum phi phi^T``,
    ``B_h[i, s'] = sum phi_i 1{s'}``), then computes optimistic robust Q-estimates backwards
    (clipped to ``[0, H - h]`` plus the regularizer range) and updates the policy.
    ``step_size`` (the mirror-descent rate eta) defaults to ``sqrt(2 log A / K)``. ``radius`` (default
    ``m.rho``) is the TV radius the learner's robust estimates assume; values and regret are always those
    of ``m`` (a radius other than ``m.rho`` is a negative control for the claims).
    """
    eta = step_size
    K = check_positive_int(K, "K")
    if method not in ("rpo", "lsvi"):
        raise InvalidInputError(f"method = {method!r}: choose 'rpo' (DR-RPO) or 'lsvi' (robust LSVI-UCB).")
    rho_l = m.rho if radius is None else float(radius)
    if not (0.0 <= rho_l <= 1.0):
        raise InvalidInputError(f"radius = {radius!r}: a TV radius must lie in [0, 1].")
    rng = as_generator(seed)
    S, A, d = m.phi.shape
    H = m.H
    P = m.P
    eta = float(np.sqrt(2 * np.log(max(A, 2)) / K)) if eta is None else float(eta)
    V_opt, _ = robust_regularized_dp(m)
    opt = float(V_opt[0, m.s0])
    Lam = np.stack([ridge * np.eye(d)] * H)
    B = np.zeros((H, d, S))
    pi = np.broadcast_to(m.pi_ref, (H, S, A)).copy()
    values = np.empty(K)
    phi2 = m.phi.reshape(S * A, d)
    for k in range(K):
        values[k] = robust_regularized_value(m, pi)
        s = m.s0
        for h in range(H):
            a = rng.choice(A, p=pi[h, s])
            s2 = rng.choice(S, p=P[s, a])
            f = m.phi[s, a]
            Lam[h] += np.outer(f, f)
            B[h, :, s2] += f
            s = s2
        V = np.zeros(S)
        newpi = np.empty_like(pi)
        for h in range(H - 1, -1, -1):
            Li = np.linalg.inv(Lam[h])
            sig = _estimate_sigma(Li, B[h], V, rho_l)
            bonus = beta * np.sqrt(np.einsum("nd,de,ne->n", phi2, Li, phi2)).reshape(S, A)
            Q = np.clip(m.r + m.phi @ sig + bonus, 0.0, H - h)
            if method == "lsvi":
                V, newpi[h] = _soft(Q, m.pi_ref, m.lam)
            else:
                c = 1.0 / (1.0 + eta * m.lam)
                z = c * np.log(pi[h]) + (1 - c) * np.log(m.pi_ref) + c * eta * Q
                w = np.exp(z - z.max(axis=1, keepdims=True))
                newpi[h] = w / w.sum(axis=1, keepdims=True)
                kl = kl_divergence(pi[h], m.pi_ref, check=False)
                V = np.sum(pi[h] * Q, axis=1) - m.lam * kl
        pi = newpi
    return DRRPOResult(values, np.cumsum(opt - values), opt, pi)


def risky_safe_linear_mdp(H: int = 3, *, rho: float = 0.2, lam: float = 0.05, high: float = 1.0,
                          mid: float = 0.6) -> DRectangularMDP:
    """A d=4 rectangular linear MDP where robustness changes the optimal first action.

    States 0 (start), 1 (high), 2 (mid), 3 (low); two actions. At the start, action 0 loads
    the *risky* factor ``mu_0 = (delta_high + delta_low)/2`` and action 1 the *safe* factor
    ``mu_1 = delta_mid``. High / mid states self-loop (factors 2 / 3, rewards ``high`` / ``mid``
    per step), the low state moves to mid with reward 0 (factor 1). A TV perturbation of
    radius rho moves rho of every factor's mass to the lowest-value state, which costs the
    risky factor about ``rho * (V_high - V_low)`` and the safe one only ``rho * (V_mid - V_low)``.
    """
    H = check_positive_int(H, "H")
    S, A, d = 4, 2, 4
    phi = np.zeros((S, A, d))
    phi[0, 0, 0] = 1.0
    phi[0, 1, 1] = 1.0
    phi[1, :, 2] = 1.0
    phi[2, :, 3] = 1.0
    phi[3, :, 1] = 1.0
    mu = np.zeros((d, S))
    mu[0, 1] = mu[0, 3] = 0.5
    mu[1, 2] = 1.0
    mu[2, 1] = 1.0
    mu[3, 2] = 1.0
    theta = np.array([0.0, 0.0, high, mid])
    return DRectangularMDP(phi, mu, theta, H, float(rho), float(lam), np.full((S, A), 0.5))
