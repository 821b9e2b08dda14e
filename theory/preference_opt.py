"""Preference optimization and KL-regularized RL on token trees and bandits (issue 18's B entries).

The token tree is :class:`mdpgrad.bandits.SequenceModel` (a deterministic tree MDP with terminal rewards);
soft-optimal values and implicit rewards come from :mod:`mdpgrad.bandits.kl_regularized` and are checked
against brute-force enumeration of the responses.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

from mdpgrad.bandits import make_sequence_model
from mdpgrad.bandits.kl_regularized import (
    f_divergence,
    gibbs_policy,
    implicit_token_rewards,
    preference_nll,
    rpo_objective,
    soft_optimal_tree,
)
from mdpgrad.bandits.model import log_softmax_xp, softmax_xp
from mdpgrad.claims import Verdict
from mdpgrad.claims import claim as _claim
from mdpgrad.exact import evaluate, solve
from mdpgrad.mdp import TabularMDP
from mdpgrad.offline import chi2_occupancy_optimum, kl_regularized_policy, occupancy_measure
from mdpgrad.plotting import new_figure
from mdpgrad.verdicts import at_least, at_most, combine, unbiased


def claim(**kw):
    """Every claim of this module encodes a B-priority catalogue entry (issue 18)."""
    return _claim(priority="B", **kw)


TOPIC = "llm-rl"
P_QSHARP = "Qsharp: Provably Optimal Distributional RL for LLM Post-Training"
P_RTO = "DPO Meets PPO: Reinforced Token Optimization for RLHF"
P_XPO = "Exploratory Preference Optimization: Harnessing Implicit Q*-Approximation for Sample-Efficient RLHF"
P_CHI2 = "Correlated Proxies: A New Definition and Improved Mitigation for Reward Hacking"
P_RPO = "Provably Mitigating Overoptimization in RLHF: Your SFT Loss is Implicitly an Adversarial Regularizer"
P_FDPG = "Aligning Language Models with Preferences through f-divergence Minimization"


def _tree(rng, V=4, T=4):
    """A random tree: V tokens (0 = eos), responses of at most T tokens, rewards U(0, 1), reference logits
    N(0, 1)."""
    table = {}

    def reward(seq):
        if seq not in table:
            table[seq] = float(rng.random())
        return table[seq]
    model = make_sequence_model(V, T, reward)
    ref = rng.normal(size=model.param_shape)
    return model, ref


def _paths(model):
    """Every response as its list of (node, token) pairs, in the order of ``model.responses()``."""
    par = model._parents()
    out = []
    for u, v in zip(*model.responses()):
        path = []
        while u >= 0:
            path.append((int(u), int(v)))
            u, v = par[u]
        out.append(path[::-1])
    return out


def _enumerated_optimum(model, ref, beta):
    """Brute force: Gibbs response distribution, token conditionals and soft values V*(u) = beta log
    E_ref[exp(R/beta) | u] from the list of responses."""
    p_ref, R, _, _ = model.response_table(ref)
    w = p_ref * np.exp(R / beta)
    pstar = w / w.sum()
    paths = _paths(model)
    through = np.zeros(model.n_nodes)
    through_ref = np.zeros(model.n_nodes)
    edge = np.zeros(model.param_shape)
    edge_ref = np.zeros(model.param_shape)
    for j, path in enumerate(paths):
        for (u, v) in path:
            through[u] += w[j]
            edge[u, v] += w[j]
            through_ref[u] += p_ref[j]
            edge_ref[u, v] += p_ref[j]
    cond = edge / np.where(through[:, None] > 0, through[:, None], 1.0)
    Vstar = beta * np.log(through / through_ref)  # E_ref[e^{R/beta} | u] = through/through_ref
    return pstar, cond, Vstar, paths, p_ref, R


# ---------------------------------------------------------------------------------------------
@claim(
    id="qsharp-kl-q",
    paper=P_QSHARP,
    topic=TOPIC,
    statement="Guiding the reference policy with the optimal KL-regularized Q function, pi(a|s) proportional to "
    "pi_ref(a|s) exp(Q*(s,a)/beta) with Q* = beta log E_ref[exp(R/beta) | s, a], gives exactly the optimal "
    "policy of the KL-regularized problem, pi*(y) = pi_ref(y) exp(R(y)/beta)/Z, on a deterministic tree MDP.",
    assumptions=("deterministic transitions (token tree)", "terminal reward", "exact Q*"),
    instance="token tree V=4 (eos=0), T=4 (40 nodes, 109 responses), rewards U(0,1), reference logits N(0,1), "
    "beta=0.5",
    controls={"unregularized-Q": "guide pi_ref with the reference's own expected-reward Q (Q^{pi_ref}) instead "
                                 "of the soft Q*"},
    catalogue=("qsharp-kl-q", "qsharp-kl-reg-q"),
    notes="The variance-dependent sample-complexity bounds (faster when the reference has small reward variance) "
    "are not checked here.",
)
def qsharp_kl_q(budget, rng, control=None):
    """The guided policy's response distribution (product of token conditionals, ``response_table``) must equal
    the Gibbs distribution enumerated over responses (max abs error 1e-12), and its regularized objective
    E[R] - beta KL must equal beta log Z (the maximum). The control's policy misses the maximum by a visible
    margin (TV to the Gibbs distribution ~ 0.1)."""
    beta = 0.5
    model, ref = _tree(rng)
    Q, Vs, lstar = soft_optimal_tree(model, ref, beta)
    if control == "unregularized-Q":
        Qr, _ = model.q_values(ref)
        lstar = log_softmax_xp(log_softmax_xp(ref) + Qr / beta)
    pstar, _, Vstar, _, p_ref, R = _enumerated_optimum(model, ref, beta)
    p_guided, _, _, _ = model.response_table(lstar)
    err = float(np.abs(p_guided - pstar).max())
    obj = float(p_guided @ R - beta * model.kl(lstar, ref))
    gap = beta * np.log(np.sum(p_ref * np.exp(R / beta))) - obj
    r1 = at_most(err, 1e-12, what="max_y |pi_guided(y) - pi_ref(y) e^{R/beta}/Z|")
    r2 = at_most(abs(gap), 1e-10, what="|beta log Z - (E R - beta KL)| at the guided policy")
    fig, ax = new_figure()
    order = np.argsort(R)
    ax.plot(R[order], pstar[order], "o", ms=3, label="Gibbs optimum pi_ref e^{R/beta}/Z")
    ax.plot(R[order], p_guided[order], "x", ms=4, label="guided policy" + (" (control)" if control else ""))
    ax.set_yscale("log")
    ax.set_xlabel("response reward R(y)")
    ax.set_ylabel("probability")
    ax.legend(fontsize=7)
    ax.set_title("Q*-guided reference = KL-regularized optimum (token tree)", fontsize=9)
    return Verdict(predicted="pi_guided = Gibbs (1e-12); objective = beta log Z",
                   measured=f"max err {err:.1e}; objective gap {gap:.1e}; TV {0.5 * np.abs(p_guided - pstar).sum():.3g}",
                   verdict=combine(r1, r2), rule=f"{r1.rule}; {r2.rule}", tightness=r1.tightness,
                   details=f"{model.n_nodes} nodes, {R.size} responses; V*(root) = {Vs[0]:.4f} "
                   f"(enumerated {Vstar[0]:.4f}).",
                   data={"R": R, "p_star": pstar, "p_guided": p_guided}, figure=fig)


@claim(
    id="rto-dpo-token-reward",
    paper=P_RTO,
    topic=TOPIC,
    statement="DPO's optimal policy gives a token-wise reward beta log(pi*/pi_ref)(y_t|y_<t) that telescopes to "
    "R(y) - beta log Z along every response; its reward-to-go is R(y) - V*(s_t), i.e. terminal reward with the "
    "soft value as baseline, so the token-level policy-gradient estimator is unbiased with lower variance than "
    "the sentence-level (terminal reward) one.",
    assumptions=("deterministic token tree", "pi* the KL-regularized optimum (DPO's population minimizer)"),
    instance="token tree V=4, T=4, rewards U(0,1), reference logits N(0,1), beta=0.5; REINFORCE at pi_ref with "
    "M sampled responses",
    controls={"no-reference": "token reward beta log pi*(y_t|y_<t) without the reference denominator"},
    catalogue=("rto-dpo-token-reward",),
    notes="Read 'superiority of the MDP framework' quantitatively as the variance ordering of the two unbiased "
    "estimators of grad E[R] at pi_ref. The PPO sample-efficiency comparison is not run.",
)
def rto_dpo_token_reward(budget, rng, control=None):
    """[derived] beta log(pi*/pi_ref)(v|u) = Q*(u,v) - V*(u) with Q*(u,v) = V*(child), so the sum over a response
    is R(y) - V*(root) = R(y) - beta log Z, and the sum from step t on is R(y) - V*(u_t). Checks: telescoping for
    every response (1e-10; the control's sums spread over a range >> 1e-10); both estimators sum_t G_t
    grad log pi(y_t|u_t) unbiased for grad E_{pi_ref}[R] (Bonferroni 4-SE, on the logits of nodes with >= 200
    expected visits); variance ratio token/terminal < 0.9."""
    beta = 0.5
    model, ref = _tree(rng)
    _, Vs, lstar = soft_optimal_tree(model, ref, beta)
    tok = implicit_token_rewards(lstar, ref, beta)
    if control == "no-reference":
        tok = beta * log_softmax_xp(lstar)
    paths = _paths(model)
    _, R_all = model.response_table(ref)[:2]
    sums = np.array([sum(tok[u, v] for u, v in path) for path in paths])
    err = float(np.abs(sums - (R_all - Vs[0])).max())
    # REINFORCE at pi_ref: terminal vs token-level reward-to-go
    M = budget.pick(3000, 30000)
    smp = model.sample(ref, M, rng)
    mask = smp.tokens >= 0
    tk = np.where(mask, tok[np.maximum(smp.nodes, 0), np.maximum(smp.tokens, 0)], 0.0)
    rtg = np.cumsum(tk[:, ::-1], axis=1)[:, ::-1] * mask
    term = np.where(mask, smp.rewards[:, None], 0.0)
    pi = softmax_xp(ref)
    exact = model.gradient(ref)

    def per_sample(coef):
        g = np.zeros((M,) + model.param_shape)
        i, t = np.nonzero(mask)
        u, a = smp.nodes[i, t], smp.tokens[i, t]
        np.add.at(g, (i, u, a), coef[i, t])
        np.add.at(g, (i, u), -coef[i, t][:, None] * pi[u])
        return g.reshape(M, -1)
    keep = np.repeat(model.reach(ref) * M >= 200, model.V)  # nodes visited often enough for a CLT z test
    g_tok, g_term = per_sample(rtg)[:, keep], per_sample(term)[:, keep]
    r_u = unbiased(np.stack([g_tok, g_term], 1), np.stack([exact.ravel()[keep]] * 2)[None],
                   what="token / terminal PG")
    var_ratio = float(g_tok.var(0).sum() / g_term.var(0).sum())
    r1 = at_most(err, 1e-10, what="max_y |sum_t token reward - (R(y) - beta log Z)|")
    r3 = at_most(var_ratio, 0.9, what="Var(token-level PG) / Var(terminal PG)")
    fig, ax = new_figure()
    ax.plot(R_all, sums, "o", ms=3, label="sum of token rewards")
    ax.plot(np.sort(R_all), np.sort(R_all) - Vs[0], "-", lw=0.8, label="R(y) - beta log Z")
    ax.set_xlabel("response reward R(y)")
    ax.legend(fontsize=7)
    ax.set_title(f"DPO token rewards telescope; PG variance ratio {var_ratio:.2f}", fontsize=9)
    return Verdict(predicted="telescoping 1e-10; both unbiased; variance ratio < 0.9",
                   measured=f"err {err:.1e}; variance ratio {var_ratio:.3f}",
                   verdict=combine(r1, r_u, r3), rule=f"{r1.rule}; {r_u.rule}; {r3.rule}",
                   min_detectable=r_u.min_detectable, details=f"M={M} responses from pi_ref.",
                   data={"R": R_all, "token_sum": sums}, figure=fig)


@claim(
    id="xpo-dpo-qstar-exploration",
    paper=P_XPO,
    topic=TOPIC,
    statement="DPO implicitly performs Q*-approximation: at the KL-regularized optimum of a deterministic token "
    "MDP, the implicit reward beta log(pi*/pi_ref)(a|s) equals the soft Bellman residual V*(s') - V*(s) "
    "(R(y) - V*(s) at the last token), with V*(s) = beta log E_ref[exp(R/beta) | s].",
    assumptions=("deterministic token tree", "terminal reward", "pi* the regularized optimum"),
    instance="token tree V=4, T=4, rewards U(0,1), reference logits N(0,1), beta=0.5; V* and pi* by "
    "enumeration of the 109 responses",
    controls={"wrong-beta": "implicit reward computed with beta' = 2 beta (a DPO run whose beta does not match the "
                            "regularization)"},
    catalogue=("xpo-dpo-qstar-exploration",),
    notes="Only the Q*-approximation identity is checked; XPO's exploration bonus and its coverage-free "
    "convergence (online DPO vs XPO when pi_ref(best) is tiny) are not simulated here.",
)
def xpo_dpo_qstar_exploration(budget, rng, control=None):
    """Both sides are computed independently: pi*'s token conditionals and V* by brute-force enumeration of the
    responses (Gibbs weights summed through each node), the implicit reward by the library from the
    soft-optimal logits. The identity must hold on every (node, token) with positive reference probability
    (1e-10); the library's pi* must match the enumerated conditionals (1e-12)."""
    beta = 0.5
    model, ref = _tree(rng)
    _, _, lstar = soft_optimal_tree(model, ref, beta)
    _, cond, Vstar, _, _, _ = _enumerated_optimum(model, ref, beta)
    err_pi = float(np.abs(softmax_xp(lstar) - cond).max())
    b = 2 * beta if control == "wrong-beta" else beta
    imp = implicit_token_rewards(lstar, ref, b)
    target = np.where(model.child >= 0, Vstar[np.maximum(model.child, 0)], model.reward) - Vstar[:, None]
    err = float(np.abs(imp - target).max())
    r1 = at_most(err_pi, 1e-12, what="|pi*_library - pi*_enumerated|")
    r2 = at_most(err, 1e-10, what="max |implicit reward - (V*(s') - V*(s))|")
    fig, ax = new_figure()
    ax.plot(target.ravel(), imp.ravel(), "o", ms=3, label="beta log(pi*/pi_ref)(a|s)")
    lim = [target.min(), target.max()]
    ax.plot(lim, lim, "k-", lw=0.8, label="V*(s') - V*(s)")
    ax.set_xlabel("soft Bellman residual V*(s') - V*(s)")
    ax.legend(fontsize=7)
    ax.set_title("DPO's implicit reward is the soft Q* residual", fontsize=9)
    return Verdict(predicted="identity to 1e-10", measured=f"max err {err:.1e} (pi* err {err_pi:.1e})",
                   verdict=combine(r1, r2), rule=f"{r1.rule}; {r2.rule}", tightness=r2.tightness,
                   details=f"{model.n_nodes} nodes x {model.V} tokens.", data={"residual": target, "implicit": imp},
                   figure=fig)


# ---------------------------------------------------------------------------------------------
@claim(
    id="fdpg-reverse-kl",
    paper=P_FDPG,
    topic=TOPIC,
    statement="RLHF's KL-penalized reward is a reverse KL to the implicit target: E_pi[r] - beta KL(pi||pi_ref) = "
    "-beta KL(pi||pi*) + beta log Z with pi* proportional to pi_ref exp(r/beta); in a restricted (unimodal) "
    "policy class the reverse KL is mode-seeking and the forward KL (GDC) mass-covering, with Jensen-Shannon "
    "in between: entropy ordering H(reverse-KL fit) < H(JS fit) < H(forward-KL fit).",
    assumptions=("finite response set", "restricted policy class: discretized Gaussians"),
    instance="500 random (pi, pi_ref, r) over 12 responses for the identity; bimodal target on a 41-point grid "
    "fitted by a 2-parameter discretized Gaussian (best of 3 starts, Nelder-Mead); modes at -1.2, +1.2 (sd 0.4, "
    "weights 0.6/0.4)",
    controls={"swapped-kl": "the 'RLHF' fit minimizes the forward KL(pi*||pi) (arguments swapped)"},
    catalogue=("fdpg-reverse-kl",),
    notes="'No universally optimal objective' and 'JS strikes a good balance' are read as the strict entropy "
    "(coverage) ordering reverse < JS < forward, with the reward ordering reported.",
)
def fdpg_reverse_kl(budget, rng, control=None):
    """The identity uses the library's ``gibbs_policy`` and ``f_divergence`` (1e-12 over random instances). The
    restricted-class fits minimize D_f between the model and the target with the library's divergences; the
    entropies must be strictly ordered: JS above reverse KL by >= 0.05 nats, forward KL above JS by >= 0.005 nats
    (the fits are converged to ~1e-7, so both gaps are far above optimizer noise; JS sits close to the forward KL
    on this target: gaps ~1.1 and ~0.013 nats; the reverse-KL fit picks the heavier mode)."""
    n = budget.pick(500, 5000)
    K = 12
    pi = softmax_xp(rng.normal(size=(n, K)))
    ref = softmax_xp(rng.normal(size=(n, K)))
    r = rng.random((n, K))
    beta = 0.3
    ps = gibbs_policy(ref, r, beta)
    logZ = np.log(np.sum(ref * np.exp(r / beta), 1))
    lhs = np.sum(pi * r, 1) - beta * f_divergence(pi, ref, "kl")
    rhs = -beta * f_divergence(pi, ps, "kl") + beta * logZ
    err = float(np.abs(lhs - rhs).max())
    # restricted class
    x = np.linspace(-4, 4, 41)
    target = 0.6 * np.exp(-0.5 * ((x + 1.2) / 0.4) ** 2) + 0.4 * np.exp(-0.5 * ((x - 1.2) / 0.4) ** 2)
    target /= target.sum()

    def model(th):
        return softmax_xp(-0.5 * ((x - th[0]) / np.exp(th[1])) ** 2)

    def fit(obj):
        best = None
        for start in ((-1.2, np.log(0.4)), (1.2, np.log(0.4)), (0.0, 0.0)):
            res = scipy.optimize.minimize(lambda th: obj(model(th)), start, method="Nelder-Mead",
                                          options={"xatol": 1e-7, "fatol": 1e-12, "maxiter": 2000})
            if best is None or res.fun < best.fun:
                best = res
        return model(best.x)
    # library convention: f_divergence(p=target, q=model, "reverse-kl") = KL(model || target)
    rk = "kl" if control == "swapped-kl" else "reverse-kl"
    fits = {"reverse-KL (RLHF)": fit(lambda q: f_divergence(target, q, rk)),
            "JS": fit(lambda q: f_divergence(target, q, "js")),
            "forward-KL (GDC)": fit(lambda q: f_divergence(target, q, "kl"))}
    H = {k: float(-np.sum(v * np.log(np.maximum(v, 1e-300)))) for k, v in fits.items()}
    h = list(H.values())
    r1 = at_most(err, 1e-12, what="|E r - beta KL(pi||ref) - (-beta KL(pi||pi*) + beta log Z)|")
    r2 = combine(at_least(h[1] - h[0], 0.05, what="H(JS fit) - H(reverse-KL fit) (nats)"),
                 at_least(h[2] - h[1], 0.005, what="H(forward-KL fit) - H(JS fit) (nats)"))
    fig, ax = new_figure()
    ax.plot(x, target, "k-", lw=2, label="target pi*")
    for k, v in fits.items():
        ax.plot(x, v, label=f"{k}, H={H[k]:.2f}")
    ax.set_xlabel("response (1-D grid)")
    ax.legend(fontsize=7)
    ax.set_title("mode-seeking vs mass-covering fits in a unimodal class", fontsize=9)
    return Verdict(predicted="identity 1e-12; H_rev < H_JS < H_fwd", measured=f"err {err:.1e}; entropies "
                   + ", ".join(f"{k} {v:.3f}" for k, v in H.items()),
                   verdict=combine(r1, r2), rule=f"{r1.rule}; H_JS - H_rev >= 0.05; H_fwd - H_JS >= 0.005",
                   details=f"target entropy {float(-np.sum(target * np.log(target))):.3f} nats.",
                   data={"x": x, "target": target, **{k: v for k, v in fits.items()}}, figure=fig)


# ---------------------------------------------------------------------------------------------
def _hacking_mdp():
    """A 4-state chain 0 -> 1 -> 2 -> 3 (action 1 advances, action 0 returns to 0; state 3 absorbs under action 1).
    True reward 0.5 for returning from state 1, -1 in state 3; the proxy agrees except in state 3 (+2), which the
    base policy almost never reaches."""
    S, A = 4, 2
    P = np.zeros((S, A, S))
    P[:, 0, 0] = 1.0
    P[0, 1, 1] = P[1, 1, 2] = P[2, 1, 3] = P[3, 1, 3] = 1.0
    r_true = np.zeros((S, A))
    r_true[1, 0] = 0.5
    r_true[3] = -1.0
    r_proxy = r_true.copy()
    r_proxy[3] = 2.0
    rho = np.array([1.0, 0, 0, 0])
    pib = np.array([[0.7, 0.3], [0.7, 0.3], [0.99, 0.01], [0.9, 0.1]])
    return TabularMDP(P, r_true, 0.9, rho), r_true, r_proxy, pib


@claim(
    id="chi2-occupancy-reward-hacking",
    paper=P_CHI2,
    topic=TOPIC,
    statement="A proxy reward correlated with the true reward on the base policy's state-actions breaks down under "
    "optimization (reward hacking); regularizing the chi^2 divergence between occupancy measures to the base policy "
    "prevents it more effectively than action-level KL regularization: over a grid of regularization strengths the "
    "best true return of the chi^2-regularized optimum exceeds the best of the KL-regularized one, and strong "
    "regularization never falls below the base policy's true return.",
    assumptions=("tabular MDP, known dynamics", "base policy with full support", "exact regularized optima"),
    instance="4-state chain, gamma=0.9, base policy reaching the hacking state with occupancy ~0.05%; lambda in "
    "{0.01, 0.03, 0.1, 0.3, 1, 3, 10}",
    controls={"action-kl": "action-level KL(pi || pi_base) regularization in place of occupancy chi^2"},
    catalogue=("chi2-occupancy-reward-hacking",),
    notes="The correlation is the d_base-weighted Pearson correlation of proxy and true rewards. The paper's bound "
    "on the true return is not checked. The instance is deterministic (the rng is unused).",
)
def chi2_occupancy_reward_hacking(budget, rng, control=None):
    """[derived] chi^2(d||d_b) = sum (d - d_b)^2 / d_b charges an occupancy increase at a rarely visited (s, a) by
    1/d_b, while the action-level KL is weighted by d^pi(s) and is cheap exactly where the base policy rarely goes.
    Checks: weighted correlation >= 0.9 on d_b; the unregularized proxy optimum has a true return below the base;
    best true return over lambda (tested regularizer) >= best KL + 0.3; at the largest lambda the tested regularizer
    keeps the true return >= the base's - 1e-3."""
    mdp, r_true, r_proxy, pib = _hacking_mdp()
    g = mdp.gamma
    db = occupancy_measure(mdp, pib)
    w = db.ravel()
    xt, xp = r_true.ravel() - w @ r_true.ravel(), r_proxy.ravel() - w @ r_proxy.ravel()
    corr = float((w * xt * xp).sum() / np.sqrt((w * xt * xt).sum() * (w * xp * xp).sum()))
    J_base = float((db * r_true).sum() / (1 - g))
    J_hack = evaluate(mdp, solve(mdp.replace(r=r_proxy)).policy).value
    lams = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
    J_chi, J_kl = [], []
    for lam in lams:
        J_chi.append(float((chi2_occupancy_optimum(mdp, db, r_proxy, lam) * r_true).sum() / (1 - g)))
        J_kl.append(evaluate(mdp, kl_regularized_policy(mdp, pib, r_proxy, lam)).value)
    J_chi, J_kl = np.array(J_chi), np.array(J_kl)
    tested = J_kl if control == "action-kl" else J_chi
    r1 = at_least(corr, 0.9, what="d_base-weighted correlation of proxy and true reward")
    r2 = at_most(J_hack - J_base, -1e-3, what="true return of the proxy optimum - base true return")
    r3 = at_least(float(tested.max() - J_kl.max()), 0.3, what="best true return (tested) - best (action KL)")
    r4 = at_least(float(tested[-1] - J_base), -1e-3, what="true return at the largest lambda - base")
    fig, ax = new_figure()
    ax.semilogx(lams, J_chi, "o-", label="occupancy chi^2 regularization")
    ax.semilogx(lams, J_kl, "s-", label="action-level KL regularization")
    ax.axhline(J_base, color="k", ls="--", lw=0.8, label="base policy")
    ax.axhline(J_hack, color="C3", ls=":", lw=0.8, label="unregularized proxy optimum")
    ax.set_xlabel("regularization strength lambda")
    ax.set_ylabel("true return")
    ax.legend(fontsize=7)
    ax.set_title("reward hacking: chi^2 occupancy vs action KL", fontsize=9)
    return Verdict(predicted="corr >= 0.9; hacking without regularization; chi^2 best >= KL best + 0.3",
                   measured=f"corr {corr:.3f}; base {J_base:.3f}, hacked {J_hack:.3f}; best chi^2 {J_chi.max():.3f}, "
                   f"best KL {J_kl.max():.3f}", verdict=combine(r1, r2, r3, r4),
                   rule="; ".join(x.rule for x in (r1, r2, r3, r4)), details=f"true optimum "
                   f"{float(solve(mdp).v @ mdp.rho):.3f}.", data={"lambda": np.array(lams), "chi2": J_chi, "kl": J_kl},
                   figure=fig)


# ---------------------------------------------------------------------------------------------
@claim(
    id="rpo-dpo-plus-sft-equiv",
    paper=P_RPO,
    topic=TOPIC,
    statement="Choosing the policy that is best against an adversarially chosen reward model (MLE loss + reward "
    "penalty relative to a baseline distribution) is equivalent to minimizing DPO + SFT on the baseline (RPO): the "
    "RPO minimizer and its implicit reward form a saddle point of max_pi min_r eta L_D(r) + E_pi r - E_base r - "
    "beta KL(pi||pi_ref) when the SFT weight is beta/eta; the uncovered response keeps exactly its baseline mass, and "
    "a deterministic comparison, which drives DPO's implicit reward gap to infinity, leaves RPO's minimizer finite.",
    assumptions=("finite response set", "Bradley-Terry counted comparisons among covered responses",
                 "reward class = all reward vectors in a box [-20, 20]^K (bounded inner problem)"),
    instance="K=5 responses, response 4 never compared (pi_ref(4) = 0.3); pairs among 0..2 with 20 comparisons each "
    "drawn from BT with rewards N(0,1), plus 3 beating 0 in all 10 comparisons; baseline = chosen-response frequencies mixed "
    "with 2% uniform; beta = 0.5, eta = 2",
    controls={"wrong-sft-weight": "SFT weight eta instead of beta/eta"},
    catalogue=("rpo-dpo-plus-sft-equiv",),
    notes="[derived] With r = beta log(pi/pi_ref) + c the outer best response is pi proportional to pi_ref e^{r/beta}; "
    "the inner first-order condition eta grad L_D(r) = pi_base - pi coincides with RPO's stationarity beta grad L_D = "
    "lam (pi_base - pi) at lam = beta/eta; on an uncovered response grad L_D = 0 forces pi = pi_base. The saddle "
    "point is verified by solving each player's best response numerically at the RPO minimizer.",
)
def rpo_dpo_plus_sft_equiv(budget, rng, control=None):
    """Checks at the RPO minimizer pi_hat (L-BFGS, gradient <= 1e-9): (i) the inner minimizer r* over the box at
    pi_hat equals beta log(pi_hat/pi_ref) on the covered responses up to a shift (1e-5); (ii) the implicit reward
    r_hat = beta log(pi_hat/pi_ref) + shift is an inner best response (inner value within 1e-6 of the minimum) and
    pi_hat is the Gibbs best response to it (1e-6) -- so (pi_hat, r_hat) is a saddle point; (iii) pi_hat(4) = pi_base(4) (1e-8); (iv) plain DPO on the same data
    (gradient descent, lam = 0) keeps increasing the deterministic pair's logit gap (growth over the last half of the
    run > 0.5) while RPO's gap is finite."""
    K, beta, eta = 5, 0.5, 2.0
    r_true = rng.normal(size=K)
    pairs, counts = [], []
    for i in range(3):
        for j in range(i + 1, 3):
            w = rng.binomial(20, 1 / (1 + np.exp(-(r_true[i] - r_true[j]))))
            pairs += [(i, j), (j, i)]
            counts += [w, 20 - w]
    pairs += [(3, 0)]
    counts += [10]  # a deterministic comparison: response 3 always beats 0
    pairs, counts = np.array(pairs), np.array(counts, float)
    ref = np.log(np.array([0.2, 0.15, 0.2, 0.15, 0.3]))
    wins = np.bincount(pairs[:, 0], weights=counts, minlength=K)
    base = 0.98 * wins / wins.sum() + 0.02 / K
    lam = eta if control == "wrong-sft-weight" else beta / eta
    res = scipy.optimize.minimize(lambda z: rpo_objective(z, ref, pairs, counts, base, beta, lam), ref.copy(),
                                  jac=True, method="L-BFGS-B", options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 5000})
    pi = softmax_xp(res.x)
    gnorm = float(np.abs(rpo_objective(res.x, ref, pairs, counts, base, beta, lam)[1]).max())

    def inner(r):
        loss, g = preference_nll(r, pairs, counts)
        return eta * loss + (pi - base) @ r, eta * g + (pi - base)
    inn = scipy.optimize.minimize(inner, np.zeros(K), jac=True, method="L-BFGS-B", bounds=[(-20.0, 20.0)] * K,
                                  options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 5000})
    r_star = inn.x
    imp = beta * (np.log(pi) - log_softmax_xp(ref))
    shift = (r_star - imp)[:4].mean()
    err_r = float(np.abs(r_star[:4] - imp[:4] - shift).max())
    r_hat = imp + shift  # the implicit reward, completed on the uncovered response (where the inner player is indifferent)
    inner_gap = float(inner(r_hat)[0] - inn.fun) if np.all(np.abs(r_hat) <= 20) else np.inf
    br = gibbs_policy(softmax_xp(ref), r_hat, beta)
    err_pi = max(float(np.abs(br - pi).max()), inner_gap)
    err_unc = abs(pi[4] - base[4])
    # DPO alone on the same data: the deterministic pair's gap keeps growing
    z, gaps = ref.copy(), []
    for _ in range(budget.pick(600, 20000)):
        z = z - 8.0 * rpo_objective(z, ref, pairs, counts, base, beta, 0.0)[1]
        gaps.append(z[3] - z[0])
    growth = gaps[-1] - gaps[len(gaps) // 2]
    r0 = at_most(gnorm, 1e-9, what="RPO gradient at the minimizer")
    r1 = at_most(err_r, 1e-5, what="|inner best response - beta log(pi/pi_ref)| (up to a shift)")
    r2 = at_most(err_pi, 1e-6, what="max(|Gibbs response to r_hat - pi_hat|, inner(r_hat) - min inner)")
    r3 = at_most(err_unc, 1e-8, what="|pi_hat(uncovered) - pi_base(uncovered)|")
    r4 = at_least(growth, 0.5, what="DPO logit-gap growth over the second half of the run")
    fig, ax = new_figure()
    x = np.arange(K)
    ax.bar(x - 0.3, softmax_xp(ref), width=0.2, label="pi_ref")
    ax.bar(x - 0.1, base, width=0.2, label="pi_base (chosen responses)")
    ax.bar(x + 0.1, pi, width=0.2, label="RPO minimizer = saddle point")
    ax.bar(x + 0.3, softmax_xp(z), width=0.2, label="DPO after gradient descent")
    ax.set_xlabel("response (4 = never compared)")
    ax.legend(fontsize=6)
    ax.set_title("RPO = max-min against an adversarial reward", fontsize=9)
    return Verdict(predicted="saddle point (1e-5/1e-6); pi(uncovered) = pi_base; DPO gap diverges",
                   measured=f"grad {gnorm:.1e}; r err {err_r:.1e}; pi err {err_pi:.1e}; uncovered {err_unc:.1e}; DPO gap "
                   f"growth {growth:.2f} (gap {gaps[-1]:.1f})", verdict=combine(r0, r1, r2, r3, r4),
                   rule="; ".join(x.rule for x in (r0, r1, r2, r3, r4)),
                   details=f"pi_hat = {np.round(pi, 4).tolist()}; RPO gap {res.x[3] - res.x[0]:.2f}.",
                   data={"pi_rpo": pi, "pi_dpo": softmax_xp(z), "base": base}, figure=fig)
