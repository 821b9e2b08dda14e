"""Small plotting helpers (matplotlib, object-oriented API: no pyplot global state)."""

from __future__ import annotations

import numpy as np


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize=(5.5, 3.6)):
    """A ``Figure`` and its axes, created without pyplot (safe in worker processes)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


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
    ax.set_xlabel("t")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return fig
