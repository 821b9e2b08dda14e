"""Exact softmax PG vs NPG on small Garnets (the convergence-curve figure of the PG papers).

All three run through :func:`mdpgrad.optimize` (``"npg"`` / ``"softmax_pg"``):

* ``npg``: ``pi_{t+1} ∝ pi_t exp(eta A/(1-gamma))`` with ``eta = 1``;
* ``pg``: exact softmax PG ``theta += eta grad V(rho)``, ``eta = 1``;
* ``pg-theory-step``: softmax PG with ``eta = (1-gamma)^3 / 8`` = 1 / smoothness constant
  ("On the Global Convergence Rates of Softmax Policy Gradient Methods", Lemma 7), the step
  size of its O(1/t) theorem.

Gaps are stored at ~60 log-spaced iterations. Expected picture: NPG reaches machine
precision within tens of iterations, PG with eta=1 decays like 1/t (slope -1 on log-log),
PG with the theory step size barely moves within the horizon.
"""

from __future__ import annotations

import numpy as np

from mdpgrad import optimize, solve
from mdpgrad.sweep import Sweep

from ._instances import make_instance

SWEEP = Sweep(
    name="pg_vs_npg",
    function="mdpgrad.experiments.pg_vs_npg:pg_npg_cell",
    grid={"method": ["npg", "pg", "pg-theory-step"], "gamma": [0.8, 0.9]},
    fixed={"instance": "garnet(10,3,2)", "T": 2000, "eta": 1.0},
    seeds=8,
    seed_by=("gamma",),
    description="exact softmax PG vs NPG: gap vs t on Garnet(10,3,2)",
)


def _log_times(T: int, n: int = 60) -> np.ndarray:
    return np.unique(np.concatenate([[0], np.round(np.logspace(0, np.log10(T), n)).astype(int)]))


def pg_npg_cell(method: str, gamma: float, instance: str, T: int, eta: float, seed: int) -> dict:
    """Gap ``V*(rho) - V^{pi_t}(rho)`` at log-spaced t for one method on ``instance`` drawn from ``seed``."""
    if method not in ("npg", "pg", "pg-theory-step"):
        raise ValueError(f"method = {method!r}: choose npg, pg or pg-theory-step")
    mdp = make_instance(instance, gamma, seed)
    v_star = float(mdp.rho @ solve(mdp, "policy_iteration", tol=1e-12).v)
    step = (1 - gamma) ** 3 / 8 if method == "pg-theory-step" else eta
    res = optimize(mdp, "npg" if method == "npg" else "softmax_pg", n_iter=T, step_size=step, record=("gap",),
                   v_star=v_star)
    ts = _log_times(T)
    gaps = res.gap[ts]
    return {"t": ts.tolist(), "gaps": gaps.tolist(), "gap_final": float(gaps[-1]), "step": step}


def figure(df):
    """Median gap vs t per method, one panel per gamma, with a 1/t reference line."""
    from mdpgrad.plotting import new_figure

    gammas = sorted(df["gamma"].unique())
    fig, axes = new_figure(1, len(gammas), figsize=(4.2 * len(gammas), 3.4))
    axes = np.atleast_1d(axes)
    for ax, g in zip(axes, gammas):
        sub = df[df["gamma"] == g]
        for i, (m, grp) in enumerate(sub.groupby("method", sort=False)):
            t = np.asarray(grp["t"].iloc[0], dtype=float)
            y = np.median(np.array(grp["gaps"].tolist(), dtype=float), axis=0)
            ax.plot(t[1:], np.where(y[1:] > 0, y[1:], np.nan), color=f"C{i}", lw=1.5, label=m)
        t = np.asarray(sub["t"].iloc[0], dtype=float)[1:]
        ref = np.median(np.array(sub[sub["method"] == "pg"]["gaps"].tolist(), dtype=float), axis=0)[1]
        ax.plot(t, ref / t, ":", color="k", lw=1, label="1/t reference")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("iteration t")
        ax.set_title(f"Garnet(10,3,2), gamma={g:g}, {sub['replicate'].nunique()} seeds", fontsize=8)
    axes[0].set_ylabel("V*(rho) - V^t(rho) (median)")
    axes[-1].legend(fontsize=6)
    return fig
