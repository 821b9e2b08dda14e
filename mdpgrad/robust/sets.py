r"""Uncertainty sets around a nominal kernel and their exact worst-case inner problems.

For a nominal distribution :math:`p \in \Delta_S` (one row ``P[s, a, :]``), a value vector
:math:`v` and a radius :math:`\kappa`, the *inner problem* of a robust Bellman update is

.. math:: \sigma_{\mathcal U}(v) = \min_{q \in \mathcal U(p, \kappa)} q^\top v .

Supported sets (``kind``), each with an exact solver vectorized over all rows at once:

============== =================================================== ==========================
kind           set :math:`\mathcal U(p,\kappa)` (intersected with Δ) exact solver
============== =================================================== ==========================
``"l1"``       :math:`\|q-p\|_1 \le \kappa`                       sorting, move κ/2 of mass
                                                                   from the highest to the
                                                                   lowest ``v`` (Iyengar 2005)
``"linf"``     :math:`\|q-p\|_\infty \le \kappa`                  box + one equality: greedy
                                                                   fill by increasing ``v``
``"l2"``       :math:`\|q-p\|_2 \le \kappa`                       ``q(t) = Π_Δ(p - t v)``,
                                                                   1-D root in ``t``
``"kl"``       :math:`\mathrm{KL}(q\|p) \le \kappa`               1-D dual
                                                                   :math:`\max_{\beta>0} -\beta\log E_p e^{-v/\beta}-\beta\kappa`
                                                                   (Nilim & El Ghaoui 2005)
``"chi2"``     :math:`\sum_i (q_i-p_i)^2/p_i \le \kappa`          1-D dual
                                                                   :math:`\max_\eta \eta-\sqrt{1+\kappa}\,\|(\eta-v)_+\|_{L^2(p)}`
                                                                   solved exactly segment by
                                                                   segment (Duchi & Namkoong)
``"contamination"`` :math:`\{(1-R)p + R\,y : y\in\Delta\}`        closed form
                                                                   :math:`(1-R)p^\top v + R\min v`
============== =================================================== ==========================

KL and chi-square sets only contain ``q`` absolutely continuous w.r.t. ``p`` (``q_i = 0``
where ``p_i = 0``); the other sets may move mass anywhere. Every solver returns the optimal
value and an optimal ``q`` (rows of the worst-case kernel).

(s, a)-rectangular sets apply one such ball to every row ``P[s, a, :]``; s-rectangular sets
share a budget over the actions of a state (see :mod:`mdpgrad.robust.srect`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError, InvalidUncertaintySetError
from ..policies import project_simplex
from ..validation import as_float_array, check_distribution, check_simplex

__all__ = [
    "KINDS",
    "InvalidUncertaintySetError",
    "UncertaintySet",
    "InnerSolution",
    "worst_case",
    "worst_case_values",
    "worst_case_l1",
    "worst_case_linf",
    "worst_case_l2",
    "worst_case_kl",
    "worst_case_chi2",
    "worst_case_contamination",
    "project_simplex",
]

KINDS = ("l1", "linf", "l2", "kl", "chi2", "contamination")
RECTANGULARITY = ("sa", "s")


def _check_radius(kind: str, radius, name: str = "radius") -> np.ndarray:
    r = as_float_array(radius, name, error=InvalidUncertaintySetError)
    bad = r < 0
    if bad.any():
        idx = np.argwhere(np.atleast_1d(bad))[0]
        raise InvalidUncertaintySetError(
            f"{name}{list(idx) if r.ndim else ''} = {np.atleast_1d(r)[tuple(idx)]:.6g} is negative; "
            f"a {kind!r} radius must be >= 0 (0 means the nominal model)."
        )
    if kind == "contamination" and (r > 1).any():
        raise InvalidUncertaintySetError(
            f"{name} = {np.max(r):.6g} > 1; an R-contamination level is a probability in [0, 1]."
        )
    return r


@dataclass(frozen=True)
class UncertaintySet:
    """A rectangular uncertainty set around a nominal kernel.

    Parameters
    ----------
    kind : one of ``"l1"``, ``"linf"``, ``"l2"``, ``"kl"``, ``"chi2"``, ``"contamination"``.
    radius : float >= 0 (in [0, 1] for contamination). For ``rectangularity="sa"`` the
        radius of every row's ball; for ``"s"`` the budget shared by the actions of a state,
        ``sum_a D(q_{s,a}, p_{s,a}) <= radius``.
    rectangularity : ``"sa"`` ((s, a)-rectangular, default) or ``"s"`` (s-rectangular).

    Examples
    --------
    >>> U = UncertaintySet("l1", 0.2)
    >>> float(worst_case(np.array([0.5, 0.5]), np.array([0.0, 1.0]), U).value)
    0.4
    """

    kind: str
    radius: float
    rectangularity: str = "sa"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InvalidUncertaintySetError(f"kind = {self.kind!r} is not known; choose one of {KINDS}.")
        if self.rectangularity not in RECTANGULARITY:
            raise InvalidUncertaintySetError(
                f"rectangularity = {self.rectangularity!r} is not known; choose 'sa' or 's'."
            )
        r = _check_radius(self.kind, self.radius)
        if r.ndim != 0:
            raise InvalidUncertaintySetError(
                f"radius: expected a scalar, got shape {r.shape}; pass per-row radii to worst_case directly."
            )
        object.__setattr__(self, "radius", float(r))

    def with_radius(self, radius) -> UncertaintySet:
        """The same set with another radius."""
        return UncertaintySet(self.kind, radius, self.rectangularity)


@dataclass(frozen=True)
class InnerSolution:
    """Solution of ``min_{q in U(p, radius)} q . v`` for a batch of rows.

    Attributes
    ----------
    value : (...,) optimal values.
    q : (..., S) an optimal ``q`` per row.
    """

    value: np.ndarray
    q: np.ndarray


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _prep(p, v, radius, kind):
    p = as_float_array(p, "p")
    v = as_float_array(v, "v")
    if p.ndim == 0 or p.shape[-1] == 0:
        raise InvalidInputError(f"p: expected rows of distributions p[..., S], got shape {p.shape}.")
    check_simplex(p, "p")
    if v.ndim == 0:
        raise InvalidInputError(f"v: expected values v[..., S] of the next states, got the scalar {float(v)!r}.")
    if v.shape[-1:] != p.shape[-1:]:
        raise InvalidInputError(f"v: last axis has length {v.shape[-1:]} but p rows have length {p.shape[-1]}.")
    r = _check_radius(kind, radius)
    lead = np.broadcast_shapes(p.shape[:-1], v.shape[:-1], r.shape)
    S = p.shape[-1]
    p = np.broadcast_to(p, lead + (S,))
    v = np.broadcast_to(v, lead + (S,))
    r = np.broadcast_to(r, lead)
    return p, v, r


def _sort_rows(p, v):
    """Rows of ``p`` and ``v`` reordered by increasing ``v`` (one argsort when ``v`` is shared)."""
    order = np.argsort(v, axis=-1, kind="stable")
    ps = np.take_along_axis(p, order, axis=-1)
    vs = np.take_along_axis(v, order, axis=-1)
    return ps, vs, order


def _unsort(qs, order):
    q = np.empty_like(qs)
    np.put_along_axis(q, order, qs, axis=-1)
    return q


def _solution(q, v):
    return InnerSolution(value=np.einsum("...s,...s->...", q, v), q=q)


# --------------------------------------------------------------------------------------
# exact inner solvers
# --------------------------------------------------------------------------------------


def worst_case_l1(p, v, radius) -> InnerSolution:
    r"""L1 ball: :math:`\min\{q^\top v : \|q-p\|_1\le\kappa,\ q\in\Delta\}`.

    Exact by sorting (Iyengar 2005, *Robust dynamic programming*; Petrik & Subramanian 2014):
    move :math:`m=\min(\kappa/2,\ 1-p_{i_0})` of mass onto a minimizer :math:`i_0` of ``v``,
    taken greedily from the states with the largest ``v``. O(S log S) per row, vectorized.
    """
    p, v, k = _prep(p, v, radius, "l1")
    ps, vs, order = _sort_rows(p, v)
    m = np.minimum(k / 2.0, 1.0 - ps[..., 0])
    # mass strictly above position j (in increasing-v order): suffix sums excluding j
    suffix_after = np.cumsum(ps[..., ::-1], axis=-1)[..., ::-1] - ps
    removed = np.clip(m[..., None] - suffix_after, 0.0, ps)
    removed[..., 0] = 0.0
    qs = ps - removed
    qs[..., 0] += m
    return _solution(_unsort(qs, order), v)


def worst_case_linf(p, v, radius) -> InnerSolution:
    r"""L-infinity ball: :math:`\min\{q^\top v : |q_i-p_i|\le\kappa,\ q\in\Delta\}`.

    A box :math:`[\max(p_i-\kappa,0),\min(p_i+\kappa,1)]` with one equality: start from the
    lower bounds and fill the remaining mass greedily in increasing ``v`` (fractional
    knapsack). Exact; O(S log S) per row.
    """
    p, v, k = _prep(p, v, radius, "linf")
    ps, vs, order = _sort_rows(p, v)
    lo = np.maximum(ps - k[..., None], 0.0)
    hi = np.minimum(ps + k[..., None], 1.0)
    cap = hi - lo
    rem = 1.0 - lo.sum(axis=-1)
    before = np.cumsum(cap, axis=-1) - cap
    add = np.clip(rem[..., None] - before, 0.0, cap)
    return _solution(_unsort(lo + add, order), v)


def worst_case_contamination(p, v, radius) -> InnerSolution:
    r"""R-contamination: :math:`\min_{y\in\Delta} ((1-R)p + R y)^\top v = (1-R)p^\top v + R\min_i v_i`.

    Closed form (Wang & Zou 2021, *Online robust RL with model uncertainty*).
    """
    p, v, R = _prep(p, v, radius, "contamination")
    i0 = np.argmin(v, axis=-1)
    q = (1.0 - R[..., None]) * p
    np.put_along_axis(q, i0[..., None], np.take_along_axis(q, i0[..., None], -1) + R[..., None], axis=-1)
    return _solution(q, v)


def worst_case_l2(p, v, radius, *, n_bisect: int = 200) -> InnerSolution:
    r"""L2 ball: :math:`\min\{q^\top v : \|q-p\|_2\le\kappa,\ q\in\Delta\}`.

    KKT: :math:`q(t)=\Pi_\Delta(p - t v)` for the multiplier :math:`t = 1/\lambda \ge 0`, and
    :math:`d(t)=\|q(t)-p\|_2` is nondecreasing in ``t`` (projections onto a convex set are
    monotone along a ray from a point of the set), constant for
    :math:`t \ge 2/\mathrm{gap}` (gap = distance from ``min v`` to the next value): then only
    minimizers of ``v`` keep mass. So either the ball reaches that limit point (the optimum
    is ``min v``) or the unique root of :math:`d(t)=\kappa` is found by bisection in
    :math:`\log t` (200 halvings of an 80-unit bracket: machine precision).
    """
    p, v, k = _prep(p, v, radius, "l2")
    lead, S = p.shape[:-1], p.shape[-1]
    vs = np.sort(v, axis=-1)
    dv = np.diff(vs, axis=-1)
    vmin = vs[..., 0]
    span = vs[..., -1] - vmin
    tol_tie = 1e-15 * np.maximum(1.0, np.abs(vs).max(axis=-1))
    gap = np.where(dv > tol_tie[..., None], dv, np.inf).min(axis=-1) if S > 1 else np.full(lead, np.inf)
    const = ~np.isfinite(gap) | (span <= tol_tie)
    gap = np.where(const, 1.0, gap)
    vc = v - vmin[..., None]  # shifting v does not change the projection's argmin structure
    t_hi = 4.0 / gap
    q_hi = project_simplex(p - t_hi[..., None] * vc)
    d_hi = np.linalg.norm(q_hi - p, axis=-1)
    u_hi = np.log(t_hi)
    u_lo = u_hi - 80.0
    for _ in range(n_bisect):
        u = 0.5 * (u_lo + u_hi)
        d = np.linalg.norm(project_simplex(p - np.exp(u)[..., None] * vc) - p, axis=-1)
        big = d > k
        u_hi = np.where(big, u, u_hi)
        u_lo = np.where(big, u_lo, u)
        if np.all(u_hi - u_lo <= 1e-13):  # relative precision of t ~ 1e-13: value exact to ~1e-13
            break
    q = project_simplex(p - np.exp(u_lo)[..., None] * vc)
    q = np.where((d_hi <= k)[..., None], q_hi, q)
    q = np.where(const[..., None], p, q)
    return _solution(q, v)


def support_min(p, v):
    """``min v`` over the support of ``p`` and the p-mass of its minimizers."""
    on = p > 0
    vmin = np.where(on, v, np.inf).min(axis=-1)
    at = on & (v <= vmin[..., None])
    return vmin, np.where(at, p, 0.0).sum(axis=-1), at


def kl_tilt(p, vc, beta):
    """``q_beta ∝ p exp(-vc/beta)`` and ``KL(q_beta || p)``, ``Var_q(vc)`` (vc >= 0 on supp p)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        logw = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)) - vc / beta[..., None], -np.inf)
        mx = logw.max(axis=-1, keepdims=True)
        w = np.exp(logw - mx)
        Z = w.sum(axis=-1, keepdims=True)
        q = w / Z
        logZ = (np.log(Z) + mx)[..., 0]  # = log E_p exp(-vc/beta)
        mean = np.einsum("...s,...s->...", q, vc)
        var = np.einsum("...s,...s->...", q, (vc - mean[..., None]) ** 2)
        kl = -mean / beta - logZ
    return q, np.maximum(kl, 0.0), var


