"""The policy-evaluation claims at the quick budget, with their expected verdicts (regression guard)."""

from __future__ import annotations

import pytest

from mdpgrad.claims import registry, run_claim

EXPECTED = {
    "td-fixed-point-bound": "holds",
    "baird-divergence": "holds",
    "td0-mse-rate": "holds",
    "rover-uniform-q-optimal": "holds",
    "ggd-td-closed-form": "holds",
    "vwls-mdvi-minimax": "holds",  # the variance-aware regression step (see notes); the horizon exponent is not measured
    "robust-bellman-losses": "holds",
    "tdjepa-sf-lowrank": "holds",
    "etd-offpolicy-stable": "holds",
    "lambda-return-forward-backward": "holds",
    "replacing-traces-first-visit-mc": "holds",
}


def test_all_topic_claims_are_listed():
    ids = {c.id for c in registry() if c.module.endswith("theory.policy_evaluation")}
    assert ids == set(EXPECTED)


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_claim_quick_verdict(claim_id):
    c = next(c for c in registry() if c.id == claim_id)
    assert c.expected == EXPECTED[claim_id] and c.controls
    rec = run_claim(c, "quick", controls=False)  # the controls run in tests/test_catalogue_verdicts.py
    assert rec.error == ""
    assert rec.verdict.verdict == EXPECTED[claim_id], rec.verdict.details
    assert rec.verdict.figure is not None and rec.verdict.rule


@pytest.mark.parametrize("claim_id", ["td-fixed-point-bound", "td0-mse-rate"])
def test_td_claims_detect_a_wrong_discount(claim_id):
    """Issue 15: a 10% (and a 3%) error in gamma in the TD error is detected; the reported power
    (min_detectable, a relative gamma error) is below 10%."""
    c = next(c for c in registry() if c.id == claim_id)
    v = c.check("quick")
    assert v.min_detectable is not None and v.min_detectable < 0.1
    for ctl in ("discount-0.9", "discount-0.97"):
        assert c.check("quick", control=ctl).verdict == "violated"
