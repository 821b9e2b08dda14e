"""The policy-evaluation notebook executes end to end."""

from __future__ import annotations

import pathlib

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_notebook_executes():
    nb = nbformat.read(ROOT / "notebooks/04_policy_evaluation.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    # every code cell ran without an error output
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert all(o.get("output_type") != "error" for o in cell.get("outputs", []))
