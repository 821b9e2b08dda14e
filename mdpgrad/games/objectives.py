r"""Preference-optimization objectives on a K-response bandit, and their exact minimizers.

Reward-model baselines and the loss-based self-play methods, all tabular (one logit per
response), so every population minimizer can be computed exactly and compared with the
closed-form mirror-descent step it is meant to implement.

* :func:`fit_bradley_terry` -- maximum-likelihood BT scores for a preference matrix
  (the reward model of RLHF). On intransitive ``P`` the fit is misspecified.
* :func:`rlhf_policy` -- KL-regularized reward maximization ``pi ∝ mu exp(r / beta)``
  (``beta = 0``: the uniform distribution over ``argmax r``).
* :func:`dpo_loss` / :func:`dpo_minimize` -- Rafailov et al. (2023) population DPO loss
  ``-sum_{i,j} N[i, j] log sigmoid(beta (h_i - h_j))``, ``h = log pi - log pi_ref``, where
  ``N[i, j]`` is the (expected) number of times ``i`` was preferred to ``j``.
* :func:`hypo_minimize` -- HyPO (Song et al., "The Importance of Online Data: Understanding
  Preference Fine-tuning via Coverage"): DPO loss plus an online ``lam * KL(pi || pi_ref)``.
* :func:`sppo_square_loss_minimizer` -- the exact simplex-constrained minimizer of SPPO's
  square loss ``E_{y~pi_t}(log(pi(y)/pi_t(y)) - eta (P(y > pi_t) - 1/2))^2``.
* :func:`inpo_minimizer` -- the least-squares minimizer of the INPO pairwise loss
  ``E[(h_t(y_w, y_l) - eta/2)^2]`` from pair/win counts (population or sampled).
* :func:`iterative_dpo` -- iterative DPO (reference = previous iterate) and APO's Nesterov
  extrapolation (He et al., "Accelerated Preference Optimization for Large Language Model
  Alignment") on a Bradley–Terry bandit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from ..errors import InvalidInputError, InvalidPreferenceError
from ..validation import (
    as_float_array,
    as_generator,
    check_distribution,
    check_float,
    check_int,
    check_nonnegative,
    check_nonnegative_float,
    check_positive_float,
)
from .preference import log_normalize

__all__ = [
    "fit_bradley_terry",
    "rlhf_policy",
    "dpo_loss",
    "dpo_minimize",
    "hypo_minimize",
    "sppo_square_loss_minimizer",
    "sppo_closed_form",
    "inpo_minimizer",
    "inpo_closed_form",
    "inpo_sample_counts",
    "IterativeDPOResult",
    "iterative_dpo",
]


def _pref(P):
    """A validated preference matrix (square, in [0, 1], ``P + P^T = 1``)."""
    from .preference import check_preference

    P = as_float_array(P, "P", error=InvalidPreferenceError)
    check_preference(P)
    return P


def _dist(p, name: str, K: int | None = None, positive: bool = False):
    p = check_distribution(p, name, size=K)
    if positive and (p <= 0).any():
        i = int(np.argmin(p))
        raise InvalidInputError(f"{name}[{i}] = {p[i]:.3g}: needs full support (log {name} is used); mix in "
                                "a little uniform mass.")
    return p


def _logref(log_ref, K: int | None = None, name: str = "log_ref"):
    lr = as_float_array(log_ref, name, ndim=1)
    if lr.size == 0 or (K is not None and lr.shape != (K,)):
        raise InvalidInputError(f"{name}: expected {K or '>= 1'} log-probabilities, got shape {lr.shape}.")
    s = float(np.exp(lr - lr.max()).sum() * np.exp(lr.max()))
    if (lr > 1e-12).any() or abs(s - 1.0) > 1e-6:
        raise InvalidInputError(f"{name}: exp({name}) sums to {s:.6g}; pass log-probabilities (log of a distribution).")
    return lr


def _wins(wins, K: int):
    N = as_float_array(wins, "wins", shape=(K, K))
    check_nonnegative(N, "wins")
    if N.sum() <= 0:
        raise InvalidInputError("wins: no duels (all counts are 0); pass win counts N[w, l].")
    return N


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def fit_bradley_terry(P, weights=None, *, tol: float = 1e-12) -> np.ndarray:
    r"""Maximum-likelihood Bradley–Terry scores (mean zero) for preferences ``P``.

    Maximizes ``sum_{i != j} W_ij P_ij log sigmoid(s_i - s_j)`` (default ``W`` uniform over
    ordered pairs). Concave in ``s``; solved with L-BFGS on the exact gradient.
    """
    P = _pref(P)
    K = P.shape[0]
    tol = check_positive_float(tol, "tol")
    W = np.ones((K, K)) if weights is None else as_float_array(weights, "weights", shape=(K, K))
    check_nonnegative(W, "weights")
    W = W * (1 - np.eye(K))

    def f(s):
        d = s[:, None] - s[None, :]
        val = -np.sum(W * P * _log_sigmoid(d))
        sig = 0.5 * (1 + np.tanh(0.5 * d))
        G = W * P * (1 - sig)  # d/dd of P log sigmoid(d)
        grad = -(G.sum(1) - G.sum(0))
        return val, grad

    out = scipy.optimize.minimize(f, np.zeros(K), jac=True, method="L-BFGS-B",
                                  options={"gtol": tol, "ftol": 1e-15, "maxiter": 10_000})
    return out.x - out.x.mean()


def rlhf_policy(r, mu, beta: float) -> np.ndarray:
    """``pi ∝ mu exp(r/beta)``; for ``beta = 0`` the uniform distribution on ``argmax r`` (ties to 1e-12)."""
    r = as_float_array(r, "r", ndim=1)
    mu = _dist(mu, "mu", r.shape[0], positive=True)
    beta = check_nonnegative_float(beta, "beta", what="KL weight")
    if beta == 0:
        best = r >= r.max() - 1e-12
        return best / best.sum()
    with np.errstate(divide="ignore"):
        return np.exp(log_normalize(np.log(mu) + r / beta))


def dpo_loss(z, wins, log_ref, beta: float) -> tuple[float, np.ndarray]:
    r"""Population DPO loss and gradient in the logits ``z`` (``pi = softmax z``).

    ``L(z) = -sum_{i,j} wins[i, j] log sigmoid(beta (h_i - h_j))`` with ``h = z - log pi_ref``
    (the log-normalizer of ``pi`` cancels in ``h_i - h_j``: a response that appears in no pair
    does not enter the loss at all).
    """
    log_ref = _logref(log_ref)
    K = log_ref.shape[0]
    z = as_float_array(z, "z", shape=(K,))
    wins = _wins(wins, K)
    beta = check_positive_float(beta, "beta", what="DPO temperature")
    h = z - log_ref
    d = beta * (h[:, None] - h[None, :])
    val = -np.sum(wins * _log_sigmoid(d))
    G = wins * (1 - 0.5 * (1 + np.tanh(0.5 * d))) * beta
    grad = -(G.sum(1) - G.sum(0))
    return float(val), grad


def dpo_minimize(wins, log_ref, beta: float, z0=None, *, kl_weight: float = 0.0) -> np.ndarray:
    """A minimizer (log-probabilities) of the DPO loss (+ ``kl_weight * KL(pi||pi_ref)`` for HyPO).

    Without the KL term the minimizer set is a whole family when some response is in no
    pair; the one returned is the one reached from ``z0`` (default ``log_ref``).
    """
    log_ref = _logref(log_ref)
    K = log_ref.shape[0]
    wins = _wins(wins, K)
    beta = check_positive_float(beta, "beta", what="DPO temperature")
    kl_weight = check_nonnegative_float(kl_weight, "kl_weight")
    z0 = log_ref.copy() if z0 is None else as_float_array(z0, "z0", shape=(K,))

    def f(z):
        val, grad = dpo_loss(z, wins, log_ref, beta)
        if kl_weight:
            lp = log_normalize(z)
            p = np.exp(lp)
            a = lp - log_ref
            klv = float(np.sum(p * a))
            val += kl_weight * klv
            grad = grad + kl_weight * p * (a - klv)
        return val, grad

    out = scipy.optimize.minimize(f, z0, jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 5000})
    del K
    return log_normalize(out.x)


def hypo_minimize(wins, log_ref, beta: float, lam: float) -> np.ndarray:
    """HyPO: ``argmin DPO(pi) + lam KL(pi || pi_ref)`` (log-probabilities)."""
    lam = check_positive_float(lam, "lam", what="HyPO's online KL weight")
    return dpo_minimize(wins, log_ref, beta, kl_weight=lam)


def sppo_closed_form(P, pi_t, eta: float) -> np.ndarray:
    """SPPO's target ``pi_{t+1} ∝ pi_t exp(eta P(y > pi_t))`` (log-probabilities)."""
    P = _pref(P)
    pi_t = _dist(pi_t, "pi_t", P.shape[0], positive=True)
    eta = check_positive_float(eta, "eta", what="a step size")
    return log_normalize(np.log(pi_t) + eta * (P @ pi_t))


