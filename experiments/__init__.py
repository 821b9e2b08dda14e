"""Experiments: every module here is a sweep spec (``SWEEP``) plus a ``figure(df)`` function.

Run one with ``mdpgrad sweep run experiments/<name>.py`` (results in ``results/<name>/``)
and draw its paper figure with ``mdpgrad figures --only <name>`` (``paper_figures/<name>.png``,
which lists the command that made it). ``mdpgrad figures`` regenerates them all.
"""
