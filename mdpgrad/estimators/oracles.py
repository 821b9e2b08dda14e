r"""Sampling oracles for the stochastic optimizers: a tabular MDP (softmax / log-linear
policies) and a Gaussian-policy continuous-action problem (Fisher-non-degenerate).

An oracle exposes, for an opaque batch of trajectories ``tau``:

* ``sample(theta, n, seed)`` -- ``n`` trajectories under :math:`\pi_\theta`;
* ``grads(tau, theta)`` -- per-trajectory GPOMDP gradients :math:`g(\tau,\theta) = \nabla\Phi(\tau,\theta)`,
  :math:`\Phi(\tau,\theta) = \sum_t G_t\log\pi_\theta(a_t|s_t)` with the reward-to-go :math:`G_t`
  held fixed, shape ``(n, dim)``;
* ``log_prob(tau, theta)`` -- :math:`\sum_t\log\pi_\theta(a_t|s_t)` (importance weights
  :math:`\omega = p_{\theta'}(\tau)/p_\theta(\tau)` are ratios of these; dynamics cancel);
* ``hvp(tau, theta, v)`` -- per-trajectory Hessian-vector estimates
  :math:`B(\tau,\theta)v = \nabla\Phi\,\langle\nabla\log p_\theta(\tau), v\rangle + \nabla^2\Phi\,v`,
  unbiased for :math:`\nabla^2 J(\theta)v` (differentiate :math:`\nabla J = \mathbb{E}_{p_\theta}\nabla\Phi`;
  Fatkhullin et al. 2023, Shen et al. 2019);
* ``fisher(tau, theta)`` -- the sample Fisher matrix, and ``value(theta)`` / ``optimum()`` exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..exact import evaluate, solve
from ..mdp import as_mdp
from ..rollouts import sample_trajectories
from ..validation import (
    as_float_array,
    as_generator,
    check_choice,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
)
from .core import log_prob, reward_to_go, score_policy, score_sum

__all__ = ["TabularOracle", "GaussianBanditOracle"]


@dataclass(frozen=True, eq=False)
class TabularOracle:
    """Geometric-horizon GPOMDP oracle on a tabular MDP (``theta`` flattened to ``dim``)."""

    mdp: object
    parametrization: str = "softmax"
    phi: np.ndarray | None = None

    def __post_init__(self):
        object.__setattr__(self, "mdp", as_mdp(self.mdp))
        check_choice(self.parametrization, "parametrization", ("softmax", "loglinear"))
        if self.parametrization == "softmax" and self.phi is not None:
            raise InvalidInputError("phi: only the loglinear parametrization takes features; drop phi= for softmax.")
        if self.parametrization == "loglinear":
            if self.phi is None:
                raise InvalidInputError("phi: the loglinear parametrization needs features phi[s, a, d].")
            S, A = self.mdp.shape
            phi = as_float_array(self.phi, "phi", ndim=3)
            if phi.shape[:2] != (S, A):
                raise InvalidInputError(f"phi: expected shape ({S}, {A}, d), got {phi.shape}.")
            object.__setattr__(self, "phi", phi)

    @property
    def shape(self):
        m = as_mdp(self.mdp)
        return m.shape if self.parametrization == "softmax" else (self.phi.shape[-1],)

    def _theta(self, theta):
        th = as_float_array(theta, "theta")
        if th.size != int(np.prod(self.shape)):
            raise InvalidInputError(f"theta: has {th.size} entries, this oracle needs shape {tuple(self.shape)}.")
        return th.reshape(self.shape)

    def sample(self, theta, n, seed):
        pi = score_policy(self._theta(theta), self.parametrization, self.phi)
        return sample_trajectories(self.mdp, pi, n, horizon="geometric", seed=seed)

    def n_transitions(self, tau) -> int:
        return tau.n_steps

    def _weights(self, tau):
        return reward_to_go(tau.rewards, tau.discount)

    def grads(self, tau, theta):
        g = score_sum(tau, self._weights(tau), self._theta(theta), self.parametrization, phi=self.phi)
        return g.reshape(tau.n, -1)

    def log_prob(self, tau, theta):
        return log_prob(tau, self._theta(theta), self.parametrization, phi=self.phi)

    def _per_state_weight(self, tau, W):
        S = as_mdp(self.mdp).n_states
        T = tau.actions.shape[1]
        s = np.where(tau.mask, tau.states[:, :T], 0)
        traj = np.broadcast_to(np.arange(tau.n)[:, None], s.shape)
        ws = np.bincount((traj * S + s).ravel(), weights=np.where(tau.mask, W, 0.0).ravel(), minlength=tau.n * S)
        return ws.reshape(tau.n, S)

    def hvp(self, tau, theta, v):
        th = self._theta(theta)
        pi = score_policy(th, self.parametrization, self.phi)
        g = self.grads(tau, th)
        z = score_sum(tau, tau.mask.astype(np.float64), th, self.parametrization, phi=self.phi).reshape(tau.n, -1)
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        ws = self._per_state_weight(tau, self._weights(tau))  # (n, S)
        if self.parametrization == "softmax":
            V = v.reshape(pi.shape)
            cv = pi * V - pi * np.sum(pi * V, axis=1, keepdims=True)  # (diag pi_s - pi_s pi_s^T) v_s
            h2 = -(ws[:, :, None] * cv[None]).reshape(tau.n, -1)
        else:
            phi = self.phi
            mean = np.einsum("sa,sad->sd", pi, phi)
            c = phi - mean[:, None, :]
            cov_v = np.einsum("sa,sad,sa->sd", pi, c, np.einsum("sad,d->sa", c, v))  # Cov_s(phi) v
            h2 = -ws @ cov_v
        return g * (z @ v)[:, None] + h2

    def fisher(self, tau, theta):
        r"""Sample Fisher :math:`\hat F = \frac{1-\gamma}{n}\sum_i\sum_{t<L_i} z_t z_t^\top` (geometric
        horizon: :math:`\mathbb{E}\sum_{t<L}f(s_t,a_t) = \mathbb{E}_{d^\pi}f/(1-\gamma)`)."""
        th = self._theta(theta)
        pi = score_policy(th, self.parametrization, self.phi)
        m = as_mdp(self.mdp)
        S, A = m.shape
        T = tau.actions.shape[1]
        s = np.where(tau.mask, tau.states[:, :T], 0).ravel()
        a = np.where(tau.mask, tau.actions, 0).ravel()
        cnt = np.bincount(s * A + a, weights=tau.mask.ravel().astype(float), minlength=S * A).reshape(S, A)
        c = (1.0 - m.gamma) / tau.n
        if self.parametrization == "softmax":
            F = np.zeros((S * A, S * A))
            eye = np.eye(A)
            for st in range(S):
                Z = eye - pi[st][None, :]  # rows: score for each action
                F[st * A:(st + 1) * A, st * A:(st + 1) * A] = c * (Z.T * cnt[st]) @ Z
            return F
        cen = self.phi - np.einsum("sa,sad->sd", pi, self.phi)[:, None, :]
        return c * np.einsum("sa,sai,saj->ij", cnt, cen, cen)

    def value(self, theta):
        pi = score_policy(self._theta(theta), self.parametrization, self.phi)
        return float(evaluate(self.mdp, pi, check=False).value)

    def optimum(self):
        return float(np.dot(as_mdp(self.mdp).rho, solve(self.mdp, "policy_iteration").v))


@dataclass(frozen=True, eq=False)
class GaussianBanditOracle:
    r"""Continuous-action concave bandit with a Gaussian policy :math:`a\sim N(\theta,\sigma^2 I_d)`,
    reward :math:`R(a) = -\|a - c\|^2 + \xi`, :math:`\xi\sim N(0,\nu^2)`.

    :math:`J(\theta) = -\|\theta-c\|^2 - d\sigma^2`, :math:`J^* = -d\sigma^2`,
    :math:`J^*-J = \|\theta-c\|^2`. The Fisher matrix is :math:`I/\sigma^2` for every
    :math:`\theta` (Fisher-non-degenerate, Fatkhullin et al. 2023, Assumption "FND"), and
    :math:`J` satisfies the gradient-domination inequality with constant 1/2.
    One "trajectory" is one action.
    """

    c: np.ndarray
    sigma: float = 1.0
    noise: float = 0.0

    def __post_init__(self):
        c = as_float_array(self.c, "c", ndim=1)
        if c.size == 0:
            raise InvalidInputError("c: empty; the bandit needs at least one action dimension.")
        object.__setattr__(self, "c", c)
        object.__setattr__(self, "sigma", check_positive_float(self.sigma, "sigma", what="policy std"))
        object.__setattr__(self, "noise", check_nonnegative_float(self.noise, "noise", what="reward noise std"))

    @property
    def shape(self):
        return self.c.shape

    def sample(self, theta, n, seed):
        """``n`` actions per parameter vector; ``theta`` may carry leading replica axes ``(..., d)``."""
        rng = as_generator(seed)
        th = as_float_array(theta, "theta")
        if th.ndim == 0 or th.shape[-1] != self.c.size:
            raise InvalidInputError(f"theta: expected shape (..., {self.c.size}), got {th.shape}.")
        n = check_positive_int(n, "n")
        a = th[..., None, :] + self.sigma * rng.standard_normal(th.shape[:-1] + (n, th.shape[-1]))
        R = -np.sum((a - self.c) ** 2, axis=-1) + self.noise * rng.standard_normal(a.shape[:-1])
        return {"a": a, "R": R}

    def n_transitions(self, tau) -> int:
        return int(tau["R"].shape[-1])

    def _z(self, tau, theta):
        return (tau["a"] - np.asarray(theta, dtype=np.float64)[..., None, :]) / self.sigma**2

    def grads(self, tau, theta):
        return self._z(tau, theta) * tau["R"][..., None]

    def log_prob(self, tau, theta):
        return -0.5 * np.sum((tau["a"] - np.asarray(theta)[..., None, :]) ** 2, axis=-1) / self.sigma**2

    def hvp(self, tau, theta, v):
        z = self._z(tau, theta)
        v = np.asarray(v, dtype=np.float64)[..., None, :]
        zv = np.sum(z * v, axis=-1, keepdims=True)
        return self.grads(tau, theta) * zv - (tau["R"][..., None] / self.sigma**2) * v

    def fisher(self, tau, theta):
        z = self._z(tau, theta)
        return z.T @ z / z.shape[0]

    def value(self, theta):
        th = np.asarray(theta, dtype=np.float64)
        return -np.sum((th - self.c) ** 2, axis=-1) - self.c.size * self.sigma**2

    def optimum(self):
        return float(-self.c.size * self.sigma**2)
