"""Foundation identities: the exact algebra everything else is checked against.

These are not literature claims but the identities every later check relies on; a
violation here means the oracle itself is broken.
"""

from __future__ import annotations

import numpy as np

from mdpgrad import envs, evaluate, policy_gradient, probs, solve
from mdpgrad.claims import Verdict, claim, holds_if
from mdpgrad.exact import bellman_operator
from mdpgrad.plotting import new_figure

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
)
def bellman_residual_zero(budget, rng):
    worst = 0.0
    for mdp in _random_instances(budget, rng):
        pi = rng.dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
        ev = evaluate(mdp, pi)
        res_v = np.max(np.abs(bellman_operator(mdp, pi, ev.v) - ev.v)) / (1 + np.abs(ev.v).max())
        P_pi = np.einsum("sa,sat->st", pi, mdp.P)
        res_d = np.max(np.abs((1 - mdp.gamma) * mdp.rho + mdp.gamma * P_pi.T @ ev.occupancy - ev.occupancy))
        res_sum = abs(ev.occupancy.sum() - 1)
        worst = max(worst, res_v, res_d, res_sum)
    # float64 round-off on condition numbers <= 1/(1-gamma) = 20: 1e-12 is generous.
    return Verdict(predicted=0.0, measured=worst, verdict=holds_if(worst <= 1e-12),
                   details="max relative Bellman / occupancy residual over instances")


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
    "is checked by the stochastic-pg topic.",
)
def pg_theorem(budget, rng):
    mdp = envs.garnet(10, 3, 3, gamma=0.9, seed=rng)
    errs = []
    for _ in range(budget.pick(2, 5)):
        theta = rng.normal(size=(10, 3))
        g = policy_gradient(mdp, theta)
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
    g = policy_gradient(mdp, th, "loglinear", phi=phi)
    fd = np.zeros(4)
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-5
        fd[i] = (evaluate(mdp, probs(th + e, "loglinear", phi=phi)).value
                 - evaluate(mdp, probs(th - e, "loglinear", phi=phi)).value) / 2e-5
    errs.append(np.max(np.abs(g - fd)) / max(np.max(np.abs(fd)), 1e-12))
    worst = float(max(errs))
    return Verdict(predicted=0.0, measured=worst, verdict=holds_if(worst <= 1e-6),
                   details="max relative error, PG theorem vs central finite differences (h=1e-5)")


@claim(
    id="solvers-agree",
    paper="(foundation identity)",
    topic="foundation",
    statement="Policy iteration, value iteration and linear programming return the same optimal "
    "values (to 1e-8) and each certifies its error bound.",
    bound="0",
    instance="Garnet(S in 3..8, A in 2..4, b=3) and a 5x5 gridworld",
    priority="A",
)
def solvers_agree(budget, rng):
    worst = 0.0
    mdps = _random_instances(budget, rng) + [envs.gridworld(5, 5, gamma=0.95, walls=[(1, 1), (2, 3)])]
    vs = []
    for mdp in mdps:
        res = {m: solve(mdp, m, tol=_SOLVER_TOL) for m in ("policy_iteration", "value_iteration",
                                                          "linear_programming")}
        ref = res["policy_iteration"].v
        for r in res.values():
            worst = max(worst, float(np.max(np.abs(r.v - ref))))
            if not r.converged:
                worst = max(worst, np.inf)
        vs.append(ref)
    fig, ax = new_figure()
    ax.plot(vs[-1][:-1].reshape(-1), "o-")
    ax.set_xlabel("state (gridworld, row-major free cells)")
    ax.set_ylabel("V*")
    ax.set_title("V* on the 5x5 gridworld (PI = VI = LP)", fontsize=9)
    return Verdict(predicted=0.0, measured=worst, verdict=holds_if(worst <= 1e-8),
                   details="max |v_method - v_PI| over instances and methods", figure=fig,
                   data={"v_star_gridworld": vs[-1]})
