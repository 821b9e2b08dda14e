"""Batched :func:`mdpgrad.optimize`: many runs of one method in one call.

A batch varies step sizes (``step_size`` a 1-D array), initial parameters (``theta0`` of shape
``(B, S, A)``) and/or the MDP (a list of MDPs of one shape); arguments that are not batched are
shared. On the Numba backend the whole batch is one compiled call, parallel over the batch: on one MDP
the runs advance in lockstep with the batch as the SIMD axis
(the kernel ``"exact_pg_run_lockstep"``, :func:`mdpgrad.kernels.algorithms.exact_pg_run_lockstep`, one chunk
per thread), on a batch of MDPs each run is a thread task (``"exact_pg_run_batch"``, ``prange``); on
NumPy it is a loop of single runs. The result is one :class:`~mdpgrad.algorithms.protocol.OptimizeResult`
whose array fields have a leading batch axis (``value[b, k]``, ``policy[b, s, a]``, ``v_star[b]``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import InvalidInputError
from ..mdp import as_mdp
from .protocol import Method, OptimizeResult, check_record
from .runs import (
    check_a_star,
    check_diverged,
    compiled_kernel,
    compiled_result,
    optimal_value,
    resolve_method,
    run_one,
    soft_target,
)


def _batch_size(mdps, steps, theta0) -> int:
    sizes = {"mdp": len(mdps) if mdps is not None else 1, "step_size": np.size(steps) if np.ndim(steps) else 1,
             "theta0": len(theta0) if theta0 is not None and np.ndim(theta0) == 3 else 1}
    big = {k: n for k, n in sizes.items() if n > 1}
    if len(set(big.values())) > 1:
        raise InvalidInputError(f"batch: the batched arguments have different lengths {big}; give them one length.")
    if any(n == 0 for n in sizes.values()):
        raise InvalidInputError(f"batch: an empty batch {sizes}; give at least one member.")
    return max(sizes.values())


def _member(x, b, batched):
    return x[b] if batched else x


def optimize_batch(mdp, method, *, n_iter, theta0, record, record_every, be, strict, v_star, a_star,
                   **hyperparameters) -> OptimizeResult:
    """See :func:`mdpgrad.optimize`; called by it when an argument is a batch."""
    mdps = [as_mdp(x) for x in mdp] if isinstance(mdp, (list, tuple)) else None
    ms = mdps if mdps is not None else [as_mdp(mdp)]
    if len({x.shape for x in ms}) > 1:
        raise InvalidInputError(f"mdp: a batch of MDPs must share one shape (S, A); got {sorted({x.shape for x in ms})}.")
    steps = hyperparameters.pop("step_size", None)
    if np.ndim(steps) > 1:
        raise InvalidInputError(f"step_size: expected a float or a 1-D array of step sizes, got shape {np.shape(steps)}.")
    B = _batch_size(mdps, steps, theta0)
    th_b = theta0 is not None and np.ndim(theta0) == 3
    st_b = np.ndim(steps) == 1
    if v_star is None:
        v_star = [optimal_value(x) for x in ms]
    v_star = np.broadcast_to(np.asarray(v_star, dtype=np.float64), (len(ms),))
    if steps is not None:
        hyperparameters_b = [{**hyperparameters, "step_size": float(_member(steps, b, st_b))} for b in range(B)]
    else:
        hyperparameters_b = [dict(hyperparameters) for _ in range(B)]
    record = check_record(record)

    def run_single(b, strict_b):
        x = mdp[b] if mdps is not None else mdp
        return run_one(x, method, hyperparameters_b[b], n_iter=n_iter, theta0=_member(theta0, b, th_b), record=record,
                       record_every=record_every, be=be, strict=strict_b,
                       v_star=float(v_star[b if mdps is not None else 0]), a_star=a_star)

    if not isinstance(method, Method):
        fast = _run_compiled_batch(be, ms, mdps is not None, method, B, theta0, th_b, hyperparameters_b, record,
                                   record_every, n_iter, v_star, a_star)
        if fast is not None:
            return fast
    if strict and be.implements("exact_pg_run"):
        run_single(0, True)  # raises the single-run error that explains why the batch cannot be compiled
    return _stack([run_single(b, False) for b in range(B)])


def _run_compiled_batch(be, ms, mdp_batched, method, B, theta0, th_b, hps, record, record_every, n_iter, v_star,
                        a_star):
    metas = [resolve_method(method, ms[b if mdp_batched else 0], float(v_star[b if mdp_batched else 0]), hps[b])
             for b in range(B)]
    name = "exact_pg_run_batch" if mdp_batched else "exact_pg_run_lockstep"
    kernel = compiled_kernel(be, metas, record, name, False)
    if kernel is None:
        return None
    specs = [mt.numba for mt in metas]
    base = dataclasses.replace(specs[0], eta=0.0, f_star=0.0)
    if any(dataclasses.replace(sp, eta=0.0, f_star=0.0) != base for sp in specs):
        return None
    S, A = ms[0].shape
    theta = np.empty((B, S, A))
    for b in range(B):
        x = ms[b if mdp_batched else 0]
        theta[b] = metas[b].init(x, _member(theta0, b, th_b)).params if (th_b or b == 0 or mdp_batched) else theta[0]
    P = np.ascontiguousarray(np.stack([x.P for x in ms]))
    r = np.ascontiguousarray(np.stack([x.r for x in ms]))
    rho = np.ascontiguousarray(np.stack([x.rho for x in ms]))
    gamma = np.array([x.gamma for x in ms])
    scale = np.array([1.0 / (1.0 - x.gamma) if base.grad_scale is None else float(base.grad_scale) for x in ms])
    if a_star is None:
        a = np.full((len(ms), S), -1, dtype=np.int64)
    else:
        a = np.stack([check_a_star(a_star, x) for x in ms])
    eta = np.array([sp.eta for sp in specs])
    f_star = np.array([sp.f_star for sp in specs])
    if mdp_batched:
        vals, regs, ents, steps, min_star, n_fact, theta = kernel(
            P, r, gamma, rho, theta, base.mode, eta, base.tau, scale, base.use_rho, base.geometric, f_star,
            base.max_step, n_iter, record_every, a, "entropy" in record)
    else:  # one MDP: lockstep over the batch (SIMD across runs), one chunk per thread
        import numba

        vals, regs, ents, steps, min_star, n_fact, theta = kernel(
            P[0], r[0], float(gamma[0]), rho[0], theta, base.mode, eta, base.tau, float(scale[0]), base.use_rho,
            base.geometric, f_star, base.max_step, n_iter, record_every, a[0], "entropy" in record,
            numba.get_num_threads())
    for b in range(B):  # once per finished run, never inside the compiled loop
        check_diverged(ms[b if mdp_batched else 0], metas[b], vals[b], logits=theta[b])
    soft = None
    if "reg_gap" in record:
        softs = [soft_target(x, metas[0], record) for x in ms]
        soft = type("Soft", (), {"value": np.array([s.value for s in softs])})()
    vs = v_star if mdp_batched else np.full(B, v_star[0])
    if soft is not None and not mdp_batched:
        soft.value = np.full(B, soft.value[0])
    return compiled_result(metas[0], be.name, record, record_every, vals, regs, ents, steps, min_star, n_fact, theta,
                           vs, soft, a_star is not None)


def _stack(results: list[OptimizeResult]) -> OptimizeResult:
    out = {}
    for f in dataclasses.fields(OptimizeResult):
        xs = [getattr(r, f.name) for r in results]
        if f.name in ("method", "backend"):
            out[f.name] = xs[0]
        elif f.name == "t":
            out[f.name] = xs[0]
        elif all(x is None for x in xs):
            out[f.name] = None
        else:
            out[f.name] = np.stack([np.asarray(x) for x in xs])
    return OptimizeResult(**out)
