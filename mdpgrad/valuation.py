r"""Value-estimation building blocks of the policy-evaluation claims (moved out of ``theory/`` so that the
claims run library code).

* Tree MDPs with deterministic transitions and terminal rewards (ROVER, "Random Policy Valuation is Enough
  for LLM Reasoning with Verifiable Rewards"): the uniform policy's values :func:`tree_uniform_values`
  (``V(u)`` = mean of the children's values, leaves carry their reward), reach probabilities of a softmax
  policy :func:`tree_leaf_probabilities`, and exact softmax policy gradient :func:`tree_softmax_pg`.
  A tree is ``children[u]`` (lists of child ids, children numbered after their parent) plus ``reward[u]``.
* :func:`ggd_variance`: the variance ``alpha^2 Gamma(3/beta) / Gamma(1/beta)`` of the generalized Gaussian
  GGD(0, alpha, beta) (density ``beta / (2 alpha Gamma(1/beta)) exp(-(|x|/alpha)^beta)``).
* Robust Bellman losses (Patterson, Liao & White, "Robust Losses for Learning Value Functions"):
  :func:`huber` and the saddle-point method :func:`huber_saddle_gda`.
* Linear latent TD on the successor measure (TD-JEPA's idealized linear model): :func:`latent_td_successor`.
"""

from __future__ import annotations

import numpy as np
import scipy.special

from .errors import InvalidInputError

__all__ = ["tree_uniform_values", "tree_leaf_probabilities", "tree_softmax_pg", "ggd_variance", "huber",
           "huber_saddle_gda", "latent_td_successor"]


def tree_uniform_values(children, reward):
    """V^unif(node): mean over children (deterministic transitions, gamma = 1); leaves: reward."""
    n = len(children)
    v = reward.astype(float).copy()
    for u in range(n - 1, -1, -1):  # children have larger ids than parents
        if children[u]:
            v[u] = np.mean(v[children[u]])
    return v


def tree_leaf_probabilities(children, logits_fn):
    """Probability of reaching each node under a policy given by logits over each node's children."""
    n = len(children)
    p = np.zeros(n)
    p[0] = 1.0
    for u in range(n):
        if children[u] and p[u] > 0:
            z = logits_fn(u)
            w = np.exp(z - z.max())
            p[children[u]] += p[u] * w / w.sum()
    return p


def tree_softmax_pg(children, reward, n_iter, eta):
    """Exact softmax PG on the success probability: dJ/dz_{u,a} = P(u) pi(a|u) (V(child) - V(u))."""
    n = len(children)
    z = [np.zeros(len(c)) for c in children]
    for _ in range(n_iter):
        pis = []
        for u in range(n):
            if children[u]:
                w = np.exp(z[u] - z[u].max())
                pis.append(w / w.sum())
            else:
                pis.append(None)
        v = reward.astype(float).copy()
        for u in range(n - 1, -1, -1):
            if children[u]:
                v[u] = pis[u] @ v[children[u]]
        reach = tree_leaf_probabilities(children, lambda u: z[u])
        for u in range(n):
            if children[u]:
                z[u] = z[u] + eta * reach[u] * pis[u] * (v[children[u]] - v[u])
    return tree_leaf_probabilities(children, lambda u: z[u])


def _positive(name, x):
    x = np.asarray(x, dtype=np.float64)
    if not (np.all(np.isfinite(x)) and np.all(x > 0)):
        raise InvalidInputError(f"{name} = {x!r}: must be positive and finite.")
    return x


def ggd_variance(alpha, beta):
    """Variance of the generalized Gaussian GGD(0, alpha, beta), density
    beta / (2 alpha Gamma(1/beta)) exp(-(|x|/alpha)^beta): alpha^2 Gamma(3/beta) / Gamma(1/beta)."""
    alpha, beta = _positive("alpha", alpha), _positive("beta", beta)
    return alpha**2 * np.exp(scipy.special.gammaln(3.0 / beta) - scipy.special.gammaln(1.0 / beta))


def huber(x, tau):
    """Huber loss: x^2/2 for |x| <= tau, tau (|x| - tau/2) beyond."""
    _positive("tau", tau)
    a = np.abs(x)
    return np.where(a <= tau, 0.5 * x**2, tau * (a - 0.5 * tau))


def huber_saddle_gda(M, r, dmu, tau, n_iter, alpha, beta, dual_box=None):
    """Deterministic projected gradient descent-ascent on L(theta, h) = sum_s d(s) (h_s delta_s - h_s^2/2),
    |h_s| <= tau, delta = r - M theta (the Huber saddle point of Patterson, Liao & White). ``dual_box``
    (default ``tau``) is the box the dual variable is projected on (another value is a negative control)."""
    _positive("tau", tau)
    clip = float(_positive("dual_box", tau if dual_box is None else dual_box))
    if int(n_iter) != n_iter or n_iter < 0:
        raise InvalidInputError(f"n_iter = {n_iter!r}: must be an integer >= 0.")
    theta = np.zeros(M.shape[1])
    h = np.zeros(M.shape[0])
    for _ in range(n_iter):
        delta = r - M @ theta
        h = np.clip(h + beta * (delta - h), -clip, clip)
        theta = theta + alpha * (M.T @ (dmu * h))
    return theta


def latent_td_successor(P, gamma, Phi, Psi, n_iter, eta):
    """Semi-gradient TD on the low-rank successor measure: L = 1/2 ||Phi Psi^T - sg(I + gamma P Phi Psi^T)||_F^2
    (expected over uniform states, one-hot inputs; encoder Phi, target-side encoder/predictor Psi)."""
    if not (0.0 <= gamma < 1.0):
        raise InvalidInputError(f"gamma = {gamma!r}: must lie in [0, 1).")
    S = P.shape[0]
    for _ in range(n_iter):
        R = Phi @ Psi.T - (np.eye(S) + gamma * P @ Phi @ Psi.T)
        Phi, Psi = Phi - eta * R @ Psi, Psi - eta * R.T @ Phi
    return Phi, Psi
