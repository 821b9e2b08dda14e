"""``mdpgrad check --workers N [--scheduler ADDR]``: the claims catalogue on the sweep executors.

A :class:`~mdpgrad.claims.Claim` holds its check function, which cannot be pickled by
reference (the module attribute is the ``Claim``, not the function), so workers receive
claim *ids* and look them up with :func:`mdpgrad.claims.get_claim`. A worker returns the
verdict's fields without the matplotlib figure (optionally rendered to PNG bytes); the
parent rebuilds :class:`~mdpgrad.claims.CheckRecord` objects in claim order.
Claims that are not in the registry (built ad hoc) run in the calling process.
"""

from __future__ import annotations

import io
import pickle
import sys

from .execute import choose_executor, imap_unordered

__all__ = ["run_checks_parallel", "check_claim_by_id"]


def _picklable(data) -> dict:
    out = {}
    for k, v in dict(data).items():
        try:
            pickle.dumps(v)
            out[k] = v
        except Exception:
            out[k] = repr(v)
    return out


def _control_tuple(c) -> tuple:
    v = c.verdict
    return (c.name, c.description, v.predicted, v.measured, v.verdict, v.details, c.seconds, c.error, c.rejected)


def check_claim_by_id(claim_id: str, budget: str, png: bool | str = False, controls: bool = True) -> dict:
    """Run one registered claim in this process; a picklable dict of the record (figure as PNG bytes).

    ``png`` may be a caption template such as ``"mdpgrad figures --only {id}"``: it is stamped
    on the figure, with the claim id and verdict in the title (as ``mdpgrad figures`` does
    in-process, :func:`mdpgrad.plotting.stamp_claim_figure`), before rendering.
    """
    from ..claims import get_claim, run_claim

    rec = run_claim(get_claim(claim_id), budget, controls=controls)
    v = rec.verdict
    png_bytes = None
    if png and v.figure is not None:
        from ..plotting import stamp_claim_figure

        command = png.format(id=claim_id) if isinstance(png, str) else ""
        stamp_claim_figure(v.figure, claim_id, v.verdict, rec.claim.expected, command)
        buf = io.BytesIO()
        v.figure.savefig(buf, format="png", dpi=120)
        png_bytes = buf.getvalue()
    return {"id": claim_id, "predicted": v.predicted, "measured": v.measured, "verdict": v.verdict, "ci": v.ci,
            "details": v.details, "data": _picklable(v.data), "seconds": rec.seconds, "error": rec.error,
            "png": png_bytes, "rule": v.rule, "tightness": v.tightness, "min_detectable": v.min_detectable,
            "controls": [_control_tuple(c) for c in rec.controls]}


def record_from_dict(d: dict):
    """The :class:`CheckRecord` for a dict made by :func:`check_claim_by_id` (figure omitted)."""
    from ..claims import CheckRecord, ControlRecord, Verdict, get_claim

    data = dict(d["data"])
    if d.get("png") is not None:
        data["png"] = d["png"]
    v = Verdict(predicted=d["predicted"], measured=d["measured"], verdict=d["verdict"], ci=d["ci"],
                details=d["details"], data=data, figure=None, rule=d.get("rule", ""),
                tightness=d.get("tightness"), min_detectable=d.get("min_detectable"))
    controls = tuple(
        ControlRecord(name, desc, Verdict(predicted=p, measured=m, verdict=vv, details=det), float(secs), err, rej)
        for name, desc, p, m, vv, det, secs, err, rej in d.get("controls", ()))
    return CheckRecord(get_claim(d["id"]), v, float(d["seconds"]), d["error"], controls)


def run_checks_parallel(claims, budget: str, *, progress: bool = True, workers: int | None = 1, scheduler=None,
                        png: bool | str = False, controls: bool = True, desc: str | None = None):
    """Run ``claims`` on worker processes (or a Dask cluster); records in claim order.

    Verdicts come back without their figure (``png=True`` puts the rendered PNG bytes in
    ``verdict.data["png"]``; a string is a caption template stamped first, see
    :func:`check_claim_by_id`); everything else equals :func:`mdpgrad.claims.run_claim`'s record,
    since each claim seeds its generator from its id.
    """
    from tqdm.auto import tqdm

    from ..claims import get_claim, run_claim

    claims = list(claims)
    executor, n = choose_executor("auto", workers, scheduler)
    remote, local = [], []
    for i, c in enumerate(claims):
        try:
            registered = get_claim(c.id) is c
        except KeyError:
            registered = False
        (remote if registered else local).append(i)
    out: list = [None] * len(claims)
    bar = tqdm(total=len(claims), desc=desc or f"mdpgrad check ({budget}, {executor})", unit="claim",
               disable=not progress, file=sys.stderr)
    try:
        tasks = [(claims[i].id, budget, png, controls) for i in remote]
        for j, d in imap_unordered(check_claim_by_id, tasks, executor=executor, workers=n, scheduler=scheduler):
            out[remote[j]] = record_from_dict(d)
            bar.set_postfix_str(d["id"])
            bar.update(1)
        for i in local:
            out[i] = run_claim(claims[i], budget, controls=controls)
            bar.update(1)
    finally:
        bar.close()
    return out
