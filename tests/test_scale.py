"""The `scale` topic's claims hold at the quick budget (regression guard)."""

from __future__ import annotations

import pytest
from conftest import check_notebook

from mdpgrad.claims import get_claim, run_claim


@pytest.mark.parametrize("claim_id", ["sparse-certified-error", "vi-span-sweep-bound"])
def test_scale_claims_hold_quick(claim_id):
    rec = run_claim(get_claim(claim_id), "quick", seed=0)
    assert rec.verdict.verdict == "holds", rec.verdict.details
    assert rec.verdict.figure is not None and rec.verdict.data
    assert rec.verdict.tightness is not None and 0 < rec.verdict.tightness <= 1
    assert rec.controls and all(c.verdict.verdict == "violated" for c in rec.controls), \
        [(c.name, c.verdict.details) for c in rec.controls]


def test_notebook_executes():
    check_notebook("notebooks/08_sparse_scale.ipynb")
