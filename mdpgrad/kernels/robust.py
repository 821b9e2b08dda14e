"""Numba kernels for the robust inner problems (one row per (s, a), parallel over rows).

Same formulas as the NumPy reference in :mod:`mdpgrad.robust.sets`; ``v`` is shared by all
rows, so it is sorted once per call. Kind codes follow ``sets.KINDS``:
0 l1, 1 linf, 3 kl, 5 contamination.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _l1_row(p, vs, order, radius):  # pragma: no cover - compiled
    S = vs.shape[0]
    p0 = p[order[0]]
    m = min(radius / 2.0, 1.0 - p0)
    val = 0.0
    for j in range(S):
        val += p[order[j]] * vs[j]
    rem = m
    j = S - 1
    while rem > 0.0 and j > 0:
        take = min(p[order[j]], rem)
        val -= take * vs[j]
        rem -= take
        j -= 1
    return val + m * vs[0]


@nb.njit(cache=True)
def _linf_row(p, vs, order, radius):  # pragma: no cover - compiled
    S = vs.shape[0]
    tot = 0.0
    val = 0.0
    for j in range(S):
        lo = max(p[order[j]] - radius, 0.0)
        tot += lo
        val += lo * vs[j]
    rem = 1.0 - tot
    for j in range(S):
        if rem <= 0.0:
            break
        pj = p[order[j]]
        cap = min(pj + radius, 1.0) - max(pj - radius, 0.0)
        add = min(cap, rem)
        val += add * vs[j]
        rem -= add
    return val


@nb.njit(cache=True)
def _kl_stats(p, vc, beta):  # pragma: no cover - compiled
    S = p.shape[0]
    mx = -np.inf
    for i in range(S):
        if p[i] > 0.0:
            lw = np.log(p[i]) - vc[i] / beta
            if lw > mx:
                mx = lw
    Z = 0.0
    m1 = 0.0
    m2 = 0.0
    for i in range(S):
        if p[i] > 0.0:
            w = np.exp(np.log(p[i]) - vc[i] / beta - mx)
            Z += w
            m1 += w * vc[i]
            m2 += w * vc[i] * vc[i]
    mean = m1 / Z
    var = max(m2 / Z - mean * mean, 0.0)
    logZ = np.log(Z) + mx
    kl = max(-mean / beta - logZ, 0.0)
    return kl, var, mean


@nb.njit(cache=True)
def _kl_row(p, v, radius):  # pragma: no cover - compiled
    S = p.shape[0]
    vmin = np.inf
    for i in range(S):
        if p[i] > 0.0 and v[i] < vmin:
            vmin = v[i]
    mmin = 0.0
    span = 0.0
    vc = np.empty(S)
    for i in range(S):
        vc[i] = v[i] - vmin if p[i] > 0.0 else 0.0
        if p[i] > 0.0:
            if v[i] <= vmin:
                mmin += p[i]
            if vc[i] > span:
                span = vc[i]
    if span <= 0.0 or radius >= -np.log(max(mmin, 1e-300)):
        return vmin
    if radius <= 0.0:
        acc = 0.0
        for i in range(S):
            acc += p[i] * v[i]
        return acc
    u_hi = np.log(span) - 0.5 * np.log(8.0 * radius) + 1.0
    u_lo = u_hi - 8.0
    for _ in range(200):
        kl, var, mean = _kl_stats(p, vc, np.exp(u_lo))
        if kl > radius:
            break
        u_lo -= 8.0
    u = 0.5 * (u_lo + u_hi)
    for _ in range(200):
        beta = np.exp(u)
        kl, var, mean = _kl_stats(p, vc, beta)
        f = kl - radius
        if f > 0:
            u_lo = u
        else:
            u_hi = u
        slope = -var / (beta * beta)
        un = u - f / slope if slope != 0.0 else 0.5 * (u_lo + u_hi)
        if not (un > u_lo and un < u_hi):
            un = 0.5 * (u_lo + u_hi)
        if abs(un - u) <= 1e-15 * max(1.0, abs(u)) or u_hi - u_lo <= 1e-14:
            u = un
            break
        u = un
    kl, var, mean = _kl_stats(p, vc, np.exp(u))
    return vmin + mean


@nb.njit(parallel=True, cache=True)
def inner_values_numba(P2, v, kind, radius):  # pragma: no cover - compiled
    """``out[n] = min_{q in U(P2[n], radius)} q . v`` for kind codes 0, 1, 3, 5."""
    N, S = P2.shape
    order = np.argsort(v)
    vs = v[order]
    out = np.empty(N)
    for n in nb.prange(N):
        p = P2[n]
        if kind == 0:
            out[n] = _l1_row(p, vs, order, radius)
        elif kind == 1:
            out[n] = _linf_row(p, vs, order, radius)
        elif kind == 3:
            out[n] = _kl_row(p, v, radius)
        else:
            acc = 0.0
            for i in range(S):
                acc += p[i] * v[i]
            out[n] = (1.0 - radius) * acc + radius * vs[0]
    return out


# --- twins of the kernel table (mdpgrad.backend.KERNELS["robust_inner_values"]) -----------------------
#: the compiled kernel's kind codes (its positions in mdpgrad.robust.sets.KINDS)
KIND_CODES = {"l1": 0, "linf": 1, "kl": 3, "contamination": 5}


def inner_values_numpy(P2, v, kind: str, radius):
    """NumPy reference: ``sigma(v)`` for every row of ``P2`` (``mdpgrad.robust.sets.worst_case_<kind>``)."""
    from ..robust import sets  # noqa: PLC0415 - the reference formulas live with the sets

    return getattr(sets, f"worst_case_{kind}")(P2, v, radius).value


def inner_values_compiled(P2, v, kind: str, radius):
    """Numba for the l1, linf, kl and contamination sets with one radius; the NumPy reference otherwise."""
    if kind not in KIND_CODES or np.ndim(radius) != 0:
        return inner_values_numpy(P2, v, kind, radius)
    return inner_values_numba(np.ascontiguousarray(P2), np.ascontiguousarray(v, dtype=np.float64),
                              KIND_CODES[kind], float(radius))


def inner_values_cupy(P2, v, kind: str, radius):  # pragma: no cover - needs a GPU
    """CuPy for the l1 and contamination sets with one radius (same formulas); NumPy otherwise."""
    if kind not in ("l1", "contamination") or np.ndim(radius) != 0:
        return inner_values_numpy(P2, v, kind, radius)
    import cupy as xp  # noqa: PLC0415

    P2, v = xp.asarray(P2), xp.asarray(v)
    order = xp.argsort(v)
    vs = v[order]
    if kind == "contamination":
        return xp.asnumpy((1 - radius) * (P2 @ v) + radius * vs[0])
    ps = P2[:, order]
    m = xp.minimum(radius / 2.0, 1.0 - ps[:, 0])
    suffix_after = xp.cumsum(ps[:, ::-1], axis=1)[:, ::-1] - ps
    removed = xp.clip(m[:, None] - suffix_after, 0.0, ps)
    removed[:, 0] = 0.0
    return xp.asnumpy(ps @ vs - removed @ vs + m * vs[0])
