"""Numba kernels for linear TD-family update loops (and the pure-Python reference).

Every per-step loop samples its own transitions inside the kernel, in O(1) per draw with Walker's
alias method (Vose 1991): one 64-bit SplitMix64 output per draw, its high 32 bits pick a column
``i = (hi * n) >> 32`` and its low 32 bits are the coin ``lo / 2**32 < prob[i]`` (else ``alias[i]``).
The action comes from the behaviour row of ``s``, the next state from row ``s * A + a`` of ``P``.
The generator is seeded per run (``seeds[run]``), so a run is reproducible regardless of the number
of threads, and the NumPy reference (:func:`td_loop_numpy`) consumes the *same* random stream and
gives the same iterates.

Method codes (``method``):

* ``0`` TD(lambda), accumulating traces  ``e <- rho (gamma lam e + phi)``;
* ``1`` TD(lambda), replacing traces     ``e_i <- rho phi_i`` where ``phi_i != 0`` else ``rho gamma lam e_i``;
* ``2`` GTD2 (lambda = 0)                ``theta += a rho (phi - gamma phi') (phi.w)``, ``w += b (rho delta - phi.w) phi``;
* ``3`` TDC  (lambda = 0)                ``theta += a rho (delta phi - gamma phi' (phi.w))``, same ``w``;
* ``4`` emphatic TD(lambda)              ``F <- rho_prev gamma F + 1``, ``M = lam + (1 - lam) F``,
  ``e <- rho (gamma lam e + M phi)``.

Step sizes: ``alpha_t = alpha * (t0 / (t0 + t)) ** power`` (``power = 0``: constant) and
``beta_t = beta * (t0 / (t0 + t)) ** power`` for the secondary weights.
"""

from __future__ import annotations

import numba as nb
import numpy as np

GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1
INV53 = 1.0 / 9007199254740992.0

TD_METHOD_CODES = {"td": 0, "td_replacing": 1, "gtd2": 2, "tdc": 3, "etd": 4}


# --------------------------------------------------------------------------------------------
# SplitMix64 (Steele, Lea & Flood 2014): state += golden; z = mix(state).
# --------------------------------------------------------------------------------------------
@nb.njit(cache=True, inline="always")
def _splitmix_next(state):  # pragma: no cover - compiled
    state = state + np.uint64(GOLDEN)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return state, z


@nb.njit(cache=True, inline="always")
def uniform_next(state):  # pragma: no cover - compiled
    """``(state, u)`` with ``u`` uniform on [0, 1) (53 random bits)."""
    state, z = _splitmix_next(state)
    return state, float(z >> np.uint64(11)) * INV53


def py_uniform_next(state: int) -> tuple[int, float]:
    """Pure-Python twin of :func:`uniform_next` (same stream)."""
    state = (state + GOLDEN) & _MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z = z ^ (z >> 31)
    return state, float(z >> 11) * INV53


@nb.njit(cache=True)
def alias_tables(p):  # pragma: no cover - compiled
    """Vose's alias tables for each row of ``p`` (rows are distributions): ``(prob, alias)``."""
    n_rows, n = p.shape
    prob = np.empty((n_rows, n))
    alias = np.zeros((n_rows, n), np.int64)
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    for r in range(n_rows):
        q = p[r] * n
        ns = 0
        nl = 0
        for i in range(n):
            if q[i] < 1.0:
                small[ns] = i
                ns += 1
            else:
                large[nl] = i
                nl += 1
        while ns > 0 and nl > 0:
            ns -= 1
            sm = small[ns]
            lg = large[nl - 1]
            prob[r, sm] = q[sm]
            alias[r, sm] = lg
            q[lg] = (q[lg] + q[sm]) - 1.0
            if q[lg] < 1.0:
                nl -= 1
                small[ns] = lg
                ns += 1
        for k in range(nl):
            prob[r, large[k]] = 1.0
            alias[r, large[k]] = large[k]
        for k in range(ns):  # round-off leftovers
            prob[r, small[k]] = 1.0
            alias[r, small[k]] = small[k]
    return prob, alias


_M32 = 0xFFFFFFFF
_INV32 = 1.0 / 4294967296.0