def sppo_square_loss_minimizer(P, pi_t, eta: float, *, tol: float = 1e-15) -> np.ndarray:
    r"""Exact minimizer over the simplex of SPPO's population square loss.

    ``min_l sum_y pi_t(y) (l_y - a_y)^2`` s.t. ``sum exp(l_y) = 1``, ``a = log pi_t + eta (P pi_t - 1/2)``.
    KKT: ``2 pi_t(y) (l_y - a_y) = lam exp(l_y)``; solved by Newton on ``(l, lam)`` from the
    closed form. SPPO replaces ``log Z = log E_{pi_t} exp(eta g)`` by ``eta/2``, which is
    exact to first order because ``E_{pi_t} g = pi_t^T P pi_t = 1/2``; hence the minimizer and
    :func:`sppo_closed_form` differ by ``O(eta^2 Var_{pi_t}(g))`` at most.
    """
    P = _pref(P)
    w = _dist(pi_t, "pi_t", P.shape[0], positive=True)
    eta = check_positive_float(eta, "eta", what="a step size")
    tol = check_positive_float(tol, "tol")
    a = np.log(w) + eta * (P @ w - 0.5)
    K = len(w)
    x = np.append(sppo_closed_form(P, w, eta), 0.0)
    for _ in range(100):
        lv, lam = x[:K], x[K]
        e = np.exp(lv)
        F = np.append(2 * w * (lv - a) - lam * e, e.sum() - 1.0)
        J = np.zeros((K + 1, K + 1))
        J[np.arange(K), np.arange(K)] = 2 * w - lam * e
        J[:K, K] = -e
        J[K, :K] = e
        dx = np.linalg.solve(J, F)
        x = x - dx
        if np.max(np.abs(dx)) < tol:
            break
    return x[:K]


