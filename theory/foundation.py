"""Foundation identities: the exact algebra everything else is checked against.

These are not literature claims but the identities every later check relies on; a
violation here means the oracle itself is broken.
"""

from __future__ import annotations

import numpy as np

from mdpgrad import TabularMDP, envs, evaluate, policy_gradient, probs, solve
from mdpgrad.claims import Verdict, claim
from mdpgrad.exact import bellman_operator
from mdpgrad.plotting import new_figure
from mdpgrad.verdicts import at_most

_SOLVER_TOL = 1e-10


def _random_instances(budget, rng, n_quick=3, n_full=20):
    n = budget.pick(n_quick, n_full)
    out = []
    for _ in range(n):
        S = int(rng.integers(3, 9))
        A = int(rng.integers(2, 5))
        out.append(envs.garnet(S, A, min(3, S), gamma=float(rng.choice([0.8, 0.9, 0.95])), seed=rng))
    return out


@claim(
    id="bellman-residual-zero",
    paper="(foundation identity)",
    topic="foundation",
    statement="The exact evaluation v^pi satisfies v = T^pi v, d^pi sums to 1 and is a fixed point of "
    "d = (1-gamma) rho + gamma P_pi^T d.",
    bound="0",
    instance="Garnet(S in 3..8, A in 2..4, b=3), random policies",
    priority="A",
    expected="holds",
    controls={"discount-0.97": "policy evaluation run with 0.97 gamma (the library's evaluate on the MDP with "
              "a mis-set discount), judged against the true MDP's Bellman operator"},
)
def bellman_residual_zero(budget, rng, control=None):
    """Residuals of the library's exact evaluation against the Bellman operator T^pi (also library
    code, but a one-line expectation r_pi + gamma P_pi v that shares nothing with the LU solve) and the
    occupancy fixed point written out here."""
    worst = 0.0
    rows = []
    for mdp in _random_instances(budget, rng):
        pi = rng.dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
        run = mdp if control is None else TabularMDP(mdp.P, mdp.r, 0.97 * mdp.gamma, rho=mdp.rho)
        ev = evaluate(run, pi)
        res_v = np.max(np.abs(bellman_operator(mdp, pi, ev.v) - ev.v)) / (1 + np.abs(ev.v).max())
        P_pi = np.einsum("sa,sat->st", pi, mdp.P)
        res_d = np.max(np.abs((1 - mdp.gamma) * mdp.rho + mdp.gamma * P_pi.T @ ev.occupancy - ev.occupancy))
        res_sum = abs(ev.occupancy.sum() - 1)
        worst = max(worst, res_v, res_d, res_sum)
        rows.append((mdp.n_states, mdp.gamma, max(res_v, 1e-17), max(res_d, 1e-17)))
    # float64 round-off on condition numbers <= 1/(1-gamma) = 20: 1e-12 is generous.
    fig, ax = new_figure()
    x = np.arange(len(rows))
    ax.semilogy(x, [r[2] for r in rows], "o", label="relative Bellman residual |T^pi v - v|")
    ax.semilogy(x, [r[3] for r in rows], "s", label="occupancy fixed-point residual")
    ax.axhline(1e-12, color="k", ls="--", lw=1, label="tolerance 1e-12")
    ax.set_xlabel("instance")
    ax.set_ylabel("residual")
    ax.legend(fontsize=7)
    return Verdict(predicted=0.0, measured=worst, verdict=at_most(worst, 1e-12, what="max residual"),
                   details="max relative Bellman / occupancy residual over instances", figure=fig,
                   data={"residual_v": np.array([r[2] for r in rows]), "residual_d": np.array([r[3] for r in rows])})


