"""Preference games and Nash learning: claims checked exactly on small games.

Every check builds an explicit game (``mdpgrad.games``), computes the equilibrium with a
solver that is certified independently of the method under test (first-order residual for
the regularized Nash equilibrium, an LP for the minimax winner), runs the method, and
compares the measured series with the stated rate.
"""

from __future__ import annotations

import numpy as np

from mdpgrad.claims import Verdict, claim, holds_if
from mdpgrad.games import (
    PreferenceGame,
    exploitability,
    minimax_winner,
    random_intransitive,
    regularized_exploitability,
    regularized_nash,
    rock_paper_scissors,
    rps_with_dominated,
    run_dynamics,
    spo_selfplay,
)
from mdpgrad.games.objectives import (
    dpo_loss,
    dpo_minimize,
    fit_bradley_terry,
    hypo_minimize,
    inpo_closed_form,
    inpo_minimizer,
    inpo_sample_counts,
    iterative_dpo,
    rlhf_policy,
    sppo_closed_form,
    sppo_square_loss_minimizer,
)
from mdpgrad.games.preference import bradley_terry, log_normalize, span_log_ratio, tv
from mdpgrad.plotting import claim_figure
from mdpgrad.rates import fit_exponential, fit_power_law
from mdpgrad.stats import kl_divergence as kl

_NASH_MP = "Accelerating Nash Learning from Human Feedback via Mirror Prox"
_NLHF = "Nash Learning from Human Feedback"
_SPPO = "Self-Play Preference Optimization for Language Model Alignment"
_SPO = "A Minimaximalist Approach to Reinforcement Learning from Human Feedback"
_INPO = "Iterative Nash Policy Optimization: Aligning LLMs with General Preferences via No-Regret Learning"
_APO = "Accelerated Preference Optimization for Large Language Model Alignment"
_HYPO = "The Importance of Online Data: Understanding Preference Fine-tuning via Coverage"
_LAMD = "Local and adaptive mirror descents in extensive-form games"



