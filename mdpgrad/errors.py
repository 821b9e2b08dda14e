"""Exceptions raised by mdpgrad.

Every validation error is a subclass of :class:`ValueError` and its message names the
argument, the offending index and value, and how to fix it. Nothing is silently
renormalized.
"""

from __future__ import annotations


class MdpgradError(Exception):
    """Base class of all mdpgrad-specific exceptions."""


class InvalidInputError(MdpgradError, ValueError):
    """An argument failed validation (shape, range, normalization, NaN, ...)."""


class InvalidMDPError(InvalidInputError):
    """The arrays given to build an MDP do not describe a valid MDP."""


class InvalidPolicyError(InvalidInputError):
    """A policy array is not a valid conditional distribution ``pi[s, a]``."""


class BackendUnavailableError(MdpgradError, RuntimeError):
    """A requested array backend (e.g. CuPy) is not installed or has no device."""
