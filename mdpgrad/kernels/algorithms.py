r"""Numba implementation of the exact softmax-family updates (the ``backend="numba"`` path of
:func:`mdpgrad.optimize`).

The update of each method is the same as its NumPy reference in :mod:`mdpgrad.algorithms.methods`
(tests check agreement to round-off); the kernel only fuses the loop so that ``n_iter`` iterations run
without returning to Python. Per iteration: ``pi = softmax(theta)``, ``M = I - gamma P_pi``,
``v = M^{-1} r_pi`` (``+ tau H(pi)``), ``d = (1 - gamma) M^{-T} rho`` when the update needs it,
``Q = r + gamma P v``, then the step. The linear systems reuse one LU factorization (LAPACK ``getrf`` /
``getrs`` through :mod:`mdpgrad._evaluate_kernels`, the routine ``scipy.linalg.lu_factor`` calls) across
iterations with iterative refinement to a normwise backward error of ``max(32, S) eps`` (inside the
``3 S eps`` backward-error bound of a direct LU solve, Higham 2002, Thm. 9.4), starting from a prediction
through the previous solutions (the predictor that did best at the last miss: the last solution, a
least-squares line / quadratic / cubic, or the exact cubic); the factorization is renewed when six steps do
not suffice or, ski-rental style, when the extra steps a stale factorization has cost add up to one
factorization (the policy moves little per step, so this is rare: a few factorizations per thousand
iterations). When the update needs no occupancy ``d`` (NPG, PMD, the ``rho``-weighted controls), the
refinement is matrix-free: one pass over ``P`` gives ``P v``, hence both the residual
``r_pi - v + gamma P_pi v`` and ``Q`` (:func:`_refine_free`), and ``M`` is built only to refactor -- one
pass over ``P`` per iteration once the predictions hit.

Modes (``mode``), with ``c`` the gradient scale (``1 / (1 - gamma)`` unless a control changes it) and
``w(s)`` the state weight (``d(s)``, or ``rho(s)`` for the ``weighting="rho"`` control):

* 0 -- softmax PG: ``theta += eta c w(s) pi(a|s) (Q_tau - tau log pi - V_tau)`` (Mei et al. 2020);
* 1 -- NPG: ``theta += eta c (Q - V)`` (Agarwal et al. 2021);
* 2 -- entropy NPG: ``theta = (1 - eta tau c) log pi + eta c Q_tau`` (Cen et al. 2021);
* 3 -- Polyak-step softmax PG: as 0 with ``eta_t = (f* - J_t) / ||grad||^2`` (clipped at ``max_step``);
* 4 -- KL policy mirror descent: ``theta += eta_k Q`` with ``eta_k = eta`` or ``eta / gamma^k``
  (Xiao 2022; Lan 2022).

:func:`exact_pg_run_batch` runs a batch of such runs (step sizes, initial logits, MDPs of one shape)
in parallel over the batch (``prange``); :func:`exact_pg_run_lockstep` runs a batch on *one* MDP in
lockstep, the batch as the innermost (SIMD) array axis -- the same arithmetic, with an LU without
pivoting (``I - gamma P_pi`` is strictly diagonally dominant by rows, so elimination needs none).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .._evaluate_kernels import getrf, getrs
from .common import softmax_unnormalized

# LLVM fast-math flags that keep inf/nan semantics (policies may underflow to exact zeros).
_FM = {"contract", "arcp", "reassoc", "nsz"}


# ------------------------------------------------------------------------------------------
# LU reuse (LAPACK getrf / getrs, shared with mdpgrad.evaluate) with iterative refinement
# ------------------------------------------------------------------------------------------
_EPS = 2.220446049250313e-16


@nb.njit(cache=True, fastmath=_FM)
def _refine(M, b, x, LU, piv, trans, max_steps, res, mnorm):  # pragma: no cover - compiled
    """Iterative refinement of ``x`` for ``M x = b`` (or ``M^T x = b``) with an old factorization
    (``LU``, ``piv`` from :func:`~mdpgrad._evaluate_kernels.getrf`).

    Stops when ``||b - M x||_inf <= max(32, n) eps (||M||_inf ||x||_inf + ||b||_inf)`` -- within the backward-error
    bound of a direct LU solve (LAPACK: ``O(n eps)``) -- and returns the number of correction steps taken; -1 if ``max_steps`` did not suffice.
    """
    n = M.shape[0]
    bnorm = 0.0
    for i in range(n):
        bnorm = max(bnorm, abs(b[i]))
    for k in range(max_steps + 1):
        xnorm = 0.0
        rnorm = 0.0
        for i in range(n):
            xnorm = max(xnorm, abs(x[i]))
        if not trans:
            for i in range(n):
                acc = b[i]
                for j in range(n):
                    acc -= M[i, j] * x[j]
                res[i] = acc
        else:
            for i in range(n):
                res[i] = b[i]
            for j in range(n):
                xj = x[j]
                for i in range(n):
                    res[i] -= M[j, i] * xj
        for i in range(n):
            rnorm = max(rnorm, abs(res[i]))
        if rnorm <= max(32.0, n) * _EPS * (mnorm * xnorm + bnorm):
            return k
        getrs(LU, piv, res, trans)
        for i in range(n):
            x[i] += res[i]
    return -1




@nb.njit(cache=True, fastmath=_FM)
def _m_row(pi, s, M, P, gamma):  # pragma: no cover - compiled
    """``M[s] = e_s - gamma sum_a pi[s, a] P[s, a]``, four actions per pass over the row."""
    S = M.shape[0]
    A = pi.shape[1]
    for t in range(S):
        M[s, t] = 0.0
    a = 0
    while a + 4 <= A:
        g0 = gamma * pi[s, a]
        g1 = gamma * pi[s, a + 1]
        g2 = gamma * pi[s, a + 2]
        g3 = gamma * pi[s, a + 3]
        for t in range(S):
            M[s, t] -= g0 * P[s, a, t] + g1 * P[s, a + 1, t] + g2 * P[s, a + 2, t] + g3 * P[s, a + 3, t]
        a += 4
    while a < A:
        g = gamma * pi[s, a]
        for t in range(S):
            M[s, t] -= g * P[s, a, t]
        a += 1
    M[s, s] += 1.0


@nb.njit(cache=True, fastmath=_FM)
def _policy_row(theta, s, pi, logpi, H, M, P, r, rpi, gamma, tau, build_m):  # pragma: no cover - compiled
    """Row ``s``: ``pi = softmax(theta)``, ``log pi = theta - max - log z`` (one log per row), the entropy,
    ``r_pi[s] (+ tau H[s])`` and (``build_m``) ``M[s] = e_s - gamma P_pi[s]`` -- all from the block ``P[s]``,
    which stays in cache while the row is built."""
    A = theta.shape[1]
    m, z = softmax_unnormalized(theta[s], pi[s])
    inv = 1.0 / z
    lz = np.log(z)
    h = 0.0
    acc = 0.0
    for a in range(A):
        p = pi[s, a] * inv
        pi[s, a] = p
        lp = theta[s, a] - m - lz
        logpi[s, a] = lp
        h -= p * lp
        acc += p * r[s, a]
    if build_m:
        _m_row(pi, s, M, P, gamma)
    H[s] = h
    rpi[s] = acc + tau * h


@nb.njit(cache=True, fastmath=_FM)
def _refine_free(P, r, gamma, pi, rpi, v, qall, LU, piv, max_steps, res):  # pragma: no cover - compiled
    """Iterative refinement of ``v`` for ``M v = r_pi`` without ``M``: each step is one pass over ``P`` that
    forms ``z = P[s, a] . v``, the residual ``r_pi - v + gamma sum_a pi(a|s) z`` and ``Q = r + gamma z``
    (into ``qall``: the ``Q`` of the returned ``v``), then corrects with the old factorization. Stop rule
    and return value as :func:`_refine`; on success ``res`` holds the correction the next step would have
    made (the caller adds it to ``v`` once ``v`` and ``Q`` are used: the predictions start from it)."""
    S, A = r.shape
    for k in range(max_steps + 1):
        rn = 0.0
        xn = 0.0
        bn = 0.0
        for s in range(S):
            acc = 0.0
            a = 0
            while a + 2 <= A:
                z0 = 0.0
                z1 = 0.0
                for t in range(S):
                    z0 += P[s, a, t] * v[t]
                    z1 += P[s, a + 1, t] * v[t]
                qall[s, a] = r[s, a] + gamma * z0
                qall[s, a + 1] = r[s, a + 1] + gamma * z1
                acc += pi[s, a] * z0 + pi[s, a + 1] * z1
                a += 2
            while a < A:
                z = 0.0
                for t in range(S):
                    z += P[s, a, t] * v[t]
                qall[s, a] = r[s, a] + gamma * z
                acc += pi[s, a] * z
                a += 1
            res[s] = rpi[s] - v[s] + gamma * acc
            rn = max(rn, abs(res[s]))
            xn = max(xn, abs(v[s]))
            bn = max(bn, abs(rpi[s]))
        if rn <= max(32.0, S) * _EPS * ((1.0 + gamma) * xn + bn):
            getrs(LU, piv, res, False)  # the next correction, for a cleaner history of solutions
            return k
        if k == max_steps:
            break
        getrs(LU, piv, res, False)
        for s in range(S):
            v[s] += res[s]
    return -1


@nb.njit(cache=True, fastmath=_FM)
def _q_row(P, r, gamma, v, s, qrow, qall, have_q):  # pragma: no cover - compiled
    """``qrow[a] = r[s, a] + gamma P[s, a] . v`` (copied from ``qall[s]`` when ``have_q``)."""
    S = v.shape[0]
    if have_q:
        for a in range(qrow.shape[0]):
            qrow[a] = qall[s, a]
        return
    for a in range(qrow.shape[0]):
        z = 0.0
        for t in range(S):
            z += P[s, a, t] * v[t]
        qrow[a] = r[s, a] + gamma * z


# One-step-ahead predictors through the previous solutions (newest first): the last solution, least-squares
# lines through 4 and quadratics / cubics through 8 (round-off noise amplified at most 1.2-2.5x), and the
# exact cubic through 4 (for fast smooth transients; noise amplified 8.3x).
_NHIST = 8
_COEF = np.zeros((5, _NHIST))
for _o, (_deg, _n) in enumerate([(0, 1), (1, 4), (2, 8), (3, 8), (3, 4)]):
    _t = -np.arange(1.0, _n + 1.0)
    _COEF[_o, :_n] = np.linalg.pinv(np.vander(_t, _deg + 1, increasing=True))[0]


@nb.njit(cache=True, fastmath=_FM)
def _extrapolate(x, h, order):  # pragma: no cover - compiled
    """Push the last solution ``x`` onto the history ``h`` (newest first) and overwrite ``x`` with the
    prediction ``_COEF[order]`` through ``h``."""
    c = _COEF[order]
    n = h.shape[0]
    for i in range(x.shape[0]):
        for j in range(n - 1, 0, -1):
            h[j, i] = h[j - 1, i]
        h[0, i] = x[i]
        acc = 0.0
        for j in range(n):
            acc += c[j] * h[j, i]
        x[i] = acc


@nb.njit(cache=True, fastmath=_FM)
def _best_order(x, h):  # pragma: no cover - compiled
    """The predictor (row of ``_COEF``) whose prediction from ``h`` came closest to the solution ``x`` (sup
    norm): extrapolation while the trajectory moves smoothly, smoothing once it has settled to round-off."""
    best = 0
    err_best = np.inf
    n = h.shape[0]
    for o in range(_COEF.shape[0]):
        c = _COEF[o]
        e = 0.0
        for i in range(x.shape[0]):
            acc = 0.0
            for j in range(n):
                acc += c[j] * h[j, i]
            e = max(e, abs(x[i] - acc))
        if e < err_best:
            err_best = e
            best = o
    return best


@nb.njit(cache=True, fastmath=_FM)
def _run_one(P, r, gamma, rho, theta0, mode, eta, tau, scale, use_rho, geometric, f_star, max_step,
             n_iter, record_every, a_star, want_entropy, values, reg_values, entropies, steps, theta):  # pragma: no cover
    """One run; writes the records and the final logits ``theta`` in place; returns
    ``(min_t,s pi_t(a_star[s]|s), number of LU factorizations)``.

    Each iteration is one pass over ``P`` after the solves: per state, ``Q[s]`` from ``P[s]``, the new
    logits, the new policy row and the new row of ``M`` while ``P[s]`` is in cache; without occupancy the
    refinement passes over ``P`` yield ``Q`` and ``M`` is built only to refactor (module docstring)."""
    S, A = theta0.shape
    for s in range(S):
        for a in range(A):
            theta[s, a] = theta0[s, a]
    pi = np.empty((S, A))
    logpi = np.zeros((S, A))
    qrow = np.empty(A)
    grad = np.empty((S, A))
    H = np.zeros(S)
    colsum = np.empty(S)
    M = np.empty((S, S))
    LU = np.empty((S, S))
    piv = np.empty(S, dtype=np.int32)
    rpi = np.empty(S)
    rhs_d = (1.0 - gamma) * rho
    v = np.zeros(S)
    d = np.zeros(S)
    hv = np.zeros((_NHIST, S))  # previous solutions, newest first
    hd = np.zeros((_NHIST, S))
    order_v = 4  # predictor of the next guess (the one that predicted the last solution best)
    order_d = 4
    res = np.empty(S)
    qall = np.empty((S, A))
    need_d = ((mode == 0 or mode == 3) and not use_rho) or tau > 0.0
    m_fresh = True  # M is I - gamma P_pi of the current policy (built each iteration only when d is needed)
    min_star = 1.0
    n_fact = 0
    have_lu = False
    debt = 0
    base_steps = -1
    # one factorization (~S^3 / 3 flops, plus building M) in refinement steps (~2 S^2 flops with M; a pass
    # over P, ~2 S^2 A flops, without)
    factor_cost = max(S // 6, 1) if need_d else max(S // (2 * A), 2)
    k = 0
    for s in range(S):
        _policy_row(theta, s, pi, logpi, H, M, P, r, rpi, gamma, tau, True)
    for it in range(n_iter + 1):
        for s in range(S):
            if a_star[s] >= 0 and pi[s, a_star[s]] < min_star:
                min_star = pi[s, a_star[s]]
        # Norms in the backward-error stop rule: ||M||_inf <= 1 + gamma (rows of P_pi sum to 1);
        # ||M^T||_inf = the largest column sum of |M|, which can exceed 1 + gamma (states many others reach).
        mnorm_t = 1.0 + gamma
        if need_d:
            for t in range(S):
                colsum[t] = 0.0
            for i in range(S):
                for t in range(S):
                    colsum[t] += abs(M[i, t])
            for t in range(S):
                if colsum[t] > mnorm_t:
                    mnorm_t = colsum[t]
        ok = False
        have_q = False
        kv = -1
        if have_lu and debt < factor_cost:
            _extrapolate(v, hv, order_v)  # the starting guesses
            if need_d:
                _extrapolate(d, hd, order_d)
            if need_d:
                kv = _refine(M, rpi, v, LU, piv, False, 6, res, 1.0 + gamma)
            else:
                kv = _refine_free(P, r, gamma, pi, rpi, v, qall, LU, piv, 6, res)
                have_q = kv >= 0
            kd = 0
            if kv >= 0 and need_d:
                kd = _refine(M, rhs_d, d, LU, piv, True, 6, res, mnorm_t)
            ok = kv >= 0 and kd >= 0
            # Ski rental: refactor once the correction steps beyond those a fresh factorization needs
            # (counted at its first reuse), each ~2 S^2 flops, have cost as much as one factorization (~S^3 / 3).
            if base_steps < 0:
                base_steps = kv + kd
            else:
                debt += max(kv + kd - base_steps, 0)
        if not ok:
            if not m_fresh:
                for s in range(S):
                    _m_row(pi, s, M, P, gamma)
                m_fresh = True
            debt = 0
            base_steps = -1
            for i in range(S):
                for j in range(S):
                    LU[i, j] = M[i, j]
            getrf(LU, piv)
            n_fact += 1
            have_lu = True
            for i in range(S):
                v[i] = rpi[i]
                d[i] = rhs_d[i]
            getrs(LU, piv, v, False)
            _refine(M, rpi, v, LU, piv, False, 2, res, 1.0 + gamma)
            if need_d:
                getrs(LU, piv, d, True)
                _refine(M, rhs_d, d, LU, piv, True, 2, res, mnorm_t)
            if it == 0:
                for j in range(_NHIST):
                    for i in range(S):
                        hv[j, i] = v[i]
                        hd[j, i] = d[i]
        if kv != 0:  # the guess needed corrections (or there was none): choose the predictor anew
            order_v = _best_order(v, hv)
            if need_d:
                order_d = _best_order(d, hd)
        val = 0.0
        for s in range(S):
            val += rho[s] * v[s]
        rec = it % record_every == 0
        if rec:
            plain = val
            if tau > 0.0:  # rho.v_tau = rho.v + tau/(1-gamma) d.H  (d normalized occupancy)
                dh = 0.0
                for s in range(S):
                    dh += d[s] * H[s]
                plain = val - tau * dh / (1.0 - gamma)
            values[k] = plain
            reg_values[k] = val
            if want_entropy:
                e = 0.0
                for s in range(S):
                    e += rho[s] * H[s]
                entropies[k] = e
        step = 0.0
        if it < n_iter:
            step = eta
            if mode == 3:  # Polyak: the step needs ||grad||^2 before any logit moves (one extra pass)
                gnorm2 = 0.0
                for s in range(S):
                    _q_row(P, r, gamma, v, s, qrow, qall, have_q)
                    ws = scale * (rho[s] if use_rho else d[s])
                    for a in range(A):
                        g = ws * pi[s, a] * (qrow[a] - tau * logpi[s, a] - v[s])
                        grad[s, a] = g
                        gnorm2 += g * g
                step = (f_star - val) / gnorm2 if gnorm2 > 0.0 else 0.0
                if step < 0.0:
                    step = 0.0
                if max_step > 0.0 and step > max_step:
                    step = max_step
            elif mode == 4:
                step = eta / gamma ** it if geometric else eta
                if step > 1e300:  # the step is greedy long before; keeps eta_k * (Q - max Q) finite
                    step = 1e300
            keep = 1.0 - eta * tau * scale
            for s in range(S):
                if mode == 3:
                    for a in range(A):
                        theta[s, a] += step * grad[s, a]
                else:
                    _q_row(P, r, gamma, v, s, qrow, qall, have_q)
                    if mode == 0:
                        ws = eta * scale * (rho[s] if use_rho else d[s])
                        for a in range(A):
                            theta[s, a] += ws * pi[s, a] * (qrow[a] - tau * logpi[s, a] - v[s])
                    elif mode == 1:
                        for a in range(A):
                            theta[s, a] += eta * scale * (qrow[a] - v[s])
                    else:
                        mx = -np.inf
                        if mode == 2:
                            for a in range(A):
                                theta[s, a] = keep * logpi[s, a] + eta * scale * qrow[a]
                                if theta[s, a] > mx:
                                    mx = theta[s, a]
                        else:
                            qm = qrow[0]
                            for a in range(1, A):
                                if qrow[a] > qm:
                                    qm = qrow[a]
                            for a in range(A):
                                theta[s, a] += step * (qrow[a] - qm)
                                if theta[s, a] > mx:
                                    mx = theta[s, a]
                        for a in range(A):
                            theta[s, a] -= mx
                _policy_row(theta, s, pi, logpi, H, M, P, r, rpi, gamma, tau, need_d)
            m_fresh = need_d
            if have_q:  # v and Q are used: keep the corrected solution for the next prediction
                for s in range(S):
                    v[s] += res[s]
        if rec:
            steps[k] = step
            k += 1
    return min_star, n_fact


@nb.njit(cache=True, parallel=True)
def exact_pg_run_batch(P, r, gamma, rho, theta0, mode, eta, tau, scale, use_rho, geometric, f_star, max_step,
                       n_iter, record_every, a_star, want_entropy):  # pragma: no cover
    """``B`` runs in parallel (``prange``). ``P (B_P, S, A, S)``, ``r (B_P, S, A)``, ``rho (B_P, S)``,
    ``gamma (B_P,)`` with ``B_P`` 1 or ``B``; ``theta0 (B, S, A)``; ``eta, f_star (B,)``; ``a_star (B_P, S)``.
    Returns ``(values, reg_values, entropies, steps, min_pi_star, n_fact, theta)`` with a leading ``B`` axis."""
    B, S, A = theta0.shape
    n_rec = n_iter // record_every + 1
    values = np.empty((B, n_rec))
    reg_values = np.empty((B, n_rec))
    entropies = np.full((B, n_rec), np.nan)
    steps = np.empty((B, n_rec))
    min_star = np.empty(B)
    n_fact = np.empty(B, dtype=np.int64)
    theta = np.empty((B, S, A))
    shared = P.shape[0] == 1
    for bb in nb.prange(B):
        b = np.int64(bb)
        i = np.int64(0) if shared else b
        ms, nf = _run_one(P[i], r[i], gamma[i], rho[i], theta0[b], mode, eta[b], tau, scale[i], use_rho, geometric,
                          f_star[b], max_step, n_iter, record_every, a_star[i], want_entropy, values[b],
                          reg_values[b], entropies[b], steps[b], theta[b])
        min_star[b] = ms
        n_fact[b] = nf
    return values, reg_values, entropies, steps, min_star, n_fact, theta


@nb.njit(cache=True)
def exact_pg_run(P, r, gamma, rho, theta0, mode, eta, tau, scale, use_rho, geometric, f_star, max_step,
                 n_iter, record_every, a_star, want_entropy):  # pragma: no cover
    """One run (no thread pool); returns the same tuple as :func:`exact_pg_run_batch` without the batch axis."""
    S, A = theta0.shape
    n_rec = n_iter // record_every + 1
    values = np.empty(n_rec)
    reg_values = np.empty(n_rec)
    entropies = np.full(n_rec, np.nan)
    steps = np.empty(n_rec)
    theta = np.empty((S, A))
    ms, nf = _run_one(P, r, gamma, rho, theta0, mode, eta, tau, scale, use_rho, geometric, f_star, max_step,
                      n_iter, record_every, a_star, want_entropy, values, reg_values, entropies, steps, theta)
    return values, reg_values, entropies, steps, ms, nf, theta


# ------------------------------------------------------------------------------------------
# Lockstep batch: many runs on one MDP, the batch as the innermost (SIMD) axis
# ------------------------------------------------------------------------------------------
@nb.njit(cache=True, fastmath=_FM)
def _ls_policy(th, pi, logpi, H, M, P, r, rpi, gamma, tau, zb, mb):  # pragma: no cover - compiled
    """All rows, all runs: ``pi = softmax(th)``, ``log pi``, entropy, ``r_pi (+ tau H)``, ``M = I - gamma P_pi``."""
    S, A, B = th.shape
    for s in range(S):
        for b in range(B):
            mb[b] = th[s, 0, b]
        for a in range(1, A):
            for b in range(B):
                mb[b] = max(mb[b], th[s, a, b])
        for b in range(B):
            zb[b] = 0.0
        for a in range(A):
            for b in range(B):
                e = np.exp(th[s, a, b] - mb[b])
                pi[s, a, b] = e
                zb[b] += e
        for b in range(B):
            H[s, b] = 0.0
            rpi[s, b] = 0.0
            mb[b] = mb[b] + np.log(zb[b])
            zb[b] = 1.0 / zb[b]
        for t in range(S):
            for b in range(B):
                M[s, t, b] = 0.0
        for a in range(A):
            ra = r[s, a]
            for b in range(B):
                p = pi[s, a, b] * zb[b]
                pi[s, a, b] = p
                lp = th[s, a, b] - mb[b]
                logpi[s, a, b] = lp
                H[s, b] -= p * lp
                rpi[s, b] += p * ra
            for t in range(S):
                gp = gamma * P[s, a, t]
                for b in range(B):
                    M[s, t, b] -= gp * pi[s, a, b]
        for b in range(B):
            M[s, s, b] += 1.0
            rpi[s, b] += tau * H[s, b]


@nb.njit(cache=True, fastmath=_FM)
def _ls_factor(M, LU):  # pragma: no cover - compiled
    """LU without pivoting of every ``M[:, :, b]`` (strictly diagonally dominant by rows: margin ``1 - gamma``,
    kept by elimination, growth factor <= 2, so no pivoting is needed)."""
    S, _, B = M.shape
    for i in range(S):
        for j in range(S):
            for b in range(B):
                LU[i, j, b] = M[i, j, b]
    f = np.empty(B)
    for k in range(S):
        for i in range(k + 1, S):
            for b in range(B):
                f[b] = LU[i, k, b] / LU[k, k, b]
                LU[i, k, b] = f[b]
            for j in range(k + 1, S):
                for b in range(B):
                    LU[i, j, b] -= f[b] * LU[k, j, b]


@nb.njit(cache=True, fastmath=_FM)
def _ls_solve(LU, x, trans):  # pragma: no cover - compiled
    """In place: ``x <- M^{-1} x`` (``M = L U``) or ``M^{-T} x``, every run."""
    S, _, B = LU.shape
    if not trans:
        for i in range(S):
            for j in range(i):
                for b in range(B):
                    x[i, b] -= LU[i, j, b] * x[j, b]
        for i in range(S - 1, -1, -1):
            for j in range(i + 1, S):
                for b in range(B):
                    x[i, b] -= LU[i, j, b] * x[j, b]
            for b in range(B):
                x[i, b] /= LU[i, i, b]
    else:
        for i in range(S):
            for j in range(i):
                for b in range(B):
                    x[i, b] -= LU[j, i, b] * x[j, b]
            for b in range(B):
                x[i, b] /= LU[i, i, b]
        for i in range(S - 1, -1, -1):
            for j in range(i + 1, S):
                for b in range(B):
                    x[i, b] -= LU[j, i, b] * x[j, b]


@nb.njit(cache=True, fastmath=_FM)
def _ls_refine(M, rhs, x, LU, trans, max_steps, res, mnorm, nb_, nx, nr):  # pragma: no cover - compiled
    """Lockstep iterative refinement (see :func:`_refine`); every run corrects until all pass the stop rule."""
    S, _, B = M.shape
    for b in range(B):
        nb_[b] = 0.0
    for s in range(S):
        for b in range(B):
            nb_[b] = max(nb_[b], abs(rhs[s, b]))
    for k in range(max_steps + 1):
        for s in range(S):
            for b in range(B):
                res[s, b] = rhs[s, b]
        if not trans:
            for s in range(S):
                for t in range(S):
                    for b in range(B):
                        res[s, b] -= M[s, t, b] * x[t, b]
        else:
            for s in range(S):
                for t in range(S):
                    for b in range(B):
                        res[t, b] -= M[s, t, b] * x[s, b]
        for b in range(B):
            nx[b] = 0.0
            nr[b] = 0.0
        for s in range(S):
            for b in range(B):
                nx[b] = max(nx[b], abs(x[s, b]))
                nr[b] = max(nr[b], abs(res[s, b]))
        done = True
        for b in range(B):
            if nr[b] > 32.0 * _EPS * (mnorm[b] * nx[b] + nb_[b]):
                done = False
        if done:
            return k
        if k == max_steps:
            break
        _ls_solve(LU, res, trans)
        for s in range(S):
            for b in range(B):
                x[s, b] += res[s, b]
    return -1


@nb.njit(cache=True, fastmath=_FM)
def _lockstep(P, r, gamma, rho, th0, mode, eta, tau, scale, use_rho, geometric, f_star, max_step, n_iter,
              record_every, a_star, want_entropy, values, reg_values, entropies, steps, theta, min_star):  # pragma: no cover
    """``B`` runs of :func:`_run_one` on one MDP in lockstep, the batch innermost; returns the factorizations."""
    B, S, A = th0.shape
    th = np.empty((S, A, B))
    for b in range(B):
        for s in range(S):
            for a in range(A):
                th[s, a, b] = th0[b, s, a]
    pi = np.empty((S, A, B))
    logpi = np.empty((S, A, B))
    q = np.empty((S, A, B))
    H = np.empty((S, B))
    M = np.empty((S, S, B))
    LU = np.empty((S, S, B))
    rpi = np.empty((S, B))
    rhs_d = np.empty((S, B))
    for s in range(S):
        for b in range(B):
            rhs_d[s, b] = (1.0 - gamma) * rho[s]
    v = np.zeros((S, B))
    d = np.zeros((S, B))
    hv = np.zeros((3, S, B))
    hd = np.zeros((3, S, B))
    res = np.empty((S, B))
    zb = np.empty(B)
    mb = np.empty(B)
    nb_ = np.empty(B)
    nx = np.empty(B)
    nr = np.empty(B)
    mn = np.full(B, 1.0 + gamma)
    mt = np.empty(B)
    colsum = np.empty((S, B))
    val = np.empty(B)
    step = np.zeros(B)
    g2 = np.empty(B)
    need_d = ((mode == 0 or mode == 3) and not use_rho) or tau > 0.0
    for b in range(B):
        min_star[b] = 1.0
    n_fact = 0
    have_lu = False
    debt = 0
    base_steps = -1
    factor_cost = max(S // 6, 1)
    k = 0
    _ls_policy(th, pi, logpi, H, M, P, r, rpi, gamma, tau, zb, mb)
    for it in range(n_iter + 1):
        for s in range(S):
            if a_star[s] >= 0:
                for b in range(B):
                    min_star[b] = min(min_star[b], pi[s, a_star[s], b])
        if need_d:
            for s in range(S):
                for b in range(B):
                    colsum[s, b] = 0.0
            for i in range(S):
                for t in range(S):
                    for b in range(B):
                        colsum[t, b] += abs(M[i, t, b])
            for b in range(B):
                mt[b] = 1.0 + gamma
            for t in range(S):
                for b in range(B):
                    mt[b] = max(mt[b], colsum[t, b])
        ok = False
        if have_lu and debt < factor_cost:
            for s in range(S):  # cubic extrapolation of the previous solutions
                for b in range(B):
                    x0 = v[s, b]
                    v[s, b] = 4.0 * x0 - 6.0 * hv[0, s, b] + 4.0 * hv[1, s, b] - hv[2, s, b]
                    hv[2, s, b] = hv[1, s, b]
                    hv[1, s, b] = hv[0, s, b]
                    hv[0, s, b] = x0
                    y0 = d[s, b]
                    d[s, b] = 4.0 * y0 - 6.0 * hd[0, s, b] + 4.0 * hd[1, s, b] - hd[2, s, b]
                    hd[2, s, b] = hd[1, s, b]
                    hd[1, s, b] = hd[0, s, b]
                    hd[0, s, b] = y0
            kv = _ls_refine(M, rpi, v, LU, False, 6, res, mn, nb_, nx, nr)
            kd = 0
            if kv >= 0 and need_d:
                kd = _ls_refine(M, rhs_d, d, LU, True, 6, res, mt, nb_, nx, nr)
            ok = kv >= 0 and kd >= 0
            if base_steps < 0:
                base_steps = kv + kd
            else:
                debt += max(kv + kd - base_steps, 0)
        if not ok:
            debt = 0
            base_steps = -1
            _ls_factor(M, LU)
            n_fact += 1
            have_lu = True
            for s in range(S):
                for b in range(B):
                    v[s, b] = rpi[s, b]
                    d[s, b] = rhs_d[s, b]
            _ls_solve(LU, v, False)
            _ls_refine(M, rpi, v, LU, False, 2, res, mn, nb_, nx, nr)
            if need_d:
                _ls_solve(LU, d, True)
                _ls_refine(M, rhs_d, d, LU, True, 2, res, mt, nb_, nx, nr)
            if it == 0:
                for j in range(3):
                    for s in range(S):
                        for b in range(B):
                            hv[j, s, b] = v[s, b]
                            hd[j, s, b] = d[s, b]
        for b in range(B):
            val[b] = 0.0
        for s in range(S):
            for b in range(B):
                val[b] += rho[s] * v[s, b]
        rec = it % record_every == 0
        if rec:
            for b in range(B):
                plain = val[b]
                if tau > 0.0:
                    dh = 0.0
                    for s in range(S):
                        dh += d[s, b] * H[s, b]
                    plain = val[b] - tau * dh / (1.0 - gamma)
                values[b, k] = plain
                reg_values[b, k] = val[b]
                if want_entropy:
                    e = 0.0
                    for s in range(S):
                        e += rho[s] * H[s, b]
                    entropies[b, k] = e
        for b in range(B):
            step[b] = 0.0
        if it < n_iter:
            for s in range(S):  # Q = r + gamma P v
                for a in range(A):
                    for b in range(B):
                        q[s, a, b] = 0.0
                    for t in range(S):
                        p = P[s, a, t]
                        for b in range(B):
                            q[s, a, b] += p * v[t, b]
                    for b in range(B):
                        q[s, a, b] = r[s, a] + gamma * q[s, a, b]
            if mode == 0 or mode == 3:
                for b in range(B):
                    g2[b] = 0.0
                for s in range(S):
                    for a in range(A):
                        for b in range(B):
                            w = scale * (rho[s] if use_rho else d[s, b])
                            g = w * pi[s, a, b] * (q[s, a, b] - tau * logpi[s, a, b] - v[s, b])
                            q[s, a, b] = g
                            g2[b] += g * g
                for b in range(B):
                    step[b] = eta[b]
                    if mode == 3:
                        step[b] = (f_star[b] - val[b]) / g2[b] if g2[b] > 0.0 else 0.0
                        step[b] = max(step[b], 0.0)
                        if max_step > 0.0:
                            step[b] = min(step[b], max_step)
                for s in range(S):
                    for a in range(A):
                        for b in range(B):
                            th[s, a, b] += step[b] * q[s, a, b]
            elif mode == 1:
                for s in range(S):
                    for a in range(A):
                        for b in range(B):
                            th[s, a, b] += eta[b] * scale * (q[s, a, b] - v[s, b])
                for b in range(B):
                    step[b] = eta[b]
            else:
                for b in range(B):
                    step[b] = eta[b]
                    if mode == 4 and geometric:
                        step[b] = min(eta[b] / gamma ** it, 1e300)
                for s in range(S):
                    for b in range(B):
                        mb[b] = -np.inf
                        zb[b] = -np.inf
                    if mode == 4:
                        for a in range(A):
                            for b in range(B):
                                zb[b] = max(zb[b], q[s, a, b])
                    for a in range(A):
                        for b in range(B):
                            if mode == 2:
                                th[s, a, b] = (1.0 - eta[b] * tau * scale) * logpi[s, a, b] + eta[b] * scale * q[s, a, b]
                            else:
                                th[s, a, b] += step[b] * (q[s, a, b] - zb[b])
                            mb[b] = max(mb[b], th[s, a, b])
                    for a in range(A):
                        for b in range(B):
                            th[s, a, b] -= mb[b]
            _ls_policy(th, pi, logpi, H, M, P, r, rpi, gamma, tau, zb, mb)
        if rec:
            for b in range(B):
                steps[b, k] = step[b]
            k += 1
    for b in range(B):
        for s in range(S):
            for a in range(A):
                theta[b, s, a] = th[s, a, b]
    return n_fact


@nb.njit(cache=True, parallel=True)
def exact_pg_run_lockstep(P, r, gamma, rho, theta0, mode, eta, tau, scale, use_rho, geometric, f_star, max_step,
                          n_iter, record_every, a_star, want_entropy, n_chunks):  # pragma: no cover
    """``B`` runs on one MDP (``P (S, A, S)``; ``theta0 (B, S, A)``; ``eta, f_star (B,)``), in lockstep with the
    batch as the SIMD axis, ``n_chunks`` chunks of the batch in parallel (one per thread). Same outputs as
    :func:`exact_pg_run_batch`."""
    B, S, A = theta0.shape
    n_rec = n_iter // record_every + 1
    values = np.empty((B, n_rec))
    reg_values = np.empty((B, n_rec))
    entropies = np.full((B, n_rec), np.nan)
    steps = np.empty((B, n_rec))
    min_star = np.empty(B)
    n_fact = np.zeros(B, dtype=np.int64)
    theta = np.empty((B, S, A))
    n_chunks = max(1, min(n_chunks, B))
    for cc in nb.prange(n_chunks):
        c = np.int64(cc)
        lo = (c * B) // n_chunks
        hi = ((c + 1) * B) // n_chunks
        nf = _lockstep(P, r, gamma, rho, theta0[lo:hi], mode, eta[lo:hi], tau, scale, use_rho, geometric,
                       f_star[lo:hi], max_step, n_iter, record_every, a_star, want_entropy, values[lo:hi],
                       reg_values[lo:hi], entropies[lo:hi], steps[lo:hi], theta[lo:hi], min_star[lo:hi])
        for b in range(lo, hi):
            n_fact[b] = nf
    return values, reg_values, entropies, steps, min_star, n_fact, theta
