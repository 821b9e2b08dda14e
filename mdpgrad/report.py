"""What ``mdpgrad check`` and ``mdpgrad list`` print: the claim table, the detail view of one
claim, the legend and the summary line (rendered with :mod:`rich`).

Every function returns text for a given terminal ``width`` (``None``: the terminal's width, or
``$COLUMNS``, or 80 when the output is not a terminal). Cells wrap, they are never cut: a long
value folds onto the next line of its cell. Colour is used only when the output is a terminal.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np

__all__ = [
    "VERDICT_STYLE",
    "LEGEND",
    "make_console",
    "short",
    "rule_text",
    "measured_text",
    "controls_text",
    "format_table",
    "format_detail",
    "format_list",
    "format_legend",
    "format_summary",
]

#: Colour of each verdict in the table (rich style names).
VERDICT_STYLE = {
    "holds": "green",
    "violated": "bold red",
    "inconclusive": "yellow",
    "error": "bold magenta",
    "uncheckable": "dim",
}

#: What each verdict means (printed under the table).
LEGEND = {
    "holds": "the measurement satisfies the claim's rule (the comparison in the 'compared' column)",
    "violated": "the measurement contradicts it",
    "inconclusive": "the test cannot decide at this budget (e.g. a confidence interval straddles the band)",
    "error": "the check itself failed (a bug, reported with its traceback)",
    "uncheckable": "not checkable as stated; the reason is in `mdpgrad list`",
}


def make_console(width: int | None = None, *, file=None, color: bool | None = None):
    """A :class:`rich.console.Console` writing to ``file`` (default: a string buffer)."""
    from rich.console import Console

    buf = io.StringIO() if file is None else file
    if color is None:
        color = file is not None and getattr(file, "isatty", lambda: False)()
    return Console(file=buf, width=width, force_terminal=bool(color), no_color=not color, highlight=False,
                   soft_wrap=False, emoji=False, markup=False)


def _render(renderables, width: int | None, color: bool | None = None) -> str:
    """Render to text ``width`` columns wide; nothing is cropped.

    Tables are rendered on a wider canvas and their widest columns capped until they fit (see
    :func:`_fit_table`), instead of letting the console crop the last column."""
    from rich.table import Table

    width = width or _terminal_width()
    parts = []
    for r in renderables:
        parts.append(_fit_table(r, width, color) if isinstance(r, Table) else _print_plain(r, width, color))
    return "\n".join(parts)


def _fit_table(table, width: int, color) -> str:
    """Lay ``table`` out within ``width`` columns by capping the widest wrapping columns (rich
    never makes a column narrower than its longest word, and crops what does not fit instead)."""
    from rich.measure import Measurement

    con = make_console(width + 200, color=color)
    caps = []
    for col in table.columns:
        natural = max((Measurement.get(con, con.options, c).maximum for c in col._cells), default=1)
        natural = max(natural, Measurement.get(con, con.options, col.header).maximum if col.header else 1)
        caps.append(natural if col.max_width is None else min(natural, col.max_width))
    text = ""
    for _ in range(8):
        text = _print_plain(table, width + 200, color)
        excess = max((_cell_len(line) for line in text.splitlines()), default=0) - width
        if excess <= 0:
            return text
        caps = _water_fill(caps, sum(caps) - excess, [max(6, col.min_width or 0) for col in table.columns])
        for col, cap in zip(table.columns, caps):
            col.max_width = cap
    return text


def _water_fill(caps: list[int], total: int, floors: list[int]) -> list[int]:
    """Lower the widest entries of ``caps`` to a common level so that they sum to ``total``
    (entry ``i`` not below ``floors[i]`` unless it already was)."""
    level = max(caps)

    def at(lv):
        return [min(c, max(lv, f)) for c, f in zip(caps, floors)]

    while sum(at(level)) > total and level > min(floors):
        level -= 1
    return at(level)


def _cell_len(line: str) -> int:
    import re

    from rich.cells import cell_len

    return cell_len(re.sub(r"\x1b\[[0-9;]*m", "", line))


def _print_plain(r, width: int, color) -> str:
    con = make_console(width, color=color)
    con.print(r)
    return "\n".join(line.rstrip() for line in con.file.getvalue().rstrip("\n").splitlines())


def short(x, digits: int = 4) -> str:
    """Compact text for a predicted/measured value: numbers to ``digits`` significant digits,
    dicts as ``k=v``, sequences as ``[a, b, ...]`` (at most 6 items shown, the count given)."""
    if x is None:
        return "-"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.{digits}g}"
    if isinstance(x, dict):
        return ", ".join(f"{k}={short(v, digits)}" for k, v in x.items())
    if isinstance(x, (list, tuple, np.ndarray)):
        xs = list(np.asarray(x).ravel()) if isinstance(x, np.ndarray) else list(x)
        body = ", ".join(short(v, digits) for v in xs[:6])
        return "[" + body + (f", ... ({len(xs)} values)]" if len(xs) > 6 else "]")
    return str(x)


_COMPARATORS = ("<=", ">=", "<", ">", "==", "=", "≤", "≥", "in ", "within")


def rule_text(verdict) -> tuple[str, bool]:
    """``(words, derived)``: the comparison the verdict made, from ``verdict.rule``; when a claim
    gives no rule, a description derived from ``predicted`` and ``ci`` (``derived=True``)."""
    if getattr(verdict, "rule", ""):
        return verdict.rule, False
    p, ci = verdict.predicted, verdict.ci
    if p is None:
        return ("see the claim's details" if verdict.measured is not None else "-"), True
    if isinstance(p, str) and p.strip().startswith(_COMPARATORS):
        return f"measured {p.strip()}", True
    if isinstance(p, str):  # a predicted statement such as "slope <= -1; gap <= bound"
        return p.strip(), True
    if ci is not None:
        return f"CI of measured vs predicted {short(p)}", True
    if isinstance(p, dict):
        return "measured vs predicted, per entry", True
    return f"measured vs predicted {short(p)}", True


def measured_text(verdict) -> str:
    """The measured value with its confidence interval, if any."""
    m = short(verdict.measured)
    if verdict.ci is not None:
        lo, hi = verdict.ci
        m += f" [{lo:.3g}, {hi:.3g}]"
    return m


def controls_text(rec) -> tuple[str, str]:
    """``(text, style)`` of the controls cell: ``"2/2 rejected"``, ``"none"``, ``"not run"``."""
    declared = rec.claim.controls
    if not declared:
        return ("-" if rec.claim.uncheckable else "none"), "dim"
    if not rec.controls:
        return "not run", "dim"
    n_rej = sum(c.rejected for c in rec.controls)
    style = "green" if n_rej == len(rec.controls) else "bold red"
    return f"{n_rej}/{len(rec.controls)} rejected", style


def _verdict_cell(rec):
    from rich.text import Text

    v = rec.verdict.verdict
    t = Text(v, style=VERDICT_STYLE.get(v, ""))
    return t


def _expected_cell(rec):
    from rich.text import Text

    exp = rec.claim.expected
    if rec.as_expected:
        return Text(exp, style="dim")
    return Text(exp + " (differs)", style="bold red")


def format_table(records, width: int | None = None, *, color: bool | None = None) -> str:
    """The claim table: one row per record, wrapped to ``width`` columns (cells never cut).

    From 120 columns on, one column per field. Below, three columns: the claim id with its
    verdict and expected verdict; what was compared with the predicted and measured values
    under it; the controls."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    width = width or _terminal_width()
    narrow = width < 120
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False, padding=(0, 1),
                  header_style="bold")
    id_width = min(max((len(r.claim.id) for r in records), default=5), max(28, width // 3))
    if narrow:
        table.add_column("claim\nverdict", overflow="fold", min_width=id_width, max_width=max(id_width, 14))
        table.add_column("compared\npredicted / measured [CI]", overflow="fold")
        table.add_column("controls", overflow="fold")
    else:
        table.add_column("claim", overflow="fold", min_width=id_width)
        table.add_column("verdict", overflow="fold")
        table.add_column("expected", overflow="fold")
        table.add_column("compared", overflow="fold")
        table.add_column("predicted", overflow="fold")
        table.add_column("measured [CI]", overflow="fold")
        table.add_column("controls", overflow="fold")
        table.add_column("s", justify="right", overflow="fold")
    for rec in records:
        v = rec.verdict
        words, derived = rule_text(v)
        ctext, cstyle = controls_text(rec)
        rule_cell = Text(words, style="italic" if derived else "")
        if narrow:
            first = Text(rec.claim.id + "\n")
            first.append_text(_verdict_cell(rec))
            if rec.as_expected:
                first.append(" (as expected)", style="dim")
            else:
                first.append(f" (expected {rec.claim.expected})", style="bold red")
            middle = rule_cell.copy()
            if not (derived and short(v.predicted) in words):  # no line that repeats the rule
                middle.append("\npredicted ", style="dim")
                middle.append(short(v.predicted))
            middle.append("\nmeasured  ", style="dim")
            middle.append(measured_text(v))
            table.add_row(first, middle, Text(ctext, style=cstyle))
            table.add_row()
        else:
            repeated = derived and short(v.predicted) in words
            pred = Text("(in compared)", style="dim") if repeated else Text(short(v.predicted))
            table.add_row(Text(rec.claim.id), _verdict_cell(rec), _expected_cell(rec), rule_cell,
                          pred, Text(measured_text(v)), Text(ctext, style=cstyle),
                          Text(f"{rec.seconds:.1f}"))
    return _render([table], width, color)


def _terminal_width() -> int:
    """``$COLUMNS`` if set, else the terminal's width, else 80."""
    import shutil

    return max(40, shutil.get_terminal_size((80, 24)).columns)


def format_legend(width: int | None = None, *, color: bool | None = None) -> str:
    """What the verdicts, the 'expected' and the 'controls' columns mean."""
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for k, meaning in LEGEND.items():
        grid.add_row(Text(k, style=VERDICT_STYLE[k]), Text(meaning))
    parts = [grid]
    parts.append(Text(
        "expected: the verdict recorded for the claim today (a documented contradiction is expected "
        "'violated'). controls: deliberately wrong variants of the method; a control is rejected when "
        "the check does not give it the claim's expected verdict. compared: the rule the verdict "
        "applied (in italics when derived from predicted/CI because the claim states no rule)."))
    return _render(parts, width, color)


def format_summary(records, width: int | None = None, *, color: bool | None = None) -> tuple[str, int]:
    """``(text, exit_status)``: counts per verdict and what the exit status means.

    Exit status 0 iff every verdict equals its expected verdict and every control was rejected."""
    from rich.text import Text

    counts = {k: sum(r.verdict.verdict == k for r in records) for k in LEGEND}
    n_ctrl = sum(len(r.controls) for r in records)
    n_rej = sum(c.rejected for r in records for c in r.controls)
    differ = [r for r in records if not r.as_expected]
    unrejected = [(r, c) for r in records for c in r.controls if not c.rejected]
    t = Text()
    t.append(f"{len(records)} claims: ")
    t.append_text(Text(", ").join(Text(f"{n} {k}", style=VERDICT_STYLE[k]) for k, n in counts.items() if n))
    t.append(f". {len(records) - len(differ)} as expected; "
             + (f"controls {n_rej}/{n_ctrl} rejected." if n_ctrl else "no controls run."))
    lines = [t]
    for r in differ:
        first = (r.error or r.verdict.details or "").strip().splitlines()
        lines.append(Text(f"  {r.claim.id}: {r.verdict.verdict}, expected {r.claim.expected}"
                          + (f" -- {first[0]}" if first else ""), style="red"))
    for r, c in unrejected:
        lines.append(Text(f"  {r.claim.id}: control '{c.name}' not rejected (verdict {c.verdict.verdict})",
                          style="red"))
    if differ or unrejected:
        status = 1
        lines.append(Text("Exit status 1: a verdict differs from its expected verdict or a control was not "
                          "rejected -- a regression, or a new finding to record in the claim.", style="bold red"))
    else:
        status = 0
        lines.append(Text("Exit status 0: every verdict equals its expected verdict and every control was "
                          "rejected.", style="bold green"))
    return _render(lines, width, color), status


def _kv_table():
    from rich import box
    from rich.table import Table

    t = Table(box=box.SIMPLE, show_header=False, show_edge=False, pad_edge=False, padding=(0, 1))
    t.add_column("field", style="bold", no_wrap=True)
    t.add_column("value", overflow="fold")
    return t


def figure_path(claim_id: str, out: str | Path = "paper_figures") -> str:
    """Where ``mdpgrad figures`` writes a claim's figure, and whether it exists yet."""
    p = Path(out) / f"{claim_id}.png"
    if p.exists():
        return str(p)
    return f"{p} (not written yet: mdpgrad figures --only {claim_id})"


def format_detail(rec, width: int | None = None, *, color: bool | None = None,
                  figures_dir: str | Path = "paper_figures") -> str:
    """Everything about one checked claim: statement, paper, instance, predicted, measured with
    CI, the rule in words, tightness / smallest detectable effect, controls, details, notes and
    the figure path."""
    from rich.rule import Rule as HRule
    from rich.text import Text

    c, v = rec.claim, rec.verdict
    title = Text()
    title.append(c.id + "  ", style="bold")
    title.append(v.verdict, style=VERDICT_STYLE.get(v.verdict, ""))
    title.append(f"  (expected {c.expected}{'' if rec.as_expected else ': DIFFERS'})",
                 style="dim" if rec.as_expected else "bold red")
    t = _kv_table()
    words, derived = rule_text(v)
    rows = [
        ("statement", c.statement),
        ("paper", c.paper),
        ("topic", f"{c.topic} (priority {c.priority})"),
        ("instance", c.instance or "-"),
    ]
    if c.assumptions:
        rows.append(("assumptions", "; ".join(c.assumptions)))
    if c.bound is not None:
        rows.append(("bound", str(c.bound)))
    rows += [
        ("predicted", short(v.predicted, 6)),
        ("measured", short(v.measured, 6) + ("" if v.ci is None else f"  CI [{v.ci[0]:.6g}, {v.ci[1]:.6g}]")),
        ("rule", words + ("  (derived: the claim states no rule)" if derived else "")),
    ]
    if v.tightness is not None:
        rows.append(("tightness", f"{short(v.tightness)}  (max measured/bound; 1 = the bound is tight)"))
    if v.min_detectable is not None:
        rows.append(("detectable", f"{short(v.min_detectable)}  (smallest error the test detects, power 0.8)"))
    ctext, _ = controls_text(rec)
    rows.append(("controls", ctext))
    rows.append(("seconds", f"{rec.seconds:.2f}"))
    rows.append(("figure", figure_path(c.id, figures_dir)))
    for k, val in rows:
        t.add_row(k, Text(str(val)))
    out = [title, t]
    if rec.controls:
        ct = _kv_table()
        for cr in rec.controls:
            line = Text()
            line.append("rejected" if cr.rejected else "NOT rejected", style="green" if cr.rejected else "bold red")
            line.append(f" (verdict {cr.verdict.verdict}, measured {short(cr.verdict.measured)}): {cr.description}")
            ct.add_row(cr.name, line)
        out += [HRule("controls", align="left", style="dim"), ct]
    details = rec.error or v.details
    if details:
        out += [HRule("details", align="left", style="dim"), Text(details.strip())]
    if c.notes:
        out += [HRule("notes", align="left", style="dim"), Text(_clean_notes(c.notes))]
    return _render(out, width, color)


def _clean_notes(notes: str) -> str:
    """Notes joined from a ``notes=`` string and a docstring: each paragraph dedented."""
    import inspect
    import re

    paras = re.split(r"\n\s*\n", notes.strip())
    return "\n\n".join(inspect.cleandoc(p) for p in paras)


def format_list(claims, width: int | None = None, *, color: bool | None = None) -> str:
    """The catalogue without running it: id, topic, priority, expected verdict, paper (and the
    reason for claims not checkable as stated)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    width = width or _terminal_width()
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), header_style="bold")
    id_width = min(max((len(c.id) for c in claims), default=5), max(28, width // 3))
    table.add_column("claim", overflow="fold", min_width=id_width, max_width=max(id_width, 14))
    table.add_column("topic\npriority", overflow="fold")
    table.add_column("expected", overflow="fold")
    table.add_column("paper", overflow="fold", min_width=min(20, width // 4))
    for c in claims:
        exp = Text(c.expected, style=VERDICT_STYLE.get(c.expected, ""))
        if c.uncheckable:
            exp.append(": " + c.uncheckable, style="dim")
        table.add_row(Text(c.id), Text(f"{c.topic}\n{c.priority}"), exp, Text(c.paper))
    n_unc = sum(bool(c.uncheckable) for c in claims)
    foot = Text(f"{len(claims)} claims" + (f" ({n_unc} not checkable as stated)" if n_unc else "")
                + ". Run one with: mdpgrad check --claim ID --quick")
    return _render([table, foot], width, color)


def stdout_is_terminal() -> bool:
    return bool(getattr(sys.stdout, "isatty", lambda: False)())
