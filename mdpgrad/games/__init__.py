"""Preference games and Nash learning.

* :mod:`.preference` -- validated preference games (``P + P^T = 1``), generators, exploitability, KL,
  the packed antisymmetric win-rate operator (``pack_preference``; half/quarter the bytes of dense ``P``);
* :mod:`.solvers` -- the beta-regularized Nash equilibrium (certified) and the minimax winner (LP);
* :mod:`.algorithms` -- Nash-MD, Nash Mirror Prox, MWU/SPPO, regularized OMD/INPO, SPO self-play
  (exact or sampled preferences; NumPy/CuPy through the backend seam);
* :mod:`.objectives` -- Bradley–Terry/RLHF, DPO, HyPO, SPPO and INPO losses, iterative DPO / APO;
* :mod:`.efg` -- extensive-form games (Kuhn, Leduc, random trees), exact exploitability, CFR/CFR+,
  magnetic mirror descent, sampled local adaptive OMD (NumPy reference + Numba kernel).
"""

from . import efg, objectives  # noqa: F401
from .algorithms import *  # noqa: F401,F403
from .preference import *  # noqa: F401,F403
from .solvers import *  # noqa: F401,F403