def inpo_closed_form(P, pi_t, log_ref, beta: float, eta: float) -> np.ndarray:
    """The KL-regularized OMD step INPO targets: ``pi_t^{1-eta beta} pi_ref^{eta beta} exp(eta P pi_t)``."""
    P = _pref(P)
    pi_t = _dist(pi_t, "pi_t", P.shape[0], positive=True)
    log_ref = _logref(log_ref, P.shape[0])
    beta = check_nonnegative_float(beta, "beta")
    eta = check_positive_float(eta, "eta", what="a step size")
    return log_normalize((1 - eta * beta) * np.log(pi_t) + eta * beta * log_ref + eta * (P @ pi_t))


def inpo_sample_counts(P, pi_t, n: int, rng) -> np.ndarray:
    """Win counts ``N[w, l]`` from ``n`` duels ``y, y' ~ pi_t`` iid with labels ``~ Bernoulli(P[y, y'])``.

    Drawn exactly as one multinomial over the ``K^2`` ordered (winner, loser) cells with
    probabilities ``pi_t(w) pi_t(l) P[w, l]`` (each duel contributes one winner/loser pair).
    """
    P = _pref(P)
    pi_t = _dist(pi_t, "pi_t", P.shape[0])
    n = check_int(n, "n", minimum=0)
    rng = as_generator(rng, "rng")
    p = (np.outer(pi_t, pi_t) * P).ravel()
    p = p / p.sum()  # = 2 pi_w pi_l P[w, l]: the total is 2 pi^T P pi = 1 exactly; this removes round-off
    return rng.multinomial(int(n), p).reshape(P.shape).astype(np.float64)


