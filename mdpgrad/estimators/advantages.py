r"""Advantage estimators: TD errors, lambda-returns and GAE (rlax-style pure functions).

GAE (Schulman, Moritz, Levine, Jordan, Abbeel 2016, "High-Dimensional Continuous Control Using
Generalized Advantage Estimation"):

.. math::

    \delta_t = r_t + \gamma_t v_{t+1} - v_t,\qquad
    \hat A_t = \sum_{l=0}^{T-t-1}\Big(\prod_{j=t}^{t+l-1}\lambda\gamma_j\Big)\delta_{t+l}
             = \delta_t + \lambda\gamma_t\hat A_{t+1},\ \hat A_T = 0,

so :math:`\lambda = 0` gives the TD error :math:`\delta_t` and :math:`\lambda = 1` the Monte
Carlo advantage :math:`\sum_{k\ge t}(\prod\gamma)r_k + (\prod\gamma) v_T - v_t` (telescoping).
With exact values :math:`v = V^\pi`, :math:`\mathbb{E}[\hat A_t | s_t, a_t] = A^\pi(s_t,a_t)` for
every :math:`\lambda` (each later :math:`\delta` has conditional mean zero); with approximate
values the estimate is biased unless :math:`\lambda = 1`.
"""

from __future__ import annotations

import numpy as np

from ..backend import get_backend
from ..errors import InvalidInputError
from ..validation import as_float_array, check_indices, check_probability, check_rollouts

__all__ = ["td_errors", "gae", "lambda_returns", "gae_batch", "batch_discounts"]


def _check_1d(r_t, v_t, discount_t):
    r_t = as_float_array(r_t, "r_t", ndim=1)
    v_t = as_float_array(v_t, "v_t", ndim=1)
    discount_t = as_float_array(discount_t, "discount_t", ndim=1)
    T = r_t.shape[0]
    if v_t.shape != (T + 1,):
        raise InvalidInputError(f"v_t: expected T+1 = {T + 1} values v(s_0..s_T) (bootstrap included), got {v_t.shape}.")
    if discount_t.shape != (T,):
        raise InvalidInputError(f"discount_t: expected shape ({T},) like r_t, got {discount_t.shape}.")
    return r_t, v_t, discount_t


def td_errors(r_t, v_t, discount_t) -> np.ndarray:
    r""":math:`\delta_t = r_t + \gamma_t v_{t+1} - v_t` (``v_t`` has ``T+1`` entries)."""
    r_t, v_t, discount_t = _check_1d(r_t, v_t, discount_t)
    return r_t + discount_t * v_t[1:] - v_t[:-1]


def gae(r_t, v_t, discount_t, lambda_: float) -> np.ndarray:
    r"""Generalized advantage estimates :math:`\hat A_t = \delta_t + \lambda\gamma_t\hat A_{t+1}`
    (formula and paper in the module docstring).

    r_t : rewards (T,); v_t : values (T+1,) including the bootstrap value of the last state
    (0 if terminal); discount_t : per-step discounts (T,) (0 at termination); lambda_ in [0, 1].
    Returns (T,).
    """
    lam = check_probability(lambda_, "lambda_")
    delta = td_errors(r_t, v_t, discount_t)
    discount_t = np.asarray(discount_t, dtype=np.float64)
    out = np.empty_like(delta)
    acc = 0.0
    for t in range(delta.shape[0] - 1, -1, -1):
        acc = delta[t] + lam * discount_t[t] * acc
        out[t] = acc
    return out


def lambda_returns(r_t, v_t, discount_t, lambda_: float) -> np.ndarray:
    r""":math:`G^\lambda_t = \hat A^{\mathrm{GAE}}_t + v_t` (TD(:math:`\lambda`) return, Sutton 1988)."""
    v_t = as_float_array(v_t, "v_t", ndim=1)
    return gae(r_t, v_t, discount_t, lambda_) + v_t[:-1]


def batch_discounts(ro) -> np.ndarray:
    r"""Per-step GAE discounts ``disc[i, t]`` for padded rollouts.

    Fixed / absorbing horizons: :math:`\gamma` (bootstrapping with :math:`v(s_{L})` at the end).
    Geometric random horizon: the random length *is* the discount -- each step continues with
    probability :math:`\gamma` -- so the trajectory terminates after :math:`L` steps:
    ``disc = 1`` for :math:`t < L-1` and ``0`` at :math:`t = L-1` (no bootstrap). Then
    :math:`\mathbb{E}[\delta_t|s_t,a_t,L>t] = r + \gamma\mathbb{E}v(s') - v(s) = A^\pi(s_t,a_t)` for
    exact values, and :math:`\lambda = 1` gives :math:`\sum_{k\ge t}r_k - v(s_t)`: an unbiased
    Q-sample minus a state baseline, unbiased for **any** ``v``.

    Per-trajectory truncation (``ro.cut()``): a trajectory *cut* by the length cap did not terminate,
    so its last step bootstraps -- ``disc = 1`` (geometric: given ``L > cap`` it continues surely) or
    :math:`\gamma` (absorbing) at :math:`t = L-1`; one that *terminated* (geometric length ran out,
    absorbing state reached) gets ``disc = 0`` there.
    """
    n, T = ro.actions.shape
    t = np.arange(T)[None, :]
    last = t == (ro.lengths - 1)[:, None]
    cut = ro.cut()[:, None] if hasattr(ro, "cut") else np.full((n, 1), ro.horizon != "geometric")
    if ro.horizon == "geometric":
        return np.where(last, cut.astype(np.float64), 1.0) * (t < ro.lengths[:, None])
    return np.where(last & ~cut, 0.0, ro.gamma) * np.ones((n, T))


def gae_batch(ro, values, lambda_: float, *, backend="auto") -> np.ndarray:
    r"""GAE advantages ``adv[i, t]`` for padded rollouts with state values ``values[s]``, with
    the per-step discounts of :func:`batch_discounts`. ``backend`` runs the kernel ``gae_batch``
    (:mod:`mdpgrad.kernels.estimators`): ``"numba"`` (what ``"auto"`` picks) or ``"numpy"``
    (vectorized over trajectories); both agree to round-off."""
    lam = check_probability(lambda_, "lambda_")
    kernel = get_backend(backend, kernel="gae_batch").kernel("gae_batch")
    v = as_float_array(values, "values", ndim=1)
    check_rollouts(ro, max(v.shape[0], 1), 2**31)
    T = ro.actions.shape[1]
    check_rollouts(ro, v.shape[0], max(int(ro.actions.max()) + 1, 1) if ro.actions.size else 1)
    valid = np.arange(T + 1)[None, :] <= ro.lengths[:, None]
    st = np.where(valid & (ro.states >= 0), ro.states, 0)
    check_indices(st, "ro.states", v.shape[0], what="state index (values has one entry per state)")
    vs = np.where(valid & (ro.states >= 0), v[st], 0.0)
    return kernel(ro.rewards, vs, ro.lengths, batch_discounts(ro), lam)
