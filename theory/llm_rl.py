"""LLM-RL claims: group-relative estimators, KL penalties, entropy dynamics and zero-variance prompts,
checked on softmax bandits and token trees whose gradients are known exactly.

Conventions shared by the checks below:

* verdicts come from the shared rules of :mod:`mdpgrad.verdicts` (``combine`` of ``at_most`` /
  ``at_least`` for exact quantities, ``unbiased`` for Monte Carlo means, ``slope_in_band`` for
  rates);
* expectations of the *library's* estimators are computed by exact enumeration wherever the
  outcome space is small (``exact_expected_group_gradient``, all joint group outcomes fed to
  ``group_gradients``, the response tables of the token tree); the reference they are compared
  with is independent (``bandit.gradient`` / ``model.gradient``, closed forms derived in the
  docstrings, finite differences of enumerated objectives);
* Monte Carlo checks test the scalar projection ``<g_hat, g>/||g||^2`` (1 when unbiased), whose
  ``min_detectable`` at the quick budget is below 0.1 (a 10% error in the gradient along itself);
* every claim names negative controls (wrong variants obtained through library parameters:
  a baseline that includes the sample's own reward, a missing importance ratio, swapped KL
  arguments, ...) that its check must not pass;
* every instance is seeded from the claim's ``rng``.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.integrate
import scipy.optimize
import scipy.special
import scipy.stats

from mdpgrad import verdicts as V
from mdpgrad.bandits import (
    ContextualBandit,
    aggregation_weights,
    bnpo_normalizer,
    exact_expected_group_gradient,
    group_advantages,
    group_gradient_replicates,
    group_gradients,
    grpo_entropy_run,
    kl_estimates,
    kl_loss_coefficients,
    logit_gradient,
    make_sequence_model,
    maxk_coefficients,
    maxk_exact,
    ratio_coefficients,
    rpg_coefficients,
    sample_actions,
    zero_variance_fraction,
)
from mdpgrad.bandits.model import log_softmax_xp, softmax_xp
from mdpgrad.claims import Verdict, claim
from mdpgrad.plotting import claim_figure

TOPIC = "llm-rl"
P_GRPO = "A Practitioner's Guide to Multi-turn Agentic Reinforcement Learning"
P_LOOP = "A Simple and Effective Reinforcement Learning Method for Text-to-Image Diffusion Fine-tuning"
P_OFF = ("Group-Relative REINFORCE Is Secretly an Off-Policy Algorithm: Demystifying Some Myths About GRPO and "
         "Its Friends")
P_COPG = "Contrastive Policy Gradient: Aligning LLMs on sequence-level scores in a supervised-friendly fashion"
P_BNPO = "BNPO: Beta Normalization Policy Optimization"
P_MMR1 = "MMR1: Enhancing Multimodal Reasoning with Variance-Aware Sampling and Open Resources"
P_ENT = "The Entropy Mechanism of Reinforcement Learning for Reasoning Language Models"
P_KL3 = "A Unified Framework for Rethinking Policy Divergence Measures in GRPO"
P_GVPO = "GVPO: Group Variance Policy Optimization for Large Language Model Post-Training"
P_MAXK = "The Best of N Worlds: Aligning Reinforcement Learning with Best-of-N Sampling via max@k Optimisation"
P_RPG = "On the Design of KL-Regularized Policy Gradient Algorithms for LLM Reasoning"
P_DL = "ΔL Normalization: Rethink Loss Aggregation in RLVR"
P_REMAX = ("ReMax: A Simple, Effective, and Efficient Reinforcement Learning Method for Aligning Large Language "
           "Models")
P_GPG = "GPG: A Simple and Strong Reinforcement Learning Baseline for Model Reasoning"
P_ZVP = ("No Prompt Left Behind: Exploiting Zero-Variance Prompts in LLM Reinforcement Learning via Entropy-Guided "
         "Advantage Shaping")
P_VCRL = "VCRL: Variance-based Curriculum Reinforcement Learning for Large Language Models"
P_VADE = "VADE: Variance-Aware Dynamic Sampling via Online Sample-Level Difficulty Estimation for Multimodal RL"
P_LUSPO = ("Length-Unbiased Sequence Policy Optimization: Revealing and Controlling Response Length Variation in "
           "RLVR")
P_KDRL = ("KDRL: Post-Training Reasoning LLMs via Unified Knowledge Distillation and Reinforcement Learning")
P_TOPR = "Tapered Off-Policy REINFORCE: Stable and efficient reinforcement learning for LLMs"




def _cos(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _rel(e, g):
    """``||e - g|| / ||g||``."""
    return float(np.linalg.norm(np.ravel(e) - np.ravel(g)) / np.linalg.norm(np.ravel(g)))


def _tv(p, q):
    return float(0.5 * np.sum(np.abs(np.asarray(p) - np.asarray(q)), axis=-1).max())


def _proj(samples, g):
    """Per-sample projection coefficients ``<g_hat_m, g> / ||g||^2`` (mean 1 for an unbiased estimator)."""
    g = np.ravel(g)
    return np.asarray(samples).reshape(len(samples), -1) @ g / (g @ g)


def _bandit(rng, N, K, reward="bernoulli"):
    q = rng.random((N, K))
    return ContextualBandit(q, reward=reward), rng.normal(size=(N, K))


def _fd(f, z, h=1e-6):
    """Central finite differences of a scalar function of a vector."""
    return np.array([(f(z + h * e) - f(z - h * e)) / (2 * h) for e in np.eye(len(z))])


def _tree_group_expectation(m, theta, G, method):
    """Exact E of a group estimator on a token tree with a binary sequence reward (one group of ``G``):
    E[(1/G) sum_i A_i S(y_i)] = sum_y P(y) S(y) sum_k Bin(k; G-1, J) A(R(y); k), the advantage of a response
    whose G-1 companions have k successes, computed by the library on synthetic reward rows."""
    prob, R, _, S = m.response_table(theta)
    J = float(prob @ R)
    rows = np.zeros((2 * G, G))
    for r1 in (0, 1):
        for k in range(G):
            rows[r1 * G + k, 0] = r1
            rows[r1 * G + k, 1:1 + k] = 1.0
    f = group_advantages(rows, method)[:, 0].reshape(2, G)
    pk = scipy.stats.binom.pmf(np.arange(G), G - 1, J)
    a = np.where(R > 0.5, f[1] @ pk, f[0] @ pk)
    return np.einsum("j,j,juv->uv", prob, a, S)


# ---------------------------------------------------------------------------------------------
@claim(
    id="rloo-unbiased-grpo-biased",
    paper=P_GRPO,
    topic=TOPIC,
    statement="RLOO is an unbiased estimator of grad J; GRPO (group mean/std normalization) is biased. Group-mean "
    "centering equals (G-1)/G x RLOO in expectation, which isolates GRPO's bias (its tilt away from grad J) to the "
    "std division. Checked on a bandit and on a multi-step token tree (a deterministic finite-horizon MDP).",
    bound="0",
    assumptions=("Bernoulli / binary trajectory rewards", "tabular softmax logits", "G responses per prompt, iid"),
    instance="bandit: 8 prompts x 6 responses, q ~ U(0,1), theta ~ N(0,1), G in {2,4,8,16}; token tree: V=3 "
    "(eos + 2 tokens), T=4 (40 responses), reward 1[#1-tokens >= 2], G in {2,4,8}",
    expected="holds",
    controls={"loo-includes-self": "RLOO's leave-one-out baseline computed with the sample's own reward included "
              "(the group mean, method 'mean')",
              "grpo-no-std": "GRPO without its std division (method 'drgrpo' in place of 'grpo')"},
    notes="Exact expectations: bandit by conditioning on the other responses' success count (Binomial(G-1, p_n), "
    "exact_expected_group_gradient); token tree by the same conditioning over the enumerated responses (its "
    "episodes are the multi-turn MDP's trajectories: one token per step, reward at the end). GRPO's std uses ddof=1 "
    "and eps=1e-6 as in TRL. The catalogue's multi-turn agentic MDP is represented by the token tree (deterministic "
    "transitions); environment stochasticity between turns is not modelled. A Monte Carlo run of the library's "
    "sampler (group_gradient_replicates) checks the projection coefficient <g_hat, grad J>/||grad J||^2 = 1.",
)
def rloo_unbiased_grpo_biased(budget, rng, control=None):
    """The catalogue's [derived] part: E[(1/G) sum (r_i - rbar) grad log pi_i] = (G-1)/G grad J (the sample's own
    reward inside the mean is correlated with its score). Parts: (1) ||E g_RLOO - grad J|| / ||grad J|| <= 1e-10 on
    both instances (exact); (2) E g_mean = (G-1)/G E g_RLOO (exact); (3) GRPO tilted: 1 - cos(E g_GRPO, grad J)
    >= 1e-6 for some G >= 4 on each instance (at G=2 with binary rewards every non-degenerate group has the same
    std, so GRPO is parallel to grad J there); (4) MC projection coefficient of RLOO unbiased (4 SE)."""
    rloo = "mean" if control == "loo-includes-self" else "rloo"
    grpo = "drgrpo" if control == "grpo-no-std" else "grpo"
    bandit, theta = _bandit(rng, 8, 6)
    g = bandit.gradient(theta)
    rows = []
    for G in (2, 4, 8, 16):
        e_rloo = exact_expected_group_gradient(bandit, theta, G, rloo)
        e_mean = exact_expected_group_gradient(bandit, theta, G, "mean")
        e_grpo = exact_expected_group_gradient(bandit, theta, G, grpo)
        rows.append((G, _rel(e_rloo, g), np.abs(e_mean - (G - 1) / G * e_rloo).max(), 1 - _cos(e_grpo, g),
                     _rel(e_grpo, g)))
    m = make_sequence_model(3, 4, lambda s: float(sum(1 for t in s if t == 1) >= 2))
    th = rng.normal(size=m.param_shape) * 0.7
    gt = m.gradient(th)
    trows = []
    for G in (2, 4, 8):
        e_grpo = _tree_group_expectation(m, th, G, grpo)
        trows.append((G, _rel(_tree_group_expectation(m, th, G, rloo), gt), 1 - _cos(e_grpo, gt), _rel(e_grpo, gt)))
    rows, trows = np.array(rows), np.array(trows)
    M = budget.pick(1000, 20000)
    proj = _proj(group_gradient_replicates(bandit, theta, 4, rloo, M, rng), g)
    parts = [V.at_most(max(rows[:, 1].max(), trows[:, 1].max()), 1e-10, what="RLOO ||E g - grad J||/||grad J||"),
             V.at_most(rows[:, 2].max(), 1e-14, what="|E g_mean - (G-1)/G E g_RLOO|"),
             V.at_least(rows[1:, 3].max(), 1e-6, what="bandit GRPO 1 - cos(E g, grad J), G >= 4"),
             V.at_least(trows[:, 3].min(), 1e-2, what="token-tree GRPO ||E g - grad J||/||grad J||"),
             V.unbiased(proj, 1.0, what="MC projection coefficient of RLOO")]
    fig, ax = claim_figure(control)
    ax.plot(rows[:, 0], rows[:, 4], "o-", label=r"bandit: GRPO $\|E\hat g - \nabla J\|/\|\nabla J\|$")
    ax.plot(trows[:, 0], trows[:, 3], "s-", label=r"token tree: GRPO $\|E\hat g - \nabla J\|/\|\nabla J\|$")
    ax.plot(rows[:, 0], rows[:, 1] + 1e-17, "^-", label=r"bandit: RLOO $\|E\hat g - \nabla J\|/\|\nabla J\|$")
    ax.plot(trows[:, 0], trows[:, 1] + 1e-17, "v-", label=r"token tree: RLOO (exact)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("group size $G$")
    ax.legend(fontsize=7)
    ax.set_title("RLOO unbiased, GRPO biased (exact expectations)", fontsize=9)
    return Verdict(
        predicted="RLOO rel. bias 0; E g_mean = (G-1)/G E g_RLOO; GRPO tilted for G >= 4",
        measured=f"RLOO rel. bias bandit {rows[:, 1].max():.1e}, tree {trows[:, 1].max():.1e}; mean-identity "
        f"{rows[:, 2].max():.1e}; GRPO 1-cos bandit {rows[1:, 3].max():.2e}; GRPO rel. bias bandit "
        f"{rows[:, 4].min():.3f}-{rows[:, 4].max():.3f}, tree {trows[:, 3].min():.3f}-{trows[:, 3].max():.3f}; "
        f"MC projection {proj.mean():.4f}",
        verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts), min_detectable=parts[-1].min_detectable,
        details=f"GRPO's E[g] = sum_n kappa_n grad J_n with prompt-dependent kappa_n (std division): rescaled and "
        f"tilted. At G=2 it is parallel (1-cos {rows[0, 3]:.1e}). On the one-prompt tree the expectation is "
        "kappa grad J with a single kappa (parallel, wrong scale; the tilt needs several prompts). MC: M={M} "
        "batches at G=4.",
        data={"G": rows[:, 0], "rloo_rel_bias": rows[:, 1], "grpo_1mcos": rows[:, 3], "grpo_rel_bias": rows[:, 4],
              "tree_G": trows[:, 0], "tree_rloo_rel_bias": trows[:, 1], "tree_grpo_1mcos": trows[:, 2]},
        figure=fig,
    )


@claim(
    id="rloo-loop-unbiased",
    paper=P_LOOP,
    topic=TOPIC,
    statement="The leave-one-out baseline over k samples per prompt is unbiased, has lower variance than no "
    "baseline and decreasing in k; RLOO = k/(k-1) x group-mean baseline; LOOP with ratio 1 is RLOO.",
    bound="0",
    assumptions=("Bernoulli rewards", "tabular softmax"),
    instance="4 prompts x 5 actions, q ~ U(0,1); k in {2,4,8}",
    expected="holds",
    controls={"loo-includes-self": "the leave-one-out baseline computed with the sample's own reward included "
              "(group mean, method 'mean')"},
    notes="Catalogue correction: 'lower variance than no baseline' is checked for k >= 4 (ratio <= 0.9). At k = 2 the "
    "leave-one-out baseline is the other sample's reward, whose own noise cancels most of the reduction: the ratio "
    "Var(RLOO)/Var(REINFORCE) measured 0.91-1.02 across seeds on this instance, so 'lower' is not guaranteed there.",
)
def rloo_loop_unbiased(budget, rng, control=None):
    """Bias exact (exact_expected_group_gradient vs bandit.gradient). Variance = trace of the covariance of the
    per-group estimate (MC, M groups with the library sampler; both estimators on the same groups, so the ratio
    is precise; the ratio must be below 0.98). LOOP's clipped surrogate with pi_old = pi has ratio 1, so its gradient coefficient equals the
    advantage exactly."""
    method = "mean" if control == "loo-includes-self" else "rloo"
    bandit, theta = _bandit(rng, 4, 5)
    g = bandit.gradient(theta)
    M = budget.pick(1500, 20000)
    ks = (2, 4, 8)
    var_rloo, var_plain, bias, ident = [], [], 0.0, 0.0
    for k in ks:
        bias = max(bias, _rel(exact_expected_group_gradient(bandit, theta, k, method), g))
        seed = int(rng.integers(2**31))  # common random numbers: the same groups for both estimators
        s = group_gradient_replicates(bandit, theta, k, method, M, np.random.default_rng(seed))
        var_rloo.append(float(np.sum(s.var(0, ddof=1))))
        s0 = group_gradient_replicates(bandit, theta, k, "reinforce", M, np.random.default_rng(seed))
        var_plain.append(float(np.sum(s0.var(0, ddof=1))))
        r = (rng.random((50, k)) < 0.5).astype(float)
        A = group_advantages(r, method)
        ident = max(ident, np.abs(A - k / (k - 1) * group_advantages(r, "mean")).max())
        lp = rng.normal(size=r.shape)
        ident = max(ident, np.abs(A * ratio_coefficients(A, lp, lp, "ppo", clip_eps=0.2) - A).max())
    var_rloo, var_plain = np.array(var_rloo), np.array(var_plain)
    parts = [V.at_most(bias, 1e-10, what="||E g - grad J||/||grad J|| (exact)"),
             V.at_most(ident, 1e-12, what="|RLOO - k/(k-1) mean| and |LOOP(ratio 1) - RLOO|"),
             V.at_most(float(np.max(var_rloo[1:] / var_plain[1:])), 0.9,
                       what="max_{k>=4} Var(RLOO)/Var(no baseline) (same groups)"),
             V.at_most(float(np.max(var_rloo[1:] / var_rloo[:-1])), 0.9, what="max Var(k')/Var(k), k' = 2k")]
    fig, ax = claim_figure(control)
    ax.plot(ks, var_plain, "o-", label="REINFORCE (no baseline)")
    ax.plot(ks, var_rloo, "s-", label="RLOO")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("samples per prompt $k$")
    ax.set_ylabel(r"$\mathrm{tr}\,\mathrm{Cov}(\hat g)$")
    ax.legend(fontsize=7)
    return Verdict(predicted="bias 0, var(RLOO) < var(no baseline), decreasing in k",
                   measured=f"rel. bias {bias:.1e}; var RLOO {np.round(var_rloo, 6).tolist()} vs "
                   f"{np.round(var_plain, 6).tolist()}; identities {ident:.1e}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   tightness=float(np.max(var_rloo[1:] / var_plain[1:])),
                   details=f"M={M} groups per k for the variances; at k=2 the ratio is {var_rloo[0] / var_plain[0]:.3f} "
                   "(reported, see notes).",
                   data={"k": np.array(ks), "var_rloo": var_rloo, "var_plain": var_plain}, figure=fig)


@claim(
    id="grpo-secretly-offpolicy",
    paper=P_OFF,
    topic=TOPIC,
    statement="(a) Group-mean REINFORCE on data from a fixed behaviour mu drifts the logits by "
    "(G-1)/G mu(y)(r(y) - rbar_mu), so it converges to argmax_y mu(y)(r(y) - rbar_mu), which can be "
    "suboptimal; (b) the KL-regularized (OPMD) squared loss reaches pi_k prop. to pi_{k-1} exp(r/tau) for every "
    "full-support mu; (c) AsymRE's baseline lowered by delta is REINFORCE plus delta x the log-likelihood of the "
    "behaviour data.",
    bound="0",
    assumptions=("K-armed bandit, deterministic rewards", "tabular softmax", "fixed behaviour policy mu"),
    instance="K=4, r=(1, 0.9, 0, 0.2), mu=(0.05, 0.6, 0.3, 0.05), G=4 (all 256 groups enumerated); OPMD tau=0.5 "
    "with mu in {uniform, skewed, pi}",
    expected="holds",
    controls={"importance-weighted": "the mu-data reweighted by pi/mu per sample (correction 'is'), i.e. the "
              "textbook off-policy fix instead of plain group-mean REINFORCE"},
)
def grpo_secretly_offpolicy(budget, rng, control=None):
    """Derivation (a): E_mu[(r_a - rbar)(e_a - pi)] = mu*(r - rbar_mu) - pi sum_a mu_a (r_a - rbar_mu) =
    mu*(r - rbar_mu), independent of pi; the group mean including the sample itself multiplies it by (G-1)/G. The
    library estimator's expectation is computed exactly by enumerating all K^G groups (group_advantages 'mean',
    ratio_coefficients, logit_gradient). (b): the OPMD loss sum_a mu_a (r_a - tau log Z - tau log(pi/pi_old)(a))^2
    is zero iff pi = pi_old exp(r/tau)/Z on supp mu. (c): E_mu[(r - (rbar_mu - delta))(e_a - pi)] = mu*(r - rbar_mu)
    + delta (mu - pi) and mu - pi = grad_z sum_a mu_a log pi_z(a)."""
    import itertools

    r = np.array([1.0, 0.9, 0.0, 0.2])
    mu = np.array([0.05, 0.6, 0.3, 0.05])
    K, G = 4, 4
    corr = "is" if control == "importance-weighted" else "none"
    z = rng.normal(size=K) * 0.3
    d = (G - 1) / G * mu * (r - mu @ r)
    groups = np.array(list(itertools.product(range(K), repeat=G)))
    w = np.prod(mu[groups], axis=1)

    def drift(zz):
        A = group_advantages(r[groups], "mean")
        lp = log_softmax_xp(zz)[groups]
        c = A * ratio_coefficients(A, lp, np.log(mu)[groups], corr)
        return w @ logit_gradient(np.tile(zz, (len(groups), 1)), groups, c / G)

    err_a = _rel(drift(z), d)
    zz = z.copy()
    traj = []
    for _ in range(40):
        traj.append(softmax_xp(zz))
        zz = zz + 4.0 * drift(zz)
    traj = np.array(traj)
    limit_arm = int(np.argmax(traj[-1]))
    # (b) OPMD steps
    tau = 0.5
    tvs = []
    for mu_b in (np.full(K, 1 / K), np.array([0.7, 0.1, 0.1, 0.1]), None):
        z_old = z.copy()
        for _ in range(3):
            p_old = softmax_xp(z_old)
            m = p_old if mu_b is None else mu_b
            logZ = np.log(p_old @ np.exp(r / tau))
            target = p_old * np.exp(r / tau - logZ)

            def f(zz, m=m, z_old=z_old, logZ=logZ):
                res = r - tau * logZ - tau * (log_softmax_xp(zz) - log_softmax_xp(z_old))
                return float(m @ res**2), -2 * tau * (m * res - softmax_xp(zz) * (m @ res))

            sol = scipy.optimize.minimize(f, z_old, jac=True, method="BFGS", options={"gtol": 1e-10})
            tvs.append(_tv(softmax_xp(sol.x), target))
            z_old = sol.x
    # (c) AsymRE identity: baseline lowered by delta (library option baseline_shift)
    delta = 0.3
    pi = softmax_xp(z)
    A_asym = group_advantages(r[None, :], "reinforce", baseline=[mu @ r], baseline_shift=delta)[0]
    lhs = mu @ (A_asym[:, None] * (np.eye(K) - pi))
    rhs = mu * (r - mu @ r) + delta * (mu - pi)
    err_c = max(np.abs(lhs - rhs).max(), np.abs(_fd(lambda x: mu @ log_softmax_xp(x), z) - (mu - pi)).max() * 1e-2)
    parts = [V.at_most(err_a, 1e-12, what="||E g - (G-1)/G mu(r - rbar_mu)|| / ||.|| (exact, 256 groups)"),
             V.holds_if(limit_arm == int(np.argmax(d)) and limit_arm != int(np.argmax(r))),
             V.at_most(max(tvs), 1e-3, what="OPMD TV(pi_k, pi_{k-1} e^{r/tau}/Z)"),
             V.at_most(err_c, 1e-10, what="AsymRE identity error")]
    fig, ax = claim_figure(control)
    for k in range(K):
        ax.plot(traj[:, k], label=f"arm {k} ($r$={r[k]}, $\\mu$={mu[k]})")
    ax.set_xlabel("expected update step")
    ax.set_ylabel(r"$\pi(\mathrm{arm})$")
    ax.set_title(r"group REINFORCE on $\mu$-data converges to $\arg\max\,\mu(r - \bar r_\mu)$", fontsize=9)
    ax.legend(fontsize=7)
    return Verdict(predicted=f"drift (G-1)/G mu(r - rbar_mu); limit arm {int(np.argmax(d))} (not the best arm 0); "
                   "OPMD TV < 1e-3; identity 0",
                   measured=f"drift rel. err {err_a:.1e}; limit arm {limit_arm} (pi={traj[-1, limit_arm]:.3f}); "
                   f"OPMD max TV {max(tvs):.1e}; AsymRE identity {err_c:.1e}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts[:1] + parts[2:])
                   + "; limit arm = argmax mu(r - rbar_mu) != argmax r",
                   details="(a) exact expectation of the library estimator over all 4^4 groups, iterated 40 "
                   "expected steps of size 4; (b) 3 OPMD steps per mu solved with BFGS; (c) exact identity + finite "
                   "differences.",
                   data={"pi_traj": traj, "drift": d, "opmd_tv": np.array(tvs)}, figure=fig)


@claim(
    id="copg-offpolicy-optimal",
    paper=P_COPG,
    topic=TOPIC,
    statement="CoPG's pairwise loss, with pairs from any full-support behaviour mu, is minimized exactly by "
    "pi* prop. to pi_ref exp(r/beta); on-policy its expected gradient is the gradient of J_beta = E r - beta "
    "KL(pi||pi_ref); with preference rewards it is (beta/4) x IPO's loss.",
    bound="0",
    assumptions=("K-armed bandit, deterministic rewards", "tabular softmax"),
    instance="K=6, beta=0.5, random pi_ref; mu in {uniform, pi_ref, Dirichlet(0.3), one-hot+floor}",
    expected="holds",
    controls={"no-ref": "the regularized reward R = r - beta log(pi/pi_ref) computed without pi_ref (uniform "
              "reference), a forgotten reference model"},
)
def copg_offpolicy_optimal(budget, rng, control=None):
    """CoPG gradient (Flet-Berliac et al. 2024): (1/2) E_{y,y'~mu}[(R(y) - R(y'))(grad log pi(y) - grad log pi(y'))]
    with R = r - beta log(pi/pi_ref); the pair coefficient (R(y) - R(y'))/2 is the library's group-mean advantage
    of R over the pair. Its expectation (all K^2 pairs enumerated, logit_gradient) is mu*(R - Rbar_mu), zero iff R
    is constant on supp mu, i.e. pi = pi*; the stationary point is found by root finding on that exact expected
    update. On-policy (mu = pi) it equals pi*(R - Rbar_pi) = grad J_beta (finite differences of J_beta). The naive
    off-policy alternative (REINFORCE on mu-data with the unregularized reward plus the exact KL gradient as a
    separate penalty) converges elsewhere; it is reported, the verdict's controls are in ``controls``."""
    K, beta = 6, 0.5
    r = rng.random(K)
    ref = rng.dirichlet(np.ones(K))
    lref = np.log(ref) if control != "no-ref" else np.full(K, -np.log(K))
    pstar = ref * np.exp(r / beta)
    pstar /= pstar.sum()
    z0 = rng.normal(size=K)
    pairs = np.array([(i, j) for i in range(K) for j in range(K)])

    def expected_update(z, mu):
        R = r[pairs] - beta * (log_softmax_xp(z)[pairs] - lref[pairs])
        c = group_advantages(R, "mean")
        return (mu[pairs[:, 0]] * mu[pairs[:, 1]]) @ logit_gradient(np.tile(z, (len(pairs), 1)), pairs, c)

    mus = {"uniform": np.full(K, 1 / K), "pi_ref": ref, "dirichlet": rng.dirichlet(np.full(K, 0.3)),
           "skewed": np.r_[0.95, np.full(K - 1, 0.05 / (K - 1))]}
    tvs = {}
    for name, mu in mus.items():
        mu = np.maximum(mu, 1e-3)
        mu /= mu.sum()
        sol = scipy.optimize.root(lambda x, mu=mu: expected_update(np.r_[0.0, x], mu)[1:], z0[1:], tol=1e-13)
        tvs[name] = _tv(softmax_xp(np.r_[0.0, sol.x]), pstar)
    # on-policy expected update vs finite differences of J_beta
    pi = softmax_xp(z0)

    def Jb(z):
        p = softmax_xp(z)
        return p @ r - beta * p @ (np.log(p) - np.log(ref))

    err_on = float(np.abs(_fd(Jb, z0) - expected_update(z0, pi)).max())
    # IPO identity: Delta^2/(4 beta) = (beta/4) (h - 1/(2 tau))^2 when r_w - r_l = beta/(2 tau)
    tau = 0.3
    hlog = rng.normal(size=20)
    err_ipo = float(np.abs(((beta / (2 * tau)) - beta * hlog) ** 2 / (4 * beta) - beta / 4 * (hlog - 1 / (2 * tau)) ** 2).max())
    # reported: naive off-policy PG on mu-data + exact KL-gradient penalty
    mu = mus["skewed"]
    zc = z0.copy()
    for _ in range(2000):
        p = softmax_xp(zc)
        zc = zc + 2.0 * (mu * (r - mu @ r) - beta * p * (np.log(p / ref) - p @ np.log(p / ref)))
    tv_naive = _tv(softmax_xp(zc), pstar)
    parts = [V.at_most(max(tvs.values()), 1e-6, what="max_mu TV(stationary point, pi*)"),
             V.at_most(err_on, 1e-8, what="|E g_on-policy - grad J_beta|"),
             V.at_most(err_ipo, 1e-12, what="|CoPG - (beta/4) IPO|")]
    fig, ax = claim_figure(control)
    ax.bar(np.arange(K) - 0.2, pstar, width=0.4, label=r"$\pi^* \propto \pi_{ref}\,e^{r/\beta}$")
    ax.bar(np.arange(K) + 0.2, softmax_xp(zc), width=0.4, label="naive off-policy PG + KL (reported)")
    ax.set_xlabel("arm")
    ax.legend(fontsize=7)
    ax.set_title(f"CoPG stationary point, max TV to $\\pi^*$ over $\\mu$: {max(tvs.values()):.1e}", fontsize=9)
    return Verdict(predicted="TV(CoPG, pi*) = 0 for every mu; on-policy gradient = grad J_beta; IPO identity",
                   measured=f"max TV {max(tvs.values()):.1e}; on-policy grad err {err_on:.1e}; IPO err {err_ipo:.1e}; "
                   f"naive off-policy TV {tv_naive:.3f}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   details="The catalogue's 'TV < 1e-2' was tightened to 1e-6 (the stationary point is exact).",
                   data={"tv": np.array(list(tvs.values())), "pstar": pstar, "naive": softmax_xp(zc)}, figure=fig)


@claim(
    id="bnpo-beta-normalization",
    paper=P_BNPO,
    topic=TOPIC,
    statement="BNPO's advantage (r - p)/f_{a,b}(p) with a Beta(a,b) density f reduces to REINFORCE-with-baseline "
    "(a=b=1) and to GRPO (a=b=3/2, up to the constant B(3/2,3/2)=pi/8); for p ~ Beta(alpha, beta) the choice "
    "a=1+alpha/3, b=1+beta/3 minimizes the advantage variance E[p(1-p)/f(p)^2] over all densities f, hence is <= "
    "both REINFORCE's and GRPO's.",
    bound="0",
    assumptions=("binary rewards", "success probabilities p ~ Beta(alpha, beta) across prompts",
                 "normalizer restricted to probability densities on [0,1]"),
    instance="(alpha, beta) in {(0.5,0.5), (1,3), (2,2), (4,1)}; MC 2e4 prompts per prior",
    expected="holds",
    controls={"unnormalized-density": "the Beta kernel p^(a-1)(1-p)^(b-1) without its 1/B(a,b) "
              "(bnpo_normalizer(normalized=False))"},
)
def bnpo_beta_normalization(budget, rng, control=None):
    """Derivation of the optimum (ours; the abstract gives no formula): minimize
    int g(p) p(1-p) / f(p)^2 dp subject to int f = 1. Stationarity: -2 g p(1-p)/f^3 + lambda = 0, so
    f prop. to (g(p) p (1-p))^{1/3} prop. to p^{alpha/3}(1-p)^{beta/3}: the Beta(1+alpha/3, 1+beta/3) density (the
    objective is convex in f > 0, so this is the global minimum). This matches BNPO's reported parameter rule as we
    recall it, but we check our derivation, not the paper body. The comparison is of E[A^2] for the *density*
    normalizers: GRPO's own std has the different constant 1, so its scale is matched to the Beta(3/2,3/2) density.
    The library's normalizer enters through group_advantages('bnpo') (identities), quadrature and a Monte Carlo
    mean of A^2, both against the closed form E[A^2] = B(a,b)^2 B(alpha+3-2a, beta+3-2b)/B(alpha,beta)."""
    normalized = control != "unnormalized-density"

    def f_lib(x, a, b):
        return bnpo_normalizer(x, a, b, normalized=normalized)

    p = rng.random(200)
    r = (rng.random(200) < p).astype(float)
    B = scipy.special.beta(1.5, 1.5)
    grpo_pop = (r - p) / np.sqrt(p * (1 - p))
    A11 = (r - p) / f_lib(p, 1.0, 1.0)
    A32 = (r - p) / f_lib(p, 1.5, 1.5)
    id1 = np.abs(group_advantages(r[:, None], "bnpo", p=p, bnpo_ab=(1, 1))[:, 0] - A11).max()
    ident = max(id1, np.abs(A11 - (r - p)).max(), np.abs(A32 / B - grpo_pop).max(), abs(B - np.pi / 8))
    n_mc = budget.pick(20_000, 400_000)
    rows, quad_err, z_mc, md = [], 0.0, [], []
    for al, be in ((0.5, 0.5), (1.0, 3.0), (2.0, 2.0), (4.0, 1.0)):
        g = scipy.stats.beta(al, be)

        def var(a, b, al=al, be=be):
            # E[p^{3-2a} (1-p)^{3-2b}] B(a,b)^2 in closed form (infinite when the Beta integral diverges)
            x, y = al + 3 - 2 * a, be + 3 - 2 * b
            if x <= 0 or y <= 0:
                return np.inf
            return float(np.exp(2 * scipy.special.betaln(a, b) + scipy.special.betaln(x, y)
                                - scipy.special.betaln(al, be)))

        a_opt, b_opt = 1 + al / 3, 1 + be / 3
        v_opt, v_rf, v_grpo = var(a_opt, b_opt), var(1, 1), var(1.5, 1.5)
        lB = scipy.special.betaln(al, be)
        v_quad, _ = scipy.integrate.quad(  # prior density written out (scipy.stats' pdf is 10x slower per point)
            lambda x, a=a_opt, b=b_opt, al=al, be=be, lB=lB: np.exp((al - 1) * np.log(x) + (be - 1) * np.log1p(-x)
                                                                   - lB) * x * (1 - x) / f_lib(x, a, b) ** 2,
            0, 1, limit=200)
        quad_err = max(quad_err, abs(v_quad / v_opt - 1))
        best = scipy.optimize.minimize(lambda x: var(*np.exp(x)), np.log([1.2, 1.2]), method="Nelder-Mead",
                                       options={"xatol": 1e-6, "fatol": 1e-12})
        ps = g.rvs(n_mc, random_state=rng)
        rr = (rng.random(n_mc) < ps).astype(float)
        A2 = (((rr - ps) / f_lib(ps, a_opt, b_opt)) ** 2) / v_opt  # ratio to the closed form: mean 1
        rule = V.unbiased(A2, 1.0, what="E[A^2]/closed form")
        z_mc.append(rule)
        md.append(rule.min_detectable)
        rows.append((al, be, v_opt, v_rf, v_grpo, *np.exp(best.x), A2.mean()))
    rows = np.array(rows)
    argmin_err = float(np.abs(rows[:, 5:7] - (1 + rows[:, :2] / 3)).max())
    parts = [V.at_most(ident, 1e-10, what="identity errors (a=b=1: REINFORCE; a=b=3/2: GRPO x pi/8)"),
             V.at_most(quad_err, 1e-7, what="|quadrature / closed form - 1| (library normalizer)"),
             V.at_most(float(np.max(rows[:, 2] / np.minimum(rows[:, 3], rows[:, 4]))), 1.0,
                       what="Var(BNPO) / min(Var REINFORCE, Var GRPO)"),
             V.at_most(argmin_err, 2e-3, what="|Nelder-Mead argmin - (1+alpha/3, 1+beta/3)|"), *z_mc]
    fig, ax = claim_figure(control)
    xs = np.arange(len(rows))
    for j, lab in ((2, r"BNPO Beta$(1+\alpha/3, 1+\beta/3)$"), (3, "REINFORCE (Beta(1,1))"),
                   (4, "GRPO (Beta(3/2,3/2))")):
        ax.plot(xs, rows[:, j], "o-", label=lab)
    ax.set_xticks(xs, [f"({a:g},{b:g})" for a, b in rows[:, :2]])
    ax.set_xlabel(r"prompt difficulty prior $(\alpha, \beta)$")
    ax.set_ylabel(r"$E[A^2]$")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    return Verdict(predicted="identities exact; BNPO variance <= REINFORCE and GRPO; argmin = (1+alpha/3, 1+beta/3)",
                   measured=f"identity err {ident:.1e}; quadrature err {quad_err:.1e}; var ratios BNPO/min(others) "
                   f"{np.round(rows[:, 2] / np.minimum(rows[:, 3], rows[:, 4]), 3).tolist()}; argmin err "
                   f"{argmin_err:.1e}; MC E[A^2]/closed form {np.round(rows[:, 7], 3).tolist()}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts[:5]) + " (each prior)",
                   min_detectable=float(max(md)),
                   details="E[A^2] = B(a,b)^2 B(alpha+3-2a, beta+3-2b)/B(alpha,beta) (closed form, checked by "
                   "quadrature and MC of the library normalizer); Nelder-Mead over (a, b) confirms the argmin.",
                   data={"table": rows}, figure=fig)


@claim(
    id="reward-var-gradnorm-lb",
    paper=P_MMR1,
    topic=TOPIC,
    statement="Reward variance lower-bounds the policy-gradient magnitude: for a softmax bandit with rewards in "
    "[0,1], ||grad_z J||_1 = sum_a pi_a |r_a - J| >= 2 Var_pi(r) (tight for binary rewards), hence "
    "||grad_z J||_2 >= 2 Var_pi(r) / sqrt(K).",
    bound="2*Var",
    assumptions=("rewards in [0, 1]", "tabular softmax logits"),
    instance="random bandits (one prompt per row of a ContextualBandit): K in 2..50, Dirichlet policies, uniform / "
    "binary / beta mean rewards",
    expected="holds",
    controls={"group-mean-gradient": "the update direction taken as the expectation of the group-mean estimator "
              "(baseline includes the sample's own reward, G=4) in place of grad J"},
)
def reward_var_gradnorm_lb(budget, rng, control=None):
    """Derivation: with c = r - J, Var = E[c_+^2] + E[c_-^2] <= (1-J) E[c_+] + J E[c_-] = E|c| / 2 because
    c_+ <= 1 - J, c_- <= J and E[c_+] = E[c_-] = E|c|/2. The catalogue's 'ratio never below 2' is this bound;
    binary rewards give equality. Cauchy-Schwarz gives the l2 form. The gradient is the library's
    ContextualBandit.gradient (times N: it is the gradient of the mean over prompts); the equality for binary
    rewards makes the check sensitive to any rescaling of the gradient (tightness 1)."""
    n = budget.pick(400, 20000)
    ratios, ratios2, binary = [], [], []
    for kind in ("uniform", "binary", "beta"):
        K = int(rng.integers(2, 51))
        if kind == "uniform":
            q = rng.random((n, K))
        elif kind == "binary":
            q = (rng.random((n, K)) < 0.5).astype(float)
        else:
            q = rng.beta(0.3, 0.3, size=(n, K))
        bandit = ContextualBandit(q)
        theta = np.log(rng.dirichlet(np.full(K, 0.5), size=n) + 1e-300)
        pi = bandit.probs(theta)
        J = bandit.prompt_values(theta)[:, None]
        if control == "group-mean-gradient":
            g = n * exact_expected_group_gradient(bandit, theta, 4, "mean")
        else:
            g = n * bandit.gradient(theta)
        var = np.sum(pi * (q - J) ** 2, 1)
        keep = var > 1e-8  # below, the ratio is dominated by round-off in g and Var
        rat = np.abs(g).sum(1)[keep] / var[keep]
        ratios.append(rat)
        ratios2.append(np.linalg.norm(g, axis=1)[keep] * np.sqrt(K) / var[keep])
        if kind == "binary":
            binary = rat
    allr, all2 = np.concatenate(ratios), np.concatenate(ratios2)
    parts = [V.at_least(allr.min(), 2 - 1e-6, what="min ||grad J||_1 / Var"),
             V.at_least(all2.min(), 2 - 1e-6, what="min sqrt(K) ||grad J||_2 / Var"),
             V.at_most(np.abs(binary - 2).max(), 1e-6, what="binary rewards: max |ratio - 2|")]
    fig, ax = claim_figure(control)
    ax.hist(np.log10(allr), bins=60, label=r"$\|\nabla_z J\|_1 / \mathrm{Var}_\pi(r)$")
    ax.axvline(np.log10(2), color="k", ls="--", label="bound 2")
    ax.set_xlabel(r"$\log_{10}$ ratio")
    ax.legend(fontsize=7)
    return Verdict(predicted=">= 2 (equality for binary rewards)",
                   measured=f"min l1 ratio {allr.min():.6f}, min sqrt(K) l2 ratio {all2.min():.4f}, binary max "
                   f"|ratio-2| {np.abs(binary - 2).max():.1e}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   tightness=float(2 / allr.min()), details=f"{3 * n} random instances.",
                   data={"ratio_l1": allr[:2000], "ratio_l2": all2[:2000]}, figure=fig)


@claim(
    id="entropy-cov-mechanism",
    paper=P_ENT,
    topic=TOPIC,
    statement="For a softmax policy and a logit step dz, H(pi') - H(pi) = -Cov_{a~pi}(log pi(a), dz(a)) + O(|dz|^2) "
    "(dz = eta A for NPG, eta pi A for PG); the covariance is mostly positive during PG training so entropy "
    "decreases; R = -a exp(H) + b fits (H_t, R_t).",
    bound="2",
    assumptions=("tabular softmax bandit", "exact gradient steps"),
    instance="K=20 arms; steps eta * dz/|dz|_inf, eta in logspace(-5, -1.5); 20 random binary-reward bandits "
    "(one ContextualBandit, exact gradient) for the trends",
    expected="holds",
    controls={"uniform-covariance": "the first-order prediction with the covariance taken under uniform weights "
              "(the token-batch mean) instead of under pi"},
)
def entropy_cov_mechanism(budget, rng, control=None):
    """Derivation: dH/dz_b = -pi_b (log pi_b - E log pi), so the directional derivative is -Cov(log pi, dz). The
    residual H(pi') - H(pi) + Cov is second order, so its log-log slope in eta must lie in [1.9, 2.1] (all 15
    points, OLS CI; a wrong first-order term leaves a first-order residual, slope 1). The trends run exact PG
    (ContextualBandit.gradient) on 20 bandits at once; the fraction of steps with positive covariance must exceed
    1/2. The fit R = -a e^H + b is reported (the law is empirical)."""
    from mdpgrad.rates import fit_power_law

    K = 20
    z = rng.normal(size=K)
    r = rng.random(K)
    bandit = ContextualBandit(r[None, :], reward="deterministic")
    pi = bandit.probs(z[None])[0]
    H0 = float(bandit.entropy(z[None])[0])
    weights = np.full(K, 1 / K) if control == "uniform-covariance" else pi
    etas = np.logspace(-5, -1.5, 15)
    res, parts = {}, []
    for name, dz in (("npg", r - pi @ r), ("pg", bandit.gradient(z[None])[0])):
        dz = dz / np.abs(dz).max()  # unit sup-norm direction, so both residuals sit far above round-off
        lp = np.log(pi)
        out = []
        for eta in etas:
            cov = weights @ ((lp - weights @ lp) * (eta * dz - weights @ (eta * dz)))
            out.append(abs(float(bandit.entropy((z + eta * dz)[None])[0]) - H0 + cov))
        fit = fit_power_law(etas, np.array(out), burn_in=0.0)
        parts.append(V.slope_in_band(fit, 1.9, 2.1, what=f"{name} residual slope"))
        res[name] = (np.array(out), fit)
    n_b = budget.pick(20, 50)
    T = budget.pick(200, 1000)
    qb = (rng.random((n_b, K)) < 0.3).astype(float)
    qb[np.arange(n_b), rng.integers(K, size=n_b)] = 1.0
    bb = ContextualBandit(qb, reward="deterministic")
    zb = rng.normal(size=(n_b, K))
    Hs, Rs, covs = [], [], []
    for _t in range(T):
        p = bb.probs(zb)
        dz = n_b * bb.gradient(zb)
        lp = np.log(p)
        covs.append(np.sum(p * (lp - np.sum(p * lp, 1, keepdims=True)) * (dz - np.sum(p * dz, 1, keepdims=True)), 1))
        Hs.append(bb.entropy(zb))
        Rs.append(bb.prompt_values(zb))
        zb = zb + 2.0 * dz
    Hs, Rs, covs = np.array(Hs).T, np.array(Rs).T, np.array(covs).T
    frac_pos = float(np.mean(covs > 0))
    r2s, ceil_err = [], []
    for i in range(n_b):
        X = np.c_[-np.exp(Hs[i]), np.ones(T)]
        coef, *_ = np.linalg.lstsq(X, Rs[i], rcond=None)
        r2s.append(1 - np.sum((Rs[i] - X @ coef) ** 2) / np.sum((Rs[i] - Rs[i].mean()) ** 2))
        ceil_err.append(abs(-coef[0] + coef[1] - qb[i].max()))
    mono = float(np.mean(np.all(np.diff(Hs, axis=1) <= 1e-12, axis=1)))
    parts.append(V.at_least(frac_pos, 0.5, what="fraction of PG steps with Cov > 0"))
    fig, ax = claim_figure(control)
    for name, (y, fit) in res.items():
        ax.loglog(etas, y, "o-", label=f"{name}: $|\\Delta H + \\mathrm{{Cov}}|$, slope {fit.slope:.3f}")
    ax.loglog(etas, res["npg"][0][-1] * (etas / etas[-1]) ** 2, "k--", label="slope 2")
    ax.set_xlabel(r"step size $\eta$")
    ax.legend(fontsize=7)
    return Verdict(predicted="residual slope 2; covariance mostly positive",
                   measured=f"slopes npg {res['npg'][1].slope:.3f} CI {np.round(res['npg'][1].ci, 3).tolist()}, "
                   f"pg {res['pg'][1].slope:.3f}; cov>0 fraction {frac_pos:.3f}; entropy monotone in "
                   f"{mono:.2f} of runs; R=-a e^H+b median R^2 {np.median(r2s):.3f}, median ceiling err "
                   f"{np.median(ceil_err):.3f}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   details="R^2 and the ceiling error are reported, not pass/fail (the law is empirical).",
                   data={"eta": etas, "res_npg": res["npg"][0], "res_pg": res["pg"][0], "frac_pos": frac_pos,
                         "r2": np.array(r2s), "ceiling_err": np.array(ceil_err)},
                   figure=fig)


@claim(
    id="kl3-asym-clip",
    paper=P_KL3,
    topic=TOPIC,
    statement="k3(rho) = rho - 1 - log rho is unbiased for KL(q||p) with rho = p/q, y ~ q, and has lower variance "
    "than -log rho for nearby policies; k3(rho) <= delta iff rho in [-W0(-e^{-1-delta}), -W_{-1}(-e^{-1-delta})], "
    "an asymmetric clip (1 - rho_- < rho_+ - 1); a per-token KL3 constraint = that ratio clip.",
    bound="0",
    assumptions=("categorical policies",),
    instance="K=50, q random, p = softmax(log q + 0.1 N(0,1)); delta in [0.01, 0.5]",
    expected="holds",
    controls={"swapped-arguments": "kl_estimates called with the two log-probabilities swapped "
              "(k3 of the wrong ratio)"},
)
def kl3_asym_clip(budget, rng, control=None):
    """k1 and k3 are the library's kl_estimates(log q, log p) for y ~ q (exact expectations over the K values).
    (iii) is checked as the per-sample equivalence of the two masks on random ratios (delta=0.1): a GRPO step
    depends on the constraint only through which samples are masked, so equal masks give equal steps."""
    K = 50
    q = rng.dirichlet(np.ones(K))
    p = softmax_xp(np.log(q) + 0.1 * rng.normal(size=K))
    la, lb = (np.log(p), np.log(q)) if control == "swapped-arguments" else (np.log(q), np.log(p))
    k1, _, k3 = kl_estimates(la, lb)
    kl = q @ np.log(q / p)
    err_unb = abs(q @ k3 - kl) / kl
    var_k3 = q @ k3**2 - (q @ k3) ** 2
    var_k1 = q @ k1**2 - (q @ k1) ** 2
    deltas = np.linspace(0.01, 0.5, 50)
    x = -np.exp(-1 - deltas)
    lo = -scipy.special.lambertw(x, 0).real
    hi = -scipy.special.lambertw(x, -1).real
    err_w = max(np.abs(hi - 1 - np.log(hi) - deltas).max(), np.abs(lo - 1 - np.log(lo) - deltas).max())
    n = budget.pick(100_000, 1_000_000)
    rr = np.exp(rng.normal(0, 0.5, n))
    d = 0.1
    l0 = -scipy.special.lambertw(-np.exp(-1 - d), 0).real
    h0 = -scipy.special.lambertw(-np.exp(-1 - d), -1).real
    k3r = kl_estimates(np.zeros(n), np.log(rr))[2] if control != "swapped-arguments" else \
        kl_estimates(np.log(rr), np.zeros(n))[2]
    m1 = k3r <= d
    m2 = (rr >= l0) & (rr <= h0)
    boundary = np.minimum(np.abs(rr - l0), np.abs(rr - h0)) < 1e-9
    mism = int(np.sum((m1 != m2) & ~boundary))
    parts = [V.at_most(err_unb, 1e-12, what="|E_q k3 - KL| / KL"),
             V.at_most(var_k3 / var_k1, 1.0, what="Var k3 / Var k1"),
             V.at_most(err_w, 1e-10, what="Lambert-W endpoint error"),
             V.holds_if(np.all(1 - lo < hi - 1)),
             V.at_most(mism, 0, what="mask mismatches")]
    fig, ax = claim_figure(control)
    ax.plot(deltas, 1 - lo, label=r"$1 - \rho_-$")
    ax.plot(deltas, hi - 1, label=r"$\rho_+ - 1$")
    ax.set_xlabel(r"$\delta$")
    ax.set_ylabel("clip width")
    ax.legend(fontsize=7)
    ax.set_title("KL3 constraint = asymmetric ratio clip", fontsize=9)
    return Verdict(predicted="unbiased; Var k3 < Var k1; Lambert-W bounds exact; asymmetric",
                   measured=f"|E k3 - KL|/KL {err_unb:.1e}; Var k3/k1 {var_k3 / var_k1:.4f}; W err {err_w:.1e}; "
                   f"mask mismatches {mism}/{n}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts[:3])
                   + "; 1 - rho_- < rho_+ - 1; " + parts[4].rule,
                   data={"delta": deltas, "rho_lo": lo, "rho_hi": hi}, figure=fig)


@claim(
    id="gvpo-unique-optimum",
    paper=P_GVPO,
    topic=TOPIC,
    statement="GVPO's expected group loss sum_i[(beta log(pi/pi_ref)(y_i) - mean) - (r_i - rbar)]^2 is minimized "
    "exactly by pi* prop. to pi_ref exp(r/beta) for any full-support sampling distribution mu; its gradient has "
    "the paper's weights; arms outside supp mu are left undetermined.",
    bound="0",
    assumptions=("K-armed bandit, deterministic rewards", "tabular softmax"),
    instance="K=10, random pi_ref, beta in {0.1, 1}, G=4, mu in {uniform, pi_ref, skewed}",
    expected="holds",
    controls={"no-ref": "the log-ratio log(pi/pi_ref) computed without pi_ref (uniform reference): a forgotten "
              "reference model"},
)
def gvpo_unique_optimum(budget, rng, control=None):
    """Derivation: E_{G iid from mu} sum_i (x_i - xbar)^2 = (G-1) Var_mu(x) with x = beta log(pi/pi_ref) - r; the
    log-normalizer cancels inside the centering, so the loss is (G-1) Var_mu(beta z - beta log pi_ref - r), a
    quadratic in z whose zero set on supp mu is exactly pi* (minimized as weighted least squares). Per group the
    gradient w.r.t. z is sum_i w_i grad log pi(y_i) with w_i = 2 beta (x_i - xbar) = 2 beta x group-mean advantage
    of x (library group_advantages 'mean' + logit_gradient, checked against finite differences of the group loss)."""
    K, G = 10, 4
    ref = rng.dirichlet(np.ones(K))
    lref = np.full(K, -np.log(K)) if control == "no-ref" else np.log(ref)
    r = rng.random(K)
    z0 = rng.normal(size=K)
    tvs = []
    for beta in (0.1, 1.0):
        pstar = ref * np.exp(r / beta)
        pstar /= pstar.sum()
        for mu in (np.full(K, 1 / K), ref, np.r_[0.9, np.full(K - 1, 0.1 / (K - 1))]):
            # (G-1) sum_a mu_a (x_a - mu.x)^2 is a weighted least-squares problem in z: solve it directly
            C = np.sqrt(mu)[:, None] * (np.eye(K) - mu[None, :])
            zmin = np.linalg.lstsq(beta * C, C @ (beta * lref + r), rcond=None)[0]
            tvs.append(_tv(softmax_xp(zmin), pstar))
    beta = 0.5
    y = rng.integers(K, size=G)

    def group_loss(z):
        x = beta * (log_softmax_xp(z) - lref)[y] - r[y]
        return np.sum((x - x.mean()) ** 2)

    x = beta * (log_softmax_xp(z0) - lref)[y] - r[y]
    w = 2 * beta * group_advantages(x[None], "mean")[0]
    err_w = float(np.abs(_fd(group_loss, z0) - logit_gradient(z0[None], y[None], w[None])[0]).max())
    # arm 0 outside supp mu -> its logit never moves, two inits disagree there
    mu0 = np.r_[0.0, np.full(K - 1, 1 / (K - 1))]
    finals = []
    for init in (z0, z0 + 3 * np.eye(K)[0]):
        zz = init.copy()
        for _ in range(200):
            xx = beta * (zz - lref) - r
            zz = zz - 0.5 / beta * mu0 * (xx - mu0 @ xx) * K
        finals.append(softmax_xp(zz)[0])
    parts = [V.at_most(max(tvs), 1e-6, what="max over (beta, mu) TV(argmin, pi*)"),
             V.at_most(err_w, 1e-6, what="|weights - finite differences|"),
             V.at_least(abs(finals[0] - finals[1]), 0.05, what="|pi(arm outside supp mu)| spread over inits")]
    fig, ax = claim_figure(control)
    ax.semilogy(np.maximum(tvs, 1e-16), "o")
    ax.axhline(1e-6, color="k", ls="--", label="tolerance")
    ax.set_xlabel(r"$(\beta, \mu)$ case")
    ax.set_ylabel(r"TV(argmin, $\pi^*$)")
    ax.legend(fontsize=7)
    return Verdict(predicted="TV = 0 for every (beta, mu); weights exact; unsupported arm undetermined",
                   measured=f"max TV {max(tvs):.1e}; weight err {err_w:.1e}; pi(arm 0) from two inits "
                   f"{finals[0]:.3f} vs {finals[1]:.3f}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   data={"tv": np.array(tvs)}, figure=fig)


@claim(
    id="maxk-unbiased-grad",
    paper=P_MAXK,
    topic=TOPIC,
    statement="The n-sample U-statistic score estimator of grad max@k is unbiased (on-policy, and off-policy with "
    "products of importance weights); binary rewards reduce max@k to pass@k = 1 - (1-p)^k.",
    bound="0",
    assumptions=("softmax bandit with deterministic rewards in [0,1]", "n >= k samples"),
    instance="K=5 arms, n=4 samples (all 625 sample tuples enumerated), k in {1,2,3,4}; off-policy n=4, k=2",
    expected="holds",
    controls={"best-of-n-reward": "every sample rewarded with the max over all n samples (maxk_coefficients with "
              "k = n) instead of the k-subset U-statistic"},
)
def maxk_unbiased_grad(budget, rng, control=None):
    """Exact expectations of the library estimator: all K^n sample tuples enumerated, coefficients from
    maxk_coefficients, assembled by logit_gradient, weighted by their probability (off-policy: sampled from mu with
    the importance weights pi/mu). The reference gradient is the finite-difference gradient of max@k computed by
    enumerating the K^k draws (independent of the library's closed form maxk_exact, which is compared too)."""
    import itertools

    K, n = 5, 4
    z = rng.normal(size=K)
    vals = rng.random(K)
    pi = softmax_xp(z)
    tuples = np.array(list(itertools.product(range(K), repeat=n)))

    def maxk_enum(zz, k):
        p = softmax_xp(zz)
        t = np.array(list(itertools.product(range(K), repeat=k)))
        return float(np.prod(p[t], axis=1) @ vals[t].max(axis=1))

    def expected(k, beh=None):
        kk = n if control == "best-of-n-reward" else k
        if beh is None:
            c = maxk_coefficients(vals[tuples], kk)
            w = np.prod(pi[tuples], axis=1)
        else:
            c = maxk_coefficients(vals[tuples], kk, weights=pi[tuples] / beh[tuples])
            w = np.prod(beh[tuples], axis=1)
        return w @ logit_gradient(np.tile(z, (len(tuples), 1)), tuples, c)

    errs, lib_err, grads = [], 0.0, {}
    for k in (1, 2, 3, 4):
        g = _fd(lambda x, k=k: maxk_enum(x, k), z)
        grads[k] = g
        errs.append(float(np.abs(expected(k) - g).max() / np.abs(g).max()))
        lib_err = max(lib_err, float(np.abs(maxk_exact(pi, vals, k)[1] - g).max()))
    mu = rng.dirichlet(np.ones(K) * 2)
    err_off = float(np.abs(expected(2, mu) - grads[2]).max() / np.abs(grads[2]).max())
    vb = (vals > 0.5).astype(float)
    pb = pi @ vb
    err_pass = max(abs(maxk_exact(pi, vb, k)[0] - (1 - (1 - pb) ** k)) for k in (1, 2, 3, 4))
    parts = [V.at_most(max(errs), 1e-7, what="on-policy max_k |E g - grad max@k|/max|grad|"),
             V.at_most(err_off, 1e-7, what="off-policy (k=2) relative error"),
             V.at_most(lib_err, 1e-8, what="|maxk_exact - finite differences|"),
             V.at_most(err_pass, 1e-12, what="|max@k - pass@k| for binary rewards")]
    fig, ax = claim_figure(control)
    for k in grads:
        ax.plot(grads[k], "o-", label=f"$\\nabla$ max@{k}")
    ax.set_xlabel("arm")
    ax.set_title("exact gradients of max@k (finite differences of the enumerated value)", fontsize=9)
    ax.legend(fontsize=7)
    return Verdict(predicted="E[estimator] = grad max@k exactly (on- and off-policy); pass@k identity",
                   measured=f"rel. errors on-policy {np.round(errs, 10).tolist()}, off-policy {err_off:.1e}; "
                   f"closed form err {lib_err:.1e}; pass@k err {err_pass:.1e}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   data={f"grad_k{k}": grads[k] for k in grads}, figure=fig)


@claim(
    id="rpg-kl-regularized-grads",
    paper=P_RPG,
    topic=TOPIC,
    statement="For reverse and forward KL, with normalized (softmax) and unnormalized (exp-logit) policies, the "
    "importance-weighted REINFORCE-style surrogates have expectation equal to the gradient of the regularized "
    "objective, on- and off-policy; differentiating the k3 value as a loss does not give grad KL(pi||ref).",
    bound="0",
    assumptions=("K-armed bandit, deterministic rewards", "samples from pi_old (= pi on-policy)"),
    instance="K=6, beta=0.3, random pi_ref, pi_old",
    expected="holds",
    controls={"no-importance-ratio": "the off-policy samples used without the ratio pi/pi_old "
              "(rpg_coefficients(importance=False))"},
)
def rpg_kl_regularized_grads(budget, rng, control=None):
    """Per-sample coefficients c(a) multiplying grad log pi(a), a ~ pi_old, from the library's rpg_coefficients
    (its docstring gives the four formulas). Exact objectives are differentiated by central differences (h=1e-6,
    error ~1e-10); the expectations over a ~ pi_old are exact sums over the K actions (score e_a - pi for the
    softmax policy, e_a for the unnormalized pi~ = exp(z)). Reported besides: the k3 value differentiated as a loss
    (kl_loss_coefficients 'k3') gives pi - ref, the forward-KL gradient, not grad KL(pi||ref)."""
    K, beta = 6, 0.3
    r = rng.random(K)
    ref = rng.dirichlet(np.ones(K))
    z = rng.normal(size=K) * 0.5
    A = np.arange(K)

    def objective(zz, kind):
        if kind.endswith("unnorm"):
            pt = np.exp(zz)
            if kind.startswith("reverse"):
                return pt @ r - beta * (pt @ np.log(pt / ref) - pt.sum() + ref.sum())
            return pt @ r - beta * (ref @ np.log(ref / pt) - ref.sum() + pt.sum())
        p = softmax_xp(zz)
        if kind.startswith("reverse"):
            return p @ r - beta * p @ np.log(p / ref)
        return p @ r - beta * ref @ np.log(ref / p)

    kinds = ("reverse-norm", "reverse-unnorm", "forward-norm", "forward-unnorm")
    errs = []
    for kind in kinds:
        fd = _fd(lambda x, kind=kind: objective(x, kind), z)
        lp = z if kind.endswith("unnorm") else log_softmax_xp(z)
        for old in (softmax_xp(z), rng.dirichlet(np.ones(K) * 2)):
            c = rpg_coefficients(r, lp, np.log(old), np.log(ref), beta, kind,
                                 importance=control != "no-importance-ratio")
            if kind.endswith("unnorm"):
                ex = old * c  # sum_a pi_old(a) c(a) e_a
            else:
                ex = logit_gradient(z[None], A[None], (old * c)[None])[0]
            errs.append(float(np.abs(ex - fd).max() / np.abs(fd).max()))
    p = softmax_xp(z)
    lp, lref = np.log(p), np.log(ref)
    g_k3 = logit_gradient(z[None], A[None], (p * kl_loss_coefficients(lp, lref, "k3"))[None])[0]
    g_rkl = p * ((lp - lref) - p @ (lp - lref))
    ctrl = float(np.abs(g_k3 - g_rkl).max())
    parts = [V.at_most(max(errs), 1e-7, what="max |E[surrogate grad] - grad J| / max|grad J| (8 cases)"),
             V.at_least(ctrl, 1e-2, what="|k3-as-loss gradient - grad KL(pi||ref)|"),
             V.at_most(float(np.abs(g_k3 - (p - ref)).max()), 1e-12, what="|k3-as-loss gradient - (pi - ref)|")]
    fig, ax = claim_figure(control)
    ax.semilogy(np.maximum(errs, 1e-17), "o", label=r"$|E[\hat g] - \nabla J_\beta|$ (enumeration)")
    ax.axhline(ctrl, color="C3", ls="--", label=r"k3-as-loss vs $\nabla KL(\pi\|\pi_{ref})$")
    ax.set_xlabel("objective x {on, off}-policy")
    ax.legend(fontsize=7)
    return Verdict(predicted="errors ~ FD accuracy (<1e-7); k3-as-loss is the forward-KL gradient",
                   measured=f"max relative enumeration err {max(errs):.1e}; k3-as-loss error {ctrl:.3f}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   data={"errors": np.array(errs)}, figure=fig)


@claim(
    id="deltaL-mvue",
    paper=P_DL,
    topic=TOPIC,
    statement="With per-response gradients g_i unbiased and Var(g_i) prop. to L_i, the Delta-L weights "
    "x_i = (1/M) L_i^{-1} / sum_j L_j^{-1} give an unbiased (up to the fixed 1/M) minimum-variance linear "
    "estimator; GRPO (1/(G L_i)) and DAPO (1/sum L) weights are not unbiased; Dr. GRPO (1/(G M)) is unbiased "
    "with larger variance.",
    bound="0",
    assumptions=("g_i independent given lengths, E[g_i | L_i] = grad, Var(g_i | L_i) = sigma^2 L_i (the paper's "
                 "model)",),
    instance="G=8, M=64, L_i ~ U{1..64}; 2000 length draws",
    expected="holds",
    controls={"alpha-0.5": "Delta-L with exponent alpha = 0.5 (aggregation_weights(alpha=0.5)): still unbiased, "
              "no longer minimum variance"},
)
def deltal_mvue(budget, rng, control=None):
    """Conditional on lengths, sum_i x_i g_i has mean (sum_i x_i) grad and variance sigma^2 sum_i x_i^2 L_i
    (both exact given the weights). Unbiased for every length vector iff sum_i x_i is a constant (1/M); the
    Gauss-Markov optimum under that constraint is x prop. to 1/L (Lagrange, solved here as a KKT system per draw),
    i.e. Delta-L with alpha=1. On the real token model lengths correlate with the scores, which this model does not
    capture (see luspo-length-bias for the exact token-tree computation)."""
    G, M = 8, 64
    alpha = 0.5 if control == "alpha-0.5" else 1.0
    n_draw = budget.pick(2000, 20000)
    L = rng.integers(1, M + 1, size=(n_draw, G)).astype(float)
    W = {a: aggregation_weights(L, a, max_len=M, alpha=alpha)
         for a in ("seq-mean-token-mean", "token-mean", "drgrpo", "deltaL")}
    sums = {a: W[a].sum(1) * M for a in W}
    var = {a: np.sum(W[a] ** 2 * L, 1) for a in W}
    n_kkt = min(n_draw, 200)
    opt = np.empty(n_kkt)
    for i in range(n_kkt):
        kkt = np.block([[np.diag(2 * L[i]), np.ones((G, 1))], [np.ones((1, G)), np.zeros((1, 1))]])
        sol = np.linalg.solve(kkt, np.r_[np.zeros(G), 1 / M])
        opt[i] = sol[:G] ** 2 @ L[i]
    gm_err = float(np.abs(var["deltaL"][:n_kkt] / opt - 1).max())
    unb = {a: float(np.abs(sums[a] - 1).max()) for a in W}
    ratio_dr = var["drgrpo"] / var["deltaL"]
    parts = [V.at_most(max(unb["deltaL"], unb["drgrpo"]), 1e-12, what="Delta-L, Dr. GRPO: max |M sum x - 1|"),
             V.at_least(min(unb["seq-mean-token-mean"], unb["token-mean"]), 0.1,
                        what="GRPO, DAPO: max |M sum x - 1|"),
             V.at_most(gm_err, 1e-10, what="|Var(Delta-L) / Gauss-Markov minimum - 1|"),
             V.at_least(float(ratio_dr.min()), 1 - 1e-12, what="Var(Dr. GRPO)/Var(Delta-L)")]
    fig, ax = claim_figure(control)
    qs = np.linspace(0, 1, 101)
    for a in W:
        ax.plot(qs, np.quantile(sums[a], qs), label=f"{a}")
    ax.axhline(1, color="k", ls="--")
    ax.set_xlabel("quantile over length draws")
    ax.set_ylabel(r"$M\sum_i x_i$ (1 = unbiased)")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    return Verdict(predicted="Delta-L and Dr.GRPO unbiased; Delta-L variance = Gauss-Markov minimum",
                   measured="max |M sum x - 1|: " + ", ".join(f"{a} {v:.2g}" for a, v in unb.items())
                   + f"; GM err {gm_err:.1e}; Var(DrGRPO)/Var(DeltaL) median {np.median(ratio_dr):.2f}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   details="Exact on the paper's model (mean and variance given the weights). The token-tree Monte "
                   "Carlo of earlier versions was dropped: luspo-length-bias computes the token-tree length effect "
                   "exactly.",
                   data={k: v[:500] for k, v in sums.items()}, figure=fig)


def _remax_instance(rng):
    rew = rng.random(64)
    keys = {}

    def reward_fn(seq, rew=rew, keys=keys):
        return float(rew[keys.setdefault(seq, len(keys))])

    m = make_sequence_model(3, 2, reward_fn)
    theta = rng.normal(size=m.param_shape)
    return m, theta


def _greedy_reward(m, pi, u):
    """Reward of the greedy (argmax) completion from node ``u`` of a token tree."""
    while True:
        v = int(np.argmax(pi[u]))
        if m.child[u, v] < 0:
            return float(m.reward[u, v])
        u = m.child[u, v]


@claim(
    id="remax-baseline",
    paper=P_REMAX,
    topic=TOPIC,
    statement="ReMax's baseline (the reward of the greedy response) does not depend on the sampled response, so "
    "REINFORCE with it stays unbiased, and it lowers the variance of plain REINFORCE.",
    bound="0",
    assumptions=("deterministic token tree", "trajectory-level reward"),
    instance="V=3 (eos + 2 tokens), T=2: 7 responses, rewards U(0,1); 30 random instances",
    expected="holds",
    controls={"sample-dependent-baseline": "the greedy baseline decoded from the sampled response's first token "
              "(greedy completion of y_1), so it depends on the sample"},
)
def remax_baseline(budget, rng, control=None):
    """Bias and variances are exact: the library's group_advantages('remax', baseline=b) per response, E over the
    enumerated responses of A(y) S(y) against model.gradient, Var = E||A S||^2 - ||grad J||^2; RLOO with 2 samples
    (the same two forward passes as ReMax's sample + greedy decode) by enumeration of the 49 pairs. The variance
    reduction is not guaranteed by the abstract's argument: with b the greedy reward it holds iff
    0 < b < 2 E[r |s|^2]/E|s|^2; we report the fraction of instances where it holds and require a majority."""
    n_inst = budget.pick(30, 200)
    errs, red, vs = [], [], []
    for _ in range(n_inst):
        m, th = _remax_instance(rng)
        prob, R, _, S = m.response_table(th)
        g = m.gradient(th)
        pi = m.probs(th)
        if control == "sample-dependent-baseline":
            eu, ev = m.responses()
            first = [m.prefixes[u][0] if len(m.prefixes[u]) else v for u, v in zip(eu, ev)]
            b = np.array([R[j] if m.child[0, t] < 0 else _greedy_reward(m, pi, m.child[0, t])
                          for j, t in enumerate(first)])
        else:
            b = np.full(R.shape, _greedy_reward(m, pi, 0))
        A = group_advantages(R[:, None], "remax", baseline=b)[:, 0]
        gre = np.einsum("j,j,juv->uv", prob, A, S)
        errs.append(_rel(gre, g))
        sq = np.einsum("juv,juv->j", S, S)
        gg = np.sum(g * g)
        v_rf = prob @ (R**2 * sq) - gg
        v_rm = prob @ (A**2 * sq) - gg
        d = R[:, None] - R[None, :]
        est = 0.5 * (d[:, :, None, None] * S[:, None] - d[:, :, None, None] * S[None, :])
        v_lo = np.einsum("jk,jkuv,jkuv->", prob[:, None] * prob[None, :], est, est) - gg
        vs.append((v_rf, v_rm, v_lo))
        red.append(v_rm < v_rf)
    vs = np.array(vs)
    parts = [V.at_most(max(errs), 1e-12, what="max ||E g - grad J||/||grad J|| (exact)"),
             V.at_least(float(np.mean(red)), 0.5, what="fraction of instances with Var(ReMax) < Var(REINFORCE)")]
    fig, ax = claim_figure(control)
    ax.scatter(vs[:, 0], vs[:, 1], s=10, label="ReMax")
    ax.scatter(vs[:, 0], vs[:, 2], s=10, marker="x", label="RLOO (2 samples)")
    lim = [vs.min(), vs.max()]
    ax.plot(lim, lim, "k--", lw=1)
    ax.set_xlabel("Var REINFORCE")
    ax.set_ylabel("Var estimator")
    ax.legend(fontsize=7)
    return Verdict(predicted="bias 0; Var(ReMax) < Var(REINFORCE)",
                   measured=f"max rel. bias {max(errs):.1e}; ReMax < REINFORCE in {np.mean(red):.2f} of instances; "
                   f"median Var ratio ReMax/REINFORCE {np.median(vs[:, 1] / vs[:, 0]):.3f}, RLOO/ReMax "
                   f"{np.median(vs[:, 2] / vs[:, 1]):.3f}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts), data={"var": vs}, figure=fig)


def _gpg_enumeration(rng, method):
    """Exact E[g] of the library's group estimator ``method`` on a 3-prompt x 2-action Bernoulli bandit with G=2:
    every joint outcome of the 3 groups (4^6 = 4,096 batches) is fed to group_gradients, whose advantages couple
    the prompts of a batch (GPG's alpha = N/(N - N_zero)); also returns the derived kappa_n."""
    import itertools

    N, K, G = 3, 2, 2
    bandit, theta = _bandit(rng, N, K)
    pi, q = bandit.probs(theta), bandit.q
    outs = np.array(list(itertools.product(range(K), (0, 1), range(K), (0, 1))))  # (a1, r1, a2, r2)
    pn = np.stack([pi[n][outs[:, 0]] * np.where(outs[:, 1] == 1, q[n][outs[:, 0]], 1 - q[n][outs[:, 0]])
                   * pi[n][outs[:, 2]] * np.where(outs[:, 3] == 1, q[n][outs[:, 2]], 1 - q[n][outs[:, 2]])
                   for n in range(N)])  # [N, 36]
    idx = np.array(list(itertools.product(range(len(outs)), repeat=N)))  # [46656, N]
    w = np.prod(pn[np.arange(N), idx], axis=1)
    o = outs[idx]  # [M, N, 4]
    actions, rewards = o[..., [0, 2]], o[..., [1, 3]].astype(float)
    e = w @ group_gradients(bandit, theta, actions, rewards, method).reshape(len(w), -1)
    return bandit, theta, e.reshape(N, K), _gpg_kappa(zero_variance_fraction(bandit.prompt_values(theta), G), G)


def _gpg_kappa(p0, G):
    """Derived GPG scale per prompt: kappa_n = (G-1)/G E[N / (N - D_{-n})], with D_{-n} the number of *other*
    zero-variance prompts, Poisson-binomial with probabilities ``p0`` (one convolution per other prompt)."""
    N = len(p0)
    kappa = np.empty(N)
    for n in range(N):
        dist = np.array([1.0])
        for m in range(N):
            if m != n:
                dist = np.convolve(dist, [1 - p0[m], p0[m]])
        kappa[n] = (G - 1) / G * np.sum(dist * N / (N - np.arange(N)))
    return kappa


def _gpg_kappa_reference(rng):
    """Derived kappa_n on the larger 6-prompt x 5-action, G=4 instance (reported context: the range quoted in the
    issue, about [0.84, 1.17] at other seeds)."""
    N, G = 6, 4
    bandit, theta = _bandit(rng, N, 5)
    return _gpg_kappa(zero_variance_fraction(bandit.prompt_values(theta), G), G)


def _gpg_figure(kappa, title, control):
    fig, ax = claim_figure(control)
    ax.bar(np.arange(len(kappa)), kappa, label=r"$\kappa_n$: $E\,\hat g_{GPG,n} = \kappa_n \nabla J_n$")
    ax.axhline(1, color="k", ls="--", label=r"$\kappa_n = 1$ (unbiased)")
    ax.set_xlabel("prompt $n$")
    ax.set_ylabel(r"$\kappa_n$")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return fig


@claim(
    id="gpg-unbiased",
    expected="violated",
    paper=P_GPG,
    topic=TOPIC,
    statement="GPG 'directly optimizes the original RL objective' (the abstract): its expected gradient "
    "(group-mean advantage, rescaled by alpha = N/(N - N_zero-variance)) equals the exact grad J.",
    bound="0",
    assumptions=("Bernoulli rewards", "tabular softmax", "sequence length 1"),
    instance="3 prompts x 2 actions, q ~ U(0,1), G=2; all 4,096 joint batch outcomes enumerated",
    controls={"rloo-in-place-of-gpg": "RLOO's advantages in place of GPG's (an estimator that is unbiased): the "
              "check must not report it violated"},
    notes="Catalogue check as written is violated: E[g_GPG] = sum_n kappa_n grad J_n with "
    "kappa_n = (G-1)/G E[N/(N - D_{-n})], D_{-n} the number of other zero-variance prompts (Poisson-binomial); "
    "the positive rescaling that does hold is the separate claim gpg-kappa-rescaling. Earlier versions judged this "
    "by Monte Carlo code written inside theory/; the expectation is now exact, of the library's estimator.",
)
def gpg_unbiased(budget, rng, control=None):
    """E[g_GPG] (exact, library group_gradients over every joint outcome) against bandit.gradient: holds iff the
    relative error is <= 1e-10. Measured: about |kappa_n - 1| of the derived per-prompt scales (the control RLOO
    reaches ~1e-16, so the check can say 'holds')."""
    method = "rloo" if control == "rloo-in-place-of-gpg" else "gpg"
    bandit, theta, e, kappa = _gpg_enumeration(rng, method)
    g = bandit.gradient(theta)
    rel = _rel(e, g)
    rule = V.at_most(rel, 1e-10, what="||E g_GPG - grad J|| / ||grad J|| (exact)")
    # (no tightness: the relative error is compared with a round-off tolerance, not with a bound)
    fig = _gpg_figure(kappa, r"GPG: $E\,\hat g = \kappa_n \nabla J_n \neq \nabla J$ (3x2 bandit, $G=2$, exact)",
                      control)
    return Verdict(predicted="E[g_GPG] = grad J (relative error 0)",
                   measured=f"relative error {rel:.3f}; cos {_cos(e, g):.5f}; kappa_n in [{kappa.min():.3f}, "
                   f"{kappa.max():.3f}]; larger instance (6x5, G=4) kappa_n in "
                   f"{np.round(_gpg_kappa_reference(rng), 3).tolist()}",
                   verdict=rule.verdict, rule=rule.rule, details="GPG rescales each prompt's gradient by kappa_n != 1 (see "
                   "gpg-kappa-rescaling): it ascends J (cos > 0) but does not follow grad J exactly.",
                   data={"kappa": kappa, "expected_grad": e, "grad": g}, figure=fig)


@claim(
    id="gpg-kappa-rescaling",
    paper=P_GPG,
    topic=TOPIC,
    statement="GPG's expected gradient is a positive per-prompt rescaling of the true gradient: "
    "E[g_GPG] = sum_n kappa_n grad J_n with kappa_n = (G-1)/G E[N/(N - D_{-n})] > 0, D_{-n} the number of the other "
    "prompts whose group has zero reward variance (so <E g_GPG, grad J> > 0).",
    bound="0",
    assumptions=("Bernoulli rewards", "tabular softmax", "groups independent across prompts"),
    instance="3 prompts x 2 actions, q ~ U(0,1), G=2; all 4,096 joint batch outcomes enumerated",
    expected="holds",
    controls={"no-alpha": "GPG without its rescaling alpha = N/(N - N_zero) (plain group-mean advantages, method "
              "'mean')"},
    catalogue=("gpg-unbiased",),
    notes="Split from gpg-unbiased: the honest restatement of what GPG's estimator does (holds, derived exactly).",
)
def gpg_kappa_rescaling(budget, rng, control=None):
    """Derivation: g_n = 0 on a zero-variance group, so E[alpha g_n] = E[g_n N/(N - D_{-n})] and D_{-n} is
    independent of prompt n's group; E[g_n] = (G-1)/G grad J_n (the group mean includes the sample). So
    E[g] = sum_n kappa_n grad J_n with kappa_n = (G-1)/G sum_d P(D_{-n} = d) N/(N - d) (Poisson-binomial over the
    other prompts' zero-variance probabilities p^G + (1-p)^G), each kappa_n in [(G-1)/G, (G-1)/G N]. Checked: the
    exact expectation of the library estimator equals the derived form to 1e-12 (relative), kappa_n > 0."""
    method = "mean" if control == "no-alpha" else "gpg"
    bandit, theta, e, kappa = _gpg_enumeration(rng, method)
    gn = bandit.gradient(theta)
    err = _rel(e, kappa[:, None] * gn)
    parts = [V.at_most(err, 1e-12, what="||E g_GPG - kappa_n grad J_n|| / ||.|| (exact)"),
             V.at_least(float(kappa.min()), 1e-12, what="min_n kappa_n")]
    fig = _gpg_figure(kappa, r"GPG: $E\,\hat g_n = \kappa_n \nabla J_n$ with $\kappa_n > 0$ (exact)", control)
    return Verdict(predicted="E[g_GPG] = kappa_n grad J_n, kappa_n > 0",
                   measured=f"relative error {err:.1e}; kappa_n {np.round(kappa, 4).tolist()}; cos(E g, grad J) "
                   f"{_cos(e, gn):.5f}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   data={"kappa": kappa, "expected_grad": e}, figure=fig)


@claim(
    id="rlzvp-zero-variance",
    paper=P_ZVP,
    topic=TOPIC,
    statement="GRPO's gradient from zero-variance prompts is exactly 0; an RL-ZVP-style term (advantage +c on "
    "all-correct groups, -c on all-wrong ones) raises the probability of the correct set both on all-correct prompts "
    "(pushing up the sampled correct answers) and on all-wrong ones (pushing down the sampled errors), to first "
    "order and in expectation given the event.",
    bound="0",
    assumptions=("verifiable binary rewards", "tabular softmax", "c > 0 independent of the sampled responses"),
    instance="1000 random policies (K=8, random correct sets, G=4); a 16-prompt training run for the effect",
    notes="RL-ZVP's entropy-guided magnitude is simplified to c = alpha * H(pi)/log K (the paper body was not "
    "available); the sign argument holds for any c > 0 that does not depend on the sampled responses.",
    expected="holds",
    controls={"batch-normalized": "advantages normalized over the whole batch (REINFORCE++, method 'reinforce++') "
              "instead of per group, so zero-variance groups get a nonzero advantage"},
)
def rlzvp_zero_variance(budget, rng, control=None):
    """Derivation: for an all-correct group, E[n_a | all correct] = G pi_a / pi(C) on a in C, so E[dz] =
    c (G pi_C/pi(C) - G pi) and d pi(C)/d eta = sum_{a in C} pi_a (dz_a - pi.dz) =
    c G (1 - pi(C)) sum_C pi_a^2 (1/pi(C) - 1) + c G pi(C) sum_{C^c} pi_a^2 >= 0; all-wrong is the same computation
    with C^c and -c, so pi(C^c) decreases, i.e. pi(C) increases again."""
    K, G = 8, 4
    n_inst = budget.pick(1000, 10000)
    pi = rng.dirichlet(np.ones(K) * 0.7, size=n_inst)
    C = rng.random((n_inst, K)) < 0.4
    C[np.arange(n_inst), rng.integers(K, size=n_inst)] = True
    C[C.all(axis=1), 0] = False
    dCs = []
    for good, sign in ((C, 1.0), (~C, -1.0)):  # all-correct groups (+c), all-wrong groups (-c)
        pg = np.sum(pi * good, axis=1, keepdims=True)
        dz = sign * (np.where(good, G * pi / pg, 0.0) - G * pi)  # E[dz | event] / c
        dCs.append(np.sum(pi * C * (dz - np.sum(pi * dz, axis=1, keepdims=True)), axis=1))
    frac = float(np.mean(np.concatenate(dCs) > 0))
    # zero-variance groups give exactly zero GRPO gradient rows
    bandit = ContextualBandit((rng.random((64, K)) < 0.5).astype(float))
    th = rng.normal(size=(64, K))
    a, _ = sample_actions(th, G, rng)
    rr = bandit.sample_rewards(a, rng)
    A = group_advantages(rr, "reinforce++" if control == "batch-normalized" else "grpo")
    gz = logit_gradient(th, a, A)
    zero = np.all(rr == rr[:, :1], axis=1)
    zero_max = float(np.abs(gz[zero]).max()) if zero.any() else 0.0
    # training effect (reported): GRPO vs GRPO + ZVP
    T = budget.pick(80, 600)
    bandit = ContextualBandit((rng.random((16, K)) < 0.25).astype(float))
    bandit.q[np.arange(16), rng.integers(K, size=16)] = 1.0
    curves = {}
    for use in (False, True):
        th = np.zeros((16, K))
        rg = np.random.default_rng(7)
        Js, Hs = [], []
        for _ in range(T):
            a, _ = sample_actions(th, G, rg)
            rr = bandit.sample_rewards(a, rg)
            A = group_advantages(rr, "grpo")
            if use:
                H = bandit.entropy(th) / np.log(K)
                zv = np.all(rr == rr[:, :1], axis=1)
                A = np.where(zv[:, None], 0.5 * H[:, None] * np.where(rr > 0, 1.0, -1.0), A)
            th = th + 1.0 * logit_gradient(th, a, A / G)
            Js.append(bandit.objective(th))
            Hs.append(bandit.entropy(th).mean())
        curves[use] = (np.array(Js), np.array(Hs))
    parts = [V.at_least(frac, 1.0, what="fraction of instances where the ZVP term raises pi(C)"),
             V.at_least(int(zero.sum()), 1, what="zero-variance groups in the batch"),
             V.at_most(zero_max, 0.0, what="max |GRPO gradient row| on zero-variance groups")]
    fig, ax = claim_figure(control)
    ax.plot(curves[False][0], label="GRPO: $J$")
    ax.plot(curves[True][0], label="GRPO + ZVP: $J$")
    ax.plot(curves[False][1] / np.log(K), ":", label=r"GRPO: $H/\log K$")
    ax.plot(curves[True][1] / np.log(K), ":", label=r"GRPO + ZVP: $H/\log K$")
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    return Verdict(predicted="zero-variance gradient 0; ZVP sign correct in every instance",
                   measured=f"max |grad| on {int(zero.sum())} zero-variance groups {zero_max:.1e}; sign correct "
                   f"{frac:.3f}; final J GRPO {curves[False][0][-1]:.3f} vs +ZVP {curves[True][0][-1]:.3f}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   details="Training effect reported, not pass/fail.",
                   data={"J_grpo": curves[False][0], "J_zvp": curves[True][0], "H_grpo": curves[False][1],
                         "H_zvp": curves[True][1]}, figure=fig)


@claim(
    id="vcrl-variance-difficulty",
    paper=P_VCRL,
    topic=TOPIC,
    statement="For Bernoulli(p) rewards the expected group sample variance is (G-1)/G p(1-p), peaking at p=1/2 "
    "(moderate difficulty); selecting prompts by their observed group variance raises the expected gradient "
    "norm per rollout over uniform selection.",
    bound="(G-1)/G*p*(1-p)",
    assumptions=("binary rewards", "tabular softmax bandit"),
    instance="p on a grid, G in {2,4,8,16}; 64 prompts x 8 actions, select 16 by a probe group of 8",
    expected="holds",
    controls={"ddof-1": "the group variance computed with ddof=1 (the unbiased sample variance, numpy's ddof "
              "parameter) where the claim's formula is for the population variance of the group (ddof=0)"},
)
def vcrl_variance_difficulty(budget, rng, control=None):
    """Exact: E[S^2_{ddof=0}] = (G-1)/G Var(r) = (G-1)/G p(1-p) (checked by enumerating the success count). Selection
    effect: exact ||grad_z J_n|| of the selected prompts (mean), VCRL = top-16 by the sample variance of a fresh
    probe group, vs a uniform random 16; repeated R times, the paired difference must be > 0 (z > 4)."""
    ddof = 1 if control == "ddof-1" else 0
    ps = np.linspace(0.02, 0.98, 25)
    err = 0.0
    for G in (2, 4, 8, 16):
        m = np.arange(G + 1)
        s2 = np.var((np.arange(G)[None, :] < m[:, None]).astype(float), axis=1, ddof=ddof)  # k successes of G
        es2 = scipy.stats.binom.pmf(m[None, :], G, ps[:, None]) @ s2
        err = max(err, float(np.max(np.abs(es2 - (G - 1) / G * ps * (1 - ps)) / (ps * (1 - ps)))))
        if G == 8:
            peak = ps[np.argmax(es2)]
    N, K, Gp, B = 64, 8, 8, 16
    bandit = ContextualBandit((rng.random((N, K)) < rng.random((N, 1))).astype(float))
    th = rng.normal(size=(N, K)) * 1.5
    gnorm = np.linalg.norm(bandit.gradient(th) * N, axis=1)
    R = budget.pick(200, 4000)
    big = ContextualBandit(np.tile(bandit.q, (R, 1)))  # R independent probe rounds in one draw
    a, _ = sample_actions(np.tile(th, (R, 1)), Gp, rng)
    score = big.sample_rewards(a, rng).var(1, ddof=ddof).reshape(R, N) + 1e-9 * rng.random((R, N))
    sel = np.argsort(-score, axis=1)[:, :B]
    uni = np.argsort(rng.random((R, N)), axis=1)[:, :B]
    diff = gnorm[sel].mean(1) - gnorm[uni].mean(1)
    z = diff.mean() / (diff.std(ddof=1) / np.sqrt(R))
    parts = [V.at_most(err, 1e-12, what="max |E S^2 - (G-1)/G p(1-p)| / p(1-p)"),
             V.at_most(abs(peak - 0.5), 0.05, what="|argmax_p E S^2 - 1/2|"),
             V.at_least(float(z), 4.0, what="z of the mean ||grad J_n|| gain over uniform selection")]
    fig, ax = claim_figure(control)
    for G in (2, 4, 16):
        ax.plot(ps, (G - 1) / G * ps * (1 - ps), label=f"$G$={G}")
    ax.set_xlabel("success probability $p$")
    ax.set_ylabel(r"$E[S^2] = \frac{G-1}{G}p(1-p)$")
    ax.legend(fontsize=7)
    return Verdict(predicted="(G-1)/G p(1-p); VCRL gain > 0", measured=f"max err {err:.1e}; peak p={peak:.2f}; mean "
                   f"||grad J_n|| gain {diff.mean():.4f} ({z:.1f} SE)", verdict=V.combine(*parts),
                   rule="; ".join(p.rule for p in parts),
                   min_detectable=float((4 + 0.84) * diff.std(ddof=1) / np.sqrt(R)),
                   data={"p": ps, "gain": diff}, figure=fig)


@claim(
    id="vade-zero-adv-groups",
    paper=P_VADE,
    topic=TOPIC,
    statement="A group of G Bernoulli(p) rewards is degenerate (zero advantage) with probability p^G + (1-p)^G; "
    "variance-aware prompt sampling (oracle p(1-p), Beta-Thompson with prior decay) lowers the fraction of "
    "zero-advantage groups below uniform sampling when prompt difficulty drifts.",
    bound="p**G + (1-p)**G",
    assumptions=("binary rewards, iid within a group",),
    instance="p in {0.05,...,0.95}, G in {2,4,8,16}; 200 drifting prompts, 32 per step, G=8",
    notes="The Thompson sampler here is a simplified VADE: Beta(1+s, 1+f) per prompt, sample p~, take the top-32 "
    "by p~(1-p~); prior decay multiplies the counts by 0.9 per step (the paper's two-scale decay is not modelled).",
    expected="holds",
    controls={"group-size-off-by-one": "zero_variance_fraction evaluated with G-1 (the group size counted without "
              "the first response)"},
)
def vade_zero_adv_groups(budget, rng, control=None):
    """Effective batch size = B (1 - fraction degenerate). Drift: logit p_n(t) = logit p_n(0) + 0.03 t (the policy
    learns every prompt). The formula is checked exactly: the library's zero_variance_fraction against the
    Binomial(G, p) probabilities of 0 and G successes (scipy). The ordering uniform > Thompson+decay is tested with
    binomial SEs over all groups (z > 4)."""
    pgrid = np.linspace(0.05, 0.95, 10)
    Gs = (2, 4, 8, 16)
    tab = np.zeros((len(Gs), len(pgrid)))
    err = 0.0
    for i, G in enumerate(Gs):
        ref = scipy.stats.binom.pmf(0, G, pgrid) + scipy.stats.binom.pmf(G, G, pgrid)
        tab[i] = zero_variance_fraction(pgrid, G - 1 if control == "group-size-off-by-one" else G)
        err = max(err, float(np.max(np.abs(tab[i] - ref) / ref)))
    T = budget.pick(60, 400)
    N, B, G = 200, 32, 8
    lp0 = rng.normal(-1.0, 2.0, size=N)
    res = {}
    for strat in ("uniform", "oracle", "thompson", "thompson-decay"):
        rg = np.random.default_rng(11)
        s_cnt, f_cnt = np.zeros(N), np.zeros(N)
        deg_total = 0
        for t in range(T):
            p = scipy.special.expit(lp0 + 0.03 * t)
            if strat == "uniform":
                sel = rg.choice(N, B, replace=False)
            elif strat == "oracle":
                sel = np.argsort(-(p * (1 - p)))[:B]
            else:
                pt = rg.beta(1 + s_cnt, 1 + f_cnt)
                sel = np.argsort(-(pt * (1 - pt)))[:B]
            rr = rg.random((B, G)) < p[sel, None]
            deg_total += int(np.sum(np.all(rr == rr[:, :1], axis=1)))
            if strat == "thompson-decay":
                s_cnt *= 0.9
                f_cnt *= 0.9
            s_cnt[sel] += rr.sum(1)
            f_cnt[sel] += G - rr.sum(1)
        res[strat] = deg_total / (T * B)
    n_groups = T * B
    se_diff = np.sqrt(res["uniform"] * (1 - res["uniform"]) / n_groups
                      + res["thompson-decay"] * (1 - res["thompson-decay"]) / n_groups)
    z_gain = (res["uniform"] - res["thompson-decay"]) / se_diff
    parts = [V.at_most(err, 1e-12, what="max |zero_variance_fraction / Binomial - 1|"),
             V.holds_if(res["oracle"] < res["uniform"]),
             V.at_least(float(z_gain), 4.0, what="z of uniform - Thompson+decay degenerate fraction")]
    fig, ax = claim_figure(control)
    pp = np.linspace(0, 1, 101)
    for i, G in enumerate(Gs):
        ax.plot(pp, pp**G + (1 - pp) ** G, color=f"C{i}", label=f"$G$={G}: $p^G+(1-p)^G$")
        ax.plot(pgrid, tab[i], "o", color=f"C{i}", ms=3)
    ax.set_xlabel("$p$")
    ax.set_ylabel("P(zero-advantage group)")
    ax.legend(fontsize=7)
    return Verdict(predicted="formula exact; oracle and Thompson+decay < uniform",
                   measured=f"formula rel. err {err:.1e}; degenerate fraction " +
                   ", ".join(f"{k} {v:.3f}" for k, v in res.items()) + f"; gain {z_gain:.1f} SE",
                   verdict=V.combine(*parts), rule=parts[0].rule + "; oracle < uniform; " + parts[2].rule,
                   min_detectable=float((4 + 0.84) * se_diff),
                   data={"p": pgrid, "library": tab, **{k: np.array(v) for k, v in res.items()}},
                   figure=fig)


def _luspo_models():
    ind = make_sequence_model(3, 5, lambda s: float(s[0] == 1))
    cor = make_sequence_model(3, 5, lambda s: float(sum(1 for t in s if t == 1) >= 2))
    length = make_sequence_model(3, 5, lambda s: float(len(s)))
    return {"reward independent of length": ind, "reward correlated with length": cor}, length


@claim(
    id="luspo-length-bias",
    paper=P_LUSPO,
    topic=TOPIC,
    statement="Per-response 1/|y| weighting (GSPO's on-policy sequence-ratio gradient, GRPO's token mean) makes "
    "E[g] deviate from grad J and shifts the response-length drift; weighting each response by its full score "
    "(LUSPO) or by a constant (Dr. GRPO) keeps E[g] parallel to grad J.",
    bound="0",
    assumptions=("token tree with explicit stop token", "baseline independent of the response (LOO / exact J)"),
    instance="V=3 (eos + 2 tokens), T=5 (31 nodes, 63 responses); rewards 1[y_1 = 1] and 1[#1-tokens >= 2]",
    expected="holds",
    controls={"drgrpo-own-length": "Dr. GRPO normalized by the response's own length (aggregation 'token-mean' "
              "over a group of one) instead of the constant maximal length"},
)
def luspo_length_bias(budget, rng, control=None):
    """Derivation: GSPO's ratio s_i = (pi/pi_old)(y_i)^{1/|y_i|} has on-policy gradient (1/|y_i|) grad log pi(y_i), so
    E[(r - b) grad s] = E[(r - J) grad log pi / |y|] (the LOO baseline is independent of y_i), which is not grad J when
    1/|y| correlates with (r - J) grad log pi. Multiplying by |y_i| (LUSPO) restores E[(r - J) grad log pi] = grad J.
    Length drift = <grad E|y|, E[g]>, the first-order change of the mean length along the expected update. The
    per-response weights come from the library's aggregation_weights (a group of one response: 'sequence' = 1,
    'seq-mean-token-mean' = 1/|y|, 'drgrpo' = 1/T); expectations by exact enumeration of the 63 responses."""
    dr_agg = "token-mean" if control == "drgrpo-own-length" else "drgrpo"
    models, length = _luspo_models()
    theta = rng.normal(size=length.param_shape) * 0.5
    gL = length.gradient(theta)
    rows = {}
    for name, m in models.items():
        prob, R, Ls, S = m.response_table(theta)
        J = prob @ R
        g = m.gradient(theta)
        out = {}
        L1 = Ls[:, None].astype(float)
        for est, agg in (("LUSPO/REINFORCE", "sequence"), ("GSPO/GRPO 1/|y|", "seq-mean-token-mean"),
                         ("Dr. GRPO 1/T", dr_agg)):
            w = aggregation_weights(L1, agg, max_len=m.T)[:, 0]
            e = np.einsum("j,j,juv->uv", prob, (R - J) * w, S)
            out[est] = (_cos(e, g), float(np.sum(gL * e)), float(np.sum(gL * g)))
        rows[name] = out
    gspo_cos = [rows[k]["GSPO/GRPO 1/|y|"][0] for k in rows]
    parts = [V.at_most(max(1 - rows[k][e][0] for k in rows for e in ("LUSPO/REINFORCE", "Dr. GRPO 1/T")), 1e-12,
                       what="LUSPO and Dr. GRPO: 1 - cos(E g, grad J)"),
             V.at_least(1 - min(gspo_cos), 1e-3, what="GSPO/GRPO 1/|y|: max 1 - cos(E g, grad J)")]
    fig, ax = claim_figure(control)
    names = list(rows)
    for i, est in enumerate(("LUSPO/REINFORCE", "GSPO/GRPO 1/|y|", "Dr. GRPO 1/T")):
        ax.bar(np.arange(len(names)) + 0.25 * i, [1 - rows[n][est][0] + 1e-17 for n in names], width=0.25, label=est)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(names)) + 0.25, names, fontsize=7)
    ax.set_ylabel(r"$1 - \cos(E\hat g, \nabla J)$")
    ax.legend(fontsize=7)
    meas = "; ".join(f"{n}: cos GSPO {rows[n]['GSPO/GRPO 1/|y|'][0]:.4f}, length drift GSPO "
                     f"{rows[n]['GSPO/GRPO 1/|y|'][1]:+.4f} vs true {rows[n]['LUSPO/REINFORCE'][2]:+.4f}" for n in names)
    return Verdict(predicted="cos = 1 for LUSPO and Dr. GRPO; < 1 for 1/|y|", measured=meas,
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   details="Exact enumeration of the 63 responses; Dr. GRPO is parallel (scale 1/T).",
                   data={"gspo_cos": np.array(gspo_cos)}, figure=fig)


@claim(
    id="kdrl-rkl-pg-kl-estimators",
    paper=P_KDRL,
    topic=TOPIC,
    statement="grad KL(pi||pi_T) = E_pi[grad log pi (log pi - log pi_T)]; as values k1 and k3 are unbiased and k2 is "
    "biased; as differentiated losses k1 gives 0, k2 gives grad RKL and k3 gives the forward-KL gradient; k1 as a "
    "REINFORCE reward gives grad RKL.",
    bound="0",
    assumptions=("categorical student and teacher",),
    instance="K=10, pi = softmax(N(0,1)), pi_T = softmax(N(0,1))",
    notes="Token level (tree V=3, T=3): the sequence-level score function with the summed log-ratio gives grad "
    "KL over responses exactly, while per-token k2 losses (sum_t l_t grad log pi_t) drop the effect of each token on "
    "the later tokens' KL and are biased; both measured exactly.",
    expected="holds",
    controls={"swapped-arguments": "kl_estimates / kl_loss_coefficients called with the student and teacher "
              "log-probabilities swapped"},
)
def kdrl_rkl_pg_kl_estimators(budget, rng, control=None):
    """All expectations by enumeration over the K actions (library kl_estimates, kl_loss_coefficients,
    logit_gradient); the reference gradients by central differences of the exact KLs."""
    K = 10
    z = rng.normal(size=K)
    lt = log_softmax_xp(rng.normal(size=K))
    p = softmax_xp(z)
    lp = np.log(p)

    def rkl(zz):
        q = softmax_xp(zz)
        return q @ (np.log(q) - lt)

    def fkl(zz):
        return np.exp(lt) @ (lt - log_softmax_xp(zz))

    h = 1e-6
    g_r = np.array([(rkl(z + h * e) - rkl(z - h * e)) / (2 * h) for e in np.eye(K)])
    g_f = np.array([(fkl(z + h * e) - fkl(z - h * e)) / (2 * h) for e in np.eye(K)])
    kl = rkl(z)
    la, lb = (lt, lp) if control == "swapped-arguments" else (lp, lt)
    k1, k2, k3 = kl_estimates(la, lb)
    vals = {"k1": p @ k1 - kl, "k2": p @ k2 - kl, "k3": p @ k3 - kl}
    vars_ = {"k1": p @ k1**2 - (p @ k1) ** 2, "k2": p @ k2**2 - (p @ k2) ** 2, "k3": p @ k3**2 - (p @ k3) ** 2}
    A = np.arange(K)[None]

    def expect(kind):
        c = kl_loss_coefficients(la, lb, kind)
        return logit_gradient(z[None], A, (p * c)[None])[0]

    e = {k: expect(k) for k in ("k1", "k2", "k3", "k1-score")}
    errs = {"k1 -> 0": np.abs(e["k1"]).max(), "k2 -> grad RKL": np.abs(e["k2"] - g_r).max(),
            "k3 -> grad FKL": np.abs(e["k3"] - g_f).max(), "k1 score -> grad RKL": np.abs(e["k1-score"] - g_r).max()}
    # token level: sequence KL over a prefix tree
    m = make_sequence_model(3, 3, lambda s: 0.0)
    th, ref = rng.normal(size=m.param_shape), rng.normal(size=m.param_shape)
    g_seq = np.zeros(m.param_shape)
    for idx in np.ndindex(m.param_shape):
        d = np.zeros(m.param_shape)
        d[idx] = h
        g_seq[idx] = (m.kl(th + d, ref) - m.kl(th - d, ref)) / (2 * h)
    prob, _, _, S = m.response_table(th)
    prob_ref = m.response_table(ref)[0]
    e_seq = np.einsum("j,j,juv->uv", prob, np.log(prob) - np.log(prob_ref), S)
    P = m.reach(th)
    pu, lpu, lru = m.probs(th), log_softmax_xp(th), log_softmax_xp(ref)
    lr_tok = lpu - lru  # per node and token
    e_tok = P[:, None] * pu * (lr_tok - np.sum(pu * lr_tok, 1, keepdims=True))  # sum_u P(u) E_v[l (e_v - pi_u)]
    errs["sequence score -> grad seq KL"] = float(np.abs(e_seq - g_seq).max())
    tok_bias = float(np.abs(e_tok - g_seq).max())
    parts = [V.at_most(max(abs(vals["k1"]), abs(vals["k3"])) / kl, 1e-12, what="k1, k3 |E k - KL| / KL"),
             V.at_least(abs(vals["k2"]) / kl, 1e-6, what="k2 |E k - KL| / KL"),
             V.at_most(max(errs.values()), 1e-8, what="max gradient error (4 identities + sequence score)"),
             V.at_least(float(np.abs(e["k3"] - g_r).max()), 1e-3, what="|k3-as-loss - grad RKL|"),
             V.at_least(tok_bias, 1e-3, what="per-token k2 bias on the tree")]
    fig, ax = claim_figure(control)
    ax.bar(range(3), [abs(v) + 1e-18 for v in vals.values()], tick_label=list(vals))
    ax.set_yscale("log")
    ax.set_ylabel(r"$|E[k] - KL|$ (value bias)")
    return Verdict(predicted="k1, k3 unbiased values; k2/k1-score give grad RKL; k3 gives grad FKL",
                   measured="value bias " + ", ".join(f"{k} {v:.1e}" for k, v in vals.items()) + "; grad errs "
                   + ", ".join(f"{k} {v:.1e}" for k, v in errs.items()) + "; variances "
                   + ", ".join(f"{k} {v:.3g}" for k, v in vars_.items()) + f"; per-token k2 bias on the tree "
                   f"{tok_bias:.3f}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   data={"value_bias": np.array(list(vals.values()))}, figure=fig)


@claim(
    id="topr-tapered-is",
    paper=P_TOPR,
    topic=TOPIC,
    statement="Off-policy with +-1 rewards, REINFORCE without IS pushes negative examples' logits down forever "
    "(parameter norm grows linearly) while under TOPR (no IS on positives, IS truncated at 1 on negatives) the "
    "norm grows only logarithmically and pi converges to mu restricted to the positive examples; full IS is the "
    "on-policy gradient in expectation but noisier; the baseline c flips which examples count as negative.",
    bound="1",
    assumptions=("K-armed bandit, rewards in {-1, +1}", "fixed behaviour policy mu"),
    instance="K=6, 2 positive arms, mu ~ Dirichlet(1) with mass 0.8 on negatives; expected updates, eta=1",
    expected="holds",
    controls={"full-is": "TOPR's truncated ratio replaced by the full importance ratio pi/mu on every sample "
              "(ratio_coefficients correction 'is' in place of 'topr')"},
)
def topr_tapered_is(budget, rng, control=None):
    """Expected drifts (logits) of the library's corrections (ratio_coefficients 'none' / 'topr' / 'is', assembled
    by logit_gradient over the K arms weighted by mu): naive mu*r - pi (mu.r); TOPR sum_{pos} mu_a (e_a - pi) -
    sum_{neg} min(pi_a, mu_a) (e_a - pi); full IS pi*(r - J). TOPR's fixed point: pi on the positive arms prop. to
    mu there (the cross-entropy minimizer), negatives -> 0; their weight min(pi_a, mu_a) = pi_a -> 0, so their
    logits decrease like log t (dz = -pi_a with pi_a ~ e^z). Naive: negative logits drift by mu_a r_a < 0 per step
    forever; the slope of log |z_t - z_0| vs log t must lie in [0.95, 1.05] (fit over the rule window); TOPR's
    slope CI must lie below 0.5."""
    from mdpgrad.rates import fit_power_law

    K = 6
    r = np.array([1.0, 1.0, -1, -1, -1, -1])
    mu = np.r_[rng.dirichlet(np.ones(2)) * 0.2, rng.dirichlet(np.ones(4)) * 0.8]
    T = budget.pick(600, 20000)
    corr = {"naive": "none", "topr": "is" if control == "full-is" else "topr", "is": "is"}

    def drift(z, name):  # sum_a mu_a c_a (e_a - pi), c_a = r_a x the library's off-policy factor
        lp = log_softmax_xp(z)
        w = mu * r * ratio_coefficients(r, lp, np.log(mu), corr[name], rewards=r)
        return w - np.exp(lp) * w.sum()

    z0 = np.zeros(K)
    traj = {}
    for name in ("naive", "topr"):
        zs = np.empty((T, K))
        z = z0.copy()
        for k in range(T):
            z = z + drift(z, name)
            zs[k] = z
        traj[name] = (np.linalg.norm(zs - z0, axis=1), softmax_xp(zs) @ r, softmax_xp(z))
    t = np.arange(1, T + 1)
    fit = fit_power_law(t, traj["naive"][0])
    nt = traj["topr"][0]
    fit_topr = fit_power_law(t, nt)
    pfix = traj["topr"][2]
    target = np.r_[mu[:2] / mu[:2].sum(), np.zeros(4)]
    tv = _tv(pfix, target)
    # stochastic oscillation of J (reported): batches of 8 from mu
    osc = {}
    for name in ("naive", "topr", "is"):
        rg = np.random.default_rng(3)
        z = z0.copy()
        n_st = budget.pick(150, 2000)
        zs = np.empty((n_st, K))
        for k in range(n_st):
            a = rg.choice(K, 8, p=mu)
            lp = log_softmax_xp(z)[a]
            c = r[a] * ratio_coefficients(r[a], lp, np.log(mu[a]), corr[name], rewards=r[a])
            z = z + 0.5 * logit_gradient(z[None], a[None], (c / 8)[None])[0]
            zs[k] = z
        Js = softmax_xp(zs) @ r
        osc[name] = float(np.std(np.diff(Js[n_st // 2:])))
    # baseline sweep: fraction of mu-samples that count as negative (r - c < 0)
    cs = np.array([-1.5, -0.5, 0.0, 0.5, 1.5])
    neg_frac = np.array([mu @ (r - c < 0) for c in cs])
    parts = [V.slope_in_band(fit, 0.95, 1.05, what="naive log-log slope of |z_t - z_0|"),
             V.slope_in_band(fit_topr, -np.inf, 0.5, what="TOPR log-log slope of |z_t - z_0|"),
             V.at_most(tv, 1e-2, what="TV(pi_T, mu restricted to the positives)"),
             V.at_least(float(traj["topr"][1][-1]), 1 - 2e-2, what="TOPR final J")]
    fig, ax = claim_figure(control)
    for name, (nn, _, _) in traj.items():
        ax.loglog(t, nn + 1e-12, label=f"{name}: $|z_t - z_0|$")
    if fit is not None:
        ax.loglog(t, fit.predict(t), "k:", label=f"fit slope {fit.slope:.3f}")
    ax.set_xlabel("step $t$")
    ax.legend(fontsize=7)
    return Verdict(predicted="naive norm slope 1; TOPR slope < 0.5 (logarithmic), pi -> mu restricted to positives",
                   measured=f"naive slope {fit.slope if fit else float('nan'):.3f}; TOPR |z| {nt[-1]:.2f}, log-log "
                   f"slope {fit_topr.slope if fit_topr else float('nan'):.3f}, TV to fixed point {tv:.1e}, J "
                   f"{traj['topr'][1][-1]:.4f}; J-step std naive {osc['naive']:.2e}, "
                   f"IS {osc['is']:.2e}, TOPR {osc['topr']:.2e}",
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts),
                   details="Oscillation and the baseline sweep are reported, not pass/fail.",
                   data={"c": cs, "neg_fraction": neg_frac, **{f"norm_{k}": v[0] for k, v in traj.items()}},
                   figure=fig)


#: The library's GRPO / Clip-Cov / KL-Cov run (a pure function of its arguments), memoized so that the claim and its
#: control share the GRPO reference runs.
_entropy_run = functools.lru_cache(maxsize=64)(grpo_entropy_run)


@claim(
    id="clipcov-klcov-entropy",
    paper=P_ENT,
    topic=TOPIC,
    statement="Restricting the update of high-covariance tokens (Clip-Cov: detach a fraction of them; KL-Cov: "
    "penalize |log pi - log pi_old| on the top fraction) slows the entropy collapse of GRPO training.",
    bound="0",
    assumptions=("verifiable multi-prompt bandit", "GRPO advantages, PPO clip 0.2, 2 inner epochs"),
    instance="32 prompts x 16 actions (about 20% correct), G=8, fractions 0.2 (scaled up from the paper's 2e-4 "
    "because a batch here has 256 tokens), 4 seeds x 20 steps (quick), 16 x 200 (full)",
    priority="B",
    expected="holds",
    controls={"no-op": "Clip-Cov with clip_ratio=0 and KL-Cov with penalty beta=0 (both steps reduce to GRPO's)"},
    notes="Not a catalogue id: the issue's entropy analysis. Pass = mean entropy over training higher than GRPO's "
    "by more than 4 SE across seeds for both methods; the reward cost is reported.",
)
def clipcov_klcov_entropy(budget, rng, control=None):
    """Seeds are drawn from the claim rng; the same seeds serve all three methods (paired comparison). The paired
    differences' SE gives min_detectable = (4 + 0.84) SE of the mean entropy gain."""
    S = budget.pick(4, 16)
    T = budget.pick(20, 200)
    seeds = rng.integers(0, 2**31, size=S)
    ratio, kl_beta = (0.0, 0.0) if control == "no-op" else (0.2, 1.0)
    res = {m: [_entropy_run(m, int(s), T, fraction=ratio, kl_beta=kl_beta) for s in seeds]
           for m in ("grpo", "clip-cov", "kl-cov")}
    area = {m: np.array([h.mean() for h, _ in v]) for m, v in res.items()}
    final_J = {m: float(np.mean([j[-1] for _, j in v])) for m, v in res.items()}
    zs, md = {}, []
    for m in ("clip-cov", "kl-cov"):
        d = area[m] - area["grpo"]
        se = d.std(ddof=1) / np.sqrt(S)
        zs[m] = float(d.mean() / se) if se > 0 else 0.0
        md.append((4 + 0.84) * se)
    parts = [V.at_least(z, 4.0, what=f"{m}: z of the mean-entropy gain over GRPO") for m, z in zs.items()]
    fig, ax = claim_figure(control)
    for m, v in res.items():
        ax.plot(np.mean([h for h, _ in v], axis=0), label=f"{m} (final $J$ {final_J[m]:.3f})")
    ax.set_xlabel("step")
    ax.set_ylabel("mean entropy $H$")
    ax.legend(fontsize=7)
    return Verdict(predicted="entropy(Clip-Cov), entropy(KL-Cov) > entropy(GRPO)",
                   measured=f"mean-entropy gain: Clip-Cov {zs['clip-cov']:.1f} SE, KL-Cov {zs['kl-cov']:.1f} SE; "
                   "final J " + ", ".join(f"{m} {v:.3f}" for m, v in final_J.items()),
                   verdict=V.combine(*parts), rule="; ".join(p.rule for p in parts), min_detectable=float(max(md)),
                   data={f"H_{m}": np.mean([h for h, _ in v], axis=0) for m, v in res.items()},
                   figure=fig)
