"""Exact-gradient policy optimization: convergence rates and monotonicity claims.

Every check runs the method with exact gradients (linear solves, no sampling), so the only
statistics are the least-squares rate fits of :mod:`mdpgrad.rates` (window chosen by its
documented rule). Instances are stated in ``instance=``; rewards are in [0, 1] wherever a
bound assumes it (Garnet rewards are U[0, 1]).
"""

from __future__ import annotations

import numpy as np

from mdpgrad import envs, evaluate, solve
from mdpgrad.algorithms import (
    exact_quantities,
    mdpo_inner,
    optimize,
    rebel_step,
    trpo_exact_step,
    trpo_step,
    trpo_surrogate_bound,
)
from mdpgrad.claims import Verdict, claim
from mdpgrad.plotting import new_figure, rate_figure
from mdpgrad.policies import policy_gradient, softmax
from mdpgrad.rates import fit_exponential, fit_power_law
from mdpgrad.regularized import soft_optimum
from mdpgrad.verdicts import Rule, at_least, at_most, bound_at_every_t, combine, holds_if, slope_in_band

TOPIC = "exact-pg"


def _ols_slope(x, y):
    """OLS slope with a 95% Student-t interval (same formula as :mod:`mdpgrad.rates`)."""
    from mdpgrad.rates import ols as _ols

    slope, intercept, se, ci = _ols(np.asarray(x, float), np.asarray(y, float), 0.95)
    return slope, intercept, ci


# ---------------------------------------------------------------------------------------
_PG_CONTROLS = {
    "rho-weighting": "softmax PG weighting states by rho instead of the discounted occupancy d^pi "
    "(policies.policy_gradient(weighting='rho'))",
    "no-1/(1-gamma)": "softmax PG without its 1/(1-gamma) factor (the library step run at eta (1-gamma))",
}


def _skewed_rho(rng, S):
    """A full-support but far-from-uniform start distribution (so that d^pi differs from rho)."""
    return 0.75 * rng.dirichlet(np.full(S, 0.3)) + 0.25 / S


def _run(mdp, method, n, step, **kw):
    """The library's exact run (compiled path, no V* needed): ``optimize`` with values recorded.
    For ``polyak_pg`` ``step`` is the target ``f_star``."""
    hp = {"f_star": step} if method == "polyak_pg" else {"step_size": step}
    return optimize(mdp, method, n_iter=n, record=("value",), backend="numba", v_star=0.0, **hp, **kw)


def _pg_values(mdp, eta, n, every, control, a_star):
    """Values rho . v^{pi_t} at t = 0, every, 2 every, ... of exact softmax PG from theta = 0, and
    min_t min_s pi_t(a*(s)|s). The method is the library's (fused kernel); a control runs its wrong
    variant through the library: a step absorbing the missing factor, or the rho-weighted gradient of
    :func:`mdpgrad.policies.policy_gradient` in plain gradient ascent."""
    g = mdp.gamma
    if control in (None, "no-1/(1-gamma)"):
        step = eta if control is None else eta * (1 - g)
        res = _run(mdp, "softmax_pg", n, step, a_star=a_star, record_every=every)
        return res.value, res.min_prob_a_star
    theta = np.zeros(mdp.shape)
    vals, c = [], 1.0
    for it in range(n + 1):
        pi = softmax(theta)
        c = min(c, float(np.min(pi[np.arange(mdp.n_states), a_star])))
        if it % every == 0:
            vals.append(evaluate(mdp, pi, check=False).value)
        if it < n:
            theta = theta + eta * policy_gradient(mdp, theta, weighting="rho")
    return np.array(vals), c


