"""Integrity of the claims catalogue: ids, topics, citations, bounds."""

import re
from pathlib import Path

import pytest
import sympy

from mdpgrad.claims import TOPICS, registry

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CLAIMS = registry()
# Part 0 of ../shared/claims.md: standard results cited by their own (non-seed) papers.
PART0 = {"softmax-pg-sublinear", "softmax-pg-exponential-time", "npg-sublinear-bound", "entropy-npg-linear",
         "pmd-linear-increasing-steps", "td-fixed-point-bound", "baird-divergence",
         # issue-named standard results (no seed paper): Agarwal et al. 2021 stationarity, TD(0) 1/t rate
         "direct-pg-stationarity", "td0-mse-rate"}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def test_ids_unique_and_topics_known():
    ids = [c.id for c in CLAIMS]
    assert len(ids) == len(set(ids))
    assert all(c.topic in TOPICS for c in CLAIMS)
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", c.id) for c in CLAIMS), ids


def test_every_claim_states_itself():
    for c in CLAIMS:
        assert c.statement and c.paper and c.instance, c.id
        assert c.bound is None or isinstance(c.bound, sympy.Expr), c.id


@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="../shared/seeds not present beside the checkout")
def test_papers_are_cited_by_their_seed_titles():
    titles = set()
    for f in (SHARED / "seeds").glob("*.txt"):
        titles |= {_norm(line) for line in f.read_text(errors="replace").splitlines() if line.strip()}
    for c in CLAIMS:
        if c.id in PART0 or c.paper.startswith("("):
            continue  # the catalogue's Part 0: textbook results the seeds build on, not seed papers
        parts = [p.strip() for p in c.paper.split(";")]
        assert any(_norm(p) in titles for p in parts), f"{c.id}: paper {c.paper!r} is not a seed title"
