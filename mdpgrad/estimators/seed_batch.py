r"""Seed batches of the stochastic optimizers in one compiled call (issue 19), parallel over the seeds, on a
softmax :class:`~mdpgrad.estimators.TabularOracle`.

:func:`run_pg_tabular` runs ``B`` seeds of vanilla stochastic PG / GPOMDP (Williams 1992; Baxter &
Bartlett 2001), :math:`\theta_{k+1} = \theta_k + \alpha_k\bar g(\theta_k)`, in
:func:`mdpgrad.kernels.stochastic_pg.pg_softmax_block`; :func:`run_vr_tabular` runs storm, svrpg, srvr,
page, igt, harpg and npg (the updates of :mod:`mdpgrad.estimators.variance_reduced`, same arithmetic) in
:func:`mdpgrad.kernels.stochastic_vr.vr_softmax_block` (Numba ``prange`` over seeds). Reproducibility
per seed: seed ``b``'s own :class:`numpy.random.Generator` pre-draws, in blocks, what the Python loop
draws per step, in its order -- the integers ``rng.integers(2**62)`` handed to ``oracle.sample``, PAGE's
coin ``rng.random()`` and HARPG's ``q`` (:func:`_draws`) -- and the kernel derives every trajectory
stream from the integers exactly as ``TabularOracle.sample`` does
(:func:`mdpgrad.estimators.variance_reduced.compiled_method` says which runs take this path). :func:`run_stochastic` sends a
single seed through the same kernel (a batch of one), so run ``b`` of a batch is *equal* to the run
with seed ``b`` alone, bit for bit, for any batch composition and thread count.
"""

from __future__ import annotations

import numpy as np

from ..mdp import as_mdp
from ..rollouts import prepare_sampler
from ..validation import as_generator

__all__ = ["run_pg_tabular", "run_vr_tabular"]

#: subseeds pre-drawn per block: at most this many int64 per call to the kernel (8 MiB)
_BLOCK_WORDS = 1 << 20


