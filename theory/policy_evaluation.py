"""Policy evaluation claims: linear TD, its fixed point and rate, off-policy divergence and the
gradient-TD fix, uniform-policy valuation in tree MDPs, and the generalized-Gaussian TD error.

Every check compares sampled algorithms with exact references from :mod:`mdpgrad.td`
(``theta* = solve(A, b)`` with ``A, b`` computed from the MDP) or with closed forms.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.integrate
import scipy.optimize
import scipy.special
import scipy.stats
import sympy

from mdpgrad import envs, td
from mdpgrad.claims import Verdict, claim, holds_if
from mdpgrad.plotting import claim_figure, rate_figure
from mdpgrad.rates import fit_exponential, fit_power_law
from mdpgrad.robust_td import td0_and_huber_saddle
from mdpgrad.valuation import (
    ggd_variance,
    huber_saddle_gda,
    latent_td_successor,
    tree_leaf_probabilities,
    tree_softmax_pg,
    tree_uniform_values,
)
from mdpgrad.valuation import huber as _huber
from mdpgrad.verdicts import at_most, combine


def _random_td_instance(rng, S=None, d=None, gamma=None):
    S = int(rng.integers(6, 13)) if S is None else S
    d = int(rng.integers(2, 5)) if d is None else d
    gamma = float(rng.choice([0.8, 0.9, 0.95])) if gamma is None else gamma
    mdp = envs.garnet(S, 2, S, gamma=gamma, seed=rng)  # dense rows: irreducible chain
    pi = rng.dirichlet(np.ones(2), size=S)
    phi = rng.normal(size=(S, d))
    return mdp, pi, phi


_GAMMA_CONTROLS = {"discount-0.9": "the TD error computed with 0.9 gamma (the method under test is given an MDP "
                   "whose gamma is 0.9 x the true one)",
                   "discount-0.97": "the TD error computed with 0.97 gamma"}


def _wrong_discount(mdp, control):
    """The MDP the method under test sees: the true one, or gamma scaled for a 'discount-*' control."""
    if control is None or not control.startswith("discount-"):
        return mdp
    return dataclasses.replace(mdp, gamma=float(control.split("-")[1]) * mdp.gamma)


def _exact_value(mdp, pi):
    """V^pi = (I - gamma P_pi)^-1 r_pi with the true gamma (reference, independent of mdpgrad.td)."""
    from mdpgrad.exact import policy_matrices

    P_pi, r_pi = policy_matrices(mdp, pi)
    return np.linalg.solve(np.eye(mdp.n_states) - mdp.gamma * P_pi, r_pi)



def _td_sampling_instance(rng, gamma):
    """Garnet(10, 2, dense), random policy, features (1, two Gaussian columns): the constant feature makes
    theta* carry the value level r_bar / (1 - gamma), so a wrong discount moves theta* visibly."""
    mdp, pi, phi = _random_td_instance(rng, S=10, d=3, gamma=gamma)
    phi[:, 0] = 1.0
    return mdp, pi, phi


def _gamma_sensitivity(mdp, pi, phi, lam):
    """|d theta*_i / d log gamma| by a central difference (exact linear algebra)."""
    h = 1e-4
    lo = td.td_system(dataclasses.replace(mdp, gamma=mdp.gamma * (1 - h)), pi, phi, lambda_=lam).theta_star
    hi = td.td_system(dataclasses.replace(mdp, gamma=mdp.gamma * (1 + h)), pi, phi, lambda_=lam).theta_star
    return np.abs(hi - lo) / (2 * h)


# ---------------------------------------------------------------------------------------------
@claim(
    id="td-fixed-point-bound",
    paper="Tsitsiklis & Van Roy (1997), An analysis of temporal-difference learning with function approximation",
    topic="policy-evaluation",
    statement="On-policy linear TD(lambda) converges to theta* = A^-1 b with "
    "||Phi theta* - V||_D <= (1 - lambda gamma)/(1 - gamma) ||Pi V - V||_D.",
    assumptions=("finite irreducible aperiodic chain", "full-rank features", "D = stationary distribution",
                 "step sizes sum to infinity, squares summable"),
    bound=(1 - sympy.Symbol("lam") * sympy.Symbol("gamma")) / (1 - sympy.Symbol("gamma")),
    instance="Garnet(S in 6..12, A=2, dense), random policy, Gaussian features d in 2..4, "
    "gamma in {0.8, 0.9, 0.95}, lambda in {0, 0.5, 0.9} (10 quick / 100 full instances); sampled TD(0) and "
    "TD(0.9) on Garnet(10, 2, dense), gamma=0.9, features (1, 2 Gaussian), 12 runs x 6e4 steps (quick) / 64 x 1e6",
    priority="A",
    expected="holds",
    controls=_GAMMA_CONTROLS,
)
def td_fixed_point_bound(budget, rng, control=None):
    """Measured: the worst ratio ||Phi theta* - V||_D / (factor ||Pi V - V||_D) over instances
    (bound_at_every_t: <= 1 + 1e-10 round-off; tightness = that ratio), with theta* from mdpgrad.td and V,
    Pi V from an independent solve, and whether sampled TD(lambda) (mdpgrad.td.run_td, steps
    alpha_t = c/(t0 + t)) lands on theta*: the mean of the final iterates over R independent runs against
    theta* with mdpgrad.verdicts.unbiased (Bonferroni over 2 lambdas x 3 coordinates; the bias of a 1/t
    schedule is O(1/t), far below the O(1/sqrt(R t)) standard error). min_detectable is reported as the
    smallest *relative error in gamma* the sampled test detects (power 0.8): the per-coordinate detectable
    shift divided by |d theta*_i / d log gamma|, minimized over coordinates. Controls give the method
    under test (td_system's fixed point and run_td) an MDP with a scaled gamma; the references keep the
    true one.
    """
    from mdpgrad.verdicts import bound_at_every_t, combine, unbiased

    n_inst = budget.pick(10, 100)
    ratios, lhs_all, rhs_all = [], [], []
    for _ in range(n_inst):
        mdp, pi, phi = _random_td_instance(rng)
        v = _exact_value(mdp, pi)
        for lam in (0.0, 0.5, 0.9):
            sy = td.td_system(_wrong_discount(mdp, control), pi, phi, lambda_=lam)
            d = sy.d_mu  # the stationary law does not depend on gamma
            lhs = np.sqrt(np.sum(d * (phi @ sy.theta_star - v) ** 2))
            best = td.projection(phi, d, v)
            rhs = np.sqrt(np.sum(d * (best - v) ** 2)) * td.tsitsiklis_van_roy_factor(mdp.gamma, lam)
            ratios.append(lhs / rhs)
            lhs_all.append(lhs)
            rhs_all.append(rhs)
    v_bound = bound_at_every_t(np.array(ratios), np.full(len(ratios), 1.0 + 1e-10),
                               name="||Phi theta* - V||_D / (factor ||Pi V - V||_D)", bound_name="1")
    worst = float(np.max(ratios))
    # sampled TD(lambda) converges to theta*
    mdp, pi, phi = _td_sampling_instance(rng, 0.9)
    n_steps, n_runs = budget.pick((60_000, 12), (1_000_000, 64))
    finals, stars, md_gamma = [], [], np.inf
    for lam in (0.0, 0.9):
        sy = td.td_system(mdp, pi, phi, lambda_=lam)
        lmin = np.linalg.eigvalsh(0.5 * (sy.A + sy.A.T)).min()
        c = 1.0 / lmin
        t0 = 10.0 * c * np.linalg.norm(sy.A, 2) / (1 - mdp.gamma * lam)
        run = td.run_td(_wrong_discount(mdp, control), pi, phi, lambda_=lam, alpha=c / t0, t0=t0, power=1.0,
                        n_steps=n_steps, n_runs=n_runs, seed=rng)
        finals.append(run.thetas[:, -1])
        stars.append(sy.theta_star)
    v_unb = unbiased(np.stack(finals, axis=1), np.stack(stars), what="final TD iterate - theta*")
    from mdpgrad.stats import bonferroni_z

    zq = bonferroni_z(6) + 0.8416
    for k, lam in enumerate((0.0, 0.9)):
        se = finals[k].std(0, ddof=1) / np.sqrt(n_runs)
        md_gamma = min(md_gamma, float(np.min(zq * se / _gamma_sensitivity(mdp, pi, phi, lam))))
    z = np.abs(np.stack(finals, 1).mean(0) - np.stack(stars)) / (np.stack(finals, 1).std(0, ddof=1) / np.sqrt(n_runs))
    verdict = combine(v_bound, v_unb)
    fig, ax = claim_figure(control)
    ax.loglog(rhs_all, lhs_all, ".", ms=3, label="instances")
    lim = [min(lhs_all), max(rhs_all)]
    ax.plot(lim, lim, "k--", lw=1, label="bound (equality)")
    ax.set_xlabel("(1 - lam gamma)/(1 - gamma) ||Pi V - V||_D")
    ax.set_ylabel("||Phi theta* - V||_D")
    ax.set_title("TD(lambda) fixed point error vs Tsitsiklis-Van Roy bound", fontsize=9)
    ax.legend(fontsize=7)
    return Verdict(predicted="ratio <= 1; TD iterates -> theta*", measured=worst, verdict=verdict,
                   rule=f"{v_bound.rule}; {v_unb.rule}; min_detectable = relative error in gamma",
                   tightness=v_bound.tightness, min_detectable=md_gamma,
                   details=f"worst ratio {worst:.3g} over {len(ratios)} (instance, lambda) pairs; sampled "
                   f"TD(0)/TD(0.9) final mean vs theta*: max |z| = {np.max(z):.2f}; detectable relative gamma "
                   f"error {md_gamma:.3g}",
                   figure=None if control else fig, data={"lhs": np.array(lhs_all), "rhs": np.array(rhs_all)})


# ---------------------------------------------------------------------------------------------
@claim(
    id="baird-divergence",
    paper="Baird (1995), Residual algorithms; Sutton et al. (2009), Fast gradient-descent methods for "
    "temporal-difference learning with linear function approximation",
    topic="policy-evaluation",
    statement="Off-policy linear TD(0) diverges on Baird's star counterexample, at the rate of its expected "
    "update: ||theta_t|| grows like rho(I - alpha A0)^t; GTD2 and TDC converge to the MSPBE minimizer.",
    bound="log(rho)",
    instance="Baird's 7-state star (Sutton & Barto 2018, fig. 11.1), gamma=0.99, mu=(6/7, 1/7), "
    "theta0=(1,1,1,1,1,1,10,1); alpha=0.01 (TD), alpha=0.005, beta=0.05 (GTD2, TDC); 16 (quick) / 64 runs "
    "x 2e4 steps",
    priority="A",
    expected="holds",
    controls=_GAMMA_CONTROLS,
    notes="Strengthened: the check used to require only growth (CI of the rate above 0); it now tests the "
    "divergence *rate* two-sided against the spectral radius of the expected TD update.",
)
def baird_divergence(budget, rng, control=None):
    """[derived] The mean dynamics of off-policy TD(0) with constant step alpha are
    E theta_{t+1} = (I - alpha A0) E theta_t + alpha b0 with A0 = Phi^T D_mu (I - gamma P_pi) Phi (exact,
    mdpgrad.td.td_system with the behaviour weighting); A0 has an eigenvalue with negative real part, so
    the spectral radius rho of I - alpha A0 exceeds 1 and ||E theta_t|| grows like rho^t: predicted
    per-step growth rate log rho (= 2.39e-3 here). Measured: the exponential rate of ||mean over runs of
    theta_t|| (mdpgrad.rates.fit_exponential, late half), tested two-sided with slope_in_band on
    [0.9, 1.1] x log rho (a tight rate: the 0.97-gamma TD error grows at 0.40 x, the 0.9-gamma one at
    0.05 x). GTD2 and TDC: final MSPBE relative to the initial MSPBE < 1e-3 (the minimum is 0 since V = 0 is
    representable; constant steps leave an O(alpha) noise floor ~1e-6 relative)."""
    from mdpgrad.verdicts import at_most, combine, slope_in_band

    mdp, pi, mu, phi, th0 = td.baird_counterexample(0.99)
    sy = td.td_system(mdp, pi, phi, behavior=mu)
    eig_min = float(np.min(np.linalg.eigvals(sy.A0).real))
    rho = float(np.max(np.abs(np.linalg.eigvals(np.eye(phi.shape[1]) - 0.01 * sy.A0))))
    pred = np.log(rho)
    n_steps = 20_000  # TD's norm reaches ~1e22 by then (overflow to inf soon after)
    n_runs = budget.pick(16, 64)
    ck = np.unique(np.geomspace(1, n_steps, 60).astype(np.int64))
    out, mean_norm = {}, None
    m_test = _wrong_discount(mdp, control)
    for meth, a, b in (("td", 0.01, 1.0), ("gtd2", 0.005, 0.05), ("tdc", 0.005, 0.05)):
        run = td.run_td(m_test, pi, phi, method=meth, behavior=mu, alpha=a, beta=b, n_steps=n_steps,
                        n_runs=n_runs, checkpoints=ck, seed=rng, theta0=th0)
        with np.errstate(over="ignore", invalid="ignore"):
            out[meth] = (np.linalg.norm(run.thetas, axis=-1).mean(0), td.mspbe(sy, run.thetas).mean(0))
            if meth == "td":
                mean_norm = np.linalg.norm(run.thetas.mean(0), axis=-1)
    fit = fit_exponential(ck, mean_norm)
    v_rate = slope_in_band(None if fit is None else (fit.ci[0] / pred, fit.ci[1] / pred), 0.9, 1.1,
                           what="growth rate of ||mean theta_t|| / log rho(I - alpha A0)")
    pbe0 = float(td.mspbe(sy, th0))
    rel = {m: float(np.mean(out[m][1][-5:]) / pbe0) for m in ("gtd2", "tdc")}
    v_gtd = at_most(max(rel.values()), 1e-3, what="final MSPBE / initial (GTD2, TDC)")
    verdict = combine(v_rate, v_gtd)
    norm_td = out["td"][0]
    finite = norm_td[np.isfinite(norm_td)]
    fig, (ax1, ax2) = claim_figure(control, 1, 2, figsize=(8, 3.4))
    ax1.semilogy(ck, mean_norm, label="off-policy TD(0), ||mean theta_t||")
    ax1.semilogy(ck, mean_norm[0] * rho ** ck, "k--", lw=1, label=f"rho^t, log rho = {pred:.2e}")
    for m in ("gtd2", "tdc"):
        ax1.semilogy(ck, out[m][0], label=m.upper())
        ax2.loglog(ck, out[m][1], label=m.upper())
    ax1.set_xlabel("updates")
    ax1.set_ylabel("||theta_t||")
    ax1.legend(fontsize=7)
    ax2.axhline(pbe0 * 1e-3, color="k", ls="--", lw=1, label="1e-3 x initial")
    ax2.set_xlabel("updates")
    ax2.set_ylabel("MSPBE")
    ax2.legend(fontsize=7)
    fig.suptitle("Baird's counterexample", fontsize=9)
    return Verdict(predicted=pred,
                   measured=fit.slope if fit else None, ci=None if fit is None else fit.ci, verdict=verdict,
                   rule=f"{v_rate.rule}; {v_gtd.rule}",
                   details=f"min Re eig(A0) = {eig_min:.3f} < 0; predicted growth log rho = {pred:.3e}/step, measured "
                   f"{fit.slope if fit else float('nan'):.3e} (ratio {fit.slope / pred if fit else float('nan'):.3f}); "
                   f"TD final ||theta|| = {finite[-1]:.3g}; MSPBE/MSPBE0: GTD2 {rel['gtd2']:.2g}, TDC {rel['tdc']:.2g}; "
                   f"{n_runs} runs x {n_steps} steps",
                   figure=None if control else fig,
                   data={"t": ck, "norm_td": norm_td, "norm_mean_td": mean_norm, "mspbe_gtd2": out["gtd2"][1],
                         "mspbe_tdc": out["tdc"][1]})


# ---------------------------------------------------------------------------------------------
@claim(
    id="td0-mse-rate",
    paper="Bhandari, Russo & Singal (2018), A finite time analysis of temporal difference learning with "
    "linear function approximation",
    topic="policy-evaluation",
    statement="On-policy linear TD(0) with steps alpha_t = c/(t0 + t), c lambda_min(sym A) >= 1, has "
    "E||theta_t - theta*||^2 = O(1/t): log-log slope -1.",
    bound="1/t",
    instance="Garnet(S=10, A=2, dense), gamma=0.8, random policy, features (1, 2 Gaussian), Markov sampling; "
    "c = 2/lambda_min, t0 = 10 c ||A||; 32 runs x 1e5 steps (quick) / 128 x 1e6",
    priority="A",
    expected="holds",
    controls=_GAMMA_CONTROLS,
    notes="Two-sided test of the slope: the O(1/t) rate is also the optimal rate (the CLT for "
    "stochastic approximation gives MSE ~ tr(Sigma)/t exactly when c lambda_min > 1/2), so the slope "
    "should be -1, not steeper: slope_in_band on [-1.15, -0.85]. The CI comes from a bootstrap over independent "
    "runs (the checkpoints of one run are correlated, so the OLS interval of rates.fit_power_law would be too "
    "narrow). A constant feature makes theta* carry the value level, so a TD error with a wrong discount "
    "leaves a bias floor that flattens the slope (the controls).",
)
def td0_mse_rate(budget, rng, control=None):
    from mdpgrad.verdicts import slope_in_band

    mdp, pi, phi = _td_sampling_instance(rng, 0.8)
    sy = td.td_system(mdp, pi, phi)
    lmin = np.linalg.eigvalsh(0.5 * (sy.A + sy.A.T)).min()
    c = 2.0 / lmin  # c lambda_min = 2: the initial error is forgotten like t^-2, the noise term is ~ 1/t
    t0 = 10.0 * c * np.linalg.norm(sy.A, 2)
    n_steps, n_runs = budget.pick((100_000, 32), (1_000_000, 128))
    ck = np.unique(np.geomspace(10, n_steps, 30).astype(np.int64))
    run = td.run_td(_wrong_discount(mdp, control), pi, phi, alpha=c / t0, t0=t0, power=1.0, n_steps=n_steps,
                    n_runs=n_runs, checkpoints=ck, seed=rng)
    err = np.sum((run.thetas - sy.theta_star) ** 2, axis=-1)  # (runs, checkpoints)
    mse = err.mean(0)
    fit = fit_power_law(ck, mse)
    boot = []
    for _ in range(200):
        idx = rng.integers(0, n_runs, n_runs)
        f = fit_power_law(ck, err[idx].mean(0))
        if f is not None:
            boot.append(f.slope)
    ci = (float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975)))
    fit_b = dataclasses.replace(fit, ci=ci)
    verdict = slope_in_band(fit_b, -1.15, -0.85, what="log-log slope of E||theta_t - theta*||^2 (bootstrap CI)")
    # power against a wrong discount: the squared bias a relative gamma error e leaves, vs the MSE at the end
    sens = _gamma_sensitivity(mdp, pi, phi, 0.0)
    md = float(np.sqrt(mse[-1]) / np.linalg.norm(sens))  # bias ~ e ||d theta*/d log gamma|| reaches sqrt(MSE_T)
    if control is None:
        fig = rate_figure(ck, mse, fit=fit_b, bound=mse[-1] * ck[-1] / ck, bound_label="C/t",
                          ylabel="E||theta_t - theta*||^2", title="TD(0), step c/(t0+t): MSE vs t")
    else:
        fig = None
    return Verdict(predicted=-1.0, measured=fit.slope, ci=ci, verdict=verdict, min_detectable=md,
                   details=f"{n_runs} runs x {n_steps} steps, c = 2/lambda_min = {c:.3g}, t0 = {t0:.3g}; "
                   f"fit window t in [{fit.window[0]:.0f}, {fit.window[1]:.0f}], bootstrap CI over runs; a relative "
                   f"gamma error of {md:.2g} leaves a squared bias equal to the final MSE",
                   figure=fig, data={"t": ck, "mse": mse})


# ---------------------------------------------------------------------------------------------
# Tree MDPs for ROVER
def _random_tree(rng, max_depth, max_branch, p_success, max_nodes=4000):
    """Random tree: children lists and leaf flags; internal nodes have 2..max_branch children."""
    children = [[]]
    depth = [0]
    frontier = [0]
    while frontier:
        u = frontier.pop()
        leaf_prob = 0.0 if depth[u] == 0 else 0.25
        if depth[u] >= max_depth or rng.random() < leaf_prob or len(children) > max_nodes:
            continue
        k = int(rng.integers(2, max_branch + 1))
        for _ in range(k):
            children.append([])
            depth.append(depth[u] + 1)
            children[u].append(len(children) - 1)
            frontier.append(len(children) - 1)
    n = len(children)
    is_leaf = np.array([len(c) == 0 for c in children])
    reward = np.where(is_leaf & (rng.random(n) < p_success), 1.0, 0.0)
    return children, is_leaf, reward


def _optimal_values(children, reward):
    v = reward.astype(float).copy()
    for u in range(len(children) - 1, -1, -1):
        if children[u]:
            v[u] = np.max(v[children[u]])
    return v


@claim(
    id="rover-uniform-q-optimal",
    paper="Random Policy Valuation is Enough for LLM Reasoning with Verifiable Rewards",
    topic="policy-evaluation",
    statement="In a finite-horizon MDP with deterministic tree-structured transitions and binary terminal "
    "rewards, the greedy policy w.r.t. the Q-function of the uniformly random policy is optimal "
    "(reaches a success leaf whenever one is reachable); softmax(Q^unif/tau) keeps many success leaves.",
    assumptions=("deterministic transitions", "tree structure", "binary terminal rewards", "gamma = 1"),
    bound="0",
    instance="random trees (40 quick / 2000 full): depth 3..10, branching 2..8, leaf success prob 0.1, "
    "<= 800 (quick) / 4000 (full) nodes; diversity on 3 (quick) / 25 trees",
    priority="A",
    expected="holds",
    controls={"continuous-rewards": "the same check with leaf rewards uniform in [0, 1] (not binary), where "
              "greedy(Q^unif) is not claimed optimal"},
    notes="Derivation [derived, verified here node by node]: Q^unif(s, a) = V^unif(child) is the "
    "probability that uniform play from the child hits a success leaf; it is > 0 iff the child's subtree "
    "contains a success leaf (every leaf of a finite tree has positive probability under uniform play). "
    "Greedy(Q^unif) therefore always moves into a subtree with a success leaf, and reaches one. "
    "Negative controls (where the statement is not claimed): non-binary leaf rewards in [0, 1], and a "
    "stochastic transition (a 'lottery' action succeeding w.p. 0.5 against a deterministic subtree "
    "with 1 success leaf among 3: Q^unif = 1/3 < 0.5 but Q* = 1 > 0.5). The LLM numbers (+8.2 pass@1 "
    "etc.) are not checkable here. Diversity: success leaves with reach probability > 1e-3 under "
    "softmax(Q^unif / tau), tau = 0.1, vs an exact softmax-PG policy trained on the same tree.",
)
def rover_uniform_q_optimal(budget, rng, control=None):
    """Rule: zero greedy failures (greedy(Q^unif) reaches a leaf of the optimal value on every solvable tree),
    zero violations of V^unif > 0 <=> V* > 0, the non-binary and stochastic contrasts break the statement,
    and ROVER's diversity >= PG's (exact tree computations)."""
    n_trees = budget.pick(40, 2_000)
    failures = iff_violations = 0
    solvable = 0
    subopt_nonbinary = 0
    div_rover, div_pg = [], []
    n_div = budget.pick(3, 25)
    for i in range(n_trees):
        children, is_leaf, reward = _random_tree(rng, int(rng.integers(3, 11)), int(rng.integers(2, 9)), 0.1,
                                                 max_nodes=budget.pick(800, 4000))
        if control == "continuous-rewards":
            reward = np.where(is_leaf, rng.random(len(children)), 0.0)
        v = tree_uniform_values(children, reward)
        vstar = _optimal_values(children, reward)
        # iff check over all nodes: V^unif > 0 <=> subtree has a success leaf <=> V* = 1
        iff_violations += int(np.sum((v > 0) != (vstar > 0))) if control is None else 0
        if vstar[0] > 0:
            solvable += 1
            u = 0
            while children[u]:
                u = children[u][int(np.argmax(v[children[u]]))]
            failures += int(reward[u] < vstar[0] - 1e-12)
        # negative control: continuous leaf rewards on the same tree shape
        rew_c = np.where(is_leaf, rng.random(len(children)), 0.0)
        vc = tree_uniform_values(children, rew_c)
        u = 0
        while children[u]:
            u = children[u][int(np.argmax(vc[children[u]]))]
        subopt_nonbinary += int(rew_c[u] < _optimal_values(children, rew_c)[0] - 1e-12)
        if len(div_rover) < n_div and vstar[0] > 0 and len(children) <= budget.pick(200, 600):
            p_rover = tree_leaf_probabilities(children, lambda u, v=v, ch=children: v[ch[u]] / 0.1)
            p_pg = tree_softmax_pg(children, reward, n_iter=budget.pick(100, 300), eta=5.0)
            succ = is_leaf & (reward == 1.0)
            div_rover.append(int(np.sum(succ & (p_rover > 1e-3))))
            div_pg.append(int(np.sum(succ & (p_pg > 1e-3))))
    # stochastic-transition control, computed exactly
    q_unif_lottery, q_unif_det, q_star_det = 0.5, 1.0 / 3.0, 1.0
    stochastic_breaks = q_unif_lottery > q_unif_det and q_star_det > q_unif_lottery
    ok = failures == 0 and iff_violations == 0 and subopt_nonbinary > 0 and stochastic_breaks and (
        np.mean(div_rover) >= np.mean(div_pg))
    fig, ax = claim_figure(control)
    ax.scatter(div_pg, div_rover, s=10)
    m = max(max(div_rover, default=1), max(div_pg, default=1))
    ax.plot([0, m], [0, m], "k--", lw=1, label="equal diversity")
    ax.set_xlabel("success leaves reached w.p. > 1e-3: PG-trained softmax")
    ax.set_ylabel("... : softmax(Q^unif / 0.1)")
    ax.set_title(f"ROVER: {failures} greedy failures on {solvable} solvable trees", fontsize=9)
    ax.legend(fontsize=7)
    return Verdict(predicted=0, measured=failures, verdict=holds_if(ok), figure=None if control else fig,
                   rule="0 greedy failures; 0 iff violations; non-binary and stochastic contrasts break it; "
                   "diversity ROVER >= PG",
                   details=f"greedy(Q^unif) failures {failures}/{solvable} solvable trees; iff violations "
                   f"{iff_violations}; non-binary control: suboptimal on {subopt_nonbinary}/{n_trees}; "
                   f"stochastic control breaks: {stochastic_breaks}; mean diversity ROVER "
                   f"{np.mean(div_rover):.2f} vs PG {np.mean(div_pg):.2f} ({len(div_rover)} trees)",
                   data={"div_rover": np.array(div_rover), "div_pg": np.array(div_pg)})


# ---------------------------------------------------------------------------------------------
@claim(
    id="ggd-td-closed-form",
    paper="Generalized Gaussian Temporal Difference Error for Uncertainty-aware Reinforcement Learning",
    topic="policy-evaluation",
    statement="For a GGD(alpha, beta) TD error the aleatoric variance has the closed form "
    "alpha^2 Gamma(3/beta)/Gamma(1/beta), decreasing in the shape beta at fixed scale for "
    "beta < beta_c ~= 9.11 (catalogue correction: not for all beta); the shape of TD errors is "
    "recoverable by a GGD fit.",
    bound=sympy.Symbol("alpha") ** 2 * sympy.gamma(3 / sympy.Symbol("beta"))
    / sympy.gamma(1 / sympy.Symbol("beta")),
    instance="closed form vs quadrature on beta in [0.3, 10], monotonicity on [0.3, beta_c]; 5-state deterministic ring, gamma=0.9, "
    "GGD reward noise with beta0 = 1.3, TD errors at the exact V",
    priority="C",
    expected="holds",
    controls={"discount-0.9": "TD errors computed with 0.9 gamma (delta = r + 0.9 gamma V(s') - V(s))"},
    notes="The abstract does not print the formula; the standard GGD variance is checked (it is what the "
    "'inverse relationship' refers to at fixed scale alpha). Monotonicity is checked on a fine grid "
    "(d/dbeta log Var < 0). Catalogue correction: the variance at fixed alpha is NOT decreasing for all "
    "beta: d/dbeta log Var = (psi(1/beta) - 3 psi(3/beta)) / beta^2 vanishes at beta_c ~= 9.11 (root "
    "computed here), where Var ~= 0.3143 alpha^2; beyond it Var rises back to alpha^2/3 as beta -> inf "
    "(uniform limit). The inverse relationship therefore holds on (0, beta_c), which covers every shape "
    "used in practice (Laplace 1, Gaussian 2); the check asserts monotone decrease on [0.3, beta_c] and "
    "reports the increase beyond. The kurtosis Gamma(5/b)Gamma(1/b)/Gamma(3/b)^2 is decreasing for all "
    "beta. Shape recovery: maximum-likelihood gennorm fit on TD errors of a "
    "deterministic-transition MDP (so delta = reward noise exactly); |beta_hat - beta0| <= 4 SE with "
    "the SE from 10 disjoint blocks.",
)
def ggd_td_closed_form(budget, rng, control=None):
    betas = np.geomspace(0.3, 10.0, budget.pick(15, 60))
    rel = []
    for b in betas:
        pdf = lambda x, b=b: b / (2 * scipy.special.gamma(1 / b)) * np.exp(-np.abs(x) ** b)  # noqa: E731
        val, _ = scipy.integrate.quad(lambda x, pdf=pdf: 2 * x**2 * pdf(x), 0, np.inf, epsabs=0, epsrel=1e-13,
                                      limit=200)
        rel.append(abs(val - ggd_variance(1.0, b)) / ggd_variance(1.0, b))
    worst = float(max(rel))
    dlog = lambda b: scipy.special.digamma(1 / b) - 3 * scipy.special.digamma(3 / b)  # noqa: E731
    beta_c = float(scipy.optimize.brentq(dlog, 2.0, 50.0, xtol=1e-12))
    grid = np.geomspace(0.3, beta_c, 2000)
    grid_plot = np.geomspace(0.3, 30.0, 400)
    monotone = bool(np.all(np.diff(np.log(ggd_variance(1.0, grid))) < 0))
    rises_after = bool(ggd_variance(1.0, 100.0) > ggd_variance(1.0, beta_c))
    # TD errors on a deterministic ring with GGD reward noise
    S, g, beta0, alpha0 = 5, 0.9, 1.3, 0.5
    r_mean = rng.normal(size=S)
    v = np.linalg.solve(np.eye(S) - g * np.roll(np.eye(S), 1, axis=1), r_mean)
    n = budget.pick(20_000, 200_000)
    s = np.arange(n) % S
    noise = scipy.stats.gennorm.rvs(beta0, scale=alpha0, size=n, random_state=rng)
    g_td = g if control is None else 0.9 * g
    delta = r_mean[s] + noise + g_td * v[(s + 1) % S] - v[s]
    blocks = np.array_split(delta, 10)
    est = np.array([scipy.stats.gennorm.fit(bk, floc=0)[0] for bk in blocks])
    beta_hat = float(scipy.stats.gennorm.fit(delta, floc=0)[0])
    se = est.std(ddof=1) / np.sqrt(len(est))
    z = abs(beta_hat - beta0) / se
    ok = worst <= 1e-10 and monotone and z <= 4
    fig, ax = claim_figure(control)
    ax.semilogx(grid_plot, ggd_variance(1.0, grid_plot), label="alpha^2 Gamma(3/beta)/Gamma(1/beta)")
    ax.semilogx(betas, [ggd_variance(1.0, b) * (1 + r) for b, r in zip(betas, rel)], "o", ms=3,
                label="quadrature")
    ax.axvline(beta_c, color="k", ls="--", lw=1, label=f"beta_c = {beta_c:.3f} (minimum)")
    ax.axvline(beta_hat, color="C3", ls=":", label=f"fitted shape of TD errors {beta_hat:.3f} (true {beta0})")
    ax.set_xlabel("shape beta")
    ax.set_ylabel("variance at alpha = 1")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    return Verdict(predicted=0.0, measured=worst, verdict=holds_if(ok), min_detectable=float(4.84 * se / beta0),
                   rule="closed form vs quadrature <= 1e-10 (relative); decreasing on [0.3, beta_c]; |beta_hat - beta0| "
                   "<= 4 block SE (min_detectable: relative shape error detected with power 0.8)",
                   details=f"max rel. error closed form vs quadrature {worst:.2g}; decreasing on [0.3, {beta_c:.4f}]: "
                   f"{monotone}; increases beyond beta_c (correction): {rises_after}; "
                   f"shape fit {beta_hat:.3f} +- {se:.3f} vs {beta0} (z = {z:.2f})",
                   figure=None if control else fig, data={"beta": betas, "rel_err": np.array(rel)})


# ---------------------------------------------------------------------------------------------
@claim(
    id="vwls-mdvi-minimax",
    expected="holds",
    paper="Regularization and Variance-Weighted Regression Achieves Minimax Optimality in Linear MDPs: "
    "Theory and Practice",
    topic="policy-evaluation",
    statement="Least-squares regression weighted by the variance of the estimated optimal value of the "
    "next state is crucial for minimax-optimal sample complexity in linear MDPs (generative model, "
    "G-optimal design). Checked ingredient: the variance-weighted regression step on the G-optimal design for "
    "phi/sigma has a variance-aware error, E[(phi.(theta_hat - theta))^2] <= d sigma^2(s, a) / n at every pair, "
    "at the n^-1/2 rate; unweighted least squares does not.",
    assumptions=("linear MDP", "generative model", "G-optimal design"),
    bound=sympy.Symbol("d") * sympy.Symbol("sigma") ** 2 / sympy.Symbol("n"),
    instance="random linear MDP S=10, A=2, d=4 (exact parts: random seed, 2 deterministic mu rows; regression "
    "step: seed 0, 3 deterministic mu rows), V = V* at gamma = 0.9, n in 100..6400 (6 values) x 300 "
    "replicates; LSVI vs VW-LSVI at N=1000, gamma in {0.8, 0.9, 0.95, 0.98} x 20 seeds "
    "at the full budget (reported)",
    priority="B",
    notes="How the check reads the paper (issue 18, third attempt): the minimax rate (1-gamma)^-3 itself is not "
    "measured; what is decided is the ingredient the abstract calls crucial. In the paper's analysis the "
    "weighted regression of V(s') on phi with weights 1/sigma^2 and the G-optimal design for phi/sigma gives an "
    "error at (s, a) of order sigma(s, a) sqrt(d/n) (Kiefer-Wolfowitz: max_x x^T V(rho)^-1 x = d for "
    "x = phi/sigma), and the total-variance lemma then sums sigma over the horizon to (1-gamma)^-3/2 instead of "
    "(1-gamma)^-2 -- that summation is what buys the minimax horizon exponent and is not re-derived here. "
    "Measured [derived, pass/fail]: with the true variances sigma^2 = Var_{P(.|s,a)} V* (the paper uses an "
    "estimate), mdpgrad.linear.regress_backup over 300 replicates at 6 sample sizes: (a) T = max_{s,a} of "
    "n MSE(s, a)/sigma^2(s, a) averaged over the 6 sizes <= 1.25 d (the exact value is d; the slack covers the "
    "Monte Carlo max over 20 pairs, relative SE ~3% per pair), (b) the log-RMS error vs log n slope CI inside [-0.6, -0.4]. "
    "Control 'unweighted': plain least squares on the G-optimal design for phi has T ~= 50 = 12 d on this "
    "instance, rejected by (a); control 'wrong-weights': weights 1/sigma^2 shifted across pairs, T ~= 50 (both "
    "keep the -1/2 slope: the rate in n alone does not separate them, the variance-aware constant does). Exact parts [derived, pass/fail]: (1) Bellman closure P v = phi (mu v) for random v "
    "(1e-12); (2) noise-free LSVI on the G-optimal support reproduces exact value iteration (1e-10). Reported, "
    "not pass/fail (full budget): mdpgrad.linear.vw_lsvi (two-phase, plug-in variances, no MDVI "
    "regularization) vs mdpgrad.linear.lsvi at equal budget, mean ||Q_K - Q*||_inf per gamma; at these sizes "
    "the fitted horizon exponents do not separate the two methods. Earlier attempt at the horizon exponent: "
    "with one-hot features a linear MDP is tabular and weighting cannot matter, so VWLS-MDVI reduces to MDVI; "
    "MDVI on Garnet(8, 3, 3) gave mean policy gaps 2e-4, 9e-5, 1e-5, 2e-5 at gamma = 0.8, 0.9, 0.95, 0.975 "
    "(30 replicas), not monotone in 1/(1-gamma), so no exponent could be fitted. Instance note: with the "
    "simplex-vertex 'anchor' features the G-optimal support is exactly d points, where least squares "
    "interpolates and weights cannot matter, so anchors are off here.",
    controls={"discount-0.9": "noise-free LSVI (lsvi_expected) run on the MDP with 0.9 gamma, compared with exact "
              "value iteration at the true gamma",
              "unweighted": "the regression step without variance weights (G-optimal design for phi, sigma = 1)",
              "wrong-weights": "the regression step with the variances shifted (np.roll by 7) across state-action pairs"},
)
def vwls_mdvi_minimax(budget, rng, control=None):
    from mdpgrad import linear, solve
    from mdpgrad.rates import fit_power_law
    from mdpgrad.verdicts import slope_in_band

    gammas = budget.pick([0.8, 0.9], [0.8, 0.9, 0.95, 0.98])
    n_seeds = 20
    seed_mdp = int(rng.integers(0, 2**31))
    closure, vi_gap = 0.0, 0.0
    e_u, e_w, worse = [], [], []
    for g in gammas:
        fm = linear.random_linear_mdp(10, 2, 4, gamma=g, seed=seed_mdp, deterministic_rows=2, anchors=False)
        closure = max(closure, linear.bellman_closure_error(fm, rng.normal(size=10)))
        des = linear.g_optimal_design(fm.phi.reshape(-1, 4))
        fm_t = fm if control != "discount-0.9" else dataclasses.replace(fm, mdp=_wrong_discount(fm.mdp, control))
        q_ls = linear.lsvi_expected(fm_t, n_iter=20, design=des)
        q = np.zeros((10, 2))
        for k in range(20):
            q = fm.r + g * fm.P @ q.max(axis=1)
            vi_gap = max(vi_gap, float(np.max(np.abs(q - q_ls[k + 1]))))
        if budget.quick:  # the LSVI comparison is reported at the full budget only
            continue
        q_star = solve(fm.mdp, tol=1e-10).q
        n_iter = int(np.ceil(10 / (1 - g)))  # truncation gamma^n_iter r_max/(1-gamma) <= e^-10 r_max/(1-gamma)
        eu, ew = [], []
        for _ in range(n_seeds):
            sd = int(rng.integers(0, 2**31))
            eu.append(np.abs(linear.lsvi(fm, n_samples=1000, n_iter=n_iter, seed=sd, design=des).q - q_star).max())
            ew.append(np.abs(linear.vw_lsvi(fm, n_samples=1000, n_iter=n_iter, seed=sd, design=des).q
                             - q_star).max())
        diff = np.array(ew) - np.array(eu)
        worse.append(diff.mean() > 2 * diff.std(ddof=1) / np.sqrt(n_seeds))
        e_u.append(np.mean(eu))
        e_w.append(np.mean(ew))
    exact_ok = closure <= 1e-12 and vi_gap <= 1e-10
    # the variance-weighted regression step: error vs n at the true variances
    S, A, d = 10, 2, 4
    fm = linear.random_linear_mdp(S, A, d, gamma=0.9, seed=0, deterministic_rows=3, anchors=False)
    v = solve(fm.mdp, tol=1e-10).v
    P2, Phi = fm.P.reshape(S * A, S), fm.phi.reshape(S * A, d)
    s2 = np.maximum(P2 @ v**2 - (P2 @ v) ** 2, 1e-8 * v.max() ** 2)
    pv = P2 @ v
    ns = np.geomspace(100, 6400, 6).astype(int)
    n_rep = 300
    kw = {"unweighted": {}, "wrong-weights": {"sigma2": np.roll(s2, 7)}}.get(control, {"sigma2": s2})
    kw["design"] = linear.g_optimal_design(Phi / np.sqrt(kw.get("sigma2", np.ones(S * A)))[:, None])
    rms, T, norm = [], [], []
    for n in ns:
        th = linear.regress_backup(fm, v, n_samples=int(n), seed=rng, n_replicates=n_rep, **kw)
        mse = np.mean((th @ Phi.T - pv) ** 2, axis=0)
        rms.append(float(np.sqrt(mse.mean())))
        T.append(float(n * np.max(mse / s2)))
        norm.append(n * mse / s2)
    t_pool = float(np.max(np.mean(norm, axis=0)))  # per pair, pooled over the sample sizes, then max
    fit = fit_power_law(ns, np.array(rms), burn_in=0.0)
    rule_t = at_most(t_pool, 1.25 * d, what="n max MSE/sigma^2 (Kiefer-Wolfowitz: d)")
    rule_s = slope_in_band(fit, -0.6, -0.4, what="log-RMS vs log n slope")
    verdict = combine(rule_t, rule_s) if exact_ok else "violated"
    H = 1 / (1 - np.array(gammas))
    fig, ax = claim_figure(control)
    ax.loglog(ns, np.array(T) / d, "o-", label="n max MSE(s,a)/sigma^2(s,a) / d")
    ax.loglog(ns, np.array(rms) / rms[0], "s-", label=f"RMS error / RMS at n=100 (slope {fit.slope:.3f})")
    ax.axhline(1.25, color="k", ls="--", lw=1, label="1.25 (threshold)")
    ax.set_xlabel("samples n")
    ax.set_title("Variance-weighted regression step, linear MDP", fontsize=9)
    ax.legend(fontsize=7)
    return Verdict(predicted=f"n max MSE/sigma^2 <= d = {d}; RMS slope -1/2", verdict=verdict,
                   rule="exact parts (closure <= 1e-12, noise-free LSVI = VI <= 1e-10) else violated; "
                   f"{rule_t.rule}; {rule_s.rule}", figure=None if control else fig,
                   measured=t_pool, tightness=t_pool / d,
                   details=f"Bellman closure {closure:.1e}, noise-free LSVI vs VI {vi_gap:.1e}; "
                   f"n max MSE/sigma^2 pooled over n {t_pool:.2f}, per n {np.round(T, 2).tolist()} at n = {ns.tolist()} "
                   f"(d = {d}); RMS slope "
                   f"{fit.slope:.3f} CI [{fit.ci[0]:.3f}, {fit.ci[1]:.3f}]; LSVI vs VW-LSVI (full budget only): "
                   f"VW significantly worse at any gamma: {any(worse)}; mean errors LSVI {np.round(e_u, 4).tolist()}"
                   f" vs VW {np.round(e_w, 4).tolist()} at 1/(1-gamma) = {H.tolist() if e_u else []}",
                   data={"n": ns, "T": np.array(T), "rms": np.array(rms), "err_lsvi": np.array(e_u),
                         "err_vw": np.array(e_w)})


# ---------------------------------------------------------------------------------------------
def _robust_instance(rng):
    S, d, g = 6, 3, 0.9
    mdp = envs.garnet(S, 1, S, gamma=g, seed=rng)
    P = mdp.P[:, 0, :]
    r = rng.normal(size=S)
    r[0] += 20.0  # one outlier state: its reward is far from the others
    phi = np.column_stack([np.ones(S), rng.normal(size=(S, d - 1))])
    dmu = td.stationary_distribution(P)
    M = phi - g * P @ phi  # expected Bellman error: delta(theta) = r - M theta
    return S, g, P, r, phi, dmu, M


@claim(
    id="robust-bellman-losses",
    paper="Robust Losses for Learning Value Functions",
    topic="policy-evaluation",
    statement="The Huber and absolute Bellman errors have saddle-point reformulations "
    "(max_{|h|<=tau} h delta - h^2/2 = Huber_tau(delta); max_{|h|<=1} h delta = |delta|) whose "
    "gradient methods converge to the robust-loss minimizers, which differ from the MSBE solution and "
    "are less sensitive to outliers.",
    bound="0",
    instance="6-state Garnet Markov chain, gamma=0.9, features (1, 2 Gaussian), rewards N(0,1) with one "
    "outlier state (+20); Huber tau in {1, 0.1}; sampled part: Student-t(df=1.5) reward noise",
    priority="C",
    notes="Checks: (i) the conjugate identities on a grid of delta, maximizing over h by bounded scalar "
    "search (1e-8) and in closed form h* = clip(delta, -tau, tau); (ii) deterministic projected "
    "gradient descent-ascent on the saddle (tabular h, so the 'projected' Huber BE is the Huber BE of "
    "the expected TD error, no double sampling) converges to the minimizer of sum_s d(s) Huber(delta_s) "
    "from a convex solver (BFGS) for tau in {1, 0.1} (relative 1e-4); the absolute BE minimizer (linear "
    "program) is the tau -> 0 limit, Huber(0.1)'s minimizer is within relative 0.1 of it (O(tau) gap); "
    "with tau = 0.01 plain GDA had not converged after 2e4 steps (the theta-steps are O(tau)), so that "
    "case is not used. (iii) characterization, reported, not pass/fail: the abstract gives no checkable "
    "statement, and on this instance the MSBE minimizer has the SMALLER value error (the outlier reward "
    "propagates into every state's true value, so down-weighting it is not an advantage here). (iv) sensitivity: over "
    "independent runs with heavy-tailed (infinite-variance) reward noise, the final iterates of the "
    "stochastic saddle method (bounded h) have a smaller interquartile range than semi-gradient TD(0) "
    "at the same step size. Library code: mdpgrad.valuation.huber / huber_saddle_gda (dual_box= is the control's "
    "hook); the stochastic comparison (iv) is still a loop in this module.",
    expected="holds",
    controls={"dual-box-2tau": "the saddle GDA projects the dual variable on |h| <= 2 tau instead of tau"},
)
def robust_bellman_losses(budget, rng, control=None):
    import scipy.optimize

    # (i) conjugate identities
    deltas = np.linspace(-5, 5, budget.pick(41, 201))
    conj_err = 0.0  # closed form h* = clip(delta, -tau, tau): round-off only
    search_err = 0.0  # bounded Brent search: x-accuracy ~1e-10, boundary maxima give f-error ~1e-7
    for tau in (0.5, 1.0, 2.0):
        for dl in deltas:
            res = scipy.optimize.minimize_scalar(lambda h, dl=dl: -(h * dl - 0.5 * h * h), bounds=(-tau, tau),
                                                 method="bounded", options={"xatol": 1e-10})
            search_err = max(search_err, abs(-res.fun - _huber(dl, tau)))
            hs = np.clip(dl, -tau, tau)
            conj_err = max(conj_err, abs(hs * dl - 0.5 * hs**2 - _huber(dl, tau)))
        conj_err = max(conj_err, float(np.max(np.abs(np.sign(deltas) * deltas - np.abs(deltas)))))
    # (ii) saddle-point GDA vs convex solver
    S, g, P, r, phi, dmu, M = _robust_instance(rng)
    sols = {}
    gaps = {}
    refs = {}
    for tau in (1.0, 0.1):
        obj = lambda th, tau=tau: float(np.sum(dmu * _huber(r - M @ th, tau)))  # noqa: E731
        grad = lambda th, tau=tau: -M.T @ (dmu * np.clip(r - M @ th, -tau, tau))  # noqa: E731
        ref = scipy.optimize.minimize(obj, np.zeros(phi.shape[1]), jac=grad, method="BFGS",
                                      options={"gtol": 1e-12, "maxiter": 10_000}).x
        lr = 1.0 / np.linalg.norm(M.T @ (dmu[:, None] * M), 2)
        n_gda = budget.pick(3_000 if tau == 1.0 else 10_000, 100_000)  # the theta-steps are O(tau)
        th = huber_saddle_gda(M, r, dmu, tau, n_gda, alpha=0.5 * lr, beta=0.5,
                         dual_box=None if control is None else 2 * tau)
        sols[tau] = th
        refs[tau] = ref
        gaps[tau] = float(np.linalg.norm(th - ref) / np.linalg.norm(ref))
    # absolute BE minimizer: LP  min sum d_s t_s  s.t. -t <= r - M theta <= t
    n, k = M.shape
    c = np.concatenate([np.zeros(k), dmu])
    A_ub = np.block([[-M, -np.eye(n)], [M, -np.eye(n)]])
    b_ub = np.concatenate([-r, r])
    lp = scipy.optimize.linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * k + [(0, None)] * n,
                                method="highs")
    th_abs = lp.x[:k]
    gap_abs = float(np.linalg.norm(refs[0.1] - th_abs) / np.linalg.norm(th_abs))
    th_msbe = np.linalg.lstsq(np.sqrt(dmu)[:, None] * M, np.sqrt(dmu) * r, rcond=None)[0]
    v = np.linalg.solve(np.eye(S) - g * P, r)
    others = np.arange(1, S)
    verr = {name: float(np.sqrt(np.sum(dmu[others] * (phi[others] @ th - v[others]) ** 2)))
            for name, th in (("MSBE", th_msbe), ("Huber(1)", sols[1.0]), ("absolute", th_abs))}
    verr_all = {name: float(np.sqrt(np.sum(dmu * (phi @ th - v) ** 2)))
                for name, th in (("MSBE", th_msbe), ("Huber(1)", sols[1.0]), ("absolute", th_abs))}
    # (iv) stochastic: semi-gradient TD(0) vs stochastic Huber saddle, Student-t(1.5) noise
    R, T, a_step = budget.pick((100, 1500), (400, 20_000)), None, 0.02
    R, T = R
    th_td, th_hb = td0_and_huber_saddle(P, r, phi, g, replicas=R, n_steps=T, step_size=a_step, dual_step=0.1,
                                        dual_box=1.0, noise_df=1.5, seed=rng)
    iqr = lambda a: float(np.mean(np.subtract(*np.percentile(a, [75, 25], axis=0))))  # noqa: E731
    iqr_td, iqr_hb = iqr(th_td), iqr(th_hb)
    ok = (conj_err <= 1e-12 and search_err <= 1e-6 and max(gaps.values()) <= 1e-4 and gap_abs <= 0.1
          and iqr_hb <= 0.5 * iqr_td)
    fig, (ax1, ax2) = claim_figure(control, 1, 2, figsize=(8, 3.4))
    ax1.plot(v, "ko", label="true V")
    for name, th in (("MSBE", th_msbe), ("Huber(1)", sols[1.0]), ("absolute (LP)", th_abs)):
        ax1.plot(phi @ th, "o--", ms=4, label=name)
    ax1.set_xlabel("state (0 = outlier reward)")
    ax1.legend(fontsize=6)
    ax2.boxplot([th_td[:, 0], th_hb[:, 0]], tick_labels=["TD(0)", "Huber saddle"])
    ax2.set_ylabel("final theta[0] across runs (t_1.5 noise)")
    fig.suptitle("Robust Bellman losses", fontsize=9)
    return Verdict(predicted=0.0, measured=gaps[1.0], verdict=holds_if(ok),
                   rule="conjugate identity <= 1e-12 (closed form) / 1e-6 (search); GDA vs BFGS relative gap <= 1e-4; "
                   "Huber(0.1) vs LP absolute minimizer <= 0.1; IQR(saddle) <= IQR(TD) / 2 (measured ratio ~0.16; without the "
                   "dual box ~0.74)",
                   details=f"conjugate identity err {conj_err:.1e} (closed form), {search_err:.1e} (search); "
                   f"saddle GDA vs convex solver rel. gap Huber(1) {gaps[1.0]:.1e}, Huber(0.1) {gaps[0.1]:.1e}; "
                   f"Huber(0.1) vs LP absolute minimizer {gap_abs:.1e}; D-weighted value error (all / non-outlier "
                   "states): " + ", ".join(f"{k} {verr_all[k]:.3f}/{verr[k]:.3f}" for k in verr)
                   + f"; IQR of final theta over {R} runs: TD {iqr_td:.3f} vs Huber saddle {iqr_hb:.3f}",
                   figure=None if control else fig, data={"v": v, "theta_msbe": th_msbe, "theta_huber": sols[1.0], "theta_abs": th_abs})


# ---------------------------------------------------------------------------------------------
def _clustered_symmetric_chain(rng, S, k):
    """Symmetric doubly stochastic P with k clusters (Sinkhorn-balanced), so M = (I - gamma P)^-1 is
    symmetric with a clear gap after its top-k eigenvalues."""
    lab = np.arange(S) % k
    W = np.where(lab[:, None] == lab[None, :], 1.0, 0.1) * (0.5 + rng.random((S, S)))
    W = (W + W.T) / 2
    for _ in range(2000):
        x = 1 / np.sqrt(W.sum(1))
        W = x[:, None] * W * x[None, :]
    return W / W.sum(1, keepdims=True)


@claim(
    id="tdjepa-sf-lowrank",
    paper="TD-JEPA: Latent-predictive Representations for Zero-Shot Reinforcement Learning",
    topic="policy-evaluation",
    statement="An idealized (linear) TD latent-predictive model avoids collapse from a proper "
    "initialization and learns encoders spanning the top-d singular subspace of the successor matrix "
    "M = (I - gamma P)^-1, with the predictor recovering the successor features in latent space.",
    assumptions=("linear encoders, one-hot inputs", "expected (full-batch) semi-gradient TD dynamics",
                 "symmetric P (so M's singular and invariant subspaces coincide)"),
    bound="0",
    instance="S=20 states in 4 clusters, symmetric doubly stochastic P, gamma=0.9, d=4, Gaussian init "
    "(scale 0.1), step 0.1; control: zero init",
    priority="B",
    notes="The abstract gives no model; the idealized variant checked is the linear successor-measure TD "
    "objective 1/2 ||Phi Psi^T - sg(I + gamma P Phi Psi^T)||_F^2 (encoder Phi, target-side encoder Psi; "
    "the latent predictor is T = Psi^T Phi). Derivation [derived]: if span(Phi) is spanned by eigenvectors "
    "of the symmetric P, Phi Psi^T = M_d (the rank-d eigen-truncation of M) is a fixed point because "
    "M_d = U_d U_d^T + gamma P M_d; then Phi T = M_d Phi = M Phi, i.e. the predictor maps latent "
    "features to their successor features exactly. Checks: over several random inits, the largest "
    "principal angle between span(Phi) and the top-d singular subspace of M < 1e-2 rad; "
    "||Phi T - M Phi|| / ||M Phi|| < 1e-2; smallest singular value of Phi bounded away from 0 (no "
    "collapse); zero init stays at 0 (collapse control). Not checked: a sampled (transition-level) "
    "version and non-symmetric P, where singular and invariant subspaces differ. The latent TD dynamics are "
    "mdpgrad.valuation.latent_td_successor.",
    expected="holds",
    controls={"discount-0.9": "the TD target bootstraps with 0.9 gamma (sg(I + 0.9 gamma P Phi Psi^T))"},
)
def tdjepa_sf_lowrank(budget, rng, control=None):
    import scipy.linalg

    S, d, g = 20, 4, 0.9
    P = _clustered_symmetric_chain(rng, S, d)
    M = np.linalg.solve(np.eye(S) - g * P, np.eye(S))
    U, sv, _ = np.linalg.svd(M)
    top = U[:, :d]
    n_init = budget.pick(3, 20)
    angles, sf_err, smin = [], [], []
    for _ in range(n_init):
        Phi, Psi = latent_td_successor(P, g if control is None else 0.9 * g, 0.1 * rng.normal(size=(S, d)),
                              0.1 * rng.normal(size=(S, d)),
                              budget.pick(3000, 10_000), 0.1)
        angles.append(float(np.max(scipy.linalg.subspace_angles(Phi, top))))
        T = Psi.T @ Phi
        sf_err.append(float(np.linalg.norm(Phi @ T - M @ Phi) / np.linalg.norm(M @ Phi)))
        smin.append(float(np.linalg.svd(Phi, compute_uv=False)[-1]))
    Z, _ = latent_td_successor(P, g, np.zeros((S, d)), np.zeros((S, d)), 100, 0.1)
    collapsed = float(np.abs(Z).max()) == 0.0
    ok = max(angles) < 1e-2 and max(sf_err) < 1e-2 and min(smin) > 1e-3 and collapsed
    fig, ax = claim_figure(control)
    ax.semilogy(np.arange(1, S + 1), sv, "o-", ms=3, label="singular values of M")
    ax.axvline(d + 0.5, color="k", ls="--", lw=1, label=f"d = {d}")
    ax.set_xlabel("index")
    ax.set_title(f"TD latent prediction: max angle to top-{d} subspace {max(angles):.1e} rad", fontsize=9)
    ax.legend(fontsize=7)
    return Verdict(predicted=0.0, measured=max(angles), verdict=holds_if(ok), figure=None if control else fig,
                   rule="max principal angle < 1e-2 rad; SF recovery rel. error < 1e-2; min singular value > 1e-3; "
                   "zero init stays at 0",
                   details=f"{n_init} inits: max principal angle {max(angles):.1e} rad, SF recovery rel. err "
                   f"{max(sf_err):.1e}, min singular value of Phi {min(smin):.3f}; zero init stays collapsed: "
                   f"{collapsed}; singular gap s_{d}/s_{d + 1} = {sv[d - 1] / sv[d]:.2f}",
                   data={"singular_values": sv, "angles": np.array(angles)})


# ---------------------------------------------------------------------------------------------
@claim(
    id="etd-offpolicy-stable",
    paper="(standard result: Sutton, Mahmood & White 2016, An emphatic approach to the problem of off-policy "
    "temporal-difference learning)",
    topic="policy-evaluation",
    statement="Emphatic TD(lambda) is stable off-policy: its key matrix A = Phi^T M (I - P^lambda_pi) Phi (M the "
    "emphatic weighting) is positive definite for any behaviour policy that covers the target, and ETD(lambda) "
    "converges to theta*_ETD = A^-1 b.",
    bound="0",
    assumptions=("behaviour covers the target", "interest 1 everywhere", "full-rank features",
                 "decreasing steps"),
    instance="10 random off-policy Garnets (S=8, A=2, dense, gamma=0.9; behaviour = half target, half random), "
    "features (1, 2 Gaussian), lambda in {0, 0.5}; sampled ETD(0), ETD(0.5): 12 runs x 6e4 steps (quick) / "
    "64 x 1e6, alpha_t = c/(t0 + t), c = 2/lambda_min; contrast: Baird's counterexample",
    priority="B",
    expected="holds",
    controls=_GAMMA_CONTROLS,
    catalogue=("etd-offpolicy-stable",),
)
def etd_offpolicy_stable(budget, rng, control=None):
    """Exact part: min eigenvalue of sym(A_ETD) > 0 on every instance (mdpgrad.td.td_system(emphatic=True));
    reported contrast: on Baird's star plain off-policy TD(0)'s A0 has an eigenvalue with negative real part
    while sym(A_ETD) is positive semidefinite (8 features on 7 states: singular, no negative eigenvalue).
    Sampled part (mdpgrad.td.run_td(method='etd')): final iterates vs theta*_ETD with mdpgrad.verdicts.unbiased
    (Bonferroni over 2 lambdas x 3 coordinates); min_detectable is reported as a relative gamma error, as in
    td-fixed-point-bound. Controls give run_td an MDP with a scaled gamma."""
    from mdpgrad.stats import bonferroni_z
    from mdpgrad.verdicts import at_least, combine, unbiased

    def instance():
        S = 8
        mdp = envs.garnet(S, 2, S, gamma=0.9, seed=rng)
        pi = rng.dirichlet(np.ones(2), size=S)
        mu = 0.5 * pi + 0.5 * rng.dirichlet(np.ones(2), size=S)
        phi = np.column_stack([np.ones(S), rng.normal(size=(S, 2))])
        return mdp, pi, mu, phi

    eigs = []
    for _ in range(budget.pick(10, 50)):
        mdp, pi, mu, phi = instance()
        for lam in (0.0, 0.5):
            sy = td.td_system(mdp, pi, phi, lambda_=lam, behavior=mu, emphatic=True)
            eigs.append(float(np.linalg.eigvalsh(0.5 * (sy.A + sy.A.T)).min()))
    v_pd = at_least(min(eigs), 1e-10, what="min eigenvalue of sym(A_ETD) over instances")
    mb, pb, mub, phib, _ = td.baird_counterexample(0.99)
    syb = td.td_system(mb, pb, phib, behavior=mub, emphatic=True)
    baird_td = float(np.linalg.eigvals(syb.A0).real.min())
    baird_etd = float(np.linalg.eigvalsh(0.5 * (syb.A + syb.A.T)).min())
    mdp, pi, mu, phi = instance()
    n_steps, n_runs = budget.pick((60_000, 12), (1_000_000, 64))
    finals, stars, md = [], [], np.inf
    zq = bonferroni_z(6) + 0.8416
    for lam in (0.0, 0.5):
        sy = td.td_system(mdp, pi, phi, lambda_=lam, behavior=mu, emphatic=True)
        lmin = np.linalg.eigvalsh(0.5 * (sy.A + sy.A.T)).min()
        c = 2.0 / lmin
        t0 = 10.0 * c * np.linalg.norm(sy.A, 2)
        run = td.run_td(_wrong_discount(mdp, control), pi, phi, method="etd", lambda_=lam, behavior=mu, alpha=c / t0,
                        t0=t0, power=1.0, n_steps=n_steps, n_runs=n_runs, seed=rng)
        fin = run.thetas[:, -1]
        finals.append(fin)
        stars.append(sy.theta_star)
        h = 1e-4
        sens = np.abs(td.td_system(dataclasses.replace(mdp, gamma=mdp.gamma * (1 + h)), pi, phi, lambda_=lam,
                                   behavior=mu, emphatic=True).theta_star
                      - td.td_system(dataclasses.replace(mdp, gamma=mdp.gamma * (1 - h)), pi, phi, lambda_=lam,
                                     behavior=mu, emphatic=True).theta_star) / (2 * h)
        md = min(md, float(np.min(zq * fin.std(0, ddof=1) / np.sqrt(n_runs) / sens)))
    v_unb = unbiased(np.stack(finals, 1), np.stack(stars), what="final ETD iterate - theta*_ETD")
    verdict = combine(v_pd, v_unb)
    fig, ax = claim_figure(control)
    ax.hist(eigs, bins=15)
    ax.axvline(0, color="k", lw=1)
    ax.set_xlabel("min eigenvalue of sym(A_ETD)")
    ax.set_title(f"ETD key matrix; Baird: TD min Re eig {baird_td:.3f}, ETD {baird_etd:.1e}", fontsize=9)
    z = np.abs(np.stack(finals, 1).mean(0) - np.stack(stars)) / (np.stack(finals, 1).std(0, ddof=1) / np.sqrt(n_runs))
    return Verdict(predicted="A_ETD positive definite; ETD -> theta*_ETD", measured=min(eigs), verdict=verdict,
                   rule=f"{v_pd.rule}; {v_unb.rule}; min_detectable = relative error in gamma", min_detectable=md,
                   details=f"min eig sym(A_ETD) over {len(eigs)} (instance, lambda): {min(eigs):.3g}; sampled ETD max "
                   f"|z| = {np.max(z):.2f} ({n_runs} runs x {n_steps} steps); Baird: TD(0) min Re eig(A0) "
                   f"{baird_td:.3f}, ETD min eig {baird_etd:.1e}",
                   figure=None if control else fig, data={"min_eig": np.array(eigs), "z": z})


# ---------------------------------------------------------------------------------------------
@claim(
    id="lambda-return-forward-backward",
    paper="(standard result: Sutton & Barto 2018, Reinforcement Learning: An Introduction, sec. 12.4; "
    "Sutton 1988)",
    topic="policy-evaluation",
    statement="Offline, the forward view (lambda-return targets) and the backward view (accumulating eligibility "
    "traces) of TD(lambda) make the same total update: sum_t (G_t^lambda - V(s_t)) phi_t = sum_t delta_t e_t.",
    bound="0",
    assumptions=("linear V held fixed during the batch", "contiguous trajectory", "accumulating traces"),
    instance="one Garnet(10, 2, dense) trajectory of 500 steps, gamma=0.9, random features d=3 and theta, "
    "lambda in {0, 0.5, 0.9, 1}",
    priority="C",
    expected="holds",
    controls={"discount-0.9": "the backward view's traces and TD errors computed with 0.9 gamma"},
    catalogue=("lambda-return-forward-backward",),
)
def lambda_return_forward_backward(budget, rng, control=None):
    """Exact identity (telescoping G_t^lambda - V(s_t) = sum_{k >= t} (gamma lam)^{k-t} delta_k); rule:
    max relative difference of mdpgrad.td.forward_view_offline and backward_view_offline <= 1e-10."""
    from mdpgrad.verdicts import at_most

    mdp, pi, phi = _random_td_instance(rng, S=10, d=3, gamma=0.9)
    s, a, s1 = td.sample_transitions(mdp, pi, 500, seed=rng)
    theta = rng.normal(size=3)
    r_t = mdp.r[s, a]
    disc = np.full(s.size, mdp.gamma)
    disc_test = disc if control is None else 0.9 * disc
    rel = []
    for lam in (0.0, 0.5, 0.9, 1.0):
        fwd = td.forward_view_offline(phi[s], r_t, phi[s1], theta, discount_t=disc, lambda_=lam)
        bwd = td.backward_view_offline(phi[s], r_t, phi[s1], theta, discount_t=disc_test, lambda_=lam)
        rel.append(float(np.max(np.abs(fwd - bwd)) / np.max(np.abs(fwd))))
    v = at_most(max(rel), 1e-10, what="max relative |forward - backward|")
    fig, ax = claim_figure(control)
    ax.semilogy([0.0, 0.5, 0.9, 1.0], np.maximum(rel, 1e-17), "o-")
    ax.set_xlabel("lambda")
    ax.set_ylabel("relative difference")
    ax.set_title("offline forward view = backward view", fontsize=9)
    return Verdict(predicted=0.0, measured=max(rel), verdict=v, details=f"relative differences {rel}",
                   figure=None if control else fig, data={"lam": np.array([0.0, 0.5, 0.9, 1.0]), "rel": np.array(rel)})


# ----------------------------------------------------------------------------- replacing-traces-first-visit
def _random_walk_episodes(n_episodes, n_states, rng):
    """Episodes of a random walk on 0..n_states-1 started in the middle, stepping -1/+1 with equal
    probability and terminating off either end; reward N(0, 1) + (1 at the right exit). Returns
    (states, rewards) per episode (lists of arrays)."""
    eps = []
    for _ in range(n_episodes):
        s, states, rewards = n_states // 2, [], []
        while 0 <= s < n_states:
            states.append(s)
            s2 = s + (1 if rng.random() < 0.5 else -1)
            rewards.append(float(rng.normal()) + (1.0 if s2 == n_states else 0.0))
            s = s2
        eps.append((np.array(states), np.array(rewards)))
    return eps


@claim(
    id="replacing-traces-first-visit-mc",
    paper="(standard result: Singh & Sutton 1996, Reinforcement learning with replacing eligibility traces)",
    topic="policy-evaluation",
    statement="Undiscounted episodic tabular TD(1) applied offline is Monte Carlo: with replacing traces its "
    "total update of V(s) is first-visit MC's, sum over episodes of (G_{first visit} - V(s)); with "
    "accumulating traces it is every-visit MC's, sum over all visits of (G_t - V(s)).",
    bound="0",
    assumptions=("tabular (one-hot) features", "gamma = 1, lambda = 1, episodes cut by discount 0",
                 "offline: the online increment divided by alpha as alpha -> 0"),
    instance="random walk on 7 states from the middle, rewards N(0, 1) + 1 at the right exit; 60 (quick) / 600 "
    "(full) episodes; initial values theta0 ~ N(0, 1) (the telescoping of the TD errors is part of the check); "
    "alpha = 1e-9, one pass of the library's td_on_data",
    priority="B",
    expected="holds",
    controls={"methods-swapped": "the accumulating-trace method where replacing traces are asked for, and the "
              "replacing one where accumulating are (td_on_data(method='td') vs 'td_replacing')",
              "episodes-not-cut": "discount 1 at the episode ends (traces and bootstraps run into the next "
              "episode)"},
)
def replacing_traces_first_visit_mc(budget, rng, control=None):
    """The library's :func:`mdpgrad.td.td_on_data` (Numba kernel) with ``method="td_replacing"`` and
    ``"td"``, lambda_ = 1: (theta_1 - theta_0) / alpha against first-visit / every-visit MC increments
    computed directly from the episodes; relative error <= 1e-5 (the O(alpha) online correction is
    ~1e-7 here). The random walk revisits states, so first- and every-visit differ by O(1) (reported)."""
    S = 7
    eps = _random_walk_episodes(budget.pick(60, 600), S, rng)
    theta0 = rng.normal(size=S)
    eye = np.eye(S)
    phi_t, phi_tp1, r_t, disc = [], [], [], []
    first, every = np.zeros(S), np.zeros(S)
    for states, rewards in eps:
        T = len(states)
        G = np.cumsum(rewards[::-1])[::-1]
        seen = set()
        for t in range(T):
            s = int(states[t])
            every[s] += G[t] - theta0[s]
            if s not in seen:
                first[s] += G[t] - theta0[s]
                seen.add(s)
        phi_t.append(eye[states])
        phi_tp1.append(np.vstack([eye[states[1:]], np.zeros((1, S))]))
        r_t.append(rewards)
        d = np.ones(T)
        d[-1] = 1.0 if control == "episodes-not-cut" else 0.0
        disc.append(d)
    phi_t, phi_tp1, r_t, disc = map(np.concatenate, (phi_t, phi_tp1, r_t, disc))
    alpha = 1e-9
    swap = control == "methods-swapped"
    errs = {}
    for method, ref in (("td_replacing", first), ("td", every)):
        run_method = {"td_replacing": "td", "td": "td_replacing"}[method] if swap else method
        theta, _ = td.td_on_data(phi_t, r_t, phi_tp1, discount_t=disc, method=run_method, lambda_=1.0, alpha=alpha,
                                 n_passes=1, theta0=theta0)
        inc = (theta - theta0) / alpha
        errs[method] = float(np.max(np.abs(inc - ref)) / np.max(np.abs(ref)))
    gap = float(np.max(np.abs(first - every)) / np.max(np.abs(every)))
    v = [at_most(e, 1e-5, what=f"{m}: max relative error vs {'first' if m == 'td_replacing' else 'every'}-visit MC")
         for m, e in errs.items()]
    fig, ax = claim_figure(control)
    k = np.arange(S)
    ax.plot(k, first, "o-", label="first-visit MC increment")
    ax.plot(k, every, "s--", label="every-visit MC increment")
    ax.set_xlabel("state")
    ax.legend(fontsize=7)
    return Verdict(predicted=0.0, measured=errs, verdict=combine(*v), rule="; ".join(x.rule for x in v),
                   details=f"relative errors: replacing vs first-visit {errs['td_replacing']:.1e}, accumulating vs "
                   f"every-visit {errs['td']:.1e} (<= 1e-5); first- vs every-visit differ by {gap:.2f} "
                   f"(relative), so the two trace rules are distinguished",
                   data={"first_visit": first, "every_visit": every}, figure=None if control else fig)
