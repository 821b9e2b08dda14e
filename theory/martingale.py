"""Continuous-time policy evaluation claims (Jia & Zhou's martingale approach) on the OU toy.

Instance throughout: ``dX = -kappa X dt + sigma dW`` with kappa = 1, sigma = 0.5, running reward
``r(x) = -x^2``, discount rate beta = 0.5, closed form
``V(x) = -x^2/(beta + 2 kappa) - sigma^2/(beta (beta + 2 kappa)) = -0.4 x^2 - 0.2``
(derived in :mod:`mdpgrad.martingale` and re-checked in ``tests/test_martingale.py`` against the
``dt -> 0`` limit of the exact Euler-chain value). Population (infinite-data) estimators at each
mesh are exact (Gauss–Hermite on the Euler chain); sampled estimators are checked against them
within 4 standard errors.
"""

from __future__ import annotations

import numpy as np

from mdpgrad import martingale as mg
from mdpgrad import td
from mdpgrad.claims import Verdict, claim
from mdpgrad.plotting import claim_figure
from mdpgrad.rates import fit_power_law
from mdpgrad.verdicts import at_most, combine, holds_if, slope_in_band, unbiased

PAPER = ("Policy Evaluation and Temporal-Difference Learning in Continuous Time and Space: "
         "A Martingale Approach")
KAPPA, SIGMA, BETA = 1.0, 0.5, 0.5
THETA_TRUE = np.array([-SIGMA**2 / (BETA * (BETA + 2 * KAPPA)), 0.0, -1.0 / (BETA + 2 * KAPPA)])  # 1, x, x^2
MESH = np.geomspace(0.2, 1e-3, 20)
_DISCOUNT = {"discount-0.9": "the method under test uses the discount rate 0.9 beta (the references keep beta)"}


def _beta(control):
    """The discount rate given to the method under test."""
    return BETA if control is None else 0.9 * BETA



def _feat(powers):
    return lambda x: mg.polynomial_features(x, powers)


def _batch_z(estimate_fn, x, r, full, target, n_batches=10):
    """max_i |full_i - target_i| / SE_i with SE from disjoint batches of paths."""
    ests = np.array([estimate_fn(xb, rb) for xb, rb in zip(np.array_split(x, n_batches),
                                                           np.array_split(r, n_batches))])
    se = ests.std(0, ddof=1) / np.sqrt(n_batches)
    return float(np.max(np.abs(full - target) / se)), se


