"""Sparse MDPs at scale (10^5 - 10^6 states): CSR container, generators, certified solvers.

* :class:`SparseMDP` -- CSR over state-action rows (quantecon's state-action-pair layout),
  validated and frozen like :class:`mdpgrad.TabularMDP`; ``to_sparse(mdp)`` /
  ``SparseMDP.to_dense()`` convert both ways.
* :func:`garnet`, :func:`gridworld` -- vectorized generators that build the CSR arrays
  directly, at any size.
* :func:`solve` -- value iteration, modified policy iteration (Numba kernels, parallel over
  states) and policy iteration with a Krylov evaluation step; ``tol`` is a *certified*
  sup-norm error on v (see :mod:`mdpgrad.sparse.solvers` for how this differs from
  quantecon's ``epsilon``).
* :func:`policy_values` -- the sparse LU / GMRES solve behind ``mdpgrad.evaluate`` for a
  ``SparseMDP`` (``mdpgrad.evaluate``, ``mdpgrad.solve`` and ``mdpgrad.policy_gradient`` dispatch
  on the type; this package never imports :mod:`mdpgrad.exact`).
* :func:`sample_next_states` -- Numba next-state sampler over CSR rows, for rollouts.
"""

from .generators import garnet, gridworld
from .model import SparseMDP, as_sparse, to_sparse
from .sampling import rollout, sample_next_states
from .solvers import (
    SparseSolveResult,
    bellman_max,
    bellman_policy,
    modified_policy_iteration,
    policy_iteration,
    policy_matrices,
    policy_sweeps,
    policy_values,
    solve,
    span_bound,
    value_iteration,
)

__all__ = [
    "SparseMDP",
    "to_sparse",
    "as_sparse",
    "garnet",
    "gridworld",
    "sample_next_states",
    "rollout",
    "SparseSolveResult",
    "bellman_max",
    "bellman_policy",
    "policy_sweeps",
    "policy_matrices",
    "policy_values",
    "value_iteration",
    "modified_policy_iteration",
    "policy_iteration",
    "solve",
    "span_bound",
]
