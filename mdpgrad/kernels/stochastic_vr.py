r"""Compiled variance-reduced stochastic PG on a tabular softmax policy, parallel over a batch of seeds.

Kernel of :func:`mdpgrad.estimators.seed_batch.run_vr_tabular`: the ``"storm"``, ``"svrpg"``, ``"srvr"``,
``"page"``, ``"igt"`` and ``"harpg"`` updates of :mod:`mdpgrad.estimators.variance_reduced`, the same
arithmetic in the same order. Trajectories come from :func:`mdpgrad.kernels.stochastic_pg.sample_trajectory` (the
streams of ``TabularOracle.sample(theta, n, subseed)``), where run ``b`` at step ``k`` uses the integers
``ints[b, k, :]`` and the uniform ``unif[b, k]`` that its own Generator drew in the Python loop's order
(PAGE's coin, HARPG's :math:`q`). With :math:`g(\tau,\theta)=\sum_t G_t\nabla\log\pi_\theta(a_t|s_t)`
and :math:`\omega(\tau;\theta,\theta')=\prod_t\pi_{\theta'}(a_t|s_t)/\pi_\theta(a_t|s_t)`:

* STORM-PG (Yuan et al. 2020): :math:`d_t=\bar g(\theta_t)+(1-\beta)(d_{t-1}-\overline{\omega g(\theta_{t-1})})`;
* SVRPG (Papini et al. 2018), SRVR-PG (Xu, Gao, Gu 2020), PAGE-PG (Gargiani et al. 2022):
  :math:`d_t = \mu\ \text{or}\ d_{t-1} + \overline{g(\tau,\theta_t)-\omega\,g(\tau,\theta_{ref})}`;
* N-PG-IGT and (N)-HARPG (Fatkhullin et al. 2023), HARPG's Hessian-vector estimate
  :math:`B(\tau,\hat\theta)v = g\,\langle z, v\rangle - w_s\big(\pi_s\odot v_s-\pi_s\langle\pi_s,v_s\rangle\big)`,
  :math:`z=\sum_t\nabla\log\pi(a_t|s_t)`, :math:`w_s=\sum_t G_t[s_t=s]` (as ``TabularOracle.hvp``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .rollouts import LINEAR_MAX
from .stochastic_pg import (
    lu_policy_value,
    sample_trajectory,
    softmax_tables,
    trajectory_seeds_compiled,
    trajectory_stats,
)

STORM, SVRPG, SRVR, PAGE, IGT, HARPG, NPG = 1, 2, 3, 4, 5, 6, 7


@nb.njit(cache=True)
def _log_softmax(theta, S, A, out):  # pragma: no cover - compiled
    """``out[s] = z_s - log(sum(exp(z_s)))``, ``z_s = theta_s - max(theta_s)`` (as :func:`mdpgrad.policies.log_softmax`)."""
    for s in range(S):
        mx = theta[s * A]
        for a in range(1, A):
            mx = max(mx, theta[s * A + a])
        tot = 0.0
        for a in range(A):
            tot += np.exp(theta[s * A + a] - mx)
        lt = np.log(tot)
        for a in range(A):
            out[s, a] = (theta[s * A + a] - mx) - lt


@nb.njit(cache=True)
def _log_prob(sbuf, abuf, L, lsm):  # pragma: no cover - compiled
    lp = 0.0
    for t in range(L):
        lp += lsm[sbuf[t], abuf[t]]
    return lp


@nb.njit(cache=True)
def _grad_sum(sub, n, pi, pi_cum, pi_thr, lin_pi, S, A, gamma, lg, smp, r, bufs, acc, ws, out,
              visits):  # pragma: no cover - compiled
    r"""``out = \sum_{i<n} g(\tau_i, \theta)``, ``\tau_i`` the ``n`` trajectories of subseed ``sub`` under ``pi``;
    ``visits[s, a]`` (when it has rows) counts the visits of every ``(s, a)``."""
    rho_cum, ptr, idx, cum, tr_thr, tr_idx = smp
    sbuf, abuf, rbuf = bufs
    path = trajectory_seeds_compiled(sub, n, 0)
    lens = trajectory_seeds_compiled(sub, n, 1)
    out[:] = 0.0
    L = 0
    for i in range(n):
        L, sbuf, abuf, rbuf = sample_trajectory(path[i], lens[i], gamma, lg, A, rho_cum, pi_cum, pi_thr, lin_pi, ptr, idx, cum,
                                      tr_thr, tr_idx, tr_idx.shape[0] > 0, r, sbuf, abuf, rbuf)
        trajectory_stats(sbuf, abuf, rbuf, L, acc, ws)
        for s in range(S):
            for a in range(A):
                out[s * A + a] += acc[s, a] - ws[s] * pi[s, a]
        if visits.shape[0] > 0:
            for t in range(L):
                visits[sbuf[t], abuf[t]] += 1.0
    return sbuf, abuf, rbuf, L


@nb.njit(cache=True)
def _pair_sums(sub, n, pi, pi_cum, pi_thr, lin_pi, lsm, pi_ref, lsm_ref, separate, S, A, gamma, lg, smp, r, bufs, acc,
               ws, now, old):  # pragma: no cover - compiled
    r"""``n`` trajectories under ``pi`` (subseed ``sub``): ``separate``: ``now = \sum g(\tau,\theta)``,
    ``old = \sum\omega g(\tau,\theta_{ref})``; else ``now = \sum(g(\tau,\theta) - \omega g(\tau,\theta_{ref}))``."""
    rho_cum, ptr, idx, cum, tr_thr, tr_idx = smp
    sbuf, abuf, rbuf = bufs
    path = trajectory_seeds_compiled(sub, n, 0)
    lens = trajectory_seeds_compiled(sub, n, 1)
    now[:] = 0.0
    old[:] = 0.0
    for i in range(n):
        L, sbuf, abuf, rbuf = sample_trajectory(path[i], lens[i], gamma, lg, A, rho_cum, pi_cum, pi_thr, lin_pi, ptr, idx, cum,
                                      tr_thr, tr_idx, tr_idx.shape[0] > 0, r, sbuf, abuf, rbuf)
        w = np.exp(_log_prob(sbuf, abuf, L, lsm_ref) - _log_prob(sbuf, abuf, L, lsm))
        trajectory_stats(sbuf, abuf, rbuf, L, acc, ws)
        for s in range(S):
            for a in range(A):
                j = s * A + a
                gn = acc[s, a] - ws[s] * pi[s, a]
                go = w * (acc[s, a] - ws[s] * pi_ref[s, a])
                if separate:
                    now[j] += gn
                    old[j] += go
                else:
                    now[j] += gn - go
    return sbuf, abuf, rbuf


@nb.njit(cache=True)
def _hvp(sbuf, abuf, L, pi, acc, ws, v, S, A, out):  # pragma: no cover - compiled
    """``TabularOracle.hvp`` of one trajectory (softmax; ``acc, ws`` from :func:`trajectory_stats`)."""
    cnt = np.zeros((S, A))
    cws = np.zeros(S)
    for t in range(L):
        cnt[sbuf[t], abuf[t]] += 1.0
        cws[sbuf[t]] += 1.0
    zv = 0.0
    for s in range(S):
        for a in range(A):
            zv += (cnt[s, a] - cws[s] * pi[s, a]) * v[s * A + a]
    for s in range(S):
        pv = 0.0
        for a in range(A):
            pv += pi[s, a] * v[s * A + a]
        for a in range(A):
            cv = pi[s, a] * v[s * A + a] - pi[s, a] * pv
            out[s * A + a] = (acc[s, a] - ws[s] * pi[s, a]) * zv + (-(ws[s] * cv))


@nb.njit(cache=True)
def _fisher(pi, visits, c, S, A):  # pragma: no cover - compiled
    r"""``TabularOracle.fisher`` (softmax): block ``s`` is :math:`c\,Z_s^\top\mathrm{diag}(n_s)Z_s`,
    :math:`Z_s = I - 1\pi_s^\top`, :math:`n_s` the visit counts, :math:`c = (1-\gamma)/n`."""
    F = np.zeros((S * A, S * A))
    for s in range(S):
        for i in range(A):
            for j in range(A):
                acc = 0.0
                for a in range(A):
                    acc += (((1.0 if a == i else 0.0) - pi[s, i]) * visits[s, a]) * ((1.0 if a == j else 0.0) - pi[s, j])
                F[s * A + i, s * A + j] = c * acc
    return F


@nb.njit(cache=True)
def _norm_or_one(d):  # pragma: no cover - compiled
    nrm = np.sqrt(np.sum(d * d))
    return nrm if nrm > 0 else 1.0


@nb.njit(cache=True, parallel=True)
def vr_softmax_block(method, ints, unif, t0, theta, theta_prev, d, snap, mu, samples, fhp, ihp, S, A, gamma, smp, r, P,
                     rho, record_every, rec_value, rec_samples, alive):  # pragma: no cover - compiled
    """Steps ``t0 .. t0 + ints.shape[1] - 1`` of every live run ``b`` of ``method`` (codes above); the state
    ``theta, theta_prev, d, snap, mu`` (each ``(B, dim)``) and ``samples[b]`` are updated in place.
    ``fhp = (alpha, beta, p, gamma0)``, ``ihp = (decay, batch, big_batch, epoch, normalized)``. After step
    ``k`` with ``(k+1) % record_every == 0`` the exact value and the sample count go to ``rec_value[b, m]``,
    ``rec_samples[b, m]``, ``m = (k+1)//record_every``. A run whose ``theta`` stops being finite is marked
    ``alive[b] = False`` and left."""
    B, K = ints.shape[0], ints.shape[1]
    dim = S * A
    alpha, beta, p, gamma0 = fhp
    decay, batch, big, epoch, normalized = ihp
    lin_pi = A <= LINEAR_MAX
    lg = np.log(gamma) if gamma > 0.0 else 0.0
    pi_w = A - 1 if lin_pi else 0
    for b in nb.prange(B):
        if not alive[b]:
            continue
        th, thp, dd, sn, mv = theta[b], theta_prev[b], d[b], snap[b], mu[b]
        pi = np.empty((S, A))
        pi_cum = np.empty((S, A))
        pi_thr = np.empty((S if lin_pi else 0, pi_w), dtype=np.int64)
        pi2 = np.empty((S, A))
        cum2 = np.empty((S, A))
        thr2 = np.empty((S if lin_pi else 0, pi_w), dtype=np.int64)
        lsm = np.empty((S, A))
        lsm2 = np.empty((S, A))
        acc = np.empty((S, A))
        ws = np.empty(S)
        g1 = np.empty(dim)
        g2 = np.empty(dim)
        aux = np.empty(dim)
        bufs = (np.empty(64, dtype=np.int64), np.empty(64, dtype=np.int64), np.empty(64))
        nov = np.empty((0, A))
        visits = np.empty((S if method == NPG else 0, A))
        for kk in range(K):
            k = t0 + kk
            sub = ints[b, kk, 0]
            if method == IGT or method == HARPG:
                scale = gamma0 * 2.0 / (k + 2)
                if method == IGT:
                    eta = (2.0 / (k + 2)) ** 0.8
                    c = (1 - eta) / eta
                    for j in range(dim):
                        aux[j] = th[j] + c * (th[j] - thp[j])  # the shifted point
                    softmax_tables(aux, S, A, pi, pi_cum, pi_thr, lin_pi)
                    s0, s1, s2, _ = _grad_sum(sub, 1, pi, pi_cum, pi_thr, lin_pi, S, A, gamma, lg, smp, r, bufs, acc,
                                              ws, g1, nov)
                    for j in range(dim):
                        dd[j] = (1 - eta) * dd[j] + eta * g1[j]
                    used = 1
                else:
                    eta = 2.0 / (k + 2)
                    q = unif[b, kk]
                    for j in range(dim):
                        aux[j] = q * th[j] + (1 - q) * thp[j]  # hat theta
                        g2[j] = th[j] - thp[j]  # v
                    softmax_tables(aux, S, A, pi, pi_cum, pi_thr, lin_pi)
                    s0, s1, s2, L = _grad_sum(sub, 1, pi, pi_cum, pi_thr, lin_pi, S, A, gamma, lg, smp, r, bufs, acc,
                                              ws, g1, nov)
                    _hvp(s0, s1, L, pi, acc, ws, g2, S, A, aux)
                    softmax_tables(th, S, A, pi, pi_cum, pi_thr, lin_pi)
                    s0, s1, s2, _ = _grad_sum(ints[b, kk, 1], 1, pi, pi_cum, pi_thr, lin_pi, S, A, gamma, lg, smp, r,
                                              (s0, s1, s2), acc, ws, g1, nov)
                    for j in range(dim):
                        dd[j] = (1 - eta) * (dd[j] + aux[j]) + eta * g1[j]
                    used = 2
                bufs = (s0, s1, s2)
                nrm = _norm_or_one(dd) if (method == IGT or normalized) else 1.0
                for j in range(dim):
                    thp[j] = th[j]
                    th[j] = th[j] + scale * (dd[j] / nrm if (method == IGT or normalized) else dd[j])
            elif method == NPG:
                softmax_tables(th, S, A, pi, pi_cum, pi_thr, lin_pi)
                visits[:, :] = 0.0
                s0, s1, s2, _ = _grad_sum(sub, batch, pi, pi_cum, pi_thr, lin_pi, S, A, gamma, lg, smp, r, bufs, acc,
                                          ws, g1, visits)
                bufs = (s0, s1, s2)
                for j in range(dim):
                    g1[j] = g1[j] / batch
                w = np.linalg.lstsq(_fisher(pi, visits, (1.0 - gamma) / batch, S, A), g1, rcond=1e-10)[0]
                step = alpha * 2.0 / (k + 2) if decay else alpha
                for j in range(dim):
                    dd[j] = w[j]
                    thp[j] = th[j]
                    th[j] = th[j] + step * w[j]
                used = batch
            else:
                softmax_tables(th, S, A, pi, pi_cum, pi_thr, lin_pi)
                if method == SVRPG:
                    fresh = k % epoch == 0
                elif method == PAGE:
                    fresh = k == 0 or unif[b, kk] < p
                elif method == SRVR:
                    fresh = k == 0 or k % epoch == 0
                else:
                    fresh = k == 0
                if fresh:
                    s0, s1, s2, _ = _grad_sum(sub, big, pi, pi_cum, pi_thr, lin_pi, S, A, gamma, lg, smp, r, bufs,
                                              acc, ws, g1, nov)
                    bufs = (s0, s1, s2)
                    for j in range(dim):
                        dd[j] = g1[j] / big
                    if method == SVRPG:
                        sn[:] = th
                        mv[:] = dd
                    used = big
                else:
                    ref = sn if method == SVRPG else thp
                    softmax_tables(ref, S, A, pi2, cum2, thr2, lin_pi)
                    _log_softmax(th, S, A, lsm)
                    _log_softmax(ref, S, A, lsm2)
                    bufs = _pair_sums(sub, batch, pi, pi_cum, pi_thr, lin_pi, lsm, pi2, lsm2, method == STORM, S, A,
                                      gamma, lg, smp, r, bufs, acc, ws, g1, g2)
                    for j in range(dim):
                        if method == STORM:
                            dd[j] = g1[j] / batch + (1 - beta) * (dd[j] - g2[j] / batch)
                        elif method == SVRPG:
                            dd[j] = mv[j] + g1[j] / batch
                        else:
                            dd[j] = dd[j] + g1[j] / batch
                    used = batch
                step = alpha * 2.0 / (k + 2) if decay else alpha
                for j in range(dim):
                    thp[j] = th[j]
                    th[j] = th[j] + step * dd[j]
            samples[b] += used
            ok = True
            for j in range(dim):
                ok = ok and np.isfinite(th[j])
            if not ok:
                alive[b] = False
                break
            if (k + 1) % record_every == 0:
                m = (k + 1) // record_every
                rec_samples[b, m] = samples[b]
                softmax_tables(th, S, A, pi, pi_cum, pi_thr, lin_pi)
                rec_value[b, m] = lu_policy_value(pi, P, r, gamma, rho, S, A)