# ---------------------------------------------------------------------------------------------
@claim(
    id="mart-loss-mc",
    paper=PAPER,
    topic="martingale",
    statement="The martingale-loss minimizer is the best mean-square approximation of V within the "
    "features, and minimizing the martingale loss is gradient Monte Carlo.",
    assumptions=("OU process", "misspecified features {1, x^4}", "stationary start"),
    bound="0",
    instance="OU kappa=1, sigma=0.5, beta=0.5, r=-x^2; features {1, x^4}; Euler mesh dt in [1e-3, 0.2]; "
    "sampled check at dt=0.05 with 1000 (quick) / 8000 (full) paths of length T=10 (quick) / 30",
    priority="A",
    expected="holds",
    controls=_DISCOUNT,
    notes="Mean-square sense made precise: the discretized martingale loss sum_k e^{-2 beta t_k} "
    "(G_k - V_theta(X_k))^2 with X_0 stationary has the minimizer of E[(V_dt(X) - phi(X) theta)^2] under "
    "the chain's stationary law (E[G_k | X_k] = V_dt(X_k) and the time weights do not change the state "
    "law), i.e. the L2(mu) projection of the discrete value; as dt -> 0 it tends to the projection of the "
    "closed-form V under N(0, sigma^2/(2 kappa)). Checks: (a) population ML at dt = 1e-3 vs that "
    "projection (rel. 1e-2, the catalogue's tolerance; the measured gap is O(dt)); (b) sampled ML "
    "(least-squares regression on discounted returns = gradient MC's fixed point) vs the population ML "
    "at dt = 0.05 within 4 batch SE per coefficient; (c) contrast: the MSTDE minimizer on the same data "
    "is many SE away.",
)
def mart_loss_mc(budget, rng, control=None):
    """Rule: at_most(rel. gap population ML vs projection, 1e-2); sampled ML vs population ML within the
    Bonferroni-free 4 batch SE per coefficient (2 coefficients, 10 batches; min_detectable = (4 + 0.84) SE
    relative to |theta|); contrast: MSTDE's minimizer > 4 SE away. Horizon T = 10 at quick: e^{-2 beta T}
    ~ 5e-5 of the loss weight lies beyond it, far below the SE."""
    powers = (0, 4)
    f = _feat(powers)
    ml0, _ = mg.ou_continuous_limits(KAPPA, SIGMA, BETA, powers)
    pops = [mg.ou_population(KAPPA, SIGMA, BETA, powers, dt) for dt in MESH]
    err = np.array([np.linalg.norm(p.ml - ml0) for p in pops])
    rel_fine = err[-1] / np.linalg.norm(ml0)
    dt = 0.05
    n_paths = budget.pick(1000, 8000)
    n_steps = int(round(budget.pick(10, 30) / dt))
    x = mg.ou_paths(KAPPA, SIGMA, dt=dt, n_steps=n_steps, n_paths=n_paths, seed=rng)
    r = -(x**2)
    bt = _beta(control)
    est = lambda xb, rb: mg.martingale_loss_fit(xb, rb, f, dt=dt, beta=bt, t_max=4.0)  # noqa: E731
    full = est(x, r)
    target = mg.ou_population(KAPPA, SIGMA, BETA, powers, dt).ml
    z, se = _batch_z(est, x, r, full, target)
    mstde = mg.mstde_fit(x, r, f, dt=dt, beta=BETA)
    z_mstde = float(np.max(np.abs(mstde - target) / se))
    fit = fit_power_law(1.0 / MESH, err)
    v_proj = at_most(rel_fine, 1e-2, what="rel. gap population ML(dt=1e-3) vs projection")
    v_z = at_most(z, 4.0, what="max |z| sampled ML vs population ML")
    verdict = combine(v_proj, v_z, "holds" if z_mstde > 4.0 else "violated")
    md = float(np.max(4.84 * se / np.maximum(np.abs(target), 1e-12)))
    fig, (ax1, ax2) = claim_figure(control, 1, 2, figsize=(8, 3.4))
    ax1.loglog(1 / MESH, err, "o-", ms=3, label="|theta_ML(dt) - proj V|")
    if fit is not None:
        ax1.loglog(1 / MESH, fit.predict(1 / MESH), ":", label=f"fit slope {fit.slope:.3f}")
    ax1.set_xlabel("1/dt")
    ax1.legend(fontsize=7)
    xs = np.linspace(-1.5, 1.5, 200)
    ax2.plot(xs, mg.ou_value(xs, KAPPA, SIGMA, BETA), "k", label="true V")
    ax2.plot(xs, f(xs) @ ml0, "--", label="L2 projection on {1, x^4}")
    ax2.plot(xs, f(xs) @ full, ":", label="sampled ML (gradient MC), dt=0.05")
    ax2.plot(xs, f(xs) @ mstde, "-.", label="MSTDE minimizer")
    ax2.legend(fontsize=6)
    ax2.set_xlabel("x")
    fig.suptitle("Martingale loss = projection of V (OU, misspecified features)", fontsize=9)
    return Verdict(predicted=0.0, measured=float(rel_fine), verdict=verdict, min_detectable=md,
                   rule=f"{v_proj.rule}; {v_z.rule}; MSTDE minimizer > 4 SE away",
                   details=f"rel. gap population ML(dt=1e-3) vs projection {rel_fine:.2e}; mesh slope "
                   f"{fit.slope if fit else float('nan'):.3f}; sampled ML vs population max z = {z:.2f}; "
                   f"MSTDE vs ML max z = {z_mstde:.1f}",
                   figure=None if control else fig,
                   data={"dt": MESH, "err_ml": err, "theta_ml_sampled": full, "theta_proj": ml0})


