r"""Token-level sequence model: an autoregressive tabular softmax policy over a prefix tree.

Responses are sequences of tokens from a vocabulary of ``V`` (token ``eos`` ends a response;
responses are cut at ``T`` tokens). Every prefix without ``eos`` shorter than ``T`` is a node
with its own logits ``theta[node, V]``, so the model is the tabular policy of a deterministic
tree MDP with a reward on the complete response ("ReMax: ..." calls this fast simulation,
deterministic transitions and trajectory-level rewards).

Exact quantities by dynamic programming over the tree (``O(nodes * V)``):

* reach probabilities :math:`P(u)` forward, values :math:`V(u) = \sum_v \pi(v|u) Q(u, v)`
  backward with :math:`Q(u, v)` = reward of the response ending there or the child's value;
* :math:`\partial J/\partial\theta_{u,v} = P(u)\,\pi(v|u)\,(Q(u,v) - V(u))` (policy gradient
  theorem on the tree);
* sequence entropy :math:`H = \sum_u P(u) H(\pi(\cdot|u))` and
  :math:`KL(\pi\|\pi_{ref}) = \sum_u P(u)\,KL(\pi(\cdot|u)\|\pi_{ref}(\cdot|u))` (chain rule).

The number of nodes is :math:`\sum_{t<T}(V-1)^t`; the constructor refuses trees above
``max_nodes``. When ``V^T`` is large, :class:`MarkovSequenceModel` (logits depending on the position and
the previous token) keeps entropy, KL and expected length exact by DP and samples the objective and its
gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..validation import as_float_array, check_positive_int, check_shape
from .model import as_rng, log_softmax_xp, softmax_xp

__all__ = ["SequenceModel", "SequenceSamples", "make_sequence_model", "MarkovSequenceModel"]


@dataclass(frozen=True)
class SequenceSamples:
    """Sampled responses: ``tokens[i, t]`` (-1 padded), ``nodes[i, t]``, ``lengths[i]``,
    ``rewards[i]``, ``logp[i, t]`` (0 padded)."""

    tokens: np.ndarray
    nodes: np.ndarray
    lengths: np.ndarray
    rewards: np.ndarray
    logp: np.ndarray


@dataclass(frozen=True)
class SequenceModel:
    """A prefix tree with terminal rewards (build it with :func:`make_sequence_model`).

    Attributes: ``V`` vocabulary size, ``T`` maximal length, ``eos`` end token, ``child[u, v]``
    (-1 when ``(u, v)`` ends the response), ``reward[u, v]`` (reward of the response ending
    with ``v`` at ``u``; 0 where not terminal), ``depth[u]``, ``prefixes`` (tuple per node).
    """

    V: int
    T: int
    eos: int
    child: np.ndarray
    reward: np.ndarray
    depth: np.ndarray
    prefixes: tuple

    @property
    def n_nodes(self) -> int:
        return self.child.shape[0]

    @property
    def param_shape(self) -> tuple:
        return (self.n_nodes, self.V)

    def check_theta(self, theta, name="theta") -> np.ndarray:
        th = as_float_array(theta, name)
        check_shape(th, self.param_shape, name, hint="one row of logits per prefix node.")
        return th

    def probs(self, theta) -> np.ndarray:
        return softmax_xp(self.check_theta(theta))

    def reach(self, theta) -> np.ndarray:
        """``P(u)``, the probability that a response passes through node ``u``."""
        pi = self.probs(theta)
        P = np.zeros(self.n_nodes)
        P[0] = 1.0
        for u in range(self.n_nodes):  # nodes are in BFS order: parents first
            kids = self.child[u]
            ok = kids >= 0
            P[kids[ok]] += P[u] * pi[u, ok]
        return P

    def q_values(self, theta) -> tuple[np.ndarray, np.ndarray]:
        """``(Q[u, v], Vn[u])`` by backward induction."""
        pi = self.probs(theta)
        Q = self.reward.copy()
        Vn = np.zeros(self.n_nodes)
        for u in range(self.n_nodes - 1, -1, -1):
            kids = self.child[u]
            ok = kids >= 0
            Q[u, ok] = Vn[kids[ok]]
            Vn[u] = pi[u] @ Q[u]
        return Q, Vn

    def objective(self, theta) -> float:
        return float(self.q_values(theta)[1][0])

    def gradient(self, theta) -> np.ndarray:
        """Exact ``dJ/dtheta[u, v] = P(u) pi(v|u) (Q(u, v) - V(u))``."""
        pi = self.probs(theta)
        Q, Vn = self.q_values(theta)
        return self.reach(theta)[:, None] * pi * (Q - Vn[:, None])

    def entropy(self, theta) -> float:
        """Entropy of the response distribution, ``sum_u P(u) H(pi(.|u))``."""
        lp = log_softmax_xp(self.check_theta(theta))
        return float(self.reach(theta) @ (-np.sum(np.exp(lp) * lp, axis=1)))

    def kl(self, theta, ref_theta) -> float:
        """``KL(pi || pi_ref)`` over responses, ``sum_u P(u) KL(pi(.|u) || pi_ref(.|u))``."""
        lp = log_softmax_xp(self.check_theta(theta))
        lr = log_softmax_xp(self.check_theta(ref_theta, "ref_theta"))
        return float(self.reach(theta) @ np.sum(np.exp(lp) * (lp - lr), axis=1))

    # --- enumeration -----------------------------------------------------------------
    def responses(self):
        """All complete responses as ``(node, token)`` end points: arrays ``end_node``, ``end_tok``."""
        u, v = np.nonzero(self.child < 0)
        return u, v

    def response_table(self, theta):
        """Every response with its probability, reward, length and score.

        Returns ``(prob[j], reward[j], length[j], score[j, u, v])`` where ``score`` is
        :math:`\\nabla_\\theta\\log\\pi(y_j)` (dense; small trees only).
        """
        pi = self.probs(theta)
        lp = np.log(np.where(pi > 0, pi, 1e-300))
        eu, ev = self.responses()
        J = eu.size
        if J * self.n_nodes * self.V > 5e7:
            raise InvalidInputError(f"theta: the response table would hold {J}x{self.n_nodes}x{self.V} entries; "
                                    "use sampling for trees this large.")
        parent = self._parents()
        prob = np.zeros(J)
        length = self.depth[eu] + 1
        score = np.zeros((J,) + self.param_shape)
        for j in range(J):
            u, v = eu[j], ev[j]
            logp = 0.0
            while u >= 0:
                logp += lp[u, v]
                score[j, u] -= pi[u]
                score[j, u, v] += 1.0
                u, v = parent[u]
            prob[j] = np.exp(logp)
        return prob, self.reward[eu, ev], length, score

    def _parents(self):
        par = [(-1, -1)] * self.n_nodes
        for u in range(self.n_nodes):
            for v in np.flatnonzero(self.child[u] >= 0):
                par[self.child[u, v]] = (u, int(v))
        return par

    # --- sampling --------------------------------------------------------------------
    def sample(self, theta, n: int, rng=None) -> SequenceSamples:
        """``n`` responses from the policy (vectorized over responses, one step per depth)."""
        n = check_positive_int(n, "n")
        rng = as_rng(rng)
        lp = log_softmax_xp(self.check_theta(theta))
        cdf = np.cumsum(np.exp(lp), axis=1)
        tokens = -np.ones((n, self.T), dtype=np.int64)
        nodes = -np.ones((n, self.T), dtype=np.int64)
        logp = np.zeros((n, self.T))
        lengths = np.zeros(n, dtype=np.int64)
        rewards = np.zeros(n)
        cur = np.zeros(n, dtype=np.int64)
        alive = np.ones(n, dtype=bool)
        for t in range(self.T):
            idx = np.flatnonzero(alive)
            if idx.size == 0:
                break
            u = cur[idx]
            a = np.minimum((rng.random(idx.size)[:, None] >= cdf[u]).sum(axis=1), self.V - 1)
            tokens[idx, t] = a
            nodes[idx, t] = u
            logp[idx, t] = lp[u, a]
            nxt = self.child[u, a]
            done = nxt < 0
            lengths[idx[done]] = t + 1
            rewards[idx[done]] = self.reward[u[done], a[done]]
            alive[idx[done]] = False
            cur[idx[~done]] = nxt[~done]
        return SequenceSamples(tokens, nodes, lengths, rewards, logp)

    def token_gradient(self, theta, samples: SequenceSamples, coef) -> np.ndarray:
        r"""``sum_{i,t} coef[i, t] (e_{y_{i,t}} - pi(.|u_{i,t}))`` as a ``theta``-shaped array."""
        pi = self.probs(theta)
        coef = np.asarray(coef, dtype=np.float64)
        if coef.shape != samples.tokens.shape:
            raise InvalidInputError(f"coef: expected shape {samples.tokens.shape} (one per token), got {coef.shape}.")
        m = samples.tokens >= 0
        u, a, c = samples.nodes[m], samples.tokens[m], coef[m]
        g = np.zeros(self.param_shape)
        np.add.at(g, (u, a), c)
        np.add.at(g, u, -c[:, None] * pi[u])
        return g


def make_sequence_model(V: int, T: int, reward_fn, *, eos: int = 0, max_nodes: int = 200_000) -> SequenceModel:
    """Build the prefix tree of responses of at most ``T`` tokens from ``V`` (``eos`` ends one).

    ``reward_fn(tokens: tuple) -> float`` scores a complete response (``tokens`` includes the
    final ``eos`` when the response stopped, and has ``T`` tokens when it was cut).
    """
    V = check_positive_int(V, "V", minimum=2)
    T = check_positive_int(T, "T")
    if not 0 <= eos < V:
        raise InvalidInputError(f"eos = {eos} must be a token in [0, {V}).")
    n_nodes = sum((V - 1) ** t for t in range(T))
    if n_nodes > max_nodes:
        raise InvalidInputError(f"V = {V}, T = {T}: the prefix tree has {n_nodes} nodes > max_nodes = {max_nodes}; "
                                "use a smaller model or raise max_nodes.")
    prefixes = [()]
    depth = [0]
    child = []
    reward = []
    u = 0
    while u < len(prefixes):
        pre = prefixes[u]
        row_c = np.full(V, -1, dtype=np.int64)
        row_r = np.zeros(V)
        for v in range(V):
            seq = pre + (v,)
            if v == eos or len(seq) >= T:
                row_r[v] = float(reward_fn(seq))
            else:
                row_c[v] = len(prefixes)
                prefixes.append(seq)
                depth.append(len(seq))
        child.append(row_c)
        reward.append(row_r)
        u += 1
    return SequenceModel(V, T, eos, np.array(child), np.array(reward), np.array(depth, dtype=np.int64),
                         tuple(prefixes))


@dataclass(frozen=True)
class MarkovSequenceModel:
    r"""A sequence policy whose logits depend on the position and the previous token only.

    ``theta[t, prev, v]`` with ``prev`` in ``0..V`` (``V`` = begin-of-sequence, used at ``t = 0``).
    Responses stop at the ``eos`` token or after ``T`` tokens. Unlike :class:`SequenceModel` it needs
    ``T (V+1) V`` parameters, so ``V^T`` may be astronomically large: entropy, KL to a reference
    and the expected length are still exact (forward dynamic programming over the distribution of the
    previous token among unfinished responses, :math:`d_{t+1}(v) = \sum_p d_t(p)\pi_t(v|p)`,
    :math:`v\ne` eos; :math:`H = \sum_t\sum_p d_t(p) H(\pi_t(\cdot|p))`, the same for KL), while the
    objective and its gradient under a sequence-level reward are **sampled**
    (:meth:`estimate`, RLOO within groups, with standard errors).
    ``reward_fn(tokens[n, T], lengths[n]) -> rewards[n]`` is vectorized (``tokens`` padded with -1).
    """

    V: int
    T: int
    eos: int
    reward_fn: object

    def __post_init__(self):
        check_positive_int(self.V, "V", minimum=2)
        check_positive_int(self.T, "T")
        if not 0 <= self.eos < self.V:
            raise InvalidInputError(f"eos = {self.eos} must be a token in [0, {self.V}).")

    @property
    def param_shape(self) -> tuple:
        return (self.T, self.V + 1, self.V)

    def check_theta(self, theta, name="theta") -> np.ndarray:
        th = as_float_array(theta, name)
        check_shape(th, self.param_shape, name, hint="theta[t, previous token (V = start), next token].")
        return th

    def alive(self, theta) -> np.ndarray:
        """``d[t, prev]``: probability that the response is unfinished at step ``t`` with previous token ``prev``."""
        pi = softmax_xp(self.check_theta(theta))
        d = np.zeros((self.T, self.V + 1))
        d[0, self.V] = 1.0
        for t in range(self.T - 1):
            nxt = d[t] @ pi[t]
            nxt[self.eos] = 0.0
            d[t + 1, : self.V] = nxt
        return d

    def entropy(self, theta) -> float:
        lp = log_softmax_xp(self.check_theta(theta))
        return float(np.sum(self.alive(theta) * -np.sum(np.exp(lp) * lp, axis=2)))

    def kl(self, theta, ref_theta) -> float:
        lp = log_softmax_xp(self.check_theta(theta))
        lr = log_softmax_xp(self.check_theta(ref_theta, "ref_theta"))
        return float(np.sum(self.alive(theta) * np.sum(np.exp(lp) * (lp - lr), axis=2)))

    def expected_length(self, theta) -> float:
        return float(self.alive(theta).sum())

    def sample(self, theta, n: int, rng=None) -> SequenceSamples:
        """``n`` responses; ``nodes[i, t]`` holds the previous token (``V`` at ``t = 0``)."""
        n = check_positive_int(n, "n")
        rng = as_rng(rng)
        lp = log_softmax_xp(self.check_theta(theta))
        cdf = np.cumsum(np.exp(lp), axis=2)
        tokens = -np.ones((n, self.T), dtype=np.int64)
        prevs = -np.ones((n, self.T), dtype=np.int64)
        logp = np.zeros((n, self.T))
        lengths = np.full(n, self.T, dtype=np.int64)
        prev = np.full(n, self.V, dtype=np.int64)
        alive = np.ones(n, dtype=bool)
        for t in range(self.T):
            idx = np.flatnonzero(alive)
            if idx.size == 0:
                break
            p = prev[idx]
            a = np.minimum((rng.random(idx.size)[:, None] >= cdf[t, p]).sum(axis=1), self.V - 1)
            tokens[idx, t], prevs[idx, t], logp[idx, t] = a, p, lp[t, p, a]
            stop = a == self.eos
            lengths[idx[stop]] = t + 1
            alive[idx[stop]] = False
            prev[idx] = a
        rewards = np.asarray(self.reward_fn(tokens, lengths), dtype=np.float64)
        return SequenceSamples(tokens, prevs, lengths, rewards, logp)

    def estimate(self, theta, n_groups: int, G: int, rng=None):
        r"""Sampled objective and RLOO gradient with per-coordinate standard errors.

        Returns ``(J_hat, J_se, grad_hat, grad_se)``; the gradient is the mean over groups of
        :math:`\frac1G\sum_i (r_i - \bar r_{-i})\sum_t (e_{y_{i,t}} - \pi_t(\cdot|y_{i,t-1}))`, unbiased.
        """
        n_groups = check_positive_int(n_groups, "n_groups", minimum=2)
        G = check_positive_int(G, "G", minimum=2)
        pi = softmax_xp(self.check_theta(theta))
        smp = self.sample(theta, n_groups * G, rng)
        r = smp.rewards.reshape(n_groups, G)
        A = (r - r.mean(1, keepdims=True)) * (G / (G - 1))
        coef = (A.reshape(-1) / G)[:, None] * (smp.tokens >= 0)
        size = int(np.prod(self.param_shape))
        chunk = max(1, int(1e7 // size))  # groups per dense block (bounds memory at ~80 MB)
        tot = np.zeros(self.param_shape)
        tot2 = np.zeros(self.param_shape)
        for g0 in range(0, n_groups, chunk):
            g1 = min(n_groups, g0 + chunk)
            rows = slice(g0 * G, g1 * G)
            tok, prv, cf = smp.tokens[rows], smp.nodes[rows], coef[rows]
            m = tok >= 0
            gi = np.broadcast_to(np.repeat(np.arange(g1 - g0), G)[:, None], tok.shape)[m]
            tt = np.broadcast_to(np.arange(self.T)[None], tok.shape)[m]
            pp, aa, cc = prv[m], tok[m], cf[m]
            per = np.zeros((g1 - g0,) + self.param_shape)
            np.add.at(per, (gi, tt, pp, aa), cc)
            np.add.at(per, (gi, tt, pp), -cc[:, None] * pi[tt, pp])
            tot += per.sum(0)
            tot2 += np.sum(per**2, axis=0)
        mean = tot / n_groups
        var = np.maximum(tot2 / n_groups - mean**2, 0.0) * n_groups / (n_groups - 1)
        J_se = smp.rewards.std(ddof=1) / np.sqrt(smp.rewards.size)
        return float(smp.rewards.mean()), float(J_se), mean, np.sqrt(var / n_groups)
