"""More LLM-RL entries of issue 18 (surrogate variance, low-probability tokens, entropy smoothing) on softmax
bandits. Library pieces: :mod:`mdpgrad.bandits.objectives`."""

from __future__ import annotations

import numpy as np

from mdpgrad.bandits.model import softmax_xp
from mdpgrad.bandits.objectives import surrogate_moments
from mdpgrad.claims import Verdict
from mdpgrad.claims import claim as _claim
from mdpgrad.plotting import new_figure
from mdpgrad.verdicts import bound_at_every_t, combine, unbiased


def claim(**kw):
    """Every claim of this module encodes a B-priority catalogue entry (issue 18)."""
    return _claim(priority="B", **kw)


TOPIC = "llm-rl"
P_DPPO = ("Dropout Strategy in Reinforcement Learning: Limiting the Surrogate Objective Variance in Policy "
          "Optimization Methods")


# ---------------------------------------------------------------------------------------------
@claim(
    id="dppo-dropout-surrogate-var",
    paper=P_DPPO,
    topic=TOPIC,
    statement="The variance of the importance-sampled surrogate r*A has the upper bound E_mu[r^2 A^2] = Var + L^2, "
    "which grows (at least) quadratically with the surrogate L = E_pi[A]; dropping the samples whose ratio "
    "deviates by more than delta limits the variance to (1+delta)^2 E_mu[A^2] whatever pi is.",
    assumptions=("one-step (bandit) surrogate, behaviour mu > 0", "advantages fixed"),
    instance="8 actions, mu ~ Dirichlet(1), advantages N(0,1) centred under mu; pi_t = mu exp(t A)/Z along the "
    "surrogate-ascent path t in [0, 3] (40 points); delta = 0.5",
    controls={"no-dropout": "the PPO surrogate without dropout (every sample kept)"},
    catalogue=("dppo-dropout-surrogate-var",),
    notes="[reading] The abstract gives no formula; the seed's bound is read as the identity "
    "E_mu[(rA)^2] = Var(rA) + L^2 >= L^2 (so the bound on the variance grows quadratically with L), and the "
    "dropout as ratio-deviation dropout (keep iff |r - 1| <= delta), the rule whose variance bound holds "
    "for every pi. D-PPO's own selection rule (dropping by a correlation term) is not reproduced.",
)
def dppo_dropout_surrogate_var(budget, rng, control=None):
    """Checks: (i) the library's exact mean / second moment of r*A agree with Monte Carlo at t = 1.5 (Bonferroni
    4-SE, both with and without dropout); (ii) the bound E_mu[(rA)^2] >= L_t^2 grows with L_t (the squared
    surrogate increases ten-fold along the path); (iii) the dropout variance stays <= (1+delta)^2 E_mu[A^2] at every
    t of the path. The control (no dropout) breaks (iii): its variance passes the bound once pi moves away."""
    K, delta = 8, 0.5
    mu = rng.dirichlet(np.ones(K))
    A = rng.normal(size=K)
    A -= mu @ A
    ts = np.linspace(0.0, 3.0, 40)
    pis = softmax_xp(np.log(mu)[None] + ts[:, None] * A[None])
    drop = None if control == "no-dropout" else delta
    L, _, _ = surrogate_moments(np.broadcast_to(mu, pis.shape), pis, np.broadcast_to(A, pis.shape))
    _, sec_d, var_d = surrogate_moments(np.broadcast_to(mu, pis.shape), pis, np.broadcast_to(A, pis.shape),
                                        drop=drop)
    _, sec_full, var_full = surrogate_moments(np.broadcast_to(mu, pis.shape), pis, np.broadcast_to(A, pis.shape))
    bound = (1 + delta) ** 2 * float(mu @ A ** 2)
    # (i) Monte Carlo at t = 1.5
    M = budget.pick(20000, 200000)
    i = int(np.argmin(np.abs(ts - 1.5)))
    a = rng.choice(K, size=M, p=mu)
    r = pis[i] / mu
    x = r[a] * A[a]
    xd = np.where(np.abs(r[a] - 1) <= delta, x, 0.0)
    m_ex, s_ex, _ = surrogate_moments(mu, pis[i], A)
    md_ex, sd_ex, _ = surrogate_moments(mu, pis[i], A, drop=delta)
    r1 = unbiased(np.stack([x, x * x, xd, xd * xd], 1), np.array([m_ex, s_ex, md_ex, sd_ex])[None],
                  what="MC moments of r*A (plain and dropout) at t=1.5")
    r2 = bound_at_every_t(L ** 2, sec_full, name="L_t^2", bound_name="E_mu[(rA)^2]")
    growth = float(sec_full[-1] / max(sec_full[0], 1e-12))
    r3 = bound_at_every_t(var_d, np.full_like(var_d, bound), name="Var(rA 1{kept})_t", bound_name="(1+delta)^2 E_mu[A^2]")
    fig, ax = new_figure()
    ax.plot(L, var_full, "-", label="Var(rA), PPO (no dropout)")
    ax.plot(L, var_d, "--", label=f"Var, {'control' if control else f'dropout |r-1|<={delta}'}")
    ax.plot(L, L ** 2, ":", label="L^2 (grows with the surrogate)")
    ax.axhline(bound, color="k", lw=0.8, label="(1+delta)^2 E_mu[A^2]")
    ax.set_xlabel("surrogate L = E_pi[A]")
    ax.set_ylabel("variance of one surrogate term")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.set_title("surrogate variance along the ascent path", fontsize=9)
    return Verdict(predicted=f"Var <= {bound:.3g} with dropout; E[(rA)^2] >= L^2",
                   measured=f"max Var (dropout rule) {var_d.max():.3g}; max Var PPO {var_full.max():.3g}; "
                   f"E[(rA)^2] grows x{growth:.1f} as L goes {L[0]:.2f} -> {L[-1]:.2f}",
                   verdict=combine(r1, r2, r3), rule="; ".join(r.rule for r in (r1, r2, r3)),
                   tightness=r3.tightness, min_detectable=r1.min_detectable,
                   details=f"M={M} MC samples; delta={delta}.",
                   data={"t": ts, "L": L, "var_ppo": var_full, "var_dropout": var_d}, figure=fig)
