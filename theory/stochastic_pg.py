"""Stochastic policy-gradient claims: estimator bias and variance, baselines, GAE, PPO's surrogate,
pathwise vs score-function gradients, Hessian estimates, sampling error, and sample complexity.

Every check uses fixed seeds (from the claims engine), states its instance, derives its
tolerances (standard errors with a Bonferroni correction where many coordinates are tested),
and returns a figure with the measured series and the predicted one overlaid.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.stats

from mdpgrad import envs, evaluate, policy_gradient, probs, solve
from mdpgrad import estimators as E
from mdpgrad.algorithms.general_utility import entropy_pseudo_reward, occupancy_entropy_momentum_pg
from mdpgrad.algorithms.mdvi import mdvi
from mdpgrad.claims import Verdict, claim
from mdpgrad.estimators.lq_gaussian import lq_gaussian_gradient_samples, lq_gaussian_value
from mdpgrad.estimators.many_actions import chain_sum_variance, many_actions_samples
from mdpgrad.estimators.newsvendor import hdpo_newsvendor, newsvendor_gradient_samples
from mdpgrad.estimators.ppo import ppo_surrogate_grads, ppo_surrogates
from mdpgrad.estimators.props import props_sampling_counts
from mdpgrad.plotting import new_figure
from mdpgrad.rates import fit_power_law
from mdpgrad.rollouts import sample_trajectories
from mdpgrad.stats import bonferroni_z
from mdpgrad.verdicts import at_least, at_most, combine, holds_if, min_detectable_effect, slope_in_band, unbiased

TOPIC = "stochastic-pg"


def _seed(rng) -> int:
    return int(rng.integers(2**31))


def _z_bonferroni(n_tests: int, family_alpha: float = 1e-3) -> float:
    """Two-sided normal quantile at family level ``family_alpha`` over ``n_tests``, never below 4."""
    return bonferroni_z(n_tests, family_alpha, floor=4.0)


def _sa_transition(mdp, pi):
    """``M[(s,a), (s',a')] = P(s'|s,a) pi(a'|s')``."""
    S, A = mdp.shape
    return (mdp.P[:, :, :, None] * pi[None, None, :, :]).reshape(S * A, S * A)


# ----------------------------------------------------------------------------- npg-igt-harpg-rates
@claim(
    id="npg-igt-harpg-rates",
    paper="Stochastic Policy Gradient Methods: Improved Sample Complexity for Fisher-non-degenerate Policies",
    topic=TOPIC,
    statement="For Fisher-non-degenerate policies, vanilla stochastic PG finds an eps-optimal policy with "
    "O(eps^-3) trajectories, N-PG-IGT with O(eps^-2.5) and (N)-HARPG with O(eps^-2), each sampling at most "
    "two trajectories per iteration.",
    bound="epsilon**(-p)",
    assumptions=("Fisher-non-degenerate policy (F >= mu_F I)", "bounded score and rewards (in expectation)",
                 "relaxed weak gradient domination (compatible function approximation error eps_bias = 0 here)"),
    instance="Gaussian policy a ~ N(theta, I_2) on the concave continuous-action bandit R(a) = -||a - c||^2, "
    "c = (1, -1): F = I (non-degenerate), J* - J(theta) = ||theta - c||^2; theta_0 = 0; replicas averaged",
    notes="Measured quantity: the mean gap E[J* - J(theta_t)] over independent replicas against the number of "
    "trajectories n used; if E gap ~ n^s then samples-to-eps ~ eps^(1/s), so the samples exponent is p = -1/s. "
    "One-sided check (the rates are O(.) upper bounds): the fitted slope's CI must not lie above -1/(p+0.3) "
    "(the catalogue's 0.3 tolerance). Schedules: vanilla SPG alpha_t = 0.1 * 2/(t+2), batch 1; N-PG-IGT "
    "eta_t = (2/(t+2))^(4/5), gamma_t = 2/(t+2); N-HARPG eta_t = 2/(t+2), gamma_t = 2/(t+2) (the papers' "
    "exponents, our constants). The instance is benign (strongly concave J), so every method beats its "
    "worst-case rate and the *improvement* between the exponents is not resolvable here: the measured "
    "exponents are reported, the upper bounds are what pass/fail.",
    priority="A",
    expected="holds",
    controls={"steps-not-decaying": "vanilla SPG whose step schedule does not decay (the library's 'pg' run "
              "with decay=False): its gap stalls at the noise floor"},
)
def npg_igt_harpg_rates(budget, rng, control=None):
    orc = E.GaussianBanditOracle(np.array([1.0, -1.0]), sigma=1.0)
    R = budget.pick(20, 300)
    T = budget.pick(1000, 20000)
    specs = [("pg", 3.0, dict(alpha=0.1, batch=1, decay=control != "steps-not-decaying")), ("igt", 2.5, dict(gamma0=1.0)),
             ("harpg", 2.0, dict(gamma0=1.0))]
    k = np.unique(np.geomspace(1, T, 30).astype(int))
    fig, ax = new_figure()
    verdicts, measured, cis, data = [], {}, {}, {}
    per_iter_ok = True
    for name, p_pred, hp in specs:
        tr = E.run_stochastic(name, orc, np.zeros(2), T, seed=_seed(rng), replicas=R, **hp)
        per_iter_ok &= bool(np.all(np.diff(tr.samples) <= 2))
        n, gap = tr.samples[k], tr.gap[k].mean(axis=1)
        fit = fit_power_law(n, gap)
        v = slope_in_band(fit, -np.inf, -1.0 / (p_pred + 0.3), what=f"{name} gap-vs-samples slope")
        verdicts.append(v)
        p_hat = -1.0 / fit.slope if fit is not None and fit.slope < 0 else np.inf
        measured[name] = p_hat
        cis[name] = (-1.0 / fit.ci[0], -1.0 / fit.ci[1]) if fit is not None and fit.ci[1] < 0 else (np.nan, np.nan)
        data[f"samples_{name}"], data[f"gap_{name}"] = n, gap
        ax.plot(n, gap, label=f"{name}: p = {p_hat:.2f} (predicted <= {p_pred})")
        ax.plot(n, gap[-1] * (n / n[-1]) ** (-1.0 / p_pred), ":", color=ax.lines[-1].get_color(), lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("trajectories")
    ax.set_ylabel("mean J* - J")
    ax.set_title("Gaussian-policy bandit: dotted = predicted worst-case slope -1/p", fontsize=8)
    ax.legend(fontsize=7)
    verdict = combine(*verdicts, holds_if(per_iter_ok))
    order = sorted(measured, key=measured.get)
    details = ("samples exponents p (= -1/slope of mean gap vs trajectories): "
               + ", ".join(f"{m}: {measured[m]:.2f} CI [{cis[m][0]:.2f}, {cis[m][1]:.2f}]" for m in measured)
               + f"; predicted upper bounds 3 / 2.5 / 2 (+0.3). Ordering by measured p: {order}. "
               f"<= 2 trajectories per iteration: {per_iter_ok}. All exponents are far below the worst-case "
               "bounds on this strongly concave instance, so the paper's improvement is not resolved here.")
    return Verdict(predicted={"pg": 3.0, "igt": 2.5, "harpg": 2.0}, measured=measured, verdict=verdict,
                   rule="for each method: slope CI of log mean gap vs log samples <= -1/(p+0.3) (p = 3, 2.5, 2); "
                   "<= 2 trajectories per iteration",
                   ci=cis["harpg"], details=details, data=data, figure=fig)


# ----------------------------------------------------------------------------- gae-lambda
def _gae_expected_gradient(mdp, theta, v_hat, lam):
    r"""Exact expectation of the geometric-horizon GAE policy-gradient estimator with values ``v_hat``.

    With termination discounts (:func:`mdpgrad.estimators.advantages.batch_discounts`),
    :math:`\mathbb{E}[\hat A_t|s_t,a_t] = \bar A_\lambda = (I - \lambda\gamma M)^{-1}\bar\delta`,
    :math:`\bar\delta(s,a) = r + \gamma P\hat v - \hat v(s)`, ``M`` the (s,a)->(s',a') kernel; and
    :math:`\mathbb{E}\sum_{t<L}f(s_t,a_t) = \frac{1}{1-\gamma}\mathbb{E}_{d^\pi}f`, so the softmax
    gradient is :math:`\frac{d(s)}{1-\gamma}\pi(a|s)(\bar A_\lambda(s,a) - \sum_b\pi(b|s)\bar A_\lambda(s,b))`.
    """
    pi = probs(theta)
    S, A = mdp.shape
    ev = evaluate(mdp, pi)
    dbar = (mdp.r + mdp.gamma * mdp.P @ v_hat - v_hat[:, None]).reshape(-1)
    Abar = np.linalg.solve(np.eye(S * A) - lam * mdp.gamma * _sa_transition(mdp, pi), dbar).reshape(S, A)
    return ev.occupancy[:, None] / (1 - mdp.gamma) * pi * (Abar - np.sum(pi * Abar, axis=1, keepdims=True))


def _lambda_return_nstep(r, v, gamma, lam):
    """Independent definition: G^lambda_t = (1-lam) sum_n lam^(n-1) G^(n)_t + lam^(T-t-1) G^(T-t)_t."""
    T = r.shape[0]
    out = np.empty(T)
    for t in range(T):
        def G(n, t=t):
            return sum(gamma**k * r[t + k] for k in range(n)) + gamma**n * v[t + n]
        out[t] = (1 - lam) * sum(lam ** (n - 1) * G(n) for n in range(1, T - t)) + lam ** (T - t - 1) * G(T - t)
    return out


def _enumerated_rollouts_bootstrap(mdp, H):
    """Every (s_0, a_0, ..., s_{H-1}, a_{H-1}, s_H) path as one fixed-horizon
    :class:`~mdpgrad.rollouts.Rollouts` batch (``s_H`` is the bootstrap state GAE reads), and the
    path probabilities under ``rho``, ``P`` and the policy passed to the returned function."""
    import itertools

    from mdpgrad.rollouts import Rollouts

    S, A = mdp.shape
    paths = np.array(list(itertools.product(range(S * A), repeat=H)), dtype=np.int64)
    s, a = np.repeat(paths // A, S, axis=0), np.repeat(paths % A, S, axis=0)
    states = np.concatenate([s, np.tile(np.arange(S), paths.shape[0])[:, None]], axis=1)
    n = states.shape[0]
    ro = Rollouts(states.astype(np.int32), a.astype(np.int32), mdp.r[s, a], np.full(n, H, dtype=np.int64), "fixed",
                  mdp.gamma)

    def path_probs(pi):
        p = mdp.rho[states[:, 0]] * pi[states[:, 0], a[:, 0]]
        for t in range(1, H):
            p = p * mdp.P[states[:, t - 1], a[:, t - 1], states[:, t]] * pi[states[:, t], a[:, t]]
        return p * mdp.P[states[:, H - 1], a[:, H - 1], states[:, H]]

    return ro, path_probs


def _truncated_advantage_gradient(mdp, pi, adv, H):
    r""":math:`\sum_{t<H}\gamma^t\,\mathbb{E}[\nabla\log\pi(a_t|s_t)A(s_t,a_t)]` in closed form: coordinate
    ``(s, b)`` is :math:`\sum_t\gamma^t d_t(s)\pi(b|s)(A(s,b) - \sum_a\pi(a|s)A(s,a))`, ``d_t`` propagated
    forward from ``rho`` (the fixed-horizon gradient with exact advantages)."""
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    d, acc = mdp.rho.copy(), np.zeros(mdp.shape)
    for t in range(H):
        acc += mdp.gamma**t * d[:, None] * pi * (adv - np.sum(pi * adv, axis=1, keepdims=True))
        d = d @ P_pi
    return acc


@claim(
    id="gae-lambda",
    paper="High-Dimensional Continuous Control Using Generalized Advantage Estimation",
    topic=TOPIC,
    statement="GAE(gamma, lambda) = sum_l (gamma lambda)^l delta_{t+l} is the lambda-return minus V; with the "
    "exact V it is unbiased for A^pi for every lambda; with approximate values lambda trades bias (zero at "
    "lambda = 1) for variance.",
    bound="0",
    assumptions=("tabular MDP, softmax policy", "geometric random horizon (termination discounts)"),
    instance="Garnet(6, 3, 3), gamma = 0.9, theta ~ N(0, 1); V_hat = V + N(0, 1) per state; "
    "lambda in {0, 0.5, 0.9, 0.97, 1}",
    notes="(b0) exact enumeration of every fixed-horizon path (Garnet(3, 2, 2), H = 4): with exact V the library's "
    "GAE gradient has mean sum_t gamma^t E[grad log pi A^pi] (closed form) to 1e-8 for every lambda; "
    "(a) identity on sampled paths vs the n-step definition of the lambda-return (1e-10); (b) exact V: "
    "the MC gradient is within z SE of the exact gradient for every lambda (Bonferroni over 5 x 18 "
    "coordinates); (c) the exact expected GAE gradient with V_hat (derived in _gae_expected_gradient and "
    "validated against the MC means) has bias norm non-increasing in lambda and zero at lambda = 1; the MC "
    "total variance at every lambda < 1 is at most that at lambda = 1 (within 3 SE). Catalogue corrections: "
    "the catalogue asks for variance monotone in lambda; that is not implied by the paper and fails here "
    "(with noisy values the TD(0) estimate carries the value noise, so lambda = 0 can have more variance "
    "than lambda = 0.5; reported in details, not pass/fail). lambda = 1 is unbiased for any V only when the random horizon terminates the trajectory "
    "(no bootstrap); with a discounted bootstrap at a random cut, lambda = 1 is biased unless V is exact.",
    priority="A",
    expected="holds",
    controls={"gae-without-gamma": "GAE accumulated with lambda^l instead of (gamma lambda)^l (the library's gae "
              "called with unit discounts), judged against the lambda-return definition",
              "stale-values": "the exact-V part run with the values of the uniform policy instead of V^pi "
              "(a critic that lags the policy)"},
)
def gae_lambda(budget, rng, control=None):
    """(b0) exact enumeration (Garnet(3, 2, 2), H = 4, every path incl. the bootstrap state: 3,888 paths):
    the library's GAE gradient with exact V averaged with the path probabilities equals the closed-form
    fixed-horizon gradient to 1e-8 relative for every lambda, so any bias above 1e-8 (and a 10% error with
    certainty) is detected; that is ``min_detectable``. (b) is the Monte Carlo counterpart on the geometric
    horizon: max |z| at family level 1e-3 over 5 x 18 coordinates; its smallest detectable coordinate bias
    (about 0.17 at the quick budget, too weak alone) is in the details."""
    mdp = envs.garnet(6, 3, 3, gamma=0.9, seed=_seed(rng))
    theta = rng.normal(size=(6, 3))
    pi = probs(theta)
    ev = evaluate(mdp, pi)
    g = policy_gradient(mdp, theta)
    lams = np.array([0.0, 0.5, 0.9, 0.97, 1.0])
    # (a) identity
    ro = sample_trajectories(mdp, pi, budget.pick(6, 20), horizon="fixed", length=12, seed=_seed(rng))
    ident = 0.0
    for i in range(ro.n):
        r, vs = ro.rewards[i], ev.v[ro.states[i]]
        for lam in (0.0, 0.7, 1.0):
            a = E.gae(r, vs, np.full(12, 1.0 if control == "gae-without-gamma" else mdp.gamma), lam)
            ident = max(ident, float(np.max(np.abs(a - (_lambda_return_nstep(r, vs, mdp.gamma, lam) - vs[:-1])))))
    # (b0) exact enumeration on a fixed horizon: with exact V the bootstrap is exact, so the library's GAE
    # gradient has mean sum_t gamma^t E[grad log pi A^pi] for every lambda (closed form, independent)
    mdp_e = envs.garnet(3, 2, 2, gamma=0.9, seed=_seed(rng), rho=rng.dirichlet(np.ones(3)))
    theta_e = rng.normal(size=(3, 2))
    pi_e = probs(theta_e)
    ev_e = evaluate(mdp_e, pi_e)
    adv_e = mdp_e.r + mdp_e.gamma * mdp_e.P @ ev_e.v - ev_e.v[:, None]
    H_e = 4
    ro_e, path_probs = _enumerated_rollouts_bootstrap(mdp_e, H_e)
    w_e = path_probs(pi_e)
    ref_e = _truncated_advantage_gradient(mdp_e, pi_e, adv_e, H_e)
    v_e = evaluate(mdp_e, np.full(pi_e.shape, 0.5)).v if control == "stale-values" else ev_e.v
    enum_err = max(float(np.max(np.abs(np.tensordot(w_e, E.per_trajectory_gradients(
        ro_e, theta_e, estimator="gae", values=v_e, lambda_=lam), axes=1) - ref_e))) for lam in lams)
    enum_rel = enum_err / float(np.max(np.abs(ref_e)))
    # (a') the batch kernel the estimators use, on fixed-horizon paths with approximate values, against the
    # n-step definition (exact V hides a wrong weighting of future TD errors: they have mean 0)
    from mdpgrad.estimators.advantages import gae_batch

    v_noisy = ev_e.v + rng.normal(size=3)
    rows = rng.choice(ro_e.n, size=24, replace=False)
    for lam in (0.0, 0.7, 1.0):
        adv_b = gae_batch(ro_e, v_noisy, lam)
        for i in rows:
            vs = v_noisy[ro_e.states[i]]
            ident = max(ident, float(np.max(np.abs(adv_b[i] - (_lambda_return_nstep(ro_e.rewards[i], vs, mdp_e.gamma,
                                                                                      lam) - vs[:-1])))))
    r_enum = at_most(enum_rel, 1e-8, what="max relative error of the enumerated GAE mean (exact V, every lambda)")
    # (b) + (c) on one batch (common random numbers across lambda)
    n = budget.pick(8_000, 200_000)
    ro = sample_trajectories(mdp, pi, n, seed=_seed(rng))
    v_hat = ev.v + rng.normal(size=6)
    z = _z_bonferroni(2 * lams.size * g.size)
    worst_b, worst_c = 0.0, 0.0
    bias_exact, var_mc, var_se = [], [], []
    v_b = evaluate(mdp, np.full(pi.shape, 1 / 3)).v if control == "stale-values" else ev.v
    mde = 0.0
    for lam in lams:
        est = E.estimate_gradient(ro, theta, estimator="gae", values=v_b, lambda_=lam)
        mde = max(mde, min_detectable_effect(est.se, 2 * lams.size * g.size, 1e-3))
        worst_b = max(worst_b, float(np.max(np.abs(est.mean - g) / np.maximum(est.se, 1e-300))))
        samples = E.per_trajectory_gradients(ro, theta, estimator="gae", values=v_hat, lambda_=lam).reshape(n, -1)
        mean_hat = samples.mean(0)
        se = samples.std(0, ddof=1) / np.sqrt(n)
        expected = _gae_expected_gradient(mdp, theta, v_hat, lam).reshape(-1)
        worst_c = max(worst_c, float(np.max(np.abs(mean_hat - expected) / np.maximum(se, 1e-300))))
        bias_exact.append(float(np.linalg.norm(expected - g.reshape(-1))))
        tot = np.sum((samples - mean_hat) ** 2, axis=1)
        var_mc.append(float(tot.mean()))
        var_se.append(float(tot.std() / np.sqrt(n)))
    bias_exact, var_mc, var_se = map(np.asarray, (bias_exact, var_mc, var_se))
    ok_a = ident <= 1e-10
    ok_b = worst_b <= z
    ok_c = worst_c <= z and bias_exact[-1] <= 1e-10 * max(1.0, np.linalg.norm(g)) and bool(
        np.all(np.diff(bias_exact) <= 1e-12))
    # the paper's trade-off: value functions reduce variance relative to the MC estimate (lambda = 1)
    ok_var = bool(np.all(var_mc[:-1] <= var_mc[-1] + 3 * np.hypot(var_se[:-1], var_se[-1])))
    monotone = bool(np.all(np.diff(var_mc) >= -3 * np.hypot(var_se[1:], var_se[:-1])))
    fig, ax = new_figure()
    ax.plot(lams, bias_exact, "o-", label="||E g_hat - grad J|| (exact, V_hat)")
    ax2 = ax.twinx()
    ax2.errorbar(lams, var_mc, yerr=2 * var_se, fmt="s--", color="C1", label="total variance (MC)")
    ax.set_xlabel("lambda")
    ax.set_ylabel("bias norm")
    ax2.set_ylabel("variance")
    ax.set_title("GAE with noisy values: bias falls to 0 at lambda = 1, variance rises", fontsize=8)
    ax.legend(fontsize=7, loc="upper center")
    ax2.legend(fontsize=7, loc="center right")
    verdict = combine(r_enum, holds_if(ok_a), holds_if(ok_b), holds_if(ok_c), holds_if(ok_var))
    details = (f"(b0) enumeration over {ro_e.n} fixed-horizon paths (H = {H_e}), exact V: max relative error of the "
               f"library's GAE mean {enum_rel:.1e} (<= 1e-8; detects any bias above 1e-8 of max |grad|); "
               f"(b) Monte Carlo: smallest detectable coordinate bias {mde:.3g} vs max |grad J| {np.max(np.abs(g)):.3g}; "
               f"(a) identity (scalar gae on sampled paths, batch kernel on 24 enumerated paths with noisy values) max error {ident:.2e} (<= 1e-10); (b) exact V: max |mean - grad|/SE = {worst_b:.2f} "
               f"(<= {z:.2f}); (c) MC vs exact expected GAE gradient with V_hat: max {worst_c:.2f} SE; bias "
               f"norms {np.round(bias_exact, 4).tolist()}; variances {np.round(var_mc, 3).tolist()} "
               f"(every lambda < 1 below lambda = 1 within 3 SE: {ok_var}; monotone in lambda within 3 SE: {monotone})")
    return Verdict(predicted="bias decreasing to 0 at lambda=1, variance increasing",
                   min_detectable=1e-8 * float(np.max(np.abs(ref_e))), tightness=None,
                   rule=f"(b0) enumerated GAE mean = exact fixed-horizon gradient to 1e-8 relative for every lambda; (a) GAE = lambda-return - V to 1e-10; (b) max |z| <= {z:.2f} (family 1e-3); (c) MC vs exact "
                   "expected GAE gradient <= z, bias norm non-increasing in lambda, 0 at lambda = 1; variance at "
                   "lambda < 1 <= variance at lambda = 1 (+3 SE)", measured={
        "identity_error": ident, "bias_norm": bias_exact.tolist(), "variance": var_mc.tolist()}, verdict=verdict,
        details=details, data={"lambda": lams, "bias_norm": bias_exact, "variance": var_mc, "variance_se": var_se},
        figure=fig)


# ----------------------------------------------------------------------------- oblr-optimal-baseline
@claim(
    id="oblr-optimal-baseline",
    paper="OBLR-PO: A Theoretical Framework for Stable Reinforcement Learning",
    topic=TOPIC,
    statement="REINFORCE with a scalar baseline b is unbiased for every b; its variance is quadratic in b and "
    "minimized by the gradient-weighted baseline b* = E[||grad log pi||^2 R] / E[||grad log pi||^2], which in "
    "general differs from E[R].",
    bound="0",
    assumptions=("softmax K-armed bandit with Bernoulli rewards", "exact enumeration over actions and outcomes"),
    instance="K = 6 arms, theta ~ N(0, 1.5^2), success probabilities ~ U(0, 1)",
    notes="(i) unbiased for b on a grid (1e-12); (ii) closed-form b* vs scipy's numeric argmin of the exact "
    "variance (1e-8), b* != E[R] and Var(b*) <= Var(E[R]); (iii) Monte Carlo total variance at b* within 5% "
    "of the exact expression (the relative SE of a variance estimate is sqrt((m4/s^4 - 1)/n), reported). "
    "Not checked: the SNR-governed learning-rate schedule and the multi-prompt version.",
    priority="A",
    expected="holds",
    controls={"mean-return-baseline": "the 'optimal' baseline taken as the mean return E[R] (the usual "
              "choice the paper corrects), from the library's returns()"},
)
def oblr_optimal_baseline(budget, rng, control=None):
    """(iv) the library's estimator of b* (:func:`mdpgrad.estimators.optimal_constant_baseline`) on the
    sampled batch must be within 0.2 |b* - E[R]| of the closed form (its sampling error is ~1e-3 here),
    so that it is told apart from the mean-return baseline."""
    K = 6
    theta = 1.5 * rng.normal(size=K)
    p = rng.uniform(size=K)
    pi = probs(theta[None, :])[0]
    Z = np.eye(K) - pi[None, :]  # rows: score of each arm
    z2 = np.sum(Z**2, axis=1)
    grad = pi * (p - pi @ p)

    def mean_est(b):
        return np.sum(pi[:, None] * (p - b)[:, None] * Z, axis=0)

    def total_var(b):
        second = np.sum(pi * z2 * (p - 2 * b * p + b**2))  # E[(R-b)^2 | a] for Bernoulli R
        return second - grad @ grad

    unb = max(float(np.max(np.abs(mean_est(b) - grad))) for b in np.linspace(-2, 3, 11))
    b_star = float(np.sum(pi * z2 * p) / np.sum(pi * z2))
    num = scipy.optimize.minimize_scalar(total_var, bracket=(-1, 2), tol=1e-14).x
    ER = float(pi @ p)
    n = budget.pick(100_000, 2_000_000)
    a = rng.choice(K, size=n, p=pi)
    R = (rng.random(n) < p[a]).astype(float)
    samples = (R - b_star)[:, None] * Z[a]
    tot = np.sum((samples - samples.mean(0)) ** 2, axis=1)
    var_mc = float(tot.mean())
    rel_se = float(tot.std() / np.sqrt(n) / var_mc)
    ro = _bandit_rollouts(a, R)
    b_lib = float(ro.returns().mean()) if control == "mean-return-baseline" else E.optimal_constant_baseline(
        ro, theta[None, :])
    ok = (unb <= 1e-12 and abs(num - b_star) <= 1e-8 and abs(b_star - ER) > 1e-6
          and total_var(b_star) <= total_var(ER) and abs(var_mc / total_var(b_star) - 1) <= 0.05)
    r_lib = at_most(abs(b_lib - b_star), 0.2 * abs(b_star - ER), what="|library b* - closed-form b*|")
    bs = np.linspace(min(b_star, ER) - 1, max(b_star, ER) + 1, 200)
    fig, ax = new_figure()
    ax.plot(bs, [total_var(b) for b in bs], label="exact tr Var(b)")
    ax.axvline(b_star, color="C3", ls="--", label=f"b* = {b_star:.3f}")
    ax.axvline(ER, color="k", ls=":", label=f"E[R] = {ER:.3f}")
    ax.plot([b_star], [var_mc], "o", color="C1", label="MC variance at b*")
    ax.set_xlabel("baseline b")
    ax.set_ylabel("total variance")
    ax.legend(fontsize=7)
    details = (f"unbiasedness error {unb:.1e}; b* = {b_star:.6f}, numeric argmin {num:.6f}; E[R] = {ER:.4f}; "
               f"Var(b*) = {total_var(b_star):.4f} <= Var(E[R]) = {total_var(ER):.4f}; MC variance "
               f"{var_mc:.4f} (relative SE {rel_se:.1e})")
    details += f"; library b* estimate {b_lib:.4f} ({r_lib.verdict})"
    return Verdict(predicted=b_star, measured=float(num), verdict=combine(holds_if(ok), r_lib), details=details,
                   rule="(i) unbiased for every b (1e-12); (ii) closed-form b* = numeric argmin (1e-8), b* != E[R], "
                   "Var(b*) <= Var(E[R]); (iii) MC variance at b* within 5%; (iv) library b* estimate within "
                   "0.2 |b* - E[R]| of b*",
                   data={"b": bs, "variance": np.array([total_var(b) for b in bs]), "b_star": b_star, "E_R": ER},
                   figure=fig)


# ----------------------------------------------------------------------------- ppo-clip-surrogate
def _bandit_rollouts(actions, rewards):
    """A batch of one-step trajectories in a one-state problem, as :class:`~mdpgrad.rollouts.Rollouts`."""
    from mdpgrad.rollouts import Rollouts

    n = actions.shape[0]
    return Rollouts(np.zeros((n, 2), dtype=np.int32), actions[:, None].astype(np.int32), rewards[:, None],
                    np.ones(n, dtype=np.int64), "fixed", 0.0)


@claim(
    id="ppo-clip-surrogate",
    paper="Proximal Policy Optimization Algorithms",
    topic=TOPIC,
    statement="At theta_old the gradients of the clipped surrogate L^CLIP and of L^CPI both equal the "
    "policy-gradient estimate; L^CLIP <= L^CPI pointwise (a pessimistic bound); over several epochs of "
    "minibatch reuse the clipped objective keeps the policy ratio near 1 while the unclipped one drifts.",
    bound="0",
    assumptions=("softmax K-armed bandit", "advantages R - mean(R) from a fixed batch", "eps = 0.2"),
    instance="K = 5 arms, Bernoulli rewards, batch 512 from pi_old, 10 epochs of minibatch-64 gradient ascent "
    "(step 2.0), 10 batches",
    notes="(i) analytic grad L^CLIP = grad L^CPI = the library's score-function estimate at theta_old (1e-12) and "
    "= central finite differences (1e-7); (ii) L^CLIP - L^CPI <= 1e-15 at 200 random theta; (iii) after 10 "
    "epochs: J(theta_CLIP) >= J(theta_old) on every batch and the median of max|rho - 1| is smaller with "
    "clipping than without (the control). The abstract gives no numbers; only these orderings are checked.",
    priority="B",
    expected="holds",
    controls={"clip-without-min": "the clipped surrogate without PPO's min(., .) (the clipped term alone), "
              "which is not a pessimistic bound"},
)
def ppo_clip_surrogate(budget, rng, control=None):
    """The library's PPO surrogates (:mod:`mdpgrad.estimators.ppo`); the gradient at theta_old is compared
    with the library's score-function estimate and with finite differences of the surrogate."""
    use_min = control != "clip-without-min"
    K, n, eps = 5, 512, 0.2
    p = rng.uniform(size=K)
    worst_i, worst_fd, worst_ii = 0.0, 0.0, -np.inf
    dev_clip, dev_cpi, improve = [], [], []
    for _ in range(budget.pick(4, 10)):
        th_old = rng.normal(size=K)
        pi_old = probs(th_old[None])[0]
        a = rng.choice(K, size=n, p=pi_old)
        R = (rng.random(n) < p[a]).astype(float)
        adv = R - R.mean()
        g_cpi, g_clip = ppo_surrogate_grads(th_old, th_old, a, adv, eps=eps)
        pg = E.score_sum(_bandit_rollouts(a, R), adv[:, None], th_old[None], backend="numpy").mean(0)[0]
        worst_i = max(worst_i, float(np.max(np.abs(g_cpi - pg))), float(np.max(np.abs(g_clip - pg))))
        h = 1e-6
        fd = np.array([(ppo_surrogates(th_old + h * e, th_old, a, adv, eps=eps)[1]
                        - ppo_surrogates(th_old - h * e, th_old, a, adv, eps=eps)[1]) / (2 * h) for e in np.eye(K)])
        worst_fd = max(worst_fd, float(np.max(np.abs(fd - g_clip))))
        # away from theta_old some samples are clipped: the gradient must drop exactly those (FD again)
        th_far = th_old + rng.normal(scale=1.0, size=K)
        fd_far = np.array([(ppo_surrogates(th_far + h * e, th_old, a, adv, eps=eps, use_min=use_min)[1]
                            - ppo_surrogates(th_far - h * e, th_old, a, adv, eps=eps, use_min=use_min)[1]) / (2 * h)
                           for e in np.eye(K)])
        worst_fd = max(worst_fd, float(np.max(np.abs(fd_far - ppo_surrogate_grads(th_far, th_old, a, adv,
                                                                                  eps=eps)[1]))))
        for _ in range(20):
            th = th_old + rng.normal(scale=1.0, size=K)
            cpi, clip, _ = ppo_surrogates(th, th_old, a, adv, eps=eps, use_min=use_min)
            worst_ii = max(worst_ii, clip - cpi)
        finals = {}
        for kind in ("clip", "cpi"):
            th = th_old.copy()
            for _ in range(10):
                for mb in np.array_split(rng.permutation(n), n // 64):
                    g_c, g_l = ppo_surrogate_grads(th, th_old, a[mb], adv[mb], eps=eps)
                    th = th + 2.0 * (g_l if kind == "clip" else g_c)
            finals[kind] = th
            rho = probs(th[None])[0][a] / pi_old[a]
            (dev_clip if kind == "clip" else dev_cpi).append(float(np.max(np.abs(rho - 1))))
        improve.append(float(probs(finals["clip"][None])[0] @ p - pi_old @ p))
    verdict = combine(at_most(worst_i, 1e-12, what="|grad - PG estimate|"), at_most(worst_fd, 1e-7, what="|grad - FD|"),
                      at_most(worst_ii, 1e-15, what="max L^CLIP - L^CPI"), holds_if(min(improve) >= 0),
                      holds_if(np.median(dev_clip) < np.median(dev_cpi)))
    fig, ax = new_figure()
    ax.boxplot([dev_clip, dev_cpi], tick_labels=["L^CLIP", "L^CPI (control)"])
    ax.axhline(eps, ls="--", color="k", lw=1, label="eps")
    ax.set_ylabel("max_i |rho_i - 1| after 10 epochs")
    ax.legend(fontsize=7)
    details = (f"(i) max |grad - PG estimate| = {worst_i:.1e}, finite differences {worst_fd:.1e}; (ii) max "
               f"L^CLIP - L^CPI = {worst_ii:.1e}; (iii) J improvement with clipping min {min(improve):.4f}, median "
               f"max|rho-1| clip {np.median(dev_clip):.3f} vs unclipped {np.median(dev_cpi):.3f}")
    return Verdict(predicted="grad identity, pessimism, ratio control", measured={
        "grad_error": worst_i, "median_dev_clip": float(np.median(dev_clip)),
        "median_dev_cpi": float(np.median(dev_cpi))}, verdict=verdict, details=details,
        rule="(i) grad L^CLIP = grad L^CPI = PG estimate at theta_old (1e-12) and = FD (1e-7); (ii) L^CLIP <= L^CPI "
        "at 20 random theta per batch; (iii) J(theta_CLIP) >= J(theta_old) on every batch, median max|rho-1| "
        "smaller with clipping",
        data={"dev_clip": np.array(dev_clip), "dev_cpi": np.array(dev_cpi), "improve": np.array(improve)},
        figure=fig)


# ----------------------------------------------------------------------------- meta-hessian-bias
@claim(
    id="meta-hessian-bias",
    paper="Unifying Gradient Estimators for Meta-Reinforcement Learning via Off-Policy Evaluation",
    topic=TOPIC,
    statement="Differentiating a policy-gradient surrogate twice gives a biased Hessian estimate; the "
    "estimator that keeps the score-product term, E[grad Phi grad log p^T + hess Phi], is unbiased.",
    bound="0",
    assumptions=("tabular MDP, softmax policy", "geometric random horizon (GPOMDP surrogate Phi)"),
    instance="(a) Garnet(3, 2, 2), gamma = 0.8, fixed horizon H = 5, every path enumerated, exact Hessian of J_H "
    "by second central differences of its closed form; (b) Garnet(3, 2, 2), gamma = 0.8, geometric horizon, "
    "theta ~ N(0, 1); exact Hessian by central differences of the exact gradient (h = 1e-5, error ~1e-9)",
    notes="Naive: hess of Phi(tau, theta) = sum_t G_t log pi(a_t|s_t) with the samples held fixed (what double "
    "autodiff of the surrogate returns). Unbiased (DiCE-type / OPE-derived): add grad Phi grad log p(tau)^T. "
    "Interpolation family H_a = a grad Phi grad log p^T + hess Phi: bias^2 = (1-a)^2 ||E grad Phi grad log "
    "p^T||^2, variance grows with a; both are reported. Pass: naive > 10 SE off on some coordinate, unbiased "
    "within z SE (Bonferroni over the d^2 entries).",
    priority="B",
    expected="holds",
    controls={"naive-as-unbiased": "the 'unbiased' Hessian estimator without its score-product term (double "
              "autodiff of the surrogate, the library oracle's hvp minus the product)"},
)
def meta_hessian_bias(budget, rng, control=None):
    """(a) exact: the library oracle's corrected Hessian estimate (``TabularOracle.hvp``) on every path of a
    fixed horizon (Garnet(3, 2, 2), H = 5: 7,776 paths) weighted by the path probabilities, against the Hessian
    of the closed-form truncated objective J_H (second central differences, error ~1e-6 relative): tolerance
    1e-5 of max |H_H|, which is ``min_detectable``. (b) Monte Carlo on the geometric horizon: the naive
    estimate is > 10 SE off, the corrected one within the Bonferroni threshold; its smallest detectable entry
    bias (about 0.3, ten times max |H|: too weak alone) is in the details."""
    mdp = envs.garnet(3, 2, 2, gamma=0.8, seed=_seed(rng))
    orc = E.TabularOracle(mdp)
    theta = rng.normal(size=6)
    d = theta.size
    h = 1e-5
    H = np.column_stack([(policy_gradient(mdp, (theta + h * e).reshape(3, 2))
                          - policy_gradient(mdp, (theta - h * e).reshape(3, 2))).ravel() / (2 * h) for e in np.eye(d)])
    n = budget.pick(10_000, 200_000)
    tau = orc.sample(theta, n, _seed(rng))
    full = np.stack([orc.hvp(tau, theta, e) for e in np.eye(d)], axis=2)  # (n, d, d): columns B e_j
    g = orc.grads(tau, theta)
    z = E.score_sum(tau, tau.mask.astype(float), theta.reshape(3, 2)).reshape(n, -1)
    prod = g[:, :, None] * z[:, None, :]
    naive = full - prod
    if control == "naive-as-unbiased":
        full = naive
    zq = _z_bonferroni(d * d)

    def zmax(x):
        # entries with zero sample variance (e.g. cross-state entries of the naive, block-diagonal
        # estimate) are structural: they are reported separately, not divided by a zero SE
        se = x.std(0, ddof=1) / np.sqrt(n)
        live = se > 0
        return float(np.max(np.abs(x.mean(0) - H)[live] / se[live]))

    z_naive, z_full = zmax(naive), zmax(full)
    # (a) exact enumeration on a fixed horizon: the oracle's Hessian estimator on every path of length H,
    # averaged with the path probabilities, against the Hessian of the closed-form J_H (second central
    # differences, relative error ~1e-6): detects any entry bias above 1e-5 of max |H_H|
    mdp_e = envs.garnet(3, 2, 2, gamma=0.8, seed=_seed(rng), rho=rng.dirichlet(np.ones(3)))
    theta_e = rng.normal(size=6)
    H_len, he, I6 = 5, 1e-4, np.eye(6)

    def J_H(x):
        return _truncated_value(mdp_e, x.reshape(3, 2), H_len)

    H_e = np.array([[(J_H(theta_e + he * I6[i] + he * I6[j]) - J_H(theta_e + he * I6[i] - he * I6[j])
                      - J_H(theta_e - he * I6[i] + he * I6[j]) + J_H(theta_e - he * I6[i] - he * I6[j])) / (4 * he * he)
                     for j in range(6)] for i in range(6)])
    orc_e = E.TabularOracle(mdp_e)
    ro_e, s_e, a_e = _enumerated_rollouts(mdp_e, H_len)
    w_e = _path_probs(mdp_e, probs(theta_e.reshape(3, 2)), s_e, a_e)
    full_e = np.stack([orc_e.hvp(ro_e, theta_e, e) for e in I6], axis=2)
    if control == "naive-as-unbiased":
        z_e = E.score_sum(ro_e, ro_e.mask.astype(float), theta_e.reshape(3, 2)).reshape(ro_e.n, -1)
        full_e = full_e - orc_e.grads(ro_e, theta_e)[:, :, None] * z_e[:, None, :]
    enum_rel = float(np.max(np.abs(np.tensordot(w_e, full_e, axes=1) - H_e)) / np.max(np.abs(H_e)))
    r_enum = at_most(enum_rel, 1e-5, what="max relative entry error of the enumerated corrected Hessian estimate")
    alphas = np.linspace(0, 1, 11)
    bias2 = [float(np.sum(((naive + a * prod).mean(0) - H) ** 2)) for a in alphas]
    var = [float(np.sum((naive + a * prod).var(0, ddof=1))) for a in alphas]
    fig, ax = new_figure()
    ax.plot(alphas, bias2, "o-", label="bias^2 (MC mean vs exact Hessian)")
    ax.plot(alphas, np.array(var) / n, "s--", label="variance of the mean (trace / n)")
    ax.set_yscale("log")
    ax.set_xlabel("a (weight of the score-product term)")
    ax.legend(fontsize=7)
    mde = min_detectable_effect(full.std(0, ddof=1) / np.sqrt(n), d * d, 1e-3)
    ok = z_naive > 10 and z_full <= zq
    return Verdict(predicted={"naive_biased": "> 10 SE", "unbiased": f"<= {zq:.2f} SE", "enumerated_rel_error": 0.0},
                   measured={"naive_max_z": z_naive, "unbiased_max_z": z_full, "enumerated_rel_error": enum_rel},
                   verdict=combine(r_enum, holds_if(ok)),
                   min_detectable=1e-5 * float(np.max(np.abs(H_e))), rule=f"(a) enumerated corrected estimator = "
                   f"Hessian of J_H to 1e-5 relative; (b) naive estimator > 10 SE off on some entry; corrected "
                   f"estimator max |z| <= {zq:.2f} (Bonferroni over {d * d} entries, family 1e-3)",
                   details=f"(a) enumeration over {ro_e.n} paths (H = {H_len}): max relative entry error "
                   f"{enum_rel:.1e} (<= 1e-5; max |H_H| {np.max(np.abs(H_e)):.3g}); (b) Monte Carlo: naive max |mean - H|/SE = {z_naive:.1f} (> 10: biased); score-product-corrected "
                   f"{z_full:.2f} (<= {zq:.2f}); smallest detectable entry bias {mde:.3g} vs max |H| "
                   f"{np.max(np.abs(H)):.3g}; bias^2 at a=0: {bias2[0]:.3g}, at a=1: {bias2[-1]:.3g}",
                   data={"a": alphas, "bias2": np.array(bias2), "variance": np.array(var)}, figure=fig)


# ----------------------------------------------------------------------------- tppo-egae-truncation
@claim(
    id="tppo-egae-truncation",
    paper="Truncated Proximal Policy Optimization",
    topic=TOPIC,
    statement="GAE computed on a trajectory truncated after T steps and bootstrapped with a value function is "
    "unbiased for A^pi when the value is exact; with an approximate value its deviation from full-trajectory "
    "GAE at step t is (gamma lambda)^(T-t) E[A_full_T], and for lambda = 1 the bias beyond the baseline term "
    "is at most gamma^(T-t) ||V_hat - V||_inf.",
    bound="(discount*lam)**K",
    assumptions=("tabular MDP, fixed policy", "truncation after K = T - t steps with bootstrap V_hat(s_T)"),
    instance="Garnet(8, 2, 3), gamma = 0.95, lambda = 0.9; V_hat = V + N(0, 1) per state; K = 1..40",
    notes="Derivation: E[A^T_t | s, a] = sum_{l<K} (gamma lambda)^l M^l dbar with dbar = r + gamma P V_hat - V_hat "
    "and M the (s,a)->(s',a') kernel; the full GAE is (I - gamma lambda M)^{-1} dbar, so full - truncated = "
    "(gamma lambda)^K M^K A_full, bounded by (gamma lambda)^K ||A_full||_inf. For lambda = 1 the sum telescopes: "
    "E[A^T] = A - e(s) + gamma^K M^K e with e = V_hat - V, so |E[A^T] - A + e(s)| <= gamma^K ||e||_inf. "
    "Checked exactly (1e-10) at every K, plus a Monte Carlo check that the truncated estimate with exact V is "
    "unbiased for A(s0, .) (z SE, Bonferroni over actions and K). The LLM speed-ups of the paper are out of "
    "scope.",
    priority="B",
    expected="holds",
    controls={"stale-values": "truncated GAE bootstrapped with the values of the uniform policy instead of V^pi "
              "(a lagging critic) in the exact-V Monte Carlo part"},
)
def tppo_egae_truncation(budget, rng, control=None):
    """``min_detectable``: smallest bias of the truncated-GAE mean for A(s0, a) that the Monte Carlo part
    detects (power 0.8 at its Bonferroni threshold)."""
    mdp = envs.garnet(8, 2, 3, gamma=0.95, seed=_seed(rng))
    lam = 0.9
    S, A = mdp.shape
    pi = rng.dirichlet(np.ones(A), size=S)
    ev = evaluate(mdp, pi)
    e = rng.normal(size=S)
    v_hat = ev.v + e
    M = _sa_transition(mdp, pi)
    dbar = (mdp.r + mdp.gamma * mdp.P @ v_hat - v_hat[:, None]).reshape(-1)
    full = np.linalg.solve(np.eye(S * A) - mdp.gamma * lam * M, dbar)
    Ks = np.arange(1, 41)
    diff, bound, err_id, err_l1 = [], [], 0.0, -np.inf
    acc, Ml = np.zeros(S * A), np.eye(S * A)
    acc1, Ml1 = np.zeros(S * A), np.eye(S * A)
    dbar1 = dbar  # same dbar, lambda = 1 recursion below
    adv = ev.advantage.reshape(-1)
    e_sa = np.repeat(e, A)
    acc_at = {}
    for K in Ks:
        acc = acc + (mdp.gamma * lam) ** (K - 1) * (Ml @ dbar)
        acc_at[int(K)] = acc.copy()
        Ml = Ml @ M
        acc1 = acc1 + mdp.gamma ** (K - 1) * (Ml1 @ dbar1)
        Ml1 = Ml1 @ M
        pred = (mdp.gamma * lam) ** K * (Ml @ full)
        err_id = max(err_id, float(np.max(np.abs((full - acc) - pred))))
        diff.append(float(np.max(np.abs(full - acc))))
        bound.append((mdp.gamma * lam) ** K * float(np.max(np.abs(full))))
        lhs = np.max(np.abs(acc1 - adv + e_sa))
        err_l1 = max(err_l1, float(lhs - mdp.gamma**K * np.max(np.abs(e))))
    diff, bound = np.asarray(diff), np.asarray(bound)
    # Monte Carlo: truncated GAE with exact V, from s0 = 0, for K in {3, 10}
    n = budget.pick(20_000, 200_000)
    zq = _z_bonferroni(4 * A)
    worst = 0.0
    worst_hat = 0.0
    mde = 0.0
    for K in (3, 10):
        ro = sample_trajectories(mdp, pi, n, horizon="fixed", length=K, seed=_seed(rng), start_states=np.zeros(n, int))
        v_boot = evaluate(mdp, np.full(pi.shape, 1 / A)).v if control == "stale-values" else ev.v
        a0 = E.gae_batch(ro, v_boot, lam)[:, 0]
        for a in range(A):
            x = a0[ro.actions[:, 0] == a]
            if x.size > 1:
                se_a = x.std(ddof=1) / np.sqrt(x.size)
                worst = max(worst, abs(x.mean() - ev.advantage[0, a]) / se_a)
                mde = max(mde, min_detectable_effect(se_a, 4 * A, 1e-3))
        # the library's truncated GAE with the noisy values V_hat against the derived expectation
        # E[A^K_0 | s0, a] = (sum_{l<K} (gamma lambda)^l M^l dbar)(s0, a)
        a_hat = E.gae_batch(ro, v_hat, lam)[:, 0]
        for a in range(A):
            x = a_hat[ro.actions[:, 0] == a]
            if x.size > 1:
                worst_hat = max(worst_hat, abs(x.mean() - acc_at[K].reshape(S, A)[0, a]) / (x.std(ddof=1) / np.sqrt(x.size)))
    ok = err_id <= 1e-10 and bool(np.all(diff <= bound + 1e-10)) and err_l1 <= 1e-10 and max(worst, worst_hat) <= zq
    fig, ax = new_figure()
    ax.semilogy(Ks, diff, "o-", ms=3, label="max |E A_full - E A_trunc| (exact, V_hat)")
    ax.semilogy(Ks, bound, "--k", label="(gamma lambda)^K ||A_full||")
    ax.set_xlabel("steps to truncation K = T - t")
    ax.legend(fontsize=7)
    return Verdict(predicted="(gamma lambda)^K bound", measured={"identity_error": err_id,
                   "lambda1_excess": err_l1, "mc_max_z": float(worst)}, verdict=holds_if(ok), min_detectable=mde,
                   tightness=float(np.max(diff / bound)),
                   rule=f"identity to 1e-10; |E A_full - E A_trunc| <= (gamma lambda)^K ||A_full|| at every K; lambda=1 "
                   f"bound; MC truncated GAE within {zq:.2f} SE of A(s0, .) (exact V) and of the derived expectation "
                   "(V_hat)",
                   details=f"identity full - trunc = (gamma lambda)^K M^K A_full: max error {err_id:.1e}; bound holds "
                   f"at all K: {bool(np.all(diff <= bound + 1e-10))}; lambda=1: max_K (|E A^T - A + e| - gamma^K||e||) = {err_l1:.1e} (<= 0); "
                   f"MC truncated GAE (exact V) vs A(s0,.): max {worst:.2f} SE, library truncated GAE with V_hat vs the "
                   f"derived expectation: max {worst_hat:.2f} SE (<= {zq:.2f}); smallest detectable bias "
                   f"{mde:.3g} vs max |A(s0,.)| {np.max(np.abs(ev.advantage[0])):.3g}",
                   data={"K": Ks, "diff": diff, "bound": bound}, figure=fig)


# ----------------------------------------------------------------------------- props-sampling-error
@claim(
    id="props-sampling-error",
    paper="On-Policy Policy Gradient Reinforcement Learning Without On-Policy Sampling",
    topic=TOPIC,
    statement="I.i.d. on-policy sampling leaves a sampling error (TV between the empirical action distribution "
    "and pi) of order n^-1/2; adaptively sampling under-sampled actions reduces it (towards n^-1) and lowers the "
    "error of the resulting policy-gradient estimate.",
    bound="n**(-1/2)",
    assumptions=("K-armed bandit, fixed softmax policy", "idealized PROPS-style behaviour policy"),
    instance="K = 6 arms, pi ~ Dirichlet(1); adaptive behaviour mu_n(a) ~ pi(a) exp(kappa (n pi(a) - c_n(a))), "
    "kappa = 1; Bernoulli rewards; means over replicas",
    notes="The n^-1/2 rate for i.i.d. sampling is standard (E TV ~ sum_a sqrt(pi_a(1-pi_a)/(2 pi n))); the "
    "n^-1 target for adaptive sampling is the catalogue's conjecture. The behaviour policy is an idealized "
    "version of PROPS (which learns mu with a clipped surrogate); we check the direction of the claim: fitted "
    "TV slope for i.i.d. within [-0.6, -0.4], adaptive slope <= -0.8, adaptive TV below i.i.d. at every n >= 50, "
    "and a smaller PG-estimate MSE (data treated as on-policy) at the largest n.",
    priority="B",
    expected="holds",
    controls={"not-adaptive": "the behaviour policy with kappa = 0 (no correction towards under-sampled actions): "
              "plain i.i.d. sampling"},
)
def props_sampling_error(budget, rng, control=None):
    kappa = 0.0 if control == "not-adaptive" else 1.0
    K = 6
    pi = rng.dirichlet(np.ones(K))
    p = rng.uniform(size=K)
    R = budget.pick(100, 400)
    N = budget.pick(2000, 10000)
    check = np.unique(np.geomspace(10, N, 25).astype(int))
    c_iid, c_ad, tv_iid, tv_ad = props_sampling_counts(pi, N, replicas=R, kappa=kappa, seed=rng, check=check)
    f_iid, f_ad = fit_power_law(check, tv_iid), fit_power_law(check, tv_ad)
    # PG estimate from counts: g = sum_a (c_a/n) (p_a - b) (e_a - pi) with rewards at their means (the
    # reward noise is common to both samplers); exact gradient pi * (p - pi.p).
    grad = pi * (p - pi @ p)
    Z = np.eye(K) - pi[None, :]

    def mse(c):
        g = (c / N * (p - pi @ p)[None, :]) @ Z
        return float(np.mean(np.sum((g - grad) ** 2, axis=1)))

    mse_iid, mse_ad = mse(c_iid), mse(c_ad)
    verdict = combine(slope_in_band(f_iid, -0.6, -0.4, what="i.i.d. TV slope"),
                      slope_in_band(f_ad, -np.inf, -0.8, what="adaptive TV slope"),
                      holds_if(np.all(tv_ad[check >= 50] < tv_iid[check >= 50])), holds_if(mse_ad < mse_iid))
    fig, ax = new_figure()
    ax.loglog(check, tv_iid, "o-", ms=3, label=f"i.i.d. (slope {f_iid.slope:.2f})" if f_iid else "i.i.d.")
    ax.loglog(check, tv_ad, "s-", ms=3, label=f"adaptive (slope {f_ad.slope:.2f})" if f_ad else "adaptive")
    ax.loglog(check, tv_iid[0] * (check / check[0]) ** -0.5, ":k", label="n^-1/2")
    ax.loglog(check, tv_ad[0] * (check / check[0]) ** -1.0, "--k", lw=1, label="n^-1")
    ax.set_xlabel("samples n")
    ax.set_ylabel("E TV(empirical, pi)")
    ax.legend(fontsize=7)
    return Verdict(predicted={"iid": -0.5, "adaptive": -1.0},
                   measured={"iid": f_iid.slope if f_iid else None, "adaptive": f_ad.slope if f_ad else None},
                   ci=f_ad.ci if f_ad else None, verdict=verdict,
                   rule="i.i.d. TV slope CI inside [-0.6, -0.4]; adaptive slope CI <= -0.8; adaptive TV below i.i.d. "
                   "at every n >= 50; smaller PG-estimate MSE at the largest n",
                   details=f"TV slopes: iid {f_iid.slope:.3f} CI {np.round(f_iid.ci, 3).tolist()}, adaptive "
                   f"{f_ad.slope:.3f} CI {np.round(f_ad.ci, 3).tolist()}; PG MSE at n={N}: iid {mse_iid:.2e}, adaptive "
                   f"{mse_ad:.2e}", data={"n": check, "tv_iid": tv_iid, "tv_adaptive": tv_ad}, figure=fig)


# ----------------------------------------------------------------------------- hdpo-pathwise
@claim(
    id="hdpo-pathwise",
    paper="Deep Reinforcement Learning for Inventory Networks: Toward Reliable Policy Optimization",
    topic=TOPIC,
    statement="Pathwise gradients through known dynamics (HDPO) are unbiased with far lower variance than "
    "score-function (REINFORCE) gradients, and recover the optimal policy when the optimum is known.",
    bound="0",
    assumptions=("single-period newsvendor with lognormal demand", "REINFORCE on a Gaussian-perturbed order"),
    instance="D ~ LogNormal(2, 0.5), holding h = 1, underage p = 4, q* = F^-1(p/(p+h)); Gaussian order "
    "q ~ N(theta, 1) for the score-function comparison, theta = 0.8 q*",
    notes="Both estimators target grad J_sigma(theta) = E[h F(theta + sigma xi) - p (1 - F(theta + sigma xi))] "
    "(Gauss-Hermite quadrature, 80 nodes); unbiasedness at 4 SE, variance ratio >= 10; HDPO = SGD on the "
    "deterministic order with pathwise gradients h 1[D < q] - p 1[D > q], steps 20/t, Polyak averaging over the "
    "last half, must land within 1% of q*. The multi-period base-stock instance is not checked.",
    priority="B",
    expected="holds",
    controls={"costs-swapped": "the pathwise gradient with holding and underage costs swapped "
              "(p 1[D < q] - h 1[D > q]), in the estimator and in HDPO's SGD"},
)
def hdpo_pathwise(budget, rng, control=None):
    """``min_detectable``: the smallest bias of the pathwise mean the 4-SE test detects (power 0.8)."""
    swap = control == "costs-swapped"
    mu_d, s_d, h, pc, sigma = 2.0, 0.5, 1.0, 4.0, 1.0
    dist = scipy.stats.lognorm(s=s_d, scale=np.exp(mu_d))
    q_star = float(dist.ppf(pc / (pc + h)))
    theta = 0.8 * q_star
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    exact = float(np.sum(w * (h * dist.cdf(theta + sigma * x) - pc * (1 - dist.cdf(theta + sigma * x)))))
    n = budget.pick(100_000, 2_000_000)
    xi = rng.standard_normal(n)
    D = dist.rvs(size=n, random_state=rng)
    hp, pp = (pc, h) if swap else (h, pc)  # the control swaps the costs in the pathwise derivative and HDPO
    score, _ = newsvendor_gradient_samples(theta, sigma, D, xi, holding=h, shortage=pc)
    _, path = newsvendor_gradient_samples(theta, sigma, D, xi, holding=hp, shortage=pp)
    z_s = abs(score.mean() - exact) / (score.std(ddof=1) / np.sqrt(n))
    z_p = abs(path.mean() - exact) / (path.std(ddof=1) / np.sqrt(n))
    ratio = float(score.var() / path.var())
    T = budget.pick(20_000, 200_000)
    Ds = dist.rvs(size=T, random_state=rng)
    traj = hdpo_newsvendor(0.5 * q_star, Ds, holding=hp, shortage=pp, step_scale=20.0)
    q_hat = float(traj[T // 2:].mean())
    rel = abs(q_hat - q_star) / q_star
    ok = z_s <= 4 and z_p <= 4 and ratio >= 10 and rel <= 0.01
    mde = min_detectable_effect(path.std(ddof=1) / np.sqrt(n), 1)
    fig, ax = new_figure()
    ax.plot(np.arange(1, T + 1), traj, lw=0.8, label="HDPO iterate")
    ax.axhline(q_star, color="k", ls="--", label="q* = F^-1(p/(p+h))")
    ax.set_xscale("log")
    ax.set_xlabel("demand samples")
    ax.set_ylabel("order quantity")
    ax.set_title(f"variance ratio score/pathwise = {ratio:.0f}", fontsize=8)
    ax.legend(fontsize=7)
    return Verdict(predicted={"variance_ratio": ">= 10", "q_star": q_star},
                   measured={"variance_ratio": ratio, "q_hat": q_hat, "z_score": float(z_s), "z_path": float(z_p)},
                   verdict=holds_if(ok), min_detectable=mde,
                   rule="score-function and pathwise means within 4 SE of the quadrature gradient; variance ratio >= 10; "
                   "HDPO's averaged iterate within 1% of q*",
                   details=f"unbiased: score {z_s:.2f} SE, pathwise {z_p:.2f} SE (smallest detectable pathwise bias "
                   f"{mde:.3g} vs |grad| {abs(exact):.3g}); variance ratio "
                   f"{ratio:.1f}; HDPO q_hat = {q_hat:.3f} vs q* = {q_star:.3f} (rel. error {rel:.2%})",
                   data={"iterate": traj[:: max(1, T // 2000)]}, figure=fig)


# ----------------------------------------------------------------------------- mdvi-generative-minimax
def _azar_chain(gamma, gap, delta=None):
    r"""Azar, Munos & Kappen (2013)'s hard instance, one decision: states ``x0, y_a, y_b, z``. In ``x0``
    (reward 0) action ``i`` moves to ``y_i``; in ``y_i`` action 0 earns 1 and stays w.p. ``p_i`` (else
    absorbs in ``z``), action 1 quits to ``z`` (reward 0); ``z`` absorbs with reward 0. ``p_b = p =
    (4 gamma - 1)/(3 gamma)``, so :math:`V(y_b) = 1/(1-\gamma p) = 3/(4(1-\gamma))` and
    :math:`\mathrm{Var}_P V^*(y_b) = p(1-p)V^2 = (4\gamma-1)/(16\gamma^2(1-\gamma))`, of order
    :math:`1/(1-\gamma)`; ``p_a = p + delta`` with ``delta`` solving ``gamma (V(y_a) - V(y_b)) = gap``
    (``delta ~ 16 gap (1-gamma)^2/9``) unless given."""
    from mdpgrad import TabularMDP

    p = (4 * gamma - 1) / (3 * gamma)
    p_a = (1 - 1 / (1 / (1 - gamma * p) + gap / gamma)) / gamma if delta is None else p + delta
    P, r = np.zeros((4, 2, 4)), np.zeros((4, 2))
    P[0, 0, 1] = P[0, 1, 2] = 1.0
    for s, q in ((1, p_a), (2, p)):
        P[s, 0, s], P[s, 0, 3], r[s, 0] = q, 1 - q, 1.0
        P[s, 1, 3] = 1.0
    P[3, :, 3] = 1.0
    return TabularMDP(P, r, gamma), p_a - p


def _mdvi_margin(mdp, K, M, alpha, beta, R, rng):
    r"""``s_K(x0, 0) - s_K(x0, 1)`` for ``R`` independent MDVI runs, where ``pi_K = softmax(beta s_K)`` is
    the run's output policy and :math:`s_K = \sum_{j \le K} \alpha^{K-j} q_j` (the library records the
    ``q_j``; iterate ``K`` of a ``K + 1``-iteration run is the output of a ``K``-iteration run)."""
    _, hist = mdvi(mdp, K + 1, m_per_pair=M, alpha=alpha, beta=beta, seed=rng, replicas=R, record=True)
    s = 0.0
    for _, q in hist:
        s = q[:, 0, :] + alpha * s
    return s[:, 0] - s[:, 1]


def _samples_to_eps(mdp, K, M, alpha, beta, R, rng):
    r"""Samples per ``(s, a)`` at which MDVI's output takes the wrong action in ``x0`` w.p. 1/4, i.e.
    :math:`E[V^*(x_0) - V^{\pi_K}(x_0)] = \Delta/4`, from ``R`` runs with ``M`` samples per iteration:
    the margin is linear in the sampled next-state values here (the quit action is never competitive),
    so its mean is the exact-model margin :math:`\mu` and its variance :math:`\sigma^2_M \propto 1/M`;
    with a normal margin, :math:`n^* = K M (z_{3/4}\,\sigma_M/\mu)^2`. Returns ``(n*, mu, sigma, z of
    the sample mean against mu)``."""
    mu = float(_mdvi_margin(mdp, K, 0, alpha, beta, 1, rng)[0])
    d = _mdvi_margin(mdp, K, M, alpha, beta, R, rng)
    sd = float(d.std(ddof=1))
    return K * M * (scipy.stats.norm.ppf(0.75) * sd / mu) ** 2, mu, sd, float((d.mean() - mu) / (sd / np.sqrt(R)))


@claim(
    id="mdvi-generative-minimax",
    expected="holds",
    controls={"kl-weight-dropped": "MDVI with its KL weight alpha set to 0 (plain entropy-regularized VI) where "
              "alpha = 0.7 is claimed in the identity check, and in every MDVI run (Garnet and hard chain)",
              "gap-not-rescaled": "the hard chain with its stay-probability difference delta held at the value "
              "of the largest horizon instead of shrinking like (1-gamma)^2: the action-value gap is then "
              "not eps at every gamma (a measurement that does not hold eps fixed)"},
    paper="KL-Entropy-Regularized RL with a Generative Model is Minimax Optimal",
    topic=TOPIC,
    statement="Mirror-descent value iteration (KL + entropy regularization), model-free with a generative model "
    "and no variance reduction, finds an eps-optimal policy with O~(SA / ((1-gamma)^3 eps^2)) samples for small "
    "eps (nearly minimax optimal).",
    bound="n_states*n_actions/((1 - discount)**3*epsilon**2)",
    assumptions=("generative model", "alpha = lambda/(lambda+tau) in [gamma, 1]", "eps sufficiently small"),
    instance="(a) Garnet(10, 3, 3) with action rewards shrunk 10x towards the state mean (small action gaps), "
    "gamma = 0.8; K = ceil(3/(1-gamma)) iterations, M in 1..64 samples per (s, a) per iteration, alpha = 1, "
    "beta = 5/(1-gamma); mean over replicas. (b) Horizon: Azar-Munos-Kappen hard chain (x0 chooses between "
    "y_a and y_b, which pay 1 and stay w.p. p + delta and p = (4 gamma - 1)/(3 gamma), else absorb at 0), "
    "action-value gap Delta = gamma (V(y_a) - V(y_b)) = 1/4 at every gamma; H = 1/(1-gamma) = 16..64 (7 "
    "points, quick) / 16..256 (9 points, full); alpha = 1 - (1-gamma)^2, beta = 5/(1-gamma), "
    "K = ceil(3 H ln H), M = 2 samples per (s, a) per iteration, 150 (quick) / 600 (full) runs per H",
    notes="Checked: (1) the MDVI identity pi_{k+1} ~ pi_k^alpha exp(beta q_{k+1}) on the iterates (1e-12, "
    "[standard], Vieillard et al.) and exact-model convergence (gap <= 1e-6); (2) the eps exponent: mean "
    "policy gap vs total samples per pair K*M on the Garnet, fitted slope s, p = -1/s must not exceed 2 + 0.3 "
    "(one-sided); (3) at equal samples (same K, M, beta) MDVI's gap is smaller than without KL averaging "
    "(alpha = 0, entropy-regularized VI): z of the difference of mean gaps >= 3 at M = 1, 4, 16 (measured ratios "
    "5-20x). MDVI is the library's mdpgrad.algorithms.mdvi.mdvi. "
    "(4) Horizon exponent (issue 18). On Garnets the gap hits 0 (action gaps resolved exactly) or plateaus at "
    "the regularization bias, so no horizon fit was possible there; it is measured on Azar, Munos & Kappen "
    "(2013)'s lower-bound chain instead, where Var_P(V*) = (4 gamma - 1)/(16 gamma^2 (1-gamma)) is of order "
    "H = 1/(1-gamma) (the case the minimax bound is about) and the two actions of x0 differ by a "
    "stay-probability delta ~ 16 Delta (1-gamma)^2/9, chosen so that the action-value gap is Delta = 1/4 at "
    "every gamma (eps is an absolute value error in (0, 1], as in the paper; the values are 3H/4). A policy "
    "taking the wrong action in x0 is Delta-suboptimal there, so the quantity is n*(H): the samples per (s, a) "
    "(K*M) at which MDVI's output takes the wrong action w.p. 1/4, i.e. E[V* - V^pi_K](x0) = Delta/4. The "
    "output is softmax(beta s_K) with s_K = sum_j alpha^(K-j) q_j; in this chain s_K(x0, a) is linear in the "
    "sampled next-state values (y's quit action is never competitive, z is deterministic), so the margin "
    "s_K(x0, 0) - s_K(x0, 1) has mean equal to the exact-model margin mu (|z| of the sample mean reported, "
    "< 3) and variance sigma_M^2 ~ 1/M; n* = K M (z_{3/4} sigma_M / mu)^2 is read off at M = 2 without "
    "running ~H^3 samples at every H (cost ~ H ln H instead of H^3), and the normal model is validated by "
    "running MDVI at M = n*/K and measuring the mean gap directly (Delta/4 within 4 SE + 0.05; H = 16 quick, "
    "16 and 32 full; 0.27 quick, 0.26 and 0.25 full, 0.22-0.32 over other seeds). Horizon exponent = log-log slope of n* vs H (OLS CI over the H grid, "
    "mdpgrad.rates.fit_power_law); the chain is a lower-bound instance, so the band is two-sided, [2.5, 3.5] "
    "(the catalogue's 3 + 0.5, and 3 - 0.5 since no method beats H^3 here). Parameters: K = ceil(3 H ln H) "
    "(the paper's K ~ (1-gamma)^-1 log, our constant), alpha = 1 - (1-gamma)^2 (averaging window ~H^2 > K; "
    "the stated range is [gamma, 1]), beta = 5/(1-gamma). Measured (mdpgrad check's seed): MDVI 3.14 "
    "[3.05, 3.24] quick, 3.08 [3.02, 3.14] full; n*/H^3 ~ 1.4-1.9. Plain sampled VI (alpha = 0, same K, M, beta) on "
    "the same chain: 3.42 [3.20, 3.64] quick, 3.31 [3.27, 3.35] full -- worse, but by a log factor, not the 4-5 of "
    "the worst-case bounds for model-free VI / Q-learning: every noisy state here has a single competitive "
    "action (no max-operator bias), so fresh-sample VI's last iterate has variance ~H^2/M and needs K ~ H ln H "
    "iterations: n* ~ H^3 ln H; MDVI averages the q_j over all K iterations and pays H^3 whatever K is. Rule "
    "(5): the mean over H of log(n*(alpha=0)/n*(MDVI)) >= 3 standard errors (t over the H grid); the ratio "
    "(5-9 quick, 5-11 full) grows with H, its log-log slope is reported (quick CIs do not always exclude "
    "0; full: 0.23 [0.14, 0.32]; ratio / ln H = 1.7-2.2 over H = 16..256, i.e. the log factor). Side runs (not "
    "in the rule; K = ceil(3 H ln H), H = 16, 32, .., 256, M = 4, 1000 runs): "
    "alpha = 1 gives 3.05 [2.95, 3.15], alpha = 1 - (1-gamma)^2 3.08 [3.01, 3.14], alpha = gamma 3.31 "
    "[3.25, 3.37] (a window of ~H iterations also pays the log factor with the last-iterate policy), alpha = 0 "
    "3.33 [3.24, 3.43]; with K = 3H instead (no log), alpha = gamma and alpha = 0 both measure 3.05 [3.02, "
    "3.08] over H = 16..256 and MDVI's advantage is a constant ~1.7x. For H < 16 the local slope is larger (~3.3-3.4 over H = 4..16 at K = 3H: a "
    "pre-asymptotic regime), which is why the grid starts at 16. So the exponent rule alone does not reject the "
    "wrong method (alpha = 0, 3.3-3.4 is inside the band); the control kl-weight-dropped is rejected by (1), "
    "(3) and (5), and the exponent rule's power is shown by the instance control gap-not-rescaled (delta held "
    "fixed, so Delta grows like H^2: measured exponent ~ -1, violated). Restated (issue 15): previously the "
    "horizon exponent was recorded as not checked.",
    priority="A",
)
def mdvi_generative_minimax(budget, rng, control=None):
    from mdpgrad import TabularMDP

    gamma = 0.8
    base = envs.garnet(10, 3, 3, gamma=gamma, seed=_seed(rng))
    r = base.r.mean(1, keepdims=True) + 0.1 * (base.r - base.r.mean(1, keepdims=True))
    mdp = TabularMDP(base.P, r, gamma)
    vstar = solve(mdp, "policy_iteration").v
    K = int(np.ceil(3 / (1 - gamma)))
    alpha, beta = 1.0, 5.0 / (1 - gamma)
    no_kl = control == "kl-weight-dropped"
    # (1) identity and exact-model convergence
    _, hist = mdvi(mdp, 8, m_per_pair=4, alpha=0.0 if no_kl else 0.7, beta=3.0, seed=rng, record=True)
    ident = 0.0
    for (pi_k, _), (pi_next, q_next) in zip(hist[:-1], hist[1:]):
        target = pi_k**0.7 * np.exp(3.0 * (q_next - q_next.max(axis=2, keepdims=True)))
        ident = max(ident, float(np.max(np.abs(target / target.sum(2, keepdims=True) - pi_next))))
    pi_exact = mdvi(mdp, 400, m_per_pair=0, alpha=alpha, beta=beta, seed=rng)[0]
    gap_exact = float(np.max(vstar - evaluate(mdp, pi_exact).v))
    # (2) eps exponent
    Ms = np.array([1, 2, 4, 8, 16, 32, 64] if not budget.quick else [1, 2, 4, 8, 16, 32])
    R = budget.pick(20, 100)
    gaps, zs, gaps_vi = [], [], []
    a_run = 0.0 if no_kl else alpha
    for M in Ms:
        pis = mdvi(mdp, K, m_per_pair=int(M), alpha=a_run, beta=beta, seed=rng, replicas=R)
        g = np.max(vstar[None] - evaluate(mdp, pis).v, 1)
        # (3) the same samples without KL averaging (alpha = 0: entropy-regularized VI, same K, M, beta)
        gaps.append(float(g.mean()))
        if M not in (1, 4, 16):  # the comparison runs at three sample sizes (quick budget)
            gaps_vi.append(np.nan)
            continue
        pis0 = mdvi(mdp, K, m_per_pair=int(M), alpha=0.0, beta=beta, seed=rng, replicas=R)
        g0 = np.max(vstar[None] - evaluate(mdp, pis0).v, 1)
        gaps_vi.append(float(g0.mean()))
        zs.append(float((g0.mean() - g.mean()) / np.sqrt(g0.var(ddof=1) / R + g.var(ddof=1) / R + 1e-300)))
    gaps, gaps_vi = np.asarray(gaps), np.asarray(gaps_vi)
    avg_rule = at_least(min(zs), 3.0, what="min over M of z(gap without KL averaging - MDVI gap)")
    n_pair = K * Ms
    # burn_in=0: only 6-7 sample sizes over ~1.5 decades; the default late-half window would leave < 5
    # points (fit None). The rule is otherwise unchanged (floor and non-positive points still dropped).
    fit = fit_power_law(n_pair, gaps, burn_in=0.0)
    eps_verdict = slope_in_band(fit, -np.inf, -1.0 / 2.3, what="log gap vs log samples slope")
    p_hat = -1.0 / fit.slope if fit is not None and fit.slope < 0 else np.inf
    ok1 = ident <= 1e-12 and gap_exact <= 1e-6
    # (4) horizon exponent on the hard chain: n*(H) samples per pair to E gap = Delta/4 (see notes)
    Hs = np.rint(16 * 2.0 ** (np.arange(budget.pick(7, 9)) / budget.pick(3, 2))).astype(int)  # 16..64 / 16..256
    R_h, M_h, Delta = budget.pick(150, 600), 2, 0.25
    delta_fixed = _azar_chain(1 - 1 / Hs[-1], Delta)[1] if control == "gap-not-rescaled" else None
    n_mdvi, n_vi, z_mean = [], [], []
    for H in Hs:
        g_h = 1 - 1 / H
        chain, _ = _azar_chain(g_h, Delta, delta_fixed)
        K_h = int(np.ceil(3 * H * np.log(H)))
        n1, _, _, z1 = _samples_to_eps(chain, K_h, M_h, 0.0 if no_kl else 1 - (1 - g_h) ** 2, 5 * H, R_h, rng)
        n0, _, _, z0 = _samples_to_eps(chain, K_h, M_h, 0.0, 5 * H, R_h, rng)
        n_mdvi.append(n1)
        n_vi.append(n0)
        z_mean += [z1, z0]
    n_mdvi, n_vi = np.asarray(n_mdvi), np.asarray(n_vi)
    fit_h, fit_0 = fit_power_law(Hs, n_mdvi, burn_in=0.0), fit_power_law(Hs, n_vi, burn_in=0.0)
    horizon_rule = slope_in_band(fit_h, 2.5, 3.5, what="log n* vs log 1/(1-gamma) slope")
    lr = np.log(n_vi / n_mdvi)
    t_lr = float(lr.mean() / (lr.std(ddof=1) / np.sqrt(lr.size)))
    ratio_rule = at_least(t_lr, 3.0, what="t over H of log(n* without KL averaging / n* MDVI)")
    fit_r = fit_power_law(Hs, n_vi / n_mdvi, burn_in=0.0)  # reported: the advantage's growth with H
    # validation: the mean gap measured directly at M = n*/K is Delta/4 (the normal model behind n*)
    checks = []
    for H in budget.pick([16], [16, 32]):
        i = int(np.nonzero(Hs == H)[0][0])
        g_h, K_h = 1 - 1 / H, int(np.ceil(3 * H * np.log(H)))
        chain, _ = _azar_chain(g_h, Delta, delta_fixed)
        Rv, M_v = budget.pick(200, 400), max(1, int(round(n_mdvi[i] / K_h)))
        if M_v > budget.pick(1000, 4000):  # n* far above the expected ~2 H^3: not run, the check fails
            checks.append((H, float("nan"), float("nan")))
            continue
        pis = mdvi(chain, K_h, m_per_pair=M_v, alpha=0.0 if no_kl else 1 - (1 - g_h) ** 2, beta=5.0 * H, seed=rng,
                   replicas=Rv)
        vs = evaluate(chain, np.tile([1.0, 0.0], (4, 1))).v
        gv = np.max(vs[None] - evaluate(chain, pis).v, 1) / Delta
        checks.append((H, float(gv.mean()), float(gv.std(ddof=1) / np.sqrt(Rv))))
    val_ok = all(abs(m - 0.25) <= 4 * se + 0.05 for _, m, se in checks)
    verdict = combine(holds_if(ok1 and val_ok), eps_verdict, avg_rule, horizon_rule, ratio_rule)
    fig, (ax, ax2) = new_figure(1, 2, figsize=(8, 3.4))
    ax.loglog(n_pair, gaps, "o-", label=f"mean gap (p = -1/slope = {p_hat:.2f})")
    ax.loglog(n_pair, gaps_vi, "s--", label="same samples, no KL averaging (alpha = 0)")
    ax.loglog(n_pair, gaps[0] * (n_pair / n_pair[0]) ** -0.5, ":k", label="eps^-2 rate (slope -1/2)")
    ax.set_xlabel("samples per (s, a)")
    ax.set_ylabel("V* - V^pi_K (inf-norm)")
    ax.set_title("Garnet, gamma = 0.8: eps exponent", fontsize=8)
    ax.legend(fontsize=7)
    sl = (lambda f: f"{f.slope:.2f} [{f.ci[0]:.2f}, {f.ci[1]:.2f}]" if f is not None else "n/a")
    ax2.loglog(Hs, n_mdvi, "o-", label=f"MDVI (alpha = 1-(1-gamma)^2): slope {sl(fit_h)}")
    ax2.loglog(Hs, n_vi, "s--", label=f"alpha = 0 (no KL averaging): slope {sl(fit_0)}")
    ax2.loglog(Hs, n_mdvi[0] * (Hs / Hs[0]) ** 3.0, ":k", label="(1-gamma)^-3 (slope 3)")
    ax2.plot([h for h, _, _ in checks], [n_mdvi[np.nonzero(Hs == h)[0][0]] for h, _, _ in checks], "x", ms=9,
             color="k", label="direct run at n*: mean gap = " + ", ".join(f"{m:.2f}" for _, m, _ in checks)
             + " Delta (target 0.25)")
    ax2.set_xlabel("1/(1-gamma)")
    ax2.set_ylabel("n* (samples per (s, a))")
    ax2.set_title("Azar et al. hard chain: n* to E gap = Delta/4, Delta = 1/4", fontsize=8)
    ax2.legend(fontsize=6, loc="upper left")
    for a in (ax, ax2):
        a.tick_params(axis="x", which="minor", labelbottom=False)
    ax2.set_xticks(Hs[::2], [str(h) for h in Hs[::2]])
    ci_h = tuple(np.round(fit_h.ci, 3).tolist()) if fit_h is not None else None
    details = (f"identity max error {ident:.1e}; exact-model gap {gap_exact:.1e}; eps exponent p = {p_hat:.2f} "
               f"(fit slope {fit.slope if fit else float('nan'):.3f}, CI {np.round(fit.ci, 3).tolist() if fit else None}; "
               f"one-sided vs 2.3: {eps_verdict.verdict}); no-KL-averaging gap / MDVI gap at M = 1, 4, 16 "
               f"{np.round((gaps_vi / np.maximum(gaps, 1e-12))[np.isin(Ms, (1, 4, 16))], 1).tolist()}, min z "
               f"{min(zs):.1f}. Horizon (hard chain, H = {Hs.tolist()}): MDVI n*/H^3 = "
               f"{np.round(n_mdvi / Hs**3, 2).tolist()}, exponent {sl(fit_h)} (band [2.5, 3.5]: "
               f"{horizon_rule.verdict}); alpha = 0 exponent {sl(fit_0)}, n*(alpha=0)/n*(MDVI) = "
               f"{np.round(n_vi / n_mdvi, 2).tolist()} (t = {t_lr:.1f}; its growth: slope {sl(fit_r)}); direct mean "
               "gap / Delta at n* "
               + ", ".join(f"H = {h}: {m:.3f} +- {se:.3f}" for h, m, se in checks)
               + f" (target 0.25); max |z| of margin mean vs exact-model margin {np.max(np.abs(z_mean)):.1f}")
    return Verdict(predicted={"eps_exponent": 2.0, "horizon_exponent": 3.0},
                   measured={"eps_exponent": p_hat,
                             "horizon_exponent": fit_h.slope if fit_h is not None else float("nan")},
                   ci=ci_h, verdict=verdict, details=details,
                   rule="MDVI identity pi_{k+1} ~ pi_k^alpha exp(beta q_{k+1}) to 1e-12 and exact-model gap <= 1e-6; "
                   "slope CI of log mean gap vs log samples per pair <= -1/2.3; z(no-KL gap - MDVI gap) >= 3; "
                   "hard chain: slope CI of log n* vs log 1/(1-gamma) inside [2.5, 3.5], t over H of "
                   "log(n*(alpha=0)/n*(MDVI)) >= 3, direct mean gap at n* = Delta/4 within 4 SE + 0.05 "
                   "(ci: the horizon exponent's)",
                   data={"samples_per_pair": n_pair, "gap": gaps, "horizon": Hs, "n_star_mdvi": n_mdvi,
                         "n_star_alpha0": n_vi}, figure=fig)


# ----------------------------------------------------------------------------- many-actions-variance
def _many_actions_instance(rng, S=5, A=3):
    from mdpgrad import TabularMDP

    kappa = rng.uniform(0.0, 0.97)
    P = (1 - kappa) * rng.dirichlet(np.ones(S), size=(S, A)) + kappa * np.eye(S)[:, None, :]
    mdp = TabularMDP(P, rng.normal(size=(S, A)), 0.9)
    theta = rng.normal(size=(S, A))
    pi = probs(theta)
    q = evaluate(mdp, pi).q
    # h(s, a) = grad log pi(a|s) Q(s, a), flattened over theta's S*A coordinates
    h = np.zeros((S, A, S * A))
    for s in range(S):
        for a in range(A):
            h[s, a, s * A:(s + 1) * A] = (np.eye(A)[a] - pi[s]) * q[s, a]
    P_pi = np.einsum("sa,sat->st", pi, P)
    w, V = np.linalg.eig(P_pi.T)
    d = np.real(V[:, np.argmin(np.abs(w - 1))])
    d = np.abs(d) / np.abs(d).sum()
    return pi, P_pi, d, h


@claim(
    id="many-actions-variance",
    paper="On Many-Actions Policy Gradient",
    topic=TOPIC,
    statement="Sampling M actions per state (many-actions SPG) beats a single-action agent whose trajectory is "
    "extended M-fold exactly when M is below the integrated autocorrelation time of the state term along the "
    "trajectory (a many-actions optimality condition).",
    bound="tau_int - M",
    assumptions=("tabular MDP, softmax policy, exact Q (critic) for every sampled action",
                 "many-actions: N states drawn independently from the stationary distribution, M actions each; "
                 "single-action: one stationary trajectory of N*M steps; equal number (N*M) of action samples"),
    instance="S = 5, A = 3 random MDPs with stickiness kappa ~ U(0, 0.97) (varied mixing), N = 8, M = 4; "
    "Monte Carlo with 2000 replicate estimates each",
    notes="Derived condition (our reading; the paper's exact expression is not in the abstract): with "
    "h(s,a) = grad log pi(a|s) Q(s,a) = f(s) + e(s,a), Var(MA) = sigma_f^2/N + W/(NM) and Var(SA) = "
    "Var_chain(sum_{t<NM} f)/(NM)^2 + W/(NM) (the same action-noise term), so MA is better iff "
    "Var_chain(sum f)/(NM sigma_f^2) > M, i.e. M < tau_int(NM). Checked: the exact variance expressions match "
    "MC within z SE (Bonferroni over 2 x the instances, family 1e-3) of the variance estimates on every instance, and the condition predicts the MC winner on "
    ">= 90% of the instances (catalogue criterion). The model-based MBMA bias claim is not checked.",
    priority="B",
    expected="holds",
    controls={"iid-trajectory-variance": "the single-action variance computed as if the trajectory's states were "
              "independent (autocorrelation ignored)"},
)
def many_actions_variance(budget, rng, control=None):
    N, M, R = 8, 4, 2000
    n_inst = budget.pick(20, 200)
    agree, margins, match_worst = [], [], 0.0
    for i in range(n_inst):
        pi, P_pi, d, h = _many_actions_instance(rng)
        S, A, D = h.shape
        f = np.einsum("sa,sad->sd", pi, h)
        sigma_f2 = float(np.sum(d @ (f - d @ f) ** 2))
        W = float(np.sum(d[:, None] * pi * np.sum((h - f[:, None, :]) ** 2, axis=2)))
        v_ma = sigma_f2 / N + W / (N * M)
        if control == "iid-trajectory-variance":
            v_sa = sigma_f2 / (N * M) + W / (N * M)  # the wrong variant: trajectory states treated as independent
        else:
            v_sa = chain_sum_variance(P_pi, d, f, N * M) / (N * M) ** 2 + W / (N * M)
        predicted_ma_better = v_ma < v_sa
        # Monte Carlo (the library's samplers)
        est_ma, est_sa = many_actions_samples(h, pi, P_pi, d, n_states=N, m_actions=M, replicas=R, seed=rng)
        mc_ma = float(np.sum(est_ma.var(0, ddof=1)))
        mc_sa = float(np.sum(est_sa.var(0, ddof=1)))
        agree.append(predicted_ma_better == (mc_ma < mc_sa))
        margins.append(np.log(v_sa / v_ma))
        # SE of a total-variance estimate <= sqrt(2/R) * value (Gaussian approximation), on every instance:
        # the sticky (slowly mixing) ones are where the chain-sum variance matters
        for mc, ex in ((mc_ma, v_ma), (mc_sa, v_sa)):
            match_worst = max(match_worst, abs(mc - ex) / (ex * np.sqrt(2.0 / R)))
    rate = float(np.mean(agree))
    z_match = _z_bonferroni(2 * n_inst)
    verdict = combine(at_least(rate, 0.9, what="agreement rate"),
                      at_most(match_worst, z_match, what="max |MC - exact| in SE over all instances"))
    fig, ax = new_figure()
    ax.scatter(margins, np.where(agree, 1, 0), s=10)
    ax.axvline(0, color="k", lw=1)
    ax.set_xlabel("log Var(SA) / Var(MA) (exact; > 0: many actions predicted better)")
    ax.set_ylabel("condition agrees with MC winner")
    ax.set_title(f"agreement {rate:.0%} over {n_inst} instances", fontsize=8)
    return Verdict(predicted=">= 90% agreement", measured=rate, verdict=verdict,
                   rule="the derived condition predicts the MC winner on >= 90% of instances; exact variance "
                   f"expressions within {z_match:.2f} SE of MC on every instance",
                   details=f"condition predicts the MC winner on {rate:.1%} of {n_inst} instances; exact vs MC "
                   f"variance on all {n_inst} instances: max {match_worst:.2f} SE (<= {z_match:.2f}); MA predicted "
                   f"better on {int(np.sum(np.array(margins) > 0))} instances",
                   data={"log_ratio": np.array(margins), "agree": np.array(agree)}, figure=fig)


# ----------------------------------------------------------------------------- general-utility-vr-rates
def _max_occupancy_entropy(mdp):
    """F* = max over the occupancy polytope of the entropy of the state occupancy d(s) = sum_a lambda(s, a):
    a concave program with linear constraints sum_a lambda(s,a) - gamma sum_{s',a'} P(s|s',a') lambda(s',a')
    = (1-gamma) rho(s), lambda >= 0 (scipy SLSQP, started at the uniform policy's occupancy). Independent of
    the policy-gradient code under test."""
    S, A = mdp.shape
    g = mdp.gamma
    Aeq = np.zeros((S, S * A))
    for s in range(S):
        for a in range(A):
            Aeq[s, s * A + a] += 1
            Aeq[:, s * A + a] -= g * mdp.P[s, a, :]
    beq = (1 - g) * mdp.rho

    def negF(x):
        d = np.maximum(x.reshape(S, A).sum(1), 1e-300)
        return float(np.sum(d * np.log(d)))

    def jac(x):
        return np.repeat(np.log(np.maximum(x.reshape(S, A).sum(1), 1e-300)) + 1, A)

    x0 = np.repeat(evaluate(mdp, np.full((S, A), 1 / A)).occupancy / A, A)
    res = scipy.optimize.minimize(negF, x0, jac=jac, method="SLSQP", bounds=[(0, 1)] * (S * A),
                                  constraints=[{"type": "eq", "fun": lambda x: Aeq @ x - beq, "jac": lambda x: Aeq}],
                                  options={"ftol": 1e-14, "maxiter": 500})
    return -float(res.fun)


@claim(
    id="general-utility-vr-rates",
    expected="holds",
    controls={"pseudo-reward-without-1/(1-gamma)": "the chain-rule gradient computed with the policy gradient "
              "missing its 1/(1-gamma) factor (policy_gradient(horizon_factor=False))"},
    paper="Reinforcement Learning with General Utilities: Simpler Variance Reduction and Large State-Action Space",
    topic=TOPIC,
    statement="Normalized PG with recursive momentum for concave utilities F(lambda) of the occupancy measure "
    "attains O(eps^-3) samples for eps-stationarity and O(eps^-2) for eps-global optimality.",
    bound="epsilon**(-2)",
    assumptions=("tabular MDP, softmax policy", "concave utility of the state-action occupancy"),
    instance="Garnet(5, 3, 3), gamma = 0.9; F(lambda) = entropy of the normalized state occupancy",
    notes="Checked: the chain rule the method rests on, grad_theta F(lambda^pi) = the policy gradient with the "
    "pseudo-reward r_F = dF/dlambda (exact, vs central finite differences, relative 1e-6), and that the "
    "normalized recursive-momentum PG on sampled occupancies increases F. Not resolved: the eps^-3 / eps^-2 "
    "exponents (needs F* from a convex program over the occupancy polytope and a long eps grid; not within "
    "this budget). Restated (issue 15; previously inconclusive by construction): (a) the chain rule, and (b) "
    "the normalized recursive-momentum PG on sampled occupancies closes at least a third of the gap F* - F(pi_0) "
    "within the budget, with F* from a concave program over the occupancy polytope (scipy SLSQP, independent "
    "of the PG code). The eps^-3 / eps^-2 sample exponents remain unchecked. The method's loop is written here "
    "(the library has no general-utility method); its gradient pieces are the library's.",
    priority="B",
)
def general_utility_vr_rates(budget, rng, control=None):
    hf = control != "pseudo-reward-without-1/(1-gamma)"
    from mdpgrad import TabularMDP

    mdp = envs.garnet(5, 3, 3, gamma=0.9, seed=_seed(rng))
    S, A = mdp.shape

    def F_of(theta):
        d = evaluate(mdp, probs(theta)).occupancy
        return float(-np.sum(d * np.log(d)))

    def grad_F(theta):
        d = evaluate(mdp, probs(theta)).occupancy
        # lambda(s, a) = d(s) pi(a|s) / (1-gamma) unnormalized; F depends on d(s) = (1-gamma) sum_a lambda(s,a)
        r_F = entropy_pseudo_reward(d, mdp.gamma, A)
        return policy_gradient(TabularMDP(mdp.P, r_F, mdp.gamma, rho=mdp.rho), theta, horizon_factor=hf)

    theta = rng.normal(size=(S, A))
    g = grad_F(theta)
    h = 1e-6
    fd = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        tp, tm = theta.copy(), theta.copy()
        tp[idx] += h
        tm[idx] -= h
        fd[idx] = (F_of(tp) - F_of(tm)) / (2 * h)
    rel = float(np.max(np.abs(g - fd)) / np.max(np.abs(fd)))
    # normalized recursive-momentum ascent with sampled occupancies (visit counts of geometric rollouts)
    th = 2.0 * rng.normal(size=(S, A))  # a low-entropy start leaves room to improve
    n_iter = budget.pick(15, 200)
    thetas = occupancy_entropy_momentum_pg(mdp, th, n_iter, n_traj=200, seed=rng)
    Fs = [F_of(x) for x in thetas]
    increased = Fs[-1] > Fs[0]
    F_star = _max_occupancy_entropy(mdp)
    closed = (Fs[-1] - Fs[0]) / (F_star - Fs[0])
    verdict = combine(at_most(rel, 1e-6, what="chain-rule relative error"),
                      at_least(closed, 1 / 3, what="fraction of F* - F_0 closed"))
    fig, ax = new_figure()
    ax.plot(Fs, label="F(lambda^pi_t) (exact)")
    ax.axhline(np.log(S), ls=":", color="k", label="log S (upper bound)")
    ax.axhline(F_star, ls="--", color="C3", label="F* (concave program)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("occupancy entropy")
    ax.legend(fontsize=7)
    return Verdict(predicted={"stationarity": 3.0, "global": 2.0}, measured={"chain_rule_rel_error": rel,
                   "F_start": Fs[0], "F_end": Fs[-1], "F_star": F_star, "gap_closed": closed}, verdict=verdict,
                   rule="chain-rule gradient = finite differences (relative 1e-6); normalized momentum PG closes >= 1/3 of "
                   "F* - F(pi_0)",
                   details=f"chain rule (PG with pseudo-reward dF/dlambda) vs finite differences: relative error "
                   f"{rel:.1e}; normalized momentum PG raised F from {Fs[0]:.4f} to {Fs[-1]:.4f} "
                   f"(increase: {increased}; F* = {F_star:.4f}, fraction of the gap closed {closed:.3f}); exponents not "
                   "measured (see notes)",
                   data={"F": np.array(Fs)}, figure=fig)


# ----------------------------------------------------------------------------- pg-theorem (continuous LQ)
@claim(
    id="pg-theorem-lq-gaussian",
    paper="The Definitive Guide to Policy Gradients in Deep Reinforcement Learning: Theory, Algorithms "
    "and Implementations",
    topic=TOPIC,
    statement="Policy gradient theorem for continuous states and actions: for a linear-Gaussian policy on a "
    "linear-quadratic problem, E[sum_t grad log pi(u_t|s_t) sum_{j>=t} r_j] over geometric-horizon trajectories "
    "equals dJ/dk of the closed-form discounted value.",
    bound="0",
    assumptions=("1-D LQ: s' = 0.9 s + 0.5 u + N(0, 0.3^2), reward -(s^2 + 0.1 u^2), gamma = 0.9",
                 "policy u ~ N(k s, 0.5^2)"),
    instance="k in {-1.2, -0.6, 0.0}; s_0 ~ N(0, 1); geometric horizon (continuation probability gamma)",
    notes="The foundation's pg-theorem claim checks the tabular case against finite differences; this is the "
    "continuous version it defers to. dJ/dk by central differences of the closed form (h = 1e-6, error "
    "~1e-9 relative); GPOMDP Monte Carlo mean within z SE (Bonferroni over the 3 gains).",
    priority="B",
    expected="holds",
    controls={"score-without-1/sigma^2": "the Gaussian score (u - k s) s without its 1/sigma^2 factor"},
)
def pg_theorem_lq_gaussian(budget, rng, control=None):
    """The Monte Carlo uses the closed-form state value V(s) = -alpha s^2 - beta as a baseline (a control
    variate: E[grad log pi(u|s) b(s) | s] = 0), alpha = (q + r k^2)/(1 - gamma c), beta = (gamma alpha D +
    r sigma^2)/(1 - gamma), so that a 10% error in dJ/dk is detectable at the quick budget
    (``min_detectable``: the smallest detectable bias relative to max_k |dJ/dk|).
    The sampler and the closed form are the library's (:mod:`mdpgrad.estimators.lq_gaussian`)."""
    sigma = 0.5  # the policy noise of the library default instance (LQGaussian())
    score_scale = sigma**2 if control == "score-without-1/sigma^2" else 1.0
    ks = np.array([-1.2, -0.6, 0.0])
    n = budget.pick(10_000, 150_000)
    exact, mc, se, mcq, seq = [], [], [], [], []
    for k in ks:
        h = 1e-6
        exact.append((lq_gaussian_value(k + h) - lq_gaussian_value(k - h)) / (2 * h))
        g, gq = lq_gaussian_gradient_samples(k, n, seed=rng, score_scale=score_scale)
        mc.append(g.mean())
        se.append(g.std(ddof=1) / np.sqrt(n))
        mcq.append(gq.mean())
        seq.append(gq.std(ddof=1) / np.sqrt(n))
    exact, mc, se, mcq, seq = map(np.asarray, (exact, mc, se, mcq, seq))
    zmax = float(np.max(np.abs(mc - exact) / se))
    zq_max = float(np.max(np.abs(mcq - exact) / seq))
    zq2 = _z_bonferroni(2 * ks.size)
    mde_rel = min_detectable_effect(seq, 2 * ks.size) / float(np.max(np.abs(exact)))
    mde_g = min_detectable_effect(se, 2 * ks.size) / float(np.max(np.abs(exact)))
    fig, ax = new_figure()
    kk = np.linspace(-1.6, 0.2, 100)
    ax.plot(kk, [(lq_gaussian_value(x + 1e-6) - lq_gaussian_value(x - 1e-6)) / 2e-6 for x in kk], label="dJ/dk (closed form)")
    ax.errorbar(ks, mc, yerr=4 * se, fmt="o", label="GPOMDP Monte Carlo (+- 4 SE)")
    ax.set_xlabel("gain k")
    ax.set_ylabel("dJ/dk")
    ax.legend(fontsize=7)
    return Verdict(predicted=exact.tolist(), measured=mc.tolist(), verdict=holds_if(max(zmax, zq_max) <= zq2),
                   min_detectable=mde_rel,
                   rule=f"max |MC - dJ/dk| / SE <= {zq2:.2f} over 3 gains x 2 estimators (family level 1e-3, floor 4): "
                   "GPOMDP (reward-to-go, baseline V) and the PG-theorem form E[sum_t score_t A(s_t, u_t)] with the "
                   "closed-form advantage",
                   details=f"GPOMDP: max {zmax:.2f} SE, PG-theorem form: max {zq_max:.2f} SE (<= {zq2:.2f}); exact "
                   f"{np.round(exact, 4).tolist()}, GPOMDP {np.round(mc, 4).tolist()}, PG-theorem form "
                   f"{np.round(mcq, 4).tolist()}; smallest detectable bias / max |dJ/dk|: PG-theorem form "
                   f"{mde_rel:.3f}, GPOMDP {mde_g:.3f}", data={"k": ks, "exact": exact, "mc": mc, "se": se}, figure=fig)


# ----------------------------------------------------------------------------- gpomdp-fixed-horizon
def _truncated_value(mdp, theta, H):
    """J_H(theta) = rho^T sum_{t<H} (gamma P_pi)^t r_pi, by forward propagation of the state distribution."""
    pi = probs(theta)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    r_pi = np.sum(pi * mdp.r, axis=1)
    d, J = mdp.rho.copy(), 0.0
    for t in range(H):
        J += mdp.gamma**t * float(d @ r_pi)
        d = d @ P_pi
    return J


def _truncated_gradient_fd(mdp, theta, H, h=1e-5):
    """Central finite differences of the closed-form J_H (error ~1e-10 relative): the independent reference."""
    g = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[idx] = h
        g[idx] = (_truncated_value(mdp, theta + e, H) - _truncated_value(mdp, theta - e, H)) / (2 * h)
    return g


def _enumerated_rollouts(mdp, H):
    """Every (s_0, a_0, ..., s_{H-1}, a_{H-1}) path as one :class:`~mdpgrad.rollouts.Rollouts` batch
    (horizon 'fixed'), with the path's states/actions; its probability is computed by the caller."""
    import itertools

    from mdpgrad.rollouts import Rollouts

    S, A = mdp.shape
    paths = np.array(list(itertools.product(range(S * A), repeat=H)), dtype=np.int64)
    s, a = paths // A, paths % A
    n = paths.shape[0]
    states = np.concatenate([s, np.zeros((n, 1), dtype=np.int64)], axis=1).astype(np.int32)
    return Rollouts(states, a.astype(np.int32), mdp.r[s, a], np.full(n, H, dtype=np.int64), "fixed", mdp.gamma), s, a


def _path_probs(mdp, pi, s, a):
    p = mdp.rho[s[:, 0]] * pi[s[:, 0], a[:, 0]]
    for t in range(1, s.shape[1]):
        p = p * mdp.P[s[:, t - 1], a[:, t - 1], s[:, t]] * pi[s[:, t], a[:, t]]
    return p


@claim(
    id="gpomdp-fixed-horizon",
    paper="(standard: Baxter & Bartlett 2001, GPOMDP; Williams 1992)",
    topic=TOPIC,
    statement="On a fixed horizon H, the GPOMDP estimator sum_t grad log pi(a_t|s_t) (sum_{k>=t} gamma^k r_k - "
    "gamma^t b(s_t)) is unbiased for the gradient of the truncated objective J_H = E sum_{t<H} gamma^t r_t, "
    "for any state baseline b.",
    bound="0",
    assumptions=("tabular MDP, softmax policy", "fixed horizon H, per-step discount gamma^t"),
    instance="(a) exact enumeration: Garnet(3, 2, 2), gamma = 0.9, H = 5 (7,776 paths), theta ~ N(0, 1), baseline "
    "b = 0 and b = V^pi; (b) Monte Carlo: Garnet(6, 3, 3), gamma = 0.9, H = 10, 20,000 (quick) / 200,000 (full) "
    "trajectories, baseline V^pi; rho ~ Dirichlet(1)",
    priority="A",
    expected="holds",
    controls={"geometric-discount": "fixed-horizon rollouts labelled geometric (the library's sample_trajectories("
              "horizon='geometric', lengths=H)): the estimator drops gamma^t",
              "stale-policy": "rollouts drawn from the previous policy (theta - 0.5 grad-sized step) without "
              "importance weights (behavior= not passed)"},
)
def gpomdp_fixed_horizon(budget, rng, control=None):
    """Issue 15 item 7: the library's GPOMDP (:func:`mdpgrad.estimators.per_trajectory_gradients`,
    ``estimator="gpomdp"``) on fixed-horizon rollouts against the exact gradient of J_H (central finite
    differences of its closed form, an independent reference).

    (a) Exact: the GPOMDP expectation by enumerating every path of a small instance (the library computes
    each path's sample, the path probabilities weight them): max |E g_hat - grad J_H| / max |grad J_H|
    <= 1e-8 for b = 0 and b = V^pi. This detects any bias above 1e-8 relative, so a 10% error in the
    gradient is detected with certainty.
    (b) Monte Carlo on a larger instance: max |z| over the 18 coordinates at family-wise level 6.3e-5
    (Bonferroni); its smallest detectable coordinate bias (power 0.8) is in the details. ``min_detectable``
    is part (a)'s: 1e-8 relative to max |grad J_H|.
    """
    S, A, H = 3, 2, 5
    mdp = envs.garnet(S, A, 2, gamma=0.9, seed=_seed(rng), rho=rng.dirichlet(np.ones(S)))
    theta = rng.normal(size=(S, A))
    pi = probs(theta)
    exact = _truncated_gradient_fd(mdp, theta, H)
    ro, s, a = _enumerated_rollouts(mdp, H)
    if control == "geometric-discount":
        ro = type(ro)(ro.states, ro.actions, ro.rewards, ro.lengths, "geometric", ro.gamma)
    mu = probs(theta - 0.5 * np.sign(exact)) if control == "stale-policy" else pi
    w = _path_probs(mdp, mu, s, a)
    errs = []
    v_pi = evaluate(mdp, pi).v
    for b in (None, v_pi):
        samples = E.per_trajectory_gradients(ro, theta, estimator="gpomdp", baseline=b)
        mean = np.tensordot(w, samples, axes=1)
        errs.append(float(np.max(np.abs(mean - exact)) / np.max(np.abs(exact))))
    r_exact = at_most(max(errs), 1e-8, what="max relative error of the enumerated GPOMDP mean")
    # (b) Monte Carlo
    S2, A2, H2 = 6, 3, 10
    mdp2 = envs.garnet(S2, A2, 3, gamma=0.9, seed=_seed(rng), rho=rng.dirichlet(np.ones(S2)))
    theta2 = rng.normal(size=(S2, A2))
    pi2 = probs(theta2)
    exact2 = _truncated_gradient_fd(mdp2, theta2, H2)
    n = budget.pick(20_000, 200_000)
    mu2 = probs(theta2 - 0.5 * np.sign(exact2)) if control == "stale-policy" else pi2
    ro2 = sample_trajectories(mdp2, mu2, n, horizon="geometric" if control == "geometric-discount" else "fixed",
                              length=H2, lengths=np.full(n, H2), seed=_seed(rng))
    samples2 = E.per_trajectory_gradients(ro2, theta2, estimator="gpomdp", baseline=evaluate(mdp2, pi2).v)
    r_mc = unbiased(samples2.reshape(n, -1), exact2.reshape(-1), what="GPOMDP mean")
    mean2 = samples2.mean(0)
    se2 = samples2.std(0, ddof=1) / np.sqrt(n)
    fig, ax = new_figure()
    k = np.arange(exact2.size)
    ax.errorbar(k, mean2.ravel(), yerr=4 * se2.ravel(), fmt="o", ms=3, label="GPOMDP Monte Carlo (+- 4 SE)")
    ax.plot(k, exact2.ravel(), "kx", label="exact grad J_H (finite differences)")
    ax.set_xlabel("coordinate (s, a)")
    ax.set_ylabel("dJ_H / dtheta")
    ax.set_title(f"fixed horizon H={H2}; enumeration (S=3, H=5): max rel. error {max(errs):.1e}"
                 + (f" [control {control}]" if control else ""), fontsize=8)
    ax.legend(fontsize=7)
    return Verdict(predicted=0.0, measured=max(errs), verdict=combine(r_exact, r_mc),
                   rule=f"{r_exact.rule}; {r_mc.rule}", min_detectable=1e-8,
                   details=f"(a) enumeration over {ro.n} paths: relative error b=0 {errs[0]:.1e}, b=V^pi {errs[1]:.1e} "
                   f"(<= 1e-8); (b) Monte Carlo n={n}: {r_mc.verdict}, smallest detectable coordinate bias "
                   f"{r_mc.min_detectable:.3g} (max |grad J_H| = {np.max(np.abs(exact2)):.3g})",
                   data={"exact": exact2, "mc_mean": mean2, "mc_se": se2}, figure=fig)
