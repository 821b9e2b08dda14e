r"""Flow matching on the DAG of subsets ("Flow Network based Generative Models for Non-Iterative Diverse
Candidate Generation", Bengio et al. 2021).

States are the subsets of ``{0, ..., n-1}`` (bit masks); from ``s`` an action adds one missing element or
stops, and stopping in ``s`` yields the object ``s`` with reward :math:`R(s) > 0`. Edge flows are
:math:`F(s\to s\cup\{j\}) = e^{\theta_{s,j}}` and the stop flow is :math:`R(s)`. The flow-matching loss is

.. math:: \mathcal L(\theta) = \sum_{s \ne \emptyset}
   \Big(\log\sum_{p\to s} F(p\to s) - \log\big(R(s) + \sum_{s\to c} F(s\to c)\big)\Big)^2,

and the forward policy is :math:`\pi(c|s) = F(s\to c)/(R(s) + \sum_c F(s\to c))`,
:math:`\pi(\text{stop}|s) = R(s)/(\cdot)`. At a global minimum (loss 0) the probability of stopping in
``s`` is :math:`R(s)/Z` with :math:`Z` the outflow of the root (the paper's theorem).
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidInputError
from .validation import as_float_array, check_positive_int

__all__ = ["SubsetDAG", "subset_dag", "flow_matching_loss", "flow_matching_residuals", "terminal_distribution"]


class SubsetDAG:
    """Edges ``(parent, child, element)`` of the subset DAG over ``n`` elements (``2^n`` states)."""

    def __init__(self, n: int):
        self.n = check_positive_int(n, "n")
        if self.n > 12:
            raise InvalidInputError(f"n = {n}: the subset DAG has 2^n states; keep n <= 12.")
        self.n_states = 1 << self.n
        edges = [(s, s | (1 << j), j) for s in range(self.n_states) for j in range(self.n) if not s >> j & 1]
        self.parent = np.array([e[0] for e in edges])
        self.child = np.array([e[1] for e in edges])
        self.n_edges = len(edges)


def subset_dag(n: int) -> SubsetDAG:
    """The DAG of subsets of ``{0, ..., n-1}`` (see module docstring)."""
    return SubsetDAG(n)


def _check(dag, theta, reward):
    if not isinstance(dag, SubsetDAG):
        raise InvalidInputError(f"dag: expected a SubsetDAG, got {type(dag).__name__}.")
    th = as_float_array(theta, "theta", ndim=1)
    if th.size != dag.n_edges:
        raise InvalidInputError(f"theta: expected one log-flow per edge ({dag.n_edges}), got {th.size}.")
    R = as_float_array(reward, "reward", ndim=1)
    if R.size != dag.n_states or not (R > 0).all():
        raise InvalidInputError(f"reward: expected {dag.n_states} positive rewards (one per subset).")
    return th, R


def _flows(dag, th, R):
    F = np.exp(th)
    inflow = np.bincount(dag.child, weights=F, minlength=dag.n_states)
    outflow = R + np.bincount(dag.parent, weights=F, minlength=dag.n_states)
    return F, inflow, outflow


def flow_matching_loss(dag: SubsetDAG, theta, reward):
    """``(loss, gradient)`` of the flow-matching loss in the edge log-flows ``theta``."""
    th, R = _check(dag, theta, reward)
    F, inflow, outflow = _flows(dag, th, R)
    d = np.zeros(dag.n_states)
    d[1:] = np.log(inflow[1:]) - np.log(outflow[1:])
    loss = float(np.sum(d * d))
    # d loss / d theta_e: edge e enters child c (+ F/inflow[c]) and leaves parent p (- F/outflow[p])
    grad = 2 * d[dag.child] * F / inflow[dag.child] - 2 * d[dag.parent] * F / outflow[dag.parent]
    return loss, grad


def flow_matching_residuals(dag: SubsetDAG, theta, reward):
    """``(d, J)``: residuals ``d[s] = log inflow(s) - log outflow(s)`` for ``s != {}`` and their Jacobian in
    ``theta`` (loss = ``sum d^2``), for Gauss-Newton / Levenberg-Marquardt solvers."""
    th, R = _check(dag, theta, reward)
    F, inflow, outflow = _flows(dag, th, R)
    d = np.log(inflow[1:]) - np.log(outflow[1:])
    J = np.zeros((dag.n_states, dag.n_edges))
    e = np.arange(dag.n_edges)
    J[dag.child, e] += F / inflow[dag.child]
    J[dag.parent, e] -= F / outflow[dag.parent]
    return d, J[1:]


def terminal_distribution(dag: SubsetDAG, theta, reward):
    """Probability that the forward policy stops in each subset (forward propagation from the empty set)."""
    th, R = _check(dag, theta, reward)
    F, _, outflow = _flows(dag, th, R)
    reach = np.zeros(dag.n_states)
    reach[0] = 1.0
    order = np.argsort([bin(s).count("1") for s in range(dag.n_states)], kind="stable")
    edge_p = F / outflow[dag.parent]
    for s in order:  # parents before children (by subset size)
        sel = dag.parent == s
        np.add.at(reach, dag.child[sel], reach[s] * edge_p[sel])
    return reach * R / outflow