def worst_case_kl(p, v, radius, *, max_iter: int = 200) -> InnerSolution:
    r"""KL ball: :math:`\min\{q^\top v : \mathrm{KL}(q\|p)\le\kappa\}`.

    Dual (Nilim & El Ghaoui 2005; Hu & Hong 2013):
    :math:`\max_{\beta>0} -\beta\log E_p[e^{-v/\beta}] - \beta\kappa`, attained at
    :math:`q_\beta\propto p\,e^{-v/\beta}`. The dual derivative is
    :math:`\mathrm{KL}(q_\beta\|p)-\kappa`, strictly decreasing in :math:`\beta` from
    :math:`-\log p(\arg\min_{\mathrm{supp}\,p} v)` (as :math:`\beta\to0`) to 0; so if
    :math:`\kappa \ge -\log p(\arg\min v)` the optimum is ``p`` conditioned on the minimizers,
    else :math:`\beta^*` solves :math:`\mathrm{KL}(q_\beta\|p)=\kappa` (safeguarded Newton in
    :math:`u=\log\beta` with :math:`d\,\mathrm{KL}/du=-\mathrm{Var}_{q_\beta}(v)/\beta^2`,
    bisection fallback, to machine precision).
    """
    p, v, k = _prep(p, v, radius, "kl")
    vmin, mmin, at = support_min(p, v)
    vc = np.where(p > 0, v - vmin[..., None], 0.0)
    span = vc.max(axis=-1)
    limit = -np.log(np.maximum(mmin, 1e-300))
    corner = (k >= limit) | (span <= 0) | (k <= 0)  # k = 0 rows are finished below (q = p)
    q_corner = np.where(at, p, 0.0) / np.maximum(mmin, 1e-300)[..., None]
    kk = np.where(corner, 0.5 * limit, k)  # dummy targets for finished rows
    kk = np.where(kk <= 0, 1.0, kk)
    spn = np.where(span > 0, span, 1.0)
    # bracket in u = log(beta): KL(beta) <= span^2 / (8 beta^2) (Hoeffding), so KL < kk at hi
    u_hi = np.log(spn) - 0.5 * np.log(8.0 * kk) + 1.0
    u_lo = u_hi - 8.0
    for _ in range(200):  # expand downward until KL > target (finite: KL -> limit > kk)
        _, kl, _ = kl_tilt(p, vc, np.exp(u_lo))
        need = (kl <= kk) & ~corner
        if not need.any():
            break
        u_lo = np.where(need, u_lo - 8.0, u_lo)
    u = 0.5 * (u_lo + u_hi)
    for _ in range(max_iter):
        beta = np.exp(u)
        _, kl, var = kl_tilt(p, vc, beta)
        f = kl - kk
        u_lo = np.where(f > 0, u, u_lo)
        u_hi = np.where(f > 0, u_hi, u)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            slope = -var / beta**2
            un = u - f / slope
        ok = np.isfinite(un) & (un > u_lo) & (un < u_hi)
        un = np.where(ok, un, 0.5 * (u_lo + u_hi))
        done = (np.abs(un - u) <= 1e-15 * np.maximum(1.0, np.abs(u))) | (u_hi - u_lo <= 1e-14) | corner
        u = un
        if done.all():
            break
    q, kl, _ = kl_tilt(p, vc, np.exp(u))
    q = np.where(corner[..., None], q_corner, q)
    q = np.where((k <= 0)[..., None], p, q)
    return _solution(q, v)


