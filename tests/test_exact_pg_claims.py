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
    ids = {c.id for c in registry() if c.module.endswith("theory.exact_pg")}
    assert ids == set(EXPECTED)


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_claim_quick_verdict(cid):
    """The claim's declared expectation is the one recorded here, it names >= 1 negative control, and its
    quick run (controls are run by tests/test_catalogue_verdicts.py) gives that verdict with a figure and
    a rule in words."""
    c = next(c for c in registry() if c.id == cid)
    assert c.expected == EXPECTED[cid]
    assert len(c.controls) >= 1
    rec = run_claim(c, "quick", controls=False)
    assert rec.verdict.verdict == EXPECTED[cid], rec.as_json()["details"]
    assert rec.verdict.figure is not None
    assert rec.verdict.rule


def test_policy_gradient_control_hooks_are_wrong_variants():
    """The documented hooks behind the exact-pg controls: weighting='rho' and horizon_factor=False change
    the gradient (they are not the gradient), and the defaults are the PG theorem."""
    import numpy as np

    from mdpgrad import envs
    from mdpgrad.errors import InvalidInputError
    from mdpgrad.policies import policy_gradient

    mdp = envs.garnet(5, 3, 2, gamma=0.9, seed=0, rho=np.array([0.6, 0.1, 0.1, 0.1, 0.1]))
    theta = np.random.default_rng(0).normal(size=(5, 3))
    g = policy_gradient(mdp, theta)
    np.testing.assert_allclose(policy_gradient(mdp, theta, horizon_factor=False), g * (1 - mdp.gamma))
    assert np.max(np.abs(policy_gradient(mdp, theta, weighting="rho") - g)) > 1e-3
    with pytest.raises(InvalidInputError, match="weighting"):
        policy_gradient(mdp, theta, weighting="d")


def test_notebook_executes():
    check_notebook("notebooks/02_exact_policy_optimization.ipynb")