# ---------------------------------------------------------------------------------------------
@claim(
    id="mart-mstde-qv",
    paper=PAPER,
    topic="martingale",
    statement="Policy evaluation is equivalent to the martingale condition; the mean-square TD error "
    "approximates the quadratic variation of the martingale and its minimizer is biased as dt -> 0.",
    assumptions=("OU process", "features {1, x, x^2} (well specified)"),
    bound="0",
    instance="OU kappa=1, sigma=0.5, beta=0.5, r=-x^2; exact-transition paths for the martingale test "
    "(T=1, dt=1e-2 quick / 2e-3 full, trapezoidal reward integral); Euler mesh dt in [1e-3, 0.2] for MSTDE",
    priority="A",
    expected="holds",
    controls={"discount-0.9": "the martingale increments computed with the discount rate 0.9 beta"},
    notes="Sign convention: the issue's r = -x^2 (the catalogue's +x^2 flips V's sign). Derivation of "
    "the limit [derived]: MSTDE(theta)/dt = E[sigma^2 V_theta'(X)^2] + O(dt) (Ito: the TD error is "
    "dM + O(dt)), so as dt -> 0 the minimizer first kills V_theta' (theta_x = theta_x2 = 0 under the "
    "stationary law) and then fits the O(dt) term E[(r - beta theta_1)^2], giving theta_1 = E[r]/beta = "
    "-sigma^2/(2 kappa beta). Limit bias vector: (-0.25 + 0.2, 0, 0 + 0.4) = (-0.05, 0, 0.4), norm 0.403. "
    "Checks: (i) E[M_T - M_0] = 0 within 4 SE with the true V and > 4 SE with V scaled by 1.1; (ii) the "
    "population MSTDE bias at dt = 1e-3 is within 1% of that limit and its fitted mesh slope is ~0 "
    "(|slope| < 0.05: it does not vanish); (iii) MSTDE(true V)/dt -> E[sigma^2 V'^2] (relative gap "
    "fitted slope <= -1/2 in 1/dt) and the ML/MOC bias -> 0.",
)
def mart_mstde_qv(budget, rng, control=None):
    n_paths = budget.pick(20_000, 40_000)
    dt_fine = budget.pick(1e-2, 2e-3)  # trapezoid error O(dt^2) ~ 1e-5, far below the SE ~ 1e-3
    x = mg.ou_paths(KAPPA, SIGMA, dt=dt_fine, n_steps=int(1 / dt_fine), n_paths=n_paths, seed=rng, exact=True)
    times = np.arange(x.shape[1]) * dt_fine
    reward = lambda y: -(y**2)  # noqa: E731
    V = lambda y: mg.ou_value(y, KAPPA, SIGMA, BETA)  # noqa: E731
    inc = mg.martingale_increments(x, times, V, reward, beta=_beta(control))
    inc_bad = mg.martingale_increments(x, times, lambda y: 1.1 * V(y), reward, beta=BETA)
    z_true = abs(inc.mean()) / (inc.std(ddof=1) / np.sqrt(n_paths))
    z_bad = abs(inc_bad.mean()) / (inc_bad.std(ddof=1) / np.sqrt(n_paths))
    powers = (0, 1, 2)
    pops = [mg.ou_population(KAPPA, SIGMA, BETA, powers, dt) for dt in MESH]
    bias_mstde = np.array([np.linalg.norm(p.mstde - THETA_TRUE) for p in pops])
    bias_ml = np.array([np.linalg.norm(p.ml - THETA_TRUE) for p in pops])
    bias_moc = np.array([np.linalg.norm(p.moc - THETA_TRUE) for p in pops])
    limit = np.array([-SIGMA**2 / (2 * KAPPA * BETA), 0.0, 0.0])
    limit_bias = np.linalg.norm(limit - THETA_TRUE)
    qv_gap = np.array([abs(p.mstde_at_true_over_dt - p.quadratic_variation) / p.quadratic_variation for p in pops])
    fit_bias = fit_power_law(1 / MESH, bias_mstde)
    fit_qv = fit_power_law(1 / MESH, qv_gap)
    v_qv = slope_in_band(fit_qv, hi=-0.5, what="slope of the QV gap in 1/dt")
    ok = (z_true <= 4 and z_bad > 4 and abs(bias_mstde[-1] / limit_bias - 1) <= 1e-2
          and abs(fit_bias.slope) < 0.05 and bias_ml[-1] < 1e-2 * limit_bias and bias_moc[-1] < 1e-2 * limit_bias)
    verdict = combine("holds" if ok else "violated", v_qv)
    se_inc = inc.std(ddof=1) / np.sqrt(n_paths)
    fig, (ax1, ax2) = claim_figure(control, 1, 2, figsize=(8, 3.4))
    ax1.loglog(1 / MESH, bias_mstde, "o-", ms=3, label="MSTDE minimizer")
    ax1.loglog(1 / MESH, bias_ml, "s-", ms=3, label="martingale loss")
    ax1.loglog(1 / MESH, bias_moc, "^-", ms=3, label="MOC (test fn = features)")
    ax1.axhline(limit_bias, color="k", ls="--", lw=1, label=f"derived MSTDE limit bias {limit_bias:.3f}")
    ax1.set_xlabel("1/dt")
    ax1.set_ylabel("|theta(dt) - theta_true|")
    ax1.legend(fontsize=6)
    ax2.loglog(1 / MESH, [p.mstde_at_true_over_dt for p in pops], "o-", ms=3, label="MSTDE(true V)/dt")
    ax2.loglog(1 / MESH, [p.quadratic_variation for p in pops], "k--", label="E[sigma^2 V'(X)^2]")
    ax2.set_xlabel("1/dt")
    ax2.legend(fontsize=7)
    fig.suptitle("MSTDE measures quadratic variation, not the martingale condition", fontsize=9)
    return Verdict(predicted=float(limit_bias), measured=float(bias_mstde[-1]), ci=None, verdict=verdict,
                   rule=f"|z| of E[M_T - M_0] <= 4 (true V) and > 4 (1.1 V); MSTDE bias within 1% of the derived limit, "
                   f"|mesh slope| < 0.05; {v_qv.rule}; ML/MOC bias < 1% of the limit (min_detectable: relative "
                   "error in the scale of V that the martingale test detects)",
                   min_detectable=float(4.84 * se_inc / np.abs(inc_bad.mean())) * 0.1,
                   details=f"martingale test: z(true V) = {z_true:.2f}, z(1.1 V) = {z_bad:.1f}; MSTDE bias at "
                   f"dt=1e-3 {bias_mstde[-1]:.4f} vs derived limit {limit_bias:.4f}, mesh slope "
                   f"{fit_bias.slope:.3f}; QV gap slope {fit_qv.slope:.2f}; ML/MOC bias at dt=1e-3: "
                   f"{bias_ml[-1]:.1e}/{bias_moc[-1]:.1e}",
                   figure=None if control else fig,
                   data={"dt": MESH, "bias_mstde": bias_mstde, "bias_ml": bias_ml, "bias_moc": bias_moc,
                                     "qv_gap": qv_gap})


