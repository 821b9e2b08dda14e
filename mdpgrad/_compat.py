"""Old keyword names kept working after the spelling fixes of issue 14 (see docs/glossary.md)."""

from __future__ import annotations

import functools
import warnings

from .errors import InvalidInputError


def renamed(**old_to_new: str):
    """Decorator: accept ``old=`` for ``new=`` (a :class:`DeprecationWarning` names the new spelling);
    passing both is an :class:`~mdpgrad.errors.InvalidInputError`."""

    def deco(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise InvalidInputError(f"{old}: pass {new}= only ({old}= is its old spelling).")
                    warnings.warn(f"{f.__name__}: {old}= is spelled {new}= now", DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return f(*args, **kwargs)

        wrapper.renamed_keywords = dict(old_to_new)
        return wrapper

    return deco
