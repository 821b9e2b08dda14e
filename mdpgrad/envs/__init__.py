"""Environment generators and converters.

Every generator returns a validated :class:`~mdpgrad.TabularMDP` (or a bandit container)
and takes an explicit ``seed`` (int or ``numpy.random.Generator``) where randomness is
involved; nothing touches global random state.
"""

from .bandits import (
    MultiArmedBandit,
    TabularContextualBandit,
    bandit_mdp,
    contextual_bandit,
    multi_armed_bandit,
)
from .classic import chain, gridworld, hard_chain, river_swim
from .converters import from_gymnasium, from_mdptoolbox
from .garnet import garnet

__all__ = [
    "garnet",
    "chain",
    "river_swim",
    "gridworld",
    "hard_chain",
    "multi_armed_bandit",
    "contextual_bandit",
    "bandit_mdp",
    "MultiArmedBandit",
    "TabularContextualBandit",
    "from_gymnasium",
    "from_mdptoolbox",
]
