"""LLM-RL claims: group-relative estimators, KL penalties, entropy dynamics and zero-variance prompts,
checked on softmax bandits and token trees whose gradients are known exactly.

Conventions shared by the checks below:

* unbiasedness: ``|mean - exact| <= z* SE`` per coordinate with ``z*`` the Bonferroni
  quantile of the 4-SE test over all tested coordinates (``_z_bonf``); bias is declared when
  some coordinate is more than 6 SE away;
* "exact" expectations come from enumeration (``exact_expected_group_gradient``, response
  tables of the token tree) or closed forms derived in the docstrings;
* every instance is seeded from the claim's ``rng``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.optimize
import scipy.special
import scipy.stats

from mdpgrad.bandits import (
    ContextualBandit,
    aggregation_weights,
    bnpo_normalizer,
    exact_expected_group_gradient,
    group_advantages,
    kl_estimates,
    kl_loss_coefficients,
    logit_gradient,
    make_sequence_model,
    maxk_coefficients,
    maxk_exact,
    ratio_coefficients,
    sample_actions,
    zero_variance_fraction,
)
from mdpgrad.bandits.model import log_softmax_xp, softmax_xp
from mdpgrad.claims import Verdict, claim, holds_if
from mdpgrad.plotting import new_figure

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

#: Two-sided tail of the 4-SE test for one coordinate.
_ALPHA4 = 2 * scipy.stats.norm.sf(4.0)


def _z_bonf(m: int) -> float:
    """Bonferroni threshold of the 4-SE test over ``m`` coordinates (= 4 for m = 1)."""
    return float(scipy.stats.norm.isf(_ALPHA4 / (2 * max(int(m), 1))))


def _zmax(samples, exact):
    """Max |z| of the per-coordinate MC mean of ``samples[M, ...]`` against ``exact``."""
    s = np.asarray(samples, dtype=float)
    M = s.shape[0]
    mean = s.mean(0)
    se = s.std(0, ddof=1) / np.sqrt(M)
    d = np.abs(mean - exact)
    ok = se > 0
    z = np.where(ok, d / np.where(ok, se, 1.0), np.where(d > 1e-12, np.inf, 0.0))
    return float(np.max(z)), mean, se


def _cos(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _tv(p, q):
    return float(0.5 * np.sum(np.abs(np.asarray(p) - np.asarray(q)), axis=-1).max())


def _mc_group_grads(bandit, theta, G, method, M, rng, **adv_kw):
    """``M`` independent group estimates ``[M, N, V]`` (each (1/(N G)) sum_i A_i (e_{a_i} - pi)).

    Replicates are stacked as extra prompts, so one vectorized call does all of them;
    prompt-coupled advantages (GPG, REINFORCE++) are computed per replicate.
    """
    N, V = bandit.q.shape
    logits = np.tile(bandit.check_theta(theta), (M, 1))
    big = ContextualBandit(np.tile(bandit.q, (M, 1)), reward=bandit.reward, noise=bandit.noise)
    a, _ = sample_actions(logits, G, rng)
    r = big.sample_rewards(a, rng)
    if method == "gpg":
        r3 = r.reshape(M, N, G)
        zero = np.all(r3 == r3[..., :1], axis=2)
        nvalid = N - zero.sum(1)
        alpha = np.where(nvalid > 0, N / np.maximum(nvalid, 1), 0.0)
        A = (alpha[:, None, None] * (r3 - r3.mean(2, keepdims=True))).reshape(M * N, G)
    else:
        kw = dict(adv_kw)
        for key in ("baseline", "p"):
            if kw.get(key) is not None:
                kw[key] = np.tile(np.asarray(kw[key], dtype=float).reshape(-1), M)
        A = group_advantages(r, method, **kw)
    g = logit_gradient(logits, a, A / (N * G))
    return g.reshape(M, N, V)


def _bandit(rng, N, K, reward="bernoulli"):
    q = rng.random((N, K))
    return ContextualBandit(q, reward=reward), rng.normal(size=(N, K))


# ---------------------------------------------------------------------------------------------
@claim(
    id="rloo-unbiased-grpo-biased",
    paper=P_GRPO,
    topic=TOPIC,
    statement="RLOO is an unbiased estimator of grad J; GRPO (group mean/std normalization) is biased. Group-mean "
    "centering equals (G-1)/G x RLOO in expectation, which isolates GRPO's bias to the std division.",
    bound="0",
    assumptions=("Bernoulli rewards", "tabular softmax logits", "G responses per prompt, iid"),
    instance="8 prompts x 6 responses, q ~ U(0,1), theta ~ N(0,1); G in {2,4,8,16}",
    notes="Exact expectations by conditioning on the other responses' success count (Binomial(G-1, p_n)). "
    "GRPO's std uses ddof=1 and eps=1e-6 as in TRL. The multi-turn MDP repetition of the catalogue is not done "
    "(bandit only).",
)
def rloo_unbiased_grpo_biased(budget, rng):
    """The catalogue's [derived] part holds: E[(1/G) sum (r_i - rbar) grad log pi_i] = (G-1)/G grad J (the
    sample's own reward inside the mean is correlated with its score), checked to 1e-12."""
    bandit, theta = _bandit(rng, 8, 6)
    g = bandit.gradient(theta)
    Gs = (2, 4, 8, 16)
    M = budget.pick(4000, 40000)
    zs = _z_bonf(g.size * len(Gs))
    rows = []
    ok = True
    for G in Gs:
        e_rloo = exact_expected_group_gradient(bandit, theta, G, "rloo")
        e_mean = exact_expected_group_gradient(bandit, theta, G, "mean")
        e_grpo = exact_expected_group_gradient(bandit, theta, G, "grpo")
        id_err = max(np.abs(e_rloo - g).max(), np.abs(e_mean - (G - 1) / G * g).max())
        z_rloo, _, _ = _zmax(_mc_group_grads(bandit, theta, G, "rloo", M, rng), g)
        s_grpo = _mc_group_grads(bandit, theta, G, "grpo", M, rng)
        z_grpo_self, _, se = _zmax(s_grpo, e_grpo)  # MC agrees with the exact GRPO expectation
        bias_se = float(np.max(np.abs(e_grpo - g) / np.maximum(se, 1e-300)))
        rel = float(np.linalg.norm(e_grpo - g) / np.linalg.norm(g))
        scale = float(np.sum(e_grpo * g) / np.sum(g * g))
        rows.append((G, id_err, z_rloo, z_grpo_self, bias_se, rel, _cos(e_grpo, g), scale))
        ok &= id_err <= 1e-12 and z_rloo <= zs and z_grpo_self <= zs and bias_se > 6
    rows = np.array(rows)
    fig, ax = new_figure()
    ax.plot(rows[:, 0], rows[:, 5], "o-", label="GRPO ||E g - grad J|| / ||grad J||")
    ax.plot(rows[:, 0], 1 - rows[:, 6], "s-", label="GRPO 1 - cos(E g, grad J)")
    ax.plot(rows[:, 0], np.abs(rows[:, 1]) + 1e-18, "^-", label="RLOO |E g - grad J| (exact)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("group size G")
    ax.legend(fontsize=7)
    ax.set_title("RLOO unbiased, GRPO biased (8x6 Bernoulli bandit)", fontsize=9)
    return Verdict(
        predicted="RLOO bias 0; GRPO bias > 6 SE",
        measured=f"RLOO max z {rows[:, 2].max():.2f} (thr {zs:.2f}); GRPO bias {rows[:, 4].min():.1f}-"
        f"{rows[:, 4].max():.1f} SE, rel. bias {rows[:, 5].min():.3f}-{rows[:, 5].max():.3f}",
        verdict=holds_if(ok),
        details="GRPO's E[g] = sum_n kappa_n grad J_n with prompt-dependent kappa_n (std division): it is longer "
        f"than grad J (projection scale {rows[:, 7].min():.2f}-{rows[:, 7].max():.2f}) and tilted "
        f"(cos {rows[:, 6].min():.4f}-{rows[:, 6].max():.4f}). M={M} groups per G.",
        data={"G": rows[:, 0], "identity_err": rows[:, 1], "z_rloo": rows[:, 2], "z_grpo_vs_exact": rows[:, 3],
              "grpo_bias_in_se": rows[:, 4], "grpo_rel_bias": rows[:, 5], "grpo_cos": rows[:, 6],
              "grpo_scale": rows[:, 7]},
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
)
def rloo_loop_unbiased(budget, rng):
    """Variance = trace of the covariance of the per-group estimate (MC, M groups); its SE is below 2% at
    M=4000, far smaller than the gaps measured. LOOP's clipped surrogate with pi_old = pi has ratio 1, so
    its gradient coefficient equals the advantage exactly."""
    bandit, theta = _bandit(rng, 4, 5)
    g = bandit.gradient(theta)
    M = budget.pick(4000, 40000)
    ks = (2, 4, 8)
    zs = _z_bonf(g.size * len(ks))
    var_rloo, var_plain, zmax, ident = [], [], 0.0, 0.0
    for k in ks:
        ident = max(ident, np.abs(exact_expected_group_gradient(bandit, theta, k, "rloo") - g).max())
        s = _mc_group_grads(bandit, theta, k, "rloo", M, rng)
        z, _, _ = _zmax(s, g)
        zmax = max(zmax, z)
        var_rloo.append(float(np.sum(s.var(0, ddof=1))))
        s0 = _mc_group_grads(bandit, theta, k, "reinforce", M, rng)
        var_plain.append(float(np.sum(s0.var(0, ddof=1))))
        r = (rng.random((50, k)) < 0.5).astype(float)
        ident = max(ident, np.abs(group_advantages(r, "rloo") - k / (k - 1) * group_advantages(r, "mean")).max())
        lp = rng.normal(size=r.shape)
        A = group_advantages(r, "rloo")
        loop = A * ratio_coefficients(A, lp, lp, "ppo", clip_eps=0.2)
        ident = max(ident, np.abs(loop - A).max())
    var_rloo, var_plain = np.array(var_rloo), np.array(var_plain)
    ok = ident <= 1e-12 and zmax <= zs and np.all(var_rloo < var_plain) and np.all(np.diff(var_rloo) < 0)
    fig, ax = new_figure()
    ax.plot(ks, var_plain, "o-", label="REINFORCE (no baseline)")
    ax.plot(ks, var_rloo, "s-", label="RLOO")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("samples per prompt k")
    ax.set_ylabel("tr Cov(g)")
    ax.legend(fontsize=7)
    return Verdict(predicted="bias 0, var(RLOO) < var(no baseline), decreasing in k",
                   measured=f"max z {zmax:.2f} (thr {zs:.2f}); var RLOO {np.round(var_rloo, 6).tolist()} vs "
                   f"{np.round(var_plain, 6).tolist()}; identities {ident:.1e}",
                   verdict=holds_if(ok), details=f"M={M} groups per k.",
                   data={"k": np.array(ks), "var_rloo": var_rloo, "var_plain": var_plain}, figure=fig)


@claim(
    id="grpo-secretly-offpolicy",
    paper=P_OFF,
    topic=TOPIC,
    statement="(a) Group-mean REINFORCE on data from a fixed behaviour mu drifts the logits by "
    "(G-1)/G mu(y)(r(y) - rbar_mu), so it converges to argmax_y mu(y)(r(y) - rbar_mu), which can be "
    "suboptimal; (b) the KL-regularized (OPMD) squared loss reaches pi_k prop. to pi_{k-1} exp(r/tau) for every "
    "full-support mu; (c) AsymRE's baseline shift delta is REINFORCE plus delta x a cross-entropy regularizer.",
    bound="0",
    assumptions=("K-armed bandit, deterministic rewards", "tabular softmax", "fixed behaviour policy mu"),
    instance="K=4, r=(1, 0.9, 0, 0.2), mu=(0.05, 0.6, 0.3, 0.05); OPMD tau=0.5 with mu in {uniform, skewed, pi}",
)
def grpo_secretly_offpolicy(budget, rng):
    """Derivation (a): E_mu[(r_a - rbar)(e_a - pi)] = mu*(r - rbar_mu) - pi sum_a mu_a (r_a - rbar_mu) =
    mu*(r - rbar_mu), independent of pi; the group mean including the sample itself multiplies it by (G-1)/G.
    (b): the OPMD loss sum_a mu_a (r_a - tau log Z - tau log(pi/pi_old)(a))^2 is zero iff pi = pi_old exp(r/tau)/Z
    on supp mu. (c): E_mu[(r - rbar_mu - delta)(e_a - pi)] = mu*(r - rbar_mu) - delta (mu - pi) and
    mu - pi = grad_z sum_a mu_a log pi_z(a)."""
    r = np.array([1.0, 0.9, 0.0, 0.2])
    mu = np.array([0.05, 0.6, 0.3, 0.05])
    K, G = 4, 4
    M = budget.pick(20000, 200000)
    z = rng.normal(size=K) * 0.3
    pi = softmax_xp(z)
    d = (G - 1) / G * mu * (r - mu @ r)
    # (a) MC check of the drift formula
    a, _ = sample_actions(np.tile(np.log(mu), (M, 1)), G, rng)
    R = r[a]
    A = group_advantages(R, "mean")
    s = logit_gradient(np.tile(z, (M, 1)), a, A / G)
    za, _, _ = _zmax(s, d)
    traj = [softmax_xp(z + t * 0.5 * d) for t in range(0, 400)]
    traj = np.array(traj)
    limit_arm = int(np.argmax(traj[-1]))
    ok_a = za <= _z_bonf(K) and limit_arm == int(np.argmax(d)) and limit_arm != int(np.argmax(r))
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
                lp = log_softmax_xp(zz)
                res = r - tau * logZ - tau * (lp - log_softmax_xp(z_old))
                # d res_a / d z = -tau (e_a - pi)
                gz = -2 * tau * (m * res - softmax_xp(zz) * (m @ res))
                return float(m @ res**2), gz

            sol = scipy.optimize.minimize(f, z_old, jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
            tvs.append(_tv(softmax_xp(sol.x), target))
            z_old = sol.x
    ok_b = max(tvs) < 1e-3
    # (c) AsymRE identity
    delta = 0.3
    lhs = mu @ ((r - mu @ r - delta)[:, None] * (np.eye(K) - pi))
    rhs = mu * (r - mu @ r) - delta * (mu - pi)
    eps = 1e-6
    fd = np.array([(mu @ log_softmax_xp(z + eps * e) - mu @ log_softmax_xp(z - eps * e)) / (2 * eps)
                   for e in np.eye(K)])
    err_c = max(np.abs(lhs - rhs).max(), np.abs(fd - (mu - pi)).max() * 1e-3)
    ok_c = np.abs(lhs - rhs).max() < 1e-12 and np.abs(fd - (mu - pi)).max() < 1e-8
    fig, ax = new_figure()
    for k in range(K):
        ax.plot(traj[:, k], label=f"arm {k} (r={r[k]}, mu={mu[k]})")
    ax.set_xlabel("expected update step")
    ax.set_ylabel("pi(arm)")
    ax.set_title("group REINFORCE on mu-data converges to argmax mu(r - rbar_mu)", fontsize=9)
    ax.legend(fontsize=7)
    return Verdict(predicted=f"limit arm {int(np.argmax(d))} (not the best arm 0); OPMD TV < 1e-3; identity 0",
                   measured=f"drift z {za:.2f}; limit arm {limit_arm} (pi={traj[-1, limit_arm]:.3f}); "
                   f"OPMD max TV {max(tvs):.1e}; AsymRE identity {err_c:.1e}",
                   verdict=holds_if(ok_a and ok_b and ok_c),
                   details="(a) checked by MC against the closed-form drift (4 SE, Bonferroni over arms), "
                   "(b) 3 OPMD steps per mu solved with L-BFGS, (c) exact identity + finite differences.",
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
)
def copg_offpolicy_optimal(budget, rng):
    """CoPG gradient (Flet-Berliac et al. 2024): (1/2) E_{y,y'~mu}[(R(y) - R(y'))(grad log pi(y) - grad log pi(y'))]
    with R = r - beta log(pi/pi_ref). It is minus the gradient of E(R(y) - R(y'))^2 / (4 beta) = Var_mu(R)/(2 beta);
    in logits the expectation is mu*(R - Rbar_mu), zero iff R is constant on supp mu, i.e. pi = pi*. On-policy
    (mu = pi) it equals pi*(R - Rbar_pi) = grad J_beta (checked against finite differences). Negative control:
    REINFORCE on mu-data with the exact KL gradient as a separate penalty (no IS) converges elsewhere."""
    K, beta = 6, 0.5
    r = rng.random(K)
    ref = rng.dirichlet(np.ones(K))
    pstar = ref * np.exp(r / beta)
    pstar /= pstar.sum()
    z0 = rng.normal(size=K)
    mus = {"uniform": np.full(K, 1 / K), "pi_ref": ref, "dirichlet": rng.dirichlet(np.full(K, 0.3)),
           "skewed": np.r_[0.95, np.full(K - 1, 0.05 / (K - 1))]}
    tvs = {}
    for name, mu in mus.items():
        mu = np.maximum(mu, 1e-3)
        mu /= mu.sum()

        def f(z, mu=mu):
            R = r - beta * (log_softmax_xp(z) - np.log(ref))
            c = R - mu @ R
            return float(mu @ c**2) / (2 * beta), -(mu * c)

        sol = scipy.optimize.minimize(f, z0, jac=True, method="L-BFGS-B", options={"gtol": 1e-13, "ftol": 1e-16})
        tvs[name] = _tv(softmax_xp(sol.x), pstar)
    # on-policy gradient vs finite differences of J_beta
    pi = softmax_xp(z0)
    R = r - beta * (np.log(pi) - np.log(ref))
    g_copg = pi * (R - pi @ R)

    def Jb(z):
        p = softmax_xp(z)
        return p @ r - beta * p @ (np.log(p) - np.log(ref))

    h = 1e-6
    fd = np.array([(Jb(z0 + h * e) - Jb(z0 - h * e)) / (2 * h) for e in np.eye(K)])
    err_on = float(np.abs(fd - g_copg).max())
    # MC of the pair estimator on-policy
    M = budget.pick(20000, 200000)
    a, _ = sample_actions(np.tile(z0, (M, 1)), 2, rng)
    Ra = R[a]
    coef = 0.5 * np.stack([Ra[:, 0] - Ra[:, 1], Ra[:, 1] - Ra[:, 0]], axis=1)
    s = logit_gradient(np.tile(z0, (M, 1)), a, coef)
    zmc, _, _ = _zmax(s, g_copg)
    # IPO identity: Delta^2/(4 beta) = (beta/4) (h - 1/(2 tau))^2 when r_w - r_l = beta/(2 tau)
    tau = 0.3
    hlog = rng.normal(size=20)
    copg_loss = ((beta / (2 * tau)) - beta * hlog) ** 2 / (4 * beta)
    ipo = (hlog - 1 / (2 * tau)) ** 2
    err_ipo = float(np.abs(copg_loss - beta / 4 * ipo).max())
    # negative control: REINFORCE on mu-data + exact KL-gradient penalty
    mu = mus["skewed"]

    def naive(z):
        p = softmax_xp(z)
        return -(mu * (r - mu @ r) - beta * p * (np.log(p / ref) - p @ np.log(p / ref)))

    zc = z0.copy()
    for _ in range(3000):
        zc = zc - 2.0 * naive(zc)
    tv_ctrl = _tv(softmax_xp(zc), pstar)
    ok = max(tvs.values()) < 1e-3 and err_on < 1e-8 and zmc <= _z_bonf(K) and err_ipo < 1e-12 and tv_ctrl > 1e-2
    fig, ax = new_figure()
    ax.bar(np.arange(K) - 0.2, pstar, width=0.4, label="pi* = pi_ref exp(r/beta)/Z")
    ax.bar(np.arange(K) + 0.2, softmax_xp(zc), width=0.4, label="naive off-policy PG + KL (control)")
    ax.set_xlabel("arm")
    ax.legend(fontsize=7)
    ax.set_title(f"CoPG minimizer TV to pi*: {max(tvs.values()):.1e} for all mu", fontsize=9)
    return Verdict(predicted="TV(CoPG, pi*) < 1e-3 for every mu; control TV > 1e-2",
                   measured=f"max TV {max(tvs.values()):.1e}; on-policy grad err {err_on:.1e}, MC z {zmc:.2f}; "
                   f"IPO err {err_ipo:.1e}; control TV {tv_ctrl:.3f}",
                   verdict=holds_if(ok), details="The catalogue's 'TV < 1e-2' was tightened to 1e-3.",
                   data={"tv": np.array(list(tvs.values())), "pstar": pstar, "control": softmax_xp(zc)}, figure=fig)
