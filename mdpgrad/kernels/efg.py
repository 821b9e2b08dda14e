"""Numba kernel for sampled local OMD in extensive-form games (see :func:`mdpgrad.games.efg.sampled_local_omd`).

Mirrors ``_local_omd_python`` line by line (same uniforms, same inverse-CDF sampling, same
floating-point order), so both backends produce the same trajectories.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_TERMINAL, _CHANCE, _P0 = 0, 1, 2


@nb.njit(cache=True)
def _sample(pr, u):  # pragma: no cover - compiled
    c = 0.0
    last = 0
    for a in range(pr.size):
        if pr[a] > 0:
            last = a
            c += pr[a]
            if u < c:
                return a
    return last


@nb.njit(cache=True)
def local_omd_numba(kind, children, cprob, infoset, util, nact, order, par, b, s, eta0, balanced, U, rec,
                    n_inf):  # pragma: no cover - compiled
    n_iter = U.shape[0]
    m_max, A = s.shape[1], s.shape[2]
    S = np.zeros((2, m_max))
    X = np.zeros((2, m_max, A))
    out = np.zeros((rec.size, 2, m_max, A))
    umax = np.max(np.abs(util))
    depth_max = U.shape[2]
    pI_arr = np.zeros(depth_max, dtype=np.int64)
    pa_arr = np.zeros(depth_max, dtype=np.int64)
    ps_arr = np.zeros(depth_max)
    pb_arr = np.zeros(depth_max)
    reach = np.ones(m_max)
    k_rec = 0
    for t in range(n_iter):
        for p in range(2):
            for j in range(n_inf[p]):
                I = order[p, j]
                pI = par[p, I, 0]
                pa = par[p, I, 1]
                reach[I] = 1.0 if pI < 0 else reach[pI] * s[p, pI, pa]
                for a in range(A):
                    X[p, I, a] += reach[I] * s[p, I, a]
        for i in range(2):
            n = 0
            d = 0
            L = 0
            while kind[n] != _TERMINAL:
                k = kind[n]
                if k == _CHANCE:
                    a = _sample(cprob[n], U[t, i, d])
                elif k == _P0 + i:
                    I = infoset[n]
                    if balanced:
                        a = _sample(b[i, I], U[t, i, d])
                        pb_arr[L] = b[i, I, a]
                    else:
                        a = _sample(s[i, I], U[t, i, d])
                        pb_arr[L] = s[i, I, a]
                    pI_arr[L] = I
                    pa_arr[L] = a
                    ps_arr[L] = s[i, I, a]
                    L += 1
                else:
                    a = _sample(s[1 - i, infoset[n]], U[t, i, d])
                d += 1
                n = children[n, a]
            loss = umax - (util[n] if i == 0 else -util[n])
            bz = 1.0
            for j in range(L):
                bz *= pb_arr[j]
            ratio = 1.0
            for j in range(L - 1, -1, -1):
                I = pI_arr[j]
                a = pa_arr[j]
                bp = pb_arr[j]
                bz /= bp
                lh = loss * ratio / (bz * bp)
                S[i, I] += lh * lh
                eta = eta0 * np.sqrt(np.log(max(nact[i, I], 2)) / (1.0 + S[i, I]))
                nA = nact[i, I]
                z = np.log(s[i, I, :nA])
                z[a] -= eta * lh
                z -= z.max()
                e = np.exp(z)
                s[i, I, :nA] = e / e.sum()
                ratio *= ps_arr[j] / bp
        while k_rec < rec.size and rec[k_rec] == t + 1:
            out[k_rec] = X
            k_rec += 1
    return out


def sample_action(pr, u):
    """Inverse-CDF draw: the first action whose cumulative probability exceeds ``u`` (same rule in Numba)."""
    c = 0.0
    last = 0
    for a in range(pr.size):
        if pr[a] > 0:
            last = a
            c += pr[a]
            if u < c:
                return a
    return last


def _local_omd_python(kind, children, cprob, infoset, util, nact, order, par, b, s, eta0, balanced, U, rec):
    """Reference implementation of :func:`sampled_local_omd` (same arithmetic as the Numba kernel)."""
    n_iter = U.shape[0]
    m_max, A = s.shape[1], s.shape[2]
    S = np.zeros((2, m_max))
    X = np.zeros((2, m_max, A))
    out = np.zeros((rec.size, 2, m_max, A))
    Umax = np.abs(util).max()
    k_rec = 0
    for t in range(n_iter):
        for p in range(2):
            reach = np.ones(m_max)
            for I in order[p]:
                pI, pa = par[p, I]
                reach[I] = 1.0 if pI < 0 else reach[pI] * s[p, pI, pa]
                X[p, I] += reach[I] * s[p, I]
        for i in range(2):
            bi = b[i] if balanced else s[i]
            n, d = 0, 0
            path = []
            while kind[n] != _TERMINAL:
                k = kind[n]
                if k == _CHANCE:
                    pr = cprob[n]
                elif k == _P0 + i:
                    pr = bi[infoset[n]]
                else:
                    pr = s[1 - i, infoset[n]]
                a = sample_action(pr, U[t, i, d])
                d += 1
                if k == _P0 + i:
                    I = infoset[n]
                    path.append((I, a, s[i, I, a], bi[I, a]))
                n = children[n, a]
            loss = Umax - (util[n] if i == 0 else -util[n])
            bz = 1.0
            for x in path:
                bz *= x[3]
            ratio = 1.0
            for I, a, sp, bp in reversed(path):
                bz /= bp
                lh = loss * ratio / (bz * bp)
                S[i, I] += lh * lh
                eta = eta0 * np.sqrt(np.log(max(nact[i, I], 2)) / (1.0 + S[i, I]))
                nA = nact[i, I]
                z = np.log(s[i, I, :nA])
                z[a] -= eta * lh
                z -= z.max()
                e = np.exp(z)
                s[i, I, :nA] = e / e.sum()
                ratio *= sp / bp
        while k_rec < rec.size and rec[k_rec] == t + 1:
            out[k_rec] = X
            k_rec += 1
    return out




def local_omd_numpy(kind, children, cprob, infoset, util, nact, order, par, b, s, eta0, balanced, U, rec,
                    n_infosets):
    """NumPy reference twin of :func:`local_omd_numba` (same arguments, identical trajectories)."""
    orders = [order[p, : n_infosets[p]] for p in (0, 1)]
    return _local_omd_python(kind, children, cprob, infoset, util, nact, orders, par, b, s, eta0, balanced, U, rec)
