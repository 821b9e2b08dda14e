"""Small plotting helpers (matplotlib, object-oriented API: no pyplot global state).

Labels use matplotlib's mathtext (``r"$V^*(\\rho) - V^{\\pi_t}(\\rho)$"``), which needs no LaTeX
installation. :func:`stamp_claim_figure` is what ``mdpgrad figures`` applies to every claim's
figure: the claim id and its verdict in the title, the command that made it in a corner.
"""

from __future__ import annotations

import numpy as np


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize=(5.5, 3.6)):
    """A ``Figure`` and its axes, created without pyplot (safe in worker processes)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes



class NoAxes:
    """Stands in for a figure and its axes while a claim's negative control runs: nobody looks at a
    control's figure, and drawing one costs about 70 ms. Every attribute and call returns the stand-in."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self


def claim_figure(control, nrows: int = 1, ncols: int = 1, **kw):
    """``new_figure(nrows, ncols, **kw)`` for the claim itself; :class:`NoAxes` stand-ins (one per
    panel) when ``control`` names a negative control."""
    if control is None:
        return new_figure(nrows, ncols, **kw)
    n = nrows * ncols
    return NoAxes(), (NoAxes() if n == 1 else tuple(NoAxes() for _ in range(n)))

def rate_figure(t, y, *, fit=None, bound=None, title: str = "", ylabel: str = "gap",
                label: str = "measured", logx: bool = True, logy: bool = True, bound_label: str = "bound"):
    """Measured sequence on log axes, with an optional fitted line and predicted bound."""
    fig, ax = new_figure()
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    ax.plot(t, np.where(y > 0, y, np.nan), label=label, lw=1.5)
    if bound is not None:
        ax.plot(t, bound, "--", color="k", lw=1, label=bound_label)
    if fit is not None:
        lo, hi = fit.window
        tt = t[(t >= lo) & (t <= hi)]
        ax.plot(tt, fit.predict(tt), ":", color="C3", lw=2,
                label=f"fit slope {fit.slope:.3g} [{fit.ci[0]:.3g}, {fit.ci[1]:.3g}]")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("$t$")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return fig


#: Title colour of each verdict on a claim's figure.
VERDICT_COLORS = {"holds": "#1a7f37", "violated": "#cf222e", "inconclusive": "#9a6700", "error": "#8250df",
                  "uncheckable": "0.4"}


def claim_title(claim_id: str, verdict: str, expected: str | None = None) -> str:
    """``"<id>: <verdict>"``, with the expected verdict when it differs."""
    title = f"{claim_id}: {verdict}"
    if expected is not None and expected != verdict:
        title += f" (expected {expected})"
    return title


def stamp_claim_figure(fig, claim_id: str, verdict: str, expected: str | None = None, command: str = ""):
    """Put the claim id and its verdict in ``fig``'s title (above any title the check gave it,
    coloured by verdict) and ``command`` in the bottom-left corner. Returns ``fig``."""
    old = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    title = claim_title(claim_id, verdict, expected) + (f"\n{old}" if old else "")
    fig.suptitle(title, fontsize=9, color=VERDICT_COLORS.get(verdict, "black"))
    if command:
        fig.text(0.01, 0.005, command, fontsize=6, color="0.4")
    return fig
