r"""Doubly multi-step value iteration: ``h``-step greedy improvement and ``m``-step evaluation.

One iteration from :math:`V_k`: look ahead :math:`W = T^{h-1}V_k` (optimality operator), improve greedily,
:math:`\pi_{k+1} \in \mathcal G(T W)` (the ``h``-step greedy policy), and evaluate partially,
:math:`V_{k+1} = (T^{\pi_{k+1}})^m W`. ``h = m = 1`` is value iteration; ``m -> inf`` is ``h``-step policy
iteration (Efroni, Dalal, Scherrer, Mannor 2018). Once the greedy policy is optimal the error contracts by
:math:`\gamma^{h + m - 1}` per iteration -- our on-policy, exact-operator reading of DoMo-VI ("DoMo-AC: Doubly
Multi-step Off-policy Actor-Critic Algorithm"), whose off-policy traces are not modelled here.
"""

from __future__ import annotations

import numpy as np

from .mdp import as_mdp
from .validation import check_positive_int

__all__ = ["doubly_multistep_vi"]


def doubly_multistep_vi(mdp, h: int = 1, m: int = 1, n_iter: int = 50, v0=None):
    """Run ``n_iter`` iterations from ``v0`` (zeros); returns ``(values[n_iter + 1, S], policies[n_iter, S])``."""
    mm = as_mdp(mdp)
    h = check_positive_int(h, "h")
    m = check_positive_int(m, "m")
    n_iter = check_positive_int(n_iter, "n_iter")
    S, A = mm.r.shape
    Pm = mm.P.reshape(S * A, S)

    def q(V):
        return mm.r + mm.gamma * (Pm @ V).reshape(S, A)
    V = np.zeros(S) if v0 is None else np.asarray(v0, dtype=np.float64).copy()
    vals, pols = [V.copy()], []
    for _ in range(n_iter):
        W = V
        for _ in range(h - 1):
            W = q(W).max(axis=1)
        a = q(W).argmax(axis=1)
        for _ in range(m):
            W = q(W)[np.arange(S), a]
        V = W
        vals.append(V.copy())
        pols.append(a)
    return np.array(vals), np.array(pols)
