r"""Many actions per state vs one long trajectory: two Monte Carlo estimators of a stationary expectation.

Paper: "On Many-Actions Policy Gradient". For a per-(s, a) quantity
:math:`h(s, a)` (e.g. :math:`\nabla\log\pi(a|s)Q(s,a)`) and a chain with stationary law :math:`d`:

* many actions (MA): ``N`` states drawn i.i.d. from ``d``, ``M`` actions from :math:`\pi(\cdot|s)` at each;
  :math:`\mathrm{tr\,Var} = \sigma_f^2/N + W/(NM)` with :math:`f(s) = \mathbb{E}_\pi h(s,\cdot)`,
  :math:`\sigma_f^2 = \mathrm{tr\,Var}_d f`, :math:`W = \mathbb{E}_d\mathrm{tr\,Var}_\pi h(s,\cdot)`;
* single action (SA): one trajectory of ``N M`` steps from ``d`` (correlated states);
  :math:`\mathrm{tr\,Var} = \mathrm{tr\,Var}(\sum_{t<L}f(s_t))/L^2 + W/L`, ``L = N M``
  (:func:`chain_sum_variance`).
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_positive_int, check_simplex
from ..envs._rng import as_generator
from ..errors import InvalidInputError

__all__ = ["many_actions_samples", "chain_sum_variance"]


def _inputs(pi, P_pi, d):
    pi = as_float_array(pi, "pi", ndim=2)
    P_pi = as_float_array(P_pi, "P_pi", ndim=2)
    d = as_float_array(d, "d", ndim=1)
    S = pi.shape[0]
    check_simplex(pi, "pi")
    check_simplex(P_pi, "P_pi")
    check_simplex(d, "d")
    if P_pi.shape != (S, S) or d.shape != (S,):
        raise InvalidInputError(f"P_pi {P_pi.shape} and d {d.shape}: expected ({S}, {S}) and ({S},) for pi of "
                                f"shape {pi.shape}.")
    return pi, P_pi, d


def chain_sum_variance(P_pi, d, f, L: int) -> float:
    """``tr Var(sum_{t<L} f(s_t))`` for the chain started in its stationary law ``d``:
    ``L C_0 + 2 sum_{k<L} (L - k) C_k`` with ``C_k = sum_s d(s) (f(s) - mu) . (P^k (f - mu))(s)``."""
    P_pi = as_float_array(P_pi, "P_pi", ndim=2)
    d = as_float_array(d, "d", ndim=1)
    f = as_float_array(f, "f", ndim=2)
    L = check_positive_int(L, "L")
    if f.shape[0] != d.shape[0]:
        raise InvalidInputError(f"f: {f.shape[0]} rows, expected one per state ({d.shape[0]}).")
    fc = f - d @ f
    total, Pk_f = 0.0, fc.copy()
    for k in range(L):
        Ck = float(np.sum(d[:, None] * fc * Pk_f))
        total += (L if k == 0 else 2 * (L - k)) * Ck
        Pk_f = P_pi @ Pk_f
    return total


def many_actions_samples(h, pi, P_pi, d, *, n_states: int, m_actions: int, replicas: int, seed):
    """``replicas`` independent MA and SA estimates of ``E_{d, pi} h``: returns ``(est_ma, est_sa)``, each
    ``(replicas, D)`` for ``h`` of shape ``(S, A, D)`` (module docstring)."""
    pi, P_pi, d = _inputs(pi, P_pi, d)
    h = as_float_array(h, "h", ndim=3)
    S, A = pi.shape
    if h.shape[:2] != (S, A):
        raise InvalidInputError(f"h: shape {h.shape}, expected ({S}, {A}, D).")
    N = check_positive_int(n_states, "n_states")
    M = check_positive_int(m_actions, "m_actions")
    R = check_positive_int(replicas, "replicas")
    rng = as_generator(seed)
    D = h.shape[2]
    cum_d, cum_pi, cum_P = np.cumsum(d), np.cumsum(pi, 1), np.cumsum(P_pi, 1)

    def draw(cum, u):
        return np.minimum((u[..., None] >= cum).sum(-1), cum.shape[-1] - 1)

    s_ma = draw(cum_d, rng.random((R, N)))
    a_ma = np.minimum((rng.random((R, N, M))[..., None] >= cum_pi[s_ma][:, :, None, :]).sum(-1), A - 1)
    est_ma = h[s_ma[:, :, None], a_ma].mean(axis=(1, 2))
    s = draw(cum_d, rng.random(R))
    acc = np.zeros((R, D))
    for _ in range(N * M):
        a = np.minimum((rng.random(R)[:, None] >= cum_pi[s]).sum(-1), A - 1)
        acc += h[s, a]
        s = np.minimum((rng.random(R)[:, None] >= cum_P[s]).sum(-1), S - 1)
    return est_ma, acc / (N * M)