# ---------------------------------------------------------------------------------------------
@claim(
    id="mart-orth-td-mesh",
    paper=PAPER,
    topic="martingale",
    statement="Martingale orthogonality conditions with test functions recover TD(lambda)/LSTD; the "
    "time-discretized solutions converge to the continuous-time one as the mesh dt -> 0, with a rate.",
    assumptions=("OU process", "Euler data", "polynomial features"),
    bound="dt",
    instance="OU kappa=1, sigma=0.5, beta=0.5, r=-x^2; features {1, x^2} (well specified) and {1, x^4} "
    "(misspecified); 150 (quick) / 4000 paths x 200 steps at dt=0.05 for the LSTD identity",
    priority="B",
    expected="holds",
    controls={"discount-0.9": "the MOC / LSTD solutions under test (sampled moc_fit and the population MOC "
              "on each mesh) use the discount rate 0.9 beta; the continuous-time reference keeps beta"},
    notes="The abstract states no rate; the paper's theorem is not reproduced here. Prediction [derived]: "
    "Euler data have weak order 1, and the population MOC solution is a smooth function of the moments "
    "of (X, X'), so |theta_dt - theta_0| = O(dt). The verdict is one-sided and paper-compatible: the "
    "fitted slope of the error vs 1/dt must be <= -1/2 (at least sqrt(dt) convergence, the weakest rate "
    "one could read into the paper); the details report whether the CI also covers -1. theta_0 is "
    "computed from the continuous-time condition E[phi (beta phi - L phi)^T] theta = E[phi r] with the "
    "generator L, not from a fine mesh. The LSTD identity (1e-8) compares moc_fit (written from the "
    "orthogonality equations) with mdpgrad.td.lstd on the same transitions, for test functions = features "
    "(LSTD(0)) and eligibility traces (LSTD(0.8)).",
)
def mart_orth_td_mesh(budget, rng, control=None):
    dt = 0.05
    x = mg.ou_paths(KAPPA, SIGMA, dt=dt, n_steps=200, n_paths=budget.pick(150, 4000), seed=rng)
    r = -(x**2)
    f2 = _feat((0, 1, 2))
    ident = 0.0
    for lam, test in ((0.0, "features"), (0.8, "traces")):
        a = mg.moc_fit(x, r, f2, dt=dt, beta=_beta(control), test=test, lambda_=lam)
        b = mg.moc_via_lstd(x, r, f2, dt=dt, beta=BETA, lambda_=lam)
        ident = max(ident, float(np.max(np.abs(a - b)) / np.max(np.abs(b))))
    # single-path check with td.lstd's own traces (no path restarts needed)
    phi = f2(x[0])
    th_lstd = td.lstd(phi[:-1], r[0, :-1] * dt, phi[1:], discount_t=np.exp(-BETA * dt), lambda_=0.8)
    th_moc = mg.moc_fit(x[:1], r[:1], f2, dt=dt, beta=BETA, test="traces", lambda_=0.8)
    ident = max(ident, float(np.max(np.abs(th_lstd - th_moc)) / np.max(np.abs(th_lstd))))
    fits, errs = {}, {}
    mesh = MESH[:: budget.pick(2, 1)]  # 10 (quick) / 20 mesh sizes in [1e-3, 0.2]
    for name, powers in (("well-specified {1, x^2}", (0, 2)), ("misspecified {1, x^4}", (0, 4))):
        _, moc0 = mg.ou_continuous_limits(KAPPA, SIGMA, BETA, powers)
        e = np.array([np.linalg.norm(mg.ou_population(KAPPA, SIGMA, _beta(control), powers, h).moc - moc0)
                      for h in mesh])
        errs[name] = e
        fits[name] = fit_power_law(1 / mesh, e)
    verdicts = [slope_in_band(ft, hi=-0.5, what=f"mesh slope, {k}") for k, ft in fits.items()]
    covers_one = all(ft.ci[0] - 0.05 <= -1.0 <= ft.ci[1] + 0.05 for ft in fits.values())
    v_id = at_most(ident, 1e-8, what="MOC vs LSTD max rel. diff")
    verdict = combine(v_id, *verdicts)
    fig, ax = claim_figure(control)
    for name, e in errs.items():
        ax.loglog(1 / mesh, e, "o-", ms=3, label=f"{name}: slope {fits[name].slope:.3f}")
    ax.loglog(1 / mesh, errs["well-specified {1, x^2}"][0] * mesh / mesh[0], "k--", lw=1, label="O(dt)")
    ax.loglog(1 / mesh, errs["well-specified {1, x^2}"][0] * np.sqrt(mesh / mesh[0]), "k:", lw=1,
              label="O(sqrt dt)")
    ax.set_xlabel("1/dt")
    ax.set_ylabel("|theta_MOC(dt) - theta_MOC(0)|")
    ax.set_title("MOC (LSTD) solution vs mesh", fontsize=9)
    ax.legend(fontsize=7)
    slope = fits["well-specified {1, x^2}"]
    return Verdict(predicted="slope <= -0.5 (derived: -1)", measured=slope.slope, ci=slope.ci,
                   verdict=verdict, rule="; ".join([v_id.rule] + [v.rule for v in verdicts]),
                   details=f"MOC vs LSTD identity max rel. diff {ident:.1e}; fitted slopes "
                   + ", ".join(f"{k}: {v.slope:.3f} [{v.ci[0]:.3f}, {v.ci[1]:.3f}]" for k, v in fits.items())
                   + f"; first order (CI within 0.05 of -1): {covers_one}",
                   figure=None if control else fig,
                   data={"dt": mesh, **{f"err_{i}": e for i, e in enumerate(errs.values())}})


