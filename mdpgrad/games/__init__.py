"""Preference games and Nash learning (see :mod:`.preference`, :mod:`.solvers`, :mod:`.algorithms`)."""

from .algorithms import *  # noqa: F401,F403
from .preference import *  # noqa: F401,F403
from .solvers import *  # noqa: F401,F403