def _game(K, beta, rng, kind="random"):
    P = random_intransitive(K, rng) if kind == "random" else rock_paper_scissors(K // 3, margin=0.4)
    mu = rng.dirichlet(np.ones(K))
    mu = 0.5 * mu + 0.5 / K  # keep the reference away from 0 so log mu is well conditioned
    return PreferenceGame(P, mu / mu.sum(), beta, name=f"{kind} K={K}")


# ---------------------------------------------------------------------------------------
@claim(
    id="nash-mp-linear",
    paper=_NASH_MP,
    topic="games",
    statement="Nash-MP converges last-iterate linearly to the beta-regularized Nash equilibrium: "
    "KL(pi*_beta || pi_N) = O((1+2 beta)^(-N/2)) in the number N of preference queries, at a rate "
    "independent of the number of responses K; exploitability and span(log pi - log pi*) also "
    "decay geometrically.",
    bound="(1 + 2*b)**(-q/2)",  # b = beta, q = N queries (beta and N are sympy functions)
    assumptions=("P + P^T = 1, entries in [0, 1]", "mu > 0", "exact win-rate oracle", "eta = 2"),
    instance="random intransitive P (sigmoid of skew Gaussian) and an RPS family; mu = mixed Dirichlet; "
    "quick: K in {10, 30, 300}, beta in {0.1, 0.5} (4 games); full: beta in {0.05, 0.1, 0.5} x K in "
    "{10, 100, 1000} and the sweep K = 10 .. 10,000 at beta = 0.5",
    priority="A",
    expected="holds",
    controls={"no-extrapolation": "Nash-MP's update taken from pi_t itself (no extrapolation step; "
              "run_dynamics method 'nash_mp_noextra')"},
    notes="Catalogue correction: the abstract's exponent is half the measured (and derived) one; the rate is "
    "tested two-sided around the derived tight value, so a slower method (e.g. without extrapolation) "
    "cannot pass by satisfying the weaker bound.",
)
def nash_mp_linear(budget, rng, control=None):
    """N counts preference queries (oracle calls of the win-rate vector P pi); one Mirror-Prox
    iteration makes two. [derived] Linearized at pi*, the log-probability error e evolves as
    e' = ((1 + eta beta) e + eta J e + eta^2 J^2 e)/(1 + eta beta)^2 with J the (skew) Jacobian of
    pi -> P pi / 1 in the Fisher geometry; on an eigenmode i omega of J the factor is
    |1 + eta beta + i eta omega - eta^2 omega^2| / (1 + eta beta)^2, which equals 1/(1 + 2 beta)
    at omega = 0 (eta = 2) and is smaller for 0 < |omega| <= 1/2. KL is quadratic in e, so the
    tight per-query slope of log KL is -log(1 + 2 beta): twice the abstract's exponent
    -log(1 + 2 beta)/2. Rule: for every game the fitted per-query slope divided by -log(1 + 2 beta)
    lies in the band [0.95, 1.25] (two-sided: the abstract's bound is ratio >= 0.5, the slowest
    mode gives exactly 1, fast modes of small games up to ~1.05 measured); exploitability and span
    decay with a negative slope CI; K-independence: per beta the relative spread of the ratios over
    K is < 10%. pi*_beta comes from regularized_nash (Mirror Prox + Newton polishing for K <= 1500,
    else the certified end of a long run), certified by span(log pi - log mu - P pi / beta) <= 1e-11.
    """
    from mdpgrad.verdicts import combine, slope_in_band

    method = "nash_mp" if control is None else "nash_mp_noextra"
    cases = budget.pick([(10, 0.1, "random"), (30, 0.1, "rps"), (30, 0.5, "rps"), (300, 0.5, "random")],
                        [(K, b, "random") for b in (0.05, 0.1) for K in (10, 100, 1000)]
                        + [(30, 0.1, "rps"), (300, 0.05, "rps")]
                        + [(K, 0.5, "random") for K in (10, 30, 100, 300, 1000, 3000, 10000)])
    rows, series, parts = [], [], []
    for K, beta, kind in cases:
        g = _game(K, beta, rng, kind)
        n_it = int(np.ceil(40.0 / np.log(1 + 2 * beta))) // 2 + 5  # KL 1e0 -> below the 1e-13 floor
        if K <= 1500:
            sol = regularized_nash(g, tol=1e-11)
            star, certified = sol.pi, sol.residual
        else:  # a long Nash-MP run: its certified last iterate is pi* (residual <= 1e-11)
            extra = int(np.ceil(np.log(1e13) / np.log(1 + 2 * beta)))
            star = run_dynamics(g, "nash_mp", n_it + extra).pi[-1]
            certified = _residual(g, star)
        run = run_dynamics(g, method, n_it)
        q = run.queries
        k = kl(star[None, :], run.pi)
        fit = fit_exponential(q, k)
        L = np.log(1 + 2 * beta)
        ratio = None if fit is None else (-fit.ci[1] / L, -fit.ci[0] / L)  # CI of slope / -L
        gap = np.asarray(regularized_exploitability(g, run.pi))
        span = span_log_ratio(run.pi, star[None, :])
        fg, fs = fit_exponential(q, gap), fit_exponential(q, span)
        parts += [slope_in_band(ratio, 0.95, 1.25, what=f"K={K} b={beta}: slope/(-log(1+2b))"),
                  slope_in_band(fg, hi=0.0, what="exploitability slope"), slope_in_band(fs, hi=0.0, what="span slope"),
                  "holds" if certified <= 1e-11 else "error"]
        rows.append((K, beta, kind, fit.slope if fit else np.nan, -L / 2, fg.slope if fg else np.nan,
                     fs.slope if fs else np.nan, certified))
        series.append((K, beta, kind, q, k))
    ratios = np.array([r[3] / (2 * r[4]) for r in rows])  # measured slope / tight slope -log(1+2b)
    spread = {}
    for beta in sorted({r[1] for r in rows}):
        sl = np.array([r[3] for r in rows if r[1] == beta])
        spread[beta] = float((sl.max() - sl.min()) / abs(sl.mean()))
    k_indep = all(v < 0.10 for v in spread.values())
    parts.append("holds" if k_indep else "violated")
    verdict = combine(*parts)
    fig, ax = claim_figure(control)
    for j, (K, beta, kind, q, k) in enumerate(series):
        ax.semilogy(q, np.where(k > 0, k, np.nan), lw=1, color=f"C{j % 10}", label=f"K={K} b={beta} {kind}")
        ax.semilogy(q, k[0] * (1 + 2 * beta) ** (-q / 2.0), "--", lw=0.6, color=f"C{j % 10}")
    ax.set_xlim(0, 80)
    ax.set_ylim(1e-14, 10)
    ax.set_xlabel("preference queries N")
    ax.set_ylabel("KL(pi*_beta || pi_N)")
    ax.set_title(f"{method}; dashed: KL_0 (1+2beta)^(-N/2) (the abstract's rate)", fontsize=9)
    ax.legend(fontsize=5, ncol=2)
    measured = "; ".join(f"K={r[0]} b={r[1]}: {r[3]:.4f}" for r in rows)
    agree = "agree" if k_indep else "do NOT agree"
    return Verdict(
        predicted="slope/query in [-1.25, -0.95] x log(1+2beta) (abstract: <= -0.5 x); K-spread < 10%",
        measured=f"slope/(-log(1+2beta)) from {ratios.min():.3f} to {ratios.max():.3f}; spreads {spread}",
        verdict=verdict,
        rule="per game: CI of slope/(-log(1+2beta)) inside [0.95, 1.25]; gap and span slope CI < 0; "
        "per beta: relative spread of slopes over K < 0.10",
        details=f"{method}: fitted per-query log-KL slopes: {measured}. Rates {agree} across K (relative spread "
        f"per beta { {b: round(s, 4) for b, s in spread.items()} }); measured factor per query = "
        f"(1+2beta)^-({ratios.min():.3f}..{ratios.max():.3f}), i.e. {2 * ratios.min():.2f}..{2 * ratios.max():.2f}"
        " times the abstract's exponent.",
        data={"rows": np.array([r[:2] + r[3:] for r in rows], dtype=float),
              "columns": "K, beta, slope_kl, predicted, slope_gap, slope_span, residual"},
        figure=None if control else fig,
    )


def _residual(g, pi):
    d = np.log(pi) - g.log_mu - g.P @ pi / g.beta
    return float(d.max() - d.min())


# ---------------------------------------------------------------------------------------
@claim(
    id="nash-md-last-iterate",
    paper=_NLHF,
    topic="games",
    statement="Tabular Nash-MD (a mirror-descent step from the geometric mixture pi_t^(1-eta beta) mu^(eta "
    "beta)) produces a last iterate converging to the regularized Nash equilibrium.",
    bound="1/T",
    assumptions=("exact win rates", "eta_t = 2/(beta (t+2))"),
    instance="random intransitive P, K=10, beta=0.1; contrast: unregularized MWU on RPS",
    priority="A",
    expected="holds",
    controls={"constant-step": "Nash-MD with the constant step eta = 1/(1+beta) instead of the theorem's "
              "decreasing eta_t = 2/(beta (t+2))"},
)
def nash_md_last_iterate(budget, rng, control=None):
    """With a constant step, Nash-MD's fixed point is pi ∝ mu exp(P pi^mu / beta) (the mixture,
    not pi, enters P), so its last iterate stalls at an O(eta) bias: the decreasing step
    eta_t = 2/(beta(t+2)) of the paper's theorem is used (eta_0 beta = 1). Checked: KL(pi* || pi_T)
    < 1e-6 and a power-law slope <= -1 (the O(1/T) rate); measured slope ~ -2. Negative control:
    unregularized MWU on RPS, whose last iterate does not converge (KL(uniform || pi_t) does not
    decrease) while its average does. Nash-MP reaches 1e-6 in far fewer queries (reported).
    Rule: at_most(KL_T, 1e-6) and slope_in_band(fit, hi=-1) (one-sided: O(1/T) is the theorem's bound,
    the measured slope ~ -2 is faster); the MWU contrast must behave as described."""
    from mdpgrad.verdicts import at_most, combine, slope_in_band

    beta, K = 0.1, 10
    g = _game(K, beta, rng)
    star = regularized_nash(g).pi
    T = budget.pick(3000, 30000)
    eta = (lambda t: 2.0 / (beta * (t + 2))) if control is None else 1.0 / (1.0 + beta)
    run = run_dynamics(g, "nash_md", T, step_size=eta, record_every=10)
    k = kl(star[None], run.pi)
    fit = fit_power_law(run.steps[1:], k[1:])
    v_rate = slope_in_band(fit, hi=-1.0, what="log-log slope of KL")
    final = float(k[-1])
    v_final = at_most(final, 1e-6, what="KL(pi*||pi_T)")
    mp = run_dynamics(g, "nash_mp", 200)
    kmp = kl(star[None], mp.pi)
    q_mp = int(mp.queries[np.argmax(kmp < 1e-6)]) if (kmp < 1e-6).any() else -1
    q_md = int(run.steps[np.argmax(k < 1e-6)]) if (k < 1e-6).any() else -1
    # negative control: MWU on RPS (beta = 0), constant eta
    rps = PreferenceGame(rock_paper_scissors(1, 0.4), np.ones(3) / 3, 0.0)
    u0 = np.array([0.5, 0.3, 0.2])
    ctl = run_dynamics(rps, "mwu", budget.pick(2000, 20000), step_size=0.1, pi0=u0, record_every=10)
    kc = kl(np.ones(3)[None] / 3, ctl.pi)
    gap_avg = np.asarray(exploitability(rps.P, ctl.avg_pi))
    gap_last = np.asarray(exploitability(rps.P, ctl.pi))
    control_ok = kc[-1] >= kc[0] - 1e-12 and gap_avg[-1] < 0.1 * gap_last[len(gap_last) // 2:].max()
    verdict = combine(v_final, v_rate, "holds" if control_ok else "violated")
    fig, ax = claim_figure(control)
    ax.loglog(run.steps[1:], k[1:], label="Nash-MD KL(pi*||pi_t)")
    ax.loglog(mp.queries[1:], np.where(kmp[1:] > 0, kmp[1:], np.nan), label="Nash-MP (per query)")
    ax.loglog(ctl.steps[1:], kc[1:], label="control: MWU on RPS, KL(unif||pi_t)")
    ax.loglog(ctl.steps[1:], gap_avg[1:], label="control: gap of MWU average")
    ax.loglog(run.steps[1:], k[1] * run.steps[1] / run.steps[1:], "k--", lw=0.8, label="1/T")
    ax.set_xlabel("t (queries)")
    ax.legend(fontsize=6)
    ax.set_title("Nash-MD last iterate", fontsize=9)
    return Verdict(
        predicted="KL -> 0, slope <= -1", measured=f"KL_T = {final:.2e}, slope {fit.slope if fit else np.nan:.3f}",
        ci=fit.ci if fit else None, verdict=verdict, rule=f"{v_final.rule}; {v_rate.rule}; MWU contrast",
        details=f"Nash-MD (K={K}, beta={beta}, T={T}) reaches KL<1e-6 after {q_md} queries, Nash-MP after {q_mp}. "
        f"Control MWU on RPS: KL(unif||pi_t) {kc[0]:.3g} -> {kc[-1]:.3g} (no last-iterate convergence), "
        f"average-iterate gap {gap_avg[-1]:.2e}.",
        data={"t": run.steps, "kl_md": k, "q_mp": mp.queries, "kl_mp": kmp, "t_ctl": ctl.steps, "kl_ctl": kc,
              "gap_avg_ctl": gap_avg},
        figure=None if control else fig,
    )


# ---------------------------------------------------------------------------------------
@claim(
    id="sppo-nash-mwu",
    paper=_SPPO,
    topic="games",
    statement="SPPO's self-play update pi_{t+1} ∝ pi_t exp(eta P(y > pi_t)) approximates the Nash "
    "equilibrium: the average iterate's duality gap max_y P(y > avg pi_T) - 1/2 vanishes; the SPPO "
    "square-loss minimizer implements the closed-form update.",
    bound="sqrt(log(K)/(2*T))",
    assumptions=("exact win rates", "eta = sqrt(8 log K / T) tuned to the horizon"),
    instance="rock-paper-scissors plus a dominated response (K=4), horizons T = 10 .. 3000 (quick, 7) / "
    "10 .. 1e5 (full, 12); random intransitive K=6 for the loss",
    priority="A",
    expected="holds",
    controls={"transposed-preference": "SPPO fed P^T (P[i, j] read as P(j > i), the convention mix-up): the "
              "update then follows the losing rate"},
)
def sppo_nash_mwu(budget, rng, control=None):
    """[derived] Self-play with Hedge on gains g_t = P pi_t in [0, 1]: since pi_t^T P pi_t = 1/2,
    max_y P(y > avg_T pi) - 1/2 = Regret_T / T <= sqrt(log K / (2T)) for eta = sqrt(8 log K / T)
    (Hedge bound log K/eta + eta T/8). Checked at every horizon T (one run per T, batched), plus a
    fitted log-log slope <= -1/2 (+0.1).
    Square loss: SPPO replaces log Z_t by eta/2, exact to first order because E_{pi_t} g = 1/2, so the
    simplex-constrained minimizer of the square loss differs from the closed form by a higher-order
    term: the fitted slope of TV vs 1/eta must be <= -2 (measured ~ -3). Last, the catalogue's
    linear-softmax demonstration (see _dpo_vs_sppo_loglik): a DPO step on one pair lowers both
    log pi(y_w) and log pi(y_l), while SPPO's term for y_w raises log pi(y_w) (pass/fail). Correction to the
    catalogue: SPPO's *full* pair step (y_w and y_l terms together) lowers log pi(y_w) too when the two
    responses' features are nearly collinear (measured, reported) -- SPPO's guarantee is per response
    (exact in the tabular case, where each log-ratio is fitted to its own target), not per pair under
    shared features."""
    from mdpgrad.verdicts import bound_at_every_t, combine, slope_in_band

    P = rps_with_dominated(margin=0.4, dominated_margin=0.3, scissors_margin=0.05)
    K = 4
    Ts = np.unique(np.round(np.logspace(1, np.log10(budget.pick(3000, 100000)), budget.pick(10, 12))).astype(int))
    etas = np.sqrt(8 * np.log(K) / Ts)
    game = PreferenceGame(P if control is None else P.T, np.ones(K) / K, 0.0)
    gaps = np.zeros(len(Ts))
    for i, (T, eta) in enumerate(zip(Ts, etas)):
        # the average of pi_0 .. pi_{T-1} (the T iterates that played): avg_pi[-2] of a T-step run
        run = run_dynamics(game, "sppo", int(T), step_size=float(eta), record_every=int(T) + 1)
        avg = (run.avg_pi[-1] * (T + 1) - run.pi[-1]) / T
        gaps[i] = exploitability(P, avg)
    bound = np.sqrt(np.log(K) / (2 * Ts))
    v_bound = bound_at_every_t(gaps, bound * (1 + 1e-9), name="gap_T", bound_name="sqrt(log K/(2T))")
    within = v_bound.verdict == "holds"
    fit = fit_power_law(Ts, gaps)
    v1 = slope_in_band(fit, hi=-0.4, what="log-log slope of the gap")
    # square-loss minimizer vs closed form
    Pq = random_intransitive(6, rng)
    pit = rng.dirichlet(np.ones(6))
    eta_grid = 2.0 ** -np.arange(0, 12)
    tvs = np.array([float(tv(np.exp(sppo_square_loss_minimizer(Pq, pit, e)), np.exp(sppo_closed_form(Pq, pit, e))))
                    for e in eta_grid])
    fit2 = fit_power_law(1 / eta_grid, tvs)
    v2 = slope_in_band(fit2, hi=-2.0, what="log-log slope of TV in 1/eta")
    # DPO vs SPPO on the chosen/rejected log-likelihoods, linear-softmax policy pi(y) ∝ exp(theta . phi_y)
    dl_dpo, dl_sppo_w, dl_sppo = _dpo_vs_sppo_loglik()
    both_down = dl_dpo[0] < 0 and dl_dpo[1] < 0
    sppo_up = dl_sppo_w[0] > 0
    verdict = combine(v_bound, v1, v2, "holds" if both_down and sppo_up else "violated")
    fig, axes = claim_figure(control, 1, 2, figsize=(8, 3.4))
    axes[0].loglog(Ts, gaps, "o-", label="gap of average")
    axes[0].loglog(Ts, bound, "k--", label="sqrt(log K/(2T))")
    axes[0].set_xlabel("T")
    axes[0].legend(fontsize=7)
    axes[1].loglog(eta_grid, tvs, "o-", label="TV(square-loss min, closed form)")
    axes[1].loglog(eta_grid, tvs[0] * eta_grid**2, "k--", label="eta^2")
    axes[1].set_xlabel("eta")
    axes[1].legend(fontsize=7)
    fig.suptitle("SPPO self-play", fontsize=9)
    return Verdict(
        predicted="gap <= sqrt(log K/(2T)); slope <= -0.5; TV slope <= -2",
        measured=f"gap slope {fit.slope if fit else np.nan:.3f}, max gap/bound {np.max(gaps / bound):.3f}, "
        f"TV slope {fit2.slope if fit2 else np.nan:.3f}",
        ci=fit.ci if fit else None, verdict=verdict, rule=f"{v_bound.rule}; {v1.rule}; {v2.rule}; DPO/SPPO signs",
        tightness=v_bound.tightness,
        details=f"bound at every T: {within}; average-iterate gap at T={Ts[-1]}: {gaps[-1]:.2e} (bound {bound[-1]:.2e}); square-loss vs closed-form "
        f"TV at eta=1: {tvs[0]:.2e}. Linear-softmax step on one pair: DPO changes (log pi(y_w), log pi(y_l)) by "
        f"{dl_dpo[0]:.2e}, {dl_dpo[1]:.2e} (both down); SPPO's y_w term raises log pi(y_w) by {dl_sppo_w[0]:.2e}, but "
        f"SPPO's full pair step with nearly collinear features changes them by {dl_sppo[0]:.2e}, {dl_sppo[1]:.2e}.",
        data={"T": Ts, "gap": gaps, "bound": bound, "eta": eta_grid, "tv": tvs, "dlogpi_dpo": dl_dpo,
              "dlogpi_sppo_chosen_term": dl_sppo_w, "dlogpi_sppo_pair": dl_sppo},
        figure=None if control else fig,
    )


def _dpo_vs_sppo_loglik(step: float = 1e-3):
    """Actual change of (log pi(y_w), log pi(y_l)) after one small gradient step of each loss.

    pi_theta(y) ∝ exp(theta . phi_y), grad log pi(y) = phi_y - E_pi phi. DPO on the pair (y_w, y_l)
    moves theta along +(phi_w - phi_l), so d log pi(y) ∝ (phi_y - E phi).(phi_w - phi_l): negative for both
    when the mean feature lies beyond both along phi_w - phi_l (here a third response with phi = (5, 0)
    carries mass). SPPO's square loss on y_w with target a_w = eta (P(y_w > pi_t) - 1/2) > 0 moves theta along
    2 a_w (phi_w - E phi), so d log pi(y_w) = 2 a_w |phi_w - E phi|^2 > 0 [derived]. Returned: the changes
    for the DPO step, SPPO's y_w term alone, and SPPO's full pair step (y_w and y_l terms together).
    """
    phi = np.array([[1.0, 0.0], [0.9, 0.0], [5.0, 0.0], [0.0, 1.0]])
    w, lo, beta, eta, p_hat = 0, 1, 0.1, 1.0, 0.8  # y_w won; empirical win rates p_hat, 1 - p_hat

    def logp(th):
        return log_normalize(phi @ th)

    th = np.zeros(2)
    pi = np.exp(logp(th))
    g = phi - pi @ phi  # grad log pi(y), rows
    d_dpo = beta * 0.5 * (g[w] - g[lo])  # -grad of -log sigmoid(beta (h_w - h_l)) at h = 0 (sigmoid(0) = 1/2)
    a_w, a_l = eta * (p_hat - 0.5), eta * (0.5 - p_hat)
    d_sppo_w = 2 * a_w * g[w]  # -grad of (l_w - a_w)^2 at l = 0: the chosen response's own term
    d_sppo = d_sppo_w + 2 * a_l * g[lo]  # both terms of the pair
    out = []
    for d in (d_dpo, d_sppo_w, d_sppo):
        new = logp(th + step * d)
        old = logp(th)
        out.append(np.array([new[w] - old[w], new[lo] - old[lo]]))
    return out[0], out[1], out[2]


# ---------------------------------------------------------------------------------------
@claim(
    id="spo-minimax-winner-selfplay",
    paper=_SPO,
    topic="games",
    statement="Self-play with the proportion of wins against the agent's own samples as reward, under a "
    "no-regret update, converges (average iterate) to the Minimax Winner of an intransitive, stochastic "
    "preference; the win fraction excluding self is an unbiased estimate of P(y > pi).",
    bound="sqrt(2*log(K)*(1 + K/n)/T)",
    assumptions=("tabular policy", "n = G+1 samples per round", "Exp3-style importance-weighted losses"),
    instance="RPS (margin 0.3) plus a dominated response, K=4; G=7 peers; unbiasedness: 1,500 (quick) / "
    "20,000 (full) rounds of mdpgrad.games.win_fraction_rewards under uniform pi; self-play T = 1000 x 2 seeds "
    "(quick) / 30000 x 10",
    priority="A",
    expected="holds",
    controls={"self-duel": "the win fraction including the sample's duel with itself (a fair coin), in the "
              "reward estimate and in self-play (win_fraction_rewards / spo_selfplay include_self=True)"},
)
def spo_minimax_winner_selfplay(budget, rng, control=None):
    """[derived] Given y_i = y, the G peers are iid pi and independent of y_i, so E[win fraction | y]
    = sum_y' pi(y') P[y, y'] = P(y > pi): unbiased. Including the self-duel (a fair coin) gives
    (G P(y > pi) + 1/2)/(G+1): biased toward 1/2 (negative control, must be detected at > 4 SE).
    Update: Hedge on importance-weighted losses l_hat(y) = sum_i 1[y_i = y](1 - r_i)/(n pi(y)) (unbiased
    for 1 - P(y > pi_t)); E[sum_y pi l_hat^2] <= 1 + K/n gives E regret <= sqrt(2 T log K (1 + K/n)) at the
    tuned eta, and the average-iterate gap is regret/T. The bound is on max_y E[regret]; the measured
    mean over seeds of max_y (an upper bound of that quantity's sample analogue) is compared with it.
    Not encoded: the 3-step MDP with trajectory-level preferences.
    Unbiasedness rule (mdpgrad.verdicts.unbiased): per round the vector x[y] = sum_i 1[y_i = y](r_i - P(y > pi))
    / (n pi(y)) has mean 0 for an unbiased reward (rounds are iid; samples within a round are not), so
    max |z| over the K coordinates is compared with the Bonferroni threshold; min_detectable is in units of
    P(y > pi) (>= 0.34 here, so a 10% error is ~0.034). The self-duel control biases the dominated
    response's reward by (1/2 - 0.34)/8 = 0.02. Affine rescaling of the reward does not move Hedge's
    equilibrium, so self-play with the self-duel reward still converges: the unbiasedness part catches it."""
    from mdpgrad.games import win_fraction_rewards
    from mdpgrad.verdicts import combine, slope_in_band, unbiased

    P = rps_with_dominated(margin=0.3, dominated_margin=0.2, scissors_margin=0.05)
    K, G = 4, 7
    n = G + 1
    mw = minimax_winner(P)
    # (1) unbiasedness of the win-fraction reward (library win_fraction_rewards), M iid rounds
    include_self = control == "self-duel"
    pi = np.full(K, 1.0 / K)
    g = P @ pi
    M = budget.pick(1_500, 20_000)
    X = np.zeros((M, K))
    for m in range(M):
        ys = rng.choice(K, size=n, p=pi)
        rew = win_fraction_rewards(P, ys, rng, include_self=include_self)
        X[m] = np.bincount(ys, weights=rew - g[ys], minlength=K) / (n * pi)
    v_unb = unbiased(X, 0.0, what="win-fraction reward - P(y > pi)")
    zs = X.mean(0) / (X.std(0, ddof=1) / np.sqrt(M))
    # (2) sampled self-play
    T = budget.pick(1000, 30000)
    seeds = budget.pick(2, 10)
    checkpoints = np.unique(np.round(np.logspace(1, np.log10(T), 15)).astype(int))
    runs = [spo_selfplay(P, T, n, rng, record=checkpoints, include_self=include_self) for _ in range(seeds)]
    gaps = np.array([exploitability(P, r.avg_pi) for r in runs])
    s = runs[-1].avg_pi[-1]
    mean_gap = gaps.mean(0)
    bound = np.sqrt(2 * np.log(K) * (1 + K / n) / T)
    fit = fit_power_law(checkpoints, mean_gap)
    # (3) BT-RLHF on the same game
    rl = rlhf_policy(fit_bradley_terry(P), np.ones(K) / K, 0.0)
    gap_rl = float(exploitability(P, rl))
    v_slope = slope_in_band(fit, hi=0.0, what="log-log slope of the mean gap")
    verdict = combine(v_unb, v_slope, "holds" if mean_gap[-1] <= bound else "violated")
    fig, ax = claim_figure(control)
    ax.loglog(checkpoints, mean_gap, "o-", label=f"SPO self-play, mean of {seeds} seeds")
    ax.axhline(bound, color="k", ls="--", lw=0.8, label="expected-regret bound at T")
    ax.axhline(gap_rl, color="C3", ls=":", label="BT-RLHF policy gap")
    ax.set_xlabel("round t")
    ax.set_ylabel("max_y P(y > avg pi) - 1/2")
    ax.legend(fontsize=7)
    ax.set_title("SPO self-play -> minimax winner", fontsize=9)
    return Verdict(
        predicted=f"gap_T <= {bound:.3g}; |z| <= 4 (unbiased)",
        measured=f"gap_T = {mean_gap[-1]:.3g}; max|z| = {np.max(np.abs(zs)):.2f}",
        verdict=verdict, rule=f"{v_unb.rule}; {v_slope.rule}; mean gap_T <= expected-regret bound / T",
        min_detectable=v_unb.min_detectable, tightness=float(mean_gap[-1] / bound),
        details=f"minimax winner (LP) {np.round(mw.pi, 4)}; SPO average {np.round(s, 3)}; "
        f"BT-RLHF picks {np.round(rl, 3)} with gap {gap_rl:.3f}. Power-law slope of the gap "
        f"{fit.slope if fit else np.nan:.3f}.",
        data={"t": checkpoints, "gap": gaps, "bound": bound, "z": zs},
        figure=None if control else fig,
    )


# ---------------------------------------------------------------------------------------
@claim(
    id="rlhf-bt-not-minimax-winner",
    paper=_SPPO,
    topic="games",
    statement="RLHF with a Bradley-Terry reward model falls short on intransitive preferences: on an "
    "intransitive P the BT-reward-maximizing policy is a pure response that is not a minimax winner "
    "(exploitable), whereas on transitive (BT) preferences it is the Condorcet/minimax winner; DPO on the "
    "same pairs concentrates on the same exploitable response.",
    bound="0",
    assumptions=("BT fitted by maximum likelihood on all pairs", "unregularized RLHF (beta = 0) and beta = 0.1",
                 "DPO population loss on all pairs, beta = 0.05"),
    instance="RPS plus a dominated response (K=4); contrast: BT preferences with random scores (K=6)",
    priority="A",
    expected="holds",
    controls={"transitive-preference": "the same check on the Bradley-Terry matrix of the fitted scores "
              "(transitive), where the BT-RLHF policy is the minimax winner and the separation must vanish"},
)
def rlhf_bt_not_minimax_winner(budget, rng, control=None):
    """The abstract's qualitative statement, made quantitative: exploitability max_y P(y > pi) - 1/2
    of the RLHF policy (0 at a minimax winner). Also the beta-regularized versions: RLHF's
    pi ∝ mu exp(r/beta) against the regularized Nash pi*_beta (regularized gap). Rule: all of pure RLHF
    policy, gap > 0.1, regularized gap > 10 x that of pi*_beta, DPO on the same response with gap > 0.1,
    and gap 0 on transitive P (exact quantities)."""
    P = rps_with_dominated(margin=0.4, dominated_margin=0.3, scissors_margin=0.05)
    if control == "transitive-preference":
        P = bradley_terry(fit_bradley_terry(P))
    K = 4
    s = fit_bradley_terry(P)
    rl = rlhf_policy(s, np.ones(K) / K, 0.0)
    mw = minimax_winner(P)
    gap_rl = float(exploitability(P, rl))
    beta = 0.1
    gm = PreferenceGame(P, np.ones(K) / K, beta)
    rl_b = rlhf_policy(s, gm.mu, beta)
    star = regularized_nash(gm).pi
    rgap_rl, rgap_star = float(regularized_exploitability(gm, rl_b)), float(regularized_exploitability(gm, star))
    # DPO on the same preferences (all pairs, labels ~ P): its population minimizer is the BT fit in
    # policy form, pi ∝ pi_ref exp(s_BT / beta_dpo), so as beta_dpo -> 0 it concentrates on the BT argmax too
    dpo = np.exp(dpo_minimize(P * (1 - np.eye(K)), np.full(K, -np.log(K)), 0.05))
    gap_dpo = float(exploitability(P, dpo))
    # control: transitive preferences
    sc = rng.normal(size=6)
    Pt = bradley_terry(sc)
    rl_t = rlhf_policy(fit_bradley_terry(Pt), np.ones(6) / 6, 0.0)
    gap_t = float(exploitability(Pt, rl_t))
    pure = rl.max() == 1.0
    ok = (pure and gap_rl > 0.1 and abs(mw.gap) < 1e-9 and abs(gap_t) < 1e-12 and rgap_rl > 10 * max(rgap_star, 1e-12)
          and int(np.argmax(dpo)) == int(np.argmax(rl)) and gap_dpo > 0.1)
    fig, ax = claim_figure(control)
    x = np.arange(K)
    ax.bar(x - 0.2, mw.pi, 0.4, label=f"minimax winner (gap {mw.gap:.1e})")
    ax.bar(x + 0.2, rl, 0.4, label=f"BT-RLHF (gap {gap_rl:.2f})")
    ax.set_xticks(x, ["rock", "paper", "scissors", "dominated"])
    ax.legend(fontsize=7)
    ax.set_title("BT reward model on intransitive preferences", fontsize=9)
    return Verdict(
        predicted="RLHF gap > 0 (intransitive), = 0 (transitive)",
        measured=f"gap {gap_rl:.3f} (intransitive), {gap_t:.1e} (transitive)",
        verdict=holds_if(ok), rule="RLHF pure, gap > 0.1, regularized gap > 10 x pi*_beta's, DPO same response "
        "with gap > 0.1; transitive gap < 1e-12",
        details=f"BT scores {np.round(s, 3)}; RLHF picks {rl}; beta=0.1: regularized gap of RLHF {rgap_rl:.3f} vs "
        f"pi*_beta {rgap_star:.1e}. DPO (beta=0.05, all pairs) puts {dpo.max():.3f} on the same response, gap "
        f"{gap_dpo:.3f}.",
        data={"bt_scores": s, "rlhf": rl, "minimax_winner": mw.pi, "gap_rlhf": gap_rl, "gap_transitive": gap_t},
        figure=None if control else fig,
    )


# ---------------------------------------------------------------------------------------
@claim(
    id="inpo-noregret-nash",
    paper=_INPO,
    topic="games",
    statement="The population minimizer of INPO's pairwise loss E[(h_t(y_w, y_l) - eta/2)^2] is the "
    "KL-regularized online-mirror-descent step pi_{t+1} ∝ pi_t^(1-eta beta) pi_ref^(eta beta) exp(eta "
    "P(y > pi_t)) (no per-response win rates needed); iterating it drives the duality gap of the "
    "beta-regularized game to 0.",
    bound="0",
    assumptions=("tabular policy", "pairs y, y' ~ pi_t iid with labels ~ Bernoulli(P)"),
    instance="random intransitive P, K=6, beta=0.1, eta=1; sampled data n=1e8 pairs",
    priority="B",
    expected="holds",
    controls={"no-reference-term": "INPO's loss without the reference-policy term (inpo_minimizer with "
              "beta = 0), compared with the beta = 0.1 closed form"},
)
def inpo_noregret_nash(budget, rng, control=None):
    """[derived] With h(y, y') = u_y - u_y', u = log pi - (1-eta beta) log pi_t - eta beta log pi_ref,
    the population loss is weighted least squares with win counts N[w,l] = 2 pi_t(w) pi_t(l) P[w,l];
    its normal equations give 2 pi_t(y)(u_y - E_{pi_t} u) = eta pi_t(y)(2 P(y > pi_t) - 1), i.e.
    u = eta P pi_t + const, exactly the OMD step. Tolerances: population TV <= 1e-10 (lstsq on a
    K^2 x K system, condition ~ 1/min pi_t^2 ~ 1e3, times eps); sampled (n = 1e8): catalogue's
    TV < 1e-3 (sampling error ~ eta sqrt(K/n) ~ 3e-4). Iteration: exact INPO steps; the regularized gap
    must fall below 1e-10 with a negative fitted exponential slope."""
    from mdpgrad.verdicts import at_most, combine, slope_in_band

    beta_loss = None  # the minimizer's beta (the control drops the reference term)
    K, beta, eta = 6, 0.1, 1.0
    beta_loss = beta if control is None else 0.0
    P = random_intransitive(K, rng)
    ref = rng.dirichlet(np.ones(K)) * 0.5 + 0.5 / K
    log_ref = np.log(ref / ref.sum())
    game = PreferenceGame(P, np.exp(log_ref), beta)
    pit = rng.dirichlet(np.ones(K))
    target = inpo_closed_form(P, pit, log_ref, beta, eta)
    pop = inpo_minimizer(2 * np.outer(pit, pit) * P, pit, log_ref, beta_loss, eta)
    tv_pop = float(tv(np.exp(pop), np.exp(target)))
    n = int(budget.pick(1e8, 1e9))
    samp = inpo_minimizer(inpo_sample_counts(P, pit, n, rng), pit, log_ref, beta_loss, eta)
    tv_samp = float(tv(np.exp(samp), np.exp(target)))
    # iterate (exact population minimizer each round, computed from the loss, not the closed form)
    T = budget.pick(150, 300)
    lp = log_ref.copy()
    gaps = []
    for _ in range(T):
        pi = np.exp(lp)
        gaps.append(float(regularized_exploitability(game, pi)))
        lp = inpo_minimizer(2 * np.outer(pi, pi) * P, pi, log_ref, beta_loss, eta)
    gaps = np.maximum(np.array(gaps), 0.0)
    fit = fit_exponential(np.arange(T), gaps)
    # sampled iteration
    Ts = budget.pick(15, 60)
    lp = log_ref.copy()
    sgaps = []
    for _ in range(Ts):
        pi = np.exp(lp)
        sgaps.append(float(regularized_exploitability(game, pi)))
        lp = inpo_minimizer(inpo_sample_counts(P, pi, 10**6, rng), pi, log_ref, beta_loss, eta)
    verdict = combine(at_most(tv_pop, 1e-10, what="TV(population minimizer, OMD step)"),
                      at_most(tv_samp, 1e-3, what="TV(sampled minimizer, OMD step)"),
                      at_most(gaps.min(), 1e-10, what="min regularized gap"),
                      slope_in_band(fit, hi=0.0, what="log-gap slope"))
    fig, ax = claim_figure(control)
    ax.semilogy(np.where(gaps > 0, gaps, np.nan), label="INPO, population loss")
    ax.semilogy(sgaps, label="INPO, 1e6 sampled pairs / round")
    ax.set_xlabel("round t")
    ax.set_ylabel("regularized duality gap")
    ax.legend(fontsize=7)
    ax.set_title("INPO", fontsize=9)
    return Verdict(
        predicted="TV_pop ~ 0, TV_sampled < 1e-3, gap -> 0",
        measured=f"TV_pop {tv_pop:.1e}, TV_sampled(n={n:.0e}) {tv_samp:.1e}, min gap {gaps.min():.1e}",
        verdict=verdict, rule="TV_pop <= 1e-10, TV_sampled <= 1e-3, min gap <= 1e-10, log-gap slope CI < 0",
        details=f"per-round gap factor {fit.rate if fit else np.nan:.3f}; sampled iteration (1e6 pairs/round) "
        f"floors at gap {np.min(sgaps):.1e}",
        data={"gap": gaps, "gap_sampled": np.array(sgaps), "tv_pop": tv_pop, "tv_sampled": tv_samp},
        figure=None if control else fig,
    )


# ---------------------------------------------------------------------------------------
@claim(
    id="apo-nesterov-proximal-point",
    paper=_APO,
    topic="games",
    statement="Iterative DPO (reference = previous iterate, exact population loss) is the KL proximal-point "
    "method pi_{t+1} ∝ pi_t exp(r/beta); APO's Nesterov extrapolation converges faster than iterative DPO "
    "at equal beta.",
    bound="0",
    assumptions=("Bradley-Terry preferences with full pair coverage", "tabular policy", "momentum alpha = 0.5"),
    instance="BT bandit, K=5, rewards ~ N(0, 1), beta = 1",
    priority="A",
    expected="holds",
    controls={"no-momentum": "APO with momentum 0 (the extrapolation step that does not move: plain "
              "iterative DPO)"},
)
def apo_nesterov_proximal_point(budget, rng, control=None):
    """[derived] With BT labels the population DPO loss is a well-specified logistic regression in
    beta(h_i - h_j), minimized at beta(h_i - h_j) = r_i - r_j, i.e. pi ∝ pi_ref exp(r/beta); with
    pi_ref = pi_t this is argmax E_pi r - beta KL(pi||pi_t) (proximal point). Checked by minimizing the
    loss numerically (BFGS, gtol 1e-12: log-prob agreement to 1e-7).
    Acceleration: in log space log pi_t = log pi_0 + c_t r/beta with c_{t+1} = c_t + alpha(c_t - c_{t-1})
    + 1, so c_t ~ t/(1 - alpha): on this bandit APO equals iterative DPO with beta' = beta (1 - alpha)
    asymptotically. Reported: the speedup at equal beta (pass/fail), and at the matched effective step
    beta' the ratio of iterations to reach suboptimality 1e-6 (close to 1: the gain is a larger
    effective step here, consistent with the catalogue's caution)."""
    K, beta, alpha = 5, 1.0, 0.5
    r = np.sort(rng.normal(size=K))[::-1]
    pi0 = np.ones(K) / K
    ex = iterative_dpo(r, pi0, beta, budget.pick(3, 8), exact_loss=True)
    cf = iterative_dpo(r, pi0, beta, budget.pick(3, 8))
    err = float(np.max(np.abs(ex.log_pi - cf.log_pi)))
    T = 60
    dpo = iterative_dpo(r, pi0, beta, T)
    apo = iterative_dpo(r, pi0, beta, T, momentum=alpha if control is None else 0.0)
    matched = iterative_dpo(r, pi0, beta * (1 - alpha), T)

    def first_below(x, thr=1e-6):
        return int(np.argmax(x < thr)) if (x < thr).any() else T + 1

    t_dpo, t_apo, t_m = first_below(dpo.suboptimality), first_below(apo.suboptimality), first_below(matched.suboptimality)
    faster = bool(np.all(apo.suboptimality[2:] <= dpo.suboptimality[2:] + 1e-15)) and t_apo < t_dpo
    ok = err <= 1e-7 and faster
    fig, ax = claim_figure(control)
    ax.semilogy(dpo.suboptimality, label=f"iterative DPO, beta={beta}")
    ax.semilogy(apo.suboptimality, label=f"APO alpha={alpha}, beta={beta}")
    ax.semilogy(matched.suboptimality, "--", label=f"iterative DPO, beta'={beta * (1 - alpha)}")
    ax.set_xlabel("iteration t")
    ax.set_ylabel("max r - E_pi r")
    ax.set_ylim(1e-16, 2)
    ax.legend(fontsize=7)
    ax.set_title("APO vs iterative DPO (proximal point)", fontsize=9)
    return Verdict(
        predicted="exact-loss = proximal step; APO faster at equal beta",
        measured=f"max|log pi diff| {err:.1e}; iters to 1e-6: DPO {t_dpo}, APO {t_apo}, DPO(beta') {t_m}",
        verdict=holds_if(ok), rule="exact-loss vs closed form <= 1e-7; APO suboptimality <= DPO's at every t >= 2 "
        "and strictly fewer iterations to 1e-6",
        details=f"at the matched effective step beta' = beta(1-alpha) the iteration ratio APO/DPO is "
        f"{t_apo / max(t_m, 1):.2f}; mean per-step KL: DPO {dpo.step_kl[:t_dpo].mean():.3g}, APO "
        f"{apo.step_kl[:t_apo].mean():.3g}.",
        data={"sub_dpo": dpo.suboptimality, "sub_apo": apo.suboptimality, "sub_matched": matched.suboptimality,
              "kl_dpo": dpo.step_kl, "kl_apo": apo.step_kl},
        figure=None if control else fig,
    )


# ---------------------------------------------------------------------------------------
@claim(
    id="hypo-coverage-separation",
    paper=_HYPO,
    topic="games",
    statement="Offline contrastive (DPO) minimizers are not determined without global coverage: the loss "
    "ignores a response c that appears in no pair, so its minimizers allow arbitrary pi(c) and large "
    "KL-regularized suboptimality; online KL-regularized RL keeps pi(c) = pi_ref(c) e^(r_c/beta)/Z <= "
    "pi_ref(c) e^(R_max/beta)/Z; HyPO (DPO + online KL) returns a bounded, better solution.",
    bound="0",
    assumptions=("BT preferences", "tabular policy", "population losses"),
    instance="K=4, r = (1, 0.5, 0, -3), c = response 3 in no pair, pi_ref uniform, beta = 1, HyPO lam = 0.5",
    priority="A",
    expected="holds",
    controls={"with-coverage": "the same check when 10% of the pairs involve c (global coverage): the DPO loss "
              "then depends on z_c and the separation must vanish"},
)
def hypo_coverage_separation(budget, rng, control=None):
    """[derived: the normalizer cancels] h_i - h_j = z_i - z_j - (log pi_ref_i - log pi_ref_j), so z_c
    never enters when c is in no pair: the loss is exactly invariant along e_c and the minimizer set is a
    line {z* + t e_c}. The tabular KL to pi_ref stays bounded (<= -log pi_ref(c)), so the catalogue's
    'unbounded KL' is replaced by what the separation is about: the KL-regularized suboptimality
    J(pi*) - J(pi) over DPO minimizers reaches (almost) J(pi*) - (r_c + beta log pi_ref(c)). Coverage
    sweep: with any mass eps > 0 on pairs involving c the population DPO minimizer is unique and equals
    pi* (suboptimality ~ 0, up to the optimizer's tolerance)."""
    K, beta, c = 4, 1.0, 3
    r = np.array([1.0, 0.5, 0.0, -3.0])
    log_ref = np.full(K, -np.log(K))
    Pbt = bradley_terry(r)

    def wins_for(eps):
        W = np.ones((K, K)) - np.eye(K)
        W[c, :] = W[:, c] = 0.0
        W = W / W.sum()
        if eps > 0:
            Wc = np.zeros((K, K))
            Wc[c, :] = Wc[:, c] = 1.0
            Wc[c, c] = 0.0
            W = (1 - eps) * W + eps * Wc / Wc.sum()
        return W * Pbt

    def J(lp):
        p = np.exp(lp)
        return float(p @ r - beta * np.sum(p * (lp - log_ref)))

    star = log_normalize(log_ref + r / beta)
    Jstar = J(star)
    wins = wins_for(0.0 if control is None else 0.1)
    z = rng.normal(size=K)
    base, gbase = dpo_loss(z, wins, log_ref, beta)
    inv = max(abs(dpo_loss(z + t * np.eye(K)[c], wins, log_ref, beta)[0] - base) for t in np.linspace(-20, 20, 9))
    inv = max(inv, abs(gbase[c]))
    zstar = dpo_minimize(wins, log_ref, beta)
    ts = np.linspace(-15, 15, 61)
    fam = [log_normalize(zstar + t * np.eye(K)[c]) for t in ts]
    fam_loss = np.array([dpo_loss(f, wins, log_ref, beta)[0] for f in fam])
    fam_sub = np.array([Jstar - J(f) for f in fam])
    pic = np.array([np.exp(f[c]) for f in fam])
    worst = float(fam_sub.max())
    limit = Jstar - (r[c] + beta * log_ref[c])
    Z = np.exp(log_ref + r / beta).sum()
    online_ok = np.exp(star[c]) <= np.exp(log_ref[c]) * np.exp(r.max() / beta) / Z + 1e-15
    hy = hypo_minimize(wins, log_ref, beta, lam=0.5)
    sub_hypo = Jstar - J(hy)
    eps_grid = np.array([1e-3, 1e-2, 0.1, 0.3])
    sub_cov = np.array([Jstar - J(dpo_minimize(wins_for(e), log_ref, beta)) for e in eps_grid])
    # tolerances: the loss is invariant to float64 round-off of O(1)-sized terms (1e-12); family spans pi(c)
    # from < 1e-3 to > 0.999; HyPO at least 5x better than the worst DPO minimizer; covered DPO within 1e-6.
    ok = (inv <= 1e-12 and np.ptp(fam_loss) <= 1e-12 and pic.min() < 1e-3 and pic.max() > 0.999
          and worst >= 0.9 * limit and online_ok and sub_hypo < worst / 5 and np.all(np.abs(sub_cov) < 1e-6))
    fig, axes = claim_figure(control, 1, 2, figsize=(8, 3.4))
    axes[0].plot(pic, fam_sub, label="DPO minimizers (loss constant)")
    axes[0].axhline(sub_hypo, color="C2", ls="--", label=f"HyPO (lam=0.5): {sub_hypo:.3f}")
    axes[0].axhline(0, color="k", lw=0.6, label="online KL-RL (pi*)")
    axes[0].set_xlabel("pi(c), c uncovered")
    axes[0].set_ylabel("KL-regularized suboptimality")
    axes[0].legend(fontsize=6)
    axes[1].semilogx(eps_grid, np.abs(sub_cov) + 1e-16, "o-", label="DPO, coverage eps of c")
    axes[1].axhline(worst, color="C3", ls=":", label="eps = 0: worst DPO minimizer")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("data mass on pairs with c")
    axes[1].legend(fontsize=6)
    fig.suptitle("Coverage: offline DPO vs online RL vs HyPO", fontsize=9)
    return Verdict(
        predicted="loss invariant in z_c; DPO minimizers arbitrarily bad; HyPO/online bounded",
        measured=f"invariance {inv:.1e}; worst DPO suboptimality {worst:.3f} (limit {limit:.3f}); HyPO {sub_hypo:.3f}; "
        f"covered DPO max {np.abs(sub_cov).max():.1e}",
        verdict=holds_if(ok), rule="loss invariant along e_c (1e-12); DPO minimizers span pi(c) in (<1e-3, >0.999) "
        "with worst suboptimality >= 0.9 x limit; online bound; HyPO < worst/5; covered DPO within 1e-6",
        details="the tabular DPO loss has no z_c dependence without coverage; HyPO's online KL pins pi(c) "
        f"to {np.exp(hy[c]):.3g} (pi*(c) = {np.exp(star[c]):.3g}).",
        data={"pi_c": pic, "sub_family": fam_sub, "eps": eps_grid, "sub_cov": sub_cov, "sub_hypo": sub_hypo},
        figure=None if control else fig,
    )


# ---------------------------------------------------------------------------------------
@claim(
    id="omd-efg-t-half",
    expected="inconclusive",
    paper=_LAMD,
    topic="games",
    statement="With trajectory feedback and a fixed sampling policy, local adaptive OMD (OMD applied at each "
    "information set with individually decreasing learning rates) reaches an eps-Nash average profile at "
    "rate O(T^(-1/2)); on-policy importance sampling has higher variance.",
    bound="T**(-1/2)",
    assumptions=("two-player zero-sum, perfect recall", "balanced fixed sampling policy",
                 "local Hedge with AdaGrad-style rates eta_I = eta0 sqrt(log A / (1 + sum l_hat^2)), eta0 = 10"),
    instance="Kuhn poker; quick: 3 seeds x T = 1e5; full: 20 seeds x T = 1e6 (+ 3 on-policy runs) "
    "(iterations, 2 episodes each)",
    priority="B",
    controls={"frozen-step": "local OMD with eta0 = 1e-3 (a step that barely moves the policy)"},
    notes="Still inconclusive (not made decisive): the decay is still steepening at the budgets affordable here, "
    "so any finite window reads a slope between about -0.3 and -0.5. A per-seed t interval (independent seeds) "
    "was tried: at T = 2e5 with 6 seeds it read -0.33 +- 0.05, i.e. 'violated' for an asymptotic claim, with "
    "seed sets at T = 1e5 / 3e5 giving -0.46 / -0.52; the late-half slope of a single run is too variable and "
    "the transient too long for a decisive finite-T verdict. The rule is therefore the slope band on the "
    "averaged curve, and the negative control (a frozen step) must come out 'violated'.",
)
def omd_efg_t_half(budget, rng, control=None):
    """Exploitability (sum of both best-response gains, exact by backward induction) of the
    sequence-form average profile vs T. Rule: slope_in_band with hi = -0.5 + 0.1 (the catalogue's
    one-sided tolerance: the theorem is an upper bound) on the late-half log-log slope of the mean over
    seeds (OLS interval; holds if the whole CI is <= -0.4, violated if it is entirely above). The
    catalogue's range T in [1e2, 1e6] is used at the full budget. Measured (full budget): slope -0.438,
    CI [-0.494, -0.381] -> inconclusive (the decay is still steepening at T = 1e6; no window tuning).
    The on-policy importance-sampling baseline is reported at the full budget. Correction to the
    catalogue's expectation: on Kuhn poker the on-policy baseline was *not* worse (final exploitability
    0.015 vs 0.026, relative across-seed spread 0.25 vs 0.43): Kuhn's own-action sequences have length
    <= 2, so on-policy importance weights stay bounded; the variance advantage of fixed sampling is a
    statement about deep games, not checkable on this instance. The loss estimator's unbiasedness is
    derived in sampled_local_omd's docstring and tested in tests/test_games_efg.py. Compiled with Numba
    (first call compiles once; cached)."""
    from mdpgrad.games.efg import kuhn_poker, sampled_local_omd
    from mdpgrad.verdicts import slope_in_band

    g = kuhn_poker()
    T = budget.pick(100_000, 1_000_000)
    seeds = budget.pick(3, 20)
    eta0 = 10.0 if control is None else 1e-3
    rec = np.unique(np.geomspace(100, T, 17).astype(int))
    E = np.array([sampled_local_omd(g, T, rng, eta0=eta0, record=rec).exploitability for _ in range(seeds)])
    E_is = np.array([sampled_local_omd(g, T, rng, eta0=eta0, record=rec, sampling="onpolicy").exploitability
                     for _ in range(budget.pick(0, 3))])
    mean = E.mean(0)
    fit = fit_power_law(rec, mean)
    v = slope_in_band(fit, hi=-0.4, what="log-log slope of the mean exploitability")
    fig, ax = claim_figure(control)
    for e in E:
        ax.loglog(rec, e, color="C0", lw=0.4, alpha=0.4)
    ax.loglog(rec, mean, color="C0", lw=2, label=f"balanced sampling, mean of {seeds}")
    if len(E_is):
        ax.loglog(rec, E_is.mean(0), color="C3", lw=1.5, label="on-policy IS, mean")
    ax.loglog(rec, mean[-1] * np.sqrt(rec[-1] / rec), "k:", label="T^(-1/2)")
    ax.set_xlabel("T (iterations)")
    ax.set_ylabel("exploitability of average profile")
    ax.legend(fontsize=6)
    ax.set_title("Local adaptive OMD, Kuhn poker", fontsize=9)
    spread = float(E[:, -1].std(ddof=1) / E[:, -1].mean())
    extra = ""
    if len(E_is):
        fit_is = fit_power_law(rec, E_is.mean(0))
        spread_is = float(E_is[:, -1].std(ddof=1) / E_is[:, -1].mean()) if len(E_is) > 1 else np.nan
        extra = (f"; on-policy IS slope {fit_is.slope if fit_is else np.nan:.3f}, final {E_is.mean(0)[-1]:.3g}, "
                 f"relative across-seed spread {spread_is:.2f}")
    return Verdict(
        predicted="slope <= -0.5 (+0.1)",
        measured=fit.slope if fit else None, ci=fit.ci if fit else None, verdict=v,
        details=f"final mean exploitability {mean[-1]:.3g} at T={T} (eta0 = {eta0}); relative across-seed "
        f"spread (balanced) {spread:.2f}{extra}",
        data={"T": rec, "exploitability": E, "exploitability_is": E_is},
        figure=None if control else fig,
    )


# ---------------------------------------------------------------------------------------
def _sequence_form_value(game):
    """The value of a two-player zero-sum EFG from its sequence-form LP (Koller, Megiddo & von Stengel
    1996), solved with scipy.optimize.linprog: an independent reference for CFR (no regret matching).

    max_{x, q} f^T q  s.t.  E x = e, x >= 0, F^T q <= A^T x, where x, y are the realization plans
    (sequences (I, a) plus the empty sequence), E, F their constraint matrices and A[s0, s1] the
    chance-weighted utility of the leaves whose last sequences are (s0, s1)."""
    import scipy.optimize

    from mdpgrad.games.efg import CHANCE, P0, P1, TERMINAL

    def seq_index(p):
        offs, k = {}, 1  # 0 = empty sequence
        for I, nA in enumerate(game.infoset_actions[p]):
            for a in range(int(nA)):
                offs[(I, a)] = k
                k += 1
        return offs, k

    (i0, n0), (i1, n1) = seq_index(0), seq_index(1)
    A = np.zeros((n0, n1))
    for z in np.nonzero(game.kind == TERMINAL)[0]:
        last, pc, node = [0, 0], 1.0, int(z)
        while game.parent[node] >= 0:
            par, a = int(game.parent[node]), int(game.parent_action[node])
            k = game.kind[par]
            if k == CHANCE:
                pc *= game.chance_prob[par, a]
            elif k in (P0, P1):
                p = k - P0
                if last[p] == 0:
                    last[p] = (i0 if p == 0 else i1)[(int(game.infoset[par]), a)]
            node = par
        A[last[0], last[1]] += pc * game.utility[z]

    def constraints(p, idx, n):
        rows = [np.eye(1, n, 0)[0]]
        for I, nA in enumerate(game.infoset_actions[p]):
            row = np.zeros(n)
            for a in range(int(nA)):
                row[idx[(I, a)]] = 1.0
            pI, pa = game.infoset_parent[p][I]
            row[0 if pI < 0 else idx[(int(pI), int(pa))]] -= 1.0
            rows.append(row)
        rhs = np.zeros(len(rows))
        rhs[0] = 1.0
        return np.array(rows), rhs

    E, e = constraints(0, i0, n0)
    F, f = constraints(1, i1, n1)
    # variables (x, q): maximize f.q  <=>  minimize -f.q
    c = np.concatenate([np.zeros(n0), -f])
    A_ub = np.hstack([-A.T, F.T])
    A_eq = np.hstack([E, np.zeros((E.shape[0], F.shape[0]))])
    res = scipy.optimize.linprog(c, A_ub=A_ub, b_ub=np.zeros(n1), A_eq=A_eq, b_eq=e,
                                 bounds=[(0, None)] * n0 + [(None, None)] * F.shape[0], method="highs")
    if res.status != 0:
        raise RuntimeError(f"sequence-form LP failed: {res.message}")
    return -float(res.fun)


@claim(
    id="cfr-plus-kuhn",
    paper="(standard result: Zinkevich et al. 2007, Regret minimization in games with incomplete information; "
    "Tammelin et al. 2015, Solving heads-up limit Texas hold'em (CFR+))",
    topic="games",
    statement="CFR+ (regret matching+, alternating updates, linearly weighted average) drives the exploitability "
    "of its average profile to 0 at rate O(T^(-1/2)); on Kuhn poker the equilibrium value for the first player "
    "is -1/18.",
    bound="T**(-1/2)",
    assumptions=("two-player zero-sum, perfect recall", "exact counterfactual values"),
    instance="Kuhn poker, T = 300 (quick) / 3000 (full) CFR+ iterations; value reference: sequence-form LP "
    "(scipy linprog); vanilla CFR and CFR+ without the regret floor reported (full budget)",
    priority="A",
    expected="holds",
    controls={"no-sign-flip": "CFR+ with player 1's counterfactual values computed from +u (the zero-sum sign "
              "not flipped; cfr(player1_sign=+1))"},
    catalogue=("cfr-plus-kuhn",),
)
def cfr_plus_kuhn(budget, rng, control=None):
    """Parts: (a) the sequence-form LP value equals -1/18 (1e-9; exact reference independent of CFR);
    (b) the CFR+ average profile (x_T, y_T) brackets the value: min_y u(x_T, y) <= -1/18 <= max_x u(x, y_T)
    (the bracket's width is the exploitability), and its width at T is <= 5e-3 (quick) / 5e-4 (full);
    (c) slope_in_band on the late-half log-log slope of the exploitability with hi = -0.5 + 0.1 (one-sided:
    the O(T^-1/2) regret bound is not tight; CFR+ on Kuhn measures ~ -1). CFR+ without the regret floor
    (cfr(floor=False)) still converges on Kuhn (slope ~ -1.07 at T = 300, 4x larger exploitability): it is
    not a control this check can reject, and is reported instead."""
    from mdpgrad.games.efg import best_response, cfr, kuhn_poker
    from mdpgrad.verdicts import at_most, combine, slope_in_band

    g = kuhn_poker()
    v_lp = _sequence_form_value(g)
    T = budget.pick(300, 3000)
    rec = np.unique(np.geomspace(1, T, 15).astype(int))
    sign = -1.0 if control is None else 1.0
    run = cfr(g, T, plus=True, record=rec, player1_sign=sign)
    x, y = run.avg
    hi_v, _ = best_response(g, 0, y)
    lo_v = -best_response(g, 1, x)[0]
    width = hi_v - lo_v
    fit = fit_power_law(run.iters, run.exploitability)
    v_slope = slope_in_band(fit, hi=-0.4, what="log-log slope of exploitability")
    v_lp_ok = at_most(abs(v_lp + 1 / 18), 1e-9, what="|LP value + 1/18|")
    bracket = "holds" if lo_v - 1e-12 <= -1 / 18 <= hi_v + 1e-12 else "violated"
    v_width = at_most(width, budget.pick(5e-3, 5e-4), what="exploitability at T")
    verdict = combine(v_lp_ok, bracket, v_width, v_slope)
    extra = ""
    report = control is None and not budget.quick
    if report:
        nf = cfr(g, T, plus=True, record=rec, floor=False)
        van = cfr(g, T, record=rec)
        extra = (f"; without the regret floor: exploitability {nf.exploitability[-1]:.2e}; vanilla CFR "
                 f"{van.exploitability[-1]:.2e}")
    fig, ax = claim_figure(control)
    ax.loglog(run.iters, run.exploitability, "o-", ms=3, label="CFR+ (average)")
    if report:
        ax.loglog(nf.iters, nf.exploitability, "s-", ms=3, label="no regret floor")
        ax.loglog(van.iters, van.exploitability, "^-", ms=3, label="vanilla CFR")
    ax.loglog(rec, run.exploitability[0] / np.sqrt(rec), "k--", lw=0.8, label="T^(-1/2)")
    ax.set_xlabel("iterations T")
    ax.set_ylabel("exploitability of the average profile")
    ax.set_title("CFR+ on Kuhn poker", fontsize=9)
    ax.legend(fontsize=7)
    return Verdict(
        predicted="value -1/18; slope <= -0.5 (+0.1)",
        measured=f"LP value {v_lp:.12f}; bracket [{lo_v:.6f}, {hi_v:.6f}]; slope {fit.slope if fit else np.nan:.3f}",
        ci=fit.ci if fit else None, verdict=verdict,
        rule=f"{v_lp_ok.rule}; min_y u(x_T, y) <= -1/18 <= max_x u(x, y_T); {v_width.rule}; {v_slope.rule}",
        tightness=v_width.tightness,
        details=f"CFR+ exploitability at T={T}: {run.exploitability[-1]:.2e}{extra}",
        data={"T": run.iters, "exploitability": run.exploitability, "value_lp": v_lp},
        figure=None if control else fig,
    )


@claim(
    id="mmd-last-iterate-linear",
    paper="(standard result: Sokota et al. 2023, A Unified Approach to Reinforcement Learning, Quantal Response "
    "Equilibria, and Two-Player Zero-Sum Games (magnetic mirror descent))",
    topic="games",
    statement="Magnetic mirror descent with magnet strength alpha > 0 converges in its *last* iterate, linearly, "
    "to the magnet-regularized equilibrium (Bregman distance contracting by 1/(1 + eta alpha) per step); the "
    "limit is the fixed point alpha log pi = alpha log rho + q + c, which does not depend on the step size eta.",
    bound="exp(-t*log(1 + eta*alpha)/2)",
    assumptions=("two-player zero-sum, perfect recall", "exact counterfactual values", "uniform magnet"),
    instance="Kuhn poker; alpha = 0.1; (a) eta = 1: distance of pi_t to pi_200 for t in {10, 20, 30, 40, 60}; "
    "(b) eta = 0.5 for 300 iterations against eta = 1 for 200",
    priority="B",
    expected="holds",
    controls={"no-magnet": "the same runs with alpha = 0 (mmd(alpha=0): plain local multiplicative weights, whose "
              "last iterate cycles)"},
)
def mmd_last_iterate_linear(budget, rng, control=None):
    """The library's :func:`mdpgrad.games.efg.mmd`. (a) ``fit_exponential`` of the sup distance between
    the last iterate after t steps and after 200 steps: its slope's CI must lie below
    -log(1 + eta alpha)/2 (a KL contraction 1/(1 + eta alpha) is a distance contraction of its square
    root; the theorem's step-size condition eta <= alpha/L^2 is not met at eta = 1, so this is checked
    beyond it; the measured slope, about -0.087 against -log(1.1) = -0.095 for the KL factor itself, is
    reported and ``tightness`` is bound slope / measured slope). (b) the limits for eta = 1 and eta = 0.5
    agree to 1e-5 (the fixed point alpha log pi = alpha log rho + q + c does not involve eta: an update
    divided by 1 + alpha instead of 1 + eta alpha moves it -- planted, caught; with the uniform magnet the
    magnet term's own weight is a per-infoset constant, so a wrong weight there is invisible by design).
    Deterministic: no sampling."""
    from mdpgrad.games.efg import kuhn_poker, mmd
    from mdpgrad.verdicts import at_most, combine, slope_in_band

    g = kuhn_poker()
    alpha = 0.0 if control == "no-magnet" else 0.1
    n_ref = 200

    def dist(a, b):
        return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))

    ref = mmd(g, n_ref, alpha=alpha, step_size=1.0, record=[n_ref]).last
    ts = np.array([10, 20, 30, 40, 60])
    ds = np.array([dist(mmd(g, int(t), alpha=alpha, step_size=1.0, record=[int(t)]).last, ref) for t in ts])
    fit = fit_exponential(ts, np.maximum(ds, 1e-300), burn_in=0.0)
    bound = -0.5 * np.log1p(1.0 * 0.1)
    v_rate = slope_in_band(fit, -np.inf, bound, what="slope of log sup-distance to the limit vs t")
    half = mmd(g, 300, alpha=alpha, step_size=0.5, record=[300])
    full = mmd(g, n_ref, alpha=alpha, step_size=1.0, record=[n_ref])
    eta_gap = dist(half.last, full.last)
    v_eta = at_most(eta_gap, 1e-5, what="sup |pi_limit(eta=0.5) - pi_limit(eta=1)|")
    fig, ax = claim_figure(control)
    ax.semilogy(ts, ds, "o-", label="sup |pi_t - pi_200| (eta = 1)")
    ax.semilogy(ts, ds[0] * np.exp(bound * (ts - ts[0])), "k--", lw=0.8, label="bound slope -log(1+eta alpha)/2")
    ax.set_xlabel("t")
    ax.legend(fontsize=7)
    slope = fit.slope if fit is not None else float("nan")
    return Verdict(predicted={"slope_at_most": bound, "eta_gap": 0.0},
                   measured={"slope": slope, "eta_gap": eta_gap, "exploitability_limit": float(full.exploitability[-1])},
                   verdict=combine(v_rate, v_eta), ci=fit.ci if fit is not None else None,
                   rule=f"{v_rate.rule}; {v_eta.rule}",
                   tightness=float(bound / slope) if fit is not None and slope < 0 else None,
                   details=f"log-distance slope {slope:.4f} (bound {bound:.4f}; KL factor log(1+eta alpha) = "
                   f"{np.log1p(0.1):.4f}); limits for eta = 0.5 vs 1 differ by {eta_gap:.1e} (<= 1e-5); "
                   f"exploitability of the regularized limit {full.exploitability[-1]:.4f}",
                   data={"t": ts, "distance": ds}, figure=None if control else fig)
