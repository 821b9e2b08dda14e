"""One run of an exact method: the loop of :func:`mdpgrad.optimize` after its arguments are validated.

:func:`run_one` resolves the method, then runs either the compiled loop of the backend's kernel table
(:data:`mdpgrad.backend.KERNELS` ``"exact_pg_run"``, :mod:`mdpgrad.kernels.algorithms`) when the
backend implements it and the method and record allow, or the NumPy reference: the loop of
``Method.update`` (:func:`run_method`), recording from the evaluation each state carries.
"""

from __future__ import annotations

import numpy as np

from ..errors import DivergedError, InvalidInputError
from ..mdp import as_mdp
from ..policies import entropy, softmax
from ..validation import MAX_ABS
from .methods import make_method
from .protocol import COMPILED_RECORDABLE, Method, OptimizeResult

__all__ = ["run_one", "run_method", "compiled_kernel", "compiled_result", "optimal_value", "resolve_method",
           "check_a_star", "soft_target", "check_diverged"]


def run_one(mdp, method, hyperparameters, *, n_iter, theta0, record, record_every, be, strict, v_star,
            a_star) -> OptimizeResult:
    """One run of ``method`` on ``mdp`` (``n_iter``, ``record_every``, ``record`` validated; ``be`` a CPU
    backend; ``strict``: the backend was named, so a method it cannot compile is an error)."""
    m = as_mdp(mdp)
    if v_star is None:
        v_star = optimal_value(m)
    meth = resolve_method(method, mdp, v_star, hyperparameters)
    if a_star is not None:
        a_star = check_a_star(a_star, m)
    soft = soft_target(m, meth, record)
    kernel = compiled_kernel(be, [meth], record, "exact_pg_run", strict)
    if kernel is None:
        return run_method(m, meth, n_iter, theta0, record, record_every, v_star, a_star, soft)
    sp = meth.numba
    theta = np.ascontiguousarray(meth.init(m, theta0).params)  # validated through the method's own init
    scale = 1.0 / (1.0 - m.gamma) if sp.grad_scale is None else float(sp.grad_scale)
    a = np.full(m.n_states, -1, dtype=np.int64) if a_star is None else a_star
    out = kernel(np.ascontiguousarray(m.P), np.ascontiguousarray(m.r), m.gamma, np.ascontiguousarray(m.rho), theta,
                 sp.mode, sp.eta, sp.tau, scale, sp.use_rho, sp.geometric, sp.f_star, sp.max_step, n_iter,
                 record_every, a, "entropy" in record)
    check_diverged(m, meth, out[0], logits=out[6])
    return compiled_result(meth, be.name, record, record_every, *out, v_star, soft, a_star is not None)


def compiled_kernel(be, methods, record, name, strict):
    """The backend's compiled loop ``name`` for ``methods`` (one update rule), or None for the NumPy loop.

    None when the backend has no such kernel, or (``strict=False``) when a method has no compiled update
    or ``record`` asks for fields the loop does not record; with ``strict=True`` the latter raise.
    """
    if be.xp is not np:
        raise InvalidInputError(f"backend = {be.name!r}: exact optimization runs on the CPU; use 'numba', 'numpy' "
                                "or 'auto'.")
    if not be.implements(name):
        return None
    why = None
    if any(mt.numba is None for mt in methods):
        why = f"method {methods[0].name!r} has no compiled update"
    elif not all(k in COMPILED_RECORDABLE for k in record):
        why = f"it records {COMPILED_RECORDABLE}, not {sorted(set(record) - set(COMPILED_RECORDABLE))}"
    if why is None:
        return be.kernel(name)
    if strict:
        raise InvalidInputError(f"backend = {be.name!r}: {why}; use backend='numpy' (or 'auto').")
    return None


def optimal_value(m) -> float:
    """``V*(rho)`` by policy iteration, BLAS on one thread (at S ~ 100 waking a BLAS thread pool costs
    more than the solves)."""
    from .._evaluate_kernels import blas_single_thread
    from ..exact import solve

    with blas_single_thread():
        return float(m.rho @ solve(m, "policy_iteration").v)


def resolve_method(method, mdp, v_star, hyperparameters) -> Method:
    """``method`` itself when it is a :class:`Method` (then no hyperparameters), else ``make_method`` of the name."""
    if isinstance(method, Method):
        if hyperparameters:
            raise InvalidInputError(
                f"{', '.join(sorted(hyperparameters))}: pass hyperparameters to make_method(), not with a Method.")
        return method
    if method == "polyak_pg" and hyperparameters.get("f_star") is None:
        hyperparameters = {**hyperparameters, "f_star": v_star}
    return make_method(method, mdp=mdp, **hyperparameters)


def check_a_star(a_star, m):
    a = np.asarray(a_star)
    if a.shape != (m.n_states,) or not np.issubdtype(a.dtype, np.integer) or np.any((a < 0) | (a >= m.n_actions)):
        raise InvalidInputError(f"a_star: expected {m.n_states} integer actions in [0, {m.n_actions}), got {a!r}.")
    return a.astype(np.int64)


