r"""KL-regularized optimal policies on bandits and token trees, implicit rewards and f-divergences.

On a deterministic prefix tree (:class:`mdpgrad.bandits.SequenceModel`) with terminal reward
:math:`R(y)`, the KL-regularized objective :math:`E_\pi[R] - \beta KL(\pi\|\pi_{ref})` is maximized by
the Gibbs distribution :math:`\pi^*(y) = \pi_{ref}(y) e^{R(y)/\beta}/Z`, and token by token by

.. math:: Q^*(u, v) = R \text{ (terminal) or } V^*(\text{child}), \qquad
   V^*(u) = \beta\log\sum_v \pi_{ref}(v|u)\, e^{Q^*(u,v)/\beta}, \qquad
   \pi^*(v|u) = \pi_{ref}(v|u)\, e^{(Q^*(u,v) - V^*(u))/\beta}

(soft Bellman backup; "Qsharp: Provably Optimal Distributional RL for LLM Post-Training" guides
:math:`\pi_{ref}` with :math:`Q^*`). Hence the implicit token reward of DPO's policy,
:math:`\beta\log(\pi^*/\pi_{ref})(v|u) = Q^*(u,v) - V^*(u)`, is a Bellman residual of the soft values
("Exploratory Preference Optimization: Harnessing Implicit Q*-Approximation for Sample-Efficient RLHF")
and telescopes along a response to :math:`R(y) - \beta\log Z` ("DPO Meets PPO: Reinforced Token
Optimization for RLHF").

:func:`f_divergence` gives :math:`D_f(p\|q)` for the divergences of "Aligning Language Models with
Preferences through f-divergence Minimization" and :func:`gibbs_policy` the bandit target
:math:`\pi^* \propto \pi_{ref} e^{r/\beta}`.

:func:`preference_nll` is the Bradley-Terry negative log-likelihood of a reward vector on counted comparisons
(the reward-model MLE loss, and DPO's loss at :math:`r = \beta\log(\pi/\pi_{ref})`); :func:`rpo_objective` is
RPO's DPO + SFT objective :math:`L_D(\beta\log\pi/\pi_{ref}) + \lambda E_{y\sim\pi_{base}}[-\log\pi(y)]`,
whose stationary point is the saddle point of :math:`\max_\pi\min_r \eta L_D(r) + E_\pi r - E_{\pi_{base}} r -
\beta KL(\pi\|\pi_{ref})` when :math:`\lambda = \beta/\eta` ("Provably Mitigating Overoptimization in RLHF:
Your SFT Loss is Implicitly an Adversarial Regularizer").
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError
from ..validation import as_float_array
from .model import log_softmax_xp, softmax_xp
from .sequence import SequenceModel

__all__ = ["soft_optimal_tree", "implicit_token_rewards", "gibbs_policy", "f_divergence", "F_DIVERGENCES",
           "preference_nll", "rpo_objective"]


def _check_beta(beta):
    if not (np.isfinite(beta) and beta > 0):
        raise InvalidInputError(f"beta = {beta!r} must be a finite number > 0 (the KL coefficient).")
    return float(beta)


def soft_optimal_tree(model: SequenceModel, ref_theta, beta: float):
    """Soft-optimal ``(Q[u, v], V[u], log_pi_star[u, v])`` of the KL-regularized tree problem (module docstring).

    ``log_pi_star`` is a valid ``theta`` for ``model`` (its softmax is :math:`\\pi^*`)."""
    if not isinstance(model, SequenceModel):
        raise InvalidInputError(f"model: expected a SequenceModel (prefix tree), got {type(model).__name__}.")
    beta = _check_beta(beta)
    lref = log_softmax_xp(model.check_theta(ref_theta, "ref_theta"))
    Q = model.reward.copy()
    Vs = np.zeros(model.n_nodes)
    for u in range(model.n_nodes - 1, -1, -1):  # BFS order: children after parents
        kids = model.child[u]
        ok = kids >= 0
        Q[u, ok] = Vs[kids[ok]]
        x = lref[u] + Q[u] / beta
        m = x.max()
        Vs[u] = beta * (m + np.log(np.sum(np.exp(x - m))))
    return Q, Vs, lref + (Q - Vs[:, None]) / beta


def implicit_token_rewards(theta, ref_theta, beta: float):
    r"""DPO's implicit token reward :math:`\beta(\log\pi(v|u) - \log\pi_{ref}(v|u))` for logits ``[..., V]``."""
    beta = _check_beta(beta)
    th = as_float_array(theta, "theta")
    rf = as_float_array(ref_theta, "ref_theta")
    if th.shape != rf.shape:
        raise InvalidInputError(f"ref_theta: shape {rf.shape} must equal theta's shape {th.shape}.")
    return beta * (log_softmax_xp(th) - log_softmax_xp(rf))


