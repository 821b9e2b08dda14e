"""Named instance families shared by the experiments (deterministic given the seed)."""

from __future__ import annotations

from mdpgrad import envs

#: name -> (builder(seed) -> TabularMDP, gamma)
INSTANCES = {
    "garnet(10,3,2)": lambda seed, gamma: envs.garnet(10, 3, 2, gamma=gamma, seed=seed),
    "garnet(20,4,3)": lambda seed, gamma: envs.garnet(20, 4, 3, gamma=gamma, seed=seed),
    "garnet(50,5,5)": lambda seed, gamma: envs.garnet(50, 5, 5, gamma=gamma, seed=seed),
}


def make_instance(name: str, gamma: float, seed: int):
    """The MDP called ``name`` (a key of :data:`INSTANCES`) with discount ``gamma``, drawn from ``seed``."""
    from mdpgrad.errors import InvalidInputError

    try:
        build = INSTANCES[name]
    except KeyError:
        raise InvalidInputError(f"instance = {name!r} is not known; choose one of {sorted(INSTANCES)}") from None
    return build(seed, gamma)
