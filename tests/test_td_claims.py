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
    "vwls-mdvi-minimax": "inconclusive",  # the paper's MDVI regularization is not implemented (see notes)
    "robust-bellman-losses": "holds",
    "tdjepa-sf-lowrank": "holds",
}


def test_all_topic_claims_are_listed():
    ids = {c.id for c in registry() if c.topic == "policy-evaluation"}
    assert ids == set(EXPECTED)


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_claim_quick_verdict(claim_id):
    c = next(c for c in registry() if c.id == claim_id)
    rec = run_claim(c, "quick")
    assert rec.error == ""
    assert rec.verdict.verdict == EXPECTED[claim_id], rec.verdict.details
    assert rec.verdict.figure is not None