def worst_case_chi2(p, v, radius) -> InnerSolution:
    r"""Chi-square ball: :math:`\min\{q^\top v : \sum_i (q_i-p_i)^2/p_i\le\kappa\}` (q ≪ p).

    Dual (Duchi & Namkoong 2019, with :math:`\chi^2 = 2 D_f`, :math:`f(t)=(t-1)^2/2`):

    .. math:: \min_q q^\top v = \max_\eta\ \eta - \sqrt{1+\kappa}\,\sqrt{E_p[(\eta-v)_+^2]},

    concave in :math:`\eta`; its stationarity condition
    :math:`E_p[(\eta-v)_+]^2/E_p[(\eta-v)_+^2] = 1/(1+\kappa)` has a left side increasing in
    :math:`\eta`. On the segment where the active set is :math:`T=\{v_i<\eta\}` with mass
    :math:`m_0`, mean :math:`a` and variance :math:`s^2` (under ``p`` restricted to T) it reads
    :math:`(\eta-a)^2(m_0(1+\kappa)-1) = s^2`, solved exactly; the segment whose root lies
    inside it is the optimum. The primal solution is :math:`q_i\propto p_i(\eta-v_i)_+`.
    If :math:`m_0(\arg\min v)(1+\kappa)\ge 1` the optimum is ``p`` conditioned on the minimizers.
    """
    p, v, k = _prep(p, v, radius, "chi2")
    vmin, mmin, at = support_min(p, v)
    ps, vs, order = _sort_rows(p, v)
    m0 = np.cumsum(ps, axis=-1)
    m1 = np.cumsum(ps * vs, axis=-1)
    m2 = np.cumsum(ps * vs * vs, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = m1 / m0
        s2 = np.maximum(m2 / m0 - a * a, 0.0)
        # recompute the variance with centred sums for accuracy
        denom = m0 * (1.0 + k[..., None]) - 1.0
        X = np.sqrt(s2 / denom)
        eta = a + X
    S = p.shape[-1]
    upper = np.concatenate([vs[..., 1:], np.full(vs.shape[:-1] + (1,), np.inf)], axis=-1)
    valid = (denom > 0) & (m0 > 0) & np.isfinite(eta) & (eta >= vs) & (eta <= upper)
    j = np.argmax(valid, axis=-1)
    found = np.take_along_axis(valid, j[..., None], -1)[..., 0]
    eta_star = np.take_along_axis(eta, j[..., None], -1)[..., 0]
    w = p * np.maximum(eta_star[..., None] - v, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = w / w.sum(axis=-1, keepdims=True)
    corner = mmin * (1.0 + k) >= 1.0
    q_corner = np.where(at, p, 0.0) / np.maximum(mmin, 1e-300)[..., None]
    q = np.where(corner[..., None], q_corner, q)
    q = np.where(((k == 0) | (~found & ~corner))[..., None], p, q)
    del S
    return _solution(q, v)


_SOLVERS = {
    "l1": worst_case_l1,
    "linf": worst_case_linf,
    "l2": worst_case_l2,
    "kl": worst_case_kl,
    "chi2": worst_case_chi2,
    "contamination": worst_case_contamination,
}


def worst_case(p, v, uset: UncertaintySet, radius=None) -> InnerSolution:
    """Exact inner problem for every row of ``p`` (NumPy reference; see module docstring).

    ``radius`` overrides ``uset.radius`` (a scalar or an array broadcastable to the rows).
    ``p`` rows must be distributions (checked, never renormalized).
    """
    if not isinstance(uset, UncertaintySet):
        raise InvalidUncertaintySetError(f"uset: expected an UncertaintySet, got {type(uset).__name__}.")
    return _SOLVERS[uset.kind](p, v, uset.radius if radius is None else radius)


def worst_case_values(P2, v, uset: UncertaintySet, *, backend: str = "auto", radius=None,
                      check: bool = True) -> np.ndarray:
    """Optimal inner values ``sigma(v)`` for every row of ``P2[n, S]`` (shared ``v[S]``).

    Runs the kernel ``robust_inner_values`` of ``backend`` (:mod:`mdpgrad.backend`): the Numba
    twin compiles the ``l1``, ``linf``, ``kl`` and ``contamination`` sets (parallel over rows) and
    runs the NumPy reference for the others. ``check=False`` skips validation (internal callers whose
    ``P2`` and ``v`` are already checked: the inner loop of robust VI). The Numba kernel pays off for
    large ``S * A`` (about 10x over NumPy at S=500, A=8, see ``benchmarks/bench_robust.py``); for tiny
    problems thread start-up makes it slower.
    """
    from ..backend import get_backend

    if check:
        if not isinstance(uset, UncertaintySet):
            raise InvalidUncertaintySetError(f"uset: expected an UncertaintySet, got {type(uset).__name__}.")
        P2 = check_distribution(P2, "P2", ndim=2)
        v = as_float_array(v, "v", shape=(P2.shape[1],))
    kernel = get_backend(backend, kernel="robust_inner_values").kernel("robust_inner_values")
    return kernel(P2, v, uset.kind, uset.radius if radius is None else radius)
