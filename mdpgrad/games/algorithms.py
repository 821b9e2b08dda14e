r"""Learning dynamics for preference games: Nash-MD, Nash Mirror Prox, MWU/SPPO, regularized OMD (INPO).

Every method is one pure step on log-probabilities ``lp = log pi`` against an oracle for the
win-rate vector ``g = P pi`` (exact, or estimated from sampled preferences), written once
against the array module ``xp`` of the backend seam, so the same code runs on NumPy and CuPy.
Normalization is ``lp - logsumexp(lp)`` (:func:`~.preference.log_normalize`).

* **Nash-MD** (Munos et al., "Nash Learning from Human Feedback"): play against the
  geometric mixture ``pi^mu_t ∝ pi_t^{1-eta beta} mu^{eta beta}`` and take a mirror-descent
  step from it, ``pi_{t+1} ∝ pi^mu_t exp(eta P pi^mu_t)``. One query per step.
* **Nash-MP** (Mirror Prox; "Accelerating Nash Learning from Human Feedback via Mirror Prox"):

  .. math:: \log\pi_{t+1/2} = \frac{\log\pi_t + \eta\beta\log\mu + \eta P\pi_t}{1+\eta\beta},\qquad
            \log\pi_{t+1} = \frac{\log\pi_t + \eta\beta\log\mu + \eta P\pi_{t+1/2}}{1+\eta\beta}

  (both up to normalization): two queries per step. With preferences in [0, 1] the operator
  ``pi -> P pi`` is 1/2-Lipschitz from l1 to l-inf on differences of distributions, so
  ``eta = 2`` is the largest step of the standard analysis and gives the per-step factor
  ``1/(1 + 2 beta)`` on ``KL(pi*||pi_t)``, i.e. ``(1+2 beta)^{-N/2}`` per query.
* **MWU / SPPO self-play** (Wu et al., "Self-Play Preference Optimization for Language Model
  Alignment"): ``pi_{t+1} ∝ pi_t exp(eta P pi_t)``; the average iterate approaches a minimax
  winner at the no-regret rate.
* **Regularized OMD / INPO** (Zhang et al., "Iterative Nash Policy Optimization"):
  ``pi_{t+1} ∝ pi_t^{1-eta beta} mu^{eta beta} exp(eta P pi_t)`` (the KL-regularized online
  mirror-descent step; also magnetic mirror descent with magnet ``mu``). Its fixed point is
  ``pi*_beta``.

:func:`run_dynamics` is the loop that records iterates; it does not print.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._compat import renamed
from ..backend import get_backend
from ..errors import InvalidInputError, InvalidPreferenceError
from ..validation import (
    as_float_array,
    as_generator,
    check_choice,
    check_indices,
    check_int,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
)
from .preference import (
    PackedPreference,
    PreferenceGame,
    check_game,
    check_preference,
    log_normalize,
    pack_preference,
    packed_matvec,
)

__all__ = [
    "DYNAMICS",
    "QUERIES_PER_STEP",
    "GameResult",
    "nash_md_step",
    "nash_mp_step",
    "mwu_step",
    "omd_reg_step",
    "exact_oracle",
    "sampled_oracle",
    "run_dynamics",
    "win_fraction_rewards",
    "spo_selfplay",
]

DYNAMICS = ("nash_md", "nash_mp", "mwu", "sppo", "omd_reg", "inpo")
#: Preference-oracle calls (win-rate vectors) per step.
QUERIES_PER_STEP = {"nash_md": 1, "nash_mp": 2, "mwu": 1, "sppo": 1, "omd_reg": 1, "inpo": 1,
                    "nash_mp_noextra": 1}


def _packed_oracle(packed: PackedPreference):
    def oracle(pi):
        return packed_matvec(packed, pi)  # one pass over the packed triangle (Numba), float64 accumulation

    return oracle


def exact_oracle(P, xp=np):
    """Oracle returning the exact win rates ``g = P pi`` (``pi`` may be a batch ``[B, K]``).

    ``P`` is a dense (K, K) array (``P @ pi``) or a :class:`~.preference.PackedPreference`
    (``(1^T pi)/2 + A pi`` from the packed antisymmetric part; CPU, NumPy arrays).
    """
    if isinstance(P, PackedPreference):
        return _packed_oracle(P)

    def oracle(pi):
        return (P @ pi.T).T  # P @ pi for one policy (gemv on the row-major P), batched for pi[B, K]

    return oracle


def sampled_oracle(P, n_samples: int, rng, xp=np):
    r"""Oracle estimating ``g = P pi`` from ``n_samples`` sampled duels per response.

    For each response ``y`` draw ``y'_1..y'_n ~ pi`` and labels ``1[y > y'_i] ~ Bernoulli(P[y, y'_i])``;
    marginally each label is ``Bernoulli(g_y)``, so the win count is ``Binomial(n, g_y)``
    exactly and ``g_hat = count / n`` is unbiased with variance ``g_y (1-g_y)/n``. Drawn on
    the host with the given NumPy generator (reproducible across backends). ``P`` may be a
    :class:`~.preference.PackedPreference`.
    """
    rng = as_generator(rng, "rng")
    n_samples = check_positive_int(n_samples, "n_samples")
    if isinstance(P, PackedPreference):
        matvec, be = _packed_oracle(P), get_backend("numpy")
    else:
        be = get_backend(P)

        def matvec(pi):
            return (P @ pi.T).T

    def oracle(pi):
        g = be.to_numpy(matvec(pi))
        g = np.clip(g, 0.0, 1.0)
        return be.asarray(rng.binomial(int(n_samples), g) / float(n_samples))

    return oracle


def nash_md_step(lp, oracle, logmu, beta: float, eta: float, xp=np):
    """Nash-MD: ``pi_{t+1} ∝ pi^mu_t exp(eta P pi^mu_t)``, ``pi^mu_t ∝ pi_t^{1-eta beta} mu^{eta beta}``."""
    lmix = log_normalize((1.0 - eta * beta) * lp + eta * beta * logmu, xp)
    return log_normalize(lmix + eta * oracle(xp.exp(lmix)), xp)


def nash_mp_step(lp, oracle, logmu, beta: float, eta: float, xp=np):
    """Nash Mirror Prox (extragradient in the KL geometry), two oracle calls."""
    base = lp + eta * beta * logmu
    lh = log_normalize((base + eta * oracle(xp.exp(lp))) / (1.0 + eta * beta), xp)
    return log_normalize((base + eta * oracle(xp.exp(lh))) / (1.0 + eta * beta), xp)


def nash_mp_noextra_step(lp, oracle, logmu, beta: float, eta: float, xp=np):
    """Nash-MP's update without its extrapolation (the leader step taken from ``pi_t`` itself), one
    oracle call: a plausible mistake, kept as the negative control of the Nash-MP claims."""
    return log_normalize((lp + eta * beta * logmu + eta * oracle(xp.exp(lp))) / (1.0 + eta * beta), xp)


def mwu_step(lp, oracle, logmu, beta: float, eta: float, xp=np):
    """Multiplicative weights / SPPO self-play: ``pi_{t+1} ∝ pi_t exp(eta P pi_t)`` (``beta`` unused)."""
    return log_normalize(lp + eta * oracle(xp.exp(lp)), xp)


def omd_reg_step(lp, oracle, logmu, beta: float, eta: float, xp=np):
    """KL-regularized OMD (INPO / magnetic MD): ``pi_{t+1} ∝ pi_t^{1-eta beta} mu^{eta beta} exp(eta P pi_t)``."""
    return log_normalize((1.0 - eta * beta) * lp + eta * beta * logmu + eta * oracle(xp.exp(lp)), xp)


_STEPS: dict[str, Callable] = {"nash_md": nash_md_step, "nash_mp": nash_mp_step, "mwu": mwu_step,
                               "sppo": mwu_step, "omd_reg": omd_reg_step, "inpo": omd_reg_step,
                               "nash_mp_noextra": nash_mp_noextra_step}


@dataclass(frozen=True)
class GameResult:
    """Recorded iterates of a dynamics run (host NumPy arrays).

    ``steps[i]`` is the iteration index of record ``i``; ``queries[i]`` the number of
    win-rate oracle calls made so far; ``pi[i]`` the last iterate and ``avg_pi[i]`` the
    uniform average of ``pi_0 .. pi_{steps[i]}``.
    """

    method: str
    eta: float | str
    beta: float
    steps: np.ndarray
    queries: np.ndarray
    pi: np.ndarray
    avg_pi: np.ndarray

    @property
    def final(self) -> np.ndarray:
        return self.pi[-1]


@renamed(n_steps="n_iter", eta="step_size")
def run_dynamics(game: PreferenceGame, method: str, n_iter: int, *, step_size=None, beta: float | None = None,
                 pi0=None, oracle: str = "exact", n_samples: int = 100, seed=None, record_every: int = 1,
                 backend="auto", dtype=np.float64, operator="dense") -> GameResult:
    """Run ``method`` for ``n_iter`` steps from ``pi0`` (default ``mu``) and record iterates.

    ``step_size`` (eta) is a float or a callable ``t -> eta_t``; defaults: 2 for Nash-MP (the largest step of
    the Mirror-Prox analysis), ``1/(1+beta)`` for Nash-MD and regularized OMD (so ``eta beta < 1``),
    0.1 for MWU/SPPO. ``beta`` defaults to ``game.beta``; ``oracle`` is ``"exact"`` or ``"sampled"``
    (``n_samples`` duels per response and step, needs ``seed``); ``dtype`` (e.g. float32) halves
    the memory traffic of the dense matrix-vector products on large K.

    ``operator`` is how ``P pi`` is computed: ``"dense"`` (default, ``P @ pi`` on the backend) or
    ``"packed"``: ``(1^T pi)/2 + A pi`` with only the strict upper triangle of ``A = (P - P^T)/2``
    stored (:func:`~.preference.pack_preference`, storage precision ``dtype``, float64 accumulation;
    Numba kernel on the CPU, so ``backend`` must be ``"numpy"`` or ``"numba"``). It reads half (float64)
    or a quarter (float32) of the bytes of a dense float64 product; in float64 the trajectories agree
    with the dense ones to round-off. A prebuilt :class:`~.preference.PackedPreference` may be passed
    as ``operator`` to avoid packing again.
    """
    check_game(game)
    check_choice(method, "method", tuple(_STEPS))
    n_steps, eta = check_int(n_iter, "n_iter", minimum=0), step_size
    record_every = check_positive_int(record_every, "record_every")
    beta = game.beta if beta is None else check_nonnegative_float(beta, "beta", what="KL regularization")
    if oracle == "sampled":
        n_samples = check_positive_int(n_samples, "n_samples")
    if eta is not None and not callable(eta):
        eta = check_positive_float(eta, "step_size", what="a step size")
    if eta is None:
        eta = {"nash_mp": 2.0, "nash_mp_noextra": 2.0, "nash_md": 1.0 / (1.0 + beta),
               "omd_reg": 1.0 / (1.0 + beta), "inpo": 1.0 / (1.0 + beta)}.get(method, 0.1)
    eta_fn = eta if callable(eta) else (lambda t, e=float(eta): e)
    if method in ("nash_md", "omd_reg", "inpo"):
        e0 = eta_fn(0)
        if e0 * beta > 1:
            raise InvalidInputError(f"eta = {e0:g} with beta = {beta:g}: {method} needs eta * beta <= 1.")
    be = get_backend(backend)
    xp = be.xp
    if isinstance(operator, PackedPreference) or (isinstance(operator, str) and operator == "packed"):
        get_backend(backend, kernel="packed_matvec")  # the packed operator's kernel runs on the CPU
        if isinstance(operator, PackedPreference):
            if operator.K != game.K:
                raise InvalidInputError(f"operator: a PackedPreference with K = {operator.K}, but the game has "
                                        f"K = {game.K}.")
            P = operator
        else:
            P = pack_preference(game.P, dtype=dtype)
    elif isinstance(operator, str) and operator == "dense":
        P = be.asarray(game.P, dtype=dtype)
    else:
        raise InvalidInputError(f"operator = {operator!r}: choose 'dense', 'packed' or a PackedPreference.")
    with np.errstate(divide="ignore"):
        logmu = be.asarray(np.log(game.mu), dtype=dtype)
    if pi0 is None:
        lp = logmu
    else:
        pi0 = np.asarray(pi0, dtype=np.float64)
        if pi0.shape != (game.K,) or (pi0 <= 0).any() or abs(pi0.sum() - 1) > 1e-8:
            raise InvalidInputError(f"pi0: expected a strictly positive distribution of shape ({game.K},).")
        lp = be.asarray(np.log(pi0), dtype=dtype)
    if oracle == "exact":
        orc = exact_oracle(P, xp)
    elif oracle == "sampled":
        if seed is None:
            raise InvalidInputError("seed: the sampled oracle needs an int seed or numpy Generator.")
        orc = sampled_oracle(P, n_samples, seed, xp)
    else:
        raise InvalidInputError(f"oracle = {oracle!r}: choose 'exact' or 'sampled'.")
    step = _STEPS[method]
    q = QUERIES_PER_STEP[method]
    steps, queries, pis, avgs = [0], [0], [be.to_numpy(xp.exp(lp))], []
    s = xp.exp(lp)
    avgs.append(be.to_numpy(s))
    for t in range(int(n_steps)):
        lp = step(lp, orc, logmu, beta, eta_fn(t), xp)
        p = xp.exp(lp)
        s = s + p
        if (t + 1) % record_every == 0 or t + 1 == n_steps:
            steps.append(t + 1)
            queries.append(q * (t + 1))
            pis.append(be.to_numpy(p))
            avgs.append(be.to_numpy(s / (t + 2)))
    return GameResult(method=method, eta=eta if not callable(eta) else "schedule", beta=beta,
                   steps=np.asarray(steps), queries=np.asarray(queries),
                   pi=np.asarray(pis, dtype=np.float64), avg_pi=np.asarray(avgs, dtype=np.float64))


def win_fraction_rewards(P, ys, rng, *, include_self: bool = False) -> np.ndarray:
    r"""SPO's reward: the fraction of the other samples each sampled response beats.

    ``r_i = (1/G) sum_{j != i} 1[y_i > y_j]`` with labels ``~ Bernoulli(P[y_i, y_j])``. Given
    ``y_i = y`` the peers are iid ``pi`` and independent of ``y_i``, so ``E[r_i | y_i = y] = P(y > pi)``
    (unbiased). ``include_self=True`` adds the self-duel (a fair coin) and is biased toward 1/2:
    ``(G P(y > pi) + 1/2)/(G + 1)`` (kept as a negative control).
    """
    P = as_float_array(P, "P", error=InvalidPreferenceError)
    check_preference(P)
    ys = check_indices(ys, "ys", P.shape[0], what="response index").ravel()
    if not isinstance(rng, np.random.Generator):
        rng = as_generator(rng, "rng")
    n = ys.size
    if n < 2:
        raise InvalidInputError(f"ys: need at least 2 samples for a win fraction, got {n}.")
    wins = rng.random((n, n)) < P[ys[:, None], ys[None, :]]
    if include_self:
        wins = wins.astype(float)
        np.fill_diagonal(wins, rng.random(n) < 0.5)
        return wins.mean(axis=1)
    np.fill_diagonal(wins, False)
    return wins.sum(axis=1) / (n - 1)


@renamed(n_rounds="n_iter", eta="step_size")
def spo_selfplay(P, n_iter: int, n_samples: int, seed, *, step_size: float | None = None, record=None,
                 include_self: bool = False) -> GameResult:
    r"""SPO self-play (Swamy et al., "A Minimaximalist Approach to Reinforcement Learning from Human
    Feedback") with a tabular policy and an Exp3-style no-regret update.

    Each round draws ``n = n_samples`` responses from ``pi_t``, scores each by
    :func:`win_fraction_rewards`, and takes a Hedge step on the importance-weighted losses
    ``l_hat(y) = sum_i 1[y_i = y] (1 - r_i) / (n pi_t(y))`` (unbiased for ``1 - P(y > pi_t)``). Since
    ``E sum_y pi l_hat^2 <= 1 + K/n``, the default ``eta = sqrt(2 log K / (T (1 + K/n)))`` gives expected
    regret ``<= sqrt(2 T log K (1 + K/n))``; the average iterate's gap is regret / T.
    ``include_self=True`` scores with the biased self-including win fraction (negative control).
    """
    rng = as_generator(seed)
    P = as_float_array(P, "P", error=InvalidPreferenceError)
    check_preference(P)
    K = P.shape[0]
    n_rounds, eta = n_iter, step_size
    T = check_positive_int(n_rounds, "n_iter")
    n = check_positive_int(n_samples, "n_samples", minimum=2)
    if eta is not None:
        eta = check_positive_float(eta, "step_size", what="the Hedge step size")
    if eta is None:
        eta = float(np.sqrt(2 * np.log(K) / (T * (1 + K / n))))
    rec = set(np.unique(np.round(np.geomspace(1, T, 15)).astype(int)).tolist() if record is None else record)
    lp = np.full(K, -np.log(K))
    s = np.zeros(K)
    steps, pis, avgs = [], [], []
    for t in range(T):
        p = np.exp(lp)
        s += p
        ys = rng.choice(K, size=n, p=p)
        r = win_fraction_rewards(P, ys, rng, include_self=include_self)
        lhat = np.bincount(ys, weights=1 - r, minlength=K) / (n * p)
        lp = log_normalize(lp - eta * lhat)
        if t + 1 in rec:
            steps.append(t + 1)
            pis.append(np.exp(lp))
            avgs.append(s / (t + 1))
    steps = np.asarray(steps)
    return GameResult(method="spo", eta=float(eta), beta=0.0, steps=steps, queries=steps * n * (n - 1),
                   pi=np.asarray(pis), avg_pi=np.asarray(avgs))