# ----------------------------------------------------------------------------- euler-linear-sde-moments
def _euler_moments(x0, c, B, Sig, dt, n_steps):
    """Mean and covariance of the Euler–Maruyama chain X_{k+1} = X_k + (c + B X_k) dt + Sig sqrt(dt) xi
    from a fixed x0, by the exact recursions m' = (I + dt B) m + c dt, S' = (I + dt B) S (I + dt B)^T +
    dt Sig Sig^T (independent of the simulator)."""
    M = np.eye(B.shape[0]) + dt * B
    m, S = np.asarray(x0, dtype=float), np.zeros(B.shape)
    for _ in range(n_steps):
        m, S = M @ m + c * dt, M @ S @ M.T + dt * Sig @ Sig.T
    return m, S


@claim(
    id="euler-linear-sde-moments",
    paper="(standard result: Kloeden & Platen 1992, Numerical Solution of Stochastic Differential Equations: "
    "Euler-Maruyama for linear SDEs)",
    topic="martingale",
    statement="Euler-Maruyama for dX = (c + B X) dt + Sigma dW is the Gaussian chain X' = (I + dt B) X + c dt + "
    "Sigma sqrt(dt) xi: from a fixed x0 its mean and covariance after n steps follow the linear recursions "
    "m' = (I + dt B) m + c dt, S' = (I + dt B) S (I + dt B)^T + dt Sigma Sigma^T.",
    bound="0",
    assumptions=("linear drift, additive noise", "fixed initial state"),
    instance="d = 2, B = [[-1, 0.8], [-0.3, -0.5]] (not symmetric), c = (0.2, -0.1), Sigma = [[0.5, 0], "
    "[0.3, 0.4]], x0 = (1, -1), dt = 0.05, 40 steps; 40,000 (quick) / 400,000 (full) paths",
    priority="B",
    expected="holds",
    controls={"drift-transposed": "the simulator called with B^T (the drift applied as x B instead of B x)",
              "noise-scaled-by-sqrt-dt": "the simulator called with Sigma sqrt(dt) as the diffusion (the per-step "
              "noise passed where the diffusion coefficient is expected)"},
)
def euler_linear_sde_moments(budget, rng, control=None):
    """The library's :func:`mdpgrad.martingale.simulate_linear_sde` (Numba kernel): per path the vector
    (X_n, (X_n - m_n)(X_n - m_n)^T upper triangle), whose mean is exactly (m_n, S_n), against the
    recursions; ``unbiased`` at family level 6.3e-5 over the 5 coordinates. ``min_detectable`` is the
    smallest detectable error relative to each coordinate's size (max over coordinates), <= 0.1."""
    B = np.array([[-1.0, 0.8], [-0.3, -0.5]])
    c = np.array([0.2, -0.1])
    Sig = np.array([[0.5, 0.0], [0.3, 0.4]])
    x0 = np.array([1.0, -1.0])
    dt, n_steps = 0.05, 40
    n = budget.pick(40_000, 400_000)
    m, S = _euler_moments(x0, c, B, Sig, dt, n_steps)
    B_run = B.T if control == "drift-transposed" else B
    Sig_run = Sig * np.sqrt(dt) if control == "noise-scaled-by-sqrt-dt" else Sig
    X = mg.simulate_linear_sde(np.tile(x0, (n, 1)), c, B_run, Sig_run, dt=dt, n_steps=n_steps,
                               record_every=n_steps, seed=rng)[:, -1, :]
    D = X - m
    samples = np.column_stack([X, D[:, 0] ** 2, D[:, 0] * D[:, 1], D[:, 1] ** 2])
    exact = np.array([m[0], m[1], S[0, 0], S[0, 1], S[1, 1]])
    r = unbiased(samples, exact, what="Euler moments (mean, covariance)")
    se = samples.std(0, ddof=1) / np.sqrt(n)
    mde_rel = float(np.max(r.min_detectable / np.max(se) * se / np.abs(exact)))
    fig, ax = claim_figure(control)
    k = np.arange(5)
    ax.errorbar(k, samples.mean(0), yerr=4 * se, fmt="o", label="Monte Carlo (+- 4 SE)")
    ax.plot(k, exact, "kx", label="exact recursion")
    ax.set_xticks(k, ["m1", "m2", "S11", "S12", "S22"])
    ax.legend(fontsize=7)
    return Verdict(predicted=exact, measured=samples.mean(0), verdict=r, min_detectable=mde_rel,
                   details=f"MC means {np.round(samples.mean(0), 4).tolist()} vs exact {np.round(exact, 4).tolist()}; "
                   f"{r.verdict}; smallest detectable error relative to each coordinate (max) {mde_rel:.3f}",
                   data={"exact": exact, "mc": samples.mean(0), "se": se}, figure=None if control else fig)


