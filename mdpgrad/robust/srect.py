r"""s-rectangular uncertainty sets: one budget shared by the actions of a state.

.. math:: \mathcal U_s = \{(q_{s,a})_a : q_{s,a}\in\Delta,\ \textstyle\sum_a D(q_{s,a}, p_{s,a}) \le \kappa\}.

Reductions used (Ho, Petrik & Wiesemann 2018, *Fast Bellman updates for robust MDPs*;
Wiesemann, Kuhn & Rustem 2013):

* **optimal update.** With :math:`f_a(\xi)=\min_{D(q,p_{s,a})\le\xi} q^\top v` (convex,
  nonincreasing) and :math:`g_a = r_{s,a}+\gamma f_a`, minimax duality gives

  .. math:: (T v)(s) = \max_{\pi_s}\min_{\xi\ge0,\ \sum\xi_a\le\kappa}\sum_a\pi_a g_a(\xi_a)
            = \min_{\sum\xi_a\le\kappa}\max_a g_a(\xi_a)
            = \min\{u : \textstyle\sum_a g_a^{-1}(u)\le\kappa\},

  with :math:`g_a^{-1}(u)=\min\{\xi\ge 0: g_a(\xi)\le u\}`, found by bisection on ``u``.
  For L1, :math:`g_a^{-1}` is exact by sorting (drain the highest-``v`` mass first); for the
  other kinds it is itself a bisection on :math:`\xi` over the exact (s, a) solver.
* **policy evaluation (L1).** For fixed :math:`\pi`, the adversary moves mass ``m`` of action
  ``a`` from state ``j`` to :math:`\arg\min v` at budget cost ``2m`` and gain
  :math:`\gamma\pi_a(v_j-\min v)`: a fractional knapsack, solved exactly by sorting items.
"""

from __future__ import annotations

import numpy as np

from .sets import InvalidUncertaintySetError, UncertaintySet, worst_case

__all__ = ["srect_optimal_update", "srect_evaluation_update_l1", "srect_l1_maximin_policy"]


def _l1_inverse(ps, vs, target_drop):
    """Smallest L1 radius whose worst case lowers ``p . v`` by ``target_drop`` (rows sorted by v).

    Draining mass ``m`` from the top of the sorted order lowers the value by
    :math:`\\int_0^m (v_{top}(x) - v_0)\\,dx`; the radius is ``2m``. Returns ``inf`` if the
    drop exceeds the largest achievable one.
    """
    n, S = ps.shape
    gain = vs - vs[:, :1]  # per unit mass drained from position j
    # drain order: from the top (j = S-1) down to j = 1
    p_desc = ps[:, :0:-1]
    g_desc = gain[:, :0:-1]
    cum_m = np.cumsum(p_desc, axis=1)
    cum_d = np.cumsum(p_desc * g_desc, axis=1)
    td = np.maximum(target_drop, 0.0)[:, None]
    # first position where the cumulative drop reaches the target
    reach = cum_d >= td
    k = np.argmax(reach, axis=1)
    ok = reach[np.arange(n), k]
    prev_d = np.where(k > 0, cum_d[np.arange(n), np.maximum(k - 1, 0)], 0.0)
    prev_m = np.where(k > 0, cum_m[np.arange(n), np.maximum(k - 1, 0)], 0.0)
    gk = g_desc[np.arange(n), k]
    with np.errstate(divide="ignore", invalid="ignore"):
        extra = np.where(gk > 0, (td[:, 0] - prev_d) / gk, 0.0)
    m = prev_m + extra
    m = np.where(td[:, 0] <= 0, 0.0, m)
    return np.where(ok | (td[:, 0] <= 0), 2.0 * m, np.inf)


def srect_optimal_update(mdp, uset: UncertaintySet, v, *, n_bisect: int = 100) -> np.ndarray:
    r"""s-rectangular robust Bellman optimality update :math:`(T v)(s)` (see module docstring)."""
    if uset.rectangularity != "s":
        raise InvalidUncertaintySetError("uset: srect_optimal_update needs rectangularity='s'.")
    P, r, g = mdp.P, mdp.r, mdp.gamma
    S, A = r.shape
    v = np.asarray(v, dtype=np.float64)
    kappa = uset.radius
    P2 = P.reshape(S * A, S)
    g0 = (r + g * (P @ v)).reshape(S * A)  # nominal values (xi = 0)
    lo_inner = worst_case(P2, v, uset.with_radius(_max_radius(uset.kind, P2, v))).value
    g_inf = r.reshape(-1) + g * lo_inner  # values at an unlimited budget
    u_lo = g_inf.reshape(S, A).max(axis=1)  # no budget can push below max_a g_a(inf)
    u_hi = g0.reshape(S, A).max(axis=1)
    if kappa == 0:
        return u_hi
    if uset.kind == "l1":
        order = np.argsort(v)
        ps, vs = P2[:, order], np.broadcast_to(v[order], P2.shape)

        def need(u):
            drop = (g0 - np.repeat(u, A)) / g
            return _l1_inverse(ps, vs, drop).reshape(S, A).sum(axis=1)
    elif uset.kind == "kl":
        def need(u):
            return _kl_inverse(P2, v, (np.repeat(u, A) - r.reshape(-1)) / g).reshape(S, A).sum(axis=1)
    else:
        def need(u):
            return _generic_inverse(P2, v, uset, g0, r.reshape(-1), g, np.repeat(u, A)).reshape(S, A).sum(axis=1)

    for _ in range(n_bisect):
        mid = 0.5 * (u_lo + u_hi)
        feas = need(mid) <= kappa
        u_hi = np.where(feas, mid, u_hi)
        u_lo = np.where(feas, u_lo, mid)
        if np.all(u_hi - u_lo <= 1e-15 * np.maximum(1.0, np.abs(u_hi))):
            break
    return u_hi