@nb.njit(cache=True, inline="always")
def _alias_draw(state, prob_row, alias_row):  # pragma: no cover - compiled
    state, z = _splitmix_next(state)
    n = prob_row.shape[0]
    i = np.int64(((z >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))
    coin = float(z & np.uint64(_M32)) * _INV32
    if coin < prob_row[i]:
        return state, i
    return state, alias_row[i]


def _py_alias_draw(state: int, prob_row, alias_row) -> tuple[int, int]:
    state = (state + GOLDEN) & _MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z = z ^ (z >> 31)
    n = prob_row.shape[0]
    i = ((z >> 32) * n) >> 32
    coin = float(z & _M32) * _INV32
    return state, (i if coin < prob_row[i] else int(alias_row[i]))


@nb.njit(cache=True)
def _td_one_run(pm, am, pP, aP, r, ratio, phi, gamma, lam, method, alpha, beta, t0, power,
                n_steps, s0, checkpoints, seed, theta0, out):  # pragma: no cover - compiled
    S, A = r.shape
    d = phi.shape[1]
    theta = theta0.copy()
    w = np.zeros(d)
    e = np.zeros(d)
    state = np.uint64(seed)
    s = s0
    F = 0.0
    rho_prev = 0.0
    k = 0
    n_rec = checkpoints.shape[0]
    gl = gamma * lam
    for t in range(n_steps):
        state, a = _alias_draw(state, pm[s], am[s])
        state, s1 = _alias_draw(state, pP[s * A + a], aP[s * A + a])
        rho = ratio[s, a]
        if power == 0.0:
            at = alpha
            bt = beta
        else:
            f = (t0 / (t0 + t)) ** power
            at = alpha * f
            bt = beta * f
        v0 = 0.0
        v1 = 0.0
        for i in range(d):
            v0 += phi[s, i] * theta[i]
            v1 += phi[s1, i] * theta[i]
        delta = r[s, a] + gamma * v1 - v0
        if method == 0:
            for i in range(d):
                e[i] = rho * (gl * e[i] + phi[s, i])
                theta[i] += at * delta * e[i]
        elif method == 1:
            for i in range(d):
                if phi[s, i] != 0.0:
                    e[i] = rho * phi[s, i]
                else:
                    e[i] = rho * gl * e[i]
                theta[i] += at * delta * e[i]
        elif method == 2 or method == 3:
            pw = 0.0
            for i in range(d):
                pw += phi[s, i] * w[i]
            for i in range(d):
                if method == 2:
                    theta[i] += at * rho * (phi[s, i] - gamma * phi[s1, i]) * pw
                else:
                    theta[i] += at * rho * (delta * phi[s, i] - gamma * phi[s1, i] * pw)
                w[i] += bt * (rho * delta - pw) * phi[s, i]
        else:
            F = rho_prev * gamma * F + 1.0
            M = lam + (1.0 - lam) * F
            for i in range(d):
                e[i] = rho * (gl * e[i] + M * phi[s, i])
                theta[i] += at * delta * e[i]
            rho_prev = rho
        s = s1
        while k < n_rec and checkpoints[k] == t + 1:
            for i in range(d):
                out[k, i] = theta[i]
            k += 1
    return s


@nb.njit(cache=True, parallel=True)
def td_loop_numba(pm, am, pP, aP, r, ratio, phi, gamma, lam, method, alpha, beta, t0, power,
                  n_steps, s0, checkpoints, seeds, theta0):  # pragma: no cover - compiled
    """Run ``len(seeds)`` independent TD runs (parallel over runs); returns ``thetas[run, k, d]``."""
    n_runs = seeds.shape[0]
    d = phi.shape[1]
    out = np.full((n_runs, checkpoints.shape[0], d), np.nan)
    for j in nb.prange(n_runs):
        _td_one_run(pm, am, pP, aP, r, ratio, phi, gamma, lam, method, alpha, beta, t0, power,
                    n_steps, s0, checkpoints, seeds[j], theta0, out[j])
    return out


def td_loop_numpy(pm, am, pP, aP, r, ratio, phi, gamma, lam, method, alpha, beta, t0, power,
                   n_steps, s0, checkpoints, seeds, theta0):
    """Plain NumPy reference of :func:`td_loop_numba` (same random stream, same iterates)."""
    S, A = r.shape
    d = phi.shape[1]
    out = np.full((len(seeds), len(checkpoints), d), np.nan)
    gl = gamma * lam
    for j, seed in enumerate(seeds):
        theta = np.array(theta0, dtype=np.float64)
        w = np.zeros(d)
        e = np.zeros(d)
        state = int(seed) & _MASK
        s = int(s0)
        F, rho_prev, k = 0.0, 0.0, 0
        for t in range(n_steps):
            state, a = _py_alias_draw(state, pm[s], am[s])
            state, s1 = _py_alias_draw(state, pP[s * A + a], aP[s * A + a])
            rho = ratio[s, a]
            f = 1.0 if power == 0.0 else (t0 / (t0 + t)) ** power
            at, bt = alpha * f, beta * f
            x, x1 = phi[s], phi[s1]
            delta = r[s, a] + gamma * (x1 @ theta) - x @ theta
            if method == 0:
                e = rho * (gl * e + x)
                theta = theta + at * delta * e
            elif method == 1:
                e = rho * np.where(x != 0.0, x, gl * e)
                theta = theta + at * delta * e
            elif method in (2, 3):
                pw = x @ w
                if method == 2:
                    theta = theta + at * rho * (x - gamma * x1) * pw
                else:
                    theta = theta + at * rho * (delta * x - gamma * x1 * pw)
                w = w + bt * (rho * delta - pw) * x
            else:
                F = rho_prev * gamma * F + 1.0
                M = lam + (1.0 - lam) * F
                e = rho * (gl * e + M * x)
                theta = theta + at * delta * e
                rho_prev = rho
            s = s1
            while k < len(checkpoints) and checkpoints[k] == t + 1:
                out[j, k] = theta
                k += 1
    return out


@nb.njit(cache=True)
def sample_path_numba(pm, am, pP, aP, n_steps, s0, seed):  # pragma: no cover - compiled
    """States, actions and next states of one behaviour trajectory (same stream as the TD loop)."""
    A = pm.shape[1]
    states = np.empty(n_steps, np.int64)
    actions = np.empty(n_steps, np.int64)
    nxt = np.empty(n_steps, np.int64)
    state = np.uint64(seed)
    s = s0
    for t in range(n_steps):
        state, a = _alias_draw(state, pm[s], am[s])
        state, s1 = _alias_draw(state, pP[s * A + a], aP[s * A + a])
        states[t] = s
        actions[t] = a
        nxt[t] = s1
        s = s1
    return states, actions, nxt


@nb.njit(cache=True)
def td_data_numba(phi_t, r_t, phi_tp1, discount_t, rho_t, lam, method, alpha, beta, t0, power, n_passes,
                  theta0):  # pragma: no cover - compiled
    """TD-family updates over given transitions (any state space), ``n_passes`` sweeps in order.

    Same update rules as :func:`_td_one_run` (methods 0-3); returns ``(theta, theta_avg)`` with
    the Polyak-Ruppert average over the last pass.
    """
    T, d = phi_t.shape
    theta = theta0.copy()
    w = np.zeros(d)
    e = np.zeros(d)
    avg = np.zeros(d)
    k = 0
    for p in range(n_passes):
        for i in range(d):
            avg[i] = 0.0
        for t in range(T):
            if power == 0.0:
                at = alpha
                bt = beta
            else:
                f = (t0 / (t0 + k)) ** power
                at = alpha * f
                bt = beta * f
            k += 1
            g = discount_t[t]
            rho = rho_t[t]
            v0 = 0.0
            v1 = 0.0
            for i in range(d):
                v0 += phi_t[t, i] * theta[i]
                v1 += phi_tp1[t, i] * theta[i]
            delta = r_t[t] + g * v1 - v0
            gl = (discount_t[t - 1] if t > 0 else 0.0) * lam
            if method == 0:
                for i in range(d):
                    e[i] = rho * (gl * e[i] + phi_t[t, i])
                    theta[i] += at * delta * e[i]
            elif method == 1:
                for i in range(d):
                    if phi_t[t, i] != 0.0:
                        e[i] = rho * phi_t[t, i]
                    else:
                        e[i] = rho * gl * e[i]
                    theta[i] += at * delta * e[i]
            else:
                pw = 0.0
                for i in range(d):
                    pw += phi_t[t, i] * w[i]
                for i in range(d):
                    if method == 2:
                        theta[i] += at * rho * (phi_t[t, i] - g * phi_tp1[t, i]) * pw
                    else:
                        theta[i] += at * rho * (delta * phi_t[t, i] - g * phi_tp1[t, i] * pw)
                    w[i] += bt * (rho * delta - pw) * phi_t[t, i]
            for i in range(d):
                avg[i] += (theta[i] - avg[i]) / (t + 1)
    return theta, avg