def inpo_minimizer(wins, pi_t, log_ref, beta: float, eta: float) -> np.ndarray:
    r"""Minimizer of the INPO loss ``sum_{w,l} N[w,l] (h(y_w, y_l) - eta/2)^2`` over tabular policies.

    ``h(y, y') = u_y - u_{y'}`` with ``u = log pi - (1 - eta beta) log pi_t - eta beta log pi_ref``
    (normalizers cancel), so the loss is a least-squares problem in ``u`` (gauge: mean zero),
    solved with ``numpy.linalg.lstsq`` over the ``K^2`` pair equations weighted by sqrt(N).
    Returns log-probabilities. With ``N = n pi_t pi_t^T * P`` (population) the minimizer is
    exactly the OMD step :func:`inpo_closed_form` [derived in the module theory notes].
    """
    pi_t = _dist(pi_t, "pi_t", positive=True)
    K = pi_t.shape[0]
    N = _wins(wins, K)
    log_ref = _logref(log_ref, K)
    beta = check_nonnegative_float(beta, "beta")
    eta = check_positive_float(eta, "eta", what="a step size")
    w_idx, l_idx = np.nonzero(N)
    sw = np.sqrt(N[w_idx, l_idx])
    A = np.zeros((len(w_idx) + 1, K))
    A[np.arange(len(w_idx)), w_idx] += sw
    A[np.arange(len(w_idx)), l_idx] -= sw
    A[-1, :] = sw.sum()  # gauge row: sum u = 0 (scaled to the data)
    b = np.append(sw * eta / 2, 0.0)
    u = np.linalg.lstsq(A, b, rcond=None)[0]
    base = (1 - eta * beta) * np.log(pi_t) + eta * beta * log_ref
    return log_normalize(base + u)


@dataclass(frozen=True)
class IterativeDPOResult:
    """Iterates of iterative DPO / APO on a BT bandit: ``log_pi[t]`` and the measured series."""

    log_pi: np.ndarray
    suboptimality: np.ndarray  # max r - E_pi r
    step_kl: np.ndarray  # KL(pi_{t+1} || pi_t)
    momentum: float
    beta: float


def iterative_dpo(r, pi0, beta: float, n_iter: int, *, momentum: float = 0.0, exact_loss: bool = False
                  ) -> IterativeDPOResult:
    r"""Iterative DPO (``momentum = 0``) or APO (``momentum = alpha > 0``) on a BT bandit with reward ``r``.

    Each round minimizes the population DPO loss with full pair coverage and reference
    ``pi~_t``; the minimizer is ``pi_{t+1} ∝ pi~_t exp(r / beta)`` (a KL proximal-point step
    on ``E_pi r``) because the BT likelihood is well specified. APO extrapolates the
    reference in log space, ``log pi~_t = log pi_t + alpha (log pi_t - log pi_{t-1})`` (normalized).
    ``exact_loss=True`` computes each step by numerically minimizing the DPO loss instead of
    the closed form (slow, for verification).
    """
    r = as_float_array(r, "r", ndim=1)
    K = len(r)
    if K == 0:
        raise InvalidInputError("r: empty reward vector; pass one reward per response.")
    pi0 = _dist(pi0, "pi0", K, positive=True)
    beta = check_positive_float(beta, "beta", what="DPO temperature")
    n_iter = check_int(n_iter, "n_iter", minimum=0)
    momentum = check_float(momentum, "momentum", lo=0.0)
    P = 0.5 * (1 + np.tanh(0.5 * (r[:, None] - r[None, :])))
    wins = P * (1 - np.eye(K))
    lp = [np.log(np.asarray(pi0, dtype=np.float64))]
    prev = lp[0]
    for _ in range(int(n_iter)):
        cur = lp[-1]
        ref = log_normalize(cur + momentum * (cur - prev))
        if exact_loss:
            nxt = dpo_minimize(wins, ref, beta, z0=ref)
        else:
            nxt = log_normalize(ref + r / beta)
        prev = cur
        lp.append(nxt)
    lp = np.asarray(lp)
    p = np.exp(lp)
    sub = r.max() - p @ r
    step_kl = np.sum(p[1:] * (lp[1:] - lp[:-1]), axis=1)
    return IterativeDPOResult(log_pi=lp, suboptimality=sub, step_kl=step_kl, momentum=float(momentum),
                           beta=float(beta))