# ----------------------------------------------------------------------------- moc-stochastic-approx
@claim(
    id="moc-stochastic-approx",
    paper=PAPER,
    topic="martingale",
    statement="The martingale orthogonality conditions with test functions phi(X_k) can be solved online by "
    "stochastic approximation (TD(0)); with a constant step alpha the Polyak-Ruppert average reaches the "
    "MOC (LSTD) solution up to an O(alpha) bias once the transient exp(-alpha lambda_min N) has died out.",
    bound="alpha",
    assumptions=("constant step, Polyak-Ruppert average over the last pass", "path-ordered data"),
    instance="OU kappa = 1, sigma = 0.5, beta = 0.5, r = -x^2, features {1, x, x^2}; 150 paths x 200 steps at "
    "dt = 0.05 (N = 30,000 transitions); alpha in {0.005, 0.0025, 0.00125} with n_passes = 24 x 0.005/alpha "
    "(alpha n_passes lambda_min N >= 14)",
    priority="B",
    expected="holds",
    controls={"passes-not-scaled": "alpha halved with n_passes doubled from 4 (alpha n_passes fixed at 0.02: the "
              "optimization transient, not the O(alpha) bias, dominates)",
              "wrong-discount": "the stochastic solver run with discount rate 0.6 in place of beta = 0.5"},
)
def moc_stochastic_approx(budget, rng, control=None):
    """The library's :func:`mdpgrad.martingale.moc_stochastic` (TD(0) through :func:`mdpgrad.td.td_on_data`)
    against :func:`mdpgrad.martingale.moc_fit` on the same data. Deterministic given the data:
    (a) the log-log slope of the relative error vs alpha over three halvings must lie in [0.8, 1.2] (first
    order in alpha, two-sided); (b) the error at the smallest alpha <= 0.01. The smallest real eigenvalue
    lambda_min of A = mean phi (phi - q phi')^T (about 0.004 here: the slow mode is O(beta dt)) is reported:
    the transient factor per pass is exp(-alpha lambda_min N) = exp(-0.59) at alpha = 0.005, so the
    library's defaults (alpha = 0.005, n_passes = 4) stop at 10% error on this data set (measured 0.109),
    and halving alpha while doubling passes leaves that transient unchanged (0.109 -> 0.091 -> 0.084).
    ``tightness``: none (a rate check)."""
    dt, powers = 0.05, (0, 1, 2)
    x = mg.ou_paths(KAPPA, SIGMA, dt=dt, n_steps=200, n_paths=150, seed=rng)
    r = -(x**2)
    f = _feat(powers)
    ref = mg.moc_fit(x, r, f, dt=dt, beta=BETA)
    beta_sa = 0.6 if control == "wrong-discount" else BETA
    alphas = np.array([0.005, 0.0025, 0.00125])
    passes = [4, 8, 16] if control == "passes-not-scaled" else [24, 48, 96]
    errs = np.array([np.linalg.norm(mg.moc_stochastic(x, r, f, dt=dt, beta=beta_sa, alpha=a, n_passes=p) - ref)
                     / np.linalg.norm(ref) for a, p in zip(alphas, passes)])
    phi = f(x)
    p0, p1 = phi[:, :-1].reshape(-1, 3), phi[:, 1:].reshape(-1, 3)
    lam_min = float(np.min(np.linalg.eigvals(p0.T @ (p0 - np.exp(-BETA * dt) * p1) / len(p0)).real))
    slope = float(np.polyfit(np.log(alphas), np.log(errs), 1)[0])
    v_slope = holds_if(0.8 <= slope <= 1.2)
    v_err = at_most(errs[-1], 1e-2, what="relative error at the smallest alpha")
    fig, ax = claim_figure(control)
    ax.loglog(alphas, errs, "o-", label=f"|theta_SA - theta_MOC| / |theta_MOC|, slope {slope:.2f}")
    ax.loglog(alphas, errs[0] * alphas / alphas[0], "k--", lw=0.8, label="O(alpha)")
    ax.set_xlabel("alpha")
    ax.legend(fontsize=7)
    return Verdict(predicted=1.0, measured=slope, verdict=combine(v_slope, v_err),
                   rule=f"slope of log error vs log alpha in [0.8, 1.2]; {v_err.rule}",
                   details=f"relative errors {np.round(errs, 5).tolist()} at alpha {alphas.tolist()} with n_passes "
                   f"{passes}; slope {slope:.3f}; lambda_min(A) = {lam_min:.4f}, alpha lambda_min N per pass at "
                   f"alpha = 0.005: {0.005 * lam_min * len(p0):.2f}",
                   data={"alpha": alphas, "error": errs}, figure=None if control else fig)
