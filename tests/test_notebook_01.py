"""The exact-MDP tour notebook executes end to end."""

from conftest import check_notebook


def test_exact_mdp_tour_executes():
    nb = check_notebook("notebooks/01_exact_mdp_tour.ipynb")
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "InvalidMDPError" in outputs and "relative error" in outputs
