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
    assert meta["command"].startswith("mdpgrad figures --only solvers-agree") and "v_gridworld_linear_programming" in meta["data"]


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "mdpgrad", "solve", "--states", "10", "--gamma", "2"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and "gamma" in out.stderr and "Traceback" not in out.stderr


# ----------------------------------------------------------------------------- presentation
def _records():
    """Synthetic records with long values: a bound claim with a rule, a rate claim without one,
    a violated one whose control was not rejected, and an uncheckable entry."""
    from mdpgrad.claims import CheckRecord, Claim, ControlRecord, Verdict, uncheckable_claim

    def fn(budget, rng, control=None):
        return None

    long_paper = "Stochastic Policy Gradient Methods: Improved Sample Complexity for Fisher-non-degenerate Policies"
    a = Claim(id="npg-igt-harpg-rates-with-a-long-id", paper=long_paper, topic="stochastic-pg",
              statement="s", check_fn=fn, controls={"no-momentum": "x", "rho-weighting": "y"})
    b = Claim(id="entropy-npg-linear", paper="Fast global convergence", topic="exact-pg", statement="s",
              check_fn=fn)
    c = Claim(id="gpg-unbiased", paper="GPG", topic="llm-rl", statement="s", check_fn=fn, expected="violated",
              controls={"wrong": "z"})
    d = uncheckable_claim(id="mdvi-uncheckable", paper="P", topic="stochastic-pg", statement="s",
                          reason="the constant is not stated")
    va = Verdict(predicted={"pg": 3, "igt": 2.5, "harpg": 2}, measured={"pg": 1.2595, "igt": 0.98798, "harpg": 0.8076},
                 ci=(0.747438, 0.878358), verdict="holds",
                 rule="samples exponent CI <= predicted exponent + 0.3 for each of pg, igt and harpg (one-sided)")
    vb = Verdict(predicted=-0.01005, measured=-0.211, verdict="holds")
    vc = Verdict(predicted=0.0, measured=10.8, verdict="holds", rule="max |z| of mean <= 4.42 (family level 1e-5)")
    ctl = lambda name, verdict, rejected: ControlRecord(name, "d", Verdict(None, 1.0, verdict), 0.1, "", rejected)
    return [CheckRecord(a, va, 3.2, "", (ctl("no-momentum", "violated", True), ctl("rho-weighting", "violated", True))),
            CheckRecord(b, vb, 1.1),
            CheckRecord(c, vc, 0.5, "", (ctl("wrong", "holds", False),)),
            CheckRecord(d, d.check("quick"), 0.0)]


def _alnum_counts(text):
    from collections import Counter

    return Counter(ch for ch in text if ch.isalnum())


def _assert_fits_and_complete(out, width, cells):
    assert max(len(line) for line in out.splitlines()) <= width, out
    assert "…" not in out and "..." not in out
    have, need = _alnum_counts(out), _alnum_counts("".join(cells))
    assert all(have[ch] >= n for ch, n in need.items()), {ch: (have[ch], n) for ch, n in need.items() if have[ch] < n}


def _cells(records, narrow):
    """The text of every cell (at 80 columns the expected verdict is shown only where it differs)."""
    from mdpgrad.report import controls_text, measured_text, rule_text, short

    out = []
    for r in records:
        words, derived = rule_text(r.verdict)
        out += [r.claim.id, r.verdict.verdict, words, measured_text(r.verdict), controls_text(r)[0]]
        if not (derived and short(r.verdict.predicted) in words):  # else shown once, in 'compared'
            out.append(short(r.verdict.predicted))
        if not (narrow and r.as_expected):
            out.append(r.claim.expected)
    return out


def test_table_fits_80_and_200_columns_without_cutting():
    from mdpgrad.report import format_table

    recs = _records()
    for width in (80, 200):
        out = format_table(recs, width)
        _assert_fits_and_complete(out, width, _cells(recs, narrow=width < 120))
        assert "2/2 rejected" in out and "0/1 rejected" in out
    wide = format_table(recs, 200)
    for r in recs:  # at 200 columns every id and verdict reads on one line
        assert any(r.claim.id in line and r.verdict.verdict in line for line in wide.splitlines()), r.claim.id
    assert "samples exponent CI <= predicted" in wide  # the rule, starting on the claim's line
    assert "measured vs predicted -0.01005" in wide  # derived from predicted when a claim states no rule
    narrow = " ".join(format_table(recs, 80).split())
    assert "holds (expected violated)" in narrow and "measured -0.211" in narrow