def _kl_inverse(P2, v, w, n_bisect: int = 100):
    r"""Smallest KL radius whose worst-case value is ``<= w`` (per row).

    On the dual path :math:`q_\beta\propto p e^{-v/\beta}` the mean :math:`E_{q_\beta}v` increases
    from :math:`\min_{supp} v` to :math:`p^\top v` as :math:`\beta` grows, and
    :math:`q_\beta` is the KL-ball worst case for radius :math:`\mathrm{KL}(q_\beta\|p)`; so the
    inverse is :math:`\mathrm{KL}(q_{\beta(w)}\|p)` with :math:`E_{q_{\beta(w)}}v=w` (bisection in log beta).
    """
    from .sets import kl_tilt, support_min

    vmin, mmin, _ = support_min(P2, v[None, :])
    vc = np.where(P2 > 0, v[None, :] - vmin[:, None], 0.0)
    mean_p = np.sum(P2 * v, axis=1)
    span = np.maximum(vc.max(axis=1), 1e-300)
    wc = w - vmin
    u_lo = np.log(span) - 60.0
    u_hi = np.log(span) + 60.0
    for _ in range(n_bisect):
        mid = 0.5 * (u_lo + u_hi)
        q, _, _ = kl_tilt(P2, vc, np.exp(mid))
        big = np.sum(q * vc, axis=1) > wc
        u_hi = np.where(big, mid, u_hi)
        u_lo = np.where(big, u_lo, mid)
    _, kl, _ = kl_tilt(P2, vc, np.exp(u_lo))
    out = np.where(w >= mean_p, 0.0, kl)
    out = np.where(w <= vmin, np.where(w == vmin, -np.log(np.maximum(mmin, 1e-300)), np.inf), out)
    return out


def _max_radius(kind, P2, v):
    """A radius at which every row's inner value has reached its unconstrained minimum."""
    if kind == "l1":
        return 2.0
    if kind in ("linf", "l2"):
        return 2.0
    if kind == "contamination":
        return 1.0
    p_min = np.where(P2 > 0, P2, np.inf).min()
    if kind == "kl":
        return float(-np.log(p_min)) + 1.0
    return float(1.0 / p_min)  # chi2: 1/m0 - 1 < 1/p_min


def _generic_inverse(P2, v, uset, g0, r, g, u, n_bisect: int = 60):
    """``min{xi : r + g f(xi) <= u}`` by bisection on xi (f convex nonincreasing)."""
    hi = np.full(P2.shape[0], _max_radius(uset.kind, P2, v))
    lo = np.zeros(P2.shape[0])
    done0 = g0 <= u
    for _ in range(n_bisect):
        mid = 0.5 * (lo + hi)
        val = r + g * worst_case(P2, v, uset, radius=mid).value
        ok = val <= u
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    reach = r + g * worst_case(P2, v, uset, radius=hi).value <= u + 1e-12 * (1 + np.abs(u))
    return np.where(done0, 0.0, np.where(reach, hi, np.inf))


