r"""Mirror-descent value iteration (MDVI) with a generative model.

Papers: N. Vieillard, T. Kozuno, B. Scherrer, O. Pietquin, R. Munos and M. Geist, "Leverage the Average:
an Analysis of KL Regularization in Reinforcement Learning" (NeurIPS 2020); T. Kozuno, W. Yang,
N. Vieillard et al., "KL-Entropy-Regularized RL with a Generative Model is Minimax Optimal" (2022).

With KL weight :math:`\lambda` and entropy weight :math:`\tau`, :math:`\alpha = \lambda/(\lambda+\tau)` and
:math:`\beta = 1/(\lambda+\tau)`:

.. math::
    s_k = q_k + \alpha s_{k-1},\qquad \pi_k = \mathrm{softmax}(\beta s_k),\qquad
    v_k = \beta^{-1}\bigl(\mathrm{LSE}(\beta s_k) - \alpha\,\mathrm{LSE}(\beta s_{k-1})\bigr),\qquad
    q_{k+1} = r + \gamma\hat P_k v_k,

where :math:`\hat P_k` averages ``m_per_pair`` fresh next-state samples per ``(s, a)`` (``m_per_pair = 0``:
the exact model). ``alpha = 0`` drops the KL term (entropy-regularized value iteration); ``alpha = 1`` drops the entropy.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, softmax

from .._validate import check_positive_int
from ..envs._rng import as_generator
from ..errors import InvalidInputError
from ..mdp import as_mdp

__all__ = ["mdvi"]


def mdvi(mdp, n_iter: int, *, m_per_pair: int, alpha: float, beta: float, seed, replicas: int = 1,
         record: bool = False):
    """Run MDVI for ``n_iter`` iterations (formula in the module docstring) on ``replicas`` independent
    copies; returns the final policies ``pi[replica, s, a]`` (and the list of ``(pi_k, q_k)`` when
    ``record``). ``seed``: an int or a ``numpy.random.Generator`` (used when ``m_per_pair > 0``)."""
    m = as_mdp(mdp)
    n_iter = check_positive_int(n_iter, "n_iter")
    R = check_positive_int(replicas, "replicas")
    M = check_positive_int(m_per_pair, "m_per_pair", minimum=0)
    if not (np.isfinite(alpha) and 0.0 <= alpha <= 1.0):
        raise InvalidInputError(f"alpha = {alpha!r} must lie in [0, 1] (alpha = lambda / (lambda + tau)).")
    if not (np.isfinite(beta) and beta > 0):
        raise InvalidInputError(f"beta = {beta!r} must be a positive finite float (beta = 1 / (lambda + tau)).")
    rng = as_generator(seed)
    S, A = m.shape
    cum = np.cumsum(m.P, -1)
    s_prev, q = np.zeros((R, S, A)), np.zeros((R, S, A))
    lse_prev = logsumexp(beta * s_prev, axis=2)
    hist = []
    for _ in range(n_iter):
        s_k = q + alpha * s_prev
        lse = logsumexp(beta * s_k, axis=2)
        if record:
            hist.append((softmax(beta * s_k, axis=2), q.copy()))
        v = (lse - alpha * lse_prev) / beta
        if M == 0:  # exact model
            q = m.r + m.gamma * np.einsum("sat,rt->rsa", m.P, v)
        else:
            u = rng.random((R, S, A, M))
            nxt = np.minimum((u[..., None] >= cum[None, :, :, None, :]).sum(-1), S - 1)
            q = m.r + m.gamma * np.take_along_axis(v[:, None, None, :], nxt.reshape(R, 1, 1, -1),
                                                   axis=3).reshape(R, S, A, M).mean(-1)
        s_prev, lse_prev = s_k, lse
    pi = softmax(beta * (q + alpha * s_prev), axis=2)
    return (pi, hist) if record else pi
