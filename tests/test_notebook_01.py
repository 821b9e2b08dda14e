"""The exact-MDP tour notebook executes end to end."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def test_exact_mdp_tour_executes():
    nb = nbformat.read(ROOT / "notebooks/01_exact_mdp_tour.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "InvalidMDPError" in outputs and "relative error" in outputs
