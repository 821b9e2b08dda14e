"""Deprecated alias of :mod:`mdpgrad.validation` (kept so old imports keep working)."""

from .validation import *  # noqa: F401,F403
from .validation import PROB_ATOL, check_indices  # noqa: F401
