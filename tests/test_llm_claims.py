"""The llm-rl claims at the quick budget give their expected verdicts; the notebook executes."""

from __future__ import annotations

import pathlib

import pytest
from conftest import check_notebook

from mdpgrad.claims import QUICK, registry, run_claim

ROOT = pathlib.Path(__file__).resolve().parents[1]

EXPECTED = {
    "rloo-unbiased-grpo-biased": "holds",
    "rloo-loop-unbiased": "holds",
    "grpo-secretly-offpolicy": "holds",
    "copg-offpolicy-optimal": "holds",
    "bnpo-beta-normalization": "holds",
    "reward-var-gradnorm-lb": "holds",
    "entropy-cov-mechanism": "holds",
    "kl3-asym-clip": "holds",
    "gvpo-unique-optimum": "holds",
    "maxk-unbiased-grad": "holds",
    "rpg-kl-regularized-grads": "holds",
    "deltaL-mvue": "holds",
    "remax-baseline": "holds",
    # GPG's expected gradient is kappa_n grad J_n with prompt-dependent kappa_n (derived, exact enumeration):
    # "equals grad J" is violated, "is a positive per-prompt rescaling of grad J" holds.
    "gpg-unbiased": "violated",
    "gpg-kappa-rescaling": "holds",
    "rlzvp-zero-variance": "holds",
    "vcrl-variance-difficulty": "holds",
    "vade-zero-adv-groups": "holds",
    "luspo-length-bias": "holds",
    "kdrl-rkl-pg-kl-estimators": "holds",
    "topr-tapered-is": "holds",
    "clipcov-klcov-entropy": "holds",
}


def _claims():
    return {c.id: c for c in registry() if c.module.endswith("theory.llm_rl")}


def test_every_llm_claim_is_registered_with_a_seed_title():
    claims = _claims()
    assert set(claims) == set(EXPECTED)
    seeds = "".join(p.read_text() for p in (ROOT.parent / "shared" / "seeds").glob("*.txt")) if (
        ROOT.parent / "shared" / "seeds").exists() else None
    for c in claims.values():
        assert c.instance and c.statement
        if seeds is not None:
            assert c.paper in seeds, c.id


def test_expectations_recorded_in_the_claims_match():
    claims = _claims()
    assert {k: c.expected for k, c in claims.items()} == EXPECTED


def test_every_llm_claim_has_controls():
    for c in _claims().values():
        assert len(c.controls) >= 1, c.id


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_llm_claim_quick_verdict(claim_id):
    rec = run_claim(_claims()[claim_id], QUICK)
    assert rec.error == "", rec.error
    assert rec.verdict.verdict == EXPECTED[claim_id], rec.verdict.measured
    assert rec.verdict.figure is not None and rec.verdict.data
    assert rec.verdict.rule, claim_id
    for ctl in rec.controls:
        assert ctl.rejected, (claim_id, ctl.name, ctl.verdict.verdict, ctl.verdict.measured)


def test_gpg_figure_has_a_title():
    rec = run_claim(_claims()["gpg-unbiased"], QUICK, controls=False)
    assert rec.verdict.figure.axes[0].get_title()


def test_group_gradients_batches_couple_prompts_per_batch():
    """GPG's alpha and REINFORCE++'s statistics are taken per batch: M batches at once equal M separate calls."""
    import numpy as np

    from mdpgrad.bandits import ContextualBandit, group_advantages, group_gradients, sample_actions

    rng = np.random.default_rng(0)
    bandit = ContextualBandit(rng.random((4, 3)))
    theta = rng.normal(size=(4, 3))
    a = np.stack([sample_actions(theta, 3, rng)[0] for _ in range(5)])
    r = (rng.random(a.shape) < 0.5).astype(float)
    for method in ("gpg", "reinforce++", "grpo"):
        g = group_gradients(bandit, theta, a, r, method)
        for m in range(5):
            A = group_advantages(r[m], method)
            one = group_gradients(bandit, theta, a[m:m + 1], r[m:m + 1], method)[0]
            assert np.allclose(g[m], one)
            assert np.allclose(group_advantages(r, method)[m], A)


def test_notebook_executes():
    check_notebook("notebooks/06_llm_bandits.ipynb")
