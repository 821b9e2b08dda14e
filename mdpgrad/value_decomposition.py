r"""Value decomposition over factorised actions: bias and variance of max-targets.

With ``N`` action dimensions of ``K`` sub-actions each, a joint critic estimates :math:`Q(a)` for all
:math:`K^N` joint actions and its target is :math:`\max_a \hat Q(a)`; a decomposed critic (DecQN) estimates
utilities :math:`U_i(a_i)` with :math:`Q(a) = \frac1N\sum_i U_i(a_i)` and its target is
:math:`\frac1N\sum_i \max_{a_i}\hat U_i(a_i)`. With estimation errors iid :math:`U(-b, b)` (Thrun and Schwartz
1993) and equal true values, the maximum of :math:`n` errors has mean :math:`b(n-1)/(n+1)` and variance
:math:`4b^2 n/((n+1)^2(n+2))`, so the joint target's bias grows to ``b`` with :math:`n = K^N` while the decomposed
target's stays at :math:`b(K-1)/(K+1)`, but the decomposed target's variance
:math:`\frac1N\,4b^2K/((K+1)^2(K+2))` exceeds the joint one, which vanishes like :math:`K^{-N}` ("REValueD:
Regularised Ensemble Value-Decomposition for Factorisable Markov Decision Processes"). An ensemble of ``M``
critics averaged before the max reduces the decomposed target's variance.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidInputError
from .validation import as_float_array, check_positive_int

__all__ = ["joint_target", "decomposed_target", "uniform_max_moments"]


def joint_target(q_hat):
    """``max_a q_hat[..., a]`` over the flattened joint actions (last axes ``[K]*N`` or one axis ``K^N``)."""
    q = np.asarray(q_hat, dtype=np.float64)
    if q.ndim < 1:
        raise InvalidInputError("q_hat: expected at least one action axis.")
    return q.reshape(q.shape[0], -1).max(axis=1) if q.ndim > 1 else q.max()


def decomposed_target(u_hat, *, reduce: str = "mean"):
    """``(1/N) sum_i max_k u_hat[..., i, k]`` (``reduce="mean"``, DecQN) or the plain sum (``"sum"``);
    ``u_hat[batch, N, K]`` holds the utility estimates, or ``u_hat[batch, M, N, K]`` an ensemble of ``M`` critics,
    averaged over ``M`` before the max."""
    u = as_float_array(u_hat, "u_hat")
    if u.ndim not in (3, 4):
        raise InvalidInputError(f"u_hat: expected [batch, N, K] or [batch, M, N, K], got shape {u.shape}.")
    if reduce not in ("mean", "sum"):
        raise InvalidInputError(f"reduce = {reduce!r}: choose 'mean' (DecQN) or 'sum'.")
    if u.ndim == 4:
        u = u.mean(axis=1)
    m = u.max(axis=-1)
    return m.mean(axis=-1) if reduce == "mean" else m.sum(axis=-1)


def uniform_max_moments(n: int, b: float = 1.0):
    """Mean and variance of the maximum of ``n`` iid ``U(-b, b)`` variables."""
    n = check_positive_int(n, "n")
    if not (np.isfinite(b) and b > 0):
        raise InvalidInputError(f"b = {b!r} must be a finite number > 0.")
    return b * (n - 1) / (n + 1), 4 * b * b * n / ((n + 1) ** 2 * (n + 2))