def soft_target(m, meth, record):
    """The soft optimum (``regularized.soft_optimum``) when ``record`` needs it, else None."""
    needs = [k for k in ("reg_value", "reg_gap", "q_error") if k in record]
    if needs and not meth.tau > 0:
        raise InvalidInputError(f"record: {needs} need an entropy-regularized method (tau > 0).")
    if "reg_gap" in record or "q_error" in record:
        from ..regularized import soft_optimum

        return soft_optimum(m, meth.tau)
    return None


def run_method(m, meth, n_iter, theta0, record, record_every, v_star, a_star, soft) -> OptimizeResult:
    """The NumPy reference loop: ``n_iter`` calls of ``meth.update``, recording from the carried evaluations."""
    state = meth.init(m, theta0)
    rows = {k: [] for k in record}
    min_star = 1.0
    for it in range(n_iter + 1):
        new = meth.update(state, m) if it < n_iter else None
        if a_star is not None:
            min_star = min(min_star, float(np.min(state.pi[np.arange(m.n_states), a_star])))
        if it % record_every == 0:
            ev = state.ev
            for k in record:
                if k == "value":
                    x = ev.plain_value
                elif k == "gap":
                    x = v_star - ev.plain_value
                elif k == "entropy":
                    x = float(m.rho @ entropy(state.pi))
                elif k == "step_size":
                    x = new.step_size if new is not None else 0.0
                elif k == "params":
                    x = state.params.copy()
                elif k == "policy":
                    x = state.pi.copy()
                elif k == "reg_value":
                    x = ev.value
                elif k == "reg_gap":
                    x = soft.value - ev.value
                elif k == "q_error":
                    x = float(np.max(np.abs(soft.q - ev.q)))
                elif k == "grad_norm":
                    x = new.info.get("grad_norm", np.nan) if new is not None else np.nan
                else:  # masked
                    x = new.info.get("masked", 0.0) if new is not None else 0.0
                rows[k].append(x)
        if new is None:
            break
        state = new
    arr = {k: np.asarray(v) for k, v in rows.items()}
    check_diverged(m, meth, arr.get("value"), state.pi)
    nan = np.full(n_iter // record_every + 1, np.nan)
    return OptimizeResult(
        method=meth.name, t=np.arange(len(nan)) * record_every, value=arr.get("value", nan),
        gap=arr.get("gap", nan), entropy=arr.get("entropy", nan), step_size=arr.get("step_size", nan),
        policy=state.pi, params_final=state.params, v_star=v_star, backend="numpy", reg_value=arr.get("reg_value"),
        reg_gap=arr.get("reg_gap"), q_error=arr.get("q_error"), grad_norm=arr.get("grad_norm"),
        masked=arr.get("masked"), params=arr.get("params"), policies=arr.get("policy"),
        min_prob_a_star=min_star if a_star is not None else None,
    )


def check_diverged(m, meth, values, pi=None, *, logits=None):
    """Raise :class:`DivergedError` when the run left the set of policies (NaN, or values out of range).

    Checked once on the finished trajectory (never inside the loop): ``pi`` finite, nonnegative, rows
    summing to 1 (or, for a compiled run, its final ``logits`` finite and below
    :data:`mdpgrad.validation.MAX_ABS`, so that their softmax is a policy), and every recorded value
    finite with ``|value| <= max|r| / (1 - gamma)``.
    """
    step_size = getattr(meth.hparams, "step_size", None)
    if logits is not None:
        if not np.max(np.abs(logits), initial=0.0) <= MAX_ABS:  # False for NaN as well (one reduction)
            raise DivergedError(f"{meth.name}: step_size = {step_size!r} made the logits overflow "
                                f"(|theta| > {MAX_ABS:g}); use a smaller step_size.")
        ok = True
    else:
        ok = bool(np.min(pi) >= -1e-8 and np.max(np.abs(np.sum(pi, axis=-1) - 1.0)) <= 1e-6)  # NaN fails both
    if ok and values is not None and np.size(values):
        vmax = float(np.max(np.abs(m.r))) / (1.0 - m.gamma)
        ok = bool(np.max(np.abs(values)) <= vmax + 1e-6 * (1.0 + vmax))  # NaN fails, inf fails
    if not ok:
        raise DivergedError(f"{meth.name}: step_size = {step_size!r} made the iterates leave the policy set "
                            f"(non-finite or out-of-range values); use a smaller step_size.")


def compiled_result(meth, backend, record, record_every, vals, regs, ents, steps, min_star, n_fact, theta, v_star,
                    soft, track) -> OptimizeResult:
    """The :class:`OptimizeResult` of a compiled loop's outputs (a leading batch axis when they have one)."""
    nan = np.full(vals.shape, np.nan)
    v_star_b = np.asarray(v_star)[..., None] if np.ndim(v_star) else v_star
    return OptimizeResult(
        method=meth.name, t=np.arange(vals.shape[-1]) * record_every,
        value=vals if "value" in record else nan, gap=v_star_b - vals if "gap" in record else nan,
        entropy=ents if "entropy" in record else nan, step_size=steps if "step_size" in record else nan,
        policy=softmax(theta), params_final=theta, v_star=v_star, backend=backend,
        reg_value=regs if "reg_value" in record else None,
        reg_gap=(np.asarray(soft.value)[..., None] if np.ndim(soft.value) else soft.value) - regs
        if "reg_gap" in record else None,
        min_prob_a_star=min_star if track else None, n_factorizations=n_fact,
    )