def srect_evaluation_update_l1(mdp, uset: UncertaintySet, pi, v):
    r"""s-rectangular L1 robust update for a fixed policy, and the worst-case kernel.

    :math:`(T^\pi v)(s) = \min_{\sum_a\|q_a-p_a\|_1\le\kappa}\sum_a\pi_a(r_{s,a}+\gamma q_a^\top v)`,
    a fractional knapsack over items (a, j): capacity :math:`p_{s,a,j}` of mass, budget cost 2
    per unit, gain :math:`\pi_a(v_j-\min v)`; items are taken by decreasing gain.
    Returns ``(Tv[S], P_worst[S, A, S])``.
    """
    if uset.rectangularity != "s" or uset.kind != "l1":
        raise InvalidUncertaintySetError("uset: srect_evaluation_update_l1 needs UncertaintySet('l1', r, 's').")
    P, r, g = mdp.P, mdp.r, mdp.gamma
    S, A = r.shape
    v = np.asarray(v, dtype=np.float64)
    i0 = int(np.argmin(v))
    gain = pi[:, :, None] * (v[None, None, :] - v[i0])  # (S, A, S)
    cap = P.copy()
    cap[:, :, i0] = 0.0
    flat_gain = gain.reshape(S, A * S)
    flat_cap = cap.reshape(S, A * S)
    order = np.argsort(-flat_gain, axis=1, kind="stable")
    gs = np.take_along_axis(flat_gain, order, 1)
    cs = np.take_along_axis(flat_cap, order, 1)
    cs = np.where(gs > 0, cs, 0.0)
    budget = uset.radius / 2.0
    before = np.cumsum(cs, axis=1) - cs
    take_sorted = np.clip(budget - before, 0.0, cs)
    take = np.empty_like(take_sorted)
    np.put_along_axis(take, order, take_sorted, axis=1)
    take = take.reshape(S, A, S)
    Pw = P - take
    Pw[:, :, i0] += take.sum(axis=2)
    tv = np.sum(pi * (r + g * (Pw @ v)), axis=1)
    return tv, Pw


def srect_l1_maximin_policy(mdp, uset: UncertaintySet, v):
    r"""Maximin (randomized) policy of the s-rectangular L1 robust update, by one LP per state.

    For fixed :math:`\pi_s` the adversary's problem is an LP in :math:`(q_a, t_a)`
    (:math:`-t_a\le q_a-p_a\le t_a`, :math:`\sum_a 1^\top t_a\le\kappa`, :math:`1^\top q_a=1`,
    :math:`q\ge0`); its LP dual

    .. math:: \max_{\alpha,\beta,\lambda\ge0,\ \mu}\ \sum_a\big[(\beta_a-\alpha_a)^\top p_a+\mu_a\big]-\lambda\kappa
              \ \text{s.t.}\ \gamma\pi_a v+\alpha_a-\beta_a-\mu_a\mathbf 1\ge0,\ \ \lambda-\alpha_a-\beta_a\ge0

    is jointly linear in :math:`(\pi_s,\alpha,\beta,\lambda,\mu)`, so
    :math:`\max_{\pi_s}\min_q` is a single LP (HiGHS). Returns ``(values[S], pi[S, A])``; the values
    equal :func:`srect_optimal_update` (an independent check of the bisection reduction).
    """
    import scipy.optimize

    if uset.rectangularity != "s" or uset.kind != "l1":
        raise InvalidUncertaintySetError("uset: srect_l1_maximin_policy needs UncertaintySet('l1', r, 's').")
    P, r, g = mdp.P, mdp.r, mdp.gamma
    S, A = r.shape
    v = np.asarray(v, dtype=np.float64)
    kappa = uset.radius
    n_pi, n_ab = A, A * S
    # variable layout: [pi (A), alpha (A*S), beta (A*S), lam (1), mu (A)]
    n = n_pi + 2 * n_ab + 1 + A
    i_al, i_be, i_lam, i_mu = n_pi, n_pi + n_ab, n_pi + 2 * n_ab, n_pi + 2 * n_ab + 1
    vals = np.empty(S)
    pol = np.empty((S, A))
    rows = []
    for a in range(A):
        for j in range(S):
            k = a * S + j
            row1 = np.zeros(n)  # -(g pi_a v_j + alpha - beta - mu_a) <= 0
            row1[a] = -g * v[j]
            row1[i_al + k] = -1.0
            row1[i_be + k] = 1.0
            row1[i_mu + a] = 1.0
            row2 = np.zeros(n)  # alpha + beta - lam <= 0
            row2[i_al + k] = 1.0
            row2[i_be + k] = 1.0
            row2[i_lam] = -1.0
            rows += [row1, row2]
    A_ub = np.array(rows)
    b_ub = np.zeros(len(rows))
    A_eq = np.zeros((1, n))
    A_eq[0, :A] = 1.0
    bounds = [(0, None)] * (n_pi + 2 * n_ab + 1) + [(None, None)] * A
    for s in range(S):
        c = np.zeros(n)  # maximize -> minimize the negative
        c[:A] = -r[s]
        c[i_al:i_al + n_ab] = P[s].reshape(-1)
        c[i_be:i_be + n_ab] = -P[s].reshape(-1)
        c[i_lam] = kappa
        c[i_mu:] = -1.0
        res = scipy.optimize.linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"s-rectangular maximin LP failed at state {s}: {res.message}")
        vals[s] = -res.fun
        pol[s] = np.clip(res.x[:A], 0.0, None)
        pol[s] /= pol[s].sum()
    return vals, pol
