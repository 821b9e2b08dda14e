"""Exceptions raised by mdpgrad (every one of them is defined here).

Every validation error is a subclass of :class:`ValueError` (through
:class:`InvalidInputError`) and its message names the argument, the offending index and
value, and how to fix it. Nothing is silently renormalized. The checks that raise them
live in :mod:`mdpgrad.validation`.
"""

from __future__ import annotations

__all__ = [
    "MdpgradError",
    "InvalidInputError",
    "InvalidMDPError",
    "InvalidPolicyError",
    "InvalidUncertaintySetError",
    "InvalidPreferenceError",
    "AllocationTooLargeError",
    "DivergedError",
    "BackendUnavailableError",
    "SweepError",
]


class MdpgradError(Exception):
    """Base class of all mdpgrad-specific exceptions."""


class InvalidInputError(MdpgradError, ValueError):
    """An argument failed validation (shape, range, normalization, NaN, dtype, ...)."""


class InvalidMDPError(InvalidInputError):
    """The arrays given to build an MDP do not describe a valid MDP."""


class InvalidPolicyError(InvalidInputError):
    """A policy array is not a valid conditional distribution ``pi[s, a]``."""


class InvalidUncertaintySetError(InvalidInputError):
    """An uncertainty set was specified with a bad kind, radius or rectangularity."""


class InvalidPreferenceError(InvalidInputError):
    """A preference matrix is not square, not in [0, 1], or not skew (``P + P.T != 1``)."""


class AllocationTooLargeError(InvalidInputError):
    """A call would allocate more memory than allowed; the message gives the size and the knob to turn.

    The limit is half the machine's available memory, or ``MDPGRAD_MAX_BYTES`` when set.
    """


class DivergedError(InvalidInputError):
    """Iterates became non-finite (NaN/inf) because of a step size or scale: the message names the knob.

    Raised instead of returning NaN; a ``ValueError`` because the cause is an argument value.
    """


class BackendUnavailableError(MdpgradError, RuntimeError):
    """A requested array backend (e.g. CuPy) is not installed or has no device."""


class SweepError(MdpgradError, RuntimeError):
    """A sweep could not run or be read (bad spec, unreadable store, I/O failure)."""