def test_summary_says_what_the_exit_status_means():
    from mdpgrad.report import format_legend, format_summary

    recs = _records()
    text, status = format_summary(recs, 80)
    assert status == 1
    assert "Exit status 1" in text and "control 'wrong' not rejected" in text
    text, status = format_summary(recs[1:2], 80)
    assert status == 0 and "Exit status 0: every verdict equals its expected verdict" in " ".join(text.split())
    legend = format_legend(80)
    for word in ("holds", "violated", "inconclusive", "error", "uncheckable", "expected", "controls"):
        assert word in legend
    assert max(len(line) for line in legend.splitlines()) <= 80


def test_check_prints_table_legend_summary_at_terminal_width(monkeypatch, capsys):
    for width in (80, 200):
        monkeypatch.setenv("COLUMNS", str(width))
        assert main(["check", "--topic", "foundation", "--quick", "--no-progress"]) == 0
        out = capsys.readouterr().out
        assert max(len(line) for line in out.splitlines()) <= width
        assert "compared" in out and "Exit status 0" in out and "inconclusive" in out  # legend
        assert "pg-theorem" in out


def test_check_claim_shows_detail_view_with_notes(monkeypatch, capsys):
    from mdpgrad.claims import get_claim

    monkeypatch.setenv("COLUMNS", "80")
    assert main(["check", "--claim", "entropy-npg-linear", "--quick", "--no-progress"]) == 0
    out = capsys.readouterr().out
    flat = " ".join(out.split())
    c = get_claim("entropy-npg-linear")
    for field in ("statement", "paper", "instance", "predicted", "measured", "rule", "controls", "notes", "figure"):
        assert field in out, field
    assert " ".join(c.paper.split()) in flat
    first_note_words = " ".join(c.notes.split()[:6])
    assert first_note_words in flat
    assert "paper_figures/entropy-npg-linear.png" in flat
    assert max(len(line) for line in out.splitlines()) <= 80


def test_detail_view_of_synthetic_records_fits():
    from mdpgrad.report import format_detail

    for r in _records():
        for width in (80, 200):
            out = format_detail(r, width)
            assert max(len(line) for line in out.splitlines()) <= width
            assert r.claim.id in out and r.verdict.verdict in out
    out = format_detail(_records()[2], 80)
    assert "NOT rejected" in out and "DIFFERS" in out


def test_list_and_topics_in_help(monkeypatch, capsys):
    from mdpgrad.claims import TOPICS, registry
    from mdpgrad.report import format_list

    monkeypatch.setenv("COLUMNS", "80")
    assert main(["list", "--topic", "games"]) == 0
    out = capsys.readouterr().out
    games = [c for c in registry() if c.topic == "games"]
    assert all(c.id in out for c in games) and f"{len(games)} claims" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert main(["list", "--topic", "nope"]) == 2
    capsys.readouterr()
    text = format_list([r.claim for r in _records()], 80)
    assert "uncheckable" in text and "not stated" in text
    import pytest

    with pytest.raises(SystemExit):
        main(["check", "--help"])
    helptext = " ".join(capsys.readouterr().out.split())
    assert all(t in helptext for t in TOPICS) and "Exit status 0" in helptext.replace("exit status", "Exit status")


def test_figures_only_without_a_figure_or_unknown_says_why_and_exits_2(tmp_path, capsys):
    assert main(["figures", "--only", "apg-additional-tasks", "--quick", "--out", str(tmp_path), "--no-progress"]) == 2
    cap = capsys.readouterr()
    assert "apg-additional-tasks: no figure (it is not checkable as stated" in cap.out
    assert "nothing to draw" in cap.err and "Traceback" not in cap.err
    assert main(["figures", "--only", "pg-theorm", "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "no claim or experiment has this id" in err and "did you mean: pg-theorem" in err


def test_figures_states_duration_and_stamps_id_and_verdict(tmp_path, capsys, monkeypatch):
    import mdpgrad.plotting as plotting

    seen = []
    real = plotting.stamp_claim_figure
    monkeypatch.setattr(plotting, "stamp_claim_figure", lambda fig, *a, **k: seen.append(real(fig, *a, **k)) or fig)
    args = ["figures", "--only", "solvers-agree", "--quick", "--out", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "no previous run is recorded here" in out and "in " in out.splitlines()[-1]
    title = seen[0]._suptitle.get_text()
    assert title.startswith("solvers-agree: holds")
    assert main(args) == 0  # the second run estimates from the first one's JSON
    assert "the previous run of these claims took" in capsys.readouterr().out


def test_stamp_claim_figure_keeps_the_checks_title():
    from mdpgrad.plotting import new_figure, stamp_claim_figure

    fig, ax = new_figure()
    fig.suptitle("Baird's counterexample")
    stamp_claim_figure(fig, "baird-divergence", "violated", "holds", "mdpgrad figures --only baird-divergence")
    assert fig._suptitle.get_text() == "baird-divergence: violated (expected holds)\nBaird's counterexample"
    assert any("mdpgrad figures --only" in t.get_text() for t in fig.texts)
