"""The command line: commands work, user mistakes give one-line errors and exit 2."""

import json
import subprocess
import sys
from pathlib import Path

from mdpgrad.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backends" in out and "numba" in out and "gpu" in out


def test_solve_prints_summary(capsys):
    assert main(["solve", "--env", "garnet", "--states", "30", "--actions", "3", "--branching", "4",
                 "--gamma", "0.95", "--method", "vi", "--tol", "1e-9"]) == 0
    out = capsys.readouterr().out
    assert "converged   True" in out and "value_iteration" in out


def test_user_errors_are_one_line_exit_2(capsys):
    assert main(["solve", "--gamma", "1.5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mdpgrad: error: gamma = 1.5 is outside [0, 1)") and "Traceback" not in err
    assert main(["solve", "--env", "nope"]) == 2
    assert "--env 'nope' is not known" in capsys.readouterr().err
    assert main(["check", "--claim", "pg-theorm", "--no-progress"]) == 2
    assert "Did you mean: pg-theorem" in capsys.readouterr().err
    assert main(["check", "--topic", "nonsense", "--no-progress"]) == 2


def test_check_foundation_json(tmp_path, capsys):
    path = tmp_path / "v.json"
    rc = main(["check", "--topic", "foundation", "--quick", "--json", str(path), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0, out
    rows = json.loads(path.read_text())
    assert {r["id"] for r in rows} >= {"pg-theorem", "solvers-agree", "bellman-residual-zero"}
    for r in rows:
        assert set(r) >= {"id", "paper", "topic", "statement", "predicted", "measured", "ci", "verdict", "seconds"}
        assert r["verdict"] == "holds", r
    assert "pg-theorem" in out and "holds" in out


def test_figures_writes_png_and_data(tmp_path, capsys):
    assert main(["figures", "--only", "solvers-agree", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    assert (tmp_path / "solvers-agree.png").stat().st_size > 1000
    meta = json.loads((tmp_path / "solvers-agree.json").read_text())
    assert meta["command"].startswith("mdpgrad figures --only solvers-agree") and "v_star_gridworld" in meta["data"]


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "mdpgrad", "solve", "--states", "10", "--gamma", "2"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and "gamma" in out.stderr and "Traceback" not in out.stderr