@claim(
    id="softmax-pg-sublinear",
    paper="On the global convergence rates of softmax policy gradient methods",
    topic=TOPIC,
    statement="Exact softmax PG with eta = (1-gamma)^3/8 has V*(rho) - V^{pi_t}(rho) <= 16 S / (c^2 (1-gamma)^6 t) "
    "* ||d_rho^{pi*}/mu||_inf^2 * ||1/mu||_inf with c = inf_t min_s pi_t(a*(s)|s): an O(1/t) rate.",
    bound="16*n_S/(c**2*(1-gamma)**6*t)*D**2*M",
    assumptions=("rewards in [0, 1]", "mu = rho (full support)", "theta_0 = 0", "eta = (1-gamma)^3/8",
                 "unique optimal action in every state (Garnets: almost surely)"),
    instance="Garnet(S=4, A=3, b=2) gamma=0.6; Garnet(S=20, A=3, b=3) gamma=0.9; Garnet(S=10, A=4, b=3) gamma=0.95; "
    "rho = 0.75 Dirichlet(0.3) + 0.25 uniform; bound: 300 (quick) / 20,000 (full) iterations at the theory "
    "step; rate constant: eta = 10, 600 (quick) / 10,000 (full) iterations",
    priority="A",
    expected="holds",
    controls=_PG_CONTROLS,
)
def softmax_pg_sublinear(budget, rng, control=None):
    """Mei, Xiao, Szepesvari, Schuurmans (2020), Theorem 4, checked two ways on three instances.

    (a) The bound at every recorded t at the theory step (one-sided, no violation; ``c`` measured as
    the minimum of ``pi_t(a*(s)|s)`` over the run; mu = rho). The bound is loose (tightness
    ~1e-4..1e-3 is reported): on its own it cannot tell a correct implementation from a wrong one.

    (b) The O(1/t) rate is tight, with a constant we derive: as pi_t -> pi*, every suboptimal pair
    obeys d log pi(a|s)/dt ~ -(eta/(1-gamma)) d(s) (pi(a|s) Delta(s,a) + sum_b pi(b|s) Delta(s,b)), so
    y = pi(a|s) Delta(s,a) ~ (1-gamma)/(eta d(s) A t) and, by the performance-difference lemma,
    eta t (V* - V^t)(rho) -> S (A-1)/A, independent of the MDP (unique optimal actions, d(s) > 0).
    Checked two-sided at eta = 10 (the limit holds at any constant step: the discrete recursion
    y' = y (1 - c d A y) has the same 1/t tail): eta t gap_t at the last t within 5% of S(A-1)/A on
    every instance (measured here: 1.1%, 1.3%, 1.0%). Near-tied suboptimal actions leave a slowly
    decaying transient (on 18 random instances tried, eta t = 6,000 was within 5% on 16 and within 29%
    on all), so a deviation within 30% that is still shrinking since t/2 reads "inconclusive", not
    "violated". (The band was 20% before; a planted error of 10% in the constant now leaves "holds".) A wrong
    state weighting w(s) changes the limit to (A-1)/A sum_s d*(s)/w(s) (= S only when w = d), a missing
    1/(1-gamma) multiplies it by 1/(1-gamma): both are rejected.
    Catalogue correction: the catalogue's single small instance (S=4, gamma=0.6, uniform rho) is extended
    to three instances, one with S=20 and gamma=0.9, with a skewed rho (under uniform rho the rho-weighted
    variant has the same limit constant, S, and cannot be told apart).
    """
    specs = ((4, 3, 2, 0.6), (20, 3, 3, 0.9), (10, 4, 3, 0.95))
    n_b = budget.pick(300, 20_000)
    n_a = budget.pick(600, 10_000)
    parts, rows, curves = [], [], []
    for S, A, b, g in specs:
        rho = _skewed_rho(rng, S)
        mdp = envs.garnet(S, A, b, gamma=g, seed=rng, rho=rho)
        sol = solve(mdp)
        a_star = np.argmax(sol.q, axis=1)
        vs = float(sol.v @ mdp.rho)
        d_star = evaluate(mdp, sol.policy).occupancy
        D, Mmu = float(np.max(d_star / rho)), float(np.max(1 / rho))
        every = n_b // 100
        eta = (1 - g) ** 3 / 8
        vals, c = _pg_values(mdp, eta, n_b, every, control, a_star)
        t = np.arange(len(vals)) * every
        gap = vs - vals
        bound = 16 * S / (c**2 * (1 - g) ** 6 * np.maximum(t, 1)) * D**2 * Mmu
        r_bound = bound_at_every_t(gap[1:], bound[1:])
        # (b) rate constant at eta = 10
        every_a = n_a // 100
        vals_a, _ = _pg_values(mdp, 10.0, n_a, every_a, control, a_star)
        ta = np.arange(len(vals_a)) * every_a
        const = 10.0 * ta[1:] * (vs - vals_a[1:])
        pred = S * (A - 1) / A
        dev_end, dev_mid = abs(const[-1] / pred - 1), abs(const[len(const) // 2] / pred - 1)
        # within 5%: holds; a slow transient (near-tied actions) still approaching the limit and within 30%:
        # inconclusive; anything else (a wrong weighting or factor moves the limit by >= 2x here): violated
        v_const = ("holds" if dev_end <= 0.05 else
                   "inconclusive" if dev_end <= 0.3 and dev_end < dev_mid else "violated")
        r_const = Rule(v_const, "|eta t gap_t / (S(A-1)/A) - 1| <= 0.05 at the last t (<= 0.3 and shrinking "
                       "since t/2: inconclusive)", tightness=dev_end / 0.05)
        parts += [r_bound, r_const]
        fit = fit_power_law(ta[1:], vs - vals_a[1:])
        rows.append(dict(S=S, A=A, gamma=g, tight=r_bound.tightness, const=float(const[-1]), pred=pred,
                         slope=None if fit is None else fit.slope,
                         rho_limit=(A - 1) / A * float(np.sum(d_star / rho))))
        curves.append((ta[1:], const, pred, f"S={S}, A={A}, gamma={g}"))
    fig, ax = new_figure()
    for k, (tt, cc, pr, lab) in enumerate(curves):
        ax.semilogx(tt, cc, color=f"C{k}", label=lab)
        ax.axhline(pr, color=f"C{k}", ls="--", lw=1)
    ax.set_xlabel("t (eta = 10)")
    ax.set_ylabel("eta t (V* - V^t)(rho)")
    ax.set_title("softmax PG: eta t gap -> S(A-1)/A (dashed)" + (f" [control {control}]" if control else ""),
                 fontsize=8)
    ax.legend(fontsize=7)
    tight = max(r["tight"] for r in rows)
    return Verdict(predicted="gap <= Mei bound; eta t gap -> S(A-1)/A",
                   measured=[round(r["const"] / r["pred"], 4) for r in rows], verdict=combine(*parts),
                   rule="gap_t <= Mei et al. bound_t at every t (theory step), and eta t gap_t within 5% of "
                   "S(A-1)/A at the last t (eta = 10), on each instance (within 30% and still approaching: "
                   "inconclusive)",
                   tightness=tight,
                   details="; ".join(f"S={r['S']},A={r['A']},g={r['gamma']}: max gap/bound {r['tight']:.2e}, "
                                     f"eta t gap {r['const']:.3f} vs S(A-1)/A = {r['pred']:.3f} (rho-weighted limit "
                                     f"{r['rho_limit']:.3f}), late slope "
                                     f"{'n/a' if r['slope'] is None else round(r['slope'], 3)}" for r in rows),
                   data={"t": curves[1][0], "const_S20": curves[1][1]}, figure=fig)


# ---------------------------------------------------------------------------------------
def _iters_to(mdp, method, eta, rel, n_max):
    """First t with (V* - V_t)/V* <= rel (runs of doubling length up to n_max)."""
    vs = float(solve(mdp).v @ mdp.rho)
    n = 256
    while True:
        vals = _run(mdp, method, min(n, n_max), eta).value
        idx = np.nonzero((vs - vals) / vs <= rel)[0]
        if idx.size:
            return int(idx[0])
        if n >= n_max:
            return np.inf
        n *= 4


@claim(
    id="softmax-pg-exponential-time",
    paper="Softmax policy gradient methods can take exponential time to converge",
    topic=TOPIC,
    statement="There are chain MDPs on which exact softmax PG needs a number of iterations growing "
    "exponentially in |S| to reach a fixed accuracy, while NPG does not.",
    bound="exp(b*n_S)",
    assumptions=("exact gradients", "uniform initial policy", "same step eta = 0.1 for PG and NPG"),
    instance="mdpgrad.envs.hard_chain(S), gamma=0.9, decoy 0.05, rho = e_0; S = 3..8 (quick), 3..11 (full); "
    "target: relative gap (V*-V)/V* <= 0.1; reported alongside: the same chains with uniform rho",
    priority="A",
    notes="Instance substitution (documented in envs.hard_chain): the paper's construction is not rebuilt, because its "
    "definition is not in any public text reachable here. Searched (2026-12): the arXiv/ar5iv page of 2102.11270, the "
    "COLT 2021 poster page, the Springer page (Math. Programming 201:707-802, 2023), paperswithcode and deeplearn.org "
    "(all stored as abstract/introduction only), GitHub code and issues (no code reproduces the instance; "
    "paperswithcode lists none), lecture notes and blogs. The one detailed public description found is third-party "
    "notes, AutoResearch-Factory/agon-artifacts wiki/2102.11270.md (secondary, not the paper). By those notes the "
    "theorem assumes 0.96 < gamma < 1, 0 < eta < (1-gamma)^2/5 and |S| >= c3 (1-gamma)^-6, and bounds by "
    "(c1/eta) |S|^{2^{c2/(1-gamma)}} the iterations before the value error averaged uniformly over states drops "
    "below 0.07, from the uniform policy and the uniform initial distribution. The MDP has at most 3 actions "
    "{a0, a1, a2} per state: an absorbing state 0; two buffer sets S1, S2 (|Si| = c_bi (1-gamma)|S|, with Q(a0) = "
    "-gamma^2, Q(a1) = gamma^2 in S1 and -gamma^4, gamma^4 in S2, apparently standing in for key states 1 and 2); "
    "primary states 3..H and adjoint states 1bar..Hbar with H = c_h/(1-gamma); booster sets of size "
    "c_m (1-gamma)|S| attached to the key states (for their visitation lower bound and, with two actions in the "
    "final version, to carry the average error); key states are visited ~(1-gamma)^2, a buffer state "
    "~(1-gamma)/|S|; p = c_p (1-gamma), thresholds tau_s = 0.5 gamma^{2s/3}, reward scale "
    "r_s = 0.5 gamma^{2s/3+5/6}. At a primary state a0 ends in 0 (its reward has a p tau_{s-2} term), a1 moves to "
    "(s-1)bar, a2 moves to (s-2)bar w.p. p and else ends in 0; at an adjoint state a1 returns to s and a0 ends in 0; "
    "a1 is optimal everywhere, V*(s) = gamma^{2s}, V*(sbar) = gamma^{2s+1}. The crossing time of s (first t with "
    "V_t(s) >= tau_s) exceeds roughly the 1.5th power of that of s-2, and this compounds over H levels. Not stated "
    "there: the exact rewards of a0/a2 and of an adjoint state's a0, the boosters' second action, and the universal "
    "constants c1, c2, c3, c_h, c_bi, c_m, c_p; so the instance cannot be rebuilt exactly. A reconstruction of that "
    "structure with our own choices for the missing pieces (gamma = 0.97, p = 0.01, H <= 10, buffers of 4 to 50 "
    "states, |S| <= 137, eta = 1) gave ordered crossing times t_3 < ... < t_H but no amplification: t_10/t_3 ~ 32 to 35 and "
    "the ratios t_s/t_{s-2} fall (5.0, 2.4, 2.0 for s = 5, 7, 9), where a 1.5th-power law makes them grow; it is not added to mdpgrad.envs. In any case the "
    "theorem's regime is beyond exact computation: at gamma = 0.97 it asks for |S| >= c3 * 1.4e9 states. "
    "How envs.hard_chain differs, point by point: (1) start distribution: rho = e_0 against the paper's uniform "
    "rho; the growth measured here comes from the distribution mismatch ||d^{pi*}/rho||_inf, which the paper rules "
    "out. Measured (reported each run, not scored): on the same chains with uniform rho -- the paper's own accuracy "
    "measure, the uniform average of the value error -- softmax PG's iterations to relative gap 0.1 grow only "
    "polynomially, 14, 19, 26, 33, 42, 52, 63, 75, 89 for S = 3..11 (a power law fits better than an "
    "exponential), against 20 ... 415 with rho = e_0; NPG needs 2 to 5 iterations either way. (2) actions: 2 "
    "(left/right) against 3. (3) structure: a plain chain with a decoy reward for 'left' at state 0; no buffer, "
    "adjoint or booster states and no two-step a2 links, the source of the paper's amplification. (4) scaling: "
    "gamma = 0.9 fixed and the chain grows (geometric growth ~1.4x per state), against |S|^{2^{Omega(1/(1-gamma))}}"
    " with H ~ 1/(1-gamma). (5) step: eta = 0.1 for PG and NPG, against the theorem's eta < (1-gamma)^2/5 "
    "(= 2e-3 at gamma = 0.9). (6) target: relative gap 0.1 of the rho-value, against average value error 0.07. "
    "So the check confirms 'exact softmax PG can need exponentially many iterations in |S| while NPG does not' on "
    "a mismatch-driven instance, not the paper's statement or exponent.",
    expected="holds",
    controls={"npg-unpreconditioned": "NPG whose natural gradient forgets the Fisher preconditioner, i.e. takes "
              "the plain softmax-PG step (the library's softmax_pg run in NPG's place)"},
)
def softmax_pg_exponential_time(budget, rng, control=None):
    """Verdict: *holds* if (i) the log-linear fit of log T_PG on S has a 95% CI above 0, (ii) the
    exponential model fits log T_PG better than a power law in S (smaller residual sum of
    squares), and (iii) NPG's log-linear slope CI lies below PG's. The fit uses every size (no
    burn-in: each point is a separate instance, not a transient). PG not reaching the target within
    its cap is inconclusive; NPG not reaching it within 5,000 iterations (it needs < 100 here) is a
    violation of "NPG does not [take exponential time]". Reported, not scored: T_PG on the same chains
    with the paper's uniform start distribution, with its exponential and power-law fits (the growth
    measured here needs the point-mass start; see the notes).
    """
    npg_method = "softmax_pg" if control == "npg-unpreconditioned" else "npg"
    sizes = np.arange(3, budget.pick(9, 12))
    pg = np.array([_iters_to(envs.hard_chain(int(S)), "softmax_pg", 0.1, 0.1, 200_000) for S in sizes], float)
    npg = np.array([_iters_to(envs.hard_chain(int(S)), npg_method, 0.1, 0.1, 5_000) for S in sizes], float)
    # Reported, not scored: the same chains under the paper's uniform start distribution.
    pg_u = np.array([_iters_to(envs.hard_chain(int(S), rho=np.full(int(S), 1.0 / S)), "softmax_pg", 0.1, 0.1,
                               200_000) for S in sizes], float)
    if not np.all(np.isfinite(pg)) or not np.all(np.isfinite(npg)):
        fail = "violated" if np.all(np.isfinite(pg)) else "inconclusive"
        return Verdict(predicted="b > 0", measured="did not reach target", verdict=fail,
                       rule="PG and NPG reach relative gap 0.1 (NPG within 5,000 iterations)",
                       details=f"T_PG = {pg.tolist()}, T_NPG = {npg.tolist()} (inf: not reached)",
                       data={"S": sizes, "pg": pg, "npg": npg})
    b, c0, ci = _ols_slope(sizes, np.log(pg))
    res_exp = np.sum((np.log(pg) - (c0 + b * sizes)) ** 2)
    bp, cp, _ = _ols_slope(np.log(sizes), np.log(pg))
    res_pow = np.sum((np.log(pg) - (cp + bp * np.log(sizes))) ** 2)
    bn, _, ci_n = _ols_slope(sizes, np.log(npg))
    uniform = "n/a (a run did not reach the target)"
    if np.all(np.isfinite(pg_u)):
        bu, cu, _ = _ols_slope(sizes, np.log(pg_u))
        pu, pc, _ = _ols_slope(np.log(sizes), np.log(pg_u))
        rss_u = (np.sum((np.log(pg_u) - (cu + bu * sizes)) ** 2), np.sum((np.log(pg_u) - (pc + pu * np.log(sizes))) ** 2))
        uniform = (f"growth x{np.exp(bu):.3f}/state, power-law exponent {pu:.2f}, RSS exp {rss_u[0]:.3g} vs power "
                   f"{rss_u[1]:.3g}")
    verdict = combine(slope_in_band(ci, 0.0, np.inf, what="log T_PG vs S slope"), holds_if(res_exp < res_pow),
                      holds_if(ci_n[1] < ci[0]))
    extra = ""
    if not budget.quick:
        # One size beyond the fit: at S = 12 the plateau outlasts 5e5 iterations (3e6 in a separate run;
        # reported, not fitted).
        t12 = _iters_to(envs.hard_chain(12), "softmax_pg", 0.1, 0.1, 500_000)
        extra = f"; S=12: PG {'> 5e5' if not np.isfinite(t12) else int(t12)} iterations"
    fig, ax = new_figure()
    ax.semilogy(sizes, pg, "o-", label=f"softmax PG (growth x{np.exp(b):.2f}/state)")
    ax.semilogy(sizes, pg_u, "^:", label="softmax PG, uniform rho (reported)")
    ax.semilogy(sizes, npg, "s-", label="NPG")
    ax.semilogy(sizes, np.exp(c0 + b * sizes), "k--", lw=1, label="exponential fit")
    ax.set_xlabel("number of states S")
    ax.set_ylabel("iterations to relative gap 0.1")
    ax.legend(fontsize=7)
    return Verdict(predicted="log-linear slope > 0 (PG), NPG slower growth", measured=b, ci=ci,
                   verdict=verdict, rule="PG log-linear slope CI > 0; exponential fits better than power law "
                   "(RSS); NPG slope CI entirely below PG's",
                   details=f"PG growth factor {np.exp(b):.3f}/state, RSS exp {res_exp:.3g} vs power {res_pow:.3g}; "
                   f"NPG slope {bn:.3g} CI [{ci_n[0]:.3g}, {ci_n[1]:.3g}]; T_PG = {pg.astype(int).tolist()}, "
                   f"T_NPG = {npg.astype(int).tolist()}" + extra
                   + f"; reported, not scored -- same chains with the paper's uniform rho: T_PG = "
                   f"{[int(x) if np.isfinite(x) else 'inf' for x in pg_u]} ({uniform})",
                   data={"S": sizes, "pg_iters": pg, "npg_iters": npg, "pg_iters_uniform_rho": pg_u}, figure=fig)


# ---------------------------------------------------------------------------------------
@claim(
    id="npg-sublinear-bound",
    paper="On the theory of policy gradient methods: optimality, approximation, and distribution shift",
    topic=TOPIC,
    statement="Softmax NPG pi_{t+1} ∝ pi_t exp(eta A^t/(1-gamma)) from the uniform policy satisfies "
    "V*(rho) - V^{(T)}(rho) <= log|A|/(eta T) + 1/((1-gamma)^2 T) for every T and every eta > 0.",
    bound="log(n_A)/(eta*T) + 1/((1-gamma)**2*T)",
    assumptions=("rewards in [0, 1]", "theta_0 = 0"),
    instance="Garnet(S in 4..10, A in 2..5, b=3), gamma in {0.8, 0.9, 0.95}, eta in {0.1, 1, 10}; "
    "4 MDPs (quick) / 20 (full), T <= 300",
    priority="A",
    expected="holds",
    controls={"no-1/(1-gamma)": "NPG without its 1/(1-gamma) factor (the library's NPG run at eta (1-gamma))"},
)
def npg_sublinear_bound(budget, rng, control=None):
    """Agarwal, Kakade, Lee, Mahajan (2021), Theorem 16 (normalization: the update above, rewards
    in [0, 1]). (a) Checked at every T >= 1: the number of (instance, eta, T) with gap > bound + 1e-12;
    tightness max gap/bound is reported (~0.1: the bound alone cannot see a missing 1/(1-gamma)).

    (b) Sharpness of the implementation (our derivation): once pi_t is near pi*, A^{pi_t} -> A*, so the
    logit of every suboptimal pair falls by eta Delta(s,a)/(1-gamma) per step relative to the optimal
    action and V* - V^t decays linearly with log-slope -kappa, kappa = eta min_{s,a} Delta(s,a)/(1-gamma)
    (Delta = -A*, over suboptimal pairs). Checked two-sided at eta = 1 on every instance whose late
    window has >= 5 points: the fitted slope CI inside [-1.1 kappa, -0.9 kappa].
    Catalogue correction: the catalogue checks only the bound; the linear-rate part is added because the
    bound has 10x slack (NPG without its 1/(1-gamma) factor passed it with gap/bound 0.54).
    """
    step_factor = (lambda g: 1 - g) if control == "no-1/(1-gamma)" else (lambda g: 1.0)
    worst = 0.0
    viol = 0
    curves = []
    rate_parts, rate_rows = [], []
    for _ in range(budget.pick(4, 20)):
        S, A = int(rng.integers(4, 11)), int(rng.integers(2, 6))
        g = float(rng.choice([0.8, 0.9, 0.95]))
        mdp = envs.garnet(S, A, 3, gamma=g, seed=rng)
        sol = solve(mdp)
        vs = float(sol.v @ mdp.rho)
        adv = sol.q - sol.v[:, None]
        delta_min = float(np.min(-adv[adv < -1e-12]))
        for eta in (0.1, 1.0, 10.0):
            vals = _run(mdp, "npg", 300, eta * step_factor(g)).value
            T = np.arange(1, len(vals))
            gap = vs - vals[1:]
            bnd = np.log(A) / (eta * T) + 1 / ((1 - g) ** 2 * T)
            viol += int(np.sum(gap > bnd + 1e-12))
            worst = max(worst, float(np.max(gap / bnd)))
            curves.append((T, gap, bnd))
            if eta == 1.0:
                kappa = eta * delta_min / (1 - g)
                fit = fit_exponential(T, gap, scale=vs)
                if fit is not None:
                    rate_parts.append(slope_in_band(fit, -1.1 * kappa, -0.9 * kappa, what="log-gap slope"))
                    rate_rows.append((-kappa, fit.slope))
    r_bound = Rule(holds_if(viol == 0), "gap_T <= log|A|/(eta T) + 1/((1-gamma)^2 T) at every T", tightness=worst)
    r_rate = combine(*rate_parts) if len(rate_parts) >= 2 else "inconclusive"
    T, gap, bnd = curves[1]
    fig = rate_figure(T, np.maximum(gap, 1e-300), bound=bnd, title="NPG vs Agarwal et al. bound (eta=1)"
                      + (f" [control {control}]" if control else ""))
    return Verdict(predicted=0, measured=viol, verdict=combine(r_bound, r_rate),
                   rule="gap_T <= bound_T at every T (all instances, eta); at eta = 1 the late log-gap slope CI "
                   "inside [-1.1, -0.9] x eta Delta_min/(1-gamma)", tightness=worst,
                   details=f"violations over all T: {viol}; max gap/bound = {worst:.3g}; eta = 1 linear rate "
                   "(predicted, fitted): " + ", ".join(f"({p:.4f}, {m:.4f})" for p, m in rate_rows)
                   + f" [{r_rate}]",
                   data={"T": T, "gap": gap, "bound": bnd, "rate_pred_fit": np.array(rate_rows)}, figure=fig)


# ---------------------------------------------------------------------------------------
@claim(
    id="entropy-npg-linear",
    paper="Fast global convergence of natural policy gradient methods with entropy regularization",
    topic=TOPIC,
    statement="Entropy-regularized NPG with 0 < eta <= (1-gamma)/tau satisfies ||Q*_tau - Q_tau^{(t+1)}||_inf "
    "<= C1 gamma (1 - eta tau)^t, C1 = ||Q*_tau - Q_tau^{(0)}||_inf + 2 tau (1 - eta tau/(1-gamma)) "
    "||log pi*_tau - log pi^{(0)}||_inf: linear convergence at rate 1 - eta tau.",
    bound="C1*gamma*(1-eta*tau)**t",
    assumptions=("tabular softmax", "exact soft Q", "0 < eta <= (1-gamma)/tau"),
    instance="Garnet(S=8, A=3, b=3), gamma=0.9, tau=0.1, eta in {0.1, 0.3, 1.0} x (1-gamma)/tau",
    priority="A",
    expected="holds",
    controls={"no-1/(1-gamma)": "entropy-regularized NPG without its 1/(1-gamma) factor (the library's method "
              "run at eta (1-gamma))",
              "half-temperature": "the entropy bonus computed with tau/2 (the library's method run with tau/2, "
              "judged against the tau-regularized optimum)"},
)
def entropy_npg_linear(budget, rng, control=None):
    """Cen, Cheng, Chen, Wei, Chi (2021), Theorem 1. The regularized optimum comes from soft value
    iteration certified to 1e-13 (:func:`mdpgrad.regularized.soft_optimum`). Checks: the bound at
    every t (tolerance 1e-10 for the optimum's certified error; tightness max error/bound reported)
    and the fitted log-linear slope CI <= log(1 - eta tau) (one-sided: the rate is an upper bound and
    soft policy iteration, eta = (1-gamma)/tau, converges faster). Q_tau^t is computed here from the
    recorded policies at the claim's tau (so a method run at another temperature is judged against
    the right optimum).

    Sharpness (our derivation, checked two-sided for eta < (1-gamma)/tau): the update is
    log pi_{t+1} = (1 - eta tau/(1-gamma)) log pi_t + eta Q_tau^t/(1-gamma) + const, and near the optimum
    Q_tau^t - Q*_tau = gamma P (V_tau^t - V*_tau) is second order in the policy error (the regularized
    value is stationary at its maximizer), so the policy error contracts by 1 - eta tau/(1-gamma) per
    step and ||Q*_tau - Q_tau^t|| by its square: the fitted slope must lie within 10% of
    2 log(1 - eta tau/(1-gamma)). Cen et al.'s rate 1 - eta tau is an upper bound, 10-20x slower here.
    """
    run_tau = tau_c = 0.1
    if control == "half-temperature":
        run_tau = tau_c / 2
    step_factor = (1 - 0.9) if control == "no-1/(1-gamma)" else 1.0
    g, tau = 0.9, 0.1
    mdp = envs.garnet(8, 3, 3, gamma=g, seed=rng)
    soft = soft_optimum(mdp, tau, tol=1e-13)
    verdicts, rows = [], []
    n = budget.pick(80, 400)
    fig, ax = new_figure()
    tight = 0.0
    for k, frac in enumerate((0.1, 0.3, 1.0)):
        eta = frac * (1 - g) / tau
        res = optimize(mdp, "entropy_npg", n_iter=n, step_size=eta * step_factor, tau=run_tau,
                       record=("policy",), v_star=0.0)
        err = np.array([np.max(np.abs(soft.q - exact_quantities(mdp, p, tau_c).q)) for p in res.policies])
        c1 = err[0] + 2 * tau * (1 - eta * tau / (1 - g)) * np.max(np.abs(np.log(soft.policy) - np.log(1 / 3)))
        t = np.arange(len(err))
        bound = c1 * g * (1 - eta * tau) ** np.maximum(t - 1, 0)
        ok = bool(np.all(err[1:] <= bound[1:] + 1e-10))
        tight = max(tight, float(np.max(err[1:] / bound[1:])))
        # Window scale (documented keyword, with reason): the round-off floor of Q_tau^pi from a linear
        # solve is ~ eps * cond(I - gamma P_pi) * ||Q||_inf with cond <= (1+gamma)/(1-gamma), so the
        # floor is set relative to ||Q*_tau||_inf (1+gamma)/(1-gamma), not to the first error value.
        fit = fit_exponential(t, err, scale=float(np.max(np.abs(soft.q))) * (1 + g) / (1 - g))
        v = slope_in_band(fit, -np.inf, np.log(1 - eta * tau), what="log-error slope")
        if frac < 1:
            # tight local rate (derivation in the docstring): slope -> 2 log(1 - eta tau/(1-gamma))
            sharp = 2 * np.log(1 - eta * tau / (1 - g))
            v = combine(v, slope_in_band(fit, 1.1 * sharp, 0.9 * sharp, what="log-error slope"))
        if fit is None and err[-1] <= 1e-10:
            # Reached the round-off floor in fewer than 2 * min_points iterations (soft policy iteration
            # converges locally quadratically): faster than the one-sided rate, nothing left to fit.
            v = "holds"
        verdicts += [holds_if(ok), v]
        rows.append((eta, None if fit is None else fit.slope, np.log(1 - eta * tau), ok))
        ax.semilogy(t, np.where(err > 0, err, np.nan), color=f"C{k}", label=f"eta={eta:.2f}")
        ax.semilogy(t, bound, "--", color=f"C{k}", lw=1)
    ax.set_xlabel("t")
    ax.set_ylabel("||Q*_tau - Q_tau^t||_inf")
    ax.set_title("entropy-regularized NPG (dashed: Cen et al. bound)", fontsize=9)
    ax.legend(fontsize=7)
    det = "; ".join(f"eta={e:.2f}: slope {'(floor reached)' if s is None else f'{s:.4g}'} vs log(1-eta tau)="
                    f"{p:.4g}, bound ok={o}" for e, s, p, o in rows)
    first = rows[0]
    return Verdict(predicted=first[2], measured=first[1], verdict=combine(*verdicts), details=det,
                   rule="||Q*_tau - Q_tau^t|| <= C1 gamma (1-eta tau)^(t-1) at every t; log-error slope CI <= "
                   "log(1 - eta tau) (each eta) and within 10% of 2 log(1 - eta tau/(1-gamma)) (eta < (1-gamma)/tau)", tightness=tight,
                   data={"rows": np.array([[r[0], np.nan if r[1] is None else r[1], r[2]] for r in rows])},
                   figure=fig)


# ---------------------------------------------------------------------------------------
@claim(
    id="pmd-linear-increasing-steps",
    paper="On the convergence rates of policy gradient methods",
    topic=TOPIC,
    statement="Policy mirror descent with geometrically increasing steps eta_k = eta_0/gamma^k converges "
    "linearly, ||V* - V^{pi_k}||_inf = O(gamma^k), for KL and Euclidean Bregman divergences; with a constant "
    "step, V*(rho) - V^k(rho) <= (E_{d*} D(pi*, pi_0)/eta + 1/(1-gamma))/((1-gamma) k).",
    bound="gamma**k",
    assumptions=("exact Q", "eta_{k+1} >= eta_k/gamma"),
    instance="Garnet(S=10, A=4, b=3), gamma=0.9, eta_0 = 0.01 (KL) / 0.001 (Euclidean), 200 iterations",
    priority="A",
    notes="Xiao (2022), 'On the convergence rates of policy gradient methods', Theorem 10 and Lan (2022), "
    "'Policy mirror descent for reinforcement learning'. Checked one-sided: fitted log sup-norm gap slope "
    "<= log gamma (geometric steps) and the explicit O(1/k) bound at every k (constant steps; a log-log "
    "slope is not used there because 300 iterations at eta=0.01 are still in the transient).",
    expected="holds",
    controls={"steps-not-increasing": "the geometric schedule that never increases its step (the library's PMD "
              "run with schedule='constant' where 'geometric' is claimed)"},
)
def pmd_linear_increasing_steps(budget, rng, control=None):
    """Sup-norm gap ``max_s V*(s) - V^{pi_k}(s)`` from exact evaluation. Superlinear (finite)
    convergence at large steps is consistent with the one-sided claim; exact zeros are removed by
    the rate window rule (non-positive values)."""
    g = 0.9
    mdp = envs.garnet(10, 4, 3, gamma=g, seed=rng)
    vstar = solve(mdp).v
    n = budget.pick(120, 300)
    verdicts, det, series = [], [], {}
    tight = 0.0
    for breg, eta0 in (("kl", 0.01), ("euclidean", 0.001)):
        for sched in ("geometric", "constant"):
            run_sched = "constant" if control == "steps-not-increasing" else sched
            res = optimize(mdp, "pmd", n_iter=n, step_size=eta0, bregman=breg, schedule=run_sched,
                           record=("policy",), v_star=0.0)
            gaps = np.array([np.max(vstar - evaluate(mdp, p, check=False).v) for p in res.policies])
            t = np.arange(len(gaps))
            if sched == "geometric":
                # Window scale with reason: round-off of V^pi is ~ eps ||V||_inf (1+gamma)/(1-gamma).
                fit = fit_exponential(t, gaps, scale=float(np.max(np.abs(vstar))) * (1 + g) / (1 - g))
                v = slope_in_band(fit, -np.inf, np.log(g), what="log sup-gap slope")
                det.append(f"{breg}/{sched}: slope {None if fit is None else round(fit.slope, 4)} ({v.verdict})")
            else:
                # Constant step: the O(1/k) bound with its constant (Xiao 2022, Thm 8 form; for KL it is
                # Agarwal et al.'s NPG bound with eta' = eta (1 - gamma)):
                # V*(rho) - V^k(rho) <= (E_{s~d*} D(pi*_s, pi0_s) / eta + 1/(1-gamma)) / ((1-gamma) k).
                gap_rho = np.array([vstar @ mdp.rho - evaluate(mdp, p, check=False).value for p in res.policies])
                pi_star = solve(mdp).policy
                d_star = evaluate(mdp, pi_star).occupancy
                pi0 = np.full(mdp.shape, 1 / mdp.n_actions)
                if breg == "kl":
                    D0 = float(d_star @ np.sum(pi_star * np.log(np.where(pi_star > 0, pi_star / pi0, 1)), axis=1))
                else:
                    D0 = float(d_star @ (0.5 * np.sum((pi_star - pi0) ** 2, axis=1)))
                k = np.arange(1, len(gaps))
                bnd = (D0 / eta0 + 1 / (1 - g)) / ((1 - g) * k)
                v = holds_if(np.all(gap_rho[1:] <= bnd + 1e-12))
                tight = max(tight, float(np.max(gap_rho[1:] / bnd)))
                det.append(f"{breg}/{sched}: max gap/bound {np.max(gap_rho[1:] / bnd):.3g} ({v})")
            verdicts.append(v)
            series[f"{breg}_{sched}"] = gaps
    fig, ax = new_figure()
    for k, (name, gaps) in enumerate(series.items()):
        ax.semilogy(np.where(gaps > 0, gaps, np.nan), label=name, color=f"C{k}")
    ax.semilogy(series["kl_geometric"][0] * g ** np.arange(n + 1), "k--", lw=1, label="gamma^k")
    ax.set_xlabel("k")
    ax.set_ylabel("||V* - V^k||_inf")
    ax.legend(fontsize=7)
    return Verdict(predicted=f"slope <= log gamma = {np.log(g):.4f}", measured="; ".join(det),
                   verdict=combine(*verdicts), details="; ".join(det), data=series, figure=fig, tightness=tight,
                   rule="geometric steps: log sup-gap slope CI <= log gamma (KL, Euclidean); constant steps: "
                   "gap_k <= (E_d* D(pi*, pi0)/eta + 1/(1-gamma))/((1-gamma) k) at every k")


# ---------------------------------------------------------------------------------------
@claim(
    id="mdpo-md-step",
    paper="Mirror Descent Policy Optimization",
    topic=TOPIC,
    statement="The exact MDPO step argmax_pi <A^{pi_k}, pi> - (1/eta) KL(pi || pi_k) is pi_k exp(eta A)/Z; "
    "gradient steps on the MDPO surrogate converge to it; exact MD improves J monotonically and converges; "
    "the entropy-regularized variant's fixed point is pi ∝ exp(Q_soft/alpha).",
    bound="0",
    assumptions=("tabular softmax", "exact advantages"),
    instance="Garnet(S=10, A=4, b=3), gamma=0.9, eta=1, alpha=tau=0.1",
    priority="A",
    expected="holds",
    controls={"kl-weight-mismatch": "the MDPO surrogate's KL weight built with another step than the update's "
              "(the library's mdpo_inner called with eta = 2 for a step eta = 1)"},
)
def mdpo_md_step(budget, rng, control=None):
    """(i) TV(m inner steps, closed form) must decrease in m and be < 1e-4 at the largest m;
    (ii) J(pi_{k+1}) >= J(pi_k) - 1e-12 for exact MD, and the gap's log-log slope <= -1;
    (iii) the fixed point of entropy-regularized MD (soft policy iteration, eta = (1-gamma)/tau)
    equals softmax(Q*_soft/tau) to 1e-8 (sup norm over pi)."""
    g, tau = 0.9, 0.1
    mdp = envs.garnet(10, 4, 3, gamma=g, seed=rng)
    pi0 = rng.dirichlet(np.ones(4), size=10)
    ex = exact_quantities(mdp, pi0)
    closed = softmax(np.log(pi0) + 1.0 * ex.adv)
    # Plain gradient ascent on the logits (lr 1): directions of small probability have curvature
    # ~ pi(a)/eta, so convergence is slow where pi_0 is small; 1e4 steps reach < 1e-6 on 8/8 seeds tried.
    ms = budget.pick((10, 100, 1000, 4000), (10, 100, 1000, 10_000, 30_000))
    eta_inner = 2.0 if control == "kl-weight-mismatch" else 1.0
    tvs = [float(np.max(0.5 * np.abs(softmax(mdpo_inner(pi0, ex.adv, ex.d, eta_inner, m, 1.0)) - closed).sum(1)))
           for m in ms]
    ok_i = all(b < a or b < 1e-12 for a, b in zip(tvs, tvs[1:])) and tvs[-1] < 1e-4
    n = budget.pick(100, 1000)
    res = optimize(mdp, "mdpo", n_iter=n, step_size=1.0)
    ok_mono = bool(np.all(np.diff(res.value) >= -1e-12))
    fit = fit_power_law(res.t[1:], res.gap[1:])
    v_rate = slope_in_band(fit, -np.inf, -1.0, what="log-log gap slope")
    soft = soft_optimum(mdp, tau, tol=1e-13)
    res_s = optimize(mdp, "entropy_npg", n_iter=budget.pick(60, 600), step_size=(1 - g) / tau, tau=tau,
                     record=("value",))
    fp_err = float(np.max(np.abs(res_s.policy - soft.policy)))
    ok_iii = fp_err <= 1e-8
    fig = rate_figure(res.t[1:], res.gap[1:], fit=fit, title="exact MDPO / MD step, eta=1", ylabel="V* - V")
    return Verdict(predicted=0.0, measured=fp_err,
                   verdict=combine(holds_if(ok_i), holds_if(ok_mono), v_rate, holds_if(ok_iii)),
                   rule="(i) TV(inner steps, closed form) decreasing in m and < 1e-4; (ii) J monotone and log-log "
                   "gap slope CI <= -1; (iii) soft fixed point = softmax(Q*_soft/tau) to 1e-8",
                   details=f"(i) TV vs m={list(ms)}: {[f'{x:.2e}' for x in tvs]}; (ii) monotone={ok_mono}, slope "
                   f"{None if fit is None else round(fit.slope, 3)} ({v_rate.verdict}); (iii) |pi_fixed - softmax(Q_soft/tau)| "
                   f"= {fp_err:.2e}",
                   data={"m": np.array(ms), "tv": np.array(tvs), "t": res.t, "gap": res.gap}, figure=fig)


# ---------------------------------------------------------------------------------------
def _trpo_M_reference(mdp, pi):
    """max over a fixed grid of the NPG path pi_beta ∝ pi exp(beta A) of M(beta) = L_pi(pi_beta) - C KL_max,
    from the paper's formulas (independent of the library's line search)."""
    ex = exact_quantities(mdp, pi)
    eps = float(np.max(np.abs(ex.adv)))
    if eps == 0:
        return ex.value
    C = 4 * eps * mdp.gamma / (1 - mdp.gamma) ** 2
    best = ex.value
    logpi = np.log(np.maximum(pi, 1e-300))
    for beta in np.geomspace(1e-5, 1e3, 49) / eps:
        p = softmax(logpi + beta * ex.adv)
        kl = np.max(np.sum(pi * (logpi - np.log(np.maximum(p, 1e-300))), axis=1))
        best = max(best, ex.value + float(np.sum(ex.d[:, None] * p * ex.adv)) / (1 - mdp.gamma) - C * kl)
    return best


def _trpo_terms_reference(mdp, pi, pi_new):
    """(J(pi_new), L_pi(pi_new), C, KL_max) of TRPO's Theorem 1 from plain linear algebra (no library
    evaluation): V = (I - gamma P_pi)^{-1} r_pi by a linear solve, A = r + gamma P V - V,
    d = (1 - gamma) (I - gamma P_pi^T)^{-1} rho, C = 4 max|A| gamma / (1 - gamma)^2."""
    g = mdp.gamma
    S = mdp.shape[0]

    def values(p):
        P_p = np.einsum("sa,sat->st", p, mdp.P)
        return P_p, np.linalg.solve(np.eye(S) - g * P_p, np.sum(p * mdp.r, axis=1))

    P_pi, v = values(pi)
    adv = mdp.r + g * mdp.P @ v - v[:, None]
    d = (1 - g) * np.linalg.solve(np.eye(S) - g * P_pi.T, mdp.rho)
    J = float(mdp.rho @ v)
    L = J + float(np.sum(d[:, None] * pi_new * adv)) / (1 - g)
    C = 4 * float(np.max(np.abs(adv))) * g / (1 - g) ** 2
    kl = float(np.max(np.sum(pi * (np.log(pi) - np.log(pi_new)), axis=1)))
    return float(mdp.rho @ values(pi_new)[1]), L, C, kl


@claim(
    id="trpo-monotone",
    paper="Trust Region Policy Optimization",
    topic=TOPIC,
    statement="J(pi') >= L_pi(pi') - C max_s KL(pi(s)||pi'(s)), C = 4 eps gamma/(1-gamma)^2, eps = max|A^pi|; "
    "hence maximizing L - C KL_max gives monotonic improvement.",
    bound="L - 4*epsilon*gamma/(1-gamma)**2*KL",
    assumptions=("exact advantages", "rewards in [0, 1]"),
    instance="Garnet(S in 4..8, A in 2..4, b=3), gamma in {0.8, 0.9}; 150 (quick) / 10^4 (full) random policy "
    "pairs; 3 (quick) / 100 (full) MDPs x 10 (quick) / 15 (full) TRPO iterations",
    priority="A",
    expected="holds",
    controls={"step-does-not-move": "a TRPO step that (almost) never moves: the library's KL-constrained step "
              "with kl_max = 1e-12 in place of the maximization of L - C KL_max"},
)
def trpo_monotone(budget, rng, control=None):
    """Schulman et al. (2015), Theorem 1 with D_TV^2 <= D_KL (the abstract gives no constant; C
    from the paper body). (a) the bound on random pairs (pi' = a random perturbation of pi in logit
    space of random scale); (b) the theoretical procedure (:func:`mdpgrad.algorithms.trpo_step`,
    maximization along the natural-gradient path) is monotone: J_{k+1} >= J_k - 1e-12;
    (c) informational: the practical KL-constrained step (mean KL <= delta, no line search) and
    its fraction of non-monotone steps for delta in {0.01, 0.1, 1}.
    (d) a step must *maximize* M: at every iteration of (b) where pi_k is not optimal (gap > 1e-9), the
    guaranteed improvement M_k(pi_{k+1}) - J_k must be at least 0.9 of the best improvement over a fixed
    49-point grid of the NPG path (paper's formulas, not the library's line search), and positive. A
    step that does not move is "monotone" but has zero guaranteed improvement, and is rejected.
    (e) the library's terms (J', L, C, KL_max) against :func:`_trpo_terms_reference` (plain linear algebra)
    on 30 pairs, to 1e-8 relative: the bound's tightness on random pairs is ~0.002 (reported), so (a) alone
    cannot see a penalty constant 500x too small; (e) sees any error in C.
    Catalogue correction: the catalogue asks only for monotonicity, which a no-op step satisfies."""
    kl_ctl = 1e-12 if control == "step-does-not-move" else None
    viol, worst, terms_err = 0, -np.inf, 0.0
    tight_b = 0.0
    n_pairs = budget.pick(150, 10_000)
    mdps = []
    for _ in range(budget.pick(3, 100)):
        S, A = int(rng.integers(4, 9)), int(rng.integers(2, 5))
        mdps.append(envs.garnet(S, A, 3, gamma=float(rng.choice([0.8, 0.9])), seed=rng))
    for k in range(n_pairs):
        mdp = mdps[k % len(mdps)]
        S, A = mdp.shape
        th = rng.normal(size=(S, A)) * 2
        pi = softmax(th)
        pi2 = softmax(th + rng.normal(size=(S, A)) * 10 ** rng.uniform(-3, 0.5))
        J2, L, C, kl = trpo_surrogate_bound(mdp, pi, pi2)
        if k < 30:  # the library's terms (the constant C included) against plain linear algebra
            ref_terms = _trpo_terms_reference(mdp, pi, pi2)
            terms_err = max(terms_err, max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip((J2, L, C, kl),
                                                                                           ref_terms)))
        slack = J2 - (L - C * kl)
        worst = max(worst, -slack)
        if kl > 1e-12:
            tight_b = max(tight_b, (L - J2) / (C * kl))
        viol += int(slack < -1e-12)
    n_it = budget.pick(10, 15)
    nonmono = 0
    traj = None
    ratios = []
    for j, mdp in enumerate(mdps):
        vstar = float(solve(mdp).v @ mdp.rho)
        res = optimize(mdp, "trpo", n_iter=n_it, record=("value", "policy"), v_star=vstar, kl_max=kl_ctl)
        nonmono += int(np.sum(np.diff(res.value) < -1e-12))
        if traj is None:
            traj = res.value
        if j < budget.pick(3, 20):
            for k in range(n_it):
                if vstar - res.value[k] <= 1e-9:
                    break
                pi_k, pi_next = res.policies[k], res.policies[k + 1]
                _, L, C, kl = trpo_surrogate_bound(mdp, pi_k, pi_next)
                ref = _trpo_M_reference(mdp, pi_k) - res.value[k]
                if ref > 1e-12:
                    ratios.append((L - C * kl - res.value[k]) / ref)
    min_ratio = float(min(ratios)) if ratios else float("nan")
    # The exact procedure over all policies (trpo_exact_step) on a subset; its M must dominate the
    # path-restricted maximum (optimizer consistency) and J must be monotone.
    nonmono_exact = 0
    dominated = 0
    n_exact = budget.pick(1, 10)
    for mdp in mdps[:n_exact]:
        res = optimize(mdp, "trpo", n_iter=budget.pick(1, n_it), exact=True, record=("value", "policy"), v_star=0.0)
        nonmono_exact += int(np.sum(np.diff(res.value) < -1e-12))
        pi = res.policies[0]
        pe, _ = trpo_exact_step(mdp, pi)
        pp, _ = trpo_step(mdp, pi)
        me = trpo_surrogate_bound(mdp, pi, pe)
        mp = trpo_surrogate_bound(mdp, pi, pp)
        dominated += int(me[1] - me[2] * me[3] < mp[1] - mp[2] * mp[3] - 1e-9)
    prac = {}
    for delta in budget.pick((), (0.01, 0.1, 1.0)):
        bad = tot = 0
        for mdp in mdps[:5]:
            res = optimize(mdp, "trpo", n_iter=n_it, kl_max=delta, record=("value",), v_star=0.0)
            bad += int(np.sum(np.diff(res.value) < -1e-12))
            tot += n_it
        prac[delta] = bad / tot
    fig, ax = new_figure()
    ax.plot(traj, "o-", label="theoretical TRPO, J(pi_k)")
    ax.set_xlabel("k")
    ax.set_ylabel("J")
    ax.legend(fontsize=7)
    ok = viol == 0 and nonmono == 0 and nonmono_exact == 0 and dominated == 0
    r_max = at_least(min_ratio, 0.9, what="min_k (M_k(pi_k+1) - J_k)/(max_grid M_k - J_k)")
    r_terms = at_most(terms_err, 1e-8, what="max relative error of the library's (J', L, C, KL_max) vs linear algebra")
    return Verdict(predicted=0, measured=viol + nonmono + nonmono_exact,
                   verdict=combine(holds_if(ok), r_max, r_terms),
                   tightness=float(tight_b),
                   rule="bound J >= L - C KL_max on every pair; J_{k+1} >= J_k - 1e-12; guaranteed improvement of "
                   "each step >= 0.9 x the grid maximum (non-optimal iterates); the library's J', L, C = "
                   "4 eps gamma/(1-gamma)^2 and KL_max equal an independent computation to 1e-8 (30 pairs)",
                   details=f"library bound terms vs linear algebra: max relative error {terms_err:.1e} (<= 1e-8; a "
                   "constant with (1-gamma) in place of (1-gamma)^2 is off by 1/(1-gamma) - 1 >= 25%); "
                   f"bound violations {viol}/{n_pairs} (max shortfall {worst:.2e}); non-monotone steps of the "
                   f"theoretical procedure: NPG-path {nonmono}/{len(mdps) * n_it}, exact over all policies "
                   f"{nonmono_exact} ({n_exact} MDPs; exact M below path M: {dominated}); practical KL-step "
                   "non-monotone fraction "
                   + ", ".join(f"delta={d}: {f:.2f}" for d, f in prac.items())
                   + f"; min guaranteed-improvement ratio to grid max {min_ratio:.3g} over {len(ratios)} steps; "
                   f"tightness max (L - J')/(C KL_max) over pairs {tight_b:.3g} (a penalty constant this much smaller "
                   "would still pass: the worst-case C is loose on these pairs)",
                   data={"J": traj}, figure=fig)


# ---------------------------------------------------------------------------------------
@claim(
    id="dynamic-pg-finite-horizon",
    paper="Beyond Stationarity: Convergence Analysis of Stochastic Softmax Policy Gradient Methods",
    topic=TOPIC,
    statement="In finite-horizon tabular MDPs both simultaneous and dynamic (backward-in-time) exact softmax PG "
    "reach the global optimum; dynamic PG needs fewer gradient steps, increasingly so as H grows.",
    bound="0",
    assumptions=("exact gradients", "rewards in [0, 1]", "theory step sizes"),
    instance="random finite-horizon MDPs S=5, A=3, Dirichlet(0.3) transitions, U[0,1] rewards; H in {2, 3, 4} "
    "(quick) / {2, 4, 6, 8} (full); accuracy eps = 1e-2",
    priority="A",
    expected="holds",
    controls={"dynamic-step-not-rescaled": "dynamic PG whose per-epoch step is not rescaled to the remaining "
              "horizon (it keeps the simultaneous method's 2/(5 H^2))"},
)
def dynamic_pg_finite_horizon(budget, rng, control=None):
    """Steps: simultaneous PG eta = 2/(5 H^2) (the softmax-bandit smoothness 5/2 of Mei et al.,
    Lemma 2, scaled by H^2 for the H-layer objective with returns in [0, H]); dynamic PG epoch h:
    per-state step 2/(5 (H-h)) (returns-to-go in [0, H-h]). Simultaneous stops at
    V*_0(rho) - J <= eps; dynamic stops each epoch at sup-norm gap eps/H, which certifies sup-norm
    eps-optimality (module docstring of :mod:`mdpgrad.finite_horizon`) -- a stricter target, so
    the comparison favours simultaneous PG. Verdict: both reach eps; dynamic <= simultaneous at
    every H; the log-log growth exponent of steps in H is smaller for dynamic PG.
    The abstract gives no numbers; with tuned (huge) steps both methods degenerate to policy
    iteration, so the comparison is at the theory step sizes. Sensitivity (measured separately,
    seed 5, H in {2, 4, 6}): scaling *both* steps by 1, 4, 16 or 64 scales both counts by ~1/k and
    keeps dynamic PG 6-8x cheaper; scaling only the simultaneous step by 64 reverses the ordering,
    so the verdict rests on the two step rules being equally conservative (the simultaneous rule's
    H^2 smoothness scaling is our analogue, not a constant quoted from the paper)."""
    from mdpgrad import FiniteHorizonMDP
    from mdpgrad.finite_horizon import dynamic_pg, simultaneous_pg

    Hs = budget.pick((2, 3, 4), (2, 4, 6, 8))
    eps = 1e-2
    S, A = 5, 3
    sim, dyn, ok_reach = [], [], True
    for H in Hs:
        P = rng.dirichlet(np.full(S, 0.3), size=(H, S, A))
        r = rng.random((H, S, A))
        f = FiniteHorizonMDP(P, r)
        rs = simultaneous_pg(f, 2 / (5 * H * H), 5_000_000, eps=eps)
        if control == "dynamic-step-not-rescaled":
            rd = dynamic_pg(f, 2 / (5 * H * H), eps=eps)
        else:
            rd = dynamic_pg(f, lambda h, H=H: 2 * S / (5 * (H - h)), eps=eps)
        ok_reach &= rs.converged and rd.converged and rd.final_gap <= eps
        sim.append(rs.n_steps)
        dyn.append(rd.n_steps)
    sim, dyn = np.array(sim, float), np.array(dyn, float)
    bs, _, _ = _ols_slope(np.log(Hs), np.log(sim))
    bd, _, _ = _ols_slope(np.log(Hs), np.log(dyn))
    verdict = combine(holds_if(ok_reach), holds_if(np.all(dyn <= sim)), holds_if(bd < bs))
    fig, ax = new_figure()
    ax.loglog(Hs, sim, "o-", label=f"simultaneous (slope {bs:.2f})")
    ax.loglog(Hs, dyn, "s-", label=f"dynamic (slope {bd:.2f})")
    ax.set_xlabel("horizon H")
    ax.set_ylabel(f"gradient steps to eps={eps}")
    ax.legend(fontsize=7)
    return Verdict(predicted="dynamic <= simultaneous; smaller H-exponent", measured=f"{bd:.3g} vs {bs:.3g}",
                   verdict=verdict, rule="both reach eps; dynamic steps <= simultaneous steps at every H; log-log "
                   "H-exponent of dynamic < simultaneous's",
                   details=f"H={list(Hs)}: simultaneous {sim.astype(int).tolist()}, dynamic {dyn.astype(int).tolist()}; "
                   f"all reached eps: {ok_reach}",
                   data={"H": np.array(Hs), "simultaneous": sim, "dynamic": dyn}, figure=fig)


# ---------------------------------------------------------------------------------------
@claim(
    id="rebel-npg",
    paper="REBEL: Reinforcement Learning via Regressing Relative Rewards",
    topic=TOPIC,
    statement="The exact least-squares REBEL step (regressing (1/eta)(log-ratio differences) on reward "
    "differences over a full-support pair distribution) equals the NPG / mirror-descent step pi ∝ pi_t exp(eta r); "
    "iterating it obeys the NPG bound log K/(eta T) + 1/T.",
    bound="log(K)/(eta*T) + 1/T",
    assumptions=("contextual bandit (gamma = 0)", "tabular logits", "full-support pair distribution",
                 "rewards in [0, 1]"),
    instance="contextual bandit, 4 contexts x 6 arms, U[0,1] rewards, random pair weights; eta in {0.5, 2}",
    priority="A",
    expected="holds",
    controls={"eta-dropped": "the REBEL regression target without its 1/eta scaling (the library's rebel_step "
              "called with eta = 1 whatever the step)"},
)
def rebel_npg(budget, rng, control=None):
    """(a) max TV between the least-squares REBEL policy and pi_t exp(eta r)/Z over random logits,
    rewards and pair weights must be < 1e-8; (b) iterating exact REBEL from uniform logits: the
    context-averaged suboptimality obeys Agarwal et al.'s NPG bound with gamma = 0 at every T, and
    the log-log slope is <= -1 (one-sided)."""
    X, K = 4, 6
    worst = 0.0
    for _ in range(budget.pick(20, 200)):
        th = rng.normal(size=(X, K))
        r = rng.random((X, K))
        w = rng.random((K, K)) + 0.05
        eta = float(rng.uniform(0.1, 5))
        new = softmax(rebel_step(th, r, 1.0 if control else eta, pair_weights=w))
        npg = softmax(th + eta * r)
        worst = max(worst, float(np.max(0.5 * np.abs(new - npg).sum(1))))
    r = rng.random((X, K))
    verdicts = [holds_if(worst < 1e-8)]
    T = budget.pick(100, 2000)
    out = {}
    tight = 0.0
    for eta in (0.5, 2.0):
        th = np.zeros((X, K))
        gaps = []
        for _ in range(T + 1):
            gaps.append(float(np.mean(r.max(1) - (softmax(th) * r).sum(1))))
            th = rebel_step(th, r, 1.0 if control else eta)
        gaps = np.array(gaps)
        t = np.arange(1, T + 1)
        bnd = np.log(K) / (eta * t) + 1 / t
        verdicts.append(holds_if(np.all(gaps[1:] <= bnd + 1e-12)))
        tight = max(tight, float(np.max(gaps[1:] / bnd)))
        fit = fit_power_law(t, gaps[1:])
        verdicts.append(slope_in_band(fit, -np.inf, -1.0, what="log-log gap slope"))
        out[eta] = (gaps, bnd, fit)
    gaps, bnd, fit = out[0.5]
    fig = rate_figure(np.arange(1, T + 1), gaps[1:], fit=fit, bound=bnd, title="exact REBEL (eta=0.5)",
                      bound_label="log K/(eta T) + 1/T")
    return Verdict(predicted="TV < 1e-8; gap <= bound", measured=worst, verdict=combine(*verdicts),
                   rule="max TV(REBEL step, pi exp(eta r)/Z) < 1e-8; gap_T <= log K/(eta T) + 1/T at every T and "
                   "log-log slope CI <= -1 (eta in {0.5, 2})", tightness=tight,
                   details=f"max TV(REBEL, NPG) = {worst:.2e}; slopes "
                   + ", ".join(f"eta={e}: {None if f is None else round(f.slope, 3)}" for e, (_, _, f) in out.items()),
                   data={"gap_eta0.5": gaps, "bound": bnd}, figure=fig)


# ---------------------------------------------------------------------------------------
@claim(
    id="polyak-pg",
    paper="Enhancing Policy Gradient with the Polyak Step-Size Adaption",
    topic=TOPIC,
    statement="Softmax PG with the Polyak step eta_t = (J* - J_t)/||grad J||^2 adapts the step without prior "
    "knowledge and converges faster than PG with the theory-justified constant step.",
    bound="0",
    assumptions=("exact gradients", "oracle J* (and an over-estimate for the f*-unknown variant)"),
    instance="Garnet(S=8, A=3, b=3), gamma=0.9; 3 MDPs (quick) / 10 (full); theory step (1-gamma)^3/8, reported "
    "grid {0.1, 0.3, 1, 3, 10, 30, 100}; target gap 1e-3, at most 20000 iterations",
    priority="C",
    expected="holds",
    controls={"target-is-current-value": "the Polyak step with its target f* set to the starting value J_0 instead "
              "of J* (the library's polyak_pg with f_star = J_0: a step that never moves)"},
)
def polyak_pg(budget, rng, control=None):
    """The abstract gives no rates. Scored: on every instance, oracle-Polyak PG reaches gap 1e-3 in fewer
    iterations than softmax PG with the theory-justified constant step (1-gamma)^3/8 (Mei et al.; the
    step one uses "without prior knowledge"), and no run diverges (values stay finite).
    Reported, not scored: the comparison with the best constant of the grid chosen in hindsight.
    It was first scored (strict, then "within 2x") and failed on some seeds: exact tabular softmax PG
    is monotone at every step size (see capo-curvature-monotone) and with eta = 100 behaves like policy
    iteration, sometimes converging in 1 iteration, so a hindsight-tuned huge constant can beat any
    adaptive rule. The f*-unknown variant (f* = J* + 0.1 (J* - J_0), an over-estimate, steps capped at
    1e4) is reported too."""
    grid = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
    rows = []
    ok = True
    for _ in range(budget.pick(2, 10)):
        mdp = envs.garnet(8, 3, 3, gamma=0.9, seed=rng)
        vs = float(solve(mdp).v @ mdp.rho)

        def hit(vals, vs=vs):
            idx = np.nonzero(vs - vals <= 1e-3)[0]
            return int(idx[0]) if idx.size else np.inf

        f_star = float(evaluate(mdp, softmax(np.zeros(mdp.shape))).value) if control else vs
        pol_vals = _run(mdp, "polyak_pg", 20_000, f_star).value
        pol = hit(pol_vals)
        v0 = pol_vals[0]
        # Grid constants only need to run up to twice the Polyak count to report the comparison.
        horizon = int(min(2 * pol, 20_000)) + 1
        best = (min(hit(_run(mdp, "softmax_pg", horizon, eta).value) for eta in grid)
                if np.isfinite(pol) else np.inf)
        theory = hit(_run(mdp, "softmax_pg", 20_000, (1 - 0.9) ** 3 / 8).value)
        est = optimize(mdp, "polyak_pg", n_iter=budget.pick(200, 2000), f_star=vs + 0.1 * (vs - v0), max_step=1e4,
                       record=("value", "gap"), v_star=vs)
        ok &= bool(np.all(np.isfinite(pol_vals))) and pol < theory
        rows.append((pol, best, hit(est.value), theory))
    fig, ax = new_figure()
    x = np.arange(len(rows))
    def bars(vals, cap):  # never-reached targets (inf) are drawn at the cap
        return [min(v, cap) for v in vals]

    ax.bar(x - 0.3, bars([r[0] for r in rows], 20_000), 0.2, label="Polyak (oracle J*)")
    ax.bar(x - 0.1, bars([r[1] for r in rows], 20_000), 0.2, label="best grid constant (hindsight)")
    ax.bar(x + 0.1, bars([r[2] for r in rows], 2000), 0.2, label="Polyak (over-estimated f*)")
    ax.bar(x + 0.3, bars([r[3] for r in rows], 20_000), 0.2, label="theory step (capped at 2e4)")
    ax.set_yscale("log")
    ax.set_xlabel("instance")
    ax.set_ylabel("iterations to gap 1e-3")
    ax.legend(fontsize=7)
    shown = [f"{r[0]} vs {'>2e4' if not np.isfinite(r[3]) else int(r[3])}" for r in rows]
    strict = sum(r[0] <= r[1] for r in rows)
    within2 = sum(r[0] <= 2 * r[1] for r in rows)
    return Verdict(predicted="Polyak < theory-step PG", measured="; ".join(shown),
                   verdict=holds_if(ok), rule="on every instance: oracle-Polyak PG reaches gap 1e-3 in fewer "
                   "iterations than the theory step (1-gamma)^3/8, values finite",
                   details=f"vs hindsight-best grid constant: Polyak <= it on {strict}/{len(rows)}, within 2x on "
                   f"{within2}/{len(rows)} instances; iterations to gap 1e-3 (Polyak oracle, best grid constant -- "
                   "inf: not within twice Polyak's count --, Polyak with over-estimated f*, theory step): " + str(rows),
                   data={"rows": np.array(rows, float)}, figure=fig)


# ---------------------------------------------------------------------------------------
@claim(
    id="capo-curvature-monotone",
    paper="Stabilizing Policy Gradients for Sample-Efficient Reinforcement Learning in LLM Reasoning",
    topic=TOPIC,
    statement="Masking the samples whose curvature-aware (second-order) model predicts an unstable update "
    "reduces the non-monotone steps of aggressive-step policy gradient (the paper: monotonic improvement "
    "under its assumptions).",
    bound="0",
    assumptions=("exact gradients, finite-difference Hessian-vector products", "per-state gradient blocks as "
                 "'samples'", "log-linear softmax policies (shared parameters)"),
    instance="Garnet(S=6, A=3, b=3), gamma=0.9, log-linear policy with d=4 N(0,1) features, theta_0 = 0, "
    "eta in {3, 10}; 10 MDPs (quick) / 30 (full) x 30 iterations",
    priority="B",
    notes="CAPO is an LLM method; its exact analogue here is mdpgrad.algorithms.capo_step. Catalogue "
    "correction: in the *tabular* softmax MDP suggested by the catalogue, exact PG is monotone at every "
    "step size (derivation in capo_step's docstring: the new policy is an exponential tilt of pi by pi*A, "
    "so sum_a pi'(a|s) A(s,a) >= 0 and the performance-difference lemma gives J' >= J), so there is "
    "nothing to mask; the check uses log-linear policies, where shared parameters make aggressive steps "
    "non-monotone. The tabular statement is checked as a sub-claim.",
    expected="holds",
    controls={"masking-disabled": "CAPO whose mask never fires, i.e. the plain log-linear PG step "
              "(policies.policy_gradient) in CAPO's place"},
)
def capo_curvature_monotone(budget, rng, control=None):
    """Verdict: *holds* if (a) tabular exact softmax PG has no decreasing step on 20 random MDPs for
    eta in {1, 10, 100, 1000} (the derivation), and (b) with log-linear policies CAPO's number of
    decreasing steps (J_{t+1} < J_t - 1e-10) is at most half of unmasked PG's at the same eta, summed
    over instances, with PG decreasing at least 5 times (else inconclusive: too few unstable steps to
    tell). Issue 18: the earlier rule (strictly fewer) passed on 0 vs 2 at the quick budget, a margin a
    one-step fluke could erase; 10 MDPs at the quick budget give PG 5-29 decreasing steps and CAPO 1-3
    over six seeds. Strict monotonicity of CAPO (0 decreasing steps) is reported, not required: the
    quadratic model is not exact at aggressive steps and the paper's assumptions are not in the
    abstract."""
    from mdpgrad.policies import policy_gradient, probs

    tab_dec = 0
    n_tab = budget.pick(10, 20)
    for _ in range(n_tab):
        mdp = envs.garnet(5, 3, 3, gamma=0.9, seed=rng)
        th0 = rng.normal(size=(5, 3)) * 3
        for eta in (1.0, 10.0, 100.0, 1000.0):
            vv = _run(mdp, "softmax_pg", 20, eta, theta0=th0).value
            tab_dec += int(np.sum(np.diff(vv) < -1e-10))
    n = 30
    dec_v = dec_c = tot = 0
    masked = []
    trace = None
    for _ in range(budget.pick(10, 30)):
        mdp = envs.garnet(6, 3, 3, gamma=0.9, seed=rng)
        phi = rng.normal(size=(6, 3, 4))
        for eta in (3.0, 10.0):
            th = np.zeros(4)
            vv = []
            for _ in range(n + 1):
                vv.append(evaluate(mdp, probs(th, "loglinear", phi=phi), check=False).value)
                th = th + eta * policy_gradient(mdp, th, "loglinear", phi=phi)
            vv = np.array(vv)
            if control == "masking-disabled":
                c_vals, c_masked = vv, np.zeros(n + 1)
            else:
                rc = optimize(mdp, "capo", n_iter=n, step_size=eta, phi=phi, record=("value", "masked"), v_star=0.0)
                c_vals, c_masked = rc.value, rc.masked
            dec_v += int(np.sum(np.diff(vv) < -1e-10))
            dec_c += int(np.sum(np.diff(c_vals) < -1e-10))
            masked.append(float(np.mean(c_masked[:-1])))
            tot += n
            if trace is None or (np.any(np.diff(vv) < -1e-10) and trace[2] == 0):
                trace = (vv, c_vals, int(np.any(np.diff(vv) < -1e-10)))
    fig, ax = new_figure()
    ax.plot(trace[0], label="log-linear PG (unmasked)")
    ax.plot(trace[1], label="CAPO-masked PG")
    ax.set_xlabel("t")
    ax.set_ylabel("J")
    ax.legend(fontsize=7)
    ok = tab_dec == 0 and 2 * dec_c <= dec_v
    return Verdict(predicted="CAPO decreasing steps <= PG's / 2; tabular PG: 0", measured=f"{dec_c} vs {dec_v}",
                   verdict=holds_if(ok) if dec_v >= 5 else "inconclusive",
                   rule="tabular PG: 0 decreasing steps; log-linear: CAPO's decreasing steps at most half of "
                   "unmasked PG's (inconclusive if PG decreases fewer than 5 times)",
                   details=f"tabular exact softmax PG decreasing steps: {tab_dec}/{16 * n_tab}; log-linear decreasing "
                   f"steps PG {dec_v}/{tot}, CAPO {dec_c}/{tot} (strictly monotone: {dec_c == 0}); mean masked "
                   f"fraction {np.mean(masked):.3f}",
                   data={"pg": trace[0], "capo": trace[1]}, figure=fig)


# ---------------------------------------------------------------------------------------
@claim(
    id="direct-pg-stationarity",
    paper="On the theory of policy gradient methods: optimality, approximation, and distribution shift",
    topic=TOPIC,
    statement="Projected gradient ascent on the direct parametrization with eta = (1-gamma)^3/(2 gamma |A|) has "
    "min_{t<T} ||G_t||^2 <= 2 beta (V*(mu) - V^{(0)}(mu))/T (beta = 2 gamma |A|/(1-gamma)^3) and "
    "min_{t<T} V*(rho) - V^{(t)}(rho) <= 8 sqrt(gamma |S||A|/T) ||d_rho^{pi*}/mu||_inf/(1-gamma)^3.",
    bound="8*sqrt(gamma*n_S*n_A/T)*D/(1-gamma)**3",
    assumptions=("rewards in [0, 1]", "mu = rho uniform"),
    instance="Garnet(S=5, A=3, b=2), gamma=0.9; T <= 1000 (quick) / 20000 (full)",
    priority="A",
    expected="holds",
    controls={"no-1/(1-gamma)": "direct PG without the 1/(1-gamma) factor of its gradient (the library's "
              "direct_pg run at step (1-gamma)/beta)"},
)
def direct_pg_stationarity(budget, rng, control=None):
    """Agarwal et al. (2021), Lemma D.3 (smoothness beta) and Theorem 5 (the gap bound, from gradient
    domination). The stationarity bound is the standard projected-gradient descent lemma with
    eta = 1/beta: V_{t+1} - V_t >= ||G_t||^2/(2 beta) with G_t = (pi_{t+1} - pi_t)/eta (gradient mapping),
    summed over t. Both are checked at every T (one-sided); the bounds are loose (reported tightness),
    so (c) checks that the run is the stated method: the first iterate equals
    Proj_simplex(pi_0 + grad V(pi_0)/beta) with grad V by central finite differences of the exact value
    (independent of the library's gradient; h = 1e-6, tolerance 1e-6 in the policy)."""
    from mdpgrad.policies import project_simplex
    S, A, g = 5, 3, 0.9
    mdp = envs.garnet(S, A, 2, gamma=g, seed=rng)
    sol = solve(mdp)
    vs = float(sol.v @ mdp.rho)
    beta = 2 * g * A / (1 - g) ** 3
    n = budget.pick(1000, 20000)
    step = (1 - g) / beta if control == "no-1/(1-gamma)" else 1 / beta
    res = optimize(mdp, "direct_pg", n_iter=n, step_size=step, record=("value", "gap", "grad_norm", "policy"),
                   v_star=vs)
    pi0 = res.policies[0]
    fd = np.zeros_like(pi0)
    for idx in np.ndindex(pi0.shape):
        e = np.zeros_like(pi0)
        e[idx] = 1e-6
        fd[idx] = (evaluate(mdp, pi0 + e, check=False).value - evaluate(mdp, pi0 - e, check=False).value) / 2e-6
    step_err = float(np.max(np.abs(res.policies[1] - project_simplex(pi0 + fd / beta))))
    T = np.arange(1, n + 1)
    gm2 = np.minimum.accumulate(res.grad_norm[:n] ** 2)
    b_stat = 2 * beta * (vs - res.value[0]) / T
    D = float(np.max(evaluate(mdp, sol.policy).occupancy / mdp.rho))
    mingap = np.minimum.accumulate(res.gap[:n])
    b_gap = 8 * np.sqrt(g * S * A / T) * D / (1 - g) ** 3
    ok1 = bool(np.all(gm2 <= b_stat * (1 + 1e-9)))
    ok2 = bool(np.all(mingap <= b_gap))
    fig = rate_figure(T, gm2, bound=b_stat, title="direct projected PG: min ||G_t||^2",
                      ylabel="min_t ||G_t||^2", bound_label="2 beta (V*-V0)/T")
    return Verdict(predicted="<= 2 beta (V*-V_0)/T", measured=float(gm2[-1]),
                   verdict=combine(holds_if(ok1 and ok2), at_most(step_err, 1e-6, what="first-step error")),
                   rule="min_t ||G_t||^2 <= 2 beta (V*-V_0)/T and min_t gap_t <= 8 sqrt(gamma S A/T) D/(1-gamma)^3 at "
                   "every T; first iterate = Proj(pi_0 + grad_FD V/beta) to 1e-6",
                   tightness=float(max(np.max(gm2 / b_stat), np.max(mingap / b_gap))),
                   details=f"max ratio stationarity/bound {np.max(gm2 / b_stat):.3g}; max ratio gap/bound "
                   f"{np.max(mingap / b_gap):.3g}; final gap {res.gap[-1]:.3e}; first-step error vs finite-difference "
                   f"projected step {step_err:.1e}",
                   data={"T": T, "grad_map_sq": gm2, "bound": b_stat, "min_gap": mingap}, figure=fig)
