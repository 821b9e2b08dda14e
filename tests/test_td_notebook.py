"""The policy-evaluation notebook executes end to end, every cell without error, with figures."""

from conftest import run_notebook


def test_notebook_executes():
    run_notebook("notebooks/04_policy_evaluation.ipynb")