def run_pg_tabular(meth, oracle, theta0: np.ndarray, n_iter: int, seeds: list, record_every: int):
    """``(samples[n_rec+1], values[B, n_rec+1], final theta[B, dim], alive[B])`` of ``B = len(seeds)`` runs
    (inputs already validated by :func:`run_stochastic`; ``seeds`` ints, Generators or SeedSequences)."""
    from .._evaluate_kernels import blas_single_thread
    from ..kernels.stochastic_pg import pg_softmax_block

    m = as_mdp(oracle.mdp)
    S, A = m.shape
    hp = meth.hparams
    B = len(seeds)
    rngs = [as_generator(sd) for sd in seeds]
    smp = prepare_sampler(m, np.full((S, A), 1.0 / A))  # the policy-independent tables
    n_rec = n_iter // record_every
    theta = np.repeat(np.asarray(theta0, dtype=np.float64).reshape(1, -1), B, axis=0)
    rec_theta = np.full((B, n_rec + 1, S * A), np.nan)
    rec_value = np.full((B, n_rec + 1), np.nan)
    rec_theta[:, 0] = theta
    rec_value[:, 0] = [oracle.value(theta[0])] * B
    alive = np.ones(B, dtype=np.bool_)
    P = np.ascontiguousarray(m.P, dtype=np.float64)
    block = max(1, min(n_iter, _BLOCK_WORDS // B))
    with blas_single_thread():
        for t0 in range(0, n_iter, block):
            K = min(block, n_iter - t0)
            sub = np.stack([g.integers(2**62, size=K) for g in rngs]).astype(np.int64)
            pg_softmax_block(sub, t0, theta, float(hp.alpha), bool(hp.decay), int(hp.batch), int(record_every), S,
                             A, float(m.gamma), smp.rho_cum, smp.ptr, smp.idx, smp.cum, smp.tr_thr, smp.tr_idx,
                             np.ascontiguousarray(m.r), P, np.ascontiguousarray(m.rho), rec_theta, rec_value, alive)
    samples = np.arange(n_rec + 1, dtype=np.int64) * record_every * int(hp.batch)
    return samples, rec_value, theta, alive


#: method name -> (kernel code, draws per step): "i" one integer, "page" a coin then an integer (none at t = 0),
#: "harpg" a uniform then two integers -- the Python loop's order
_VR = {"storm": (1, "i"), "svrpg": (2, "i"), "srvr": (3, "i"), "page": (4, "page"), "igt": (5, "i"),
       "harpg": (6, "harpg"), "npg": (7, "i")}
_RAW_DOUBLE = (np.random.PCG64, np.random.PCG64DXSM)  # next_double = (next_uint64 >> 11) / 2**53


def _draws(g, k0, K, kind):
    """``(ints[K, 2], unif[K])``: what ``g`` yields at steps ``k0 .. k0+K-1`` of the Python loop, in its order
    (``rng.integers(2**62)`` and ``rng.random()``). For PCG64 one raw 64-bit word per draw, converted as NumPy
    does (Lemire's bounded integer with range ``2**62`` is ``x >> 2`` and never rejects; the double is
    ``(x >> 11) 2**-53``); any other bit generator draws call by call."""
    ints = np.zeros((K, 2), dtype=np.int64)
    unif = np.full(K, np.nan)
    if kind == "i":
        ints[:, 0] = g.integers(2**62, size=K)
        return ints, unif
    pattern = [("i",) if (kind == "page" and k0 + k == 0) else (("u", "i") if kind == "page" else ("u", "i", "i"))
               for k in range(K)]
    if type(g.bit_generator) in _RAW_DOUBLE:
        raw = g.bit_generator.random_raw(sum(map(len, pattern)))
        words = iter(raw.tolist())
        for k, pat in enumerate(pattern):
            j = 0
            for what in pat:
                x = next(words)
                if what == "u":
                    unif[k] = (x >> 11) * (1.0 / 9007199254740992.0)
                else:
                    ints[k, j] = x >> 2
                    j += 1
        return ints, unif
    for k, pat in enumerate(pattern):
        j = 0
        for what in pat:
            if what == "u":
                unif[k] = g.random()
            else:
                ints[k, j] = g.integers(2**62)
                j += 1
    return ints, unif


def run_vr_tabular(meth, oracle, theta0: np.ndarray, n_iter: int, seeds: list, record_every: int):
    """``(samples[B, n_rec+1], values[B, n_rec+1], final theta[B, dim], alive[B])`` of ``B = len(seeds)`` runs
    of a variance-reduced method (``_VR``) on a softmax tabular oracle, in
    :func:`mdpgrad.kernels.stochastic_vr.vr_softmax_block` (inputs validated by :func:`run_stochastic`)."""
    from .._evaluate_kernels import blas_single_thread
    from ..kernels.stochastic_vr import vr_softmax_block

    code, kind = _VR[meth.name]
    m = as_mdp(oracle.mdp)
    S, A = m.shape
    hp = meth.hparams
    B = len(seeds)
    rngs = [as_generator(sd) for sd in seeds]
    smp = prepare_sampler(m, np.full((S, A), 1.0 / A))
    tables = (smp.rho_cum, smp.ptr, smp.idx, smp.cum, smp.tr_thr, smp.tr_idx)
    n_rec = n_iter // record_every
    theta = np.repeat(np.asarray(theta0, dtype=np.float64).reshape(1, -1), B, axis=0)
    state = [theta.copy(), np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)]  # prev, d, snap, mu
    samples = np.zeros(B, dtype=np.int64)
    rec_value = np.full((B, n_rec + 1), np.nan)
    rec_value[:, 0] = oracle.value(theta[0])
    rec_samples = np.zeros((B, n_rec + 1), dtype=np.int64)
    alive = np.ones(B, dtype=np.bool_)
    fhp = (float(getattr(hp, "alpha", 0.0)), float(getattr(hp, "beta", 0.0)), float(getattr(hp, "p", 0.0)),
           float(getattr(hp, "gamma0", 0.0)))
    ihp = (int(getattr(hp, "decay", False)), int(getattr(hp, "batch", 1)), int(getattr(hp, "big_batch", 1) or 1),
           int(getattr(hp, "epoch", 1)), int(getattr(hp, "normalized", True)))
    P = np.ascontiguousarray(m.P, dtype=np.float64)
    block = max(1, min(n_iter, _BLOCK_WORDS // (3 * B)))
    with blas_single_thread():
        for t0 in range(0, n_iter, block):
            K = min(block, n_iter - t0)
            drawn = [_draws(g, t0, K, kind) for g in rngs]
            ints = np.stack([x for x, _ in drawn])
            unif = np.stack([u for _, u in drawn])
            vr_softmax_block(code, ints, unif, t0, theta, *state, samples, fhp, ihp, S, A, float(m.gamma), tables,
                             np.ascontiguousarray(m.r), P, np.ascontiguousarray(m.rho), int(record_every), rec_value,
                             rec_samples, alive)
    return rec_samples, rec_value, theta, alive
