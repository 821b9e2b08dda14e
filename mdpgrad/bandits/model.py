r"""Contextual softmax bandit at LLM scale: exact objective, gradient, entropy and KL.

``N`` prompts (contexts), ``V`` actions (a vocabulary, up to ~150k), logits either tabular
``theta[N, V]`` or linear in features, ``z[n, v] = phi[n, v, :] @ theta``. A response is one
action; its reward is Bernoulli with mean ``q[n, v]`` (a verifiable pass/fail), Gaussian
around ``q`` or deterministic ``q``. The objective is the prompt average

.. math:: J(\theta) = \frac1N\sum_n \sum_v \pi_\theta(v|n)\, q_{n,v},
   \qquad \frac{\partial J}{\partial z_{n,v}} = \frac1N \pi(v|n)\,(q_{n,v} - J_n),

(softmax policy gradient, Williams 1992; Sutton et al. 2000) and the chain rule through
``phi`` for linear logits. Entropy and KL to a reference have the same closed forms.

Everything runs on NumPy; sampling and the score-function assembly also run on Numba and
CuPy through :func:`mdpgrad.backend.get_backend` (:func:`sample_actions`,
:func:`logit_gradient`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backend import array_namespace, get_backend
from ..errors import InvalidInputError
from ..validation import (
    as_float_array,
    as_generator,
    check_indices,
    check_nonnegative_float,
    check_positive_int,
    check_real_finite,
    check_shape,
)

__all__ = [
    "ContextualBandit",
    "random_bandit",
    "softmax_xp",
    "log_softmax_xp",
    "sample_actions",
    "logit_gradient",
]

REWARD_KINDS = ("bernoulli", "gaussian", "deterministic")


def as_rng(rng, name: str = "rng") -> np.random.Generator:
    """Alias of :func:`mdpgrad.validation.as_generator` (the one seeding function)."""
    return as_generator(rng, name)



def softmax_xp(z, axis=-1):
    """Stable softmax for NumPy or CuPy arrays (dtype preserved)."""
    xp = array_namespace(z)
    e = xp.exp(z - xp.max(z, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def log_softmax_xp(z, axis=-1):
    """Stable log-softmax for NumPy or CuPy arrays."""
    xp = array_namespace(z)
    zz = z - xp.max(z, axis=axis, keepdims=True)
    return zz - xp.log(xp.sum(xp.exp(zz), axis=axis, keepdims=True))


@dataclass(frozen=True)
class ContextualBandit:
    """A multi-prompt softmax bandit (see module docstring).

    Attributes
    ----------
    q : ``q[n, v]`` mean reward of action ``v`` on prompt ``n`` (in [0, 1] for Bernoulli).
    reward : ``"bernoulli"``, ``"gaussian"`` (``q + noise * N(0, 1)``) or ``"deterministic"``.
    phi : optional features ``phi[n, v, d]``; then ``theta`` has shape ``(d,)`` (linear logits).
    noise : standard deviation of Gaussian rewards.
    """

    q: np.ndarray
    reward: str = "bernoulli"
    phi: np.ndarray | None = None
    noise: float = 1.0

    def __post_init__(self):
        q = as_float_array(self.q, "q", ndim=2)
        if self.reward not in REWARD_KINDS:
            raise InvalidInputError(f"reward = {self.reward!r} is not known; choose one of {REWARD_KINDS}.")
        if self.reward == "bernoulli" and ((q < 0).any() or (q > 1).any()):
            idx = np.argwhere((q < 0) | (q > 1))[0]
            raise InvalidInputError(f"q[{idx[0]}, {idx[1]}] = {q[tuple(idx)]:.6g}: Bernoulli reward means must lie "
                                    "in [0, 1]; use reward='gaussian' for real-valued rewards.")
        object.__setattr__(self, "noise", check_nonnegative_float(self.noise, "noise", what="reward noise std"))
        object.__setattr__(self, "q", q)
        if self.phi is not None:
            phi = as_float_array(self.phi, "phi", ndim=3)
            check_shape(phi, (q.shape[0], q.shape[1], None), "phi", hint="phi[n, v, d] must match q[n, v].")
            object.__setattr__(self, "phi", phi)

    @property
    def n_prompts(self) -> int:
        return self.q.shape[0]

    @property
    def n_actions(self) -> int:
        return self.q.shape[1]

    @property
    def param_shape(self) -> tuple:
        return (self.phi.shape[2],) if self.phi is not None else self.q.shape

    def check_theta(self, theta) -> np.ndarray:
        th = as_float_array(theta, "theta")
        check_shape(th, self.param_shape, "theta",
                    hint="tabular logits are theta[n, v]; linear logits take theta[d] with phi[n, v, d].")
        return th

    # --- exact quantities --------------------------------------------------------------
    def logits(self, theta) -> np.ndarray:
        th = self.check_theta(theta)
        return th if self.phi is None else self.phi @ th

    def probs(self, theta) -> np.ndarray:
        return softmax_xp(self.logits(theta))

    def prompt_values(self, theta) -> np.ndarray:
        """``J_n = sum_v pi(v|n) q[n, v]``."""
        return np.sum(self.probs(theta) * self.q, axis=1)

    def objective(self, theta) -> float:
        """``J = mean_n J_n``."""
        return float(np.mean(self.prompt_values(theta)))

    def success_probs(self, theta) -> np.ndarray:
        """Per-prompt probability of reward 1 (Bernoulli): ``p_n = J_n``."""
        return self.prompt_values(theta)

    def logit_grad_to_theta(self, g_z) -> np.ndarray:
        """Chain rule from a logit gradient ``g_z[n, v]`` to ``theta`` (identity if tabular)."""
        g_z = as_float_array(g_z, "g_z", shape=self.q.shape)
        return g_z if self.phi is None else np.einsum("nv,nvd->d", g_z, self.phi)

    def gradient(self, theta) -> np.ndarray:
        r"""Exact :math:`\nabla_\theta J`: ``(1/N) pi (q - J_n)`` per logit, chained through ``phi``."""
        pi = self.probs(theta)
        g_z = pi * (self.q - np.sum(pi * self.q, axis=1, keepdims=True)) / self.n_prompts
        return self.logit_grad_to_theta(g_z)

    def entropy(self, theta) -> np.ndarray:
        """Per-prompt entropy ``H(pi(.|n))``."""
        lp = log_softmax_xp(self.logits(theta))
        return -np.sum(np.exp(lp) * lp, axis=1)

    def kl(self, theta, ref_logits) -> np.ndarray:
        """Per-prompt ``KL(pi_theta(.|n) || pi_ref(.|n))`` with ``pi_ref = softmax(ref_logits)``."""
        lp = log_softmax_xp(self.logits(theta))
        lr = log_softmax_xp(as_float_array(ref_logits, "ref_logits", shape=self.q.shape))
        return np.sum(np.exp(lp) * (lp - lr), axis=1)

    # --- sampling --------------------------------------------------------------------
    def sample_rewards(self, actions, rng=None) -> np.ndarray:
        """Rewards of ``actions[n, g]`` (NumPy): Bernoulli(q), q + noise * N(0,1) or q."""
        actions = check_indices(actions, "actions", self.n_actions, what="action index")
        if actions.ndim != 2 or actions.shape[0] != self.n_prompts:
            raise InvalidInputError(f"actions: expected shape ({self.n_prompts}, G), got {actions.shape}.")
        qa = np.take_along_axis(self.q, actions, axis=1)
        if self.reward == "deterministic":
            return qa
        rng = as_rng(rng)
        if self.reward == "bernoulli":
            return (rng.random(qa.shape) < qa).astype(np.float64)
        return qa + self.noise * rng.standard_normal(qa.shape)


def random_bandit(n_prompts: int, n_actions: int, *, reward: str = "bernoulli", n_correct: int | None = None,
                  seed=None) -> ContextualBandit:
    """A random multi-prompt bandit.

    Bernoulli rewards with ``n_correct`` given: ``q[n, v] in {0, 1}`` with ``n_correct``
    correct actions per prompt (a verifiable task); otherwise ``q ~ U(0, 1)``.
    """
    n_prompts = check_positive_int(n_prompts, "n_prompts")
    n_actions = check_positive_int(n_actions, "n_actions")
    rng = as_generator(seed)
    if n_correct is not None:
        n_correct = check_positive_int(n_correct, "n_correct")
        if n_correct > n_actions:
            raise InvalidInputError(f"n_correct = {n_correct} exceeds n_actions = {n_actions}.")
        q = np.zeros((n_prompts, n_actions))
        for n in range(n_prompts):
            q[n, rng.choice(n_actions, n_correct, replace=False)] = 1.0
    else:
        q = rng.random((n_prompts, n_actions))
    return ContextualBandit(q, reward=reward)


# --- backend kernels ---------------------------------------------------------------------
def sample_actions(logits, G: int, rng=None, *, backend="auto", u=None):
    """Draw ``G`` actions per row from ``softmax(logits)`` by inverse CDF.

    The uniforms ``u[n, g]`` are drawn on the host from ``rng`` (or passed in) and sorted per
    row, so every backend returns the same actions for the same ``rng`` (up to ties at
    floating-point CDF boundaries). Returns ``(actions[n, g], logp[n, g])`` as arrays of the
    backend (``actions`` sorted within each row; group estimators are permutation-invariant).
    """
    be = get_backend(backend, kernel="sample_actions", like=logits)
    G = check_positive_int(G, "G")
    check_real_finite(logits, "logits")
    logits = be.asarray(logits)
    if logits.ndim != 2 or logits.shape[1] == 0:
        raise InvalidInputError(f"logits: expected a 2-D array [n, v] with v >= 1, got shape {tuple(logits.shape)}.")
    N, V = logits.shape
    if u is None:
        u = as_rng(rng).random((N, G))
    u = as_float_array(u, "u")
    if u.shape != (N, G):
        raise InvalidInputError(f"u: expected shape ({N}, {G}), got {u.shape}.")
    if ((u < 0) | (u >= 1)).any():
        raise InvalidInputError("u: uniforms must lie in [0, 1); draw them with rng.random((n, G)).")
    u = np.sort(u, axis=1)
    return be.kernel("sample_actions")(logits, be.asarray(u))


def logit_gradient(logits, actions, coef, *, backend="auto", out=None):
    r"""Score-function assembly ``g[n, :] = sum_g coef[n, g] (e_{a_{n,g}} - softmax(logits[n]))``.

    Every estimator in :mod:`mdpgrad.bandits.estimators` reduces to per-sample coefficients
    ``coef = d loss / d log pi(a)``; this turns them into a logit gradient using
    :math:`\nabla_z \log\pi(a) = e_a - \pi`. Returns an array of the backend.

    ``out``: an optional host array of ``logits``' shape, float64 or float32 (computed in float64 and
    stored in ``out``'s precision: halves the memory of a V = 32k gradient).
    """
    be = get_backend(backend, kernel="logit_gradient", like=logits)
    xp = be.xp
    check_real_finite(logits, "logits")
    check_real_finite(coef, "coef")
    if np.ndim(logits) != 2 or np.shape(logits)[1] == 0:
        raise InvalidInputError(f"logits: expected a 2-D array [n, v] with v >= 1, got shape {np.shape(logits)}.")
    if not hasattr(actions, "__cuda_array_interface__"):
        actions = check_indices(actions, "actions", np.shape(logits)[1], what="action index")
    if out is not None and not hasattr(out, "__cuda_array_interface__") and (
            not isinstance(out, np.ndarray) or out.shape != np.shape(logits)
            or out.dtype not in (np.float32, np.float64) or not out.flags.writeable):
        got = (f"{out.dtype} array of shape {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__)
        raise InvalidInputError(f"out: expected a writeable float32 or float64 array of shape {np.shape(logits)} "
                                f"(like logits), got {got}; pass out=None to get a new float64 array.")
    logits = be.asarray(logits)
    actions = be.asarray(actions)
    coef = be.asarray(coef, dtype=xp.float64)
    if actions.shape != coef.shape or actions.shape[0] != logits.shape[0]:
        raise InvalidInputError(f"actions {tuple(actions.shape)} and coef {tuple(coef.shape)} must both be "
                                f"[n, G] with n = logits.shape[0] = {logits.shape[0]}.")
    return be.kernel("logit_gradient")(logits, actions, coef, out)
