"""Robust and risk-sensitive MDP claims: robust Bellman operators, DRPG, regularized robust = risk.

References are independent of the inner solvers under test: the worst case over an L1 / L-inf /
contamination ball by ``scipy.optimize.linprog`` (:func:`mdpgrad.robust.reference.reference_inner`),
over a KL ball by its one-dimensional dual (the exponential tilt, :func:`_kl_dual_value`, computed here),
and over L2 / chi-square balls by SLSQP. A value function computed by the library is certified by the
residual of the *reference* Bellman operator: ``||T_ref v - v||_inf <= eps`` implies
``||v - v_true||_inf <= eps / (1 - gamma)``.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

from mdpgrad import envs, solve
from mdpgrad.claims import Verdict, claim, holds_if
from mdpgrad.plotting import claim_figure
from mdpgrad.robust import (
    KINDS,
    UncertaintySet,
    drpg,
    entropic_evaluate,
    entropic_risk,
    kl_regularized_robust_evaluate,
    project_simplex,
    regularized_policy_gradient,
    risk_sensitive_value_iteration,
    robust_bellman_operator,
    robust_evaluate,
    robust_policy_iteration,
    robust_value_iteration,
)

_RADII = {"l1": 0.3, "linf": 0.1, "l2": 0.2, "kl": 0.2, "chi2": 0.3, "contamination": 0.2}
_HALF = "the method under test uses half the radius of the set the reference uses (UncertaintySet.with_radius)"



def _under_test(U, control):
    """The set the method under test is given: ``U``, or half its radius for the 'half-radius' control."""
    return U.with_radius(U.radius / 2) if control == "half-radius" else U


def _kl_dual_value(p, v, delta):
    """min { q.v : KL(q || p) <= delta } by its dual max_{lam > 0} -lam log E_p exp(-v/lam) - lam delta
    (concave in lam; the lam -> 0 limit is min_{p > 0} v): a log-spaced grid then bounded Brent search on
    log lam. Independent of mdpgrad.robust's KL solver (no Newton / bisection on the tilt)."""
    on = p > 0
    ps, vs = p[on], v[on]
    vmin = vs.min()

    def neg(t):
        lam = np.exp(t)
        return lam * np.log(np.sum(ps * np.exp(-(vs - vmin) / lam))) - vmin + lam * delta

    grid = np.linspace(-20.0, 12.0, 33)
    k = int(np.argmin([neg(t) for t in grid]))
    res = scipy.optimize.minimize_scalar(neg, bounds=(grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]),
                                         method="bounded", options={"xatol": 1e-12})
    return max(vmin, -float(res.fun))


def _reference_inner_values(mdp, U, v):
    """``[S, A]`` worst-case values min_{q in U(s, a)} q.v from the independent references."""
    from mdpgrad.robust.reference import reference_inner

    S, A = mdp.n_states, mdp.n_actions
    out = np.empty((S, A))
    for s in range(S):
        for a in range(A):
            p = mdp.P[s, a]
            out[s, a] = _kl_dual_value(p, v, U.radius) if U.kind == "kl" else reference_inner(p, v, U)[0]
    return out


def _reference_backup(mdp, U, v, pi=None):
    """The robust Bellman operator (optimal, or of ``pi``) with the reference inner values."""
    q = mdp.r + mdp.gamma * _reference_inner_values(mdp, U, v)
    return q.max(axis=1) if pi is None else np.sum(pi * q, axis=1)


