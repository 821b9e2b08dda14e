"""Every exact-pg claim at the quick budget gives its expected verdict (regression guard)."""

from __future__ import annotations

import pytest
from conftest import check_notebook

from mdpgrad.claims import registry, run_claim

EXPECTED = {
    "softmax-pg-sublinear": "holds",
    "softmax-pg-exponential-time": "holds",
    "npg-sublinear-bound": "holds",
    "entropy-npg-linear": "holds",
    "pmd-linear-increasing-steps": "holds",
    "mdpo-md-step": "holds",
    "trpo-monotone": "holds",
    "dynamic-pg-finite-horizon": "holds",
    "rebel-npg": "holds",
    "polyak-pg": "holds",
    "capo-curvature-monotone": "holds",
    "direct-pg-stationarity": "holds",
}


def test_catalogue_lists_every_exact_pg_claim():
    ids = {c.id for c in registry() if c.topic == "exact-pg"}
    assert ids == set(EXPECTED)


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_claim_quick_verdict(cid):
    c = next(c for c in registry() if c.id == cid)
    rec = run_claim(c, "quick")
    assert rec.verdict.verdict == EXPECTED[cid], rec.as_json()["details"]
    assert rec.verdict.figure is not None


def test_notebook_executes():
    check_notebook("notebooks/02_exact_policy_optimization.ipynb")
