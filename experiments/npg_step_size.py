"""Exact softmax NPG: step size x instance x seed, against the sublinear bound.

Update (tabular softmax NPG, Kakade 2001; Agarwal et al. 2021, eq. for the softmax NPG
update): ``pi_{t+1}(a|s) ∝ pi_t(a|s) exp(eta A^{pi_t}(s, a) / (1 - gamma))`` from the
uniform policy, computed in log space with exact advantages (``mdpgrad.optimize(mdp, "npg")``).

Bound checked at every t >= 1 ("On the Theory of Policy Gradient Methods: Optimality,
Approximation, and Distribution Shift", Theorem 16, their normalization):
``V*(rho) - V^{(t)}(rho) <= log|A| / (eta t) + 1 / ((1 - gamma)^2 t)``.

Grid: eta in {0.03, 0.1, 0.3, 1, 3, 10} x three Garnet families x 10 replicates; the seed
depends on (instance, replicate) only (``seed_by``), so every step size sees the same
random instances. Each cell stores the gap sequence, the bound and the number of
violations (expected 0).
"""

from __future__ import annotations

import numpy as np

from mdpgrad import optimize, solve
from mdpgrad.sweep import Sweep

from ._instances import make_instance

SWEEP = Sweep(
    name="npg_step_size",
    function="mdpgrad.experiments.npg_step_size:npg_cell",
    grid={"eta": [0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
          "instance": ["garnet(10,3,2)", "garnet(20,4,3)", "garnet(50,5,5)"]},
    fixed={"gamma": 0.9, "T": 200},
    seeds=10,
    seed_by=("instance",),
    description="exact softmax NPG, gap vs t per step size, against log|A|/(eta t) + 1/((1-gamma)^2 t)",
)


def npg_run(mdp, eta: float, T: int) -> np.ndarray:
    """Gaps ``V*(rho) - V^{pi_t}(rho)`` for t = 0..T of exact NPG from the uniform policy (:func:`mdpgrad.optimize`)."""
    v_star = float(mdp.rho @ solve(mdp, "policy_iteration", tol=1e-12).v)
    return optimize(mdp, "npg", n_iter=T, step_size=eta, record=("gap",), v_star=v_star).gap


def npg_bound(t, eta: float, n_actions: int, gamma: float):
    """``log|A| / (eta t) + 1 / ((1 - gamma)^2 t)``."""
    t = np.asarray(t, dtype=float)
    return np.log(n_actions) / (eta * t) + 1.0 / ((1.0 - gamma) ** 2 * t)


def npg_cell(eta: float, instance: str, gamma: float, T: int, seed: int) -> dict:
    """One cell: the NPG gap sequence on ``instance`` drawn from ``seed``."""
    mdp = make_instance(instance, gamma, seed)
    return _summary(npg_run(mdp, eta, T), eta, mdp.n_actions, gamma, T)


def npg_cells(cells: list[dict]) -> list[dict]:
    """Many cells (``[{eta, instance, gamma, T, seed}, ...]``) in one batched :func:`mdpgrad.optimize`
    per (instance family, gamma, T): a list of MDPs of one shape with one step size each. The batch over
    MDPs runs each member with the single-run kernel's arithmetic, so every result equals
    :func:`npg_cell`'s bit for bit. The sweep runner calls this for a chunk of cells (``npg_cell.batched``)."""
    out: list[dict | None] = [None] * len(cells)
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(cells):
        groups.setdefault((c["instance"], c["gamma"], c["T"]), []).append(i)
    for (instance, gamma, T), idx in groups.items():
        built: dict[int, tuple] = {}  # cells of one seed share their MDP and V* (seed_by=("instance",))
        for i in idx:
            sd = cells[i]["seed"]
            if sd not in built:
                m = make_instance(instance, gamma, sd)
                built[sd] = (m, float(m.rho @ solve(m, "policy_iteration", tol=1e-12).v))
        mdps = [built[cells[i]["seed"]][0] for i in idx]
        v_star = [built[cells[i]["seed"]][1] for i in idx]
        etas = np.array([float(cells[i]["eta"]) for i in idx])
        gaps = optimize(mdps, "npg", n_iter=T, step_size=etas, record=("gap",), v_star=v_star).gap
        for j, i in enumerate(idx):
            out[i] = _summary(gaps[j], float(etas[j]), mdps[j].n_actions, gamma, T)
    return out


npg_cell.batched = npg_cells


def _summary(gaps: np.ndarray, eta: float, n_actions: int, gamma: float, T: int) -> dict:
    t = np.arange(1, T + 1)
    bound = npg_bound(t, eta, n_actions, gamma)
    # float64 round-off in V* and V^pi (condition number <= 1/(1-gamma) = 10): 1e-10 absolute slack.
    viol = int(np.sum(gaps[1:] > bound + 1e-10))
    return {"gap_final": float(gaps[-1]), "bound_final": float(bound[-1]), "violations": viol,
            "max_ratio": float(np.max(gaps[1:] / bound)), "gaps": gaps}


def figure(df):
    """Top row: median gap vs t per step size (one panel per instance). Bottom row: the largest
    ratio gap_t / bound_t over seeds, which the bound keeps <= 1 (the bounds of different step
    sizes nearly coincide, so they are compared through this ratio rather than drawn over each
    other). One legend for all panels."""
    from mdpgrad.plotting import new_figure

    instances = list(dict.fromkeys(df["instance"]))
    fig, axes = new_figure(2, len(instances), figsize=(3.6 * len(instances), 5.6))
    axes = np.asarray(axes).reshape(2, len(instances))
    handles = {}
    for j, inst in enumerate(instances):
        top, bottom = axes[0, j], axes[1, j]
        sub = df[df["instance"] == inst]
        A = int(inst.split(",")[1])
        for i, (eta, grp) in enumerate(sub.groupby("eta")):
            g = np.array(grp["gaps"].tolist())
            t = np.arange(1, g.shape[1])
            med = np.median(g[:, 1:], axis=0)
            (line,) = top.plot(t, np.where(med > 0, med, np.nan), color=f"C{i}", lw=1.4)
            handles.setdefault(f"$\\eta = {eta:g}$", line)
            ratio = np.max(g[:, 1:] / npg_bound(t, eta, A, float(grp["gamma"].iloc[0])), axis=0)
            bottom.plot(t, np.where(ratio > 0, ratio, np.nan), color=f"C{i}", lw=1.2)
        (bline,) = bottom.plot([1, t[-1]], [1, 1], "--", color="k", lw=1)
        handles.setdefault("bound (ratio 1)", bline)
        nviol = int(sub["violations"].sum())
        top.set_title(f"{inst}: {sub['replicate'].nunique()} seeds, {nviol} bound violations", fontsize=8)
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.set_yscale("log")
        bottom.set_xlabel("iteration $t$")
    axes[0, 0].set_ylabel("median $V^*(\\rho) - V^{\\pi_t}(\\rho)$")
    axes[1, 0].set_ylabel("max over seeds of gap$_t$ / bound$_t$")
    fig.legend(list(handles.values()), list(handles.keys()), loc="outside lower center", ncols=len(handles),
               fontsize=7, frameon=False)
    fig.suptitle(r"Exact softmax NPG against $\log|A|/(\eta t) + 1/((1-\gamma)^2 t)$", fontsize=9)
    return fig