def gibbs_policy(ref_probs, reward, beta: float):
    r""":math:`\pi^*(a) \propto \pi_{ref}(a)\, e^{r(a)/\beta}` along the last axis, the maximizer of
    :math:`E_\pi[r] - \beta KL(\pi\|\pi_{ref})`."""
    beta = _check_beta(beta)
    p = as_float_array(ref_probs, "ref_probs")
    r = as_float_array(reward, "reward")
    if p.shape != r.shape:
        raise InvalidInputError(f"reward: shape {r.shape} must equal ref_probs' shape {p.shape}.")
    if (p < 0).any():
        raise InvalidInputError("ref_probs: probabilities must be >= 0.")
    with np.errstate(divide="ignore"):
        return softmax_xp(np.log(p) + r / beta)


F_DIVERGENCES = ("kl", "reverse-kl", "js", "tv", "chi2")


def f_divergence(p, q, kind: str = "kl"):
    r""":math:`D_f(p\|q) = \sum_a q_a f(p_a/q_a)` along the last axis.

    ``"kl"``: :math:`\sum p\log(p/q)`; ``"reverse-kl"``: :math:`KL(q\|p)`; ``"js"``:
    :math:`\frac12 KL(p\|m) + \frac12 KL(q\|m)`, :math:`m = (p+q)/2`; ``"tv"``: :math:`\frac12\sum|p-q|`;
    ``"chi2"``: :math:`\sum (p-q)^2/q`. In f-DPG the policy :math:`\pi_\theta` is ``q`` and the target
    :math:`\pi^*` is ``p``: RLHF minimizes ``reverse-kl`` :math:`= KL(\pi_\theta\|\pi^*)`, GDC the forward
    ``kl`` :math:`KL(\pi^*\|\pi_\theta)`.
    """
    p = as_float_array(p, "p")
    q = as_float_array(q, "q")
    if p.shape != q.shape:
        raise InvalidInputError(f"q: shape {q.shape} must equal p's shape {p.shape}.")
    if (p < 0).any() or (q < 0).any():
        raise InvalidInputError("p, q: probabilities must be >= 0.")
    if kind not in F_DIVERGENCES:
        raise InvalidInputError(f"kind = {kind!r} is not known; choose one of {F_DIVERGENCES}.")

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(a > 0, a * (np.log(np.where(a > 0, a, 1.0)) - np.log(np.where(b > 0, b, 1e-300))), 0.0)
        return np.sum(t, axis=-1)
    if kind == "kl":
        return kl(p, q)
    if kind == "reverse-kl":
        return kl(q, p)
    if kind == "js":
        m = 0.5 * (p + q)
        return 0.5 * kl(p, m) + 0.5 * kl(q, m)
    if kind == "tv":
        return 0.5 * np.sum(np.abs(p - q), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(np.where(q > 0, (p - q) ** 2 / np.where(q > 0, q, 1.0), np.where(p > 0, np.inf, 0.0)), axis=-1)


def _check_pairs(pairs, counts, K):
    p = np.asarray(pairs)
    c = as_float_array(counts, "counts", ndim=1)
    if p.ndim != 2 or p.shape[1] != 2 or not np.issubdtype(p.dtype, np.integer):
        raise InvalidInputError(f"pairs: expected integer (winner, loser) rows, got shape {p.shape}.")
    if c.shape != (p.shape[0],) or (c < 0).any():
        raise InvalidInputError("counts: one non-negative count per pair.")
    if ((p < 0) | (p >= K)).any():
        raise InvalidInputError(f"pairs: responses must be in [0, {K}).")
    return p, c


def preference_nll(reward, pairs, counts):
    """``(loss, grad)`` of ``-sum_k counts[k] log sigmoid(r[w_k] - r[l_k]) / sum counts`` in the rewards."""
    r = as_float_array(reward, "reward", ndim=1)
    p, c = _check_pairs(pairs, counts, r.size)
    d = r[p[:, 0]] - r[p[:, 1]]
    n = c.sum()
    loss = float(np.sum(c * np.logaddexp(0.0, -d)) / n)
    s = -c / (1.0 + np.exp(d)) / n  # d loss / d d
    g = np.zeros(r.size)
    np.add.at(g, p[:, 0], s)
    np.add.at(g, p[:, 1], -s)
    return loss, g


def rpo_objective(logits, ref_logits, pairs, counts, base_probs, beta: float, lam: float):
    """``(value, grad_logits)`` of RPO's ``L_D(beta log pi/pi_ref) + lam E_base[-log pi]`` for softmax ``logits``."""
    beta = _check_beta(beta)
    if not (np.isfinite(lam) and lam >= 0):
        raise InvalidInputError(f"lam = {lam!r} must be a finite number >= 0 (the SFT weight).")
    z = as_float_array(logits, "logits", ndim=1)
    lp = log_softmax_xp(z)
    lr = log_softmax_xp(as_float_array(ref_logits, "ref_logits", ndim=1))
    pb = as_float_array(base_probs, "base_probs", ndim=1)
    if lr.shape != z.shape or pb.shape != z.shape:
        raise InvalidInputError("ref_logits, base_probs: must have the shape of logits.")
    loss, g = preference_nll(beta * (lp - lr), pairs, counts)
    pi = np.exp(lp)
    val = loss - lam * float(pb @ lp)
    grad = beta * (g - pi * g.sum()) - lam * (pb - pi * pb.sum())
    return val, grad