@claim(
    id="pg-theorem",
    paper="The Definitive Guide to Policy Gradients in Deep Reinforcement Learning: Theory, Algorithms "
    "and Implementations",
    topic="foundation",
    statement="grad J(theta) = 1/(1-gamma) E_{s~d^pi, a~pi}[grad log pi(a|s) Q^pi(s, a)]: the PG-theorem "
    "gradient equals central finite differences of the exact value.",
    bound="0",
    instance="Garnet(S=10, A=3, b=3), gamma=0.9, softmax and log-linear parametrizations",
    priority="A",
    notes="The abstract states no formula; the standard (Sutton et al. 2000) form is checked. Finite-"
    "difference error with step h=1e-5 is O(h^2 * |V'''|) + O(eps/h) ~ 1e-9, so the tolerance "
    "on the relative error is 1e-6 (the catalogue's figure). The continuous (LQ Gaussian) version "
    "is checked by the stochastic-pg topic. Catalogue correction: rho is a random full-support distribution "
    "(under uniform rho a rho-weighted gradient is still wrong, but the instance should not hide it).",
    expected="holds",
    controls={"rho-weighting": "the gradient weighting states by rho instead of d^pi "
              "(policies.policy_gradient(weighting='rho'))",
              "no-1/(1-gamma)": "the gradient without its 1/(1-gamma) factor (policy_gradient(horizon_factor=False))"},
)
def pg_theorem(budget, rng, control=None):
    kw = {"rho-weighting": {"weighting": "rho"}, "no-1/(1-gamma)": {"horizon_factor": False}}.get(control, {})
    mdp = envs.garnet(10, 3, 3, gamma=0.9, seed=rng, rho=rng.dirichlet(np.ones(10)))
    errs = []
    for _ in range(budget.pick(2, 5)):
        theta = rng.normal(size=(10, 3))
        g = policy_gradient(mdp, theta, **kw)
        fd = np.zeros_like(theta)
        h = 1e-5
        for idx in np.ndindex(theta.shape):
            tp, tm = theta.copy(), theta.copy()
            tp[idx] += h
            tm[idx] -= h
            fd[idx] = (evaluate(mdp, probs(tp)).value - evaluate(mdp, probs(tm)).value) / (2 * h)
        errs.append(np.max(np.abs(g - fd)) / max(np.max(np.abs(fd)), 1e-12))
    phi = rng.normal(size=(10, 3, 4))
    th = rng.normal(size=4)
    g = policy_gradient(mdp, th, "loglinear", phi=phi, **kw)
    fd = np.zeros(4)
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-5
        fd[i] = (evaluate(mdp, probs(th + e, "loglinear", phi=phi)).value
                 - evaluate(mdp, probs(th - e, "loglinear", phi=phi)).value) / 2e-5
    errs.append(np.max(np.abs(g - fd)) / max(np.max(np.abs(fd)), 1e-12))
    worst = float(max(errs))
    fig, ax = new_figure()
    ax.scatter(fd.ravel(), g.ravel(), s=12, label="log-linear coordinates")
    lim = [min(fd.min(), g.min()), max(fd.max(), g.max())]
    ax.plot(lim, lim, "k--", lw=1, label="PG theorem = finite differences")
    ax.set_xlabel("central finite difference of V(rho)")
    ax.set_ylabel("library policy_gradient")
    ax.set_title(f"max relative error over parametrizations {worst:.1e}", fontsize=8)
    ax.legend(fontsize=7)
    return Verdict(predicted=0.0, measured=worst, verdict=at_most(worst, 1e-6, what="max relative error"),
                   details="max relative error, PG theorem vs central finite differences (h=1e-5)", figure=fig,
                   data={"fd_loglinear": fd, "grad_loglinear": g})


@claim(
    id="solvers-agree",
    paper="(foundation identity)",
    topic="foundation",
    statement="Policy iteration, value iteration and linear programming return the same optimal "
    "values (to 1e-8) and each certifies its error bound.",
    bound="0",
    instance="Garnet(S in 3..8, A in 2..4, b=3) and a 5x5 gridworld",
    priority="A",
    expected="holds",
    controls={"vi-loose-tolerance": "value iteration stopped at tol = 1e-3 (the library's solver with a "
              "mis-set tolerance) while 1e-10 is claimed"},
)
def solvers_agree(budget, rng, control=None):
    """Max |v_method - v_PI| over instances and the three methods, <= 1e-8; every solver reports
    convergence. The figure shows the three solvers' V* on the gridworld (markers of different
    shapes on one axis) and, per instance, each method's deviation from policy iteration."""
    worst = 0.0
    mdps = _random_instances(budget, rng) + [envs.gridworld(5, 5, gamma=0.95, walls=[(1, 1), (2, 3)])]
    methods = ("policy_iteration", "value_iteration", "linear_programming")
    tols = {m: _SOLVER_TOL for m in methods}
    if control == "vi-loose-tolerance":
        tols["value_iteration"] = 1e-3
    devs = {m: [] for m in methods}
    last = None
    for mdp in mdps:
        res = {m: solve(mdp, m, tol=tols[m]) for m in methods}
        ref = res["policy_iteration"].v
        for m, r in res.items():
            dev = float(np.max(np.abs(r.v - ref)))
            devs[m].append(max(dev, 1e-17))
            worst = max(worst, dev)
            if not r.converged:
                worst = max(worst, np.inf)
        last = res
    fig, (ax, ax2) = new_figure(1, 2, figsize=(8, 3.4))
    for (m, r), mk in zip(last.items(), ("o", "x", "+")):
        ax.plot(r.v, mk, ms=7 if mk == "o" else 9, mfc="none", label=m.replace("_", " "))
    ax.set_xlabel("state (5x5 gridworld)")
    ax.set_ylabel("V*")
    ax.legend(fontsize=7)
    x = np.arange(len(mdps))
    for k, m in enumerate(methods[1:]):
        ax2.semilogy(x + 0.1 * k, devs[m], "x+"[k], ms=8, label=f"{m.replace('_', ' ')} vs PI")
    ax2.axhline(1e-8, color="k", ls="--", lw=1, label="tolerance 1e-8")
    ax2.set_xlabel("instance")
    ax2.set_ylabel("max |v - v_PI|")
    ax2.legend(fontsize=7)
    return Verdict(predicted=0.0, measured=worst, verdict=at_most(worst, 1e-8, what="max |v_method - v_PI|"),
                   details="max |v_method - v_PI| over instances and methods: "
                   + ", ".join(f"{m}: {max(devs[m]):.1e}" for m in methods[1:]), figure=fig,
                   data={"v_gridworld_" + m: last[m].v for m in methods})
