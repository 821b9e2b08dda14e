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
    # GPG's expected gradient is kappa_n grad J_n with prompt-dependent kappa_n (derived and MC-verified).
    "gpg-unbiased": "violated",
    "rlzvp-zero-variance": "holds",
    "vcrl-variance-difficulty": "holds",
    "vade-zero-adv-groups": "holds",
    "luspo-length-bias": "holds",
    "kdrl-rkl-pg-kl-estimators": "holds",
    "topr-tapered-is": "holds",
    "clipcov-klcov-entropy": "holds",
}


def _claims():
    return {c.id: c for c in registry() if c.topic == "llm-rl"}


def test_every_llm_claim_is_registered_with_a_seed_title():
    claims = _claims()
    assert set(claims) == set(EXPECTED)
    seeds = "".join(p.read_text() for p in (ROOT.parent / "shared" / "seeds").glob("*.txt")) if (
        ROOT.parent / "shared" / "seeds").exists() else None
    for c in claims.values():
        assert c.instance and c.statement
        if seeds is not None:
            assert c.paper in seeds, c.id


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_llm_claim_quick_verdict(claim_id):
    rec = run_claim(_claims()[claim_id], QUICK)
    assert rec.error == "", rec.error
    assert rec.verdict.verdict == EXPECTED[claim_id], rec.verdict.measured
    assert rec.verdict.figure is not None and rec.verdict.data


def test_notebook_executes():
    check_notebook("notebooks/06_llm_bandits.ipynb")
