r"""Policy parametrizations with exact gradients.

Three parametrizations of a stochastic policy ``pi[s, a]``:

* ``"softmax"`` (tabular): :math:`\pi_\theta(a|s) = \exp\theta_{s,a} / \sum_b \exp\theta_{s,b}`,
  ``theta`` of shape (S, A);
* ``"direct"``: :math:`\pi_\theta(a|s) = \theta_{s,a}`, ``theta`` on the simplex (Agarwal,
  Kakade, Lee, Mahajan 2021);
* ``"loglinear"``: :math:`\pi_\theta(a|s) \propto \exp(\phi(s,a)^\top\theta)`, ``theta`` of
  shape (d,), features ``phi[s, a, d]``.

Policy gradient theorem (Sutton et al. 2000), with :math:`d_\rho^\pi` the normalized
discounted occupancy:

.. math::

    \nabla_\theta V^{\pi_\theta}(\rho) = \frac{1}{1-\gamma}\,
    \mathbb{E}_{s\sim d_\rho^\pi,\, a\sim\pi(\cdot|s)}
    \big[\nabla_\theta \log\pi_\theta(a|s)\, A^{\pi}(s, a)\big],

which gives, in closed form, :math:`\partial V/\partial\theta_{s,a} = \frac{1}{1-\gamma}
d(s)\pi(a|s)A(s,a)` (softmax), :math:`\partial V/\partial\pi(a|s) = \frac{1}{1-\gamma}d(s)Q(s,a)`
(direct) and :math:`\frac{1}{1-\gamma}\sum_s d(s)\sum_a \pi(a|s) A(s,a)\phi(s,a)` (log-linear).

The Fisher information is :math:`F(\theta) = \mathbb{E}_{s\sim d,\,a\sim\pi}[\nabla\log\pi\,
\nabla\log\pi^\top]` and the natural gradient is the minimum-norm least-squares solution of
:math:`F w = \nabla V` (Kakade 2001).
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidInputError, InvalidPolicyError
from .exact import evaluate
from .mdp import FeatureMDP, as_mdp
from .validation import as_float_array, check_int, check_positive_int, check_simplex

__all__ = [
    "PARAMETRIZATIONS",
    "softmax",
    "log_softmax",
    "probs",
    "policy_gradient",
    "score",
    "fisher_information",
    "natural_gradient",
    "entropy",
    "uniform_policy",
    "project_simplex",
]

PARAMETRIZATIONS = ("softmax", "direct", "loglinear")


def softmax(logits, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``."""
    z, axis = _check_logits(logits, axis)
    z = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(logits, axis: int = -1) -> np.ndarray:
    """Numerically stable log-softmax along ``axis``."""
    z, axis = _check_logits(logits, axis)
    z = z - np.max(z, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _check_logits(logits, axis):
    z = as_float_array(logits, "logits")
    if z.ndim == 0:
        raise InvalidInputError(f"logits: expected an array, got the scalar {float(z)!r}.")
    axis = check_int(axis, "axis", minimum=-z.ndim, maximum=z.ndim - 1)
    if z.shape[axis] == 0:
        raise InvalidInputError(f"logits: axis {axis} is empty (shape {z.shape}); a softmax needs >= 1 entry.")
    return z, axis


def uniform_policy(n_states: int, n_actions: int) -> np.ndarray:
    """``pi[s, a] = 1 / A``."""
    n_states = check_positive_int(n_states, "n_states")
    n_actions = check_positive_int(n_actions, "n_actions")
    return np.full((n_states, n_actions), 1.0 / n_actions)


def project_simplex(y) -> np.ndarray:
    r"""Euclidean projection of every row (last axis) of ``y`` onto the probability simplex.

    :math:`\Pi_\Delta(y)_i = \max(y_i - \tau, 0)` with :math:`\tau` chosen so the row sums to
    one, found by sorting (Held, Wolfe & Crowder 1974; Duchi et al. 2008): O(n log n) per row.
    """
    y = as_float_array(y, "y")
    if y.ndim == 0 or y.shape[-1] == 0:
        raise InvalidInputError(f"y: expected rows to project (last axis non-empty), got shape {y.shape}.")
    n = y.shape[-1]
    u = -np.sort(-y, axis=-1)
    css = np.cumsum(u, axis=-1) - 1.0
    k = np.arange(1, n + 1)
    cond = u - css / k > 0
    rho = n - 1 - np.argmax(cond[..., ::-1], axis=-1)  # last index where cond holds
    tau = np.take_along_axis(css, rho[..., None], axis=-1) / (rho[..., None] + 1.0)
    return np.maximum(y - tau, 0.0)


def entropy(pi) -> np.ndarray:
    """Per-state entropy ``H(pi(.|s)) = -sum_a pi log pi`` (0 log 0 = 0)."""
    pi = as_float_array(pi, "pi", error=InvalidPolicyError)
    check_simplex(pi, "pi", error=InvalidPolicyError)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(pi > 0, pi * np.log(pi), 0.0)
    return -np.sum(t, axis=-1)


def _features(mdp, phi):
    if phi is None and isinstance(mdp, FeatureMDP):
        phi = mdp.phi
    if phi is None:
        raise InvalidInputError(
            "phi: the log-linear parametrization needs features phi[s, a, d]; pass phi= or a FeatureMDP."
        )
    return as_float_array(phi, "phi")


def _check_param(parametrization: str) -> str:
    if parametrization not in PARAMETRIZATIONS:
        raise InvalidInputError(
            f"parametrization = {parametrization!r} is not known; choose one of {PARAMETRIZATIONS}."
        )
    return parametrization


def probs(theta, parametrization: str = "softmax", *, phi=None) -> np.ndarray:
    """The policy ``pi[s, a]`` for parameters ``theta``."""
    _check_param(parametrization)
    theta = as_float_array(theta, "theta")
    if parametrization == "softmax":
        if theta.ndim != 2:
            raise InvalidInputError(f"theta: softmax parameters are theta[s, a] (2-D), got shape {theta.shape}.")
        return softmax(theta)
    if parametrization == "direct":
        check_simplex(theta, "theta", error=InvalidPolicyError)
        return theta.copy()
    if phi is None:
        raise InvalidInputError("phi: the log-linear parametrization needs features phi[s, a, d].")
    phi = as_float_array(phi, "phi")
    if theta.shape != (phi.shape[-1],):
        raise InvalidInputError(f"theta: expected shape ({phi.shape[-1]},) matching phi[..., d], got {theta.shape}.")
    return softmax(phi @ theta)


#: State weightings accepted by :func:`policy_gradient` (``"rho"`` is a documented wrong variant).
WEIGHTINGS = ("occupancy", "rho")


def policy_gradient(mdp, theta, parametrization: str = "softmax", *, phi=None, weighting: str = "occupancy",
                    horizon_factor: bool = True) -> np.ndarray:
    r"""Exact gradient of :math:`\rho^\top v^{\pi_\theta}` with respect to ``theta`` (same shape).

    Formulas in the module docstring (policy gradient theorem).

    ``weighting`` and ``horizon_factor`` exist for negative controls of the claims engine
    (:mod:`mdpgrad.claims`): ``weighting="rho"`` weights states by the start distribution
    :math:`\rho` instead of the discounted occupancy :math:`d_\rho^\pi`, and
    ``horizon_factor=False`` drops the :math:`1/(1-\gamma)` factor -- two realistic mistakes whose
    results are *not* the gradient. Leave both at their defaults for the gradient.
    """
    _check_param(parametrization)
    if weighting not in WEIGHTINGS:
        raise InvalidInputError(f"weighting = {weighting!r} is not known; choose one of {WEIGHTINGS}.")
    m = as_mdp(mdp)
    if parametrization == "loglinear":
        phi = _features(mdp, phi)
    pi = probs(theta, parametrization, phi=phi)
    if pi.shape != m.shape:
        raise InvalidInputError(f"theta: gives a policy of shape {pi.shape}, the MDP has (S, A) = {m.shape}.")
    ev = evaluate(m, pi, check=False)
    c = 1.0 / (1.0 - m.gamma) if horizon_factor else 1.0
    d = (ev.occupancy if weighting == "occupancy" else m.rho)[:, None]
    if parametrization == "softmax":
        return c * d * pi * ev.advantage
    if parametrization == "direct":
        return c * d * ev.q
    return c * np.einsum("sa,sad->d", d * pi * ev.advantage, phi)


def score(theta, parametrization: str = "softmax", *, phi=None) -> np.ndarray:
    r"""Score function :math:`\nabla_\theta \log\pi_\theta(a|s)` for every (s, a).

    Returns ``(S, A, S, A)`` for softmax (``[s, a, s', a'] = 1[s=s'](1[a=a'] - pi(a'|s))``)
    and ``(S, A, d)`` for log-linear (``phi(s, a) - E_pi phi(s, .)``).
    """
    _check_param(parametrization)
    if parametrization == "direct":
        raise InvalidInputError("score: the direct parametrization has no log-policy score on the simplex.")
    pi = probs(theta, parametrization, phi=phi)
    if parametrization == "softmax":
        S, A = pi.shape
        out = np.zeros((S, A, S, A))
        for s in range(S):
            out[s, :, s, :] = np.eye(A) - pi[s][None, :]
        return out
    phi = as_float_array(phi, "phi")
    return phi - np.einsum("sa,sad->sd", pi, phi)[:, None, :]


def fisher_information(mdp, theta, parametrization: str = "softmax", *, phi=None) -> np.ndarray:
    r""":math:`F = \sum_s d(s) \sum_a \pi(a|s) \nabla\log\pi\,\nabla\log\pi^\top`.

    Shape ``(S*A, S*A)`` for softmax (block diagonal, block
    :math:`d(s)(\mathrm{diag}\,\pi_s - \pi_s\pi_s^\top)`) and ``(d, d)`` for log-linear.
    """
    _check_param(parametrization)
    m = as_mdp(mdp)
    if parametrization == "loglinear":
        phi = _features(mdp, phi)
    pi = probs(theta, parametrization, phi=phi)
    if pi.shape != m.shape:
        raise InvalidInputError(f"theta: gives a policy of shape {pi.shape}, the MDP has (S, A) = {m.shape}.")
    d = evaluate(m, pi, check=False).occupancy
    if parametrization == "softmax":
        S, A = pi.shape
        F = np.zeros((S * A, S * A))
        for s in range(S):
            blk = np.diag(pi[s]) - np.outer(pi[s], pi[s])
            F[s * A:(s + 1) * A, s * A:(s + 1) * A] = d[s] * blk
        return F
    if parametrization == "direct":
        raise InvalidInputError("fisher_information: not defined for the direct parametrization.")
    g = score(theta, "loglinear", phi=phi)  # (S, A, d)
    w = d[:, None] * pi
    return np.einsum("sa,sai,saj->ij", w, g, g)


def natural_gradient(mdp, theta, parametrization: str = "softmax", *, phi=None) -> np.ndarray:
    r"""Natural gradient :math:`w = F^{+}\nabla V`, the minimum-norm solution of ``F w = grad``
    (``numpy.linalg.lstsq``; never an explicit inverse).

    For tabular softmax the exact closed form is used (no least squares, so it stays exact at
    near-deterministic policies where ``F`` is ill-conditioned): ``F w = grad`` holds for
    :math:`w_{s,\cdot} = A^\pi(s,\cdot)/(1-\gamma) + c_s` (Kakade 2001; Agarwal et al. 2021,
    Lemma 5.1), and the minimum-norm member (``pi > 0``: the null space of state ``s``'s block is
    the constant vector) is :math:`w_{s,\cdot} = (A^\pi(s,\cdot) - \overline{A^\pi(s,\cdot)})/(1-\gamma)`
    with the plain mean over actions; states with :math:`d^\pi(s) = 0` get ``w = 0``.
    """
    _check_param(parametrization)
    if parametrization == "softmax":
        m = as_mdp(mdp)
        pi = probs(theta, "softmax")
        if pi.shape != m.shape:
            raise InvalidInputError(f"theta: gives a policy of shape {pi.shape}, the MDP has (S, A) = {m.shape}.")
        ev = evaluate(m, pi, check=False)
        adv = ev.advantage
        w = (adv - adv.mean(axis=1, keepdims=True)) / (1.0 - m.gamma)
        return np.where(ev.occupancy[:, None] > 0, w, 0.0)
    grad = policy_gradient(mdp, theta, parametrization, phi=phi)
    F = fisher_information(mdp, theta, parametrization, phi=phi)
    w, *_ = np.linalg.lstsq(F, grad.reshape(-1), rcond=1e-12)
    return w.reshape(grad.shape)
