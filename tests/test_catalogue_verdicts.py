"""The whole catalogue at the quick budget: every verdict equals its expectation and every negative
control is rejected (what ``mdpgrad check --quick`` exits 0 on).

Run one claim with ``pytest tests/test_catalogue_verdicts.py -k <claim-id>``.
"""

import pytest

from mdpgrad.claims import registry, run_claim

CLAIMS = registry()


@pytest.mark.parametrize("c", CLAIMS, ids=[c.id for c in CLAIMS])
def test_verdict_as_expected_and_controls_rejected(c):
    rec = run_claim(c, "quick")
    assert rec.verdict.verdict == c.expected, (
        f"{c.id}: verdict {rec.verdict.verdict}, expected {c.expected}: {rec.verdict.details[:400]}")
    for ctl in rec.controls:
        assert ctl.rejected, (f"{c.id}: control {ctl.name!r} ({ctl.description}) was not rejected: "
                              f"verdict {ctl.verdict.verdict}, measured {ctl.verdict.measured}: "
                              f"{(ctl.error or ctl.verdict.details)[:300]}")
