"""Planted bugs in :mod:`mdpgrad.bandits` against the llm-rl claims (issue 15: claims that can fail).

Each case replaces one library function by a realistic mistake (the code still runs) and requires
that at least one targeted claim, at the quick budget without its controls, leaves its expected
verdict. The functions are patched wherever they were imported (the estimators module, the package
namespace and ``theory.llm_rl``), so the claims run the wrong variant exactly as they would run a
wrong library.
"""

from __future__ import annotations

import numpy as np
import pytest

import mdpgrad.bandits as B
import mdpgrad.bandits.estimators as E
import mdpgrad.bandits.model as Mo
from mdpgrad.claims import get_claim, run_claim

T = pytest.importorskip("mdpgrad.theory.llm_rl")

_ga = E._group_advantages
_rc = E.ratio_coefficients
_kl = E.kl_estimates
_klc = E.kl_loss_coefficients
_mk = E.maxk_coefficients
_aw = E.aggregation_weights
_bn = E.bnpo_normalizer
_rpg = E.rpg_coefficients
_lg = Mo.logit_gradient


def rloo_includes_self(rewards, method, **kw):
    r = np.asarray(rewards, float)
    return r - r.mean(-1, keepdims=True) if method == "rloo" else _ga(rewards, method, **kw)


def gpg_alpha_plus_one(rewards, method, **kw):
    if method != "gpg":
        return _ga(rewards, method, **kw)
    r = np.asarray(rewards, float)
    n_valid = r.shape[-2] - np.all(r == r[..., :1], axis=-1).sum(-1, keepdims=True)
    return (r.shape[-2] / (n_valid + 1.0))[..., None] * (r - r.mean(-1, keepdims=True))


def grpo_ddof0(rewards, method, **kw):
    return _ga(rewards, method, **{**kw, "ddof": 0}) if method == "grpo" else _ga(rewards, method, **kw)


def remax_sample_baseline(rewards, method, **kw):
    if method == "remax":
        kw = {**kw, "baseline": 0.5 * np.asarray(kw["baseline"]) + 0.5 * np.asarray(rewards).reshape(-1)}
    return _ga(rewards, method, **kw)


CASES = {
    "rloo-includes-self": ("_group_advantages", rloo_includes_self, ["rloo-unbiased-grpo-biased", "rloo-loop-unbiased"]),
    "gpg-alpha-plus-one": ("_group_advantages", gpg_alpha_plus_one, ["gpg-kappa-rescaling"]),
    "grpo-ddof-0": ("_group_advantages", grpo_ddof0, ["rloo-unbiased-grpo-biased"]),
    "remax-sample-baseline": ("_group_advantages", remax_sample_baseline, ["remax-baseline"]),
    "topr-no-truncation": ("ratio_coefficients",
                           lambda adv, lp, lo=None, corr="none", **kw: np.exp(lp - lo) if corr == "topr"
                           else _rc(adv, lp, lo, corr, **kw), ["topr-tapered-is"]),
    "k3-wrong-sign": ("kl_estimates", lambda lp, lr: (*_kl(lp, lr)[:2], np.expm1(lp - lr) - (lp - lr)),
                      ["kl3-asym-clip", "kdrl-rkl-pg-kl-estimators"]),
    "k3-loss-as-k2": ("kl_loss_coefficients", lambda lp, lr, kind="k3": lp - lr if kind == "k3"
                      else _klc(lp, lr, kind), ["rpg-kl-regularized-grads", "kdrl-rkl-pg-kl-estimators"]),
    "maxk-k-minus-1": ("maxk_coefficients", lambda r, k, weights=None: _mk(r, max(1, k - 1), weights),
                       ["maxk-unbiased-grad"]),
    "deltaL-alpha-0.9": ("aggregation_weights",
                         lambda L, agg="seq-mean-token-mean", *, max_len=None, alpha=1.0:
                         _aw(L, agg, max_len=max_len, alpha=0.9 * alpha if agg == "deltaL" else alpha),
                         ["deltaL-mvue"]),
    "zero-variance-exponent": ("zero_variance_fraction",
                               lambda p, G: np.asarray(p, float) ** G + (1 - np.asarray(p, float)) ** max(G - 1, 1),
                               ["vade-zero-adv-groups", "gpg-kappa-rescaling"]),
    "score-minus-0.9-pi": ("logit_gradient",
                           lambda z, a, c, **kw: _lg(z, a, c, **kw) + 0.1 * np.sum(np.asarray(c), 1, keepdims=True)
                           * Mo.softmax_xp(np.asarray(z, float)), ["maxk-unbiased-grad", "rloo-unbiased-grpo-biased"]),
    "bnpo-a-b-swapped": ("bnpo_normalizer", lambda p, a, b, *, normalized=True: _bn(p, b, a, normalized=normalized),
                         ["bnpo-beta-normalization"]),
    "rpg-forward-sign": ("rpg_coefficients",
                         lambda r, lp, lo, lr, beta, kind="reverse-norm", *, importance=True:
                         _rpg(r, lp, lo, lr, -beta if kind == "forward-norm" else beta, kind, importance=importance),
                         ["rpg-kl-regularized-grads"]),
    "clipcov-no-op": ("clip_cov_mask", lambda lp, adv, **kw: np.ones_like(np.asarray(lp, float)),
                      ["clipcov-klcov-entropy"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("bug", sorted(CASES))
def test_a_planted_bug_moves_a_targeted_claim(bug, monkeypatch):
    name, fn, targets = CASES[bug]
    for mod in (E, B, Mo, T):
        if hasattr(mod, name):
            monkeypatch.setattr(mod, name, fn)
    T._entropy_run.cache_clear()
    try:
        verdicts = {cid: run_claim(get_claim(cid), "quick", controls=False).verdict.verdict for cid in targets}
    finally:
        T._entropy_run.cache_clear()
    assert any(v != get_claim(cid).expected for cid, v in verdicts.items()), (bug, verdicts)
