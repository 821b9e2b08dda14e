"""The policy-evaluation notebook executes end to end, every cell without error, with figures."""

from conftest import check_notebook


def test_notebook_executes():
    check_notebook("notebooks/04_policy_evaluation.ipynb")
