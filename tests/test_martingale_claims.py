"""The martingale claims at the quick budget, with their expected verdicts (regression guard)."""

from __future__ import annotations

import pytest

from mdpgrad.claims import registry, run_claim

EXPECTED = {"mart-loss-mc": "holds", "mart-mstde-qv": "holds", "mart-orth-td-mesh": "holds",
            "euler-linear-sde-moments": "holds", "moc-stochastic-approx": "holds"}


def test_all_topic_claims_are_listed():
    assert {c.id for c in registry() if c.topic == "martingale"} == set(EXPECTED)


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_claim_quick_verdict(claim_id):
    c = next(c for c in registry() if c.id == claim_id)
    assert c.expected == EXPECTED[claim_id] and c.controls
    rec = run_claim(c, "quick", controls=False)  # the controls run in tests/test_catalogue_verdicts.py
    assert rec.error == ""
    assert rec.verdict.verdict == EXPECTED[claim_id], rec.verdict.details
    assert rec.verdict.figure is not None and rec.verdict.rule
