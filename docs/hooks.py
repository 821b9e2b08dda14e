"""MkDocs hooks: the Benchmarks page is generated at build time from ``benchmarks/results/*.json``.

The benchmark scripts (``python benchmarks/bench_*.py``) write one JSON file each; this page
shows whatever files exist, so the numbers in the docs are the numbers the scripts wrote.
Run ``python docs/hooks.py`` to print the page.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

_TITLE_KEYS = ("title", "benchmark", "name")
_COMMAND_KEYS = ("command", "cmd")
_MACHINE_KEYS = ("machine", "environment", "host", "platform", "device")
_DATE_KEYS = ("date", "when", "timestamp", "created")
_ROW_KEYS = ("results", "rows", "records", "measurements", "peers")

HEADER = """# Benchmarks

Speed is measured against the peers a researcher would otherwise use (quantecon, pymdptoolbox,
gymnasium, SciPy, plain NumPy loops), each in the same process, with the values checked
against mdpgrad's before anything is timed. The tables below are generated when the docs are
built, from the JSON files that the benchmark scripts write to `benchmarks/results/`; nothing
on this page is typed by hand.

```bash
python -m pip install -e ".[bench]"          # the peers
python benchmarks/bench_solve.py             # each script writes benchmarks/results/<name>.json
mkdocs build                                 # regenerates this page
```

Timings depend on the machine and on what else runs on it: read the ratios (same process,
same machine, same moment), not the absolute times, and rerun the script on your machine.
"""

NONE_YET = """
!!! note "No benchmark results yet"
    No JSON file was found in `benchmarks/results/` when these docs were built, so there is
    nothing to show. Run a benchmark script (above) and rebuild the docs.
"""


def _fmt(x) -> str:
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        return f"{x:.4g}"
    if isinstance(x, (dict, list)):
        return "`" + json.dumps(x, separators=(", ", ": "))[:120] + "`"
    return str(x).replace("|", "\\|").replace("\n", " ")


def _table(rows: list[dict]) -> str:
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(k, "")) for k in keys) + " |")
    return "\n".join(lines)


def _first(d: dict, keys) -> tuple[str | None, object]:
    for k in keys:
        if k in d:
            return k, d[k]
    return None, None


def render_file(path: Path) -> str:
    """One section per JSON file: title, command, machine, date, the table of rows, other fields."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return f"## {path.stem}\n\n!!! warning \"Unreadable\"\n    `{path.name}`: {exc}\n"
    out = []
    if isinstance(data, list):
        out.append(f"## {path.stem}\n")
        if data and all(isinstance(r, dict) for r in data):
            out.append(_table(data))
        else:
            out.append(f"`{_fmt(data)}`")
        return "\n".join(out) + "\n"
    if not isinstance(data, dict):
        return f"## {path.stem}\n\n{_fmt(data)}\n"
    used = set()
    k, title = _first(data, _TITLE_KEYS)
    used.add(k)
    out.append(f"## {title or path.stem}\n")
    out.append(f"Source: `benchmarks/results/{path.name}`.\n")
    for keys, label in ((_COMMAND_KEYS, "Command"), (_MACHINE_KEYS, "Machine"), (_DATE_KEYS, "Measured")):
        k, v = _first(data, keys)
        if k is not None:
            used.add(k)
            val = f"`{v}`" if label == "Command" else _fmt(v)
            out.append(f"- **{label}:** {val}")
    if "description" in data:
        used.add("description")
        out.insert(2, str(data["description"]) + "\n")
    k, rows = _first(data, _ROW_KEYS)
    extra = {kk: v for kk, v in data.items() if kk not in used and kk != k}
    for kk, v in extra.items():
        if not (isinstance(v, list) and v and all(isinstance(r, dict) for r in v)):
            out.append(f"- **{kk}:** {_fmt(v)}")
    out.append("")
    if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
        out.append(_table(rows) + "\n")
    for kk, v in extra.items():
        if isinstance(v, list) and v and all(isinstance(r, dict) for r in v):
            out.append(f"**{kk}**\n\n{_table(v)}\n")
    return "\n".join(out)


def render_benchmarks(results_dir: str | Path = RESULTS) -> str:
    """The Markdown of the Benchmarks page for the JSON files in ``results_dir``."""
    files = sorted(Path(results_dir).glob("*.json"))
    body = "\n".join(render_file(p) for p in files) if files else NONE_YET
    return HEADER + "\n" + body


def on_files(files, config):
    """MkDocs event: add the generated ``benchmarks.md``."""
    from mkdocs.structure.files import File

    existing = files.get_file_from_path("benchmarks.md")
    if existing is not None:
        files.remove(existing)
    files.append(File.generated(config, "benchmarks.md", content=render_benchmarks()))
    return files


if __name__ == "__main__":
    print(render_benchmarks())
