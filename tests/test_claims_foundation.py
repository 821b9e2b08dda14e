"""The foundation claims hold at the quick budget (a regression in the oracle fails here), each with a
figure, and each control is rejected."""

import pytest

from mdpgrad.claims import registry, run_claim

FOUNDATION = [c for c in registry() if c.topic == "foundation"]


@pytest.mark.parametrize("claim", FOUNDATION, ids=lambda c: c.id)
def test_foundation_claim_holds(claim):
    rec = run_claim(claim, "quick")
    assert rec.verdict.verdict == claim.expected == "holds", rec.verdict.details
    assert rec.verdict.figure is not None and rec.verdict.rule
    assert len(rec.controls) >= 1
    for ctl in rec.controls:
        assert ctl.verdict.verdict == "violated", (ctl.name, ctl.verdict.details)


def test_solvers_agree_figure_shows_three_solvers():
    c = next(c for c in FOUNDATION if c.id == "solvers-agree")
    fig = run_claim(c, "quick", controls=False).verdict.figure
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert {"policy iteration", "value iteration", "linear programming"} <= set(labels)
