"""Seed handling: an alias of :func:`mdpgrad.validation.as_generator` (the one seeding function)."""

from __future__ import annotations

from ..validation import as_generator

__all__ = ["as_generator"]