@claim(
    id="robust-bellman-contraction",
    paper="(standard result: Iyengar 2005, Robust dynamic programming; Nilim & El Ghaoui 2005)",
    topic="robust",
    statement="For rectangular uncertainty sets the robust Bellman operators T_U and T^pi_U are gamma-contractions "
    "in the sup norm: ||T v - T w|| <= gamma ||v - w|| for all v, w.",
    bound="gamma",
    assumptions=("(s, a)- or s-rectangular set", "finite S, A", "gamma < 1"),
    instance="Garnet(6, 3, b=3), gamma=0.9; every (s,a)-rectangular kind and s-rectangular L1/KL; random pairs "
    "(v, w) with N(0, 3^2) entries and pairs differing in one coordinate; 10 (quick) / 200 (full) pairs per set, "
    "20 for the slow s-rectangular KL update; operator vs independent reference (linprog / KL dual) at 2 "
    "(quick: L1 and KL) / 3 (full: every kind) random v",
    priority="A",
    expected="holds",
    controls={"half-radius": _HALF},
)
def robust_bellman_contraction(budget, rng, control=None):
    """Each inner value sigma(v) = min_q q.v is a minimum of 1-Lipschitz (sup-norm) functions
    of v, so |sigma(v) - sigma(w)| <= ||v - w||; multiplying by gamma and taking max_a /
    averaging over pi preserves it. Measured: the largest ratio over random pairs (rule
    bound_at_every_t against gamma + 1e-12 round-off; tightness = max ratio / gamma). Because any
    min of linear functions contracts, the contraction alone cannot tell a wrong set from the right
    one: the operator is also compared with the reference operator (linprog / KL dual / SLSQP, never
    the library's inner solvers) at random v: max |T v - T_ref v| <= 1e-7 (SLSQP's accuracy on L2 /
    chi-square; the others agree to ~1e-14)."""
    from mdpgrad.verdicts import at_most, bound_at_every_t, combine

    mdp = envs.garnet(6, 3, 3, gamma=0.9, seed=rng)
    n_pairs = budget.pick(10, 200)
    sets = [UncertaintySet(k, _RADII[k]) for k in KINDS] + [UncertaintySet("l1", 0.5, "s")]
    if not budget.quick:
        sets.append(UncertaintySet("kl", 0.4, "s"))
    ratios = {}
    for U in sets:
        rs = []
        Ut = _under_test(U, control)
        # the s-rectangular KL update is a nested bisection (slow): fewer pairs for it
        n_u = max(10, n_pairs // 10) if (U.rectangularity == "s" and U.kind != "l1") else n_pairs
        for i in range(n_u):
            v = rng.normal(size=6) * 3
            w = v.copy()
            if i % 2:
                w[rng.integers(6)] += rng.normal() * 2
            else:
                w = rng.normal(size=6) * 3
            pi = None if i % 3 else rng.dirichlet(np.ones(3), size=6)
            if U.rectangularity == "s" and U.kind != "l1":
                pi = None
            tv = robust_bellman_operator(mdp, Ut, v, pi)
            tw = robust_bellman_operator(mdp, Ut, w, pi)
            rs.append(np.max(np.abs(tv - tw)) / np.max(np.abs(v - w)))
        ratios[f"{U.kind}/{U.rectangularity}"] = np.array(rs)
    ref_kinds = ("l1", "kl") if budget.quick else KINDS
    ref_err = 0.0
    for k in ref_kinds:
        U = UncertaintySet(k, _RADII[k])
        for _ in range(budget.pick(2, 3)):
            v = rng.normal(size=6) * 3
            ref_err = max(ref_err, float(np.max(np.abs(robust_bellman_operator(mdp, _under_test(U, control), v)
                                                       - _reference_backup(mdp, U, v)))))
    allr = np.concatenate(list(ratios.values()))
    worst = float(allr.max())
    v_con = bound_at_every_t(allr, np.full(allr.shape, mdp.gamma + 1e-12), name="||Tv - Tw|| / ||v - w||",
                             bound_name="gamma")
    v_ref = at_most(ref_err, 1e-7, what="max |T v - T_ref v|")
    fig, ax = claim_figure(control)
    for i, (name, r) in enumerate(ratios.items()):
        ax.plot(np.full(r.size, i) + rng.uniform(-0.2, 0.2, r.size), r, ".", ms=3)
    ax.axhline(mdp.gamma, color="k", ls="--", label="gamma (predicted bound)")
    ax.set_xticks(range(len(ratios)), list(ratios), rotation=30, fontsize=7)
    ax.set_ylabel("||Tv - Tw|| / ||v - w||")
    ax.set_title("robust Bellman operator: sup-norm Lipschitz ratios", fontsize=9)
    ax.legend(fontsize=7)
    return Verdict(predicted=mdp.gamma, measured=worst, verdict=combine(v_con, v_ref),
                   rule=f"{v_con.rule}; {v_ref.rule}", tightness=v_con.tightness,
                   details=f"max ratio over {n_pairs} pairs x {len(sets)} sets; operator vs reference "
                   f"({', '.join(ref_kinds)}): max abs diff {ref_err:.1e}",
                   figure=None if control else fig, data={k: v for k, v in ratios.items()})


@claim(
    id="robust-radius-monotone",
    paper="(standard result: nested uncertainty sets; Iyengar 2005, Robust dynamic programming)",
    topic="robust",
    statement="The robust optimal value v*_U is nonincreasing in the radius of the uncertainty set and equals "
    "the nominal optimal value at radius 0.",
    bound="0",
    assumptions=("(s, a)-rectangular sets nested in the radius",),
    instance="Garnet(8, 3, b=4), gamma=0.8; L1, KL, contamination (quick) / every kind (full) on a grid of 3 / "
    "25 radii (robust PI); robust VI vs PI at the largest radius (quick: not KL); certificate at the largest radius: residual of the reference operator (linprog / KL dual / SLSQP)",
    priority="A",
    expected="holds",
    controls={"half-radius": _HALF},
)
def robust_radius_monotone(budget, rng, control=None):
    """Balls grow with the radius, so the adversary's minimum can only decrease. Measured: the
    largest increase of rho.v*_U between consecutive radii (v*_U by robust policy iteration certified to
    1e-10, tolerance 2e-10) and |v*_U(0) - v*| (tolerance 2e-10). Monotonicity holds for
    any nested family, so the value at the largest radius is also certified against the reference
    operator: ||T_ref v*_U - v*_U||_inf <= 1e-7 (so v*_U is within 1e-7/(1-gamma) of the true robust
    optimum), and robust value iteration reaches the same value as robust policy iteration (1e-8)."""
    from mdpgrad.verdicts import at_most, combine

    mdp = envs.garnet(8, 3, 4, gamma=0.8, seed=rng)
    nominal = solve(mdp, tol=1e-11).v
    n = budget.pick(3, 25)
    grids = {k: np.linspace(0, 1.0 if k == "contamination" else (0.5 if k == "linf" else 1.5), n) for k in KINDS}
    curves = {}
    worst_inc, worst0, cert, pi_gap = -np.inf, 0.0, 0.0, 0.0
    kinds = ["l1", "kl", "contamination"] if budget.quick else list(KINDS)
    grids = {k: grids[k] for k in kinds}
    for k in kinds:
        vals = []
        for rad in grids[k]:
            res = robust_policy_iteration(mdp, _under_test(UncertaintySet(k, rad), control), tol=1e-10)
            vals.append(float(mdp.rho @ res.v))
            if rad == 0:
                worst0 = max(worst0, float(np.max(np.abs(res.v - nominal))))
        U = UncertaintySet(k, grids[k][-1])
        cert = max(cert, float(np.max(np.abs(_reference_backup(mdp, U, res.v) - res.v))))
        if k != "kl" or not budget.quick:  # robust VI with the KL inner solver is the slow one
            rvi = robust_value_iteration(mdp, _under_test(U, control), tol=1e-11)
            pi_gap = max(pi_gap, float(np.max(np.abs(rvi.v - res.v))))
        vals = np.array(vals)
        curves[k] = vals
        worst_inc = max(worst_inc, float(np.max(np.diff(vals))))
    fig, ax = claim_figure(control)
    for k, vals in curves.items():
        ax.plot(grids[k] / grids[k][-1], vals, "o-", ms=3, label=k)
    ax.axhline(float(mdp.rho @ nominal), color="k", ls="--", label="nominal optimum")
    ax.set_xlabel("radius / max radius")
    ax.set_ylabel("rho . v*_U")
    ax.set_title("price of robustness: robust value vs radius", fontsize=9)
    ax.legend(fontsize=7)
    parts = (at_most(worst_inc, 2e-10, what="max increase between radii"), at_most(worst0, 2e-10, what="|v_U(0) - v*|"),
             at_most(cert, 1e-7, what="reference residual at the largest radius"),
             at_most(pi_gap, 1e-8, what="|v_PI - v_VI|"))
    return Verdict(predicted=0.0, measured=max(worst_inc, worst0), verdict=combine(*parts),
                   rule="; ".join(p.rule for p in parts),
                   details=f"max increase between radii {worst_inc:.2e}; |v_U(0) - v*| {worst0:.2e}; reference "
                   f"residual at the largest radius {cert:.1e}; robust PI vs VI {pi_gap:.1e}",
                   figure=None if control else fig,
                   data={"radii_" + k: grids[k] for k in kinds} | {"value_" + k: v for k, v in curves.items()})


@claim(
    id="drpg-global",
    paper="Policy Gradient in Robust MDPs with Global Convergence Guarantee",
    topic="robust",
    statement="DRPG (outer projected PG on the policy, inner worst-case kernel computed to a nonincreasing "
    "tolerance eps_t) converges to a globally optimal robust policy in tabular (s,a)-rectangular RMDPs.",
    bound="0",
    assumptions=("(s, a)-rectangular set", "direct tabular policy", "inner tolerance eps_t nonincreasing -> 0"),
    instance="first Garnet(5, 3, b=3) of the seed stream whose nominal optimal policy and L1(0.2)-robust policy "
    "both differ from the L1(0.4)-robust policy, gamma=0.9; L1 ball radius 0.4 and KL ball radius 0.3 (both "
    "budgets); 2 L1 + 1 KL (quick) / 10 per set (full) random Dirichlet initial policies; projected-gradient step "
    "10 (a practical step; the paper's theory step is smaller and slower); eps_t = 0.1 * 0.9^t; 15 (quick; KL: "
    "10) / 150 outer steps; "
    "inner loop: full Frank-Wolfe steps (full budget: also 2/(k+2) steps from the first init)",
    priority="A",
    expected="holds",
    controls={"half-radius": "DRPG run on half the radius (L1 0.2, KL 0.15); its policy is judged on the true set"},
    notes="Catalogue check: outer robust-value gap < 1e-3 from random inits vs the robust optimum; the inner "
    "tolerance sequence is non-increasing and bounds the inner errors; negative control: the nominal optimal "
    "policy has a strictly worse worst-case return. The abstract states no rate, so no rate is tested. The "
    "optimum and the final policies' robust values are computed by the library (robust VI / robust evaluation) "
    "and certified by the residual of an independent reference operator (linprog for L1, the KL dual for KL), "
    "so a wrong inner solver shared by DRPG and the evaluation cannot make the gap look small.",
)
def drpg_global(budget, rng, control=None):
    """The inner loop is adversary policy iteration certified to eps_t (see mdpgrad.robust.drpg):
    the *tolerance schedule* eps_t is nonincreasing by construction and the measured inner errors
    J(pi_t, P_t) - J_U(pi_t) are checked to stay below it (the exact errors themselves need not be
    monotone: the paper's monotone quantity is the approximation tolerance). Gap threshold 1e-3 as
    in the catalogue. Certification: with r* = ||T_ref v* - v*|| and r = ||T^pi_ref v_pi - v_pi||, the
    true gap lies within (r* + r)/(1 - gamma) of the computed one; both residuals must be <= 1e-7."""
    from mdpgrad.verdicts import at_most, combine

    for _ in range(50):
        mdp = envs.garnet(5, 3, 3, gamma=0.9, seed=rng)
        nominal_pi = solve(mdp, tol=1e-11).policy
        rob = robust_policy_iteration(mdp, UncertaintySet("l1", 0.4), tol=1e-10).policy
        half = robust_policy_iteration(mdp, UncertaintySet("l1", 0.2), tol=1e-10).policy
        if not np.array_equal(nominal_pi, rob) and not np.array_equal(half, rob):
            break
    sets = [UncertaintySet("l1", 0.4), UncertaintySet("kl", 0.3)]
    n_iter = budget.pick(15, 150)
    fig, ax = claim_figure(control)
    worst_gap, inner_ok, ctrl_margin, cert = 0.0, True, np.inf, 0.0
    data = {}
    for j, U in enumerate(sets):
        v_star = robust_policy_iteration(mdp, U, tol=1e-12).v
        cert = max(cert, float(np.max(np.abs(_reference_backup(mdp, U, v_star) - v_star))))
        opt = float(mdp.rho @ v_star)
        ctrl_margin = min(ctrl_margin, opt - robust_evaluate(mdp, U, nominal_pi, tol=1e-12).value)
        Ut = _under_test(U, control)
        n_init = budget.pick(2 if U.kind == "l1" else 1, 10)  # the KL inner solver is the slow one
        for i in range(n_init):
            pi0 = rng.dirichlet(np.ones(3), size=5)
            res = drpg(mdp, Ut, n_iter=n_iter if U.kind == "l1" else budget.pick(10, n_iter), step_size=10.0, pi0=pi0)
            ev = robust_evaluate(mdp, U, res.policy, tol=1e-12)
            cert = max(cert, float(np.max(np.abs(_reference_backup(mdp, U, ev.v, res.policy) - ev.v))))
            gap = opt - res.robust_returns  # the trajectory as DRPG saw it (its own set)
            worst_gap = max(worst_gap, opt - ev.value)  # the final policy on the true set
            inner_ok &= bool(np.all(np.diff(res.inner_tol) <= 0) and np.all(res.inner_error <= res.inner_tol + 1e-12))
            ax.semilogy(np.maximum(gap, 1e-16), color=f"C{j}", lw=1, alpha=0.7,
                        label=f"{U.kind} gap" if i == 0 else None)
            if i == 0 and not budget.quick:  # the classical 2/(k+2) Frank-Wolfe inner loop as well
                fw = drpg(mdp, Ut, n_iter=n_iter, step_size=10.0, pi0=pi0, inner="frank_wolfe")
                worst_gap = max(worst_gap, opt - robust_evaluate(mdp, U, fw.policy, tol=1e-12).value)
                inner_ok &= bool(np.all(fw.inner_error <= fw.inner_tol + 1e-12))
            if i == 0:
                ax.semilogy(res.inner_tol, color=f"C{j}", ls=":", label=f"{U.kind} eps_t")
                data[f"gap_{U.kind}"] = gap
                data[f"inner_tol_{U.kind}"] = res.inner_tol
                data[f"inner_error_{U.kind}"] = res.inner_error
    ax.axhline(1e-3, color="k", ls="--", lw=1, label="1e-3 target")
    ax.set_xlabel("outer iteration t")
    ax.set_ylabel("J_U* - J_U(pi_t)")
    ax.set_title("DRPG: robust-return gap and inner tolerance", fontsize=9)
    ax.legend(fontsize=7)
    v_gap = at_most(worst_gap, 1e-3, what="final robust-return gap on the true set")
    v_cert = at_most(cert, 1e-7, what="reference-operator residual of v* and v_pi")
    verdict = combine(v_gap, v_cert, "holds" if inner_ok and ctrl_margin > 0 else "violated")
    return Verdict(predicted=0.0, measured=worst_gap, verdict=verdict, figure=None if control else fig, data=data,
                   rule=f"{v_gap.rule}; {v_cert.rule}; inner errors <= nonincreasing eps_t; nominal policy worse",
                   tightness=v_gap.tightness,
                   details=f"max final gap {worst_gap:.2e} over the inits of {len(sets)} sets (L1, KL); certificate "
                   f"residual {cert:.1e}; inner errors <= nonincreasing eps_t: {inner_ok}; nominal policy worse in the "
                   f"worst case by {ctrl_margin:.3g}")


def _numeric_regularized_inner(p, v, beta):
    """min_q q.v + beta KL(q||p) over the simplex by a generic trust-region Newton method on logits.

    Objective f(z) = q.w(z)-ish with q = softmax(z), w = v + beta (log q - log p); gradient J w with
    J = diag(q) - q q^T; Hessian diag(w - q.w) J - q (J w)^T + beta J (derived in the claim's
    notes). The softmax invariance z -> z + c is removed by adding (sum z)^2 / 2. log q is taken
    as a log-softmax so tiny components do not underflow (BFGS with log(q) stalls near 1e-7)."""
    lp = np.log(p)

    def parts(z):
        lq = z - z.max()
        lq = lq - np.log(np.exp(lq).sum())
        q = np.exp(lq)
        w = v + beta * (lq - lp)
        return q, lq, w

    def f(z):
        q, lq, w = parts(z)
        return float(q @ v + beta * np.sum(q * (lq - lp)) + 0.5 * z.sum() ** 2)

    def grad(z):
        q, _, w = parts(z)
        return q * (w - q @ w) + z.sum()

    def hess(z):
        q, _, w = parts(z)
        J = np.diag(q) - np.outer(q, q)
        wb = w - q @ w
        return wb[:, None] * J - np.outer(q, q * wb) + beta * J + 1.0

    z0 = lp - lp.mean()
    res = scipy.optimize.minimize(f, z0, jac=grad, hess=hess, method="trust-exact", options={"gtol": 1e-14})
    return float(res.fun - 0.5 * res.x.sum() ** 2)


@claim(
    id="rmdp-risk-equivalence",
    paper="Regularized Robust MDPs and Risk-Sensitive MDPs: Equivalence, Policy Gradient, and Sample Complexity",
    topic="robust",
    statement="The KL-regularized robust MDP equals the risk-sensitive MDP with the entropic risk measure "
    "(operators and fixed points); its policy gradient (PG theorem) is exact, and projected exact PG with direct "
    "parameterization converges to the global optimum, with a bounded gradient-domination ratio.",
    bound="0",
    assumptions=("tabular", "KL regularization with weight beta > 0", "direct parameterization"),
    instance="Garnet(5, 3, b=3), gamma=0.9, beta=0.5; 20 random policies / inits (quick: 4)",
    priority="A",
    expected="holds",
    controls={"half-beta": "the KL-regularized robust side (kl_regularized_robust_evaluate, "
              "regularized_policy_gradient) computed with beta/2 while the entropic side uses beta"},
    notes="Checks: (a) inner operator min_q q.V + beta KL(q||P) by trust-region Newton on logits vs -beta log E_P exp(-V/beta), "
    "1e-8; (b) fixed points: adversary PI with explicit kernels vs entropic VI, 1e-8; (c) PG theorem vs central "
    "finite differences, 1e-6; (d) projected PG (step 1) reaches the entropic-VI optimum, gap < 1e-6, and the "
    "ratio (J* - J)/max_pi' <grad J, pi' - pi> stays bounded. RFZI (tabular, empirical Z from n samples per "
    "(s, a)) is run and its sup-norm error vs n reported (the abstract gives no exponent; not tested).",
)
def rmdp_risk_equivalence(budget, rng, control=None):
    """Derivation of (a): for any q << p, q.v + beta KL(q||p) = -beta log Z + beta KL(q || q*) with
    q* = p e^{-v/beta} / Z (Donsker-Varadhan), minimized at q = q*. Finite-difference error for
    h = 1e-6 with values ~10: O(h^2) + O(1e-15 * 10 / h) ~ 1e-8, so 1e-6 relative is safe."""
    from mdpgrad.verdicts import at_most, combine

    mdp = envs.garnet(5, 3, 3, gamma=0.9, seed=rng)
    beta = 0.5
    bt = beta if control is None else beta / 2  # the beta given to the KL-regularized robust side
    n = budget.pick(4, 20)
    op_err = 0.0
    fp_err = 0.0
    pg_err = 0.0
    for _ in range(n):
        V = rng.normal(size=5) * 3
        s, a = rng.integers(5), rng.integers(3)
        p = mdp.P[s, a]
        mask = p > 0
        num = _numeric_regularized_inner(p[mask], V[mask], beta)
        op_err = max(op_err, abs(num - float(entropic_risk(p, V, beta))))
        pi = rng.dirichlet(np.ones(3), size=5)
        fp_err = max(fp_err, float(np.max(np.abs(kl_regularized_robust_evaluate(mdp, pi, bt).v
                                                 - entropic_evaluate(mdp, pi, beta).v))))
    pi = rng.dirichlet(np.ones(3), size=5)
    g, _ = regularized_policy_gradient(mdp, pi, bt)
    h = 1e-6
    for s in range(5):
        for a in range(3):
            e = np.zeros_like(pi)
            e[s, a] = h
            fd = (kl_regularized_robust_evaluate(mdp, pi + e, bt, tol=1e-14, check=False).value
                  - kl_regularized_robust_evaluate(mdp, pi - e, bt, tol=1e-14, check=False).value) / (2 * h)
            pg_err = max(pg_err, abs(fd - g[s, a]) / (1 + abs(fd)))
    v_star, _ = risk_sensitive_value_iteration(mdp, beta, tol=1e-13)
    J_star = float(mdp.rho @ v_star)
    n_iter = budget.pick(25, 100)
    worst_gap, worst_ratio = 0.0, 0.0
    fig, ax = claim_figure(control)
    gaps0 = None
    for i in range(n):
        pi = rng.dirichlet(np.ones(3), size=5)
        gaps = []
        for _ in range(n_iter):
            g, J = regularized_policy_gradient(mdp, pi, bt)
            gap = J_star - J
            gaps.append(gap)
            lin = float(np.sum(g.max(axis=1)) - np.sum(g * pi))
            if gap > 1e-9:
                worst_ratio = max(worst_ratio, gap / max(lin, 1e-300))
            pi = project_simplex(pi + 1.0 * g)
        gaps.append(J_star - kl_regularized_robust_evaluate(mdp, pi, bt).value)
        worst_gap = max(worst_gap, gaps[-1])
        ax.semilogy(np.maximum(np.array(gaps), 1e-16), lw=1, color="C0", alpha=0.6)
        if gaps0 is None:
            gaps0 = np.array(gaps)
    # RFZI (reported, not tested): error of the offline estimate vs samples per (s, a)
    from mdpgrad.robust.risk import rfzi

    ns = np.array(budget.pick([10, 100, 1000], [10, 30, 100, 300, 1000, 3000, 10000]))
    rf_err = []
    S_, A_ = mdp.n_states, mdp.n_actions
    for n_sa in ns:
        counts = np.stack([rng.multinomial(n_sa, mdp.P[s, a]) for s in range(S_) for a in range(A_)]).reshape(S_, A_, S_)
        rf_err.append(float(np.max(np.abs(rfzi(counts, mdp.r, mdp.gamma, beta) - v_star))))
    rf_fit = np.polyfit(np.log(ns), np.log(rf_err), 1)[0]
    ax.axhline(1e-6, color="k", ls="--", lw=1, label="1e-6 target")
    ax.set_xlabel("projected PG iteration")
    ax.set_ylabel("J*_beta - J_beta(pi_t)")
    ax.set_title(f"KL-regularized robust = entropic: PG convergence; op err {op_err:.1e}", fontsize=9)
    ax.legend(fontsize=7)
    parts = (at_most(op_err, 1e-8, what="inner operator error"), at_most(fp_err, 1e-8, what="fixed-point error"),
             at_most(pg_err, 1e-6, what="PG vs finite differences"),
             at_most(worst_gap, 1e-6, what="final PG gap to the entropic optimum"),
             "holds" if np.isfinite(worst_ratio) else "violated")
    measured = max(op_err, fp_err)
    return Verdict(predicted=0.0, measured=measured, verdict=combine(*parts), figure=None if control else fig,
                   rule="; ".join(p.rule for p in parts[:4]) + "; finite gradient-domination ratio",
                   data={"gap_first_run": gaps0, "rfzi_n": ns, "rfzi_error": np.array(rf_err)},
                   details=f"operator err {op_err:.1e}, fixed-point err {fp_err:.1e}, PG-vs-FD err {pg_err:.1e}, "
                   f"max final PG gap {worst_gap:.1e} over {n} inits, max gradient-domination ratio {worst_ratio:.3g}; "
                   f"RFZI sup error {rf_err[0]:.2g} -> {rf_err[-1]:.2g} for n = {ns[0]} -> {ns[-1]} samples per (s, a), "
                   f"log-log slope {rf_fit:.2f} (Monte Carlo: -1/2; reported, not tested)")


@claim(
    id="drrpo-robust-linear-regret",
    paper="Policy Regularized Distributionally Robust Markov Decision Processes with Linear Function Approximation",
    topic="robust",
    statement="DR-RPO (KL-reference-regularized policy optimization with ridge-regression estimates of the TV "
    "dual and a UCB bonus, in a d-rectangular linear RMDP) learns robust policies with sublinear regret.",
    bound="1",
    assumptions=("d-rectangular linear MDP", "TV ball on each factor distribution", "KL regularization to pi_ref",
                 "online episodes in the nominal model"),
    instance="risky/safe d-rectangular linear MDP (S=4, A=2, d=4, H=3), TV radius 0.3, lambda=0.05, uniform "
    "pi_ref; K=600 (quick) / 10^4 (full) episodes; bonus beta=0.5, ridge 1, eta=sqrt(2 log A / K)",
    priority="A",
    expected="holds",
    controls={"half-radius": "DR-RPO whose robust estimates assume TV radius 0.15 instead of 0.3 "
              "(dr_rpo(radius=0.15)); values and regret on the true model"},
    notes="Catalogue check: log-log slope of cumulative robust regret < 1 (about 0.5 expected for sqrt(K) "
    "bounds [derived]), comparable to robust LSVI-UCB, and the learned policy beats a nominal-trained policy "
    "under the worst-case kernel. Verdict: the slope's 95% CI (mdpgrad.rates.fit_power_law, late-half window) "
    "lies below 0.8 (slope_in_band, hi = 0.8: the sqrt(K) rate plus an allowance of 0.3 for the transient at "
    "K = 600, where the measured slope is ~0.70 and falls to ~0.4 by K = 1e4; 'below 1' alone let a learner with "
    "half the radius pass at 0.956), and the final DR-RPO policy's robust value exceeds the nominal-trained "
    "policy's. The "
    "abstract gives no exponent; the sqrt(K) reading [derived] is tested at the full budget (K = 1e4: slope CI <= "
    "0.55; measured 0.48 at K = 3000 and 0.398 [0.395, 0.400] at 1e4, the half-radius control 0.784 at 1e4), the quick budget "
    "tests only <= 0.8 (K = 400 is still in the transient; measuring the exponent needs K >= 3000, ~4 s). beta=0.5 is a practical bonus (the theory "
    "constant ~ d H sqrt(log) makes K=1e4 far too short to leave the linear-regret phase). Finding (full "
    "budget): with the same estimates and beta, the value-based robust LSVI-UCB baseline has *linear* regret "
    "on this instance (slope ~1.0 at K=1e4) while DR-RPO's is ~0.4: the greedy baseline stops sampling the risky "
    "action (ridge shrinkage makes the under-sampled factor's estimate pessimistic and beta=0.5 does not undo "
    "it), while the slow mirror-descent updates keep sampling it. With beta=3 both were still in the linear phase "
    "at K=3000 (a side run, not part of the check). So 'comparable to LSVI-UCB' is not confirmed here.",
)
def drrpo_robust_linear_regret(budget, rng, control=None):
    """Ground truth: exact robust regularized DP (TV inner problem = L1 ball of radius 2 rho solved by
    sorting). Regret_K = sum_k V*_1(s0) - V^{pi_k}_1(s0), with V^{pi} the exact robust regularized value."""
    from mdpgrad.rates import fit_power_law
    from mdpgrad.robust.linear import DRectangularMDP, dr_rpo, risky_safe_linear_mdp, robust_regularized_dp
    from mdpgrad.robust.linear import robust_regularized_value as rval
    from mdpgrad.verdicts import combine, slope_in_band

    m = risky_safe_linear_mdp(3, rho=0.3, lam=0.05)
    K = budget.pick(400, 10_000)
    res = dr_rpo(m, K, seed=rng, radius=None if control is None else m.rho / 2)
    t = np.arange(1, K + 1)
    fit = fit_power_law(t, res.regret)
    m0 = DRectangularMDP(m.phi, m.mu, m.theta, m.H, 0.0, m.lam, m.pi_ref)
    _, pi_nom = robust_regularized_dp(m0)
    v_nom = rval(m, pi_nom)
    v_final = rval(m, res.final_policy)
    data = {"K": t, "regret_drrpo": res.regret}
    fig, ax = claim_figure(control)
    ax.loglog(t, res.regret, label="DR-RPO")
    extra = ""
    if not budget.quick:
        base = dr_rpo(m, K, method="lsvi", seed=rng)
        fb = fit_power_law(t, base.regret)
        ax.loglog(t, base.regret, label="robust LSVI-UCB (baseline)")
        data["regret_lsvi"] = base.regret
        extra = f"; LSVI-UCB slope {fb.slope:.3f} CI [{fb.ci[0]:.3f}, {fb.ci[1]:.3f}], regret {base.regret[-1]:.3g}"
    if fit is not None:
        lo, hi = fit.window
        tt = t[(t >= lo) & (t <= hi)]
        ax.loglog(tt, fit.predict(tt), ":", color="C3", lw=2, label=f"fit slope {fit.slope:.3f}")
    ax.loglog(t, res.regret[-1] * t / K, "--", color="k", lw=1, label="slope 1 (linear regret)")
    ax.set_xlabel("episode K")
    ax.set_ylabel("cumulative robust regret")
    ax.set_title("DR-RPO on a d-rectangular linear RMDP", fontsize=9)
    ax.legend(fontsize=7)
    # quick (K = 400): still in the transient (slope ~0.7), so only <= 0.8 is tested; full (K = 10^4): the
    # sqrt(K) exponent itself, slope CI <= 0.55 (0.5 plus 0.05 for the log factors of the bound)
    v_slope = slope_in_band(fit, hi=0.8 if budget.quick else 0.55, what="log-log slope of the cumulative robust regret")
    verdict = combine(v_slope, "holds" if v_final > v_nom else "violated")
    return Verdict(predicted="<= 0.8 (sqrt(K) + transient)" if budget.quick else "<= 0.55 (sqrt(K))", measured=None if fit is None else fit.slope,
                   ci=None if fit is None else fit.ci, verdict=verdict, figure=None if control else fig, data=data,
                   rule=f"{v_slope.rule}; final robust value > nominal-trained policy's",
                   details=f"regret slope (late half) {fit.slope:.3f}; final robust value {v_final:.4f} vs "
                   f"nominal-trained {v_nom:.4f} vs optimum {res.optimum:.4f}{extra}")


@claim(
    id="ecrm-risk-pg-global",
    paper="On the Global Convergence of Risk-Averse Policy Gradient Methods with Expected Conditional Risk Measures",
    topic="robust",
    statement="For ECRM (stagewise mean-CVaR) objectives, the risk-averse policy gradient on the CVaR-augmented "
    "MDP is exact, and projected PG with direct parameterization converges to the globally optimal "
    "(time-consistent DP) risk-averse cost.",
    bound="0",
    assumptions=("finite horizon, tabular", "mean-CVaR stage risk (1-lam) E + lam CVaR_alpha",
                 "full-support (exploratory) restart distribution over augmented states"),
    instance="random finite-horizon MDP H=3, S=3, A=2, costs on a 0.1 grid in [0, 1], alpha=0.8, lam=0.5; "
    "20 random Dirichlet inits (quick: 3), projected PG step 20, 400 iterations (quick: 250); softmax PG step 100 "
    "(mdpgrad.robust.ecrm.risk_averse_pg)",
    priority="B",
    expected="holds",
    controls={"no-exploration": "projected PG from the ECRM's own start distribution (restart weight 0), "
              "i.e. without the full-support assumption"},
    notes="Checks: (a) the augmented-MDP cost of a Markov policy with exact CVaR minimizers equals the directly "
    "computed ECRM objective (1e-10) -- the reformulation identity; (b) the PG formula matches central finite "
    "differences (1e-6); (c) projected direct PG reaches the DP optimum (gap < 1e-5) from every init. Finding: "
    "with the ECRM's own start (the first eta chosen by the policy, i.e. a start distribution that is not full "
    "support over augmented states), direct PG can stall on plateaus (measured in the details) -- the global "
    "convergence needs the usual full-support / distribution-mismatch assumption, so (c) runs with an "
    "exploratory restart weight w=1 at every stage (the DP-optimal policy is optimal for every restart "
    "distribution, so the target is unchanged). Softmax PG is run and its gap reported (full budget), not "
    "tested: the abstract gives no exponent for iterations-to-eps.",
)
def ecrm_risk_pg_global(budget, rng, control=None):
    """Why eta on the cost grid is exact: eta -> eta + E(Z - eta)_+/(1-alpha) is convex piecewise linear with
    kinks at the atoms of Z, so its minimum is attained at an atom (a cost value). Finite differences of a
    function multilinear in the policy rows are exact up to round-off (~1e-10 with h=1e-5)."""
    from mdpgrad.mdp import FiniteHorizonMDP
    from mdpgrad.robust.ecrm import (
        augmented_dp,
        augmented_evaluate,
        augmented_gradient,
        ecrm_objective,
        ecrm_problem,
        markov_to_augmented,
        risk_averse_pg,
    )
    from mdpgrad.verdicts import at_most, combine

    H, S, A = 3, 3, 2
    P = rng.dirichlet(np.ones(S), size=(H, S, A))
    c = np.round(rng.uniform(0, 1, size=(H, S, A)), 1)
    prob = ecrm_problem(FiniteHorizonMDP(P, c), 0.8, 0.5)
    _, _, _, G = prob.shape
    J_star, _, _ = augmented_dp(prob)
    ident = 0.0
    for _ in range(5):
        pi = rng.dirichlet(np.ones(A), size=(H, S))
        aug, p0 = markov_to_augmented(prob, pi)
        ident = max(ident, abs(ecrm_objective(prob, pi) - augmented_evaluate(prob, aug, p0)[0]))
    pa = rng.dirichlet(np.ones(A * G), size=(H, S, G)).reshape(H, S, G, A, G)
    q0 = rng.dirichlet(np.ones(G))
    _, g, g0 = augmented_gradient(prob, pa, q0)
    fd_err = 0.0
    h = 1e-5
    for _ in range(12):
        idx = tuple(int(rng.integers(n)) for n in pa.shape)
        e = np.zeros_like(pa)
        e[idx] = h
        fd = (augmented_evaluate(prob, pa + e, q0)[0] - augmented_evaluate(prob, pa - e, q0)[0]) / (2 * h)
        fd_err = max(fd_err, abs(fd - g[idx]))
    j = int(rng.integers(G))
    e0 = np.zeros(G)
    e0[j] = h
    fd0 = (augmented_evaluate(prob, pa, q0 + e0)[0] - augmented_evaluate(prob, pa, q0 - e0)[0]) / (2 * h)
    fd_err = max(fd_err, abs(fd0 - g0[j]))

    n_init = budget.pick(3, 20)
    n_iter = budget.pick(250, 400)  # a convergence claim, not a rate: enough iterations for the slowest init seen
    explore = 1.0 if control is None else 0.0
    fig, ax = claim_figure(control)
    gaps_final = []
    for i in range(n_init):
        pa0 = rng.dirichlet(np.ones(A * G), size=(H, S, G)).reshape(H, S, G, A, G)
        q00 = rng.dirichlet(np.ones(G))
        run = risk_averse_pg(prob, n_iter, step=20.0, pi_aug0=pa0, p00=q00, explore=explore)
        gaps = run.costs - J_star
        gaps_final.append(gaps[-1])
        ax.semilogy(np.maximum(gaps, 1e-16), color="C0", lw=1, alpha=0.6,
                    label="direct PG, exploratory restarts" if i == 0 else None)
    extra = ""
    if not budget.quick:
        sm = risk_averse_pg(prob, 3000, step=100.0, param="softmax", explore=1.0,
                            theta0=rng.normal(size=(H, S, G, A * G)), theta00=rng.normal(size=G))
        sm_gaps = sm.costs - J_star
        ax.semilogy(np.maximum(sm_gaps, 1e-16), color="C2", lw=1, label="softmax PG")
        extra = f"; softmax PG gap after 3000 iterations {sm_gaps[-1]:.2e}"
    ax.axhline(1e-5, color="k", ls="--", lw=1, label="1e-5 target")
    ax.set_xlabel("PG iteration")
    ax.set_ylabel("J(pi_t) - J* (ECRM cost)")
    ax.set_title("risk-averse PG on the CVaR-augmented MDP", fontsize=9)
    ax.legend(fontsize=7)
    worst = float(max(gaps_final))
    parts = (at_most(ident, 1e-10, what="reformulation identity error"), at_most(fd_err, 1e-6, what="PG vs FD"),
             at_most(worst, 1e-5, what="max final gap to the DP optimum"))
    return Verdict(predicted=0.0, measured=worst, verdict=combine(*parts), figure=None if control else fig,
                   data={"final_gaps": np.array(gaps_final)}, rule="; ".join(p.rule for p in parts),
                   details=f"identity err {ident:.1e}, PG-vs-FD err {fd_err:.1e}, max final gap {worst:.1e} over "
                   f"{n_init} inits (restart weight {explore}); "
                   f"{int(np.sum(np.array(gaps_final) > 1e-5))}/{n_init} runs ended above 1e-5{extra}")


@claim(
    id="srpo-robust-offline-equiv",
    paper="Self-Improving Robust Preference Optimization",
    topic="robust",
    statement="The SRPO min-max (self-improvement vs generative policy, KL-regularized) has a solution that is "
    "independent of the training task (behavior/context distribution) and equals the minimizer of a "
    "non-adversarial offline loss.",
    bound="0",
    assumptions=("tabular contextual preference bandit", "offline pairs cover all response pairs",
                 "population (infinite-data) losses"),
    instance="3 contexts x 5 responses, random preference matrices p(y'>y) = sigmoid(s_y' - s_y + noise) "
    "antisymmetrized, random pi_ref and pi_dag_ref, beta=0.5; two behavior pair distributions mu (Dirichlet) "
    "and two context distributions",
    priority="C",
    expected="holds",
    controls={"ipo-offline": "IPO's offline minimizer (mdpgrad.robust.srpo.ipo_offline) in place of SRPO's offline "
              "loss"},
    notes="The seed has only the abstract; the closed forms and the squared offline losses are derived in "
    "mdpgrad.robust.srpo (not copied from the paper), so this checks the structure the abstract states. "
    "Checks: (a) alternating exact best responses from a random start reach the closed-form saddle point and its "
    "duality gap (max over pi_dag minus min over pi, both exact Gibbs best responses) is < 1e-10; (b) the "
    "offline-loss minimizers under two different behavior distributions both match the saddle point (TV < 1e-4), "
    "and the saddle point does not depend on the context distribution; negative control: IPO's offline minimizer "
    "moves with the behavior distribution (TV between the two IPO solutions is reported, not tested). The LLM "
    "win-rate numbers are not checkable here.",
)
def srpo_robust_offline_equiv(budget, rng, control=None):
    """Gap and TV are exact linear algebra (lstsq on a full-rank pair design), so 1e-10 / 1e-4 are loose."""
    from mdpgrad.robust.srpo import ipo_offline, srpo_closed_form, srpo_objective, srpo_offline

    X, Y, beta = 3, 5, 0.5
    s = rng.normal(size=(X, Y))
    z = s[:, :, None] - s[:, None, :] + 0.5 * rng.normal(size=(X, Y, Y))
    z = (z - np.swapaxes(z, 1, 2)) / 2  # antisymmetric -> p(y'>y) + p(y>y') = 1, p(y>y) = 1/2
    pref = 1.0 / (1.0 + np.exp(-z))
    ref = rng.dirichlet(np.ones(Y), size=X)
    ref_dag = rng.dirichlet(np.ones(Y), size=(X, Y))
    pi_s, dag_s = srpo_closed_form(pref, ref, ref_dag, beta)

    def br_dag(pi):  # exact best response of the improver (independent of pi)
        return srpo_closed_form(pref, ref, ref_dag, beta)[1]

    def br_pi(dag):  # exact best response of the generator to a fixed improver
        a = np.einsum("xyz,xzy->xy", dag, pref) - beta * np.sum(dag * np.log(dag / ref_dag), axis=2)
        w = np.log(ref) - a / beta
        w = np.exp(w - w.max(axis=1, keepdims=True))
        return w / w.sum(axis=1, keepdims=True)

    pi = rng.dirichlet(np.ones(Y), size=X)
    for _ in range(3):
        dag = br_dag(pi)
        pi = br_pi(dag)
    alt_tv = max(0.5 * np.abs(pi - pi_s).sum(1).max(), 0.5 * np.abs(dag - dag_s).sum(2).max())
    gaps = []
    for ctx in (np.full(X, 1.0 / X), rng.dirichlet(np.ones(X))):
        upper = srpo_objective(pi_s, br_dag(pi_s), pref, ref, ref_dag, beta, ctx)
        lower = srpo_objective(br_pi(dag_s), dag_s, pref, ref, ref_dag, beta, ctx)
        gaps.append(abs(upper - lower))
    mus = [rng.dirichlet(np.full(Y * Y, a), size=X).reshape(X, Y, Y) for a in (1.0, 0.3)]
    off = [srpo_offline(pref, ref, ref_dag, beta, mu) for mu in mus]
    if control == "ipo-offline":
        off = [(ipo_offline(pref, ref, beta, mu), d) for mu, (_, d) in zip(mus, off)]
    tvs = [max(0.5 * np.abs(p - pi_s).sum(1).max(), 0.5 * np.abs(d - dag_s).sum(2).max()) for p, d in off]
    ipo = [ipo_offline(pref, ref, beta, mu) for mu in mus]
    ipo_tv = float(0.5 * np.abs(ipo[0] - ipo[1]).sum(1).max())
    fig, ax = claim_figure(control)
    xs = np.arange(X * Y)
    ax.plot(xs, pi_s.ravel(), "ko", label="SRPO saddle point pi*")
    for k, (p, _) in enumerate(off):
        ax.plot(xs, p.ravel(), "x", ms=8, label=f"SRPO offline, behavior mu_{k}")
    for k, p in enumerate(ipo):
        ax.plot(xs, p.ravel(), "s", mfc="none", label=f"IPO offline, behavior mu_{k}")
    ax.set_xlabel("(context, response)")
    ax.set_ylabel("pi(y | x)")
    ax.set_title("SRPO is behavior-independent; IPO is not", fontsize=9)
    ax.legend(fontsize=6)
    worst = float(max(max(tvs), alt_tv))
    ok = max(gaps) < 1e-10 and worst < 1e-4
    return Verdict(predicted=0.0, measured=worst, verdict=holds_if(ok), figure=None if control else fig,
                   rule="saddle duality gap < 1e-10; TV(alternating BR / offline minimizers, saddle) < 1e-4",
                   data={"pi_star": pi_s, "pi_offline_0": off[0][0], "pi_offline_1": off[1][0],
                         "ipo_0": ipo[0], "ipo_1": ipo[1]},
                   details=f"saddle duality gap {max(gaps):.1e}; TV(alternating BR, saddle) {alt_tv:.1e}; TV(offline, "
                   f"saddle) {max(tvs):.1e} under both behaviors; IPO solutions differ by TV {ipo_tv:.3f}")
