r"""Regularized robust MDPs and their risk-sensitive (entropic) equivalents.

Zhang, Hu, Pan, Chi & Cheng (2023), *Regularized Robust MDPs and Risk-Sensitive MDPs:
Equivalence, Policy Gradient, and Sample Complexity*. A KL-regularized robust MDP lets
the adversary choose any kernel but charges :math:`\beta\,\mathrm{KL}(q\|p_{s,a})`:

.. math::

    (T^\pi_\beta v)(s) = \sum_a\pi(a|s)\Big(r(s,a)+\gamma\min_{q\in\Delta}
    \big[q^\top v+\beta\,\mathrm{KL}(q\|p_{s,a})\big]\Big).

By the Gibbs / Donsker-Varadhan variational formula the inner minimum is the **entropic
risk** :math:`\mathcal E_\beta(v)=-\beta\log E_{p}[e^{-v/\beta}]`, attained at
:math:`q^*\propto p\,e^{-v/\beta}`; so the regularized robust MDP *is* the risk-sensitive
MDP with the entropic risk measure (the paper's equivalence, KL case). The policy
gradient theorem of the paper, for direct parameters, reads
:math:`\partial J/\partial\pi(a|s) = d^{\pi,P^*}_\rho(s)\,Q^\pi_\beta(s,a)/(1-\gamma)`
with :math:`P^*` the worst-case (tilted) kernel and
:math:`Q^\pi_\beta=r+\gamma\mathcal E_\beta(v^\pi_\beta)` (Danskin's theorem on the
regularized inner problem).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..exact import check_policy, evaluate
from ..mdp import as_mdp
from ..stats import kl_divergence
from ..validation import check_positive_float

__all__ = [
    "entropic_risk",
    "kl_regularized_inner",
    "RegularizedEvaluation",
    "entropic_evaluate",
    "kl_regularized_robust_evaluate",
    "risk_sensitive_value_iteration",
    "regularized_policy_gradient",
    "rfzi",
]


def _check_beta(beta) -> float:
    return check_positive_float(beta, "beta", what="the KL penalty weight")


def entropic_risk(p, v, beta) -> np.ndarray:
    r"""Entropic risk :math:`-\beta\log\sum_i p_i e^{-v_i/\beta}` of every row of ``p`` (stable)."""
    b = _check_beta(beta)
    p = np.asarray(p, dtype=np.float64)
    x = np.broadcast_to(-np.asarray(v, dtype=np.float64) / b, p.shape)
    x = np.where(p > 0, x, -np.inf)
    mx = x.max(axis=-1, keepdims=True)
    return -b * (np.log(np.sum(p * np.exp(x - mx), axis=-1)) + mx[..., 0])


def kl_regularized_inner(p, v, beta) -> tuple[np.ndarray, np.ndarray]:
    r"""``(value, q)`` of :math:`\min_{q\in\Delta} q^\top v+\beta\,\mathrm{KL}(q\|p)` per row.

    :math:`q^*\propto p\,e^{-v/\beta}`, value :math:`=\mathcal E_\beta(v)` (Gibbs variational principle).
    """
    b = _check_beta(beta)
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        logw = np.log(p) - np.asarray(v) / b
    w = np.exp(logw - logw.max(axis=-1, keepdims=True))
    q = w / w.sum(axis=-1, keepdims=True)
    return entropic_risk(p, v, b), q


@dataclass(frozen=True)
class RegularizedEvaluation:
    """Value of a policy in the KL-regularized robust MDP (= entropic risk-sensitive MDP)."""

    v: np.ndarray
    q: np.ndarray
    worst_P: np.ndarray
    value: float
    n_iter: int
    error_bound: float


def kl_regularized_robust_evaluate(mdp, pi, beta, *, tol: float = 1e-12, max_iter: int = 500,
                                   check: bool = True) -> RegularizedEvaluation:
    r"""Regularized-robust side: policy iteration for the adversary with explicit kernels.

    Given kernel :math:`Q_k`, the exact value of the (policy, kernel) pair including the
    penalty, :math:`v_k=(I-\gamma P^{\pi}_{Q_k})^{-1}(r_\pi+\gamma\beta\sum_a\pi_a
    \mathrm{KL}(Q_{k,s,a}\|P_{s,a}))`, then the adversary's best response
    :math:`Q_{k+1}\propto P e^{-v_k/\beta}`; certified by the contraction bound. No entropic
    formula is used for the value itself (only for the best response), so comparing with
    :func:`entropic_evaluate` tests the equivalence. Converges in a handful of steps (policy
    iteration for the adversary); ``check=False`` skips the policy check.
    """
    m = as_mdp(mdp)
    b = _check_beta(beta)
    S, A = m.shape
    pi = check_policy(pi, S, A) if check else np.asarray(pi, dtype=np.float64)
    g = m.gamma
    Q = m.P.copy()
    bound = np.inf
    k = 0
    for k in range(1, max_iter + 1):
        pen = g * b * kl_divergence(Q, m.P, check=False)
        v = evaluate(m, pi, P=Q, r=m.r + pen, check=False).v
        Qn = kl_regularized_inner(m.P, v, b)[1]
        pen_n = g * b * kl_divergence(Qn, m.P, check=False)
        tv = np.sum(pi * (m.r + pen_n + g * (Qn @ v)), axis=1)
        res = float(np.max(np.abs(tv - v)))
        bound = res / (1.0 - g)
        Q = Qn
        if bound <= tol:
            break
    pen = g * b * kl_divergence(Q, m.P, check=False)
    qv = m.r + pen + g * (Q @ v)
    return RegularizedEvaluation(v, qv, Q, float(m.rho @ v), k, float(bound))


def entropic_evaluate(mdp, pi, beta, *, tol: float = 1e-12, max_iter: int = 100_000,
                      check: bool = True) -> RegularizedEvaluation:
    r"""Risk-sensitive side: iterate :math:`v\leftarrow\sum_a\pi_a(r+\gamma\mathcal E_\beta(v))` to a
    certified sup-norm error ``tol`` (contraction bound :math:`\gamma\|\Delta\|/(1-\gamma)`).
    ``check=False`` skips the policy check (finite differences perturb ``pi`` off the simplex)."""
    m = as_mdp(mdp)
    b = _check_beta(beta)
    S, A = m.shape
    pi = check_policy(pi, S, A) if check else np.asarray(pi, dtype=np.float64)
    g = m.gamma
    v = np.zeros(S)
    err = np.inf
    k = 0
    for k in range(1, max_iter + 1):
        qv = m.r + g * entropic_risk(m.P, v, b)
        tv = np.sum(pi * qv, axis=1)
        err = g * float(np.max(np.abs(tv - v))) / (1.0 - g)
        v = tv
        if err <= tol:
            break
    _, Q = kl_regularized_inner(m.P, v, b)
    return RegularizedEvaluation(v, m.r + g * entropic_risk(m.P, v, b), Q, float(m.rho @ v), k, float(err))


def risk_sensitive_value_iteration(mdp, beta, *, tol: float = 1e-12, max_iter: int = 100_000):
    r"""Optimal entropic-risk values :math:`v^*=\max_a r+\gamma\mathcal E_\beta(v^*)`; returns ``(v, pi_greedy)``."""
    m = as_mdp(mdp)
    b = _check_beta(beta)
    g = m.gamma
    v = np.zeros(m.n_states)
    for _ in range(max_iter):
        qv = m.r + g * entropic_risk(m.P, v, b)
        tv = qv.max(axis=1)
        err = g * float(np.max(np.abs(tv - v))) / (1.0 - g)
        v = tv
        if err <= tol:
            break
    qv = m.r + g * entropic_risk(m.P, v, b)
    pi = np.zeros_like(qv)
    pi[np.arange(m.n_states), qv.argmax(axis=1)] = 1.0
    return v, pi


def regularized_policy_gradient(mdp, pi, beta, *, tol: float = 1e-13) -> tuple[np.ndarray, float]:
    r"""Direct-parameter gradient of :math:`J_\beta(\pi)=\rho^\top v^\pi_\beta` and :math:`J_\beta(\pi)`.

    :math:`\nabla_\pi J_\beta(s,a)=d^{\pi,P^*}_\rho(s)\,Q^\pi_\beta(s,a)/(1-\gamma)`, with
    :math:`P^*\propto P e^{-v^\pi_\beta/\beta}` the worst-case kernel (module docstring).
    """
    m = as_mdp(mdp)
    ev = kl_regularized_robust_evaluate(m, pi, beta, tol=tol)
    g = m.gamma
    d = evaluate(m, pi, P=ev.worst_P, check=False).occupancy
    return d[:, None] * ev.q / (1.0 - g), ev.value


def rfzi(counts, r, gamma, beta, *, tol: float = 1e-12, max_iter: int = 100_000) -> np.ndarray:
    r"""Robust fitted-Z iteration (tabular) from offline transition counts ``counts[s, a, s']``.

    The KL-regularized robust / entropic Bellman operator only needs
    :math:`Z(s,a)=E_{P(\cdot|s,a)}[e^{-V(s')/\beta}]`; RFZI fits :math:`Z` from data (here the
    empirical mean over the observed next states, the exact least-squares fit in the tabular
    case) and iterates :math:`V(s)=\max_a r(s,a)-\gamma\beta\log Z(s,a)` to its fixed point.
    Returns the estimated optimal values ``V[S]``. Each (s, a) needs at least one sample.
    """
    b = _check_beta(beta)
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum(axis=-1, keepdims=True)
    if np.any(n <= 0):
        raise InvalidInputError("counts: every (s, a) needs at least one observed transition for RFZI.")
    P_hat = counts / n
    v = np.zeros(counts.shape[0])
    for _ in range(max_iter):
        tv = (np.asarray(r) + gamma * entropic_risk(P_hat, v, b)).max(axis=1)
        err = gamma * float(np.max(np.abs(tv - v))) / (1.0 - gamma)
        v = tv
        if err <= tol:
            break
    return v
