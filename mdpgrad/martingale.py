r"""Policy evaluation in continuous time: the martingale approach (Jia & Zhou).

Paper: Y. Jia and X. Y. Zhou, "Policy Evaluation and Temporal-Difference Learning in Continuous
Time and Space: A Martingale Approach" (JMLR 2022).

For a diffusion ``dX_t = b(X_t) dt + sigma(X_t) dW_t`` with running reward ``r`` and discount rate
``beta``, the value ``V(x) = E[int_0^oo e^{-beta t} r(X_t) dt | X_0 = x]`` is characterized by the
martingale condition: ``M_t = e^{-beta t} V(X_t) + int_0^t e^{-beta s} r(X_s) ds`` is a martingale.
On a mesh ``t_k = k dt`` with ``q = e^{-beta dt}`` the estimators are

* **martingale loss (ML)**: ``min_theta sum_k e^{-2 beta t_k} (G_k - V_theta(X_k))^2`` with the
  discounted reward-to-go ``G_k = sum_{j >= k} q^{j-k} r(X_j) dt``: gradient Monte Carlo; its
  minimizer is the L2 projection of ``V`` onto the features (the measure of the visited states);
* **martingale orthogonality conditions (MOC)**: ``sum_k xi_k (q V_theta(X_{k+1}) - V_theta(X_k) +
  r(X_k) dt) = 0`` for test functions ``xi_k``: ``xi_k = phi(X_k)`` is LSTD(0) / TD(0)'s fixed point,
  eligibility traces ``xi_k = sum_{j <= k} (lambda_ q)^{k-j} phi(X_j)`` give LSTD(lambda) / TD(lambda);
  solving the same equations by stochastic approximation of ``min ||E[xi delta]||^2`` is GTD;
* **mean-square TD error (MSTDE)**: ``min_theta sum_k (q V_theta(X_{k+1}) - V_theta(X_k) + r dt)^2``.
  As ``dt -> 0``, ``MSTDE / dt -> E[|sigma^T grad V_theta|^2]`` (the quadratic variation of
  ``M``), so its minimizer is biased and the bias does not vanish with the mesh.

The Ornstein–Uhlenbeck case ``dX = -kappa X dt + sigma dW``, ``r(x) = -x^2`` has

.. math::  V(x) = -\frac{x^2}{\beta + 2\kappa} - \frac{\sigma^2}{\beta(\beta + 2\kappa)}

(from ``E[X_t^2] = x^2 e^{-2 kappa t} + sigma^2/(2 kappa) (1 - e^{-2 kappa t})``, integrated against
``e^{-beta t}``), and the Euler chain ``X_{k+1} = a X_k + sigma sqrt(dt) xi``, ``a = 1 - kappa dt``,
with Riemann-sum rewards has the exact discrete value (:func:`ou_value_euler`), so population
estimators at every mesh are computed exactly by Gauss–Hermite quadrature (exact for polynomial
features) in :func:`ou_population`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._compat import renamed
from .backend import get_backend
from .errors import InvalidInputError
from .td import eligibility_traces, lstd, td_on_data
from .validation import (
    as_float_array,
    as_generator,
    check_int,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
)

__all__ = [
    "simulate_linear_sde",
    "ou_paths",
    "ou_value",
    "ou_value_euler",
    "ou_stationary_variance",
    "polynomial_features",
    "martingale_loss_fit",
    "moc_fit",
    "mstde_fit",
    "moc_stochastic",
    "martingale_increments",
    "ou_population",
    "PopulationFit",
]


def _positive(x, name):
    return check_positive_float(x, name)


# --------------------------------------------------------------------------------------------
# simulation
# --------------------------------------------------------------------------------------------
def simulate_linear_sde(x0, drift_const, drift_matrix, diffusion, *, dt: float, n_steps: int,
                        record_every: int = 1, seed=0, backend="auto") -> np.ndarray:
    r"""Euler–Maruyama paths of ``dX = (c + B X) dt + Sigma dW`` (d-dimensional, vectorized over paths).

    ``x0``: ``(n_paths, d)`` initial states; ``drift_const`` ``c (d,)``; ``drift_matrix`` ``B (d, d)``;
    ``diffusion`` ``Sigma (d, m)``. Returns ``X[path, k, :]`` at times ``k * record_every * dt``.
    ``backend``: the kernel ``sde_euler`` on ``"numba"`` (compiled, parallel over paths; ``"auto"``),
    ``"numpy"`` (a time loop vectorized over paths; the same per-path SplitMix64 + Box–Muller streams,
    agreeing to round-off) or ``"cupy"`` (the device's generator: a different stream).
    """
    x0 = as_float_array(x0, "x0", ndim=2)
    n_paths, d = x0.shape
    c = as_float_array(drift_const, "drift_const", ndim=1)
    B = as_float_array(drift_matrix, "drift_matrix", ndim=2)
    Sig = as_float_array(diffusion, "diffusion", ndim=2)
    if c.shape != (d,) or B.shape != (d, d) or Sig.shape[0] != d:
        raise InvalidInputError(
            f"drift_const {c.shape}, drift_matrix {B.shape}, diffusion {Sig.shape}: expected ({d},), "
            f"({d}, {d}) and ({d}, m) for x0 of shape {x0.shape}.")
    dt = _positive(dt, "dt")
    n_steps = check_positive_int(n_steps, "n_steps")
    record_every = check_positive_int(record_every, "record_every")
    if n_steps % record_every:
        raise InvalidInputError(f"record_every = {record_every} must divide n_steps = {n_steps}.")
    base = int(as_generator(seed).integers(0, 2**62))
    seeds = np.arange(base, base + n_paths, dtype=np.uint64) * np.uint64(7919)
    args = (np.ascontiguousarray(x0), c, np.ascontiguousarray(B), np.ascontiguousarray(Sig), dt, n_steps,
            record_every, seeds)
    return get_backend(backend, kernel="sde_euler").kernel("sde_euler")(*args)


def ou_stationary_variance(kappa: float, sigma: float, dt: float | None = None) -> float:
    """``sigma^2 / (2 kappa)``; for the Euler chain (``dt`` given) ``sigma^2 dt / (1 - (1 - kappa dt)^2)``."""
    kappa, sigma = _positive(kappa, "kappa"), _positive(sigma, "sigma")
    if dt is None:
        return sigma**2 / (2 * kappa)
    a = 1 - kappa * _positive(dt, "dt")
    if abs(a) >= 1:
        raise InvalidInputError(f"dt = {dt}: the Euler chain is unstable for kappa dt >= 2.")
    return sigma**2 * dt / (1 - a**2)


def ou_paths(kappa: float, sigma: float, *, dt: float, n_steps: int, n_paths: int, x0=None, seed=0,
             exact: bool = False, backend="auto") -> np.ndarray:
    """OU paths ``(n_paths, n_steps + 1)``; ``x0=None`` draws ``X_0`` from the stationary law of the
    simulated chain (Euler chain, or the SDE when ``exact=True``: exact Gaussian transitions
    ``X' = e^{-kappa dt} X + sigma sqrt((1 - e^{-2 kappa dt}) / (2 kappa)) xi``)."""
    kappa, sigma, dt = _positive(kappa, "kappa"), _positive(sigma, "sigma"), _positive(dt, "dt")
    n_paths = check_positive_int(n_paths, "n_paths")
    n_steps = check_positive_int(n_steps, "n_steps")
    rng = as_generator(seed)
    if x0 is None:
        var = ou_stationary_variance(kappa, sigma, None if exact else dt)
        x0 = rng.normal(0.0, np.sqrt(var), n_paths)
    x0 = np.broadcast_to(as_float_array(x0, "x0"), (n_paths,)).astype(np.float64)
    if exact:
        a = np.exp(-kappa * dt)
        s = sigma * np.sqrt((1 - a**2) / (2 * kappa))
        z = rng.standard_normal((n_paths, n_steps))
        out = np.empty((n_paths, n_steps + 1))
        out[:, 0] = x0
        for k in range(n_steps):
            out[:, k + 1] = a * out[:, k] + s * z[:, k]
        return out
    X = simulate_linear_sde(x0[:, None], np.zeros(1), np.array([[-kappa]]), np.array([[sigma]]), dt=dt,
                            n_steps=n_steps, seed=rng, backend=backend)
    return X[:, :, 0]


def ou_value(x, kappa: float, sigma: float, beta: float):
    """Closed-form ``V(x) = -x^2/(beta + 2 kappa) - sigma^2/(beta (beta + 2 kappa))`` for ``r = -x^2``."""
    kappa, sigma, beta = _positive(kappa, "kappa"), _positive(sigma, "sigma"), _positive(beta, "beta")
    x = as_float_array(x, "x")
    return -(x**2) / (beta + 2 * kappa) - sigma**2 / (beta * (beta + 2 * kappa))


def ou_value_euler(x, kappa: float, sigma: float, beta: float, dt: float):
    r"""Exact value of the Euler chain with Riemann rewards, ``V_dt(x) = dt sum_j q^j E[-X_j^2 | X_0 = x]``.

    With ``a = 1 - kappa dt``, ``q = e^{-beta dt}`` and ``s^2`` the chain's stationary variance,
    ``E[X_j^2] = a^{2j} x^2 + s^2 (1 - a^{2j})``, so
    ``V_dt(x) = -dt [x^2 / (1 - q a^2) + s^2 (1/(1 - q) - 1/(1 - q a^2))]`` (-> :func:`ou_value` as dt -> 0).
    """
    kappa, sigma, beta, dt = (_positive(kappa, "kappa"), _positive(sigma, "sigma"), _positive(beta, "beta"),
                              _positive(dt, "dt"))
    a = 1 - kappa * dt
    q = np.exp(-beta * dt)
    s2 = ou_stationary_variance(kappa, sigma, dt)
    x = as_float_array(x, "x")
    return -dt * (x**2 / (1 - q * a**2) + s2 * (1 / (1 - q) - 1 / (1 - q * a**2)))


def polynomial_features(x, powers) -> np.ndarray:
    """``phi(x) = (x^p for p in powers)`` stacked on the last axis."""
    x = as_float_array(x, "x")
    powers = _powers(powers)
    out = np.stack([x**p for p in powers], axis=-1)
    if not np.all(np.isfinite(out)):
        raise InvalidInputError("x: x**p overflows float64 for these powers; rescale x or use lower powers.")
    return out


def _powers(powers) -> tuple[int, ...]:
    """Non-negative integer exponents, at least one."""
    if isinstance(powers, (str, bytes)) or not hasattr(powers, "__iter__"):
        raise InvalidInputError(f"powers = {powers!r:.60}: pass a sequence of integer exponents, e.g. (0, 1, 2).")
    p = tuple(powers)
    if not p:
        raise InvalidInputError("powers: empty; pass at least one exponent.")
    return tuple(check_int(q, "powers[i]", minimum=0, maximum=64) for q in p)


# --------------------------------------------------------------------------------------------
# estimators from sampled paths (1-D state; features given as a callable x -> (..., d))
# --------------------------------------------------------------------------------------------
def _check_callable(fn, name: str):
    if not callable(fn):
        raise InvalidInputError(f"{name}: expected a function of the states (e.g. lambda x: polynomial_features(x, "
                                f"(0, 1, 2))), got {type(fn).__name__}.")
    return fn


def _paths_inputs(x_paths, r_paths, dt, beta):
    x_paths = as_float_array(x_paths, "x_paths", ndim=2)
    r_paths = as_float_array(r_paths, "r_paths", ndim=2)
    if r_paths.shape != x_paths.shape:
        raise InvalidInputError(f"r_paths: shape {r_paths.shape} must equal x_paths' {x_paths.shape} "
                                "(the running reward r(X_k) at every recorded time).")
    return x_paths, r_paths, _positive(dt, "dt"), _positive(beta, "beta")


def martingale_loss_fit(x_paths, r_paths, features, *, dt: float, beta: float, t_max: float) -> np.ndarray:
    r"""Minimize the discretized martingale loss ``sum_{paths, t_k <= t_max} e^{-2 beta t_k}
    (G_k - phi(X_k) . theta)^2`` with ``G_k = dt sum_{k <= j < n} q^{j-k} r(X_j)``, ``q = e^{-beta dt}``.

    This is gradient Monte Carlo's least-squares target. The reward-to-go is truncated at the end
    of the path, which biases ``G_k`` by at most ``e^{-beta (T - t_max)} sup|V|``: pick ``t_max`` so
    that this is negligible.
    """
    x_paths, r_paths, dt, beta = _paths_inputs(x_paths, r_paths, dt, beta)
    _check_callable(features, "features")
    n_paths, n = x_paths.shape
    t_max = check_nonnegative_float(t_max, "t_max")
    k_max = int(np.floor(t_max / dt + 1e-9))
    if not (0 <= k_max < n - 1):
        raise InvalidInputError(f"t_max = {t_max}: must lie in [0, {(n - 2) * dt}] for paths of {n} points.")
    q = np.exp(-beta * dt)
    G = np.empty_like(r_paths)
    acc = np.zeros(n_paths)
    for k in range(n - 1, -1, -1):
        acc = r_paths[:, k] * dt + q * acc
        G[:, k] = acc
    phi = features(x_paths[:, : k_max + 1])
    w = np.exp(-beta * dt * np.arange(k_max + 1))  # sqrt of e^{-2 beta t}
    Xd = (phi * w[None, :, None]).reshape(-1, phi.shape[-1])
    yd = (G[:, : k_max + 1] * w[None, :]).reshape(-1)
    return np.linalg.lstsq(Xd, yd, rcond=None)[0]


def _td_arrays(x_paths, r_paths, features, dt, beta):
    phi = features(x_paths)
    d = phi.shape[-1]
    phi_t = phi[:, :-1].reshape(-1, d)
    phi_tp1 = phi[:, 1:].reshape(-1, d)
    r_t = (r_paths[:, :-1] * dt).reshape(-1)
    return phi, phi_t, phi_tp1, r_t, np.exp(-beta * dt)


@renamed(lam="lambda_")
def moc_fit(x_paths, r_paths, features, *, dt: float, beta: float, test: str = "features",
            lambda_: float = 0.0) -> np.ndarray:
    r"""Solve the sample martingale orthogonality conditions
    ``sum_{paths, k} xi_k (q phi(X_{k+1}) . theta - phi(X_k) . theta + r(X_k) dt) = 0``.

    ``test="features"``: ``xi_k = phi(X_k)`` (LSTD(0), the TD(0) fixed point); ``test="traces"``:
    ``xi_k = sum_{j <= k} (lambda_ q)^{k-j} phi(X_j)`` within each path (LSTD(lambda)). Implemented
    directly from the orthogonality equations (not through :func:`mdpgrad.td.lstd`), so the two
    can be compared.
    """
    x_paths, r_paths, dt, beta = _paths_inputs(x_paths, r_paths, dt, beta)
    _check_callable(features, "features")
    phi, _, _, _, q = _td_arrays(x_paths, r_paths, features, dt, beta)
    if test == "features":
        xi = phi[:, :-1]
    elif test == "traces":
        xi = np.empty_like(phi[:, :-1])
        acc = np.zeros((phi.shape[0], phi.shape[-1]))
        for k in range(phi.shape[1] - 1):
            acc = lambda_ * q * acc + phi[:, k]
            xi[:, k] = acc
    else:
        raise InvalidInputError(f"test = {test!r}: choose 'features' or 'traces'.")
    # sum_k xi_k (phi_k - q phi_{k+1})^T theta = sum_k xi_k r_k dt
    D = phi[:, :-1] - q * phi[:, 1:]
    A = np.einsum("pki,pkj->ij", xi, D)
    b = np.einsum("pki,pk->i", xi, r_paths[:, :-1] * dt)
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        raise InvalidInputError("x_paths, features: the moment matrix is singular (features collinear on these "
                                "paths); pass lam > 0, more varied paths or fewer features.") from None


@renamed(lam="lambda_")
def moc_via_lstd(x_paths, r_paths, features, *, dt: float, beta: float, lambda_: float = 0.0) -> np.ndarray:
    """The same estimator through :func:`mdpgrad.td.lstd` (traces restarted at each path)."""
    x_paths, r_paths, dt, beta = _paths_inputs(x_paths, r_paths, dt, beta)
    _check_callable(features, "features")
    phi, phi_t, phi_tp1, r_t, q = _td_arrays(x_paths, r_paths, features, dt, beta)
    n_paths, n = x_paths.shape
    disc = np.full((n_paths, n - 1), q)
    disc[:, -1] = 0.0  # cut the trace between paths (only affects the trace, see below)
    z = eligibility_traces(phi_t, disc.reshape(-1), lambda_)
    return lstd(phi_t, r_t, phi_tp1, discount_t=q, test_t=z)


def moc_stochastic(x_paths, r_paths, features, *, dt: float, beta: float, method: str = "td",
                   alpha: float = 0.005, beta_w: float = 0.02, n_passes: int = 4) -> np.ndarray:
    r"""Solve the MOC with test functions ``phi(X_k)`` by stochastic approximation (online TD(0),
    or GTD2 / TDC, which minimize ``||E[phi delta]||^2_{C^-1}``), sweeping the transitions path by
    path; returns the Polyak–Ruppert average of the last pass. Two errors relative to :func:`moc_fit`:
    the optimization transient, about ``exp(-alpha * lambda_min * N * n_passes)`` with ``N`` the number of
    transitions and ``lambda_min`` the smallest real eigenvalue of ``mean phi (phi - q phi')^T`` (of order
    ``beta dt``: small), and, once that has died out, an O(alpha) bias from constant steps on correlated
    (path-ordered) data, which halving ``alpha`` halves. The defaults suit ``N`` of order 10^5 or more:
    with 150 OU paths x 200 steps at dt = 0.05 (``lambda_min`` ~ 0.004) they stop ~10% off, and halving
    ``alpha`` while doubling ``n_passes`` leaves the transient unchanged (0.109 -> 0.091); with
    ``alpha * lambda_min * N * n_passes`` >= ~15 the error is first order in alpha (0.0054 -> 0.0026 ->
    0.0013; claim ``moc-stochastic-approx``)."""
    x_paths, r_paths, dt, beta = _paths_inputs(x_paths, r_paths, dt, beta)
    _check_callable(features, "features")
    _, phi_t, phi_tp1, r_t, q = _td_arrays(x_paths, r_paths, features, dt, beta)
    _, avg = td_on_data(phi_t, r_t, phi_tp1, discount_t=q, method=method, alpha=alpha, beta=beta_w,
                        n_passes=n_passes)
    return avg


def mstde_fit(x_paths, r_paths, features, *, dt: float, beta: float) -> np.ndarray:
    """Minimize the mean-square TD error ``sum (q V(X_{k+1}) - V(X_k) + r dt)^2`` (least squares)."""
    x_paths, r_paths, dt, beta = _paths_inputs(x_paths, r_paths, dt, beta)
    _check_callable(features, "features")
    _, phi_t, phi_tp1, r_t, q = _td_arrays(x_paths, r_paths, features, dt, beta)
    return np.linalg.lstsq(phi_t - q * phi_tp1, r_t, rcond=None)[0]


def martingale_increments(x_paths, times, value_fn, reward_fn, *, beta: float) -> np.ndarray:
    r"""``M_T - M_0`` per path, ``M_t = e^{-beta t} V(X_t) + int_0^t e^{-beta s} r(X_s) ds``
    (trapezoidal rule on the recorded grid ``times``)."""
    x_paths = as_float_array(x_paths, "x_paths", ndim=2)
    times = as_float_array(times, "times", shape=(x_paths.shape[1],))
    if times.size < 2 or np.any(np.diff(times) <= 0):
        raise InvalidInputError("times: need >= 2 strictly increasing times, one per column of x_paths.")
    _check_callable(value_fn, "value_fn")
    _check_callable(reward_fn, "reward_fn")
    beta = _positive(beta, "beta")
    beta = _positive(beta, "beta")
    disc = np.exp(-beta * times)
    integrand = disc[None, :] * reward_fn(x_paths)
    integral = np.sum(0.5 * (integrand[:, 1:] + integrand[:, :-1]) * np.diff(times)[None, :], axis=1)
    return disc[-1] * value_fn(x_paths[:, -1]) - value_fn(x_paths[:, 0]) + integral


# --------------------------------------------------------------------------------------------
# exact population estimators for the OU Euler chain (polynomial features)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PopulationFit:
    """Population (infinite-data) coefficients at one mesh ``dt`` (``dt = 0``: continuous limit)."""

    dt: float
    ml: np.ndarray
    moc: np.ndarray
    mstde: np.ndarray
    mstde_at_true_over_dt: float
    quadratic_variation: float


def _gh(n=40):
    z, w = np.polynomial.hermite_e.hermegauss(n)  # weight exp(-z^2/2)
    return z, w / np.sqrt(2 * np.pi)


def ou_population(kappa: float, sigma: float, beta: float, powers, dt: float) -> PopulationFit:
    r"""Exact population ML / MOC(features) / MSTDE coefficients for the OU Euler chain at mesh ``dt``.

    The chain starts (and stays) in its stationary law ``N(0, s_dt^2)``; expectations over
    ``(X, X' = a X + sigma sqrt(dt) xi)`` use a 40 x 40 Gauss–Hermite rule (exact for polynomials of
    degree <= 79). ML minimizes ``E[(V_dt(X) - phi . theta)^2]`` (``E[G | X] = V_dt(X)``), MOC solves
    ``E[phi(X) (phi(X) - q phi(X'))^T] theta = E[phi(X) r(X)] dt``, MSTDE minimizes
    ``E[(q phi(X') . theta - phi(X) . theta + r dt)^2]``. ``mstde_at_true_over_dt`` is that error at the
    true ``V`` divided by ``dt``; ``quadratic_variation = E[sigma^2 V'(X)^2]`` under the chain's law.
    """
    kappa, sigma, beta, dt = (_positive(kappa, "kappa"), _positive(sigma, "sigma"), _positive(beta, "beta"),
                              _positive(dt, "dt"))
    powers = _powers(powers)
    a = 1 - kappa * dt
    q = np.exp(-beta * dt)
    s = np.sqrt(ou_stationary_variance(kappa, sigma, dt))
    z, w = _gh()
    X = s * z[:, None] * np.ones((1, z.size))
    Xp = a * X + sigma * np.sqrt(dt) * z[None, :]
    W = w[:, None] * w[None, :]
    phi, phip = polynomial_features(X, powers), polynomial_features(Xp, powers)
    r = -(X**2)
    # ML: projection of V_dt
    C = np.einsum("ij,ijk,ijl->kl", W, phi, phi)
    ml = np.linalg.solve(C, np.einsum("ij,ijk,ij->k", W, phi, ou_value_euler(X, kappa, sigma, beta, dt)))
    D = phi - q * phip
    moc = np.linalg.solve(np.einsum("ij,ijk,ijl->kl", W, phi, D), np.einsum("ij,ijk,ij->k", W, phi, r * dt))
    mstde = np.linalg.solve(np.einsum("ij,ijk,ijl->kl", W, D, D), np.einsum("ij,ijk,ij->k", W, D, r * dt))
    V = lambda x: ou_value(x, kappa, sigma, beta)  # noqa: E731
    td_err = q * V(Xp) - V(X) + r * dt
    mstde_true = float(np.sum(W * td_err**2)) / dt
    qv = float(np.sum(w * (sigma * 2 * (s * z) / (beta + 2 * kappa)) ** 2))
    return PopulationFit(dt=dt, ml=ml, moc=moc, mstde=mstde, mstde_at_true_over_dt=mstde_true,
                         quadratic_variation=qv)


def ou_continuous_limits(kappa: float, sigma: float, beta: float, powers):
    r"""``dt -> 0`` limits: ML -> the L2(N(0, sigma^2/2kappa)) projection of ``V``; MOC -> the solution of
    ``E[phi (beta phi - L phi)^T] theta = E[phi r]`` with the generator ``L f = -kappa x f' + sigma^2/2 f''``.
    Returns ``(ml0, moc0)``."""
    kappa, sigma, beta = _positive(kappa, "kappa"), _positive(sigma, "sigma"), _positive(beta, "beta")
    powers = _powers(powers)
    z, w = _gh()
    x = np.sqrt(sigma**2 / (2 * kappa)) * z
    phi = polynomial_features(x, powers)
    C = np.einsum("i,ik,il->kl", w, phi, phi)
    ml0 = np.linalg.solve(C, np.einsum("i,ik,i->k", w, phi, ou_value(x, kappa, sigma, beta)))
    Lphi = np.stack([-kappa * p * x**p + 0.5 * sigma**2 * p * (p - 1) * x ** max(p - 2, 0) if p >= 2 else
                     -kappa * p * x**p for p in powers], axis=-1)
    A = np.einsum("i,ik,il->kl", w, phi, beta * phi - Lphi)
    moc0 = np.linalg.solve(A, np.einsum("i,ik,i->k", w, phi, -(x**2)))
    return ml0, moc0
