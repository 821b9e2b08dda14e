"""The foundation claims hold at the quick budget (a regression in the oracle fails here)."""

import pytest

from mdpgrad.claims import registry, run_claim

FOUNDATION = [c for c in registry() if c.topic == "foundation"]


@pytest.mark.parametrize("claim", FOUNDATION, ids=lambda c: c.id)
def test_foundation_claim_holds(claim):
    rec = run_claim(claim, "quick")
    assert rec.verdict.verdict == "holds", rec.verdict.details
